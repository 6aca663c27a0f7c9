//! # wormsim
//!
//! Exact, fast simulation of Internet worm outbreaks, starting with Code Red
//! (July–August 2001). wormsim is simulation and analysis only: nothing here sends
//! a packet.
//!
//! ```text
//!  scenarios/*.toml ──► scenario::Scenario (two-stage, validated)
//!                              │
//!                              ▼
//!  population ─► engine::Setup ─► engine::Simulation ──events──► observe::Series ─► summary::Summary
//!                                  (fast SI | general | per-probe reference)
//! ```
//!
//! ## Example
//! ```
//! use wormsim::engine::{EngineChoice, Simulation};
//! use wormsim::observe::Series;
//! use wormsim::preset;
//!
//! let scenario = preset::load("codered-v2-2001-07-19").unwrap();
//! let mut sim = Simulation::new(&scenario, 1, 0, EngineChoice::Auto).unwrap();
//! let mut series = Series::new(scenario.start, scenario.end, scenario.output.bin);
//! // Run the first two hours only (the whole day takes well under a second in release).
//! sim.run_until(scenario.start.plus(2.0 * 3600.0), &mut series);
//! assert!(sim.view().ever_infected >= 1);
//! ```
//!
//! ## Modules
//! - [`time`]: calendar time ([`time::SimTime`], UTC seconds).
//! - [`calendar`]: Code Red's day-of-month phases.
//! - [`population`]: vulnerable hosts and their addresses.
//! - [`scenario`]: the TOML format; [`preset`]: the built-in scenarios.
//! - [`engine`]: the exact engines and the per-probe reference.
//! - [`logs`]: Code Red / Nimda requests in web-server logs, as series and sources.
//! - [`observe`]: observers (the time series); [`summary`]: run summaries.
//! - [`rng`]: named random streams; [`schedule`]: piecewise-constant rates.
//! - [`model`]: analytic models (RCS, SI, SIR, two-factor, AAWP) and an adaptive
//!   ODE integrator; [`fit`]: fitting them to series, with profile-likelihood intervals.
//! - [`ensemble`]: many replicates in parallel, quantiles and summary tables;
//!   [`sweep`]: grids over scenario parameters, work units and shards.
//! - [`chart`]: what each chart of an outbreak shows, as data (rendered by the CLI).
//! - [`validate`]: the reproduction checks against the published July 19 numbers.
//! - [`alloc`]: the allocator the binaries install (large blocks on huge pages).

pub mod alloc;
pub mod calendar;
pub mod chart;
pub mod checkpoint;
pub mod engine;
pub mod ensemble;
pub mod fenwick;
pub mod fit;
pub mod logs;
pub mod model;
pub mod observe;
pub mod population;
pub mod preset;
pub mod rng;
pub mod scenario;
pub mod schedule;
pub mod summary;
pub mod sweep;
pub mod time;
pub mod validate;
