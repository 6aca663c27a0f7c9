//! Charts and reports: `--plot`, `--report`, `wormsim report`, `fit --plot`,
//! `wormsim validate`; snapshot tests (insta) of the SVG and of the report's
//! structure for a tiny fixed-seed scenario; the browser test (headless Chromium).

use super::{scratch, wormsim};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A tiny Code Red v2 outbreak over the calendar stop, with patching, the flood,
/// the address move and the filter: every chart of a run has data.
const TINY: &str = r#"
[scenario]
name = "tiny-crv2"
description = "A tiny CRv2 outbreak for snapshot tests."
start = 2001-07-19T18:00:00Z
end = 2001-07-20T06:00:00Z
space_bits = 16
seed = 3
[population]
model = "uniform"
hosts = 400
[worm]
variant = "crv2"
scan_rate = 0.05
initial_infected = 2
[flood]
move_at = 2001-07-19T22:00:00Z
filter_at = 2001-07-19T23:00:00Z
[defense.patch]
rate = 0.5
[output]
bin = 1800
"#;

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).to_string()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(p: &Path) -> (u32, u32) {
    let b = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        p.display()
    );
    assert_eq!(&b[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// Run the tiny scenario into `dir/run` with extra arguments.
///
/// The snapshot tests add `--engine reference` (the per-probe reference
/// engine): their snapshots then do not change when the fast engines change how
/// they draw their random numbers (the outbreak's law stays the same).
fn tiny_run(dir: &Path, extra: &[&str]) -> PathBuf {
    let toml = dir.join("tiny.toml");
    std::fs::write(&toml, TINY).expect("write scenario");
    let out = dir.join("run");
    wormsim()
        .arg("run")
        .arg(&toml)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .arg("-q")
        .assert()
        .success();
    out
}

/// The report's structure: headings, element ids and classes, table headers
/// and definition terms, in document order; no data values or paths.
fn structure(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    let mut in_svg = 0;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '/' || *c == '!')
            .collect();
        if name == "svg" {
            in_svg += 1;
            let _ = writeln!(out, "<svg> (chart)");
        } else if name == "/svg" {
            in_svg -= 1;
        } else if in_svg == 0 {
            let attr = |a: &str| {
                tag.find(&format!("{a}=\""))
                    .map(|j| {
                        let v = &tag[j + a.len() + 2..];
                        format!(" {a}={}", &v[..v.find('"').unwrap_or(v.len())])
                    })
                    .unwrap_or_default()
            };
            let text = rest[end.min(rest.len())..]
                .trim_start_matches('>')
                .split('<')
                .next()
                .unwrap_or("");
            let keep_text =
                ["h1", "h2", "th", "dt", "title", "figcaption"].contains(&name.as_str());
            if [
                "html",
                "head",
                "body",
                "style",
                "title",
                "h1",
                "h2",
                "table",
                "th",
                "dl",
                "dt",
                "figure",
                "figcaption",
                "pre",
                "p",
                "meta",
            ]
            .contains(&name.as_str())
            {
                let _ = write!(out, "<{name}{}{}>", attr("id"), attr("class"));
                if name == "meta" {
                    let _ = write!(out, "{}{}", attr("http-equiv"), attr("content"));
                }
                if keep_text {
                    let _ = write!(out, " {}", text.trim());
                }
                out.push('\n');
            }
        }
        rest = &rest[end.min(rest.len())..];
    }
    out
}

#[test]
fn run_plot_png_writes_charts_of_the_fixed_size() {
    let dir = scratch("report-png");
    let out = tiny_run(&dir, &["--plot", "png"]);
    for name in ["hosts", "new-infections", "flood"] {
        let p = out.join(format!("{name}.png"));
        assert_eq!(png_size(&p), (1200, 700), "{}", p.display());
    }
    assert!(!out.join("telescope.png").exists());
    assert!(!out.join("report.html").exists());
}

#[test]
fn run_plot_svg_snapshot() {
    let dir = scratch("report-svg");
    let out = tiny_run(&dir, &["--plot", "svg", "--engine", "reference"]);
    let svg = read(&out.join("hosts.svg"));
    assert!(svg.contains("Hosts over time: tiny-crv2, seed 3"));
    assert!(svg.contains("Jul 20 00:00"), "UTC dates on the axis");
    insta::assert_snapshot!("tiny_hosts_svg", svg);
    let flood = read(&out.join("flood.svg"));
    assert!(flood.contains("site moves to 198.137.240.92 (22:00 UTC)"));
    assert!(flood.contains("198.137.240.91 filtered (23:00 UTC)"));
    insta::assert_snapshot!(
        "tiny_new_infections_svg",
        read(&out.join("new-infections.svg"))
    );
}

#[test]
fn report_structure_snapshot() {
    let dir = scratch("report-html");
    let out = tiny_run(&dir, &["--report", "--engine", "reference"]);
    let html = read(&out.join("report.html"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no JavaScript");
    for attr in ["src=", "href=", "url(", "@import"] {
        assert!(!html.contains(attr), "no external reference ({attr})");
    }
    assert_eq!(html.matches("<figure ").count(), 3);
    assert!(html.contains("[scenario]"), "the scenario TOML");
    assert!(
        html.contains("worm.max_instances"),
        "a default and its source"
    );
    insta::assert_snapshot!("tiny_report_structure", structure(&html));
}

#[test]
fn report_of_a_directory_with_a_telescope_and_a_fit() {
    let dir = scratch("report-telescope");
    let out = tiny_run(&dir, &[]);
    // A telescope series in the `wormsim logs` schema, written by hand.
    let mut t = String::from("time,probes_seen,unique_sources,new_sources,cumulative_sources\n");
    for (i, c) in [0, 1, 3, 20, 120, 300, 350].iter().enumerate() {
        let _ = writeln!(t, "2001-07-19T{:02}:00:00Z,{},{c},0,{c}", 17 + i, 10 * c);
    }
    std::fs::write(out.join("telescope.csv"), t).expect("write telescope");
    wormsim()
        .args(["fit"])
        .arg(out.join("series.csv"))
        .args(["--model", "rcs", "--no-ci", "-q", "--out"])
        .arg(out.join("rcs.json"))
        .assert()
        .success();
    let html_path = dir.join("r.html");
    let a = wormsim()
        .arg("report")
        .arg(&out)
        .arg("-o")
        .arg(&html_path)
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&a.get_output().stdout).contains("4 charts"));
    let html = read(&html_path);
    assert!(html.contains("id=\"chart-telescope\""));
    assert!(html.contains("Telescope vs truth: tiny-crv2, seed 3"));
    assert!(
        html.contains("RCS fit (ever infected)"),
        "the analytic overlay"
    );
}

#[test]
fn fit_plot_png_beside_the_json() {
    let dir = scratch("report-fit");
    let out = tiny_run(&dir, &[]);
    wormsim()
        .args(["fit"])
        .arg(out.join("series.csv"))
        .args(["--model", "rcs", "-q", "--plot", "png", "--out"])
        .arg(dir.join("fit/rcs.json"))
        .assert()
        .success();
    assert_eq!(png_size(&dir.join("fit/rcs.png")), (1200, 700));
}

#[test]
fn ensemble_plot_has_bands_and_report() {
    let dir = scratch("report-ensemble");
    let toml = dir.join("tiny.toml");
    std::fs::write(&toml, TINY).expect("write scenario");
    let out = dir.join("ens");
    wormsim()
        .args(["ensemble"])
        .arg(&toml)
        .args([
            "--runs",
            "5",
            "--threads",
            "2",
            "-q",
            "--plot",
            "svg",
            "--report",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let svg = read(&out.join("hosts.svg"));
    assert!(svg.contains("tiny-crv2, seed 3, 5 runs"));
    assert!(svg.contains("infected (median)"));
    assert!(svg.contains("5–95% of runs") && svg.contains("25–75% of runs"));
    let html = read(&out.join("report.html"));
    assert!(html.contains("ensemble of 5 runs"));
    assert!(html.contains("<th>median</th>"));
}

#[test]
fn ensemble_plot_needs_csv() {
    let dir = scratch("report-ensemble-parquet");
    let toml = dir.join("tiny.toml");
    std::fs::write(&toml, TINY).expect("write scenario");
    let a = wormsim()
        .args(["ensemble"])
        .arg(&toml)
        .args([
            "--runs", "2", "--format", "parquet", "--plot", "png", "--out",
        ])
        .arg(dir.join("o"))
        .assert()
        .code(2);
    assert!(stderr(&a).contains("add csv to --format"));
}

#[test]
fn report_of_a_missing_directory_is_an_input_error() {
    let a = wormsim()
        .args(["report", "/nonexistent/wormsim-out"])
        .assert()
        .code(2);
    assert!(stderr(&a).contains("not a directory"));
}

/// `wormsim validate` on the preset (two runs keep the debug build quick; the
/// README's table uses the default 30 in release).
#[test]
fn validate_prints_the_table_and_passes() {
    let dir = scratch("validate");
    let page = dir.join("validation.html");
    let assert = wormsim()
        .args([
            "validate",
            "--runs",
            "2",
            "--threads",
            "2",
            "-q",
            "--report",
        ])
        .arg(&page)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    for id in [
        "hosts infected by 00:00 UTC Jul 20",
        "peak new infections per minute",
        "RCS K fitted",
        "infections by right-clock hosts after 00:00 UTC Jul 20",
        "flood bytes at 198.137.240.91 after the filter",
        "8 of 8 checks passed",
    ] {
        assert!(stdout.contains(id), "{id}:\n{stdout}");
    }
    let html = read(&page);
    assert_eq!(html.matches("<tr class=\"pass\">").count(), 8);
}

/// The browser test: the report loads in headless Chromium with no console
/// error and no network request, its charts have data paths, and the
/// screenshot is not blank (`.ci/check_report.py`). Skipped, visibly, without
/// Chromium, unless WORMSIM_CI_FULL=1.
#[test]
fn report_renders_in_headless_chromium() {
    let have = ["chromium", "chromium-browser"].iter().any(|c| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !have {
        assert!(
            std::env::var("WORMSIM_CI_FULL").as_deref() != Ok("1"),
            "WORMSIM_CI_FULL=1 but chromium is missing: run .ci/setup-chromium.sh"
        );
        eprintln!(
            "SKIPPED report_renders_in_headless_chromium: chromium is not installed (.ci/setup-chromium.sh)"
        );
        return;
    }
    let dir = scratch("report-browser");
    let out = tiny_run(&dir, &["--report"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/check_report.py");
    let shot = dir.join("report.png");
    let o = std::process::Command::new("python3")
        .arg(&script)
        .arg(out.join("report.html"))
        .arg(&shot)
        .output()
        .expect("python3 runs");
    assert!(
        o.status.success(),
        "browser check failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(png_size(&shot).0 > 0);
}

/// A damaged file in a run directory is bad input (exit 2, the file named),
/// not a failure of the machine (found by the black-box campaign: both
/// exited 1).
#[test]
fn report_refuses_damaged_files_as_input_errors() {
    let dir = scratch("report-damaged");
    let run = tiny_run(&dir, &[]);
    std::fs::write(run.join("summary.json"), "{").expect("write");
    let a = wormsim().args(["report", "-q"]).arg(&run).assert().code(2);
    let err = stderr(&a);
    assert!(err.contains("summary.json: not JSON"), "{err}");
    let run = tiny_run(&dir, &[]);
    std::fs::write(run.join("scenario.toml"), b"\xff\n").expect("write");
    let a = wormsim().args(["report", "-q"]).arg(&run).assert().code(2);
    let err = stderr(&a);
    assert!(err.contains("scenario.toml: not UTF-8"), "{err}");
}
