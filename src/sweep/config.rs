//! Checking one generated run configuration against the keys the trainer's `--config` file
//! takes, before any run starts: a typo in run 5 of 6 should not surface hours later.

use toml::{Table, Value};

/// A run configuration: the keys of a `facenet-lab run --config` file.
pub type RunConfig = Table;

/// Every key a run configuration may hold, with what it must be.
pub const KEYS: &[(&str, &str)] = &[
    ("model", "one of \"alexnet\", \"resnet18\", \"resnet152\""),
    ("batch", "an integer of at least 2"),
    ("dim", "an integer of at least 2"),
    ("lr", "a positive number"),
    ("epochs", "an integer of at least 1"),
    ("margin", "a number of at least 0"),
    ("image_size", "an integer of at least 16"),
    ("mining", "one of \"all\", \"semihard\", \"hard\""),
    ("sampler", "one of \"random\", \"pk\""),
    ("pk_k", "an integer of at least 2 that divides batch"),
    ("normalize", "true or false"),
    ("augment", "true or false"),
    ("eval_every", "an integer of at least 1"),
    ("checkpoint_every", "an integer of at least 1"),
    ("seed", "an integer of at least 0"),
    ("device", "one of \"auto\", \"cpu\", \"cuda\""),
    ("data", "a path, or \"synthetic\""),
    ("min_images", "an integer of at least 1"),
    ("max_images", "an integer of at least min_images"),
    ("split_seed", "an integer of at least 0"),
    ("name", "a non-empty string"),
    ("tags", "a list of strings"),
    ("note", "a string"),
];

/// Every problem with `config`, as messages naming the key, the value and what it must be.
/// Empty when the configuration is valid.
pub fn problems(config: &RunConfig) -> Vec<String> {
    let mut out = Vec::new();
    if !config.contains_key("model") {
        out.push(
            "no model: set model = \"resnet18\" (or alexnet, resnet152) in [base] or the run"
                .into(),
        );
    }
    for (key, value) in config {
        let Some((_, want)) = KEYS.iter().find(|(k, _)| k == key) else {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            out.push(format!(
                "unknown key '{key}': the keys are {}",
                known.join(", ")
            ));
            continue;
        };
        if !valid(key, value, config) {
            out.push(format!("{key} = {value} is not valid: it must be {want}"));
        }
    }
    out
}

fn valid(key: &str, value: &Value, config: &RunConfig) -> bool {
    let int_at_least = |min: i64| matches!(value, Value::Integer(i) if *i >= min);
    let one_of =
        |options: &[&str]| matches!(value, Value::String(s) if options.contains(&s.as_str()));
    let number = match value {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    match key {
        "model" => one_of(&["alexnet", "resnet18", "resnet152"]),
        "batch" | "dim" => int_at_least(2),
        "lr" => number.is_some_and(|x| x > 0.0 && x.is_finite()),
        "margin" => number.is_some_and(|x| x >= 0.0 && x.is_finite()),
        "epochs" | "eval_every" | "checkpoint_every" | "min_images" => int_at_least(1),
        "image_size" => int_at_least(16),
        "seed" | "split_seed" => int_at_least(0),
        "mining" => one_of(&["all", "semihard", "hard"]),
        "sampler" => one_of(&["random", "pk"]),
        "device" => one_of(&["auto", "cpu", "cuda"]),
        "normalize" | "augment" => matches!(value, Value::Boolean(_)),
        "pk_k" => {
            let batch = match config.get("batch") {
                Some(Value::Integer(b)) => Some(*b),
                _ => None,
            };
            matches!(value, Value::Integer(k) if *k >= 2 && batch.is_none_or(|b| b % k == 0))
        }
        "max_images" => {
            let min = match config.get("min_images") {
                Some(Value::Integer(m)) => *m,
                _ => 1,
            };
            int_at_least(min.max(1))
        }
        "data" | "name" => matches!(value, Value::String(s) if !s.trim().is_empty()),
        "note" => matches!(value, Value::String(_)),
        "tags" => {
            matches!(value, Value::Array(items) if items.iter().all(|t| matches!(t, Value::String(s) if !s.is_empty())))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> RunConfig {
        toml::from_str(text).unwrap_or_default()
    }

    #[test]
    fn a_full_config_is_valid() {
        let c = table(
            r#"model = "resnet18"
            batch = 32
            dim = 128
            lr = 3e-4
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
        assert_eq!(problems(&c), Vec::<String>::new());
    }

    #[test]
    fn each_problem_is_named() {
        let c = table(
            r#"batch = 30
            bach = 32
            mining = "easy"
            sampler = "pk"
            pk_k = 4
            lr = 0
            min_images = 20
            max_images = 10
            "#,
        );
        let p = problems(&c).join("\n");
        for want in [
            "no model",
            "unknown key 'bach'",
            "mining = \"easy\" is not valid: it must be one of \"all\", \"semihard\", \"hard\"",
            "pk_k = 4 is not valid",
            "lr = 0 is not valid",
            "max_images = 10 is not valid",
        ] {
            assert!(p.contains(want), "missing {want:?} in:\n{p}");
        }
    }
}
