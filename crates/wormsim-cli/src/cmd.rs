//! One module per subcommand.

pub mod check;
pub mod ensemble;
pub mod fit;
pub mod logs;
pub mod merge;
pub mod presets;
pub mod report;
pub mod run;
pub mod slurm_script;
pub mod sweep;
pub mod validate;

use crate::error::input;
use std::path::Path;
use wormsim::engine::SetupError;
use wormsim::scenario::location::{line_col, value_of};
use wormsim::scenario::{Scenario, Source};

/// A setup error with the scenario file's name and, when the key it is about
/// is written in the file, its line and column (`file:line:col: key: ...`).
pub fn setup_error(s: &Scenario, e: SetupError) -> anyhow::Error {
    let at = e
        .key()
        .and_then(|k| value_of(&s.source_text, &k))
        .map(|at| line_col(&s.source_text, at));
    let place = match at {
        Some((line, col)) => format!("{}:{line}:{col}", s.source_name),
        None => s.source_name.clone(),
    };
    anyhow::Error::new(e).context(place)
}

/// Load a scenario from a preset name or a file path.
///
/// A name with a `.toml` ending or a path separator is a file; anything else is
/// looked up among the presets.
pub fn load_scenario(arg: &str) -> anyhow::Result<Scenario> {
    let looks_like_file = arg.ends_with(".toml") || arg.contains('/') || arg.contains('\\');
    if looks_like_file {
        let path = Path::new(arg);
        if !path.exists() {
            return Err(input(format!(
                "{arg}: no such scenario file; give a path to a .toml file or a preset name (`wormsim presets`)"
            )));
        }
        Ok(Scenario::from_source(&Source::from_path(path)?)?)
    } else {
        Ok(wormsim::preset::load(arg)?)
    }
}
