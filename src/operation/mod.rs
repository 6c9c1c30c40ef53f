//! What every operation stands on: the node pair and its members, the plan
//! of typed changes with its one renderer and its one executor, the one
//! journaled way to run a statement and what undoes it, server control,
//! replication primitives (seeding, adding databases, TLS), the cluster
//! daemon of a running pair, Pacemaker's state where it runs the pair, and
//! the checks that prove a result. Features
//! (`setup`, `cluster_ops`) build their plans from these; nothing here
//! imports a feature.

pub mod add_databases;
pub mod apply;
pub mod cluster_daemon;
pub mod cluster_manager;
pub mod crm;
pub mod finding;
pub mod journals;
pub mod pair;
pub mod plan;
pub mod quorum_device;
pub mod replica;
pub mod seed;
pub mod server_state;
pub mod statement;
pub mod tls_step;
pub mod undo;
pub mod undo_effects;
pub mod verify;
