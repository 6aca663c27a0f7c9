//! The fast exact path for pure SI with equal scan rates.
//!
//! With no patching or reboots and one scan rate `r` for every host, the model is
//! the well-mixed SI chain: with `k` infected of `n` hosts, the next infection comes
//! after `Exp(λ)`, `λ = r·k·(n−k)/2^space_bits` (zero outside the spreading phase),
//! its target is a uniform susceptible host and its infector a uniform infected
//! host, and the choices are independent of the times. So the hosts are kept in one
//! array `order`: `order[..k]` are the infected hosts in the order they were
//! infected and `order[k..]` the susceptible ones; an infection swaps a uniform
//! element of `order[k..]` into place `k` (one step of a Fisher–Yates shuffle).
//! Each event costs one exponential (the time) and one 64-bit draw split into two
//! exactly-uniform indices ([`crate::rng::below2`]) with O(1) memory traffic (the
//! identities); it records its time and its infector (as a position in `order`).
//!
//! Exactness is checked against [`super::general`] and [`super::reference`] by
//! the tests in `crates/wormsim/tests/it/exactness.rs`.

use super::{Counters, Event, HostRecords, HostState, NO_HOST, Observer, Setup, View};
use crate::calendar::Phase;
use crate::rng::{ExpZiggurat, Rng, Streams, below2, stream};
use crate::scenario::Scenario;
use crate::time::SimTime;

pub struct FastSi {
    setup: Setup,
    order: Vec<u32>,
    /// Infection time of `order[i]` [s since epoch], for `i < k`.
    t_order: Vec<f64>,
    /// Position in `order` of the infector of `order[i]`; NO_HOST for seeds.
    by_order: Vec<u32>,
    k: usize,
    n: usize,
    rate: f64,
    inv_omega: f64,
    t: SimTime,
    /// Unit-exponential mass left before the next infection (next-reaction clock).
    e: f64,
    /// Stream of the holding times' unit exponentials.
    rng: Rng,
    breaks: Vec<(SimTime, Phase)>,
    next_break: usize,
    spreading: bool,
    started: bool,
    counters: Counters,
    /// Stream of target and infector choices (independent of the times).
    rng_id: Rng,
    /// Infections `..k_id` have their target and infector assigned.
    k_id: usize,
}

#[inline(always)]
fn view_of(k: usize, n: usize, rate: f64, inv_omega: f64, spreading: bool) -> View {
    let probe_rate = if spreading { rate * k as f64 } else { 0.0 };
    View {
        susceptible: (n - k) as u32,
        infected: k as u32,
        patched: 0,
        ever_infected: k as u32,
        probe_rate,
        hit_rate: probe_rate * (n - k) as f64 * inv_omega,
        ..View::default()
    }
}

impl FastSi {
    pub fn new(s: &Scenario, setup: Setup, streams: &Streams) -> Self {
        let n = setup.population.len();
        let rate = if n > 0 { setup.rate(0) } else { 0.0 };
        debug_assert!((0..n as u32).all(|h| setup.rate(h) == rate));
        let mut rng = streams.stream(stream::INFECTION);
        let e = ExpZiggurat::get().sample(&mut rng);
        FastSi {
            order: (0..n as u32).collect(),
            t_order: vec![f64::NAN; n],
            by_order: vec![NO_HOST; n],
            k: 0,
            n,
            rate,
            inv_omega: 1.0 / setup.population.space_size(),
            t: s.start,
            e,
            rng,
            breaks: super::phase_breakpoints(s),
            next_break: 0,
            spreading: super::spreading_at(s, s.start),
            started: false,
            counters: Counters::default(),
            rng_id: streams.stream(stream::INFECTION_TARGET),
            k_id: 0,
            setup,
        }
    }

    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    pub fn time(&self) -> SimTime {
        self.t
    }

    pub fn view(&self) -> View {
        view_of(self.k, self.n, self.rate, self.inv_omega, self.spreading)
    }

    pub fn start<O: Observer>(&mut self, obs: &mut O) {
        if self.started {
            return;
        }
        self.started = true;
        // Move the seeds to the front, in draw order.
        let mut pos: Vec<u32> = (0..self.n as u32).collect();
        let seeds = self.setup.seeds.clone();
        for h in seeds {
            let p = pos[h as usize] as usize;
            let k = self.k;
            let other = self.order[k];
            self.order.swap(k, p);
            pos[other as usize] = p as u32;
            pos[h as usize] = k as u32;
            self.t_order[k] = self.t.secs();
            self.k += 1;
            self.k_id = self.k;
            let ev = Event::Infection {
                t: self.t,
                host: h,
                infector: None,
                first: true,
            };
            obs.event(&ev, &self.view());
        }
    }

    /// Assign targets and infectors to the infections `k_id..upto` (one 64-bit
    /// draw each from the identity stream, and one Fisher–Yates swap).
    fn materialize(&mut self, upto: usize) {
        let (n, order, by_order) = (self.n, &mut self.order[..], &mut self.by_order[..]);
        let rng = &mut self.rng_id;
        let k_id = self.k_id;
        for (q, by) in by_order.iter_mut().enumerate().take(upto).skip(k_id) {
            let (j, ii) = below2(rng, (n - q) as u32, q as u32);
            order.swap(q, q + j as usize);
            *by = ii;
        }
        self.k_id = self.k_id.max(upto);
    }

    /// Infections strictly before `t_sched`, at most `max` of them. Returns how
    /// many happened; on return the exponential clock holds what is left.
    ///
    /// In this model the holding times and the choice of target and infector are
    /// independent, so they come from two streams. The times are generated in
    /// chunks by a tight loop (one exponential each); the identities (one 64-bit
    /// draw and one Fisher–Yates swap each) are assigned right away when the
    /// observer needs hosts ([`Observer::NEEDS_HOSTS`]), and otherwise on demand
    /// (by [`FastSi::hosts`] or a later observer that needs them). Either way the
    /// identity stream is consumed in the same order, so the outbreak does not
    /// depend on who watches it.
    #[inline(always)]
    fn burst<O: Observer>(&mut self, t_sched: f64, max: usize, obs: &mut O) -> usize {
        const CHUNK: usize = 1024;
        let (n, rate, inv_omega) = (self.n, self.rate, self.inv_omega);
        let c = rate * inv_omega;
        let k0 = self.k;
        if k0 == 0 || k0 >= n || max == 0 {
            return 0;
        }
        if O::NEEDS_HOSTS {
            self.materialize(k0);
        }
        let mut k = k0;
        let mut t = self.t.secs();
        let mut e = self.e;
        // A local copy of the generator (written back at the end) and an inlined
        // sampler: the loop keeps its clock, counts and generator in registers.
        let zig = ExpZiggurat::get();
        let mut rng_t = self.rng.clone();
        loop {
            // 1. Times.
            let m0 = k;
            let limit = n.min(m0 + CHUNK).min(k0.saturating_add(max));
            let stopped;
            {
                // The counts as floats, stepped by exactly 1.0 (they stay below
                // 2^53): the same values as converting `k` and `n − k`, without
                // two integer-to-float conversions per event.
                let mut k_f = k as f64;
                let mut s_f = (n - k) as f64;
                for slot in &mut self.t_order[m0..limit] {
                    let a = c * k_f * s_f;
                    let t_next = t + e / a;
                    if t_next >= t_sched {
                        break;
                    }
                    t = t_next;
                    *slot = t;
                    k_f += 1.0;
                    s_f -= 1.0;
                    e = zig.sample(&mut rng_t);
                }
                k = k_f as usize;
                stopped = k < limit;
            }
            // 2. Identities, if the observer needs them now.
            if O::NEEDS_HOSTS {
                self.materialize(k);
            }
            // 3. Observer pushes, in time order.
            let mut prev = if m0 == k0 {
                self.t.secs()
            } else {
                self.t_order[m0 - 1]
            };
            // (By slice, not by index: with an observer that ignores everything,
            // the loop then has no bounds checks left and disappears.)
            for (q, &tq) in (m0..k).zip(&self.t_order[m0..k]) {
                obs.interval(
                    SimTime(prev),
                    SimTime(tq),
                    &view_of(q, n, rate, inv_omega, true),
                );
                let (host, infector) = if O::NEEDS_HOSTS {
                    (self.order[q], self.order[self.by_order[q] as usize])
                } else {
                    (NO_HOST, NO_HOST)
                };
                let ev = Event::Infection {
                    t: SimTime(tq),
                    host,
                    infector: Some(infector),
                    first: true,
                };
                obs.event(&ev, &view_of(q + 1, n, rate, inv_omega, true));
                prev = tq;
            }
            if stopped || k >= n || k - k0 >= max {
                break;
            }
        }
        let done = k - k0;
        self.k = k;
        self.t = SimTime(t);
        self.e = e;
        self.rng = rng_t;
        self.counters.infections += done as u64;
        self.counters.events += done as u64;
        done
    }

    /// Run to `stop`, or process at most one event if `one`.
    #[inline(always)]
    fn advance<O: Observer>(&mut self, stop: SimTime, obs: &mut O, one: bool) -> bool {
        loop {
            let tb = match self.breaks.get(self.next_break) {
                Some(&(tb, _)) if tb <= stop => Some(tb),
                _ => None,
            };
            let t_sched = tb.unwrap_or(stop);
            if self.spreading {
                let done = self.burst(t_sched.secs(), if one { 1 } else { usize::MAX }, obs);
                if one && done > 0 {
                    return true;
                }
            }
            // No infection before `t_sched`: advance the clock to it.
            let a = self.view().hit_rate;
            if t_sched > self.t {
                obs.interval(self.t, t_sched, &self.view());
                self.e = (self.e - a * t_sched.since(self.t)).max(0.0);
                self.t = t_sched;
            }
            let Some(tb) = tb else { return false };
            // A phase change (also one exactly at `stop`, so the state there is right).
            let phase = self.breaks[self.next_break].1;
            self.next_break += 1;
            self.spreading = phase == Phase::Spread;
            self.counters.events += 1;
            obs.event(&Event::Phase { t: tb, phase }, &self.view());
            if one {
                return true;
            }
        }
    }

    pub fn step<O: Observer>(&mut self, stop: SimTime, obs: &mut O) -> bool {
        self.advance(stop, obs, true)
    }

    pub fn run_until<O: Observer>(&mut self, stop: SimTime, obs: &mut O) {
        self.advance(stop, obs, false);
    }

    pub fn hosts(&mut self) -> HostRecords {
        self.materialize(self.k);
        let mut r = HostRecords::new(self.n);
        for i in 0..self.k {
            let h = self.order[i] as usize;
            r.first_infected_at[h] = self.t_order[i];
            let b = self.by_order[i];
            r.first_infector[h] = if b == NO_HOST {
                NO_HOST
            } else {
                self.order[b as usize]
            };
            r.state[h] = HostState::Infected;
        }
        r.infection_order = self.order[..self.k].to_vec();
        r
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }
}
