//! Learning-rate schedules (candle has none): an optional linear warm-up, then either the
//! constant rate (the seed's) or a cosine decay to zero over the remaining steps.
//!
//! The rate is a pure function of the step number, so a resumed run continues on exactly the
//! curve it would have followed.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The same rate at every step (the seed's).
    #[default]
    Constant,
    /// Half a cosine from the rate down to zero at the last step (SGDR without restarts).
    Cosine,
}

impl LrSchedule {
    pub fn as_str(self) -> &'static str {
        match self {
            LrSchedule::Constant => "constant",
            LrSchedule::Cosine => "cosine",
        }
    }
}

/// A schedule over a run of `total` steps, the first `warmup` of which ramp linearly up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub kind: LrSchedule,
    pub base: f64,
    pub warmup: u64,
    pub total: u64,
}

impl Schedule {
    /// The rate for step `step`, counted from 1 as the trainer counts iterations.
    pub fn lr(&self, step: u64) -> f64 {
        let step = step.max(1);
        if step <= self.warmup {
            return self.base * step as f64 / self.warmup as f64;
        }
        match self.kind {
            LrSchedule::Constant => self.base,
            LrSchedule::Cosine => {
                // Decayed steps `warmup + 1 ..= total` map to t = 0 ..= 1, so the last reaches zero.
                let span = self.total.saturating_sub(self.warmup).max(1);
                let k = (step - self.warmup - 1).min(span - 1);
                let t = k as f64 / (span - 1).max(1) as f64;
                0.5 * self.base * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(kind: LrSchedule, base: f64, warmup: u64, total: u64) -> Schedule {
        Schedule {
            kind,
            base,
            warmup,
            total,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn constant_without_warmup_is_the_seeds_rate_everywhere() {
        let s = schedule(LrSchedule::Constant, 1e-4, 0, 10);
        assert!((1..=10).all(|i| s.lr(i) == 1e-4));
    }

    #[test]
    fn warmup_ramps_linearly_to_the_base_rate() {
        let s = schedule(LrSchedule::Constant, 1.0, 4, 10);
        let got: Vec<f64> = (1..=6).map(|i| s.lr(i)).collect();
        assert_eq!(got, vec![0.25, 0.5, 0.75, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn cosine_starts_at_the_base_passes_half_midway_and_ends_at_zero() {
        // 2 warm-up steps, then 5 decayed steps: t = 0, 1/4, 1/2, 3/4, 1.
        let s = schedule(LrSchedule::Cosine, 2.0, 2, 7);
        let got: Vec<f64> = (1..=7).map(|i| s.lr(i)).collect();
        let c = |t: f64| 1.0 + (std::f64::consts::PI * t).cos();
        let want = [1.0, 2.0, 2.0, c(0.25), 1.0, c(0.75), 0.0];
        for (g, w) in got.iter().zip(want) {
            assert!(close(*g, w), "{got:?} vs {want:?}");
        }
        // Past the end (a resumed run never goes there, but it must not go negative or wrap).
        assert!(close(s.lr(8), 0.0));
    }

    #[test]
    fn cosine_is_monotone_after_warmup() {
        let s = schedule(LrSchedule::Cosine, 3e-4, 37, 1110);
        let lrs: Vec<f64> = (38..=1110).map(|i| s.lr(i)).collect();
        assert!(lrs.windows(2).all(|w| w[1] <= w[0]));
        assert!(close(lrs[0], 3e-4) && close(*lrs.last().unwrap(), 0.0));
    }
}
