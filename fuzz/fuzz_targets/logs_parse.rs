//! Feed arbitrary bytes to the log reader, parser, classifier and aggregator.
//! The first byte picks the format (auto or one of the four) and a small line
//! cap, so every parser and the over-long-line path are exercised; the rest is
//! the log (plain, or gzip if it starts with the magic bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wormsim::logs::{Format, Options, Scanner, classify};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, log)) = data.split_first() else {
        return;
    };
    let format = match sel % 5 {
        0 => None,
        1 => Some(Format::Common),
        2 => Some(Format::Combined),
        3 => Some(Format::Error),
        _ => Some(Format::W3c),
    };
    let opts = Options {
        format,
        bin: 1 + u64::from(sel / 5) * 600,
        error_offset: -7.0 * 3600.0,
        max_line: if sel & 0x80 != 0 { 64 } else { 64 * 1024 },
    };
    let mut scan = Scanner::new(opts).expect("valid options");
    scan.scan_reader("fuzz", log);
    let report = scan.report().clone();
    assert_eq!(
        report.lines,
        report.requests + report.not_requests + report.malformed
    );
    if let Ok(result) = scan.finish() {
        let probes: u64 = result.series.iter().map(|r| r.probes_seen).sum();
        assert_eq!(probes, result.report.worm_requests());
        let last = result.series.last().map_or(0, |r| r.cumulative_sources);
        assert_eq!(last as usize, result.sources.len());
    }
    // The classifiers on their own, on the raw bytes.
    let _ = classify::classify_target(log);
    let _ = classify::classify_message(log);
});
