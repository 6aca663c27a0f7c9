//! An adaptive explicit Runge–Kutta integrator: Dormand–Prince 5(4) with
//! error control and dense output.
//!
//! # Formula
//! One step from `(t, y)` with size `h` evaluates seven stages
//! `k_i = f(t + c_i h, y + h Σ_j a_ij k_j)` (the last stage is evaluated at the new
//! point, so it is reused as the first stage of the next step: "first same as
//! last"). The new value is the fifth-order combination `y₁ = y + h Σ b_i k_i`
//! (local extrapolation), and the difference to the embedded fourth-order
//! solution, `e = h Σ (b_i − b̂_i) k_i`, estimates the local error. With
//! `sc_i = atol + rtol · max(|y_i|, |y₁_i|)` the step is accepted when
//! `‖e‖ = sqrt(mean((e_i / sc_i)²)) ≤ 1`, and the next step size is
//! `h · min(5, max(0.2, 0.9 ‖e‖^(−1/5)))` (no growth right after a rejection).
//!
//! Output times are served by the continuous extension of Shampine (1986), a
//! fourth-order polynomial on each accepted step, so the step size is never
//! limited by how densely the caller samples the solution. The initial step
//! size follows Hairer, Nørsett & Wanner's heuristic.
//!
//! Sources: J. R. Dormand & P. J. Prince, "A family of embedded Runge–Kutta
//! formulae", *J. Comput. Appl. Math.* 6 (1980) 19–26 (the tableau);
//! L. F. Shampine, "Some practical Runge–Kutta formulas", *Math. Comp.* 46 (1986)
//! 135–150 (the dense output); E. Hairer, S. P. Nørsett & G. Wanner, *Solving
//! Ordinary Differential Equations I*, 2nd ed., Springer 1993, §II.4–II.6 (step
//! size control, starting step, the DOPRI5 arrangement of both).
//!
//! # Examples
//! ```
//! use wormsim::model::ode::Rk45;
//! // y' = y, y(0) = 1, sampled at t = 0, 0.5, 1.
//! let sol = Rk45::new(1e-10, 1e-12)
//!     .unwrap()
//!     .solve(|_t, y, dy| dy[0] = y[0], 0.0, &[1.0], &[0.0, 0.5, 1.0])
//!     .unwrap();
//! assert!((sol.state(2)[0] - 1f64.exp()).abs() < 1e-8);
//! ```

use super::ModelError;

mod rodas;

// Dormand–Prince 5(4) tableau (Dormand & Prince 1980, Table 2).
const C2: f64 = 1.0 / 5.0;
const C3: f64 = 3.0 / 10.0;
const C4: f64 = 4.0 / 5.0;
const C5: f64 = 8.0 / 9.0;
const A21: f64 = 1.0 / 5.0;
const A31: f64 = 3.0 / 40.0;
const A32: f64 = 9.0 / 40.0;
const A41: f64 = 44.0 / 45.0;
const A42: f64 = -56.0 / 15.0;
const A43: f64 = 32.0 / 9.0;
const A51: f64 = 19372.0 / 6561.0;
const A52: f64 = -25360.0 / 2187.0;
const A53: f64 = 64448.0 / 6561.0;
const A54: f64 = -212.0 / 729.0;
const A61: f64 = 9017.0 / 3168.0;
const A62: f64 = -355.0 / 33.0;
const A63: f64 = 46732.0 / 5247.0;
const A64: f64 = 49.0 / 176.0;
const A65: f64 = -5103.0 / 18656.0;
// Fifth-order weights (also row 7 of the tableau).
const B1: f64 = 35.0 / 384.0;
const B3: f64 = 500.0 / 1113.0;
const B4: f64 = 125.0 / 192.0;
const B5: f64 = -2187.0 / 6784.0;
const B6: f64 = 11.0 / 84.0;
// Error weights b_i − b̂_i.
const E1: f64 = 71.0 / 57600.0;
const E3: f64 = -71.0 / 16695.0;
const E4: f64 = 71.0 / 1920.0;
const E5: f64 = -17253.0 / 339200.0;
const E6: f64 = 22.0 / 525.0;
const E7: f64 = -1.0 / 40.0;
// Dense output (Shampine 1986, as arranged in Hairer et al.'s DOPRI5).
const D1: f64 = -12715105075.0 / 11282082432.0;
const D3: f64 = 87487479700.0 / 32700410799.0;
const D4: f64 = -10690763975.0 / 1880347072.0;
const D5: f64 = 701980252875.0 / 199316789632.0;
const D6: f64 = -1453857185.0 / 822651844.0;
const D7: f64 = 69997945.0 / 29380423.0;

/// Accepted steps between two stiffness tests while none looks stiff (DOPRI5's
/// `NSTIFF`, whose default of 1,000 suits longer integrations than a fit's
/// few hundred steps).
const STIFF_TEST_EVERY: usize = 8;

const SAFETY: f64 = 0.9;
const FAC_MIN: f64 = 0.2;

/// The step-size controller both methods share (Hairer, Nørsett & Wanner 1993,
/// §II.4): the next step is the last one times `0.9 ‖e‖^(−q)`, clamped to
/// `[0.2, fac_max]`, with no growth right after a rejection.
struct Controller {
    /// `1/(p + 1)` for the lower order `p` of the embedded pair.
    q: f64,
    fac_max: f64,
}

/// Dormand–Prince 5(4).
const DOPRI5: Controller = Controller {
    q: 0.2,
    fac_max: 5.0,
};

impl Controller {
    /// The factor for the retried step after a rejection with error norm `e`
    /// (the smallest one for a non-finite `e`).
    fn after_rejection(&self, e: f64) -> f64 {
        if e.is_finite() {
            (SAFETY * e.powf(-self.q)).clamp(FAC_MIN, 1.0)
        } else {
            FAC_MIN
        }
    }

    /// The factor for the next step after an accepted one with error norm `e`.
    fn after_acceptance(&self, e: f64, rejected_last: bool) -> f64 {
        let fac = (SAFETY * e.max(1e-10).powf(-self.q)).clamp(FAC_MIN, self.fac_max);
        if rejected_last { fac.min(1.0) } else { fac }
    }
}

/// Work counters of one integration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps (error too large, or a non-finite stage).
    pub rejected: usize,
    /// Evaluations of the right-hand side.
    pub evaluations: usize,
    /// Accepted steps taken by the stiff method (Rodas4) after the switch;
    /// included in `accepted`. Zero when the problem never looked stiff.
    pub stiff_steps: usize,
}

/// The solution at the requested output times.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    /// The output times, as requested.
    pub times: Vec<f64>,
    dim: usize,
    values: Vec<f64>,
    /// Work done.
    pub stats: Stats,
}

impl Solution {
    /// The state at output time number `i`.
    pub fn state(&self, i: usize) -> &[f64] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// Number of state components.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Component `j` at every output time.
    pub fn component(&self, j: usize) -> impl Iterator<Item = f64> + '_ {
        self.values.iter().skip(j).step_by(self.dim).copied()
    }
}

/// The Dormand–Prince 5(4) integrator and its settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rk45 {
    rtol: f64,
    atol: f64,
    h_init: Option<f64>,
    h_max: f64,
    max_steps: usize,
    stiff_switch: bool,
}

impl Rk45 {
    /// An integrator with relative tolerance `rtol` and absolute tolerance `atol`
    /// (both applied to every component).
    ///
    /// # Errors
    /// [`ModelError::Parameter`] unless `rtol` is finite and in `[1e-14, 1)` and
    /// `atol` finite and `>= 0`; both zero is impossible by the first rule.
    pub fn new(rtol: f64, atol: f64) -> Result<Rk45, ModelError> {
        if !(rtol.is_finite() && (1e-14..1.0).contains(&rtol)) {
            return Err(ModelError::param(
                "rk45",
                "rtol",
                rtol,
                "a finite number in [1e-14, 1)",
            ));
        }
        if !(atol.is_finite() && atol >= 0.0) {
            return Err(ModelError::param(
                "rk45",
                "atol",
                atol,
                "a finite number >= 0",
            ));
        }
        Ok(Rk45 {
            rtol,
            atol,
            h_init: None,
            h_max: f64::INFINITY,
            max_steps: 100_000,
            stiff_switch: true,
        })
    }

    /// Give the first step size instead of estimating it.
    ///
    /// # Errors
    /// [`ModelError::Parameter`] unless `h` is finite and `> 0`.
    pub fn with_initial_step(mut self, h: f64) -> Result<Rk45, ModelError> {
        if !(h.is_finite() && h > 0.0) {
            return Err(ModelError::param(
                "rk45",
                "initial step",
                h,
                "a finite number > 0",
            ));
        }
        self.h_init = Some(h);
        Ok(self)
    }

    /// Cap the step size.
    ///
    /// # Errors
    /// [`ModelError::Parameter`] unless `h` is `> 0` (infinity allowed).
    pub fn with_max_step(mut self, h: f64) -> Result<Rk45, ModelError> {
        if h.is_nan() || h <= 0.0 {
            return Err(ModelError::param("rk45", "max step", h, "a number > 0"));
        }
        self.h_max = h;
        Ok(self)
    }

    /// Give up after this many steps (accepted plus rejected); default 100,000.
    #[must_use]
    pub fn with_max_steps(mut self, n: usize) -> Rk45 {
        self.max_steps = n.max(1);
        self
    }

    /// Whether to hand a stiff problem over to the linearly implicit Rodas4
    /// (default `true`); see [`Rk45::solve`].
    #[must_use]
    pub fn with_stiff_switch(mut self, on: bool) -> Rk45 {
        self.stiff_switch = on;
        self
    }

    /// Integrate `y' = f(t, y)` from `y(t0) = y0` and return the state at each of
    /// `t_out` (non-decreasing, each `>= t0`). `f(t, y, dy)` writes the derivative
    /// into `dy`.
    ///
    /// # Stiffness
    /// An explicit method's step size is bounded by stability where the solution
    /// has fast-decaying modes, so on a stiff problem it takes thousands of tiny
    /// steps. After every 8th accepted step (every step once one looked stiff),
    /// `h·|λ|` is estimated as
    /// `h ‖f(t+h, y₁) − f(t+h, ŷ₆)‖ / ‖y₁ − ŷ₆‖` (`ŷ₆` the sixth stage's point); when
    /// it exceeds 3.25 (the edge of the method's stability region) on 15 accepted
    /// steps without 6 calm ones in a row between them, the rest of the
    /// integration is handed to Rodas4, which is L-stable (the test of DOPRI5:
    /// Hairer & Wanner, *Solving ODEs II*, 2nd ed. 1996, §IV.2) — provided the
    /// explicit method at its present step size would need more than twice as
    /// many steps as there are outputs left, because Rodas4's steps land on the
    /// output times and cost about two explicit ones. A problem that never
    /// looks stiff is integrated exactly as without the switch.
    /// [`Rk45::with_stiff_switch`] turns it off.
    ///
    /// # Errors
    /// [`ModelError::OutputTimes`] for bad output times or a non-finite `y0`;
    /// [`ModelError::Integration`] when the step size underflows, the step budget
    /// runs out, or the solution stops being finite.
    pub fn solve<F>(&self, f: F, t0: f64, y0: &[f64], t_out: &[f64]) -> Result<Solution, ModelError>
    where
        F: FnMut(f64, &[f64], &mut [f64]),
    {
        self.integrate(f, t0, y0, t_out, false)
    }

    /// [`Rk45::solve`] for an `f` that does not depend on `t` (`f(t, y, dy)` must
    /// write the same `dy` for every `t`). The result is the same as
    /// [`Rk45::solve`]'s, bit for bit; only a stiff stretch is cheaper, as Rodas4
    /// takes `∂f/∂t = 0` instead of differencing `f` twice per step.
    ///
    /// # Errors
    /// As [`Rk45::solve`].
    pub fn solve_autonomous<F>(
        &self,
        f: F,
        t0: f64,
        y0: &[f64],
        t_out: &[f64],
    ) -> Result<Solution, ModelError>
    where
        F: FnMut(f64, &[f64], &mut [f64]),
    {
        self.integrate(f, t0, y0, t_out, true)
    }

    fn integrate<F>(
        &self,
        mut f: F,
        t0: f64,
        y0: &[f64],
        t_out: &[f64],
        autonomous: bool,
    ) -> Result<Solution, ModelError>
    where
        F: FnMut(f64, &[f64], &mut [f64]),
    {
        let n = y0.len();
        check_outputs(t0, y0, t_out)?;
        let mut values = Vec::with_capacity(n * t_out.len());
        let mut stats = Stats::default();
        let t_end = t_out.last().copied().unwrap_or(t0);

        let mut t = t0;
        let mut y = y0.to_vec();
        let mut next = 0;
        while next < t_out.len() && t_out[next] == t0 {
            values.extend_from_slice(&y);
            next += 1;
        }
        if next == t_out.len() {
            return Ok(Solution {
                times: t_out.to_vec(),
                dim: n,
                values,
                stats,
            });
        }

        let mut k = Stages::new(n);
        f(t, &y, &mut k.k1);
        stats.evaluations += 1;
        let mut h = match self.h_init {
            Some(h) => h,
            None => {
                let h = self.initial_step(&mut f, t, &y, &k.k1, &mut k.y_stage, &mut k.k2);
                stats.evaluations += 1;
                h
            }
        }
        .min(self.h_max);
        let mut y1 = vec![0.0; n];
        let mut err = vec![0.0; n];
        let mut rejected_last = false;
        // Stiffness detection: stiff-looking steps, and calm ones since.
        let mut stiff_seen = 0u32;
        let mut calm = 0u32;

        while next < t_out.len() {
            self.check_budget(&stats, t)?;
            // Land exactly on the last output time.
            let mut last = false;
            if t + h >= t_end || (t_end - t - h) < 1e-12 * (t_end - t) {
                h = t_end - t;
                last = true;
            }
            check_step_size(h, t)?;
            k.step(&mut f, t, &y, h, &mut y1, &mut err);
            stats.evaluations += 6;
            let e = self.error_norm(&y, &y1, &err);
            if !e.is_finite() || e > 1.0 {
                stats.rejected += 1;
                h *= DOPRI5.after_rejection(e);
                rejected_last = true;
                continue;
            }
            stats.accepted += 1;
            // Tested every STIFF_TEST_EVERY accepted steps, then on every step
            // while stiff-looking steps are being counted (as DOPRI5 does):
            // testing every step cost 9% of a two-factor fit's time.
            let stiff = self.stiff_switch
                && (stiff_seen > 0 || stats.accepted % STIFF_TEST_EVERY == 0)
                && {
                    if looks_stiff(h, &k.k7, &k.k6, &y1, &k.y_stage) {
                        calm = 0;
                        stiff_seen += 1;
                    } else {
                        calm += 1;
                        if calm == 6 {
                            stiff_seen = 0;
                        }
                    }
                    stiff_seen >= 15
                };
            let t1 = if last { t_end } else { t + h };
            // Serve the outputs in (t, t1].
            if next < t_out.len() && t_out[next] <= t1 {
                k.prepare_dense(&y, &y1, h);
                while next < t_out.len() && t_out[next] <= t1 {
                    if t_out[next] == t1 {
                        values.extend_from_slice(&y1);
                    } else {
                        let theta = (t_out[next] - t) / h;
                        k.dense(theta, &mut values);
                    }
                    next += 1;
                }
            }
            t = t1;
            std::mem::swap(&mut y, &mut y1);
            std::mem::swap(&mut k.k1, &mut k.k7);
            let fac = DOPRI5.after_acceptance(e, rejected_last);
            rejected_last = false;
            h = (h * fac).min(self.h_max);
            // Rodas4 lands on every output time and a step costs about twice an
            // explicit one (n + 8 evaluations and a factorisation against 6
            // evaluations), so hand over only when that is cheaper than going
            // on at the present step size.
            if stiff && next < t_out.len() && (t_end - t) / h > 2.0 * (t_out.len() - next) as f64 {
                let (values, stats) = rodas::finish(
                    self,
                    &mut f,
                    rodas::Handover {
                        autonomous,
                        t,
                        y,
                        h,
                        t_out,
                        next,
                        values,
                        stats,
                    },
                )?;
                return Ok(Solution {
                    times: t_out.to_vec(),
                    dim: n,
                    values,
                    stats,
                });
            }
        }
        Ok(Solution {
            times: t_out.to_vec(),
            dim: n,
            values,
            stats,
        })
    }

    /// `Err` once the step budget is spent.
    fn check_budget(&self, stats: &Stats, t: f64) -> Result<(), ModelError> {
        if stats.accepted + stats.rejected >= self.max_steps {
            return Err(ModelError::Integration {
                t,
                why: "too many steps; the problem may be stiff or the tolerances too tight",
            });
        }
        Ok(())
    }

    fn error_norm(&self, y: &[f64], y1: &[f64], err: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..y.len() {
            let sc = self.atol + self.rtol * y[i].abs().max(y1[i].abs());
            let r = err[i] / sc;
            s += r * r;
        }
        (s / y.len().max(1) as f64).sqrt()
    }

    /// Hairer, Nørsett & Wanner (1993), §II.4, "Starting step size".
    fn initial_step<F>(
        &self,
        f: &mut F,
        t: f64,
        y: &[f64],
        f0: &[f64],
        y_tmp: &mut [f64],
        f_tmp: &mut [f64],
    ) -> f64
    where
        F: FnMut(f64, &[f64], &mut [f64]),
    {
        let n = y.len().max(1) as f64;
        let sc = |v: f64| self.atol + self.rtol * v.abs();
        let d0 = (y.iter().map(|&v| (v / sc(v)).powi(2)).sum::<f64>() / n).sqrt();
        let d1 = (y
            .iter()
            .zip(f0)
            .map(|(&v, &d)| (d / sc(v)).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let h0 = if d0 < 1e-5 || d1 < 1e-5 {
            1e-6
        } else {
            0.01 * d0 / d1
        }
        .min(self.h_max);
        for i in 0..y.len() {
            y_tmp[i] = y[i] + h0 * f0[i];
        }
        f(t + h0, y_tmp, f_tmp);
        let d2 = (y
            .iter()
            .zip(f0.iter().zip(f_tmp.iter()))
            .map(|(&v, (&a, &b))| ((b - a) / sc(v)).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
            / h0;
        let m = d1.max(d2);
        let h1 = if m <= 1e-15 {
            (h0 * 1e-3).max(1e-6)
        } else {
            (0.01 / m).powf(0.2)
        };
        let h = (100.0 * h0).min(h1);
        if h.is_finite() && h > 0.0 { h } else { 1e-6 }
    }
}

/// `Err` when a step `h` from `t` is too small to change `t`.
fn check_step_size(h: f64, t: f64) -> Result<(), ModelError> {
    if h <= 16.0 * f64::EPSILON * t.abs().max(1e-300) {
        return Err(ModelError::Integration {
            t,
            why: "step size underflow; the solution may blow up here",
        });
    }
    Ok(())
}

/// Hairer's test: does `h·|λ|`, estimated from the last two stages of an
/// accepted step, lie beyond the explicit method's stability boundary?
fn looks_stiff(h: f64, k7: &[f64], k6: &[f64], y1: &[f64], y6: &[f64]) -> bool {
    let num: f64 = k7.iter().zip(k6).map(|(a, b)| (a - b) * (a - b)).sum();
    let den: f64 = y1.iter().zip(y6).map(|(a, b)| (a - b) * (a - b)).sum();
    den > 0.0 && h * h * num > 3.25 * 3.25 * den
}

fn check_outputs(t0: f64, y0: &[f64], t_out: &[f64]) -> Result<(), ModelError> {
    if !t0.is_finite() {
        return Err(ModelError::OutputTimes(format!(
            "start time {t0} is not finite"
        )));
    }
    if let Some(i) = y0.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::OutputTimes(format!(
            "initial state component {i} is {}; give finite values",
            y0[i]
        )));
    }
    let mut prev = t0;
    for (i, &t) in t_out.iter().enumerate() {
        if !t.is_finite() {
            return Err(ModelError::OutputTimes(format!(
                "output time {i} is {t}; give finite times"
            )));
        }
        if t < prev {
            return Err(ModelError::OutputTimes(format!(
                "output time {i} ({t}) is before {}; give non-decreasing times from the start time on",
                prev
            )));
        }
        prev = t;
    }
    Ok(())
}

/// Stage storage for one step plus the dense-output coefficients.
struct Stages {
    k1: Vec<f64>,
    k2: Vec<f64>,
    k3: Vec<f64>,
    k4: Vec<f64>,
    k5: Vec<f64>,
    k6: Vec<f64>,
    k7: Vec<f64>,
    y_stage: Vec<f64>,
    // Dense output: y(t + θh) = r1 + θ(r2 + (1−θ)(r3 + θ(r4 + (1−θ) r5))).
    r: [Vec<f64>; 5],
}

impl Stages {
    fn new(n: usize) -> Stages {
        let z = || vec![0.0; n];
        Stages {
            k1: z(),
            k2: z(),
            k3: z(),
            k4: z(),
            k5: z(),
            k6: z(),
            k7: z(),
            y_stage: z(),
            r: [z(), z(), z(), z(), z()],
        }
    }

    /// One step: `k1` must hold `f(t, y)`. Writes the fifth-order value to `y1`,
    /// the error estimate to `err`, and `f(t + h, y1)` to `k7`.
    #[allow(clippy::needless_range_loop)] // the stage sums read best with indices
    fn step<F>(&mut self, f: &mut F, t: f64, y: &[f64], h: f64, y1: &mut [f64], err: &mut [f64])
    where
        F: FnMut(f64, &[f64], &mut [f64]),
    {
        let n = y.len();
        let ys = &mut self.y_stage;
        for i in 0..n {
            ys[i] = y[i] + h * A21 * self.k1[i];
        }
        f(t + C2 * h, ys, &mut self.k2);
        for i in 0..n {
            ys[i] = y[i] + h * (A31 * self.k1[i] + A32 * self.k2[i]);
        }
        f(t + C3 * h, ys, &mut self.k3);
        for i in 0..n {
            ys[i] = y[i] + h * (A41 * self.k1[i] + A42 * self.k2[i] + A43 * self.k3[i]);
        }
        f(t + C4 * h, ys, &mut self.k4);
        for i in 0..n {
            ys[i] = y[i]
                + h * (A51 * self.k1[i] + A52 * self.k2[i] + A53 * self.k3[i] + A54 * self.k4[i]);
        }
        f(t + C5 * h, ys, &mut self.k5);
        for i in 0..n {
            ys[i] = y[i]
                + h * (A61 * self.k1[i]
                    + A62 * self.k2[i]
                    + A63 * self.k3[i]
                    + A64 * self.k4[i]
                    + A65 * self.k5[i]);
        }
        f(t + h, ys, &mut self.k6);
        for i in 0..n {
            y1[i] = y[i]
                + h * (B1 * self.k1[i]
                    + B3 * self.k3[i]
                    + B4 * self.k4[i]
                    + B5 * self.k5[i]
                    + B6 * self.k6[i]);
        }
        f(t + h, y1, &mut self.k7);
        for i in 0..n {
            err[i] = h
                * (E1 * self.k1[i]
                    + E3 * self.k3[i]
                    + E4 * self.k4[i]
                    + E5 * self.k5[i]
                    + E6 * self.k6[i]
                    + E7 * self.k7[i]);
        }
    }

    /// Coefficients of the continuous extension on the step just taken.
    fn prepare_dense(&mut self, y: &[f64], y1: &[f64], h: f64) {
        for i in 0..y.len() {
            let dy = y1[i] - y[i];
            let bspl = h * self.k1[i] - dy;
            self.r[0][i] = y[i];
            self.r[1][i] = dy;
            self.r[2][i] = bspl;
            self.r[3][i] = dy - h * self.k7[i] - bspl;
            self.r[4][i] = h
                * (D1 * self.k1[i]
                    + D3 * self.k3[i]
                    + D4 * self.k4[i]
                    + D5 * self.k5[i]
                    + D6 * self.k6[i]
                    + D7 * self.k7[i]);
        }
    }

    /// Append the interpolated state at fraction `theta` of the step to `out`.
    fn dense(&self, theta: f64, out: &mut Vec<f64>) {
        let t1 = 1.0 - theta;
        for i in 0..self.r[0].len() {
            out.push(
                self.r[0][i]
                    + theta
                        * (self.r[1][i]
                            + t1 * (self.r[2][i] + theta * (self.r[3][i] + t1 * self.r[4][i]))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp_rhs(_t: f64, y: &[f64], dy: &mut [f64]) {
        dy[0] = y[0];
    }

    /// Fixed steps of the bare method: the global error must fall like h⁵.
    #[test]
    fn fifth_order_convergence_on_exponential() {
        let err_with = |steps: usize| {
            let h = 1.0 / steps as f64;
            let mut k = Stages::new(1);
            let mut y = vec![1.0];
            let mut y1 = vec![0.0];
            let mut e = vec![0.0];
            let mut f = exp_rhs;
            f(0.0, &y, &mut k.k1);
            for i in 0..steps {
                k.step(&mut f, i as f64 * h, &y, h, &mut y1, &mut e);
                std::mem::swap(&mut y, &mut y1);
                std::mem::swap(&mut k.k1, &mut k.k7);
            }
            (y[0] - 1f64.exp()).abs()
        };
        let (e1, e2, e3) = (err_with(5), err_with(10), err_with(20));
        let p1 = (e1 / e2).log2();
        let p2 = (e2 / e3).log2();
        assert!((4.7..5.3).contains(&p1), "observed order {p1}");
        assert!((4.7..5.3).contains(&p2), "observed order {p2}");
    }

    /// The error estimate must be of fourth order: e ~ h⁵ per step, so halving h
    /// divides it by about 32.
    #[test]
    fn embedded_error_estimate_has_the_right_order() {
        let est = |h: f64| {
            let mut k = Stages::new(1);
            let y = vec![1.0];
            let mut y1 = vec![0.0];
            let mut e = vec![0.0];
            let mut f = |t: f64, y: &[f64], dy: &mut [f64]| dy[0] = y[0] * t.cos();
            f(0.0, &y, &mut k.k1);
            k.step(&mut f, 0.0, &y, h, &mut y1, &mut e);
            e[0].abs()
        };
        let ratio = est(0.2) / est(0.1);
        assert!((20.0..50.0).contains(&ratio), "ratio {ratio}");
    }

    #[test]
    fn adaptive_accuracy_tracks_tolerance() {
        let mut prev_err = f64::INFINITY;
        for rtol in [1e-4, 1e-7, 1e-10] {
            let sol = Rk45::new(rtol, 0.0)
                .unwrap()
                .solve(exp_rhs, 0.0, &[1.0], &[10.0])
                .unwrap();
            let rel = (sol.state(0)[0] / 10f64.exp() - 1.0).abs();
            // Global error stays within a modest multiple of the local tolerance.
            assert!(rel < 50.0 * rtol, "rtol {rtol}: relative error {rel}");
            assert!(rel < prev_err, "error must fall with the tolerance");
            prev_err = rel;
        }
    }

    #[test]
    fn dense_output_is_accurate_between_steps() {
        let times: Vec<f64> = (0..=1000).map(|i| i as f64 * 0.005).collect();
        let sol = Rk45::new(1e-9, 1e-12)
            .unwrap()
            .solve(exp_rhs, 0.0, &[1.0], &times)
            .unwrap();
        // Far fewer steps than output points: the outputs are interpolated.
        assert!(sol.stats.accepted < 200, "{:?}", sol.stats);
        for (i, &t) in times.iter().enumerate() {
            let rel = (sol.state(i)[0] / t.exp() - 1.0).abs();
            assert!(rel < 1e-7, "t = {t}: relative error {rel}");
        }
    }

    /// `y(t)` of `y' = −λ (y − cos t)`, `y(0) = 0`.
    fn relaxation_exact(lambda: f64, t: f64) -> f64 {
        let a = lambda * lambda / (1.0 + lambda * lambda);
        let b = lambda / (1.0 + lambda * lambda);
        a * t.cos() + b * t.sin() - a * (-lambda * t).exp()
    }

    /// That problem solved by `solver` at `times`.
    fn relaxation(lambda: f64, solver: Rk45, times: &[f64]) -> Solution {
        solver
            .solve(
                |t, y, dy| dy[0] = -lambda * (y[0] - t.cos()),
                0.0,
                &[0.0],
                times,
            )
            .unwrap()
    }

    /// `y' = −λ (y − cos t)`, `y(0) = 0`: a stiff-ish problem. The explicit method
    /// alone is limited by stability, so its step-size controller has to reject
    /// steps, and the answer must still be right.
    #[test]
    fn stiffish_problem_rejects_steps_and_stays_accurate() {
        let lambda = 500.0;
        let exact = |t: f64| relaxation_exact(lambda, t);
        let times: Vec<f64> = (0..=20).map(|i| i as f64 * 0.1).collect();
        let solver = Rk45::new(1e-6, 1e-9).unwrap().with_stiff_switch(false);
        let sol = relaxation(lambda, solver, &times);
        assert!(sol.stats.rejected > 0, "{:?}", sol.stats);
        // Stability bounds the step near 3.3/λ, so it needs hundreds of steps.
        assert!(sol.stats.accepted > 200, "{:?}", sol.stats);
        for (i, &t) in times.iter().enumerate() {
            let e = (sol.state(i)[0] - exact(t)).abs();
            assert!(e < 1e-5, "t = {t}: error {e}");
        }
    }

    /// The same problem with the switch on (the default) and λ = 10⁴ or 10⁶: it is
    /// detected as stiff and finished by Rodas4 in far fewer steps, and the
    /// answer (non-autonomous, so `f_t` matters) is as right. (At λ = 500 the
    /// controller holds the explicit steps at `h·λ ≈ 2.34`, under the 3.25 of the
    /// test, so that problem is never handed over.)
    #[test]
    fn stiff_problem_is_handed_to_rodas_and_stays_accurate() {
        let times: Vec<f64> = (0..=20).map(|i| i as f64 * 0.1).collect();
        for lambda in [1e4, 1e6] {
            let sol = relaxation(lambda, Rk45::new(1e-6, 1e-9).unwrap(), &times);
            assert!(sol.stats.stiff_steps > 0, "λ = {lambda}: {:?}", sol.stats);
            assert!(
                sol.stats.accepted + sol.stats.rejected < 200,
                "λ = {lambda}: {:?}",
                sol.stats
            );
            for (i, &t) in times.iter().enumerate() {
                let e = (sol.state(i)[0] - relaxation_exact(lambda, t)).abs();
                assert!(e < 1e-5, "λ = {lambda}, t = {t}: error {e}");
            }
        }
        // A problem that never looks stiff is not handed over.
        let sol = Rk45::new(1e-9, 1e-12)
            .unwrap()
            .solve(exp_rhs, 0.0, &[1.0], &[0.0, 1.0, 5.0])
            .unwrap();
        assert_eq!(sol.stats.stiff_steps, 0, "{:?}", sol.stats);
    }

    /// An autonomous stiff problem (`y₀' = −λ (y₀ − y₁)`, `y₁' = −y₁`, λ = 10⁴ and
    /// 10⁶) solved as such: the same values bit for bit as [`Rk45::solve`], with
    /// two evaluations fewer per Rodas4 linearisation (one per accepted step).
    #[test]
    fn autonomous_solve_gives_the_same_values_with_fewer_evaluations() {
        let times: Vec<f64> = (0..=20).map(|i| i as f64 * 0.5).collect();
        for lambda in [1e4, 1e6] {
            let f = |_t: f64, y: &[f64], dy: &mut [f64]| {
                dy[0] = -lambda * (y[0] - y[1]);
                dy[1] = -y[1];
            };
            let solver = Rk45::new(1e-6, 1e-9).unwrap();
            let general = solver.solve(f, 0.0, &[0.0, 1.0], &times).unwrap();
            let autonomous = solver
                .solve_autonomous(f, 0.0, &[0.0, 1.0], &times)
                .unwrap();
            assert!(
                general.stats.stiff_steps > 0,
                "λ = {lambda}: {:?}",
                general.stats
            );
            for i in 0..times.len() {
                for (a, b) in general.state(i).iter().zip(autonomous.state(i)) {
                    assert_eq!(a.to_bits(), b.to_bits(), "λ = {lambda}, output {i}");
                }
            }
            let (g, a) = (general.stats, autonomous.stats);
            assert_eq!(
                (g.accepted, g.rejected, g.stiff_steps),
                (a.accepted, a.rejected, a.stiff_steps)
            );
            assert_eq!(
                g.evaluations - a.evaluations,
                2 * g.stiff_steps,
                "λ = {lambda}"
            );
        }
    }

    /// Rodas4 alone at fixed steps (loose tolerances accept every step, and the
    /// outputs at every step make it land there): the largest global error must
    /// fall like h⁴, on a non-autonomous problem (`y' = y cos t`, `y = e^{sin t}`) and
    /// a nonlinear one (`y' = −y²`, `y = 1/(1 + t)`).
    #[test]
    fn rodas_has_order_four() {
        type Rhs = fn(f64, &[f64], &mut [f64]);
        type Exact = fn(f64) -> f64;
        let cases: [(Rhs, Exact); 2] = [
            (|t, y, dy| dy[0] = y[0] * t.cos(), |t| t.sin().exp()),
            (|_t, y, dy| dy[0] = -y[0] * y[0], |t| 1.0 / (1.0 + t)),
        ];
        for (k, (f, exact)) in cases.into_iter().enumerate() {
            let err_with = |steps: usize| {
                let times: Vec<f64> = (1..=steps).map(|i| 2.0 * i as f64 / steps as f64).collect();
                let mut f = f;
                let (values, stats) = rodas::finish(
                    &Rk45::new(0.5, 1.0).unwrap(),
                    &mut f,
                    rodas::Handover {
                        autonomous: false,
                        t: 0.0,
                        y: vec![exact(0.0)],
                        h: 2.0 / steps as f64,
                        t_out: &times,
                        next: 0,
                        values: Vec::new(),
                        stats: Stats::default(),
                    },
                )
                .unwrap();
                assert_eq!((stats.accepted, stats.rejected), (steps, 0));
                // The largest error over the outputs: at one time the local
                // errors (of either sign) can cancel.
                times
                    .iter()
                    .zip(&values)
                    .map(|(&t, v)| (v - exact(t)).abs())
                    .fold(0.0, f64::max)
            };
            let (e1, e2) = (err_with(20), err_with(40));
            let order = (e1 / e2).log2();
            assert!(
                (3.6..4.6).contains(&order),
                "case {k}: order {order} ({e1}, {e2})"
            );
        }
    }

    #[test]
    fn system_and_outputs_at_start() {
        // Harmonic oscillator: y = (cos t, −sin t).
        let times = [0.0, 0.0, 1.0, std::f64::consts::PI];
        let sol = Rk45::new(1e-10, 1e-12)
            .unwrap()
            .solve(
                |_t, y, dy| {
                    dy[0] = y[1];
                    dy[1] = -y[0];
                },
                0.0,
                &[1.0, 0.0],
                &times,
            )
            .unwrap();
        assert_eq!(sol.state(0), &[1.0, 0.0]);
        assert_eq!(sol.state(1), &[1.0, 0.0]);
        assert!((sol.state(2)[0] - 1f64.cos()).abs() < 1e-8);
        assert!((sol.state(3)[0] + 1.0).abs() < 1e-8);
        assert!(sol.state(3)[1].abs() < 1e-8);
        let c: Vec<f64> = sol.component(0).collect();
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(Rk45::new(f64::NAN, 1e-9).is_err());
        assert!(Rk45::new(0.0, 1e-9).is_err());
        assert!(Rk45::new(1e-6, -1.0).is_err());
        let r = Rk45::new(1e-6, 1e-9).unwrap();
        let e = r.solve(exp_rhs, 0.0, &[1.0], &[1.0, 0.5]).unwrap_err();
        assert!(e.to_string().contains("non-decreasing"), "{e}");
        let e = r.solve(exp_rhs, 1.0, &[1.0], &[0.5]).unwrap_err();
        assert!(e.to_string().contains("before"), "{e}");
        let e = r.solve(exp_rhs, 0.0, &[f64::NAN], &[0.5]).unwrap_err();
        assert!(e.to_string().contains("finite"), "{e}");
        // y' = y², y(0) = 1 blows up at t = 1.
        let e = r
            .solve(|_t, y, dy| dy[0] = y[0] * y[0], 0.0, &[1.0], &[2.0])
            .unwrap_err();
        assert!(matches!(e, ModelError::Integration { .. }), "{e}");
        let e = r
            .with_max_steps(10)
            .solve(exp_rhs, 0.0, &[1.0], &[100.0])
            .unwrap_err();
        assert!(e.to_string().contains("too many steps"), "{e}");
    }
}
