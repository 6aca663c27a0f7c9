//! Goodness of fit.

use super::Objective;
use super::problem::{deviance_term, model_increment};

/// How well the fitted curve matches the data.
///
/// # Formula
/// With observed cumulative counts `y_j`, fitted `C_j`, observed increments
/// `x_j = y_j − y_{j−1}` (`x_0 = y_0`), fitted increments `μ_j`, `n` points and `k`
/// parameters:
///
/// - Poisson: `ln L = Σ [x_j ln μ_j − μ_j − ln Γ(x_j + 1)]`, deviance
///   `D = 2 Σ [x_j ln(x_j/μ_j) − (x_j − μ_j)]`, Pearson `X² = Σ (x_j − μ_j)²/μ_j`,
///   dispersion `X²/(n − k)` (about 1 when the counts are Poisson; larger means
///   over-dispersion and intervals that are too narrow), `AIC = 2k − 2 ln L`.
/// - Least squares on `y`: `σ̂² = RSS/n`, `ln L = −n/2 (ln(2π σ̂²) + 1)`,
///   `AIC = 2(k + 1) − 2 ln L` (σ counts as a parameter).
/// - Both: `RSS = Σ (y_j − C_j)²` and `R² = 1 − RSS / Σ (y_j − ȳ)²` on the
///   cumulative counts.
#[derive(Clone, Debug, PartialEq)]
pub struct GoodnessOfFit {
    /// The minimised objective (Poisson deviance, or `n ln(RSS/n)`).
    pub objective: f64,
    pub log_likelihood: f64,
    pub aic: f64,
    /// Poisson deviance (Poisson objective only).
    pub deviance: Option<f64>,
    /// Pearson chi-square (Poisson objective only).
    pub pearson_chi2: Option<f64>,
    /// `X² / (n − k)` (Poisson objective only).
    pub dispersion: Option<f64>,
    /// Residual degrees of freedom `n − k`.
    pub df: usize,
    /// Residual sum of squares of the cumulative counts.
    pub rss: f64,
    /// `R²` of the cumulative counts (`None` when the data are constant).
    pub r_squared: Option<f64>,
    pub residuals: Residuals,
}

/// Five-number summary (and RMS) of the residuals.
#[derive(Clone, Debug, PartialEq)]
pub struct Residuals {
    /// `pearson-incident` (`(x − μ)/√μ`, Poisson) or `raw-cumulative` (`y − C`).
    pub kind: &'static str,
    pub min: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub max: f64,
    pub rms: f64,
}

/// Goodness of fit of the curve `c` (at the data times) to cumulative data `y`
/// with increments `inc`, for a model with `k` parameters; `rss_floor` is the
/// least-squares objective's floor on the residual sum of squares
/// ([`super::problem::Problem::rss_floor`]), so that the likelihood agrees with
/// the objective.
pub(crate) fn assess(
    objective: Objective,
    objective_value: f64,
    y: &[f64],
    inc: &[f64],
    c: &[f64],
    k: usize,
    rss_floor: f64,
) -> GoodnessOfFit {
    let n = y.len();
    let rss: f64 = y.iter().zip(c).map(|(a, b)| (a - b).powi(2)).sum();
    let mean = y.iter().sum::<f64>() / n as f64;
    let tss: f64 = y.iter().map(|a| (a - mean).powi(2)).sum();
    let r_squared = (tss > 0.0).then(|| 1.0 - rss / tss);
    let df = n.saturating_sub(k);
    match objective {
        Objective::Poisson => {
            let mut ll = 0.0;
            let mut dev = 0.0;
            let mut chi2 = 0.0;
            let mut res = Vec::with_capacity(n);
            for (j, &x) in inc.iter().enumerate() {
                let mu = model_increment(c, j);
                let mu_pos = mu.max(1e-300);
                ll += if x == 0.0 { 0.0 } else { x * mu_pos.ln() } - mu - ln_gamma(x + 1.0);
                dev += 2.0 * deviance_term(x, mu);
                let r = (x - mu) / mu_pos.sqrt();
                chi2 += r * r;
                res.push(r);
            }
            GoodnessOfFit {
                objective: objective_value,
                log_likelihood: ll,
                aic: 2.0 * k as f64 - 2.0 * ll,
                deviance: Some(dev),
                pearson_chi2: Some(chi2),
                dispersion: (df > 0).then(|| chi2 / df as f64),
                df,
                rss,
                r_squared,
                residuals: summarize("pearson-incident", res),
            }
        }
        Objective::LeastSquares => {
            let nf = n as f64;
            let s2 = rss.max(rss_floor).max(f64::MIN_POSITIVE) / nf;
            let ll = -0.5 * nf * ((2.0 * std::f64::consts::PI * s2).ln() + 1.0);
            GoodnessOfFit {
                objective: objective_value,
                log_likelihood: ll,
                aic: 2.0 * (k + 1) as f64 - 2.0 * ll,
                deviance: None,
                pearson_chi2: None,
                dispersion: None,
                df,
                rss,
                r_squared,
                residuals: summarize(
                    "raw-cumulative",
                    y.iter().zip(c).map(|(a, b)| a - b).collect(),
                ),
            }
        }
    }
}

fn summarize(kind: &'static str, mut r: Vec<f64>) -> Residuals {
    let rms = (r.iter().map(|v| v * v).sum::<f64>() / r.len().max(1) as f64).sqrt();
    r.sort_by(f64::total_cmp);
    Residuals {
        kind,
        min: r[0],
        q1: quantile(&r, 0.25),
        median: quantile(&r, 0.5),
        q3: quantile(&r, 0.75),
        max: r[r.len() - 1],
        rms,
    }
}

/// Quantile of sorted values by linear interpolation between order statistics
/// (Hyndman & Fan type 7).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let i = h.floor() as usize;
    if i + 1 >= sorted.len() {
        sorted[sorted.len() - 1]
    } else {
        sorted[i] + (h - i as f64) * (sorted[i + 1] - sorted[i])
    }
}

/// `ln Γ(x)` for `x > 0`.
///
/// # Formula
/// Shift up with `ln Γ(x) = ln Γ(x + 1) − ln x` until `x >= 10`, then Stirling's
/// series `(x − ½) ln x − x + ½ ln 2π + 1/(12x) − 1/(360x³) + 1/(1260x⁵) −
/// 1/(1680x⁷) + 1/(1188x⁹)`, whose truncation error there is below `1e-14`
/// (Abramowitz & Stegun 6.1.40).
pub(crate) fn ln_gamma(mut x: f64) -> f64 {
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= x.ln();
        x += 1.0;
    }
    let z = 1.0 / (x * x);
    let series =
        (1.0 / 12.0 - z * (1.0 / 360.0 - z * (1.0 / 1260.0 - z * (1.0 / 1680.0 - z / 1188.0)))) / x;
    shift + (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..30 {
            // Γ(n) = (n − 1)!
            assert!((ln_gamma(n as f64) - f.ln()).abs() < 1e-10, "n = {n}");
            f *= n as f64;
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        assert!((ln_gamma(1e6 + 1.0) - 12_815_518.384_658_169).abs() < 1e-4);
    }

    #[test]
    fn quantiles_and_summary() {
        let r = summarize("raw-cumulative", vec![3.0, 1.0, 2.0, 4.0, 5.0]);
        assert_eq!(
            (r.min, r.q1, r.median, r.q3, r.max),
            (1.0, 2.0, 3.0, 4.0, 5.0)
        );
        assert!((r.rms - (55.0f64 / 5.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn perfect_poisson_fit() {
        let y = [2.0, 5.0, 9.0];
        let inc = [2.0, 3.0, 4.0];
        let g = assess(Objective::Poisson, 0.0, &y, &inc, &y, 1, f64::MIN_POSITIVE);
        assert!(g.deviance.unwrap().abs() < 1e-12);
        assert_eq!(g.pearson_chi2, Some(0.0));
        assert_eq!(g.rss, 0.0);
        assert_eq!(g.r_squared, Some(1.0));
        let ll: f64 = inc
            .iter()
            .map(|&x: &f64| x * x.ln() - x - ln_gamma(x + 1.0))
            .sum();
        assert!((g.log_likelihood - ll).abs() < 1e-12);
        assert!((g.aic - (2.0 - 2.0 * ll)).abs() < 1e-12);
    }
}
