//! The numbers a run is summarised by.

use crate::engine::{Counters, HostRecords, HostState, NO_HOST};
use crate::observe::Series;
use crate::scenario::Scenario;
use crate::time::{MINUTE, SimTime};

/// Summary of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub replicate: u64,
    pub engine: String,
    pub start: SimTime,
    pub end: SimTime,
    /// Vulnerable hosts.
    pub hosts: u32,
    /// Hosts infected at the start.
    pub seeds: u32,
    /// Hosts infected at least once by the end (the "final count").
    pub ever_infected: u32,
    /// Hosts infected at the end.
    pub infected_at_end: u32,
    /// Cumulative infected hosts at each `output.report_at` time.
    pub report: Vec<(SimTime, u32)>,
    /// Times at which 10%, 50% and 90% of the final count had been infected.
    pub t10: Option<SimTime>,
    pub t50: Option<SimTime>,
    pub t90: Option<SimTime>,
    /// Most first infections in one UTC minute (seeds excluded) [hosts/min].
    pub peak_per_minute: u32,
    /// Start of that minute.
    pub peak_minute: Option<SimTime>,
    /// Hosts patched by the end (including patched while infected).
    pub patched: u32,
    pub patched_while_infected: u64,
    pub reboots: u64,
    pub reinfections: u64,
    /// Probes sent over the run (sum of the series' probe column).
    pub probes: f64,
    /// Probes that started another worm instance on an infected host.
    pub instances_added: u64,
    /// Infections ended by the worm's lifetime or drop-dead date.
    pub expired: u64,
    /// Hosts crashed by the worm over the run (crash events).
    pub crashes: u64,
    /// Hosts with the backdoor at the end.
    pub backdoored: u32,
    /// Flood payload bytes that reached the listening target site [bytes]
    /// (set by the caller from [`crate::observe::flood::FloodMeter`]; 0 without one).
    pub flood_bytes: f64,
    /// Flood payload bytes that arrived at the worm's target address [bytes].
    pub flood_bytes_at_target: f64,
    /// Events processed by the engine.
    pub events: u64,
    /// Doubling time of the infected count in the first minute of spread
    /// (from the first infection by the worm) [s]: see
    /// [`doubling_time_first_minute`]. `None` if it did not grow.
    pub doubling_first_minute: Option<f64>,
}

/// Doubling time [s] of the cumulative infected count `n(t)` over the first
/// minute of spread, the minute from `from` (in a summary: the first infection
/// by the worm, so that a single seed's wait for its first victim does not
/// count).
///
/// # Formula
/// Sample `y_s = ln n(from + s)` at each whole second `s = 0, 1, …, 60`
/// (seconds with `n = 0` left out), fit `y_s = a + b·s` by least squares and
/// return `ln 2 / b`; `None` if fewer than two samples or `b <= 0` (no growth
/// in that minute, as for a slow worm). `times` are the first-infection
/// times, seeds included, sorted [s since epoch].
///
/// # Examples
/// ```
/// use wormsim::summary::doubling_time_first_minute;
/// // 1 host at 0 s, doubling every 10 s: 2 at 10 s, 4 at 20 s, ...
/// let mut times = vec![0.0];
/// for k in 1..=6 {
///     let t = 10.0 * k as f64;
///     let n = 1usize << (k - 1);
///     times.extend(std::iter::repeat(t).take(n));
/// }
/// let d = doubling_time_first_minute(0.0, &times).unwrap();
/// assert!((d - 10.0).abs() < 1.0, "{d}");
/// ```
pub fn doubling_time_first_minute(from: f64, times: &[f64]) -> Option<f64> {
    let mut pts = Vec::with_capacity(61);
    for s in 0..=60 {
        let n = times.partition_point(|&x| x <= from + s as f64);
        if n > 0 {
            pts.push((s as f64, (n as f64).ln()));
        }
    }
    if pts.len() < 2 {
        return None;
    }
    let k = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / k;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / k;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let b = sxy / sxx;
    (b > 0.0).then(|| std::f64::consts::LN_2 / b)
}

/// `x.floor() as i64`, without the call to `floor` that the baseline x86-64
/// target makes (it has no rounding instruction): truncate, then step down
/// if that rounded up (a negative non-integer). The same for every `f64`
/// (saturating at the ends of `i64`, 0 for NaN).
#[inline(always)]
fn floor_i64(x: f64) -> i64 {
    let i = x as i64;
    if (i as f64) > x {
        i.saturating_sub(1)
    } else {
        i
    }
}

/// Time at which the `k`-th (1-based) infection happened, from sorted times.
fn kth(times: &[f64], k: usize) -> Option<SimTime> {
    if k == 0 {
        None
    } else {
        times.get(k - 1).map(|&t| SimTime(t))
    }
}

impl Summary {
    /// Summarise a finished run.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: &Scenario,
        seed: u64,
        replicate: u64,
        engine: &str,
        hosts: &HostRecords,
        counters: &Counters,
        series: &Series,
    ) -> Summary {
        // First infections in time order, in one pass over the hosts (each
        // a random read of two arrays, so the reads a few hosts ahead are
        // started early): their times, the first by the worm (not a seed),
        // and the peak first infections per UTC minute, seeds excluded.
        let order = &hosts.infection_order;
        let mut times: Vec<f64> = Vec::with_capacity(order.len());
        let mut first_by_worm = None;
        let (mut peak, mut peak_min) = (0u32, None);
        let (mut cur_min, mut cur) = (i64::MIN, 0u32);
        const AHEAD: usize = 16;
        for (k, &h) in order.iter().enumerate() {
            if let Some(&next) = order.get(k + AHEAD) {
                crate::alloc::prefetch(&hosts.first_infected_at[next as usize]);
                crate::alloc::prefetch(&hosts.first_infector[next as usize]);
            }
            let t = hosts.first_infected_at[h as usize];
            times.push(t);
            if hosts.first_infector[h as usize] == NO_HOST {
                continue;
            }
            first_by_worm.get_or_insert(t);
            let m = floor_i64(t / MINUTE);
            if m != cur_min {
                cur_min = m;
                cur = 0;
            }
            cur += 1;
            if cur > peak {
                peak = cur;
                peak_min = Some(SimTime(m as f64 * MINUTE));
            }
        }
        debug_assert!(times.windows(2).all(|w| w[0] <= w[1]));
        let final_count = times.len();
        let at = |frac: f64| kth(&times, (frac * final_count as f64).ceil() as usize);
        let report = scenario
            .output
            .report_at
            .iter()
            .map(|&t| (t, times.partition_point(|&x| x <= t.secs()) as u32))
            .collect();
        let seeds = hosts
            .first_infector
            .iter()
            .zip(&hosts.first_infected_at)
            .filter(|(by, t)| **by == NO_HOST && !t.is_nan())
            .count() as u32;
        Summary {
            scenario: scenario.name.clone(),
            seed,
            replicate,
            engine: engine.to_string(),
            start: scenario.start,
            end: series.end(),
            hosts: hosts.state.len() as u32,
            seeds,
            ever_infected: final_count as u32,
            infected_at_end: hosts
                .state
                .iter()
                .filter(|&&s| s == HostState::Infected)
                .count() as u32,
            report,
            t10: at(0.1),
            t50: at(0.5),
            t90: at(0.9),
            peak_per_minute: peak,
            peak_minute: peak_min,
            patched: hosts
                .state
                .iter()
                .filter(|&&s| s == HostState::Patched)
                .count() as u32,
            patched_while_infected: counters.patched_while_infected,
            reboots: counters.reboots,
            reinfections: counters.reinfections,
            probes: series.rows().iter().map(|r| r.probes).sum(),
            instances_added: counters.instances_added,
            expired: counters.expired,
            crashes: counters.crashes,
            backdoored: series.rows().last().map_or(0, |r| r.backdoored),
            flood_bytes: 0.0,
            flood_bytes_at_target: 0.0,
            events: counters.events,
            doubling_first_minute: first_by_worm
                .and_then(|t| doubling_time_first_minute(t, &times)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::floor_i64;
    use rand::RngExt;

    /// `floor_i64` is `floor() as i64` on whole, fractional, negative, huge,
    /// tiny and non-finite values.
    #[test]
    fn floor_i64_is_floor_as_i64() {
        let mut xs = vec![
            0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 59.999, -60.0001, 1e300, -1e300,
        ];
        xs.extend([
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ]);
        xs.extend([
            9.2e18,
            -9.2e18,
            9.3e18,
            -9.3e18,
            2f64.powi(63),
            -(2f64.powi(63)),
        ]);
        let mut rng = crate::rng::Streams::new(3, 0).stream("floor-test");
        for _ in 0..100_000 {
            let scale = [1.0, 1e3, 1.7e7, 1e15, 1e19][rng.random_range(0..5usize)];
            xs.push((2.0 * rng.random::<f64>() - 1.0) * scale);
        }
        for x in xs {
            assert_eq!(floor_i64(x), x.floor() as i64, "{x}");
        }
    }
}
