//! Content hashes of members, splits and datasets.
//!
//! Byte encoding of a set of members: one line per member,
//! `identity` TAB `file` TAB `sha256-hex` LF (UTF-8, no header, no trailing data), the lines
//! sorted by (identity, file, sha256) as bytes. The hash is the lowercase hex sha256 of that
//! byte string. It does not depend on member order, nor on where the files came from (directory
//! or tarball, with or without the `lfw/` prefix): only names and file contents count.
use sha2::{Digest, Sha256};

use super::Member;

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Lowercase hex sha256 of the file at `path`, read in 1 MiB pieces.
pub fn sha256_file(path: &std::path::Path) -> anyhow::Result<String> {
    use anyhow::Context;
    use std::io::Read;
    let mut f =
        std::fs::File::open(path).with_context(|| format!("opening '{}'", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading '{}'", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The documented encoding of a member set (see the module docs).
pub fn members_encoding<'a>(members: impl IntoIterator<Item = &'a Member>) -> Vec<u8> {
    let mut lines: Vec<String> = members
        .into_iter()
        .map(|m| format!("{}\t{}\t{}\n", m.identity, m.file, m.sha256))
        .collect();
    lines.sort();
    lines.concat().into_bytes()
}

/// The hash of a member set: sha256 of [`members_encoding`].
pub fn members_hash<'a>(members: impl IntoIterator<Item = &'a Member>) -> String {
    sha256_hex(&members_encoding(members))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(identity: &str, file: &str, sha: &str) -> Member {
        Member {
            identity: identity.into(),
            file: file.into(),
            sha256: sha.into(),
        }
    }

    #[test]
    fn encoding_is_sorted_lines() {
        let a = m("B", "B_0001.jpg", "bb");
        let b = m("A", "A_0002.jpg", "aa");
        let c = m("A", "A_0001.jpg", "cc");
        let enc = members_encoding([&a, &b, &c]);
        assert_eq!(
            String::from_utf8_lossy(&enc),
            "A\tA_0001.jpg\tcc\nA\tA_0002.jpg\taa\nB\tB_0001.jpg\tbb\n"
        );
        assert_eq!(members_hash([&a, &b, &c]), members_hash([&c, &a, &b]));
        assert_eq!(members_hash([&a, &b, &c]), sha256_hex(&enc));
    }

    #[test]
    fn hash_changes_with_any_field() {
        let base = members_hash([&m("A", "A_0001.jpg", "aa")]);
        assert_ne!(base, members_hash([&m("A", "A_0001.jpg", "ab")]));
        assert_ne!(base, members_hash([&m("A", "A_0002.jpg", "aa")]));
        assert_ne!(base, members_hash([&m("C", "A_0001.jpg", "aa")]));
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // The empty member set hashes like the empty string.
        assert_eq!(
            members_hash(std::iter::empty::<&Member>()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
