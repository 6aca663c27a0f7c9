//! The mechanisms beyond Code Red in the exact engine: hit lists, permutation
//! runners, the throttle, a destructive payload and containment. They hook
//! into [`General`] at a few points (infection, end of an infection, the
//! scheduled-event queue, breakpoints, a host's weight); see `docs/model.md`.
//!
//! - **Hit list.** A holder probes its list at the hit-list rate, one
//!   deterministic probe at a time: probe `j` at `t₀ + (j+1)/q`. While it holds
//!   a list its weight is zero (it scans nothing else). A probe that infects a
//!   host hands it the upper half of what is left (when splitting).
//! - **Throttle** (uniform scanners): new destinations leave on a clock of
//!   rate `q = min(r_h, k)`, tick `j` at `t₀ + j/q`. Each tick's destination is
//!   uniform over the space, so the ticks that reach another host form a
//!   renewal sequence with Geometric(`(N−1)/Ω`) gaps, independent of the
//!   outbreak: the engine schedules only those ticks and picks a uniform other
//!   host there (stream `throttle`). A permutation scanner's runner speed is
//!   capped at `k` instead.
//! - **Payload** (Witty): the host crashes after `K ~ Geometric(p)` cycles of
//!   `C` probes, at `t_inf + K·C/q` with `q` its sending rate (stream
//!   `payload`).

use super::containment::Containment;
use super::permutation::Permutation;
use super::{Break, General, HostState, Kind, Model, NO_HOST, Observer, Sched, flag};
use crate::engine::extras::Extras;
use crate::engine::{Clear, rate_units};
use crate::rng::{Rng, Streams, below, stream};
use crate::scenario::{FilterStrategy, PayloadSpec, ScanStrategy, Scenario};
use crate::time::SimTime;
use rand::RngExt;
use std::collections::BTreeMap;

/// A scheduled event of these mechanisms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Due {
    /// The holder's next hit-list probe.
    HitProbe,
    /// The host's permutation runner (at this version) reaches a live position.
    Perm(u32),
    /// The throttled host's next tick that reaches another host.
    Tick,
    /// The host goes on the blacklist (whatever its state then).
    Blocked,
    /// The payload crashes the host.
    Crash,
}

/// A global switch at a breakpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Switch {
    /// Content filters start dropping.
    Content,
    /// Egress filters start dropping.
    Egress,
}

/// What a holder has left of its hit list.
struct Hold {
    list: Vec<u32>,
    next: usize,
    t0: f64,
    q: f64,
}

/// A throttled uniform scanner's clock: ticks at `t0 + j/q`; `j` is the next
/// tick that reaches another host.
#[derive(Clone, Copy, Default)]
struct Clock {
    t0: f64,
    q: f64,
    j: u64,
}

pub(super) struct Ext {
    /// Any mechanism of this module is on.
    pub active: bool,
    hit_rate: f64,
    hit_split: bool,
    /// Seeds' parts of the hit list, not yet started.
    chunks: BTreeMap<u32, Vec<u32>>,
    holds: BTreeMap<u32, Hold>,
    throttle_rate: Option<f64>,
    throttled: Vec<bool>,
    clocks: Vec<Clock>,
    /// Probability that a probe reaches another host: `(N − 1)/Ω`.
    p_host: f64,
    tick_rng: Rng,
    payload: Option<PayloadSpec>,
    payload_rng: Rng,
    stop_after: Option<u32>,
    blacklist_reaction: Option<f64>,
    pub(super) cont: Containment,
}

impl Ext {
    pub fn new(s: &Scenario, x: Extras, n: usize, omega: f64, streams: &Streams) -> Ext {
        let active = crate::engine::extras::active(s);
        let throttle_rate = s.containment.throttle.map(|t| t.rate);
        let blacklist_reaction = s
            .containment
            .filter
            .filter(|f| f.strategy == FilterStrategy::AddressBlacklist)
            .map(|f| f.reaction);
        Ext {
            active,
            hit_rate: s.hit_list.as_ref().map_or(0.0, |h| h.rate),
            hit_split: s.hit_list.as_ref().is_some_and(|h| h.split),
            chunks: x.hit_chunks.into_iter().collect(),
            holds: BTreeMap::new(),
            throttle_rate,
            clocks: if throttle_rate.is_some() {
                vec![Clock::default(); n]
            } else {
                Vec::new()
            },
            throttled: x.throttled,
            p_host: n.saturating_sub(1) as f64 / omega,
            tick_rng: streams.stream2(stream::THROTTLE, "ticks"),
            payload: s.worm.payload,
            payload_rng: streams.stream(stream::PAYLOAD),
            stop_after: match s.worm.scan {
                ScanStrategy::Permutation(p) => p.stop_after,
                _ => None,
            },
            blacklist_reaction,
            cont: Containment::new(s, x.egress, n, streams.stream(stream::CONTAINMENT)),
        }
    }

    /// Global breakpoints in `(start, end]`.
    pub fn breaks(s: &Scenario) -> Vec<(SimTime, Break)> {
        let mut out = Vec::new();
        if let Some(f) = s.containment.filter {
            if f.strategy == FilterStrategy::ContentFilter && f.reaction > 0.0 {
                out.push((s.start.plus(f.reaction), Break::Ext(Switch::Content)));
            }
        }
        if let Some(e) = s.containment.egress {
            if e.from > s.start {
                out.push((e.from, Break::Ext(Switch::Egress)));
            }
        }
        out.retain(|b| b.0 <= s.end);
        out
    }

    fn is_throttled(&self, h: u32) -> bool {
        self.throttled.get(h as usize).copied().unwrap_or(false)
    }
}

/// A Geometric(`p`) number of trials up to and including the first success.
fn geometric(rng: &mut Rng, p: f64) -> u64 {
    if p >= 1.0 {
        return 1;
    }
    if p <= 0.0 {
        return u64::MAX / 4;
    }
    let u = 1.0 - rng.random::<f64>(); // (0, 1]
    let k = (u.ln() / (-p).ln_1p()).floor();
    if k >= (u64::MAX / 4) as f64 {
        u64::MAX / 4
    } else {
        1 + k as u64
    }
}

impl General {
    /// `h`'s weight with these mechanisms applied [rate units].
    pub(super) fn ext_weight(&self, h: u32, w: u64) -> u64 {
        match &self.model {
            Model::Permutation(_) => match self.ext.throttle_rate {
                // A throttled runner walks at most `k` new destinations per second.
                Some(k) if self.ext.is_throttled(h) => w.min(rate_units(k)),
                _ => w,
            },
            _ => self.ext.cont.scale(h, w),
        }
    }

    fn schedule_ext(&mut self, t: f64, h: u32, due: Due) {
        self.schedule(t, h, Kind::Ext(due));
    }

    /// Hook: `h` was just infected by `by` (`NO_HOST` for a seed); its weight is
    /// set right after.
    pub(super) fn ext_on_infect(&mut self, h: u32, by: u32, first: bool) {
        if !self.ext.active {
            return;
        }
        let t = self.t.secs();
        let i = h as usize;
        // The hit list it now holds, if any.
        let list = if by == NO_HOST {
            self.ext.chunks.remove(&h).unwrap_or_default()
        } else if self.ext.hit_split {
            match self.ext.holds.get_mut(&by) {
                Some(hold) => {
                    let left = hold.list.len() - hold.next;
                    let keep = left - left / 2;
                    hold.list.split_off(hold.next + keep)
                }
                None => Vec::new(),
            }
        } else {
            Vec::new()
        };
        if let Model::Permutation(p) = &mut self.model {
            p.start(h, (by != NO_HOST).then_some(by), t);
        }
        self.h[i].flags &= !flag::HELD;
        if !list.is_empty() {
            let mut q = self.ext.hit_rate;
            if let (Some(k), true) = (self.ext.throttle_rate, self.ext.is_throttled(h)) {
                q = q.min(k);
            }
            self.ext.holds.insert(
                h,
                Hold {
                    list,
                    next: 0,
                    t0: t,
                    q,
                },
            );
            self.h[i].flags |= flag::HELD;
            self.schedule_ext(t + 1.0 / q, h, Due::HitProbe);
        } else {
            self.start_normal_scan(h, t);
        }
        if first {
            if let Some(r) = self.ext.blacklist_reaction {
                self.schedule_ext(t + r, h, Due::Blocked);
            }
        }
        if let Some(pl) = self.ext.payload {
            let q = self.sending_rate(h);
            if q > 0.0 {
                let k = geometric(&mut self.ext.payload_rng, pl.crash_per_cycle);
                self.schedule_ext(t + k as f64 * pl.cycle_probes as f64 / q, h, Due::Crash);
            }
        }
    }

    /// The rate at which `h` sends probes when it scans [probes/s].
    fn sending_rate(&self, h: u32) -> f64 {
        let r = self.instance_units(h as usize) as f64 / crate::engine::RATE_UNITS_PER_PROBE;
        match self.ext.throttle_rate {
            Some(k) if self.ext.is_throttled(h) => r.min(k),
            _ => r,
        }
    }

    /// `h` starts its normal scanning at `t` (after its hit list, if any). A
    /// throttled uniform scanner does it on its tick clock.
    fn start_normal_scan(&mut self, h: u32, t: f64) {
        if self.ext.throttle_rate.is_none()
            || !self.ext.is_throttled(h)
            || !matches!(self.model, Model::Uniform)
        {
            return;
        }
        self.h[h as usize].flags |= flag::HELD;
        let q = self.sending_rate(h);
        if q <= 0.0 {
            return;
        }
        let j = geometric(&mut self.ext.tick_rng, self.ext.p_host);
        self.ext.clocks[h as usize] = Clock { t0: t, q, j };
        self.schedule_ext(t + j as f64 / q, h, Due::Tick);
    }

    /// Hook: `h`'s infection is over; it is now `to`.
    pub(super) fn ext_on_clear(&mut self, h: u32, to: HostState) {
        if !self.ext.active {
            return;
        }
        self.ext.holds.remove(&h);
        self.h[h as usize].flags &= !flag::HELD;
        if let Model::Permutation(p) = &mut self.model {
            p.remove(h);
            p.update(h, false, to == HostState::Susceptible);
        }
    }

    /// A global switch at a breakpoint.
    pub(super) fn ext_switch<O: Observer>(&mut self, sw: Switch, obs: &mut O) {
        match sw {
            Switch::Content => self.ext.cont.content_on = true,
            Switch::Egress => self.ext.cont.egress_on = true,
        }
        let hosts: Vec<u32> = self.states.iter(true).collect();
        for h in hosts {
            self.refresh_weight(h, obs);
        }
    }

    /// A scheduled event of these mechanisms.
    pub(super) fn ext_scheduled<O: Observer>(&mut self, ev: Sched, due: Due, obs: &mut O) {
        let h = ev.host;
        let i = h as usize;
        if due == Due::Blocked {
            // The blacklist entry stays, whatever the host does later.
            self.ext.cont.block(h);
            if self.h[i].state == HostState::Infected {
                self.refresh_weight(h, obs);
            }
            return;
        }
        if ev.epoch != self.h[i].epoch || self.h[i].state != HostState::Infected {
            return; // stale: the infection it belonged to is over
        }
        let t = self.t.secs();
        match due {
            Due::HitProbe => {
                let Some(hold) = self.ext.holds.get_mut(&h) else {
                    return;
                };
                let target = hold.list[hold.next];
                hold.next += 1;
                if !self.ext.cont.dropped(h)
                    && target != h
                    && self.h[target as usize].state == HostState::Susceptible
                {
                    self.hit_susceptible(target, h, obs);
                }
                if self.h[i].state != HostState::Infected || self.h[i].epoch != ev.epoch {
                    return;
                }
                let hold = self.ext.holds.get(&h).expect("held");
                if hold.next < hold.list.len() {
                    let at = hold.t0 + (hold.next + 1) as f64 / hold.q;
                    self.schedule_ext(at, h, Due::HitProbe);
                } else {
                    self.ext.holds.remove(&h);
                    self.h[i].flags &= !flag::HELD;
                    self.start_normal_scan(h, t);
                    self.refresh_weight(h, obs);
                }
            }
            Due::Tick => {
                let n = self.n as u32;
                let mut v = below(&mut self.ext.tick_rng, n - 1);
                if v >= h {
                    v += 1;
                }
                if !self.ext.cont.dropped(h) && self.h[v as usize].state == HostState::Susceptible {
                    self.hit_susceptible(v, h, obs);
                }
                let gap = geometric(&mut self.ext.tick_rng, self.ext.p_host);
                let c = &mut self.ext.clocks[i];
                c.j += gap;
                let at = c.t0 + c.j as f64 / c.q;
                self.schedule_ext(at, h, Due::Tick);
            }
            Due::Perm(version) => self.perm_probe(h, version, t, obs),
            Due::Crash => {
                self.clear(h, Clear::Lifetime, HostState::Crashed, obs);
                self.record_crash(h, h, obs);
            }
            Due::Blocked => unreachable!("handled above"),
        }
    }

    fn perm_probe<O: Observer>(&mut self, h: u32, version: u32, t: f64, obs: &mut O) {
        let Model::Permutation(p) = &mut self.model else {
            unreachable!("permutation events need the permutation model")
        };
        let Some(f) = p.fire(h, version, t) else {
            return;
        };
        let v = f.target;
        if v != h && !self.ext.cont.dropped(h) {
            match self.h[v as usize].state {
                HostState::Susceptible => {
                    self.perm_mut().met_susceptible(h);
                    self.hit_susceptible(v, h, obs);
                }
                HostState::Infected if !f.in_range => {
                    let met = self.perm_mut().met_infected(h);
                    if self.ext.stop_after.is_some_and(|s| met >= s) {
                        // It concludes the job is done and stops scanning.
                        self.h[h as usize].flags |= flag::ASLEEP;
                        self.refresh_weight(h, obs);
                        return;
                    }
                    self.perm_mut().jump(h, t);
                }
                _ => {}
            }
        }
        if self.h[h as usize].state != HostState::Infected {
            return;
        }
        if let Some((when, v)) = self.perm_mut().reaim(h, t) {
            self.schedule_ext(when, h, Due::Perm(v));
        }
    }

    fn perm_mut(&mut self) -> &mut Permutation {
        match &mut self.model {
            Model::Permutation(p) => p,
            _ => unreachable!("permutation model"),
        }
    }

    /// A position became live: re-aim every permutation runner.
    pub(super) fn ext_retarget(&mut self) {
        let t = self.t.secs();
        if let Model::Permutation(p) = &mut self.model {
            for (when, v, host) in p.retarget_all(t) {
                self.seq += 1;
                let epoch = self.h[host as usize].epoch;
                self.heap.push(Sched {
                    t: when,
                    seq: self.seq,
                    host,
                    epoch,
                    kind: Kind::Ext(Due::Perm(v)),
                });
            }
        }
    }
}
