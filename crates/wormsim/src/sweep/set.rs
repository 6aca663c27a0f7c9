//! Setting scenario parameters by key path: `defense.patch.rate = 0.1`.
//!
//! [`set_keys`] rewrites a scenario's TOML text with some keys replaced (creating
//! intermediate tables as needed); the caller then validates the result with
//! [`crate::scenario::Scenario::from_source`], exactly like a file, so a key that
//! is not part of the scenario format is rejected there (see
//! [`crate::sweep::Sweep::scenario`], which turns that into an error naming the key).
//! Comments and layout of the original text are not kept.

use toml::{Table, Value};

/// Why a key could not be set.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SetError {
    #[error("`{key}`: the scenario text does not parse: {msg}")]
    Parse { key: String, msg: String },
    #[error("`{key}` has an empty part; write keys like defense.patch.rate")]
    EmptySegment { key: String },
    #[error("`{key}`: `{prefix}` is a {found}, not a table; set `{prefix}` itself instead")]
    NotATable {
        key: String,
        prefix: String,
        found: &'static str,
    },
    #[error("`{key}`: `{prefix}` has {len} items, so there is no item {index}")]
    NoSuchItem {
        key: String,
        prefix: String,
        index: usize,
        len: usize,
    },
}

/// `text` with each `(key path, value)` of `sets` applied in order, as TOML text.
///
/// # Errors
/// [`SetError`]: a path through a value that is not a table (or an array indexed
/// by a number), or text that does not parse.
///
/// # Examples
/// ```
/// use wormsim::sweep::set::set_keys;
/// let t = set_keys("[worm]\nscan_rate = 6.0\n", &[
///     ("worm.scan_rate", &toml::Value::Float(8.0)),
///     ("defense.patch.rate", &toml::Value::Float(0.1)),
/// ]).unwrap();
/// let v: toml::Table = t.parse().unwrap();
/// assert_eq!(v["worm"]["scan_rate"].as_float(), Some(8.0));
/// assert_eq!(v["defense"]["patch"]["rate"].as_float(), Some(0.1));
/// ```
pub fn set_keys(text: &str, sets: &[(&str, &Value)]) -> Result<String, SetError> {
    let doc: Table = text.parse().map_err(|e: toml::de::Error| SetError::Parse {
        key: sets.first().map(|s| s.0.to_string()).unwrap_or_default(),
        msg: e.message().to_string(),
    })?;
    let mut root = Value::Table(doc);
    for &(key, value) in sets {
        let parts: Vec<&str> = key.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(SetError::EmptySegment {
                key: key.to_string(),
            });
        }
        set_in(&mut root, &parts, "", key, value.clone())?;
    }
    Ok(toml::to_string(&root).expect("a TOML table serializes"))
}

/// Set `parts` below `v`, whose own path is `walked`.
fn set_in(
    v: &mut Value,
    parts: &[&str],
    walked: &str,
    key: &str,
    value: Value,
) -> Result<(), SetError> {
    let (&part, rest) = parts.split_first().expect("at least one part");
    let child = match v {
        Value::Table(t) => {
            if rest.is_empty() {
                t.insert(part.to_string(), value);
                return Ok(());
            }
            t.entry(part.to_string())
                .or_insert_with(|| Value::Table(Table::new()))
        }
        Value::Array(items) if part.parse::<usize>().is_ok() => {
            let index: usize = part.parse().expect("checked");
            let len = items.len();
            let slot = items.get_mut(index).ok_or_else(|| SetError::NoSuchItem {
                key: key.to_string(),
                prefix: walked.to_string(),
                index,
                len,
            })?;
            if rest.is_empty() {
                *slot = value;
                return Ok(());
            }
            slot
        }
        other => {
            return Err(SetError::NotATable {
                key: key.to_string(),
                prefix: walked.to_string(),
                found: other.type_str(),
            });
        }
    };
    let path = if walked.is_empty() {
        part.to_string()
    } else {
        format!("{walked}.{part}")
    };
    set_in(child, rest, &path, key, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(t: &'a Table, path: &str) -> &'a Value {
        let mut parts = path.split('.');
        let mut v = &t[parts.next().unwrap()];
        for p in parts {
            v = match v {
                Value::Array(a) => &a[p.parse::<usize>().unwrap()],
                _ => &v[p],
            };
        }
        v
    }

    #[test]
    fn replaces_creates_and_indexes() {
        let text = "top = 1\n[a]\nx = 1\n[[a.list]]\ny = 2\n";
        let out = set_keys(
            text,
            &[
                ("a.x", &Value::Integer(5)),
                ("a.b.c", &Value::String("s".into())),
                ("a.list.0.y", &Value::Float(0.5)),
                ("top", &Value::Boolean(true)),
            ],
        )
        .unwrap();
        let t: Table = out.parse().unwrap();
        assert_eq!(get(&t, "a.x").as_integer(), Some(5));
        assert_eq!(get(&t, "a.b.c").as_str(), Some("s"));
        assert_eq!(get(&t, "a.list.0.y").as_float(), Some(0.5));
        assert_eq!(get(&t, "top").as_bool(), Some(true));
    }

    #[test]
    fn errors_name_the_key() {
        let text = "[a]\nx = 1\nl = [1, 2]\n";
        let e = set_keys(text, &[("a.x.y", &Value::Integer(1))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`a.x.y`: `a.x` is a integer, not a table; set `a.x` itself instead"
        );
        let e = set_keys(text, &[("a.l.5", &Value::Integer(1))]).unwrap_err();
        assert!(matches!(
            e,
            SetError::NoSuchItem {
                index: 5,
                len: 2,
                ..
            }
        ));
        let e = set_keys(text, &[("a..x", &Value::Integer(1))]).unwrap_err();
        assert!(e.to_string().contains("empty part"));
    }

    #[test]
    fn datetimes_survive() {
        let text = "[scenario]\nstart = 2001-07-19T10:00:00Z\n";
        let out = set_keys(text, &[]).unwrap();
        assert!(out.contains("start = 2001-07-19T10:00:00Z"), "{out}");
    }
}
