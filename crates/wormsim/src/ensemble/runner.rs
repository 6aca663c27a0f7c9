//! A deterministic parallel map over work items.
//!
//! Worker threads take item indices from a shared counter and send each result,
//! tagged with its index, to the calling thread, which hands them to `done` in
//! completion order. Whatever the thread count, item `i` is computed by the same
//! `work(i)` (the caller seeds it by `i`, never by thread), so collecting results by
//! index and aggregating in index order gives identical output for any `threads`
//! (habit 5 of the house style; rand's `rayon-monte-carlo` example).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// The threads to use when none are asked for: all available (1 if unknown).
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Compute `work(i)` for every `i` in `0..n` on `threads` worker threads, calling
/// `done(i, result)` on this thread as results arrive.
///
/// The first error (from `work` or `done`) stops the hand-out of new items; items
/// already running finish, and that error is returned.
///
/// # Errors
/// The first error seen.
///
/// # Examples
/// ```
/// use wormsim::ensemble::runner::run_indexed;
/// let mut out = vec![0u64; 100];
/// run_indexed(100, 3, |i| Ok::<_, ()>(i as u64 * 2), |i, v| {
///     out[i] = v;
///     Ok(())
/// })
/// .unwrap();
/// assert_eq!(out[99], 198);
/// ```
pub fn run_indexed<T, E, W, D>(n: usize, threads: usize, work: W, mut done: D) -> Result<(), E>
where
    T: Send,
    E: Send,
    W: Fn(usize) -> Result<T, E> + Sync,
    D: FnMut(usize, T) -> Result<(), E>,
{
    if n == 0 {
        return Ok(());
    }
    let threads = threads.clamp(1, n);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // A small bound keeps finished-but-unhandled results (and memory) in check.
        let (tx, rx) = mpsc::sync_channel::<(usize, Result<T, E>)>(threads);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop, work) = (&next, &stop, &work);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let r = work(i);
                    if tx.send((i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut first_err = None;
        for (i, r) in rx {
            if first_err.is_some() {
                continue;
            }
            if let Err(e) = r.and_then(|t| done(i, t)) {
                stop.store(true, Ordering::Relaxed);
                first_err = Some(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_once_for_any_thread_count() {
        for threads in [1, 2, 7, 64] {
            let mut seen = [0u32; 50];
            run_indexed(50, threads, Ok::<_, ()>, |i, v| {
                assert_eq!(i, v);
                seen[i] += 1;
                Ok(())
            })
            .unwrap();
            assert!(seen.iter().all(|&c| c == 1), "threads {threads}");
        }
        run_indexed(0, 4, |_| Ok::<(), ()>(()), |_, _| Ok(())).unwrap();
    }

    #[test]
    fn errors_stop_the_run() {
        let mut handled = 0;
        let r = run_indexed(
            1000,
            2,
            |i| {
                if i == 3 {
                    Err(format!("item {i}"))
                } else {
                    Ok(i)
                }
            },
            |_, _| {
                handled += 1;
                Ok(())
            },
        );
        assert_eq!(r, Err("item 3".to_string()));
        assert!(handled < 1000);
        let r = run_indexed(10, 2, Ok::<usize, String>, |i, _| {
            if i == 5 {
                Err("done failed".into())
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err("done failed".to_string()));
    }
}
