//! Checking one generated run configuration before any run starts, with the very rules
//! `facenet-lab run --config` applies: a typo in run 5 of 6 should not surface hours later.

use toml::de::{DeString, DeValue};
use toml::{Spanned, Table};

use crate::model::Arch;
use crate::train::config::{Overrides, TrainConfig};

/// A run configuration: the keys of a `facenet-lab run --config` file.
pub type RunConfig = Table;

/// What is wrong with `config`, as `run --config` would say it; empty when it is valid. Every
/// key of the wrong name or type among those in `own` is reported (a sweep's run reports its
/// own keys; a bad key it takes from `[base]` is reported there), then every rule the good keys
/// break (e.g. `pk_k` must divide `batch`), as `run` names them.
pub fn problems(config: &RunConfig, own: &Table) -> Vec<String> {
    let mut found = key_problems(config, own);
    found.extend(rule_problems(config));
    found
}

/// What is wrong with each key of `config` that `own` holds, read alone: an unknown key or a
/// value of the wrong type.
pub fn key_problems(config: &RunConfig, own: &Table) -> Vec<String> {
    let (_, bad) = split_bad_keys(config);
    bad.into_iter()
        .filter(|(key, _)| own.contains_key(key))
        .map(|(_, problem)| problem)
        .collect()
}

/// Every rule the good keys of `config` break, or that it has no model. With a bad model, or
/// none, the rules that depend on it (image size, dropout) cannot be checked; those the good
/// keys break with every model (`lr = -1.0`) are, so that a misspelt or missing model hides
/// none of them.
pub fn rule_problems(config: &RunConfig) -> Vec<String> {
    let (good, _) = split_bad_keys(config);
    if !config.contains_key("model") {
        let mut found = vec![NO_MODEL.to_string()];
        found.extend(model_free_rule_problems(&good));
        found
    } else if good.contains_key("model") {
        match train_config(&good) {
            Ok(cfg) => cfg.problems(),
            Err(e) => vec![e],
        }
    } else {
        // `good` has no model: each is tried in its place.
        model_free_rule_problems(&good)
    }
}

/// The rules `keys` break whatever the model: those of [`rule_problems`] with their own model,
/// or, without one (or with a bad one), those they break with every model (a sweep's `[base]`
/// or a `[grid]` value read apart from the runs that give it a model).
pub fn model_free_rule_problems(keys: &RunConfig) -> Vec<String> {
    if keys.contains_key("model") {
        return rule_problems(keys);
    }
    let mut each = Arch::ALL.iter().map(|arch| {
        let mut with = keys.clone();
        with.insert("model".into(), toml::Value::String(arch.as_str().into()));
        rule_problems(&with)
    });
    let first = each.next().unwrap_or_default();
    let rest: Vec<Vec<String>> = each.collect();
    first
        .into_iter()
        .filter(|p| rest.iter().all(|other| other.contains(p)))
        .collect()
}

/// Whether `problem` is [`rule_problems`]'s for a configuration without a model.
pub fn is_no_model(problem: &str) -> bool {
    problem == NO_MODEL
}

/// `run`'s "no model given" points at its command line; a sweep's runs take theirs from the spec.
const NO_MODEL: &str = "no model given: set `model` in the spec's [base] (every run), in its \
                        [grid] (e.g. model = [\"resnet18\", \"alexnet\"]) or in the run's [[runs]] entry";

/// `config` without the keys that are unknown or of the wrong type, and those keys with what
/// is wrong with each.
pub fn split_bad_keys(config: &RunConfig) -> (RunConfig, Vec<(String, String)>) {
    let mut good = RunConfig::new();
    let mut bad = Vec::new();
    for (key, value) in config {
        let alone = RunConfig::from_iter([(key.clone(), value.clone())]);
        match read(&alone) {
            Ok(_) => {
                good.insert(key.clone(), value.clone());
            }
            // The spec's own key, for every run, not a run's setting.
            Err(_) if key == "time_limit" => bad.push((
                key.clone(),
                "time_limit is the spec's own key, for every run: put it at the top of the \
                 spec, beside tag (time_limit = \"2h\")"
                    .to_string(),
            )),
            Err(e) => bad.push((key.clone(), e)),
        }
    }
    (good, bad)
}

/// What is wrong with `key = value` of the spec `text` (a key of its `[base]` or a `[[runs]]`
/// entry, or one value of a `[grid]` list) read alone, as [`split_bad_keys`] says it, on a line
/// of its own, then, below it, toml's line with a caret under the key or value
/// ([`crate::format::toml_problem`]); none where it is good, or where the sweep says what is
/// wrong in its own words (`time_limit`).
pub fn located_problem(
    text: &str,
    key: &Spanned<DeString<'_>>,
    value: &Spanned<DeValue<'_>>,
) -> Option<String> {
    if key.get_ref() == "time_limit" {
        return None;
    }
    let e = Overrides::wrong_key(text, key, value)?;
    Some(crate::format::toml_problem(e, None))
}

/// The settings a run of `config` trains with, as `run --config` resolves them (unchecked).
pub fn train_config(config: &RunConfig) -> Result<TrainConfig, String> {
    Ok(TrainConfig::merged(
        Some(&read(config)?),
        &Overrides::default(),
    ))
}

/// The keys as `run --config` reads them; an error on one line (toml puts the key's name on
/// a line of its own), to sit in a list of problems, with the hint `run --config` gives
/// before it (the setting a misspelt key was meant to be, what a value of the wrong type
/// should look like).
fn read(config: &RunConfig) -> Result<Overrides, String> {
    toml::Value::Table(config.clone())
        .try_into()
        .map_err(|e: toml::de::Error| {
            let text = format!("{:#}", crate::format::toml_error(e, None));
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> RunConfig {
        toml::from_str(text).expect("the case's TOML parses")
    }

    #[test]
    fn a_full_config_is_valid() {
        let c = table(
            r#"model = "resnet18"
            batch = 32
            dim = 128
            lr = 3e-4
            weight_decay = 5e-4
            epochs = 300
            margin = 0.2
            image_size = 224
            mining = "semihard"
            sampler = "pk"
            pk_k = 4
            normalize = true
            augment = true
            eval_every = 1
            checkpoint_every = 10
            seed = 1
            device = "auto"
            data = "synthetic"
            min_images = 20
            max_images = 30
            split_seed = 0
            name = "best"
            tags = ["a", "b"]
            note = "why"
            "#,
        );
        assert_eq!(problems(&c, &c), Vec::<String>::new());
    }

    #[test]
    fn problems_name_the_key() {
        for (text, want) in [
            (
                "batch = 32",
                "no model given: set `model` in the spec's [base]",
            ),
            ("model = \"resnet18\"\nbach = 32", "unknown field `bach`"),
            ("model = \"resnet18\"\nmining = \"easy\"", "easy"),
            (
                "model = \"resnet18\"\nsampler = \"pk\"\npk_k = 4\nbatch = 30",
                "--pk-k",
            ),
            (
                "model = \"resnet18\"\nlr = 0.0",
                "--lr must be a positive number",
            ),
            (
                "model = \"resnet18\"\nmin_images = 20\nmax_images = 10",
                "--max-images (10) is below --min-images (20)",
            ),
        ] {
            let c = table(text);
            let p = problems(&c, &c).join("\n");
            assert!(p.contains(want), "missing {want:?} in:\n{p}");
        }
    }

    #[test]
    fn every_bad_key_is_reported_and_then_every_broken_rule() {
        // Every key the run's own.
        let all = |text: &str| {
            let c = table(text);
            problems(&c, &c)
        };
        // With a bad model, the rules of every model are checked all the same (lr), not those
        // that depend on it.
        let p = all("model = \"resnet50\"\nbatch = -1\nmining = \"easy\"\nlr = 0.0");
        assert_eq!(p.len(), 4, "{p:#?}");
        for want in [
            "model = \"resnet50\" is not one of `alexnet`, `resnet18`, `resnet152`",
            "unknown variant `resnet50`",
            "invalid value: integer `-1`, expected usize in `batch`",
            "`easy`",
            "--lr must be a positive number",
        ] {
            assert!(p.iter().any(|m| m.contains(want)), "no {want}: {p:#?}");
        }
        let p = all("model = \"resnet50\"\nimage_size = 8");
        assert_eq!(
            p.len(),
            1,
            "the model's smallest image waits for a model: {p:#?}"
        );
        // Without a bad model, the rules are checked on the good keys, all of them.
        let p = all("model = \"resnet18\"\nbatch = -1\nlr = 0.0\nepochs = 0\ncrop = 2.0");
        assert_eq!(p.len(), 4, "{p:#?}");
        for (m, want) in p[1..].iter().zip([
            "--lr must be a positive number",
            "--epochs must be at least 1",
            "--crop must be a fraction",
        ]) {
            assert!(m.contains(want), "{want}: {p:#?}");
        }
        // A sweep's run has no --config file or command line to name a model on.
        let p = all("batch = 8").join("\n");
        assert!(
            !p.contains("--config") && !p.contains("facenet-lab run"),
            "{p}"
        );
    }
    /// A run's key of the wrong name or type is said as `run --config` says it: with the hint
    /// `format::toml_error` puts before toml's words (the setting meant, the value wanted).
    #[test]
    fn a_bad_key_carries_run_configs_hint() {
        for (text, key) in [
            ("model = \"resnet18\"\nlr = \"fast\"", "lr"),
            ("model = \"resnet18\"\nbach = 8", "bach"),
            ("model = \"resnet18\"\nimagesize = 64", "imagesize"),
        ] {
            let c = table(text);
            let said = problems(&c, &c).join("\n");
            let alone = format!("{key} = {}", c[key]);
            let e = toml::from_str::<Overrides>(&alone).expect_err("a bad key");
            let hinted = crate::format::toml_error(e, None);
            assert_eq!(
                hinted.chain().count(),
                2,
                "{key}: toml_error has a hint: {hinted:#}"
            );
            let hint = hinted.to_string();
            assert!(said.starts_with(&format!("{hint}: ")), "{hint}: {said}");
            assert!(said.contains(&format!("`{key}`")), "{said}");
        }
    }
}
