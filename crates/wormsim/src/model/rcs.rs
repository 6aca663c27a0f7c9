//! The Random Constant Spread (RCS) model: logistic growth in closed form.
//!
//! # Formula
//! With `N` vulnerable hosts, `a(t)` the infected fraction and `K` the initial
//! compromise rate (new infections per infected host per hour while almost every
//! host is vulnerable), `N da = (N a) K (1 − a) dt`, whose solution is
//!
//! ```text
//! a(t) = e^{K(t−T)} / (1 + e^{K(t−T)}),     cumulative infected C(t) = N a(t),
//! ```
//!
//! where `T` [h] fixes the time at which half the hosts are infected. The
//! infection rate `C'(t) = K N a (1 − a)` peaks at `K N / 4` at `t = T`, and the
//! early doubling time is `ln 2 / K`.
//!
//! Source: S. Staniford, V. Paxson, N. Weaver, "How to 0wn the Internet in Your
//! Spare Time", USENIX Security 2002, §2 (the RCS model); their fit to the
//! 19 July 2001 CRv2 outbreak gives `K ≈ 1.8/h` (Staniford, incidents list,
//! 2001-08-01; `shared/reference/codered.md` §4.2).

use super::{ModelError, check};

/// The RCS logistic curve.
///
/// # Examples
/// ```
/// use wormsim::model::Rcs;
/// let m = Rcs::new(1.8, 8.0, 360_000.0).unwrap();
/// assert_eq!(m.cumulative(8.0), 180_000.0);
/// assert!((m.peak_rate() - 162_000.0).abs() < 1e-9); // K N / 4 [hosts/h]
/// assert!(Rcs::new(-1.0, 8.0, 1.0).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rcs {
    k: f64,
    t_half: f64,
    n: f64,
}

impl Rcs {
    /// `k`: initial compromise rate `K` [1/h]; `t_half`: time `T` of half
    /// saturation [h]; `n`: vulnerable hosts `N`.
    ///
    /// # Errors
    /// [`ModelError::Parameter`] unless `k > 0`, `n > 0` and all three are finite.
    pub fn new(k: f64, t_half: f64, n: f64) -> Result<Rcs, ModelError> {
        Ok(Rcs {
            k: check::positive("rcs", "K", k)?,
            t_half: check::finite("rcs", "T", t_half)?,
            n: check::positive("rcs", "N", n)?,
        })
    }

    /// `K` [1/h].
    pub fn k(&self) -> f64 {
        self.k
    }

    /// `T` [h].
    pub fn t_half(&self) -> f64 {
        self.t_half
    }

    /// `N` [hosts].
    pub fn n(&self) -> f64 {
        self.n
    }

    /// Infected fraction `a(t)`, computed without overflow for any `t`.
    pub fn fraction(&self, t: f64) -> f64 {
        logistic(self.k * (t - self.t_half))
    }

    /// `1 − a(t)`, accurate when `a` is close to 1.
    pub fn remaining(&self, t: f64) -> f64 {
        logistic(-self.k * (t - self.t_half))
    }

    /// Cumulative infected hosts `N a(t)`.
    pub fn cumulative(&self, t: f64) -> f64 {
        self.n * self.fraction(t)
    }

    /// New infections in `(t0, t1]`, `N (a(t1) − a(t0))`, computed from the side
    /// of the curve that keeps precision.
    pub fn incidence(&self, t0: f64, t1: f64) -> f64 {
        let mid = 0.5 * (t0 + t1);
        if mid <= self.t_half {
            self.n * (self.fraction(t1) - self.fraction(t0))
        } else {
            self.n * (self.remaining(t0) - self.remaining(t1))
        }
    }

    /// Infection rate `K N a (1 − a)` [hosts/h].
    pub fn rate(&self, t: f64) -> f64 {
        self.k * self.n * self.fraction(t) * self.remaining(t)
    }

    /// The peak infection rate `K N / 4` [hosts/h], reached at `t = T`.
    pub fn peak_rate(&self) -> f64 {
        self.k * self.n / 4.0
    }

    /// Early-phase doubling time `ln 2 / K` [h].
    pub fn doubling_time(&self) -> f64 {
        std::f64::consts::LN_2 / self.k
    }
}

/// `e^x / (1 + e^x)` without overflow.
fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construction_table() {
        for (k, t, n, ok) in [
            (1.8, 8.0, 360_000.0, true),
            (1.8, -3.0, 1.0, true),
            (0.0, 8.0, 1.0, false),
            (-1.0, 8.0, 1.0, false),
            (f64::NAN, 8.0, 1.0, false),
            (1.0, f64::INFINITY, 1.0, false),
            (1.0, 8.0, 0.0, false),
            (1.0, 8.0, f64::NAN, false),
        ] {
            assert_eq!(Rcs::new(k, t, n).is_ok(), ok, "{k} {t} {n}");
        }
        let e = Rcs::new(-1.0, 0.0, 1.0).unwrap_err().to_string();
        assert_eq!(e, "rcs: K = -1: must be a finite number > 0");
    }

    #[test]
    fn logistic_values_and_symmetry() {
        let m = Rcs::new(2.0, 5.0, 1000.0).unwrap();
        assert_eq!(m.fraction(5.0), 0.5);
        for dt in [0.1, 1.0, 3.0, 50.0, 1000.0] {
            let s = m.fraction(5.0 + dt) + m.fraction(5.0 - dt);
            assert!((s - 1.0).abs() < 1e-15, "{dt}");
            assert_eq!(m.remaining(5.0 + dt), m.fraction(5.0 - dt));
        }
        assert!(m.fraction(-1e6).is_finite() && m.fraction(1e6) == 1.0);
        // a' = K a (1 − a), checked by a central difference.
        let h = 1e-5;
        let d = (m.cumulative(4.0 + h) - m.cumulative(4.0 - h)) / (2.0 * h);
        assert!((d / m.rate(4.0) - 1.0).abs() < 1e-8);
        assert!((m.incidence(3.0, 7.0) - (m.cumulative(7.0) - m.cumulative(3.0))).abs() < 1e-9);
        // Far in the tail the increment keeps precision.
        let tail = m.incidence(30.0, 31.0);
        assert!(tail > 0.0 && tail < 1e-15);
        assert!((m.doubling_time() - std::f64::consts::LN_2 / 2.0).abs() < 1e-15);
    }
}
