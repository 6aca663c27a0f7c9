//! `wormsim slurm-script`: a Slurm job array that runs a sweep's shards, and a
//! dependent merge job.

use super::sweep::{load, out_dir};
use crate::args::SlurmScriptArgs;
use crate::error::input;
use crate::export::table::extension;
use crate::outputs::{dedup, write_atomic};
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `s` quoted for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()
            .context("cannot read the current directory")?
            .join(p))
    }
}

/// Whether `c` may appear in a Slurm partition name (as `sinfo` lists them).
fn partition_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.".contains(c)
}

/// `--partition`: one partition name, or several separated by commas.
fn check_partition(p: &str) -> anyhow::Result<()> {
    if p.split(',')
        .all(|n| !n.is_empty() && n.chars().all(partition_char))
    {
        return Ok(());
    }
    Err(input(format!(
        "--partition: {p:?} is not a Slurm partition name (letters, digits, `-`, `_` and `.`, \
         several separated by commas); give a name as `sinfo` lists it, e.g. --partition batch"
    )))
}

/// Whether `s` is one to `max` ASCII digits.
fn digits(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
}

/// `--time`: Slurm's time formats, `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`,
/// `D-H:M:S`, or `infinite`/`unlimited` (sbatch(1), `--time`).
fn check_time(t: &str) -> anyhow::Result<()> {
    let ok = if t.eq_ignore_ascii_case("infinite") || t.eq_ignore_ascii_case("unlimited") {
        true
    } else {
        let (days, rest) = match t.split_once('-') {
            Some((d, r)) => (Some(d), r),
            None => (None, t),
        };
        let parts: Vec<&str> = rest.split(':').collect();
        days.is_none_or(|d| digits(d, 9)) && parts.len() <= 3 && parts.iter().all(|x| digits(x, 9))
    };
    if ok {
        return Ok(());
    }
    Err(input(format!(
        "--time: {t:?} is not a Slurm time limit; give minutes, MM:SS, HH:MM:SS, D-HH, \
         D-HH:MM or D-HH:MM:SS, e.g. --time 01:00:00"
    )))
}

/// `--mem`: a whole number with an optional unit, `K`, `M` (the default), `G`
/// or `T` (sbatch(1), `--mem`).
fn check_mem(m: &str) -> anyhow::Result<()> {
    let number = m
        .strip_suffix(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't'])
        .unwrap_or(m);
    if digits(number, 18) {
        return Ok(());
    }
    Err(input(format!(
        "--mem: {m:?} is not a Slurm memory size; give a whole number with an optional unit \
         K, M, G or T (megabytes by default), e.g. --mem 4G"
    )))
}

/// A path written into the script, as text: refused when it is not UTF-8 (its
/// display would name another file) or holds a control character (a newline
/// would end the comment or `#SBATCH` line it is written into).
fn script_path(p: &Path, what: &str, fix: &str) -> anyhow::Result<String> {
    match p.to_str() {
        Some(s) if !s.chars().any(char::is_control) => Ok(s.to_string()),
        Some(s) => Err(input(format!(
            "{what}: the path {s:?} holds a control character (a newline, tab, ...) that \
             cannot be written into a job script; {fix}"
        ))),
        None => Err(input(format!(
            "{what}: the path {:?} is not valid UTF-8 and cannot be written into a job script; {fix}",
            p.display().to_string()
        ))),
    }
}

/// `s` as one argument of an `#SBATCH` line: as is when it holds only
/// characters sbatch reads literally, else in double quotes with `\` and `"`
/// escaped (sbatch's `#SBATCH` parser groups quoted text and honours
/// backslashes; an unquoted `#` would start a comment).
fn sbatch_arg(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:=@%".contains(c))
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// `s` with `%` doubled, so that Slurm does not read it as a filename pattern.
fn no_pattern(s: &str) -> String {
    s.replace('%', "%%")
}

/// Slurm's job names: letters, digits, `-`, `_` and `.`.
fn job_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn run(a: &SlurmScriptArgs) -> anyhow::Result<ExitCode> {
    if a.tasks == 0 {
        return Err(input("--tasks: give at least 1 array task"));
    }
    if a.cpus_per_task == 0 {
        return Err(input("--cpus-per-task: give at least 1"));
    }
    // Every value written into the script is checked first: a newline in one
    // would end its comment or `#SBATCH` line and run the rest as a command.
    if let Some(p) = &a.partition {
        check_partition(p)?;
    }
    if let Some(t) = &a.time {
        check_time(t)?;
    }
    if let Some(m) = &a.mem {
        check_mem(m)?;
    }
    // Validate now, not on the cluster.
    let (sweep, _) = load(&a.sweep, None)?;
    // The name is written into the script's comments: the sweep refuses a
    // `name` with a control character (`scenario::name_problem`), and a name
    // taken from the file's stem is checked with the file's path below.
    if a.tasks > sweep.units() {
        return Err(input(format!(
            "--tasks: {} tasks for {} units leaves some tasks without work; use --tasks {} or fewer",
            a.tasks,
            sweep.units(),
            sweep.units()
        )));
    }
    let sweep_path = absolute(&a.sweep)?;
    let sweep_text = script_path(
        &sweep_path,
        // Escaped: the error stays on one line.
        &a.sweep.display().to_string().escape_debug().to_string(),
        "rename the sweep file",
    )?;
    let out = absolute(&out_dir(a.out.as_deref(), &sweep))?;
    let out_fix = if a.out.is_some() {
        "give another --out directory"
    } else {
        "give an --out directory"
    };
    let out_text = script_path(&out, "--out", out_fix)?;
    let wormsim = match &a.wormsim {
        Some(p) => absolute(p)?,
        None => std::env::current_exe().context("cannot find this wormsim binary")?,
    };
    let wormsim_text = script_path(
        &wormsim,
        "--wormsim",
        "give the path of the wormsim binary with --wormsim",
    )?;
    let formats: Vec<&str> = dedup(&a.format).into_iter().map(extension).collect();
    let formats = formats.join(",");
    let name = job_name(&format!("wormsim-{}", sweep.name));
    let logs = out.join("slurm");
    let logs_text = script_path(&logs, "--out", out_fix)?;
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;

    let mut extra = String::new();
    let mut merge_extra = String::new();
    if let Some(p) = &a.partition {
        extra.push_str(&format!("#SBATCH --partition={p}\n"));
        merge_extra.push_str(&format!(" --partition={}", shell_quote(p)));
    }
    if let Some(t) = &a.time {
        extra.push_str(&format!("#SBATCH --time={t}\n"));
        merge_extra.push_str(&format!(" --time={}", shell_quote(t)));
    }
    if let Some(m) = &a.mem {
        extra.push_str(&format!("#SBATCH --mem={m}\n"));
        merge_extra.push_str(&format!(" --mem={}", shell_quote(m)));
    }
    let merge_cmd = format!(
        "{} merge {} --format {formats}",
        shell_quote(&wormsim_text),
        shell_quote(&out_text)
    );
    let merge_output = shell_quote(&format!("{}/%x-%j.out", no_pattern(&logs_text)));
    let script = format!(
        r#"#!/usr/bin/env bash
# Slurm job array for the wormsim sweep `{sweep_name}`: {units} work units
# ({points} points x {replicates} replicates) in {tasks} shards.
# Written by `wormsim slurm-script`; edit the #SBATCH lines to suit the cluster.
#
#   bash THIS_FILE     submits the array, and a merge job that runs once every
#                      task has succeeded (sbatch --dependency=afterok)
#   sbatch THIS_FILE   submits the array only; merge later with:
#                      {merge_cmd}
#
# Array task K runs the units whose id mod {tasks} = K (wormsim reads K and N from
# SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT) and skips units already written
# (--resume). If a task fails, the merge job stays pending: resubmit that task
# (sbatch --array=K THIS_FILE), then run the merge command above and scancel the
# pending merge job. Logs: {logs}/
#SBATCH --job-name={name}
#SBATCH --array=0-{last}
#SBATCH --cpus-per-task={cpus}
#SBATCH --output={array_output}
{extra}set -euo pipefail
WORMSIM={wormsim}
SWEEP={sweep_path}
OUT={out}

if [ -z "${{SLURM_ARRAY_TASK_ID:-}}" ]; then
    mkdir -p "$OUT/slurm"
    array=$(sbatch --parsable "$0")
    array=${{array%%;*}}
    merge=$(sbatch --parsable --dependency=afterok:"$array" --job-name={name}-merge \
        --output={merge_output}{merge_extra} \
        --wrap={merge_wrap})
    echo "submitted array job $array ({tasks} tasks) and merge job ${{merge%%;*}}"
    exit 0
fi

exec "$WORMSIM" sweep "$SWEEP" --out "$OUT" --resume --quiet \
    --threads "${{SLURM_CPUS_PER_TASK:-{cpus}}}" --format {formats}
"#,
        sweep_name = sweep.name,
        units = sweep.units(),
        points = sweep.points(),
        replicates = sweep.replicates,
        tasks = a.tasks,
        last = a.tasks - 1,
        cpus = a.cpus_per_task,
        logs = logs_text,
        array_output = sbatch_arg(&format!("{}/%x-%A_%a.out", no_pattern(&logs_text))),
        wormsim = shell_quote(&wormsim_text),
        sweep_path = shell_quote(&sweep_text),
        out = shell_quote(&out_text),
        merge_wrap = shell_quote(&merge_cmd),
    );
    match &a.output {
        Some(path) => {
            write_atomic(path, script.as_bytes())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                    .with_context(|| format!("cannot make {} executable", path.display()))?;
            }
            eprintln!(
                "wrote {}: submit with `bash {}` (array of {} tasks, then merge)",
                path.display(),
                path.display(),
                a.tasks
            );
        }
        None => std::io::stdout().lock().write_all(script.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(job_name("wormsim-a b/c"), "wormsim-a_b_c");
        assert_eq!(sbatch_arg("/a/b-1/%x.out"), "/a/b-1/%x.out");
        assert_eq!(sbatch_arg("/a b/\"c\\#"), "\"/a b/\\\"c\\\\#\"");
        assert_eq!(no_pattern("/a%b/%x"), "/a%%b/%%x");
    }

    #[test]
    fn slurm_values() {
        for t in [
            "5",
            "05:30",
            "1:00:00",
            "2-0",
            "2-03:00",
            "2-03:00:00",
            "Infinite",
        ] {
            assert!(check_time(t).is_ok(), "{t}");
        }
        for t in ["", "1h", "1:2:3:4", "-1", "1-", "1-2-3", "1:", ":1", "1\n"] {
            assert!(check_time(t).is_err(), "{t:?}");
        }
        for m in ["0", "4096", "4G", "2t", "512K"] {
            assert!(check_mem(m).is_ok(), "{m}");
        }
        for m in ["", "G", "4GB", "4.5G", "4 G", "4G\n"] {
            assert!(check_mem(m).is_err(), "{m:?}");
        }
        for p in ["batch", "gpu-a100,long_q.x"] {
            assert!(check_partition(p).is_ok(), "{p}");
        }
        for p in ["", "a,", "a b", "a;b", "a\nb", "a/b"] {
            assert!(check_partition(p).is_err(), "{p:?}");
        }
    }
}
