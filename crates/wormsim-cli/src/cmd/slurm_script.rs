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
    // Validate now, not on the cluster.
    let (sweep, _) = load(&a.sweep, None)?;
    if a.tasks > sweep.units() {
        return Err(input(format!(
            "--tasks: {} tasks for {} units leaves some tasks without work; use --tasks {} or fewer",
            a.tasks,
            sweep.units(),
            sweep.units()
        )));
    }
    let sweep_path = absolute(&a.sweep)?;
    let out = absolute(&out_dir(a.out.as_deref(), &sweep))?;
    let wormsim = match &a.wormsim {
        Some(p) => absolute(p)?,
        None => std::env::current_exe().context("cannot find this wormsim binary")?,
    };
    let formats: Vec<&str> = dedup(&a.format).into_iter().map(extension).collect();
    let formats = formats.join(",");
    let name = job_name(&format!("wormsim-{}", sweep.name));
    let logs = out.join("slurm");
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
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let merge_cmd = format!("{} merge {} --format {formats}", q(&wormsim), q(&out));
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
#SBATCH --output={logs}/%x-%A_%a.out
{extra}set -euo pipefail
WORMSIM={wormsim}
SWEEP={sweep_path}
OUT={out}

if [ -z "${{SLURM_ARRAY_TASK_ID:-}}" ]; then
    mkdir -p "$OUT/slurm"
    array=$(sbatch --parsable "$0")
    array=${{array%%;*}}
    merge=$(sbatch --parsable --dependency=afterok:"$array" --job-name={name}-merge \
        --output="$OUT/slurm/%x-%j.out"{merge_extra} \
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
        logs = logs.display(),
        wormsim = q(&wormsim),
        sweep_path = q(&sweep_path),
        out = q(&out),
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
    }
}
