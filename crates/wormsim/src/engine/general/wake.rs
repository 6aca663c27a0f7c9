//! A cohort of wake sessions that began together: the right-clock hosts whose
//! threads all fall asleep in the dormant phase and wake, each after its own
//! uniform lag on `[0, L]`, from 00:00 UTC on the 1st.
//!
//! One pending event per sleeping host in the event queue costs a heap pop per
//! thread woken (millions in the 1 August preset). A cohort is one aggregate
//! channel instead. At time `u` into the session a sleeping thread's residual
//! lag is uniform on `(u, L]`, so its hazard is `1/(L − u)`, and the cohort's is
//! `K/(L − u)` with `K` the threads still asleep. The integrated hazard from `u0`
//! to `u1` is `K·ln((L − u0)/(L − u1))`, so with a unit-exponential clock `E`
//! the next wake is at `u1 = L − (L − u0)·e^{−E/K}`; between events `K` is
//! constant and the clock burns that integral (next reaction method). The
//! thread that wakes is uniform over the sleeping ones: its host is drawn in
//! proportion to its sleeping threads (a Fenwick tree). A host whose session
//! ended (cleared, re-infected: another epoch) is found stale when drawn and
//! drops out, which thins the channel exactly.
//!
//! A host whose awake threads reach its weight ceiling gains nothing from the
//! rest waking but the count: the engine then counts its remaining threads as
//! awake at once and takes its session out of the channel (*detached*). Only
//! a checkpoint reads that count before the window ends; it draws the threads
//! still asleep then, `Binomial(k, (L − u)/(L − u_d))` for `k` threads detached
//! at `u_d` (each thread's residual lag is uniform), from a keyed generator, so
//! the run itself is not disturbed.

use crate::fenwick::Fenwick;

#[derive(Clone, Debug)]
pub(super) struct Cohort {
    /// End of the session window, `start + L` [s].
    end: f64,
    /// (host, infection epoch) of each session.
    pub hosts: Vec<(u32, u32)>,
    /// Sleeping threads per session.
    sleeping: Fenwick<u64>,
    /// The channel's unit-exponential clock.
    pub e: f64,
    /// Detached sessions: (session, threads counted awake early, time [s]).
    pub detached: Vec<(u32, u32, f64)>,
}

impl Cohort {
    pub fn new(start: f64, max_lag: f64, sessions: &[(u32, u32, u64)], e: f64) -> Cohort {
        let w: Vec<u64> = sessions.iter().map(|s| s.2).collect();
        Cohort {
            end: start + max_lag,
            hosts: sessions.iter().map(|s| (s.0, s.1)).collect(),
            sleeping: Fenwick::from_weights(&w),
            e,
            detached: Vec::new(),
        }
    }

    /// Threads still asleep (stale sessions included until drawn).
    #[inline]
    pub fn asleep(&self) -> u64 {
        self.sleeping.total()
    }

    /// Time of the next wake-up after `t` [s], if any thread is asleep.
    pub fn next_time(&self, t: f64) -> Option<f64> {
        let k = self.asleep();
        if k == 0 {
            return None;
        }
        let rem = self.end - t;
        if rem <= 0.0 {
            return Some(t);
        }
        Some((self.end - rem * (-self.e / k as f64).exp()).max(t))
    }

    /// Burn the clock from `t0` to `t1` [s].
    #[inline]
    pub fn burn(&mut self, t0: f64, t1: f64) {
        let k = self.asleep();
        if k == 0 || t1 <= t0 {
            return;
        }
        let (a, b) = (self.end - t0, self.end - t1);
        self.e = if b <= 0.0 {
            0.0
        } else {
            (self.e - k as f64 * (a / b).ln()).max(0.0)
        };
    }

    /// The session of the `u`-th sleeping thread, `0 ≤ u < asleep()`.
    #[inline]
    pub fn pick(&self, u: u64) -> usize {
        self.sleeping.find(u)
    }

    /// One thread of session `i` woke.
    pub fn woke(&mut self, i: usize) {
        let k = self.sleeping.get(i);
        self.sleeping.set(i, k - 1);
    }

    /// Session `i` is over.
    pub fn drop_session(&mut self, i: usize) {
        self.sleeping.set(i, 0);
    }

    /// Take session `i`'s sleeping threads out of the channel at `t` [s];
    /// returns how many (to count as awake now).
    pub fn detach(&mut self, i: usize, t: f64) -> u32 {
        let k = self.sleeping.get(i) as u32;
        if k > 0 {
            self.sleeping.set(i, 0);
            self.detached.push((i as u32, k, t));
        }
        k
    }

    /// Probability that a thread detached at `t_d` is still asleep at `t`.
    pub fn still_asleep(&self, t_d: f64, t: f64) -> f64 {
        if t >= self.end {
            0.0
        } else {
            ((self.end - t) / (self.end - t_d)).clamp(0.0, 1.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;
    use rand::RngExt;

    /// One session of `k` threads, driven through the channel: the wake times
    /// are the order statistics of `k` uniforms on `[0, L]`, so the `j`-th has
    /// mean `j·L/(k+1)`; and every thread has woken by `L`.
    #[test]
    fn wake_times_are_uniform_order_statistics() {
        let mut rng = Streams::new(9, 0).stream("wake-test");
        let (k, l, reps) = (4u64, 10.0, 20_000);
        let mut sum = [0.0; 4];
        let mut all = Vec::new();
        for _ in 0..reps {
            let exp = |r: &mut crate::rng::Rng| -(1.0 - r.random::<f64>()).ln();
            let mut c = Cohort::new(100.0, l, &[(0, 0, k)], exp(&mut rng));
            let mut t = 100.0;
            let mut j = 0;
            while let Some(next) = c.next_time(t) {
                c.burn(t, next);
                assert!(c.e < 1e-9, "the clock runs out at the wake-up");
                t = next;
                assert!(t <= 110.0);
                c.woke(c.pick(0));
                c.e = exp(&mut rng);
                sum[j] += t - 100.0;
                all.push(t - 100.0);
                j += 1;
            }
            assert_eq!(j, 4);
        }
        for (j, s) in sum.iter().enumerate() {
            let mean = s / reps as f64;
            let want = (j + 1) as f64 * l / (k + 1) as f64;
            // Standard error of the mean is below 0.02 here: 5 of them.
            assert!(
                (mean - want).abs() < 0.1,
                "wake {j}: mean {mean}, want {want}"
            );
        }
        // Pooled over the order, the times are uniform on [0, L] (KS, α ≈ 0.001).
        all.sort_by(f64::total_cmp);
        let n = all.len() as f64;
        let d = all
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                (x / l - i as f64 / n)
                    .abs()
                    .max((x / l - (i + 1) as f64 / n).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / n.sqrt(), "KS D = {d}");
    }
}
