//! The Code Red family against the per-probe reference (issue #3): CRv1's fixed
//! scan order, Code Red II's local preference, the calendar with wrong clocks,
//! and the flood's volume and reachability gate.

use crate::support::{
    assert_same_distribution, minutes_into, replicate, replicate_with, uniform_head,
};
use wormsim::calendar::Phase;
use wormsim::engine::{EngineChoice, Event, NO_HOST, Observer, Simulation, View};
use wormsim::observe::flood::FloodMeter;
use wormsim::population::generate::block_levels;
use wormsim::scenario::Scenario;
use wormsim::time::SimTime;

fn scenario(body: &str) -> Scenario {
    Scenario::from_str("family.toml", body).unwrap_or_else(|e| panic!("{e}"))
}

fn crv1(extra_worm: &str, extra: &str, minutes: u32) -> Scenario {
    let head = uniform_head(
        "crv1-small",
        "2001-07-02T00:00:00Z",
        &minutes_into("2001-07-02", minutes),
        Some(16),
        400,
        "crv1",
    );
    scenario(&format!(
        r#"
{head}
scan_rate = 20.0
threads = 4
deface = false
initial_infected = 1
{extra_worm}
{extra}
"#
    ))
}

/// Per-host records of one run.
fn records(s: &Scenario, engine: EngineChoice, seed: u64) -> wormsim::engine::HostRecords {
    let mut sim = Simulation::new(s, seed, 0, engine).expect("setup");
    sim.run(&mut ());
    sim.hosts()
}

/// Without reboots or patches CRv1 is deterministic: the exact engine and the
/// per-probe reference must infect the same hosts, by the same infectors, at
/// the same times (both compute probe `k`'s time as `t0 + (k + 1 − x0)/v` from
/// the same bases, so they agree to rounding).
#[test]
fn crv1_is_exactly_the_per_probe_walk() {
    for (label, worm) in [
        ("shared sequence", "reinfection = \"ignore\""),
        ("re-infection adds instances", "max_instances = 2"),
        (
            "per-thread offsets",
            "per_thread_offset = true\nreinfection = \"ignore\"",
        ),
    ] {
        let s = crv1(worm, "", 60);
        let a = records(&s, EngineChoice::Auto, 5);
        let b = records(&s, EngineChoice::Reference, 5);
        let infected = a.first_infected_at.iter().filter(|t| !t.is_nan()).count();
        assert!(
            infected > 20,
            "{label}: only {infected} infected; the test would be weak"
        );
        // Per host: the same infector at the same time. (Threads of one host
        // probe in lockstep, so simultaneous infections are common; their order
        // in `infection_order` is a tie-break, not part of the model.)
        assert_eq!(
            a.first_infector, b.first_infector,
            "{label}: infectors differ"
        );
        for (x, y) in a.first_infected_at.iter().zip(&b.first_infected_at) {
            assert!(
                x.is_nan() && y.is_nan() || (x - y).abs() < 1e-6,
                "{label}: {x} vs {y}"
            );
        }
    }
}

/// With reboots and patching, CRv1 is random again: compare distributions, and
/// which second-level blocks end up infected (chi-square, pooled over runs).
#[test]
fn crv1_with_defenders_matches_the_reference() {
    let s = crv1(
        "max_instances = 2",
        "[defense.reboot]\nrate = 200\n[defense.patch]\nrate = 50\n",
        90,
    );
    same_times_and_sizes("CRv1 with defenders", &s, &[20, 60, 100], 200, (41, 42));
    assert_locality_matches(&s, 200, 20);
}

/// The same with per-thread offsets: every reboot makes a target again, and
/// the engine re-aims only the runners that could reach it before their
/// current aim (`Runners::retarget_to`; debug builds also check each kept aim
/// against a fresh search).
#[test]
fn crv1_per_thread_offsets_with_defenders_match_the_reference() {
    let s = crv1(
        "per_thread_offset = true\nmax_instances = 2",
        "[defense.reboot]\nrate = 200\n[defense.patch]\nrate = 50\n",
        60,
    );
    same_times_and_sizes(
        "CRv1 per-thread offsets with defenders",
        &s,
        &[20, 60],
        150,
        (43, 44),
    );
}

/// KS tests of the exact engine against the per-probe reference (`runs` each,
/// seeds `(reference, exact)`): the times to each of `thresholds` infected,
/// and the final size.
fn same_times_and_sizes(
    label: &str,
    s: &Scenario,
    thresholds: &[u32],
    runs: u64,
    seeds: (u64, u64),
) {
    let reference = replicate(s, EngineChoice::Reference, seeds.0, runs, thresholds);
    let exact = replicate(s, EngineChoice::Auto, seeds.1, runs, thresholds);
    for (i, n) in thresholds.iter().enumerate() {
        let col = |r: &[(Vec<Option<f64>>, u32, u32)]| {
            r.iter()
                .map(|x| x.0[i].unwrap_or(f64::INFINITY))
                .collect::<Vec<_>>()
        };
        assert_same_distribution(
            &format!("{label}, time to {n} infected"),
            &col(&exact),
            &col(&reference),
        );
    }
    let sizes =
        |r: &[(Vec<Option<f64>>, u32, u32)]| r.iter().map(|x| x.1 as f64).collect::<Vec<_>>();
    assert_same_distribution(
        &format!("{label}, final size"),
        &sizes(&exact),
        &sizes(&reference),
    );
}

fn crii(extra: &str, minutes: u32) -> Scenario {
    scenario(&format!(
        r#"
[scenario]
name = "crii-small"
start = 2001-08-04T00:00:00Z
end = 2001-08-04T{h:02}:{m:02}:00Z
space_bits = 16
[population]
model = "clustered"
hosts = 600
slash8_blocks = 6
slash16_blocks = 40
nt4_fraction = 0.3
chinese_fraction = 0.2
[worm]
variant = "crii"
scan_rate = 3.0
threads = 300
chinese_threads = 600
lifetime_hours = 0.5
crash_recovery_per_day = 200
initial_infected = 1
[calendar]
wrong_clocks = 0
{extra}
"#,
        h = minutes / 60,
        m = minutes % 60
    ))
}

/// Code Red II: prefix-aggregated rates against literal draws with rejection.
/// Hosts are patched at the start and during the run, so NT 4 hosts are
/// patched while susceptible and while crashed.
#[test]
fn crii_local_preference_matches_the_reference() {
    let s = crii(
        "[defense.reboot]\nrate = 20\n[defense.patch]\nrate = 4\ninitial_fraction = 0.2\n",
        60,
    );
    let th = [40, 150, 260];
    // Each run's milestones, final size, and its NT 4 crashes and the hosts
    // down at the end.
    type Run = (Vec<Option<f64>>, u32, [f64; 2]);
    let replicate = |engine, seed| -> Vec<Run> {
        replicate_with(&s, engine, seed, 300, &th, |sim| {
            [sim.counters().crashes as f64, sim.view().crashed as f64]
        })
    };
    let reference = replicate(EngineChoice::Reference, 51);
    let exact = replicate(EngineChoice::Auto, 52);
    for (i, what, least) in [
        (0, "CRII NT 4 crashes", 20.0),
        (1, "CRII hosts down at the end", 2.0),
    ] {
        let col = |r: &[Run]| r.iter().map(|x| x.2[i]).collect::<Vec<_>>();
        let mean = col(&exact).iter().sum::<f64>() / 300.0;
        assert!(mean > least, "{what}: {mean} per run, too few to test");
        assert_same_distribution(what, &col(&exact), &col(&reference));
    }
    for (i, name) in [(0, "40"), (1, "150"), (2, "260")] {
        let col = |r: &[Run]| {
            r.iter()
                .map(|x| x.0[i].unwrap_or(f64::INFINITY))
                .collect::<Vec<_>>()
        };
        assert_same_distribution(
            &format!("CRII time to {name} infected"),
            &col(&exact),
            &col(&reference),
        );
    }
    let final_size = |r: &[Run]| r.iter().map(|x| x.1 as f64).collect::<Vec<_>>();
    assert_same_distribution(
        "CRII final size",
        &final_size(&exact),
        &final_size(&reference),
    );
    let (l16, l8, other) = {
        let c = locality_of_kth(&s, EngineChoice::Auto, 63, 100, 20);
        (c[0], c[1], c[2])
    };
    // The test only means something if the worm is local: most infections stay
    // in the infector's /8 or /16.
    assert!(l16 + l8 > 2.0 * other, "not local: {l16} {l8} {other}");
    assert_locality_matches(&s, 300, 20);
}

/// The infectors of probes that crash their target: drawn, from a stream of
/// their own, only for an observer that reads them. The outbreak is the same
/// with and without such an observer; each infector it reads is a host
/// infected at the time; an observer that does not read them gets `NO_HOST`.
#[test]
fn crash_infectors_are_drawn_only_for_observers_that_read_them() {
    struct Crashes<const READS: bool> {
        by: Vec<(f64, u32)>,
        none: u64,
    }
    impl<const READS: bool> Observer for Crashes<READS> {
        const CRASH_INFECTORS: bool = READS;
        fn event(&mut self, e: &Event, _v: &View) {
            if let Event::Crash { t, infector, .. } = *e {
                if infector == NO_HOST {
                    self.none += 1;
                } else {
                    self.by.push((t.secs(), infector));
                }
            }
        }
    }
    // Local preference (CRII's own), and uniform scanning.
    for model in ["local", "uniform"] {
        let mut s = crii("", 60);
        if model == "uniform" {
            s.worm.scan = wormsim::scenario::ScanStrategy::Uniform;
        }
        let run = |obs: &mut dyn FnMut(&mut Simulation)| {
            let mut sim = Simulation::new(&s, 4, 0, EngineChoice::General).expect("setup");
            obs(&mut sim);
            sim
        };
        let mut reads = Crashes::<true> {
            by: vec![],
            none: 0,
        };
        let mut not = Crashes::<false> {
            by: vec![],
            none: 0,
        };
        let mut a = run(&mut |sim| sim.run(&mut ()));
        let mut b = run(&mut |sim| sim.run(&mut reads));
        let mut c = run(&mut |sim| sim.run(&mut not));
        let crashes = a.counters().crashes;
        assert!(crashes > 100, "{model}: only {crashes} crashes");
        let ha = a.hosts();
        for x in [&mut b, &mut c] {
            assert!(crate::support::same_records(&ha, &x.hosts()));
            assert_eq!(a.counters(), x.counters());
        }
        assert_eq!((reads.none, reads.by.len() as u64), (0, crashes));
        assert_eq!((not.none, not.by.len()), (crashes, 0));
        let h = b.hosts();
        for &(t, by) in &reads.by {
            assert!(
                h.first_infected_at[by as usize] <= t,
                "{model}: infector {by} at {t}"
            );
        }
    }
}

/// Where infection number `k` (seeds excluded) lands relative to its infector:
/// 0 = same second-level block (the "/16"), 1 = same top block (the "/8") but
/// another /16, 2 = elsewhere. One observation per run, so runs are independent.
fn locality_of_kth(s: &Scenario, engine: EngineChoice, seed: u64, runs: u64, k: usize) -> [f64; 3] {
    let (la, lb) = block_levels(s.space_bits);
    let mut c = [0.0; 3];
    for r in 0..runs {
        let mut sim = Simulation::new(s, seed, r, engine).expect("setup");
        sim.run(&mut ());
        let addrs = sim.population().addrs().to_vec();
        let h = sim.hosts();
        let Some(&v) = h
            .infection_order
            .iter()
            .filter(|&&i| h.first_infector[i as usize] != NO_HOST)
            .nth(k)
        else {
            continue;
        };
        let (a, b) = (
            addrs[v as usize],
            addrs[h.first_infector[v as usize] as usize],
        );
        let same = |len: u8| (a >> (s.space_bits - len)) == (b >> (s.space_bits - len));
        c[if same(lb) {
            0
        } else if same(la) {
            1
        } else {
            2
        }] += 1.0;
    }
    c
}

/// Two-sample chi-square (2 x 3) on [`locality_of_kth`]: which blocks the worm
/// reaches, relative to where it comes from. Threshold p = 1e-6 (2 dof: 27.6).
fn assert_locality_matches(s: &Scenario, runs: u64, k: usize) {
    let a = locality_of_kth(s, EngineChoice::Auto, 61, runs, k);
    let b = locality_of_kth(s, EngineChoice::Reference, 62, runs, k);
    let (na, nb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    let mut chi = 0.0;
    for j in 0..3 {
        let tot = a[j] + b[j];
        let (ea, eb) = (tot * na / (na + nb), tot * nb / (na + nb));
        if tot > 0.0 {
            chi += (a[j] - ea).powi(2) / ea + (b[j] - eb).powi(2) / eb;
        }
    }
    eprintln!(
        "locality of infection {k} in {}: exact {a:?}, reference {b:?}, chi2 = {chi:.2} (critical 27.6)",
        s.name
    );
    assert!(
        chi < 27.6,
        "{}: the blocks reached differ (chi2 {chi:.2})",
        s.name
    );
}

/// Records, for every infection and flood start, the phase of the acting host's
/// own clock at that moment.
struct ClockAudit {
    offsets: Vec<f64>,
    bad: Vec<String>,
    infections: u64,
    floods: u64,
}

impl Observer for ClockAudit {
    fn event(&mut self, e: &Event, _v: &View) {
        match *e {
            Event::Infection {
                t,
                infector: Some(by),
                ..
            } => {
                self.infections += 1;
                let p = Phase::at_offset(t, self.offsets[by as usize]);
                if p != Phase::Spread {
                    self.bad.push(format!(
                        "infection at {t} by a host whose clock says {}",
                        p.name()
                    ));
                }
            }
            Event::Flood { t, host, instances } if instances > 0 => {
                self.floods += 1;
                let p = Phase::at_offset(t, self.offsets[host as usize]);
                if p != Phase::Flood {
                    self.bad.push(format!(
                        "flood start at {t} by a host whose clock says {}",
                        p.name()
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Every host follows its own clock through a whole month: infections only on
/// its days 1–19, floods only on its days 20–27, across month ends.
#[test]
fn every_host_follows_its_own_clock() {
    let head = uniform_head(
        "clocks",
        "2001-07-10T00:00:00Z",
        "2001-08-12T00:00:00Z",
        Some(16),
        2000,
        "crv2",
    );
    let s = scenario(&format!(
        r#"
{head}
scan_rate = 0.02
initial_infected = 20
[calendar]
wrong_clocks = 2000
wrong_clock_max_days = 30
wake_lag_hours = 2
[defense.reboot]
rate = 0.5
"#
    ));
    let mut sim = Simulation::new(&s, 3, 0, EngineChoice::Auto).expect("setup");
    let offsets = (0..2000).map(|h| sim.setup().clock_offset(h)).collect();
    let mut audit = ClockAudit {
        offsets,
        bad: Vec::new(),
        infections: 0,
        floods: 0,
    };
    sim.run(&mut audit);
    assert!(
        audit.infections > 500 && audit.floods > 200,
        "{} infections, {} floods",
        audit.infections,
        audit.floods
    );
    assert!(
        audit.bad.is_empty(),
        "{:?}",
        &audit.bad[..audit.bad.len().min(5)]
    );
}

fn flood_scenario(extra: &str) -> Scenario {
    let head = uniform_head(
        "flood",
        "2001-07-19T23:00:00Z",
        "2001-07-28T00:00:00Z",
        Some(16),
        60,
        "crv2",
    );
    scenario(&format!(
        r#"
{head}
scan_rate = 1e-6
initial_infected = 50
[flood]
{extra}
"#
    ))
}

fn run_flood(s: &Scenario, engine: EngineChoice) -> FloodMeter {
    let mut sim = Simulation::new(s, 1, 0, engine).expect("setup");
    let mut meter = FloodMeter::for_scenario(s, sim.population().len());
    sim.run(&mut meter);
    meter.finish();
    assert_eq!(
        sim.view().infected,
        50,
        "no spreading, no clearing in this scenario"
    );
    meter
}

/// With no move and no filter, every flooding host bursts every 4 h from 00:00
/// on the 20th to 00:00 on the 28th: 48 bursts of 400 MB each, in the general
/// engine and in the per-probe reference alike.
#[test]
fn flood_volume_follows_the_parameters() {
    for engine in [EngineChoice::General, EngineChoice::Reference] {
        flood_volume_in(engine);
    }
}

fn flood_volume_in(engine: EngineChoice) {
    let m = run_flood(&flood_scenario(""), engine);
    assert_eq!(m.bursts, 50 * 48);
    assert_eq!(m.bytes_delivered, 50.0 * 48.0 * 400e6);
    let first = SimTime::from_ymd(2001, 7, 20);
    let conns: f64 = m
        .rows()
        .iter()
        .filter(|r| r.time.secs() <= first.secs() + 60.0)
        .map(|r| r.target_connections)
        .sum();
    assert_eq!(
        conns,
        50.0 * 100.0,
        "every flooding host opens 100 connections at 00:00"
    );
}

/// With the move and the upstream filter, nothing reaches 198.137.240.91 after
/// the filter time, and the site never gets a byte.
#[test]
fn move_and_filter_defeat_the_flood() {
    for engine in [EngineChoice::General, EngineChoice::Reference] {
        move_and_filter_in(engine);
    }
}

fn move_and_filter_in(engine: EngineChoice) {
    let m = run_flood(
        &flood_scenario("move_at = 2001-07-19T23:30:00Z\nfilter_at = 2001-07-20T06:00:00Z\n"),
        engine,
    );
    assert_eq!(m.bytes_delivered, 0.0);
    let filter = SimTime::parse_rfc3339("2001-07-20T06:00:00Z")
        .unwrap()
        .secs();
    let after: f64 = m
        .rows()
        .iter()
        .filter(|r| r.time.secs() > filter)
        .map(|r| r.target_packets + r.target_bytes)
        .sum();
    assert_eq!(after, 0.0);
    // Before the filter, the connection attempts still arrive (00:00 and 04:00).
    let before: f64 = m
        .rows()
        .iter()
        .filter(|r| r.time.secs() <= filter)
        .map(|r| r.target_connections)
        .sum();
    assert_eq!(before, 2.0 * 50.0 * 100.0);
}

/// With reboots and patches clearing hosts during the flood phase, the flood
/// the general engine reports has the law of the per-probe reference's
/// (bursts per run, KS over 200 runs each; different seeds, independent runs).
#[test]
fn flood_under_defenders_matches_the_reference() {
    let s = flood_scenario("\n[defense.reboot]\nrate = 0.3\n[defense.patch]\nrate = 0.1\n");
    let bursts = |engine: EngineChoice, seed: u64| -> Vec<f64> {
        (0..200)
            .map(|rep| {
                let mut sim = Simulation::new(&s, seed, rep, engine).expect("setup");
                let mut meter = FloodMeter::for_scenario(&s, sim.population().len());
                sim.run(&mut meter);
                meter.finish();
                meter.bursts as f64
            })
            .collect()
    };
    let general = bursts(EngineChoice::General, 11);
    let reference = bursts(EngineChoice::Reference, 12);
    let mean = general.iter().sum::<f64>() / general.len() as f64;
    assert!(
        mean > 200.0 && mean < 0.9 * 50.0 * 48.0,
        "defenders should cut the flood, not end it: mean {mean} bursts"
    );
    assert_same_distribution("flood bursts under defenders", &general, &reference);
}
