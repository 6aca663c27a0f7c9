//! Draw a [`wormsim::chart::Figure`] as PNG or SVG with plotters.
//!
//! No system font is read: text is drawn (PNG) and measured (SVG layout) with
//! DejaVu Sans, embedded from `assets/fonts/` (licence beside it). SVG text names
//! the `DejaVu Sans, sans-serif` family, which any browser can show. Every chart
//! is [`WIDTH`]×[`HEIGHT`] pixels, and the output depends only on the figure.

use anyhow::{Context, anyhow};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::ops::Range;
use std::sync::Once;
use wormsim::chart::{Axis, Corner, Dash, Figure, XAxis};
use wormsim::time::{DAY, HOUR, MINUTE, SimTime};

/// Chart width [px].
pub const WIDTH: u32 = 1200;
/// Chart height [px].
pub const HEIGHT: u32 = 700;

/// DejaVu Sans 2.37 (Debian's fonts-dejavu-core), Bitstream Vera licence.
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "DejaVu Sans, sans-serif";

fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("the embedded DejaVu Sans font does not parse");
        }
    });
}

/// Image formats of `--plot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Svg => "svg",
        }
    }
}

/// Render `fig` in `format`: the file's bytes.
///
/// # Errors
/// A drawing error from plotters, or a PNG encoding error.
pub fn render(fig: &Figure, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    match format {
        ImageFormat::Svg => svg(fig).map(String::into_bytes),
        ImageFormat::Png => png(fig),
    }
}

/// The figure as an SVG document.
///
/// # Errors
/// A drawing error from plotters.
pub fn svg(fig: &Figure) -> anyhow::Result<String> {
    fonts();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(fig, &root, false)?;
        root.present()
            .map_err(|e| anyhow!("drawing {}: {e:?}", fig.name))?;
    }
    Ok(out)
}

/// The figure as a PNG file (8-bit RGB).
///
/// # Errors
/// A drawing error from plotters, or a PNG encoding error.
pub fn png(fig: &Figure) -> anyhow::Result<Vec<u8>> {
    fonts();
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw(fig, &root, true)?;
        root.present()
            .map_err(|e| anyhow!("drawing {}: {e:?}", fig.name))?;
    }
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let mut w = enc.write_header().context("encoding PNG")?;
        w.write_image_data(&rgb).context("encoding PNG")?;
        w.finish().context("encoding PNG")?;
    }
    Ok(bytes)
}

fn rgb(c: (u8, u8, u8)) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// A y range from the data: from 0 (or below) to a little above the top.
fn y_span(r: Option<(f64, f64)>) -> Range<f64> {
    let (lo, hi) = r.unwrap_or((0.0, 1.0));
    let lo = lo.min(0.0);
    let hi = if hi > lo {
        hi + 0.06 * (hi - lo)
    } else {
        lo + 1.0
    };
    lo..hi
}

/// Tick label for a count or rate: `350,000`, `2.5M`, `0.25`.
pub fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e9 {
        trim(format!("{:.2}", v / 1e9)) + "G"
    } else if a >= 1e6 {
        trim(format!("{:.2}", v / 1e6)) + "M"
    } else if a >= 100.0 || (a >= 1.0 && (v - v.round()).abs() < 1e-9) {
        wormsim::chart::group(v)
    } else {
        trim(format!("{v:.3}"))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Jul 19` and `18:15` of a time.
fn date_and_clock(t: f64) -> (String, String) {
    let s = SimTime(t).to_string();
    let month: usize = s.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    let day = s.get(8..10).unwrap_or("").trim_start_matches('0');
    (
        format!("{} {day}", MONTHS[(month - 1).min(11)]),
        s.get(11..16).unwrap_or("").to_string(),
    )
}

/// Tick positions on a UTC axis: multiples (since the epoch, so midnights and
/// whole hours in UTC) of the smallest step giving at most 10 ticks.
pub fn utc_ticks(lo: f64, hi: f64) -> Vec<f64> {
    const STEPS: [f64; 14] = [
        MINUTE,
        5.0 * MINUTE,
        10.0 * MINUTE,
        15.0 * MINUTE,
        30.0 * MINUTE,
        HOUR,
        2.0 * HOUR,
        3.0 * HOUR,
        6.0 * HOUR,
        12.0 * HOUR,
        DAY,
        2.0 * DAY,
        7.0 * DAY,
        28.0 * DAY,
    ];
    let span = (hi - lo).max(1.0);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 10.0)
        .unwrap_or(span / 10.0);
    let mut out = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi && out.len() < 64 {
        out.push(k * step);
        k += 1.0;
    }
    out
}

/// Label of a UTC tick: the date on the first tick and at midnight.
fn utc_label(t: f64, first: f64) -> String {
    let (date, clock) = date_and_clock(t);
    if t == first || t.rem_euclid(DAY) == 0.0 {
        format!("{date} {clock}")
    } else {
        clock
    }
}

/// The x axis description with the dates it covers.
fn x_desc(fig: &Figure, lo: f64, hi: f64) -> String {
    match fig.x_axis {
        XAxis::Hours => fig.x_label.clone(),
        XAxis::Utc => {
            let a = SimTime(lo).to_string();
            let b = SimTime(hi).to_string();
            let (a, b) = (a.get(..10).unwrap_or(""), b.get(..10).unwrap_or(""));
            if a == b {
                format!("{}, {a}", fig.x_label)
            } else {
                format!("{}, {a} to {b}", fig.x_label)
            }
        }
    }
}

/// A linear f64 axis with given tick positions (UTC hours, or nice numbers).
struct TickedAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let r = (v - self.lo) / (self.hi - self.lo);
        limit.0 + (r * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() || hint.max_num_points() == 0 {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Draw `fig` on `root`. With `segments`, solid lines are drawn one segment
/// at a time: the bitmap backend joins thick polylines with unlimited miters,
/// which throw spikes at the sharp turns of a noisy series.
fn draw<DB: DrawingBackend>(
    fig: &Figure,
    root: &DrawingArea<DB, plotters::coord::Shift>,
    segments: bool,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing {}: {e:?}", fig.name);
    root.fill(&WHITE).map_err(err)?;
    let (x_lo, x_hi) = fig.x_range().unwrap_or((0.0, 1.0));
    let x_hi = if x_hi > x_lo { x_hi } else { x_lo + 1.0 };
    let y = y_span(fig.y_range(Axis::Left));
    let y2 = y_span(fig.y_range(Axis::Right));
    let has_right = fig.lines.iter().any(|l| l.axis == Axis::Right);

    let x_coord = TickedAxis {
        lo: x_lo,
        hi: x_hi,
        ticks: match fig.x_axis {
            XAxis::Utc => utc_ticks(x_lo, x_hi),
            XAxis::Hours => RangedCoordf64::from(x_lo..x_hi).key_points(12),
        },
    };
    let first_tick = utc_ticks(x_lo, x_hi).first().copied().unwrap_or(x_lo);
    let x_fmt = |t: &f64| match fig.x_axis {
        XAxis::Utc => utc_label(*t, first_tick),
        XAxis::Hours => tick_label(*t),
    };
    let y_fmt = |v: &f64| tick_label(*v);

    let mut chart = ChartBuilder::on(root)
        .caption(&fig.title, (FAMILY, 24).into_font())
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(96)
        .right_y_label_area_size(if has_right { 90 } else { 48 })
        .build_cartesian_2d(x_coord, y.clone())
        .map_err(err)?
        .set_secondary_coord(x_lo..x_hi, y2.clone());
    chart
        .configure_mesh()
        .x_labels(12)
        .y_labels(8)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_desc(x_desc(fig, x_lo, x_hi))
        .y_desc(&fig.y_label)
        .label_style((FAMILY, 15).into_font())
        .axis_desc_style((FAMILY, 17).into_font())
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(err)?;
    if has_right {
        chart
            .configure_secondary_axes()
            .y_desc(fig.y2_label.as_deref().unwrap_or(""))
            .y_labels(8)
            .y_label_formatter(&y_fmt)
            .label_style((FAMILY, 15).into_font())
            .axis_desc_style((FAMILY, 17).into_font())
            .draw()
            .map_err(err)?;
    }

    // Bands first (under the lines), each a filled polygon.
    for b in &fig.bands {
        let mut poly: Vec<(f64, f64)> = b.x.iter().copied().zip(b.upper.iter().copied()).collect();
        poly.extend(b.x.iter().copied().zip(b.lower.iter().copied()).rev());
        let style = rgb(b.color).mix(b.opacity).filled();
        let drawn = chart
            .draw_series(std::iter::once(Polygon::new(poly, style)))
            .map_err(err)?;
        if !b.label.is_empty() {
            drawn
                .label(&b.label)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], style));
        }
    }
    // Event markers: dashed verticals, labels stacked under the top.
    for (i, m) in fig.markers.iter().enumerate() {
        let color = rgb(wormsim::chart::color::MARKER);
        chart
            .draw_series(DashedLineSeries::new(
                [(m.x, y.start), (m.x, y.end)],
                8,
                6,
                color.stroke_width(2),
            ))
            .map_err(err)?;
        let at = y.end - (0.05 + 0.06 * i as f64) * (y.end - y.start);
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" {}", m.label),
                (m.x, at),
                (FAMILY, 15).into_font().color(&BLACK),
            )))
            .map_err(err)?;
    }
    for d in &fig.dots {
        let color = rgb(d.color);
        chart
            .draw_series(
                d.points
                    .iter()
                    .filter(|p| p.1.is_finite())
                    .map(|&p| Circle::new(p, 3, color.filled())),
            )
            .map_err(err)?
            .label(&d.label)
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
    }
    for l in &fig.lines {
        let color = rgb(l.color);
        let style = color.stroke_width(if l.dash == Dash::Dashed { 2 } else { 3 });
        let pts = l.points.iter().copied().filter(|p| p.1.is_finite());
        let legend_style = style;
        let dashed = l.dash == Dash::Dashed;
        let legend = move |(x, y): (i32, i32)| {
            if dashed {
                PathElement::new(vec![(x, y), (x + 8, y)], legend_style)
            } else {
                PathElement::new(vec![(x, y), (x + 20, y)], legend_style)
            }
        };
        match (l.axis, l.dash) {
            (Axis::Left, Dash::Solid) if segments => {
                let pts: Vec<(f64, f64)> = pts.collect();
                chart
                    .draw_series(
                        pts.windows(2)
                            .map(|w| PathElement::new(vec![w[0], w[1]], style)),
                    )
                    .map_err(err)?
                    .label(&l.label)
                    .legend(legend)
            }
            (Axis::Left, Dash::Solid) => chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(err)?
                .label(&l.label)
                .legend(legend),
            (Axis::Left, Dash::Dashed) => chart
                .draw_series(DashedLineSeries::new(pts, 10, 6, style))
                .map_err(err)?
                .label(&l.label)
                .legend(legend),
            (Axis::Right, Dash::Solid) => chart
                .draw_secondary_series(LineSeries::new(pts, style))
                .map_err(err)?
                .label(&l.label)
                .legend(legend),
            (Axis::Right, Dash::Dashed) => chart
                .draw_secondary_series(DashedLineSeries::new(pts, 10, 6, style))
                .map_err(err)?
                .label(&l.label)
                .legend(legend),
        };
    }
    for c in &fig.callouts {
        chart
            .draw_series(std::iter::once(Circle::new(
                (c.x, c.y),
                7,
                BLACK.stroke_width(2),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("  {}", c.label),
                (c.x, c.y),
                (FAMILY, 16).into_font().color(&BLACK),
            )))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(match fig.legend {
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::MiddleRight => SeriesLabelPosition::MiddleRight,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
        })
        .margin(12)
        .label_font((FAMILY, 15).into_font())
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(190, 190, 190))
        .draw()
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_ticks_fall_on_whole_hours() {
        let lo = SimTime::from_ymd(2001, 7, 19).secs() + 10.0 * HOUR;
        let hi = lo + 20.0 * HOUR;
        let t = utc_ticks(lo, hi);
        assert_eq!(t.len(), 11, "10:00 to 06:00 every 2 h, both ends");
        assert!(t.iter().all(|x| x.rem_euclid(2.0 * HOUR) == 0.0));
        assert_eq!(utc_label(t[0], t[0]), "Jul 19 10:00");
        assert_eq!(utc_label(t[1], t[0]), "12:00");
        assert_eq!(utc_label(t[7], t[0]), "Jul 20 00:00");
    }

    #[test]
    fn tick_labels() {
        assert_eq!(tick_label(0.0), "0");
        assert_eq!(tick_label(350_000.0), "350,000");
        assert_eq!(tick_label(2_500_000.0), "2.5M");
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(1.5), "1.5");
    }
}
