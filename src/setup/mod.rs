//! The setup engine: from two plain servers to verified replication.
//! connect -> preflight -> plan -> (review) -> apply -> verify.

pub mod add_databases;
pub mod apply;
pub mod build;
pub mod cluster_access;
pub mod cluster_daemon;
pub mod ddns_check;
pub mod finding;
pub mod handoff;
pub mod journals;
pub mod pacemaker;
pub mod pair;
pub mod plan;
pub mod preflight;
pub mod resync;
pub mod seed;
pub mod server_state;
pub mod service_install;
pub mod session;
pub mod statement;
pub mod tls_step;
pub mod undo;
pub mod verify;
pub mod witness;
