//! JPEG validation and decoding to normalised RGB pixels.
//!
//! Validation is a full decode plus two checks the lenient decoder does not make: the file must
//! start with the JPEG start-of-image marker `FF D8`, and its segments and scans, walked in
//! order, must reach the end-of-image marker `FF D9`, so text files named `.jpg` and truncated
//! transfers are both rejected. Bytes after that marker (metadata, or the video of a "motion
//! photo", that some cameras and editors append) are ignored, as other decoders ignore them.
//! Pixels are converted to RGB (gray → R=G=B), resized with the bilinear (triangle) filter and
//! normalised to `[-1, 1]` as `x / 127.5 - 1`, channels first.
use anyhow::{bail, Result};
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, RgbImage};

/// Why a file is not a usable JPEG, or its decoded image.
pub fn decode_jpeg(bytes: &[u8]) -> Result<DynamicImage> {
    if bytes.is_empty() {
        bail!("empty file");
    }
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        bail!("not a JPEG (no start-of-image marker)");
    }
    if !reaches_its_end(bytes) {
        bail!("truncated JPEG (its segments and scans end before an end-of-image marker)");
    }
    let img = match image::load_from_memory_with_format(bytes, ImageFormat::Jpeg) {
        Ok(img) => img,
        Err(e) => bail!("corrupt JPEG ({e})"),
    };
    if img.width() == 0 || img.height() == 0 {
        bail!("JPEG has no pixels");
    }
    Ok(img)
}

/// Whether the JPEG's markers, walked from its start, reach the end-of-image marker: each
/// segment skipped by its length (an EXIF thumbnail, with its own markers, inside one), each
/// scan's data read to the next marker (`FF` followed by `00` or a restart marker is data).
/// What follows the end-of-image marker is not looked at.
fn reaches_its_end(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let mut i = 2;
    while i + 1 < n {
        if bytes[i] != 0xFF {
            return false;
        }
        match bytes[i + 1] {
            0xD9 => return true,
            // Fill bytes before a marker.
            0xFF => i += 1,
            // Markers without a length.
            0x01 | 0xD0..=0xD8 => i += 2,
            marker => {
                if i + 3 >= n {
                    return false;
                }
                i += 2 + usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
                if marker == 0xDA {
                    // The scan's data, up to the marker after it.
                    while i + 1 < n
                        && (bytes[i] != 0xFF || matches!(bytes[i + 1], 0x00 | 0xD0..=0xD7))
                    {
                        i += 1;
                    }
                }
            }
        }
    }
    false
}

/// Whether a JPEG holds one channel (grayscale) rather than colour, read from its frame header
/// without decoding it; None where no frame header comes before the image data.
pub fn jpeg_is_gray(bytes: &[u8]) -> Option<bool> {
    let mut i = 2;
    while i + 3 < bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        match marker {
            // Fill bytes before a marker.
            0xFF => i += 1,
            // Markers without a length.
            0x01 | 0xD0..=0xD8 => i += 2,
            // The frame header: length, precision, height, width, then the channels.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return bytes.get(i + 9).map(|&channels| channels == 1);
            }
            // The image data, and no frame header before it.
            0xDA => return None,
            _ => i += 2 + usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]])),
        }
    }
    None
}

/// How a decoded image becomes the network's input: the central `crop` fraction of its width
/// and height (1 = the whole image), resized to `size` x `size`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pixels {
    pub size: u32,
    pub crop: f64,
}

impl Pixels {
    /// Checks a size and crop given by a person.
    pub fn new(image_size: usize, crop: f64) -> Result<Self> {
        let Some(size) = u32::try_from(image_size)
            .ok()
            .filter(|&s| s > 0 && s <= 4096)
        else {
            bail!("image size {image_size} is out of range: use 1..=4096, e.g. 224");
        };
        if !(crop > 0.0 && crop <= 1.0) {
            bail!("crop {crop} is not a fraction in (0, 1] of the image's side, e.g. 0.5");
        }
        Ok(Pixels { size, crop })
    }

    /// The whole image, resized to `size` x `size`.
    pub fn whole(size: u32) -> Self {
        Pixels { size, crop: 1.0 }
    }
}

/// Converts to RGB, keeps the central crop and resizes (bilinear).
pub fn to_rgb_resized(img: &DynamicImage, pixels: Pixels) -> RgbImage {
    crop_and_resize(img.to_rgb8(), pixels)
}

/// Keeps the central crop and resizes (bilinear); a no-op crop or resize is skipped.
pub fn crop_and_resize(rgb: RgbImage, pixels: Pixels) -> RgbImage {
    let (w, h) = rgb.dimensions();
    let side = |n: u32| ((f64::from(n) * pixels.crop).round() as u32).clamp(1, n);
    let (cw, ch) = (side(w), side(h));
    let rgb = if (cw, ch) == (w, h) {
        rgb
    } else {
        image::imageops::crop_imm(&rgb, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
    };
    if rgb.width() == pixels.size && rgb.height() == pixels.size {
        rgb
    } else {
        image::imageops::resize(&rgb, pixels.size, pixels.size, FilterType::Triangle)
    }
}

/// Writes an RGB image into `out` (length `3 * w * h`) channels first, as `x / 127.5 - 1`.
pub fn normalise_into(rgb: &RgbImage, out: &mut [f32]) {
    let plane = (rgb.width() * rgb.height()) as usize;
    debug_assert_eq!(out.len(), 3 * plane);
    for (i, px) in rgb.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = f32::from(px.0[c]) / 127.5 - 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma, Rgb};
    use std::io::Cursor;

    pub(crate) fn jpeg_bytes(img: &DynamicImage) -> Result<Vec<u8>> {
        let mut buf = Cursor::new(Vec::new());
        img.write_to(&mut buf, ImageFormat::Jpeg)?;
        Ok(buf.into_inner())
    }

    fn gray() -> DynamicImage {
        DynamicImage::ImageLuma8(GrayImage::from_fn(40, 30, |x, y| Luma([(x * 5 + y) as u8])))
    }

    fn color() -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(30, 40, |x, y| {
            Rgb([(x * 8) as u8, (y * 6) as u8, 200])
        }))
    }

    #[test]
    fn gray_and_color_decode_to_normalised_rgb() -> Result<()> {
        for (img, is_gray) in [(gray(), true), (color(), false)] {
            let decoded = decode_jpeg(&jpeg_bytes(&img)?)?;
            let rgb = to_rgb_resized(&decoded, Pixels::whole(16));
            assert_eq!(rgb.dimensions(), (16, 16));
            let mut out = vec![0f32; 3 * 16 * 16];
            normalise_into(&rgb, &mut out);
            assert!(out.iter().all(|v| (-1.0..=1.0).contains(v)));
            let plane = 16 * 16;
            let equal =
                (0..plane).all(|i| out[i] == out[plane + i] && out[i] == out[2 * plane + i]);
            assert_eq!(equal, is_gray);
            if !is_gray {
                // Blue is 200 everywhere, red grows across and green down: channels swapped or
                // mixed would show.
                let at = |c: usize, x: usize, y: usize| out[c * plane + y * 16 + x];
                assert!((at(2, 8, 8) - (200.0 / 127.5 - 1.0)).abs() < 0.1);
                assert!(at(0, 15, 8) > at(0, 0, 8) + 1.0);
                assert!(at(1, 8, 15) > at(1, 8, 0) + 1.0);
            }
        }
        Ok(())
    }

    #[test]
    fn a_jpegs_channels_are_read_from_its_header() -> Result<()> {
        assert_eq!(jpeg_is_gray(&jpeg_bytes(&gray())?), Some(true));
        assert_eq!(jpeg_is_gray(&jpeg_bytes(&color())?), Some(false));
        // A colour image whose pixels are all gray is still a colour JPEG.
        let flat = DynamicImage::ImageRgb8(RgbImage::from_pixel(8, 8, Rgb([90, 90, 90])));
        assert_eq!(jpeg_is_gray(&jpeg_bytes(&flat)?), Some(false));
        assert_eq!(jpeg_is_gray(b"not a jpeg"), None);
        let good = jpeg_bytes(&gray())?;
        assert_eq!(
            jpeg_is_gray(&good[..12]),
            None,
            "cut before its frame header"
        );
        Ok(())
    }

    #[test]
    fn crop_keeps_the_centre_before_resizing() {
        // 10x6 in three column bands: x in 0..2 dark, 2..8 mid (100 + y), 8..10 bright.
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(10, 6, |x, y| {
            let v = match x {
                0..2 => 0,
                2..8 => 100 + y as u8,
                _ => 255,
            };
            Rgb([v, v, v])
        }));
        // Half the side: 5x3 from (2, 1), inside the mid band.
        let half = to_rgb_resized(&img, Pixels { size: 5, crop: 0.5 });
        // Rows 1..4 of the mid band (101..=103), stretched to 5x5.
        assert_eq!(half.dimensions(), (5, 5));
        assert!(
            half.pixels().all(|p| (101..=103).contains(&p.0[0])),
            "{half:?}"
        );
        // The whole image keeps the dark and bright borders.
        let whole = to_rgb_resized(&img, Pixels::whole(10));
        assert_eq!(whole.get_pixel(0, 0).0[0], 0);
        assert_eq!(whole.get_pixel(9, 0).0[0], 255);
        // Exact crop without resizing: 0.6 of 10x10 is 6x6 from (2, 2).
        let exact = to_rgb_resized(
            &DynamicImage::ImageRgb8(RgbImage::from_fn(10, 10, |x, y| Rgb([x as u8, y as u8, 0]))),
            Pixels { size: 6, crop: 0.6 },
        );
        assert_eq!(exact.get_pixel(0, 0).0, [2, 2, 0]);
        assert_eq!(exact.get_pixel(5, 5).0, [7, 7, 0]);
        assert!(Pixels::new(64, 0.0).is_err() && Pixels::new(64, 1.01).is_err());
        assert!(Pixels::new(0, 0.5).is_err());
        assert_eq!(
            Pixels::new(64, 0.5).ok(),
            Some(Pixels {
                size: 64,
                crop: 0.5
            })
        );
    }

    #[test]
    fn normalisation_endpoints() {
        let rgb = RgbImage::from_fn(1, 2, |_, y| {
            if y == 0 {
                Rgb([0, 255, 0])
            } else {
                Rgb([255, 0, 255])
            }
        });
        let mut out = vec![0f32; 6];
        normalise_into(&rgb, &mut out);
        assert_eq!(out, vec![-1.0, 1.0, 1.0, -1.0, -1.0, 1.0]);
    }

    #[test]
    fn rejects_text_truncated_and_empty() -> Result<()> {
        let good = jpeg_bytes(&gray())?;
        let decoded = decode_jpeg(&good)?;
        assert_eq!((decoded.width(), decoded.height()), (40, 30));
        let msg = |b: &[u8]| {
            decode_jpeg(b)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(msg(b"hello, I am not an image\n").contains("not a JPEG"));
        assert!(msg(&good[..good.len() / 2]).contains("truncated"));
        assert!(msg(&good[..good.len() - 2]).contains("truncated"));
        assert!(msg(b"").contains("empty"));
        // What follows the end-of-image marker is not the image's, whatever its bytes.
        for tail in [
            &b"trailing metadata \xFF\xD8 of another tool"[..],
            b"\xFF\xDA\x00\x02 a video's bytes, with a scan marker and no end",
        ] {
            let mut appended = good.clone();
            appended.extend(tail);
            let decoded = decode_jpeg(&appended)?;
            assert_eq!((decoded.width(), decoded.height()), (40, 30));
        }
        // Cut anywhere, it is refused: in its headers, its scan, or just before its end.
        for at in [4, 30, good.len() / 3, good.len() - 3, good.len() - 1] {
            assert!(
                msg(&good[..at]).contains("truncated"),
                "cut at {at}: {}",
                msg(&good[..at])
            );
        }
        // Garbage between the markers is caught by the decoder.
        let mut garbage = vec![0xFF, 0xD8];
        garbage.extend(std::iter::repeat_n(0x42, 100));
        garbage.extend([0xFF, 0xD9]);
        assert!(decode_jpeg(&garbage).is_err());
        Ok(())
    }
}
