//! Evaluation of trained embeddings: closed-set identification on a run's test split,
//! verification on LFW's official View 2 pairs or on any folder of identities, and a 2-D PCA
//! of embeddings for figures.
//!
//! Every metric here takes embeddings (or distances) as data; producing the embeddings from a
//! checkpoint is the command's business (`commands::eval`).

pub mod batches;
pub mod checkpoint_choice;
pub mod embeddings;
pub mod folder;
pub mod identification;
pub mod net;
pub mod pairs;
pub mod pca;
pub mod verification;
