//! Darknet telescopes and IDS sensors: what a monitored block of addresses sees.
//!
//! A telescope watches a CIDR block `B` (CAIDA's UCSD telescope: a /8, "roughly
//! one out of every 256 packets sent by an Internet worm", codered.md §4.6) and
//! records every probe whose destination falls inside it. It never simulates a
//! probe: a scanning host `h` with rate `r_h` hits `B` as a Poisson process of
//! rate `λ_h = r_h · c_B(h)`, where `c_B(h)` is the chance that one probe lands in
//! `B`:
//!
//! - uniform scanning: `c_B = |B| / 2^space_bits`;
//! - Code Red II: `c_B(h) = [p8·|B∩A(h)∖{a_h}|/2^24 + p16·|B∩B16(h)∖{a_h}|/2^16 +
//!   pu·|B∖(reserved ∪ {a_h})|/2^32] / P_acc` (the same law as the engine's
//!   local-preference model), so a block in a host's own /8 sees it far more
//!   often.
//!
//! The engine pushes every change of a host's rate ([`Event::Rate`]); between two
//! changes, and within each bin, the number of probes seen is Poisson with mean
//! `λ_h · Δt` and, given that number, their times are uniform: so the first and
//! last sighting of each source, its probe count, and the per-bin counts are
//! drawn exactly, from the `observe` stream, without touching the outbreak.
//!
//! **DHCP churn** (CAIDA: "IP addresses are not an accurate measure of the spread
//! of a worm on timescales longer than 24 hours", §4.6): a fraction of hosts get a
//! new address (a random one in their /16) at a Poisson rate; each address is a
//! separate source, so unique addresses over days exceed hosts.
//!
//! **CRv1** (sequence scanning) is deterministic: the engine reports each
//! runner's trajectory ([`Event::Runner`]), and the telescope counts the
//! probes whose sequence positions fall in the block (sorted positions of the
//! block's addresses, binary search per bin), exactly the literal probes.
//!
//! Not modelled here, and refused with [`ObserveError::Unsupported`]: DHCP
//! churn with CRv1, congestion, permutation
//! scanning, PRNG subsets and the throttle. Hit-list probes (aimed at listed
//! vulnerable hosts, never at a darknet) are not reported; probes that filters
//! drop (containment) are not seen, as the telescope sits beyond the filters.

use crate::engine::sequence::Sequence;
use crate::engine::{Event, Observer, RunnerMove, View};
use crate::population::{Population, fmt_addr, generate::block_levels};
use crate::rng::Rng;
use crate::scenario::{ObserveSpec, ScanStrategy, Scenario};
use crate::time::SimTime;
use rand::{Rng as _, RngExt};
use rand_distr::{Distribution, Poisson};
use std::collections::HashMap;

/// Columns of a telescope series: the same schema as `wormsim logs`.
pub const TELESCOPE_COLUMNS: [&str; 5] = crate::logs::SERIES_COLUMNS;
/// Columns of a telescope's per-source table.
pub const SOURCE_COLUMNS: [&str; 4] = ["source", "first_seen", "last_seen", "probes"];

/// One bin of a telescope series (`time` is the bin's start): the same row
/// as a web-log series.
pub type TelescopeRow = crate::logs::SeriesRow;

/// One source address seen by a telescope.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceRecord {
    pub addr: u32,
    pub first_seen: f64,
    pub last_seen: f64,
    pub probes: u64,
    last_bin: usize,
}

/// One monitored block.
pub struct Telescope {
    pub name: String,
    pub base: u32,
    pub len: u8,
    coef: Vec<f64>,
    probes: Vec<u64>,
    unique: Vec<u64>,
    new: Vec<u64>,
    sources: HashMap<u32, SourceRecord>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Host {
    /// Scan rate [probes/s].
    rate: f64,
    /// Time up to which its probes have been accounted for.
    since: f64,
    /// Current source address.
    addr: u32,
    /// Next address change (churning hosts), or +inf.
    next_churn: f64,
}

impl Telescope {
    /// `n` probes from `addr` in bin `bin`, the first and last at these times.
    fn record(&mut self, addr: u32, bin: usize, n: u64, first: f64, last: f64) {
        self.probes[bin] += n;
        match self.sources.get_mut(&addr) {
            Some(s) => {
                s.probes += n;
                s.first_seen = s.first_seen.min(first);
                s.last_seen = s.last_seen.max(last);
                if s.last_bin != bin {
                    s.last_bin = bin;
                    self.unique[bin] += 1;
                }
            }
            None => {
                self.sources.insert(
                    addr,
                    SourceRecord {
                        addr,
                        first_seen: first,
                        last_seen: last,
                        probes: n,
                        last_bin: bin,
                    },
                );
                self.unique[bin] += 1;
                self.new[bin] += 1;
            }
        }
    }
}

/// All of a scenario's telescopes, as one observer.
pub struct Telescopes {
    pub telescopes: Vec<Telescope>,
    start: f64,
    end: f64,
    bin: f64,
    n_bins: usize,
    hosts: Vec<Host>,
    churn_rate: f64,
    rng: Rng,
    local: Option<(f64, f64)>,
    space_bits: u8,
    addrs: Vec<u32>,
    /// CRv1 (sequence scanning): sightings follow the runners' walks.
    seq: Option<SeqView>,
}

/// What a telescope needs to follow CRv1's fixed order: per telescope, the
/// sorted sequence positions of its block's addresses, and every moving
/// runner's current trajectory.
struct SeqView {
    m: u64,
    positions: Vec<Vec<u32>>,
    /// Each moving runner's trajectory and the time up to which its probes
    /// are accounted for.
    runners: HashMap<u32, (RunnerMove, f64)>,
    /// Every runner is accounted for up to here (a bin start), so bins fill in
    /// time order and a source's unique and new counts are right.
    flushed_to: f64,
}

impl SeqView {
    /// Positions `p` of block `k` with `p ∈ [0, x)`.
    fn below(&self, k: usize, x: u64) -> u64 {
        self.positions[k].partition_point(|&p| u64::from(p) < x) as u64
    }

    /// Block positions among the `len` consecutive positions from `start`
    /// (wrapping, possibly several times).
    fn count(&self, k: usize, start: u64, len: u64) -> u64 {
        let all = self.positions[k].len() as u64;
        let (full, rem) = (len / self.m, len % self.m);
        let end = start + rem;
        let part = if end <= self.m {
            self.below(k, end) - self.below(k, start)
        } else {
            all - self.below(k, start) + self.below(k, end - self.m)
        };
        full * all + part
    }

    /// Steps from position `p` forward to the next block position (0 if `p` is one).
    fn ahead(&self, k: usize, p: u64) -> u64 {
        let v = &self.positions[k];
        let i = self.below(k, p) as usize;
        if i < v.len() {
            u64::from(v[i]) - p
        } else {
            u64::from(v[0]) + self.m - p
        }
    }

    /// Steps from position `p` back to the previous block position (0 if `p` is one).
    fn behind(&self, k: usize, p: u64) -> u64 {
        let v = &self.positions[k];
        let i = self.below(k, p + 1) as usize;
        if i > 0 {
            p - u64::from(v[i - 1])
        } else {
            p + self.m - u64::from(v[v.len() - 1])
        }
    }
}

/// Why a scenario cannot be observed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ObserveError {
    #[error("the telescope does not model {0}; remove --observe or change the scenario")]
    Unsupported(&'static str),
}

impl Telescopes {
    /// Telescopes for `s` over `population`, drawing from `rng` (the `observe`
    /// stream: the outbreak never sees these draws).
    ///
    /// # Errors
    /// DHCP churn with sequence scanning, congestion, permutation scanning,
    /// PRNG subsets and the throttle are not modelled.
    pub fn new(
        s: &Scenario,
        population: &Population,
        mut rng: Rng,
    ) -> Result<Telescopes, ObserveError> {
        let sequence = match s.worm.scan {
            ScanStrategy::Sequence(sq) => Some(sq),
            _ => None,
        };
        if sequence.is_some() && s.observe.dhcp_fraction > 0.0 {
            return Err(ObserveError::Unsupported(
                "DHCP churn with CRv1's fixed scan order (sequence scanning); set observe.dhcp_fraction = 0",
            ));
        }
        if s.network.congestion != crate::scenario::Congestion::None {
            return Err(ObserveError::Unsupported("congestion"));
        }
        if matches!(s.worm.scan, ScanStrategy::Permutation(_)) {
            return Err(ObserveError::Unsupported(
                "permutation scanning (its probes walk a fixed order, not a Poisson stream)",
            ));
        }
        if s.worm.prng_subsets > 1 {
            return Err(ObserveError::Unsupported(
                "PRNG subsets (a confined host does not hit a block in proportion to its size)",
            ));
        }
        if s.containment.throttle.is_some() {
            return Err(ObserveError::Unsupported(
                "the throttle (throttled probes are sent one by one, not as a rate)",
            ));
        }
        let o: &ObserveSpec = &s.observe;
        let n_bins = (s.duration() / o.bin).ceil().max(1.0) as usize;
        let n = population.len();
        let hosts = population
            .addrs()
            .iter()
            .map(|&addr| {
                let churns = o.dhcp_fraction > 0.0 && rng.random::<f64>() < o.dhcp_fraction;
                let next_churn = if churns && o.dhcp_rate > 0.0 {
                    s.start.secs() + crate::engine::exp1(&mut rng) / o.dhcp_rate
                } else {
                    f64::INFINITY
                };
                Host {
                    rate: 0.0,
                    since: s.start.secs(),
                    addr,
                    next_churn,
                }
            })
            .collect();
        let local = match s.worm.scan {
            ScanStrategy::LocalPreference(lp) => Some((lp.same_slash8, lp.same_slash16)),
            _ => None,
        };
        let telescopes = o
            .telescopes
            .iter()
            .map(|t| Telescope {
                name: t.name.clone(),
                base: t.base,
                len: t.len,
                coef: vec![f64::NAN; n],
                probes: vec![0; n_bins],
                unique: vec![0; n_bins],
                new: vec![0; n_bins],
                sources: HashMap::new(),
            })
            .collect();
        let seq = sequence.map(|sq| {
            let order = Sequence::new(s.space_bits, sq.key);
            let positions = o
                .telescopes
                .iter()
                .map(|t| {
                    let size = 1u64 << (s.space_bits - t.len);
                    let mut v: Vec<u32> = (0..size)
                        .map(|i| order.pos_of((u64::from(t.base) + i) as u32) as u32)
                        .collect();
                    v.sort_unstable();
                    v
                })
                .collect();
            SeqView {
                m: order.len(),
                positions,
                runners: HashMap::new(),
                flushed_to: s.start.secs(),
            }
        });
        Ok(Telescopes {
            seq,
            telescopes,
            start: s.start.secs(),
            end: s.end.secs(),
            bin: o.bin,
            n_bins,
            hosts,
            churn_rate: o.dhcp_rate,
            rng,
            local,
            space_bits: s.space_bits,
            addrs: population.addrs().to_vec(),
        })
    }

    /// The chance that one probe of host `h` lands in `[base, base + 2^(bits-len))`.
    fn coefficient(&self, base: u32, len: u8, h: usize) -> f64 {
        let bits = self.space_bits;
        let size = 2f64.powi((bits - len) as i32);
        let omega = 2f64.powi(bits as i32);
        let Some((p8, p16)) = self.local else {
            return size / omega;
        };
        let own = self.addrs[h] as u64;
        let (la, lb) = block_levels(bits);
        let lo = base as u64;
        let hi = lo + (1u64 << (bits - len));
        let own_in = own >= lo && own < hi;
        // |B ∩ prefix(own, l)| for a prefix of length l.
        let overlap = |l: u8| -> f64 {
            let plo = own >> (bits - l) << (bits - l);
            let phi = plo + (1u64 << (bits - l));
            (hi.min(phi).saturating_sub(lo.max(plo))) as f64
        };
        let self_out = if own_in { 1.0 } else { 0.0 };
        let reserved = |lo: u64, hi: u64| -> f64 {
            if bits != 32 {
                return 0.0;
            }
            let r = |a: u64, b: u64| (hi.min(b).saturating_sub(lo.max(a))) as f64;
            r(127 << 24, 128 << 24) + r(224 << 24, 1 << 32)
        };
        let pu = 1.0 - p8 - p16;
        let n8 = 2f64.powi((bits - la) as i32);
        let n16 = 2f64.powi((bits - lb) as i32);
        let res_all = if bits == 32 {
            33.0 * 2f64.powi(24)
        } else {
            0.0
        };
        let p_acc = 1.0 - p8 / n8 - p16 / n16 - pu * (res_all + 1.0) / omega;
        let m8 = (overlap(la) - self_out).max(0.0);
        let m16 = (overlap(lb) - self_out).max(0.0);
        let mu = (size - reserved(lo, hi) - self_out).max(0.0);
        (p8 * m8 / n8 + p16 * m16 / n16 + pu * mu / omega) / p_acc
    }

    fn bin_of(&self, t: f64) -> usize {
        // (`as usize` truncates and saturates, negatives and NaN to 0: the same
        // as `floor().max(0.0)` first, without the call to `floor`.)
        (((t - self.start) / self.bin) as usize).min(self.n_bins - 1)
    }

    /// The bin `[edge(k), edge(k+1))` holding `t`, `edge(k) = start + k·bin`,
    /// and its end; the last bin ends at `+∞`, so the end is always after `t`.
    /// With a bin that is not a binary fraction (416.6 s) the quotient of `t`
    /// at an edge can round below it: the edges decide, so a loop stepping
    /// from one bin's end to the next always moves on (it once spun forever).
    fn bin_span(&self, t: f64) -> (usize, f64) {
        let mut k = self.bin_of(t);
        let edge = |k: usize| self.start + (k as f64 + 1.0) * self.bin;
        while k + 1 < self.n_bins && edge(k) <= t {
            k += 1;
        }
        if k + 1 < self.n_bins {
            (k, edge(k))
        } else {
            (k, f64::INFINITY)
        }
    }

    /// Account for host `h`'s probes from its `since` to `until` at its current rate.
    fn flush(&mut self, h: usize, until: f64) {
        let until = until.min(self.end);
        let mut a = self.hosts[h].since;
        if until <= a {
            return;
        }
        let rate = self.hosts[h].rate;
        while a < until {
            // The next piece: up to the bin's end, the next address change, or `until`.
            let (bin, b_bin) = self.bin_span(a);
            let churn = self.hosts[h].next_churn;
            let b = until
                .min(b_bin)
                .min(if churn > a { churn } else { f64::INFINITY });
            if rate > 0.0 {
                self.piece(h, bin, a, b, rate);
            }
            if churn <= b {
                self.churn(h);
            }
            a = b;
        }
        self.hosts[h].since = until;
    }

    fn churn(&mut self, h: usize) {
        let host = &mut self.hosts[h];
        let low_bits = (self.space_bits / 2) as u32;
        let keep = host.addr >> low_bits << low_bits;
        let low = (self.rng.next_u32() as u64 & ((1u64 << low_bits) - 1)) as u32;
        host.addr = keep | low;
        host.next_churn += crate::engine::exp1(&mut self.rng) / self.churn_rate;
    }

    /// Host `h` probes at `rate` over `[a, b)` inside bin `bin`, from one address.
    fn piece(&mut self, h: usize, bin: usize, a: f64, b: f64, rate: f64) {
        let addr = self.hosts[h].addr;
        for k in 0..self.telescopes.len() {
            if self.telescopes[k].coef[h].is_nan() {
                let (base, len) = (self.telescopes[k].base, self.telescopes[k].len);
                self.telescopes[k].coef[h] = self.coefficient(base, len, h);
            }
            let mean = rate * self.telescopes[k].coef[h] * (b - a);
            if mean <= 0.0 {
                continue;
            }
            let n = Poisson::new(mean)
                .expect("finite positive mean")
                .sample(&mut self.rng) as u64;
            if n == 0 {
                continue;
            }
            // Given n, the times are uniform on [a, b). The first is their
            // minimum; given it, the other n − 1 are uniform on [first, b), and
            // the last is their maximum (the first itself when n = 1).
            let u1: f64 = self.rng.random();
            let first = a + (b - a) * (1.0 - (1.0 - u1).powf(1.0 / n as f64));
            let u2: f64 = self.rng.random();
            let last = if n == 1 {
                first
            } else {
                first + (b - first) * u2.powf(1.0 / (n - 1) as f64)
            };
            self.telescopes[k].record(addr, bin, n, first, last);
        }
    }

    /// Account for a CRv1 runner's probes along trajectory `mv` up to `until`:
    /// probe `j` (sent when the progress reaches `j + 1`) lands in a block iff
    /// its sequence position does, so counts and sighting times are exact and
    /// deterministic given the trajectory.
    fn flush_runner(&mut self, mv: RunnerMove, from: f64, until: f64) {
        let Some(view) = self.seq.take() else {
            return;
        };
        let until = until.min(self.end);
        let mut a = from.max(mv.t0).max(self.start);
        let addr = self.addrs[mv.host as usize];
        while mv.speed > 0.0 && a < until {
            let (bin, bin_end) = self.bin_span(a);
            let b = until.min(bin_end);
            let xa = mv.x0 + mv.speed * (a - mv.t0);
            let xb = mv.x0 + mv.speed * (b - mv.t0);
            // Probes j sent in [a, b): j + 1 in [xa, xb) (j >= 0); the last
            // piece also takes a probe at the end itself, as the engines do.
            let j0 = (xa.ceil() - 1.0).max(0.0);
            let j1 = if b >= self.end {
                xb.floor() - 1.0
            } else {
                xb.ceil() - 2.0
            };
            if j1 >= j0 {
                let (j0, j1) = (j0 as u64, j1 as u64);
                let len = j1 - j0 + 1;
                let p0 = (mv.offset + j0 % view.m) % view.m;
                let p1 = (mv.offset + j1 % view.m) % view.m;
                for k in 0..self.telescopes.len() {
                    let n = view.count(k, p0, len);
                    if n == 0 {
                        continue;
                    }
                    let first_j = j0 + view.ahead(k, p0);
                    let last_j = j1 - view.behind(k, p1);
                    let time = |j: u64| mv.t0 + (j as f64 + 1.0 - mv.x0) / mv.speed;
                    let (first, last) = (time(first_j).max(a), time(last_j).min(b));
                    self.telescopes[k].record(addr, bin, n, first, last);
                }
            }
            a = b;
        }
        self.seq = Some(view);
    }

    /// Account for every moving runner up to `t` (CRv1), one bin at a time
    /// across all runners, so that a source's bins fill in time order.
    fn catch_up(&mut self, t: f64) {
        loop {
            let Some(view) = &self.seq else {
                return;
            };
            let from = view.flushed_to;
            if t <= from {
                return;
            }
            let edge = self.bin_span(from).1.min(t);
            // The order does not matter: within a bin, counts add and first and
            // last sightings are a min and a max.
            let moving: Vec<(RunnerMove, f64)> = view.runners.values().copied().collect();
            for (mv, since) in moving {
                self.flush_runner(mv, since, edge);
            }
            if let Some(view) = &mut self.seq {
                for e in view.runners.values_mut() {
                    e.1 = e.1.max(edge);
                }
                view.flushed_to = edge;
            }
        }
    }

    /// Account for every host up to the end. Call once, after the run.
    pub fn finish(&mut self) {
        if self.seq.is_some() {
            self.catch_up(self.end);
            return;
        }
        for h in 0..self.hosts.len() {
            self.flush(h, self.end);
        }
    }

    /// The series of telescope `k`.
    pub fn series(&self, k: usize) -> Vec<TelescopeRow> {
        let t = &self.telescopes[k];
        let mut cum = 0;
        (0..self.n_bins)
            .map(|i| {
                cum += t.new[i];
                TelescopeRow {
                    time: SimTime(self.start + i as f64 * self.bin),
                    probes_seen: t.probes[i],
                    unique_sources: t.unique[i],
                    new_sources: t.new[i],
                    cumulative_sources: cum,
                }
            })
            .collect()
    }

    /// The sources of telescope `k`, by address.
    pub fn sources(&self, k: usize) -> Vec<SourceRecord> {
        let mut v: Vec<SourceRecord> = self.telescopes[k].sources.values().cloned().collect();
        v.sort_by_key(|s| s.addr);
        v
    }

    /// A telescope's block as CIDR text.
    pub fn cidr(&self, k: usize) -> String {
        let t = &self.telescopes[k];
        format!("{}/{}", fmt_addr(t.base), t.len + 32 - self.space_bits)
    }
}

impl Observer for Telescopes {
    const NEEDS_HOSTS: bool = true;
    const EVENT_VIEW: bool = false;
    const RATE_EVENTS: bool = true;
    const CRASH_INFECTORS: bool = false;
    const INSTANCE_HOSTS: bool = false;

    fn event(&mut self, e: &Event, _v: &View) {
        match *e {
            Event::Runner { mv, .. } => {
                if self.seq.is_none() {
                    return;
                }
                let t = mv.t0;
                // Bins before the current one are complete for every runner.
                let (bin, _) = self.bin_span(t);
                let bin_start = self.start + bin as f64 * self.bin;
                self.catch_up(bin_start);
                let Some(view) = &mut self.seq else {
                    return;
                };
                let old = if mv.alive {
                    view.runners.insert(mv.id, (mv, t))
                } else {
                    view.runners.remove(&mv.id)
                };
                if let Some((old, since)) = old {
                    self.flush_runner(old, since, t);
                }
            }
            Event::Rate { t, host, rate } if self.seq.is_none() => {
                let h = host as usize;
                self.flush(h, t.secs());
                self.hosts[h].rate = rate;
            }
            _ => {}
        }
    }
}
