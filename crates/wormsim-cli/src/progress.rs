//! The progress bar: on stderr, only when stderr is a terminal, never with --quiet.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// A bar over `total` items called `what` (hidden when quiet or not a terminal).
pub fn bar(total: u64, quiet: bool, what: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
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
