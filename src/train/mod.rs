//! Training: the optimiser, seeded parameters, triplet mining and the training loop.
pub mod adam;
pub mod params;
pub mod triplet;
