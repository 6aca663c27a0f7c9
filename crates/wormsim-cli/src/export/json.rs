//! JSON exporters.

use crate::cmd::fit::Report;
use serde_json::{Value, json};
use wormsim::fit::ModelKind;
use wormsim::fit::data::TimePoint;
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
                "scan_bits_per_s": r3(r.per_s(r.scan_bits())),
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
        "doubling_time_first_minute_s": s.doubling_first_minute,
    });
    let mut out = serde_json::to_string_pretty(&v).expect("JSON values serialize");
    out.push('\n');
    out
}

/// Time `hours` after a fit's origin, as RFC 3339 (whole seconds), when the
/// series' times are timestamps.
pub fn time_after(origin: TimePoint, hours: f64) -> Option<String> {
    match origin {
        TimePoint::At(t) if hours.is_finite() => {
            Some(SimTime((t.secs() + hours * 3600.0).round()).to_string())
        }
        _ => None,
    }
}

fn point(t: Option<TimePoint>) -> Value {
    match t {
        Some(TimePoint::At(s)) => json!(s.to_string()),
        Some(TimePoint::Hours(h)) => json!(h),
        None => Value::Null,
    }
}

/// The result of `wormsim fit`.
pub fn fit(r: &Report) -> String {
    let f = &r.fit;
    let s = &r.series;
    let params: Vec<Value> = f
        .estimates
        .iter()
        .map(|e| {
            let mut v = json!({
                "name": e.spec.name,
                "estimate": e.value,
                "lower": e.lower,
                "upper": e.upper,
                "unit": e.spec.unit,
                "description": e.spec.description,
            });
            if e.spec.unit == "h" {
                if let Some(at) = time_after(s.origin, e.value) {
                    v["estimate_time"] = json!(at);
                    v["lower_time"] = json!(e.lower.and_then(|x| time_after(s.origin, x)));
                    v["upper_time"] = json!(e.upper.and_then(|x| time_after(s.origin, x)));
                }
            }
            v
        })
        .collect();
    let derived: Vec<Value> = f
        .derived
        .iter()
        .map(|d| {
            json!({"name": d.name, "value": d.value, "unit": d.unit, "description": d.description})
        })
        .collect();
    let g = &f.gof;
    let res = &g.residuals;
    let last = s.row_times[s.row_times.len() - 1];
    let mut options = json!({});
    if f.model == ModelKind::Aawp {
        options = json!({
            "aawp_tick_seconds": r.options.aawp_tick_hours * 3600.0,
            "aawp_address_space": r.options.aawp_space,
        });
    }
    let v = json!({
        "model": f.model.name(),
        "objective": f.objective.name(),
        "input": {
            "file": s.file,
            "schema": s.schema.name(),
            "column": s.column,
            "kind": s.kind.name(),
            "rows_in_file": s.rows_in_file,
            "points": s.row_times.len(),
            "from": point(r.selection.from),
            "to": point(r.selection.to),
            "first_time": point(Some(s.origin)),
            "last_time": point(Some(last)),
        },
        "time_axis": {
            "origin": point(Some(s.origin)),
            "unit": "h",
            "description": "hours since the first data point used",
        },
        "parameters": params,
        "derived": derived,
        "confidence": if f.intervals {
            json!({
                "level": 0.95,
                "method": "profile likelihood",
                "threshold": wormsim::fit::CHI2_1_95,
                "open_end": "null: not reached within the search range (the data do not bound it)",
            })
        } else {
            Value::Null
        },
        "goodness_of_fit": {
            "objective": g.objective,
            "log_likelihood": g.log_likelihood,
            "aic": g.aic,
            "deviance": g.deviance,
            "pearson_chi2": g.pearson_chi2,
            "dispersion": g.dispersion,
            "df": g.df,
            "rss": g.rss,
            "r_squared": g.r_squared,
            "residuals": {
                "kind": res.kind,
                "min": res.min,
                "q1": res.q1,
                "median": res.median,
                "q3": res.q3,
                "max": res.max,
                "rms": res.rms,
            },
        },
        "optimizer": {
            "method": "nelder-mead with restarts",
            "evaluations": f.evaluations,
            "converged": f.converged,
            "refits": f.refits,
        },
        "options": options,
        "warnings": f.warnings,
    });
    let mut out = serde_json::to_string_pretty(&v).expect("JSON values serialize");
    out.push('\n');
    out
}
