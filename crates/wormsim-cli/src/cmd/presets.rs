//! `wormsim presets`

use crate::args::PresetsArgs;
use std::io::Write;
use std::process::ExitCode;

pub fn run(_a: &PresetsArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let width = wormsim::preset::PRESETS
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    for p in wormsim::preset::PRESETS {
        writeln!(out, "{:width$}  {}", p.name, wormsim::preset::describe(p))?;
    }
    Ok(ExitCode::SUCCESS)
}
