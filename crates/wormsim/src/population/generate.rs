//! Population generators.

use super::{Population, PopulationError, check_space_bits};
use crate::fenwick::Fenwick;
use crate::rng::Rng;
use rand::{Rng as _, RngExt};
use rand_distr::{Binomial, Distribution};

/// Blocks of IPv4 space that are not routable unicast (first address, prefix length).
///
/// 0/8 ("this network"), 10/8, 172.16/12 and 192.168/16 (RFC 1918 private),
/// 127/8 (loopback), 169.254/16 (link-local) and 224/3 (multicast and reserved).
pub const UNROUTABLE: [(u32, u8); 7] = [
    (0x0000_0000, 8),
    (0x0A00_0000, 8),
    (0x7F00_0000, 8),
    (0xA9FE_0000, 16),
    (0xAC10_0000, 12),
    (0xC0A8_0000, 16),
    (0xE000_0000, 3),
];

/// Whether `a` is routable unicast IPv4 (not in [`UNROUTABLE`]).
pub fn is_routable(a: u32) -> bool {
    UNROUTABLE
        .iter()
        .all(|&(base, len)| (a ^ base) >> (32 - len) != 0)
}

/// Number of eligible host addresses in a `2^space_bits` space: routable unicast
/// for 32 bits, every address for a smaller experimental space.
pub fn eligible_capacity(space_bits: u8) -> u64 {
    if space_bits == 32 {
        let excluded: u64 = UNROUTABLE.iter().map(|&(_, len)| 1u64 << (32 - len)).sum();
        (1u64 << 32) - excluded
    } else {
        1u64 << space_bits
    }
}

fn eligible(a: u32, space_bits: u8) -> bool {
    space_bits < 32 || is_routable(a)
}

fn random_addr(space_bits: u8, rng: &mut Rng) -> u32 {
    let x = rng.next_u32();
    if space_bits == 32 {
        x
    } else {
        x >> (32 - space_bits)
    }
}

/// `hosts` distinct addresses, uniform over the eligible space.
///
/// # Errors
/// More hosts than eligible addresses.
pub fn uniform(hosts: u32, space_bits: u8, rng: &mut Rng) -> Result<Population, PopulationError> {
    check_space_bits(space_bits)?;
    let capacity = eligible_capacity(space_bits);
    let n = hosts as usize;
    if hosts as u64 > capacity {
        return Err(PopulationError::TooLarge {
            hosts: hosts as u64,
            capacity,
            space_bits,
        });
    }
    if space_bits < 32 && (n as u64) * 4 > capacity {
        // Dense: partial Fisher-Yates over every address.
        let mut all: Vec<u32> = (0..capacity as u32).collect();
        for i in 0..n {
            let j = rng.random_range(i..all.len());
            all.swap(i, j);
        }
        all.truncate(n);
        return Population::from_addrs(space_bits, all);
    }
    // Sparse: draw iid, drop duplicates, top up. Equivalent to drawing one by one
    // until `n` distinct addresses are seen, so the result is a uniform n-subset.
    let mut addrs: Vec<u32> = Vec::with_capacity(n);
    while addrs.len() < n {
        let missing = n - addrs.len();
        let mut k = 0;
        while k < missing {
            let a = random_addr(space_bits, rng);
            if eligible(a, space_bits) {
                addrs.push(a);
                k += 1;
            }
        }
        addrs.sort_unstable();
        addrs.dedup();
    }
    Population::from_addrs(space_bits, addrs)
}

/// Parameters of the clustered generator.
///
/// In a 32-bit space the two block levels are /8 and /16. In a smaller space of
/// `b` bits they are `/(b/4)` and `/(b/2)` of that space, so the shape carries over.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterParams {
    /// Number of occupied top-level blocks (/8s).
    pub slash8_blocks: u32,
    /// Number of occupied second-level blocks (/16s).
    pub slash16_blocks: u32,
    /// Zipf exponent of the /8 weights: the k-th /8 (in random order) gets weight
    /// `k^-s` when /16s are placed.
    pub slash8_zipf: f64,
    /// Zipf exponent of /16 occupancy: the k-th /16 gets a share of hosts `∝ k^-s`.
    pub slash16_zipf: f64,
}

/// Prefix lengths `(top, sub)` of the two block levels in a space of `space_bits`.
pub fn block_levels(space_bits: u8) -> (u8, u8) {
    (space_bits / 4, space_bits / 2)
}

fn block_eligible(block: u32, len: u8, space_bits: u8) -> bool {
    if space_bits < 32 {
        return true;
    }
    // A block is eligible when no unroutable range covers it (blocks partly
    // covered by a longer unroutable prefix are handled per address below).
    let base = block << (32 - len);
    UNROUTABLE
        .iter()
        .all(|&(ub, ulen)| ulen > len || (base ^ ub) >> (32 - ulen) != 0)
}

/// Largest Zipf exponent accepted: `k^-s` stays a normal `f64` for every rank
/// `k <= 2^16` (`2^-800`), so no block's weight is rounded to zero.
pub const MAX_ZIPF: f64 = 50.0;

/// Check clustered-population parameters; on error, the offending field and why.
///
/// # Errors
/// `(field, message)` for the first bad parameter.
pub fn check_cluster_params(
    hosts: u32,
    space_bits: u8,
    p: &ClusterParams,
) -> Result<(), (&'static str, String)> {
    let (la, lb) = block_levels(space_bits);
    let eligible_tops = (0..1u32 << la)
        .filter(|&b| block_eligible(b, la, space_bits))
        .count();
    for (what, s) in [
        ("slash8_zipf", p.slash8_zipf),
        ("slash16_zipf", p.slash16_zipf),
    ] {
        if !(s.is_finite() && (0.0..=MAX_ZIPF).contains(&s)) {
            return Err((
                what,
                format!(
                    "{s} must be a number from 0 to {MAX_ZIPF} (a larger exponent \
                     underflows the weights of the low ranks to zero)"
                ),
            ));
        }
    }
    if p.slash8_blocks == 0 || p.slash8_blocks as usize > eligible_tops {
        return Err((
            "slash8_blocks",
            format!(
                "{} must be between 1 and {eligible_tops} (eligible /{la} blocks)",
                p.slash8_blocks
            ),
        ));
    }
    let max_subs = p.slash8_blocks as u64 * (1u64 << (lb - la));
    if p.slash16_blocks == 0 || p.slash16_blocks as u64 > max_subs * 3 / 4 {
        return Err((
            "slash16_blocks",
            format!(
                "{} must be between 1 and {} (3/4 of the /{lb} blocks inside {} /{la} blocks); use fewer, or more slash8_blocks",
                p.slash16_blocks,
                max_subs * 3 / 4,
                p.slash8_blocks
            ),
        ));
    }
    let capacity = p.slash16_blocks as u64 * (1u64 << (space_bits - lb)) / 2;
    if hosts as u64 > capacity {
        return Err((
            "hosts",
            format!(
                "{hosts} hosts do not fit in {} clustered /{lb} blocks (at most {capacity}, half of each block); \
                 use fewer hosts or more slash16_blocks",
                p.slash16_blocks
            ),
        ));
    }
    Ok(())
}

/// `hosts` distinct addresses concentrated in `slash8_blocks` top blocks and
/// `slash16_blocks` second-level blocks with Zipf occupancy.
///
/// # Errors
/// Parameters out of range or more hosts than the chosen blocks hold.
pub fn clustered(
    hosts: u32,
    space_bits: u8,
    p: &ClusterParams,
    rng: &mut Rng,
) -> Result<Population, PopulationError> {
    clustered_with(hosts, space_bits, p, rng, true)
}

/// [`clustered`], with dense blocks deduplicated in a bitmap (`bitmap`) or, as
/// sparse ones are, by sorting: the same population either way (tested).
fn clustered_with(
    hosts: u32,
    space_bits: u8,
    p: &ClusterParams,
    rng: &mut Rng,
    bitmap: bool,
) -> Result<Population, PopulationError> {
    check_space_bits(space_bits)?;
    let (la, lb) = block_levels(space_bits);
    let n_top = 1u32 << la;
    let subs_per_top = 1u32 << (lb - la);
    let sub_size = 1u64 << (space_bits - lb);
    check_cluster_params(hosts, space_bits, p)
        .map_err(|(what, why)| PopulationError::Invalid { what, why })?;
    let bad = |what, why: String| Err(PopulationError::Invalid { what, why });
    let tops: Vec<u32> = (0..n_top)
        .filter(|&b| block_eligible(b, la, space_bits))
        .collect();

    // 1. Top blocks: a uniform random choice, in random order (that order is the
    //    Zipf rank).
    let mut tops = tops;
    for i in 0..p.slash8_blocks as usize {
        let j = rng.random_range(i..tops.len());
        tops.swap(i, j);
    }
    tops.truncate(p.slash8_blocks as usize);
    // Eligible sub-blocks of each top block (fewer than `subs_per_top` where an
    // unroutable range such as 172.16/12 lies inside): a top block leaves the
    // draw when these are taken, not when every sub-block is.
    let top_cap: Vec<u32> = tops
        .iter()
        .map(|&t| {
            (0..subs_per_top)
                .filter(|&s| block_eligible((t << (lb - la)) | s, lb, space_bits))
                .count() as u32
        })
        .collect();
    let mut top_w: Vec<f64> = (1..=tops.len())
        .zip(&top_cap)
        .map(|(k, &cap)| {
            if cap > 0 {
                (k as f64).powf(-p.slash8_zipf)
            } else {
                0.0
            }
        })
        .collect();
    let mut top_tree = Fenwick::from_weights(&top_w);
    let mut top_used = vec![0u32; tops.len()];

    // 2. Second-level blocks: pick a top block by weight, then a free sub-block in
    //    it uniformly. A top block that fills up leaves the draw.
    let mut subs: Vec<u32> = Vec::with_capacity(p.slash16_blocks as usize);
    // A bit per second-level block of the space (8 KiB for IPv4).
    let mut taken = vec![0u64; (1usize << lb).div_ceil(64)];
    let mut take = |sub: u32| {
        let (w, bit) = (sub as usize / 64, 1u64 << (sub % 64));
        let new = taken[w] & bit == 0;
        taken[w] |= bit;
        new
    };
    while subs.len() < p.slash16_blocks as usize {
        if top_tree.total() <= 0.0 {
            return bad(
                "slash16_blocks",
                "not enough free blocks; use fewer".to_string(),
            );
        }
        let ti = top_tree.find(rng.random::<f64>() * top_tree.total());
        let sub = (tops[ti] << (lb - la)) | rng.random_range(0..subs_per_top);
        if block_eligible(sub, lb, space_bits) && take(sub) {
            subs.push(sub);
            top_used[ti] += 1;
            if top_used[ti] == top_cap[ti] {
                // Rebuilt, not updated: subtracting a full block's weight
                // from the sums would leave rounding residue, which with a
                // steep exponent can outweigh the blocks still open (or make
                // the total <= 0). At most one rebuild per top block.
                top_w[ti] = 0.0;
                top_tree = Fenwick::from_weights(&top_w);
            }
        }
    }

    // 3. Hosts per second-level block: multinomial with Zipf weights, drawn as a
    //    chain of conditional binomials, capped at half a block (what a full block
    //    cannot take passes on to the blocks after it).
    let cap = (sub_size / 2) as u32;
    let sub_w: Vec<f64> = (1..=subs.len())
        .map(|k| (k as f64).powf(-p.slash16_zipf))
        .collect();
    let mut weight_left: f64 = sub_w.iter().sum();
    let mut hosts_left = hosts as u64;
    let mut count = vec![0u32; subs.len()];
    for (si, &w) in sub_w.iter().enumerate() {
        if hosts_left == 0 {
            break;
        }
        let blocks_after = (subs.len() - si - 1) as u64;
        let prob = if weight_left > 0.0 {
            (w / weight_left).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let draw = if blocks_after == 0 || prob >= 1.0 {
            hosts_left
        } else {
            Binomial::new(hosts_left, prob)
                .expect("valid binomial")
                .sample(rng)
        };
        // Never leave more hosts than the remaining blocks can hold.
        let must = hosts_left.saturating_sub(blocks_after * cap as u64);
        let c = draw.max(must).min(cap as u64);
        count[si] = c as u32;
        hosts_left -= c;
        weight_left -= w;
    }
    // Blocks in address order, so the addresses come out sorted.
    let mut by_addr: Vec<usize> = (0..subs.len()).collect();
    by_addr.sort_unstable_by_key(|&i| subs[i]);

    // 4. Addresses inside each block: distinct, uniform, routable. Blocks
    // with at least one host per 256 addresses are deduplicated in a bitmap
    // (for a /16, 1,024 words to clear and scan: cheaper than sorting its
    // 256 or more draws), the others by sorting: the same draws, rounds and
    // addresses. (One per 64 before: the CRv2 preset's setup then took
    // 194.7e6 instructions, now 188.6e6; one per 512 gave 188.6e6 too, one
    // per 1,024 191.5e6.)
    let mut addrs = Vec::with_capacity(hosts as usize);
    let mut local: Vec<u32> = Vec::new();
    let mut seen: Vec<u64> = Vec::new();
    for &si in &by_addr {
        let c = count[si];
        let base = (subs[si] as u64) << (space_bits - lb);
        let block = Block {
            base,
            size: sub_size,
            space_bits,
        };
        if bitmap && c as u64 * 256 >= sub_size {
            block.fill_by_bitmap(c, rng, &mut seen, &mut addrs);
        } else {
            block.fill_by_sorting(c, rng, &mut local, &mut addrs);
        }
    }
    Population::from_addrs(space_bits, addrs)
}

/// One block of the clustered population: `size` addresses from `base`.
struct Block {
    base: u64,
    size: u64,
    space_bits: u8,
}

impl Block {
    /// One round: `n` uniform offsets in the block, each eligible address
    /// handed to `keep`.
    fn draw(&self, n: u32, rng: &mut Rng, mut keep: impl FnMut(u32, u32)) {
        for _ in 0..n {
            let off = rng.random_range(0..self.size as u32);
            let a = (self.base + off as u64) as u32;
            if eligible(a, self.space_bits) {
                keep(off, a);
            }
        }
    }

    /// `c` distinct addresses, in rounds that redraw the duplicates,
    /// deduplicated by sorting; appended to `addrs` in order.
    fn fill_by_sorting(&self, c: u32, rng: &mut Rng, local: &mut Vec<u32>, addrs: &mut Vec<u32>) {
        local.clear();
        while local.len() < c as usize {
            let missing = (c as usize - local.len()) as u32;
            self.draw(missing, rng, |_, a| local.push(a));
            local.sort_unstable();
            local.dedup();
        }
        addrs.extend_from_slice(local);
    }

    /// The same rounds and addresses as [`Block::fill_by_sorting`],
    /// deduplicated in a bitmap of the block (a bit per address: 8 KiB for a
    /// /16, reused from block to block) instead. The largest blocks hold tens
    /// of thousands of hosts.
    fn fill_by_bitmap(&self, c: u32, rng: &mut Rng, seen: &mut Vec<u64>, addrs: &mut Vec<u32>) {
        seen.clear();
        seen.resize(self.size.div_ceil(64) as usize, 0);
        let mut have = 0;
        while have < c {
            self.draw(c - have, rng, |off, _| {
                let (w, bit) = ((off / 64) as usize, 1u64 << (off % 64));
                if seen[w] & bit == 0 {
                    seen[w] |= bit;
                    have += 1;
                }
            });
        }
        for (w, &word) in seen.iter().enumerate() {
            let mut x = word;
            while x != 0 {
                addrs.push((self.base + (w as u64) * 64 + x.trailing_zeros() as u64) as u32);
                x &= x - 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::parse_addr;
    use rand::SeedableRng;

    fn rng() -> Rng {
        Rng::seed_from_u64(7)
    }

    #[test]
    fn routable_exclusions() {
        for (a, ok) in [
            ("0.1.2.3", false),
            ("10.9.9.9", false),
            ("127.0.0.1", false),
            ("169.254.3.4", false),
            ("169.253.3.4", true),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("172.32.0.0", true),
            ("192.168.1.1", false),
            ("192.169.1.1", true),
            ("223.255.255.255", true),
            ("224.0.0.1", false),
            ("255.255.255.255", false),
            ("198.137.240.91", true),
        ] {
            assert_eq!(is_routable(parse_addr(a).unwrap()), ok, "{a}");
        }
        let excl = 3 * (1u64 << 24) + (1 << 29) + (1 << 20) + 2 * (1 << 16);
        assert_eq!(eligible_capacity(32), (1u64 << 32) - excl);
        assert_eq!(eligible_capacity(16), 65_536);
    }

    #[test]
    fn uniform_is_distinct_routable_and_sized() {
        let p = uniform(50_000, 32, &mut rng()).unwrap();
        assert_eq!(p.len(), 50_000);
        assert!(p.addrs().iter().all(|&a| is_routable(a)));
        assert!(p.addrs().windows(2).all(|w| w[0] < w[1]));
        let dense = uniform(60_000, 16, &mut rng()).unwrap();
        assert_eq!(dense.len(), 60_000);
        assert!(matches!(
            uniform(70_000, 16, &mut rng()),
            Err(PopulationError::TooLarge { .. })
        ));
    }

    #[test]
    fn uniform_first_octets_are_spread() {
        // Chi-square of the first octet over the 221 routable /8s (with a few
        // partly excluded ones, expected counts are proportional to capacity).
        let p = uniform(221 * 200, 32, &mut rng()).unwrap();
        let mut counts = [0u64; 256];
        for &a in p.addrs() {
            counts[(a >> 24) as usize] += 1;
        }
        let cap = eligible_capacity(32) as f64;
        let mut chi2 = 0.0;
        let mut dof = 0;
        for (o, &c) in counts.iter().enumerate() {
            let mut size = 0u64;
            if block_eligible(o as u32, 8, 32) {
                size = 1 << 24;
                for &(ub, ul) in &UNROUTABLE {
                    if ul > 8 && (ub >> 24) == o as u32 {
                        size -= 1 << (32 - ul);
                    }
                }
            }
            if size == 0 {
                assert_eq!(c, 0);
                continue;
            }
            let e = p.len() as f64 * size as f64 / cap;
            chi2 += (c as f64 - e).powi(2) / e;
            dof += 1;
        }
        // dof-1 = 220; chi-square 220 has p = 1e-6 near 339.
        assert!(chi2 < 339.0, "chi2 {chi2} over {dof} cells");
    }

    #[test]
    fn clustered_concentrates() {
        let params = ClusterParams {
            slash8_blocks: 20,
            slash16_blocks: 500,
            slash8_zipf: 1.0,
            slash16_zipf: 1.0,
        };
        let p = clustered(100_000, 32, &params, &mut rng()).unwrap();
        assert_eq!(p.len(), 100_000);
        assert!(p.addrs().iter().all(|&a| is_routable(a)));
        let mut s8: Vec<u32> = p.addrs().iter().map(|a| a >> 24).collect();
        s8.dedup();
        assert!(s8.len() <= 20);
        let mut s16: Vec<u32> = p.addrs().iter().map(|a| a >> 16).collect();
        s16.dedup();
        assert!(s16.len() <= 500 && s16.len() > 400);
        // Heavy tail: the largest /16 holds far more than the mean (200).
        let mut per16 = std::collections::BTreeMap::new();
        for &a in p.addrs() {
            *per16.entry(a >> 16).or_insert(0u32) += 1;
        }
        let max = *per16.values().max().unwrap();
        assert!(max > 2_000, "largest /16 has only {max}");
    }

    /// The steepest accepted exponents, with so many /16s that most /8s fill
    /// up: the /8 weights are re-summed when one fills, so the few open /8s
    /// (weights down to 2^-300 of the first) are still drawn, and every /16
    /// is placed. Subtracting each full /8's weight instead left a total of
    /// rounding residue, which could be zero or negative.
    #[test]
    fn steep_zipf_fills_the_top_blocks_in_rank_order() {
        for bits in [32, 16] {
            let (la, lb) = block_levels(bits);
            let s8 = 64.min((1u32 << la) / 2);
            let s16 = s8 * (1 << (lb - la)) * 3 / 4;
            let params = ClusterParams {
                slash8_blocks: s8,
                slash16_blocks: s16,
                slash8_zipf: MAX_ZIPF,
                slash16_zipf: MAX_ZIPF,
            };
            let p = clustered(s16 * 4, bits, &params, &mut rng()).unwrap();
            assert_eq!(p.len() as u32, s16 * 4);
            let mut blocks: Vec<u32> = p.addrs().iter().map(|a| a >> (bits - lb)).collect();
            blocks.dedup();
            assert!(
                blocks.len() as u32 <= s16,
                "{bits} bits: {} blocks",
                blocks.len()
            );
        }
        let mut bad = ClusterParams {
            slash8_blocks: 4,
            slash16_blocks: 20,
            slash8_zipf: MAX_ZIPF + 1.0,
            slash16_zipf: 1.0,
        };
        assert!(clustered(1_000, 16, &bad, &mut rng()).is_err());
        bad.slash8_zipf = 1.0;
        bad.slash16_zipf = f64::INFINITY;
        assert!(clustered(1_000, 16, &bad, &mut rng()).is_err());
    }

    /// The bitmap for dense blocks against sorting every block: the same
    /// addresses, in the same order, and the same draws after (the next
    /// number from the stream agrees), for blocks from sparse to half full.
    #[test]
    fn dense_blocks_give_the_population_sorting_gives() {
        use rand::RngExt;
        for (hosts, bits, s8, s16, zipf) in [
            (100_000, 32, 20, 500, 1.0),
            (30_000, 32, 3, 10, 0.3),
            (2_000, 16, 4, 20, 1.5),
            (20_000, 20, 8, 64, 0.0),
        ] {
            let params = ClusterParams {
                slash8_blocks: s8,
                slash16_blocks: s16,
                slash8_zipf: zipf,
                slash16_zipf: zipf,
            };
            let mut r1 = rng();
            let mut r2 = rng();
            let fast = clustered_with(hosts, bits, &params, &mut r1, true).unwrap();
            let slow = clustered_with(hosts, bits, &params, &mut r2, false).unwrap();
            assert_eq!(fast.addrs(), slow.addrs(), "{hosts} hosts in {s16} blocks");
            assert_eq!(r1.random::<u64>(), r2.random::<u64>());
        }
    }

    #[test]
    fn clustered_small_space_and_errors() {
        let params = ClusterParams {
            slash8_blocks: 4,
            slash16_blocks: 20,
            slash8_zipf: 1.0,
            slash16_zipf: 0.5,
        };
        let p = clustered(1_000, 16, &params, &mut rng()).unwrap();
        assert_eq!(p.len(), 1_000);
        assert!(p.addrs().iter().all(|&a| a < 65_536));
        let mut bad = params.clone();
        bad.slash8_blocks = 17;
        assert!(clustered(1_000, 16, &bad, &mut rng()).is_err());
        assert!(matches!(
            clustered(5_000, 16, &params, &mut rng()),
            Err(PopulationError::Invalid { what: "hosts", .. })
        ));
    }
}
