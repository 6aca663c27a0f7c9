//! CRv1's fixed scan order as a keyed bijection of the address space.
//!
//! CRv1 seeded its random number generator with a constant, so every infected
//! host probed the same sequence of addresses (CAIDA dataset README; codered.md
//! §2.4). The real generator is not reproduced here (no exploit code, and its
//! details are [U]); instead the order is a *keyed pseudo-random permutation*: a
//! 4-round Feistel network over `2^bits` (for an odd number of bits, over
//! `2^(bits+1)` with cycle walking). That keeps the property the mechanism needs
//! (one fixed, pseudo-random order shared by every host) and makes both
//! directions O(1): the address probed at position `p` is [`Sequence::addr_at`],
//! and the position at which an address is probed is [`Sequence::pos_of`].

/// A keyed permutation of `0..2^bits`.
#[derive(Clone, Debug)]
pub struct Sequence {
    bits: u8,
    half: u8,
    keys: [u32; 4],
}

fn mix(x: u32, k: u32) -> u32 {
    let mut z = (x ^ k).wrapping_mul(0x9E37_79B9) ^ 0x85EB_CA6B;
    z ^= z >> 15;
    z = z.wrapping_mul(0xC2B2_AE35);
    z ^= z >> 13;
    z = z.wrapping_mul(0x27D4_EB2F);
    z ^ (z >> 16)
}

impl Sequence {
    /// The permutation of `0..2^bits` (16 ≤ bits ≤ 32) with this key.
    pub fn new(bits: u8, key: u64) -> Sequence {
        assert!((2..=32).contains(&bits), "bits out of range");
        let even = bits + (bits & 1);
        let mut keys = [0u32; 4];
        let mut s = key ^ 0x6A09_E667_F3BC_C908;
        for k in &mut keys {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *k = (z ^ (z >> 31)) as u32;
        }
        Sequence {
            bits,
            half: even / 2,
            keys,
        }
    }

    /// Size of the permuted space.
    pub fn len(&self) -> u64 {
        1u64 << self.bits
    }

    /// Always false (the space is never empty).
    pub fn is_empty(&self) -> bool {
        false
    }

    fn encrypt_once(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half) - 1;
        let (mut l, mut r) = ((x >> self.half) & mask, x & mask);
        for &k in &self.keys {
            let f = mix(r as u32, k) as u64 & mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half) | r
    }

    fn decrypt_once(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half) - 1;
        let (mut l, mut r) = ((x >> self.half) & mask, x & mask);
        for &k in self.keys.iter().rev() {
            let f = mix(l as u32, k) as u64 & mask;
            (l, r) = (r ^ f, l);
        }
        (l << self.half) | r
    }

    /// The address probed at position `pos` of the sequence.
    pub fn addr_at(&self, pos: u64) -> u32 {
        debug_assert!(pos < self.len());
        let mut x = self.encrypt_once(pos);
        while x >= self.len() {
            x = self.encrypt_once(x); // cycle walking
        }
        x as u32
    }

    /// The position at which `addr` is probed.
    pub fn pos_of(&self, addr: u32) -> u64 {
        let mut x = self.decrypt_once(addr as u64);
        while x >= self.len() {
            x = self.decrypt_once(x);
        }
        x
    }
}

/// The hosts of a population in the order a keyed permutation visits their
/// addresses: what CRv1's runners and permutation scanners search.
pub struct HostOrder {
    /// Positions in the order (`2^bits`).
    pub len: u64,
    /// The hosts' positions, ascending.
    pub pos_sorted: Vec<u64>,
    /// The host at each rank.
    pub host_at_rank: Vec<u32>,
    /// Each host's rank.
    pub rank_of_host: Vec<u32>,
}

impl HostOrder {
    pub fn new(pop: &crate::population::Population, key: u64) -> HostOrder {
        let seq = Sequence::new(pop.space_bits(), key);
        let mut by_pos: Vec<(u64, u32)> = pop
            .addrs()
            .iter()
            .enumerate()
            .map(|(h, &a)| (seq.pos_of(a), h as u32))
            .collect();
        by_pos.sort_unstable();
        let mut rank_of_host = vec![0u32; pop.len()];
        for (r, &(_, h)) in by_pos.iter().enumerate() {
            rank_of_host[h as usize] = r as u32;
        }
        HostOrder {
            len: seq.len(),
            pos_sorted: by_pos.iter().map(|p| p.0).collect(),
            host_at_rank: by_pos.iter().map(|p| p.1).collect(),
            rank_of_host,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_bijection_on_small_spaces() {
        for bits in [16u8, 17] {
            let s = Sequence::new(bits, 42);
            let mut seen = vec![false; 1 << bits];
            for p in 0..s.len() {
                let a = s.addr_at(p);
                assert!(!seen[a as usize], "bits {bits}: {a} twice");
                seen[a as usize] = true;
                assert_eq!(s.pos_of(a), p);
            }
        }
    }

    #[test]
    fn round_trips_in_ipv4_and_depends_on_the_key() {
        let s = Sequence::new(32, 7);
        for p in [0u64, 1, 2, 12345, 4_000_000_000, (1 << 32) - 1] {
            assert_eq!(s.pos_of(s.addr_at(p)), p);
        }
        let t = Sequence::new(32, 8);
        assert_ne!(
            (0..8).map(|p| s.addr_at(p)).collect::<Vec<_>>(),
            (0..8).map(|p| t.addr_at(p)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn looks_random_over_slash8s() {
        // The first 2^16 positions spread over the /8s about evenly (chi-square,
        // 255 dof, p = 1e-6 at ~ 384).
        let s = Sequence::new(32, 1);
        let mut c = [0u32; 256];
        for p in 0..65_536 {
            c[(s.addr_at(p) >> 24) as usize] += 1;
        }
        let e = 256.0;
        let chi: f64 = c.iter().map(|&o| (o as f64 - e).powi(2) / e).sum();
        assert!(chi < 384.0, "{chi}");
    }
}
