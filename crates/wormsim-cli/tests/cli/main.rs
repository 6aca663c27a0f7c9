//! End-to-end tests of the `wormsim` binary (assert_cmd): one test binary, a
//! module per command.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod beyond;
mod check;
mod fit;
mod presets;
mod report;
mod robustness;
mod run;

use std::path::PathBuf;

/// The binary under test.
pub fn wormsim() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("wormsim").expect("the wormsim binary is built")
}

/// Run `cmd`, which must exit with code 2 (bad input), and return its
/// standard error.
pub fn input_error(cmd: &mut assert_cmd::Command) -> String {
    let assert = cmd.assert().code(2);
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}
