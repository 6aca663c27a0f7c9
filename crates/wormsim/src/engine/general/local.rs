//! Code Red II's local-preference scanning, aggregated per prefix.
//!
//! A CRII host at address `a` draws a target in its own /8 with probability
//! `p8 = 1/2`, in its own /16 with `p16 = 3/8`, and uniformly with `pu = 1/8`
//! (Nazario, codered.md §2.5), and draws again if the target is in 127/8, in
//! 224/8 and above, or is `a` itself. So one probe of host `h` reaches an allowed
//! address `v ≠ a_h` with probability
//!
//! `P_h(v) = [p8·1{v∈A(h)}/2^24 + p16·1{v∈B(h)}/2^16 + pu/2^32] / P_acc`,
//! `P_acc = 1 − p8/2^24 − p16/2^16 − pu·(33·2^24 + 1)/2^32`,
//!
//! and the total infection rate is
//!
//! `λ = [p8/2^24·Σ_A R_A·S_A + p16/2^16·Σ_B R_B·S_B + pu/2^32·R·S] / P_acc`,
//!
//! with `R_A` the summed rate of spreading hosts in /8 `A` and `S_A` its
//! susceptible count (ENGINE-NOTES). The products `R_A·S_A` and `R_B·S_B` live in
//! Fenwick trees over the occupied prefixes (exact 128-bit integers), so choosing
//! the channel, then the prefix, costs O(log prefixes). Because hosts are sorted
//! by address, the hosts (and /16 blocks) of a prefix are contiguous ranges, so a
//! uniform susceptible host of a prefix comes from a range search in the
//! same trees.
//!
//! An infector in proportion to rate: within /16 block `B`, a uniform member of
//! its spreading hosts kept with probability `w / bound` (rejection, `bound` ≥
//! every weight); within /8 `A`, first a block in proportion to `R_B` (a Fenwick
//! tree over blocks), then as within a block. Both are exact, and touch a few
//! small per-block arrays instead of a Fenwick tree over all hosts.
//!
//! In a smaller experimental space of `b` bits the two levels are `/(b/4)` and
//! `/(b/2)` and nothing is reserved (only the host's own address is redrawn).

use super::f64_of;
use crate::fenwick::Fenwick;
use crate::population::{Population, generate::block_levels};
use crate::rng::{Rng, below, below_u64, below_u128};
use crate::scenario::LocalPreferenceSpec;
use rand::RngExt;

pub struct Local {
    /// Coefficients of the three channels: probability per probe of one given
    /// address of the /8, of the /16, and of the whole space, after rejection.
    c8: f64,
    c16: f64,
    cu: f64,
    /// /16-block (second level) of each host.
    host_b: Vec<u32>,
    /// /8 (first level) of each block.
    block_a: Vec<u32>,
    /// First host of each block (and a sentinel).
    b_start: Vec<u32>,
    /// First block of each /8 (and a sentinel).
    a_first_b: Vec<u32>,
    /// Hosts grouped by block; the first `s16[b]` of each block are susceptible.
    sorder: Vec<u32>,
    spos: Vec<u32>,
    s16: Fenwick<u64>,
    s8: Vec<u64>,
    /// Hosts grouped by block; the first `k16[b]` of each block are spreading
    /// (nonzero weight).
    korder: Vec<u32>,
    /// The weight of the host at each position of `korder` [rate units]
    /// (beside it, so a draw need not read the host's record).
    kw: Vec<u64>,
    kpos: Vec<u32>,
    k16: Vec<u32>,
    /// Summed weight of each block's spreading hosts [rate units].
    rb: Fenwick<u64>,
    ra: Vec<u64>,
    p16: Fenwick<u128>,
    p8: Fenwick<u128>,
}

impl Local {
    pub fn new(pop: &Population, lp: LocalPreferenceSpec) -> Local {
        let bits = pop.space_bits();
        let (la, lb) = block_levels(bits);
        let (p8, p16) = (lp.same_slash8, lp.same_slash16);
        let pu = 1.0 - p8 - p16;
        let n8 = 2f64.powi((bits - la) as i32);
        let n16 = 2f64.powi((bits - lb) as i32);
        let nu = 2f64.powi(bits as i32);
        // Mass of the draws that are redrawn: own address in every channel, plus
        // 127/8 and 224/8–255/8 in the uniform channel of IPv4.
        let reserved = if bits == 32 {
            33.0 * 2f64.powi(24)
        } else {
            0.0
        };
        let p_acc = 1.0 - p8 / n8 - p16 / n16 - pu * (reserved + 1.0) / nu;
        let addrs = pop.addrs();
        let n = addrs.len();
        let mut host_b = Vec::with_capacity(n);
        let mut block_a = Vec::new();
        let mut b_start = Vec::new();
        let mut a_first_b = Vec::new();
        let mut last_b = u64::MAX;
        let mut last_a = u64::MAX;
        for (h, &a) in addrs.iter().enumerate() {
            let bkey = (a as u64) >> (bits - lb);
            let akey = (a as u64) >> (bits - la);
            if akey != last_a {
                a_first_b.push(block_a.len() as u32);
                last_a = akey;
            }
            if bkey != last_b {
                b_start.push(h as u32);
                block_a.push(a_first_b.len() as u32 - 1);
                last_b = bkey;
            }
            host_b.push(b_start.len() as u32 - 1);
        }
        b_start.push(n as u32);
        a_first_b.push(block_a.len() as u32);
        let nb = block_a.len();
        let na = a_first_b.len() - 1;
        Local {
            c8: p8 / n8 / p_acc,
            c16: p16 / n16 / p_acc,
            cu: pu / nu / p_acc,
            host_b,
            block_a,
            b_start,
            a_first_b,
            sorder: (0..n as u32).collect(),
            spos: (0..n as u32).collect(),
            s16: Fenwick::new(nb),
            s8: vec![0; na],
            korder: (0..n as u32).collect(),
            kw: vec![0; n],
            kpos: (0..n as u32).collect(),
            k16: vec![0; nb],
            rb: Fenwick::new(nb),
            ra: vec![0; na],
            p16: Fenwick::new(nb),
            p8: Fenwick::new(na),
        }
    }

    pub fn susceptible_count(&self) -> u64 {
        self.s16.total()
    }

    fn update_products(&mut self, b: usize) {
        let a = self.block_a[b] as usize;
        self.p16
            .set(b, self.rb.get(b) as u128 * self.s16.get(b) as u128);
        self.p8.set(a, self.ra[a] as u128 * self.s8[a] as u128);
    }

    /// Hint that `h` will become susceptible soon: load what
    /// [`Local::add_susceptible`] reads first.
    #[inline]
    pub fn prefetch(&self, h: u32) {
        crate::alloc::prefetch(&self.host_b[h as usize]);
        crate::alloc::prefetch(&self.spos[h as usize]);
    }

    /// `h` becomes susceptible: move it into its block's susceptible prefix.
    pub fn add_susceptible(&mut self, h: u32) {
        let b = self.host_b[h as usize] as usize;
        let s = self.s16.get(b);
        let slot = self.b_start[b] as usize + s as usize;
        self.swap_into(h, slot);
        self.s16.set(b, s + 1);
        self.s8[self.block_a[b] as usize] += 1;
        self.update_products(b);
    }

    /// `h` stops being susceptible.
    pub fn remove_susceptible(&mut self, h: u32) {
        let b = self.host_b[h as usize] as usize;
        let s = self.s16.get(b);
        let last = self.b_start[b] as usize + s as usize - 1;
        self.swap_into(h, last);
        self.s16.set(b, s - 1);
        self.s8[self.block_a[b] as usize] -= 1;
        self.update_products(b);
    }

    fn swap_into(&mut self, h: u32, slot: usize) {
        swap_to(&mut self.sorder, &mut self.spos, h, slot);
    }

    /// Move `h` to `slot` of the spreading order, its weight with it.
    fn swap_spreading(&mut self, h: u32, slot: usize) {
        let at = self.kpos[h as usize] as usize;
        swap_to(&mut self.korder, &mut self.kpos, h, slot);
        self.kw.swap(at, slot);
    }

    /// Host `h`'s scanning weight went from `old` to `new` [rate units].
    pub fn weight_changed(&mut self, h: u32, old: u64, new: u64) {
        let b = self.host_b[h as usize] as usize;
        let a = self.block_a[b] as usize;
        if old == 0 && new > 0 {
            let slot = self.b_start[b] as usize + self.k16[b] as usize;
            self.swap_spreading(h, slot);
            self.k16[b] += 1;
        } else if old > 0 && new == 0 {
            self.k16[b] -= 1;
            let slot = self.b_start[b] as usize + self.k16[b] as usize;
            self.swap_spreading(h, slot);
        }
        self.kw[self.kpos[h as usize] as usize] = new;
        self.rb.set(b, self.rb.get(b) - old + new);
        self.ra[a] = self.ra[a] - old + new;
        self.update_products(b);
    }

    /// `λ` in rate units per second (divide by units per probe), given the
    /// total weight `w`.
    pub fn infection_rate_units(&self, w: f64) -> f64 {
        self.c8 * f64_of(self.p8.total())
            + self.c16 * f64_of(self.p16.total())
            + self.cu * w * self.s16.total() as f64
    }

    /// A uniform susceptible host among blocks `b0..b1` holding `s` of them.
    fn susceptible_in(&self, b0: usize, s: u64, rng: &mut Rng) -> u32 {
        let u = below_u64(rng, s);
        let b = self.s16.find(self.s16.prefix(b0) + u);
        self.member_of(b, rng)
    }

    /// A uniform member of block `b`'s susceptible prefix (which has one).
    fn member_of(&self, b: usize, rng: &mut Rng) -> u32 {
        let k = below(rng, self.s16.get(b) as u32) as usize;
        self.sorder[self.b_start[b] as usize + k]
    }

    /// A uniform susceptible host of block `b` (which has one): what
    /// [`Local::susceptible_in`] returns for the one block, without its range
    /// search, which can only land on `b`. Its first draw is still made, so
    /// the stream, and every run, is the same either way.
    fn susceptible_of(&self, b: usize, rng: &mut Rng) -> u32 {
        let s = self.s16.get(b);
        debug_assert!(s > 0);
        let _ = below_u64(rng, s);
        self.member_of(b, rng)
    }

    /// An infector of block `b` in proportion to its weight, by rejection
    /// (`bound` at least every weight).
    fn infector_in_block(&self, b: usize, bound: u64, rng: &mut Rng) -> u32 {
        let k = self.k16[b];
        debug_assert!(k > 0);
        let first = self.b_start[b] as usize;
        loop {
            let i = first + below(rng, k) as usize;
            let w = self.kw[i];
            debug_assert!(w <= bound);
            if super::scanset::keep(w, bound, rng) {
                return self.korder[i];
            }
        }
    }

    /// An infector of top-level block (/8) `a` in proportion to its weight: a
    /// /16 block in proportion to its summed weight, then a host within it.
    fn infector_in_top(&self, a: usize, bound: u64, rng: &mut Rng) -> u32 {
        let b0 = self.a_first_b[a] as usize;
        let u = below_u64(rng, self.ra[a]);
        let b = self.rb.find(self.rb.prefix(b0) + u);
        self.infector_in_block(b, bound, rng)
    }

    /// Choose the next infection's target, and where its infector is to be
    /// drawn from ([`Local::infector`]). Given the source, the target and the
    /// infector are independent (a uniform susceptible host of the prefix, and
    /// a spreading host of it in proportion to weight), so the infector may be
    /// drawn later, from another stream, or not at all. `w` is the total
    /// weight [rate units].
    pub fn target(&self, w: u64, rng: &mut Rng) -> (u32, Source) {
        let a8 = self.c8 * f64_of(self.p8.total());
        let a16 = self.c16 * f64_of(self.p16.total());
        let au = self.cu * w as f64 * self.s16.total() as f64;
        let u = rng.random::<f64>() * (a8 + a16 + au);
        if u < a8 && self.p8.total() > 0 {
            let a = self.p8.find(below_u128(rng, self.p8.total()));
            let b0 = self.a_first_b[a] as usize;
            debug_assert!(self.a_first_b[a + 1] as usize > b0);
            (self.susceptible_in(b0, self.s8[a], rng), Source::Top(a))
        } else if u < a8 + a16 && self.p16.total() > 0 {
            let b = self.p16.find(below_u128(rng, self.p16.total()));
            (self.susceptible_of(b, rng), Source::Block(b))
        } else {
            (
                self.susceptible_in(0, self.s16.total(), rng),
                Source::Anywhere,
            )
        }
    }

    /// An infector from `source`, in proportion to weight. `bound` is at least
    /// every weight [rate units]; `uniform()` draws an infector in proportion
    /// to weight over all hosts.
    pub fn infector(
        &self,
        source: Source,
        bound: u64,
        uniform: impl FnOnce(&mut Rng) -> u32,
        rng: &mut Rng,
    ) -> u32 {
        match source {
            Source::Top(a) => self.infector_in_top(a, bound, rng),
            Source::Block(b) => self.infector_in_block(b, bound, rng),
            Source::Anywhere => uniform(rng),
        }
    }
}

/// Where an infection's probe came from ([`Local::target`]).
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// A host of the target's /8 (first level), by its own-/8 preference.
    Top(usize),
    /// A host of the target's /16 (second level), by its own-/16 preference.
    Block(usize),
    /// Any host, by the uniform part of the scan.
    Anywhere,
}

/// Move `h` to `slot` of `order`, swapping with the host there.
fn swap_to(order: &mut [u32], pos: &mut [u32], h: u32, slot: usize) {
    let at = pos[h as usize] as usize;
    let other = order[slot];
    order.swap(at, slot);
    pos[other as usize] = at as u32;
    pos[h as usize] = slot as u32;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;

    /// Infectors drawn within a /16 and within a /8 are proportional to weight
    /// (chi-square), after weights were raised, lowered and zeroed.
    #[test]
    fn infectors_within_a_prefix_follow_weight() {
        // 16-bit space: "/8" = top 4 bits, "/16" = top 8 bits. Hosts 0..4 share
        // a /16; hosts 4..6 are another /16 of the same /8.
        let addrs = vec![0x1010, 0x1011, 0x1012, 0x1013, 0x1120, 0x1121, 0x2000];
        let pop = Population::from_addrs(16, addrs).expect("valid");
        let mut l = Local::new(
            &pop,
            LocalPreferenceSpec {
                same_slash8: 0.5,
                same_slash16: 0.375,
            },
        );
        let weights: [u64; 7] = [3, 0, 8, 5, 6, 1, 4];
        for (h, &w) in weights.iter().enumerate() {
            l.weight_changed(h as u32, 0, w + 1);
        }
        for (h, &w) in weights.iter().enumerate() {
            l.weight_changed(h as u32, w + 1, w);
        }
        let bound = 8;
        let mut rng = Streams::new(3, 0).stream("local-test");
        let n = 200_000;
        let chi2 = |counts: &[u64], hosts: &[usize]| -> f64 {
            let total: u64 = hosts.iter().map(|&h| weights[h]).sum();
            let drawn: u64 = counts.iter().sum();
            hosts
                .iter()
                .filter(|&&h| weights[h] > 0)
                .map(|&h| {
                    let e = drawn as f64 * weights[h] as f64 / total as f64;
                    (counts[h] as f64 - e).powi(2) / e
                })
                .sum()
        };
        // Within the first /16 (block 0): hosts 0, 2, 3 (host 1 has weight 0).
        let mut c = [0u64; 7];
        for _ in 0..n {
            c[l.infector_in_block(0, bound, &mut rng) as usize] += 1;
        }
        assert_eq!(c[1] + c[4] + c[5] + c[6], 0, "{c:?}");
        // 2 degrees of freedom: P(chi2 > 18.4) ≈ 1e-4.
        assert!(chi2(&c, &[0, 1, 2, 3]) < 18.4, "{c:?}");
        // Within the first /8: a block by summed weight, then a host.
        let mut c = [0u64; 7];
        let a = l.block_a[0] as usize;
        for _ in 0..n {
            c[l.infector_in_top(a, bound, &mut rng) as usize] += 1;
        }
        assert_eq!(c[1] + c[6], 0, "{c:?}");
        // 4 degrees of freedom: P(chi2 > 23.5) ≈ 1e-4.
        assert!(chi2(&c, &[0, 1, 2, 3, 4, 5]) < 23.5, "{c:?}");
    }
}
