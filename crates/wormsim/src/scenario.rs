//! Scenarios: what to simulate, read from TOML in two stages.
//!
//! Stage 1 ([`raw`]) reads the file into plain structs and rejects unknown keys and
//! wrong types. Stage 2 ([`Scenario::from_source`], in [`resolve`]) checks every
//! value and resolves it into a [`Scenario`], filling each default from the worm
//! variant. Every error names the file, the line and column, the key and the fix,
//! as one line:
//!
//! ```text
//! my.toml:7:13: worm.scan_rate: -1 is negative; a rate must be a finite number >= 0 [probes/s]
//! ```
//!
//! Built-in presets live in `scenarios/*.toml` and are embedded by [`crate::preset`].
//! Every key, its unit and its default are listed in `docs/scenario.md`.

pub mod containment;
pub mod defaults;
pub mod location;
pub mod raw;
mod resolve;
pub mod strategy;

pub use containment::{ContainmentSpec, EgressSpec, FilterSpec, FilterStrategy, ThrottleSpec};
pub use strategy::{HitListHosts, HitListSpec, PayloadSpec, PermutationSpec, PermutationStart};

use crate::checkpoint::Checkpoint;
use crate::population::PopulationSpec;
use crate::schedule::RateSchedule;
use crate::time::SimTime;
use std::path::{Path, PathBuf};

/// A scenario file's text and where it came from.
#[derive(Clone, Debug)]
pub struct Source {
    /// Shown in error messages: a path, or `preset:<name>`.
    pub name: String,
    pub text: String,
    /// Directory against which relative paths in the file are resolved.
    pub base_dir: Option<PathBuf>,
}

impl Source {
    /// Read a scenario file.
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn from_path(path: &Path) -> Result<Source, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            file: path.display().to_string(),
            msg: format!("cannot read the scenario file: {e}"),
        })?;
        Ok(Source {
            name: path.display().to_string(),
            text,
            base_dir: path.parent().map(Path::to_path_buf),
        })
    }
}

/// Why `name` cannot name the default output directory `out/<name>` (of a
/// scenario or a sweep), if it cannot: a path separator or `..` would put the
/// output elsewhere, and a control character would reach terminals and
/// scripts (found by the black-box campaign).
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        Some(
            "the name names the output directory out/<name>; use no `/`, `\\` or `..` (pass --out to write elsewhere)",
        )
    } else if name.chars().any(char::is_control) {
        Some("the name holds a control character (a newline, a tab); use printable characters")
    } else {
        None
    }
}

/// Why a scenario is invalid.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// A problem at a place in the file.
    #[error("{file}:{line}:{col}: {key}: {msg}")]
    At {
        file: String,
        line: usize,
        col: usize,
        key: String,
        msg: String,
    },
    /// A problem with a file as a whole.
    #[error("{file}: {msg}")]
    Io { file: String, msg: String },
}

impl ScenarioError {
    /// The key path the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            ScenarioError::At { key, .. } => Some(key),
            ScenarioError::Io { .. } => None,
        }
    }
}

/// How a host's scan rate is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScanRateSpec {
    /// Every host scans at this rate [probes/s].
    Fixed(f64),
    /// Lognormal with this mean [probes/s] and coefficient of variation.
    LogNormal { mean: f64, cv: f64 },
    /// Bandwidth-limited: the host's uplink over the probe size,
    /// `r = u/(8·probe_bytes)`, with the uplink `u` lognormal of mean
    /// `mean_bps` [bit/s] and coefficient of variation `cv`.
    Bandwidth {
        mean_bps: f64,
        cv: f64,
        probe_bytes: f64,
    },
}

impl ScanRateSpec {
    /// The mean rate [probes/s].
    pub fn mean(&self) -> f64 {
        match *self {
            ScanRateSpec::Fixed(r) => r,
            ScanRateSpec::LogNormal { mean, .. } => mean,
            ScanRateSpec::Bandwidth {
                mean_bps,
                probe_bytes,
                ..
            } => mean_bps / (8.0 * probe_bytes),
        }
    }
}

/// Which worm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Code Red v1 (CAIDA naming): the static-seed, fixed-order scanner, 12 July 2001.
    CodeRedV1,
    /// Code Red v2: random-seed uniform scanning, 19 July 2001.
    CodeRedV2,
    /// Code Red II: local-preference scanner with a backdoor, 4 August 2001.
    CodeRedII,
    /// A generic uniform-scanning worm with no calendar of its own.
    Generic,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::CodeRedV1 => "crv1",
            Variant::CodeRedV2 => "crv2",
            Variant::CodeRedII => "crii",
            Variant::Generic => "generic",
        }
    }
}

/// CRv1's fixed scan order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceSpec {
    /// Key of the keyed bijection (the "static seed").
    pub key: u64,
    /// Each scanning thread starts at its own point of the sequence (instead of
    /// the host walking it from the start).
    pub per_thread_offset: bool,
}

/// Code Red II's local preference (Nazario, codered.md §2.5).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalPreferenceSpec {
    /// Probability that a probe stays in the host's own /8.
    pub same_slash8: f64,
    /// Probability that it stays in the host's own /16 (the rest is uniform).
    pub same_slash16: f64,
}

/// How targets are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScanStrategy {
    /// Uniform over the whole address space.
    Uniform,
    /// A fixed pseudo-random order, the same for every host (CRv1).
    Sequence(SequenceSpec),
    /// Own /8, own /16 or anywhere (CRII), never 127/8, 224/8 and above, or self.
    LocalPreference(LocalPreferenceSpec),
    /// One shared pseudo-random permutation walked by every host, jumping on
    /// meeting an infected host (Staniford, Paxson, Weaver 2002).
    Permutation(PermutationSpec),
}

/// Who is infected at the start.
#[derive(Clone, Debug, PartialEq)]
pub enum Seeding {
    /// This many hosts, drawn uniformly from the population (stream `seeding`).
    Count(u32),
    /// These addresses (each must be a host of the population).
    Addresses(Vec<u32>),
}

/// What a probe that reaches an infected host does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reinfection {
    /// Nothing (CRII checks its "CodeRedII" atom and does not run twice).
    Ignore,
    /// Another worm instance starts, with its own threads, up to a limit.
    AddInstance { max_instances: u8 },
}

impl Reinfection {
    /// The most worm instances a host can hold (1 when re-infection does nothing).
    pub fn max_instances(self) -> u8 {
        match self {
            Reinfection::AddInstance { max_instances } => max_instances,
            Reinfection::Ignore => 1,
        }
    }
}

/// The worm.
#[derive(Clone, Debug, PartialEq)]
pub struct WormSpec {
    pub variant: Variant,
    pub scan: ScanStrategy,
    /// Rate of one instance of the worm with all its threads awake [probes/s].
    pub scan_rate: ScanRateSpec,
    /// Scanning threads per instance (CRv1/v2: 99 of 100; CRII: 300).
    pub threads: u32,
    /// Threads on Chinese-language hosts (CRII: 600).
    pub chinese_threads: u32,
    /// Ceiling on one host's scan rate, as a multiple of its rate with one
    /// instance (`None`: every instance adds its threads' rate).
    pub max_scan_multiple: Option<f64>,
    pub seeding: Seeding,
    pub reinfection: Reinfection,
    /// How long one infection stays active [s] (CRII: about 24 h).
    pub lifetime: Option<f64>,
    /// After this date (by the host clock) the worm stops for good (CRII).
    pub drop_dead: Option<SimTime>,
    /// Windows NT 4 hosts crash instead of being infected (CRII).
    pub nt4_crash: bool,
    /// Rate at which a crashed host is brought back up [1/s].
    pub crash_recovery: f64,
    /// An infection leaves a backdoor that survives reboots (CRII).
    pub backdoor: bool,
    /// English-language hosts show the defaced page for this long [s] (CRv1).
    pub deface: Option<f64>,
    /// Size of one probe on the wire [bytes] (bandwidth and capacity in bit/s).
    pub probe_bytes: Option<f64>,
    /// A flawed generator confines each host to one of this many equal
    /// subsets of the address space (Slammer); 1 for a sound generator.
    pub prng_subsets: u32,
    /// A payload cycle that may crash the host (Witty).
    pub payload: Option<PayloadSpec>,
}

/// What a dormant worm does on the 1st of the month.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wake {
    /// It never wakes (Cooper: "it does not come back").
    Never,
    /// Each thread wakes after a lag uniform on `[0, max_lag]` [s] after 00:00 of
    /// the host's 1st (Houle: "variable times, measured in hours").
    Lagged { max_lag: f64 },
}

/// The Code Red calendar (host clock, day of month).
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarSpec {
    /// When false, infected hosts spread at all times.
    pub enabled: bool,
    pub wake: Wake,
    /// Hosts whose clock is wrong.
    pub wrong_clocks: u32,
    /// A wrong clock is off by a uniform amount in `[-max, max]` [s].
    pub wrong_clock_max: f64,
}

/// The denial-of-service flood of days 20–27.
#[derive(Clone, Debug, PartialEq)]
pub struct FloodSpec {
    pub enabled: bool,
    /// The hard-coded target address (198.137.240.91).
    pub target: u32,
    /// TCP connections per burst (one per thread).
    pub connections: u32,
    /// Payload bytes sent per burst, over all connections [bytes].
    pub bytes_per_burst: f64,
    /// Time from one burst to the next [s].
    pub period: f64,
    /// Payload bytes per data packet [bytes].
    pub packet_payload: u32,
    /// The address the site moves to (198.137.240.92).
    pub site_moves_to: u32,
    /// When the site moves (`None`: never).
    pub move_at: Option<SimTime>,
    /// When upstream filtering of the old address starts (`None`: never).
    pub filter_at: Option<SimTime>,
}

/// Congestion feedback on scanning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Congestion {
    None,
    /// Zou, Gong, Towsley (CCS 2002): scanning slowed by `(1 − I/N)^η`.
    Zou {
        eta: f64,
    },
    /// Offered load `L = Σ r_h` is delivered as `L/(1 + L/C)`: each host's rate
    /// is scaled by `1/(1 + L/C)` [C in probes/s].
    Capacity {
        probes_per_s: f64,
    },
}

/// The network between the worm and its targets.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSpec {
    /// SYN retransmissions when a probe gets no answer (Windows 2000: 2, at 3 s and 9 s).
    pub syn_retries: u32,
    /// Fraction of probed addresses that answer (SYN-ACK or RST), so no retransmission.
    pub answer_fraction: f64,
    /// Size of a SYN packet on the wire, IP and TCP headers with options [bytes].
    pub syn_bytes: u32,
    pub congestion: Congestion,
}

/// Delay between deciding to patch (the download) and installing it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PatchLag {
    None,
    Fixed { days: f64 },
    Exponential { mean_days: f64 },
    LogNormal { median_days: f64, sigma: f64 },
}

/// Defender processes.
#[derive(Clone, Debug, PartialEq)]
pub struct DefenseSpec {
    /// Download hazard per host (susceptible or infected) [1/s].
    pub patch: RateSchedule,
    /// Testing lag from download to install.
    pub patch_lag: PatchLag,
    /// Fraction of hosts already patched at the start.
    pub initial_patched: f64,
    /// Reboot hazard per infected (or crashed) host [1/s].
    pub reboot: RateSchedule,
}

/// Whether the probe column holds expectations or draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeCount {
    /// The integral of the summed scan rate over each bin [probes].
    Expected,
    /// A draw consistent with the simulated path (stream `probes`).
    Sampled,
}

/// What to record.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputSpec {
    /// Width of a time-series bin [s].
    pub bin: f64,
    /// Times at which the summary reports cumulative infections.
    pub report_at: Vec<SimTime>,
    pub probes: ProbeCount,
}

/// A validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The TOML it was read from.
    pub source_text: String,
    pub source_name: String,
    pub start: SimTime,
    pub end: SimTime,
    pub space_bits: u8,
    /// Default seed (the CLI's `--seed` overrides it).
    pub seed: u64,
    pub population: PopulationSpec,
    /// Host traits (fractions of the population).
    pub traits: TraitSpec,
    pub worm: WormSpec,
    pub calendar: CalendarSpec,
    pub flood: FloodSpec,
    pub network: NetworkSpec,
    pub defense: DefenseSpec,
    /// Start from a saved state instead of a fresh population.
    pub checkpoint: Option<std::sync::Arc<Checkpoint>>,
    /// Telescopes and sensors (`wormsim run --observe`).
    pub observe: ObserveSpec,
    pub output: OutputSpec,
    /// Hit-list scanning by the seeds (`None`: none).
    pub hit_list: Option<HitListSpec>,
    /// Containment mechanisms (all off by default).
    pub containment: ContainmentSpec,
}

/// One monitored block of addresses.
#[derive(Clone, Debug, PartialEq)]
pub struct TelescopeSpec {
    pub name: String,
    /// First address of the block.
    pub base: u32,
    /// Prefix length within the scenario's address space (the block holds
    /// `2^(space_bits - len)` addresses).
    pub len: u8,
}

/// What the instruments watch.
#[derive(Clone, Debug, PartialEq)]
pub struct ObserveSpec {
    /// Series bin [s].
    pub bin: f64,
    pub telescopes: Vec<TelescopeSpec>,
    /// Share of hosts whose address changes (DHCP).
    pub dhcp_fraction: f64,
    /// Rate of address changes of those hosts [1/s].
    pub dhcp_rate: f64,
}

/// Host traits drawn for each host (stream `host-traits`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraitSpec {
    pub english_fraction: f64,
    pub chinese_fraction: f64,
    pub nt4_fraction: f64,
}

impl Scenario {
    /// Read and validate a scenario (both stages).
    ///
    /// # Errors
    /// The first problem found, located in the file.
    pub fn from_source(src: &Source) -> Result<Scenario, ScenarioError> {
        resolve::resolve(src)
    }

    /// Parse a scenario from text (no base directory for relative paths).
    ///
    /// # Errors
    /// See [`Scenario::from_source`].
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::from_source(&Source {
            name: name.to_string(),
            text: text.to_string(),
            base_dir: None,
        })
    }

    /// Run length [s].
    pub fn duration(&self) -> f64 {
        self.end.since(self.start)
    }

    /// Whether this scenario's worm floods on days 20–27.
    pub fn floods(&self) -> bool {
        self.flood.enabled && self.calendar.enabled
    }
}

impl Scenario {
    /// This scenario, started from `checkpoint` instead of its own population,
    /// seeds and initially patched hosts.
    ///
    /// # Errors
    /// The checkpoint's time or address space does not match the scenario.
    pub fn with_checkpoint(&self, checkpoint: Checkpoint) -> Result<Scenario, String> {
        if checkpoint.time != self.start {
            return Err(format!(
                "the checkpoint was saved at {} but scenario `{}` starts at {}; save it with --until {}",
                checkpoint.time, self.name, self.start, self.start
            ));
        }
        if checkpoint.space_bits != self.space_bits {
            return Err(format!(
                "the checkpoint has a 2^{} address space, scenario `{}` 2^{}",
                checkpoint.space_bits, self.name, self.space_bits
            ));
        }
        if matches!(self.worm.scan, ScanStrategy::Sequence(_)) {
            return Err(format!(
                "scenario `{}` scans a fixed sequence (CRv1), which cannot start from a checkpoint: \
                 where each host is in the sequence is not saved; run it from its own start",
                self.name
            ));
        }
        if crate::engine::extras::active(self) || self.containment.drops() {
            return Err(format!(
                "scenario `{}` uses hit lists, permutation scanning, PRNG subsets, a payload or \
                 containment, which cannot start from a checkpoint; run it from its own start",
                self.name
            ));
        }
        let mut s = self.clone();
        s.population = PopulationSpec::Checkpoint;
        s.worm.seeding = Seeding::Count(0);
        s.defense.initial_patched = 0.0;
        s.calendar.wrong_clocks = 0;
        s.checkpoint = Some(std::sync::Arc::new(checkpoint));
        Ok(s)
    }
}
