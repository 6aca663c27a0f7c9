//! CLI tests for `wormsim logs` (drives the built binary).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../wormsim/tests/fixtures/logs")
        .join(name)
}

fn wormsim() -> Command {
    Command::cargo_bin("wormsim").unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The number printed after `label` on the summary line that starts with it.
fn count(text: &str, label: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line `{label}` in:\n{text}"));
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number after `{label}`: {line}"))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn writes_series_and_sources_with_the_shared_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = wormsim()
        .arg("logs")
        .arg(fixture("aggregate.log"))
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let series = std::fs::read_to_string(out_dir.join("series.csv")).unwrap();
    assert_eq!(
        series,
        "time,probes_seen,unique_sources,new_sources,cumulative_sources\n\
         2001-07-19T09:00:00Z,1,1,1,1\n\
         2001-07-19T10:00:00Z,3,2,2,3\n\
         2001-07-19T11:00:00Z,2,2,1,4\n\
         2001-07-19T12:00:00Z,0,0,0,4\n\
         2001-07-19T13:00:00Z,1,1,0,4\n"
    );
    let sources = std::fs::read_to_string(out_dir.join("sources.csv")).unwrap();
    assert_eq!(
        sources,
        "source,first_seen,last_seen,probes,crv1v2,crii,nimda,ida_generic\n\
         9.1.1.1,2001-07-19T11:20:00Z,2001-07-19T11:20:00Z,1,0,1,0,0\n\
         10.0.0.9,2001-07-19T10:10:00Z,2001-07-19T13:15:00Z,2,2,0,0,0\n\
         10.0.0.10,2001-07-19T10:05:00Z,2001-07-19T11:30:00Z,3,2,0,0,1\n\
         2001:db8::1,2001-07-19T09:59:59Z,2001-07-19T09:59:59Z,1,0,0,1,0\n"
    );
    // No temporaries left behind.
    let names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let text = stdout(&out);
    assert_eq!(count(&text, "worm sources"), 4, "{text}");
    assert_eq!(count(&text, "worm requests"), 7, "{text}");
    assert_eq!(count(&text, "other"), 1, "{text}");
    assert!(text.contains("(5 rows, 4 sources)"), "{text}");
}

#[test]
fn summary_counts_classes_across_formats_and_lists_malformed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.log");
    std::fs::write(
        &bad,
        &b"garbage line\n10.0.0.9 - - [19/Jul/2001:10:00:00 +0000] \"GET /scripts/root.exe?/c+dir HTTP/1.0\" 404 5\n\xff\n"[..],
    )
    .unwrap();
    let out = wormsim()
        .arg("logs")
        .args([
            fixture("access_common.log"),
            fixture("iis_w3c.log"),
            fixture("error_log"),
            bad.clone(),
        ])
        .arg("--out")
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // common + w3c: 1 CRv1 each; error_log: 1 CRII; nimda 2+2+2+1.
    for (class, n) in [("crv1v2", 2), ("crii", 3), ("nimda", 7), ("ida_generic", 3)] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(class))
            .unwrap_or_else(|| panic!("{class} missing:\n{text}"));
        assert_eq!(
            line.split_whitespace().nth(1),
            Some(n.to_string().as_str()),
            "{line}"
        );
    }
    assert_eq!(count(&text, "malformed lines"), 2, "{text}");
    assert!(
        text.contains("bad.log:1, ") && text.contains("bad.log:3"),
        "{text}"
    );
    assert!(text.contains("w3c"), "{text}");
}

#[test]
fn gzip_input_and_bin_option() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("aggregate.log.gz");
    let text = std::fs::read(fixture("aggregate.log")).unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut e, &text).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let out_dir = dir.path().join("o");
    wormsim()
        .arg("logs")
        .arg(&gz)
        .args(["--bin", "7200", "--quiet", "--out"])
        .arg(&out_dir)
        .assert()
        .success()
        .stdout("");
    let series = std::fs::read_to_string(out_dir.join("series.csv")).unwrap();
    assert_eq!(
        series.lines().nth(1),
        Some("2001-07-19T08:00:00Z,1,1,1,1"),
        "{series}"
    );
    assert_eq!(series.lines().count(), 4);
}

#[test]
fn truncated_gzip_warns_and_keeps_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!(
            "10.1.{}.{} - - [19/Jul/2001:10:12:01 +0000] \"GET /default.ida?NNNNNNNNNNNNNNNNNNNNN HTTP/1.0\" 404 5\n",
            i / 200,
            i % 200
        ));
    }
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut e, text.as_bytes()).unwrap();
    let gz = e.finish().unwrap();
    let cut = dir.path().join("cut.gz");
    std::fs::write(&cut, &gz[..gz.len() * 2 / 3]).unwrap();
    let out_dir = dir.path().join("o");
    let out = wormsim()
        .arg("logs")
        .arg(&cut)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("cut.gz") && err.contains("gzip"),
        "{err}"
    );
    let sources = std::fs::read_to_string(out_dir.join("sources.csv")).unwrap();
    let n = sources.lines().count() - 1;
    assert!(n > 100 && n < 3000, "{n}");
}

#[test]
fn missing_file_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let out = wormsim()
        .arg("logs")
        .arg(fixture("access_common.log"))
        .arg(dir.path().join("nope.log"))
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("nope.log") && err.contains("cannot read"),
        "{err}"
    );
    assert!(!out_dir.exists());
}

#[test]
fn bad_arguments_exit_2() {
    // No files.
    wormsim().arg("logs").assert().code(2);
    // A directory.
    let dir = tempfile::tempdir().unwrap();
    let out = wormsim().arg("logs").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a directory"));
    // Bin 0.
    let out = wormsim()
        .arg("logs")
        .arg(fixture("aggregate.log"))
        .args(["--bin", "0", "--out"])
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--bin"), "{}", stderr(&out));
    // A time span too long for the bin.
    let span = dir.path().join("span.log");
    std::fs::write(
        &span,
        "1.1.1.1 - - [19/Jul/2001:10:00:00 +0000] \"GET /default.ida HTTP/1.0\" 404 5\n\
         1.1.1.1 - - [19/Jul/2101:10:00:00 +0000] \"GET /default.ida HTTP/1.0\" 404 5\n",
    )
    .unwrap();
    let out = wormsim()
        .arg("logs")
        .arg(&span)
        .args(["--bin", "60", "--out"])
        .arg(dir.path().join("o2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("larger bin width"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("o2").exists());
    // Bad offset, bad format.
    wormsim()
        .arg("logs")
        .arg(fixture("error_log"))
        .args(["--error-utc-offset", "7"])
        .assert()
        .code(2);
    wormsim()
        .arg("logs")
        .arg(fixture("error_log"))
        .args(["--format", "xml"])
        .assert()
        .code(2);
}

#[test]
fn help_shows_an_example() {
    let out = wormsim().args(["logs", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("Examples:") && text.contains("wormsim logs "),
        "{text}"
    );
    assert!(text.contains("--format") && text.contains("--bin") && text.contains("--out"));
}

#[test]
fn reads_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    wormsim()
        .args(["logs", "-", "--quiet", "--out"])
        .arg(&out_dir)
        .write_stdin(std::fs::read(fixture("access_combined.log")).unwrap())
        .assert()
        .success();
    let sources = std::fs::read_to_string(out_dir.join("sources.csv")).unwrap();
    assert_eq!(sources.lines().count(), 5);
}
