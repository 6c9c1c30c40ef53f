//! The setup engine: from two plain servers to verified replication.
//! connect -> preflight -> plan -> (review) -> apply -> verify.

pub mod build;
pub mod cluster_access;
pub mod ddns_check;
pub mod handoff;
pub mod managers;
pub mod pacemaker;
pub mod preflight;
pub mod resync;
pub mod service_install;
pub mod session;
pub mod witness;
