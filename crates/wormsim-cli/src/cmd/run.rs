//! `wormsim run`

use crate::args::{EngineArg, Format, RunArgs};
use crate::atomic::Staged;
use crate::error::input;
use crate::export;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use wormsim::engine::{EngineChoice, Simulation};
use wormsim::observe::Series;
use wormsim::rng::{Streams, stream};
use wormsim::summary::Summary;
use wormsim::time::SimTime;

pub fn run(a: &RunArgs) -> anyhow::Result<ExitCode> {
    let mut scenario = super::load_scenario(&a.scenario)?;
    if let Some(until) = &a.until {
        let t = SimTime::parse_rfc3339(until).map_err(|e| input(format!("--until: {e}")))?;
        if t <= scenario.start {
            return Err(input(format!(
                "--until: {t} is not after the scenario start ({}); give a later time",
                scenario.start
            )));
        }
        scenario.end = t;
        scenario.output.report_at.retain(|&r| r <= t);
    }
    let seed = a.seed.unwrap_or(scenario.seed);
    let choice = match a.engine {
        EngineArg::Auto => EngineChoice::Auto,
        EngineArg::General => EngineChoice::General,
        EngineArg::Reference => EngineChoice::Reference,
    };
    let mut sim = Simulation::new(&scenario, seed, 0, choice)?;
    let mut series = Series::new(scenario.start, scenario.end, scenario.output.bin);
    sim.run(&mut series);
    let streams = Streams::new(seed, 0);
    series.finish(
        &sim.view(),
        scenario.output.probes,
        &mut streams.stream(stream::PROBES),
    );
    let hosts = sim.hosts();
    let summary = Summary::new(
        &scenario,
        seed,
        0,
        sim.engine_name(),
        &hosts,
        &sim.counters(),
        &series,
    );

    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&scenario.name));
    let mut staged = Staged::new();
    let series_name = match a.format {
        Format::Csv => {
            staged.write(
                &dir.join("series.csv"),
                export::csv::series(&series, scenario.output.probes).as_bytes(),
            )?;
            "series.csv"
        }
        Format::Json => {
            staged.write(
                &dir.join("series.json"),
                export::json::series(&series, scenario.output.probes).as_bytes(),
            )?;
            "series.json"
        }
    };
    staged.write(
        &dir.join("summary.json"),
        export::json::summary(&summary).as_bytes(),
    )?;
    staged.write(&dir.join("scenario.toml"), scenario.source_text.as_bytes())?;
    if a.hosts {
        staged.write(
            &dir.join("hosts.csv"),
            export::csv::hosts(sim.population(), &hosts).as_bytes(),
        )?;
    }
    staged.commit()?;

    if !a.quiet {
        let mut out = std::io::stdout().lock();
        write!(out, "{}", export::text::summary(&summary))?;
        writeln!(
            out,
            "  wrote {}/{{{}, summary.json, scenario.toml{}}} ({} rows)",
            dir.display(),
            series_name,
            if a.hosts { ", hosts.csv" } else { "" },
            series.rows().len()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
