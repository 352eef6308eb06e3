//! Checking one generated run configuration before any run starts, with the very rules
//! `facenet-lab run --config` applies: a typo in run 5 of 6 should not surface hours later.

use toml::Table;

use crate::train::config::{Overrides, TrainConfig};

/// A run configuration: the keys of a `facenet-lab run --config` file.
pub type RunConfig = Table;

/// What is wrong with `config`, as `run --config` would say it; empty when it is valid.
pub fn problems(config: &RunConfig) -> Vec<String> {
    let overrides = match read(config) {
        Ok(o) => o,
        Err(e) => return vec![e],
    };
    match TrainConfig::resolve(Some(&overrides), &Overrides::default()) {
        Ok(_) => Vec::new(),
        Err(e) => vec![format!("{e:#}")],
    }
}

/// The problems of keys that are unknown or of the wrong type, which a partial configuration
/// (a sweep's `[base]`) can have on its own; the same text [`problems`] gives for them.
pub fn key_problems(config: &RunConfig) -> Vec<String> {
    read(config).err().into_iter().collect()
}

fn read(config: &RunConfig) -> Result<Overrides, String> {
    toml::Value::Table(config.clone())
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string().trim().to_string())
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
        assert_eq!(problems(&c), Vec::<String>::new());
    }

    #[test]
    fn problems_name_the_key() {
        for (text, want) in [
            ("batch = 32", "no model given"),
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
            let p = problems(&table(text)).join("\n");
            assert!(p.contains(want), "missing {want:?} in:\n{p}");
        }
    }
}
