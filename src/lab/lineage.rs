//! Where a run's starting weights came from. A run started with `--init FILE` records the
//! file's sha256 and, when a run of this lab had written that file as a checkpoint, that run
//! (`init_run_id`, kept when a later best replaces the checkpoint's row, and remapped by a
//! merge). The weights descend from that run, and from whatever it started from in turn.
//! Evaluations that leave out the people a run trained on must leave out its ancestors' too.

use anyhow::Result;

use super::{Checkpoint, Lab, Run};

/// One step back: the run that wrote a start's `--init` file, and the checkpoint it was while
/// the lab still records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub run: Run,
    pub checkpoint: Option<Checkpoint>,
}

/// A run's weights' ancestry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lineage {
    /// The runs whose checkpoints the weights started from, nearest first.
    pub ancestors: Vec<Origin>,
    /// The `--init` file where the chain leaves this lab (torchvision's ImageNet weights,
    /// another lab's checkpoint), by its recorded path: no run here is known to have written
    /// it.
    pub outside: Option<String>,
}

impl Lab {
    /// The checkpoints of this lab whose file has `sha256`, oldest first.
    pub fn checkpoints_with_sha256(&self, sha256: &str) -> Result<Vec<Checkpoint>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{} WHERE sha256 = ?1 ORDER BY id",
            super::checkpoints::SELECT
        ))?;
        let rows = stmt
            .query_map([sha256], super::checkpoints::from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Where `run`'s starting weights came from, as far back as this lab knows: each step the
    /// run recorded when it started, else the run whose checkpoint has the file's sha256 now.
    pub fn lineage(&self, run: &Run) -> Result<Lineage> {
        let mut lineage = Lineage::default();
        let mut seen = vec![run.id];
        let mut current = run.clone();
        while let Some(path) = current.hyper.init.clone() {
            let sha = current.hyper.init_sha256.clone().unwrap_or_default();
            let found = self.checkpoints_with_sha256(&sha)?;
            let parent = match current.init_run {
                Some(id) => Some(id),
                None => found.iter().map(|c| c.run).find(|r| !seen.contains(r)),
            };
            let Some(parent) = parent.filter(|p| !seen.contains(p)) else {
                // A run it already descends from cannot be its parent: the chain ends here.
                if parent.is_none() {
                    lineage.outside = Some(path);
                }
                break;
            };
            let Some(parent_run) = self.run(parent)? else {
                lineage.outside = Some(path);
                break;
            };
            seen.push(parent);
            let checkpoint = found.into_iter().find(|c| c.run == parent);
            current = parent_run.clone();
            lineage.ancestors.push(Origin {
                run: parent_run,
                checkpoint,
            });
        }
        Ok(lineage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::new_run;
    use crate::lab::{NewCheckpoint, RunId};
    use anyhow::Context;

    fn start(lab: &Lab, init: Option<(&str, &str)>) -> Result<RunId> {
        let mut r = new_run("r");
        r.hyper.init = init.map(|(p, _)| p.to_string());
        r.hyper.init_sha256 = init.map(|(_, s)| s.to_string());
        lab.create_run(&r)
    }

    fn checkpoint(kind: &str, run: RunId, sha: &str) -> NewCheckpoint {
        NewCheckpoint {
            run,
            iteration: 10,
            epoch: 1,
            kind: kind.into(),
            path: format!("checkpoints/run-{}/{kind}.safetensors", run.0),
            sha256: sha.into(),
        }
    }

    fn ancestors(lab: &Lab, run: RunId) -> Result<(Vec<RunId>, Option<String>)> {
        let lineage = lab.lineage(&lab.run(run)?.context("run")?)?;
        Ok((
            lineage.ancestors.iter().map(|o| o.run.id).collect(),
            lineage.outside,
        ))
    }

    #[test]
    fn a_run_descends_from_the_runs_whose_checkpoints_it_started_from() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        // ImageNet weights -> run 1 -> run 2 -> run 3.
        let first = start(&lab, Some(("/w/resnet18-f37072fd.pth", "f37072fd00")))?;
        lab.add_checkpoint(&checkpoint("final", first, "aaaa"))?;
        let second = start(
            &lab,
            Some(("/lab/checkpoints/run-1/final.safetensors", "aaaa")),
        )?;
        lab.add_checkpoint(&checkpoint("final", second, "bbbb"))?;
        let third = start(
            &lab,
            Some(("/lab/checkpoints/run-2/final.safetensors", "bbbb")),
        )?;
        let random = start(&lab, None)?;

        let lineage = lab.lineage(&lab.run(third)?.context("run 3")?)?;
        let via = lineage.ancestors[0]
            .checkpoint
            .as_ref()
            .context("checkpoint")?;
        assert_eq!(via.sha256, "bbbb");
        assert_eq!(
            ancestors(&lab, third)?,
            (
                vec![second, first],
                Some("/w/resnet18-f37072fd.pth".to_string())
            )
        );
        assert_eq!(ancestors(&lab, random)?, (vec![], None));
        Ok(())
    }

    /// Runs repeat exactly, so two runs' checkpoints can be one file's bytes: the run whose
    /// checkpoint is at the path given is the parent, whichever was recorded first.
    #[test]
    fn of_two_runs_with_the_same_checkpoint_bytes_the_file_given_names_the_parent() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let lab = Lab::open(&dir.path().join("lab.db"))?;
        let (first, second) = (start(&lab, None)?, start(&lab, None)?);
        lab.add_checkpoint(&checkpoint("final", first, "same"))?;
        lab.add_checkpoint(&checkpoint("final", second, "same"))?;
        let given = |run: RunId| {
            let path = dir
                .path()
                .join(format!("checkpoints/run-{}/final.safetensors", run.0));
            path.to_string_lossy().into_owned()
        };
        for parent in [first, second] {
            let child = start(&lab, Some((&given(parent), "same")))?;
            assert_eq!(lab.run(child)?.context("child")?.init_run, Some(parent));
        }
        // A file of those bytes elsewhere: the oldest checkpoint's run.
        let elsewhere = start(&lab, Some(("/else/final.safetensors", "same")))?;
        assert_eq!(lab.run(elsewhere)?.context("run")?.init_run, Some(first));
        Ok(())
    }

    #[test]
    fn the_parent_recorded_at_the_start_outlives_its_checkpoint_s_row() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let parent = start(&lab, None)?;
        lab.add_checkpoint(&checkpoint("best", parent, "b1"))?;
        let child = start(&lab, Some(("/lab/best.safetensors", "b1")))?;
        // The parent trains on: a better best replaces the one the child started from.
        lab.replace_checkpoints(&checkpoint("best", parent, "b2"))?;
        assert!(lab.checkpoints_with_sha256("b1")?.is_empty());
        let lineage = lab.lineage(&lab.run(child)?.context("child")?)?;
        assert_eq!(lineage.ancestors.len(), 1);
        assert_eq!(lineage.ancestors[0].run.id, parent);
        assert_eq!(lineage.ancestors[0].checkpoint, None);
        assert_eq!(lineage.outside, None);
        Ok(())
    }

    #[test]
    fn a_loop_in_the_records_ends_the_chain_without_calling_it_outside() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let a = start(&lab, Some(("/x/b.safetensors", "bbbb")))?;
        lab.add_checkpoint(&checkpoint("final", a, "aaaa"))?;
        let b = start(&lab, Some(("/x/a.safetensors", "aaaa")))?;
        lab.add_checkpoint(&checkpoint("final", b, "bbbb"))?;
        // Only possible through edited records: a now claims b's checkpoint as its start.
        lab.conn()
            .execute("UPDATE runs SET init_run_id = ?1 WHERE id = ?2", [b.0, a.0])?;
        assert_eq!(ancestors(&lab, b)?, (vec![a], None));
        Ok(())
    }
}
