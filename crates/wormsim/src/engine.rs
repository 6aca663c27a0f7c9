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

pub mod fast;
pub mod general;
pub mod reference;

use crate::calendar;
use crate::population::{Population, PopulationError, fmt_addr};
use crate::rng::{Rng, Streams, stream};
use crate::scenario::{ScanRateSpec, Scenario, Seeding};
use crate::time::SimTime;
use rand::RngExt;
use rand_distr::{Distribution, LogNormal};

/// "No host" in host-index arrays.
pub const NO_HOST: u32 = u32::MAX;

/// A host's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum HostState {
    Susceptible = 0,
    Infected = 1,
    /// Patched: immune for good.
    Patched = 2,
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
    /// `host` was patched.
    Patch {
        t: SimTime,
        host: u32,
        was_infected: bool,
    },
    /// Infected `host` rebooted and is susceptible again.
    Reboot { t: SimTime, host: u32 },
    /// The calendar phase of every right-clock host changed.
    Phase { t: SimTime, phase: calendar::Phase },
}

impl Event {
    pub fn time(&self) -> SimTime {
        match *self {
            Event::Infection { t, .. }
            | Event::Patch { t, .. }
            | Event::Reboot { t, .. }
            | Event::Phase { t, .. } => t,
        }
    }
}

/// The aggregate state, as observers see it.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct View {
    pub susceptible: u32,
    pub infected: u32,
    pub patched: u32,
    /// Hosts infected at least once.
    pub ever_infected: u32,
    /// Total scan rate of spreading hosts [probes/s].
    pub probe_rate: f64,
    /// Rate of events caused by probes (infections) [1/s]; `probe_rate - hit_rate`
    /// is the rate of probes that change nothing.
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
    fn interval(&mut self, _from: SimTime, _to: SimTime, _view: &View) {}
    fn event(&mut self, _event: &Event, _view: &View) {}
}

impl Observer for () {
    const NEEDS_HOSTS: bool = false;
}

impl<O: Observer + ?Sized> Observer for &mut O {
    const NEEDS_HOSTS: bool = O::NEEDS_HOSTS;
    fn interval(&mut self, from: SimTime, to: SimTime, view: &View) {
        (**self).interval(from, to, view);
    }
    fn event(&mut self, event: &Event, view: &View) {
        (**self).event(event, view);
    }
}

impl<A: Observer, B: Observer> Observer for (A, B) {
    const NEEDS_HOSTS: bool = A::NEEDS_HOSTS || B::NEEDS_HOSTS;
    fn interval(&mut self, from: SimTime, to: SimTime, view: &View) {
        self.0.interval(from, to, view);
        self.1.interval(from, to, view);
    }
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
    /// scans at the same rate, so the infection order is a uniform random
    /// permutation and the infector a uniform infected host.
    pub fn select(s: &Scenario) -> Plan {
        let fixed = matches!(s.worm.scan_rate, ScanRateSpec::Fixed(_));
        if fixed && s.defense.patch.is_zero() && s.defense.reboot.is_zero() {
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
}

/// What every engine starts from: identical for all engines at a given seed.
#[derive(Clone, Debug)]
pub struct Setup {
    pub population: Population,
    /// Per-host scan rate [probes/s].
    pub scan_rate: Vec<f32>,
    /// Hosts infected at the start, in draw order.
    pub seeds: Vec<u32>,
}

impl Setup {
    /// Build the population, draw scan rates and pick the seeds, each from its own stream.
    ///
    /// # Errors
    /// [`SetupError`].
    pub fn new(s: &Scenario, streams: &Streams) -> Result<Setup, SetupError> {
        let population = Population::build(
            &s.population,
            s.space_bits,
            &mut streams.stream(stream::POPULATION),
        )?;
        let n = population.len();
        let scan_rate = match s.worm.scan_rate {
            ScanRateSpec::Fixed(r) => vec![quantize_rate(r); n],
            ScanRateSpec::LogNormal { mean, cv } => {
                let sigma2 = (1.0 + cv * cv).ln();
                let d = LogNormal::new(mean.ln() - sigma2 / 2.0, sigma2.sqrt())
                    .expect("validated: mean > 0 and cv finite");
                let mut rng = streams.stream(stream::SCAN_RATE);
                (0..n).map(|_| quantize_rate(d.sample(&mut rng))).collect()
            }
        };
        let seeds = match &s.worm.seeding {
            Seeding::Count(k) => {
                let k = (*k as usize).min(n);
                let mut rng = streams.stream(stream::SEEDING);
                let mut idx: Vec<u32> = (0..n as u32).collect();
                for i in 0..k {
                    let j = rng.random_range(i..n);
                    idx.swap(i, j);
                }
                idx.truncate(k);
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
        Ok(Setup {
            population,
            scan_rate,
            seeds,
        })
    }
}

/// Round a scan rate to a whole number of 2^-20 probes/s, the unit in which the
/// general engine sums rates exactly. Every such value below 2^4 probes/s (and every
/// `f32` above) is exactly representable as `f32`, so all engines see the same rate.
pub fn quantize_rate(r: f64) -> f32 {
    ((r * general::RATE_UNITS_PER_PROBE).round() / general::RATE_UNITS_PER_PROBE) as f32
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
    pub patches: u64,
    pub patched_while_infected: u64,
    pub reboots: u64,
    /// Every event the engine processed (infections, patches, reboots, phase changes).
    pub events: u64,
}

enum Engine {
    Fast(fast::FastSi),
    General(general::General),
    Reference(reference::Reference),
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
    /// Set up replicate `replicate` of `scenario` with base seed `seed`.
    ///
    /// # Errors
    /// [`SetupError`].
    pub fn new(
        scenario: &Scenario,
        seed: u64,
        replicate: u64,
        choice: EngineChoice,
    ) -> Result<Self, SetupError> {
        let streams = Streams::new(seed, replicate);
        let setup = Setup::new(scenario, &streams)?;
        let engine = match choice {
            EngineChoice::Reference => {
                if scenario.space_bits > 24 {
                    return Err(SetupError::SpaceTooLargeForReference(scenario.space_bits));
                }
                Engine::Reference(reference::Reference::new(scenario, setup, &streams))
            }
            EngineChoice::General => {
                Engine::General(general::General::new(scenario, setup, &streams))
            }
            EngineChoice::Auto => match Plan::select(scenario) {
                Plan::FastSi => Engine::Fast(fast::FastSi::new(scenario, setup, &streams)),
                Plan::General => Engine::General(general::General::new(scenario, setup, &streams)),
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

    /// Per-host scan rates [probes/s].
    pub fn scan_rates(&self) -> &[f32] {
        match &self.engine {
            Engine::Fast(e) => &e.setup().scan_rate,
            Engine::General(e) => &e.setup().scan_rate,
            Engine::Reference(e) => &e.setup().scan_rate,
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

/// A unit exponential draw.
#[inline]
pub(crate) fn exp1(rng: &mut Rng) -> f64 {
    rng.sample(rand_distr::Exp1)
}

/// A set of host indices with O(1) insert, remove and uniform choice.
#[derive(Clone, Debug)]
pub(crate) struct DenseSet {
    items: Vec<u32>,
    pos: Vec<u32>,
}

impl DenseSet {
    pub fn new(capacity: usize) -> Self {
        DenseSet {
            items: Vec::new(),
            pos: vec![NO_HOST; capacity],
        }
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn insert(&mut self, h: u32) {
        debug_assert_eq!(self.pos[h as usize], NO_HOST);
        self.pos[h as usize] = self.items.len() as u32;
        self.items.push(h);
    }
    pub fn remove(&mut self, h: u32) {
        let i = self.pos[h as usize];
        debug_assert_ne!(i, NO_HOST);
        self.remove_at(i as usize, h);
    }
    /// Remove `h`, known to sit at position `i` (saves looking its position up).
    pub fn remove_at(&mut self, i: usize, h: u32) {
        debug_assert_eq!(self.items[i], h);
        let last = self.items.pop().expect("remove from a non-empty set");
        if last != h {
            self.items[i] = last;
            self.pos[last as usize] = i as u32;
        }
        self.pos[h as usize] = NO_HOST;
    }
    /// Position of `h` in the set.
    pub fn position(&self, h: u32) -> usize {
        self.pos[h as usize] as usize
    }
    /// A uniform position and the host there.
    pub fn choose_at(&self, rng: &mut Rng) -> (usize, u32) {
        let i = crate::rng::below(rng, self.items.len() as u32) as usize;
        (i, self.items[i])
    }
    pub fn choose(&self, rng: &mut Rng) -> u32 {
        self.items[crate::rng::below(rng, self.items.len() as u32) as usize]
    }
}
