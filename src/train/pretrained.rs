//! Starting a run from weights in a file (`run --init FILE`) instead of its seed's random draw:
//! torchvision's ImageNet weights, as the `.pth` state dict torchvision downloads (e.g.
//! `resnet18-f37072fd.pth`), or any safetensors file under torchvision's names, such as a
//! facenet-lab checkpoint.
//!
//! Every variable of the network but its embedding layer must be in the file with its shape,
//! BatchNorm running statistics included. The embedding layer (torchvision's classifier,
//! [`Arch::embedding_layer`]) is taken from the file only where the file's has the same shape,
//! as another run's checkpoint at the same `--dim` has; otherwise (ImageNet's 1000 classes) it
//! keeps the seed's draw. What the file holds besides (BatchNorm's `num_batches_tracked`, a
//! checkpoint's Adam moments) is ignored. A file saved from `nn.DataParallel` (every name under `module.`)
//! is read without the prefix.
//!
//! The run records the file's path and sha256. A `.pth` named as torch.hub names its downloads,
//! `NAME-HASH.pth`, must have a sha256 that starts with `HASH`, as torch.hub checks.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{Device, Shape, Tensor};

use crate::data::hash::sha256_file;
use crate::model::{Arch, EmbeddingNet};
use crate::train::params::Params;

/// Weights read from a file, to start a network from.
pub struct InitWeights {
    /// The file, as an absolute path.
    pub path: PathBuf,
    /// The sha256 of its bytes.
    pub sha256: String,
    tensors: HashMap<String, Tensor>,
}

/// What starting a network from [`InitWeights`] takes from the file and what it leaves.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The network's variables set from the file.
    pub loaded: Vec<String>,
    /// The embedding layer's variables that keep the seed's draw, each with why.
    pub fresh: Vec<(String, String)>,
    /// What the file holds that the network has no variable for, but BatchNorm's step
    /// counters (`num_batches_tracked`), which a network with a momentum never reads.
    pub ignored: Vec<String>,
}

impl std::fmt::Display for Plan {
    /// `122 tensors from the file; fc.weight, fc.bias keep seed 0's draw (...); 1 ignored (...)`
    /// without the seed, which the caller knows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}",
            crate::format::count(self.loaded.len() as u64, "tensor", "tensors")
        )?;
        if !self.fresh.is_empty() {
            let names: Vec<&str> = self.fresh.iter().map(|(n, _)| n.as_str()).collect();
            write!(
                f,
                "; {} keep the seed's random draw ({})",
                names.join(", "),
                self.fresh[0].1
            )?;
        }
        if !self.ignored.is_empty() {
            let shown: Vec<&str> = self.ignored.iter().take(3).map(String::as_str).collect();
            let more = self.ignored.len() - shown.len();
            write!(
                f,
                "; ignored {}: {}{}",
                self.ignored.len(),
                shown.join(", "),
                if more > 0 { ", …" } else { "" }
            )?;
        }
        Ok(())
    }
}

/// What a file starts with: torch.save's zip archive, the pickle of PyTorch's format before
/// 1.6, or (anything else) safetensors.
fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

fn is_legacy_torch(head: &[u8]) -> bool {
    head.first() == Some(&0x80)
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

impl InitWeights {
    /// Reads `path`: a PyTorch state dict (`torch.save`'s zip format, under its top level or
    /// its `state_dict` or `model` key) or a safetensors file.
    pub fn read(path: &Path) -> Result<InitWeights> {
        let shown = path.display();
        let abs = std::path::absolute(path)
            .with_context(|| format!("--init '{shown}': cannot resolve the path"))?;
        if !abs.is_file() {
            let from = if path.is_relative() {
                format!(
                    " (a relative path, in a --config file too, is read from the current \
                     directory, {})",
                    std::env::current_dir().map_or("?".into(), |d| d.display().to_string())
                )
            } else {
                String::new()
            };
            bail!("--init '{shown}': no such file{from}");
        }
        let sha256 = sha256_file(&abs)?;
        if let Some(hash) = hub_hash(&abs).filter(|h| !sha256.starts_with(h)) {
            bail!(
                "--init '{shown}': its name says its sha256 starts with {hash}, but it is {sha256}: \
                 a partial or corrupted download? Fetch it again"
            );
        }
        let mut head = [0u8; 4];
        let n = std::fs::File::open(&abs)
            .and_then(|mut f| f.read(&mut head))
            .with_context(|| format!("--init '{shown}': reading it"))?;
        let head = &head[..n];
        let tensors = if is_zip(head) {
            read_pth(&abs).with_context(|| format!("--init '{shown}': reading the PyTorch file"))?
        } else if is_legacy_torch(head) {
            bail!(
                "--init '{shown}' is in PyTorch's format from before 1.6, which facenet-lab \
                 cannot read: save it again with `torch.save(torch.load(OLD), NEW)`"
            );
        } else {
            candle_core::safetensors::load(&abs, &Device::Cpu).with_context(|| {
                format!(
                    "--init '{shown}' is neither a PyTorch state dict (torch.save) nor a \
                     safetensors file"
                )
            })?
        };
        Ok(InitWeights {
            path: abs,
            sha256,
            tensors: without_data_parallel_prefix(tensors),
        })
    }

    /// What starting `arch` with a `dim`-wide embedding from these weights would take, or an
    /// error naming what the file lacks; nothing is set. Call it before a run is recorded.
    pub fn check(&self, arch: Arch, dim: usize) -> Result<Plan> {
        let params = Params::new(0);
        EmbeddingNet::new(arch, dim, params.builder(&Device::Cpu))?;
        let shapes: Vec<(String, Shape)> = params
            .named_vars()
            .into_iter()
            .map(|(name, var)| (name, var.shape().clone()))
            .collect();
        self.plan(arch, &shapes)
    }

    /// Sets `params` (of an `arch` network) from the file, as [`InitWeights::check`] plans.
    pub fn apply(&self, arch: Arch, params: &Params) -> Result<Plan> {
        let vars = params.named_vars();
        let shapes: Vec<(String, Shape)> = vars
            .iter()
            .map(|(name, var)| (name.clone(), var.shape().clone()))
            .collect();
        let plan = self.plan(arch, &shapes)?;
        for (name, var) in &vars {
            if plan.loaded.contains(name) {
                let t = &self.tensors[name];
                var.set(&t.to_device(var.device())?.to_dtype(var.dtype())?)?;
            }
        }
        Ok(plan)
    }

    fn plan(&self, arch: Arch, shapes: &[(String, Shape)]) -> Result<Plan> {
        let shown = self.path.display();
        let head = arch.embedding_layer();
        let is_head = |name: &str| name.rsplit_once('.').map(|(layer, _)| layer) == Some(head);
        let mut plan = Plan {
            loaded: Vec::new(),
            fresh: Vec::new(),
            ignored: Vec::new(),
        };
        let missing: Vec<&str> = shapes
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| !is_head(name) && !self.tensors.contains_key(*name))
            .collect();
        if let Some(first) = missing.first() {
            let found = Arch::of_torchvision_names(|n| self.tensors.contains_key(n));
            let why = match found {
                Some(other) if other != arch => format!(
                    "it holds torchvision's {other}, not {arch}: start a {other} run from it"
                ),
                _ => format!(
                    "{} of the network's {} variables are not in it: is it a state dict of \
                     torchvision's {arch}?",
                    missing.len(),
                    shapes.len()
                ),
            };
            bail!("--init '{shown}' has no '{first}': {why}");
        }
        for (name, shape) in shapes {
            match self.tensors.get(name) {
                Some(t) if t.shape() == shape => plan.loaded.push(name.clone()),
                Some(t) if is_head(name) => plan.fresh.push((
                    name.clone(),
                    format!(
                        "the file's {name} is {:?}, this --dim needs {:?}",
                        t.dims(),
                        shape.dims()
                    ),
                )),
                Some(t) => bail!(
                    "--init '{shown}': '{name}' has shape {:?}, {arch} needs {:?}",
                    t.dims(),
                    shape.dims()
                ),
                None => plan
                    .fresh
                    .push((name.clone(), format!("the file has no {head}"))),
            }
        }
        plan.ignored = self
            .tensors
            .keys()
            .filter(|k| {
                !k.ends_with(".num_batches_tracked") && !shapes.iter().any(|(name, _)| name == *k)
            })
            .cloned()
            .collect();
        plan.ignored.sort();
        Ok(plan)
    }
}

/// The tensors of a `torch.save` zip archive: a state dict at its top level, or under a
/// `state_dict` or `model` key (training scripts' usual checkpoints).
fn read_pth(path: &Path) -> Result<HashMap<String, Tensor>> {
    for key in [None, Some("state_dict"), Some("model")] {
        let found = match candle_core::pickle::read_all_with_key(path, key) {
            Ok(found) => found,
            // A key that is not there: try the next.
            Err(_) if key.is_some() => continue,
            Err(e) => return Err(e.into()),
        };
        if !found.is_empty() {
            return Ok(found.into_iter().collect());
        }
    }
    bail!("it holds no tensors: is it a state dict (`torch.save(model.state_dict(), FILE)`)?")
}

/// `tensors` without the `module.` that `nn.DataParallel` puts before every name.
fn without_data_parallel_prefix(tensors: HashMap<String, Tensor>) -> HashMap<String, Tensor> {
    const PREFIX: &str = "module.";
    if tensors.is_empty() || !tensors.keys().all(|k| k.starts_with(PREFIX)) {
        return tensors;
    }
    tensors
        .into_iter()
        .map(|(k, v)| (k[PREFIX.len()..].to_string(), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;

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

    fn same(a: &Tensor, b: &Tensor) -> Result<bool> {
        Ok(a.flatten_all()?.to_vec1::<f32>()? == b.flatten_all()?.to_vec1::<f32>()?)
    }

    fn error_of<T>(r: Result<T>) -> String {
        match r {
            Ok(_) => panic!("accepted"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn imagenet_weights_set_all_but_the_embedding_which_keeps_the_seeds_draw() -> Result<()> {
        let dir = tempfile::tempdir()?;
        // torchvision's layout, saved through nn.DataParallel: a 1000-class fc, the
        // BatchNorm step counters, every name under `module.`; and a tensor of something else.
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
        file.insert(
            "classifier.weight".into(),
            Tensor::ones(3, DType::F32, &Device::Cpu)?,
        );
        let file: HashMap<_, _> = file
            .into_iter()
            .map(|(k, v)| (format!("module.{k}"), v))
            .collect();
        let path = write(dir.path(), "imagenet.safetensors", &file)?;

        let w = InitWeights::read(&path)?;
        assert_eq!(w.sha256, sha256_file(&path)?);
        let net = resnet18(0, 64)?;
        let before = tensors_of(&net);
        let checked = w.check(Arch::Resnet18, 64)?;
        let plan = w.apply(Arch::Resnet18, &net)?;
        assert_eq!(plan, checked, "check plans what apply does");
        assert_eq!(plan.loaded.len(), before.len() - 2);
        assert_eq!(
            plan.fresh
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["fc.bias", "fc.weight"]
        );
        assert!(plan.fresh[1].1.contains("[1000, 512]"), "{:?}", plan.fresh);
        assert_eq!(
            plan.ignored,
            ["classifier.weight"],
            "step counters go unmentioned"
        );
        for (name, var) in net.named_vars() {
            let expected = if name.starts_with("fc.") {
                &before[&name]
            } else {
                &file[&format!("module.{name}")]
            };
            assert!(same(var.as_tensor(), expected)?, "{name}");
        }
        Ok(())
    }

    #[test]
    fn a_checkpoint_at_the_same_dim_sets_the_embedding_too_and_its_adam_state_is_ignored(
    ) -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut file = tensors_of(&resnet18(3, 16)?);
        file.insert("adam.step".into(), Tensor::new(&[1i64], &Device::Cpu)?);
        let path = write(dir.path(), "best.safetensors", &file)?;
        let net = resnet18(0, 16)?;
        let plan = InitWeights::read(&path)?.apply(Arch::Resnet18, &net)?;
        assert!(plan.fresh.is_empty(), "{:?}", plan.fresh);
        assert_eq!(plan.ignored, ["adam.step"]);
        assert!(same(
            net.named_vars()[0].1.as_tensor(),
            &file[&net.named_vars()[0].0]
        )?);
        assert!(same(&tensors_of(&net)["fc.weight"], &file["fc.weight"])?);
        assert_eq!(
            plan.to_string(),
            format!("{} tensors; ignored 1: adam.step", plan.loaded.len())
        );
        Ok(())
    }

    #[test]
    fn weights_that_do_not_fit_the_network_are_refused_with_the_reason() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let full = tensors_of(&resnet18(1, 8)?);

        let alexnet = HashMap::from([(
            "features.0.weight".to_string(),
            Tensor::zeros(1, DType::F32, &Device::Cpu)?,
        )]);
        let path = write(dir.path(), "alexnet.safetensors", &alexnet)?;
        let e = error_of(InitWeights::read(&path)?.check(Arch::Resnet18, 8));
        assert!(
            e.contains("has no 'bn1.bias': it holds torchvision's alexnet, not resnet18"),
            "{e}"
        );

        let mut partial = full.clone();
        partial.remove("layer4.1.conv2.weight");
        let path = write(dir.path(), "partial.safetensors", &partial)?;
        let e = error_of(InitWeights::read(&path)?.check(Arch::Resnet18, 8));
        assert!(
            e.contains("has no 'layer4.1.conv2.weight': 1 of the network's"),
            "{e}"
        );

        let mut wrong = full.clone();
        wrong.insert(
            "conv1.weight".into(),
            Tensor::zeros((64, 1, 7, 7), DType::F32, &Device::Cpu)?,
        );
        let path = write(dir.path(), "wrong.safetensors", &wrong)?;
        let e = error_of(InitWeights::read(&path)?.check(Arch::Resnet18, 8));
        assert!(
            e.contains("'conv1.weight' has shape [64, 1, 7, 7], resnet18 needs [64, 3, 7, 7]"),
            "{e}"
        );
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
    fn pytorch_state_dicts_are_read_at_the_top_level_or_under_state_dict() -> Result<()> {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for file in ["state-dict.pth", "nested-state-dict.pth"] {
            let w = InitWeights::read(&fixtures.join(file))?;
            let t = &w.tensors;
            let mut names: Vec<&str> = t.keys().map(String::as_str).collect();
            names.sort();
            assert_eq!(
                names,
                [
                    "bn.num_batches_tracked",
                    "conv.bias",
                    "conv.weight",
                    "transposed.weight"
                ],
                "{file}"
            );
            assert_eq!(
                t["conv.weight"].to_vec2::<f32>()?,
                [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
            );
            assert_eq!(
                t["transposed.weight"].to_vec2::<f32>()?,
                [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
            );
            assert_eq!(t["conv.bias"].dtype(), DType::F16);
            assert_eq!(
                t["conv.bias"].to_dtype(DType::F32)?.to_vec1::<f32>()?,
                [0.5, -1.5]
            );
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
