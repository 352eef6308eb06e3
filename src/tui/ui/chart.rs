//! Line charts of a run's (or several runs') metrics against the chosen x axis.

use super::*;
use crate::tui::text::{columns, ellipsize_apart};

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
    /// A run drawn is queued or training, so an empty chart may yet fill.
    pub live: bool,
    /// The x range of the charts drawn beside this one, so that their axes line up (the
    /// accuracy, evaluated at each epoch's end, starts later than the per-step curves).
    pub x_span: Option<[f64; 2]>,
}

/// The x range that spans all of `curves`.
pub fn x_span<'a>(curves: impl IntoIterator<Item = &'a Curve>) -> Option<[f64; 2]> {
    curves
        .into_iter()
        .filter_map(|c| c.line.bounds())
        .map(|b| [b[0], b[1]])
        .reduce(|a, b| [a[0].min(b[0]), a[1].max(b[1])])
}

/// Whether a run may still record metrics: queued or training.
pub fn is_live(run: &Run, now: f64) -> bool {
    matches!(
        run.effective_status(now),
        RunStatus::Queued | RunStatus::Running
    )
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

/// A span of values under this share of their magnitude is drawn flat ([`y_bounds`]): far
/// below what a label's digits or a row of the plot tell apart, far above float rounding.
const FLAT: f64 = 1e-6;

/// The y range drawn for values in [lo, hi]: 5% of room either side, but never below 0 for
/// values that are all non-negative (losses, distances), nor above 1 for a share.
fn y_bounds(lo: f64, hi: f64, share: bool) -> (f64, f64) {
    // A flat line gets a tenth of its value either side (a constant learning rate of 1e-4 is
    // drawn at 1e-4, not on an axis to 0.5), or ±0.5 around zero. So does a span lost in its
    // values' magnitude (float rounding, as a smoothed constant leaves): stretched over the
    // plot's height, it drew spikes between two end labels that read alike.
    let magnitude = lo.abs().max(hi.abs());
    let pad = if hi - lo > magnitude * FLAT {
        (hi - lo) * 0.05
    } else if magnitude > 0.0 {
        magnitude * 0.1
    } else {
        0.5
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
    /// The legend's entries: each name once, with its colour, cut to `width` columns where
    /// longer: a leading `#id` whole, the rest where the names part ([`ellipsize_apart`]),
    /// so that a narrow plot keeps a legend that tells its curves apart.
    fn legend_entries(&self, width: usize) -> Vec<(String, Color)> {
        let mut entries: Vec<(&str, Color)> = Vec::new();
        for c in self.curves {
            if !entries.iter().any(|(n, _)| *n == c.name) {
                entries.push((c.name.as_str(), c.color));
            }
        }
        let split: Vec<(&str, &str)> = entries
            .iter()
            .map(|(name, _)| match name.split_once(' ') {
                Some((id, rest)) if id.starts_with('#') => (id, rest),
                _ => ("", *name),
            })
            .collect();
        let rooms: Vec<(&str, usize)> = split
            .iter()
            .map(|&(id, rest)| {
                let taken = if id.is_empty() { 0 } else { columns(id) + 1 };
                (rest, width.saturating_sub(taken))
            })
            .collect();
        let cut = ellipsize_apart(&rooms);
        split
            .iter()
            .zip(cut)
            .zip(&entries)
            .map(|((&(id, rest), cut), &(name, color))| {
                let text = if columns(name) <= width {
                    name.to_string()
                } else if id.is_empty() {
                    cut
                } else if cut.is_empty() || rest.is_empty() {
                    id.to_string()
                } else {
                    format!("{id} {cut}")
                };
                (text, color)
            })
            .collect()
    }

    /// Where the legend of `entries` goes in the plotting area `graph`, with bounds
    /// `[x0, x1, y0, y1]`: the corner that hides the fewest points, and above all not the
    /// curves' ends (the newest values), with what it hides (a curve's end counts 1000). None
    /// when it would take more than half the plot.
    fn legend_area(
        &self,
        entries: &[(String, Color)],
        graph: Rect,
        [x0, x1, y0, y1]: [f64; 4],
    ) -> Option<(Rect, usize)> {
        let width = entries.iter().map(|(n, _)| columns(n)).max()? as u16 + 4;
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
        let hides = |r: &Rect| {
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
        };
        corners
            .into_iter()
            .map(|(x, y)| Rect::new(x, y, width, height))
            .map(|r| (r, hides(&r)))
            .min_by_key(|&(_, hidden)| hidden)
    }

    /// The legend as one line for the chart's bottom border, within `width` columns: each
    /// entry's swatch and name, cut as short as it takes for all to fit, None where even
    /// their ids do not. The legend of a plot with no free corner for its box, or no room.
    fn legend_line(&self, width: usize) -> Option<TextLine<'static>> {
        let longest = self.curves.iter().map(|c| columns(&c.name)).max()?;
        (1..=longest).rev().find_map(|room| {
            let entries = self.legend_entries(room);
            // ` ━ a  ━ b `: a swatch and a space each, two spaces apart, a space at each end.
            let used: usize = entries.iter().map(|(n, _)| columns(n) + 4).sum::<usize>();
            (used <= width).then(|| {
                let mut spans = vec![Span::raw(" ")];
                for (i, (name, color)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        spans.push(Span::raw("  "));
                    }
                    spans.push(Span::styled(format!("━ {name}"), Style::new().fg(color)));
                }
                spans.push(Span::raw(" "));
                TextLine::from(spans).right_aligned()
            })
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
        let Some([mut x0, mut x1, y0, y1]) = bounds else {
            let empty = if self.live {
                "no data yet"
            } else {
                "not recorded"
            };
            Paragraph::new(empty)
                .style(Style::new().fg(Color::DarkGray))
                .block(block)
                .render(area, buf);
            return;
        };
        if let Some([a, b]) = self.x_span {
            (x0, x1) = (x0.min(a), x1.max(b));
        }
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
        let ylabels = [y_label(y0, tiny), y_label(y1, tiny)];
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
        // The legend goes over the plot in a corner the data leaves free; where none is free,
        // or the plot has no room for its box, on the chart's bottom border, where it hides
        // nothing (a box over the lr chart's curve, none at all at 80x24).
        let boxed = if graph.width > 1 && graph.height > 1 {
            // Within half the plot: the box's border and swatch take 4 columns.
            let room = usize::from(graph.width / 2).saturating_sub(4);
            let entries = self.legend_entries(room);
            self.legend_area(&entries, graph, [x0, x1, y0, y1])
                .filter(|&(_, hidden)| hidden == 0)
                .map(|(r, _)| (r, entries))
        } else {
            None
        };
        let block = match &boxed {
            Some(_) => block,
            None => match self.legend_line(usize::from(area.width.saturating_sub(4))) {
                Some(line) => block.title_bottom(line),
                None => block,
            },
        };
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
        // Nothing of the curves shows through the legend's box.
        if let Some((r, entries)) = boxed {
            Clear.render(r, buf);
            let lines: Vec<TextLine> = entries
                .into_iter()
                .map(|(name, color)| {
                    TextLine::from(vec![
                        Span::styled("━ ", Style::new().fg(color)),
                        Span::styled(name, Style::new().fg(color)),
                    ])
                })
                .collect();
            Paragraph::new(lines)
                .block(Block::bordered().border_style(Style::new().fg(Color::DarkGray)))
                .render(r, buf);
        }
    }
}

/// A y axis's end label: `tiny` where the axis spans values below 0.01 (learning rates), in
/// powers of ten; a diverged run's values from 1e6 on in powers of ten too (as the tables write
/// them), not thirty digits that squeeze the plot.
fn y_label(v: f64, tiny: bool) -> String {
    if v.abs() >= 1e6 {
        format!("{v:.2e}")
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if tiny && v != 0.0 {
        format!("{v:.1e}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::{y_bounds, y_label};

    /// A constant a rounding error apart (1e-4 smoothed) gets the axis of a constant: a tenth
    /// of its value either side, labels apart, not its rounding stretched over the plot.
    #[test]
    fn a_span_lost_in_the_values_magnitude_is_drawn_flat() {
        let (lo, hi) = (1e-4, 1e-4 + 2.7e-20);
        let (y0, y1) = y_bounds(lo, hi, false);
        assert_eq!(
            (y_label(y0, true), y_label(y1, true)),
            ("9.0e-5".into(), "1.1e-4".into())
        );
        // A real change, however small against its values, keeps the axis around it.
        let (y0, y1) = y_bounds(1e-4, 1.01e-4, false);
        assert!(y0 > 0.99e-4 && y1 < 1.02e-4, "{y0} {y1}");
    }

    #[test]
    fn y_labels_stay_short_whatever_the_values() {
        assert_eq!(y_label(6.954_478_834_731_175e29, false), "6.95e29");
        assert_eq!(y_label(-2.5e6, false), "-2.50e6");
        assert_eq!(y_label(999_999.4, false), "999999");
        assert_eq!(y_label(0.4567, false), "0.457");
        assert_eq!(y_label(3e-4, true), "3.0e-4");
        assert_eq!(y_label(0.0, true), "0.000");
    }
}
