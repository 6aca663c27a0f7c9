//! `wormsim merge`: combine the units of a sweep's shards into its tables.

use crate::args::{MergeArgs, TableFormat};
use crate::error::input;
use crate::outputs::Outputs;
use crate::units::{self, Manifest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wormsim::ensemble::table::{Cell, Kind, Table};
use wormsim::ensemble::{RunSeries, quantile_schema, quantile_table, summary_schema};
use wormsim::time::SimTime;

pub fn run(a: &MergeArgs) -> anyhow::Result<ExitCode> {
    let out = a.out.clone().unwrap_or_else(|| a.dirs[0].clone());
    merge(&a.dirs, &out, &a.format, a.quiet)?;
    Ok(ExitCode::SUCCESS)
}

/// How many ids to list in a message before "and N more".
const LIST: usize = 20;

fn list_units(ids: &[u64], m: &Manifest) -> String {
    let mut s: Vec<String> = ids
        .iter()
        .take(LIST)
        .map(|&id| {
            format!(
                "{id} (point {}, replicate {})",
                id / m.replicates,
                id % m.replicates
            )
        })
        .collect();
    if ids.len() > LIST {
        s.push(format!("and {} more", ids.len() - LIST));
    }
    s.join(", ")
}

fn join_paths(paths: &[&Path]) -> String {
    let mut s: Vec<String> = paths
        .iter()
        .take(LIST)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > LIST {
        s.push(format!("and {} more", paths.len() - LIST));
    }
    s.join(", ")
}

/// Check that the replicates of point `p` (`series[r]` read from `paths[r]`)
/// share their row times, as runs of one scenario do. The error names the unit
/// files whose times differ from those a strict majority of the replicates
/// share, or, without such a majority, every file of the point.
fn check_times(p: u64, series: &[RunSeries], paths: &[&Path]) -> anyhow::Result<()> {
    let times: Vec<&Vec<f64>> = series.iter().map(|s| &s.time).collect();
    check_same(p, &times, paths, "series row times")
}

/// The replicates of point `p` must agree on `values` (one per replicate, from
/// the unit files `paths`); if not, the error names the files that differ from
/// the majority, or every file of the point when there is none (an edited
/// unit without a checksum must not get an intact one blamed).
fn check_same<T: PartialEq>(
    p: u64,
    values: &[T],
    paths: &[&Path],
    what: &str,
) -> anyhow::Result<()> {
    let Some(first) = values.first() else {
        return Ok(());
    };
    if values.iter().all(|v| v == first) {
        return Ok(());
    }
    let count = |t: &T| values.iter().filter(|v| *v == t).count();
    let majority = values.iter().find(|t| 2 * count(t) > values.len());
    Err(input(match majority {
        Some(t) => {
            let odd: Vec<&Path> = values
                .iter()
                .zip(paths)
                .filter(|(v, _)| *v != t)
                .map(|(_, p)| *p)
                .collect();
            let one = odd.len() == 1;
            format!(
                "{}: {} {what} differ from those of the other replicates of point {p}; \
                 {} damaged: delete {} and rerun {} shard{} with --resume",
                join_paths(&odd),
                if one { "its" } else { "their" },
                if one { "the file is" } else { "the files are" },
                if one { "it" } else { "them" },
                if one { "its" } else { "their" },
                if one { "" } else { "s" },
            )
        }
        None => format!(
            "{}: the replicates of point {p} have different {what}; some of these \
             unit files are damaged: delete them and rerun their shards with --resume",
            join_paths(paths)
        ),
    }))
}

/// Merge the units in `dirs` into `out`/{summaries,quantiles}.<format>.
///
/// Every unit of the sweep must be present exactly once across `dirs`; otherwise
/// nothing is written and the error names the missing or duplicated units.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    formats: &[TableFormat],
    quiet: bool,
) -> anyhow::Result<()> {
    let manifests: Vec<Manifest> = dirs
        .iter()
        .map(|d| units::read_manifest(d))
        .collect::<anyhow::Result<_>>()?;
    let m = &manifests[0];
    for other in &manifests[1..] {
        if other.identity != m.identity {
            return Err(input(format!(
                "{} and {} hold different sweeps (their `{}` differs); merge only the shards of one sweep",
                m.dir.display(),
                other.dir.display(),
                units::first_difference(&m.identity, &other.identity)
            )));
        }
    }

    // Every unit exactly once.
    let mut found: BTreeMap<u64, PathBuf> = BTreeMap::new();
    let mut duplicates = Vec::new();
    let mut stray = Vec::new();
    for d in dirs {
        for (id, path) in units::list(d)? {
            if id >= m.units {
                stray.push(path.display().to_string());
            } else if let Some(first) = found.get(&id) {
                duplicates.push(format!(
                    "unit {id} is in both {} and {}",
                    first.display(),
                    path.display()
                ));
            } else {
                found.insert(id, path);
            }
        }
    }
    if !stray.is_empty() {
        return Err(units::beyond_the_sweep(m.units, &stray));
    }
    if !duplicates.is_empty() {
        let n = duplicates.len();
        duplicates.truncate(LIST);
        return Err(input(format!(
            "{n} unit{} present more than once: {}; merge each directory once, or remove the copies",
            if n == 1 { " is" } else { "s are" },
            duplicates.join("; ")
        )));
    }
    let missing: Vec<u64> = (0..m.units).filter(|id| !found.contains_key(id)).collect();
    if !missing.is_empty() {
        return Err(input(format!(
            "{} of {} units are missing: {}; run the shards that hold them (unit id mod N = K) with --resume, then merge again",
            missing.len(),
            m.units,
            list_units(&missing, m)
        )));
    }

    // Stream point by point: one point's series in memory at a time.
    let param_schema: Vec<(&str, Kind)> = m.params.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    let mut sum_prefix = vec![
        ("unit", Kind::Int),
        ("point", Kind::Int),
        ("replicate", Kind::Int),
    ];
    sum_prefix.extend(param_schema.iter().copied());
    let mut q_prefix = vec![("point", Kind::Int)];
    q_prefix.extend(param_schema.iter().copied());
    let sum_schema = summary_schema(&sum_prefix);

    let mut outs = Outputs::new(out)?;
    let mut sum_out = outs.table("summaries", formats, &sum_schema)?;
    let mut q_out = outs.table("quantiles", formats, &quantile_schema(&q_prefix))?;
    for p in 0..m.points {
        let mut chunk = Table::with_schema(sum_schema.iter().copied());
        let mut series: Vec<RunSeries> = Vec::with_capacity(m.replicates as usize);
        let mut heads: Vec<(f64, Vec<Cell>)> = Vec::with_capacity(m.replicates as usize);
        for r in 0..m.replicates {
            let id = p * m.replicates + r;
            let u = units::read(&found[&id], id, m)?;
            heads.push((u.start, u.params.clone()));
            let mut row = vec![
                Cell::Int(Some(id as i64)),
                Cell::Int(Some(p as i64)),
                Cell::Int(Some(r as i64)),
            ];
            row.extend(u.params.iter().cloned());
            row.extend(u.record.summary.iter().cloned());
            chunk.push_row(row);
            series.push(u.record.series);
        }
        let paths: Vec<&Path> = (0..m.replicates)
            .map(|r| found[&(p * m.replicates + r)].as_path())
            .collect();
        check_same(p, &heads, &paths, "start times and point parameters")?;
        check_times(p, &series, &paths)?;
        sum_out.write(&chunk)?;
        let (start, params) = heads.swap_remove(0);
        let mut prefix: Vec<(&str, Cell)> = vec![("point", Cell::Int(Some(p as i64)))];
        prefix.extend(param_schema.iter().map(|(n, _)| *n).zip(params));
        let refs: Vec<&RunSeries> = series.iter().collect();
        let q = quantile_table(&refs, SimTime(start), &prefix).map_err(|e| {
            input(format!(
                "point {p} (unit files {}): {e}; delete the damaged unit file and rerun its shard with --resume",
                join_paths(&paths)
            ))
        })?;
        q_out.write(&q)?;
    }
    let mut names = sum_out.names.clone();
    names.extend(q_out.names.iter().cloned());
    sum_out.finish()?;
    q_out.finish()?;
    outs.commit()?;
    if !quiet {
        eprintln!(
            "merged sweep {}: {} units ({} points × {} replicates) from {} director{} into {}/{{{}}}",
            m.name,
            m.units,
            m.points,
            m.replicates,
            dirs.len(),
            if dirs.len() == 1 { "y" } else { "ies" },
            out.display(),
            names.join(", ")
        );
    }
    Ok(())
}
