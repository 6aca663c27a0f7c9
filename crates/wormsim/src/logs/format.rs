//! The log formats and their line parsers.
//!
//! | format | example line |
//! |---|---|
//! | [`Format::Common`] (NCSA/Apache `%h %l %u %t "%r" %>s %b`) | `1.2.3.4 - - [19/Jul/2001:10:12:01 -0700] "GET /default.ida?NNN… HTTP/1.0" 404 205` |
//! | [`Format::Combined`] (common + `"%{Referer}i" "%{User-agent}i"`) | the same followed by ` "-" "-"` |
//! | [`Format::Error`] (Apache 1.3/2.0/2.2) | `[Thu Jul 19 10:12:01 2001] [error] [client 1.2.3.4] File does not exist: /var/www/default.ida` |
//! | [`Format::Error`] (Apache 2.4) | `[Thu Jul 19 10:12:01.123456 2001] [core:error] [pid 1234:tid 5] [client 1.2.3.4:5678] AH00128: File does not exist: /var/www/default.ida` |
//! | [`Format::W3c`] (IIS W3C extended) | `#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status` then `2001-07-19 17:12:01 1.2.3.4 GET /default.ida NNN…=a 404` |
//!
//! Sources: Apache HTTP Server documentation, "Log Files" (versions 1.3, 2.0, 2.4:
//! Common and Combined Log Format, Error Log); `mod_log_config` (`%t` is
//! `[day/month/year:hour:minute:second zone]`); W3C Working Draft WD-logfile-960323
//! "Extended Log File Format" (`#Fields`, `#Date`; times in GMT); Microsoft
//! "W3C Logging" (field names `date`, `time`, `c-ip`, `cs-uri-stem`,
//! `cs-uri-query`; time in UTC).
//!
//! Times: access logs carry their own UTC offset; W3C extended logs are in UTC
//! by definition; `error_log` times are the server's local time with no offset,
//! so [`Parser`] takes the offset to apply (default: UTC).

use super::classify::{Class, classify_message, classify_target, classify_uri};
use super::source::SourceId;
use crate::time::{DAY, days_from_civil, days_in_month};

/// A log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NCSA/Apache Common Log Format.
    Common,
    /// Apache Combined Log Format (common + referer + user agent).
    Combined,
    /// Apache `error_log` (1.3 to 2.4 default formats).
    Error,
    /// W3C extended log format as written by IIS.
    W3c,
}

impl Format {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Common => "common",
            Format::Combined => "combined",
            Format::Error => "error",
            Format::W3c => "w3c",
        }
    }
}

/// One line, parsed.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A request from `source` at `time` [s since the Unix epoch, UTC].
    Request {
        time: f64,
        source: SourceId,
        class: Class,
    },
    /// A valid line that is not a request: a blank line, a W3C directive, an
    /// `error_log` message without a client.
    NotRequest,
    /// A line that fits no format (or not the file's format); why.
    Malformed(&'static str),
}

/// Columns of a W3C `#Fields` directive that the parser needs.
#[derive(Clone, Debug)]
struct W3cFields {
    count: usize,
    date: Option<usize>,
    time: usize,
    c_ip: usize,
    /// `cs-uri-stem`, or `cs-uri` (whole target) when `full_uri`.
    uri: usize,
    full_uri: bool,
    query: Option<usize>,
}

/// Parses the lines of one file, detecting its format from its first valid
/// line unless one is forced, and keeping W3C directive state.
#[derive(Clone, Debug)]
pub struct Parser {
    forced: Option<Format>,
    detected: Option<Format>,
    /// Seconds east of UTC of `error_log` times [s].
    error_offset: f64,
    fields: Option<Result<W3cFields, &'static str>>,
    /// Day number of the last `#Date` directive.
    w3c_date: Option<i64>,
}

impl Parser {
    /// A parser for one file. `forced: None` detects the format; `error_offset`
    /// is the UTC offset of `error_log` times [s east of UTC].
    pub fn new(forced: Option<Format>, error_offset: f64) -> Parser {
        Parser {
            forced,
            detected: forced,
            error_offset,
            fields: None,
            w3c_date: None,
        }
    }

    /// The file's format: forced, or detected so far (`None` before the first
    /// valid line).
    pub fn format(&self) -> Option<Format> {
        self.detected
    }

    /// Parse one line (without its line ending).
    pub fn parse(&mut self, line: &[u8]) -> Parsed {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Parsed::NotRequest;
        }
        match self.detected {
            Some(Format::Common) => access(line, false),
            Some(Format::Combined) => access(line, self.forced == Some(Format::Combined)),
            Some(Format::Error) => error_line(line, self.error_offset),
            Some(Format::W3c) => self.w3c(line),
            None => self.detect(line),
        }
    }

    fn detect(&mut self, line: &[u8]) -> Parsed {
        if line.starts_with(b"#") {
            if is_w3c_directive(line) {
                self.detected = Some(Format::W3c);
                return self.w3c(line);
            }
        } else if line.starts_with(b"[") {
            let p = error_line(line, self.error_offset);
            if !matches!(p, Parsed::Malformed(_)) {
                self.detected = Some(Format::Error);
                return p;
            }
        } else if let Some(combined) = access_shape(line) {
            let p = access(line, false);
            if !matches!(p, Parsed::Malformed(_)) {
                self.detected = Some(if combined {
                    Format::Combined
                } else {
                    Format::Common
                });
            }
            return p;
        }
        Parsed::Malformed("not a common, combined, error_log or W3C line")
    }

    fn w3c(&mut self, line: &[u8]) -> Parsed {
        if let Some(d) = line.strip_prefix(b"#") {
            if let Some(f) = strip_prefix_ci(d, b"Fields:") {
                self.fields = Some(w3c_fields(f));
            } else if let Some(f) = strip_prefix_ci(d, b"Date:") {
                let date = f.split(u8::is_ascii_whitespace).find(|w| !w.is_empty());
                self.w3c_date = date.and_then(ymd);
            }
            return Parsed::NotRequest;
        }
        let f = match &self.fields {
            None => return Parsed::Malformed("W3C data line before any #Fields directive"),
            Some(Err(why)) => return Parsed::Malformed(why),
            Some(Ok(f)) => f,
        };
        let mut cols: [&[u8]; 64] = [&[]; 64];
        let mut n = 0;
        for w in line
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|w| !w.is_empty())
        {
            if n == cols.len() {
                return Parsed::Malformed("W3C line has more fields than #Fields");
            }
            cols[n] = w;
            n += 1;
        }
        if n != f.count {
            return Parsed::Malformed("W3C line does not have the fields that #Fields lists");
        }
        let day = match f.date {
            Some(i) => ymd(cols[i]),
            None => self.w3c_date,
        };
        let Some(day) = day else {
            return Parsed::Malformed("bad or missing W3C date");
        };
        let Some(tod) = hms(cols[f.time]) else {
            return Parsed::Malformed("bad W3C time");
        };
        let Some(source) = SourceId::parse(cols[f.c_ip]) else {
            return Parsed::Malformed("bad W3C c-ip");
        };
        let class = if f.full_uri {
            classify_target(cols[f.uri])
        } else {
            let q = f.query.map(|i| cols[i]).filter(|q| *q != b"-");
            classify_uri(cols[f.uri], q)
        };
        Parsed::Request {
            time: day as f64 * DAY + tod,
            source,
            class,
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a [u8], p: &[u8]) -> Option<&'a [u8]> {
    (s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p)).then(|| &s[p.len()..])
}

/// The directives of the W3C extended format (WD-logfile-960323).
fn is_w3c_directive(line: &[u8]) -> bool {
    [
        &b"#Version:"[..],
        b"#Fields:",
        b"#Software:",
        b"#Start-Date:",
        b"#End-Date:",
        b"#Date:",
        b"#Remark:",
    ]
    .iter()
    .any(|d| strip_prefix_ci(line, d).is_some())
}

fn w3c_fields(spec: &[u8]) -> Result<W3cFields, &'static str> {
    let names: Vec<&[u8]> = spec
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
        .collect();
    if names.len() > 64 {
        return Err("W3C #Fields lists more than 64 fields");
    }
    let pos = |name: &[u8]| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    let time = pos(b"time").ok_or("W3C #Fields has no time field")?;
    let c_ip = pos(b"c-ip").ok_or("W3C #Fields has no c-ip field")?;
    let (uri, full_uri) = match (pos(b"cs-uri-stem"), pos(b"cs-uri")) {
        (Some(i), _) => (i, false),
        (None, Some(i)) => (i, true),
        (None, None) => return Err("W3C #Fields has no cs-uri-stem or cs-uri field"),
    };
    Ok(W3cFields {
        count: names.len(),
        date: pos(b"date"),
        time,
        c_ip,
        uri,
        full_uri,
        query: pos(b"cs-uri-query"),
    })
}

/// Parse unsigned decimal digits (1..=9 of them).
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |a, &b| a * 10 + u32::from(b - b'0')))
}

/// Day number of a valid civil date (years 1000..=9999).
fn day_number(year: u32, month: u32, day: u32) -> Option<i64> {
    if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if day == 0 || day > days_in_month(i64::from(year), month) {
        return None;
    }
    Some(days_from_civil(i64::from(year), month, day))
}

/// `YYYY-MM-DD` to a day number.
fn ymd(s: &[u8]) -> Option<i64> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    day_number(digits(&s[0..4])?, digits(&s[5..7])?, digits(&s[8..10])?)
}

/// `HH:MM:SS` with an optional fraction to seconds of the day.
fn hms(s: &[u8]) -> Option<f64> {
    if s.len() < 8 || s[2] != b':' || s[5] != b':' {
        return None;
    }
    let (h, m, sec) = (digits(&s[0..2])?, digits(&s[3..5])?, digits(&s[6..8])?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let frac = match &s[8..] {
        [] => 0.0,
        [b'.', f @ ..] if !f.is_empty() && f.len() <= 9 => {
            f64::from(digits(f)?) / 10f64.powi(f.len() as i32)
        }
        _ => return None,
    };
    Some(f64::from(h * 3600 + m * 60 + sec) + frac)
}

fn month(s: &[u8]) -> Option<u32> {
    const M: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    M.iter()
        .position(|m| s.eq_ignore_ascii_case(&m[..]))
        .map(|i| i as u32 + 1)
}

/// Apache `%t`: `19/Jul/2001:10:12:01 -0700` to UTC seconds.
fn clf_time(s: &[u8]) -> Option<f64> {
    if s.len() != 26 || s[2] != b'/' || s[6] != b'/' || s[11] != b':' || s[20] != b' ' {
        return None;
    }
    let day = digits(&s[0..2])?;
    let mon = month(&s[3..6])?;
    let year = digits(&s[7..11])?;
    let tod = hms(&s[12..20])?;
    let (sign, oh, om) = (s[21], digits(&s[22..24])?, digits(&s[24..26])?);
    if oh > 23 || om > 59 {
        return None;
    }
    let offset = f64::from(oh * 3600 + om * 60);
    let offset = match sign {
        b'+' => offset,
        b'-' => -offset,
        _ => return None,
    };
    Some(day_number(year, mon, day)? as f64 * DAY + tod - offset)
}

/// Apache `error_log` time `Thu Jul 19 10:12:01[.123456] 2001` to local seconds
/// and whether it had a fraction (Apache 2.4).
fn error_time(s: &[u8]) -> Option<(f64, bool)> {
    let mut w = s.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let (dow, mon, day, time, year) = (w.next()?, w.next()?, w.next()?, w.next()?, w.next()?);
    if w.next().is_some() || dow.len() != 3 || !dow.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let tod = hms(time)?;
    let d = day_number(digits(year)?, month(mon)?, digits(day)?)?;
    Some((d as f64 * DAY + tod, time.len() > 8))
}

/// End (exclusive, position of the closing quote) of a quoted field that starts
/// after its opening quote; `\` escapes the next byte (Apache 2.0.46+).
fn quoted_end(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        let j = i + memchr::memchr2(b'"', b'\\', &s[i..])?;
        if s[j] == b'"' {
            return Some(j);
        }
        i = j + 2;
    }
    None
}

/// Quick test: does `line` look like an access-log line (`host x y [`…`] "`)?
/// Returns whether it also has the two combined fields.
fn access_shape(line: &[u8]) -> Option<bool> {
    access_fields(line).map(|f| f.combined)
}

struct AccessFields<'a> {
    host: &'a [u8],
    time: &'a [u8],
    request: &'a [u8],
    combined: bool,
}

fn access_fields(line: &[u8]) -> Option<AccessFields<'_>> {
    let sp = memchr::memchr(b' ', line)?;
    let host = &line[..sp];
    let open = sp + memchr::memmem::find(&line[sp..], b" [")?;
    // ident and user between host and the time: at least one more space.
    memchr::memchr(b' ', line.get(sp + 1..open)?)?;
    let t0 = open + 2;
    let time = line.get(t0..t0 + 26)?;
    let rest = line.get(t0 + 26..)?;
    let rest = rest.strip_prefix(b"] \"")?;
    let qe = quoted_end(rest)?;
    let request = &rest[..qe];
    let rest = &rest[qe + 1..];
    // ` status bytes`
    let rest = rest.strip_prefix(b" ")?;
    let sp1 = memchr::memchr(b' ', rest)?;
    let status = &rest[..sp1];
    let rest = &rest[sp1 + 1..];
    let sp2 = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    let bytes = &rest[..sp2];
    let ok_num = |f: &[u8], max: usize| {
        f == b"-" || (!f.is_empty() && f.len() <= max && f.iter().all(u8::is_ascii_digit))
    };
    if !ok_num(status, 3) || !ok_num(bytes, 20) {
        return None;
    }
    let rest = &rest[sp2..];
    let combined = (|| {
        let r = rest.strip_prefix(b" \"")?;
        let e = quoted_end(r)?;
        let r = r[e + 1..].strip_prefix(b" \"")?;
        quoted_end(r)?;
        Some(())
    })()
    .is_some();
    Some(AccessFields {
        host,
        time,
        request,
        combined,
    })
}

/// Parse a common or combined line (`need_combined`: referer and agent required).
fn access(line: &[u8], need_combined: bool) -> Parsed {
    let Some(f) = access_fields(line) else {
        return Parsed::Malformed("not a common/combined access-log line");
    };
    if need_combined && !f.combined {
        return Parsed::Malformed("combined line without referer and user-agent fields");
    }
    let Some(time) = clf_time(f.time) else {
        return Parsed::Malformed("bad access-log timestamp");
    };
    let Some(source) = SourceId::parse(f.host) else {
        return Parsed::Malformed("bad client host");
    };
    // "METHOD target PROTO": classify the target; a request line of one word
    // (`-`, garbage) is classified whole.
    let mut words = f.request.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let target = match (words.next(), words.next()) {
        (Some(_), Some(t)) => t,
        _ => f.request,
    };
    Parsed::Request {
        time,
        source,
        class: classify_target(target),
    }
}

/// Parse an Apache `error_log` line.
fn error_line(line: &[u8], offset: f64) -> Parsed {
    let Some(body) = line.strip_prefix(b"[") else {
        return Parsed::Malformed("not an error_log line (no [time] at the start)");
    };
    let Some(close) = memchr::memchr(b']', body) else {
        return Parsed::Malformed("not an error_log line");
    };
    let Some((local, fraction)) = error_time(&body[..close]) else {
        return Parsed::Malformed("bad error_log timestamp");
    };
    let rest = &body[close + 1..];
    let Some(c) = memchr::memmem::find(rest, b"[client ") else {
        return Parsed::NotRequest;
    };
    let field_start = c + 8;
    let Some(end) = memchr::memchr(b']', &rest[field_start..]) else {
        return Parsed::Malformed("unterminated [client ...] field");
    };
    let field = &rest[field_start..field_start + end];
    // Apache 2.4 writes `[module:level]`, `[pid …]`, fractional seconds and a port.
    let v24 = fraction
        || memchr::memmem::find(&rest[..c], b"[pid ").is_some()
        || rest
            .strip_prefix(b" [")
            .and_then(|r| r.split(|&b| b == b']').next())
            .is_some_and(|lvl| lvl.contains(&b':'));
    // Apache writes the client's IP address here, never a name.
    let Some(source) = SourceId::parse_with_port(field, v24).filter(SourceId::is_ip) else {
        return Parsed::Malformed("bad client address in error_log line");
    };
    let msg = &rest[field_start + end + 1..];
    Parsed::Request {
        time: local - offset,
        source,
        class: classify_message(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;
    use std::net::Ipv4Addr;

    fn t(s: &str) -> f64 {
        SimTime::parse_rfc3339(s).unwrap().secs()
    }

    fn req(time: &str, ip: [u8; 4], class: Class) -> Parsed {
        Parsed::Request {
            time: t(time),
            source: SourceId::V4(Ipv4Addr::from(ip)),
            class,
        }
    }

    #[test]
    fn common_and_combined() {
        let mut p = Parser::new(None, 0.0);
        let l = br#"10.1.2.3 - - [19/Jul/2001:10:12:01 -0700] "GET /default.ida?NNNNNNNNNNNNNNNN%u9090=a HTTP/1.0" 404 205"#;
        assert_eq!(
            p.parse(l),
            req("2001-07-19T17:12:01Z", [10, 1, 2, 3], Class::CodeRed)
        );
        assert_eq!(p.format(), Some(Format::Common));
        // A combined line in a file detected as common is still read.
        let l = br#"10.1.2.4 - frank [19/Jul/2001:10:12:02 +0000] "GET /index.html HTTP/1.1" 200 - "http://x/default.ida?NNNNNNNNNNNNNNN" "Mozilla/4.0""#;
        assert_eq!(
            p.parse(l),
            req("2001-07-19T10:12:02Z", [10, 1, 2, 4], Class::Other)
        );
        let mut p = Parser::new(None, 0.0);
        p.parse(l);
        assert_eq!(p.format(), Some(Format::Combined));
    }

    #[test]
    fn forced_combined_needs_the_extra_fields() {
        let mut p = Parser::new(Some(Format::Combined), 0.0);
        let l = br#"1.2.3.4 - - [19/Jul/2001:10:12:01 +0000] "GET / HTTP/1.0" 200 5"#;
        assert!(matches!(p.parse(l), Parsed::Malformed(_)));
        let mut p = Parser::new(Some(Format::Common), 0.0);
        assert!(matches!(p.parse(l), Parsed::Request { .. }));
    }

    #[test]
    fn escaped_quotes_in_request() {
        let mut p = Parser::new(None, 0.0);
        let l = br#"1.2.3.4 - - [19/Jul/2001:10:12:01 +0000] "GET /a\"b/scripts/root.exe?/c+dir HTTP/1.0" 404 5"#;
        assert!(matches!(
            p.parse(l),
            Parsed::Request {
                class: Class::Nimda,
                ..
            }
        ));
        let l = br#"1.2.3.4 - - [19/Jul/2001:10:12:01 +0000] "-" 408 -"#;
        assert!(matches!(
            p.parse(l),
            Parsed::Request {
                class: Class::Other,
                ..
            }
        ));
    }

    #[test]
    fn access_malformed_cases() {
        for l in [
            &br#"1.2.3.4 - - [19/Jul/2001:10:12:01 +0000] "GET / HTTP/1.0" 200"#[..],
            br#"1.2.3.4 - - [19/Jul/2001:10:12:01 +0000] "GET / HTTP/1.0 200 5"#,
            br#"1.2.3.4 - - [32/Jul/2001:10:12:01 +0000] "GET / HTTP/1.0" 200 5"#,
            br#"1.2.3.4 - - [19/Jux/2001:10:12:01 +0000] "GET / HTTP/1.0" 200 5"#,
            br#"1.2.3.4 - - [19/Jul/2001:24:12:01 +0000] "GET / HTTP/1.0" 200 5"#,
            br#"1.2.3.4 - - [19/Jul/2001:10:12:01 0000] "GET / HTTP/1.0" 200 5"#,
            br#"1.2.3.4 [19/Jul/2001:10:12:01 +0000] "GET / HTTP/1.0" 200 5"#,
            br#"1.2.3 - - [19/Jul/2001:10:12:01 +0000] "GET / HTTP/1.0" 200 5"#,
            br#"1.2.3.4 - - [19/Jul/2001:10:12:01 +0000] "GET / HTTP/1.0" OK 5"#,
        ] {
            let mut p = Parser::new(Some(Format::Common), 0.0);
            assert!(
                matches!(p.parse(l), Parsed::Malformed(_)),
                "{}",
                String::from_utf8_lossy(l)
            );
        }
    }

    #[test]
    fn error_log_versions() {
        let mut p = Parser::new(None, 0.0);
        let l = b"[Thu Jul 19 10:12:01 2001] [error] [client 1.2.3.4] File does not exist: /var/www/default.ida";
        assert_eq!(
            p.parse(l),
            req("2001-07-19T10:12:01Z", [1, 2, 3, 4], Class::IdaGeneric)
        );
        assert_eq!(p.format(), Some(Format::Error));
        // Apache 1.3 pads the day with a space (ctime); offsets apply.
        let mut p = Parser::new(Some(Format::Error), -7.0 * 3600.0);
        let l = b"[Thu Jul  5 03:12:01 2001] [error] [client 1.2.3.4] File does not exist: /usr/local/apache/htdocs/scripts/root.exe";
        assert_eq!(
            p.parse(l),
            req("2001-07-05T10:12:01Z", [1, 2, 3, 4], Class::Nimda)
        );
        // Apache 2.4.
        let l = b"[Thu Jul 19 10:12:01.250000 2001] [core:info] [pid 1:tid 2] [client 1.2.3.4:5678] AH00128: File does not exist: /srv/null.idq";
        assert_eq!(
            Parser::new(None, 0.0).parse(l),
            req("2001-07-19T10:12:01.250Z", [1, 2, 3, 4], Class::IdaGeneric)
        );
        // A server message without a client is not a request.
        let l = b"[Thu Jul 19 10:00:00 2001] [notice] Apache/1.3.20 (Unix) configured -- resuming normal operations";
        assert_eq!(Parser::new(None, 0.0).parse(l), Parsed::NotRequest);
        for bad in [
            &b"[Thu Jul 19 10:12:01] [error] [client 1.2.3.4] x"[..],
            b"[Thu Jux 19 10:12:01 2001] [error] [client 1.2.3.4] x",
            b"[Thu Jul 19 10:12:01 2001] [error] [client 1.2.3.x] x",
            b"[Thu Jul 19 10:12:01 2001] [error] [client 1.2.3.4",
            b"[no closing bracket",
            // Found by fuzzing (logs_parse): `]` first on a line of a forced error_log.
            b"]",
            b"x] [error] [client 1.2.3.4] x",
        ] {
            assert!(
                matches!(
                    Parser::new(Some(Format::Error), 0.0).parse(bad),
                    Parsed::Malformed(_)
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn w3c_fields_define_columns() {
        let mut p = Parser::new(None, 0.0);
        assert_eq!(
            p.parse(b"#Software: Microsoft Internet Information Services 5.0"),
            Parsed::NotRequest
        );
        assert_eq!(p.format(), Some(Format::W3c));
        assert_eq!(
            p.parse(b"2001-07-19 10:00:00 1.2.3.4 GET /x -"),
            Parsed::Malformed("W3C data line before any #Fields directive")
        );
        p.parse(b"#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status");
        assert_eq!(
            p.parse(b"2001-07-19 17:12:01 1.2.3.4 GET /default.ida XXXXXXXXXXXXXXXXXX%u9090=a 404"),
            req("2001-07-19T17:12:01Z", [1, 2, 3, 4], Class::CodeRedII)
        );
        assert_eq!(
            p.parse(b"2001-07-19 17:12:01 1.2.3.4 GET /default.ida - 404"),
            req("2001-07-19T17:12:01Z", [1, 2, 3, 4], Class::IdaGeneric)
        );
        assert!(matches!(
            p.parse(b"2001-07-19 17:12:01 1.2.3.4 GET /default.ida - 404 extra"),
            Parsed::Malformed(_)
        ));
        // A new #Fields (IIS restart) changes the columns; #Date supplies the date.
        p.parse(b"#Date: 2001-07-20 00:00:00");
        p.parse(b"#Fields: time c-ip cs-method cs-uri-stem cs-uri-query");
        assert_eq!(
            p.parse(b"00:00:05.5 1.2.3.5 GET /scripts/root.exe /c+dir"),
            req("2001-07-20T00:00:05.500Z", [1, 2, 3, 5], Class::Nimda)
        );
        p.parse(b"#Fields: date time cs-uri-stem");
        assert_eq!(
            p.parse(b"2001-07-19 17:12:01 /x"),
            Parsed::Malformed("W3C #Fields has no c-ip field")
        );
        p.parse(b"#Fields: date time c-ip cs-uri");
        assert_eq!(
            p.parse(b"2001-07-19 17:12:01 1.2.3.4 /default.ida?NNNNNNNNNNNNNN"),
            req("2001-07-19T17:12:01Z", [1, 2, 3, 4], Class::CodeRed)
        );
    }

    #[test]
    fn detection_skips_junk_until_a_valid_line() {
        let mut p = Parser::new(None, 0.0);
        assert!(matches!(p.parse(b"\x00\x01garbage"), Parsed::Malformed(_)));
        assert!(matches!(p.parse(b"# a comment"), Parsed::Malformed(_)));
        assert!(matches!(p.parse(b"[not a date] x"), Parsed::Malformed(_)));
        assert_eq!(p.format(), None);
        assert_eq!(p.parse(b"   "), Parsed::NotRequest);
        let l = br#"1.2.3.4 - - [19/Jul/2001:10:12:01 +0000] "GET / HTTP/1.0" 200 5"#;
        assert!(matches!(p.parse(l), Parsed::Request { .. }));
        assert_eq!(p.format(), Some(Format::Common));
        // Once detected, lines of other formats are malformed.
        let e = b"[Thu Jul 19 10:12:01 2001] [error] [client 1.2.3.4] x";
        assert!(matches!(p.parse(e), Parsed::Malformed(_)));
    }

    #[test]
    fn time_helpers() {
        assert_eq!(hms(b"10:00:00"), Some(36_000.0));
        assert_eq!(hms(b"10:00:00.125"), Some(36_000.125));
        assert_eq!(hms(b"10:00:00."), None);
        assert_eq!(hms(b"10:60:00"), None);
        assert_eq!(ymd(b"2001-02-29"), None);
        assert_eq!(ymd(b"2000-02-29"), Some(days_from_civil(2000, 2, 29)));
        assert_eq!(ymd(b"0999-01-01"), None);
        assert_eq!(
            clf_time(b"19/Jul/2001:10:12:01 -0700"),
            Some(t("2001-07-19T17:12:01Z"))
        );
        assert_eq!(clf_time(b"19/Jul/2001:10:12:01 -0760"), None);
    }
}
