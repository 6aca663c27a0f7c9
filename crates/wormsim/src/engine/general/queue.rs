//! The scheduled-event queue: a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan
//! 1990, "Faster algorithms for the shortest path problem", J. ACM 37(2)).
//!
//! The engine pops events in time order and schedules new ones at or after
//! the current time, so the queue is *monotone*: no key pushed is below the
//! last key popped. A radix heap uses that. Keys are 128-bit integers (the
//! event time's bits in an order-preserving form, then the sequence number
//! that breaks ties, so the order is exactly `(time, seq)`, the order
//! [`std::collections::BinaryHeap`] gave). Bucket `b > 0` holds the keys whose
//! highest bit differing from `last` (the last minimum) is bit `b − 1`; bucket 0
//! holds `last` itself. A pop takes bucket 0, or else finds the first
//! non-empty bucket, makes its smallest key the new `last` and spreads its
//! items over lower buckets. Each item only moves down, and moves are
//! sequential copies, where a binary heap's pop walks its whole depth through
//! random cache lines: with one pending hit per runner (300,000 in the Warhol
//! preset) that walk was half the run.
//!
//! A key below `last` (which the engine never pushes) is still handled
//! exactly: every item is re-spread from that key.

/// An item with its 128-bit priority (smallest first).
pub(super) trait Keyed {
    fn key(&self) -> u128;
}

/// An order-preserving map of `f64` to `u64` (`a.total_cmp(b)` is the order
/// of the images).
#[inline]
pub(super) fn f64_key(t: f64) -> u64 {
    let b = t.to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

const BUCKETS: usize = 129;

pub(super) struct Queue<T> {
    buckets: Vec<Vec<T>>,
    /// Bit `b − 1` set when bucket `b >= 1` is not empty.
    nonempty: u128,
    last: u128,
    len: usize,
}

impl<T: Keyed> Queue<T> {
    pub fn new() -> Self {
        Queue {
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            nonempty: 0,
            last: 0,
            len: 0,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn bucket_of(&self, k: u128) -> usize {
        let x = k ^ self.last;
        if x == 0 {
            0
        } else {
            128 - x.leading_zeros() as usize
        }
    }

    #[inline]
    fn place(&mut self, item: T) {
        let b = self.bucket_of(item.key());
        if b > 0 {
            self.nonempty |= 1 << (b - 1);
        }
        self.buckets[b].push(item);
    }

    pub fn push(&mut self, item: T) {
        let k = item.key();
        if k < self.last {
            self.respread(k);
        }
        self.place(item);
        self.len += 1;
    }

    /// Make `k` (below every key held) the new `last` and spread every item again.
    fn respread(&mut self, k: u128) {
        let all: Vec<T> = self.buckets.iter_mut().flat_map(std::mem::take).collect();
        self.nonempty = 0;
        self.last = k;
        for item in all {
            self.place(item);
        }
    }

    /// Bring the smallest item into bucket 0; false if the queue is empty.
    #[inline]
    fn settle(&mut self) -> bool {
        if !self.buckets[0].is_empty() {
            return true;
        }
        if self.nonempty == 0 {
            return false;
        }
        let b = self.nonempty.trailing_zeros() as usize + 1;
        self.nonempty &= !(1 << (b - 1));
        let mut items = std::mem::take(&mut self.buckets[b]);
        self.last = items
            .iter()
            .map(Keyed::key)
            .min()
            .expect("non-empty bucket");
        // Every item of bucket `b` agrees with the old `last` above bit
        // `b − 1`, and so with the new one: they all land below `b`.
        for item in items.drain(..) {
            self.place(item);
        }
        // Give the emptied vector back to its bucket, keeping its capacity.
        self.buckets[b] = items;
        true
    }

    /// The smallest item.
    pub fn peek(&mut self) -> Option<&T> {
        if self.settle() {
            self.buckets[0].last()
        } else {
            None
        }
    }

    /// Remove and return the smallest item.
    pub fn pop(&mut self) -> Option<T> {
        if self.settle() {
            self.len -= 1;
            self.buckets[0].pop()
        } else {
            None
        }
    }

    /// Keep only the items for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut len = 0;
        for (b, v) in self.buckets.iter_mut().enumerate() {
            v.retain(&mut keep);
            len += v.len();
            if b > 0 && v.is_empty() {
                self.nonempty &= !(1 << (b - 1));
            }
        }
        self.len = len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;
    use rand::RngExt;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct It {
        t: f64,
        seq: u64,
    }
    impl Keyed for It {
        fn key(&self) -> u128 {
            (u128::from(f64_key(self.t)) << 64) | u128::from(self.seq)
        }
    }
    #[derive(PartialEq)]
    struct Ord2(It);
    impl Eq for Ord2 {}
    impl PartialOrd for Ord2 {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Ord2 {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            self.0.t.total_cmp(&o.0.t).then(self.0.seq.cmp(&o.0.seq))
        }
    }

    #[test]
    fn the_key_map_keeps_the_order() {
        let xs = [-1e300, -2.5, -0.0, 0.0, 1e-300, 1.0, 9.9e8, 1e300];
        for w in xs.windows(2) {
            assert!(f64_key(w[0]) < f64_key(w[1]), "{} {}", w[0], w[1]);
        }
    }

    /// Against `BinaryHeap` on the engine's pattern (pop the minimum, push
    /// events at or after it, many ties in time), with some pushes below the
    /// minimum and some retains: the same items in the same order.
    #[test]
    fn pops_in_the_binary_heaps_order() {
        let mut rng = Streams::new(5, 0).stream("queue-test");
        for round in 0..20 {
            let mut q = Queue::new();
            let mut h = BinaryHeap::new();
            let mut seq = 0u64;
            let mut now = 9.9e8 + f64::from(round);
            let mut push = |q: &mut Queue<It>, h: &mut BinaryHeap<Reverse<Ord2>>, t: f64| {
                seq += 1;
                let it = It { t, seq };
                q.push(it);
                h.push(Reverse(Ord2(it)));
            };
            for _ in 0..200 {
                let t = now + rng.random::<f64>() * 100.0;
                push(&mut q, &mut h, t);
            }
            for step in 0..20_000 {
                assert_eq!(q.len(), h.len());
                let a = q.pop();
                let b = h.pop().map(|Reverse(Ord2(x))| x);
                assert_eq!(a, b, "round {round}, step {step}");
                let Some(x) = a else { break };
                now = x.t;
                let k = rng.random_range(0..3u32);
                for _ in 0..k {
                    let t = match rng.random_range(0..10u32) {
                        0 => now,                              // a tie
                        1 => now - rng.random::<f64>(),        // below the minimum
                        2 => now + rng.random::<f64>() * 1e-9, // a few ulps on
                        _ => now + rng.random::<f64>() * 1000.0,
                    };
                    push(&mut q, &mut h, t);
                }
                if step % 997 == 0 {
                    q.retain(|x| x.seq % 7 != 0);
                    let kept: Vec<_> = std::mem::take(&mut h)
                        .into_vec()
                        .into_iter()
                        .filter(|Reverse(Ord2(x))| x.seq % 7 != 0)
                        .collect();
                    h = kept.into();
                }
                if step % 5 == 0 {
                    let p = q.peek().copied();
                    let hp = h.peek().map(|Reverse(Ord2(x))| *x);
                    assert_eq!(p, hp);
                }
            }
        }
    }
}
