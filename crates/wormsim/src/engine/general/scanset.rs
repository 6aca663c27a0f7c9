//! The scanning hosts, each weighted by its scan rate, for drawing an infector
//! in proportion to its rate: composition–rejection (Slepoy, Thompson and
//! Plimpton 2008, "A constant-time kinetic Monte Carlo algorithm for simulation
//! of large biochemical reaction networks", J. Chem. Phys. 128, 205101).
//!
//! Hosts are grouped by the bit length of their weight, so the weights in group
//! `g` lie in `[2^g, 2^(g+1))`. A draw picks a group in proportion to its exact
//! integer sum, then a uniform member, kept with probability `w / bound` where
//! `bound` is the largest weight the group has held since it was last empty
//! (`bound < 2^(g+1) ≤ 2·w`, so at least half of the tries succeed). The result
//! is exactly proportional to `w`: the group has probability `sum_g / W`, and
//! within it a host is kept with probability `w / sum_g`.
//!
//! Updates and draws cost O(1) (plus a scan over at most 64 group sums), and a
//! draw touches one member slot and, only when the group's weights differ, that
//! host's record: far fewer cache misses than a Fenwick tree over all hosts.
//! The weight and the position live in the host record ([`super::Host`]).

use super::{Host, Members};
use crate::rng::{Rng, below_u64};
use std::ops::{Index, IndexMut};

/// Rejection towards weight: keep a uniformly drawn member of weight `w` with
/// probability `w / bound` (`bound` at least every member's weight).
#[inline]
pub(super) fn keep(w: u64, bound: u64, rng: &mut Rng) -> bool {
    w >= bound || below_u64(rng, bound) < w
}

#[derive(Clone, Debug, Default)]
struct Group {
    members: Members,
    sum: u64,
    /// An upper bound on every weight in the group (the largest since empty).
    bound: u64,
    /// Members whose weight equals `bound`.
    at_bound: u32,
}

#[derive(Clone, Debug)]
pub(super) struct ScanSet {
    groups: Vec<Group>,
    total: u64,
    /// Bit `g` is set when group `g` is not empty.
    live: u64,
}

impl ScanSet {
    /// An empty set of at most `n` hosts.
    pub fn new(n: usize) -> Self {
        let group = Group {
            members: Members::with_limit(n),
            ..Group::default()
        };
        ScanSet {
            groups: vec![group; 64],
            total: 0,
            live: 0,
        }
    }

    /// Sum of all weights [rate units].
    #[inline]
    pub fn total(&self) -> u64 {
        self.total
    }

    /// An upper bound on every weight in the set (0 if empty).
    pub fn bound(&self) -> u64 {
        if self.live == 0 {
            0
        } else {
            self.groups[63 - self.live.leading_zeros() as usize].bound
        }
    }

    /// Hosts with a nonzero weight.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.members.len()).sum()
    }

    #[inline]
    fn group_of(w: u64) -> usize {
        63 - w.leading_zeros() as usize
    }

    /// Set host `h`'s weight to `new` (its record holds the old one).
    pub fn set<H: IndexMut<usize, Output = Host> + ?Sized>(
        &mut self,
        hosts: &mut H,
        h: u32,
        new: u64,
    ) {
        let old = hosts[h as usize].w;
        if old == new {
            return;
        }
        if old > 0 {
            let g = Self::group_of(old);
            let grp = &mut self.groups[g];
            let pos = hosts[h as usize].spos;
            if let Some(moved) = grp.members.swap_remove(pos) {
                hosts[moved as usize].spos = pos;
            }
            grp.sum -= old;
            if old == grp.bound {
                grp.at_bound -= 1;
            }
            if grp.members.is_empty() {
                grp.bound = 0;
                grp.at_bound = 0;
                self.live &= !(1u64 << g);
            }
            self.total -= old;
        }
        hosts[h as usize].w = new;
        if new > 0 {
            let g = Self::group_of(new);
            let grp = &mut self.groups[g];
            hosts[h as usize].spos = grp.members.push(h);
            grp.sum += new;
            if new > grp.bound {
                grp.bound = new;
                grp.at_bound = 1;
            } else if new == grp.bound {
                grp.at_bound += 1;
            }
            self.live |= 1u64 << g;
            self.total += new;
        }
    }

    /// A host drawn with probability `w / total` (the set must not be empty).
    pub fn choose<H: Index<usize, Output = Host> + ?Sized>(&self, hosts: &H, rng: &mut Rng) -> u32 {
        debug_assert!(self.total > 0);
        let g = if self.live.is_power_of_two() {
            self.live.trailing_zeros() as usize
        } else {
            let mut u = below_u64(rng, self.total);
            let mut live = self.live;
            loop {
                let g = live.trailing_zeros() as usize;
                let s = self.groups[g].sum;
                if u < s {
                    break g;
                }
                u -= s;
                live &= live - 1;
            }
        };
        let grp = &self.groups[g];
        let uniform = grp.at_bound as usize == grp.members.len();
        loop {
            let h = grp.members.choose(rng);
            if uniform || keep(hosts[h as usize].w, grp.bound, rng) {
                return h;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::HostState;
    use crate::rng::Streams;

    fn hosts(n: usize) -> Vec<Host> {
        (0..n)
            .map(|_| Host {
                w: 0,
                awake: 0,
                epoch: 0,
                spos: 0,
                ipos: crate::engine::NO_HOST,
                class: 0,
                state: HostState::Susceptible,
                flags: 0,
                instances: 0,
            })
            .collect()
    }

    #[test]
    fn sums_follow_updates() {
        let mut hs = hosts(6);
        let mut s = ScanSet::new(64);
        for (h, w) in [(0, 5), (1, 7), (2, 1), (3, 1000), (4, 6)] {
            s.set(&mut hs, h, w);
        }
        assert_eq!(s.total(), 1019);
        s.set(&mut hs, 3, 0);
        s.set(&mut hs, 1, 4);
        s.set(&mut hs, 5, 3);
        assert_eq!(s.total(), 5 + 4 + 1 + 6 + 3);
        assert_eq!(s.len(), 5);
        for (i, h) in hs.iter().enumerate() {
            if h.w > 0 {
                let g = &s.groups[ScanSet::group_of(h.w)];
                assert_eq!(g.members.items()[h.spos as usize], i as u32);
            }
        }
    }

    /// Chi-square of draws against weights, with groups of unequal weights,
    /// a group of equal weights, and a single group.
    #[test]
    fn draws_are_proportional_to_weight() {
        let weights: [u64; 8] = [1, 2, 3, 8, 8, 8, 13, 100];
        let mut hs = hosts(weights.len());
        let mut s = ScanSet::new(64);
        for (h, &w) in weights.iter().enumerate() {
            s.set(&mut hs, h as u32, w);
        }
        // Raise then lower a weight: the group's bound stays above its members.
        s.set(&mut hs, 6, 15);
        s.set(&mut hs, 6, 13);
        let mut rng = Streams::new(7, 0).stream("scanset-test");
        let n = 400_000;
        let mut counts = [0u64; 8];
        for _ in 0..n {
            counts[s.choose(&hs, &mut rng) as usize] += 1;
        }
        let total: u64 = weights.iter().sum();
        let chi2: f64 = counts
            .iter()
            .zip(weights)
            .map(|(&c, w)| {
                let e = n as f64 * w as f64 / total as f64;
                (c as f64 - e).powi(2) / e
            })
            .sum();
        // 7 degrees of freedom: P(chi2 > 29.9) ≈ 1e-4.
        assert!(chi2 < 29.9, "chi2 = {chi2}, counts {counts:?}");
        // One group of equal weights: uniform, no rejection.
        let mut hs = hosts(4);
        let mut s = ScanSet::new(64);
        for h in 0..4 {
            s.set(&mut hs, h, 9);
        }
        let mut counts = [0u64; 4];
        for _ in 0..n {
            counts[s.choose(&hs, &mut rng) as usize] += 1;
        }
        let e = n as f64 / 4.0;
        let chi2: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
        // 3 degrees of freedom: P(chi2 > 21.1) ≈ 1e-4.
        assert!(chi2 < 21.1, "chi2 = {chi2}, counts {counts:?}");
    }
}
