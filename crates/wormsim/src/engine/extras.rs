//! Per-host inputs of the mechanisms beyond Code Red, drawn once per run from
//! their own named streams and identical for every engine: the hit list and
//! which seed holds which part of it, the address subsets of a flawed
//! generator (Slammer), and which hosts run a throttle or sit behind an egress
//! filter. Like [`super::Setup`], they are inputs, not part of the outbreak.

use super::sequence::Sequence;
use super::{Setup, SetupError};
use crate::population::fmt_addr;
use crate::rng::{Streams, stream};
use crate::scenario::{HitListHosts, Scenario};
use rand::RngExt;

/// Whether a scenario uses none of these mechanisms (and the fast SI path may run).
pub fn none(s: &Scenario) -> bool {
    s.hit_list.is_none()
        && s.containment.is_none()
        && s.worm.prng_subsets <= 1
        && s.worm.payload.is_none()
        && !matches!(s.worm.scan, crate::scenario::ScanStrategy::Permutation(_))
        && !matches!(
            s.worm.scan_rate,
            crate::scenario::ScanRateSpec::Bandwidth { .. }
        )
}

/// Whether a scenario uses a mechanism that hooks into the engines (a hit
/// list, permutation scanning, subsets, a payload, containment); bandwidth-
/// limited rates alone need no hooks.
pub fn active(s: &Scenario) -> bool {
    s.hit_list.is_some()
        || !s.containment.is_none()
        || s.worm.prng_subsets > 1
        || s.worm.payload.is_some()
        || matches!(s.worm.scan, crate::scenario::ScanStrategy::Permutation(_))
}

/// A flawed generator's subsets: `k` equal classes of the address space, the
/// top `log2 k` bits of an address's position in a keyed permutation (so every
/// class has exactly `2^bits / k` addresses and looks random).
#[derive(Clone, Debug)]
pub struct Subsets {
    order: Sequence,
    k: u32,
    shift: u8,
}

impl Subsets {
    fn new(bits: u8, k: u32) -> Subsets {
        Subsets {
            // A fixed key: the subsets are a property of the generator.
            order: Sequence::new(bits, 0x51A3_3E12_0C0D),
            k,
            shift: bits - k.trailing_zeros() as u8,
        }
    }

    /// Number of classes.
    pub fn len(&self) -> u32 {
        self.k
    }

    /// Always false (there is at least one class).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Addresses in each class.
    pub fn class_size(&self) -> u64 {
        1u64 << self.shift
    }

    /// The class of address `a`.
    pub fn class_of(&self, a: u32) -> u32 {
        (self.order.pos_of(a) >> self.shift) as u32
    }

    /// Address number `j` (`j < class_size`) of class `c`.
    pub fn addr_in(&self, c: u32, j: u64) -> u32 {
        self.order.addr_at(((c as u64) << self.shift) | j)
    }
}

/// The per-host inputs. Vectors are empty when their mechanism is off.
#[derive(Clone, Debug, Default)]
pub struct Extras {
    /// Each seed and the part of the hit list it holds, in seed order.
    pub hit_chunks: Vec<(u32, Vec<u32>)>,
    /// The subsets of a flawed generator, if any.
    pub subsets: Option<Subsets>,
    /// The class each host scans (stream `prng-subset`).
    pub scan_class: Vec<u32>,
    /// The class of each host's own address.
    pub addr_class: Vec<u32>,
    /// Hosts that run the throttle (stream `throttle`).
    pub throttled: Vec<bool>,
    /// Hosts behind an egress filter (stream `egress`).
    pub egress: Vec<bool>,
}

/// Check the hit list's addresses against the population.
///
/// # Errors
/// An address that is not a host.
pub fn check(s: &Scenario, setup: &Setup) -> Result<(), SetupError> {
    if let Some(HitListHosts::Addresses(a)) = s.hit_list.as_ref().map(|h| &h.hosts) {
        for &addr in a {
            if setup.population.host_at(addr).is_none() {
                return Err(SetupError::Unsupported(format!(
                    "hit_list.addresses: {} is not a host of the population; list only vulnerable hosts",
                    fmt_addr(addr)
                )));
            }
        }
    }
    Ok(())
}

impl Extras {
    /// Draw the inputs of scenario `s` for the run that `setup` starts.
    pub fn new(s: &Scenario, setup: &Setup, streams: &Streams) -> Extras {
        let n = setup.population.len();
        let mut x = Extras::default();
        if let Some(hl) = &s.hit_list {
            let list: Vec<u32> = match &hl.hosts {
                HitListHosts::Count(k) => {
                    // A uniform sample of the hosts that are not seeds, in draw order.
                    let mut is_seed = vec![false; n];
                    for &h in &setup.seeds {
                        is_seed[h as usize] = true;
                    }
                    let mut pool: Vec<u32> =
                        (0..n as u32).filter(|&h| !is_seed[h as usize]).collect();
                    let k = (*k as usize).min(pool.len());
                    let mut rng = streams.stream(stream::HIT_LIST);
                    for i in 0..k {
                        let j = rng.random_range(i..pool.len());
                        pool.swap(i, j);
                    }
                    pool.truncate(k);
                    pool
                }
                HitListHosts::Addresses(a) => a
                    .iter()
                    .filter_map(|&addr| setup.population.host_at(addr))
                    .collect(),
            };
            // The seeds split the list into contiguous, nearly equal parts.
            let k = setup.seeds.len();
            for (j, &seed) in setup.seeds.iter().enumerate() {
                let (a, b) = (j * list.len() / k, (j + 1) * list.len() / k);
                x.hit_chunks.push((seed, list[a..b].to_vec()));
            }
        }
        if s.worm.prng_subsets > 1 {
            let sub = Subsets::new(s.space_bits, s.worm.prng_subsets);
            let mut rng = streams.stream(stream::PRNG_SUBSET);
            x.scan_class = (0..n)
                .map(|_| crate::rng::below(&mut rng, sub.len()))
                .collect();
            x.addr_class = setup
                .population
                .addrs()
                .iter()
                .map(|&a| sub.class_of(a))
                .collect();
            x.subsets = Some(sub);
        }
        if let Some(t) = &s.containment.throttle {
            let mut rng = streams.stream(stream::THROTTLE);
            x.throttled = (0..n).map(|_| rng.random::<f64>() < t.fraction).collect();
        }
        if let Some(e) = &s.containment.egress {
            let mut rng = streams.stream(stream::EGRESS);
            x.egress = (0..n).map(|_| rng.random::<f64>() < e.fraction).collect();
        }
        x
    }

    /// Whether host `h` runs the throttle.
    pub fn is_throttled(&self, h: u32) -> bool {
        self.throttled.get(h as usize).copied().unwrap_or(false)
    }

    /// Whether host `h` sits behind an egress filter.
    pub fn is_egress(&self, h: u32) -> bool {
        self.egress.get(h as usize).copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_are_equal_classes() {
        let s = Subsets::new(16, 4);
        let mut count = [0u32; 4];
        for a in 0..1u32 << 16 {
            count[s.class_of(a) as usize] += 1;
        }
        assert_eq!(count, [1 << 14; 4]);
        for c in 0..4 {
            for j in [0u64, 1, 777, (1 << 14) - 1] {
                assert_eq!(s.class_of(s.addr_in(c, j)), c);
            }
        }
    }
}
