//! A small face-like dataset generated in memory, deterministic from a seed.
//!
//! Each identity gets its own stable structure drawn from Rng (seeded by the dataset seed
//! and the identity index): background, head ellipse and skin tone, hair band, eyes, brows, nose
//! and mouth at identity-specific positions and sizes, two identity-specific marks, and a
//! shading direction. Each image then gets its own pose shift and scale, lighting gradient,
//! brightness and per-pixel noise. Only `+ - * /` and comparisons are used, so the pixels (and
//! hashes) are the same on every platform.
//!
//! Images are rendered at [`BASE_SIZE`] x [`BASE_SIZE`] RGB; a member's sha256 is the hash of
//! those raw RGB bytes (row-major, `RGBRGB...`), independent of the requested image size, which
//! is reached by the same bilinear resize as for LFW. Identities are named `id00`, `id01`, ...
//! (wider when there are more than 100) and files `id07_0003.png` (numbered from 1).
use anyhow::{bail, Context, Result};
use image::{Rgb, RgbImage};

use crate::rng::Rng;

/// Side of the generated images, before resizing.
pub const BASE_SIZE: u32 = 64;

/// The name of identity `index` among `count`.
pub fn identity_name(index: usize, count: usize) -> String {
    let width = count.saturating_sub(1).to_string().len().max(2);
    format!("id{index:0width$}")
}

/// The file name of image `index` (0-based) of `identity`.
pub fn file_name(identity: &str, index: usize) -> String {
    format!("{identity}_{:04}.png", index + 1)
}

/// Inverse of [`identity_name`]/[`file_name`]: (identity index, image index).
pub fn parse_names(identity: &str, file: &str) -> Result<(usize, usize)> {
    let parse = || -> Option<(usize, usize)> {
        let id = identity.strip_prefix("id")?.parse::<usize>().ok()?;
        let rest = file.strip_prefix(identity)?.strip_prefix('_')?;
        let n = rest.strip_suffix(".png")?.parse::<usize>().ok()?;
        Some((id, n.checked_sub(1)?))
    };
    parse().with_context(|| {
        format!(
            "{identity}/{file} is not a synthetic image name (expected e.g. id07/id07_0003.png)"
        )
    })
}

/// Checks the sizes of a synthetic dataset.
pub fn check(identities: usize, per_identity: usize) -> Result<()> {
    if identities < 2 {
        bail!("synthetic data needs at least 2 identities, got {identities}: use e.g. synthetic:12:24");
    }
    if per_identity < 3 {
        bail!(
            "synthetic data needs at least 3 images per identity (train, dev and test), got \
             {per_identity}: use e.g. synthetic:12:24"
        );
    }
    if identities > 10_000 || per_identity > 10_000 {
        bail!("synthetic data is limited to 10000 identities and 10000 images per identity");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Blob {
    cx: f64,
    cy: f64,
    rx: f64,
    ry: f64,
    color: [f64; 3],
}

impl Blob {
    /// Coverage in [0, 1] with a soft edge.
    fn mask(&self, u: f64, v: f64) -> f64 {
        let du = (u - self.cx) / self.rx;
        let dv = (v - self.cy) / self.ry;
        let t = ((1.25 - (du * du + dv * dv)) / 0.5).clamp(0.0, 1.0);
        t * t * (3.0 - 2.0 * t)
    }
}

/// An identity's stable structure.
#[derive(Debug, Clone)]
struct Face {
    background: [f64; 3],
    layers: Vec<Blob>,
    shade: (f64, f64),
}

fn range(r: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * r.uniform()
}

fn color(r: &mut Rng, lo: f64, hi: f64) -> [f64; 3] {
    [range(r, lo, hi), range(r, lo, hi), range(r, lo, hi)]
}

fn mix(seed: u64, a: u64, b: u64) -> u64 {
    seed ^ (a.wrapping_add(1)).wrapping_mul(0xD1B5_4A32_D192_ED03)
        ^ (b.wrapping_add(1)).wrapping_mul(0xAEF1_7502_108E_F2D9)
}

impl Face {
    fn new(seed: u64, identity: usize) -> Face {
        let mut r = Rng::new(mix(seed, identity as u64, u64::MAX));
        let background = color(&mut r, 20.0, 235.0);
        let tone = range(&mut r, 90.0, 230.0);
        let skin = [
            tone,
            tone * range(&mut r, 0.7, 0.9),
            tone * range(&mut r, 0.5, 0.8),
        ];
        let head = Blob {
            cx: range(&mut r, -0.08, 0.08),
            cy: range(&mut r, -0.02, 0.1),
            rx: range(&mut r, 0.48, 0.66),
            ry: range(&mut r, 0.62, 0.82),
            color: skin,
        };
        let hair = Blob {
            cx: head.cx,
            cy: head.cy - head.ry * range(&mut r, 0.75, 1.0),
            rx: head.rx * range(&mut r, 0.85, 1.1),
            ry: range(&mut r, 0.15, 0.4),
            color: color(&mut r, 10.0, 160.0),
        };
        let eye_y = head.cy + range(&mut r, -0.32, -0.08);
        let eye_dx = range(&mut r, 0.16, 0.34);
        let eye_r = range(&mut r, 0.05, 0.11);
        let eye_color = color(&mut r, 0.0, 90.0);
        let brow_up = range(&mut r, 0.1, 0.2);
        let brow_color = color(&mut r, 0.0, 110.0);
        let brow_w = range(&mut r, 0.08, 0.16);
        let mut layers = vec![head, hair];
        for side in [-1.0, 1.0] {
            layers.push(Blob {
                cx: head.cx + side * eye_dx,
                cy: eye_y,
                rx: eye_r * range(&mut r, 1.0, 1.6),
                ry: eye_r,
                color: eye_color,
            });
            layers.push(Blob {
                cx: head.cx + side * eye_dx,
                cy: eye_y - brow_up,
                rx: brow_w,
                ry: range(&mut r, 0.025, 0.05),
                color: brow_color,
            });
        }
        let nose_len = range(&mut r, 0.1, 0.25);
        layers.push(Blob {
            cx: head.cx + range(&mut r, -0.03, 0.03),
            cy: eye_y + 0.08 + nose_len / 2.0,
            rx: range(&mut r, 0.04, 0.09),
            ry: nose_len / 2.0 + 0.03,
            color: skin.map(|c| c * range(&mut r, 0.55, 0.85)),
        });
        layers.push(Blob {
            cx: head.cx + range(&mut r, -0.05, 0.05),
            cy: head.cy + range(&mut r, 0.28, 0.48),
            rx: range(&mut r, 0.12, 0.3),
            ry: range(&mut r, 0.03, 0.08),
            color: [
                range(&mut r, 80.0, 200.0),
                range(&mut r, 20.0, 90.0),
                range(&mut r, 20.0, 90.0),
            ],
        });
        for _ in 0..2 {
            layers.push(Blob {
                cx: head.cx + range(&mut r, -0.4, 0.4),
                cy: head.cy + range(&mut r, -0.4, 0.5),
                rx: range(&mut r, 0.04, 0.12),
                ry: range(&mut r, 0.04, 0.12),
                color: color(&mut r, 0.0, 255.0),
            });
        }
        let shade = (range(&mut r, -0.3, 0.3), range(&mut r, -0.3, 0.3));
        Face {
            background,
            layers,
            shade,
        }
    }

    fn render(&self, seed: u64, identity: usize, image: usize) -> RgbImage {
        let mut r = Rng::new(mix(seed, identity as u64, image as u64));
        let (dx, dy) = (range(&mut r, -0.1, 0.1), range(&mut r, -0.1, 0.1));
        let scale = range(&mut r, 0.9, 1.1);
        let (lx, ly) = (range(&mut r, -0.3, 0.3), range(&mut r, -0.3, 0.3));
        let gain = range(&mut r, 0.8, 1.15);
        let half = f64::from(BASE_SIZE) / 2.0;
        RgbImage::from_fn(BASE_SIZE, BASE_SIZE, |x, y| {
            let u0 = (f64::from(x) + 0.5) / half - 1.0;
            let v0 = (f64::from(y) + 0.5) / half - 1.0;
            let (u, v) = ((u0 - dx) / scale, (v0 - dy) / scale);
            let mut c = self.background;
            for blob in &self.layers {
                let m = blob.mask(u, v);
                for (ch, target) in c.iter_mut().zip(blob.color) {
                    *ch += (target - *ch) * m;
                }
            }
            let light = gain * (1.0 + self.shade.0 * u + self.shade.1 * v + lx * u0 + ly * v0);
            // Irwin–Hall noise: sum of four uniforms, mean 0, sd about 9 grey levels.
            let noise: f64 = (0..4).map(|_| r.uniform()).sum::<f64>() - 2.0;
            Rgb(c.map(|ch| (ch * light + noise * 16.0).clamp(0.0, 255.0).round() as u8))
        })
    }
}

/// Renders image `image` of identity `identity`.
pub fn render(seed: u64, identity: usize, image: usize) -> RgbImage {
    Face::new(seed, identity).render(seed, identity, image)
}

/// Renders all images of one identity.
pub fn render_identity(seed: u64, identity: usize, count: usize) -> Vec<RgbImage> {
    let face = Face::new(seed, identity);
    (0..count).map(|i| face.render(seed, identity, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
        let s: f64 = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
            .sum();
        s / a.as_raw().len() as f64
    }

    #[test]
    fn deterministic_and_distinct() {
        let a = render(3, 1, 0);
        assert_eq!(a, render(3, 1, 0));
        assert_eq!(a.dimensions(), (BASE_SIZE, BASE_SIZE));
        assert_ne!(a, render(4, 1, 0), "seed matters");
        // Same identity, different images: similar. Different identities: less similar.
        let same = mean_abs_diff(&render(3, 1, 0), &render(3, 1, 1));
        let other = mean_abs_diff(&render(3, 1, 0), &render(3, 2, 0));
        assert!(
            same > 2.0,
            "images of an identity differ (noise, pose): {same}"
        );
        assert!(
            other > same,
            "identities differ more than images: {other} vs {same}"
        );
    }

    #[test]
    fn names_round_trip() -> Result<()> {
        assert_eq!(identity_name(7, 12), "id07");
        assert_eq!(identity_name(7, 1000), "id007");
        assert_eq!(file_name("id07", 2), "id07_0003.png");
        assert_eq!(parse_names("id07", "id07_0003.png")?, (7, 2));
        assert!(parse_names("id07", "id08_0003.png").is_err());
        assert!(parse_names("x", "x_0001.png").is_err());
        Ok(())
    }

    #[test]
    fn checks_sizes() {
        assert!(check(12, 24).is_ok() && check(2, 3).is_ok());
        let err = |i, k| check(i, k).unwrap_err().to_string();
        assert!(err(1, 24).contains("at least 2 identities, got 1"));
        assert!(err(12, 2).contains("at least 3 images per identity"));
        assert!(err(10_001, 3).contains("limited to 10000"));
    }
}
