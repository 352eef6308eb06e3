//! Fitting text into cells: cutting it with a `…` where something is left out, and wrapping
//! it onto lines. Every character is one column here, which holds for what the dashboard shows
//! (ASCII, `·`, `±`, `…`).

use std::collections::HashMap;

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

/// `texts` each cut to its width in the middle, as [`ellipsize_middle`] does, except where
/// different texts would read the same: each of those shows instead the word where it parts
/// from them (`…96px-crop0.…` and `…64px-crop0.…`, not `best-r…0.5-s1` twice).
pub fn ellipsize_apart(texts: &[(&str, usize)]) -> Vec<String> {
    let middle: Vec<String> = texts
        .iter()
        .map(|&(t, width)| ellipsize_middle(t, width))
        .collect();
    let mut alike: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, cut) in middle.iter().enumerate() {
        alike.entry(cut.as_str()).or_default().push(i);
    }
    texts
        .iter()
        .enumerate()
        .map(|(i, &(text, width))| {
            // Where this text parts from the last of the others its cut would pass for.
            let parts = alike[middle[i].as_str()]
                .iter()
                .map(|&j| texts[j].0)
                .filter(|&other| other != text)
                .map(|other| common_prefix(text, other))
                .max();
            match parts {
                Some(at) => ellipsize_around(text, width, at),
                None => middle[i].clone(),
            }
        })
        .collect()
}

/// How many characters `a` and `b` share at their start.
fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// `text` cut to `width` columns so that its character `at` shows, from the start of the word
/// holding it where there is room: `…` marks what is cut on either side.
fn ellipsize_around(text: &str, width: usize, at: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n <= width || width < 3 || at >= n {
        return ellipsize_middle(text, width);
    }
    let word = chars[..at]
        .iter()
        .rposition(|&c| !(c.is_alphanumeric() || c == '.'))
        .map_or(0, |i| i + 1);
    if word == 0 && at + 1 < width {
        return ellipsize(text, width);
    }
    // Between two marks, `at` no further right than the window's last column.
    let start = word.max((at + 3).saturating_sub(width));
    // The rest fits after one mark: the window ends with the text, reaching back to fill.
    if n - start < width {
        let tail: String = chars[n - (width - 1)..].iter().collect();
        return format!("…{tail}");
    }
    let window: String = chars[start..start + width - 2].iter().collect();
    format!("…{window}…")
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

/// `items` laid out left to right on rows at most `width` wide, ` · ` between two on a row,
/// each row one space in; an item wider than a row is cut in the middle. At most `max_rows`
/// rows: what does not fit is left out, so the items come most important first.
pub fn flow(items: Vec<Span<'static>>, width: u16, max_rows: usize) -> Vec<TextLine<'static>> {
    const SEP: &str = " · ";
    let room = usize::from(width).saturating_sub(1);
    let mut rows: Vec<Vec<Span<'static>>> = Vec::new();
    let mut used = 0;
    for mut item in items {
        if item.width() > room {
            item.content = ellipsize_middle(&item.content, room).into();
        }
        let w = item.width();
        let sep = SEP.chars().count();
        if let Some(row) = rows.last_mut().filter(|_| used + sep + w <= room) {
            used += sep + w;
            row.push(Span::raw(SEP));
            row.push(item);
        } else if rows.len() == max_rows {
            break;
        } else {
            used = w;
            rows.push(vec![Span::raw(" "), item]);
        }
    }
    rows.into_iter().map(TextLine::from).collect()
}

/// Characters that close a token: a row never starts with them (`"lfw-20-30"` keeps its `,`).
const CLOSING: [char; 9] = [',', ';', ':', '.', ')', ']', '}', '"', '\''];

/// How many of `rest` (longer than `room`) go on a row `room` wide: up to its last space that
/// fits; in a token longer than the row, up to its last `/` or else `-` (paths, run names);
/// else to the edge. No break falls before `earliest`, and none leaves a token's closing
/// punctuation to start the next row: the token's last characters go along with it.
fn row_end(rest: &[(char, Style)], room: usize, earliest: usize) -> usize {
    if rest[room].0 == ' ' {
        return room;
    }
    // Inside a token, a mark followed by closing punctuation is no place to break.
    let after_last = |mark: char| {
        let inside = mark != ' ';
        (earliest..room)
            .rev()
            .find(|&i| rest[i].0 == mark && !(inside && CLOSING.contains(&rest[i + 1].0)))
            .map(|i| i + 1)
    };
    if let Some(cut) = after_last(' ')
        .or_else(|| after_last('/'))
        .or_else(|| after_last('-'))
    {
        return cut;
    }
    let mut cut = room;
    while cut > 1 && CLOSING.contains(&rest[cut].0) {
        cut -= 1;
    }
    cut
}

/// Cuts `line` into lines at most `width` columns wide, between words where it can (see
/// [`row_end`]);
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
        // Not inside the first line's key column.
        let earliest = if start == 0 { indent } else { 1 };
        let cut = row_end(&chars[start..], room, earliest);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The lab's own names at the runs table's 13 columns (80-column terminal).
    #[test]
    fn names_whose_middle_cuts_read_alike_keep_where_they_part() {
        let names = [
            "best-recipe-96px-crop0.5-s1",
            "best-recipe-64px-crop0.5-s1",
            "best-recipe-96px-crop0.5",
            "best-recipe-64px-crop0.5",
            "resnet152-zero-init-64px-crop0.5",
            "resnet18-zero-init-64px-crop0.5",
            "alexnet-128px-crop0.5-lr1e-4",
            "alexnet-32-128-crop0.5-lr1e-4",
            "architectures-cpu-64-1-resnet18-32-128",
            "architectures-cpu-64-2-alexnet-32-128",
            "architectures-cpu-64-3-resnet152-32-128",
            "alexnet-128px-crop0.5-lr1e-4-all-nodropout",
            "alexnet-128px-crop0.5-lr1e-4-all-nodropout",
            "best-recipe-64px-cosine",
            "short",
        ];
        let texts: Vec<(&str, usize)> = names.iter().map(|&n| (n, 13)).collect();
        let cuts = ellipsize_apart(&texts);
        assert_eq!(
            cuts,
            [
                "…96px-crop0.…",
                "…64px-crop0.…",
                "…96px-crop0.5",
                "…64px-crop0.5",
                "resnet152-ze…",
                "resnet18-zer…",
                "…128px-crop0…",
                "…32-128-crop…",
                "…1-resnet18-…",
                "…2-alexnet-3…",
                "…3-resnet152…",
                // One name twice: nothing to tell apart, the middle cut stays.
                "alexne…ropout",
                "alexne…ropout",
                "best-r…cosine",
                "short",
            ]
        );
        assert!(cuts.iter().all(|c| c.chars().count() <= 13), "{cuts:?}");
    }

    #[test]
    fn a_cut_around_a_character_keeps_it_in_sight() {
        let text = "abcdefghijklmnopqrstuvwxyz";
        for at in 0..26 {
            for width in 3..26 {
                let cut = ellipsize_around(text, width, at);
                let c = text.chars().nth(at).unwrap_or(' ');
                assert_eq!(cut.chars().count(), width, "{at} {width}: {cut}");
                assert!(cut.contains(c), "{at} {width}: {cut}");
            }
        }
    }

    fn rows(text: &str, width: u16, indent: usize) -> Vec<String> {
        wrap_line(TextLine::raw(text.to_string()), width, indent)
            .iter()
            .map(|l| l.to_string().trim_end().to_string())
            .collect()
    }

    /// The run record's config at 30 columns: a path longer than a row breaks after a `/`, and
    /// its closing `",` stays on its row.
    #[test]
    fn punctuation_stays_with_its_token() {
        assert_eq!(
            rows(r#"  "data": "../shared/data/lfw-20-30","#, 30, 4),
            [
                r#"  "data":"#,
                r#"    "../shared/data/"#,
                r#"    lfw-20-30","#
            ]
        );
        // No `/` or `-` to break at: the token's last letter goes down with its `",`.
        assert_eq!(
            rows(r#"  "hash": "abcdefghijklmnopqrstuvwxyz","#, 30, 4),
            [
                r#"  "hash":"#,
                r#"    "abcdefghijklmnopqrstuvwxy"#,
                r#"    z","#
            ]
        );
        // Between words as before, and a space at the edge is where the row ends.
        assert_eq!(
            rows(
                "command     run --config experiments/a.toml --quiet",
                30,
                12
            ),
            [
                "command     run --config",
                "            experiments/a.toml",
                "            --quiet"
            ]
        );
        // (A quote can open a token too.)
        let closers = [',', ';', ':', '.', ')', ']', '}'];
        for width in 3..40 {
            for row in rows(r#"    "lr_schedule": "cosine", "x": [1, 2],"#, width, 4) {
                let text = row.trim_start();
                assert!(
                    !text.starts_with(closers),
                    "{width}: a row starts with closing punctuation: '{row}'"
                );
                assert!(
                    row.chars().count() <= usize::from(width),
                    "{width}: '{row}'"
                );
            }
        }
    }

    #[test]
    fn flowed_items_fill_rows_in_order_and_stop_at_the_last() {
        let items = |texts: &[&str]| -> Vec<Span<'static>> {
            texts.iter().map(|t| Span::raw(t.to_string())).collect()
        };
        let shown =
            |lines: Vec<TextLine>| -> Vec<String> { lines.iter().map(|l| l.to_string()).collect() };
        let facts = [
            "#21 alexnet-128px-nodropout-all-60",
            "alexnet",
            "completed",
            "60/60",
        ];
        assert_eq!(
            shown(flow(items(&facts), 80, 3)),
            [" #21 alexnet-128px-nodropout-all-60 · alexnet · completed · 60/60"]
        );
        assert_eq!(
            shown(flow(items(&facts), 40, 3)),
            [
                " #21 alexnet-128px-nodropout-all-60",
                " alexnet · completed · 60/60"
            ]
        );
        assert_eq!(
            shown(flow(items(&facts), 20, 2)),
            [" #21 alexn…ut-all-60", " alexnet · completed"],
            "cut to a row, and no third row"
        );
    }
}
