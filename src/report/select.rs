//! Which runs a report or export covers: `--runs 3,5,baseline`, `--tag T`, or every run.

use anyhow::{bail, Result};

use crate::lab::{Lab, Run};

/// The tags `runs` carry, each with how many runs: `its tags: alex (2 runs), seed-table (6
/// runs)`, the first [`TAGS_SAID`] of them, and where to see the rest; or how to tag a run where
/// none has a tag. Tags that differ only in case are one, as `--tag` matches them, written as
/// the first run that has it spells it. `db_flag` is the `--db` the commands suggested need.
fn tags_there(runs: &[Run], db_flag: &str) -> String {
    // By the tag in lower case: its first spelling and how many runs have it.
    let mut counts: std::collections::BTreeMap<String, (&str, u64)> = Default::default();
    for run in runs {
        let mut seen: Vec<String> = Vec::new();
        for tag in &run.tags {
            let key = tag.to_lowercase();
            if seen.contains(&key) {
                continue;
            }
            counts.entry(key.clone()).or_insert((tag.as_str(), 0)).1 += 1;
            seen.push(key);
        }
    }
    if counts.is_empty() {
        return format!(
            "none of its runs has a tag (`facenet-lab{db_flag} lab tag 5,6 TAG` tags runs 5 and 6)"
        );
    }
    let said: Vec<String> = counts
        .values()
        .take(TAGS_SAID)
        .map(|(tag, n)| format!("{tag} ({})", crate::format::count(*n, "run", "runs")))
        .collect();
    let more = counts.len().saturating_sub(TAGS_SAID);
    let rest = if more > 0 {
        format!(", and {more} more (`facenet-lab{db_flag} runs --show tag` shows each run's)")
    } else {
        String::new()
    };
    format!("its tags: {}{rest}", said.join(", "))
}

/// The ids `first` to `last` that a `--runs` entry `N-M` names, or `None` for an id or a name;
/// a range that runs backwards is refused.
fn id_range(key: &str) -> Result<Option<(i64, i64)>> {
    let Some((a, b)) = key.split_once('-') else {
        return Ok(None);
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    match (number(a), number(b)) {
        (Some(first), Some(last)) if first <= last => Ok(Some((first, last))),
        (Some(first), Some(last)) => {
            bail!("--runs {key}: a range goes from the lower id up: {last}-{first}")
        }
        _ => Ok(None),
    }
}

/// How many of a lab's tags an unknown tag's error lists.
const TAGS_SAID: usize = 12;

/// The runs named by `runs` (ids or names, comma-separated, in the order given) or carrying
/// `tag` (oldest first), or all runs. An empty selection is an error: a report of nothing is
/// always a mistake in the arguments.
pub fn select_runs(lab: &Lab, runs: Option<&str>, tag: Option<&str>) -> Result<Vec<Run>> {
    if runs.is_some() && tag.is_some() {
        bail!("give either --runs or --tag, not both");
    }
    if let Some(list) = runs {
        let mut out: Vec<Run> = Vec::new();
        let mut all: Option<Vec<Run>> = None;
        for key in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let found = match id_range(key)? {
                Some((first, last)) => {
                    let all = match &mut all {
                        Some(all) => all,
                        None => all.insert(lab.list_runs_seen()?),
                    };
                    let within: Vec<Run> = all
                        .iter()
                        .filter(|r| (first..=last).contains(&r.id.0))
                        .cloned()
                        .collect();
                    if within.is_empty() {
                        bail!(
                            "--runs {key}: lab '{}' has no run from {first} to {last}",
                            lab.path().display()
                        );
                    }
                    within
                }
                None => vec![lab.find_run_seen(key)?],
            };
            for run in found {
                if !out.iter().any(|r| r.id == run.id) {
                    out.push(run);
                }
            }
        }
        if out.is_empty() {
            bail!("--runs is empty: give run ids or names separated by commas, e.g. --runs 3,5");
        }
        return Ok(out);
    }
    let all = lab.list_runs_seen()?;
    if let Some(tag) = tag {
        let tagged: Vec<Run> = all
            .iter()
            // As the runs filter matches a tag: whatever its case.
            .filter(|r| {
                r.tags
                    .iter()
                    .any(|t| t.to_lowercase() == tag.to_lowercase())
            })
            .cloned()
            .collect();
        if tagged.is_empty() {
            bail!(
                "no run in lab '{}' has the tag '{tag}'; {}",
                lab.path().display(),
                tags_there(&all, &crate::lab::db_flag(lab.path()))
            );
        }
        return Ok(tagged);
    }
    if all.is_empty() {
        bail!(
            "lab '{}' has no runs yet: record one with `facenet-lab run ...` or pass --db PATH",
            lab.path().display()
        );
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures;

    #[test]
    fn a_range_of_ids_is_told_from_a_name() {
        assert_eq!(id_range("3-7").unwrap(), Some((3, 7)));
        assert_eq!(id_range("5-5").unwrap(), Some((5, 5)));
        for name in [
            "41",
            "tiny-1-resnet18",
            "best-recipe",
            "-3",
            "3-",
            "a-3",
            "3-b",
            "1-2-3",
        ] {
            assert_eq!(id_range(name).unwrap(), None, "{name}");
        }
        let backwards = id_range("7-3").unwrap_err().to_string();
        assert_eq!(
            backwards,
            "--runs 7-3: a range goes from the lower id up: 3-7"
        );
    }

    #[test]
    fn an_unknown_tag_is_answered_with_the_tags_there_are() {
        let tagged = |id, tags: &[&str]| {
            let mut r = fixtures::run(id, "r", "resnet18");
            r.tags = tags.iter().map(|t| t.to_string()).collect();
            r
        };
        let runs = [
            tagged(1, &["alex", "seed-table"]),
            tagged(2, &["alex"]),
            tagged(3, &[]),
        ];
        assert_eq!(
            tags_there(&runs, ""),
            "its tags: alex (2 runs), seed-table (1 run)"
        );
        // Whatever their case, as `--tag` matches them: one tag, spelt as its first run has it,
        // each run counted once.
        let cased = [
            tagged(1, &["Alex"]),
            tagged(2, &["alex", "ALEX"]),
            tagged(3, &["alex", "Seed"]),
        ];
        assert_eq!(
            tags_there(&cased, ""),
            "its tags: Alex (3 runs), Seed (1 run)"
        );
        assert_eq!(
            tags_there(&runs[2..], " --db x.db"),
            "none of its runs has a tag (`facenet-lab --db x.db lab tag 5,6 TAG` tags runs 5 and 6)"
        );
        let many: Vec<String> = (0..15).map(|i| format!("t{i:02}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let said = tags_there(&[tagged(4, &many)], "");
        assert!(
            said.starts_with("its tags: t00 (1 run), t01 (1 run), "),
            "{said}"
        );
        assert!(
            said.contains("t11 (1 run), and 3 more (`facenet-lab runs --show tag`"),
            "{said}"
        );
        assert!(!said.contains("t12"), "{said}");
    }
}
