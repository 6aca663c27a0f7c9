//! `wormsim presets` and `--help`.

use crate::wormsim;

#[test]
fn lists_every_preset_one_per_line() {
    let assert = wormsim().arg("presets").assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert_eq!(stdout.lines().count(), wormsim::preset::PRESETS.len());
    for p in wormsim::preset::PRESETS {
        assert!(
            stdout.lines().any(|l| l.starts_with(p.name)),
            "{} missing: {stdout}",
            p.name
        );
    }
}

#[test]
fn every_command_help_shows_an_example() {
    for cmd in ["run", "presets", "check"] {
        let assert = wormsim().args([cmd, "--help"]).assert().success();
        let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
        assert!(
            stdout.contains("Example"),
            "{cmd} --help has no example: {stdout}"
        );
        assert!(
            stdout.contains(&format!("wormsim {cmd}")),
            "{cmd}: {stdout}"
        );
    }
}
