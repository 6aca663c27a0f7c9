#!/usr/bin/env python3
"""Black-box input campaign against the release `wormsim` binary.

Where the cargo-fuzz targets feed one parser in process, this drives whole
commands the way a user does, with inputs a user could write: presets with
values changed, deleted or duplicated (`presets`); random but coherent
scenarios that combine the optional mechanisms (`generate`); damaged
checkpoints (`checkpoint`); damaged series for `wormsim fit` (`fit`).

Every case must end with exit 0, or exit 2 and an `error:` line that names
the input file (or the flag), with nothing written. Anything else (another
exit code, a panic, an abort, a run over the time limit) is kept with its
input and stderr under OUT/failures/ and printed. A case over the time limit
may be a scenario that is legitimately expensive (events are inherent to the
model: a scan rate 650 times the preset's), so read those before calling them
bugs. Runs under `ulimit -v` (8 GB) so that a runaway allocation shows.

    cargo build --release -p wormsim-cli
    python3 fuzz/blackbox/campaign.py presets --cases 1000 --seed 3
    python3 fuzz/blackbox/campaign.py generate --cases 500 --seed 2

Recorded campaigns: FUZZING.md.
"""
import argparse
import collections
import os
import random
import re
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


class Runner:
    def __init__(self, binary, out, timeout):
        self.binary, self.out, self.timeout = binary, out, timeout
        self.counts = collections.Counter()
        self.failures = 0
        os.makedirs(out, exist_ok=True)

    def case(self, name, args, inputs, names_input):
        """Run `wormsim ARGS` on INPUTS ({file name: bytes or str}) in a fresh directory."""
        work = os.path.join(self.out, 'work')
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        for f, data in inputs.items():
            mode = 'wb' if isinstance(data, bytes) else 'w'
            with open(os.path.join(work, f), mode) as fh:
                fh.write(data)
        cmd = 'ulimit -v 8000000; exec ' + ' '.join([self.binary] + args)
        try:
            p = subprocess.run(['bash', '-c', cmd], cwd=work, capture_output=True,
                               text=True, timeout=self.timeout)
            rc, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            rc, err = 'timeout', ''
        self.counts[rc] += 1
        why = None
        if rc not in (0, 2):
            why = f'exit {rc}'
        elif 'panicked' in err:
            why = 'panic'
        elif rc == 2 and not (names_input in err or err.startswith('error: --')
                              or 'memory preflight' in err):
            why = f'error does not name {names_input}'
        elif rc == 2 and os.path.isdir(os.path.join(work, 'out')) \
                and os.listdir(os.path.join(work, 'out')):
            why = 'output written on error'
        if why:
            self.failures += 1
            keep = os.path.join(self.out, 'failures', name)
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(work, keep)
            with open(os.path.join(keep, 'why.txt'), 'w') as fh:
                fh.write(f'{why}\nwormsim {" ".join(args)}\n\n{err[-4000:]}')
            last = err.strip().split('\n')[-1][:200] if err.strip() else ''
            print(f'{name}: {why}: {last}', flush=True)

    def report(self, cases):
        exits = ', '.join(f'{k}: {v}' for k, v in sorted(self.counts.items(), key=str))
        print(f'{cases} cases ({exits}); {self.failures} kept under {self.out}/failures')


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('mode', choices=['presets', 'generate', 'checkpoint', 'fit'])
    ap.add_argument('--cases', type=int, default=200)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--binary', default=os.path.join(ROOT, 'target', 'release', 'wormsim'))
    ap.add_argument('--out', default=None, help='default: target/blackbox/MODE-SEED')
    ap.add_argument('--timeout', type=float, default=60.0, help='seconds per case')
    a = ap.parse_args()
    random.seed(a.seed)
    out = a.out or os.path.join(ROOT, 'target', 'blackbox', f'{a.mode}-{a.seed}')
    r = Runner(os.path.abspath(a.binary), os.path.abspath(out), a.timeout)
    {'presets': presets, 'generate': generate, 'checkpoint': checkpoint, 'fit': fit}[a.mode](r, a.cases)
    r.report(a.cases)
    sys.exit(1 if r.failures else 0)


if __name__ == '__main__':
    main()
