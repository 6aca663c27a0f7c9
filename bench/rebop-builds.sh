#!/usr/bin/env bash
# The well-mixed SI against rebop, across builds (issue 2's ">= 1.0x rebop").
#
#   bench/rebop-builds.sh [ROUNDS]      (default 2 runs of `wormsim-bench speed` per build)
#
# rebop's events/s depend on how the compiler lays out its loop: whether its
# clock stays in a register and whether its exponential sampler is inlined.
# That changes with unrelated code and with the build settings (1.6e8 to 2.9e8
# events/s on the machine of bench/RESULTS.md). So one build's ratio says little;
# this script builds `wormsim-bench` with several release settings (the first
# is the workspace's own: fat LTO and 4 codegen units since the eighteenth
# session), each in its own target directory under target/rebop-builds/, and
# prints every build's figures (each build measures both engines in the same
# process). Quote the lowest ratio. The first build of each setting compiles
# all dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
ROOT=$PWD
# name : LTO : codegen units
BUILDS=("workspace:fat:4" "fat-lto-1cgu:fat:1" "thin-4cgu:thin:4" "no-lto-16cgu:false:16" "thin-1cgu:thin:1")
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(date -u +%FT%TZ); commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (+ uncommitted changes)')"
for b in "${BUILDS[@]}"; do
    IFS=: read -r name lto cgu <<<"$b"
    CARGO_TARGET_DIR="$ROOT/target/rebop-builds/$name" \
        CARGO_PROFILE_RELEASE_LTO=$lto CARGO_PROFILE_RELEASE_CODEGEN_UNITS=$cgu \
        cargo build --release -q -p wormsim-bench
    for _ in $(seq "$ROUNDS"); do
        out=$("$ROOT/target/rebop-builds/$name/release/wormsim-bench" speed)
        ours=$(grep -m1 'wormsim (exact/fast-si)' <<<"$out" | awk -F': ' '{print $2}' | awk '{print $1}')
        theirs=$(grep -m1 'rebop 0.10' <<<"$out" | sed 's/.*: //')
        ratio=$(grep -m1 'ratio wormsim / rebop' <<<"$out" | awk -F': ' '{print $2}')
        printf '%-14s lto=%-5s cgu=%-2s  fast-si %s  rebop %s  ratio %s\n' "$name" "$lto" "$cgu" "$ours" "$theirs" "$ratio"
    done
done
