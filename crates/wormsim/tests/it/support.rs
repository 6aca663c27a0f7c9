//! Shared helpers for the integration tests.

use wormsim::engine::{EngineChoice, Event, Observer, Simulation, View};
use wormsim::scenario::Scenario;
use wormsim::time::SimTime;

/// The start of a test scenario with a uniform population, one key a line:
/// `[scenario]` (with `space_bits` if given), `[population]`, and `[worm]`
/// with its `variant`. No newline before or after: the test writes the rest of
/// `[worm]` and any further tables below it.
pub fn uniform_head(
    name: &str,
    start: &str,
    end: &str,
    space_bits: Option<u32>,
    hosts: u32,
    variant: &str,
) -> String {
    let bits = space_bits.map_or(String::new(), |b| format!("space_bits = {b}\n"));
    format!(
        r#"[scenario]
name = "{name}"
start = {start}
end = {end}
{bits}[population]
model = "uniform"
hosts = {hosts}
[worm]
variant = "{variant}""#
    )
}

/// `minutes` after 00:00 on `day` (`YYYY-MM-DD`), as a TOML date-time.
pub fn minutes_into(day: &str, minutes: u32) -> String {
    format!("{day}T{:02}:{:02}:00Z", minutes / 60, minutes % 60)
}

/// A generic worm's scenario text: `hosts` uniform hosts in a 2^16 space,
/// from 00:00 on `day` (`YYYY-MM-DD`) for `minutes`, with `worm` (the rest of
/// `[worm]`, then any further tables) below the worm's `variant`.
pub fn generic16(name: &str, day: &str, minutes: u32, hosts: u32, worm: &str) -> String {
    let head = uniform_head(
        name,
        &format!("{day}T00:00:00Z"),
        &minutes_into(day, minutes),
        Some(16),
        hosts,
        "generic",
    );
    format!("\n{head}\n{worm}\n")
}

/// A small uniform-scanning scenario in a 2^16 space.
pub fn small(hosts: u32, rate: f64, minutes: u32, extra: &str) -> Scenario {
    let worm = format!("scan_rate = {rate}\ninitial_infected = 1\n{extra}");
    let text = generic16("small", "2001-07-02", minutes, hosts, &worm);
    Scenario::from_str("small.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

/// Code Red v2 in 2^16 addresses with 200 hosts and 4 threads, no defacing,
/// whose re-infections add instances (up to 3) at a weight ceiling
/// (`max_scan_multiple = 1.0`): the pooled-instance scenarios down to the
/// `[worm]` table's `initial_infected`, with no newline before or after.
pub fn pooled_crv2_head(
    name: &str,
    start: &str,
    end: &str,
    scan_rate: &str,
    initial_infected: u32,
) -> String {
    let head = uniform_head(name, start, end, Some(16), 200, "crv2");
    format!(
        r#"{head}
scan_rate = {scan_rate}
threads = 4
reinfection = "add-instance"
max_instances = 3
max_scan_multiple = 1.0
deface = false
initial_infected = {initial_infected}"#
    )
}

/// Records the time at which the cumulative number of infected hosts reaches
/// each threshold, and the final size.
pub struct Milestones {
    pub thresholds: Vec<u32>,
    pub times: Vec<Option<f64>>,
    pub start: SimTime,
}

impl Milestones {
    pub fn new(start: SimTime, thresholds: Vec<u32>) -> Self {
        let n = thresholds.len();
        Milestones {
            thresholds,
            times: vec![None; n],
            start,
        }
    }
}

impl Observer for Milestones {
    const NEEDS_HOSTS: bool = false;
    fn event(&mut self, e: &Event, v: &View) {
        if let Event::Infection { t, .. } = e {
            for (i, &th) in self.thresholds.iter().enumerate() {
                if self.times[i].is_none() && v.ever_infected >= th {
                    self.times[i] = Some(t.since(self.start));
                }
            }
        }
    }
}

/// Run replicates and collect (time to each threshold, final ever-infected, final patched).
pub fn replicate(
    s: &Scenario,
    engine: EngineChoice,
    seed: u64,
    runs: u64,
    thresholds: &[u32],
) -> Vec<(Vec<Option<f64>>, u32, u32)> {
    replicate_with(s, engine, seed, runs, thresholds, |sim| sim.view().patched)
}

/// As [`replicate`], with `extra(sim)` of each finished run in place of the
/// patched count.
pub fn replicate_with<T>(
    s: &Scenario,
    engine: EngineChoice,
    seed: u64,
    runs: u64,
    thresholds: &[u32],
    extra: impl Fn(&Simulation) -> T,
) -> Vec<(Vec<Option<f64>>, u32, T)> {
    (0..runs)
        .map(|i| {
            let mut sim = Simulation::new(s, seed, i, engine).expect("setup");
            let mut m = Milestones::new(s.start, thresholds.to_vec());
            sim.run(&mut m);
            (m.times, sim.view().ever_infected, extra(&sim))
        })
        .collect()
}

/// Two-sample Kolmogorov–Smirnov statistic D.
pub fn ks2(a: &[f64], b: &[f64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// Critical value of the two-sample KS test at α ≈ 0.001 (c(α) = 1.95).
pub fn ks2_critical(n: usize, m: usize) -> f64 {
    1.95 * ((n + m) as f64 / (n as f64 * m as f64)).sqrt()
}

/// Assert two samples come from the same distribution (two-sample KS).
pub fn assert_same_distribution(what: &str, a: &[f64], b: &[f64]) {
    let d = ks2(a, b);
    let c = ks2_critical(a.len(), b.len());
    eprintln!(
        "{what}: KS D = {d:.4} (critical {c:.4}, n = {}, m = {})",
        a.len(),
        b.len()
    );
    assert!(
        d < c,
        "{what}: KS D = {d:.4} >= {c:.4}: the distributions differ"
    );
}

#[test]
fn ks2_detects_a_shift_and_accepts_equal_samples() {
    let a: Vec<f64> = (0..400).map(|i| i as f64 / 400.0).collect();
    let b: Vec<f64> = (0..400).map(|i| (i as f64 + 0.5) / 400.0).collect();
    let c: Vec<f64> = (0..400).map(|i| i as f64 / 400.0 + 0.3).collect();
    assert!(ks2(&a, &b) < ks2_critical(400, 400));
    assert!(ks2(&a, &c) > ks2_critical(400, 400));
    assert!((ks2(&a, &c) - 0.3).abs() < 0.01);
}

/// Records compared bit for bit (NaN marks "never infected", and NaN != NaN).
pub fn same_records(a: &wormsim::engine::HostRecords, b: &wormsim::engine::HostRecords) -> bool {
    a.first_infected_at.len() == b.first_infected_at.len()
        && a.first_infected_at
            .iter()
            .zip(&b.first_infected_at)
            .all(|(x, y)| x.to_bits() == y.to_bits())
        && a.first_infector == b.first_infector
        && a.state == b.state
        && a.infection_order == b.infection_order
}
