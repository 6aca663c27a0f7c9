//! Pooled re-infections: the hosts an extra worm instance cannot speed up.
//!
//! Under uniform scanning, infected host `v` is hit by someone else's probe at
//! rate `λ_v(t) = f(t)·(W(t) − w_v)/(Ω·u)` (`f`: congestion factor, `W`: total
//! scanning weight, `w_v`: its own weight, `Ω`: address-space size, `u`: rate
//! units per probe/s). Each hit gives it one more worm instance, up to
//! `max_instances`. When the host's weight is already at its ceiling
//! (`max_scan_multiple`) and its threads are all awake in the spread phase, an
//! extra instance changes nothing that drives the outbreak: not its weight,
//! not the total `W`, not any other host. Only the host's own instance count
//! and `instances_added` change, and they matter only when the host is next
//! looked at (a reboot, a patch, its phase change, the end of the run).
//!
//! Such a host is *pooled*: it leaves the re-infection channel, and its hits
//! are settled when it is next looked at. Given the run's trajectory, the
//! hits of a pooled host form a Poisson process with intensity `λ_v`, so they
//! are found exactly from two integrals kept for the whole run,
//! `A(t) = ∫ f·W/(Ω·u) dt` and `B(t) = ∫ f/(Ω·u) dt`: the host's own clock is
//! `C_v(t) = A(t) − w_v·B(t)` (non-decreasing while it is pooled, because
//! `W ≥ w_v`), and its next hit comes when `C_v` reaches a threshold
//! `θ = C_v(s) + E`, `E ~ Exp(1)`, after which `θ` grows by a fresh `Exp(1)`.
//! The draws are keyed by host, infection epoch and instance count
//! ([`crate::rng::keyed_exp1`]), so when a host is settled does not change
//! what it draws: a run stopped and resumed is the run not stopped.
//!
//! Observers that bin [`super::Event::Instance`] by time tell the engine their
//! grid ([`super::Observer::instance_grid`]); the engine logs `A` and `B` at
//! every grid point and reports each pooled hit with a time inside the bin it
//! fell in (the bin is exact; the time within it is the bin's midpoint). Such
//! events may arrive after events with later times. When a sweep settles many
//! pooled hosts at once and no observer needs the hosts
//! ([`super::Observer::INSTANCE_HOSTS`]), the hits are counted by bin and sent
//! as one [`super::Event::Instances`] per bin.

/// A pooled host: its weight, its next-hit threshold on its own clock, and the
/// first grid point after it joined (the search for its hits starts there).
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub theta: f64,
    pub w: u64,
    pub h: u32,
    pub k_lo: u32,
}

/// The integrals `A` and `B` at regular grid times `start + k·bin`.
#[derive(Clone, Debug)]
struct Grid {
    start: f64,
    bin: f64,
    log: Vec<(f64, f64)>,
    /// The clocks of up to [`CLOCK_WEIGHTS`] weights (the first ones searched).
    clocks: Vec<Clock>,
}

/// How many weights [`Grid::clocks`] keeps clocks for. A worm with a fixed
/// scan rate has one weight at its ceiling per thread count; one whose rates
/// vary by host has a weight per host, and the weights past these search the
/// integrals themselves.
const CLOCK_WEIGHTS: usize = 4;

/// Searches of a grid no longer growing after which a [`Clock`] builds its
/// index, or an eighth of the grid's points if more, so that building it
/// (three passes over the points) costs each search at most a few steps. The
/// CRv2 preset's 724,000 hits at its midnight phase change search a grid that
/// does not grow in between; a run's other searches come a few at a time
/// between grid points, and keep to the binary search.
const INDEX_AFTER: usize = 64;

/// The clock `A − w·B` of one weight `w` at the grid points, computed as far
/// as searched. Once a grid that has stopped growing is searched often, the
/// clock gets an index: the range of clock values cut into `2·len` equal
/// buckets, and for each bucket the first point whose clock falls in it or
/// later. A search then reads one index entry and steps over the few points
/// before the answer. A binary search loads about ten points from all over
/// the grid, whose cache lines the run's other data push out between one hit
/// and the next: settling the CRv2 preset's 724,000 pooled hits took 58 ms
/// with it and 37.5 ms with the index (bench/RESULTS.md, "The pooled hits'
/// search").
#[derive(Clone, Debug)]
struct Clock {
    w: u64,
    at: Vec<f64>,
    /// Searches since the clock last grew.
    searches: usize,
    /// Valid when `indexed == at.len()`.
    index: Vec<u32>,
    indexed: usize,
    origin: f64,
    scale: f64,
}

impl Clock {
    fn new(w: u64, capacity: usize) -> Clock {
        Clock {
            w,
            at: Vec::with_capacity(capacity),
            searches: 0,
            index: Vec::new(),
            indexed: usize::MAX,
            origin: 0.0,
            scale: 0.0,
        }
    }

    /// Compute the clock at the grid points logged since the last call.
    #[inline]
    fn extend(&mut self, log: &[(f64, f64)]) {
        if log.len() > self.at.len() {
            let wf = self.w as f64;
            self.at
                .extend(log[self.at.len()..].iter().map(|&(a, b)| a - wf * b));
            self.searches = 0;
        }
    }

    /// The bucket of clock value `x`: non-decreasing in `x` (a subtraction,
    /// a product by `scale ≥ 0`, a saturating conversion and a minimum each
    /// are), which is all the search needs of it.
    #[inline]
    fn bucket(&self, x: f64) -> usize {
        (((x - self.origin) * self.scale) as usize).min(self.index.len() - 1)
    }

    fn build_index(&mut self) {
        let len = self.at.len();
        let nb = 2 * len;
        let (lo, hi) = (self.at[0], self.at[len - 1]);
        self.origin = lo;
        self.scale = if hi > lo && (nb as f64 / (hi - lo)).is_finite() {
            nb as f64 / (hi - lo)
        } else {
            0.0
        };
        self.index.clear();
        self.index.resize(nb, len as u32);
        let mut j = 0;
        for k in 0..len {
            let b = self.bucket(self.at[k]);
            while j <= b {
                self.index[j] = k as u32;
                j += 1;
            }
        }
        self.indexed = len;
    }

    /// The first grid index `k ≥ lo` with clock `≥ theta` (`at.len()` if
    /// none): what a binary search over `at[lo..]` gives, the clock being
    /// non-decreasing while the host is pooled.
    #[inline]
    fn first_reaching(&mut self, lo: usize, theta: f64) -> usize {
        let len = self.at.len();
        if self.indexed != len {
            self.searches += 1;
            if len == 0 || self.searches < INDEX_AFTER.max(len / 8) {
                return lo + self.at[lo..].partition_point(|&x| x < theta);
            }
            self.build_index();
        }
        // Every point before `index[bucket(theta)]` has a smaller bucket
        // than `theta`, so a smaller clock; the answer is at or after it.
        let mut k = (self.index[self.bucket(theta)] as usize).max(lo);
        while k < len && self.at[k] < theta {
            k += 1;
        }
        k
    }
}

#[derive(Clone, Debug)]
pub(super) struct Pool {
    pub entries: Vec<Entry>,
    /// Sum of the pooled hosts' weights [rate units].
    pub weight: u64,
    /// Spent entries: hosts at `max_instances`, kept in place by a flush
    /// (weight 0, threshold +∞) until they are next looked at.
    pub full: usize,
    /// `A(t)`: see the module docs.
    a: f64,
    /// `B(t)`: see the module docs.
    b: f64,
    grid: Option<Grid>,
}

impl Pool {
    pub fn new() -> Pool {
        Pool {
            entries: Vec::new(),
            weight: 0,
            full: 0,
            a: 0.0,
            b: 0.0,
            grid: None,
        }
    }

    /// Log the integrals at `start + k·bin` from now on (before the first step).
    pub fn set_grid(&mut self, start: f64, bin: f64) {
        if bin > 0.0 && bin.is_finite() {
            self.grid = Some(Grid {
                start,
                bin,
                log: Vec::new(),
                clocks: Vec::new(),
            });
        }
    }

    /// Index of the first grid point not yet logged (all logged ones are `≤ now`).
    #[inline]
    pub fn next_grid_index(&self) -> u32 {
        self.grid.as_ref().map_or(0, |g| g.log.len() as u32)
    }

    /// Host clock `C_v` now, for weight `w`.
    #[inline]
    pub fn clock(&self, w: u64) -> f64 {
        self.a - w as f64 * self.b
    }

    /// Advance the integrals from `t0` to `t1` [s] at rates `ra` (of `A`) and
    /// `rb` (of `B`), constant in between; log the grid points passed.
    #[inline]
    pub fn advance(&mut self, t0: f64, t1: f64, ra: f64, rb: f64) {
        if let Some(g) = &mut self.grid {
            loop {
                let gt = g.start + g.log.len() as f64 * g.bin;
                if gt > t1 {
                    break;
                }
                let d = (gt - t0).max(0.0);
                g.log.push((self.a + ra * d, self.b + rb * d));
            }
        }
        let dt = t1 - t0;
        self.a += ra * dt;
        self.b += rb * dt;
    }

    /// A time in the grid bin `(g_{k−1}, g_k]` in which the clock of a host
    /// with weight `w` reaches `theta`, searching from grid index `*k_lo` (which
    /// is moved up to that bin); `now` if there is no grid. `theta` must be
    /// reached by `now` [s].
    ///
    /// The search is over the clock of weight `w` at the grid points: kept
    /// for the first [`CLOCK_WEIGHTS`] weights ([`Clock`]), computed as it
    /// goes for the others; the same arithmetic either way, so the same bin.
    #[inline(always)]
    pub fn hit_time(&mut self, theta: f64, w: u64, k_lo: &mut u32, now: f64) -> f64 {
        let Some(g) = &mut self.grid else {
            return now;
        };
        let lo = (*k_lo as usize).min(g.log.len());
        let slot = match g.clocks.iter().position(|c| c.w == w) {
            Some(j) => Some(j),
            None if g.clocks.len() < CLOCK_WEIGHTS => {
                g.clocks.push(Clock::new(w, g.log.capacity()));
                Some(g.clocks.len() - 1)
            }
            None => None,
        };
        let k = match slot {
            Some(j) => {
                let c = &mut g.clocks[j];
                c.extend(&g.log);
                c.first_reaching(lo, theta)
            }
            None => {
                let wf = w as f64;
                lo + g.log[lo..].partition_point(|&(a, b)| a - wf * b < theta)
            }
        };
        *k_lo = k as u32;
        let at = |k: usize| g.start + k as f64 * g.bin;
        if k < g.log.len() {
            if k == 0 { at(0) } else { at(k) - 0.5 * g.bin }
        } else if k == 0 {
            now
        } else {
            // The partial bin after the last logged point.
            0.5 * (at(k - 1) + now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_logs_the_integrals_at_each_point() {
        let mut p = Pool::new();
        p.set_grid(0.0, 10.0);
        p.advance(0.0, 4.0, 1.0, 0.5);
        p.advance(4.0, 25.0, 2.0, 0.25);
        // Points 0, 10, 20.
        let g = p.grid.as_ref().expect("grid");
        assert_eq!(g.log.len(), 3);
        assert_eq!(g.log[0], (0.0, 0.0));
        assert!((g.log[1].0 - (4.0 + 2.0 * 6.0)).abs() < 1e-12);
        assert!((g.log[2].1 - (2.0 + 0.25 * 16.0)).abs() < 1e-12);
        assert!((p.clock(2) - ((4.0 + 42.0) - 2.0 * (2.0 + 5.25))).abs() < 1e-12);
    }

    /// The clock search finds what a binary search over the clock from `lo`
    /// finds, before its index is built and after, and again once the grid
    /// has grown: every `lo`, random thresholds and each clock value, on
    /// clocks with plateaus and jumps.
    #[test]
    fn the_clock_search_matches_a_binary_search() {
        let mut z = 12345u64;
        let mut next = || {
            z = z
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (z >> 11) as f64 / (1u64 << 53) as f64
        };
        for len in [0, 1, 2, 3, 17, 100, 257, 700] {
            // A with plateaus and jumps, B = 0: the clock is A for any w.
            let mut log = Vec::new();
            let mut a = 0.0;
            for _ in 0..2 * len {
                log.push((a, 0.0));
                let u = next();
                a += if u < 0.3 { 0.0 } else { u * u * 5.0 };
            }
            let mut c = Clock::new(7, 0);
            let mut indexed = 0;
            for part in [&log[..len], &log[..]] {
                c.extend(part);
                assert_eq!(c.at.len(), part.len());
                let n = part.len();
                for lo in 0..=n {
                    let mut thetas: Vec<f64> = (0..20).map(|_| next() * (a + 2.0) - 1.0).collect();
                    thetas.extend_from_slice(&c.at[lo..]);
                    for theta in thetas {
                        let want = lo + c.at[lo..].partition_point(|&x| x < theta);
                        assert_eq!(c.first_reaching(lo, theta), want, "n {n} lo {lo} θ {theta}");
                    }
                }
                indexed += usize::from(c.indexed == n);
            }
            // (The shortest grids are searched too few times to be indexed.)
            if len >= 17 {
                assert_eq!(indexed, 2, "both grids were searched through their index");
            }
        }
    }

    #[test]
    fn a_hit_is_placed_in_the_bin_where_the_clock_crosses() {
        let mut p = Pool::new();
        p.set_grid(100.0, 10.0);
        // A rises by 1 per second, B stays 0: the clock of any host is A.
        p.advance(100.0, 135.0, 1.0, 0.0);
        let mut k = 0;
        // Clock 12 is reached at 112 s: bin (110, 120], reported at 115.
        assert_eq!(p.hit_time(12.0, 7, &mut k, 135.0), 115.0);
        assert_eq!(k, 2);
        // Clock 33 at 133 s: the partial bin (130, 135].
        assert_eq!(p.hit_time(33.0, 7, &mut k, 135.0), 132.5);
        assert_eq!(k, 4);
    }
}
