//! Line charts as data, and their rendering to PNG or SVG bytes.
//!
//! A [`Chart`] says what to draw; [`render`] draws it. Nothing here reads the clock or the
//! environment, so the same chart always gives the same bytes.

use std::fmt::Display;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
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
        let lo = if self.points_only {
            lo - 0.05 * (hi - lo)
        } else {
            lo.min(0.0)
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

/// Iterations and epochs are counts: `10`, not `10.0` (a short axis still gets `2.5`).
fn whole_or_tenths(x: f64) -> String {
    if x.fract().abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn drawing<E: Display>(title: &str) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow!("drawing figure '{title}': {e}")
}

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
        .label_style((font::FAMILY, 13))
        .axis_desc_style((font::FAMILY, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(&err)?;

    for (i, line) in chart.lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
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
            let dots = points.iter().map(|&p| Circle::new(p, 3, color.filled()));
            let drawn = ctx.draw_series(dots).map_err(&err)?;
            if !line.label.is_empty() {
                drawn
                    .label(&line.label)
                    .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
            }
        } else if points.len() == 1 {
            ctx.draw_series(std::iter::once(Circle::new(points[0], 3, style.filled())))
                .map_err(&err)?
                .label(&line.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        } else {
            ctx.draw_series(LineSeries::new(points, style))
                .map_err(&err)?
                .label(&line.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
    }
    if chart.lines.iter().any(|l| !l.label.is_empty()) {
        ctx.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font((font::FAMILY, 13))
            .draw()
            .map_err(&err)?;
    }
    Ok(())
}
