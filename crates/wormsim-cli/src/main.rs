//! `wormsim`: a thin command-line layer over the `wormsim` library.
//!
//! All simulation logic lives in the library; this binary parses arguments,
//! calls it, renders results and writes files atomically.

mod args;
mod atomic;
mod cmd;
mod error;
mod export;
mod outdir;
mod outputs;
mod plot;
mod preflight;
mod progress;
mod report;
mod units;

use std::process::ExitCode;

/// Large blocks on transparent huge pages: see [`wormsim::alloc`].
#[global_allocator]
static ALLOC: wormsim::alloc::HugePages = wormsim::alloc::HugePages;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            if error::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            if error::is_input_error(&err) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = args::parse();
    match cli.command {
        args::Command::Run(a) => cmd::run::run(&a),
        args::Command::Presets(a) => cmd::presets::run(&a),
        args::Command::Check(a) => cmd::check::run(&a),
        args::Command::Logs(a) => cmd::logs::run(&a),
        args::Command::Fit(a) => cmd::fit::run(&a),
        args::Command::Ensemble(a) => cmd::ensemble::run(&a),
        args::Command::Sweep(a) => cmd::sweep::run(&a),
        args::Command::Merge(a) => cmd::merge::run(&a),
        args::Command::SlurmScript(a) => cmd::slurm_script::run(&a),
        args::Command::Report(a) => cmd::report::run(&a),
        args::Command::Validate(a) => cmd::validate::run(&a),
    }
}
