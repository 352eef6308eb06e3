//! Sweep specs: a tag, shared `[base]` keys, and an explicit `[[runs]]` list and/or a `[grid]`
//! whose lists are crossed, expanded into one validated run configuration per run.
//!
//! ```toml
//! tag = "seed-table"
//! description = "The seed repository's six rows"
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

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use toml::{Table, Value};

use super::config::{key_problems, problems, RunConfig};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    tag: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    base: Table,
    #[serde(default)]
    runs: Vec<Table>,
    #[serde(default)]
    grid: Option<Table>,
}

/// A parsed, expanded and validated sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    pub tag: String,
    pub description: String,
    /// One configuration per run, each tagged with [`SweepSpec::tag`] and named.
    pub configs: Vec<RunConfig>,
}

impl SweepSpec {
    /// Parses `text` (from the file `source`, named in errors). Every invalid run is reported at
    /// once, and nothing is returned unless all of them are valid.
    pub fn parse(text: &str, source: &str) -> Result<SweepSpec> {
        let file: SpecFile =
            toml::from_str(text).with_context(|| format!("reading sweep spec '{source}'"))?;
        let tag = file.tag.trim().to_string();
        if tag.is_empty() || tag.contains([',', ' ', '/']) {
            bail!("sweep spec '{source}': tag = {:?} must be a non-empty word (no spaces, commas or slashes)", file.tag);
        }
        // A bad [base] key is one problem, said once: the runs are checked without it, so
        // that each run's own problems still show.
        let (base, base_problems) = split_bad_keys(&file.base);
        let mut configs: Vec<RunConfig> = file.runs.iter().map(|r| overlay(&base, r)).collect();
        if let Some(grid) = &file.grid {
            for combo in expand_grid(grid).with_context(|| format!("sweep spec '{source}'"))? {
                configs.push(overlay(&base, &combo));
            }
        }
        if configs.is_empty() {
            bail!("sweep spec '{source}' defines no runs: add [[runs]] entries or a [grid]");
        }
        let width = configs.len().to_string().len();
        let mut errors = Vec::new();
        if !base_problems.is_empty() {
            errors.push(format!("[base]:\n  {}", base_problems.join("\n  ")));
        }
        for (i, config) in configs.iter_mut().enumerate() {
            let found = problems(config);
            if !found.is_empty() {
                errors.push(format!(
                    "run {} ({}):\n  {}",
                    i + 1,
                    describe(config),
                    found.join("\n  ")
                ));
                continue;
            }
            add_tag(config, &tag);
            if !config.contains_key("name") {
                config.insert(
                    "name".into(),
                    Value::String(default_name(&tag, i + 1, width, config)),
                );
            }
        }
        for (i, a) in configs.iter().enumerate() {
            let Some(name) = a.get("name").and_then(Value::as_str) else {
                continue;
            };
            let same = |b: &RunConfig| b.get("name").and_then(Value::as_str) == Some(name);
            if let Some(j) = configs[..i].iter().position(same) {
                errors.push(format!(
                    "runs {} and {} are both named {name:?}: give each run its own name, or leave \
                     name out of [base] to get one per run",
                    j + 1,
                    i + 1,
                ));
            }
        }
        if !errors.is_empty() {
            bail!(
                "sweep spec '{source}' has {} problem{}; nothing was started:\n{}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                errors.join("\n")
            );
        }
        Ok(SweepSpec {
            tag,
            description: file.description,
            configs,
        })
    }
}

/// `base` without the keys that are unknown or of the wrong type, and what is wrong with each.
fn split_bad_keys(base: &Table) -> (Table, Vec<String>) {
    let mut good = Table::new();
    let mut bad = Vec::new();
    for (key, value) in base {
        let alone = Table::from_iter([(key.clone(), value.clone())]);
        match key_problems(&alone).as_slice() {
            [] => {
                good.insert(key.clone(), value.clone());
            }
            found => bad.extend(found.iter().cloned()),
        }
    }
    (good, bad)
}

/// `base` with `over`'s keys replacing its own.
fn overlay(base: &Table, over: &Table) -> Table {
    let mut out = base.clone();
    for (k, v) in over {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// The cartesian product of the grid's lists, last key (by name) varying fastest.
pub fn expand_grid(grid: &Table) -> Result<Vec<Table>> {
    let mut combos = vec![Table::new()];
    let mut keys: Vec<&String> = grid.keys().collect();
    keys.sort();
    for key in keys {
        let values = match &grid[key] {
            Value::Array(values) if !values.is_empty() => values,
            other => bail!("[grid] {key} = {other} must be a non-empty list, e.g. {key} = [a, b]"),
        };
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
    Ok(combos)
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

/// `seed-table-03-alexnet-32-128`: the tag, the position, and the seed table's way of naming a
/// row (model batch/dim), so that `facenet-lab runs` reads like the spec.
fn default_name(tag: &str, index: usize, width: usize, config: &RunConfig) -> String {
    let mut name = format!("{tag}-{index:0width$}");
    for key in ["model", "batch", "dim"] {
        match config.get(key) {
            Some(Value::String(s)) => name.push_str(&format!("-{s}")),
            Some(v) => name.push_str(&format!("-{v}")),
            None => {}
        }
    }
    name
}

/// `model = "alexnet", batch = 32`: enough to find a run in the spec from an error message.
fn describe(config: &RunConfig) -> String {
    let parts: Vec<String> = ["model", "batch", "dim"]
        .iter()
        .filter_map(|k| config.get(*k).map(|v| format!("{k} = {v}")))
        .collect();
    if parts.is_empty() {
        "no model, batch or dim".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = format!("{:#}", SweepSpec::parse(text, "s.toml").unwrap_err());
        assert!(err.contains("has 2 problems"), "{err}");
        assert!(
            err.contains("run 2 (model = \"resnet18\", batch = 32"),
            "{err}"
        );
        assert_eq!(err.matches("learning_rate").count(), 1, "{err}");
        assert!(err.contains("[base]:"), "{err}");
        assert!(err.contains("unknown variant `easy`"), "{err}");
        // A [base] without a model is not a problem of its own: the runs name one.
        let ok = "tag = \"t\"\n[base]\nbatch = 16\n[[runs]]\nmodel = \"resnet18\"\n";
        assert!(SweepSpec::parse(ok, "s.toml").is_ok());
    }
}
