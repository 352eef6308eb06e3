//! LFW View 2 pairs (`pairs.txt`): which image pairs show the same person, in 10 folds.
//!
//! The format, from the LFW README: a header line `10\t300` (folds, pairs per class per fold),
//! then for each fold first 300 matched lines `name\tn1\tn2` and then 300 mismatched lines
//! `name1\tn1\tname2\tn2`. Image `n` of `name` is the file `name/name_{n:04}.jpg`.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// One LFW image, named as in `pairs.txt`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    pub identity: String,
    /// 1-based image number, as in the file names.
    pub number: u32,
}

impl ImageRef {
    /// `Name_0001.jpg`.
    pub fn file_name(&self) -> String {
        format!("{}_{:04}.jpg", self.identity, self.number)
    }

    /// `Name/Name_0001.jpg`, relative to the LFW root.
    pub fn relative_path(&self) -> PathBuf {
        Path::new(&self.identity).join(self.file_name())
    }
}

/// A pair to verify, with the fold it belongs to (0-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub fold: usize,
    pub a: ImageRef,
    pub b: ImageRef,
    /// Whether both images show the same person.
    pub same: bool,
}

impl Pair {
    /// Whether either image shows one of `identities`.
    pub fn touches(&self, identities: &HashSet<String>) -> bool {
        identities.contains(&self.a.identity) || identities.contains(&self.b.identity)
    }
}

/// A parsed pairs file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairsFile {
    pub n_folds: usize,
    /// Matched pairs per fold; there are as many mismatched ones.
    pub per_class_per_fold: usize,
    /// In file order: fold by fold, matched pairs before mismatched ones.
    pub pairs: Vec<Pair>,
    /// Of the file's bytes: the official View 2 file's is [`VIEW2_SHA256`].
    pub sha256: String,
}

/// The sha256 of LFW View 2's official `pairs.txt` (10 folds of 300 matched and 300 mismatched
/// pairs), as `data fetch` checks it.
pub const VIEW2_SHA256: &str = "ea42330c62c92989f9d7c03237ed5d591365e89b3e649747777b70e692dc1592";

impl PairsFile {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<PairsFile> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading pairs file '{}'", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            anyhow::anyhow!(
                "'{}' is not a pairs file: it is not text (LFW's is pairs.txt, which `facenet-lab \
                 data fetch` downloads)",
                path.display()
            )
        })?;
        parse(&text).with_context(|| format!("parsing pairs file '{}'", path.display()))
    }

    /// Every image the pairs mention, each once, sorted by identity then number.
    pub fn images(&self) -> Vec<ImageRef> {
        let set: BTreeSet<&ImageRef> = self.pairs.iter().flat_map(|p| [&p.a, &p.b]).collect();
        set.into_iter().cloned().collect()
    }
}

/// The pairs that touch none of `identities`, and how many were dropped: evaluating a run on
/// people it trained on would flatter it.
pub fn exclude_identities(pairs: &[Pair], identities: &HashSet<String>) -> (Vec<Pair>, usize) {
    let kept: Vec<Pair> = pairs
        .iter()
        .filter(|p| !p.touches(identities))
        .cloned()
        .collect();
    let dropped = pairs.len() - kept.len();
    (kept, dropped)
}

/// Parses the text of a pairs file. Errors name the 1-based line.
pub fn parse(text: &str) -> Result<PairsFile> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (_, header) = lines
        .next()
        .context("the pairs file is empty; expected a header line like '10\t300'")?;
    let head: Vec<&str> = header.split_whitespace().collect();
    let parse_count = |s: &str| s.parse::<usize>().ok().filter(|&n| n > 0);
    let (n_folds, per_class) = match head.as_slice() {
        [f, n] => match (parse_count(f), parse_count(n)) {
            (Some(f), Some(n)) => (f, n),
            _ => bail!("line 1: expected 'FOLDS\tPAIRS' with two positive numbers, got '{header}'"),
        },
        _ => bail!("line 1: expected 'FOLDS\tPAIRS' (e.g. '10\t300'), got '{header}'"),
    };

    let mut pairs = Vec::with_capacity(n_folds * per_class * 2);
    for fold in 0..n_folds {
        for same in [true, false] {
            for _ in 0..per_class {
                let what = if same { "matched" } else { "mismatched" };
                let Some((n, line)) = lines.next() else {
                    bail!(
                        "the file ends early: fold {} needs {per_class} {what} pairs, \
                         as the header '{header}' announces",
                        fold + 1
                    );
                };
                let pair = parse_pair(line, fold, same)
                    .with_context(|| format!("line {n} (fold {}, {what} pairs)", fold + 1))?;
                pairs.push(pair);
            }
        }
    }
    if let Some((n, line)) = lines.find(|(_, l)| !l.trim().is_empty()) {
        bail!(
            "line {n}: unexpected '{line}' after the {} pairs the header '{header}' announces",
            pairs.len()
        );
    }
    Ok(PairsFile {
        n_folds,
        per_class_per_fold: per_class,
        pairs,
        sha256: crate::data::hash::sha256_hex(text.as_bytes()),
    })
}

fn parse_pair(line: &str, fold: usize, same: bool) -> Result<Pair> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let image = |identity: &str, number: &str| -> Result<ImageRef> {
        let number = number
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .with_context(|| {
                format!("'{number}' is not an image number (a positive integer) in '{line}'")
            })?;
        Ok(ImageRef {
            identity: identity.to_string(),
            number,
        })
    };
    match (same, f.as_slice()) {
        (true, [name, n1, n2]) => Ok(Pair {
            fold,
            a: image(name, n1)?,
            b: image(name, n2)?,
            same,
        }),
        (false, [name1, n1, name2, n2]) => Ok(Pair {
            fold,
            a: image(name1, n1)?,
            b: image(name2, n2)?,
            same,
        }),
        (true, _) => bail!("expected 'name\tn1\tn2', got '{line}'"),
        (false, _) => bail!("expected 'name1\tn1\tname2\tn2', got '{line}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_dir() -> Result<PathBuf> {
        let dir = std::env::var_os("FACENET_LAB_DATA").context(
            "set FACENET_LAB_DATA to the folder holding pairs.txt (e.g. /work/shared/data)",
        )?;
        Ok(PathBuf::from(dir))
    }

    #[test]
    fn a_file_that_is_not_text_is_not_a_pairs_file() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("lfw.tgz");
        std::fs::write(&path, [0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe])?;
        let err = PairsFile::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("lfw.tgz' is not a pairs file: it is not text"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn parses_the_official_view2_file() -> Result<()> {
        let file = PairsFile::read(&data_dir()?.join("pairs.txt"))?;
        assert_eq!((file.n_folds, file.per_class_per_fold), (10, 300));
        assert_eq!(file.pairs.len(), 6000);
        assert_eq!(file.pairs.iter().filter(|p| p.same).count(), 3000);
        for fold in 0..10 {
            let in_fold: Vec<&Pair> = file.pairs.iter().filter(|p| p.fold == fold).collect();
            assert_eq!(in_fold.len(), 600, "fold {fold}");
            assert_eq!(in_fold.iter().filter(|p| p.same).count(), 300);
        }
        // pairs.txt lines 2 and 302: the first matched and mismatched pair of fold 1.
        assert_eq!(
            file.pairs[0],
            Pair {
                fold: 0,
                a: ImageRef {
                    identity: "Abel_Pacheco".into(),
                    number: 1
                },
                b: ImageRef {
                    identity: "Abel_Pacheco".into(),
                    number: 4
                },
                same: true,
            }
        );
        assert_eq!(
            file.pairs[300].b.relative_path(),
            Path::new("Dean_Barker/Dean_Barker_0001.jpg")
        );
        // pairs.txt's last line.
        let last = &file.pairs[5999];
        assert_eq!(
            (last.fold, last.a.file_name(), last.b.file_name(), last.same),
            (
                9,
                "Slobodan_Milosevic_0002.jpg".into(),
                "Sok_An_0001.jpg".into(),
                false
            )
        );
        assert!(file
            .pairs
            .iter()
            .all(|p| p.same == (p.a.identity == p.b.identity)));
        // 7,701 distinct images are named in View 2 (counted with
        // `awk` over the file: matched pairs contribute name/n1 and name/n2, mismatched ones both sides).
        assert_eq!(file.images().len(), 7701);
        Ok(())
    }

    #[test]
    fn errors_name_the_line() -> Result<()> {
        let err = |text: &str| format!("{:#}", parse(text).unwrap_err());
        let e = err("2\t1\nA\t1\t2\nA\t1\tB\t1\nC\t1\tx\n");
        assert!(
            e.contains("line 4") && e.contains("'x' is not an image number"),
            "{e}"
        );
        let e = err("2\t1\nA\t1\t2\nA\t1\t2\n");
        assert!(e.contains("line 3") && e.contains("mismatched"), "{e}");
        let e = err("1\t1\nA\t1\t2\n");
        assert!(e.contains("ends early"), "{e}");
        let e = err("1\t1\nA\t1\t2\nA\t1\tB\t1\nextra\n");
        assert!(e.contains("line 4") && e.contains("unexpected"), "{e}");
        let e = err("ten\t300\n");
        assert!(e.contains("line 1"), "{e}");
        Ok(())
    }

    #[test]
    fn excluding_identities_drops_pairs_touching_them() -> Result<()> {
        let file = parse("1\t2\nA\t1\t2\nB\t1\t2\nA\t1\tC\t1\nC\t2\tD\t1\n\n")?;
        let train: HashSet<String> = ["A".to_string()].into();
        let (kept, dropped) = exclude_identities(&file.pairs, &train);
        assert_eq!(dropped, 2);
        assert_eq!(
            kept.iter()
                .map(|p| (p.a.identity.as_str(), p.b.identity.as_str()))
                .collect::<Vec<_>>(),
            vec![("B", "B"), ("C", "D")]
        );
        Ok(())
    }
}
