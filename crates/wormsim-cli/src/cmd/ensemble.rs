//! `wormsim ensemble`

use crate::args::{EngineArg, EnsembleArgs};
use crate::error::input;
use crate::export;
use crate::outputs::Outputs;
use crate::{preflight, progress};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use wormsim::engine::EngineChoice;
use wormsim::ensemble::columns::{SERIES_VARIABLES, SUMMARY_COLUMNS};
use wormsim::ensemble::table::{Cell, Kind, Table};
use wormsim::ensemble::{
    RunSeries, distributions, memory, quantile, quantile_table, run_ensemble, summary_schema,
};

/// Threads to use when `--threads` is not given.
pub fn default_threads() -> usize {
    wormsim::ensemble::runner::available_threads()
}

pub fn engine_choice(e: EngineArg) -> EngineChoice {
    match e {
        EngineArg::Auto => EngineChoice::Auto,
        EngineArg::General => EngineChoice::General,
        EngineArg::Reference => EngineChoice::Reference,
    }
}

pub fn run(a: &EnsembleArgs) -> anyhow::Result<ExitCode> {
    let scenario = super::load_scenario(&a.scenario)?;
    if a.runs == 0 {
        return Err(input("--runs: 0 runs; give at least 1"));
    }
    if a.threads == Some(0) {
        return Err(input("--threads: give at least 1"));
    }
    if (a.plot.is_some() || a.report) && !a.format.contains(&crate::args::TableFormat::Csv) {
        return Err(input(
            "--plot and --report read quantiles.csv; add csv to --format (e.g. --format csv,parquet)",
        ));
    }
    let seed = a.seed.unwrap_or(scenario.seed);
    let threads = a.threads.unwrap_or_else(default_threads);
    let choice = engine_choice(a.engine);
    let estimate = memory::ensemble(&scenario, a.runs, threads as u64, choice);
    preflight::check(&estimate, a.max_memory.as_deref(), preflight::FIX_MANY)?;

    let pb = progress::bar(a.runs, a.quiet, "runs");
    let t0 = Instant::now();
    let records = run_ensemble(&scenario, seed, a.runs, threads, choice, |done| {
        pb.set_position(done);
    })
    .map_err(|e| super::setup_error(&scenario, e))?;
    pb.finish_and_clear();
    let elapsed = t0.elapsed().as_secs_f64();

    // Tables, in replicate order.
    let mut summaries = Table::with_schema(summary_schema(&[("replicate", Kind::Int)]));
    for (i, r) in records.iter().enumerate() {
        let mut row = vec![Cell::Int(Some(i as i64))];
        row.extend(r.summary.iter().cloned());
        summaries.push_row(row);
    }
    let series: Vec<&RunSeries> = records.iter().map(|r| &r.series).collect();
    let quantiles = quantile_table(&series, scenario.start, &[]).map_err(anyhow::Error::msg)?;

    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(format!("{}-ensemble", scenario.name)));
    let mut outs = Outputs::new(&dir)?;
    let mut t = outs.table("summaries", &a.format, &summaries.schema())?;
    t.write(&summaries)?;
    t.finish()?;
    let mut t = outs.table("quantiles", &a.format, &quantiles.schema())?;
    t.write(&quantiles)?;
    t.finish()?;
    let engine = records.first().map_or("", |r| r.engine.as_str());
    let meta = json!({
        "scenario": scenario.name,
        "scenario_source": scenario.source_name,
        "seed": seed,
        "runs": a.runs,
        "engine": engine,
        "replicate_seeding": "replicate i uses streams of (seed, i)",
        "quantiles": {
            "probabilities": quantile::PROBS,
            "columns": quantile::NAMES,
            "method": "Hyndman-Fan type 7 (linear interpolation; R's default)",
        },
        "summary_columns": SUMMARY_COLUMNS.iter().map(|c| json!({"name": c.name, "unit": c.unit})).collect::<Vec<_>>(),
        "series_variables": SERIES_VARIABLES.iter().map(|v| v.name).collect::<Vec<_>>(),
        "docs": "docs/outputs.md",
    });
    let mut meta = serde_json::to_string_pretty(&meta).expect("JSON serializes");
    meta.push('\n');
    outs.write("ensemble.json", meta.as_bytes())?;
    outs.write("scenario.toml", scenario.source_text.as_bytes())?;
    let mut names = outs.commit()?;
    names.extend(super::report::extras(&dir, a.plot, a.report)?);

    if !a.quiet {
        let rows: Vec<&[Cell]> = records.iter().map(|r| r.summary.as_slice()).collect();
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{} ensemble: {} runs, seed {}, engine {} (quantiles over runs; times in hours after {})",
            scenario.name, a.runs, seed, engine, scenario.start
        )?;
        write!(
            out,
            "{}",
            export::distribution::table(&distributions(&rows))
        )?;
        writeln!(out, "  wrote {}/{{{}}}", dir.display(), names.join(", "))?;
        eprintln!(
            "{} runs in {elapsed:.2} s ({:.1} runs/s, {threads} thread{})\nmemory estimate: {}",
            a.runs,
            a.runs as f64 / elapsed.max(1e-9),
            if threads == 1 { "" } else { "s" },
            preflight::describe(&estimate)
        );
    }
    Ok(ExitCode::SUCCESS)
}
