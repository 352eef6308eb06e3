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
//! [`agreement`]: crate::agreement

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, ModuleT, Result, Tensor};

use crate::agreement::{rel_err, Comparison};
use crate::model::{is_buffer, Arch, EmbeddingNet};
use crate::rng::Rng;
use crate::train::adam::{Adam, AdamConfig};
use crate::train::params::Params;
use crate::train::triplet::{triplet_loss, Mining};

/// The seed's triplet margin and learning rate, as `bench/torch_parity.py` takes its step.
const MARGIN: f64 = 0.2;
const LR: f64 = 1e-4;

/// What one step gives, under the reference file's keys.
pub type Outputs = HashMap<String, Tensor>;

/// The architecture whose torchvision names `init` holds.
fn arch_of(init: &Outputs) -> Result<Arch> {
    if init.contains_key("init.features.0.weight") {
        Ok(Arch::Alexnet)
    } else if init.contains_key("init.layer1.0.conv3.weight") {
        Ok(Arch::Resnet152)
    } else if init.contains_key("init.layer1.0.conv2.weight") {
        Ok(Arch::Resnet18)
    } else {
        candle_core::bail!(
            "no torchvision AlexNet, ResNet-18 or ResNet-152 weights (init.NAME) in the file"
        )
    }
}

fn get<'a>(tensors: &'a Outputs, key: &str) -> Result<&'a Tensor> {
    tensors
        .get(key)
        .ok_or_else(|| candle_core::Error::Msg(format!("the reference has no {key:?}")))
}

/// facenet-lab's step from the weights, batch and labels in `reference` (its `init.*`,
/// `input` and `labels`), on `dev`: the training pass, the loss, its gradients, one Adam step
/// and an evaluation pass, under the keys `bench/torch_parity.py` writes.
pub fn step(reference: &Outputs, dev: &Device) -> Result<Outputs> {
    let arch = arch_of(reference)?;
    let x = get(reference, "input")?.to_device(dev)?;
    let labels = get(reference, "labels")?
        .to_dtype(DType::U32)?
        .to_device(dev)?;
    let dim = get(reference, "train.embeddings")?.dims2()?.1;
    let params = Params::new(0);
    let mut net = EmbeddingNet::new(arch, dim, params.builder(dev))?;
    if arch == Arch::Alexnet {
        net.set_dropout(0.0)?;
    }
    let vars = params.named_vars();
    for (name, var) in &vars {
        let init = get(reference, &format!("init.{name}"))?;
        if init.dims() != var.dims() {
            candle_core::bail!(
                "{name}: the reference's is {:?}, facenet-lab's {:?}",
                init.dims(),
                var.dims()
            );
        }
        var.set(&init.to_dtype(DType::F32)?.to_device(dev)?)?;
    }
    let ours: std::collections::HashSet<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    if let Some(extra) = reference
        .keys()
        .filter_map(|k| k.strip_prefix("init."))
        .find(|n| !ours.contains(n))
    {
        candle_core::bail!("facenet-lab's {arch} has no {extra:?}, which the reference has");
    }

    let mut out = Outputs::new();
    let emb = net.forward_train(&x, &mut Rng::new(0))?;
    let loss = triplet_loss(&emb, &labels, MARGIN, Mining::All)?
        .ok_or_else(|| candle_core::Error::Msg("the reference batch has no triplet".into()))?
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
            .ok_or_else(|| candle_core::Error::Msg(format!("{name} received no gradient")))?;
        out.insert(format!("grad.{name}"), g.clone());
    }
    Adam::new(trainable, AdamConfig::with_lr(LR))?.step(&grads)?;
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
    let reference = candle_core::safetensors::load(path, &Device::Cpu)?;
    let ours = step(&reference, dev)?;
    let pytorch: Outputs = reference
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("torch32.")?.to_string(), v.clone())))
        .collect();
    compare(&reference, &ours, &pytorch)
}

/// `ours` and `pytorch` (PyTorch's f32 step) against `reference` (the f64 step), output by
/// output: the training pass's embeddings, the loss, all gradients as one vector, the
/// parameter whose gradient facenet-lab has furthest off, Adam's update (the parameters'
/// change) as one vector, the running statistics after the step, and the evaluation pass after
/// it. The embedding layer's bias is left out of the worst gradient: the loss depends on
/// differences between embeddings only, so its exact gradient is 0 and both steps have only
/// rounding there.
pub fn compare(reference: &Outputs, ours: &Outputs, pytorch: &Outputs) -> Result<Vec<Parity>> {
    let arch = arch_of(reference)?;
    let case = format!("{arch} {:?}", get(reference, "input")?.dims());
    let mut names: Vec<&str> = reference
        .keys()
        .filter_map(|k| k.strip_prefix("init."))
        .collect();
    names.sort_unstable();
    let (buffers, trainable): (Vec<&str>, Vec<&str>) =
        names.into_iter().partition(|n| is_buffer(n));
    // A step's output under `key` and the reference's, on the CPU; `after.` of a parameter as
    // its change from `init.`.
    let pair = |step: &Outputs, key: &str| -> Result<(Tensor, Tensor)> {
        let (o, r) = (
            get(step, key)?.to_device(&Device::Cpu)?,
            get(reference, key)?.clone(),
        );
        match key.strip_prefix("after.") {
            Some(name) if !is_buffer(name) => {
                let before = get(reference, &format!("init.{name}"))?;
                Ok((
                    (o.to_dtype(DType::F64)? - before.to_dtype(DType::F64)?)?,
                    (r.to_dtype(DType::F64)? - before.to_dtype(DType::F64)?)?,
                ))
            }
            _ => Ok((o, r)),
        }
    };
    // The relative error of both steps over `keys`, as one vector.
    let errors = |keys: &[String]| -> Result<(f64, f64)> {
        let mut out = [0.0; 2];
        for (i, step) in [ours, pytorch].into_iter().enumerate() {
            let (mut o, mut r) = (Vec::new(), Vec::new());
            for key in keys {
                let (a, b) = pair(step, key)?;
                o.push(a.to_dtype(DType::F64)?.flatten_all()?);
                r.push(b.to_dtype(DType::F64)?.flatten_all()?);
            }
            out[i] = rel_err(&Tensor::cat(&o, 0)?, &Tensor::cat(&r, 0)?)?;
        }
        Ok((out[0], out[1]))
    };
    let keys = |prefix: &str, names: &[&str]| -> Vec<String> {
        names.iter().map(|n| format!("{prefix}{n}")).collect()
    };
    let mut worst = (String::new(), (0.0, 0.0));
    for name in trainable.iter().filter(|n| !is_embedding_bias(arch, n)) {
        let err = errors(&keys("grad.", &[name]))?;
        if err.0 > worst.1 .0 || worst.0.is_empty() {
            worst = (name.to_string(), err);
        }
    }
    let mut rows = vec![
        (
            "embeddings, training pass".to_string(),
            errors(&keys("", &["train.embeddings"]))?,
        ),
        ("loss".to_string(), errors(&keys("", &["loss"]))?),
        ("gradients".to_string(), errors(&keys("grad.", &trainable))?),
        (format!("worst gradient: {}", worst.0), worst.1),
        (
            "Adam's update".to_string(),
            errors(&keys("after.", &trainable))?,
        ),
    ];
    // AlexNet has no BatchNorm.
    if !buffers.is_empty() {
        rows.push((
            "running statistics".to_string(),
            errors(&keys("after.", &buffers))?,
        ));
    }
    rows.push((
        "embeddings, evaluation after".to_string(),
        errors(&keys("", &["eval.embeddings"]))?,
    ));
    Ok(rows
        .into_iter()
        .map(|(output, (ours, pytorch))| Parity {
            ours: Comparison {
                case: case.clone(),
                output,
                rel_err: ours,
                tolerance: bound(pytorch),
            },
            pytorch,
        })
        .collect())
}

/// The bias of the embedding layer, whose exact gradient under a triplet loss is 0.
fn is_embedding_bias(arch: Arch, name: &str) -> bool {
    name == match arch {
        Arch::Alexnet => "classifier.6.bias",
        Arch::Resnet18 | Arch::Resnet152 => "fc.bias",
    }
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
        let x = Tensor::randn(0f32, 1.0, (4, 3, size, size), &Device::Cpu)?;
        reference.insert("input".into(), x);
        reference.insert(
            "labels".into(),
            Tensor::new(&[0i64, 0, 1, 1], &Device::Cpu)?,
        );
        reference.insert(
            "train.embeddings".into(),
            Tensor::zeros((4, 8), DType::F32, &Device::Cpu)?,
        );
        for (key, t) in step(&reference, &Device::Cpu)? {
            reference.insert(format!("torch32.{key}"), (&t * 1.001)?);
            reference.insert(key, t);
        }
        Ok(reference)
    }

    fn pytorch(reference: &Outputs) -> Outputs {
        reference
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("torch32.")?.to_string(), v.clone())))
            .collect()
    }

    #[test]
    fn the_same_step_agrees_exactly_and_a_wrong_gradient_fails() -> Result<()> {
        let reference = reference(Arch::Resnet18, 16)?;
        let ours = step(&reference, &Device::Cpu)?;
        let rows = compare(&reference, &ours, &pytorch(&reference))?;
        let outputs: Vec<&str> = rows.iter().map(|p| p.ours.output.as_str()).collect();
        assert_eq!(outputs.len(), 7, "{outputs:?}");
        assert!(outputs.contains(&"running statistics"));
        for p in &rows {
            assert_eq!(p.ours.rel_err, 0.0, "{p:?}");
            assert!(p.ours.passed(), "{p:?}");
        }
        let loss = rows
            .iter()
            .find(|p| p.ours.output == "loss")
            .expect("loss row");
        assert!((loss.pytorch - 1e-3).abs() < 1e-6, "{loss:?}");
        assert_eq!(loss.ours.tolerance, 2.0 * loss.pytorch);

        // One layer's gradient 10% off: that parameter is the worst, and it fails.
        let mut wrong = ours.clone();
        let key = "grad.layer1.0.conv1.weight";
        wrong.insert(key.into(), (&ours[key] * 1.1)?);
        let rows = compare(&reference, &wrong, &pytorch(&reference))?;
        let failed: Vec<&str> = rows
            .iter()
            .filter(|p| !p.ours.passed())
            .map(|p| p.ours.output.as_str())
            .collect();
        assert!(
            failed.contains(&"worst gradient: layer1.0.conv1.weight"),
            "{failed:?}"
        );
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
        assert!(
            !rows
                .iter()
                .any(|p| p.ours.output.contains("classifier.6.bias")),
            "the embedding bias's exact gradient is 0: not compared alone"
        );
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
            err.contains("no \"init.layer2.0.bn1.running_var\""),
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
        reference.remove("grad.layer2.0.conv1.weight");
        let ours = step(&reference, &Device::Cpu)?;
        let err = compare(&reference, &ours, &pytorch(&reference))
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"grad.layer2.0.conv1.weight\""), "{err}");
        let err = step(&Outputs::new(), &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains("no torchvision AlexNet, ResNet-18 or ResNet-152"),
            "{err}"
        );
        Ok(())
    }
}
