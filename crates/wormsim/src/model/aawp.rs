//! The Analytical Active Worm Propagation (AAWP) model: a discrete-time recurrence
//! for a uniformly scanning worm.
//!
//! # Formula
//! Time advances in ticks `i = 0, 1, 2, …` (wormsim's fitting code uses one minute
//! per tick unless told otherwise). With `n_i` infected hosts at tick `i`, `s` scans
//! per infected host per tick, an address space of `Ω` addresses (`2^32` for IPv4),
//! a death (clean-up) rate `d` and a patch rate `p` per tick:
//!
//! ```text
//! n_{i+1} = (1 − d − p) n_i + [(1 − p)^i N − n_i] [1 − (1 − 1/Ω)^{s n_i}]
//! ```
//!
//! The second term is the number of newly infected hosts in the tick: each of the
//! `(1 − p)^i N − n_i` vulnerable, unpatched, not yet infected hosts is hit by at
//! least one of the `s n_i` scans with probability `1 − (1 − 1/Ω)^{s n_i}`. The
//! cumulative count adds these up: `C_{i+1} = C_i + new_i`, `C_0 = n_0`. Hosts that
//! "die" (`d`: cleaned but not patched, e.g. rebooted) fall back into the
//! `(1 − p)^i N − n_i` pool and can be infected again, so with `d > 0` `C` counts
//! infections, not distinct hosts, and can exceed `N`. Between ticks wormsim
//! interpolates `C` linearly.
//!
//! For small ticks (`d = p = 0`, `s = r Δ` scans in a tick of length `Δ`) the
//! recurrence tends to the SI ODE `dn/dt = (r/Ω) n (N − n)`, i.e. `β = r N / Ω`
//! (tested).
//!
//! Source: Z. Chen, L. Gao, K. Kwiat, "Modeling the Spread of Active Worms",
//! IEEE INFOCOM 2003, §III (the AAWP model; CRv2 as the worked example). The
//! recurrence above is as given in `shared/reference/codered.md` §4.4, where it is
//! marked [U]: the paper's abstract was read, its equation was not.

use super::{ModelError, check};

/// Size of the IPv4 address space, `2^32`.
pub const IPV4_SPACE: f64 = 4_294_967_296.0;

/// The AAWP recurrence.
///
/// # Examples
/// ```
/// use wormsim::model::Aawp;
/// use wormsim::model::aawp::IPV4_SPACE;
/// // CRv2-like: 6 probes/s = 360 scans per one-minute tick, 360,000 hosts.
/// let m = Aawp::new(360.0, 0.0, 0.0, 360_000.0, 1.0, IPV4_SPACE).unwrap();
/// let path = m.run(24 * 60);
/// assert!(path.cumulative[24 * 60] > 359_000.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aawp {
    s: f64,
    d: f64,
    p: f64,
    n: f64,
    n0: f64,
    space: f64,
}

/// The infected and cumulative counts at ticks `0..=ticks`.
#[derive(Clone, Debug, PartialEq)]
pub struct AawpPath {
    /// `n_i`: infected hosts at tick `i`.
    pub infected: Vec<f64>,
    /// `C_i`: hosts infected at least once by tick `i`.
    pub cumulative: Vec<f64>,
}

impl Aawp {
    /// `s`: scans per infected host per tick; `d`, `p`: death and patch rates per
    /// tick; `n`: vulnerable hosts `N`; `n0`: infected at tick 0; `space`: number
    /// of addresses scanned uniformly, `Ω`.
    ///
    /// # Errors
    /// [`ModelError::Parameter`] unless `s >= 0`, `d, p >= 0` with `d + p <= 1`,
    /// `N > 0`, `0 < n₀ <= N`, `Ω >= N`, all finite.
    pub fn new(s: f64, d: f64, p: f64, n: f64, n0: f64, space: f64) -> Result<Aawp, ModelError> {
        let s = check::non_negative("aawp", "s", s)?;
        let d = check::non_negative("aawp", "d", d)?;
        let p = check::non_negative("aawp", "p", p)?;
        if d + p > 1.0 {
            return Err(ModelError::param(
                "aawp",
                "d + p",
                d + p,
                "<= 1 (rates per tick; use a shorter tick)",
            ));
        }
        let n = check::positive("aawp", "N", n)?;
        let n0 = check::initial("aawp", "n0", n0, n)?;
        let space = check::positive("aawp", "space", space)?;
        if space < n {
            return Err(ModelError::param(
                "aawp",
                "space",
                space,
                ">= N (the vulnerable hosts live in the scanned space)",
            ));
        }
        Ok(Aawp {
            s,
            d,
            p,
            n,
            n0,
            space,
        })
    }

    /// `N` [hosts].
    pub fn n(&self) -> f64 {
        self.n
    }

    /// Run the recurrence for `ticks` ticks.
    pub fn run(&self, ticks: usize) -> AawpPath {
        let mut infected = Vec::with_capacity(ticks + 1);
        let mut cumulative = Vec::with_capacity(ticks + 1);
        let (mut n_i, mut c_i) = (self.n0, self.n0);
        infected.push(n_i);
        cumulative.push(c_i);
        // ln(1 − 1/Ω), accurate for large Ω.
        let ln_miss = (-1.0 / self.space).ln_1p();
        let mut unpatched = self.n; // (1 − p)^i N
        for _ in 0..ticks {
            let hit = -(self.s * n_i * ln_miss).exp_m1();
            let new = (unpatched - n_i).max(0.0) * hit;
            n_i = ((1.0 - self.d - self.p) * n_i + new).max(0.0);
            c_i += new;
            unpatched *= 1.0 - self.p;
            infected.push(n_i);
            cumulative.push(c_i);
        }
        AawpPath {
            infected,
            cumulative,
        }
    }

    /// The cumulative count at `times` [h] (non-negative), with ticks of
    /// `tick_hours` [h] starting at `t = 0`, interpolated linearly between ticks.
    ///
    /// # Errors
    /// [`ModelError::Parameter`] for a non-positive tick, and
    /// [`ModelError::OutputTimes`] for negative, non-finite or absurdly many ticks
    /// (more than 10⁷).
    pub fn cumulative_at(&self, tick_hours: f64, times: &[f64]) -> Result<Vec<f64>, ModelError> {
        let tick = check::positive("aawp", "tick", tick_hours)?;
        let mut last = 0.0f64;
        for &t in times {
            if !(t.is_finite() && t >= 0.0) {
                return Err(ModelError::OutputTimes(format!(
                    "aawp output time {t} must be finite and >= 0"
                )));
            }
            last = last.max(t);
        }
        let ticks = (last / tick).ceil();
        if ticks > 1e7 {
            return Err(ModelError::OutputTimes(format!(
                "{ticks} aawp ticks requested; use a longer tick"
            )));
        }
        let path = self.run(ticks as usize);
        Ok(times
            .iter()
            .map(|&t| {
                let x = t / tick;
                let i = (x.floor() as usize).min(path.cumulative.len() - 1);
                let frac = x - i as f64;
                if frac <= 0.0 || i + 1 >= path.cumulative.len() {
                    path.cumulative[i]
                } else {
                    path.cumulative[i] + frac * (path.cumulative[i + 1] - path.cumulative[i])
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Si;

    #[test]
    fn construction_table() {
        assert!(Aawp::new(360.0, 0.0, 0.0, 360_000.0, 1.0, IPV4_SPACE).is_ok());
        for bad in [
            [-1.0, 0.0, 0.0, 10.0, 1.0, 100.0],
            [1.0, -0.1, 0.0, 10.0, 1.0, 100.0],
            [1.0, 0.6, 0.6, 10.0, 1.0, 100.0],
            [1.0, 0.0, f64::NAN, 10.0, 1.0, 100.0],
            [1.0, 0.0, 0.0, 0.0, 1.0, 100.0],
            [1.0, 0.0, 0.0, 10.0, 0.0, 100.0],
            [1.0, 0.0, 0.0, 10.0, 1.0, 5.0],
        ] {
            assert!(
                Aawp::new(bad[0], bad[1], bad[2], bad[3], bad[4], bad[5]).is_err(),
                "{bad:?}"
            );
        }
        let e = Aawp::new(1.0, 0.6, 0.6, 10.0, 1.0, 100.0)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("aawp: d + p = 1.2: must be <= 1"), "{e}");
    }

    #[test]
    fn one_tick_by_hand() {
        // n0 = 2, s = 3, Ω = 10, N = 8, d = 0.1, p = 0.2:
        // hit = 1 − 0.9^6, new = (8 − 2)·hit, n1 = 0.7·2 + new.
        let m = Aawp::new(3.0, 0.1, 0.2, 8.0, 2.0, 10.0).unwrap();
        let p = m.run(2);
        let hit = 1.0 - 0.9f64.powi(6);
        let new0 = 6.0 * hit;
        assert!((p.infected[1] - (1.4 + new0)).abs() < 1e-12);
        assert!((p.cumulative[1] - (2.0 + new0)).abs() < 1e-12);
        // Tick 1: (1 − p)^1 N = 6.4 unpatched.
        let n1 = p.infected[1];
        let new1 = (6.4 - n1).max(0.0) * (1.0 - 0.9f64.powf(3.0 * n1));
        assert!((p.cumulative[2] - (p.cumulative[1] + new1)).abs() < 1e-12);
    }

    /// With small ticks and no removal the recurrence approaches the SI logistic,
    /// with an error that falls in proportion to the tick.
    #[test]
    fn small_ticks_approach_si() {
        let (n, space, r) = (1000.0, 1_048_576.0, 1_048.576); // β = r N / Ω = 1/h
        let si = Si::new(1.0, n, 1.0).unwrap();
        let times: Vec<f64> = (0..=30).map(|i| i as f64 * 0.5).collect();
        let max_err = |dt: f64| {
            let m = Aawp::new(r * dt, 0.0, 0.0, n, 1.0, space).unwrap();
            let c = m.cumulative_at(dt, &times).unwrap();
            times
                .iter()
                .zip(&c)
                .map(|(&t, &v)| (v - si.closed_form(t)).abs())
                .fold(0.0, f64::max)
        };
        let (e1, e2, e3) = (max_err(0.02), max_err(0.01), max_err(0.005));
        assert!(e3 < 0.01 * n, "tick 0.005 h: max error {e3}");
        let (q1, q2) = (e1 / e2, e2 / e3);
        assert!(
            (1.7..2.3).contains(&q1) && (1.7..2.3).contains(&q2),
            "{q1} {q2}"
        );
    }

    #[test]
    fn patching_and_death_lower_the_curve() {
        let base = Aawp::new(360.0, 0.0, 0.0, 360_000.0, 1.0, IPV4_SPACE).unwrap();
        let patched = Aawp::new(360.0, 0.0, 0.001, 360_000.0, 1.0, IPV4_SPACE).unwrap();
        let died = Aawp::new(360.0, 0.01, 0.0, 360_000.0, 1.0, IPV4_SPACE).unwrap();
        let (a, b, c) = (base.run(1440), patched.run(1440), died.run(1440));
        assert!(b.cumulative[1440] < a.cumulative[1440]);
        // Dead (cleaned, unpatched) hosts rejoin the vulnerable pool, so `d` lowers
        // the infected count, not necessarily the cumulative count of infections.
        assert!(c.infected[1440] < a.infected[1440]);
        assert!(c.infected[1440] < c.cumulative[1440]);
        for w in a.cumulative.windows(2) {
            assert!(w[1] >= w[0]);
        }
    }

    #[test]
    fn interpolation_between_ticks() {
        let m = Aawp::new(360.0, 0.0, 0.0, 360_000.0, 1.0, IPV4_SPACE).unwrap();
        let path = m.run(3);
        let c = m
            .cumulative_at(1.0 / 60.0, &[0.0, 1.0 / 60.0, 1.5 / 60.0])
            .unwrap();
        assert_eq!(c[0], 1.0);
        assert!((c[1] - path.cumulative[1]).abs() < 1e-9);
        assert!((c[2] - 0.5 * (path.cumulative[1] + path.cumulative[2])).abs() < 1e-9);
        assert!(m.cumulative_at(0.0, &[1.0]).is_err());
        assert!(m.cumulative_at(1.0, &[-1.0]).is_err());
    }
}
