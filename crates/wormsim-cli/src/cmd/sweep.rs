//! `wormsim sweep`

use super::ensemble::default_threads;
use crate::args::SweepArgs;
use crate::error::input;
use crate::{preflight, progress, units};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wormsim::engine::{EngineChoice, Keep, SetupError, Simulation};
use wormsim::ensemble::{Record, memory, run_replicate, runner};
use wormsim::scenario::Scenario;
use wormsim::sweep::{Shard, Sweep};

/// Where the shard came from.
#[derive(Debug, PartialEq, Eq)]
pub enum ShardSource {
    Flag,
    Slurm,
    Kubernetes,
    None,
}

/// The shard to run: `--shard K/N`; else `SLURM_ARRAY_TASK_ID` (less
/// `SLURM_ARRAY_TASK_MIN`) of `SLURM_ARRAY_TASK_COUNT`; else `JOB_COMPLETION_INDEX`
/// of `--shards N`; else every unit.
pub fn resolve_shard(
    flag: Option<&str>,
    shards: Option<u64>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Shard, ShardSource), String> {
    if let Some(s) = flag {
        return Shard::parse(s)
            .map(|s| (s, ShardSource::Flag))
            .map_err(|e| format!("--shard: {e}"));
    }
    let num = |name: &str| -> Result<Option<u64>, String> {
        env(name)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{name}={v} is not a whole number"))
            })
            .transpose()
    };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let count = num("SLURM_ARRAY_TASK_COUNT")?.ok_or(
            "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard K/N",
        )?;
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let count = shards.unwrap_or(count);
        let k = id
            .checked_sub(min)
            .ok_or("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?;
        return Shard::new(k, count)
            .map(|s| (s, ShardSource::Slurm))
            .map_err(|e| {
                format!("Slurm array task {id} (min {min}, count {count}): {e}; submit the array as --array=0-{}", count.saturating_sub(1))
            });
    }
    if let Some(k) = num("JOB_COMPLETION_INDEX")? {
        let n = shards.ok_or(
            "JOB_COMPLETION_INDEX is set but the shard count is not; pass --shards N (the Job's completions)",
        )?;
        return Shard::new(k, n)
            .map(|s| (s, ShardSource::Kubernetes))
            .map_err(|e| format!("JOB_COMPLETION_INDEX={k} with --shards {n}: {e}"));
    }
    if shards.is_some() {
        return Err("--shards needs JOB_COMPLETION_INDEX or a Slurm array task; to pick a shard by hand use --shard K/N".into());
    }
    Ok((Shard::ALL, ShardSource::None))
}

pub fn out_dir(out: Option<&Path>, sweep: &Sweep) -> PathBuf {
    out.map_or_else(|| PathBuf::from("out").join(&sweep.name), Path::to_path_buf)
}

/// Load a sweep file and validate every point.
pub fn load(path: &Path, seed: Option<u64>) -> anyhow::Result<(Sweep, Scenario)> {
    let mut sweep = Sweep::from_path(path).map_err(|e| input(e.to_string()))?;
    if let Some(s) = seed {
        sweep.seed = s;
    }
    // The point whose run needs the most memory sizes the preflight.
    let mut largest: Option<(u64, Scenario)> = None;
    let replicates = sweep.replicates;
    sweep
        .validate_points(|_, s| {
            let need =
                memory::per_run(s, EngineChoice::Auto) + 2 * replicates * memory::series_bytes(s);
            if largest.as_ref().is_none_or(|(n, _)| need > *n) {
                largest = Some((need, s.clone()));
            }
        })
        .map_err(|e| input(e.to_string()))?;
    Ok((sweep, largest.expect("a sweep has at least one point").1))
}

/// A point the engines refuse, named by the sweep file and its values.
fn point_error(sweep: &Sweep, point: u64, e: SetupError) -> anyhow::Error {
    input(format!(
        "{}: point {point} ({}): {:#}",
        sweep.source_name,
        sweep.describe_point(point),
        anyhow::Error::new(e)
    ))
}

/// Set up, without running, the first unit to run of every point in `todo`
/// (unit ids, ascending), before anything is written. Validation checks each
/// point's keys, but some refusals come only from the engines' setup (scan
/// rates that sum beyond exact integers, seeds that are not hosts); found only
/// when a unit ran, they left a manifest behind, and the corrected sweep was
/// then refused as "a different sweep" (found by the black-box campaign).
/// Costs one setup per point, less than a tenth of running the point once.
pub fn set_up_points(sweep: &Sweep, todo: &[u64]) -> anyhow::Result<()> {
    let mut last = None;
    for &id in todo {
        let (point, replicate) = sweep.unit(id);
        if last == Some(point) {
            continue;
        }
        last = Some(point);
        let scenario = sweep.scenario(point).map_err(|e| input(e.to_string()))?;
        Simulation::with_keep(
            &scenario,
            sweep.seed,
            replicate,
            EngineChoice::Auto,
            Keep::Outputs,
        )
        .map_err(|e| point_error(sweep, point, e))?;
    }
    Ok(())
}

/// This shard's units already in `dir` that can be read as the units they are
/// named for. With `--resume`, each is read as `wormsim merge` would read it;
/// a damaged one (cut, edited, or from another sweep layout) is named on
/// stderr and run again, its file replaced atomically.
fn usable_units(
    dir: &Path,
    sweep: &Sweep,
    shard: Shard,
    resume: bool,
) -> anyhow::Result<BTreeSet<u64>> {
    let total = sweep.units();
    let all = units::list(dir)?;
    // Refused here, not only by the merge at the end, so that nothing is
    // written first.
    let stray: Vec<String> = all
        .range(total..)
        .map(|(_, p)| p.display().to_string())
        .collect();
    if !stray.is_empty() {
        return Err(units::beyond_the_sweep(total, &stray));
    }
    let found: Vec<(u64, PathBuf)> = all
        .into_iter()
        .filter(|&(id, _)| shard.contains(id))
        .collect();
    if !found.is_empty() && !resume {
        return Err(input(format!(
            "{} already holds {} of this shard's {} units; pass --resume to skip them and run the rest, \
             or use another --out directory",
            dir.display(),
            found.len(),
            shard.units_of(total)
        )));
    }
    let m = units::Manifest::of(dir, sweep);
    let mut ok = BTreeSet::new();
    for (id, path) in found {
        match units::check(&path, id, &m) {
            Ok(()) => {
                ok.insert(id);
            }
            Err(why) => eprintln!(
                "warning: {}: {why}; --resume runs unit {id} again",
                path.display()
            ),
        }
    }
    Ok(ok)
}

pub fn run(a: &SweepArgs) -> anyhow::Result<ExitCode> {
    let (sweep, largest) = load(&a.sweep, a.seed)?;
    let (shard, source) =
        resolve_shard(a.shard.as_deref(), a.shards, |k| std::env::var(k).ok()).map_err(input)?;
    if a.threads == Some(0) {
        return Err(input("--threads: give at least 1"));
    }
    let threads = a.threads.unwrap_or_else(default_threads);
    let dir = out_dir(a.out.as_deref(), &sweep);
    let total = sweep.units();
    let ours = shard.units_of(total);
    preflight::check(
        &memory::sweep(
            &largest,
            ours,
            sweep.replicates,
            threads as u64,
            EngineChoice::Auto,
        ),
        a.max_memory.as_deref(),
        preflight::FIX_MANY,
    )?;

    // Nothing is written until every check has passed.
    units::check_dir(&dir, &sweep)?;
    let done = usable_units(&dir, &sweep, shard, a.resume)?;
    let todo: Vec<u64> = (shard.index..total)
        .step_by(shard.count as usize)
        .filter(|id| !done.contains(id))
        .collect();
    set_up_points(&sweep, &todo)?;
    units::prepare(&dir, &sweep)?;
    if !a.quiet {
        let from = match source {
            ShardSource::Flag => " (--shard)",
            ShardSource::Slurm => " (from the Slurm array task)",
            ShardSource::Kubernetes => " (from JOB_COMPLETION_INDEX)",
            ShardSource::None => "",
        };
        eprintln!(
            "sweep {}: {} points × {} replicates = {total} units; shard {shard}{from}: {ours} units, {} done, {} to run on {threads} thread{}",
            sweep.name,
            sweep.points(),
            sweep.replicates,
            ours - todo.len() as u64,
            todo.len(),
            if threads == 1 { "" } else { "s" }
        );
    }

    let pb = progress::bar(todo.len() as u64, a.quiet, "units");
    let mut written = 0u64;
    runner::run_indexed(
        todo.len(),
        threads,
        |i| -> anyhow::Result<Vec<u8>> {
            let id = todo[i];
            let (point, replicate) = sweep.unit(id);
            let scenario = sweep.scenario(point).map_err(|e| input(e.to_string()))?;
            let run = run_replicate(&scenario, sweep.seed, replicate, EngineChoice::Auto)
                .map_err(|e| point_error(&sweep, point, e))?;
            Ok(units::encode(
                &sweep,
                id,
                scenario.start.secs(),
                &Record::from_run(&run),
            ))
        },
        |i, bytes| {
            units::write(&dir, todo[i], &bytes)?;
            written += 1;
            pb.inc(1);
            if a.abort_after == Some(written) {
                // Test hook: die as abruptly as a SIGKILL would (no cleanup).
                std::process::abort();
            }
            Ok(())
        },
    )?;
    pb.finish_and_clear();

    if shard == Shard::ALL {
        super::merge::merge(std::slice::from_ref(&dir), &dir, &a.format, a.quiet)?;
    } else if !a.quiet {
        eprintln!(
            "shard {shard} done: {written} units written to {}; when every shard is done: wormsim merge {}",
            dir.display(),
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn shard_sources() {
        let s = |i, n| Shard::new(i, n).unwrap();
        assert_eq!(
            resolve_shard(Some("1/3"), None, env(&[])),
            Ok((s(1, 3), ShardSource::Flag))
        );
        assert_eq!(
            resolve_shard(None, None, env(&[])),
            Ok((Shard::ALL, ShardSource::None))
        );
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "2"),
        ]);
        assert_eq!(
            resolve_shard(None, None, slurm),
            Ok((s(3, 4), ShardSource::Slurm))
        );
        // The flag wins over the environment.
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            resolve_shard(Some("0/1"), None, slurm),
            Ok((Shard::ALL, ShardSource::Flag))
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(
            resolve_shard(None, Some(5), &k8s),
            Ok((s(2, 5), ShardSource::Kubernetes))
        );
        assert!(
            resolve_shard(None, None, &k8s)
                .unwrap_err()
                .contains("--shards N")
        );
        assert!(
            resolve_shard(None, Some(2), &k8s)
                .unwrap_err()
                .contains("numbered 0 to 1")
        );
        assert!(resolve_shard(None, Some(2), env(&[])).is_err());
        let bad = env(&[
            ("SLURM_ARRAY_TASK_ID", "x"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert!(resolve_shard(None, None, bad).is_err());
    }
}
