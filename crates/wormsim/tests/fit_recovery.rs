//! Fit recovery (issue 4 acceptance): data simulated from a known RCS curve and
//! fitted back must give 95% intervals that cover the truth in at least 90% of
//! 200 replicates, for each of K, T and N.
//!
//! The data are Poisson counts of new infections per 15-minute bin around the
//! RCS curve `N a(t)` (K = 1.8/h, T = 8 h, N = 5000; 0–16 h), the setting in which
//! the Poisson likelihood is exactly right, so the profile-likelihood intervals
//! should cover about 95% of the time. Replicate `i` draws from the named stream
//! `fit-recovery` of `Streams::new(SEED, i)`.

use rand_distr::{Distribution, Poisson};
use wormsim::fit::data::{Kind, Observations};
use wormsim::fit::{FitOptions, ModelKind, fit};
use wormsim::model::Rcs;
use wormsim::rng::Streams;

const SEED: u64 = 20_010_719;
const REPLICATES: u64 = 200;

fn simulate(truth: &Rcs, times: &[f64], replicate: u64) -> Observations {
    let mut rng = Streams::new(SEED, replicate).stream("fit-recovery");
    let mut draw = |mean: f64| -> f64 {
        if mean <= 0.0 {
            0.0
        } else {
            Poisson::new(mean)
                .expect("finite positive mean")
                .sample(&mut rng)
        }
    };
    let mut counts = Vec::with_capacity(times.len());
    counts.push(draw(truth.cumulative(times[0])));
    for w in times.windows(2) {
        counts.push(draw(truth.incidence(w[0], w[1])));
    }
    Observations::new(times, &counts, Kind::Incident).expect("valid simulated series")
}

#[test]
fn rcs_intervals_cover_the_truth() {
    let (k, t, n) = (1.8, 8.0, 5000.0);
    let truth = Rcs::new(k, t, n).unwrap();
    let times: Vec<f64> = (0..=64).map(|i| i as f64 * 0.25).collect();
    let started = std::time::Instant::now();
    let mut covered = [0u32; 3];
    let mut open_ends = 0;
    let mut dispersion = Vec::new();
    for rep in 0..REPLICATES {
        let obs = simulate(&truth, &times, rep);
        let f = fit(&obs, ModelKind::Rcs, &FitOptions::default()).expect("fit succeeds");
        for (i, want) in [k, t, n].into_iter().enumerate() {
            let e = &f.estimates[i];
            match (e.lower, e.upper) {
                (Some(lo), Some(hi)) => {
                    assert!(lo <= e.value && e.value <= hi, "rep {rep}: {e:?}");
                    if lo <= want && want <= hi {
                        covered[i] += 1;
                    }
                }
                _ => open_ends += 1,
            }
        }
        dispersion.push(f.gof.dispersion.unwrap());
    }
    let frac: Vec<f64> = covered
        .iter()
        .map(|&c| f64::from(c) / REPLICATES as f64)
        .collect();
    dispersion.sort_by(f64::total_cmp);
    eprintln!(
        "fit recovery: coverage K {:.3}, T {:.3}, N {:.3} over {REPLICATES} replicates; \
         median dispersion {:.3}; {:.1} s",
        frac[0],
        frac[1],
        frac[2],
        dispersion[dispersion.len() / 2],
        started.elapsed().as_secs_f64()
    );
    assert_eq!(open_ends, 0, "every interval end is reached");
    for (name, f) in ["K", "T", "N"].iter().zip(&frac) {
        assert!(*f >= 0.90, "coverage of {name} is {f}, below 0.90");
    }
    // And not absurdly wide: nominal 95% should not look like 100%.
    assert!(frac.iter().any(|&f| f < 1.0), "coverage {frac:?}");
}
