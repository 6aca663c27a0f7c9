//! `wormsim check`

use crate::args::CheckArgs;
use std::path::Path;
use std::process::ExitCode;
use wormsim::engine::Setup;
use wormsim::rng::Streams;

pub fn run(a: &CheckArgs) -> anyhow::Result<ExitCode> {
    let path = Path::new(&a.scenario);
    if path.is_file()
        && std::fs::read_to_string(path).is_ok_and(|text| wormsim::sweep::is_sweep_text(&text))
    {
        return check_sweep(path);
    }
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

/// A sweep file: every point's scenario validated and set up (as `wormsim
/// sweep` does before it writes anything), nothing run.
fn check_sweep(path: &Path) -> anyhow::Result<ExitCode> {
    let (sweep, _) = super::sweep::load(path, None)?;
    let firsts: Vec<u64> = (0..sweep.points()).map(|p| sweep.unit_id(p, 0)).collect();
    super::sweep::set_up_points(&sweep, &firsts)?;
    println!(
        "ok: {}: sweep `{}` over {}: {} points x {} replicates = {} work units; every point's \
         scenario is valid",
        sweep.source_name,
        sweep.name,
        sweep.scenario.name,
        sweep.points(),
        sweep.replicates,
        sweep.units()
    );
    Ok(ExitCode::SUCCESS)
}
