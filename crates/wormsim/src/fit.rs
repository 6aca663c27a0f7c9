//! Fitting the analytic models to observed (or simulated) outbreak curves.
//!
//! ```text
//!  CSV ──data::read_series──► Observations (hours since the first point, cumulative counts)
//!                                   │
//!                 fit(obs, ModelKind, FitOptions)
//!                                   │  RCS first (data-driven starts), then the model
//!                                   │  from starts derived from the RCS fit;
//!                                   │  Nelder–Mead with restarts on log-parameters
//!                                   ▼
//!                  Fit: estimates with 95% profile-likelihood intervals,
//!                       goodness of fit, fitted curve (and a band)
//! ```
//!
//! # Method
//! - **Time axis**: hours since the first data point ([`data::Observations`]).
//! - **Objective**: [`Objective::Poisson`] treats the counts in each interval
//!   between data points (and everything up to the first point) as independent
//!   Poisson counts with means given by the model's cumulative curve — the
//!   likelihood of a Poisson process observed in bins; it minimises the deviance.
//!   [`Objective::LeastSquares`] minimises the squared error of the cumulative
//!   counts (normal errors of unknown variance).
//! - **Optimiser**: [`nelder_mead`] in internal coordinates (logarithms of the
//!   positive parameters, RCS `T` as is), from a few deterministic data-driven
//!   starting points, with restarts. No random numbers are used.
//! - **Intervals**: 95% profile likelihood ([`profile`]); ends that are not reached
//!   within the search range are reported as open (`None`).
//! - **Band**: the pointwise envelope of the model curves at every parameter set
//!   visited by the profile searches with `P <= 3.841` — an inner approximation of
//!   the pointwise 95% profile-likelihood band of the curve.
//! - **Threads**: the minimisations from the starting points, and the `2 n`
//!   searches for the interval ends, do not depend on each other; they run on
//!   [`FitOptions::threads`] threads, each on its own copy of the problem, and are
//!   combined in a fixed order, so the fit (evaluation count included) is the same,
//!   bit for bit, on any number of threads. Most of a two-factor fit's time is in
//!   these searches: each profile point is a nested Nelder–Mead minimisation of
//!   several hundred to a few thousand ODE solutions.
//!
//! # When the intervals hold
//! They are valid when the model is right and the counts are Poisson (or the
//! errors normal and independent for least squares): the recovery tests
//! (`tests/fit_recovery.rs`) check their coverage. Check
//! [`GoodnessOfFit::dispersion`]: well above 1, the counts vary more than Poisson
//! and the intervals are too narrow. They describe the uncertainty of the curve
//! given one outbreak, not the variation between outbreaks (different seeds of
//! the simulator give different `T`, for instance). Least-squares intervals on
//! cumulative counts ignore the correlation of cumulative errors and are too narrow.
//!
//! # Examples
//! ```
//! use wormsim::fit::{fit, FitOptions, ModelKind};
//! use wormsim::fit::data::{Kind, Observations};
//! use wormsim::model::Rcs;
//! // An exact logistic curve, sampled hourly, fits back to its parameters.
//! let truth = Rcs::new(1.8, 8.0, 1000.0).unwrap();
//! let t: Vec<f64> = (0..=16).map(f64::from).collect();
//! let y: Vec<f64> = t.iter().map(|&t| truth.cumulative(t)).collect();
//! let obs = Observations::new(&t, &y, Kind::Cumulative).unwrap();
//! let f = fit(&obs, ModelKind::Rcs, &FitOptions { intervals: false, ..FitOptions::default() }).unwrap();
//! assert!((f.estimates[0].value - 1.8).abs() < 1e-4);
//! ```

pub mod data;
mod gof;
pub mod nelder_mead;
mod pool;
mod problem;
pub mod profile;

pub use gof::{GoodnessOfFit, Residuals};
pub use profile::CHI2_1_95;

use data::Observations;
use nelder_mead::{Settings, minimize};
use problem::{Problem, model_starts, rcs_starts};

/// The models that can be fitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// [`crate::model::Rcs`]: K, T, N.
    Rcs,
    /// [`crate::model::Si`]: β, N, I₀.
    Si,
    /// [`crate::model::Sir`]: β, γ, N, I₀.
    Sir,
    /// [`crate::model::TwoFactor`]: β₀, γ, μ, η, N, I₀.
    TwoFactor,
    /// [`crate::model::Aawp`]: s, d, p, N, n₀ (tick and address space fixed).
    Aawp,
}

/// How a parameter is transformed for the optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Positive: optimised as its logarithm.
    Log,
    /// Any real: optimised as is.
    Linear,
}

/// A fitted parameter's name, unit and meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
    pub scale: Scale,
}

const fn spec(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    scale: Scale,
) -> ParamSpec {
    ParamSpec {
        name,
        unit,
        description,
        scale,
    }
}

const N_HOSTS: ParamSpec = spec("N", "hosts", "vulnerable hosts", Scale::Log);
const I0: ParamSpec = spec("I0", "hosts", "infected at t = 0", Scale::Log);

const RCS_PARAMS: [ParamSpec; 3] = [
    spec("K", "1/h", "initial compromise rate", Scale::Log),
    spec(
        "T",
        "h",
        "time of half saturation, hours since the first point",
        Scale::Linear,
    ),
    N_HOSTS,
];
const SI_PARAMS: [ParamSpec; 3] = [
    spec("beta", "1/h", "infection rate (per capita)", Scale::Log),
    N_HOSTS,
    I0,
];
const SIR_PARAMS: [ParamSpec; 4] = [
    spec("beta", "1/h", "infection rate (per capita)", Scale::Log),
    spec("gamma", "1/h", "removal rate of infected hosts", Scale::Log),
    N_HOSTS,
    I0,
];
const TWO_FACTOR_PARAMS: [ParamSpec; 6] = [
    spec(
        "beta0",
        "1/h",
        "initial infection rate (per capita; Zou's beta0 times N)",
        Scale::Log,
    ),
    spec("gamma", "1/h", "removal rate of infected hosts", Scale::Log),
    spec(
        "mu",
        "1/h",
        "immunisation rate of susceptible hosts (per capita; Zou's mu times N)",
        Scale::Log,
    ),
    spec("eta", "-", "congestion exponent", Scale::Log),
    N_HOSTS,
    I0,
];
const AAWP_PARAMS: [ParamSpec; 5] = [
    spec(
        "s",
        "scans/tick",
        "scans per infected host per tick",
        Scale::Log,
    ),
    spec(
        "d",
        "1/tick",
        "death (clean-up) rate of infected hosts",
        Scale::Log,
    ),
    spec("p", "1/tick", "patch rate", Scale::Log),
    N_HOSTS,
    spec("n0", "hosts", "infected at tick 0", Scale::Log),
];

impl ModelKind {
    /// Every model, in the order the CLI lists them.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Rcs,
        ModelKind::Si,
        ModelKind::Sir,
        ModelKind::TwoFactor,
        ModelKind::Aawp,
    ];

    /// `rcs`, `si`, `sir`, `two-factor` or `aawp`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Rcs => "rcs",
            ModelKind::Si => "si",
            ModelKind::Sir => "sir",
            ModelKind::TwoFactor => "two-factor",
            ModelKind::Aawp => "aawp",
        }
    }

    /// The model called `name` (as [`ModelKind::name`]).
    pub fn from_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The fitted parameters, in order.
    pub fn params(self) -> &'static [ParamSpec] {
        match self {
            ModelKind::Rcs => &RCS_PARAMS,
            ModelKind::Si => &SI_PARAMS,
            ModelKind::Sir => &SIR_PARAMS,
            ModelKind::TwoFactor => &TWO_FACTOR_PARAMS,
            ModelKind::Aawp => &AAWP_PARAMS,
        }
    }

    /// Points needed to fit: parameters + 2.
    pub fn min_points(self) -> usize {
        self.params().len() + 2
    }

    fn is_ode(self) -> bool {
        matches!(self, ModelKind::Sir | ModelKind::TwoFactor)
    }

    /// Whether the model has a closed form: its fits take milliseconds, too
    /// little for threads to pay off.
    fn is_closed_form(self) -> bool {
        matches!(self, ModelKind::Rcs | ModelKind::Si)
    }

    /// Whether the profile-interval ends are verified by re-minimising at them
    /// from other starts ([`profile`]): for the models with four or more
    /// nuisance parameters, whose profile minimisations can stop in a local
    /// minimum without any search passing beyond the end (`bench/RESULTS.md`).
    /// On the CRv2 series, verifying the RCS, SI and SIR ends changed none of
    /// them and cost 1.8–2.7 times the evaluations.
    fn verifies_ends(self) -> bool {
        self.params().len() >= 5
    }
}

/// The objective function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// Poisson likelihood of the counts per interval (deviance minimised).
    Poisson,
    /// Least squares on the cumulative counts.
    LeastSquares,
}

impl Objective {
    /// `poisson` or `lsq`.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Poisson => "poisson",
            Objective::LeastSquares => "lsq",
        }
    }
}

/// Fitting options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    pub objective: Objective,
    /// Compute 95% profile-likelihood intervals (and the band).
    pub intervals: bool,
    /// AAWP tick length [h] (default one minute).
    pub aawp_tick_hours: f64,
    /// AAWP address-space size `Ω` (default `2^32`).
    pub aawp_space: f64,
    /// Threads for the independent minimisations (the starting points, and the
    /// searches for the interval ends); `0` (the default) uses all available.
    /// The result is the same, bit for bit, for any number. The closed-form
    /// models (RCS, SI) always run on the calling thread.
    pub threads: usize,
}

impl Default for FitOptions {
    fn default() -> FitOptions {
        FitOptions {
            objective: Objective::Poisson,
            intervals: true,
            aawp_tick_hours: 1.0 / 60.0,
            aawp_space: crate::model::aawp::IPV4_SPACE,
            threads: 0,
        }
    }
}

/// Why a fit could not be made.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Not enough data for the model.
    #[error(
        "too few points for model `{model}`: {points} given, at least {needed} needed \
         (parameters + 2); give a longer series or widen --from/--to"
    )]
    TooFewPoints {
        model: &'static str,
        points: usize,
        needed: usize,
    },
    /// Nothing to fit.
    #[error("the series has no infections (every count is 0); there is no outbreak to fit")]
    NoInfections,
    /// The cumulative count is the same at every point: no new infections.
    /// Every model fits it exactly with no growth at all, so nothing about the
    /// outbreak's rates can be estimated from it (least squares used to chase
    /// the residuals down to rounding for minutes before this was refused).
    #[error(
        "the series does not grow: the cumulative count is {count} at all {points} points, so \
         there is no outbreak curve to fit; widen --from/--to to take in rows with new infections"
    )]
    NoGrowth { count: f64, points: usize },
    /// Options out of range.
    #[error("{0}")]
    Options(String),
    /// No starting point gave a finite objective.
    #[error(
        "model `{0}` gives no finite objective at any starting point; the data may not be an \
         outbreak curve this model can describe"
    )]
    NoFiniteStart(&'static str),
}

impl FitError {
    /// Whether the error is about the input data (so a CLI should exit with 2).
    /// Every kind is: the starting points are computed from the data alone, so
    /// a model that cannot be evaluated at any of them is a series it cannot
    /// describe (a count far out of line with the rest, for example).
    pub fn is_input(&self) -> bool {
        match self {
            FitError::TooFewPoints { .. }
            | FitError::NoInfections
            | FitError::NoGrowth { .. }
            | FitError::Options(_)
            | FitError::NoFiniteStart(_) => true,
        }
    }
}

/// One fitted parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub spec: ParamSpec,
    /// The maximum-likelihood (or least-squares) estimate.
    pub value: f64,
    /// 95% interval ends; `None` when not computed or not reached (open).
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A quantity computed from the estimates (no interval).
#[derive(Clone, Debug, PartialEq)]
pub struct Derived {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub description: &'static str,
}

/// A fitted model.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub model: ModelKind,
    pub objective: Objective,
    pub estimates: Vec<Estimate>,
    pub derived: Vec<Derived>,
    pub gof: GoodnessOfFit,
    /// Whether intervals were computed.
    pub intervals: bool,
    /// Data times [h since the first point].
    pub times: Vec<f64>,
    /// Observed cumulative counts.
    pub observed: Vec<f64>,
    /// Fitted cumulative counts.
    pub fitted: Vec<f64>,
    /// Pointwise band (lower, upper) of the cumulative curve, with intervals.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    /// Objective evaluations used (fit and intervals).
    pub evaluations: usize,
    /// Whether the final simplex met its tolerances.
    pub converged: bool,
    /// Times the fit was restarted because a profile found a lower objective.
    pub refits: usize,
    /// Caveats about this fit (approximate interval ends, budget exhausted).
    pub warnings: Vec<String>,
}

impl Fit {
    /// The estimate called `name`.
    pub fn get(&self, name: &str) -> Option<&Estimate> {
        self.estimates.iter().find(|e| e.spec.name == name)
    }
}

fn settings(model: ModelKind, profile: bool) -> Settings {
    let dim = model.params().len();
    // ODE solutions carry integration error of ~1e-10 relative: do not ask the
    // simplex for more than the objective can resolve.
    let f_tol: f64 = if model.is_ode() { 1e-6 } else { 1e-9 };
    if profile {
        Settings {
            f_tol: f_tol.max(1e-7),
            x_tol: 1e-5,
            max_evaluations: 400 * dim,
            max_restarts: 1,
        }
    } else {
        Settings {
            f_tol,
            x_tol: 1e-7,
            max_evaluations: 2000 * dim,
            max_restarts: 6,
        }
    }
}

/// Minimise from each start (one task each, on up to `threads` threads); return
/// the best (internal coordinates), the first of equals in start order.
fn best_of(
    problem: &Problem,
    starts: &[Vec<f64>],
    s: &Settings,
    threads: usize,
) -> Option<(Vec<f64>, f64, bool)> {
    let tasks: Vec<(Problem, &Vec<f64>)> = starts.iter().map(|t| (problem.fork(), t)).collect();
    let runs = pool::map_ordered(
        threads,
        tasks,
        |(problem, theta)| {
            let m = minimize_from(&problem, theta, s);
            (m, problem.evaluations.get())
        },
        |_| false,
    );
    let mut best: Option<(Vec<f64>, f64, bool)> = None;
    for (m, evaluations) in runs {
        problem.add_evaluations(evaluations);
        let Some(m) = m else {
            continue;
        };
        if m.f.is_finite() && best.as_ref().is_none_or(|b| m.f < b.1) {
            best = Some((m.x, m.f, m.converged));
        }
    }
    best
}

/// Minimise from natural parameters `theta`, or `None` if the objective is not
/// finite there.
fn minimize_from(problem: &Problem, theta: &[f64], s: &Settings) -> Option<nelder_mead::Minimum> {
    let u0 = problem.to_internal(theta);
    if !problem.objective(&u0).is_finite() {
        return None;
    }
    let step: Vec<f64> = problem
        .model
        .params()
        .iter()
        .map(|p| match p.scale {
            Scale::Log => 0.3,
            Scale::Linear => {
                let span = problem.times[problem.times.len() - 1];
                (0.1 * span).max(0.5)
            }
        })
        .collect();
    Some(minimize(|u: &[f64]| problem.objective(u), &u0, &step, s))
}

/// A least-squares fit whose residual sum of squares is within this many
/// [`Problem::rss_floor`]s (an RMS residual within 10 × 1e-9 of the largest
/// count) reproduces the data to the model's numerical accuracy.
const EXACT_FIT_FLOORS: f64 = 100.0;

/// Fit `model` to `obs`.
///
/// # Errors
/// [`FitError`]: too few points (fewer than parameters + 2), no infections in
/// the data or none after the first point, bad options, or no usable starting
/// point.
pub fn fit(obs: &Observations, model: ModelKind, opts: &FitOptions) -> Result<Fit, FitError> {
    if !(opts.aawp_tick_hours.is_finite() && opts.aawp_tick_hours > 0.0) {
        return Err(FitError::Options(format!(
            "aawp tick = {} h: must be a finite number > 0",
            opts.aawp_tick_hours
        )));
    }
    if !(opts.aawp_space.is_finite() && opts.aawp_space >= 1.0) {
        return Err(FitError::Options(format!(
            "aawp address space = {}: must be a finite number >= 1",
            opts.aawp_space
        )));
    }
    if obs.len() < model.min_points() {
        return Err(FitError::TooFewPoints {
            model: model.name(),
            points: obs.len(),
            needed: model.min_points(),
        });
    }
    if obs.cumulative()[obs.len() - 1] <= 0.0 {
        return Err(FitError::NoInfections);
    }
    let c = obs.cumulative();
    if c.iter().all(|&v| v == c[0]) {
        return Err(FitError::NoGrowth {
            count: c[0],
            points: c.len(),
        });
    }

    let threads = if model.is_closed_form() {
        1
    } else {
        pool::resolve(opts.threads)
    };

    // RCS first: cheap, and it seeds every other model.
    let rcs_problem = Problem::new(obs, ModelKind::Rcs, opts);
    let rcs_settings = settings(ModelKind::Rcs, false);
    let (rcs_u, _, rcs_conv) = best_of(
        &rcs_problem,
        &rcs_starts(obs.times(), obs.cumulative()),
        &rcs_settings,
        1,
    )
    .ok_or(FitError::NoFiniteStart("rcs"))?;
    let rcs_theta = rcs_problem.to_natural(&rcs_u);

    let problem = Problem::new(obs, model, opts);
    let s = settings(model, false);
    let (mut u, mut f, mut converged) = if model == ModelKind::Rcs {
        let f = rcs_problem.objective(&rcs_u);
        (rcs_u, f, rcs_conv)
    } else {
        best_of(
            &problem,
            &model_starts(model, &rcs_theta, opts),
            &s,
            threads,
        )
        .ok_or(FitError::NoFiniteStart(model.name()))?
    };
    let extra_evals = rcs_problem.evaluations.get();

    let mut ends = vec![(profile::End::Open, profile::End::Open); model.params().len()];
    let mut inside: Vec<Vec<f64>> = Vec::new();
    let mut refits = 0;
    if opts.intervals {
        let ps = settings(model, true);
        loop {
            match profile::intervals(&problem, &u, f, &ps, threads, model.verifies_ends()) {
                profile::Outcome::Done { ends: e, inside: i } => {
                    ends = e;
                    inside = i;
                    break;
                }
                profile::Outcome::Better(u_new) if refits < 3 => {
                    refits += 1;
                    let m = minimize(
                        |v: &[f64]| problem.objective(v),
                        &u_new,
                        &vec![0.1; u_new.len()],
                        &s,
                    );
                    if m.f < f {
                        u = m.x;
                        f = m.f;
                        converged = m.converged;
                    }
                }
                profile::Outcome::Better(_) => break,
            }
        }
    }

    let theta = problem.to_natural(&u);
    let fitted = problem
        .curve(&theta)
        .ok_or(FitError::NoFiniteStart(model.name()))?;
    let to_nat = |k: usize, v: f64| match model.params()[k].scale {
        Scale::Log => v.exp(),
        Scale::Linear => v,
    };
    let estimates = model
        .params()
        .iter()
        .enumerate()
        .map(|(k, spec)| Estimate {
            spec: *spec,
            value: theta[k],
            lower: ends[k].0.value().map(|v| to_nat(k, v)),
            upper: ends[k].1.value().map(|v| to_nat(k, v)),
        })
        .collect();
    let mut warnings = Vec::new();
    // Least squares on data the model reproduces to its own accuracy (a
    // noise-free curve): the residuals are rounding, the profile rises from the
    // floor within the last digits, and its ends are "rough" only because
    // the refinement cannot resolve them further.
    let rss: f64 = obs
        .cumulative()
        .iter()
        .zip(&fitted)
        .map(|(y, c)| (y - c).powi(2))
        .sum();
    let exact =
        opts.objective == Objective::LeastSquares && rss <= EXACT_FIT_FLOORS * problem.rss_floor;
    if exact {
        warnings.push(format!(
            "the model reproduces the data to its numerical accuracy (RMS residual {:.3e}, \
             counts up to {}): least squares finds no noise in them, so its intervals are only \
             as wide as the arithmetic; --objective poisson gives intervals from the counts",
            (rss / obs.len() as f64).sqrt(),
            obs.cumulative().iter().fold(0.0f64, |m, v| m.max(v.abs()))
        ));
    }
    if opts.intervals {
        for (k, spec) in model.params().iter().enumerate() {
            for (which, end) in [("lower", ends[k].0), ("upper", ends[k].1)] {
                match end {
                    profile::End::Rough(_) if exact => {}
                    profile::End::Rough(_) => warnings.push(format!(
                        "{}: the {which} interval end is approximate: the profile likelihood \
                         jumps there instead of crossing the threshold smoothly (the data \
                         identify this model poorly)",
                        spec.name
                    )),
                    profile::End::Unsettled(_) => warnings.push(format!(
                        "{}: the {which} interval end is a bound: after {} rounds of resumed \
                         profile searches, points inside the region still lay at or beyond it; \
                         the true end lies farther out (the data identify this model poorly)",
                        spec.name,
                        profile::RESUME_ROUNDS
                    )),
                    profile::End::At(_) | profile::End::Open => {}
                }
            }
        }
        if !converged {
            warnings.push(
                "the optimiser stopped at its evaluation budget before meeting its tolerances"
                    .into(),
            );
        }
    }
    let band = if opts.intervals {
        let mut lo = fitted.clone();
        let mut hi = fitted.clone();
        for v in &inside {
            if let Some(c) = problem.curve(&problem.to_natural(v)) {
                for j in 0..c.len() {
                    lo[j] = lo[j].min(c[j]);
                    hi[j] = hi[j].max(c[j]);
                }
            }
        }
        Some((lo, hi))
    } else {
        None
    };
    let gof = gof::assess(
        opts.objective,
        f,
        obs.cumulative(),
        &problem.inc,
        &fitted,
        model.params().len(),
        problem.rss_floor,
    );
    Ok(Fit {
        model,
        objective: opts.objective,
        derived: derived(model, &theta, opts),
        estimates,
        gof,
        intervals: opts.intervals,
        times: obs.times().to_vec(),
        observed: obs.cumulative().to_vec(),
        fitted,
        band,
        evaluations: problem.evaluations.get() + extra_evals,
        converged,
        refits,
        warnings,
    })
}

/// The fitted model's cumulative curve at other times [h since the first point]
/// (e.g. a finer grid for plotting).
///
/// # Errors
/// [`FitError::NoFiniteStart`] if the model cannot be evaluated there.
pub fn curve_at(f: &Fit, times: &[f64], opts: &FitOptions) -> Result<Vec<f64>, FitError> {
    let obs = Observations::new(&f.times, &f.observed, data::Kind::Cumulative)
        .map_err(|e| FitError::Options(e.to_string()))?;
    let p = Problem::new(&obs, f.model, opts);
    let theta: Vec<f64> = f.estimates.iter().map(|e| e.value).collect();
    p.curve_at(&theta, times)
        .ok_or(FitError::NoFiniteStart(f.model.name()))
}

fn derived(model: ModelKind, th: &[f64], opts: &FitOptions) -> Vec<Derived> {
    let d = |name, value, unit, description| Derived {
        name,
        value,
        unit,
        description,
    };
    let ln2 = std::f64::consts::LN_2;
    match model {
        ModelKind::Rcs => vec![
            d(
                "doubling_time",
                60.0 * ln2 / th[0],
                "min",
                "early doubling time ln 2 / K",
            ),
            d(
                "peak_rate",
                th[0] * th[2] / 4.0 / 60.0,
                "hosts/min",
                "peak infection rate K N / 4, at t = T",
            ),
        ],
        ModelKind::Si => vec![
            d(
                "T",
                ((th[1] - th[2]) / th[2]).ln() / th[0],
                "h",
                "time of half saturation, ln((N - I0)/I0) / beta",
            ),
            d(
                "doubling_time",
                60.0 * ln2 / th[0],
                "min",
                "early doubling time ln 2 / beta",
            ),
        ],
        ModelKind::Sir => {
            let m = crate::model::Sir::new(th[0], th[1], th[2], th[3]);
            let mut v = vec![d(
                "R0",
                th[0] / th[1],
                "-",
                "basic reproduction number beta / gamma",
            )];
            if let Ok(m) = m {
                v.push(d(
                    "final_size",
                    th[2] - m.final_susceptible(),
                    "hosts",
                    "hosts ever infected as t -> infinity",
                ));
            }
            v
        }
        ModelKind::TwoFactor => vec![
            d(
                "beta0_per_pair",
                th[0] / th[4],
                "1/(host h)",
                "beta0 in Zou et al.'s per-pair form, beta0 / N",
            ),
            d(
                "mu_per_pair",
                th[2] / th[4],
                "1/(host h)",
                "mu in Zou et al.'s per-pair form, mu / N",
            ),
        ],
        ModelKind::Aawp => vec![
            d(
                "scan_rate",
                th[0] / (opts.aawp_tick_hours * 3600.0),
                "scans/s",
                "scans per infected host per second, s / tick",
            ),
            d(
                "K",
                th[0] * th[3] / opts.aawp_space / opts.aawp_tick_hours,
                "1/h",
                "equivalent RCS rate s N / (space tick)",
            ),
            d(
                "tick",
                opts.aawp_tick_hours * 60.0,
                "min",
                "tick length (fixed)",
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::data::Kind;
    use super::problem::rss_floor;
    use super::*;
    use crate::model::{Rcs, Sir};

    fn rcs_obs(k: f64, t: f64, n: f64, step: f64, end: f64) -> Observations {
        let m = Rcs::new(k, t, n).unwrap();
        let times: Vec<f64> = (0..=((end / step) as usize))
            .map(|i| i as f64 * step)
            .collect();
        let y: Vec<f64> = times.iter().map(|&t| m.cumulative(t)).collect();
        Observations::new(&times, &y, Kind::Cumulative).unwrap()
    }

    #[test]
    fn names_round_trip() {
        for m in ModelKind::ALL {
            assert_eq!(ModelKind::from_name(m.name()), Some(m));
        }
        assert_eq!(ModelKind::from_name("logistic"), None);
        assert_eq!(ModelKind::TwoFactor.min_points(), 8);
    }

    #[test]
    fn errors_for_bad_input() {
        let obs = Observations::new(
            &[0.0, 1.0, 2.0, 3.0],
            &[1.0, 2.0, 3.0, 4.0],
            Kind::Cumulative,
        )
        .unwrap();
        let e = fit(&obs, ModelKind::Rcs, &FitOptions::default()).unwrap_err();
        assert_eq!(
            e,
            FitError::TooFewPoints {
                model: "rcs",
                points: 4,
                needed: 5
            }
        );
        assert!(e.is_input());
        let zeros =
            Observations::new(&[0.0, 1.0, 2.0, 3.0, 4.0], &[0.0; 5], Kind::Cumulative).unwrap();
        assert_eq!(
            fit(&zeros, ModelKind::Rcs, &FitOptions::default()).unwrap_err(),
            FitError::NoInfections
        );
        // A flat tail: 358,417 hosts at every point (least squares would chase
        // the residuals down to rounding).
        let flat = Observations::new(
            &[0.0, 1.0, 2.0, 3.0, 4.0],
            &[358_417.0; 5],
            Kind::Cumulative,
        )
        .unwrap();
        let e = fit(&flat, ModelKind::Rcs, &FitOptions::default()).unwrap_err();
        assert_eq!(
            e,
            FitError::NoGrowth {
                count: 358_417.0,
                points: 5
            }
        );
        assert!(e.is_input());
        // An incident series whose only new hosts are in the first row is flat too.
        let first = Observations::new(
            &[0.0, 1.0, 2.0, 3.0, 4.0],
            &[7.0, 0.0, 0.0, 0.0, 0.0],
            Kind::Incident,
        )
        .unwrap();
        assert!(matches!(
            fit(&first, ModelKind::Rcs, &FitOptions::default()),
            Err(FitError::NoGrowth { points: 5, .. })
        ));
        let bad = FitOptions {
            aawp_tick_hours: 0.0,
            ..FitOptions::default()
        };
        assert!(fit(&zeros, ModelKind::Aawp, &bad).unwrap_err().is_input());
    }

    #[test]
    fn exact_curves_fit_back_with_both_objectives() {
        let obs = rcs_obs(1.8, 8.0, 5000.0, 0.25, 16.0);
        for objective in [Objective::Poisson, Objective::LeastSquares] {
            let f = fit(
                &obs,
                ModelKind::Rcs,
                &FitOptions {
                    objective,
                    intervals: false,
                    ..FitOptions::default()
                },
            )
            .unwrap();
            let v: Vec<f64> = f.estimates.iter().map(|e| e.value).collect();
            assert!((v[0] - 1.8).abs() < 1e-4, "{objective:?}: {v:?}");
            assert!((v[1] - 8.0).abs() < 1e-4, "{objective:?}: {v:?}");
            assert!((v[2] / 5000.0 - 1.0).abs() < 1e-5, "{objective:?}: {v:?}");
            assert!(f.gof.r_squared.unwrap() > 0.999_999);
        }
    }

    #[test]
    fn least_squares_on_a_noise_free_curve_stops_at_the_models_accuracy() {
        let obs = rcs_obs(1.8, 8.0, 5000.0, 0.25, 16.0);
        let lsq = FitOptions {
            objective: Objective::LeastSquares,
            ..FitOptions::default()
        };
        let f = fit(&obs, ModelKind::Rcs, &lsq).unwrap();
        // The floor ends the search: the optimiser meets its tolerances instead
        // of chasing rounding to its evaluation budget.
        assert!(f.converged, "{:?}", f.warnings);
        assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
        assert!(
            f.warnings[0].starts_with("the model reproduces the data to its numerical accuracy"),
            "{:?}",
            f.warnings
        );
        // The intervals hold the truth and are as narrow as the floor allows.
        for (e, truth) in f.estimates.iter().zip([1.8, 8.0, 5000.0]) {
            let (lo, hi) = (e.lower.unwrap(), e.upper.unwrap());
            assert!(lo <= truth && truth <= hi, "{}: [{lo}, {hi}]", e.spec.name);
            assert!((hi - lo) / truth < 1e-6, "{}: [{lo}, {hi}]", e.spec.name);
        }
        // The likelihood agrees with the objective (both floored).
        let n = obs.len() as f64;
        let ll = -0.5 * (f.gof.objective + n * ((2.0 * std::f64::consts::PI).ln() + 1.0));
        assert!((f.gof.log_likelihood - ll).abs() < 1e-9 * ll.abs());
        assert!(f.gof.objective >= n * (rss_floor(obs.cumulative()) / n).ln() - 1e-9);

        // The same curve with counts rounded to whole hosts has noise: no warning.
        let y: Vec<f64> = obs.cumulative().iter().map(|v| v.round()).collect();
        let rounded = Observations::new(obs.times(), &y, Kind::Cumulative).unwrap();
        let g = fit(&rounded, ModelKind::Rcs, &lsq).unwrap();
        assert!(
            g.warnings.iter().all(|w| !w.contains("numerical accuracy")),
            "{:?}",
            g.warnings
        );
        assert!(g.gof.rss > 100.0 * rss_floor(&y));
    }

    #[test]
    fn the_rss_floor_scales_with_the_largest_count() {
        // n (1e-9 · max |y|)²
        assert_eq!(rss_floor(&[1.0, 2.0, 4.0, 8.0]), 4.0 * (8e-9f64).powi(2));
        assert_eq!(rss_floor(&[0.0, 0.0]), f64::MIN_POSITIVE);
    }

    #[test]
    fn si_fit_equals_the_rcs_fit() {
        let obs = rcs_obs(1.5, 6.0, 2000.0, 0.25, 14.0);
        let o = FitOptions {
            intervals: false,
            ..FitOptions::default()
        };
        let si = fit(&obs, ModelKind::Si, &o).unwrap();
        assert!(
            (si.estimates[0].value - 1.5).abs() < 1e-4,
            "{:?}",
            si.estimates
        );
        assert!((si.derived[0].value - 6.0).abs() < 1e-3, "{:?}", si.derived);
    }

    #[test]
    fn sir_recovers_its_parameters_from_an_exact_curve() {
        let m = Sir::new(2.0, 0.4, 3000.0, 2.0).unwrap();
        let times: Vec<f64> = (0..=60).map(|i| i as f64 * 0.4).collect();
        let c = crate::model::cumulative_at(
            &m,
            &times,
            &crate::model::ode::Rk45::new(1e-11, 1e-10).unwrap(),
        )
        .unwrap();
        let obs = Observations::new(&times, &c, Kind::Cumulative).unwrap();
        let f = fit(
            &obs,
            ModelKind::Sir,
            &FitOptions {
                intervals: false,
                ..FitOptions::default()
            },
        )
        .unwrap();
        let v: Vec<f64> = f.estimates.iter().map(|e| e.value).collect();
        for (got, want) in v.iter().zip([2.0, 0.4, 3000.0, 2.0]) {
            assert!((got / want - 1.0).abs() < 1e-2, "{v:?}");
        }
    }

    /// The two-factor model, fitted to its own exact curve, reproduces the curve
    /// (its six parameters are only weakly identified by one curve, so the test is
    /// on the fit, the identifiable rate and the objective, not every parameter).
    #[test]
    fn two_factor_fits_its_own_curve() {
        let m = crate::model::TwoFactor::new(1.8, 0.1, 0.3, 2.0, 4000.0, 1.0).unwrap();
        let times: Vec<f64> = (0..=40).map(|i| i as f64 * 0.5).collect();
        let c = crate::model::cumulative_at(
            &m,
            &times,
            &crate::model::ode::Rk45::new(1e-11, 1e-10).unwrap(),
        )
        .unwrap();
        let obs = Observations::new(&times, &c, Kind::Cumulative).unwrap();
        let f = fit(
            &obs,
            ModelKind::TwoFactor,
            &FitOptions {
                intervals: false,
                ..FitOptions::default()
            },
        )
        .unwrap();
        // A perfect fit has deviance 0; a start-point artefact would leave hundreds.
        assert!(f.gof.objective < 0.5, "deviance {}", f.gof.objective);
        for (a, b) in f.fitted.iter().zip(&c) {
            assert!((a - b).abs() < 0.01 * c[c.len() - 1], "{a} vs {b}");
        }
        let beta0 = f.get("beta0").unwrap().value;
        assert!((beta0 / 1.8 - 1.0).abs() < 0.1, "beta0 {beta0}");
    }

    /// AAWP fitted to its own recurrence recovers the scan rate and population.
    #[test]
    fn aawp_recovers_scan_rate_and_population() {
        let opts = FitOptions {
            intervals: false,
            ..FitOptions::default()
        };
        let m = crate::model::Aawp::new(360.0, 0.0, 1e-4, 360_000.0, 1.0, opts.aawp_space).unwrap();
        let times: Vec<f64> = (0..=56).map(|i| i as f64 * 0.25).collect();
        let c = m.cumulative_at(opts.aawp_tick_hours, &times).unwrap();
        let obs = Observations::new(&times, &c, Kind::Cumulative).unwrap();
        let f = fit(&obs, ModelKind::Aawp, &opts).unwrap();
        let s = f.get("s").unwrap().value;
        let n = f.get("N").unwrap().value;
        assert!((s / 360.0 - 1.0).abs() < 0.01, "s {s}");
        assert!((n / 360_000.0 - 1.0).abs() < 0.02, "N {n}");
        let rate = f.derived.iter().find(|d| d.name == "scan_rate").unwrap();
        assert!((rate.value - 6.0).abs() < 0.1, "{rate:?}");
    }

    #[test]
    fn intervals_contain_the_estimate_and_band_contains_the_fit() {
        // A noisy-looking but deterministic series: the logistic rounded down.
        let m = Rcs::new(1.2, 7.0, 800.0).unwrap();
        let times: Vec<f64> = (0..=40).map(|i| i as f64 * 0.4).collect();
        let y: Vec<f64> = times.iter().map(|&t| m.cumulative(t).floor()).collect();
        let obs = Observations::new(&times, &y, Kind::Cumulative).unwrap();
        let f = fit(&obs, ModelKind::Rcs, &FitOptions::default()).unwrap();
        for e in &f.estimates {
            let (lo, hi) = (e.lower.unwrap(), e.upper.unwrap());
            assert!(lo < e.value && e.value < hi, "{e:?}");
        }
        let (lo, hi) = f.band.as_ref().unwrap();
        for j in 0..f.fitted.len() {
            assert!(lo[j] <= f.fitted[j] && f.fitted[j] <= hi[j]);
        }
        assert!(hi[20] > lo[20]);
    }

    /// Threads change nothing (STYLE habit 5): the whole fit with intervals —
    /// estimates, interval ends, band, evaluation count — is identical on 1 and 3
    /// threads. Covers the starting points (SIR has two) and the interval
    /// searches; `profile::tests` covers a search that finds a lower point.
    #[test]
    fn threads_do_not_change_the_fit() {
        let m = Sir::new(2.0, 0.4, 3000.0, 2.0).unwrap();
        let times: Vec<f64> = (0..=24).map(f64::from).collect();
        let c = crate::model::cumulative_at(
            &m,
            &times,
            &crate::model::ode::Rk45::new(1e-11, 1e-10).unwrap(),
        )
        .unwrap();
        // Rounded down: not an exact curve, so the intervals have width.
        let y: Vec<f64> = c.iter().map(|v| v.floor()).collect();
        let obs = Observations::new(&times, &y, Kind::Cumulative).unwrap();
        let with = |threads| {
            let opts = FitOptions {
                threads,
                ..FitOptions::default()
            };
            fit(&obs, ModelKind::Sir, &opts).unwrap()
        };
        let one = with(1);
        assert!(
            one.estimates
                .iter()
                .all(|e| e.lower.is_some() && e.upper.is_some()),
            "{one:?}"
        );
        assert_eq!(with(3), one);
    }
}
