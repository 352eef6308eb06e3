//! `--checkpoint best|last|final|ITER`: which of a run's checkpoints to evaluate.

use anyhow::{bail, Result};

use crate::lab::Checkpoint;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointChoice {
    /// The latest checkpoint written because the dev accuracy improved (kind "best").
    Best,
    /// The checkpoint with the highest iteration, whatever its kind.
    Last,
    /// The one written when the run completed (kind "final", as the checkpoint lists say).
    Final,
    /// The checkpoint written at this iteration.
    Iteration(i64),
}

impl std::str::FromStr for CheckpointChoice {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "best" => Ok(CheckpointChoice::Best),
            "last" => Ok(CheckpointChoice::Last),
            "final" => Ok(CheckpointChoice::Final),
            _ => match s.parse::<i64>() {
                Ok(i) if i >= 0 => Ok(CheckpointChoice::Iteration(i)),
                _ => bail!(
                    "--checkpoint takes 'best', 'last', 'final' or an iteration number, got '{s}'"
                ),
            },
        }
    }
}

impl CheckpointChoice {
    /// Picks from `checkpoints` (one run's, in iteration order as `Lab::checkpoints` gives them).
    /// The error lists what there is.
    pub fn pick<'a>(
        self,
        run_label: &str,
        checkpoints: &'a [Checkpoint],
    ) -> Result<&'a Checkpoint> {
        let found = match self {
            CheckpointChoice::Best => checkpoints.iter().rev().find(|c| c.kind == "best"),
            CheckpointChoice::Last => checkpoints.iter().max_by_key(|c| (c.iteration, c.id)),
            CheckpointChoice::Final => checkpoints.iter().rev().find(|c| c.kind == "final"),
            // The best where others share its step (a periodic one holds the same weights):
            // the results table counts evaluations of the best.
            CheckpointChoice::Iteration(i) => checkpoints
                .iter()
                .rev()
                .filter(|c| c.iteration == i)
                .min_by_key(|c| c.kind != "best"),
        };
        if let Some(c) = found {
            return Ok(c);
        }
        if checkpoints.is_empty() {
            bail!(
                "run {run_label} has no checkpoints: none was written before its first \
                 evaluation, its --checkpoint-every epochs, its first 30 minutes (an automatic \
                 one) or a stop with a checkpoint"
            );
        }
        let have: Vec<String> = checkpoints
            .iter()
            .map(|c| format!("{} ({})", c.iteration, c.kind))
            .collect();
        let wanted = match self {
            CheckpointChoice::Best => "no 'best' checkpoint".to_string(),
            CheckpointChoice::Last => "no checkpoint".to_string(),
            CheckpointChoice::Final => "no 'final' checkpoint (it did not complete)".to_string(),
            CheckpointChoice::Iteration(i) => format!("no checkpoint at iteration {i}"),
        };
        bail!(
            "run {run_label} has {wanted}; it has checkpoints at iterations {}: pass \
             --checkpoint last or one of those iterations",
            have.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::RunId;

    fn ck(id: i64, iteration: i64, kind: &str) -> Checkpoint {
        Checkpoint {
            id,
            run: RunId(1),
            iteration,
            epoch: iteration / 10,
            kind: kind.into(),
            path: format!("{iteration}.safetensors"),
            sha256: String::new(),
            created_at: 0.0,
        }
    }

    #[test]
    fn picks_best_last_and_iterations() -> Result<()> {
        let cks = [
            ck(1, 10, "best"),
            ck(2, 20, "periodic"),
            ck(3, 30, "best"),
            ck(4, 40, "final"),
            ck(5, 30, "periodic"),
        ];
        let pick =
            |s: &str| -> Result<i64> { Ok(s.parse::<CheckpointChoice>()?.pick("1", &cks)?.id) };
        assert_eq!(pick("best")?, 3);
        assert_eq!(pick("last")?, 4);
        assert_eq!(pick("final")?, 4);
        let err = CheckpointChoice::Final
            .pick("1", &cks[..3])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no 'final' checkpoint"), "{err}");
        assert_eq!(pick("20")?, 2);
        assert_eq!(pick("30")?, 3, "the best, of the two at iteration 30");
        let err = pick("25").unwrap_err().to_string();
        assert!(
            err.contains("no checkpoint at iteration 25") && err.contains("20 (periodic)"),
            "{err}"
        );
        let err = CheckpointChoice::Best
            .pick("1", &cks[1..2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no 'best' checkpoint"), "{err}");
        let err = CheckpointChoice::Last
            .pick("7", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("run 7 has no checkpoints"), "{err}");
        assert!("newest".parse::<CheckpointChoice>().is_err());
        Ok(())
    }
}
