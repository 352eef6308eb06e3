//! Where a run's starting weights came from. A run started with `--init FILE` records the
//! file's sha256; when a run of this lab wrote that file as a checkpoint, the weights descend
//! from that run, and from whatever it started from in turn. Evaluations that leave out the
//! people a run trained on must leave out its ancestors' people too.

use anyhow::Result;
use rusqlite::OptionalExtension;

use super::{Checkpoint, Lab, Run, RunId};

/// One step back: the run that wrote a start's `--init` file, and which checkpoint it was.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub run: Run,
    pub checkpoint: Checkpoint,
}

/// A run's weights' ancestry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lineage {
    /// The runs whose checkpoints the weights started from, nearest first.
    pub ancestors: Vec<Origin>,
    /// The `--init` file where the chain leaves this lab (torchvision's ImageNet weights,
    /// another lab's checkpoint, a checkpoint whose record was dropped), by its recorded path.
    pub outside: Option<String>,
}

impl Lab {
    /// The checkpoint of this lab whose file has `sha256`, if any (the earliest recorded).
    pub fn checkpoint_with_sha256(&self, sha256: &str) -> Result<Option<Checkpoint>> {
        let id: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT run_id, id FROM checkpoints WHERE sha256 = ?1 ORDER BY id LIMIT 1",
                [sha256],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((run, id)) = id else {
            return Ok(None);
        };
        Ok(self
            .checkpoints(RunId(run))?
            .into_iter()
            .find(|c| c.id == id))
    }

    /// Where `run`'s starting weights came from, as far back as this lab knows.
    pub fn lineage(&self, run: &Run) -> Result<Lineage> {
        let mut lineage = Lineage::default();
        let mut seen = vec![run.id];
        let mut current = run.clone();
        while let Some(path) = current.hyper.init.clone() {
            let found = match current.hyper.init_sha256.as_deref() {
                Some(sha) => self.checkpoint_with_sha256(sha)?,
                None => None,
            };
            let Some(checkpoint) = found.filter(|c| !seen.contains(&c.run)) else {
                lineage.outside = Some(path);
                break;
            };
            let Some(parent) = self.run(checkpoint.run)? else {
                lineage.outside = Some(path);
                break;
            };
            seen.push(parent.id);
            current = parent.clone();
            lineage.ancestors.push(Origin {
                run: parent,
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
    use crate::lab::NewCheckpoint;

    #[test]
    fn a_run_descends_from_the_runs_whose_checkpoints_it_started_from() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let start = |init: Option<(&str, &str)>| -> Result<RunId> {
            let mut r = new_run("r");
            r.hyper.init = init.map(|(p, _)| p.to_string());
            r.hyper.init_sha256 = init.map(|(_, s)| s.to_string());
            lab.create_run(&r)
        };
        let checkpoint = |run: RunId, sha: &str| -> Result<()> {
            lab.add_checkpoint(&NewCheckpoint {
                run,
                iteration: 10,
                epoch: 1,
                kind: "final".into(),
                path: format!("checkpoints/run-{}/final.safetensors", run.0),
                sha256: sha.into(),
            })?;
            Ok(())
        };
        // ImageNet weights -> run 1 -> run 2 -> run 3.
        let first = start(Some(("/w/resnet18-f37072fd.pth", "f37072fd00")))?;
        checkpoint(first, "aaaa")?;
        let second = start(Some(("/lab/checkpoints/run-1/final.safetensors", "aaaa")))?;
        checkpoint(second, "bbbb")?;
        let third = start(Some(("/lab/checkpoints/run-2/final.safetensors", "bbbb")))?;
        let random = start(None)?;

        let lineage = lab.lineage(&lab.run(third)?.expect("run 3"))?;
        let ancestors: Vec<RunId> = lineage.ancestors.iter().map(|o| o.run.id).collect();
        assert_eq!(ancestors, [second, first]);
        assert_eq!(lineage.ancestors[0].checkpoint.sha256, "bbbb");
        assert_eq!(lineage.outside.as_deref(), Some("/w/resnet18-f37072fd.pth"));
        assert_eq!(
            lab.lineage(&lab.run(random)?.expect("run 4"))?,
            Lineage::default()
        );
        Ok(())
    }
}
