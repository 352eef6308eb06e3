//! Training: the optimiser, seeded parameters, triplet mining and the training loop.
pub mod adam;
pub mod augment;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod console;
pub mod device;
pub mod evaluate;
pub mod events;
pub mod params;
pub mod profile;
pub mod recorder;
pub mod sampler;
pub mod schedule;
pub mod session;
pub mod trainer;
pub mod triplet;
