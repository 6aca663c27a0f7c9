//! Stage 1: the scenario file as written, in plain structs.
//!
//! Every field that stage 2 validates is wrapped in [`Spanned`] so its error can
//! name the line and column. Unknown keys are rejected here (`deny_unknown_fields`).

use serde::Deserialize;
use toml::Spanned;

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
    pub defense: Option<RawDefense>,
    #[serde(default)]
    pub output: Option<RawOutput>,
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
    pub space_bits: Option<Spanned<i64>>,
    #[serde(default)]
    pub seed: Option<Spanned<i64>>,
}

/// `[population]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPopulation {
    pub model: Spanned<String>,
    #[serde(default)]
    pub hosts: Option<Spanned<i64>>,
    #[serde(default)]
    pub slash8_blocks: Option<Spanned<i64>>,
    #[serde(default)]
    pub slash16_blocks: Option<Spanned<i64>>,
    #[serde(default)]
    pub slash8_zipf: Option<Spanned<f64>>,
    #[serde(default)]
    pub slash16_zipf: Option<Spanned<f64>>,
    #[serde(default)]
    pub file: Option<Spanned<String>>,
}

/// `[worm]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorm {
    pub variant: Spanned<String>,
    #[serde(default)]
    pub scan: Option<Spanned<String>>,
    pub scan_rate: Spanned<f64>,
    #[serde(default)]
    pub scan_rate_distribution: Option<Spanned<String>>,
    #[serde(default)]
    pub scan_rate_cv: Option<Spanned<f64>>,
    #[serde(default)]
    pub initial_infected: Option<Spanned<i64>>,
    #[serde(default)]
    pub initial_addresses: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[calendar]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalendar {
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `[defense]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefense {
    #[serde(default)]
    pub patch: Option<Spanned<RawRate>>,
    #[serde(default)]
    pub reboot: Option<Spanned<RawRate>>,
}

/// A per-host Poisson rate: constant `rate`, or a `schedule` of steps [1/day].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRate {
    #[serde(default)]
    pub rate: Option<Spanned<f64>>,
    #[serde(default)]
    pub schedule: Option<Vec<Spanned<RawStep>>>,
}

/// One step of a schedule: from this time on, this rate [1/day].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub from: Spanned<toml::Value>,
    pub rate: Spanned<f64>,
}

/// `[output]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    #[serde(default)]
    pub bin: Option<Spanned<f64>>,
    #[serde(default)]
    pub report_at: Option<Vec<Spanned<toml::Value>>>,
    #[serde(default)]
    pub probes: Option<Spanned<String>>,
}
