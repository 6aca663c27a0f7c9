//! The per-probe reference engine: slow, simple, obviously correct.
//!
//! It simulates every probe. Random events come from one direct-method Gillespie
//! loop at total rate `I·r_max + p(t)·(hosts not yet patching) + ρ(t)·I + κ·C`:
//! - **probe** (random scanners): a uniform infected host sends a candidate
//!   probe, kept with probability `r_h/r_max` (thinning, so host `h` probes at its
//!   current rate `r_h`, zero when its calendar says it does not spread). The
//!   destination is drawn literally: a uniform address in the `2^space_bits`
//!   space, or, for Code Red II, the host's own /8 with probability 1/2, its /16
//!   with 3/8, anywhere with 1/8, drawn again if reserved or its own address. It is
//!   looked up in a full address table: a susceptible host is infected (or crashes,
//!   for NT 4 under CRII); an infected one may get another instance;
//! - **patch download**: a uniform host among those not patched or patching; the
//!   install follows after the testing lag;
//! - **reboot**: a uniform infected host becomes susceptible;
//! - **recovery**: a uniform crashed host comes back up.
//!
//! Deterministic events go through a time-ordered queue: CRv1's probes (each
//! runner sends probe `k` when its progress reaches `k + 1`), thread wake-ups
//! (each sleeping thread gets its own uniform lag), lifetime and defacement ends,
//! and patch installs. Rates change only at breakpoints and events, where the loop
//! draws again (memorylessness). Nothing here shares code with the exact engines'
//! rate bookkeeping, which is what makes it a useful judge. It refuses address
//! spaces above 2^24, and the mechanisms it does not model (wrong clocks,
//! congestion, checkpoints).

mod strategy;

pub use strategy::SentProbe;

use super::sequence::Sequence;
use super::{
    Clear, Counters, Event, HostRecords, HostState, NO_HOST, Observer, RATE_UNITS_PER_PROBE, Setup,
    SetupError, View, trait_bit,
};
use crate::calendar::Phase;
use crate::population::generate::block_levels;
use crate::rng::{Rng, Streams, stream};
use crate::scenario::{Congestion, PatchLag, ScanStrategy, Scenario, Wake};
use crate::schedule::RateSchedule;
use crate::time::{DAY, SimTime};
use rand::{Rng as _, RngExt};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Due {
    Probe {
        runner: u32,
        version: u32,
    },
    Wake,
    Lifetime,
    DefaceEnd,
    Install,
    /// Hit lists, permutation runners, throttle ticks, blacklisting, payload.
    Ext(strategy::ExtDue),
}

#[derive(Clone, Copy, Debug)]
struct Item {
    t: f64,
    seq: u64,
    host: u32,
    epoch: u32,
    due: Due,
}
impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        self.seq == o.seq
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.t.total_cmp(&o.t).then(self.seq.cmp(&o.seq))
    }
}

#[derive(Clone, Debug)]
struct Runner {
    host: u32,
    offset: u64,
    x0: f64,
    t0: f64,
    speed: f64,
    next_k: f64,
    threads: u32,
    awake: u32,
    version: u32,
    alive: bool,
}

pub struct Reference {
    setup: Setup,
    table: Vec<u32>,
    state: Vec<HostState>,
    first_at: Vec<f64>,
    first_by: Vec<u32>,
    order: Vec<u32>,
    ever_flag: Vec<bool>,
    instances: Vec<u8>,
    awake: Vec<u32>,
    asleep: Vec<bool>,
    dead: Vec<bool>,
    patching: Vec<bool>,
    defaced: Vec<bool>,
    backdoor: Vec<bool>,
    /// Hosts with `defaced` set (kept so that [`Reference::view`] is not a
    /// pass over every host).
    n_defaced: u32,
    /// Hosts with `backdoor` set.
    n_backdoored: u32,
    epoch: Vec<u32>,
    infected: Vec<u32>,
    crashed: Vec<u32>,
    n_susceptible: usize,
    n_patched: usize,
    n_not_patching: usize,
    r_max: f64,
    patch: RateSchedule,
    patch_lag: PatchLag,
    reboot: RateSchedule,
    crash_recovery: f64,
    breaks: Vec<SimTime>,
    next_break: usize,
    calendar: bool,
    group_phase: Phase,
    wake: Wake,
    space_bits: u8,
    max_scan_multiple: f64,
    scan: ScanStrategy,
    max_instances: u8,
    lifetime: Option<f64>,
    drop_dead: Option<SimTime>,
    nt4_crash: bool,
    backdoor_on: bool,
    deface: Option<f64>,
    /// Whether the worm floods on days 20–27 (`Scenario::floods`).
    flood_on: bool,
    /// Hosts flooding now, and the count.
    flooding: Vec<bool>,
    n_flooding: u32,
    sequence: Option<Sequence>,
    runners: Vec<Runner>,
    of_host: Vec<Vec<u32>>,
    queue: BinaryHeap<Reverse<Item>>,
    seq: u64,
    rng: Rng,
    t: SimTime,
    emitted: SimTime,
    ever: u32,
    started: bool,
    counters: Counters,
    /// Probes actually sent.
    pub probes_sent: u64,
    ext: Box<strategy::Ext>,
}

impl Reference {
    /// Whether the reference can run this scenario.
    ///
    /// # Errors
    /// [`SetupError::NotInReference`] naming the mechanism.
    pub fn supports(s: &Scenario) -> Result<(), SetupError> {
        if s.calendar.wrong_clocks > 0 {
            return Err(SetupError::NotInReference(
                "wrong clocks (calendar.wrong_clocks)",
            ));
        }
        if s.network.congestion != Congestion::None && (s.calendar.enabled || s.containment.drops())
        {
            return Err(SetupError::NotInReference(
                "congestion with the calendar or containment filters",
            ));
        }
        if s.checkpoint.is_some() {
            return Err(SetupError::NotInReference("checkpoints"));
        }
        Ok(())
    }

    pub fn new(s: &Scenario, setup: Setup, streams: &Streams) -> Self {
        let n = setup.population.len();
        let mut table = vec![NO_HOST; 1usize << s.space_bits];
        for (h, &a) in setup.population.addrs().iter().enumerate() {
            table[a as usize] = h as u32;
        }
        let max_instances = s.worm.reinfection.max_instances();
        let r_max = (0..n)
            .map(|h| {
                (setup.thread_units[h] * setup.threads[h] as u64 * max_instances as u64) as f64
            })
            .fold(0.0f64, f64::max)
            / RATE_UNITS_PER_PROBE;
        let mut breaks: Vec<SimTime> = super::phase_breakpoints(s)
            .into_iter()
            .map(|b| b.0)
            .collect();
        breaks.extend(s.defense.patch.breakpoints());
        breaks.extend(s.defense.reboot.breakpoints());
        breaks.extend(s.worm.drop_dead);
        let extras = super::extras::Extras::new(s, &setup, streams);
        let ext = Box::new(strategy::Ext::new(s, extras, n, setup.seeds.len()));
        breaks.extend(ext.break_times());
        breaks.retain(|&t| t > s.start && t <= s.end);
        breaks.sort_by(|a, b| a.0.total_cmp(&b.0));
        breaks.dedup();
        let sequence = match s.worm.scan {
            ScanStrategy::Sequence(sq) => Some(Sequence::new(s.space_bits, sq.key)),
            _ => None,
        };
        Reference {
            table,
            state: vec![HostState::Susceptible; n],
            first_at: vec![f64::NAN; n],
            first_by: vec![NO_HOST; n],
            order: Vec::new(),
            ever_flag: vec![false; n],
            instances: vec![0; n],
            awake: vec![0; n],
            asleep: vec![false; n],
            dead: vec![false; n],
            patching: vec![false; n],
            defaced: vec![false; n],
            backdoor: vec![false; n],
            n_defaced: 0,
            n_backdoored: 0,
            epoch: vec![0; n],
            infected: Vec::new(),
            crashed: Vec::new(),
            n_susceptible: n,
            n_patched: 0,
            n_not_patching: n,
            r_max,
            patch: s.defense.patch.clone(),
            patch_lag: s.defense.patch_lag,
            reboot: s.defense.reboot.clone(),
            crash_recovery: s.worm.crash_recovery,
            breaks,
            next_break: 0,
            calendar: s.calendar.enabled,
            group_phase: if s.calendar.enabled {
                Phase::at(s.start)
            } else {
                Phase::Spread
            },
            wake: s.calendar.wake,
            space_bits: s.space_bits,
            max_scan_multiple: s.worm.max_scan_multiple.unwrap_or(f64::INFINITY),
            scan: s.worm.scan,
            max_instances,
            lifetime: s.worm.lifetime,
            drop_dead: s.worm.drop_dead,
            nt4_crash: s.worm.nt4_crash,
            backdoor_on: s.worm.backdoor,
            deface: s.worm.deface,
            flood_on: s.floods(),
            flooding: vec![false; n],
            n_flooding: 0,
            sequence,
            runners: Vec::new(),
            of_host: vec![Vec::new(); n],
            queue: BinaryHeap::new(),
            seq: 0,
            rng: streams.stream(stream::REFERENCE),
            t: s.start,
            emitted: s.start,
            ever: 0,
            started: false,
            counters: Counters::default(),
            probes_sent: 0,
            ext,
            setup,
        }
    }

    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    pub fn time(&self) -> SimTime {
        self.t
    }

    fn is_dead_now(&self) -> bool {
        self.drop_dead.is_some_and(|d| self.t >= d)
    }

    /// Host `h`'s probe rate now [probes/s].
    fn rate(&self, h: u32) -> f64 {
        let i = h as usize;
        if self.state[i] != HostState::Infected
            || self.asleep[i]
            || self.dead[i]
            || self.group_phase != Phase::Spread
            || self.ext.is_held(h)
        {
            return 0.0;
        }
        let raw = (self.setup.thread_units[i] * self.awake[i] as u64) as f64;
        let cap = (self.setup.thread_units[i] as f64
            * self.setup.threads[i] as f64
            * self.max_scan_multiple)
            .floor();
        raw.min(cap) / RATE_UNITS_PER_PROBE
    }

    pub fn view(&self) -> View {
        let probe_rate: f64 = self.infected.iter().map(|&h| self.rate(h)).sum();
        View {
            susceptible: self.n_susceptible as u32,
            infected: self.infected.len() as u32,
            patched: self.n_patched as u32,
            crashed: self.crashed.len() as u32,
            ever_infected: self.ever,
            backdoored: self.n_backdoored,
            defaced: self.n_defaced,
            flooding: self.n_flooding,
            probe_rate,
            hit_rate: 0.0,
        }
    }

    fn emit_interval<O: Observer>(&mut self, obs: &mut O) {
        if self.t > self.emitted {
            obs.interval(self.emitted, self.t, &self.view());
            self.emitted = self.t;
        }
    }

    fn push(&mut self, t: f64, host: u32, due: Due) {
        self.seq += 1;
        let epoch = self.epoch[host as usize];
        self.queue.push(Reverse(Item {
            t,
            seq: self.seq,
            host,
            epoch,
            due,
        }));
    }

    // ----- runners (CRv1) ---------------------------------------------------

    fn runner_speed(&self, id: usize) -> f64 {
        let r = &self.runners[id];
        let h = r.host as usize;
        if !r.alive
            || self.state[h] != HostState::Infected
            || self.asleep[h]
            || self.dead[h]
            || self.group_phase != Phase::Spread
        {
            return 0.0;
        }
        // Each thread's share of the host's (possibly capped) rate.
        let raw = (self.setup.thread_units[h] * self.awake[h] as u64) as f64;
        if raw == 0.0 {
            return 0.0;
        }
        let cap = (self.setup.thread_units[h] as f64
            * self.setup.threads[h] as f64
            * self.max_scan_multiple)
            .floor();
        let host = raw.min(cap);
        host * r.awake as f64 / self.awake[h] as f64 / RATE_UNITS_PER_PROBE
    }

    /// Runner `id`'s speed may have changed: re-base it (only then) and
    /// schedule its next probe. Probe `k` goes when the progress
    /// `x0 + speed·(t − t0)` reaches `k + 1`.
    fn reschedule_runner(&mut self, id: usize) {
        let t = self.t.secs();
        let speed = self.runner_speed(id);
        let r = &mut self.runners[id];
        if speed == r.speed {
            return; // its next probe (if any) is already scheduled
        }
        r.x0 += r.speed * (t - r.t0);
        r.t0 = t;
        r.speed = speed;
        r.version = r.version.wrapping_add(1);
        if speed > 0.0 && r.alive {
            let when = r.t0 + (r.next_k + 1.0 - r.x0) / speed;
            let (host, version) = (r.host, r.version);
            self.push(
                when,
                host,
                Due::Probe {
                    runner: id as u32,
                    version,
                },
            );
        }
    }

    fn reschedule_host_runners(&mut self, h: u32) {
        for id in self.of_host[h as usize].clone() {
            self.reschedule_runner(id as usize);
        }
    }

    fn add_runners(&mut self, h: u32, threads: u32, awake: u32) {
        let ScanStrategy::Sequence(sq) = self.scan else {
            return;
        };
        let m = 1u64 << self.space_bits;
        let t = self.t.secs();
        let specs: Vec<(u64, u32, u32)> = if sq.per_thread_offset {
            (0..threads)
                .map(|j| {
                    (
                        (j as u128 * m as u128 / threads as u128) as u64,
                        1,
                        u32::from(j < awake),
                    )
                })
                .collect()
        } else {
            vec![(0, threads, awake)]
        };
        for (offset, threads, awake) in specs {
            self.runners.push(Runner {
                host: h,
                offset,
                x0: 0.0,
                t0: t,
                speed: 0.0,
                next_k: 0.0,
                threads,
                awake,
                version: 0,
                alive: true,
            });
            let id = self.runners.len() - 1;
            self.of_host[h as usize].push(id as u32);
            self.reschedule_runner(id);
        }
    }

    // ----- transitions --------------------------------------------------------

    fn infect<O: Observer>(&mut self, h: u32, by: u32, obs: &mut O) {
        let i = h as usize;
        self.state[i] = HostState::Infected;
        self.epoch[i] = self.epoch[i].wrapping_add(1);
        self.infected.push(h);
        self.n_susceptible -= 1;
        self.instances[i] = 1;
        let first = !self.ever_flag[i];
        if first {
            self.ever_flag[i] = true;
            self.first_at[i] = self.t.secs();
            self.first_by[i] = by;
            self.order.push(h);
            self.ever += 1;
        }
        if self.backdoor_on {
            self.n_backdoored += u32::from(!self.backdoor[i]);
            self.backdoor[i] = true;
        }
        let infector = if by == NO_HOST { None } else { Some(by) };
        obs.event(
            &Event::Infection {
                t: self.t,
                host: h,
                infector,
                first,
            },
            &self.view(),
        );
        if self.is_dead_now() {
            self.dead[i] = true;
            self.clear(h, Clear::DropDead, HostState::Susceptible, obs);
            return;
        }
        self.asleep[i] = false;
        let threads = self.setup.threads[i] as u32;
        self.awake[i] = if self.group_phase == Phase::Dormant {
            0
        } else {
            threads
        };
        self.add_runners(h, threads, self.awake[i]);
        self.ext_on_infect(h, by, first);
        let t = self.t.secs();
        if let Some(l) = self.lifetime {
            self.push(t + l, h, Due::Lifetime);
        }
        if let Some(d) = self.deface {
            if self.setup.flags[i] & trait_bit::ENGLISH != 0 && !self.defaced[i] {
                self.defaced[i] = true;
                self.n_defaced += 1;
                obs.event(
                    &Event::Deface {
                        t: self.t,
                        host: h,
                        on: true,
                    },
                    &self.view(),
                );
                self.push(t + d, h, Due::DefaceEnd);
            }
        }
        self.sync_flood(h, obs);
    }

    /// `h` stops showing the defaced page, if it does.
    fn end_deface<O: Observer>(&mut self, h: u32, obs: &mut O) {
        if self.defaced[h as usize] {
            self.defaced[h as usize] = false;
            self.n_defaced -= 1;
            obs.event(
                &Event::Deface {
                    t: self.t,
                    host: h,
                    on: false,
                },
                &self.view(),
            );
        }
    }

    /// Whether `h` floods now: infected, awake for the month, in the flood phase.
    fn should_flood(&self, h: u32) -> bool {
        let i = h as usize;
        self.flood_on
            && self.state[i] == HostState::Infected
            && !self.asleep[i]
            && !self.dead[i]
            && self.group_phase == Phase::Flood
    }

    /// Bring `h`'s flooding up to date, telling observers of a start, a stop
    /// (instances 0) or a new instance count while flooding.
    fn sync_flood<O: Observer>(&mut self, h: u32, obs: &mut O) {
        let i = h as usize;
        let on = self.should_flood(h);
        if on == self.flooding[i] && !on {
            return;
        }
        if on != self.flooding[i] {
            self.flooding[i] = on;
            if on {
                self.n_flooding += 1;
            } else {
                self.n_flooding -= 1;
            }
        }
        let instances = if on { self.instances[i] } else { 0 };
        obs.event(
            &Event::Flood {
                t: self.t,
                host: h,
                instances,
            },
            &self.view(),
        );
    }

    fn add_instance<O: Observer>(&mut self, h: u32, obs: &mut O) {
        let i = h as usize;
        self.instances[i] += 1;
        self.counters.instances_added += 1;
        let threads = self.setup.threads[i] as u32;
        let new_awake = if self.group_phase == Phase::Dormant {
            0
        } else {
            threads
        };
        if new_awake > 0 {
            self.asleep[i] = false;
        }
        self.awake[i] += new_awake;
        self.add_runners(h, threads, new_awake);
        self.reschedule_host_runners(h);
        obs.event(
            &Event::Instance {
                t: self.t,
                host: h,
                instances: self.instances[i],
            },
            &self.view(),
        );
        self.sync_flood(h, obs);
    }

    fn clear<O: Observer>(&mut self, h: u32, why: Clear, to: HostState, obs: &mut O) {
        let i = h as usize;
        let k = self
            .infected
            .iter()
            .position(|&x| x == h)
            .expect("infected host is listed");
        self.infected.swap_remove(k);
        self.state[i] = to;
        self.instances[i] = 0;
        self.awake[i] = 0;
        self.epoch[i] = self.epoch[i].wrapping_add(1);
        for id in std::mem::take(&mut self.of_host[i]) {
            self.runners[id as usize].alive = false;
        }
        self.ext_on_clear(h);
        self.sync_flood(h, obs);
        self.end_deface(h, obs);
        if to == HostState::Susceptible {
            self.n_susceptible += 1;
            obs.event(
                &Event::Cleared {
                    t: self.t,
                    host: h,
                    why,
                },
                &self.view(),
            );
        }
    }

    /// A probe from `by` arrives at address `addr`.
    fn deliver<O: Observer>(&mut self, by: u32, addr: usize, obs: &mut O) -> bool {
        self.probes_sent += 1;
        if O::PROBE_EVENTS {
            obs.event(
                &Event::Probe {
                    t: self.t,
                    host: by,
                    addr: addr as u32,
                },
                &View::default(),
            );
        }
        let target = self.table[addr];
        if target == NO_HOST || target == by {
            return false;
        }
        let ti = target as usize;
        match self.state[ti] {
            HostState::Susceptible => {
                self.emit_interval(obs);
                self.counters.events += 1;
                if self.nt4_crash && self.setup.flags[ti] & trait_bit::NT4 != 0 {
                    self.state[ti] = HostState::Crashed;
                    self.crashed.push(target);
                    self.n_susceptible -= 1;
                    self.counters.crashes += 1;
                    obs.event(
                        &Event::Crash {
                            t: self.t,
                            host: target,
                            infector: by,
                        },
                        &self.view(),
                    );
                } else {
                    let was = self.ever_flag[ti];
                    self.counters.infections += 1;
                    if was {
                        self.counters.reinfections += 1;
                    }
                    self.infect(target, by, obs);
                }
                true
            }
            HostState::Infected if self.instances[ti] < self.max_instances => {
                self.emit_interval(obs);
                self.counters.events += 1;
                self.add_instance(target, obs);
                true
            }
            _ => false,
        }
    }

    /// Code Red II's destination for host `h`, drawn literally.
    fn local_target(&mut self, h: u32, p8: f64, p16: f64) -> usize {
        let bits = self.space_bits;
        let (la, lb) = block_levels(bits);
        let own = self.setup.population.addrs()[h as usize] as u64;
        loop {
            let u = self.rng.random::<f64>();
            let r = self.rng.next_u64() >> (64 - bits);
            let addr = if u < p8 {
                (own >> (bits - la) << (bits - la)) | (r & ((1u64 << (bits - la)) - 1))
            } else if u < p8 + p16 {
                (own >> (bits - lb) << (bits - lb)) | (r & ((1u64 << (bits - lb)) - 1))
            } else {
                r
            };
            let reserved = bits == 32 && ((addr >> 24) == 127 || (addr >> 24) >= 224);
            if !reserved && addr != own {
                return addr as usize;
            }
        }
    }

    pub fn start<O: Observer>(&mut self, obs: &mut O) {
        if self.started {
            return;
        }
        self.started = true;
        for k in 0..self.setup.patched.len() {
            let h = self.setup.patched[k] as usize;
            self.state[h] = HostState::Patched;
            self.patching[h] = true;
            self.n_not_patching -= 1;
            self.n_susceptible -= 1;
            self.n_patched += 1;
            obs.event(
                &Event::Patch {
                    t: self.t,
                    host: h as u32,
                    was_infected: false,
                },
                &self.view(),
            );
        }
        for k in 0..self.setup.seeds.len() {
            let h = self.setup.seeds[k];
            if self.state[h as usize] == HostState::Susceptible {
                self.infect(h, NO_HOST, obs);
            }
        }
    }

    fn at_break<O: Observer>(&mut self, t: SimTime, obs: &mut O) {
        self.ext_at_break(t);
        if self.calendar {
            let phase = Phase::at(t);
            if phase != self.group_phase {
                self.group_phase = phase;
                self.counters.events += 1;
                obs.event(&Event::Phase { t, phase }, &self.view());
                if phase == Phase::Spread {
                    for h in self.infected.clone() {
                        let i = h as usize;
                        if self.asleep[i] {
                            continue;
                        }
                        match self.wake {
                            Wake::Never => self.asleep[i] = true,
                            Wake::Lagged { max_lag } => {
                                // Every sleeping thread gets its own uniform lag.
                                let total = self.setup.threads[i] as u32 * self.instances[i] as u32;
                                self.awake[i] = 0;
                                for r in self.of_host[i].clone() {
                                    self.runners[r as usize].awake = 0;
                                }
                                for _ in 0..total {
                                    let lag = self.rng.random::<f64>() * max_lag;
                                    self.push(t.secs() + lag, h, Due::Wake);
                                }
                            }
                        }
                    }
                }
                for h in self.infected.clone() {
                    self.sync_flood(h, obs);
                }
                for id in 0..self.runners.len() {
                    if self.runners[id].alive {
                        self.reschedule_runner(id);
                    }
                }
            }
        }
        if self.drop_dead == Some(t) {
            for h in self.infected.clone() {
                self.dead[h as usize] = true;
                self.counters.expired += 1;
                self.clear(h, Clear::DropDead, HostState::Susceptible, obs);
            }
        }
    }

    fn install_lag(&mut self) -> f64 {
        match self.patch_lag {
            PatchLag::None => 0.0,
            PatchLag::Fixed { days } => days * DAY,
            PatchLag::Exponential { mean_days } => {
                -(1.0 - self.rng.random::<f64>()).ln() * mean_days * DAY
            }
            PatchLag::LogNormal { median_days, sigma } => {
                let z: f64 = self.rng.sample(rand_distr::StandardNormal);
                median_days * DAY * (sigma * z).exp()
            }
        }
    }

    fn install<O: Observer>(&mut self, h: u32, obs: &mut O) {
        let i = h as usize;
        let was_infected = self.state[i] == HostState::Infected;
        match self.state[i] {
            HostState::Susceptible => self.n_susceptible -= 1,
            HostState::Infected => {
                self.counters.patched_while_infected += 1;
                self.clear(h, Clear::Reboot, HostState::Patched, obs);
            }
            HostState::Crashed => {
                let k = self.crashed.iter().position(|&x| x == h).expect("listed");
                self.crashed.swap_remove(k);
            }
            HostState::Patched => return,
        }
        self.state[i] = HostState::Patched;
        self.n_patched += 1;
        self.counters.patches += 1;
        obs.event(
            &Event::Patch {
                t: self.t,
                host: h,
                was_infected,
            },
            &self.view(),
        );
    }

    fn due<O: Observer>(&mut self, it: Item, obs: &mut O) {
        if let Due::Ext(d) = it.due {
            return self.ext_due(it, d, obs);
        }
        let h = it.host;
        let i = h as usize;
        match it.due {
            Due::Ext(_) => unreachable!("dispatched above"),
            Due::Install => {
                self.emit_interval(obs);
                self.counters.events += 1;
                self.install(h, obs);
            }
            _ if it.epoch != self.epoch[i] || self.state[i] != HostState::Infected => {}
            Due::Probe { runner, version } => {
                let r = &self.runners[runner as usize];
                if !r.alive || r.version != version {
                    return;
                }
                let k = r.next_k;
                let m = 1u64 << self.space_bits;
                let pos = (r.offset + (k as u64) % m) % m;
                let addr = self.sequence.as_ref().expect("sequence scan").addr_at(pos) as usize;
                // Probe k goes now; probe k + 1 at its own time, same base.
                let next = {
                    let r = &mut self.runners[runner as usize];
                    r.next_k = k + 1.0;
                    r.t0 + (r.next_k + 1.0 - r.x0) / r.speed
                };
                self.push(next, h, Due::Probe { runner, version });
                self.deliver(h, addr, obs);
            }
            Due::Wake => {
                if self.group_phase != Phase::Spread || self.asleep[i] {
                    return;
                }
                self.emit_interval(obs);
                self.awake[i] += 1;
                // A uniform sleeping thread among the host's runners.
                let ids = self.of_host[i].clone();
                let asleep: u32 = ids
                    .iter()
                    .map(|&id| self.runners[id as usize].threads - self.runners[id as usize].awake)
                    .sum();
                if asleep > 0 {
                    let mut u = self.rng.random_range(0..asleep);
                    for id in ids {
                        let r = &mut self.runners[id as usize];
                        let s = r.threads - r.awake;
                        if u < s {
                            r.awake += 1;
                            break;
                        }
                        u -= s;
                    }
                }
                self.reschedule_host_runners(h);
                let rate = self.rate(h);
                obs.event(
                    &Event::Rate {
                        t: self.t,
                        host: h,
                        rate,
                    },
                    &self.view(),
                );
            }
            Due::Lifetime => {
                self.emit_interval(obs);
                self.counters.events += 1;
                self.counters.expired += 1;
                self.clear(h, Clear::Lifetime, HostState::Susceptible, obs);
            }
            Due::DefaceEnd => {
                if self.defaced[i] {
                    self.emit_interval(obs);
                    self.end_deface(h, obs);
                }
            }
        }
    }

    pub fn step<O: Observer>(&mut self, stop: SimTime, obs: &mut O) -> bool {
        loop {
            let tb = match self.breaks.get(self.next_break) {
                Some(&b) if b <= stop => Some(b),
                _ => None,
            };
            let tq = match self.queue.peek() {
                Some(Reverse(it)) if SimTime(it.t) <= stop => Some(SimTime(it.t)),
                _ => None,
            };
            let mut t_sched = stop;
            for x in [tb, tq].into_iter().flatten() {
                if x < t_sched {
                    t_sched = x;
                }
            }
            let i = self.infected.len() as f64;
            let random_scan = !matches!(
                self.scan,
                ScanStrategy::Sequence(_) | ScanStrategy::Permutation(_)
            );
            // With nothing left to infect or re-infect a probe changes nothing,
            // so the reference stops drawing them (`probes_sent` then stops counting).
            // (Unless an observer counts every probe.)
            let useful = self.n_susceptible > 0 || self.max_instances > 1 || O::PROBE_EVENTS;
            let a_probe = if random_scan && useful && self.group_phase == Phase::Spread {
                // Held hosts (hit list, throttle clock) send no random probes.
                (i - self.ext.held_infected as f64) * self.r_max
            } else {
                0.0
            };
            let a_patch = self.patch.rate_at(self.t) * self.n_not_patching as f64;
            let a_reboot = self.reboot.rate_at(self.t) * i;
            let a_rec = self.crash_recovery * self.crashed.len() as f64;
            let total = a_probe + a_patch + a_reboot + a_rec;
            let dt = if total > 0.0 {
                super::exp1(&mut self.rng) / total
            } else {
                f64::INFINITY
            };
            let t_next = self.t.plus(dt);
            if t_next >= t_sched {
                self.t = t_sched;
                // A probe of a runner or clock changes the view only through
                // `deliver`, which emits the interval itself first.
                let quiet_probe = tb != Some(t_sched)
                    && tq == Some(t_sched)
                    && self.queue.peek().is_some_and(|Reverse(it)| {
                        matches!(it.due, Due::Probe { .. }) || it.due.is_ext_probe()
                    });
                if !quiet_probe {
                    self.emit_interval(obs);
                }
                if tb == Some(t_sched) {
                    self.next_break += 1;
                    self.at_break(t_sched, obs);
                    return true;
                }
                if tq == Some(t_sched) {
                    let Reverse(it) = self.queue.pop().expect("peeked");
                    self.due(it, obs);
                    return true;
                }
                return false;
            }
            self.t = t_next;
            let u = self.rng.random::<f64>() * total;
            if u < a_probe {
                let h = loop {
                    let h = self.infected[self.rng.random_range(0..self.infected.len())];
                    if !self.ext.is_held(h) {
                        break h;
                    }
                };
                let keep = self.rate(h) * self.ext_congestion() / self.r_max;
                if keep <= 0.0 || (keep < 1.0 && self.rng.random::<f64>() >= keep) {
                    continue;
                }
                let addr = match self.scan {
                    ScanStrategy::LocalPreference(lp) => {
                        self.local_target(h, lp.same_slash8, lp.same_slash16)
                    }
                    _ => self.ext_uniform_target(h),
                };
                if !self.ext_send(h, addr) {
                    continue;
                }
                if self.deliver(h, addr, obs) {
                    return true;
                }
                continue;
            }
            self.emit_interval(obs);
            self.counters.events += 1;
            if u < a_probe + a_patch {
                // Download by a uniform host among those not patched or patching.
                let n = self.state.len();
                let h = loop {
                    let h = self.rng.random_range(0..n);
                    if !self.patching[h] {
                        break h as u32;
                    }
                };
                self.patching[h as usize] = true;
                self.n_not_patching -= 1;
                let lag = self.install_lag();
                if lag == 0.0 {
                    self.install(h, obs);
                } else {
                    let when = self.t.secs() + lag;
                    self.push(when, h, Due::Install);
                }
            } else if u < a_probe + a_patch + a_reboot {
                let h = self.infected[self.rng.random_range(0..self.infected.len())];
                self.counters.reboots += 1;
                self.clear(h, Clear::Reboot, HostState::Susceptible, obs);
            } else {
                let k = self.rng.random_range(0..self.crashed.len());
                let h = self.crashed.swap_remove(k);
                self.state[h as usize] = HostState::Susceptible;
                self.n_susceptible += 1;
                obs.event(&Event::Recover { t: self.t, host: h }, &self.view());
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
