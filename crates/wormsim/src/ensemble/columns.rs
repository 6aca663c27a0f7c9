//! Which numbers of a run become table columns: the per-run summary row
//! ([`SUMMARY_COLUMNS`], from [`Summary`]) and the per-bin series whose quantiles
//! are reported ([`SERIES_VARIABLES`], from [`Row`]).
//!
//! Both are plain tables of accessors, so a new [`Summary`] field (flood bytes,
//! say) becomes an output column by adding one line here and one row to
//! `docs/outputs.md`; every exporter, the distribution table and the sweep merge
//! pick it up from here. A test checks that the docs name every column.

use super::table::{Cell, Kind};
use crate::observe::Row;
use crate::summary::Summary;
use crate::time::SimTime;

/// One column of the per-run summary table.
pub struct SummaryColumn {
    /// Column name (snake case; `_s` marks seconds).
    pub name: &'static str,
    pub kind: Kind,
    /// Unit, in the bracket style of the docs.
    pub unit: &'static str,
    /// One-line meaning, shown in the distribution table.
    pub label: &'static str,
    pub get: fn(&Summary) -> Cell,
}

fn int(x: impl Into<i64>) -> Cell {
    Cell::Int(Some(x.into()))
}

fn count(x: u64) -> Cell {
    Cell::Int(Some(i64::try_from(x).unwrap_or(i64::MAX)))
}

/// Seconds from the scenario start to `t`; missing if `t` is.
fn after_start(s: &Summary, t: Option<SimTime>) -> Cell {
    Cell::Float(t.map(|t| t.since(s.start)))
}

/// The per-run summary columns, in output order.
pub const SUMMARY_COLUMNS: &[SummaryColumn] = &[
    SummaryColumn {
        name: "hosts",
        kind: Kind::Int,
        unit: "[hosts]",
        label: "vulnerable hosts",
        get: |s| int(s.hosts),
    },
    SummaryColumn {
        name: "seeds",
        kind: Kind::Int,
        unit: "[hosts]",
        label: "infected at the start",
        get: |s| int(s.seeds),
    },
    SummaryColumn {
        name: "final_size",
        kind: Kind::Int,
        unit: "[hosts]",
        label: "final size (ever infected)",
        get: |s| int(s.ever_infected),
    },
    SummaryColumn {
        name: "infected_at_end",
        kind: Kind::Int,
        unit: "[hosts]",
        label: "infected at the end",
        get: |s| int(s.infected_at_end),
    },
    SummaryColumn {
        name: "time_to_10pct_s",
        kind: Kind::Float,
        unit: "[s after start]",
        label: "time to 10% of final size [h]",
        get: |s| after_start(s, s.t10),
    },
    SummaryColumn {
        name: "time_to_50pct_s",
        kind: Kind::Float,
        unit: "[s after start]",
        label: "time to 50% of final size [h]",
        get: |s| after_start(s, s.t50),
    },
    SummaryColumn {
        name: "time_to_90pct_s",
        kind: Kind::Float,
        unit: "[s after start]",
        label: "time to 90% of final size [h]",
        get: |s| after_start(s, s.t90),
    },
    SummaryColumn {
        name: "peak_new_per_min",
        kind: Kind::Int,
        unit: "[hosts/min]",
        label: "peak new infections [/min]",
        get: |s| int(s.peak_per_minute),
    },
    SummaryColumn {
        name: "peak_minute_s",
        kind: Kind::Float,
        unit: "[s after start]",
        label: "start of the peak minute [h]",
        get: |s| after_start(s, s.peak_minute),
    },
    SummaryColumn {
        name: "patched",
        kind: Kind::Int,
        unit: "[hosts]",
        label: "patched",
        get: |s| int(s.patched),
    },
    SummaryColumn {
        name: "patched_while_infected",
        kind: Kind::Int,
        unit: "[hosts]",
        label: "patched while infected",
        get: |s| count(s.patched_while_infected),
    },
    SummaryColumn {
        name: "rebooted",
        kind: Kind::Int,
        unit: "[reboots]",
        label: "reboots of infected hosts",
        get: |s| count(s.reboots),
    },
    SummaryColumn {
        name: "reinfections",
        kind: Kind::Int,
        unit: "[infections]",
        label: "re-infections after reboot",
        get: |s| count(s.reinfections),
    },
    SummaryColumn {
        name: "instances_added",
        kind: Kind::Int,
        unit: "[instances]",
        label: "extra worm instances (re-infections of infected hosts)",
        get: |s| count(s.instances_added),
    },
    SummaryColumn {
        name: "expired",
        kind: Kind::Int,
        unit: "[infections]",
        label: "infections ended by lifetime or drop-dead date",
        get: |s| count(s.expired),
    },
    SummaryColumn {
        name: "crashes",
        kind: Kind::Int,
        unit: "[hosts]",
        label: "hosts crashed by the worm",
        get: |s| count(s.crashes),
    },
    SummaryColumn {
        name: "backdoored",
        kind: Kind::Int,
        unit: "[hosts]",
        label: "hosts with the backdoor at the end",
        get: |s| int(s.backdoored),
    },
    SummaryColumn {
        name: "flood_bytes",
        kind: Kind::Float,
        unit: "[bytes]",
        label: "flood payload delivered to the target site",
        get: |s| Cell::Float(Some(s.flood_bytes)),
    },
    SummaryColumn {
        name: "flood_bytes_at_target",
        kind: Kind::Float,
        unit: "[bytes]",
        label: "flood payload arriving at the target address",
        get: |s| Cell::Float(Some(s.flood_bytes_at_target)),
    },
    SummaryColumn {
        name: "probes",
        kind: Kind::Float,
        unit: "[probes]",
        label: "probes sent",
        get: |s| Cell::Float(Some(s.probes)),
    },
    SummaryColumn {
        name: "events",
        kind: Kind::Int,
        unit: "[events]",
        label: "engine events",
        get: |s| count(s.events),
    },
];

/// The summary row of one run, one cell per [`SUMMARY_COLUMNS`] entry.
pub fn summary_cells(s: &Summary) -> Vec<Cell> {
    SUMMARY_COLUMNS.iter().map(|c| (c.get)(s)).collect()
}

/// One per-bin series whose quantiles are reported.
pub struct SeriesVariable {
    /// Same name as the `series.csv` column.
    pub name: &'static str,
    pub get: fn(&Row) -> f64,
}

/// Every numeric column of [`Row`] (all of `observe::COLUMNS` but `time`).
pub const SERIES_VARIABLES: &[SeriesVariable] = &[
    SeriesVariable {
        name: "susceptible",
        get: |r| r.susceptible.into(),
    },
    SeriesVariable {
        name: "infected",
        get: |r| r.infected.into(),
    },
    SeriesVariable {
        name: "cumulative_infected",
        get: |r| r.cumulative_infected.into(),
    },
    SeriesVariable {
        name: "new_infections",
        get: |r| r.new_infections.into(),
    },
    SeriesVariable {
        name: "reinfections",
        get: |r| r.reinfections.into(),
    },
    SeriesVariable {
        name: "instances_added",
        get: |r| r.instances_added.into(),
    },
    SeriesVariable {
        name: "probes",
        get: |r| r.probes,
    },
    SeriesVariable {
        name: "probes_per_s",
        get: |r| r.per_s(r.probes),
    },
    SeriesVariable {
        name: "syn_packets_per_s",
        get: |r| r.per_s(r.syn_packets),
    },
    SeriesVariable {
        name: "scan_bits_per_s",
        get: |r| r.per_s(r.scan_bits()),
    },
    SeriesVariable {
        name: "patched",
        get: |r| r.patched.into(),
    },
    SeriesVariable {
        name: "rebooted",
        get: |r| r.rebooted.into(),
    },
    SeriesVariable {
        name: "expired",
        get: |r| r.expired.into(),
    },
    SeriesVariable {
        name: "crashed",
        get: |r| r.crashed.into(),
    },
    SeriesVariable {
        name: "defaced",
        get: |r| r.defaced.into(),
    },
    SeriesVariable {
        name: "backdoored",
        get: |r| r.backdoored.into(),
    },
    SeriesVariable {
        name: "flooding",
        get: |r| r.flooding.into(),
    },
    SeriesVariable {
        name: "bin_seconds",
        get: |r| r.bin_len,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::COLUMNS;

    #[test]
    fn series_variables_follow_the_series_columns() {
        let names: Vec<&str> = SERIES_VARIABLES.iter().map(|v| v.name).collect();
        assert_eq!(
            names,
            COLUMNS[1..],
            "a Row column was added or renamed: add it to SERIES_VARIABLES"
        );
    }

    /// Columns and units are documented in one place: docs/outputs.md.
    #[test]
    fn every_column_is_documented() {
        let docs = include_str!("../../../../docs/outputs.md");
        for c in SUMMARY_COLUMNS {
            let row = format!("| `{}` | {} | {} |", c.name, c.kind.name(), c.unit);
            assert!(
                docs.contains(&row),
                "docs/outputs.md lacks the row start {row}"
            );
        }
        for v in SERIES_VARIABLES {
            assert!(docs.contains(&format!("| `{}` |", v.name)), "{}", v.name);
        }
    }

    #[test]
    fn names_are_unique_and_kinds_match() {
        let scenario = crate::ensemble::tests::tiny();
        let run =
            crate::ensemble::run_replicate(&scenario, 3, 0, crate::engine::EngineChoice::Auto)
                .unwrap();
        let cells = summary_cells(&run.summary);
        for (c, cell) in SUMMARY_COLUMNS.iter().zip(&cells) {
            assert_eq!(c.kind, cell.kind(), "{}", c.name);
        }
        let t10 = run.summary.t10.unwrap().since(scenario.start);
        assert_eq!(cells[4], Cell::Float(Some(t10)));
        let mut names: Vec<&str> = SUMMARY_COLUMNS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SUMMARY_COLUMNS.len());
    }
}
