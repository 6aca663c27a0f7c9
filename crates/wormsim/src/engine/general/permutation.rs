//! Permutation scanning (Staniford, Paxson, Weaver 2002, §4) in the exact
//! engine: one deterministic runner per infected host over a shared keyed
//! permutation of the address space ([`Sequence`]).
//!
//! A runner has a base position `b`, progress `x` growing at the host's scan
//! rate, and sends probe `k` to position `(b + k) mod Ω` when `x` reaches
//! `k + 1`. Only positions holding a *live* host (susceptible or infected)
//! can change anything, so the engine computes the runner's next live
//! position with a successor search in a Fenwick tree over the hosts sorted by
//! position, and schedules that probe's time; the probes in between reach
//! nothing and are skipped. At a live position the engine acts: a susceptible
//! host is infected; an infected one (not the runner's own host) makes a
//! simple scanner jump to a uniform random position (stream `permutation`) and
//! walk on from there. Positions stop being live only when a host is patched
//! or crashes (a runner aimed at one finds nothing there and walks on); a
//! position that becomes live again (a crashed host recovers) re-aims every
//! runner.
//!
//! Partitioned permutation: the seeds split the positions into equal ranges;
//! when a runner in its range infects a host, the remaining range is halved
//! and the child gets the upper half. Inside its range a runner does not jump;
//! past its end it scans as a simple permutation scanner.

use crate::engine::RATE_UNITS_PER_PROBE;
use crate::engine::sequence::HostOrder;
use crate::fenwick::Fenwick;
use crate::population::Population;
use crate::rng::{Rng, below_u64};
use crate::scenario::{PermutationSpec, PermutationStart};

#[derive(Clone, Copy, Debug, Default)]
struct Run {
    base: u64,
    /// Probes `k < range` are inside the host's partition range.
    range: u64,
    /// Progress (probes sent, with fraction) at `t0`.
    x0: f64,
    t0: f64,
    /// Probes per second.
    speed: f64,
    next_k: Option<u64>,
    version: u32,
    alive: bool,
    /// Infected hosts met in a row.
    met: u32,
}

impl Run {
    fn x_at(&self, t: f64) -> f64 {
        self.x0 + self.speed * (t - self.t0)
    }
}

/// A probe that reached a live position.
#[derive(Clone, Copy, Debug)]
pub struct Fired {
    pub target: u32,
    /// The probe was inside the host's partition range.
    pub in_range: bool,
}

pub struct Permutation {
    m: u64,
    spec: PermutationSpec,
    pos_sorted: Vec<u64>,
    host_at_rank: Vec<u32>,
    rank_of_host: Vec<u32>,
    live: Fenwick<u64>,
    susceptible: Vec<bool>,
    n_susceptible: usize,
    runs: Vec<Run>,
    seeds: u64,
    seeds_started: u64,
    pub rng: Rng,
}

impl Permutation {
    pub fn new(pop: &Population, spec: PermutationSpec, seeds: usize, rng: Rng) -> Permutation {
        let order = HostOrder::new(pop, spec.key);
        let n = pop.len();
        Permutation {
            m: order.len,
            spec,
            pos_sorted: order.pos_sorted,
            host_at_rank: order.host_at_rank,
            rank_of_host: order.rank_of_host,
            live: Fenwick::new(n),
            susceptible: vec![false; n],
            n_susceptible: 0,
            runs: vec![Run::default(); n],
            seeds: seeds.max(1) as u64,
            seeds_started: 0,
            rng,
        }
    }

    pub fn susceptible_count(&self) -> usize {
        self.n_susceptible
    }

    /// Record `h`'s state; true if its position just became live.
    pub fn update(&mut self, h: u32, susceptible: bool, live: bool) -> bool {
        let i = h as usize;
        if self.susceptible[i] != susceptible {
            self.susceptible[i] = susceptible;
            if susceptible {
                self.n_susceptible += 1;
            } else {
                self.n_susceptible -= 1;
            }
        }
        let r = self.rank_of_host[i] as usize;
        let was = self.live.get(r) == 1;
        self.live.set(r, u64::from(live));
        live && !was
    }

    /// Start `h`'s runner (speed 0 until the engine sets it), infected by `by`
    /// (`None` for a seed) at time `t`.
    pub fn start(&mut self, h: u32, by: Option<u32>, t: f64) {
        let (base, range) = match (self.spec.partitioned, by) {
            (true, None) => {
                let j = self.seeds_started.min(self.seeds - 1);
                self.seeds_started += 1;
                let a = (j as u128 * self.m as u128 / self.seeds as u128) as u64;
                let b = ((j + 1) as u128 * self.m as u128 / self.seeds as u128) as u64;
                (a, b - a)
            }
            (true, Some(p)) => match self.split(p, t) {
                Some(x) => x,
                None => (self.simple_start(h), 0),
            },
            (false, _) => (self.simple_start(h), 0),
        };
        let r = &mut self.runs[h as usize];
        *r = Run {
            base,
            range,
            x0: 0.0,
            t0: t,
            speed: 0.0,
            next_k: None,
            version: r.version.wrapping_add(1),
            alive: true,
            met: 0,
        };
    }

    fn simple_start(&mut self, h: u32) -> u64 {
        match self.spec.start {
            // Just after the host's own position.
            PermutationStart::Own => {
                (self.pos_sorted[self.rank_of_host[h as usize] as usize] + 1) % self.m
            }
            PermutationStart::Random => below_u64(&mut self.rng, self.m),
        }
    }

    /// Halve what is left of `p`'s partition range at time `t`: `p` keeps the
    /// lower half, the upper half (base, length) is returned for the child.
    fn split(&mut self, p: u32, t: f64) -> Option<(u64, u64)> {
        let r = &mut self.runs[p as usize];
        if !r.alive {
            return None;
        }
        let next = r.x_at(t).floor() as u64;
        if next >= r.range {
            return None;
        }
        let left = r.range - next;
        if left < 2 {
            return None;
        }
        let keep = left - left / 2;
        r.range = next + keep;
        Some(((r.base + next + keep) % self.m, left / 2))
    }

    /// The probe index at or after `from` that reaches a live position.
    fn aim(&self, base: u64, from: u64) -> Option<u64> {
        let total = self.live.total();
        if total == 0 {
            return None;
        }
        let cur = (base + from % self.m) % self.m;
        let rank = self.pos_sorted.partition_point(|&p| p < cur);
        let before = self.live.prefix(rank);
        let (j, wrap) = if before < total {
            (self.live.find(before), 0)
        } else {
            (self.live.find(0), self.m)
        };
        Some(from + (self.pos_sorted[j] + wrap - cur))
    }

    /// Re-aim `h`'s runner at time `t` (progress already current); returns the
    /// time and version of its next probe to a live position.
    pub fn reaim(&mut self, h: u32, t: f64) -> Option<(f64, u32)> {
        let i = h as usize;
        let r = self.runs[i];
        let next = if r.alive && r.speed > 0.0 {
            self.aim(r.base, r.x0.floor() as u64)
        } else {
            None
        };
        let r = &mut self.runs[i];
        r.version = r.version.wrapping_add(1);
        r.next_k = next;
        r.t0 = t;
        next.map(|k| (t + (k as f64 + 1.0 - r.x0) / r.speed, r.version))
    }

    /// `h`'s scanning rate is now `units` [rate units].
    pub fn speed_changed(&mut self, h: u32, t: f64, units: u64) -> Option<(f64, u32)> {
        let r = &mut self.runs[h as usize];
        if !r.alive {
            return None;
        }
        r.x0 = r.x_at(t);
        r.t0 = t;
        r.speed = units as f64 / RATE_UNITS_PER_PROBE;
        self.reaim(h, t)
    }

    /// `h`'s runner (at `version`) sends its scheduled probe at `t`: the host
    /// at that position, or `None` if the entry is stale.
    pub fn fire(&mut self, h: u32, version: u32, t: f64) -> Option<Fired> {
        let r = &mut self.runs[h as usize];
        if !r.alive || r.version != version {
            return None;
        }
        let k = r.next_k?;
        r.x0 = k as f64 + 1.0;
        r.t0 = t;
        let pos = (r.base + k % self.m) % self.m;
        let in_range = k < r.range;
        let rank = self.pos_sorted.partition_point(|&p| p < pos);
        debug_assert_eq!(self.pos_sorted[rank], pos);
        Some(Fired {
            target: self.host_at_rank[rank],
            in_range,
        })
    }

    /// `h` met an infected host: how many in a row now.
    pub fn met_infected(&mut self, h: u32) -> u32 {
        let r = &mut self.runs[h as usize];
        r.met += 1;
        r.met
    }

    /// `h` infected a host.
    pub fn met_susceptible(&mut self, h: u32) {
        self.runs[h as usize].met = 0;
    }

    /// Jump `h`'s runner to a uniform random position at `t` (it then scans as
    /// a simple permutation scanner).
    pub fn jump(&mut self, h: u32, t: f64) {
        let b = below_u64(&mut self.rng, self.m);
        let r = &mut self.runs[h as usize];
        r.base = b;
        r.range = 0;
        r.x0 = 0.0;
        r.t0 = t;
    }

    /// `h`'s infection is over: its runner stops.
    pub fn remove(&mut self, h: u32) {
        let r = &mut self.runs[h as usize];
        r.alive = false;
        r.version = r.version.wrapping_add(1);
    }

    /// A position became live: re-aim every moving runner. Returns
    /// `(time, version, host)` of each next probe.
    pub fn retarget_all(&mut self, t: f64) -> Vec<(f64, u32, u32)> {
        let mut out = Vec::new();
        for h in 0..self.runs.len() as u32 {
            let r = &mut self.runs[h as usize];
            if !r.alive || r.speed <= 0.0 {
                continue;
            }
            r.x0 = r.x_at(t);
            r.t0 = t;
            if let Some((when, v)) = self.reaim(h, t) {
                out.push((when, v, h));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;

    fn pop(addrs: Vec<u32>) -> Population {
        Population::from_addrs(16, addrs).expect("valid")
    }

    fn spec(partitioned: bool) -> PermutationSpec {
        PermutationSpec {
            key: 9,
            partitioned,
            start: PermutationStart::Own,
            stop_after: None,
        }
    }

    /// A runner visits live positions in walk order, each once per wrap.
    #[test]
    fn runner_visits_each_live_position_once_per_wrap() {
        let p = pop((0..200u32).map(|i| i * 311 % 65_536).collect());
        let mut m = Permutation::new(&p, spec(false), 1, Streams::new(1, 0).stream("p"));
        for h in 0..200 {
            m.update(h, true, true);
        }
        m.start(0, None, 0.0);
        let mut next = m.speed_changed(0, 0.0, (10.0 * RATE_UNITS_PER_PROBE) as u64);
        let mut seen = Vec::new();
        let mut last_t = 0.0;
        while let Some((t, v)) = next {
            let f = m.fire(0, v, t).expect("fresh");
            assert!(t > last_t);
            last_t = t;
            seen.push(f.target);
            if seen.len() == 200 {
                break;
            }
            next = m.reaim(0, t);
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 200, "every live host once before the wrap");
        // The walk wraps exactly once: 2^16 probes at 10/s.
        assert!(last_t <= 65_536.0 / 10.0 + 1e-6);
        assert_eq!(*seen.last().unwrap(), 0, "its own position comes last");
    }

    #[test]
    fn partitioned_seeds_split_the_space_and_children_halve() {
        let p = pop(vec![1, 2, 3, 4]);
        let mut m = Permutation::new(&p, spec(true), 2, Streams::new(1, 0).stream("p"));
        m.start(0, None, 0.0);
        m.start(1, None, 0.0);
        assert_eq!((m.runs[0].base, m.runs[0].range), (0, 32_768));
        assert_eq!((m.runs[1].base, m.runs[1].range), (32_768, 32_768));
        m.start(2, Some(1), 0.0);
        assert_eq!(
            (m.runs[1].range, m.runs[2].base, m.runs[2].range),
            (16_384, 49_152, 16_384)
        );
    }
}
