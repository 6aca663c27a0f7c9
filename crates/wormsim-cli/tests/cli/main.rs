//! Command-line tests: the `wormsim` binary driven on small inputs (assert_cmd).
//! One module per command.

mod fit;

use std::path::PathBuf;

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// The `wormsim` binary.
pub fn wormsim() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("wormsim").expect("the wormsim binary is built")
}
