//! `wormsim run` on the presets beyond Code Red (issue #7): each runs and its
//! summary shows the doubling time in the first minute and the time to 90%.

use crate::wormsim;

fn run(args: &[&str]) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("o");
    let assert = wormsim()
        .args(["run"])
        .args(args)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    (stdout, serde_json::from_str(&text).expect("JSON"))
}

#[test]
fn slammer_and_witty_print_doubling_time_and_time_to_90() {
    for preset in ["slammer-2003-01-25", "witty-2004-03-20"] {
        let (stdout, summary) = run(&[preset]);
        let line = |label: &str| {
            stdout
                .lines()
                .find(|l| l.contains(label))
                .unwrap_or_else(|| panic!("{preset}: no `{label}` line in\n{stdout}"))
                .to_string()
        };
        // Both spread within their first minute and reach 90% in the run.
        assert!(
            line("doubling time, first minute").ends_with(" s"),
            "{stdout}"
        );
        assert!(
            !line("time to 90% of final count").ends_with('-'),
            "{stdout}"
        );
        let d = summary["doubling_time_first_minute_s"]
            .as_f64()
            .unwrap_or_else(|| panic!("{preset}: {summary}"));
        assert!(d > 0.0 && d.is_finite(), "{preset}: {d}");
        assert!(summary["time_to_90pct"].is_string(), "{preset}: {summary}");
    }
}

/// The Warhol worm's first two minutes: the hit list is done in a fraction
/// of a second, so the doubling time is defined.
#[test]
fn warhol_runs() {
    let (stdout, summary) = run(&["warhol-hypothetical", "--until", "2002-08-05T00:02:00Z"]);
    assert!(stdout.contains("doubling time, first minute"), "{stdout}");
    assert!(summary["ever_infected"].as_u64().expect("count") > 10_000);
}
