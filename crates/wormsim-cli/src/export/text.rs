//! The human-readable summary printed by `wormsim run`.

use std::fmt::Write;
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
