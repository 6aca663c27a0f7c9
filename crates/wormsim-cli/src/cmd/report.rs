//! `wormsim report`, and the `--plot`/`--report` outputs of `run` and `ensemble`.

use crate::args::{PlotFormat, ReportArgs};
use crate::atomic::Staged;
use crate::outdir::OutDir;
use crate::plot::{self, ImageFormat};
use crate::report;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn image_format(p: PlotFormat) -> ImageFormat {
    match p {
        PlotFormat::Png => ImageFormat::Png,
        PlotFormat::Svg => ImageFormat::Svg,
    }
}

/// The HTML report of a loaded directory.
pub fn html(d: &OutDir) -> anyhow::Result<String> {
    let charts = d
        .figures()
        .into_iter()
        .map(|f| plot::svg(&f).map(|s| (f, s)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(report::directory(d, &charts))
}

/// Draw the charts of `dir` (and/or its report) into it, after a run or an
/// ensemble wrote its data there; returns the file names written.
pub fn extras(
    dir: &Path,
    plot: Option<PlotFormat>,
    with_report: bool,
) -> anyhow::Result<Vec<String>> {
    if plot.is_none() && !with_report {
        return Ok(Vec::new());
    }
    let d = OutDir::load(dir)?;
    let mut staged = Staged::new();
    let mut names = Vec::new();
    if let Some(p) = plot {
        let format = image_format(p);
        for fig in d.figures() {
            let name = format!("{}.{}", fig.name, format.extension());
            staged.write(&dir.join(&name), &plot::render(&fig, format)?)?;
            names.push(name);
        }
    }
    if with_report {
        staged.write(&dir.join("report.html"), html(&d)?.as_bytes())?;
        names.push("report.html".into());
    }
    staged.commit()?;
    Ok(names)
}

pub fn run(a: &ReportArgs) -> anyhow::Result<ExitCode> {
    let d = OutDir::load(&a.dir)?;
    let path = a
        .output
        .clone()
        .unwrap_or_else(|| a.dir.join("report.html"));
    let text = html(&d)?;
    let mut staged = Staged::new();
    staged.write(&path, text.as_bytes())?;
    staged.commit()?;
    if !a.quiet {
        let n = d.figures().len();
        writeln!(
            std::io::stdout().lock(),
            "wrote {} ({} charts, {} KB)",
            path.display(),
            n,
            text.len().div_ceil(1024)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `dir/name.json` -> `dir/name.<ext>`.
pub fn beside(json: &Path, ext: &str) -> PathBuf {
    json.with_extension(ext)
}
