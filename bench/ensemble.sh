#!/usr/bin/env bash
# Benchmark (issue 5): a RUNS-run codered-v2-2001-07-19 ensemble with summaries and
# quantiles on 2 threads, against a 1-thread baseline of RUNS/5 runs in the same
# session. Prints wall time, runs/s and peak RSS (GNU time); also checks that the
# 1- and 2-thread outputs of the common replicates agree.
#
#   bench/ensemble.sh [RUNS]        (default 1000)
#
# Record the figures in bench/RESULTS.md with the machine and date it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1000}
BASE=$((RUNS / 5))
PRESET=codered-v2-2001-07-19
if [ ! -x /usr/bin/time ]; then
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
cargo build --release -q -p wormsim-cli
BIN=$PWD/target/release/wormsim
OUT=$(mktemp -d /tmp/wormsim-bench-XXXXXX)

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date:    $(date -u +%Y-%m-%dT%H:%MZ), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

run() { # threads runs label
    local log="$OUT/$3.time"
    /usr/bin/time -v "$BIN" ensemble "$PRESET" --runs "$2" --threads "$1" \
        --out "$OUT/$3" --format csv,parquet >"$OUT/$3.stdout" 2>"$log"
    local wall rss user sys
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" \
        | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    user=$(sed -n 's/.*User time (seconds): //p' "$log")
    sys=$(sed -n 's/.*System time (seconds): //p' "$log")
    awk -v l="$3" -v t="$1" -v n="$2" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
        printf "%-12s threads=%s runs=%-5s wall=%7.2f s  runs/s=%7.2f  cpu=%.1f s (%.0f ms/run)  peak RSS=%.0f MiB\n",
            l, t, n, w, n / w, u + s, (u + s) * 1000 / n, r / 1024 }'
    grep -h "memory estimate" "$log" | sed 's/^/           /' || true
    echo "$1 $2 $wall $rss" >"$OUT/$3.fig"
}

run 1 "$BASE" baseline-1t
run 2 "$RUNS" ensemble-2t
read -r _ _ w1 _ <"$OUT/baseline-1t.fig"
read -r _ _ w2 _ <"$OUT/ensemble-2t.fig"
awk -v n="$RUNS" -v b="$BASE" -v w1="$w1" -v w2="$w2" 'BEGIN {
    printf "speed-up, 2 threads vs 1 (runs/s): %.2f\n", (n / w2) / (b / w1)
    printf "target: %d runs in under 30 s on 2 cores: %s\n", n, (w2 < 30 ? "met" : "NOT met") }'
# Replicates 0..BASE-1 are the same runs whatever the thread count.
head -n $((BASE + 1)) "$OUT/ensemble-2t/summaries.csv" | cmp -s - "$OUT/baseline-1t/summaries.csv" \
    && echo "summaries of replicates 0..$((BASE - 1)): identical for 1 and 2 threads" \
    || { echo "summaries differ between 1 and 2 threads" >&2; exit 1; }
sed -n '1,20p' "$OUT/ensemble-2t.stdout"
rm -rf "$OUT"
