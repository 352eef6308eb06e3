//! Checkpoints: one safetensors file with the weights, the BatchNorm statistics (both live in
//! [`Params`]), the Adam moments and step count, and the step the run had reached.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};

use crate::train::adam::Adam;
use crate::train::params::Params;

const ITERATION_KEY: &str = "train.iteration";
const SKIPPED_KEY: &str = "train.skipped_batches";

/// Where training stands: `iteration` steps are done; the next step is `iteration + 1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub iteration: u64,
    pub skipped_batches: u64,
}

/// Writes a checkpoint atomically and returns the sha256 of its bytes. Without `adam`, the
/// file holds only what inference needs.
pub fn save(path: &Path, params: &Params, adam: Option<&Adam>, pos: Position) -> Result<String> {
    let mut tensors: HashMap<String, Tensor> = params
        .named_vars()
        .into_iter()
        .map(|(name, var)| (name, var.as_tensor().clone()))
        .collect();
    let dev = tensors
        .values()
        .next()
        .map(|t| t.device().clone())
        .unwrap_or(Device::Cpu);
    if let Some(adam) = adam {
        tensors.extend(adam.state()?);
    }
    tensors.insert(
        ITERATION_KEY.into(),
        Tensor::new(&[pos.iteration as i64], &dev)?,
    );
    tensors.insert(
        SKIPPED_KEY.into(),
        Tensor::new(&[pos.skipped_batches as i64], &dev)?,
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "writing checkpoint '{}': creating its folder",
                path.display()
            )
        })?;
    }
    let tmp = path.with_extension("safetensors.partial");
    // The safetensors crate writes through a temporary file of mode 0600; a checkpoint gets the
    // mode any new file gets here (the umask's), so that a lab shared with a group is read whole.
    // A `.partial` left by a quit at once would keep its own mode: gone first.
    let _ = std::fs::remove_file(&tmp);
    let mode = std::fs::File::create(&tmp).and_then(|f| f.metadata());
    let written = candle_core::safetensors::save(&tensors, &tmp)
        .map_err(said_once)
        .and_then(|()| {
            if let Ok(m) = &mode {
                std::fs::set_permissions(&tmp, m.permissions())
                    .with_context(|| format!("setting the mode of '{}'", tmp.display()))?;
            }
            // Hashed and on disk before it takes its name, so a quit at once (a second Ctrl-C)
            // leaves at most a `.partial` file, which is removed.
            let sha256 = sha256_file(&tmp)?;
            let file = std::fs::File::open(&tmp)
                .with_context(|| format!("opening '{}'", tmp.display()))?;
            crate::files::put_in_place(&file, &tmp, path)?;
            Ok(sha256)
        });
    if written.is_err() {
        // What was written of it only takes space (a full disk is the likely cause).
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing checkpoint '{}'", path.display()))
}

/// `path`, or where the file there is one to keep (`kept`), the first of `STEM-2.safetensors`,
/// `STEM-3.safetensors`, ... that holds none. A file to keep is one the lab kept though a
/// resume dropped its row to replay the steps past it, because another run started from it
/// (`--init`) and reads it again by its sha256; any other file there (one written before a
/// crash, never recorded) is written over.
pub fn unused_path(path: &Path, kept: impl Fn(&Path) -> bool) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    std::iter::once(path.to_path_buf())
        .chain((2..).map(|n| path.with_file_name(format!("{stem}-{n}.safetensors"))))
        .find(|p| !(p.exists() && kept(p)))
        .unwrap_or_else(|| path.to_path_buf())
}

/// Whether a file of a checkpoint folder is a checkpoint half written: the safetensors crate's
/// temporary file (`.tmpXXXXXX`), or ours before its rename (`*.safetensors.partial`).
fn is_partial(name: &str) -> bool {
    name.starts_with(".tmp") || name.ends_with(".safetensors.partial")
}

/// Removes what a process that quit mid-write (a second Ctrl-C) left half written in `dir`;
/// whether `dir` holds nothing else. A folder that cannot be read holds nothing to remove.
pub fn remove_partial(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut only_partial = true;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if is_partial(&name.to_string_lossy()) {
            only_partial &= std::fs::remove_file(entry.path()).is_ok();
        } else {
            only_partial = false;
        }
    }
    only_partial
}

/// A checkpoint read back, with its sha256 checked against what the lab recorded.
pub struct Loaded {
    pub tensors: HashMap<String, Tensor>,
    pub position: Position,
}

/// safetensors puts an I/O error in its own message and gives it as its source as well, so a
/// `{:#}` chain said "No space left on device" twice; the I/O error alone says it once.
fn said_once(e: candle_core::Error) -> anyhow::Error {
    match e {
        candle_core::Error::SafeTensor(safetensors::SafeTensorError::IoError(io)) => io.into(),
        e => e.into(),
    }
}

/// Reads the checkpoint at `path` once: the bytes whose sha256 is checked are the bytes loaded.
pub fn load(path: &Path, expected_sha256: Option<&str>, device: &Device) -> Result<Loaded> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("opening checkpoint '{}'", path.display()))?;
    // SAFETY: the mapping is only read, and checkpoints are put in place by rename, never
    // written over, so its bytes stay as they are while it lives (candle's own `load` maps
    // files the same way). Another program truncating the file meanwhile would stop this one
    // (SIGBUS) rather than fail the sha256 check.
    let bytes = unsafe { memmap2::Mmap::map(&file) }
        .with_context(|| format!("reading checkpoint '{}'", path.display()))?;
    if let Some(want) = expected_sha256 {
        let got = crate::data::hash::sha256_hex(&bytes);
        if got != want {
            bail!(
                "checkpoint '{}' has sha256 {got}, but the lab recorded {want}: the file was changed or replaced",
                path.display()
            );
        }
    }
    let tensors = candle_core::safetensors::load_buffer(&bytes, device)
        .with_context(|| format!("reading checkpoint '{}'", path.display()))?;
    let scalar = |key: &str| -> Result<u64> {
        match tensors.get(key) {
            Some(t) => Ok(t
                .flatten_all()?
                .to_vec1::<i64>()?
                .first()
                .copied()
                .unwrap_or(0) as u64),
            None => Ok(0),
        }
    };
    let position = Position {
        iteration: scalar(ITERATION_KEY)?,
        skipped_batches: scalar(SKIPPED_KEY)?,
    };
    Ok(Loaded { tensors, position })
}

/// Overwrites every variable of `params` with the value of the same name in `tensors`, which
/// errors call `source` ("the checkpoint").
pub fn restore_params(
    params: &Params,
    tensors: &HashMap<String, Tensor>,
    source: &str,
) -> Result<()> {
    for (name, var) in params.named_vars() {
        let t = tensors.get(&name).with_context(|| {
            format!("{source} has no '{name}': was it written for another model?")
        })?;
        set_param(&name, &var, t, source)?;
    }
    Ok(())
}

/// Sets variable `name` to `t` from `source`, converted to its type (before it moves to its
/// device) and refused when its shape differs.
pub fn set_param(name: &str, var: &candle_core::Var, t: &Tensor, source: &str) -> Result<()> {
    if t.shape() != var.shape() {
        bail!(
            "'{name}' in {source} has shape {:?}, the model needs {:?}",
            t.shape(),
            var.shape()
        );
    }
    var.set(&t.to_dtype(var.dtype())?.to_device(var.device())?)?;
    Ok(())
}

/// Whether a checkpoint's tensor `name` is training state (Adam's moments and step, the
/// position) rather than one of the network's variables.
pub fn is_training_state(name: &str) -> bool {
    name.starts_with("adam.") || name == ITERATION_KEY || name == SKIPPED_KEY
}

pub use crate::data::hash::sha256_file;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::adam::AdamConfig;
    use candle_core::DType;
    use candle_nn::Module;

    /// What a quit mid-write leaves is removed, and only that: a folder that held nothing else
    /// is free for the run again.
    #[test]
    fn half_written_checkpoints_are_removed_and_nothing_else() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let write = |name: &str| std::fs::write(dir.path().join(name), b"x");
        write(".tmpAb12Cd")?;
        write("interrupt-00000007.safetensors.partial")?;
        assert!(remove_partial(dir.path()));
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
        write(".tmpEf34Gh")?;
        write("best-00000005.safetensors")?;
        assert!(!remove_partial(dir.path()));
        let left: Vec<_> = std::fs::read_dir(dir.path())?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()?;
        assert_eq!(left, ["best-00000005.safetensors"]);
        assert!(!remove_partial(&dir.path().join("absent")));
        Ok(())
    }

    /// A checkpoint is never written over a file to keep: the next name that holds none is
    /// taken. Any other file is written over.
    #[test]
    fn a_checkpoint_is_not_written_over_a_file_to_keep() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("epoch-0004.safetensors");
        let kept = |p: &Path| std::fs::read(p).is_ok_and(|b| b.starts_with(b"kept"));
        assert_eq!(unused_path(&path, kept), path);
        std::fs::write(&path, b"left by a crash")?;
        assert_eq!(unused_path(&path, kept), path);
        std::fs::write(&path, b"kept")?;
        let second = dir.path().join("epoch-0004-2.safetensors");
        assert_eq!(unused_path(&path, kept), second);
        std::fs::write(&second, b"kept too")?;
        let third = dir.path().join("epoch-0004-3.safetensors");
        assert_eq!(unused_path(&path, kept), third);
        std::fs::write(&second, b"left by a crash")?;
        assert_eq!(unused_path(&path, kept), second);
        Ok(())
    }

    /// A checkpoint has the mode any new file gets (the umask's), not the 0600 of the
    /// safetensors crate's temporary file.
    #[test]
    fn a_checkpoint_has_the_mode_of_a_new_file() -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let p = Params::new(1);
        candle_nn::linear(3, 2, p.builder(&Device::Cpu).pp("fc"))?;
        let pos = Position {
            iteration: 1,
            skipped_batches: 0,
        };
        let path = dir.path().join("best-00000001.safetensors");
        save(&path, &p, None, pos)?;
        let new_file = dir.path().join("new");
        std::fs::write(&new_file, b"")?;
        let mode =
            |p: &Path| -> Result<u32> { Ok(std::fs::metadata(p)?.permissions().mode() & 0o777) };
        assert_eq!(mode(&path)?, mode(&new_file)?);
        Ok(())
    }

    /// A write that fails names the system's error once: safetensors' own message and its
    /// source used to say it twice.
    #[test]
    fn a_failed_write_says_why_once() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ck.safetensors");
        // Where the file is to be written there is a folder, which the OS refuses to open as one.
        std::fs::create_dir(path.with_extension("safetensors.partial"))?;
        let p = Params::new(1);
        candle_nn::linear(3, 2, p.builder(&Device::Cpu).pp("fc"))?;
        let pos = Position {
            iteration: 1,
            skipped_batches: 0,
        };
        let err = format!("{:#}", save(&path, &p, None, pos).unwrap_err());
        let why = std::io::Error::from_raw_os_error(21).to_string();
        assert_eq!(err.matches(&why).count(), 1, "{err}");
        assert!(err.starts_with("writing checkpoint '"), "{err}");
        assert!(!path.exists());
        Ok(())
    }

    #[test]
    fn a_checkpoint_restores_weights_adam_and_position() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ck.safetensors");
        let p = Params::new(1);
        let lin = candle_nn::linear(3, 2, p.builder(&Device::Cpu).pp("fc"))?;
        let mut adam = Adam::new(p.named_vars(), AdamConfig::with_lr(0.1))?;
        let x = Tensor::ones((4, 3), DType::F32, &Device::Cpu)?;
        adam.step(&lin.forward(&x)?.sum_all()?.backward()?)?;
        let sha = save(
            &path,
            &p,
            Some(&adam),
            Position {
                iteration: 7,
                skipped_batches: 2,
            },
        )?;

        let q = Params::new(99);
        let lin_q = candle_nn::linear(3, 2, q.builder(&Device::Cpu).pp("fc"))?;
        let loaded = load(&path, Some(&sha), &Device::Cpu)?;
        restore_params(&q, &loaded.tensors, "the checkpoint")?;
        assert_eq!(
            loaded.position,
            Position {
                iteration: 7,
                skipped_batches: 2
            }
        );
        assert_eq!(
            lin.forward(&x)?.to_vec2::<f32>()?,
            lin_q.forward(&x)?.to_vec2::<f32>()?
        );
        let mut adam_q = Adam::new(q.named_vars(), AdamConfig::with_lr(0.1))?;
        adam_q.load_state(&loaded.tensors)?;
        assert_eq!(adam_q.step_count(), 1);
        // Both moments of every variable, value for value.
        let (want, got) = (adam.state()?, adam_q.state()?);
        let mut keys: Vec<&String> = want.keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "adam.m.fc.bias",
                "adam.m.fc.weight",
                "adam.step",
                "adam.v.fc.bias",
                "adam.v.fc.weight"
            ]
        );
        for key in keys.into_iter().filter(|k| *k != "adam.step") {
            let values = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
            let (w, g) = (values(&want[key])?, values(&got[key])?);
            assert!(
                w.iter().all(|&x| x != 0.0),
                "{key} is still zero after a step"
            );
            assert_eq!(w, g, "{key}");
        }

        std::fs::write(&path, b"tampered")?;
        let err = load(&path, Some(&sha), &Device::Cpu)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("was changed or replaced"), "{err}");
        Ok(())
    }
}
