//! JSON exporters.

use serde_json::{Value, json};
use wormsim::observe::Series;
use wormsim::scenario::ProbeCount;
use wormsim::summary::Summary;
use wormsim::time::SimTime;

fn t(x: Option<SimTime>) -> Value {
    x.map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// The time series as an array of records (same columns as the CSV).
pub fn series(s: &Series, mode: ProbeCount) -> String {
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    let rows: Vec<Value> = s
        .rows()
        .iter()
        .map(|r| {
            let probes = match mode {
                ProbeCount::Sampled => json!(r.probes as u64),
                ProbeCount::Expected => json!(r3(r.probes)),
            };
            json!({
                "time": r.time.to_string(),
                "susceptible": r.susceptible,
                "infected": r.infected,
                "cumulative_infected": r.cumulative_infected,
                "new_infections": r.new_infections,
                "reinfections": r.reinfections,
                "instances_added": r.instances_added,
                "probes": probes,
                "probes_per_s": r3(r.per_s(r.probes)),
                "syn_packets_per_s": r3(r.per_s(r.syn_packets)),
                "scan_bits_per_s": r3(r.per_s(r.syn_packets * s.syn_bytes as f64 * 8.0)),
                "patched": r.patched,
                "rebooted": r.rebooted,
                "expired": r.expired,
                "crashed": r.crashed,
                "defaced": r.defaced,
                "backdoored": r.backdoored,
                "flooding": r.flooding,
                "bin_seconds": r.bin_len,
            })
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&Value::Array(rows)).expect("JSON values serialize");
    out.push('\n');
    out
}

/// The run summary.
pub fn summary(s: &Summary) -> String {
    let report: Vec<Value> = s
        .report
        .iter()
        .map(|(at, n)| json!({"time": at.to_string(), "cumulative_infected": n}))
        .collect();
    let v = json!({
        "scenario": s.scenario,
        "seed": s.seed,
        "replicate": s.replicate,
        "engine": s.engine,
        "start": s.start.to_string(),
        "end": s.end.to_string(),
        "hosts": s.hosts,
        "seeds": s.seeds,
        "ever_infected": s.ever_infected,
        "infected_at_end": s.infected_at_end,
        "report": report,
        "time_to_10pct": t(s.t10),
        "time_to_50pct": t(s.t50),
        "time_to_90pct": t(s.t90),
        "peak_new_infections_per_minute": s.peak_per_minute,
        "peak_minute": t(s.peak_minute),
        "patched": s.patched,
        "patched_while_infected": s.patched_while_infected,
        "reboots": s.reboots,
        "reinfections": s.reinfections,
        "probes": (s.probes * 1000.0).round() / 1000.0,
        "instances_added": s.instances_added,
        "expired": s.expired,
        "crashes": s.crashes,
        "backdoored": s.backdoored,
        "flood_bytes_delivered": s.flood_bytes,
        "flood_bytes_at_target": s.flood_bytes_at_target,
        "events": s.events,
    });
    let mut out = serde_json::to_string_pretty(&v).expect("JSON values serialize");
    out.push('\n');
    out
}
