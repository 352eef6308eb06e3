//! Rendering. Everything here reads the [`App`] and draws into a buffer; nothing mutates state.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Margin, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::symbols::Marker;
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{
    Axis, Block, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Scrollbar,
    ScrollbarOrientation, ScrollbarState, StatefulWidget, Table, TableState, Widget, Wrap,
};

use super::app::{App, DetailTab, Overlay, Screen, COMPARE_METRICS};
use super::compare;
use super::filter::{Column, Filter, FIELD_NAMES};
use super::series::{smoothed, Line, XAxis};
use super::store::{short_commit, short_hash};
use super::text::{ellipsize, ellipsize_apart, flow, input_window, wrap_line};
use crate::format;
use crate::lab::{metric, Run, RunStatus};

mod chart;
mod compare_view;
mod detail;
mod overlay;
mod table;

use chart::{is_live, is_share};
pub use chart::{ChartView, Curve};
pub use compare_view::share_widths;
pub use compare_view::CompareView;
pub use detail::DetailView;
pub use overlay::help_overflow;
use overlay::OverlayView;
pub use table::RunsTable;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// One colour per compared run, in the order of the report's figures (matplotlib's tab10, as
/// near as the 256-colour palette comes): ten apart, and none white or pale, which a light
/// terminal would lose. More runs than colours reuse them.
pub const PALETTE: [Color; 10] = [
    Color::Indexed(32),  // blue
    Color::Indexed(208), // orange
    Color::Indexed(34),  // green
    Color::Indexed(160), // red
    Color::Indexed(98),  // purple
    Color::Indexed(94),  // brown
    Color::Indexed(170), // pink
    Color::Indexed(244), // grey
    Color::Indexed(142), // olive
    Color::Indexed(37),  // cyan
];
/// Above this width the detail view shows charts and run information side by side.
const WIDE: u16 = 150;

/// The title bar, the body and a `footer` of a screen `area`.
fn screen_areas(area: Rect, footer: &Footer) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(footer.height()),
    ])
    .areas(area)
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let footer = Footer::new(self, area.width);
        let [title, body, footer_area] = screen_areas(area, &footer);
        TitleBar(self).render(title, buf);
        match self.screen {
            Screen::Runs => RunsTable(self).render(body, buf),
            Screen::Detail(_) => DetailView(self).render(body, buf),
            Screen::Compare => CompareView(self).render(body, buf),
        }
        footer.render(footer_area, buf);
        if let Some(o) = &self.overlay {
            OverlayView(o, self.cursor_back).render(body, buf);
        }
    }
}

fn status_style(s: RunStatus) -> Style {
    match s {
        RunStatus::Running => Style::new().fg(Color::Green),
        RunStatus::Completed => Style::new().fg(Color::Blue),
        RunStatus::Failed | RunStatus::Crashed => Style::new().fg(Color::Red),
        RunStatus::Interrupted => Style::new().fg(Color::Yellow),
        RunStatus::Queued => Style::new().fg(Color::Gray),
    }
}

/// `⠋ running` for a live run (the marker turns with the clock), the plain status otherwise.
fn status_text(app: &App, r: &Run) -> String {
    let s = r.effective_status(app.now);
    match s {
        RunStatus::Running => {
            let frame = SPINNER[(app.frame % SPINNER.len() as u64) as usize];
            format!("{frame} running")
        }
        RunStatus::Crashed if r.status == RunStatus::Running => "✗ crashed".into(),
        _ => s.to_string(),
    }
}

pub struct TitleBar<'a>(pub &'a App);

impl Widget for TitleBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let running = app
            .runs
            .iter()
            .filter(|r| r.effective_status(app.now) == RunStatus::Running)
            .count();
        let mut spans = vec![
            Span::styled(" facenet-lab ", Style::new().bold().reversed()),
            Span::raw(format!(
                " {}",
                format::count(app.runs.len() as u64, "run", "runs")
            )),
        ];
        if app.stopped {
            spans.push(Span::styled(
                " · not updating: quit and reopen",
                Style::new().fg(Color::Red).bold(),
            ));
        }
        if running > 0 {
            spans.push(Span::styled(
                format!(" · {running} running"),
                Style::new().fg(Color::Green),
            ));
        }
        if !app.marked.is_empty() {
            spans.push(Span::raw(format!(" · {} marked", app.marked.len())));
        }
        if app.view.len() != app.runs.len() {
            spans.push(Span::raw(format!(" · {} shown", app.view.len())));
        }
        let sort = Span::raw(format!(
            " · sort: {} {}",
            app.sort.title(),
            if app.descending { "↓" } else { "↑" }
        ));
        if !app.filter.text().is_empty() {
            // The filter gives way, cut with a mark, so that the sort stays in sight.
            let used: usize = spans.iter().map(Span::width).sum::<usize>() + sort.width();
            let room = usize::from(area.width).saturating_sub(used);
            spans.push(Span::styled(
                ellipsize(&format!(" · filter: {}", app.filter.text()), room),
                Style::new().fg(Color::Yellow),
            ));
        }
        spans.push(sort);
        Paragraph::new(TextLine::from(spans)).render(area, buf);
    }
}

/// The footer's lines, built once a draw: the layout measures them and the footer draws them.
pub struct Footer(Vec<TextLine<'static>>);

/// The most lines the footer takes: an error that needs more is cut.
const FOOTER_MAX_LINES: usize = 5;

impl Footer {
    /// The footer on a screen `width` columns wide.
    pub fn new(app: &App, width: u16) -> Footer {
        Footer(Self::lines(app, width))
    }

    /// Rows it takes: at least one.
    fn height(&self) -> u16 {
        u16::try_from(self.0.len().max(1)).unwrap_or(1)
    }

    /// The footer's lines on a screen `width` columns wide: the filter being edited with
    /// what is wrong with it, a status message, or the keys of the screen.
    fn lines(app: &App, width: u16) -> Vec<TextLine<'static>> {
        let gray = Style::new().fg(Color::DarkGray);
        if app.overlay == Some(Overlay::Filter) {
            let (before, after) = input_window(
                &app.filter_input,
                app.cursor_back,
                usize::from(width.saturating_sub(1)),
            );
            let prompt = vec![
                Span::styled("/", Style::new().bold()),
                Span::raw(before),
                Span::styled("▏", Style::new().fg(Color::Yellow)),
                Span::raw(after),
            ];
            let message = if let Some(e) = &app.filter_error {
                Span::styled(e.clone(), Style::new().fg(Color::Red))
            } else if let Some(word) = Filter::pending_field(&app.filter_input) {
                Span::styled(
                    format!(
                        "'{word}' starts a field name: add = != > < >= <= and a value, or a \
                         space to search for the text · ctrl-u clear · esc cancel"
                    ),
                    gray,
                )
            } else {
                Span::styled("enter keep · ctrl-u clear · esc cancel", gray)
            };
            let used: usize = prompt.iter().map(Span::width).sum();
            let mut lines = if used + 2 + message.width() <= usize::from(width) {
                let mut one = prompt;
                one.push(Span::raw("  "));
                one.push(message);
                vec![TextLine::from(one)]
            } else {
                std::iter::once(TextLine::from(prompt))
                    .chain(wrap_line(TextLine::from(message), width, 2))
                    .collect()
            };
            lines.truncate(FOOTER_MAX_LINES);
            lines
        } else if let Some(s) = &app.status {
            let style = if s.error {
                Style::new().fg(Color::Red)
            } else {
                Style::new().fg(Color::Green)
            };
            // Line by line: a TOML error's caret under the word it points at reads only on
            // lines of its own, where run together it read `|3 | batchh = 16  | ^^^^^^unknown`.
            // Its empty gutter lines (`  |`) are left out, for the rows that say something.
            let mut lines: Vec<TextLine<'static>> = s
                .text
                .lines()
                .filter(|l| l.trim() != "|")
                .flat_map(|l| wrap_line(TextLine::styled(l.to_string(), style), width, 0))
                .collect();
            if lines.len() > FOOTER_MAX_LINES {
                // Cut, and marked so: the rest of a long error is in no other place.
                lines.truncate(FOOTER_MAX_LINES);
                let last = format!("{} …", lines[FOOTER_MAX_LINES - 1].to_string().trim_end());
                lines[FOOTER_MAX_LINES - 1] =
                    TextLine::styled(ellipsize(&last, usize::from(width)), style);
            }
            lines
        } else if let Some(keys) = app.overlay.as_ref().and_then(overlay_keys) {
            // The screen's keys do not reach it while a dialog is open: the dialog's do.
            vec![TextLine::styled(ellipsize(keys, usize::from(width)), gray)]
        } else {
            // What the highlighted run can do next: a training run stop, a run that stopped
            // before its end resume, a completed one start a run like it.
            let status = app.focused_run().map(|r| r.effective_status(app.now));
            let stop_or_resume = match status {
                Some(s) if s.is_resumable() => "C resume",
                Some(RunStatus::Running) => "X stop",
                _ => "R like it",
            };
            let (keys, always): (Vec<&str>, &[&str]) = match app.screen {
                // The run's own key early, where a narrow screen keeps it.
                Screen::Runs => (
                    vec![
                        "↑↓/jk move",
                        "enter detail",
                        stop_or_resume,
                        "space mark",
                        "c compare",
                        "/ filter",
                        "r run",
                        "e experiment",
                        "s/S sort",
                        "D delete",
                    ],
                    &["? help", "q quit"],
                ),
                Screen::Detail(_) => {
                    let hints = [
                        "j/k scroll",
                        "tab charts/info",
                        "s smoothing",
                        "x x-axis",
                        "n note",
                        "t tags",
                        stop_or_resume,
                        "D delete",
                    ];
                    // Scrolling is offered only where the run's record is on screen, Tab only
                    // where charts and record take turns, and the charts' keys where they are.
                    let charts = width >= WIDE || app.tab == DetailTab::Charts;
                    let shown = |hint: &&&str| match **hint {
                        "j/k scroll" => DetailView::shows_info(app, width),
                        "tab charts/info" => width < WIDE,
                        "s smoothing" | "x x-axis" => charts,
                        _ => true,
                    };
                    (
                        hints.iter().filter(shown).copied().collect(),
                        &["esc back", "? help", "q quit"],
                    )
                }
                // The table says itself when j/k scroll it: this line's height is part of
                // what decides.
                Screen::Compare => (
                    vec!["m metric", "s smoothing", "x x-axis"],
                    &["esc back", "? help", "q quit"],
                ),
            };
            // The keys that get out (help, back, quit) stay; the others go from the end.
            let mut n = keys.len();
            let text = |n: usize| {
                keys[..n]
                    .iter()
                    .chain(always)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" · ")
            };
            while n > 0 && text(n).chars().count() > usize::from(width) {
                n -= 1;
            }
            vec![TextLine::styled(text(n), gray)]
        }
    }
}

/// The keys of a dialog, for the footer while it is open.
fn overlay_keys(overlay: &Overlay) -> Option<&'static str> {
    Some(match overlay {
        Overlay::Filter => return None,
        Overlay::Help { .. } => "↑↓/jk scroll · esc or ? close · q quit",
        Overlay::ConfirmStop { sweep: Some(_), .. } => {
            "y stop this run · a stop the sweep too · n/esc keep it running"
        }
        Overlay::ConfirmStop { .. } => "y stop · n/esc keep it running",
        Overlay::ConfirmResume(_) => "y resume · n/esc leave it as it is",
        Overlay::ConfirmStartOver(_) => "y start it over from step 0 · n/esc leave it as it is",
        Overlay::ConfirmDelete(_) => "y delete · any other key keeps it",
        Overlay::EditNotes { .. } | Overlay::EditTags { .. } => {
            "enter save · esc cancel · ←→ home end move · ctrl-u clear"
        }
        Overlay::StartForm(_) => {
            "tab/↓ next field · shift-tab/↑ previous · enter start · esc cancel · ctrl-u clear"
        }
        Overlay::PickExperiment { .. } => "↑↓ choose · enter start · esc cancel",
        Overlay::ConfirmSweep(ask) if ask.resume.is_err() => {
            "n new runs beside them · esc cancel (it cannot resume: r says why)"
        }
        Overlay::ConfirmSweep(_) => "r resume the sweep · n new runs beside them · esc cancel",
    })
}

impl Widget for Footer {
    fn render(self, area: Rect, buf: &mut Buffer) {
        Paragraph::new(self.0).render(area, buf);
    }
}

/// Columns inside a bordered block `area` wide.
fn inner_width(area: Rect) -> u16 {
    area.width.saturating_sub(2)
}

/// A bordered panel of lines scrolled down by `scroll` (no further than its end), with a
/// scrollbar and a hint when there is more than it shows.
struct ScrolledPanel {
    title: &'static str,
    lines: Vec<TextLine<'static>>,
    scroll: u16,
}

impl Widget for ScrolledPanel {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let visible = usize::from(area.height.saturating_sub(2));
        let max = self.lines.len().saturating_sub(visible);
        let scroll = usize::from(self.scroll).min(max);
        let mut block = Block::bordered().title(self.title);
        if max > 0 {
            let below = max - scroll;
            let hint = match (scroll, below) {
                (_, 0) => format!(" ↑ {scroll} more · k/PgUp "),
                (0, _) => format!(" ↓ {below} more · j/PgDn "),
                _ => format!(" ↑ {scroll} · ↓ {below} more "),
            };
            block = block.title_bottom(TextLine::from(hint).right_aligned());
        }
        Paragraph::new(self.lines)
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
            .block(block)
            .render(area, buf);
        if max > 0 {
            let mut state = ScrollbarState::new(max + 1)
                .position(scroll)
                .viewport_content_length(visible);
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None)
                .render(area.inner(Margin::new(0, 1)), buf, &mut state);
        }
    }
}
