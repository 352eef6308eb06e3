//! What opens over a screen: the help, the filter, the forms and the confirmations.

use super::*;

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

/// `lines` in a bordered `block` centred in the area it is drawn in, `width` wide and as tall
/// as the lines once wrapped inside it (continuation lines `indent` in): the box is measured
/// from what it draws.
struct BoxedLines {
    block: Block<'static>,
    width: u16,
    lines: Vec<TextLine<'static>>,
    indent: usize,
}

impl Widget for BoxedLines {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let inner = self.width.min(area.width).saturating_sub(2);
        let lines: Vec<TextLine> = self
            .lines
            .into_iter()
            .flat_map(|l| wrap_line(l, inner, self.indent))
            .collect();
        let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
        let r = centered(area, self.width, height);
        Clear.render(r, buf);
        Paragraph::new(lines).block(self.block).render(r, buf);
    }
}

const HELP_WIDTH: u16 = 72;

/// The help's lines, wrapped `inner` wide: the keys, then the filter's fields (from the left
/// edge, three lines at 72 columns, so that the help fits a 24-row terminal).
fn help_lines(inner: u16) -> Vec<TextLine<'static>> {
    let mut lines: Vec<TextLine<'static>> = HELP
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                TextLine::styled(*k, Style::new().bold().underlined())
            } else {
                TextLine::from(vec![
                    Span::styled(format!("{k:<15}"), Style::new().fg(Color::Cyan)),
                    Span::raw(*v),
                ])
            }
        })
        .collect();
    lines.push(TextLine::styled(
        format!("filter fields: {FIELD_NAMES}"),
        Style::new().fg(Color::DarkGray),
    ));
    lines
        .into_iter()
        .flat_map(|l| wrap_line(l, inner, 0))
        .collect()
}

/// How far the help scrolls on `app`'s screen: the lines its box cannot show.
pub fn help_overflow(app: &App) -> u16 {
    let footer = Footer::new(app, app.size.width);
    let [_, body, _] = screen_areas(app.size, &footer);
    let lines = help_lines(HELP_WIDTH.min(body.width).saturating_sub(2)).len();
    u16::try_from(lines + 2)
        .unwrap_or(u16::MAX)
        .saturating_sub(body.height)
}

pub const HELP: &[(&str, &str)] = &[
    ("runs", ""),
    ("↑↓ j k g G", "move, top, bottom (Home, End too)"),
    ("enter", "run detail"),
    ("space · u", "mark for compare and move down · unmark all"),
    ("c", "compare the marked runs"),
    (
        "/",
        "filter: words, or field=value (all of it), > < >= <= !=",
    ),
    (
        "ctrl-u · ← →",
        "clear the text typed (filter, note, tags) · move in it",
    ),
    (
        "s · S · 1-9 0",
        "next sort column · reverse · sort by nth column shown",
    ),
    (
        "r · R · e",
        "start a run: form · like this one · experiment file",
    ),
    (
        "X C D · n · t",
        "stop · resume · delete a run (each asks) · note · tags",
    ),
    ("detail, compare", ""),
    ("s", "smoothing (debiased EMA, raw line dimmed)"),
    ("x", "x axis: iteration, epoch, images, wall time"),
    ("tab · m", "a run's charts/info · compare's next metric"),
    (
        "j k PgUp PgDn",
        "scroll run info (tab), compare table, help",
    ),
    ("esc · q · ?", "back · quit · this help"),
];

/// What opens over the screen: the help, a form, a confirmation, the experiment picker.
/// An overlay, the cursor of the text it edits that many characters from its end.
pub struct OverlayView<'a>(pub &'a Overlay, pub usize);

impl Widget for OverlayView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        match self.0 {
            Overlay::Filter => {}
            Overlay::Help { scroll } => {
                let inner = HELP_WIDTH.min(area.width).saturating_sub(2);
                let lines = help_lines(inner);
                let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
                let r = centered(area, HELP_WIDTH, height);
                Clear.render(r, buf);
                // Scrolls where the terminal is too short for it, and says so.
                ScrolledPanel {
                    title: " help · esc closes ",
                    lines,
                    scroll: *scroll,
                }
                .render(r, buf);
            }
            Overlay::ConfirmStop {
                run,
                pid,
                name,
                sweep,
            } => {
                let mut lines = vec![
                    TextLine::raw(format!("Stop run #{run} {name} (pid {pid})?")),
                    TextLine::raw("It finishes its step, checkpoints and is marked interrupted."),
                ];
                match sweep {
                    Some(sweep) => lines.extend([
                        TextLine::raw(format!(
                            "Stopping only this run lets its sweep (pid {sweep}) start the next."
                        )),
                        TextLine::styled(
                            "y: this run · a: the whole sweep · n / esc: keep running",
                            Style::new().bold(),
                        ),
                    ]),
                    None => lines.push(TextLine::styled(
                        "y: stop · n / esc: keep running",
                        Style::new().bold(),
                    )),
                }
                BoxedLines {
                    block: Block::bordered().title(" stop run ").fg(Color::Yellow),
                    width: 68,
                    lines,
                    indent: 0,
                }
                .render(area, buf)
            }
            Overlay::ConfirmResume(ask) => resume_box(
                ask.run,
                [
                    ask.question(),
                    "It goes on from its latest checkpoint, as `run --resume` does; without one, you are \
                     asked before it starts over."
                        .into(),
                ],
                "y: resume · n / esc: leave it",
            )
            .render(area, buf),
            Overlay::ConfirmStartOver(ask) => resume_box(
                ask.run,
                [
                    ask.question(),
                    "It trains anew with the settings it recorded; its note and tags stay.".into(),
                ],
                "y: start it over · n / esc: leave it",
            )
            .render(area, buf),
            Overlay::ConfirmDelete(plan) => {
                let gray = Style::new().fg(Color::DarkGray);
                let mut lines: Vec<TextLine<'static>> =
                    plan.lines().into_iter().map(TextLine::raw).collect();
                lines.push(TextLine::styled(
                    "Its metrics, checkpoints, evaluations and log go; the lab keeps its name, \
                     model and status as deleted, and gives its id to no other run.",
                    gray,
                ));
                lines.push(TextLine::styled(
                    "y: delete · any other key: keep it",
                    Style::new().bold(),
                ));
                let title = match plan.ids().as_slice() {
                    [one] => format!(" delete run #{one} "),
                    ids => format!(" delete {} runs ", ids.len()),
                };
                BoxedLines {
                    block: Block::bordered().title(title).fg(Color::Red),
                    width: 76,
                    lines,
                    indent: 4,
                }
                .render(area, buf)
            }
            Overlay::ConfirmSweep(ask) => {
                // The lab's runs of it, the first few: the rest are counted.
                const LISTED: usize = 4;
                let file = ask.file.display();
                let mut lines = vec![TextLine::raw(format!(
                    "The lab has runs of {} of this sweep's {}:",
                    ask.have.len(),
                    format::count(ask.total as u64, "run", "runs")
                ))];
                lines.extend(
                    ask.have
                        .iter()
                        .take(LISTED)
                        .map(|l| TextLine::raw(format!("  {l}"))),
                );
                if ask.have.len() > LISTED {
                    lines.push(TextLine::raw(format!(
                        "  and {} more",
                        ask.have.len() - LISTED
                    )));
                }
                lines.push(match &ask.resume {
                    Ok(plan) => TextLine::raw(format!(
                        "r: resume the sweep (`sweep {file} --resume`): {plan}"
                    )),
                    Err(why) => TextLine::styled(
                        format!("r: it cannot resume: {why}"),
                        Style::new().fg(Color::Red),
                    ),
                });
                lines.push(TextLine::raw(format!(
                    "n: start {} beside them (`sweep {file}`)",
                    format::count(ask.total as u64, "new run", "new runs")
                )));
                lines.push(TextLine::styled(
                    if ask.resume.is_ok() {
                        "r: resume · n: new runs · esc: cancel"
                    } else {
                        "n: new runs · esc: cancel"
                    },
                    Style::new().bold(),
                ));
                BoxedLines {
                    block: Block::bordered()
                        .title(format!(" sweep {} ", ask.label))
                        .fg(Color::Yellow),
                    width: 76,
                    lines,
                    indent: 4,
                }
                .render(area, buf)
            }
            Overlay::EditNotes { run, input } | Overlay::EditTags { run, input } => {
                let what = if matches!(self.0, Overlay::EditNotes { .. }) {
                    "note"
                } else {
                    "tags (comma or space separated)"
                };
                let r = centered(area, 70, 3);
                Clear.render(r, buf);
                let (before, after) =
                    input_window(input, self.1, usize::from(r.width.saturating_sub(2)));
                Paragraph::new(format!("{before}▏{after}"))
                    .block(
                        Block::bordered()
                            .title(format!(" run #{run} {what} · enter saves · esc cancels ")),
                    )
                    .render(r, buf);
            }
            Overlay::StartForm(form) => {
                let mut lines: Vec<TextLine<'static>> = form
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, (k, v))| {
                        let focus = i == form.focus;
                        let label = Span::styled(
                            format!("{} {k:<11}", if focus { "▶" } else { " " }),
                            Style::new().fg(Color::Cyan),
                        );
                        // The free field says what goes in it until something does.
                        if v.is_empty() && *k == "more flags" {
                            let hint = Span::styled(
                                "e.g. --lr 5e-4 --normalize",
                                Style::new().fg(Color::DarkGray),
                            );
                            return TextLine::from(vec![
                                label,
                                hint,
                                Span::raw(if focus { "▏" } else { "" }),
                            ]);
                        }
                        if !focus {
                            return TextLine::from(vec![label, Span::raw(v.clone())]);
                        }
                        // A long value wraps, whole: the cursor sits where it is in it.
                        let (before, after) = input_window(v, self.1, usize::MAX);
                        TextLine::from(vec![
                            label,
                            Span::raw(before),
                            Span::raw("▏"),
                            Span::raw(after),
                        ])
                    })
                    .collect();
                let gray = Style::new().fg(Color::DarkGray);
                lines.extend(form.rest().into_iter().map(|l| TextLine::styled(l, gray)));
                lines.push(TextLine::styled(
                    "tab/↑↓ field · enter start · esc cancel",
                    Style::new().fg(Color::DarkGray),
                ));
                // A long value wraps under the values' column.
                BoxedLines {
                    block: Block::bordered().title(" start a run "),
                    width: 50,
                    lines,
                    indent: 14,
                }
                .render(area, buf);
            }
            Overlay::PickExperiment { files, selected } => {
                // Each file with what it starts, under the names' column.
                let names: Vec<String> =
                    files.iter().map(|f| f.file.display().to_string()).collect();
                let column = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) + 2;
                let widest = files
                    .iter()
                    .map(|f| column + f.summary.chars().count())
                    .max()
                    .unwrap_or(0);
                let width = u16::try_from(widest + 2).unwrap_or(u16::MAX).max(60);
                let r = centered(area, width, files.len().min(12) as u16 + 2);
                Clear.render(r, buf);
                let lines: Vec<TextLine> = files
                    .iter()
                    .zip(names)
                    .enumerate()
                    .map(|(i, (f, name))| {
                        let name = Span::raw(format!("{name:<column$}"));
                        let summary =
                            Span::styled(f.summary.clone(), Style::new().fg(Color::DarkGray));
                        let line = TextLine::from(vec![name, summary]);
                        if i == *selected {
                            line.style(Style::new().reversed())
                        } else {
                            line
                        }
                    })
                    .collect();
                let skip = selected.saturating_sub(r.height.saturating_sub(3) as usize);
                Paragraph::new(lines)
                    .scroll((skip as u16, 0))
                    .block(
                        Block::bordered().title(" run an experiment · enter starts · esc cancels "),
                    )
                    .render(r, buf);
            }
        }
    }
}

/// The box that asks before `C` resumes run `run` (or starts it over): the question and what it
/// does, then the keys that answer, in bold.
fn resume_box(run: crate::lab::RunId, text: [String; 2], keys: &'static str) -> BoxedLines {
    let mut lines: Vec<TextLine<'static>> = text.into_iter().map(TextLine::raw).collect();
    lines.push(TextLine::styled(keys, Style::new().bold()));
    BoxedLines {
        block: Block::bordered()
            .title(format!(" resume run #{run} "))
            .fg(Color::Yellow),
        width: 68,
        lines,
        indent: 0,
    }
}
