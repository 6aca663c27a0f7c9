//! Self-contained HTML reports: inline SVG and CSS, no script, no external
//! request (a Content-Security-Policy of `default-src 'none'` makes the browser
//! refuse any). One for a run or ensemble output directory, one for
//! `wormsim validate`.

use crate::outdir::{DirKind, OutDir};
use serde_json::Value;
use std::fmt::Write;
use wormsim::chart::Figure;
use wormsim::ensemble::columns::SUMMARY_COLUMNS;
use wormsim::ensemble::quantile;
use wormsim::time::SimTime;

/// wormsim's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const CSS: &str = "\
body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:2em auto;max-width:1260px;padding:0 1em;color:#222;background:#fff}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
p.lead{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td{background:#fde8e8}tr.pass td.verdict{color:#11632b;font-weight:bold}tr.fail td.verdict{color:#a11;font-weight:bold}
figure{margin:1.2em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}
pre{background:#f7f7f7;border:1px solid #e4e4e4;padding:.8em;overflow-x:auto;font-size:.85em}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}dd{margin:0}
";

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"wormsim {VERSION}\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        esc(title)
    )
}

const FOOT: &str = "</body>\n</html>\n";

/// A figure's SVG made to scale with the page: the root `<svg>` gets a
/// `viewBox` if it has none, and an accessible name.
pub fn inline_svg(fig: &Figure, svg: &str) -> String {
    let body = svg
        .find("<svg")
        .map_or(svg, |i| &svg[i..])
        .trim_end()
        .to_string();
    let mut attrs = format!(" role=\"img\" aria-label=\"{}\"", esc(&fig.title));
    if !body.split('>').next().unwrap_or("").contains("viewBox") {
        let _ = write!(
            attrs,
            " viewBox=\"0 0 {} {}\"",
            crate::plot::WIDTH,
            crate::plot::HEIGHT
        );
    }
    body.replacen("<svg", &format!("<svg{attrs}"), 1)
}

fn figure_html(out: &mut String, fig: &Figure, svg: &str) {
    let _ = writeln!(
        out,
        "<figure id=\"chart-{}\" class=\"chart\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
        esc(&fig.name),
        inline_svg(fig, svg),
        esc(&fig.title)
    );
}

fn num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if (v - v.round()).abs() < 1e-9 && v.abs() < 1e15 {
        wormsim::chart::group(v)
    } else if v.abs() >= 1e6 {
        format!("{v:.4e}")
    } else {
        format!("{v:.3}")
    }
}

/// Seconds after the start, as `h:mm` hours and the UTC time.
fn after_start(start: Option<SimTime>, s: f64) -> String {
    let hm = format!("{:.2} h", s / 3600.0);
    match start {
        Some(t0) => format!("{hm} ({})", t0.plus(s)),
        None => hm,
    }
}

/// `summary.json` keys in reading order, with labels and units.
const RUN_FIELDS: &[(&str, &str, &str)] = &[
    ("hosts", "vulnerable hosts", "[hosts]"),
    ("seeds", "infected at the start", "[hosts]"),
    ("report", "ever infected at the report times", "[hosts]"),
    (
        "ever_infected",
        "ever infected by the end (final count)",
        "[hosts]",
    ),
    ("infected_at_end", "infected at the end", "[hosts]"),
    ("time_to_10pct", "10% of the final count reached", "UTC"),
    ("time_to_50pct", "50% of the final count reached", "UTC"),
    ("time_to_90pct", "90% of the final count reached", "UTC"),
    (
        "peak_new_infections_per_minute",
        "peak new infections",
        "[hosts/min]",
    ),
    ("peak_minute", "minute of the peak (start)", "UTC"),
    ("patched", "patched by the end", "[hosts]"),
    (
        "patched_while_infected",
        "of which patched while infected",
        "[hosts]",
    ),
    ("reboots", "reboots of infected hosts", "[reboots]"),
    (
        "reinfections",
        "re-infections after a reboot",
        "[infections]",
    ),
    ("instances_added", "extra worm instances", "[instances]"),
    (
        "expired",
        "infections ended by lifetime or drop-dead date",
        "[infections]",
    ),
    ("crashes", "hosts crashed by the worm", "[hosts]"),
    (
        "backdoored",
        "hosts with the backdoor at the end",
        "[hosts]",
    ),
    (
        "flood_bytes_delivered",
        "flood payload delivered to the listening site",
        "[bytes]",
    ),
    (
        "flood_bytes_at_target",
        "flood payload arriving at the target address",
        "[bytes]",
    ),
    ("probes", "probes sent", "[probes]"),
    ("events", "engine events", "[events]"),
];

fn run_summary_rows(info: &Value) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    let Some(obj) = info.as_object() else {
        return rows;
    };
    let skip = ["scenario", "seed", "replicate", "engine", "start", "end"];
    let known: Vec<&str> = RUN_FIELDS.iter().map(|f| f.0).collect();
    let extra = obj
        .keys()
        .filter(|k| !known.contains(&k.as_str()) && !skip.contains(&k.as_str()))
        .map(|k| (k.as_str(), "", ""));
    let fields: Vec<(&str, &str, &str)> = RUN_FIELDS.iter().copied().chain(extra).collect();
    for (k, label, unit) in fields {
        let Some(v) = obj.get(k) else {
            continue;
        };
        let value = match v {
            Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), num),
            Value::String(s) => s.clone(),
            Value::Null => "–".into(),
            Value::Array(a) if a.is_empty() => "–".into(),
            Value::Array(a) => a
                .iter()
                .map(|r| match (r.get("time"), r.get("cumulative_infected")) {
                    (Some(Value::String(t)), Some(Value::Number(n))) => {
                        format!("{} by {t}", num(n.as_f64().unwrap_or(f64::NAN)))
                    }
                    _ => r.to_string(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        let label = if label.is_empty() {
            k.replace('_', " ")
        } else {
            label.to_string()
        };
        rows.push((label, unit.to_string(), value));
    }
    rows
}

fn summary_table(out: &mut String, d: &OutDir) {
    match d.kind {
        DirKind::Run => {
            let Some(info) = &d.info else {
                out.push_str("<p>No summary.json in the directory.</p>\n");
                return;
            };
            out.push_str(
                "<table id=\"summary\">\n<tr><th>quantity</th><th>unit</th><th>value</th></tr>\n",
            );
            for (k, unit, v) in run_summary_rows(info) {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                    esc(&k),
                    esc(&unit),
                    esc(&v)
                );
            }
            out.push_str("</table>\n");
        }
        DirKind::Ensemble => {
            let Some(csv) = &d.summaries else {
                out.push_str("<p>No summaries.csv in the directory.</p>\n");
                return;
            };
            let start = d.scenario.as_ref().map(|s| s.start);
            out.push_str(
                "<table id=\"summary\">\n<tr><th>quantity</th><th>unit</th><th>5%</th>\
                 <th>median</th><th>95%</th><th>mean</th></tr>\n",
            );
            for c in SUMMARY_COLUMNS {
                let Some(mut v) = csv.f64s(c.name) else {
                    continue;
                };
                v.retain(|x| x.is_finite());
                let mean = quantile::mean(&v);
                let q = quantile::quantiles(&mut v);
                let fmt = |x: Option<f64>| match x {
                    None => "–".to_string(),
                    Some(x) if c.name.ends_with("_s") => after_start(start, x),
                    Some(x) => num(x),
                };
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    esc(c.label),
                    esc(c.unit),
                    esc(&fmt(q.map(|q| q[0]))),
                    esc(&fmt(q.map(|q| q[2]))),
                    esc(&fmt(q.map(|q| q[4]))),
                    esc(&fmt(mean)),
                );
            }
            out.push_str("</table>\n");
        }
    }
}

/// The report of a run or ensemble directory, with its charts as SVG.
pub fn directory(d: &OutDir, charts: &[(Figure, String)]) -> String {
    let title = format!("wormsim report: {}", d.meta.label());
    let mut out = head(&title);
    let _ = writeln!(out, "<h1>{}</h1>", esc(&d.meta.scenario));
    if let Some(s) = &d.scenario
        && !s.description.trim().is_empty()
    {
        let _ = writeln!(out, "<p class=\"lead\">{}</p>", esc(s.description.trim()));
    }
    let get = |k: &str| {
        d.info
            .as_ref()
            .and_then(|v| v.get(k))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
    };
    out.push_str("<dl id=\"run\">\n");
    let mut item = |k: &str, v: String| {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    };
    item(
        "kind",
        match d.kind {
            DirKind::Run => "single run".into(),
            DirKind::Ensemble => format!("ensemble of {} runs", get("runs").unwrap_or_default()),
        },
    );
    item("seed", get("seed").unwrap_or_else(|| "unknown".into()));
    if let Some(r) = get("replicate") {
        item("replicate", r);
    }
    item("engine", get("engine").unwrap_or_else(|| "unknown".into()));
    if let Some(s) = &d.scenario {
        item("simulated", format!("{} to {}", s.start, s.end));
    }
    item(
        "wormsim",
        format!("{VERSION} (this report and, unless noted, the run)"),
    );
    item(
        "source",
        format!("{} ({})", d.dir.display(), files_present(d).join(", ")),
    );
    out.push_str("</dl>\n");

    out.push_str("<h2 id=\"summary-heading\">Summary</h2>\n");
    summary_table(&mut out, d);

    out.push_str("<h2>Charts</h2>\n");
    for (fig, svg) in charts {
        figure_html(&mut out, fig, svg);
    }

    out.push_str("<h2>Scenario</h2>\n");
    match &d.scenario_text {
        Some(text) => {
            defaults_table(&mut out, text);
            out.push_str("<p>The scenario as run (<code>scenario.toml</code>); its comments cite the source of each value.</p>\n");
            let _ = writeln!(out, "<pre id=\"scenario\">{}</pre>", esc(text));
        }
        None => out.push_str("<p>No scenario.toml in the directory.</p>\n"),
    }
    out.push_str(FOOT);
    out
}

fn defaults_table(out: &mut String, text: &str) {
    let omitted = wormsim::scenario::defaults::omitted(text);
    if omitted.is_empty() {
        out.push_str("<p>Every key with a default is set in the file.</p>\n");
        return;
    }
    out.push_str(
        "<p>Keys not set in the file take their defaults:</p>\n<table id=\"defaults\">\n\
         <tr><th>key</th><th>default</th><th>source</th></tr>\n",
    );
    for d in omitted {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(d.key),
            esc(d.default),
            esc(d.source)
        );
    }
    out.push_str("</table>\n");
}

fn files_present(d: &OutDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&d.dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| {
                    !n.starts_with('.')
                        && (n.ends_with(".csv")
                            || n.ends_with(".json")
                            || n.ends_with(".toml")
                            || n.ends_with(".parquet"))
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// One row of the validation table, as text cells.
pub struct ValidationRow {
    pub quantity: String,
    pub published: String,
    pub source: String,
    pub median: String,
    pub band: String,
    pub tolerance: String,
    pub verdict: String,
    pub pass: bool,
}

/// The `wormsim validate` page.
pub fn validation(
    heading: &str,
    facts: &[(String, String)],
    rows: &[ValidationRow],
    notes: &[String],
) -> String {
    let mut out = head(heading);
    let _ = writeln!(out, "<h1>{}</h1>", esc(heading));
    out.push_str("<dl id=\"run\">\n");
    for (k, v) in facts {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    out.push_str(
        "</dl>\n<table id=\"validation\">\n<tr><th>quantity</th><th>published</th><th>source</th>\
                  <th>simulated median</th><th>5–95%</th><th>tolerance</th><th>verdict</th></tr>\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td class=\"verdict\">{}</td></tr>",
            if r.pass { "pass" } else { "fail" },
            esc(&r.quantity),
            esc(&r.published),
            esc(&r.source),
            esc(&r.median),
            esc(&r.band),
            esc(&r.tolerance),
            esc(&r.verdict),
        );
    }
    out.push_str("</table>\n");
    for n in notes {
        let _ = writeln!(out, "<p>{}</p>", esc(n));
    }
    out.push_str(FOOT);
    out
}
