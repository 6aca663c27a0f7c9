#!/usr/bin/env bash
# Latency of a dependent load from a random address, by array size: a pointer
# chase over one random cycle through the array (each load's address is the
# previous load's value, so loads cannot overlap). This is the cost the general
# engine pays each time an event reads a random host's record.
#
#   bench/memory-latency.sh [SIZE_MB ...]     (default 1 4 16 64)
#
# Needs a C compiler (cc). Record the figures in bench/RESULTS.md with the
# machine and date it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1 4 16 64)
WORK=$(mktemp -d /tmp/wormsim-latency-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/chase.c" <<'C'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* splitmix64: a fixed, portable stream for the shuffle. */
static uint64_t state = 1;
static uint64_t next(void) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int main(int argc, char **argv) {
    size_t n = (size_t)atol(argv[1]) * 1024 * 1024 / sizeof(size_t);
    size_t *order = malloc(n * sizeof(size_t)), *link = malloc(n * sizeof(size_t));
    if (!order || !link) return 1;
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = next() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < n; i++) link[order[i]] = order[(i + 1) % n];
    const long loads = 10000000;
    struct timespec a, b;
    size_t p = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < loads; i++) p = link[p];
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / loads;
    printf("%6s MB  %7.1f ns per dependent load  (end %zu)\n", argv[1], ns, p);
    return 0;
}
C
cc -O2 -o "$WORK/chase" "$WORK/chase.c"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date:    $(date -u +%Y-%m-%dT%H:%MZ), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for mb in "${SIZES[@]}"; do
    "$WORK/chase" "$mb"
done
