//! `wormsim fit`

use crate::args::{FitArgs, KindArg, ModelArg, ObjectiveArg};
use crate::atomic::Staged;
use crate::error::input;
use crate::export;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wormsim::chart::{FitCurve, Meta, XAxis};
use wormsim::fit::data::{Kind, Selection, TimePoint, read_series};
use wormsim::fit::{FitError, FitOptions, ModelKind, Objective, fit};

/// Everything the exporters need about one fit.
pub struct Report {
    pub series: wormsim::fit::data::SeriesFile,
    pub selection: Selection,
    pub fit: wormsim::fit::Fit,
    pub options: FitOptions,
}

fn bound(flag: &str, text: &Option<String>) -> anyhow::Result<Option<TimePoint>> {
    text.as_deref()
        .map(|t| {
            TimePoint::parse(t).map_err(|e| {
                input(format!(
                    "{flag}: {e}, or give a number of hours if the series' times are hours"
                ))
            })
        })
        .transpose()
}

/// The fitted-curve CSV path beside the JSON: `dir/name.json` -> `dir/name.fitted.csv`.
pub fn curve_path(json: &Path) -> PathBuf {
    let stem = json
        .file_stem()
        .map_or_else(|| "fit".into(), |s| s.to_string_lossy().into_owned());
    json.with_file_name(format!("{stem}.fitted.csv"))
}

/// The fit's chart: observed points, fitted curve, band. The title names the
/// scenario and seed from the `summary.json` beside the series, if there is one.
fn figure(r: &Report, series: &Path, json: &Path) -> wormsim::chart::Figure {
    let f = &r.fit;
    let (x_axis, time): (XAxis, Vec<f64>) = match r.series.row_times.first() {
        Some(TimePoint::At(_)) => (
            XAxis::Utc,
            r.series
                .row_times
                .iter()
                .map(|t| match t {
                    TimePoint::At(s) => s.secs(),
                    TimePoint::Hours(h) => *h,
                })
                .collect(),
        ),
        _ => (XAxis::Hours, f.times.clone()),
    };
    let curve = FitCurve {
        model: f.model.name().to_string(),
        x_axis,
        time,
        observed: f.observed.clone(),
        fitted: f.fitted.clone(),
        band: f.band.clone(),
    };
    let summary = series
        .parent()
        .map(|d| d.join("summary.json"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    let meta = Meta {
        scenario: summary
            .as_ref()
            .and_then(|v| v.get("scenario")?.as_str().map(str::to_string))
            .unwrap_or_else(|| series.display().to_string()),
        seed: summary.as_ref().and_then(|v| v.get("seed")?.as_u64()),
        runs: None,
    };
    let name = json
        .file_stem()
        .map_or_else(|| "fit".into(), |s| s.to_string_lossy().into_owned());
    wormsim::chart::fit(&meta, &name, &curve)
}

pub fn run(a: &FitArgs) -> anyhow::Result<ExitCode> {
    let model = match a.model {
        ModelArg::Rcs => ModelKind::Rcs,
        ModelArg::Si => ModelKind::Si,
        ModelArg::Sir => ModelKind::Sir,
        ModelArg::TwoFactor => ModelKind::TwoFactor,
        ModelArg::Aawp => ModelKind::Aawp,
    };
    if !(a.tick.is_finite() && a.tick > 0.0) {
        return Err(input(format!(
            "--tick {}: the AAWP tick must be a number of seconds > 0, e.g. --tick 60",
            a.tick
        )));
    }
    let selection = Selection {
        column: a.column.clone(),
        kind: a.kind.map(|k| match k {
            KindArg::Cumulative => Kind::Cumulative,
            KindArg::Incident => Kind::Incident,
        }),
        from: bound("--from", &a.from)?,
        to: bound("--to", &a.to)?,
    };
    let name = a.series.display().to_string();
    let text = std::fs::read_to_string(&a.series).map_err(|e| {
        input(format!(
            "{name}: cannot read the series: {e}; give the path to a series CSV (e.g. the \
             series.csv written by `wormsim run`)"
        ))
    })?;
    let series = read_series(&name, &text, &selection)?;
    let options = FitOptions {
        objective: match a.objective {
            ObjectiveArg::Poisson => Objective::Poisson,
            ObjectiveArg::Lsq => Objective::LeastSquares,
        },
        intervals: !a.no_ci,
        aawp_tick_hours: a.tick / 3600.0,
        ..FitOptions::default()
    };
    let spinner = crate::progress::Spinner::start(
        if options.intervals {
            format!(
                "fitting {} and its profile-likelihood intervals (`--no-ci` skips them)",
                model.name()
            )
        } else {
            format!("fitting {}", model.name())
        },
        a.quiet,
    );
    let fitted = fit(&series.observations, model, &options);
    spinner.finish();
    let fitted = fitted.map_err(|e: FitError| {
        if e.is_input() {
            input(format!("{name}: {e}"))
        } else {
            anyhow::Error::new(e).context(format!("{name}: fitting model `{}`", model.name()))
        }
    })?;
    let report = Report {
        series,
        selection,
        fit: fitted,
        options,
    };

    let json_path = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out/fit").join(format!("{}.json", model.name())));
    let mut staged = Staged::new();
    staged.write(&json_path, export::json::fit(&report).as_bytes())?;
    let curve = (!a.no_curve).then(|| curve_path(&json_path));
    if let Some(c) = &curve {
        staged.write(c, export::csv::fitted(&report).as_bytes())?;
    }
    let image = match a.plot {
        Some(p) => {
            let format = super::report::image_format(p);
            let path = super::report::beside(&json_path, format.extension());
            let fig = figure(&report, &a.series, &json_path);
            staged.write(&path, &crate::plot::render(&fig, format)?)?;
            Some(path)
        }
        None => None,
    };
    staged.commit()?;

    if !a.quiet {
        let mut out = std::io::stdout().lock();
        write!(out, "{}", export::text::fit(&report))?;
        let mut files = vec![json_path.display().to_string()];
        files.extend(curve.iter().chain(&image).map(|p| p.display().to_string()));
        writeln!(out, "  wrote {}", files.join(", "))?;
    }
    Ok(ExitCode::SUCCESS)
}
