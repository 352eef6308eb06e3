//! The font every figure is drawn with, shipped in `assets/fonts/` so that a machine without
//! system fonts (a fresh CI runner, a GPU box) renders the same pixels as a laptop, and the
//! drawing of its text into PNG figures ([`Typeset`]).

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, OutlinedGlyph, ScaleFont};
use anyhow::{anyhow, Result};
use plotters::style::{register_font, FontStyle};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name figures ask for. Registering our font under plotters' default family name
/// means labels plotters styles on its own (tick labels) use it too.
pub const FAMILY: &str = "sans-serif";

/// Registers the shipped font once per process; later calls return the first outcome.
pub fn ensure_registered() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "the font shipped in assets/fonts/DejaVuSans.ttf could not be parsed: \
             restore it from git (`git checkout assets/fonts`) and rebuild"
        ))
    }
}

/// The shipped font, parsed once for drawing; `None` where it cannot be parsed (which
/// [`ensure_registered`] reports before anything is drawn).
fn face() -> Option<&'static FontRef<'static>> {
    static FACE: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FACE.get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS).ok())
        .as_ref()
}

/// A line of text rasterised in the shipped font: how much of each pixel of a box its ink
/// covers, from 0 to 1. Coordinates are those plotters lays a line of text out in: x from where
/// the pen starts, y from the top of the box plotters measures for it, the baseline half the
/// font size down, as plotters puts it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ink {
    /// The box's top-left pixel.
    origin: (i32, i32),
    width: usize,
    coverage: Vec<f32>,
}

impl Ink {
    /// `text` set at `size` pixels as plotters measures it (each glyph's advance, kerned
    /// against the glyph before it) and drawn where that puts each glyph: at its pen position
    /// to a fraction of a pixel, with its side bearings, on one whole-pixel baseline. `None`
    /// where the font cannot be parsed.
    ///
    /// plotters 0.3.7 draws each glyph's ink from the pen itself, losing the glyph's left side
    /// bearing, and truncates the pen to a whole pixel: each gap between two letters came out
    /// a pixel or two off what the font sets (`ran dom`, `ep och s`); and it rounded the
    /// baseline up for tall glyphs but down for short ones, so that a full stop sat a pixel
    /// above the letters beside it (`0·0005`).
    pub fn of(text: &str, size: f64) -> Option<Ink> {
        let font = face()?.as_scaled(size as f32);
        // plotters' `ab_glyph` text puts the baseline `size / 2` below the top of the line's
        // box; a whole pixel keeps the letters' feet sharp and in one row.
        let baseline = (size / 2.0).ceil() as f32;
        let mut pen = 0f32;
        let mut prev = None;
        let mut glyphs: Vec<OutlinedGlyph> = Vec::new();
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(prev) = prev {
                pen += font.kern(prev, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(font.scale(), point(pen, baseline));
            glyphs.extend(font.outline_glyph(glyph));
            pen += font.h_advance(id);
        }
        let bounds = glyphs.iter().map(OutlinedGlyph::px_bounds);
        let Some((x0, y0, x1, y1)) = bounds.fold(None, |acc, b| {
            let b = (b.min.x, b.min.y, b.max.x, b.max.y);
            Some(match acc {
                None => b,
                Some((x0, y0, x1, y1)) => (b.0.min(x0), b.1.min(y0), b.2.max(x1), b.3.max(y1)),
            })
        }) else {
            return Some(Ink::default());
        };
        // Pixel bounds are whole pixels already.
        let (x0, y0) = (x0 as i32, y0 as i32);
        let (width, height) = ((x1 as i32 - x0) as usize, (y1 as i32 - y0) as usize);
        let mut coverage = vec![0f32; width * height];
        // Letters that share a pixel (an `f` over the next letter's bearing) add their ink in
        // it, so that it is blended into the figure once.
        for g in &glyphs {
            let b = g.px_bounds();
            let (gx, gy) = (b.min.x as i32 - x0, b.min.y as i32 - y0);
            g.draw(|x, y, c| {
                let at = (gy + y as i32) as usize * width + (gx + x as i32) as usize;
                coverage[at] += c;
            });
        }
        Some(Ink {
            origin: (x0, y0),
            width,
            coverage,
        })
    }

    /// Each pixel with ink: its x, y and coverage (at most 1).
    pub fn pixels(&self) -> impl Iterator<Item = (i32, i32, f32)> + '_ {
        let (x0, y0) = self.origin;
        let width = self.width.max(1);
        self.coverage
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0.0)
            .map(move |(i, &c)| {
                let (x, y) = ((i % width) as i32, (i / width) as i32);
                (x0 + x, y0 + y, c.min(1.0))
            })
    }
}

/// A drawing backend that draws the shipped font's text itself ([`Ink`]) and hands everything
/// else, and text in any other family, to the backend it wraps: PNG figures go through it so
/// that their letters are evenly spaced. Text is placed on the box plotters measures, as
/// plotters places its own, so that layout that measured text (legend widths, title lines)
/// holds what is drawn.
pub struct Typeset<B>(pub B);

impl<B: DrawingBackend> DrawingBackend for Typeset<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        self.0.estimate_text_size(text, style)
    }

    /// As plotters' own `draw_text` but for the glyphs: anchored and turned on the box
    /// `style` measures, each pixel blended in at its coverage.
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let ink = match style.family().as_str() {
            FAMILY => Ink::of(text, style.size()),
            _ => None,
        };
        let Some(ink) = ink else {
            return self.0.draw_text(text, style, pos);
        };
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let turn = style.transform();
        let (w, h) = self.get_size();
        for (x, y, coverage) in ink.pixels() {
            let (x, y) = turn.transform(x + dx - min_x, y + dy - min_y);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                let alpha = color.alpha * f64::from(coverage);
                self.0.draw_pixel((x, y), BackendColor { alpha, ..color })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use plotters::style::{FontDesc, FontFamily};

    use super::*;

    /// `text` at `size` px, the shipped font parsed.
    fn ink(text: &str, size: f64) -> Ink {
        Ink::of(text, size).expect("the shipped font parses")
    }

    /// Each pixel's coverage as rasterised, above 1 where glyphs overlap.
    fn coverage(ink: &Ink) -> HashMap<(i32, i32), f32> {
        let width = ink.width.max(1);
        let (x0, y0) = ink.origin;
        ink.coverage
            .iter()
            .enumerate()
            .map(|(i, &c)| ((x0 + (i % width) as i32, y0 + (i / width) as i32), c))
            .collect()
    }

    /// The horizontal centre of the ink: its pixels' centres weighted by their coverage.
    fn centre(coverage: &HashMap<(i32, i32), f32>) -> f64 {
        let (moment, total) = coverage.iter().fold((0.0, 0.0), |(m, t), (&(x, _), &c)| {
            let c = f64::from(c);
            (m + (f64::from(x) + 0.5) * c, t + c)
        });
        moment / total
    }

    /// The legend's and title's text, as the walk found it (`ran dom batches`, `semih ard
    /// triplets`, `ep och s`): each letter lands where the font's advance and kerning put it,
    /// to a tenth of a pixel, at the legend's, the axes' and the title's sizes. plotters drew
    /// each letter from a pen cut to a whole pixel: up to a pixel to the left.
    #[test]
    fn each_letter_lands_where_the_font_puts_it() {
        let font = face().expect("the shipped font parses");
        for size in [13.0, 15.0, 22.0] {
            let scaled = font.as_scaled(size as f32);
            let chars: Vec<char> = "random batches, semihard triplets · 2 epochs (mean \
                                    Dev accuracy on lfw-20-30"
                .chars()
                .collect();
            for pair in chars.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                if a == ' ' || b == ' ' {
                    continue;
                }
                let (ia, ib) = (scaled.glyph_id(a), scaled.glyph_id(b));
                let pen = f64::from(scaled.h_advance(ia) + scaled.kern(ia, ib));
                // The second letter's ink: the pair's less the first letter's, drawn alone.
                let first = coverage(&ink(&a.to_string(), size));
                let mut second = coverage(&ink(&format!("{a}{b}"), size));
                for (at, c) in second.iter_mut() {
                    *c -= first.get(at).copied().unwrap_or(0.0);
                }
                let alone = centre(&coverage(&ink(&b.to_string(), size)));
                let off = centre(&second) - alone - pen;
                assert!(
                    off.abs() < 0.15,
                    "{a}{b} at {size} px: {b} is {off:.2} px off its pen"
                );
            }
        }
    }

    /// Each glyph keeps its side bearings: an `l` alone at 40 px starts its ink where the font
    /// says (193 of 2048 units of the em after the pen; plotters drew it from the pen), and a
    /// full stop sits on the baseline with the letters, not above it.
    #[test]
    fn glyphs_keep_their_bearings_and_baseline() {
        let font = face().expect("the shipped font parses").as_scaled(40.0);
        let bearing = font.h_side_bearing(font.glyph_id('l'));
        let l = ink("l", 40.0);
        let left = l.pixels().map(|p| p.0).min().expect("ink");
        assert!(
            (f64::from(left) - f64::from(bearing)).abs() <= 1.0,
            "ink from column {left}, the bearing is {bearing} px"
        );
        let bottom = |text: &str| {
            ink(text, 13.0)
                .pixels()
                .filter(|p| p.2 >= 0.5)
                .map(|p| p.1)
                .max()
                .expect("ink")
        };
        assert_eq!(bottom("."), bottom("0"), "the full stop's foot");
        assert_eq!(bottom("x"), bottom("0"));
    }

    /// What is drawn fits what plotters measures, which lays out legends and titles: the ink
    /// of a line starts within its first glyph's bearing and ends within its measured width,
    /// as far in as its last glyph's.
    #[test]
    fn the_ink_ends_where_the_measured_width_does() {
        ensure_registered().expect("the shipped font registers");
        for size in [13.0, 15.0, 22.0] {
            let measured = FontDesc::new(FontFamily::Name(FAMILY), size, FontStyle::Normal);
            for text in [
                "semihard triplets · 2 epochs",
                "lr 0.0005 cosine",
                "Dev accuracy",
            ] {
                let (w, _) = measured.box_size(text).expect("measured");
                let drawn = ink(text, size);
                let right = drawn.pixels().map(|p| p.0).max().expect("ink") + 1;
                let left = drawn.pixels().map(|p| p.0).min().expect("ink");
                assert!(
                    right <= w as i32 + 1 && right >= w as i32 - 3,
                    "{text} at {size}: ink to {right}, measured {w}"
                );
                assert!((0..=2).contains(&left), "{text} at {size}: ink from {left}");
            }
        }
    }

    /// Nothing to draw draws nothing.
    #[test]
    fn blank_text_has_no_ink() {
        assert_eq!(ink("", 13.0).pixels().count(), 0);
        assert_eq!(ink("   ", 13.0).pixels().count(), 0);
    }
}
