//! Piecewise-constant rates in calendar time.
//!
//! Patching and reboots are per-host Poisson processes whose rate changes at
//! dates (a patch is released, the outbreak makes the news). A [`RateSchedule`]
//! holds those steps. Its cumulative hazard `Λ(t) = ∫ rate` and the inverse
//! `Λ⁻¹` let the engine draw a host's next event once, exactly:
//!
//! # Formula
//! `T = Λ⁻¹(Λ(t0) + E)`, `E ~ Exp(1)` (inversion of the survival function of an
//! inhomogeneous Poisson process; see ENGINE-NOTES "per-host processes").

use crate::time::{DAY, SimTime};

/// A rate that is constant between breakpoints [1/s internally].
///
/// Before the first breakpoint the rate is `initial`.
///
/// # Examples
/// ```
/// use wormsim::schedule::RateSchedule;
/// use wormsim::time::SimTime;
/// let t0 = SimTime::from_ymd(2001, 7, 19);
/// let s = RateSchedule::new(0.0, vec![(t0, 1.0 / 86_400.0)]).unwrap();
/// assert_eq!(s.rate_at(t0.plus(-1.0)), 0.0);
/// // One unit of hazard accumulates in one day after t0.
/// let t = s.inverse_cumulative(t0.plus(-100.0), 1.0);
/// assert!((t.since(t0) - 86_400.0).abs() < 1e-6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RateSchedule {
    initial: f64,
    /// Strictly increasing breakpoints with the rate from each onwards.
    steps: Vec<(SimTime, f64)>,
}

/// Why a schedule is invalid.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("rate {0} is negative or not finite; rates must be finite and >= 0")]
    BadRate(f64),
    #[error("schedule times must increase strictly; {0} does not come after {1}")]
    NotIncreasing(SimTime, SimTime),
}

impl RateSchedule {
    /// A rate of `initial` [1/s] before the first step, then each step's rate.
    ///
    /// # Errors
    /// A negative/NaN rate or non-increasing times.
    pub fn new(initial: f64, steps: Vec<(SimTime, f64)>) -> Result<Self, ScheduleError> {
        if !(initial.is_finite() && initial >= 0.0) {
            return Err(ScheduleError::BadRate(initial));
        }
        for w in steps.windows(2) {
            if w[1].0 <= w[0].0 {
                return Err(ScheduleError::NotIncreasing(w[1].0, w[0].0));
            }
        }
        for &(_, r) in &steps {
            if !(r.is_finite() && r >= 0.0) {
                return Err(ScheduleError::BadRate(r));
            }
        }
        Ok(RateSchedule { initial, steps })
    }

    /// A constant rate [1/s].
    pub fn constant(rate: f64) -> Result<Self, ScheduleError> {
        Self::new(rate, Vec::new())
    }

    /// The zero schedule.
    pub fn zero() -> Self {
        RateSchedule {
            initial: 0.0,
            steps: Vec::new(),
        }
    }

    /// Whether the rate is zero at all times.
    pub fn is_zero(&self) -> bool {
        self.initial == 0.0 && self.steps.iter().all(|s| s.1 == 0.0)
    }

    /// The breakpoints.
    pub fn breakpoints(&self) -> impl Iterator<Item = SimTime> + '_ {
        self.steps.iter().map(|s| s.0)
    }

    /// The rate in force at `t` [1/s] (steps are right-continuous).
    pub fn rate_at(&self, t: SimTime) -> f64 {
        match self.steps.partition_point(|s| s.0 <= t) {
            0 => self.initial,
            i => self.steps[i - 1].1,
        }
    }

    /// Index of the segment containing `t` (0 = before the first step).
    fn segment(&self, t: SimTime) -> usize {
        self.steps.partition_point(|s| s.0 <= t)
    }

    fn seg_rate(&self, i: usize) -> f64 {
        if i == 0 {
            self.initial
        } else {
            self.steps[i - 1].1
        }
    }

    fn seg_end(&self, i: usize) -> Option<SimTime> {
        self.steps.get(i).map(|s| s.0)
    }

    /// `∫_a^b rate` (dimensionless hazard), for `a <= b`.
    pub fn integral(&self, a: SimTime, b: SimTime) -> f64 {
        let mut acc = 0.0;
        let mut t = a;
        let mut i = self.segment(a);
        while t < b {
            let end = match self.seg_end(i) {
                Some(e) if e < b => e,
                _ => b,
            };
            acc += self.seg_rate(i) * end.since(t);
            t = end;
            i += 1;
        }
        acc
    }

    /// The time `T >= t0` at which the hazard accumulated since `t0` reaches
    /// `hazard` (>= 0); `SimTime(f64::INFINITY)` if it never does.
    pub fn inverse_cumulative(&self, t0: SimTime, hazard: f64) -> SimTime {
        let mut left = hazard;
        let mut t = t0;
        let mut i = self.segment(t0);
        loop {
            let r = self.seg_rate(i);
            match self.seg_end(i) {
                Some(end) => {
                    let cap = r * end.since(t);
                    if r > 0.0 && cap >= left {
                        return t.plus(left / r);
                    }
                    left -= cap;
                    t = end;
                    i += 1;
                }
                None => {
                    return if r > 0.0 {
                        t.plus(left / r)
                    } else {
                        SimTime(f64::INFINITY)
                    };
                }
            }
        }
    }
}

/// Convert a rate per day to a rate per second.
pub fn per_day(rate: f64) -> f64 {
    rate / DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: f64) -> SimTime {
        SimTime(h * 3600.0)
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            RateSchedule::constant(-1.0),
            Err(ScheduleError::BadRate(-1.0))
        );
        assert!(RateSchedule::constant(f64::NAN).is_err());
        assert!(RateSchedule::new(0.0, vec![(t(2.0), 1.0), (t(1.0), 1.0)]).is_err());
        assert!(RateSchedule::new(0.0, vec![(t(1.0), 1.0), (t(1.0), 2.0)]).is_err());
    }

    #[test]
    fn integral_and_inverse_agree() {
        // 0 until 1 h, 2/h until 3 h, 0 until 5 h, then 1/h.
        let s = RateSchedule::new(
            0.0,
            vec![
                (t(1.0), 2.0 / 3600.0),
                (t(3.0), 0.0),
                (t(5.0), 1.0 / 3600.0),
            ],
        )
        .unwrap();
        assert!((s.integral(t(0.0), t(2.0)) - 2.0).abs() < 1e-12);
        assert!((s.integral(t(0.0), t(6.0)) - 5.0).abs() < 1e-12);
        assert_eq!(s.inverse_cumulative(t(0.0), 2.0), t(2.0));
        // Hazard 4 is reached exactly at the end of the 2/h segment: 3 h.
        assert!((s.inverse_cumulative(t(0.0), 4.0).secs() - t(3.0).secs()).abs() < 1e-9);
        // Hazard 4.5 needs half an hour into the last segment.
        assert!((s.inverse_cumulative(t(0.0), 4.5).secs() - t(5.5).secs()).abs() < 1e-9);
        // Start in the zero segment.
        assert!((s.inverse_cumulative(t(3.5), 0.25).secs() - t(5.25).secs()).abs() < 1e-9);
        for h in [0.0, 0.3, 1.0, 3.7, 4.0, 9.0] {
            let tt = s.inverse_cumulative(t(0.5), h);
            assert!((s.integral(t(0.5), tt) - h).abs() < 1e-9, "h={h}");
        }
    }

    #[test]
    fn zero_tail_never_fires() {
        let s = RateSchedule::new(1.0, vec![(t(1.0), 0.0)]).unwrap();
        assert_eq!(s.inverse_cumulative(t(0.0), 1.0e9).secs(), f64::INFINITY);
        assert!(!s.is_zero());
        assert!(RateSchedule::zero().is_zero());
    }
}
