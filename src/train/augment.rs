//! Light augmentation on the device: a random horizontal flip and a random shift of up to
//! 1/16 of the image (zero padding, i.e. mid-grey after normalisation), per image.

use candle_core::{DType, Result, Tensor};

use crate::rng::Rng;

pub fn augment(x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
    let (b, _c, h, w) = x.dims4()?;
    let dev = x.device();
    let reversed: Vec<u32> = (0..w as u32).rev().collect();
    let flipped = x.index_select(&Tensor::new(reversed.as_slice(), dev)?, 3)?;
    let flips: Vec<f32> = (0..b)
        .map(|_| if rng.uniform() < 0.5 { 1.0 } else { 0.0 })
        .collect();
    let m = Tensor::from_vec(flips, (b, 1, 1, 1), dev)?.to_dtype(x.dtype())?;
    let x = (flipped.broadcast_mul(&m)? + x.broadcast_mul(&m.affine(-1.0, 1.0)?)?)?;
    let pad = (h.min(w) / 16).max(1);
    let padded = x.pad_with_zeros(2, pad, pad)?.pad_with_zeros(3, pad, pad)?;
    let crops = (0..b)
        .map(|i| {
            let (dy, dx) = (rng.below(2 * pad + 1), rng.below(2 * pad + 1));
            padded.narrow(0, i, 1)?.narrow(2, dy, h)?.narrow(3, dx, w)
        })
        .collect::<Result<Vec<_>>>()?;
    Tensor::cat(&crops, 0)?.to_dtype(DType::F32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

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
    fn a_flip_mirrors_rows() -> Result<()> {
        // With 1-pixel images nothing can shift, so the output is the input or its mirror.
        let x = Tensor::new(&[[[[1f32, 2.0, 3.0, 4.0]]]], &Device::Cpu)?; // (1,1,1,4)
        let mut seen = std::collections::HashSet::new();
        for seed in 0..20 {
            let y = augment(&x, &mut Rng::new(seed))?
                .flatten_all()?
                .to_vec1::<f32>()?;
            let mirrored: Vec<f32> = y.iter().rev().copied().collect();
            // Shifted by at most one pixel with zero fill, in either orientation.
            assert!(y
                .iter()
                .chain(&mirrored)
                .all(|v| [0.0, 1.0, 2.0, 3.0, 4.0].contains(v)));
            seen.insert(y[1].to_bits());
        }
        assert!(seen.len() > 1);
        Ok(())
    }
}
