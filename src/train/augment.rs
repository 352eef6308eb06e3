//! Light augmentation on the device: a random horizontal flip and a random shift of up to
//! 1/16 of the image (zero padding, i.e. mid-grey after normalisation), per image.

use candle_core::{DType, Result, Tensor};

use crate::rng::Rng;

pub fn augment(x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
    let (b, _c, h, w) = x.dims4()?;
    let pad = max_shift(h, w);
    // Every flip first, then every shift: the order runs have always drawn them in.
    let flips: Vec<bool> = (0..b).map(|_| rng.uniform() < 0.5).collect();
    let offsets: Vec<(usize, usize)> = (0..b)
        .map(|_| (rng.below(2 * pad + 1), rng.below(2 * pad + 1)))
        .collect();
    apply(x, &flips, &offsets, pad)
}

/// The largest shift, in pixels, for an `h`×`w` image.
fn max_shift(h: usize, w: usize) -> usize {
    (h.min(w) / 16).max(1)
}

/// Mirrors image `i` left–right where `flips[i]`, then takes its `h`×`w` window at
/// `offsets[i]` = (dy, dx) of the image padded by `pad` zeros on every side, so (pad, pad)
/// leaves it in place.
fn apply(x: &Tensor, flips: &[bool], offsets: &[(usize, usize)], pad: usize) -> Result<Tensor> {
    let (b, _c, h, w) = x.dims4()?;
    if flips.len() != b || offsets.len() != b {
        candle_core::bail!(
            "augmenting {b} images with {} flips and {} offsets",
            flips.len(),
            offsets.len()
        );
    }
    let dev = x.device();
    let reversed: Vec<u32> = (0..w as u32).rev().collect();
    let flipped = x.index_select(&Tensor::new(reversed.as_slice(), dev)?, 3)?;
    let flips: Vec<f32> = flips.iter().map(|&f| f32::from(u8::from(f))).collect();
    let m = Tensor::from_vec(flips, (b, 1, 1, 1), dev)?.to_dtype(x.dtype())?;
    let x = (flipped.broadcast_mul(&m)? + x.broadcast_mul(&m.affine(-1.0, 1.0)?)?)?;
    let padded = x.pad_with_zeros(2, pad, pad)?.pad_with_zeros(3, pad, pad)?;
    let crops = offsets
        .iter()
        .enumerate()
        .map(|(i, &(dy, dx))| padded.narrow(0, i, 1)?.narrow(2, dy, h)?.narrow(3, dx, w))
        .collect::<Result<Vec<_>>>()?;
    Tensor::cat(&crops, 0)?.to_dtype(DType::F32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Two 1×4×5 images, values 1..=40: no row or column is symmetric.
    fn two_images() -> Result<Tensor> {
        Tensor::arange(1f32, 41.0, &Device::Cpu)?.reshape((2, 1, 4, 5))
    }

    fn rows(t: &Tensor, i: usize) -> Result<Vec<Vec<f32>>> {
        t.get(i)?.get(0)?.to_vec2::<f32>()
    }

    #[test]
    fn keeps_shape_and_is_reproducible_and_changes_images() -> Result<()> {
        let x =
            Tensor::arange(0f32, 2.0 * 3.0 * 32.0 * 32.0, &Device::Cpu)?.reshape((2, 3, 32, 32))?;
        let a = augment(&x, &mut Rng::new(5))?;
        let b = augment(&x, &mut Rng::new(5))?;
        assert_eq!(a.dims(), x.dims());
        assert_eq!(
            a.flatten_all()?.to_vec1::<f32>()?,
            b.flatten_all()?.to_vec1::<f32>()?
        );
        let changed = (a - &x)?.abs()?.sum_all()?.to_scalar::<f32>()?;
        assert!(changed > 0.0);
        Ok(())
    }

    #[test]
    fn a_flip_is_the_exact_mirror_and_no_flip_the_image() -> Result<()> {
        let x = two_images()?;
        let y = apply(&x, &[true, false], &[(1, 1), (1, 1)], 1)?;
        let mirrored: Vec<Vec<f32>> = rows(&x, 0)?
            .into_iter()
            .map(|r| r.into_iter().rev().collect())
            .collect();
        assert_eq!(rows(&y, 0)?, mirrored);
        assert_eq!(rows(&y, 1)?, rows(&x, 1)?);
        Ok(())
    }

    #[test]
    fn a_shift_moves_the_image_and_fills_with_zeros() -> Result<()> {
        // Offset (0, 2) of a 1-padded image: one row down, one column left.
        let x = two_images()?;
        let y = apply(&x, &[false, false], &[(0, 2), (1, 1)], 1)?;
        let x0 = rows(&x, 0)?;
        let mut want = vec![vec![0.0; 5]; 4];
        for r in 1..4 {
            for c in 0..4 {
                want[r][c] = x0[r - 1][c + 1];
            }
        }
        assert_eq!(rows(&y, 0)?, want);
        assert!(apply(&x, &[false], &[(1, 1), (1, 1)], 1).is_err());
        Ok(())
    }

    #[test]
    fn augment_flips_about_half_the_images() -> Result<()> {
        // Every row of a 16×16 image counts 1..=16 from left to right; a shift of at most one
        // pixel keeps the middle columns' order, a flip reverses it.
        let n = 256;
        let x = Tensor::arange(1f32, 17.0, &Device::Cpu)?
            .reshape((1, 1, 1, 16))?
            .broadcast_as((n, 1, 16, 16))?
            .contiguous()?;
        let y = augment(&x, &mut Rng::new(3))?;
        let mut flipped = 0;
        for i in 0..n {
            let row = &rows(&y, i)?[8];
            assert!(row[5] != row[10], "image {i}: {row:?}");
            flipped += usize::from(row[5] > row[10]);
        }
        // Within three standard deviations of a fair coin's count: 128 ± 24.
        assert!((104..=152).contains(&flipped), "{flipped} of {n} flipped");
        Ok(())
    }
}
