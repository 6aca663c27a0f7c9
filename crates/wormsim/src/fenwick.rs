//! A Fenwick (binary indexed) tree of non-negative weights, for choosing an index
//! with probability proportional to its weight in O(log n), and updating a weight
//! in O(log n).
//!
//! Used wherever the engine must pick "a host in proportion to its scan rate" or
//! "a prefix in proportion to its infection rate" without scanning every host.

use std::ops::{Add, Sub};

/// Weight types: `f64` for rates, `u64` for counts.
pub trait Weight: Copy + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Default {}
impl Weight for f64 {}
impl Weight for u64 {}
impl Weight for u128 {}

/// A Fenwick tree over `len` weights, all zero at first.
///
/// # Examples
/// ```
/// use wormsim::fenwick::Fenwick;
/// let mut f = Fenwick::<u64>::new(4);
/// f.set(1, 3);
/// f.set(3, 1);
/// assert_eq!(f.total(), 4);
/// assert_eq!(f.find(0), 1); // u in [0,3) -> index 1
/// assert_eq!(f.find(3), 3); // u in [3,4) -> index 3
/// ```
#[derive(Clone, Debug)]
pub struct Fenwick<W: Weight> {
    tree: Vec<W>,
    values: Vec<W>,
    top: usize,
    total: W,
}

impl<W: Weight> Fenwick<W> {
    pub fn new(len: usize) -> Self {
        let top = if len == 0 {
            0
        } else {
            1usize << (usize::BITS - 1 - len.leading_zeros())
        };
        Fenwick {
            tree: vec![W::default(); len + 1],
            values: vec![W::default(); len],
            top,
            total: W::default(),
        }
    }

    /// Build from weights in O(n).
    pub fn from_weights(weights: &[W]) -> Self {
        let mut f = Self::new(weights.len());
        f.values.copy_from_slice(weights);
        f.total = weights.iter().fold(W::default(), |a, &w| a + w);
        for i in 1..=weights.len() {
            f.tree[i] = f.tree[i] + weights[i - 1];
            let j = i + (i & i.wrapping_neg());
            if j <= weights.len() {
                f.tree[j] = f.tree[j] + f.tree[i];
            }
        }
        f
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The weight at `i`.
    pub fn get(&self, i: usize) -> W {
        self.values[i]
    }

    /// Set the weight at `i`.
    pub fn set(&mut self, i: usize, w: W) {
        let old = self.values[i];
        if w == old {
            return;
        }
        self.values[i] = w;
        self.total = self.total - old + w;
        let n = self.values.len();
        let mut k = i + 1;
        if w > old {
            let d = w - old;
            while k <= n {
                self.tree[k] = self.tree[k] + d;
                k += k & k.wrapping_neg();
            }
        } else {
            let d = old - w;
            while k <= n {
                self.tree[k] = self.tree[k] - d;
                k += k & k.wrapping_neg();
            }
        }
    }

    /// Sum of all weights (kept up to date, O(1)).
    pub fn total(&self) -> W {
        self.total
    }

    /// Sum of weights `0..i`.
    pub fn prefix(&self, i: usize) -> W {
        let mut acc = W::default();
        let mut k = i;
        while k > 0 {
            acc = acc + self.tree[k];
            k &= k - 1;
        }
        acc
    }

    /// The index `i` with `prefix(i) <= u < prefix(i+1)`, for `0 <= u < total()`.
    /// Indices with zero weight are never returned when `u` is in range; with
    /// floating-point weights, a `u` at the rounding edge is moved to the nearest
    /// index with positive weight.
    pub fn find(&self, mut u: W) -> usize {
        let n = self.values.len();
        let mut pos = 0usize;
        let mut step = self.top;
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= u {
                u = u - self.tree[next];
                pos = next;
            }
            step >>= 1;
        }
        // `pos` is the count of elements entirely below u.
        let zero = W::default();
        let mut i = pos.min(n.saturating_sub(1));
        if self.values[i] > zero {
            return i;
        }
        // Rounding put us on a zero weight: take the nearest positive one.
        while i > 0 {
            i -= 1;
            if self.values[i] > zero {
                return i;
            }
        }
        (0..n).find(|&j| self.values[j] > zero).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_matches_linear_scan() {
        let w: Vec<u64> = vec![0, 5, 0, 0, 2, 7, 0, 1, 3, 0, 0];
        let f = Fenwick::from_weights(&w);
        assert_eq!(f.total(), 18);
        let mut expect = Vec::new();
        for (i, &x) in w.iter().enumerate() {
            expect.extend(std::iter::repeat_n(i, x as usize));
        }
        for (u, &e) in expect.iter().enumerate() {
            assert_eq!(f.find(u as u64), e, "u={u}");
        }
    }

    #[test]
    fn set_and_prefix() {
        let mut f = Fenwick::<f64>::new(10);
        for i in 0..10 {
            f.set(i, i as f64);
        }
        assert_eq!(f.total(), 45.0);
        f.set(9, 0.0);
        assert_eq!(f.total(), 36.0);
        assert_eq!(f.prefix(4), 6.0);
        assert_eq!(f.find(35.9), 8);
        let g = Fenwick::from_weights(&(0..10).map(|i| i as f64).collect::<Vec<_>>());
        assert_eq!(g.prefix(7), f.prefix(7));
    }

    #[test]
    fn single_and_empty() {
        let mut f = Fenwick::<u64>::new(1);
        f.set(0, 3);
        assert_eq!(f.find(2), 0);
        let e = Fenwick::<u64>::new(0);
        assert_eq!(e.total(), 0);
    }
}
