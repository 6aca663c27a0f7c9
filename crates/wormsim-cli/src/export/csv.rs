//! CSV exporters.

use crate::cmd::fit::Report;
use std::fmt::Write;
use wormsim::engine::{HostRecords, HostState, NO_HOST};
use wormsim::fit::data::TimePoint;
use wormsim::observe::flood::{FLOOD_COLUMNS, FloodMeter};
use wormsim::observe::{COLUMNS, Series};
use wormsim::population::{Population, fmt_addr};
use wormsim::scenario::ProbeCount;
use wormsim::time::SimTime;

/// Format a probe count: an integer when sampled, three decimals when expected.
pub fn probes(x: f64, mode: ProbeCount) -> String {
    match mode {
        ProbeCount::Sampled => format!("{x:.0}"),
        ProbeCount::Expected => format!("{x:.3}"),
    }
}

/// A rate with three decimals.
fn f3(x: f64) -> String {
    format!("{x:.3}")
}

/// The time series, one row per bin (columns in `wormsim::observe::COLUMNS`).
pub fn series(s: &Series, mode: ProbeCount) -> String {
    let mut out = String::with_capacity(160 * (s.rows().len() + 1));
    out.push_str(&COLUMNS.join(","));
    out.push('\n');
    for r in s.rows() {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.time,
            r.susceptible,
            r.infected,
            r.cumulative_infected,
            r.new_infections,
            r.reinfections,
            r.instances_added,
            probes(r.probes, mode),
            f3(r.per_s(r.probes)),
            f3(r.per_s(r.syn_packets)),
            f3(r.per_s(r.scan_bits())),
            r.patched,
            r.rebooted,
            r.expired,
            r.crashed,
            r.defaced,
            r.backdoored,
            r.flooding,
            r.bin_len
        );
    }
    out
}

/// The flood traffic series (columns in `wormsim::observe::flood::FLOOD_COLUMNS`).
pub fn flood(m: &FloodMeter) -> String {
    let mut out = String::with_capacity(100 * (m.rows().len() + 1));
    out.push_str(&FLOOD_COLUMNS.join(","));
    out.push('\n');
    for r in m.rows() {
        let ps = |x: f64| {
            if r.bin_len > 0.0 {
                f3(x / r.bin_len)
            } else {
                f3(0.0)
            }
        };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{}",
            r.time,
            ps(r.target_connections),
            ps(r.target_packets),
            ps(r.target_bytes),
            ps(r.moved_connections),
            ps(r.moved_packets),
            ps(r.moved_bytes)
        );
    }
    out
}

/// A telescope series: the web-log series schema (`TELESCOPE_COLUMNS`).
pub fn telescope_series(rows: &[wormsim::observe::telescope::TelescopeRow]) -> String {
    super::logs::series_csv(rows)
}

/// A telescope's sources (`wormsim::observe::telescope::SOURCE_COLUMNS`).
pub fn telescope_sources(rows: &[wormsim::observe::telescope::SourceRecord]) -> String {
    let mut out = wormsim::observe::telescope::SOURCE_COLUMNS.join(",");
    out.push('\n');
    for s in rows {
        let _ = writeln!(
            out,
            "{},{},{},{}",
            fmt_addr(s.addr),
            SimTime(s.first_seen),
            SimTime(s.last_seen),
            s.probes
        );
    }
    out
}

/// Per-host records.
pub fn hosts(p: &Population, h: &HostRecords, setup: &wormsim::engine::Setup) -> String {
    let mut out = String::from("address,state,first_infected_at,first_infector,clock_offset_s\n");
    for (i, &a) in p.addrs().iter().enumerate() {
        let state = match h.state[i] {
            HostState::Susceptible => "susceptible",
            HostState::Infected => "infected",
            HostState::Patched => "patched",
            HostState::Crashed => "crashed",
        };
        let t = h.first_infected_at[i];
        let when = if t.is_nan() {
            String::new()
        } else {
            SimTime(t).to_string()
        };
        let by = h.first_infector[i];
        let by = if by == NO_HOST {
            String::new()
        } else {
            fmt_addr(p.addrs()[by as usize])
        };
        let _ = writeln!(
            out,
            "{},{state},{when},{by},{}",
            fmt_addr(a),
            setup.clock_offset(i as u32)
        );
    }
    out
}

/// The fitted curve of `wormsim fit`: `time,observed,fitted,lower,upper`, one row
/// per data point. `observed` and `fitted` are cumulative counts; `lower` and
/// `upper` bound the pointwise 95% band (empty without intervals).
pub fn fitted(r: &Report) -> String {
    let f = &r.fit;
    let mut out = String::with_capacity(64 * (f.times.len() + 1));
    out.push_str("time,observed,fitted,lower,upper\n");
    for (j, t) in r.series.row_times.iter().enumerate() {
        let time = match t {
            TimePoint::At(s) => s.to_string(),
            TimePoint::Hours(h) => format!("{h}"),
        };
        let (lo, hi) = match &f.band {
            Some((lo, hi)) => (format!("{:.6}", lo[j]), format!("{:.6}", hi[j])),
            None => (String::new(), String::new()),
        };
        let _ = writeln!(out, "{time},{},{:.6},{lo},{hi}", f.observed[j], f.fitted[j]);
    }
    out
}
