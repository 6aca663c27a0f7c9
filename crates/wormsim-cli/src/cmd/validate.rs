//! `wormsim validate`: the reproduction checks of `wormsim::validate`.

use crate::args::ValidateArgs;
use crate::atomic::Staged;
use crate::error::input;
use crate::progress;
use crate::report::{self, ValidationRow};
use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;
use wormsim::validate::{self, CHECKS, Outcome, Unit, Verdict};

/// A value in its unit, for the table.
pub fn value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Hosts | Unit::Infections => wormsim::chart::group(v),
        Unit::HostsPerMinute => format!("{} /min", wormsim::chart::group(v)),
        Unit::Clock => {
            let t = wormsim::time::SimTime(v).to_string();
            format!("{} UTC", t.get(11..16).unwrap_or(&t))
        }
        Unit::Share => format!("{v:.3}"),
        Unit::PerHour => format!("{v:.2} /h"),
        Unit::Bytes => {
            if v == 0.0 {
                "0 B".into()
            } else {
                format!("{v:.3e} B")
            }
        }
    }
}

/// The table's rows.
pub fn rows(outcomes: &[Outcome]) -> Vec<ValidationRow> {
    outcomes
        .iter()
        .map(|o| {
            let c = o.check;
            let f = |x: Option<f64>| x.map_or_else(|| "–".to_string(), |v| value(c.unit, v));
            let mut verdict = o.verdict.name().to_string();
            if o.missing > 0 {
                let _ = write!(verdict, " ({} runs without a value)", o.missing);
            }
            ValidationRow {
                quantity: c.quantity.into(),
                published: c.published.into(),
                source: c.source.into(),
                median: f(o.median),
                band: format!("{} – {}", f(o.q05), f(o.q95)),
                tolerance: c.tolerance.into(),
                verdict,
                pass: o.verdict == Verdict::Pass,
            }
        })
        .collect()
}

/// The rows as a plain-text table (columns padded, `|` separated, Markdown-ready).
pub fn text_table(rows: &[ValidationRow]) -> String {
    let header = [
        "quantity",
        "published",
        "source",
        "simulated median",
        "5–95%",
        "tolerance",
        "verdict",
    ];
    let cells: Vec<[&str; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.quantity.as_str(),
                r.published.as_str(),
                r.source.as_str(),
                r.median.as_str(),
                r.band.as_str(),
                r.tolerance.as_str(),
                r.verdict.as_str(),
            ]
        })
        .collect();
    let mut width = header.map(|h| h.chars().count());
    for r in &cells {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[&str; 7]| {
        let mut s = String::from("|");
        for (c, w) in cells.iter().zip(width) {
            let pad = w - c.chars().count();
            let _ = write!(s, " {c}{} |", " ".repeat(pad));
        }
        s.push('\n');
        s
    };
    let mut out = line(&header);
    out.push('|');
    for w in width {
        let _ = write!(out, "{}|", "-".repeat(w + 2));
    }
    out.push('\n');
    for r in &cells {
        out.push_str(&line(r));
    }
    out
}

pub fn run(a: &ValidateArgs) -> anyhow::Result<ExitCode> {
    if a.runs == 0 {
        return Err(input("--runs: 0 runs; give at least 1"));
    }
    if a.threads == Some(0) {
        return Err(input("--threads: give at least 1"));
    }
    let threads = a
        .threads
        .unwrap_or_else(crate::cmd::ensemble::default_threads);
    let scenario = wormsim::preset::load(validate::PRESET)?;
    let pb = progress::bar(a.runs, a.quiet, "runs");
    let t0 = Instant::now();
    let measures = validate::measure_ensemble(&scenario, a.seed, a.runs, threads, |d| {
        pb.set_position(d);
    })?;
    pb.finish_and_clear();
    let elapsed = t0.elapsed().as_secs_f64();
    let outcomes = validate::evaluate(CHECKS, &measures);
    let rows = rows(&outcomes);
    let passed = outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Pass)
        .count();
    let heading = format!(
        "wormsim validate: {} against the published July 19, 2001 numbers",
        validate::PRESET
    );
    let summary = format!(
        "{passed} of {} checks passed ({} runs, seed {}, quantiles type 7 over the runs; definitions: docs/validation.md)",
        outcomes.len(),
        a.runs,
        a.seed
    );
    let wrong: f64 = measures
        .iter()
        .map(|m| m.wrong_clock_infections_after_stop)
        .sum();
    let note = format!(
        "Wrong-clock hosts (the preset has 2,000) keep spreading after the calendar stop, as they \
         should: {} infections by them after 00:00 UTC Jul 20 over the {} runs (median {} per run).",
        wormsim::chart::group(wrong),
        a.runs,
        wormsim::chart::group({
            let mut v: Vec<f64> = measures
                .iter()
                .map(|m| m.wrong_clock_infections_after_stop)
                .collect();
            v.sort_by(f64::total_cmp);
            wormsim::ensemble::quantile::type7(&v, 0.5).unwrap_or(0.0)
        })
    );
    if let Some(path) = &a.report {
        let facts = vec![
            ("scenario".to_string(), validate::PRESET.to_string()),
            ("runs".to_string(), a.runs.to_string()),
            (
                "seed".to_string(),
                format!("{} (replicate i uses (seed, i))", a.seed),
            ),
            ("wormsim".to_string(), report::VERSION.to_string()),
            ("result".to_string(), summary.clone()),
        ];
        let html = report::validation(&heading, &facts, &rows, std::slice::from_ref(&note));
        let mut staged = Staged::new();
        staged.write(path, html.as_bytes())?;
        staged.commit()?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{heading}")?;
    write!(out, "{}", text_table(&rows))?;
    writeln!(out, "{summary}")?;
    writeln!(out, "{note}")?;
    if let Some(path) = &a.report {
        writeln!(out, "wrote {}", path.display())?;
    }
    if !a.quiet {
        eprintln!(
            "{} runs in {elapsed:.1} s ({threads} thread{})",
            a.runs,
            if threads == 1 { "" } else { "s" }
        );
    }
    Ok(if validate::all_pass(&outcomes) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
