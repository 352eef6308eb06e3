//! Line charts as data, and their rendering to PNG or SVG bytes.
//!
//! A [`Chart`] says what to draw; [`render`] draws it. Nothing here reads the clock or the
//! environment, so the same chart always gives the same bytes.

use std::fmt::Display;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::data::float::FloatPrettyPrinter;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::font;

/// Figure size in pixels: wide enough for a legend beside 300 epochs of curves.
pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 540;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FigureFormat {
    Png,
    Svg,
}

impl FigureFormat {
    pub fn extension(self) -> &'static str {
        match self {
            FigureFormat::Png => "png",
            FigureFormat::Svg => "svg",
        }
    }
}

/// One curve, optionally with a band around it (mean ± std over seeds).
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub label: String,
    /// (x, y) in drawing order.
    pub points: Vec<(f64, f64)>,
    /// (x, low, high), same x as `points`.
    pub band: Option<Vec<(f64, f64, f64)>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// A fixed y range (accuracy is 0..1); `None` fits the data.
    pub y_range: Option<(f64, f64)>,
    pub lines: Vec<Line>,
    /// Draw each line's points as dots, unconnected (a scatter plot).
    pub points_only: bool,
}

impl Chart {
    fn x_range(&self) -> (f64, f64) {
        let xs = self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
        let (lo, hi) = min_max(xs).unwrap_or((0.0, 1.0));
        // A scatter gets a margin on both sides, so that no marker is cut at the frame.
        let (lo, hi) = if self.points_only {
            (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
        } else {
            (lo.min(0.0), hi)
        };
        (lo, if hi > lo { hi } else { lo + 1.0 })
    }

    fn y_range(&self) -> (f64, f64) {
        if let Some(r) = self.y_range {
            return r;
        }
        let ys = self.lines.iter().flat_map(|l| {
            let band = l.band.iter().flatten().flat_map(|b| [b.1, b.2]);
            l.points.iter().map(|p| p.1).chain(band)
        });
        match min_max(ys) {
            Some((lo, hi)) => {
                let lo = if self.points_only {
                    lo - 0.05 * (hi - lo)
                } else {
                    lo.min(0.0)
                };
                let pad = ((hi - lo) * 0.05).max(1e-6);
                (lo, hi + pad)
            }
            None => (0.0, 1.0),
        }
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Draws `chart` and encodes it in `format`.
pub fn render(chart: &Chart, format: FigureFormat) -> Result<Vec<u8>> {
    font::ensure_registered()?;
    match format {
        FigureFormat::Png => {
            let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
            {
                let root =
                    BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
                draw(&root, chart)?;
                root.present().map_err(drawing(&chart.title))?;
            }
            encode_png(rgb)
        }
        FigureFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
                draw(&root, chart)?;
                root.present().map_err(drawing(&chart.title))?;
            }
            Ok(svg.into_bytes())
        }
    }
}

/// PNG through the `image` crate: no timestamps or other metadata, so equal pixels give equal bytes.
fn encode_png(rgb: Vec<u8>) -> Result<Vec<u8>> {
    let img = image::RgbImage::from_raw(WIDTH, HEIGHT, rgb)
        .context("figure buffer has the wrong size for its dimensions")?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .context("encoding figure as PNG")?;
    Ok(out.into_inner())
}

/// Colours that stay visible on white and apart from each other (Tableau 10, matplotlib's
/// default cycle). Plotters' `Palette99` has yellows and near-white pastels that vanish.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Scatter markers: with more groups than colours (30 identities in a projection) the shape
/// tells apart the groups that share a colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    Circle,
    Triangle,
    Square,
    Diamond,
}

const MARKERS: [Marker; 4] = [
    Marker::Circle,
    Marker::Triangle,
    Marker::Square,
    Marker::Diamond,
];

impl Marker {
    /// The filled outline, in pixels around the point: 8 to 10 px across.
    fn outline(self) -> Vec<(i32, i32)> {
        match self {
            Marker::Circle => (0..12)
                .map(|k| {
                    let a = f64::from(k) * std::f64::consts::PI / 6.0;
                    (
                        (4.0 * a.cos()).round() as i32,
                        (4.0 * a.sin()).round() as i32,
                    )
                })
                .collect(),
            Marker::Triangle => vec![(0, -5), (5, 4), (-5, 4)],
            Marker::Square => vec![(-4, -4), (4, -4), (4, 4), (-4, 4)],
            Marker::Diamond => vec![(0, -5), (5, 0), (0, 5), (-5, 0)],
        }
    }
}

/// The colour and scatter marker of line `i`: distinct for the first 40 lines.
fn style_of(i: usize) -> (RGBColor, Marker) {
    (
        PALETTE[i % PALETTE.len()],
        MARKERS[(i / PALETTE.len()) % MARKERS.len()],
    )
}

/// How line `i` is stroked: the first 10 lines solid, the next 10 dashed, the next dotted, so
/// that curves sharing a colour stay apart (a lab of 14 runs in one comparison figure).
fn dash_of(i: usize) -> Option<(u32, u32)> {
    const DASHES: [Option<(u32, u32)>; 3] = [None, Some((9, 5)), Some((2, 4))];
    DASHES[(i / PALETTE.len()) % DASHES.len()]
}

/// Iterations and epochs are counts: `10`, not `10.0` (a short axis still gets `2.5`).
fn whole_or_tenths(x: f64) -> String {
    let s = if x.fract().abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    };
    without_negative_zero(s)
}

/// A value tick as plotters writes it (`0.18`, `1.0`), except that a key point that lands a
/// rounding error below zero reads `0.0`, not `-0.0`.
fn value_tick(y: f64) -> String {
    let printer = FloatPrettyPrinter {
        allow_scientific: false,
        min_decimal: 1,
        max_decimal: 5,
    };
    without_negative_zero(printer.print(y))
}

/// `-0`, `-0.0` → `0`, `0.0`; anything else unchanged.
fn without_negative_zero(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// Where a legend can go, in order of preference among equally clear places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Corner {
    UpperRight,
    LowerRight,
    UpperLeft,
    LowerLeft,
}

impl Corner {
    const ALL: [Corner; 4] = [
        Corner::UpperRight,
        Corner::LowerRight,
        Corner::UpperLeft,
        Corner::LowerLeft,
    ];

    fn position(self) -> SeriesLabelPosition {
        match self {
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
        }
    }

    /// The legend box (x0, y0, x1, y1) in the plotting area's pixels, y down, laid out as
    /// plotters lays it: 5 px from the two edges of the corner.
    fn rect(self, area: (u32, u32), legend: (i32, i32)) -> (f64, f64, f64, f64) {
        let (w, h) = (f64::from(area.0), f64::from(area.1));
        let (lw, lh) = (f64::from(legend.0), f64::from(legend.1));
        let x0 = match self {
            Corner::UpperLeft | Corner::LowerLeft => 5.0,
            Corner::UpperRight | Corner::LowerRight => w - lw - 5.0,
        };
        let y0 = match self {
            Corner::UpperLeft | Corner::UpperRight => 5.0,
            Corner::LowerLeft | Corner::LowerRight => h - lh - 5.0,
        };
        (x0, y0, x0 + lw, y0 + lh)
    }
}

/// The corner where a legend box of `legend` pixels covers the fewest points of the drawn
/// curves and bands: upper right above a falling loss, lower right under a rising accuracy, the
/// first of [`Corner::ALL`] among equals.
fn legend_corner(chart: &Chart, area: (u32, u32), legend: (i32, i32)) -> Corner {
    let drawn = drawn_pixels(chart, area);
    let covered = |c: Corner| {
        // A few pixels of clearance: a curve grazing the border is covered too.
        let (x0, y0, x1, y1) = c.rect(area, legend);
        let pad = 3.0;
        drawn
            .iter()
            .filter(|p| p.0 >= x0 - pad && p.0 <= x1 + pad && p.1 >= y0 - pad && p.1 <= y1 + pad)
            .count()
    };
    Corner::ALL
        .into_iter()
        .min_by_key(|&c| covered(c))
        .unwrap_or(Corner::UpperRight)
}

/// Points along every curve and band edge of `chart`, in the pixels of a plotting area of
/// `area` (y down), at most 2 px apart along each segment.
fn drawn_pixels(chart: &Chart, area: (u32, u32)) -> Vec<(f64, f64)> {
    let (x0, x1) = chart.x_range();
    let (y0, y1) = chart.y_range();
    let (w, h) = (f64::from(area.0), f64::from(area.1));
    let to_pixel = |(x, y): (f64, f64)| ((x - x0) / (x1 - x0) * w, (y1 - y) / (y1 - y0) * h);
    let mut out = Vec::new();
    for line in &chart.lines {
        let mut paths = vec![line.points.clone()];
        if let Some(band) = &line.band {
            paths.push(band.iter().map(|b| (b.0, b.1)).collect());
            paths.push(band.iter().map(|b| (b.0, b.2)).collect());
        }
        for path in paths {
            let pixels: Vec<(f64, f64)> = path
                .into_iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .map(to_pixel)
                .collect();
            out.extend(pixels.first().copied());
            for seg in pixels.windows(2) {
                let (a, b) = (seg[0], seg[1]);
                let steps = ((b.0 - a.0).hypot(b.1 - a.1) / 2.0).ceil().max(1.0) as usize;
                out.extend((1..=steps).map(|k| {
                    let t = k as f64 / steps as f64;
                    (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
                }));
            }
        }
    }
    out
}

fn drawing<E: Display>(title: &str) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow!("drawing figure '{title}': {e}")
}

/// The legend's line sample and margin, in pixels (plotters' defaults, set explicitly because
/// [`legend_corner`] sizes the box from them).
const LEGEND_SAMPLE: i32 = 30;
const LEGEND_MARGIN: i32 = 10;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<()> {
    let err = drawing(&chart.title);
    root.fill(&WHITE).map_err(&err)?;
    let (x0, x1) = chart.x_range();
    let (y0, y1) = chart.y_range();
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, (font::FAMILY, 22))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(&err)?;
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_label_formatter(&|x| whole_or_tenths(*x))
        .y_label_formatter(&|y| value_tick(*y))
        .label_style((font::FAMILY, 13))
        .axis_desc_style((font::FAMILY, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(&err)?;

    for (i, line) in chart.lines.iter().enumerate() {
        let (color, marker) = style_of(i);
        if let Some(band) = &line.band {
            let outline: Vec<(f64, f64)> = band
                .iter()
                .map(|b| (b.0, b.2))
                .chain(band.iter().rev().map(|b| (b.0, b.1)))
                .collect();
            ctx.draw_series(std::iter::once(Polygon::new(
                outline,
                color.mix(0.2).filled(),
            )))
            .map_err(&err)?;
        }
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .copied()
            .filter(|p| p.1.is_finite())
            .collect();
        let style = color.stroke_width(2);
        if chart.points_only {
            let outline = marker.outline();
            let dots = points
                .iter()
                .map(|&p| EmptyElement::at(p) + Polygon::new(outline.clone(), color.filled()));
            let drawn = ctx.draw_series(dots).map_err(&err)?;
            if !line.label.is_empty() {
                drawn.label(&line.label).legend(move |(x, y)| {
                    EmptyElement::at((x + 10, y)) + Polygon::new(outline.clone(), color.filled())
                });
            }
        } else if points.len() == 1 {
            ctx.draw_series(std::iter::once(Circle::new(points[0], 3, style.filled())))
                .map_err(&err)?
                .label(&line.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        } else if let Some((dash, gap)) = dash_of(i) {
            ctx.draw_series(DashedLineSeries::new(points, dash, gap, style))
                .map_err(&err)?
                .label(&line.label)
                .legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 20, y)], dash, gap, style)
                });
        } else {
            ctx.draw_series(LineSeries::new(points, style))
                .map_err(&err)?
                .label(&line.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
    }
    let labels: Vec<&str> = chart
        .lines
        .iter()
        .map(|l| l.label.as_str())
        .filter(|l| !l.is_empty())
        .collect();
    if !labels.is_empty() {
        let label_font: TextStyle = (font::FAMILY, 13).into_font().into();
        let mut text = MultiLineText::<_, &str>::new((0, 0), label_font.clone());
        labels.iter().for_each(|l| text.push_line(*l));
        let (w, h) = text
            .estimate_dimension()
            .map_err(|e| anyhow!("measuring the legend of figure '{}': {e}", chart.title))?;
        // Plotters' legend box: the text, a 30 px sample of the line and 10 px margins.
        let legend = (w + LEGEND_SAMPLE + 2 * LEGEND_MARGIN, h + 2 * LEGEND_MARGIN);
        let area = ctx.plotting_area().dim_in_pixel();
        ctx.configure_series_labels()
            .position(legend_corner(chart, area, legend).position())
            .legend_area_size(LEGEND_SAMPLE)
            .margin(LEGEND_MARGIN)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font(label_font)
            .draw()
            .map_err(&err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(y_range: Option<(f64, f64)>, points: Vec<(f64, f64)>) -> Chart {
        Chart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            y_range,
            lines: vec![Line {
                label: "curve".into(),
                points,
                band: None,
            }],
            points_only: false,
        }
    }

    #[test]
    fn the_legend_goes_where_the_curves_are_not() {
        // The plotting area of a 900 × 540 figure and a one-line legend (both about as drawn).
        let (area, legend) = ((820, 440), (200, 35));
        // A loss falling to its floor at the right (run 5): the lower right is taken.
        let loss: Vec<(f64, f64)> = (0..=1700)
            .map(|i| (f64::from(i), 0.19 * (-f64::from(i) / 300.0).exp() + 0.01))
            .collect();
        assert_eq!(
            legend_corner(&chart(None, loss.clone()), area, legend),
            Corner::UpperRight
        );
        // An accuracy rising to 0.98 on a 0..1 axis: the upper right is taken.
        let acc: Vec<(f64, f64)> = (0..=90)
            .map(|e| (f64::from(e), 0.98 * (1.0 - (-f64::from(e) / 10.0).exp())))
            .collect();
        assert_eq!(
            legend_corner(&chart(Some((0.0, 1.0)), acc), area, legend),
            Corner::LowerRight
        );
        // Both right corners taken (a flat line high and one low): a left corner, and the
        // two-point line between them counts along its length, not only at its ends.
        let mut both = chart(Some((0.0, 1.0)), vec![(50.0, 0.98), (100.0, 0.98)]);
        both.lines.push(Line {
            label: "low".into(),
            points: vec![(0.0, 0.02), (100.0, 0.02)],
            band: None,
        });
        assert_eq!(legend_corner(&both, area, legend), Corner::UpperLeft);
    }

    /// WCAG contrast ratio of a colour against white.
    fn contrast_with_white(c: RGBColor) -> f64 {
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        let l = 0.2126 * lin(c.0) + 0.7152 * lin(c.1) + 0.0722 * lin(c.2);
        1.05 / (l + 0.05)
    }

    #[test]
    fn colours_stand_out_on_white_and_from_each_other() {
        // 30 identities in a projection (the 20-30 pool's dev + test).
        let styles: Vec<(RGBColor, Marker)> = (0..30).map(style_of).collect();
        for (i, (c, _)) in styles.iter().enumerate() {
            // Palette99's yellow (255, 225, 25) scores 1.3 and its pastels about 1.1.
            assert!(
                contrast_with_white(*c) >= 2.0,
                "style {i}: {c:?} is too pale on white"
            );
        }
        for (i, a) in PALETTE.iter().enumerate() {
            for b in &PALETTE[i + 1..] {
                let d = [(a.0, b.0), (a.1, b.1), (a.2, b.2)]
                    .iter()
                    .map(|&(x, y)| (f64::from(x) - f64::from(y)).powi(2))
                    .sum::<f64>()
                    .sqrt();
                assert!(d >= 60.0, "{a:?} and {b:?} are too alike");
            }
        }
        for (i, s) in styles.iter().enumerate() {
            assert!(!styles[..i].contains(s), "style {i} repeats an earlier one");
        }
        // Lines: colour and stroke together never repeat within 30 lines.
        let lines: Vec<(RGBColor, Option<(u32, u32)>)> =
            (0..30).map(|i| (style_of(i).0, dash_of(i))).collect();
        for (i, l) in lines.iter().enumerate() {
            assert!(
                !lines[..i].contains(l),
                "line {i} looks like an earlier one"
            );
        }
    }

    #[test]
    fn a_scatter_has_room_on_every_side_and_curves_start_at_zero() {
        let mut c = chart(None, vec![(2.0, 1.0), (8.0, 3.0)]);
        assert_eq!(c.x_range(), (0.0, 8.0));
        c.points_only = true;
        let ((x0, x1), (y0, y1)) = (c.x_range(), c.y_range());
        assert!(x0 < 2.0 && x0 > 0.0 && x1 > 8.0, "{x0}..{x1}");
        assert!(y0 < 1.0 && y1 > 3.0, "{y0}..{y1}");
    }

    #[test]
    fn ticks_never_read_negative_zero() {
        // A key point a rounding error below zero, as plotters computes them.
        assert_eq!(value_tick(-2.775_557_561_562_891_4e-17), "0.0");
        assert_eq!(value_tick(-0.2), "-0.2");
        assert_eq!(value_tick(0.18), "0.18");
        assert_eq!(whole_or_tenths(-1e-17), "0");
        assert_eq!(whole_or_tenths(-0.04), "0.0");
        assert_eq!(whole_or_tenths(-0.8), "-0.8");
        assert_eq!(whole_or_tenths(250.0), "250");
    }
}
