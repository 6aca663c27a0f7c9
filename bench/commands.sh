#!/usr/bin/env bash
# Wall time and peak memory of whole `wormsim` commands (release build), median
# of REPS runs each: the CRv1 and CRv2 presets with and without --observe (the
# telescope's cost, the baseline being the same run without it), and
# `wormsim validate` (30 replicates on 2 threads).
#
#   bench/commands.sh [REPS]        (default 3)
#
# Record the figures in bench/RESULTS.md with the machine and date it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3}
if [ ! -x /usr/bin/time ]; then
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
cargo build --release -q -p wormsim-cli
BIN=$PWD/target/release/wormsim
OUT=$(mktemp -d /tmp/wormsim-bench-XXXXXX)
trap 'rm -rf "$OUT"' EXIT

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date:    $(date -u +%Y-%m-%dT%H:%MZ), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

measure() { # label, then the command's arguments
    local label=$1
    shift
    local walls=() rss=0
    for _ in $(seq "$REPS"); do
        /usr/bin/time -f "%e %M" -o "$OUT/time" "$BIN" "$@" >/dev/null 2>"$OUT/stderr" ||
            { cat "$OUT/stderr" >&2; exit 1; }
        read -r w m <"$OUT/time"
        walls+=("$w")
        [ "$m" -gt "$rss" ] && rss=$m
        rm -rf "$OUT/run"
    done
    local median
    median=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%-44s wall %7.2f s (median of %d)   peak RSS %7.1f MiB\n' "$label" "$median" "$REPS" "$(echo "$rss / 1024" | bc -l)"
}

measure "run codered-v1-2001-07-12" run codered-v1-2001-07-12 -q --out "$OUT/run"
measure "run codered-v1-2001-07-12 --observe" run codered-v1-2001-07-12 -q --observe --out "$OUT/run"
measure "run codered-v2-2001-07-19" run codered-v2-2001-07-19 -q --out "$OUT/run"
measure "run codered-v2-2001-07-19 --observe" run codered-v2-2001-07-19 -q --observe --out "$OUT/run"
measure "validate (30 runs, 2 threads)" validate
