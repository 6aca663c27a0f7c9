//! The Code Red calendar: what an infected host does on each UTC day of the month.
//!
//! | day of month | phase | source |
//! |---|---|---|
//! | 1–19 | spread (scan for new victims) | USA Today 2001-08-02; Redmond Mag 2001-08-02; NIPC 01-015 (`codered.md` §3) |
//! | 20–27 | flood 198.137.240.91:80 | NIPC: DoS trigger "0:00 hours, GMT on July 20, 2001" (§1, §3) |
//! | 28–end of month | dormant | §3 ("then rests") |
//!
//! The host clock is read as UTC ("Its a date bomb, not time", Maiffret, §3), and
//! months have their real lengths, so July's dormant phase lasts four days
//! (28–31) and February's one day in 2001.

use crate::time::{DAY, SimTime};

/// The largest error a host's clock may have [s]: a century either way. A
/// clock's time is an `f64` of seconds, which stops resolving a day near
/// 10¹¹ days; there the next change of phase cannot be found and a run would
/// not end (found by the black-box campaign, `FUZZING.md`). A century is far
/// beyond any wrong clock of 2001 and far inside that limit.
pub const MAX_CLOCK_ERROR: f64 = 36_525.0 * DAY;

/// What an infected Code Red host does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Days 1–19: scanning for new victims.
    Spread,
    /// Days 20–27: flooding the target.
    Flood,
    /// Day 28 onwards: asleep.
    Dormant,
}

impl Phase {
    /// The phase on UTC day-of-month `day` (1..=31).
    pub fn of_day(day: u32) -> Phase {
        match day {
            1..=19 => Phase::Spread,
            20..=27 => Phase::Flood,
            _ => Phase::Dormant,
        }
    }

    /// The phase at time `t` of a clock that reads UTC.
    pub fn at(t: SimTime) -> Phase {
        Phase::of_day(t.day_of_month())
    }

    /// The phase at UTC time `t` of a clock that reads UTC + `offset` seconds.
    pub fn at_offset(t: SimTime, offset: f64) -> Phase {
        Phase::at(t.plus(offset))
    }

    pub fn name(self) -> &'static str {
        match self {
            Phase::Spread => "spread",
            Phase::Flood => "flood",
            Phase::Dormant => "dormant",
        }
    }
}

/// The midnights in `(start, end]` at which the phase changes, with the new phase.
///
/// # Examples
/// ```
/// use wormsim::calendar::{Phase, transitions};
/// use wormsim::time::SimTime;
/// let ch = transitions(SimTime::from_ymd(2001, 7, 19), SimTime::from_ymd(2001, 8, 2));
/// assert_eq!(ch.len(), 3);
/// assert_eq!(ch[0], (SimTime::from_ymd(2001, 7, 20), Phase::Flood));
/// assert_eq!(ch[1], (SimTime::from_ymd(2001, 7, 28), Phase::Dormant));
/// assert_eq!(ch[2], (SimTime::from_ymd(2001, 8, 1), Phase::Spread));
/// ```
pub fn transitions(start: SimTime, end: SimTime) -> Vec<(SimTime, Phase)> {
    let mut out = Vec::new();
    let mut prev = Phase::at(start);
    let mut day = start.day_number() + 1;
    loop {
        let t = SimTime(day as f64 * DAY);
        if t > end {
            break;
        }
        let ph = Phase::at(t);
        if ph != prev {
            out.push((t, ph));
            prev = ph;
        }
        day += 1;
    }
    out
}

/// The first UTC time after `t` at which the phase of a clock with `offset`
/// seconds changes (its local midnight of day 20, 28 or 1).
pub fn next_change(t: SimTime, offset: f64) -> SimTime {
    let local = t.plus(offset);
    let now = Phase::at(local);
    let mut day = local.day_number() + 1;
    loop {
        let m = SimTime(day as f64 * DAY);
        if Phase::at(m) != now {
            return m.plus(-offset);
        }
        day += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        let d = |m, d| SimTime::from_ymd(2001, m, d);
        assert_eq!(Phase::at(d(7, 20).plus(-1e-3)), Phase::Spread);
        assert_eq!(Phase::at(d(7, 20)), Phase::Flood);
        assert_eq!(Phase::at(d(7, 28).plus(-1e-3)), Phase::Flood);
        assert_eq!(Phase::at(d(7, 28)), Phase::Dormant);
        assert_eq!(Phase::at(d(7, 31).plus(86_399.9)), Phase::Dormant);
        assert_eq!(Phase::at(d(8, 1)), Phase::Spread);
        // February 2001 has 28 days: dormant for one day only.
        assert_eq!(
            transitions(d(2, 27), d(3, 2)),
            vec![(d(2, 28), Phase::Dormant), (d(3, 1), Phase::Spread)]
        );
    }

    #[test]
    fn clock_offsets_move_every_boundary() {
        let utc = |s| SimTime::parse_rfc3339(s).unwrap();
        // A clock one hour fast floods from 23:00 UTC on the 19th.
        assert_eq!(
            Phase::at_offset(utc("2001-07-19T22:59:59Z"), 3600.0),
            Phase::Spread
        );
        assert_eq!(
            Phase::at_offset(utc("2001-07-19T23:00:00Z"), 3600.0),
            Phase::Flood
        );
        assert_eq!(
            next_change(utc("2001-07-19T12:00:00Z"), 3600.0),
            utc("2001-07-19T23:00:00Z")
        );
        // 27th/28th: a clock two hours slow sleeps from 02:00 UTC on the 28th.
        assert_eq!(
            next_change(utc("2001-07-25T00:00:00Z"), -7200.0),
            utc("2001-07-28T02:00:00Z")
        );
        // End of month: July has 31 days, so a right clock wakes on 1 August.
        assert_eq!(
            next_change(utc("2001-07-28T00:00:00Z"), 0.0),
            SimTime::from_ymd(2001, 8, 1)
        );
        // An offset across the month boundary: 22:00 UTC on 31 July reads 1 August
        // on a clock three hours fast, and it changed at 21:00 UTC.
        assert_eq!(
            Phase::at_offset(utc("2001-07-31T22:00:00Z"), 3.0 * 3600.0),
            Phase::Spread
        );
        assert_eq!(
            next_change(utc("2001-07-30T00:00:00Z"), 3.0 * 3600.0),
            utc("2001-07-31T21:00:00Z")
        );
        // A clock fifteen days slow reads 17 July on 1 August: still spreading,
        // until its 20 July, i.e. 4 August UTC.
        assert_eq!(
            Phase::at_offset(SimTime::from_ymd(2001, 8, 1), -15.0 * 86_400.0),
            Phase::Spread
        );
        assert_eq!(
            next_change(SimTime::from_ymd(2001, 8, 1), -15.0 * 86_400.0),
            SimTime::from_ymd(2001, 8, 4)
        );
    }

    #[test]
    fn no_transition_inside_a_phase() {
        let t0 = SimTime::from_ymd(2001, 7, 19).plus(36_000.0);
        let t1 = SimTime::from_ymd(2001, 7, 19).plus(80_000.0);
        assert!(transitions(t0, t1).is_empty());
        // A transition exactly at the end is included.
        assert_eq!(transitions(t0, SimTime::from_ymd(2001, 7, 20)).len(), 1);
    }
}
