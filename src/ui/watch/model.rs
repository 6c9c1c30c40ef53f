//! The watch screen's state: the last look at the pair, the lag history,
//! and what the keys ask for. No terminal here: tests drive it directly.

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::cluster_ops::pair_state::{self, PairState};
use crate::daemon::config::Role;
use crate::daemon::state::{DaemonStatus, EventRecord};

/// Lag samples kept: one per look (about a second), ten minutes.
pub const LAG_SAMPLES: usize = 600;

/// One look at the pair: this node's status and its peer's.
#[derive(Debug, Clone)]
pub struct PairView {
    /// Seconds since the epoch, when it was read.
    pub at: u64,
    pub this_node: String,
    pub peer_node: String,
    /// The cluster resource in words ("address 192.0.2.10/24 on eth0").
    pub resource: String,
    pub local: Option<DaemonStatus>,
    pub remote: Option<DaemonStatus>,
}

impl PairView {
    pub fn assess(&self) -> (PairState, String) {
        pair_state::assess(self.local.as_ref(), self.remote.as_ref(), self.at)
    }

    /// Both nodes' recent events, oldest first, without repeats.
    pub fn events(&self) -> Vec<EventRecord> {
        let mut events: Vec<EventRecord> = [&self.local, &self.remote]
            .into_iter()
            .flatten()
            .flat_map(|s| s.recent_events.iter().cloned())
            .collect();
        events.sort_by(|a, b| (a.at, &a.node).cmp(&(b.at, &b.node)));
        events.dedup();
        events
    }

    /// The fresh slave's replication lag: (node, seconds or None while a
    /// thread is stopped); None when no fresh slave reports replication.
    pub fn slave_lag(&self) -> Option<(String, Option<u64>)> {
        [&self.local, &self.remote]
            .into_iter()
            .flatten()
            .filter(|s| s.fresh(self.at) && s.role == Role::Slave)
            .find_map(|s| s.replication.as_ref().map(|r| (s.node.clone(), r.lag_s)))
    }

    /// Who holds the cluster resource now, by the fresh statuses.
    pub fn holder(&self) -> Option<&str> {
        [&self.local, &self.remote]
            .into_iter()
            .flatten()
            .find(|s| s.holds_resource && s.fresh(self.at))
            .map(|s| s.node.as_str())
    }
}

/// What a key asks the watch loop to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Pause,
    Resume,
    Ack,
    /// Confirmed on screen: run the switchover.
    Switchover,
    Quit,
}

#[derive(Debug)]
pub struct Watch {
    pub view: Option<PairView>,
    /// (when, lag) per look; None: no lag known then (a thread stopped, or
    /// no slave answering).
    pub lag: VecDeque<(u64, Option<u64>)>,
    /// The switchover confirmation is on screen.
    pub confirming: bool,
    /// The answers file the switchover needs; None: the key says so.
    pub answers: Option<String>,
    /// The outcome of the last key, for the footer.
    pub note: String,
}

impl Watch {
    pub fn new(answers: Option<String>) -> Watch {
        Watch {
            view: None,
            lag: VecDeque::new(),
            confirming: false,
            answers,
            note: String::new(),
        }
    }

    pub fn update(&mut self, view: PairView) {
        let lag = view.slave_lag().and_then(|(_, lag)| lag);
        self.lag.push_back((view.at, lag));
        while self.lag.len() > LAG_SAMPLES {
            self.lag.pop_front();
        }
        self.view = Some(view);
    }

    pub fn key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        if self.confirming {
            self.confirming = false;
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::Switchover),
                _ => {
                    self.note = "switchover cancelled".into();
                    None
                }
            };
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => Some(Action::Quit),
            KeyCode::Char('p') => Some(Action::Pause),
            KeyCode::Char('r') => Some(Action::Resume),
            KeyCode::Char('a') => Some(Action::Ack),
            KeyCode::Char('s') => {
                if self.answers.is_some() {
                    self.confirming = true;
                } else {
                    self.note = "switchover needs the answers file: start the watch with `mysql-ha status --watch --answers FILE`".into();
                }
                None
            }
            _ => None,
        }
    }

    /// The switchover's target: the node that is slave now.
    pub fn switchover_target(&self) -> Option<String> {
        let view = self.view.as_ref()?;
        [&view.local, &view.remote]
            .into_iter()
            .flatten()
            .find(|s| s.role == Role::Slave)
            .map(|s| s.node.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::daemon::state::ReplicationStatus;

    fn status(node: &str, role: Role, at: u64, lag: Option<u64>) -> DaemonStatus {
        DaemonStatus {
            node: node.into(),
            pid: 1,
            updated_at: at,
            role,
            term: 1,
            healthy: true,
            holds_resource: role == Role::Master,
            server_answers: true,
            read_only: Some(role != Role::Master),
            paused: false,
            takeover_held: false,
            message: String::new(),
            recent_events: vec![],
            vote: None,
            replication: (role == Role::Slave).then(|| ReplicationStatus {
                io_running: true,
                sql_running: true,
                lag_s: lag,
                last_error: String::new(),
            }),
        }
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn lag_history_follows_the_fresh_slave_and_is_bounded() {
        let mut watch = Watch::new(None);
        for at in 0..(LAG_SAMPLES as u64 + 5) {
            watch.update(PairView {
                at: 1000 + at,
                this_node: "a".into(),
                peer_node: "b".into(),
                resource: String::new(),
                local: Some(status("a", Role::Master, 1000 + at, None)),
                remote: Some(status("b", Role::Slave, 1000 + at, Some(at % 7))),
            });
        }
        assert_eq!(watch.lag.len(), LAG_SAMPLES);
        let last = LAG_SAMPLES as u64 + 4;
        assert_eq!(watch.lag.back(), Some(&(1000 + last, Some(last % 7))));
        assert_eq!(watch.lag.front(), Some(&(1005, Some(5))));
        assert_eq!(watch.view.as_ref().unwrap().holder(), Some("a"));
        // A slave whose status went stale gives no lag.
        watch.update(PairView {
            at: 5000,
            this_node: "a".into(),
            peer_node: "b".into(),
            resource: String::new(),
            local: Some(status("a", Role::Master, 5000, None)),
            remote: Some(status("b", Role::Slave, 100, Some(1))),
        });
        assert_eq!(watch.lag.back(), Some(&(5000, None)));
    }

    #[test]
    fn switchover_needs_the_answers_and_a_yes() {
        let mut watch = Watch::new(None);
        assert_eq!(watch.key(key('s')), None);
        assert!(!watch.confirming);
        assert!(watch.note.contains("--answers"));
        let mut watch = Watch::new(Some("/root/answers.toml".into()));
        assert_eq!(watch.key(key('s')), None);
        assert!(watch.confirming);
        assert_eq!(watch.key(key('n')), None);
        assert_eq!(watch.note, "switchover cancelled");
        watch.key(key('s'));
        assert_eq!(watch.key(key('y')), Some(Action::Switchover));
        assert_eq!(watch.key(key('p')), Some(Action::Pause));
        assert_eq!(watch.key(key('r')), Some(Action::Resume));
        assert_eq!(watch.key(key('a')), Some(Action::Ack));
        assert_eq!(watch.key(key('q')), Some(Action::Quit));
    }
}
