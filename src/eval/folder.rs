//! Verification pairs for any folder of identities: as many same-person as different-person
//! pairs (as in LFW View 2, so that always answering "different" scores 0.5, not the share of
//! different pairs), sampled deterministically when there are more, and dealt into folds.

use std::collections::HashSet;

use crate::rng::Rng;

/// Pairs per class when the caller gives no cap: LFW View 2's 3,000 matched + 3,000 mismatched.
pub const DEFAULT_PAIRS_PER_CLASS: usize = 3_000;

/// Folds for the k-fold accuracy, as in LFW View 2.
pub const FOLDS: usize = 10;

/// A pair of images, by index into the folder's image list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IndexPair {
    pub a: usize,
    pub b: usize,
    pub same: bool,
    pub fold: usize,
}

/// Pairs `(a < b)` of the images labelled `labels`: equally many same-person and different-person
/// ones, as many as the scarcer class has and at most `per_class`, chosen by `seed` alone. A
/// folder of few people has far more different-person pairs than same-person ones; taking them
/// all would let a network that answers "different" to everything score their share (0.9 on a
/// dozen people) where LFW's balanced pairs give it 0.5. Within each class the chosen pairs are
/// shuffled and dealt round-robin into [`FOLDS`] folds, so every fold holds both classes in the
/// same proportion. Order: same-person pairs, then different-person ones.
pub fn folder_pairs(labels: &[String], per_class: usize, seed: u64) -> Vec<IndexPair> {
    let n = labels.len();
    // Same-person pairs are few (LFW: 242,257), so they are enumerated and sampled exactly.
    let mut by_identity: Vec<(&str, Vec<usize>)> = Vec::new();
    {
        let mut index = std::collections::HashMap::new();
        for (i, l) in labels.iter().enumerate() {
            let k = *index.entry(l.as_str()).or_insert_with(|| {
                by_identity.push((l.as_str(), Vec::new()));
                by_identity.len() - 1
            });
            by_identity[k].1.push(i);
        }
    }
    let mut same: Vec<(usize, usize)> = Vec::new();
    for (_, members) in &by_identity {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                same.push((i, j));
            }
        }
    }
    let total = n * n.saturating_sub(1) / 2;
    let n_different = total - same.len();
    let per_class = per_class.min(same.len()).min(n_different);
    let mut rng = Rng::derive(seed, "folder-pairs/same");
    rng.shuffle(&mut same);
    same.truncate(per_class);

    // Different-person pairs can be too many to list (LFW: 87 million); list them when they fit,
    // otherwise draw distinct ones at random.
    let mut rng = Rng::derive(seed, "folder-pairs/different");
    let different: Vec<(usize, usize)> = if n_different <= per_class.saturating_mul(4) {
        let mut all = Vec::with_capacity(n_different);
        for i in 0..n {
            for j in i + 1..n {
                if labels[i] != labels[j] {
                    all.push((i, j));
                }
            }
        }
        rng.shuffle(&mut all);
        all.truncate(per_class);
        all
    } else {
        let mut seen = HashSet::with_capacity(per_class);
        let mut chosen = Vec::with_capacity(per_class);
        while chosen.len() < per_class {
            let (i, j) = (rng.below(n), rng.below(n));
            if labels[i] == labels[j] {
                continue;
            }
            let pair = (i.min(j), i.max(j));
            if seen.insert(pair) {
                chosen.push(pair);
            }
        }
        chosen
    };

    let deal = |pairs: Vec<(usize, usize)>, same: bool| {
        pairs
            .into_iter()
            .enumerate()
            .map(move |(k, (a, b))| IndexPair {
                a,
                b,
                same,
                fold: k % FOLDS,
            })
    };
    deal(same, true).chain(deal(different, false)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(counts: &[(&str, usize)]) -> Vec<String> {
        counts
            .iter()
            .flat_map(|&(l, n)| std::iter::repeat_n(l.to_string(), n))
            .collect()
    }

    #[test]
    fn small_folders_give_every_same_pair_and_as_many_different_ones() {
        // A×3, B×2, C×1: same pairs C(3,2) + C(2,2) = 4; all pairs C(6,2) = 15; different 11,
        // of which 4 are taken, so that "different" for every pair scores 0.5.
        let l = labels(&[("A", 3), ("B", 2), ("C", 1)]);
        let pairs = folder_pairs(&l, 100, 1);
        assert_eq!(pairs.iter().filter(|p| p.same).count(), 4);
        assert_eq!(pairs.iter().filter(|p| !p.same).count(), 4);
        assert!(pairs
            .iter()
            .all(|p| p.a < p.b && (l[p.a] == l[p.b]) == p.same));
        let distinct: HashSet<_> = pairs.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(distinct.len(), 8);
        // Different pairs scarcer than same ones (two people, many photos each): capped alike.
        let l = labels(&[("A", 5), ("B", 1)]);
        let pairs = folder_pairs(&l, 100, 1);
        assert_eq!(pairs.iter().filter(|p| p.same).count(), 5);
        assert_eq!(pairs.iter().filter(|p| !p.same).count(), 5);
        // One photo per person: no same pair, so no pair at all.
        assert!(folder_pairs(&labels(&[("A", 1), ("B", 1)]), 100, 1).is_empty());
    }

    #[test]
    fn large_folders_are_sampled_deterministically_into_balanced_folds() {
        // 40 identities × 20 images: 40·C(20,2) = 7,600 same pairs, C(800,2) − 7,600 = 312,000
        // different ones; capped at 500 each.
        let l: Vec<String> = (0..800).map(|i| format!("id{}", i / 20)).collect();
        let pairs = folder_pairs(&l, 500, 9);
        assert_eq!(pairs, folder_pairs(&l, 500, 9), "same seed, same pairs");
        assert_ne!(
            pairs,
            folder_pairs(&l, 500, 10),
            "another seed, other pairs"
        );
        assert_eq!(pairs.iter().filter(|p| p.same).count(), 500);
        assert_eq!(pairs.iter().filter(|p| !p.same).count(), 500);
        assert!(pairs.iter().all(|p| (l[p.a] == l[p.b]) == p.same));
        let distinct: HashSet<_> = pairs.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(distinct.len(), 1000, "no pair twice");
        for fold in 0..FOLDS {
            let f: Vec<_> = pairs.iter().filter(|p| p.fold == fold).collect();
            assert_eq!((f.len(), f.iter().filter(|p| p.same).count()), (100, 50));
        }
    }
}
