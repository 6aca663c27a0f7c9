//! Sample quantiles, the one method used everywhere in wormsim's outputs.
//!
//! # Formula
//! Hyndman and Fan (1996) type 7, the default of R's `quantile()` and of numpy's
//! `np.quantile` (`method="linear"`): for sorted values `x[0] <= … <= x[n-1]` and
//! a probability `p` in `[0, 1]`,
//!
//! ```text
//! h = (n - 1)·p,   j = floor(h),   Q(p) = x[j] + (h - j)·(x[j+1] - x[j])
//! ```
//!
//! with `Q(p) = x[n-1]` when `j = n - 1`. The result depends only on the multiset of
//! values, never on the order in which replicates finished.

/// The quantile probabilities reported per time bin and per summary column.
pub const PROBS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// Column names of [`PROBS`], in the same order.
pub const NAMES: [&str; 5] = ["q05", "q25", "q50", "q75", "q95"];

/// Type-7 quantile of already **sorted** values; `None` when `sorted` is empty.
///
/// # Panics
/// In debug builds, if `p` is outside `[0, 1]`.
///
/// # Examples
/// ```
/// use wormsim::ensemble::quantile::type7;
/// let x = [1.0, 2.0, 3.0, 4.0];
/// assert_eq!(type7(&x, 0.5), Some(2.5));
/// assert_eq!(type7(&x, 0.25), Some(1.75));
/// assert_eq!(type7(&[], 0.5), None);
/// ```
pub fn type7(sorted: &[f64], p: f64) -> Option<f64> {
    debug_assert!((0.0..=1.0).contains(&p), "probability {p} outside [0, 1]");
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * p;
    let j = h.floor() as usize;
    if j + 1 >= n {
        return Some(sorted[n - 1]);
    }
    let (lo, hi) = (sorted[j], sorted[j + 1]);
    let frac = h - j as f64;
    // x[j] exactly when the fraction is 0 (avoids 0·inf and keeps integers exact).
    Some(if frac == 0.0 {
        lo
    } else {
        lo + frac * (hi - lo)
    })
}

/// Sort `values` (NaN last, by `f64::total_cmp`) and return the [`PROBS`] quantiles.
pub fn quantiles(values: &mut [f64]) -> Option<[f64; 5]> {
    values.sort_unstable_by(f64::total_cmp);
    let mut out = [0.0; 5];
    for (o, &p) in out.iter_mut().zip(&PROBS) {
        *o = type7(values, p)?;
    }
    Some(out)
}

/// Mean of `values`, summed left to right (callers pass them in replicate order,
/// so the rounding is the same whatever the thread count).
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        Some(values.iter().fold(0.0, |acc, &x| acc + x) / values.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f64; 5], b: [f64; 5]) {
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-12, "{a:?} != {b:?}");
        }
    }

    /// Values from R 4.x: `quantile(c(...), c(.05,.25,.5,.75,.95), type = 7)`.
    #[test]
    fn matches_r_type7() {
        let mut x: Vec<f64> = (1..=10).map(f64::from).collect();
        close(quantiles(&mut x).unwrap(), [1.45, 3.25, 5.5, 7.75, 9.55]);
        let mut y = vec![7.0, 1.0, 3.0];
        close(quantiles(&mut y).unwrap(), [1.2, 2.0, 3.0, 5.0, 6.6]);
    }

    #[test]
    fn edge_cases() {
        assert_eq!(type7(&[4.0], 0.05), Some(4.0));
        assert_eq!(type7(&[4.0], 0.95), Some(4.0));
        assert_eq!(type7(&[1.0, 2.0], 1.0), Some(2.0));
        assert_eq!(type7(&[1.0, 2.0], 0.0), Some(1.0));
        assert_eq!(quantiles(&mut []), None);
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
        assert_eq!(mean(&[]), None);
    }

    #[test]
    fn order_does_not_matter() {
        let a: Vec<f64> = (0..101).map(|i| ((i * 37) % 101) as f64 * 0.1).collect();
        let mut b = a.clone();
        b.reverse();
        assert_eq!(quantiles(&mut a.clone()), quantiles(&mut b));
    }
}
