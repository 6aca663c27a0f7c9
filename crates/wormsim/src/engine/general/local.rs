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
//! uniform susceptible host of a prefix, and an infector in proportion to rate,
//! come from range searches in the same trees.
//!
//! In a smaller experimental space of `b` bits the two levels are `/(b/4)` and
//! `/(b/2)` and nothing is reserved (only the host's own address is redrawn).

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
    rb: Vec<u64>,
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
            rb: vec![0; nb],
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
            .set(b, self.rb[b] as u128 * self.s16.get(b) as u128);
        self.p8.set(a, self.ra[a] as u128 * self.s8[a] as u128);
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
        let at = self.spos[h as usize] as usize;
        let other = self.sorder[slot];
        self.sorder.swap(at, slot);
        self.spos[other as usize] = at as u32;
        self.spos[h as usize] = slot as u32;
    }

    /// Host `h`'s scanning weight went from `old` to `new` [rate units].
    pub fn weight_changed(&mut self, h: u32, old: u64, new: u64) {
        let b = self.host_b[h as usize] as usize;
        let a = self.block_a[b] as usize;
        self.rb[b] = self.rb[b] - old + new;
        self.ra[a] = self.ra[a] - old + new;
        self.update_products(b);
    }

    /// `λ` in rate units per second (divide by units per probe), given the
    /// total weight `w`.
    pub fn infection_rate_units(&self, w: f64) -> f64 {
        self.c8 * self.p8.total() as f64
            + self.c16 * self.p16.total() as f64
            + self.cu * w * self.s16.total() as f64
    }

    /// A uniform susceptible host among blocks `b0..b1` holding `s` of them.
    fn susceptible_in(&self, b0: usize, s: u64, rng: &mut Rng) -> u32 {
        let u = below_u64(rng, s);
        let b = self.s16.find(self.s16.prefix(b0) + u);
        let k = below(rng, self.s16.get(b) as u32) as usize;
        self.sorder[self.b_start[b] as usize + k]
    }

    /// An infector in proportion to its weight among hosts `h0..`, whose weights sum to `r`.
    fn infector_in(weights: &Fenwick<u64>, h0: usize, r: u64, rng: &mut Rng) -> u32 {
        let u = below_u64(rng, r);
        weights.find(weights.prefix(h0) + u) as u32
    }

    /// Choose the next infection: (target, infector).
    pub fn choose(&self, weights: &Fenwick<u64>, w: u64, rng: &mut Rng) -> (u32, u32) {
        let a8 = self.c8 * self.p8.total() as f64;
        let a16 = self.c16 * self.p16.total() as f64;
        let au = self.cu * w as f64 * self.s16.total() as f64;
        let u = rng.random::<f64>() * (a8 + a16 + au);
        if u < a8 && self.p8.total() > 0 {
            let a = self.p8.find(below_u128(rng, self.p8.total()));
            let (b0, b1) = (self.a_first_b[a] as usize, self.a_first_b[a + 1] as usize);
            let target = self.susceptible_in(b0, self.s8[a], rng);
            let by = Self::infector_in(weights, self.b_start[b0] as usize, self.ra[a], rng);
            debug_assert!(b1 > b0);
            (target, by)
        } else if u < a8 + a16 && self.p16.total() > 0 {
            let b = self.p16.find(below_u128(rng, self.p16.total()));
            let target = self.susceptible_in(b, self.s16.get(b), rng);
            let by = Self::infector_in(weights, self.b_start[b] as usize, self.rb[b], rng);
            (target, by)
        } else {
            let target = self.susceptible_in(0, self.s16.total(), rng);
            let by = Self::infector_in(weights, 0, w, rng);
            (target, by)
        }
    }
}
