//! Exact, bounded parameter grids (the hyperfine `RangeStep` habit).
//!
//! A range gives `start`, `stop` and either `step` or `count`. Its points are
//! `start + i·step` for `i = 0, 1, …` while they do not pass `stop` (with `count`,
//! `step = (stop − start)/(count − 1)`, so both ends are points). The arithmetic is
//! exact: each number is read as the shortest decimal that round-trips its `f64`
//! (so `0.1` is one tenth), points are computed in integer decimal arithmetic and
//! only then rounded to `f64`. So `start = 0, stop = 0.3, step = 0.1` gives exactly
//! `0, 0.1, 0.2, 0.3`, never `0.30000000000000004`, and never repeated addition.
//! When `start`, `stop` and `step` are all integers the points are integers.
//!
//! Empty ranges, zero or negative steps, and more than a limit of points are errors.

use toml::Value;

/// A decimal `m · 10^e`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dec {
    m: i128,
    e: i32,
}

impl Dec {
    /// The shortest decimal that round-trips `x`.
    fn from_f64(x: f64) -> Option<Dec> {
        if !x.is_finite() {
            return None;
        }
        // `{:e}` prints the shortest round-trip digits: "1.5e-7", "-2e0".
        let s = format!("{x:e}");
        let (mant, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let (neg, mant) = match mant.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, mant),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let digits = format!("{int}{frac}");
        let m: i128 = digits.parse().ok()?;
        Some(Dec {
            m: if neg { -m } else { m },
            e: exp - frac.len() as i32,
        })
    }

    fn from_value(v: &Value) -> Option<Dec> {
        match v {
            Value::Integer(i) => Some(Dec {
                m: i128::from(*i),
                e: 0,
            }),
            Value::Float(f) => Dec::from_f64(*f),
            _ => None,
        }
    }

    /// Mantissa at exponent `e` (`e <= self.e`), if it fits.
    fn at(self, e: i32) -> Option<i128> {
        let k = u32::try_from(self.e - e).ok()?;
        10i128.checked_pow(k)?.checked_mul(self.m)
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e)
            .parse()
            .expect("a decimal string parses as f64")
    }
}

/// `num / den · 10^e` rounded to `f64` (via 30 significant decimal digits).
fn ratio_to_f64(num: i128, den: i128, e: i32) -> f64 {
    debug_assert!(den > 0);
    let neg = num < 0;
    let num = num.unsigned_abs();
    let den = den.unsigned_abs();
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push_str(&(num / den).to_string());
    s.push('.');
    let mut r = num % den;
    for _ in 0..30 {
        r *= 10;
        s.push(char::from(b'0' + (r / den) as u8));
        r %= den;
    }
    format!("{s}e{e}")
        .parse()
        .expect("a decimal string parses as f64")
}

/// Which field of a range an error is about, and why.
pub type RangeError = (&'static str, String);

/// The points of a range; `limit` is the most points allowed.
///
/// # Errors
/// `(field, message)`: a bound that is not a finite number, an empty range, a zero
/// or negative step, a count below 1, both or neither of `step` and `count`,
/// integer bounds that `count` does not split into whole steps, or more than `limit`
/// points.
///
/// # Examples
/// ```
/// use toml::Value;
/// use wormsim::sweep::grid::range;
/// let v = range(&Value::Float(0.0), &Value::Float(0.3), Some(&Value::Float(0.1)), None, 100).unwrap();
/// assert_eq!(v, vec![Value::Float(0.0), Value::Float(0.1), Value::Float(0.2), Value::Float(0.3)]);
/// let v = range(&Value::Integer(1), &Value::Integer(10), None, Some(4), 100).unwrap();
/// assert_eq!(v, vec![Value::Integer(1), Value::Integer(4), Value::Integer(7), Value::Integer(10)]);
/// ```
pub fn range(
    start: &Value,
    stop: &Value,
    step: Option<&Value>,
    count: Option<i64>,
    limit: u64,
) -> Result<Vec<Value>, RangeError> {
    let num = |field: &'static str, v: &Value| {
        Dec::from_value(v).ok_or_else(|| {
            (
                field,
                format!(
                    "{v} is not a finite number; a range needs numbers (use `values` for other types)"
                ),
            )
        })
    };
    let a = num("start", start)?;
    let b = num("stop", stop)?;
    let ints = matches!(start, Value::Integer(_))
        && matches!(stop, Value::Integer(_))
        && step.is_none_or(|s| matches!(s, Value::Integer(_)));
    let too_many = |n: u128| {
        (
            if step.is_some() { "step" } else { "count" },
            format!(
                "{n} points is more than the limit of {limit}; use a larger step or a smaller count"
            ),
        )
    };
    match (step, count) {
        (Some(_), Some(_)) => Err(("count", "give `step` or `count`, not both".to_string())),
        (None, None) => Err((
            "step",
            "missing; give `step` (points start + i·step) or `count` (evenly spaced, both ends included)"
                .to_string(),
        )),
        (Some(step), None) => {
            let d = num("step", step)?;
            let e = a.e.min(b.e).min(d.e);
            let overflow = || {
                (
                    "step",
                    "the numbers are too far apart in scale for an exact grid".to_string(),
                )
            };
            let (s, t, d) = (
                a.at(e).ok_or_else(overflow)?,
                b.at(e).ok_or_else(overflow)?,
                d.at(e).ok_or_else(overflow)?,
            );
            if d == 0 {
                return Err(("step", "a zero step never reaches stop; give a positive step".to_string()));
            }
            if d < 0 {
                return Err((
                    "step",
                    format!("{step} is negative; give start <= stop and a positive step"),
                ));
            }
            if t < s {
                return Err((
                    "stop",
                    format!("the range is empty: stop ({stop}) is below start ({start}); swap them"),
                ));
            }
            let n = ((t - s) / d) as u128 + 1;
            if n > u128::from(limit) {
                return Err(too_many(n));
            }
            Ok((0..n as i128)
                .map(|i| {
                    let m = s + i * d;
                    if ints {
                        Value::Integer(m as i64)
                    } else {
                        Value::Float(Dec { m, e }.to_f64())
                    }
                })
                .collect())
        }
        (None, Some(c)) => {
            if c < 1 {
                return Err(("count", format!("{c} points is too few; give a count >= 1")));
            }
            if c as u128 > u128::from(limit) {
                return Err(too_many(c as u128));
            }
            let e = a.e.min(b.e);
            let overflow = || {
                (
                    "stop",
                    "start and stop are too far apart in scale for an exact grid".to_string(),
                )
            };
            let (s, t) = (a.at(e).ok_or_else(overflow)?, b.at(e).ok_or_else(overflow)?);
            if t < s {
                return Err((
                    "stop",
                    format!("the range is empty: stop ({stop}) is below start ({start}); swap them"),
                ));
            }
            if c == 1 {
                return if s == t {
                    Ok(vec![start.clone()])
                } else {
                    Err((
                        "count",
                        "count = 1 gives one point but start and stop differ; set stop = start or count >= 2"
                            .to_string(),
                    ))
                };
            }
            if s == t {
                return Err((
                    "count",
                    format!("start = stop, so {c} points would repeat one value; use count = 1"),
                ));
            }
            let den = i128::from(c - 1);
            if ints && (t - s) % den != 0 {
                return Err((
                    "count",
                    format!(
                        "{c} points do not split {start}..{stop} into whole steps; \
                         choose a count with (stop - start)/(count - 1) whole, or write start as a float"
                    ),
                ));
            }
            Ok((0..i128::from(c))
                .map(|i| {
                    let num = s * den + i * (t - s);
                    if ints {
                        Value::Integer((num / den) as i64)
                    } else if num % den == 0 {
                        Value::Float(Dec { m: num / den, e }.to_f64())
                    } else {
                        Value::Float(ratio_to_f64(num, den, e))
                    }
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> Value {
        Value::Float(x)
    }
    fn i(x: i64) -> Value {
        Value::Integer(x)
    }
    fn floats(v: &[Value]) -> Vec<f64> {
        v.iter().map(|x| x.as_float().unwrap()).collect()
    }

    #[test]
    fn decimal_steps_are_exact() {
        let v = range(&f(0.0), &f(1.0), Some(&f(0.1)), None, 100).unwrap();
        assert_eq!(v.len(), 11);
        assert_eq!(floats(&v)[3], 0.3);
        assert_eq!(floats(&v)[10], 1.0);
        let v = range(&f(0.05), &f(0.0914), Some(&f(0.0138)), None, 100).unwrap();
        assert_eq!(floats(&v), vec![0.05, 0.0638, 0.0776, 0.0914]);
        // Integer start with a float step gives floats.
        let v = range(&i(1), &i(2), Some(&f(0.25)), None, 100).unwrap();
        assert_eq!(floats(&v), vec![1.0, 1.25, 1.5, 1.75, 2.0]);
    }

    #[test]
    fn stop_need_not_be_a_point() {
        let v = range(&i(0), &i(10), Some(&i(3)), None, 100).unwrap();
        assert_eq!(v, vec![i(0), i(3), i(6), i(9)]);
    }

    #[test]
    fn counts() {
        let v = range(&f(2.0), &f(10.0), None, Some(5), 100).unwrap();
        assert_eq!(floats(&v), vec![2.0, 4.0, 6.0, 8.0, 10.0]);
        let v = range(&f(0.0), &f(1.0), None, Some(4), 100).unwrap();
        assert_eq!(floats(&v), vec![0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);
        assert_eq!(range(&i(5), &i(5), None, Some(1), 9).unwrap(), vec![i(5)]);
        let e = range(&i(1000), &i(2000), None, Some(4), 100).unwrap_err();
        assert_eq!(e.0, "count");
    }

    #[test]
    fn errors_name_the_field() {
        let field = |r: Result<Vec<Value>, RangeError>| r.unwrap_err().0;
        assert_eq!(field(range(&i(0), &i(10), Some(&i(0)), None, 100)), "step");
        assert_eq!(
            field(range(&f(0.0), &f(1.0), Some(&f(0.0)), None, 100)),
            "step"
        );
        assert_eq!(field(range(&i(0), &i(10), Some(&i(-1)), None, 100)), "step");
        assert_eq!(field(range(&i(10), &i(0), Some(&i(1)), None, 100)), "stop");
        assert_eq!(field(range(&i(0), &i(10), None, None, 100)), "step");
        assert_eq!(
            field(range(&i(0), &i(10), Some(&i(1)), Some(3), 100)),
            "count"
        );
        assert_eq!(field(range(&i(0), &i(10), None, Some(0), 100)), "count");
        assert_eq!(
            field(range(
                &Value::String("a".into()),
                &i(1),
                Some(&i(1)),
                None,
                9
            )),
            "start"
        );
        assert_eq!(
            field(range(&f(f64::NAN), &i(1), Some(&i(1)), None, 9)),
            "start"
        );
        // Too many points, found without building them.
        let e = range(&i(0), &i(i64::MAX), Some(&i(1)), None, 1_000_000).unwrap_err();
        assert_eq!(e.0, "step");
        assert!(e.1.contains("more than the limit of 1000000"), "{}", e.1);
        assert_eq!(
            field(range(&i(0), &i(1), None, Some(2_000_000), 1_000_000)),
            "count"
        );
    }

    #[test]
    fn decimals_round_trip() {
        for x in [0.1, 1.5e-7, 123456.0, -2.5, 0.0914, 1e300, 5e-324] {
            assert_eq!(Dec::from_f64(x).unwrap().to_f64(), x);
        }
        assert_eq!(Dec::from_f64(0.1), Some(Dec { m: 1, e: -1 }));
    }
}
