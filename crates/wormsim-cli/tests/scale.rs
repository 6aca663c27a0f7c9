//! End-to-end tests of `wormsim ensemble`, `sweep`, `merge` and `slurm-script`
//! (issue 5), driving the built binary on tiny fixed-seed scenarios.
//! One module per behaviour.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

// `wormsim(dir, args)`: the binary run in `dir`, sharding variables cleared.
use common::{ok, run_in as wormsim};

const TINY: &str = r#"
[scenario]
name = "tiny"
start = 2001-07-19T10:00:00Z
end = 2001-07-19T13:00:00Z
space_bits = 16
[population]
model = "uniform"
hosts = 3000
[worm]
variant = "generic"
scan_rate = 0.5
initial_infected = 2
[defense.patch]
rate = 2.0
[defense.reboot]
rate = 3.0
[output]
bin = 900
"#;

const SWEEP: &str = r#"
scenario = "tiny.toml"
replicates = 3
seed = 11
[[grid]]
key = "worm.scan_rate"
values = [0.5, 1.0]
[[grid]]
key = "defense.patch.rate"
start = 0.0
stop = 2.0
step = 1.0
"#;

/// A fresh directory for one test, with the tiny scenario and sweep in it.
fn workdir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("tiny.toml"), TINY).unwrap();
    std::fs::write(d.join("sweep.toml"), SWEEP).unwrap();
    d
}

/// Exit code 2 and the stderr text.
fn input_error(dir: &Path, args: &[&str]) -> String {
    let o = wormsim(dir, args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "wormsim {args:?}: {err}");
    err
}

/// Every file of a directory (not recursive), by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A command line's arguments, split at white space.
fn argv(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The sweep tables (`summaries.csv`, `quantiles.csv`) of output directories
/// `a` and `b` in `d` are identical.
fn assert_same_tables(d: &Path, a: &str, b: &str) {
    for t in ["summaries.csv", "quantiles.csv"] {
        assert_eq!(read(d.join(a).join(t)), read(d.join(b).join(t)), "{t}");
    }
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

fn unit_count(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("units"))
        .map(|d| {
            d.filter(|e| {
                let n = e.as_ref().unwrap().file_name();
                let n = n.to_string_lossy();
                !n.starts_with('.') && n.ends_with(".json")
            })
            .count()
        })
        .unwrap_or(0)
}

mod ensemble {
    use super::*;

    /// Acceptance: identical output for --threads 1 and --threads 2, same seed.
    #[test]
    fn byte_identical_for_any_thread_count() {
        let d = workdir("ensemble-threads");
        let common = [
            "ensemble",
            "tiny.toml",
            "--runs",
            "24",
            "--seed",
            "7",
            "--format",
            "csv,json,parquet",
            "--quiet",
        ];
        ok(
            &d,
            &[&common[..], &["--threads", "1", "--out", "t1"]].concat(),
        );
        ok(
            &d,
            &[&common[..], &["--threads", "2", "--out", "t2"]].concat(),
        );
        let (a, b) = (files(&d.join("t1")), files(&d.join("t2")));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            [
                "ensemble.json",
                "quantiles.csv",
                "quantiles.json",
                "quantiles.parquet",
                "scenario.toml",
                "summaries.csv",
                "summaries.json",
                "summaries.parquet"
            ]
        );
        for (name, bytes) in &a {
            assert!(bytes == &b[name], "{name} differs between 1 and 2 threads");
        }
        // A different seed gives different runs.
        ok(
            &d,
            &[&common[..5], &["8", "--quiet", "--out", "s8"]].concat(),
        );
        assert_ne!(
            read(d.join("t1/summaries.csv")),
            read(d.join("s8/summaries.csv"))
        );
    }

    /// Replicate 0 of seed S is `wormsim run --seed S`.
    #[test]
    fn replicate_zero_is_wormsim_run() {
        let d = workdir("ensemble-run");
        ok(
            &d,
            &["run", "tiny.toml", "--seed", "5", "--out", "run", "-q"],
        );
        ok(
            &d,
            &argv("ensemble tiny.toml --runs 3 --seed 5 --out ens -q"),
        );
        let summary: serde_json::Value =
            serde_json::from_str(&read(d.join("run/summary.json"))).unwrap();
        let csv = read(d.join("ens/summaries.csv"));
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let row0: Vec<&str> = lines.next().unwrap().split(',').collect();
        let col = |n: &str| row0[header.iter().position(|h| *h == n).unwrap()];
        assert_eq!(col("replicate"), "0");
        for (csv_name, json_name) in [
            ("final_size", "ever_infected"),
            ("infected_at_end", "infected_at_end"),
            ("patched", "patched"),
            ("rebooted", "reboots"),
            ("reinfections", "reinfections"),
            ("peak_new_per_min", "peak_new_infections_per_minute"),
            ("events", "events"),
        ] {
            assert_eq!(col(csv_name), summary[json_name].to_string(), "{csv_name}");
        }
        let probes: f64 = col("probes").parse().unwrap();
        assert!((probes - summary["probes"].as_f64().unwrap()).abs() < 1e-3);
    }

    #[test]
    fn prints_the_distribution_table() {
        let d = workdir("ensemble-table");
        let o = ok(&d, &["ensemble", "tiny.toml", "--runs", "5", "--out", "e"]);
        let out = String::from_utf8_lossy(&o.stdout);
        for want in [
            "q05",
            "median",
            "q95",
            "final size",
            "time to 50% of final size [h]",
            "wrote e/",
        ] {
            assert!(out.contains(want), "{want} not in:\n{out}");
        }
        // Without a terminal there is no progress bar; the timing goes to stderr.
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("runs/s"), "{err}");
    }

    #[test]
    fn memory_preflight_refuses() {
        let d = workdir("ensemble-memory");
        let e = input_error(
            &d,
            &argv("ensemble codered-v2-2001-07-19 --runs 1000 --max-memory 20M"),
        );
        assert!(e.contains("memory preflight: the estimate is"), "{e}");
        assert!(e.contains("--max-memory is 20.0 MiB"), "{e}");
        assert!(!d.join("out").exists(), "nothing is written");
        let e = input_error(&d, &["ensemble", "tiny.toml", "--runs", "0"]);
        assert!(e.contains("--runs"), "{e}");
    }
}

mod sweep {
    use super::*;

    /// Acceptance: a sweep killed midway, resumed and merged gives exactly the
    /// rows of an uninterrupted run.
    #[test]
    fn killed_resumed_and_merged_equals_uninterrupted() {
        let d = workdir("sweep-resume");
        ok(&d, &["sweep", "sweep.toml", "--out", "whole", "-q"]);
        assert_eq!(unit_count(&d.join("whole")), 18);

        // The hook aborts the process (SIGABRT, no cleanup) after 7 units.
        let o = wormsim(
            &d,
            &argv("sweep sweep.toml --out cut --threads 2 --abort-after 7 -q"),
        );
        assert!(!o.status.success());
        assert_eq!(unit_count(&d.join("cut")), 7);
        assert!(!d.join("cut/summaries.csv").exists());
        // Starting again without --resume is refused, naming the fix.
        let e = input_error(&d, &["sweep", "sweep.toml", "--out", "cut"]);
        assert!(
            e.contains("already holds 7 of this shard's 18 units; pass --resume"),
            "{e}"
        );
        let o = ok(&d, &["sweep", "sweep.toml", "--out", "cut", "--resume"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("18 units, 7 done, 11 to run"), "{err}");
        assert_same_tables(&d, "whole", "cut");
        // Resuming a finished sweep runs nothing and merges the same tables.
        let o = ok(&d, &["sweep", "sweep.toml", "--out", "cut", "--resume"]);
        assert!(String::from_utf8_lossy(&o.stderr).contains("0 to run"));
        assert_eq!(
            read(d.join("whole/summaries.csv")),
            read(d.join("cut/summaries.csv"))
        );
    }

    /// `--resume` reads the units it finds as `merge` would: a damaged one
    /// (edited, or cut) is named and run again, and the merged tables are
    /// those of an uninterrupted run.
    #[test]
    fn resume_runs_damaged_units_again() {
        let d = workdir("sweep-resume-damaged");
        ok(&d, &["sweep", "sweep.toml", "--out", "whole", "-q"]);
        ok(&d, &["sweep", "sweep.toml", "--out", "hurt", "-q"]);
        let units = d.join("hurt/units");
        // An edit that keeps the file valid JSON (caught by the checksum) and a
        // file cut in half.
        let edited = units.join("0000003.json");
        let text = read(&edited);
        let (head, tail) = text.split_at(text.find("\"summary\"").expect("a summary"));
        let tail = tail.replacen("\"final_size\":", "\"final_size\":1", 1);
        assert_ne!(tail, text[head.len()..], "the edit changed something");
        std::fs::write(&edited, format!("{head}{tail}")).unwrap();
        let cut = units.join("0000011.json");
        let text = read(&cut);
        std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
        std::fs::remove_file(d.join("hurt/summaries.csv")).unwrap();

        let o = ok(&d, &["sweep", "sweep.toml", "--out", "hurt", "--resume"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("18 units, 16 done, 2 to run"), "{err}");
        for (path, unit) in [(&edited, 3), (&cut, 11)] {
            assert!(
                err.contains(&format!(
                    "warning: {}: ",
                    path.strip_prefix(&d).unwrap().display()
                )) || err.contains(&format!("warning: {}: ", path.display())),
                "{err}"
            );
            assert!(err.contains(&format!("runs unit {unit} again")), "{err}");
        }
        assert!(err.contains("do not match its checksum"), "{err}");
        assert_same_tables(&d, "whole", "hurt");
        assert_eq!(
            std::fs::read(d.join("whole/units/0000011.json")).unwrap(),
            std::fs::read(&cut).unwrap(),
            "the cut unit is written again, whole"
        );
    }

    /// Unit files that are not this sweep's (numbered past its last unit, or
    /// under a name wormsim does not write) are refused before anything is
    /// written (FUZZING.md bugs 19 and 20), by `--resume` and by `merge`.
    #[test]
    fn foreign_unit_files_are_refused_before_writing() {
        let d = workdir("sweep-foreign-units");
        ok(&d, &["sweep", "sweep.toml", "--out", "o", "-q"]);
        let units = d.join("o/units");
        std::fs::remove_file(units.join("0000002.json")).unwrap();
        std::fs::remove_file(d.join("o/summaries.csv")).unwrap();
        for (name, says) in [
            ("0000018.json", "unit files beyond the sweep's 18 units"),
            (
                "1.json",
                "not a unit file name wormsim writes (unit 1 is 0000001.json)",
            ),
            ("00000003.json", "(unit 3 is 0000003.json)"),
        ] {
            let foreign = units.join(name);
            std::fs::copy(units.join("0000001.json"), &foreign).unwrap();
            let before = files(&units);
            for args in [
                &["sweep", "sweep.toml", "--out", "o", "--resume"][..],
                &argv("sweep sweep.toml --out o --resume --shard 0/3")[..],
                &["merge", "o"][..],
            ] {
                let e = input_error(&d, args);
                assert!(e.contains(says), "{args:?}: {e}");
                assert!(e.contains(name), "{args:?}: {e}");
                assert_eq!(files(&units), before, "{args:?}: nothing written");
                assert!(!d.join("o/summaries.csv").exists(), "{args:?}");
            }
            std::fs::remove_file(&foreign).unwrap();
        }
        ok(&d, &["sweep", "sweep.toml", "--out", "o", "--resume", "-q"]);
        assert_eq!(unit_count(&d.join("o")), 18);
    }

    /// The same with a real SIGKILL at an arbitrary moment.
    #[cfg(unix)]
    #[test]
    fn sigkill_midway_then_resume() {
        let d = workdir("sweep-sigkill");
        // Units long enough (tens of ms) for the kill to land midway.
        let big = SWEEP.replace("replicates = 3", "replicates = 12");
        std::fs::write(d.join("sweep.toml"), big).unwrap();
        let bigger = TINY
            .replace("hosts = 3000", "hosts = 30000")
            .replace("space_bits = 16", "space_bits = 20");
        std::fs::write(d.join("tiny.toml"), bigger).unwrap();
        ok(&d, &argv("sweep sweep.toml --out whole -q --threads 2"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_wormsim"))
            .current_dir(&d)
            .args(argv("sweep sweep.toml --out cut -q --threads 2"))
            .spawn()
            .unwrap();
        let t0 = std::time::Instant::now();
        while unit_count(&d.join("cut")) < 5 && t0.elapsed().as_secs() < 60 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let done = unit_count(&d.join("cut"));
        assert!((5..72).contains(&done), "{done} units before the kill");
        ok(
            &d,
            &["sweep", "sweep.toml", "--out", "cut", "--resume", "-q"],
        );
        assert_eq!(unit_count(&d.join("cut")), 72);
        assert_same_tables(&d, "whole", "cut");
    }

    #[test]
    fn shards_merge_to_the_single_process_tables() {
        let d = workdir("sweep-shards");
        ok(&d, &["sweep", "sweep.toml", "--out", "whole", "-q"]);
        for k in 0..3 {
            let o = ok(
                &d,
                &[
                    "sweep",
                    "sweep.toml",
                    "--shard",
                    &format!("{k}/3"),
                    "--out",
                    &format!("s{k}"),
                ],
            );
            assert!(String::from_utf8_lossy(&o.stderr).contains("wormsim merge"));
            assert_eq!(unit_count(&d.join(format!("s{k}"))), 6);
            assert!(!d.join(format!("s{k}/summaries.csv")).exists());
        }
        // Missing units are named.
        let e = input_error(&d, &["merge", "s0", "s2", "--out", "m"]);
        assert!(
            e.contains(
                "6 of 18 units are missing: 1 (point 0, replicate 1), 4 (point 1, replicate 1)"
            ),
            "{e}"
        );
        assert!(!d.join("m").exists(), "a failed merge writes nothing");
        // Duplicates are refused.
        let e = input_error(&d, &["merge", "s0", "s1", "s2", "s0", "--out", "m"]);
        assert!(e.contains("present more than once"), "{e}");
        ok(&d, &argv("merge s0 s1 s2 --out m --format csv,parquet"));
        assert_same_tables(&d, "whole", "m");
        // A different seed is a different sweep: not mixed into the same directory.
        let e = input_error(&d, &argv("sweep sweep.toml --out s0 --seed 3 --resume"));
        assert!(
            e.contains("holds units of a different sweep (its `seed` differs"),
            "{e}"
        );
    }

    #[test]
    fn shard_from_the_environment() {
        let d = workdir("sweep-env");
        ok(&d, &["sweep", "sweep.toml", "--out", "whole", "-q"]);
        for k in 0..2 {
            let o = Command::new(env!("CARGO_BIN_EXE_wormsim"))
                .current_dir(&d)
                .args(["sweep", "sweep.toml", "--out", "slurm"])
                .env("SLURM_ARRAY_TASK_ID", (k + 1).to_string())
                .env("SLURM_ARRAY_TASK_MIN", "1")
                .env("SLURM_ARRAY_TASK_COUNT", "2")
                .output()
                .unwrap();
            assert!(o.status.success());
            assert!(
                String::from_utf8_lossy(&o.stderr)
                    .contains(&format!("shard {k}/2 (from the Slurm array task)"))
            );
        }
        let o = Command::new(env!("CARGO_BIN_EXE_wormsim"))
            .current_dir(&d)
            .args(["sweep", "sweep.toml", "--out", "k8s", "--shards", "1", "-q"])
            .env("JOB_COMPLETION_INDEX", "0")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .output()
            .unwrap();
        assert!(o.status.success());
        ok(&d, &["merge", "slurm", "-q"]);
        assert_eq!(
            read(d.join("whole/summaries.csv")),
            read(d.join("slurm/summaries.csv"))
        );
        assert_eq!(
            read(d.join("whole/quantiles.csv")),
            read(d.join("k8s/quantiles.csv"))
        );
    }

    #[test]
    fn long_format_tables() {
        let d = workdir("sweep-tables");
        ok(&d, &["sweep", "sweep.toml", "--out", "w", "-q"]);
        let s = read(d.join("w/summaries.csv"));
        let header = s.lines().next().unwrap();
        assert!(
            header.starts_with("unit,point,replicate,worm.scan_rate,defense.patch.rate,hosts,"),
            "{header}"
        );
        assert_eq!(s.lines().count(), 1 + 18);
        // Point 4 = (scan_rate 1.0, patch 1.0): rows 12..14.
        let row = s.lines().nth(13).unwrap();
        assert!(row.starts_with("12,4,0,1,1,3000,"), "{row}");
        let q = read(d.join("w/quantiles.csv"));
        assert!(q.starts_with("point,worm.scan_rate,defense.patch.rate,time,elapsed_s,variable,q05,q25,q50,q75,q95,mean\n"));
        // 6 points × 13 bins × every numeric series column.
        let variables = wormsim::observe::COLUMNS.len() - 1;
        assert_eq!(q.lines().count(), 1 + 6 * 13 * variables);
    }

    #[test]
    fn errors_name_the_key() {
        let d = workdir("sweep-errors");
        let cases = [
            (
                "step = 1.0",
                "step = 0.0",
                "bad.toml:12:8: grid.1.step (`defense.patch.rate`): a zero step",
            ),
            (
                "stop = 2.0",
                "stop = -1.0",
                "grid.1.stop (`defense.patch.rate`): the range is empty",
            ),
            (
                "replicates = 3",
                "replicates = 400000",
                "= 2400000 work units, more than the limit of 1000000",
            ),
            (
                "key = \"worm.scan_rate\"",
                "key = \"worm.scan_rte\"",
                "grid.0.key: `worm.scan_rte` is not a scenario setting",
            ),
            (
                "values = [0.5, 1.0]",
                "values = [0.5, -1.0]",
                "point 3 (worm.scan_rate = -1.0, defense.patch.rate = 0.0): worm.scan_rate: -1 is negative",
            ),
        ];
        for (from, to, want) in cases {
            std::fs::write(d.join("bad.toml"), SWEEP.replace(from, to)).unwrap();
            let e = input_error(&d, &["sweep", "bad.toml", "--out", "x"]);
            assert!(e.contains(want), "{to}: {e}");
        }
        let e = input_error(&d, &["sweep", "sweep.toml", "--shard", "3/3"]);
        assert!(
            e.contains("--shard: shard 3 does not exist in 3 shards"),
            "{e}"
        );
        let e = input_error(&d, &["merge", "nowhere"]);
        assert!(e.contains("not a sweep output directory"), "{e}");
    }
}

mod parquet {
    use super::*;
    use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use arrow_array::{Array, Float64Array, Int64Array, StringArray};
    use arrow_schema::DataType;

    /// The CSV text of a Parquet file, rendered with the CSV exporter's rules.
    fn parquet_as_csv(path: &Path) -> String {
        let f = std::fs::File::open(path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        let mut out = String::new();
        let mut header = false;
        for batch in reader {
            let batch = batch.unwrap();
            if !header {
                let names: Vec<&str> = batch
                    .schema_ref()
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect();
                out.push_str(&names.join(","));
                out.push('\n');
                header = true;
            }
            for i in 0..batch.num_rows() {
                let cells: Vec<String> = batch
                    .columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(i) {
                            return String::new();
                        }
                        match c.data_type() {
                            DataType::Int64 => c
                                .as_any()
                                .downcast_ref::<Int64Array>()
                                .unwrap()
                                .value(i)
                                .to_string(),
                            DataType::Float64 => format!(
                                "{}",
                                c.as_any().downcast_ref::<Float64Array>().unwrap().value(i)
                            ),
                            DataType::Utf8 => c
                                .as_any()
                                .downcast_ref::<StringArray>()
                                .unwrap()
                                .value(i)
                                .to_string(),
                            other => panic!("unexpected column type {other}"),
                        }
                    })
                    .collect();
                out.push_str(&cells.join(","));
                out.push('\n');
            }
        }
        out
    }

    /// Acceptance: a Parquet file written by wormsim, read back, has the CSV's
    /// columns and values.
    #[test]
    fn read_back_matches_csv() {
        let d = workdir("parquet");
        ok(
            &d,
            &argv("ensemble tiny.toml --runs 6 --out e --format csv,parquet -q"),
        );
        ok(
            &d,
            &argv("sweep sweep.toml --out s --format parquet,csv -q"),
        );
        for t in ["e/summaries", "e/quantiles", "s/summaries", "s/quantiles"] {
            let csv = read(d.join(format!("{t}.csv")));
            let pq = parquet_as_csv(&d.join(format!("{t}.parquet")));
            assert_eq!(pq, csv, "{t}");
        }
    }

    #[test]
    fn column_types() {
        let d = workdir("parquet-types");
        ok(&d, &argv("sweep sweep.toml --out s --format parquet -q"));
        let f = std::fs::File::open(d.join("s/summaries.parquet")).unwrap();
        let b = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
        let schema = b.schema();
        let ty = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
        assert_eq!(ty("unit"), DataType::Int64);
        assert_eq!(ty("worm.scan_rate"), DataType::Float64);
        assert_eq!(ty("final_size"), DataType::Int64);
        assert_eq!(ty("time_to_50pct_s"), DataType::Float64);
        assert!(schema.fields().iter().all(|f| f.is_nullable()));
    }
}

mod slurm_script {
    use super::*;

    #[test]
    fn writes_an_array_and_a_dependent_merge() {
        let d = workdir("slurm-script");
        let o = ok(
            &d,
            &argv("slurm-script sweep.toml --tasks 4 --out o --time 00:10:00 --format csv,parquet"),
        );
        let s = String::from_utf8_lossy(&o.stdout);
        for want in [
            "#SBATCH --array=0-3",
            "#SBATCH --time=00:10:00",
            "--dependency=afterok:\"$array\"",
            "sweep \"$SWEEP\" --out \"$OUT\" --resume",
            "merge",
            "--format csv,parquet",
        ] {
            assert!(s.contains(want), "{want} not in:\n{s}");
        }
        assert!(
            s.contains(&format!("OUT='{}'", d.join("o").display())),
            "absolute paths:\n{s}"
        );
        // The script is valid shell.
        std::fs::write(d.join("job.sh"), s.as_bytes()).unwrap();
        let st = Command::new("bash")
            .arg("-n")
            .arg(d.join("job.sh"))
            .status()
            .unwrap();
        assert!(st.success());
        let e = input_error(&d, &["slurm-script", "sweep.toml", "--tasks", "19"]);
        assert!(e.contains("--tasks 18 or fewer"), "{e}");
    }
}

/// Inputs found by the black-box campaign (`fuzz/blackbox/campaign.py`,
/// `FUZZING.md`).
mod campaign {
    use super::*;

    /// More shards than units (a Kubernetes Job with more completions than
    /// work): the shards past the last unit run nothing and succeed. The
    /// unit count used to wrap below zero, and the preflight refused an
    /// estimate of 3 million TiB.
    #[test]
    fn shards_past_the_last_unit_run_nothing() {
        let d = workdir("campaign-shards");
        std::fs::write(
            d.join("s.toml"),
            "scenario = \"tiny.toml\"\nreplicates = 3\n",
        )
        .unwrap();
        let o = ok(&d, &["sweep", "s.toml", "--out", "o", "--shard", "5/10"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("0 units, 0 done, 0 to run"), "{err}");
        assert_eq!(unit_count(&d.join("o")), 0);
    }

    /// A point the engines refuse at setup (not at validation) is refused
    /// before anything is written, so the corrected sweep can use the same
    /// directory. It used to leave `sweep.json` behind, and the fixed sweep
    /// was then "a different sweep".
    #[test]
    fn a_point_refused_at_setup_writes_nothing() {
        let d = workdir("campaign-setup");
        let bad = "scenario = \"tiny.toml\"\nreplicates = 2\n\
                   [[grid]]\nkey = \"worm.scan_rate\"\nvalues = [0.5, 1e13]\n";
        std::fs::write(d.join("s.toml"), bad).unwrap();
        let err = input_error(&d, &["sweep", "s.toml", "-q", "--out", "o"]);
        assert!(
            err.contains("s.toml: point 1 (worm.scan_rate = ")
                && err.contains("worm.scan_rate: the hosts' scan rates add up to"),
            "{err}"
        );
        assert!(!d.join("o").exists(), "nothing may be written");
        std::fs::write(d.join("s.toml"), bad.replace("1e13", "1.0")).unwrap();
        ok(&d, &["sweep", "s.toml", "-q", "--out", "o"]);
        assert_eq!(unit_count(&d.join("o")), 4);
    }

    /// An absurd run count is refused by the memory preflight (its estimate
    /// used to wrap to a small number, and the allocation then panicked).
    #[test]
    fn an_absurd_run_count_is_refused() {
        let d = workdir("campaign-runs");
        let err = input_error(
            &d,
            &argv("ensemble tiny.toml --runs 18446744073709551615 -q --out e"),
        );
        assert!(err.contains("memory preflight"), "{err}");
        assert!(!d.join("e").exists());
    }
}
