//! `wormsim check`: validate without running.

use crate::wormsim;

#[test]
fn accepts_a_preset_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let assert = wormsim()
        .current_dir(dir.path())
        .args(["check", "codered-v2-2001-07-19"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.starts_with("ok: preset:codered-v2-2001-07-19"),
        "{stdout}"
    );
    assert!(stdout.contains("360000 hosts"), "{stdout}");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "check wrote files"
    );
}

#[test]
fn rejects_a_seed_that_is_not_a_host() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("seed.toml");
    std::fs::write(
        &file,
        r#"[scenario]
name = "t"
start = 2001-07-19T10:00:00Z
end = 2001-07-20T06:00:00Z
space_bits = 16
[population]
model = "uniform"
hosts = 10
[worm]
variant = "generic"
scan_rate = 6.0
initial_addresses = ["0.0.1.2"]
"#,
    )
    .expect("write");
    let assert = wormsim().arg("check").arg(&file).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("worm.initial_addresses") && stderr.contains("0.0.1.2"),
        "{stderr}"
    );
}
