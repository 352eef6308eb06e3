//! Datasets and their splits: every member image with the sha256 of its bytes, and a hash per
//! split that proves exactly which images a run trained and was evaluated on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{now, Lab};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatasetId(pub i64);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub identity: String,
    pub file: String,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitRecord {
    /// "train", "dev" or "test".
    pub name: String,
    pub hash: String,
    pub members: Vec<MemberRecord>,
}

/// A dataset as imported: where it came from, how it was filtered and split, and its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// "dir", "tgz" or "synthetic".
    pub kind: String,
    pub source: String,
    pub min_images: i64,
    pub max_images: i64,
    pub split_seed: Option<i64>,
    pub n_identities: i64,
    pub n_images: i64,
    pub content_hash: String,
    pub splits: Vec<SplitRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitSummary {
    pub name: String,
    pub n_images: i64,
    pub hash: String,
}

/// Why the dataset recorded as `id` (at `source`), of the same images as `d`, is not `d`: a
/// split it lacks, or one that holds other images (split by another rule). None when its splits
/// are `d`'s.
fn split_conflict(
    tx: &rusqlite::Connection,
    id: DatasetId,
    source: &str,
    d: &DatasetRecord,
) -> Result<Option<String>> {
    let stored = split_summaries(tx, id)?;
    for s in &d.splits {
        let Some(here) = stored.iter().find(|t| t.name == s.name) else {
            return Ok(Some(format!(
                "dataset {} ('{source}') holds the same images but has no {} split",
                id.0, s.name
            )));
        };
        if here.hash != s.hash {
            return Ok(Some(format!(
                "the same images are recorded as dataset {} ('{source}') with a different {} \
                 split hash ({} recorded, {} now): they were split by another rule, so runs on \
                 the two cannot share a dataset",
                id.0,
                s.name,
                short(&here.hash),
                short(&s.hash)
            )));
        }
    }
    Ok(None)
}

/// What [`Lab::match_dataset`] found of a dataset in this lab.
pub(crate) enum Match {
    Found(DatasetId),
    Absent,
    /// Its images are here, split by another rule: why, naming the dataset here.
    SplitOtherwise(String),
}

impl Lab {
    /// Records a dataset with its splits, or finds the one already recorded with the same
    /// content: many runs share one dataset, and its members are stored once. A dataset is its
    /// content, wherever it was read from; the first source recorded is kept, unless it does
    /// not exist on this machine and this import's does (the lab was first given these images
    /// by a merge from another machine): then this machine's source replaces it, so that `eval`
    /// can read the images.
    pub fn ensure_dataset(&self, d: &DatasetRecord) -> Result<DatasetId> {
        let tx = self.write_tx()?;
        let id = Self::ensure_dataset_in(
            &tx,
            d,
            "keep runs split by another rule in a lab file of their own (--db PATH)",
        )?;
        let recorded: String =
            tx.query_row("SELECT source FROM datasets WHERE id = ?1", [id.0], |r| {
                r.get(0)
            })?;
        if recorded != d.source && !Path::new(&recorded).exists() && Path::new(&d.source).exists() {
            tx.execute(
                "UPDATE datasets SET source = ?2, kind = ?3 WHERE id = ?1",
                params![id.0, d.source, d.kind],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// [`Lab::ensure_dataset`] inside a transaction the caller holds, never changing a recorded
    /// source. The same content split another way is refused, with `on_conflict` saying what
    /// to do.
    fn ensure_dataset_in(
        tx: &rusqlite::Connection,
        d: &DatasetRecord,
        on_conflict: &str,
    ) -> Result<DatasetId> {
        match Self::match_dataset(tx, d)? {
            Match::Found(id) => Ok(id),
            Match::SplitOtherwise(why) => bail!("{why}: {on_conflict}"),
            Match::Absent => Self::insert_dataset(tx, d),
        }
    }

    /// Records dataset `d`, splits and members, as a new one ([`Lab::match_dataset`] found none
    /// of its content); inside a transaction the caller holds (a lab merge imports everything
    /// in one).
    pub(crate) fn insert_dataset(
        tx: &rusqlite::Connection,
        d: &DatasetRecord,
    ) -> Result<DatasetId> {
        tx.execute(
            "INSERT INTO datasets (kind, source, min_images, max_images, split_seed, n_identities,
                n_images, content_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                d.kind,
                d.source,
                d.min_images,
                d.max_images,
                d.split_seed,
                d.n_identities,
                d.n_images,
                d.content_hash,
                now()
            ],
        )
        .with_context(|| format!("recording dataset '{}'", d.source))?;
        let id = DatasetId(tx.last_insert_rowid());
        for s in &d.splits {
            tx.execute(
                "INSERT INTO splits (dataset_id, name, n_images, hash) VALUES (?1, ?2, ?3, ?4)",
                params![id.0, s.name, s.members.len() as i64, s.hash],
            )?;
            let split_id = tx.last_insert_rowid();
            let mut insert = tx.prepare_cached(
                "INSERT INTO split_members (split_id, identity, file, sha256) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for m in &s.members {
                insert.execute(params![split_id, m.identity, m.file, m.sha256])?;
            }
        }
        Ok(id)
    }

    /// Which dataset of this lab `d` is: the one with its content and splits, none, or (its
    /// images are here, split by another rule) why it cannot be any.
    pub(crate) fn match_dataset(tx: &rusqlite::Connection, d: &DatasetRecord) -> Result<Match> {
        // Every row of this content: a lab from before v21 may hold it split two ways (an
        // archive split by an older rule, a folder split by this one), and the one whose splits
        // agree is this dataset.
        let existing: Vec<(i64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT id, source FROM datasets WHERE content_hash = ?1
                   AND min_images = ?2 AND max_images = ?3
                   AND ifnull(split_seed, -1) = ifnull(?4, -1)
                 ORDER BY id",
            )?;
            let rows = stmt.query_map(
                params![d.content_hash, d.min_images, d.max_images, d.split_seed],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut first_conflict = None;
        for (id, source) in existing {
            match split_conflict(tx, DatasetId(id), &source, d)? {
                None => return Ok(Match::Found(DatasetId(id))),
                Some(why) => {
                    first_conflict.get_or_insert(why);
                }
            }
        }
        Ok(first_conflict.map_or(Match::Absent, Match::SplitOtherwise))
    }

    /// The dataset `run` trained on, where the lab records one.
    pub fn run_dataset(&self, run: &super::Run) -> Result<Option<DatasetRecord>> {
        match run.dataset_id {
            Some(id) => self.dataset(id),
            None => Ok(None),
        }
    }

    /// Dataset `id` without its splits' members: what it is, not whom it holds.
    pub fn dataset_head(&self, id: DatasetId) -> Result<Option<DatasetRecord>> {
        let head = self
            .conn
            .query_row(
                "SELECT kind, source, min_images, max_images, split_seed, n_identities, n_images,
                        content_hash
                 FROM datasets WHERE id = ?1",
                [id.0],
                |r| {
                    Ok(DatasetRecord {
                        kind: r.get(0)?,
                        source: r.get(1)?,
                        min_images: r.get(2)?,
                        max_images: r.get(3)?,
                        split_seed: r.get(4)?,
                        n_identities: r.get(5)?,
                        n_images: r.get(6)?,
                        content_hash: r.get(7)?,
                        splits: Vec::new(),
                    })
                },
            )
            .optional()?;
        Ok(head)
    }

    /// The datasets `runs` trained on, by id, each read once, without its members
    /// ([`Lab::dataset_head`]); one the lab does not record is left out.
    pub fn dataset_heads(&self, runs: &[super::Run]) -> Result<BTreeMap<i64, DatasetRecord>> {
        self.datasets_of(runs, Lab::dataset_head)
    }

    /// What `read` makes of each dataset `runs` trained on, by id, each read once: for a
    /// reader that needs more than [`Lab::dataset_heads`] gives (the members, say). Where
    /// `read` finds none, the id is left out.
    pub fn datasets_of<T>(
        &self,
        runs: &[super::Run],
        mut read: impl FnMut(&Lab, DatasetId) -> Result<Option<T>>,
    ) -> Result<BTreeMap<i64, T>> {
        let mut out = BTreeMap::new();
        let ids: BTreeSet<i64> = runs
            .iter()
            .filter_map(|r| r.dataset_id.map(|d| d.0))
            .collect();
        for id in ids {
            if let Some(d) = read(self, DatasetId(id))? {
                out.insert(id, d);
            }
        }
        Ok(out)
    }

    pub fn dataset(&self, id: DatasetId) -> Result<Option<DatasetRecord>> {
        let Some(mut d) = self.dataset_head(id)? else {
            return Ok(None);
        };
        for s in split_summaries(&self.conn, id)? {
            let mut stmt = self.conn.prepare_cached(
                "SELECT m.identity, m.file, m.sha256 FROM split_members m JOIN splits s ON s.id = m.split_id
                 WHERE s.dataset_id = ?1 AND s.name = ?2 ORDER BY m.identity, m.file",
            )?;
            let members = stmt
                .query_map(params![id.0, s.name], |r| {
                    Ok(MemberRecord {
                        identity: r.get(0)?,
                        file: r.get(1)?,
                        sha256: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            d.splits.push(SplitRecord {
                name: s.name,
                hash: s.hash,
                members,
            });
        }
        Ok(Some(d))
    }

    /// The split names, sizes and hashes of a dataset, in train/dev/test order.
    pub fn splits(&self, id: DatasetId) -> Result<Vec<SplitSummary>> {
        split_summaries(&self.conn, id)
    }
}

/// The start of a hash, enough to tell two apart in a message.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn split_summaries(conn: &rusqlite::Connection, id: DatasetId) -> Result<Vec<SplitSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, n_images, hash FROM splits WHERE dataset_id = ?1
         ORDER BY CASE name WHEN 'train' THEN 0 WHEN 'dev' THEN 1 ELSE 2 END",
    )?;
    let rows = stmt
        .query_map([id.0], |r| {
            Ok(SplitSummary {
                name: r.get(0)?,
                n_images: r.get(1)?,
                hash: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hash_suffix: &str) -> DatasetRecord {
        let member = |id: &str, f: &str| MemberRecord {
            identity: id.into(),
            file: f.into(),
            sha256: format!("{f}{hash_suffix}"),
        };
        DatasetRecord {
            kind: "dir".into(),
            source: "/data/lfw-20-30".into(),
            min_images: 20,
            max_images: 30,
            split_seed: None,
            n_identities: 2,
            n_images: 4,
            content_hash: format!("content{hash_suffix}"),
            splits: vec![
                SplitRecord {
                    name: "train".into(),
                    hash: format!("t{hash_suffix}"),
                    members: vec![member("A", "A_1"), member("B", "B_1")],
                },
                SplitRecord {
                    name: "dev".into(),
                    hash: format!("d{hash_suffix}"),
                    members: vec![member("A", "A_2")],
                },
                SplitRecord {
                    name: "test".into(),
                    hash: format!("e{hash_suffix}"),
                    members: vec![member("B", "B_2")],
                },
            ],
        }
    }

    #[test]
    fn a_dataset_is_stored_once_and_read_back_whole() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let d = record("");
        let id = lab.ensure_dataset(&d)?;
        assert_eq!(
            lab.ensure_dataset(&d)?,
            id,
            "the same import reuses the row"
        );
        assert_eq!(lab.dataset(id)?.context("dataset")?, d);
        let other = lab.ensure_dataset(&record("x"))?;
        assert_ne!(other, id, "different content is a different dataset");
        let names: Vec<_> = lab
            .splits(id)?
            .into_iter()
            .map(|s| (s.name, s.n_images))
            .collect();
        assert_eq!(
            names,
            vec![("train".into(), 2), ("dev".into(), 1), ("test".into(), 1)]
        );
        Ok(())
    }

    /// The datasets of a list of runs are read once each, by id, without their members; a
    /// run without one, or on one the lab lacks, adds nothing.
    #[test]
    fn the_datasets_of_runs_are_read_once_each() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let a = lab.ensure_dataset(&record(""))?;
        let b = lab.ensure_dataset(&record("x"))?;
        let on = |id: i64, dataset: Option<DatasetId>| super::super::Run {
            dataset_id: dataset,
            ..super::super::fixtures::run(id, "r", "resnet18")
        };
        let runs = [
            on(1, Some(a)),
            on(2, Some(b)),
            on(3, Some(a)),
            on(4, None),
            on(5, Some(DatasetId(99))),
        ];
        let heads = lab.dataset_heads(&runs)?;
        assert_eq!(heads.keys().copied().collect::<Vec<_>>(), [a.0, b.0]);
        assert_eq!(heads[&b.0].content_hash, "contentx");
        assert!(heads.values().all(|d| d.splits.is_empty()), "{heads:?}");
        let mut reads = Vec::new();
        let members = lab.datasets_of(&runs, |lab, id| {
            reads.push(id.0);
            lab.dataset(id)
        })?;
        reads.sort_unstable();
        assert_eq!(reads, [a.0, b.0, 99], "each id read once");
        assert_eq!(members[&a.0], record(""));
        assert_eq!(members.len(), 2);
        Ok(())
    }

    #[test]
    fn the_same_images_from_another_folder_are_the_same_dataset() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let first = record("");
        let id = lab.ensure_dataset(&first)?;
        let elsewhere = DatasetRecord {
            source: "/gpu-box/.device/lfw-20-30".into(),
            ..first.clone()
        };
        assert_eq!(lab.ensure_dataset(&elsewhere)?, id);
        assert_eq!(
            lab.dataset(id)?.context("dataset")?.source,
            first.source,
            "the first source is kept"
        );
        // And from the archive they came in: the same images whatever kind of source.
        let archive = DatasetRecord {
            kind: "tgz".into(),
            source: "/data/lfw.tgz".into(),
            ..first.clone()
        };
        assert_eq!(lab.ensure_dataset(&archive)?, id);
        // A lab from before v21 may hold the images split two ways: the row that agrees is
        // found, not refused for the first.
        let resplit = DatasetRecord {
            splits: record("x").splits,
            ..first.clone()
        };
        let err = lab.ensure_dataset(&resplit).unwrap_err();
        assert!(
            format!("{err:#}").contains("split by another rule"),
            "{err:#}"
        );
        lab.conn().execute(
            "INSERT INTO datasets (kind, source, min_images, max_images, n_identities, n_images,
                content_hash, created_at)
             SELECT 'tgz', '/old/lfw.tgz', min_images, max_images, n_identities, n_images,
                content_hash, created_at FROM datasets WHERE id = ?1",
            [id.0],
        )?;
        let second = DatasetId(lab.conn().last_insert_rowid());
        for split in &resplit.splits {
            lab.conn().execute(
                "INSERT INTO splits (dataset_id, name, n_images, hash) VALUES (?1, ?2, 1, ?3)",
                rusqlite::params![second.0, split.name, split.hash],
            )?;
        }
        assert_eq!(lab.ensure_dataset(&resplit)?, second);
        assert_eq!(lab.ensure_dataset(&first)?, id);
        let mut other_filter = elsewhere.clone();
        other_filter.max_images = 40;
        assert_ne!(lab.ensure_dataset(&other_filter)?, id);
        let mut other_seed = elsewhere;
        other_seed.split_seed = Some(1);
        assert_ne!(lab.ensure_dataset(&other_seed)?, id);
        Ok(())
    }

    #[test]
    fn a_source_missing_here_gives_way_to_one_that_exists() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        // First met through a merge from another machine.
        let id = lab.ensure_dataset(&DatasetRecord {
            source: "/gpu-box/.device/lfw-20-30".into(),
            ..record("")
        })?;
        let here = tempfile::tempdir()?;
        let local = DatasetRecord {
            source: here.path().to_string_lossy().into_owned(),
            ..record("")
        };
        assert_eq!(lab.ensure_dataset(&local)?, id);
        assert_eq!(lab.dataset(id)?.context("dataset")?.source, local.source);
        // An existing source stays, whatever else imports the same images.
        let other = tempfile::tempdir()?;
        lab.ensure_dataset(&DatasetRecord {
            source: other.path().to_string_lossy().into_owned(),
            ..record("")
        })?;
        assert_eq!(lab.dataset(id)?.context("dataset")?.source, local.source);
        Ok(())
    }

    #[test]
    fn a_changed_split_rule_is_detected() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let d = record("");
        lab.ensure_dataset(&d)?;
        let mut changed = d.clone();
        changed.splits[1].hash = "different".into();
        let err = lab.ensure_dataset(&changed).unwrap_err().to_string();
        assert!(err.contains("different dev split hash"), "{err}");
        Ok(())
    }
}
