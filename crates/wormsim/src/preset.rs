//! Built-in scenarios, embedded from `scenarios/*.toml` at build time.

use crate::scenario::{Scenario, ScenarioError, Source};

/// A built-in preset: its name and TOML text.
pub struct Preset {
    pub name: &'static str,
    pub text: &'static str,
}

/// Every built-in preset, in the order `wormsim presets` lists them.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "codered-v1-2001-07-12",
        text: include_str!("../../../scenarios/codered-v1-2001-07-12.toml"),
    },
    Preset {
        name: "codered-v2-2001-07-19",
        text: include_str!("../../../scenarios/codered-v2-2001-07-19.toml"),
    },
    Preset {
        name: "codered-v2-2001-08-01",
        text: include_str!("../../../scenarios/codered-v2-2001-08-01.toml"),
    },
    Preset {
        name: "codered-ii-2001-08-04",
        text: include_str!("../../../scenarios/codered-ii-2001-08-04.toml"),
    },
    Preset {
        name: "codered-v2-fast",
        text: include_str!("../../../scenarios/codered-v2-fast.toml"),
    },
    Preset {
        name: "slammer-2003-01-25",
        text: include_str!("../../../scenarios/slammer-2003-01-25.toml"),
    },
    Preset {
        name: "witty-2004-03-20",
        text: include_str!("../../../scenarios/witty-2004-03-20.toml"),
    },
    Preset {
        name: "warhol-hypothetical",
        text: include_str!("../../../scenarios/warhol-hypothetical.toml"),
    },
];

/// The preset called `name`.
pub fn get(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// Why a preset could not be loaded.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PresetError {
    #[error(
        "unknown preset `{name}`{hint}; run `wormsim presets` to list them, or give a path to a .toml file"
    )]
    Unknown { name: String, hint: String },
    #[error(transparent)]
    Invalid(#[from] ScenarioError),
}

/// Load and validate the preset `name`.
///
/// # Errors
/// Unknown name (with a suggestion), or a preset that fails validation (a bug).
pub fn load(name: &str) -> Result<Scenario, PresetError> {
    let p = get(name).ok_or_else(|| {
        let best = PRESETS
            .iter()
            .min_by_key(|p| edit_distance(p.name, name))
            .filter(|p| edit_distance(p.name, name) <= 4);
        PresetError::Unknown {
            name: name.to_string(),
            hint: best
                .map(|p| format!(" (did you mean `{}`?)", p.name))
                .unwrap_or_default(),
        }
    })?;
    Ok(Scenario::from_source(&Source {
        name: format!("preset:{}", p.name),
        text: p.text.to_string(),
        base_dir: None,
    })?)
}

/// The first line of a preset's description (for listings).
pub fn describe(p: &Preset) -> String {
    Scenario::from_str(p.name, p.text)
        .map(|s| {
            s.description
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|e| format!("(invalid: {e})"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_validates() {
        for p in PRESETS {
            let s = load(p.name).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(
                s.name, p.name,
                "a preset's [scenario] name matches its file name"
            );
        }
    }

    #[test]
    fn unknown_preset_suggests() {
        match load("codered-v2-2001-07-91") {
            Err(PresetError::Unknown { hint, .. }) => {
                assert!(hint.contains("codered-v2-2001-07-19"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(load("zzz"), Err(PresetError::Unknown { hint, .. }) if hint.is_empty()));
    }
}
