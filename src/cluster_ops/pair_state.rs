//! Whether the pair is whole, runs on one leg, or needs attention, from what
//! the two daemons last said about themselves.

use serde::Serialize;

use crate::daemon::config::Role;
use crate::daemon::state::DaemonStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PairState {
    /// A healthy master and a healthy slave replicating from it.
    Whole,
    /// A healthy master alone: the other node is down, stale or needs rejoining.
    Degraded,
    /// No healthy master, two masters, or a paused daemon.
    NeedsAttention,
}

impl PairState {
    pub fn name(self) -> &'static str {
        match self {
            PairState::Whole => "whole",
            PairState::Degraded => "degraded (one leg)",
            PairState::NeedsAttention => "needs attention",
        }
    }
}

/// The pair's state and why, from both daemon statuses (None: not read).
pub fn assess(
    one: Option<&DaemonStatus>,
    other: Option<&DaemonStatus>,
    now: u64,
) -> (PairState, String) {
    let live: Vec<&DaemonStatus> = [one, other]
        .into_iter()
        .flatten()
        .filter(|s| s.fresh(now))
        .collect();
    let masters: Vec<&&DaemonStatus> = live.iter().filter(|s| s.role == Role::Master).collect();
    if masters.len() > 1 {
        return (
            PairState::NeedsAttention,
            "both nodes say they are master".into(),
        );
    }
    if let Some(paused) = live.iter().find(|s| s.paused) {
        return (
            PairState::NeedsAttention,
            format!(
                "the daemon on {} is paused (`mysql-ha resume`)",
                paused.node
            ),
        );
    }
    let Some(master) = masters.first() else {
        return (
            PairState::NeedsAttention,
            "no running daemon is master".into(),
        );
    };
    if !master.healthy {
        return (
            PairState::NeedsAttention,
            format!("master {} is not healthy: {}", master.node, master.message),
        );
    }
    let slave = live.iter().find(|s| s.node != master.node);
    match slave {
        Some(s) if s.role == Role::Slave && s.healthy => (
            PairState::Whole,
            format!("{} replicates from {}", s.node, master.node),
        ),
        Some(s) if s.role == Role::NeedsRejoin => (
            PairState::Degraded,
            format!("{} needs rejoining (`mysql-ha rejoin {}`)", s.node, s.node),
        ),
        Some(s) => (
            PairState::Degraded,
            format!("slave {} is not healthy: {}", s.node, s.message),
        ),
        None => (
            PairState::Degraded,
            "the other node's daemon does not answer".into(),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn status(node: &str, role: Role, healthy: bool) -> DaemonStatus {
        DaemonStatus {
            node: node.into(),
            pid: 1,
            updated_at: 1000,
            role,
            term: 2,
            healthy,
            holds_resource: role == Role::Master,
            server_answers: true,
            read_only: Some(role != Role::Master),
            paused: false,
            takeover_held: false,
            message: "m".into(),
            recent_events: vec![],
            vote: None,
            replication: None,
        }
    }

    #[test]
    fn tells_whole_degraded_and_attention_apart() {
        let master = status("a", Role::Master, true);
        let slave = status("b", Role::Slave, true);
        assert_eq!(
            assess(Some(&master), Some(&slave), 1001).0,
            PairState::Whole
        );
        let waiting = status("b", Role::NeedsRejoin, false);
        let (state, why) = assess(Some(&master), Some(&waiting), 1001);
        assert_eq!(state, PairState::Degraded);
        assert!(why.contains("rejoin b"));
        assert_eq!(assess(Some(&master), None, 1001).0, PairState::Degraded);
        // A stale slave status counts as no daemon.
        assert_eq!(
            assess(Some(&master), Some(&slave), 1000 + 60).0,
            PairState::NeedsAttention
        );
        let second_master = status("b", Role::Master, true);
        assert_eq!(
            assess(Some(&master), Some(&second_master), 1001).0,
            PairState::NeedsAttention
        );
        let sick = status("a", Role::Master, false);
        assert_eq!(
            assess(Some(&sick), Some(&slave), 1001).0,
            PairState::NeedsAttention
        );
        let mut paused = slave.clone();
        paused.paused = true;
        assert_eq!(
            assess(Some(&master), Some(&paused), 1001).0,
            PairState::NeedsAttention
        );
    }
}
