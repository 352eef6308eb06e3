//! The training loop: batches → embeddings → mined triplet loss → Adam, with evaluations,
//! checkpoints and a clean stop on request. It emits [`Event`]s and never draws or records.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};

use crate::data::Images;
use crate::model::EmbeddingNet;
use crate::rng::Rng;
use crate::train::adam::{Adam, AdamConfig};
use crate::train::augment::augment;
use crate::train::checkpoint::{self, Loaded, Position};
use crate::train::config::TrainConfig;
use crate::train::evaluate::{embed, l2_normalize, seed_accuracies};
use crate::train::events::{CheckpointKind, EvalStats, Event, Observer, Outcome, StepStats, Stop};
use crate::train::params::Params;
use crate::train::pretrained::{InitWeights, Plan};
use crate::train::sampler::{epoch_batches, iters_per_epoch};
use crate::train::schedule::Schedule;
use crate::train::triplet::triplet_loss;

/// Images per forward pass during evaluation.
const EVAL_CHUNK: usize = 64;

/// A split's images on the training device.
pub struct DeviceSplit {
    pub images: Tensor,
    pub labels: Vec<u32>,
    labels_t: Tensor,
}

impl DeviceSplit {
    pub fn new(split: &Images, device: &Device) -> Result<DeviceSplit> {
        Ok(DeviceSplit {
            images: split.pixels.to_device(device)?,
            labels: split.labels.clone(),
            labels_t: Tensor::new(split.labels.as_slice(), device)?,
        })
    }
}

/// When to stop early.
pub struct Control<'a> {
    /// Set from another thread (Ctrl-C): finish the step, checkpoint, stop.
    pub stop: &'a AtomicBool,
    /// Stop as if interrupted after this epoch, to be resumed later.
    pub stop_after_epoch: Option<usize>,
    /// Stop as if interrupted once this moment has passed: `--time-limit`, and the limit.
    pub deadline: Option<(Instant, Duration)>,
    /// Stop as Ctrl-C stops it after this step (a mid-epoch interruption, reproduced).
    pub stop_after_step: Option<u64>,
    /// Write a checkpoint to resume from ([`CheckpointKind::Auto`]) where a stop could be
    /// taken (after a step inside an epoch, or at an epoch's end) once this much time has
    /// passed since the last one, or since training started: a crash loses no more.
    pub resume_point_every: Option<Duration>,
}

/// How often a run writes a checkpoint to resume from where nothing else did
/// ([`Control::resume_point_every`]): a crash of a long run loses at most about this much.
pub const RESUME_POINT_EVERY: Duration = Duration::from_secs(30 * 60);

impl Control<'_> {
    /// Why to stop after step `iteration`, just taken, which ended epoch `epoch_end` where it
    /// ended one: asked (Ctrl-C), after that epoch, at the time limit or at that step.
    fn stop(&self, iteration: u64, epoch_end: Option<usize>) -> Option<Stop> {
        if self.stop.load(Ordering::SeqCst) {
            return Some(Stop::Asked);
        }
        if let Some(e) = epoch_end.filter(|&e| self.stop_after_epoch == Some(e)) {
            return Some(Stop::AfterEpoch(e));
        }
        if let Some((_, limit)) = self.deadline.filter(|&(at, _)| Instant::now() >= at) {
            return Some(Stop::TimeLimit(limit));
        }
        (self.stop_after_step == Some(iteration)).then_some(Stop::AtStep)
    }

    /// Whether a checkpoint to resume from is due, the last one (or the start) at `since`.
    fn resume_point_due(&self, since: Instant) -> bool {
        self.resume_point_every
            .is_some_and(|every| since.elapsed() >= every)
    }
}

pub struct Trainer {
    pub cfg: TrainConfig,
    pub device: Device,
    pub device_name: String,
    pub params: Params,
    pub model: EmbeddingNet,
    pub adam: Adam,
    pub train: DeviceSplit,
    pub dev: DeviceSplit,
    pub position: Position,
    pub checkpoint_dir: PathBuf,
    /// The dev accuracy of the best checkpoint, and the epoch it was measured at (carried over
    /// on resume); none where the run has none, so that the next evaluation writes one.
    pub best_dev: Option<(f64, usize)>,
    /// The best dev accuracy measured so far, and its epoch, that `--patience` counts from:
    /// on resume, the best of the evaluations kept, also where their best checkpoint went.
    pub best_seen: Option<(f64, usize)>,
    /// Whether a file already at a checkpoint's path must be kept rather than written over
    /// ([`checkpoint::unused_path`]): the lab's answer where a lab records the run, none
    /// elsewhere.
    pub keeps: Box<dyn Fn(&std::path::Path) -> bool + Send>,
}

/// Whether a batch can form a triplet: two images of one identity and one of another.
pub(crate) fn has_triplet(labels: &[u32]) -> bool {
    let mut sorted = labels.to_vec();
    sorted.sort_unstable();
    let distinct =
        sorted.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(!sorted.is_empty());
    distinct >= 2 && sorted.windows(2).any(|w| w[0] == w[1])
}

impl Trainer {
    pub fn new(
        cfg: TrainConfig,
        device: Device,
        device_name: String,
        train: &Images,
        dev: &Images,
        checkpoint_dir: PathBuf,
    ) -> Result<Trainer> {
        let params = Params::new(cfg.seed);
        let model = cfg.network(params.builder(&device))?;
        if cfg.zero_init_residual {
            crate::model::zero_init_residual(cfg.model, &params.named_vars())?;
        }
        let adam = Adam::new(
            params.named_vars(),
            AdamConfig {
                weight_decay: cfg.weight_decay,
                ..AdamConfig::with_lr(cfg.lr)
            },
        )?;
        Ok(Trainer {
            train: DeviceSplit::new(train, &device)?,
            dev: DeviceSplit::new(dev, &device)?,
            cfg,
            device,
            device_name,
            params,
            model,
            adam,
            position: Position::default(),
            checkpoint_dir,
            best_dev: None,
            best_seen: None,
            keeps: Box::new(|_| false),
        })
    }

    /// Sets the weights from an `--init` file before the first step (see
    /// [`InitWeights::apply`]).
    pub fn start_from(&mut self, init: &InitWeights) -> Result<Plan> {
        init.apply(self.cfg.model, &self.params, self.cfg.fresh_embedding)
    }

    /// Continues from a checkpoint: weights, BatchNorm statistics, Adam state and position. (A
    /// final checkpoint, which holds no Adam state, is never resumed from: a run that wrote it
    /// has nothing left to train.)
    pub fn restore(&mut self, ck: &Loaded) -> Result<()> {
        checkpoint::restore_params(&self.params, &ck.tensors, "the checkpoint")?;
        self.adam.load_state(&ck.tensors)?;
        self.position = ck.position;
        Ok(())
    }

    pub fn iters_per_epoch(&self) -> usize {
        iters_per_epoch(self.train.labels.len(), self.cfg.batch)
    }

    /// The learning rate at every step of this run.
    pub fn schedule(&self) -> Schedule {
        let ipe = self.iters_per_epoch() as u64;
        Schedule {
            kind: self.cfg.lr_schedule,
            base: self.cfg.lr,
            warmup: ipe * self.cfg.warmup_epochs as u64,
            total: ipe * self.cfg.epochs as u64,
        }
    }

    pub fn train(&mut self, observers: &mut [&mut dyn Observer], ctl: &Control) -> Result<Outcome> {
        let ipe = self.iters_per_epoch() as u64;
        let total = ipe * self.cfg.epochs as u64;
        let emit = |observers: &mut [&mut dyn Observer], e: &Event| -> Result<()> {
            observers.iter_mut().try_for_each(|o| o.on_event(e))
        };
        let start = self.position;
        emit(
            observers,
            &Event::Started {
                total_iterations: total,
                iters_per_epoch: ipe as usize,
                start,
                device: &self.device_name,
            },
        )?;
        // When the last checkpoint a resume could start from was written (or training began).
        let mut resume_point = Instant::now();
        while self.position.iteration < total {
            let epoch = (self.position.iteration / ipe) as usize + 1;
            let offset = (self.position.iteration % ipe) as usize;
            let batches = epoch_batches(
                self.cfg.sampler,
                &self.train.labels,
                self.cfg.batch,
                self.cfg.pk_k,
                self.cfg.seed,
                epoch,
            );
            for (i, batch) in batches.iter().enumerate().skip(offset) {
                let stats = self.step(batch, epoch)?;
                emit(observers, &Event::Step(&stats))?;
                // A stop on an epoch's last step waits for the epoch's evaluation below.
                if i + 1 < batches.len() {
                    if let Some(why) = ctl.stop(self.position.iteration, None) {
                        return self.stop(observers, epoch, CheckpointKind::Interrupt, Some(why));
                    }
                    if ctl.resume_point_due(resume_point) {
                        self.write_checkpoint(observers, epoch, CheckpointKind::Auto)?;
                        resume_point = Instant::now();
                    }
                }
            }
            let last = epoch == self.cfg.epochs;
            let evaluated = epoch.is_multiple_of(self.cfg.eval_every) || last;
            if evaluated {
                let e = self.evaluate(epoch)?;
                emit(observers, &Event::Eval(&e))?;
                if self.best_seen.is_none_or(|(b, _)| e.dev_acc > b) {
                    self.best_seen = Some((e.dev_acc, epoch));
                }
                if self.best_dev.is_none_or(|(b, _)| e.dev_acc > b) {
                    self.best_dev = Some((e.dev_acc, epoch));
                    self.write_checkpoint(observers, epoch, CheckpointKind::Best)?;
                }
            }
            if last || (evaluated && self.out_of_patience(epoch)) {
                break;
            }
            if let Some(why) = ctl.stop(self.position.iteration, Some(epoch)) {
                return self.stop(observers, epoch, CheckpointKind::Interrupt, Some(why));
            }
            if self
                .cfg
                .checkpoint_every
                .is_some_and(|n| epoch.is_multiple_of(n))
            {
                self.write_checkpoint(observers, epoch, CheckpointKind::Periodic)?;
                resume_point = Instant::now();
            } else if ctl.resume_point_due(resume_point) {
                self.write_checkpoint(observers, epoch, CheckpointKind::Auto)?;
                resume_point = Instant::now();
            }
        }
        // The last epoch, or the one the patience ran out at.
        let epoch = (self.position.iteration / ipe) as usize;
        self.stop(observers, epoch, CheckpointKind::Final, None)
    }

    /// Whether `--patience` ends the training after `epoch`, just evaluated: that many epochs
    /// or more have passed since the best dev accuracy.
    fn out_of_patience(&self, epoch: usize) -> bool {
        match (self.cfg.patience, self.best_seen) {
            (Some(patience), Some((_, best))) => epoch.saturating_sub(best) >= patience,
            _ => false,
        }
    }

    /// Ends the training with a checkpoint of `kind`: completed, or interrupted as `stopped`
    /// says.
    fn stop(
        &mut self,
        observers: &mut [&mut dyn Observer],
        epoch: usize,
        kind: CheckpointKind,
        stopped: Option<Stop>,
    ) -> Result<Outcome> {
        self.write_checkpoint(observers, epoch, kind)?;
        let outcome = match stopped {
            Some(_) => Outcome::Interrupted,
            None => Outcome::Completed,
        };
        let e = Event::Finished {
            outcome,
            stopped,
            iteration: self.position.iteration,
            epoch,
        };
        observers.iter_mut().try_for_each(|o| o.on_event(&e))?;
        Ok(outcome)
    }

    fn write_checkpoint(
        &self,
        observers: &mut [&mut dyn Observer],
        epoch: usize,
        kind: CheckpointKind,
    ) -> Result<()> {
        let it = self.position.iteration;
        let file = match kind {
            // One file per best, so that the file the lab names is never rewritten under it.
            CheckpointKind::Best => format!("best-{it:08}.safetensors"),
            CheckpointKind::Final => "final.safetensors".to_string(),
            CheckpointKind::Periodic => format!("epoch-{epoch:04}.safetensors"),
            CheckpointKind::Interrupt => format!("interrupt-{it:08}.safetensors"),
            CheckpointKind::Auto => format!("auto-{it:08}.safetensors"),
        };
        let path = checkpoint::unused_path(&self.checkpoint_dir.join(file), &self.keeps);
        // Adam's state (twice the weights' size) only where training may go on from the file:
        // a best or final checkpoint holds what inference needs, and no step follows a final.
        let resumable = matches!(
            kind,
            CheckpointKind::Periodic | CheckpointKind::Interrupt | CheckpointKind::Auto
        );
        let adam = resumable.then_some(&self.adam);
        let sha = match checkpoint::save(&path, &self.params, adam, self.position) {
            Ok(sha) => sha,
            // The safety net only: a full disk fails the run where it must checkpoint (its
            // best, its end, a stop), not at every automatic one.
            Err(e) if kind == CheckpointKind::Auto => {
                let warning = format!(
                    "warning: {e:#}; training goes on, and a crash before the next checkpoint \
                     to resume from starts over from the last one"
                );
                let e = Event::Warning(&warning);
                return observers.iter_mut().try_for_each(|o| o.on_event(&e));
            }
            Err(e) => return Err(e),
        };
        let e = Event::Checkpoint {
            iteration: it,
            epoch,
            kind,
            path: &path,
            sha256: &sha,
        };
        observers.iter_mut().try_for_each(|o| o.on_event(&e))
    }

    /// One optimisation step on the batch of training indices.
    fn step(&mut self, batch: &[usize], epoch: usize) -> Result<StepStats> {
        let t = Instant::now();
        self.position.iteration += 1;
        let it = self.position.iteration;
        let lr = self.schedule().lr(it);
        let labels: Vec<u32> = batch.iter().map(|&i| self.train.labels[i]).collect();
        let skipped = |pos: &mut Position| {
            pos.skipped_batches += 1;
            StepStats {
                iteration: it,
                epoch,
                loss: None,
                lr,
                active_fraction: 0.0,
                mean_ap: 0.0,
                mean_an: 0.0,
                images_per_sec: 0.0,
                skipped_batches: pos.skipped_batches,
                step_secs: 0.0,
            }
        };
        if !has_triplet(&labels) {
            return Ok(skipped(&mut self.position));
        }
        let idx: Vec<u32> = batch.iter().map(|&i| i as u32).collect();
        let idx = Tensor::new(idx.as_slice(), &self.device)?;
        let mut x = self.train.images.index_select(&idx, 0)?;
        if self.cfg.augment {
            x = augment(
                &x,
                &mut Rng::derive(self.cfg.seed, &format!("augment-{it}")),
            )?;
        }
        let y = self.train.labels_t.index_select(&idx, 0)?;
        let mut emb = self.model.forward_train(
            &x,
            &mut Rng::derive(self.cfg.seed, &format!("dropout-{it}")),
        )?;
        if self.cfg.normalize {
            emb = l2_normalize(&emb)?;
        }
        let Some(out) = triplet_loss(&emb, &y, self.cfg.margin, self.cfg.mining)? else {
            return Ok(skipped(&mut self.position));
        };
        let loss = out
            .loss
            .to_dtype(candle_core::DType::F64)?
            .to_scalar::<f64>()?;
        // NaN distances make no triplet active, so a diverged network's loss can read 0: its
        // mean distances tell.
        if !(loss.is_finite() && out.mean_ap.is_finite() && out.mean_an.is_finite()) {
            let distances = format!(
                "mean anchor-positive distance {}, anchor-negative {}",
                out.mean_ap, out.mean_an
            );
            let what = if loss.is_finite() {
                format!(
                    "its embeddings are no longer numbers ({distances}), though the loss reads \
                     {loss}: no triplet of such distances counts"
                )
            } else {
                format!("the loss is {loss} ({distances})")
            };
            anyhow::bail!(
                "training diverged at step {it} (epoch {epoch}): {what}; lower --lr (it was \
                 {lr:e}) or try --normalize"
            );
        }
        let grads = out.loss.backward()?;
        self.adam.set_lr(lr);
        self.adam.step(&grads)?;
        // GPU work is queued: wait for it, so the step's time is its own.
        self.device.synchronize()?;
        let secs = t.elapsed().as_secs_f64();
        Ok(StepStats {
            iteration: it,
            epoch,
            loss: Some(loss),
            lr,
            active_fraction: out.active_fraction,
            mean_ap: out.mean_ap,
            mean_an: out.mean_an,
            images_per_sec: batch.len() as f64 / secs.max(1e-9),
            skipped_batches: self.position.skipped_batches,
            step_secs: secs,
        })
    }

    /// Train and dev accuracy as the seed defined them, plus dev accuracy against centroids.
    pub fn evaluate(&self, epoch: usize) -> Result<EvalStats> {
        let train_emb = embed(
            &self.model,
            &self.train.images,
            self.cfg.normalize,
            EVAL_CHUNK,
        )?;
        let dev_emb = embed(
            &self.model,
            &self.dev.images,
            self.cfg.normalize,
            EVAL_CHUNK,
        )?;
        let (train_acc, dev_acc, dev_acc_centroid) =
            seed_accuracies(&train_emb, &self.train.labels, &dev_emb, &self.dev.labels)
                .with_context(|| {
                    format!(
                        "evaluating after step {} (epoch {epoch})",
                        self.position.iteration
                    )
                })?;
        Ok(EvalStats {
            iteration: self.position.iteration,
            epoch,
            train_acc,
            dev_acc,
            dev_acc_centroid,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::data::{self, ImportOptions};
    use crate::model::Arch;
    use crate::train::sampler::epoch_batches;

    #[test]
    fn triplet_feasibility_needs_a_pair_and_another_identity() {
        assert!(has_triplet(&[1, 1, 2]));
        assert!(!has_triplet(&[1, 2, 3]));
        assert!(!has_triplet(&[4, 4, 4]));
        assert!(!has_triplet(&[5]));
        assert!(!has_triplet(&[]));
    }

    /// Every variable's bits, by name.
    fn weights(t: &Trainer) -> Result<Vec<(String, Vec<u32>)>> {
        t.params
            .named_vars()
            .into_iter()
            .map(|(name, var)| {
                let bits = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
                Ok((name, bits.into_iter().map(f32::to_bits).collect()))
            })
            .collect()
    }

    /// The variables whose bits differ (millions of values would drown an `assert_eq!`).
    fn differing(a: &[(String, Vec<u32>)], b: &[(String, Vec<u32>)]) -> Vec<String> {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .filter(|(x, y)| x != y)
            .map(|(x, _)| x.0.clone())
            .collect()
    }

    /// AlexNet at 64×64 with 16-d embeddings, 8 images a batch.
    fn tiny_alexnet() -> TrainConfig {
        TrainConfig {
            model: Arch::Alexnet,
            image_size: 64,
            batch: 8,
            dim: 16,
            lr: 1e-3,
            seed: 5,
            ..TrainConfig::default()
        }
    }

    /// 4 generated people with 6 images each, at the size `cfg` trains at.
    fn tiny_faces(cfg: &TrainConfig) -> Result<data::Dataset> {
        let opts = ImportOptions {
            min_images: 3,
            max_images: 100,
            image_size: cfg.image_size,
            ..ImportOptions::default()
        };
        data::load(&"synthetic:4:6".parse()?, &opts)
    }

    fn tiny_trainer(
        cfg: &TrainConfig,
        ds: &data::Dataset,
        dir: &std::path::Path,
    ) -> Result<Trainer> {
        let (train, dev, dir) = (&ds.train, &ds.dev, dir.to_path_buf());
        Trainer::new(cfg.clone(), Device::Cpu, "cpu".into(), train, dev, dir)
    }

    /// The first epoch's batches of `cfg`'s sampler over `ds`.
    fn first_epoch(cfg: &TrainConfig, ds: &data::Dataset) -> Vec<Vec<usize>> {
        epoch_batches(
            cfg.sampler,
            &ds.train.labels,
            cfg.batch,
            cfg.pk_k,
            cfg.seed,
            1,
        )
    }

    // AlexNet's dropout is the only randomness inside a step that the seed did not fix.
    #[test]
    fn alexnet_steps_are_bit_identical_from_a_seed_and_after_a_restore() -> Result<()> {
        let cfg = tiny_alexnet();
        let ds = tiny_faces(&cfg)?;
        let dir = tempfile::tempdir()?;
        let trainer = || tiny_trainer(&cfg, &ds, dir.path());
        let batches = first_epoch(&cfg, &ds);
        let (first, second) = (&batches[0], &batches[1]);

        let mut a = trainer()?;
        let mut b = trainer()?;
        for t in [&mut a, &mut b] {
            for batch in [first, second] {
                assert!(t.step(batch, 1)?.loss.is_some(), "the batch was skipped");
            }
        }
        let after_two = weights(&a)?;
        assert_eq!(differing(&after_two, &weights(&b)?), Vec::<String>::new());

        // One step, its state carried over as a checkpoint carries it, then the second step.
        let mut c = trainer()?;
        c.step(first, 1)?;
        let mut tensors: HashMap<String, Tensor> = c
            .params
            .named_vars()
            .into_iter()
            .map(|(name, var)| Ok((name, var.as_tensor().copy()?)))
            .collect::<Result<_>>()?;
        tensors.extend(c.adam.state()?);
        let mut d = trainer()?;
        d.restore(&Loaded {
            tensors,
            position: c.position,
        })?;
        d.step(second, 1)?;
        assert_eq!(differing(&after_two, &weights(&d)?), Vec::<String>::new());
        Ok(())
    }

    /// Adam's moments and step count, bits by name.
    fn adam_state(t: &Trainer) -> Result<Vec<(String, Vec<u64>)>> {
        let mut state: Vec<(String, Vec<u64>)> = t
            .adam
            .state()?
            .into_iter()
            .map(|(name, v)| {
                let v = v.flatten_all()?.to_dtype(candle_core::DType::F64)?;
                Ok((
                    name,
                    v.to_vec1::<f64>()?.into_iter().map(f64::to_bits).collect(),
                ))
            })
            .collect::<Result<_>>()?;
        state.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(state)
    }

    /// A batch with no valid triplet (one identity only, or no identity twice) leaves the
    /// weights and Adam as they were, yet takes its place in the run: the iteration and the
    /// learning-rate schedule move on, and the skipped batch is counted.
    #[test]
    fn a_batch_without_a_triplet_is_skipped_but_counted() -> Result<()> {
        let cfg = TrainConfig {
            warmup_epochs: 2,
            epochs: 3,
            ..tiny_alexnet()
        };
        let ds = tiny_faces(&cfg)?;
        let dir = tempfile::tempdir()?;
        let batches = first_epoch(&cfg, &ds);
        let labels = &ds.train.labels;
        let one_identity: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i] == labels[0])
            .collect();
        assert!(one_identity.len() >= 2, "{labels:?}");
        let mut all_different: Vec<usize> = Vec::new();
        for (i, l) in labels.iter().enumerate() {
            if all_different.iter().all(|&j| labels[j] != *l) {
                all_different.push(i);
            }
        }
        assert!(all_different.len() >= 2, "{labels:?}");

        let mut t = tiny_trainer(&cfg, &ds, dir.path())?;
        let schedule = t.schedule();
        // The warm-up gives every one of the first steps its own rate.
        let lrs: Vec<f64> = (1..=4).map(|i| schedule.lr(i)).collect();
        assert!(lrs.windows(2).all(|w| w[0] < w[1]), "{lrs:?}");

        assert!(
            t.step(&batches[0], 1)?.loss.is_some(),
            "the batch was skipped"
        );
        assert_eq!(t.adam.step_count(), 1);
        let (w1, adam1) = (weights(&t)?, adam_state(&t)?);
        for (n, batch) in [&one_identity, &all_different].into_iter().enumerate() {
            let n = n as u64 + 1;
            let stats = t.step(batch, 1)?;
            assert_eq!(stats.loss, None, "{batch:?}");
            assert_eq!(stats.iteration, 1 + n);
            assert_eq!(stats.lr, schedule.lr(1 + n));
            assert_eq!(stats.skipped_batches, n);
            assert_eq!(
                t.position,
                Position {
                    iteration: 1 + n,
                    skipped_batches: n
                }
            );
            assert_eq!(t.adam.step_count(), 1, "Adam stepped on a skipped batch");
            assert_eq!(differing(&w1, &weights(&t)?), Vec::<String>::new());
            assert!(adam1 == adam_state(&t)?, "Adam's moments moved");
        }

        // The next real step is the run's fourth (its rate, its dropout) and Adam's second.
        let stats = t.step(&batches[1], 1)?;
        assert!(stats.loss.is_some(), "the batch was skipped");
        assert_eq!((stats.iteration, stats.lr), (4, schedule.lr(4)));
        assert_eq!(stats.skipped_batches, 2);
        assert_eq!(t.adam.step_count(), 2);
        // As a run that took the first step and was then moved on two steps takes it.
        let mut u = tiny_trainer(&cfg, &ds, dir.path())?;
        u.step(&batches[0], 1)?;
        u.position.iteration += 2;
        u.step(&batches[1], 1)?;
        assert_eq!(
            differing(&weights(&u)?, &weights(&t)?),
            Vec::<String>::new()
        );
        Ok(())
    }

    /// What stops a run, and what it is said to be: a Ctrl-C before all else, the epoch only
    /// at its end, the time limit once passed, the step asked for.
    #[test]
    fn a_stop_says_what_asked_for_it() {
        let asked = AtomicBool::new(false);
        let past = Instant::now() - Duration::from_secs(1);
        let mut ctl = Control {
            stop: &asked,
            stop_after_epoch: Some(2),
            deadline: None,
            stop_after_step: Some(7),
            resume_point_every: None,
        };
        assert_eq!(ctl.stop(5, None), None);
        assert_eq!(ctl.stop(5, Some(1)), None);
        assert_eq!(ctl.stop(6, Some(2)), Some(Stop::AfterEpoch(2)));
        assert_eq!(ctl.stop(7, None), Some(Stop::AtStep));
        ctl.deadline = Some((past, Duration::from_secs(90)));
        assert_eq!(
            ctl.stop(5, None),
            Some(Stop::TimeLimit(Duration::from_secs(90)))
        );
        asked.store(true, Ordering::SeqCst);
        assert_eq!(ctl.stop(6, Some(2)), Some(Stop::Asked));
    }

    /// The checkpoints a run writes, but its bests: kind and step.
    #[derive(Default)]
    struct Checkpoints(Vec<(CheckpointKind, u64, PathBuf)>);

    impl Observer for Checkpoints {
        fn on_event(&mut self, event: &Event) -> Result<()> {
            if let Event::Checkpoint {
                kind,
                iteration,
                path,
                ..
            } = event
            {
                if *kind != CheckpointKind::Best {
                    self.0.push((*kind, *iteration, path.to_path_buf()));
                }
            }
            Ok(())
        }
    }

    /// No stop but `stop`, and a checkpoint to resume from due wherever one could be written.
    fn resume_point_every_step(stop: &AtomicBool) -> Control<'_> {
        Control {
            stop,
            stop_after_epoch: None,
            deadline: None,
            stop_after_step: None,
            resume_point_every: Some(Duration::ZERO),
        }
    }

    /// A checkpoint to resume from is written wherever a stop could be taken once one is due:
    /// after each step inside an epoch and at each epoch's end but the last, where the final
    /// one comes. An epoch's `--checkpoint-every` one stands for it there; each holds Adam's
    /// state and the step a resume goes on from.
    #[test]
    fn a_due_resume_point_is_written_where_a_stop_could_be() -> Result<()> {
        // The smallest net: its checkpoints, one a step, are cheap to write.
        let cfg = TrainConfig {
            model: Arch::Resnet18,
            image_size: 16,
            epochs: 3,
            checkpoint_every: Some(2),
            ..tiny_alexnet()
        };
        let ds = tiny_faces(&cfg)?;
        let stop = AtomicBool::new(false);
        let ctl = resume_point_every_step(&stop);
        let dir = tempfile::tempdir()?;
        let mut t = tiny_trainer(&cfg, &ds, dir.path())?;
        let mut seen = Checkpoints::default();
        assert_eq!(t.train(&mut [&mut seen], &ctl)?, Outcome::Completed);
        let ipe = t.iters_per_epoch() as u64;
        assert!(ipe >= 2, "{ipe} steps an epoch");
        let kinds: Vec<(CheckpointKind, u64)> = seen.0.iter().map(|c| (c.0, c.1)).collect();
        let mut want: Vec<(CheckpointKind, u64)> = (1..3 * ipe)
            .map(|it| {
                let kind = if it == 2 * ipe {
                    CheckpointKind::Periodic
                } else {
                    CheckpointKind::Auto
                };
                (kind, it)
            })
            .collect();
        want.push((CheckpointKind::Final, 3 * ipe));
        assert_eq!(kinds, want);
        let (_, _, last_auto) = &seen.0[seen.0.len() - 2];
        assert_eq!(
            last_auto.file_name().and_then(|n| n.to_str()),
            Some(format!("auto-{:08}.safetensors", 3 * ipe - 1).as_str())
        );
        let loaded = checkpoint::load(last_auto, None, &Device::Cpu)?;
        assert_eq!(loaded.position.iteration, 3 * ipe - 1);
        tiny_trainer(&cfg, &ds, dir.path())?.restore(&loaded)?;
        Ok(())
    }

    /// An automatic checkpoint that cannot be written (a full disk) is said, and training goes
    /// on; a checkpoint the run must write (its best) fails it.
    #[test]
    fn an_automatic_checkpoint_not_written_is_said_and_training_goes_on() -> Result<()> {
        struct Seen(Vec<String>);
        impl Observer for Seen {
            fn on_event(&mut self, event: &Event) -> Result<()> {
                match event {
                    Event::Step(s) => self.0.push(format!("step {}", s.iteration)),
                    Event::Warning(w) => self.0.push(w.to_string()),
                    _ => {}
                }
                Ok(())
            }
        }
        let cfg = TrainConfig {
            model: Arch::Resnet18,
            image_size: 16,
            ..tiny_alexnet()
        };
        let ds = tiny_faces(&cfg)?;
        let dir = tempfile::tempdir()?;
        // A file where the checkpoints' folder would go: no checkpoint can be written.
        std::fs::write(dir.path().join("file"), "")?;
        let mut t = tiny_trainer(&cfg, &ds, &dir.path().join("file/run-1"))?;
        assert!(t.iters_per_epoch() >= 2);
        let stop = AtomicBool::new(false);
        let ctl = resume_point_every_step(&stop);
        let mut seen = Seen(Vec::new());
        let err = t.train(&mut [&mut seen], &ctl).unwrap_err();
        assert!(format!("{err:#}").contains("/best-00000"), "{err:#}");
        assert_eq!(seen.0[0], "step 1");
        assert!(
            seen.0[1].starts_with("warning: writing checkpoint '")
                && seen.0[1].contains("auto-00000001.safetensors")
                && seen.0[1].ends_with(
                    "; training goes on, and a crash before the next \
                     checkpoint to resume from starts over from the last one"
                ),
            "{:?}",
            seen.0
        );
        assert_eq!(seen.0[2], "step 2");
        Ok(())
    }

    /// The epochs evaluated, the checkpoints written (but bests) and the epoch training ended
    /// after.
    #[derive(Default)]
    struct Course {
        evaluated: Vec<usize>,
        checkpoints: Checkpoints,
        ended_after: Option<usize>,
    }

    impl Observer for Course {
        fn on_event(&mut self, event: &Event) -> Result<()> {
            match event {
                Event::Eval(e) => self.evaluated.push(e.epoch),
                Event::Finished { epoch, .. } => self.ended_after = Some(*epoch),
                _ => {}
            }
            self.checkpoints.on_event(event)
        }
    }

    /// `--patience N` ends the training, completed, with its final checkpoint, at the first
    /// evaluation N epochs or more past the best; a resumed run counts from the best its earlier
    /// sessions reached. A network that does not learn (a learning rate of 0, and AlexNet's
    /// dropout, the one thing drawn in training, does not touch its evaluation) is never better
    /// than its first evaluation.
    #[test]
    fn patience_ends_the_training_that_many_epochs_past_the_best() -> Result<()> {
        let cfg = TrainConfig {
            lr: 0.0,
            epochs: 10,
            patience: Some(2),
            ..tiny_alexnet()
        };
        let ds = tiny_faces(&cfg)?;
        let stop = AtomicBool::new(false);
        let ctl = Control {
            resume_point_every: None,
            ..resume_point_every_step(&stop)
        };
        let dir = tempfile::tempdir()?;
        let mut t = tiny_trainer(&cfg, &ds, dir.path())?;
        let ipe = t.iters_per_epoch() as u64;
        let mut seen = Course::default();
        assert_eq!(t.train(&mut [&mut seen], &ctl)?, Outcome::Completed);
        assert_eq!(seen.evaluated, [1, 2, 3]);
        assert_eq!(seen.ended_after, Some(3));
        let written: Vec<_> = seen.checkpoints.0.iter().map(|c| (c.0, c.1)).collect();
        assert_eq!(written, [(CheckpointKind::Final, 3 * ipe)]);
        assert_eq!(t.best_dev.map(|b| b.1), Some(1));

        // Evaluated every 2 epochs, a patience of 3 waits for the first evaluation 3 past the
        // best: epoch 6 after a best at 2. Resumed after epoch 4 with a best at 3 from its
        // earlier sessions that nothing beats, it stops at 6 too, also where that best's
        // checkpoint went (a later best, dropped by the resume, had replaced it), and the
        // evaluation at 6 writes one.
        let every_2 = TrainConfig {
            eval_every: 2,
            patience: Some(3),
            ..cfg
        };
        let mut t = tiny_trainer(&every_2, &ds, dir.path())?;
        let mut seen = Course::default();
        t.train(&mut [&mut seen], &ctl)?;
        assert_eq!((seen.evaluated, seen.ended_after), (vec![2, 4, 6], Some(6)));
        let mut t = tiny_trainer(&every_2, &ds, dir.path())?;
        t.position.iteration = 4 * ipe;
        t.best_seen = Some((2.0, 3));
        let mut seen = Course::default();
        t.train(&mut [&mut seen], &ctl)?;
        assert_eq!((seen.evaluated, seen.ended_after), (vec![6], Some(6)));
        assert_eq!(
            t.best_dev.map(|b| b.1),
            Some(6),
            "a best checkpoint written"
        );
        Ok(())
    }

    /// A network whose weights went NaN fails the step it happened at, whatever the mining
    /// makes of NaN distances, and its evaluation says when it ran.
    #[test]
    fn a_diverged_network_names_the_step() -> Result<()> {
        let cfg = tiny_alexnet();
        let ds = tiny_faces(&cfg)?;
        let dir = tempfile::tempdir()?;
        let batches = first_epoch(&cfg, &ds);
        let mut t = tiny_trainer(&cfg, &ds, dir.path())?;
        t.step(&batches[0], 1)?;
        for (_, var) in t.params.named_vars() {
            var.set(&(var.as_tensor() * f64::NAN)?)?;
        }
        let err = t.evaluate(1).unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("after step 1 (epoch 1)") && err.contains("NaN or infinity"),
            "{err}"
        );
        let err = t.step(&batches[1], 1).unwrap_err().to_string();
        // NaN distances activate no triplet: the loss is 0 or NaN as the mining takes them,
        // and the message says what went wrong either way, not a loss of 0 alone.
        assert!(
            err.contains("diverged at step 2 (epoch 1)")
                && err.contains("anchor-positive distance NaN")
                && (err.contains("the loss is NaN")
                    || err.contains("its embeddings are no longer numbers"))
                && err.contains("lower --lr"),
            "{err}"
        );
        Ok(())
    }
}
