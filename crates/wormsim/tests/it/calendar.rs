//! The calendar in the CRv2 preset: spreading stops at 00:00 UTC on 20 July.

use wormsim::engine::{EngineChoice, Event, NO_HOST, Observer, Simulation, View};
use wormsim::preset;
use wormsim::time::SimTime;

/// Records the last infection caused by a probe, and the phase events.
#[derive(Default)]
struct LastInfection {
    last: Option<SimTime>,
    phases: Vec<(SimTime, wormsim::calendar::Phase)>,
}

impl Observer for LastInfection {
    fn event(&mut self, e: &Event, _v: &View) {
        match *e {
            Event::Infection {
                t,
                infector: Some(_),
                ..
            } => self.last = Some(t),
            Event::Phase { t, phase } => self.phases.push((t, phase)),
            _ => {}
        }
    }
}

#[test]
fn no_infection_at_or_after_the_20th_in_the_preset() {
    let s = preset::load("codered-v2-2001-07-19").expect("preset");
    let stop = SimTime::from_ymd(2001, 7, 20);
    let mut sim = Simulation::new(&s, 1, 0, EngineChoice::Auto).expect("setup");
    let mut obs = LastInfection::default();
    sim.run(&mut obs);
    let last = obs.last.expect("the worm spread");
    assert!(last < stop, "last infection at {last}");
    // The run goes on for six hours after the stop, with infected hosts left.
    assert!(sim.view().infected > 100_000);
    assert_eq!(obs.phases, vec![(stop, wormsim::calendar::Phase::Flood)]);
    // Per-host records agree: no first infection by a probe at or after the stop.
    let h = sim.hosts();
    let late = h
        .first_infected_at
        .iter()
        .zip(&h.first_infector)
        .filter(|&(&t, &by)| by != NO_HOST && t >= stop.secs())
        .count();
    assert_eq!(late, 0);
}

#[test]
fn spreading_resumes_on_the_first_of_the_month() {
    // A generic run from 31 July 23:00 to 1 August 01:00 with the calendar on:
    // nothing happens until midnight, then the worm spreads.
    let text = r#"
[scenario]
name = "wake"
start = 2001-07-31T23:00:00Z
end = 2001-08-01T01:00:00Z
space_bits = 16
[population]
model = "uniform"
hosts = 300
[worm]
variant = "crv2"
scan_rate = 20.0
initial_infected = 5
"#;
    let s = wormsim::scenario::Scenario::from_str("wake.toml", text).expect("valid");
    let aug1 = SimTime::from_ymd(2001, 8, 1);
    for engine in [
        EngineChoice::Auto,
        EngineChoice::General,
        EngineChoice::Reference,
    ] {
        let mut sim = Simulation::new(&s, 4, 0, engine).expect("setup");
        sim.run_until(aug1, &mut ());
        assert_eq!(
            sim.view().ever_infected,
            5,
            "{}: dormant on 31 July",
            sim.engine_name()
        );
        sim.run(&mut ());
        assert!(
            sim.view().ever_infected > 250,
            "{}: spreads on 1 August",
            sim.engine_name()
        );
    }
}
