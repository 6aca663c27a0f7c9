//! Charts as data: what each picture of an outbreak shows, free of any drawing
//! library. A renderer (the CLI's, with plotters) turns a [`Figure`] into PNG or
//! SVG; the tests check figures here, without pixels.
//!
//! ```text
//!  Curves (a run's series, or an ensemble's per-bin quantiles)
//!     ├─► hosts(…)          infected, susceptible, patched, ever infected; bands; fit overlay
//!     ├─► new_infections(…) new infections per minute, the peak marked
//!  telescope columns ─► telescope(…)   what the telescope saw vs the truth
//!  flood columns ─────► flood(…)       traffic at the target; move and filter marked
//!  fitted curve ──────► fit(…)         observed points, fitted curve, interval band
//! ```
//!
//! Every figure's title names the scenario and the seed ([`Meta`]); the x axis is
//! calendar time (UTC) unless the data carry only hours.

use crate::time::SimTime;

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// The palette (colour-blind safe: Okabe and Ito, 2008).
pub mod color {
    use super::Rgb;
    pub const INFECTED: Rgb = (213, 94, 0);
    pub const SUSCEPTIBLE: Rgb = (0, 114, 178);
    pub const PATCHED: Rgb = (0, 158, 115);
    pub const EVER: Rgb = (80, 80, 80);
    pub const FIT: Rgb = (204, 121, 167);
    pub const TELESCOPE: Rgb = (230, 159, 0);
    pub const MOVED: Rgb = (86, 180, 233);
    pub const MARKER: Rgb = (120, 120, 120);
}

/// Who a figure is about: the scenario, the seed and (ensembles) the run count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meta {
    pub scenario: String,
    pub seed: Option<u64>,
    pub runs: Option<u64>,
}

impl Meta {
    /// `name, seed 1` or `name, seed 1, 40 runs`.
    pub fn label(&self) -> String {
        let mut s = self.scenario.clone();
        if let Some(seed) = self.seed {
            s.push_str(&format!(", seed {seed}"));
        }
        if let Some(runs) = self.runs {
            s.push_str(&format!(", {runs} runs"));
        }
        s
    }
}

/// The x axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum XAxis {
    /// Calendar time; x values are seconds since the epoch, labelled in UTC.
    Utc,
    /// Hours since the first data point.
    Hours,
}

/// A line's dash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
}

/// Which y axis a line belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    Left,
    Right,
}

/// A line through points.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub label: String,
    pub color: Rgb,
    pub dash: Dash,
    pub axis: Axis,
    pub points: Vec<(f64, f64)>,
}

/// A shaded band between two curves at common x values.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub label: String,
    pub color: Rgb,
    /// Opacity, 0 to 1.
    pub opacity: f64,
    pub x: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// Points drawn as dots (observations).
#[derive(Clone, Debug, PartialEq)]
pub struct Dots {
    pub label: String,
    pub color: Rgb,
    pub points: Vec<(f64, f64)>,
}

/// A vertical line at an x value, labelled (an event: the move, the filter).
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub x: f64,
    pub label: String,
}

/// A labelled point (the peak).
#[derive(Clone, Debug, PartialEq)]
pub struct Callout {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

/// Where the legend goes (where the data usually leave room).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corner {
    UpperLeft,
    UpperRight,
    MiddleRight,
    LowerRight,
}

/// One chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// File stem: `hosts`, `new-infections`, `telescope`, `flood`, or the fit's name.
    pub name: String,
    pub title: String,
    pub x_axis: XAxis,
    /// The x axis' description (with its unit).
    pub x_label: String,
    /// The left y axis' description (with its unit).
    pub y_label: String,
    /// The right y axis' description, when a line uses it.
    pub y2_label: Option<String>,
    pub bands: Vec<Band>,
    pub lines: Vec<Line>,
    pub dots: Vec<Dots>,
    pub markers: Vec<Marker>,
    pub callouts: Vec<Callout>,
    pub legend: Corner,
}

impl Figure {
    fn new(name: &str, title: String, x_axis: XAxis, y_label: &str) -> Figure {
        Figure {
            name: name.to_string(),
            title,
            x_axis,
            x_label: match x_axis {
                XAxis::Utc => "time [UTC]".into(),
                XAxis::Hours => "time [h since the first point]".into(),
            },
            y_label: y_label.to_string(),
            y2_label: None,
            bands: Vec::new(),
            lines: Vec::new(),
            dots: Vec::new(),
            markers: Vec::new(),
            callouts: Vec::new(),
            legend: Corner::UpperLeft,
        }
    }

    /// The x range covered by the data (and markers inside it).
    pub fn x_range(&self) -> Option<(f64, f64)> {
        let xs = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .chain(self.bands.iter().flat_map(|b| b.x.iter().copied()))
            .chain(self.dots.iter().flat_map(|d| d.points.iter().map(|p| p.0)));
        range(xs)
    }

    /// The y range of the data on `axis` (bands and callouts on the left).
    pub fn y_range(&self, axis: Axis) -> Option<(f64, f64)> {
        let lines = self
            .lines
            .iter()
            .filter(|l| l.axis == axis)
            .flat_map(|l| l.points.iter().map(|p| p.1));
        if axis == Axis::Right {
            return range(lines);
        }
        let ys = lines
            .chain(
                self.bands
                    .iter()
                    .flat_map(|b| b.lower.iter().chain(&b.upper).copied()),
            )
            .chain(self.dots.iter().flat_map(|d| d.points.iter().map(|p| p.1)))
            .chain(self.callouts.iter().map(|c| c.y));
        range(ys)
    }

    /// Whether the figure has anything to draw.
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.points.is_empty())
            && self.bands.iter().all(|b| b.x.is_empty())
            && self.dots.iter().all(|d| d.points.is_empty())
    }
}

fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// One variable over time: a run's values, or an ensemble's median with its
/// 5–95% and 25–75% bands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curve {
    /// Row times [s since the epoch].
    pub time: Vec<f64>,
    /// The value (a run) or the median (an ensemble).
    pub mid: Vec<f64>,
    /// 5% and 95% quantiles (ensembles).
    pub band90: Option<(Vec<f64>, Vec<f64>)>,
    /// 25% and 75% quantiles (ensembles).
    pub band50: Option<(Vec<f64>, Vec<f64>)>,
}

impl Curve {
    /// A single run's values.
    pub fn run(time: Vec<f64>, values: Vec<f64>) -> Curve {
        Curve {
            time,
            mid: values,
            band90: None,
            band50: None,
        }
    }

    /// Map every value (the median and the bands) through `f(row, value)`.
    pub fn map(&self, f: impl Fn(usize, f64) -> f64) -> Curve {
        let m = |v: &Vec<f64>| v.iter().enumerate().map(|(i, &x)| f(i, x)).collect();
        Curve {
            time: self.time.clone(),
            mid: m(&self.mid),
            band90: self.band90.as_ref().map(|(a, b)| (m(a), m(b))),
            band50: self.band50.as_ref().map(|(a, b)| (m(a), m(b))),
        }
    }

    /// Drop the first `k` rows.
    pub fn skip(&self, k: usize) -> Curve {
        let s = |v: &Vec<f64>| v.iter().skip(k).copied().collect::<Vec<f64>>();
        Curve {
            time: s(&self.time),
            mid: s(&self.mid),
            band90: self.band90.as_ref().map(|(a, b)| (s(a), s(b))),
            band50: self.band50.as_ref().map(|(a, b)| (s(a), s(b))),
        }
    }

    fn points(&self) -> Vec<(f64, f64)> {
        self.time
            .iter()
            .zip(&self.mid)
            .map(|(&t, &v)| (t, v))
            .collect()
    }

    /// Add this curve to `fig`: its bands (if any, and `bands`), then its line.
    /// Only the first curve's bands carry a legend label (`5–95% of runs`):
    /// the colours tell the curves apart.
    fn draw(&self, fig: &mut Figure, label: &str, color: Rgb, dash: Dash, bands: bool) {
        for (band, name, opacity) in [
            (&self.band90, "5–95% of runs", 0.15),
            (&self.band50, "25–75% of runs", 0.3),
        ] {
            if let (Some((lo, hi)), true) = (band, bands) {
                let first = !fig.bands.iter().any(|b| b.label == name);
                fig.bands.push(Band {
                    label: if first {
                        name.to_string()
                    } else {
                        String::new()
                    },
                    color,
                    opacity,
                    x: self.time.clone(),
                    lower: lo.clone(),
                    upper: hi.clone(),
                });
            }
        }
        let label = if self.band90.is_some() {
            format!("{label} (median)")
        } else {
            label.to_string()
        };
        fig.lines.push(Line {
            label,
            color,
            dash,
            axis: Axis::Left,
            points: self.points(),
        });
    }
}

/// A fitted analytic curve to overlay: cumulative hosts at times.
#[derive(Clone, Debug, PartialEq)]
pub struct FitCurve {
    /// The model (`rcs`, `si`, …).
    pub model: String,
    /// Times: seconds since the epoch ([`XAxis::Utc`]) or hours ([`XAxis::Hours`]).
    pub x_axis: XAxis,
    pub time: Vec<f64>,
    pub observed: Vec<f64>,
    pub fitted: Vec<f64>,
    /// The pointwise 95% band, when intervals were computed.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
}

impl FitCurve {
    /// The fitted curve as a chart line.
    fn line(&self, label: String, dash: Dash) -> Line {
        Line {
            label,
            color: color::FIT,
            dash,
            axis: Axis::Left,
            points: self
                .time
                .iter()
                .copied()
                .zip(self.fitted.iter().copied())
                .collect(),
        }
    }
}

/// The series variables the host and rate charts need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostCurves {
    pub infected: Curve,
    pub susceptible: Curve,
    pub patched: Curve,
    pub cumulative_infected: Curve,
    pub new_infections: Curve,
    /// Length of each row's bin [s] (0 in the first row).
    pub bin_seconds: Vec<f64>,
}

/// Infected, susceptible and patched hosts (and hosts ever infected) over
/// calendar time, with ensemble bands, and fitted analytic curves overlaid.
pub fn hosts(meta: &Meta, c: &HostCurves, fits: &[FitCurve]) -> Figure {
    let mut fig = Figure::new(
        "hosts",
        format!("Hosts over time: {}", meta.label()),
        XAxis::Utc,
        "hosts",
    );
    fig.legend = Corner::MiddleRight;
    c.infected
        .draw(&mut fig, "infected", color::INFECTED, Dash::Solid, true);
    c.susceptible.draw(
        &mut fig,
        "susceptible",
        color::SUSCEPTIBLE,
        Dash::Solid,
        true,
    );
    c.patched
        .draw(&mut fig, "patched", color::PATCHED, Dash::Solid, true);
    // Its bands would hide the infected ones (the two curves coincide until
    // hosts recover): the median alone.
    c.cumulative_infected
        .draw(&mut fig, "ever infected", color::EVER, Dash::Dashed, false);
    for f in fits.iter().filter(|f| f.x_axis == XAxis::Utc) {
        let label = format!("{} fit (ever infected)", f.model.to_uppercase());
        fig.lines.push(f.line(label, Dash::Dashed));
    }
    fig
}

/// New infections per minute (first infections in each bin, scaled to a
/// minute), with the peak marked. The first row (the seeds) is left out.
pub fn new_infections(meta: &Meta, c: &HostCurves) -> Figure {
    let mut fig = Figure::new(
        "new-infections",
        format!("New infections per minute: {}", meta.label()),
        XAxis::Utc,
        "new infections [hosts/min]",
    );
    fig.legend = Corner::UpperRight;
    let bins = &c.bin_seconds;
    let per_min = c
        .new_infections
        .map(|i, v| match bins.get(i) {
            Some(&b) if b > 0.0 => v * 60.0 / b,
            _ => 0.0,
        })
        .skip(1);
    per_min.draw(
        &mut fig,
        "new infections",
        color::INFECTED,
        Dash::Solid,
        true,
    );
    let peak = per_min
        .mid
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .fold(None, |acc: Option<(usize, f64)>, (i, &v)| match acc {
            Some((_, best)) if best >= v => acc,
            _ => Some((i, v)),
        });
    if let Some((i, v)) = peak.filter(|p| p.1 > 0.0) {
        let t = per_min.time[i];
        let what = if per_min.band90.is_some() {
            "peak of the median"
        } else {
            "peak"
        };
        fig.callouts.push(Callout {
            x: t,
            y: v,
            label: format!("{what} {} /min, bin ending {}", group(v), clock(t)),
        });
    }
    fig
}

/// What a telescope saw (unique sources, cumulative) against the truth (hosts
/// ever infected), when the run wrote `telescope.csv`.
pub fn telescope(meta: &Meta, truth: &Curve, seen_time: &[f64], seen: &[f64]) -> Figure {
    let mut fig = Figure::new(
        "telescope",
        format!("Telescope vs truth: {}", meta.label()),
        XAxis::Utc,
        "hosts",
    );
    fig.legend = Corner::LowerRight;
    truth.draw(
        &mut fig,
        "ever infected (truth)",
        color::EVER,
        Dash::Solid,
        true,
    );
    fig.lines.push(Line {
        label: "unique sources seen by the telescope".into(),
        color: color::TELESCOPE,
        dash: Dash::Solid,
        axis: Axis::Left,
        points: seen_time
            .iter()
            .copied()
            .zip(seen.iter().copied())
            .collect(),
    });
    fig
}

/// Flood traffic at the target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FloodCurves {
    pub time: Vec<f64>,
    /// Packets per second arriving at the target address (.91).
    pub target_packets_per_s: Vec<f64>,
    /// Packets per second arriving at the site's new address (.92).
    pub moved_packets_per_s: Vec<f64>,
    /// Hosts flooding (from the series), at the same times.
    pub flooding: Option<Vec<f64>>,
    /// The target and the new address, for the legend.
    pub target: String,
    pub moved_to: String,
    /// When the site moved and the filter started.
    pub move_at: Option<f64>,
    pub filter_at: Option<f64>,
}

/// Flood traffic at the target (and the site's new address), hosts flooding on
/// the right axis, the address move and filter times marked.
pub fn flood(meta: &Meta, f: &FloodCurves) -> Figure {
    let mut fig = Figure::new(
        "flood",
        format!("Flood traffic at the target: {}", meta.label()),
        XAxis::Utc,
        "traffic arriving [packets/s]",
    );
    let pts = |v: &[f64]| f.time.iter().copied().zip(v.iter().copied()).collect();
    fig.lines.push(Line {
        label: format!("at {} (target)", f.target),
        color: color::INFECTED,
        dash: Dash::Solid,
        axis: Axis::Left,
        points: pts(&f.target_packets_per_s),
    });
    fig.lines.push(Line {
        label: format!("at {} (site after the move)", f.moved_to),
        color: color::MOVED,
        dash: Dash::Solid,
        axis: Axis::Left,
        points: pts(&f.moved_packets_per_s),
    });
    if let Some(fl) = &f.flooding {
        fig.y2_label = Some("hosts flooding".into());
        fig.lines.push(Line {
            label: "hosts flooding (right axis)".into(),
            color: color::EVER,
            dash: Dash::Dashed,
            axis: Axis::Right,
            points: pts(fl),
        });
    }
    if let Some(t) = f.move_at {
        fig.markers.push(Marker {
            x: t,
            label: format!("site moves to {} ({})", f.moved_to, clock(t)),
        });
    }
    if let Some(t) = f.filter_at {
        fig.markers.push(Marker {
            x: t,
            label: format!("{} filtered ({})", f.target, clock(t)),
        });
    }
    fig
}

/// A `wormsim fit` result: the observed points, the fitted curve and its band.
pub fn fit(meta: &Meta, name: &str, f: &FitCurve) -> Figure {
    let mut fig = Figure::new(
        name,
        format!("{} fit: {}", f.model.to_uppercase(), meta.label()),
        f.x_axis,
        "cumulative hosts",
    );
    fig.legend = Corner::LowerRight;
    if let Some((lo, hi)) = &f.band {
        fig.bands.push(Band {
            label: "95% band".into(),
            color: color::FIT,
            opacity: 0.25,
            x: f.time.clone(),
            lower: lo.clone(),
            upper: hi.clone(),
        });
    }
    // At most ~150 dots: a per-minute series would hide the curve.
    let step = f.time.len().div_ceil(150).max(1);
    fig.dots.push(Dots {
        label: if step == 1 {
            "observed".into()
        } else {
            format!("observed (every {step}th point)")
        },
        color: color::EVER,
        points: f
            .time
            .iter()
            .copied()
            .zip(f.observed.iter().copied())
            .step_by(step)
            .collect(),
    });
    fig.lines
        .push(f.line(format!("{} fit", f.model.to_uppercase()), Dash::Solid));
    fig
}

/// `HH:MM UTC` (`Jul 20 HH:MM UTC` off the first day is not needed: charts
/// show the date on the axis).
pub fn clock(t: f64) -> String {
    let s = SimTime(t).to_string();
    // RFC 3339: 2001-07-19T18:15:00Z
    format!("{} UTC", s.get(11..16).unwrap_or(&s))
}

/// An integer with thousands separators (`2,662`).
pub fn group(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curves() -> HostCurves {
        let t: Vec<f64> = (0..5)
            .map(|i| 995_536_800.0 + 60.0 * f64::from(i))
            .collect();
        let c = |v: &[f64]| Curve::run(t.clone(), v.to_vec());
        HostCurves {
            infected: c(&[1.0, 2.0, 5.0, 9.0, 10.0]),
            susceptible: c(&[9.0, 8.0, 5.0, 1.0, 0.0]),
            patched: c(&[0.0; 5]),
            cumulative_infected: c(&[1.0, 2.0, 5.0, 9.0, 10.0]),
            new_infections: c(&[1.0, 1.0, 3.0, 4.0, 1.0]),
            bin_seconds: vec![0.0, 60.0, 60.0, 60.0, 60.0],
        }
    }

    #[test]
    fn titles_name_the_scenario_and_the_seed() {
        let meta = Meta {
            scenario: "tiny".into(),
            seed: Some(7),
            runs: None,
        };
        let f = hosts(&meta, &curves(), &[]);
        assert_eq!(f.title, "Hosts over time: tiny, seed 7");
        assert_eq!(f.lines.len(), 4);
        assert!(f.bands.is_empty());
    }

    #[test]
    fn the_peak_is_the_largest_bin_seeds_excluded() {
        let f = new_infections(&Meta::default(), &curves());
        assert_eq!(f.lines[0].points.len(), 4);
        assert_eq!(f.callouts.len(), 1);
        assert_eq!(f.callouts[0].y, 4.0);
        assert_eq!(f.callouts[0].x, 995_536_800.0 + 180.0);
        assert!(
            f.callouts[0].label.contains("10:03 UTC"),
            "{}",
            f.callouts[0].label
        );
    }

    #[test]
    fn ensemble_curves_get_two_bands_and_a_median() {
        let mut c = curves();
        let v = c.infected.mid.clone();
        c.infected.band90 = Some((v.clone(), v.clone()));
        c.infected.band50 = Some((v.clone(), v));
        let f = hosts(&Meta::default(), &c, &[]);
        assert_eq!(f.bands.len(), 2);
        assert_eq!(f.bands[0].label, "5–95% of runs");
        assert!(f.lines.iter().any(|l| l.label == "infected (median)"));
    }

    #[test]
    fn grouping() {
        assert_eq!(group(2662.2), "2,662");
        assert_eq!(group(359104.0), "359,104");
        assert_eq!(group(12.0), "12");
        assert_eq!(group(-1234.0), "-1,234");
    }
}
