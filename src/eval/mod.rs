//! Evaluation of trained embeddings: closed-set identification on a run's test split,
//! verification on LFW's official View 2 pairs or on any folder of identities, and a 2-D PCA
//! of embeddings for figures.
//!
//! Every metric here takes embeddings (or distances) as data; [`protocol`] gets them from a
//! checkpoint's embedding function ([`net`]) and turns them into the metrics the lab records.

pub mod batches;
pub mod checkpoint_choice;
pub mod embeddings;
pub mod folder;
pub mod identification;
pub mod net;
pub mod pairs;
pub mod pca;
pub mod protocol;
pub mod verification;
