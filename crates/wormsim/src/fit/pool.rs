//! Independent minimisations on several threads, with results that do not
//! depend on the number of threads.
//!
//! A fit runs several minimisations that do not depend on each other: one per
//! starting point, and one profile search per interval end. [`map_ordered`] runs
//! such tasks on a few threads and returns their results in task order. Each
//! task owns everything it mutates (its own copy of the problem, with its own
//! evaluation counter), so a task computes the same result, bit for bit, on any
//! thread and in any interleaving; the caller then combines the results in task
//! order, exactly as a loop over the tasks would.

use crate::ensemble::runner::{available_threads, run_indexed};
use std::sync::Mutex;

/// `f(task)` for each task, on up to `threads` threads (`0` or `1`: one task
/// at a time, in order), with the results in task order.
///
/// `last(&result)` marks a result after which the rest are not needed (a loop
/// over the tasks would stop there): the returned results end with the first
/// such one, and no more tasks are started once every task up to it has
/// finished (some later ones may already have run; their results are dropped).
/// Every task up to and including that one always runs, so the returned results
/// are the same for any number of threads. The threads are those of
/// [`run_indexed`].
///
/// # Panics
/// If `f` or `last` panics (the panic is propagated).
pub(crate) fn map_ordered<T, R, F, L>(threads: usize, tasks: Vec<T>, f: F, last: L) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
    L: Fn(&R) -> bool + Sync,
{
    let n = tasks.len();
    let slots: Vec<Mutex<Option<T>>> = tasks.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let mut results: Vec<Option<R>> = (0..n).map(|_| None).collect();
    // Results 0..ready have arrived; `end` is one past the first `last` among them.
    let (mut ready, mut end) = (0, None);
    // `Err(())` only stops the hand-out, once the results up to a `last` one are in.
    let _ = run_indexed(
        n,
        threads.max(1),
        |i| {
            let task = slots[i]
                .lock()
                .expect("no task panicked")
                .take()
                .expect("each task is taken once");
            Ok::<R, ()>(f(task))
        },
        |i, r| {
            results[i] = Some(r);
            while end.is_none() && ready < n {
                let Some(r) = &results[ready] else { break };
                ready += 1;
                if last(r) {
                    end = Some(ready);
                }
            }
            if end.is_some() { Err(()) } else { Ok(()) }
        },
    );
    results
        .into_iter()
        .take(end.unwrap_or(n))
        .map(|r| r.expect("every task up to the first `last` one ran"))
        .collect()
}

/// The number of threads to use when `requested` is 0: all available.
pub(crate) fn resolve(requested: usize) -> usize {
    if requested == 0 {
        available_threads()
    } else {
        requested
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic amount of busy work, so that tasks finish out of order.
    fn work(i: u64) -> u64 {
        let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for _ in 0..(1000 * ((7 * i) % 5 + 1)) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        x
    }

    #[test]
    fn results_are_in_task_order_for_any_thread_count() {
        let want: Vec<u64> = (0..23).map(work).collect();
        for threads in [0, 1, 2, 3, 8, 64] {
            let got = map_ordered(threads, (0..23).collect(), work, |_| false);
            assert_eq!(got, want, "{threads} threads");
        }
        assert!(map_ordered(4, Vec::<u64>::new(), work, |_| false).is_empty());
    }

    #[test]
    fn results_end_at_the_first_last_one() {
        // Tasks 5 and 9 are `last`: the results are tasks 0..=5 on any thread count.
        let last = |r: &(u64, u64)| r.0 == 5 || r.0 == 9;
        let want: Vec<(u64, u64)> = (0..=5).map(|i| (i, work(i))).collect();
        for threads in [1, 2, 3, 16] {
            let got = map_ordered(threads, (0..12).collect(), |i| (i, work(i)), last);
            assert_eq!(got, want, "{threads} threads");
        }
        // The last task itself is `last`: everything is returned.
        let got = map_ordered(3, (0..4).collect(), |i| i, |&i| i == 3);
        assert_eq!(got, vec![0, 1, 2, 3]);
    }

    #[test]
    fn zero_means_all_available_threads() {
        assert!(resolve(0) >= 1);
        assert_eq!(resolve(3), 3);
    }
}
