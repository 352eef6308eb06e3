//! Evaluation of trained embeddings: closed-set identification on a run's test split,
//! verification on LFW's official View 2 pairs or on any folder of identities, and a 2-D PCA
//! of embeddings for figures.
//!
//! Every metric here takes embeddings (or distances) as data. [`protocol`] reads the images
//! each protocol needs, embeds them with the function it is given (the command builds it from
//! a checkpoint with [`net`]) and turns them into the metrics the lab records.

pub mod batches;
pub mod checkpoint_choice;
pub mod embeddings;
pub mod folder;
pub mod glossary;
pub mod identification;
pub mod net;
pub mod pairs;
pub mod pca;
pub mod protocol;
pub mod verification;
