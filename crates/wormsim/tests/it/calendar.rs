//! The calendar in the CRv2 preset: spreading stops at 00:00 UTC on 20 July.

use wormsim::engine::{EngineChoice, Event, NO_HOST, Observer, Simulation, View};
use wormsim::preset;
use wormsim::time::SimTime;

/// Records infections by right-clock hosts at or after a time, and phase events.
struct Late {
    stop: SimTime,
    wrong: Vec<bool>,
    by_right_clock_after_stop: u64,
    by_wrong_clock_after_stop: u64,
    phases: Vec<(SimTime, wormsim::calendar::Phase)>,
}

impl Observer for Late {
    fn event(&mut self, e: &Event, _v: &View) {
        match *e {
            Event::Infection {
                t,
                infector: Some(by),
                ..
            } if t >= self.stop => {
                if self.wrong[by as usize] {
                    self.by_wrong_clock_after_stop += 1;
                } else {
                    self.by_right_clock_after_stop += 1;
                }
            }
            Event::Phase { t, phase } => self.phases.push((t, phase)),
            _ => {}
        }
    }
}

#[test]
fn no_right_clock_host_infects_at_or_after_the_20th_in_the_preset() {
    let s = preset::load("codered-v2-2001-07-19").expect("preset");
    let stop = SimTime::from_ymd(2001, 7, 20);
    let mut sim = Simulation::new(&s, 1, 0, EngineChoice::Auto).expect("setup");
    let n = sim.population().len();
    let wrong = (0..n as u32)
        .map(|h| sim.setup().clock_offset(h) != 0.0)
        .collect();
    let mut obs = Late {
        stop,
        wrong,
        by_right_clock_after_stop: 0,
        by_wrong_clock_after_stop: 0,
        phases: Vec::new(),
    };
    sim.run(&mut obs);
    assert_eq!(
        obs.by_right_clock_after_stop, 0,
        "a right-clock host infected after the stop"
    );
    // The preset's 2,000 wrong clocks do keep spreading for a while.
    assert!(obs.by_wrong_clock_after_stop > 0);
    // The run goes on for six hours after the stop, with infected hosts left.
    assert!(sim.view().infected > 100_000);
    assert_eq!(obs.phases, vec![(stop, wormsim::calendar::Phase::Flood)]);
    // Per-host records agree: no first infection by a right-clock probe at or after the stop.
    let h = sim.hosts();
    let late = h
        .first_infected_at
        .iter()
        .zip(&h.first_infector)
        .filter(|&(&t, &by)| {
            by != NO_HOST && t >= stop.secs() && sim.setup().clock_offset(by) == 0.0
        })
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
