#!/usr/bin/env python3
"""Browser test of a wormsim HTML report, with headless Chromium.

Usage: check_report.py REPORT.html SCREENSHOT.png [--min-charts N]

Loads the report in headless Chromium driven over the DevTools protocol on a
pipe (--remote-debugging-pipe: Python's standard library only), then checks:
  - the page loads (load event) with no console error, no uncaught exception and
    no log entry of level error;
  - the page makes no network request beyond loading its own file;
  - at least N charts are present and non-empty: each <figure class="chart">
    holds an <svg> with data paths (polyline/path/polygon elements with points);
  - a full-page screenshot (PNG) is written and is not blank (it has dark and
    light pixels, and more than a few distinct colours).
Exits 0 if every check passes, 1 otherwise, printing what failed.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Pipe:
    """The DevTools protocol over fds 3 (to the browser) and 4 (from it)."""

    def __init__(self, exe, profile):
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()
        def fds():
            # In the child, before exec: the pipe ends become fds 3 and 4.
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=fds,
        )
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.from_r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session=None, timeout=30):
        i = self.send(method, params, session)
        deadline = time.time() + timeout
        while True:
            m = self.read(deadline)
            if m.get("id") == i:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, name, timeout=30):
        deadline = time.time() + timeout
        for e in self.events:
            if e.get("method") == name:
                return e
        while True:
            m = self.read(deadline)
            self.events.append(m)
            if m.get("method") == name:
                return m

    def close(self):
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def png_pixels(data):
    """Decode an 8-bit RGB or RGBA PNG: (width, height, channels, rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), f"PNG depth {depth} colour type {ctype}"
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * ch
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, ch, rows


CHART_PROBE = """
(() => {
  const figs = [...document.querySelectorAll('figure.chart')];
  return JSON.stringify({
    title: document.title,
    charts: figs.map(f => {
      const svg = f.querySelector('svg');
      if (!svg) return {id: f.id, svg: false, data: 0};
      // Data paths: lines and bands with at least 10 points (axes and grid lines have 2).
      const data = [...svg.querySelectorAll('polyline, path, polygon')].filter(e =>
        (e.getAttribute('points') || e.getAttribute('d') || '').trim().split(/[ ,]+/).length >= 20);
      const box = svg.getBoundingClientRect();
      return {id: f.id, svg: true, data: data.length, width: box.width, height: box.height};
    }),
    height: document.documentElement.scrollHeight,
  });
})()
"""


def main():
    args = sys.argv[1:]
    min_charts = 3
    if "--min-charts" in args:
        i = args.index("--min-charts")
        min_charts = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    report, shot = os.path.abspath(args[0]), args[1]
    exe = chromium()
    if exe is None:
        print("check-report: chromium is not installed (run .ci/setup-chromium.sh)", file=sys.stderr)
        return 1
    url = "file://" + report
    failures = []
    with tempfile.TemporaryDirectory(prefix="wormsim-chromium-") as profile:
        b = Pipe(exe, profile)
        try:
            target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                b.call(f"{domain}.enable", session=s)
            b.call("Emulation.setDeviceMetricsOverride",
                   {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=s)
            b.call("Page.navigate", {"url": url}, session=s)
            b.wait_event("Page.loadEventFired")
            time.sleep(0.3)  # let late console messages arrive
            probe = json.loads(b.call("Runtime.evaluate", {"expression": CHART_PROBE, "returnByValue": True},
                                      session=s)["result"]["value"])
            height = min(int(probe["height"]), 16000)
            b.call("Emulation.setDeviceMetricsOverride",
                   {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=s)
            png = __import__("base64").b64decode(
                b.call("Page.captureScreenshot", {"format": "png"}, session=s, timeout=60)["data"])
            # Drain what is queued.
            b.call("Browser.getVersion")
        finally:
            b.close()

    events = [e for e in b.events if e.get("sessionId") == s]
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            failures.append(f"console {p.get('type')}: {p.get('args')}")
        elif m == "Runtime.exceptionThrown":
            failures.append(f"uncaught exception: {p.get('exceptionDetails', {}).get('text')}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            failures.append(f"log error: {p['entry'].get('text')} ({p['entry'].get('url', '')})")
        elif m == "Network.requestWillBeSent":
            req = p.get("request", {}).get("url", "")
            if req != url:
                failures.append(f"network request: {req}")
    requests = sum(1 for e in events if e.get("method") == "Network.requestWillBeSent")

    charts = probe["charts"]
    if len(charts) < min_charts:
        failures.append(f"{len(charts)} charts, expected at least {min_charts}")
    for c in charts:
        if not c["svg"] or c["data"] == 0 or c.get("width", 0) < 100:
            failures.append(f"chart {c['id']} is empty or missing: {c}")

    with open(shot, "wb") as f:
        f.write(png)
    w, h, ch, rows = png_pixels(png)
    colours, dark, light = set(), 0, 0
    for row in rows[:: max(1, h // 400)]:
        for x in range(0, w * ch, ch * 3):
            px = bytes(row[x : x + 3])
            colours.add(px)
            lum = sum(px)
            dark += lum < 200
            light += lum > 600
    if dark == 0 or light == 0 or len(colours) < 8:
        failures.append(f"screenshot looks blank: {len(colours)} colours, {dark} dark, {light} light samples")

    print(f"check-report: {report}: title {probe['title']!r}; {len(charts)} charts "
          f"({', '.join(str(c['data']) + ' data paths' for c in charts)}); {requests} request(s) "
          f"(the page itself); screenshot {w}x{h}, {len(colours)} colours -> {shot}")
    for f in failures:
        print(f"check-report: FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
