//! `facenet-lab run`: train one network, or continue one with `--resume`.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Result};

use crate::cli::RunArgs;
use crate::data::DataSpec;
use crate::train::config::{Overrides, Sampler, TrainConfig};
use crate::train::events::Outcome;
use crate::train::session::{self, Launch};

static STOP: AtomicBool = AtomicBool::new(false);

/// Ctrl-C (or SIGTERM, or SIGHUP unless `nohup` ignored it) once: finish the step, checkpoint, mark the run interrupted.
/// Twice: leave at once. [`crate::signals::STOP_ONCE`], a sweep's or the dashboard's stop,
/// is the first, or nothing new when the run is stopping already.
fn install_stop_handlers() -> Result<()> {
    crate::signals::on_requests(|request, signal| {
        if request == 1 {
            STOP.store(true, Ordering::SeqCst);
            // Asked by the dashboard or a sweep, whose run has no terminal to press Ctrl-C in.
            if signal == crate::signals::STOP_ONCE {
                crate::say!(
                    "\nasked to stop (by the dashboard, a sweep or `kill -USR1`): stopping after \
                     this step to write a checkpoint"
                );
            } else {
                crate::say!(
                    "\nstopping after this step to write a checkpoint (Ctrl-C again to quit at \
                     once)"
                );
            }
        } else {
            crate::say!("\nstopping now");
            session::abandon();
        }
    })
}

/// Whether this process's standard error is the file at `path`, as the dashboard and sweeps
/// start a run with `--log-path`.
fn errors_go_to(path: &std::path::Path) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Ok(log) = std::fs::metadata(path) else {
        return false;
    };
    let stderr = std::io::stderr().as_fd().try_clone_to_owned();
    stderr
        .and_then(|fd| std::fs::File::from(fd).metadata())
        .is_ok_and(|m| (m.dev(), m.ino()) == (log.dev(), log.ino()))
}

pub fn execute(db: &std::path::Path, args: &RunArgs) -> Result<()> {
    // First: a sweep starts its runs with its stop signals blocked until they can take them.
    install_stop_handlers()?;
    if args.time_limit.is_some_and(|t| t.is_zero()) {
        bail!("--time-limit must be longer than 0s, e.g. 90s or 20m");
    }
    if let Some(log) = args.log_path.as_deref().filter(|l| !errors_go_to(l)) {
        crate::say!(
            "warning: --log-path records {} as the run's log, but writes nothing there itself, \
             and this run's output goes elsewhere: send it there (`> {} 2>&1`), or leave \
             --log-path out",
            log.display(),
            crate::format::shell_quote(&log.to_string_lossy())
        );
    }
    let launch = Launch {
        command_line: crate::format::this_command_line(),
        log_path: args.log_path.clone(),
        stop_after_epoch: args.stop_after_epoch,
        time_limit: args.time_limit,
        quiet: args.quiet,
        stop_after_step: None,
    };
    let finished = match &args.resume {
        Some(key) => {
            let mut rest = args.overrides.clone();
            let device = rest.device.take();
            let data = rest.data.take();
            let init = rest.init.take();
            let given = rest.given();
            if !given.is_empty() {
                bail!(
                    "--resume continues a run with its recorded settings: drop {} (only \
                     --device, and --data and --init for the same files elsewhere, may change)",
                    given.join(", ")
                );
            }
            session::resume(db, key, device, data, init, &launch, &STOP)?
        }
        None => {
            let (file, cfg, like) = match &args.like {
                Some(key) => {
                    let like =
                        session::settings_like(db, key, args.config.as_deref(), &args.overrides)?;
                    for n in &like.notes {
                        crate::say!("note: {n}");
                    }
                    (like.file, like.cfg, Some(like.run))
                }
                None => {
                    let (file, cfg) =
                        TrainConfig::resolve_from(args.config.as_deref(), &args.overrides)?;
                    (file, cfg, None)
                }
            };
            // Whether a flag or the config file set a setting.
            let given = |set: fn(&Overrides) -> bool| {
                set(&args.overrides) || file.as_ref().is_some_and(set)
            };
            if given(|o| o.pk_k.is_some()) && cfg.sampler != Sampler::Pk {
                crate::say!(
                    "warning: --pk-k (pk_k) has no effect with --sampler {}: only pk batches \
                     group images by identity",
                    cfg.sampler.as_str()
                );
            }
            if let Some(n) = cfg.checkpoint_every.filter(|&n| n >= cfg.epochs) {
                crate::say!(
                    "warning: --checkpoint-every {n} writes no checkpoint of its own in a run of \
                     {} (its best and final checkpoints are written all the same)",
                    crate::format::count(cfg.epochs as u64, "epoch", "epochs")
                );
            }
            // The first best comes at the first evaluation: the patience runs out no sooner
            // than that many epochs after it, and only before the last.
            if let Some(n) = cfg.patience.filter(|&n| cfg.eval_every + n >= cfg.epochs) {
                crate::say!(
                    "warning: --patience {n} can never stop a run of {} early: it runs out {n} \
                     epochs after the best, at epoch {} at the soonest",
                    crate::format::count(cfg.epochs as u64, "epoch", "epochs"),
                    cfg.eval_every + n
                );
            }
            if cfg.eval_every > 1 && cfg.eval_every >= cfg.epochs {
                crate::say!(
                    "warning: --eval-every {} evaluates only the last of the run's {}: its \
                     curves get one dev point",
                    cfg.eval_every,
                    crate::format::count(cfg.epochs as u64, "epoch", "epochs")
                );
            }
            let synthetic = matches!(cfg.data.parse(), Ok(DataSpec::Synthetic { .. }));
            if synthetic && given(|o| o.min_images.is_some() || o.max_images.is_some()) {
                crate::say!(
                    "warning: --min-images and --max-images (min_images, max_images) have no \
                     effect on synthetic data, which makes as many people and images as \
                     synthetic:PEOPLE:IMAGES says"
                );
            }
            session::start(db, cfg, like, &launch, &STOP)?
        }
    };
    // Stopped before its end, however: `run A && run B` goes on only from a completed run.
    if finished.outcome == Outcome::Interrupted {
        std::process::exit(crate::sweep::EXIT_STOPPED);
    }
    Ok(())
}
