//! Human-readable times and numbers, shared by the runs table, the dashboard and reports, and
//! shell words for the commands messages suggest.

/// A sha256 or commit as the tables show it: its first 12 hex digits.
pub fn short_hash(h: &str) -> String {
    h.chars().take(12).collect()
}

/// ` (a relative path, in a --config file too, is read from the current directory, /cwd)`
/// for a relative `path` a message says is missing; nothing for an absolute one.
pub fn relative_path_note(path: &std::path::Path) -> String {
    if path.is_absolute() {
        return String::new();
    }
    let cwd = std::env::current_dir().map_or_else(|_| ".".into(), |d| d.display().to_string());
    format!(" (a relative path, in a --config file too, is read from the current directory, {cwd})")
}

/// `2026-11-28 06:53` (UTC) from seconds since the Unix epoch.
pub fn timestamp(secs: f64) -> String {
    let secs = secs.max(0.0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// `45s`, `12m05s`, `3h07m`.
///
/// ```
/// assert_eq!(facenet_lab::format::duration(725.0), "12m05s");
/// ```
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as i64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Reads `90`, `90s`, `5m`, `1.5h` or `1h30m` (a bare number is seconds).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(facenet_lab::format::parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
/// ```
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("'{text}' is not a duration: write e.g. 90s, 5m, 1.5h or 1h30m");
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    let mut secs = 0.0;
    let mut rest = s;
    // Hours, minutes, seconds: each at most once and in that order, a fraction only last
    // (1h30m, 1.5h; not 30m1h or 1.5h30m).
    let mut last_scale = f64::INFINITY;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..n];
        let value: f64 = number.parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let unit = rest.chars().next();
        let scale = match unit {
            None if n == s.len() => 1.0,
            Some('s') => 1.0,
            Some('m') => 60.0,
            Some('h') => 3600.0,
            _ => return Err(bad()),
        };
        rest = unit.map_or(rest, |u| &rest[u.len_utf8()..]);
        if scale >= last_scale || (number.contains('.') && !rest.is_empty()) {
            return Err(bad());
        }
        last_scale = scale;
        secs += value * scale;
    }
    std::time::Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// A loss as the dashboard shows it: `0.0871`, or a diverging one in its nine columns as
/// `1.50e10`, not `150000000` cut from it.
pub fn loss(v: f64) -> String {
    if v.abs() >= 1e4 {
        format!("{v:.2e}")
    } else {
        format!("{v:.4}")
    }
}

/// A setting as written (`0.0005`, `0.5`, `64`), or in powers of ten below 1e-5 or from 1e6
/// on (`1e-12`, `1e30`, not thirty places).
pub fn setting(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-5 || v.abs() >= 1e6) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// An optional number with fixed decimals, or `-`.
pub fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// This process's command line as a shell would take it back, each word quoted where it needs
/// to be: what a run, a resume or an evaluation records as the command that made it.
pub fn this_command_line() -> String {
    std::env::args()
        .map(|a| shell_quote(&a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` as a POSIX shell reads it back: unchanged when it holds only safe characters, else in
/// single quotes.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// `n` and the noun, singular for one: `1 run`, `3 runs`, `0 runs`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A size on disk in decimal units, three digits at most before a unit past bytes: `512 B`,
/// `812 kB`, `45.2 MB`, `1.20 GB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 999.5 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    let decimals = if value < 9.995 {
        2
    } else if value < 99.95 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {unit}")
}

/// Left-aligned text columns separated by two spaces; numbers are right-aligned, and so is the
/// `-` of a missing number in a column of numbers.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let numeric = |s: &str| !s.is_empty() && s.parse::<f64>().is_ok();
    let of_numbers: Vec<bool> = (0..widths.len())
        .map(|i| rows.iter().any(|r| r.get(i).is_some_and(|c| numeric(c))))
        .collect();
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let parts: Vec<String> = cells
            .zip(widths.iter().zip(&of_numbers))
            .map(|(c, (&w, &in_numbers))| {
                if numeric(c) || (c == "-" && in_numbers) {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// For serde's "unknown field `image_sise`, expected one of `model`, `image_size`, ..." in
/// `message`: the known field nearest the unknown one, where one is near enough to be the one
/// meant (`did you mean image_size?`).
pub fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message.split_once("unknown field `")?.1;
    let (unknown, rest) = rest.split_once('`')?;
    let known = rest.split_once("expected one of ")?.1;
    let known: Vec<&str> = known.split(", ").map(|k| k.trim_matches('`')).collect();
    nearest(unknown, &known, false)
        .map(|nearest| format!("`{unknown}` is no setting: did you mean `{nearest}`?"))
}

/// For serde's "unknown variant `resnet19`, expected one of `alexnet`, `resnet18`, `resnet152`"
/// (or "expected `constant` or `cosine`") in `message`, of the setting `key` where it is known:
/// the value as it was written, the values the setting takes, and the one meant where one is
/// near enough (`model = "resnet19" is not one of ...: did you mean `resnet18`?`), as `run`
/// says it of its command line.
pub fn unknown_variant_hint(message: &str, key: Option<&str>) -> Option<String> {
    let rest = message.split_once("unknown variant `")?.1;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest.split_once("expected ")?.1.trim();
    let known: Vec<&str> = match expected.strip_prefix("one of ") {
        Some(list) => list.split(", ").collect(),
        None => expected.split(" or ").collect(),
    };
    let known: Vec<&str> = known.into_iter().map(|k| k.trim_matches('`')).collect();
    let value = toml::Value::String(unknown.to_string()).to_string();
    let given = match key {
        Some(key) => format!("{key} = {value}"),
        None => value,
    };
    let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
    let mut hint = format!("{given} is not one of {}", list.join(", "));
    if let Some(meant) = nearest(unknown, &known, true) {
        hint.push_str(&format!(": did you mean `{meant}`?"));
    }
    Some(hint)
}

/// The word of `known` nearest `unknown`, where it is near enough to be a slip, not so near
/// that any short word matches (`bs` is no `lr`); letters' case aside where `any_case`
/// (`ResNet18` is `resnet18`).
fn nearest<'a>(unknown: &str, known: &[&'a str], any_case: bool) -> Option<&'a str> {
    let fold = |word: &str| {
        if any_case {
            word.to_lowercase()
        } else {
            word.to_string()
        }
    };
    let (distance, nearest) = known
        .iter()
        .map(|&k| (edit_distance(&fold(unknown), &fold(k)), k))
        .min()?;
    let len = unknown.chars().count();
    (distance <= 1.max(len / 3) && distance < len).then_some(nearest)
}

/// The key toml names `e` of, where it names one: its Display says `in `model`` where it has
/// no text to show the key in. toml 0.9 keeps the key private and gives no other way to it;
/// `toml_error`'s tests of a misspelt value (`model = "resnet19"`) fail if this way goes.
fn error_key(e: &toml::de::Error) -> Option<String> {
    let mut bare = e.clone();
    bare.set_input(None);
    let said = bare.to_string();
    let key = said
        .lines()
        .last()?
        .strip_prefix("in `")?
        .strip_suffix('`')?;
    Some(key.to_string())
}

/// What a value of the wrong type should look like, where serde names the type as Rust spells
/// it (`invalid type: string "big", expected usize`) or says it tersely (`expected a sequence`).
fn type_hint(message: &str) -> Option<String> {
    let expected = message.rsplit_once("expected ")?.1.trim();
    let quoted = message.starts_with("invalid type: string");
    let bare = if quoted { ", without quotes" } else { "" };
    let (what, e_g) = match expected {
        "usize" | "u64" | "u32" | "u16" | "u8" => ("a whole number, not negative", bare),
        "i64" | "i32" => ("a whole number", bare),
        "f64" | "f32" => ("a number", bare),
        "a boolean" => ("true or false", bare),
        "a string" => ("text in double quotes", ""),
        "a sequence" => ("a list in brackets", ""),
        _ => return None,
    };
    let example = match what {
        "a whole number" | "a whole number, not negative" => " (e.g. 64)",
        "a number" => " (e.g. 0.2 or 1e-4)",
        "text in double quotes" => " (e.g. \"lfw-20-30\")",
        "a list in brackets" => " (e.g. [\"a\", \"b\"])",
        _ => "",
    };
    Some(format!("the value must be {what}{e_g}{example}"))
}

/// A TOML file's error, `hint` (or else [`unknown_field_hint`], [`unknown_variant_hint`]) said
/// before it where there is one.
pub fn toml_error(e: toml::de::Error, hint: Option<String>) -> anyhow::Error {
    if let Some(meant) = hint
        .is_none()
        .then(|| {
            unknown_field_hint(e.message())
                .or_else(|| unknown_variant_hint(e.message(), error_key(&e).as_deref()))
        })
        .flatten()
    {
        // The setting (or value) meant is named, or the values taken listed: the list of every
        // one after it says no more.
        let message = e.message();
        let short = message
            .split_once(", expected ")
            .map_or(message, |(unknown, _)| unknown);
        let said = e.to_string().replace(message, short);
        return anyhow::anyhow!("{}", said.trim_end()).context(meant);
    }
    let hint = hint.or_else(|| type_hint(e.message()));
    match hint {
        Some(hint) => anyhow::Error::from(e).context(hint),
        None => e.into(),
    }
}

/// A TOML file's error as one of a list of problems: what is wrong, on a line of its own (the
/// hint of [`toml_error`] where there is one, else toml's words), and below it, indented, the
/// line of the file it is on with a caret under the word, as toml shows it.
pub fn toml_problem(e: toml::de::Error, hint: Option<String>) -> String {
    let message = e.message().to_string();
    let said = toml_error(e, hint);
    let mut chain = said.chain().map(|c| c.to_string());
    let (words, located) = match (chain.next(), chain.next()) {
        (Some(hint), Some(located)) => (hint, located),
        // No hint: toml's words, which it says last, go first.
        (Some(located), None) => match located.trim_end().strip_suffix(&message) {
            Some(place) if !place.trim().is_empty() => (message, place.to_string()),
            _ => return located.trim_end().to_string(),
        },
        _ => return message,
    };
    format!("{words}\n  {}", located.trim_end().replace('\n', "\n  "))
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_decimal_units_with_three_digits() {
        let said: Vec<String> = [0, 999, 1000, 45_230_000, 812_400, 99_960, 1_200_000_000]
            .into_iter()
            .map(bytes)
            .collect();
        assert_eq!(
            said,
            ["0 B", "999 B", "1.00 kB", "45.2 MB", "812 kB", "100 kB", "1.20 GB"]
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_says_what_is_wanted_in_plain_words() {
        let hint = |m: &str| type_hint(m).unwrap_or_default();
        assert_eq!(
            hint(r#"invalid type: string "big", expected usize"#),
            "the value must be a whole number, not negative, without quotes (e.g. 64)"
        );
        assert_eq!(
            hint("invalid type: floating point `0.5`, expected u64"),
            "the value must be a whole number, not negative (e.g. 64)"
        );
        assert_eq!(
            hint("invalid value: integer `-4`, expected usize"),
            "the value must be a whole number, not negative (e.g. 64)"
        );
        assert_eq!(
            hint(r#"invalid type: string "1e-4", expected f64"#),
            "the value must be a number, without quotes (e.g. 0.2 or 1e-4)"
        );
        assert_eq!(
            hint(r#"invalid type: string "yes", expected a boolean"#),
            "the value must be true or false, without quotes"
        );
        assert_eq!(
            hint("invalid type: integer `5`, expected a string"),
            r#"the value must be text in double quotes (e.g. "lfw-20-30")"#
        );
        assert_eq!(
            hint(r#"invalid type: string "x", expected a sequence"#),
            r#"the value must be a list in brackets (e.g. ["a", "b"])"#
        );
        assert_eq!(
            type_hint("unknown variant `step`, expected `constant` or `cosine`"),
            None
        );
    }

    /// Where the setting meant is named, toml's list of every setting is left out; where none
    /// is near, the list stays, for the reader to find theirs.
    #[test]
    fn a_misspelt_key_names_the_one_meant_without_the_whole_list() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Three {
            image_size: Option<u32>,
            seed: Option<u32>,
            model: Option<String>,
        }
        let said = |text: &str| {
            let e = toml::from_str::<Three>(text).unwrap_err();
            format!("{:#}", toml_error(e, None))
        };
        let near = said("image_sise = 64\n");
        assert!(
            near.starts_with("`image_sise` is no setting: did you mean `image_size`?: TOML parse error at line 1"),
            "{near}"
        );
        assert!(near.ends_with("unknown field `image_sise`"), "{near}");
        assert!(
            near.contains("1 | image_sise = 64"),
            "the caret stays: {near}"
        );
        let far = said("colour = 1\n");
        assert!(far.contains("unknown field `colour`, expected"), "{far}");
    }

    /// A value the setting does not take is said as `run` says it of its command line: the key
    /// and the value, the values it takes, and the one meant where one is near.
    #[test]
    fn an_unknown_value_names_the_values_taken_and_the_one_meant() {
        let models =
            "unknown variant `resnet19`, expected one of `alexnet`, `resnet18`, `resnet152`";
        assert_eq!(
            unknown_variant_hint(models, Some("model")).as_deref(),
            Some(
                "model = \"resnet19\" is not one of `alexnet`, `resnet18`, `resnet152`: did you \
                 mean `resnet18`?"
            )
        );
        assert_eq!(
            unknown_variant_hint(
                "unknown variant `Cosine`, expected `constant` or `cosine`",
                None
            )
            .as_deref(),
            Some("\"Cosine\" is not one of `constant`, `cosine`: did you mean `cosine`?")
        );
        assert_eq!(
            unknown_variant_hint(
                "unknown variant `easy`, expected one of `all`, `semihard`, `hard`",
                Some("mining")
            )
            .as_deref(),
            Some("mining = \"easy\" is not one of `all`, `semihard`, `hard`")
        );
        assert_eq!(
            unknown_variant_hint("unknown field `x`, expected `y`", None),
            None
        );

        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Model {
            Alexnet,
            Resnet18,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct One {
            model: Model,
        }
        // toml's own error, with its line and caret: the key is named, the list said once.
        let e = toml::from_str::<One>("model = \"resnet19\"\n").unwrap_err();
        let said = format!("{:#}", toml_error(e.clone(), None));
        assert!(
            said.starts_with(
                "model = \"resnet19\" is not one of `alexnet`, `resnet18`: did you mean \
                 `resnet18`?: TOML parse error at line 1, column 9"
            ),
            "{said}"
        );
        assert!(said.ends_with("unknown variant `resnet19`"), "{said}");
        // As one of a list of problems: the words on a line of their own, the place below.
        assert_eq!(
            toml_problem(e, None),
            "model = \"resnet19\" is not one of `alexnet`, `resnet18`: did you mean `resnet18`?\n  \
             TOML parse error at line 1, column 9\n    |\n  1 | model = \"resnet19\"\n    \
             |         ^^^^^^^^^^\n  unknown variant `resnet19`"
        );
        // Without a hint, toml's words go first, and are not said again below.
        let e = toml::from_str::<One>("model = 5\n").unwrap_err();
        let said = toml_problem(e, None);
        assert!(
            said.starts_with("wanted string or table\n  TOML parse error at line 1, column 9\n")
                && said.ends_with("1 | model = 5\n    |         ^"),
            "{said}"
        );
    }

    #[test]
    fn an_unknown_field_near_a_known_one_is_named() {
        let said = "unknown field `image_sise`, expected one of `model`, `image_size`, `seed`";
        assert_eq!(
            unknown_field_hint(said).as_deref(),
            Some("`image_sise` is no setting: did you mean `image_size`?")
        );
        assert_eq!(
            unknown_field_hint("unknown field `colour`, expected one of `model`, `seed`"),
            None
        );
        assert_eq!(unknown_field_hint("invalid type: string"), None);
        assert_eq!(
            unknown_field_hint("unknown field `bs`, expected one of `lr`, `seed`"),
            None
        );
        assert!(unknown_field_hint("unknown field `sed`, expected one of `lr`, `seed`").is_some());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn settings_read_as_written_and_tiny_ones_in_powers_of_ten() {
        assert_eq!(setting(0.0005), "0.0005");
        assert_eq!(setting(0.00002), "0.00002");
        assert_eq!(setting(1e-12), "1e-12");
        assert_eq!(setting(0.0), "0");
        assert_eq!(setting(64.0), "64");
        assert_eq!(setting(250_000.0), "250000");
        assert_eq!(setting(1e30), "1e30");
    }

    #[test]
    fn durations_read_units_and_compounds() {
        let secs = |s: &str| parse_duration(s).map(|d| d.as_secs_f64());
        assert_eq!(secs("90"), Ok(90.0));
        assert_eq!(secs("90s"), Ok(90.0));
        assert_eq!(secs("5m"), Ok(300.0));
        assert_eq!(secs("1.5h"), Ok(5400.0));
        assert_eq!(secs("1h30m"), Ok(5400.0));
        assert_eq!(secs("2m30s"), Ok(150.0));
        assert_eq!(secs("1h0.5m"), Ok(3630.0));
        for bad in [
            "", "m", "5d", "1h30", "-5m", "five", "1..5s", "1.5h30m", "30m1h", "5m5m",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("not a duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn timestamps_match_known_dates() {
        // date -u -d @0 / @951782400 (leap day 2000) / @1795849980
        assert_eq!(timestamp(0.0), "1970-01-01 00:00");
        assert_eq!(timestamp(951_782_400.0), "2000-02-29 00:00");
        assert_eq!(timestamp(1_795_849_980.0), "2026-11-28 07:13");
    }

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(duration(42.4), "42s");
        assert_eq!(duration(725.0), "12m05s");
        assert_eq!(duration(11_220.0), "3h07m");
        assert_eq!(opt(None, 2), "-");
        assert_eq!(opt(Some(0.456), 2), "0.46");
    }

    #[test]
    fn columns_line_up() {
        let t = table(
            &["id", "name"],
            &[
                vec!["7".into(), "r18".into()],
                vec!["12".into(), "x".into()],
            ],
        );
        assert_eq!(t, "id  name\n 7  r18\n12  x\n");
    }

    #[test]
    fn a_missing_number_lines_up_with_the_numbers() {
        let t = table(
            &["best dev", "started"],
            &[
                vec!["0.403".into(), "-".into()],
                vec!["-".into(), "2026-11-29".into()],
            ],
        );
        assert_eq!(t, "best dev  started\n   0.403  -\n       -  2026-11-29\n");
    }

    #[test]
    fn shell_words_and_counts() {
        assert_eq!(shell_quote("runs/lab-2.db"), "runs/lab-2.db");
        assert_eq!(shell_quote("my lab's.db"), r"'my lab'\''s.db'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(count(1u64, "run", "runs"), "1 run");
        assert_eq!(count(0u64, "run", "runs"), "0 runs");
        assert_eq!(count(3u64, "epoch", "epochs"), "3 epochs");
    }
}
