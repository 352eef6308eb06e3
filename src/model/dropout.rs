//! Dropout with masks from the project's seeded generator. candle-nn's `Dropout` draws its
//! masks with `Tensor::rand`, which on the CPU uses an unseeded thread-local generator: no two
//! runs with the same seed, and no resumed run, would drop the same units.

use candle_core::{DType, Result, Tensor};

use crate::rng::Rng;

/// Zeroes each element of `xs` with probability `p` and scales the others by `1 / (1 - p)`
/// (torch's inverted dropout). The mask is drawn on the host, one uniform per element in
/// row-major order, and copied to `xs`'s device as bytes, so one generator state gives the
/// same mask on every device.
pub fn dropout(xs: &Tensor, p: f32, rng: &mut Rng) -> Result<Tensor> {
    if !(0.0..1.0).contains(&p) {
        candle_core::bail!("dropout probability must be in [0, 1), got {p}");
    }
    let keep: Vec<u8> = (0..xs.elem_count())
        .map(|_| u8::from(rng.uniform() >= f64::from(p)))
        .collect();
    let mask = Tensor::from_vec(keep, xs.shape(), xs.device())?
        .to_dtype(DType::F32)?
        .affine(1.0 / (1.0 - f64::from(p)), 0.0)?
        .to_dtype(xs.dtype())?;
    xs * mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn ones(n: usize) -> Result<Tensor> {
        Tensor::ones((4, n / 4), DType::F32, &Device::Cpu)
    }

    fn mask(p: f32, seed: u64) -> Result<Vec<f32>> {
        dropout(&ones(4000)?, p, &mut Rng::new(seed))?
            .flatten_all()?
            .to_vec1::<f32>()
    }

    #[test]
    fn the_same_generator_drops_the_same_units() -> Result<()> {
        assert_eq!(mask(0.5, 7)?, mask(0.5, 7)?);
        assert_ne!(mask(0.5, 7)?, mask(0.5, 8)?);
        // Successive draws from one generator differ (two layers, or two steps).
        let mut rng = Rng::new(7);
        let a = dropout(&ones(400)?, 0.5, &mut rng)?.to_vec2::<f32>()?;
        let b = dropout(&ones(400)?, 0.5, &mut rng)?.to_vec2::<f32>()?;
        assert_ne!(a, b);
        Ok(())
    }

    #[test]
    fn drops_a_share_p_and_scales_the_rest() -> Result<()> {
        for p in [0.5f32, 0.2] {
            let m = mask(p, 1)?;
            let dropped = m.iter().filter(|&&v| v == 0.0).count() as f32 / m.len() as f32;
            assert!((dropped - p).abs() < 0.03, "p {p}: dropped {dropped}");
            let scale = 1.0 / (1.0 - p);
            assert!(m.iter().all(|&v| v == 0.0 || v == scale), "p {p}");
        }
        // p = 0 keeps everything as it is.
        assert_eq!(mask(0.0, 1)?, vec![1.0; 4000]);
        let err = dropout(&ones(8)?, 1.0, &mut Rng::new(0))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("[0, 1), got 1"), "{err}");
        Ok(())
    }
}
