//! Containment (Moore, Shannon, Voelker, Savage, "Internet Quarantine", INFOCOM
//! 2003; Williamson, "Throttling Viruses", ACSAC 2002): types and stage 2 of
//! `[containment]`. The model is in `docs/model.md`, "Containment".

use super::ScenarioError;
use super::raw::S;
use super::resolve::Ctx;
use crate::time::{MINUTE, SimTime};
use serde::Deserialize;
use toml::Spanned;

/// What a filtering point drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterStrategy {
    /// Probes from a blacklisted source: a host is blacklisted a reaction time
    /// after its first infection, and stays on the list.
    AddressBlacklist,
    /// Every worm probe, once the signature is out: a reaction time after the
    /// scenario start (the onset).
    ContentFilter,
}

impl FilterStrategy {
    pub fn name(self) -> &'static str {
        match self {
            FilterStrategy::AddressBlacklist => "address-blacklist",
            FilterStrategy::ContentFilter => "content-filter",
        }
    }
}

/// Filtering points in the network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FilterSpec {
    pub strategy: FilterStrategy,
    /// Reaction time [s].
    pub reaction: f64,
    /// Fraction of probe paths that cross a filtering point: each probe crosses
    /// one independently with this probability.
    pub coverage: f64,
}

/// Williamson's virus throttle on a fraction of hosts: new destinations leave
/// a host on a deterministic clock of at most `rate` per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThrottleSpec {
    /// New destinations per second [1/s].
    pub rate: f64,
    /// Fraction of hosts that run it (drawn per host, stream `throttle`).
    pub fraction: f64,
}

/// Egress filtering: a fraction of networks drop every worm probe leaving them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EgressSpec {
    /// Fraction of hosts behind an egress filter (drawn per host, stream `egress`).
    pub fraction: f64,
    /// When the filters start dropping.
    pub from: SimTime,
}

/// Every containment mechanism of a scenario (all off by default).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainmentSpec {
    pub filter: Option<FilterSpec>,
    pub throttle: Option<ThrottleSpec>,
    pub egress: Option<EgressSpec>,
}

impl ContainmentSpec {
    /// Whether no mechanism is on.
    pub fn is_none(&self) -> bool {
        self.filter.is_none() && self.throttle.is_none() && self.egress.is_none()
    }

    /// Whether some mechanism drops probes on their way (filters, egress).
    pub fn drops(&self) -> bool {
        self.filter.is_some() || self.egress.is_some()
    }
}

/// `[containment]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContainment {
    #[serde(default)]
    pub strategy: S<String>,
    #[serde(default)]
    pub reaction_minutes: S<f64>,
    #[serde(default)]
    pub coverage: S<f64>,
    #[serde(default)]
    pub throttle_rate: S<f64>,
    #[serde(default)]
    pub throttle_fraction: S<f64>,
    #[serde(default)]
    pub egress_fraction: S<f64>,
    #[serde(default)]
    pub egress_from: Option<Spanned<toml::Value>>,
}

/// Stage 2 of `[containment]`.
pub(super) fn resolve(
    cx: &Ctx<'_>,
    r: &Spanned<RawContainment>,
    start: SimTime,
) -> Result<ContainmentSpec, ScenarioError> {
    let c = r.get_ref();
    let strategy = match &c.strategy {
        Some(v) => cx.choice(
            v,
            "containment.strategy",
            &["none", "address-blacklist", "content-filter"],
        )?,
        None => "none",
    };
    let filter = if strategy == "none" {
        let why = "with strategy = \"none\"";
        cx.unused(&c.reaction_minutes, "containment.reaction_minutes", why)?;
        cx.unused(&c.coverage, "containment.coverage", why)?;
        None
    } else {
        let reaction = match &c.reaction_minutes {
            Some(v) => cx.nonneg(v, "containment.reaction_minutes", "[min]")? * MINUTE,
            None => {
                return Err(cx.err(
                    c.strategy.as_ref().map_or(r.span(), |v| v.span()),
                    "containment.reaction_minutes",
                    format!("missing; {strategy} needs a reaction time [min]"),
                ));
            }
        };
        let coverage = match &c.coverage {
            Some(v) => cx.fraction(v, "containment.coverage")?,
            // Universal deployment: every path crosses a filtering point.
            None => 1.0,
        };
        Some(FilterSpec {
            strategy: if strategy == "address-blacklist" {
                FilterStrategy::AddressBlacklist
            } else {
                FilterStrategy::ContentFilter
            },
            reaction,
            coverage,
        })
    };
    let throttle = match &c.throttle_rate {
        Some(v) => Some(ThrottleSpec {
            rate: cx.positive(v, "containment.throttle_rate", "[new destinations/s]")?,
            fraction: match &c.throttle_fraction {
                Some(f) => cx.fraction(f, "containment.throttle_fraction")?,
                None => 1.0,
            },
        }),
        None => {
            cx.unused(
                &c.throttle_fraction,
                "containment.throttle_fraction",
                "without throttle_rate",
            )?;
            None
        }
    };
    let egress = match &c.egress_fraction {
        Some(v) => Some(EgressSpec {
            fraction: cx.fraction(v, "containment.egress_fraction")?,
            from: match &c.egress_from {
                Some(t) => {
                    let at = cx.time(t, "containment.egress_from")?;
                    if at < start {
                        return Err(cx.err(
                            t.span(),
                            "containment.egress_from",
                            format!(
                                "{at} is before scenario.start ({start}); use a time in the run"
                            ),
                        ));
                    }
                    at
                }
                None => start,
            },
        }),
        None => {
            if let Some(t) = &c.egress_from {
                return Err(cx.err(
                    t.span(),
                    "containment.egress_from",
                    "not used without egress_fraction; remove it",
                ));
            }
            None
        }
    };
    Ok(ContainmentSpec {
        filter,
        throttle,
        egress,
    })
}
