//! The setup engine: from two plain servers to verified replication.
//! connect -> preflight -> plan -> (review) -> apply -> verify.

pub mod apply;
pub mod build;
pub mod cluster_access;
pub mod pair;
pub mod plan;
pub mod preflight;
pub mod seed;
pub mod state;
pub mod verify;
