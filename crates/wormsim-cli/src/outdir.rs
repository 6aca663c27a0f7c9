//! Read a `wormsim run` or `wormsim ensemble` output directory back, for charts
//! and reports: the scenario, the summary, the series (or the per-bin
//! quantiles), the flood and telescope series if present, and any fitted curves
//! (`<name>.fitted.csv`, from `wormsim fit ... --out DIR/<name>.json`).

use crate::error::input;
use anyhow::Context;
use serde_json::Value;
use std::path::{Path, PathBuf};
use wormsim::chart::{self, Curve, FitCurve, FloodCurves, HostCurves, Meta, XAxis};
use wormsim::fit::data::TimePoint;
use wormsim::observe::flood::FLOOD_COLUMNS;
use wormsim::scenario::Scenario;
use wormsim::time::SimTime;

/// A small CSV table (our own files: no quoted numeric fields).
#[derive(Clone, Debug, Default)]
pub struct Csv {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Csv {
    /// Parse `text`; fields are split on commas (quoted fields keep their
    /// quotes stripped, commas inside them are not supported).
    pub fn parse(text: &str) -> Csv {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let split = |l: &str| -> Vec<String> {
            l.split(',')
                .map(|f| f.trim().trim_matches('"').to_string())
                .collect()
        };
        let header = lines.next().map(split).unwrap_or_default();
        Csv {
            header,
            rows: lines.map(split).collect(),
        }
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// A numeric column (empty or unparsable cells are NaN); `None` if absent.
    pub fn f64s(&self, name: &str) -> Option<Vec<f64>> {
        let i = self.index(name)?;
        Some(
            self.rows
                .iter()
                .map(|r| {
                    r.get(i)
                        .and_then(|c| c.parse::<f64>().ok())
                        .unwrap_or(f64::NAN)
                })
                .collect(),
        )
    }

    /// The `time` column as seconds since the epoch (RFC 3339), or as hours
    /// when the times are numbers.
    pub fn times(&self, file: &Path) -> anyhow::Result<(XAxis, Vec<f64>)> {
        let i = self
            .index("time")
            .ok_or_else(|| input(format!("{}: no `time` column", file.display())))?;
        let mut axis = None;
        let mut out = Vec::with_capacity(self.rows.len());
        for (n, r) in self.rows.iter().enumerate() {
            let cell = r.get(i).map_or("", String::as_str);
            let tp = TimePoint::parse(cell).map_err(|e| {
                input(format!(
                    "{}: row {}: time `{cell}`: {e}",
                    file.display(),
                    n + 2
                ))
            })?;
            let (a, v) = match tp {
                TimePoint::At(t) => (XAxis::Utc, t.secs()),
                TimePoint::Hours(h) => (XAxis::Hours, h),
            };
            if axis.is_some_and(|x| x != a) {
                return Err(input(format!(
                    "{}: row {}: mixes timestamps and hours",
                    file.display(),
                    n + 2
                )));
            }
            axis = Some(a);
            out.push(v);
        }
        Ok((axis.unwrap_or(XAxis::Utc), out))
    }
}

/// What kind of output directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirKind {
    Run,
    Ensemble,
}

/// An output directory, read.
pub struct OutDir {
    pub dir: PathBuf,
    pub kind: DirKind,
    pub meta: Meta,
    /// `scenario.toml`'s text, and the scenario it resolves to.
    pub scenario_text: Option<String>,
    pub scenario: Option<Scenario>,
    /// `summary.json` (runs) or `ensemble.json` (ensembles).
    pub info: Option<Value>,
    /// `summaries.csv` (ensembles).
    pub summaries: Option<Csv>,
    pub hosts: HostCurves,
    pub flood: Option<FloodCurves>,
    /// `telescope.csv`: times and cumulative unique sources.
    pub telescope: Option<(Vec<f64>, Vec<f64>)>,
    /// Fitted curves found in the directory, by file stem.
    pub fits: Vec<(String, FitCurve)>,
}

fn read(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // Not text: damaged input, not a failure of the machine (exit 2).
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(input(format!(
            "{}: not UTF-8 text ({e}); regenerate it, or remove it from the directory",
            path.display()
        ))),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// A series in JSON (`--format json`): an array of records, as a [`Csv`].
fn json_records(text: &str, file: &Path) -> anyhow::Result<Csv> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| input(format!("{}: not JSON: {e}", file.display())))?;
    let rows = v
        .as_array()
        .ok_or_else(|| input(format!("{}: not an array of records", file.display())))?;
    let header: Vec<String> = rows
        .first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let rows = rows
        .iter()
        .map(|r| {
            header
                .iter()
                .map(|h| match r.get(h) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(x) => x.to_string(),
                })
                .collect()
        })
        .collect();
    Ok(Csv { header, rows })
}

/// A fitted-curve CSV (`time,observed,fitted,lower,upper`).
pub fn read_fit(path: &Path, model: &str) -> anyhow::Result<FitCurve> {
    let text = read(path)?.ok_or_else(|| input(format!("{}: not found", path.display())))?;
    let csv = Csv::parse(&text);
    let (x_axis, time) = csv.times(path)?;
    let col = |n: &str| {
        csv.f64s(n)
            .ok_or_else(|| input(format!("{}: no `{n}` column", path.display())))
    };
    let lower = col("lower")?;
    let upper = col("upper")?;
    let band = (!lower.iter().chain(&upper).any(|v| v.is_nan())).then_some((lower, upper));
    Ok(FitCurve {
        model: model.to_string(),
        x_axis,
        time,
        observed: col("observed")?,
        fitted: col("fitted")?,
        band,
    })
}

/// The model of a fit result JSON (`"model"`), if readable.
pub fn fit_model(json: &Path) -> Option<String> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(json).ok()?).ok()?;
    v.get("model")?.as_str().map(str::to_string)
}

impl OutDir {
    /// Read `dir`.
    ///
    /// # Errors
    /// The directory holds neither a run's series nor an ensemble's quantiles
    /// (an input error), or a file cannot be read or parsed.
    pub fn load(dir: &Path) -> anyhow::Result<OutDir> {
        if !dir.is_dir() {
            return Err(input(format!(
                "{}: not a directory; give the output directory of `wormsim run` or `wormsim ensemble`",
                dir.display()
            )));
        }
        let scenario_text = read(&dir.join("scenario.toml"))?;
        let scenario = scenario_text
            .as_deref()
            .and_then(|t| Scenario::from_str("scenario.toml", t).ok());
        let quantiles = read(&dir.join("quantiles.csv"))?;
        let kind = if quantiles.is_some() {
            DirKind::Ensemble
        } else {
            DirKind::Run
        };
        let info_name = match kind {
            DirKind::Run => "summary.json",
            DirKind::Ensemble => "ensemble.json",
        };
        let info: Option<Value> = read(&dir.join(info_name))?
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| {
                input(format!(
                    "{}: not JSON: {e}; regenerate it, or remove it from the directory",
                    dir.join(info_name).display()
                ))
            })?;
        let get_u64 = |k: &str| info.as_ref().and_then(|v| v.get(k)).and_then(Value::as_u64);
        let meta = Meta {
            scenario: info
                .as_ref()
                .and_then(|v| v.get("scenario"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| scenario.as_ref().map(|s| s.name.clone()))
                .unwrap_or_else(|| dir.display().to_string()),
            seed: get_u64("seed"),
            runs: match kind {
                DirKind::Run => None,
                DirKind::Ensemble => get_u64("runs"),
            },
        };

        let (hosts, flooding, summaries) = match kind {
            DirKind::Run => {
                let (csv, path) = if let Some(t) = read(&dir.join("series.csv"))? {
                    (Csv::parse(&t), dir.join("series.csv"))
                } else if let Some(t) = read(&dir.join("series.json"))? {
                    let p = dir.join("series.json");
                    (json_records(&t, &p)?, p)
                } else {
                    return Err(input(format!(
                        "{}: no series.csv, series.json or quantiles.csv; give the output \
                         directory of `wormsim run` or `wormsim ensemble` (with csv output)",
                        dir.display()
                    )));
                };
                let (_, time) = csv.times(&path)?;
                let col = |n: &str| -> anyhow::Result<Curve> {
                    let v = csv
                        .f64s(n)
                        .ok_or_else(|| input(format!("{}: no `{n}` column", path.display())))?;
                    Ok(Curve::run(time.clone(), v))
                };
                let hosts = HostCurves {
                    infected: col("infected")?,
                    susceptible: col("susceptible")?,
                    patched: col("patched")?,
                    cumulative_infected: col("cumulative_infected")?,
                    new_infections: col("new_infections")?,
                    bin_seconds: csv.f64s("bin_seconds").unwrap_or_default(),
                };
                (hosts, csv.f64s("flooding"), None)
            }
            DirKind::Ensemble => {
                let path = dir.join("quantiles.csv");
                let csv = Csv::parse(quantiles.as_deref().unwrap_or(""));
                let hosts = quantile_curves(&csv, &path)?;
                let summaries = read(&dir.join("summaries.csv"))?.map(|t| Csv::parse(&t));
                (hosts, None, summaries)
            }
        };

        let flood = match read(&dir.join("flood.csv"))? {
            None => None,
            Some(t) => {
                let path = dir.join("flood.csv");
                let csv = Csv::parse(&t);
                let (_, time) = csv.times(&path)?;
                let col = |n: &str| {
                    csv.f64s(n)
                        .ok_or_else(|| input(format!("{}: no `{n}` column", path.display())))
                };
                let fs = scenario.as_ref().map(|s| &s.flood);
                Some(FloodCurves {
                    time,
                    target_packets_per_s: col(FLOOD_COLUMNS[2])?,
                    moved_packets_per_s: col(FLOOD_COLUMNS[5])?,
                    flooding: flooding.clone(),
                    target: fs.map_or("the target".into(), |f| {
                        wormsim::population::fmt_addr(f.target)
                    }),
                    moved_to: fs.map_or("the new address".into(), |f| {
                        wormsim::population::fmt_addr(f.site_moves_to)
                    }),
                    move_at: fs.and_then(|f| f.move_at).map(SimTime::secs),
                    filter_at: fs.and_then(|f| f.filter_at).map(SimTime::secs),
                })
            }
        };

        let telescope = match read(&dir.join("telescope.csv"))? {
            None => None,
            Some(t) => {
                let path = dir.join("telescope.csv");
                let csv = Csv::parse(&t);
                let (_, time) = csv.times(&path)?;
                let seen = csv.f64s("cumulative_sources").ok_or_else(|| {
                    input(format!(
                        "{}: no `cumulative_sources` column (expected \
                         time,probes_seen,unique_sources,new_sources,cumulative_sources)",
                        path.display()
                    ))
                })?;
                Some((time, seen))
            }
        };

        let mut fits = Vec::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".fitted.csv") && !n.starts_with('.'))
            })
            .collect();
        names.sort();
        for p in names {
            let stem = p
                .file_name()
                .and_then(|n| n.to_str())
                .map(|n| n.trim_end_matches(".fitted.csv").to_string())
                .unwrap_or_default();
            let model = fit_model(&dir.join(format!("{stem}.json"))).unwrap_or(stem.clone());
            fits.push((stem, read_fit(&p, &model)?));
        }

        Ok(OutDir {
            dir: dir.to_path_buf(),
            kind,
            meta,
            scenario_text,
            scenario,
            info,
            summaries,
            hosts,
            flood,
            telescope,
            fits,
        })
    }

    /// Every chart the directory's data allow, in report order.
    pub fn figures(&self) -> Vec<chart::Figure> {
        let fits: Vec<FitCurve> = self.fits.iter().map(|(_, f)| f.clone()).collect();
        let mut out = vec![
            chart::hosts(&self.meta, &self.hosts, &fits),
            chart::new_infections(&self.meta, &self.hosts),
        ];
        if let Some((t, seen)) = &self.telescope {
            out.push(chart::telescope(
                &self.meta,
                &self.hosts.cumulative_infected,
                t,
                seen,
            ));
        }
        if let Some(f) = &self.flood {
            out.push(chart::flood(&self.meta, f));
        }
        out
    }
}

/// Host curves with bands from an ensemble's `quantiles.csv`.
fn quantile_curves(csv: &Csv, path: &Path) -> anyhow::Result<HostCurves> {
    let (_, time) = csv.times(path)?;
    let var = csv
        .index("variable")
        .ok_or_else(|| input(format!("{}: no `variable` column", path.display())))?;
    let qs: Vec<Vec<f64>> = ["q05", "q25", "q50", "q75", "q95"]
        .iter()
        .map(|n| {
            csv.f64s(n)
                .ok_or_else(|| input(format!("{}: no `{n}` column", path.display())))
        })
        .collect::<anyhow::Result<_>>()?;
    let curve = |name: &str| -> anyhow::Result<Curve> {
        let rows: Vec<usize> = (0..csv.rows.len())
            .filter(|&i| csv.rows[i].get(var).is_some_and(|v| v == name))
            .collect();
        if rows.is_empty() {
            return Err(input(format!(
                "{}: no rows for variable `{name}`",
                path.display()
            )));
        }
        let pick = |k: usize| rows.iter().map(|&i| qs[k][i]).collect::<Vec<f64>>();
        Ok(Curve {
            time: rows.iter().map(|&i| time[i]).collect(),
            mid: pick(2),
            band90: Some((pick(0), pick(4))),
            band50: Some((pick(1), pick(3))),
        })
    };
    Ok(HostCurves {
        infected: curve("infected")?,
        susceptible: curve("susceptible")?,
        patched: curve("patched")?,
        cumulative_infected: curve("cumulative_infected")?,
        new_infections: curve("new_infections")?,
        bin_seconds: curve("bin_seconds")?.mid,
    })
}
