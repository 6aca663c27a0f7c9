//! The two-factor worm model of Zou, Gong and Towsley.
//!
//! Two factors slow a Kermack–McKendrick epidemic: (1) countermeasures remove
//! infectious hosts (`R`, rate `γ`) and immunise susceptible ones (`Q`, at a rate
//! that grows with the number of hosts ever infected), and (2) congestion caused
//! by the worm's own traffic lowers the infection rate as `I` grows.
//!
//! # Formula
//! ```text
//! β(t)  = β₀ (1 − I/N)^η
//! dS/dt = −β(t) S I / N − dQ/dt
//! dI/dt =  β(t) S I / N − dR/dt
//! dR/dt =  γ I
//! dQ/dt =  μ S (I + R) / N
//! ```
//! with `N = S + I + R + Q` conserved; the cumulative number of hosts ever
//! infected is `J = I + R` (what a telescope's cumulative count measures).
//!
//! Units: wormsim writes the rates per capita, `β₀` and `μ` in [1/h], so that `β₀`
//! compares directly with the RCS `K`. Zou et al. write the same terms as
//! `β₀' S I` and `μ' S J` with per-pair rates, i.e. `β₀' = β₀ / N`, `μ' = μ / N`
//! (their example values `β₀' = 0.8/N`, `μ' = 0.06/N` are `β₀ = 0.8`, `μ = 0.06`
//! here). `γ` [1/h] and `η` [–] are unchanged.
//!
//! Source: C. C. Zou, W. Gong, D. Towsley, "Code Red Worm Propagation Modeling and
//! Analysis", ACM CCS 2002, pp. 138–147, §5 ("two-factor worm model").
//!
//! **Verification status.** `shared/reference/codered.md` §4.3 marks these
//! equations and the example parameters as [U] (written from memory; the paper's
//! body was not readable). What was verified for this implementation: the paper's
//! abstract (two factors — dynamic countermeasures by ISPs and users, and an
//! infection rate slowed by congestion — on a Kermack–McKendrick base) matches the
//! structure above; the equations are internally consistent (they conserve
//! `S + I + R + Q`, and `dI/dt = β(t)[N − R − I − Q] I / N − dR/dt`, the form quoted
//! in course notes, follows from them); and with `γ = μ = η = 0` they reduce to
//! the SI model (tested). The exact form of `dQ/dt` (whether it uses `I + R` or
//! `I`) and the parameter values were **not** checked against the paper.

use super::{Compartmental, ModelError, check};

/// The two-factor model.
///
/// # Examples
/// ```
/// use wormsim::model::{TwoFactor, trajectory, Compartmental};
/// use wormsim::model::ode::Rk45;
/// // Zou et al.'s example values (unverified, see the module docs).
/// let m = TwoFactor::new(0.8, 0.05, 0.06, 3.0, 1_000_000.0, 1.0).unwrap();
/// let sol = trajectory(&m, &[0.0, 40.0], &Rk45::new(1e-9, 1e-6).unwrap()).unwrap();
/// let y = sol.state(1);
/// assert!((y.iter().sum::<f64>() - 1_000_000.0).abs() < 1e-3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TwoFactor {
    beta0: f64,
    gamma: f64,
    mu: f64,
    eta: f64,
    n: f64,
    i0: f64,
}

impl TwoFactor {
    /// `beta0`: initial infection rate `β₀` [1/h]; `gamma`: removal rate of
    /// infectious hosts `γ` [1/h]; `mu`: immunisation rate `μ` [1/h]; `eta`:
    /// congestion exponent `η` [–]; `n`: hosts `N`; `i0`: infected at `t = 0`
    /// (with `R(0) = Q(0) = 0`).
    ///
    /// # Errors
    /// [`ModelError::Parameter`] unless `β₀, γ, μ, η >= 0`, `N > 0`,
    /// `0 < I₀ <= N`, all finite.
    pub fn new(
        beta0: f64,
        gamma: f64,
        mu: f64,
        eta: f64,
        n: f64,
        i0: f64,
    ) -> Result<TwoFactor, ModelError> {
        let beta0 = check::non_negative("two-factor", "beta0", beta0)?;
        let gamma = check::non_negative("two-factor", "gamma", gamma)?;
        let mu = check::non_negative("two-factor", "mu", mu)?;
        let eta = check::non_negative("two-factor", "eta", eta)?;
        let n = check::positive("two-factor", "N", n)?;
        let i0 = check::initial("two-factor", "I0", i0, n)?;
        Ok(TwoFactor {
            beta0,
            gamma,
            mu,
            eta,
            n,
            i0,
        })
    }

    /// `N` [hosts].
    pub fn n(&self) -> f64 {
        self.n
    }

    /// The congested infection rate `β(t) = β₀ (1 − I/N)^η` [1/h] at `I`.
    ///
    /// Computed as `β₀ exp(η ln(1 − I/N))` with `ln_1p`, which keeps the
    /// relative precision of a small `I/N`. `(1 − I/N)` rounded first would
    /// carry an absolute error of about 1e-16, which `η` multiplies: where a
    /// fit's profile search explores `η ≈ 10¹²` with `I/N ≈ 10⁻¹¹`, `powf`
    /// gave a right-hand side noisy in its fifth digit, and the solver failed
    /// after 10,000 rejected steps (`FUZZING.md`, bug 9).
    pub fn beta_at(&self, infected: f64) -> f64 {
        let r = infected / self.n;
        if self.eta == 0.0 || r <= 0.0 {
            self.beta0
        } else if r >= 1.0 {
            0.0
        } else {
            self.beta0 * (self.eta * (-r).ln_1p()).exp()
        }
    }
}

impl Compartmental for TwoFactor {
    fn compartments(&self) -> &'static [&'static str] {
        &["S", "I", "R", "Q"]
    }

    fn initial(&self) -> Vec<f64> {
        vec![self.n - self.i0, self.i0, 0.0, 0.0]
    }

    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let (s, i, r) = (y[0], y[1], y[2]);
        let inf = self.beta_at(i) * s * i / self.n;
        let dq = self.mu * s * (i + r) / self.n;
        let dr = self.gamma * i;
        dy[0] = -inf - dq;
        dy[1] = inf - dr;
        dy[2] = dr;
        dy[3] = dq;
    }

    fn cumulative(&self, y: &[f64]) -> f64 {
        y[1] + y[2]
    }

    fn autonomous(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ode::Rk45;
    use crate::model::{Si, trajectory};

    #[test]
    fn construction_table() {
        assert!(TwoFactor::new(0.8, 0.05, 0.06, 3.0, 1e6, 1.0).is_ok());
        assert!(TwoFactor::new(0.8, 0.0, 0.0, 0.0, 1e6, 1.0).is_ok());
        for bad in [
            [-0.8, 0.05, 0.06, 3.0, 1e6, 1.0],
            [0.8, -0.05, 0.06, 3.0, 1e6, 1.0],
            [0.8, 0.05, f64::NAN, 3.0, 1e6, 1.0],
            [0.8, 0.05, 0.06, -3.0, 1e6, 1.0],
            [0.8, 0.05, 0.06, 3.0, 0.0, 1.0],
            [0.8, 0.05, 0.06, 3.0, 1e6, 0.0],
            [0.8, 0.05, 0.06, 3.0, 1e6, 2e6],
        ] {
            let r = TwoFactor::new(bad[0], bad[1], bad[2], bad[3], bad[4], bad[5]);
            assert!(r.is_err(), "{bad:?}");
        }
        let e = TwoFactor::new(0.8, 0.05, 0.06, -3.0, 1e6, 1.0)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "two-factor: eta = -3: must be a finite number >= 0");
    }

    /// The stiff switch against the explicit method alone at tighter
    /// tolerances, on the parameters a fit of the flat tail of a CRv2 series
    /// reached (fast removal and steep congestion pin `I` to a quasi-steady
    /// state, so the problem is stiff): the cumulative counts agree, and the
    /// switch takes a fraction of the steps.
    #[test]
    fn stiff_parameters_agree_with_the_explicit_method_alone() {
        let m = TwoFactor::new(2.5329e11, 37.316, 18809.0, 255_161.0, 6232.4, 5.0923e-5).unwrap();
        let times: Vec<f64> = (0..=398).map(|i| i as f64 / 60.0).collect();
        let switched = trajectory(&m, &times, &Rk45::new(1e-9, 1e-8).unwrap()).unwrap();
        let explicit = trajectory(
            &m,
            &times,
            &Rk45::new(1e-11, 1e-10)
                .unwrap()
                .with_stiff_switch(false)
                .with_max_steps(10_000_000),
        )
        .unwrap();
        assert!(switched.stats.stiff_steps > 0, "{:?}", switched.stats);
        let work = |s: &crate::model::ode::Solution| s.stats.accepted + s.stats.rejected;
        assert!(
            5 * work(&switched) < work(&explicit),
            "{:?} vs {:?}",
            switched.stats,
            explicit.stats
        );
        for (i, t) in times.iter().enumerate() {
            let (a, b) = (
                m.cumulative(switched.state(i)),
                m.cumulative(explicit.state(i)),
            );
            assert!(
                (a - b).abs() <= 1e-6 * b.abs() + 1e-6,
                "t = {t} h: {a} vs {b}"
            );
        }
        // Not a flat curve: about 10 hosts by the end.
        assert!(m.cumulative(explicit.state(398)) > 5.0);
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn conserves_hosts_and_stays_non_negative() {
        let m = TwoFactor::new(0.8, 0.05, 0.06, 3.0, 1_000_000.0, 1.0).unwrap();
        let times: Vec<f64> = (0..=80).map(|i| i as f64).collect();
        let sol = trajectory(&m, &times, &Rk45::new(1e-10, 1e-6).unwrap()).unwrap();
        let mut prev_j = 0.0;
        for i in 0..times.len() {
            let y = sol.state(i);
            let total: f64 = y.iter().sum();
            assert!(
                (total - 1_000_000.0).abs() < 1e-4,
                "t {}: {total}",
                times[i]
            );
            assert!(y.iter().all(|&v| v > -1e-6), "{y:?}");
            let j = m.cumulative(y);
            assert!(j >= prev_j - 1e-6, "J must not decrease");
            prev_j = j;
        }
        // The countermeasures leave some hosts never infected.
        let last = sol.state(times.len() - 1);
        assert!(last[3] > 1000.0, "Q grows: {last:?}");
        assert!(m.cumulative(last) < 1_000_000.0 - last[3] + 1e-3);
    }

    #[test]
    fn reduces_to_si_without_the_two_factors() {
        let m = TwoFactor::new(1.8, 0.0, 0.0, 0.0, 360_000.0, 1.0).unwrap();
        let si = Si::new(1.8, 360_000.0, 1.0).unwrap();
        let times: Vec<f64> = (0..=48).map(|i| i as f64 * 0.5).collect();
        let sol = trajectory(&m, &times, &Rk45::new(1e-11, 1e-9).unwrap()).unwrap();
        for (i, &t) in times.iter().enumerate() {
            let got = m.cumulative(sol.state(i));
            let exact = si.closed_form(t);
            assert!(
                (got - exact).abs() <= 1e-8 * exact.max(1.0),
                "t {t}: {got} vs {exact}"
            );
            assert_eq!(sol.state(i)[2], 0.0);
            assert_eq!(sol.state(i)[3], 0.0);
        }
    }

    #[test]
    fn congestion_slows_the_spread() {
        let r = Rk45::new(1e-10, 1e-8).unwrap();
        let fast = TwoFactor::new(1.8, 0.0, 0.0, 0.0, 1e5, 1.0).unwrap();
        let slow = TwoFactor::new(1.8, 0.0, 0.0, 3.0, 1e5, 1.0).unwrap();
        let a = trajectory(&fast, &[8.0], &r).unwrap();
        let b = trajectory(&slow, &[8.0], &r).unwrap();
        assert!(slow.cumulative(b.state(0)) < fast.cumulative(a.state(0)));
        assert_eq!(slow.beta_at(0.0), 1.8);
        assert!((slow.beta_at(5e4) - 1.8 * 0.125).abs() < 1e-12);
    }

    /// `(1 − I/N)^η` keeps its precision where `I/N` is tiny and `η` huge
    /// (a profile search's corner): with `I/N = 1e-11` and `η = 1e12` it is
    /// `exp(η ln(1 − I/N)) = e^(−10 − 5e-11)`. Rounding `1 − I/N` first, as
    /// `powf` needs, would put an error of up to 1e-4 on it.
    #[test]
    fn congestion_factor_keeps_its_precision_for_huge_eta() {
        let m = TwoFactor::new(2.0, 0.0, 0.0, 1e12, 1e11, 1.0).unwrap();
        let want = 2.0 * (-10.0f64).exp() * (1.0 - 5e-11);
        let got = m.beta_at(1.0);
        assert!(((got - want) / want).abs() < 1e-13, "{got} vs {want}");
        let rounded = 2.0 * (1.0 - 1e-11f64).powf(1e12);
        assert!(((rounded - want) / want).abs() > 1e-9, "{rounded}");
        // The ends: no congestion at I = 0, no spread at I >= N.
        assert_eq!(m.beta_at(0.0), 2.0);
        assert_eq!(m.beta_at(1e11), 0.0);
        assert_eq!(m.beta_at(2e11), 0.0);
    }
}
