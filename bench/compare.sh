#!/usr/bin/env bash
# Speed of this checkout against a baseline commit, in the same run: builds
# both `wormsim` binaries (release), then runs each preset REPS times with the
# two binaries alternating, and prints the median wall time of each and the
# ratio (baseline / this). Alternating keeps a noisy shared machine fair to both.
#
#   bench/compare.sh BASE_REV [REPS] [CASE...]
#       (default REPS 9; cases: the CRv2, CRv1 and CRII presets)
#
# A case is a preset name or scenario file, run as the whole command
# `wormsim run CASE --out DIR` (load, setup, run, summary and output files), or
# any other command line given as one argument starting with `wormsim `, in
# which the word OUT (or a path OUT/...) stands for a fresh output directory
# (or a path inside it), for example
#   bench/compare.sh HEAD~1 7 'wormsim run bench/scenarios/x.toml --engine reference --out OUT'
#   bench/compare.sh HEAD~1 3 'wormsim fit --model two-factor DATA.csv --out OUT'
# Paths are relative to the checkout's root. Both binaries must exit 0 on every
# case. Record the figures in bench/RESULTS.md.
#
# PAIRED=1 bench/compare.sh ... runs the two binaries at the same time instead,
# one on each core (`taskset`; the cores swap every round), and reports the
# median and quartiles of the per-round ratios: both runs of a round meet the
# same neighbours on a shared host, which alternating cannot promise (on the
# 2-vCPU Xeon the same binary's CRv2 time drifted 200-320 ms within minutes).
# It needs two cores and leaves none free, so nothing else may run meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: bench/compare.sh BASE_REV [REPS] [CASE...]}
REPS=${2:-9}
shift $(($# < 2 ? $# : 2))
PRESETS=("$@")
if [ ${#PRESETS[@]} -eq 0 ]; then
    PRESETS=(codered-v2-2001-07-19 codered-v1-2001-07-12 codered-ii-2001-08-04)
fi

ROOT=$PWD
WORK=$(mktemp -d /tmp/wormsim-compare-XXXXXX)
trap 'git -C "$ROOT" worktree remove --force "$WORK/base" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
git worktree add -q --detach "$WORK/base" "$BASE"
echo "building baseline $(git rev-parse --short "$BASE") and this checkout $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (+ uncommitted changes)')" >&2
(cd "$WORK/base" && CARGO_TARGET_DIR="$ROOT/target/compare-base" cargo build --release -q -p wormsim-cli)
cargo build --release -q -p wormsim-cli
BASE_BIN=$ROOT/target/compare-base/release/wormsim
THIS_BIN=$ROOT/target/release/wormsim

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date:    $(date -u +%Y-%m-%dT%H:%MZ), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

wall() { # binary case -> microseconds
    local t0 t1 args
    if [[ $2 == "wormsim "* ]]; then
        read -r -a args <<<"${2#wormsim }"
        for i in "${!args[@]}"; do
            case ${args[$i]} in
                OUT) args[i]=$WORK/out ;;
                OUT/*) args[i]=$WORK/out/${args[$i]#OUT/} ;;
            esac
        done
    else
        args=(run "$2" --out "$WORK/out")
    fi
    # A third argument names the output directory and the core to run on.
    local out=$WORK/out${3:-} pin=()
    [ -n "${3:-}" ] && pin=(taskset -c "$3")
    args=("${args[@]//"$WORK/out"/$out}")
    t0=$(date +%s%N)
    "${pin[@]}" "$1" "${args[@]}" >/dev/null 2>"$out.stderr" || {
        echo "failed: $1 ${args[*]}" >&2
        cat "$out.stderr" >&2
        exit 1
    }
    t1=$(date +%s%N)
    rm -rf "$out"
    echo "$(((t1 - t0) / 1000))"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
label() { # case -> its name in the table
    local l=${1#wormsim }
    sed -E 's/ --out OUT[^ ]*//' <<<"$l"
}

if [ "${PAIRED:-0}" = 1 ]; then
    printf '%-26s %12s %12s %10s %16s\n' case "baseline [s]" "this [s]" ratio "quartiles"
    for p in "${PRESETS[@]}"; do
        : >"$WORK/pairs.t"
        for r in $(seq "$REPS"); do
            c=$((r % 2))
            wall "$BASE_BIN" "$p" "$c" >"$WORK/b.t" &
            wall "$THIS_BIN" "$p" "$((1 - c))" >"$WORK/t.t"
            wait $! || exit 1
            echo "$(cat "$WORK/b.t") $(cat "$WORK/t.t")" >>"$WORK/pairs.t"
        done
        python3 - "$(label "$p")" "$WORK/pairs.t" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
b = statistics.median(r[0] for r in rows) / 1e6
t = statistics.median(r[1] for r in rows) / 1e6
ratios = [r[0] / r[1] for r in rows]
q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
print(f"{sys.argv[1]:<26} {b:12.3f} {t:12.3f} {statistics.median(ratios):9.3f}x {q[0]:7.3f}-{q[2]:.3f}")
PY
    done
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
fi

printf '%-26s %12s %12s %10s\n' case "baseline [s]" "this [s]" ratio
for p in "${PRESETS[@]}"; do
    : >"$WORK/base.t"
    : >"$WORK/this.t"
    for _ in $(seq "$REPS"); do
        wall "$BASE_BIN" "$p" >>"$WORK/base.t"
        wall "$THIS_BIN" "$p" >>"$WORK/this.t"
    done
    b=$(median <"$WORK/base.t")
    t=$(median <"$WORK/this.t")
    awk -v p="$(label "$p")" -v b="$b" -v t="$t" 'BEGIN { printf "%-26s %12.3f %12.3f %9.2fx\n", p, b / 1e6, t / 1e6, b / t }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
