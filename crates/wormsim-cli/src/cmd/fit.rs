//! `wormsim fit`

use crate::args::{FitArgs, KindArg, ModelArg, ObjectiveArg};
use crate::atomic::Staged;
use crate::error::input;
use crate::export;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
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
    let fitted = fit(&series.observations, model, &options).map_err(|e: FitError| {
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
    staged.commit()?;

    if !a.quiet {
        let mut out = std::io::stdout().lock();
        write!(out, "{}", export::text::fit(&report))?;
        match &curve {
            Some(c) => writeln!(out, "  wrote {}, {}", json_path.display(), c.display())?,
            None => writeln!(out, "  wrote {}", json_path.display())?,
        }
    }
    Ok(ExitCode::SUCCESS)
}
