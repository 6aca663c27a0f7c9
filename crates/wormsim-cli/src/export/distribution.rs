//! The table of summary distributions printed by `wormsim ensemble`.

use std::fmt::Write;
use wormsim::ensemble::Distribution;
use wormsim::ensemble::columns::SUMMARY_COLUMNS;

fn cell(x: Option<f64>, hours: bool) -> String {
    match x {
        None => "-".to_string(),
        Some(x) if hours => format!("{:.2}", x / 3600.0),
        Some(x) if x.abs() >= 1e7 => format!("{x:.4e}"),
        Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
    }
}

/// One line per summary column: label, q05, q25, median, q75, q95, mean.
/// Times after the start are shown in hours.
pub fn table(rows: &[Distribution]) -> String {
    let mut o = String::new();
    let width = rows
        .iter()
        .map(|d| d.label.len())
        .max()
        .unwrap_or(0)
        .max(10);
    let _ = writeln!(
        o,
        "  {:width$} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "", "q05", "q25", "median", "q75", "q95", "mean"
    );
    for d in rows {
        let hours = SUMMARY_COLUMNS
            .iter()
            .find(|c| c.name == d.name)
            .is_some_and(|c| c.unit == "[s after start]");
        let q = d.quantiles;
        let _ = write!(o, "  {:width$}", d.label);
        for k in 0..5 {
            let _ = write!(o, " {:>11}", cell(q.map(|q| q[k]), hours));
        }
        let _ = write!(o, " {:>11}", cell(d.mean, hours));
        if d.missing > 0 {
            let _ = write!(o, "  ({} runs without a value)", d.missing);
        }
        o.push('\n');
    }
    o
}
