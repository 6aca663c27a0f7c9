//! Scenarios: what to simulate, read from TOML in two stages.
//!
//! Stage 1 ([`raw`]) reads the file into plain structs and rejects unknown keys and
//! wrong types. Stage 2 ([`Scenario::from_source`]) checks every value and resolves
//! it into a [`Scenario`]. Every error names the file, the line and column, the key
//! and the fix, as one line:
//!
//! ```text
//! my.toml:7:13: worm.scan_rate: -1 is negative; a rate must be a finite number >= 0 [probes/s]
//! ```
//!
//! Built-in presets live in `scenarios/*.toml` and are embedded by [`crate::preset`].

pub mod location;
pub mod raw;

use crate::population::{PopulationSpec, check_space_bits, generate, parse_addr};
use crate::schedule::{RateSchedule, per_day};
use crate::time::SimTime;
use raw::{RawFile, RawRate};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

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
    /// A problem with the file as a whole.
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
}

impl ScanRateSpec {
    /// The mean rate [probes/s].
    pub fn mean(&self) -> f64 {
        match *self {
            ScanRateSpec::Fixed(r) => r,
            ScanRateSpec::LogNormal { mean, .. } => mean,
        }
    }
}

/// Which worm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Code Red version 2 (CAIDA naming): random-seed uniform scanning, 19 July 2001.
    CodeRedV2,
    /// A generic uniform-scanning worm with no calendar of its own.
    Generic,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::CodeRedV2 => "crv2",
            Variant::Generic => "generic",
        }
    }
}

/// How targets are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanStrategy {
    /// Uniform over the whole address space.
    Uniform,
}

/// Who is infected at the start.
#[derive(Clone, Debug, PartialEq)]
pub enum Seeding {
    /// This many hosts, drawn uniformly from the population (stream `seeding`).
    Count(u32),
    /// These addresses (each must be a host of the population).
    Addresses(Vec<u32>),
}

/// The worm.
#[derive(Clone, Debug, PartialEq)]
pub struct WormSpec {
    pub variant: Variant,
    pub scan: ScanStrategy,
    pub scan_rate: ScanRateSpec,
    pub seeding: Seeding,
}

/// The Code Red calendar (UTC day of month).
#[derive(Clone, Debug, PartialEq)]
pub struct CalendarSpec {
    /// When false, infected hosts spread at all times.
    pub enabled: bool,
}

/// Defender processes, each a per-host Poisson process [1/s].
#[derive(Clone, Debug, PartialEq)]
pub struct DefenseSpec {
    /// Susceptible or infected -> patched (immune).
    pub patch: RateSchedule,
    /// Infected -> susceptible (the worm lives only in memory).
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
    pub worm: WormSpec,
    pub calendar: CalendarSpec,
    pub defense: DefenseSpec,
    pub output: OutputSpec,
}

struct Ctx<'a> {
    src: &'a Source,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, key: &str, msg: impl Into<String>) -> ScenarioError {
        let (line, col) = location::line_col(&self.src.text, span.start);
        ScenarioError::At {
            file: self.src.name.clone(),
            line,
            col,
            key: key.to_string(),
            msg: msg.into(),
        }
    }

    fn time(&self, v: &Spanned<toml::Value>, key: &str) -> Result<SimTime, ScenarioError> {
        let text = match v.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) => {
                if d.date.is_none() || d.time.is_none() || d.offset.is_none() {
                    return Err(self.err(
                        v.span(),
                        key,
                        format!(
                            "{d} is not a full UTC timestamp; write it like 2001-07-19T10:00:00Z"
                        ),
                    ));
                }
                d.to_string()
            }
            other => {
                return Err(self.err(
                    v.span(),
                    key,
                    format!(
                        "expected a timestamp like 2001-07-19T10:00:00Z, found {}",
                        other.type_str()
                    ),
                ));
            }
        };
        SimTime::parse_rfc3339(&text).map_err(|e| self.err(v.span(), key, e.to_string()))
    }

    fn nonneg(&self, v: &Spanned<f64>, key: &str, unit: &str) -> Result<f64, ScenarioError> {
        let x = *v.get_ref();
        if x.is_nan() {
            Err(self.err(
                v.span(),
                key,
                format!("NaN is not a value; a rate must be a finite number >= 0 {unit}"),
            ))
        } else if x < 0.0 {
            Err(self.err(
                v.span(),
                key,
                format!("{x} is negative; a rate must be a finite number >= 0 {unit}"),
            ))
        } else if !x.is_finite() {
            Err(self.err(
                v.span(),
                key,
                format!("{x} is not finite; give a finite number >= 0 {unit}"),
            ))
        } else {
            Ok(x)
        }
    }

    fn count(&self, v: &Spanned<i64>, key: &str, min: i64, max: i64) -> Result<u32, ScenarioError> {
        let x = *v.get_ref();
        if x < min || x > max {
            Err(self.err(
                v.span(),
                key,
                format!("{x} is out of range; use a whole number in {min}..={max}"),
            ))
        } else {
            Ok(x as u32)
        }
    }

    fn choice<'c>(
        &self,
        v: &Spanned<String>,
        key: &str,
        options: &[&'c str],
    ) -> Result<&'c str, ScenarioError> {
        options
            .iter()
            .copied()
            .find(|o| o == v.get_ref())
            .ok_or_else(|| {
                self.err(
                    v.span(),
                    key,
                    format!(
                        "unknown value `{}`; use one of: {}",
                        v.get_ref(),
                        options.join(", ")
                    ),
                )
            })
    }

    fn schedule(&self, r: &Spanned<RawRate>, key: &str) -> Result<RateSchedule, ScenarioError> {
        let raw = r.get_ref();
        let initial = match &raw.rate {
            Some(v) => per_day(self.nonneg(v, &format!("{key}.rate"), "[1/day]")?),
            None => 0.0,
        };
        let mut steps = Vec::new();
        if let Some(sched) = &raw.schedule {
            for (i, s) in sched.iter().enumerate() {
                let k = format!("{key}.schedule.{i}");
                let from = self.time(&s.get_ref().from, &format!("{k}.from"))?;
                let rate = self.nonneg(&s.get_ref().rate, &format!("{k}.rate"), "[1/day]")?;
                if let Some(&(prev, _)) = steps.last() {
                    if from <= prev {
                        return Err(self.err(
                            s.get_ref().from.span(),
                            &format!("{k}.from"),
                            format!("{from} does not come after the previous step ({prev}); list steps in time order"),
                        ));
                    }
                }
                steps.push((from, per_day(rate)));
            }
        }
        if raw.rate.is_none() && raw.schedule.is_none() {
            return Err(self.err(
                r.span(),
                key,
                "give `rate` [1/day] or `schedule`, or remove the table",
            ));
        }
        RateSchedule::new(initial, steps).map_err(|e| self.err(r.span(), key, e.to_string()))
    }
}

/// Turn a TOML deserialization error into a located [`ScenarioError`].
fn de_error(src: &Source, e: &toml::de::Error) -> ScenarioError {
    let at = e.span().map_or(0, |s| s.start);
    let (line, col) = location::line_col(&src.text, at);
    let key = location::key_at(&src.text, at).unwrap_or_else(|| "(document)".to_string());
    let msg = e.message().trim().replace('\n', " ");
    let hint = if msg.starts_with("unknown field") {
        "; check the spelling against docs/scenario.md"
    } else if msg.starts_with("missing field") {
        "; add it"
    } else {
        ""
    };
    ScenarioError::At {
        file: src.name.clone(),
        line,
        col,
        key,
        msg: format!("{msg}{hint}"),
    }
}

impl Scenario {
    /// Read and validate a scenario (both stages).
    ///
    /// # Errors
    /// The first problem found, located in the file.
    pub fn from_source(src: &Source) -> Result<Scenario, ScenarioError> {
        let raw: RawFile = toml::from_str(&src.text).map_err(|e| de_error(src, &e))?;
        let cx = Ctx { src };

        // [scenario]
        let meta = raw.scenario.get_ref();
        let name = meta.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(cx.err(
                meta.name.span(),
                "scenario.name",
                "the name is empty; give the scenario a name",
            ));
        }
        let start = cx.time(&meta.start, "scenario.start")?;
        let end = cx.time(&meta.end, "scenario.end")?;
        if end <= start {
            return Err(cx.err(
                meta.end.span(),
                "scenario.end",
                format!(
                    "{end} is not after scenario.start ({start}); the end must come after the start"
                ),
            ));
        }
        let space_bits = match &meta.space_bits {
            Some(v) => {
                let b = cx.count(v, "scenario.space_bits", 16, 32)? as u8;
                check_space_bits(b)
                    .map_err(|e| cx.err(v.span(), "scenario.space_bits", e.to_string()))?;
                b
            }
            None => 32,
        };
        let seed = match &meta.seed {
            Some(v) if *v.get_ref() < 0 => {
                return Err(cx.err(
                    v.span(),
                    "scenario.seed",
                    "the seed must be a whole number >= 0",
                ));
            }
            Some(v) => *v.get_ref() as u64,
            None => 1,
        };

        // [population]
        let p = raw.population.get_ref();
        let model = cx.choice(
            &p.model,
            "population.model",
            &["uniform", "clustered", "file"],
        )?;
        let capacity = generate::eligible_capacity(space_bits);
        let hosts = |cx: &Ctx<'_>| -> Result<u32, ScenarioError> {
            let v = p.hosts.as_ref().ok_or_else(|| {
                cx.err(
                    raw.population.span(),
                    "population.hosts",
                    format!("missing; the {model} model needs a host count"),
                )
            })?;
            let n = cx.count(v, "population.hosts", 1, u32::MAX as i64)?;
            if n as u64 > capacity {
                return Err(cx.err(
                    v.span(),
                    "population.hosts",
                    format!(
                        "{n} hosts do not fit in the {capacity} eligible addresses of a 2^{space_bits} space; \
                         use fewer hosts or a larger scenario.space_bits"
                    ),
                ));
            }
            Ok(n)
        };
        let reject_extra =
            |cx: &Ctx<'_>, keys: &[(&str, Option<Range<usize>>)]| -> Result<(), ScenarioError> {
                for (k, span) in keys {
                    if let Some(s) = span {
                        return Err(cx.err(
                            s.clone(),
                            k,
                            format!("not used by the {model} model; remove it"),
                        ));
                    }
                }
                Ok(())
            };
        let population = match model {
            "uniform" => {
                reject_extra(
                    &cx,
                    &[
                        (
                            "population.slash8_blocks",
                            p.slash8_blocks.as_ref().map(|v| v.span()),
                        ),
                        (
                            "population.slash16_blocks",
                            p.slash16_blocks.as_ref().map(|v| v.span()),
                        ),
                        (
                            "population.slash8_zipf",
                            p.slash8_zipf.as_ref().map(|v| v.span()),
                        ),
                        (
                            "population.slash16_zipf",
                            p.slash16_zipf.as_ref().map(|v| v.span()),
                        ),
                        ("population.file", p.file.as_ref().map(|v| v.span())),
                    ],
                )?;
                PopulationSpec::Uniform { hosts: hosts(&cx)? }
            }
            "clustered" => {
                reject_extra(
                    &cx,
                    &[("population.file", p.file.as_ref().map(|v| v.span()))],
                )?;
                let n = hosts(&cx)?;
                let (la, lb) = generate::block_levels(space_bits);
                let get_i = |v: &Option<Spanned<i64>>, key: &str, default: i64, max: i64| match v {
                    Some(v) => cx.count(v, key, 1, max),
                    None => Ok(default as u32),
                };
                let get_f = |v: &Option<Spanned<f64>>, key: &str, default: f64| match v {
                    Some(v) => cx.nonneg(v, key, "(Zipf exponent)"),
                    None => Ok(default),
                };
                // Defaults: 100 top blocks and 16,000 second-level blocks in IPv4 [A],
                // scaled down for smaller spaces.
                let slash8_blocks = get_i(
                    &p.slash8_blocks,
                    "population.slash8_blocks",
                    100.min((1 << la) / 2),
                    1 << la,
                )?;
                let max_subs = slash8_blocks as i64 * (1i64 << (lb - la)) * 3 / 4;
                let params = generate::ClusterParams {
                    slash8_blocks,
                    slash16_blocks: get_i(
                        &p.slash16_blocks,
                        "population.slash16_blocks",
                        16_000.min(max_subs),
                        1 << lb,
                    )?,
                    slash8_zipf: get_f(&p.slash8_zipf, "population.slash8_zipf", 1.0)?,
                    slash16_zipf: get_f(&p.slash16_zipf, "population.slash16_zipf", 1.0)?,
                };
                if let Err((field, why)) = generate::check_cluster_params(n, space_bits, &params) {
                    let span = match field {
                        "slash8_blocks" => p.slash8_blocks.as_ref().map(|v| v.span()),
                        "slash16_blocks" => p.slash16_blocks.as_ref().map(|v| v.span()),
                        "slash8_zipf" => p.slash8_zipf.as_ref().map(|v| v.span()),
                        "slash16_zipf" => p.slash16_zipf.as_ref().map(|v| v.span()),
                        _ => p.hosts.as_ref().map(|v| v.span()),
                    }
                    .unwrap_or(raw.population.span());
                    return Err(cx.err(span, &format!("population.{field}"), why));
                }
                PopulationSpec::Clustered { hosts: n, params }
            }
            _ => {
                let f = p.file.as_ref().ok_or_else(|| {
                    cx.err(
                        raw.population.span(),
                        "population.file",
                        "missing; the file model needs `file = \"hosts.txt\"`",
                    )
                })?;
                reject_extra(
                    &cx,
                    &[("population.hosts", p.hosts.as_ref().map(|v| v.span()))],
                )?;
                let path = match &src.base_dir {
                    Some(d) => d.join(f.get_ref()),
                    None => PathBuf::from(f.get_ref()),
                };
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    cx.err(
                        f.span(),
                        "population.file",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                PopulationSpec::File {
                    name: path.display().to_string(),
                    text,
                }
            }
        };

        // [worm]
        let w = raw.worm.get_ref();
        let variant = match cx.choice(&w.variant, "worm.variant", &["crv2", "generic"])? {
            "crv2" => Variant::CodeRedV2,
            _ => Variant::Generic,
        };
        let scan = match &w.scan {
            Some(s) => {
                cx.choice(s, "worm.scan", &["uniform"])?;
                ScanStrategy::Uniform
            }
            None => ScanStrategy::Uniform,
        };
        let mean = cx.nonneg(&w.scan_rate, "worm.scan_rate", "[probes/s]")?;
        if mean == 0.0 {
            return Err(cx.err(
                w.scan_rate.span(),
                "worm.scan_rate",
                "0 probes/s means the worm never spreads; give a positive rate",
            ));
        }
        let dist = match &w.scan_rate_distribution {
            Some(d) => cx.choice(d, "worm.scan_rate_distribution", &["fixed", "lognormal"])?,
            None => "fixed",
        };
        let scan_rate = match dist {
            "fixed" => {
                if let Some(cv) = &w.scan_rate_cv {
                    if *cv.get_ref() != 0.0 {
                        return Err(cx.err(cv.span(), "worm.scan_rate_cv", "only a lognormal rate has a spread; set scan_rate_distribution = \"lognormal\" or remove scan_rate_cv"));
                    }
                }
                ScanRateSpec::Fixed(mean)
            }
            _ => {
                let cv = match &w.scan_rate_cv {
                    Some(v) => cx.nonneg(v, "worm.scan_rate_cv", "(coefficient of variation)")?,
                    None => {
                        return Err(cx.err(
                            w.scan_rate_distribution
                                .as_ref()
                                .map_or(raw.worm.span(), |v| v.span()),
                            "worm.scan_rate_cv",
                            "missing; a lognormal rate needs its coefficient of variation",
                        ));
                    }
                };
                ScanRateSpec::LogNormal { mean, cv }
            }
        };
        let n_hosts = match &population {
            PopulationSpec::Uniform { hosts } | PopulationSpec::Clustered { hosts, .. } => {
                Some(*hosts)
            }
            PopulationSpec::File { .. } => None,
        };
        let seeding = match (&w.initial_infected, &w.initial_addresses) {
            (Some(_), Some(a)) => {
                return Err(cx.err(
                    a.span(),
                    "worm.initial_addresses",
                    "give initial_infected or initial_addresses, not both",
                ));
            }
            (Some(v), None) => {
                let max = n_hosts.unwrap_or(u32::MAX) as i64;
                Seeding::Count(cx.count(v, "worm.initial_infected", 0, max)?)
            }
            (None, Some(list)) => {
                let mut addrs = Vec::new();
                for (i, a) in list.get_ref().iter().enumerate() {
                    let key = format!("worm.initial_addresses.{i}");
                    let addr = parse_addr(a.get_ref()).ok_or_else(|| {
                        cx.err(
                            a.span(),
                            &key,
                            format!(
                                "`{}` is not a dotted-quad address like 192.0.2.1",
                                a.get_ref()
                            ),
                        )
                    })?;
                    addrs.push(addr);
                }
                Seeding::Addresses(addrs)
            }
            (None, None) => Seeding::Count(1),
        };
        let worm = WormSpec {
            variant,
            scan,
            scan_rate,
            seeding,
        };

        // [calendar]
        let calendar = CalendarSpec {
            enabled: raw
                .calendar
                .as_ref()
                .and_then(|c| c.get_ref().enabled)
                .unwrap_or(variant == Variant::CodeRedV2),
        };

        // [defense]
        let d = raw.defense.unwrap_or_default();
        let defense = DefenseSpec {
            patch: match &d.patch {
                Some(r) => cx.schedule(r, "defense.patch")?,
                None => RateSchedule::zero(),
            },
            reboot: match &d.reboot {
                Some(r) => cx.schedule(r, "defense.reboot")?,
                None => RateSchedule::zero(),
            },
        };

        // [output]
        let o = raw.output.unwrap_or_default();
        let bin = match &o.bin {
            Some(v) => {
                let b = cx.nonneg(v, "output.bin", "[s]")?;
                if b < 1.0 {
                    return Err(cx.err(
                        v.span(),
                        "output.bin",
                        format!("{b} s is too short; use a bin of at least 1 s"),
                    ));
                }
                b
            }
            None => 60.0,
        };
        let n_bins = end.since(start) / bin;
        if n_bins > 10_000_000.0 {
            let span = o.bin.as_ref().map_or(meta.end.span(), |v| v.span());
            return Err(cx.err(
                span,
                "output.bin",
                format!("{n_bins:.0} bins is too many; use a wider bin"),
            ));
        }
        let mut report_at = Vec::new();
        for (i, v) in o.report_at.iter().flatten().enumerate() {
            let key = format!("output.report_at.{i}");
            let t = cx.time(v, &key)?;
            if t < start || t > end {
                return Err(cx.err(
                    v.span(),
                    &key,
                    format!("{t} is outside the run ({start} to {end})"),
                ));
            }
            report_at.push(t);
        }
        let probes = match &o.probes {
            Some(v) => match cx.choice(v, "output.probes", &["expected", "sampled"])? {
                "expected" => ProbeCount::Expected,
                _ => ProbeCount::Sampled,
            },
            None => ProbeCount::Expected,
        };

        Ok(Scenario {
            name,
            description: meta.description.clone().unwrap_or_default(),
            source_text: src.text.clone(),
            source_name: src.name.clone(),
            start,
            end,
            space_bits,
            seed,
            population,
            worm,
            calendar,
            defense,
            output: OutputSpec {
                bin,
                report_at,
                probes,
            },
        })
    }

    /// Parse a scenario from text (no base directory for relative paths).
    ///
    /// # Errors
    /// See [`Scenario::from_source`].
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
}
