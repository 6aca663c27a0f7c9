//! `wormsim run`

use crate::args::{EngineArg, Format, RunArgs};
use crate::atomic::Staged;
use crate::error::input;
use crate::export;
use crate::progress::RunProgress;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use wormsim::checkpoint::Checkpoint;
use wormsim::engine::{EngineChoice, Keep, Simulation};
use wormsim::observe::Series;
use wormsim::observe::flood::FloodMeter;
use wormsim::observe::telescope::Telescopes;
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
    if let Some(path) = &a.from_checkpoint {
        let ck = Checkpoint::load(path).map_err(|e| input(format!("--from-checkpoint: {e}")))?;
        scenario = scenario
            .with_checkpoint(ck)
            .map_err(|e| input(format!("--from-checkpoint: {e}")))?;
    }
    let seed = a.seed.unwrap_or(scenario.seed);
    let choice = match a.engine {
        // Checkpoints and telescopes need the general engine (it reports every
        // change of a host's rate).
        EngineArg::Auto if a.save_checkpoint.is_some() || a.observe => EngineChoice::General,
        EngineArg::Auto => EngineChoice::Auto,
        EngineArg::General => EngineChoice::General,
        EngineArg::Reference => EngineChoice::Reference,
    };
    crate::preflight::check(
        &wormsim::ensemble::memory::single(&scenario, choice, a.hosts),
        a.max_memory.as_deref(),
        crate::preflight::FIX_RUN,
    )?;
    // Setup errors (population, seeds, what the chosen engine models) name
    // their key; the scenario file is named here.
    // What a checkpoint needs is kept only for one.
    let keep = if a.save_checkpoint.is_some() {
        Keep::Checkpoint
    } else {
        Keep::Outputs
    };
    let mut sim = Simulation::with_keep(&scenario, seed, 0, choice, keep)
        .map_err(|e| super::setup_error(&scenario, e))?;
    let mut series = Series::for_scenario(&scenario);
    let mut flood = FloodMeter::for_scenario(&scenario, sim.population().len());
    let mut scopes = if a.observe {
        if choice == EngineChoice::Reference {
            return Err(input(
                "--observe: the telescope watches the exact engine; drop --engine reference",
            ));
        }
        let rng = Streams::new(seed, 0).stream(stream::OBSERVE);
        Some(
            Telescopes::new(&scenario, sim.population(), rng)
                .map_err(|e| input(format!("--observe: {e}")))?,
        )
    } else {
        None
    };
    // A passive observer: the run is the same with or without it.
    let mut prog = RunProgress::new(sim.time(), scenario.end, a.quiet);
    match (&mut scopes, scenario.floods()) {
        (Some(t), true) => sim.run(&mut (((&mut series, &mut flood), t), &mut prog)),
        (Some(t), false) => sim.run(&mut ((&mut series, t), &mut prog)),
        (None, true) => sim.run(&mut ((&mut series, &mut flood), &mut prog)),
        (None, false) => sim.run(&mut (&mut series, &mut prog)),
    }
    prog.finish();
    flood.finish();
    if let Some(t) = &mut scopes {
        t.finish();
    }
    let streams = Streams::new(seed, 0);
    series.finish(
        &sim.view(),
        scenario.output.probes,
        &mut streams.stream(stream::PROBES),
    );
    let checkpoint = match &a.save_checkpoint {
        Some(_) => Some(
            sim.checkpoint()
                .map_err(|e| input(format!("--save-checkpoint: {e}")))?,
        ),
        None => None,
    };
    let (engine, counters) = (sim.engine_name(), sim.counters());
    // Without `--hosts` the engine ends here, so its per-host results are not
    // copied beside it.
    let (hosts, hosts_csv) = if a.hosts {
        let hosts = sim.hosts();
        let csv = export::csv::hosts(sim.population(), &hosts, sim.setup());
        (hosts, Some(csv))
    } else {
        (sim.into_hosts(), None)
    };
    let mut summary = Summary::new(&scenario, seed, 0, engine, &hosts, &counters, &series);
    summary.flood_bytes = flood.bytes_delivered;
    summary.flood_bytes_at_target = flood.bytes_at_target;

    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&scenario.name));
    let mut staged = Staged::new();
    let mut written: Vec<String> = Vec::new();
    match a.format {
        Format::Csv => {
            staged.write(
                &dir.join("series.csv"),
                export::csv::series(&series, scenario.output.probes).as_bytes(),
            )?;
            written.push("series.csv".into());
        }
        Format::Json => {
            staged.write(
                &dir.join("series.json"),
                export::json::series(&series, scenario.output.probes).as_bytes(),
            )?;
            written.push("series.json".into());
        }
    }
    if scenario.floods() {
        staged.write(
            &dir.join("flood.csv"),
            export::csv::flood(&flood).as_bytes(),
        )?;
        written.push("flood.csv".into());
    }
    if let Some(t) = &scopes {
        for k in 0..t.telescopes.len() {
            // The first telescope is `telescope.csv` (charted by the report);
            // others are named after themselves.
            let stem = if k == 0 {
                "telescope".to_string()
            } else {
                format!("telescope-{}", t.telescopes[k].name)
            };
            staged.write(
                &dir.join(format!("{stem}.csv")),
                export::csv::telescope_series(&t.series(k)).as_bytes(),
            )?;
            staged.write(
                &dir.join(format!("{stem}-sources.csv")),
                export::csv::telescope_sources(&t.sources(k)).as_bytes(),
            )?;
            written.push(format!("{stem}.csv"));
            written.push(format!("{stem}-sources.csv"));
        }
    }
    staged.write(
        &dir.join("summary.json"),
        export::json::summary(&summary).as_bytes(),
    )?;
    staged.write(&dir.join("scenario.toml"), scenario.source_text.as_bytes())?;
    written.extend(["summary.json".to_string(), "scenario.toml".to_string()]);
    if let Some(csv) = &hosts_csv {
        staged.write(&dir.join("hosts.csv"), csv.as_bytes())?;
        written.push("hosts.csv".into());
    }
    if let (Some(path), Some(ck)) = (&a.save_checkpoint, &checkpoint) {
        staged.write(path, ck.to_text().as_bytes())?;
    }
    staged.commit()?;
    let extras = super::report::extras(&dir, a.plot, a.report)?;
    written.extend(extras.iter().cloned());

    if !a.quiet {
        let mut out = std::io::stdout().lock();
        write!(out, "{}", export::text::summary(&summary, &scenario))?;
        writeln!(
            out,
            "  wrote {}/{{{}}} ({} rows)",
            dir.display(),
            written.join(", "),
            series.rows().len()
        )?;
        if let Some(path) = &a.save_checkpoint {
            writeln!(
                out,
                "  checkpoint at {} written to {}",
                scenario.end,
                path.display()
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
