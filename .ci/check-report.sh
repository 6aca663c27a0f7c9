#!/usr/bin/env bash
# Issue #6 acceptance, end to end: `wormsim run codered-v2-2001-07-19 --plot png
# --report` writes PNG charts of the fixed size and report.html, and the report
# passes the browser test (.ci/check_report.py: loads in headless Chromium with no
# console error and no network request, charts present with data paths, a
# screenshot that is not blank). Then `wormsim validate` must exit 0.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORMSIM=${WORMSIM:-$ROOT/target/debug/wormsim}
if [ ! -x "$WORMSIM" ]; then
    cargo build -q -p wormsim-cli
fi
command -v chromium >/dev/null || { echo "check-report: chromium is missing; run .ci/setup-chromium.sh" >&2; exit 1; }

work=$(mktemp -d /tmp/wormsim-check-report-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$WORMSIM" run codered-v2-2001-07-19 --plot png --report --out "$work/crv2" -q
for chart in hosts new-infections flood; do
    f="$work/crv2/$chart.png"
    size=$(python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(24); assert b[:8]==b"\x89PNG\r\n\x1a\n"; print("%dx%d" % struct.unpack(">II", b[16:24]))' "$f")
    [ "$size" = 1200x700 ] || { echo "check-report: $f is $size, expected 1200x700" >&2; exit 1; }
    echo "check-report: $chart.png $size, $(stat -c %s "$f") bytes"
done
python3 .ci/check_report.py "$work/crv2/report.html" "$work/report.png"

echo "check-report: wormsim validate (10 runs)"
"$WORMSIM" validate --runs 10 --report "$work/validation.html"
python3 .ci/check_report.py --min-charts 0 "$work/validation.html" "$work/validation.png"
echo "check-report: passed"
