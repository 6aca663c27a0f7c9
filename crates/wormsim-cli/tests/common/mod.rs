//! Helpers shared by the binary's test suites (`tests/cli`, `tests/scale.rs`).

use std::path::Path;
use std::process::{Command, Output};

/// Run the `wormsim` binary in `dir` with `args`, with the sharding variables
/// of Slurm and Kubernetes cleared (the tests choose their shards with flags).
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wormsim"))
        .current_dir(dir)
        .args(args)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .expect("wormsim runs")
}

/// [`run_in`], which must succeed.
pub fn ok(dir: &Path, args: &[&str]) -> Output {
    let o = run_in(dir, args);
    assert!(
        o.status.success(),
        "wormsim {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}
