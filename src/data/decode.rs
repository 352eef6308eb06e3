//! JPEG validation and decoding to normalised RGB pixels.
//!
//! Validation is a full decode plus two checks the lenient decoder does not make: the file must
//! start with the JPEG start-of-image marker `FF D8` and end (ignoring trailing zero padding)
//! with the end-of-image marker `FF D9`, so text files named `.jpg` and truncated transfers are
//! both rejected. Pixels are converted to RGB (gray → R=G=B), resized with the bilinear
//! (triangle) filter and normalised to `[-1, 1]` as `x / 127.5 - 1`, channels first.
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
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    if end < 4 || bytes[end - 2..end] != [0xFF, 0xD9] {
        bail!("truncated JPEG (no end-of-image marker)");
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

/// Converts to RGB and resizes to `size` x `size` (bilinear); a no-op resize is skipped.
pub fn to_rgb_resized(img: &DynamicImage, size: u32) -> RgbImage {
    let rgb = img.to_rgb8();
    if rgb.width() == size && rgb.height() == size {
        rgb
    } else {
        image::imageops::resize(&rgb, size, size, FilterType::Triangle)
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
            let rgb = to_rgb_resized(&decoded, 16);
            assert_eq!(rgb.dimensions(), (16, 16));
            let mut out = vec![0f32; 3 * 16 * 16];
            normalise_into(&rgb, &mut out);
            assert!(out.iter().all(|v| (-1.0..=1.0).contains(v)));
            let plane = 16 * 16;
            let equal =
                (0..plane).all(|i| out[i] == out[plane + i] && out[i] == out[2 * plane + i]);
            assert_eq!(equal, is_gray);
        }
        Ok(())
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
        assert!(decode_jpeg(&good).is_ok());
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
        // Garbage between the markers is caught by the decoder.
        let mut garbage = vec![0xFF, 0xD8];
        garbage.extend(std::iter::repeat_n(0x42, 100));
        garbage.extend([0xFF, 0xD9]);
        assert!(decode_jpeg(&garbage).is_err());
        Ok(())
    }
}
