//! `wormsim fit`

use super::{input_error, scratch, wormsim};
use std::fmt::Write as _;
use std::path::Path;

/// A logistic curve (K = 1.5/h, T = 6 h, N = 1000) rounded down to whole hosts,
/// every 15 minutes for 12 hours, as `time,count` with times in hours.
fn plain_series() -> String {
    let mut s = String::from("time,count\n");
    for i in 0..=48 {
        let t = f64::from(i) * 0.25;
        let c = (1000.0 / (1.0 + (-1.5 * (t - 6.0)).exp())).floor();
        let _ = writeln!(s, "{t},{c}");
    }
    s
}

/// The same curve in the telescope schema, with RFC 3339 times from
/// 2001-07-19T10:00:00Z every 15 minutes.
fn telescope_series() -> String {
    let mut s = String::from("time,probes_seen,unique_sources,new_sources,cumulative_sources\n");
    let mut prev = 0.0;
    for i in 0..=48 {
        let t = f64::from(i) * 0.25;
        let c = (1000.0 / (1.0 + (-1.5 * (t - 6.0)).exp())).floor();
        let (h, m) = (10 + i / 4, (i % 4) * 15);
        let _ = writeln!(
            s,
            "2001-07-19T{h:02}:{m:02}:00Z,{},{},{},{c}",
            10.0 * c,
            c,
            c - prev
        );
        prev = c;
    }
    s
}

/// `wormsim fit INPUT --model MODEL`, to which a test adds its options.
fn fit(input: impl AsRef<std::ffi::OsStr>, model: &str) -> assert_cmd::Command {
    let mut cmd = wormsim();
    cmd.arg("fit").arg(input).args(["--model", model]);
    cmd
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("the JSON result exists");
    serde_json::from_str(&text).expect("the result is valid JSON")
}

/// `wormsim fit INPUT --model rcs --to 2001-07-20T00:00:00Z` (the CRv2
/// spreading day), written to `out` and read back.
fn fit_rcs_to_jul20(input: &Path, out: &Path) -> serde_json::Value {
    fit(input, "rcs")
        .args(["--to", "2001-07-20T00:00:00Z", "--quiet", "--out"])
        .arg(out)
        .assert()
        .success();
    read_json(out)
}

fn param(v: &serde_json::Value, name: &str) -> serde_json::Value {
    v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("parameter {name} in {v}"))
}

#[test]
fn fits_a_plain_series_and_writes_json_and_curve() {
    let dir = scratch("fit-plain");
    let csv = dir.join("counts.csv");
    std::fs::write(&csv, plain_series()).unwrap();
    let out = dir.join("res").join("rcs.json");
    let assert = fit(&csv, "rcs").arg("--out").arg(&out).assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("95% CI"), "{stdout}");
    assert!(stdout.contains("goodness of fit"), "{stdout}");
    let v = read_json(&out);
    assert_eq!(v["model"], "rcs");
    assert_eq!(v["input"]["schema"], "plain");
    assert_eq!(v["input"]["points"], 49);
    let k = param(&v, "K");
    let est = k["estimate"].as_f64().unwrap();
    assert!((est - 1.5).abs() < 0.05, "K = {est}");
    assert!(k["lower"].as_f64().unwrap() < est && est < k["upper"].as_f64().unwrap());
    assert!(v["goodness_of_fit"]["r_squared"].as_f64().unwrap() > 0.999);
    let curve = std::fs::read_to_string(dir.join("res").join("rcs.fitted.csv")).unwrap();
    assert!(
        curve.starts_with("time,observed,fitted,lower,upper\n0,"),
        "{curve}"
    );
    assert_eq!(curve.lines().count(), 50);
    // No temporaries are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.join("res"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn reads_the_telescope_schema_and_incident_columns() {
    let dir = scratch("fit-telescope");
    let csv = dir.join("telescope.csv");
    std::fs::write(&csv, telescope_series()).unwrap();
    for (column, extra) in [("cumulative_sources", None), ("new_sources", Some("si"))] {
        let out = dir.join(format!("{column}.json"));
        let model = extra.unwrap_or("rcs");
        fit(&csv, model)
            .args(["--column", column])
            .args(["--no-ci", "--quiet", "--out"])
            .arg(&out)
            .assert()
            .success()
            .stdout("");
        let v = read_json(&out);
        assert_eq!(v["input"]["schema"], "telescope");
        assert_eq!(v["input"]["column"], column);
        assert_eq!(v["time_axis"]["origin"], "2001-07-19T10:00:00Z");
        assert!(v["confidence"].is_null());
        let rate = if model == "rcs" { "K" } else { "beta" };
        let est = param(&v, rate)["estimate"].as_f64().unwrap();
        assert!((est - 1.5).abs() < 0.05, "{column}: {est}");
    }
    // RCS's T is also given as a time of day.
    let out = dir.join("t.json");
    fit(&csv, "rcs")
        .args(["--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let t = param(&read_json(&out), "T");
    assert!(
        t["estimate_time"]
            .as_str()
            .unwrap()
            .starts_with("2001-07-19T16:"),
        "{t}"
    );
}

#[test]
fn time_bounds_restrict_the_rows() {
    let dir = scratch("fit-bounds");
    let csv = dir.join("telescope.csv");
    std::fs::write(&csv, telescope_series()).unwrap();
    let out = dir.join("r.json");
    fit(&csv, "rcs")
        .args(["--no-ci", "--quiet"])
        .args([
            "--from",
            "2001-07-19T11:00:00Z",
            "--to",
            "2001-07-19T20:00:00Z",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let v = read_json(&out);
    assert_eq!(v["input"]["points"], 37);
    assert_eq!(v["input"]["first_time"], "2001-07-19T11:00:00Z");
    assert_eq!(v["time_axis"]["origin"], "2001-07-19T11:00:00Z");
}

/// Every kind of bad input exits with code 2 and a one-line message naming the
/// file (and the line where there is one) and the fix.
#[test]
fn bad_input_exits_2_naming_the_file() {
    let dir = scratch("fit-bad");
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "header-only.csv",
            "time,count\n",
            &[],
            ": the series has no data rows",
        ),
        ("empty.csv", "", &[], ": the file is empty"),
        (
            "unordered.csv",
            "time,count\n0,1\n2,2\n1,3\n3,4\n4,5\n",
            &[],
            ":4: time 1 h does not come after",
        ),
        (
            "nan.csv",
            "time,count\n0,1\n1,NaN\n2,3\n3,4\n4,5\n",
            &[],
            ":3: count: the count is NaN",
        ),
        (
            "negative.csv",
            "time,new_hosts\n0,1\n1,-2\n2,3\n3,4\n4,5\n",
            &[],
            ":3: new_hosts: the count -2 is negative",
        ),
        (
            "column.csv",
            "time,count\n0,1\n1,2\n",
            &["--column", "hosts"],
            ":1: no column `hosts`",
        ),
        (
            "few.csv",
            "time,count\n0,1\n1,2\n2,3\n3,4\n",
            &[],
            ": too few points for model `rcs`: 4 given, at least 5 needed",
        ),
        (
            "zeros.csv",
            "time,count\n0,0\n1,0\n2,0\n3,0\n4,0\n",
            &[],
            ": the series has no infections",
        ),
        (
            "flat.csv",
            "time,count\n0,4\n1,4\n2,4\n3,4\n4,4\n",
            &["--objective", "lsq"],
            ": the series does not grow: the cumulative count is 4 at all 5 points",
        ),
        (
            "from.csv",
            "time,count\n0,1\n1,2\n",
            &["--from", "2001-07-19T10:00:00Z"],
            ": --from 2001-07-19T10:00:00Z is an RFC 3339 timestamp but the series' times are numbers of hours",
        ),
        (
            "decreasing.csv",
            "time,count\n0,5\n1,4\n",
            &[],
            ":3: count: the cumulative count falls from 5 to 4",
        ),
    ];
    for (name, text, extra, want) in cases {
        let csv = dir.join(name);
        std::fs::write(&csv, text).unwrap();
        let path = csv.to_str().unwrap();
        let stderr = input_error(
            fit(path, "rcs")
                .arg("--out")
                .arg(dir.join("never.json"))
                .args(*extra),
        );
        assert!(
            stderr.starts_with(&format!("error: {path}{want}")),
            "{name}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
    }
    // A count far out of line with the rest (a damaged cell): the SI model
    // cannot be evaluated at any starting point. It is the data's fault.
    let csv = dir.join("absurd.csv");
    std::fs::write(
        &csv,
        "time,new_infections\n0,1\n1,2\n2,99999999999999999999\n3,4\n4,5\n5,3\n6,2\n",
    )
    .unwrap();
    let path = csv.to_str().unwrap();
    let stderr = input_error(fit(path, "si").arg("--out").arg(dir.join("never.json")));
    assert!(
        stderr.starts_with(&format!(
            "error: {path}: model `si` gives no finite objective at any starting point"
        )),
        "{stderr}"
    );
    // A missing file, and a bound that is not a time.
    let missing = dir.join("missing.csv");
    let stderr = input_error(&mut fit(&missing, "rcs"));
    assert!(
        stderr.contains("missing.csv: cannot read the series"),
        "{stderr}"
    );
    fit("x.csv", "rcs")
        .args(["--to", "teatime"])
        .assert()
        .code(2);
    let stderr = input_error(fit("x.csv", "aawp").args(["--tick", "-1"]));
    assert!(
        stderr.contains("--tick -1: the AAWP tick must be"),
        "{stderr}"
    );
    assert!(
        !dir.join("never.json").exists(),
        "nothing is written on failure"
    );
}

#[test]
fn help_shows_an_example() {
    let assert = wormsim().args(["fit", "--help"]).assert().success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(out.contains("Examples:"), "{out}");
    assert!(
        out.contains("wormsim fit out/crv2/series.csv --model rcs"),
        "{out}"
    );
    assert!(out.contains("two-factor"), "{out}");
}

/// End to end: simulate the 19 July 2001 CRv2 outbreak and fit RCS to the
/// spreading day. Staniford et al. fitted K ≈ 1.8/h to the real outbreak
/// (codered.md §4.2, §9 target 4: 1.8 ± 0.3).
#[test]
fn rcs_fit_to_the_crv2_preset_gives_k_near_1_8() {
    let dir = scratch("fit-crv2");
    wormsim()
        .args(["run", "codered-v2-2001-07-19", "--quiet", "--out"])
        .arg(&dir)
        .assert()
        .success();
    let out = dir.join("rcs.json");
    let v = fit_rcs_to_jul20(&dir.join("series.csv"), &out);
    assert_eq!(v["input"]["schema"], "wormsim-series");
    assert_eq!(v["input"]["column"], "cumulative_infected");
    assert_eq!(v["input"]["points"], 841);
    let k = param(&v, "K")["estimate"].as_f64().unwrap();
    assert!((1.5..=2.1).contains(&k), "K = {k}");
}

/// Issue #4 acceptance: `wormsim fit` on the `codered-v2-2001-07-19` telescope
/// series (a /8, hourly) reports K within 1.5–2.1 per hour.
#[test]
fn rcs_fit_to_the_crv2_telescope_gives_k_near_1_8() {
    let dir = scratch("fit-crv2-telescope");
    wormsim()
        .args([
            "run",
            "codered-v2-2001-07-19",
            "--observe",
            "--quiet",
            "--out",
        ])
        .arg(&dir)
        .assert()
        .success();
    let out = dir.join("rcs-telescope.json");
    let v = fit_rcs_to_jul20(&dir.join("telescope.csv"), &out);
    assert_eq!(v["input"]["column"], "cumulative_sources");
    let k = param(&v, "K")["estimate"].as_f64().unwrap();
    assert!((1.5..=2.1).contains(&k), "K = {k}");
    // The per-source table mirrors CAIDA's dataset: first and last seen, probes.
    let sources = std::fs::read_to_string(dir.join("telescope-sources.csv")).unwrap();
    assert!(sources.starts_with("source,first_seen,last_seen,probes\n"));
    assert!(sources.lines().count() > 300_000);
}
