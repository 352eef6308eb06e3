//! Fitting text into cells: cutting it with a `…` where something is left out, and wrapping
//! it onto lines. Every character is one column here, which holds for what the dashboard shows
//! (ASCII, `·`, `±`, `…`).

use ratatui::style::Style;
use ratatui::text::{Line as TextLine, Span};

/// `text` cut to `width` columns: its first `head` characters, `…`, and as many of its last
/// ones as fit. Unchanged when it fits.
fn ellipsize_at(text: &str, width: usize, head: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let head = head.min(width - 1);
    let tail = width - 1 - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// `text` cut to `width` columns by taking out its middle, marked `…`: names of one family
/// (`best-recipe-64px-cosine`, `best-recipe-64px-crop0.5`) differ at their ends.
pub fn ellipsize_middle(text: &str, width: usize) -> String {
    ellipsize_at(text, width, width.saturating_sub(1) / 2)
}

/// `text` cut to `width` columns, its last one `…` when something is cut.
pub fn ellipsize(text: &str, width: usize) -> String {
    ellipsize_at(text, width, width.saturating_sub(1))
}

/// The end of `text` that fits in `width` columns with the cursor after it: the field scrolls
/// sideways with the cursor, and `…` says that the start is out of sight.
pub fn input_tail(text: &str, width: usize) -> String {
    if text.chars().count() < width {
        return text.to_string();
    }
    ellipsize_at(text, width.saturating_sub(1).max(1), 0)
}

/// Cuts `line` into lines at most `width` columns wide, between words where it can;
/// continuation lines start with `indent` spaces, under the value rather than the key.
pub fn wrap_line(line: TextLine<'static>, width: u16, indent: usize) -> Vec<TextLine<'static>> {
    let width = usize::from(width);
    if width == 0 || line.width() <= width {
        return vec![line];
    }
    let indent = if indent + 8 > width { 0 } else { indent };
    let chars: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|s| s.content.chars().map(move |c| (c, s.style)))
        .collect();
    let mut rows: Vec<&[(char, Style)]> = Vec::new();
    let (mut start, mut room) = (0, width);
    while start < chars.len() {
        if chars.len() - start <= room {
            rows.push(&chars[start..]);
            break;
        }
        // After the last space that fits, but not inside the first line's key column.
        let earliest = if start == 0 { indent } else { 1 };
        let cut = if chars[start + room].0 == ' ' {
            room
        } else {
            chars[start..start + room]
                .iter()
                .rposition(|&(c, _)| c == ' ')
                .filter(|&i| i >= earliest)
                .map_or(room, |i| i + 1)
        };
        rows.push(&chars[start..start + cut]);
        start += cut;
        while chars.get(start).is_some_and(|&(c, _)| c == ' ') {
            start += 1;
        }
        room = width - indent;
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let mut spans = Vec::new();
            if i > 0 && indent > 0 {
                spans.push(Span::raw(" ".repeat(indent)));
            }
            for run in row.chunk_by(|a, b| a.1 == b.1) {
                spans.push(Span::styled(
                    run.iter().map(|&(c, _)| c).collect::<String>(),
                    run[0].1,
                ));
            }
            TextLine::from(spans)
        })
        .collect()
}
