//! Feed arbitrary text to the scenario parser and, for every scenario it
//! accepts with at most 20,000 hosts, build the run's setup (population,
//! traits, clocks, seeds, patch queue) and engine: parsing and setup must
//! return Ok or a typed Err, never panic or hang. (The parser alone accepted a
//! Zipf exponent that made the clustered generator spin; see FUZZING.md.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use wormsim::engine::{EngineChoice, Simulation};
use wormsim::population::PopulationSpec;
use wormsim::scenario::Scenario;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(s) = Scenario::from_str("fuzz.toml", text) else {
        return;
    };
    // Files and checkpoints would be read from the fuzzer's directory.
    let hosts = match &s.population {
        PopulationSpec::Uniform { hosts } | PopulationSpec::Clustered { hosts, .. } => *hosts,
        _ => return,
    };
    if hosts > 20_000 {
        return;
    }
    let _ = Simulation::new(&s, 1, 0, EngineChoice::Auto);
});
