//! Why AlexNet barely learns with the triplet recipe (docs/experiments.md, runs 16–18): at initialisation,
//! how far apart the L2-normalised embeddings of different images are, against how far one
//! image's embedding moves between two dropout masks.
//!
//! `cargo run --release --example alexnet_probe -- ../shared/data/lfw-20-30`
//!
//! For each network and initialisation it prints the mean squared distance between images
//! (evaluation pass), between the same images under two dropout masks (training passes), and
//! between images in training passes. Initialisations: `torch` (the trainer's, PyTorch's
//! layer defaults), `zero-bias` (the same weights, biases 0) and `kaiming` (convolutions
//! Kaiming-normal fan-out, linear layers N(0, 0.01), biases 0, as torchvision's VGG).
use anyhow::{Context, Result};
use candle_core::{Device, ModuleT, Tensor, D};
use facenet_lab::data::{self, DataSpec, ImportOptions};
use facenet_lab::model::{Arch, EmbeddingNet};
use facenet_lab::rng::Rng;
use facenet_lab::train::params::Params;

fn normalised(t: &Tensor) -> Result<Tensor> {
    Ok(t.broadcast_div(&t.sqr()?.sum_keepdim(1)?.sqrt()?)?)
}

fn mean_sq_dist(a: &Tensor, b: &Tensor) -> Result<f32> {
    Ok((a - b)?.sqr()?.sum(D::Minus1)?.mean_all()?.to_scalar()?)
}

/// Re-draws AlexNet's weights (all but the embedding layer) for the `zero-bias` and `kaiming`
/// initialisations.
fn reinit(params: &Params, init: &str) -> Result<()> {
    for (name, var) in params.named_vars() {
        if name.starts_with("classifier.6") {
            continue;
        }
        if name.ends_with("bias") {
            var.set(&var.zeros_like()?)?;
        } else if init == "kaiming" {
            let dims = var.dims().to_vec();
            let std = match dims.as_slice() {
                [c_out, _, k_h, k_w] => (2.0 / (c_out * k_h * k_w) as f64).sqrt(),
                _ => 0.01,
            };
            let mut rng = Rng::derive(0, &name);
            let n = dims.iter().product();
            let w: Vec<f32> = (0..n).map(|_| (std * rng.normal()) as f32).collect();
            var.set(&Tensor::from_vec(w, dims, &Device::Cpu)?)?;
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .context("usage: alexnet_probe LFW_20_30_DIR")?;
    let spec: DataSpec = path.parse()?;
    let opts = ImportOptions {
        min_images: 20,
        max_images: 30,
        split_seed: None,
        image_size: 64,
        crop: 0.5,
        progress: false,
    };
    let x = data::load(&spec, &opts)?.train.pixels.narrow(0, 0, 64)?;
    for (arch, init) in [
        (Arch::Alexnet, "torch"),
        (Arch::Alexnet, "zero-bias"),
        (Arch::Alexnet, "kaiming"),
        (Arch::Resnet18, "torch"),
    ] {
        let params = Params::new(0);
        let net = EmbeddingNet::new(arch, 128, params.builder(&Device::Cpu))?;
        if init != "torch" {
            reinit(&params, init)?;
        }
        let eval = normalised(&net.forward_t(&x, false)?)?;
        let between = mean_sq_dist(&eval, &eval.roll(1, 0)?)?;
        let a = normalised(&net.forward_train(&x, &mut Rng::new(1))?)?;
        let b = normalised(&net.forward_train(&x, &mut Rng::new(2))?)?;
        let masks = mean_sq_dist(&a, &b)?;
        let train_between = mean_sq_dist(&a, &a.roll(1, 0)?)?;
        println!(
            "{:<9} {init:<9}  between images {between:.4}  same image, two masks \
             {masks:.4}  between images in training {train_between:.4}",
            arch.as_str()
        );
    }
    Ok(())
}
