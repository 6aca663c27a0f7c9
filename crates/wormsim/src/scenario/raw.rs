//! Stage 1: the scenario file as written, in plain structs.
//!
//! Every field that stage 2 validates is wrapped in [`Spanned`] so its error can
//! name the line and column. Unknown keys are rejected here (`deny_unknown_fields`).

use serde::Deserialize;
use toml::Spanned;

pub type S<T> = Option<Spanned<T>>;

/// A whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub scenario: Spanned<RawMeta>,
    pub population: Spanned<RawPopulation>,
    pub worm: Spanned<RawWorm>,
    #[serde(default)]
    pub calendar: Option<Spanned<RawCalendar>>,
    #[serde(default)]
    pub flood: Option<Spanned<RawFlood>>,
    #[serde(default)]
    pub network: Option<Spanned<RawNetwork>>,
    #[serde(default)]
    pub defense: Option<RawDefense>,
    #[serde(default)]
    pub initial: Option<Spanned<RawInitial>>,
    #[serde(default)]
    pub observe: Option<Spanned<RawObserve>>,
    #[serde(default)]
    pub output: Option<RawOutput>,
    #[serde(default)]
    pub hit_list: Option<Spanned<super::strategy::RawHitList>>,
    #[serde(default)]
    pub containment: Option<Spanned<super::containment::RawContainment>>,
}

/// `[scenario]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub start: Spanned<toml::Value>,
    pub end: Spanned<toml::Value>,
    #[serde(default)]
    pub space_bits: S<i64>,
    #[serde(default)]
    pub seed: S<i64>,
}

/// `[population]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPopulation {
    pub model: Spanned<String>,
    #[serde(default)]
    pub hosts: S<i64>,
    #[serde(default)]
    pub slash8_blocks: S<i64>,
    #[serde(default)]
    pub slash16_blocks: S<i64>,
    #[serde(default)]
    pub slash8_zipf: S<f64>,
    #[serde(default)]
    pub slash16_zipf: S<f64>,
    #[serde(default)]
    pub file: S<String>,
    /// Fraction of hosts whose system language is English (defacement).
    #[serde(default)]
    pub english_fraction: S<f64>,
    /// Fraction of hosts with a Chinese-language system (CRII doubles its threads).
    #[serde(default)]
    pub chinese_fraction: S<f64>,
    /// Fraction of hosts running Windows NT 4 (CRII crashes them).
    #[serde(default)]
    pub nt4_fraction: S<f64>,
}

/// `[worm]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorm {
    pub variant: Spanned<String>,
    #[serde(default)]
    pub scan: S<String>,
    /// Required unless `scan_rate_distribution = "bandwidth"`.
    #[serde(default)]
    pub scan_rate: S<f64>,
    #[serde(default)]
    pub scan_rate_distribution: S<String>,
    #[serde(default)]
    pub scan_rate_cv: S<f64>,
    #[serde(default)]
    pub threads: S<i64>,
    #[serde(default)]
    pub max_scan_multiple: S<f64>,
    #[serde(default)]
    pub chinese_threads: S<i64>,
    #[serde(default)]
    pub initial_infected: S<i64>,
    #[serde(default)]
    pub initial_addresses: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub reinfection: S<String>,
    #[serde(default)]
    pub max_instances: S<i64>,
    #[serde(default)]
    pub lifetime_hours: S<f64>,
    #[serde(default)]
    pub drop_dead: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub nt4_crash: Option<bool>,
    #[serde(default)]
    pub crash_recovery_per_day: S<f64>,
    #[serde(default)]
    pub backdoor: Option<bool>,
    #[serde(default)]
    pub deface: Option<bool>,
    #[serde(default)]
    pub deface_hours: S<f64>,
    #[serde(default)]
    pub per_thread_offset: Option<bool>,
    #[serde(default)]
    pub sequence_key: S<i64>,
    #[serde(default)]
    pub same_slash8: S<f64>,
    #[serde(default)]
    pub same_slash16: S<f64>,
    #[serde(default)]
    pub permutation: S<String>,
    #[serde(default)]
    pub permutation_start: S<String>,
    #[serde(default)]
    pub permutation_key: S<i64>,
    #[serde(default)]
    pub permutation_stop_after: S<i64>,
    #[serde(default)]
    pub uplink_mean_bps: S<f64>,
    #[serde(default)]
    pub uplink_cv: S<f64>,
    #[serde(default)]
    pub probe_bytes: S<f64>,
    #[serde(default)]
    pub prng_subsets: S<i64>,
    #[serde(default)]
    pub cycle_probes: S<i64>,
    #[serde(default)]
    pub crash_per_cycle: S<f64>,
}

/// `[calendar]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalendar {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub wake: S<String>,
    #[serde(default)]
    pub wake_lag_hours: S<f64>,
    #[serde(default)]
    pub wrong_clocks: S<i64>,
    #[serde(default)]
    pub wrong_clock_max_days: S<f64>,
}

/// `[flood]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlood {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub target: S<String>,
    #[serde(default)]
    pub connections: S<i64>,
    #[serde(default)]
    pub bytes_per_burst: S<f64>,
    #[serde(default)]
    pub period_hours: S<f64>,
    #[serde(default)]
    pub packet_payload: S<i64>,
    #[serde(default)]
    pub site_moves_to: S<String>,
    #[serde(default)]
    pub move_at: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub filter_at: Option<Spanned<toml::Value>>,
}

/// `[network]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    #[serde(default)]
    pub syn_retries: S<i64>,
    #[serde(default)]
    pub answer_fraction: S<f64>,
    #[serde(default)]
    pub syn_bytes: S<i64>,
    #[serde(default)]
    pub congestion: S<String>,
    #[serde(default)]
    pub zou_eta: S<f64>,
    #[serde(default)]
    pub capacity_probes_per_s: S<f64>,
    /// Capacity in bit/s, converted with `worm.probe_bytes`.
    #[serde(default)]
    pub capacity_bps: S<f64>,
}

/// `[defense]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefense {
    #[serde(default)]
    pub patch: Option<Spanned<RawPatch>>,
    #[serde(default)]
    pub reboot: Option<Spanned<RawRate>>,
}

/// A per-host Poisson rate: constant `rate`, or a `schedule` of steps [1/day].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRate {
    #[serde(default)]
    pub rate: S<f64>,
    #[serde(default)]
    pub schedule: Option<Vec<Spanned<RawStep>>>,
}

/// `[defense.patch]`: the download hazard (a rate or schedule) plus the testing lag.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPatch {
    #[serde(default)]
    pub rate: S<f64>,
    #[serde(default)]
    pub schedule: Option<Vec<Spanned<RawStep>>>,
    #[serde(default)]
    pub lag: S<String>,
    #[serde(default)]
    pub lag_mean_days: S<f64>,
    #[serde(default)]
    pub lag_sigma: S<f64>,
    #[serde(default)]
    pub initial_fraction: S<f64>,
}

/// One step of a schedule: from this time on, this rate [1/day].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub from: Spanned<toml::Value>,
    pub rate: Spanned<f64>,
}

/// `[observe]`: telescopes and sensors (used by `wormsim run --observe`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawObserve {
    #[serde(default)]
    pub bin: S<f64>,
    #[serde(default)]
    pub dhcp_fraction: S<f64>,
    #[serde(default)]
    pub dhcp_changes_per_day: S<f64>,
    #[serde(default)]
    pub telescope: Option<Vec<Spanned<RawTelescope>>>,
}

/// `[[observe.telescope]]`: one monitored block.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelescope {
    pub name: Spanned<String>,
    pub cidr: Spanned<String>,
}

/// `[initial]`: start from a saved state.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInitial {
    #[serde(default)]
    pub checkpoint: S<String>,
}

/// `[output]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    #[serde(default)]
    pub bin: S<f64>,
    #[serde(default)]
    pub report_at: Option<Vec<Spanned<toml::Value>>>,
    #[serde(default)]
    pub probes: S<String>,
}
