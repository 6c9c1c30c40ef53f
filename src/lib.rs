//! mysql-ha: the engine. Nothing in this library depends on a terminal;
//! front-ends (src/ui) only gather answers and render engine events.

pub mod access;
pub mod answers;
pub mod backup;
pub mod cli;
pub mod cluster_ops;
pub mod commands;
pub mod daemon;
pub mod ddns;
pub mod error;
pub mod events;
pub mod interrupt;
pub mod metrics;
pub mod mycnf;
pub mod node;
pub mod operation;
pub mod paths;
pub mod privileged;
pub mod profile;
pub mod rollback;
pub mod run_lock;
pub mod sandbox;
pub mod setup;
pub mod sql;
pub mod tls;
pub mod ui;
pub mod vote;

pub use error::{Error, Result};
