//! `sweep --resume`: what each of a spec's runs still needs, from what the lab holds of it.

use std::path::Path;

use anyhow::{bail, Result};

use super::{run_name, RunConfig, SweepSpec};
use crate::lab::{Lab, Run, RunId, RunStatus};
use crate::train::config::TrainConfig;

/// What the sweep does for one of its runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Start it from its generated config: a new run.
    Start,
    /// Continue the lab's run of it, which stopped before it completed (`run --resume`).
    Resume(RunId),
    /// Nothing: the lab's run of it completed.
    Done(RunId),
}

/// Every run started anew: a sweep without `--resume`.
pub fn fresh(spec: &SweepSpec) -> Vec<Plan> {
    vec![Plan::Start; spec.configs.len()]
}

/// The lab's run of each of `spec`'s runs, of `runs` (the lab's, oldest first): the newest with
/// the run's name and the sweep's tag; where there is none, the newest with the sweep's tag and
/// the run's settings ([`settings_changed`]: none) that no run of the spec is named as and no
/// other run of the spec took. A spec grown by a value or a seed names its runs anew (their
/// numbers, and the keys that vary, are in their names), and what they trained is still theirs.
pub fn lab_runs<'r>(spec: &SweepSpec, runs: &'r [Run]) -> Vec<Option<&'r Run>> {
    let tagged = || runs.iter().rev().filter(|r| r.tags.contains(&spec.tag));
    let mut found: Vec<Option<&Run>> = spec
        .configs
        .iter()
        .map(|config| tagged().find(|r| r.name == run_name(config)))
        .collect();
    let names: Vec<&str> = spec.configs.iter().map(run_name).collect();
    for (i, config) in spec.configs.iter().enumerate() {
        if found[i].is_some() {
            continue;
        }
        found[i] = tagged().find(|r| {
            !names.contains(&r.name.as_str())
                && !found.iter().flatten().any(|taken| taken.id == r.id)
                && settings_changed(config, r).is_some_and(|d| d.is_empty())
        });
    }
    found
}

/// The plan of each of `spec`'s runs from the lab at `db` (`sweep --resume`): the lab's run of
/// it ([`lab_runs`]) is done when it completed, and resumed when it stopped otherwise
/// (interrupted, crashed or failed); a run the lab has none of starts. A
/// run still training is refused: the sweep would train it twice. So is a run the spec now
/// gives other settings than it recorded: a resume goes on with the recorded ones, which is not
/// what the spec says. No lab: every run starts.
pub fn resuming(db: &Path, spec: &SweepSpec) -> Result<Vec<Plan>> {
    if !db.exists() {
        return Ok(fresh(spec));
    }
    let lab = Lab::open_read_only(db)?;
    let runs = lab.list_runs_seen()?;
    let now = crate::lab::now();
    let mut busy = Vec::new();
    let mut changed = Vec::new();
    let plans: Vec<Plan> = spec
        .configs
        .iter()
        .zip(lab_runs(spec, &runs))
        .map(|(config, newest)| {
            let name = run_name(config);
            if let Some(r) = newest {
                let differ = settings_changed(config, r).unwrap_or_default();
                if !differ.is_empty() {
                    changed.push(format!("  {name} (run {}): {}", r.id, differ.join(", ")));
                }
            }
            match newest.map(|r| (r, r.effective_status(now))) {
                None => Plan::Start,
                Some((r, RunStatus::Completed)) => Plan::Done(r.id),
                Some((r, RunStatus::Running)) => {
                    busy.push(still_training(r));
                    Plan::Start
                }
                // Registered, not yet training: busy while its trainer may still be loading; a
                // row left so by a trainer killed before its first step starts again.
                Some((r, RunStatus::Queued)) => {
                    if r.is_live(now) {
                        busy.push(still_training(r));
                    }
                    Plan::Start
                }
                Some((r, _)) => Plan::Resume(r.id),
            }
        })
        .collect();
    if !changed.is_empty() {
        bail!(
            "sweep '{}' --resume would go on with the settings {} recorded, which the spec now \
             changes (recorded → spec); nothing was started:\n{}\nput the spec back, or give \
             the changed runs new names (`name = ...`) to train them anew without --resume",
            spec.tag,
            if changed.len() == 1 {
                "its run"
            } else {
                "its runs"
            },
            changed.join("\n")
        );
    }
    if !busy.is_empty() {
        let (is, it) = if busy.len() == 1 {
            ("is", "it")
        } else {
            ("are", "them")
        };
        bail!(
            "{} of sweep '{}' {is} still training, and --resume would train {it} twice; \
             nothing was started:\n{}\nwait for {it}, or stop {it} (X in the dashboard)",
            crate::format::count(busy.len() as u64, "run", "runs"),
            spec.tag,
            busy.join("\n"),
        );
    }
    Ok(plans)
}

/// The settings `config` gives (a spec's run) that `run` recorded otherwise, as `epochs 12 →
/// 14`: what decides the training, not where its images are, what it is called or tagged, how
/// it keeps its checkpoints or which device it takes. `None` where either does not read as a
/// run's settings.
fn settings_changed(config: &RunConfig, run: &Run) -> Option<Vec<String>> {
    const ASIDE: [&str; 9] = [
        "data",
        "init",
        "init_sha256",
        "device",
        "name",
        "tags",
        "note",
        "checkpoint_every",
        "keep_checkpoints",
    ];
    let given = super::config::train_config(config).ok()?;
    let recorded = serde_json::from_str::<TrainConfig>(&run.config_json).ok()?;
    let as_json = |c: &TrainConfig| match serde_json::to_value(c) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (was, now) = (as_json(&recorded), as_json(&given));
    let changed = now
        .iter()
        .filter(|(key, _)| !ASIDE.contains(&key.as_str()))
        .filter_map(|(key, value)| {
            let before = was.get(key).unwrap_or(&serde_json::Value::Null);
            (before != value).then(|| format!("{key} {before} → {value}"))
        })
        .collect();
    Some(changed)
}

/// `  name: run 12, pid 4242 on host`.
fn still_training(r: &Run) -> String {
    let pid = r
        .pid
        .map(|p| format!(", pid {p} on {}", r.hostname))
        .unwrap_or_default();
    format!("  {}: run {}{pid}", r.name, r.id)
}

/// What `plans` do, in a line: `resumes 1 run, starts 2; 3 completed already (runs 4, 5, 7)`.
pub fn describe(plans: &[Plan]) -> String {
    let resumed = plans
        .iter()
        .filter(|p| matches!(p, Plan::Resume(_)))
        .count();
    let started = plans.iter().filter(|p| **p == Plan::Start).count();
    let done: Vec<String> = plans
        .iter()
        .filter_map(|p| match p {
            Plan::Done(id) => Some(id.to_string()),
            _ => None,
        })
        .collect();
    let mut text = format!(
        "resumes {}, starts {started}",
        crate::format::count(resumed as u64, "run", "runs")
    );
    if !done.is_empty() {
        text.push_str(&format!(
            "; {} completed already ({} {})",
            done.len(),
            if done.len() == 1 { "run" } else { "runs" },
            done.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::sample_run;

    fn spec() -> Result<SweepSpec> {
        SweepSpec::parse(
            "tag = \"t\"\n[base]\nmodel = \"resnet18\"\n[grid]\nseed = [1, 2, 3, 4]\n",
            "t.toml",
        )
    }

    #[test]
    fn each_run_is_started_resumed_or_left_by_what_the_lab_holds_of_it() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("lab.db");
        let spec = spec()?;
        assert_eq!(resuming(&db, &spec)?, [Plan::Start; 4], "no lab yet");
        let lab = Lab::open(&db)?;
        let names: Vec<&str> = spec.configs.iter().map(run_name).collect();
        let add = |name: &str, tag: &str, status: RunStatus| -> Result<RunId> {
            let mut new = sample_run(name);
            new.tags = vec![tag.to_string()];
            let id = lab.create_run(&new)?;
            lab.conn().execute(
                "UPDATE runs SET status = ?2 WHERE id = ?1",
                rusqlite::params![id.0, status.as_str()],
            )?;
            Ok(id)
        };
        // The first run completed; the second was interrupted, then started again and
        // completed: the newest counts. The third crashed. The fourth has a run of its name
        // from another sweep only.
        let done = add(names[0], "t", RunStatus::Completed)?;
        add(names[1], "t", RunStatus::Completed)?;
        let again = add(names[1], "t", RunStatus::Interrupted)?;
        let crashed = add(names[2], "t", RunStatus::Crashed)?;
        add(names[3], "other", RunStatus::Completed)?;
        let plans = resuming(&db, &spec)?;
        assert_eq!(
            plans,
            [
                Plan::Done(done),
                Plan::Resume(again),
                Plan::Resume(crashed),
                Plan::Start
            ]
        );
        assert_eq!(
            describe(&plans),
            format!("resumes 2 runs, starts 1; 1 completed already (run {done})")
        );

        // A run still training (its heartbeat fresh) is not trained twice.
        let live = add(names[3], "t", RunStatus::Running)?;
        lab.conn().execute(
            "UPDATE runs SET heartbeat_at = ?2, pid = NULL WHERE id = ?1",
            rusqlite::params![live.0, crate::lab::now()],
        )?;
        let err = resuming(&db, &spec).unwrap_err().to_string();
        assert!(
            err.contains("1 run of sweep 't' is still training")
                && err.contains(&format!("{}: run {live}", names[3])),
            "{err}"
        );
        // Registered long ago and never trained (its trainer killed as it loaded): started
        // again.
        lab.conn().execute(
            "UPDATE runs SET status = 'queued', created_at = created_at - 3600 WHERE id = ?1",
            [live.0],
        )?;
        assert_eq!(resuming(&db, &spec)?[3], Plan::Start);
        Ok(())
    }

    /// A spec grown by seeds names its runs anew (`t-01-seed1` for `t-1-seed1`): the runs it
    /// trained are found by their settings, each once; one of other settings is not.
    #[test]
    fn a_grown_spec_finds_its_runs_by_their_settings() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("lab.db");
        let text = |seeds: &str| {
            format!(
                "tag = \"t\"\n[base]\nmodel = \"resnet18\"\nepochs = 10\n\
                 data = \"synthetic\"\n[grid]\nseed = [{seeds}]\n"
            )
        };
        let before = SweepSpec::parse(&text("1, 2, 3"), "t.toml")?;
        let lab = Lab::open(&db)?;
        let mut ids = Vec::new();
        for (config, status) in before.configs.iter().zip(["completed", "interrupted", "x"]) {
            let mut cfg = crate::sweep::config::train_config(config).map_err(anyhow::Error::msg)?;
            if status == "x" {
                // Trained with other settings than any run of the spec now.
                cfg.epochs = 5;
            }
            let mut new = sample_run(run_name(config));
            new.tags = vec!["t".into()];
            new.config_json = serde_json::to_string(&cfg)?;
            let id = lab.create_run(&new)?;
            lab.conn().execute(
                "UPDATE runs SET status = ?2 WHERE id = ?1",
                rusqlite::params![id.0, if status == "x" { "crashed" } else { status }],
            )?;
            ids.push(id);
        }
        let grown = SweepSpec::parse(&text("1, 2, 3, 4, 5, 6, 7, 8, 9, 10"), "t.toml")?;
        assert_eq!(run_name(&grown.configs[0]), "t-01-seed1", "named anew");
        let plans = resuming(&db, &grown)?;
        assert_eq!(plans[..2], [Plan::Done(ids[0]), Plan::Resume(ids[1])]);
        assert_eq!(
            plans[2..],
            [Plan::Start; 8],
            "run 3's settings are not seed 3's"
        );
        assert_eq!(
            crate::sweep::already_run(&db, &grown),
            [
                format!(
                    "t-01-seed1 (1/10): run {} (completed, named t-1-seed1)",
                    ids[0]
                ),
                format!(
                    "t-02-seed2 (2/10): run {} (interrupted, named t-2-seed2)",
                    ids[1]
                ),
            ]
        );
        Ok(())
    }

    #[test]
    fn a_run_the_spec_now_gives_other_settings_is_not_resumed() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("lab.db");
        let text = |epochs: u32| {
            format!(
                "tag = \"t\"\n[base]\nmodel = \"resnet18\"\nepochs = {epochs}\n\
                 data = \"synthetic\"\n[grid]\nseed = [1, 2]\n"
            )
        };
        let spec = SweepSpec::parse(&text(10), "t.toml")?;
        let lab = Lab::open(&db)?;
        // Recorded as the trainer records them: the resolved config, its data resolved too.
        for config in &spec.configs {
            let mut cfg = crate::sweep::config::train_config(config).map_err(anyhow::Error::msg)?;
            cfg.data = "synthetic:12:24".into();
            let mut new = sample_run(run_name(config));
            new.tags = vec!["t".into()];
            new.config_json = serde_json::to_string(&cfg)?;
            let id = lab.create_run(&new)?;
            lab.conn().execute(
                "UPDATE runs SET status = 'interrupted' WHERE id = ?1",
                [id.0],
            )?;
        }
        assert_eq!(
            resuming(&db, &spec)?,
            [Plan::Resume(RunId(1)), Plan::Resume(RunId(2))],
            "the same settings, the data aside"
        );
        let err = resuming(&db, &SweepSpec::parse(&text(20), "t.toml")?)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("which the spec now changes")
                && err.contains("t-1-seed1 (run 1): epochs 10 → 20")
                && err.contains("t-2-seed2 (run 2): epochs 10 → 20"),
            "{err}"
        );
        Ok(())
    }
}
