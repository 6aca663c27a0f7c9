#!/usr/bin/env bash
# Streaming benchmark for `wormsim logs`: throughput and peak memory on ~1 GB of
# synthetic web logs.
#
# Generates (in a temporary directory, deleted on exit) three files of mixed lines:
#   access_log  ~850 MB Apache combined: ordinary requests, Code Red v1/v2 and II
#               (canonical 224-character fill), Nimda, generic .ida probes, junk lines
#   ex010719.log ~100 MB IIS W3C extended with the same mix
#   error_log    ~50 MB Apache error_log
# Worm sources are drawn from a fixed pool of 200,000 addresses (Code Red's
# 19 July 2001 outbreak reached ~360,000 hosts), so the per-source state is the
# same whatever the input size. The run is repeated on a 10% prefix of the input
# to show that peak memory does not grow with input size.
#
# Needs: python3 (generator), GNU time at /usr/bin/time (`apt-get install time`
# if missing; this script installs it when run as root), a release build
# (`cargo build --release -p wormsim-cli`, done here).
#
# Usage: bench/logs-memory.sh [SIZE_MB]     (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB="${1:-1000}"

if [ ! -x /usr/bin/time ]; then
    echo "GNU time not found at /usr/bin/time; installing the Debian package 'time'" >&2
    apt-get install -y time >/dev/null
fi

cargo build --release -p wormsim-cli
BIN="$PWD/target/release/wormsim"

TMP="$(mktemp -d -t wormsim-logs-bench.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT

echo "==> generating ~${SIZE_MB} MB of synthetic logs in $TMP"
python3 - "$TMP" "$SIZE_MB" <<'PY'
import random, sys, os
out, size_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(20010719)
SHELL = ("%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801"
         "%u9090%u9090%u8190%u00c3%u0003%u8b00%u531b%u53ff%u0078%u0000%u00=a")
CR1 = "/default.ida?" + "N" * 224 + SHELL
CR2 = "/default.ida?" + "X" * 224 + SHELL
NIMDA = ["/scripts/root.exe?/c+dir", "/MSADC/root.exe?/c+dir",
         "/c/winnt/system32/cmd.exe?/c+dir", "/scripts/..%c0%af../winnt/system32/cmd.exe?/c+dir",
         "/_vti_bin/..%255c../..%255c../..%255c../winnt/system32/cmd.exe?/c+dir"]
PAGES = ["/", "/index.html", "/images/logo.gif", "/about/staff.html", "/cgi-bin/search.pl?q=worm",
         "/news/2001/07/19/story.html", "/style.css", "/docs/manual/mod/core.html", "/favicon.ico"]
AGENTS = ['"Mozilla/4.0 (compatible; MSIE 5.5; Windows NT 5.0)"', '"Mozilla/4.77 [en] (X11; U; Linux 2.4.2 i686)"',
          '"Googlebot/2.1 (+http://www.googlebot.com/bot.html)"']
POOL = ["%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
        for _ in range(200_000)]
MON = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
T0 = 995_500_800  # 2001-07-19T00:00:00Z
SPAN = 2 * 86400

def pick():
    r = rng.random()
    if r < 0.15: return CR1, rng.choice(POOL)
    if r < 0.20: return CR2, rng.choice(POOL)
    if r < 0.25: return rng.choice(NIMDA), rng.choice(POOL)
    if r < 0.27: return "/null.idq", rng.choice(POOL)
    return rng.choice(PAGES), "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))

def hms(t):
    s = t % 86400
    return "%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)

def write(name, target_bytes, line_fn, header=""):
    n, i = 0, 0
    with open(os.path.join(out, name), "w") as f:
        f.write(header)
        while n < target_bytes:
            buf = []
            for _ in range(20000):
                i += 1
                t = T0 + (i * 7919) % SPAN  # wanders through two days, not in order
                buf.append(line_fn(t, i))
            s = "".join(buf)
            f.write(s)
            n += len(s)

def combined(t, i):
    if i % 997 == 0:
        return "\x00\xff binary junk %d\n" % i
    target, ip = pick()
    day = 19 + (t - T0) // 86400
    return '%s - - [%02d/Jul/2001:%s +0000] "GET %s HTTP/1.0" %s %d "-" %s\n' % (
        ip, day, hms(t), target, "404" if "." in target[-5:] or "?" in target else "200",
        rng.randrange(100, 20000), rng.choice(AGENTS))

def w3c(t, i):
    target, ip = pick()
    stem, _, q = target.partition("?")
    day = 19 + (t - T0) // 86400
    return "2001-07-%02d %s %s - 192.0.2.80 80 GET %s %s 404 -\n" % (day, hms(t), ip, stem, q or "-")

def error(t, i):
    target, ip = pick()
    stem = target.partition("?")[0]
    day = 19 + (t - T0) // 86400
    wd = ["Thu", "Fri", "Sat"][day - 19]
    return "[%s Jul %02d %s 2001] [error] [client %s] File does not exist: /usr/local/apache/htdocs%s\n" % (
        wd, day, hms(t), ip, stem)

total = size_mb * 1_000_000
write("access_log", int(total * 0.85), combined)
write("ex010719.log", int(total * 0.10), w3c,
      "#Software: Microsoft Internet Information Services 5.0\r\n#Version: 1.0\r\n"
      "#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem cs-uri-query sc-status cs(User-Agent)\r\n")
write("error_log", int(total * 0.05), error)
PY
ls -l "$TMP"
sync  # flush the generated files now, not during the measured runs
head -c "$((SIZE_MB * 100000))" "$TMP/access_log" > "$TMP/access_log.10pct"

run() {
    local label="$1"; shift
    local bytes
    bytes=$(cat "$@" | wc -c)
    /usr/bin/time -v "$BIN" logs "$@" --out "$TMP/out" > "$TMP/summary.txt" 2> "$TMP/time.txt"
    local wall rss user sys
    wall=$(grep 'Elapsed (wall clock)' "$TMP/time.txt" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$TMP/time.txt" | awk '{print $NF}')
    user=$(grep 'User time (seconds)' "$TMP/time.txt" | awk '{print $NF}')
    sys=$(grep 'System time (seconds)' "$TMP/time.txt" | awk '{print $NF}')
    local secs
    secs=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    echo "--- $label"
    sed -n '1p;/worm requests/p;/malformed lines/p;/worm sources/p' "$TMP/summary.txt"
    # Wall-clock throughput depends on what else the (shared) machine is doing;
    # CPU throughput (bytes per CPU second, user + system) much less so.
    awk -v b="$bytes" -v s="$secs" -v r="$rss" -v l="$label" -v u="$user" -v y="$sys" 'BEGIN {
        printf "RESULT %s: input %.1f MB, wall %.2f s (%.1f MB/s), CPU %.2f s (%.1f MB/CPU-s), peak RSS %.1f MB\n",
               l, b/1e6, s, b/1e6/s, u+y, b/1e6/(u+y), r/1024 }'
}

echo "==> running $BIN logs (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
run "10% (access_log prefix)" "$TMP/access_log.10pct"
run "full (3 files)" "$TMP/access_log" "$TMP/ex010719.log" "$TMP/error_log"
echo "==> machine: $(nproc) cores; $(lscpu | sed -n 's/^Model name: *//p'); $(date -u +%Y-%m-%d)"
