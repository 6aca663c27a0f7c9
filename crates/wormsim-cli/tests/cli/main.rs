//! End-to-end tests of the `wormsim` binary: one test binary, a module per command.

mod bad_input;
mod check;
mod presets;
mod run;

use assert_cmd::Command;

/// The binary under test.
pub fn wormsim() -> Command {
    Command::cargo_bin("wormsim").expect("binary built")
}
