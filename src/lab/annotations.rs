//! What people write on a run, as opposed to what its trainer records: its notes and its tags,
//! each with when it was written, so that merging two labs keeps the later of two edits.
//!
//! A lab keeps when a run's notes were last set (`runs.notes_at`), when each tag was added
//! (`run_tags.added_at`) and when each tag was removed (`removed_tags`). Times are NULL for
//! what was written before the lab kept them, and count as older than any time.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension};

use super::{now, Lab, RunId};

/// A run's notes and tags with their times, as one lab has them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Annotations {
    pub notes: String,
    pub notes_at: Option<f64>,
    /// (tag, when it was added).
    pub tags: Vec<(String, Option<f64>)>,
    /// (tag, when it was removed): tags the run had and has no more.
    pub removed: Vec<(String, f64)>,
}

impl Annotations {
    pub fn read(conn: &Connection, run: i64) -> Result<Annotations> {
        let (notes, notes_at) = conn.query_row(
            "SELECT notes, notes_at FROM runs WHERE id = ?1",
            [run],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let tags = conn
            .prepare_cached("SELECT tag, added_at FROM run_tags WHERE run_id = ?1 ORDER BY tag")?
            .query_map([run], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let removed = conn
            .prepare_cached(
                "SELECT tag, removed_at FROM removed_tags WHERE run_id = ?1 ORDER BY tag",
            )?
            .query_map([run], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Annotations {
            notes,
            notes_at,
            tags,
            removed,
        })
    }

    /// Brings `theirs` (another lab's copy of run `ours`) into this lab's: the notes written
    /// later, and each tag as its later addition or removal left it. Where neither lab knows
    /// when its notes were written, this lab's stay unless it has none. Returns whether
    /// anything changed here.
    pub fn merge_into(&self, tx: &Connection, ours: i64, theirs: &Annotations) -> Result<bool> {
        let mut changed = false;
        let later_notes = match (theirs.notes_at, self.notes_at) {
            (Some(t), Some(o)) => t > o,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => self.notes.is_empty(),
        };
        if later_notes {
            // The same text written later there is kept as written then: a third lab's edit
            // between the two times does not win over it. Only other text counts as brought.
            changed = theirs.notes != self.notes;
            tx.execute(
                "UPDATE runs SET notes = ?2, notes_at = ?3 WHERE id = ?1",
                params![ours, theirs.notes, theirs.notes_at],
            )?;
        }
        let older = |a: Option<f64>, b: f64| a.is_none_or(|a| a < b);
        for (tag, added_at) in &theirs.tags {
            if self.tags.iter().any(|(t, _)| t == tag) {
                continue;
            }
            let removed_since = self
                .removed
                .iter()
                .any(|(t, at)| t == tag && older(*added_at, *at));
            if removed_since {
                continue;
            }
            add_tag(tx, ours, tag, *added_at)?;
            changed = true;
        }
        for (tag, removed_at) in &theirs.removed {
            let ours_added = self.tags.iter().find(|(t, _)| t == tag).map(|(_, at)| *at);
            match ours_added {
                Some(added_at) if older(added_at, *removed_at) => {
                    remove_tag(tx, ours, tag, *removed_at)?;
                    changed = true;
                }
                Some(_) => {}
                None => {
                    let known = self.removed.iter().find(|(t, _)| t == tag);
                    if known.is_none_or(|(_, at)| at < removed_at) {
                        record_removal(tx, ours, tag, *removed_at)?;
                    }
                }
            }
        }
        Ok(changed)
    }
}

/// Refuses a run the lab does not hold, as an update of no row would.
fn ensure_run(tx: &Connection, id: RunId) -> Result<()> {
    let exists: Option<i64> = tx
        .query_row("SELECT id FROM runs WHERE id = ?1", [id.0], |r| r.get(0))
        .optional()?;
    super::runs::ensure_one(usize::from(exists.is_some()), id)
}

fn add_tag(tx: &Connection, run: i64, tag: &str, added_at: Option<f64>) -> Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO run_tags (run_id, tag, added_at) VALUES (?1, ?2, ?3)",
        params![run, tag, added_at],
    )?;
    tx.execute(
        "DELETE FROM removed_tags WHERE run_id = ?1 AND tag = ?2",
        params![run, tag],
    )?;
    Ok(())
}

fn remove_tag(tx: &Connection, run: i64, tag: &str, removed_at: f64) -> Result<()> {
    tx.execute(
        "DELETE FROM run_tags WHERE run_id = ?1 AND tag = ?2",
        params![run, tag],
    )?;
    record_removal(tx, run, tag, removed_at)
}

fn record_removal(tx: &Connection, run: i64, tag: &str, removed_at: f64) -> Result<()> {
    tx.execute(
        "INSERT INTO removed_tags (run_id, tag, removed_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (run_id, tag) DO UPDATE SET removed_at = max(removed_at, excluded.removed_at)",
        params![run, tag, removed_at],
    )?;
    Ok(())
}

impl Lab {
    /// Sets a run's notes; notes saved as they were keep the time they were written, so that
    /// saving them unchanged here does not make them win over an edit made in another lab.
    pub fn set_notes(&self, id: RunId, notes: &str) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE runs SET notes = ?2,
                notes_at = CASE WHEN notes IS ?2 THEN notes_at ELSE ?3 END
             WHERE id = ?1",
            params![id.0, notes, now()],
        )?;
        super::runs::ensure_one(n, id)
    }

    /// Replaces a run's tags, keeping when each kept one was added and when each dropped one
    /// was removed.
    pub fn set_tags(&self, id: RunId, tags: &[String]) -> Result<()> {
        if let Some(why) = tags.iter().find_map(|t| tag_problem(t)) {
            anyhow::bail!(why);
        }
        let tx = self.write_tx()?;
        ensure_run(&tx, id)?;
        let had = Annotations::read(&tx, id.0)?.tags;
        let t = now();
        for (tag, _) in had.iter().filter(|(tag, _)| !tags.contains(tag)) {
            remove_tag(&tx, id.0, tag, t)?;
        }
        for tag in tags
            .iter()
            .filter(|tag| !had.iter().any(|(h, _)| h == *tag))
        {
            add_tag(&tx, id.0, tag, Some(t))?;
        }
        tx.commit()?;
        Ok(())
    }
}

impl Lab {
    /// Takes `tags` off a run, recording each removal whether or not the run had the tag here:
    /// the tag may come with a merge of a lab that added it earlier, and the removal, later,
    /// keeps it off (`lab tag RUNS TAG --remove`).
    pub fn remove_tags(&self, id: RunId, tags: &[String]) -> Result<()> {
        if let Some(why) = tags.iter().find_map(|t| tag_problem(t)) {
            anyhow::bail!(why);
        }
        let tx = self.write_tx()?;
        ensure_run(&tx, id)?;
        let t = now();
        for tag in tags {
            remove_tag(&tx, id.0, tag, t)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Why `tag` cannot be a tag: tags are single words, which `report --tag` and `export --tag`
/// take whole and the CSV export lists with `;` between them. None for a good one.
pub fn tag_problem(tag: &str) -> Option<String> {
    if tag.is_empty() {
        Some("a tag must not be empty".into())
    } else if tag.contains([',', ';']) || tag.chars().any(char::is_whitespace) {
        Some(format!(
            "tag '{tag}' holds a comma, semicolon or space: tags are single words (the CSV \
             export lists them with ';' between them); use '-' or '_'"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::new_run;

    /// A run here with these notes and tags (with their times), and its annotations read back.
    fn here(lab: &Lab, a: &Annotations) -> Result<(i64, Annotations)> {
        let run = lab.create_run(&new_run("r"))?.0;
        let conn = lab.conn();
        conn.execute(
            "UPDATE runs SET notes = ?2, notes_at = ?3 WHERE id = ?1",
            params![run, a.notes, a.notes_at],
        )?;
        for (tag, at) in &a.tags {
            add_tag(conn, run, tag, *at)?;
        }
        for (tag, at) in &a.removed {
            record_removal(conn, run, tag, *at)?;
        }
        Ok((run, Annotations::read(conn, run)?))
    }

    fn notes(text: &str, at: Option<f64>) -> Annotations {
        Annotations {
            notes: text.into(),
            notes_at: at,
            ..Annotations::default()
        }
    }

    /// Tags are single words: the CSV export lists them with ';' between them, and the
    /// dashboard's editor splits at commas and spaces.
    #[test]
    fn a_tag_of_more_than_one_word_is_refused() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let id = lab.create_run(&new_run("r"))?;
        for bad in ["a;b", "a b", "a,b", ""] {
            let err = lab.set_tags(id, &[bad.to_string()]).unwrap_err();
            assert!(format!("{err}").contains("tag"), "{bad:?}: {err}");
            assert!(tag_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(tag_problem("seed-table_2"), None);
        lab.set_tags(id, &["seed-table_2".into()])?;
        Ok(())
    }

    #[test]
    fn the_later_note_wins_and_one_of_unknown_time_only_fills_an_empty_one() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        for (ours, theirs, kept) in [
            (notes("", None), notes("x", None), "x"),
            (notes("y", None), notes("x", None), "y"),
            (notes("y", None), notes("x", Some(1.0)), "x"),
            (notes("y", Some(5.0)), notes("x", Some(3.0)), "y"),
            (notes("y", Some(3.0)), notes("", Some(5.0)), ""),
        ] {
            let (run, read) = here(&lab, &ours)?;
            let changed = read.merge_into(lab.conn(), run, &theirs)?;
            let now = Annotations::read(lab.conn(), run)?;
            assert_eq!(now.notes, kept, "{ours:?} / {theirs:?}");
            assert_eq!(changed, kept != ours.notes, "{ours:?} / {theirs:?}");
        }
        // The same text written later there takes its later time, so that a third lab's edit
        // made between the two does not win over it; it is not counted as brought.
        let (run, read) = here(&lab, &notes("x", Some(1.0)))?;
        assert!(!read.merge_into(lab.conn(), run, &notes("x", Some(3.0)))?);
        let now = Annotations::read(lab.conn(), run)?;
        assert!(!now.merge_into(lab.conn(), run, &notes("y", Some(2.0)))?);
        assert_eq!(Annotations::read(lab.conn(), run)?.notes, "x");
        Ok(())
    }

    #[test]
    fn a_tag_s_later_addition_or_removal_wins_and_one_of_unknown_time_loses() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let ours = Annotations {
            tags: vec![("legacy".into(), None), ("kept".into(), Some(4.0))],
            removed: vec![("old".into(), 1.0), ("new".into(), 2.0)],
            ..Annotations::default()
        };
        let theirs = Annotations {
            tags: vec![("old".into(), None), ("new".into(), Some(3.0))],
            removed: vec![
                ("legacy".into(), 2.0),
                ("kept".into(), 3.0),
                ("gone".into(), 6.0),
            ],
            ..Annotations::default()
        };
        let (run, read) = here(&lab, &ours)?;
        assert!(read.merge_into(lab.conn(), run, &theirs)?);
        let now = Annotations::read(lab.conn(), run)?;
        assert_eq!(
            now.tags,
            [("kept".into(), Some(4.0)), ("new".into(), Some(3.0))]
        );
        assert_eq!(
            now.removed,
            [
                ("gone".into(), 6.0),
                ("legacy".into(), 2.0),
                ("old".into(), 1.0)
            ]
        );
        // Merged again, nothing changes.
        assert!(!now.merge_into(lab.conn(), run, &theirs)?);
        Ok(())
    }

    #[test]
    fn notes_saved_unchanged_keep_the_time_they_were_written() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let mut with_note = new_run("r");
        with_note.notes = "from the command line".into();
        let run = lab.create_run(&with_note)?;
        let at = |lab: &Lab| Annotations::read(lab.conn(), run.0).map(|a| a.notes_at);
        let created = at(&lab)?;
        assert!(created.is_some(), "a note given at the start has its time");
        lab.set_notes(run, "from the command line")?;
        assert_eq!(at(&lab)?, created);
        lab.set_notes(run, "revised")?;
        assert!(at(&lab)? > created);
        Ok(())
    }

    #[test]
    fn setting_tags_keeps_the_kept_ones_times_and_records_the_dropped_ones() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let run = lab.create_run(&new_run("r"))?;
        lab.set_tags(run, &["a".into(), "b".into()])?;
        let first = Annotations::read(lab.conn(), run.0)?;
        lab.set_tags(run, &["b".into(), "c".into()])?;
        let then = Annotations::read(lab.conn(), run.0)?;
        let names: Vec<&str> = then.tags.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(names, ["b", "c"]);
        assert_eq!(then.tags[0], first.tags[1], "b keeps when it was added");
        assert_eq!(then.removed.len(), 1);
        assert_eq!(then.removed[0].0, "a");
        // Added again, it is no longer removed.
        lab.set_tags(run, &["a".into()])?;
        let last = Annotations::read(lab.conn(), run.0)?;
        let removed: Vec<&str> = last.removed.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(removed, ["b", "c"]);
        assert!(lab.set_tags(RunId(99), &[]).is_err());
        Ok(())
    }

    /// A tag removed that the run did not have here is recorded removed all the same: a lab
    /// that added it earlier does not bring it back in a merge; one that adds it later does.
    #[test]
    fn a_tag_removed_here_that_the_run_lacked_stays_off_after_an_earlier_addition() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let run = lab.create_run(&new_run("r"))?;
        lab.set_tags(run, &["kept".into()])?;
        lab.remove_tags(run, &["beta".into()])?;
        let now = Annotations::read(lab.conn(), run.0)?;
        let names: Vec<&str> = now.tags.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(names, ["kept"]);
        let removed_at = match now.removed.as_slice() {
            [(tag, at)] if tag == "beta" => *at,
            other => panic!("{other:?}"),
        };
        let added = |at: f64| Annotations {
            tags: vec![("beta".into(), Some(at))],
            ..Annotations::default()
        };
        assert!(!now.merge_into(lab.conn(), run.0, &added(removed_at - 10.0))?);
        assert!(now.merge_into(lab.conn(), run.0, &added(removed_at + 10.0))?);
        let names: Vec<String> = Annotations::read(lab.conn(), run.0)?
            .tags
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(names, ["beta", "kept"]);
        assert!(lab.remove_tags(RunId(99), &[]).is_err());
        assert!(
            lab.remove_tags(run, &["a,b".into()]).is_err(),
            "no such tag"
        );
        Ok(())
    }
}
