//! Parameter sweeps: a scenario, grids over its parameters, replicates per point.
//!
//! A sweep file names a scenario (preset or path), optional fixed settings, and
//! grids over scenario keys by their dotted path:
//!
//! ```toml
//! scenario = "codered-v2-2001-07-19"   # a preset, or a path relative to this file
//! replicates = 20                      # per point
//! seed = 1                             # optional; default: the scenario's seed
//! combine = "product"                  # or "zip" (all grids the same length)
//!
//! [set]                                # optional: applied to every point
//! "output.bin" = 600
//!
//! [[grid]]
//! key = "defense.patch.rate"
//! values = [0.0, 0.05, 0.1]
//!
//! [[grid]]
//! key = "worm.scan_rate"
//! start = 2.0
//! stop = 10.0
//! step = 2.0                           # or: count = 5
//! ```
//!
//! Stage 1 reads the file into plain structs; stage 2 resolves the grids
//! ([`grid::range`]), checks the bounds (at most [`MAX_UNITS`] work units), and
//! every point's scenario is built by setting its keys in the scenario text
//! ([`set::set_keys`]) and validating the result like a file
//! ([`Sweep::scenario`]).
//!
//! # Points and work units
//! With `combine = "product"`, points run over the Cartesian product with the
//! first grid varying slowest (nested loops in file order); with `"zip"`, point
//! `p` takes value `p` of every grid. A *work unit* is a (point, replicate) pair
//! with the stable id `point · replicates + replicate`. Replicate `r` of every point
//! is seeded by `(seed, r)`: common random numbers across points, so differences
//! between points are not masked by different random draws.

pub mod grid;
pub mod set;

use crate::ensemble::table::{Cell, Kind};
use crate::preset;
use crate::scenario::{Scenario, ScenarioError, Source, location};
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::{Spanned, Value};

/// The most work units (points × replicates) a sweep may have.
pub const MAX_UNITS: u64 = 1_000_000;

/// Why a sweep is invalid.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// A problem at a place in the sweep file.
    #[error("{file}:{line}:{col}: {key}: {msg}")]
    At {
        file: String,
        line: usize,
        col: usize,
        key: String,
        msg: String,
    },
    /// A point's scenario is invalid.
    #[error("{file}: point {point} ({assignments}): {key}: {msg}")]
    Point {
        file: String,
        point: u64,
        assignments: String,
        key: String,
        msg: String,
    },
    /// A problem with the file as a whole, or with the scenario it names.
    #[error("{file}: {msg}")]
    File { file: String, msg: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    #[serde(default)]
    name: Option<Spanned<String>>,
    scenario: Spanned<String>,
    #[serde(default)]
    replicates: Option<Spanned<i64>>,
    #[serde(default)]
    seed: Option<Spanned<i64>>,
    #[serde(default)]
    combine: Option<Spanned<String>>,
    #[serde(default)]
    set: Option<Spanned<toml::Table>>,
    #[serde(default)]
    grid: Option<Vec<Spanned<RawGrid>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrid {
    key: Spanned<String>,
    #[serde(default)]
    values: Option<Spanned<Vec<Value>>>,
    #[serde(default)]
    start: Option<Spanned<Value>>,
    #[serde(default)]
    stop: Option<Spanned<Value>>,
    #[serde(default)]
    step: Option<Spanned<Value>>,
    #[serde(default)]
    count: Option<Spanned<i64>>,
}

/// How grids combine into points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// The Cartesian product (first grid slowest).
    Product,
    /// Element by element (grids of equal length).
    Zip,
}

impl Combine {
    pub fn name(self) -> &'static str {
        match self {
            Combine::Product => "product",
            Combine::Zip => "zip",
        }
    }
}

/// One swept parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// Dotted scenario key, e.g. `defense.patch.rate`.
    pub key: String,
    pub values: Vec<Value>,
    /// Column type of the values in output tables.
    pub kind: Kind,
    /// `line:col` of the key in the sweep file.
    at: (usize, usize),
}

/// A validated sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Used for default output paths and job names.
    pub name: String,
    /// Where the sweep came from (a path), for messages.
    pub source_name: String,
    /// The sweep file's text.
    pub source_text: String,
    /// The base scenario's source (its text is what points modify).
    pub scenario: Source,
    pub seed: u64,
    pub replicates: u64,
    pub combine: Combine,
    /// Fixed settings applied to every point, in order.
    pub set: Vec<(String, Value)>,
    pub grids: Vec<Grid>,
    points: u64,
}

struct Ctx<'a> {
    src: &'a Source,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, key: &str, msg: impl Into<String>) -> SweepError {
        let (line, col) = location::line_col(&self.src.text, span.start);
        SweepError::At {
            file: self.src.name.clone(),
            line,
            col,
            key: key.to_string(),
            msg: msg.into(),
        }
    }
}

/// Flatten a `[set]` table into dotted paths (a quoted key with dots is a path too).
fn flatten(prefix: &str, t: &toml::Table, out: &mut Vec<(String, Value)>) {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Table(inner) => flatten(&path, inner, out),
            other => out.push((path, other.clone())),
        }
    }
}

fn kind_of(values: &[Value]) -> Kind {
    if values.iter().all(|v| matches!(v, Value::Integer(_))) {
        Kind::Int
    } else if values
        .iter()
        .all(|v| matches!(v, Value::Integer(_) | Value::Float(_)))
    {
        Kind::Float
    } else {
        Kind::Str
    }
}

/// A parameter value as text: strings bare, everything else as TOML writes it.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether `text` is a sweep file rather than a scenario: its top-level
/// `scenario` is a string (the base scenario's name or path), where a
/// scenario file has a `[scenario]` table. Text that is not TOML is neither.
pub fn is_sweep_text(text: &str) -> bool {
    toml::from_str::<toml::Table>(text).is_ok_and(|t| t.get("scenario").is_some_and(Value::is_str))
}

impl Sweep {
    /// Read a sweep file.
    ///
    /// # Errors
    /// The file cannot be read, or see [`Sweep::from_source`].
    pub fn from_path(path: &Path) -> Result<Sweep, SweepError> {
        let src = Source::from_path(path).map_err(|e| SweepError::File {
            file: path.display().to_string(),
            msg: match e {
                ScenarioError::Io { msg, .. } => msg.replace("the scenario file", "the sweep file"),
                other => other.to_string(),
            },
        })?;
        Sweep::from_source(&src)
    }

    /// Read and validate a sweep (both stages). Points' scenarios are checked by
    /// [`Sweep::validate_points`].
    ///
    /// # Errors
    /// The first problem found, located in the file and naming the key.
    pub fn from_source(src: &Source) -> Result<Sweep, SweepError> {
        let raw: RawSweep = toml::from_str(&src.text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            let (line, col) = location::line_col(&src.text, at);
            SweepError::At {
                file: src.name.clone(),
                line,
                col,
                key: location::key_at(&src.text, at).unwrap_or_else(|| "(document)".into()),
                msg: e.message().trim().replace('\n', " "),
            }
        })?;
        let cx = Ctx { src };

        // The base scenario: a path relative to the sweep file, or a preset.
        let label = raw.scenario.get_ref().trim();
        let looks_like_file = label.ends_with(".toml") || label.contains('/');
        let scenario = if looks_like_file {
            let path = match &src.base_dir {
                Some(d) => d.join(label),
                None => PathBuf::from(label),
            };
            Source::from_path(&path)
                .map_err(|e| cx.err(raw.scenario.span(), "scenario", e.to_string()))?
        } else {
            let p = preset::get(label).ok_or_else(|| {
                cx.err(
                    raw.scenario.span(),
                    "scenario",
                    format!(
                        "unknown preset `{label}`; run `wormsim presets`, or give a path to a .toml file"
                    ),
                )
            })?;
            Source {
                name: format!("preset:{}", p.name),
                text: p.text.to_string(),
                base_dir: None,
            }
        };
        let base = Scenario::from_source(&scenario).map_err(|e| SweepError::File {
            file: src.name.clone(),
            msg: format!("scenario: {e}"),
        })?;

        let replicates = match &raw.replicates {
            Some(v) if *v.get_ref() < 1 => {
                return Err(cx.err(
                    v.span(),
                    "replicates",
                    format!(
                        "{} is too few; give at least 1 replicate per point",
                        v.get_ref()
                    ),
                ));
            }
            Some(v) => *v.get_ref() as u64,
            None => 1,
        };
        let seed = match &raw.seed {
            Some(v) if *v.get_ref() < 0 => {
                return Err(cx.err(v.span(), "seed", "the seed must be a whole number >= 0"));
            }
            Some(v) => *v.get_ref() as u64,
            None => base.seed,
        };
        let combine = match &raw.combine {
            None => Combine::Product,
            Some(c) => match c.get_ref().as_str() {
                "product" => Combine::Product,
                "zip" => Combine::Zip,
                other => {
                    return Err(cx.err(
                        c.span(),
                        "combine",
                        format!("unknown value `{other}`; use one of: product, zip"),
                    ));
                }
            },
        };

        let mut set = Vec::new();
        if let Some(t) = &raw.set {
            flatten("", t.get_ref(), &mut set);
        }
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut check_key = |key: &str, span: Range<usize>, what: &str| {
            if key.split('.').any(str::is_empty) {
                return Err(cx.err(
                    span,
                    what,
                    format!("`{key}` has an empty part; write keys like defense.patch.rate"),
                ));
            }
            if key == "scenario.seed" {
                return Err(cx.err(
                    span,
                    what,
                    "the seed is not a per-point setting; set `seed` at the top of the sweep file (or pass --seed)",
                ));
            }
            if let Some((_, other)) = seen.iter().find(|(k, _)| k == key) {
                return Err(cx.err(
                    span,
                    what,
                    format!("`{key}` is already set by {other}; give each key once"),
                ));
            }
            seen.push((key.to_string(), what.to_string()));
            Ok(())
        };
        if let Some(t) = &raw.set {
            for (k, _) in &set {
                check_key(k, t.span(), &format!("set.{k}"))?;
            }
        }

        let mut grids = Vec::new();
        for (i, g) in raw.grid.iter().flatten().enumerate() {
            let gk = format!("grid.{i}");
            let r = g.get_ref();
            let key = r.key.get_ref().trim().to_string();
            check_key(&key, r.key.span(), &format!("{gk}.key"))?;
            let about = |field: &str| format!("{gk}.{field} (`{key}`)");
            let values = match (&r.values, &r.start, &r.stop) {
                (Some(v), None, None) if r.step.is_none() && r.count.is_none() => {
                    if v.get_ref().is_empty() {
                        return Err(cx.err(
                            v.span(),
                            &about("values"),
                            "the list is empty; give at least one value",
                        ));
                    }
                    if v.get_ref().len() as u64 > MAX_UNITS {
                        return Err(cx.err(
                            v.span(),
                            &about("values"),
                            format!("more than {MAX_UNITS} values"),
                        ));
                    }
                    v.get_ref().clone()
                }
                (Some(v), _, _) => {
                    return Err(cx.err(
                        v.span(),
                        &about("values"),
                        "give `values` or a range (`start`, `stop`, `step` or `count`), not both",
                    ));
                }
                (None, Some(start), Some(stop)) => grid::range(
                    start.get_ref(),
                    stop.get_ref(),
                    r.step.as_ref().map(|s| s.get_ref()),
                    r.count.as_ref().map(|c| *c.get_ref()),
                    MAX_UNITS,
                )
                .map_err(|(field, msg)| {
                    let span = match field {
                        "start" => start.span(),
                        "stop" => stop.span(),
                        "step" => r.step.as_ref().map_or(g.span(), |s| s.span()),
                        _ => r.count.as_ref().map_or(g.span(), |c| c.span()),
                    };
                    cx.err(span, &about(field), msg)
                })?,
                (None, _, _) => {
                    return Err(cx.err(
                        g.span(),
                        &gk,
                        format!("`{key}` has no values; give `values = [...]` or `start`, `stop` and `step` (or `count`)"),
                    ));
                }
            };
            let (line, col) = location::line_col(&src.text, r.key.span().start);
            grids.push(Grid {
                kind: kind_of(&values),
                key,
                values,
                at: (line, col),
            });
        }

        // Count the points and work units, naming what makes them too many.
        let points = match combine {
            Combine::Product => {
                let mut n: u64 = 1;
                for (i, g) in grids.iter().enumerate() {
                    n = n.saturating_mul(g.values.len() as u64);
                    if n > MAX_UNITS {
                        let span = raw.grid.as_ref().expect("grids exist")[i]
                            .get_ref()
                            .key
                            .span();
                        return Err(cx.err(
                            span,
                            &format!("grid.{i}.key (`{}`)", g.key),
                            format!(
                                "with its {} values the product has more than {MAX_UNITS} points; use fewer values",
                                g.values.len()
                            ),
                        ));
                    }
                }
                n
            }
            Combine::Zip => {
                let n = grids.first().map_or(1, |g| g.values.len() as u64);
                for (i, g) in grids.iter().enumerate() {
                    if g.values.len() as u64 != n {
                        let span = raw.grid.as_ref().expect("grids exist")[i]
                            .get_ref()
                            .key
                            .span();
                        return Err(cx.err(
                            span,
                            &format!("grid.{i}.key (`{}`)", g.key),
                            format!(
                                "has {} values but grid.0 (`{}`) has {n}; zipped grids need the same length (or use combine = \"product\")",
                                g.values.len(),
                                grids[0].key
                            ),
                        ));
                    }
                }
                n
            }
        };
        let units = points.saturating_mul(replicates);
        if units > MAX_UNITS {
            let span = raw.replicates.as_ref().map_or(0..0, |r| r.span());
            return Err(cx.err(
                span,
                "replicates",
                format!(
                    "{points} points × {replicates} replicates = {units} work units, more than the limit of {MAX_UNITS}; \
                     use fewer replicates or fewer grid values"
                ),
            ));
        }

        if let Some(n) = &raw.name {
            if let Some(why) = crate::scenario::name_problem(n.get_ref().trim()) {
                return Err(cx.err(n.span(), "name", why.to_string()));
            }
        }
        let name = match &raw.name {
            Some(n) if !n.get_ref().trim().is_empty() => n.get_ref().trim().to_string(),
            _ => Path::new(&src.name)
                .file_stem()
                .map_or_else(|| base.name.clone(), |s| s.to_string_lossy().into_owned()),
        };
        Ok(Sweep {
            name,
            source_name: src.name.clone(),
            source_text: src.text.clone(),
            scenario,
            seed,
            replicates,
            combine,
            set,
            grids,
            points,
        })
    }

    /// Number of points.
    pub fn points(&self) -> u64 {
        self.points
    }

    /// Number of work units, `points · replicates`.
    pub fn units(&self) -> u64 {
        self.points * self.replicates
    }

    /// The stable id of (point, replicate).
    pub fn unit_id(&self, point: u64, replicate: u64) -> u64 {
        point * self.replicates + replicate
    }

    /// The (point, replicate) of a unit id.
    pub fn unit(&self, id: u64) -> (u64, u64) {
        (id / self.replicates, id % self.replicates)
    }

    /// The value of each grid at point `p`, in grid order.
    ///
    /// # Panics
    /// If `p` is not below [`Sweep::points`].
    pub fn point_values(&self, p: u64) -> Vec<&Value> {
        assert!(p < self.points, "point {p} of {}", self.points);
        match self.combine {
            Combine::Zip => self.grids.iter().map(|g| &g.values[p as usize]).collect(),
            Combine::Product => {
                // Mixed radix, last grid fastest.
                let mut rest = p;
                let mut out = Vec::with_capacity(self.grids.len());
                for g in self.grids.iter().rev() {
                    let n = g.values.len() as u64;
                    out.push(&g.values[(rest % n) as usize]);
                    rest /= n;
                }
                out.reverse();
                out
            }
        }
    }

    /// `key = value, …` for point `p`.
    pub fn describe_point(&self, p: u64) -> String {
        if self.grids.is_empty() {
            return "no grid".to_string();
        }
        self.grids
            .iter()
            .zip(self.point_values(p))
            .map(|(g, v)| format!("{} = {v}", g.key))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Column names and types of the swept parameters (named by key path).
    pub fn param_schema(&self) -> Vec<(&str, Kind)> {
        self.grids
            .iter()
            .map(|g| (g.key.as_str(), g.kind))
            .collect()
    }

    /// The swept parameters' values at point `p`, as table cells.
    pub fn param_cells(&self, p: u64) -> Vec<Cell> {
        self.grids
            .iter()
            .zip(self.point_values(p))
            .map(|(g, v)| match (g.kind, v) {
                (Kind::Int, Value::Integer(i)) => Cell::Int(Some(*i)),
                (Kind::Float, Value::Integer(i)) => Cell::Float(Some(*i as f64)),
                (Kind::Float, Value::Float(f)) => Cell::Float(Some(*f)),
                (_, v) => Cell::Str(Some(value_text(v))),
            })
            .collect()
    }

    /// The scenario text of point `p`: the base text with `[set]` and the point's
    /// values applied.
    ///
    /// # Errors
    /// A key path that runs through a value that is not a table.
    pub fn point_text(&self, p: u64) -> Result<String, SweepError> {
        let values = self.point_values(p);
        let mut sets: Vec<(&str, &Value)> = self.set.iter().map(|(k, v)| (k.as_str(), v)).collect();
        sets.extend(self.grids.iter().map(|g| g.key.as_str()).zip(values));
        set::set_keys(&self.scenario.text, &sets).map_err(|e| SweepError::Point {
            file: self.source_name.clone(),
            point: p,
            assignments: self.describe_point(p),
            key: match &e {
                set::SetError::Parse { key, .. }
                | set::SetError::EmptySegment { key }
                | set::SetError::NotATable { key, .. }
                | set::SetError::NoSuchItem { key, .. } => key.clone(),
            },
            msg: e.to_string(),
        })
    }

    /// The validated scenario of point `p`.
    ///
    /// # Errors
    /// A swept or set key that is not part of the scenario format (located at the
    /// key in the sweep file), or a point whose scenario is invalid (naming the
    /// point, its values and the offending key).
    pub fn scenario(&self, p: u64) -> Result<Scenario, SweepError> {
        let text = self.point_text(p)?;
        let src = Source {
            name: format!("{} point {p}", self.source_name),
            text,
            base_dir: self.scenario.base_dir.clone(),
        };
        Scenario::from_source(&src).map_err(|e| self.point_error(p, e))
    }

    fn point_error(&self, p: u64, e: ScenarioError) -> SweepError {
        let (key, msg) = match e {
            ScenarioError::At { key, msg, .. } => (key, msg),
            ScenarioError::Io { msg, .. } => ("(scenario)".to_string(), msg),
        };
        let related = |path: &str| {
            path == key
                || path.starts_with(&format!("{key}."))
                || key.starts_with(&format!("{path}."))
        };
        if msg.starts_with("unknown field") {
            let grid = self.grids.iter().enumerate().find(|(_, g)| related(&g.key));
            if let Some((i, g)) = grid {
                return SweepError::At {
                    file: self.source_name.clone(),
                    line: g.at.0,
                    col: g.at.1,
                    key: format!("grid.{i}.key"),
                    msg: format!(
                        "`{}` is not a scenario setting ({msg}); check the spelling against docs/scenario.md",
                        g.key
                    ),
                };
            }
            if let Some((k, _)) = self.set.iter().find(|(k, _)| related(k)) {
                return SweepError::File {
                    file: self.source_name.clone(),
                    msg: format!(
                        "set.{k}: `{k}` is not a scenario setting ({msg}); check the spelling against docs/scenario.md"
                    ),
                };
            }
        }
        SweepError::Point {
            file: self.source_name.clone(),
            point: p,
            assignments: self.describe_point(p),
            key,
            msg,
        }
    }

    /// Build and validate every point's scenario, calling `each(p, &scenario)`.
    ///
    /// # Errors
    /// The first invalid point.
    pub fn validate_points(&self, mut each: impl FnMut(u64, &Scenario)) -> Result<(), SweepError> {
        for p in 0..self.points {
            each(p, &self.scenario(p)?);
        }
        Ok(())
    }
}

/// Which work units a process runs: those whose id mod `count` is `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Every unit.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// `count` is 0 or `index >= count`.
    pub fn new(index: u64, count: u64) -> Result<Shard, String> {
        if count == 0 {
            Err("the shard count must be at least 1".to_string())
        } else if index >= count {
            Err(format!(
                "shard {index} does not exist in {count} shards; shards are numbered 0 to {}",
                count - 1
            ))
        } else {
            Ok(Shard { index, count })
        }
    }

    /// Parse `K/N`.
    ///
    /// # Errors
    /// Not of the form `K/N` with `0 <= K < N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not of the form K/N (e.g. 0/4)"))?;
        let num = |x: &str| {
            x.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{s}` is not of the form K/N with whole numbers (e.g. 0/4)"))
        };
        Shard::new(num(k)?, num(n)?)
    }

    /// Whether unit `id` belongs to this shard.
    pub fn contains(&self, id: u64) -> bool {
        id % self.count == self.index
    }

    /// How many of the units `0..total` belong to this shard (none for a shard
    /// past the last unit: more array tasks than units).
    pub fn units_of(&self, total: u64) -> u64 {
        total.saturating_sub(self.index).div_ceil(self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_file_is_told_from_a_scenario_by_its_scenario_key() {
        assert!(is_sweep_text(
            "scenario = \"codered-v2-2001-07-19\"\nreplicates = 2\n"
        ));
        assert!(!is_sweep_text(TINY));
        assert!(!is_sweep_text("scenario = 3\n"));
        assert!(!is_sweep_text("replicates = 2\n"));
        assert!(!is_sweep_text("scenario = \"x\"\n[[grid]\n"), "not TOML");
    }

    const TINY: &str = r#"
[scenario]
name = "tiny"
start = 2001-07-19T10:00:00Z
end = 2001-07-19T12:00:00Z
space_bits = 16
[population]
model = "uniform"
hosts = 500
[worm]
variant = "generic"
scan_rate = 10.0
"#;

    fn sweep(text: &str) -> Result<Sweep, SweepError> {
        // One directory per call: tests run in parallel, and a shared file
        // being rewritten by another test can be read half-written.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let k = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("wormsim-sweep-test-{}-{k}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tiny.toml"), TINY).unwrap();
        Sweep::from_source(&Source {
            name: "s.toml".into(),
            text: text.into(),
            base_dir: Some(dir),
        })
    }

    #[test]
    fn product_points_and_units() {
        let s = sweep(
            r#"
scenario = "tiny.toml"
replicates = 3
[[grid]]
key = "worm.scan_rate"
values = [5.0, 10.0]
[[grid]]
key = "defense.patch.rate"
start = 0.0
stop = 0.2
step = 0.1
"#,
        )
        .unwrap();
        assert_eq!((s.points(), s.units()), (6, 18));
        assert_eq!(
            s.describe_point(0),
            "worm.scan_rate = 5.0, defense.patch.rate = 0.0"
        );
        assert_eq!(
            s.describe_point(4),
            "worm.scan_rate = 10.0, defense.patch.rate = 0.1"
        );
        assert_eq!(s.unit(s.unit_id(4, 2)), (4, 2));
        assert_eq!(s.unit_id(4, 2), 14);
        assert_eq!(s.name, "s");
        assert_eq!(s.seed, 1);
        let sc = s.scenario(5).unwrap();
        assert_eq!(sc.worm.scan_rate.mean(), 10.0);
        assert!(!sc.defense.patch.is_zero());
        assert_eq!(
            s.param_cells(5),
            vec![Cell::Float(Some(10.0)), Cell::Float(Some(0.2))]
        );
        s.validate_points(|_, _| {}).unwrap();
    }

    #[test]
    fn zip_and_set() {
        let s = sweep(
            r#"
scenario = "tiny.toml"
combine = "zip"
seed = 9
[set]
"output.bin" = 600
scenario.end = 2001-07-19T11:00:00Z
[[grid]]
key = "population.hosts"
values = [100, 200]
[[grid]]
key = "worm.scan_rate"
values = [1, 2.5]
"#,
        )
        .unwrap();
        assert_eq!((s.points(), s.units(), s.seed), (2, 2, 9));
        let sc = s.scenario(1).unwrap();
        assert_eq!(sc.output.bin, 600.0);
        assert_eq!(sc.worm.scan_rate.mean(), 2.5);
        assert_eq!(sc.end.to_string(), "2001-07-19T11:00:00Z");
        assert_eq!(
            s.param_schema(),
            vec![
                ("population.hosts", Kind::Int),
                ("worm.scan_rate", Kind::Float)
            ]
        );
        assert_eq!(
            s.param_cells(0),
            vec![Cell::Int(Some(100)), Cell::Float(Some(1.0))]
        );
    }

    #[test]
    fn no_grid_is_one_point() {
        let s = sweep("scenario = \"codered-v2-2001-07-19\"\nreplicates = 4\n").unwrap();
        assert_eq!((s.points(), s.units()), (1, 4));
        assert_eq!(s.describe_point(0), "no grid");
        assert!(s.param_cells(0).is_empty());
    }

    fn err(text: &str) -> String {
        sweep(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_key() {
        let e = err(
            "scenario = \"tiny.toml\"\n[[grid]]\nkey = \"worm.scan_rate\"\nstart = 1\nstop = 5\nstep = 0\n",
        );
        assert!(
            e.starts_with("s.toml:6:8: grid.0.step (`worm.scan_rate`): a zero step"),
            "{e}"
        );
        let e = err(
            "scenario = \"tiny.toml\"\n[[grid]]\nkey = \"worm.scan_rate\"\nstart = 5.0\nstop = 1.0\nstep = 1.0\n",
        );
        assert!(
            e.contains("grid.0.stop (`worm.scan_rate`): the range is empty"),
            "{e}"
        );
        let e = err(
            "scenario = \"tiny.toml\"\nreplicates = 1000\n[[grid]]\nkey = \"worm.scan_rate\"\nstart = 1\nstop = 2000\nstep = 1\n",
        );
        assert!(e.contains("replicates: 2000 points × 1000 replicates = 2000000 work units, more than the limit of 1000000"), "{e}");
        let e = err(
            "scenario = \"tiny.toml\"\n[[grid]]\nkey = \"worm.scan_rate\"\nstart = 0\nstop = 1e9\nstep = 1\n",
        );
        assert!(
            e.contains("grid.0.step (`worm.scan_rate`): 1000000001 points is more than the limit"),
            "{e}"
        );
        let e = err("scenario = \"tiny.toml\"\n[[grid]]\nkey = \"worm.scan_rate\"\nvalues = []\n");
        assert!(
            e.contains("grid.0.values (`worm.scan_rate`): the list is empty"),
            "{e}"
        );
        let e = err(
            "scenario = \"tiny.toml\"\ncombine = \"zip\"\n[[grid]]\nkey = \"a.b\"\nvalues = [1]\n[[grid]]\nkey = \"c.d\"\nvalues = [1, 2]\n",
        );
        assert!(
            e.contains("grid.1.key (`c.d`): has 2 values but grid.0"),
            "{e}"
        );
        let e = err("scenario = \"tiny.toml\"\n[[grid]]\nkey = \"scenario.seed\"\nvalues = [1]\n");
        assert!(e.contains("the seed is not a per-point setting"), "{e}");
        let e = err(
            "scenario = \"tiny.toml\"\n[[grid]]\nkey = \"a.b\"\nvalues = [1]\n[[grid]]\nkey = \"a.b\"\nvalues = [2]\n",
        );
        assert!(
            e.contains("grid.1.key: `a.b` is already set by grid.0.key"),
            "{e}"
        );
        let e = err("scenario = \"nope\"\n");
        assert!(
            e.contains("s.toml:1:12: scenario: unknown preset `nope`"),
            "{e}"
        );
        // A name with a path in it would move the default output directory.
        let e = err("scenario = \"tiny.toml\"\nname = \"../x\"\n");
        assert!(
            e.contains("s.toml:2:8: name: the name names the output"),
            "{e}"
        );
        let e = err("scenario = \"tiny.toml\"\nreplicate = 3\n");
        assert!(e.contains("s.toml:2:1: replicate: unknown field"), "{e}");
    }

    #[test]
    fn unknown_and_invalid_keys_are_named() {
        let s = sweep(
            "scenario = \"tiny.toml\"\n[[grid]]\nkey = \"defense.ptach.rate\"\nvalues = [0.1]\n",
        )
        .unwrap();
        let e = s.validate_points(|_, _| {}).unwrap_err().to_string();
        assert!(
            e.starts_with("s.toml:3:7: grid.0.key: `defense.ptach.rate` is not a scenario setting (unknown field `ptach`"),
            "{e}"
        );
        let s = sweep(
            "scenario = \"tiny.toml\"\n[[grid]]\nkey = \"worm.scan_rate\"\nvalues = [1.0, -2.0]\n",
        )
        .unwrap();
        let e = s.validate_points(|_, _| {}).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "s.toml: point 1 (worm.scan_rate = -2.0): worm.scan_rate: -2 is negative"
            ),
            "{e}"
        );
        let s = sweep("scenario = \"tiny.toml\"\n[set]\n\"worm.scan_rat\" = 1.0\n").unwrap();
        let e = s.validate_points(|_, _| {}).unwrap_err().to_string();
        assert!(
            e.contains("set.worm.scan_rat: `worm.scan_rat` is not a scenario setting"),
            "{e}"
        );
    }

    #[test]
    fn shards() {
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("x").is_err());
        let s = Shard::parse("2/3").unwrap();
        assert_eq!(
            (0..10).filter(|&i| s.contains(i)).collect::<Vec<_>>(),
            vec![2, 5, 8]
        );
        assert_eq!(s.to_string(), "2/3");
        // `units_of` counts what `contains` selects, also for a shard past the end.
        for total in 0..12 {
            for shard in [s, Shard::ALL, Shard::parse("9/10").unwrap()] {
                let n = (0..total).filter(|&i| shard.contains(i)).count() as u64;
                assert_eq!(shard.units_of(total), n, "{shard} of {total}");
            }
        }
    }
}
