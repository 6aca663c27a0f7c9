//! Same seed, same outbreak; observers never change it; the records handed
//! over at the end are the records copied.

use wormsim::engine::{EngineChoice, Simulation};
use wormsim::observe::Series;
use wormsim::preset;

#[test]
fn same_seed_same_records_in_every_engine() {
    let s = crate::support::small(
        300,
        20.0,
        10,
        "[defense.patch]\nrate = 50\n[defense.reboot]\nrate = 100\n",
    );
    for engine in [
        EngineChoice::Auto,
        EngineChoice::General,
        EngineChoice::Reference,
    ] {
        let run = |seed| {
            let mut sim = Simulation::new(&s, seed, 3, engine).expect("setup");
            sim.run(&mut ());
            (sim.hosts(), sim.counters())
        };
        let (a, b, c) = (run(9), run(9), run(10));
        assert!(
            crate::support::same_records(&a.0, &b.0),
            "same seed, same records"
        );
        assert_eq!(a.1, b.1);
        assert!(
            !crate::support::same_records(&a.0, &c.0),
            "another seed, another outbreak"
        );
        // Handing the records over at the end (what `wormsim run` does) gives
        // the records a copy gives.
        let mut sim = Simulation::new(&s, 9, 3, engine).expect("setup");
        sim.run(&mut ());
        assert!(
            crate::support::same_records(&a.0, &sim.into_hosts()),
            "into_hosts() is hosts()"
        );
    }
}

#[test]
fn observers_do_not_change_the_outbreak() {
    // The fast path assigns identities lazily when the observer does not need
    // them: the records must be the same as with an observer that does.
    let s = preset::load("codered-v2-2001-07-19").expect("preset");
    let mut s = s;
    s.defense.patch = wormsim::schedule::RateSchedule::zero();
    s.defense.reboot = wormsim::schedule::RateSchedule::zero();
    s.worm.reinfection = wormsim::scenario::Reinfection::Ignore;
    s.calendar.wrong_clocks = 0;
    s.end = s.start.plus(8.0 * 3600.0);
    assert_eq!(
        wormsim::engine::Plan::select(&s),
        wormsim::engine::Plan::FastSi
    );
    let mut a = Simulation::new(&s, 5, 0, EngineChoice::Auto).expect("setup");
    a.run(&mut ());
    let mut b = Simulation::new(&s, 5, 0, EngineChoice::Auto).expect("setup");
    let mut series = Series::new(s.start, s.end, 60.0);
    let mut hosts_seen = crate::support::Milestones::new(s.start, vec![]);
    // A pair whose first member needs host identities (the default).
    struct NeedsHosts(u64);
    impl wormsim::engine::Observer for NeedsHosts {
        fn event(&mut self, e: &wormsim::engine::Event, _v: &wormsim::engine::View) {
            if let wormsim::engine::Event::Infection { host, .. } = e {
                assert_ne!(*host, wormsim::engine::NO_HOST);
                self.0 += 1;
            }
        }
    }
    let mut needs = NeedsHosts(0);
    b.run_until(
        s.start.plus(3.0 * 3600.0),
        &mut (&mut series, &mut hosts_seen),
    );
    b.run(&mut (&mut needs, &mut series));
    assert!(needs.0 > 0);
    assert!(crate::support::same_records(&a.hosts(), &b.hosts()));
    assert_eq!(a.counters(), b.counters());
}
