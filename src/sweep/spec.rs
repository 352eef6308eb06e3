//! Sweep specs: a tag, shared `[base]` keys, and an explicit `[[runs]]` list and/or a `[grid]`
//! whose lists are crossed, expanded into one validated run configuration per run.
//!
//! ```toml
//! tag = "seed-table"
//! description = "The seed repository's six rows"
//! time_limit = "2h"   # each run stops, resumable, after 2 h of training (optional)
//! [base]
//! epochs = 100
//! [[runs]]
//! model = "resnet18"
//! batch = 32
//! [grid]
//! model = ["resnet18", "alexnet"]
//! batch = [32, 64]
//! ```
//! The `[[runs]]` entries come first, in file order, then the grid's combinations in the order
//! of its keys sorted by name, the last key varying fastest. A run's keys override `[base]`.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use toml::de::{DeTable, DeValue, Error as DeError};
use toml::{Spanned, Table, Value};

use super::config::{
    is_no_model, key_problems, located_problem, model_free_rule_problems, problems, split_bad_keys,
    RunConfig,
};

/// The spec's own keys. Each key of the file is read apart ([`SpecFile::read`]), so all are
/// optional here: a misspelt key or a value of the wrong type hides none of the others.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    tag: Option<String>,
    description: Option<String>,
    /// Each run's `--time-limit`: how this sweep runs them, not what they are. A string as
    /// `--time-limit` takes it (`"2h"`), or a number of seconds.
    time_limit: Option<Value>,
    base: Option<Table>,
    runs: Option<Vec<Table>>,
    grid: Option<Table>,
}

impl SpecFile {
    /// The spec's keys in `text`, and those it could not take: an unknown key or a value of the
    /// wrong type, each with toml's error (its line and a caret under the word), in file order.
    /// An error only where `text` is no TOML at all.
    fn read(text: &str) -> std::result::Result<(SpecFile, Vec<(String, DeError)>), DeError> {
        let root = DeTable::parse(text)?;
        let span = root.span();
        let mut entries: Vec<_> = root.into_inner().into_iter().collect();
        entries.sort_by_key(|(key, _)| key.span().start);
        let mut file = SpecFile::default();
        let mut unread = Vec::new();
        for (key, value) in entries {
            let name = key.get_ref().to_string();
            // One key in a table of its own, its spans still those of `text`.
            let mut alone = DeTable::new();
            alone.insert(key, value);
            let one = toml::de::Deserializer::from(Spanned::new(span.clone(), alone));
            match SpecFile::deserialize(one) {
                Ok(part) => file.take(part),
                Err(mut e) => {
                    e.set_input(Some(text));
                    unread.push((name, e));
                }
            }
        }
        Ok((file, unread))
    }

    /// `part`'s keys (one, from [`SpecFile::read`]) added to these.
    fn take(&mut self, part: SpecFile) {
        self.tag = part.tag.or(self.tag.take());
        self.description = part.description.or(self.description.take());
        self.time_limit = part.time_limit.or(self.time_limit.take());
        self.base = part.base.or(self.base.take());
        self.runs = part.runs.or(self.runs.take());
        self.grid = part.grid.or(self.grid.take());
    }
}

/// Each bad key of the spec's `[base]`, `[[runs]]` entries and `[grid]` values as toml says it
/// where it stands: its line, and a caret under the key or value. The checks compare the bare
/// words of [`split_bad_keys`] (each mistake once, where it is); these are said in their place.
#[derive(Debug, Default)]
struct Located {
    /// `[base]`'s bad keys: (key, what toml says of it there).
    base: Vec<(String, String)>,
    /// Each `[[runs]]` entry's, in file order.
    runs: Vec<Vec<(String, String)>>,
    /// Each `[grid]` list's, by key: each value's in list order, none where it is good.
    grid: Vec<(String, Vec<Option<String>>)>,
}

impl Located {
    /// The bad keys of the spec `text`; none where it is no TOML (said otherwise).
    fn read(text: &str) -> Located {
        let mut located = Located::default();
        let Ok(root) = DeTable::parse(text) else {
            return located;
        };
        // In file order.
        let keys_of = |table: &DeTable| -> Vec<(String, String)> {
            let mut keys: Vec<_> = table.iter().collect();
            keys.sort_by_key(|(key, _)| key.span().start);
            keys.into_iter()
                .filter_map(|(key, value)| {
                    Some((
                        key.get_ref().to_string(),
                        located_problem(text, key, value)?,
                    ))
                })
                .collect()
        };
        for (key, value) in root.get_ref() {
            match (key.get_ref().as_ref(), value.get_ref()) {
                ("base", DeValue::Table(base)) => located.base = keys_of(base),
                ("runs", DeValue::Array(entries)) => {
                    located.runs = entries
                        .iter()
                        .map(|e| e.get_ref().as_table().map(keys_of).unwrap_or_default())
                        .collect();
                }
                ("grid", DeValue::Table(grid)) => {
                    located.grid = grid
                        .iter()
                        .filter_map(|(key, list)| {
                            let DeValue::Array(values) = list.get_ref() else {
                                return None;
                            };
                            let each = values
                                .iter()
                                .map(|value| located_problem(text, key, value))
                                .collect();
                            Some((key.get_ref().to_string(), each))
                        })
                        .collect();
                }
                _ => {}
            }
        }
        located
    }

    /// The located problem of the `[grid]` list `key`'s value at `index`, as for a table.
    fn grid_value(&self, key: &str, index: usize) -> Vec<(String, String)> {
        self.grid
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, each)| each.get(index).cloned().flatten())
            .map(|said| vec![(key.to_string(), said)])
            .unwrap_or_default()
    }
}

/// `problems` of the keys `table` sets, each bad key's bare words ([`split_bad_keys`]) given
/// with its line and caret from `located` in their place, in the file's order; then a rule's,
/// or one `located` lacks (`sweep --data`'s data), as they are.
fn in_place(problems: Vec<String>, table: &Table, located: &[(String, String)]) -> Vec<String> {
    let (_, bad) = split_bad_keys(table);
    let mut placed: Vec<(Option<usize>, String)> = problems
        .into_iter()
        .map(|problem| {
            bad.iter()
                .filter(|(_, plain)| *plain == problem)
                .find_map(|(key, _)| located.iter().position(|(k, _)| k == key))
                .map_or((None, problem), |at| (Some(at), located[at].1.clone()))
        })
        .collect();
    // Those without a place (None) last, each kind in the order it came.
    placed.sort_by_key(|(at, _)| at.map_or((1, 0), |at| (0, at)));
    placed.into_iter().map(|(_, said)| said).collect()
}

/// A spec without `tag`, which no other mistake of it hides.
const UNTAGGED: &str = "missing field `tag`: a sweep spec starts with `tag = \"NAME\"`, which \
                        names its runs and the folder of their logs";

/// A parsed, expanded and validated sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    pub tag: String,
    pub description: String,
    /// Every run's `--time-limit` (`90m`, `2h`), as the spec writes it.
    pub time_limit: Option<String>,
    /// The images every run trains on where `sweep --data` gave them (in its configs too).
    pub data: Option<String>,
    /// One configuration per run, each tagged with [`SweepSpec::tag`] and named.
    pub configs: Vec<RunConfig>,
}

impl SweepSpec {
    /// Parses `text` (from the file `source`, named in errors). Every invalid run is reported at
    /// once, and nothing is returned unless all of them are valid.
    pub fn parse(text: &str, source: &str) -> Result<SweepSpec> {
        Self::parse_onto(text, source, None)
    }

    /// [`SweepSpec::parse`], every run training on `data` where it is given (`sweep --data`):
    /// before the checks and the names, so that runs which differ only in their data are the
    /// same run, and no name tells of data the run does not read.
    pub fn parse_onto(text: &str, source: &str, data: Option<&str>) -> Result<SweepSpec> {
        let (file, mut unread) = SpecFile::read(text)
            .map_err(|e| crate::format::toml_error(e, None))
            .with_context(|| format!("reading sweep spec '{source}'"))?;
        let unread_keys: Vec<String> = unread.iter().map(|(k, _)| k.clone()).collect();
        let unread_key = |key: &str| unread_keys.iter().any(|k| k == key);
        // A single run's --config file (its keys at the top): say which command takes it.
        let one_run = unread_key("model")
            && file.base.is_none()
            && file.runs.is_none()
            && file.grid.is_none()
            && !["runs", "grid", "base"].iter().any(|k| unread_key(k));
        if one_run && !unread.is_empty() {
            let (_, e) = unread.remove(0);
            return Err(crate::format::toml_error(e, None)).with_context(|| {
                format!(
                    "reading sweep spec '{source}': it holds one run's settings, not a sweep \
                     (no [base], [[runs]] or [grid]); start it with `facenet-lab run --config \
                     {source}`"
                )
            });
        }
        // Where [base] or [[runs]] could not be read, the runs are not known: the rules they
        // break (their model comes from [base], their numbers after [[runs]]) wait until it is
        // fixed, but each key of theirs is checked as it stands, a bad one said all the same.
        let runs_known = !unread_key("base") && !unread_key("runs");
        let tag_given = file.tag.is_some() || unread_key("tag");
        // Every problem of the spec, said at once: (how many problems, what they are).
        let mut errors: Vec<(usize, String)> = unread
            .into_iter()
            .map(|(_, e)| (1, crate::format::toml_problem(e, None)))
            .collect();
        if !tag_given {
            errors.push((1, UNTAGGED.to_string()));
        }
        let tag = file.tag.as_deref().unwrap_or_default().trim().to_string();
        if let Some(given) = &file.tag {
            if tag.is_empty() || tag.contains([',', ';', ' ', '/']) {
                errors.push((
                    1,
                    format!(
                        "tag = {given:?} must be a non-empty word (no spaces, commas, semicolons \
                         or slashes)"
                    ),
                ));
            }
        }
        let time_limit = match &file.time_limit {
            None => None,
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(Value::Integer(n)) => Some(n.to_string()),
            Some(Value::Float(x)) => Some(x.to_string()),
            Some(other) => Some(other.to_string()),
        };
        if let Some(limit) = &time_limit {
            match crate::format::parse_duration(limit) {
                Ok(d) if d.is_zero() => errors.push((
                    1,
                    "time_limit must be longer than 0 s (leave it out for no limit)".into(),
                )),
                Ok(_) => {}
                Err(e) => errors.push((1, format!("time_limit: {e}"))),
            }
        }
        // Each run's own keys, laid over [base].
        let base = file.base.unwrap_or_default();
        let listed = file.runs.unwrap_or_default();
        let mut own: Vec<Table> = listed.clone();
        // Whether every run of the grid is known: not while it is unread or a key is no list.
        let mut grid_whole = !unread_key("grid");
        let mut combos = Vec::new();
        let mut lists = Vec::new();
        if let Some(grid) = &file.grid {
            let (runs, bad) = expand_grid(grid);
            grid_whole &= bad.is_empty();
            own.extend(runs.iter().cloned());
            combos = runs;
            lists = grid_lists(grid);
            errors.extend(bad.into_iter().map(|b| (1, b)));
            errors.extend(repeated_grid_values(&lists).into_iter().map(|b| (1, b)));
        }
        if own.is_empty() && errors.is_empty() {
            bail!("sweep spec '{source}' defines no runs: add [[runs]] entries or a [grid]");
        }
        if let Some(data) = data {
            for run in &mut own {
                run.insert("data".into(), Value::String(data.into()));
            }
        }
        let mut configs: Vec<RunConfig> = own.iter().map(|r| overlay(&base, r)).collect();
        let located = Located::read(text);
        let layout = Layout {
            located: &located,
            base: &base,
            data,
            listed: listed.len(),
            combos: &combos,
            lists,
            rules: runs_known,
        };
        // A bad [base] key is one problem, said once; a run that keeps it is still checked
        // with it (a bad model is not a missing one), without saying it again. With a bad
        // model the rules that depend on it wait until it is fixed; those every model has
        // (`lr = -1.0`) do not. Where the runs are not known, their keys alone are checked.
        errors.extend(said_once(&layout, &configs, &own));
        name_runs(&mut configs, &tag);
        if runs_known {
            // Runs are compared with each other among those known whole: the [[runs]] alone
            // while a grid key is no list (its runs would differ by that key's values).
            let whole = if grid_whole {
                configs.len()
            } else {
                listed.len()
            };
            let one_each = |found: Vec<String>| found.into_iter().map(|e| (1, e));
            errors.extend(one_each(duplicate_names(&layout, &configs[..whole], &own)));
            errors.extend(one_each(repeated_runs(&layout, &configs[..whole], &own)));
        }
        if !errors.is_empty() {
            let n: usize = errors.iter().map(|(n, _)| n).sum();
            let said: Vec<String> = errors.into_iter().map(|(_, e)| e).collect();
            bail!(
                "sweep spec '{source}' has {}; nothing was started:\n{}",
                crate::format::count(n as u64, "problem", "problems"),
                said.join("\n")
            );
        }
        for config in &mut configs {
            add_tag(config, &tag);
        }
        Ok(SweepSpec {
            tag,
            description: file.description.unwrap_or_default(),
            time_limit,
            data: data.map(str::to_string),
            configs,
        })
    }
}

/// Where each run's keys come from: `[base]`, then its `[[runs]]` entry or the values of the
/// grid's combination it is.
struct Layout<'a> {
    /// Each bad key of the spec where it stands, to say it there.
    located: &'a Located,
    base: &'a Table,
    /// `sweep --data`, in every run in place of the spec's data.
    data: Option<&'a str>,
    /// How many runs are `[[runs]]` entries (they come first).
    listed: usize,
    /// The values of each grid run, the `[[runs]]` entries' runs aside.
    combos: &'a [Table],
    /// The grid's lists, by key.
    lists: Vec<(String, Vec<Value>)>,
    /// Whether the rules between keys are checked, not only each key as it stands: not where
    /// the runs are not known (an unread [base] may hold the keys that mend them).
    rules: bool,
}

impl Layout<'_> {
    /// `[base]` as every run takes it: with `sweep --data`'s data.
    fn base_for_runs(&self) -> Table {
        let mut base = self.base.clone();
        if let Some(data) = self.data {
            base.insert("data".into(), Value::String(data.into()));
        }
        base
    }

    /// The grid's values of run `i`, none for a `[[runs]]` entry.
    fn combo(&self, i: usize) -> Option<&Table> {
        i.checked_sub(self.listed).and_then(|g| self.combos.get(g))
    }

    /// Whether run `i` is a grid run whose values an earlier grid run has too: a value listed
    /// twice in the grid, said once as that ([`repeated_grid_values`]).
    fn repeats_a_grid_run(&self, i: usize) -> bool {
        let Some(mine) = self.combo(i) else {
            return false;
        };
        (self.listed..i).any(|j| self.combo(j) == Some(mine))
    }

    /// Where run `i`'s name comes from, given `own`, each run's own keys.
    fn name_from(&self, i: usize, own: &[Table]) -> NameFrom {
        if own[i].contains_key("name") {
            if i < self.listed {
                NameFrom::Entry
            } else {
                NameFrom::Grid
            }
        } else if self.base.contains_key("name") {
            NameFrom::Base
        } else {
            NameFrom::Made
        }
    }
}

/// `label:` and `problems` below it, each indented (a problem of several lines, toml's line and
/// caret, all of it), counted; nothing where there are none.
fn entry(label: &str, problems: Vec<String>) -> Option<(usize, String)> {
    (!problems.is_empty()).then(|| {
        let said: Vec<String> = problems.iter().map(|p| p.replace('\n', "\n  ")).collect();
        (problems.len(), format!("{label}:\n  {}", said.join("\n  ")))
    })
}

/// Every run's problems, each said once, where it comes from: `[base]:` for what its keys
/// break alone (every run that takes them would), `[grid] lr = -1.0:` for what a grid value
/// breaks with [base] in every run of it (`[grid] imagesize = [64, 128]:` for what each of a
/// key's values breaks alike, as a misspelt key), and `run 2 (lr = 0.0):` for the rest, each
/// run labelled by the keys that tell it apart from the others: its [[runs]] entry's mistakes,
/// and those of a combination of values (warmup_epochs of one grid list against epochs of
/// another). `own[i]` are the keys run `i` sets itself (a bad one it takes from [base] is
/// reported there). Without [`Layout::rules`], only the keys' own mistakes.
fn said_once(layout: &Layout, configs: &[RunConfig], own: &[Table]) -> Vec<(usize, String)> {
    let found: Vec<Vec<String>> = configs
        .iter()
        .zip(own)
        .map(|(config, own)| {
            if layout.rules {
                problems(config, own)
            } else {
                key_problems(config, own)
            }
        })
        .collect();
    // Each run's problems that were said for a key it takes.
    let mut said: Vec<Vec<String>> = vec![Vec::new(); configs.len()];
    let mut out = Vec::new();
    let base = layout.base_for_runs();
    let base_rules = if layout.rules {
        model_free_rule_problems(&base)
    } else {
        Vec::new()
    };
    let mut of_base = key_problems(&base, layout.base);
    for rule in &base_rules {
        if found.iter().any(|f| f.contains(rule)) {
            of_base.push(rule.clone());
            said.iter_mut().for_each(|s| s.push(rule.clone()));
        }
    }
    let of_base = in_place(of_base, layout.base, &layout.located.base);
    out.extend(entry("[base]", of_base));
    for (key, values) in &layout.lists {
        if key == "data" && layout.data.is_some() {
            // sweep --data replaces them in every run.
            continue;
        }
        let mut distinct: Vec<&Value> = Vec::new();
        for value in values {
            if !distinct.contains(&value) {
                distinct.push(value);
            }
        }
        let of_values: Vec<(&Value, Vec<String>)> = distinct
            .iter()
            .map(|&value| {
                let alone = Table::from_iter([(key.clone(), value.clone())]);
                let takers: Vec<usize> = (layout.listed..configs.len())
                    .filter(|&i| layout.combo(i).and_then(|c| c.get(key)) == Some(value))
                    .collect();
                let mut of_value = key_problems(&alone, &alone);
                // A rule is the value's where [base] keeps it and every run of the value breaks
                // it: not where another list's value (init for fresh_embedding) mends it.
                if layout.rules {
                    of_value.extend(
                        model_free_rule_problems(&overlay(&base, &alone))
                            .into_iter()
                            .filter(|rule| !base_rules.contains(rule))
                            .filter(|rule| takers.iter().all(|&i| found[i].contains(rule))),
                    );
                }
                for &i in &takers {
                    said[i].extend(of_value.iter().cloned());
                }
                (value, of_value)
            })
            .collect();
        // What every value of the key breaks alike (a misspelt key), once for the key.
        let alike: Vec<String> = match of_values.as_slice() {
            [(_, first), rest @ ..] if !rest.is_empty() => first
                .iter()
                .filter(|p| rest.iter().all(|(_, other)| other.contains(p)))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        // Said where the key's value (its first, for what all of them break) stands.
        let in_list = |value: &Value, said: Vec<String>| {
            let index = values.iter().position(|v| v == value).unwrap_or_default();
            let alone = Table::from_iter([(key.clone(), value.clone())]);
            in_place(said, &alone, &layout.located.grid_value(key, index))
        };
        out.extend(entry(
            &format!("[grid] {key} = {}", Value::Array(values.clone())),
            in_list(&values[0], alike.clone()),
        ));
        for (value, of_value) in of_values {
            let rest = of_value
                .into_iter()
                .filter(|p| !alike.contains(p))
                .collect();
            out.extend(entry(
                &format!("[grid] {key} = {value}"),
                in_list(value, rest),
            ));
        }
    }
    let mut rest: Vec<Vec<String>> = found
        .into_iter()
        .zip(&said)
        .map(|(found, said)| found.into_iter().filter(|p| !said.contains(p)).collect())
        .collect();
    // No model anywhere: said once for the runs without one.
    let modelless: Vec<usize> = (0..rest.len())
        .filter(|&i| rest[i].iter().any(|p| is_no_model(p)))
        .collect();
    if modelless.len() > 1 {
        let mut problem = Vec::new();
        for &i in &modelless {
            problem = rest[i].iter().filter(|p| is_no_model(p)).cloned().collect();
            rest[i].retain(|p| !is_no_model(p));
        }
        let who = if modelless.len() == rest.len() {
            "every run".to_string()
        } else {
            runs_list(&modelless)
        };
        out.extend(entry(&who, problem));
    }
    let keys = distinguishing_keys(configs.iter());
    for (i, (config, rest)) in configs.iter().zip(rest).enumerate() {
        // A [[runs]] entry's own bad keys, where they stand; a grid run's are said for [grid].
        let rest = match layout.located.runs.get(i) {
            Some(located) if i < layout.listed => in_place(rest, &own[i], located),
            _ => rest,
        };
        out.extend(entry(
            &format!("run {} ({})", i + 1, describe(config, &keys)),
            rest,
        ));
    }
    out
}

/// `runs 1 and 3`, `runs 1 to 4 and 7` (positions from 0, said from 1).
fn runs_list(runs: &[usize]) -> String {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for &i in runs {
        match spans.last_mut() {
            Some((_, last)) if *last + 1 == i => *last = i,
            _ => spans.push((i, i)),
        }
    }
    let mut parts: Vec<String> = Vec::new();
    for (first, last) in spans {
        match last - first {
            0 => parts.push(format!("{}", first + 1)),
            1 => parts.extend([format!("{}", first + 1), format!("{}", last + 1)]),
            _ => parts.push(format!("{} to {}", first + 1, last + 1)),
        }
    }
    let said = match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => parts.concat(),
    };
    let one = runs.len() == 1;
    format!("{} {said}", if one { "run" } else { "runs" })
}

/// A grid list that gives a value twice: every run of it would be made twice (the runs of
/// the first and of the repeat differ in nothing, their names included), said once for the
/// key, not for each pair of runs.
fn repeated_grid_values(lists: &[(String, Vec<Value>)]) -> Vec<String> {
    lists
        .iter()
        .filter_map(|(key, values)| {
            let mut counted: Vec<(&Value, usize)> = Vec::new();
            for value in values {
                match counted.iter_mut().find(|(v, _)| *v == value) {
                    Some((_, n)) => *n += 1,
                    None => counted.push((value, 1)),
                }
            }
            let repeated: Vec<String> = counted
                .into_iter()
                .filter(|&(_, n)| n > 1)
                .map(|(value, n)| match n {
                    2 => format!("{value} twice"),
                    n => format!("{value} {n} times"),
                })
                .collect();
            (!repeated.is_empty()).then(|| {
                format!(
                    "[grid] {key} = {} lists {}, and would train every run with it again: \
                     list each value once",
                    Value::Array(values.clone()),
                    repeated.join(" and ")
                )
            })
        })
        .collect()
}

/// The grid's lists of values, by key; a key that is no list, or an empty one, left out.
fn grid_lists(grid: &Table) -> Vec<(String, Vec<Value>)> {
    let mut lists: Vec<(String, Vec<Value>)> = grid
        .iter()
        .filter_map(|(key, value)| match value {
            Value::Array(values) if !values.is_empty() => Some((key.clone(), values.clone())),
            _ => None,
        })
        .collect();
    lists.sort_by(|a, b| a.0.cmp(&b.0));
    lists
}

/// Gives each run without a `name` one made of the tag, its position and the values that tell
/// it apart from the other unnamed runs.
fn name_runs(configs: &mut [RunConfig], tag: &str) {
    let width = configs.len().to_string().len();
    let keys = distinguishing_keys(configs.iter().filter(|c| !c.contains_key("name")));
    for (i, config) in configs.iter_mut().enumerate() {
        if !config.contains_key("name") {
            let name = default_name(tag, i + 1, width, config, &keys);
            config.insert("name".into(), Value::String(name));
        }
    }
}

/// Where a run's name comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum NameFrom {
    Base,
    /// Its `[[runs]]` entry.
    Entry,
    Grid,
    /// The sweep made it: the tag, the run's position and values.
    Made,
}

/// One entry per name that several runs take, with what to change where their names come
/// from (`[base]`, their `[[runs]]` entries, the grid, or made by the sweep).
fn duplicate_names(layout: &Layout, configs: &[RunConfig], own: &[Table]) -> Vec<String> {
    let mut names: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        let Some(name) = config.get("name").and_then(Value::as_str) else {
            continue;
        };
        if layout.repeats_a_grid_run(i) {
            continue;
        }
        match names.iter_mut().find(|(n, _)| *n == name) {
            Some((_, runs)) => runs.push(i),
            None => names.push((name, vec![i])),
        }
    }
    names
        .into_iter()
        .filter(|(_, runs)| runs.len() > 1)
        .map(|(name, runs)| {
            let named = format!(
                "{} are {} named {name:?}",
                runs_list(&runs),
                if runs.len() == 2 { "both" } else { "all" }
            );
            let from: Vec<NameFrom> = runs.iter().map(|&i| layout.name_from(i, own)).collect();
            let all = |kind: NameFrom| from.iter().all(|&f| f == kind);
            if all(NameFrom::Base) {
                format!(
                    "{named}: give each run its own name, or leave name out of [base] to get \
                     one per run"
                )
            } else if all(NameFrom::Entry) {
                format!(
                    "{named} in their [[runs]] entries: give each its own name, or leave name \
                     out of them to get one made per run"
                )
            } else if all(NameFrom::Grid) {
                format!(
                    "{named} by [grid], whose name goes to every combination of its other \
                     lists: leave name out of [grid] to get one made per run"
                )
            } else {
                let whence: Vec<String> = runs
                    .iter()
                    .zip(&from)
                    .map(|(i, from)| {
                        let whence = match from {
                            NameFrom::Base => "from [base]",
                            NameFrom::Entry => "from its [[runs]] entry",
                            NameFrom::Grid => "from [grid]",
                            NameFrom::Made => {
                                "made by the sweep from the tag, its position and values"
                            }
                        };
                        format!("run {}'s {whence}", i + 1)
                    })
                    .collect();
                let given: Vec<usize> = runs
                    .iter()
                    .zip(&from)
                    .filter(|(_, &from)| from != NameFrom::Made)
                    .map(|(&i, _)| i)
                    .collect();
                let fix = if given.len() < runs.len() {
                    format!("give {} another name", runs_list(&given))
                } else {
                    "give each run its own name".to_string()
                };
                format!("{named} ({}): {fix}", whence.join(", "))
            }
        })
        .collect()
}

/// One entry per run that repeats an earlier one, name aside, where neither was named: it would
/// train the same run again (a [[runs]] entry the grid makes too, or `sweep --data` making runs
/// of different data one). Runs given names of their own are repeats on purpose (a GPU's
/// run-to-run spread); a value listed twice in the grid is said once, as that.
fn repeated_runs(layout: &Layout, configs: &[RunConfig], own: &[Table]) -> Vec<String> {
    // Each unnamed run's settings, its generated name aside; None for a named run.
    let settings: Vec<Option<RunConfig>> = configs
        .iter()
        .zip(own)
        .enumerate()
        .map(|(i, (c, own))| {
            (!own.contains_key("name") && !layout.repeats_a_grid_run(i)).then(|| {
                let mut c = c.clone();
                c.remove("name");
                c
            })
        })
        .collect();
    (0..configs.len())
        .filter_map(|i| {
            let mine = settings[i].as_ref()?;
            let j = (0..i).find(|&j| settings[j].as_ref() == Some(mine))?;
            Some(format!(
                "runs {} and {} have the same settings, so the second would train the first \
                 again: change a value (seed), or name both to train it twice",
                j + 1,
                i + 1
            ))
        })
        .collect()
}

/// `base` with `over`'s keys replacing its own.
fn overlay(base: &Table, over: &Table) -> Table {
    let mut out = base.clone();
    for (k, v) in over {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// The cartesian product of the grid's lists, last key (by name) varying fastest, and what is
/// wrong with the grid, each key that is no list of values apart. The product leaves such keys
/// out, so that its runs are still checked; it is empty where no key is a list.
pub fn expand_grid(grid: &Table) -> (Vec<Table>, Vec<String>) {
    if grid.is_empty() {
        // Its product would be one run of [base] alone, which nobody meant.
        return (
            Vec::new(),
            vec![
                "[grid] has no keys: give it lists to cross, e.g. seed = [1, 2], or remove it"
                    .into(),
            ],
        );
    }
    let mut keys: Vec<&String> = grid.keys().collect();
    keys.sort();
    let (mut lists, mut bad) = (Vec::new(), Vec::new());
    for key in keys {
        match &grid[key] {
            Value::Array(values) if !values.is_empty() => lists.push((key, values)),
            other => bad.push(format!(
                "[grid] {key} = {other} must be a non-empty list, e.g. {key} = [a, b]"
            )),
        }
    }
    if lists.is_empty() {
        return (Vec::new(), bad);
    }
    let mut combos = vec![Table::new()];
    for (key, values) in lists {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.insert(key.clone(), v.clone());
                    c
                })
            })
            .collect();
    }
    (combos, bad)
}

fn add_tag(config: &mut RunConfig, tag: &str) {
    let tags = config
        .entry("tags")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = tags {
        if !list.iter().any(|t| t.as_str() == Some(tag)) {
            list.push(Value::String(tag.into()));
        }
    }
}

/// The seed table names a row by its model, batch and embedding dimension.
const ROW: [&str; 3] = ["model", "batch", "dim"];

/// Free text that says nothing of how a run trains.
const UNTOLD: [&str; 3] = ["name", "tags", "note"];

/// The keys whose values differ among `configs` (a key some lack counts), the seed table's
/// row keys first, then the others by name; the row keys when none differ, as for a lone run.
fn distinguishing_keys<'a>(configs: impl Iterator<Item = &'a RunConfig> + Clone) -> Vec<String> {
    let all: BTreeSet<&String> = configs.clone().flat_map(|c| c.keys()).collect();
    let varies = |key: &str| {
        let mut values = configs.clone().map(|c| c.get(key));
        values
            .next()
            .is_some_and(|first| values.any(|v| v != first))
    };
    let (mut row, mut rest): (Vec<String>, Vec<String>) = all
        .into_iter()
        .filter(|k| !UNTOLD.contains(&k.as_str()) && varies(k))
        .cloned()
        .partition(|k| ROW.contains(&k.as_str()));
    row.sort_by_key(|k| ROW.iter().position(|r| r == k));
    row.append(&mut rest);
    if row.is_empty() {
        ROW.iter().map(|k| k.to_string()).collect()
    } else {
        row
    }
}

/// `tiny-2-lr1e-4`: the tag, the position, then the values of `keys`. When a row key is among
/// them the whole row comes first, bare, as the seed table writes it (`seed-table-3-alexnet-32-128`).
fn default_name(
    tag: &str,
    index: usize,
    width: usize,
    config: &RunConfig,
    keys: &[String],
) -> String {
    let with_row = keys.iter().any(|k| ROW.contains(&k.as_str()));
    let row = ROW
        .iter()
        .filter(|_| with_row)
        .filter_map(|k| config.get(*k).map(bare));
    let rest = keys
        .iter()
        .filter(|k| !ROW.contains(&k.as_str()))
        .filter_map(|k| config.get(k).map(|v| labelled(k, v)));
    let name = std::iter::once(format!("{tag}-{index:0width$}"))
        .chain(row)
        .chain(rest)
        .collect::<Vec<_>>()
        .join("-")
        // `run` refuses a name with a comma (`report --runs` reads one as between two runs),
        // which a value (a path) may hold: the run would fail only when its turn came.
        .replace(',', "_");
    // Nor a name that reads as a range of run ids: `tag = "1"` would name a lone run `1-1`,
    // which `lab tag` and `report --runs` read as run 1.
    if crate::train::config::reads_as_id_range(&name) {
        name.replacen('-', "_", 1)
    } else {
        name
    }
}

/// A value as a name part: `alexnet`, `32`, `1e-4` (the shorter of a float's two forms).
fn bare(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Float(f) => {
            let (plain, exp) = (f.to_string(), format!("{f:e}"));
            if exp.len() < plain.len() {
                exp
            } else {
                plain
            }
        }
        other => other.to_string(),
    }
}

/// A key's value as a name part: strings say what they are (`semihard`), numbers take their
/// key (`lr1e-4`, `seed2`), switches read as words (`augment`, `no-augment`).
fn labelled(key: &str, value: &Value) -> String {
    match value {
        Value::String(_) => bare(value),
        Value::Boolean(true) => key.to_string(),
        Value::Boolean(false) => format!("no-{key}"),
        _ => format!("{key}{}", bare(value)),
    }
}

/// `model = "alexnet", batch = 32`: the values of `keys`, enough to find a run in the spec
/// from an error message.
fn describe(config: &RunConfig, keys: &[String]) -> String {
    let parts: Vec<String> = keys
        .iter()
        .filter_map(|k| config.get(k).map(|v| format!("{k} = {v}")))
        .collect();
    if parts.is_empty() {
        format!("without {}", keys.join(", "))
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// experiments/ holds both kinds of file: a run's settings given to `sweep` say so.
    #[test]
    fn a_run_config_given_as_a_sweep_names_the_command_for_it() {
        let text = "model = \"resnet18\"\naugment = true\nepochs = 90\n";
        let err = format!("{:#}", SweepSpec::parse(text, "e/r.toml").unwrap_err());
        assert!(
            err.contains("it holds one run's settings, not a sweep")
                && err.contains("`facenet-lab run --config e/r.toml`"),
            "{err}"
        );
        let err = refusal("tag = \"t\"\nbogus = 1\n");
        assert!(!err.contains("run --config"), "{err}");
    }

    #[test]
    fn a_bad_base_key_is_one_problem_said_once() {
        let text = r#"
            tag = "t"
            [base]
            model = "resnet18"
            learning_rate = 0.1
            [[runs]]
            batch = 16
            [[runs]]
            batch = 32
            mining = "easy"
        "#;
        let err = refusal(text);
        assert!(err.contains("has 2 problems"), "{err}");
        assert!(
            err.contains("run 2 (batch = 32, mining = \"easy\"):"),
            "{err}"
        );
        // Once, where it stands: its line shows the key, toml's words name it.
        assert_eq!(
            err.matches("unknown field `learning_rate`").count(),
            1,
            "{err}"
        );
        assert_eq!(err.matches("learning_rate = 0.1").count(), 1, "{err}");
        // Its words first, on a line of their own, then where it is.
        assert!(
            err.contains("[base]:\n  unknown field `learning_rate`, expected one of `")
                && err.contains("\n    TOML parse error at line 5, column 13\n"),
            "{err}"
        );
        assert!(err.contains("unknown variant `easy`"), "{err}");
        // A bad model in [base] is not a missing one: the runs that keep it say nothing more,
        // and a run's own model is checked as its own.
        let text = r#"
            tag = "t"
            [base]
            model = "resnet99"
            [[runs]]
            batch = 16
            [[runs]]
            model = "resnet18"
            lr = 0.0
            [[runs]]
            model = "resnet50"
        "#;
        let err = refusal(text);
        assert!(err.contains("has 3 problems"), "{err}");
        assert!(!err.contains("no model given"), "{err}");
        assert!(!err.contains("run 1 "), "{err}");
        assert_eq!(err.matches("`resnet99`").count(), 1, "{err}");
        assert!(err.contains("--lr must be a positive number"), "{err}");
        assert!(err.contains("`resnet50`"), "{err}");
        // A [base] without a model is not a problem of its own: the runs name one.
        let ok = "tag = \"t\"\n[base]\nbatch = 16\n[[runs]]\nmodel = \"resnet18\"\n";
        let spec = SweepSpec::parse(ok, "s.toml").expect("valid");
        assert_eq!(spec.configs.len(), 1);
        assert_eq!(spec.configs[0]["model"].as_str(), Some("resnet18"));
        assert_eq!(spec.configs[0]["batch"].as_integer(), Some(16));
    }

    /// A mistake in [base] and one in the spec's own keys (a misspelt key or table, no tag, a
    /// [grid] that is no table) are said together: fixing the one must not bring up the other.
    #[test]
    fn a_bad_base_key_and_a_bad_spec_key_are_said_together() {
        let base = "[base]\nmodel = \"resnet18\"\nbach = 32\n";
        for (spec, other) in [
            (
                format!("tag = \"t\"\ndescripton = \"x\"\n{base}[grid]\nseed = [1, 2]\n"),
                "`descripton` is no setting: did you mean `description`?",
            ),
            (
                format!("tag = \"t\"\n{base}[axes]\nseed = [1, 2]\n"),
                "unknown field `axes`, expected one of `tag`",
            ),
            (
                format!("{base}[grid]\nseed = [1, 2]\n"),
                "a sweep spec starts with `tag = \"NAME\"`",
            ),
            (
                format!("tag = \"t\"\ngrid = [1, 2]\n{base}"),
                "invalid type: sequence, expected a map",
            ),
        ] {
            let err = refusal(&spec);
            assert!(err.contains("has 2 problems; nothing was started"), "{err}");
            assert!(
                err.contains("[base]:\n  `bach` is no setting: did you mean `batch`?"),
                "{err}"
            );
            assert!(err.contains(other), "{other}: {err}");
        }
        // A spec key's mistake keeps its line and caret, under the word.
        let spec = format!("tag = \"t\"\n{base}[grd]\nseed = [1, 2]\n");
        let err = refusal(&spec);
        for said in [
            "`grd` is no setting: did you mean `grid`?\n  TOML parse error at line 5, column 2",
            "  5 | [grd]\n    |  ^^^\n",
            "unknown field `bach`",
        ] {
            assert!(err.contains(said), "{said}: {err}");
        }
    }

    /// A [grid] key that is no list leaves the grid's other lists to be checked: a run's bad
    /// value in them is said with it, not after it is fixed.
    #[test]
    fn a_grid_key_that_is_no_list_hides_no_run_problem() {
        let text = r#"
            tag = "t"
            [base]
            model = "resnet18"
            learning_rate = 0.1
            [[runs]]
            lr = 1e-3
            [grid]
            seed = 1
            lr = [0.0, 1e-3]
        "#;
        let err = refusal(text);
        for said in [
            "has 3 problems",
            "[grid] seed = 1 must be a non-empty list",
            "unknown field `learning_rate`",
            "[grid] lr = 0.0:\n  --lr must be a positive number",
        ] {
            assert!(err.contains(said), "{said}: {err}");
        }
        // Without its seed, run 3 (lr = 0.001) looks like run 1: no repeat until it has one.
        assert!(!err.contains("same settings"), "{err}");
        // A [base] that is no table: the runs, which take their model from it, wait for it.
        let text = "tag = \"t\"\nbase = 3\n[[runs]]\nlr = 0.0\n[grid]\nseed = 1\n";
        let err = refusal(text);
        assert!(err.contains("has 2 problems"), "{err}");
        assert!(
            err.contains("invalid type: integer `3`, expected a map"),
            "{err}"
        );
        assert!(err.contains("[grid] seed = 1 must be"), "{err}");
        assert!(!err.contains("no model given"), "{err}");
    }

    /// A bad value in [base] (a misspelt model) hides none of the runs' mistakes: the rules that
    /// hold with every model are checked all the same, and the value is said as `run` says it,
    /// with the values the key takes and the one meant.
    #[test]
    fn a_bad_base_value_hides_no_mistake_of_the_grid_or_the_runs() {
        let text = "tag = \"b5\"\n[base]\nmodel=\"resnet19\"\nimage_size=32\n\
                    [[runs]]\nlr = 0.0\n[grid]\nlr=[-1.0,1e-3]\n";
        let err = refusal(text);
        for said in [
            "has 3 problems; nothing was started",
            "[base]:\n  model = \"resnet19\" is not one of `alexnet`, `resnet18`, `resnet152`: \
             did you mean `resnet18`?\n    TOML parse error at line 3, column 7\n      |\n    \
             3 | model=\"resnet19\"\n      |       ^^^^^^^^^^\n    unknown variant `resnet19`\n",
            "[grid] lr = -1.0:\n  --lr must be a positive number, got -1",
            "run 1 (lr = 0.0):\n  --lr must be a positive number, got 0",
        ] {
            assert!(err.contains(said), "{said}: {err}");
        }
        // The values are listed once, before the line and caret, not again after them.
        assert_eq!(err.matches("`alexnet`").count(), 1, "{err}");
        // Where none is near, the values are said without a guess.
        let err = refusal("tag = \"t\"\n[base]\nmodel = \"vgg16\"\n[grid]\nseed = [1, 2]\n");
        assert!(
            err.contains("model = \"vgg16\" is not one of `alexnet`, `resnet18`, `resnet152`\n"),
            "{err}"
        );
        assert!(!err.contains("did you mean"), "{err}");
    }

    /// Two mistakes of one table are two problems, counted so, each on a line of its own in
    /// the file's order with its line and caret below it: not run together as one.
    #[test]
    fn two_mistakes_of_one_table_are_said_apart_in_file_order() {
        let text = "tag = \"b6\"\n[base]\nmodel=\"resnet19\"\nepoch = 2\nimage_size=32\n\
                    [grid]\nlr=[-1.0,1e-3]\n";
        let err = refusal(text);
        assert!(err.contains("has 3 problems;"), "{err}");
        let base = err
            .split_once("[base]:\n")
            .and_then(|(_, rest)| rest.split_once("\n[grid]"))
            .map(|(base, _)| base)
            .unwrap_or_else(|| panic!("no [base] then [grid]: {err}"));
        // Each problem's words start a line of the list; what toml shows of it is below them.
        let starts: Vec<&str> = base
            .lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .collect();
        assert_eq!(
            starts,
            [
                "  model = \"resnet19\" is not one of `alexnet`, `resnet18`, `resnet152`: did you \
                 mean `resnet18`?",
                "  `epoch` is no setting: did you mean `epochs`?",
            ],
            "{err}"
        );
        assert!(!err.contains("?: TOML parse error"), "{err}");
        assert!(
            base.contains("    TOML parse error at line 4, column 1\n      |\n    4 | epoch = 2\n"),
            "{err}"
        );
    }

    /// Where [base] cannot be read at all, each key of the runs and the grid is still checked
    /// as it stands (the rules between them wait, since [base] may hold what mends them).
    #[test]
    fn an_unread_base_hides_no_bad_key_of_the_runs_or_the_grid() {
        let text = "tag = \"t\"\nbase = 3\n[[runs]]\nmodel = \"resnet19\"\nbach = 8\n\
                    [grid]\nmining = [\"hardest\", \"all\"]\nseed = [1, 2]\nwarmup_epochs = [500]\n";
        let err = refusal(text);
        for said in [
            "has 4 problems;",
            "invalid type: integer `3`, expected a map",
            "[grid] mining = \"hardest\":\n  mining = \"hardest\" is not one of `all`, \
             `semihard`, `hard`\n",
            "  `bach` is no setting: did you mean `batch`?\n",
            "  model = \"resnet19\" is not one of",
        ] {
            assert!(err.contains(said), "{said}: {err}");
        }
        assert!(
            !err.contains("warmup") && !err.contains("no model given"),
            "{err}"
        );
    }

    /// What `SweepSpec::parse` refuses `text` with, whole.
    fn refusal(text: &str) -> String {
        format!("{:#}", SweepSpec::parse(text, "s.toml").unwrap_err())
    }

    fn names(text: &str) -> Vec<String> {
        SweepSpec::parse(text, "s.toml")
            .map(|s| {
                s.configs
                    .iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from))
                    .collect()
            })
            .unwrap_or_else(|e| vec![format!("{e:#}")])
    }

    /// A name that `lab tag` and `report --runs` would read as a range of run ids is refused
    /// where the spec gives it, and not made where the sweep names the run.
    #[test]
    fn no_run_is_named_as_a_range_of_ids() {
        let given = "tag = \"t\"\n[[runs]]\nmodel = \"resnet18\"\nname = \"2-4\"\n";
        assert!(refusal(given).contains("read that as a range of run ids"));
        let lone = RunConfig::new();
        assert_eq!(default_name("1", 1, 1, &lone, &[]), "1_1");
        assert_eq!(default_name("t", 1, 1, &lone, &[]), "t-1");
        let told_apart =
            names("tag = \"1\"\n[base]\nmodel = \"resnet18\"\n[grid]\nseed = [1, 2]\n");
        assert_eq!(told_apart, ["1-1-seed1", "1-2-seed2"]);
    }

    /// Whatever is wrong, the tag, the grid and the runs, is said at once, and counted as the
    /// list says it.
    #[test]
    fn every_problem_of_a_spec_is_said_at_once_and_counted() {
        let text = r#"
            tag = "two words"
            [base]
            model = "resnet18"
            [[runs]]
            modle = "resnet152"
            epochs = -1
            [[runs]]
            modle = "resnet152"
            epochs = -1
            [grid]
            seed = 1
            lr = []
        "#;
        let err = refusal(text);
        for said in [
            "has 8 problems; nothing was started",
            "tag = \"two words\" must be a non-empty word",
            "[grid] lr = [] must be a non-empty list",
            "[grid] seed = 1 must be a non-empty list",
            "run 1 (",
            "run 2 (",
            "runs 1 and 2 have the same settings",
        ] {
            assert!(err.contains(said), "{said}: {err}");
        }
        // Each run's own, each where it stands (its line, its caret).
        assert_eq!(err.matches("unknown field `modle`").count(), 2, "{err}");
        assert_eq!(err.matches("  6 |             modle").count(), 1, "{err}");
        assert_eq!(err.matches("  9 |             modle").count(), 1, "{err}");
        assert_eq!(
            err.matches("invalid value: integer `-1`, expected usize")
                .count(),
            2,
            "{err}"
        );
    }

    #[test]
    fn a_time_limit_is_the_specs_own_key_in_words_or_seconds() -> Result<()> {
        let runs = "[base]\nmodel = \"resnet18\"\n[[runs]]\nseed = 1\n";
        let limit = |value: &str| -> Result<Option<String>> {
            Ok(SweepSpec::parse(
                &format!("tag = \"t\"\ntime_limit = {value}\n{runs}"),
                "s.toml",
            )?
            .time_limit)
        };
        assert_eq!(limit("\"1h30m\"")?, Some("1h30m".into()));
        assert_eq!(limit("90")?, Some("90".into()), "a number is seconds");
        for bad in ["\"0s\"", "\"soon\""] {
            let err = format!("{:#}", limit(bad).unwrap_err());
            assert!(err.contains("time_limit"), "{bad}: {err}");
        }
        // A run's or [base]'s time_limit is put where it belongs.
        for misplaced in [
            "tag = \"t\"\n[base]\nmodel = \"resnet18\"\ntime_limit = \"2h\"\n[[runs]]\nseed = 1\n",
            "tag = \"t\"\n[base]\nmodel = \"resnet18\"\n[[runs]]\nseed = 1\ntime_limit = \"2h\"\n",
        ] {
            let err = refusal(misplaced);
            assert!(
                err.contains("time_limit is the spec's own key, for every run"),
                "{err}"
            );
        }
        Ok(())
    }

    #[test]
    fn an_empty_grid_a_repeated_run_and_a_comma_in_a_value_are_told_before_anything_starts() {
        let base = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\n";
        let one = format!("{base}[[runs]]\nseed = 1\n");
        let err = names(&format!("{one}[grid]\n")).join("\n");
        assert!(err.contains("[grid] has no keys"), "{err}");
        let err = names(&format!("{one}[grid]\nseed = [2, 1]\n")).join("\n");
        assert!(err.contains("runs 1 and 3 have the same settings"), "{err}");
        // A value listed twice in the grid is one mistake, however many runs it repeats.
        let err = names(&format!("{base}[grid]\nseed = [1, 1]\nlr = [1e-3, 1e-4]\n")).join("\n");
        assert!(err.contains("has 1 problem;"), "{err}");
        assert!(
            err.contains(
                "[grid] seed = [1, 1] lists 1 twice, and would train every run with it again"
            ),
            "{err}"
        );
        assert!(!err.contains("same settings"), "{err}");
        // Named, a repeat is meant.
        let named =
            format!("{base}[[runs]]\nseed = 1\nname = \"a\"\n[[runs]]\nseed = 1\nname = \"b\"\n");
        assert_eq!(names(&named), ["a", "b"]);
        let paths = format!("{base}[grid]\ndata = [\"x,1\", \"y\"]\nseed = [1, 2]\n");
        assert_eq!(
            names(&paths),
            [
                "t-1-x_1-seed1",
                "t-2-x_1-seed2",
                "t-3-y-seed1",
                "t-4-y-seed2"
            ]
        );
        // Every run on one copy (sweep --data): the runs that differed only in their data are
        // one run, and no name tells of data the run does not read.
        let err = format!(
            "{:#}",
            SweepSpec::parse_onto(&paths, "s.toml", Some("z")).unwrap_err()
        );
        assert!(
            err.contains("runs 1 and 3 have the same settings")
                && err.contains("runs 2 and 4 have the same settings"),
            "{err}"
        );
        let one = format!("{base}[grid]\ndata = [\"x\"]\nseed = [1, 2]\n");
        let spec = SweepSpec::parse_onto(&one, "s.toml", Some("z")).expect("valid");
        assert!(spec.configs.iter().all(|c| c["data"].as_str() == Some("z")));
    }

    #[test]
    fn generated_names_carry_the_values_that_vary() {
        let base = "tag = \"tiny\"\n[base]\nmodel = \"resnet18\"\nbatch = 8\ndim = 16\n";
        assert_eq!(
            names(&format!("{base}[grid]\nlr = [1e-3, 1e-12, 3e-4, 0.2]\n")),
            [
                "tiny-1-lr1e-3",
                "tiny-2-lr1e-12",
                "tiny-3-lr3e-4",
                "tiny-4-lr0.2"
            ]
        );
        assert_eq!(
            names(&format!(
                "{base}[grid]\nmining = [\"all\", \"hard\"]\naugment = [true, false]\n"
            )),
            [
                "tiny-1-augment-all",
                "tiny-2-augment-hard",
                "tiny-3-no-augment-all",
                "tiny-4-no-augment-hard"
            ]
        );
        // A varying row key brings the whole row, as the seed table names its rows; a lone
        // run, with nothing to tell apart, is named by its row too.
        assert_eq!(
            names(&format!("{base}[grid]\ndim = [16, 64]\nseed = [1, 2]\n")),
            [
                "tiny-1-resnet18-8-16-seed1",
                "tiny-2-resnet18-8-16-seed2",
                "tiny-3-resnet18-8-64-seed1",
                "tiny-4-resnet18-8-64-seed2"
            ]
        );
        assert_eq!(
            names(&format!("{base}[[runs]]\nseed = 3\n")),
            ["tiny-1-resnet18-8-16"]
        );
        // A named run's keys do not lengthen the others' names.
        assert_eq!(
            names(&format!(
                "{base}[[runs]]\nname = \"long\"\nepochs = 9\n[grid]\nseed = [1, 2]\n"
            )),
            ["long", "tiny-2-seed1", "tiny-3-seed2"]
        );
    }

    /// A problem of a combination of grid values (warmup_epochs of one list against epochs
    /// of another) is its runs', each labelled by the values that vary.
    #[test]
    fn problems_label_runs_by_the_values_that_vary() {
        let err = names(
            "tag = \"t\"\n[base]\nmodel = \"alexnet\"\nbatch = 8\ndim = 16\n\
             [grid]\nepochs = [5, 10]\nwarmup_epochs = [5, 10]\n",
        )
        .join("\n");
        assert!(err.contains("has 3 problems"), "{err}");
        for want in [
            "run 1 (epochs = 5, warmup_epochs = 5):\n  --warmup-epochs (5) must be fewer",
            "run 2 (epochs = 5, warmup_epochs = 10):\n  --warmup-epochs (10) must be fewer",
            "run 4 (epochs = 10, warmup_epochs = 10):\n  --warmup-epochs (10) must be fewer",
        ] {
            assert!(err.contains(want), "missing {want:?} in:\n{err}");
        }
        assert!(!err.contains("run 3") && !err.contains("[grid]"), "{err}");
        assert!(!err.contains("alexnet"), "{err}");
    }

    /// A rule [base]'s keys break on their own is said once, for [base], not for each run
    /// that takes it (nor for a [[runs]] entry that sets the key itself).
    #[test]
    fn a_rule_base_breaks_is_said_once_for_base() {
        let text =
            "tag = \"t\"\n[base]\nmodel = \"resnet18\"\ncrop = 2.0\n[grid]\nseed = [0, 1, 2]\n";
        let err = names(text).join("\n");
        assert!(err.contains("has 1 problem;"), "{err}");
        assert!(
            err.contains(
                "[base]:\n  --crop must be a fraction in (0, 1] of the image's side, got 2"
            ),
            "{err}"
        );
        assert_eq!(err.matches("--crop").count(), 1, "{err}");
        assert!(!err.contains("run "), "{err}");
        // Beside a run's own mistake and a run that mends it; with a bad key of [base] too.
        let text = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\ncrop = 2.0\nbach = 8\n\
                    [[runs]]\ncrop = 0.5\n[[runs]]\nlr = 0.0\n[grid]\nseed = [1, 2]\n";
        let err = names(text).join("\n");
        assert!(err.contains("has 3 problems;"), "{err}");
        assert_eq!(err.matches("--crop must be").count(), 1, "{err}");
        assert!(err.contains("[base]:\n  `bach` is no setting"), "{err}");
        assert!(
            err.contains("run 2 (crop = 2.0, lr = 0.0):\n  --lr must be a positive number"),
            "{err}"
        );
        // No model anywhere: said once, not by every run.
        let err = names("tag = \"t\"\n[base]\nbatch = 8\n[grid]\nseed = [1, 2, 3]\n").join("\n");
        assert!(err.contains("has 1 problem;"), "{err}");
        assert!(err.contains("every run:\n  no model given"), "{err}");
        // Nor does it hide what a grid value breaks with every model.
        let err = names("tag = \"t\"\n[grid]\nlr = [1e-4, -1.0]\nbatch = [16]\n").join("\n");
        assert!(err.contains("has 2 problems;"), "{err}");
        assert!(
            err.contains("[grid] lr = -1.0:\n  --lr must be a positive number, got -1"),
            "{err}"
        );
        assert!(err.contains("every run:\n  no model given"), "{err}");
    }

    /// A grid value's mistake is said once, for `[grid] KEY = VALUE`, however many runs take
    /// it; one that every value of a key makes (a misspelt key) once for the key.
    #[test]
    fn a_bad_grid_value_is_said_once_for_the_value() {
        let text = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\n[grid]\n\
                    mining = [\"all\", \"hardest\"]\nlr = [1e-3, -1.0]\nseed = [1, 2]\n";
        let err = names(text).join("\n");
        for said in [
            "has 2 problems;",
            "[grid] lr = -1.0:\n  --lr must be a positive number, got -1\n",
            "[grid] mining = \"hardest\":\n  mining = \"hardest\" is not one of `all`, \
             `semihard`, `hard`\n    TOML parse error at line 5, column 18\n      |\n    \
             5 | mining = [\"all\", \"hardest\"]\n      |                  ^^^^^^^^^\n    \
             unknown variant `hardest`",
        ] {
            assert!(err.contains(said), "{said}: {err}");
        }
        assert_eq!(err.matches("`hardest`").count(), 1, "{err}");
        assert!(!err.contains("run "), "{err}");
        // With [base]'s keys: a value that breaks a rule with them is the value's.
        let text = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\nepochs = 10\n[grid]\n\
                    warmup_epochs = [2, 12]\nseed = [1, 2]\nimagesize = [64, 128]\n";
        let err = names(text).join("\n");
        for said in [
            "has 2 problems;",
            "[grid] warmup_epochs = 12:\n  --warmup-epochs (12) must be fewer than --epochs (10)",
            "[grid] imagesize = [64, 128]:\n  `imagesize` is no setting: did you mean `image_size`?",
        ] {
            assert!(err.contains(said), "{said}: {err}");
        }
        assert_eq!(err.matches("unknown field `imagesize`").count(), 1, "{err}");
        // What another list's value mends is no value's mistake: its runs say it.
        let text = "tag = \"t\"\n[grid]\nmodel = [\"alexnet\", \"resnet18\"]\n\
                    zero_init_residual = [true, false]\n";
        let err = names(text).join("\n");
        assert!(err.contains("has 1 problem;"), "{err}");
        assert!(
            err.contains(
                "run 1 (model = \"alexnet\", zero_init_residual = true):\n  \
                 --zero-init-residual is for ResNets"
            ),
            "{err}"
        );
    }

    /// Two runs of one name are told how to part them where their names came from.
    #[test]
    fn a_name_two_runs_share_is_told_where_it_came_from() {
        let base = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\n";
        let err = names(&format!(
            "{base}[[runs]]\nname = \"x\"\n[[runs]]\nname = \"x\"\nseed = 2\n"
        ))
        .join("\n");
        assert!(
            err.contains(
                "runs 1 and 2 are both named \"x\" in their [[runs]] entries: give each its own \
                 name, or leave name out of them to get one made per run"
            ),
            "{err}"
        );
        assert!(!err.contains("[base]"), "{err}");
        let err = names(&format!("{base}name = \"x\"\n[grid]\nseed = [1, 2, 3]\n")).join("\n");
        assert!(err.contains("has 1 problem;"), "{err}");
        assert!(
            err.contains("runs 1 to 3 are all named \"x\": give each run its own name, or leave name out of [base]"),
            "{err}"
        );
        let err = names(&format!("{base}[grid]\nname = [\"x\"]\nseed = [1, 2]\n")).join("\n");
        assert!(
            err.contains("runs 1 and 2 are both named \"x\" by [grid]")
                && err.contains("leave name out of [grid]"),
            "{err}"
        );
        let err = names(&format!(
            "{base}name = \"x\"\n[[runs]]\nseed = 5\n[[runs]]\nname = \"x\"\n"
        ))
        .join("\n");
        assert!(
            err.contains(
                "runs 1 and 2 are both named \"x\" (run 1's from [base], run 2's from its \
                 [[runs]] entry): give each run its own name"
            ),
            "{err}"
        );
        // A name the sweep makes is taken by another run: rename that one.
        let err = names(&format!(
            "{base}[[runs]]\nname = \"t-2-seed1\"\n[grid]\nseed = [1, 2]\n"
        ))
        .join("\n");
        assert!(
            err.contains("run 2's made by the sweep") && err.contains("give run 1 another name"),
            "{err}"
        );
    }

    /// A misspelt key in [base], a run or the grid is named as `run --config` names it.
    #[test]
    fn a_misspelt_run_key_says_which_setting_was_meant() {
        let text = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\nbach = 8\n\
                    [[runs]]\nimagesize = 64\n[grid]\nsed = [1, 2]\n";
        let err = names(text).join("\n");
        for said in [
            "has 3 problems;",
            "[base]:\n  `bach` is no setting: did you mean `batch`?",
            "run 1 (imagesize = 64):\n  `imagesize` is no setting: did you mean `image_size`?",
            "[grid] sed = [1, 2]:\n  `sed` is no setting: did you mean `seed`?",
        ] {
            assert!(err.contains(said), "{said}: {err}");
        }
    }

    /// A bad key or value inside [base], a [[runs]] entry or the [grid] is said with its line
    /// and a caret under it, as `run --config` says it, indented under its heading.
    #[test]
    fn a_bad_key_inside_a_table_is_said_with_its_line_and_caret() {
        let text = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\nbach = 32\n\
                    [[runs]]\nmining = \"easy\"\n[[runs]]\nseed = 2\n[grid]\nlr = [\"fast\"]\n";
        let err = names(text).join("\n");
        for said in [
            "has 3 problems;",
            "[base]:\n  `bach` is no setting: did you mean `batch`?\n    TOML parse error at \
             line 4, column 1\n      |\n    4 | bach = 32\n      | ^^^^\n    unknown field \
             `bach`\n",
            "run 1 (mining = \"easy\"):\n  mining = \"easy\" is not one of `all`, `semihard`, \
             `hard`\n    TOML parse error at line 6, column 10\n      |\n    \
             6 | mining = \"easy\"\n      |          ^^^^^^\n    unknown variant `easy`",
            "[grid] lr = \"fast\":\n  the value must be a number, without quotes (e.g. 0.2 or \
             1e-4)\n    TOML parse error at line 10, column 7\n       |\n    10 | lr = \
             [\"fast\"]\n       |       ^^^^^^\n    invalid type: string \"fast\", expected f64",
        ] {
            assert!(err.contains(said), "{said}: {err}");
        }
        // A grid key every value of which is wrong alike: said once, its line and the key's caret.
        let text = "tag = \"t\"\n[base]\nmodel = \"resnet18\"\n[grid]\nsed = [1, 2]\n";
        let err = names(text).join("\n");
        assert!(
            err.contains(
                "[grid] sed = [1, 2]:\n  `sed` is no setting: did you mean `seed`?\n    TOML \
                 parse error at line 5, column 1\n      |\n    5 | sed = [1, 2]\n      | ^^^"
            ),
            "{err}"
        );
        assert_eq!(err.matches("unknown field `sed`").count(), 1, "{err}");
        // Where the runs are not known ([[runs]] unread), [base]'s bad keys are still placed.
        let text = "tag = \"t\"\nruns = 3\n[base]\nbach = 32\n";
        let err = names(text).join("\n");
        assert!(
            err.contains(
                "[base]:\n  `bach` is no setting: did you mean `batch`?\n    TOML parse error at \
                 line 4"
            ),
            "{err}"
        );
    }
}
