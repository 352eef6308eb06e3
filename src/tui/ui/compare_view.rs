//! The compare screen: marked runs' curves overlaid and a table of what differs.

use super::*;

/// Marked runs side by side: one metric overlaid, and a table of what differs.
pub struct CompareView<'a>(pub &'a App);

impl CompareView<'_> {
    /// The height of the table of `rows` rows in a compare screen `height` high: all of them,
    /// inside its border and under its header, within three fifths of the screen.
    fn table_height(rows: usize, height: u16) -> u16 {
        (u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(3)).min(height * 3 / 5)
    }

    /// How far the table scrolls and a page of it, where some of its rows are hidden.
    pub fn scroll_limits(app: &App) -> Option<(u16, u16)> {
        if app.screen != Screen::Compare {
            return None;
        }
        let [_, body, _] = screen_areas(app.size, &Footer::new(app, app.size.width));
        let rows = compare::table(&app.compared(), app.now, &app.datasets)
            .rows
            .len();
        let shown = usize::from(Self::table_height(rows, body.height).saturating_sub(3));
        let hidden = u16::try_from(rows.saturating_sub(shown)).unwrap_or(u16::MAX);
        (hidden > 0).then(|| (hidden, u16::try_from(shown).unwrap_or(1).max(1)))
    }
}

impl Widget for CompareView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let runs = app.compared();
        let metric = COMPARE_METRICS[app.compare_metric % COMPARE_METRICS.len()];
        let table = compare::table(&runs, app.now, &app.datasets);
        let table_height = Self::table_height(table.rows.len(), area.height);
        // Runs on different datasets are said to be, on a line of its own over the table.
        let warned = u16::from(table.warning.is_some());
        let [chart_area, warning_area, table_area] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(warned),
            Constraint::Length(table_height),
        ])
        .areas(area);
        if let Some(warning) = &table.warning {
            Paragraph::new(format!(" ⚠ {warning}"))
                .style(Style::new().fg(Color::Yellow).bold())
                .render(warning_area, buf);
        }
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
                    name: table
                        .headers
                        .get(col)
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    color: PALETTE[col % PALETTE.len()],
                    line: Line::build(
                        r,
                        app.timeline(r),
                        s,
                        app.x_axis,
                        app.smoothing_weight().filter(|_| smoothed(metric)),
                        buckets,
                    ),
                })
            })
            .collect();
        // Columns with no curve of this metric are named, not left out unsaid.
        let absent: Vec<&str> = table
            .headers
            .iter()
            .zip(&table.columns)
            .filter(|(_, members)| {
                members.iter().all(|&i| {
                    runs.get(i)
                        .and_then(|r| app.series.get(&r.id))
                        .and_then(|s| s.get(metric))
                        .is_none_or(|s| s.points.is_empty())
                })
            })
            .map(|(h, _)| h.id.as_str())
            .collect();
        let absent = match absent.as_slice() {
            [] => String::new(),
            ids => format!(" · none for {}", ids.join(" ")),
        };
        let smoothing = if !smoothed(metric) {
            "off for a schedule"
        } else if app.smoothing {
            "on"
        } else {
            "off"
        };
        let title = format!(
            "{metric} vs {}{absent} · m: next metric · smoothing {smoothing}",
            app.x_axis.label(),
        );
        ChartView {
            title: &title,
            curves: &curves,
            axis: app.x_axis,
            share: is_share(metric),
            live: runs.iter().any(|r| is_live(r, app.now)),
            x_span: None,
        }
        .render(chart_area, buf);

        // Coloured like their curves, with a swatch: the key to the chart when it has no
        // room for a legend.
        let headers: Vec<String> = table.headers.iter().map(|h| format!("━ {h}")).collect();
        // The rows' names, whole (`zero-init residual`), within 12 to 18 columns and a quarter
        // of a narrow screen.
        let longest = table
            .rows
            .iter()
            .map(|(n, _)| crate::tui::text::columns(n))
            .max();
        let names = u16::try_from(longest.unwrap_or(0))
            .unwrap_or(u16::MAX)
            .clamp(12, 18)
            .min((table_area.width / 4).max(12));
        let natural: Vec<u16> = (0..headers.len())
            .map(|i| {
                let cells = table.rows.iter().filter_map(|(_, c)| c.get(i));
                let w = cells
                    .chain(headers.get(i))
                    .map(|c| crate::tui::text::columns(c))
                    .max()
                    .unwrap_or(0);
                u16::try_from(w).unwrap_or(u16::MAX).max(6)
            })
            .collect();
        // What a column needs before anything of it is cut: its metrics and hyperparameters
        // whole (`resnet152`, `0.661±0.016`), and its swatch and id. Its name (the legend cuts
        // it apart from the id), where the runs came from (a CPU's model) and the `trained`
        // row's status (`3/10 (runn…`) are cut first.
        let needed: Vec<u16> = (0..headers.len())
            .map(|i| {
                let cells = table
                    .rows
                    .iter()
                    .filter(|(name, _)| !compare::is_provenance(name) && name != "trained")
                    .filter_map(|(_, c)| c.get(i));
                let id = table.headers.get(i).map(|h| format!("━ {}", h.id));
                let w = cells
                    .chain(id.as_ref())
                    .map(|c| crate::tui::text::columns(c))
                    .max()
                    .unwrap_or(0);
                u16::try_from(w).unwrap_or(u16::MAX).max(6).min(natural[i])
            })
            .collect();
        // Inside the border, after the names' column, one space before each column, and the
        // runs' columns [`GAP`] apart.
        let n = u16::try_from(headers.len()).unwrap_or(u16::MAX);
        let room_beside = |names: u16| {
            table_area
                .width
                .saturating_sub(2 + names)
                .saturating_sub(n)
                .saturating_sub((GAP - 1).saturating_mul(n.saturating_sub(1)))
        };
        // Short of room for the values, the names' column gives up to all but 12 of its own
        // (`zero-init res…`): a row's name is read once, a value in each column.
        let short = needed
            .iter()
            .map(|&w| u32::from(w))
            .sum::<u32>()
            .saturating_sub(u32::from(room_beside(names)));
        let names = names
            .saturating_sub(u16::try_from(short).unwrap_or(u16::MAX))
            .max(12.min(names));
        let room = room_beside(names);
        let widths = widths_within(&needed, &natural, room);
        let fit = |text: &str, i: usize| ellipsize(text, usize::from(widths[i]));
        // The labels are cut after the swatch and the run's `#id`, apart: the ids already
        // differ, so the names keep what tells the runs apart (`#7 …resnet18…`, `#8 …alexnet…`).
        let cut_labels = ellipsize_apart(
            &table
                .headers
                .iter()
                .zip(&widths)
                .map(|(h, &w)| {
                    let room = usize::from(w).saturating_sub(2 + h.id.chars().count() + 1);
                    (h.label.as_str(), room)
                })
                .collect::<Vec<_>>(),
        );
        let cut: Vec<String> = table
            .headers
            .iter()
            .zip(&cut_labels)
            .map(|(h, label)| {
                if label.is_empty() {
                    h.id.clone()
                } else {
                    format!("{} {label}", h.id)
                }
            })
            .collect();
        let header = Row::new(
            std::iter::once(Cell::from("")).chain(cut.iter().enumerate().map(|(i, h)| {
                Cell::from(format!("━ {h}")).style(Style::new().fg(PALETTE[i % PALETTE.len()]))
            })),
        )
        .style(Style::new().bold());
        // Inside the border, under the header; scrolled (j/k) no further than its last row.
        let shown = usize::from(table_height.saturating_sub(3));
        let hidden = table.rows.len().saturating_sub(shown);
        let scroll = usize::from(app.compare_scroll).min(hidden);
        // Each row's best value in bold: the highest accuracy, the lowest loss.
        let rows = table
            .rows
            .iter()
            .zip(&table.best)
            .skip(scroll)
            .map(|((name, cells), best)| {
                Row::new(
                    std::iter::once(
                        Cell::from(ellipsize(name, usize::from(names)))
                            .style(Style::new().fg(Color::DarkGray)),
                    )
                    .chain(cells.iter().enumerate().map(|(i, c)| {
                        let cell = Cell::from(fit(c, i));
                        if best.contains(&i) {
                            cell.style(Style::new().bold())
                        } else {
                            cell
                        }
                    })),
                )
            });
        // Each run's column but the last holds its cells and the blank that sets the next
        // apart; the names' column, gray, needs no more than the table's one space.
        let last = widths.len().saturating_sub(1);
        let constraints = std::iter::once(Constraint::Length(names)).chain(
            widths
                .iter()
                .enumerate()
                .map(|(i, &w)| Constraint::Length(if i < last { w + GAP - 1 } else { w })),
        );
        let mut block =
            Block::bordered().title(" best and final metrics · differing hyperparameters ");
        if hidden > 0 {
            let below = hidden - scroll;
            let said = match (scroll, below) {
                (0, _) => format!(
                    "↓ {} more: j scrolls",
                    format::count(below as u64, "row", "rows")
                ),
                (_, 0) => format!(
                    "↑ {} above: k scrolls",
                    format::count(scroll as u64, "row", "rows")
                ),
                _ => format!("↑ {scroll} above, ↓ {below} more: j/k scroll"),
            };
            block = block.title_bottom(TextLine::from(format!(" {said} ")).right_aligned());
        }
        Widget::render(
            Table::new(rows, constraints).header(header).block(block),
            table_area,
            buf,
        );
    }
}

/// The spaces between the compare table's runs' columns: two, so that a cell that fills its
/// column does not read on into the next, whose values have spaces of their own (`-,AMD EPYC ·
/// 2 threads · avx512f AMD EPYC · 2 threads · avx512f` read as one).
const GAP: u16 = 2;

/// Widths for columns that need `needed` widths and want `natural` ones, within `room`: what
/// they want when it fits; else what they need, and the rest of the room shared towards what
/// they want; else [`share_widths`] of what they need.
fn widths_within(needed: &[u16], natural: &[u16], room: u16) -> Vec<u16> {
    let need: u32 = needed.iter().map(|&w| u32::from(w)).sum();
    if need > u32::from(room) {
        return share_widths(needed, room);
    }
    let more: Vec<u16> = natural
        .iter()
        .zip(needed)
        .map(|(&w, &n)| w.saturating_sub(n))
        .collect();
    let left = u16::try_from(u32::from(room) - need).unwrap_or(u16::MAX);
    needed
        .iter()
        .zip(share_widths(&more, left))
        .map(|(&n, m)| n + m)
        .collect()
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
