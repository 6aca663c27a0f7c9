//! Ensembles: many replicates of a scenario, run in parallel, aggregated
//! reproducibly.
//!
//! ```text
//!  replicate i ── Simulation::new(&scenario, seed, i) ── run ──► Record i
//!       (any thread; seeded by (seed, i), never by thread)         │
//!                                                                   ▼
//!  records in replicate order ──► summary table (one row per run)
//!                             └─► quantile table (per bin and series variable:
//!                                 q05 q25 q50 q75 q95, type 7; mean)
//! ```
//!
//! Every aggregate is computed on one thread from the records in replicate order:
//! quantiles sort the values, means sum them left to right. So the output is the
//! same, bit for bit, for any number of threads. Column names and units are listed
//! in `docs/outputs.md`.
//!
//! # Examples
//! ```
//! use wormsim::engine::EngineChoice;
//! use wormsim::ensemble::{self, quantile_table, run_ensemble};
//! use wormsim::scenario::Scenario;
//! let s = Scenario::from_str("t.toml", r#"
//!     [scenario]
//!     name = "tiny"
//!     start = 2001-07-19T10:00:00Z
//!     end = 2001-07-19T11:00:00Z
//!     space_bits = 16
//!     [population]
//!     model = "uniform"
//!     hosts = 300
//!     [worm]
//!     variant = "generic"
//!     scan_rate = 10.0
//!     [output]
//!     bin = 600
//! "#).unwrap();
//! let records = run_ensemble(&s, 1, 8, 2, EngineChoice::Auto, |_| {}).unwrap();
//! let series: Vec<_> = records.iter().map(|r| &r.series).collect();
//! let q = quantile_table(&series, s.start, &[]).unwrap();
//! // One hour in 10-minute bins: 7 rows (both ends) per series variable.
//! assert_eq!(q.rows(), 7 * ensemble::columns::SERIES_VARIABLES.len());
//! ```

pub mod columns;
pub mod memory;
pub mod quantile;
pub mod runner;
pub mod table;

use crate::engine::{EngineChoice, Keep, SetupError, Simulation};
use crate::observe::Series;
use crate::rng::{Streams, stream};
use crate::scenario::Scenario;
use crate::summary::Summary;
use crate::time::SimTime;
use columns::{SERIES_VARIABLES, SUMMARY_COLUMNS, summary_cells};
use table::{Cell, Kind, Table};

/// One finished replicate: what `wormsim run` computes for replicate 0.
#[derive(Clone, Debug)]
pub struct Run {
    pub summary: Summary,
    pub series: Series,
}

/// Run replicate `replicate` of `scenario` with base seed `seed`, exactly as
/// `wormsim run` does for replicate 0: see [`run_simulation`].
///
/// # Errors
/// [`SetupError`].
pub fn run_replicate(
    scenario: &Scenario,
    seed: u64,
    replicate: u64,
    choice: EngineChoice,
) -> Result<Run, SetupError> {
    let sim = Simulation::with_keep(scenario, seed, replicate, choice, Keep::Outputs)?;
    Ok(run_simulation(scenario, seed, replicate, sim))
}

/// Run `sim`, set up for replicate `replicate` of `scenario` with base seed
/// `seed`, to the end as `wormsim run` does: the series observer and the
/// flood meter, sampled probe counts from stream `probes` of
/// `(seed, replicate)`, and the summary (from the records the engine hands
/// over at the end, [`Simulation::into_hosts`]).
pub fn run_simulation(scenario: &Scenario, seed: u64, replicate: u64, mut sim: Simulation) -> Run {
    let mut series = Series::for_scenario(scenario);
    let mut flood =
        crate::observe::flood::FloodMeter::for_scenario(scenario, sim.population().len());
    if scenario.floods() {
        sim.run(&mut (&mut series, &mut flood));
        flood.finish();
    } else {
        sim.run(&mut series);
    }
    series.finish(
        &sim.view(),
        scenario.output.probes,
        &mut Streams::new(seed, replicate).stream(stream::PROBES),
    );
    let (engine, counters) = (sim.engine_name(), sim.counters());
    let mut summary = Summary::new(
        scenario,
        seed,
        replicate,
        engine,
        &sim.into_hosts(),
        &counters,
        &series,
    );
    summary.flood_bytes = flood.bytes_delivered;
    summary.flood_bytes_at_target = flood.bytes_at_target;
    Run { summary, series }
}

/// A run's series, column-major: what the quantiles are computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSeries {
    /// Row times [s since the epoch].
    pub time: Vec<f64>,
    /// `values[v][i]`: variable `SERIES_VARIABLES[v]` at row `i`.
    pub values: Vec<Vec<f64>>,
}

impl RunSeries {
    pub fn from_series(s: &Series) -> RunSeries {
        RunSeries {
            time: s.rows().iter().map(|r| r.time.secs()).collect(),
            values: SERIES_VARIABLES
                .iter()
                .map(|v| s.rows().iter().map(v.get).collect())
                .collect(),
        }
    }
}

/// What an ensemble keeps of each run.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// One cell per [`SUMMARY_COLUMNS`] entry.
    pub summary: Vec<Cell>,
    pub series: RunSeries,
    /// Engine that ran it (`exact/general`, …).
    pub engine: String,
}

impl Record {
    pub fn from_run(r: &Run) -> Record {
        Record {
            summary: summary_cells(&r.summary),
            series: RunSeries::from_series(&r.series),
            engine: r.summary.engine.clone(),
        }
    }
}

/// Run replicates `0..runs` of `scenario` on `threads` threads. `progress(done)`
/// is called on this thread after each run. The records come back in replicate
/// order, identical for any thread count.
///
/// # Errors
/// [`SetupError`] (the same for every replicate of a scenario).
pub fn run_ensemble(
    scenario: &Scenario,
    seed: u64,
    runs: u64,
    threads: usize,
    choice: EngineChoice,
    mut progress: impl FnMut(u64),
) -> Result<Vec<Record>, SetupError> {
    let n = usize::try_from(runs).expect("run count fits in memory");
    let mut out: Vec<Option<Record>> = vec![None; n];
    let mut done = 0;
    runner::run_indexed(
        n,
        threads,
        |i| run_replicate(scenario, seed, i as u64, choice).map(|r| Record::from_run(&r)),
        |i, rec| {
            out[i] = Some(rec);
            done += 1;
            progress(done);
            Ok(())
        },
    )?;
    Ok(out
        .into_iter()
        .map(|r| r.expect("every replicate ran"))
        .collect())
}

/// Schema of the per-run summary table: `prefix` columns, then [`SUMMARY_COLUMNS`].
pub fn summary_schema<'a>(prefix: &[(&'a str, Kind)]) -> Vec<(&'a str, Kind)> {
    let mut s = prefix.to_vec();
    s.extend(SUMMARY_COLUMNS.iter().map(|c| (c.name, c.kind)));
    s
}

/// Schema of the quantile table: `prefix` columns, then `time` (RFC 3339),
/// `elapsed_s`, `variable`, `q05` … `q95` and `mean`.
pub fn quantile_schema<'a>(prefix: &[(&'a str, Kind)]) -> Vec<(&'a str, Kind)> {
    let mut s = prefix.to_vec();
    s.extend([
        ("time", Kind::Str),
        ("elapsed_s", Kind::Float),
        ("variable", Kind::Str),
    ]);
    s.extend(quantile::NAMES.iter().map(|&n| (n, Kind::Float)));
    s.push(("mean", Kind::Float));
    s
}

/// The quantile table of one point from its runs' series, in replicate order.
/// `prefix` cells (point, parameter values) start every row. Rows are grouped by
/// variable (in [`SERIES_VARIABLES`] order), then by time.
///
/// # Errors
/// The runs' series do not share their row times (they come from different
/// scenarios): a message saying which run differs.
pub fn quantile_table(
    runs: &[&RunSeries],
    start: SimTime,
    prefix: &[(&str, Cell)],
) -> Result<Table, String> {
    let schema: Vec<(&str, Kind)> = prefix.iter().map(|(n, c)| (*n, c.kind())).collect();
    let mut t = Table::with_schema(quantile_schema(&schema));
    let Some(first) = runs.first() else {
        return Ok(t);
    };
    for (i, r) in runs.iter().enumerate() {
        if r.time != first.time || r.values.len() != SERIES_VARIABLES.len() {
            return Err(format!(
                "run {i} has different row times or variables than run 0"
            ));
        }
    }
    let times: Vec<String> = first.time.iter().map(|&x| SimTime(x).to_string()).collect();
    let mut column = vec![0.0; runs.len()];
    for (v, var) in SERIES_VARIABLES.iter().enumerate() {
        for (i, time) in times.iter().enumerate() {
            for (slot, r) in column.iter_mut().zip(runs) {
                *slot = r.values[v][i];
            }
            let mean = quantile::mean(&column);
            let q = quantile::quantiles(&mut column);
            let mut row: Vec<Cell> = prefix.iter().map(|(_, c)| c.clone()).collect();
            row.push(Cell::Str(Some(time.clone())));
            row.push(Cell::Float(Some(first.time[i] - start.secs())));
            row.push(Cell::Str(Some(var.name.to_string())));
            row.extend((0..5).map(|k| Cell::Float(q.map(|q| q[k]))));
            row.push(Cell::Float(mean));
            t.push_row(row);
        }
    }
    Ok(t)
}

/// Distribution of one summary column over the runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    pub name: &'static str,
    pub label: &'static str,
    /// Runs with a value.
    pub n: usize,
    /// Runs without one (e.g. no time to 10% when nothing was infected).
    pub missing: usize,
    pub mean: Option<f64>,
    /// [`quantile::PROBS`] quantiles.
    pub quantiles: Option<[f64; 5]>,
}

/// The distribution of every summary column, from the summary rows in run order.
pub fn distributions(rows: &[&[Cell]]) -> Vec<Distribution> {
    SUMMARY_COLUMNS
        .iter()
        .enumerate()
        .map(|(c, col)| {
            let mut values: Vec<f64> = rows.iter().filter_map(|r| r[c].as_f64()).collect();
            let mean = quantile::mean(&values);
            Distribution {
                name: col.name,
                label: col.label,
                n: values.len(),
                missing: rows.len() - values.len(),
                mean,
                quantiles: quantile::quantiles(&mut values),
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny scenario with every mechanism on, for fast tests.
    pub(crate) fn tiny() -> Scenario {
        Scenario::from_str(
            "tiny.toml",
            r#"
            [scenario]
            name = "tiny"
            start = 2001-07-19T10:00:00Z
            end = 2001-07-19T14:00:00Z
            space_bits = 16
            [population]
            model = "uniform"
            hosts = 2000
            [worm]
            variant = "generic"
            scan_rate = 2.0
            initial_infected = 2
            [defense.patch]
            rate = 2.0
            [defense.reboot]
            rate = 3.0
            [output]
            bin = 900
            "#,
        )
        .unwrap()
    }

    #[test]
    fn identical_for_any_thread_count() {
        let s = tiny();
        let one = run_ensemble(&s, 5, 12, 1, EngineChoice::Auto, |_| {}).unwrap();
        let three = run_ensemble(&s, 5, 12, 3, EngineChoice::Auto, |_| {}).unwrap();
        assert_eq!(one, three);
        // Replicates differ from one another.
        assert_ne!(one[0].summary, one[1].summary);
    }

    #[test]
    fn replicate_is_seeded_by_seed_and_index() {
        let s = tiny();
        let all = run_ensemble(&s, 5, 4, 2, EngineChoice::Auto, |_| {}).unwrap();
        let third = run_replicate(&s, 5, 3, EngineChoice::Auto).unwrap();
        assert_eq!(all[3], Record::from_run(&third));
    }

    #[test]
    fn quantile_table_shape_and_values() {
        let s = tiny();
        let recs = run_ensemble(&s, 9, 5, 2, EngineChoice::Auto, |_| {}).unwrap();
        let series: Vec<&RunSeries> = recs.iter().map(|r| &r.series).collect();
        let t = quantile_table(&series, s.start, &[("point", Cell::Int(Some(4)))]).unwrap();
        let bins = series[0].time.len();
        assert_eq!(t.rows(), bins * SERIES_VARIABLES.len());
        assert_eq!(t.columns[0].data.cell(0), Cell::Int(Some(4)));
        // The median of the final cumulative count equals the median final size.
        let v = SERIES_VARIABLES
            .iter()
            .position(|v| v.name == "cumulative_infected")
            .unwrap();
        let q50 = t.column("q50").unwrap();
        let Cell::Float(Some(median)) = q50.data.cell(v * bins + bins - 1) else {
            panic!()
        };
        let rows: Vec<&[Cell]> = recs.iter().map(|r| r.summary.as_slice()).collect();
        let d = distributions(&rows);
        let fs = d.iter().find(|d| d.name == "final_size").unwrap();
        assert_eq!(fs.quantiles.unwrap()[2], median);
        assert_eq!(fs.n, 5);
        // Elapsed time runs from 0 at the start.
        assert_eq!(
            t.column("elapsed_s").unwrap().data.cell(0),
            Cell::Float(Some(0.0))
        );
    }

    #[test]
    fn mismatched_series_are_an_error() {
        let a = RunSeries {
            time: vec![0.0, 1.0],
            values: vec![vec![0.0; 2]; SERIES_VARIABLES.len()],
        };
        let mut b = a.clone();
        b.time[1] = 2.0;
        assert!(quantile_table(&[&a, &b], SimTime(0.0), &[]).is_err());
    }
}
