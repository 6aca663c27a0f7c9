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
//! Not modelled here, and refused with [`ObserveError::Unsupported`]: CRv1's
//! fixed scan order (its hits are deterministic), congestion, permutation
//! scanning, PRNG subsets and the throttle. Hit-list probes (aimed at listed
//! vulnerable hosts, never at a darknet) are not reported; probes that filters
//! drop (containment) are not seen, as the telescope sits beyond the filters.

use crate::engine::{Event, Observer, View};
use crate::population::{Population, fmt_addr, generate::block_levels};
use crate::rng::Rng;
use crate::scenario::{ObserveSpec, ScanStrategy, Scenario};
use crate::time::SimTime;
use rand::{Rng as _, RngExt};
use rand_distr::{Distribution, Poisson};
use std::collections::HashMap;

/// Columns of a telescope series (the same schema as `wormsim logs`).
pub const TELESCOPE_COLUMNS: [&str; 5] = [
    "time",
    "probes_seen",
    "unique_sources",
    "new_sources",
    "cumulative_sources",
];
/// Columns of a telescope's per-source table.
pub const SOURCE_COLUMNS: [&str; 4] = ["source", "first_seen", "last_seen", "probes"];

/// One bin of a telescope series; `time` is the bin's start.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TelescopeRow {
    pub time: SimTime,
    pub probes_seen: u64,
    pub unique_sources: u64,
    pub new_sources: u64,
    pub cumulative_sources: u64,
}

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
    /// Sequence scanning, congestion, permutation scanning, PRNG subsets and
    /// the throttle are not modelled.
    pub fn new(
        s: &Scenario,
        population: &Population,
        mut rng: Rng,
    ) -> Result<Telescopes, ObserveError> {
        if matches!(s.worm.scan, ScanStrategy::Sequence(_)) {
            return Err(ObserveError::Unsupported(
                "CRv1's fixed scan order (sequence scanning)",
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
        Ok(Telescopes {
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
        (((t - self.start) / self.bin).floor().max(0.0) as usize).min(self.n_bins - 1)
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
            let b_bin = self.start + (self.bin_of(a) as f64 + 1.0) * self.bin;
            let churn = self.hosts[h].next_churn;
            let b = until
                .min(b_bin)
                .min(if churn > a { churn } else { f64::INFINITY });
            if rate > 0.0 {
                self.piece(h, a, b, rate);
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

    /// Host `h` probes at `rate` over `[a, b)` inside one bin, from one address.
    fn piece(&mut self, h: usize, a: f64, b: f64, rate: f64) {
        let bin = self.bin_of(a);
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
            let t = &mut self.telescopes[k];
            t.probes[bin] += n;
            match t.sources.get_mut(&addr) {
                Some(s) => {
                    s.probes += n;
                    s.first_seen = s.first_seen.min(first);
                    s.last_seen = s.last_seen.max(last);
                    if s.last_bin != bin {
                        s.last_bin = bin;
                        t.unique[bin] += 1;
                    }
                }
                None => {
                    t.sources.insert(
                        addr,
                        SourceRecord {
                            addr,
                            first_seen: first,
                            last_seen: last,
                            probes: n,
                            last_bin: bin,
                        },
                    );
                    t.unique[bin] += 1;
                    t.new[bin] += 1;
                }
            }
        }
    }

    /// Account for every host up to the end. Call once, after the run.
    pub fn finish(&mut self) {
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

    fn event(&mut self, e: &Event, _v: &View) {
        if let Event::Rate { t, host, rate } = *e {
            let h = host as usize;
            self.flush(h, t.secs());
            self.hosts[h].rate = rate;
        }
    }
}
