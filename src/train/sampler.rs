//! Batch orders. Each epoch's order comes from the run's seed and the epoch number alone, so a
//! resumed run replays exactly the batches it would have seen.

use crate::rng::Rng;
use crate::train::config::Sampler;

/// How many steps make an epoch: enough batches to show every training image once.
pub fn iters_per_epoch(n_train: usize, batch: usize) -> usize {
    n_train.div_ceil(batch).max(1)
}

/// The batches of one epoch, as indices into the training split.
pub fn epoch_batches(
    sampler: Sampler,
    labels: &[u32],
    batch: usize,
    pk_k: usize,
    seed: u64,
    epoch: usize,
) -> Vec<Vec<usize>> {
    let mut rng = Rng::derive(seed, &format!("epoch-{epoch}"));
    match sampler {
        Sampler::Random => {
            // The seed's DataLoader(shuffle=True, drop_last=False).
            let mut order: Vec<usize> = (0..labels.len()).collect();
            rng.shuffle(&mut order);
            order.chunks(batch).map(<[usize]>::to_vec).collect()
        }
        Sampler::Pk => pk_batches(labels, batch, pk_k, &mut rng),
    }
}

/// P×K batches: P = batch / K identities, K images of each. Identities are visited in shuffled
/// rounds, each identity once a round (one drawn where a round ends and is already in the batch
/// waits for the next batch); an identity's images are drawn without replacement, reshuffled
/// when fewer than K remain.
fn pk_batches(labels: &[u32], batch: usize, k: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let n_ids = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut by_id: Vec<Vec<usize>> = vec![Vec::new(); n_ids];
    for (i, &l) in labels.iter().enumerate() {
        by_id[l as usize].push(i);
    }
    let ids: Vec<usize> = (0..n_ids).filter(|&i| !by_id[i].is_empty()).collect();
    if ids.is_empty() {
        // No identity to draw from (the data's filter keeps none; it refuses that first).
        return Vec::new();
    }
    let p = (batch / k).min(ids.len()).max(1);
    for imgs in &mut by_id {
        rng.shuffle(imgs);
    }
    let mut cursor = vec![0usize; n_ids];
    let mut queue: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for _ in 0..iters_per_epoch(labels.len(), batch) {
        let mut chosen: Vec<usize> = Vec::with_capacity(p);
        // Drawn from a new round while the old round's draw of it is in this batch.
        let mut waiting: Vec<usize> = Vec::new();
        while chosen.len() < p {
            if queue.is_empty() {
                queue = ids.clone();
                rng.shuffle(&mut queue);
            }
            if let Some(id) = queue.pop() {
                if chosen.contains(&id) {
                    waiting.push(id);
                } else {
                    chosen.push(id);
                }
            }
        }
        // First in the next batch, in the order they were drawn.
        queue.extend(waiting.into_iter().rev());
        let mut b = Vec::with_capacity(p * k);
        for id in chosen {
            let imgs = &mut by_id[id];
            let take = k.min(imgs.len());
            // Too few unseen images left for a whole group: start a fresh round, so no image
            // appears twice in one batch.
            if cursor[id] + take > imgs.len() {
                rng.shuffle(imgs);
                cursor[id] = 0;
            }
            b.extend_from_slice(&imgs[cursor[id]..cursor[id] + take]);
            cursor[id] += take;
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ids: usize, per: usize) -> Vec<u32> {
        (0..ids * per).map(|i| (i / per) as u32).collect()
    }

    #[test]
    fn random_batches_cover_the_split_once_and_replay_by_epoch() {
        let l = labels(5, 7); // 35 images
        let b = epoch_batches(Sampler::Random, &l, 8, 4, 1, 3);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![8, 8, 8, 8, 3]
        );
        let mut all: Vec<usize> = b.concat();
        all.sort();
        assert_eq!(all, (0..35).collect::<Vec<_>>());
        assert_eq!(b, epoch_batches(Sampler::Random, &l, 8, 4, 1, 3));
        assert_ne!(b, epoch_batches(Sampler::Random, &l, 8, 4, 1, 4));
    }

    #[test]
    fn pk_batches_hold_p_identities_of_k_images() {
        let l = labels(10, 6);
        let b = epoch_batches(Sampler::Pk, &l, 12, 4, 9, 1);
        assert_eq!(b.len(), iters_per_epoch(60, 12));
        for batch in &b {
            assert_eq!(batch.len(), 12);
            let mut ids: Vec<u32> = batch.iter().map(|&i| l[i]).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), 3, "P = 12 / 4 identities");
            for id in ids {
                assert_eq!(batch.iter().filter(|&&i| l[i] == id).count(), 4);
            }
            let mut uniq = batch.clone();
            uniq.sort();
            uniq.dedup();
            assert_eq!(uniq.len(), 12, "no image twice in a batch");
        }
    }

    #[test]
    fn no_identities_give_no_batches() {
        for sampler in [Sampler::Random, Sampler::Pk] {
            assert!(
                epoch_batches(sampler, &[], 12, 4, 9, 1).is_empty(),
                "{sampler:?}"
            );
        }
    }

    /// Labels with `counts[id]` images of each identity, interleaved rather than grouped.
    fn scattered(counts: &[usize]) -> Vec<u32> {
        let mut l: Vec<u32> = counts
            .iter()
            .enumerate()
            .flat_map(|(id, &n)| std::iter::repeat_n(id as u32, n))
            .collect();
        Rng::new(3).shuffle(&mut l);
        l
    }

    /// Checks `pk` batches of `k` over `labels` against the documented contract: each batch
    /// holds `p` distinct identities, each with min(K, its images) distinct images of its own;
    /// an identity's images are drawn without replacement until fewer than K of them are left
    /// unseen, and only then may one come again. Returns how often an identity of at least 2K
    /// images came to the end of its images and began again.
    fn check_pk(labels: &[u32], batches: &[Vec<usize>], k: usize, p: usize, at: &str) -> usize {
        let count = |id: u32| labels.iter().filter(|&&l| l == id).count();
        let mut unseen: std::collections::HashMap<u32, Vec<usize>> = Default::default();
        let mut passes = 0;
        for (n, batch) in batches.iter().enumerate() {
            let mut uniq = batch.clone();
            uniq.sort();
            uniq.dedup();
            assert_eq!(uniq.len(), batch.len(), "{at}, batch {n}: an image twice");
            let mut ids: Vec<u32> = batch.iter().map(|&i| labels[i]).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), p, "{at}, batch {n}: {ids:?} identities");
            for id in ids {
                let group: Vec<usize> =
                    batch.iter().copied().filter(|&i| labels[i] == id).collect();
                assert_eq!(
                    group.len(),
                    k.min(count(id)),
                    "{at}, batch {n}, identity {id}"
                );
                let all = || (0..labels.len()).filter(|&i| labels[i] == id).collect();
                let left = unseen.entry(id).or_insert_with(all);
                if left.len() < k {
                    // A fresh pass over the identity's images.
                    passes += usize::from(count(id) >= 2 * k);
                    *left = all();
                }
                for i in group {
                    let Some(at_) = left.iter().position(|&j| j == i) else {
                        panic!(
                            "{at}, batch {n}: image {i} of identity {id} again, with {left:?} \
                             of its images not yet drawn"
                        );
                    };
                    left.swap_remove(at_);
                }
            }
        }
        passes
    }

    /// Identities with fewer images than K (one of a single image, as a low --min-images
    /// allows), and fewer identities than P: every batch holds all of them, each with all the
    /// images it has up to K.
    #[test]
    fn pk_batches_of_identities_smaller_than_k_and_fewer_than_p() {
        // Identity 2 has no training image: it takes no place of the P in a batch.
        let l = scattered(&[1, 2, 0, 6, 6]);
        for seed in 0..10 {
            for epoch in 1..4 {
                // P = 24 / 4 = 6, but 4 identities have images.
                let b = epoch_batches(Sampler::Pk, &l, 24, 4, seed, epoch);
                assert_eq!(b.len(), 1, "15 images, 24 a batch");
                check_pk(&l, &b, 4, 4, &format!("seed {seed}, epoch {epoch}"));
                assert_eq!(b[0].len(), 1 + 2 + 4 + 4);
                // 8 images a batch: one epoch of two batches of P = 2.
                let b = epoch_batches(Sampler::Pk, &l, 8, 4, seed, epoch);
                assert_eq!(b.len(), 2);
                check_pk(
                    &l,
                    &b,
                    4,
                    2,
                    &format!("seed {seed}, epoch {epoch}, batch 8"),
                );
            }
        }
    }

    /// Over an epoch of many batches, identities of 1, 2, 6, 6 and 16 images: no image of an
    /// identity comes again while K of its images are still undrawn, so that one of 1 or 2
    /// images, or of 6 at K = 2, shows every image before any repeats.
    #[test]
    fn pk_batches_draw_an_identitys_images_without_replacement() {
        let l = scattered(&[1, 2, 6, 6, 16]);
        let mut passes = 0;
        for seed in 0..10 {
            for (batch, k) in [(4, 2), (8, 4), (8, 2), (12, 4)] {
                let b = epoch_batches(Sampler::Pk, &l, batch, k, seed, 1);
                assert_eq!(b.len(), iters_per_epoch(31, batch));
                let at = format!("seed {seed}, batch {batch}, K {k}");
                passes += check_pk(&l, &b, k, batch / k, &at);
            }
        }
        assert!(
            passes > 0,
            "no identity of two groups or more went through all its images"
        );
    }

    #[test]
    fn pk_batches_visit_every_identity_once_a_round() {
        // 4 identities, 3 a batch: every round ends mid-batch, and the next round's first
        // draws often repeat an identity already in that batch.
        let l = labels(4, 30);
        for seed in 0..20 {
            let b = epoch_batches(Sampler::Pk, &l, 12, 4, seed, 0);
            let mut seen = [0usize; 4];
            for (n, batch) in b.iter().enumerate() {
                for id in 0..4u32 {
                    seen[id as usize] += usize::from(batch.iter().any(|&i| l[i] == id));
                }
                let (lo, hi) = (seen.iter().min().unwrap(), seen.iter().max().unwrap());
                assert!(
                    hi - lo <= 1,
                    "seed {seed}: after batch {n} the identities were drawn {seen:?} times"
                );
            }
        }
    }
}
