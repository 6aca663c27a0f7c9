//! `wormsim logs`

use crate::args::{LogFormatArg, LogsArgs};
use crate::atomic::Staged;
use crate::error::input;
use crate::export;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;
use wormsim::logs::{Format, Options, Scanner};

/// Parse a UTC offset: `Z`, `+HH:MM` or `-HH:MM` [s east of UTC].
fn parse_offset(s: &str) -> Option<f64> {
    if s == "Z" || s == "z" {
        return Some(0.0);
    }
    let b = s.as_bytes();
    if b.len() != 6 || b[3] != b':' {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1.0,
        b'-' => -1.0,
        _ => return None,
    };
    let h: u32 = s[1..3].parse().ok()?;
    let m: u32 = s[4..6].parse().ok()?;
    if h > 23
        || m > 59
        || !s[1..3]
            .bytes()
            .chain(s[4..6].bytes())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some(sign * f64::from(h * 3600 + m * 60))
}

pub fn run(a: &LogsArgs) -> anyhow::Result<ExitCode> {
    let format = match a.format {
        LogFormatArg::Auto => None,
        LogFormatArg::Common => Some(Format::Common),
        LogFormatArg::Combined => Some(Format::Combined),
        LogFormatArg::Error => Some(Format::Error),
        LogFormatArg::W3c => Some(Format::W3c),
    };
    let error_offset = parse_offset(&a.error_utc_offset).ok_or_else(|| {
        input(format!(
            "--error-utc-offset: `{}` is not an offset; write it like -07:00, +02:00 or Z",
            a.error_utc_offset
        ))
    })?;
    if a.files.is_empty() {
        return Err(input(
            "no input files; give one or more log files (or - for stdin)",
        ));
    }
    // Check every file before reading any, so a typo in the last one costs nothing.
    for f in &a.files {
        if f.as_os_str() == "-" {
            continue;
        }
        let meta = std::fs::metadata(f)
            .map_err(|e| input(format!("{}: cannot read: {e}", f.display())))?;
        if meta.is_dir() {
            return Err(input(format!(
                "{}: is a directory; give log files (e.g. {}/*)",
                f.display(),
                f.display()
            )));
        }
        std::fs::File::open(f).map_err(|e| input(format!("{}: cannot open: {e}", f.display())))?;
    }

    let started = Instant::now();
    let mut scan = Scanner::new(Options {
        format,
        bin: a.bin,
        error_offset,
        ..Options::default()
    })
    .map_err(|e| input(format!("--bin: {e}")))?;
    for f in &a.files {
        let fr = scan.scan_path(f)?;
        if let Some(err) = &fr.error {
            eprintln!("warning: {}: {err}", fr.name);
        }
    }
    let result = scan.finish()?;
    let elapsed = started.elapsed().as_secs_f64();

    let mut staged = Staged::new();
    staged.write(
        &a.out.join("series.csv"),
        export::logs::series_csv(&result.series).as_bytes(),
    )?;
    staged.write(
        &a.out.join("sources.csv"),
        export::logs::sources_csv(&result.sources).as_bytes(),
    )?;
    staged.commit()?;

    if !a.quiet {
        let mut out = std::io::stdout().lock();
        write!(out, "{}", export::logs::summary(&result, elapsed))?;
        writeln!(
            out,
            "  wrote {}/{{series.csv, sources.csv}} ({} rows, {} sources)",
            a.out.display(),
            result.series.len(),
            result.sources.len()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_offset;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("Z"), Some(0.0));
        assert_eq!(parse_offset("-07:00"), Some(-25_200.0));
        assert_eq!(parse_offset("+05:30"), Some(19_800.0));
        for bad in ["7", "+7:00", "-07:60", "+24:00", "07:00", "+0700", "+-1:00"] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
    }
}
