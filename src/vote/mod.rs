//! The third vote (docs/daemon.md, "Votes and leases"): who may be master is
//! decided by a majority of three voters, the two nodes' daemons and a
//! witness host, so a node cut off from the others can never keep or take
//! the master role on its own.

pub mod lease;
pub mod server;
pub mod voter;
pub mod wire;
pub mod witness;
