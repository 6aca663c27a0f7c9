//! Which worm, if any, sent a request.
//!
//! The rules, checked in this order (first match wins):
//!
//! | class | rule | source |
//! |---|---|---|
//! | [`Class::CodeRed`] (CRv1/CRv2) | `.ida?` or `.idq?` (any case), later a run of 13 `N` | Bro `policy/worm.bro` (V. Paxson, 2007): `/\.id[aq]\?.*NNNNNNNNNNNNN/` "Code Red 1" |
//! | [`Class::CodeRedII`] | the same with 13 `X` | Bro `worm.bro`: `/\.id[aq]\?.*XXXXXXXXXXXXX/` "Code Red 2" (= CRII) |
//! | [`Class::Nimda`] | `root.exe` or `cmd.exe` (any case) right after `/`, `\`, `%5c` or `%2f`; or `cool.dll` then `httpodbc.dll` | Snort sid 1256 (`/root.exe`), sid 1002 (`cmd.exe`); AWStats `worms.pm` (`root\.exe`, `\/winnt\/system32\/cmd\.exe`); Bro `worm.bro` (`cool\.dll.*httpodbc\.dll`) |
//! | [`Class::IdaGeneric`] | the path (before any `?`) ends in `.ida` or `.idq` (any case) | Snort sid 1242/1245 (`.ida`/`.idq` access), AWStats (`\/default\.ida`, `\/null\.idq`) |
//! | [`Class::Other`] | anything else | |
//!
//! The 13-character runs are case-sensitive, as in Bro (the worms send upper-case
//! fill: 224 × `N` or `X`). If both runs follow `.ida?`, the earlier one decides.
//! A run of 12 is not enough; `NNNN…` without an `.ida?`/`.idq?` before it is not
//! Code Red; a request for `/default.ida` with a short query is only a generic
//! probe. When the query string is absent (Apache `error_log`), Code Red requests
//! fall into [`Class::IdaGeneric`]: the fill that tells the variants apart is in
//! the query.

use memchr::memmem::Finder;
use std::sync::LazyLock;

/// The classes of request, worm classes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Code Red v1 or v2 (`.ida?` + `N` fill); the two send the same request.
    CodeRed,
    /// Code Red II (`.ida?` + `X` fill).
    CodeRedII,
    /// Nimda and other users of the `root.exe`/`cmd.exe` back doors and traversals.
    Nimda,
    /// A request for an `.ida`/`.idq` resource that is not one of the above.
    IdaGeneric,
    /// Not a worm request.
    Other,
}

impl Class {
    /// The worm classes, in column order.
    pub const WORMS: [Class; 4] = [
        Class::CodeRed,
        Class::CodeRedII,
        Class::Nimda,
        Class::IdaGeneric,
    ];
    /// Every class, in report order.
    pub const ALL: [Class; 5] = [
        Class::CodeRed,
        Class::CodeRedII,
        Class::Nimda,
        Class::IdaGeneric,
        Class::Other,
    ];

    /// The column name used in outputs: `crv1v2`, `crii`, `nimda`, `ida_generic`, `other`.
    pub fn name(self) -> &'static str {
        match self {
            Class::CodeRed => "crv1v2",
            Class::CodeRedII => "crii",
            Class::Nimda => "nimda",
            Class::IdaGeneric => "ida_generic",
            Class::Other => "other",
        }
    }

    /// Whether requests of this class count as worm probes.
    pub fn is_worm(self) -> bool {
        self != Class::Other
    }

    /// Position in [`Class::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Length of the fill run that marks Code Red (Bro `worm.bro`) [characters].
pub const RUN: usize = 13;

static N_RUN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(&[b'N'; RUN]));
static X_RUN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(&[b'X'; RUN]));

/// Classify a request URI given as its path and optional query (the part after
/// the first `?`, without it). Access logs give the request target split at its
/// first `?`; IIS W3C logs give `cs-uri-stem` and `cs-uri-query`.
pub fn classify_uri(path: &[u8], query: Option<&[u8]>) -> Class {
    if let Some(c) = code_red(path, query) {
        return c;
    }
    if is_nimda(path) || query.is_some_and(is_nimda) || cool_httpodbc(path, query) {
        return Class::Nimda;
    }
    if has_ida_ext(path) {
        return Class::IdaGeneric;
    }
    Class::Other
}

/// Classify a request target as it appears in a request line (`/a/b?c`).
pub fn classify_target(target: &[u8]) -> Class {
    match memchr::memchr(b'?', target) {
        Some(i) => classify_uri(&target[..i], Some(&target[i + 1..])),
        None => classify_uri(target, None),
    }
}

/// Classify the message of an Apache `error_log` line, which may hold a file
/// path (`File does not exist: /var/www/default.ida`) or, for some errors, a
/// request line. A trailing `, referer: …` is ignored (the referer is not the
/// request). The Code Red rule runs on the whole message; the generic `.ida` rule
/// on each whitespace-separated word.
pub fn classify_message(msg: &[u8]) -> Class {
    let msg = match memchr::memmem::find(msg, b", referer: ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    if let Some(c) = code_red(msg, None) {
        return c;
    }
    if is_nimda(msg) || cool_httpodbc(msg, None) {
        return Class::Nimda;
    }
    let words = msg
        .split(|b| b.is_ascii_whitespace())
        .map(|w| w.strip_suffix(b",").unwrap_or(w))
        .map(|w| w.strip_suffix(b"'").unwrap_or(w));
    for w in words {
        let path = memchr::memchr(b'?', w).map_or(w, |i| &w[..i]);
        if has_ida_ext(path) {
            return Class::IdaGeneric;
        }
    }
    Class::Other
}

/// Bro's two Code Red rules on `path ? query`.
fn code_red(path: &[u8], query: Option<&[u8]>) -> Option<Class> {
    // Cheap filter first: almost no request has a 13-character run of N or X.
    let in_path = N_RUN.find(path).is_some() || X_RUN.find(path).is_some();
    let in_query = query.is_some_and(|q| N_RUN.find(q).is_some() || X_RUN.find(q).is_some());
    if !in_path && !in_query {
        return None;
    }
    // Rare path: join the URI back together and apply the rule exactly.
    let mut uri = Vec::with_capacity(path.len() + 1 + query.map_or(0, <[u8]>::len));
    uri.extend_from_slice(path);
    if let Some(q) = query {
        uri.push(b'?');
        uri.extend_from_slice(q);
    }
    let start = find_ida_q(&uri)? + 5;
    let rest = &uri[start..];
    match (N_RUN.find(rest), X_RUN.find(rest)) {
        (Some(n), Some(x)) => Some(if n <= x {
            Class::CodeRed
        } else {
            Class::CodeRedII
        }),
        (Some(_), None) => Some(Class::CodeRed),
        (None, Some(_)) => Some(Class::CodeRedII),
        (None, None) => None,
    }
}

/// Position of the first `.ida?` or `.idq?` (any case).
fn find_ida_q(s: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'.', &s[from..]) {
        let at = from + i;
        if let Some(w) = s.get(at..at + 5) {
            if w[1].eq_ignore_ascii_case(&b'i')
                && w[2].eq_ignore_ascii_case(&b'd')
                && (w[3].eq_ignore_ascii_case(&b'a') || w[3].eq_ignore_ascii_case(&b'q'))
                && w[4] == b'?'
            {
                return Some(at);
            }
        } else {
            return None;
        }
        from = at + 1;
    }
    None
}

/// Whether `path` ends in `.ida` or `.idq` (any case).
fn has_ida_ext(path: &[u8]) -> bool {
    match path.len().checked_sub(4).map(|i| &path[i..]) {
        Some(ext) => ext.eq_ignore_ascii_case(b".ida") || ext.eq_ignore_ascii_case(b".idq"),
        None => false,
    }
}

/// Case-insensitive search for an ASCII lower-case `needle` in `hay`, from `from`.
fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = needle[0];
    let mut at = from;
    while at + needle.len() <= hay.len() {
        let i = memchr::memchr2(first, first.to_ascii_uppercase(), &hay[at..])?;
        let p = at + i;
        if p + needle.len() > hay.len() {
            return None;
        }
        if hay[p..p + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(p);
        }
        at = p + 1;
    }
    None
}

/// `root.exe` or `cmd.exe` as a file name: right after `/`, `\`, `%5c` or `%2f`.
fn is_nimda(s: &[u8]) -> bool {
    for needle in [&b"root.exe"[..], &b"cmd.exe"[..]] {
        let mut from = 0;
        while let Some(p) = find_ci(s, needle, from) {
            let before = &s[..p];
            let sep = matches!(before.last(), Some(b'/' | b'\\'))
                || before.len() >= 3 && {
                    let t = &before[before.len() - 3..];
                    t.eq_ignore_ascii_case(b"%5c") || t.eq_ignore_ascii_case(b"%2f")
                };
            if sep {
                return true;
            }
            from = p + 1;
        }
    }
    false
}

/// Bro `worm.bro`: `cool\.dll.*httpodbc\.dll` on `path ? query`.
fn cool_httpodbc(path: &[u8], query: Option<&[u8]>) -> bool {
    match find_ci(path, b"cool.dll", 0) {
        Some(p) => {
            find_ci(path, b"httpodbc.dll", p + 8).is_some()
                || query.is_some_and(|q| find_ci(q, b"httpodbc.dll", 0).is_some())
        }
        None => query.is_some_and(|q| {
            find_ci(q, b"cool.dll", 0).is_some_and(|p| find_ci(q, b"httpodbc.dll", p + 8).is_some())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical Code Red request target (224 fill characters), from
    /// `shared/data/real/signatures/codered_signatures.md` §6.
    pub(crate) fn codered_target(fill: u8) -> Vec<u8> {
        let mut t = b"/default.ida?".to_vec();
        t.extend(std::iter::repeat_n(fill, 224));
        t.extend_from_slice(
            b"%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801\
              %u9090%u9090%u8190%u00c3%u0003%u8b00%u531b%u53ff%u0078%u0000%u00=a",
        );
        t
    }

    #[test]
    fn canonical_requests() {
        assert_eq!(classify_target(&codered_target(b'N')), Class::CodeRed);
        assert_eq!(classify_target(&codered_target(b'X')), Class::CodeRedII);
    }

    #[test]
    fn code_red_rule_boundaries() {
        let n = |k: usize| "N".repeat(k);
        let cases: &[(String, Class)] = &[
            (format!("/default.ida?{}", n(13)), Class::CodeRed),
            (format!("/default.ida?{}", n(12)), Class::IdaGeneric),
            (format!("/DEFAULT.IDA?{}", n(13)), Class::CodeRed),
            (format!("/null.idq?{}", n(20)), Class::CodeRed),
            (
                format!("/default.ida?ab{}cd", "X".repeat(13)),
                Class::CodeRedII,
            ),
            (
                format!("/default.ida?{}", "n".repeat(30)),
                Class::IdaGeneric,
            ),
            (format!("/default.idx?{}", n(30)), Class::Other),
            (format!("/{}.html", n(30)), Class::Other),
            (format!("/{}/default.ida?x", n(30)), Class::IdaGeneric),
            (
                format!("/default.ida?{}{}", "X".repeat(13), n(13)),
                Class::CodeRedII,
            ),
            (
                format!("/default.ida?{}{}", n(13), "X".repeat(13)),
                Class::CodeRed,
            ),
            // Bro's regex is unanchored: `.ida?` inside the query also counts.
            (format!("/search?q=a.ida?{}", n(13)), Class::CodeRed),
        ];
        for (t, want) in cases {
            assert_eq!(classify_target(t.as_bytes()), *want, "{t}");
        }
    }

    #[test]
    fn split_uri_matches_joined_target() {
        // IIS logs give stem and query separately; the verdict must not change.
        for fill in [b'N', b'X'] {
            let t = codered_target(fill);
            let i = t.iter().position(|&b| b == b'?').unwrap();
            assert_eq!(
                classify_uri(&t[..i], Some(&t[i + 1..])),
                classify_target(&t)
            );
        }
        assert_eq!(classify_uri(b"/default.ida", None), Class::IdaGeneric);
    }

    #[test]
    fn nimda_requests() {
        for t in [
            "/scripts/root.exe?/c+dir",
            "/MSADC/root.exe?/c+dir",
            "/c/winnt/system32/cmd.exe?/c+dir",
            "/d/winnt/system32/cmd.exe?/c+dir",
            "/scripts/..%5c../winnt/system32/cmd.exe?/c+dir",
            "/_vti_bin/..%5c../..%5c../..%5c../winnt/system32/cmd.exe?/c+dir",
            "/_mem_bin/..%5c../..%5c../..%5c../winnt/system32/cmd.exe?/c+dir",
            "/scripts/..%c0%af../winnt/system32/cmd.exe?/c+dir",
            "/scripts/..%c1%1c../winnt/system32/cmd.exe?/c+dir",
            "/scripts/..%255c../winnt/system32/cmd.exe?/c+dir",
            "/scripts/..%2f../winnt/system32/CMD.EXE?/c+dir",
            "/scripts/..%5ccmd.exe",
            "/x/cool.dll?a=httpodbc.dll",
        ] {
            assert_eq!(classify_target(t.as_bytes()), Class::Nimda, "{t}");
        }
        for t in [
            "/docs/cmdexe.txt",
            "/download/mycmd.exe",
            "/_vti_bin/shtml.exe/_vti_rpc",
            "/_vti_bin/_vti_adm/admin.dll",
            "/msadc/msadcs.dll",
            "/index.html",
        ] {
            assert_eq!(classify_target(t.as_bytes()), Class::Other, "{t}");
        }
    }

    #[test]
    fn ida_generic_needs_the_extension_on_the_path() {
        assert_eq!(classify_target(b"/default.ida"), Class::IdaGeneric);
        assert_eq!(classify_target(b"/scripts/NULL.IDQ?x=1"), Class::IdaGeneric);
        assert_eq!(classify_target(b"/pics/x.idaho.jpg"), Class::Other);
        assert_eq!(classify_target(b"/florida.html"), Class::Other);
        assert_eq!(classify_target(b"/search?q=default.ida"), Class::Other);
        assert_eq!(classify_target(b"/docs/ida.html"), Class::Other);
    }

    #[test]
    fn error_log_messages() {
        assert_eq!(
            classify_message(b"File does not exist: /var/www/default.ida"),
            Class::IdaGeneric
        );
        assert_eq!(
            classify_message(b"File does not exist: /var/www/scripts/root.exe"),
            Class::Nimda
        );
        assert_eq!(
            classify_message(
                b"File does not exist: /var/www/index.htm, referer: http://x/default.ida"
            ),
            Class::Other
        );
        let mut m = b"Invalid URI in request GET ".to_vec();
        m.extend(codered_target(b'X'));
        m.extend_from_slice(b" HTTP/1.0");
        assert_eq!(classify_message(&m), Class::CodeRedII);
        assert_eq!(
            classify_message(b"Client sent malformed Host header"),
            Class::Other
        );
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        for t in [
            &b""[..],
            b"?",
            b".",
            b".ida",
            b".ida?",
            b"\xff\xfe.ida?NNNNNNNNNNNNN",
            b"%5",
            b"cool.dll",
        ] {
            let _ = classify_target(t);
            let _ = classify_message(t);
        }
        assert_eq!(classify_target(b"\xff.ida?NNNNNNNNNNNNN"), Class::CodeRed);
    }
}
