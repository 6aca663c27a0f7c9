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

/// The README's `toml` blocks: its scenario example and its sweep example pass
/// `wormsim check` (so the README cannot drift from the formats), and nothing
/// is written.
#[test]
fn accepts_the_readme_examples() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let mut blocks = Vec::new();
    let mut block: Option<String> = None;
    for line in readme.lines() {
        match (&mut block, line.trim_end()) {
            (None, "```toml") => block = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                block = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    assert_eq!(
        blocks.len(),
        2,
        "the README's toml blocks: a scenario, a sweep"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let mut outputs = Vec::new();
    for (i, (text, kind)) in blocks.iter().zip(["scenario `", "sweep `"]).enumerate() {
        let file = dir.path().join(format!("readme-{i}.toml"));
        std::fs::write(&file, text).expect("write");
        let assert = wormsim()
            .current_dir(dir.path())
            .arg("check")
            .arg(&file)
            .assert()
            .success();
        let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
        assert!(
            stdout.starts_with("ok: ") && stdout.contains(kind),
            "{stdout}"
        );
        outputs.push(stdout);
    }
    assert!(
        outputs[1].contains("20 points x 50 replicates = 1000 work units"),
        "{}",
        outputs[1]
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        2,
        "check wrote files"
    );
}

/// A sweep file is checked as a sweep: a misspelt grid key is named at its
/// line and column, exit 2, nothing written.
#[test]
fn rejects_a_sweep_with_a_misspelt_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sw.toml");
    std::fs::write(
        &file,
        "scenario = \"codered-v2-2001-07-19\"\nreplicates = 2\n\n[[grid]]\nkey = \"defense.patch.rat\"\nvalues = [0.0, 0.1]\n",
    )
    .expect("write");
    let assert = wormsim()
        .current_dir(dir.path())
        .arg("check")
        .arg(&file)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let want = format!("error: {}:5:", file.display());
    assert!(
        stderr.starts_with(&want) && stderr.contains("defense.patch.rat"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        1,
        "check wrote files"
    );
}
