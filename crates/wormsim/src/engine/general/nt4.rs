//! Code Red II's Windows NT 4 hosts, kept apart from the hosts a probe infects.
//!
//! Under Code Red II a probe that reaches a susceptible IIS server on NT 4
//! crashes it instead of infecting it (codered.md §2.6), and a crashed server
//! comes back, susceptible, at rate `κ`. In the CRII preset these crashes and
//! recoveries are nineteen events in twenty. With the NT 4 hosts in the same
//! per-/16 sums as the hosts that can be infected ([`super::local`]), every
//! one of them updated three Fenwick trees over all /16 blocks and found its
//! host by a range search over them (bench/RESULTS.md).
//!
//! Here the NT 4 hosts that are susceptible or crashed (the *pool*) have
//! structures of their own, in which a crash or a recovery is a few swaps:
//! - every NT 4 host has a slot in two orders, one grouped by /16 block and
//!   one by /8, each group split into regions: susceptible, then crashed, then
//!   out (infected or patched); a host changes region by swaps with the
//!   regions' end slots, so a uniform susceptible (or crashed) host of a block
//!   or a /8 is one index;
//! - the hit rate of the pool is
//!   `c8·Σ_A R_A·S_A + c16·Σ_B R_B·S_B + cu·R·S` (the same channels as for
//!   infection, [`super::local`]), with `S_A`, `S_B` counts of the pool's
//!   susceptible hosts: the products `R_A·S_A` are in a Fenwick tree over the
//!   /8s (a few hundred at most), and `R_B·S_B` in one over the blocks, set
//!   only when `S_B` changes in a block with a spreading host;
//! - the counts `S_A` and `C_A` per /8 are Fenwick trees over the /8s, so a
//!   uniform susceptible or crashed host of the whole pool is a search among
//!   the /8s and one index.
//!
//! Which host a crash or a recovery picks is uniform in its group, as before;
//! the draws are new, so runs with NT 4 crashes differ (in distribution
//! nothing changes: `crii_local_preference_matches_the_reference` in
//! `tests/it/family.rs` compares the crashes and the hosts down at the end
//! with the per-probe reference).

use crate::fenwick::Fenwick;
use std::cell::Cell;

/// A region of a group: susceptible, crashed, or out of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Region {
    Susceptible = 0,
    Crashed = 1,
    Out = 2,
}

/// One order of the pool's hosts, in groups (blocks, or /8s), each split
/// into the three regions.
struct Order {
    /// The pool's hosts (by rank, [`Nt4::recs`]), grouped.
    hosts: Vec<u32>,
    /// First slot of each group (and a sentinel).
    start: Vec<u32>,
    /// Per group: how many are susceptible, how many crashed.
    count: Vec<[u32; 2]>,
}

impl Order {
    /// Move the host of rank `h` (at `recs[h].slot[k]`, in group `g`) from
    /// region `from` to `to`.
    fn shift(&mut self, slots: &mut [Rec], k: usize, g: usize, h: u32, from: Region, to: Region) {
        let start = self.start[g] as usize;
        let n = &mut self.count[g];
        let (from, to) = (from as usize, to as usize);
        if from < to {
            for r in from..to {
                // The last slot of region r; h takes it, which becomes the
                // first slot of region r + 1.
                let end = start + n[..=r].iter().sum::<u32>() as usize;
                swap_to(&mut self.hosts, slots, k, h, end - 1);
                n[r] -= 1;
                if r + 1 < 2 {
                    n[r + 1] += 1;
                }
            }
        } else {
            for r in (to + 1..=from).rev() {
                // The first slot of region r; h takes it, which becomes the
                // last slot of region r − 1.
                let first = start + n[..r].iter().sum::<u32>() as usize;
                swap_to(&mut self.hosts, slots, k, h, first);
                if r < 2 {
                    n[r] -= 1;
                }
                n[r - 1] += 1;
            }
        }
    }

    /// The rank of the `j`-th host of group `g`'s region `r` (susceptible or
    /// crashed).
    #[inline]
    fn nth(&self, g: usize, r: Region, j: u32) -> u32 {
        let before = if r == Region::Crashed {
            self.count[g][0]
        } else {
            0
        };
        self.hosts[(self.start[g] + before + j) as usize]
    }
}

/// Move rank `h` to `slot` of `hosts`, swapping with the one there (order `k`
/// of the records' slots).
#[inline]
fn swap_to(hosts: &mut [u32], recs: &mut [Rec], k: usize, h: u32, slot: usize) {
    let at = recs[h as usize].slot[k] as usize;
    if at == slot {
        return;
    }
    let other = hosts[slot];
    hosts.swap(at, slot);
    recs[other as usize].slot[k] = at as u32;
    recs[h as usize].slot[k] = slot as u32;
}

/// One host of the pool, by rank (address order).
#[derive(Clone, Copy, Debug)]
struct Rec {
    /// The host.
    h: u32,
    /// Its /16 block.
    b: u32,
    /// Its slot in the block order and in the /8 order.
    slot: [u32; 2],
}

/// The pool of NT 4 hosts that crash instead of being infected.
pub struct Nt4 {
    /// One bit per host, set for the hosts of the pool.
    bits: Vec<u64>,
    /// The pool's hosts in address order (their ranks), with their blocks and
    /// slots: the pool's own records, dense, so that a crash or a recovery
    /// touches a few small arrays instead of per-host ones.
    recs: Vec<Rec>,
    blocks: Order,
    tops: Order,
    /// Susceptible and crashed counts per /8, searchable.
    s8: Fenwick<u64>,
    c8: Fenwick<u64>,
    /// `R_A·S_A` per /8 and `R_B·S_B` per block [rate units × hosts].
    p8: Fenwick<u128>,
    p16: Fenwick<u128>,
    /// The last host a pick returned, and its rank: the host the caller moves
    /// next (a crash or a recovery), found without a search.
    last: Cell<(u32, u32)>,
}

impl Nt4 {
    /// The pool of the hosts whose bit is set in `pool`, all out of it at
    /// first; `host_b` is each host's block, `block_a` each block's /8, and
    /// the hosts are in address order (so blocks and /8s are runs of hosts).
    pub fn new(pool: &[u64], host_b: &[u32], block_a: &[u32], na: usize) -> Nt4 {
        let nb = block_a.len();
        let mut recs = Vec::new();
        let mut bstart = vec![0u32; nb + 1];
        let mut astart = vec![0u32; na + 1];
        for (h, &b) in host_b.iter().enumerate() {
            if pool.get(h / 64).is_some_and(|w| w >> (h % 64) & 1 == 1) {
                bstart[b as usize + 1] += 1;
                astart[block_a[b as usize] as usize + 1] += 1;
                let r = recs.len() as u32;
                recs.push(Rec {
                    h: h as u32,
                    b,
                    slot: [r; 2],
                });
            }
        }
        for g in 0..nb {
            bstart[g + 1] += bstart[g];
        }
        for g in 0..na {
            astart[g + 1] += astart[g];
        }
        let ranks: Vec<u32> = (0..recs.len() as u32).collect();
        Nt4 {
            bits: pool.to_vec(),
            recs,
            blocks: Order {
                hosts: ranks.clone(),
                start: bstart,
                count: vec![[0; 2]; nb],
            },
            tops: Order {
                hosts: ranks,
                start: astart,
                count: vec![[0; 2]; na],
            },
            s8: Fenwick::new(na),
            c8: Fenwick::new(na),
            p8: Fenwick::new(na),
            p16: Fenwick::new(nb),
            last: Cell::new((u32::MAX, 0)),
        }
    }

    /// Susceptible hosts in the pool.
    #[inline]
    pub fn susceptible(&self) -> u64 {
        self.s8.total()
    }

    /// Crashed hosts in the pool.
    #[inline]
    pub fn crashed(&self) -> u64 {
        self.c8.total()
    }

    /// `Σ_A R_A·S_A` and `Σ_B R_B·S_B` [rate units × hosts].
    #[inline]
    pub fn products(&self) -> (u128, u128) {
        (self.p8.total(), self.p16.total())
    }

    /// Whether host `h` is in the pool.
    #[inline]
    pub fn has(&self, h: u32) -> bool {
        self.bits
            .get(h as usize / 64)
            .is_some_and(|w| w >> (h % 64) & 1 == 1)
    }

    /// The rank of host `h` (in the pool): the last pick's, or a search.
    #[inline]
    pub fn rank(&self, h: u32) -> u32 {
        let (lh, lr) = self.last.get();
        if lh == h {
            return lr;
        }
        self.recs.partition_point(|r| r.h < h) as u32
    }

    /// The block of the host of rank `r`.
    #[inline]
    pub fn block_of(&self, r: u32) -> usize {
        self.recs[r as usize].b as usize
    }

    /// The host of rank `r`, remembered as the last pick.
    #[inline]
    fn pick(&self, r: u32) -> u32 {
        let h = self.recs[r as usize].h;
        self.last.set((h, r));
        h
    }

    /// Move the host of rank `r` (of block `b`, /8 `a`) between regions;
    /// `rb` and `ra` are the summed weights of the spreading hosts of its
    /// block and /8.
    #[allow(clippy::too_many_arguments)]
    pub fn shift(
        &mut self,
        r: u32,
        b: usize,
        a: usize,
        rb: u64,
        ra: u64,
        from: Region,
        to: Region,
    ) {
        debug_assert_ne!(from, to);
        self.blocks.shift(&mut self.recs, 0, b, r, from, to);
        self.tops.shift(&mut self.recs, 1, a, r, from, to);
        let [sa, ca] = self.tops.count[a];
        self.s8.set(a, sa as u64);
        self.c8.set(a, ca as u64);
        if from == Region::Susceptible || to == Region::Susceptible {
            if ra > 0 {
                self.p8.set(a, ra as u128 * sa as u128);
            }
            if rb > 0 {
                self.p16
                    .set(b, rb as u128 * self.blocks.count[b][0] as u128);
            }
        }
    }

    /// The spreading weight of block `b` (of /8 `a`) became `rb`, and of `a`, `ra`.
    pub fn weight_changed(&mut self, b: usize, a: usize, rb: u64, ra: u64) {
        self.p16
            .set(b, rb as u128 * self.blocks.count[b][0] as u128);
        self.p8.set(a, ra as u128 * self.tops.count[a][0] as u128);
    }

    /// A /8 in proportion to `R_A·S_A`, for `u` uniform on `0..Σ R_A·S_A`.
    #[inline]
    pub fn top_by_product(&self, u: u128) -> usize {
        self.p8.find(u)
    }

    /// A block in proportion to `R_B·S_B`, for `u` uniform on `0..Σ R_B·S_B`.
    #[inline]
    pub fn block_by_product(&self, u: u128) -> usize {
        self.p16.find(u)
    }

    /// Susceptible hosts of /8 `a` and of block `b`.
    #[inline]
    pub fn susceptible_in_top(&self, a: usize) -> u32 {
        self.tops.count[a][0]
    }
    #[inline]
    pub fn susceptible_in_block(&self, b: usize) -> u32 {
        self.blocks.count[b][0]
    }

    /// The `j`-th susceptible host of /8 `a`, or of block `b`.
    #[inline]
    pub fn susceptible_of_top(&self, a: usize, j: u32) -> u32 {
        self.pick(self.tops.nth(a, Region::Susceptible, j))
    }
    #[inline]
    pub fn susceptible_of_block(&self, b: usize, j: u32) -> u32 {
        self.pick(self.blocks.nth(b, Region::Susceptible, j))
    }

    /// The `k`-th host of `region` (susceptible or crashed) over the whole
    /// pool, /8 by /8 (`k` below the region's size).
    pub fn nth(&self, region: Region, k: u64) -> u32 {
        let f = if region == Region::Crashed {
            &self.c8
        } else {
            &self.s8
        };
        let a = f.find(k);
        let j = k - f.prefix(a);
        self.pick(self.tops.nth(a, region, j as u32))
    }

    /// The region of host `h` (in the pool).
    #[cfg(test)]
    fn region_of(&self, h: u32) -> Region {
        let r = self.recs.partition_point(|x| x.h < h);
        let rec = self.recs[r];
        let b = rec.b as usize;
        let at = rec.slot[0] - self.blocks.start[b];
        let [s, c] = self.blocks.count[b];
        if at < s {
            Region::Susceptible
        } else if at < s + c {
            Region::Crashed
        } else {
            Region::Out
        }
    }

    /// Check every invariant (tests).
    #[cfg(test)]
    fn check(&self, host_b: &[u32], block_a: &[u32], rb: &[u64], ra: &[u64]) {
        for (k, o) in [&self.blocks, &self.tops].into_iter().enumerate() {
            for (slot, &r) in o.hosts.iter().enumerate() {
                assert_eq!(self.recs[r as usize].slot[k] as usize, slot);
            }
            for g in 0..o.count.len() {
                let len = o.start[g + 1] - o.start[g];
                assert!(o.count[g][0] + o.count[g][1] <= len);
                for slot in o.start[g]..o.start[g + 1] {
                    let h = self.recs[o.hosts[slot as usize] as usize].h as usize;
                    let grp = if k == 0 {
                        host_b[h]
                    } else {
                        block_a[host_b[h] as usize]
                    };
                    assert_eq!(grp as usize, g);
                }
            }
        }
        for (a, &[s, c]) in self.tops.count.iter().enumerate() {
            assert_eq!(self.s8.get(a), s as u64);
            assert_eq!(self.c8.get(a), c as u64);
            assert_eq!(self.p8.get(a), ra[a] as u128 * s as u128);
        }
        for (b, &[s, _]) in self.blocks.count.iter().enumerate() {
            assert_eq!(self.p16.get(b), rb[b] as u128 * s as u128);
        }
        // The two orders agree on every host's region.
        for rec in &self.recs {
            let a = block_a[rec.b as usize] as usize;
            let at = rec.slot[1] - self.tops.start[a];
            let [sa, ca] = self.tops.count[a];
            let r8 = if at < sa {
                Region::Susceptible
            } else if at < sa + ca {
                Region::Crashed
            } else {
                Region::Out
            };
            assert_eq!(self.region_of(rec.h), r8, "host {}", rec.h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Streams, below};

    /// Random region moves, weight changes and picks against a plain list of
    /// every host's region: the counts, the products, the two orders and the
    /// picks all agree with it.
    #[test]
    fn pool_agrees_with_a_plain_list_of_regions() {
        // 3 /8s; blocks 0,1 in /8 0, block 2 in /8 1, blocks 3,4 in /8 2.
        let block_a = vec![0u32, 0, 1, 2, 2];
        let host_b: Vec<u32> = (0..40u32).map(|h| (h * 5 / 40).min(4)).collect();
        // Every other host NT 4, and a run of them.
        let mut nt4 = vec![0u64; 1];
        for h in 0..40 {
            if h % 2 == 0 || (20..30).contains(&h) {
                nt4[0] |= 1 << h;
            }
        }
        let mut pool = Nt4::new(&nt4, &host_b, &block_a, 3);
        let mut region = [Region::Out; 40];
        let mut rb = vec![0u64; 5];
        let mut ra = vec![0u64; 3];
        let mut rng = Streams::new(9, 0).stream("nt4-test");
        let members: Vec<u32> = (0..40).filter(|&h| pool.has(h)).collect();
        assert_eq!(members.len(), 25);
        for step in 0..20_000 {
            if step % 7 == 0 {
                let b = below(&mut rng, 5) as usize;
                let a = block_a[b] as usize;
                let w = below(&mut rng, 4) as u64 * 1000;
                ra[a] = ra[a] - rb[b] + w;
                rb[b] = w;
                pool.weight_changed(b, a, rb[b], ra[a]);
            } else {
                let h = members[below(&mut rng, members.len() as u32) as usize];
                let to = match below(&mut rng, 3) {
                    0 => Region::Susceptible,
                    1 => Region::Crashed,
                    _ => Region::Out,
                };
                let from = region[h as usize];
                if from != to {
                    let r = pool.rank(h);
                    let b = pool.block_of(r);
                    assert_eq!(b, host_b[h as usize] as usize);
                    let a = block_a[b] as usize;
                    pool.shift(r, b, a, rb[b], ra[a], from, to);
                    region[h as usize] = to;
                }
            }
            if step % 101 == 0 {
                pool.check(&host_b, &block_a, &rb, &ra);
                for &h in &members {
                    assert_eq!(pool.region_of(h), region[h as usize]);
                }
                // The k-th host of a region, over the pool, lists the region.
                for r in [Region::Susceptible, Region::Crashed] {
                    let size = if r == Region::Crashed {
                        pool.crashed()
                    } else {
                        pool.susceptible()
                    };
                    let mut got: Vec<u32> = (0..size).map(|k| pool.nth(r, k)).collect();
                    got.sort_unstable();
                    let want: Vec<u32> = (0..40).filter(|&h| region[h as usize] == r).collect();
                    assert_eq!(got, want);
                }
                // Per block and per /8, the susceptible hosts listed by index.
                for b in 0..5 {
                    let mut got: Vec<u32> = (0..pool.susceptible_in_block(b))
                        .map(|j| pool.susceptible_of_block(b, j))
                        .collect();
                    got.sort_unstable();
                    let want: Vec<u32> = (0..40)
                        .filter(|&h| {
                            host_b[h as usize] as usize == b
                                && region[h as usize] == Region::Susceptible
                        })
                        .collect();
                    assert_eq!(got, want);
                }
                for a in 0..3 {
                    let n = pool.susceptible_in_top(a);
                    let want = (0..40)
                        .filter(|&h| {
                            block_a[host_b[h as usize] as usize] as usize == a
                                && region[h as usize] == Region::Susceptible
                        })
                        .count();
                    assert_eq!(n as usize, want);
                    for j in 0..n {
                        let h = pool.susceptible_of_top(a, j);
                        assert_eq!(block_a[host_b[h as usize] as usize] as usize, a);
                    }
                }
            }
        }
    }
}
