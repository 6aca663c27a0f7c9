//! Simulated calendar time.
//!
//! wormsim measures time as UTC seconds since 1970-01-01T00:00:00Z, held in the
//! [`SimTime`] newtype. Code Red decided its phase from the *day of the month* of
//! the host clock, interpreted as UTC (NIPC advisory 01-015: the denial-of-service
//! trigger was "0:00 hours, GMT on July 20, 2001"), so the calendar conversions here
//! (proleptic Gregorian, real month lengths) are part of the model, not decoration.
//!
//! Durations are plain `f64` seconds; names and docs carry the unit.

use std::fmt;

/// Seconds in one day [s].
pub const DAY: f64 = 86_400.0;
/// Seconds in one hour [s].
pub const HOUR: f64 = 3_600.0;
/// Seconds in one minute [s].
pub const MINUTE: f64 = 60.0;

/// A point in simulated time: UTC seconds since the Unix epoch [s].
///
/// # Examples
/// ```
/// use wormsim::time::SimTime;
/// let t = SimTime::parse_rfc3339("2001-07-19T10:00:00Z").unwrap();
/// assert_eq!(t.civil().day, 19);
/// assert_eq!(t.to_string(), "2001-07-19T10:00:00Z");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct SimTime(pub f64);

/// A broken-down UTC date and time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Civil {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    /// Seconds within the minute, with fraction [s].
    pub second: f64,
}

/// Why a timestamp did not parse.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp `{text}`: {why}; write it like 2001-07-19T10:00:00Z")]
pub struct TimeParseError {
    pub text: String,
    pub why: &'static str,
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in `month` (1..=12) of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => panic!("month out of range: {month}"),
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; H. Hinnant's
/// `days_from_civil` algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl SimTime {
    /// The time at 00:00:00 UTC of a civil date.
    pub fn from_ymd(year: i64, month: u32, day: u32) -> SimTime {
        SimTime(days_from_civil(year, month, day) as f64 * DAY)
    }

    /// Seconds since the Unix epoch [s].
    pub fn secs(self) -> f64 {
        self.0
    }

    /// This time plus `dt` seconds.
    #[must_use]
    pub fn plus(self, dt: f64) -> SimTime {
        SimTime(self.0 + dt)
    }

    /// Seconds from `earlier` to `self` [s].
    pub fn since(self, earlier: SimTime) -> f64 {
        self.0 - earlier.0
    }

    /// Whole days since the epoch (floor).
    pub fn day_number(self) -> i64 {
        (self.0 / DAY).floor() as i64
    }

    /// The broken-down UTC date and time.
    pub fn civil(self) -> Civil {
        let days = self.day_number();
        let (year, month, day) = civil_from_days(days);
        let sod = self.0 - days as f64 * DAY;
        let hour = ((sod / HOUR).floor() as u32).min(23);
        let minute = (((sod - hour as f64 * HOUR) / MINUTE).floor() as u32).min(59);
        let second = sod - hour as f64 * HOUR - minute as f64 * MINUTE;
        Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    /// UTC day of the month, 1..=31.
    pub fn day_of_month(self) -> u32 {
        civil_from_days(self.day_number()).2
    }

    /// 00:00 UTC of the day containing this time.
    #[must_use]
    pub fn start_of_day(self) -> SimTime {
        SimTime(self.day_number() as f64 * DAY)
    }

    /// Parse an RFC 3339 timestamp such as `2001-07-19T10:00:00Z` or
    /// `2001-07-19 06:00:00-04:00`. Fractional seconds are allowed; a time zone
    /// offset is required (wormsim's calendar is UTC).
    ///
    /// # Errors
    /// [`TimeParseError`] naming what is wrong.
    pub fn parse_rfc3339(text: &str) -> Result<SimTime, TimeParseError> {
        let err = |why| TimeParseError {
            text: text.to_string(),
            why,
        };
        let b = text.trim().as_bytes();
        let num = |s: &[u8]| -> Option<i64> {
            if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(s).ok()?.parse().ok()
        };
        if b.len() < 20 {
            return Err(err("too short"));
        }
        if b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS"));
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(err("expected HH:MM:SS after the date"));
        }
        let year = num(&b[0..4]).ok_or_else(|| err("bad year"))?;
        let month = num(&b[5..7]).ok_or_else(|| err("bad month"))? as u32;
        let day = num(&b[8..10]).ok_or_else(|| err("bad day"))? as u32;
        let hour = num(&b[11..13]).ok_or_else(|| err("bad hour"))?;
        let minute = num(&b[14..16]).ok_or_else(|| err("bad minute"))?;
        let second = num(&b[17..19]).ok_or_else(|| err("bad second"))?;
        if !(1..=12).contains(&month) {
            return Err(err("month must be 01..12"));
        }
        if day < 1 || day > days_in_month(year, month) {
            return Err(err("day is not in that month"));
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(err("time of day out of range"));
        }
        let mut i = 19;
        let mut frac = 0.0;
        if b[i] == b'.' {
            let start = i + 1;
            i = start;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(err("empty fraction of a second"));
            }
            let digits = std::str::from_utf8(&b[start - 1..i]).map_err(|_| err("bad fraction"))?;
            frac = format!("0{digits}")
                .parse::<f64>()
                .map_err(|_| err("bad fraction"))?;
        }
        let rest = &b[i..];
        let offset = match rest {
            [b'Z'] | [b'z'] => 0.0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let oh = num(&[*h1, *h2]).ok_or_else(|| err("bad offset hour"))?;
                let om = num(&[*m1, *m2]).ok_or_else(|| err("bad offset minute"))?;
                if oh > 23 || om > 59 {
                    return Err(err("offset out of range"));
                }
                let s = (oh * 3600 + om * 60) as f64;
                if *sign == b'+' { s } else { -s }
            }
            [] => return Err(err("missing time zone (add Z for UTC)")),
            _ => return Err(err("bad time zone; use Z or +HH:MM")),
        };
        let secs = days_from_civil(year, month, day) as f64 * DAY
            + (hour * 3600 + minute * 60 + second) as f64
            + frac
            - offset;
        Ok(SimTime(secs))
    }
}

impl fmt::Display for SimTime {
    /// RFC 3339 in UTC. Whole seconds print without a fraction; otherwise
    /// milliseconds are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms_total = (self.0 * 1000.0).round() as i64;
        let days = ms_total.div_euclid(86_400_000);
        let ms_of_day = ms_total.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        let h = ms_of_day / 3_600_000;
        let mi = (ms_of_day / 60_000) % 60;
        let s = (ms_of_day / 1000) % 60;
        let ms = ms_of_day % 1000;
        if ms == 0 {
            write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        } else {
            write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_centuries() {
        for z in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
            assert!(d >= 1 && d <= days_in_month(y, m));
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        // 2001-07-19 is day 11522 since the epoch.
        assert_eq!(days_from_civil(2001, 7, 19), 11_522);
        let t = SimTime::parse_rfc3339("2001-07-20T00:00:00Z").unwrap();
        assert_eq!(t.secs(), 995_587_200.0);
        assert_eq!(t.day_of_month(), 20);
        assert_eq!(t.plus(-0.001).day_of_month(), 19);
    }

    #[test]
    fn month_lengths_are_real() {
        assert_eq!(days_in_month(2001, 7), 31);
        assert_eq!(days_in_month(2001, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2001, 9), 30);
    }

    #[test]
    fn parse_offsets_and_fractions() {
        let a = SimTime::parse_rfc3339("2001-07-19T06:00:00-04:00").unwrap();
        let b = SimTime::parse_rfc3339("2001-07-19T10:00:00Z").unwrap();
        assert_eq!(a, b);
        let c = SimTime::parse_rfc3339("2001-07-19T10:00:00.250Z").unwrap();
        assert_eq!(c.since(b), 0.25);
        assert_eq!(c.to_string(), "2001-07-19T10:00:00.250Z");
    }

    #[test]
    fn parse_errors_name_the_problem() {
        for (text, why) in [
            ("2001-07-19", "too short"),
            ("2001-13-19T10:00:00Z", "month must be 01..12"),
            ("2001-02-29T10:00:00Z", "day is not in that month"),
            ("2001-07-19T10:00:00", "too short"),
            ("2001-07-19T10:00:00+0400", "bad time zone; use Z or +HH:MM"),
            ("2001-07-19T25:00:00Z", "time of day out of range"),
        ] {
            assert_eq!(SimTime::parse_rfc3339(text).unwrap_err().why, why, "{text}");
        }
    }

    #[test]
    fn civil_breakdown() {
        let t = SimTime::parse_rfc3339("2001-07-31T23:59:30Z").unwrap();
        let c = t.civil();
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute),
            (2001, 7, 31, 23, 59)
        );
        assert_eq!(c.second, 30.0);
        assert_eq!(t.plus(30.0).civil().month, 8);
        assert_eq!(t.plus(30.0).day_of_month(), 1);
    }
}
