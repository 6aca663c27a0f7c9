#!/usr/bin/env bash
# Containment study (issue 7): reaction time x coverage for address
# blacklisting and content filtering on a CRv2-like worm, 20 replicates per
# point, on 2 threads; then the result table (results.md, results.csv).
#
#   bench/containment/run.sh
#
# The sweeps are blacklist.toml and content.toml (scenario crv2-like.toml);
# the table is made by summarize.py from the merged summaries.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p wormsim-cli
BIN=$PWD/target/release/wormsim
OUT=$(mktemp -d /tmp/wormsim-containment-XXXXXX)
{
    echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "date:    $(date -u +%Y-%m-%dT%H:%MZ), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >"$OUT/header.txt"
total=0
for s in blacklist content; do
    t0=$(date +%s.%N)
    "$BIN" sweep "bench/containment/$s.toml" --out "$OUT/$s" --threads 2 --quiet
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    echo "sweep $s: $secs s wall on 2 threads" >>"$OUT/header.txt"
    total=$(awk -v a="$total" -v b="$secs" 'BEGIN { printf "%.1f", a + b }')
done
echo "both sweeps: $total s wall" >>"$OUT/header.txt"
python3 bench/containment/summarize.py "$OUT/header.txt" \
    "address-blacklist=$OUT/blacklist/summaries.csv" \
    "content-filter=$OUT/content/summaries.csv" \
    --md bench/containment/results.md --csv bench/containment/results.csv
cat "$OUT/header.txt"
echo "wrote bench/containment/results.md and results.csv (raw output in $OUT)"
