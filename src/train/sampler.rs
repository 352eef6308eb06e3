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
