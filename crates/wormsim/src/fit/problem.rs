//! The objective function: a model's cumulative curve compared with the data.

use super::{FitOptions, ModelKind, Objective, Scale};
use crate::fit::data::Observations;
use crate::model::ode::Rk45;
use crate::model::{Aawp, Rcs, Si, Sir, TwoFactor, cumulative_at};
use std::cell::Cell;

/// Log-scale parameters live in `[-LOG_BOUND, LOG_BOUND]` (e^±50): outside, the
/// objective is `+∞`.
pub(crate) const LOG_BOUND: f64 = 50.0;

/// Relative accuracy of the model curves, the fits' solver tolerance: a
/// least-squares residual variance below `(LSQ_RESOLUTION · max y)²` is the
/// solver's rounding, not the data's noise ([`Problem::rss_floor`]).
pub(crate) const LSQ_RESOLUTION: f64 = 1e-9;

/// A fitting problem: data, model, objective.
pub(crate) struct Problem<'a> {
    pub model: ModelKind,
    pub objective: Objective,
    pub times: &'a [f64],
    pub y: &'a [f64],
    /// Observed increments: `y[0]`, then `y[j] − y[j−1]`.
    pub inc: Vec<f64>,
    pub tick: f64,
    pub space: f64,
    solver: Rk45,
    /// The least-squares objective's floor on the residual sum of squares,
    /// `n (LSQ_RESOLUTION · max y)²`: a curve that meets the data to the
    /// model's own accuracy is as good as it gets. Without it, on data a model
    /// reproduces exactly (a flat series, a noise-free curve), `n ln(RSS/n)`
    /// falls without bound while the optimiser chases rounding.
    pub rss_floor: f64,
    pub evaluations: Cell<usize>,
}

impl<'a> Problem<'a> {
    pub fn new(obs: &'a Observations, model: ModelKind, opts: &FitOptions) -> Problem<'a> {
        Problem {
            model,
            objective: opts.objective,
            times: obs.times(),
            y: obs.cumulative(),
            inc: obs.increments(),
            tick: opts.aawp_tick_hours,
            space: opts.aawp_space,
            rss_floor: rss_floor(obs.cumulative()),
            solver: Rk45::new(LSQ_RESOLUTION, 1e-8)
                .expect("valid tolerances")
                .with_max_steps(10_000),
            evaluations: Cell::new(0),
        }
    }

    /// A copy with its own evaluation counter (from 0), for a minimisation on
    /// another thread; add its count back with [`Problem::add_evaluations`].
    pub fn fork(&self) -> Problem<'a> {
        Problem {
            inc: self.inc.clone(),
            evaluations: Cell::new(0),
            ..*self
        }
    }

    /// Count `n` evaluations made by a fork.
    pub fn add_evaluations(&self, n: usize) {
        self.evaluations.set(self.evaluations.get() + n);
    }

    /// Internal (optimiser) coordinates to natural parameters.
    pub fn to_natural(&self, u: &[f64]) -> Vec<f64> {
        self.model
            .params()
            .iter()
            .zip(u)
            .map(|(p, &v)| match p.scale {
                Scale::Log => v.exp(),
                Scale::Linear => v,
            })
            .collect()
    }

    /// Natural parameters to internal coordinates.
    pub fn to_internal(&self, theta: &[f64]) -> Vec<f64> {
        self.model
            .params()
            .iter()
            .zip(theta)
            .map(|(p, &v)| match p.scale {
                Scale::Log => v.ln(),
                Scale::Linear => v,
            })
            .collect()
    }

    /// The model's cumulative count at `times`, or `None` for parameters outside
    /// the model's domain or a failed integration.
    pub fn curve_at(&self, theta: &[f64], times: &[f64]) -> Option<Vec<f64>> {
        let c = match self.model {
            ModelKind::Rcs => {
                let m = Rcs::new(theta[0], theta[1], theta[2]).ok()?;
                times.iter().map(|&t| m.cumulative(t)).collect()
            }
            ModelKind::Si => {
                let m = Si::new(theta[0], theta[1], theta[2]).ok()?;
                times.iter().map(|&t| m.closed_form(t)).collect()
            }
            ModelKind::Sir => {
                let m = Sir::new(theta[0], theta[1], theta[2], theta[3]).ok()?;
                cumulative_at(&m, times, &self.solver).ok()?
            }
            ModelKind::TwoFactor => {
                let m = TwoFactor::new(theta[0], theta[1], theta[2], theta[3], theta[4], theta[5])
                    .ok()?;
                cumulative_at(&m, times, &self.solver).ok()?
            }
            ModelKind::Aawp => {
                let m =
                    Aawp::new(theta[0], theta[1], theta[2], theta[3], theta[4], self.space).ok()?;
                m.cumulative_at(self.tick, times).ok()?
            }
        };
        let c: Vec<f64> = c;
        if c.iter().all(|v| v.is_finite()) {
            Some(c)
        } else {
            None
        }
    }

    /// The model curve at the data times.
    pub fn curve(&self, theta: &[f64]) -> Option<Vec<f64>> {
        self.curve_at(theta, self.times)
    }

    /// The minimised objective at natural parameters: the Poisson deviance of the
    /// increments, or `n ln(RSS/n)` of the cumulative counts (least squares with
    /// the variance profiled out). Both are `−2 ln L` up to a constant.
    pub fn objective_theta(&self, theta: &[f64]) -> f64 {
        self.evaluations.set(self.evaluations.get() + 1);
        let Some(c) = self.curve(theta) else {
            return f64::INFINITY;
        };
        match self.objective {
            Objective::Poisson => {
                let mut d = 0.0;
                for j in 0..c.len() {
                    let mu = model_increment(&c, j);
                    d += deviance_term(self.inc[j], mu);
                }
                2.0 * d
            }
            Objective::LeastSquares => {
                let n = c.len() as f64;
                let rss: f64 = c.iter().zip(self.y).map(|(m, y)| (y - m).powi(2)).sum();
                n * (rss.max(self.rss_floor) / n).ln()
            }
        }
    }

    /// The objective at internal coordinates (`+∞` outside the box).
    pub fn objective(&self, u: &[f64]) -> f64 {
        for (p, &v) in self.model.params().iter().zip(u) {
            let ok = match p.scale {
                Scale::Log => v.abs() <= LOG_BOUND,
                Scale::Linear => v.is_finite() && v.abs() <= 1e7,
            };
            if !ok {
                return f64::INFINITY;
            }
        }
        self.objective_theta(&self.to_natural(u))
    }
}

/// [`Problem::rss_floor`] for observed cumulative counts `y` (at least
/// `f64::MIN_POSITIVE`).
pub(crate) fn rss_floor(y: &[f64]) -> f64 {
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (y.len() as f64 * (LSQ_RESOLUTION * scale).powi(2)).max(f64::MIN_POSITIVE)
}

/// Expected count in interval `j` of a cumulative curve: `C[0]` (everything up to
/// `t = 0`), then `C[j] − C[j−1]`, never negative.
pub(crate) fn model_increment(c: &[f64], j: usize) -> f64 {
    let mu = if j == 0 { c[0] } else { c[j] - c[j - 1] };
    mu.max(0.0)
}

/// One term `y ln(y/μ) − (y − μ)` of the Poisson deviance (halved).
pub(crate) fn deviance_term(y: f64, mu: f64) -> f64 {
    if y == 0.0 {
        mu
    } else {
        let mu = mu.max(1e-300);
        y * (y / mu).ln() - (y - mu)
    }
}

/// Deterministic starting points for the RCS fit, from the shape of the data.
///
/// `K` from the time between 10% and 90% of the last count (`2 ln 9 / Δt` for a
/// logistic) and from the slope of `ln C` over the first half of the rise; `T` where
/// the count passes half its last value; `N` = 1, 2 and 10 times the last count
/// (the data may not have saturated).
pub(crate) fn rcs_starts(times: &[f64], y: &[f64]) -> Vec<Vec<f64>> {
    let n = times.len();
    let ymax = y[n - 1].max(1e-9);
    let span = (times[n - 1] - times[0]).max(1e-6);
    let cross = |level: f64| -> f64 {
        for j in 0..n {
            if y[j] >= level {
                if j == 0 || y[j] == y[j - 1] {
                    return times[j];
                }
                let f = (level - y[j - 1]) / (y[j] - y[j - 1]);
                return times[j - 1] + f * (times[j] - times[j - 1]);
            }
        }
        times[n - 1]
    };
    let (t10, t50, t90) = (cross(0.1 * ymax), cross(0.5 * ymax), cross(0.9 * ymax));
    let k_sat = if t90 > t10 {
        2.0 * 9f64.ln() / (t90 - t10)
    } else {
        8.0 / span
    };
    // Log-linear slope over the rising first half.
    let pts: Vec<(f64, f64)> = (0..n)
        .filter(|&j| y[j] > 0.0 && y[j] <= 0.5 * ymax)
        .map(|j| (times[j], y[j].ln()))
        .collect();
    let k_exp = if pts.len() >= 3 {
        let m = pts.len() as f64;
        let mt = pts.iter().map(|p| p.0).sum::<f64>() / m;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / m;
        let sxy: f64 = pts.iter().map(|p| (p.0 - mt) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mt).powi(2)).sum();
        if sxx > 0.0 && sxy > 0.0 {
            sxy / sxx
        } else {
            k_sat
        }
    } else {
        k_sat
    };
    let t_last = times[n - 1];
    let mut starts = vec![vec![k_sat, t50, ymax]];
    for m in [2.0f64, 10.0] {
        let t = t_last + (m - 1.0).ln() / k_exp;
        starts.push(vec![k_exp, t, m * ymax]);
    }
    starts
}

/// Starting points for the other models, from the best RCS fit `(K, T, N)`.
pub(crate) fn model_starts(model: ModelKind, rcs: &[f64], opts: &FitOptions) -> Vec<Vec<f64>> {
    let (k, t, n) = (rcs[0], rcs[1], rcs[2]);
    // Infected at t = 0 on the RCS curve, kept inside (0, N).
    let i0 = |n: f64| (n / (1.0 + (k * t).exp())).clamp(1e-6 * n.min(1.0), 0.5 * n);
    match model {
        ModelKind::Rcs => vec![rcs.to_vec()],
        ModelKind::Si => vec![vec![k, n, i0(n)]],
        ModelKind::Sir => [0.05, 0.3]
            .iter()
            .map(|&g| {
                let gamma = g * k;
                let beta = k + gamma;
                // Final-size fraction z of an SIR with R0 = β/γ: 1 − z = e^{−R0 z}.
                let r0 = beta / gamma;
                let mut z = 1.0;
                for _ in 0..200 {
                    z = 1.0 - (-r0 * z).exp();
                }
                let nn = n / z.max(1e-3);
                vec![beta, gamma, nn, i0(nn)]
            })
            .collect(),
        ModelKind::TwoFactor => [
            (1.0, 0.01, 0.01, 0.1, 1.05),
            (1.2, 0.05, 0.05, 1.0, 1.3),
            (1.5, 0.1, 0.2, 3.0, 2.0),
        ]
        .iter()
        .map(|&(b, g, m, eta, nf)| {
            let nn = n * nf;
            vec![b * k, g * k, m * k, eta, nn, i0(nn)]
        })
        .collect(),
        ModelKind::Aawp => {
            // Growth per tick; the early growth rate per tick is s N / Ω − d − p.
            // A small grid over d and p (relative to the growth rate): with log
            // coordinates a rate started far below its true value can sink to the
            // flat region near zero and stay there.
            let kt = (k * opts.aawp_tick_hours).max(1e-9);
            let mut starts = Vec::new();
            for d in [1e-4, 0.03, 0.3] {
                for p in [1e-4, 0.01, 0.1] {
                    let s = (kt * (1.0 + d + p)) * opts.aawp_space / n;
                    starts.push(vec![s, d * kt, p * kt, n, i0(n)]);
                }
            }
            starts
        }
    }
}
