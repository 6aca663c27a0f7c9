#!/usr/bin/env bash
# End to end on the one-node cluster of .ci/setup-slurm.sh: a small sweep runs as a
# Slurm job array of 4 tasks (from `wormsim slurm-script`) plus the dependent merge
# job; the merged tables must be identical to a single-process run of the sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORMSIM=${WORMSIM:-$ROOT/target/debug/wormsim}
if [ ! -x "$WORMSIM" ]; then
    cargo build -q -p wormsim-cli
fi
for tool in sbatch squeue scontrol; do
    command -v "$tool" >/dev/null || { echo "check-slurm: $tool is missing; run .ci/setup-slurm.sh" >&2; exit 1; }
done
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN JOB_COMPLETION_INDEX

work=$(mktemp -d /tmp/wormsim-check-slurm-XXXXXX)
cd "$work"
cat >tiny.toml <<'TOML'
[scenario]
name = "tiny"
start = 2001-07-19T10:00:00Z
end = 2001-07-19T16:00:00Z
space_bits = 20
[population]
model = "clustered"
hosts = 20000
slash8_blocks = 4
slash16_blocks = 40
slash8_zipf = 1.0
slash16_zipf = 1.0
[worm]
variant = "generic"
scan_rate = 0.3
initial_infected = 3
[defense.patch]
rate = 1.0
[defense.reboot]
rate = 2.0
[output]
bin = 600
TOML
cat >sweep.toml <<'TOML'
scenario = "tiny.toml"
replicates = 5
seed = 2001
[[grid]]
key = "worm.scan_rate"
values = [0.2, 0.3]
[[grid]]
key = "defense.patch.rate"
start = 0.0
stop = 2.0
count = 3
TOML

echo "check-slurm: single-process reference run"
"$WORMSIM" sweep sweep.toml --out local --format csv,parquet -q

echo "check-slurm: job array of 4 tasks and a dependent merge"
"$WORMSIM" slurm-script sweep.toml --tasks 4 --out slurm-out --output job.sh \
    --time 00:10:00 --format csv,parquet
submitted=$(bash job.sh)
echo "$submitted"
array=$(echo "$submitted" | sed -n 's/.*array job \([0-9]*\).*/\1/p')
merge=$(echo "$submitted" | sed -n 's/.*merge job \([0-9]*\).*/\1/p')
[ -n "$array" ] && [ -n "$merge" ] || { echo "check-slurm: could not read the job ids" >&2; exit 1; }

deadline=$((SECONDS + 600))
while squeue -h -j "$array,$merge" 2>/dev/null | grep -q .; do
    if [ "$SECONDS" -gt "$deadline" ]; then
        echo "check-slurm: jobs still queued after 600 s" >&2
        squeue >&2
        scancel "$array" "$merge" || true
        exit 1
    fi
    sleep 1
done

state() { scontrol -o show job "$1" | tr ' ' '\n' | sed -n 's/^JobState=//p'; }
fail=0
for t in 0 1 2 3; do
    s=$(state "${array}_$t")
    echo "check-slurm: array task $t: $s"
    [ "$s" = COMPLETED ] || fail=1
done
s=$(state "$merge")
echo "check-slurm: merge job: $s"
[ "$s" = COMPLETED ] || fail=1
if [ "$fail" = 1 ]; then
    tail -n 20 slurm-out/slurm/*.out >&2 || true
    exit 1
fi
n_logs=$(ls slurm-out/slurm/*_[0-3].out | wc -l)
[ "$n_logs" = 4 ] || { echo "check-slurm: expected 4 task logs, found $n_logs" >&2; exit 1; }

for f in summaries.csv quantiles.csv summaries.parquet quantiles.parquet; do
    if ! cmp -s "local/$f" "slurm-out/$f"; then
        echo "check-slurm: $f differs between the Slurm run and the single-process run" >&2
        diff <(head -5 "local/$f") <(head -5 "slurm-out/$f") >&2 || true
        exit 1
    fi
done
rows=$(($(wc -l <slurm-out/summaries.csv) - 1))
echo "check-slurm: OK: $rows summary rows and the quantile tables identical to the single-process run"
cd "$ROOT"
rm -rf "$work"
