//! Profile-likelihood confidence intervals.
//!
//! # Formula
//! With `F(θ) = −2 ln L(θ) + const` minimised at `θ̂`, the profile of parameter `k`
//! is `P_k(v) = min_{θ: θ_k = v} F(θ) − F(θ̂)`. By Wilks' theorem `P_k(θ_k)` is
//! asymptotically χ²₁, so `{v : P_k(v) <= 3.841}` is an approximate 95% interval
//! (Venzon & Moolgavkar, *Applied Statistics* 37 (1988) 87–94; Pawitan, *In All
//! Likelihood*, OUP 2001, §2.9). For least squares, `F = n ln(RSS/n)`, the
//! likelihood of normal errors with the variance profiled out.
//!
//! Each end is found by stepping away from `θ̂` (in the optimiser's coordinates:
//! logarithms of positive parameters) until `P_k` exceeds the threshold, starting
//! from the Wald step `1.96 SE` (SE from a finite-difference Hessian of `F`), then
//! by false position (Illinois) on the signed root `√P_k − √3.841`, which is nearly
//! linear. Each profile point re-minimises the other parameters with Nelder–Mead,
//! started from the best of: the nearest point already profiled, the path
//! extrapolated (or interpolated) from the last two, and the estimate. An end that
//! is not reached within a factor `e^10 ≈ 22,000` of the estimate (log-scale
//! parameters, and never past their box `e^±50`) or within 20 data spans (RCS `T`)
//! is reported as open: the data do not bound that parameter. An end where the
//! refinement closes in on a jump of the profile rather than a crossing is
//! reported as approximate. A profile point below the minimum means the first fit
//! stopped short; the caller refits from it. The `2 n` searches (one per interval
//! end) do not depend on each other and run in parallel, with the same result on
//! any number of threads.

use super::Scale;
use super::nelder_mead::{Settings, minimize};
use super::pool;
use super::problem::{LOG_BOUND, Problem};

/// The 0.95 quantile of the χ² distribution with one degree of freedom.
pub const CHI2_1_95: f64 = 3.841_458_820_694_124;

/// Search for a log-scale parameter's interval end at most this far from the
/// estimate, in natural-log units (a factor of e^10 ≈ 22,000); beyond, the end is
/// open.
pub const SEARCH_LOG: f64 = 10.0;
/// ... and for a linear one (RCS `T`), at most this many data spans away [h].
pub const SEARCH_LINEAR: f64 = 20.0;

/// How far below the minimum a profile point must fall to count as a better fit.
const BETTER_TOL: f64 = 1e-3;
/// Stop refining an end when `|P − 3.841|` is below this.
const P_TOL: f64 = 5e-3;

/// One end of an interval, in internal coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum End {
    /// The profile crosses the threshold here.
    At(f64),
    /// The refinement closed in on a jump of the profile rather than a smooth
    /// crossing (numerical trouble in a poorly identified model): approximate.
    Rough(f64),
    /// Not reached within the search range.
    Open,
}

impl End {
    pub fn value(self) -> Option<f64> {
        match self {
            End::At(v) | End::Rough(v) => Some(v),
            End::Open => None,
        }
    }
}

pub(crate) enum Outcome {
    /// Interval ends and the points visited inside the confidence region.
    Done {
        ends: Vec<(End, End)>,
        inside: Vec<Vec<f64>>,
    },
    /// A point with a lower objective than the supposed minimum.
    Better(Vec<f64>),
}

/// The interval of every parameter. The searches for the `2 n` ends are
/// independent tasks (each on its own copy of `problem`), run on up to `threads`
/// threads and combined in the order lower end, upper end, parameter by
/// parameter, as one loop would: the result and the evaluation count are the
/// same for any number of threads.
pub(crate) fn intervals(
    problem: &Problem,
    u_hat: &[f64],
    f_hat: f64,
    s: &Settings,
    threads: usize,
) -> Outcome {
    let se = standard_errors(problem, u_hat, f_hat);
    let tasks: Vec<(usize, f64, Problem)> = (0..u_hat.len())
        .flat_map(|k| [(k, -1.0), (k, 1.0)])
        .map(|(k, dir)| (k, dir, problem.fork()))
        .collect();
    let searches = pool::map_ordered(
        threads,
        tasks,
        |(k, dir, problem)| {
            let mut inside = Vec::new();
            let end = search(&problem, u_hat, f_hat, &se, k, dir, s, &mut inside);
            (end, inside, problem.evaluations.get())
        },
        |(end, _, _)| end.is_err(),
    );
    let mut ends = vec![(End::Open, End::Open); u_hat.len()];
    let mut inside = vec![u_hat.to_vec()];
    for (i, (end, points, evaluations)) in searches.into_iter().enumerate() {
        problem.add_evaluations(evaluations);
        match end {
            Ok(end) if i % 2 == 0 => ends[i / 2].0 = end,
            Ok(end) => ends[i / 2].1 = end,
            Err(better) => return Outcome::Better(better),
        }
        inside.extend(points);
    }
    Outcome::Done { ends, inside }
}

/// Profile value at `u_k = v`: minimise over the other coordinates, starting from
/// whichever of the `warm` candidates has the lowest objective.
fn profile_at(
    problem: &Problem,
    k: usize,
    v: f64,
    warm: &[Vec<f64>],
    se: &[f64],
    f_hat: f64,
    s: &Settings,
) -> (f64, Vec<f64>) {
    let n = warm[0].len();
    let mut full = warm
        .iter()
        .map(|w| {
            let mut u = w.clone();
            u[k] = v;
            let f = problem.objective(&u);
            (f, u)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("at least one warm start")
        .1;
    if n == 1 {
        return (problem.objective(&full) - f_hat, full);
    }
    let others: Vec<usize> = (0..n).filter(|&j| j != k).collect();
    let x0: Vec<f64> = others.iter().map(|&j| full[j]).collect();
    let step: Vec<f64> = others.iter().map(|&j| se[j].clamp(1e-4, 1.0)).collect();
    let m = minimize(
        |x: &[f64]| {
            let mut u = full.clone();
            for (i, &j) in others.iter().enumerate() {
                u[j] = x[i];
            }
            problem.objective(&u)
        },
        &x0,
        &step,
        s,
    );
    for (i, &j) in others.iter().enumerate() {
        full[j] = m.x[i];
    }
    (m.f - f_hat, full)
}

/// `a + (b − a) x`, componentwise.
fn lerp(a: &[f64], b: &[f64], x: f64) -> Vec<f64> {
    a.iter().zip(b).map(|(p, q)| p + (q - p) * x).collect()
}

/// One end of the interval for coordinate `k` in direction `dir`.
#[allow(clippy::too_many_arguments)]
fn search(
    problem: &Problem,
    u_hat: &[f64],
    f_hat: f64,
    se: &[f64],
    k: usize,
    dir: f64,
    s: &Settings,
    inside: &mut Vec<Vec<f64>>,
) -> Result<End, Vec<f64>> {
    let limit = match problem.model.params()[k].scale {
        Scale::Log => ((LOG_BOUND - dir * u_hat[k]).max(0.0) * 0.999).min(SEARCH_LOG),
        Scale::Linear => SEARCH_LINEAR * (problem.times[problem.times.len() - 1] + 1.0),
    };
    let target = CHI2_1_95;
    let mut eval = |d: f64, warm: &[Vec<f64>]| -> Result<(f64, Vec<f64>), Vec<f64>> {
        let (p, u) = profile_at(problem, k, u_hat[k] + dir * d, warm, se, f_hat, s);
        if p < -BETTER_TOL {
            return Err(u);
        }
        if p <= target + P_TOL {
            inside.push(u.clone());
        }
        Ok((p, u))
    };

    // Bracket: step out until the profile passes the threshold. Warm starts: the
    // last point, the path extrapolated linearly from the last two, and the
    // estimate itself.
    let (mut d_prev, mut u_prev) = (0.0, u_hat.to_vec());
    let (mut d_in, mut p_in, mut u_in) = (0.0, 0.0, u_hat.to_vec());
    let mut d = (1.96 * se[k]).clamp(1e-8, limit.max(1e-8));
    let (d_out, p_out, u_out) = loop {
        let mut warm = vec![u_in.clone(), u_hat.to_vec()];
        if d_in > d_prev {
            warm.push(lerp(&u_prev, &u_in, (d - d_prev) / (d_in - d_prev)));
        }
        let (p, u) = eval(d, &warm)?;
        if p >= target {
            break (d, p, u);
        }
        if d >= limit {
            return Ok(End::Open);
        }
        let grow = if p > 1e-3 {
            (1.1 * (target / p).sqrt()).clamp(1.5, 4.0)
        } else {
            4.0
        };
        (d_prev, u_prev) = (d_in, u_in);
        (d_in, p_in, u_in) = (d, p, u);
        d = (d * grow).min(limit);
    };

    // Refine by false position on g(d) = √P(d) − √target (Illinois variant), with
    // warm starts from both bracket ends and their interpolation.
    let sq = target.sqrt();
    let g = |p: f64| p.max(0.0).sqrt() - sq;
    let (mut a, mut ga, mut ua) = (d_in, g(p_in), u_in);
    let (mut b, mut gb, mut ub) = (d_out, g(p_out), u_out);
    if (p_out - target).abs() < P_TOL {
        return Ok(End::At(u_hat[k] + dir * b));
    }
    let mut side = 0i8;
    for _ in 0..40 {
        let c = if gb - ga > 0.0 {
            (a - ga * (b - a) / (gb - ga)).clamp(a + 0.01 * (b - a), b - 0.01 * (b - a))
        } else {
            0.5 * (a + b)
        };
        let warm = vec![ua.clone(), ub.clone(), lerp(&ua, &ub, (c - a) / (b - a))];
        let (p, u) = eval(c, &warm)?;
        if (p - target).abs() < P_TOL {
            return Ok(End::At(u_hat[k] + dir * c));
        }
        if (b - a) <= 1e-7 * (1.0 + b) {
            return Ok(End::Rough(u_hat[k] + dir * c));
        }
        let gc = g(p);
        if gc < 0.0 {
            (a, ga, ua) = (c, gc, u);
            if side == -1 {
                gb *= 0.5;
            }
            side = -1;
        } else {
            (b, gb, ub) = (c, gc, u);
            if side == 1 {
                ga *= 0.5;
            }
            side = 1;
        }
    }
    Ok(End::Rough(u_hat[k] + dir * 0.5 * (a + b)))
}

/// Standard errors in internal coordinates from a finite-difference Hessian `H`
/// of `F = −2 ln L`: the covariance is `2 H⁻¹`. Used only to size the first
/// profile steps and the nuisance simplexes, so a rough answer is enough; where
/// `H` is not positive definite the conditional `√(2 / H_kk)` or `0.1` is used.
pub(crate) fn standard_errors(problem: &Problem, u: &[f64], f0: f64) -> Vec<f64> {
    let n = u.len();
    let f = |v: &[f64]| problem.objective(v);
    // Per-coordinate step giving a change of about 0.5 in F.
    let mut h = vec![0.0; n];
    for i in 0..n {
        let mut hi = 1e-3 * (1.0 + u[i].abs());
        for _ in 0..12 {
            let mut v = u.to_vec();
            v[i] += hi;
            let d = f(&v) - f0;
            if !d.is_finite() || d > 2.0 {
                hi *= 0.25;
            } else if d < 0.1 {
                hi *= (0.5 / d.max(1e-10)).sqrt().min(10.0);
            } else {
                break;
            }
        }
        h[i] = hi;
    }
    let at = |steps: &[(usize, f64)]| {
        let mut v = u.to_vec();
        for &(i, s) in steps {
            v[i] += s;
        }
        f(&v)
    };
    let mut hess = vec![vec![0.0; n]; n];
    for i in 0..n {
        hess[i][i] = (at(&[(i, h[i])]) + at(&[(i, -h[i])]) - 2.0 * f0) / (h[i] * h[i]);
        for j in 0..i {
            let v = (at(&[(i, h[i]), (j, h[j])])
                - at(&[(i, h[i]), (j, -h[j])])
                - at(&[(i, -h[i]), (j, h[j])])
                + at(&[(i, -h[i]), (j, -h[j])]))
                / (4.0 * h[i] * h[j]);
            hess[i][j] = v;
            hess[j][i] = v;
        }
    }
    let fallback = |i: usize| {
        let d = hess[i][i];
        if d.is_finite() && d > 0.0 {
            (2.0 / d).sqrt()
        } else {
            0.1
        }
    };
    match invert(&hess) {
        Some(inv) => (0..n)
            .map(|i| {
                let v = 2.0 * inv[i][i];
                if v.is_finite() && v > 0.0 {
                    v.sqrt()
                } else {
                    fallback(i)
                }
            })
            .collect(),
        None => (0..n).map(fallback).collect(),
    }
}

/// Inverse of a small matrix by Gauss–Jordan elimination with partial pivoting.
fn invert(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut a: Vec<Vec<f64>> = m.to_vec();
    let mut inv: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let scale = m
        .iter()
        .flat_map(|r| r.iter())
        .fold(0.0f64, |s, v| s.max(v.abs()));
    if !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    for c in 0..n {
        let p = (c..n).max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs()))?;
        if a[p][c].abs() <= 1e-13 * scale {
            return None;
        }
        a.swap(c, p);
        inv.swap(c, p);
        let d = a[c][c];
        for j in 0..n {
            a[c][j] /= d;
            inv[c][j] /= d;
        }
        for r in 0..n {
            if r != c {
                let f = a[r][c];
                if f != 0.0 {
                    for j in 0..n {
                        a[r][j] -= f * a[c][j];
                        inv[r][j] -= f * inv[c][j];
                    }
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::data::{Kind, Observations};
    use crate::fit::{FitOptions, ModelKind};
    use crate::model::Rcs;

    /// A search that finds a point below the supposed minimum ends the intervals
    /// with `Outcome::Better`; on any number of threads it is the same point, and
    /// the evaluations counted are those of the searches up to and including it
    /// (the later ones, which may have run on other threads, are dropped).
    #[test]
    fn a_lower_point_is_the_same_on_any_number_of_threads() {
        let m = Rcs::new(1.2, 7.0, 800.0).unwrap();
        let times: Vec<f64> = (0..=40).map(|i| f64::from(i) * 0.4).collect();
        let y: Vec<f64> = times.iter().map(|&t| m.cumulative(t).floor()).collect();
        let obs = Observations::new(&times, &y, Kind::Cumulative).unwrap();
        let problem = Problem::new(&obs, ModelKind::Rcs, &FitOptions::default());
        // K below its estimate: the search down from it (the first) only climbs;
        // the search up from it (the second) finds lower ground.
        let u = problem.to_internal(&[1.1, 7.0, 800.0]);
        let f = problem.objective(&u);
        let s = Settings {
            f_tol: 1e-9,
            x_tol: 1e-5,
            max_evaluations: 1200,
            max_restarts: 1,
        };
        let run = |threads| {
            let p = problem.fork();
            let Outcome::Better(v) = intervals(&p, &u, f, &s, threads) else {
                panic!("{threads} threads: no lower point found");
            };
            (v, p.evaluations.get())
        };
        let one = run(1);
        assert!(problem.objective(&one.0) < f - BETTER_TOL);
        assert!(one.0[0] > u[0], "found by the second search: {:?}", one.0);
        for threads in [2, 6] {
            assert_eq!(run(threads), one, "{threads} threads");
        }
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn inverse_of_a_small_matrix() {
        let m = vec![
            vec![4.0, 1.0, 0.5],
            vec![1.0, 3.0, 0.2],
            vec![0.5, 0.2, 2.0],
        ];
        let inv = invert(&m).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let s: f64 = (0..3).map(|k| m[i][k] * inv[k][j]).sum();
                assert!((s - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        assert!(invert(&[vec![1.0, 2.0], vec![2.0, 4.0]]).is_none());
    }
}
