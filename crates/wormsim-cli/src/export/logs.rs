//! Renderers for `wormsim logs`: the series and sources CSV files and the
//! printed summary. (Kept together in one module so the log detector's output
//! can be reviewed in one place; the columns are defined by the library.)

use std::fmt::Write;
use wormsim::logs::{Analysis, Class, SERIES_COLUMNS, SOURCE_COLUMNS, SeriesRow, SourceRow};

/// `series.csv`: `time,probes_seen,unique_sources,new_sources,cumulative_sources`.
pub fn series_csv(rows: &[SeriesRow]) -> String {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    out.push_str(&SERIES_COLUMNS.join(","));
    out.push('\n');
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            r.time, r.probes_seen, r.unique_sources, r.new_sources, r.cumulative_sources
        );
    }
    out
}

/// `sources.csv`: `source,first_seen,last_seen,probes,crv1v2,crii,nimda,ida_generic`.
pub fn sources_csv(rows: &[SourceRow]) -> String {
    let mut out = String::with_capacity(96 * (rows.len() + 1));
    out.push_str(&SOURCE_COLUMNS.join(","));
    out.push('\n');
    for r in rows {
        let [a, b, c, d] = r.by_class;
        let _ = writeln!(
            out,
            "{},{},{},{},{a},{b},{c},{d}",
            r.source, r.first_seen, r.last_seen, r.probes
        );
    }
    out
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// The human-readable summary.
pub fn summary(a: &Analysis, elapsed: f64) -> String {
    let r = &a.report;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "wormsim logs: {} file{}, {} lines, {:.1} MB in {:.2} s ({:.0} MB/s)",
        r.files.len(),
        if r.files.len() == 1 { "" } else { "s" },
        r.lines,
        mb(r.bytes),
        elapsed,
        mb(r.bytes) / elapsed.max(1e-9)
    );
    let width = r
        .files
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        o,
        "  {:width$}  {:8}  {:>12}  {:>12}  {:>10}",
        "file", "format", "lines", "requests", "malformed"
    );
    for f in &r.files {
        let format = f.format.map_or("-", |x| x.name());
        let format = if f.gzip {
            format!("{format}.gz")
        } else {
            format.to_string()
        };
        let _ = writeln!(
            o,
            "  {:width$}  {:8}  {:>12}  {:>12}  {:>10}{}",
            f.name,
            format,
            f.lines,
            f.requests,
            f.malformed,
            if f.error.is_some() {
                "  (ended early, see warning)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(o, "  {:<28}{:>12}", "requests", r.requests);
    for c in Class::ALL {
        let _ = writeln!(o, "    {:<26}{:>12}", c.name(), r.by_class[c.index()]);
    }
    let _ = writeln!(o, "  {:<28}{:>12}", "worm requests", r.worm_requests());
    let _ = writeln!(o, "  {:<28}{:>12}", "not requests", r.not_requests);
    let _ = write!(o, "  {:<28}{:>12}", "malformed lines", r.malformed);
    if !r.malformed_examples.is_empty() {
        let shown: Vec<String> = r
            .malformed_examples
            .iter()
            .take(5)
            .map(|m| format!("{}:{}", m.file, m.line))
            .collect();
        let more = if r.malformed > shown.len() as u64 {
            ", ..."
        } else {
            ""
        };
        let _ = write!(o, "  first: {}{more}", shown.join(", "));
    }
    o.push('\n');
    if let Some(m) = r.malformed_examples.first() {
        let _ = writeln!(o, "    e.g. {}:{}: {}", m.file, m.line, m.why);
    }
    let _ = write!(o, "  {:<28}{:>12}", "worm sources", a.sources.len());
    if let (Some(first), Some(last)) = (
        a.sources
            .iter()
            .map(|s| s.first_seen)
            .reduce(|x, y| if y < x { y } else { x }),
        a.sources
            .iter()
            .map(|s| s.last_seen)
            .reduce(|x, y| if y > x { y } else { x }),
    ) {
        let _ = write!(o, "  first seen {first}, last seen {last}");
    }
    o.push('\n');
    let _ = writeln!(o, "  {:<28}{:>12}", "bin [s]", a.bin);
    o
}
