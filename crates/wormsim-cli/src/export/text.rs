//! The human-readable summary printed by `wormsim run`.

use crate::cmd::fit::Report;
use crate::export::json;
use std::fmt::Write;
use wormsim::fit::Objective;
use wormsim::scenario::Scenario;
use wormsim::summary::Summary;
use wormsim::time::SimTime;

fn hm(t: Option<SimTime>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| {
            let s = t.to_string();
            // 2001-07-19T17:03:12.345Z -> 2001-07-19 17:03:12Z
            format!("{} {}Z", &s[..10], &s[11..19])
        },
    )
}

pub fn summary(s: &Summary, sc: &Scenario) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} (seed {}, engine {})", s.scenario, s.seed, s.engine);
    let _ = writeln!(
        o,
        "  {} to {}; {} vulnerable hosts, {} infected at the start",
        hm(Some(s.start)),
        hm(Some(s.end)),
        s.hosts,
        s.seeds
    );
    for (at, n) in &s.report {
        let _ = writeln!(o, "  infected by {:<22} {n:>10}", hm(Some(*at)));
    }
    let _ = writeln!(o, "  infected by the end {:>24}", s.ever_infected);
    let _ = writeln!(o, "  10% of final count reached   {}", hm(s.t10));
    let _ = writeln!(o, "  50% of final count reached   {}", hm(s.t50));
    let _ = writeln!(o, "  90% of final count reached   {}", hm(s.t90));
    let _ = writeln!(
        o,
        "  time to 90% of final count   {}",
        s.t90
            .map_or_else(|| "-".to_string(), |t| duration(t.since(s.start)))
    );
    let _ = writeln!(
        o,
        "  doubling time, first minute  {}",
        s.doubling_first_minute
            .map_or_else(|| "- (no growth)".to_string(), |d| format!("{d:.2} s"))
    );
    let _ = writeln!(
        o,
        "  peak new infections {:>10} /min, minute starting {}",
        s.peak_per_minute,
        hm(s.peak_minute)
    );
    let _ = writeln!(
        o,
        "  patched {:>22} ({} while infected)",
        s.patched, s.patched_while_infected
    );
    let _ = writeln!(
        o,
        "  rebooted (infected hosts) {:>4} ({} re-infected)",
        s.reboots, s.reinfections
    );
    let _ = writeln!(o, "  infected at the end {:>10}", s.infected_at_end);
    if s.instances_added > 0 {
        let _ = writeln!(
            o,
            "  extra worm instances {:>9} (re-infections of infected hosts)",
            s.instances_added
        );
    }
    if s.expired > 0 {
        let _ = writeln!(
            o,
            "  infections expired {:>11} (lifetime or drop-dead date)",
            s.expired
        );
    }
    if s.crashes > 0 || s.backdoored > 0 {
        let _ = writeln!(
            o,
            "  crashes {:>22}; backdoored hosts at the end {}",
            s.crashes, s.backdoored
        );
    }
    if sc.floods() {
        let _ = writeln!(
            o,
            "  flood bytes delivered {:>11.4e} to {} ({:.4e} arrived at the address)",
            s.flood_bytes,
            wormsim::population::fmt_addr(sc.flood.target),
            s.flood_bytes_at_target
        );
    }
    let _ = writeln!(o, "  probes sent {:>18.4e}", s.probes);
    let _ = writeln!(o, "  engine events {:>16}", s.events);
    o
}

/// A duration as `H:MM:SS.s` [s].
fn duration(secs: f64) -> String {
    let tenths = (secs * 10.0).round() as u64;
    let (h, rest) = (tenths / 36_000, tenths % 36_000);
    format!("{h}:{:02}:{:02}.{}", rest / 600, rest % 600 / 10, rest % 10)
}

/// A number with about five significant digits; scientific when very large or small.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e7).contains(&a) {
        return format!("{x:.4e}");
    }
    let decimals = (4 - a.log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

/// The table printed by `wormsim fit`.
pub fn fit(r: &Report) -> String {
    let f = &r.fit;
    let s = &r.series;
    let mut o = String::new();
    let last = s.row_times[s.row_times.len() - 1];
    let _ = writeln!(
        o,
        "fit {} ({} objective) to `{}` ({}) of {}",
        f.model.name(),
        f.objective.name(),
        s.column,
        s.kind.name(),
        s.file
    );
    let _ = writeln!(
        o,
        "  {} of {} rows, {} to {}; time axis: hours since {}",
        s.row_times.len(),
        s.rows_in_file,
        s.origin,
        last,
        s.origin
    );
    let _ = writeln!(o);
    let ci_head = if f.intervals {
        "95% CI (profile likelihood)"
    } else {
        "95% CI (not computed)"
    };
    let _ = writeln!(o, "  parameter       estimate   {ci_head:<30} unit");
    for e in &f.estimates {
        let ci = if f.intervals {
            let end = |v: Option<f64>| v.map_or_else(|| "open".to_string(), num);
            format!("[{}, {}]", end(e.lower), end(e.upper))
        } else {
            "-".to_string()
        };
        let mut line = format!(
            "  {:<9} {:>14}   {:<30} {}",
            e.spec.name,
            num(e.value),
            ci,
            e.spec.unit
        );
        if e.spec.unit == "h" {
            if let Some(at) = json::time_after(s.origin, e.value) {
                line.push_str(&format!("  (at {at})"));
            }
        }
        let _ = writeln!(o, "{line}");
    }
    if !f.derived.is_empty() {
        let parts: Vec<String> = f
            .derived
            .iter()
            .map(|d| match d.unit {
                "-" => format!("{} {}", d.name, num(d.value)),
                unit => format!("{} {} {unit}", d.name, num(d.value)),
            })
            .collect();
        let _ = writeln!(o, "\n  derived: {}", parts.join("; "));
    }
    let g = &f.gof;
    let mut gof = Vec::new();
    if let Some(d) = g.deviance {
        gof.push(format!("deviance {} on {} df", num(d), g.df));
    }
    if let Some(d) = g.dispersion {
        gof.push(format!("dispersion {}", num(d)));
    }
    if let Some(r2) = g.r_squared {
        gof.push(format!("R² {r2:.7}"));
    }
    gof.push(format!("RSS {}", num(g.rss)));
    gof.push(format!("AIC {}", num(g.aic)));
    let _ = writeln!(o, "  goodness of fit: {}", gof.join(", "));
    let res = &g.residuals;
    let _ = writeln!(
        o,
        "  residuals ({}): min {}, q1 {}, median {}, q3 {}, max {}",
        res.kind,
        num(res.min),
        num(res.q1),
        num(res.median),
        num(res.q3),
        num(res.max)
    );
    if let Some(d) = g.dispersion {
        if d > 2.0 {
            let _ = writeln!(
                o,
                "  note: dispersion {} > 2: the counts vary more than Poisson, so the intervals are too narrow",
                num(d)
            );
        }
    }
    if f.objective == Objective::LeastSquares && f.intervals {
        let _ = writeln!(
            o,
            "  note: least-squares intervals assume independent errors; cumulative counts are correlated, so they are too narrow"
        );
    }
    for w in &f.warnings {
        let _ = writeln!(o, "  warning: {w}");
    }
    o
}
