//! facenet-lab's training step against PyTorch's, from the same weights and batch.
//!
//! `bench/torch_parity.py` writes one step of a torchvision network (its last layer a linear
//! embedding, AlexNet's dropout off) as safetensors: every parameter and BatchNorm running
//! statistic before the step (`init.NAME`), the batch (`input`, `labels`), the training pass's
//! embeddings, the seed's all-triplet loss, each parameter's gradient (`grad.NAME`), everything
//! after one Adam step at 1e-4 (`after.NAME`), and an evaluation pass after it. [`replay`]
//! loads the weights into facenet-lab's network of the same architecture (its variables carry
//! torchvision's names), takes the same step and compares each output with [`agreement`]'s
//! relative error. `facenet-lab bench --parity FILE` prints the comparisons.
//!
//! Only a file from PyTorch tests fidelity: the unit tests here build their references from
//! facenet-lab's own step, so they test the harness (what is compared, and that a wrong output
//! fails), not that the step is PyTorch's. docs/experiments.md has a real file's results.
//!
//! [`agreement`]: crate::agreement

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, ModuleT, Tensor};

use crate::agreement::{Comparison, Residual};
use crate::model::{is_buffer, Arch, EmbeddingNet};
use crate::rng::Rng;
use crate::train::adam::{Adam, AdamConfig};
use crate::train::checkpoint::restore_params;
use crate::train::config::TrainConfig;
use crate::train::params::Params;
use crate::train::triplet::{triplet_loss, Mining};

/// What one step gives, under the reference file's keys.
pub type Outputs = HashMap<String, Tensor>;

/// The architecture whose torchvision names `init` holds.
fn arch_of(init: &Outputs) -> Result<Arch> {
    Arch::of_torchvision_names(|name| init.contains_key(&format!("init.{name}")))
        .context("no torchvision AlexNet, ResNet-18 or ResNet-152 weights (init.NAME) in the file")
}

/// `key` of the step `whose` outputs `tensors` are, or an error naming both.
fn get<'a>(tensors: &'a Outputs, key: &str, whose: &str) -> Result<&'a Tensor> {
    tensors
        .get(key)
        .with_context(|| format!("{whose} has no {key:?}"))
}

const REFERENCE: &str = "the reference";

/// PyTorch's own f32 step, which the reference file holds under `torch32.`.
fn pytorch_f32(reference: &Outputs) -> Outputs {
    reference
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("torch32.")?.to_string(), v.clone())))
        .collect()
}

/// facenet-lab's step from the weights, batch and labels in `reference` (its `init.*`,
/// `input` and `labels`), on `dev`: the training pass, the loss, its gradients, one Adam step
/// and an evaluation pass, under the keys `bench/torch_parity.py` writes.
pub fn step(reference: &Outputs, dev: &Device) -> Result<Outputs> {
    let arch = arch_of(reference)?;
    let x = get(reference, "input", REFERENCE)?.to_device(dev)?;
    let labels = get(reference, "labels", REFERENCE)?
        .to_dtype(DType::U32)?
        .to_device(dev)?;
    let dim = get(reference, "train.embeddings", REFERENCE)?.dims2()?.1;
    let params = Params::new(0);
    let mut net = EmbeddingNet::new(arch, dim, params.builder(dev))?;
    if arch == Arch::Alexnet {
        net.set_dropout(0.0)?;
    }
    let init: Outputs = reference
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("init.")?.to_string(), v.clone())))
        .collect();
    restore_params(&params, &init, REFERENCE)?;
    let vars = params.named_vars();
    if let Some(extra) = init
        .keys()
        .find(|n| !vars.iter().any(|(name, _)| name == *n))
    {
        bail!("facenet-lab's {arch} has no {extra:?}, which the reference has");
    }

    // The seed's margin and learning rate, as `bench/torch_parity.py` takes its step.
    let seed = TrainConfig::default();
    let mut out = Outputs::new();
    let emb = net.forward_train(&x, &mut Rng::new(0))?;
    let loss = triplet_loss(&emb, &labels, seed.margin, Mining::All)?
        .context("the reference batch has no triplet")?
        .loss;
    let grads = loss.backward()?;
    out.insert("train.embeddings".into(), emb);
    out.insert("loss".into(), loss.reshape(1)?);
    let trainable: Vec<_> = vars
        .iter()
        .filter(|(n, _)| !is_buffer(n))
        .cloned()
        .collect();
    for (name, var) in &trainable {
        let g = grads
            .get(var.as_tensor())
            .with_context(|| format!("{name} received no gradient"))?;
        out.insert(format!("grad.{name}"), g.clone());
    }
    Adam::new(trainable, AdamConfig::with_lr(seed.lr))?.step(&grads)?;
    for (name, var) in &vars {
        out.insert(format!("after.{name}"), var.as_tensor().copy()?);
    }
    out.insert("eval.embeddings".into(), net.forward_t(&x, false)?);
    Ok(out)
}

/// One output of facenet-lab's step, against the reference, next to PyTorch's own f32 step.
#[derive(Clone, Debug)]
pub struct Parity {
    /// facenet-lab's relative error, within [`bound`] of PyTorch's.
    pub ours: Comparison,
    /// PyTorch's f32 step's relative error on the same output.
    pub pytorch: f64,
}

/// The most facenet-lab's error may be: twice PyTorch's own in f32, or 1e-5 (f32 arithmetic
/// in another order) where PyTorch's is smaller.
pub fn bound(pytorch: f64) -> f64 {
    (2.0 * pytorch).max(1e-5)
}

/// Every comparison of facenet-lab's step on `dev` with the reference at `path`: see
/// [`compare`].
pub fn replay(path: &Path, dev: &Device) -> Result<Vec<Parity>> {
    let bytes = std::fs::read(path)?;
    let reference = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .context("not a safetensors file: give the files bench/torch_parity.py wrote")?;
    let ours = step(&reference, dev)?;
    compare(&reference, &ours, &pytorch_f32(&reference))
}

/// `ours` and `pytorch` (PyTorch's f32 step) against `reference` (the f64 step), output by
/// output: the training pass's embeddings; the loss; all gradients as one vector; the
/// parameter whose gradient facenet-lab has furthest off; Adam's update (each parameter's
/// change) as one vector; the running statistics' change; and the evaluation pass after the
/// step, each embedding less the batch's mean embedding.
///
/// The embedding layer's bias is left out of the worst gradient and of Adam's update, and the
/// evaluation is compared centred, for one reason: the loss depends on differences between
/// embeddings only, so that bias's exact gradient is 0 and both steps hold rounding there, to
/// which Adam's first update (about `lr × sign(g)`) gives a full step of either sign, shifting
/// every embedding after it alike. An output for which PyTorch's own error is not finite is an
/// error, not a bound.
pub fn compare(reference: &Outputs, ours: &Outputs, pytorch: &Outputs) -> Result<Vec<Parity>> {
    let arch = arch_of(reference)?;
    let case = format!("{arch} {:?}", get(reference, "input", REFERENCE)?.dims());
    let mut names: Vec<&str> = reference
        .keys()
        .filter_map(|k| k.strip_prefix("init."))
        .collect();
    names.sort_unstable();
    let (buffers, trainable): (Vec<&str>, Vec<&str>) =
        names.into_iter().partition(|n| is_buffer(n));
    let moved: Vec<&str> = trainable
        .iter()
        .copied()
        .filter(|n| !is_embedding_bias(arch, n))
        .collect();
    let f64_cpu = |t: &Tensor| t.to_device(&Device::Cpu)?.to_dtype(DType::F64);
    // A step's output under `key`, as compared: an `after.` of a parameter as its change from
    // `init.`, the evaluation's embeddings less their mean.
    let compared = |step: &Outputs, whose: &str, key: &str| -> Result<Tensor> {
        let t = f64_cpu(get(step, key, whose)?)?;
        Ok(match key.strip_prefix("after.") {
            Some(name) => (t - f64_cpu(get(reference, &format!("init.{name}"), REFERENCE)?)?)?,
            None if key == "eval.embeddings" => t.broadcast_sub(&t.mean_keepdim(0)?)?,
            None => t,
        })
    };
    // facenet-lab's and PyTorch's residuals against the reference under `key`, each output
    // read and compared once; a row over many keys sums theirs.
    let residuals = |key: &str| -> Result<[Residual; 2]> {
        let exact = compared(reference, REFERENCE, key)?;
        Ok([
            Residual::of(&compared(ours, "facenet-lab's step", key)?, &exact)?,
            Residual::of(&compared(pytorch, "PyTorch's f32 step", key)?, &exact)?,
        ])
    };
    let sum = |parts: Vec<[Residual; 2]>| {
        let zero = [Residual::default(); 2];
        parts
            .into_iter()
            .fold(zero, |s, r| [s[0] + r[0], s[1] + r[1]])
    };
    let over = |prefix: &str, names: &[&str]| -> Result<[Residual; 2]> {
        let parts = names.iter().map(|n| residuals(&format!("{prefix}{n}")));
        Ok(sum(parts.collect::<Result<_>>()?))
    };
    let gradients = trainable
        .iter()
        .map(|name| Ok((*name, residuals(&format!("grad.{name}"))?)))
        .collect::<Result<Vec<_>>>()?;
    let (worst_name, worst) = gradients
        .iter()
        .filter(|(name, _)| moved.contains(name))
        .max_by(|a, b| a.1[0].rel_err().total_cmp(&b.1[0].rel_err()))
        .context("the reference holds no parameters (init.NAME)")?;
    let all_gradients = sum(gradients.iter().map(|(_, r)| *r).collect());
    let mut rows = vec![
        (
            "embeddings, training pass".to_string(),
            over("", &["train.embeddings"])?,
        ),
        ("loss".to_string(), over("", &["loss"])?),
        ("gradients".to_string(), all_gradients),
        (format!("worst gradient: {worst_name}"), *worst),
        ("Adam's update".to_string(), over("after.", &moved)?),
    ];
    // AlexNet has no BatchNorm.
    if !buffers.is_empty() {
        rows.push((
            "running statistics' change".to_string(),
            over("after.", &buffers)?,
        ));
    }
    rows.push((
        "embeddings, evaluation after (centred)".to_string(),
        over("", &["eval.embeddings"])?,
    ));
    rows.into_iter()
        .map(|(output, [ours, theirs])| {
            let pytorch = theirs.rel_err();
            if !pytorch.is_finite() {
                bail!("PyTorch's f32 step is not finite in {output}");
            }
            Ok(Parity {
                ours: Comparison {
                    case: case.clone(),
                    output,
                    rel_err: ours.rel_err(),
                    tolerance: bound(pytorch),
                },
                pytorch,
            })
        })
        .collect()
}

/// The bias of the embedding layer, whose exact gradient under a triplet loss is 0.
fn is_embedding_bias(arch: Arch, name: &str) -> bool {
    name.strip_suffix(".bias") == Some(arch.embedding_layer())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference as `bench/torch_parity.py` writes one, from facenet-lab's own step: random
    /// weights and images, the step's outputs as the exact ones, and as PyTorch's f32 step
    /// those outputs off by a relative 1e-3.
    fn reference(arch: Arch, size: usize) -> Result<Outputs> {
        let params = Params::new(3);
        EmbeddingNet::new(arch, 8, params.builder(&Device::Cpu))?;
        let mut reference: Outputs = params
            .named_vars()
            .into_iter()
            .map(|(name, var)| (format!("init.{name}"), var.as_tensor().clone()))
            .collect();
        let mut rng = Rng::new(5);
        let pixels: Vec<f32> = (0..4 * 3 * size * size)
            .map(|_| rng.normal() as f32)
            .collect();
        let x = Tensor::from_vec(pixels, (4, 3, size, size), &Device::Cpu)?;
        reference.insert("input".into(), x);
        let labels = Tensor::new(&[0i64, 0, 1, 1], &Device::Cpu)?;
        reference.insert("labels".into(), labels);
        let emb = Tensor::zeros((4, 8), DType::F32, &Device::Cpu)?;
        reference.insert("train.embeddings".into(), emb);
        for (key, t) in step(&reference, &Device::Cpu)? {
            reference.insert(format!("torch32.{key}"), (&t * 1.001)?);
            reference.insert(key, t);
        }
        Ok(reference)
    }

    /// The outputs `compare` fails when `ours` has `key` scaled by `factor`.
    fn failed_with(reference: &Outputs, key: &str, factor: f64) -> Result<Vec<String>> {
        let mut ours = step(reference, &Device::Cpu)?;
        let t = (&ours[key] * factor)?;
        ours.insert(key.into(), t);
        let rows = compare(reference, &ours, &pytorch_f32(reference))?;
        Ok(rows
            .into_iter()
            .filter(|p| !p.ours.passed())
            .map(|p| p.ours.output)
            .collect())
    }

    #[test]
    fn the_same_step_agrees_exactly_and_each_wrong_output_fails() -> Result<()> {
        let reference = reference(Arch::Resnet18, 16)?;
        let ours = step(&reference, &Device::Cpu)?;
        let rows = compare(&reference, &ours, &pytorch_f32(&reference))?;
        let outputs: Vec<&str> = rows.iter().map(|p| p.ours.output.as_str()).collect();
        assert_eq!(outputs.len(), 7, "{outputs:?}");
        for p in &rows {
            assert_eq!(p.ours.rel_err, 0.0, "{p:?}");
            assert!(p.ours.passed(), "{p:?}");
        }
        let loss = rows.iter().find(|p| p.ours.output == "loss").expect("loss");
        assert!((loss.pytorch - 1e-3).abs() < 1e-6, "{loss:?}");
        assert_eq!(loss.ours.tolerance, 2.0 * loss.pytorch);

        // Each output a little off (PyTorch's own error is 1e-3): that row fails, and the
        // outputs compared as one vector with it.
        for (key, factor, want) in [
            ("train.embeddings", 1.01, &["embeddings, training pass"][..]),
            ("loss", 1.01, &["loss"]),
            (
                "grad.layer1.0.conv1.weight",
                2.0,
                &["gradients", "worst gradient: layer1.0.conv1.weight"],
            ),
            // A parameter 1% off after the step: its update is far more off than that.
            ("after.layer3.1.conv2.weight", 1.01, &["Adam's update"]),
            // (PyTorch's 1e-3 off the running statistics is 1e-2 off their change.)
            (
                "after.layer2.0.bn1.running_var",
                1.1,
                &["running statistics' change"],
            ),
            (
                "eval.embeddings",
                1.01,
                &["embeddings, evaluation after (centred)"],
            ),
        ] {
            assert_eq!(failed_with(&reference, key, factor)?, want, "{key}");
        }
        // The embedding bias's gradient, exactly 0, is rounding in either step: far off, it is
        // still not the worst gradient, and only the gradients as a whole see it.
        let failed = failed_with(&reference, "grad.fc.bias", 1e3)?;
        assert!(!failed.iter().any(|f| f.contains("fc.bias")), "{failed:?}");
        Ok(())
    }

    #[test]
    fn a_reference_file_replays_and_alexnet_has_no_running_statistics() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("parity-alexnet.safetensors");
        candle_core::safetensors::save(&reference(Arch::Alexnet, 64)?, &path)?;
        let rows = replay(&path, &Device::Cpu)?;
        assert_eq!(rows.len(), 6);
        assert!(rows
            .iter()
            .all(|p| p.ours.rel_err == 0.0 && p.ours.passed()));
        assert!(rows[0].ours.case.starts_with("alexnet [4, 3, 64, 64]"));
        assert!((rows[0].pytorch - 1e-3).abs() < 1e-6, "{:?}", rows[0]);
        Ok(())
    }

    #[test]
    fn a_reference_that_does_not_fit_is_refused_with_the_key_named() -> Result<()> {
        let mut reference = reference(Arch::Resnet18, 16)?;
        let var = reference
            .remove("init.layer2.0.bn1.running_var")
            .expect("a running statistic");
        let err = step(&reference, &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains("the reference has no 'layer2.0.bn1.running_var'"),
            "{err}"
        );
        reference.insert("init.layer2.0.bn1.running_var".into(), var.clone());
        reference.insert("init.layer2.0.bn4.running_var".into(), var);
        let err = step(&reference, &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains("resnet18 has no \"layer2.0.bn4.running_var\""),
            "{err}"
        );

        let mut reference = super::tests::reference(Arch::Resnet18, 16)?;
        let ours = step(&reference, &Device::Cpu)?;
        reference.remove("torch32.grad.layer2.0.conv1.weight");
        let err = compare(&reference, &ours, &pytorch_f32(&reference))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("PyTorch's f32 step has no \"grad.layer2.0.conv1.weight\""),
            "{err}"
        );
        // A PyTorch step that is not finite sets no bound.
        let nan = reference["torch32.loss"].affine(0.0, f64::NAN)?;
        reference.insert("torch32.loss".into(), nan);
        reference.insert(
            "torch32.grad.layer2.0.conv1.weight".into(),
            reference["grad.layer2.0.conv1.weight"].clone(),
        );
        let err = compare(&reference, &ours, &pytorch_f32(&reference))
            .unwrap_err()
            .to_string();
        assert!(err.contains("PyTorch's f32 step is not finite"), "{err}");

        let err = step(&Outputs::new(), &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains("no torchvision AlexNet, ResNet-18 or ResNet-152"),
            "{err}"
        );
        Ok(())
    }
}
