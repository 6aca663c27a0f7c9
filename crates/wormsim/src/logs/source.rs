//! Who sent a request: an IP address, or a host name when the server logged names.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest host name accepted (RFC 1035 §2.3.4 limits names to 255 octets;
/// 253 characters in text form) [characters].
pub const MAX_NAME: usize = 253;

/// A request's source. Ordering (used for output): IPv4 addresses numerically,
/// then IPv6 addresses numerically, then host names byte-wise.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceId {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    /// A host name, as logged by Apache with `HostnameLookups On` (`%h`).
    Name(Box<str>),
}

impl SourceId {
    /// Parse an IP address or a host name (letters, digits, `-`, `.`, `_`; at
    /// most [`MAX_NAME`] characters; at least one letter). Anything else is
    /// `None`.
    pub fn parse(field: &[u8]) -> Option<SourceId> {
        let text = std::str::from_utf8(field).ok()?;
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Some(SourceId::from(ip));
        }
        let ok = !text.is_empty()
            && text.len() <= MAX_NAME
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            && text.bytes().any(|b| b.is_ascii_alphabetic());
        ok.then(|| SourceId::Name(text.to_ascii_lowercase().into_boxed_str()))
    }

    /// Whether this is an IP address (not a host name).
    pub fn is_ip(&self) -> bool {
        !matches!(self, SourceId::Name(_))
    }

    /// Parse `addr` or `addr:port` (Apache 2.4 `error_log` client field). With
    /// `port_likely`, a final `:digits` is taken as a port first even when the
    /// whole would parse as IPv6 (2.4 writes `[client 2001:db8::1:51234]`).
    pub fn parse_with_port(field: &[u8], port_likely: bool) -> Option<SourceId> {
        let strip = || -> Option<SourceId> {
            let i = field.iter().rposition(|&b| b == b':')?;
            let port = &field[i + 1..];
            if port.is_empty() || port.len() > 5 || !port.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let host = &field[..i];
            let host = host
                .strip_prefix(b"[")
                .and_then(|h| h.strip_suffix(b"]"))
                .unwrap_or(host);
            SourceId::parse(host)
        };
        if port_likely {
            strip().or_else(|| SourceId::parse(field))
        } else {
            SourceId::parse(field).or_else(strip)
        }
    }
}

impl From<IpAddr> for SourceId {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => SourceId::V4(a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => SourceId::V4(v4),
                None => SourceId::V6(a),
            },
        }
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceId::V4(a) => a.fmt(f),
            SourceId::V6(a) => a.fmt(f),
            SourceId::Name(n) => f.write_str(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_and_names() {
        assert_eq!(
            SourceId::parse(b"1.2.3.4"),
            Some(SourceId::V4(Ipv4Addr::new(1, 2, 3, 4)))
        );
        assert_eq!(
            SourceId::parse(b"::ffff:1.2.3.4"),
            Some(SourceId::V4(Ipv4Addr::new(1, 2, 3, 4)))
        );
        assert!(matches!(
            SourceId::parse(b"2001:db8::1"),
            Some(SourceId::V6(_))
        ));
        assert_eq!(
            SourceId::parse(b"Dialup-7.Example.NET")
                .unwrap()
                .to_string(),
            "dialup-7.example.net"
        );
        for bad in [
            &b""[..],
            b"-",
            b"1.2.3.4.5",
            b"a b",
            b"\xff",
            b"1.2.3",
            b"host,x",
        ] {
            assert_eq!(
                SourceId::parse(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(SourceId::parse(&[b'a'; MAX_NAME + 1]), None);
    }

    #[test]
    fn ports_are_stripped() {
        let v4 = Some(SourceId::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(SourceId::parse_with_port(b"10.0.0.1:5678", true), v4);
        assert_eq!(SourceId::parse_with_port(b"10.0.0.1", true), v4);
        assert_eq!(SourceId::parse_with_port(b"10.0.0.1:5678", false), v4);
        assert_eq!(
            SourceId::parse_with_port(b"2001:db8::1:5678", true)
                .unwrap()
                .to_string(),
            "2001:db8::1"
        );
        assert_eq!(
            SourceId::parse_with_port(b"2001:db8::1:5678", false)
                .unwrap()
                .to_string(),
            "2001:db8::1:5678"
        );
        assert_eq!(
            SourceId::parse_with_port(b"[2001:db8::1]:80", true)
                .unwrap()
                .to_string(),
            "2001:db8::1"
        );
    }

    #[test]
    fn order_is_numeric_then_v6_then_names() {
        let mut v: Vec<SourceId> = ["b.example", "10.0.0.2", "::1", "9.0.0.1", "a.example"]
            .iter()
            .map(|s| SourceId::parse(s.as_bytes()).unwrap())
            .collect();
        v.sort();
        let s: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(s, ["9.0.0.1", "10.0.0.2", "::1", "a.example", "b.example"]);
    }
}
