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
use super::series::{Line, XAxis};
use super::store::{short_commit, short_hash};
use super::text::{ellipsize, ellipsize_apart, flow, input_tail, wrap_line};
use crate::format;
use crate::lab::{metric, Run, RunStatus};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// One colour per compared run; more runs than colours reuse them.
pub const PALETTE: [Color; 8] = [
    Color::Cyan,
    Color::Magenta,
    Color::Yellow,
    Color::Green,
    Color::LightRed,
    Color::LightBlue,
    Color::White,
    Color::LightMagenta,
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
            OverlayView(self, o).render(body, buf);
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
            Span::raw(format!(" {} runs", app.runs.len())),
        ];
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
        if !app.filter.text().is_empty() {
            spans.push(Span::styled(
                format!(" · filter: {}", app.filter.text()),
                Style::new().fg(Color::Yellow),
            ));
        }
        spans.push(Span::raw(format!(
            " · sort: {} {}",
            app.sort.title(),
            if app.descending { "↓" } else { "↑" }
        )));
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
            let input = input_tail(&app.filter_input, usize::from(width.saturating_sub(1)));
            let prompt = vec![
                Span::styled("/", Style::new().bold()),
                Span::raw(input),
                Span::styled("▏", Style::new().fg(Color::Yellow)),
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
            vec![TextLine::styled(s.text.clone(), style)]
        } else {
            let (keys, always): (Vec<&str>, &[&str]) = match app.screen {
                Screen::Runs => (
                    vec![
                        "↑↓/jk move",
                        "enter detail",
                        "space mark",
                        "c compare",
                        "/ filter",
                        "s/S sort",
                        "r run",
                        "X stop",
                    ],
                    &["? help", "q quit"],
                ),
                Screen::Detail(_) => {
                    const HINTS: [&str; 7] = [
                        "j/k scroll",
                        "tab charts/info",
                        "s smoothing",
                        "x x-axis",
                        "n note",
                        "t tags",
                        "X stop",
                    ];
                    // Scrolling is offered only where the run's record is on screen, and Tab
                    // only where charts and record take turns.
                    let shown = |hint: &&&str| match **hint {
                        "j/k scroll" => DetailView::shows_info(app, width),
                        "tab charts/info" => width < WIDE,
                        _ => true,
                    };
                    (
                        HINTS.iter().filter(shown).copied().collect(),
                        &["esc back", "? help", "q quit"],
                    )
                }
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

impl Widget for Footer {
    fn render(self, area: Rect, buf: &mut Buffer) {
        Paragraph::new(self.0).render(area, buf);
    }
}

/// The runs table. Columns are dropped, least useful first, when the terminal is narrow.
pub struct RunsTable<'a>(pub &'a App);

impl RunsTable<'_> {
    /// Column widths; the name column takes what is left.
    fn width(c: Column) -> u16 {
        match c {
            // A mark and up to three digits.
            Column::Id => 4,
            Column::Name => 12,
            Column::Model => 9,
            Column::Input => 8,
            Column::Batch => 5,
            Column::Dim => 4,
            Column::Mining => 8,
            Column::Lr => 8,
            Column::Status => 11,
            Column::Progress => 7,
            Column::BestDev => 8,
            Column::Test | Column::Lfw => 5,
            Column::LastLoss => 9,
            Column::ImagesPerSec => 7,
            Column::Started => 16,
            Column::Duration => 8,
        }
    }

    /// The columns a terminal `width` wide shows, in display order: the table spans the
    /// whole width, inside its border.
    pub fn columns_on_screen(width: u16) -> Vec<Column> {
        Self::columns(width.saturating_sub(2))
    }

    /// The columns that fit in `width`, in display order.
    fn columns(width: u16) -> Vec<Column> {
        const PRIORITY: [Column; 17] = [
            Column::Id,
            Column::Name,
            Column::Status,
            Column::Progress,
            Column::BestDev,
            Column::LastLoss,
            Column::Model,
            Column::Batch,
            Column::Dim,
            // Input and lr tell apart runs that differ only in crop or learning rate.
            Column::Input,
            Column::Lr,
            Column::Mining,
            Column::ImagesPerSec,
            // What `eval` measured, where there is room: a running run has none yet.
            Column::Test,
            Column::Lfw,
            Column::Duration,
            Column::Started,
        ];
        let mut used = 0u16;
        let mut keep = Vec::new();
        for c in PRIORITY {
            let w = Self::width(c) + 1;
            if used + w <= width {
                used += w;
                keep.push(c);
            }
        }
        Column::ALL
            .into_iter()
            .filter(|c| keep.contains(c))
            .collect()
    }

    /// Run `r`'s cell in column `c`; its `name` comes cut to the name column.
    fn cell(app: &App, r: &Run, c: Column, name: &str) -> Cell<'static> {
        let text = match c {
            Column::Id => {
                let mark = if app.marked.contains(&r.id) {
                    "✓"
                } else {
                    " "
                };
                format!("{mark}{}", r.id)
            }
            Column::Name => name.to_string(),
            Column::Status => {
                return Cell::from(status_text(app, r))
                    .style(status_style(r.effective_status(app.now)))
            }
            Column::ImagesPerSec => format::opt(r.images_per_sec, 0),
            _ => c.text(r, app.now),
        };
        Cell::from(text)
    }
}

impl Widget for RunsTable<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let block = Block::bordered().title(" runs ");
        if app.runs.is_empty() {
            let msg = if app.loaded {
                format!(
                    "No runs recorded yet. Press r to start one, or run `facenet-lab{} run \
                     resnet18 --data synthetic`.",
                    app.db_flag
                )
            } else {
                "Reading the lab…".into()
            };
            Paragraph::new(msg)
                .wrap(Wrap { trim: true })
                .block(block)
                .render(area, buf);
            return;
        }
        let cols = Self::columns_on_screen(area.width);
        // The name takes what the other columns leave, inside the border, one space apart.
        let others: u16 = cols
            .iter()
            .filter(|&&c| c != Column::Name)
            .map(|&c| Self::width(c) + 1)
            .sum();
        let name_width = area
            .width
            .saturating_sub(2 + others)
            .max(Self::width(Column::Name));
        // Underlined title by title, not across the gaps: `best dev` and `last loss` read as
        // two headers.
        let header = Row::new(cols.iter().map(|&c| {
            let mut t = c.title().to_string();
            if c == app.sort {
                t.push(if app.descending { '↓' } else { '↑' });
            }
            Cell::from(TextLine::from(Span::styled(t, Style::new().underlined())))
        }))
        .style(Style::new().bold());
        let runs: Vec<&Run> = app.view.iter().filter_map(|&i| app.runs.get(i)).collect();
        let names = app.name_cuts.borrow_mut().get(
            &runs
                .iter()
                .map(|r| (r.name.as_str(), usize::from(name_width)))
                .collect::<Vec<_>>(),
        );
        let rows = runs.iter().zip(&names).map(|(r, name)| {
            let row = Row::new(cols.iter().map(|&c| Self::cell(app, r, c, name)));
            if app.marked.contains(&r.id) {
                row.style(Style::new().fg(Color::Cyan))
            } else {
                row
            }
        });
        let widths = cols.iter().map(|&c| match c {
            Column::Name => Constraint::Length(name_width),
            _ => Constraint::Length(Self::width(c)),
        });
        let table = Table::new(rows, widths)
            .header(header)
            .block(block)
            .row_highlight_style(Style::new().reversed());
        let mut state = TableState::default().with_selected(Some(app.selected));
        StatefulWidget::render(table, area, buf, &mut state);
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

/// One curve of a chart: a label, a colour and the points to draw.
pub struct Curve {
    pub name: String,
    pub color: Color,
    pub line: Line,
}

/// A line chart of curves against the app's x axis; raw lines are dimmed under smoothed ones.
pub struct ChartView<'a> {
    pub title: &'a str,
    pub curves: &'a [Curve],
    pub axis: XAxis,
    /// The values are shares (accuracies, the active triplets' fraction): the y axis stays
    /// within [0, 1].
    pub share: bool,
}

/// Whether a metric is a share of something, in [0, 1].
pub fn is_share(metric: &str) -> bool {
    [
        metric::TRAIN_ACC,
        metric::DEV_ACC,
        metric::DEV_ACC_CENTROID,
        metric::ACTIVE_TRIPLETS,
    ]
    .contains(&metric)
}

/// The y range drawn for values in [lo, hi]: 5% of room either side, but never below 0 for
/// values that are all non-negative (losses, distances), nor above 1 for a share.
fn y_bounds(lo: f64, hi: f64, share: bool) -> (f64, f64) {
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        (lo.abs() * 0.1).max(0.5)
    };
    let mut y0 = lo - pad;
    let mut y1 = hi + pad;
    // Smoothing can leave a bound a rounding error past 0 or 1.
    const SLACK: f64 = 1e-9;
    if lo >= -SLACK {
        y0 = y0.max(lo.min(0.0));
    }
    if share && hi <= 1.0 + SLACK {
        y1 = y1.min(hi.max(1.0));
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    (y0, y1)
}

impl ChartView<'_> {
    /// The legend's entries: each name once, with its colour.
    fn legend_entries(&self) -> Vec<(&str, Color)> {
        let mut entries: Vec<(&str, Color)> = Vec::new();
        for c in self.curves {
            if !entries.iter().any(|(n, _)| *n == c.name) {
                entries.push((c.name.as_str(), c.color));
            }
        }
        entries
    }

    /// Where the legend of `entries` goes in the plotting area `graph`, with bounds
    /// `[x0, x1, y0, y1]`: the corner that hides the fewest points, and above all not the
    /// curves' ends (the newest values). None when it would take more than half the plot.
    fn legend_area(
        &self,
        entries: &[(&str, Color)],
        graph: Rect,
        [x0, x1, y0, y1]: [f64; 4],
    ) -> Option<Rect> {
        let width = entries.iter().map(|(n, _)| n.chars().count()).max()? as u16 + 4;
        let height = entries.len() as u16 + 2;
        if width > graph.width / 2 || height > graph.height / 2 {
            return None;
        }
        let cell = |(x, y): (f64, f64)| {
            let fx = ((x - x0) / (x1 - x0)).clamp(0.0, 1.0);
            let fy = ((y - y0) / (y1 - y0)).clamp(0.0, 1.0);
            (
                graph.x + (fx * f64::from(graph.width - 1)).round() as u16,
                graph.y + graph.height - 1 - (fy * f64::from(graph.height - 1)).round() as u16,
            )
        };
        let right = graph.right() - width;
        let bottom = graph.bottom() - height;
        // Ties go to the first: loss and distance curves fall away from the top right.
        let corners = [
            (right, graph.y),
            (right, bottom),
            (graph.x, graph.y),
            (graph.x, bottom),
        ];
        corners
            .into_iter()
            .map(|(x, y)| Rect::new(x, y, width, height))
            .min_by_key(|r| {
                let mut hidden = 0usize;
                for c in self.curves {
                    let smooth = c.line.smooth.as_deref().unwrap_or_default();
                    for &p in c.line.raw.iter().chain(smooth) {
                        let (cx, cy) = cell(p);
                        hidden += usize::from(r.contains((cx, cy).into()));
                    }
                    // A curve's end is what is read first: hiding it costs the most.
                    if let Some(&end) = c.line.raw.last() {
                        let (cx, cy) = cell(end);
                        hidden += 1000 * usize::from(r.contains((cx, cy).into()));
                    }
                }
                hidden
            })
    }
}

impl Widget for ChartView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let block = Block::bordered().title(format!(" {} ", self.title));
        let bounds = self
            .curves
            .iter()
            .filter_map(|c| c.line.bounds())
            .reduce(|a, b| {
                [
                    a[0].min(b[0]),
                    a[1].max(b[1]),
                    a[2].min(b[2]),
                    a[3].max(b[3]),
                ]
            });
        let Some([x0, x1, y0, y1]) = bounds else {
            Paragraph::new("no data yet")
                .style(Style::new().fg(Color::DarkGray))
                .block(block)
                .render(area, buf);
            return;
        };
        let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
        let (y0, y1) = y_bounds(y0, y1, self.share);
        let mut datasets = Vec::new();
        for c in self.curves {
            let smoothed = c.line.smooth.is_some();
            let raw_style = if smoothed {
                Style::new().fg(c.color).add_modifier(Modifier::DIM)
            } else {
                Style::new().fg(c.color)
            };
            datasets.push(
                Dataset::default()
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(raw_style)
                    .data(&c.line.raw),
            );
        }
        for c in self.curves {
            if let Some(s) = &c.line.smooth {
                datasets.push(
                    Dataset::default()
                        .marker(Marker::Braille)
                        .graph_type(GraphType::Line)
                        .style(Style::new().fg(c.color).bold())
                        .data(s),
                );
            }
        }
        let xm = (x0 + x1) / 2.0;
        // A short span rounds its middle to an end's label (19, 20, 20): each label once, and
        // the two ends at least (ratatui draws no labels at all with fewer than two).
        let mut xlabels = vec![self.axis.tick(x0), self.axis.tick(xm), self.axis.tick(x1)];
        xlabels.dedup();
        if xlabels.len() < 2 {
            xlabels = vec![self.axis.tick(x0), self.axis.tick(x1)];
        }
        // Learning rates live around 1e-4: three decimals would read 0.000 to 0.001.
        let tiny = y1.abs().max(y0.abs()) < 0.01;
        let ylabel = |v: f64| {
            if v.abs() >= 100.0 {
                format!("{v:.0}")
            } else if tiny && v != 0.0 {
                format!("{v:.1e}")
            } else {
                format!("{v:.3}")
            }
        };
        let ylabels = [ylabel(y0), ylabel(y1)];
        let inner = block.inner(area);
        // The plot inside the axes: right of the y labels and their axis line, above the x
        // axis line and its labels.
        let label_width = ylabels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u16;
        let graph = Rect::new(
            inner.x + label_width + 1,
            inner.y,
            inner.width.saturating_sub(label_width + 1),
            inner.height.saturating_sub(2),
        );
        Chart::new(datasets)
            .block(block)
            .x_axis(
                Axis::default()
                    .bounds([x0, x1])
                    .style(Style::new().fg(Color::DarkGray))
                    .labels(xlabels),
            )
            .y_axis(
                Axis::default()
                    .bounds([y0, y1])
                    .style(Style::new().fg(Color::DarkGray))
                    .labels(ylabels),
            )
            .legend_position(None)
            .render(area, buf);
        // The legend is drawn over the plot, in a corner the data leaves free; nothing of the
        // curves shows through it.
        if graph.width > 1 && graph.height > 1 {
            let entries = self.legend_entries();
            if let Some(r) = self.legend_area(&entries, graph, [x0, x1, y0, y1]) {
                Clear.render(r, buf);
                let lines: Vec<TextLine> = entries
                    .into_iter()
                    .map(|(name, color)| {
                        TextLine::from(vec![
                            Span::styled("━ ", Style::new().fg(color)),
                            Span::styled(name.to_string(), Style::new().fg(color)),
                        ])
                    })
                    .collect();
                Paragraph::new(lines)
                    .block(Block::bordered().border_style(Style::new().fg(Color::DarkGray)))
                    .render(r, buf);
            }
        }
    }
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
                    line: Line::build(run, s, app.x_axis, app.smoothing_weight(), buckets),
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
        for (title, names, rect) in charts {
            let curves = Self::curves(app, run, names, rect.width);
            ChartView {
                title,
                curves: &curves,
                axis: app.x_axis,
                share: names.iter().all(|(m, _, _)| is_share(m)),
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

    /// The config as pretty JSON, wrapped to `width`.
    fn config_lines(run: &Run, width: u16) -> Vec<TextLine<'static>> {
        let config = serde_json::from_str::<serde_json::Value>(&run.config_json)
            .and_then(|v| serde_json::to_string_pretty(&v))
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
                    run.pid.map_or("-".into(), |p| p.to_string()),
                    run.log_path.as_deref().unwrap_or("-")
                )),
            ]),
        ];
        let details = app.details.get(&run.id);
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
            lines.push(TextLine::from(vec![
                key("error"),
                Span::styled(e.clone(), Style::new().fg(Color::Red)),
            ]));
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
            let inner = log_area.height.saturating_sub(2) as usize;
            let tail: Vec<&str> = text.lines().collect();
            let start = tail.len().saturating_sub(inner);
            Paragraph::new(tail[start..].join("\n"))
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
        let items = vec![
            Span::styled(format!("#{} {}", run.id, run.name), Style::new().bold()),
            Span::raw(run.hyper.model.clone()),
            Span::styled(
                status_text(app, run),
                status_style(run.effective_status(app.now)),
            ),
            Span::raw(format!(
                "epoch {}/{} ({:.0}%)",
                run.epochs_done(),
                run.hyper.epochs,
                run.progress() * 100.0
            )),
            Span::raw(format!("it {}{ipe}", run.last_iteration)),
            Span::raw(format!("loss {}", format::opt(run.last_loss, 4))),
            Span::raw(format!(
                "best dev {}{best_epoch}",
                format::opt(run.best_dev_acc, 3)
            )),
            Span::raw(format!("{} img/s", format::opt(run.images_per_sec, 0))),
            Span::styled(format!("x: {}", app.x_axis.label()), gray),
            Span::styled(format!("smoothing {smoothing}"), gray),
        ];
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

/// Marked runs side by side: one metric overlaid, and a table of what differs.
pub struct CompareView<'a>(pub &'a App);

impl Widget for CompareView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let runs = app.compared();
        let metric = COMPARE_METRICS[app.compare_metric % COMPARE_METRICS.len()];
        let table = compare::table(&runs, app.now);
        let table_height = (table.rows.len() as u16 + 3).min(area.height * 3 / 5);
        let [chart_area, table_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(table_height)]).areas(area);
        let buckets = usize::from(chart_area.width.saturating_sub(8)) * 2;
        let empty = Default::default();
        // One colour per column of the table: the runs of a seed group share theirs, and the
        // legend names the column.
        let curves: Vec<Curve> = table
            .columns
            .iter()
            .enumerate()
            .flat_map(|(col, members)| members.iter().map(move |&i| (col, i)))
            .filter_map(|(col, i)| {
                let r = runs.get(i)?;
                let s = app.series.get(&r.id).unwrap_or(&empty).get(metric)?;
                Some(Curve {
                    name: table.headers.get(col).cloned().unwrap_or_default(),
                    color: PALETTE[col % PALETTE.len()],
                    line: Line::build(r, s, app.x_axis, app.smoothing_weight(), buckets),
                })
            })
            .collect();
        let title = format!(
            "{metric} vs {} · m: next metric · smoothing {}",
            app.x_axis.label(),
            if app.smoothing { "on" } else { "off" }
        );
        ChartView {
            title: &title,
            curves: &curves,
            axis: app.x_axis,
            share: is_share(metric),
        }
        .render(chart_area, buf);

        // Coloured like their curves, with a swatch: the key to the chart when it has no
        // room for a legend.
        let headers: Vec<String> = table.headers.iter().map(|h| format!("━ {h}")).collect();
        const NAMES: u16 = 12;
        let natural: Vec<u16> = (0..headers.len())
            .map(|i| {
                let cells = table.rows.iter().filter_map(|(_, c)| c.get(i));
                let w = cells
                    .chain(headers.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0);
                u16::try_from(w).unwrap_or(u16::MAX).max(6)
            })
            .collect();
        // Inside the border, after the names' column, one space before each column.
        let room = table_area
            .width
            .saturating_sub(2 + NAMES)
            .saturating_sub(u16::try_from(headers.len()).unwrap_or(u16::MAX));
        let widths = share_widths(&natural, room);
        let fit = |text: &str, i: usize| ellipsize(text, usize::from(widths[i]));
        // Cut after the swatch, and apart: two columns never read the same.
        let cut = ellipsize_apart(
            &table
                .headers
                .iter()
                .zip(&widths)
                .map(|(h, &w)| (h.as_str(), usize::from(w).saturating_sub(2)))
                .collect::<Vec<_>>(),
        );
        let header = Row::new(
            std::iter::once(Cell::from("")).chain(cut.iter().enumerate().map(|(i, h)| {
                Cell::from(format!("━ {h}")).style(Style::new().fg(PALETTE[i % PALETTE.len()]))
            })),
        )
        .style(Style::new().bold());
        let rows = table.rows.iter().map(|(name, cells)| {
            Row::new(
                std::iter::once(Cell::from(name.clone()).style(Style::new().fg(Color::DarkGray)))
                    .chain(cells.iter().enumerate().map(|(i, c)| Cell::from(fit(c, i)))),
            )
        });
        let constraints = std::iter::once(Constraint::Length(NAMES))
            .chain(widths.iter().map(|&w| Constraint::Length(w)));
        let mut block =
            Block::bordered().title(" best and final metrics · differing hyperparameters ");
        // Inside the border, under the header.
        let hidden = table
            .rows
            .len()
            .saturating_sub(usize::from(table_height.saturating_sub(3)));
        if hidden > 0 {
            block = block.title_bottom(
                TextLine::from(format!(
                    " ↓ {} not shown: a taller terminal shows them ",
                    format::count(hidden as u64, "row", "rows")
                ))
                .right_aligned(),
            );
        }
        Widget::render(
            Table::new(rows, constraints).header(header).block(block),
            table_area,
            buf,
        );
    }
}

/// Widths for columns that want `natural` widths, within `room`: all they want when it fits,
/// else the narrow ones keep theirs and the wide ones share the rest equally.
pub fn share_widths(natural: &[u16], room: u16) -> Vec<u16> {
    let total: u32 = natural.iter().map(|&w| u32::from(w)).sum();
    if total <= u32::from(room) {
        return natural.to_vec();
    }
    let used = |cap: u16| -> u32 { natural.iter().map(|&w| u32::from(w.min(cap))).sum() };
    // The widest cap that fits: every column at most that wide.
    let mut cap = 0;
    while cap < u16::MAX && used(cap + 1) <= u32::from(room) {
        cap += 1;
    }
    let mut left = u32::from(room) - used(cap);
    natural
        .iter()
        .map(|&want| {
            let mut w = want.min(cap);
            if left > 0 && want > cap {
                w += 1;
                left -= 1;
            }
            w
        })
        .collect()
}

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
    ("/", "filter: text and field=value, > < >= <= !="),
    ("ctrl-u", "clear the text being typed (filter, note, tags)"),
    (
        "s · S · 1-9 0",
        "next sort column · reverse · sort by nth column shown",
    ),
    ("r · e", "start a run: form · experiment file"),
    ("X", "stop the run (SIGINT, asks first)"),
    ("n · t", "edit note · tags"),
    ("detail, compare", ""),
    ("s", "smoothing (debiased EMA, raw line dimmed)"),
    ("x", "x axis: iteration, epoch, images, wall time"),
    ("tab · m", "charts/info · next compared metric"),
    (
        "j k PgUp PgDn",
        "scroll the run's info (tab), and this help",
    ),
    ("esc · q · ?", "back · quit · this help"),
];

pub struct OverlayView<'a>(pub &'a App, pub &'a Overlay);

impl Widget for OverlayView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        match self.1 {
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
            Overlay::ConfirmStop { run, pid, name } => BoxedLines {
                block: Block::bordered().title(" stop run ").fg(Color::Yellow),
                width: 60,
                lines: vec![
                    TextLine::raw(format!("Stop run #{run} {name} (pid {pid})?")),
                    TextLine::raw("It finishes its step, checkpoints and is marked interrupted."),
                    TextLine::styled(
                        "y / enter: stop · n / esc: keep running",
                        Style::new().bold(),
                    ),
                ],
                indent: 0,
            }
            .render(area, buf),
            Overlay::EditNotes { run, input } | Overlay::EditTags { run, input } => {
                let what = if matches!(self.1, Overlay::EditNotes { .. }) {
                    "note"
                } else {
                    "tags (comma or space separated)"
                };
                let r = centered(area, 70, 3);
                Clear.render(r, buf);
                let visible = input_tail(input, usize::from(r.width.saturating_sub(2)));
                Paragraph::new(format!("{visible}▏"))
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
                        // The free field says what goes in it until something does.
                        let value = if v.is_empty() && *k == "more flags" {
                            Span::styled(
                                "e.g. --lr 5e-4 --normalize",
                                Style::new().fg(Color::DarkGray),
                            )
                        } else {
                            Span::raw(v.clone())
                        };
                        TextLine::from(vec![
                            Span::styled(
                                format!("{} {k:<11}", if focus { "▶" } else { " " }),
                                Style::new().fg(Color::Cyan),
                            ),
                            value,
                            Span::raw(if focus { "▏" } else { "" }),
                        ])
                    })
                    .collect();
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
                let r = centered(area, 60, files.len().min(12) as u16 + 2);
                Clear.render(r, buf);
                let lines: Vec<TextLine> = files
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let t = f.display().to_string();
                        if i == *selected {
                            TextLine::styled(t, Style::new().reversed())
                        } else {
                            TextLine::raw(t)
                        }
                    })
                    .collect();
                let skip = selected.saturating_sub(r.height.saturating_sub(3) as usize);
                Paragraph::new(lines)
                    .scroll((skip as u16, 0))
                    .block(Block::bordered().title(" run an experiment · enter starts "))
                    .render(r, buf);
            }
        }
    }
}
