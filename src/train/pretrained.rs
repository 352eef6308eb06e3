//! Starting a run from weights in a file (`run --init FILE`) instead of its seed's random draw:
//! torchvision's ImageNet weights, as the `.pth` state dict torchvision downloads (e.g.
//! `resnet18-f37072fd.pth`), or any safetensors file under torchvision's names, such as a
//! facenet-lab checkpoint.
//!
//! Every variable of the network but its embedding layer must be in the file with its shape,
//! BatchNorm running statistics included, and every tensor of the file must be one of the
//! network's, but PyTorch's counters (BatchNorm's `num_batches_tracked`, `AveragedModel`'s
//! `n_averaged`) and a checkpoint's Adam state and position: a file of a deeper network (ResNet-34's holds all of ResNet-18's names)
//! is refused, not half read. The embedding layer (torchvision's classifier,
//! [`Arch::embedding_layer`]) is taken from the file when both its weight and bias have the
//! run's shapes, as another run's checkpoint at the same `--dim` has; otherwise (ImageNet's 1000
//! classes) it keeps the seed's draw. Names under `module.` (`nn.DataParallel`) are read
//! without it. A `torch.save` checkpoint with its state dict under `state_dict` or `model` is
//! read there. Weights in f16, bf16 or f64 are converted to f32; other types are refused.
//!
//! The run records the file's path and sha256. A `.pth` whose name ends as torch.hub names its
//! downloads, `NAME-HASH.pth` with 8 or more hex digits, must have a sha256 that starts with
//! `HASH`, as torch.hub checks.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Shape, Tensor};

use crate::data::hash::sha256_file;
use crate::model::{Arch, EmbeddingNet};
use crate::train::checkpoint::{is_training_state, set_param};
use crate::train::params::Params;

/// Weights read from a file, to start a network from.
pub struct InitWeights {
    /// The file, as an absolute path.
    pub path: PathBuf,
    /// The sha256 of its bytes.
    pub sha256: String,
    /// Written by PyTorch (`torch.save`), as torchvision's ImageNet weights are, rather than
    /// a safetensors file such as a run's checkpoint.
    pub from_pytorch: bool,
    tensors: HashMap<String, Tensor>,
}

/// What starting a network from [`InitWeights`] takes from the file and what it leaves.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The network's variables set from the file.
    pub loaded: Vec<String>,
    /// The embedding layer's variables, when they keep the seed's draw, and why.
    pub fresh: Option<(Vec<String>, String)>,
    /// The types other than f32 that loaded tensors had in the file, converted to f32.
    pub converted: Vec<DType>,
}

impl std::fmt::Display for Plan {
    /// `100 tensors; fc.bias, fc.weight keep the seed's random draw (the file's fc.bias is
    /// [1000], this --dim needs [128]); converted from f16 to f32`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}",
            crate::format::count(self.loaded.len() as u64, "tensor", "tensors")
        )?;
        if let Some((names, why)) = &self.fresh {
            write!(
                f,
                "; {} keep the seed's random draw ({why})",
                names.join(", ")
            )?;
        }
        if !self.converted.is_empty() {
            let from: Vec<&str> = self.converted.iter().map(|d| d.as_str()).collect();
            write!(f, "; converted from {} to f32", from.join(" and "))?;
        }
        Ok(())
    }
}

/// Where a file's format shows: its first 9 bytes and its length.
enum Format {
    /// `torch.save`'s zip archive.
    Zip,
    /// An 8-byte little-endian header length, then the JSON header.
    Safetensors,
    /// The pickle of PyTorch's format before 1.6.
    LegacyTorch,
    Unknown,
}

fn format_of(head: &[u8], len: u64) -> Format {
    if head.starts_with(b"PK\x03\x04") {
        return Format::Zip;
    }
    if let (Some(n), Some(b'{')) = (head.get(..8), head.get(8)) {
        let n = u64::from_le_bytes(n.try_into().expect("8 bytes"));
        if n.checked_add(8).is_some_and(|end| end <= len) {
            return Format::Safetensors;
        }
    }
    if head.first() == Some(&0x80) {
        Format::LegacyTorch
    } else {
        Format::Unknown
    }
}

/// The hash prefix torch.hub puts in a download's name (`resnet18-f37072fd.pth`), if the
/// file is named so: 8 or more lowercase hex digits after the last `-`, a letter among them
/// (`weights-20261130.pth` is dated, not hashed).
fn hub_hash(path: &Path) -> Option<&str> {
    if !matches!(path.extension()?.to_str()?, "pth" | "pt") {
        return None;
    }
    let (_, hash) = path.file_stem()?.to_str()?.rsplit_once('-')?;
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    (hash.len() >= 8 && hash.bytes().all(hex) && hash.bytes().any(|b| b.is_ascii_alphabetic()))
        .then_some(hash)
}

/// PyTorch's counters beside the weights: BatchNorm's `num_batches_tracked` (a network with a
/// momentum never reads it) and `AveragedModel`'s `n_averaged`.
fn is_bookkeeping(name: &str) -> bool {
    name.ends_with(".num_batches_tracked") || name == "n_averaged"
}

/// The variables of an `arch` network with a `dim`-wide embedding, by name, with their shapes.
fn shapes_of(params: &Params) -> Vec<(String, Shape)> {
    params
        .named_vars()
        .into_iter()
        .map(|(name, var)| (name, var.shape().clone()))
        .collect()
}

impl InitWeights {
    /// Reads `path`: a PyTorch state dict (`torch.save`'s zip format) or a safetensors file.
    pub fn read(path: &Path) -> Result<InitWeights> {
        let shown = path.display();
        let abs = std::path::absolute(path)
            .with_context(|| format!("--init '{shown}': cannot resolve the path"))?;
        if !abs.is_file() {
            bail!(
                "--init '{shown}': no such file{}",
                crate::format::relative_path_note(path)
            );
        }
        let sha256 = sha256_file(&abs)?;
        if let Some(hash) = hub_hash(&abs).filter(|h| !sha256.starts_with(h)) {
            bail!(
                "--init '{shown}': its name says its sha256 starts with {hash}, but it is {sha256}: \
                 a partial or corrupted download? Fetch it again (or rename the file if the end \
                 of its name is not a hash)"
            );
        }
        let mut head = [0u8; 9];
        let mut file =
            std::fs::File::open(&abs).with_context(|| format!("--init '{shown}': opening it"))?;
        let n = file
            .read(&mut head)
            .with_context(|| format!("--init '{shown}': reading it"))?;
        let len = file.metadata()?.len();
        let format = format_of(&head[..n], len);
        let from_pytorch = matches!(format, Format::Zip);
        let tensors = match format {
            Format::Zip => read_pth(&abs)
                .with_context(|| format!("--init '{shown}': reading the PyTorch file"))?,
            Format::Safetensors => candle_core::safetensors::load(&abs, &Device::Cpu)
                .with_context(|| format!("--init '{shown}': reading the safetensors file"))?,
            Format::LegacyTorch => bail!(
                "--init '{shown}' is in PyTorch's format from before 1.6, which facenet-lab \
                 cannot read: save it again with `torch.save(torch.load(OLD), NEW)`"
            ),
            Format::Unknown => bail!(
                "--init '{shown}' is neither a PyTorch state dict (torch.save) nor a \
                 safetensors file"
            ),
        };
        Ok(InitWeights {
            path: abs,
            sha256,
            from_pytorch,
            tensors: without_data_parallel_prefix(tensors),
        })
    }

    /// What starting `arch` with a `dim`-wide embedding from these weights would take, or an
    /// error naming what does not fit; nothing is set. With `fresh_embedding`
    /// (`--fresh-embedding`) the embedding layer keeps the seed's draw even where the file's
    /// fits. Call it before a run is recorded, then [`InitWeights::keep_only`] what it plans to
    /// load.
    pub fn check(&self, arch: Arch, dim: usize, fresh_embedding: bool) -> Result<Plan> {
        let params = Params::new(0);
        EmbeddingNet::new(arch, dim, params.builder(&Device::Cpu))?;
        self.plan(arch, &shapes_of(&params), fresh_embedding)
    }

    /// Drops every tensor that `plan` does not look at (a checkpoint's Adam moments, which
    /// the run would hold until it starts); the embedding layer stays, to say why it is not
    /// taken.
    pub fn keep_only(&mut self, plan: &Plan) {
        let fresh = plan.fresh.as_ref().map_or(&[][..], |(names, _)| &names[..]);
        self.tensors
            .retain(|name, _| plan.loaded.contains(name) || fresh.contains(name));
    }

    /// Sets `params` (of an `arch` network) from the file, as [`InitWeights::check`] plans.
    pub fn apply(&self, arch: Arch, params: &Params, fresh_embedding: bool) -> Result<Plan> {
        let plan = self.plan(arch, &shapes_of(params), fresh_embedding)?;
        let source = format!("--init '{}'", self.path.display());
        for (name, var) in params.named_vars() {
            if plan.loaded.contains(&name) {
                set_param(&name, &var, &self.tensors[&name], &source)?;
            }
        }
        Ok(plan)
    }

    fn plan(&self, arch: Arch, shapes: &[(String, Shape)], fresh_embedding: bool) -> Result<Plan> {
        let shown = self.path.display();
        let head = arch.embedding_layer();
        let is_head = |name: &str| name.rsplit_once('.').map(|(layer, _)| layer) == Some(head);
        let has = |name: &str| self.tensors.contains_key(name);
        let other_arch = || {
            Arch::of_torchvision_names(has)
                .filter(|&other| other != arch)
                .map(|other| {
                    format!(
                        "it holds torchvision's {other}, not {arch}: start a run of {other} \
                         from it (`run {other} --init ...`)"
                    )
                })
        };
        let missing: Vec<&str> = shapes
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| !is_head(name) && !has(name))
            .collect();
        if let Some(first) = missing.first() {
            let why = other_arch().unwrap_or_else(|| {
                format!(
                    "{} of the network's {} variables are not in it: is it a state dict of \
                     torchvision's {arch}?",
                    missing.len(),
                    shapes.len()
                )
            });
            bail!("--init '{shown}' has no '{first}': {why}");
        }
        let mut extra: Vec<&str> = self
            .tensors
            .keys()
            .map(String::as_str)
            .filter(|k| {
                !is_bookkeeping(k)
                    && !is_training_state(k)
                    && !shapes.iter().any(|(name, _)| name == k)
            })
            .collect();
        if !extra.is_empty() {
            extra.sort_unstable();
            let shown_extra: Vec<&str> = extra.iter().take(3).copied().collect();
            let why = other_arch().unwrap_or_else(|| {
                format!("is it the weights of another network than torchvision's {arch}?")
            });
            bail!(
                "--init '{shown}' holds {} that {arch} has no variable for ({}{}): {why}",
                crate::format::count(extra.len() as u64, "tensor", "tensors"),
                shown_extra.join(", "),
                if extra.len() > shown_extra.len() {
                    ", …"
                } else {
                    ""
                }
            );
        }
        let mut plan = Plan {
            loaded: Vec::new(),
            fresh: None,
            converted: Vec::new(),
        };
        let mut head_misfit = None;
        for (name, shape) in shapes {
            match self.tensors.get(name) {
                // A fresh embedding layer reads nothing of the file's.
                Some(t) if !(t.dtype().is_float() || fresh_embedding && is_head(name)) => bail!(
                    "--init '{shown}': '{name}' holds {:?} values, not floating-point weights",
                    t.dtype()
                ),
                Some(t) if t.shape() == shape => {}
                Some(t) if is_head(name) => {
                    head_misfit.get_or_insert(format!(
                        "the file's {name} is {:?}, this --dim needs {:?}",
                        t.dims(),
                        shape.dims()
                    ));
                }
                Some(t) => bail!(
                    "--init '{shown}': '{name}' has shape {:?}, {arch} needs {:?}",
                    t.dims(),
                    shape.dims()
                ),
                None => {
                    head_misfit.get_or_insert(format!("the file has no {name}"));
                }
            }
        }
        if fresh_embedding {
            head_misfit.get_or_insert_with(|| "--fresh-embedding".to_string());
        }
        for (name, _) in shapes {
            if head_misfit.is_some() && is_head(name) {
                continue;
            }
            let dtype = self.tensors[name].dtype();
            if dtype != DType::F32 && !plan.converted.contains(&dtype) {
                plan.converted.push(dtype);
            }
            plan.loaded.push(name.clone());
        }
        if let Some(why) = head_misfit {
            let names = shapes
                .iter()
                .map(|(name, _)| name)
                .filter(|name| is_head(name))
                .cloned()
                .collect();
            plan.fresh = Some((names, why));
        }
        Ok(plan)
    }
}

/// The tensors of a `torch.save` zip archive: a state dict at its top level, or under a
/// `state_dict` or `model` key as training scripts save checkpoints, whichever holds the most
/// (a checkpoint's top level may hold a tensor or two beside its state dict).
fn read_pth(path: &Path) -> Result<HashMap<String, Tensor>> {
    use candle_core::pickle::PthTensors;
    // Which part holds the most is read from the pickles alone; only its tensors are loaded.
    let mut best = PthTensors::new(path, None)?;
    for key in ["state_dict", "model"] {
        match PthTensors::new(path, Some(key)) {
            Ok(found) if found.tensor_infos().len() > best.tensor_infos().len() => best = found,
            Ok(_) => {}
            // No such key: candle's own words for it.
            Err(e) if e.to_string() == format!("key {key} not found") => {}
            Err(e) => return Err(e.into()),
        }
    }
    if best.tensor_infos().is_empty() {
        bail!("it holds no tensors: is it a state dict (`torch.save(model.state_dict(), FILE)`)?")
    }
    best.tensor_infos()
        .keys()
        .map(|name| {
            let t = best
                .get(name)?
                .with_context(|| format!("'{name}' is listed but not stored"))?;
            Ok((name.clone(), t))
        })
        .collect()
}

/// `tensors` with the `module.` that `nn.DataParallel` (or `AveragedModel`) puts before names
/// taken away, where no other tensor has the name without it.
fn without_data_parallel_prefix(tensors: HashMap<String, Tensor>) -> HashMap<String, Tensor> {
    const PREFIX: &str = "module.";
    let mut out = HashMap::with_capacity(tensors.len());
    let (prefixed, plain): (Vec<_>, Vec<_>) = tensors
        .into_iter()
        .partition(|(k, _)| k.starts_with(PREFIX));
    out.extend(plain);
    for (k, v) in prefixed {
        let bare = &k[PREFIX.len()..];
        if out.contains_key(bare) {
            out.insert(k, v);
        } else {
            out.insert(bare.to_string(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ResNet-18's variables drawn from `seed`, with a `dim`-wide embedding.
    fn resnet18(seed: u64, dim: usize) -> Result<Params> {
        let params = Params::new(seed);
        EmbeddingNet::new(Arch::Resnet18, dim, params.builder(&Device::Cpu))?;
        Ok(params)
    }

    fn tensors_of(params: &Params) -> HashMap<String, Tensor> {
        params
            .named_vars()
            .into_iter()
            .map(|(name, var)| (name, var.as_tensor().clone()))
            .collect()
    }

    fn write(dir: &Path, name: &str, tensors: &HashMap<String, Tensor>) -> Result<PathBuf> {
        let path = dir.join(name);
        candle_core::safetensors::save(tensors, &path)?;
        Ok(path)
    }

    fn values(t: &Tensor) -> Result<Vec<f32>> {
        Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
    }

    fn error_of<T>(r: Result<T>) -> String {
        match r {
            Ok(_) => panic!("accepted"),
            Err(e) => format!("{e:#}"),
        }
    }

    fn zeros(shape: impl Into<Shape>) -> Result<Tensor> {
        Ok(Tensor::zeros(shape, DType::F32, &Device::Cpu)?)
    }

    #[test]
    fn imagenet_weights_set_all_but_the_embedding_which_keeps_the_seeds_draw() -> Result<()> {
        let dir = tempfile::tempdir()?;
        // torchvision's layout, saved through nn.DataParallel or AveragedModel: a 1000-class
        // fc, the BatchNorm step counters, every name under `module.`.
        let mut file = tensors_of(&resnet18(7, 1000)?);
        // Running statistics that a fresh network's 0 and 1 are not.
        for (name, t) in file.iter_mut() {
            if crate::model::is_buffer(name) {
                *t = (&*t + 0.5)?;
            }
        }
        file.insert(
            "bn1.num_batches_tracked".into(),
            Tensor::new(&[5i64], &Device::Cpu)?,
        );
        let mut file: HashMap<_, _> = file
            .into_iter()
            .map(|(k, v)| (format!("module.{k}"), v))
            .collect();
        // AveragedModel's counter, beside its `module.` names.
        file.insert("n_averaged".into(), Tensor::new(&[4i64], &Device::Cpu)?);
        let path = write(dir.path(), "imagenet.safetensors", &file)?;

        let mut w = InitWeights::read(&path)?;
        assert_eq!(w.sha256, sha256_file(&path)?);
        let net = resnet18(0, 64)?;
        let before = tensors_of(&net);
        let checked = w.check(Arch::Resnet18, 64, false)?;
        w.keep_only(&checked);
        assert_eq!(w.tensors.len(), before.len(), "the step counter dropped");
        let plan = w.apply(Arch::Resnet18, &net, false)?;
        assert_eq!(plan, checked, "check plans what apply does");
        assert_eq!(plan.loaded.len(), before.len() - 2);
        let (fresh, why) = plan.fresh.clone().context("fc is fresh")?;
        assert_eq!(fresh, ["fc.bias", "fc.weight"]);
        assert_eq!(why, "the file's fc.bias is [1000], this --dim needs [64]");
        for (name, var) in net.named_vars() {
            let expected = if name.starts_with("fc.") {
                &before[&name]
            } else {
                &file[&format!("module.{name}")]
            };
            assert_eq!(values(var.as_tensor())?, values(expected)?, "{name}");
        }
        Ok(())
    }

    #[test]
    fn a_checkpoint_at_the_same_dim_sets_the_embedding_too_and_its_training_state_is_ignored(
    ) -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut file = tensors_of(&resnet18(3, 16)?);
        for key in ["adam.step", "adam.m.fc.bias", "train.iteration"] {
            file.insert(key.into(), zeros(1)?);
        }
        let path = write(dir.path(), "best.safetensors", &file)?;
        let net = resnet18(0, 16)?;
        let plan = InitWeights::read(&path)?.apply(Arch::Resnet18, &net, false)?;
        assert_eq!(plan.fresh, None);
        for (name, var) in net.named_vars() {
            assert_eq!(values(var.as_tensor())?, values(&file[&name])?, "{name}");
        }
        assert_eq!(plan.to_string(), format!("{} tensors", plan.loaded.len()));

        // --fresh-embedding: the same file leaves fc at the seed's draw, whatever its values
        // (an integer fc is not read at all), and says why.
        file.insert("fc.bias".into(), Tensor::new(&[7i64; 16], &Device::Cpu)?);
        let path = write(dir.path(), "int-fc.safetensors", &file)?;
        let net = resnet18(0, 16)?;
        let before = tensors_of(&net);
        let plan = InitWeights::read(&path)?.apply(Arch::Resnet18, &net, true)?;
        assert_eq!(
            plan.fresh,
            Some((
                vec!["fc.bias".to_string(), "fc.weight".to_string()],
                "--fresh-embedding".to_string()
            ))
        );
        for (name, var) in net.named_vars() {
            let want = if name.starts_with("fc.") {
                &before[&name]
            } else {
                &file[&name]
            };
            assert_eq!(values(var.as_tensor())?, values(want)?, "{name}");
        }
        // A layer that would not fit anyway says so rather than name the flag.
        let plan = InitWeights::read(&path)?.check(Arch::Resnet18, 8, true)?;
        let why = plan.fresh.context("fc is fresh")?.1;
        assert!(why.starts_with("the file's fc."), "{why}");
        Ok(())
    }

    #[test]
    fn half_precision_weights_are_converted_and_said_to_be() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let file: HashMap<String, Tensor> = tensors_of(&resnet18(3, 16)?)
            .into_iter()
            .map(|(k, v)| Ok((k, v.to_dtype(DType::F16)?)))
            .collect::<Result<_>>()?;
        let path = write(dir.path(), "half.safetensors", &file)?;
        let net = resnet18(0, 16)?;
        let plan = InitWeights::read(&path)?.apply(Arch::Resnet18, &net, false)?;
        assert_eq!(plan.converted, [DType::F16]);
        assert!(
            plan.to_string().ends_with("; converted from f16 to f32"),
            "{plan}"
        );
        let conv = &tensors_of(&net)["conv1.weight"];
        assert_eq!(conv.dtype(), DType::F32);
        assert_eq!(values(conv)?, values(&file["conv1.weight"])?);
        Ok(())
    }

    #[test]
    fn weights_that_do_not_fit_the_network_are_refused_with_the_reason() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let full = tensors_of(&resnet18(1, 8)?);
        let refused = |name: &str, tensors: &HashMap<String, Tensor>| -> Result<String> {
            let path = write(dir.path(), name, tensors)?;
            Ok(error_of(InitWeights::read(&path)?.check(
                Arch::Resnet18,
                8,
                false,
            )))
        };

        let alexnet = HashMap::from([
            ("features.0.weight".to_string(), zeros(1)?),
            ("features.10.weight".to_string(), zeros(1)?),
        ]);
        let e = refused("alexnet.safetensors", &alexnet)?;
        assert!(
            e.contains("has no 'bn1.bias': it holds torchvision's alexnet, not resnet18"),
            "{e}"
        );

        let mut partial = full.clone();
        partial.remove("layer4.1.conv2.weight");
        let e = refused("partial.safetensors", &partial)?;
        assert!(
            e.contains("has no 'layer4.1.conv2.weight': 1 of the network's"),
            "{e}"
        );

        // A deeper network's file holds every name of the shallower one, and more.
        let mut deeper = full.clone();
        deeper.insert("layer1.2.conv1.weight".into(), zeros((64, 64, 3, 3))?);
        let e = refused("resnet34.safetensors", &deeper)?;
        assert!(
            e.contains("holds 1 tensor that resnet18 has no variable for (layer1.2.conv1.weight)"),
            "{e}"
        );

        let mut wrong = full.clone();
        wrong.insert("conv1.weight".into(), zeros((64, 1, 7, 7))?);
        let e = refused("wrong.safetensors", &wrong)?;
        assert!(
            e.contains("'conv1.weight' has shape [64, 1, 7, 7], resnet18 needs [64, 3, 7, 7]"),
            "{e}"
        );

        let mut integers = full.clone();
        integers.insert(
            "bn1.weight".into(),
            Tensor::zeros(64, DType::I64, &Device::Cpu)?,
        );
        let e = refused("integers.safetensors", &integers)?;
        assert!(e.contains("'bn1.weight' holds I64 values"), "{e}");

        // An embedding layer is one piece: with its bias missing, its weight is not taken.
        let mut half_head = full.clone();
        half_head.remove("fc.bias");
        let path = write(dir.path(), "half-head.safetensors", &half_head)?;
        let plan = InitWeights::read(&path)?.check(Arch::Resnet18, 8, false)?;
        assert_eq!(
            plan.fresh,
            Some((
                vec!["fc.bias".to_string(), "fc.weight".to_string()],
                "the file has no fc.bias".to_string()
            ))
        );
        assert!(!plan.loaded.iter().any(|n| n.starts_with("fc.")));
        Ok(())
    }

    #[test]
    fn a_file_is_read_by_its_bytes_and_a_hub_name_checks_its_hash() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let t = HashMap::from([("x".to_string(), Tensor::ones(2, DType::F32, &Device::Cpu)?)]);
        let path = write(dir.path(), "w.safetensors", &t)?;
        let sha = sha256_file(&path)?;
        // torch.hub's name, `NAME-HASH.pth`, whatever the format inside.
        let good = dir.path().join(format!("resnet18-{}.pth", &sha[..8]));
        std::fs::copy(&path, &good)?;
        assert_eq!(InitWeights::read(&good)?.sha256, sha);
        let bad = dir.path().join("resnet18-0123abcd.pth");
        std::fs::copy(&path, &bad)?;
        let e = error_of(InitWeights::read(&bad));
        assert!(
            e.contains("its name says its sha256 starts with 0123abcd, but it is"),
            "{e}"
        );
        // Names that only look hashed are not checked: a short tail, upper case, digits alone
        // (a date), no .pth.
        for name in [
            "run-12.pth",
            "w-0123ABCD.pth",
            "w-20261130.pth",
            "w-0123abcd.safetensors",
        ] {
            std::fs::copy(&path, dir.path().join(name))?;
            InitWeights::read(&dir.path().join(name))?;
        }

        // A safetensors header 128 bytes long starts with 0x80, as a pickle does.
        let json = r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let mut bytes = 128u64.to_le_bytes().to_vec();
        bytes.extend(format!("{json:<128}").into_bytes());
        bytes.extend([1.0f32, 2.0].iter().flat_map(|x| x.to_le_bytes()));
        let padded = dir.path().join("padded.safetensors");
        std::fs::write(&padded, &bytes)?;
        assert_eq!(bytes[0], 0x80);
        let w = InitWeights::read(&padded)?;
        assert_eq!(values(&w.tensors["x"])?, [1.0, 2.0]);

        let legacy = dir.path().join("legacy.pth");
        std::fs::write(&legacy, [0x80, 0x02, b'c'])?;
        assert!(error_of(InitWeights::read(&legacy)).contains("format from before 1.6"));
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello")?;
        assert!(error_of(InitWeights::read(&text))
            .contains("is neither a PyTorch state dict (torch.save) nor a safetensors file"));
        let e = error_of(InitWeights::read(&dir.path().join("absent.pth")));
        assert!(e.ends_with("absent.pth': no such file"), "{e}");
        let e = error_of(InitWeights::read(Path::new("absent.pth")));
        assert!(
            e.contains("no such file (a relative path, in a --config file too, is read from"),
            "{e}"
        );
        Ok(())
    }

    /// The files `tests/fixtures/make_pth.py` wrote with PyTorch 2.11.
    #[test]
    fn pytorch_state_dicts_are_read_at_the_top_level_or_under_state_dict_or_model() -> Result<()> {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for (file, extra) in [
            ("state-dict.pth", None),
            ("nested-state-dict.pth", None),
            ("averaged-checkpoint.pth", Some("n_averaged")),
        ] {
            let w = InitWeights::read(&fixtures.join(file))?;
            let t = &w.tensors;
            let mut names: Vec<&str> = t.keys().map(String::as_str).collect();
            names.sort();
            let mut expected = vec![
                "bn.num_batches_tracked",
                "conv.bias",
                "conv.weight",
                "transposed.weight",
            ];
            expected.extend(extra);
            expected.sort();
            assert_eq!(names, expected, "{file}");
            assert_eq!(values(&t["conv.weight"])?, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
            assert_eq!(t["transposed.weight"].dims(), [3, 2]);
            assert_eq!(
                values(&t["transposed.weight"])?,
                [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
            );
            assert_eq!(t["conv.bias"].dtype(), DType::F16);
            assert_eq!(values(&t["conv.bias"])?, [0.5, -1.5]);
            assert_eq!(
                t["bn.num_batches_tracked"]
                    .to_dtype(DType::I64)?
                    .flatten_all()?
                    .to_vec1::<i64>()?,
                [7]
            );
        }
        Ok(())
    }
}
