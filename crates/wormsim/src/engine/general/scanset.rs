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
    /// Holes left in `members` by removals in a batch ([`ScanSet::begin_removals`]).
    holes: u32,
}

#[derive(Clone, Debug)]
pub(super) struct ScanSet {
    groups: Vec<Group>,
    total: u64,
    /// Bit `g` is set when group `g` is not empty.
    live: u64,
    /// In a batch of removals: a removal leaves a hole instead of moving the
    /// group's last member into its place.
    batch: bool,
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
            batch: false,
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
        self.groups
            .iter()
            .map(|g| g.members.len() - g.holes as usize)
            .sum()
    }

    #[inline]
    fn group_of(w: u64) -> usize {
        63 - w.leading_zeros() as usize
    }

    /// Start a batch of removals: until [`ScanSet::end_removals`], a host whose
    /// weight drops to 0 leaves a hole in its group instead of having the
    /// group's last member moved into its place, which would write that
    /// member's record: a cache miss per removal when many hosts leave at once
    /// (the CRv2 preset's 354,000 at the switch to the flood phase; 29 → 15 ms
    /// for the pooled ones, bench/RESULTS.md). Any other change ends the batch
    /// first. A draw during a batch panics, since it could land in a hole.
    pub fn begin_removals(&mut self) {
        self.batch = true;
    }

    /// End a batch of removals: close the holes, keeping the order of the
    /// members that stay, and write their new positions.
    pub fn end_removals<H: IndexMut<usize, Output = Host> + ?Sized>(&mut self, hosts: &mut H) {
        self.batch = false;
        for grp in &mut self.groups {
            if grp.holes > 0 {
                grp.holes = 0;
                grp.members
                    .close_holes(|h, pos| hosts[h as usize].spos = pos);
            }
        }
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
        if self.batch && new > 0 {
            self.end_removals(hosts);
        }
        if old > 0 {
            let g = Self::group_of(old);
            let grp = &mut self.groups[g];
            let pos = hosts[h as usize].spos;
            if self.batch {
                grp.members.vacate(pos);
                grp.holes += 1;
            } else if let Some(moved) = grp.members.swap_remove(pos) {
                hosts[moved as usize].spos = pos;
            }
            grp.sum -= old;
            if old == grp.bound {
                grp.at_bound -= 1;
            }
            if grp.members.len() == grp.holes as usize {
                if grp.holes > 0 {
                    grp.holes = 0;
                    grp.members
                        .close_holes(|_, _| unreachable!("no member stays"));
                }
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
        assert!(!self.batch, "a draw during a batch of removals");
        let grp = &self.groups[self.group(rng)];
        let uniform = grp.at_bound as usize == grp.members.len();
        loop {
            let h = grp.members.choose(rng);
            if uniform || keep(hosts[h as usize].w, grp.bound, rng) {
                return h;
            }
        }
    }

    /// The group of a draw: in proportion to its sum.
    #[inline]
    fn group(&self, rng: &mut Rng) -> usize {
        if self.live.is_power_of_two() {
            return self.live.trailing_zeros() as usize;
        }
        let mut u = below_u64(rng, self.total);
        let mut live = self.live;
        loop {
            let g = live.trailing_zeros() as usize;
            let s = self.groups[g].sum;
            if u < s {
                return g;
            }
            u -= s;
            live &= live - 1;
        }
    }

    /// The member slot of a host of weight `w` (> 0) at position `spos` of
    /// its group, for a prefetch.
    #[inline]
    pub fn slot(&self, w: u64, spos: u32) -> Option<&u32> {
        self.groups
            .get(Self::group_of(w))?
            .members
            .items
            .get(spos as usize)
    }

    /// The member slot [`ScanSet::choose`] will read first if it draws from
    /// `rng` as it is now, for a prefetch (`None` if the set is empty).
    #[inline]
    pub fn peek(&self, rng: &Rng) -> Option<&u32> {
        if self.total == 0 || self.batch {
            return None;
        }
        let mut rng = rng.clone();
        let grp = &self.groups[self.group(&mut rng)];
        grp.members.peek(&mut rng)
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

    /// Every member's position in its group is its record's `spos`, and the
    /// set's hosts are those of nonzero weight.
    fn assert_consistent(s: &ScanSet, hs: &[Host]) {
        let mut members: Vec<u32> = Vec::new();
        for (g, grp) in s.groups.iter().enumerate() {
            assert_eq!(grp.holes, 0);
            assert_eq!(s.live >> g & 1 == 1, !grp.members.is_empty());
            for (pos, &h) in grp.members.items().iter().enumerate() {
                assert_eq!(hs[h as usize].spos as usize, pos);
                assert_eq!(ScanSet::group_of(hs[h as usize].w), g);
                members.push(h);
            }
        }
        members.sort_unstable();
        let weighted: Vec<u32> = (0..hs.len() as u32)
            .filter(|&h| hs[h as usize].w > 0)
            .collect();
        assert_eq!(members, weighted);
        assert_eq!(s.total(), hs.iter().map(|h| h.w).sum::<u64>());
    }

    /// A batch of removals leaves the set that one removal at a time leaves
    /// (the members in another order), also when a raise in the middle ends
    /// the batch and when a group empties.
    #[test]
    fn a_batch_of_removals_leaves_the_same_set() {
        let n = 40;
        let weights = |h: u32| [3u64, 5, 9, 12, 700][h as usize % 5];
        let build = || {
            let mut hs = hosts(n);
            let mut s = ScanSet::new(64);
            for h in 0..n as u32 {
                s.set(&mut hs, h, weights(h));
            }
            (hs, s)
        };
        // Remove every host of weight 700 (its group empties), some others,
        // then raise one (ending the batch), then remove more.
        let first: Vec<u32> = (0..n as u32).filter(|h| h % 5 == 4 || h % 3 == 0).collect();
        let second: Vec<u32> = (0..n as u32).filter(|h| h % 7 == 1 && h % 3 != 0).collect();
        let (mut one, mut s1) = build();
        let (mut batch, mut s2) = build();
        s2.begin_removals();
        for &h in &first {
            s1.set(&mut one, h, 0);
            s2.set(&mut batch, h, 0);
        }
        assert_eq!(s1.total(), s2.total());
        assert_eq!(s1.len(), s2.len());
        s1.set(&mut one, 2, 40);
        s2.set(&mut batch, 2, 40);
        for &h in &second {
            s1.set(&mut one, h, 0);
            s2.set(&mut batch, h, 0);
        }
        s2.begin_removals();
        s1.set(&mut one, 5, 0);
        s2.set(&mut batch, 5, 0);
        s2.end_removals(&mut batch[..]);
        assert_consistent(&s1, &one);
        assert_consistent(&s2, &batch);
        let ws = |hs: &[Host]| hs.iter().map(|h| h.w).collect::<Vec<_>>();
        assert_eq!(ws(&one), ws(&batch));
        assert_eq!(s1.bound(), s2.bound());
        assert_eq!(s1.live, s2.live);
        for (a, b) in s1.groups.iter().zip(&s2.groups) {
            assert_eq!((a.sum, a.bound, a.at_bound), (b.sum, b.bound, b.at_bound));
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

    /// `peek` names the slot `choose` reads first, with one group and with
    /// several; where the first member is kept (equal weights), it is the
    /// member `choose` returns.
    #[test]
    fn peek_names_the_slot_choose_reads() {
        let mut rng = Streams::new(8, 0).stream("scanset-peek");
        for weights in [vec![5u64; 9], vec![1, 2, 3, 8, 8, 8, 13, 100, 100, 64]] {
            let mut hs = hosts(weights.len());
            let mut s = ScanSet::new(64);
            assert!(s.peek(&rng).is_none());
            for (h, &w) in weights.iter().enumerate() {
                s.set(&mut hs, h as u32, w);
            }
            let (mut same, n) = (0, 2_000);
            for _ in 0..n {
                let slot = s.peek(&rng).expect("a set with members");
                let at = s
                    .groups
                    .iter()
                    .position(|g| {
                        g.members
                            .items()
                            .as_ptr_range()
                            .contains(&(slot as *const u32))
                    })
                    .expect("a slot of one of the groups");
                let h = s.choose(&hs, &mut rng);
                let g = &s.groups[at];
                if g.at_bound as usize == g.members.len() {
                    assert_eq!(*slot, h, "a uniform group keeps its first draw");
                }
                same += usize::from(*slot == h);
            }
            // Every group here keeps at least half of its draws.
            assert!(
                same * 2 >= n * 9 / 10,
                "{same} of {n} draws were the peeked member"
            );
        }
    }
}
