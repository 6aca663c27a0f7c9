//! The on-disk store of a sweep's work units.
//!
//! ```text
//! OUT/sweep.json            what sweep this is (written by every shard; must agree)
//! OUT/units/0000017.json    one finished unit: its summary row and series
//! OUT/units/.0000017.json.tmp-PID   a unit being written (ignored by everything)
//! ```
//!
//! Each unit file is written to a temporary name, synced and renamed, so a unit is
//! either wholly present or absent: a killed process loses only the units in
//! flight, and a row can never be half-written or written twice. `--resume` and
//! `wormsim merge` look only at complete `NNNNNNN.json` names.
//!
//! A unit file is one line of JSON whose last field is
//! `"checksum":"fnv1a64:<16 hex digits>"`: the 64-bit FNV-1a hash of the file's
//! bytes with that field (and its comma) taken out, that is of the object as it
//! was serialized before the field was appended. A unit whose contents no longer
//! match it (edited, or a flipped bit that still parses) is refused by `merge`.
//! A unit written before checksums (no such field, and only the fields of that
//! layout) is read without the check.

use crate::error::input;
use crate::outputs::write_atomic;
use anyhow::Context;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wormsim::checkpoint::fnv1a64;
use wormsim::ensemble::columns::{SERIES_VARIABLES, SUMMARY_COLUMNS};
use wormsim::ensemble::table::{Cell, Kind};
use wormsim::ensemble::{Record, RunSeries};
use wormsim::sweep::{Sweep, value_text};

/// Version of the unit-file layout.
const FORMAT: &str = "wormsim-sweep-units/1";

/// What comes before a unit file's checksum, after its other fields.
const CHECKSUM: &str = ",\"checksum\":\"fnv1a64:";

/// The fields of a unit file written before checksums.
const FIELDS: [&str; 9] = [
    "unit",
    "point",
    "replicate",
    "engine",
    "start",
    "params",
    "param_text",
    "summary",
    "series",
];

/// The manifest file of an output directory.
pub fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("sweep.json")
}

/// The directory of unit files.
pub fn units_dir(dir: &Path) -> PathBuf {
    dir.join("units")
}

fn unit_path(dir: &Path, id: u64) -> PathBuf {
    units_dir(dir).join(format!("{id:07}.json"))
}

fn kind_name(k: Kind) -> &'static str {
    k.name()
}

fn kind_from(s: &str) -> Option<Kind> {
    [Kind::Int, Kind::Float, Kind::Str]
        .into_iter()
        .find(|k| k.name() == s)
}

/// What identifies a sweep's units: two directories (or two shards) may be merged
/// only when these agree. Paths are left out, so the same sweep run from another
/// directory still matches.
fn identity(sweep: &Sweep) -> Value {
    json!({
        "format": FORMAT,
        "wormsim_version": env!("CARGO_PKG_VERSION"),
        "sweep_text": sweep.source_text,
        "scenario_text": sweep.scenario.text,
        "seed": sweep.seed,
        "replicates": sweep.replicates,
        "points": sweep.points(),
        "units": sweep.units(),
        "combine": sweep.combine.name(),
        "params": sweep.param_schema().iter().map(|(n, k)| json!([n, kind_name(*k)])).collect::<Vec<_>>(),
        "summary_columns": SUMMARY_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>(),
        "series_variables": SERIES_VARIABLES.iter().map(|v| v.name).collect::<Vec<_>>(),
    })
}

/// The manifest of `sweep`.
pub fn manifest(sweep: &Sweep) -> Value {
    json!({
        "name": sweep.name,
        "sweep_file": sweep.source_name,
        "scenario": sweep.scenario.name,
        "identity": identity(sweep),
    })
}

/// A manifest as read back.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub dir: PathBuf,
    pub name: String,
    pub identity: Value,
    pub points: u64,
    pub replicates: u64,
    pub units: u64,
    pub params: Vec<(String, Kind)>,
}

impl Manifest {
    /// The manifest `sweep` writes into `dir`, without reading it back.
    pub fn of(dir: &Path, sweep: &Sweep) -> Manifest {
        Manifest {
            dir: dir.to_path_buf(),
            name: sweep.name.clone(),
            identity: identity(sweep),
            points: sweep.points(),
            replicates: sweep.replicates,
            units: sweep.units(),
            params: sweep
                .param_schema()
                .into_iter()
                .map(|(n, k)| (n.to_string(), k))
                .collect(),
        }
    }
}

fn bad(path: &Path, what: &str) -> anyhow::Error {
    input(format!(
        "{}: {what}; it was written by another wormsim version or is damaged",
        path.display()
    ))
}

/// Read `dir/sweep.json`.
pub fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = manifest_path(dir);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        input(format!(
            "{}: not a sweep output directory (cannot read {}: {e}); give the --out directory of `wormsim sweep`",
            dir.display(),
            path.display()
        ))
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(&path, &e.to_string()))?;
    let id = v
        .get("identity")
        .cloned()
        .ok_or_else(|| bad(&path, "no identity"))?;
    if id.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(bad(&path, &format!("not in the {FORMAT} layout")));
    }
    let num = |k: &str| {
        id.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| bad(&path, &format!("no `{k}`")))
    };
    let params = id
        .get("params")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(&path, "no `params`"))?
        .iter()
        .map(|p| {
            let name = p.get(0).and_then(Value::as_str);
            let kind = p.get(1).and_then(Value::as_str).and_then(kind_from);
            match (name, kind) {
                (Some(n), Some(k)) => Ok((n.to_string(), k)),
                _ => Err(bad(&path, "a malformed `params` entry")),
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Manifest {
        dir: dir.to_path_buf(),
        name: v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("sweep")
            .to_string(),
        points: num("points")?,
        replicates: num("replicates")?,
        units: num("units")?,
        params,
        identity: id,
    })
}

/// The first field where two identities differ, for messages.
pub fn first_difference(a: &Value, b: &Value) -> String {
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        for (k, va) in a {
            if b.get(k) != Some(va) {
                return k.clone();
            }
        }
        for k in b.keys() {
            if !a.contains_key(k) {
                return k.clone();
            }
        }
    }
    "(identity)".to_string()
}

/// Check, writing nothing, that `dir` may hold units of `sweep`: its units
/// directory (if any) is a directory, and its manifest (if any) describes the
/// same sweep.
pub fn check_dir(dir: &Path, sweep: &Sweep) -> anyhow::Result<()> {
    let ud = units_dir(dir);
    if ud.exists() && !ud.is_dir() {
        return Err(not_a_dir(&ud));
    }
    if manifest_path(dir).exists() {
        let theirs = read_manifest(dir)?;
        let mine = identity(sweep);
        if theirs.identity != mine {
            return Err(input(format!(
                "{} holds units of a different sweep (its `{}` differs from {}'s); \
                 use another --out directory, or delete {} to start over",
                dir.display(),
                first_difference(&theirs.identity, &mine),
                sweep.source_name,
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Prepare `dir` for units of `sweep`: write its manifest, or check that the one
/// there describes the same sweep.
pub fn prepare(dir: &Path, sweep: &Sweep) -> anyhow::Result<()> {
    check_dir(dir, sweep)?;
    let ud = units_dir(dir);
    std::fs::create_dir_all(&ud).with_context(|| format!("cannot create {}", ud.display()))?;
    let path = manifest_path(dir);
    if path.exists() {
        return Ok(());
    }
    let mut text = serde_json::to_string_pretty(&manifest(sweep)).expect("JSON serializes");
    text.push('\n');
    write_atomic(&path, text.as_bytes())
}

fn not_a_dir(units: &Path) -> anyhow::Error {
    input(format!(
        "{}: not a directory; a sweep output keeps its unit files in a directory of this name: \
         move the file away, then rerun the sweep with --resume",
        units.display()
    ))
}

fn not_a_file(path: &Path) -> anyhow::Error {
    input(format!(
        "{}: a directory where a unit file should be; remove it and rerun its shard with --resume",
        path.display()
    ))
}

/// Ids of the complete unit files in `dir`, with their paths.
pub fn list(dir: &Path) -> anyhow::Result<BTreeMap<u64, PathBuf>> {
    let ud = units_dir(dir);
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(&ud) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(_) if !ud.is_dir() => return Err(not_a_dir(&ud)),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", ud.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", ud.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(id) = stem.parse::<u64>() {
            let path = entry.path();
            if path.is_dir() {
                return Err(not_a_file(&path));
            }
            // Only the name wormsim writes: `1.json` and `0000001.json` in one
            // directory would otherwise both be unit 1, and which one counted
            // would depend on the order the directory is listed in.
            if name != format!("{id:07}.json") {
                return Err(input(format!(
                    "{}: not a unit file name wormsim writes (unit {id} is {id:07}.json); \
                     remove or rename it, then run again",
                    path.display()
                )));
            }
            out.insert(id, path);
        }
    }
    Ok(out)
}

fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Int(v) => v.map_or(Value::Null, Value::from),
        Cell::Float(v) => v.map_or(Value::Null, Value::from),
        Cell::Str(v) => v.clone().map_or(Value::Null, Value::from),
    }
}

/// The bytes of a unit file.
pub fn encode(sweep: &Sweep, id: u64, start: f64, rec: &Record) -> Vec<u8> {
    let (point, replicate) = sweep.unit(id);
    let summary: serde_json::Map<String, Value> = SUMMARY_COLUMNS
        .iter()
        .zip(&rec.summary)
        .map(|(c, v)| (c.name.to_string(), cell_json(v)))
        .collect();
    let mut series = serde_json::Map::new();
    series.insert("time".into(), json!(rec.series.time));
    for (v, values) in SERIES_VARIABLES.iter().zip(&rec.series.values) {
        series.insert(v.name.into(), json!(values));
    }
    let params: Vec<Value> = sweep.param_cells(point).iter().map(cell_json).collect();
    let v = json!({
        "unit": id,
        "point": point,
        "replicate": replicate,
        "engine": rec.engine,
        "start": start,
        "params": params,
        "param_text": sweep.point_values(point).iter().map(|v| value_text(v)).collect::<Vec<_>>(),
        "summary": summary,
        "series": series,
    });
    let mut bytes = serde_json::to_vec(&v).expect("JSON serializes");
    let sum = fnv1a64(&bytes);
    assert_eq!(bytes.pop(), Some(b'}'), "a JSON object");
    bytes.extend_from_slice(format!("{CHECKSUM}{sum:016x}\"}}\n").as_bytes());
    bytes
}

/// Whether a unit file's contents match its checksum: `Some(true)` or
/// `Some(false)`, or `None` when it has no checksum field where [`encode`] puts
/// it.
fn checksum_matches(text: &[u8]) -> Option<bool> {
    let body = text.trim_ascii_end().strip_suffix(b"\"}")?;
    let hex = body
        .get(body.len().checked_sub(16)?..)
        .filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
    let head = body[..body.len() - 16].strip_suffix(CHECKSUM.as_bytes())?;
    let want = u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
    let mut object = head.to_vec();
    object.push(b'}');
    Some(fnv1a64(&object) == want)
}

/// Write unit `id` into `dir` atomically.
pub fn write(dir: &Path, id: u64, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic(&unit_path(dir, id), bytes)
}

/// A unit read back.
#[derive(Clone, Debug)]
pub struct Unit {
    pub start: f64,
    pub params: Vec<Cell>,
    pub record: Record,
}

fn cell_from(v: &Value, k: Kind) -> Option<Cell> {
    Some(match (k, v) {
        (Kind::Int, Value::Null) => Cell::Int(None),
        (Kind::Float, Value::Null) => Cell::Float(None),
        (Kind::Str, Value::Null) => Cell::Str(None),
        (Kind::Int, v) => Cell::Int(Some(v.as_i64()?)),
        (Kind::Float, v) => Cell::Float(Some(v.as_f64()?)),
        (Kind::Str, v) => Cell::Str(Some(v.as_str()?.to_string())),
    })
}

fn floats(v: Option<&Value>) -> Option<Vec<f64>> {
    v?.as_array()?.iter().map(Value::as_f64).collect()
}

/// The refusal of unit files numbered at or past a sweep's `units` (their
/// paths in `stray`).
pub fn beyond_the_sweep(units: u64, stray: &[String]) -> anyhow::Error {
    input(format!(
        "unit files beyond the sweep's {units} units: {}; they belong to another sweep: remove them",
        stray.join(", ")
    ))
}

/// Why a unit file cannot be read as the unit it should be.
enum Fault {
    /// Its contents do not match its checksum.
    Changed,
    /// It is not a unit file of this layout, or not the unit it is named for.
    Damaged(String),
}

/// Read a unit file (a path from [`list`], which refuses directories),
/// checking it is unit `id` of a sweep with `m`'s shape.
pub fn read(path: &Path, id: u64, m: &Manifest) -> anyhow::Result<Unit> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text, id, m).map_err(|f| match f {
        Fault::Changed => input(format!(
            "{}: its contents do not match its checksum: the unit file was changed or damaged; \
             delete it and rerun its shard with --resume",
            path.display()
        )),
        Fault::Damaged(what) => input(format!(
            "{}: {what}; the file is damaged or from another wormsim version: delete it and rerun its shard with --resume",
            path.display()
        )),
    })
}

/// Check that a unit file can be read as unit `id` of a sweep with `m`'s shape,
/// as [`read`] and `wormsim merge` would: `Err` gives the reason (without the
/// path) when it cannot, or when it cannot be read at all.
pub fn check(path: &Path, id: u64, m: &Manifest) -> Result<(), String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    parse(&text, id, m).map(|_| ()).map_err(|f| match f {
        Fault::Changed => "its contents do not match its checksum".to_string(),
        Fault::Damaged(what) => what,
    })
}

fn parse(text: &[u8], id: u64, m: &Manifest) -> Result<Unit, Fault> {
    let damaged = |what: &str| Fault::Damaged(what.to_string());
    let checked = checksum_matches(text);
    if checked == Some(false) {
        return Err(Fault::Changed);
    }
    let v: Value = serde_json::from_slice(text).map_err(|e| damaged(&e.to_string()))?;
    // Without a valid checksum field, only the layout from before checksums is
    // read (a damaged `checksum` key must not pass as an old unit).
    if checked.is_none()
        && !v
            .as_object()
            .is_some_and(|o| o.keys().all(|k| FIELDS.contains(&k.as_str())))
    {
        return Err(Fault::Changed);
    }
    let num = |k: &str| v.get(k).and_then(Value::as_u64);
    if num("unit") != Some(id)
        || num("point") != Some(id / m.replicates)
        || num("replicate") != Some(id % m.replicates)
    {
        return Err(damaged(&format!("it is not unit {id}")));
    }
    let start = v
        .get("start")
        .and_then(Value::as_f64)
        .ok_or_else(|| damaged("no start time"))?;
    let params = v
        .get("params")
        .and_then(Value::as_array)
        .filter(|a| a.len() == m.params.len())
        .and_then(|a| {
            a.iter()
                .zip(&m.params)
                .map(|(x, (_, k))| cell_from(x, *k))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| damaged("bad `params`"))?;
    let s = v.get("summary").ok_or_else(|| damaged("no summary"))?;
    let summary = SUMMARY_COLUMNS
        .iter()
        .map(|c| {
            s.get(c.name)
                .and_then(|x| cell_from(x, c.kind))
                .ok_or_else(|| {
                    damaged(&format!(
                        "summary column `{}` is missing or invalid",
                        c.name
                    ))
                })
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    let ser = v.get("series").ok_or_else(|| damaged("no series"))?;
    let time = floats(ser.get("time")).ok_or_else(|| damaged("no series times"))?;
    let values = SERIES_VARIABLES
        .iter()
        .map(|var| {
            floats(ser.get(var.name))
                .filter(|x| x.len() == time.len())
                .ok_or_else(|| damaged(&format!("series `{}` is missing or invalid", var.name)))
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    Ok(Unit {
        start,
        params,
        record: Record {
            summary,
            series: RunSeries { time, values },
            engine: v
                .get("engine")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        },
    })
}
