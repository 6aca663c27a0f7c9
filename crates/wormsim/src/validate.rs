//! Reproduction checks: the simulator against the published numbers of 19 July 2001.
//!
//! ```text
//!  preset codered-v2-2001-07-19 ──► replicate i (seed, i) ──► Measures i
//!         (Series, FloodMeter, an undefended FloodMeter, Watch)   │
//!                                                                 ▼
//!  CHECKS (quantity, published value and source, tolerance, rule) ──► Outcome
//!         median and 5–95% band over the runs, verdict
//! ```
//!
//! Each check is a [`Check`]: a published value with its source, a tolerance, a
//! [`Rule`] (the ensemble median must fall in the tolerance, or every run must)
//! and a function that reads one number out of a run's [`Measures`]. Adding a
//! check (the telescope, the relatives) is adding a field to [`Measures`], filling
//! it in [`measure_replicate`], and appending a [`Check`] to [`CHECKS`]. Every
//! check is defined precisely in `docs/validation.md`; the targets come from
//! `../shared/reference/codered.md` §9 and `published_point_values.csv`.
//!
//! The flood traffic does not act back on the outbreak, so the "move and filter
//! disabled" counterfactual is measured on the same runs by a second
//! [`FloodMeter`] built from the scenario without them: no extra simulation.
//!
//! # Examples
//! ```
//! use wormsim::validate::{CHECKS, Rule, Verdict, evaluate_one};
//! // The final-count check on three made-up runs.
//! let check = CHECKS.iter().find(|c| c.id == "final-count").unwrap();
//! let outcome = evaluate_one(check, &[Some(350_000.0), Some(360_000.0), Some(370_000.0)]);
//! assert_eq!(outcome.median, Some(360_000.0));
//! assert_eq!(outcome.verdict, Verdict::Pass);
//! assert!(matches!(check.rule, Rule::Median { .. }));
//! ```

use crate::engine::{EngineChoice, Event, Keep, Observer, SetupError, Simulation, View};
use crate::ensemble::{quantile, runner};
use crate::fit::data::{Kind, Observations};
use crate::fit::{FitOptions, ModelKind, fit};
use crate::observe::Series;
use crate::observe::flood::FloodMeter;
use crate::rng::{Streams, stream};
use crate::scenario::Scenario;
use crate::summary::Summary;
use crate::time::{HOUR, SimTime};

/// The preset the July 19 checks run on.
pub const PRESET: &str = "codered-v2-2001-07-19";

/// The calendar stop of the July 19 outbreak: 00:00 UTC on 20 July 2001, when a
/// right-clock host's day of the month becomes 20 and it stops spreading.
pub fn calendar_stop() -> SimTime {
    SimTime::from_ymd(2001, 7, 20)
}

/// Why the checks could not run.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(
        "scenario `{0}` has no flood move and filter times; the July 19 checks need the \
         codered-v2-2001-07-19 preset (flood.move_at, flood.filter_at)"
    )]
    NoFloodDefence(String),
    #[error(
        "scenario `{name}` ends at {end}, before the calendar stop {stop}; the July 19 checks \
         need a run past 00:00 UTC on 20 July"
    )]
    TooShort {
        name: String,
        end: SimTime,
        stop: SimTime,
    },
}

/// What the checks read from one run. Times are seconds since the epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measures {
    /// Hosts ever infected by the calendar stop [hosts].
    pub count_at_stop: f64,
    /// Hosts ever infected by the end of the run [hosts].
    pub count_at_end: f64,
    /// Time of the first infection by the worm (not a seed) [s since epoch].
    pub first_worm_infection: Option<f64>,
    /// Most first infections in one UTC minute, seeds excluded [hosts/min].
    pub peak_per_minute: f64,
    /// RCS `K` fitted (Poisson, [`crate::fit`]) to the cumulative count from the
    /// start to the calendar stop [1/h]; `None` if the fit failed.
    pub fitted_k: Option<f64>,
    /// Infections (first or not) at or after the calendar stop whose infector has
    /// a right clock [infections].
    pub right_clock_infections_after_stop: f64,
    /// The same for infectors with wrong clocks (allowed: their calendar differs).
    pub wrong_clock_infections_after_stop: f64,
    /// Flood payload arriving at the target address in bins that start at or
    /// after the filter time [bytes].
    pub flood_bytes_after_filter: f64,
    /// Without the move and the filter: flood payload sent by the flooding hosts,
    /// counted here from the flood events alone [bytes].
    pub undefended_bytes_sent: f64,
    /// Without the move and the filter: flood payload arriving at the target,
    /// as the [`FloodMeter`] measures it [bytes].
    pub undefended_bytes_at_target: f64,
}

/// The observer the checks add to a run: the first worm infection, infections
/// after the calendar stop by clock, and the flood payload sent (counted
/// independently of [`FloodMeter`], as a differential check of it).
struct Watch {
    stop: f64,
    end: f64,
    wrong_clock: Vec<bool>,
    first_worm: Option<f64>,
    right_after: u64,
    wrong_after: u64,
    // Flood: per host, (cycle origin, stretch start, instances).
    bytes_per_burst: f64,
    period: f64,
    open: Vec<Option<(f64, f64, u8)>>,
    bytes_sent: f64,
}

impl Watch {
    fn close(&mut self, (origin, since, instances): (f64, f64, u8), until: f64) {
        // Bursts at origin + k·period within [since, until), none after the end.
        let mut k = ((since - origin) / self.period).ceil().max(0.0);
        loop {
            let t = origin + k * self.period;
            if t >= until || t > self.end {
                break;
            }
            self.bytes_sent += self.bytes_per_burst * f64::from(instances);
            k += 1.0;
        }
    }

    fn finish(&mut self) {
        for h in 0..self.open.len() {
            if let Some(o) = self.open[h].take() {
                self.close(o, self.end + 1e-9);
            }
        }
    }
}

impl Observer for Watch {
    const NEEDS_HOSTS: bool = true;
    const EVENT_VIEW: bool = false;
    const RATE_EVENTS: bool = false;
    const CRASH_INFECTORS: bool = false;
    const INSTANCE_HOSTS: bool = false;
    fn event(&mut self, e: &Event, _view: &View) {
        match *e {
            Event::Infection {
                t,
                infector: Some(by),
                ..
            } => {
                let t = t.secs();
                if self.first_worm.is_none() {
                    self.first_worm = Some(t);
                }
                if t >= self.stop {
                    if self.wrong_clock[by as usize] {
                        self.wrong_after += 1;
                    } else {
                        self.right_after += 1;
                    }
                }
            }
            Event::Flood { t, host, instances } => {
                let t = t.secs();
                let h = host as usize;
                let prev = self.open[h].take();
                if let Some(o) = prev {
                    self.close(o, t);
                }
                if instances > 0 {
                    let origin = prev.map_or(t, |o| o.0);
                    self.open[h] = Some((origin, t, instances));
                }
            }
            _ => {}
        }
    }
}

/// Check that `scenario` carries what the July 19 checks need.
///
/// # Errors
/// [`ValidateError::NoFloodDefence`], [`ValidateError::TooShort`].
pub fn check_scenario(scenario: &Scenario) -> Result<(), ValidateError> {
    let stop = calendar_stop();
    if scenario.end <= stop {
        return Err(ValidateError::TooShort {
            name: scenario.name.clone(),
            end: scenario.end,
            stop,
        });
    }
    if !scenario.floods() || scenario.flood.move_at.is_none() || scenario.flood.filter_at.is_none()
    {
        return Err(ValidateError::NoFloodDefence(scenario.name.clone()));
    }
    Ok(())
}

/// Run replicate `replicate` of `scenario` (seeded by `(seed, replicate)`, as in
/// an ensemble) and measure it.
///
/// # Errors
/// [`ValidateError`].
pub fn measure_replicate(
    scenario: &Scenario,
    seed: u64,
    replicate: u64,
) -> Result<Measures, ValidateError> {
    check_scenario(scenario)?;
    let stop = calendar_stop();
    let filter_at = scenario.flood.filter_at.expect("checked");
    let mut sim =
        Simulation::with_keep(scenario, seed, replicate, EngineChoice::Auto, Keep::Outputs)?;
    let n = sim.population().len();
    let mut undefended = scenario.clone();
    undefended.flood.move_at = None;
    undefended.flood.filter_at = None;
    let mut series = Series::for_scenario(scenario);
    let mut flood = FloodMeter::for_scenario(scenario, n);
    let mut open_flood = FloodMeter::for_scenario(&undefended, n);
    let mut watch = Watch {
        stop: stop.secs(),
        end: scenario.end.secs(),
        wrong_clock: (0..n as u32)
            .map(|h| sim.setup().clock_offset(h) != 0.0)
            .collect(),
        first_worm: None,
        right_after: 0,
        wrong_after: 0,
        bytes_per_burst: scenario.flood.bytes_per_burst,
        period: scenario.flood.period,
        open: vec![None; n],
        bytes_sent: 0.0,
    };
    sim.run(&mut ((&mut series, &mut flood), (&mut open_flood, &mut watch)));
    flood.finish();
    open_flood.finish();
    watch.finish();
    series.finish(
        &sim.view(),
        scenario.output.probes,
        &mut Streams::new(seed, replicate).stream(stream::PROBES),
    );
    let hosts = sim.hosts();
    let summary = Summary::new(
        scenario,
        seed,
        replicate,
        sim.engine_name(),
        &hosts,
        &sim.counters(),
        &series,
    );
    let times = hosts.sorted_infection_times();
    let count_at_stop = times.partition_point(|&t| t <= stop.secs()) as f64;
    let flood_bytes_after_filter = flood
        .rows()
        .iter()
        .filter(|r| r.time.secs() - r.bin_len >= filter_at.secs())
        .map(|r| r.target_bytes)
        .sum();
    Ok(Measures {
        count_at_stop,
        count_at_end: f64::from(summary.ever_infected),
        first_worm_infection: watch.first_worm,
        peak_per_minute: f64::from(summary.peak_per_minute),
        fitted_k: fitted_k(&series, scenario.start, stop),
        right_clock_infections_after_stop: watch.right_after as f64,
        wrong_clock_infections_after_stop: watch.wrong_after as f64,
        flood_bytes_after_filter,
        undefended_bytes_sent: watch.bytes_sent,
        undefended_bytes_at_target: open_flood.bytes_at_target,
    })
}

/// RCS `K` [1/h] fitted by Poisson likelihood (no intervals) to the series'
/// cumulative count at the rows from `start` to `stop`, on hours since `start`.
pub fn fitted_k(series: &Series, start: SimTime, stop: SimTime) -> Option<f64> {
    let rows: Vec<_> = series
        .rows()
        .iter()
        .filter(|r| r.time <= stop && r.time >= start)
        .collect();
    let t: Vec<f64> = rows.iter().map(|r| r.time.since(start) / HOUR).collect();
    let y: Vec<f64> = rows
        .iter()
        .map(|r| f64::from(r.cumulative_infected))
        .collect();
    let obs = Observations::new(&t, &y, Kind::Cumulative).ok()?;
    let options = FitOptions {
        intervals: false,
        ..FitOptions::default()
    };
    let f = fit(&obs, ModelKind::Rcs, &options).ok()?;
    f.get("K").map(|e| e.value)
}

/// Measure replicates `0..runs` on `threads` threads; `progress(done)` after each.
/// The result is in replicate order and the same for any thread count.
///
/// # Errors
/// [`ValidateError`].
pub fn measure_ensemble(
    scenario: &Scenario,
    seed: u64,
    runs: u64,
    threads: usize,
    mut progress: impl FnMut(u64),
) -> Result<Vec<Measures>, ValidateError> {
    check_scenario(scenario)?;
    let n = usize::try_from(runs).expect("run count fits in memory");
    let mut out = vec![Measures::default(); n];
    let mut done = 0;
    runner::run_indexed(
        n,
        threads,
        |i| measure_replicate(scenario, seed, i as u64),
        |i, m| {
            out[i] = m;
            done += 1;
            progress(done);
            Ok(())
        },
    )?;
    Ok(out)
}

/// How a check decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// The median over the runs lies in `[lo, hi]`.
    Median { lo: f64, hi: f64 },
    /// Every run lies in `[lo, hi]` (an exact rule: `lo == hi`).
    EveryRun { lo: f64, hi: f64 },
}

/// How a check's values read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A count of hosts.
    Hosts,
    /// Hosts per minute.
    HostsPerMinute,
    /// A UTC clock time (values in seconds since the epoch).
    Clock,
    /// A share between 0 and 1.
    Share,
    /// A rate per hour.
    PerHour,
    /// A count of infections.
    Infections,
    /// Bytes.
    Bytes,
}

/// One reproduction check.
#[derive(Clone, Copy, Debug)]
pub struct Check {
    /// Stable identifier (`final-count`, `onset`, …), as in `docs/validation.md`.
    pub id: &'static str,
    /// What is compared, in words.
    pub quantity: &'static str,
    /// The published value, in words.
    pub published: &'static str,
    /// Where it was published.
    pub source: &'static str,
    /// The tolerance, in words.
    pub tolerance: &'static str,
    pub rule: Rule,
    pub unit: Unit,
    /// The run's value (`None`: not measurable in that run).
    pub measure: fn(&Measures) -> Option<f64>,
}

/// 2001-07-19T00:00:00Z [s since the epoch] (checked against the calendar in the tests).
const JULY_19: f64 = 995_500_800.0;

/// Every built-in reproduction check, in table order (definitions:
/// `docs/validation.md`).
pub const CHECKS: &[Check] = &[
    Check {
        id: "final-count",
        quantity: "hosts infected by 00:00 UTC Jul 20",
        published: "359,104",
        source: "CAIDA (Moore, Shannon, Brown 2002); codered.md §9.1, P1",
        tolerance: "330,000–395,000",
        rule: Rule::Median {
            lo: 330_000.0,
            hi: 395_000.0,
        },
        unit: Unit::Hosts,
        measure: |m| Some(m.count_at_stop),
    },
    Check {
        id: "onset",
        quantity: "first infection by the worm (onset)",
        published: "~10:00 UTC Jul 19",
        source: "CAIDA: \"starting at about 10:00 UTC\"; codered.md §5.1, §9.2",
        tolerance: "09:00–11:00 UTC",
        rule: Rule::Median {
            lo: JULY_19 + 9.0 * HOUR,
            hi: JULY_19 + 11.0 * HOUR,
        },
        unit: Unit::Clock,
        measure: |m| m.first_worm_infection,
    },
    Check {
        id: "saturation",
        quantity: "share of the final count reached before 00:00 UTC Jul 20",
        published: "> 90% (\"in less than 14 hours\")",
        source: "CAIDA (MSB02 abstract); codered.md §9.2, P1",
        tolerance: "≥ 0.90",
        rule: Rule::Median { lo: 0.90, hi: 1.0 },
        unit: Unit::Share,
        measure: |m| (m.count_at_end > 0.0).then(|| m.count_at_stop / m.count_at_end),
    },
    Check {
        id: "peak-rate",
        quantity: "peak new infections per minute",
        published: "over 2,000 /min",
        source: "CAIDA (MSB02 abstract); codered.md §9.3, P2",
        tolerance: "2,000–3,000 /min",
        rule: Rule::Median {
            lo: 2_000.0,
            hi: 3_000.0,
        },
        unit: Unit::HostsPerMinute,
        measure: |m| Some(m.peak_per_minute),
    },
    Check {
        id: "fitted-k",
        quantity: "RCS K fitted to 10:00–00:00",
        published: "1.8 /h",
        source: "Staniford, Paxson, Weaver 2002; codered.md §4.2, §9.4",
        tolerance: "1.5–2.1 /h",
        rule: Rule::Median { lo: 1.5, hi: 2.1 },
        unit: Unit::PerHour,
        measure: |m| m.fitted_k,
    },
    Check {
        id: "calendar-stop",
        quantity: "infections by right-clock hosts after 00:00 UTC Jul 20",
        published: "0 (spreading stops on day 20)",
        source: "NIPC 01-015; codered.md §3, §9.5",
        tolerance: "0 in every run",
        rule: Rule::EveryRun { lo: 0.0, hi: 0.0 },
        unit: Unit::Infections,
        measure: |m| Some(m.right_clock_infections_after_stop),
    },
    Check {
        id: "flood-defeated",
        quantity: "flood bytes at 198.137.240.91 after the filter",
        published: "0 (no DoS effect after the move)",
        source: "FCW/Nextgov; Sonic.net; codered.md §1, §3.1, §9.6",
        tolerance: "0 in every run",
        rule: Rule::EveryRun { lo: 0.0, hi: 0.0 },
        unit: Unit::Bytes,
        measure: |m| Some(m.flood_bytes_after_filter),
    },
    Check {
        id: "flood-sanity",
        quantity: "share of flood bytes reaching .91 without move or filter",
        published: "all flooding hosts reach it",
        source: "sanity check; codered.md §9.6",
        tolerance: "1 in every run (bytes sent > 0)",
        rule: Rule::EveryRun {
            lo: 1.0 - 1e-9,
            hi: 1.0 + 1e-9,
        },
        unit: Unit::Share,
        measure: |m| {
            (m.undefended_bytes_sent > 0.0)
                .then(|| m.undefended_bytes_at_target / m.undefended_bytes_sent)
        },
    },
];

/// The verdict of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// No run gave a value.
    NoData,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::NoData => "NO DATA",
        }
    }
}

/// A check's result over the runs.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub check: &'static Check,
    /// Runs that gave a value.
    pub runs: usize,
    /// Runs that gave none.
    pub missing: usize,
    /// Median, 5% and 95% quantiles (type 7) over the runs that gave a value.
    pub median: Option<f64>,
    pub q05: Option<f64>,
    pub q95: Option<f64>,
    /// Smallest and largest value.
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub verdict: Verdict,
}

/// Evaluate one check on per-run values (`None`: not measurable in that run).
/// A [`Rule::EveryRun`] check fails if any run gave no value.
pub fn evaluate_one(check: &'static Check, values: &[Option<f64>]) -> Outcome {
    let mut v: Vec<f64> = values.iter().flatten().copied().collect();
    let missing = values.len() - v.len();
    v.sort_by(f64::total_cmp);
    let q = |p| quantile::type7(&v, p);
    let (median, min, max) = (q(0.5), v.first().copied(), v.last().copied());
    let verdict = match (check.rule, median) {
        (_, None) => Verdict::NoData,
        (Rule::Median { lo, hi }, Some(m)) => {
            if (lo..=hi).contains(&m) {
                Verdict::Pass
            } else {
                Verdict::Fail
            }
        }
        (Rule::EveryRun { lo, hi }, Some(_)) => {
            let ok = missing == 0 && v.iter().all(|x| (lo..=hi).contains(x));
            if ok { Verdict::Pass } else { Verdict::Fail }
        }
    };
    Outcome {
        check,
        runs: v.len(),
        missing,
        median,
        q05: q(0.05),
        q95: q(0.95),
        min,
        max,
        verdict,
    }
}

/// Evaluate every check of `checks` on the runs' measures.
pub fn evaluate(checks: &'static [Check], measures: &[Measures]) -> Vec<Outcome> {
    checks
        .iter()
        .map(|c| {
            let values: Vec<Option<f64>> = measures.iter().map(c.measure).collect();
            evaluate_one(c, &values)
        })
        .collect()
}

/// Whether every outcome passed.
pub fn all_pass(outcomes: &[Outcome]) -> bool {
    outcomes.iter().all(|o| o.verdict == Verdict::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str) -> &'static Check {
        CHECKS.iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn check_ids_are_unique() {
        for (i, a) in CHECKS.iter().enumerate() {
            assert!(CHECKS[i + 1..].iter().all(|b| b.id != a.id), "{}", a.id);
        }
    }

    fn hm(h: u32, m: u32) -> f64 {
        SimTime::from_ymd(2001, 7, 19).secs() + f64::from(h) * HOUR + f64::from(m) * 60.0
    }

    #[test]
    fn onset_window_is_nine_to_eleven_utc() {
        let Rule::Median { lo, hi } = check("onset").rule else {
            panic!()
        };
        assert_eq!(lo, hm(9, 0));
        assert_eq!(hi, hm(11, 0));
    }

    #[test]
    fn median_rule_decides_on_the_median_only() {
        let c = check("peak-rate");
        let o = evaluate_one(c, &[Some(1000.0), Some(2500.0), Some(9000.0)]);
        assert_eq!(o.verdict, Verdict::Pass);
        assert_eq!(o.min, Some(1000.0));
        let o = evaluate_one(c, &[Some(1000.0), Some(1900.0), Some(9000.0)]);
        assert_eq!(o.verdict, Verdict::Fail);
    }

    #[test]
    fn every_run_rule_fails_on_one_run_or_a_missing_value() {
        let c = check("calendar-stop");
        assert_eq!(
            evaluate_one(c, &[Some(0.0), Some(0.0)]).verdict,
            Verdict::Pass
        );
        assert_eq!(
            evaluate_one(c, &[Some(0.0), Some(1.0)]).verdict,
            Verdict::Fail
        );
        assert_eq!(evaluate_one(c, &[Some(0.0), None]).verdict, Verdict::Fail);
        assert_eq!(evaluate_one(c, &[None, None]).verdict, Verdict::NoData);
    }

    #[test]
    fn band_is_type7() {
        let c = check("final-count");
        let values: Vec<Option<f64>> = (0..=20).map(|i| Some(f64::from(i))).collect();
        let o = evaluate_one(c, &values);
        assert_eq!(
            (o.q05, o.median, o.q95),
            (Some(1.0), Some(10.0), Some(19.0))
        );
    }
}
