//! Operations on a running cluster that change who is master: rejoining a
//! node that was taken over from, and a planned switchover (by our daemon's
//! pair, or asked of Pacemaker where it runs the cluster). Each computes a
//! plan from the nodes' state (rendered by the front-end, applied only when
//! confirmed), changes option files through the backed-up editor under a
//! run journal, and coordinates with both daemons through their persisted
//! term state.

pub mod binlog;
pub mod cluster;
pub mod consistency;
pub mod pacemaker_switchover;
pub mod pair_state;
pub mod rejoin;
pub mod replica;
pub mod switchover;
