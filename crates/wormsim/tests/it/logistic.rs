//! The ensemble mean of the exact engine follows the RCS logistic (Staniford,
//! Paxson, Weaver 2002): `a(t) = e^{K(t−T)}/(1+e^{K(t−T)})`, `K = r·N/2^32`.

use wormsim::engine::{EngineChoice, Simulation};
use wormsim::observe::Series;
use wormsim::scenario::{ProbeCount, Scenario};

#[test]
fn ensemble_mean_follows_the_rcs_logistic() {
    // N = 100,000 hosts in IPv4, r = 20 probes/s: K = r·N/2^32 = 1.676/h.
    // 1% infected at the start, so the mean-field limit applies.
    let (n, i0, r) = (100_000.0, 1_000.0, 20.0);
    let k = r * n / 2f64.powi(32) * 3600.0;
    let text = format!(
        r#"
[scenario]
name = "rcs"
start = 2001-07-02T00:00:00Z
end = 2001-07-02T06:00:00Z
[population]
model = "uniform"
hosts = {n}
[worm]
variant = "generic"
scan_rate = {r}
initial_infected = {i0}
[output]
bin = 900
"#
    );
    let s = Scenario::from_str("rcs.toml", &text).expect("valid");
    let runs = 100;
    let mut sum = [0.0; 25];
    let mut sum2 = [0.0; 25];
    for rep in 0..runs {
        let mut sim = Simulation::new(&s, 77, rep, EngineChoice::Auto).expect("setup");
        let mut series = Series::new(s.start, s.end, 900.0);
        sim.run(&mut series);
        series.finish(
            &sim.view(),
            ProbeCount::Expected,
            &mut wormsim::rng::Streams::new(0, 0).stream("x"),
        );
        for (i, row) in series.rows().iter().enumerate() {
            let a = row.cumulative_infected as f64 / n;
            sum[i] += a;
            sum2[i] += a * a;
        }
    }
    // T such that a(0) = i0/N.
    let t_mid = ((n - i0) / i0).ln() / k;
    let mut worst: f64 = 0.0;
    for i in 0..25 {
        let t = i as f64 * 0.25;
        let expect = 1.0 / (1.0 + (-k * (t - t_mid)).exp());
        let mean = sum[i] / runs as f64;
        let var = (sum2[i] / runs as f64 - mean * mean).max(0.0) * runs as f64 / (runs - 1) as f64;
        let se = (var / runs as f64).sqrt();
        // z at 4.9 (p ~ 1e-6), plus 1/N for the deterministic O(1/N) gap between
        // the stochastic mean and the mean-field ODE.
        let tol = 4.9 * se + 1.0 / n * 10.0;
        worst = worst.max((mean - expect).abs() / tol);
        assert!(
            (mean - expect).abs() <= tol,
            "t = {t} h: ensemble mean {mean:.5} vs logistic {expect:.5} (tolerance {tol:.5})"
        );
    }
    eprintln!("RCS logistic: K = {k:.4}/h, worst |mean - a(t)| / tolerance = {worst:.3}");
}
