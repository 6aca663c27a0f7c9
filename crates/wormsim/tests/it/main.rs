//! Integration tests of the wormsim library: one binary, a module per behaviour.
//!
//! Statistical tests use fixed seeds and thresholds far in the tail (two-sample
//! KS at `c(α) = 1.95`, i.e. α ≈ 0.001; z-tests at 4.9σ ≈ p 1e-6), so they are
//! deterministic and fail only if the engine is wrong.

mod beyond;
mod calendar;
mod checkpoint;
mod determinism;
mod exactness;
mod family;
mod logistic;
mod scenario_errors;
mod support;
mod telescope;
