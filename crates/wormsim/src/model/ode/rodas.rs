//! Rodas4: a linearly implicit (Rosenbrock) method of order 4 with an embedded
//! order-3 error estimate, for the stretches of an integration that
//! [`Rk45`](super::Rk45) finds stiff.
//!
//! # Formula
//! With `J = ∂f/∂y (t, y)` and `f_t = ∂f/∂t (t, y)` at the start of a step of size
//! `h`, each of the six stages solves the linear system
//!
//! ```text
//! (I/(h γ) − J) K_i = f(t + α_i h, y + Σ_{j<i} a_ij K_j) + Σ_{j<i} (c_ij / h) K_j + h γ_i f_t
//! ```
//!
//! and the new value is `y₁ = y + Σ m_i K_i`. The method is stiffly accurate
//! (`m_i = a_6i`, `m_6 = 1`), so `y₁` is the last stage's point plus `K_6`, and
//! `K_6` is the local error estimate. The step is accepted when
//! `sqrt(mean((K_6,i / sc_i)²)) ≤ 1` with [`Rk45`](super::Rk45)'s scale
//! `sc_i = atol + rtol · max(|y_i|, |y₁_i|)`; the next size is
//! `h · min(6, max(0.2, 0.9 ‖e‖^(−1/4)))` (no growth right after a rejection).
//! Rodas4 is L-stable, so its step size is limited by accuracy alone, however
//! fast the solution's decaying modes are.
//!
//! `J` is a forward difference with increments `sqrt(ε · max(10⁻⁵, |y_j|))`
//! (Hairer & Wanner's choice in their codes), `f_t` a central one with increment
//! `ε^(1/3) · max(|t|, h)` (exactly 0 for an autonomous `f`, so for one solved by
//! [`Rk45::solve_autonomous`] it is set to 0 without the two evaluations); the
//! systems are solved by Gaussian elimination with partial pivoting (unrolled
//! for 2–4 equations), so the cost is meant for small systems such as the
//! compartmental models'. Steps land on every output time. (RODAS's
//! continuous extension of order 3 was tried: on `y' = −10⁶(y − cos t)` with
//! steps of 0.1–0.4 its values between steps were off by 10⁻⁵–10⁻³ while the
//! steps' own errors were 10⁻⁹; a cubic Hermite interpolant was worse, as
//! `f(t + h, y₁)` magnifies `y₁`'s error by the stiffness.)
//!
//! Sources: E. Hairer & G. Wanner, *Solving Ordinary Differential Equations II:
//! Stiff and Differential-Algebraic Problems*, 2nd ed., Springer 1996, §IV.7
//! (the method RODAS and its coefficients); the coefficients below
//! are in the transformed form `a_ij, c_ij, m_i, γ_i` of A. Sandu et al.,
//! "Benchmarking stiff ODE solvers for atmospheric chemistry problems II:
//! Rosenbrock solvers", *Atmos. Environ.* 31 (1997) 3459–3472.

use super::{Controller, Rk45, Stats, check_step_size};
use crate::model::ModelError;

const STAGES: usize = 6;
/// The diagonal `γ`.
const GAMMA: f64 = 0.25;
/// Stage times `α_i`.
const ALPHA: [f64; STAGES] = [0.0, 0.386, 0.21, 0.63, 1.0, 1.0];
/// `γ_i = Σ_j γ_ij`, the weights of `f_t`.
const GAMMA_SUM: [f64; STAGES] = [0.25, -0.1043, 0.1035, -0.036_200_000_000_000_23, 0.0, 0.0];
/// `a_ij`, row `i` (stage `i + 1`), columns `j < i`.
const A: [[f64; STAGES - 1]; STAGES] = [
    [0.0; 5],
    [1.544, 0.0, 0.0, 0.0, 0.0],
    [
        0.946_678_528_081_582_6,
        0.255_701_169_898_328_4,
        0.0,
        0.0,
        0.0,
    ],
    [
        3.314_825_187_068_521,
        2.896_124_015_972_201,
        0.998_641_913_997_781_7,
        0.0,
        0.0,
    ],
    [
        1.221_224_509_226_641,
        6.019_134_481_288_629,
        12.537_083_329_320_87,
        -0.687_886_036_105_895,
        0.0,
    ],
    [
        1.221_224_509_226_641,
        6.019_134_481_288_629,
        12.537_083_329_320_87,
        -0.687_886_036_105_895,
        1.0,
    ],
];
/// `c_ij`, laid out as `A`.
const C: [[f64; STAGES - 1]; STAGES] = [
    [0.0; 5],
    [-5.6688, 0.0, 0.0, 0.0, 0.0],
    [
        -2.430_093_356_833_875,
        -0.206_359_915_709_191_5,
        0.0,
        0.0,
        0.0,
    ],
    [
        -0.107_352_905_815_137_5,
        -9.594_562_251_023_355,
        -20.470_286_148_096_16,
        0.0,
        0.0,
    ],
    [
        7.496_443_313_967_647,
        -10.246_804_314_643_52,
        -33.999_903_528_199_05,
        11.708_908_932_061_6,
        0.0,
    ],
    [
        8.083_246_795_921_522,
        -7.981_132_988_064_893,
        -31.521_594_328_743_71,
        16.319_305_431_231_36,
        -6.058_818_238_834_054,
    ],
];
/// `m_i`: `y₁ = y + Σ m_i K_i`.
const M: [f64; STAGES] = [
    1.221_224_509_226_641,
    6.019_134_481_288_629,
    12.537_083_329_320_87,
    -0.687_886_036_105_895,
    1.0,
    1.0,
];

/// Order 4(3): `q = 1/4`; growth up to 6× a step.
const RODAS4: Controller = Controller {
    q: 0.25,
    fac_max: 6.0,
};

/// Where an integration stands when it is handed over: the time, the state, a
/// proposed step size, and the outputs served so far; and whether `f` is
/// autonomous (then `f_t` is 0 and not computed).
pub(super) struct Handover<'a> {
    pub autonomous: bool,
    pub t: f64,
    pub y: Vec<f64>,
    pub h: f64,
    pub t_out: &'a [f64],
    pub next: usize,
    pub values: Vec<f64>,
    pub stats: Stats,
}

/// Integrate from the hand-over point to the last output time with Rodas4,
/// serving the remaining outputs. Returns the values of all outputs and the
/// updated work counters.
pub(super) fn finish<F>(
    settings: &Rk45,
    f: &mut F,
    state: Handover<'_>,
) -> Result<(Vec<f64>, Stats), ModelError>
where
    F: FnMut(f64, &[f64], &mut [f64]),
{
    let Handover {
        autonomous,
        mut t,
        mut y,
        mut h,
        t_out,
        mut next,
        mut values,
        mut stats,
    } = state;
    let n = y.len();
    // Outputs at the hand-over time itself were served by the caller.
    let mut ws = Work::new(n);
    let mut y1 = vec![0.0; n];
    let mut rejected_last = false;
    let mut fresh = true; // J, f_t and f(t, y) must be computed at (t, y)
    while next < t_out.len() {
        let target = t_out[next];
        if target <= t {
            values.extend_from_slice(&y);
            next += 1;
            continue;
        }
        settings.check_budget(&stats, t)?;
        if fresh {
            ws.linearise(f, t, h.min(settings.h_max), &y, autonomous, &mut stats);
            fresh = false;
        }
        h = h.min(settings.h_max);
        // Land exactly on the next output time.
        let remaining = target - t;
        let clipped = h >= remaining || remaining - h < 1e-12 * remaining;
        let step = if clipped { remaining } else { h };
        check_step_size(step, t)?;
        let e = if ws.factor(step) {
            ws.stages(f, t, &y, step, &mut y1, &mut stats);
            settings.error_norm(&y, &y1, &ws.k[STAGES - 1])
        } else {
            f64::INFINITY // singular iteration matrix: try a smaller step
        };
        if !e.is_finite() || e > 1.0 {
            stats.rejected += 1;
            h = step * RODAS4.after_rejection(e);
            rejected_last = true;
            continue;
        }
        stats.accepted += 1;
        stats.stiff_steps += 1;
        t = if clipped { target } else { t + step };
        std::mem::swap(&mut y, &mut y1);
        fresh = true;
        let fac = RODAS4.after_acceptance(e, rejected_last);
        rejected_last = false;
        // A step cut short to land on an output says little about the next one.
        h = if clipped {
            (step * fac).max(h)
        } else {
            step * fac
        };
        while next < t_out.len() && t_out[next] <= t {
            values.extend_from_slice(&y);
            next += 1;
        }
    }
    Ok((values, stats))
}

/// The linearisation at the step's start and the stage storage.
struct Work {
    n: usize,
    f0: Vec<f64>,
    ft: Vec<f64>,
    /// `J`, row-major.
    jac: Vec<f64>,
    /// LU factors of `I/(h γ) − J`, row-major, and the row permutation.
    lu: Vec<f64>,
    perm: Vec<usize>,
    k: [Vec<f64>; STAGES],
    ys: Vec<f64>,
    fs: Vec<f64>,
    rhs: Vec<f64>,
    tmp: Vec<f64>,
}

impl Work {
    fn new(n: usize) -> Work {
        let z = || vec![0.0; n];
        Work {
            n,
            f0: z(),
            ft: z(),
            jac: vec![0.0; n * n],
            lu: vec![0.0; n * n],
            perm: (0..n).collect(),
            k: [z(), z(), z(), z(), z(), z()],
            ys: z(),
            fs: z(),
            rhs: z(),
            tmp: z(),
        }
    }

    /// `f(t, y)`, and `J` and `f_t` by differences (`h`: the proposed step);
    /// `f_t = 0` without evaluations if `autonomous` (the central difference
    /// of an `f` that ignores `t` is exactly 0, so the steps are the same).
    #[allow(clippy::needless_range_loop)] // columns of J, read best with indices
    fn linearise<F>(
        &mut self,
        f: &mut F,
        t: f64,
        h: f64,
        y: &[f64],
        autonomous: bool,
        stats: &mut Stats,
    ) where
        F: FnMut(f64, &[f64], &mut [f64]),
    {
        let n = self.n;
        f(t, y, &mut self.f0);
        self.ys.copy_from_slice(y);
        for j in 0..n {
            let d = (f64::EPSILON * y[j].abs().max(1e-5)).sqrt();
            self.ys[j] = y[j] + d;
            let d = self.ys[j] - y[j]; // the increment actually represented
            f(t, &self.ys, &mut self.fs);
            for i in 0..n {
                self.jac[i * n + j] = (self.fs[i] - self.f0[i]) / d;
            }
            self.ys[j] = y[j];
        }
        stats.evaluations += n + 1;
        if autonomous {
            self.ft.fill(0.0);
            return;
        }
        // f_t by a central difference on the scale of t or of the step.
        let dt = f64::EPSILON.cbrt() * t.abs().max(h);
        let (lo, hi) = (t - dt, t + dt);
        f(hi, y, &mut self.fs);
        f(lo, y, &mut self.ft);
        for i in 0..n {
            self.ft[i] = (self.fs[i] - self.ft[i]) / (hi - lo);
        }
        stats.evaluations += 2;
    }

    /// Factor `I/(h γ) − J`; `false` if it is singular to working precision.
    fn factor(&mut self, h: f64) -> bool {
        let n = self.n;
        let diag = 1.0 / (h * GAMMA);
        for i in 0..n {
            for j in 0..n {
                self.lu[i * n + j] = -self.jac[i * n + j];
            }
            self.lu[i * n + i] += diag;
            self.perm[i] = i;
        }
        for c in 0..n {
            let p = (c..n)
                .max_by(|&a, &b| {
                    self.lu[a * n + c]
                        .abs()
                        .total_cmp(&self.lu[b * n + c].abs())
                })
                .unwrap_or(c);
            let pivot = self.lu[p * n + c];
            if !(pivot.is_finite() && pivot != 0.0) {
                return false;
            }
            if p != c {
                for j in 0..n {
                    self.lu.swap(p * n + j, c * n + j);
                }
                self.perm.swap(p, c);
            }
            for r in c + 1..n {
                let l = self.lu[r * n + c] / pivot;
                self.lu[r * n + c] = l;
                for j in c + 1..n {
                    self.lu[r * n + j] -= l * self.lu[c * n + j];
                }
            }
        }
        true
    }

    /// The six stages of one step of size `h`; writes `y₁` (the error estimate
    /// is left in `k[5]`).
    #[allow(clippy::needless_range_loop)] // the stage sums read best with indices
    fn stages<F>(&mut self, f: &mut F, t: f64, y: &[f64], h: f64, y1: &mut [f64], stats: &mut Stats)
    where
        F: FnMut(f64, &[f64], &mut [f64]),
    {
        let n = self.n;
        for s in 0..STAGES {
            if s == 0 {
                self.fs.copy_from_slice(&self.f0);
            } else {
                for i in 0..n {
                    let mut v = y[i];
                    for j in 0..s {
                        v += A[s][j] * self.k[j][i];
                    }
                    self.ys[i] = v;
                }
                f(t + ALPHA[s] * h, &self.ys, &mut self.fs);
                stats.evaluations += 1;
            }
            for i in 0..n {
                let mut v = self.fs[i] + h * GAMMA_SUM[s] * self.ft[i];
                for j in 0..s {
                    v += C[s][j] / h * self.k[j][i];
                }
                self.rhs[i] = v;
            }
            lu_solve(n, &self.lu, &self.perm, &self.rhs, &mut self.tmp);
            self.k[s].copy_from_slice(&self.tmp);
        }
        for i in 0..n {
            let mut v = y[i];
            for s in 0..STAGES {
                v += M[s] * self.k[s][i];
            }
            y1[i] = v;
        }
    }
}

/// Solve `LU x = P b` with the factors of [`Work::factor`]: `b` in the original
/// row order, `x` written to `out`. The compartmental models' sizes, 2 to 4, go
/// to [`lu_solve_fixed`].
fn lu_solve(n: usize, lu: &[f64], perm: &[usize], b: &[f64], out: &mut [f64]) {
    match n {
        2 => lu_solve_fixed::<2>(lu, perm, b, out),
        3 => lu_solve_fixed::<3>(lu, perm, b, out),
        4 => lu_solve_fixed::<4>(lu, perm, b, out),
        _ => lu_solve_any(n, lu, perm, b, out),
    }
}

/// [`lu_solve_any`] for a size known at compile time: the same operations in
/// the same order, unrolled, on a stack copy of `x`. (One loop for both, with
/// `n` a constant in each inlined arm, was 3–5% slower on a stiff two-factor
/// fit than this copy, which was 7% faster than the general loop.)
fn lu_solve_fixed<const N: usize>(lu: &[f64], perm: &[usize], b: &[f64], out: &mut [f64]) {
    let lu: &[f64] = &lu[..N * N];
    let (perm, b) = (&perm[..N], &b[..N]);
    let mut x = [0.0; N];
    for i in 0..N {
        let mut s = b[perm[i]];
        for j in 0..i {
            s -= lu[i * N + j] * x[j];
        }
        x[i] = s;
    }
    for i in (0..N).rev() {
        let mut s = x[i];
        for j in i + 1..N {
            s -= lu[i * N + j] * x[j];
        }
        x[i] = s / lu[i * N + i];
    }
    out[..N].copy_from_slice(&x);
}

/// [`lu_solve`] for any size.
fn lu_solve_any(n: usize, lu: &[f64], perm: &[usize], b: &[f64], out: &mut [f64]) {
    for i in 0..n {
        let mut s = b[perm[i]];
        for j in 0..i {
            s -= lu[i * n + j] * out[j];
        }
        out[i] = s;
    }
    for i in (0..n).rev() {
        let mut s = out[i];
        for j in i + 1..n {
            s -= lu[i * n + j] * out[j];
        }
        out[i] = s / lu[i * n + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unrolled solves of sizes 2–4 give the general loop's answers bit for
    /// bit (the same operations in the same order), on factored matrices with
    /// row swaps; and the answers solve the systems.
    #[test]
    fn fixed_size_solves_equal_the_general_one() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            // xorshift64*: any spread of values will do.
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for n in 2..=4 {
            for _ in 0..200 {
                let mut w = Work::new(n);
                for v in w.jac.iter_mut() {
                    *v = 10.0 * next();
                }
                let h = 0.3 + next();
                assert!(w.factor(h));
                let b: Vec<f64> = (0..n).map(|_| next()).collect();
                let (mut fixed, mut any) = (vec![0.0; n], vec![0.0; n]);
                lu_solve(n, &w.lu, &w.perm, &b, &mut fixed);
                lu_solve_any(n, &w.lu, &w.perm, &b, &mut any);
                for (x, y) in fixed.iter().zip(&any) {
                    assert_eq!(x.to_bits(), y.to_bits(), "n = {n}");
                }
                // (I/(hγ) − J) x = b, checked against the unfactored matrix.
                for i in 0..n {
                    let row = &w.jac[i * n..(i + 1) * n];
                    let jx: f64 = row.iter().zip(&fixed).map(|(a, x)| a * x).sum();
                    let ax = fixed[i] / (h * GAMMA) - jx;
                    assert!(
                        (ax - b[i]).abs() < 1e-9,
                        "n = {n}, row {i}: {ax} against {}",
                        b[i]
                    );
                }
            }
        }
    }
}
