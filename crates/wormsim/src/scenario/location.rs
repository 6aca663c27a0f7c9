//! Turning byte spans into `line:column` and key paths, for error messages.

use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// 1-based line and column (in characters) of byte offset `at` in `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The dotted key path of the deepest key whose key or value covers byte `at`,
/// e.g. `worm.scan_rate`. `None` if the document does not parse.
pub fn key_at(text: &str, at: usize) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    walk_table(doc.get_ref(), at, &mut path);
    if path.is_empty() {
        None
    } else {
        Some(path.join("."))
    }
}

/// Byte offset of the value of the dotted key `path` (e.g. `worm.scan_rate`),
/// or of the key itself for a table; `None` if the key is not written in the
/// document (a default) or the document does not parse.
pub fn value_of(text: &str, path: &str) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let (k, v) = table.get_key_value(part)?;
        if parts.peek().is_none() {
            return Some(match v.get_ref() {
                DeValue::Table(_) => k.span().start,
                _ => v.span().start,
            });
        }
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return None,
        }
    }
    None
}

fn covers(span: &Range<usize>, at: usize) -> bool {
    span.start <= at && at < span.end.max(span.start + 1)
}

fn walk_table(t: &DeTable<'_>, at: usize, path: &mut Vec<String>) -> bool {
    for (k, v) in t.iter() {
        if covers(&k.span(), at) || covers(&v.span(), at) {
            path.push(k.get_ref().to_string());
            walk_value(v, at, path);
            return true;
        }
    }
    // Dotted tables and headers are not always inside their value's span: search deeper.
    for (k, v) in t.iter() {
        if let DeValue::Table(inner) = v.get_ref() {
            path.push(k.get_ref().to_string());
            if walk_table(inner, at, path) {
                return true;
            }
            path.pop();
        }
    }
    false
}

fn walk_value(v: &Spanned<DeValue<'_>>, at: usize, path: &mut Vec<String>) {
    match v.get_ref() {
        DeValue::Table(t) => {
            walk_table(t, at, path);
        }
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if covers(&item.span(), at) {
                    path.push(format!("{i}"));
                    walk_value(item, at, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let t = "a = 1\n[worm]\nscan_rate = -1\n";
        let at = t.find("-1").unwrap();
        assert_eq!(line_col(t, at), (3, 13));
        assert_eq!(key_at(t, at).as_deref(), Some("worm.scan_rate"));
        assert_eq!(line_col(t, 0), (1, 1));
    }

    #[test]
    fn values_by_key() {
        let t = "a = 1\n[worm]\nscan_rate = -1\n[defense.patch]\nrate = 2\n";
        let at = value_of(t, "worm.scan_rate").unwrap();
        assert_eq!(line_col(t, at), (3, 13));
        let at = value_of(t, "defense.patch.rate").unwrap();
        assert_eq!(line_col(t, at), (5, 8));
        assert_eq!(line_col(t, value_of(t, "worm").unwrap()), (2, 2));
        assert_eq!(value_of(t, "worm.threads"), None);
        assert_eq!(value_of(t, "a.b"), None);
        assert_eq!(value_of("[x", "x"), None);
    }

    #[test]
    fn arrays_of_tables() {
        let t = "[defense.patch]\nschedule = [ { from = 1, rate = -2 } ]\n";
        let at = t.find("-2").unwrap();
        assert_eq!(
            key_at(t, at).as_deref(),
            Some("defense.patch.schedule.0.rate")
        );
    }
}
