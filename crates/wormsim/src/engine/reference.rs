//! The per-probe reference engine: slow, simple, obviously correct.
//!
//! It simulates every probe. A direct-method Gillespie loop over three kinds of
//! event at total rate `I·r_max + p(t)·(S+I) + ρ(t)·I`:
//! - **probe**: a uniform infected host sends a probe, kept with probability
//!   `r_h / r_max` (thinning, so host `h` probes at rate `r_h`), and only while
//!   the calendar says it spreads; the destination is a uniform address in the
//!   `2^space_bits` space, looked up in a full address table; a susceptible host
//!   there becomes infected;
//! - **patch**: a uniform host among the susceptible and infected becomes patched;
//! - **reboot**: a uniform infected host becomes susceptible.
//!
//! Rates change only at breakpoints (calendar and schedule steps), where the loop
//! stops and draws again (memorylessness). Nothing here shares code with the exact
//! engines' rate bookkeeping, which is what makes it a useful judge. It refuses
//! address spaces above 2^24 (the table would not fit; the run would take days).

use super::{Counters, Event, HostRecords, HostState, NO_HOST, Observer, Setup, View};
use crate::calendar::Phase;
use crate::rng::{Rng, Streams, stream};
use crate::scenario::Scenario;
use crate::schedule::RateSchedule;
use crate::time::SimTime;
use rand::{Rng as _, RngExt};

pub struct Reference {
    setup: Setup,
    table: Vec<u32>,
    state: Vec<HostState>,
    first_at: Vec<f64>,
    first_by: Vec<u32>,
    /// Hosts in the order of their first infection.
    order: Vec<u32>,
    infected: Vec<u32>,
    n_susceptible: usize,
    n_patched: usize,
    r_max: f64,
    spread_rate_sum: f64,
    patch: RateSchedule,
    reboot: RateSchedule,
    breaks: Vec<SimTime>,
    next_break: usize,
    calendar: bool,
    space_bits: u8,
    rng: Rng,
    t: SimTime,
    /// Observers have been told about `[.., emitted)`.
    emitted: SimTime,
    spreading: bool,
    ever: u32,
    started: bool,
    counters: Counters,
    /// Probes actually sent.
    pub probes_sent: u64,
}

impl Reference {
    pub fn new(s: &Scenario, setup: Setup, streams: &Streams) -> Self {
        let n = setup.population.len();
        let mut table = vec![NO_HOST; 1usize << s.space_bits];
        for (h, &a) in setup.population.addrs().iter().enumerate() {
            table[a as usize] = h as u32;
        }
        let r_max = setup.scan_rate.iter().fold(0.0f64, |m, &r| m.max(r as f64));
        let mut breaks: Vec<SimTime> = super::phase_breakpoints(s)
            .into_iter()
            .map(|b| b.0)
            .collect();
        breaks.extend(s.defense.patch.breakpoints());
        breaks.extend(s.defense.reboot.breakpoints());
        breaks.retain(|&t| t > s.start && t <= s.end);
        breaks.sort_by(|a, b| a.0.total_cmp(&b.0));
        breaks.dedup();
        Reference {
            table,
            state: vec![HostState::Susceptible; n],
            first_at: vec![f64::NAN; n],
            first_by: vec![NO_HOST; n],
            order: Vec::new(),
            infected: Vec::new(),
            n_susceptible: n,
            n_patched: 0,
            r_max,
            spread_rate_sum: 0.0,
            patch: s.defense.patch.clone(),
            reboot: s.defense.reboot.clone(),
            breaks,
            next_break: 0,
            calendar: s.calendar.enabled,
            space_bits: s.space_bits,
            rng: streams.stream(stream::REFERENCE),
            t: s.start,
            emitted: s.start,
            spreading: !s.calendar.enabled || Phase::at(s.start) == Phase::Spread,
            ever: 0,
            started: false,
            counters: Counters::default(),
            probes_sent: 0,
            setup,
        }
    }

    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    pub fn time(&self) -> SimTime {
        self.t
    }

    /// Tell observers the state was constant from the last report until now.
    fn emit_interval<O: Observer>(&mut self, obs: &mut O) {
        if self.t > self.emitted {
            obs.interval(self.emitted, self.t, &self.view());
            self.emitted = self.t;
        }
    }

    pub fn view(&self) -> View {
        let probe_rate = if self.spreading {
            self.spread_rate_sum
        } else {
            0.0
        };
        let omega = (1u64 << self.space_bits) as f64;
        View {
            susceptible: self.n_susceptible as u32,
            infected: self.infected.len() as u32,
            patched: self.n_patched as u32,
            ever_infected: self.ever,
            probe_rate,
            hit_rate: probe_rate * self.n_susceptible as f64 / omega,
        }
    }

    fn infect(&mut self, h: u32, by: u32) -> bool {
        self.state[h as usize] = HostState::Infected;
        self.infected.push(h);
        self.n_susceptible -= 1;
        self.spread_rate_sum += self.setup.scan_rate[h as usize] as f64;
        let first = self.first_at[h as usize].is_nan();
        if first {
            self.first_at[h as usize] = self.t.secs();
            self.first_by[h as usize] = by;
            self.order.push(h);
            self.ever += 1;
        }
        first
    }

    fn remove_infected(&mut self, h: u32) {
        let i = self
            .infected
            .iter()
            .position(|&x| x == h)
            .expect("infected host is listed");
        self.infected.swap_remove(i);
        self.spread_rate_sum -= self.setup.scan_rate[h as usize] as f64;
    }

    pub fn start<O: Observer>(&mut self, obs: &mut O) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.setup.seeds.len() {
            let h = self.setup.seeds[i];
            if self.state[h as usize] == HostState::Susceptible {
                self.infect(h, NO_HOST);
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

    pub fn step<O: Observer>(&mut self, stop: SimTime, obs: &mut O) -> bool {
        loop {
            let t_sched = match self.breaks.get(self.next_break) {
                Some(&b) if b <= stop => b,
                _ => stop,
            };
            let i = self.infected.len() as f64;
            // With no susceptible host left a probe cannot change anything, so the
            // reference stops drawing them (`probes_sent` then stops counting).
            let a_probe = if self.spreading && self.n_susceptible > 0 {
                i * self.r_max
            } else {
                0.0
            };
            let a_patch = self.patch.rate_at(self.t) * (self.n_susceptible as f64 + i);
            let a_reboot = self.reboot.rate_at(self.t) * i;
            let total = a_probe + a_patch + a_reboot;
            let dt = if total > 0.0 {
                super::exp1(&mut self.rng) / total
            } else {
                f64::INFINITY
            };
            let t_next = self.t.plus(dt);
            if t_next >= t_sched {
                self.t = t_sched;
                self.emit_interval(obs);
                if self.next_break < self.breaks.len() && self.breaks[self.next_break] == t_sched {
                    self.next_break += 1;
                    if self.calendar {
                        let spreading = Phase::at(t_sched) == Phase::Spread;
                        let phase = Phase::at(t_sched);
                        if phase != Phase::at(t_sched.plus(-1e-3)) {
                            self.spreading = spreading;
                            self.counters.events += 1;
                            obs.event(&Event::Phase { t: t_sched, phase }, &self.view());
                        }
                    }
                    return true;
                }
                return false;
            }
            self.t = t_next;
            let u = self.rng.random::<f64>() * total;
            if u < a_probe {
                // One candidate probe from a uniform infected host, kept with
                // probability r_h / r_max.
                let h = self.infected[self.rng.random_range(0..self.infected.len())];
                let keep = self.setup.scan_rate[h as usize] as f64 / self.r_max;
                if keep < 1.0 && self.rng.random::<f64>() >= keep {
                    continue;
                }
                self.probes_sent += 1;
                let addr = (self.rng.next_u64() >> (64 - self.space_bits)) as usize;
                let target = self.table[addr];
                if target == NO_HOST || self.state[target as usize] != HostState::Susceptible {
                    continue; // a probe that changes nothing
                }
                self.emit_interval(obs);
                let first = self.infect(target, h);
                self.counters.infections += 1;
                self.counters.events += 1;
                if !first {
                    self.counters.reinfections += 1;
                }
                obs.event(
                    &Event::Infection {
                        t: t_next,
                        host: target,
                        infector: Some(h),
                        first,
                    },
                    &self.view(),
                );
                return true;
            }
            self.emit_interval(obs);
            self.counters.events += 1;
            if u < a_probe + a_patch {
                // A uniform host among the susceptible and infected, by rejection.
                let n = self.state.len();
                let h = loop {
                    let h = self.rng.random_range(0..n);
                    if self.state[h] != HostState::Patched {
                        break h as u32;
                    }
                };
                let was_infected = self.state[h as usize] == HostState::Infected;
                if was_infected {
                    self.remove_infected(h);
                    self.counters.patched_while_infected += 1;
                } else {
                    self.n_susceptible -= 1;
                }
                self.state[h as usize] = HostState::Patched;
                self.n_patched += 1;
                self.counters.patches += 1;
                obs.event(
                    &Event::Patch {
                        t: t_next,
                        host: h,
                        was_infected,
                    },
                    &self.view(),
                );
            } else {
                let h = self.infected[self.rng.random_range(0..self.infected.len())];
                self.remove_infected(h);
                self.state[h as usize] = HostState::Susceptible;
                self.n_susceptible += 1;
                self.counters.reboots += 1;
                obs.event(&Event::Reboot { t: t_next, host: h }, &self.view());
            }
            return true;
        }
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
