//! Containment in the exact engine: which probes the network drops.
//!
//! A probe from host `h` at time `t` is dropped with probability
//! `d_h(t) = 1 − (1 − f_h(t))·(1 − e_h(t))`, independently of every other
//! probe (thinning):
//! - `f_h(t) = c` (the coverage: the fraction of probe paths that cross a
//!   filtering point) if the filters drop `h`'s probes at `t`: with address
//!   blacklisting, from `h`'s first infection plus the reaction time on; with
//!   content filtering, from the onset (scenario start) plus the reaction time
//!   on; else 0;
//! - `e_h(t) = 1` if `h` sits behind an egress filter and egress filtering has
//!   started, else 0.
//!
//! For the aggregate scan models (uniform, local preference, subsets) this is
//! a change of rate: host `h` infects at `r_h·(1 − d_h)`, so its weight is
//! scaled (rounded to whole rate units). `d_h` changes only at scheduled
//! events (a host is blacklisted) and breakpoints (filters or egress switch
//! on), where the engine refreshes the weights: exact by memorylessness.
//! Deterministic probes (hit lists, permutation runners, throttle ticks) are
//! kept or dropped one by one, with a draw from stream `containment`.

use crate::rng::Rng;
use crate::scenario::{ContainmentSpec, FilterStrategy, Scenario};
use rand::RngExt;

pub(super) struct Containment {
    coverage: f64,
    blacklist: bool,
    /// Content filters are dropping.
    pub content_on: bool,
    /// Hosts on the blacklist (address blacklisting).
    blocked: Vec<bool>,
    egress: Vec<bool>,
    pub egress_on: bool,
    pub rng: Rng,
}

impl Containment {
    pub fn new(s: &Scenario, egress: Vec<bool>, n: usize, rng: Rng) -> Containment {
        let c: &ContainmentSpec = &s.containment;
        let (coverage, blacklist, content) = match c.filter {
            Some(f) => (
                f.coverage,
                f.strategy == FilterStrategy::AddressBlacklist,
                f.strategy == FilterStrategy::ContentFilter,
            ),
            None => (0.0, false, false),
        };
        Containment {
            coverage,
            blacklist,
            content_on: content && c.filter.is_some_and(|f| f.reaction == 0.0),
            blocked: if blacklist {
                vec![false; n]
            } else {
                Vec::new()
            },
            egress,
            egress_on: c.egress.is_some_and(|e| e.from <= s.start),
            rng,
        }
    }

    pub fn block(&mut self, h: u32) {
        self.blocked[h as usize] = true;
    }

    /// Probability that a probe of `h` is dropped now.
    pub fn drop_prob(&self, h: u32) -> f64 {
        let i = h as usize;
        let filtered = self.content_on || (self.blacklist && self.blocked[i]);
        let f = if filtered { self.coverage } else { 0.0 };
        let e = self.egress_on && self.egress.get(i).copied().unwrap_or(false);
        if e { 1.0 } else { f }
    }

    /// `h`'s weight with its dropped probes taken out [rate units].
    pub fn scale(&self, h: u32, w: u64) -> u64 {
        let d = self.drop_prob(h);
        if d == 0.0 {
            w
        } else {
            (w as f64 * (1.0 - d)).round() as u64
        }
    }

    /// Draw whether one probe of `h` is dropped.
    pub fn dropped(&mut self, h: u32) -> bool {
        let d = self.drop_prob(h);
        d > 0.0 && (d >= 1.0 || self.rng.random::<f64>() < d)
    }
}
