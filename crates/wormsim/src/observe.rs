//! Observers: what the engine's pushes become.
//!
//! [`Series`] turns the engine's events and constant-state intervals into the
//! per-bin time series (`series.csv`). Other instruments (telescope, traffic meters)
//! implement [`crate::engine::Observer`] the same way and never draw from the
//! outbreak's random streams, so adding one never changes the outbreak.

pub mod flood;
pub mod telescope;

use crate::engine::{Clear, Event, Observer, View};
use crate::rng::Rng;
use crate::scenario::{NetworkSpec, ProbeCount, Scenario};
use crate::time::SimTime;
use rand_distr::{Distribution, Poisson};

/// The row `i` whose bin `(ends[i−1], ends[i]]` holds time `t` [s], for rows
/// at `ends` (`start + i·bin`, the last at the run's end; times past it go to
/// the last row), given `inv_bin = 1/bin`. The product `(t − start)·inv_bin`
/// gives the row, except that it is rounded (and with a bin that is not a
/// binary fraction, 416.6 s, so are the row ends), which can put a time at or
/// next to the end of a row across it: the row ends decide (one step at most:
/// the roundings are a few units in the last place). A product rather than
/// the quotient `(t − start)/bin`, which takes several times as long: the
/// series and the flood meter bin every event with it (the CRv2 preset's 1.1
/// million events: 1.014× as fast, bench/RESULTS.md).
#[inline]
pub(crate) fn row_at(ends: &[f64], start: f64, inv_bin: f64, t: f64) -> usize {
    let last = ends.len() - 1;
    let i = ceil_index((t - start) * inv_bin).min(last);
    if i > 0 && ends[i - 1] >= t {
        i - 1
    } else if i < last && ends[i] < t {
        i + 1
    } else {
        i
    }
}

/// `x.ceil().max(0.0) as usize`, for every `f64` (NaN and negatives give 0, and
/// values past `usize::MAX` saturate), without the call to `ceil` that the
/// baseline x86-64 target makes (it has no rounding instruction): the first
/// guess of [`row_at`].
#[inline(always)]
pub(crate) fn ceil_index(x: f64) -> usize {
    let i = x as usize;
    if (i as f64) < x {
        i.saturating_add(1)
    } else {
        i
    }
}

/// One row of the time series.
///
/// Levels (`susceptible`, `infected`, `cumulative_infected`, `patched`,
/// `crashed`, `defaced`, `backdoored`, `flooding`) are the state at `time`. Flows
/// (`new_infections`, `reinfections`, `instances_added`, `probes`, `rebooted`,
/// `expired`) are totals over the bin that ends at `time`, i.e.
/// `(previous time, time]`, and the `*_per_s` columns are those totals divided
/// by the bin's length; the first row's flows are the initial seeds.
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
    /// Probes that started another worm instance on an infected host.
    pub instances_added: u32,
    /// Probes sent in the bin: the expectation `∫ R dt`, or a draw (see [`ProbeCount`]).
    pub probes: f64,
    /// SYN packets in the bin, retransmissions included [packets].
    pub syn_packets: f64,
    /// Patched hosts at `time`.
    pub patched: u32,
    /// Reboots of infected hosts in the bin.
    pub rebooted: u32,
    /// Infections that ended by the worm's lifetime or drop-dead date in the bin.
    pub expired: u32,
    /// Crashed hosts at `time`.
    pub crashed: u32,
    /// Hosts showing the defaced page at `time`.
    pub defaced: u32,
    /// Hosts carrying the backdoor at `time`.
    pub backdoored: u32,
    /// Hosts flooding the target at `time`.
    pub flooding: u32,
    /// Length of the bin [s] (0 for the first row).
    pub bin_len: f64,
    /// Size of a SYN on the wire [bytes] (to turn packets into bits).
    pub syn_bytes: u32,
}

impl Row {
    /// Scan traffic in the bin [bits]: SYN packets × SYN size × 8.
    pub fn scan_bits(&self) -> f64 {
        self.syn_packets * self.syn_bytes as f64 * 8.0
    }

    /// `x` per second over this row's bin.
    pub fn per_s(&self, x: f64) -> f64 {
        if self.bin_len > 0.0 {
            x / self.bin_len
        } else {
            0.0
        }
    }
}

/// Column names of the series, in output order (units in `docs/outputs.md`).
pub const COLUMNS: [&str; 19] = [
    "time",
    "susceptible",
    "infected",
    "cumulative_infected",
    "new_infections",
    "reinfections",
    "instances_added",
    "probes",
    "probes_per_s",
    "syn_packets_per_s",
    "scan_bits_per_s",
    "patched",
    "rebooted",
    "expired",
    "crashed",
    "defaced",
    "backdoored",
    "flooding",
    "bin_seconds",
];

/// The per-bin time series observer.
#[derive(Clone, Debug)]
pub struct Series {
    start: SimTime,
    end: SimTime,
    bin: f64,
    /// `1/bin` [1/s], for [`row_at`].
    inv_bin: f64,
    /// Seconds after a probe at which each retransmitted SYN goes, and the
    /// share of probes that are retransmitted (no answer).
    retransmit_at: Vec<f64>,
    unanswered: f64,
    /// Size of a SYN on the wire [bytes].
    pub syn_bytes: u32,
    rows: Vec<Row>,
    /// Each row's time [s], beside the rows: binning reads these (a few
    /// kilobytes, in cache) instead of the large rows.
    ends: Vec<f64>,
    /// Expected number of probe-caused events per bin, `∫ hit_rate dt`.
    hits_expected: Vec<f64>,
    /// Probe-caused events per bin.
    hits: Vec<u32>,
    levels_done: usize,
    /// Time of row `levels_done` [s] (infinite once all are done): the levels
    /// loop runs only when an interval reaches it.
    next_level: f64,
    /// The last row whose bin took a whole interval with its retransmissions
    /// ([`Observer::interval`]'s common case): row `fast_row`, whose bin runs
    /// from `fast_lo` to `fast_hi` [s]. An interval `[from, to)` with
    /// `from >= fast_lo` and `to + last_shift < fast_hi` goes to it at once,
    /// with no division.
    fast_row: usize,
    fast_lo: f64,
    fast_hi: f64,
    /// The last retransmission's delay [s] (0 with none).
    last_shift: f64,
    /// SYN packets per probe on the common path: `1 + unanswered · retries`.
    syn_factor: f64,
}

impl Series {
    /// The series a scenario asks for (its bins and its network's SYN model).
    pub fn for_scenario(s: &Scenario) -> Series {
        Series::with_network(s.start, s.end, s.output.bin, &s.network)
    }

    /// Rows at `start + i·bin` and a last row at `end`, with Windows 2000's SYN
    /// retransmissions (2, at 3 s and 9 s) for 95% of probes.
    pub fn new(start: SimTime, end: SimTime, bin: f64) -> Series {
        let net = NetworkSpec {
            syn_retries: 2,
            answer_fraction: 0.05,
            syn_bytes: 48,
            congestion: crate::scenario::Congestion::None,
        };
        Series::with_network(start, end, bin, &net)
    }

    /// Rows at `start + i·bin` and a last row at `end`; SYNs per `net`: the
    /// k-th retransmission of an unanswered probe goes `3·(2^k − 1)` s after it
    /// (initial RTO 3 s, doubling).
    pub fn with_network(start: SimTime, end: SimTime, bin: f64, net: &NetworkSpec) -> Series {
        let full = (end.since(start) / bin).floor() as usize;
        let mut times: Vec<SimTime> = (0..=full).map(|i| start.plus(i as f64 * bin)).collect();
        if *times.last().expect("at least one row") < end {
            times.push(end);
        }
        let n = times.len();
        let mut rows: Vec<Row> = times
            .into_iter()
            .map(|time| Row {
                time,
                ..Row::default()
            })
            .collect();
        for i in 1..rows.len() {
            rows[i].bin_len = rows[i].time.since(rows[i - 1].time);
        }
        for r in &mut rows {
            r.syn_bytes = net.syn_bytes;
        }
        Series {
            start,
            end,
            bin,
            inv_bin: 1.0 / bin,
            retransmit_at: (1..=net.syn_retries)
                .map(|k| 3.0 * (2f64.powi(k as i32) - 1.0))
                .collect(),
            unanswered: 1.0 - net.answer_fraction,
            syn_bytes: net.syn_bytes,
            ends: rows.iter().map(|r| r.time.secs()).collect(),
            rows,
            hits_expected: vec![0.0; n],
            hits: vec![0; n],
            levels_done: 0,
            next_level: start.secs(),
            fast_row: 0,
            fast_lo: f64::INFINITY,
            fast_hi: f64::NEG_INFINITY,
            last_shift: 0.0,
            syn_factor: 1.0,
        }
        .with_derived()
    }

    /// Fill in the fields derived from the others.
    fn with_derived(mut self) -> Series {
        self.last_shift = self.retransmit_at.last().copied().unwrap_or(0.0);
        self.syn_factor = 1.0 + self.unanswered * self.retransmit_at.len() as f64;
        self.next_level = self.level_time();
        self
    }

    /// Time of row `levels_done` [s], infinite once all rows are done.
    fn level_time(&self) -> f64 {
        self.ends
            .get(self.levels_done)
            .copied()
            .unwrap_or(f64::INFINITY)
    }

    /// Add the probes of `[from, to)` [s] and their retransmissions, all in
    /// row `i`'s bin.
    #[inline(always)]
    fn add_whole(&mut self, i: usize, from: f64, to: f64, v: &View) {
        let dt = to - from;
        let m = v.probe_rate * dt;
        let row = &mut self.rows[i];
        row.probes += m;
        row.syn_packets += m * self.syn_factor;
        self.hits_expected[i] += v.hit_rate * dt;
    }

    /// Row whose bin `(time[i-1], time[i]]` contains `t`.
    fn row_of_event(&self, t: SimTime) -> usize {
        row_at(&self.ends, self.start.secs(), self.inv_bin, t.secs())
    }

    fn set_levels(&mut self, i: usize, v: &View) {
        let r = &mut self.rows[i];
        r.susceptible = v.susceptible;
        r.infected = v.infected;
        r.cumulative_infected = v.ever_infected;
        r.patched = v.patched;
        r.crashed = v.crashed;
        r.defaced = v.defaced;
        r.backdoored = v.backdoored;
        r.flooding = v.flooding;
    }

    /// Add `rate·dt` over `[from, to)` to the bins, with `add(row, mass)`.
    fn spread(
        &mut self,
        from: f64,
        to: f64,
        rate: f64,
        mut add: impl FnMut(&mut Self, usize, f64),
    ) {
        let mut a = from;
        let last = self.rows.len() - 1;
        let end = self.end.secs().min(to);
        while a < end {
            // (`as usize` truncates and saturates: the same as `floor()` first.)
            let mut i = (((a - self.start.secs()) / self.bin) as usize + 1).min(last);
            // With a bin that is not a binary fraction (416.6 s), the quotient
            // of a row's own end time can round below its index: move on to
            // the row that ends after `a`, or the rest of the interval would
            // all land in this one.
            while i < last && self.ends[i] <= a {
                i += 1;
            }
            let bin_end = self.ends[i];
            let b = if bin_end < end && bin_end > a {
                bin_end
            } else {
                end
            };
            add(self, i, rate * (b - a));
            a = b;
        }
    }

    /// Fill the rows not yet reached with the final state, and draw sampled probe
    /// counts if asked. Call once, after the run.
    pub fn finish(&mut self, final_view: &View, probes: ProbeCount, rng: &mut Rng) {
        for i in self.levels_done..self.rows.len() {
            self.set_levels(i, final_view);
        }
        self.levels_done = self.rows.len();
        self.next_level = self.level_time();
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
                let sampled = self.hits[i] as f64 + extra;
                // Scale the SYN count with the sampled probes.
                if self.rows[i].probes > 0.0 {
                    self.rows[i].syn_packets *= sampled / self.rows[i].probes;
                }
                self.rows[i].probes = sampled;
            }
        }
    }

    /// Levels at each row time in `[from, to)` [s].
    #[inline(never)]
    fn levels(&mut self, from: f64, to: f64, v: &View) {
        while self.levels_done < self.rows.len() && self.ends[self.levels_done] < to {
            if self.ends[self.levels_done] >= from {
                let i = self.levels_done;
                self.set_levels(i, v);
            }
            self.levels_done += 1;
        }
        self.next_level = self.level_time();
    }

    /// Probe mass of `[from, to)` [s] split over the bins `(time[i-1], time[i]]`,
    /// with the retransmitted SYNs shifted in time; when it all falls in one
    /// bin, that bin becomes the one [`Observer::interval`] tries first.
    #[inline(never)]
    fn interval_spread(&mut self, from: f64, to: f64, v: &View) {
        let last_shift = self.last_shift;
        // (`as usize` truncates and saturates: the same as `floor()` first.)
        let i0 = ((from - self.start.secs()) / self.bin) as usize + 1;
        let i1 = ((to + last_shift - self.start.secs()) / self.bin) as usize + 1;
        let end_ok = to + last_shift <= self.end.secs();
        if i0 == i1 && i0 < self.rows.len() && end_ok && self.ends[i0] > to + last_shift {
            self.add_whole(i0, from, to, v);
            // Later intervals in this bin take the common path. (`ends[i0]` is
            // at most the series' end, so the end needs no check there.)
            (self.fast_row, self.fast_lo, self.fast_hi) = (i0, self.ends[i0 - 1], self.ends[i0]);
            return;
        }
        let hit_share = v.hit_rate / v.probe_rate;
        self.spread(from, to, v.probe_rate, |me, i, m| {
            me.rows[i].probes += m;
            me.rows[i].syn_packets += m;
            me.hits_expected[i] += m * hit_share;
        });
        // Retransmitted SYNs of the probes nobody answered, shifted in time.
        for k in 0..self.retransmit_at.len() {
            let d = self.retransmit_at[k];
            let rate = v.probe_rate * self.unanswered;
            self.spread(from + d, to + d, rate, |me, i, m| {
                me.rows[i].syn_packets += m
            });
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
    const EVENT_VIEW: bool = false;
    const RATE_EVENTS: bool = false;
    const CRASH_INFECTORS: bool = false;
    const INSTANCE_HOSTS: bool = false;

    /// Rows are bins `(time[i−1], time[i]]` at `start + i·bin`.
    fn instance_grid(&self) -> Option<(SimTime, f64)> {
        Some((self.start, self.bin))
    }

    #[inline]
    fn interval(&mut self, from: SimTime, to: SimTime, v: &View) {
        let (f, t) = (from.secs(), to.secs());
        if self.next_level < t {
            self.levels(f, t, v);
        }
        if v.probe_rate <= 0.0 {
            return;
        }
        // The common case: the interval and its retransmissions all fall in the
        // bin the last such interval fell in.
        if f >= self.fast_lo && t + self.last_shift < self.fast_hi {
            self.add_whole(self.fast_row, f, t, v);
            return;
        }
        self.interval_spread(f, t, v);
    }

    #[inline]
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
            Event::Instance { t, .. } => {
                let i = self.row_of_event(t);
                self.rows[i].instances_added += 1;
                self.hits[i] += 1;
            }
            Event::Instances { t, count } => {
                let i = self.row_of_event(t);
                self.rows[i].instances_added += count;
                self.hits[i] += count;
            }
            Event::Crash { t, .. } => {
                let i = self.row_of_event(t);
                self.hits[i] += 1;
            }
            Event::Cleared { t, why, .. } => {
                let i = self.row_of_event(t);
                match why {
                    Clear::Reboot => self.rows[i].rebooted += 1,
                    Clear::Lifetime | Clear::DropDead => self.rows[i].expired += 1,
                }
            }
            Event::Patch { .. }
            | Event::Phase { .. }
            | Event::Recover { .. }
            | Event::Rate { .. }
            | Event::Flood { .. }
            | Event::Deface { .. }
            | Event::Probe { .. }
            | Event::Runner { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ceil_index` is `ceil().max(0.0) as usize` everywhere: special values,
    /// integers and their neighbours, and event times binned by minutes.
    #[test]
    fn ceil_index_is_ceil_then_cast() {
        let reference = |x: f64| x.ceil().max(0.0) as usize;
        let mut xs = vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            -0.5,
            -1.0,
            -1.5,
            0.5,
            1.0,
            2f64.powi(52) + 0.5,
            2f64.powi(53),
            2f64.powi(63),
            2f64.powi(64),
            2f64.powi(64) * 2.0,
            f64::MAX,
            usize::MAX as f64,
        ];
        for k in 0..2000u32 {
            let x = k as f64;
            xs.extend([x, x.next_up(), x.next_down(), x + 0.5]);
            // Bin positions as the series computes them: seconds over a 60 s bin.
            let t = 1.234e3 * k as f64 + 0.001;
            xs.push(t / 60.0);
            xs.push((60.0 * k as f64) / 60.0);
        }
        for x in xs {
            assert_eq!(ceil_index(x), reference(x), "x = {x:e}");
        }
    }

    /// `row_at` is the row a direct search of the row ends finds (the first
    /// end at or after the time), for bins that are and are not binary
    /// fractions, starts near zero and at Unix times of 2001, and times on
    /// each end, a unit in the last place either side of it, and in between.
    #[test]
    fn row_at_is_the_row_a_search_finds() {
        for start in [0.0, 995_500_800.0, 996_400_123.25] {
            for bin in [1.0, 60.0, 416.6, 0.1, 3600.0, 7.3, 86_400.0 / 7.0] {
                let s = Series::new(SimTime(start), SimTime(start + 1013.0 * bin), bin);
                let ends = &s.ends;
                let search = |t: f64| ends.partition_point(|&e| e < t).min(ends.len() - 1);
                let last = *ends.last().expect("rows");
                let mut ts = vec![start - bin, start, start.next_up(), last + bin];
                for &e in ends.iter() {
                    ts.extend([e, e.next_up(), e.next_down(), e + 0.37 * bin]);
                }
                for t in ts {
                    assert_eq!(
                        row_at(ends, start, s.inv_bin, t),
                        search(t),
                        "start {start}, bin {bin}, t {t}"
                    );
                }
            }
        }
    }

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

    /// A bin that is not a binary fraction: the quotient of some row ends
    /// rounds below their index (start 2001-07-19T10:00Z, bin 416.6 s: rows 3,
    /// 4, 8, 9, ...). Each full row still gets rate × its length, and an event
    /// at a row's end is in that row.
    #[test]
    fn probes_split_over_bins_that_are_not_binary_fractions() {
        let start = SimTime::from_ymd(2001, 7, 19).plus(10.0 * 3600.0);
        let bin = 416.6;
        let end = start.plus(40.0 * bin);
        let mut s = Series::new(start, end, bin);
        let edges: Vec<f64> = s.rows().iter().map(|r| r.time.secs()).collect();
        assert!(
            (1..edges.len() - 1).any(|i| (((edges[i] - start.secs()) / bin) as usize) < i),
            "the test needs a row end whose quotient rounds down"
        );
        s.interval(start, end, &view(1, 2.0));
        for (i, r) in s.rows().iter().enumerate().skip(1) {
            let want = 2.0 * (edges[i] - edges[i - 1]);
            assert!(
                (r.probes - want).abs() <= 1e-6 * want,
                "row {i}: {} vs {want}",
                r.probes
            );
        }
        for (i, &edge) in edges.iter().enumerate().skip(1) {
            assert_eq!(
                s.row_of_event(SimTime(edge)),
                i,
                "event at the end of row {i}"
            );
        }
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
            &Event::Cleared {
                t: SimTime(90.0),
                host: 1,
                why: Clear::Reboot,
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
