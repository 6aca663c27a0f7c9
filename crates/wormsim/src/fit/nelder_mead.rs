//! Derivative-free minimisation: the Nelder–Mead simplex method, with restarts.
//!
//! # Formula
//! A simplex of `n + 1` points is ordered by objective value; the worst point
//! `x_h` is replaced by a point on the line through it and the centroid `x̄` of the
//! others: reflection `x̄ + α(x̄ − x_h)`, expansion `x̄ + β(x_r − x̄)`, outside or
//! inside contraction `x̄ ± γ(x_r − x̄)`; if none improves, the simplex shrinks
//! towards the best point by `δ`. For `n <= 2` the standard coefficients
//! `(α, β, γ, δ) = (1, 2, 1/2, 1/2)` are used, for larger `n` the
//! dimension-adapted ones `(1, 1 + 2/n, 3/4 − 1/(2n), 1 − 1/n)`.
//!
//! The search stops when the spread of objective values in the simplex is at most
//! `f_tol` **and** every vertex is within `x_tol` of the best one (per coordinate);
//! when the best value has not improved by more than `f_tol` in the last `40n + 40`
//! evaluations while the spread is below `1000 f_tol` (a flat valley of an
//! unidentifiable parameter, or a noise floor such as an ODE solution's error,
//! where going on buys nothing); or after `max_evaluations`. A *restart* builds a fresh simplex around the best
//! point; restarts repeat until one improves the objective by less than `f_tol`,
//! which guards against the simplex collapsing early (a known failure of the
//! method in more than a couple of dimensions). Everything is deterministic: no
//! random numbers are drawn.
//!
//! Sources: J. A. Nelder & R. Mead, "A simplex method for function minimization",
//! *Computer Journal* 7 (1965) 308–313; J. C. Lagarias, J. A. Reeds, M. H. Wright,
//! P. E. Wright, "Convergence properties of the Nelder–Mead simplex method in low
//! dimensions", *SIAM J. Optim.* 9 (1998) 112–147 (the operations and tie rules);
//! F. Gao & L. Han, "Implementing the Nelder–Mead simplex algorithm with adaptive
//! parameters", *Comput. Optim. Appl.* 51 (2012) 259–277 (the adapted
//! coefficients).

/// Settings of one minimisation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Stop when `max f − min f` over the simplex is at most this.
    pub f_tol: f64,
    /// ... and every vertex is within this of the best one, per coordinate.
    pub x_tol: f64,
    /// Budget of objective evaluations for one simplex run.
    pub max_evaluations: usize,
    /// Restarts after the first run (each from a fresh simplex at the best point).
    pub max_restarts: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            f_tol: 1e-9,
            x_tol: 1e-7,
            max_evaluations: 4000,
            max_restarts: 6,
        }
    }
}

/// The result of a minimisation.
#[derive(Clone, Debug, PartialEq)]
pub struct Minimum {
    /// The best point found.
    pub x: Vec<f64>,
    /// The objective there.
    pub f: f64,
    /// Objective evaluations used.
    pub evaluations: usize,
    /// Whether the last simplex run met the tolerances (rather than the budget).
    pub converged: bool,
}

/// Minimise `f` from `x0`, with initial simplex steps `step` (one per coordinate;
/// the simplex is `x0` plus `step[i]` along each axis `i`). Non-finite values of
/// `f` count as `+∞`.
///
/// # Panics
/// If `x0` is empty or `step` has a different length.
///
/// # Examples
/// ```
/// use wormsim::fit::nelder_mead::{minimize, Settings};
/// // Rosenbrock's function, minimum at (1, 1).
/// let m = minimize(
///     |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2),
///     &[-1.2, 1.0],
///     &[0.5, 0.5],
///     &Settings { f_tol: 1e-14, x_tol: 1e-9, ..Settings::default() },
/// );
/// assert!((m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5);
/// ```
pub fn minimize<F>(mut f: F, x0: &[f64], step: &[f64], s: &Settings) -> Minimum
where
    F: FnMut(&[f64]) -> f64,
{
    assert!(!x0.is_empty(), "nelder-mead needs at least one coordinate");
    assert_eq!(x0.len(), step.len(), "one step per coordinate");
    let mut eval = |x: &[f64]| {
        let v = f(x);
        if v.is_nan() { f64::INFINITY } else { v }
    };
    let mut best = run(&mut eval, x0, step, s);
    let mut evaluations = best.evaluations;
    for _ in 0..s.max_restarts {
        let next = run(&mut eval, &best.x, step, s);
        evaluations += next.evaluations;
        let gain = best.f - next.f;
        let better = next.f < best.f;
        if better {
            best = next;
        } else {
            best.converged = next.converged;
        }
        if gain.is_nan() || gain <= s.f_tol {
            break;
        }
    }
    best.evaluations = evaluations;
    best
}

fn run<F>(f: &mut F, x0: &[f64], step: &[f64], s: &Settings) -> Minimum
where
    F: FnMut(&[f64]) -> f64,
{
    let n = x0.len();
    let nf = n as f64;
    let (alpha, beta, gamma, delta) = if n <= 2 {
        (1.0, 2.0, 0.5, 0.5)
    } else {
        (1.0, 1.0 + 2.0 / nf, 0.75 - 0.5 / nf, 1.0 - 1.0 / nf)
    };
    let mut pts: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    pts.push(x0.to_vec());
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += if step[i] != 0.0 { step[i] } else { 1e-3 };
        pts.push(p);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| f(p)).collect();
    let mut evaluations = n + 1;
    let mut order: Vec<usize> = (0..=n).collect();
    let mut centroid = vec![0.0; n];
    let mut xr = vec![0.0; n];
    let mut xe = vec![0.0; n];
    let mut xc = vec![0.0; n];
    let mut converged = false;
    // Stall detection: the evaluation count when the best value last improved by
    // more than f_tol.
    let mut record = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let mut record_at = evaluations;
    let stall = 40 * n + 40;

    loop {
        // Stable sort: ties keep their earlier order (Lagarias et al.).
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        let (lo, hi, second) = (order[0], order[n], order[n - 1]);
        let spread = vals[hi] - vals[lo];
        let x_spread = pts
            .iter()
            .flat_map(|p| p.iter().zip(&pts[lo]).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        let all_inf = vals[hi].is_infinite() && vals[lo].is_infinite();
        if (spread <= s.f_tol || all_inf) && x_spread <= s.x_tol {
            converged = true;
            break;
        }
        if vals[lo] < record - s.f_tol {
            record = vals[lo];
            record_at = evaluations;
        } else if evaluations - record_at > stall && spread <= 1e3 * s.f_tol {
            // No progress for a while, and the simplex is nearly level: a noise
            // floor (e.g. ODE error) or a flat valley. Further work buys nothing.
            converged = true;
            break;
        }
        if evaluations >= s.max_evaluations {
            break;
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for &i in &order[..n] {
            for (c, v) in centroid.iter_mut().zip(&pts[i]) {
                *c += v / nf;
            }
        }
        for j in 0..n {
            xr[j] = centroid[j] + alpha * (centroid[j] - pts[hi][j]);
        }
        let fr = f(&xr);
        evaluations += 1;
        if fr < vals[lo] {
            for j in 0..n {
                xe[j] = centroid[j] + beta * (xr[j] - centroid[j]);
            }
            let fe = f(&xe);
            evaluations += 1;
            if fe < fr {
                pts[hi].copy_from_slice(&xe);
                vals[hi] = fe;
            } else {
                pts[hi].copy_from_slice(&xr);
                vals[hi] = fr;
            }
            continue;
        }
        if fr < vals[second] {
            pts[hi].copy_from_slice(&xr);
            vals[hi] = fr;
            continue;
        }
        // Contraction: outside if the reflection beat the worst point.
        let outside = fr < vals[hi];
        for j in 0..n {
            xc[j] = if outside {
                centroid[j] + gamma * (xr[j] - centroid[j])
            } else {
                centroid[j] - gamma * (centroid[j] - pts[hi][j])
            };
        }
        let fc = f(&xc);
        evaluations += 1;
        if (outside && fc <= fr) || (!outside && fc < vals[hi]) {
            pts[hi].copy_from_slice(&xc);
            vals[hi] = fc;
            continue;
        }
        // Shrink towards the best point.
        let best = pts[lo].clone();
        for &i in &order[1..] {
            for j in 0..n {
                pts[i][j] = best[j] + delta * (pts[i][j] - best[j]);
            }
            vals[i] = f(&pts[i]);
            evaluations += 1;
        }
    }
    let lo = (0..=n)
        .min_by(|&a, &b| vals[a].total_cmp(&vals[b]))
        .expect("simplex is not empty");
    Minimum {
        x: pts[lo].clone(),
        f: vals[lo],
        evaluations,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratic_bowl_in_several_dimensions() {
        for n in 1..=6 {
            let target: Vec<f64> = (0..n).map(|i| i as f64 * 0.7 - 1.0).collect();
            let t2 = target.clone();
            let f = move |x: &[f64]| {
                x.iter()
                    .zip(&t2)
                    .enumerate()
                    .map(|(i, (a, b))| (i as f64 + 1.0) * (a - b).powi(2))
                    .sum::<f64>()
            };
            let m = minimize(
                f,
                &vec![3.0; n],
                &vec![1.0; n],
                &Settings {
                    f_tol: 1e-16,
                    x_tol: 1e-10,
                    max_evaluations: 20_000,
                    max_restarts: 4,
                },
            );
            assert!(m.converged, "n = {n}");
            for (a, b) in m.x.iter().zip(&target) {
                assert!((a - b).abs() < 1e-6, "n = {n}: {:?}", m.x);
            }
        }
    }

    #[test]
    fn infinite_regions_are_avoided() {
        // Minimum at x = 2 on the edge of a forbidden region x > 2.5.
        let f = |x: &[f64]| {
            if x[0] > 2.5 {
                f64::INFINITY
            } else {
                (x[0] - 2.0).powi(2) + (x[1] + 1.0).powi(2)
            }
        };
        let m = minimize(f, &[0.0, 0.0], &[1.0, 1.0], &Settings::default());
        assert!((m.x[0] - 2.0).abs() < 1e-4 && (m.x[1] + 1.0).abs() < 1e-4);
        // NaN is treated as +∞.
        let g = |x: &[f64]| {
            if x[0] < 0.0 {
                f64::NAN
            } else {
                (x[0] - 1.0).powi(2)
            }
        };
        let m = minimize(g, &[0.5], &[1.0], &Settings::default());
        assert!((m.x[0] - 1.0).abs() < 1e-4);
    }

    #[test]
    fn deterministic_and_budgeted() {
        let f = |x: &[f64]| (x[0] - 1.0).powi(2) + 10.0 * (x[1] - x[0].powi(2)).powi(2);
        let s = Settings {
            max_evaluations: 30,
            max_restarts: 0,
            ..Settings::default()
        };
        let a = minimize(f, &[-1.0, 2.0], &[0.5, 0.5], &s);
        let b = minimize(f, &[-1.0, 2.0], &[0.5, 0.5], &s);
        assert_eq!(a, b);
        assert!(!a.converged);
        assert!(a.evaluations <= 30 + 4);
    }
}
