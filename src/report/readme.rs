//! Replacing the generated part of a README: everything between the two markers, and not one
//! byte outside them.

use anyhow::{bail, Result};

pub const START: &str = "<!-- results:start -->";
pub const END: &str = "<!-- results:end -->";

/// `text` with what lies between [`START`] and [`END`] replaced by `block` (framed by line
/// breaks so that the markers stay on lines of their own). Refuses missing, repeated or
/// swapped markers, naming `what` (the file) so the reader knows where to fix them.
pub fn splice(text: &str, block: &str, what: &str) -> Result<String> {
    let starts: Vec<usize> = text.match_indices(START).map(|(i, _)| i).collect();
    let ends: Vec<usize> = text.match_indices(END).map(|(i, _)| i).collect();
    let how = format!("put the two lines `{START}` and `{END}` where the results table belongs");
    let (start, end) = match (starts.as_slice(), ends.as_slice()) {
        ([], []) => bail!("{what} has no results markers: {how}"),
        ([], _) => bail!("{what} has `{END}` but no `{START}`: {how}"),
        (_, []) => bail!("{what} has `{START}` but no `{END}`: {how}"),
        ([s], [e]) => (*s, *e),
        _ => bail!(
            "{what} has {} `{START}` and {} `{END}` markers; it needs exactly one of each \
             (markers quoted in the text or a code block count too: write those otherwise): \
             {how}",
            starts.len(),
            ends.len()
        ),
    };
    if end < start {
        bail!("{what} has `{END}` before `{START}`: {how}");
    }
    let inner_start = start + START.len();
    let mut out = String::with_capacity(text.len() + block.len());
    out.push_str(&text[..inner_start]);
    out.push('\n');
    out.push_str(block);
    if !block.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&text[end..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_between_the_markers() -> Result<()> {
        let before = "# Title\r\n\nintro  \n<!-- results:start -->\nold table\n<!-- results:end -->\ntrailing\n\n";
        let out = splice(before, "| new |\n", "README.md")?;
        assert_eq!(
            out,
            "# Title\r\n\nintro  \n<!-- results:start -->\n| new |\n<!-- results:end -->\ntrailing\n\n"
        );
        assert_eq!(splice(&out, "| new |\n", "README.md")?, out, "idempotent");
        Ok(())
    }

    #[test]
    fn refuses_bad_markers() {
        let cases = [
            ("no markers", "has no results markers"),
            ("a\n<!-- results:end -->\n", "but no `<!-- results:start -->`"),
            ("<!-- results:start -->\n", "but no `<!-- results:end -->`"),
            (
                "<!-- results:end -->\n<!-- results:start -->\n",
                "before `<!-- results:start -->`",
            ),
            (
                "<!-- results:start -->\n<!-- results:end -->\n<!-- results:start -->\n<!-- results:end -->",
                "2 `<!-- results:start -->` and 2",
            ),
        ];
        for (text, want) in cases {
            let err = splice(text, "x\n", "README.md")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
