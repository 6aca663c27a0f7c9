//! Stage 2: check every value of a [`RawFile`] and resolve it into a [`Scenario`].

use super::raw::{RawFile, RawPatch, RawRate, RawStep, S};
use super::*;
use crate::population::{check_space_bits, generate, parse_addr};
use crate::schedule::per_day;
use crate::time::{DAY, HOUR};
use std::ops::Range;
use toml::Spanned;

pub(super) struct Ctx<'a> {
    pub src: &'a Source,
}

impl Ctx<'_> {
    pub fn err(&self, span: Range<usize>, key: &str, msg: impl Into<String>) -> ScenarioError {
        let (line, col) = location::line_col(&self.src.text, span.start);
        ScenarioError::At {
            file: self.src.name.clone(),
            line,
            col,
            key: key.to_string(),
            msg: msg.into(),
        }
    }

    pub fn time(&self, v: &Spanned<toml::Value>, key: &str) -> Result<SimTime, ScenarioError> {
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

    pub fn nonneg(&self, v: &Spanned<f64>, key: &str, unit: &str) -> Result<f64, ScenarioError> {
        let x = *v.get_ref();
        if x.is_nan() {
            Err(self.err(
                v.span(),
                key,
                format!("NaN is not a value; give a finite number >= 0 {unit}"),
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

    pub fn positive(&self, v: &Spanned<f64>, key: &str, unit: &str) -> Result<f64, ScenarioError> {
        let x = self.nonneg(v, key, unit)?;
        if x == 0.0 {
            return Err(self.err(v.span(), key, format!("must be greater than 0 {unit}")));
        }
        Ok(x)
    }

    pub fn fraction(&self, v: &Spanned<f64>, key: &str) -> Result<f64, ScenarioError> {
        let x = *v.get_ref();
        if !(0.0..=1.0).contains(&x) {
            return Err(self.err(
                v.span(),
                key,
                format!("{x} is not a fraction; use a number in 0..=1"),
            ));
        }
        Ok(x)
    }

    pub fn count(
        &self,
        v: &Spanned<i64>,
        key: &str,
        min: i64,
        max: i64,
    ) -> Result<u32, ScenarioError> {
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

    pub fn choice<'c>(
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

    pub fn addr(&self, v: &Spanned<String>, key: &str) -> Result<u32, ScenarioError> {
        parse_addr(v.get_ref()).ok_or_else(|| {
            self.err(
                v.span(),
                key,
                format!(
                    "`{}` is not a dotted-quad address like 192.0.2.1",
                    v.get_ref()
                ),
            )
        })
    }

    /// Reject a key that the chosen configuration does not use.
    pub fn unused<T>(&self, v: &S<T>, key: &str, why: &str) -> Result<(), ScenarioError> {
        match v {
            Some(v) => Err(self.err(v.span(), key, format!("not used {why}; remove it"))),
            None => Ok(()),
        }
    }

    fn steps(
        &self,
        steps: &Option<Vec<Spanned<RawStep>>>,
        key: &str,
    ) -> Result<Vec<(SimTime, f64)>, ScenarioError> {
        let mut out: Vec<(SimTime, f64)> = Vec::new();
        for (i, s) in steps.iter().flatten().enumerate() {
            let k = format!("{key}.schedule.{i}");
            let from = self.time(&s.get_ref().from, &format!("{k}.from"))?;
            let rate = self.nonneg(&s.get_ref().rate, &format!("{k}.rate"), "[1/day]")?;
            if let Some(&(prev, _)) = out.last() {
                if from <= prev {
                    return Err(self.err(
                        s.get_ref().from.span(),
                        &format!("{k}.from"),
                        format!("{from} does not come after the previous step ({prev}); list steps in time order"),
                    ));
                }
            }
            out.push((from, per_day(rate)));
        }
        Ok(out)
    }

    fn rate_schedule(
        &self,
        span: Range<usize>,
        rate: &S<f64>,
        steps: &Option<Vec<Spanned<RawStep>>>,
        key: &str,
    ) -> Result<RateSchedule, ScenarioError> {
        let initial = match rate {
            Some(v) => per_day(self.nonneg(v, &format!("{key}.rate"), "[1/day]")?),
            None => 0.0,
        };
        let steps = self.steps(steps, key)?;
        if rate.is_none() && steps.is_empty() {
            return Err(self.err(
                span,
                key,
                "give `rate` [1/day] or `schedule`, or remove the table",
            ));
        }
        RateSchedule::new(initial, steps).map_err(|e| self.err(span, key, e.to_string()))
    }

    pub fn schedule(&self, r: &Spanned<RawRate>, key: &str) -> Result<RateSchedule, ScenarioError> {
        self.rate_schedule(r.span(), &r.get_ref().rate, &r.get_ref().schedule, key)
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

/// Defaults that depend on the worm variant (sources in docs/model.md).
struct VariantDefaults {
    scan: &'static str,
    max_scan_multiple: Option<f64>,
    threads: u32,
    chinese_threads: Option<u32>,
    reinfection: &'static str,
    lifetime_hours: Option<f64>,
    drop_dead: Option<SimTime>,
    nt4_crash: bool,
    backdoor: bool,
    deface: bool,
    calendar: bool,
    flood: bool,
}

fn defaults(v: Variant) -> VariantDefaults {
    let base = VariantDefaults {
        scan: "uniform",
        // The scan rate of a Code Red host is the *effective* rate derived from
        // the observed growth (codered.md §4.1): it already includes what extra
        // instances and the network's latency do, so by default more instances
        // do not make a host scan faster [D]. (Houle's lab ceiling, 13.9/s "in
        // a vacuum", is 2.3x the effective 6/s: `max_scan_multiple = 2.3`.)
        max_scan_multiple: Some(1.0),
        threads: 99,
        chinese_threads: None,
        reinfection: "add-instance",
        lifetime_hours: None,
        drop_dead: None,
        nt4_crash: false,
        backdoor: false,
        deface: false,
        calendar: true,
        flood: true,
    };
    match v {
        // "Spawn 100 threads" of which 99 scan (eEye via internetnews; codered.md §2.3).
        Variant::CodeRedV1 => VariantDefaults {
            scan: "sequence",
            deface: true,
            ..base
        },
        Variant::CodeRedV2 => base,
        // 300 threads, 600 on Chinese systems; ~24 h per infection; drop-dead
        // 1 Oct 2001 [U]; NT4 crashes; backdoor (codered.md §2.3, §2.6).
        Variant::CodeRedII => VariantDefaults {
            scan: "local-preference",
            threads: 300,
            chinese_threads: Some(600),
            reinfection: "ignore",
            max_scan_multiple: None,
            lifetime_hours: Some(24.0),
            drop_dead: Some(SimTime::from_ymd(2001, 10, 1)),
            nt4_crash: true,
            backdoor: true,
            calendar: false,
            flood: false,
            ..base
        },
        Variant::Generic => VariantDefaults {
            threads: 1,
            max_scan_multiple: None,
            reinfection: "ignore",
            calendar: false,
            flood: false,
            ..base
        },
    }
}

pub(super) fn resolve(src: &Source) -> Result<Scenario, ScenarioError> {
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
    if let Some(why) = crate::scenario::name_problem(&name) {
        return Err(cx.err(meta.name.span(), "scenario.name", why));
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

    // [initial]
    let checkpoint = match raw
        .initial
        .as_ref()
        .and_then(|i| i.get_ref().checkpoint.as_ref())
    {
        Some(f) => {
            let path = match &src.base_dir {
                Some(d) => d.join(f.get_ref()),
                None => PathBuf::from(f.get_ref()),
            };
            let ck = Checkpoint::load(&path)
                .map_err(|e| cx.err(f.span(), "initial.checkpoint", e.to_string()))?;
            if ck.time != start {
                return Err(cx.err(
                    f.span(),
                    "initial.checkpoint",
                    format!(
                        "the checkpoint was saved at {} but the scenario starts at {start}; \
                         set scenario.start to the checkpoint's time",
                        ck.time
                    ),
                ));
            }
            if ck.space_bits != space_bits {
                return Err(cx.err(
                    f.span(),
                    "initial.checkpoint",
                    format!(
                        "the checkpoint has a 2^{} address space, the scenario 2^{space_bits}",
                        ck.space_bits
                    ),
                ));
            }
            Some(std::sync::Arc::new(ck))
        }
        None => None,
    };

    // [population]
    let p = raw.population.get_ref();
    let model = cx.choice(
        &p.model,
        "population.model",
        &["uniform", "clustered", "file", "checkpoint"],
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
    let why = format!("by the {model} population model");
    if model != "clustered" {
        cx.unused(&p.slash8_blocks, "population.slash8_blocks", &why)?;
        cx.unused(&p.slash16_blocks, "population.slash16_blocks", &why)?;
        cx.unused(&p.slash8_zipf, "population.slash8_zipf", &why)?;
        cx.unused(&p.slash16_zipf, "population.slash16_zipf", &why)?;
    }
    if model != "file" {
        cx.unused(&p.file, "population.file", &why)?;
    }
    if model == "checkpoint" || model == "file" {
        cx.unused(&p.hosts, "population.hosts", &why)?;
    }
    if (model == "checkpoint") != checkpoint.is_some() {
        return Err(cx.err(
            p.model.span(),
            "population.model",
            "a checkpoint population needs `[initial] checkpoint = \"file\"` and the other way round",
        ));
    }
    let population = match model {
        "uniform" => PopulationSpec::Uniform { hosts: hosts(&cx)? },
        "clustered" => {
            let n = hosts(&cx)?;
            let (la, lb) = generate::block_levels(space_bits);
            let get_i = |v: &S<i64>, key: &str, default: i64, max: i64| match v {
                Some(v) => cx.count(v, key, 1, max),
                None => Ok(default as u32),
            };
            let get_f = |v: &S<f64>, key: &str, default: f64| match v {
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
        "file" => {
            let f = p.file.as_ref().ok_or_else(|| {
                cx.err(
                    raw.population.span(),
                    "population.file",
                    "missing; the file model needs `file = \"hosts.txt\"`",
                )
            })?;
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
        _ => PopulationSpec::Checkpoint,
    };
    let frac = |v: &S<f64>, key: &str, default: f64| match v {
        Some(v) => cx.fraction(v, key),
        None => Ok(default),
    };
    let traits = TraitSpec {
        // [A] about half of vulnerable servers ran English systems (CAIDA:
        // US 43% of CRv2 victims, codered.md §5.1).
        english_fraction: frac(&p.english_fraction, "population.english_fraction", 0.5)?,
        // [D] CAIDA: China 5% + Taiwan 4% of CRv2 victims (codered.md §5.1).
        chinese_fraction: frac(&p.chinese_fraction, "population.chinese_fraction", 0.09)?,
        // [A] share of IIS on Windows NT 4 (IIS 4) rather than Windows 2000.
        nt4_fraction: frac(&p.nt4_fraction, "population.nt4_fraction", 0.5)?,
    };

    // [worm]
    let w = raw.worm.get_ref();
    let variant = match cx.choice(
        &w.variant,
        "worm.variant",
        &["crv1", "crv2", "crii", "generic"],
    )? {
        "crv1" => Variant::CodeRedV1,
        "crv2" => Variant::CodeRedV2,
        "crii" => Variant::CodeRedII,
        _ => Variant::Generic,
    };
    let d = defaults(variant);
    let scan_name = match &w.scan {
        Some(s) => cx.choice(
            s,
            "worm.scan",
            &["uniform", "sequence", "local-preference", "permutation"],
        )?,
        None => d.scan,
    };
    let scan_why = format!("with scan = \"{scan_name}\"");
    if scan_name != "sequence" {
        cx.unused(&w.sequence_key, "worm.sequence_key", &scan_why)?;
        if w.per_thread_offset.is_some() {
            return Err(cx.err(
                raw.worm.span(),
                "worm.per_thread_offset",
                format!("not used {scan_why}; remove it"),
            ));
        }
    }
    if scan_name != "local-preference" {
        cx.unused(&w.same_slash8, "worm.same_slash8", &scan_why)?;
        cx.unused(&w.same_slash16, "worm.same_slash16", &scan_why)?;
    }
    if scan_name != "permutation" {
        strategy::no_permutation_keys(&cx, w, &scan_why)?;
    }
    let scan = match scan_name {
        "uniform" => ScanStrategy::Uniform,
        "permutation" => ScanStrategy::Permutation(strategy::permutation(&cx, w)?),
        "sequence" => {
            let key = match &w.sequence_key {
                Some(v) if *v.get_ref() < 0 => {
                    return Err(cx.err(
                        v.span(),
                        "worm.sequence_key",
                        "the key must be a whole number >= 0",
                    ));
                }
                Some(v) => *v.get_ref() as u64,
                None => 0x00C0_DE7E_D001,
            };
            ScanStrategy::Sequence(SequenceSpec {
                key,
                per_thread_offset: w.per_thread_offset.unwrap_or(false),
            })
        }
        _ => {
            let s8 = match &w.same_slash8 {
                Some(v) => cx.fraction(v, "worm.same_slash8")?,
                None => 0.5,
            };
            let s16 = match &w.same_slash16 {
                Some(v) => cx.fraction(v, "worm.same_slash16")?,
                None => 0.375,
            };
            if s8 + s16 > 1.0 {
                let span = w
                    .same_slash16
                    .as_ref()
                    .or(w.same_slash8.as_ref())
                    .map_or(raw.worm.span(), |v| v.span());
                return Err(cx.err(
                    span,
                    "worm.same_slash16",
                    format!(
                        "same_slash8 + same_slash16 = {} exceeds 1; the rest is the uniform share",
                        s8 + s16
                    ),
                ));
            }
            ScanStrategy::LocalPreference(LocalPreferenceSpec {
                same_slash8: s8,
                same_slash16: s16,
            })
        }
    };
    let dist = match &w.scan_rate_distribution {
        Some(d) => cx.choice(
            d,
            "worm.scan_rate_distribution",
            &["fixed", "lognormal", "bandwidth"],
        )?,
        None => "fixed",
    };
    let mean = if dist == "bandwidth" {
        0.0
    } else {
        let v = strategy::scan_rate(&cx, w, raw.worm.span())?;
        cx.positive(v, "worm.scan_rate", "[probes/s]")?
    };
    let scan_rate = match dist {
        "bandwidth" => strategy::bandwidth(&cx, w, raw.worm.span())?,
        "fixed" => {
            if let Some(cv) = &w.scan_rate_cv {
                if *cv.get_ref() != 0.0 {
                    return Err(cx.err(
                        cv.span(),
                        "worm.scan_rate_cv",
                        "only a lognormal rate has a spread; set scan_rate_distribution = \"lognormal\" or remove scan_rate_cv",
                    ));
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
    let threads = match &w.threads {
        Some(v) => cx.count(v, "worm.threads", 1, 10_000)?,
        None => d.threads,
    };
    let chinese_threads = match &w.chinese_threads {
        Some(v) => cx.count(v, "worm.chinese_threads", 1, 10_000)?,
        None => d.chinese_threads.unwrap_or(threads),
    };
    let max_scan_multiple = match &w.max_scan_multiple {
        Some(v) => {
            let m = cx.positive(
                v,
                "worm.max_scan_multiple",
                "(multiple of one instance's rate)",
            )?;
            if m < 1.0 {
                return Err(cx.err(
                    v.span(),
                    "worm.max_scan_multiple",
                    format!(
                        "{m} is below 1; a host always scans at least at its one-instance rate"
                    ),
                ));
            }
            Some(m)
        }
        None => d.max_scan_multiple,
    };
    let n_hosts = match &population {
        PopulationSpec::Uniform { hosts } | PopulationSpec::Clustered { hosts, .. } => Some(*hosts),
        PopulationSpec::File { .. } | PopulationSpec::Checkpoint => None,
    };
    if checkpoint.is_some() {
        cx.unused(
            &w.initial_infected,
            "worm.initial_infected",
            "when starting from a checkpoint",
        )?;
        cx.unused(
            &w.initial_addresses,
            "worm.initial_addresses",
            "when starting from a checkpoint",
        )?;
    }
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
                addrs.push(cx.addr(a, &format!("worm.initial_addresses.{i}"))?);
            }
            Seeding::Addresses(addrs)
        }
        (None, None) if checkpoint.is_some() => Seeding::Count(0),
        (None, None) => Seeding::Count(1),
    };
    let reinfection = match w
        .reinfection
        .as_ref()
        .map(|v| cx.choice(v, "worm.reinfection", &["add-instance", "ignore"]))
    {
        Some(r) => r?,
        None => d.reinfection,
    };
    let reinfection = if reinfection == "add-instance" {
        let max = match &w.max_instances {
            Some(v) => cx.count(v, "worm.max_instances", 1, 16)? as u8,
            // [A] eEye: multiple infections are possible (codered.md §3.1); the
            // limit (resources run out) is ours.
            None => 3,
        };
        Reinfection::AddInstance { max_instances: max }
    } else {
        cx.unused(
            &w.max_instances,
            "worm.max_instances",
            "with reinfection = \"ignore\"",
        )?;
        Reinfection::Ignore
    };
    if matches!(scan, ScanStrategy::LocalPreference(_))
        && matches!(reinfection, Reinfection::AddInstance { .. })
    {
        let span = w.reinfection.as_ref().map_or(raw.worm.span(), |v| v.span());
        return Err(cx.err(
            span,
            "worm.reinfection",
            "re-infection that adds instances is not modelled with local-preference scanning; use \"ignore\"",
        ));
    }
    let lifetime = match &w.lifetime_hours {
        Some(v) => Some(cx.positive(v, "worm.lifetime_hours", "[h]")? * HOUR),
        None => d.lifetime_hours.map(|h| h * HOUR),
    };
    let drop_dead = match &w.drop_dead {
        Some(v) => Some(cx.time(v, "worm.drop_dead")?),
        None => d.drop_dead,
    };
    let crash_recovery = match &w.crash_recovery_per_day {
        Some(v) => per_day(cx.nonneg(v, "worm.crash_recovery_per_day", "[1/day]")?),
        // [A] a crashed server is noticed and restarted within about an hour.
        None => per_day(24.0),
    };
    let deface = if w.deface.unwrap_or(d.deface) {
        Some(match &w.deface_hours {
            Some(v) => cx.positive(v, "worm.deface_hours", "[h]")? * HOUR,
            // "after showing the defaced version of the page for 10 hours, the worm
            // reverses the process" (ZDNet UK 2001-07-27, codered.md §2.9) [S2].
            None => 10.0 * HOUR,
        })
    } else {
        cx.unused(
            &w.deface_hours,
            "worm.deface_hours",
            "without deface = true",
        )?;
        None
    };
    let worm = WormSpec {
        variant,
        scan,
        scan_rate,
        threads,
        chinese_threads,
        max_scan_multiple,
        seeding,
        reinfection,
        lifetime,
        drop_dead,
        nt4_crash: w.nt4_crash.unwrap_or(d.nt4_crash),
        crash_recovery,
        backdoor: w.backdoor.unwrap_or(d.backdoor),
        deface,
        probe_bytes: strategy::probe_bytes(&cx, w)?,
        prng_subsets: strategy::prng_subsets(&cx, w)?,
        payload: strategy::payload(&cx, w, raw.worm.span())?,
    };

    // [calendar]
    let c = raw.calendar.as_ref().map(|c| c.get_ref());
    let enabled = c.and_then(|c| c.enabled).unwrap_or(d.calendar);
    let wake = match c.and_then(|c| c.wake.as_ref()) {
        Some(v) => cx.choice(v, "calendar.wake", &["lagged", "never"])?,
        None => "lagged",
    };
    let wake = if wake == "never" {
        if let Some(c) = c {
            cx.unused(
                &c.wake_lag_hours,
                "calendar.wake_lag_hours",
                "with wake = \"never\"",
            )?;
        }
        Wake::Never
    } else {
        let h = match c.and_then(|c| c.wake_lag_hours.as_ref()) {
            Some(v) => cx.nonneg(v, "calendar.wake_lag_hours", "[h]")?,
            // [A] Houle (CERT/CC): threads wake "at variable times, measured in
            // hours, after midnight UTC" (codered.md §3): uniform over 6 h.
            None => 6.0,
        };
        Wake::Lagged { max_lag: h * HOUR }
    };
    let wrong_clocks = match c.and_then(|c| c.wrong_clocks.as_ref()) {
        Some(v) => cx.count(v, "calendar.wrong_clocks", 0, u32::MAX as i64)?,
        None => 0,
    };
    if let (Some(n), Some(v)) = (n_hosts, c.and_then(|c| c.wrong_clocks.as_ref())) {
        if wrong_clocks > n {
            return Err(cx.err(
                v.span(),
                "calendar.wrong_clocks",
                format!("{wrong_clocks} exceeds the {n} hosts"),
            ));
        }
    }
    let wrong_clock_max = match c.and_then(|c| c.wrong_clock_max_days.as_ref()) {
        Some(v) => {
            let days = cx.positive(v, "calendar.wrong_clock_max_days", "[days]")?;
            let max = crate::calendar::MAX_CLOCK_ERROR / DAY;
            if days > max {
                return Err(cx.err(
                    v.span(),
                    "calendar.wrong_clock_max_days",
                    format!(
                        "{} days is more than a century; use at most {max}",
                        // (1e308 in full would be 309 digits.)
                        if days < 1e9 {
                            days.to_string()
                        } else {
                            format!("{days:e}")
                        }
                    ),
                ));
            }
            days * DAY
        }
        // [A] a wrong clock is off by up to a month either way.
        None => 30.0 * DAY,
    };
    let calendar = CalendarSpec {
        enabled,
        wake,
        wrong_clocks,
        wrong_clock_max,
    };

    // [flood]
    let f = raw.flood.as_ref().map(|f| f.get_ref());
    let site = |key: &str, v: &S<String>, default: &str| match v {
        Some(v) => cx.addr(v, key),
        None => Ok(parse_addr(default).expect("valid default address")),
    };
    let opt_time =
        |v: Option<&Spanned<toml::Value>>, key: &str| v.map(|v| cx.time(v, key)).transpose();
    let flood = FloodSpec {
        enabled: f.and_then(|f| f.enabled).unwrap_or(d.flood),
        // NIPC 01-015; Nextgov (codered.md §3.1) [S].
        target: site(
            "flood.target",
            f.map_or(&None, |f| &f.target),
            "198.137.240.91",
        )?,
        connections: match f.and_then(|f| f.connections.as_ref()) {
            Some(v) => cx.count(v, "flood.connections", 1, 100_000)?,
            // "100 connections to port 80" (course slides, codered.md §3.1) [S2].
            None => 100,
        },
        bytes_per_burst: match f.and_then(|f| f.bytes_per_burst.as_ref()) {
            Some(v) => cx.nonneg(v, "flood.bytes_per_burst", "[bytes]")?,
            // eEye via ZDNet: "400MB of data every four hours or so" (§3.1) [S2].
            None => 400e6,
        },
        period: match f.and_then(|f| f.period_hours.as_ref()) {
            Some(v) => {
                let h = cx.positive(v, "flood.period_hours", "[h]")?;
                // Bursts are counted at `origin + k·period` on a clock near
                // 1e9 s: a period far below a second stops advancing.
                if h * HOUR < 1.0 {
                    return Err(cx.err(
                        v.span(),
                        "flood.period_hours",
                        format!("{h} h is under a second; use at least 1/3600 h"),
                    ));
                }
                h * HOUR
            }
            None => 4.0 * HOUR,
        },
        packet_payload: match f.and_then(|f| f.packet_payload.as_ref()) {
            Some(v) => cx.count(v, "flood.packet_payload", 1, 65_535)?,
            // [A] a full Ethernet segment (1,460 bytes of TCP payload).
            None => 1_460,
        },
        site_moves_to: site(
            "flood.site_moves_to",
            f.map_or(&None, |f| &f.site_moves_to),
            "198.137.240.92",
        )?,
        move_at: opt_time(f.and_then(|f| f.move_at.as_ref()), "flood.move_at")?,
        filter_at: opt_time(f.and_then(|f| f.filter_at.as_ref()), "flood.filter_at")?,
    };

    // [network]
    let n = raw.network.as_ref().map(|n| n.get_ref());
    let congestion = match n.and_then(|n| n.congestion.as_ref()) {
        Some(v) => cx.choice(v, "network.congestion", &["none", "zou", "capacity"])?,
        None => "none",
    };
    if congestion != "zou" {
        cx.unused(
            n.map_or(&None, |n| &n.zou_eta),
            "network.zou_eta",
            "unless congestion = \"zou\"",
        )?;
    }
    if congestion != "capacity" {
        cx.unused(
            n.map_or(&None, |n| &n.capacity_probes_per_s),
            "network.capacity_probes_per_s",
            "unless congestion = \"capacity\"",
        )?;
        cx.unused(
            n.map_or(&None, |n| &n.capacity_bps),
            "network.capacity_bps",
            "unless congestion = \"capacity\"",
        )?;
    }
    let congestion = match congestion {
        "zou" => Congestion::Zou {
            eta: match n.and_then(|n| n.zou_eta.as_ref()) {
                Some(v) => cx.nonneg(v, "network.zou_eta", "(exponent)")?,
                // Zou, Gong, Towsley (CCS 2002): η = 3 [U] (codered.md §4.3).
                None => 3.0,
            },
        },
        "capacity" => Congestion::Capacity {
            probes_per_s: match n.and_then(|n| n.capacity_probes_per_s.as_ref()) {
                Some(v) => {
                    cx.unused(
                        n.map_or(&None, |n| &n.capacity_bps),
                        "network.capacity_bps",
                        "with capacity_probes_per_s (give one of them)",
                    )?;
                    cx.positive(v, "network.capacity_probes_per_s", "[probes/s]")?
                }
                None if n.is_some_and(|n| n.capacity_bps.is_some()) => {
                    let v = n.and_then(|n| n.capacity_bps.as_ref()).expect("checked");
                    let bps = cx.positive(v, "network.capacity_bps", "[bit/s]")?;
                    let Some(bytes) = worm.probe_bytes else {
                        return Err(cx.err(
                            v.span(),
                            "network.capacity_bps",
                            "a capacity in bit/s needs worm.probe_bytes to convert it to probes/s",
                        ));
                    };
                    bps / (8.0 * bytes)
                }
                None => {
                    return Err(cx.err(
                        n.and_then(|n| n.congestion.as_ref())
                            .map_or(raw.worm.span(), |v| v.span()),
                        "network.capacity_probes_per_s",
                        "missing; the capacity model needs a capacity [probes/s]",
                    ));
                }
            },
        },
        _ => Congestion::None,
    };
    if matches!(scan, ScanStrategy::Sequence(_)) && congestion != Congestion::None {
        let span = n
            .and_then(|n| n.congestion.as_ref())
            .map_or(raw.worm.span(), |v| v.span());
        return Err(cx.err(
            span,
            "network.congestion",
            "congestion is not modelled for sequence scanning; use \"none\"",
        ));
    }
    let network = NetworkSpec {
        syn_retries: match n.and_then(|n| n.syn_retries.as_ref()) {
            Some(v) => cx.count(v, "network.syn_retries", 0, 10)?,
            // Windows 2000: TcpMaxConnectRetransmissions = 2, initial RTO 3 s.
            None => 2,
        },
        answer_fraction: match n.and_then(|n| n.answer_fraction.as_ref()) {
            Some(v) => cx.fraction(v, "network.answer_fraction")?,
            // [A] share of random IPv4 addresses answering a SYN on port 80 in 2001.
            None => 0.05,
        },
        syn_bytes: match n.and_then(|n| n.syn_bytes.as_ref()) {
            Some(v) => cx.count(v, "network.syn_bytes", 20, 1_500)?,
            // 20 (IP) + 20 (TCP) + 8 (MSS, SACK-permitted options) [D].
            None => 48,
        },
        congestion,
    };

    let hit_list = match &raw.hit_list {
        Some(h) => {
            let free = match (&worm.seeding, n_hosts) {
                (Seeding::Count(k), Some(n)) => Some(n.saturating_sub(*k)),
                (Seeding::Addresses(a), Some(n)) => Some(n.saturating_sub(a.len() as u32)),
                _ => None,
            };
            Some(strategy::hit_list(&cx, h, free)?)
        }
        None => None,
    };
    let containment = match &raw.containment {
        Some(c) => containment::resolve(&cx, c, start)?,
        None => ContainmentSpec::default(),
    };
    if let (Some(_), ScanStrategy::Sequence(_)) = (&checkpoint, worm.scan) {
        let span = raw
            .initial
            .as_ref()
            .and_then(|i| i.get_ref().checkpoint.as_ref())
            .map_or(raw.scenario.span(), |f| f.span());
        return Err(cx.err(
            span,
            "initial.checkpoint",
            "sequence scanning (CRv1) cannot start from a checkpoint: where each host is in the \
             sequence is not saved; remove [initial] and start from seeds",
        ));
    }
    strategy::check_combinations(
        &cx,
        &raw,
        &worm,
        &calendar,
        &network,
        hit_list.as_ref(),
        &containment,
        checkpoint.is_some(),
    )?;

    // [defense]
    let dfn = raw.defense.unwrap_or_default();
    let (patch, patch_lag, initial_patched) = match &dfn.patch {
        Some(r) => patch(&cx, r)?,
        None => (RateSchedule::zero(), PatchLag::None, 0.0),
    };
    if checkpoint.is_some() && initial_patched > 0.0 {
        return Err(cx.err(
            dfn.patch.as_ref().map_or(raw.scenario.span(), |p| p.span()),
            "defense.patch.initial_fraction",
            "the checkpoint already says who is patched; remove initial_fraction",
        ));
    }
    let defense = DefenseSpec {
        patch,
        patch_lag,
        initial_patched,
        reboot: match &dfn.reboot {
            Some(r) => cx.schedule(r, "defense.reboot")?,
            None => RateSchedule::zero(),
        },
    };

    // [observe]
    let observe = observe(&cx, raw.observe.as_ref(), space_bits, start, end)?;

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
            _ if matches!(worm.scan, ScanStrategy::Sequence(_)) => {
                return Err(cx.err(
                    v.span(),
                    "output.probes",
                    "sequence scanning (CRv1) sends a fixed number of probes, so there is \
                     nothing to sample; use \"expected\"",
                ));
            }
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
        traits,
        worm,
        calendar,
        flood,
        network,
        defense,
        checkpoint,
        observe,
        output: OutputSpec {
            bin,
            report_at,
            probes,
        },
        hit_list,
        containment,
    })
}

fn observe(
    cx: &Ctx<'_>,
    raw: Option<&Spanned<super::raw::RawObserve>>,
    space_bits: u8,
    start: SimTime,
    end: SimTime,
) -> Result<ObserveSpec, ScenarioError> {
    let o = raw.map(|o| o.get_ref());
    let bin = match o.and_then(|o| o.bin.as_ref()) {
        Some(v) => {
            let b = cx.positive(v, "observe.bin", "[s]")?;
            if end.since(start) / b > 1_000_000.0 {
                return Err(cx.err(
                    v.span(),
                    "observe.bin",
                    "more than 1,000,000 bins; use a wider bin",
                ));
            }
            b
        }
        // Hourly, as CAIDA's Code-Red counts (codered.md §5.1) [A].
        None => 3600.0,
    };
    let dhcp_fraction = match o.and_then(|o| o.dhcp_fraction.as_ref()) {
        Some(v) => cx.fraction(v, "observe.dhcp_fraction")?,
        None => 0.0,
    };
    let dhcp_rate = match o.and_then(|o| o.dhcp_changes_per_day.as_ref()) {
        Some(v) => per_day(cx.nonneg(v, "observe.dhcp_changes_per_day", "[1/day]")?),
        None => 0.0,
    };
    let mut telescopes = Vec::new();
    for (i, t) in o
        .and_then(|o| o.telescope.as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        let key = format!("observe.telescope.{i}.cidr");
        let text = t.get_ref().cidr.get_ref();
        let bad = |why: String| cx.err(t.get_ref().cidr.span(), &key, why);
        let (a, l) = text
            .split_once('/')
            .ok_or_else(|| bad(format!("`{text}` is not a CIDR block like 44.0.0.0/8")))?;
        let base =
            parse_addr(a).ok_or_else(|| bad(format!("`{a}` is not a dotted-quad address")))?;
        let len: u8 = l
            .parse()
            .ok()
            .filter(|&x| x <= 32)
            .ok_or_else(|| bad(format!("`{l}` is not a prefix length 0..=32")))?;
        let host_bits = 32 - len as u32;
        if host_bits > space_bits as u32 {
            return Err(bad(format!(
                "a /{len} is larger than the 2^{space_bits} address space"
            )));
        }
        if (base as u64) & ((1u64 << host_bits) - 1) != 0 {
            return Err(bad(format!(
                "{text} has host bits set; write the block's first address"
            )));
        }
        if space_bits < 32 && (base as u64) >> space_bits != 0 {
            return Err(bad(format!(
                "{text} is outside the 2^{space_bits} address space"
            )));
        }
        let name = t.get_ref().name.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(cx.err(
                t.get_ref().name.span(),
                &format!("observe.telescope.{i}.name"),
                "use a short name of letters, digits, - and _ (it names the output files)",
            ));
        }
        telescopes.push(TelescopeSpec {
            name,
            base,
            len: (space_bits as u32 - host_bits) as u8,
        });
    }
    if telescopes.is_empty() {
        // The UCSD network telescope: 44.0.0.0/8, "approximately 1/256th of all
        // IPv4 addresses" (CAIDA, codered.md §4.6) [S]; in a smaller space, its
        // first top-level block.
        let (la, _) = crate::population::generate::block_levels(space_bits);
        let base = if space_bits == 32 { 44u32 << 24 } else { 0 };
        telescopes.push(TelescopeSpec {
            name: "telescope".into(),
            base,
            len: la,
        });
    }
    Ok(ObserveSpec {
        bin,
        telescopes,
        dhcp_fraction,
        dhcp_rate,
    })
}

fn patch(
    cx: &Ctx<'_>,
    r: &Spanned<RawPatch>,
) -> Result<(RateSchedule, PatchLag, f64), ScenarioError> {
    let p = r.get_ref();
    let initial = match &p.initial_fraction {
        Some(v) => cx.fraction(v, "defense.patch.initial_fraction")?,
        None => 0.0,
    };
    let sched = if p.rate.is_none() && p.schedule.is_none() && p.initial_fraction.is_some() {
        RateSchedule::zero()
    } else {
        cx.rate_schedule(r.span(), &p.rate, &p.schedule, "defense.patch")?
    };
    let lag = match &p.lag {
        Some(v) => cx.choice(
            v,
            "defense.patch.lag",
            &["none", "fixed", "exponential", "lognormal"],
        )?,
        None => "none",
    };
    let mean = |cx: &Ctx<'_>| -> Result<f64, ScenarioError> {
        let v = p.lag_mean_days.as_ref().ok_or_else(|| {
            cx.err(
                p.lag.as_ref().map_or(r.span(), |v| v.span()),
                "defense.patch.lag_mean_days",
                format!("missing; a {lag} lag needs it [days]"),
            )
        })?;
        cx.nonneg(v, "defense.patch.lag_mean_days", "[days]")
    };
    if lag != "lognormal" {
        cx.unused(
            &p.lag_sigma,
            "defense.patch.lag_sigma",
            "unless lag = \"lognormal\"",
        )?;
    }
    let lag = match lag {
        "none" => {
            cx.unused(
                &p.lag_mean_days,
                "defense.patch.lag_mean_days",
                "with lag = \"none\"",
            )?;
            PatchLag::None
        }
        "fixed" => PatchLag::Fixed { days: mean(cx)? },
        "exponential" => PatchLag::Exponential {
            mean_days: mean(cx)?,
        },
        _ => {
            let sigma = match &p.lag_sigma {
                Some(v) => cx.nonneg(v, "defense.patch.lag_sigma", "(log-scale spread)")?,
                None => 1.0,
            };
            // lag_mean_days is the mean; the median follows from sigma.
            let m = mean(cx)?;
            PatchLag::LogNormal {
                median_days: m * (-sigma * sigma / 2.0).exp(),
                sigma,
            }
        }
    };
    Ok((sched, lag, initial))
}
