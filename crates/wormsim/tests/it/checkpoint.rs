//! A run chained through a checkpoint has the law of the run not broken.
//!
//! The checkpoint is taken at 02:00 on 1 August, a third of the way through the
//! lagged wake window: hosts have threads still asleep (some of them in
//! sessions detached at the weight ceiling, whose sleepers the checkpoint
//! draws), patch installs downloaded but not yet installed (whose download
//! times the engine replays), pooled hosts, wrong clocks and reboots. The
//! chained runs (saved at `T`, resumed by a scenario starting at `T`) and the
//! unbroken runs of the general engine, itself tested against the per-probe
//! reference (`exactness.rs`), are compared by two-sample KS tests on what
//! happens after `T`.
//!
//! What it catches, tried by mutants: installs counted as pending only if
//! downloaded a day before `T` (patches after `T`: D = 0.23 at 300 runs), and
//! sleepers of detached sessions drawn with 0.8 times their probability
//! (threads awake at 04:00: D = 0.14 against 0.087 at 1,000 runs). What it
//! cannot: a checkpoint that reports every thread awake changes no dynamics
//! here, because with the same weight ceiling after `T` the extra threads of a
//! host at its ceiling change nothing, and a 0.9 factor on the sleepers is
//! within the noise (D = 0.076).

use crate::support::{assert_same_distribution, pooled_crv2_head, same_records};
use wormsim::checkpoint::Checkpoint;
use wormsim::engine::{Counters, EngineChoice, HostState, Keep, Simulation};
use wormsim::scenario::Scenario;
use wormsim::time::SimTime;

const RUNS: u64 = 1000;

/// The scenario's text.
fn text() -> String {
    let head = pooled_crv2_head(
        "chain",
        "2001-07-19T22:00:00Z",
        "2001-08-02T00:00:00Z",
        "0.3",
        60,
    );
    format!(
        r#"
{head}
[calendar]
wake = "lagged"
wake_lag_hours = 6
wrong_clocks = 10
wrong_clock_max_days = 2
[defense.patch]
rate = 0.05
lag = "exponential"
lag_mean_days = 3
[defense.reboot]
rate = 0.05
[output]
bin = 600
"#
    )
}

/// What happens after the checkpoint time, in one run.
struct After {
    /// Instances added from `T` to 06:00 (the rest of the wake window).
    early: f64,
    /// Instances added from 06:00 to the end.
    late: f64,
    infections: f64,
    patches: f64,
    infected_at_end: f64,
    ever_at_end: f64,
    /// Threads awake at 04:00, as a checkpoint then reports them.
    awake_mid: f64,
}

/// A statistic of one run.
type Stat = fn(&After) -> f64;

/// Threads awake on infected hosts, as a checkpoint reports them now.
fn awake(sim: &mut Simulation) -> f64 {
    let ck = sim.checkpoint().expect("a CRv2 run saves a checkpoint");
    ck.hosts
        .iter()
        .filter(|h| h.state == HostState::Infected)
        .map(|h| f64::from(h.awake))
        .sum()
}

/// `hours` after 00:00 on 1 August 2001.
fn aug1(hours: f64) -> SimTime {
    SimTime::from_ymd(2001, 8, 1).plus(hours * 3600.0)
}

/// The checkpoint time `T`: 02:00 on 1 August.
const T_HOURS: f64 = 2.0;

/// The scenario, with its patch download rate line set to `patch_rate`,
/// starting at `T` from the state of the run it is given.
fn resumed_at_t(patch_rate: &str, ck: Checkpoint) -> Scenario {
    let text = text()
        .replace(
            "start = 2001-07-19T22:00:00Z",
            "start = 2001-08-01T02:00:00Z",
        )
        .replace("rate = 0.05\nlag", &format!("{patch_rate}\nlag"));
    Scenario::from_str("chain-from-t.toml", &text)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_checkpoint(ck)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Run replicate `r` of the scenario from its start to `T` and save it.
fn saved_at_t(s: &Scenario, seed: u64, r: u64) -> Checkpoint {
    let mut sim = Simulation::new(s, seed, r, EngineChoice::General).expect("setup");
    sim.run_until(aug1(T_HOURS), &mut ());
    sim.checkpoint().expect("a CRv2 run saves a checkpoint")
}

/// Run `sim`, which is at `T` with counters `c0`, to the end, and say what
/// happened after `T`.
fn after(sim: &mut Simulation, c0: &Counters) -> After {
    sim.run_until(aug1(4.0), &mut ());
    let awake_mid = awake(sim);
    sim.run_until(aug1(6.0), &mut ());
    let c1 = sim.counters();
    sim.run(&mut ());
    let (c2, v) = (sim.counters(), sim.view());
    After {
        early: (c1.instances_added - c0.instances_added) as f64,
        late: (c2.instances_added - c1.instances_added) as f64,
        infections: (c2.infections - c0.infections) as f64,
        patches: (c2.patches - c0.patches) as f64,
        infected_at_end: f64::from(v.infected),
        ever_at_end: f64::from(v.ever_infected),
        awake_mid,
    }
}

#[test]
fn a_run_chained_through_a_checkpoint_has_the_law_of_the_unbroken_run() {
    let s = Scenario::from_str("chain.toml", &text()).unwrap_or_else(|e| panic!("{e}"));
    let mut unbroken = Vec::new();
    let mut chained = Vec::new();
    let (mut asleep, mut pending) = (0u64, 0u64);
    for r in 0..RUNS {
        // Unbroken (a stop is not a break: tested in exactness.rs).
        let mut sim = Simulation::new(&s, 41, r, EngineChoice::General).expect("setup");
        sim.run_until(aug1(T_HOURS), &mut ());
        let c0 = sim.counters();
        unbroken.push(after(&mut sim, &c0));

        // Saved at T, resumed by a scenario that starts at T.
        let ck = saved_at_t(&s, 42, r);
        for h in &ck.hosts {
            if h.state == HostState::Infected {
                asleep += u64::from(
                    (u32::from(h.threads) * u32::from(h.instances)).saturating_sub(h.awake),
                );
            }
            if !h.patch_at.is_nan() {
                pending += 1;
            }
        }
        let resumed = resumed_at_t("rate = 0.05", ck);
        let mut sim = Simulation::new(&resumed, 43, r, EngineChoice::General).expect("setup");
        chained.push(after(&mut sim, &Counters::default()));
    }
    let mean = |v: &[After], f: Stat| v.iter().map(f).sum::<f64>() / v.len() as f64;
    let (early, patches) = (mean(&unbroken, |x| x.early), mean(&unbroken, |x| x.patches));
    eprintln!(
        "unbroken: mean instances added {early:.1} from T to 06:00, patches {patches:.2} after T; \
         at T: {asleep} threads asleep, {pending} installs pending over {RUNS} runs"
    );
    // Not degenerate: the wake window, the sleepers and the pending installs
    // all matter after T.
    assert!(early > 5.0, "only {early} instances added from T to 06:00");
    assert!(asleep > 10 * RUNS, "only {asleep} threads asleep at T");
    assert!(pending > 3 * RUNS, "only {pending} installs pending at T");
    assert!(patches > 2.0, "only {patches} patches after T");

    let stats: [(&str, Stat); 7] = [
        ("threads awake at 04:00", |x| x.awake_mid),
        ("instances added from T to 06:00", |x| x.early),
        ("instances added from 06:00 to the end", |x| x.late),
        ("infections after T", |x| x.infections),
        ("patches after T", |x| x.patches),
        ("infected at the end", |x| x.infected_at_end),
        ("ever infected at the end", |x| x.ever_at_end),
    ];
    for (what, f) in stats {
        let a: Vec<f64> = unbroken.iter().map(f).collect();
        let b: Vec<f64> = chained.iter().map(f).collect();
        assert_same_distribution(&format!("chained at 02:00 on 1 August: {what}"), &a, &b);
    }
}

/// An install pending in the checkpoint a run started from stays pending in
/// the checkpoint that run saves, until it happens, even if the run's own
/// scenario does not patch.
#[test]
fn pending_installs_survive_a_second_checkpoint() {
    let s = Scenario::from_str("chain.toml", &text()).unwrap_or_else(|e| panic!("{e}"));
    let t2 = aug1(4.0);
    for patching in ["rate = 0.05", "rate = 0.0"] {
        let (mut kept, mut done) = (0, 0);
        for r in 0..20 {
            let ck = saved_at_t(&s, 7, r);
            let pending: Vec<(usize, f64)> = ck
                .hosts
                .iter()
                .enumerate()
                .filter(|(_, h)| !h.patch_at.is_nan())
                .map(|(i, h)| (i, h.patch_at))
                .collect();
            let resumed = resumed_at_t(patching, ck);
            let mut sim = Simulation::new(&resumed, 8, r, EngineChoice::General).expect("setup");
            sim.run_until(t2, &mut ());
            let ck2 = sim.checkpoint().expect("a CRv2 run saves a checkpoint");
            for (i, at) in pending {
                let h = &ck2.hosts[i];
                if at <= t2.secs() {
                    assert_eq!(
                        h.state,
                        HostState::Patched,
                        "{patching}: host {i} installs at {at}"
                    );
                    done += 1;
                } else {
                    assert_eq!(
                        h.patch_at.to_bits(),
                        at.to_bits(),
                        "{patching}: host {i}'s install at {at} is no longer pending"
                    );
                    kept += 1;
                }
            }
        }
        assert!(
            kept > 20 && done > 5,
            "{patching}: {kept} kept, {done} installed: a weak test"
        );
    }
}

/// A run that keeps only what its outputs need (`wormsim run` without
/// `--save-checkpoint`, ensembles, sweeps) is the same run, event for event,
/// and refuses to be saved as a checkpoint instead of saving one without its
/// infection start times. The scenario has re-infection, pooling, reboots,
/// patching and wrong clocks; its chained half starts from a checkpoint, so
/// the restore path is compared too.
#[test]
fn a_run_keeping_only_its_outputs_is_the_same_run_and_saves_no_checkpoint() {
    let s = Scenario::from_str("chain.toml", &text()).unwrap_or_else(|e| panic!("{e}"));
    let resumed = resumed_at_t("rate = 0.05", saved_at_t(&s, 7, 0));
    for (what, sc) in [("whole", &s), ("resumed", &resumed)] {
        let run = |keep| {
            let mut sim =
                Simulation::with_keep(sc, 11, 2, EngineChoice::General, keep).expect("setup");
            let mut series = wormsim::observe::Series::for_scenario(sc);
            sim.run(&mut series);
            (sim.checkpoint(), sim.counters(), series, sim.into_hosts())
        };
        let (ck_full, c_full, series_full, hosts_full) = run(Keep::Checkpoint);
        let (ck_lean, c_lean, series_lean, hosts_lean) = run(Keep::Outputs);
        assert!(ck_full.is_ok(), "{what}: the full run saves a checkpoint");
        let err = ck_lean.expect_err("a run keeping only its outputs saves no checkpoint");
        assert!(
            err.to_string().contains("Keep::Checkpoint"),
            "{what}: the error names the fix: {err}"
        );
        assert_eq!(c_full, c_lean, "{what}: counters");
        assert!(
            c_full.events > 500 && c_full.reinfections > 0 && c_full.reboots > 0,
            "{what}: a weak test ({c_full:?})"
        );
        assert!(
            same_records(&hosts_full, &hosts_lean),
            "{what}: per-host records"
        );
        assert_eq!(
            format!("{series_full:?}"),
            format!("{series_lean:?}"),
            "{what}: series"
        );
    }
}
