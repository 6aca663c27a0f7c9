//! The outbreak engines.
//!
//! ```text
//!   Scenario ──► Setup (population, scan rates, seeds) ──► Simulation
//!                                                       ├─ fast::FastSi     (pure SI, Fisher–Yates order)
//!                                                       ├─ general::General (every mechanism, next-reaction)
//!                                                       └─ reference::Reference (per probe; ground truth)
//!   Simulation::run_until(t, &mut observer) ── pushes Event and interval View ──► Observer
//! ```
//!
//! All three engines simulate the same continuous-time Markov model (see
//! `docs/model.md`). The exact engines never draw individual probes: infection
//! events come at total rate `λ = Σ r_h · S / 2^space_bits` (ENGINE-NOTES, "cost per
//! event"), and each picks a uniform susceptible target and an infector in
//! proportion to its scan rate. The reference engine draws every probe and looks
//! its target up, and is used by the tests to prove the exact engines right.
//!
//! Which exact engine runs is a pure function of the scenario ([`Plan::select`]),
//! never of the random numbers.

pub mod extras;
pub mod fast;
pub mod general;
pub mod reference;
pub mod sequence;

use crate::calendar;
use crate::checkpoint::Checkpoint;
use crate::population::{Population, PopulationError, PopulationSpec, fmt_addr};
use crate::rng::{Rng, Streams, below, stream};
use crate::scenario::{
    Congestion, Reinfection, ScanRateSpec, ScanStrategy, Scenario, Seeding, Wake,
};
use crate::time::SimTime;
use rand::RngExt;
use rand_distr::{Distribution, LogNormal};
use std::sync::Arc;

/// "No host" in host-index arrays.
pub const NO_HOST: u32 = u32::MAX;

/// Scan rates are held in units of 2^-20 probes/s, so sums are exact integers.
pub const RATE_UNITS_PER_PROBE: f64 = (1u64 << 20) as f64;

/// A host's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum HostState {
    Susceptible = 0,
    Infected = 1,
    /// Patched: immune for good.
    Patched = 2,
    /// Crashed by the worm (Windows NT 4 hit by Code Red II); down until restarted.
    Crashed = 3,
}

/// Why an infection ended with the host susceptible again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clear {
    /// A reboot: the worm lives only in memory.
    Reboot,
    /// The worm's own lifetime ran out (CRII: about 24 h).
    Lifetime,
    /// The worm's drop-dead date passed on the host's clock (CRII).
    DropDead,
}

/// Something that happened, pushed to observers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// `host` was infected by `infector` (`None` for an initial seed).
    Infection {
        t: SimTime,
        host: u32,
        infector: Option<u32>,
        first: bool,
    },
    /// A probe re-infected `host`, which now runs `instances` copies of the worm.
    Instance {
        t: SimTime,
        host: u32,
        instances: u8,
    },
    /// `count` re-infections, each as an [`Event::Instance`] at `t`, whose
    /// hosts are not named: the general engine sends one of these per grid bin
    /// instead when it settles many pooled hosts at once (see
    /// [`Observer::INSTANCE_HOSTS`]).
    Instances { t: SimTime, count: u32 },
    /// `host` was patched.
    Patch {
        t: SimTime,
        host: u32,
        was_infected: bool,
    },
    /// Infected `host` is susceptible again.
    Cleared { t: SimTime, host: u32, why: Clear },
    /// A probe from `infector` crashed `host` (Windows NT 4 and Code Red II).
    /// The general engine reports `infector` as [`NO_HOST`] to observers
    /// that do not read it ([`Observer::CRASH_INFECTORS`]).
    Crash {
        t: SimTime,
        host: u32,
        infector: u32,
    },
    /// Crashed `host` is back up, susceptible.
    Recover { t: SimTime, host: u32 },
    /// The calendar phase of every right-clock host changed.
    Phase { t: SimTime, phase: calendar::Phase },
    /// `host`'s scanning rate is now `rate` [probes/s, before congestion].
    Rate { t: SimTime, host: u32, rate: f64 },
    /// `host` starts flooding with `instances` copies of the worm, or stops (0).
    Flood {
        t: SimTime,
        host: u32,
        instances: u8,
    },
    /// `host` starts (`on`) or stops showing the defaced page.
    Deface { t: SimTime, host: u32, on: bool },
    /// One probe from `host` to `addr`: only the per-probe reference engine
    /// sends these, and only to observers with [`Observer::PROBE_EVENTS`].
    Probe { t: SimTime, host: u32, addr: u32 },
    /// A CRv1 runner's trajectory from `t` on (sequence scanning, general
    /// engine, observers with [`Observer::RATE_EVENTS`]): see [`RunnerMove`].
    Runner { t: SimTime, mv: RunnerMove },
}

/// A sequence-scanning runner's trajectory from time `t0` [s]: its progress is
/// `x0 + speed·(t − t0)` probes, and probe `k` (sent when the progress reaches
/// `k + 1`) goes to sequence position `(offset + k) mod 2^space_bits`. A speed
/// of 0 with `alive == false` means the runner stopped for good (its id may be
/// reused by a later runner).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunnerMove {
    pub id: u32,
    pub host: u32,
    pub offset: u64,
    pub x0: f64,
    pub t0: f64,
    /// [probes/s]
    pub speed: f64,
    pub alive: bool,
}

impl Event {
    pub fn time(&self) -> SimTime {
        match *self {
            Event::Infection { t, .. }
            | Event::Instance { t, .. }
            | Event::Instances { t, .. }
            | Event::Patch { t, .. }
            | Event::Cleared { t, .. }
            | Event::Crash { t, .. }
            | Event::Recover { t, .. }
            | Event::Phase { t, .. }
            | Event::Rate { t, .. }
            | Event::Flood { t, .. }
            | Event::Deface { t, .. }
            | Event::Probe { t, .. }
            | Event::Runner { t, .. } => t,
        }
    }
}

/// The aggregate state, as observers see it.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct View {
    pub susceptible: u32,
    pub infected: u32,
    pub patched: u32,
    pub crashed: u32,
    /// Hosts infected at least once.
    pub ever_infected: u32,
    /// Hosts carrying Code Red II's backdoor.
    pub backdoored: u32,
    /// Hosts showing the defaced page.
    pub defaced: u32,
    /// Hosts flooding the target.
    pub flooding: u32,
    /// Total scan rate of spreading hosts, after congestion [probes/s].
    pub probe_rate: f64,
    /// Rate of events caused by probes (infections, re-infections, crashes)
    /// [1/s]; `probe_rate - hit_rate` is the rate of probes that change nothing.
    /// Zero for sequence scanning, whose hits are deterministic.
    pub hit_rate: f64,
}

/// Receives what the engine does. Every method has an empty default.
///
/// The engine calls [`Observer::interval`] for each stretch `[from, to)` over which
/// the state (and `view`) is constant, then [`Observer::event`] for the event at
/// `to`, with the view after it.
pub trait Observer {
    /// Whether [`Event::Infection`] must carry host identities. An observer that
    /// only counts (like [`crate::observe::Series`]) sets this to false, and the
    /// fast SI engine may then report `host` and `infector` as [`NO_HOST`] and
    /// assign identities later, on demand. The outbreak is the same either way.
    const NEEDS_HOSTS: bool = true;
    /// Whether [`Observer::event`] reads its `view` argument. An observer that
    /// does not (like [`crate::observe::Series`]) sets this to false, and the
    /// engine then passes an empty view instead of computing one per event.
    const EVENT_VIEW: bool = true;
    /// Whether the observer wants [`Event::Rate`] (every change of a host's
    /// scanning rate). Observers that do not, skip the cost of the call.
    const RATE_EVENTS: bool = true;
    /// Whether the observer wants [`Event::Probe`] (the reference engine only).
    const PROBE_EVENTS: bool = false;
    /// Whether [`Event::Crash`] must carry its infector. If no observer reads
    /// it, the general engine does not draw it and reports [`NO_HOST`]; if one
    /// does, it draws it from a stream of its own. The outbreak is the same
    /// either way.
    const CRASH_INFECTORS: bool = true;
    /// Whether [`Event::Instance`] must name its host. An observer that only
    /// counts re-infections by time (like [`crate::observe::Series`]) sets this
    /// to false, and the general engine may then send one [`Event::Instances`]
    /// per grid bin in place of the pooled hosts' [`Event::Instance`]s when it
    /// settles many of them at once (the CRv2 preset's 724,000 at 00:00 UTC
    /// on 20 July). The outbreak is the same either way.
    const INSTANCE_HOSTS: bool = true;
    /// The time grid `(start, bin [s])` by which the observer bins
    /// [`Event::Instance`], if it reads them at all.
    ///
    /// The general engine settles the re-infections of hosts whose rate an
    /// extra instance cannot change only when it next looks at them (the
    /// "pool"; see `engine::general::pool`), so their [`Event::Instance`] may
    /// arrive after events with later times. With a grid, the event's time is
    /// inside the grid bin `(start + (k−1)·bin, start + k·bin]` the re-infection
    /// fell in (exactly so: the engine keeps its clocks at every grid point);
    /// without one it is the time the engine settled the host, at or after the
    /// re-infection. The grid is read once, when the run starts.
    fn instance_grid(&self) -> Option<(SimTime, f64)> {
        None
    }
    fn interval(&mut self, _from: SimTime, _to: SimTime, _view: &View) {}
    fn event(&mut self, _event: &Event, _view: &View) {}
}

impl Observer for () {
    const NEEDS_HOSTS: bool = false;
    const EVENT_VIEW: bool = false;
    const RATE_EVENTS: bool = false;
    const CRASH_INFECTORS: bool = false;
    const INSTANCE_HOSTS: bool = false;
}

impl<O: Observer + ?Sized> Observer for &mut O {
    const NEEDS_HOSTS: bool = O::NEEDS_HOSTS;
    const EVENT_VIEW: bool = O::EVENT_VIEW;
    const RATE_EVENTS: bool = O::RATE_EVENTS;
    const PROBE_EVENTS: bool = O::PROBE_EVENTS;
    const CRASH_INFECTORS: bool = O::CRASH_INFECTORS;
    const INSTANCE_HOSTS: bool = O::INSTANCE_HOSTS;
    fn instance_grid(&self) -> Option<(SimTime, f64)> {
        (**self).instance_grid()
    }
    #[inline]
    fn interval(&mut self, from: SimTime, to: SimTime, view: &View) {
        (**self).interval(from, to, view);
    }
    #[inline]
    fn event(&mut self, event: &Event, view: &View) {
        (**self).event(event, view);
    }
}

impl<A: Observer, B: Observer> Observer for (A, B) {
    const NEEDS_HOSTS: bool = A::NEEDS_HOSTS || B::NEEDS_HOSTS;
    const EVENT_VIEW: bool = A::EVENT_VIEW || B::EVENT_VIEW;
    const RATE_EVENTS: bool = A::RATE_EVENTS || B::RATE_EVENTS;
    const PROBE_EVENTS: bool = A::PROBE_EVENTS || B::PROBE_EVENTS;
    const CRASH_INFECTORS: bool = A::CRASH_INFECTORS || B::CRASH_INFECTORS;
    const INSTANCE_HOSTS: bool = A::INSTANCE_HOSTS || B::INSTANCE_HOSTS;
    /// The first member's grid, else the second's.
    fn instance_grid(&self) -> Option<(SimTime, f64)> {
        self.0.instance_grid().or_else(|| self.1.instance_grid())
    }
    #[inline]
    fn interval(&mut self, from: SimTime, to: SimTime, view: &View) {
        self.0.interval(from, to, view);
        self.1.interval(from, to, view);
    }
    #[inline]
    fn event(&mut self, event: &Event, view: &View) {
        self.0.event(event, view);
        self.1.event(event, view);
    }
}

/// Which engine to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineChoice {
    /// The fastest exact engine for the scenario ([`Plan::select`]).
    Auto,
    /// The general exact engine, whatever the scenario.
    General,
    /// The per-probe reference (small address spaces only).
    Reference,
}

/// The exact engine a scenario needs: a pure function of its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Pure SI with equal scan rates: [`fast::FastSi`].
    FastSi,
    /// Everything else: [`general::General`].
    General,
}

impl Plan {
    /// The fast path applies when nothing but infection happens and every host
    /// scans at the same rate all the time, so the infection order is a uniform
    /// random permutation and the infector a uniform infected host: uniform
    /// scanning, a fixed rate, no patching, reboots, re-infection, lifetime or
    /// drop-dead date, one thread count, right clocks, and no calendar change
    /// that wakes threads one by one or starts a flood.
    pub fn select(s: &Scenario) -> Plan {
        let w = &s.worm;
        let simple_worm = matches!(w.scan_rate, ScanRateSpec::Fixed(_))
            && w.scan == ScanStrategy::Uniform
            && w.reinfection == Reinfection::Ignore
            && w.lifetime.is_none()
            && w.drop_dead.is_none()
            && (w.chinese_threads == w.threads || s.traits.chinese_fraction == 0.0)
            && !(w.nt4_crash && s.traits.nt4_fraction > 0.0)
            && w.deface.is_none();
        let simple_defense = s.defense.patch.is_zero()
            && s.defense.initial_patched == 0.0
            && s.defense.reboot.is_zero();
        let simple_calendar = !s.calendar.enabled
            || (s.calendar.wrong_clocks == 0
                && phase_breakpoints(s).iter().all(|&(_, p)| match p {
                    calendar::Phase::Spread => {
                        matches!(s.calendar.wake, Wake::Lagged { max_lag } if max_lag == 0.0)
                    }
                    calendar::Phase::Flood => !s.flood.enabled,
                    calendar::Phase::Dormant => true,
                }));
        if simple_worm
            && simple_defense
            && simple_calendar
            && extras::none(s)
            && s.checkpoint.is_none()
            && s.network.congestion == Congestion::None
        {
            Plan::FastSi
        } else {
            Plan::General
        }
    }
}

/// Why a simulation could not be set up.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SetupError {
    #[error("population")]
    Population(#[from] PopulationError),
    #[error(
        "worm.initial_addresses: {0} is not a host of the population; list only vulnerable hosts"
    )]
    SeedNotHost(String),
    #[error(
        "the reference engine simulates every probe and accepts address spaces of at most 2^24; \
         this scenario has 2^{0} (set scenario.space_bits <= 24, or use the exact engine)"
    )]
    SpaceTooLargeForReference(u8),
    #[error("the reference engine does not model {0}; use the exact engine (--engine auto)")]
    NotInReference(&'static str),
    #[error("{0}")]
    Unsupported(String),
    #[error(
        "worm.scan_rate: the hosts' scan rates add up to {0:.3e} probes/s at most (all of \
         their instances), beyond the {max:.3e} probes/s the engines count exactly in \
         integers; use a lower scan_rate (or uplink), fewer hosts or fewer max_instances",
        max = MAX_TOTAL_RATE_UNITS as f64 / RATE_UNITS_PER_PROBE
    )]
    RateTooLarge(f64),
}

impl SetupError {
    /// The scenario key the error is about, where there is one (the CLI
    /// locates it in the file).
    pub fn key(&self) -> Option<String> {
        match self {
            SetupError::Population(PopulationError::TooLarge { .. }) => {
                Some("population.hosts".into())
            }
            SetupError::Population(PopulationError::Invalid { what, .. }) => Some(match *what {
                "population" => "population".into(),
                "space_bits" => "scenario.space_bits".into(),
                w => format!("population.{w}"),
            }),
            SetupError::SeedNotHost(_) => Some("worm.initial_addresses".into()),
            SetupError::SpaceTooLargeForReference(_) => Some("scenario.space_bits".into()),
            SetupError::RateTooLarge(_) => Some("worm.scan_rate".into()),
            SetupError::Population(PopulationError::File { .. })
            | SetupError::NotInReference(_)
            | SetupError::Unsupported(_) => None,
        }
    }
}

/// The largest summed scan rate of all hosts, at all their instances, that
/// the engines accept [rate units]: 2^62, so that sums and differences of
/// host weights stay exact in `u64` (about 4.4e12 probes/s; the CRv2 preset
/// needs 1.5e7).
pub const MAX_TOTAL_RATE_UNITS: u128 = 1 << 62;

/// Host trait bits in [`Setup::flags`].
pub mod trait_bit {
    pub const ENGLISH: u8 = 1;
    pub const CHINESE: u8 = 2;
    pub const NT4: u8 = 4;
    pub const WRONG_CLOCK: u8 = 8;
}

/// What every engine starts from: identical for all engines at a given seed.
#[derive(Clone, Debug)]
pub struct Setup {
    pub population: Population,
    /// Per-thread scan rate of each host, in units of 2^-20 probes/s.
    pub thread_units: Vec<u64>,
    /// Scanning threads per worm instance on each host.
    pub threads: Vec<u16>,
    /// Trait bits per host ([`trait_bit`]).
    pub flags: Vec<u8>,
    /// Hosts with wrong clocks and their offsets [s] (host clock = UTC + offset), by host.
    pub clock: Vec<(u32, f64)>,
    /// Hosts infected at the start, in draw order.
    pub seeds: Vec<u32>,
    /// Hosts patched at the start.
    pub patched: Vec<u32>,
    /// The saved state to start from, if any.
    pub checkpoint: Option<Arc<Checkpoint>>,
}

/// Round a rate to a whole number of 2^-20 probes/s.
pub fn rate_units(r: f64) -> u64 {
    (r * RATE_UNITS_PER_PROBE).round() as u64
}

impl Setup {
    /// Build the population, draw scan rates and traits and pick the seeds, each
    /// from its own stream (or read them all from the checkpoint).
    ///
    /// # Errors
    /// [`SetupError`].
    pub fn new(s: &Scenario, streams: &Streams) -> Result<Setup, SetupError> {
        if let Some(ck) = &s.checkpoint {
            return Ok(ck.setup(s));
        }
        if s.population == PopulationSpec::Checkpoint {
            return Err(SetupError::Unsupported(
                "population.model = \"checkpoint\" needs [initial] checkpoint".into(),
            ));
        }
        let population = Population::build(
            &s.population,
            s.space_bits,
            &mut streams.stream(stream::POPULATION),
        )?;
        let n = population.len();
        let w = &s.worm;
        // Traits first (their stream is independent of the others).
        let mut flags = vec![0u8; n];
        {
            let mut rng = streams.stream(stream::HOST_TRAITS);
            let t = &s.traits;
            for f in flags.iter_mut() {
                let (e, c, d) = (
                    rng.random::<f64>(),
                    rng.random::<f64>(),
                    rng.random::<f64>(),
                );
                *f = (u8::from(e < t.english_fraction) * trait_bit::ENGLISH)
                    | (u8::from(c < t.chinese_fraction) * trait_bit::CHINESE)
                    | (u8::from(d < t.nt4_fraction) * trait_bit::NT4);
            }
        }
        let mut clock = Vec::new();
        if s.calendar.wrong_clocks > 0 {
            let mut rng = streams.stream(stream::CLOCK);
            let k = (s.calendar.wrong_clocks as usize).min(n);
            let mut idx: Vec<u32> = (0..n as u32).collect();
            for i in 0..k {
                let j = i + below(&mut rng, (n - i) as u32) as usize;
                idx.swap(i, j);
            }
            idx.truncate(k);
            idx.sort_unstable();
            for h in idx {
                let off = (2.0 * rng.random::<f64>() - 1.0) * s.calendar.wrong_clock_max;
                flags[h as usize] |= trait_bit::WRONG_CLOCK;
                clock.push((h, off));
            }
        }
        let threads: Vec<u16> = flags
            .iter()
            .map(|&f| {
                if f & trait_bit::CHINESE != 0 {
                    w.chinese_threads as u16
                } else {
                    w.threads as u16
                }
            })
            .collect();
        let per_thread = |r: f64| rate_units(r / w.threads as f64);
        let thread_units = match w.scan_rate {
            ScanRateSpec::Fixed(r) => vec![per_thread(r); n],
            ScanRateSpec::LogNormal { mean, cv } => {
                let sigma2 = (1.0 + cv * cv).ln();
                let d = LogNormal::new(mean.ln() - sigma2 / 2.0, sigma2.sqrt())
                    .expect("validated: mean > 0 and cv finite");
                let mut rng = streams.stream(stream::SCAN_RATE);
                (0..n).map(|_| per_thread(d.sample(&mut rng))).collect()
            }
            // Bandwidth-limited: uplink [bit/s] over the probe's bits.
            ScanRateSpec::Bandwidth {
                mean_bps,
                cv,
                probe_bytes,
            } => {
                let sigma2 = (1.0 + cv * cv).ln();
                let d = LogNormal::new(mean_bps.ln() - sigma2 / 2.0, sigma2.sqrt())
                    .expect("validated: mean > 0 and cv finite");
                let mut rng = streams.stream(stream::SCAN_RATE);
                (0..n)
                    .map(|_| per_thread(d.sample(&mut rng) / (8.0 * probe_bytes)))
                    .collect()
            }
        };
        // Host weights are integers (rate units) summed in `u64`: refuse rates
        // whose sum over every host at its most instances could overflow.
        let max_instances = u128::from(w.reinfection.max_instances());
        let most: u128 = thread_units
            .iter()
            .zip(&threads)
            .map(|(&tu, &k)| u128::from(tu) * u128::from(k) * max_instances)
            .sum();
        if most > MAX_TOTAL_RATE_UNITS {
            return Err(SetupError::RateTooLarge(most as f64 / RATE_UNITS_PER_PROBE));
        }
        let seeds = match &w.seeding {
            Seeding::Count(k) => {
                let k = (*k as usize).min(n);
                let mut rng = streams.stream(stream::SEEDING);
                let mut idx: Vec<u32> = (0..n as u32).collect();
                for i in 0..k {
                    let j = rng.random_range(i..n);
                    idx.swap(i, j);
                }
                idx.truncate(k);
                // The draw needed an index per host; the seeds keep only theirs
                // (a run of 10^7 hosts kept 40 MB of indices otherwise).
                idx.shrink_to_fit();
                idx
            }
            Seeding::Addresses(addrs) => {
                let mut out = Vec::with_capacity(addrs.len());
                for &a in addrs {
                    let h = population
                        .host_at(a)
                        .ok_or_else(|| SetupError::SeedNotHost(fmt_addr(a)))?;
                    if !out.contains(&h) {
                        out.push(h);
                    }
                }
                out
            }
        };
        let mut patched = Vec::new();
        if s.defense.initial_patched > 0.0 {
            let mut rng = streams.stream(stream::PATCH_INITIAL);
            let mut is_seed = vec![false; n];
            for &h in &seeds {
                is_seed[h as usize] = true;
            }
            for h in 0..n as u32 {
                if rng.random::<f64>() < s.defense.initial_patched && !is_seed[h as usize] {
                    patched.push(h);
                }
            }
        }
        Ok(Setup {
            population,
            thread_units,
            threads,
            flags,
            clock,
            seeds,
            patched,
            checkpoint: None,
        })
    }

    /// Rate of one instance of the worm on `h` with every thread awake [probes/s].
    pub fn rate(&self, h: u32) -> f64 {
        (self.thread_units[h as usize] * self.threads[h as usize] as u64) as f64
            / RATE_UNITS_PER_PROBE
    }

    /// The clock offset of host `h` [s] (0 for a right clock).
    pub fn clock_offset(&self, h: u32) -> f64 {
        if self.flags[h as usize] & trait_bit::WRONG_CLOCK == 0 {
            return 0.0;
        }
        match self.clock.binary_search_by_key(&h, |c| c.0) {
            Ok(i) => self.clock[i].1,
            Err(_) => 0.0,
        }
    }
}

/// Per-host results, indexed like the population.
#[derive(Clone, Debug, PartialEq)]
pub struct HostRecords {
    /// Time of the host's first infection [s since epoch]; NaN if never infected.
    pub first_infected_at: Vec<f64>,
    /// Host that first infected it; [`NO_HOST`] for seeds and never-infected hosts.
    pub first_infector: Vec<u32>,
    /// State at the end of the run.
    pub state: Vec<HostState>,
    /// Hosts in the order of their first infection (seeds first): so in time order.
    pub infection_order: Vec<u32>,
}

impl HostRecords {
    fn new(n: usize) -> Self {
        HostRecords {
            first_infected_at: vec![f64::NAN; n],
            first_infector: vec![NO_HOST; n],
            state: vec![HostState::Susceptible; n],
            infection_order: Vec::new(),
        }
    }

    /// First-infection times of every host ever infected, in time order [s since epoch].
    pub fn sorted_infection_times(&self) -> Vec<f64> {
        self.infection_order
            .iter()
            .map(|&h| self.first_infected_at[h as usize])
            .collect()
    }
}

/// Totals kept by every engine.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    /// Infection events, including re-infections after reboot (not seeds).
    pub infections: u64,
    /// Infections of hosts that had been infected before.
    pub reinfections: u64,
    /// Probes that reached an infected host and started another worm instance.
    pub instances_added: u64,
    /// Of `instances_added`, those the general engine settled from its pool of
    /// hosts an extra instance cannot speed up (`engine::general::pool`).
    pub pooled_instances: u64,
    pub patches: u64,
    pub patched_while_infected: u64,
    /// Infections ended by a reboot.
    pub reboots: u64,
    /// Infections ended by the worm's lifetime or drop-dead date.
    pub expired: u64,
    pub crashes: u64,
    /// Every event the engine processed.
    pub events: u64,
}

// One per simulation, never in a collection: its size costs nothing, while a
// box would add an indirection to every step.
#[allow(clippy::large_enum_variant)]
enum Engine {
    Fast(fast::FastSi),
    General(general::General),
    Reference(reference::Reference),
}

/// What a run keeps beyond what its outputs need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Keep {
    /// Also what a checkpoint needs ([`Simulation::checkpoint`]): the start
    /// of each host's current infection, 8 bytes per host, which nothing in
    /// a run reads (a later scenario restores lifetimes and defacements from
    /// it).
    #[default]
    Checkpoint,
    /// Only what the outputs need (series, summary, per-host records):
    /// [`Simulation::checkpoint`] then fails. What `wormsim run` without
    /// `--save-checkpoint`, ensembles, sweeps and `validate` use.
    Outputs,
}

/// A running simulation of one scenario replicate.
///
/// # Examples
/// ```
/// use wormsim::engine::{EngineChoice, Simulation};
/// use wormsim::scenario::Scenario;
/// let s = Scenario::from_str("t.toml", r#"
///     [scenario]
///     name = "tiny"
///     start = 2001-07-19T10:00:00Z
///     end = 2001-07-19T12:00:00Z
///     space_bits = 16
///     [population]
///     model = "uniform"
///     hosts = 500
///     [worm]
///     variant = "generic"
///     scan_rate = 10.0
/// "#).unwrap();
/// let mut sim = Simulation::new(&s, 7, 0, EngineChoice::Auto).unwrap();
/// sim.run(&mut ());
/// assert!(sim.view().ever_infected > 400);
/// ```
pub struct Simulation {
    engine: Engine,
    end: SimTime,
}

impl Simulation {
    /// Set up replicate `replicate` of `scenario` with base seed `seed`,
    /// keeping what a checkpoint needs ([`Keep::Checkpoint`]).
    ///
    /// # Errors
    /// [`SetupError`].
    pub fn new(
        scenario: &Scenario,
        seed: u64,
        replicate: u64,
        choice: EngineChoice,
    ) -> Result<Self, SetupError> {
        Self::with_keep(scenario, seed, replicate, choice, Keep::Checkpoint)
    }

    /// [`Simulation::new`], keeping `keep`. The run and its outputs are the
    /// same either way; [`Keep::Outputs`] takes 8 bytes per host less in the
    /// general engine, and its run cannot be saved as a checkpoint.
    ///
    /// # Errors
    /// [`SetupError`].
    pub fn with_keep(
        scenario: &Scenario,
        seed: u64,
        replicate: u64,
        choice: EngineChoice,
        keep: Keep,
    ) -> Result<Self, SetupError> {
        let streams = Streams::new(seed, replicate);
        let setup = Setup::new(scenario, &streams)?;
        extras::check(scenario, &setup)?;
        let engine = match choice {
            EngineChoice::Reference => {
                if scenario.space_bits > 24 {
                    return Err(SetupError::SpaceTooLargeForReference(scenario.space_bits));
                }
                reference::Reference::supports(scenario)?;
                Engine::Reference(reference::Reference::new(scenario, setup, &streams))
            }
            EngineChoice::General => {
                Engine::General(general::General::new(scenario, setup, &streams, keep)?)
            }
            EngineChoice::Auto => match Plan::select(scenario) {
                Plan::FastSi => Engine::Fast(fast::FastSi::new(scenario, setup, &streams)),
                Plan::General => {
                    Engine::General(general::General::new(scenario, setup, &streams, keep)?)
                }
            },
        };
        Ok(Simulation {
            engine,
            end: scenario.end,
        })
    }

    /// The engine in use.
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Fast(_) => "exact/fast-si",
            Engine::General(_) => "exact/general",
            Engine::Reference(_) => "reference/per-probe",
        }
    }

    /// Current simulated time.
    pub fn time(&self) -> SimTime {
        match &self.engine {
            Engine::Fast(e) => e.time(),
            Engine::General(e) => e.time(),
            Engine::Reference(e) => e.time(),
        }
    }

    /// The aggregate state now.
    pub fn view(&self) -> View {
        match &self.engine {
            Engine::Fast(e) => e.view(),
            Engine::General(e) => e.view(),
            Engine::Reference(e) => e.view(),
        }
    }

    /// Push the initial state (seed infections) to `obs`. Called once by
    /// [`Simulation::run_until`] if not called before.
    pub fn start<O: Observer>(&mut self, obs: &mut O) {
        match &mut self.engine {
            Engine::Fast(e) => e.start(obs),
            Engine::General(e) => e.start(obs),
            Engine::Reference(e) => e.start(obs),
        }
    }

    /// Process the next event, or advance to `stop` if none comes first.
    /// Returns false once the time has reached `stop`.
    pub fn step<O: Observer>(&mut self, stop: SimTime, obs: &mut O) -> bool {
        let stop = if stop > self.end { self.end } else { stop };
        self.start(obs);
        match &mut self.engine {
            Engine::Fast(e) => e.step(stop, obs),
            Engine::General(e) => e.step(stop, obs),
            Engine::Reference(e) => e.step(stop, obs),
        }
    }

    /// Run until `stop` (at most the scenario end).
    pub fn run_until<O: Observer>(&mut self, stop: SimTime, obs: &mut O) {
        let stop = if stop > self.end { self.end } else { stop };
        self.start(obs);
        match &mut self.engine {
            Engine::Fast(e) => e.run_until(stop, obs),
            Engine::General(e) => e.run_until(stop, obs),
            Engine::Reference(e) => while e.step(stop, obs) {},
        }
    }

    /// Run to the scenario end.
    pub fn run<O: Observer>(&mut self, obs: &mut O) {
        self.run_until(self.end, obs);
    }

    /// Per-host results so far.
    pub fn hosts(&mut self) -> HostRecords {
        match &mut self.engine {
            Engine::Fast(e) => e.hosts(),
            Engine::General(e) => e.hosts(),
            Engine::Reference(e) => e.hosts(),
        }
    }

    /// Per-host results, ending the simulation: [`Simulation::hosts`] without
    /// a copy beside the engine's state. The general engine frees its other
    /// state first, then builds each output from one of its arrays and frees
    /// that, so the peak memory of a run is its peak while running.
    pub fn into_hosts(self) -> HostRecords {
        match self.engine {
            Engine::Fast(mut e) => e.hosts(),
            Engine::General(e) => e.into_hosts(),
            Engine::Reference(e) => e.hosts(),
        }
    }

    /// Totals so far.
    pub fn counters(&self) -> Counters {
        match &self.engine {
            Engine::Fast(e) => e.counters(),
            Engine::General(e) => e.counters(),
            Engine::Reference(e) => e.counters(),
        }
    }

    /// The population.
    pub fn population(&self) -> &Population {
        match &self.engine {
            Engine::Fast(e) => &e.setup().population,
            Engine::General(e) => &e.setup().population,
            Engine::Reference(e) => &e.setup().population,
        }
    }

    /// Record every probe the reference engine sends from now on (for tests
    /// that check probe-level rules); false for the exact engines, which do
    /// not send probes one by one.
    pub fn enable_probe_log(&mut self) -> bool {
        match &mut self.engine {
            Engine::Reference(e) => {
                e.enable_probe_log();
                true
            }
            Engine::Fast(_) | Engine::General(_) => false,
        }
    }

    /// The probes logged since [`Simulation::enable_probe_log`] (reference only).
    pub fn probe_log(&self) -> Option<&[reference::SentProbe]> {
        match &self.engine {
            Engine::Reference(e) => e.probe_log(),
            Engine::Fast(_) | Engine::General(_) => None,
        }
    }

    /// What the run started from (population, rates, traits, seeds).
    pub fn setup(&self) -> &Setup {
        match &self.engine {
            Engine::Fast(e) => e.setup(),
            Engine::General(e) => e.setup(),
            Engine::Reference(e) => e.setup(),
        }
    }

    /// The state now, as a checkpoint a later scenario can start from.
    ///
    /// # Errors
    /// The engine cannot save this scenario's state (see [`Checkpoint`]).
    pub fn checkpoint(&mut self) -> Result<Checkpoint, SetupError> {
        match &mut self.engine {
            Engine::General(e) => e.checkpoint(),
            Engine::Fast(_) | Engine::Reference(_) => Err(SetupError::Unsupported(
                "checkpoints are written by the general engine; run with --engine general".into(),
            )),
        }
    }
}

/// Global breakpoints of a scenario: calendar phase changes in `(start, end]`.
pub(crate) fn phase_breakpoints(s: &Scenario) -> Vec<(SimTime, calendar::Phase)> {
    if s.calendar.enabled {
        calendar::transitions(s.start, s.end)
    } else {
        Vec::new()
    }
}

/// Whether right-clock hosts spread at `t`.
pub(crate) fn spreading_at(s: &Scenario, t: SimTime) -> bool {
    !s.calendar.enabled || calendar::Phase::at(t) == calendar::Phase::Spread
}

/// A unit exponential draw: `rng.sample(Exp1)`, through the distribution
/// itself, whose sampler is marked for inlining (`RngExt::sample` is not, and
/// its call saved and restored the ziggurat's registers at each of the CRv2
/// preset's 10^6 draws: bench/RESULTS.md, twenty-second session).
#[inline]
pub(crate) fn exp1(rng: &mut Rng) -> f64 {
    rand_distr::Distribution::sample(&rand_distr::Exp1, rng)
}
