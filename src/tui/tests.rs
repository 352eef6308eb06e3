//! Whole-screen snapshots (fixed clock, fixed data) and the live path through the watcher.

use std::collections::BTreeMap;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use anyhow::Result;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;
use ratatui::Terminal;

use super::app::{Action, App, Overlay, Screen};
use super::store::{self, Request, Update};
use super::ui::RunsTable;
use super::Event;
use crate::lab::fixtures::{point, run, NOW};
use crate::lab::{metric, Lab, MetricPoint, Run, RunId, RunStatus, RunSummaryUpdate};

fn lab_runs() -> Vec<Run> {
    let mut a = run(1, "r18-baseline", "resnet18");
    a.best_dev_acc = Some(0.412);
    a.best_dev_epoch = Some(8);
    a.final_dev_acc = Some(0.401);
    a.final_train_acc = Some(0.733);
    a.tags = vec!["baseline".into()];
    a.notes = "reference run".into();
    let mut b = run(2, "alex-b64-hard", "alexnet");
    b.hyper.batch_size = 64;
    b.hyper.mining = "hard".into();
    b.best_dev_acc = Some(0.287);
    b.final_dev_acc = Some(0.280);
    b.last_loss = Some(0.1234);
    b.images_per_sec = Some(2310.0);
    let mut c = run(3, "r18-live", "resnet18");
    c.status = RunStatus::Running;
    c.heartbeat_at = Some(NOW - 2.0);
    c.finished_at = None;
    c.started_at = Some(NOW - 754.0);
    c.pid = Some(4242);
    c.last_epoch = 3;
    c.last_iteration = 300;
    c.best_dev_acc = Some(0.305);
    c.last_loss = Some(0.0871);
    c.log_path = Some("logs/20261128-065900-resnet18.log".into());
    c.hyper.crop = 0.5;
    let mut d = run(4, "r18-oom", "resnet18");
    d.status = RunStatus::Running;
    d.heartbeat_at = Some(NOW - 900.0);
    d.finished_at = None;
    // It crashed in its first epoch.
    (d.last_epoch, d.last_iteration) = (1, 42);
    d.hyper.lr = 5e-4;
    d.hyper.lr_schedule = "cosine".into();
    d.hyper.imagenet_norm = true;
    let mut e = run(5, "r18-seed8", "resnet18");
    e.hyper.seed = 8;
    e.best_dev_acc = Some(0.398);
    e.final_dev_acc = Some(0.390);
    vec![a, b, c, d, e]
}

fn series_of(run: RunId) -> BTreeMap<String, Vec<crate::lab::SeriesPoint>> {
    let k = run.0 as f64;
    let per_step =
        |f: &dyn Fn(f64) -> f64| -> Vec<_> { (1..=300).map(|i| point(i, f(i as f64))).collect() };
    let per_epoch = |f: &dyn Fn(f64) -> f64| -> Vec<_> {
        (1..=3).map(|e| point(e * 100, f(e as f64))).collect()
    };
    let mut m = BTreeMap::new();
    m.insert(
        metric::TRAIN_LOSS.into(),
        per_step(&|i| 0.2 / (1.0 + i / (40.0 * k)) + 0.02 * (i * 0.7).sin()),
    );
    m.insert(
        metric::ACTIVE_TRIPLETS.into(),
        per_step(&|i| 0.9 - 0.5 * i / 300.0),
    );
    m.insert(metric::DIST_AP.into(), per_step(&|i| 1.0 - 0.4 * i / 300.0));
    m.insert(metric::DIST_AN.into(), per_step(&|i| 1.0 + 0.3 * i / 300.0));
    m.insert(metric::TRAIN_ACC.into(), per_epoch(&|e| 0.2 * e));
    m.insert(metric::DEV_ACC.into(), per_epoch(&|e| 0.1 * e + 0.02 * k));
    m
}

fn app() -> App {
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(lab_runs())));
    app
}

/// Loads, as the collector would, the series of whatever the app asked to watch.
fn feed_watched(app: &mut App, effects: Vec<super::app::Effect>) {
    for e in effects {
        if let super::app::Effect::Watch(ids) = e {
            for id in ids {
                app.update(Action::Data(Update::SeriesLoaded {
                    run: id,
                    series: series_of(id),
                }));
            }
        }
    }
}

fn screen(app: &App, w: u16, h: u16) -> Result<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h))?;
    t.draw(|f| f.render_widget(app, f.area()))?;
    Ok(t.backend().clone())
}

#[test]
fn snapshot_runs_table() -> Result<()> {
    let mut app = app();
    app.update(Action::Down);
    app.update(Action::ToggleMark);
    insta::assert_snapshot!("runs_100x30", screen(&app, 100, 30)?);
    insta::assert_snapshot!("runs_80x24", screen(&app, 80, 24)?);
    insta::assert_snapshot!("runs_160x24", screen(&app, 160, 24)?);
    Ok(())
}

/// What the collector reads about run 3 beyond its row, with these evaluations.
fn details_of_run3(evaluations: &[&str]) -> super::store::RunDetails {
    super::store::RunDetails {
        checkpoints: vec![crate::lab::Checkpoint {
            id: 1,
            run: RunId(3),
            iteration: 300,
            epoch: 3,
            kind: "periodic".into(),
            path: "checkpoints/3/ep3.safetensors".into(),
            sha256: "f00dfeed".repeat(8),
            created_at: NOW - 5.0,
        }],
        dataset: Some("#1 synthetic synthetic (40 identities, 800 images, content 9a1b)".into()),
        splits: vec![crate::lab::SplitSummary {
            name: "train".into(),
            n_images: 600,
            hash: "ab12".repeat(16),
        }],
        evaluations: evaluations.iter().map(|e| e.to_string()).collect(),
        started_from: vec![
            "run 1 r18-base: ep 4 it 400 final 0123456789ab".into(),
            "/w/resnet18-f37072fd.pth, from outside this lab".into(),
        ],
        resumes: Vec::new(),
        resumed_at: Vec::new(),
        resumed_from: None,
    }
}

/// The detail view of run 3, r18-live, with its series, log tail and details loaded.
fn detail_app(evaluations: &[&str]) -> App {
    let mut app = app();
    app.update(Action::Down);
    app.update(Action::Down); // r18-live
    let fx = app.update(Action::Open);
    assert_eq!(app.screen, Screen::Detail(RunId(3)));
    feed_watched(&mut app, fx);
    app.update(Action::Data(Update::LogTail {
        run: RunId(3),
        text: "epoch 3 it 300 loss 0.0871\nsaved checkpoint\n".into(),
    }));
    app.update(Action::Data(Update::Details {
        run: RunId(3),
        details: details_of_run3(evaluations),
    }));
    app
}

#[test]
fn snapshot_detail() -> Result<()> {
    let mut app =
        detail_app(&["lfw-pairs @ep 3 it 300: acc 0.912 ± 0.011 · auc 0.960 · eer 0.090"]);
    insta::assert_snapshot!("detail_charts_100x30", screen(&app, 100, 30)?);
    app.update(Action::ToggleSmoothing);
    app.update(Action::CycleXAxis);
    app.update(Action::CycleXAxis);
    insta::assert_snapshot!("detail_raw_images_100x30", screen(&app, 100, 30)?);
    app.update(Action::SwitchTab);
    insta::assert_snapshot!("detail_info_100x30", screen(&app, 100, 30)?);
    insta::assert_snapshot!("detail_wide_180x40", screen(&app, 180, 40)?);
    Ok(())
}

#[test]
fn the_run_record_lists_each_resume_and_what_it_ran_on() -> Result<()> {
    let mut app = detail_app(&[]);
    let mut details = details_of_run3(&[]);
    details.resumes =
        vec!["2026-11-29 16:20 from it 100 · gpu-box · cuda · NVIDIA H200 · 0123456789ab".into()];
    app.update(Action::Data(Update::Details {
        run: RunId(3),
        details,
    }));
    let text = screen(&app, 180, 40)?.to_string();
    assert!(text.contains("resumed     1 time"), "{text}");
    assert!(
        text.contains("2026-11-29 16:20 from it 100 · gpu-box"),
        "{text}"
    );
    Ok(())
}

/// An error recorded with its backtrace (RUST_BACKTRACE was set, as run 35's) says its message
/// as the error, whole, and the backtrace apart under it: frames without a symbol counted,
/// not listed, and none of them read as the error's last lines.
#[test]
fn a_run_s_error_is_its_message_and_its_backtrace_apart() -> Result<()> {
    let mut app = detail_app(&[]);
    if let Some(r) = app.runs.iter_mut().find(|r| r.id == RunId(3)) {
        r.error = Some(
            "DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")\nwhile stepping\n   0: \
             <unknown>\n   1: <unknown>\n   2: __libc_start_main\n   3: <unknown>"
                .into(),
        );
    }
    let text = screen(&app, 180, 40)?.to_string();
    assert!(
        text.contains("│error       DriverError(CUDA_ERROR_OUT_OF█"),
        "{text}"
    );
    assert!(text.contains("│  while stepping "), "{text}");
    assert!(
        text.contains("│backtrace   4 frames, 3 without symbols "),
        "{text}"
    );
    assert!(text.contains("│     2: __libc_start_main "), "{text}");
    assert!(!text.contains("<unknown>"), "{text}");
    Ok(())
}

/// A log line longer than its panel wraps, so that its end (where an error says its cause)
/// shows.
#[test]
fn a_long_log_line_wraps_to_its_end() -> Result<()> {
    let mut app = detail_app(&[]);
    let long = format!(
        "error: {} CAUSE AT THE END",
        "while reading the data ".repeat(12)
    );
    app.update(Action::Data(Update::LogTail {
        run: RunId(3),
        text: format!("epoch 3 it 300\n{long}\n"),
    }));
    let text = screen(&app, 180, 40)?.to_string();
    assert!(text.contains("CAUSE AT THE END"), "{text}");
    assert!(text.contains("error: while reading"), "{text}");
    Ok(())
}

/// The config panel leaves out the note and tags the run started with: the record beside it
/// shows them as they are now, and the two would read as a contradiction.
#[test]
fn the_config_panel_leaves_the_note_and_tags_to_the_record() -> Result<()> {
    let mut app = detail_app(&[]);
    if let Some(r) = app.runs.iter_mut().find(|r| r.id == RunId(3)) {
        r.config_json = r#"{"model":"resnet18","batch":32,"note":"","tags":[]}"#.into();
        r.notes = "diverged at ep3".into();
        r.tags = vec!["keep".into()];
    }
    let text = screen(&app, 180, 40)?.to_string();
    assert!(text.contains(r#""batch": 32"#), "{text}");
    assert!(
        !text.contains(r#""note""#) && !text.contains(r#""tags""#),
        "{text}"
    );
    assert!(text.contains("notes       diverged at ep3"), "{text}");
    assert!(text.contains("tags        keep"), "{text}");
    Ok(())
}

/// A run's pid is its process only while it trains: once it stopped the record says it ran as
/// that pid, not that it is one.
#[test]
fn a_stopped_run_s_pid_is_said_to_be_past() -> Result<()> {
    let mut app = detail_app(&[]);
    let text = screen(&app, 180, 40)?.to_string();
    assert!(text.contains("pid · log   4242 ·"), "{text}");
    if let Some(r) = app.runs.iter_mut().find(|r| r.id == RunId(3)) {
        r.status = RunStatus::Completed;
        r.finished_at = Some(NOW - 1.0);
    }
    let text = screen(&app, 180, 40)?.to_string();
    assert!(text.contains("pid · log   ran as 4242 ·"), "{text}");
    Ok(())
}

/// A run started `--like` another names it in its record.
#[test]
fn the_run_record_names_the_run_it_started_like() -> Result<()> {
    let mut app = detail_app(&[]);
    let text = screen(&app, 180, 40)?.to_string();
    assert!(!text.contains("run #1 r18-baseline: started"), "{text}");
    if let Some(r) = app.runs.iter_mut().find(|r| r.id == RunId(3)) {
        r.like_run = Some(RunId(1));
    }
    let text = screen(&app, 180, 40)?.to_string();
    // The panel wraps the rest of the line.
    assert!(
        text.contains("like        run #1 r18-baseline: started"),
        "{text}"
    );
    Ok(())
}

/// At 80x24 the record is longer than its panel: the scroll keys bring its last line into
/// view, a hint says there is more, and every evaluation counted is listed.
#[test]
fn the_run_record_scrolls_and_lists_every_evaluation_it_counts() -> Result<()> {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let evals = [
        "test-split @ep 1 it 100: top1 0.300 · centroid 0.310 · top5 0.600",
        "test-split @ep 3 it 300: top1 0.400 · centroid 0.410 · top5 0.700",
        "test-split @ep 3 it 300: top1 0.400 · centroid 0.410 · top5 0.700",
        "lfw-folder @ep 3 it 300: acc 0.700 ± 0.020 · auc 0.770 · eer 0.290",
        "lfw-folder @ep 3 it 300: acc 0.700 ± 0.020 · auc 0.770 · eer 0.290",
    ];
    let mut app = detail_app(&evals);
    app.update(Action::Resize(80, 24));
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    let press = |app: &mut App, code| {
        let action = super::keys::key_action(app, key(code), 80);
        assert!(action.is_some(), "{code:?} does something");
        action.map(|a| app.update(a));
    };
    assert_eq!(
        super::keys::key_action(&app, key(KeyCode::Char('j')), 80),
        None,
        "on the charts tab j has nothing to scroll"
    );
    app.update(Action::SwitchTab);
    let top = screen(&app, 80, 24)?.to_string();
    assert!(!top.contains("cache · os"), "{top}");
    assert!(top.contains("more · j/PgDn"), "{top}");
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.info_scroll, 1);
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.info_scroll, 0, "no further up than the top");
    press(&mut app, KeyCode::PageDown);
    assert!(app.info_scroll > 1, "a page at a time");
    press(&mut app, KeyCode::End);
    let end = app.info_scroll;
    press(&mut app, KeyCode::Down);
    assert_eq!(app.info_scroll, end, "no further down than the end");
    insta::assert_snapshot!("detail_info_end_80x24", screen(&app, 80, 24)?);
    let bottom = screen(&app, 80, 24)?.to_string();
    assert!(bottom.contains("cache · os"), "{bottom}");
    press(&mut app, KeyCode::Home);
    assert_eq!(app.info_scroll, 0);

    // On a tall screen the whole record fits: five counted, five listed.
    app.update(Action::Resize(100, 60));
    let text = screen(&app, 100, 60)?.to_string();
    assert!(text.contains("evaluations 5"), "{text}");
    let listed = text
        .lines()
        .filter(|l| l.contains("test-split @ep") || l.contains("lfw-folder @ep"))
        .count();
    assert_eq!(listed, 5, "{text}");
    assert!(!text.contains("more ·"), "nothing to scroll:\n{text}");
    Ok(())
}

/// A hyperparameter's name longer than 12 columns is shown whole.
#[test]
fn compare_names_a_long_hyperparameter_whole() -> Result<()> {
    let mut app = app();
    app.update(Action::SortBy(super::filter::Column::Id)); // ascending: 1, 2, 3, 4, 5
    app.update(Action::Top);
    app.update(Action::ToggleMark); // 1, and down to 2
    app.update(Action::Down);
    app.update(Action::Down);
    app.update(Action::ToggleMark); // 4: ImageNet-normalised, among others
    let fx = app.update(Action::Compare);
    feed_watched(&mut app, fx);
    let text = screen(&app, 100, 30)?.to_string();
    assert!(text.contains("│imagenet norm false "), "{text}");
    Ok(())
}

#[test]
fn snapshot_compare() -> Result<()> {
    let mut app = app();
    app.update(Action::SortBy(super::filter::Column::Id)); // ascending: 1, 2, 3, 4, 5
    app.update(Action::Top);
    app.update(Action::ToggleMark); // 1
    app.update(Action::ToggleMark); // 2
    app.update(Action::Down);
    app.update(Action::Down);
    app.update(Action::ToggleMark); // 5: same config as 1 but seed
    let fx = app.update(Action::Compare);
    feed_watched(&mut app, fx);
    let text = screen(&app, 100, 30)?.to_string();
    assert!(text.contains("#1,5 ×2 seeds"), "{text}");
    assert!(
        text.contains("0.405±0.010"),
        "best dev mean ± std of runs 1 and 5\n{text}"
    );
    insta::assert_snapshot!("compare_100x30", screen(&app, 100, 30)?);
    // A column none of whose runs has the metric is named in the chart's title.
    assert!(!text.contains("none for"), "{text}");
    app.series.remove(&RunId(2));
    let text = screen(&app, 100, 30)?.to_string();
    assert!(
        text.contains("train_loss vs iteration · none for #2 · m:"),
        "{text}"
    );
    Ok(())
}

#[test]
fn snapshot_filter_and_help() -> Result<()> {
    let mut app = app();
    app.update(Action::StartFilter);
    app.type_text("model=resnet18 dev_acc>0.3");
    insta::assert_snapshot!("filter_100x30", screen(&app, 100, 30)?);
    app.update(Action::Input(' '));
    app.update(Action::Input('x'));
    app.update(Action::Input('>'));
    let text = screen(&app, 100, 30)?.to_string();
    assert!(
        text.contains("filter: model=resnet18 dev_acc>0.3 · sort"),
        "the title shows the filter in use, the words before the one in error, not the text \
         that does not parse nor the `x` on its way:\n{text}"
    );
    insta::assert_snapshot!("filter_error_100x30", screen(&app, 100, 30)?);
    let text = screen(&app, 100, 30)?.to_string();
    assert!(
        text.lines().last().is_some_and(|l| l.contains("duration)")),
        "the error's list of fields is wrapped, not cut at the screen's edge:\n{text}"
    );
    app.update(Action::Cancel);
    app.update(Action::Help);
    insta::assert_snapshot!("help_100x30", screen(&app, 100, 30)?);
    Ok(())
}

fn buffer_text(buf: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

#[test]
fn runs_table_widget_narrows_and_marks_state() {
    let app = app();
    let mut buf = Buffer::empty(Rect::new(0, 0, 60, 8));
    RunsTable(&app).render(buf.area, &mut buf);
    let text = buffer_text(&buf);
    assert!(
        text.contains("✗ crashed"),
        "stale heartbeat reads as crashed:\n{text}"
    );
    assert!(text.contains("⠋ running"), "live marker:\n{text}");
    assert!(
        !text.contains("started"),
        "no room for the start time at 60 columns:\n{text}"
    );
    assert!(text.contains("id↓"), "sort column is marked:\n{text}");
    // A column as wide as its title has its arrow in the gap after it.
    for (column, title) in [
        (super::filter::Column::Batch, "batch↑"),
        (super::filter::Column::BestDev, "best dev↑"),
        (super::filter::Column::LastLoss, "last loss↑"),
    ] {
        let mut sorted = super::tests::app();
        sorted.update(Action::SortBy(column));
        sorted.update(Action::ReverseSort);
        let mut buf = Buffer::empty(Rect::new(0, 0, 140, 8));
        RunsTable(&sorted).render(buf.area, &mut buf);
        let text = buffer_text(&buf);
        assert!(text.contains(title), "{title}:\n{text}");
        // The title underlined, the arrow in the gap not: the underlines stay apart.
        let header = text.lines().nth(1).unwrap_or_default();
        let at = header
            .find(title)
            .map_or(0, |i| header[..i].chars().count());
        let under = |x: usize| {
            buf[(x as u16, 1)]
                .modifier
                .contains(ratatui::style::Modifier::UNDERLINED)
        };
        let arrow = at + title.chars().count() - 1;
        assert!(under(at) && under(arrow - 1) && !under(arrow), "{title}");
        // Where the name has nothing to spare too: every title is whole and the names keep
        // the width they were cut to.
        let mut buf = Buffer::empty(Rect::new(0, 0, 79, 8));
        RunsTable(&sorted).render(buf.area, &mut buf);
        let text = buffer_text(&buf);
        // (Sorted by the last column, whose title fills it, the arrow takes its last cell.)
        let last = if column == super::filter::Column::LastLoss {
            "last los↑"
        } else {
            "last loss"
        };
        for whole in ["status", "epoch", "best dev", last, "r18-baseline"] {
            assert!(text.contains(whole), "{whole} at 79:\n{text}");
        }
    }
}

/// The sort arrow widens no column, so that sorting by another moves none: sorted by best dev,
/// `best dev↑` once took its cell from the name (`…-no-normalize  resnet18` lost a space).
/// Each column starts where it did, and each run's row reads as it did, whichever column is
/// sorted; the arrow of a title that fills its column is in the gap after it, or, for the last
/// column, whose gap is the border, in place of the title's last character (`last los↓`).
#[test]
fn sorting_by_another_column_moves_no_column() {
    type Table = (Vec<(&'static str, usize)>, Vec<String>, String);
    let table = |app: &App, width: u16| -> Table {
        let mut buf = Buffer::empty(Rect::new(0, 0, width, 9));
        RunsTable(app).render(buf.area, &mut buf);
        let text = buffer_text(&buf);
        let header = text.lines().nth(1).unwrap_or_default().to_string();
        let starts = RunsTable::columns_on_screen(width, app)
            .iter()
            .map(|c| {
                let title = c.title();
                let at = header
                    .find(title)
                    .or_else(|| header.find(&title[..title.len() - 1]))
                    .unwrap_or_else(|| panic!("{header}"));
                (c.title(), header[..at].chars().count())
            })
            .collect();
        let rows = (1..=5).map(|id| row_of(&text, id)).collect();
        (starts, rows, header)
    };
    let mut runs = lab_runs();
    runs[2].name = "walk-sweep-3-hard-no-normalize".into();
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs)));
    let mut last_filled = false;
    for width in [80, 120, 160, 200] {
        let (starts, rows, _) = table(&app, width);
        assert!(rows.iter().all(|r| !r.is_empty()), "{rows:#?}");
        for (i, &(title, _)) in starts.iter().enumerate() {
            let column = super::filter::Column::DASHBOARD
                .into_iter()
                .find(|c| c.title() == title)
                .expect("a column");
            app.update(Action::SortBy(column));
            for _ in 0..2 {
                app.update(Action::ReverseSort);
                let (sorted_starts, sorted_rows, header) = table(&app, width);
                assert_eq!(sorted_starts, starts, "sorted by {title} at {width}");
                assert_eq!(sorted_rows, rows, "sorted by {title} at {width}");
                // Its arrow right after its title, but for the last column's where the title
                // fills it: that one ends at the border, and the arrow takes its last cell.
                let arrow = if app.descending { '↓' } else { '↑' };
                let whole = header.contains(&format!("{title}{arrow}"));
                let cut = format!("{}{arrow}", &title[..title.len() - 1]);
                assert!(
                    whole || (i + 1 == starts.len() && header.ends_with(&format!("{cut}│"))),
                    "sorted by {title} at {width}:\n{header}"
                );
                assert_eq!(header.matches(['↑', '↓']).count(), 1, "{header}");
                last_filled |= !whole;
            }
        }
        app.update(Action::SortBy(super::filter::Column::Id));
    }
    assert!(
        last_filled,
        "a last column whose title fills it was sorted by"
    );
}

/// What a narrow table keeps: the sorted column, wherever it stands; the results of `eval`
/// before the settings, where a run has them; and long names before the settings past batch
/// and dim.
#[test]
fn a_narrow_table_keeps_the_sort_the_results_and_the_names() {
    use super::filter::Column;
    let titles = |app: &App, width: u16| -> Vec<&'static str> {
        RunsTable::columns_on_screen(width, app)
            .iter()
            .map(|c| c.title())
            .collect()
    };
    let mut app = app();
    // Nothing evaluated: the settings come first, test and lfw only where all else fits.
    assert!(titles(&app, 100).contains(&"lr"), "{:?}", titles(&app, 100));
    assert!(!titles(&app, 100).contains(&"test"));
    // Sorted by a column the width leaves out, it is on screen all the same.
    app.update(Action::SortBy(Column::Started));
    assert_eq!(
        titles(&app, 60),
        ["id", "name", "status", "epoch", "started"]
    );
    app.update(Action::SortBy(Column::Id));
    // Evaluated runs: test and lfw come before the settings.
    let mut runs = lab_runs();
    runs[0].test_acc = Some(0.5);
    runs[1].lfw_acc = Some(0.7);
    app.update(Action::Data(Update::Runs(runs.clone())));
    assert_eq!(
        titles(&app, 80),
        [
            "id",
            "name",
            "model",
            "status",
            "epoch",
            "best dev",
            "test",
            "lfw",
            "last loss"
        ]
    );
    // A long name takes its room (28 at most) before input, lr and the rest.
    runs[2].name = "seed-resnet152-b32-d64-cpu-64-from-run-57-s1".into();
    app.update(Action::Data(Update::Runs(runs)));
    let shown = titles(&app, 140);
    assert!(
        shown.contains(&"batch") && !shown.contains(&"started"),
        "{shown:?}"
    );
    // Sorted by name, which is on screen anyway, the narrow table keeps what it keeps
    // sorted by id: the name grows only where the settings past dim would.
    for width in [34, 60, 80] {
        let by_id = titles(&app, width);
        app.update(Action::SortBy(Column::Name));
        assert_eq!(titles(&app, width), by_id, "{width} columns");
        app.update(Action::SortBy(Column::Id));
    }
    assert!(titles(&app, 34).contains(&"status"));
    let mut buf = Buffer::empty(Rect::new(0, 0, 140, 9));
    RunsTable(&app).render(buf.area, &mut buf);
    let text = buffer_text(&buf);
    let name = text
        .lines()
        .flat_map(str::split_whitespace)
        .find(|w| w.starts_with("seed-"))
        .unwrap_or_default();
    assert!(
        name.chars().count() >= 27,
        "{name}:
{text}"
    );
}

/// Columns that say something of the runs get the room first: at 120 columns a column all `-`
/// (test, where only lfw was measured) and settings every run shares (dim) come after mining,
/// which differs between runs. Sorted by one, it is on screen all the same.
#[test]
fn a_table_prefers_the_columns_that_tell_its_runs_apart() {
    use super::filter::Column;
    let mut runs = lab_runs();
    runs[1].lfw_acc = Some(0.7);
    // One seed: no seed column takes the room whose use this is about.
    runs[4].hyper.seed = runs[0].hyper.seed;
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs)));
    let titles = |app: &App| -> Vec<&'static str> {
        RunsTable::columns_on_screen(120, app)
            .iter()
            .map(|c| c.title())
            .collect()
    };
    let shown = titles(&app);
    assert!(
        shown.contains(&"mining") && shown.contains(&"lfw"),
        "{shown:?}"
    );
    assert!(
        !shown.contains(&"test") && !shown.contains(&"dim"),
        "{shown:?}"
    );
    app.update(Action::SortBy(Column::Test));
    assert!(titles(&app).contains(&"test"));
}

/// Where the model has no room, no setting after it takes the room it left: at 80 columns a
/// batch size stood in its place, reading as what told the runs apart, and the name, which says
/// more, gets that room instead.
#[test]
fn no_setting_takes_the_room_the_model_has_not() {
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(lab_runs())));
    let mut without = 0;
    for width in 40..=200 {
        let shown: Vec<&str> = RunsTable::columns_on_screen(width, &app)
            .iter()
            .map(|c| c.title())
            .collect();
        if !shown.contains(&"model") {
            without += 1;
            for setting in ["last loss", "batch", "dim", "input", "lr", "mining"] {
                assert!(!shown.contains(&setting), "{width}: {shown:?}");
            }
        }
    }
    assert!(
        (1..161).contains(&without),
        "{without} widths without the model"
    );
}

/// A second seed takes room for its column from the least useful one, and moves no other in
/// or out: at 160 columns, with the dim and lr every run shares left out, the seed once took
/// `started`'s room and gave the rest to `dim` and `lr`, which say nothing of these runs (and
/// the digits that sort by the nth column on screen moved with them).
#[test]
fn a_second_seed_takes_the_room_of_the_least_useful_column_only() {
    let mut runs = lab_runs();
    runs[0].test_acc = Some(0.5);
    runs[1].lfw_acc = Some(0.7);
    runs[2].name = "walk-sweep-3-hard-no-normalize".into();
    // One dim, one learning rate and one seed among the runs.
    runs[3].hyper.lr = runs[0].hyper.lr;
    runs[3].hyper.lr_schedule = runs[0].hyper.lr_schedule.clone();
    runs[4].hyper.seed = runs[0].hyper.seed;
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs.clone())));
    let titles = |app: &App| -> Vec<&'static str> {
        RunsTable::columns_on_screen(160, app)
            .iter()
            .map(|c| c.title())
            .collect()
    };
    let mut columns = vec![
        "id",
        "name",
        "model",
        "input",
        "batch",
        "mining",
        "status",
        "epoch",
        "best dev",
        "test",
        "lfw",
        "last loss",
        "img/s",
        "started",
        "duration",
    ];
    assert_eq!(titles(&app), columns, "one seed");
    runs[4].hyper.seed = 8;
    app.update(Action::Data(Update::Runs(runs.clone())));
    columns.retain(|&c| c != "started");
    columns.insert(6, "seed");
    assert_eq!(titles(&app), columns, "two seeds");
    // Runs of one recipe but their mining: where all that differs fits with room to spare,
    // the room goes to the shared settings in their order, up to the first that has none. The
    // seed takes the last one's (lr), and `test`, all `-`, does not come in behind it.
    let recipe = runs[0].hyper.clone();
    for r in &mut runs {
        r.hyper = crate::lab::Hyperparams {
            mining: r.hyper.mining.clone(),
            seed: recipe.seed,
            ..recipe.clone()
        };
        (r.test_acc, r.lfw_acc) = (None, None);
    }
    app.update(Action::Data(Update::Runs(runs.clone())));
    let mut columns = vec![
        "id",
        "name",
        "model",
        "input",
        "batch",
        "dim",
        "mining",
        "lr",
        "status",
        "epoch",
        "best dev",
        "last loss",
        "img/s",
        "started",
        "duration",
    ];
    assert_eq!(titles(&app), columns, "one seed, one recipe");
    runs[4].hyper.seed = 8;
    app.update(Action::Data(Update::Runs(runs)));
    columns[7] = "seed";
    assert_eq!(titles(&app), columns, "two seeds, one recipe");
}

/// While a dialog is open the footer gives its keys, not the screen's, which do not reach it.
#[test]
fn the_footer_gives_the_open_dialogs_keys() -> Result<()> {
    let mut app = app();
    let footer = |app: &App| -> Result<String> {
        let text = screen(app, 100, 30)?.to_string();
        Ok(text.lines().last().unwrap_or_default().to_string())
    };
    assert!(footer(&app)?.contains("enter detail"));
    app.update(Action::StartForm);
    let line = footer(&app)?;
    assert!(
        line.contains("enter start · esc cancel") && !line.contains("enter detail"),
        "{line}"
    );
    app.update(Action::Cancel);
    app.update(Action::Help);
    assert!(footer(&app)?.contains("esc or ? close"));
    Ok(())
}

/// The footer offers C where the highlighted run stopped before its end (the crashed r18-oom),
/// X elsewhere, in the table and in the run's detail.
#[test]
fn the_footer_offers_each_run_its_next_step() -> Result<()> {
    let mut app = app();
    let footer = |app: &App| -> Result<String> {
        let text = screen(app, 140, 30)?.to_string();
        Ok(text.lines().last().unwrap_or_default().to_string())
    };
    // Each run's next step: a completed run a run like it, a crashed one its resume, a
    // training one its stop; early in the line, where 80 columns keep it.
    let offered = |app: &App| -> Result<Vec<&str>> {
        let line = footer(app)?;
        Ok(["R like it", "C resume", "X stop"]
            .into_iter()
            .filter(|key| line.contains(key))
            .collect())
    };
    assert_eq!(app.selected_run().map(|r| r.id), Some(RunId(5)));
    assert_eq!(offered(&app)?, ["R like it"]);
    app.update(Action::Down);
    assert_eq!(app.selected_run().map(|r| r.id), Some(RunId(4)));
    assert_eq!(offered(&app)?, ["C resume"]);
    let narrow = screen(&app, 80, 24)?.to_string();
    assert!(
        narrow
            .lines()
            .last()
            .is_some_and(|l| l.contains("C resume")),
        "{narrow}"
    );
    app.update(Action::Down);
    assert_eq!(offered(&app)?, ["X stop"]);
    app.update(Action::Up);
    app.update(Action::Open);
    let line = footer(&app)?;
    assert!(
        line.contains("C resume") && line.contains("esc back"),
        "{line}"
    );
    Ok(())
}

/// The input column widens to the longest input text among the runs, so a cropped,
/// ImageNet-normalised run reads whole; without one it keeps its width.
#[test]
fn the_input_column_fits_its_longest_text() {
    let input_cells = |app: &App| {
        let mut buf = Buffer::empty(Rect::new(0, 0, 160, 9));
        RunsTable(app).render(buf.area, &mut buf);
        let text = buffer_text(&buf);
        let header = text.lines().nth(1).unwrap_or_default().to_string();
        (text, header.find("input").zip(header.find("batch")))
    };
    let mut app = app();
    let (text, cols) = input_cells(&app);
    assert!(
        text.contains("64 c0.5 ") && text.contains("64 inet"),
        "{text}"
    );
    let (input, batch) = cols.expect("both headers");
    assert_eq!(batch - input, 11, "10 wide and a space:\n{text}");
    app.runs[3].hyper.crop = 0.875;
    app.runs[3].hyper.image_size = 224;
    let (text, cols) = input_cells(&app);
    assert!(text.contains("224 c0.875 inet"), "{text}");
    let (input, batch) = cols.expect("both headers");
    assert_eq!(batch - input, 16, "15 wide and a space:\n{text}");
}

/// Run ids of four digits and more read whole (runs 1230 to 1239 would all read `123`), and a
/// diverging loss reads in powers of ten rather than cut.
#[test]
fn long_ids_and_huge_losses_read_whole() {
    let mut runs = lab_runs();
    runs[0].id = RunId(12345);
    runs[1].last_loss = Some(1.5e10);
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs)));
    let mut buf = Buffer::empty(Rect::new(0, 0, 160, 9));
    RunsTable(&app).render(buf.area, &mut buf);
    let text = buffer_text(&buf);
    assert!(text.contains(" 12345 r18-baseline"), "{text}");
    assert!(text.contains("1.50e10"), "{text}");
    assert!(text.contains("0.0871"), "a usual loss as before:\n{text}");
}

/// The table keeps its scroll from one draw to the next: from the last run, one up leaves the
/// last run in sight (each draw scrolled from the top, so the highlight stuck to the bottom
/// row); PgDn moves by the rows the table shows.
#[test]
fn the_runs_table_keeps_its_scroll_and_pages_by_what_it_shows() {
    let runs: Vec<Run> = (1..=30)
        .map(|i| run(i, &format!("run-{i:02}"), "resnet18"))
        .collect();
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs)));
    let draw = |app: &App| {
        // Seven rows inside the border, under the header.
        let mut buf = Buffer::empty(Rect::new(0, 0, 80, 10));
        RunsTable(app).render(buf.area, &mut buf);
        buffer_text(&buf)
    };
    // The border says what the scroll hides.
    assert!(draw(&app).contains("↓ 23 below"));
    app.update(Action::Bottom);
    let text = draw(&app);
    assert!(
        text.contains("run-01") && text.contains("↑ 23 above"),
        "{text}"
    );
    app.update(Action::Up);
    let text = draw(&app);
    assert!(text.contains("run-01") && text.contains("run-02"), "{text}");
    assert!(
        text.contains("run-07") && !text.contains("run-08"),
        "{text}"
    );

    // A filter that leaves ten runs, the last still highlighted, shows the seven that fit
    // down to it, not it alone above blank rows.
    app.update(Action::StartFilter);
    app.type_text("id<=10");
    app.update(Action::Submit);
    let text = draw(&app);
    assert!(text.contains("run-01") && text.contains("run-07"), "{text}");
    assert!(
        text.contains("↑ 3 above") && !text.contains("below"),
        "{text}"
    );

    app.update(Action::Top);
    assert!(draw(&app).contains("↓ 3 below"));
    for _ in 0..7 {
        app.update(Action::Down);
    }
    assert!(draw(&app).contains("↑ 1 above · ↓ 2 below"));
    app.update(Action::Top);
    draw(&app);
    app.update(Action::PageDown);
    assert_eq!(app.selected, 6, "seven rows shown: one page is six down");
}

/// Another thread records metrics into a real lab file; the collector, woken by the file
/// watcher, brings them to the app, and the detail screen shows them, with no key pressed.
#[test]
fn live_metrics_reach_the_screen_through_the_watcher() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("lab.db");
    let lab = Lab::open(&path)?;
    let id = lab.create_run(&crate::lab::fixtures::new_run("live"))?;
    lab.mark_running(id, 100, std::process::id())?;

    let (tx, rx) = std::sync::mpsc::channel::<Update>();
    // No fallback tick within the test's time: only the file watcher can wake the collector.
    let requests = store::spawn_with_tick(&path, Duration::from_secs(3600), move |u| {
        tx.send(u).is_ok()
    })?;
    let mut app = App::new(crate::lab::now(), "testhost");
    let deadline = |s| Instant::now() + Duration::from_secs(s);
    let pump = |app: &mut App, until: Instant, done: &dyn Fn(&App) -> bool| {
        while !done(app) && Instant::now() < until {
            if let Ok(u) = rx.recv_timeout(Duration::from_millis(50)) {
                for e in app.update(Action::Data(u)) {
                    if let super::app::Effect::Watch(ids) = e {
                        let _ = requests.send(Request::Watch(ids));
                    }
                }
            }
        }
    };
    pump(&mut app, deadline(60), &|a| a.loaded);
    for e in app.update(Action::Open) {
        if let super::app::Effect::Watch(ids) = e {
            requests.send(Request::Watch(ids))?;
        }
    }
    pump(&mut app, deadline(60), &|a| a.series.contains_key(&id));
    assert!(
        app.series.contains_key(&id),
        "the opened run's series were loaded"
    );

    let writer = std::thread::spawn(move || -> Result<()> {
        let lab = Lab::open(&path)?;
        for i in 1..=20 {
            let pts = [MetricPoint::new(i, 1, metric::TRAIN_LOSS, 1.0 / i as f64)];
            let summary = RunSummaryUpdate {
                last_iteration: Some(i),
                last_loss: Some(1.0 / i as f64),
                ..Default::default()
            };
            lab.record(id, &pts, &summary)?;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    });
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer panicked"))??;
    let n = |a: &App| {
        a.series
            .get(&id)
            .and_then(|s| s.get(metric::TRAIN_LOSS))
            .map_or(0, |s| s.points.len())
    };
    let last_iteration = |a: &App| a.run(id).map(|r| r.last_iteration);
    pump(&mut app, deadline(20), &|a| {
        n(a) == 20 && last_iteration(a) == Some(20)
    });
    assert_eq!(
        n(&app),
        20,
        "every point arrives exactly once, woken by the watcher"
    );
    assert_eq!(app.run(id).map(|r| r.last_iteration), Some(20));
    app.update(Action::Tick(crate::lab::now()));
    let text = screen(&app, 100, 30)?.to_string();
    assert!(text.contains("it 20"), "{text}");
    assert!(text.contains("running"), "{text}");
    Ok(())
}

#[test]
fn an_empty_lab_suggests_a_command_for_that_lab() -> Result<()> {
    let mut app = App::new(NOW, "testhost");
    app.db_flag = " --db /tmp/labs/x.db".into();
    app.update(Action::Data(Update::Runs(Vec::new())));
    let text = screen(&app, 200, 10)?.to_string();
    assert!(
        text.contains(
            "`facenet-lab --db /tmp/labs/x.db run resnet18 --data synthetic --image-size 64 \
             --epochs 3` (a minute on a CPU)"
        ),
        "{text}"
    );
    Ok(())
}

/// A filter that shows no run says so, and how to change it: a blank table read as a lab that
/// lost its runs.
#[test]
fn a_filter_that_shows_no_run_says_so() -> Result<()> {
    let mut app = app();
    app.update(Action::StartFilter);
    app.type_text("nothing-named-so");
    app.update(Action::Submit);
    assert!(app.view.is_empty());
    let text = screen(&app, 120, 20)?.to_string();
    assert!(
        text.contains("None of the lab's") && text.contains("matches the filter: / changes it"),
        "{text}"
    );
    Ok(())
}

/// Tags the lab would refuse keep the editor open on what was typed, with the reason; tags it
/// takes close it and are written.
#[test]
fn a_refused_tag_keeps_the_editor_and_its_text() -> Result<()> {
    let mut app = app();
    app.update(Action::EditTags);
    app.update(Action::ClearInput);
    app.type_text("good ; bad");
    let fx = app.update(Action::Submit);
    assert!(fx.is_empty(), "{fx:?}");
    let Some(Overlay::EditTags { input, .. }) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert_eq!(input, "good ; bad");
    let text = screen(&app, 120, 30)?.to_string();
    assert!(
        text.contains("tag ';' holds a comma, semicolon or space"),
        "{text}"
    );
    app.update(Action::ClearInput);
    app.type_text("good, fine");
    let fx = app.update(Action::Submit);
    assert!(
        matches!(&fx[..], [crate::tui::Effect::SetTags(_, tags)] if tags == &["good", "fine"]),
        "{fx:?}"
    );
    assert!(app.overlay.is_none());
    Ok(())
}

/// A note longer than its box scrolls sideways: the end being typed and the cursor stay in
/// sight, and the hidden start is marked.
#[test]
fn a_long_note_scrolls_to_keep_the_cursor_in_sight() -> Result<()> {
    let mut app = app();
    app.update(Action::EditNotes);
    let note = "lr 5e-4 with cosine decay and a warmup of two epochs; the dev accuracy plateaus at 0.41 END";
    app.type_text(note);
    let text = screen(&app, 100, 30)?.to_string();
    assert!(text.contains("0.41 END▏"), "{text}");
    assert!(text.contains("│…"), "{text}");
    assert!(!text.contains("lr 5e-4 with"), "{text}");
    Ok(())
}

/// The text being typed is edited where the cursor is: ←/→, Home/End (Ctrl-A/Ctrl-E), Delete
/// and Backspace there, and a long note shows its start when the cursor goes there.
#[test]
fn text_is_edited_where_the_cursor_is() -> Result<()> {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut app = app();
    app.update(Action::EditNotes);
    let press = |app: &mut App, code: KeyCode, modifiers: KeyModifiers| {
        if let Some(a) = super::keys::key_action(app, KeyEvent::new(code, modifiers), 100) {
            app.update(a);
        }
    };
    let none = KeyModifiers::NONE;
    app.type_text("dév acc");
    press(&mut app, KeyCode::Home, none);
    app.type_text("best ");
    press(&mut app, KeyCode::End, none);
    app.type_text("!");
    press(&mut app, KeyCode::Left, none);
    press(&mut app, KeyCode::Left, none);
    press(&mut app, KeyCode::Backspace, none);
    press(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
    press(&mut app, KeyCode::Delete, none);
    press(&mut app, KeyCode::Right, none);
    app.type_text("_");
    let Some(Overlay::EditNotes { input, .. }) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert_eq!(input, "e_st dév ac!");
    let text = screen(&app, 100, 30)?.to_string();
    assert!(text.contains("│e_▏st dév ac!"), "{text}");

    // A note longer than its box, the cursor at its start: the start shows, the end is cut.
    app.update(Action::ClearInput);
    let note = "START of a long note about the learning rate and its schedule, the margin and dev accuracy END";
    app.type_text(note);
    press(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
    let text = screen(&app, 100, 30)?.to_string();
    assert!(text.contains("│▏START of a long"), "{text}");
    assert!(!text.contains("END"), "{text}");
    Ok(())
}

/// A long filter gives way in the title bar, cut with a mark, so that the sort stays in sight;
/// a long status message wraps instead of being cut mid-word.
#[test]
fn long_header_and_footer_texts_are_cut_with_a_mark_or_wrapped() -> Result<()> {
    let mut app = app();
    app.update(Action::StartFilter);
    app.type_text("model=resnet18 status=completed name!=foo dev_acc>0.3 lfw>0.7");
    app.update(Action::Submit);
    let text = screen(&app, 80, 24)?.to_string();
    let title = text.lines().next().unwrap_or_default();
    assert!(title.contains("… · sort: id "), "{title}");
    let msg = "no experiment files: put TOML specs in experiments/, here or beside the lab (see \
               `facenet-lab run --help` for their keys) END";
    app.update(Action::Status(msg.into(), true));
    let text = screen(&app, 80, 24)?.to_string();
    assert!(text.contains("END"), "{text}");
    // Past the footer's lines, the cut is marked.
    let long = format!(
        "{} TAIL",
        "reading the lab failed: database is locked ".repeat(12)
    );
    app.update(Action::Status(long, true));
    let text = screen(&app, 60, 24)?.to_string();
    assert!(!text.contains("TAIL"), "{text}");
    // (Each line of the screen comes quoted.)
    let last = text
        .lines()
        .map(|l| l.trim_matches(['"', ' ']))
        .rfind(|l| !l.is_empty());
    assert!(last.is_some_and(|l| l.ends_with("is …")), "{text}");
    Ok(())
}

/// Half-typed filters: a field name on its way to its operator filters nothing yet, and a
/// value outside a field's closed set is an error that lists the set, not an empty table.
#[test]
fn a_half_typed_filter_keeps_the_last_one_that_means_something() -> Result<()> {
    let mut app = app();
    app.update(Action::StartFilter);
    app.type_text("model=resnet18 dev_acc");
    let text = screen(&app, 100, 30)?.to_string();
    assert!(
        text.contains("filter: model=resnet18 · sort"),
        "the field name being typed is not a text filter:\n{text}"
    );
    assert!(text.contains("'dev_acc' starts a field name"), "{text}");
    for _ in 0.."model=resnet18 dev_acc".len() {
        app.update(Action::Backspace);
    }
    app.type_text("status=runing");
    let text = screen(&app, 100, 30)?.to_string();
    assert!(
        text.contains("no status is 'runing'; one of: queued, running, completed"),
        "{text}"
    );
    assert!(
        !text.contains("0 shown"),
        "the unknown value filters nothing away:\n{text}"
    );
    Ok(())
}

#[test]
fn compare_columns_take_the_width_their_contents_need_and_share_it_when_short() {
    use super::text::ellipsize;
    use super::ui::share_widths;
    assert_eq!(
        share_widths(&[10, 40, 30], 200),
        vec![10, 40, 30],
        "room for all"
    );
    // 60 for three: the narrow one keeps its 10, the wide ones share the other 50.
    assert_eq!(share_widths(&[10, 40, 30], 60), vec![10, 25, 25]);
    assert_eq!(share_widths(&[10, 40, 30], 61), vec![10, 26, 25]);
    assert_eq!(ellipsize("784a92c89137-dirty", 18), "784a92c89137-dirty");
    assert_eq!(ellipsize("784a92c89137-dirty", 10), "784a92c89…");
}

/// At 80 columns, six columns of runs with long names on different CPUs, one with a row name
/// of 18 (`zero-init residual`): the values that differ (`resnet152`, a seed group's `±`) stay
/// whole, and the row names and the runs' names are cut first.
#[test]
fn a_narrow_compare_table_keeps_the_differing_values_whole() -> Result<()> {
    let mut runs = lab_runs();
    for (id, batch) in [(6, 16), (7, 8)] {
        let mut more = runs[1].clone();
        more.id = RunId(id);
        more.hyper.batch_size = batch;
        runs.push(more);
    }
    for r in runs.iter_mut() {
        r.name = format!("best-recipe-64px-crop0.5-{}-s{}", r.id, r.hyper.seed);
        r.machine.cpu_model = Some(format!("AMD EPYC 9654 96-Core Processor {}", r.id));
    }
    runs[1].hyper.model = "resnet152".into();
    runs[2].hyper.zero_init_residual = true;
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs)));
    app.update(Action::SortBy(super::filter::Column::Id));
    app.update(Action::Top);
    for _ in 0..7 {
        app.update(Action::ToggleMark);
    }
    let fx = app.update(Action::Compare);
    feed_watched(&mut app, fx);
    let text = screen(&app, 80, 24)?.to_string();
    let row = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!("│{name} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("model").contains(" resnet152 "), "{text}");
    assert!(row("best dev").contains("0.405±0.010 "), "{text}");
    assert!(row("batch").contains(" 16 "), "{text}");
    Ok(())
}

/// The compared runs' code, CPU and names are as long as they are, and at 200 columns the
/// table has the room to show them whole; each column says which curve is its.
#[test]
fn a_wide_compare_table_shows_long_values_whole() -> Result<()> {
    let mut runs = lab_runs();
    runs[0].name = "architectures-cpu-64-1-resnet18-32-128".into();
    runs[0].code.git_commit = "99516bcd1c12aaaa,784a92c89137".into();
    runs[0].code.git_dirty = true;
    runs[1].machine.cpu_model = Some("AMD EPYC 9654 96-Core Processor".into());
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs)));
    app.update(Action::SortBy(super::filter::Column::Id));
    app.update(Action::Top);
    app.update(Action::ToggleMark); // 1
    app.update(Action::ToggleMark); // 2
    let fx = app.update(Action::Compare);
    feed_watched(&mut app, fx);
    let text = screen(&app, 200, 40)?.to_string();
    assert!(
        text.contains("━ #1 architectures-cpu-64-1-resnet18-32-128"),
        "{text}"
    );
    assert!(text.contains("-dirty"), "{text}");
    assert!(
        text.contains("AMD EPYC 9654 96-Core Processor · 2 threads · avx2+fma"),
        "{text}"
    );
    // Narrow, the cells are cut with a mark, and the legend's key is in the headers.
    insta::assert_snapshot!("compare_80x24", screen(&app, 80, 24)?);
    // Short, the metrics stay in sight and the table says how many rows it left out.
    let text = screen(&app, 80, 16)?.to_string();
    assert!(text.contains("best dev     0.412"), "{text}");
    assert!(text.contains("↓ 5 rows more: j scrolls"), "{text}");
    // j scrolls the table, G to its last row, g back.
    app.update(Action::Resize(80, 16));
    let key = |app: &mut App, c: char| {
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        if let Some(a) = super::keys::key_action(app, k, 80) {
            app.update(a);
        }
    };
    key(&mut app, 'j');
    let text = screen(&app, 80, 16)?.to_string();
    assert!(text.contains("↑ 1 above, ↓ 4 more: j/k scroll"), "{text}");
    assert!(!text.contains("best dev"), "{text}");
    key(&mut app, 'G');
    let text = screen(&app, 80, 16)?.to_string();
    assert!(text.contains("↑ 5 rows above: k scrolls"), "{text}");
    key(&mut app, 'g');
    assert_eq!(app.compare_scroll, 0);
    // Tall enough for every row, j scrolls nothing, and says so.
    key(&mut app, 'G');
    assert!(app.compare_scroll > 0);
    app.update(Action::Resize(80, 40));
    let j = ratatui::crossterm::event::KeyEvent::new(
        ratatui::crossterm::event::KeyCode::Char('j'),
        ratatui::crossterm::event::KeyModifiers::NONE,
    );
    assert!(
        matches!(super::keys::key_action(&app, j, 80),
            Some(Action::Status(text, true)) if text.contains("it shows them all")),
        "j is no scroll here"
    );
    let text = screen(&app, 80, 40)?.to_string();
    assert!(
        text.contains("best dev     0.412"),
        "scrolled back into view:\n{text}"
    );
    Ok(())
}

/// Two runs whose names differ only in their middle keep some of that middle in the compare
/// view's narrow headers: their ids differ anyway, so the ids alone must not be what parts
/// them.
#[test]
fn compared_runs_of_like_names_keep_what_parts_them() -> Result<()> {
    let mut runs = lab_runs();
    runs[0].name = "architectures-cpu-64-1-resnet18-32-128".into();
    runs[1].name = "architectures-cpu-64-2-alexnet-32-128".into();
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs)));
    app.update(Action::SortBy(super::filter::Column::Id));
    app.update(Action::Top);
    app.update(Action::ToggleMark);
    app.update(Action::ToggleMark);
    let fx = app.update(Action::Compare);
    feed_watched(&mut app, fx);
    let text = screen(&app, 50, 30)?.to_string();
    let header = text
        .lines()
        .find(|l| l.contains("━ #1") && l.contains("━ #2"))
        .ok_or_else(|| anyhow::anyhow!("no header row"))?;
    // The chart keeps its legend, each entry cut where the names part, its id whole.
    assert!(
        text.contains("━ #1 …cpu…resnet18…") && text.contains("━ #2 …cpu…alexnet…"),
        "{text}"
    );
    let names: Vec<&str> = header
        .split("━ #")
        .skip(1)
        .map(|cell| {
            cell.split_once(' ')
                .map_or("", |(_, name)| name.trim_end_matches(['│', ' ', '"']))
        })
        .collect();
    assert_eq!(names.len(), 2, "{header}");
    assert_ne!(names[0], names[1], "{header}");
    assert!(names.iter().all(|n| n.contains('…')), "{header}");
    Ok(())
}

/// A chart of one curve `f` over 1..=300, as text, `share` or not.
fn chart_text(f: &dyn Fn(f64) -> f64, share: bool) -> String {
    chart_of((1..=300).map(|i| (i, f(i as f64))), share)
}

/// A chart of one curve through `(iteration, value)` points, as text.
fn chart_of(points: impl Iterator<Item = (i64, f64)>, share: bool) -> String {
    chart_of_run(points, share, false)
}

/// [`chart_of`] for a run that is training (`live`) or finished.
fn chart_of_run(points: impl Iterator<Item = (i64, f64)>, share: bool, live: bool) -> String {
    use super::series::{Line, Series, XAxis};
    use super::ui::{ChartView, Curve};
    let r = run(1, "a", "resnet18");
    let s = Series::new(points.map(|(i, v)| point(i, v)).collect());
    let curves = [Curve {
        name: "dev".into(),
        color: ratatui::style::Color::Yellow,
        line: Line::build(
            &r,
            super::series::Timeline::default(),
            &s,
            XAxis::Iteration,
            None,
            60,
        ),
    }];
    let mut buf = Buffer::empty(Rect::new(0, 0, 50, 14));
    ChartView {
        title: "t",
        curves: &curves,
        axis: XAxis::Iteration,
        share,
        live,
        x_span: None,
    }
    .render(buf.area, &mut buf);
    buffer_text(&buf)
}

/// A chart of one evaluation spans one step: its x axis names each value once (not 19 20 20),
/// and keeps two labels where all three would read alike (1.2k).
#[test]
fn a_one_point_chart_labels_its_x_axis_once_per_value() {
    let x_labels = |iteration: i64| -> Vec<String> {
        let text = chart_of(std::iter::once((iteration, 0.5)), true);
        let axis = text.lines().rev().nth(1).unwrap_or_default();
        axis.split(|c: char| c == '│' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    };
    assert_eq!(x_labels(19), ["19", "20"]);
    assert_eq!(x_labels(1200), ["1.2k", "1.2k"]);
}

/// The legend sits in a corner the curve leaves empty, away from its end, and nothing of the
/// curve shows inside it.
#[test]
fn chart_legends_sit_where_the_data_is_not() {
    let rising = chart_text(&|i| i / 300.0, true);
    let rows: Vec<&str> = rising.lines().collect();
    let at = |rows: &[&str], needle: &str| {
        rows.iter()
            .position(|l| l.contains(needle))
            .map(|y| (y, rows[y].chars().position(|c| c == '━')))
    };
    let (y, x) = at(&rows, "━ dev").expect("a legend");
    assert!(
        y > rows.len() / 2,
        "a rising curve: legend at the bottom\n{rising}"
    );
    assert!(x > Some(25), "at the right\n{rising}");
    assert!(
        !rows[y].contains("dev⠀") && rows[y].contains("━ dev│"),
        "nothing drawn over the legend\n{rising}"
    );
    let falling = chart_text(&|i| 1.0 - i / 300.0, false);
    let rows: Vec<&str> = falling.lines().collect();
    let (y, x) = at(&rows, "━ dev").expect("a legend");
    assert!(
        y < rows.len() / 2,
        "a falling curve: legend at the top\n{falling}"
    );
    assert!(x > Some(25), "at the right\n{falling}");
}

/// The x axis spans the data, shares stay within [0, 1], and non-negative values keep the
/// y axis at or above 0.
#[test]
fn chart_axes_span_the_data_and_respect_its_range() {
    // Smoothed, a series that is 1 at the end can come out a hair above 1.
    let share = chart_text(&|i| if i > 200.0 { 1.0 + 1e-15 } else { 0.5 }, true);
    assert!(share.contains("1.000"), "{share}");
    assert!(
        !(1..=9).any(|d| share.contains(&format!("1.0{d}"))),
        "no share above 1 on the axis\n{share}"
    );
    let loss = chart_text(&|i| 0.2 / i, false);
    assert!(loss.contains("0.000"), "{loss}");
    assert!(
        !loss.contains("-0.0"),
        "no negative loss on the axis\n{loss}"
    );
    let lr = chart_text(&|i| 5e-4 * (1.0 - i / 300.0) + 1e-5, false);
    assert!(
        lr.contains("5.3e-4") || lr.contains("5.2e-4"),
        "a learning rate reads as one\n{lr}"
    );
    let last = loss.lines().rev().nth(1).unwrap_or_default();
    assert!(
        last.contains(" 1 ") || last.contains("│1 "),
        "x from the first point:\n{loss}"
    );
    assert!(
        last.trim_end_matches('│').ends_with("300"),
        "to the last:\n{loss}"
    );
}

/// At 80 columns long names of one family are cut in the middle, marked, and stay told apart,
/// those that differ only in their middle too.
#[test]
fn cut_run_names_are_marked_and_stay_distinct() -> Result<()> {
    let names = [
        "best-recipe-64px",
        "best-recipe-64px-cosine",
        "best-recipe-64px-cosine-90",
        "best-recipe-64px-crop0.5",
        "best-recipe-64px-crop0.5-s1",
        "best-recipe-96px-crop0.5-s1",
        "architectures-cpu-64-1-resnet18-32-128",
        "architectures-cpu-64-2-alexnet-32-128",
    ];
    // Of settings and results that differ, as a family's do: a column that says nothing of
    // them gives its room to the names.
    let runs: Vec<Run> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut r = run(i as i64 + 1, n, ["resnet18", "alexnet"][i % 2]);
            r.hyper.batch_size = [32, 64][i % 2];
            r.hyper.embedding_dim = [128, 64][i % 2];
            r.best_dev_acc = Some(0.3 + 0.01 * i as f64);
            r
        })
        .collect();
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs)));
    let text = screen(&app, 80, 24)?.to_string();
    let shown: Vec<String> = text
        .lines()
        .filter(|l| l.contains("completed"))
        .filter_map(|l| l.split_whitespace().nth(2).map(String::from))
        .collect();
    assert_eq!(shown.len(), names.len(), "{text}");
    let distinct: std::collections::BTreeSet<&String> = shown.iter().collect();
    assert_eq!(distinct.len(), names.len(), "{shown:?}");
    assert!(shown.contains(&"best…96px…s1".to_string()), "{shown:?}");
    assert!(shown.iter().any(|n| n.contains('…')), "{shown:?}");
    assert!(text.contains("best dev last loss"), "{text}");
    Ok(())
}

/// At 80 columns the lab's runs 63 to 65 (`best-recipe-64px-crop0.5-from-run-62` and its
/// `-s1` and `-s2` seeds) keep the ends that tell them apart, and so do the runs of a sweep
/// whose names differ in a few words after a shared middle (as the dashboard bench names
/// them), which printed alike: each row's name is its own.
#[test]
fn names_that_differ_at_their_end_stay_apart_at_80_columns() -> Result<()> {
    let mut names: Vec<String> = [
        "best-recipe-64px-crop0.5-from-run-62",
        "best-recipe-64px-crop0.5-from-run-62-s1",
        "best-recipe-64px-crop0.5-from-run-62-s2",
    ]
    .map(String::from)
    .to_vec();
    names.extend(crate::lab::fixtures::sweep_names(60));
    let runs: Vec<Run> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            // Of settings and results that differ, as a sweep's do: the names get no more
            // room than the table leaves them.
            let mut r = run(i as i64 + 1, n, ["resnet18", "alexnet"][i % 2]);
            r.hyper.batch_size = [16, 32, 64][i % 3];
            r.hyper.embedding_dim = [128, 64][i % 2];
            r.best_dev_acc = Some(0.3 + 0.01 * i as f64);
            r
        })
        .collect();
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs)));
    let text = screen(&app, 80, 70)?.to_string();
    let header = text.lines().nth(2).unwrap_or_default();
    let room = header.find("model").unwrap_or(0) - header.find("name").unwrap_or(0) - 1;
    assert!(
        room <= 13,
        "the name column at 80 is 12 or 13 wide:\n{text}"
    );
    let shown: BTreeMap<String, String> = text
        .lines()
        .filter(|l| l.contains("completed"))
        .filter_map(|l| {
            let mut words = l.trim_start_matches(['"', '│']).split_whitespace();
            Some((words.next()?.to_string(), words.next()?.to_string()))
        })
        .collect();
    assert_eq!(shown.len(), names.len(), "{text}");
    let distinct: std::collections::BTreeSet<&String> = shown.values().collect();
    assert_eq!(distinct.len(), names.len(), "{shown:?}");
    let [first, s1, s2] = ["1", "2", "3"].map(|id| shown[id].as_str());
    assert!(first.ends_with("run-62"), "{first}");
    assert!(
        s1.ends_with("-62-s1") && s2.ends_with("-62-s2"),
        "{s1} {s2}"
    );
    assert!(s1.starts_with("best-") && s1.contains('…'), "{s1}");
    Ok(())
}

/// The rows inside the box titled `top` on screen `text`, each cut at the box's right border.
fn boxed_rows(text: &str, top: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(y) = lines.iter().position(|l| l.contains(top)) else {
        return Vec::new();
    };
    // The box's corner is the last one before its title.
    let before_title = lines[y].split(top).next().unwrap_or_default();
    let Some(x) = before_title
        .chars()
        .collect::<Vec<_>>()
        .iter()
        .rposition(|&c| c == '┌')
    else {
        return Vec::new();
    };
    lines[y + 1..]
        .iter()
        .map(|l| l.chars().skip(x + 1).collect::<String>())
        .take_while(|l| !l.starts_with('─'))
        .map(|l| {
            l.split('│')
                .next()
                .unwrap_or_default()
                .trim_end()
                .to_string()
        })
        .collect()
}

/// Overlays are as tall as what they show: no blank row under the start form's hint, the
/// stop confirmation's keys (under a wrapped explanation) on screen, and the help's every line
/// shown, at 80x24 too.
#[test]
fn overlays_are_sized_by_the_lines_they_draw() -> Result<()> {
    let mut app = app();
    app.update(Action::StartForm);
    let form = boxed_rows(&screen(&app, 80, 24)?.to_string(), "start a run");
    assert_eq!(form.len(), 13, "{form:#?}");
    assert!(
        form[8].contains("more flags e.g. --lr 5e-4 --normalize"),
        "{form:#?}"
    );
    assert!(form[11].contains("no --augment"), "{form:#?}");
    assert!(form[12].contains("tab/↑↓ field"), "{form:#?}");

    app.update(Action::Cancel);
    app.update(Action::Down);
    app.update(Action::Down); // r18-live, running here
    app.update(Action::AskStop);
    let stop = boxed_rows(&screen(&app, 80, 24)?.to_string(), "stop run");
    assert!(
        stop.last().is_some_and(|l| l.contains("y: stop · n / esc")),
        "{stop:#?}"
    );
    // Enter is no answer: the question stays, and nothing is stopped.
    assert!(app.update(Action::Submit).is_empty());
    assert!(matches!(app.overlay, Some(Overlay::ConfirmStop { .. })));
    assert!(stop.iter().any(|l| l.contains("interrupted.")), "{stop:#?}");

    app.update(Action::Input('n'));
    app.update(Action::Help);
    for (w, h) in [(100, 30), (80, 24)] {
        let help = boxed_rows(&screen(&app, w, h)?.to_string(), "help · esc closes");
        assert!(
            help.last().is_some_and(|l| l.ends_with("host duration")),
            "{w}x{h}: {help:#?}"
        );
        assert!(
            help.iter().any(|l| l.starts_with("esc · q · ?")),
            "{help:#?}"
        );
    }
    // On 16 rows the help scrolls, says what is out of sight, and stops at its last line.
    app.update(Action::Resize(80, 16));
    let text = screen(&app, 80, 16)?.to_string();
    assert!(text.contains("more · j/PgDn"), "{text}");
    assert!(!text.contains("host duration"), "{text}");
    for _ in 0..40 {
        app.update(Action::Down);
    }
    let text = screen(&app, 80, 16)?.to_string();
    assert!(
        text.contains("host duration") && text.contains("more · k/PgUp"),
        "{text}"
    );
    let bottom = text.clone();
    app.update(Action::Down);
    assert_eq!(
        screen(&app, 80, 16)?.to_string(),
        bottom,
        "no scrolling past the end"
    );
    app.update(Action::Up);
    assert!(!screen(&app, 80, 16)?.to_string().contains("host duration"));
    Ok(())
}

/// At 80x24 the run's header shows every fact: on two rows, or three for a long name.
#[test]
fn the_detail_header_fits_80_columns() -> Result<()> {
    let mut app = detail_app(&[]);
    // A running run says when it should end: a third row at 80 columns.
    for (name, rows) in [
        ("r18-live", 3),
        ("alexnet-128px-crop0.5-lr1e-4-all-nodropout", 3),
    ] {
        let mut runs = lab_runs();
        runs[2].name = name.into();
        app.update(Action::Data(Update::Runs(runs)));
        let text = screen(&app, 80, 24)?.to_string();
        let header: Vec<&str> = text
            .lines()
            .skip(1)
            .take_while(|l| !l.contains('┌'))
            .collect();
        assert_eq!(header.len(), rows, "{text}");
        let header = header.join(" ");
        for fact in [
            name,
            "resnet18",
            "running",
            "epoch 3/10 (30%)",
            "it 300 (100/epoch)",
            "loss 0.0871",
            "best dev 0.305",
            "850 img/s",
            "ETA ~29m19s",
            "x: iteration",
            "smoothing 0.6",
        ] {
            assert!(header.contains(fact), "{fact}:\n{text}");
        }
    }
    // What `eval` measured of the best checkpoint is in the header too.
    let mut runs = lab_runs();
    runs[2].test_acc = Some(0.757);
    runs[2].lfw_acc = Some(0.78);
    app.update(Action::Data(Update::Runs(runs)));
    let text = screen(&app, 180, 40)?.to_string();
    assert!(
        text.contains("best dev 0.305 · test 0.757 · lfw 0.780 · 850 img/s"),
        "{text}"
    );
    // A View 2 score measured on a grayscale copy is marked, as the results table marks it.
    let mut runs = lab_runs();
    runs[2].lfw_acc = Some(0.78);
    runs[2].lfw_grayscale = true;
    app.update(Action::Data(Update::Runs(runs)));
    let text = screen(&app, 180, 40)?.to_string();
    assert!(
        text.contains("best dev 0.305 · lfw 0.780 (gray) · 850 img/s"),
        "{text}"
    );
    Ok(())
}

/// A dashboard's runtime over a fresh lab in `dir`, the collector's end of its channel, and
/// the end where work done off the screen's thread answers.
fn runtime(dir: &std::path::Path) -> Result<(super::Runtime, Receiver<Request>, Receiver<Event>)> {
    let db = dir.join("lab.db");
    let (tx, rx) = std::sync::mpsc::channel();
    let (answers, answered) = std::sync::mpsc::channel();
    let ctx = super::Runtime {
        writer: Lab::open(&db)?,
        db,
        requests: tx,
        answers,
        starts: Default::default(),
    };
    Ok((ctx, rx, answered))
}

fn key(c: char) -> super::Event {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    super::Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// Keys that arrive together (a paste, a slow link) are each read in the state the ones before
/// them left: `/` opens the filter, and the `q` typed into it does not quit.
#[test]
fn keys_read_together_go_where_the_keys_before_them_left_the_screen() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, _answered) = runtime(dir.path())?;
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(lab_runs())));
    let events = "/model=alexnet q".chars().map(key).collect();
    ctx.handle(&mut app, events, 120);
    assert!(!app.quit);
    assert_eq!(app.filter_input, "model=alexnet q");
    Ok(())
}

/// A paste arrives whole (the terminal's bracketed paste): in the note editor its line break
/// types a space rather than saving the note and running the rest as commands; over the table
/// it does nothing.
#[test]
fn a_paste_types_into_the_open_field_and_runs_no_command() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, _answered) = runtime(dir.path())?;
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(lab_runs())));
    let paste = |text: &str| super::Event::Paste(text.into());
    ctx.handle(&mut app, vec![paste("rq")], 120);
    assert!(!app.quit && app.overlay.is_none());
    ctx.handle(
        &mut app,
        vec![key('n'), paste("diverged at ep3\r\nretry\tsmaller lr")],
        120,
    );
    let Some(super::app::Overlay::EditNotes { input, .. }) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert_eq!(input, "diverged at ep3 retry smaller lr");
    // Into the filter, a long paste arrives whole, and a line break is a space there too.
    app.update(Action::Cancel);
    app.update(Action::StartFilter);
    let long = format!("model=alexnet {}", "x".repeat(100_000));
    ctx.handle(&mut app, vec![paste(&long)], 120);
    assert_eq!(app.filter_input, long);
    app.update(Action::ClearInput);
    ctx.handle(&mut app, vec![paste("model=alexnet\nq")], 120);
    assert_eq!(app.filter_input, "model=alexnet q");
    assert!(!app.quit);
    Ok(())
}

/// A copy of a lab records the pid of the run that trains into the original: its dashboard
/// refuses to stop that process, which does not have the copy open.
#[test]
fn a_process_without_this_lab_open_is_not_stopped() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, _answered) = runtime(dir.path())?;
    let copy = dir.path().join("copy.db");
    std::fs::copy(&ctx.db, &copy)?;
    // This process plays the trainer: it has lab.db open (through `ctx.writer`), not the copy.
    let me = libc::pid_t::try_from(std::process::id())?;
    assert_eq!(super::has_open(me, &ctx.db), Some(true));
    assert_eq!(super::has_open(me, &copy), Some(false));
    let err = super::interrupt(i64::from(me), &copy).expect_err("the copy's trainer is not here");
    assert!(format!("{err:#}").contains("does not have"), "{err:#}");
    Ok(())
}

/// A run started `--like` a run this lab does not hold is refused before it starts: nothing is
/// spawned, no log is made, and the status says why.
#[test]
fn a_run_like_one_not_in_the_lab_is_not_started() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, answered) = runtime(dir.path())?;
    let args = ["resnet18", "--like", "9"].map(String::from).to_vec();
    let said = ctx.perform(super::app::Effect::Spawn {
        args,
        label: "resnet18".into(),
        form: Some(super::start_form::StartForm::new("synthetic")),
    });
    // Checked off the screen's thread, which says meanwhile what it waits for.
    assert!(
        matches!(&said, Some(Action::Status(s, false)) if s == "starting the run…"),
        "{said:?}"
    );
    let answer = answered.recv_timeout(Duration::from_secs(60))?;
    let Event::Answer(Action::FormRefused(_, text)) = answer else {
        panic!("{answer:?}")
    };
    assert!(
        text.starts_with("the run was not started: no run '9' in lab"),
        "{text}"
    );
    assert!(!dir.path().join("logs").exists(), "no log was made");
    Ok(())
}

/// Picks the experiment file `spec` (written into `dir`) as `e` and Enter do, and returns what
/// the runtime answers once it has checked it.
fn pick_sweep(
    ctx: &super::Runtime,
    answered: &Receiver<Event>,
    dir: &std::path::Path,
    spec: &str,
) -> Result<Action> {
    pick_experiment(ctx, answered, &dir.join("t.toml"), spec, "sweep")
}

/// `e`'s pick of an experiment file holding `text`, written at `file`: the start is said to be
/// of a `what` (run or sweep), and the answer of the thread that checks and starts it comes
/// back.
fn pick_experiment(
    ctx: &super::Runtime,
    answered: &Receiver<Event>,
    file: &std::path::Path,
    text: &str,
    what: &str,
) -> Result<Action> {
    std::fs::write(file, text)?;
    let said = ctx.perform(super::app::Effect::Spawn {
        args: vec!["--config".into(), file.display().to_string()],
        label: "t".into(),
        form: None,
    });
    let starting = format!("starting the {what}…");
    assert!(
        matches!(&said, Some(Action::Status(s, false)) if *s == starting),
        "{said:?}"
    );
    match answered.recv_timeout(Duration::from_secs(60))? {
        Event::Answer(a) => Ok(a),
        other => anyhow::bail!("{other:?}"),
    }
}

/// A sweep spec picked with `e` is checked as `sweep` checks it before it starts: its problems
/// (a bad key, data that is not there) are said in the footer, a line each, and nothing is
/// started; a list, which the footer may cut, names the command that prints it whole.
#[test]
fn a_sweep_spec_with_problems_is_not_started_and_says_them() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, answered) = runtime(dir.path())?;
    let bad = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\ndata = \"synthetic\"\nbogus = 1\n\
               [grid]\nseed = [1, 2]\n";
    let answer = pick_sweep(&ctx, &answered, dir.path(), bad)?;
    let Action::Status(text, true) = answer else {
        panic!("{answer:?}")
    };
    assert!(
        text.contains("nothing was started") && text.contains("bogus"),
        "{text}"
    );
    let many = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\ndata = \"synthetic\"\nbogus = 1\n\
                bogus2 = 2\nbogus3 = 3\n[grid]\nseed = [1, 2]\n";
    let answer = pick_sweep(&ctx, &answered, dir.path(), many)?;
    let Action::Status(text, true) = answer else {
        panic!("{answer:?}")
    };
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.ends_with(&format!(
            "(all of it: `facenet-lab --db {} sweep {} --dry-run`)",
            ctx.db.display(),
            dir.path().join("t.toml").display()
        )),
        "{text}"
    );
    let mut app = app();
    app.update(Action::Status(text.clone(), true));
    let shown = screen(&app, 200, 40)?.to_string();
    assert!(
        shown.contains("--dry-run`)"),
        "the hint is on screen:\n{shown}"
    );
    let missing = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\ndata = \"/no/such/lfw\"\n\
                   [grid]\nseed = [1, 2]\n";
    let answer = pick_sweep(&ctx, &answered, dir.path(), missing)?;
    let Action::Status(text, true) = answer else {
        panic!("{answer:?}")
    };
    assert!(
        text.starts_with("2 runs of sweep spec")
            && text.contains(
                "cannot find their data; nothing was started:\nevery run: --data \
                              '/no/such/lfw' does not exist"
            ),
        "{text}"
    );
    assert!(!dir.path().join("logs").exists(), "no log was made");
    Ok(())
}

/// A one-run experiment file picked with `e` is checked as `run --config` reads it, before it
/// starts: a misspelt setting or images that are not there are said, and nothing is started.
#[test]
fn a_run_config_with_problems_is_not_started_and_says_them() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, answered) = runtime(dir.path())?;
    let file = dir.path().join("one.toml");
    for (config, said) in [
        (
            "model = \"resnet18\"\ndata = \"synthetic\"\nepoch = 3\n",
            "did you mean `epochs`?",
        ),
        (
            "model = \"resnet18\"\ndata = \"/no/such/lfw\"\n",
            "--data '/no/such/lfw' does not exist",
        ),
    ] {
        let answer = pick_experiment(&ctx, &answered, &file, config, "run")?;
        assert!(
            matches!(&answer, Action::Status(text, true)
                if text.starts_with("the run was not started: ") && text.contains(said)),
            "{answer:?}"
        );
    }
    assert!(!dir.path().join("logs").exists(), "no log was made");
    Ok(())
}

/// A sweep spec the lab already has runs of is asked about before anything starts, with what
/// the lab has and what `--resume` would do; the question, shown, names both answers.
#[test]
fn a_sweep_the_lab_has_runs_of_is_asked_about() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, answered) = runtime(dir.path())?;
    let spec = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\ndata = \"synthetic\"\n\
                [grid]\nseed = [1, 2, 3]\n";
    let names: Vec<String> = crate::sweep::SweepSpec::parse(spec, "t.toml")?
        .configs
        .iter()
        .map(|c| crate::sweep::run_name(c).to_string())
        .collect();
    let add = |name: &str, status: RunStatus| -> Result<RunId> {
        let mut new = crate::lab::fixtures::sample_run(name);
        new.tags = vec!["t".into()];
        let id = ctx.writer.create_run(&new)?;
        ctx.writer.conn().execute(
            "UPDATE runs SET status = ?2 WHERE id = ?1",
            rusqlite::params![id.0, status.as_str()],
        )?;
        Ok(id)
    };
    let done = add(&names[0], RunStatus::Completed)?;
    let stopped = add(&names[1], RunStatus::Interrupted)?;
    let answer = pick_sweep(&ctx, &answered, dir.path(), spec)?;
    let Action::AskSweep(ask) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!((ask.have.len(), ask.total), (2, 3));
    assert_eq!(
        ask.have,
        [
            format!("{} (1/3): run {done} (completed)", names[0]),
            format!("{} (2/3): run {stopped} (interrupted)", names[1])
        ]
    );
    assert_eq!(
        ask.resume,
        Ok(format!(
            "resumes 1 run, starts 1; 1 completed already (run {done})"
        ))
    );
    let mut app = App::new(NOW, "testhost");
    app.update(Action::AskSweep(ask));
    let text = screen(&app, 100, 30)?.to_string();
    for said in [
        "The lab has runs of 2 of this sweep's 3 runs:",
        "r: resume the sweep",
        "n: start 3 new runs beside them",
        "r resume the sweep · n new runs beside them · esc cancel",
    ] {
        assert!(text.contains(said), "{said}:\n{text}");
    }
    // A run of it still training: --resume would train it twice, and r says so.
    ctx.writer.conn().execute(
        "UPDATE runs SET status = 'running', heartbeat_at = ?2, pid = NULL WHERE id = ?1",
        rusqlite::params![stopped.0, crate::lab::now()],
    )?;
    let answer = pick_sweep(&ctx, &answered, dir.path(), spec)?;
    let Action::AskSweep(ask) = answer else {
        panic!("{answer:?}")
    };
    assert!(
        ask.resume
            .as_ref()
            .is_err_and(|e| e.contains("still training") && !e.contains('\n')),
        "{:?}",
        ask.resume
    );
    // Asked to resume all the same (the lab changed since): refused, nothing started.
    let said = ctx.perform(super::app::Effect::StartSweep {
        file: ask.file.clone(),
        label: "t".into(),
        resume: true,
    });
    assert!(matches!(&said, Some(Action::Status(_, false))), "{said:?}");
    let answer = answered.recv_timeout(Duration::from_secs(60))?;
    assert!(
        matches!(&answer, Event::Answer(Action::Status(text, true)) if text.contains("still training")),
        "{answer:?}"
    );
    assert!(!dir.path().join("logs").exists(), "nothing was started");
    // Every run of it completed: nothing to resume, and r says so.
    ctx.writer.conn().execute(
        "UPDATE runs SET status = 'completed' WHERE id = ?1",
        [stopped.0],
    )?;
    add(&names[2], RunStatus::Completed)?;
    let answer = pick_sweep(&ctx, &answered, dir.path(), spec)?;
    let Action::AskSweep(ask) = answer else {
        panic!("{answer:?}")
    };
    assert!(
        ask.resume
            .as_ref()
            .is_err_and(|e| e.ends_with("is complete: its 3 runs completed, nothing to resume")),
        "{:?}",
        ask.resume
    );
    Ok(())
}

/// A run being checked when the dashboard closes is waited for, and what became of it is said
/// after the screen: a `q` typed while the other run's --init file was being hashed neither
/// loses the run nor hides its refusal.
#[test]
fn a_run_being_started_when_the_dashboard_closes_is_waited_for() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, answered) = runtime(dir.path())?;
    ctx.perform(super::app::Effect::Spawn {
        args: ["resnet18", "--like", "9"].map(String::from).to_vec(),
        label: "resnet18".into(),
        form: None,
    });
    let said = ctx.finish_starts(&answered);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("the run was not started: no run '9' in lab"),
        "{said:?}"
    );
    assert!(ctx.starts.borrow().is_empty());
    Ok(())
}

/// A collector stopped on a bug: the title says the screen no longer updates for as long as
/// it is open, after the status has gone.
#[test]
fn a_stopped_collector_is_said_in_the_title_for_good() -> Result<()> {
    let mut app = app();
    app.update(Action::Data(Update::Stopped(
        "reading the lab stopped on a bug".into(),
    )));
    app.update(Action::Tick(NOW + 60.0));
    assert_eq!(app.status, None);
    let text = screen(&app, 120, 24)?.to_string();
    let title = text.lines().next().unwrap_or_default();
    assert!(title.contains("not updating: quit and reopen"), "{title}");
    Ok(())
}

/// A bug that panics while a run is started is told in the status line, with where it
/// happened when the dashboard's hook saw it (the hook itself is process-wide, so it is not
/// installed here).
#[test]
fn a_panic_while_starting_a_run_is_told_as_an_error() {
    let answer = super::answer_of(|| panic!("index out of bounds"));
    let Action::Status(text, true) = answer else {
        panic!("{answer:?}")
    };
    assert!(
        text.starts_with("starting the run failed on a bug")
            && text.ends_with(": index out of bounds"),
        "{text}"
    );
    // What the dashboard's hook keeps of a panic in `caught`.
    super::PANICKED_AT.set(Some("src/tui/mod.rs:1:1".into()));
    let answer = super::answer_of(|| panic!("boom"));
    assert!(
        matches!(&answer, Action::Status(t, true) if t.ends_with(": boom (at src/tui/mod.rs:1:1)")),
        "{answer:?}"
    );
    let fine = super::answer_of(|| Action::Status("started".into(), false));
    assert!(matches!(fine, Action::Status(t, false) if t == "started"));
}

/// `a` signals a sweep only while it is still the run's parent: a pid that is no sweep of the
/// run (ended, or reused since) is refused, and nothing is signalled.
#[test]
fn a_sweep_that_no_longer_runs_the_run_is_not_stopped() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, _answered) = runtime(dir.path())?;
    // This process plays the run (it has the lab open); a pid no process has is no sweep of
    // it (and were the check gone, signalling it would harm nothing).
    let me = i64::from(std::process::id());
    let gone = i64::from(i32::MAX);
    let said = ctx.perform(super::app::Effect::InterruptSweep {
        run: RunId(1),
        pid: me,
        sweep: gone,
    });
    let Some(Action::Status(text, true)) = said else {
        panic!("{said:?}")
    };
    assert!(
        text.contains(&format!("pid {gone} is no longer the sweep that runs it")),
        "{text}"
    );
    Ok(())
}

/// `e` lists the experiments beside the lab as well as those in the working directory.
#[test]
fn experiment_files_are_found_beside_the_lab_too() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let beside = dir.path().join("experiments");
    std::fs::create_dir(&beside)?;
    for f in ["b.toml", "a.toml", "notes.md"] {
        std::fs::write(beside.join(f), "")?;
    }
    let dirs = super::experiment_dirs(&dir.path().join("lab.db"));
    assert_eq!(
        dirs,
        [std::path::PathBuf::from("experiments"), beside.clone()]
    );
    let files = super::experiment_files(&dirs[1..]);
    assert_eq!(files, [beside.join("a.toml"), beside.join("b.toml")]);
    // A lab in the working directory: its experiments/ is listed once.
    assert_eq!(
        super::experiment_dirs(std::path::Path::new("lab.db")).len(),
        1
    );
    Ok(())
}

/// The start form says where the settings it does not give come from: `run`'s defaults (a
/// constant 1e-4, raw embeddings, no augmentation), which its semihard P×K short run does not
/// make a recipe of; or, with --like, the other run.
#[test]
fn snapshot_the_start_form_says_where_its_other_settings_come_from() -> Result<()> {
    let mut app = app();
    let mut form = super::start_form::StartForm::new("synthetic");
    app.overlay = Some(Overlay::StartForm(form.clone()));
    insta::assert_snapshot!("start_form_100x30", screen(&app, 100, 30)?);
    let text = screen(&app, 100, 30)?.to_string();
    assert!(
        text.contains("settings not given here: `run`'s defaults,"),
        "{text}"
    );
    assert!(
        text.contains("lr 1e-4 constant · margin 0.2 · crop 1 · seed 0"),
        "{text}"
    );
    assert!(
        text.contains("no --normalize (raw embeddings) · no --augment"),
        "{text}"
    );
    let last = form.fields.len() - 1;
    // More flags change what it says of the rest.
    form.fields[last].1 = "--lr 5e-4 --normalize --seed 3 --lr-schedule cosine".into();
    assert_eq!(
        form.rest(),
        [
            "settings not in the fields: more flags', then `run`'s defaults,",
            "lr 5e-4 cosine · margin 0.2 · crop 1 · seed 3",
            "--normalize · no --augment"
        ]
    );
    form.fields[last].1 = "--seed 2 --like=41".into();
    assert_eq!(
        form.rest(),
        ["settings not given here: run 41's (--like 41)"]
    );
    form.fields[last].1 = "--like r18-base".into();
    assert_eq!(
        form.rest(),
        ["settings not given here: run r18-base's (--like r18-base)"]
    );
    Ok(())
}

/// `e` says what each file starts beside its name, as `sweep` and `run --config` read it: a
/// sweep's runs (the repository's seed table is six runs of 100 epochs at 224 px), a run's
/// model and epochs (`run`'s defaults where the file sets none), or that it does not read.
#[test]
fn the_experiment_picker_says_what_each_file_starts() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let run = dir.path().join("short.toml");
    std::fs::write(&run, "model = \"alexnet\"\nepochs = 3\n")?;
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, "lr = 5e-4\n")?;
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "model = \n")?;
    // One epoch reads as one: `1 epochs` reads as a typo.
    let one = dir.path().join("one.toml");
    std::fs::write(&one, "model = \"alexnet\"\nepochs = 1\nimage_size = 64\n")?;
    assert_eq!(
        super::experiment_summary(&one),
        "run: alexnet · 1 epoch · 64 px"
    );
    let seed_table = std::path::Path::new("experiments/seed-table.toml");
    assert_eq!(
        super::experiment_summary(seed_table),
        "sweep: 6 runs · resnet18, alexnet, resnet152 · 100 epochs"
    );
    assert_eq!(
        super::experiment_summary(&run),
        "run: alexnet · 3 epochs · 224 px"
    );
    assert_eq!(
        super::experiment_summary(&bare),
        "run: resnet18 · 100 epochs · 224 px"
    );
    assert_eq!(
        super::experiment_summary(&broken),
        "run config that does not read: Enter says why"
    );
    let mut app = app();
    app.update(Action::Experiments(
        [seed_table, run.as_path()]
            .map(|f| super::app::Experiment {
                file: f.to_path_buf(),
                summary: super::experiment_summary(f),
            })
            .to_vec(),
    ));
    let text = screen(&app, 160, 30)?.to_string();
    assert!(text.contains("experiments/seed-table.toml"), "{text}");
    assert!(
        text.contains("sweep: 6 runs · resnet18, alexnet, resnet152 · 100 epochs"),
        "{text}"
    );
    assert!(text.contains("run: alexnet · 3 epochs · 224 px"), "{text}");
    Ok(())
}

/// A constant learning rate of 1e-4 is drawn at 1e-4, between labels that show its scale, not
/// on the floor of an axis up to 0.5.
#[test]
fn a_flat_line_gets_an_axis_around_its_value() {
    let text = chart_of((1..=20).map(|i| (i, 1e-4)), false);
    let lines: Vec<&str> = text.lines().collect();
    let label = |l: &str| {
        l.trim_start_matches('│')
            .split('│')
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    };
    assert_eq!(label(lines[1]), "1.1e-4", "{text}");
    assert_eq!(label(lines[10]), "9.0e-5", "{text}");
    // The line is drawn midway, not on the bottom row.
    let drawn: Vec<usize> = (1..=10).filter(|&i| lines[i].contains('⣀')).collect();
    assert_eq!(drawn, [5], "{text}");
}

/// An empty chart says whether data may yet come: a finished run's never will.
#[test]
fn an_empty_chart_of_a_finished_run_says_not_recorded() {
    let finished = chart_of_run(std::iter::empty(), true, false);
    assert!(finished.contains("not recorded"), "{finished}");
    assert!(!finished.contains("no data yet"), "{finished}");
    let training = chart_of_run(std::iter::empty(), true, true);
    assert!(training.contains("no data yet"), "{training}");
}

/// A run or sweep the dashboard started that ends badly is told, with the error its log ends
/// with: one refused before the lab recorded it (its data missing) leaves no row to say so. One
/// that finished, or was asked to stop, is not.
#[test]
fn a_started_run_that_fails_or_is_killed_is_told() -> Result<()> {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("run.log");
    std::fs::write(
        &log,
        "loading\nerror: an earlier one\nerror: --data '/x/lfw' does not exist\n",
    )?;
    let who = "the run started as pid 42";
    let told = |raw: i32| super::ended_badly(who, true, ExitStatus::from_raw(raw), &log);
    assert_eq!(told(0), None, "finished");
    assert_eq!(told(130 << 8), None, "asked to stop");
    // Those are said too, as news, not errors.
    let well = |raw: i32| super::ended_well(who, ExitStatus::from_raw(raw));
    assert_eq!(
        well(0).as_deref(),
        Some("the run started as pid 42 finished")
    );
    assert_eq!(
        well(130 << 8).as_deref(),
        Some("the run started as pid 42 stopped before its end; it can be resumed")
    );
    assert_eq!(well(1 << 8), None);
    assert_eq!(
        told(1 << 8).as_deref(),
        Some(
            format!(
                "the run started as pid 42 failed (exit status 1): --data '/x/lfw' does not \
                 exist; log: {}",
                log.display()
            )
            .as_str()
        )
    );
    assert_eq!(
        told(9).as_deref(),
        Some(
            format!(
                "the run started as pid 42 was killed (signal 9) before it could close its run, \
                 now crashed; log: {}",
                log.display()
            )
            .as_str()
        )
    );
    // Without a log, how it ended is still said.
    let gone = super::ended_badly(
        "the sweep started as pid 7",
        false,
        ExitStatus::from_raw(2 << 8),
        &dir.path().join("no"),
    );
    let killed = super::ended_badly(
        "the sweep started as pid 7",
        false,
        ExitStatus::from_raw(9),
        &log,
    );
    assert!(killed.is_some_and(|k| k
        .starts_with("the sweep started as pid 7 was killed (signal 9); its runs stop as asked")),);
    assert!(
        gone.is_some_and(
            |g| g.starts_with("the sweep started as pid 7 failed (exit status 2); log: ")
        ),
    );

    // The process is watched to its end, and its pid and status told.
    let (tx, rx) = std::sync::mpsc::channel();
    let child = std::process::Command::new("sh")
        .args(["-c", "exit 3"])
        .spawn()?;
    let pid = child.id();
    super::watch(child, log.clone(), move |p, status, l| {
        let _ = tx.send((p, status.code(), l.to_path_buf()));
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30))?,
        (pid, Some(3), log)
    );

    // The run a process trained is named by its id: the last one it recorded on this host.
    let db = dir.path().join("lab.db");
    let lab = Lab::open(&db)?;
    let mut new = crate::lab::fixtures::new_run("r");
    new.hostname = crate::lab::this_host();
    let id = lab.create_run(&new)?;
    lab.mark_running(id, 10, 4242)?;
    assert_eq!(super::trained_by(&db, 4242), Some(id));
    assert_eq!(super::trained_by(&db, 4243), None);
    Ok(())
}

/// A stopped run in the lab of `ctx`, as a trainer leaves it: `status`, `steps` steps in, with
/// checkpoints of `kinds`, its settings `cfg`.
fn stopped_run(
    ctx: &super::Runtime,
    cfg: &crate::train::config::TrainConfig,
    steps: i64,
    kinds: &[&str],
) -> Result<RunId> {
    let mut new = crate::lab::fixtures::sample_run("stopped");
    new.config_json = serde_json::to_string(cfg)?;
    new.hyper.init = cfg.init.clone();
    new.hyper.init_sha256 = cfg.init_sha256.clone();
    let id = ctx.writer.create_run(&new)?;
    ctx.writer.conn().execute(
        "UPDATE runs SET status = 'failed', last_iteration = ?2 WHERE id = ?1",
        rusqlite::params![id.0, steps],
    )?;
    for (i, kind) in kinds.iter().enumerate() {
        ctx.writer.add_checkpoint(&crate::lab::NewCheckpoint {
            run: id,
            iteration: 10 * (i as i64 + 1),
            epoch: 1,
            kind: kind.to_string(),
            path: format!("checkpoints/run-{id}/{kind}-{i}.safetensors"),
            sha256: format!("{i:064}"),
        })?;
    }
    Ok(id)
}

/// `C` on a run with no checkpoint to resume from asks before anything starts: the trainer
/// would start it over from step 0 and drop the steps and checkpoints it recorded. Only `y`
/// starts it over; a run with a checkpoint to resume from is not asked about.
#[test]
fn resuming_a_run_with_no_checkpoint_to_resume_from_asks_first() -> Result<()> {
    use super::app::Effect;
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, answered) = runtime(dir.path())?;
    let cfg = crate::train::config::TrainConfig {
        data: "synthetic:6:10".into(),
        ..Default::default()
    };
    let id = stopped_run(&ctx, &cfg, 136, &["best"])?;
    let said = ctx.perform(Effect::Resume {
        run: id,
        label: "stopped".into(),
        start_over: false,
    });
    assert!(matches!(&said, Some(Action::Status(_, false))), "{said:?}");
    let answer = answered.recv_timeout(Duration::from_secs(60))?;
    let Event::Answer(Action::AskStartOver(ask)) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(
        ask.question(),
        format!(
            "run #{id} has no checkpoint to resume from (its 1 best checkpoint cannot be resumed \
             from): start it over from step 0, dropping its 136 steps and 1 checkpoint?"
        )
    );
    assert!(!dir.path().join("logs").exists(), "nothing was started");

    let mut app = App::new(NOW, "testhost");
    app.update(Action::AskStartOver(ask.clone()));
    assert!(matches!(app.overlay, Some(Overlay::ConfirmStartOver(_))));
    let text = screen(&app, 120, 35)?.to_string();
    for said in ["136 steps and 1 checkpoint?", "y start it over from step 0"] {
        assert!(text.contains(said), "{said}:\n{text}");
    }
    // Enter (as to open a run) is no answer; n leaves the run as it is.
    assert_eq!(app.update(Action::Submit), vec![]);
    assert!(app.overlay.is_some());
    assert_eq!(app.update(Action::Input('n')), vec![]);
    assert_eq!(app.overlay, None);
    app.update(Action::AskStartOver(ask));
    assert_eq!(
        app.update(Action::Input('y')),
        vec![Effect::Resume {
            run: id,
            label: "stopped".into(),
            start_over: true
        }]
    );

    // A run that stopped before its first step loses nothing: not asked about. Nor one with a
    // checkpoint to resume from.
    let fresh = stopped_run(&ctx, &cfg, 0, &[])?;
    assert_eq!(super::check_resume(&ctx.db, fresh)?, None);
    let resumable = stopped_run(&ctx, &cfg, 136, &["best", "periodic"])?;
    assert_eq!(super::check_resume(&ctx.db, resumable)?, None);
    let none = stopped_run(&ctx, &cfg, 42, &[])?;
    let ask = super::check_resume(&ctx.db, none)?.expect("asked");
    assert!(
        ask.question().contains(
            "(it stopped before writing one): start it over from step 0, dropping its 42 steps?"
        ),
        "{}",
        ask.question()
    );
    Ok(())
}

/// Compare's chart of a constant learning rate, smoothing on, is a flat line on an axis around
/// it: the rate is drawn as set (a schedule is not smoothed), not as the average's rounding
/// blown up into spikes between two labels that both read 1.0e-4.
#[test]
fn a_constant_learning_rate_is_drawn_flat_with_smoothing_on() -> Result<()> {
    let mut app = app();
    app.update(Action::SortBy(super::filter::Column::Id));
    app.update(Action::Top);
    app.update(Action::ToggleMark);
    app.update(Action::ToggleMark);
    app.update(Action::Compare);
    for id in [1, 2] {
        let lr = (1..=300).map(|i| point(i, 1e-4)).collect();
        app.update(Action::Data(Update::SeriesLoaded {
            run: RunId(id),
            series: BTreeMap::from([(metric::LR.to_string(), lr)]),
        }));
    }
    while super::app::COMPARE_METRICS[app.compare_metric] != metric::LR {
        app.update(Action::CycleCompareMetric);
    }
    assert!(app.smoothing);
    let text = screen(&app, 120, 35)?.to_string();
    assert!(text.contains("smoothing off for a schedule"), "{text}");
    assert!(
        text.contains("1.1e-4") && text.contains("9.0e-5"),
        "an axis around the rate\n{text}"
    );
    // One row of the plot holds the line.
    let drawn = text
        .lines()
        .filter(|l| l.contains('⠤') || l.contains('⣀') || l.contains('⠉') || l.contains('⠒'))
        .count();
    assert_eq!(drawn, 1, "{text}");
    Ok(())
}

/// `C` on a run that cannot resume here is refused before anything starts, with the trainer's
/// reason, as R refuses a run like it: its device not in this build, its images gone, or the
/// --init file it would start over from gone. A checkpoint to resume from needs no --init.
#[test]
fn a_run_that_cannot_resume_here_is_refused_before_it_starts() -> Result<()> {
    use crate::train::config::{DeviceChoice, TrainConfig};
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, answered) = runtime(dir.path())?;
    let refused = |cfg: &TrainConfig, kinds: &[&str]| -> Result<String> {
        let id = stopped_run(&ctx, cfg, 136, kinds)?;
        match super::check_resume(&ctx.db, id) {
            Ok(ask) => anyhow::bail!("not refused: {ask:?}"),
            Err(e) => Ok(format!("{e:#}")),
        }
    };
    let here = TrainConfig {
        data: "synthetic:6:10".into(),
        ..Default::default()
    };
    if !cfg!(feature = "cuda") {
        let cuda = TrainConfig {
            device: DeviceChoice::Cuda,
            ..here.clone()
        };
        let said = refused(&cuda, &["periodic"])?;
        // The device's message names the flag as it likes (`--device cuda`, or `cuda or gpu`).
        assert!(
            said.starts_with("run #1 was not resumed: --device cuda")
                && said.contains(": this facenet-lab was built without CUDA"),
            "{said}"
        );
        // Through C's effect: said on the status line, and nothing started.
        ctx.perform(super::app::Effect::Resume {
            run: RunId(1),
            label: "stopped".into(),
            start_over: false,
        });
        let answer = answered.recv_timeout(Duration::from_secs(60))?;
        assert!(
            matches!(&answer, Event::Answer(Action::Status(text, true)) if *text == said),
            "{answer:?}"
        );
        let tf32 = TrainConfig {
            tf32: true,
            ..here.clone()
        };
        let said = refused(&tf32, &["periodic"])?;
        assert!(
            said.starts_with(
                "run #2 was not resumed: it multiplied its matrices in TF32: --tf32 is for \
                 CUDA's tensor cores, and this facenet-lab was built without CUDA"
            ),
            "{said}"
        );
    }
    let gone = TrainConfig {
        data: "/no/such/lfw".into(),
        ..here.clone()
    };
    let said = refused(&gone, &["periodic"])?;
    assert!(
        said.contains("the run's images were at '/no/such/lfw', which does not exist here"),
        "{said}"
    );
    let init = dir.path().join("final.safetensors");
    let from_init = TrainConfig {
        init: Some(init.display().to_string()),
        init_sha256: Some("ab".repeat(32)),
        ..here.clone()
    };
    let said = refused(&from_init, &["best"])?;
    assert!(
        said.contains("which it reads again to start over")
            && said.ends_with(&format!("--init '{}': no such file", init.display())),
        "{said}"
    );
    let id = stopped_run(&ctx, &from_init, 136, &["periodic"])?;
    assert_eq!(super::check_resume(&ctx.db, id)?, None);
    assert!(!dir.path().join("logs").exists(), "nothing was started");
    Ok(())
}

/// A run whose --init file is gone is refused before it starts, with the trainer's words: one
/// like a run that recorded no sha256 for its file (R), and one given --init anew (the form's
/// more flags), where both started and failed in their logs.
#[test]
fn a_run_from_an_init_file_that_is_gone_is_not_started() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, answered) = runtime(dir.path())?;
    let gone = dir.path().join("run-51").join("final.safetensors");
    let cfg = crate::train::config::TrainConfig {
        data: "synthetic:6:10".into(),
        init: Some(gone.display().to_string()),
        ..Default::default()
    };
    let like = stopped_run(&ctx, &cfg, 136, &[])?;
    let gone = gone.display().to_string();
    for args in [
        vec!["resnet18".to_string(), "--like".into(), like.to_string()],
        ["resnet18", "--data", "synthetic:6:10", "--init", &gone]
            .map(String::from)
            .to_vec(),
    ] {
        ctx.perform(super::app::Effect::Spawn {
            args: args.clone(),
            label: "resnet18".into(),
            form: None,
        });
        let answer = answered.recv_timeout(Duration::from_secs(60))?;
        let said = format!("the run was not started: --init '{gone}': no such file");
        assert!(
            matches!(&answer, Event::Answer(Action::Status(text, true)) if *text == said),
            "{args:?}: {answer:?}"
        );
    }
    assert!(!dir.path().join("logs").exists(), "nothing was started");
    Ok(())
}

/// A run started from the form or `R` logs under the name it will record, as `run` names it:
/// `--name` typed into more flags, where its log was named after the model whatever the run
/// was called (`…-resnet18.log` for a run named `best-recipe-64px-crop0.5-from-run-62-s2`);
/// else `run`'s default name from the settings, a `--like` run's with the other run's own. A
/// sweep or a resume has no new name to give: its label names its log.
#[test]
fn a_started_runs_log_is_named_after_the_name_it_records() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, _answered) = runtime(dir.path())?;
    let name_of = |args: Vec<String>| -> Result<Option<String>> {
        let command: Vec<String> = std::iter::once("run".to_string()).chain(args).collect();
        super::check_run(&ctx.db, &command)
    };
    // The start form: --name in more flags, among others.
    let mut form = super::start_form::StartForm::new("synthetic:6:10");
    let last = form.fields.len() - 1;
    form.fields[last].1 = "--seed 2 --name best-recipe-64px-crop0.5-from-run-62-s2".into();
    let name = name_of(form.args().map_err(anyhow::Error::msg)?)?;
    assert_eq!(
        name.as_deref(),
        Some("best-recipe-64px-crop0.5-from-run-62-s2")
    );
    let log = crate::lab::logs::log_path(&ctx.db, name.as_deref().unwrap_or_default(), NOW);
    let file = log.file_name().unwrap_or_default().to_string_lossy();
    // (A `.` in a file name reads as an extension: the log spells it `_`.)
    assert!(
        file.ends_with("-best-recipe-64px-crop0_5-from-run-62-s2.log"),
        "{file}"
    );
    // No --name: the name `run` makes of the settings, its seed included.
    form.fields[last].1 = "--seed 2".into();
    let name = name_of(form.args().map_err(anyhow::Error::msg)?)?;
    assert_eq!(name.as_deref(), Some("resnet18-b32-d128-semihard-s2"));
    // R: like another run, whose own name is not taken.
    let cfg = crate::train::config::TrainConfig {
        data: "synthetic:6:10".into(),
        name: Some("stopped".into()),
        ..Default::default()
    };
    let like = stopped_run(&ctx, &cfg, 136, &[])?;
    let recorded = Lab::open_read_only(&ctx.db)?.find_run(&like.to_string())?;
    let mut form = super::start_form::StartForm::like(&recorded);
    form.fields[last].1 = format!("--like {like} --name again --seed 1");
    let name = name_of(form.args().map_err(anyhow::Error::msg)?)?;
    assert_eq!(name.as_deref(), Some("again"));
    form.fields[last].1 = format!("--like {like} --seed 1");
    let name = name_of(form.args().map_err(anyhow::Error::msg)?)?;
    assert_eq!(name.as_deref(), Some("resnet18-b32-d128-all-s1"));
    // An experiment file's name, as `run --config` records it.
    let file = dir.path().join("named.toml");
    std::fs::write(
        &file,
        "model = \"resnet18\"\ndata = \"synthetic:6:10\"\nname = \"from-the-file\"\n",
    )?;
    let name = name_of(vec!["--config".into(), file.display().to_string()])?;
    assert_eq!(name.as_deref(), Some("from-the-file"));
    // A resume keeps its run's name and log label.
    let name = name_of(["--resume", &like.to_string()].map(String::from).to_vec())?;
    assert_eq!(name, None);
    assert!(!dir.path().join("logs").exists(), "nothing was started");
    Ok(())
}

/// An experiment file's TOML error is shown line by line: the caret under the word it points
/// at, where the footer ran its lines together (`|3 | batchh = 16  | ^^^^^^unknown field`).
#[test]
fn a_toml_error_keeps_its_caret_under_the_word() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (ctx, _requests, answered) = runtime(dir.path())?;
    let file = dir.path().join("typo.toml");
    let typo = "model = \"resnet18\"\ndata = \"synthetic:6:10\"\nbatchh = 16\n";
    let answer = pick_experiment(&ctx, &answered, &file, typo, "run")?;
    let Action::Status(text, true) = answer else {
        panic!("{answer:?}")
    };
    let mut app = app();
    app.update(Action::Status(text, true));
    let shown = screen(&app, 120, 35)?.to_string();
    let rows: Vec<&str> = shown.lines().map(|l| l.trim_matches('"')).collect();
    let at = |needle: &str| rows.iter().position(|l| l.starts_with(needle));
    let word = at("3 | batchh = 16").expect(&shown);
    assert_eq!(at("  | ^^^^^^"), Some(word + 1), "{shown}");
    assert!(
        rows[word + 2].starts_with("unknown field `batchh`"),
        "{shown}"
    );
    Ok(())
}

/// Cells that fill their columns stay apart: the runs' CPUs, whose words have spaces of their
/// own, do not read as one (`-,AMD EPYC · 2 threads · avx512f AMD EPYC · 2 threads · avx512f`).
#[test]
fn compare_cells_that_fill_their_columns_stay_apart() -> Result<()> {
    let mut app = App::new(NOW, "testhost");
    let mut runs = vec![run(1, "a", "resnet18"), run(2, "b", "alexnet")];
    runs[1].machine.cpu_model = Some("AMD EPYC".into());
    app.update(Action::Data(Update::Runs(runs)));
    app.update(Action::ToggleMark);
    app.update(Action::ToggleMark);
    app.update(Action::Compare);
    let text = screen(&app, 120, 35)?.to_string();
    let row = text
        .lines()
        .find(|l| l.contains("│cpu "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains("avx2+fma  Test CPU") || row.contains("avx2+fma  AMD EPYC"),
        "{row}"
    );
    Ok(())
}

/// A chart keeps its legend where its box would hide a curve, or has no room: on the chart's
/// bottom border, where it hides nothing. Two constant rates run along the plot's top and
/// bottom through every corner; compare at 80x24 has no room for a box.
#[test]
fn a_legend_goes_on_the_border_where_no_corner_is_free() -> Result<()> {
    use super::series::{Line, Series, Timeline, XAxis};
    use super::ui::{ChartView, Curve};
    use ratatui::style::Color;
    let r = run(1, "a", "resnet18");
    let curve = |name: &str, color: Color, v: f64| Curve {
        name: name.into(),
        color,
        line: Line::build(
            &r,
            Timeline::default(),
            &Series::new((1..=300).map(|i| point(i, v)).collect()),
            XAxis::Iteration,
            None,
            60,
        ),
    };
    let curves = [
        curve("#1 lr-1e-4", Color::Yellow, 1e-4),
        curve("#2 lr-5e-4", Color::Cyan, 5e-4),
    ];
    let mut buf = Buffer::empty(Rect::new(0, 0, 60, 14));
    ChartView {
        title: "lr",
        curves: &curves,
        axis: XAxis::Iteration,
        share: false,
        live: false,
        x_span: None,
    }
    .render(buf.area, &mut buf);
    let text = buffer_text(&buf);
    let rows: Vec<&str> = text.lines().collect();
    let legend: Vec<usize> = (0..rows.len())
        .filter(|&y| rows[y].contains("━ #1"))
        .collect();
    assert_eq!(legend, [rows.len() - 1], "on the border only\n{text}");
    assert!(
        rows[rows.len() - 1].contains("━ #1 lr-1e-4  ━ #2 lr-5e-4"),
        "{text}"
    );

    let mut app = app();
    app.update(Action::SortBy(super::filter::Column::Id));
    app.update(Action::Top);
    app.update(Action::ToggleMark);
    app.update(Action::ToggleMark);
    let fx = app.update(Action::Compare);
    feed_watched(&mut app, fx);
    let text = screen(&app, 80, 24)?.to_string();
    assert!(
        text.lines()
            .any(|l| l.contains('└') && l.contains("━ #1") && l.contains("━ #2")),
        "{text}"
    );
    Ok(())
}

/// The lab's runs with runs 1, 3 and 4 on LFW and 2 and 5 on generated faces, as the collector
/// names them.
fn on_two_datasets() -> App {
    use super::datasets::{Dataset, Datasets};
    let mut runs = lab_runs();
    for r in &mut runs {
        let id = if matches!(r.id.0, 2 | 5) { 2 } else { 1 };
        r.dataset_id = Some(crate::lab::DatasetId(id));
    }
    let named = |name: &str, source: &str| Dataset {
        name: name.into(),
        source: source.into(),
    };
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(runs)));
    app.update(Action::Data(Update::Datasets(Datasets::from([
        (1, named("lfw-20-30", "/data/lfw-20-30")),
        (2, named("synthetic:12:24:0", "synthetic:12:24:0")),
    ]))));
    app
}

/// The line of the screen `text` that holds run `id`'s row (`│ 2 ` or `│✓2 `).
fn row_of(text: &str, id: i64) -> String {
    text.lines()
        .find(|l| {
            l.split_once('│').is_some_and(|(_, row)| {
                row.trim_start_matches(['✓', ' '])
                    .starts_with(&format!("{id} "))
            })
        })
        .unwrap_or_default()
        .to_string()
}

/// Where the runs trained on more than one dataset, the table says which each had, right
/// after the results: sorted by best dev, a dev accuracy on 12 generated people reads as one,
/// not as a rival of those on LFW. Where they have more than one seed, it says each run's, after
/// the learning rate, as `runs` does. Neither where the runs share it.
#[test]
fn the_table_says_each_runs_dataset_and_seed_where_they_differ() -> Result<()> {
    use super::filter::Column;
    let mut app = on_two_datasets();
    let titles = |app: &App, width: u16| -> Vec<&'static str> {
        RunsTable::columns_on_screen(width, app)
            .iter()
            .map(|c| c.title())
            .collect()
    };
    let wide = titles(&app, 200);
    let after = |before: &str| wide.iter().position(|t| *t == before).map(|i| wide[i + 1]);
    assert_eq!(after("input"), Some("data"), "{wide:?}");
    assert_eq!(after("lr"), Some("seed"), "{wide:?}");
    app.update(Action::SortBy(Column::BestDev));
    assert!(titles(&app, 80).contains(&"data"), "{:?}", titles(&app, 80));
    let text = screen(&app, 160, 12)?.to_string();
    assert!(row_of(&text, 2).contains(" synthetic:12:24:0 "), "{text}");
    assert!(row_of(&text, 1).contains(" lfw-20-30 "), "{text}");
    assert!(row_of(&text, 5).contains(" 8 "), "run 5's seed\n{text}");
    // A long seed is shown whole: cut to four digits it would read as another.
    let mut runs = app.runs.clone();
    runs[0].hyper.seed = 3_133_700;
    app.update(Action::Data(Update::Runs(runs)));
    let text = screen(&app, 160, 12)?.to_string();
    assert!(text.contains(" 3133700 "), "{text}");
    // One dataset and one seed: no column says so.
    let mut runs = app.runs.clone();
    for r in &mut runs {
        r.dataset_id = Some(crate::lab::DatasetId(1));
        r.hyper.seed = 7;
    }
    app.update(Action::Data(Update::Runs(runs)));
    let wide = titles(&app, 200);
    assert!(
        !wide.contains(&"data") && !wide.contains(&"seed"),
        "{wide:?}"
    );
    Ok(())
}

/// The cells of `buf`'s row holding `name` (a compare table's row), from the first after it:
/// each value with whether it is bold.
fn compare_row(buf: &Buffer, name: &str) -> Vec<(String, bool)> {
    use ratatui::style::Modifier;
    let text = buffer_text(buf);
    let Some(y) = text.lines().position(|l| l.contains(&format!("│{name} "))) else {
        return Vec::new();
    };
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut word = String::new();
    let mut bold = false;
    let start = 1 + name.chars().count() as u16;
    for x in start..buf.area.width.saturating_sub(1) {
        let cell = &buf[(x, y as u16)];
        if cell.symbol() == " " {
            if !word.is_empty() {
                out.push((std::mem::take(&mut word), bold));
            }
            continue;
        }
        bold = cell.modifier.contains(Modifier::BOLD);
        word.push_str(cell.symbol());
    }
    out
}

/// Compare names each run's dataset as `runs` does, and where they differ says that their
/// accuracies are on different dev sets; each metric row's best value is in bold, but not an
/// accuracy or loss on another dataset's images.
#[test]
fn compare_names_the_datasets_and_marks_the_best_values() -> Result<()> {
    let mut app = on_two_datasets();
    for id in [1, 2, 3] {
        app.marked.insert(RunId(id));
    }
    app.update(Action::Compare);
    let draw = |app: &App| -> Result<Buffer> {
        let mut t = Terminal::new(TestBackend::new(120, 40))?;
        t.draw(|f| f.render_widget(app, f.area()))?;
        Ok(t.backend().buffer().clone())
    };
    let buf = draw(&app)?;
    let text = buffer_text(&buf);
    assert!(
        text.contains("⚠ different datasets: accuracies on different dev sets, not comparable"),
        "{text}"
    );
    let words = |row: &[(String, bool)]| row.iter().map(|(w, _)| w.clone()).collect::<Vec<_>>();
    assert_eq!(
        words(&compare_row(&buf, "dataset")),
        ["lfw-20-30", "synthetic:12:24:0", "lfw-20-30"],
        "{text}"
    );
    // Best dev 0.412, 0.287, 0.305: on two datasets, none is the best.
    let best_dev = compare_row(&buf, "best dev");
    assert_eq!(words(&best_dev), ["0.412", "0.287", "0.305"], "{text}");
    assert!(best_dev.iter().all(|(_, bold)| !bold), "{best_dev:?}");
    // Runs 1 and 3, both on LFW: the higher best dev and the lower loss are bold.
    app.marked.remove(&RunId(2));
    let buf = draw(&app)?;
    let text = buffer_text(&buf);
    assert!(!text.contains("different datasets"), "{text}");
    assert_eq!(
        compare_row(&buf, "best dev"),
        [("0.412".to_string(), true), ("0.305".to_string(), false)],
        "{text}"
    );
    assert_eq!(
        compare_row(&buf, "last loss"),
        [("0.0500".to_string(), true), ("0.0871".to_string(), false)],
        "{text}"
    );
    Ok(())
}

/// What deleting run 2 of [`lab_runs`] takes away, as the lab would plan it.
fn plan_of_run2() -> crate::lab::DeletionPlan {
    crate::lab::DeletionPlan {
        runs: vec![crate::lab::RunDeletion {
            run: lab_runs().swap_remove(1),
            status: RunStatus::Completed,
            metric_points: 212,
            checkpoints: 1,
            evaluations: 0,
            checkpoint_files: vec![crate::lab::PlannedFile {
                path: "/lab/checkpoints/run-2/best-it19.safetensors".into(),
                shown: "checkpoints/run-2/best-it19.safetensors".into(),
                bytes: 45_200_000,
            }],
            logs: vec![crate::lab::PlannedFile {
                path: "/lab/logs/20261128-071300-alex-b64-hard.log".into(),
                shown: "logs/20261128-071300-alex-b64-hard.log".into(),
                bytes: 4_000,
            }],
            missing_files: 0,
            kept: Vec::new(),
            liked_by: Vec::new(),
        }],
        problems: Vec::new(),
    }
}

/// `D` asks before deleting, with what goes as `lab delete` says it, and the footer gives the
/// question's keys; the help lists `D`.
#[test]
fn snapshot_the_question_before_a_run_is_deleted() -> Result<()> {
    let mut app = app();
    app.update(Action::AskDelete(plan_of_run2()));
    assert!(matches!(app.overlay, Some(Overlay::ConfirmDelete(_))));
    insta::assert_snapshot!("delete_confirm_100x30", screen(&app, 100, 30)?);
    let text = screen(&app, 100, 30)?.to_string();
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.contains("y delete · any other key keeps it")),
        "{text}"
    );
    app.update(Action::Cancel);
    app.update(Action::Help);
    let help = screen(&app, 100, 30)?.to_string();
    assert!(
        help.contains("X C D · n · t  stop · resume · delete a run (each asks) · note · tags"),
        "{help}"
    );
    Ok(())
}

/// `D` through the dashboard's runtime over a real lab: a run still training is refused on the
/// status line and stays; on another, any key but `y` keeps it, and `y` deletes it (rows and
/// files) and takes it off the table at once, out of its detail too.
#[test]
fn d_deletes_the_highlighted_run_once_y_answers_and_refuses_a_live_one() -> Result<()> {
    use super::app::Effect;
    let dir = tempfile::tempdir()?;
    let (ctx, requests, _answered) = runtime(dir.path())?;
    let lab = &ctx.writer;
    let mut elsewhere = crate::lab::fixtures::new_run("training");
    elsewhere.hostname = "gpu-box".into();
    let training = lab.create_run(&elsewhere)?;
    lab.mark_running(training, 10, 1)?;
    let typo = lab.create_run(&crate::lab::fixtures::new_run("typo"))?;
    lab.finish_run(typo, RunStatus::Failed, Some("a typo"))?;
    let file = lab.brought_dir(typo).join("best.safetensors");
    std::fs::create_dir_all(lab.brought_dir(typo))?;
    std::fs::write(&file, vec![1u8; 2000])?;
    lab.add_checkpoint(&crate::lab::fixtures::new_checkpoint(
        typo,
        "best",
        3,
        format!("checkpoints/run-{typo}/best.safetensors"),
        "0".repeat(64),
    ))?;
    let mut app = App::new(NOW, "testhost");
    app.update(Action::Data(Update::Runs(lab.list_runs()?)));
    // Newest first: the typo, then the run training.
    assert_eq!(app.selected_run().map(|r| r.id), Some(typo));

    ctx.handle(&mut app, vec![key('j'), key('D')], 120);
    assert_eq!(app.overlay, None);
    let status = app.status.clone().expect("said");
    assert!(status.error, "{status:?}");
    assert_eq!(
        status.text,
        format!(
            "nothing was deleted: run {training} (training) is running on host 'gpu-box': stop \
             it first (Ctrl-C where it trains, or X in the dashboard)"
        )
    );
    assert!(lab.run(training)?.is_some());

    // Enter, q or any other key but y keeps it.
    for other in [
        super::Event::Key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Enter,
        )),
        key('q'),
        key('n'),
    ] {
        ctx.handle(&mut app, vec![key('k'), key('D')], 120);
        assert!(
            matches!(&app.overlay, Some(Overlay::ConfirmDelete(p)) if p.ids() == [typo]),
            "{:?}",
            app.overlay
        );
        ctx.handle(&mut app, vec![other], 120);
        assert!(!app.quit && app.overlay.is_none());
        assert_eq!(
            app.status.as_ref().map(|s| s.text.clone()),
            Some(format!("run #{typo} not deleted: nothing changed"))
        );
        assert!(lab.run(typo)?.is_some() && file.is_file());
    }

    // From its detail: y deletes it, and the table comes back without it.
    ctx.handle(&mut app, vec![key('k')], 120);
    app.update(Action::Open);
    assert_eq!(app.screen, Screen::Detail(typo));
    ctx.handle(&mut app, vec![key('D')], 120);
    while requests.try_recv().is_ok() {}
    ctx.handle(&mut app, vec![key('y')], 120);
    assert!(lab.run(typo)?.is_none());
    assert!(!file.exists() && !lab.brought_dir(typo).exists());
    assert_eq!(app.screen, Screen::Runs);
    assert_eq!(
        app.runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        [training]
    );
    let status = app.status.clone().expect("said");
    assert_eq!(
        (status.text.as_str(), status.error),
        (
            "deleted run 2 (typo): 0 metric points, 1 checkpoint (2.00 kB) removed",
            false
        )
    );
    assert!(
        requests.try_iter().any(|r| r == Request::Wake),
        "the collector reads the lab again"
    );
    // In compare, D names the run it cannot tell.
    app.update(Action::ToggleMark);
    app.update(Action::Compare);
    assert_eq!(app.update(Action::DeleteRun), Vec::<Effect>::new());
    assert!(app
        .status
        .as_ref()
        .is_some_and(|s| s.text.starts_with("n, t, R, X, C and D act on one run")));
    Ok(())
}
