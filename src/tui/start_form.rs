//! The dashboard's start-a-run form: labelled text fields turned into `facenet-lab run`
//! arguments, checked as `run` would check them before anything starts.

/// The start-a-run form: labelled text fields turned into `facenet-lab run` arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct StartForm {
    pub fields: Vec<(&'static str, String)>,
    pub focus: usize,
}

/// The form's fields, in order.
const FIELDS: [&str; 9] = [
    "model",
    "dim",
    "batch",
    "mining",
    "sampler",
    "epochs",
    "image size",
    "data",
    "more flags",
];

impl StartForm {
    /// The form with these values, field by field ([`FIELDS`]).
    fn with(values: [String; 9]) -> StartForm {
        StartForm {
            fields: FIELDS.into_iter().zip(values).collect(),
            focus: 0,
        }
    }

    /// The form filled in with a short run over `data`.
    pub fn new(data: &str) -> StartForm {
        let short = [
            "resnet18", "128", "32", "semihard", "pk", "10", "64", data, "",
        ];
        StartForm::with(short.map(String::from))
    }

    /// The form filled in from run `r`, with `--like` it for the settings the form has no field
    /// for; the data field left empty, so that the run's own images are taken.
    pub fn like(r: &crate::lab::Run) -> StartForm {
        let h = &r.hyper;
        StartForm::with([
            h.model.clone(),
            h.embedding_dim.to_string(),
            h.batch_size.to_string(),
            h.mining.clone(),
            h.sampler.clone(),
            h.epochs.to_string(),
            h.image_size.to_string(),
            String::new(),
            format!("--like {}", r.id),
        ])
    }
}

impl StartForm {
    /// The form for a lab of `runs`, which trained on `datasets`, in the folder `lab_dir`: over
    /// the images of the newest run, where they are still there (found through the lab's record
    /// of its dataset, or its `--data` path taken from the lab's folder: a path relative to
    /// where it was started, `../shared/data/lfw-20-30`, does not lead there from elsewhere),
    /// else as [`StartForm::default`].
    pub fn for_lab(
        runs: &[crate::lab::Run],
        datasets: &super::datasets::Datasets,
        lab_dir: &std::path::Path,
    ) -> StartForm {
        let newest = runs
            .iter()
            .max_by(|a, b| a.created_at.total_cmp(&b.created_at));
        let data = newest.and_then(|r| super::datasets::images_of(r, datasets, lab_dir));
        match data {
            Some(d) => StartForm::new(&d),
            None => StartForm::default(),
        }
    }
}

impl Default for StartForm {
    /// Over the LFW images `data fetch` put in place, as `run` trains by default; over
    /// generated faces where there are none yet.
    fn default() -> Self {
        let fetched = crate::data::default_dataset_path()
            .ok()
            .filter(|p| p.exists())
            .map(|p| p.to_string_lossy().into_owned());
        StartForm::new(fetched.as_deref().unwrap_or("synthetic"))
    }
}

impl StartForm {
    /// The `run` arguments, or what is wrong with the form.
    pub fn args(&self) -> Result<Vec<String>, String> {
        let mut args = Vec::new();
        for (name, value) in &self.fields {
            let value = value.trim();
            // Flags typed into a field of their own (model, data) would reach `run` as that
            // field's value, and clap's refusal of it names neither the field nor where flags go.
            if matches!(*name, "model" | "data") && value.starts_with('-') {
                return Err(format!(
                    "{name}: '{}' looks like flags: put them in more flags",
                    super::text::ellipsize(value, 20)
                ));
            }
            let flag = match *name {
                "model" => {
                    if value.is_empty() {
                        return Err("model: give a model name such as resnet18".into());
                    }
                    args.insert(0, value.to_string());
                    continue;
                }
                "dim" | "batch" | "epochs" | "image size" => {
                    if value.parse::<u32>().map_or(true, |v| v == 0) {
                        return Err(format!(
                            "{name}: needs a positive whole number, got '{value}'"
                        ));
                    }
                    match *name {
                        "image size" => "--image-size",
                        "dim" => "--dim",
                        "batch" => "--batch",
                        _ => "--epochs",
                    }
                }
                "mining" => {
                    if !["all", "semihard", "hard"].contains(&value) {
                        return Err(format!("mining: one of all, semihard, hard; got '{value}'"));
                    }
                    "--mining"
                }
                "sampler" => {
                    if !["random", "pk"].contains(&value) {
                        return Err(format!("sampler: one of random, pk; got '{value}'"));
                    }
                    "--sampler"
                }
                "more flags" => {
                    let more = split_flags(value)?;
                    self.refuse_in_more_flags(&more)?;
                    args.extend(more);
                    continue;
                }
                _ => "--data",
            };
            if !value.is_empty() {
                args.push(flag.to_string());
                args.push(value.to_string());
            }
        }
        // As `run` would read them, its settings checked as it checks them: a mistyped flag or
        // a batch too small for its sampler is said here, not in a log after the start.
        let command = ["facenet-lab", "run"].into_iter().map(String::from);
        let cli = match <crate::cli::Cli as clap::Parser>::try_parse_from(
            command.chain(args.iter().cloned()),
        ) {
            Ok(cli) => cli,
            Err(e) => {
                use clap::error::ErrorKind;
                if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                    return Err("more flags: `facenet-lab run --help` in a shell lists them".into());
                }
                // The error and clap's tip (a similar flag), without the usage lines, in the
                // form's words: its model field, not `[MODEL]`; no shell's `--` to escape with.
                let text = e.to_string();
                let said: Vec<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with("error:") || l.starts_with("tip:"))
                    .filter(|l| !l.contains("use '-- "))
                    .map(|l| {
                        l.trim_start_matches("error: ")
                            .replace("'[MODEL]'", "model")
                    })
                    .collect();
                return Err(said.join(" · "));
            }
        };
        if let Some(crate::cli::Command::Run(run)) = &cli.command {
            // The settings as `run` will read them, so that the form refuses what it would; with
            // --like they start from another run's, which the dashboard checks against the lab
            // before it starts the run.
            let data = if run.like.is_none() {
                let (_, cfg) = crate::train::config::TrainConfig::resolve_from(
                    run.config.as_deref(),
                    &run.overrides,
                )
                .map_err(|e| format!("{e:#}"))?;
                crate::train::device::check(cfg.device).map_err(|e| format!("{e:#}"))?;
                Some(cfg.data)
            } else {
                // No data given: the other run's images, found (or refused) with the lab.
                run.overrides.data.clone()
            };
            // Its images found as `run` finds them: a mistyped path is said here, where the
            // form keeps what was typed, not in a log after the form has gone.
            if let Some(data) = data {
                crate::train::session::resolve_data(&data).map_err(|e| format!("data: {e:#}"))?;
            }
        }
        Ok(args)
    }
}

impl StartForm {
    /// Where the settings that the form does not give come from, said under its fields: a short
    /// run of semihard mining over P×K batches is half of a recipe whose other half (--normalize,
    /// --augment, a higher rate with a schedule) is not `run`'s default, and a rate typed alone
    /// trains raw embeddings. With `--like RUN` in its last field, from that run.
    pub fn rest(&self) -> Vec<String> {
        let more = self.fields.last().map_or("", |(_, v)| v.as_str());
        let words = split_flags(more).unwrap_or_default();
        let like = words
            .iter()
            .enumerate()
            .find_map(|(i, w)| match w.strip_prefix("--like") {
                Some("") => words.get(i + 1).cloned(),
                Some(rest) => rest.strip_prefix('=').map(str::to_string),
                None => None,
            });
        if let Some(like) = like {
            return vec![format!(
                "settings not given here: run {like}'s (--like {like})"
            )];
        }
        use clap::ValueEnum;
        // As `run` reads them: more flags' (and their --config file's) over the defaults.
        let given = self.more_flags_config();
        let d = given.clone().unwrap_or_default();
        let schedule = d
            .lr_schedule
            .to_possible_value()
            .map_or(String::new(), |v| format!(" {}", v.get_name()));
        let no = |on: bool, flag: &str| {
            if on {
                flag.to_string()
            } else {
                format!("no {flag}")
            }
        };
        vec![
            if given.is_some() {
                "settings not in the fields: more flags', then `run`'s defaults,".into()
            } else {
                "settings not given here: `run`'s defaults,".into()
            },
            format!(
                "lr {:e}{schedule} · margin {} · crop {} · seed {}",
                d.lr, d.margin, d.crop, d.seed
            ),
            format!(
                "{} · {}",
                if d.normalize {
                    "--normalize"
                } else {
                    "no --normalize (raw embeddings)"
                },
                no(d.augment, "--augment")
            ),
        ]
    }
}

impl StartForm {
    /// The settings `run` reads from the form's more flags where they give any (and read: an
    /// error is [`StartForm::args`]'s to say), over its defaults.
    fn more_flags_config(&self) -> Option<crate::train::config::TrainConfig> {
        let more = self.fields.last().map_or("", |(_, v)| v.as_str());
        let words = split_flags(more).ok().filter(|w| !w.is_empty())?;
        let command = ["facenet-lab", "run", "resnet18"].map(String::from);
        let cli =
            <crate::cli::Cli as clap::Parser>::try_parse_from(command.into_iter().chain(words))
                .ok()?;
        let Some(crate::cli::Command::Run(run)) = cli.command else {
            return None;
        };
        crate::train::config::TrainConfig::resolve_from(run.config.as_deref(), &run.overrides)
            .ok()
            .map(|(_, cfg)| cfg)
    }
}

/// The `run` flags the form's fields give, by field: typed again in "more flags", clap would
/// say the flag "cannot be used multiple times", which the person typed once.
const FIELD_FLAGS: [(&str, &str); 7] = [
    ("dim", "--dim"),
    ("batch", "--batch"),
    ("mining", "--mining"),
    ("sampler", "--sampler"),
    ("epochs", "--epochs"),
    ("image size", "--image-size"),
    ("data", "--data"),
];

/// The `run` flags that are not for the form, and why: each its own reason, and the way to
/// what it would do where the dashboard has one.
const NOT_FOR_THE_FORM: [(&str, &str); 3] = [
    ("--db", "the dashboard starts a run in the lab it shows"),
    (
        "--log-path",
        "the dashboard names the run's log itself, in logs/ beside the lab",
    ),
    (
        "--resume",
        "the form starts a new run; to go on with a stopped one, highlight it and press C",
    ),
];

impl StartForm {
    /// Refuses a flag in "more flags" (`more`, split) that a field of the form gives (while the
    /// field has a value: an empty data field gives none) or that is not for the form at all,
    /// naming the field or the reason.
    fn refuse_in_more_flags(&self, more: &[String]) -> Result<(), String> {
        let is = |word: &str, flag: &str| {
            word == flag || word.strip_prefix(flag).is_some_and(|r| r.starts_with('='))
        };
        for word in more {
            if let Some((flag, why)) = NOT_FOR_THE_FORM.iter().find(|(f, _)| is(word, f)) {
                return Err(format!("more flags: {flag} is not for this form: {why}"));
            }
            let given = FIELD_FLAGS.iter().find(|(field, flag)| {
                is(word, flag)
                    && self
                        .fields
                        .iter()
                        .any(|(name, value)| name == field && !value.trim().is_empty())
            });
            if let Some((field, flag)) = given {
                return Err(format!(
                    "more flags: {flag} has its own field in this form ({field}): set it there"
                ));
            }
        }
        Ok(())
    }
}

/// `text` split at spaces, as a shell would, outside single or double quotes (which group
/// words and are dropped): `--name "two words"` is two arguments. A backslash keeps the next
/// character as it is, outside quotes, and before `"` or `\` inside double quotes.
fn split_flags(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                let w = word.get_or_insert_with(String::new);
                match chars.clone().next() {
                    Some(next @ ('"' | '\\')) => {
                        w.push(next);
                        chars.next();
                    }
                    _ => w.push('\\'),
                }
            }
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\\') => match chars.next() {
                Some(next) => word.get_or_insert_with(String::new).push(next),
                None => return Err("more flags: a \\ ends the text".into()),
            },
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(q) = quote {
        return Err(format!("more flags: a {q} is not closed"));
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A form opened in a lab starts over the images of its newest run, while they are there.
    #[test]
    fn a_new_form_takes_the_newest_runs_images() -> anyhow::Result<()> {
        use crate::lab::fixtures::run;
        let dir = tempfile::tempdir()?;
        let with_data = |id: i64, data: &str, created: f64| -> anyhow::Result<crate::lab::Run> {
            let cfg = crate::train::config::TrainConfig {
                data: data.into(),
                ..Default::default()
            };
            let mut r = run(id, "r", "resnet18");
            r.config_json = serde_json::to_string(&cfg)?;
            r.created_at = created;
            Ok(r)
        };
        let folder = dir.path().to_string_lossy().into_owned();
        let none = crate::tui::datasets::Datasets::new();
        let here = std::path::Path::new(".");
        let runs = [
            with_data(1, &folder, 2.0)?,
            with_data(2, "synthetic:4:8", 1.0)?,
        ];
        assert_eq!(StartForm::for_lab(&runs, &none, here).fields[7].1, folder);
        let runs = [
            with_data(1, "synthetic:4:8", 2.0)?,
            with_data(2, &folder, 1.0)?,
        ];
        assert_eq!(
            StartForm::for_lab(&runs, &none, here).fields[7].1,
            "synthetic:4:8"
        );
        // Images no longer there, or no runs: the fetched LFW, or generated faces.
        let gone = [with_data(1, "/no/such/lfw-20-30", 1.0)?];
        let default = StartForm::default();
        assert_eq!(StartForm::for_lab(&gone, &none, here), default);
        assert_eq!(StartForm::for_lab(&[], &none, here), default);
        // The default data records "" (the fetched archive), which names no folder: not the
        // lab's own folder, which joined to it would be.
        let fetched = [with_data(1, "", 1.0)?];
        assert_eq!(StartForm::for_lab(&fetched, &none, dir.path()), default);

        // A run started beside the lab records its images relative to there
        // (`../images/lfw-20-30`), which leads nowhere from another folder: they are found
        // through its dataset's record, which holds them whole, or from the lab's folder.
        let lab_dir = dir.path().join("lab");
        let images = dir.path().join("images").join("lfw-20-30");
        std::fs::create_dir_all(&lab_dir)?;
        std::fs::create_dir_all(&images)?;
        let relative = "../images/lfw-20-30";
        assert!(!std::path::Path::new(relative).exists(), "the premise");
        let mut recorded = with_data(61, relative, 3.0)?;
        recorded.dataset_id = Some(crate::lab::DatasetId(1));
        let lfw = crate::tui::datasets::Dataset {
            name: "lfw-20-30".into(),
            source: images.to_string_lossy().into_owned(),
        };
        let datasets = crate::tui::datasets::Datasets::from([(1, lfw)]);
        let form = StartForm::for_lab(std::slice::from_ref(&recorded), &datasets, here);
        assert_eq!(form.fields[7].1, images.to_string_lossy());
        let form = StartForm::for_lab(&[recorded], &none, &lab_dir);
        assert_eq!(form.fields[7].1, lab_dir.join(relative).to_string_lossy());
        Ok(())
    }

    /// A form with `--like` leaves the settings' check to the dashboard, which has the lab: the
    /// other run's pk_k of 3 makes a batch of 30 right, where the default 4 would refuse it.
    #[test]
    fn a_form_like_another_run_is_not_checked_against_the_defaults() {
        let mut form = StartForm::new("synthetic");
        form.fields[2].1 = "30".into();
        let last = form.fields.len() - 1;
        assert!(
            form.args().is_err_and(|e| e.contains("multiple of")),
            "the default pk_k"
        );
        form.fields[last].1 = "--like 1".into();
        let args = form.args().expect("left to the lab's check");
        assert!(
            args.ends_with(&["--like".to_string(), "1".to_string()]),
            "{args:?}"
        );
    }

    /// Images that are not there are refused before the run starts, as `run` would refuse
    /// them; a run like another with no data of its own takes that run's, checked with the lab.
    #[test]
    fn data_that_is_not_there_is_refused_by_the_form() {
        let mut form = StartForm::new("/no/such/lfw-20-30");
        let err = form.args().expect_err("no such data");
        assert!(
            err.starts_with("data: --data '/no/such/lfw-20-30' does not exist"),
            "{err}"
        );
        let last = form.fields.len() - 1;
        form.fields[last].1 = "--like 3".into();
        let err = form.args().expect_err("given with --like, still checked");
        assert!(err.contains("does not exist"), "{err}");
        form.fields[7].1 = String::new();
        let args = form.args().expect("the other run's images");
        assert!(!args.iter().any(|a| a == "--data"), "{args:?}");
        assert!(
            args.ends_with(&["--like".to_string(), "3".to_string()]),
            "{args:?}"
        );
        form.fields[7].1 = "synthetic:5:x".into();
        assert!(form.args().is_err_and(|e| e.starts_with("data: ")));
        form.fields[7].1 = "synthetic".into();
        form.fields[last].1 = String::new();
        let args = form.args().expect("generated faces are always there");
        assert!(
            args.windows(2).any(|w| w == ["--data", "synthetic"]),
            "{args:?}"
        );
    }

    /// Flags typed into the data or model field are refused by that field's name, with where
    /// they go: clap would call them an unexpected argument and offer `--name`, which the
    /// person typed.
    #[test]
    fn flags_in_the_data_or_model_field_say_where_flags_go() {
        let mut form = StartForm::new("synthetic");
        form.fields[7].1 = "--name dash-run --normalize --epochs 20".into();
        assert_eq!(
            form.args(),
            Err("data: '--name dash-run --n…' looks like flags: put them in more flags".into())
        );
        form.fields[7].1 = "synthetic".into();
        form.fields[0].1 = " -n x".into();
        assert_eq!(
            form.args(),
            Err("model: '-n x' looks like flags: put them in more flags".into())
        );
        // In their own field the same flags are taken.
        form.fields[0].1 = "resnet18".into();
        form.fields[8].1 = "--name dash-run --normalize".into();
        let args = form.args().expect("flags where flags go");
        assert!(args.ends_with(&["--name", "dash-run", "--normalize"].map(String::from)));
    }

    /// A flag a field gives, typed in "more flags" too, is refused by the field's name (clap
    /// would say it "cannot be used multiple times", typed once); an empty data field gives no
    /// --data, so more flags may.
    #[test]
    fn more_flags_name_the_field_that_gives_a_flag() {
        let mut form = StartForm::new("synthetic");
        let last = form.fields.len() - 1;
        for (flags, said) in [
            (
                "--epochs 3",
                "more flags: --epochs has its own field in this form (epochs): set it there",
            ),
            (
                "--seed 2 --image-size=8",
                "more flags: --image-size has its own field in this form (image size): set it \
                 there",
            ),
            (
                "--data /x",
                "more flags: --data has its own field in this form (data): set it there",
            ),
        ] {
            form.fields[last].1 = flags.into();
            assert_eq!(form.args(), Err(said.to_string()), "{flags}");
        }
        // A flag that only starts like one the form gives is another flag.
        form.fields[last].1 = "--epochs-x 3".into();
        assert!(
            form.args()
                .is_err_and(|e| e.contains("unexpected argument")),
            "clap's"
        );
        form.fields[7].1 = String::new();
        form.fields[last].1 = "--data synthetic".into();
        let args = form.args().expect("the data field is empty");
        assert!(args.join(" ").ends_with("--data synthetic"), "{args:?}");
    }

    /// Each flag that is not for the form says its own reason: --resume where a run is resumed
    /// (C), not --db's.
    #[test]
    fn each_flag_that_is_not_for_the_form_says_why() {
        let mut form = StartForm::new("synthetic");
        let last = form.fields.len() - 1;
        for (flags, said) in [
            (
                "--resume 3",
                "more flags: --resume is not for this form: the form starts a new run; to go on \
                 with a stopped one, highlight it and press C",
            ),
            (
                "--log-path x.log",
                "more flags: --log-path is not for this form: the dashboard names the run's log \
                 itself, in logs/ beside the lab",
            ),
            (
                "--db=other.db",
                "more flags: --db is not for this form: the dashboard starts a run in the lab it \
                 shows",
            ),
        ] {
            form.fields[last].1 = flags.into();
            assert_eq!(form.args(), Err(said.to_string()), "{flags}");
        }
    }

    /// Any other `run` flag goes in the last field; one `run` would refuse is said at once.
    #[test]
    fn the_start_form_takes_more_flags_as_run_reads_them() {
        let mut form = StartForm::new("synthetic");
        let last = form.fields.len() - 1;
        form.fields[last].1 = "--lr 5e-4  --normalize --seed 2".into();
        let args = form.args().expect("valid");
        assert!(
            args.join(" ")
                .ends_with("--data synthetic --lr 5e-4 --normalize --seed 2"),
            "{args:?}"
        );
        form.fields[last].1 = "--lr 5e-4 --normalise".into();
        let err = form.args().expect_err("a mistyped flag");
        assert!(err.contains("--normalise") && err.contains("tip:"), "{err}");
        for (typed, split) in [
            (r#"a "b c" 'd e'"#, vec!["a", "b c", "d e"]),
            (
                r#"--note "say \"hi\"" don\'t a\ b"#,
                vec!["--note", "say \"hi\"", "don't", "a b"],
            ),
            (r#""" ''"#, vec!["", ""]),
            (r#"'a'"b""#, vec!["ab"]),
        ] {
            assert_eq!(
                split_flags(typed),
                Ok(split.iter().map(|w| w.to_string()).collect())
            );
        }
        form.fields[last].1 = "--note 'two words' --name \"a b\"".into();
        let args = form.args().expect("quoted words");
        assert!(
            args.join("|").ends_with("--note|two words|--name|a b"),
            "{args:?}"
        );
        for (flags, said) in [
            ("--name 'open", "is not closed"),
            ("--db other.db", "--db is not for this form"),
            ("--help", "facenet-lab run --help"),
            // A P×K batch must hold at least two identities of K images.
            (
                "--pk-k 40",
                "--batch (32) must hold --pk-k (40) images of each of 2 identities or more: a \
                 multiple of 40, at least 80 (e.g. 80)",
            ),
        ] {
            form.fields[last].1 = flags.into();
            let err = form.args().expect_err(flags);
            assert!(err.contains(said), "{flags}: {err}");
        }
        if !cfg!(feature = "cuda") {
            form.fields[last].1 = "--device gpu".into();
            let err = form.args().expect_err("no CUDA");
            assert!(err.contains("built without CUDA"), "{err}");
        }
        form.fields[last].1 = "--bogus".into();
        assert_eq!(
            form.args(),
            Err("unexpected argument '--bogus' found".into()),
            "no tip to escape it with --, which the form has no use for"
        );
        form.fields[last].1 = String::new();
        form.fields[0].1 = "resnet19".into();
        let err = form.args().expect_err("no such model");
        assert_eq!(
            err,
            "invalid value 'resnet19' for model · tip: a similar value exists: 'resnet18'"
        );
    }
}
