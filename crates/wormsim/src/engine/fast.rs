//! The fast exact path for pure SI with equal scan rates.
//!
//! With no patching or reboots and one scan rate `r` for every host, the model is
//! the well-mixed SI chain: with `k` infected of `n` hosts, the next infection comes
//! after `Exp(λ)`, `λ = r·k·(n−k)/2^space_bits` (zero outside the spreading phase),
//! its target is a uniform susceptible host and its infector a uniform infected
//! host. So the hosts are kept in one array `order`: `order[..k]` are the infected
//! hosts in the order they were infected and `order[k..]` the susceptible ones;
//! an infection swaps a uniform element of `order[k..]` into place `k` (one step of
//! a Fisher–Yates shuffle). Each event costs two random indices, one exponential
//! and O(1) memory traffic, and records its time and infector by order index.
//!
//! Exactness is checked against [`super::general`] and [`super::reference`] by
//! the tests in `tests/exactness.rs`.

use super::{Counters, Event, HostRecords, HostState, NO_HOST, Observer, Setup, View, exp1};
use crate::calendar::Phase;
use crate::rng::{Rng, Streams, stream};
use crate::scenario::Scenario;
use crate::time::SimTime;
use rand::RngExt;

pub struct FastSi {
    setup: Setup,
    order: Vec<u32>,
    /// Infection time of `order[i]` [s since epoch].
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
    rng: Rng,
    breaks: Vec<(SimTime, Phase)>,
    next_break: usize,
    spreading: bool,
    started: bool,
    counters: Counters,
}

impl FastSi {
    pub fn new(s: &Scenario, setup: Setup, streams: &Streams) -> Self {
        let n = setup.population.len();
        let rate = setup.scan_rate.first().copied().unwrap_or(0.0) as f64;
        debug_assert!(setup.scan_rate.iter().all(|&r| r as f64 == rate));
        let mut rng = streams.stream(stream::INFECTION);
        let e = exp1(&mut rng);
        FastSi {
            order: (0..n as u32).collect(),
            t_order: Vec::with_capacity(n),
            by_order: Vec::with_capacity(n),
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
            setup,
        }
    }

    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    pub fn time(&self) -> SimTime {
        self.t
    }

    #[inline(always)]
    fn hit_rate(&self) -> f64 {
        if self.spreading {
            self.rate * self.k as f64 * (self.n - self.k) as f64 * self.inv_omega
        } else {
            0.0
        }
    }

    pub fn view(&self) -> View {
        View {
            susceptible: (self.n - self.k) as u32,
            infected: self.k as u32,
            patched: 0,
            ever_infected: self.k as u32,
            probe_rate: if self.spreading {
                self.rate * self.k as f64
            } else {
                0.0
            },
            hit_rate: self.hit_rate(),
        }
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
            self.t_order.push(self.t.secs());
            self.by_order.push(NO_HOST);
            self.k += 1;
            let ev = Event::Infection {
                t: self.t,
                host: h,
                infector: None,
                first: true,
            };
            obs.event(&ev, &self.view());
        }
    }

    /// Advance to `to` without an infection, telling the observer.
    #[inline(always)]
    fn advance<O: Observer>(&mut self, to: SimTime, a: f64, obs: &mut O) {
        if to > self.t {
            obs.interval(self.t, to, &self.view());
            self.e = (self.e - a * to.since(self.t)).max(0.0);
            self.t = to;
        }
    }

    #[inline(always)]
    pub fn step<O: Observer>(&mut self, stop: SimTime, obs: &mut O) -> bool {
        let tb = match self.breaks.get(self.next_break) {
            Some(&(tb, _)) if tb <= stop => Some(tb),
            _ => None,
        };
        let t_sched = tb.unwrap_or(stop);
        let a = self.hit_rate();
        if a > 0.0 {
            let t_next = self.t.plus(self.e / a);
            if t_next < t_sched {
                obs.interval(self.t, t_next, &self.view());
                self.t = t_next;
                let s = (self.n - self.k) as u32;
                let j = self.k + self.rng.random_range(0..s) as usize;
                self.order.swap(self.k, j);
                let host = self.order[self.k];
                let ii = self.rng.random_range(0..self.k as u32);
                let infector = self.order[ii as usize];
                self.t_order.push(t_next.secs());
                self.by_order.push(ii);
                self.k += 1;
                self.counters.infections += 1;
                self.counters.events += 1;
                let ev = Event::Infection {
                    t: t_next,
                    host,
                    infector: Some(infector),
                    first: true,
                };
                obs.event(&ev, &self.view());
                self.e = exp1(&mut self.rng);
                return true;
            }
        }
        self.advance(t_sched, a, obs);
        if let Some(tb) = tb {
            // A phase change (also one exactly at `stop`, so the state there is right).
            let phase = self.breaks[self.next_break].1;
            self.next_break += 1;
            self.spreading = phase == Phase::Spread;
            self.counters.events += 1;
            obs.event(&Event::Phase { t: tb, phase }, &self.view());
            return true;
        }
        false
    }

    pub fn run_until<O: Observer>(&mut self, stop: SimTime, obs: &mut O) {
        while self.step(stop, obs) {}
    }

    pub fn hosts(&self) -> HostRecords {
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
        r
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }
}
