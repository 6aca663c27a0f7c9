//! Memory preflight: an estimate, made before a run, of the memory it needs.
//!
//! # Formula
//! ```text
//! total = base + threads · in_flight + outputs
//! in_flight = hosts · PER_HOST + reference + series + grid
//! ```
//! - `PER_HOST` [bytes/host] covers one engine instance at its peak: the population
//!   and scan rates, the 28- or 32-byte host records, first-infection time and infector
//!   (and, for `--save-checkpoint`, the start of the current infection),
//!   the index sets of the general engine, the per-host clock heap
//!   (calendar phases, wake lags, lifetimes), the pre-drawn patch queue, the flood
//!   meter's per-host state and the copies made when the run is summarised.
//!   Measured (`bench/RESULTS.md`): the peak RSS of `wormsim run
//!   codered-v2-2001-07-19` (360,000 hosts) was 76.2 MB on 2026-11-26, of which
//!   5.9 MB is the bare process (`wormsim presets`), i.e. ~195 bytes/host. Since
//!   the binaries back large blocks with huge pages ([`crate::alloc`]), a run in
//!   flight in an ensemble holds more: 232 bytes/host on 2 threads and 243 on 1
//!   (`bench/ensemble.sh`, 2026-11-27 06:18 UTC), and 259 on 2 threads in a
//!   later run (08:30 UTC: 368 MiB against an estimate of 366.3 MiB).
//!   `PER_HOST` rounds that up to 272.
//! - `reference`: the per-probe engine's address-space map, `4 · 2^space_bits`.
//! - `series` = bins · (1 + variables) · 8 bytes, the run's series while kept.
//! - `grid` = bins · [`GRID_PER_BIN`]: the pooled re-infections' integrals logged at
//!   every bin, and the clocks searched over them (`engine::general::pool`).
//! - `outputs`: what the command keeps until it writes (all replicates' series for
//!   an ensemble, one point's for a sweep merge) plus the rendered tables.
//!
//! Every sum and product saturates at `u64::MAX`, so an absurd request (`--runs
//! 18446744073709551615`) is refused by the preflight instead of wrapping to a
//! small estimate that passes. It is an estimate, deliberately on the high side; the benchmark in
//! `bench/RESULTS.md` compares it with the measured peak.

use super::columns::{SERIES_VARIABLES, SUMMARY_COLUMNS};
use crate::engine::EngineChoice;
use crate::population::{Population, PopulationSpec};
use crate::rng::Rng;
use crate::scenario::Scenario;
use rand::SeedableRng;

/// Engine memory per host at its peak [bytes/host] (see the module docs).
pub const PER_HOST: u64 = 272;
/// One `wormsim run` at its peak, per host [bytes/host]: 158 measured
/// (`/usr/bin/time -f %M`, `wormsim run codered-v2-2001-07-19`, 63.5 MB peak
/// RSS less the 6.6 MB of `wormsim presets`, 360,000 hosts, 2026-11-27),
/// rounded up to allow for other scenarios' per-host state.
pub const RUN_PER_HOST: u64 = 208;
/// What `--hosts` adds per host [bytes/host]: the records handed over and the
/// rendered `hosts.csv` (about 65 bytes a row). 90 measured (95.9 MB peak RSS
/// with `--hosts`, same run and date), rounded up.
pub const HOSTS_TABLE_PER_HOST: u64 = 112;
/// The pooled re-infections' log per output bin [bytes/bin]: the integrals `A` and
/// `B` (16 bytes), and for each of up to 4 weights a clock (8 bytes) and its
/// index (two 4-byte buckets per point). Checked 2026-11-29: the CRv2 preset run
/// for ten days at 1 s bins (777,602 bins) peaked at 265 MiB of RSS, against an
/// estimate of 559.5 MiB without this term and 622.7 MiB with it.
pub const GRID_PER_BIN: u64 = 16 + 4 * (8 + 8);
/// Fixed process overhead: binary, allocator, thread stacks [bytes].
pub const BASE: u64 = 8 << 20;

/// The parts of an estimate [bytes].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// One replicate in flight: population, engine, its series.
    pub per_run: u64,
    /// Runs in flight at once (threads).
    pub threads: u64,
    /// Results kept until written, and the rendered outputs.
    pub outputs: u64,
}

impl MemoryEstimate {
    /// Total [bytes].
    pub fn total(&self) -> u64 {
        BASE.saturating_add(self.per_run.saturating_mul(self.threads))
            .saturating_add(self.outputs)
    }
}

/// Number of hosts a scenario builds (a file population is parsed to count).
pub fn hosts(s: &Scenario) -> u64 {
    match &s.population {
        PopulationSpec::Uniform { hosts } | PopulationSpec::Clustered { hosts, .. } => {
            u64::from(*hosts)
        }
        PopulationSpec::Checkpoint => s.checkpoint.as_ref().map_or(0, |c| c.hosts.len() as u64),
        PopulationSpec::File { .. } => {
            Population::build(&s.population, s.space_bits, &mut Rng::seed_from_u64(0))
                .map_or(0, |p| p.len() as u64)
        }
    }
}

/// Rows of a scenario's time series.
pub fn bins(s: &Scenario) -> u64 {
    ((s.duration() / s.output.bin).floor() as u64).saturating_add(2)
}

/// Bytes of one run's series, as kept for quantiles.
pub fn series_bytes(s: &Scenario) -> u64 {
    bins(s).saturating_mul((1 + SERIES_VARIABLES.len() as u64) * 8)
}

/// Bytes of one run's summary row, as kept, plus its rendered text.
pub fn summary_bytes() -> u64 {
    SUMMARY_COLUMNS.len() as u64 * 48 + 64
}

/// The per-probe engine's address-space map, if `choice` is that engine [bytes].
fn reference_bytes(s: &Scenario, choice: EngineChoice) -> u64 {
    if choice == EngineChoice::Reference {
        4u64.checked_shl(u32::from(s.space_bits))
            .unwrap_or(u64::MAX)
    } else {
        0
    }
}

/// The pooled re-infections' grid of one run [bytes].
fn grid_bytes(s: &Scenario) -> u64 {
    bins(s).saturating_mul(GRID_PER_BIN)
}

/// One replicate in flight [bytes].
pub fn per_run(s: &Scenario, choice: EngineChoice) -> u64 {
    hosts(s)
        .saturating_mul(PER_HOST)
        .saturating_add(reference_bytes(s, choice))
        .saturating_add(series_bytes(s).saturating_mul(2))
        .saturating_add(grid_bytes(s))
}

/// Bytes of the quantile table of one point, rendered (about 160 bytes a row).
pub fn quantile_table_bytes(s: &Scenario) -> u64 {
    bins(s).saturating_mul(SERIES_VARIABLES.len() as u64 * 160)
}

/// An ensemble of `runs` replicates on `threads` threads: every run's series and
/// summary is kept until the quantiles are computed.
pub fn ensemble(s: &Scenario, runs: u64, threads: u64, choice: EngineChoice) -> MemoryEstimate {
    MemoryEstimate {
        per_run: per_run(s, choice),
        threads: threads.min(runs).max(1),
        outputs: runs
            .saturating_mul(series_bytes(s).saturating_add(summary_bytes()))
            .saturating_add(quantile_table_bytes(s).saturating_mul(2)),
    }
}

/// One run (`wormsim run`): the engine and its series, plus the per-host table
/// when `hosts_table` (`--hosts`).
pub fn single(s: &Scenario, choice: EngineChoice, hosts_table: bool) -> MemoryEstimate {
    let n = hosts(s);
    MemoryEstimate {
        per_run: n
            .saturating_mul(RUN_PER_HOST)
            .saturating_add(reference_bytes(s, choice))
            .saturating_add(series_bytes(s).saturating_mul(2))
            .saturating_add(grid_bytes(s)),
        threads: 1,
        outputs: if hosts_table {
            n.saturating_mul(HOSTS_TABLE_PER_HOST)
        } else {
            0
        }
        .saturating_add(series_bytes(s).saturating_mul(2)),
    }
}

/// A sweep process: `threads` runs in flight of the largest point, and a merge that
/// keeps one point's `replicates` series and every unit's summary row.
pub fn sweep(
    largest: &Scenario,
    units: u64,
    replicates: u64,
    threads: u64,
    choice: EngineChoice,
) -> MemoryEstimate {
    MemoryEstimate {
        per_run: per_run(largest, choice),
        threads: threads.min(units).max(1),
        outputs: replicates
            .saturating_mul(series_bytes(largest).saturating_mul(2))
            .saturating_add(units.saturating_mul(summary_bytes()))
            .saturating_add(quantile_table_bytes(largest).saturating_mul(2)),
    }
}

/// Bytes in a human unit: `1.5 GiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = bytes as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < UNITS.len() {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{x:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_with_runs_threads_and_hosts() {
        let s = crate::preset::load("codered-v2-2001-07-19").unwrap();
        let a = ensemble(&s, 10, 1, EngineChoice::Auto);
        let b = ensemble(&s, 1000, 1, EngineChoice::Auto);
        let c = ensemble(&s, 1000, 2, EngineChoice::Auto);
        assert!(a.total() < b.total() && b.total() < c.total());
        assert_eq!(hosts(&s), 360_000);
        // One CRv2 run: tens of MB, not GB.
        assert!(
            a.per_run > 20 << 20 && a.per_run < 100 << 20,
            "{}",
            human(a.per_run)
        );
        // One `wormsim run` holds less than a run in flight in an ensemble;
        // `--hosts` adds the per-host table.
        let r = single(&s, EngineChoice::Auto, false);
        let rh = single(&s, EngineChoice::Auto, true);
        assert!(r.total() < BASE + a.per_run, "{}", human(r.total()));
        assert_eq!(rh.total() - r.total(), 360_000 * HOSTS_TABLE_PER_HOST);
        // Each bin adds its series (kept twice) and the pooled re-infections'
        // grid.
        let mut fine = s.clone();
        fine.output.bin = 1.0;
        let more_bins = bins(&fine) - bins(&s);
        let per_bin = 2 * (1 + SERIES_VARIABLES.len() as u64) * 8 + GRID_PER_BIN;
        assert_eq!(
            per_run(&fine, EngineChoice::Auto) - a.per_run,
            more_bins * per_bin
        );
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(10), "10 B");
    }

    /// An absurd request saturates instead of wrapping to a small estimate
    /// that the preflight would pass (found by the black-box campaign:
    /// `--runs 18446744073709551615` passed and then panicked on allocation).
    #[test]
    fn absurd_requests_saturate() {
        let s = crate::preset::load("codered-v2-2001-07-19").unwrap();
        for runs in [u64::MAX, u64::MAX / 3, 1 << 60] {
            let e = ensemble(&s, runs, 2, EngineChoice::Auto);
            assert!(e.total() > 1 << 50, "runs {runs}: {}", human(e.total()));
        }
        let w = sweep(&s, u64::MAX, u64::MAX, 4, EngineChoice::Auto);
        assert_eq!(w.total(), u64::MAX);
        let mut big = s.clone();
        big.output.bin = 1e-300;
        assert_eq!(ensemble(&big, 2, 1, EngineChoice::Auto).total(), u64::MAX);
    }
}
