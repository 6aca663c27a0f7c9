//! `wormsim check`

use crate::args::CheckArgs;
use std::process::ExitCode;
use wormsim::engine::Setup;
use wormsim::rng::Streams;

pub fn run(a: &CheckArgs) -> anyhow::Result<ExitCode> {
    let s = super::load_scenario(&a.scenario)?;
    // Build the population and seeds too: that catches seeds that are not hosts
    // and populations that do not fit, without running anything.
    let setup = Setup::new(&s, &Streams::new(s.seed, 0)).map_err(|e| super::setup_error(&s, e))?;
    println!(
        "ok: {}: scenario `{}`, {} hosts in a 2^{} space, {} to {}",
        s.source_name,
        s.name,
        setup.population.len(),
        s.space_bits,
        s.start,
        s.end
    );
    Ok(ExitCode::SUCCESS)
}
