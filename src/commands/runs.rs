//! `facenet-lab runs`: the recorded runs as a table or JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::cli::RunsArgs;
use crate::format;
use crate::lab::{now, params, Lab, Run, RunStatus};
use crate::tui::filter::{Column, FieldColumn, Filter, SortKey};

#[derive(Serialize)]
struct RunJson<'a> {
    #[serde(flatten)]
    run: &'a Run,
    /// The status to believe: a running run with a stale heartbeat has crashed.
    effective_status: RunStatus,
    /// Whole epochs trained, as the table's epoch column counts them (`last_epoch` is the
    /// epoch of the last step, the one in progress).
    epochs_done: i64,
    /// Seconds trained, pauses between a stop and its resume left out: the table's duration.
    duration_secs: Option<f64>,
    /// The config as the trainer saw it, parsed (`config_json` holds it as text).
    config: serde_json::Value,
}

pub fn execute(lab: &Lab, args: &RunsArgs) -> Result<()> {
    // clap checked each argument; together they parse as well.
    let filter = Filter::parse(&args.filter.join(" ")).map_err(|e| anyhow!("filter {e}"))?;
    let all = lab.list_runs_seen()?;
    let total = all.len();
    let t = now();
    let mut runs: Vec<Run> = all.into_iter().filter(|r| filter.matches(r, t)).collect();
    runs.sort_by(|a, b| args.sort.order(a, b, t, args.desc));
    if runs.is_empty() && total > 0 {
        let mut msg = format!(
            "no run of the {total} in the lab matches '{}'",
            filter.text()
        );
        if let Some(hint) = filter.bare_field_hint() {
            msg += &format!("; {hint}");
        }
        crate::say!("{msg}");
        if !args.json {
            return Ok(());
        }
    }
    // Written with errors returned, not `print!`, which panics: `facenet-lab runs | head` ends
    // quietly (see `main`).
    let mut out = std::io::stdout().lock();
    if args.json {
        let rows: Vec<_> = runs
            .iter()
            .map(|r| RunJson {
                run: r,
                effective_status: r.effective_status(t),
                epochs_done: r.epochs_done(),
                duration_secs: r.duration(t),
                config: serde_json::from_str(&r.config_json).unwrap_or_default(),
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
    } else {
        let show = shown(&args.show, args.sort);
        let datasets = dataset_names(lab, &runs)?;
        write!(out, "{}", table(&runs, t, lab.path(), &show, &datasets))?;
    }
    Ok(())
}

/// The fields `--show` names, each once, and the one `--sort` names where no column shows it.
fn shown(show: &[FieldColumn], sort: SortKey) -> Vec<FieldColumn> {
    let sorted = match sort {
        SortKey::Field(f) => Some(f),
        SortKey::Column(_) => None,
    };
    let mut out: Vec<FieldColumn> = Vec::new();
    for f in show.iter().copied().chain(sorted) {
        if !out.iter().any(|s| s.same_field(f)) {
            out.push(f);
        }
    }
    out
}

/// The names of the datasets `runs` trained on, by id ([`params::dataset_name`]: `lfw-20-30`,
/// `synthetic:12:24:0`).
pub fn dataset_names(lab: &Lab, runs: &[Run]) -> Result<BTreeMap<i64, String>> {
    Ok(lab
        .dataset_heads(runs)?
        .into_iter()
        .map(|(id, d)| (id, params::dataset_name(&d)))
        .collect())
}

/// Where the data column goes, when there is one: after the input, as in the results table.
const DATA_AFTER: Column = Column::Input;

/// A run's dataset as the data column shows it: its name ([`dataset_names`]), after its id
/// (`#2 lfw-20-30`) where another dataset listed has the same name or where its name is not
/// known; `-` for none.
fn data_cell(run: &Run, names: &BTreeMap<i64, String>, listed: &BTreeSet<i64>) -> String {
    let Some(id) = run.dataset_id.map(|d| d.0) else {
        return "-".into();
    };
    match names.get(&id) {
        Some(name)
            if listed
                .iter()
                .filter(|other| names.get(other) == Some(name))
                .count()
                > 1 =>
        {
            format!("#{id} {name}")
        }
        Some(name) => name.clone(),
        None => format!("#{id}"),
    }
}

/// The runs table of the lab at `db` as text, with a column for each of `show` after the
/// others: what `facenet-lab runs` prints and the dashboard shows off a terminal. `datasets`
/// names the runs' datasets, by id ([`dataset_names`]): where the runs listed trained on more
/// than one, a data column after the input says which each had (as the results table's does: a
/// dev accuracy on 12 synthetic people is no rival to one on LFW), unless `show` names `data`
/// or `dataset`; `dataset` is shown as its id and name (`1 lfw-20-30`).
pub fn table(
    runs: &[Run],
    now: f64,
    db: &std::path::Path,
    show: &[FieldColumn],
    datasets: &BTreeMap<i64, String>,
) -> String {
    if runs.is_empty() {
        return format!(
            "no runs recorded yet: start one with `facenet-lab{} run resnet18 --data PATH \
             --image-size 64 --epochs 3` (minutes on a CPU)\n",
            crate::lab::db_flag(db)
        );
    }
    // The dashboard's columns, in its order.
    let mut headers: Vec<&str> = Column::ALL.iter().map(|c| c.title()).collect();
    let mut rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| Column::ALL.iter().map(|c| c.text(r, now)).collect())
        .collect();
    // Runs that differ only in their seed look alike in every other column: where those listed
    // have more than one, the seed follows the learning rate.
    let seeds: std::collections::BTreeSet<i64> = runs.iter().map(|r| r.hyper.seed).collect();
    if seeds.len() > 1 && !show.iter().any(|f| f.is_seed()) {
        let at = Column::ALL
            .iter()
            .position(|c| *c == Column::Lr)
            .map_or(headers.len(), |i| i + 1);
        headers.insert(at, "seed");
        for (row, run) in rows.iter_mut().zip(runs) {
            row.insert(at, run.hyper.seed.to_string());
        }
    }
    let listed: BTreeSet<i64> = runs
        .iter()
        .filter_map(|r| r.dataset_id.map(|d| d.0))
        .collect();
    if listed.len() > 1 && !show.iter().any(|f| f.is_data()) {
        let at = headers
            .iter()
            .position(|h| *h == DATA_AFTER.title())
            .map_or(headers.len(), |i| i + 1);
        headers.insert(at, "data");
        for (row, run) in rows.iter_mut().zip(runs) {
            row.insert(at, data_cell(run, datasets, &listed));
        }
    }
    for f in show {
        headers.push(f.title());
        for (row, run) in rows.iter_mut().zip(runs) {
            // The dataset's id, which `dataset=` filters by, with its name.
            let named = || {
                let id = run.dataset_id?.0;
                datasets.get(&id).map(|name| format!("{id} {name}"))
            };
            row.push(match f.is_dataset().then(named).flatten() {
                Some(text) => text,
                None => f.text(run, now),
            });
        }
    }
    let mut out = format::table(&headers, &rows);
    // Its number says nothing of which images: where some were a grayscale copy's, say whose.
    let gray: Vec<String> = runs
        .iter()
        .filter(|r| r.lfw_acc.is_some() && r.lfw_grayscale)
        .map(|r| r.id.to_string())
        .collect();
    let scored = runs.iter().filter(|r| r.lfw_acc.is_some()).count();
    if !gray.is_empty() {
        let whose = match gray.len() {
            n if n == scored && n > 1 => "every lfw above".to_string(),
            1 => format!("lfw of run {}", gray[0]),
            _ => format!("lfw of runs {}", gray.join(", ")),
        };
        out += &format!(
            "{whose}: measured on grayscale images (a grayscale copy of LFW; the official \
             archive's are in colour)\n"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_of(runs: &[Run], now: f64, db: &std::path::Path) -> String {
        table(runs, now, db, &[], &BTreeMap::new())
    }

    /// The seed is a column where the runs listed have more than one, after the lr.
    #[test]
    fn the_seed_is_shown_where_it_tells_runs_apart() {
        let db = std::path::Path::new("lab.db");
        let a = crate::lab::fixtures::run(1, "a", "resnet18");
        let mut b = crate::lab::fixtures::run(2, "b", "resnet18");
        let header = |t: &str| t.lines().next().unwrap_or_default().to_string();
        let same = table_of(&[a.clone(), b.clone()], 0.0, db);
        assert!(!header(&same).contains("seed"), "{same}");
        b.hyper.seed = a.hyper.seed + 7;
        let apart = table_of(&[a.clone(), b.clone()], 0.0, db);
        let titles = header(&apart);
        let words: Vec<&str> = titles.split_whitespace().collect();
        let lr = words.iter().position(|w| *w == "lr");
        assert_eq!(lr.map(|i| words[i + 1]), Some("seed"), "{apart}");
        let b_line = apart.lines().nth(2).unwrap_or_default();
        assert!(b_line.contains(&format!(" {} ", b.hyper.seed)), "{apart}");
    }

    /// `--show` adds the named fields as columns after the others, as the compare view writes
    /// their values; an explicit seed column replaces the one shown where seeds differ.
    #[test]
    fn shown_fields_are_columns_of_their_own() {
        let db = std::path::Path::new("lab.db");
        let mut a = crate::lab::fixtures::run(1, "a", "resnet18");
        a.hyper.augment = true;
        a.hyper.weight_decay = 5e-4;
        a.config_json = r#"{"data":"../shared/data/lfw-20-30"}"#.into();
        let mut b = crate::lab::fixtures::run(2, "b", "resnet18");
        b.hyper.seed = a.hyper.seed + 1;
        b.config_json = r#"{"data":""}"#.into();
        let show: Vec<FieldColumn> = ["augment", "data", "wd", "seed"]
            .iter()
            .map(|n| FieldColumn::parse(n).unwrap())
            .collect();
        let t = table(&[a.clone(), b.clone()], 0.0, db, &show, &BTreeMap::new());
        let lines: Vec<&str> = t.lines().collect();
        let words = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
        let head = words(lines[0]);
        assert_eq!(
            head[head.len() - 4..],
            ["augment", "data", "wd", "seed"],
            "{t}"
        );
        assert_eq!(head.iter().filter(|w| *w == "seed").count(), 1, "{t}");
        let seed = a.hyper.seed.to_string();
        let row_a = words(lines[1]);
        assert_eq!(
            row_a[row_a.len() - 4..],
            ["true", "../shared/data/lfw-20-30", "0.0005", seed.as_str()],
            "{t}"
        );
        let row_b = words(lines[2]);
        assert_eq!(
            row_b[row_b.len() - 4..row_b.len() - 1],
            ["false", "default", "0"],
            "{t}"
        );
        assert!(FieldColumn::parse("schedule")
            .unwrap_err()
            .contains("shown by the lr column already"),);
        assert!(FieldColumn::parse("augmnet")
            .unwrap_err()
            .starts_with("unknown field 'augmnet'"));
    }

    /// A field is shown once however it is named, and the field sorted by is shown; `--sort`
    /// by a field orders by its value, runs without one last.
    #[test]
    fn a_field_sorted_by_is_shown_once() {
        let f = |n: &str| FieldColumn::parse(n).unwrap();
        let sort = SortKey::parse("weight_decay").unwrap();
        let show = shown(&[f("augment"), f("wd"), f("augment")], sort);
        assert_eq!(show, [f("augment"), f("wd")]);
        let show = shown(&[], SortKey::parse("seed").unwrap());
        assert_eq!(show, [f("seed")]);
        assert!(shown(&[f("tf32")], SortKey::parse("dev").unwrap()) == [f("tf32")]);
        let mut runs: Vec<Run> = (1..=3)
            .map(|i| crate::lab::fixtures::run(i, "r", "resnet18"))
            .collect();
        runs[0].hyper.seed = 9;
        runs[1].hyper.seed = 3;
        runs[2].hyper.seed = 5;
        runs[0].init_run = Some(crate::lab::RunId(7));
        runs[2].init_run = Some(crate::lab::RunId(2));
        let ids = |runs: &[Run], key: &str, desc: bool| {
            let key = SortKey::parse(key).unwrap();
            let mut rs = runs.to_vec();
            rs.sort_by(|a, b| key.order(a, b, 0.0, desc));
            rs.iter().map(|r| r.id.0).collect::<Vec<_>>()
        };
        assert_eq!(ids(&runs, "seed", false), [2, 3, 1]);
        assert_eq!(ids(&runs, "seed", true), [1, 3, 2]);
        assert_eq!(ids(&runs, "init_run", false), [3, 1, 2], "none last");
        assert_eq!(ids(&runs, "init_run", true), [1, 3, 2], "none last");
        let err = SortKey::parse("sede").unwrap_err();
        assert!(err.contains("no column 'sede'"), "{err}");
        // Spelt as the flag is.
        let by_flag = SortKey::parse("weight-decay").unwrap();
        assert_eq!(shown(&[f("wd")], by_flag), [f("wd")]);
        // A text field's runs without a value come last, either way.
        runs[1].notes = "b".into();
        runs[2].notes = "a".into();
        assert_eq!(ids(&runs, "notes", false), [3, 2, 1]);
        assert_eq!(ids(&runs, "notes", true), [2, 3, 1]);
        // --show lists only the fields it takes.
        let names = FieldColumn::names();
        assert!(
            names.contains("augment") && names.contains("seed"),
            "{names}"
        );
        assert!(
            !names.split(' ').any(|n| n == "lr" || n == "crop"),
            "{names}"
        );
    }

    /// A note is shown on one line, and cut.
    #[test]
    fn a_long_note_is_one_line_cut_short() {
        let mut r = crate::lab::fixtures::run(1, "r", "resnet18");
        r.notes = format!("first line\nsecond {}", "word ".repeat(20));
        let text = FieldColumn::parse("notes").unwrap().text(&r, 0.0);
        assert_eq!(text.chars().count(), FieldColumn::WIDTH, "{text}");
        assert!(
            text.starts_with("first line second word") && text.ends_with('…'),
            "{text}"
        );
        r.notes.clear();
        assert_eq!(FieldColumn::parse("notes").unwrap().text(&r, 0.0), "-");
        // A long path keeps its end, where its folder's name is.
        r.config_json = format!(r#"{{"data":"/{}lfw-20-30"}}"#, "deep/".repeat(12));
        let data = FieldColumn::parse("data").unwrap().text(&r, 0.0);
        assert!(
            data.starts_with('…') && data.ends_with("/deep/lfw-20-30"),
            "{data}"
        );
        assert_eq!(data.chars().count(), FieldColumn::WIDTH, "{data}");
        let init = FieldColumn::parse("init").unwrap().text(&r, 0.0);
        assert_eq!(init, "none", "as the filter names random weights");
    }

    /// Runs whose LFW score was measured on grayscale images are named under the table.
    #[test]
    fn lfw_scores_on_grayscale_images_are_named() {
        let db = std::path::Path::new("lab.db");
        let scored = |id: i64, gray: bool| crate::lab::Run {
            lfw_acc: Some(0.7),
            lfw_acc_std: Some(0.01),
            lfw_grayscale: gray,
            ..crate::lab::fixtures::run(id, "r", "resnet18")
        };
        let colour = table_of(&[scored(1, false), scored(2, false)], 0.0, db);
        assert!(!colour.contains("grayscale"), "{colour}");
        let some = table_of(
            &[scored(1, true), scored(2, false), scored(3, true)],
            0.0,
            db,
        );
        let last = some.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("lfw of runs 1, 3: measured on grayscale images"),
            "{some}"
        );
        let all = table_of(&[scored(1, true), scored(2, true)], 0.0, db);
        let last = all.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("every lfw above: measured on grayscale images"),
            "{all}"
        );
    }
}
