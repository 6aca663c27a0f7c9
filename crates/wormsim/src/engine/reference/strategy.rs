//! The mechanisms beyond Code Red in the per-probe reference, each the
//! literal way: every probe is sent, logged (on request), kept or dropped by
//! its own draw, and looked up in the address table.
//!
//! - **Hit list**: a holder sends probe `j` of its list at `t₀ + (j+1)/q`; a
//!   probe that infects hands the target the upper half of what is left.
//! - **Permutation**: each probe of a runner is a queue item one `1/r` after
//!   the last, to the next position of the shared permutation; meeting an
//!   infected host (outside its partition range) makes the runner jump to a
//!   uniform position.
//! - **Throttle**: a throttled uniform scanner sends one probe per tick of its
//!   clock, tick `j` at `t₀ + j/q`, `q = min(r_h, k)`, to a uniform address.
//! - **PRNG subsets**: a probe goes to a uniform address of the host's subset.
//! - **Containment**: each probe of a host is dropped with probability `c`
//!   while the filters drop that host's probes, and always behind an active
//!   egress filter.
//! - **Payload**: the host crashes `K·C/q` after its infection, `K` geometric.

use super::super::extras::{Extras, Subsets};
use super::super::sequence::Sequence;
use super::{Due, Item, Reference};
use crate::engine::{Clear, Event, HostState, NO_HOST, Observer};
use crate::scenario::{
    Congestion, FilterSpec, FilterStrategy, PayloadSpec, PermutationSpec, PermutationStart,
    ScanStrategy, Scenario,
};
use crate::time::SimTime;
use rand::{Rng as _, RngExt};
use std::collections::BTreeMap;

/// A probe as the reference sent it (see [`Reference::enable_probe_log`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SentProbe {
    /// When it was sent [s since epoch].
    pub t: f64,
    pub host: u32,
    pub addr: u32,
    /// Whether the network dropped it.
    pub dropped: bool,
}

/// A queue item of these mechanisms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum ExtDue {
    HitProbe,
    PermProbe(u32),
    Tick,
    Blocked,
    Crash,
}

impl Due {
    /// A probe of a hit list, permutation runner or throttle clock.
    pub(super) fn is_ext_probe(&self) -> bool {
        matches!(
            self,
            Due::Ext(ExtDue::HitProbe | ExtDue::PermProbe(_) | ExtDue::Tick)
        )
    }
}

struct Hold {
    list: Vec<u32>,
    next: usize,
    t0: f64,
    q: f64,
}

#[derive(Clone, Copy, Default)]
struct PermRun {
    base: u64,
    range: u64,
    /// Index of the next probe.
    k: u64,
    version: u32,
    alive: bool,
    met: u32,
}

#[derive(Clone, Copy, Default)]
struct Clock {
    t0: f64,
    q: f64,
    j: u64,
}

pub(super) struct Ext {
    pub active: bool,
    hit_rate: f64,
    hit_split: bool,
    chunks: BTreeMap<u32, Vec<u32>>,
    holds: BTreeMap<u32, Hold>,
    /// Hosts whose probes are not random Gillespie probes (hit list, throttle).
    held: Vec<bool>,
    /// Infected hosts that are held.
    pub held_infected: usize,
    subsets: Option<Subsets>,
    scan_class: Vec<u32>,
    throttle: Option<f64>,
    throttled: Vec<bool>,
    clocks: Vec<Clock>,
    perm: Option<PermutationSpec>,
    order: Option<Sequence>,
    runs: Vec<PermRun>,
    seeds: u64,
    seeds_started: u64,
    payload: Option<PayloadSpec>,
    filter: Option<FilterSpec>,
    blocked: Vec<bool>,
    content_at: Option<SimTime>,
    content_on: bool,
    egress: Vec<bool>,
    egress_at: Option<SimTime>,
    egress_on: bool,
    pub probe_log: Option<Vec<SentProbe>>,
    congestion: Congestion,
    /// The congestion factor and the state it was computed for.
    load_cache: Option<((u64, usize, usize), f64)>,
}

impl Ext {
    pub fn new(s: &Scenario, x: Extras, n: usize, seeds: usize) -> Ext {
        let perm = match s.worm.scan {
            ScanStrategy::Permutation(p) => Some(p),
            _ => None,
        };
        let filter = s.containment.filter;
        let content_at = filter
            .filter(|f| f.strategy == FilterStrategy::ContentFilter)
            .map(|f| s.start.plus(f.reaction));
        let egress_at = s.containment.egress.map(|e| e.from);
        Ext {
            active: crate::engine::extras::active(s),
            hit_rate: s.hit_list.as_ref().map_or(0.0, |h| h.rate),
            hit_split: s.hit_list.as_ref().is_some_and(|h| h.split),
            chunks: x.hit_chunks.into_iter().collect(),
            holds: BTreeMap::new(),
            held: vec![false; n],
            held_infected: 0,
            subsets: x.subsets,
            scan_class: x.scan_class,
            throttle: s.containment.throttle.map(|t| t.rate),
            throttled: x.throttled,
            clocks: vec![
                Clock::default();
                if s.containment.throttle.is_some() {
                    n
                } else {
                    0
                }
            ],
            perm,
            order: perm.map(|p| Sequence::new(s.space_bits, p.key)),
            runs: vec![PermRun::default(); if perm.is_some() { n } else { 0 }],
            seeds: seeds.max(1) as u64,
            seeds_started: 0,
            payload: s.worm.payload,
            filter,
            blocked: vec![false; n],
            content_on: content_at.is_some_and(|t| t <= s.start),
            content_at,
            egress: x.egress,
            egress_on: egress_at.is_some_and(|t| t <= s.start),
            egress_at,
            probe_log: None,
            congestion: s.network.congestion,
            load_cache: None,
        }
    }

    /// Switch-on times of the filters, for the reference's breakpoints.
    pub fn break_times(&self) -> Vec<SimTime> {
        [self.content_at, self.egress_at]
            .into_iter()
            .flatten()
            .collect()
    }

    fn is_throttled(&self, h: u32) -> bool {
        self.throttled.get(h as usize).copied().unwrap_or(false)
    }

    pub fn is_held(&self, h: u32) -> bool {
        self.held[h as usize]
    }
}

impl Reference {
    /// Record every probe sent from now on ([`Reference::probe_log`]).
    pub fn enable_probe_log(&mut self) {
        self.ext.probe_log = Some(Vec::new());
    }

    /// The probes sent since [`Reference::enable_probe_log`], in order.
    pub fn probe_log(&self) -> Option<&[SentProbe]> {
        self.ext.probe_log.as_deref()
    }

    fn set_held(&mut self, h: u32, on: bool) {
        let i = h as usize;
        if self.ext.held[i] != on {
            self.ext.held[i] = on;
            if self.state[i] == HostState::Infected {
                if on {
                    self.ext.held_infected += 1;
                } else {
                    self.ext.held_infected -= 1;
                }
            }
        }
    }

    /// The factor by which congestion thins every probe now: `1/(1 + L/C)`
    /// with `L` the summed rate of the infected hosts (capacity), or
    /// `(1 − I/N)^η` (Zou et al.). Rates change only at events here (the
    /// reference takes congestion only without the calendar), so the factor
    /// is recomputed, by summing over the infected hosts, once per event.
    pub(super) fn ext_congestion(&mut self) -> f64 {
        if self.ext.congestion == Congestion::None {
            return 1.0;
        }
        let key = (
            self.counters.events,
            self.infected.len(),
            self.ext.held_infected,
        );
        if let Some((k, f)) = self.ext.load_cache {
            if k == key {
                return f;
            }
        }
        let f = match self.ext.congestion {
            Congestion::None => 1.0,
            Congestion::Zou { eta } => (1.0
                - self.infected.len() as f64 / self.state.len().max(1) as f64)
                .max(0.0)
                .powf(eta),
            Congestion::Capacity { probes_per_s } => {
                let load: f64 = self.infected.iter().map(|&h| self.rate(h)).sum();
                1.0 / (1.0 + load / probes_per_s)
            }
        };
        self.ext.load_cache = Some((key, f));
        f
    }

    /// A random scanner's destination: uniform over the space, or over its
    /// subset with a flawed generator.
    pub(super) fn ext_uniform_target(&mut self, h: u32) -> usize {
        match &self.ext.subsets {
            Some(sub) => {
                let c = self.ext.scan_class[h as usize];
                let j = self.rng.random_range(0..sub.class_size());
                sub.addr_in(c, j) as usize
            }
            None => (self.rng.next_u64() >> (64 - self.space_bits)) as usize,
        }
    }

    /// Send one probe of `h` to `addr`: log it and draw whether the network
    /// drops it. True if it goes through.
    pub(super) fn ext_send(&mut self, h: u32, addr: usize) -> bool {
        let i = h as usize;
        let filtered = self.ext.filter.is_some_and(|f| match f.strategy {
            FilterStrategy::ContentFilter => self.ext.content_on,
            FilterStrategy::AddressBlacklist => self.ext.blocked[i],
        });
        let mut dropped = false;
        if self.ext.egress_on && self.ext.egress.get(i).copied().unwrap_or(false) {
            dropped = true;
        } else if filtered {
            let c = self.ext.filter.map_or(0.0, |f| f.coverage);
            dropped = self.rng.random::<f64>() < c;
        }
        if let Some(log) = &mut self.ext.probe_log {
            log.push(SentProbe {
                t: self.t.secs(),
                host: h,
                addr: addr as u32,
                dropped,
            });
        }
        !dropped
    }

    fn push_ext(&mut self, t: f64, h: u32, d: ExtDue) {
        self.push(t, h, Due::Ext(d));
    }

    /// Hook: `h` was just infected by `by` (`NO_HOST` for a seed).
    pub(super) fn ext_on_infect(&mut self, h: u32, by: u32, first: bool) {
        if !self.ext.active {
            return;
        }
        let t = self.t.secs();
        let list = if by == NO_HOST {
            self.ext.chunks.remove(&h).unwrap_or_default()
        } else if self.ext.hit_split {
            match self.ext.holds.get_mut(&by) {
                Some(hold) => {
                    let left = hold.list.len() - hold.next;
                    let keep = left - left / 2;
                    hold.list.split_off(hold.next + keep)
                }
                None => Vec::new(),
            }
        } else {
            Vec::new()
        };
        if let Some(p) = self.ext.perm {
            self.perm_start(h, by, p);
        }
        if !list.is_empty() {
            let mut q = self.ext.hit_rate;
            if let (Some(k), true) = (self.ext.throttle, self.ext.is_throttled(h)) {
                q = q.min(k);
            }
            self.ext.holds.insert(
                h,
                Hold {
                    list,
                    next: 0,
                    t0: t,
                    q,
                },
            );
            self.set_held(h, true);
            self.push_ext(t + 1.0 / q, h, ExtDue::HitProbe);
        } else {
            self.set_held(h, false);
            self.normal_scan(h, t);
        }
        if first {
            if let Some(f) = self.ext.filter {
                if f.strategy == FilterStrategy::AddressBlacklist {
                    self.push_ext(t + f.reaction, h, ExtDue::Blocked);
                }
            }
        }
        if let Some(pl) = self.ext.payload {
            let q = self.sending_rate(h);
            if q > 0.0 {
                // Cycles until a disk write crashes the host: Bernoulli trials.
                let mut k = 1u64;
                while self.rng.random::<f64>() >= pl.crash_per_cycle {
                    k += 1;
                }
                self.push_ext(t + k as f64 * pl.cycle_probes as f64 / q, h, ExtDue::Crash);
            }
        }
    }

    /// The rate at which `h` sends probes when it scans [probes/s].
    fn sending_rate(&self, h: u32) -> f64 {
        let r = self.setup.rate(h);
        match self.ext.throttle {
            Some(k) if self.ext.is_throttled(h) => r.min(k),
            _ => r,
        }
    }

    /// `h` starts its normal scan at `t`: its permutation runner starts
    /// walking, or its throttle clock starts ticking (else it sends random
    /// probes through the main loop).
    fn normal_scan(&mut self, h: u32, t: f64) {
        if self.ext.perm.is_some() {
            self.perm_next(h, t);
            return;
        }
        if self.ext.throttle.is_some() && self.ext.is_throttled(h) {
            self.set_held(h, true);
            let q = self.sending_rate(h);
            if q > 0.0 {
                self.ext.clocks[h as usize] = Clock { t0: t, q, j: 1 };
                self.push_ext(t + 1.0 / q, h, ExtDue::Tick);
            }
        }
    }

    // ----- permutation --------------------------------------------------------

    fn perm_start(&mut self, h: u32, by: u32, p: PermutationSpec) {
        let m = 1u64 << self.space_bits;
        let mut split = None;
        if p.partitioned {
            if by == NO_HOST {
                let j = self.ext.seeds_started.min(self.ext.seeds - 1);
                self.ext.seeds_started += 1;
                let a = (j as u128 * m as u128 / self.ext.seeds as u128) as u64;
                let b = ((j + 1) as u128 * m as u128 / self.ext.seeds as u128) as u64;
                split = Some((a, b - a));
            } else {
                let r = &mut self.ext.runs[by as usize];
                if r.alive && r.k < r.range && r.range - r.k >= 2 {
                    let left = r.range - r.k;
                    let keep = left - left / 2;
                    r.range = r.k + keep;
                    split = Some(((r.base + r.k + keep) % m, left / 2));
                }
            }
        }
        let (base, range) = split.unwrap_or_else(|| {
            let b = match p.start {
                PermutationStart::Own => {
                    let a = self.setup.population.addrs()[h as usize];
                    (self.ext.order.as_ref().expect("permutation").pos_of(a) + 1) % m
                }
                PermutationStart::Random => self.rng.random_range(0..m),
            };
            (b, 0)
        });
        let r = &mut self.ext.runs[h as usize];
        *r = PermRun {
            base,
            range,
            k: 0,
            version: r.version.wrapping_add(1),
            alive: true,
            met: 0,
        };
    }

    /// The runner's probe rate [probes/s].
    fn perm_rate(&self, h: u32) -> f64 {
        if self.asleep[h as usize] {
            return 0.0;
        }
        self.sending_rate(h)
    }

    /// Queue `h`'s next permutation probe, one probe interval after `t`.
    fn perm_next(&mut self, h: u32, t: f64) {
        let q = self.perm_rate(h);
        let r = &mut self.ext.runs[h as usize];
        if !r.alive || q <= 0.0 {
            return;
        }
        r.version = r.version.wrapping_add(1);
        let v = r.version;
        self.push_ext(t + 1.0 / q, h, ExtDue::PermProbe(v));
    }

    fn perm_probe<O: Observer>(&mut self, h: u32, version: u32, obs: &mut O) {
        let m = 1u64 << self.space_bits;
        let r = self.ext.runs[h as usize];
        if !r.alive || r.version != version {
            return;
        }
        let pos = (r.base + r.k % m) % m;
        let in_range = r.k < r.range;
        self.ext.runs[h as usize].k += 1;
        let addr = self.ext.order.as_ref().expect("permutation").addr_at(pos) as usize;
        let t = self.t.secs();
        if self.ext_send(h, addr) {
            let target = self.table[addr];
            let before = (target != NO_HOST).then(|| self.state[target as usize]);
            self.deliver(h, addr, obs);
            if target != h {
                match before {
                    Some(HostState::Susceptible) => {
                        self.ext.runs[h as usize].met = 0;
                    }
                    Some(HostState::Infected) if !in_range => {
                        let run = &mut self.ext.runs[h as usize];
                        run.met += 1;
                        let met = run.met;
                        let stop = self.ext.perm.and_then(|p| p.stop_after);
                        if stop.is_some_and(|s| met >= s) {
                            self.emit_interval(obs);
                            self.asleep[h as usize] = true;
                            return;
                        }
                        let b = self.rng.random_range(0..m);
                        let run = &mut self.ext.runs[h as usize];
                        run.base = b;
                        run.k = 0;
                        run.range = 0;
                    }
                    _ => {}
                }
            }
        }
        if self.state[h as usize] == HostState::Infected {
            self.perm_next(h, t);
        }
    }

    /// Hook: `h`'s infection is over.
    pub(super) fn ext_on_clear(&mut self, h: u32) {
        if !self.ext.active {
            return;
        }
        self.ext.holds.remove(&h);
        if self.ext.held[h as usize] {
            // It is no longer infected: it leaves the held count.
            self.ext.held[h as usize] = false;
            self.ext.held_infected -= 1;
        }
        if let Some(r) = self.ext.runs.get_mut(h as usize) {
            r.alive = false;
        }
    }

    /// A breakpoint at `t`: filters may switch on.
    pub(super) fn ext_at_break(&mut self, t: SimTime) {
        if self.ext.content_at == Some(t) {
            self.ext.content_on = true;
        }
        if self.ext.egress_at == Some(t) {
            self.ext.egress_on = true;
        }
    }

    /// A queue item of these mechanisms.
    pub(super) fn ext_due<O: Observer>(&mut self, it: Item, d: ExtDue, obs: &mut O) {
        let h = it.host;
        let i = h as usize;
        if d == ExtDue::Blocked {
            self.ext.blocked[i] = true;
            return;
        }
        if it.epoch != self.epoch[i] || self.state[i] != HostState::Infected {
            return;
        }
        let t = self.t.secs();
        match d {
            ExtDue::HitProbe => {
                let Some(hold) = self.ext.holds.get_mut(&h) else {
                    return;
                };
                let target = hold.list[hold.next];
                hold.next += 1;
                let addr = self.setup.population.addrs()[target as usize] as usize;
                if self.ext_send(h, addr) {
                    self.deliver(h, addr, obs);
                }
                if self.state[i] != HostState::Infected || self.epoch[i] != it.epoch {
                    return;
                }
                let hold = self.ext.holds.get(&h).expect("held");
                if hold.next < hold.list.len() {
                    let at = hold.t0 + (hold.next + 1) as f64 / hold.q;
                    self.push_ext(at, h, ExtDue::HitProbe);
                } else {
                    self.ext.holds.remove(&h);
                    self.emit_interval(obs);
                    self.set_held(h, false);
                    self.normal_scan(h, t);
                }
            }
            ExtDue::Tick => {
                let addr = (self.rng.next_u64() >> (64 - self.space_bits)) as usize;
                if self.ext_send(h, addr) {
                    self.deliver(h, addr, obs);
                }
                if self.state[i] == HostState::Infected && self.epoch[i] == it.epoch {
                    let c = &mut self.ext.clocks[i];
                    c.j += 1;
                    let at = c.t0 + c.j as f64 / c.q;
                    self.push_ext(at, h, ExtDue::Tick);
                }
            }
            ExtDue::PermProbe(v) => self.perm_probe(h, v, obs),
            ExtDue::Crash => {
                self.emit_interval(obs);
                self.counters.events += 1;
                self.clear(h, Clear::Lifetime, HostState::Crashed, obs);
                self.crashed.push(h);
                self.counters.crashes += 1;
                obs.event(
                    &Event::Crash {
                        t: self.t,
                        host: h,
                        infector: h,
                    },
                    &self.view(),
                );
            }
            ExtDue::Blocked => unreachable!("handled above"),
        }
    }
}
