//! Scanning strategies beyond Code Red: hit lists, permutation scanning,
//! bandwidth-limited scan rates, a PRNG confined to part of the space
//! (Slammer) and a destructive payload cycle (Witty). Types, and stage 2 of
//! their keys (`[hit_list]`; `worm.permutation*`, `worm.uplink_*`,
//! `worm.probe_bytes`, `worm.prng_subsets`, `worm.cycle_probes`,
//! `worm.crash_per_cycle`). Sources are cited in `docs/model.md`.

use super::raw::{RawWorm, S};
use super::resolve::Ctx;
use super::{ScanRateSpec, ScenarioError};
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

/// Which hosts are on the hit list.
#[derive(Clone, Debug, PartialEq)]
pub enum HitListHosts {
    /// This many hosts, drawn uniformly from the population (not the seeds;
    /// stream `hit-list`), in draw order.
    Count(u32),
    /// These addresses, in this order (each must be a host of the population).
    Addresses(Vec<u32>),
}

/// Hit-list scanning (Staniford, Paxson, Weaver 2002, §4): the seeds hold a
/// list of vulnerable addresses and probe it, in order, before scanning.
#[derive(Clone, Debug, PartialEq)]
pub struct HitListSpec {
    pub hosts: HitListHosts,
    /// Probes per second while working through a list [probes/s].
    pub rate: f64,
    /// When a list probe infects a host, the holder hands it the second half
    /// of what is left of its list (Staniford et al.); when false, the seeds
    /// probe their whole list themselves.
    pub split: bool,
}

/// Where a permutation scanner starts walking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermutationStart {
    /// Just after its own address's position in the permutation.
    Own,
    /// At a uniform random position (stream `permutation`).
    Random,
}

/// Permutation scanning (Staniford, Paxson, Weaver 2002, §4): every host walks
/// one shared pseudo-random permutation of the address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PermutationSpec {
    /// Key of the keyed bijection.
    pub key: u64,
    /// The seeds split the permutation into equal ranges, and an infection
    /// hands the child the upper half of the parent's remaining range.
    pub partitioned: bool,
    pub start: PermutationStart,
    /// A host that meets this many infected hosts in a row (without infecting
    /// one) stops scanning (`None`: never).
    pub stop_after: Option<u32>,
}

/// The payload cycle of a worm that damages its host (Witty): after every
/// `cycle_probes` probes it writes to the disk, and each write crashes the host
/// with probability `crash_per_cycle`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PayloadSpec {
    pub cycle_probes: u32,
    pub crash_per_cycle: f64,
}

/// `[hit_list]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHitList {
    #[serde(default)]
    pub size: S<i64>,
    #[serde(default)]
    pub addresses: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub rate: S<f64>,
    #[serde(default)]
    pub split: Option<bool>,
}

/// Stage 2 of `[hit_list]`. `free` is the number of hosts that are not seeds
/// (when known), the most a drawn list can hold.
pub(super) fn hit_list(
    cx: &Ctx<'_>,
    r: &Spanned<RawHitList>,
    free: Option<u32>,
) -> Result<HitListSpec, ScenarioError> {
    let h = r.get_ref();
    let hosts = match (&h.size, &h.addresses) {
        (Some(_), Some(a)) => {
            return Err(cx.err(
                a.span(),
                "hit_list.addresses",
                "give size or addresses, not both",
            ));
        }
        (Some(v), None) => {
            let max = free.map_or(u32::MAX as i64, i64::from);
            HitListHosts::Count(cx.count(v, "hit_list.size", 1, max)?)
        }
        (None, Some(list)) => {
            let mut addrs = Vec::new();
            for (i, a) in list.get_ref().iter().enumerate() {
                addrs.push(cx.addr(a, &format!("hit_list.addresses.{i}"))?);
            }
            if addrs.is_empty() {
                return Err(cx.err(
                    list.span(),
                    "hit_list.addresses",
                    "the list is empty; list at least one address or remove [hit_list]",
                ));
            }
            HitListHosts::Addresses(addrs)
        }
        (None, None) => {
            return Err(cx.err(
                r.span(),
                "hit_list.size",
                "missing; give size (hosts drawn from the population) or addresses",
            ));
        }
    };
    let rate = match &h.rate {
        Some(v) => cx.positive(v, "hit_list.rate", "[probes/s]")?,
        None => {
            return Err(cx.err(
                r.span(),
                "hit_list.rate",
                "missing; give the rate at which a holder probes its list [probes/s]",
            ));
        }
    };
    Ok(HitListSpec {
        hosts,
        rate,
        split: h.split.unwrap_or(true),
    })
}

/// Stage 2 of the permutation keys of `[worm]` (scan = "permutation").
pub(super) fn permutation(cx: &Ctx<'_>, w: &RawWorm) -> Result<PermutationSpec, ScenarioError> {
    let partitioned = match &w.permutation {
        Some(v) => cx.choice(v, "worm.permutation", &["simple", "partitioned"])? == "partitioned",
        None => false,
    };
    let start = match &w.permutation_start {
        Some(v) => match cx.choice(v, "worm.permutation_start", &["own", "random"])? {
            "own" => PermutationStart::Own,
            _ => PermutationStart::Random,
        },
        None => PermutationStart::Own,
    };
    let key = match &w.permutation_key {
        Some(v) if *v.get_ref() < 0 => {
            return Err(cx.err(
                v.span(),
                "worm.permutation_key",
                "the key must be a whole number >= 0",
            ));
        }
        Some(v) => *v.get_ref() as u64,
        None => 0x0057_A41F_0D02,
    };
    let stop_after = match &w.permutation_stop_after {
        Some(v) => Some(cx.count(v, "worm.permutation_stop_after", 1, 1_000_000)?),
        None => None,
    };
    Ok(PermutationSpec {
        key,
        partitioned,
        start,
        stop_after,
    })
}

/// Reject the permutation keys when the scan is not a permutation scan.
pub(super) fn no_permutation_keys(
    cx: &Ctx<'_>,
    w: &RawWorm,
    why: &str,
) -> Result<(), ScenarioError> {
    cx.unused(&w.permutation, "worm.permutation", why)?;
    cx.unused(&w.permutation_start, "worm.permutation_start", why)?;
    cx.unused(&w.permutation_key, "worm.permutation_key", why)?;
    cx.unused(
        &w.permutation_stop_after,
        "worm.permutation_stop_after",
        why,
    )
}

/// Stage 2 of `scan_rate_distribution = "bandwidth"`: each host's scan rate is
/// its uplink over the probe size, `r_h = u_h / (8·probe_bytes)`, with `u_h`
/// lognormal of the given mean and coefficient of variation.
pub(super) fn bandwidth(
    cx: &Ctx<'_>,
    w: &RawWorm,
    span: Range<usize>,
) -> Result<ScanRateSpec, ScenarioError> {
    cx.unused(
        &w.scan_rate,
        "worm.scan_rate",
        "with scan_rate_distribution = \"bandwidth\" (the rate follows from uplink_mean_bps and probe_bytes)",
    )?;
    cx.unused(
        &w.scan_rate_cv,
        "worm.scan_rate_cv",
        "with scan_rate_distribution = \"bandwidth\" (use uplink_cv)",
    )?;
    fn need<'a>(
        cx: &Ctx<'_>,
        v: &'a S<f64>,
        span: &Range<usize>,
        key: &str,
        what: &str,
    ) -> Result<&'a Spanned<f64>, ScenarioError> {
        v.as_ref().ok_or_else(|| {
            cx.err(
                span.clone(),
                key,
                format!("missing; a bandwidth-limited worm needs {what}"),
            )
        })
    }
    let mean_bps = cx.positive(
        need(
            cx,
            &w.uplink_mean_bps,
            &span,
            "worm.uplink_mean_bps",
            "the mean uplink [bit/s]",
        )?,
        "worm.uplink_mean_bps",
        "[bit/s]",
    )?;
    let cv = cx.nonneg(
        need(
            cx,
            &w.uplink_cv,
            &span,
            "worm.uplink_cv",
            "the uplink's coefficient of variation",
        )?,
        "worm.uplink_cv",
        "(coefficient of variation)",
    )?;
    let probe_bytes = cx.positive(
        need(
            cx,
            &w.probe_bytes,
            &span,
            "worm.probe_bytes",
            "the probe size on the wire [bytes]",
        )?,
        "worm.probe_bytes",
        "[bytes]",
    )?;
    Ok(ScanRateSpec::Bandwidth {
        mean_bps,
        cv,
        probe_bytes,
    })
}

/// Reject the bandwidth keys when the rate is not bandwidth-limited, and
/// return the required `worm.scan_rate`.
pub(super) fn scan_rate<'w>(
    cx: &Ctx<'_>,
    w: &'w RawWorm,
    span: Range<usize>,
) -> Result<&'w Spanned<f64>, ScenarioError> {
    let why = "unless scan_rate_distribution = \"bandwidth\"";
    cx.unused(&w.uplink_mean_bps, "worm.uplink_mean_bps", why)?;
    cx.unused(&w.uplink_cv, "worm.uplink_cv", why)?;
    w.scan_rate.as_ref().ok_or_else(|| {
        cx.err(
            span,
            "worm.scan_rate",
            "missing; give the scan rate [probes/s], or scan_rate_distribution = \"bandwidth\" with uplink_mean_bps, uplink_cv and probe_bytes",
        )
    })
}

/// Stage 2 of `worm.probe_bytes` (optional unless the rate is bandwidth-limited).
pub(super) fn probe_bytes(cx: &Ctx<'_>, w: &RawWorm) -> Result<Option<f64>, ScenarioError> {
    w.probe_bytes
        .as_ref()
        .map(|v| cx.positive(v, "worm.probe_bytes", "[bytes]"))
        .transpose()
}

/// Stage 2 of `worm.prng_subsets`: 1 (a sound generator) or a power of two.
pub(super) fn prng_subsets(cx: &Ctx<'_>, w: &RawWorm) -> Result<u32, ScenarioError> {
    match &w.prng_subsets {
        Some(v) => {
            let k = cx.count(v, "worm.prng_subsets", 1, 256)?;
            if !k.is_power_of_two() {
                return Err(cx.err(
                    v.span(),
                    "worm.prng_subsets",
                    format!("{k} is not a power of two; use 1, 2, 4, 8, ... 256"),
                ));
            }
            Ok(k)
        }
        None => Ok(1),
    }
}

/// Stage 2 of `worm.cycle_probes` and `worm.crash_per_cycle` (both or neither).
pub(super) fn payload(
    cx: &Ctx<'_>,
    w: &RawWorm,
    span: Range<usize>,
) -> Result<Option<PayloadSpec>, ScenarioError> {
    match (&w.cycle_probes, &w.crash_per_cycle) {
        (None, None) => Ok(None),
        (Some(c), Some(p)) => {
            let cycle_probes = cx.count(c, "worm.cycle_probes", 1, u32::MAX as i64)?;
            let crash_per_cycle = cx.fraction(p, "worm.crash_per_cycle")?;
            if crash_per_cycle == 0.0 {
                return Err(cx.err(
                    p.span(),
                    "worm.crash_per_cycle",
                    "0 never crashes; remove cycle_probes and crash_per_cycle instead",
                ));
            }
            Ok(Some(PayloadSpec {
                cycle_probes,
                crash_per_cycle,
            }))
        }
        (Some(c), None) => Err(cx.err(
            c.span(),
            "worm.crash_per_cycle",
            "missing; a payload cycle needs the crash probability of each cycle",
        )),
        (None, Some(p)) => Err(cx.err(
            p.span().start..span.end,
            "worm.cycle_probes",
            "missing; give the probes sent per payload cycle",
        )),
    }
}

/// Combinations the engines do not model, each rejected with the key to change.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_combinations(
    cx: &Ctx<'_>,
    raw: &super::raw::RawFile,
    worm: &super::WormSpec,
    calendar: &super::CalendarSpec,
    network: &super::NetworkSpec,
    hit_list: Option<&HitListSpec>,
    containment: &super::ContainmentSpec,
    checkpoint: bool,
) -> Result<(), ScenarioError> {
    use super::{Congestion, Reinfection, ScanStrategy, Seeding};
    let w = raw.worm.get_ref();
    let worm_span = raw.worm.span();
    let scan_span = w.scan.as_ref().map_or(worm_span.clone(), |v| v.span());
    let hit_span = raw.hit_list.as_ref().map(|h| h.span());
    let cont_span = raw.containment.as_ref().map(|c| c.span());
    // (what, where it is set) for every mechanism that needs constant rates.
    let mut features: Vec<(&str, Range<usize>)> = Vec::new();
    if let Some(sp) = &hit_span {
        features.push(("a hit list", sp.clone()));
    }
    if let ScanStrategy::Permutation(_) = worm.scan {
        features.push(("permutation scanning", scan_span.clone()));
    }
    if worm.prng_subsets > 1 {
        let sp = w
            .prng_subsets
            .as_ref()
            .map_or(worm_span.clone(), |v| v.span());
        features.push(("prng_subsets", sp));
    }
    if worm.payload.is_some() {
        let sp = w
            .cycle_probes
            .as_ref()
            .map_or(worm_span.clone(), |v| v.span());
        features.push(("a payload cycle", sp));
    }
    if containment.throttle.is_some() {
        let sp = raw
            .containment
            .as_ref()
            .and_then(|c| c.get_ref().throttle_rate.as_ref().map(|v| v.span()))
            .unwrap_or(worm_span.clone());
        features.push(("the throttle", sp));
    }
    for (what, span) in &features {
        if calendar.enabled {
            return Err(cx.err(
                span.clone(),
                "calendar.enabled",
                format!("{what} is modelled for worms without the Code Red calendar; set [calendar] enabled = false"),
            ));
        }
        if worm.reinfection != Reinfection::Ignore {
            return Err(cx.err(
                span.clone(),
                "worm.reinfection",
                format!("{what} is modelled only with reinfection = \"ignore\""),
            ));
        }
        if checkpoint {
            return Err(cx.err(
                span.clone(),
                "initial.checkpoint",
                format!("{what} cannot start from a checkpoint; remove [initial]"),
            ));
        }
    }
    if checkpoint && containment.drops() {
        return Err(cx.err(
            cont_span.clone().unwrap_or(worm_span.clone()),
            "initial.checkpoint",
            "containment cannot start from a checkpoint; remove [initial]",
        ));
    }
    if let (Some(_), Some(sp)) = (hit_list, &hit_span) {
        let seeds = match &worm.seeding {
            Seeding::Count(k) => *k as usize,
            Seeding::Addresses(a) => a.len(),
        };
        if seeds == 0 {
            return Err(cx.err(
                sp.clone(),
                "worm.initial_infected",
                "a hit list needs at least one seed to hold it",
            ));
        }
    }
    let permutation = matches!(worm.scan, ScanStrategy::Permutation(_));
    let uniform = worm.scan == ScanStrategy::Uniform;
    if permutation && network.congestion != Congestion::None {
        return Err(cx.err(
            scan_span.clone(),
            "network.congestion",
            "congestion is not modelled for permutation scanning; use \"none\"",
        ));
    }
    if worm.prng_subsets > 1 && !uniform {
        let sp = w
            .prng_subsets
            .as_ref()
            .map_or(worm_span.clone(), |v| v.span());
        return Err(cx.err(
            sp,
            "worm.prng_subsets",
            "a generator confined to subsets is modelled for uniform scanning only; set scan = \"uniform\" or remove prng_subsets",
        ));
    }
    if worm.payload.is_some() && !(uniform || permutation) {
        let sp = w
            .cycle_probes
            .as_ref()
            .map_or(worm_span.clone(), |v| v.span());
        return Err(cx.err(
            sp,
            "worm.cycle_probes",
            "a payload cycle is modelled for uniform and permutation scanning only",
        ));
    }
    if let Some(sp) = &cont_span {
        if containment.throttle.is_some() {
            if !(uniform || permutation) {
                return Err(cx.err(
                    sp.clone(),
                    "containment.throttle_rate",
                    "the throttle is modelled for uniform and permutation scanning only",
                ));
            }
            if worm.prng_subsets > 1 {
                return Err(cx.err(
                    sp.clone(),
                    "containment.throttle_rate",
                    "the throttle is not modelled with prng_subsets; remove one of them",
                ));
            }
            if network.congestion != Congestion::None {
                return Err(cx.err(
                    sp.clone(),
                    "network.congestion",
                    "congestion is not modelled with the throttle; use \"none\"",
                ));
            }
        }
        if containment.drops() && matches!(worm.scan, ScanStrategy::Sequence(_)) {
            return Err(cx.err(
                sp.clone(),
                "containment.strategy",
                "filters are not modelled for sequence scanning (CRv1)",
            ));
        }
    }
    Ok(())
}
