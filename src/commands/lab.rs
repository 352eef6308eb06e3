//! `facenet-lab lab merge OTHER.db`: import another lab's runs.

use anyhow::{bail, Context, Result};

use crate::cli::MergeArgs;
use crate::lab::Lab;

pub fn merge(lab: &Lab, args: &MergeArgs) -> Result<()> {
    if !args.other.exists() {
        bail!(
            "no file '{}' to merge: name the lab file that came back from the other machine \
             (e.g. gpu-lab.db)",
            args.other.display()
        );
    }
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
