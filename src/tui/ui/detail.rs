//! One run's screen: its charts and its full record.

use super::*;

/// Seconds a running run still needs, as the training log reckons them: its steps left times
/// the wall time each step of its current span of training took, evaluations and checkpoints
/// included. The span is the time since its latest resume over the steps after the iteration
/// that resume continued from (`resumed_from`, as the resume's record says), or, for a run never
/// resumed, its time since it started over all its steps. Spans before a resume are left out:
/// they may have run on another device, and the time of steps a crash lost stays in the run's
/// duration ([`Run::duration`]) while the steps do not. Before the span's first step (or before
/// a resumed run's record of its resume comes), its steps left times a batch over its images per
/// second, which leaves the evaluations out. None when it is not running, or neither is known
/// yet.
fn eta(run: &Run, resumed_from: Option<i64>, now: f64) -> Option<f64> {
    if run.effective_status(now) != RunStatus::Running {
        return None;
    }
    let steps = (run.iters_per_epoch? * run.hyper.epochs - run.last_iteration).max(0) as f64;
    // The current span's seconds and steps so far.
    let span = match run.resumed_at {
        Some(at) => resumed_from.map(|from| (now - at, run.last_iteration - from)),
        None => run.duration(now).map(|d| (d, run.last_iteration)),
    };
    let per_step = match span {
        Some((seconds, done)) if done > 0 => seconds.max(0.0) / done as f64,
        _ => {
            let speed = run.images_per_sec.filter(|&s| s > 0.0)?;
            run.hyper.batch_size as f64 / speed
        }
    };
    Some(steps * per_step)
}

/// (metric name, legend label, colour) of one curve in a detail chart.
type CurveSpec<'a> = (&'a str, &'a str, Color);

/// Detail of one run: charts, or its full record (Tab); both side by side when wide.
pub struct DetailView<'a>(pub &'a App);

impl DetailView<'_> {
    fn curves(app: &App, run: &Run, names: &[CurveSpec], width: u16) -> Vec<Curve> {
        let buckets = usize::from(width.saturating_sub(8)) * 2;
        let empty = Default::default();
        let series = app.series.get(&run.id).unwrap_or(&empty);
        names
            .iter()
            .filter_map(|(metric, label, color)| {
                series.get(*metric).map(|s| Curve {
                    name: label.to_string(),
                    color: *color,
                    line: Line::build(
                        run,
                        app.timeline(run),
                        s,
                        app.x_axis,
                        app.smoothing_weight().filter(|_| smoothed(metric)),
                        buckets,
                    ),
                })
            })
            .collect()
    }

    fn charts(app: &App, run: &Run, area: Rect, buf: &mut Buffer) {
        let [top, bottom] =
            Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
        let [tl, tr] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(top);
        let [bl, br] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(bottom);
        let charts: [(&str, &[CurveSpec], Rect); 4] = [
            (
                "accuracy",
                &[
                    (metric::TRAIN_ACC, "train", Color::Cyan),
                    (metric::DEV_ACC, "dev", Color::Yellow),
                ],
                tl,
            ),
            (
                "train loss",
                &[(metric::TRAIN_LOSS, "loss", Color::Magenta)],
                tr,
            ),
            (
                "active triplets",
                &[(metric::ACTIVE_TRIPLETS, "active", Color::Green)],
                bl,
            ),
            (
                "distances",
                &[
                    (metric::DIST_AP, "a–p", Color::Cyan),
                    (metric::DIST_AN, "a–n", Color::LightRed),
                ],
                br,
            ),
        ];
        let drawn: Vec<_> = charts
            .into_iter()
            .map(|(title, names, rect)| {
                (
                    title,
                    names,
                    rect,
                    Self::curves(app, run, names, rect.width),
                )
            })
            .collect();
        // One x range for the four, so that a step reads at the same column in each.
        let span = super::chart::x_span(drawn.iter().flat_map(|d| &d.3));
        for (title, names, rect, curves) in drawn {
            ChartView {
                title,
                curves: &curves,
                axis: app.x_axis,
                share: names.iter().all(|(m, _, _)| is_share(m)),
                live: is_live(run, app.now),
                x_span: span,
            }
            .render(rect, buf);
        }
    }

    /// The record's panels in `area`: the config, the run's facts, and its log tail (empty
    /// when there is no log).
    fn info_areas(app: &App, run: &Run, area: Rect) -> [Rect; 3] {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                .areas(area);
        let log_height = if app.logs.contains_key(&run.id) {
            right.height / 3
        } else {
            0
        };
        let [meta, log] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(log_height)]).areas(right);
        [left, meta, log]
    }

    /// The config as pretty JSON, wrapped to `width`, without its note and tags: those are
    /// what the run was started with, which `n` and `t` change since; the record beside it shows
    /// them as they are.
    fn config_lines(run: &Run, width: u16) -> Vec<TextLine<'static>> {
        let config = serde_json::from_str::<serde_json::Value>(&run.config_json)
            .and_then(|mut v| {
                if let Some(map) = v.as_object_mut() {
                    map.remove("note");
                    map.remove("tags");
                }
                serde_json::to_string_pretty(&v)
            })
            .unwrap_or_else(|_| run.config_json.clone());
        config
            .lines()
            .flat_map(|l| {
                let indent = l.len() - l.trim_start().len() + 2;
                wrap_line(TextLine::raw(l.to_string()), width, indent)
            })
            .collect()
    }

    /// The run's facts, one per line, wrapped to `width` under their value column.
    fn meta_lines(app: &App, run: &Run, width: u16) -> Vec<TextLine<'static>> {
        const KEY: usize = 12;
        let key = |k: &str| Span::styled(format!("{k:<KEY$}"), Style::new().fg(Color::DarkGray));
        let mut lines = vec![
            TextLine::from(vec![
                key("code"),
                Span::raw(format!(
                    "{} (v{})",
                    short_commit(&run.code),
                    run.code.crate_version
                )),
            ]),
            TextLine::from(vec![
                key("host"),
                Span::raw(format!(
                    "{} · {} · {}",
                    run.hostname,
                    run.device,
                    run.gpu_name.as_deref().unwrap_or("no gpu")
                )),
            ]),
            TextLine::from(vec![key("time"), Span::raw(time_line(run, app.now))]),
            TextLine::from(vec![key("command"), Span::raw(run.command_line.clone())]),
            TextLine::from(vec![
                key("pid · log"),
                Span::raw(format!(
                    "{} · {}",
                    pid_text(run, app.now),
                    run.log_path.as_deref().unwrap_or("-")
                )),
            ]),
        ];
        if let Some(like) = run.like_run {
            let name = app
                .run(like)
                .map_or(String::new(), |r| format!(" {}", r.name));
            lines.push(TextLine::from(vec![
                key("like"),
                Span::raw(format!("run #{like}{name}: started with its settings")),
            ]));
        }
        let details = app.details.get(&run.id);
        let origins = details
            .map(|d| d.started_from.as_slice())
            .unwrap_or_default();
        if !origins.is_empty() {
            lines.push(TextLine::from(vec![
                key("init"),
                Span::raw(origins[0].clone()),
            ]));
            for o in &origins[1..] {
                lines.push(TextLine::raw(format!("  ← {o}")));
            }
        }
        let resumes = details.map(|d| d.resumes.as_slice()).unwrap_or_default();
        if !resumes.is_empty() {
            lines.push(TextLine::from(vec![
                key("resumed"),
                Span::raw(crate::format::count(resumes.len() as u64, "time", "times")),
            ]));
            for r in resumes {
                lines.push(TextLine::raw(format!("  {r}")));
            }
        }
        if let Some(e) = &run.error {
            let red = Style::new().fg(Color::Red);
            let gray = Style::new().fg(Color::DarkGray);
            let (message, frames) = split_backtrace(e);
            // Line by line, as it was written: the message's lines, then the backtrace that a
            // run with RUST_BACKTRACE set records after it, apart from it (its last frames
            // under the message read as the error).
            let mut said = message.iter();
            lines.push(TextLine::from(vec![
                key("error"),
                Span::styled(said.next().copied().unwrap_or_default().to_string(), red),
            ]));
            lines.extend(said.map(|l| TextLine::styled(format!("  {l}"), red)));
            if !frames.is_empty() {
                // Frames without a symbol (`  7: <unknown>`) say nothing: counted, not listed.
                let unnamed = |l: &&str| {
                    l.trim()
                        .split_once(": ")
                        .is_some_and(|(n, f)| f == "<unknown>" && n.parse::<u32>().is_ok())
                };
                let (named, blind): (Vec<&str>, Vec<&str>) =
                    frames.iter().partition(|l| !unnamed(l));
                let count = frames.iter().filter(|l| is_frame(l)).count();
                let mut about = format::count(count as u64, "frame", "frames");
                if !blind.is_empty() {
                    about.push_str(&format!(", {} without symbols", blind.len()));
                }
                lines.push(TextLine::from(vec![
                    key("backtrace"),
                    Span::styled(about, gray),
                ]));
                lines.extend(
                    named
                        .iter()
                        .map(|l| TextLine::styled(format!("  {l}"), gray)),
                );
            }
        }
        lines.push(TextLine::from(vec![
            key("notes"),
            Span::raw(run.notes.clone()),
        ]));
        lines.push(TextLine::from(vec![
            key("tags"),
            Span::raw(run.tags.join(", ")),
        ]));
        let dataset = details.and_then(|d| d.dataset.clone());
        lines.push(TextLine::from(vec![
            key("dataset"),
            Span::raw(dataset.unwrap_or_else(|| "-".into())),
        ]));
        for s in details.map(|d| d.splits.as_slice()).unwrap_or_default() {
            lines.push(TextLine::from(vec![
                key(&format!("  {}", s.name)),
                Span::raw(format!("{} images · {}", s.n_images, short_hash(&s.hash))),
            ]));
        }
        let cks = details
            .map(|d| d.checkpoints.as_slice())
            .unwrap_or_default();
        // A long run can keep one checkpoint per epoch: the newest few say enough.
        const CHECKPOINTS_SHOWN: usize = 6;
        lines.push(TextLine::from(vec![
            key("checkpoints"),
            Span::raw(match cks.len() {
                0 => "none".into(),
                n if n > CHECKPOINTS_SHOWN => format!("{n} (newest {CHECKPOINTS_SHOWN} shown)"),
                n => n.to_string(),
            }),
        ]));
        for c in cks.iter().rev().take(CHECKPOINTS_SHOWN) {
            lines.push(TextLine::raw(format!(
                "  ep {} it {} {} {} {}",
                c.epoch,
                c.iteration,
                c.kind,
                short_hash(&c.sha256),
                c.path
            )));
        }
        let evals = details
            .map(|d| d.evaluations.as_slice())
            .unwrap_or_default();
        if !evals.is_empty() {
            lines.push(TextLine::from(vec![
                key("evaluations"),
                Span::raw(format!("{}, newest first", evals.len())),
            ]));
            for e in evals.iter().rev() {
                lines.push(TextLine::raw(format!("  {e}")));
            }
        }
        // The machine last: the least read.
        let unknown = || "not recorded".to_string();
        lines.push(TextLine::from(vec![
            key("cpu"),
            Span::raw(run.machine.cpu().unwrap_or_else(unknown)),
        ]));
        lines.push(TextLine::from(vec![
            key("cache · os"),
            Span::raw(run.machine.system().unwrap_or_else(unknown)),
        ]));
        lines
            .into_iter()
            .flat_map(|l| {
                let indent = if l.spans.len() > 1 { KEY } else { 4 };
                wrap_line(l, width, indent)
            })
            .collect()
    }

    /// How far the record's panels in `area` can scroll: the most any of them overflows.
    fn info_max_scroll(app: &App, run: &Run, area: Rect) -> u16 {
        let [config, meta, _] = Self::info_areas(app, run, area);
        let over = |lines: usize, panel: Rect| {
            lines.saturating_sub(usize::from(panel.height.saturating_sub(2)))
        };
        let config_over = over(Self::config_lines(run, inner_width(config)).len(), config);
        let meta_over = over(Self::meta_lines(app, run, inner_width(meta)).len(), meta);
        u16::try_from(config_over.max(meta_over)).unwrap_or(u16::MAX)
    }

    fn info(app: &App, run: &Run, area: Rect, buf: &mut Buffer) {
        let [config, meta, log_area] = Self::info_areas(app, run, area);
        let scroll = app.info_scroll;
        ScrolledPanel {
            title: " config ",
            lines: Self::config_lines(run, inner_width(config)),
            scroll,
        }
        .render(config, buf);
        ScrolledPanel {
            title: " run ",
            lines: Self::meta_lines(app, run, inner_width(meta)),
            scroll,
        }
        .render(meta, buf);
        if let Some(text) = app.logs.get(&run.id) {
            // Its last lines, wrapped where the panel is narrower (an error's cause is at the
            // end of a long line): the newest stays in sight.
            let inner = log_area.height.saturating_sub(2) as usize;
            let width = log_area.width.saturating_sub(2);
            let lines: Vec<TextLine<'static>> = text
                .lines()
                .flat_map(|l| wrap_line(TextLine::raw(l.to_string()), width, 2))
                .collect();
            let start = lines.len().saturating_sub(inner);
            Paragraph::new(lines[start..].to_vec())
                .block(Block::bordered().title(" log (tail) "))
                .render(log_area, buf);
        }
    }

    /// The header over the run's charts or record, `width` columns wide: what the run is and how
    /// far it got, then how the charts draw it, flowed onto as many rows as that takes (up to
    /// three; two at 80 columns unless the name is long).
    fn header_lines(app: &App, run: &Run, width: u16) -> Vec<TextLine<'static>> {
        let gray = Style::new().fg(Color::DarkGray);
        let ipe = run
            .iters_per_epoch
            .map_or(String::new(), |n| format!(" ({n}/epoch)"));
        let best_epoch = run
            .best_dev_epoch
            .map_or(String::new(), |e| format!(" (ep {e})"));
        // TensorBoard's way of naming it: the EMA's weight.
        let smoothing = app
            .smoothing_weight()
            .map_or("off".to_string(), |w| w.to_string());
        let mut items = vec![
            Span::styled(format!("#{} {}", run.id, run.name), Style::new().bold()),
            Span::raw(run.hyper.model.clone()),
            Span::styled(
                status_text(app, run),
                status_style(run.effective_status(app.now)),
            ),
            Span::raw(format!(
                "epoch {}/{} ({})",
                run.epochs_done(),
                run.hyper.epochs,
                match run.stopped_early() {
                    Some(_) => "stopped early by its --patience".to_string(),
                    None => format!("{:.0}%", run.progress() * 100.0),
                }
            )),
            Span::raw(format!("it {}{ipe}", run.last_iteration)),
            Span::raw(format!("loss {}", Column::LastLoss.text(run, app.now))),
            Span::raw(format!(
                "best dev {}{best_epoch}",
                format::opt(run.best_dev_acc, 3)
            )),
        ];
        // What `eval` measured of its best checkpoint, where it did.
        for (name, value) in [("test", run.test_acc), ("lfw", run.lfw_acc)] {
            if let Some(v) = value {
                // As the results table marks a View 2 score measured on a grayscale copy.
                let gray = if name == "lfw" && run.lfw_grayscale {
                    " (gray)"
                } else {
                    ""
                };
                items.push(Span::raw(format!("{name} {v:.3}{gray}")));
            }
        }
        items.push(Span::raw(format!(
            "{} img/s",
            format::opt(run.images_per_sec, 0)
        )));
        let resumed_from = app.details.get(&run.id).and_then(|d| d.resumed_from);
        if let Some(eta) = eta(run, resumed_from, app.now) {
            items.push(Span::raw(format!("ETA ~{}", format::duration(eta))));
        }
        items.extend([
            Span::styled(format!("x: {}", app.x_axis.label()), gray),
            Span::styled(format!("smoothing {smoothing}"), gray),
        ]);
        flow(items, width, 3)
    }

    /// Where the run's charts and its record go in the detail view's `area`: the `header`'s
    /// rows, then the charts and the record, either of which may be off screen (the other tab).
    fn areas(app: &App, area: Rect, header: &[TextLine]) -> (Rect, Option<Rect>, Option<Rect>) {
        let rows = u16::try_from(header.len()).unwrap_or(u16::MAX);
        let [head, body] =
            Layout::vertical([Constraint::Length(rows), Constraint::Fill(1)]).areas(area);
        if area.width >= WIDE {
            let [l, r] =
                Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                    .areas(body);
            (head, Some(l), Some(r))
        } else {
            match app.tab {
                DetailTab::Charts => (head, Some(body), None),
                DetailTab::Info => (head, None, Some(body)),
            }
        }
    }

    /// Whether a terminal `width` columns wide shows the run's record (and so the scroll keys
    /// scroll it).
    pub fn shows_info(app: &App, width: u16) -> bool {
        matches!(app.screen, Screen::Detail(_)) && (width >= WIDE || app.tab == DetailTab::Info)
    }

    /// How far the record can scroll on the app's screen, and one page of it; None when the
    /// record is not on screen.
    pub fn info_scroll_limits(app: &App) -> Option<(u16, u16)> {
        let Screen::Detail(id) = app.screen else {
            return None;
        };
        let run = app.run(id)?;
        let [_, body, _] = screen_areas(app.size, &Footer::new(app, app.size.width));
        let header = Self::header_lines(app, run, body.width);
        let (_, _, info) = Self::areas(app, body, &header);
        let info = info?;
        let [_, meta, _] = Self::info_areas(app, run, info);
        let page = meta.height.saturating_sub(3).max(1);
        Some((Self::info_max_scroll(app, run, info), page))
    }
}

/// The run's process id: `4242` while it trains (or loads, queued: [`Run::is_live`]); `ran as
/// 4242` once it stopped, or its trainer died as it loaded, when the pid is no longer its (and
/// may be another process's).
fn pid_text(run: &Run, now: f64) -> String {
    match run.pid {
        None => "-".into(),
        Some(p) if run.is_live(now) => p.to_string(),
        Some(p) => format!("ran as {p}"),
    }
}

/// When a run started and ended and how long it trained: `started 2026-11-29 16:09 · finished
/// 2026-11-29 17:38 · trained 1h29m`; `last heard` for a run that stopped without a word.
fn time_line(run: &Run, now: f64) -> String {
    let ts = |t: Option<f64>| t.map_or("-".into(), format::timestamp);
    let end = match (run.finished_at, run.effective_status(now)) {
        (_, RunStatus::Queued) => return "not started".into(),
        (Some(t), _) => format!("finished {}", format::timestamp(t)),
        (None, RunStatus::Running) => "running".into(),
        (None, _) => format!("last heard {}", ts(run.heartbeat_at)),
    };
    let trained = run.duration(now).map_or("-".into(), format::duration);
    format!("started {} · {end} · trained {trained}", ts(run.started_at))
}

impl Widget for DetailView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let Screen::Detail(id) = app.screen else {
            return;
        };
        let Some(run) = app.run(id) else {
            Paragraph::new(format!("run #{id} is no longer in the lab")).render(area, buf);
            return;
        };
        let head_lines = Self::header_lines(app, run, area.width);
        let (head, charts, info) = Self::areas(app, area, &head_lines);
        Paragraph::new(head_lines).render(head, buf);
        if let Some(charts) = charts {
            Self::charts(app, run, charts, buf);
        }
        if let Some(info) = info {
            Self::info(app, run, info, buf);
        }
    }
}

/// Whether `line` is a backtrace frame as Rust's std writes one: `  12: name`.
fn is_frame(line: &str) -> bool {
    line.trim_start()
        .split_once(':')
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A recorded error split into its message (its lines before the first backtrace frame, less
/// the `Stack backtrace:` heading and blank lines that anyhow puts before it) and the backtrace
/// (the frames and their `at FILE:LINE` lines). anyhow numbers its causes as frames are
/// numbered, under `Caused by:` and up to a blank line: those are the message's.
fn split_backtrace(error: &str) -> (Vec<&str>, Vec<&str>) {
    let lines: Vec<&str> = error.lines().collect();
    let mut causes = false;
    let start = lines
        .iter()
        .position(|l| {
            if l.trim() == "Caused by:" {
                causes = true;
            } else if l.trim().is_empty() {
                causes = false;
            }
            !causes && is_frame(l)
        })
        .unwrap_or(lines.len());
    let mut message = lines[..start].to_vec();
    while message
        .last()
        .is_some_and(|l| l.trim().is_empty() || l.trim().eq_ignore_ascii_case("stack backtrace:"))
    {
        message.pop();
    }
    (message, lines[start..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{run, NOW};

    /// A run 400 steps into 1000 (10 epochs of 100), never resumed, that has trained 1000 s has
    /// taken 2.5 s a step, evaluations included: 600 steps left are 1500 s, whatever its images
    /// per second say (32 × 600 / 850 is 23 s). Resumed from step 100 after a first session 10
    /// times slower (on another device), it goes by its own span alone: 300 steps in 300 s are
    /// 600 s left, where the whole run's 1300 s over 400 steps would say 1950 s. Before the
    /// span's first step, or before the resume's record comes, its speed is all there is to go
    /// by; stopped, it has no ETA.
    #[test]
    fn the_eta_goes_by_the_wall_time_of_each_step_of_this_span() {
        let mut r = run(1, "live", "resnet18");
        r.status = RunStatus::Running;
        r.finished_at = None;
        r.heartbeat_at = Some(NOW - 1.0);
        r.started_at = Some(NOW - 1000.0);
        r.last_iteration = 400;
        assert_eq!(r.duration(NOW), Some(1000.0), "as the duration column says");
        assert_eq!(eta(&r, None, NOW), Some(1500.0));
        // Resumed at step 100 after 100 steps of 10 s each; 300 steps of 1 s since.
        r.started_at = Some(NOW - 20_000.0);
        r.resumed_at = Some(NOW - 300.0);
        r.prior_seconds = 1000.0;
        assert_eq!(r.duration(NOW), Some(1300.0));
        assert_eq!(eta(&r, Some(100), NOW), Some(600.0));
        // Had its first session gone on to step 300 before a crash took it back to step 100,
        // the time of the steps lost would stay in the duration: the same span, the same ETA.
        r.prior_seconds = 3000.0;
        assert_eq!(eta(&r, Some(100), NOW), Some(600.0));
        // No step since the resume, or the resume's record not come yet; never resumed and
        // before its first step: by its speed.
        for (resumed, from, done) in [(true, Some(100), 100), (true, None, 400), (false, None, 0)] {
            r.resumed_at = resumed.then_some(NOW - 300.0);
            r.prior_seconds = if resumed { 1000.0 } else { 0.0 };
            r.last_iteration = done;
            let left = (1000 - done) as f64 * 32.0 / 850.0;
            let eta = eta(&r, from, NOW).expect("an ETA");
            assert!((eta - left).abs() < 1e-9, "{from:?} at {done}: {eta}");
        }
        r.images_per_sec = None;
        assert_eq!(eta(&r, None, NOW), None);
        r.last_iteration = 400;
        r.status = RunStatus::Interrupted;
        assert_eq!(eta(&r, None, NOW), None);
    }

    /// anyhow's `Stack backtrace:` heading, and the blank line before it, are no part of the
    /// message, and its numbered causes are no frames; a frame's `at FILE:LINE` line is part
    /// of the backtrace.
    /// A pid is the run's own while it trains or its trainer loads (queued, seen there, or
    /// registered less than 30 s ago); once it stopped, or its trainer died as it loaded, it
    /// is the one it ran as.
    #[test]
    fn a_pid_is_the_runs_own_only_while_its_trainer_is() {
        use crate::lab::Process;
        let mut r = run(1, "r", "resnet18");
        r.pid = Some(42);
        assert_eq!(pid_text(&r, NOW), "ran as 42", "completed");
        (r.status, r.heartbeat_at) = (RunStatus::Running, Some(NOW - 1.0));
        assert_eq!(pid_text(&r, NOW), "42");
        r.heartbeat_at = Some(NOW - 3600.0);
        assert_eq!(pid_text(&r, NOW), "ran as 42", "crashed");
        (r.status, r.heartbeat_at, r.created_at) = (RunStatus::Queued, None, NOW - 1.0);
        assert_eq!(pid_text(&r, NOW), "42", "loading");
        r.created_at = NOW - 3600.0;
        assert_eq!(pid_text(&r, NOW), "ran as 42", "left queued long ago");
        r.process = Process::Alive;
        assert_eq!(pid_text(&r, NOW), "42", "loading, seen");
        (r.process, r.created_at) = (Process::Ended, NOW - 1.0);
        assert_eq!(pid_text(&r, NOW), "ran as 42", "its trainer seen gone");
        r.pid = None;
        assert_eq!(pid_text(&r, NOW), "-");
    }

    #[test]
    fn the_message_ends_where_the_backtrace_starts() {
        let (message, frames) = split_backtrace(
            "out of memory\n\nCaused by:\n    0: no device\n\nStack backtrace:\n   0: main\n  \
                      at src/main.rs:3:5",
        );
        assert_eq!(
            message,
            ["out of memory", "", "Caused by:", "    0: no device"]
        );
        assert_eq!(frames.len(), 2);
        let (message, frames) = split_backtrace("no such file\nwhile reading x");
        assert_eq!(message, ["no such file", "while reading x"]);
        assert!(frames.is_empty());
    }
}
