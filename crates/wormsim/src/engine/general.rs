//! The general exact engine: every mechanism, cost per event.
//!
//! # Method
//! A next-reaction scheme (Anderson 2007, "modified next reaction method"):
//! - **Aggregate channels** with their own unit-exponential clocks and random
//!   streams: infection (`λ = R·S/2^space_bits`, `R` the summed scan rate of
//!   spreading hosts) and reboot (`ρ(t)·I`). Between events every rate is constant,
//!   so channel `k` fires after `E_k/a_k`; a channel that does not fire just burns
//!   `a_k·Δt` of its clock. This stays exact across rate changes and keeps each
//!   mechanism on its own stream.
//! - **Scheduled host events** drawn once: each host's patch time
//!   `T = Λ⁻¹(Λ(t0) + E)` from the patch schedule (inversion; a host's patch time
//!   does not depend on whether it is infected, since the patch hazard is the same
//!   for susceptible and infected hosts), kept sorted.
//! - **Breakpoints** where a rate changes: calendar phase changes and reboot
//!   schedule steps.
//!
//! Targets are uniform over susceptible hosts (a dense index set, O(1)); infectors
//! are chosen in proportion to scan rate with a Fenwick tree of integer rate units
//! (2^-20 probes/s, so sums are exact and independent of update order), or
//! uniformly when all rates are equal.

use super::{
    Counters, DenseSet, Event, HostRecords, HostState, NO_HOST, Observer, Setup, View, exp1,
};
use crate::calendar::Phase;
use crate::fenwick::Fenwick;
use crate::rng::{Rng, Streams, stream};
use crate::scenario::{ScanRateSpec, Scenario};
use crate::schedule::RateSchedule;
use crate::time::SimTime;
use rand::RngExt;

/// Scan rates are held in units of 2^-20 probes/s in the Fenwick tree.
pub const RATE_UNITS_PER_PROBE: f64 = (1u64 << 20) as f64;

enum Picker {
    /// All hosts scan at this rate [probes/s].
    Uniform(f64),
    /// Weight of each host = its rate in units while infected, else 0.
    Weighted { tree: Fenwick<u64>, units: Vec<u64> },
}

#[derive(Clone, Copy, Debug)]
enum Break {
    Phase(Phase),
    RebootRate(f64),
}

struct Channel {
    e: f64,
    rng: Rng,
}

impl Channel {
    fn new(rng: Rng) -> Self {
        let mut rng = rng;
        Channel {
            e: exp1(&mut rng),
            rng,
        }
    }
    #[inline]
    fn burn(&mut self, a: f64, dt: f64) {
        self.e = (self.e - a * dt).max(0.0);
    }
    #[inline]
    fn due(&self, a: f64) -> f64 {
        if a > 0.0 { self.e / a } else { f64::INFINITY }
    }
}

pub struct General {
    setup: Setup,
    inv_omega: f64,
    state: Vec<HostState>,
    /// Whether each host has been infected before (a small array that stays in
    /// cache, so the first-infection test does not touch `first_at`).
    ever_infected: Vec<bool>,
    first_at: Vec<f64>,
    first_by: Vec<u32>,
    /// Hosts in the order of their first infection.
    order: Vec<u32>,
    susceptible: DenseSet,
    infected: DenseSet,
    picker: Picker,
    patch_queue: Vec<(f64, u32)>,
    next_patch: usize,
    reboot_rate: f64,
    breaks: Vec<(SimTime, Break)>,
    next_break: usize,
    spreading: bool,
    inf: Channel,
    reb: Channel,
    t: SimTime,
    started: bool,
    ever: u32,
    patched: u32,
    counters: Counters,
}

/// Quantize a rate to whole units of 2^-20 probes/s.
pub fn rate_units(r: f32) -> u64 {
    (r as f64 * RATE_UNITS_PER_PROBE).round() as u64
}

impl General {
    pub fn new(s: &Scenario, setup: Setup, streams: &Streams) -> Self {
        let n = setup.population.len();
        let picker = match s.worm.scan_rate {
            ScanRateSpec::Fixed(_) => {
                Picker::Uniform(setup.scan_rate.first().copied().unwrap_or(0.0) as f64)
            }
            ScanRateSpec::LogNormal { .. } => Picker::Weighted {
                tree: Fenwick::new(n),
                units: setup.scan_rate.iter().map(|&r| rate_units(r)).collect(),
            },
        };
        let mut patch_queue = Vec::new();
        if !s.defense.patch.is_zero() {
            let mut rng = streams.stream(stream::PATCH);
            for h in 0..n as u32 {
                let t = s.defense.patch.inverse_cumulative(s.start, exp1(&mut rng));
                if t <= s.end {
                    patch_queue.push((t.secs(), h));
                }
            }
            patch_queue.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        let mut breaks: Vec<(SimTime, Break)> = super::phase_breakpoints(s)
            .into_iter()
            .map(|(t, p)| (t, Break::Phase(p)))
            .collect();
        breaks.extend(reboot_breaks(&s.defense.reboot, s));
        breaks.sort_by(|a, b| a.0.0.total_cmp(&b.0.0));
        let mut susceptible = DenseSet::new(n);
        for h in 0..n as u32 {
            susceptible.insert(h);
        }
        General {
            inv_omega: 1.0 / setup.population.space_size(),
            state: vec![HostState::Susceptible; n],
            ever_infected: vec![false; n],
            first_at: vec![f64::NAN; n],
            first_by: vec![NO_HOST; n],
            order: Vec::new(),
            susceptible,
            infected: DenseSet::new(n),
            picker,
            patch_queue,
            next_patch: 0,
            reboot_rate: s.defense.reboot.rate_at(s.start),
            breaks,
            next_break: 0,
            spreading: super::spreading_at(s, s.start),
            inf: Channel::new(streams.stream(stream::INFECTION)),
            reb: Channel::new(streams.stream(stream::REBOOT)),
            t: s.start,
            started: false,
            ever: 0,
            patched: 0,
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

    /// Summed scan rate of spreading hosts [probes/s].
    #[inline]
    fn probe_rate(&self) -> f64 {
        if !self.spreading {
            return 0.0;
        }
        match &self.picker {
            Picker::Uniform(r) => r * self.infected.len() as f64,
            Picker::Weighted { tree, .. } => tree.total() as f64 / RATE_UNITS_PER_PROBE,
        }
    }

    pub fn view(&self) -> View {
        let probe_rate = self.probe_rate();
        View {
            susceptible: self.susceptible.len() as u32,
            infected: self.infected.len() as u32,
            patched: self.patched,
            ever_infected: self.ever,
            probe_rate,
            hit_rate: probe_rate * self.susceptible.len() as f64 * self.inv_omega,
        }
    }

    /// Infect susceptible host `h`, which sits at position `at` of the
    /// susceptible set.
    fn infect(&mut self, at: usize, h: u32, by: u32) -> bool {
        self.susceptible.remove_at(at, h);
        self.infected.insert(h);
        if let Picker::Weighted { tree, units } = &mut self.picker {
            tree.set(h as usize, units[h as usize]);
        }
        self.state[h as usize] = HostState::Infected;
        let first = !self.ever_infected[h as usize];
        if first {
            self.ever_infected[h as usize] = true;
            self.first_at[h as usize] = self.t.secs();
            self.first_by[h as usize] = by;
            self.order.push(h);
            self.ever += 1;
        }
        first
    }

    fn uninfect(&mut self, h: u32) {
        self.infected.remove(h);
        if let Picker::Weighted { tree, .. } = &mut self.picker {
            tree.set(h as usize, 0);
        }
    }

    pub fn start<O: Observer>(&mut self, obs: &mut O) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.setup.seeds.len() {
            let h = self.setup.seeds[i];
            if self.state[h as usize] == HostState::Susceptible {
                let at = self.susceptible.position(h);
                self.infect(at, h, NO_HOST);
                obs.event(
                    &Event::Infection {
                        t: self.t,
                        host: h,
                        infector: None,
                        first: true,
                    },
                    &self.view(),
                );
            }
        }
    }

    fn choose_infector(&mut self) -> u32 {
        match &self.picker {
            Picker::Uniform(_) => self.infected.choose(&mut self.inf.rng),
            Picker::Weighted { tree, .. } => {
                let u = self.inf.rng.random_range(0..tree.total());
                tree.find(u) as u32
            }
        }
    }

    pub fn step<O: Observer>(&mut self, stop: SimTime, obs: &mut O) -> bool {
        let tb = match self.breaks.get(self.next_break) {
            Some(&(tb, _)) if tb <= stop => Some(tb),
            _ => None,
        };
        let tp = match self.patch_queue.get(self.next_patch) {
            Some(&(tp, _)) if SimTime(tp) <= stop => Some(SimTime(tp)),
            _ => None,
        };
        let t_sched = match (tb, tp) {
            (Some(b), Some(p)) => {
                if b <= p {
                    b
                } else {
                    p
                }
            }
            (Some(b), None) => b,
            (None, Some(p)) => p,
            (None, None) => stop,
        };
        let view = self.view();
        let a_inf = view.hit_rate;
        let a_reb = self.reboot_rate * self.infected.len() as f64;
        let d_inf = self.inf.due(a_inf);
        let d_reb = self.reb.due(a_reb);
        let dt = d_inf.min(d_reb);
        let t_next = self.t.plus(dt);
        if t_next < t_sched {
            obs.interval(self.t, t_next, &view);
            self.inf.burn(a_inf, dt);
            self.reb.burn(a_reb, dt);
            self.t = t_next;
            self.counters.events += 1;
            if d_inf <= d_reb {
                let (at, target) = self.susceptible.choose_at(&mut self.inf.rng);
                let by = self.choose_infector();
                let first = self.infect(at, target, by);
                self.counters.infections += 1;
                if !first {
                    self.counters.reinfections += 1;
                }
                self.inf.e = exp1(&mut self.inf.rng);
                let ev = Event::Infection {
                    t: t_next,
                    host: target,
                    infector: Some(by),
                    first,
                };
                obs.event(&ev, &self.view());
            } else {
                let h = self.infected.choose(&mut self.reb.rng);
                self.uninfect(h);
                self.susceptible.insert(h);
                self.state[h as usize] = HostState::Susceptible;
                self.counters.reboots += 1;
                self.reb.e = exp1(&mut self.reb.rng);
                obs.event(&Event::Reboot { t: t_next, host: h }, &self.view());
            }
            return true;
        }
        // Nothing fires before the next scheduled time.
        if t_sched > self.t {
            let dt = t_sched.since(self.t);
            obs.interval(self.t, t_sched, &view);
            self.inf.burn(a_inf, dt);
            self.reb.burn(a_reb, dt);
            self.t = t_sched;
        }
        if tb == Some(t_sched) {
            let (t, b) = self.breaks[self.next_break];
            self.next_break += 1;
            self.counters.events += 1;
            match b {
                Break::Phase(phase) => {
                    self.spreading = phase == Phase::Spread;
                    obs.event(&Event::Phase { t, phase }, &self.view());
                }
                Break::RebootRate(r) => self.reboot_rate = r,
            }
            return true;
        }
        if tp == Some(t_sched) {
            let (_, h) = self.patch_queue[self.next_patch];
            self.next_patch += 1;
            self.counters.events += 1;
            let was_infected = match self.state[h as usize] {
                HostState::Susceptible => {
                    self.susceptible.remove(h);
                    false
                }
                HostState::Infected => {
                    self.uninfect(h);
                    self.counters.patched_while_infected += 1;
                    true
                }
                HostState::Patched => unreachable!("a host is patched once"),
            };
            self.state[h as usize] = HostState::Patched;
            self.patched += 1;
            self.counters.patches += 1;
            obs.event(
                &Event::Patch {
                    t: t_sched,
                    host: h,
                    was_infected,
                },
                &self.view(),
            );
            return true;
        }
        false
    }

    pub fn run_until<O: Observer>(&mut self, stop: SimTime, obs: &mut O) {
        while self.step(stop, obs) {}
    }

    pub fn hosts(&self) -> HostRecords {
        HostRecords {
            first_infected_at: self.first_at.clone(),
            first_infector: self.first_by.clone(),
            state: self.state.clone(),
            infection_order: self.order.clone(),
        }
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }
}

/// Reboot-rate steps inside the run, as breakpoints.
fn reboot_breaks(r: &RateSchedule, s: &Scenario) -> Vec<(SimTime, Break)> {
    r.breakpoints()
        .filter(|&t| t > s.start && t <= s.end)
        .map(|t| (t, Break::RebootRate(r.rate_at(t))))
        .collect()
}
