//! Scanning strategies and containment beyond Code Red (issue #7) against the
//! per-probe reference: hit lists, permutation scanning, bandwidth-limited
//! rates (with a flawed generator's subsets and a payload cycle), address
//! blacklisting, content filtering, egress filtering and the throttle.
//!
//! Each test runs independent replicates of one small scenario (2^16
//! addresses, a few hundred hosts) through the exact engine and through the
//! reference, which sends every probe, and compares the distributions of the
//! times to 10/50/90% infected (and of final sizes where containment makes
//! them vary) with two-sample KS tests. Then the unit checks that need no
//! statistics: a throttled host never sends more than `k` probes in any second,
//! and a permutation scanner never probes an address twice before its walk
//! wraps.

use crate::support::{assert_same_distribution, generic16, replicate};
use wormsim::engine::{EngineChoice, Plan, Simulation};
use wormsim::scenario::Scenario;

const RUNS: u64 = 300;

/// A generic worm in a 2^16 space: `hosts` hosts, one seed, `worm` extra
/// `[worm]` keys (a scan rate among them), then `rest` (more tables).
fn scenario(hosts: u32, minutes: u32, worm: &str, rest: &str) -> Scenario {
    let worm = format!("initial_infected = 1\n{worm}\n{rest}");
    let text = generic16("beyond", "2004-03-20", minutes, hosts, &worm);
    Scenario::from_str("beyond.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

type Rows = Vec<(Vec<Option<f64>>, u32, u32)>;

fn col(rows: &Rows, i: usize) -> Vec<f64> {
    rows.iter()
        .map(|r| r.0[i].unwrap_or(f64::INFINITY))
        .collect()
}

fn final_size(rows: &Rows) -> Vec<f64> {
    rows.iter().map(|r| r.1 as f64).collect()
}

/// Compare the exact engine (auto plan) with the reference on the times to
/// 10/50/90% of `hosts`, and on the final size if `sizes`.
fn compare(what: &str, s: &Scenario, hosts: u32, seed: u64, sizes: bool) {
    assert_eq!(Plan::select(s), Plan::General);
    let th = [hosts / 10, hosts / 2, hosts * 9 / 10];
    let reference = replicate(s, EngineChoice::Reference, seed, RUNS, &th);
    let exact = replicate(s, EngineChoice::Auto, seed + 1, RUNS, &th);
    for (i, name) in [(0, "10%"), (1, "50%"), (2, "90%")] {
        assert_same_distribution(
            &format!("{what}: time to {name}"),
            &col(&exact, i),
            &col(&reference, i),
        );
    }
    if sizes {
        let fr = final_size(&reference);
        let lo = fr.iter().cloned().fold(f64::MAX, f64::min);
        let hi = fr.iter().cloned().fold(f64::MIN, f64::max);
        assert!(
            hi - lo > hosts as f64 / 10.0,
            "{what}: the final size hardly varies ({lo}..{hi}); the test would be weak"
        );
        assert_same_distribution(&format!("{what}: final size"), &final_size(&exact), &fr);
    }
}

// ----- scanning strategies ---------------------------------------------------

/// Hit-list seeding (split lists), then uniform scanning.
#[test]
fn hit_list_matches_reference() {
    let s = scenario(
        300,
        10,
        "scan_rate = 15",
        "[hit_list]\nsize = 60\nrate = 2.0\n",
    );
    compare("hit list (split)", &s, 300, 101, false);
}

/// A hit list probed by the seed alone, at a low rate, so it overlaps with
/// random scanning by the hosts it infects.
#[test]
fn unsplit_hit_list_matches_reference() {
    let s = scenario(
        300,
        10,
        "scan_rate = 15",
        "[hit_list]\nsize = 100\nrate = 0.5\nsplit = false\n",
    );
    compare("hit list (unsplit)", &s, 300, 111, false);
}

/// Simple permutation scanning, each host starting after its own position.
#[test]
fn permutation_matches_reference() {
    let s = scenario(200, 4, "scan = \"permutation\"\nscan_rate = 12", "");
    compare("permutation (simple, own start)", &s, 200, 121, false);
}

/// Partitioned permutation from a small hit list, with lognormal rates.
#[test]
fn partitioned_permutation_matches_reference() {
    let s = scenario(
        200,
        4,
        "scan = \"permutation\"\npermutation = \"partitioned\"\nscan_rate = 12\nscan_rate_distribution = \"lognormal\"\nscan_rate_cv = 0.5",
        "[hit_list]\nsize = 8\nrate = 4\n",
    );
    compare("permutation (partitioned)", &s, 200, 131, false);
}

/// Simple permutation from random starts, each scanner going dormant at the
/// first infected host it meets: many hosts are never reached.
#[test]
fn dormant_permutation_scanners_match_reference() {
    let s = scenario(
        200,
        4,
        "scan = \"permutation\"\npermutation_start = \"random\"\npermutation_stop_after = 1\nscan_rate = 12",
        "",
    );
    compare("permutation (dormant)", &s, 200, 135, true);
}

/// Bandwidth-limited scanning: lognormal uplinks over a 404-byte probe.
#[test]
fn bandwidth_limited_matches_reference() {
    // Mean rate 64,640 / (8·404) = 20 probes/s.
    let s = scenario(
        300,
        10,
        "scan_rate_distribution = \"bandwidth\"\nuplink_mean_bps = 64640\nuplink_cv = 0.7\nprobe_bytes = 404",
        "",
    );
    compare("bandwidth-limited", &s, 300, 141, false);
}

/// Aggregate saturation: a capacity in bit/s, converted with the probe size
/// (6,464,000 bit/s over 404-byte probes = 2,000 probes/s), thins every host's
/// probes by `1/(1 + L/C)` as the offered load `L` grows (to ~6,000 probes/s).
#[test]
fn saturation_matches_reference() {
    let s = scenario(
        300,
        8,
        "scan_rate_distribution = \"bandwidth\"\nuplink_mean_bps = 64640\nuplink_cv = 0.3\nprobe_bytes = 404",
        "[network]\ncongestion = \"capacity\"\ncapacity_bps = 6464000\n",
    );
    assert_eq!(
        s.network.congestion,
        wormsim::scenario::Congestion::Capacity {
            probes_per_s: 2000.0
        }
    );
    compare("saturation (capacity in bit/s)", &s, 300, 171, false);
}

/// Slammer's flawed generator: each host confined to one of 4 subsets.
#[test]
fn prng_subsets_match_reference() {
    let s = scenario(300, 10, "scan_rate = 20\nprng_subsets = 4", "");
    compare("PRNG subsets", &s, 300, 151, false);
}

/// Witty-like: a hit list, bandwidth-limited rates and a payload that crashes
/// the host after a geometric number of cycles; crashed hosts recover.
#[test]
fn payload_crash_matches_reference() {
    let s = scenario(
        300,
        4,
        "scan_rate_distribution = \"bandwidth\"\nuplink_mean_bps = 64640\nuplink_cv = 0.5\nprobe_bytes = 404\ncycle_probes = 200\ncrash_per_cycle = 0.2\ncrash_recovery_per_day = 864",
        "[hit_list]\nsize = 10\nrate = 5\nsplit = false\n",
    );
    compare("payload crash", &s, 300, 161, false);
}

// ----- containment -------------------------------------------------------------

/// Address blacklisting: each host blocked 40 s after its infection on 90% of
/// paths. Many outbreaks die out; the final size varies widely.
#[test]
fn address_blacklist_matches_reference() {
    let s = scenario(
        300,
        5,
        "scan_rate = 15",
        "[containment]\nstrategy = \"address-blacklist\"\nreaction_minutes = 0.6667\ncoverage = 0.9\n",
    );
    compare("address blacklist", &s, 300, 201, true);
}

/// Content filtering 90 s after the onset on 95% of paths.
#[test]
fn content_filter_matches_reference() {
    let s = scenario(
        300,
        5,
        "scan_rate = 15",
        "[containment]\nstrategy = \"content-filter\"\nreaction_minutes = 1.5\ncoverage = 0.95\n",
    );
    compare("content filter", &s, 300, 211, true);
}

/// Egress filtering by half the networks, from the start, with a blacklist
/// on a permutation scanner (per-probe drops on deterministic probes).
#[test]
fn egress_and_blacklist_on_permutation_match_reference() {
    let s = scenario(
        200,
        5,
        "scan = \"permutation\"\nscan_rate = 12",
        "[containment]\nstrategy = \"address-blacklist\"\nreaction_minutes = 1\ncoverage = 0.7\negress_fraction = 0.3\n",
    );
    compare("egress + blacklist (permutation)", &s, 200, 221, true);
}

/// Egress filtering switched on a minute in, for uniform scanners.
#[test]
fn egress_filter_matches_reference() {
    let s = scenario(
        300,
        10,
        "scan_rate = 15",
        "[containment]\negress_fraction = 0.6\negress_from = 2004-03-20T00:01:00Z\n",
    );
    compare("egress filter", &s, 300, 231, false);
}

/// Williamson's throttle at 1 new destination/s on 70% of the hosts.
#[test]
fn throttle_matches_reference() {
    let s = scenario(
        300,
        20,
        "scan_rate = 4",
        "[containment]\nthrottle_rate = 1.0\nthrottle_fraction = 0.7\n",
    );
    compare("throttle", &s, 300, 241, false);
}

// ----- unit checks ---------------------------------------------------------------

/// A throttled host never sends more than k probes (each to a new
/// destination, at most) in any one-second window.
#[test]
fn throttled_host_never_exceeds_k_per_second() {
    for (k, extra) in [(1u32, ""), (2, "[hit_list]\nsize = 20\nrate = 50\n")] {
        let s = scenario(
            300,
            20,
            "scan_rate = 40",
            &format!("{extra}[containment]\nthrottle_rate = {k}\n"),
        );
        for r in 0..5 {
            let mut sim = Simulation::new(&s, 7, r, EngineChoice::Reference).expect("setup");
            assert!(sim.enable_probe_log());
            sim.run(&mut ());
            let log = sim.probe_log().expect("logged");
            assert!(log.len() > 1000, "too few probes to check: {}", log.len());
            let mut by_host: Vec<Vec<f64>> = vec![Vec::new(); 300];
            for p in log {
                by_host[p.host as usize].push(p.t);
            }
            for times in &by_host {
                // Times are in send order; a window [a, a + 1) that holds the
                // most probes starts at one, so checking those suffices.
                for (i, &t) in times.iter().enumerate() {
                    let n = times[i..].partition_point(|&u| u < t + 1.0);
                    assert!(n as u32 <= k, "k = {k}: {n} probes in [{t}, {t}+1)");
                }
            }
        }
    }
}

/// A lone permutation scanner probes every address of the space exactly once
/// in its first 2^16 probes: it never repeats one before the walk wraps.
#[test]
fn lone_permutation_scanner_covers_the_space_once_per_wrap() {
    let s = scenario(1, 2, "scan = \"permutation\"\nscan_rate = 1000", "");
    let mut sim = Simulation::new(&s, 3, 0, EngineChoice::Reference).expect("setup");
    assert!(sim.enable_probe_log());
    sim.run(&mut ());
    let log = sim.probe_log().expect("logged");
    assert!(log.len() >= 1 << 16, "only {} probes", log.len());
    let mut seen = vec![false; 1 << 16];
    for p in &log[..1 << 16] {
        assert!(!seen[p.addr as usize], "{} probed twice", p.addr);
        seen[p.addr as usize] = true;
    }
    // And the next walk starts over at the same place.
    assert_eq!(log[1 << 16].addr, log[0].addr);
}

/// In a full outbreak, each permutation scanner walks consecutive positions
/// of the shared permutation (so its addresses are distinct until the walk
/// wraps), leaving a walk only for a jump, and every jump comes right after a
/// probe to an infected host.
#[test]
fn permutation_walks_are_consecutive_between_jumps() {
    use wormsim::engine::sequence::Sequence;
    let s = scenario(
        200,
        4,
        "scan = \"permutation\"\nscan_rate = 12\npermutation_key = 77",
        "",
    );
    let order = Sequence::new(16, 77);
    let mut jumps = 0;
    for r in 0..3 {
        let mut sim = Simulation::new(&s, 5, r, EngineChoice::Reference).expect("setup");
        assert!(sim.enable_probe_log());
        sim.run(&mut ());
        let log = sim.probe_log().expect("logged").to_vec();
        let pop = sim.population().clone();
        let mut last: Vec<Option<u64>> = vec![None; 200];
        for p in &log {
            let pos = order.pos_of(p.addr);
            let h = p.host as usize;
            if let Some(prev) = last[h] {
                if pos != (prev + 1) % (1 << 16) {
                    jumps += 1;
                    // The probe before the jump reached another host.
                    let a = order.addr_at(prev);
                    assert!(
                        pop.host_at(a).is_some_and(|v| v != p.host),
                        "host {h} jumped after probing {a}, which is no other host"
                    );
                }
            }
            last[h] = Some(pos);
        }
    }
    assert!(jumps > 100, "only {jumps} jumps: the test would be weak");
}

// ----- scenario errors -------------------------------------------------------------

/// Each bad combination or value is rejected with the key to change.
#[test]
fn bad_beyond_scenarios_name_the_key() {
    let base = |worm: &str, rest: &str| {
        format!(
            "[scenario]\nname = \"t\"\nstart = 2004-03-20T00:00:00Z\nend = 2004-03-20T01:00:00Z\n\
             space_bits = 16\n[population]\nmodel = \"uniform\"\nhosts = 100\n[worm]\n{worm}\n{rest}"
        )
    };
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "variant = \"crv2\"\nscan = \"permutation\"\nscan_rate = 5",
            "",
            "calendar.enabled",
            "without the Code Red calendar",
        ),
        (
            "variant = \"generic\"\nscan_rate = 5",
            "[hit_list]\nsize = 10\n",
            "hit_list.rate",
            "missing",
        ),
        (
            "variant = \"generic\"\nscan_rate = 5\ninitial_infected = 0",
            "[hit_list]\nsize = 10\nrate = 1\n",
            "worm.initial_infected",
            "at least one seed",
        ),
        (
            "variant = \"generic\"\nscan_rate = 5\nprng_subsets = 3",
            "",
            "worm.prng_subsets",
            "not a power of two",
        ),
        (
            "variant = \"generic\"\nscan_rate_distribution = \"bandwidth\"\nuplink_mean_bps = 1e6\nuplink_cv = 1",
            "",
            "worm.probe_bytes",
            "missing",
        ),
        (
            "variant = \"generic\"\nscan_rate = 5\nscan_rate_distribution = \"bandwidth\"\nuplink_mean_bps = 1e6\nuplink_cv = 1\nprobe_bytes = 404",
            "",
            "worm.scan_rate",
            "not used",
        ),
        ("variant = \"generic\"", "", "worm.scan_rate", "missing"),
        (
            "variant = \"generic\"\nscan_rate = 5",
            "[containment]\nstrategy = \"content-filter\"\n",
            "containment.reaction_minutes",
            "missing",
        ),
        (
            "variant = \"generic\"\nscan_rate = 5\nscan = \"local-preference\"",
            "[containment]\nthrottle_rate = 1\n",
            "containment.throttle_rate",
            "uniform and permutation",
        ),
        (
            "variant = \"generic\"\nscan_rate = 5",
            "[network]\ncongestion = \"capacity\"\ncapacity_bps = 1e6\n",
            "network.capacity_bps",
            "worm.probe_bytes",
        ),
        (
            "variant = \"generic\"\nscan_rate = 5\npermutation = \"partitioned\"",
            "",
            "worm.permutation",
            "not used",
        ),
        (
            "variant = \"generic\"\nscan_rate = 5\ncycle_probes = 100",
            "",
            "worm.crash_per_cycle",
            "missing",
        ),
        (
            "variant = \"generic\"\nscan_rate = 5\nscan = \"permutation\"",
            "[network]\ncongestion = \"zou\"\n",
            "network.congestion",
            "permutation",
        ),
    ];
    for (worm, rest, key, msg) in cases {
        let e = Scenario::from_str("bad.toml", &base(worm, rest))
            .expect_err("the scenario should be rejected");
        assert_eq!(e.key(), Some(*key), "{e}");
        assert!(e.to_string().contains(msg), "{e}");
        assert!(e.to_string().starts_with("bad.toml:"), "{e}");
    }
}
