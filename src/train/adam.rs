//! Adam with its state in the open: candle's `AdamW` keeps its moments private and
//! `VarMap::save` drops them, so a resumed run would restart the optimiser. This one can be
//! checkpointed and restored exactly.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use std::cell::RefCell;

use candle_core::{CpuStorage, DType, InplaceOp1, InplaceOp2, Layout, Result, Tensor, Var};
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// L2 penalty added to the gradient, as `torch.optim.Adam(weight_decay=...)`.
    pub weight_decay: f64,
}

impl AdamConfig {
    /// PyTorch's defaults with the given learning rate.
    pub fn with_lr(lr: f64) -> AdamConfig {
        AdamConfig {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

struct Slot {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
}

/// One step's settings and torch's bias corrections `1 - beta^t`.
struct Coefficients {
    cfg: AdamConfig,
    bc1: f64,
    bc2: f64,
}

impl Coefficients {
    fn new(cfg: &AdamConfig, step: u64) -> Coefficients {
        Coefficients {
            cfg: *cfg,
            bc1: 1.0 - cfg.beta1.powi(step as i32),
            bc2: 1.0 - cfg.beta2.powi(step as i32),
        }
    }
}

/// Elements per task of the fused update: large enough to amortise scheduling.
const FUSED_CHUNK: usize = 1 << 16;

/// The f32 elements of a contiguous CPU tensor, borrowed from its storage.
fn cpu_f32<'a>(cpu: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("fused Adam: tensor is not contiguous");
    };
    Ok(&cpu.as_slice::<f32>()?[start..end])
}

impl Slot {
    /// torch's update with candle tensor ops (any device).
    fn step_tensors(&mut self, g: &Tensor, c: &Coefficients) -> Result<()> {
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } = c.cfg;
        // Outside the graph: candle leaves a variable's gradient attached to the graph of the
        // step that made it (its last product with a forward activation), and the variable
        // itself tracks ops. Moments built from either would hold that step's graph and the
        // previous moments, and so every step's activations: on CUDA, where this path ran before
        // the fused kernel (and still runs with FACENET_LAB_KERNELS=candle), ResNet-18 at batch
        // 32 and 224×224 ran out of the H200's 141 GB within 40 steps.
        let (g, w) = (g.detach(), self.var.as_tensor().detach());
        let g = if weight_decay != 0.0 {
            (g + w.affine(weight_decay, 0.0)?)?
        } else {
            g
        };
        self.m = ((&self.m * beta1)? + (&g * (1.0 - beta1))?)?;
        self.v = ((&self.v * beta2)? + (g.sqr()? * (1.0 - beta2))?)?;
        // torch: denom = sqrt(v) / sqrt(bc2) + eps; p -= lr / bc1 * m / denom
        let denom = ((self.v.sqrt()? / c.bc2.sqrt())? + eps)?;
        let update = ((&self.m / denom)? * (lr / c.bc1))?;
        self.var.set(&w.sub(&update)?)
    }

    /// The same update in one pass over f32 memory, with the same f32 operations in the same
    /// order as [`Slot::step_tensors`]: on the CPU split across threads, on CUDA one kernel
    /// (`adam_step`, `src/cuda/kernels.cu`). The weights and moments are updated where they
    /// lie: no new buffers, no copy into the variable.
    fn step_fused(&mut self, g: &Tensor, c: &Coefficients) -> Result<()> {
        if g.shape() != self.var.shape() {
            candle_core::bail!(
                "Adam: gradient {:?} for '{}' {:?}",
                g.shape(),
                self.name,
                self.var.shape()
            );
        }
        let k = FusedCoefficients::new(c);
        let update = |p: Mem, g: Src, m: Mem, v: Mem| -> Result<()> {
            let n = p.len();
            if m.len() != n || v.len() != n || g.len() != n {
                candle_core::bail!(
                    "Adam: gradient and moments of {}, {} and {} elements for '{}' of {n}",
                    g.len(),
                    m.len(),
                    v.len(),
                    self.name,
                );
            }
            match (p, g, m, v) {
                (Mem::Cpu(p), Src::Cpu(g), Mem::Cpu(m), Mem::Cpu(v)) => {
                    k.cpu(p, g, m, v);
                    Ok(())
                }
                #[cfg(feature = "cuda")]
                (Mem::Cuda(p, dev), Src::Cuda(g), Mem::Cuda(m, _), Mem::Cuda(v, _)) => {
                    k.cuda(dev, p, g, m, v)
                }
                _ => candle_core::bail!(
                    "fused Adam: '{}' and its moments differ in device",
                    self.name
                ),
            }
        };
        // The weights (with the gradient to read), then each moment, are opened for writing.
        let g = g.contiguous()?;
        in_place(self.var.as_tensor(), Some(&g), |p, g| {
            in_place(&self.m, None, |m, _| {
                in_place(&self.v, None, |v, _| update(p, g, m, v))
            })
        })
    }
}

/// [`Coefficients`] in f32, as the fused update uses them.
struct FusedCoefficients {
    decay: bool,
    wd: f32,
    b1: f32,
    b2: f32,
    one_m_b1: f32,
    one_m_b2: f32,
    eps: f32,
    inv_sqrt_bc2: f32,
    step: f32,
}

impl FusedCoefficients {
    fn new(c: &Coefficients) -> FusedCoefficients {
        let f = |x: f64| x as f32;
        let cfg = &c.cfg;
        FusedCoefficients {
            decay: cfg.weight_decay != 0.0,
            wd: f(cfg.weight_decay),
            b1: f(cfg.beta1),
            b2: f(cfg.beta2),
            one_m_b1: f(1.0 - cfg.beta1),
            one_m_b2: f(1.0 - cfg.beta2),
            eps: f(cfg.eps),
            inv_sqrt_bc2: f(1.0 / c.bc2.sqrt()),
            step: f(cfg.lr / c.bc1),
        }
    }

    /// One pass over every element, chunks spread over the threads.
    fn cpu(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let k = self;
        p.par_chunks_mut(FUSED_CHUNK)
            .zip(m.par_chunks_mut(FUSED_CHUNK))
            .zip(v.par_chunks_mut(FUSED_CHUNK))
            .zip(g.par_chunks(FUSED_CHUNK))
            .for_each(|(((p, m), v), g)| {
                for i in 0..p.len() {
                    let (pi, mut gi) = (p[i], g[i]);
                    if k.decay {
                        gi += pi * k.wd;
                    }
                    let mi = m[i] * k.b1 + gi * k.one_m_b1;
                    let vi = v[i] * k.b2 + (gi * gi) * k.one_m_b2;
                    let denom = vi.sqrt() * k.inv_sqrt_bc2 + k.eps;
                    p[i] = pi - (mi / denom) * k.step;
                    m[i] = mi;
                    v[i] = vi;
                }
            });
    }

    /// One kernel over every element.
    #[cfg(feature = "cuda")]
    fn cuda(
        &self,
        dev: &candle_core::CudaDevice,
        mut p: CudaViewMut<'_, f32>,
        g: CudaView<'_, f32>,
        mut m: CudaViewMut<'_, f32>,
        mut v: CudaViewMut<'_, f32>,
    ) -> Result<()> {
        use candle_core::cuda_backend::cudarc::driver::PushKernelArg;
        use candle_core::cuda_backend::WrapErr;
        let n = p.len();
        let (len, decay) = (n as i64, i32::from(self.decay));
        let kernel = crate::cuda::Kernel::new(dev, "adam_step")?;
        let mut b = kernel.builder();
        b.arg(&mut p)
            .arg(&g)
            .arg(&mut m)
            .arg(&mut v)
            .arg(&len)
            .arg(&self.b1)
            .arg(&self.b2)
            .arg(&self.one_m_b1)
            .arg(&self.one_m_b2)
            .arg(&self.eps)
            .arg(&self.inv_sqrt_bc2)
            .arg(&self.step)
            .arg(&self.wd)
            .arg(&decay);
        // SAFETY: the arguments match adam_step's signature; the three buffers are distinct
        // tensors' storages (candle holds their locks).
        unsafe { b.launch(crate::cuda::elementwise(n)) }.w()?;
        Ok(())
    }
}

#[cfg(feature = "cuda")]
use candle_core::cuda_backend::cudarc::driver::{CudaView, CudaViewMut};

/// One tensor's f32 elements, opened for writing where they lie.
enum Mem<'a> {
    Cpu(&'a mut [f32]),
    #[cfg(feature = "cuda")]
    Cuda(CudaViewMut<'a, f32>, &'a candle_core::CudaDevice),
}

/// One tensor's f32 elements to read, or none.
enum Src<'a> {
    None,
    Cpu(&'a [f32]),
    #[cfg(feature = "cuda")]
    Cuda(CudaView<'a, f32>),
}

impl Mem<'_> {
    fn len(&self) -> usize {
        match self {
            Mem::Cpu(s) => s.len(),
            #[cfg(feature = "cuda")]
            Mem::Cuda(s, _) => s.len(),
        }
    }
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::None => 0,
            Src::Cpu(s) => s.len(),
            #[cfg(feature = "cuda")]
            Src::Cuda(s) => s.len(),
        }
    }
}

/// Runs `f` on the f32 elements of a contiguous tensor `dst` on the CPU or CUDA, writing
/// through to its storage, with those of `src` (of the same length) to read, or none. candle
/// takes the locks and refuses a `src` that shares `dst`'s storage.
fn in_place(
    dst: &Tensor,
    src: Option<&Tensor>,
    f: impl FnOnce(Mem, Src) -> Result<()>,
) -> Result<()> {
    let op = InPlace {
        f: RefCell::new(Some(f)),
        out: RefCell::new(None),
    };
    match src {
        Some(src) => dst.inplace_op2(src, &op)?,
        None => dst.inplace_op1(&op)?,
    }
    op.out.into_inner().unwrap_or_else(|| {
        candle_core::bail!("fused Adam: tensor is neither on the CPU nor on CUDA")
    })
}

struct InPlace<F> {
    f: RefCell<Option<F>>,
    out: RefCell<Option<Result<()>>>,
}

/// The `[start, end)` of a contiguous layout's elements.
fn span(l: &Layout) -> Result<(usize, usize)> {
    l.contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("fused Adam: tensor is not contiguous".into()))
}

impl<F: FnOnce(Mem, Src) -> Result<()>> InPlace<F> {
    /// Calls `f` once, keeping its result (candle's in-place ops return nothing of their own).
    fn call<'a>(&self, open: impl FnOnce() -> Result<(Mem<'a>, Src<'a>)>) {
        let out = open().and_then(|(dst, src)| {
            let f = self.f.borrow_mut().take();
            let f = f.ok_or_else(|| candle_core::Error::Msg("an in-place op runs once".into()))?;
            f(dst, src)
        });
        *self.out.borrow_mut() = Some(out);
    }

    fn cpu<'a>(
        dst: &'a mut CpuStorage,
        dst_l: &Layout,
        src: Src<'a>,
    ) -> Result<(Mem<'a>, Src<'a>)> {
        let (start, end) = span(dst_l)?;
        let CpuStorage::F32(dst) = dst else {
            candle_core::bail!("fused Adam: tensor is not f32");
        };
        Ok((Mem::Cpu(&mut dst[start..end]), src))
    }

    #[cfg(feature = "cuda")]
    fn cuda<'a>(
        dst: &'a mut candle_core::CudaStorage,
        dst_l: &Layout,
        src: Src<'a>,
    ) -> Result<(Mem<'a>, Src<'a>)> {
        let (start, end) = span(dst_l)?;
        let dev = &dst.device;
        let slice = match &mut dst.slice {
            candle_core::cuda_backend::CudaStorageSlice::F32(s) => s,
            _ => candle_core::bail!("fused Adam: tensor is not f32"),
        };
        Ok((Mem::Cuda(slice.slice_mut(start..end), dev), src))
    }
}

impl<F: FnOnce(Mem, Src) -> Result<()>> InplaceOp1 for InPlace<F> {
    fn name(&self) -> &'static str {
        "adam-in-place"
    }

    fn cpu_fwd(&self, dst: &mut CpuStorage, dst_l: &Layout) -> Result<()> {
        self.call(|| Self::cpu(dst, dst_l, Src::None));
        Ok(())
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(&self, dst: &mut candle_core::CudaStorage, dst_l: &Layout) -> Result<()> {
        self.call(|| Self::cuda(dst, dst_l, Src::None));
        Ok(())
    }
}

impl<F: FnOnce(Mem, Src) -> Result<()>> InplaceOp2 for InPlace<F> {
    fn name(&self) -> &'static str {
        "adam-in-place"
    }

    fn cpu_fwd(
        &self,
        dst: &mut CpuStorage,
        dst_l: &Layout,
        src: &CpuStorage,
        src_l: &Layout,
    ) -> Result<()> {
        self.call(|| Self::cpu(dst, dst_l, Src::Cpu(cpu_f32(src, src_l)?)));
        Ok(())
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        dst: &mut candle_core::CudaStorage,
        dst_l: &Layout,
        src: &candle_core::CudaStorage,
        src_l: &Layout,
    ) -> Result<()> {
        self.call(|| {
            let src = crate::cuda::view(src, src_l, "fused Adam: gradient")?;
            Self::cuda(dst, dst_l, Src::Cuda(src))
        });
        Ok(())
    }
}

/// Whether the fused update takes this variable: f32 on the CPU, or on CUDA with the `cuda`
/// feature (unless `FACENET_LAB_KERNELS=candle`).
fn fusable(var: &Tensor) -> bool {
    if var.dtype() != DType::F32 {
        return false;
    }
    #[cfg(feature = "cuda")]
    if var.device().is_cuda() && crate::cuda::enabled() {
        return true;
    }
    var.device().is_cpu()
}

pub struct Adam {
    cfg: AdamConfig,
    slots: Vec<Slot>,
    step: u64,
}

const STEP_KEY: &str = "adam.step";

impl Adam {
    /// An optimiser over named variables; variables that never get a gradient (BatchNorm
    /// running statistics) are left alone.
    pub fn new(vars: Vec<(String, Var)>, cfg: AdamConfig) -> Result<Adam> {
        let slots = vars
            .into_iter()
            .map(|(name, var)| {
                Ok(Slot {
                    name,
                    m: var.as_tensor().zeros_like()?,
                    v: var.as_tensor().zeros_like()?,
                    var,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Adam {
            cfg,
            slots,
            step: 0,
        })
    }

    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The rate for the next steps (a schedule sets it before each step).
    pub fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step_with(grads, true)
    }

    /// One update. `fused` takes the one-pass path for f32 variables ([`fusable`]): on the
    /// CPU candle's element-wise ops each make a full copy (AlexNet's 57.5M parameters took 1.4
    /// s per step through them on 2 cores, 61 ms fused); on CUDA they are fourteen kernels per
    /// tensor, the fused update one.
    fn step_with(&mut self, grads: &GradStore, fused: bool) -> Result<()> {
        self.step += 1;
        let c = Coefficients::new(&self.cfg, self.step);
        for slot in &mut self.slots {
            let Some(g) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let var = slot.var.as_tensor();
            if fused && fusable(var) {
                slot.step_fused(g, &c)?;
            } else {
                slot.step_tensors(g, &c)?;
            }
        }
        Ok(())
    }

    /// The moments and step count, keyed for a safetensors checkpoint: copies, since the
    /// fused update changes the moments in place.
    pub fn state(&self) -> Result<HashMap<String, Tensor>> {
        let mut out = HashMap::new();
        for s in &self.slots {
            out.insert(format!("adam.m.{}", s.name), s.m.copy()?);
            out.insert(format!("adam.v.{}", s.name), s.v.copy()?);
        }
        let dev = self
            .slots
            .first()
            .map(|s| s.var.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        out.insert(
            STEP_KEY.to_string(),
            Tensor::new(&[self.step as i64], &dev)?,
        );
        Ok(out)
    }

    /// Restores what [`Adam::state`] saved; every variable must have its moments.
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        for s in &mut self.slots {
            let get = |kind: &str| -> Result<Tensor> {
                let key = format!("adam.{kind}.{}", s.name);
                let t = state
                    .get(&key)
                    .ok_or_else(|| candle_core::Error::Msg(format!("checkpoint lacks '{key}'")))?;
                if t.shape() != s.var.shape() {
                    candle_core::bail!(
                        "checkpoint '{key}' has shape {:?}, the model needs {:?}",
                        t.shape(),
                        s.var.shape()
                    );
                }
                // A copy of its own: the fused update writes into the moments.
                t.to_device(s.var.device())?.to_dtype(s.var.dtype())?.copy()
            };
            s.m = get("m")?;
            s.v = get("v")?;
        }
        let step = state
            .get(STEP_KEY)
            .ok_or_else(|| candle_core::Error::Msg(format!("checkpoint lacks '{STEP_KEY}'")))?;
        self.step = step
            .flatten_all()?
            .to_vec1::<i64>()?
            .first()
            .copied()
            .unwrap_or(0) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn matches_torch_adam_on_a_quadratic() -> Result<()> {
        // torch.optim.Adam's update (torch/optim/adam.py, _single_tensor_adam) replayed in Python
        // for p = [1, -2], lr = 0.1, loss = (p**2).sum(), 3 steps -> [0.70158627, -1.70062339]
        let p = Var::new(&[1.0f32, -2.0], &Device::Cpu)?;
        let mut opt = Adam::new(vec![("p".into(), p.clone())], AdamConfig::with_lr(0.1))?;
        for _ in 0..3 {
            let loss = p.as_tensor().sqr()?.sum_all()?;
            opt.step(&loss.backward()?)?;
        }
        let got = p.as_tensor().to_vec1::<f32>()?;
        assert!(
            (got[0] - 0.701_586_27).abs() < 1e-5 && (got[1] + 1.700_623_4).abs() < 1e-5,
            "{got:?}"
        );
        assert_eq!(opt.step_count(), 3);
        Ok(())
    }

    /// Weight decay as torch's Adam adds it (to the gradient, before the moments), on a loss
    /// where it changes the direction of the step: torch 2.11 on the CPU, lr 0.1,
    /// weight_decay 5, loss ((p − [3, 1])²).sum(), 3 steps → [0.76844835, −1.70052850]
    /// (without the decay: [1.29937661, −1.70038152]). Both updates, fused and tensor.
    #[test]
    fn weight_decay_matches_torch_adam() -> Result<()> {
        for fused in [true, false] {
            let p = Var::new(&[1.0f32, -2.0], &Device::Cpu)?;
            let target = Tensor::new(&[3.0f32, 1.0], &Device::Cpu)?;
            let cfg = AdamConfig {
                weight_decay: 5.0,
                ..AdamConfig::with_lr(0.1)
            };
            let mut opt = Adam::new(vec![("p".into(), p.clone())], cfg)?;
            for _ in 0..3 {
                let loss = (p.as_tensor() - &target)?.sqr()?.sum_all()?;
                opt.step_with(&loss.backward()?, fused)?;
            }
            let got = p.as_tensor().to_vec1::<f32>()?;
            assert!(
                (got[0] - 0.768_448_35).abs() < 1e-5 && (got[1] + 1.700_528_5).abs() < 1e-5,
                "fused {fused}: {got:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn the_fused_cpu_update_equals_the_tensor_update() -> Result<()> {
        // More elements than one chunk, an odd tail, weight decay on, several steps.
        let n = 3 * FUSED_CHUNK + 17;
        let init: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let target = Tensor::from_vec(
            (0..n)
                .map(|i| ((i * 104_729) % 997) as f32 / 997.0)
                .collect::<Vec<_>>(),
            n,
            &Device::Cpu,
        )?;
        let cfg = AdamConfig {
            weight_decay: 5e-4,
            ..AdamConfig::with_lr(3e-3)
        };
        let run = |fused: bool| -> Result<(Vec<f32>, Vec<f32>)> {
            let p = Var::from_tensor(&Tensor::from_vec(init.clone(), n, &Device::Cpu)?)?;
            let mut opt = Adam::new(vec![("p".into(), p.clone())], cfg)?;
            for _ in 0..4 {
                let loss = (p.as_tensor() - &target)?.sqr()?.sum_all()?;
                opt.step_with(&loss.backward()?, fused)?;
            }
            let v = opt.state()?["adam.v.p"].to_vec1::<f32>()?;
            Ok((p.as_tensor().to_vec1::<f32>()?, v))
        };
        let (fused, tensors) = (run(true)?, run(false)?);
        let worst = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs() / y.abs().max(1e-6))
                .fold(0f32, f32::max)
        };
        assert!(worst(&fused.0, &tensors.0) < 1e-6, "weights differ");
        assert!(worst(&fused.1, &tensors.1) < 1e-6, "second moments differ");
        assert_ne!(fused.0, init, "the weights moved");
        Ok(())
    }

    /// The tensor update (CUDA's) keeps no graph: a weight's gradient from candle's backward
    /// still holds the step's graph (here `w · a`, with `a` computed from another variable), and
    /// moments built from it held every step's activations, until the GPU ran out of memory.
    #[test]
    fn the_tensor_update_keeps_no_graph_in_its_moments() -> Result<()> {
        let w = Var::new(&[0.5f32, -1.0], &Device::Cpu)?;
        let u = Var::new(&[2.0f32, 3.0], &Device::Cpu)?;
        let cfg = AdamConfig {
            weight_decay: 1e-2,
            ..AdamConfig::with_lr(0.1)
        };
        let mut opt = Adam::new(vec![("w".into(), w.clone())], cfg)?;
        for _ in 0..2 {
            let a = (u.as_tensor() * 2.0)?;
            let grads = (w.as_tensor() * &a)?.sum_all()?.backward()?;
            assert!(
                grads.get(w.as_tensor()).is_some_and(|g| g.track_op()),
                "the premise: candle's gradient of w tracks ops"
            );
            opt.step_with(&grads, false)?;
        }
        let slot = &opt.slots[0];
        assert!(!slot.m.track_op(), "the first moment holds a graph");
        assert!(!slot.v.track_op(), "the second moment holds a graph");
        Ok(())
    }

    #[test]
    fn a_saved_state_keeps_its_values_through_later_steps() -> Result<()> {
        let p = Var::new(&[0.5f32, 3.0, -1.0], &Device::Cpu)?;
        let mut opt = Adam::new(vec![("w".into(), p.clone())], AdamConfig::with_lr(0.05))?;
        let step = |opt: &mut Adam| -> Result<()> {
            opt.step(&p.as_tensor().sqr()?.sum_all()?.backward()?)
        };
        step(&mut opt)?;
        let saved = opt.state()?;
        let m = saved["adam.m.w"].to_vec1::<f32>()?;
        let mut restored = Adam::new(vec![("w".into(), p.clone())], AdamConfig::with_lr(0.05))?;
        restored.load_state(&saved)?;
        step(&mut opt)?;
        step(&mut restored)?;
        assert_eq!(saved["adam.m.w"].to_vec1::<f32>()?, m);
        assert_ne!(
            opt.state()?["adam.m.w"].to_vec1::<f32>()?,
            m,
            "the moments moved"
        );
        Ok(())
    }

    #[test]
    fn saved_state_resumes_exactly() -> Result<()> {
        let run = |steps: usize, p: &Var, opt: &mut Adam| -> Result<()> {
            for _ in 0..steps {
                let loss = (p.as_tensor().sqr()?.sum_all()? + p.as_tensor().sum_all()?)?;
                opt.step(&loss.backward()?)?;
            }
            Ok(())
        };
        let a = Var::new(&[0.5f32, 3.0, -1.0], &Device::Cpu)?;
        let mut opt_a = Adam::new(vec![("w".into(), a.clone())], AdamConfig::with_lr(0.05))?;
        run(6, &a, &mut opt_a)?;

        let b = Var::new(&[0.5f32, 3.0, -1.0], &Device::Cpu)?;
        let mut opt_b = Adam::new(vec![("w".into(), b.clone())], AdamConfig::with_lr(0.05))?;
        run(3, &b, &mut opt_b)?;
        let state = opt_b.state()?;
        let mut opt_c = Adam::new(vec![("w".into(), b.clone())], AdamConfig::with_lr(0.05))?;
        opt_c.load_state(&state)?;
        run(3, &b, &mut opt_c)?;
        assert_eq!(
            a.as_tensor().to_vec1::<f32>()?,
            b.as_tensor().to_vec1::<f32>()?
        );

        let mut missing = state.clone();
        missing.remove("adam.m.w");
        let err = opt_c.load_state(&missing).unwrap_err().to_string();
        assert!(err.contains("adam.m.w"), "{err}");
        Ok(())
    }
}
