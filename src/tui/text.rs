//! Fitting text into cells: cutting it with a `…` where something is left out, and wrapping
//! it onto lines. Widths are terminal columns: a CJK character or an emoji in a note or a
//! name takes two.

use std::collections::HashMap;

use ratatui::style::Style;
use ratatui::text::{Line as TextLine, Span};
use unicode_width::UnicodeWidthStr;

/// The columns `text` takes on a terminal.
pub fn columns(text: &str) -> usize {
    text.width()
}

/// The columns of `grown`: text of `before` columns with `c` added at one end, beside the
/// character `beside` (none when it was empty). A character's width alone can differ from
/// what it adds (`⚠` and a variation selector take two columns together, one and none apart),
/// so `grown` is measured whole, except where plain ASCII meets plain ASCII, which no sequence
/// joins: most names and notes are counted on, not measured again at every character.
fn columns_grown(before: usize, grown: &str, c: char, beside: Option<char>) -> usize {
    let plain = |c: char| c == ' ' || c.is_ascii_graphic();
    if plain(c) && beside.is_none_or(plain) {
        before + 1
    } else {
        columns(grown)
    }
}

/// The longest start of `text` that fits in `room` columns.
fn start_within(text: &str, room: usize) -> &str {
    let (mut end, mut used, mut last) = (0, 0, None);
    for (i, c) in text.char_indices() {
        let next = i + c.len_utf8();
        used = columns_grown(used, &text[..next], c, last);
        if used > room {
            break;
        }
        (end, last) = (next, Some(c));
    }
    &text[..end]
}

/// The longest end of `text` that fits in `room` columns.
fn end_within(text: &str, room: usize) -> &str {
    let (mut start, mut used, mut first) = (text.len(), 0, None);
    for (i, c) in text.char_indices().rev() {
        used = columns_grown(used, &text[i..], c, first);
        if used > room {
            break;
        }
        (start, first) = (i, Some(c));
    }
    &text[start..]
}

/// `text` cut to `width` columns: its first characters in `head` columns, `…`, and as many of
/// its last ones as fit. Unchanged when it fits.
fn ellipsize_at(text: &str, width: usize, head: usize) -> String {
    if columns(text) <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let start = start_within(text, head.min(width - 1));
    let room = (width - 1).saturating_sub(columns(start));
    let end = end_within(&text[start.len()..], room);
    format!("{start}…{end}")
}

/// `text` cut to `width` columns by taking out its middle, marked `…`: names of one family
/// (`best-recipe-64px-cosine`, `best-recipe-64px-crop0.5`) differ at their ends.
pub fn ellipsize_middle(text: &str, width: usize) -> String {
    ellipsize_at(text, width, width.saturating_sub(1) / 2)
}

/// `texts` each cut to its width in the middle, as [`ellipsize_middle`] does, except where
/// that cut would read as another of the texts too (`…` read as anything): those keep instead
/// the words that tell them apart (`best…96px…s2`, not `best-r…0.5-s2` for both seeds' runs at
/// 64 and 96 px), as far as their width allows. Texts that differ print differently wherever
/// their widths leave a cut that does ([`part_the_rest`]).
pub fn ellipsize_apart(texts: &[(&str, usize)]) -> Vec<String> {
    let mut cuts: Vec<String> = texts
        .iter()
        .map(|&(text, width)| {
            let others = texts.iter().map(|&(t, _)| t).filter(|&t| t != text);
            cut_apart(text, width, others.collect())
        })
        .collect();
    // Where no cut of whole words that fits tells two texts apart and their cuts still print
    // the same, each shows instead the characters where it parts from the others.
    let mut same: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, cut) in cuts.iter().enumerate() {
        same.entry(cut.as_str()).or_default().push(i);
    }
    let clashes: Vec<Vec<usize>> = same.into_values().filter(|g| g.len() > 1).collect();
    for group in clashes {
        for &i in &group {
            let (text, width) = texts[i];
            let parts = group
                .iter()
                .map(|&j| texts[j].0)
                .filter(|&other| other != text)
                .map(|other| common_prefix(text, other))
                .max();
            if let Some(at) = parts {
                cuts[i] = ellipsize_around(text, width, at);
            }
        }
    }
    part_the_rest(texts, &mut cuts);
    cuts
}

/// Where cuts of texts that differ still print alike (a parting cut can read as one of
/// another pair's, and among many names of one family at 11 columns or fewer
/// `best-recipe-64px-crop0.5` and its `-s1` both printed `…64px-crop…`), each in turn takes
/// the first of its other cuts that no other text's prints: around where it parts from those,
/// in the middle, keeping its end, keeping its start, then around each of its characters from
/// the last. One that has none such (too narrow) stays as it is.
fn part_the_rest(texts: &[(&str, usize)], cuts: &mut [String]) {
    let mut printed: HashMap<String, Vec<&str>> = HashMap::new();
    for (&(text, _), cut) in texts.iter().zip(cuts.iter()) {
        printed.entry(cut.clone()).or_default().push(text);
    }
    let alike = |printed: &HashMap<String, Vec<&str>>, cut: &str, text: &str| {
        printed.get(cut).into_iter().flatten().any(|&t| t != text)
    };
    for i in 0..texts.len() {
        let (text, width) = texts[i];
        if !alike(&printed, &cuts[i], text) {
            continue;
        }
        let mut parts: Vec<usize> = printed[&cuts[i]]
            .iter()
            .filter(|&&t| t != text)
            .map(|t| common_prefix(text, t))
            .collect();
        parts.sort_unstable_by(|a, b| b.cmp(a));
        parts.dedup();
        let n = text.chars().count();
        let found = parts
            .into_iter()
            .map(|at| ellipsize_around(text, width, at))
            .chain([
                ellipsize_middle(text, width),
                ellipsize_at(text, width, 0),
                ellipsize(text, width),
            ])
            .chain((1..width).map(|head| ellipsize_at(text, width, head)))
            .chain((0..n).rev().map(|at| ellipsize_around(text, width, at)))
            .find(|cut| columns(cut) <= width && !alike(&printed, cut, text));
        let Some(cut) = found else { continue };
        // Each place the text is listed at this width prints it the same.
        for j in 0..texts.len() {
            if texts[j] == (text, width) {
                let old = std::mem::replace(&mut cuts[j], cut.clone());
                if let Some(users) = printed.get_mut(&old) {
                    if let Some(k) = users.iter().position(|&t| t == text) {
                        users.remove(k);
                    }
                }
                printed.entry(cut.clone()).or_default().push(text);
            }
        }
    }
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
    // Windows of characters are windows of columns only where each takes one.
    if n <= width || width < 3 || at >= n || columns(text) != n {
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

/// [`ellipsize_apart`] remembered: the runs table asks for the same cuts at every frame, and
/// working them out takes time that grows with the square of the number of texts. The cuts
/// depend on the set of texts only, so a new order (a sort by a live column) reuses them.
#[derive(Default)]
pub struct CutsApart {
    /// The distinct (text, width) pairs, sorted, the cuts were worked out for.
    key: Vec<(String, usize)>,
    cuts: HashMap<(String, usize), String>,
}

impl CutsApart {
    /// The cuts of `texts`, worked out again only when their set differs from the last call's.
    pub fn get(&mut self, texts: &[(&str, usize)]) -> Vec<String> {
        let mut key: Vec<(String, usize)> =
            texts.iter().map(|&(t, w)| (t.to_string(), w)).collect();
        key.sort();
        key.dedup();
        if key != self.key {
            let distinct: Vec<(&str, usize)> = key.iter().map(|(t, w)| (t.as_str(), *w)).collect();
            self.cuts = key
                .iter()
                .cloned()
                .zip(ellipsize_apart(&distinct))
                .collect();
            self.key = key;
        }
        texts
            .iter()
            .map(|&(t, w)| self.cuts[&(t.to_string(), w)].clone())
            .collect()
    }
}

/// `text` cut to `width` so that as few of `others` as can be read the same.
fn cut_apart(text: &str, width: usize, others: Vec<&str>) -> String {
    let middle = ellipsize_middle(text, width);
    let middle_alike = others.iter().filter(|o| reads_as(&middle, o)).count();
    if middle_alike == 0 {
        return middle;
    }
    let words = words(text);
    let mut kept = vec![false; words.len()];
    // Nothing kept reads as anything. One word at a time, the one that leaves the fewest
    // others reading alike; the shorter cut, then the earlier word, on a tie.
    let mut alike = others;
    while !alike.is_empty() {
        let best = (0..words.len())
            .filter(|&i| !kept[i])
            .filter_map(|i| {
                let mut with = kept.clone();
                with[i] = true;
                let cut = join_kept(&words, &with);
                let len = columns(&cut);
                let left = alike.iter().filter(|o| reads_as(&cut, o)).count();
                (len <= width).then_some((left, len, i))
            })
            .min();
        match best {
            Some((left, _, i)) if left < alike.len() => {
                kept[i] = true;
                let cut = join_kept(&words, &kept);
                alike.retain(|other| reads_as(&cut, other));
            }
            _ => break,
        }
    }
    if !kept.contains(&true) || alike.len() >= middle_alike {
        return middle;
    }
    // Then the words from the start, where they fit: context for the reader. A word more
    // only narrows what the cut reads as.
    for i in 0..words.len() {
        if !kept[i] {
            kept[i] = true;
            kept[i] = columns(&join_kept(&words, &kept)) <= width;
        }
    }
    join_kept(&words, &kept)
}

/// Characters between the words of a name; a `.` too, except between digits (`crop0.5`).
const SEPARATORS: [char; 8] = ['-', '_', ' ', '/', '.', ',', '=', ':'];

/// `text` cut after each word and the separators that follow it: `resnet18-64px` is
/// `resnet18-` and `64px`. Separators before the first word go with it, and the `-` of an
/// exponent (`lr1e-4`) or the `.` of a decimal (`0.5`) is no separator.
fn words(text: &str) -> Vec<&str> {
    let chars: Vec<char> = text.chars().collect();
    let digit = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_some_and(char::is_ascii_digit)
    };
    let inside_number = |i: usize| match chars[i] {
        '-' => i >= 2 && chars[i - 1] == 'e' && digit(Some(i - 2)) && digit(Some(i + 1)),
        '.' => digit(i.checked_sub(1)) && digit(Some(i + 1)),
        _ => false,
    };
    let mut words = Vec::new();
    let (mut start, mut has_word, mut after_sep) = (0, false, false);
    for (n, (i, c)) in text.char_indices().enumerate() {
        let sep = SEPARATORS.contains(&c) && !inside_number(n);
        if !sep && after_sep && has_word {
            words.push(&text[start..i]);
            start = i;
        }
        has_word |= !sep;
        after_sep = sep;
    }
    words.push(&text[start..]);
    words
}

/// The `kept` words in order, `…` for each run of the others, with no separator before a `…`.
fn join_kept(words: &[&str], kept: &[bool]) -> String {
    let mut out = String::new();
    let mut gap = false;
    for (word, &keep) in words.iter().zip(kept) {
        if !keep {
            gap = true;
            continue;
        }
        if gap {
            out.truncate(out.trim_end_matches(SEPARATORS).len());
            out.push('…');
            gap = false;
        }
        out.push_str(word);
    }
    if gap {
        out.truncate(out.trim_end_matches(SEPARATORS).len());
        out.push('…');
    }
    out
}

/// Whether `text` could be what `cut` shows, each `…` read as anything.
fn reads_as(cut: &str, text: &str) -> bool {
    let (Some(first_end), Some(last_start)) = (cut.find('…'), cut.rfind('…')) else {
        return cut == text;
    };
    let (first, last) = (&cut[..first_end], &cut[last_start + '…'.len_utf8()..]);
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    let mut inside = &text[first.len()..text.len() - last.len()];
    let middle = &cut[first_end + '…'.len_utf8()..last_start.max(first_end + '…'.len_utf8())];
    for part in middle.split('…').filter(|p| !p.is_empty()) {
        match inside.find(part) {
            Some(at) => inside = &inside[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// `text` cut to `width` columns, its last one `…` when something is cut.
pub fn ellipsize(text: &str, width: usize) -> String {
    ellipsize_at(text, width, width.saturating_sub(1))
}

/// The end of `text` that fits in `width` columns with the cursor after it: the field scrolls
/// sideways with the cursor, and `…` says that the start is out of sight.
pub fn input_tail(text: &str, width: usize) -> String {
    if columns(text) < width {
        return text.to_string();
    }
    ellipsize_at(text, width.saturating_sub(1).max(1), 0)
}

/// What a field `width` columns wide shows of `text` with the cursor `back` characters from its
/// end, as (before the cursor, after it): all of it where it fits beside the cursor; else the
/// cursor stays in sight, at the end as [`input_tail`] shows it, or with what the text after
/// it leaves of the field before it (two thirds at least), each side cut with `…` where the
/// text goes on.
pub fn input_window(text: &str, back: usize, width: usize) -> (String, String) {
    let chars: Vec<char> = text.chars().collect();
    let at = chars.len() - back.min(chars.len());
    let (before, after): (String, String) =
        (chars[..at].iter().collect(), chars[at..].iter().collect());
    if columns(text) < width {
        return (before, after);
    }
    if after.is_empty() {
        return (input_tail(text, width), after);
    }
    let room = width.saturating_sub(1).max(2);
    // The text before the cursor takes what the text after it leaves, two thirds at least.
    let left = room
        .saturating_sub(columns(&after))
        .max(room * 2 / 3)
        .max(1);
    let before = match columns(&before) <= left {
        true => before,
        false => ellipsize_at(&before, left, 0),
    };
    let right = room.saturating_sub(columns(&before)).max(1);
    (before, ellipsize(&after, right))
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
        // The characters that fit in `room` columns, counted as [`start_within`] does.
        let (mut row, mut used, mut last) = (String::new(), 0, None);
        let fit = chars[start..]
            .iter()
            .take_while(|&&(c, _)| {
                row.push(c);
                used = columns_grown(used, &row, c, last);
                last = Some(c);
                used <= room
            })
            .count();
        if start + fit == chars.len() {
            rows.push(&chars[start..]);
            break;
        }
        // Not inside the first line's key column; a character wider than the row goes alone.
        let earliest = if start == 0 { indent } else { 1 };
        let cut = match fit {
            0 => 1,
            _ => row_end(&chars[start..], fit, earliest),
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

/// `text` of several lines (an error that lists its problems below its first line) as one line
/// for the status line, which does not break lines: each line trimmed, after a colon joined by
/// a space, else by ` · `.
pub fn one_line(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { " · " });
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cursor stays in sight wherever it is in a text wider than its field.
    #[test]
    fn an_input_window_keeps_the_cursor_in_sight() {
        assert_eq!(input_window("abc", 1, 10), ("ab".into(), "c".into()));
        let text = "0123456789abcdefghij";
        // At the end: the tail, as before.
        assert_eq!(
            input_window(text, 0, 10),
            ("…cdefghij".into(), String::new())
        );
        // At the start: the head, cut.
        assert_eq!(
            input_window(text, 20, 10),
            (String::new(), "01234567…".into())
        );
        // Near the end: what follows the cursor whole, the rest of the field before it.
        assert_eq!(input_window(text, 1, 10), ("…cdefghi".into(), "j".into()));
        // In the middle: both sides, each cut where the text goes on.
        let (before, after) = input_window(text, 10, 10);
        assert_eq!((before.as_str(), after.as_str()), ("…56789", "ab…"));
        assert!(columns(&before) + 1 + columns(&after) <= 10);
    }

    /// The lab's own names at the runs table's 13 columns (80-column terminal).
    #[test]
    fn names_whose_middle_cuts_read_alike_keep_the_words_that_part_them() {
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
                "best…96px…s1",
                "best…64px…s1",
                "…96px-crop0.5",
                // No 13 columns tell it from all the others: the middle cut reads as one.
                "best-r…rop0.5",
                "resnet152…",
                "resnet18…",
                "…128px…lr1e-4",
                "…32…lr1e-4",
                "…1-resnet18…",
                "…alexnet…128",
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

    /// The lab's runs at 80 columns: the middle cuts of the 96 px runs read alike across
    /// families (`…96px-crop0.…` for three runs of two models was the cut before).
    #[test]
    fn cuts_read_apart_across_families() {
        let names = [
            "resnet152-zero-init-96px-crop0.5-90-s1",
            "best-recipe-96px-crop0.5-s2",
            "best-recipe-64px-crop0.5-s2",
            "resnet152-zero-init-96px-crop0.5-90",
            "resnet152-zero-init-64px-crop0.5-90-s2",
            "alexnet-128px-nodropout-all-90-s1",
            "resnet152-zero-init-64px-crop0.5-90-s1",
            "resnet152-zero-init-64px-crop0.5-90",
            "best-recipe-96px-crop0.5-s1",
            "best-recipe-96px-crop0.5",
        ];
        let texts: Vec<(&str, usize)> = names.iter().map(|&n| (n, 13)).collect();
        let cuts = ellipsize_apart(&texts);
        assert_eq!(
            cuts,
            [
                "…zero…96px…s1",
                "best…96px…s2",
                "best…64px…s2",
                "…zero…96px…90",
                // A middle cut no other name reads as stays.
                "resnet…-90-s2",
                "alexne…-90-s1",
                "…zero…64px…s1",
                "…zero…64px…90",
                "best-r…0.5-s1",
                "best-r…rop0.5",
            ]
        );
        for (cut, name) in cuts.iter().zip(names) {
            assert!(cut.chars().count() <= 13, "{cut}");
            assert!(reads_as(cut, name), "{cut} {name}");
            let alike: Vec<_> = names
                .iter()
                .filter(|&&n| n != name && reads_as(cut, n))
                .collect();
            assert!(alike.is_empty(), "{cut} ({name}) reads as {alike:?}");
        }
    }

    /// The lab's runs, in the order of their ids: some share a name, and families of them
    /// (seeds, `-from-run-N`, sweep indexes) differ only at their ends or in one word.
    const LAB_NAMES: [&str; 65] = [
        "resnet18-b16-d128-all",
        "best-recipe-64px",
        "best-recipe-64px-cosine",
        "best-recipe-64px-cosine-90",
        "best-recipe-64px-crop0.5",
        "best-recipe-64px-crop0.5-s1",
        "architectures-cpu-64-1-resnet18-32-128",
        "architectures-cpu-64-2-alexnet-32-128",
        "architectures-cpu-64-3-resnet152-32-128",
        "alexnet-32-128-crop0.5-lr1e-4",
        "resnet152-zero-init-64px-crop0.5",
        "resnet18-zero-init-64px-crop0.5",
        "resnet18-zero-init-64px-crop0.5-repro",
        "best-recipe-96px-crop0.5",
        "best-recipe-96px-crop0.5-s1",
        "alexnet-128px-crop0.5-lr1e-4",
        "alexnet-128px-crop0.5-lr2e-5",
        "alexnet-128px-crop0.5-lr1e-4-all",
        "alexnet-128px-crop0.5-lr1e-4-all-nodropout",
        "alexnet-128px-crop0.5-lr1e-4-all-nodropout",
        "alexnet-128px-nodropout-all-60",
        "resnet152-zero-init-64px-crop0.5-60",
        "resnet152-zero-init-64px-crop0.5-90",
        "resnet18-zero-init-64px-crop0.5-after-perf",
        "alexnet-128px-nodropout-all-90",
        "best-recipe-128px-crop0.5",
        "seed-resnet18-32-128-cpu-224",
        "resnet152-zero-init-64px-crop0.5-90-s1",
        "alexnet-128px-nodropout-all-90-s1",
        "resnet152-zero-init-64px-crop0.5-90-s2",
        "resnet152-zero-init-96px-crop0.5-90",
        "best-recipe-64px-crop0.5-s2",
        "best-recipe-96px-crop0.5-s2",
        "resnet152-zero-init-96px-crop0.5-90-s1",
        "seed-resnet18-b32-d128",
        "seed-resnet152-b32-d64",
        "best-recipe-224px-crop0.5",
        "alexnet-224px-nodropout-all",
        "seed-resnet18-b32-d128",
        "seed-resnet152-b32-d64",
        "best-recipe-224px-crop0.5",
        "seed-alexnet-b32-d128",
        "seed-resnet18-b64-d128",
        "seed-resnet152-b32-d64-cpu-64",
        "seed-resnet18-b32-d128-cpu-64",
        "seed-resnet152-b32-d64-cpu-64-zero-init",
        "seed-resnet18-b64-d128-cpu-64",
        "seed-alexnet-b32-d128-cpu-64",
        "seed-resnet152-b32-d128-cpu-64",
        "seed-resnet152-b8-d64-cpu-64",
        "pretrain-resnet18-disjoint-lfw-64",
        "seed-resnet18-b32-d128-cpu-64-from-run-51",
        "pretrain-resnet152-disjoint-lfw-64",
        "zero-shot-resnet18-from-run-51",
        "seed-resnet152-b32-d64-cpu-64-from-run-53",
        "zero-shot-resnet152-from-run-53",
        "pretrain-resnet152-disjoint-lfw-64-20ep",
        "zero-shot-resnet152-from-run-57",
        "seed-resnet152-b32-d64-cpu-64-from-run-57",
        "seed-resnet18-b32-d128-cpu-64-from-run-51-s1",
        "seed-resnet152-b32-d64-cpu-64-from-run-57-s1",
        "pretrain-resnet18-disjoint-lfw-64-crop0.5",
        "best-recipe-64px-crop0.5-from-run-62",
        "best-recipe-64px-crop0.5-from-run-62-s1",
        "best-recipe-64px-crop0.5-from-run-62-s2",
    ];

    /// Names that differ only at their end (the seeds of runs 64 and 65, and run 63 they
    /// repeat) keep the end that tells them apart, with the start they share cut in the
    /// middle: alone at any width, among all the lab's names from 6 columns.
    #[test]
    fn names_that_differ_at_their_end_keep_it() {
        let family = [
            "best-recipe-64px-crop0.5-from-run-62-s1",
            "best-recipe-64px-crop0.5-from-run-62-s2",
            "best-recipe-64px-crop0.5-from-run-62",
        ];
        for width in 4..=40 {
            let alone: Vec<(&str, usize)> = family.iter().map(|&n| (n, width)).collect();
            let among: Vec<(&str, usize)> = LAB_NAMES.iter().map(|&n| (n, width)).collect();
            let all = ellipsize_apart(&among);
            let in_lab = |name: &str| {
                let at = LAB_NAMES.iter().position(|&n| n == name);
                all[at.expect("a lab name")].clone()
            };
            let mut cases = vec![ellipsize_apart(&alone)];
            if width >= 6 {
                cases.push(family.map(in_lab).to_vec());
            }
            for cuts in cases {
                let [s1, s2, first] = [&cuts[0], &cuts[1], &cuts[2]];
                assert!(s1 != s2 && s1 != first && s2 != first, "{width}: {cuts:?}");
                assert!(
                    s1.ends_with("s1") && s2.ends_with("s2"),
                    "{width}: {cuts:?}"
                );
                if width >= 12 {
                    // The runs table's narrowest name column.
                    assert!(s1.ends_with("-62-s1") && s2.ends_with("-62-s2"), "{cuts:?}");
                    assert!(
                        s1.starts_with("best-") && first.ends_with("run-62"),
                        "{cuts:?}"
                    );
                }
                for (cut, name) in cuts.iter().zip(family) {
                    assert!(columns(cut) <= width, "{cut}");
                    assert!(reads_as(cut, name), "{cut} {name}");
                }
            }
        }
        // The runs table's 13 columns at 80 (as `facenet-lab` shows runs 63 to 65).
        assert_eq!(
            ellipsize_apart(&family.map(|n| (n, 13))),
            ["best-r…-62-s1", "best-r…-62-s2", "best-r…run-62"]
        );
    }

    /// Every two of the lab's names that differ print differently at any width from 6 columns
    /// (the compare headers and chart legends cut them that short): at 11 and fewer, among all
    /// of them, `best-recipe-64px-crop0.5` and its `-s1` both printed `…64px-crop…`, and the
    /// 18 and 152 pretrain runs `…resnet18…` alike with a seed run's.
    #[test]
    fn the_labs_names_print_apart_at_any_width() {
        for width in 6..=30 {
            let texts: Vec<(&str, usize)> = LAB_NAMES.iter().map(|&n| (n, width)).collect();
            let cuts = ellipsize_apart(&texts);
            let mut seen: HashMap<&str, &str> = HashMap::new();
            for (cut, name) in cuts.iter().zip(LAB_NAMES) {
                assert!(columns(cut) <= width, "{width}: {cut}");
                assert!(reads_as(cut, name), "{width}: {cut} {name}");
                let first = *seen.entry(cut.as_str()).or_insert(name);
                assert_eq!(first, name, "{width}: both print {cut}");
            }
        }
    }

    /// A sweep's runs, named as the dashboard bench names them (model, mining, batch, seed and
    /// the sweep's round, after a shared middle), print apart at the runs table's widths (12 at
    /// its narrowest, 13 at 80 columns): 148 of 150 cuts printed as another run's did.
    #[test]
    fn a_sweeps_runs_print_apart_at_the_tables_width() {
        let names = crate::lab::fixtures::sweep_names(150);
        for width in [12, 13] {
            let texts: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), width)).collect();
            let cuts = ellipsize_apart(&texts);
            let mut seen: HashMap<&str, &str> = HashMap::new();
            for (cut, name) in cuts.iter().zip(&names) {
                assert!(columns(cut) <= width && reads_as(cut, name), "{cut} {name}");
                let first = *seen.entry(cut.as_str()).or_insert(name);
                assert_eq!(first, name, "{width}: both print {cut}");
            }
        }
    }

    /// Where no cut of whole words tells two names apart, they still print differently: each
    /// shows the characters where it parts from the other.
    #[test]
    fn names_no_words_tell_apart_still_print_apart() {
        for names in [
            &[
                "best-recipe-64px-crop0.5",
                "best-recipe-96px-crop0.5",
                "best-recipe-64px-crop0.5-s1",
                "best-recipe-96px-crop0.5-s1",
                "resnet152-zero-init-64px-crop0.5",
                "resnet152-zero-init-96px-crop0.5",
            ][..],
            &["exp.resnet18.64px.crop.s1", "exp.resnet18.96px.crop.s1"],
            &["aaaaaaaaaaaaaaaaaaaaaaaa1b", "aaaaaaaaaaaaaaaaaaaaaaaa2b"],
        ] {
            let texts: Vec<(&str, usize)> = names.iter().map(|&n| (n, 13)).collect();
            let cuts = ellipsize_apart(&texts);
            let distinct: std::collections::BTreeSet<&String> = cuts.iter().collect();
            assert_eq!(distinct.len(), names.len(), "{cuts:?}");
            assert!(cuts.iter().all(|c| c.chars().count() <= 13), "{cuts:?}");
        }
    }

    /// The remembered cuts are those of the texts in any order, and of a name listed twice.
    #[test]
    fn remembered_cuts_follow_the_texts_order() {
        let names = [
            "best-recipe-96px-crop0.5-s2",
            "best-recipe-64px-crop0.5-s2",
            "short",
        ];
        let mut cache = CutsApart::default();
        let texts: Vec<(&str, usize)> = names.iter().map(|&n| (n, 13)).collect();
        assert_eq!(cache.get(&texts), ellipsize_apart(&texts));
        let turned: Vec<(&str, usize)> = texts.iter().rev().chain(&texts[..1]).copied().collect();
        let expected: Vec<String> = ellipsize_apart(&texts)
            .into_iter()
            .rev()
            .chain(ellipsize_apart(&texts).into_iter().take(1))
            .collect();
        assert_eq!(cache.get(&turned), expected);
    }

    #[test]
    fn a_cut_reads_as_what_its_ellipses_could_hide() {
        assert!(reads_as("best…96px…s2", "best-recipe-96px-crop0.5-s2"));
        assert!(!reads_as("best…96px…s2", "best-recipe-64px-crop0.5-s2"));
        // A cut with no `…` at an end shows that end.
        assert!(!reads_as(
            "…96px…90",
            "resnet152-zero-init-96px-crop0.5-90-s1"
        ));
        assert!(reads_as("…96px…", "resnet152-zero-init-96px-crop0.5-90-s1"));
        assert!(!reads_as("resnet…", "alexnet-resnet"));
        // The start and the end cannot share characters.
        assert!(!reads_as("ab…ba", "aba"));
        assert!(reads_as("ab…ba", "abba"));
        assert!(reads_as("short", "short") && !reads_as("short", "shorter"));
    }

    #[test]
    fn words_keep_their_separators() {
        assert_eq!(
            words("resnet18-64px_a b/c"),
            ["resnet18-", "64px_", "a ", "b/", "c"]
        );
        assert_eq!(words("-lead--x-"), ["-lead--", "x-"]);
        assert_eq!(
            words("crop0.5-lr1e-4-e-4"),
            ["crop0.5-", "lr1e-4-", "e-", "4"]
        );
        assert_eq!(
            join_kept(&words("a-b-c-d"), &[true, false, true, false]),
            "a…c…"
        );
        assert_eq!(
            join_kept(&words("a-b-c-d"), &[false, true, true, true]),
            "…b-c-d"
        );
    }

    /// A CJK character or an emoji takes two columns: cuts and the editor's tail fit the
    /// columns, not the characters.
    #[test]
    fn wide_characters_count_two_columns() {
        assert_eq!(columns("学習率 🚀"), 9);
        let cut = ellipsize("学習率が高すぎた", 9);
        assert_eq!(cut, "学習率が…");
        assert!(columns(&cut) <= 9);
        let middle = ellipsize_middle("ab学習率が高すぎたcd", 10);
        assert!(columns(&middle) <= 10, "{middle}");
        assert!(
            middle.starts_with("ab") && middle.ends_with("cd"),
            "{middle}"
        );
        let tail = input_tail("メモ: 学習率が高すぎた", 12);
        assert!(columns(&tail) < 12, "room for the cursor: {tail}");
        assert!(tail.starts_with('…') && tail.ends_with("すぎた"), "{tail}");
        for width in 1..20u16 {
            for row in rows("lr が高すぎた: 学習率を下げる 🚀 next", width, 0) {
                assert!(columns(&row) <= usize::from(width).max(2), "{width}: {row}");
            }
        }
        assert_eq!(rows("学習率が高すぎた", 8, 0), ["学習率が", "高すぎた"]);
        // An emoji with a variation selector takes two columns together, one and none apart.
        let warn = "ab⚠\u{FE0F}cd ⚠\u{FE0F} diverged ⚠\u{FE0F}";
        for width in 0..columns(warn) + 2 {
            for cut in [
                ellipsize(warn, width),
                ellipsize_middle(warn, width),
                input_tail(warn, width),
            ] {
                assert!(columns(&cut) <= width.max(1), "{width}: {cut}");
            }
            // (A width of 0 means no wrapping.)
            for row in rows(warn, width.max(1) as u16, 0) {
                assert!(columns(&row) <= width.max(2), "{width}: {row}");
            }
        }
    }

    /// Counting on across plain ASCII cuts where measuring each start and end whole would,
    /// sequences included (a keycap `1️⃣` is a digit, a variation selector and a mark).
    #[test]
    fn counted_cuts_agree_with_measured_ones() {
        fn measured_start(t: &str, room: usize) -> &str {
            let ends = t.char_indices().map(|(i, c)| i + c.len_utf8());
            let end = ends.take_while(|&e| columns(&t[..e]) <= room).last();
            &t[..end.unwrap_or(0)]
        }
        fn measured_end(t: &str, room: usize) -> &str {
            let starts = t.char_indices().rev().map(|(i, _)| i);
            let start = starts.take_while(|&i| columns(&t[i..]) <= room).last();
            &t[start.unwrap_or(t.len())..]
        }
        for t in [
            "resnet18-b32 ab",
            "x 1\u{FE0F}\u{20E3} y",
            "a⚠\u{FE0F}b 学習率 #\u{FE0F}\u{20E3}",
            "1\u{FE0F}\u{20E3}",
        ] {
            for room in 0..=columns(t) + 1 {
                assert_eq!(
                    start_within(t, room),
                    measured_start(t, room),
                    "{t:?} {room}"
                );
                assert_eq!(end_within(t, room), measured_end(t, room), "{t:?} {room}");
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

    /// An error listing its problems reads on one status line.
    #[test]
    fn lines_are_run_together_readably() {
        let text = "sweep spec 't.toml' has 2 problems; nothing was started:\nrun 2 (lr = 0):\n  \
                    lr must be positive\n  batch must be even\nruns 1 and 3 are both named \"a\"\n";
        assert_eq!(
            one_line(text),
            "sweep spec 't.toml' has 2 problems; nothing was started: run 2 (lr = 0): lr must be \
             positive · batch must be even · runs 1 and 3 are both named \"a\""
        );
        assert_eq!(one_line("one line"), "one line");
    }
}
