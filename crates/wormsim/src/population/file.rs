//! Population files: one address, or one CIDR block and a host count, per line.
//!
//! ```text
//! # comments and blank lines are ignored
//! 198.51.100.7
//! 203.0.113.0/24 40      # 40 distinct random hosts inside this /24
//! ```

use super::{Population, PopulationError, parse_addr};
use crate::rng::Rng;
use rand::RngExt;
use std::collections::BTreeSet;

/// Parse a population file's text. `name` is used in error messages.
///
/// # Errors
/// [`PopulationError::File`] with the line and column of the first problem.
pub fn parse(
    name: &str,
    text: &str,
    space_bits: u8,
    rng: &mut Rng,
) -> Result<Population, PopulationError> {
    super::check_space_bits(space_bits)?;
    let err = |line: usize, col: usize, why: String| PopulationError::File {
        file: name.to_string(),
        line,
        col,
        why,
    };
    let limit = if space_bits == 32 {
        u64::MAX
    } else {
        1u64 << space_bits
    };
    let mut explicit = BTreeSet::new();
    let mut blocks: Vec<(usize, u32, u8, u64)> = Vec::new();
    for (ln, raw) in text.lines().enumerate() {
        let line_no = ln + 1;
        let body = raw.split('#').next().unwrap_or("");
        let mut fields = body.split_whitespace();
        let Some(first) = fields.next() else { continue };
        let col = body.find(first).unwrap_or(0) + 1;
        let (addr_s, len) = match first.split_once('/') {
            Some((a, l)) => {
                let len: u8 = l.parse().ok().filter(|&x| x <= 32).ok_or_else(|| {
                    err(
                        line_no,
                        col + a.len() + 1,
                        format!("bad prefix length `{l}`; use 0..=32"),
                    )
                })?;
                (a, Some(len))
            }
            None => (first, None),
        };
        let addr = parse_addr(addr_s).ok_or_else(|| {
            err(
                line_no,
                col,
                format!("`{addr_s}` is not a dotted-quad address like 192.0.2.1"),
            )
        })?;
        if (addr as u64) >= limit {
            return Err(err(
                line_no,
                col,
                format!(
                    "address {addr_s} is outside the 2^{space_bits} address space of this scenario"
                ),
            ));
        }
        match len {
            None => {
                if let Some(extra) = fields.next() {
                    let c = body.find(extra).unwrap_or(0) + 1;
                    return Err(err(
                        line_no,
                        c,
                        format!(
                            "unexpected `{extra}` after a single address; a count goes only after a CIDR block"
                        ),
                    ));
                }
                if !explicit.insert(addr) {
                    return Err(err(
                        line_no,
                        col,
                        format!("address {addr_s} is listed twice"),
                    ));
                }
            }
            Some(len) => {
                let count_s = fields.next().ok_or_else(|| {
                    err(
                        line_no,
                        col + first.len(),
                        "a CIDR block needs a host count after it, like `203.0.113.0/24 40`"
                            .to_string(),
                    )
                })?;
                let ccol = body.find(count_s).unwrap_or(0) + 1;
                let count: u64 = count_s.parse().map_err(|_| {
                    err(
                        line_no,
                        ccol,
                        format!("`{count_s}` is not a host count (a whole number)"),
                    )
                })?;
                if let Some(extra) = fields.next() {
                    let c = body.find(extra).unwrap_or(0) + 1;
                    return Err(err(
                        line_no,
                        c,
                        format!("unexpected `{extra}` after the host count"),
                    ));
                }
                let host_bits = 32 - len as u32;
                let size = 1u64 << host_bits;
                if addr as u64 & (size - 1) != 0 {
                    return Err(err(
                        line_no,
                        col,
                        format!("{first} has host bits set; write the block's first address"),
                    ));
                }
                if addr as u64 + size > limit {
                    return Err(err(
                        line_no,
                        col,
                        format!("block {first} reaches outside the 2^{space_bits} address space"),
                    ));
                }
                if count > size {
                    return Err(err(
                        line_no,
                        ccol,
                        format!("{count} hosts do not fit in {first} ({size} addresses)"),
                    ));
                }
                blocks.push((line_no, addr, len, count));
            }
        }
    }
    let mut all = explicit.clone();
    for &(line_no, base, len, count) in &blocks {
        let size = 1u64 << (32 - len as u32);
        let free = size - all.range(base..=((base as u64 + size - 1) as u32)).count() as u64;
        if count > free {
            return Err(err(
                line_no,
                1,
                format!("only {free} free addresses left in this block for {count} hosts"),
            ));
        }
        let mut placed = 0;
        while placed < count {
            let a = (base as u64 + rng.random_range(0..size)) as u32;
            if all.insert(a) {
                placed += 1;
            }
        }
    }
    if all.is_empty() {
        return Err(err(1, 1, "the file lists no hosts".to_string()));
    }
    Population::from_addrs(space_bits, all.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn parse_t(text: &str, bits: u8) -> Result<Population, PopulationError> {
        parse("hosts.txt", text, bits, &mut Rng::seed_from_u64(1))
    }

    #[test]
    fn addresses_and_blocks() {
        let p = parse_t("# test\n198.51.100.7\n\n203.0.113.0/24 40 # forty\n", 32).unwrap();
        assert_eq!(p.len(), 41);
        assert!(p.host_at(parse_addr("198.51.100.7").unwrap()).is_some());
        assert!(p.addrs().iter().filter(|&&a| a >> 8 == 0xCB0071).count() == 40);
    }

    #[test]
    fn errors_have_line_and_column() {
        let cases = [
            ("1.2.3.4\n  1.2.3\n", 2, 3, "not a dotted-quad"),
            ("1.2.3.0/33 4\n", 1, 9, "bad prefix length"),
            ("1.2.3.0/24\n", 1, 11, "needs a host count"),
            ("1.2.3.0/24 x\n", 1, 12, "not a host count"),
            ("1.2.3.1/24 4\n", 1, 1, "host bits set"),
            ("1.2.3.0/30 5\n", 1, 12, "do not fit"),
            ("1.2.3.4\n1.2.3.4\n", 2, 1, "listed twice"),
            ("0.1.0.0\n", 1, 1, "outside the 2^16"),
            ("# nothing\n", 1, 1, "no hosts"),
        ];
        for (text, line, col, msg) in cases {
            let bits = if msg.contains("2^16") { 16 } else { 32 };
            match parse_t(text, bits) {
                Err(PopulationError::File {
                    file,
                    line: l,
                    col: c,
                    why,
                }) => {
                    assert_eq!(file, "hosts.txt");
                    assert_eq!((l, c), (line, col), "{text:?}: {why}");
                    assert!(why.contains(msg), "{text:?}: {why}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
