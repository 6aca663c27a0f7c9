//! A flawed generator that confines each host to one subset of the address
//! space (Slammer), aggregated per subset.
//!
//! The space is split into `k` equal classes of `Ω/k` addresses
//! ([`crate::engine::extras::Subsets`]). Host `h` probes uniformly within its
//! class `c_h`, so a probe of `h` reaches a given address of `c_h` with
//! probability `k/Ω`. With `R_c` the summed (effective) rate of spreading hosts
//! that scan class `c` and `S_c` the susceptible hosts whose address is in `c`,
//! the infection rate is `λ = Σ_c R_c·S_c·k/Ω`; an event picks `c ∝ R_c·S_c`, a
//! uniform susceptible host of class `c` and an infector of class `c` in
//! proportion to its rate. The weights live in a Fenwick tree over hosts
//! grouped by the class they scan, so `R_c` is a range sum (exact integers).

use crate::engine::extras::Extras;
use crate::fenwick::Fenwick;
use crate::rng::{Rng, below, below_u64, below_u128};

pub struct Subset {
    k: usize,
    /// Addresses per class.
    class_size: f64,
    addr_class: Vec<u32>,
    /// Susceptible hosts by the class of their address (swap-remove sets).
    susc: Vec<Vec<u32>>,
    spos: Vec<u32>,
    n_susceptible: usize,
    /// Slot of each host in the grouped weight tree, the host in each slot,
    /// and the first slot of each scan class (and a sentinel).
    slot: Vec<u32>,
    host_at_slot: Vec<u32>,
    off: Vec<usize>,
    w: Fenwick<u64>,
}

impl Subset {
    pub fn new(x: &Extras) -> Subset {
        let sub = x.subsets.as_ref().expect("prng_subsets > 1 draws subsets");
        let k = sub.len() as usize;
        let n = x.scan_class.len();
        let mut count = vec![0usize; k + 1];
        for &c in &x.scan_class {
            count[c as usize + 1] += 1;
        }
        for c in 0..k {
            count[c + 1] += count[c];
        }
        let off = count.clone();
        let mut next = count;
        let mut slot = vec![0u32; n];
        let mut host_at_slot = vec![0u32; n];
        for (h, &c) in x.scan_class.iter().enumerate() {
            let s = next[c as usize];
            next[c as usize] += 1;
            slot[h] = s as u32;
            host_at_slot[s] = h as u32;
        }
        Subset {
            k,
            class_size: sub.class_size() as f64,
            addr_class: x.addr_class.clone(),
            susc: vec![Vec::new(); k],
            spos: vec![u32::MAX; n],
            n_susceptible: 0,
            slot,
            host_at_slot,
            off,
            w: Fenwick::new(n),
        }
    }

    pub fn susceptible_count(&self) -> usize {
        self.n_susceptible
    }

    pub fn add_susceptible(&mut self, h: u32) {
        let c = self.addr_class[h as usize] as usize;
        self.spos[h as usize] = self.susc[c].len() as u32;
        self.susc[c].push(h);
        self.n_susceptible += 1;
    }

    pub fn remove_susceptible(&mut self, h: u32) {
        let c = self.addr_class[h as usize] as usize;
        let i = self.spos[h as usize] as usize;
        let last = self.susc[c].pop().expect("listed");
        if last != h {
            self.susc[c][i] = last;
            self.spos[last as usize] = i as u32;
        }
        self.spos[h as usize] = u32::MAX;
        self.n_susceptible -= 1;
    }

    pub fn weight_changed(&mut self, h: u32, new: u64) {
        self.w.set(self.slot[h as usize] as usize, new);
    }

    fn class_rate(&self, c: usize) -> u64 {
        self.w.prefix(self.off[c + 1]) - self.w.prefix(self.off[c])
    }

    /// `Σ_c R_c·S_c`, exactly [rate units × hosts].
    fn pairs(&self) -> u128 {
        (0..self.k)
            .map(|c| self.class_rate(c) as u128 * self.susc[c].len() as u128)
            .sum()
    }

    /// The infection rate before congestion [rate units/s].
    pub fn infection_rate_units(&self) -> f64 {
        super::f64_of(self.pairs()) / self.class_size
    }

    /// (target, infector) of an infection event.
    pub fn choose(&self, rng: &mut Rng) -> (u32, u32) {
        let mut u = below_u128(rng, self.pairs());
        let mut c = 0;
        loop {
            let p = self.class_rate(c) as u128 * self.susc[c].len() as u128;
            if u < p {
                break;
            }
            u -= p;
            c += 1;
        }
        let target = self.susc[c][below(rng, self.susc[c].len() as u32) as usize];
        let v = below_u64(rng, self.class_rate(c)) + self.w.prefix(self.off[c]);
        let by = self.host_at_slot[self.w.find(v)];
        (target, by)
    }
}
