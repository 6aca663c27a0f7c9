#!/usr/bin/env python3
"""Black-box input campaign against the release `wormsim` binary.

Where the cargo-fuzz targets feed one parser in process, this drives whole
commands the way a user does, with inputs a user could write: presets with
values changed, deleted or duplicated (`presets`); random but coherent
scenarios that combine the optional mechanisms (`generate`); damaged
checkpoints (`checkpoint`); damaged series for `wormsim fit` (`fit`);
damaged sweep files over a tiny scenario, with --shard, --resume and the
Slurm/Kubernetes variables (`sweep`); shard directories with units deleted,
duplicated, moved, edited (under the stale checksum, resealed, or without one
as older units were written) or truncated and manifests changed (`merge`);
sweep files and odd flags for `wormsim slurm-script` (`slurm-script`); web
server logs with damaged lines, junk, over-long lines, bad times and gzip
(`logs`); tiny scenarios with odd --runs/--threads/--seed/--format
(`ensemble`); run and ensemble directories with damaged files (`report`).

Every case must end with exit 0, or exit 2 and an `error:` line that names
the input file (or the flag), with nothing written (no file of the case's
directory created or changed). Some modes also check what a successful case
wrote against another way of computing it: a sweep against its shards merged
after units were deleted and --resume'd, and against --threads 1; a sweep's
complete output directory (one run's, or its shards' shared one) with unit
files damaged as `merge` damages them, then --resume'd into: every damaged
file named in a `warning:` line, none other, and the tables equal to the
undamaged run's (`resume_round`, whose docstring has the rule); an ensemble
against another --threads; logs against the same logs gzipped, and the
series against the per-source table; a merge after harmless changes (a unit
moved to another shard, stray files) against the sweep's own tables; a Slurm
script must parse (`bash -n`) and run nothing before its `set -euo pipefail`.
Anything else (another
exit code, a panic, an abort, a run over the time limit) is kept with its
input and stderr under OUT/failures/ and printed. A case over the time limit
may be a scenario that is legitimately expensive (events are inherent to the
model: a scan rate 650 times the preset's), so read those before calling them
bugs. Runs under `ulimit -v` (8 GB) so that a runaway allocation shows.

    cargo build --release -p wormsim-cli
    python3 fuzz/blackbox/campaign.py presets --cases 1000 --seed 3
    python3 fuzz/blackbox/campaign.py generate --cases 500 --seed 2
    python3 fuzz/blackbox/campaign.py sweep --cases 2000 --seed 21 --out /tmp/bb/sweep-21 --timeout 20

Recorded campaigns: FUZZING.md.
"""
import argparse
import collections
import csv
import datetime
import gzip
import json
import math
import os
import random
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KV = re.compile(r'^(\s*)([A-Za-z0-9_]+)(\s*=\s*)(.*)$')
NUMS = ['0', '-1', '-0.5', '1e308', '1e-308', 'nan', 'inf', '-inf', '4294967296',
        '18446744073709551616', '0.0', '1', '255', '256', '65536', '1e9', '0.999999',
        '1.0000001', '2', '3', '-0', '100000000', '0.5', '1e-9', '33', '16', '8', '24', '31']
STRS = ['""', '"x"', '"uniform"', '"clustered"', '"lognormal"', '"none"', '"crv1"', '"crii"',
        '"permutation"', '"0.0.0.0"', '"255.255.255.255"', '"1.2.3.4/33"', '"é"']
TIMES = ['1969-12-31T23:59:59Z', '2001-07-19T10:00:00Z', '2001-07-31T23:59:59Z',
         '2001-08-01T00:00:00Z', '2100-01-01T00:00:00Z', '2001-07-20T00:00:00Z',
         '2001-07-19T09:59:59Z', '2001-07-19T10:00:00+05:00']


class Step:
    """One command of a case: `wormsim ARGS`, judged by the pass rule.

    `names`: strings of which the `error:` line must contain one (the input file,
    or the flag). `expect`: None (exit 0, or 2 by the rule) or 0 (a step that
    repeats an accepted command another way, which must succeed too).
    `preflight`: whether a memory-preflight refusal is acceptable (not for tiny
    scenarios run without --max-memory). `env`: extra environment variables.
    """

    def __init__(self, args, names, expect=None, stdin=None, env=None, preflight=True):
        self.args, self.expect, self.stdin, self.env = args, expect, stdin, env or {}
        self.names = (names,) if isinstance(names, str) else tuple(names)
        self.preflight = preflight


def write_inputs(root, inputs):
    """Create ROOT holding INPUTS ({file name: bytes or str}; names may contain `/`)."""
    os.makedirs(root)
    for f, data in inputs.items():
        path = os.path.join(root, f)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            mode = 'wb' if isinstance(data, bytes) else 'w'
            with open(path, mode) as fh:
                fh.write(data)
        except (FileExistsError, IsADirectoryError, NotADirectoryError):
            pass  # damage that made a file of a directory, or the other way round


def snapshot(root):
    """{path: (size, mtime)} of every file below `root`."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            out[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
    return out


class Runner:
    def __init__(self, binary, out, timeout):
        self.binary, self.out, self.timeout = binary, out, timeout
        self.counts = collections.Counter()
        self.notes = collections.Counter()
        self.failures = 0
        self.last = (None, '')  # exit code and stderr of the last case's first step
        os.makedirs(out, exist_ok=True)

    def case(self, name, args, inputs, names_input, **step):
        """Run `wormsim ARGS` on INPUTS ({file name: bytes or str}) in a fresh directory."""
        self.steps(name, [Step(args, names_input, **step)], inputs)

    def steps(self, name, steps, inputs, check=None):
        """Run STEPS one after another in one fresh directory holding INPUTS.

        The first step is the case: if it exits 2 (by the rule) the case ends
        there. Later steps run only after it succeeded; `check(work)` then
        compares what they wrote and returns why it is wrong, or None. Input
        names may contain `/` (directories are created).
        """
        work = os.path.join(self.out, 'work')
        shutil.rmtree(work, ignore_errors=True)
        write_inputs(work, inputs)
        why, err, args, in_check = None, '', steps[0].args, False
        for i, st in enumerate(steps):
            args = st.args
            rc, err, why = self.run_step(work, st)
            if i == 0:
                self.counts[rc] += 1
                self.last = (rc, err)
            if why is None and st.expect is not None and rc != st.expect:
                why = f'step {i + 1}: exit {rc}, expected {st.expect}'
            if why or rc != (st.expect or 0):
                break
        else:
            if check:
                why = check(work)
                # The steps passed: the last one's stderr says nothing of it.
                in_check, err = why is not None, '' if why else err
        if why:
            self.failures += 1
            keep = os.path.join(self.out, 'failures', name)
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(work, keep, symlinks=True)
            cmds = '\n'.join('wormsim ' + shlex.join(s.args) for s in steps)
            failing = ('the check after every step passed (its commands are in the line above)'
                       if in_check else 'wormsim ' + shlex.join(args))
            with open(os.path.join(keep, 'why.txt'), 'w') as fh:
                fh.write(f'{why}\nfailing: {failing}\n\nall steps:\n{cmds}\n\n'
                         f'{err[-4000:]}')
            last = err.strip().split('\n')[-1][:200] if err.strip() else ''
            print(f'{name}: {why}' + (f': {last}' if last else ''), flush=True)

    def fail(self, name, why, inputs):
        """Record a failure found by comparing cases: keep INPUTS and why."""
        self.failures += 1
        keep = os.path.join(self.out, 'failures', name)
        shutil.rmtree(keep, ignore_errors=True)
        write_inputs(keep, inputs)
        with open(os.path.join(keep, 'why.txt'), 'w') as fh:
            fh.write(why + '\n')
        print(f'{name}: {why}', flush=True)

    def run_step(self, work, st):
        """Run one step in WORK; (exit code or 'timeout', stderr, why it fails or None)."""
        env = ' '.join(f'{k}={shlex.quote(v)}' for k, v in st.env.items())
        cmd = (f'ulimit -v 8000000; exec {"env " + env + " " if env else ""}'
               + shlex.join([self.binary] + st.args))
        before = snapshot(work)
        try:
            p = subprocess.run(['bash', '-c', cmd], cwd=work, capture_output=True,
                               input=st.stdin if st.stdin is not None else b'',
                               timeout=self.timeout)
            rc, err = p.returncode, p.stderr.decode('utf-8', 'replace')
        except subprocess.TimeoutExpired:
            rc, err = 'timeout', ''
        if rc not in (0, 2):
            return rc, err, f'exit {rc}'
        if 'panicked' in err:
            return rc, err, 'panic'
        usage = "try '--help'" in err  # clap refused a flag or its value
        if rc == 2 and not (any(n in err for n in st.names) or err.startswith('error: --') or usage
                            or (st.preflight and 'memory preflight' in err)):
            return rc, err, f'error does not name {st.names[0]}'
        if rc == 2:
            after = snapshot(work)
            changed = sorted(f for f, v in after.items() if before.get(f) != v)
            if changed:
                return rc, err, 'output written on error: ' + ', '.join(changed[:5])
        return rc, err, None

    def report(self, cases):
        exits = ', '.join(f'{k}: {v}' for k, v in sorted(self.counts.items(), key=str))
        print(f'{cases} cases ({exits}); {self.failures} kept under {self.out}/failures')
        if self.notes:
            print('notes: ' + ', '.join(f'{k}: {v}' for k, v in sorted(self.notes.items())))


def mutate_value(v):
    if re.match(r'^\d{4}-\d\d-\d\d', v):
        return random.choice(TIMES + NUMS)
    if v in ('true', 'false'):
        return random.choice(['true', 'false', '1', '"yes"'])
    if v.startswith('"'):
        return random.choice(STRS + NUMS)
    if v.startswith('['):
        return random.choice(['[]', '[1]', '["x"]', '[[1,2]]', f'[{random.choice(NUMS)}]'])
    return random.choice(NUMS + STRS[:3] + ['true'])


def presets(r, cases):
    files = sorted(f for f in os.listdir(os.path.join(ROOT, 'scenarios')) if f.endswith('.toml'))
    for k in range(cases):
        f = random.choice(files)
        lines = open(os.path.join(ROOT, 'scenarios', f)).read().split('\n')
        for _ in range(random.choice([1, 1, 1, 2, 3])):
            keyed = [i for i, line in enumerate(lines) if KV.match(line)]
            i = random.choice(keyed)
            m = KV.match(lines[i])
            u = random.random()
            if u < 0.1:
                del lines[i]
            elif u < 0.15:
                lines.insert(i, lines[i])
            else:
                v = m.group(4).split('#')[0].strip()
                lines[i] = m.group(1) + m.group(2) + m.group(3) + mutate_value(v)
        r.case(f'presets-{k}', ['run', 's.toml', '-q', '--out', 'out'],
               {'s.toml': '\n'.join(lines)}, 's.toml')


def num(lo, hi):
    if random.random() < 0.03:
        return random.choice(['0', '1e-9', '1e12', '0.5'])
    return f'{random.uniform(lo, hi):.4g}'


def when():
    return random.choice(['2001-07-19T12:00:00Z', '2001-07-20T00:00:00Z', '2001-07-31T23:00:00Z',
                          '2001-08-01T06:00:00Z', '2001-07-18T00:00:00Z', '2001-10-01T00:00:00Z'])


def scenario():
    """A random scenario whose mechanisms come with the keys they need."""
    bits = random.choice([16, 20, 24, 32, 32])
    hosts = random.choice([50, 500, 2000, 5000 if bits > 16 else 2000])
    variant = random.choice(['crv1', 'crv2', 'crii', 'generic'])
    end = random.choice(['2001-07-19T14:00:00Z', '2001-07-20T06:00:00Z',
                         '2001-07-22T00:00:00Z', '2001-08-02T00:00:00Z'])
    t = ['[scenario]', 'name = "g"', 'start = 2001-07-19T10:00:00Z', f'end = {end}',
         f'space_bits = {bits}', '[population]',
         f'model = "{random.choice(["uniform", "clustered"])}"', f'hosts = {hosts}']
    for key in ['english_fraction', 'chinese_fraction', 'nt4_fraction']:
        if random.random() < 0.3:
            t.append(f'{key} = {num(0, 1)}')
    t += ['[worm]', f'variant = "{variant}"']
    scan = random.choice(['uniform', 'sequence', 'local-preference', 'permutation', None])
    if scan:
        t.append(f'scan = "{scan}"')
    scan = scan or {'crv1': 'sequence', 'crii': 'local-preference'}.get(variant, 'uniform')
    dist = random.choice(['fixed', 'lognormal', 'bandwidth'])
    if dist == 'fixed':
        t.append(f'scan_rate = {num(0.1, 2000 if bits < 32 else 200)}')
    elif dist == 'lognormal':
        t += ['scan_rate_distribution = "lognormal"', f'scan_rate = {num(0.1, 200)}',
              f'scan_rate_cv = {num(0, 3)}']
    else:
        t += ['scan_rate_distribution = "bandwidth"', f'uplink_mean_bps = {num(1e4, 1e7)}',
              f'uplink_cv = {num(0, 3)}', f'probe_bytes = {num(40, 400)}']
    if scan == 'permutation':
        t += [f'permutation = "{random.choice(["simple", "partitioned"])}"',
              f'permutation_start = "{random.choice(["own", "random"])}"']
        if random.random() < 0.5:
            t.append(f'permutation_stop_after = {random.randint(1, 5)}')
    if scan == 'sequence' and random.random() < 0.5:
        t.append(f'per_thread_offset = {random.choice(["true", "false"])}')
    if scan == 'local-preference' and random.random() < 0.5:
        t += [f'same_slash8 = {num(0, 0.6)}', f'same_slash16 = {num(0, 0.4)}']
    optional = [
        (0.3, lambda: [f'prng_subsets = {random.choice([1, 2, 4, 8, 256])}']),
        (0.2, lambda: [f'cycle_probes = {random.randint(1, 100000)}',
                       f'crash_per_cycle = {num(0.001, 1)}']),
        (0.3, lambda: [f'threads = {random.choice([1, 10, 99, 300, 1000])}']),
        (0.3, lambda: [f'max_scan_multiple = {num(1, 5)}']),
        (0.15, lambda: ['reinfection = "ignore"']),
        (0.15, lambda: ['reinfection = "add-instance"',
                        f'max_instances = {random.randint(1, 16)}']),
        (0.3, lambda: [f'initial_infected = {random.choice([1, 2, 10, 50])}']),
        (0.2, lambda: [f'lifetime_hours = {num(0.1, 48)}']),
        (0.2, lambda: [f'drop_dead = {when()}']),
        (0.2, lambda: ['nt4_crash = true', f'crash_recovery_per_day = {num(0, 100)}']),
        (0.2, lambda: [f'backdoor = {random.choice(["true", "false"])}']),
        (0.2, lambda: ['deface = true', f'deface_hours = {num(0.1, 20)}']),
    ]
    for p, keys in optional:
        if random.random() < p:
            t += keys()
    if random.random() < 0.25:
        t += ['[hit_list]', f'size = {random.choice([1, 5, 20, hosts // 2])}',
              f'rate = {num(1, 1000)}', f'split = {random.choice(["true", "false"])}']
    if random.random() < 0.3:
        t.append('[containment]')
        strategy = random.choice(['address-blacklist', 'content-filter', None])
        if strategy:
            t += [f'strategy = "{strategy}"', f'reaction_minutes = {num(0, 300)}',
                  f'coverage = {num(0, 1)}']
        if random.random() < 0.4:
            t += [f'throttle_rate = {num(0.1, 10)}', f'throttle_fraction = {num(0, 1)}']
        if random.random() < 0.3 or not strategy:
            t += [f'egress_fraction = {num(0, 1)}', f'egress_from = {when()}']
    if random.random() < 0.4:
        t += ['[calendar]', f'enabled = {random.choice(["true", "false"])}',
              f'wake = "{random.choice(["lagged", "never"])}"',
              f'wrong_clocks = {random.choice([0, 1, 10, hosts // 10])}']
    if random.random() < 0.3 and variant in ('crv1', 'crv2'):
        t += ['[flood]', f'connections = {random.randint(1, 200)}',
              f'bytes_per_burst = {num(1, 1e9)}', f'period_hours = {num(0.1, 10)}',
              f'move_at = {when()}', f'filter_at = {when()}']
    if random.random() < 0.4:
        congestion = random.choice(['none', 'zou', 'capacity'])
        t += ['[network]', f'syn_retries = {random.randint(0, 10)}',
              f'answer_fraction = {num(0, 1)}', f'congestion = "{congestion}"']
        if congestion == 'zou':
            t.append(f'zou_eta = {num(0, 6)}')
        if congestion == 'capacity':
            t.append(f'capacity_probes_per_s = {num(1, 1e6)}')
    if random.random() < 0.4:
        lag = random.choice(['none', 'fixed', 'exponential', 'lognormal'])
        t += ['[defense.patch]', f'rate = {num(0, 5)}', f'lag = "{lag}"']
        if lag != 'none':
            t.append(f'lag_mean_days = {num(0.01, 3)}')
        if lag == 'lognormal':
            t.append(f'lag_sigma = {num(0.1, 2)}')
        if random.random() < 0.3:
            t.append(f'initial_fraction = {num(0, 1)}')
        if random.random() < 0.3:
            t.append(f'schedule = [{{from = {when()}, rate = {num(0, 5)}}}]')
    if random.random() < 0.3:
        t += ['[defense.reboot]', f'rate = {num(0, 10)}']
    observe = random.random() < 0.3
    if observe:
        t += ['[observe]', f'bin = {num(10, 7200)}', f'dhcp_fraction = {num(0, 1)}',
              f'dhcp_changes_per_day = {num(0, 10)}']
    if random.random() < 0.3:
        t += ['[output]', f'bin = {random.choice([1, 10, 60, 600, 3600])}',
              f'probes = "{random.choice(["expected", "sampled"])}"']
    flags = random.choice([[], [], ['--engine', 'general'], ['--hosts'], ['--format', 'json']]
                          + ([['--engine', 'reference']] if bits <= 20 else []))
    return '\n'.join(t) + '\n', flags + (['--observe'] if observe else [])


def generate(r, cases):
    for k in range(cases):
        text, flags = scenario()
        r.case(f'generate-{k}', ['run', 's.toml', '-q', '--out', 'out'] + flags,
               {'s.toml': text}, 's.toml')


def checkpoint(r, cases):
    base = os.path.join(r.out, 'base.ckpt')
    subprocess.run([r.binary, 'run', 'codered-v2-2001-07-19', '--until', '2001-07-28T00:00:00Z',
                    '-q', '--out', os.path.join(r.out, 'base-out'), '--save-checkpoint', base],
                   check=True)
    good = open(base, 'rb').read()
    for k in range(cases):
        b = bytearray(good)
        u = random.random()
        if u < 0.3:
            b = b[:random.randrange(len(b))]
        elif u < 0.8:
            for _ in range(random.choice([1, 2, 8])):
                i = random.randrange(len(b))
                b[i] ^= 1 << random.randrange(8)
        else:
            i = random.randrange(len(b))
            b[i:i + 8] = bytes(random.randrange(256) for _ in range(8))
        r.case(f'checkpoint-{k}', ['run', 'codered-v2-2001-08-01', '--from-checkpoint', 'c.ckpt',
                                   '-q', '--out', 'out'], {'c.ckpt': bytes(b)}, 'c.ckpt')


def fit(r, cases):
    series = os.path.join(r.out, 'series-out')
    subprocess.run([r.binary, 'run', 'codered-v2-2001-07-19', '-q', '--out', series], check=True)
    lines = open(os.path.join(series, 'series.csv')).read().strip().split('\n')
    header, rows = lines[0], lines[1:]
    cells = ['', 'nan', 'inf', '-inf', '-1', '0', '1e308', '-0', '1.5', 'x',
             '2001-07-19T10:00:00Z', '2001-13-01T00:00:00Z', '99999999999999999999', '"5"']
    for k in range(cases):
        rs = list(rows)
        if random.random() < 0.5:
            a = random.randrange(len(rs))
            rs = rs[a:a + random.choice([1, 2, 3, 10, 200, 2000])]
        for _ in range(random.choice([0, 1, 1, 2, 5])):
            i = random.randrange(len(rs))
            c = rs[i].split(',')
            c[random.randrange(len(c))] = random.choice(cells)
            rs[i] = ','.join(c)
        if random.random() < 0.1:
            rs.reverse()
        h = header if random.random() < 0.9 else random.choice(['time,count', 'time,count,x', ''])
        model = random.choice(['rcs', 'si', 'sir', 'two-factor', 'aawp'])
        extra = random.choice([[], ['--objective', 'lsq'], ['--kind', 'incident'],
                               ['--column', 'new_infections']])
        r.case(f'fit-{k}', ['fit', '--model', model, 's.csv', '--out', 'out/fit.json'] + extra,
               {'s.csv': '\n'.join([h] + rs) + '\n'}, 's.csv')


# --- sweep, merge, slurm-script: sweep files and their output directories ---

def tiny_scenario(hosts=None):
    """A scenario that runs in milliseconds: a /16 space, a few hundred hosts, hours."""
    variant = random.choice(['generic', 'generic', 'crv2', 'crv1'])
    end = random.choice(['2001-07-19T11:00:00Z', '2001-07-19T12:00:00Z', '2001-07-19T16:00:00Z'])
    return '\n'.join([
        '[scenario]', 'name = "tiny"', 'start = 2001-07-19T10:00:00Z', f'end = {end}',
        'space_bits = 16', '[population]', 'model = "uniform"',
        f'hosts = {hosts or random.choice([50, 200, 500])}', '[worm]', f'variant = "{variant}"',
        f'scan_rate = {random.choice(["2.0", "10.0", "40.0"])}']) + '\n'


# Scenario keys a sweep may vary, with a maker of valid values (as TOML).
SWEEP_KEYS = {
    'worm.scan_rate': lambda: f'{random.uniform(1, 50):.3g}',
    'population.hosts': lambda: str(random.randint(50, 500)),
    'defense.patch.rate': lambda: f'{random.uniform(0, 5):.3g}',
    'defense.reboot.rate': lambda: f'{random.uniform(0, 5):.3g}',
    'output.bin': lambda: random.choice(['60', '600', '1800', '120.0']),
    'worm.initial_infected': lambda: str(random.randint(1, 10)),
    'network.answer_fraction': lambda: f'{random.random():.3g}',
    'scenario.end': lambda: random.choice(['2001-07-19T11:00:00Z', '2001-07-19T13:30:00Z']),
    'worm.variant': lambda: random.choice(['"generic"', '"crv2"']),
    'worm.scan': lambda: random.choice(['"uniform"', '"permutation"', '"sequence"']),
}
BAD_KEYS = ['worm.scan_rat', 'worm..scan_rate', '.worm', 'worm.', 'scenario.seed', 'scenario',
            'worm', 'worm.scan_rate.x', 'defense.patch.schedule.0.rate', 'observe.telescope.0.cidr',
            'population', '', ' ', ' worm.scan_rate ', 'é.x', 'scenario.name', 'scenario.space_bits',
            'population.model', 'population.file', 'initial.checkpoint', 'worm.threads',
            'defense.patch.schedule', 'output.report_at', 'x.y.z.w', 'scenario.start']
ODD = ['nan', 'inf', '-inf', '"x"', 'true', '[1]', '{a = 1}', '0', '-1', '1e308', '1e-308', '5e-324',
       '9223372036854775807', '-9223372036854775808', '0.1', '3', '1e-20', '2001-07-19T10:00:00Z',
       '0.30000000000000004', '-0.0', '1000000', '1000001']


def toml_str(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def grid_block(key, odd):
    """A `[[grid]]` table for KEY: values or a range; with ODD, damaged."""
    make = SWEEP_KEYS.get(key, lambda: random.choice(ODD))
    t = ['[[grid]]', f'key = {toml_str(key)}']
    numeric = key in ('worm.scan_rate', 'population.hosts', 'defense.patch.rate',
                      'defense.reboot.rate', 'output.bin', 'worm.initial_infected',
                      'network.answer_fraction')
    if not numeric or random.random() < 0.5:
        n = random.choice([1, 2, 2, 3, 4])
        values = [make() for _ in range(n)]
        if odd:
            u = random.random()
            if u < 0.15:
                values = []
            elif u < 0.3:
                values = [random.choice(ODD) for _ in range(random.choice([1, 2]))]
            elif u < 0.4:
                values = ['1', '2.5', '"x"']
            elif u < 0.45:
                values = [str(i) for i in range(2000)]
            else:
                values[random.randrange(n)] = random.choice(ODD)
        t.append(f'values = [{", ".join(values)}]')
        return t, len(values)
    ints = key in ('population.hosts', 'worm.initial_infected', 'output.bin')
    lo, hi = {'population.hosts': (50, 500), 'worm.initial_infected': (1, 10),
              'output.bin': (60, 1800), 'network.answer_fraction': (0, 1)}.get(key, (0.5, 5.0))
    a = random.randint(lo, hi) if ints else round(random.uniform(lo, hi), 2)
    b = random.randint(a, hi) if ints else round(random.uniform(a, hi), 2)
    fields = {'start': str(a), 'stop': str(b)}
    if random.random() < 0.5:
        count = random.randint(1, 4)
        if ints and count > 1:
            b = a + (count - 1) * random.randint(1, 50)
            fields['stop'] = str(b)
        elif count == 1:
            fields['stop'] = fields['start']
        fields['count'] = str(count)
        n = count
    else:
        step = max(1, (b - a) // 3) if ints else round(max(0.01, (b - a) / 3), 3)
        fields['step'] = str(step)
        n = int((b - a) / step) + 1
    if odd:
        for _ in range(random.choice([1, 1, 2])):
            f = random.choice(['start', 'stop', 'step', 'count', 'values', 'drop'])
            if f == 'drop':
                fields.pop(random.choice(list(fields)), None)
            elif f == 'values':
                fields['values'] = '[1.0]'
            else:
                fields[f] = random.choice(ODD)
        n = 1
    t += [f'{k} = {v}' for k, v in fields.items()]
    return t, n


def sweep_text(damage):
    """A sweep file over tiny.toml; (text, units if valid, or None when damaged)."""
    t = []
    if random.random() < 0.9:
        t.append('scenario = "tiny.toml"')
    if random.random() < 0.1:
        t.append('name = ' + random.choice(['"named"', '""', '"a/b"', '"é"', '"../escaped"',
                                      '"n\\ntouch slurm-injected\\n#"']))
    replicates = random.choice([1, 2, 3])
    t.append(f'replicates = {replicates}')
    if random.random() < 0.3:
        t.append(f'seed = {random.choice([0, 7, 123456789])}')
    combine = random.choice(['product', 'product', 'zip'])
    t.append(f'combine = "{combine}"')
    sets = []
    if random.random() < 0.3:
        sets.append('"output.bin" = 600')
    if random.random() < 0.2:
        sets.append('scenario.end = 2001-07-19T12:00:00Z')
    keys = random.sample(list(SWEEP_KEYS), random.choice([0, 1, 1, 2, 2, 3]))
    keys = [k for k in keys if not any(s.startswith(f'"{k}"') or s.startswith(k) for s in sets)]
    grids, lens = [], []
    zip_n = random.choice([1, 2, 3])
    for k in keys:
        g, n = grid_block(k, False)
        if combine == 'zip':
            make = SWEEP_KEYS[k]
            g = ['[[grid]]', f'key = "{k}"', f'values = [{", ".join(make() for _ in range(zip_n))}]']
            n = zip_n
        grids.append(g)
        lens.append(n)
    units = replicates
    if combine == 'zip':
        units *= zip_n if grids else 1
    else:
        for n in lens:
            units *= n
    if damage:
        for _ in range(random.choice([1, 1, 1, 2])):
            u = random.random()
            if u < 0.3:
                g, _ = grid_block(random.choice(list(SWEEP_KEYS)), True)
                grids.append(g)
            elif u < 0.45:
                grids.append(grid_block(random.choice(BAD_KEYS), False)[0])
            elif u < 0.5 and grids:
                grids.append(list(grids[0]))
            elif u < 0.6:
                i = next(j for j, line in enumerate(t) if line.startswith('replicates'))
                t[i] = 'replicates = ' + random.choice(
                    ['0', '-1', '1000000', '1000001', '"3"', '2.5', '9223372036854775807',
                     '500000', 'nan', '[]'])
            elif u < 0.65:
                t.append('seed = ' + random.choice(['-1', '1.5', '"x"', '18446744073709551615',
                                                    '9223372036854775807']))
            elif u < 0.7:
                i = next(j for j, line in enumerate(t) if line.startswith('combine'))
                t[i] = 'combine = ' + random.choice(['"Zip"', '""', '1', '"sum"', '["zip"]'])
            elif u < 0.75:
                sets.append(random.choice(['"worm.scan_rat" = 1', 'worm = 1', '"scenario.seed" = 3',
                                           '"worm.scan_rate" = "fast"', '"a..b" = 1',
                                           '"worm.scan_rate" = nan', 'defense.patch.rate = -1',
                                           '"population.hosts" = 100000000']))
            elif u < 0.8:
                t.append(random.choice(['replicate = 3', 'grids = []', 'set = 3', 'grid = 1',
                                        'grid = [1]', '[grid]\nkey = "worm.scan_rate"\nvalues = [1]',
                                        'extra = "x"', 'scenario = "other.toml"']))
            elif u < 0.85:
                i = next((j for j, line in enumerate(t) if line.startswith('scenario')), None)
                if i is not None:
                    t[i] = 'scenario = ' + random.choice(
                        ['"missing.toml"', '"nope"', '""', '"/"', '"bad.toml"', '"tiny"',
                         '"codered-v2-2001-07-19"', '1', '"sub/"'])
            elif u < 0.9:
                grids.append(['[[grid]]', f'key = "{random.choice(list(SWEEP_KEYS))}"',
                              random.choice(['value = [1]', 'values = 1', 'start = 1',
                                             'step = 1', 'count = 3', 'values = [1]\nextra = 2',
                                             'key = "again"'])])
            else:
                grids.append(grid_block('worm.scan_rate', False)[0] + [
                    random.choice(['count = 2', 'values = [1.0]', 'step = 0.5'])])
    text = '\n'.join(t) + '\n'
    if sets:
        text += '[set]\n' + '\n'.join(sets) + '\n'
    for g in grids:
        text += '\n' + '\n'.join(g) + '\n'
    if damage and random.random() < 0.15:
        lines = text.split('\n')
        u = random.random()
        if u < 0.4:
            del lines[random.randrange(len(lines))]
        elif u < 0.7:
            i = random.randrange(len(lines))
            lines.insert(i, lines[i])
        else:
            text = text[:random.randrange(len(text) + 1)]
            lines = None
        if lines is not None:
            text = '\n'.join(lines)
    return text, None if damage else units


def files_equal(a, b, names):
    """Why the files NAMES differ between directories A and B, or None."""
    for n in names:
        pa, pb = os.path.join(a, n), os.path.join(b, n)
        if not os.path.exists(pa) or not os.path.exists(pb):
            return f'{n} missing in {a if not os.path.exists(pa) else b}'
        if open(pa, 'rb').read() != open(pb, 'rb').read():
            return f'{n} differs between {os.path.basename(a)} and {os.path.basename(b)}'
    return None


def escaped(work):
    """Files written outside WORK/out by a sweep without --out."""
    stray = [f for f in snapshot(work) if not f.startswith(('out/', 'tiny.toml', 'sw.toml', 'bad.toml', 'other.toml'))]
    outside = os.path.join(os.path.dirname(work), 'escaped')
    if os.path.exists(outside):
        shutil.rmtree(outside, ignore_errors=True)
        stray.append('../escaped')
    return f'written outside out/: {", ".join(stray[:5])}' if stray else None


def sweep(r, cases):
    for k in range(cases):
        damage = random.random() < 0.6
        text, units = sweep_text(damage)
        inputs = {'sw.toml': text, 'tiny.toml': tiny_scenario(),
                  'bad.toml': '[scenario]\nname = 1\n', 'other.toml': tiny_scenario(hosts=100)}
        base = ['sweep', 'sw.toml', '-q']
        out = ['--out', 'out']
        u = random.random()
        extra = []
        if u < 0.1:
            extra = ['--shard', random.choice(['0/1', '1/2', '0/3', '2/3', '5/10', '3/2', '1/0', 'a/b',
                                               ' 1/2', '1/-2', '18446744073709551615/18446744073709551616',
                                               '99/100', '1', '0/18446744073709551615'])]
        elif u < 0.15:
            extra = ['--threads', random.choice(['0', '1', '2', '3', '64', '-1'])]
        elif u < 0.2:
            extra = ['--seed', random.choice(['0', '18446744073709551615', '-1', 'x', '3'])]
        elif u < 0.25:
            extra = ['--format', random.choice(['csv,json,parquet', 'json', 'parquet', 'csv,csv', 'xml', ''])]
        elif u < 0.28:
            extra = ['--max-memory', random.choice(['1K', '0', '512M', '1X', '-1G', '100T', ''])]
        elif u < 0.3:
            extra = ['--resume']
        elif u < 0.33:
            out = []
        env = {}
        if random.random() < 0.05:
            env = random.choice([{'SLURM_ARRAY_TASK_ID': '1', 'SLURM_ARRAY_TASK_COUNT': '2'},
                                 {'SLURM_ARRAY_TASK_ID': '7', 'SLURM_ARRAY_TASK_COUNT': '4',
                                  'SLURM_ARRAY_TASK_MIN': '5'},
                                 {'SLURM_ARRAY_TASK_ID': '3', 'SLURM_ARRAY_TASK_COUNT': '2'},
                                 {'SLURM_ARRAY_TASK_ID': 'x', 'SLURM_ARRAY_TASK_COUNT': '2'},
                                 {'JOB_COMPLETION_INDEX': '1'}])
            if 'JOB_COMPLETION_INDEX' in env and random.random() < 0.7:
                extra += ['--shards', random.choice(['2', '1', '0'])]
        names = ('sw.toml', 'tiny.toml', 'SLURM', 'Slurm array task', 'JOB_COMPLETION_INDEX')
        preflight = '--max-memory' in extra or units is None
        first = Step(base + out + extra, names, env=env, preflight=preflight)
        # `wormsim check` on the same file must accept exactly what the sweep
        # accepts (nothing runs, so a memory-preflight refusal is the sweep's
        # alone), and refuse by the same rule (exit 2 naming the file, nothing
        # written).
        plain = not extra and not env and out
        if plain:
            r.steps(f'sweep-{k}-check', [Step(['check', 'sw.toml'], names, preflight=False)],
                    inputs)
            check_rc = r.last[0]
            r.notes['sweep files also checked'] += 1
        if units is None or extra or env or not out or random.random() < 0.4:
            check = escaped if not out else None
            r.steps(f'sweep-{k}', [first], inputs, check)
            if plain:
                agree(r, f'sweep-{k}', check_rc, inputs)
            continue
        # A valid sweep: the full run must equal its shards merged, whatever the
        # shard count, --threads and an interruption (units deleted, then --resume).
        n = random.choice([2, 2, 3, 3, units + 1])
        steps = [first, Step(base + ['--out', 'full2', '--threads', '1'], names, expect=0)]
        for j in range(n):
            steps.append(Step(base + ['--out', 'sh', '--shard', f'{j}/{n}'], names, expect=0,
                              preflight=False))
        steps.append(Step(['sweep', 'sw.toml', '-q', '--out', 'sh', '--shard', f'0/{n}'],
                          names + ('sh already holds',), expect=2))

        def check(work, n=n):
            # The point count as wormsim computed it (decimal ranges are exact).
            units = len(read_csv(os.path.join(work, 'out', 'summaries.csv'))) - 1
            why = files_equal(os.path.join(work, 'out'), os.path.join(work, 'full2'),
                              ['summaries.csv', 'quantiles.csv'])
            if why:
                return '--threads 1 vs default: ' + why
            ud = os.path.join(work, 'sh', 'units')
            done = sorted(os.listdir(ud)) if os.path.isdir(ud) else []
            if len(done) != units:
                return f'{n} shards wrote {len(done)} units of {units}'
            for f in random.sample(done, random.randint(0, len(done))):
                os.remove(os.path.join(ud, f))
            for j in range(n):
                st = Step(base + ['--out', 'sh', '--shard', f'{j}/{n}', '--resume'], 'sw.toml',
                          preflight=False)
                rc, err, why = r.run_step(work, st)
                if why or rc != 0:
                    return f'--resume of shard {j}/{n}: {why or rc}: {err.strip()[-300:]}'
            rc, err, why = r.run_step(work, Step(['merge', 'sh', '-q'], 'sh'))
            if why or rc != 0:
                return f'merge of {n} shards: {why or rc}: {err.strip()[-300:]}'
            r.notes['sharded runs merged and compared'] += 1
            why = files_equal(os.path.join(work, 'out'), os.path.join(work, 'sh'),
                              ['summaries.csv', 'quantiles.csv'])
            if why:
                return f'{n} shards merged vs one run: {why}'
            # Two rounds of the resume oracle, on the one run's directory or
            # on the shards' shared one.
            for rnd in range(2):
                src, sn = random.choice([('out', None), ('sh', n)])
                why = resume_round(r, work, base, src, sn, rnd)
                if why:
                    return why
            return None
        r.steps(f'sweep-{k}', steps, inputs, check)
        if plain:
            agree(r, f'sweep-{k}', check_rc, inputs)


def agree(r, name, check_rc, inputs):
    """`wormsim check` (exit CHECK_RC) against the sweep just run (`r.last`)."""
    rc, err = r.last
    if check_rc not in (0, 2) or rc not in (0, 2):
        return  # already kept as a failure of its own
    if check_rc == 0 and rc == 2 and 'memory preflight' not in err:
        r.fail(name + '-agree', 'check accepted the sweep file; the sweep refused it: '
               + err.strip()[-300:], inputs)
    elif check_rc == 2 and rc == 0:
        r.fail(name + '-agree', 'check refused the sweep file; the sweep ran it', inputs)


MERGE_SWEEPS = {
    'A': ('scenario = "tiny.toml"\nreplicates = 2\n[[grid]]\nkey = "worm.scan_rate"\n'
          'values = [5.0, 10.0]\n[[grid]]\nkey = "population.hosts"\nvalues = [100, 200]\n'),
    'B': ('scenario = "tiny.toml"\nreplicates = 3\n[[grid]]\nkey = "worm.variant"\n'
          'values = ["generic", "crv2"]\n'),
    'C': ('scenario = "tiny.toml"\nreplicates = 2\nseed = 9\n[[grid]]\nkey = "worm.scan_rate"\n'
          'values = [5.0, 10.0]\n[[grid]]\nkey = "population.hosts"\nvalues = [100, 200]\n'),
}


def merge_base(r):
    """Shard directories of the sweeps above, and each sweep's merged tables."""
    base = os.path.join(r.out, 'merge-base')
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    with open(os.path.join(base, 'tiny.toml'), 'w') as fh:
        fh.write(tiny_scenario(hosts=200).replace('crv1', 'generic'))
    for name, text in MERGE_SWEEPS.items():
        with open(os.path.join(base, f'{name}.toml'), 'w') as fh:
            fh.write(text)
        subprocess.run([r.binary, 'sweep', f'{name}.toml', '-q', '--out', f'full{name}'],
                       cwd=base, check=True)
        for j in range(3):
            subprocess.run([r.binary, 'sweep', f'{name}.toml', '-q', '--out', f'{name}{j}',
                            '--shard', f'{j}/3'], cwd=base, check=True)
    return base


def load_dir(base, d):
    """{relative path: bytes} of directory BASE/D, prefixed with D."""
    out = {}
    for f, _ in snapshot(os.path.join(base, d)).items():
        out[f'{d}/{f}'] = open(os.path.join(base, d, f), 'rb').read()
    return out


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def seal(v, how):
    """Unit object V as a file: with its old checksum kept (`stale`), with a new
    one computed as `wormsim` does (`resealed`), or without one, as units were
    written before checksums (`legacy`, read unchecked)."""
    old = v.pop('checksum', None)
    body = json.dumps(v, separators=(',', ':'), ensure_ascii=False).encode()
    if how == 'legacy':
        return body + b'\n'
    sum_ = fnv1a64(body) if how == 'resealed' or not isinstance(old, str) else None
    tail = f'fnv1a64:{sum_:016x}' if sum_ is not None else old
    return body[:-1] + b',"checksum":' + json.dumps(tail).encode() + b'}\n'


def edit_json(data, kind, how='stale'):
    """A unit file with one field changed, sealed by HOW (see `seal`); None if it
    does not apply."""
    try:
        v = json.loads(data)
    except ValueError:
        return None
    if not isinstance(v, dict) or 'series' not in v:
        return None
    if kind == 'summary-value':
        c = random.choice(list(v['summary']))
        v['summary'][c] = random.choice([0, 1, 123456789, -1, 2.5, None, 'x'])
    elif kind == 'summary-drop':
        del v['summary'][random.choice(list(v['summary']))]
    elif kind == 'series-value':
        s = random.choice(list(v['series']))
        i = random.randrange(len(v['series'][s]))
        v['series'][s][i] = random.choice([0, 1e300, -1, None, 'x'])
    elif kind == 'series-short':
        s = random.choice(list(v['series']))
        v['series'][s] = v['series'][s][:-1]
    elif kind == 'series-all-short':
        for s in v['series']:
            v['series'][s] = v['series'][s][:-1]
    elif kind == 'ids':
        f = random.choice(['unit', 'point', 'replicate'])
        v[f] = random.choice([v[f] + 1, -1, str(v[f]), None, 1e20])
    elif kind == 'params':
        v['params'] = random.choice([[], [1, 2, 3], [v['params'][0]] * len(v['params']) if v['params'] else [1],
                                     [str(x) for x in v['params']]])
    elif kind == 'start':
        v['start'] = random.choice([v['start'] + 1, 'x', None, 0])
    elif kind == 'engine':
        v['engine'] = random.choice(['', 5, None])
    return seal(v, how)


# --- sweep --resume over damaged units (used by `sweep`) ---

CHECKSUM_KEY = b',"checksum":"fnv1a64:'
UNIT_FIELDS = {'unit', 'point', 'replicate', 'engine', 'start', 'params', 'param_text', 'summary',
               'series'}
# How a unit file is damaged before `--resume`: as `merge` damages them (cut,
# bits flipped, a value edited under the stale checksum, another unit's
# contents, a unit of another id under a fresh checksum, empty, junk), deleted,
# or changed in ways that leave it readable as its unit (checksum stripped as
# an older unit, resealed as is or laid out with spaces or indented, a
# checksum digit in upper case, whitespace after it). Whether a damaged file
# must be named is decided by `reads_as`, not by the kind: a cut that drops
# only the final newline, a flip that turns a checksum digit a-f to A-F, or
# an edit that rewrote the same value leave it readable. Not drawn: values
# edited under a fresh checksum or none (forged, they cannot be told from a
# run's; `merge` covers them) and parameters or start times that differ from
# the other replicates' (merge's cross-unit check, which the per-file reading
# of --resume does not make).
RESUME_DAMAGE = ['truncate', 'truncate', 'flip', 'flip', 'flip-checksum', 'summary-value',
                 'summary-drop', 'series-value', 'series-short', 'series-all-short', 'ids', 'params',
                 'start', 'engine', 'ids-resealed', 'other-unit', 'empty', 'binary', 'delete',
                 'legacy', 'reseal', 'reseal-spaced', 'hexcase', 'whitespace']


def checksum_matches(text):
    """The checksum rule of `wormsim` (crates/wormsim-cli/src/units.rs): None
    without a checksum field at the end, else whether it matches (hex digits
    in either case)."""
    t = text.rstrip(b' \t\n\r\x0c')  # Rust's trim_ascii_end
    if not t.endswith(b'"}') or len(t) < 18:
        return None
    body = t[:-2]
    hexs = body[-16:]
    if not all(c in b'0123456789abcdefABCDEF' for c in hexs) or not body[:-16].endswith(CHECKSUM_KEY):
        return None
    return fnv1a64(body[:-16 - len(CHECKSUM_KEY)] + b'}') == int(hexs, 16)


def same_json(a, b):
    """A and B equal with their types (1 is not 1.0 nor True; -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def reads_as(new, orig):
    """Whether unit file bytes NEW still read as the unit ORIG (an intact unit
    file) holds. The rule: equal bytes do; otherwise the file must pass
    `wormsim`'s checksum rule (a matching checksum, or none and only the
    fields of units from before checksums) and hold the same JSON values,
    types included, as ORIG (the checksum field aside). Anything else is
    damage that `--resume` must name and run again."""
    if new == orig:
        return True
    ok = checksum_matches(new)
    if ok is False:
        return False
    try:
        v = json.loads(new.decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        return False
    if not isinstance(v, dict) or (ok is None and not set(v) <= UNIT_FIELDS):
        return False
    o = json.loads(orig.decode('utf-8'))
    v.pop('checksum', None)
    o.pop('checksum', None)
    return same_json(v, o)


def damage_unit(kind, data, others):
    """Unit file bytes DATA damaged by KIND (None: deleted). OTHERS: the bytes
    of the directory's other units."""
    if kind == 'truncate':
        return data[:random.randrange(len(data))]
    if kind == 'flip':
        b = bytearray(data)
        for _ in range(random.choice([1, 1, 2, 8])):
            i = random.randrange(len(b))
            b[i] ^= 1 << random.randrange(8)
        return bytes(b)
    if kind == 'flip-checksum':  # one bit of the checksum's 16 hex digits
        b = bytearray(data)
        i = data.rstrip().rfind(b'"}') - 1 - random.randrange(16)
        b[i] ^= 1 << random.randrange(8)
        return bytes(b)
    if kind in ('summary-value', 'summary-drop', 'series-value', 'series-short', 'series-all-short',
                'ids', 'params', 'start', 'engine'):
        return edit_json(data, kind, 'stale')
    if kind == 'ids-resealed':  # another unit's id, point or replicate, sealed afresh
        return edit_json(data, 'ids', 'resealed')
    if kind == 'other-unit':
        return random.choice(others) if others else b''
    if kind == 'empty':
        return b''
    if kind == 'binary':
        return bytes(random.randrange(256) for _ in range(random.choice([1, 200, 20000])))
    if kind == 'delete':
        return None
    if kind == 'legacy':  # an older unit: the same fields without the checksum
        t = data.rstrip()
        i = t.rfind(CHECKSUM_KEY)
        return t[:i] + b'}\n'
    if kind == 'reseal':  # written again by another JSON writer, with a fresh checksum
        return seal(json.loads(data), 'resealed')
    if kind == 'reseal-spaced':  # the same values as JSON laid out otherwise, sealed afresh
        v = json.loads(data)
        v.pop('checksum', None)
        body = json.dumps(v, **random.choice([{'separators': (', ', ': ')}, {'indent': 1}])).encode()
        return body[:-1] + b',"checksum":"fnv1a64:%016x"}\n' % fnv1a64(body)
    if kind == 'hexcase':
        t = data.rstrip()
        letters = [i for i in range(len(t) - 18, len(t) - 2) if t[i] in b'abcdef']
        if not letters:
            return data + b'\n'
        b = bytearray(data)
        b[random.choice(letters)] ^= 0x20
        return bytes(b)
    if kind == 'whitespace':
        return data.rstrip(b'\n') + random.choice([b' \n', b'\n\n', b'\t\r\n', b'\x0c', b' '])
    raise ValueError(kind)


def one_line(err):
    """The end of stderr ERR on one line, for a failure's message."""
    return err.strip()[-300:].replace('\n', ' | ')


WARNING = re.compile(r'^warning: (.*): (.*); --resume runs unit (\d+) again$')


def resume_round(r, work, base, src, n, rnd):
    """The resume oracle, on WORK/SRC, a complete output directory of the sweep
    `wormsim BASE` (every unit; N shards sharing it, or None for one run).

    A copy loses its merged tables and has zero to three unit files damaged
    (`RESUME_DAMAGE`); the sweep is then run again with --resume into it (each
    shard, then `wormsim merge`). It must exit 0, name every damaged file that
    no longer reads as its unit (`reads_as`) in one `warning: PATH: REASON;
    --resume runs unit ID again` line, from the shard that owns it, and name
    no other file; every unit file must then hold its original bytes (a
    harmless change may stay), and the merged tables must equal WORK/out's
    byte for byte. With a unit file beyond the sweep's units added, the
    resume must instead exit 2 naming it and write nothing. Returns why it
    failed, or None.
    """
    dst = f'rs{rnd}'
    dpath = os.path.join(work, dst)
    shutil.copytree(os.path.join(work, src), dpath)
    for t in ('summaries.csv', 'quantiles.csv'):
        os.remove(os.path.join(dpath, t))
    ud = os.path.join(dpath, 'units')
    files = sorted(os.listdir(ud))
    orig = {f: open(os.path.join(ud, f), 'rb').read() for f in files}
    targets = ([] if random.random() < 0.2
               else random.sample(files, min(len(files), random.choice([1, 1, 2, 3]))))
    applied, must, harmless = {}, set(), set()
    for f in targets:
        kind = random.choice(RESUME_DAMAGE)
        new = damage_unit(kind, orig[f], [orig[g] for g in files if g != f])
        if new is None and kind != 'delete':
            kind, new = 'empty', b''  # an edit that does not apply
        applied[f] = kind
        if new is None:
            os.remove(os.path.join(ud, f))
        else:
            with open(os.path.join(ud, f), 'wb') as fh:
                fh.write(new)
            (harmless if reads_as(new, orig[f]) else must).add(f)
    r.notes['resume rounds'] += 1
    r.notes['resume rounds ' + ('undamaged' if not targets else 'sharded' if n else 'one run')] += 1
    for f, kind in applied.items():
        new = open(os.path.join(ud, f), 'rb').read() if f in must | harmless else None
        r.notes[f'resume damage {kind}: ' + ('named' if f in must else 'deleted' if new is None
                                              else 'unchanged' if new == orig[f] else 'harmless')] += 1
    # Sometimes (one run only) also a unit file beyond the sweep's units, as
    # another sweep's left behind: the resume must be refused naming it, with
    # nothing written (not even the damaged units run again).
    stray = None
    if n is None and random.random() < 0.15:
        stray = os.path.join(dst, 'units', f'{len(files) + random.choice([0, 1, 100]):07d}.json')
        with open(os.path.join(work, stray), 'wb') as fh:
            fh.write(orig[random.choice(files)])
        r.notes['resume rounds with a unit beyond the sweep'] += 1
    shutil.copytree(dpath, dpath + '.damaged')  # kept with a failure, to replay
    what = (f'resume of {dst} (copy of {src}, damaged: '
            + (', '.join(f'{f} {k}' for f, k in sorted(applied.items())) or 'none')
            + (f', stray {os.path.basename(stray)}' if stray else '')
            + f'; commands and stderr in {dst}.log)')
    log = open(dpath + '.log', 'w')
    if stray:
        args = base + ['--out', dst, '--resume']
        rc, err, why = r.run_step(work, Step(args, stray, preflight=False))
        log.write(f'$ wormsim {shlex.join(args)}\n{err}[exit {rc}]\n')
        log.close()
        if why or rc != 2:
            return f'{what}: wormsim {shlex.join(args)}: {why or f"exit {rc}, expected 2"}: {one_line(err)}'
        shutil.rmtree(dpath + '.damaged')
        shutil.rmtree(dpath)
        os.remove(dpath + '.log')
        return None
    shards = [None] if n is None else list(range(n))
    named = {}
    for j in shards:
        args = base + ['--out', dst, '--resume'] + ([] if j is None else ['--shard', f'{j}/{n}'])
        rc, err, why = r.run_step(work, Step(args, 'sw.toml', preflight=False))
        log.write(f'$ wormsim {shlex.join(args)}\n{err}[exit {rc}]\n')
        log.flush()
        if why or rc != 0:
            return f'{what}: wormsim {shlex.join(args)}: {why or f"exit {rc}"}: {one_line(err)}'
        for line in err.splitlines():
            m = WARNING.match(line)
            f = m and os.path.basename(m.group(1))
            if not m or m.group(1) != os.path.join(dst, 'units', f) or f not in orig:
                return f'{what}: wormsim {shlex.join(args)}: unexpected stderr: {line[:300]}'
            uid = int(f[:-5])
            if int(m.group(3)) != uid or (j is not None and uid % n != j):
                return f'{what}: wormsim {shlex.join(args)}: warning for the wrong unit or shard: {line[:300]}'
            if f in named:
                return f'{what}: {f} named twice'
            named[f] = line
    if n is not None:
        rc, err, why = r.run_step(work, Step(['merge', dst, '-q'], dst))
        log.write(f'$ wormsim merge {dst} -q\n{err}[exit {rc}]\n')
        log.flush()
        if why or rc != 0:
            return f'{what}: merge: {why or f"exit {rc}"}: {one_line(err)}'
    missed = sorted(must - set(named))
    if missed:
        return f'{what}: damaged units not named: {", ".join(missed)}'
    extra = sorted(set(named) - must)
    if extra:
        return f'{what}: units named that read as theirs: {", ".join(named[f] for f in extra)}'
    now = sorted(os.listdir(ud))
    if now != files:
        return f'{what}: units/ holds {", ".join(sorted(set(now) ^ set(files))[:5])} (added or missing)'
    for f in files:
        data = open(os.path.join(ud, f), 'rb').read()
        if data != orig[f] and f not in harmless:
            return f'{what}: {f} differs from the undamaged run\'s after --resume'
    why = files_equal(dpath, os.path.join(work, 'out'), ['summaries.csv', 'quantiles.csv'])
    if why:
        return f'{what}: tables differ from the undamaged run: {why}'
    shutil.rmtree(dpath + '.damaged')
    shutil.rmtree(dpath)
    log.close()
    os.remove(dpath + '.log')
    return None


def merge(r, cases):
    base = merge_base(r)
    kinds = ['delete', 'dup', 'move', 'rename', 'stray-id', 'stray-file', 'zeros', 'truncate', 'flip',
             'summary-value', 'summary-drop', 'series-value', 'series-short', 'series-all-short',
             'ids', 'params', 'start', 'engine', 'manifest-truncate', 'manifest-edit',
             'manifest-all', 'manifest-name', 'mix', 'twice', 'missing-dir', 'file-as-dir',
             'empty-dir', 'units-file', 'unit-dir', 'empty-unit', 'binary-unit']
    # Damage that leaves every unit present once and intact: the merge must succeed
    # and equal the sweep's own tables.
    # (`zeros`, a unit renamed without its zero padding, is refused since bug 20:
    # only the names wormsim writes are unit files.)
    benign = {'move', 'stray-file', 'manifest-name', 'engine-resealed', 'engine-legacy'}
    # Values changed in a unit whose checksum matches (resealed, or an older unit
    # without one) cannot be told from a run's: a merge that takes them is expected.
    forged = {f'{kd}-{how}' for kd in ('summary-value', 'series-value', 'engine')
              for how in ('resealed', 'legacy')}
    for k in range(cases):
        sw = random.choice(['A', 'A', 'B'])
        dirs = [f'{sw}{j}' for j in range(3)]
        inputs = {}
        for d in dirs:
            inputs.update(load_dir(base, d))
        applied, damaged = [], []
        touched = []  # (index in applied, unit file) of each step that changed a unit
        args_dirs = list(dirs)
        for _ in range(random.choice([1, 1, 1, 2])):
            kind = random.choice(kinds)
            applied.append(kind)
            # Unit files only (not the stray files an earlier step may have added).
            units = sorted(f for f in inputs if re.search(r'/units/\d+\.json$', f))
            if not units:
                continue
            f = random.choice(units)
            d = f.split('/')[0]
            damaged.append(f)
            touched.append((len(applied) - 1, f))
            if kind == 'delete':
                del inputs[f]
            elif kind == 'dup':
                other = random.choice([x for x in dirs if x != d])
                inputs[f'{other}/units/{os.path.basename(f)}'] = inputs[f]
            elif kind == 'move':
                other = random.choice([x for x in dirs if x != d])
                inputs[f'{other}/units/{os.path.basename(f)}'] = inputs.pop(f)
            elif kind == 'rename':
                g = random.choice(units)
                inputs[f], inputs[g] = inputs[g], inputs[f]
            elif kind == 'stray-id':
                inputs[f'{d}/units/{random.choice(["9999999", "0000012", "18446744073709551615"])}.json'] = inputs[f]
            elif kind == 'stray-file':
                inputs[f'{d}/units/' + random.choice(['notes.txt', '.0000001.json.tmp-1', '00x.json',
                                                     '-1.json', '.json', '1.json.bak'])] = b'junk'
            elif kind == 'zeros':
                n = int(os.path.basename(f)[:-5])
                inputs[f'{d}/units/{n}.json'] = inputs.pop(f)
                # The refusal names the renamed file.
                damaged[-1] = f'{d}/units/{n}.json'
            elif kind == 'truncate':
                inputs[f] = inputs[f][:random.randrange(len(inputs[f]))]
            elif kind == 'flip':
                b = bytearray(inputs[f])
                for _ in range(random.choice([1, 2, 8])):
                    i = random.randrange(len(b))
                    b[i] ^= 1 << random.randrange(8)
                inputs[f] = bytes(b)
            elif kind in ('summary-value', 'summary-drop', 'series-value', 'series-short',
                          'series-all-short', 'ids', 'params', 'start', 'engine'):
                # Unit files end with a checksum: an edit under the old one must be
                # refused; a resealed or checksum-less (older layout) edit reaches
                # merge's own checks.
                how = random.choice(['stale', 'stale', 'resealed', 'legacy'])
                e = edit_json(inputs[f], kind, how)
                if e is not None:
                    inputs[f] = e
                    applied[-1] = f'{kind}-{how}'
            elif kind.startswith('manifest'):
                targets = dirs if kind == 'manifest-all' else [random.choice(dirs)]
                for t in targets:
                    m = f'{t}/sweep.json'
                    if m not in inputs:
                        continue
                    if kind == 'manifest-truncate':
                        inputs[m] = inputs[m][:random.randrange(len(inputs[m]))]
                        continue
                    try:
                        v = json.loads(inputs[m])
                        v['identity']['points']
                    except (ValueError, KeyError, TypeError):
                        continue  # damaged by an earlier step
                    if kind == 'manifest-name':
                        v['name'] = random.choice(['renamed', '', 5])
                    else:
                        field = random.choice(['points', 'units', 'replicates', 'params', 'format',
                                               'seed', 'identity'])
                        if field == 'identity':
                            del v['identity']
                        elif field == 'params':
                            v['identity']['params'] = random.choice([[], [['x', 'int']], [[1, 2]], 'x'])
                        elif field == 'format':
                            v['identity']['format'] = 'wormsim-sweep-units/2'
                        else:
                            v['identity'][field] = random.choice([0, 1, 4, 16, -1, 1e30, 'x'])
                    inputs[m] = (json.dumps(v, indent=2) + '\n').encode()
            elif kind == 'mix':
                other = random.choice(['B0', 'C1', 'A0'] if sw == 'A' else ['A1'])
                if other not in args_dirs:
                    inputs.update(load_dir(base, other))
                    args_dirs.append(other)
            elif kind == 'twice':
                args_dirs.append(random.choice(dirs))
            elif kind == 'missing-dir':
                args_dirs.append('nowhere')
            elif kind == 'file-as-dir':
                inputs['plain'] = b'x'
                args_dirs.append('plain')
            elif kind == 'empty-dir':
                inputs['emptyd/.keep'] = b''
                args_dirs.append('emptyd')
            elif kind == 'units-file':
                for u in [u for u in units if u.startswith(d + '/')]:
                    del inputs[u]
                inputs[f'{d}/units'] = b'not a directory'
            elif kind == 'unit-dir':
                del inputs[f]
                inputs[f'{f}/x'] = b''
            elif kind == 'empty-unit':
                inputs[f] = b''
            elif kind == 'binary-unit':
                inputs[f] = bytes(random.randrange(256) for _ in range(200))
        random.shuffle(args_dirs)
        # (An --out that is a file exits 1, as for `wormsim run`: an I/O error.)
        out = random.choice([[], [], ['--out', 'merged'], ['--out', 'A0/units']])
        fmt = random.choice([[], [], ['--format', 'csv,json,parquet'], ['--format', 'json']])
        args = ['merge'] + args_dirs + ['-q'] + out + fmt
        names = tuple(args_dirs) + ('units are missing', 'unit is present', 'units are present')
        one_file = {'truncate', 'flip', 'summary-value', 'summary-drop', 'series-value', 'series-short',
                    'series-all-short', 'ids', 'params', 'start', 'engine', 'empty-unit', 'binary-unit'}
        base_kind = applied[0] if applied[0] in one_file else applied[0].rsplit('-', 1)[0]
        if len(applied) == 1 and damaged and base_kind in one_file and out != ['--out', 'A0/units']:
            # One unit file damaged: a refusal must name that file, not another.
            names = (damaged[0],)
        first = Step(args, names)
        where = out[1] if out else args_dirs[0]
        kinds_here = list(applied)

        # A step that reseals a unit (a fresh checksum, or none) also seals the
        # damage an earlier step did to that file: it cannot be told from a run.
        sealed = {i for i, f in touched
                  if any(j > i and applied[j].endswith(('-resealed', '-legacy')) and g == f
                         for j, g in touched)}

        def check(work, where=where, sw=sw, kinds_here=kinds_here, sealed=sealed):
            csv_out = os.path.join(work, where)
            if not os.path.exists(os.path.join(csv_out, 'summaries.csv')):
                return None if '--format' in args else 'no summaries.csv'
            why = files_equal(csv_out, os.path.join(base, f'full{sw}'), ['summaries.csv', 'quantiles.csv'])
            if why is None:
                return None
            if all(kd in benign for kd in kinds_here):
                return f'merge after {"+".join(kinds_here)} (harmless) differs: {why}'
            if all(kd in benign or kd in forged or i in sealed for i, kd in enumerate(kinds_here)):
                r.notes['forged values merged (expected)'] += 1
                return None
            r.notes['damage accepted: ' + '+'.join(kinds_here)] += 1
            return f'damage accepted ({"+".join(kinds_here)}): {why}'
        r.steps(f'merge-{k}-{"+".join(applied)}', [first], inputs, check)


def slurm(r, cases):
    for k in range(cases):
        text, units = sweep_text(random.random() < 0.3)
        inputs = {'sw.toml': text, 'tiny.toml': tiny_scenario()}
        args = ['slurm-script', 'sw.toml', '--tasks',
                random.choice(['1', '2', '3', '0', '1000000', '-1', str(units or 2), str((units or 2) + 1)])]
        # Odd --partition, --time and --mem values are refused (exit 2, naming the flag);
        # Slurm's own formats must give a script that parses.
        opts = {'--partition': ['gpu', 'a b', "it's", 'x\ntouch slurm-injected', '$(id)', '', 'batch,debug',
                                'gpu,', 'p.1_x-y'],
                '--time': ['01:00:00', '1-00:00', 'x y', '\n', '2-00:00:00', 'infinite', '90', '1:2:3:4',
                           '-1', '1-'],
                '--mem': ['4G', '0', "1'G", '512', '16g', '4GB', '1.5G', '99999999999999999999'],
                '--cpus-per-task': ['1', '0', '4', '-1'],
                '--out': ['o d', 'out/x', "q'uote", 'p%x', 'a#b', '$(id)', 'x\ny', '"dq"'],
                '--wormsim': ['/opt/wormsim', 'w s', 'rel/bin', "/o'p/w", 'w\tb'],
                '--format': ['csv,parquet', 'json', 'xml']}
        for o, vals in opts.items():
            if random.random() < 0.25:
                args += [o, random.choice(vals)]
        args += ['-o', 'job.sbatch']

        def check(work, args=args):
            path = os.path.join(work, 'job.sbatch')
            if not os.path.exists(path):
                return 'exit 0 but no script'
            p = subprocess.run(['bash', '-n', path], capture_output=True, text=True)
            if p.returncode != 0:
                return f'script does not parse: {p.stderr.strip()[-200:]}'
            lines = open(path).read().split('\n')
            head = lines[:lines.index('set -euo pipefail')] if 'set -euo pipefail' in lines else lines
            bad = [line for line in head if line and not line.startswith('#')]
            if bad:
                return f'script header runs commands: {bad[:2]}'
            return None
        r.steps(f'slurm-{k}', [Step(args, ('sw.toml', 'tiny.toml'))], inputs, check)


# --- logs ---

FIXTURES = os.path.join(ROOT, 'crates', 'wormsim', 'tests', 'fixtures', 'logs')
LOG_FIXTURES = ['access_combined.log', 'access_common.log', 'aggregate.log', 'error_log',
                'error_log_24', 'iis_w3c.log']
BAD_TIMES = [b'19/Jul/2001:25:00:00 +0000', b'32/Jul/2001:10:00:00 +0000', b'19/Jux/2001:10:00:00 +0000',
             b'19/Jul/0999:10:00:00 +0000', b'31/Dec/9999:23:59:59 -2359', b'01/Jan/1000:00:00:00 +2359',
             b'29/Feb/2001:10:00:00 +0000', b'29/Feb/2000:10:00:00 +0000', b'19/Jul/2001:10:00:60 +0000',
             b'19/Jul/2001:10:00:00 +9999', b'19/Jul/2001:10:00:00', b'19/Jul/2001:10:00:00 +00:00',
             b'1/Jul/2001:10:00:00 +0000', b'19/Jul/2001:10:00:00.5 +0000']
W3C_TIMES = [b'2001-07-19 25:00:00', b'2001-13-19 10:00:00', b'0999-07-19 10:00:00', b'9999-12-31 23:59:59',
             b'1000-01-01 00:00:00', b'2001-02-29 10:00:00', b'2001-07-19T10:00:00', b'2001-07-19 10:00',
             b'2001-07-19 10:00:00.999']


def damage_log(data):
    """A log with a few lines damaged, deleted, duplicated or added."""
    lines = data.split(b'\n')
    for _ in range(random.choice([0, 1, 2, 3, 6])):
        u = random.random()
        i = random.randrange(len(lines))
        if u < 0.1:
            del lines[i]
        elif u < 0.2:
            lines.insert(i, lines[i])
        elif u < 0.3:
            lines[i] = lines[i][:random.randrange(len(lines[i]) + 1)]
        elif u < 0.4:
            lines.insert(i, bytes(random.randrange(256) for _ in range(random.randint(1, 300))))
        elif u < 0.45:
            lines.insert(i, b'10.0.0.9 - - [19/Jul/2001:10:00:00 +0000] "GET /default.ida?'
                         + b'N' * random.choice([65000, 65536, 70000, 300000]) + b' HTTP/1.0" 404 1')
        elif u < 0.55:
            for old in (re.search(rb'\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}', lines[i]),
                        re.search(rb'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d', lines[i])):
                if old:
                    new = random.choice(BAD_TIMES if b'/' in old.group() else W3C_TIMES)
                    lines[i] = lines[i].replace(old.group(), new)
                    break
        elif u < 0.6:
            lines[i] = lines[i].replace(b'10.0.0.', random.choice(
                [b'256.0.0.', b'::ffff:10.0.0.', b'2001:db8::', b'', b'10.0.0.0.', b'-', b'fe80::1%eth0-']))
        elif u < 0.65:
            lines[i] = lines[i] + b'\r'
        elif u < 0.7:
            lines[i] = lines[i].replace(b' ', b'\t')
        elif u < 0.75:
            lines[i] = lines[i].replace(b'"', b'', 1)
        elif u < 0.8:
            lines.insert(i, random.choice([b'#Fields: date time c-ip', b'#Fields:', b'#Fields: ' + b'x ' * 2000,
                                           b'#Fields: time date c-ip cs-uri-stem', b'#Software: x',
                                           b'#Fields: date time c-ip cs-uri-stem cs-uri-stem']))
        elif u < 0.85:
            b = bytearray(lines[i])
            if b:
                b[random.randrange(len(b))] = random.choice([0, 0xff, 0xc3, ord('"'), ord('['), ord(']')])
            lines[i] = bytes(b)
        elif u < 0.9:
            lines[i] = b'\xef\xbb\xbf' + lines[i]
        else:
            lines.insert(i, random.choice([b'', b' ', b'-', b'[', b']', b'"', b'#']))
    return b'\n'.join(lines)


def log_input():
    u = random.random()
    if u < 0.05:
        return b''
    if u < 0.08:
        return bytes(random.randrange(256) for _ in range(random.randint(1, 5000)))
    names = random.sample(LOG_FIXTURES, random.choice([1, 1, 1, 2]))
    data = b'\n'.join(open(os.path.join(FIXTURES, n), 'rb').read().rstrip(b'\n') for n in names) + b'\n'
    data = damage_log(data)
    if random.random() < 0.15:
        data = data * random.choice([2, 50])
    return data


def gz(data):
    u = random.random()
    z = gzip.compress(data)
    if u < 0.6:
        return z
    if u < 0.75:
        return z[:random.randrange(len(z))]
    if u < 0.85:
        return z + gzip.compress(data)
    if u < 0.9:
        return gzip.compress(z)
    b = bytearray(z)
    b[random.randrange(10, len(b))] ^= 0x10
    return bytes(b)


def read_csv(path):
    with open(path) as fh:
        return list(csv.reader(fh))


def iso(t):
    return datetime.datetime.fromisoformat(t.replace('Z', '+00:00'))


def logs_consistent(out):
    """Why OUT/{series,sources}.csv disagree with each other, or None."""
    series, sources = read_csv(os.path.join(out, 'series.csv')), read_csv(os.path.join(out, 'sources.csv'))
    if series[0] != ['time', 'probes_seen', 'unique_sources', 'new_sources', 'cumulative_sources']:
        return f'series header {series[0]}'
    rows, srcs = series[1:], sources[1:]
    probes = sum(int(x[1]) for x in rows)
    if probes != sum(int(x[3]) for x in srcs):
        return f'series probes {probes} != sources probes {sum(int(x[3]) for x in srcs)}'
    if rows and int(rows[-1][4]) != len(srcs):
        return f'last cumulative_sources {rows[-1][4]} != {len(srcs)} sources'
    if sum(int(x[3]) for x in rows) != len(srcs):
        return 'new_sources do not sum to the sources'
    if len({x[0] for x in srcs}) != len(srcs):
        return 'a source is listed twice'
    for s in srcs:
        if sum(int(c) for c in s[4:8]) != int(s[3]):
            return f'source {s[0]}: classes do not sum to probes'
        if iso(s[1]) > iso(s[2]):
            return f'source {s[0]}: first_seen after last_seen'
    return None


def logs(r, cases):
    for k in range(cases):
        nfiles = random.choice([1, 1, 2, 3])
        inputs, plain = {}, {}
        files = []
        for j in range(nfiles):
            data = log_input()
            name = f'log{j}'
            if random.random() < 0.2:
                inputs[name + '.gz'] = gz(data)
                name += '.gz'
            else:
                inputs[name] = data
                plain[name] = data
            files.append(name)
        u = random.random()
        if u < 0.05:
            files.append(random.choice(['missing.log', '.']))
        elif u < 0.1:
            inputs['adir/x'] = b''
            files.append('adir')
        stdin = None
        if random.random() < 0.08 and files:
            stdin = inputs.get(files[0], b'')
            files[0] = '-'
        args = ['logs'] + files + ['-q', '--out', 'out']
        if random.random() < 0.3:
            args += ['--format', random.choice(['auto', 'common', 'combined', 'error', 'w3c'])]
        if random.random() < 0.3:
            args += ['--bin', random.choice(['1', '60', '3600', '0', '3162240000', '3162240001', '-1', '1.5',
                                             '18446744073709551616', '86400', '7'])]
        if random.random() < 0.2:
            args += ['--error-utc-offset', random.choice(['-07:00', 'Z', '+24:00', '+05:30', 'x',
                                                          '+23:59', '-00:00', '+5:30', '＋05:30'])]

        def check(work, args=args, plain=dict(plain), files=list(files)):
            out = os.path.join(work, 'out')
            why = logs_consistent(out)
            if why:
                return why
            # The same logs gzipped must give the same tables.
            if not plain or '-' in files or random.random() < 0.5:
                return None
            for f in plain:
                with open(os.path.join(work, f + '.gz'), 'wb') as fh:
                    fh.write(gzip.compress(plain[f]))
            gz_args = [a + '.gz' if a in plain else a for a in args]
            gz_args[gz_args.index('--out') + 1] = 'out-gz'
            rc, err, why = r.run_step(work, Step(gz_args, 'log'))
            if why or rc != 0:
                return f'gzipped copy: {why or rc}: {err.strip()[-300:]}'
            r.notes['gzip copies compared'] += 1
            why = files_equal(out, os.path.join(work, 'out-gz'), ['series.csv', 'sources.csv'])
            return f'gzipped copy: {why}' if why else None
        names = tuple(files) + ('--bin',)
        r.steps(f'logs-{k}', [Step(args, names, stdin=stdin)], inputs, check)


# --- ensemble and report ---

def ensemble(r, cases):
    for k in range(cases):
        text = tiny_scenario()
        if random.random() < 0.3:
            text += random.choice(['[output]\nbin = 1\n', '[output]\nbin = 7200\n',
                                   '[defense.patch]\nrate = 2.0\n', '[scenario]\nseed = 5\n',
                                   '[output]\nprobes = "sampled"\n'])
        runs = random.choice(['1', '2', '3', '17', '0', '-1', '1e3', '', '18446744073709551616',
                              '100', '18446744073709551615', '400000000'])
        args = ['ensemble', 's.toml', '--runs', runs, '-q', '--out', 'out']
        threads = random.choice([None, '1', '2', '3', '0', '64', '-1'])
        if threads:
            args += ['--threads', threads]
        if random.random() < 0.4:
            args += ['--seed', random.choice(['0', '18446744073709551615', '-1', 'x', '7', '18446744073709551616'])]
        if random.random() < 0.3:
            args += ['--format', random.choice(['csv,json,parquet', 'json', 'parquet', 'csv,csv', 'xml', '', ','])]
        if random.random() < 0.15:
            args += ['--engine', random.choice(['general', 'reference', 'auto', 'x'])]
        if random.random() < 0.1:
            args += ['--max-memory', random.choice(['1K', '0', '512M', '1X', '100T', '1e3', ''])]
        if random.random() < 0.1:
            args += ['--plot', random.choice(['png', 'svg', 'gif'])]
        if random.random() < 0.1:
            args.append('--report')
        first = Step(args, 's.toml', preflight='--max-memory' in args or runs in (
            '18446744073709551615', '400000000', '18446744073709551616'))
        steps = [first]
        check = None
        if runs in ('1', '2', '3', '17') and random.random() < 0.5:
            other = [a for a in args]
            if '--threads' in other:
                other[other.index('--threads') + 1] = random.choice(['1', '2', '5'])
            else:
                other += ['--threads', random.choice(['1', '5'])]
            other[other.index('--out') + 1] = 'out2'
            steps.append(Step(other, 's.toml', expect=0))

            def check(work):
                r.notes['ensembles compared across --threads'] += 1
                a, b = os.path.join(work, 'out'), os.path.join(work, 'out2')
                names = sorted(f for f in os.listdir(a) if not f.endswith(('.png', '.svg', '.html')))
                return files_equal(a, b, names)
        r.steps(f'ensemble-{k}', steps, {'s.toml': text}, check)


def report_base(r):
    base = os.path.join(r.out, 'report-base')
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    scen = ('[scenario]\nname = "rep"\nstart = 2001-07-19T10:00:00Z\nend = 2001-07-19T16:00:00Z\n'
            'space_bits = 24\n[population]\nmodel = "uniform"\nhosts = 2000\n[worm]\nvariant = "crv2"\n'
            'scan_rate = 40.0\n[observe]\ntelescope = [{name = "t", cidr = "0.0.0.0/12"}]\n')
    with open(os.path.join(base, 'rep.toml'), 'w') as fh:
        fh.write(scen)
    subprocess.run([r.binary, 'run', 'rep.toml', '-q', '--observe', '--out', 'run'], cwd=base, check=True)
    subprocess.run([r.binary, 'fit', 'run/series.csv', '--model', 'rcs', '--no-ci', '--out', 'run/rcs.json'],
                   cwd=base, check=True, capture_output=True)
    subprocess.run([r.binary, 'ensemble', 'rep.toml', '--runs', '5', '-q', '--out', 'ens'], cwd=base, check=True)
    subprocess.run([r.binary, 'run', 'codered-v2-2001-07-19', '--until', '2001-07-21T00:00:00Z', '-q',
                    '--out', 'flood'], cwd=base, check=True)
    return base


def damage_csv(text):
    lines = text.rstrip('\n').split('\n')
    cells = ['', 'nan', 'inf', '-inf', '-1', '0', '1e308', 'x', '2001-07-19T10:00:00Z',
             '2001-13-01T00:00:00Z', '99999999999999999999', '"5"', '1.5', '-0']
    for _ in range(random.choice([1, 1, 2, 5])):
        lines = lines or ['']
        u = random.random()
        i = random.randrange(len(lines))
        if u < 0.5 and i > 0:
            c = lines[i].split(',')
            c[random.randrange(len(c))] = random.choice(cells)
            lines[i] = ','.join(c)
        elif u < 0.6:
            del lines[i]
        elif u < 0.7:
            lines.insert(i, lines[i])
        elif u < 0.8:
            lines = lines[:random.randrange(1, len(lines) + 1)]
        elif u < 0.85:
            lines[0] = random.choice(['time,count', '', 'a,b,c', lines[0].replace('time', 'Time')])
        elif u < 0.9:
            lines = lines[:1] + lines[1:][::-1]
        elif u < 0.95:
            lines[i] = lines[i] + ',extra'
        else:
            lines = [lines[0]]
    return '\n'.join(lines) + '\n'


def report(r, cases):
    base = report_base(r)
    for k in range(cases):
        which = random.choice(['run', 'run', 'ens', 'flood'])
        files = load_dir(base, which)
        inputs = {f.replace(which + '/', 'rundir/', 1): v for f, v in files.items()}
        names = [f for f in inputs if not f.endswith(('.png', '.svg', '.html'))]
        for _ in range(random.choice([1, 1, 2])):
            f = random.choice(names)
            data = inputs[f]
            u = random.random()
            if u < 0.1:
                del inputs[f]
                names.remove(f)
                if not names:
                    break
                continue
            if f.endswith('.csv'):
                inputs[f] = damage_csv(data.decode('utf-8', 'replace')).encode()
            elif u < 0.4:
                inputs[f] = data[:random.randrange(len(data) + 1)]
            elif u < 0.7:
                b = bytearray(data)
                if b:
                    b[random.randrange(len(b))] = random.choice([0, 0xff, ord('"'), ord(','), ord('9')])
                inputs[f] = bytes(b)
            else:
                inputs[f] = random.choice([b'', b'{}', b'[]', b'null', b'\xff\xfe', b'{"seed": -1, "runs": 1e99}'])
        if random.random() < 0.1:
            inputs['rundir/x.fitted.csv'] = random.choice([b'', b'time,observed,fitted,lower,upper\n',
                                                          b'time\n2001-07-19T10:00:00Z\n'])
        out = random.choice([[], ['-o', 'r.html'], ['-o', 'nodir/r.html']])
        r.steps(f'report-{k}-{which}', [Step(['report', 'rundir', '-q'] + out, 'rundir')], inputs)


MODES = {'presets': presets, 'generate': generate, 'checkpoint': checkpoint, 'fit': fit,
         'sweep': sweep, 'merge': merge, 'slurm-script': slurm, 'logs': logs, 'ensemble': ensemble,
         'report': report}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('mode', choices=sorted(MODES))
    ap.add_argument('--cases', type=int, default=200)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--binary', default=os.path.join(ROOT, 'target', 'release', 'wormsim'))
    ap.add_argument('--out', default=None, help='default: target/blackbox/MODE-SEED')
    ap.add_argument('--timeout', type=float, default=60.0, help='seconds per case')
    a = ap.parse_args()
    random.seed(a.seed)
    out = a.out or os.path.join(ROOT, 'target', 'blackbox', f'{a.mode}-{a.seed}')
    r = Runner(os.path.abspath(a.binary), os.path.abspath(out), a.timeout)
    MODES[a.mode](r, a.cases)
    r.report(a.cases)
    sys.exit(1 if r.failures else 0)


if __name__ == '__main__':
    main()
