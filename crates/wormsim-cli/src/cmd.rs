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
use wormsim::scenario::{Scenario, Source};

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
