//! Error classification for exit codes: bad input exits 2, anything else 1.

use std::fmt;

/// A problem with what the user gave us (arguments, files): exit code 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// Shorthand: an [`InputError`] as an `anyhow::Error`.
pub fn input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(InputError(msg.into()))
}

/// Whether any error in the chain is about the user's input.
pub fn is_input_error(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.is::<InputError>()
            || e.is::<wormsim::scenario::ScenarioError>()
            || e.is::<wormsim::preset::PresetError>()
            || e.is::<wormsim::engine::SetupError>()
            || e.is::<wormsim::population::PopulationError>()
            || e.is::<wormsim::time::TimeParseError>()
            || e.is::<wormsim::logs::LogError>()
            || e.is::<wormsim::logs::AggregateError>()
            || e.is::<wormsim::fit::data::DataError>()
            || e.downcast_ref::<wormsim::fit::FitError>()
                .is_some_and(wormsim::fit::FitError::is_input)
    })
}

/// Whether the error is a closed pipe on stdout (`wormsim presets | head -1`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
