//! CRv1's fixed scan order: deterministic runners over a keyed permutation.
//!
//! Every instance of the worm walks the same sequence ([`Sequence`]) from its
//! start (or, with per-thread offsets, each of its threads from its own point
//! `j·2^bits/threads`). A runner's progress `x` grows at its speed (per-thread
//! rate × awake threads, zero outside the spreading phase); probe number `k`
//! goes to position `(offset + k) mod 2^bits` when `x` reaches `k + 1`. So the
//! time of a runner's next *useful* probe is known exactly: find the next
//! position holding a target (a susceptible host, or an infected one that can
//! take another instance) with a successor search in a Fenwick tree over the
//! hosts sorted by sequence position, and divide the distance by the speed.
//! Runners are re-aimed when their speed changes or a new target appears.

use crate::engine::sequence::HostOrder;
use crate::engine::{RATE_UNITS_PER_PROBE, RunnerMove};
use crate::fenwick::Fenwick;
use crate::population::Population;
use crate::rng::{Rng, below_u64};
use crate::scenario::SequenceSpec;

#[derive(Clone, Debug)]
struct Runner {
    host: u32,
    offset: u64,
    /// Progress (probes sent, with fraction) at `t0`.
    x0: f64,
    t0: f64,
    /// Probes per second.
    speed: f64,
    threads: u32,
    awake: u32,
    version: u32,
    alive: bool,
    /// Index of the probe that will hit the next target.
    next_k: Option<f64>,
    /// Probes known to be sent (the next probe index is at least this).
    sent: f64,
}

impl Runner {
    fn x_at(&self, t: f64) -> f64 {
        self.x0 + self.speed * (t - self.t0)
    }

    /// The probe index a re-aim at `t` searches from: the progress, but not
    /// past `sent`, nor past a hit still pending. A pending hit (not fired:
    /// its index is at least `sent`) is due at or after `t`, so its probe has
    /// not gone yet even when the rounded progress says it is due right now
    /// (two runners' hits at the same instant, the first changing the
    /// second's speed): keep it.
    fn search_from(&self, t: f64) -> f64 {
        let from = self.sent.max(self.x_at(t).floor());
        match self.next_k {
            Some(k) if k >= self.sent => from.min(k),
            _ => from,
        }
    }
}

pub struct Runners {
    m: u64,
    per_thread_offset: bool,
    /// Sorted sequence positions of the hosts, and the host at each rank.
    pos_sorted: Vec<u64>,
    host_at_rank: Vec<u32>,
    rank_of_host: Vec<u32>,
    targetable: Fenwick<u64>,
    susceptible: Vec<bool>,
    reinfectable: Vec<bool>,
    n_susceptible: usize,
    runners: Vec<Runner>,
    free: Vec<u32>,
    of_host: Vec<Vec<u32>>,
    /// Trajectory changes not yet passed on to observers ([`Runners::take_moves`]).
    moves: Vec<RunnerMove>,
}

impl Runners {
    pub fn new(pop: &Population, spec: SequenceSpec) -> Runners {
        let order = HostOrder::new(pop, spec.key);
        let n = pop.len();
        Runners {
            m: order.len,
            per_thread_offset: spec.per_thread_offset,
            pos_sorted: order.pos_sorted,
            host_at_rank: order.host_at_rank,
            rank_of_host: order.rank_of_host,
            targetable: Fenwick::new(n),
            susceptible: vec![false; n],
            reinfectable: vec![false; n],
            n_susceptible: 0,
            runners: Vec::new(),
            free: Vec::new(),
            of_host: vec![Vec::new(); n],
            moves: Vec::new(),
        }
    }

    /// The trajectory changes since the last call, in order.
    pub fn take_moves(&mut self) -> Vec<RunnerMove> {
        std::mem::take(&mut self.moves)
    }

    /// Forget the trajectory changes (no observer follows them).
    pub fn clear_moves(&mut self) {
        self.moves.clear();
    }

    fn log_move(&mut self, id: u32) {
        let r = &self.runners[id as usize];
        self.moves.push(RunnerMove {
            id,
            host: r.host,
            offset: r.offset,
            x0: r.x0,
            t0: r.t0,
            speed: if r.alive { r.speed } else { 0.0 },
            alive: r.alive,
        });
    }

    pub fn susceptible_count(&self) -> usize {
        self.n_susceptible
    }

    /// Whether host `h` is a target (susceptible, or can take another instance).
    fn is_target(&self, h: usize) -> bool {
        self.susceptible[h] || self.reinfectable[h]
    }

    /// Sequence position of runner `r`'s probe `k`.
    fn position(&self, r: &Runner, k: f64) -> u64 {
        (r.offset + (k as u64) % self.m) % self.m
    }

    /// Update `h`'s target flag; true if it just became a target.
    fn update_target(&mut self, h: u32) -> bool {
        let r = self.rank_of_host[h as usize] as usize;
        let on = self.is_target(h as usize);
        let was = self.targetable.get(r) == 1;
        self.targetable.set(r, u64::from(on));
        on && !was
    }

    /// Returns true if `h` just became a target (runners must be re-aimed).
    pub fn set_susceptible(&mut self, h: u32, on: bool) -> bool {
        if self.susceptible[h as usize] != on {
            self.susceptible[h as usize] = on;
            if on {
                self.n_susceptible += 1;
            } else {
                self.n_susceptible -= 1;
            }
        }
        self.update_target(h)
    }

    /// Returns true if `h` just became a target.
    pub fn set_reinfectable(&mut self, h: u32, on: bool) -> bool {
        self.reinfectable[h as usize] = on;
        self.update_target(h)
    }

    /// Start one more instance on `h`: one runner, or one per thread.
    pub fn add_instance(&mut self, h: u32, threads: u32, awake: u32, t: f64) {
        let make = |offset: u64, threads: u32, awake: u32| Runner {
            host: h,
            offset,
            x0: 0.0,
            t0: t,
            speed: 0.0,
            threads,
            awake,
            version: 0,
            alive: true,
            next_k: None,
            sent: 0.0,
        };
        let new: Vec<Runner> = if self.per_thread_offset {
            (0..threads)
                .map(|j| {
                    make(
                        (j as u128 * self.m as u128 / threads as u128) as u64,
                        1,
                        u32::from(j < awake),
                    )
                })
                .collect()
        } else {
            vec![make(0, threads, awake)]
        };
        for r in new {
            let id = match self.free.pop() {
                Some(id) => {
                    let v = self.runners[id as usize].version.wrapping_add(1);
                    self.runners[id as usize] = Runner { version: v, ..r };
                    id
                }
                None => {
                    self.runners.push(r);
                    self.runners.len() as u32 - 1
                }
            };
            self.of_host[h as usize].push(id);
        }
    }

    /// `h`'s infection is over at `t`: its runners stop.
    pub fn remove_host(&mut self, h: u32, t: f64) {
        for id in std::mem::take(&mut self.of_host[h as usize]) {
            let r = &mut self.runners[id as usize];
            r.x0 = r.x_at(t);
            r.t0 = t;
            r.speed = 0.0;
            r.alive = false;
            r.version = r.version.wrapping_add(1);
            self.free.push(id);
            self.log_move(id);
        }
    }

    /// One sleeping thread of `h` wakes: a uniform one among its runners.
    pub fn wake_one(&mut self, h: u32, rng: &mut Rng) {
        let ids = &self.of_host[h as usize];
        let asleep: u64 = ids
            .iter()
            .map(|&id| (self.runners[id as usize].threads - self.runners[id as usize].awake) as u64)
            .sum();
        if asleep == 0 {
            return;
        }
        let mut u = below_u64(rng, asleep);
        for &id in ids {
            let r = &mut self.runners[id as usize];
            let s = (r.threads - r.awake) as u64;
            if u < s {
                r.awake += 1;
                return;
            }
            u -= s;
        }
    }

    /// The index of the probe, from probe index `k` on, that next hits a target.
    fn aim(&self, r: &Runner, k: f64) -> Option<f64> {
        let total = self.targetable.total();
        if total == 0 {
            return None;
        }
        let cur = self.position(r, k);
        let rank = self.pos_sorted.partition_point(|&p| p < cur);
        let before = self.targetable.prefix(rank);
        let (j, wrap) = if before < total {
            (self.targetable.find(before), 0)
        } else {
            (self.targetable.find(0), self.m)
        };
        let d = self.pos_sorted[j] + wrap - cur;
        Some(k + d as f64)
    }

    /// Re-aim runner `id` at time `t`; returns its next hit time if it has one.
    /// Probe `k` goes when the progress `x0 + speed·(t − t0)` reaches `k + 1`,
    /// with `(x0, t0)` rebased only when the speed changes (the same arithmetic
    /// as the per-probe reference).
    fn reaim(&mut self, id: u32, t: f64) -> Option<f64> {
        let r = &self.runners[id as usize];
        if !r.alive || r.speed <= 0.0 {
            let r = &mut self.runners[id as usize];
            r.next_k = None;
            r.version = r.version.wrapping_add(1);
            return None;
        }
        let next = self.aim(r, r.search_from(t));
        let r = &mut self.runners[id as usize];
        r.version = r.version.wrapping_add(1);
        r.next_k = next;
        next.map(|k| (r.t0 + (k + 1.0 - r.x0) / r.speed).max(t))
    }

    /// Whether runner `r`, at `t`, reaches its current aim before position
    /// `p` and its aim is still a target: then [`Runners::reaim`] would give
    /// it the same probe index (it searches from the same `from` for the first
    /// target, and no target lies between `from` and the aim, since every
    /// target added there re-aimed the runner).
    fn keeps_aim(&self, r: &Runner, t: f64, p: u64) -> bool {
        let Some(k) = r.next_k else {
            return false;
        };
        if k < r.sent {
            return false;
        }
        let from = r.search_from(t);
        let ahead = k - from;
        if ahead >= self.m as f64 {
            return false;
        }
        let aim = self.position(r, k);
        let rank = self.pos_sorted.partition_point(|&q| q < aim);
        if !self.is_target(self.host_at_rank[rank] as usize) {
            return false;
        }
        let cur = self.position(r, from);
        let to_p = (p + self.m - cur) % self.m;
        let keeps = to_p as f64 > ahead;
        debug_assert!(
            !keeps || self.aim(r, from) == Some(k),
            "a kept aim is the aim"
        );
        keeps
    }

    /// The host's speed inputs changed (awake threads, phase): update its runners.
    /// Returns `(time, runner id, version)` of each new hit to schedule.
    /// `per_thread_units` is the rate of one awake thread [rate units] (0 when
    /// the host does not spread).
    pub fn host_speed_changed(
        &mut self,
        h: u32,
        t: f64,
        per_thread_units: f64,
    ) -> Vec<(f64, u32, u32)> {
        let ids = self.of_host[h as usize].clone();
        let mut out = Vec::new();
        for id in ids {
            let r = &mut self.runners[id as usize];
            let speed = per_thread_units * r.awake as f64 / RATE_UNITS_PER_PROBE;
            if speed == r.speed && r.next_k.is_some() {
                continue; // unchanged: keep its base and its scheduled hit
            }
            r.x0 = r.x_at(t);
            r.t0 = t;
            r.speed = speed;
            self.log_move(id);
            if let Some(when) = self.reaim(id, t) {
                out.push((when, id, self.runners[id as usize].version));
            }
        }
        out
    }

    /// Host `h` just became a target at `t`: re-aim the moving runners that
    /// may reach it before their current aim. Returns `(time, runner id,
    /// version, host)` of each new hit to schedule.
    ///
    /// A runner whose aim is still a target, with `h`'s position beyond it,
    /// keeps its aim and its scheduled hit: re-aiming it would find the same
    /// probe index, hence the same time. Re-aiming every runner instead made
    /// each new target cost a Fenwick search and a heap entry per runner (with
    /// per-thread offsets, 99 per infected host), and the stale entries
    /// dominated the run (`bench/RESULTS.md`).
    pub fn retarget_to(&mut self, t: f64, h: u32) -> Vec<(f64, u32, u32, u32)> {
        let p = self.pos_sorted[self.rank_of_host[h as usize] as usize];
        let mut out = Vec::new();
        for id in 0..self.runners.len() as u32 {
            let r = &self.runners[id as usize];
            if !r.alive || r.speed <= 0.0 || self.keeps_aim(r, t, p) {
                continue;
            }
            let host = r.host;
            if let Some(when) = self.reaim(id, t) {
                out.push((when, id, self.runners[id as usize].version, host));
            }
        }
        out
    }

    /// Number of runner slots (alive or free): at most one scheduled hit each
    /// is current.
    pub fn slots(&self) -> usize {
        self.runners.len()
    }

    /// Whether a hit scheduled for runner `id` at `version` is still current
    /// (a re-aim, or the end of its host's infection, makes it stale; versions
    /// only grow, also when a slot is reused).
    pub fn is_current(&self, id: u32, version: u32) -> bool {
        let r = &self.runners[id as usize];
        r.alive && r.version == version
    }

    /// Runner `id` (at `version`) reaches its target at `t`. Returns the host
    /// there and the time of the runner's next hit, or `None` if the entry is
    /// stale.
    pub fn fire(&mut self, id: u32, version: u32, t: f64) -> Option<(u32, Option<(f64, u32)>)> {
        let r = &self.runners[id as usize];
        if !r.alive || r.version != version {
            return None;
        }
        let k = r.next_k?;
        let pos = self.position(r, k);
        let rank = self.pos_sorted.partition_point(|&p| p < pos);
        let target = self.host_at_rank[rank];
        debug_assert_eq!(self.pos_sorted[rank], pos);
        // Probe k is sent.
        self.runners[id as usize].sent = k + 1.0;
        let next = self
            .reaim(id, t)
            .map(|when| (when, self.runners[id as usize].version));
        Some((target, next))
    }
}
