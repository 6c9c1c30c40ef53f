//! What the step-level subcommands do; main.rs only dispatches here.

pub mod cluster_agent;
pub mod cluster_ops;
pub mod confirm;
pub mod daemon;
pub mod mycnf;
pub mod pacemaker;
pub mod privileged;
pub mod reference;
pub mod rollback;
pub mod setup;
