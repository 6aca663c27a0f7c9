//! Web-server logs as worm sensors: find Code Red, Code Red II and Nimda requests
//! in Apache and IIS logs and turn them into the same series and per-source table
//! as a darknet telescope.
//!
//! ```text
//!  files (plain or gzip) ─► line::LineReader (≤ 64 KiB a line)
//!        ─► format::Parser (common | combined | error | w3c, detected per file)
//!        ─► classify (crv1v2 | crii | nimda | ida_generic | other)
//!        ─► aggregate::Aggregator ─► series rows + per-source rows
//! ```
//!
//! Input is read as bytes, line by line, so memory does not grow with the size
//! of the input: it grows with the number of distinct worm sources (and the bins
//! each was seen in). Bad input is never fatal: an over-long, undecodable or
//! unparseable line is counted as malformed (the first few are kept with their
//! file and line number), and a read error such as a truncated gzip file ends
//! that file with a warning, keeping what was read. Only a file that cannot be
//! opened is an error.
//!
//! ## Example
//! ```
//! use wormsim::logs::{Options, Scanner};
//!
//! let log = b"10.0.0.7 - - [19/Jul/2001:10:12:01 +0000] \"GET /default.ida?NNNNNNNNNNNNNNNNNNNN%u9090=a HTTP/1.0\" 404 205\n\
//!             10.0.0.8 - - [19/Jul/2001:11:30:00 +0000] \"GET /index.html HTTP/1.0\" 200 1043\n";
//! let mut scan = Scanner::new(Options::default()).unwrap();
//! scan.scan_reader("access_log", &log[..]);
//! let result = scan.finish().unwrap();
//! assert_eq!(result.report.requests, 2);
//! assert_eq!(result.sources.len(), 1);
//! assert_eq!(result.sources[0].source.to_string(), "10.0.0.7");
//! assert_eq!(result.series[0].time.to_string(), "2001-07-19T10:00:00Z");
//! ```
//!
//! The formats and the classification rules, with their sources, are in
//! [`format`](mod@format) and [`classify`]; `docs/logs.md` gives the whole picture.

pub mod aggregate;
pub mod classify;
pub mod format;
pub mod line;
pub mod source;

pub use aggregate::{
    AggregateError, Aggregator, SERIES_COLUMNS, SOURCE_COLUMNS, SeriesRow, SourceRow,
};
pub use classify::Class;
pub use format::{Format, Parsed, Parser};
pub use source::SourceId;

use line::{Line, LineReader};
use std::io::Read;
use std::path::Path;

/// How many malformed lines are kept (with file and line number) for the report.
pub const MALFORMED_EXAMPLES: usize = 10;

/// Why a log analysis failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A file could not be opened.
    #[error("{path}: cannot open: {source}; check the path and permissions")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Invalid settings or an impossible series.
    #[error(transparent)]
    Aggregate(#[from] AggregateError),
}

/// Settings for a [`Scanner`].
#[derive(Clone, Debug)]
pub struct Options {
    /// Force a format for every file; `None` detects it per file.
    pub format: Option<Format>,
    /// Series bin width [s] (default 3600).
    pub bin: u64,
    /// UTC offset of `error_log` times, which carry none [s east of UTC]
    /// (default 0: the logs are taken to be in UTC).
    pub error_offset: f64,
    /// Longest line read [bytes]; longer lines are malformed (default 64 KiB).
    pub max_line: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format: None,
            bin: 3600,
            error_offset: 0.0,
            max_line: line::DEFAULT_MAX_LINE,
        }
    }
}

/// A malformed line kept for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub file: String,
    /// Line number, from 1.
    pub line: u64,
    pub why: &'static str,
}

/// What was read from one file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileReport {
    pub name: String,
    /// The file's format (forced or detected); `None` if no line was valid.
    pub format: Option<Format>,
    /// Whether the file was gzip-compressed.
    pub gzip: bool,
    /// Bytes of (decompressed) input read.
    pub bytes: u64,
    pub lines: u64,
    pub requests: u64,
    pub malformed: u64,
    /// A read error that ended the file early (the lines before it are kept).
    pub error: Option<String>,
}

/// Totals over all files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub files: Vec<FileReport>,
    /// Lines read.
    pub lines: u64,
    /// Bytes of (decompressed) input read.
    pub bytes: u64,
    /// Lines that are requests (any class).
    pub requests: u64,
    /// Requests by class, in [`Class::ALL`] order.
    pub by_class: [u64; 5],
    /// Valid lines that are not requests (directives, server messages, blanks).
    pub not_requests: u64,
    pub malformed: u64,
    /// The first [`MALFORMED_EXAMPLES`] malformed lines.
    pub malformed_examples: Vec<Malformed>,
}

impl Report {
    /// Worm requests (all classes but [`Class::Other`]).
    pub fn worm_requests(&self) -> u64 {
        self.by_class[..4].iter().sum()
    }
}

/// The result of a scan.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub report: Report,
    pub series: Vec<SeriesRow>,
    pub sources: Vec<SourceRow>,
    /// Bin width of the series [s].
    pub bin: u64,
}

/// Reads log files one after another into one [`Aggregator`].
#[derive(Debug)]
pub struct Scanner {
    opts: Options,
    agg: Aggregator,
    report: Report,
}

impl Scanner {
    /// A scanner with these settings.
    ///
    /// # Errors
    /// [`LogError::Aggregate`] for a bin width of 0.
    pub fn new(opts: Options) -> Result<Scanner, LogError> {
        Ok(Scanner {
            agg: Aggregator::new(opts.bin)?,
            opts,
            report: Report::default(),
        })
    }

    /// Read a file (gzip or plain). `-` reads standard input.
    ///
    /// # Errors
    /// [`LogError::Open`] if it cannot be opened. Problems inside the file are
    /// not errors: see [`FileReport`].
    pub fn scan_path(&mut self, path: &Path) -> Result<&FileReport, LogError> {
        let name = path.display().to_string();
        if name == "-" {
            return Ok(self.scan_reader("-", std::io::stdin().lock()));
        }
        let open_err = |source| LogError::Open {
            path: name.clone(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(open_err)?;
        if meta.is_dir() {
            return Err(open_err(std::io::Error::other("it is a directory")));
        }
        let file = std::fs::File::open(path).map_err(open_err)?;
        Ok(self.scan_reader(&name, file))
    }

    /// Read one input named `name` (for reports) from any byte source.
    pub fn scan_reader<R: Read>(&mut self, name: &str, reader: R) -> &FileReport {
        let mut fr = FileReport {
            name: name.to_string(),
            ..FileReport::default()
        };
        match line::open(reader) {
            Ok((buf, gzip)) => {
                fr.gzip = gzip;
                self.scan_lines(&mut fr, LineReader::new(buf, self.opts.max_line));
            }
            Err(e) => fr.error = Some(format!("read error: {e}")),
        }
        self.report.lines += fr.lines;
        self.report.bytes += fr.bytes;
        self.report.files.push(fr);
        self.report.files.last().expect("just pushed")
    }

    fn scan_lines<R: std::io::BufRead>(&mut self, fr: &mut FileReport, mut lines: LineReader<R>) {
        let mut parser = Parser::new(self.opts.format, self.opts.error_offset);
        loop {
            let line = match lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    let what = if fr.gzip {
                        "gzip data ends early or is corrupt"
                    } else {
                        "read error"
                    };
                    fr.error = Some(format!(
                        "{what} after line {}: {e}; the {} lines before it were kept",
                        fr.lines, fr.lines
                    ));
                    break;
                }
            };
            fr.lines += 1;
            let parsed = match line {
                Line::TooLong { len } => {
                    fr.bytes += len + 1;
                    Parsed::Malformed("line longer than the limit (64 KiB by default)")
                }
                Line::Text(t) => {
                    fr.bytes += t.len() as u64 + 1;
                    parser.parse(t)
                }
            };
            match parsed {
                Parsed::Request {
                    time,
                    source,
                    class,
                } => {
                    fr.requests += 1;
                    self.report.requests += 1;
                    self.report.by_class[class.index()] += 1;
                    self.agg.add(time, &source, class);
                }
                Parsed::NotRequest => self.report.not_requests += 1,
                Parsed::Malformed(why) => {
                    fr.malformed += 1;
                    self.report.malformed += 1;
                    if self.report.malformed_examples.len() < MALFORMED_EXAMPLES {
                        self.report.malformed_examples.push(Malformed {
                            file: fr.name.clone(),
                            line: lines.line_no(),
                            why,
                        });
                    }
                }
            }
        }
        fr.format = parser.format();
    }

    /// The report so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The series, the sources and the report.
    ///
    /// # Errors
    /// [`LogError::Aggregate`] if the series would be too long for the bin.
    pub fn finish(self) -> Result<Analysis, LogError> {
        Ok(Analysis {
            series: self.agg.series()?,
            sources: self.agg.sources(),
            bin: self.agg.bin(),
            report: self.report,
        })
    }
}
