//! Damaged and hostile inputs to `slurm-script` and `merge`, from the black-box
//! campaign (FUZZING.md, bugs 13–15): each is refused with exit code 2 and one
//! `error:` line naming the flag or the file, and nothing is written.

use crate::common::{ok, run_in};
use std::path::{Path, PathBuf};

const TINY: &str = r#"[scenario]
name = "tiny"
start = 2001-07-19T10:00:00Z
end = 2001-07-19T12:00:00Z
space_bits = 16
[population]
model = "uniform"
hosts = 300
[worm]
variant = "generic"
scan_rate = 10.0
"#;

const SWEEP: &str = "scenario = \"tiny.toml\"\nreplicates = 3\n";

/// A temporary directory holding `tiny.toml` and the sweep file `s.toml`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("tiny.toml"), TINY).expect("write");
    std::fs::write(dir.path().join("s.toml"), SWEEP).expect("write");
    dir
}

/// Exit code 2 and one `error:` line holding every string of `names`.
fn refused(dir: &Path, args: &[&str], names: &[&str]) -> String {
    let o = run_in(dir, args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "wormsim {args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "wormsim {args:?}: one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in names {
        assert!(
            err.contains(n),
            "wormsim {args:?}: expected `{n}` in: {err}"
        );
    }
    err
}

mod slurm_script {
    use super::*;

    /// Bug 15: a newline in a flag was written raw into an `#SBATCH` line, and
    /// the next line ran as a command when the script was run.
    #[test]
    fn flags_with_a_newline_or_odd_characters_are_refused() {
        let d = setup();
        let p = d.path();
        for (flag, value) in [
            ("--partition", "gpu\ntouch /tmp/pwned"),
            ("--partition", "gpu;reboot"),
            ("--partition", "a,,b"),
            ("--partition", ""),
            ("--time", "01:00:00\ntouch /tmp/pwned"),
            ("--time", "1 hour"),
            ("--time", "1:2:3:4"),
            ("--time", "1-2-3"),
            ("--mem", "4G\rtouch /tmp/pwned"),
            ("--mem", "4GB"),
            ("--mem", "$(id)"),
        ] {
            let arg = format!("{flag}={value}");
            refused(
                p,
                &[
                    "slurm-script",
                    "s.toml",
                    "--tasks",
                    "1",
                    &arg,
                    "-o",
                    "job.sh",
                ],
                &[flag],
            );
            assert!(!p.join("job.sh").exists(), "{flag} {value:?}: no script");
            assert!(!p.join("out").exists(), "{flag} {value:?}: no directory");
        }
    }

    #[test]
    fn slurm_formats_are_accepted() {
        let d = setup();
        for (flag, value) in [
            ("--partition", "batch"),
            ("--partition", "gpu-a100,long_q.x"),
            ("--time", "30"),
            ("--time", "30:00"),
            ("--time", "01:00:00"),
            ("--time", "2-12"),
            ("--time", "2-12:30"),
            ("--time", "2-12:30:00"),
            ("--time", "UNLIMITED"),
            ("--mem", "4000"),
            ("--mem", "4G"),
            ("--mem", "512m"),
            ("--mem", "0"),
        ] {
            let arg = format!("{flag}={value}");
            let o = ok(d.path(), &["slurm-script", "s.toml", "--tasks", "1", &arg]);
            let s = String::from_utf8_lossy(&o.stdout);
            assert!(s.contains(&format!("#SBATCH {arg}\n")), "{arg}:\n{s}");
        }
    }

    /// Bug 15: the sweep file's `name` went raw into comments, `Logs:` and the
    /// default `--out`, so `name = "x\ntouch ..."` injected a command.
    #[test]
    fn sweep_name_with_a_newline_is_refused() {
        let d = setup();
        let p = d.path();
        std::fs::write(
            p.join("n.toml"),
            "scenario = \"tiny.toml\"\nname = \"x\\ntouch pwned2\\n#\"\n",
        )
        .expect("write");
        refused(
            p,
            &["slurm-script", "n.toml", "--tasks", "1", "-o", "job.sh"],
            &["n.toml", "name"],
        );
        // With --out, the name is still written into the script's comments.
        refused(
            p,
            &[
                "slurm-script",
                "n.toml",
                "--tasks",
                "1",
                "--out",
                "o",
                "-o",
                "job.sh",
            ],
            &["n.toml", "name"],
        );
        assert!(!p.join("o").exists());
        assert!(!p.join("job.sh").exists());
        assert!(!p.join("out").exists());
    }

    #[test]
    fn out_path_with_a_newline_is_refused() {
        let d = setup();
        let p = d.path();
        refused(
            p,
            &[
                "slurm-script",
                "s.toml",
                "--tasks",
                "1",
                "--out",
                "o\ntouch /tmp/pwned3",
                "-o",
                "job.sh",
            ],
            &["--out", "o\\ntouch"],
        );
        assert!(!p.join("job.sh").exists());
        assert!(!p.join("o\ntouch /tmp/pwned3").exists());
    }

    /// A sweep file whose name holds a newline (its stem names the sweep and
    /// the default output): refused on one line, nothing written.
    #[test]
    fn sweep_file_with_a_newline_is_refused() {
        let d = setup();
        let p = d.path();
        std::fs::write(p.join("a\nb.toml"), SWEEP).expect("write");
        refused(
            p,
            &["slurm-script", "a\nb.toml", "--tasks", "1", "-o", "job.sh"],
            &["a\\nb.toml", "control character", "rename the sweep file"],
        );
        assert!(!p.join("job.sh").exists());
        assert!(!p.join("out").exists());
    }

    /// Writes a fake `sbatch` into `bin` that records its arguments, one call
    /// per line, NUL between arguments, and prints a job id.
    fn fake_sbatch(bin: &Path, log: &Path) {
        std::fs::create_dir_all(bin).expect("mkdir");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\0' \"$@\" >> '{}'\necho >> '{}'\necho 4242\n",
            log.display(),
            log.display()
        );
        let path = bin.join("sbatch");
        std::fs::write(&path, script).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }

    /// Paths with shell and Slurm metacharacters reach `sbatch` and the merge
    /// command intact: the script parses (`bash -n`), and run with a fake
    /// `sbatch` it passes exactly the paths given.
    #[test]
    #[cfg(unix)]
    fn odd_paths_are_quoted() {
        let d = setup();
        let p = d.path();
        let odd = "o ut'\"$(x)`y`#%x;";
        ok(
            p,
            &[
                "slurm-script",
                "s.toml",
                "--tasks",
                "2",
                "--out",
                odd,
                "--partition",
                "a,b",
                "--wormsim",
                "/opt/worm sim/wormsim",
                "-o",
                "job.sh",
            ],
        );
        let script = std::fs::read_to_string(p.join("job.sh")).expect("script");
        let out = p.canonicalize().expect("canonical").join(odd);
        let out = out.to_str().expect("UTF-8");
        let st = std::process::Command::new("bash")
            .arg("-n")
            .arg(p.join("job.sh"))
            .status()
            .expect("bash");
        assert!(st.success(), "bash -n:\n{script}");
        // `#SBATCH` lines: sbatch's own quoting, `%` doubled.
        let logs = format!("{out}/slurm").replace('%', "%%");
        let want = format!(
            "#SBATCH --output=\"{}/%x-%A_%a.out\"\n",
            logs.replace('\\', "\\\\").replace('"', "\\\"")
        );
        assert!(script.contains(&want), "{want} not in:\n{script}");

        let log = p.join("sbatch.log");
        fake_sbatch(&p.join("bin"), &log);
        let path = format!(
            "{}:{}",
            p.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let o = std::process::Command::new("bash")
            .arg(p.join("job.sh"))
            .current_dir(p)
            .env("PATH", path)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .output()
            .expect("bash");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let calls = std::fs::read_to_string(&log).expect("sbatch log");
        let calls: Vec<Vec<&str>> = calls
            .lines()
            .map(|l| l.trim_end_matches('\0').split('\0').collect())
            .collect();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[0], ["--parsable", p.join("job.sh").to_str().unwrap()]);
        let merge = &calls[1];
        assert!(
            merge.contains(&format!("--output={logs}/%x-%j.out").as_str()),
            "{merge:?}"
        );
        assert!(merge.contains(&"--partition=a,b"), "{merge:?}");
        // The merge job's command splits into exactly the words it should.
        let wrap = merge
            .iter()
            .find_map(|a| a.strip_prefix("--wrap="))
            .expect("--wrap");
        let words = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("printf '%s\\0' {wrap}"))
            .output()
            .expect("bash");
        let words = String::from_utf8(words.stdout).expect("UTF-8");
        let words: Vec<&str> = words.trim_end_matches('\0').split('\0').collect();
        assert_eq!(
            words,
            ["/opt/worm sim/wormsim", "merge", out, "--format", "csv"]
        );
    }
}

mod merge {
    use super::*;

    /// A finished sweep of 3 units in `dir/name`, and its tables.
    fn sweep(dir: &Path, name: &str) -> (PathBuf, String, String) {
        ok(dir, &["sweep", "s.toml", "--out", name, "-q"]);
        let out = dir.join(name);
        let read = |f: &str| std::fs::read_to_string(out.join(f)).expect("table");
        (out.clone(), read("summaries.csv"), read("quantiles.csv"))
    }

    fn unit(out: &Path, id: u64) -> PathBuf {
        out.join("units").join(format!("{id:07}.json"))
    }

    /// Rewrite a unit file as compact JSON after `edit`.
    fn edit(path: &Path, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) {
        let text = std::fs::read_to_string(path).expect("unit");
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        edit(v.as_object_mut().expect("object"));
        std::fs::write(path, format!("{v}\n")).expect("write");
    }

    /// Bug 13: an edited summary value was merged without a word.
    #[test]
    fn edited_unit_is_refused() {
        let d = setup();
        let (out, sums, _) = sweep(d.path(), "dmg");
        let u = unit(&out, 1);
        edit(&u, |o| {
            o["summary"]["final_size"] = 123.into();
        });
        let e = refused(
            d.path(),
            &["merge", "dmg"],
            &["units/0000001.json", "checksum", "--resume"],
        );
        assert!(e.contains("changed or damaged"), "{e}");
        let now = std::fs::read_to_string(out.join("summaries.csv")).expect("table");
        assert_eq!(now, sums, "nothing written");
    }

    /// Bug 13: a flipped bit anywhere in a unit file is refused, or (in
    /// whitespace) harmless.
    #[test]
    fn bit_flips_are_refused_or_harmless() {
        let d = setup();
        let (out, sums, quants) = sweep(d.path(), "dmg");
        let u = unit(&out, 2);
        let good = std::fs::read(&u).expect("unit");
        let n = good.len();
        // Spread over the file, and every byte of the checksum field's tail.
        let positions: Vec<usize> = (0..n).step_by(n / 40).chain(n - 45..n).collect();
        for (i, &at) in positions.iter().enumerate() {
            let mut bad = good.clone();
            bad[at] ^= 1 << (i % 8);
            std::fs::write(&u, &bad).expect("write");
            let o = run_in(d.path(), &["merge", "dmg", "-q"]);
            let err = String::from_utf8_lossy(&o.stderr);
            if o.status.success() {
                let read = |f: &str| std::fs::read_to_string(out.join(f)).expect("table");
                assert_eq!(read("summaries.csv"), sums, "flip at {at} accepted");
                assert_eq!(read("quantiles.csv"), quants, "flip at {at} accepted");
            } else {
                assert_eq!(o.status.code(), Some(2), "flip at {at}: {err}");
                assert!(err.contains("units/0000002.json"), "flip at {at}: {err}");
            }
        }
        std::fs::write(&u, &good).expect("write");
        ok(d.path(), &["merge", "dmg", "-q"]);
    }

    /// Units written before checksums are read unchecked; a mangled checksum
    /// field is not taken for one of them.
    #[test]
    fn unit_without_checksum_is_read() {
        let d = setup();
        let (out, sums, quants) = sweep(d.path(), "old");
        for id in 0..3 {
            edit(&unit(&out, id), |o| {
                assert!(o.remove("checksum").is_some(), "units carry a checksum");
            });
        }
        ok(d.path(), &["merge", "old", "-q"]);
        let read = |f: &str| std::fs::read_to_string(out.join(f)).expect("table");
        assert_eq!(read("summaries.csv"), sums);
        assert_eq!(read("quantiles.csv"), quants);

        let (out, _, _) = sweep(d.path(), "key");
        let u = unit(&out, 0);
        let text = std::fs::read_to_string(&u).expect("unit");
        std::fs::write(&u, text.replace("\"checksum\"", "\"chacksum\"")).expect("write");
        refused(
            d.path(),
            &["merge", "key"],
            &["units/0000000.json", "checksum"],
        );
    }

    /// A sweep, a unit deleted, `--resume`, and `merge` give the same tables.
    #[test]
    fn resume_and_merge_give_the_same_tables() {
        let d = setup();
        let (out, sums, quants) = sweep(d.path(), "r");
        std::fs::remove_file(unit(&out, 1)).expect("rm");
        ok(
            d.path(),
            &["sweep", "s.toml", "--out", "r", "--resume", "-q"],
        );
        ok(d.path(), &["merge", "r", "-q"]);
        let read = |f: &str| std::fs::read_to_string(out.join(f)).expect("table");
        assert_eq!(read("summaries.csv"), sums);
        assert_eq!(read("quantiles.csv"), quants);
    }

    /// Bug 14: replicates with different series times gave "point 0: run 2 has
    /// different row times…", naming no file.
    #[test]
    fn different_series_times_name_the_unit_file() {
        let d = setup();
        let (out, _, _) = sweep(d.path(), "t");
        edit(&unit(&out, 2), |o| {
            o.remove("checksum");
            for (_, v) in o["series"].as_object_mut().expect("series").iter_mut() {
                v.as_array_mut().expect("array").pop();
            }
        });
        let e = refused(
            d.path(),
            &["merge", "t"],
            &["units/0000002.json", "--resume"],
        );
        assert!(!e.contains("units/0000000.json"), "{e}");
        assert!(!e.contains("units/0000001.json"), "{e}");
    }

    /// Bug 18: a unit without a checksum whose start time was edited made
    /// merge blame the intact replicate compared with it, so deleting that one
    /// and resuming never helped. The majority decides, as for series times.
    #[test]
    fn different_start_times_name_the_edited_unit() {
        let d = setup();
        let (out, _, _) = sweep(d.path(), "h");
        edit(&unit(&out, 0), |o| {
            o.remove("checksum");
            let start = o["start"].as_f64().expect("start");
            o.insert("start".into(), serde_json::json!(start + 1.0));
        });
        let e = refused(
            d.path(),
            &["merge", "h"],
            &[
                "units/0000000.json",
                "start times and point parameters",
                "--resume",
            ],
        );
        assert!(!e.contains("units/0000001.json"), "{e}");
        assert!(!e.contains("units/0000002.json"), "{e}");
    }

    /// `units` a file, and a unit a directory: input errors naming the path
    /// (they exited 1), for `merge` and `sweep --resume`.
    #[test]
    fn units_not_a_directory_and_unit_not_a_file() {
        let d = setup();
        let (out, _, _) = sweep(d.path(), "f");
        std::fs::remove_dir_all(out.join("units")).expect("rm");
        std::fs::write(out.join("units"), "").expect("write");
        refused(d.path(), &["merge", "f"], &["f/units", "not a directory"]);
        refused(
            d.path(),
            &["sweep", "s.toml", "--out", "f", "--resume"],
            &["f/units", "not a directory"],
        );

        let (out, _, _) = sweep(d.path(), "g");
        std::fs::remove_file(unit(&out, 1)).expect("rm");
        std::fs::create_dir(unit(&out, 1)).expect("mkdir");
        refused(
            d.path(),
            &["merge", "g"],
            &["units/0000001.json", "a directory"],
        );
        refused(
            d.path(),
            &["sweep", "s.toml", "--out", "g", "--resume"],
            &["units/0000001.json", "a directory"],
        );
    }
}
