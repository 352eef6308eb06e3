//! Line charts as data, and their rendering to PNG or SVG bytes.
//!
//! A [`Chart`] says what to draw; [`render`] draws it. Nothing here reads the clock or the
//! environment, so the same chart always gives the same bytes.

use std::fmt::Display;
use std::ops::Range;

use anyhow::{anyhow, Context, Result};
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::data::float::FloatPrettyPrinter;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::font;

/// Figure size in pixels: a plot wide enough for 300 epochs of curves; a legend that finds no
/// room inside the plot goes below it.
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
    /// A curve that can coincide with the one before it (dev accuracy against centroids and
    /// against seed images, both 1.0): drawn dashed over it, a lone point as a ring, so that
    /// both stay visible where they are equal.
    pub secondary: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// A fixed y range (accuracy is 0..1); `None` fits the data.
    pub y_range: Option<(f64, f64)>,
    pub lines: Vec<Line>,
    /// Curves, or a scatter of markers.
    pub marks: Marks,
    /// A logarithmic x axis spanning the positive x of the lines; points at x ≤ 0 are not drawn.
    pub log_x: bool,
    /// One scale on both axes (as many pixels to a unit across as up), as a projection needs:
    /// axes fitted apart stretch a cloud 200 times wider than tall into a round one.
    pub equal_scale: bool,
    /// Horizontal reference lines across the whole plot (chance), drawn under the lines in grey.
    pub guides: Vec<Guide>,
}

/// A horizontal reference line at `y` across the plot, dashed grey, named in the legend after
/// the lines: what guessing scores, which a curve near it has not beaten.
#[derive(Clone, Debug, PartialEq)]
pub struct Guide {
    pub label: String,
    pub y: f64,
}

/// The colour of a [`Guide`]: apart from every colour of [`PALETTE`] (its grey is a shade
/// darker than the palette's).
const GUIDE_COLOR: RGBColor = RGBColor(90, 90, 90);
/// A guide's dash and gap: shorter than a secondary curve's, so that the two read apart.
const GUIDE_DASH: (u32, u32) = (4, 4);

/// How a chart draws its lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marks {
    /// Connected curves: solid, then dashed, then dotted as the colours repeat.
    Curves,
    /// Unconnected markers of two sets per group: lines `2k` (filled) and `2k + 1` (hollow)
    /// share group `k`'s colour and shape, e.g. one identity's dev and test images.
    FilledAndHollow,
}

impl Chart {
    /// Whether the lines are drawn as unconnected markers.
    fn is_scatter(&self) -> bool {
        self.marks != Marks::Curves
    }

    /// The colour of line `i` (its group's, in a [`Marks::FilledAndHollow`] chart).
    fn color_of(&self, i: usize) -> RGBColor {
        style_of(self.group_of(i)).0
    }

    /// The colour of line `i`'s legend sample: its own, or in a [`Marks::FilledAndHollow`]
    /// chart, whose entries name the two sets across all groups, a neutral grey.
    fn legend_color_of(&self, i: usize) -> RGBColor {
        match self.marks {
            Marks::FilledAndHollow => RGBColor(90, 90, 90),
            Marks::Curves => self.color_of(i),
        }
    }

    /// The style index of line `i`: `i`, or its group in a [`Marks::FilledAndHollow`] chart.
    fn group_of(&self, i: usize) -> usize {
        match self.marks {
            Marks::FilledAndHollow => i / 2,
            Marks::Curves => i,
        }
    }

    fn x_range(&self) -> (f64, f64) {
        let xs = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().filter(|&&p| self.drawable(p)).map(|p| p.0));
        let (lo, hi) = min_max(xs).unwrap_or(if self.log_x { (0.1, 1.0) } else { (0.0, 1.0) });
        if self.log_x {
            // The chart's maker puts the points it cannot draw (a ROC's FAR 0) where the axis
            // should start. A hair wider than the data, so that the ticks on its ends survive
            // rounding: plotters' first tick is 10^ceil(ln lo / ln 10), and ln 10⁻⁴ / ln 10 is
            // -3.9999999999999996.
            return (lo * (1.0 - 1e-9), hi.max(lo * 10.0) * (1.0 + 1e-9));
        }
        // A scatter gets a margin on both sides, so that no marker is cut at the frame.
        if self.is_scatter() {
            let (lo, hi) = (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo));
            return (lo, if hi > lo { hi } else { lo + 1.0 });
        }
        // Curves start at zero, with room past their last point (3 %, and half a count at
        // least) so that it is not drawn on the frame (a run of one epoch has one dev point,
        // at its end); left of zero too where a point lies at zero (a zero-shot run's epoch 0).
        let start = lo.min(0.0);
        let end = if hi > start { hi } else { start + 1.0 };
        let room = (0.03 * (end - start)).max(0.5);
        let start = if lo <= start { start - room } else { start };
        (start, end + room)
    }

    /// The most x ticks plotters may place: on an axis of counts (iterations, epochs), no more
    /// than the whole numbers it spans, so that they fall on whole numbers and not on halves
    /// (`0.5`, `1.5` under a run of two epochs); plotters' default of 10 on other axes.
    fn x_tick_count(&self) -> usize {
        const PLOTTERS_DEFAULT: usize = 10;
        if self.log_x || self.is_scatter() {
            return PLOTTERS_DEFAULT;
        }
        let (lo, hi) = self.x_range();
        let whole = (hi.floor() - lo.ceil() + 1.0).max(1.0);
        (whole as usize).min(PLOTTERS_DEFAULT)
    }

    /// The x and y ranges as drawn in a plotting area of `area` pixels: [`Chart::x_range`] and
    /// [`Chart::y_range`], on an [`Chart::equal_scale`] chart the one with fewer units to a
    /// pixel widened about its middle to the other's scale.
    fn ranges(&self, area: (u32, u32)) -> ((f64, f64), (f64, f64)) {
        let (x, y) = (self.x_range(), self.y_range());
        if !self.equal_scale || self.log_x {
            return (x, y);
        }
        let (w, h) = (f64::from(area.0.max(1)), f64::from(area.1.max(1)));
        let per_pixel = ((x.1 - x.0) / w).max((y.1 - y.0) / h);
        let widen = |(lo, hi): (f64, f64), pixels: f64| {
            let (mid, half) = ((lo + hi) / 2.0, per_pixel * pixels / 2.0);
            (mid - half, mid + half)
        };
        (widen(x, w), widen(y, h))
    }

    /// The points of `line` that can be drawn, in order.
    fn drawn_points(&self, line: &Line) -> Vec<(f64, f64)> {
        let points = line.points.iter().copied();
        points.filter(|&p| self.drawable(p)).collect()
    }

    /// Whether point `p` can be drawn: finite, and right of zero on a log axis.
    fn drawable(&self, p: (f64, f64)) -> bool {
        p.0.is_finite() && p.1.is_finite() && (!self.log_x || p.0 > 0.0)
    }

    /// Where `x` lies along the x axis `range`: 0 at its left end, 1 at its right.
    fn x_fraction(&self, x: f64, (x0, x1): (f64, f64)) -> f64 {
        if self.log_x {
            (x / x0).ln() / (x1 / x0).ln()
        } else {
            (x - x0) / (x1 - x0)
        }
    }

    /// An x tick: a power of ten on a log axis, a value on a scatter's, a count of iterations
    /// or epochs otherwise.
    fn x_tick(&self, x: f64) -> String {
        if self.log_x {
            power_of_ten(x)
        } else if self.is_scatter() {
            value_tick(x)
        } else {
            whole_or_tenths(x)
        }
    }

    fn y_range(&self) -> (f64, f64) {
        if let Some(r) = self.y_range {
            return r;
        }
        let ys = self.lines.iter().flat_map(|l| {
            let band = l.band.iter().flatten().flat_map(|b| [b.1, b.2]);
            l.points.iter().map(|p| p.1).chain(band)
        });
        match min_max(ys.chain(self.guides.iter().map(|g| g.y))) {
            Some((lo, hi)) => {
                let lo = if self.is_scatter() {
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
    let layout = Layout::of(chart)?;
    let (width, height) = layout.size;
    match format {
        FigureFormat::Png => {
            let mut rgb = vec![0u8; (width * height * 3) as usize];
            {
                // Text drawn by the font module, evenly spaced (plotters' own loses bearings).
                let bitmap = BitMapBackend::with_buffer(&mut rgb, (width, height));
                let root = font::Typeset(bitmap).into_drawing_area();
                draw(&root, chart, layout.legend)?;
                root.present().map_err(drawing(&chart.title))?;
            }
            encode_png(rgb, layout.size)
        }
        FigureFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
                draw(&root, chart, layout.legend)?;
                root.present().map_err(drawing(&chart.title))?;
            }
            Ok(svg.into_bytes())
        }
    }
}

/// PNG through the `image` crate: no timestamps or other metadata, so equal pixels give equal bytes.
fn encode_png(rgb: Vec<u8>, (width, height): (u32, u32)) -> Result<Vec<u8>> {
    let img = image::RgbImage::from_raw(width, height, rgb)
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
    /// The outline as a closed path, for a hollow marker.
    fn ring(self) -> Vec<(i32, i32)> {
        let mut path = self.outline();
        path.extend(path.first().copied());
        path
    }

    /// [`Marker::ring`] twice as wide: 16 to 20 px across.
    fn halo(self) -> Vec<(i32, i32)> {
        self.ring()
            .into_iter()
            .map(|(x, y)| (2 * x, 2 * y))
            .collect()
    }

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

/// How many lines a chart can draw in colours of their own, each solid: the comparison figure
/// draws no more curves than this (past it, colours repeat and only dashes tell curves apart,
/// which a reader matching 47 legend entries to curves cannot do).
pub const DISTINCT_COLOURS: usize = PALETTE.len();

/// How line `i` is stroked: the first 10 lines solid, the next 10 dashed, then dotted, short
/// dashes and long dashes (each tells in a legend's short sample too), so that curves sharing
/// a colour stay apart: no two of 50 lines look alike. Only a chart of more than
/// [`DISTINCT_COLOURS`] lines dashes any.
fn dash_of(i: usize) -> Option<(u32, u32)> {
    const DASHES: [Option<(u32, u32)>; 5] = [
        None,
        Some((9, 5)),
        Some((2, 4)),
        Some((4, 2)),
        Some((16, 4)),
    ];
    DASHES[(i / PALETTE.len()) % DASHES.len()]
}

/// The dash and gap of a [`Line::secondary`] curve: long enough gaps that the curve under it
/// shows between its dashes.
const SECONDARY_DASH: (u32, u32) = (6, 6);

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

/// A tick of a log axis: `10⁻³`, `1`, `10²` (ticks sit on powers of ten).
fn power_of_ten(x: f64) -> String {
    let exponent = x.log10().round() as i32;
    if exponent == 0 {
        return "1".into();
    }
    let superscript: String = exponent
        .to_string()
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'][d as usize],
            None => '⁻',
        })
        .collect();
    format!("10{superscript}")
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

/// Where a legend goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LegendPlace {
    /// In a corner of the plotting area that nothing drawn comes within [`LEGEND_CLEARANCE`] of.
    Inside(Corner),
    /// Under the chart, the figure lengthened to hold it: no corner is that clear (10 runs'
    /// accuracies climbing through the whole chart, or curves through both upper corners over a
    /// dev-chance guide along the lower ones), and a box there would hide what is drawn or seem
    /// to lie on it. Below rather than beside, so that the figure keeps its width and a page
    /// that shows it at that width does not shrink the plot and its text to make room for long
    /// entries.
    Below,
}

/// A legend box: where it goes and its size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Legend {
    place: LegendPlace,
    size: (i32, i32),
}

/// How many pixels a legend box keeps between its border and the ink of anything drawn: a curve
/// that passes a few pixels from the box (a ROC's chance curve, 9 px from the corner of a box in
/// the lower right) reads as running under it.
const LEGEND_CLEARANCE: f64 = 10.0;

/// The place for a legend box of `legend` pixels in a plotting area of `area` pixels: the first
/// corner of [`Corner::ALL`] where the box, widened by [`LEGEND_CLEARANCE`], touches no [`Ink`]
/// (upper right above a falling loss; upper left over a rising accuracy, whose dev-chance
/// guide, a few pixels over the axis, comes too near either lower corner, and lower right under
/// one with no guide), or below the chart when no corner keeps that clear.
fn legend_place(chart: &Chart, area: (u32, u32), legend: (i32, i32)) -> LegendPlace {
    let ink = drawn_ink(chart, area);
    let clear = |c: Corner| {
        let (x0, y0, x1, y1) = c.rect(area, legend);
        !ink.iter().any(|i| {
            let pad = i.reach + LEGEND_CLEARANCE;
            i.x >= x0 - pad && i.x <= x1 + pad && i.bottom >= y0 - pad && i.top <= y1 + pad
        })
    };
    Corner::ALL
        .into_iter()
        .find(|&c| clear(c))
        .map_or(LegendPlace::Below, LegendPlace::Inside)
}

/// What a chart draws somewhere in its plotting area, in pixels (y down): the column `x` from
/// `top` to `bottom` (one pixel of a curve, or the height of a band there), and `reach` pixels
/// more on every side (half a curve's stroke, a marker's radius).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ink {
    x: f64,
    top: f64,
    bottom: f64,
    reach: f64,
}

impl Ink {
    /// Ink at one point.
    fn at((x, y): (f64, f64), reach: f64) -> Ink {
        Ink {
            x,
            top: y,
            bottom: y,
            reach,
        }
    }
}

/// The [`Ink`] of `chart` in a plotting area of `area` pixels: guides across it, every curve
/// at most 2 px apart along each segment, a lone point or a scatter's markers as wide as
/// drawn, and every column of a band's fill between its edges.
fn drawn_ink(chart: &Chart, area: (u32, u32)) -> Vec<Ink> {
    let (x_range, (y0, y1)) = chart.ranges(area);
    let (w, h) = (f64::from(area.0), f64::from(area.1));
    let x_pixel = |x: f64| chart.x_fraction(x, x_range) * w;
    let y_pixel = |y: f64| (y1 - y) / (y1 - y0) * h;
    // Points every 2 px or less from `a` to `b`, `b` included.
    let along = |a: (f64, f64), b: (f64, f64)| {
        let steps = ((b.0 - a.0).hypot(b.1 - a.1) / 2.0).ceil().max(1.0) as usize;
        (1..=steps).map(move |k| {
            let t = k as f64 / steps as f64;
            (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        })
    };
    let mut out = Vec::new();
    // A guide: a 1-px dashed line from one side to the other.
    for g in &chart.guides {
        let y = y_pixel(g.y);
        out.push(Ink::at((0.0, y), 1.0));
        out.extend(along((0.0, y), (w, y)).map(|p| Ink::at(p, 1.0)));
    }
    for (i, line) in chart.lines.iter().enumerate() {
        let pixels: Vec<(f64, f64)> = chart
            .drawn_points(line)
            .into_iter()
            .map(|(x, y)| (x_pixel(x), y_pixel(y)))
            .collect();
        let reach = Stroke::of(chart, i, pixels.len()).reach();
        out.extend(pixels.first().map(|&p| Ink::at(p, reach)));
        if chart.is_scatter() {
            out.extend(pixels.iter().skip(1).map(|&p| Ink::at(p, reach)));
        } else {
            for seg in pixels.windows(2) {
                out.extend(along(seg[0], seg[1]).map(|p| Ink::at(p, reach)));
            }
        }
        // A band: its fill from the upper edge to the lower, column by column.
        let band: Vec<(f64, f64, f64)> = line
            .band
            .iter()
            .flatten()
            .filter(|b| chart.drawable((b.0, b.1)) && chart.drawable((b.0, b.2)))
            .map(|&(x, low, high)| (x_pixel(x), y_pixel(high), y_pixel(low)))
            .collect();
        let column = |(x, top, bottom): (f64, f64, f64)| Ink {
            x,
            top: top.min(bottom),
            bottom: top.max(bottom),
            reach: 0.0,
        };
        out.extend(band.first().map(|&b| column(b)));
        for seg in band.windows(2) {
            let (a, b) = (seg[0], seg[1]);
            let steps = ((b.0 - a.0).abs() / 2.0).ceil().max(1.0) as usize;
            out.extend((1..=steps).map(|k| {
                let t = k as f64 / steps as f64;
                let mix = |p: f64, q: f64| p + t * (q - p);
                column((mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2)))
            }));
        }
    }
    out
}

fn drawing<E: Display>(title: &str) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow!("drawing figure '{title}': {e}")
}

/// The legend's line sample and margin, in pixels (plotters' defaults, set explicitly because
/// [`legend_size`] sizes the box from them).
const LEGEND_SAMPLE: i32 = 30;
const LEGEND_MARGIN: i32 = 10;
/// The blank border around the chart, and under a legend below it.
const MARGIN: u32 = 14;

fn legend_font() -> TextStyle<'static> {
    (font::FAMILY, 13).into_font().into()
}

/// The widest a legend's text may be: a legend box of it fits the width of a plain figure.
const LEGEND_TEXT_WIDTH: u32 = WIDTH - 2 * MARGIN - LEGEND_SAMPLE as u32 - 2 * LEGEND_MARGIN as u32;

/// Where the settings of a legend entry part (`#41: resnet18 · 224px`): a long entry is
/// wrapped after one of them rather than inside one.
const SEPARATOR: &str = " · ";

/// What a row of the legend is: the first row of a line's or a guide's entry, which has its
/// sample beside it, or a row that goes on with an entry too long for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Row {
    Line(usize),
    Guide(usize),
    More,
}

/// The legend's rows: an entry for each labelled line, then each guide, each wrapped to
/// [`LEGEND_TEXT_WIDTH`], its further rows indented.
fn legend_rows(chart: &Chart) -> Result<Vec<(Row, String)>> {
    let lines = chart
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| (Row::Line(i), &l.label));
    let guides = chart
        .guides
        .iter()
        .enumerate()
        .map(|(i, g)| (Row::Guide(i), &g.label));
    let mut rows = Vec::new();
    for (row, label) in lines.chain(guides).filter(|(_, l)| !l.is_empty()) {
        let wrapped = wrap_label(label, LEGEND_TEXT_WIDTH)
            .map_err(|e| anyhow!("measuring the legend of figure '{}': {e}", chart.title))?;
        for (k, text) in wrapped.into_iter().enumerate() {
            rows.push(if k == 0 {
                (row, text)
            } else {
                (Row::More, text)
            });
        }
    }
    Ok(rows)
}

/// `label` in rows no wider than `width` pixels in the legend's font: broken after a
/// [`SEPARATOR`] where one comes in time, else at a space (a word wider than a row stands
/// alone); rows after the first indented.
fn wrap_label(label: &str, width: u32) -> Result<Vec<String>> {
    let font = legend_font().font;
    let fits = |s: &str| -> Result<bool> {
        let (w, _) = font.box_size(s).map_err(|e| anyhow!("{e}"))?;
        Ok(w <= width)
    };
    if fits(label)? {
        return Ok(vec![label.to_string()]);
    }
    const INDENT: &str = "      ";
    // Pieces that end where a break may come: after each separator, else after each word.
    let parts: Vec<String> = {
        let segments: Vec<&str> = label.split(SEPARATOR).collect();
        let n = segments.len();
        segments
            .into_iter()
            .enumerate()
            .map(|(k, seg)| {
                if k + 1 < n {
                    format!("{seg}{}", SEPARATOR.trim_end())
                } else {
                    seg.to_string()
                }
            })
            .collect()
    };
    let mut rows: Vec<String> = Vec::new();
    let mut row = String::new();
    for part in parts {
        let joined = if row.is_empty() {
            part.clone()
        } else {
            format!("{row} {part}")
        };
        let indent = if rows.is_empty() { "" } else { INDENT };
        if row.is_empty() || fits(&format!("{indent}{joined}"))? {
            row = joined;
            continue;
        }
        rows.push(format!("{indent}{row}"));
        row = part;
    }
    if !row.is_empty() {
        let indent = if rows.is_empty() { "" } else { INDENT };
        rows.push(format!("{indent}{row}"));
    }
    // A row still too wide (a single setting longer than a row): broken at its spaces.
    let mut out = Vec::new();
    for r in rows {
        if fits(&r)? {
            out.push(r);
            continue;
        }
        let mut line = String::new();
        for word in r.split(' ').filter(|w| !w.is_empty()) {
            let indent = if out.is_empty() { "" } else { INDENT };
            let joined = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if line.is_empty() || fits(&format!("{indent}{joined}"))? {
                line = joined;
            } else {
                out.push(format!("{indent}{line}"));
                line = word.to_string();
            }
        }
        if !line.is_empty() {
            let indent = if out.is_empty() { "" } else { INDENT };
            out.push(format!("{indent}{line}"));
        }
    }
    Ok(out)
}

/// The legend box's size in pixels as plotters lays it out (the text, a line sample and
/// margins); `None` when no line has a label.
fn legend_size(chart: &Chart) -> Result<Option<(i32, i32)>> {
    let rows = legend_rows(chart)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut text = MultiLineText::<_, &str>::new((0, 0), legend_font());
    rows.iter().for_each(|(_, l)| text.push_line(l.as_str()));
    let (w, h) = text
        .estimate_dimension()
        .map_err(|e| anyhow!("measuring the legend of figure '{}': {e}", chart.title))?;
    Ok(Some((
        w + LEGEND_SAMPLE + 2 * LEGEND_MARGIN,
        h + 2 * LEGEND_MARGIN,
    )))
}

/// A figure's size and its legend, decided before drawing: a legend below the chart lengthens
/// the figure (and widens it, for a legend wider than the figure), so the plot keeps its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    size: (u32, u32),
    legend: Option<Legend>,
}

impl Layout {
    fn of(chart: &Chart) -> Result<Layout> {
        // Laying out measures text.
        font::ensure_registered()?;
        let (xs, ys) = plotting_area(chart)?;
        let area = ((xs.end - xs.start) as u32, (ys.end - ys.start) as u32);
        let legend = legend_size(chart)?.map(|size| Legend {
            place: legend_place(chart, area, size),
            size,
        });
        let size = match legend {
            Some(Legend {
                place: LegendPlace::Below,
                size: (w, h),
            }) => (
                WIDTH.max(below_left(xs.start, w) + w as u32 + MARGIN),
                HEIGHT + h as u32 + MARGIN,
            ),
            _ => (WIDTH, HEIGHT),
        };
        Ok(Layout { size, legend })
    }
}

/// The left edge of a legend `width` pixels wide below a chart whose plot starts at `plot_left`:
/// under the plot where it fits the figure's width there, else at the figure's margin.
fn below_left(plot_left: i32, width: i32) -> u32 {
    let plot_left = plot_left.max(0) as u32;
    if plot_left + width.max(0) as u32 + MARGIN <= WIDTH {
        plot_left
    } else {
        MARGIN
    }
}

/// The plotting area of `chart` in a `WIDTH` × `HEIGHT` figure: the pixel columns and rows left
/// for curves between the title and the axes, measured by laying the chart out on a scratch SVG.
fn plotting_area(chart: &Chart) -> Result<(Range<i32>, Range<i32>)> {
    let mut scratch = String::new();
    let root = SVGBackend::with_string(&mut scratch, (WIDTH, HEIGHT)).into_drawing_area();
    let area = under_title(&root, chart)?;
    let ctx = chart_builder(&area)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(drawing(&chart.title))?;
    Ok(ctx.plotting_area().get_pixel_range())
}

/// Draws `chart`'s title at the top of `area`, [`title_lines`] centred one under the other, and
/// gives the area below it.
fn under_title<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
) -> Result<DrawingArea<DB, Shift>> {
    let err = drawing(&chart.title);
    let (lines, size) = title_lines(area, &chart.title);
    let mut rest = area.margin(MARGIN, 0, 0, 0);
    for line in &lines {
        rest = rest.titled(line, (font::FAMILY, size)).map_err(&err)?;
    }
    Ok(rest)
}

/// The margins and axis-label room every chart has, in the area under its title.
fn chart_builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(MARGIN)
        // The title took the top margin.
        .margin_top(0)
        .x_label_area_size(44)
        .y_label_area_size(60);
    builder
}

/// The title's size in pixels where it fits on one line.
const TITLE_SIZE: f64 = 22.0;
/// A title that fits on one line only below this size goes on two.
const MIN_ONE_LINE_TITLE_SIZE: f64 = 16.0;
/// The smallest a title is set; one that does not fit at it is wrapped at its spaces.
const MIN_TITLE_SIZE: f64 = 12.0;

/// The width in pixels of `text` set at `size` in the title's font.
fn title_width<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, size: f64) -> f64 {
    area.estimate_text_size(text, &(font::FAMILY, size).into_text_style(area))
        .map_or(0.0, |(w, _)| f64::from(w))
}

/// The lines of a title and their font size, so that each fits the figure's width (plotters
/// draws a line of text as it is and cuts it at the edges): one line at 22 px, or smaller down
/// to 16; else two, split after its first `: ` (a ROC's weights, then what they were measured
/// on), at up to 22 px and down to 12; else those two wrapped at their spaces at 12.
fn title_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> (Vec<String>, f64) {
    let room = f64::from(WIDTH - 2 * MARGIN);
    // The size at which every line fits, at most 22 px.
    let fit = |lines: &[String]| {
        lines
            .iter()
            .map(|line| {
                let at_22 = title_width(area, line, TITLE_SIZE);
                if at_22 <= room {
                    TITLE_SIZE
                } else {
                    (TITLE_SIZE * room / at_22).floor()
                }
            })
            .fold(TITLE_SIZE, f64::min)
    };
    let one = vec![title.to_string()];
    let size = fit(&one);
    if size >= MIN_ONE_LINE_TITLE_SIZE {
        return (one, size);
    }
    let two = match title.split_once(": ") {
        Some((weights, measured)) => vec![format!("{weights}:"), measured.to_string()],
        None => one,
    };
    let size = fit(&two);
    if size >= MIN_TITLE_SIZE {
        return (two, size);
    }
    let mut lines = Vec::new();
    for line in two {
        let mut current = String::new();
        for word in line.split(' ') {
            let longer = if current.is_empty() {
                word.to_string()
            } else {
                format!("{current} {word}")
            };
            if !current.is_empty() && title_width(area, &longer, MIN_TITLE_SIZE) > room {
                lines.push(std::mem::replace(&mut current, word.to_string()));
            } else {
                current = longer;
            }
        }
        lines.push(current);
    }
    (lines, MIN_TITLE_SIZE)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    legend: Option<Legend>,
) -> Result<()> {
    let err = drawing(&chart.title);
    root.fill(&WHITE).map_err(&err)?;
    // The chart takes a plain figure's room at the top; a legend below it goes under it.
    let area = root.clone().shrink((0, 0), (WIDTH, HEIGHT));
    let (xs, ys) = plotting_area(chart)?;
    let plot = ((xs.end - xs.start) as u32, (ys.end - ys.start) as u32);
    let ((x0, x1), (y0, y1)) = chart.ranges(plot);
    let area = under_title(&area, chart)?;
    let mut builder = chart_builder(&area);
    if chart.log_x {
        let ctx = builder
            .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
            .map_err(&err)?;
        draw_in(root, ctx, chart, legend, (x0, x1))
    } else {
        let ctx = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(&err)?;
        draw_in(root, ctx, chart, legend, (x0, x1))
    }
}

/// Draws the axes, guides, lines and legend of `chart` into `ctx`, whatever its x axis (which
/// spans `x_range`); a legend below the chart goes under it in `root`.
fn draw_in<'a, DB, X>(
    root: &DrawingArea<DB, Shift>,
    mut ctx: ChartContext<'a, DB, Cartesian2d<X, RangedCoordf64>>,
    chart: &Chart,
    legend: Option<Legend>,
    (x0, x1): (f64, f64),
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let err = drawing(&chart.title);
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_labels(chart.x_tick_count())
        .x_label_formatter(&|x| chart.x_tick(*x))
        .y_label_formatter(&|y| value_tick(*y))
        .label_style((font::FAMILY, 13))
        .axis_desc_style((font::FAMILY, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(&err)?;
    // Under the curves, so that a curve at chance stays visible.
    for g in &chart.guides {
        let style = GUIDE_COLOR.stroke_width(1);
        let path = vec![(x0, g.y), (x1, g.y)];
        ctx.draw_series(DashedLineSeries::new(
            path,
            GUIDE_DASH.0,
            GUIDE_DASH.1,
            style,
        ))
        .map_err(&err)?;
    }
    for (i, line) in chart.lines.iter().enumerate() {
        let color = chart.color_of(i);
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
        let points = chart.drawn_points(line);
        let style = color.stroke_width(2);
        let stroke = Stroke::of(chart, i, points.len());
        match stroke {
            Stroke::Dots(marker) => {
                let outline = marker.outline();
                let dots = points
                    .iter()
                    .map(|&p| EmptyElement::at(p) + Polygon::new(outline.clone(), color.filled()));
                ctx.draw_series(dots).map_err(&err)?;
            }
            Stroke::Rings(marker) | Stroke::Halo(marker) => {
                let ring = match stroke {
                    Stroke::Halo(_) => marker.halo(),
                    _ => marker.ring(),
                };
                let rings = points
                    .iter()
                    .map(|&p| EmptyElement::at(p) + PathElement::new(ring.clone(), style));
                ctx.draw_series(rings).map_err(&err)?;
            }
            Stroke::Solid => {
                ctx.draw_series(LineSeries::new(points, style))
                    .map_err(&err)?;
            }
            Stroke::Dashed(dash, gap) => {
                ctx.draw_series(DashedLineSeries::new(points, dash, gap, style))
                    .map_err(&err)?;
            }
        }
    }
    let Some(legend) = legend else {
        return Ok(());
    };
    match legend.place {
        LegendPlace::Inside(corner) => draw_legend(&mut ctx, chart, corner.position()),
        LegendPlace::Below => {
            let (xs, _) = ctx.plotting_area().get_pixel_range();
            let (w, h) = legend.size;
            let left = below_left(xs.start, w) as i32;
            let strip = root.clone().shrink((left, HEIGHT as i32), (w + 1, h + 1));
            let mut below = ChartBuilder::on(&strip)
                .build_cartesian_2d(0.0..1.0, 0.0..1.0)
                .map_err(&err)?;
            draw_legend(&mut below, chart, SeriesLabelPosition::Coordinate(0, 0))
        }
    }
}

/// Draws the legend of `chart` at `position` in the plotting area of `ctx`: an entry for each
/// labelled line, attached to an empty series there so that plotters lays the box out.
fn draw_legend<'a, DB, X>(
    ctx: &mut ChartContext<'a, DB, Cartesian2d<X, RangedCoordf64>>,
    chart: &Chart,
    position: SeriesLabelPosition,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
{
    let err = drawing(&chart.title);
    for (row, text) in legend_rows(chart)? {
        let entry = ctx
            .draw_series(std::iter::empty::<EmptyElement<(f64, f64), DB>>())
            .map_err(&err)?
            .label(text);
        let i = match row {
            Row::Line(i) => i,
            Row::Guide(_) => {
                let style = GUIDE_COLOR.stroke_width(1);
                let (dash, gap) = GUIDE_DASH;
                entry.legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 20, y)], dash, gap, style)
                });
                continue;
            }
            // No sample: the row goes on with the entry above it.
            Row::More => continue,
        };
        let line = &chart.lines[i];
        let color = chart.legend_color_of(i);
        let style = color.stroke_width(2);
        // The sample: the line's marker, or 20 px of its stroke.
        let drawn = line.points.iter().filter(|&&p| chart.drawable(p)).count();
        match Stroke::of(chart, i, drawn) {
            Stroke::Dots(marker) => entry.legend(move |(x, y)| {
                EmptyElement::at((x + 10, y)) + Polygon::new(marker.outline(), color.filled())
            }),
            Stroke::Rings(marker) => entry.legend(move |(x, y)| {
                EmptyElement::at((x + 10, y)) + PathElement::new(marker.ring(), style)
            }),
            Stroke::Halo(marker) => entry.legend(move |(x, y)| {
                EmptyElement::at((x + 10, y)) + PathElement::new(marker.halo(), style)
            }),
            Stroke::Solid => {
                entry.legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style))
            }
            Stroke::Dashed(dash, gap) => entry.legend(move |(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 20, y)], dash, gap, style)
            }),
        };
    }
    ctx.configure_series_labels()
        .position(position)
        .legend_area_size(LEGEND_SAMPLE)
        .margin(LEGEND_MARGIN)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .label_font(legend_font())
        .draw()
        .map_err(&err)?;
    Ok(())
}

/// How line `i` of a chart is drawn, in the plot and in its legend entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stroke {
    /// A scatter's markers, or a curve of one point's.
    Dots(Marker),
    /// A scatter's markers in outline (the second set of a [`Marks::FilledAndHollow`] chart).
    Rings(Marker),
    /// A wide ring around a curve's point: a secondary curve's lone point (a run's best
    /// checkpoint on its dev curve), which the point inside it shows through.
    Halo(Marker),
    Solid,
    Dashed(u32, u32),
}

impl Stroke {
    /// The stroke of line `i`, which has `drawn` points that can be drawn.
    fn of(chart: &Chart, i: usize, drawn: usize) -> Stroke {
        let marker = style_of(chart.group_of(i)).1;
        match chart.marks {
            Marks::FilledAndHollow if i.is_multiple_of(2) => return Stroke::Dots(marker),
            Marks::FilledAndHollow => return Stroke::Rings(marker),
            Marks::Curves => {}
        }
        let secondary = chart.lines.get(i).is_some_and(|l| l.secondary);
        match (drawn, secondary) {
            // A point has no stroke to dash: its marker tells it from the lines of its colour.
            (1, false) => Stroke::Dots(marker),
            // A ring around the point it may hide, wide enough to stand out from the curves.
            (1, true) => Stroke::Halo(marker),
            (_, true) => Stroke::Dashed(SECONDARY_DASH.0, SECONDARY_DASH.1),
            (_, false) => dash_of(i).map_or(Stroke::Solid, |(dash, gap)| Stroke::Dashed(dash, gap)),
        }
    }

    /// How far in pixels the ink of a point drawn with this stroke reaches from it: a marker's
    /// radius ([`Marker::outline`], twice it for a halo) and the ring's line, or half a 2-px line.
    fn reach(self) -> f64 {
        match self {
            Stroke::Dots(_) => 5.0,
            Stroke::Rings(_) => 6.0,
            Stroke::Halo(_) => 11.0,
            Stroke::Solid | Stroke::Dashed(..) => 1.0,
        }
    }
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
                secondary: false,
            }],
            marks: Marks::Curves,
            log_x: false,
            equal_scale: false,
            guides: Vec::new(),
        }
    }

    /// Each line of `title` as [`title_lines`] sets it, and whether it fits the figure's width by
    /// the measure that chose its size.
    fn set_title(title: &str) -> Result<(Vec<String>, f64, bool)> {
        font::ensure_registered()?;
        let mut svg = String::new();
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let (lines, size) = title_lines(&root, title);
        let fits = lines
            .iter()
            .all(|l| title_width(&root, l, size) <= f64::from(WIDTH - 2 * MARGIN));
        Ok((lines, size, fits))
    }

    /// The embeddings figure's title (run 24) was cut at both edges at 22 px.
    #[test]
    fn a_long_title_is_set_smaller_to_fit_the_figure() -> Result<()> {
        assert_eq!(
            set_title("Run 5: accuracy")?,
            (vec!["Run 5: accuracy".to_string()], 22.0, true)
        );
        let long = "Run 24 (best checkpoint, iteration 494): PCA of 132 dev + test embeddings, \
                    30 identities, and more words to make it long";
        let (lines, size, fits) = set_title(long)?;
        assert_eq!(lines, [long]);
        assert!((16.0..22.0).contains(&size) && fits, "{size}");
        Ok(())
    }

    /// A ROC's title with the run's name and its checkpoint (183 characters) was set at 12 px
    /// and still cut at both edges.
    #[test]
    fn a_title_too_long_for_one_line_goes_on_two() -> Result<()> {
        let mut run = crate::lab::fixtures::run(
            41,
            "best-recipe-224px-crop0.5-lr3e-4-wd5e-4-seed7",
            "resnet18",
        );
        run.iters_per_epoch = Some(19);
        assert!(run.name.len() >= 40);
        let checkpoint = crate::lab::fixtures::checkpoint(run.id, "best", 1425, 75);
        let options = serde_json::json!({
            "images_colour": "grayscale", "exclude_train_identities": true, "dropped_pairs": 136
        });
        let title = super::super::roc_title(
            &run,
            &checkpoint,
            true,
            "LFW View 2",
            5864,
            options.as_object().context("an object")?,
        );
        assert!(title.len() > 170, "{}", title.len());
        let (lines, size, fits) = set_title(&title)?;
        assert_eq!(
            lines,
            [
                "Run #41 best-recipe-224px-crop0.5-lr3e-4-wd5e-4-seed7, best checkpoint \
                 (epoch 75), flipped:",
                "ROC on LFW View 2 (grayscale images), 5,864 of 6,000 pairs (train identities \
                 excluded)"
            ]
        );
        assert!(
            fits && (MIN_TITLE_SIZE..TITLE_SIZE).contains(&size),
            "{size}"
        );
        // Longer still: wrapped at its spaces, each line fitting at the smallest size.
        let longer = format!("{} {}: {title}", "x".repeat(60), "y".repeat(60));
        let (lines, size, fits) = set_title(&longer)?;
        assert!(
            lines.len() > 2 && fits && size == MIN_TITLE_SIZE,
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), longer);
        // The figure is drawn with it, the plot shorter by the second line.
        let long_chart = Chart {
            title: title.clone(),
            ..chart(None, vec![(1.0, 0.5), (2.0, 0.7)])
        };
        let (_, one_line) = plotting_area(&chart(None, vec![(1.0, 0.5), (2.0, 0.7)]))?;
        let (_, two_lines) = plotting_area(&long_chart)?;
        assert!(
            two_lines.start > one_line.start,
            "{two_lines:?} {one_line:?}"
        );
        if let Some(dir) = std::env::var_os("FACENET_LAB_FIGURES") {
            std::fs::write(
                std::path::Path::new(&dir).join("long-title.png"),
                render(&long_chart, FigureFormat::Png)?,
            )?;
        }
        Ok(())
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
            legend_place(&chart(None, loss.clone()), area, legend),
            LegendPlace::Inside(Corner::UpperRight)
        );
        // An accuracy rising to 0.98 on a 0..1 axis: the upper right is taken.
        let acc: Vec<(f64, f64)> = (0..=90)
            .map(|e| (f64::from(e), 0.98 * (1.0 - (-f64::from(e) / 10.0).exp())))
            .collect();
        assert_eq!(
            legend_place(&chart(Some((0.0, 1.0)), acc), area, legend),
            LegendPlace::Inside(Corner::LowerRight)
        );
        // Both right corners taken (a flat line high and one low): a left corner, and the
        // two-point line between them counts along its length, not only at its ends.
        let mut both = chart(Some((0.0, 1.0)), vec![(50.0, 0.98), (100.0, 0.98)]);
        both.lines.push(Line {
            label: "low".into(),
            points: vec![(0.0, 0.02), (100.0, 0.02)],
            band: None,
            secondary: false,
        });
        assert_eq!(
            legend_place(&both, area, legend),
            LegendPlace::Inside(Corner::UpperLeft)
        );
    }

    /// A line of `label` through `points`, as a chart of [`chart`] draws it.
    fn line(label: &str, points: Vec<(f64, f64)>) -> Line {
        Line {
            label: label.into(),
            points,
            band: None,
            secondary: false,
        }
    }

    /// A chart whose lower right corner alone is free: a flat line at 0.98 across the top, and
    /// one at 0.02 along the left 40 % of the bottom (epochs 1 to 100, so that x runs 0..103).
    fn lower_right_free() -> Chart {
        let mut c = chart(Some((0.0, 1.0)), vec![(1.0, 0.98), (100.0, 0.98)]);
        c.lines.push(line("low", vec![(1.0, 0.02), (40.0, 0.02)]));
        c
    }

    /// The box keeps [`LEGEND_CLEARANCE`] from the ink of what is drawn, a marker's as wide as
    /// the marker is: a best checkpoint's ring, 22 px across, counted as its centre alone could
    /// be half hidden under the box, and a band's fill under a box between its edges wholly.
    #[test]
    fn the_legend_keeps_clear_of_markers_and_band_fills() {
        let (area, legend) = ((820, 440), (200, 35));
        // The lower right box spans x 615..815 px, y 400..435 px; epoch 75.5 is at x 601 px.
        let c = lower_right_free();
        assert_eq!(
            legend_place(&c, area, legend),
            LegendPlace::Inside(Corner::LowerRight)
        );
        // A curve 14 px left of it, the height of the box, leaves it clear.
        let mut curve = lower_right_free();
        curve
            .lines
            .push(line("curve", vec![(75.5, 0.0), (75.5, 0.2)]));
        assert_eq!(
            legend_place(&curve, area, legend),
            LegendPlace::Inside(Corner::LowerRight)
        );
        // A lone point there is a dot 10 px across, a best checkpoint's halo 22 px: neither
        // leaves the box its clearance.
        for secondary in [false, true] {
            let mut point = lower_right_free();
            point.lines.push(Line {
                secondary,
                ..line("best", vec![(75.5, 0.05)])
            });
            assert_eq!(
                legend_place(&point, area, legend),
                LegendPlace::Below,
                "secondary: {secondary}"
            );
        }
        // A band from below the axis to 0.45 over the right half fills the lower right corner,
        // though neither of its edges comes near the box; the lower left is free of it.
        let mut band = chart(Some((0.0, 1.0)), vec![(1.0, 0.98), (100.0, 0.98)]);
        band.lines.push(Line {
            band: Some(vec![(50.0, -0.5, 0.45), (100.0, -0.5, 0.45)]),
            ..line("mean ± std", vec![(50.0, 0.3), (100.0, 0.3)])
        });
        assert_eq!(
            legend_place(&band, area, legend),
            LegendPlace::Inside(Corner::LowerLeft)
        );
        // A scatter's markers count as wide as they are drawn.
        let mut scatter = chart(None, vec![(0.0, 0.0), (10.0, 10.0)]);
        scatter.marks = Marks::FilledAndHollow;
        let ink = drawn_ink(&scatter, area);
        assert_eq!(ink.len(), 2);
        assert!(ink.iter().all(|i| i.reach == 5.0), "{ink:?}");
    }

    /// Every ROC had its legend in the lower right, its corner 9 px under the chance curve,
    /// which looked as though it ran under the box (run 14's): it goes to the upper left, where
    /// the ROC is still low. A ROC at 0.9 from the smallest FAR leaves no corner free, and its
    /// legend goes below.
    #[test]
    fn a_rocs_legend_keeps_off_the_chance_curve() -> Result<()> {
        use crate::eval::verification::Roc;
        let roc = |tpr: &dyn Fn(f64) -> f64| {
            let fpr: Vec<f64> = (0..=400)
                .map(|k| 10f64.powf(-4.0 + f64::from(k) / 100.0))
                .collect();
            Roc {
                tpr: fpr.iter().map(|&f| tpr(f)).collect(),
                thresholds: vec![0.0; fpr.len()],
                fpr,
            }
        };
        let place = |tpr: &dyn Fn(f64) -> f64| -> Result<Option<LegendPlace>> {
            let title = "Run #14 best-recipe-96px-crop0.5, best checkpoint (epoch 77): ROC on \
                         LFW View 2 (grayscale images), 6,000 pairs";
            let chart = super::super::roc_chart(title, &roc(tpr), 0.838, 1e-3);
            Ok(Layout::of(&chart)?.legend.map(|l| l.place))
        };
        // About run 14's: TAR 0.07 at FAR 10⁻³, 0.21 at 10⁻², 0.6 at 10⁻¹.
        let run_14 = |f: f64| (0.55 * (1.0 + f.log10()).exp() * (1.0 - f) + f).min(1.0);
        assert_eq!(
            place(&run_14)?,
            Some(LegendPlace::Inside(Corner::UpperLeft))
        );
        // At chance (runs 44 and 50).
        assert_eq!(place(&|f| f)?, Some(LegendPlace::Inside(Corner::UpperLeft)));
        assert_eq!(place(&|f: f64| 0.9 + 0.1 * f)?, Some(LegendPlace::Below));
        Ok(())
    }

    /// A chance line runs across the whole plot under the curves: the legend keeps off it, a
    /// fitted axis reaches it, and it is drawn in its grey from one side to the other.
    #[test]
    fn a_guide_crosses_the_plot_and_the_legend_keeps_off_it() -> Result<()> {
        let (area, legend) = ((820, 440), (200, 35));
        let acc: Vec<(f64, f64)> = (0..=90)
            .map(|e| (f64::from(e), 0.98 * (1.0 - (-f64::from(e) / 10.0).exp())))
            .collect();
        let mut c = chart(Some((0.0, 1.0)), acc);
        assert_eq!(
            legend_place(&c, area, legend),
            LegendPlace::Inside(Corner::LowerRight)
        );
        c.guides.push(Guide {
            label: "chance (1 in 30 identities)".into(),
            y: 1.0 / 30.0,
        });
        assert_eq!(
            legend_place(&c, area, legend),
            LegendPlace::Inside(Corner::UpperLeft),
            "both lower corners hold the chance line"
        );
        // Drawn across the plot, in its own grey.
        let png = render(&c, FigureFormat::Png)?;
        let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)?.to_rgb8();
        let (xs, ys) = plotting_area(&c)?;
        let grey = [GUIDE_COLOR.0, GUIDE_COLOR.1, GUIDE_COLOR.2];
        let columns: Vec<u32> = (xs.start as u32..xs.end as u32)
            .filter(|&x| (ys.start as u32..ys.end as u32).any(|y| img.get_pixel(x, y).0 == grey))
            .collect();
        let width = (xs.end - xs.start) as usize;
        // Dashed 4 on, 4 off.
        assert!(
            columns.len() >= width * 2 / 5,
            "{} of {width}",
            columns.len()
        );
        assert!(columns.first().is_some_and(|&x| x < xs.start as u32 + 10));
        assert!(columns.last().is_some_and(|&x| x > xs.end as u32 - 10));
        assert!(!PALETTE.iter().any(|p| [p.0, p.1, p.2] == grey));
        // In the legend, after the lines.
        let rows = legend_rows(&c)?;
        assert_eq!(rows.last().map(|r| r.0), Some(Row::Guide(0)));
        // A fitted axis reaches a guide above the data.
        let mut low = chart(None, vec![(0.0, 0.1), (5.0, 0.2)]);
        low.guides.push(Guide {
            label: String::new(),
            y: 0.5,
        });
        assert!(low.y_range().1 > 0.5, "{:?}", low.y_range());
        Ok(())
    }

    /// Flat lines at 0.98 and 0.02 across the whole chart, so that a legend in any corner would
    /// sit on one of them, and 16 more between them: 18 entries, a legend taller than half the plot.
    fn crowded() -> Chart {
        let mut c = chart(Some((0.0, 1.0)), vec![(0.0, 0.98), (90.0, 0.98)]);
        c.lines.extend((0..17).map(|i| Line {
            label: format!("#{i} a run with a long name: lr 0.0005, epochs 90"),
            points: match i {
                0 => vec![(0.0, 0.02), (90.0, 0.02)],
                _ => vec![(0.0, 0.3 + 0.02 * f64::from(i)), (90.0, 0.3)],
            },
            band: None,
            secondary: false,
        }));
        c
    }

    /// The committed lab's comparison figure had its 47-entry legend beside the plot, wider than
    /// the plot: a page that shows the figure at its width shrank the plot to make room.
    #[test]
    fn a_legend_with_no_clear_corner_goes_below_the_chart() -> Result<()> {
        let c = crowded();
        let layout = Layout::of(&c)?;
        let legend = layout.legend.expect("labelled lines have a legend");
        assert_eq!(legend.place, LegendPlace::Below);
        // The plot keeps a plain figure's size and the figure its width; it lengthens by the
        // legend and a margin.
        assert_eq!(layout.size, (WIDTH, HEIGHT + legend.size.1 as u32 + MARGIN));
        // As drawn: the legend's entries are under the plot, and the PNG is that size.
        let png = render(&c, FigureFormat::Png)?;
        let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)?;
        assert_eq!((img.width(), img.height()), layout.size);
        let below = img.to_rgb8();
        let inked_below = (HEIGHT..below.height())
            .flat_map(|y| (0..below.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| below.get_pixel(x, y).0 != [255, 255, 255])
            .count();
        assert!(inked_below > 2_000, "{inked_below} pixels of legend");
        // A long entry is wrapped to the figure's width, after a setting where it can be.
        let mut long = crowded();
        long.lines[1].label = (1..=20)
            .map(|k| format!("setting {k}"))
            .collect::<Vec<_>>()
            .join(SEPARATOR);
        let rows = legend_rows(&long)?;
        assert_eq!(rows.len(), long.lines.len() + 1, "one entry on two rows");
        assert_eq!(rows[1].0, Row::Line(1));
        assert_eq!(rows[2].0, Row::More);
        assert!(rows[1].1.ends_with(" ·"), "{:?}", rows[1].1);
        assert!(
            rows[2].1.trim_start().starts_with("setting "),
            "{:?}",
            rows[2].1
        );
        let joined = format!("{} {}", rows[1].1, rows[2].1.trim_start());
        assert_eq!(
            joined.replace(" · ", "·"),
            long.lines[1].label.replace(" · ", "·")
        );
        let layout = Layout::of(&long)?;
        assert_eq!(layout.size.0, WIDTH, "{layout:?}");
        // A word wider than the figure cannot wrap: the figure widens, from its margin.
        let mut wide = crowded();
        wide.lines[1].label = "w".repeat(150);
        let layout = Layout::of(&wide)?;
        let legend = layout.legend.expect("a legend");
        assert_eq!(legend.place, LegendPlace::Below);
        assert_eq!(layout.size.0, MARGIN + legend.size.0 as u32 + MARGIN);
        assert!(layout.size.0 > WIDTH);
        // The same lines all along the top leave the lower corners clear, even for this legend.
        let mut c = c;
        for l in &mut c.lines {
            l.points = vec![(0.0, 0.98), (90.0, 0.98)];
        }
        let layout = Layout::of(&c)?;
        assert_eq!(
            layout.legend.map(|l| l.place),
            Some(LegendPlace::Inside(Corner::LowerRight))
        );
        assert_eq!(layout.size, (WIDTH, HEIGHT));
        Ok(())
    }

    #[test]
    fn no_corner_of_a_crowded_chart_is_hidden_under_its_legend() -> Result<()> {
        let c = crowded();
        let png = render(&c, FigureFormat::Png)?;
        let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)?.to_rgb8();
        let (xs, ys) = plotting_area(&c)?;
        let area = ((xs.end - xs.start) as u32, (ys.end - ys.start) as u32);
        let legend = legend_size(&c)?.expect("a legend");
        // Where a legend in each corner would be, the flat line through it shows in full colour
        // in every column it spans (epochs 0 to 90, clear of the frame): a box over it (white at
        // 85 %) would leave only a faint tint.
        let pixel = |x: f64| c.x_fraction(x, c.x_range()) * f64::from(area.0);
        let (start, end) = (pixel(0.0).ceil() as u32 + 1, pixel(90.0).floor() as u32 - 1);
        for corner in Corner::ALL {
            let (x0, y0, x1, y1) = corner.rect(area, legend);
            let colour = match corner {
                Corner::UpperLeft | Corner::UpperRight => style_of(0).0,
                Corner::LowerLeft | Corner::LowerRight => style_of(1).0,
            };
            let shown = |x: u32| {
                (y0 as u32..y1 as u32).any(|y| {
                    let p = img.get_pixel(xs.start as u32 + x, ys.start as u32 + y);
                    p.0 == [colour.0, colour.1, colour.2]
                })
            };
            let columns = (x0 as u32).max(start)..(x1 as u32).min(end);
            let hidden: Vec<u32> = columns.filter(|&x| !shown(x)).collect();
            assert!(
                hidden.is_empty(),
                "{corner:?}: columns {hidden:?} lost the line"
            );
        }
        Ok(())
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
        // A chart of as many lines as there are colours (a comparison figure at most) draws
        // each solid, in a colour of its own.
        let mut c = chart(Some((0.0, 1.0)), vec![(0.0, 0.1), (5.0, 0.2)]);
        c.lines = vec![c.lines[0].clone(); DISTINCT_COLOURS];
        let colours: Vec<RGBColor> = (0..DISTINCT_COLOURS).map(|i| c.color_of(i)).collect();
        for i in 0..DISTINCT_COLOURS {
            assert_eq!(Stroke::of(&c, i, 2), Stroke::Solid, "line {i}");
            assert!(
                !colours[..i].contains(&colours[i]),
                "line {i}'s colour repeats"
            );
        }
        // Lines: colour and stroke together never repeat within 50 lines.
        let lines: Vec<(RGBColor, Option<(u32, u32)>)> =
            (0..50).map(|i| (style_of(i).0, dash_of(i))).collect();
        for (i, l) in lines.iter().enumerate() {
            assert!(
                !lines[..i].contains(l),
                "line {i} looks like an earlier one"
            );
        }
    }

    /// Dev and test images of one identity share its colour and shape, filled and hollow.
    #[test]
    fn filled_and_hollow_lines_pair_up_by_group() {
        let mut c = chart(None, vec![(2.0, 1.0), (8.0, 3.0)]);
        c.lines = (0..4).map(|_| c.lines[0].clone()).collect();
        c.marks = Marks::FilledAndHollow;
        let strokes: Vec<Stroke> = (0..4).map(|i| Stroke::of(&c, i, 2)).collect();
        let (m0, m1) = (style_of(0).1, style_of(1).1);
        assert_eq!(
            strokes,
            vec![
                Stroke::Dots(m0),
                Stroke::Rings(m0),
                Stroke::Dots(m1),
                Stroke::Rings(m1)
            ]
        );
        assert_eq!(c.color_of(0), c.color_of(1));
        assert_eq!(c.legend_color_of(0), c.legend_color_of(3));
        assert_ne!(
            c.legend_color_of(0),
            c.color_of(0),
            "no identity's colour in the key"
        );
        assert_eq!(c.color_of(2), c.color_of(3));
        assert_ne!(c.color_of(1), c.color_of(2));
        // A ring closes on its first point.
        let ring = Marker::Triangle.ring();
        assert_eq!(ring.first(), ring.last());
        assert_eq!(ring.len(), Marker::Triangle.outline().len() + 1);
        // It renders: filled markers as polygons (two points on each of two lines, and their two
        // keys), rings as open paths.
        let svg = String::from_utf8(render(&c, FigureFormat::Svg).expect("renders")).expect("svg");
        assert!(svg.matches("<polygon").count() >= 6, "{svg}");
        assert!(svg.contains("<polyline"), "{svg}");
    }

    #[test]
    fn a_scatter_has_room_on_every_side_and_curves_start_at_zero() {
        let mut c = chart(None, vec![(2.0, 1.0), (8.0, 3.0)]);
        assert_eq!(c.x_range(), (0.0, 8.5));
        c.marks = Marks::FilledAndHollow;
        let ((x0, x1), (y0, y1)) = (c.x_range(), c.y_range());
        assert!(x0 < 2.0 && x0 > 0.0 && x1 > 8.0, "{x0}..{x1}");
        assert!(y0 < 1.0 && y1 > 3.0, "{y0}..{y1}");
    }

    /// A run of two epochs had ticks at 0.5 and 1.5: an axis of counts ticks whole numbers.
    #[test]
    fn an_axis_of_counts_ticks_whole_numbers() -> Result<()> {
        for epochs in [1, 2, 3, 4, 5, 7, 12, 90, 1710] {
            let c = chart(
                Some((0.0, 1.0)),
                (1..=epochs).map(|e| (f64::from(e), 0.5)).collect(),
            );
            let (x0, x1) = c.x_range();
            let ticks = RangedCoordf64::from(x0..x1).key_points(c.x_tick_count());
            assert!(ticks.len() >= 2, "{epochs} epochs: {ticks:?}");
            assert!(
                ticks.iter().all(|t| t.fract() == 0.0),
                "{epochs} epochs: {ticks:?}"
            );
        }
        // As drawn: no tick reads 0.5.
        let two = chart(Some((0.0, 0.4)), vec![(1.0, 0.2), (2.0, 0.4)]);
        let svg = String::from_utf8(render(&two, FigureFormat::Svg)?)?;
        let tick = |t: &str| svg.contains(&format!(">\n{t}\n</text>"));
        assert!(tick("1") && tick("2"), "{svg}");
        assert!(!tick("0.5") && !tick("1.5"), "{svg}");
        Ok(())
    }

    /// A run of one epoch drew its only dev point on the right frame, at x = 1.
    #[test]
    fn a_lone_point_is_a_marker_clear_of_the_frame() -> Result<()> {
        font::ensure_registered()?;
        let (w, _) = {
            let (xs, ys) = plotting_area(&chart(None, vec![]))?;
            (f64::from(xs.end - xs.start), ys)
        };
        // Pixels between x and the nearer side of the frame.
        let clearance = |c: &Chart, x: f64| {
            let f = c.x_fraction(x, c.x_range());
            (f.min(1.0 - f)) * w
        };
        let one = chart(Some((0.0, 1.0)), vec![(1.0, 0.05)]);
        assert!(clearance(&one, 1.0) >= 10.0, "{:?}", one.x_range());
        assert_eq!(Stroke::of(&one, 0, 1), Stroke::Dots(Marker::Circle));
        // The last of 19 iterations, and of 90 epochs.
        let iterations = chart(None, vec![(19.0, 0.1)]);
        assert!(clearance(&iterations, 19.0) >= 10.0);
        let epochs = chart(None, (1..=90).map(|e| (f64::from(e), 0.5)).collect());
        assert!(clearance(&epochs, 90.0) >= 10.0);
        assert_eq!(
            epochs.x_range().0,
            0.0,
            "a curve from epoch 1 starts at the frame"
        );
        // A zero-shot run's point at epoch 0 is clear of the left frame.
        let zero = chart(None, vec![(0.0, 0.2), (1.0, 0.3)]);
        assert!(clearance(&zero, 0.0) >= 10.0, "{:?}", zero.x_range());
        Ok(())
    }

    /// Run 2's embeddings: PC1 about ±2 and PC2 about ±0.01 were drawn as a round cloud.
    #[test]
    fn an_equal_scale_chart_has_as_many_pixels_to_a_unit_across_as_up() -> Result<()> {
        font::ensure_registered()?;
        let mut c = chart(None, vec![(-2.0, -0.01), (2.0, 0.01), (0.5, 0.0)]);
        c.marks = Marks::FilledAndHollow;
        c.lines.push(c.lines[0].clone());
        c.equal_scale = true;
        let (xs, ys) = plotting_area(&c)?;
        let area = ((xs.end - xs.start) as u32, (ys.end - ys.start) as u32);
        let ((x0, x1), (y0, y1)) = c.ranges(area);
        let (per_x, per_y) = ((x1 - x0) / f64::from(area.0), (y1 - y0) / f64::from(area.1));
        assert!((per_x / per_y - 1.0).abs() < 1e-9, "{per_x} vs {per_y}");
        // The data still fits, the x range as fitted, the y range widened about its middle.
        assert_eq!((x0, x1), c.x_range());
        let (fy0, fy1) = c.y_range();
        let same_middle = ((y0 + y1) - (fy0 + fy1)).abs() < 1e-9;
        assert!(y0 < fy0 && y1 > fy1 && same_middle, "{y0}..{y1}");
        // A tall cloud widens the x range instead.
        c.lines[0].points = vec![(-0.01, -2.0), (0.01, 2.0)];
        let ((x0, x1), (y0, y1)) = c.ranges(area);
        assert_eq!((y0, y1), c.y_range());
        assert!(x1 - x0 > y1 - y0, "a plot wider than tall: {x0}..{x1}");
        // Charts that fit each axis to its data keep doing so.
        c.equal_scale = false;
        assert_eq!(c.ranges(area), (c.x_range(), c.y_range()));
        let svg = String::from_utf8(render(&c, FigureFormat::Svg)?)?;
        assert!(svg.contains("<polygon"));
        Ok(())
    }

    /// A run's dev curve was hidden under its centroid-gallery curve where both were 1.0.
    #[test]
    fn a_secondary_curve_leaves_an_equal_one_under_it_visible() -> Result<()> {
        let mut c = chart(Some((0.0, 2.0)), vec![(0.0, 1.0), (10.0, 1.0)]);
        let mut second = c.lines[0].clone();
        second.secondary = true;
        c.lines.push(second);
        let png = render(&c, FigureFormat::Png)?;
        let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)?.to_rgb8();
        let (xs, ys) = plotting_area(&c)?;
        let shows = |colour: RGBColor| {
            (xs.start as u32..xs.end as u32)
                .filter(|&x| {
                    (ys.start as u32..ys.end as u32)
                        .any(|y| img.get_pixel(x, y).0 == [colour.0, colour.1, colour.2])
                })
                .count()
        };
        let columns = (xs.end - xs.start) as usize;
        let (under, over) = (shows(c.color_of(0)), shows(c.color_of(1)));
        assert!(
            under >= columns / 3,
            "the first curve shows in {under} of {columns} columns"
        );
        assert!(
            over >= columns / 3,
            "the second shows in {over} of {columns} columns"
        );
        // A lone point of it is a wide ring around the dot it would hide.
        assert_eq!(Stroke::of(&c, 1, 1), Stroke::Halo(Marker::Circle));
        assert_eq!(Stroke::of(&c, 0, 1), Stroke::Dots(Marker::Circle));
        Ok(())
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
        assert_eq!(power_of_ten(1e-4), "10⁻⁴");
        assert_eq!(power_of_ten(0.001), "10⁻³");
        assert_eq!(power_of_ten(1.0), "1");
        assert_eq!(power_of_ten(100.0), "10²");
    }

    #[test]
    fn a_log_axis_spans_the_positive_data_and_places_it_by_ratio() {
        let mut c = chart(Some((0.0, 1.0)), vec![(0.0, 0.1), (1e-4, 0.2), (1.0, 1.0)]);
        c.log_x = true;
        let (lo, hi) = c.x_range();
        assert!(
            lo < 1e-4 && lo > 0.999_999 * 1e-4,
            "FAR 0 is not drawn: {lo}"
        );
        assert!(hi > 1.0 && hi < 1.000_001, "{hi}");
        assert!(!c.drawable((0.0, 0.1)));
        assert!((c.x_fraction(1e-3, (lo, hi)) - 0.25).abs() < 1e-6);
        assert_eq!(c.x_tick(1e-3), "10⁻³");
    }
}
