//! `facenet-lab lab merge OTHER.db`: import another lab's runs.

use anyhow::{Context, Result};

use crate::cli::MergeArgs;
use crate::lab::Lab;

pub fn merge(lab: &Lab, args: &MergeArgs) -> Result<()> {
    let other = Lab::open_read_only(&args.other)
        .with_context(|| format!("opening '{}' to merge it", args.other.display()))?;
    let summary = lab.merge_from(&other).with_context(|| {
        format!(
            "merging '{}' into '{}' (nothing was changed)",
            args.other.display(),
            lab.path().display()
        )
    })?;
    print!("{summary}");
    Ok(())
}
