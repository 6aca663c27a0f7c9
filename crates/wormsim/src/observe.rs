//! Observers: what the engine's pushes become.
//!
//! [`Series`] turns the engine's events and constant-state intervals into the
//! per-bin time series (`series.csv`). Other instruments (telescope, traffic meters)
//! implement [`crate::engine::Observer`] the same way and never draw from the
//! outbreak's random streams, so adding one never changes the outbreak.

use crate::engine::{Event, Observer, View};
use crate::rng::Rng;
use crate::scenario::ProbeCount;
use crate::time::SimTime;
use rand_distr::{Distribution, Poisson};

/// One row of the time series.
///
/// Levels (`susceptible`, `infected`, `cumulative_infected`, `patched`) are the
/// state at `time`. Flows (`new_infections`, `reinfections`, `rebooted`, `probes`)
/// are totals over the bin that ends at `time`, i.e. `(previous time, time]`; the
/// first row's flows are the initial seeds.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Row {
    pub time: SimTime,
    pub susceptible: u32,
    pub infected: u32,
    /// Hosts infected at least once by `time`.
    pub cumulative_infected: u32,
    /// Hosts infected for the first time in the bin (seeds in the first row).
    pub new_infections: u32,
    /// Infections of hosts infected before (after a reboot cleared them).
    pub reinfections: u32,
    /// Probes sent in the bin: the expectation `∫ R dt`, or a draw (see [`ProbeCount`]).
    pub probes: f64,
    /// Patched hosts at `time`.
    pub patched: u32,
    /// Reboots of infected hosts in the bin.
    pub rebooted: u32,
}

/// Column names of [`Row`], in output order.
pub const COLUMNS: [&str; 9] = [
    "time",
    "susceptible",
    "infected",
    "cumulative_infected",
    "new_infections",
    "reinfections",
    "probes",
    "patched",
    "rebooted",
];

/// The per-bin time series observer.
#[derive(Clone, Debug)]
pub struct Series {
    start: SimTime,
    end: SimTime,
    bin: f64,
    rows: Vec<Row>,
    /// Expected number of probe-caused events per bin, `∫ hit_rate dt`.
    hits_expected: Vec<f64>,
    /// Probe-caused events per bin.
    hits: Vec<u32>,
    levels_done: usize,
}

impl Series {
    /// Rows at `start + i·bin` and a last row at `end`.
    pub fn new(start: SimTime, end: SimTime, bin: f64) -> Series {
        let full = (end.since(start) / bin).floor() as usize;
        let mut times: Vec<SimTime> = (0..=full).map(|i| start.plus(i as f64 * bin)).collect();
        if *times.last().expect("at least one row") < end {
            times.push(end);
        }
        let n = times.len();
        Series {
            start,
            end,
            bin,
            rows: times
                .into_iter()
                .map(|time| Row {
                    time,
                    ..Row::default()
                })
                .collect(),
            hits_expected: vec![0.0; n],
            hits: vec![0; n],
            levels_done: 0,
        }
    }

    /// Row whose bin `(time[i-1], time[i]]` contains `t`.
    fn row_of_event(&self, t: SimTime) -> usize {
        let x = t.since(self.start) / self.bin;
        (x.ceil().max(0.0) as usize).min(self.rows.len() - 1)
    }

    fn set_levels(&mut self, i: usize, v: &View) {
        let r = &mut self.rows[i];
        r.susceptible = v.susceptible;
        r.infected = v.infected;
        r.cumulative_infected = v.ever_infected;
        r.patched = v.patched;
    }

    /// Fill the rows not yet reached with the final state, and draw sampled probe
    /// counts if asked. Call once, after the run.
    pub fn finish(&mut self, final_view: &View, probes: ProbeCount, rng: &mut Rng) {
        for i in self.levels_done..self.rows.len() {
            self.set_levels(i, final_view);
        }
        self.levels_done = self.rows.len();
        if probes == ProbeCount::Sampled {
            // Given the path, probes that change nothing form an independent
            // Poisson process of rate R - hit_rate (thinning), so the probes in a
            // bin are its events plus a Poisson count of the rest.
            for i in 0..self.rows.len() {
                let miss = (self.rows[i].probes - self.hits_expected[i]).max(0.0);
                let extra = if miss > 0.0 {
                    Poisson::new(miss)
                        .expect("finite positive mean")
                        .sample(rng)
                } else {
                    0.0
                };
                self.rows[i].probes = self.hits[i] as f64 + extra;
            }
        }
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The bin width [s].
    pub fn bin(&self) -> f64 {
        self.bin
    }

    /// End of the series.
    pub fn end(&self) -> SimTime {
        self.end
    }
}

impl Observer for Series {
    const NEEDS_HOSTS: bool = false;

    fn interval(&mut self, from: SimTime, to: SimTime, v: &View) {
        // Levels at each row time in [from, to).
        while self.levels_done < self.rows.len() && self.rows[self.levels_done].time < to {
            if self.rows[self.levels_done].time >= from {
                let i = self.levels_done;
                self.set_levels(i, v);
            }
            self.levels_done += 1;
        }
        if v.probe_rate <= 0.0 {
            return;
        }
        // Probe mass, split over the bins (time[i-1], time[i]].
        let mut a = from;
        while a < to {
            let i =
                ((a.since(self.start) / self.bin).floor() as usize + 1).min(self.rows.len() - 1);
            let bin_end = self.rows[i].time;
            let b = if bin_end < to && bin_end > a {
                bin_end
            } else {
                to
            };
            let dt = b.since(a);
            self.rows[i].probes += v.probe_rate * dt;
            self.hits_expected[i] += v.hit_rate * dt;
            a = b;
        }
    }

    fn event(&mut self, e: &Event, _v: &View) {
        match *e {
            Event::Infection {
                t, infector, first, ..
            } => {
                let i = self.row_of_event(t);
                if first {
                    self.rows[i].new_infections += 1;
                } else {
                    self.rows[i].reinfections += 1;
                }
                if infector.is_some() {
                    self.hits[i] += 1;
                }
            }
            Event::Reboot { t, .. } => {
                let i = self.row_of_event(t);
                self.rows[i].rebooted += 1;
            }
            Event::Patch { .. } | Event::Phase { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(infected: u32, rate: f64) -> View {
        View {
            infected,
            ever_infected: infected,
            probe_rate: rate,
            hit_rate: 0.0,
            ..View::default()
        }
    }

    #[test]
    fn rows_and_partial_last_bin() {
        let s = Series::new(SimTime(0.0), SimTime(150.0), 60.0);
        let times: Vec<f64> = s.rows().iter().map(|r| r.time.secs()).collect();
        assert_eq!(times, vec![0.0, 60.0, 120.0, 150.0]);
        let s = Series::new(SimTime(0.0), SimTime(120.0), 60.0);
        assert_eq!(s.rows().len(), 3);
    }

    #[test]
    fn probes_split_exactly_over_bins() {
        let mut s = Series::new(SimTime(0.0), SimTime(180.0), 60.0);
        s.interval(SimTime(30.0), SimTime(150.0), &view(1, 2.0));
        let p: Vec<f64> = s.rows().iter().map(|r| r.probes).collect();
        assert_eq!(p, vec![0.0, 60.0, 120.0, 60.0]);
    }

    #[test]
    fn levels_and_flows() {
        let mut s = Series::new(SimTime(0.0), SimTime(120.0), 60.0);
        let seed = Event::Infection {
            t: SimTime(0.0),
            host: 0,
            infector: None,
            first: true,
        };
        s.event(&seed, &view(1, 1.0));
        s.interval(SimTime(0.0), SimTime(60.0), &view(1, 1.0));
        let inf = Event::Infection {
            t: SimTime(60.0),
            host: 1,
            infector: Some(0),
            first: true,
        };
        s.event(&inf, &view(2, 2.0));
        s.interval(SimTime(60.0), SimTime(90.0), &view(2, 2.0));
        s.event(
            &Event::Reboot {
                t: SimTime(90.0),
                host: 1,
            },
            &view(1, 1.0),
        );
        s.interval(SimTime(90.0), SimTime(120.0), &view(1, 1.0));
        let mut final_view = view(1, 1.0);
        final_view.ever_infected = 2;
        s.finish(
            &final_view,
            ProbeCount::Expected,
            &mut rand::SeedableRng::seed_from_u64(0),
        );
        let r = s.rows();
        assert_eq!(
            (r[0].new_infections, r[0].cumulative_infected, r[0].infected),
            (1, 1, 1)
        );
        // The infection at exactly 60 s belongs to the bin ending at 60 s, and the
        // level at 60 s includes it.
        assert_eq!((r[1].new_infections, r[1].infected), (1, 2));
        assert_eq!(
            (r[2].rebooted, r[2].infected, r[2].cumulative_infected),
            (1, 1, 2)
        );
        assert_eq!(r[1].probes, 60.0);
        assert_eq!(r[2].probes, 2.0 * 30.0 + 30.0);
    }
}
