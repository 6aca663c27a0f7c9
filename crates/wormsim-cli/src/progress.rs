//! Progress on stderr: only when stderr is a terminal, never with `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use wormsim::engine::{Observer, View};
use wormsim::time::SimTime;

/// Whether progress may be drawn at all.
fn visible(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// A bar over `total` items called `what` (hidden when quiet or not a terminal).
pub fn bar(total: u64, quiet: bool, what: &str) -> ProgressBar {
    if !visible(quiet) {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    let style = ProgressStyle::with_template(&format!(
        "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what}, {{per_sec}}, ETA {{eta}}"
    ))
    .expect("a valid template")
    .progress_chars("=> ");
    pb.set_style(style);
    pb
}

/// Engine steps between two looks at the clock: an `Instant::now` every
/// 4,096 steps costs nothing next to the steps themselves.
const CHECK_EVERY: u32 = 4096;
/// A run shorter than this draws no bar at all (no flash for the presets).
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// The simulated time a single run has reached, as a bar over the scenario's
/// span, for `wormsim run`. A passive [`Observer`]: it reads the end of each
/// engine interval and nothing else, so the run is the same with or without
/// it. It draws only after [`SHOW_AFTER`] of wall time, and only when
/// [`visible`].
pub struct RunProgress {
    on: bool,
    start: f64,
    span: f64,
    calls: u32,
    began: Instant,
    bar: Option<ProgressBar>,
}

impl RunProgress {
    /// Progress of a run from `start` to `end`.
    pub fn new(start: SimTime, end: SimTime, quiet: bool) -> RunProgress {
        RunProgress {
            on: visible(quiet),
            start: start.secs(),
            span: (end.secs() - start.secs()).max(f64::MIN_POSITIVE),
            calls: 0,
            began: Instant::now(),
            bar: None,
        }
    }

    fn show(&mut self, to: SimTime) {
        if self.bar.is_none() {
            if self.began.elapsed() < SHOW_AFTER {
                return;
            }
            let pb = ProgressBar::new(1000).with_elapsed(self.began.elapsed());
            let style =
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] simulated to {msg}")
                    .expect("a valid template")
                    .progress_chars("=> ");
            pb.set_style(style);
            self.bar = Some(pb);
        }
        if let Some(pb) = &self.bar {
            let f = ((to.secs() - self.start) / self.span).clamp(0.0, 1.0);
            // Whole seconds: the milliseconds only flicker.
            pb.set_message(format!(
                "{} ({:.0}%)",
                SimTime(to.secs().floor()),
                f * 100.0
            ));
            pb.set_position((f * 1000.0) as u64);
        }
    }

    /// Clear the bar (before the summary is printed).
    pub fn finish(&self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}

impl Observer for RunProgress {
    const NEEDS_HOSTS: bool = false;
    const EVENT_VIEW: bool = false;
    const RATE_EVENTS: bool = false;
    const CRASH_INFECTORS: bool = false;
    const INSTANCE_HOSTS: bool = false;

    #[inline]
    fn interval(&mut self, _from: SimTime, to: SimTime, _view: &View) {
        if !self.on {
            return;
        }
        self.calls = self.calls.wrapping_add(1);
        if self.calls % CHECK_EVERY == 0 {
            self.show(to);
        }
    }
}

/// A spinner with the elapsed time for work that reports no steps (a fit and
/// its profile intervals, which can take minutes on a series the model
/// describes poorly). It appears only after [`SHOW_AFTER`], on a thread of its
/// own, and only when [`visible`]; [`Spinner::finish`] clears it.
pub struct Spinner {
    done: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<bool>>,
}

impl Spinner {
    /// Start one saying `what` (it is not drawn when quiet or not a terminal).
    pub fn start(what: String, quiet: bool) -> Spinner {
        Spinner::after(what, visible(quiet), SHOW_AFTER)
    }

    /// Start one that, if `on`, appears after `delay` unless finished before.
    fn after(what: String, on: bool, delay: Duration) -> Spinner {
        if !on {
            return Spinner {
                done: None,
                thread: None,
            };
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if rx.recv_timeout(delay).is_ok() {
                return false;
            }
            let pb = ProgressBar::new_spinner().with_elapsed(delay);
            let style = ProgressStyle::with_template("{elapsed_precise} {spinner} {msg}")
                .expect("a valid template");
            pb.set_style(style);
            pb.set_message(what);
            pb.enable_steady_tick(Duration::from_millis(200));
            // Until finished (or the sender is dropped).
            let _ = rx.recv();
            pb.finish_and_clear();
            true
        });
        Spinner {
            done: Some(tx),
            thread: Some(thread),
        }
    }

    /// Clear the spinner; returns whether it was shown.
    pub fn finish(mut self) -> bool {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
        self.thread
            .take()
            .is_some_and(|t| t.join().unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wormsim::engine::{EngineChoice, Simulation};
    use wormsim::observe::Series;

    /// The spinner appears only after its delay and is gone when finished;
    /// quiet (or off a terminal), no thread at all.
    #[test]
    fn spinner_appears_after_its_delay_and_finishes() {
        let quick = Spinner::after("fitting".into(), true, Duration::from_secs(60));
        assert!(!quick.finish(), "finished before the delay: never shown");
        let slow = Spinner::after("fitting".into(), true, Duration::ZERO);
        std::thread::sleep(Duration::from_millis(50));
        assert!(slow.finish(), "shown after its delay");
        let quiet = Spinner::start("fitting".into(), true);
        assert!(quiet.thread.is_none());
        assert!(!quiet.finish());
    }

    /// The bar is a passive observer: drawn from the first check on, it leaves
    /// the series as it is without it, and ends at the scenario's end.
    #[test]
    fn progress_changes_nothing_and_reaches_the_end() {
        let s = wormsim::preset::load("slammer-2003-01-25").expect("preset");
        let series_of = |prog: Option<&mut RunProgress>| {
            let mut sim = Simulation::new(&s, 3, 0, EngineChoice::General).expect("setup");
            let mut series = Series::for_scenario(&s);
            match prog {
                Some(p) => sim.run(&mut (&mut series, p)),
                None => sim.run(&mut series),
            }
            series.rows().to_vec()
        };
        let mut prog = RunProgress::new(s.start, s.end, true);
        // Forced on, as if on a terminal after a long wait (indicatif does not
        // draw where stderr is not a terminal).
        prog.on = true;
        prog.began = Instant::now() - 2 * SHOW_AFTER;
        let with = series_of(Some(&mut prog));
        assert_eq!(with, series_of(None));
        let pb = prog.bar.as_ref().expect("a bar after SHOW_AFTER");
        assert!(pb.position() > 0, "position {}", pb.position());
        assert!(pb.message().starts_with("20"), "{}", pb.message());
        // Quiet: no bar however long the run.
        let mut quiet = RunProgress::new(s.start, s.end, true);
        quiet.began = Instant::now() - 2 * SHOW_AFTER;
        series_of(Some(&mut quiet));
        assert!(quiet.bar.is_none());
    }
}
