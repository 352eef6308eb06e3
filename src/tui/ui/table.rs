//! The runs table, the dashboard's first screen.

use super::*;
use crate::tui::datasets::{name_of, Datasets};

/// The runs table. Columns are dropped, least useful first, when the terminal is narrow.
pub struct RunsTable<'a>(pub &'a App);

/// The widths of the columns that depend on the runs shown, and whether any has results of
/// `eval`.
#[derive(Clone, Copy)]
struct Fitted {
    input: u16,
    id: u16,
    /// The name column's width before the settings' columns past batch and dim are given room.
    name: u16,
    measured: bool,
    /// The data column's width (the longest dataset name, from 4 to [`DATA_WIDTH`]), where the
    /// runs trained on more than one dataset; 0 where they did not, and it is not shown.
    data: u16,
    /// The seed column's width (the longest seed, at least 4), where the runs have more than
    /// one seed; 0 where they do not, and it is not shown: a seed cut short reads as another.
    seeds: u16,
    /// The columns that say nothing of these runs, by their place in [`Column::ALL`]: a
    /// result none has (all `-`), or, of two runs or more, a setting they all share.
    quiet: u32,
}

/// The columns [`Fitted::quiet`] may hold: results that may be missing, settings that may be
/// shared.
const MAYBE_QUIET: [Column; 11] = [
    Column::BestDev,
    Column::Test,
    Column::Lfw,
    Column::LastLoss,
    Column::ImagesPerSec,
    Column::Model,
    Column::Input,
    Column::Batch,
    Column::Dim,
    Column::Mining,
    Column::Lr,
];

/// The widest the data column gets: `synthetic:12:24:0` whole; a longer name is cut.
const DATA_WIDTH: u16 = 17;

/// `c`'s bit in [`Fitted::quiet`].
fn bit(c: Column) -> u32 {
    Column::ALL
        .iter()
        .position(|&a| a == c)
        .map_or(0, |i| 1 << i)
}

impl RunsTable<'_> {
    /// For a table of `runs`: the input column holds `224 c0.875` and `224 inet`
    /// (ImageNet-normalised) in 10, and is wider where a run needs it (`224 c0.875 inet`), up to
    /// 16; the id column holds a mark and the longest id, in 4 at least; the name column the
    /// longest name, from 12 to 28, before the settings past batch and dim get room. The data
    /// and seed columns are there only where the runs differ in them, as in `runs`: a dev
    /// accuracy on 12 synthetic people ranks above those on LFW, and it must say so.
    fn fitted(runs: &[Run], datasets: &Datasets) -> Fitted {
        let input = runs
            .iter()
            .map(|r| Column::Input.text(r, 0.0).chars().count())
            .max()
            .map_or(10, |n| n.clamp(10, 16) as u16);
        // Ids count up from 1: the largest has the most digits.
        let id = runs
            .iter()
            .map(|r| r.id.0)
            .max()
            .map_or(4, |id| (1 + id.to_string().len()).max(4) as u16);
        let name = runs
            .iter()
            .map(|r| crate::tui::text::columns(&r.name))
            .max()
            .map_or(12, |n| n.clamp(12, 28) as u16);
        let measured = runs
            .iter()
            .any(|r| r.test_acc.is_some() || r.lfw_acc.is_some());
        let quiet = MAYBE_QUIET
            .into_iter()
            .filter(|&c| {
                let mut texts = runs.iter().map(|r| c.text(r, 0.0));
                let Some(first) = texts.next() else {
                    return false;
                };
                let setting = !matches!(
                    c,
                    Column::BestDev
                        | Column::Test
                        | Column::Lfw
                        | Column::LastLoss
                        | Column::ImagesPerSec
                );
                let same = texts.all(|t| t == first);
                same && if setting {
                    runs.len() > 1
                } else {
                    first == "-"
                }
            })
            .fold(0, |q, c| q | bit(c));
        let differ = |value: &dyn Fn(&Run) -> Option<i64>| {
            let mut values = runs.iter().map(value);
            values
                .next()
                .is_some_and(|first| values.any(|v| v != first))
        };
        let data = if differ(&|r: &Run| r.dataset_id.map(|d| d.0)) {
            runs.iter()
                .map(|r| crate::tui::text::columns(&name_of(r, datasets)))
                .max()
                .map_or(4, |n| n.clamp(4, usize::from(DATA_WIDTH)) as u16)
        } else {
            0
        };
        Fitted {
            input,
            id,
            name,
            measured,
            data,
            seeds: if differ(&|r: &Run| Some(r.hyper.seed)) {
                runs.iter()
                    .map(|r| r.hyper.seed.to_string().len())
                    .max()
                    .map_or(4, |n| n.max(4) as u16)
            } else {
                0
            },
            quiet,
        }
    }

    /// Column widths, those of the runs shown `fitted` ([`RunsTable::fitted`]); the name column
    /// takes what is left. None depends on the sort: the arrow of a title that fills its column
    /// is drawn in the gap after it.
    fn width(c: Column, fitted: Fitted) -> u16 {
        match c {
            Column::Id => fitted.id,
            Column::Name => 12,
            Column::Model => 9,
            Column::Input => fitted.input,
            Column::Batch => 5,
            Column::Dim => 4,
            Column::Mining => 8,
            Column::Lr => 8,
            Column::Seed => fitted.seeds,
            Column::Data => fitted.data.max(4),
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

    /// The columns a terminal `width` wide shows, sorted by `sort`, in display order: the
    /// table spans the whole width, inside its border.
    pub fn columns_on_screen(width: u16, app: &App) -> Vec<Column> {
        Self::on_screen(width, Self::fitted(&app.runs, &app.datasets), app.sort)
    }

    /// [`RunsTable::columns_on_screen`] with the runs' columns `fitted`.
    fn on_screen(width: u16, fitted: Fitted, sort: Column) -> Vec<Column> {
        Self::columns(width.saturating_sub(2), fitted, sort)
    }

    /// The columns that fit in `width`, in display order, those of the runs shown `fitted`:
    /// the sorted column first after the name, then the results (what `eval` measured, where
    /// any run has it), then the settings; the name grows to its fitted width before the
    /// settings past batch and dim. The data column, where the runs trained on more than one
    /// dataset, comes right after the results it qualifies, the seed, where they have more than
    /// one, after the learning rate. Columns that say nothing of these runs (all `-`, or one
    /// setting they share) come last, and only where all the others fit: at 120 columns `test`
    /// with no value took the room of `mining`, which differs between runs.
    fn columns(width: u16, fitted: Fitted, sort: Column) -> Vec<Column> {
        use Column::*;
        let evaluated: &[Column] = if fitted.measured { &[Test, Lfw] } else { &[] };
        let unevaluated: &[Column] = if fitted.measured { &[] } else { &[Test, Lfw] };
        let data: &[Column] = if fitted.data > 0 { &[Data] } else { &[] };
        let seed: &[Column] = if fitted.seeds > 0 { &[Seed] } else { &[] };
        // The columns in the order they get room; None where the name grows to its width.
        let sorted = (!matches!(sort, Id | Name)).then_some(sort);
        let priority = [Id, Name]
            .map(Some)
            .into_iter()
            .chain(sorted.map(Some))
            .chain([Status, Progress, BestDev].map(Some))
            .chain(evaluated.iter().copied().map(Some))
            .chain(data.iter().copied().map(Some))
            .chain([Model, LastLoss, Batch, Dim].map(Some))
            // Room for the name, then input and lr, which tell apart runs that differ only in
            // crop or learning rate.
            .chain([None])
            .chain([Input, Lr].map(Some))
            .chain(seed.iter().copied().map(Some))
            .chain([Mining, ImagesPerSec].map(Some))
            .chain(unevaluated.iter().copied().map(Some))
            .chain([Duration, Started].map(Some));
        let quiet = |c: Column| fitted.quiet & bit(c) != 0 && c != sort;
        let (said, unsaid): (Vec<_>, Vec<_>) = priority.partition(|step| !step.is_some_and(quiet));
        // Each column with the space before the next: the last needs none.
        let mut used = 0u16;
        let mut keep = Vec::new();
        let mut all_said = true;
        for step in said {
            let w = match step {
                Some(c) if keep.contains(&c) => continue,
                Some(c) => Self::width(c, fitted) + 1,
                None if !keep.contains(&Name) => break,
                None => fitted.name.saturating_sub(Self::width(Name, fitted)),
            };
            if used + w <= width + 1 {
                used += w;
                keep.extend(step);
            } else {
                all_said = false;
                // No room for the name to grow: nothing after it gets any. Nor where the model
                // has none: a batch size or a dim in its place reads as what tells runs apart,
                // and the name, which says more, takes the room instead.
                if step.is_none() || (step == Some(Model) && sort != Model) {
                    break;
                }
            }
        }
        // The quiet columns only where every other has its room, and in their order up to the
        // first that has none: in the room of one left out (`started`, once a seed column
        // came) they would come and go with unrelated columns, and the digits that sort by the
        // nth column with them. The name takes that room.
        if all_said {
            for c in unsaid.into_iter().flatten() {
                if keep.contains(&c) {
                    continue;
                }
                let w = Self::width(c, fitted) + 1;
                if used + w > width + 1 {
                    break;
                }
                used += w;
                keep.push(c);
            }
        }
        Column::DASHBOARD
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
            Column::Data => ellipsize(&name_of(r, &app.datasets), usize::from(DATA_WIDTH)),
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
                     resnet18 --data synthetic --image-size 64 --epochs 3` (a minute on a CPU).",
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
        // An empty table under a filter reads as a lab that lost its runs: say what hides them.
        if app.view.is_empty() {
            let msg = format!(
                "None of the lab's {} matches the filter: / changes it (Ctrl-U in it clears it).",
                format::count(app.runs.len() as u64, "run", "runs")
            );
            Paragraph::new(msg)
                .wrap(Wrap { trim: true })
                .block(block)
                .render(area, buf);
            return;
        }
        let fitted = Self::fitted(&app.runs, &app.datasets);
        let cols = Self::on_screen(area.width, fitted, app.sort);
        // The name takes what the other columns leave, inside the border, one space apart.
        let others: u16 = cols
            .iter()
            .filter(|&&c| c != Column::Name)
            .map(|&c| Self::width(c, fitted) + 1)
            .sum();
        let name_width = area
            .width
            .saturating_sub(2 + others)
            .max(Self::width(Column::Name, fitted));
        let width = |c: Column| match c {
            Column::Name => name_width,
            _ => Self::width(c, fitted),
        };
        // The sorted column's title ends in an arrow: inside the column where the title leaves
        // a cell, else in the gap after it (drawn once the table is). Widening the column for
        // it took a character from every name and moved the columns after it.
        let arrow = if app.descending { '↓' } else { '↑' };
        let spanned: u16 = cols.iter().map(|&c| width(c) + 1).sum();
        let arrow_in_gap = cols.iter().position(|&c| c == app.sort).and_then(|i| {
            let full = app.sort.title().chars().count() >= usize::from(width(app.sort));
            // The gap's place from the border, where the columns fit inside it; the last
            // column ends at the border and has none.
            let x: u16 = cols[..=i].iter().map(|&c| width(c) + 1).sum();
            (full && spanned < area.width && x + 1 < area.width).then_some(area.x + x)
        });
        // Underlined title by title, not across the gaps: `best dev` and `last loss` read as
        // two headers.
        let header = Row::new(cols.iter().map(|&c| {
            let mut t = c.title().to_string();
            if c == app.sort && arrow_in_gap.is_none() {
                // A title that fills the last column, whose gap is the border, gives its last
                // character to the arrow (`last los↓`): the columns stay where they are.
                let room = usize::from(width(c)).saturating_sub(1);
                if t.chars().count() > room {
                    t = t.chars().take(room).collect();
                }
                t.push(arrow);
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
        let widths = cols.iter().map(|&c| Constraint::Length(width(c)));
        // Inside the border, under the header.
        let fit = usize::from(area.height.saturating_sub(3));
        // Scrolled no further than fills the table: a filter that left fewer runs, or a taller
        // terminal, shows them all rather than blank rows under the last. The selected row in
        // sight, as the table would scroll to it, so that the border can say what is hidden.
        let (offset, _) = app.table_rows.get();
        let offset = offset.min(app.view.len().saturating_sub(fit));
        let offset = offset
            .min(app.selected)
            .max((app.selected + 1).saturating_sub(fit.max(1)));
        let below = app.view.len().saturating_sub(offset + fit);
        let hidden = match (offset, below) {
            (0, 0) => None,
            (0, b) => Some(format!(" ↓ {b} below ")),
            (a, 0) => Some(format!(" ↑ {a} above ")),
            (a, b) => Some(format!(" ↑ {a} above · ↓ {b} below ")),
        };
        let block = match hidden {
            Some(h) => block.title_bottom(TextLine::from(h).right_aligned()),
            None => block,
        };
        let table = Table::new(rows, widths)
            .header(header)
            .block(block)
            .row_highlight_style(Style::new().reversed());
        let mut state = TableState::default()
            .with_selected(Some(app.selected))
            .with_offset(offset);
        StatefulWidget::render(table, area, buf, &mut state);
        // Not underlined: the gap still parts the title's underline from the next one's.
        if let Some(x) = arrow_in_gap {
            if let Some(cell) = buf.cell_mut((x, area.y + 1)) {
                cell.set_char(arrow).set_style(Style::new().bold());
            }
        }
        app.table_rows.set((state.offset(), fit));
    }
}
