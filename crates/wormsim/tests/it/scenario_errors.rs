//! Bad scenarios: one clear error each, naming file, line, column and key.

use wormsim::scenario::{Scenario, ScenarioError};

const GOOD: &str = r#"[scenario]
name = "t"
start = 2001-07-19T10:00:00Z
end = 2001-07-20T06:00:00Z
[population]
model = "uniform"
hosts = 1000
[worm]
variant = "crv2"
scan_rate = 6.0
[defense.patch]
rate = 0.1
"#;

fn err(text: &str) -> ScenarioError {
    Scenario::from_str("bad.toml", text).expect_err("the scenario should be rejected")
}

fn at(e: &ScenarioError) -> (usize, usize, String) {
    match e {
        ScenarioError::At { line, col, key, .. } => (*line, *col, key.clone()),
        other => panic!("no location: {other}"),
    }
}

#[test]
fn the_good_one_is_good() {
    let s = Scenario::from_str("good.toml", GOOD).expect("valid");
    assert_eq!(
        s.population,
        wormsim::population::PopulationSpec::Uniform { hosts: 1000 }
    );
    assert!(s.calendar.enabled, "crv2 turns the calendar on by default");
}

#[test]
fn error_table() {
    type Case = (
        &'static str,
        &'static str,
        (usize, usize, &'static str),
        &'static str,
    );
    let cases: &[Case] = &[
        (
            "unknown key",
            "scan_rate = 6.0",
            (10, 1, "worm.scan_rat"),
            "unknown field",
        ),
        (
            "wrong type",
            "scan_rate = 6.0",
            (10, 13, "worm.scan_rate"),
            "invalid type",
        ),
        (
            "negative rate",
            "scan_rate = 6.0",
            (10, 13, "worm.scan_rate"),
            "negative",
        ),
        (
            "NaN rate",
            "scan_rate = 6.0",
            (10, 13, "worm.scan_rate"),
            "NaN",
        ),
        (
            "negative patch",
            "rate = 0.1",
            (12, 8, "defense.patch.rate"),
            "negative",
        ),
        (
            "end before start",
            "end = 2001-07-20T06:00:00Z",
            (4, 7, "scenario.end"),
            "not after",
        ),
        (
            "too many hosts",
            "hosts = 1000",
            (7, 9, "population.hosts"),
            "do not fit",
        ),
        (
            "bad choice",
            "variant = \"crv2\"",
            (9, 11, "worm.variant"),
            "unknown value",
        ),
        (
            "bad time",
            "start = 2001-07-19T10:00:00Z",
            (3, 9, "scenario.start"),
            "timestamp",
        ),
    ];
    let replacement = |name: &str| match name {
        "unknown key" => "scan_rat = 6.0",
        "wrong type" => "scan_rate = \"fast\"",
        "negative rate" => "scan_rate = -1.0",
        "NaN rate" => "scan_rate = nan",
        "negative patch" => "rate = -0.1",
        "end before start" => "end = 2001-07-19T09:00:00Z",
        "too many hosts" => "hosts = 4000000000",
        "bad choice" => "variant = \"crv9\"",
        "bad time" => "start = \"yesterday\"",
        _ => unreachable!(),
    };
    for &(name, find, (line, col, key), msg) in cases {
        let text = GOOD.replacen(find, replacement(name), 1);
        let e = err(&text);
        let shown = e.to_string();
        assert_eq!(at(&e), (line, col, key.to_string()), "{name}: {shown}");
        assert!(shown.contains(msg), "{name}: {shown}");
        assert!(
            shown.starts_with(&format!("bad.toml:{line}:{col}: {key}: ")),
            "{name}: {shown}"
        );
        assert!(!shown.contains('\n'), "{name}: one line: {shown}");
    }
}

/// A clock wrong by more than a century is refused: near 10^11 days the
/// calendar can no longer find a clock's next change, and the run would not
/// end (found by the black-box campaign at 1e308 and 1e20 days).
#[test]
fn a_clock_wrong_by_more_than_a_century_is_refused() {
    let with =
        |v: &str| format!("{GOOD}[calendar]\nwrong_clocks = 10\nwrong_clock_max_days = {v}\n");
    for v in ["36526", "1e20", "1e308"] {
        let e = err(&with(v));
        assert_eq!(
            at(&e),
            (15, 24, "calendar.wrong_clock_max_days".to_string()),
            "{e}"
        );
        assert!(e.to_string().contains("use at most 36525"), "{e}");
    }
    Scenario::from_str("ok.toml", &with("36525")).expect("a century is allowed");
}

#[test]
fn population_larger_than_the_space() {
    let text = GOOD
        .replace("[population]", "space_bits = 16\n[population]")
        .replace("hosts = 1000", "hosts = 70000");
    let e = err(&text);
    assert_eq!(at(&e).2, "population.hosts");
    assert!(e.to_string().contains("2^16"), "{e}");
}

#[test]
fn missing_section_and_schedule_order() {
    let e = err(&GOOD.replace("[worm]\nvariant = \"crv2\"\nscan_rate = 6.0\n", ""));
    assert!(e.to_string().contains("missing field `worm`"), "{e}");
    let e = err(&GOOD.replace(
        "rate = 0.1",
        "schedule = [{ from = 2001-07-20T00:00:00Z, rate = 1.0 }, { from = 2001-07-19T00:00:00Z, rate = 2.0 }]",
    ));
    assert_eq!(at(&e).2, "defense.patch.schedule.1.from");
    assert!(e.to_string().contains("time order"), "{e}");
}

/// CRv1's fixed sequence: its probe count is not sampled, and it does not
/// start from a checkpoint (where each host is in the sequence is not saved),
/// whether the checkpoint comes from the file or from `--from-checkpoint`.
#[test]
fn sequence_scanning_refuses_sampling_and_checkpoints() {
    let crv1 = GOOD.replace("variant = \"crv2\"", "variant = \"crv1\"");
    let e = err(&format!("{crv1}[output]\nprobes = \"sampled\"\n"));
    assert_eq!(at(&e).2, "output.probes");
    assert!(e.to_string().contains("use \"expected\""), "{e}");

    // A checkpoint of a CRv2 run at the CRv1 scenario's start.
    let crv2 = GOOD.replace("end = 2001-07-20T06:00:00Z", "end = 2001-07-19T11:00:00Z");
    let s = Scenario::from_str("crv2.toml", &crv2).expect("valid");
    let mut sim =
        wormsim::engine::Simulation::new(&s, 1, 0, wormsim::engine::EngineChoice::General)
            .expect("setup");
    sim.run(&mut ());
    let ck = sim.checkpoint().expect("a CRv2 run saves a checkpoint");
    let later = crv1.replace(
        "start = 2001-07-19T10:00:00Z",
        "start = 2001-07-19T11:00:00Z",
    );
    let s1 = Scenario::from_str("crv1.toml", &later).expect("valid");
    let e = s1
        .with_checkpoint(ck)
        .expect_err("CRv1 from a checkpoint is refused");
    assert!(e.contains("cannot start from a checkpoint"), "{e}");
}

/// A name is the default output directory `out/<name>`: a path separator or
/// `..` would write elsewhere, a newline would reach scripts (found by the
/// black-box campaign: `name = "../x"` wrote `../x/` beside `out/`).
#[test]
fn names_that_are_not_plain_are_refused() {
    for bad in ["../x", "/tmp/x", "a/b", "a\\\\b", "..", "x\\ny"] {
        let text = GOOD.replace("name = \"t\"", &format!("name = \"{bad}\""));
        let e = err(&text);
        assert_eq!(at(&e), (2, 8, "scenario.name".to_string()), "{bad}: {e}");
    }
    for fine in ["My outbreak (2001)", "crv2.v2", "t-1_a"] {
        let text = GOOD.replace("name = \"t\"", &format!("name = \"{fine}\""));
        Scenario::from_str("ok.toml", &text).expect(fine);
    }
}
