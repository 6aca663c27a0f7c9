//! Observed series: reading them from CSV and checking them.
//!
//! Three CSV schemas are recognised by their header:
//!
//! | schema | header | default column |
//! |---|---|---|
//! | wormsim series (`wormsim run`) | `time,susceptible,infected,cumulative_infected,new_infections,reinfections,probes,patched,rebooted` | `cumulative_infected` |
//! | telescope / web log | `time,probes_seen,unique_sources,new_sources,cumulative_sources` | `cumulative_sources` |
//! | plain | `time,count` | `count` |
//!
//! Any other header with a `time` column is accepted when the column to fit is
//! named (or is the only other column). `time` is an RFC 3339 UTC timestamp
//! (`2001-07-19T10:00:00Z`) or a plain number of hours; all rows must use the same
//! form, strictly increasing.
//!
//! Whether a column is **cumulative** (hosts ever seen, non-decreasing) or
//! **incident** (new hosts per row) follows from its name (`cumulative_*` and
//! `count` are cumulative, `new_*` incident) unless given. Incident counts are
//! summed into a cumulative series over *all* rows of the file, before any time
//! bounds are applied, so the first kept row carries everything seen up to it.
//!
//! **Time axis.** Fitted models use hours since the first kept row: that row is
//! `t = 0` [h].

use crate::time::{HOUR, SimTime};

/// Why a series cannot be used. Every message names the file, the line where
/// there is one, and the fix.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DataError {
    /// A problem with the file as a whole.
    #[error("{file}: {msg}")]
    File { file: String, msg: String },
    /// A problem on one line (1-based, counting the header as line 1).
    #[error("{file}:{line}: {msg}")]
    Line {
        file: String,
        line: usize,
        msg: String,
    },
    /// A problem with values given directly (not from a file), by row index.
    #[error("row {row}: {msg}")]
    Row { row: usize, msg: String },
}

/// Whether counts are cumulative or per row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Hosts seen so far (non-decreasing).
    Cumulative,
    /// New hosts in the interval ending at each row.
    Incident,
}

impl Kind {
    /// `cumulative` or `incident`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cumulative => "cumulative",
            Kind::Incident => "incident",
        }
    }
}

/// Observed cumulative counts on the fitting time axis.
///
/// # Examples
/// ```
/// use wormsim::fit::data::{Kind, Observations};
/// let obs = Observations::new(&[10.0, 10.5, 11.0], &[1.0, 3.0, 2.0], Kind::Incident).unwrap();
/// assert_eq!(obs.times(), &[0.0, 0.5, 1.0]); // hours since the first point
/// assert_eq!(obs.cumulative(), &[1.0, 4.0, 6.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Observations {
    times: Vec<f64>,
    cumulative: Vec<f64>,
}

impl Observations {
    /// Build from times [h] (any origin; shifted so the first is 0) and counts.
    ///
    /// # Errors
    /// [`DataError::Row`] for an empty series, non-finite or non-increasing times,
    /// NaN, infinite or negative counts, or a cumulative count that decreases.
    pub fn new(times_h: &[f64], counts: &[f64], kind: Kind) -> Result<Observations, DataError> {
        let row = |row, msg: String| DataError::Row { row, msg };
        if times_h.is_empty() {
            return Err(row(
                0,
                "the series is empty; give at least one point".into(),
            ));
        }
        if times_h.len() != counts.len() {
            return Err(row(
                times_h.len().min(counts.len()),
                format!(
                    "{} times but {} counts; give one count per time",
                    times_h.len(),
                    counts.len()
                ),
            ));
        }
        for (i, &t) in times_h.iter().enumerate() {
            if !t.is_finite() {
                return Err(row(i, format!("time {t} is not a finite number of hours")));
            }
            if i > 0 && t <= times_h[i - 1] {
                return Err(row(
                    i,
                    format!(
                        "time {t} does not come after {}; times must increase strictly",
                        times_h[i - 1]
                    ),
                ));
            }
        }
        for (i, &c) in counts.iter().enumerate() {
            if let Some(msg) = count_problem(c) {
                return Err(row(i, msg));
            }
        }
        let cumulative = match kind {
            Kind::Cumulative => {
                for i in 1..counts.len() {
                    if counts[i] < counts[i - 1] {
                        return Err(row(i, decrease_msg(counts[i], counts[i - 1])));
                    }
                }
                counts.to_vec()
            }
            Kind::Incident => running_sum(counts),
        };
        let t0 = times_h[0];
        Ok(Observations {
            times: times_h.iter().map(|t| t - t0).collect(),
            cumulative,
        })
    }

    /// Hours since the first point [h].
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// Cumulative counts.
    pub fn cumulative(&self) -> &[f64] {
        &self.cumulative
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Never true: a series has at least one point.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Counts per interval: the first point's cumulative count (everything up to
    /// `t = 0`), then the differences.
    pub fn increments(&self) -> Vec<f64> {
        let c = &self.cumulative;
        (0..c.len())
            .map(|i| if i == 0 { c[0] } else { c[i] - c[i - 1] })
            .collect()
    }
}

fn running_sum(counts: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    counts
        .iter()
        .map(|c| {
            acc += c;
            acc
        })
        .collect()
}

fn count_problem(c: f64) -> Option<String> {
    if c.is_nan() {
        Some("the count is NaN; counts must be finite numbers >= 0".into())
    } else if !c.is_finite() {
        Some(format!(
            "the count is {c}; counts must be finite numbers >= 0"
        ))
    } else if c < 0.0 {
        Some(format!("the count {c} is negative; counts must be >= 0"))
    } else {
        None
    }
}

fn decrease_msg(now: f64, before: f64) -> String {
    format!(
        "the cumulative count falls from {before} to {now}; a cumulative count cannot decrease \
         (if this column holds new hosts per row, pass --kind incident)"
    )
}

/// Which CSV layout a file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// `series.csv` from `wormsim run`.
    WormsimSeries,
    /// A telescope or web-log series.
    Telescope,
    /// `time,count`.
    Plain,
    /// Anything else with a `time` column.
    Other,
}

impl Schema {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Schema::WormsimSeries => "wormsim-series",
            Schema::Telescope => "telescope",
            Schema::Plain => "plain",
            Schema::Other => "other",
        }
    }
}

/// The wormsim series header (`wormsim::observe::COLUMNS`).
/// (Recognised by its first four columns, so series written before later
/// columns were added still read.)
const WORMSIM_COLUMNS: [&str; crate::observe::COLUMNS.len()] = crate::observe::COLUMNS;
/// The telescope / web-log series header.
pub const TELESCOPE_COLUMNS: [&str; 5] = crate::logs::SERIES_COLUMNS;

/// A time given in the same form as a series' times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimePoint {
    /// An RFC 3339 timestamp.
    At(SimTime),
    /// A plain number of hours.
    Hours(f64),
}

impl TimePoint {
    /// A number (hours) if it parses as one, otherwise an RFC 3339 timestamp.
    ///
    /// # Errors
    /// The text is neither.
    pub fn parse(text: &str) -> Result<TimePoint, crate::time::TimeParseError> {
        let t = text.trim();
        if let Ok(h) = t.parse::<f64>() {
            if h.is_finite() {
                return Ok(TimePoint::Hours(h));
            }
        }
        SimTime::parse_rfc3339(t).map(TimePoint::At)
    }

    fn form(self) -> &'static str {
        match self {
            TimePoint::At(_) => "an RFC 3339 timestamp",
            TimePoint::Hours(_) => "a number of hours",
        }
    }

    fn forms(self) -> &'static str {
        match self {
            TimePoint::At(_) => "RFC 3339 timestamps",
            TimePoint::Hours(_) => "numbers of hours",
        }
    }

    /// On the file's own scale: seconds for timestamps, hours for numbers.
    fn value(self) -> f64 {
        match self {
            TimePoint::At(t) => t.secs(),
            TimePoint::Hours(h) => h,
        }
    }
}

impl std::fmt::Display for TimePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimePoint::At(t) => write!(f, "{t}"),
            TimePoint::Hours(h) => write!(f, "{h} h"),
        }
    }
}

/// What to take from a file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// The column to fit (default: by schema).
    pub column: Option<String>,
    /// Cumulative or incident (default: by column name).
    pub kind: Option<Kind>,
    /// Keep rows at or after this time.
    pub from: Option<TimePoint>,
    /// Keep rows at or before this time.
    pub to: Option<TimePoint>,
}

/// A series read from a CSV file.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesFile {
    /// The file name, as given (used in messages).
    pub file: String,
    pub schema: Schema,
    /// The column fitted.
    pub column: String,
    pub kind: Kind,
    /// The time of the first kept row: the fitting origin `t = 0`.
    pub origin: TimePoint,
    /// The times of the kept rows as written in the file.
    pub row_times: Vec<TimePoint>,
    /// The column's values on the kept rows, as written.
    pub values: Vec<f64>,
    /// The 1-based line of each kept row.
    pub lines: Vec<usize>,
    /// Rows in the file (before the time bounds).
    pub rows_in_file: usize,
    /// The observations on the fitting time axis.
    pub observations: Observations,
}

/// Read a series CSV. `file` names it in messages; `text` is its content.
///
/// # Errors
/// [`DataError`] naming the file (and line) and the fix: an empty file or series,
/// a header without `time`, an unknown column, a row with the wrong number of
/// fields, a time that does not parse or does not increase, a NaN, infinite or
/// negative count, a decreasing cumulative count, time bounds in the wrong form or
/// keeping no rows.
///
/// # Examples
/// ```
/// use wormsim::fit::data::{read_series, Selection, Schema};
/// let csv = "time,count\n2001-07-19T10:00:00Z,1\n2001-07-19T10:30:00Z,4\n";
/// let s = read_series("x.csv", csv, &Selection::default()).unwrap();
/// assert_eq!(s.schema, Schema::Plain);
/// assert_eq!(s.observations.times(), &[0.0, 0.5]);
/// let e = read_series("x.csv", "time,count\n", &Selection::default()).unwrap_err();
/// assert!(e.to_string().starts_with("x.csv: "));
/// ```
pub fn read_series(file: &str, text: &str, sel: &Selection) -> Result<SeriesFile, DataError> {
    let file_err = |msg: String| DataError::File {
        file: file.to_string(),
        msg,
    };
    let line_err = |line: usize, msg: String| DataError::Line {
        file: file.to_string(),
        line,
        msg,
    };

    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(file_err(
            "the file is empty; expected a CSV header such as `time,count` and one row per time"
                .into(),
        ));
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let Some(time_col) = cols.iter().position(|&c| c == "time") else {
        return Err(line_err(
            header_line,
            format!(
                "no `time` column in the header `{header}`; the first line must be a CSV header \
                 such as `time,count`"
            ),
        ));
    };
    let schema = if cols.len() >= 4 && cols[..4] == WORMSIM_COLUMNS[..4] {
        Schema::WormsimSeries
    } else if cols == TELESCOPE_COLUMNS {
        Schema::Telescope
    } else if cols == ["time", "count"] {
        Schema::Plain
    } else {
        Schema::Other
    };
    let column = match (&sel.column, schema) {
        (Some(c), _) => c.clone(),
        (None, Schema::WormsimSeries) => "cumulative_infected".into(),
        (None, Schema::Telescope) => "cumulative_sources".into(),
        (None, Schema::Plain) => "count".into(),
        (None, Schema::Other) if cols.len() == 2 => cols[1 - time_col].to_string(),
        (None, Schema::Other) => {
            return Err(line_err(
                header_line,
                format!(
                    "cannot tell which column to fit in the header `{header}`; choose one with \
                     --column"
                ),
            ));
        }
    };
    let col = match cols.iter().position(|&c| c == column) {
        Some(i) if i != time_col => i,
        Some(_) => {
            return Err(line_err(
                header_line,
                "`time` is the time axis, not a count; choose another column with --column".into(),
            ));
        }
        None => {
            let others: Vec<&str> = cols.iter().copied().filter(|&c| c != "time").collect();
            return Err(line_err(
                header_line,
                format!(
                    "no column `{column}`; the header has {}; choose one of them with --column",
                    others.join(", ")
                ),
            ));
        }
    };
    let kind = match sel.kind {
        Some(k) => k,
        None if column.starts_with("cumulative") || column == "count" => Kind::Cumulative,
        None if column.starts_with("new_") => Kind::Incident,
        None => {
            return Err(file_err(format!(
                "column `{column}` is not known to be cumulative or incident; say which with \
                 --kind cumulative or --kind incident"
            )));
        }
    };

    // All rows: parse and check.
    let mut times: Vec<TimePoint> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    let mut line_nos: Vec<usize> = Vec::new();
    for (no, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != cols.len() {
            return Err(line_err(
                no,
                format!(
                    "{} fields, but the header has {}; every row needs one value per column",
                    fields.len(),
                    cols.len()
                ),
            ));
        }
        let t = TimePoint::parse(fields[time_col])
            .map_err(|e| line_err(no, format!("time: {e}, or give a plain number of hours")))?;
        if let Some(first) = times.first() {
            if std::mem::discriminant(first) != std::mem::discriminant(&t) {
                return Err(line_err(
                    no,
                    format!(
                        "time `{}` is {} but the first row's is {}; use one form throughout",
                        fields[time_col],
                        t.form(),
                        first.form()
                    ),
                ));
            }
        }
        if let Some(prev) = times.last() {
            if t.value() <= prev.value() {
                return Err(line_err(
                    no,
                    format!(
                        "time {t} does not come after the previous row's {prev}; rows must be in \
                         strictly increasing time order"
                    ),
                ));
            }
        }
        let raw = fields[col];
        let v: f64 = raw.parse().map_err(|_| {
            line_err(
                no,
                format!("{column}: `{raw}` is not a number; counts must be finite numbers >= 0"),
            )
        })?;
        if let Some(msg) = count_problem(v) {
            return Err(line_err(no, format!("{column}: {msg}")));
        }
        if kind == Kind::Cumulative {
            if let Some(&prev) = values.last() {
                if v < prev {
                    return Err(line_err(no, format!("{column}: {}", decrease_msg(v, prev))));
                }
            }
        }
        times.push(t);
        values.push(v);
        line_nos.push(no);
    }
    if times.is_empty() {
        return Err(file_err(
            "the series has no data rows, only a header; give at least one row per time".into(),
        ));
    }
    let rows_in_file = times.len();

    // Cumulate over the whole file, then apply the bounds.
    let cumulative = match kind {
        Kind::Cumulative => values.clone(),
        Kind::Incident => running_sum(&values),
    };
    for (name, b) in [("--from", sel.from), ("--to", sel.to)] {
        if let Some(b) = b {
            if std::mem::discriminant(&b) != std::mem::discriminant(&times[0]) {
                return Err(file_err(format!(
                    "{name} {b} is {} but the series' times are {}; give {name} in the same form",
                    b.form(),
                    times[0].forms()
                )));
            }
        }
    }
    let lo = sel.from.map_or(f64::NEG_INFINITY, TimePoint::value);
    let hi = sel.to.map_or(f64::INFINITY, TimePoint::value);
    if lo > hi {
        return Err(file_err(format!(
            "--from {} is after --to {}; give --from before --to",
            sel.from.expect("set"),
            sel.to.expect("set")
        )));
    }
    let keep: Vec<usize> = (0..times.len())
        .filter(|&i| (lo..=hi).contains(&times[i].value()))
        .collect();
    if keep.is_empty() {
        return Err(file_err(format!(
            "no rows between {} and {} (the series runs from {} to {}); widen --from/--to",
            sel.from.map_or("the start".to_string(), |b| b.to_string()),
            sel.to.map_or("the end".to_string(), |b| b.to_string()),
            times[0],
            times[times.len() - 1]
        )));
    }
    let row_times: Vec<TimePoint> = keep.iter().map(|&i| times[i]).collect();
    // Hours since the first kept row, differenced on the file's own scale first so
    // that large epoch offsets cost no precision.
    let origin = row_times[0].value();
    let hours: Vec<f64> = row_times
        .iter()
        .map(|t| match t {
            TimePoint::At(s) => (s.secs() - origin) / HOUR,
            TimePoint::Hours(h) => h - origin,
        })
        .collect();
    let kept_cum: Vec<f64> = keep.iter().map(|&i| cumulative[i]).collect();
    let observations = Observations::new(&hours, &kept_cum, Kind::Cumulative).map_err(|e| {
        // Already checked row by row above; map any remaining problem to its line.
        match e {
            DataError::Row { row, msg } => line_err(line_nos[keep[row.min(keep.len() - 1)]], msg),
            other => other,
        }
    })?;
    Ok(SeriesFile {
        file: file.to_string(),
        schema,
        column,
        kind,
        origin: row_times[0],
        values: keep.iter().map(|&i| values[i]).collect(),
        lines: keep.iter().map(|&i| line_nos[i]).collect(),
        row_times,
        rows_in_file,
        observations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel() -> Selection {
        Selection::default()
    }

    fn err(text: &str, s: &Selection) -> String {
        read_series("s.csv", text, s).unwrap_err().to_string()
    }

    #[test]
    fn recognises_the_three_schemas() {
        let w = "time,susceptible,infected,cumulative_infected,new_infections,reinfections,probes,patched,rebooted\n\
                 2001-07-19T10:00:00Z,9,1,1,1,0,0.000,0,0\n\
                 2001-07-19T10:01:00Z,8,2,2,1,0,6.0,0,0\n";
        let s = read_series("s.csv", w, &sel()).unwrap();
        assert_eq!(s.schema, Schema::WormsimSeries);
        assert_eq!(s.column, "cumulative_infected");
        assert_eq!(s.kind, Kind::Cumulative);
        assert_eq!(s.origin.to_string(), "2001-07-19T10:00:00Z");
        assert!((s.observations.times()[1] - 1.0 / 60.0).abs() < 1e-12);
        assert_eq!(s.lines, vec![2, 3]);

        let t = "time,probes_seen,unique_sources,new_sources,cumulative_sources\n0,5,1,1,1\n1,9,3,2,3\n";
        let s = read_series("s.csv", t, &sel()).unwrap();
        assert_eq!(s.schema, Schema::Telescope);
        assert_eq!(s.column, "cumulative_sources");
        assert_eq!(s.observations.cumulative(), &[1.0, 3.0]);

        let s = read_series(
            "s.csv",
            t,
            &Selection {
                column: Some("new_sources".into()),
                ..sel()
            },
        )
        .unwrap();
        assert_eq!(s.kind, Kind::Incident);
        assert_eq!(s.observations.cumulative(), &[1.0, 3.0]);

        let p = "time,count\r\n0.5,0\r\n1.5,2\r\n\r\n";
        let s = read_series("s.csv", p, &sel()).unwrap();
        assert_eq!(s.schema, Schema::Plain);
        assert_eq!(s.observations.times(), &[0.0, 1.0]);
        assert_eq!(s.origin, TimePoint::Hours(0.5));

        let o = "hits,time\n3,0\n4,1\n";
        let s = read_series(
            "s.csv",
            o,
            &Selection {
                kind: Some(Kind::Incident),
                ..sel()
            },
        )
        .unwrap();
        assert_eq!((s.schema, s.column.as_str()), (Schema::Other, "hits"));
        assert_eq!(s.observations.cumulative(), &[3.0, 7.0]);
    }

    #[test]
    fn bounds_apply_after_cumulating_incident_counts() {
        let p = "time,new_hosts\n0,1\n1,2\n2,3\n3,4\n";
        let s = read_series(
            "s.csv",
            p,
            &Selection {
                from: Some(TimePoint::Hours(1.0)),
                to: Some(TimePoint::Hours(2.5)),
                ..sel()
            },
        )
        .unwrap();
        assert_eq!(s.kind, Kind::Incident);
        assert_eq!(s.observations.cumulative(), &[3.0, 6.0]);
        assert_eq!(s.observations.times(), &[0.0, 1.0]);
        assert_eq!(s.values, vec![2.0, 3.0]);
        assert_eq!(s.rows_in_file, 4);
    }

    #[test]
    fn bad_input_names_file_line_and_fix() {
        let cases: Vec<(&str, Selection, &str)> = vec![
            ("", sel(), "s.csv: the file is empty"),
            ("time,count\n", sel(), "s.csv: the series has no data rows"),
            ("when,count\n0,1\n", sel(), "s.csv:1: no `time` column"),
            (
                "time,count\n0,1\n",
                Selection {
                    column: Some("hosts".into()),
                    ..sel()
                },
                "s.csv:1: no column `hosts`; the header has count; choose one of them with --column",
            ),
            (
                "time,count\n0,1\n1,1\n1,2\n",
                sel(),
                "s.csv:4: time 1 h does not come after",
            ),
            (
                "time,count\n0,1\n2,3\n1,4\n",
                sel(),
                "s.csv:4: time 1 h does not come after",
            ),
            (
                "time,count\n0,1\n1,NaN\n",
                sel(),
                "s.csv:3: count: the count is NaN",
            ),
            (
                "time,count\n0,1\n1,-2\n",
                sel(),
                "s.csv:3: count: the count -2 is negative",
            ),
            (
                "time,count\n0,1\n1,x\n",
                sel(),
                "s.csv:3: count: `x` is not a number",
            ),
            (
                "time,count\n0,5\n1,4\n",
                sel(),
                "s.csv:3: count: the cumulative count falls from 5 to 4",
            ),
            (
                "time,count\n0,1\n1\n",
                sel(),
                "s.csv:3: 1 fields, but the header has 2",
            ),
            (
                "time,count\nyesterday,1\n",
                sel(),
                "s.csv:2: time: invalid RFC 3339 timestamp",
            ),
            (
                "time,count\n0,1\n2001-07-19T10:00:00Z,2\n",
                sel(),
                "s.csv:3: time `2001-07-19T10:00:00Z` is an RFC 3339 timestamp",
            ),
            (
                "time,a,b\n0,1,2\n",
                sel(),
                "s.csv:1: cannot tell which column to fit",
            ),
            (
                "time,infected\n0,1\n",
                sel(),
                "s.csv: column `infected` is not known to be cumulative or incident",
            ),
            (
                "time,count\n0,1\n",
                Selection {
                    column: Some("time".into()),
                    ..sel()
                },
                "s.csv:1: `time` is the time axis",
            ),
            (
                "time,count\n0,1\n1,2\n",
                Selection {
                    from: Some(TimePoint::Hours(5.0)),
                    ..sel()
                },
                "s.csv: no rows between 5 h and the end",
            ),
            (
                "time,count\n0,1\n",
                Selection {
                    from: Some(TimePoint::At(SimTime(0.0))),
                    ..sel()
                },
                "s.csv: --from 1970-01-01T00:00:00Z is an RFC 3339 timestamp but the series' times are numbers of hours",
            ),
            (
                "time,count\n0,1\n",
                Selection {
                    from: Some(TimePoint::Hours(2.0)),
                    to: Some(TimePoint::Hours(1.0)),
                    ..sel()
                },
                "s.csv: --from 2 h is after --to 1 h",
            ),
        ];
        for (text, s, want) in cases {
            let got = err(text, &s);
            assert!(
                got.starts_with(want),
                "input {text:?}\n got: {got}\nwant: {want}"
            );
        }
    }

    #[test]
    fn observations_checks() {
        assert!(Observations::new(&[], &[], Kind::Cumulative).is_err());
        assert!(Observations::new(&[0.0, 0.0], &[1.0, 1.0], Kind::Cumulative).is_err());
        assert!(Observations::new(&[0.0, f64::NAN], &[1.0, 1.0], Kind::Cumulative).is_err());
        assert!(Observations::new(&[0.0, 1.0], &[1.0, f64::INFINITY], Kind::Incident).is_err());
        let e = Observations::new(&[0.0, 1.0], &[2.0, 1.0], Kind::Cumulative).unwrap_err();
        assert_eq!(
            e.to_string().split(';').next().unwrap(),
            "row 1: the cumulative count falls from 2 to 1"
        );
        let o = Observations::new(&[5.0, 6.0, 8.0], &[1.0, 1.0, 4.0], Kind::Cumulative).unwrap();
        assert_eq!(o.increments(), vec![1.0, 0.0, 3.0]);
        assert_eq!(o.len(), 3);
    }
}
