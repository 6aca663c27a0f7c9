//! `wormsim run`: the preset's acceptance figures, determinism, formats.

use crate::wormsim;
use std::path::Path;

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Issue #2 acceptance: `wormsim run codered-v2-2001-07-19 --seed 1`.
#[test]
fn preset_acceptance_figures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("o");
    let assert = wormsim()
        .args(["run", "codered-v2-2001-07-19", "--seed", "1", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("infected by 2001-07-20 00:00:00Z"),
        "{stdout}"
    );
    assert!(stdout.contains("peak new infections"), "{stdout}");
    assert!(
        stdout.contains("patched") && stdout.contains("rebooted"),
        "{stdout}"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&read(&out.join("summary.json"))).expect("JSON");
    let at_midnight = &summary["report"][0];
    assert_eq!(at_midnight["time"], "2001-07-20T00:00:00Z");
    let n = at_midnight["cumulative_infected"].as_u64().expect("count");
    assert!(
        (330_000..=395_000).contains(&n),
        "cumulative infected at 00:00 on 20 July: {n}"
    );
    let peak = summary["peak_new_infections_per_minute"]
        .as_u64()
        .expect("peak");
    assert!(peak >= 2_000, "peak {peak}/min");

    // The per-minute series: spreading stops at 00:00 on the 20th.
    let series = read(&out.join("series.csv"));
    let mut lines = series.lines();
    assert_eq!(
        lines.next(),
        Some(wormsim::observe::COLUMNS.join(",").as_str())
    );
    let col = |name: &str| {
        wormsim::observe::COLUMNS
            .iter()
            .position(|c| *c == name)
            .expect("column")
    };
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(
        rows.len(),
        20 * 60 + 1,
        "one row per minute from 10:00 to 06:00, inclusive"
    );
    for r in &rows {
        if r[0].as_str() > "2001-07-20T00:00:00Z" {
            // Only the 2,000 wrong-clock hosts may still scan: the probe rate
            // falls by more than 99% at the stop.
            let p: f64 = r[col("probes")].parse().unwrap();
            assert!(
                p < 0.01 * 360_000.0 * 6.0 * 60.0,
                "probes after the stop: {r:?}"
            );
        }
    }
    // Levels are consistent: susceptible + infected + patched + crashed = hosts.
    for r in &rows {
        let n: u64 = ["susceptible", "infected", "patched", "crashed"]
            .iter()
            .map(|c| r[col(c)].parse::<u64>().unwrap())
            .sum();
        assert_eq!(n, 360_000, "{r:?}");
    }
    // The upstream filter on the old address starts at 22:00 on the 19th in the
    // preset: after it nothing reaches 198.137.240.91 (before it, hosts with
    // wrong clocks may already flood).
    let flood = read(&out.join("flood.csv"));
    let mut flood_rows = flood.lines();
    assert!(
        flood_rows
            .next()
            .unwrap()
            .starts_with("time,target_connections_per_s")
    );
    let mut after = 0;
    for l in flood_rows {
        let f: Vec<&str> = l.split(',').collect();
        if f[0] > "2001-07-19T22:00:00Z" {
            after += 1;
            assert_eq!(
                &f[1..4],
                ["0.000", "0.000", "0.000"],
                "traffic after the filter: {l}"
            );
        }
    }
    assert!(after > 400);
}

#[test]
fn same_seed_gives_byte_identical_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["a", "b"] {
        wormsim()
            .args([
                "run",
                "codered-v2-2001-07-19",
                "--seed",
                "7",
                "--hosts",
                "--until",
                "2001-07-19T20:00:00Z",
                "--out",
            ])
            .arg(dir.path().join(name))
            .assert()
            .success();
    }
    for f in ["series.csv", "summary.json", "hosts.csv", "scenario.toml"] {
        let a = std::fs::read(dir.path().join("a").join(f)).expect("a");
        let b = std::fs::read(dir.path().join("b").join(f)).expect("b");
        assert!(a == b, "{f} differs between two runs with the same seed");
    }
    // And another seed gives another outbreak.
    wormsim()
        .args([
            "run",
            "codered-v2-2001-07-19",
            "--seed",
            "8",
            "--until",
            "2001-07-19T20:00:00Z",
            "-q",
            "--out",
        ])
        .arg(dir.path().join("c"))
        .assert()
        .success();
    assert_ne!(
        read(&dir.path().join("a/series.csv")),
        read(&dir.path().join("c/series.csv"))
    );
}

#[test]
fn json_format_and_reference_engine_on_a_small_space() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("small.toml");
    std::fs::write(
        &scenario,
        r#"
[scenario]
name = "small"
start = 2001-07-19T10:00:00Z
end = 2001-07-19T10:30:00Z
space_bits = 16
[population]
model = "uniform"
hosts = 300
[worm]
variant = "crv2"
scan_rate = 20.0
[defense.reboot]
rate = 100
"#,
    )
    .expect("write");
    for engine in ["auto", "general", "reference"] {
        let out = dir.path().join(engine);
        let assert = wormsim()
            .args(["run"])
            .arg(&scenario)
            .args(["--engine", engine, "--format", "json", "--out"])
            .arg(&out)
            .assert()
            .success();
        let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
        let expect = if engine == "reference" {
            "reference/per-probe"
        } else {
            "exact/general"
        };
        assert!(stdout.contains(expect), "{engine}: {stdout}");
        let series: serde_json::Value =
            serde_json::from_str(&read(&out.join("series.json"))).expect("JSON");
        let rows = series.as_array().expect("array of rows");
        assert_eq!(rows.len(), 31);
        let last = &rows[30];
        assert!(
            last["cumulative_infected"].as_u64().unwrap() > 250,
            "{engine}: {last}"
        );
    }
}
