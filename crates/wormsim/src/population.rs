//! Vulnerable hosts and where they sit in the address space.
//!
//! A [`Population`] is a sorted list of distinct addresses inside an address space
//! of `2^space_bits` addresses (32 for IPv4; down to 16 for experiments that the
//! per-probe reference engine can check). A host is identified by its index in
//! that list, so all per-host state elsewhere is a plain array indexed the same way.
//!
//! Three ways to build one (see [`PopulationSpec`]):
//! - [`generate::uniform`]: uniform over routable unicast IPv4 (excluding 0/8,
//!   10/8, 127/8, 169.254/16, 172.16/12, 192.168/16 and 224/3);
//! - [`generate::clustered`]: hosts concentrated in a number of /8 and /16 blocks
//!   with heavy-tailed (Zipf) occupancy;
//! - [`file::parse`]: a list of addresses, or CIDR blocks with a host count.

pub mod file;
pub mod generate;

use crate::rng::Rng;

/// Why a population could not be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PopulationError {
    #[error(
        "population of {hosts} hosts does not fit in the {capacity} eligible addresses of a \
         2^{space_bits} address space; use fewer hosts or a larger space_bits"
    )]
    TooLarge {
        hosts: u64,
        capacity: u64,
        space_bits: u8,
    },
    #[error("{what}: {why}")]
    Invalid { what: &'static str, why: String },
    #[error("{file}:{line}:{col}: {why}")]
    File {
        file: String,
        line: usize,
        col: usize,
        why: String,
    },
}

/// How to build the population (validated by the scenario stage).
#[derive(Clone, Debug, PartialEq)]
pub enum PopulationSpec {
    /// `hosts` addresses uniform over the eligible space.
    Uniform { hosts: u32 },
    /// Clustered in blocks; see [`generate::ClusterParams`].
    Clustered {
        hosts: u32,
        params: generate::ClusterParams,
    },
    /// Read from a file (already loaded as text).
    File { name: String, text: String },
    /// The hosts of a checkpoint (see [`crate::checkpoint`]).
    Checkpoint,
}

/// The vulnerable hosts: distinct addresses, sorted ascending.
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    space_bits: u8,
    addrs: Vec<u32>,
}

impl Population {
    /// Build from addresses (sorted and checked here).
    ///
    /// # Errors
    /// Duplicates, or an address outside the space.
    pub fn from_addrs(space_bits: u8, mut addrs: Vec<u32>) -> Result<Self, PopulationError> {
        check_space_bits(space_bits)?;
        addrs.sort_unstable();
        if let Some(w) = addrs.windows(2).find(|w| w[0] == w[1]) {
            return Err(PopulationError::Invalid {
                what: "population",
                why: format!("address {} appears twice", fmt_addr(w[0])),
            });
        }
        if space_bits < 32 {
            if let Some(&a) = addrs.last().filter(|&&a| (a as u64) >> space_bits != 0) {
                return Err(PopulationError::Invalid {
                    what: "population",
                    why: format!(
                        "address {} is outside the 2^{space_bits} address space",
                        fmt_addr(a)
                    ),
                });
            }
        }
        Ok(Population { space_bits, addrs })
    }

    /// Build from a spec, drawing from `rng` (the `population` stream).
    ///
    /// # Errors
    /// See [`PopulationError`].
    pub fn build(
        spec: &PopulationSpec,
        space_bits: u8,
        rng: &mut Rng,
    ) -> Result<Self, PopulationError> {
        match spec {
            PopulationSpec::Uniform { hosts } => generate::uniform(*hosts, space_bits, rng),
            PopulationSpec::Clustered { hosts, params } => {
                generate::clustered(*hosts, space_bits, params, rng)
            }
            PopulationSpec::File { name, text } => file::parse(name, text, space_bits, rng),
            PopulationSpec::Checkpoint => Err(PopulationError::Invalid {
                what: "population",
                why: "a checkpoint population is read from the checkpoint".to_string(),
            }),
        }
    }

    /// Number of hosts.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Whether there are no hosts.
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// Address of each host, sorted ascending.
    pub fn addrs(&self) -> &[u32] {
        &self.addrs
    }

    /// Bits of the address space.
    pub fn space_bits(&self) -> u8 {
        self.space_bits
    }

    /// Size of the address space, `2^space_bits`.
    pub fn space_size(&self) -> f64 {
        (1u64 << self.space_bits) as f64
    }

    /// The host at `addr`, if any (binary search).
    pub fn host_at(&self, addr: u32) -> Option<u32> {
        self.addrs.binary_search(&addr).ok().map(|i| i as u32)
    }
}

/// Check an address-space size.
///
/// # Errors
/// Outside 16..=32.
pub fn check_space_bits(space_bits: u8) -> Result<(), PopulationError> {
    if (16..=32).contains(&space_bits) {
        Ok(())
    } else {
        Err(PopulationError::Invalid {
            what: "space_bits",
            why: format!("{space_bits} is out of range; use 16..=32"),
        })
    }
}

/// Dotted-quad form of an address.
pub fn fmt_addr(a: u32) -> String {
    let [x, y, z, w] = a.to_be_bytes();
    format!("{x}.{y}.{z}.{w}")
}

/// Parse a dotted quad.
pub fn parse_addr(s: &str) -> Option<u32> {
    let mut parts = s.split('.');
    let mut out = 0u32;
    for _ in 0..4 {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u32 = p.parse().ok()?;
        if v > 255 {
            return None;
        }
        out = (out << 8) | v;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_round_trip() {
        for s in ["0.0.0.0", "198.137.240.91", "255.255.255.255", "10.0.0.1"] {
            assert_eq!(fmt_addr(parse_addr(s).unwrap()), s);
        }
        for bad in [
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "a.b.c.d",
            "1..2.3",
            "01234.1.1.1",
        ] {
            assert_eq!(parse_addr(bad), None, "{bad}");
        }
    }

    #[test]
    fn from_addrs_checks() {
        assert!(Population::from_addrs(32, vec![3, 1, 2]).unwrap().addrs() == [1, 2, 3]);
        assert!(matches!(
            Population::from_addrs(32, vec![1, 1]),
            Err(PopulationError::Invalid { .. })
        ));
        assert!(Population::from_addrs(16, vec![70_000]).is_err());
        assert!(Population::from_addrs(15, vec![]).is_err());
        let p = Population::from_addrs(16, vec![5, 9]).unwrap();
        assert_eq!(p.host_at(9), Some(1));
        assert_eq!(p.host_at(6), None);
    }
}
