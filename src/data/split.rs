//! The per-identity train/dev/test split rule and its deterministic shuffle.
//!
//! For an identity with `n` files: start with `n_devtest = n - floor(n/2)` and lower it by one
//! while `n_devtest / n > 0.2` and `n_devtest > 2`. Then `dev = floor(n_devtest / 2)`, `test =
//! n_devtest - dev` and `train = n - n_devtest`. The files are sorted by name (or shuffled with
//! the split seed, see [`shuffle`]); train takes the first ones, then dev, then test.

use crate::rng::{fnv1a64, Rng};

/// Sizes of one identity's split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitSizes {
    pub train: usize,
    pub dev: usize,
    pub test: usize,
}

/// The split rule (see the module docs).
pub fn split_sizes(n: usize) -> SplitSizes {
    let mut devtest = n - n / 2;
    // devtest / n > 0.2  <=>  5 * devtest > n, in exact integer arithmetic.
    while 5 * devtest > n && devtest > 2 {
        devtest -= 1;
    }
    let dev = devtest / 2;
    SplitSizes {
        train: n - devtest,
        dev,
        test: devtest - dev,
    }
}

/// Fisher–Yates shuffle of one identity's (name-sorted) files with a SplitMix64 seeded by
/// `seed ^ fnv1a64(identity)`, so an identity's split does not depend on which other
/// identities are present.
pub fn shuffle<T>(items: &mut [T], seed: u64, identity: &str) {
    Rng::new(seed ^ fnv1a64(identity)).shuffle(items);
}

/// Splits one identity's files (already sorted by name) into train, dev and test.
pub fn split_identity<T>(
    mut files: Vec<T>,
    seed: Option<u64>,
    identity: &str,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    if let Some(seed) = seed {
        shuffle(&mut files, seed, identity);
    }
    let sizes = split_sizes(files.len());
    let test = files.split_off(sizes.train + sizes.dev);
    let dev = files.split_off(sizes.train);
    (files, dev, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rule_table_for_small_n() {
        // (n, train, dev, test), computed by hand from the rule. For n >= 3 the loop ends at
        // n_devtest = max(2, floor(n / 5)).
        let table = [
            (3, 1, 1, 1),
            (4, 2, 1, 1),
            (5, 3, 1, 1),
            (6, 4, 1, 1),
            (7, 5, 1, 1),
            (8, 6, 1, 1),
            (9, 7, 1, 1),
            (10, 8, 1, 1),
            (11, 9, 1, 1),
            (12, 10, 1, 1),
            (13, 11, 1, 1),
            (14, 12, 1, 1),
            (15, 12, 1, 2),
            (16, 13, 1, 2),
            (17, 14, 1, 2),
            (18, 15, 1, 2),
            (19, 16, 1, 2),
            (20, 16, 2, 2),
            (21, 17, 2, 2),
            (22, 18, 2, 2),
            (23, 19, 2, 2),
            (24, 20, 2, 2),
            (25, 20, 2, 3),
            (26, 21, 2, 3),
            (27, 22, 2, 3),
            (28, 23, 2, 3),
            (29, 24, 2, 3),
            (30, 24, 3, 3),
        ];
        for (n, train, dev, test) in table {
            assert_eq!(split_sizes(n), SplitSizes { train, dev, test }, "n = {n}");
        }
    }

    #[test]
    fn split_rule_edges() {
        assert_eq!(
            split_sizes(2),
            SplitSizes {
                train: 1,
                dev: 0,
                test: 1
            }
        );
        assert_eq!(
            split_sizes(100),
            SplitSizes {
                train: 80,
                dev: 10,
                test: 10
            }
        );
        for n in 3..500 {
            let s = split_sizes(n);
            assert_eq!(s.train + s.dev + s.test, n);
            assert!(s.dev >= 1 && s.test >= 1 && s.train >= 1, "n = {n}");
        }
    }

    #[test]
    fn split_identity_orders_and_shuffles() {
        let files: Vec<u32> = (0..20).collect();
        let (train, dev, test) = split_identity(files.clone(), None, "X");
        assert_eq!(train, (0..16).collect::<Vec<_>>());
        assert_eq!(dev, vec![16, 17]);
        assert_eq!(test, vec![18, 19]);

        let a = split_identity(files.clone(), Some(7), "X");
        let b = split_identity(files.clone(), Some(7), "X");
        assert_eq!(a, b);
        let c = split_identity(files.clone(), Some(8), "X");
        assert_ne!(a, c);
        let d = split_identity(files, Some(7), "Y");
        assert_ne!(a, d);
        let mut all: Vec<u32> = a.0.iter().chain(&a.1).chain(&a.2).copied().collect();
        all.sort();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn a_recorded_split_seed_splits_as_it_did() {
        // A run records its --split-seed, not its files: the seed must split an identity the
        // same way in every later build. The expected split comes from a transcription of
        // FNV-1a and SplitMix64's Fisher–Yates into Python.
        let (train, dev, test) =
            split_identity((0..20).collect::<Vec<u32>>(), Some(7), "Aaron_Peirsol");
        assert_eq!(
            train,
            [6, 9, 7, 3, 8, 13, 0, 5, 11, 16, 19, 4, 17, 2, 14, 18]
        );
        assert_eq!(dev, [12, 10]);
        assert_eq!(test, [1, 15]);
    }
}
