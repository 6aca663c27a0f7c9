//! The SI and SIR models of Kermack and McKendrick, as ODEs.
//!
//! # Formula
//! SI (every infected host stays infectious):
//!
//! ```text
//! dS/dt = −β S I / N,     dI/dt = β S I / N,      S + I = N,
//! ```
//!
//! with closed form `I(t) = N / (1 + ((N − I₀)/I₀) e^{−βt})`: the RCS logistic with
//! `K = β` and `T = ln((N − I₀)/I₀) / β`. Cumulative infected = `I`.
//!
//! SIR (infected hosts are removed at rate `γ`: cleaned, patched or unplugged):
//!
//! ```text
//! dS/dt = −β S I / N,     dI/dt = β S I / N − γ I,     dR/dt = γ I,
//! ```
//!
//! with `S + I + R = N` conserved and cumulative infected `I + R = N − S`. From
//! `dS/dR = −(β/γ) S / N` the final size satisfies
//! `S(∞) = S(0) exp(−(β/γ) (N − S(∞)) / N)` when `R(0) = 0`.
//!
//! Rates are per capita [1/h] (frequency-dependent mixing): `β` is the rate at which
//! one infected host infects others in a fully susceptible population, comparable
//! with the RCS `K`.
//!
//! Source: W. O. Kermack & A. G. McKendrick, "A contribution to the mathematical
//! theory of epidemics", *Proc. R. Soc. A* 115 (1927) 700–721; for worms,
//! Staniford, Paxson & Weaver (USENIX Security 2002, §2) and Zou, Gong & Towsley
//! (ACM CCS 2002, §4) use the same equations.

use super::{Compartmental, ModelError, Rcs, check};

/// The SI model.
///
/// # Examples
/// ```
/// use wormsim::model::Si;
/// let m = Si::new(1.8, 360_000.0, 1.0).unwrap();
/// assert_eq!(m.closed_form(0.0), 1.0);
/// assert!(m.closed_form(24.0) > 359_999.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Si {
    beta: f64,
    n: f64,
    i0: f64,
}

impl Si {
    /// `beta`: infection rate `β` [1/h]; `n`: hosts `N`; `i0`: infected at `t = 0`.
    ///
    /// # Errors
    /// [`ModelError::Parameter`] unless `β >= 0`, `N > 0`, `0 < I₀ <= N`, all finite.
    pub fn new(beta: f64, n: f64, i0: f64) -> Result<Si, ModelError> {
        let beta = check::non_negative("si", "beta", beta)?;
        let n = check::positive("si", "N", n)?;
        let i0 = check::initial("si", "I0", i0, n)?;
        Ok(Si { beta, n, i0 })
    }

    /// `β` [1/h].
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// `N` [hosts].
    pub fn n(&self) -> f64 {
        self.n
    }

    /// `I₀` [hosts].
    pub fn i0(&self) -> f64 {
        self.i0
    }

    /// The closed-form solution `I(t)`.
    pub fn closed_form(&self, t: f64) -> f64 {
        let c = (self.n - self.i0) / self.i0;
        self.n / (1.0 + c * (-self.beta * t).exp())
    }

    /// The equivalent RCS curve (`K = β`, `T = ln((N − I₀)/I₀)/β`).
    ///
    /// # Errors
    /// [`ModelError::Parameter`] when `β = 0` or `I₀ = N` (no logistic midpoint).
    pub fn as_rcs(&self) -> Result<Rcs, ModelError> {
        let t = ((self.n - self.i0) / self.i0).ln() / self.beta;
        Rcs::new(self.beta, t, self.n)
    }
}

impl Compartmental for Si {
    fn compartments(&self) -> &'static [&'static str] {
        &["S", "I"]
    }

    fn initial(&self) -> Vec<f64> {
        vec![self.n - self.i0, self.i0]
    }

    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let inf = self.beta * y[0] * y[1] / self.n;
        dy[0] = -inf;
        dy[1] = inf;
    }

    fn cumulative(&self, y: &[f64]) -> f64 {
        y[1]
    }

    fn autonomous(&self) -> bool {
        true
    }
}

/// The SIR model.
///
/// # Examples
/// ```
/// use wormsim::model::Sir;
/// let m = Sir::new(2.0, 0.5, 1000.0, 1.0).unwrap();
/// let s_inf = m.final_susceptible();
/// assert!(s_inf > 0.0 && s_inf < 100.0); // R0 = 4 leaves about 2% untouched
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sir {
    beta: f64,
    gamma: f64,
    n: f64,
    i0: f64,
}

impl Sir {
    /// `beta`: infection rate `β` [1/h]; `gamma`: removal rate `γ` [1/h];
    /// `n`: hosts `N`; `i0`: infected at `t = 0` (with `R(0) = 0`).
    ///
    /// # Errors
    /// [`ModelError::Parameter`] unless `β, γ >= 0`, `N > 0`, `0 < I₀ <= N`, all
    /// finite.
    pub fn new(beta: f64, gamma: f64, n: f64, i0: f64) -> Result<Sir, ModelError> {
        let beta = check::non_negative("sir", "beta", beta)?;
        let gamma = check::non_negative("sir", "gamma", gamma)?;
        let n = check::positive("sir", "N", n)?;
        let i0 = check::initial("sir", "I0", i0, n)?;
        Ok(Sir { beta, gamma, n, i0 })
    }

    /// `β` [1/h].
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// `γ` [1/h].
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// `N` [hosts].
    pub fn n(&self) -> f64 {
        self.n
    }

    /// Basic reproduction number `β / γ` (infinite when `γ = 0`).
    pub fn r0(&self) -> f64 {
        self.beta / self.gamma
    }

    /// `S(∞)`: the root in `(0, S(0)]` of
    /// `s = S(0) exp(−(β/γ)(N − s)/N)`, by bisection. With `γ = 0` every host is
    /// eventually infected (`0` unless `β = 0`).
    pub fn final_susceptible(&self) -> f64 {
        let s0 = self.n - self.i0;
        if self.beta == 0.0 {
            return s0;
        }
        if self.gamma == 0.0 {
            return 0.0;
        }
        let rho = self.beta / self.gamma;
        let g = |s: f64| s - s0 * (-rho * (self.n - s) / self.n).exp();
        let (mut lo, mut hi) = (0.0, s0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if g(mid) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo <= 1e-15 * s0.max(1.0) {
                break;
            }
        }
        0.5 * (lo + hi)
    }
}

impl Compartmental for Sir {
    fn compartments(&self) -> &'static [&'static str] {
        &["S", "I", "R"]
    }

    fn initial(&self) -> Vec<f64> {
        vec![self.n - self.i0, self.i0, 0.0]
    }

    fn rhs(&self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let inf = self.beta * y[0] * y[1] / self.n;
        let rem = self.gamma * y[1];
        dy[0] = -inf;
        dy[1] = inf - rem;
        dy[2] = rem;
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
    use crate::model::trajectory;

    #[test]
    fn construction_tables() {
        assert!(Si::new(1.0, 10.0, 10.0).is_ok());
        assert!(Si::new(0.0, 10.0, 1.0).is_ok());
        for (b, n, i0) in [
            (-1.0, 10.0, 1.0),
            (f64::NAN, 10.0, 1.0),
            (1.0, 0.0, 1.0),
            (1.0, 10.0, 0.0),
            (1.0, 10.0, 11.0),
            (1.0, f64::INFINITY, 1.0),
        ] {
            assert!(Si::new(b, n, i0).is_err(), "{b} {n} {i0}");
        }
        assert!(Sir::new(1.0, -0.1, 10.0, 1.0).is_err());
        assert!(Sir::new(1.0, f64::NAN, 10.0, 1.0).is_err());
        let e = Sir::new(1.0, 0.1, 10.0, 20.0).unwrap_err().to_string();
        assert!(e.starts_with("sir: I0 = 20: must be"), "{e}");
    }

    /// The SI ODE against its closed form, to a tight tolerance, over the whole
    /// outbreak of a CRv2-sized population.
    #[test]
    fn si_ode_matches_closed_form_logistic() {
        let m = Si::new(1.8, 360_000.0, 1.0).unwrap();
        let times: Vec<f64> = (0..=240).map(|i| i as f64 * 0.1).collect();
        let sol = trajectory(&m, &times, &Rk45::new(1e-11, 1e-10).unwrap()).unwrap();
        for (i, &t) in times.iter().enumerate() {
            let exact = m.closed_form(t);
            let got = m.cumulative(sol.state(i));
            assert!(
                (got - exact).abs() <= 1e-8 * exact.max(1.0),
                "t = {t}: {got} vs {exact}"
            );
            let s = sol.state(i);
            assert!((s[0] + s[1] - 360_000.0).abs() < 1e-6);
        }
        let rcs = m.as_rcs().unwrap();
        for t in [0.0, 3.0, 7.1, 12.0] {
            assert!((rcs.cumulative(t) / m.closed_form(t) - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn sir_conserves_hosts_and_reaches_the_final_size() {
        for (beta, gamma) in [(2.0, 0.5), (1.8, 1.2), (1.0, 0.1)] {
            let m = Sir::new(beta, gamma, 10_000.0, 5.0).unwrap();
            let times: Vec<f64> = (0..=500).map(|i| i as f64 * 2.0).collect();
            let sol = trajectory(&m, &times, &Rk45::new(1e-11, 1e-10).unwrap()).unwrap();
            for i in 0..times.len() {
                let s = sol.state(i);
                assert!((s.iter().sum::<f64>() - 10_000.0).abs() < 1e-7, "{s:?}");
                assert!(s.iter().all(|&v| v > -1e-9));
            }
            let last = sol.state(times.len() - 1);
            assert!(last[1] < 1e-6, "epidemic over: I = {}", last[1]);
            let s_inf = m.final_susceptible();
            assert!(
                (last[0] - s_inf).abs() < 1e-6 * 10_000.0,
                "β {beta} γ {gamma}: S(∞) {} vs final-size relation {s_inf}",
                last[0]
            );
            // The relation itself.
            let rho = beta / gamma;
            let rhs = (10_000.0 - 5.0) * (-rho * (10_000.0 - s_inf) / 10_000.0).exp();
            assert!((s_inf - rhs).abs() < 1e-9 * 10_000.0);
        }
    }

    #[test]
    fn sir_with_no_removal_is_si() {
        let si = Si::new(1.3, 5000.0, 2.0).unwrap();
        let sir = Sir::new(1.3, 0.0, 5000.0, 2.0).unwrap();
        let times = [0.0, 2.0, 5.0, 9.0];
        let r = Rk45::new(1e-10, 1e-9).unwrap();
        let a = trajectory(&sir, &times, &r).unwrap();
        for (i, &t) in times.iter().enumerate() {
            assert!((sir.cumulative(a.state(i)) - si.closed_form(t)).abs() < 1e-5);
        }
        assert_eq!(sir.final_susceptible(), 0.0);
    }
}
