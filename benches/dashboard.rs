//! The dashboard at scale: a lab of 500 runs with 20,000 metric points each (10M rows), then
//! the first frame, redraws of each screen, and memory. Prints a table; asserts nothing.
//!
//! `cargo bench --bench dashboard` (BENCH_RUNS, BENCH_POINTS to resize). The generated lab is
//! kept in target/ and reused when it has the requested size.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use facenet_lab::lab::{metric, CodeVersion, Hyperparams, Lab, Machine, NewRun, RunId, RunStatus};
use facenet_lab::tui::app::{Action, App};
use facenet_lab::tui::store::Collector;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const STEP_METRICS: [&str; 5] = [
    metric::TRAIN_LOSS,
    metric::ACTIVE_TRIPLETS,
    metric::DIST_AP,
    metric::DIST_AN,
    metric::IMAGES_PER_SEC,
];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn generate(path: &Path, runs: usize, points: usize) -> Result<()> {
    let _ = std::fs::remove_file(path);
    let lab = Lab::open(path)?;
    let iters = (points / STEP_METRICS.len()) as i64;
    let conn = lab.conn();
    for r in 0..runs {
        let hyper = Hyperparams {
            model: ["resnet18", "alexnet"][r % 2].into(),
            batch_size: [16, 32, 64][r % 3],
            embedding_dim: [64, 128][r % 2],
            lr: 1e-3,
            weight_decay: 0.0,
            lr_schedule: "constant".into(),
            warmup_epochs: 0,
            epochs: 40,
            margin: 0.2,
            image_size: 64,
            crop: 1.0,
            mining: ["all", "semihard", "hard"][r % 3].into(),
            sampler: "pk".into(),
            pk_k: Some(4),
            normalize: true,
            augment: false,
            zero_init_residual: false,
            init: None,
            init_sha256: None,
            fresh_embedding: false,
            imagenet_norm: false,
            dropout: None,
            tf32: false,
            eval_every: 1,
            patience: None,
            checkpoint_every: None,
            seed: (r % 5) as i64,
        };
        // Names of families that share all but a word or two, as a lab's do: the narrow
        // table's cut has to tell them apart.
        let name = format!(
            "{}-64px-crop0.5-lr1e-4-{}-b{}-s{}-v{}",
            hyper.model,
            hyper.mining,
            hyper.batch_size,
            hyper.seed,
            r / 30
        );
        let id = lab.create_run(&NewRun {
            name,
            config_json: format!("{{\"run\":{r}}}"),
            hyper,
            dataset_id: None,
            device: "cpu".into(),
            gpu_name: None,
            code: CodeVersion::current(),
            hostname: "bench".into(),
            machine: Machine::default(),
            command_line: "bench".into(),
            log_path: None,
            notes: String::new(),
            tags: vec![],
            like_run: None,
        })?;
        lab.mark_running(id, (iters / 40).max(1), 1)?;
        let tx = conn.unchecked_transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO metrics (run_id, iteration, epoch, name, value, wall_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for i in 1..=iters {
                let x = i as f64;
                for (k, name) in STEP_METRICS.iter().enumerate() {
                    let v = 1.0 / (1.0 + x / 500.0) + 0.05 * ((x + k as f64) * 0.37).sin();
                    ins.execute(rusqlite::params![
                        id.0,
                        i,
                        1 + i * 40 / iters,
                        name,
                        v,
                        1e9 + x
                    ])?;
                }
            }
        }
        tx.commit()?;
        lab.record(
            id,
            &[],
            &facenet_lab::lab::RunSummaryUpdate {
                last_iteration: Some(iters),
                last_epoch: Some(40),
                last_loss: Some(0.1),
                images_per_sec: Some(900.0),
                evaluation: Some((0.5, 0.3 + (r % 7) as f64 / 100.0, 40)),
            },
        )?;
        lab.finish_run(id, RunStatus::Completed, None)?;
    }
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn main() -> Result<()> {
    let runs = env("BENCH_RUNS", 500);
    let points = env("BENCH_POINTS", 20_000);
    let path =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dash-v2-{runs}x{points}.db"));
    let rows_wanted = (runs * (points / STEP_METRICS.len()) * STEP_METRICS.len()) as i64;
    let have: i64 = Lab::open_read_only(&path)
        .and_then(|l| {
            Ok(l.conn()
                .query_row("SELECT count(*) FROM metrics", [], |r| r.get(0))?)
        })
        .unwrap_or(0);
    if have != rows_wanted {
        let t = Instant::now();
        println!(
            "generating {runs} runs x {points} points into {} …",
            path.display()
        );
        generate(&path, runs, points)?;
        println!(
            "generated {rows_wanted} metric rows in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let size_mb = std::fs::metadata(&path)?.len() as f64 / 1e6;
    let rss0 = rss_kib("VmRSS:");
    let (w, h) = (200, 50);
    let mut term = Terminal::new(TestBackend::new(w, h))?;

    // First frame: open the lab, list the runs, draw the table.
    let t = Instant::now();
    let mut collector = Collector::open(&path)?;
    let mut app = App::new(facenet_lab::lab::now(), "bench");
    for u in collector.poll()? {
        app.update(Action::Data(u));
    }
    term.draw(|f| f.render_widget(&app, f.area()))?;
    let first_frame = ms(t);

    let redraw = |term: &mut Terminal<TestBackend>, app: &App| -> Result<f64> {
        let n = 30;
        let t = Instant::now();
        for _ in 0..n {
            term.draw(|f| f.render_widget(app, f.area()))?;
        }
        Ok(ms(t) / n as f64)
    };
    let runs_redraw = redraw(&mut term, &app)?;
    // At 80 columns every name is cut, apart from the others.
    let mut narrow = Terminal::new(TestBackend::new(80, 24))?;
    let t = Instant::now();
    narrow.draw(|f| f.render_widget(&app, f.area()))?;
    let narrow_first = ms(t);
    let narrow_redraw = redraw(&mut narrow, &app)?;

    // Detail: the selected run's series are loaded on demand.
    let t = Instant::now();
    let fx = app.update(Action::Open);
    for e in fx {
        if let facenet_lab::tui::app::Effect::Watch(ids) = e {
            for u in collector.watch(&ids)? {
                app.update(Action::Data(u));
            }
        }
    }
    term.draw(|f| f.render_widget(&app, f.area()))?;
    let detail_open = ms(t);
    let detail_redraw = redraw(&mut term, &app)?;

    // Compare eight runs.
    app.update(Action::Back);
    let t = Instant::now();
    for _ in 0..8 {
        app.update(Action::ToggleMark);
    }
    let fx = app.update(Action::Compare);
    for e in fx {
        if let facenet_lab::tui::app::Effect::Watch(ids) = e {
            for u in collector.watch(&ids)? {
                app.update(Action::Data(u));
            }
        }
    }
    term.draw(|f| f.render_widget(&app, f.area()))?;
    let compare_open = ms(t);
    let compare_redraw = redraw(&mut term, &app)?;
    app.update(Action::SwitchTab);
    let t = Instant::now();
    for u in collector.poll()? {
        app.update(Action::Data(u));
    }
    let poll = ms(t);
    let loaded_points: usize = app
        .series
        .values()
        .flat_map(|m| m.values())
        .map(|s| s.points.len())
        .sum();

    println!();
    println!("lab: {runs} runs x {points} points = {rows_wanted} metric rows, {size_mb:.0} MB; terminal {w}x{h}");
    println!("{:<44} {:>10}", "measure", "value");
    let row = |k: &str, v: String| println!("{k:<44} {v:>10}");
    row(
        "first frame (open, list runs, draw) ms",
        format!("{first_frame:.1}"),
    );
    row("runs table redraw ms", format!("{runs_redraw:.2}"));
    row(
        "first draw at 80x24 (names cut apart) ms",
        format!("{narrow_first:.1}"),
    );
    row(
        "its redraw (cuts remembered) ms",
        format!("{narrow_redraw:.2}"),
    );
    row(
        "open detail (load 1 run's series + draw) ms",
        format!("{detail_open:.1}"),
    );
    row(
        "detail redraw (4 charts, EMA, min/max) ms",
        format!("{detail_redraw:.2}"),
    );
    row("open compare of 8 runs ms", format!("{compare_open:.1}"));
    row("compare redraw ms", format!("{compare_redraw:.2}"));
    row("incremental poll (no new rows) ms", format!("{poll:.2}"));
    row("series points held in memory", loaded_points.to_string());
    row(
        "RSS before opening MiB",
        format!("{:.1}", rss0 as f64 / 1024.0),
    );
    row(
        "RSS after MiB",
        format!("{:.1}", rss_kib("VmRSS:") as f64 / 1024.0),
    );
    row(
        "peak RSS MiB",
        format!("{:.1}", rss_kib("VmHWM:") as f64 / 1024.0),
    );
    let _ = RunId(0);
    Ok(())
}
