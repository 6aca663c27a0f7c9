//! Analytic propagation models: the deterministic curves the simulator's output is
//! compared with and fitted to.
//!
//! | model | kind | module | source |
//! |---|---|---|---|
//! | RCS logistic | closed form | [`rcs`] | Staniford, Paxson & Weaver, USENIX Security 2002, §2 |
//! | SI, SIR | ODE | [`si`] | Kermack & McKendrick, *Proc. R. Soc. A* 115 (1927) |
//! | two-factor | ODE | [`two_factor`] | Zou, Gong & Towsley, ACM CCS 2002 |
//! | AAWP | discrete-time recurrence | [`aawp`] | Chen, Gao & Kwiat, IEEE INFOCOM 2003 |
//!
//! Conventions shared by every model:
//! - time is in hours [h] from the model's time origin (`t = 0`);
//! - rates are *per capita* and per hour: the force of infection is
//!   `β S I / N`, so `β` [1/h] is directly comparable with the RCS `K`;
//! - each model reports the **cumulative** number of hosts ever infected
//!   ([`Compartmental::cumulative`]), which is what a telescope's cumulative unique
//!   sources or wormsim's `cumulative_infected` column measure.
//!
//! ODE models implement [`Compartmental`] and are solved by [`trajectory`], which
//! uses the adaptive Dormand–Prince integrator in [`ode`].
//!
//! # Examples
//! ```
//! use wormsim::model::{Rcs, Si, trajectory, Compartmental};
//! use wormsim::model::ode::Rk45;
//! // The SI ODE with β = K agrees with the RCS logistic through the same point.
//! let si = Si::new(1.8, 360_000.0, 1.0).unwrap();
//! let rcs = si.as_rcs().unwrap();
//! let sol = trajectory(&si, &[0.0, 4.0, 8.0], &Rk45::new(1e-10, 1e-8).unwrap()).unwrap();
//! let i8 = si.cumulative(sol.state(2));
//! assert!((i8 / rcs.cumulative(8.0) - 1.0).abs() < 1e-7);
//! ```

pub mod aawp;
pub mod ode;
pub mod rcs;
pub mod si;
pub mod two_factor;

pub use aawp::Aawp;
pub use rcs::Rcs;
pub use si::{Si, Sir};
pub use two_factor::TwoFactor;

use ode::{Rk45, Solution};

/// Why a model could not be built or solved.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A parameter out of its domain.
    #[error("{model}: {name} = {value}: must be {requirement}")]
    Parameter {
        model: &'static str,
        name: &'static str,
        value: f64,
        requirement: &'static str,
    },
    /// Output times or an initial state the integrator cannot use.
    #[error("ode: {0}")]
    OutputTimes(String),
    /// The integrator gave up.
    #[error("ode: integration failed at t = {t}: {why}")]
    Integration { t: f64, why: &'static str },
}

impl ModelError {
    pub(crate) fn param(
        model: &'static str,
        name: &'static str,
        value: f64,
        requirement: &'static str,
    ) -> ModelError {
        ModelError::Parameter {
            model,
            name,
            value,
            requirement,
        }
    }
}

/// Checks shared by the constructors.
pub(crate) mod check {
    use super::ModelError;

    pub fn positive(model: &'static str, name: &'static str, v: f64) -> Result<f64, ModelError> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(ModelError::param(model, name, v, "a finite number > 0"))
        }
    }

    pub fn non_negative(
        model: &'static str,
        name: &'static str,
        v: f64,
    ) -> Result<f64, ModelError> {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(ModelError::param(model, name, v, "a finite number >= 0"))
        }
    }

    pub fn finite(model: &'static str, name: &'static str, v: f64) -> Result<f64, ModelError> {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(ModelError::param(model, name, v, "a finite number"))
        }
    }

    /// `0 < v <= n`: an initial count of infected hosts.
    pub fn initial(
        model: &'static str,
        name: &'static str,
        v: f64,
        n: f64,
    ) -> Result<f64, ModelError> {
        if v.is_finite() && v > 0.0 && v <= n {
            Ok(v)
        } else {
            Err(ModelError::param(
                model,
                name,
                v,
                "a finite number > 0 and <= N (the initial infected hosts)",
            ))
        }
    }
}

/// A compartmental ODE model `y' = f(t, y)` started at `t = 0`.
pub trait Compartmental {
    /// Names of the state components, in order.
    fn compartments(&self) -> &'static [&'static str];
    /// The state at `t = 0`.
    fn initial(&self) -> Vec<f64>;
    /// The right-hand side: write `dy/dt` [hosts/h] into `dy`.
    fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64]);
    /// Hosts infected at least once, from a state.
    fn cumulative(&self, y: &[f64]) -> f64;
    /// Whether [`Compartmental::rhs`] ignores `t` (default `false`); an
    /// autonomous model is solved with [`Rk45::solve_autonomous`].
    fn autonomous(&self) -> bool {
        false
    }
}

/// Solve a compartmental model from `t = 0` and return its state at `times`
/// (non-decreasing, `>= 0`) [h].
///
/// # Errors
/// [`ModelError::OutputTimes`] or [`ModelError::Integration`].
pub fn trajectory<M: Compartmental + ?Sized>(
    model: &M,
    times: &[f64],
    solver: &Rk45,
) -> Result<Solution, ModelError> {
    let f = |t: f64, y: &[f64], dy: &mut [f64]| model.rhs(t, y, dy);
    if model.autonomous() {
        solver.solve_autonomous(f, 0.0, &model.initial(), times)
    } else {
        solver.solve(f, 0.0, &model.initial(), times)
    }
}

/// The cumulative infected count of a compartmental model at `times` [h].
///
/// # Errors
/// As [`trajectory`].
pub fn cumulative_at<M: Compartmental + ?Sized>(
    model: &M,
    times: &[f64],
    solver: &Rk45,
) -> Result<Vec<f64>, ModelError> {
    let sol = trajectory(model, times, solver)?;
    Ok((0..times.len())
        .map(|i| model.cumulative(sol.state(i)))
        .collect())
}
