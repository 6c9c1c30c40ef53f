//! What a daemon persists: its term state (who is master, decided by the
//! highest term), its status for `mysql-ha status` and setup's health wait,
//! and the pause flag. Every write is atomic (temp file, fsync, rename).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::config::Role;
use crate::{Error, Result};

pub const STATE_DIR: &str = "/var/lib/mysql-ha/cluster";
pub const LOG_FILE: &str = "/var/log/mysql-ha.log";

pub fn state_path() -> PathBuf {
    Path::new(STATE_DIR).join("state.json")
}
pub fn status_path() -> PathBuf {
    Path::new(STATE_DIR).join("status.json")
}
/// Present: automatic actions are paused (`mysql-ha pause`).
pub fn pause_path() -> PathBuf {
    Path::new(STATE_DIR).join("paused")
}

/// Holds the seconds (since the epoch) until which the daemon leaves a
/// MySQL slave's super_read_only off: add-db and resync lift it to load
/// their copy (read_only stays on). A run that dies leaves a deadline that
/// passes, so the slave is never left without it for good.
pub fn writable_hold_path() -> PathBuf {
    Path::new(STATE_DIR).join("super-read-only-lifted-until")
}

/// Whether a load holds super_read_only off now (see `writable_hold_path`).
pub fn super_read_only_lifted() -> bool {
    std::fs::read_to_string(writable_hold_path())
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .is_some_and(|until| now() < until)
}

/// Holds `UNTIL RUN`: until then (seconds since the epoch) a setup run is
/// restarting or re-keying the servers, and a master that stops answering
/// is that run's doing, not a failure: the daemon neither restarts it
/// remotely nor takes over. A run that dies leaves a deadline that passes.
pub fn run_hold_path() -> PathBuf {
    Path::new(STATE_DIR).join("run-hold")
}

/// The text of a hold for run `run_id` until `until`.
pub fn run_hold_text(until: u64, run_id: &str) -> String {
    format!("{until} {run_id}\n")
}

/// The run that holds the daemon's failure actions now, if any.
pub fn run_hold_at(text: &str, now: u64) -> Option<String> {
    let (until, run) = text.trim().split_once(' ')?;
    let until: u64 = until.parse().ok()?;
    (now < until).then(|| run.trim().to_string())
}

/// The run that holds this node's daemon now (see `run_hold_path`).
pub fn run_hold() -> Option<String> {
    let text = std::fs::read_to_string(run_hold_path()).ok()?;
    run_hold_at(&text, now())
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The term state. A takeover raises the term; the node with the highest
/// term is the master, and a node that sees a higher term on its peer steps
/// down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermState {
    pub term: u64,
    pub role: Role,
    /// When this node last took over (seconds since the epoch).
    #[serde(default)]
    pub last_takeover_at: Option<u64>,
    /// An administrator acknowledged the last takeover (`mysql-ha ack`).
    #[serde(default)]
    pub takeover_acked: bool,
}

impl TermState {
    pub fn initial(role: Role) -> TermState {
        TermState {
            term: 1,
            role,
            last_takeover_at: None,
            takeover_acked: true,
        }
    }

    /// True while an unacknowledged takeover forbids another automatic one.
    pub fn holds_takeovers(&self, now: u64, hold_s: u64) -> bool {
        match self.last_takeover_at {
            Some(at) => !self.takeover_acked && now < at.saturating_add(hold_s),
            None => false,
        }
    }
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Config {
                path: path.to_path_buf(),
                message: format!(
                    "{e}; the daemon writes this file (whole, by rename): look at it and at the disk it is on before changing anything"
                ),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes a file atomically and durably, mode 0644 (no secret in these files).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("/"));
    let text = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Internal(format!("writing JSON: {e}")))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".mysql-ha.")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    temp.write_all(&text)
        .map_err(|e| Error::io(temp.path(), e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| Error::io(temp.path(), e))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
        .map_err(|e| Error::io(temp.path(), e))?;
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    Ok(())
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub at: u64,
    pub node: String,
    pub term: u64,
    pub event: String,
    pub message: String,
}

/// What a daemon says about itself, rewritten after every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub node: String,
    pub pid: u32,
    pub updated_at: u64,
    pub role: Role,
    pub term: u64,
    /// Checks pass and the node does what its role says.
    pub healthy: bool,
    pub holds_resource: bool,
    pub server_answers: bool,
    pub read_only: Option<bool>,
    pub paused: bool,
    pub takeover_held: bool,
    /// One line for people.
    pub message: String,
    pub recent_events: Vec<EventRecord>,
    /// The vote as this daemon sees it (absent in statuses of older daemons).
    #[serde(default)]
    pub vote: Option<VoteStatus>,
    /// Slave: its replication at the last check (absent on a master, and
    /// in statuses of older daemons).
    #[serde(default)]
    pub replication: Option<ReplicationStatus>,
}

/// A slave's replication threads and lag, as its daemon last saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationStatus {
    pub io_running: bool,
    pub sql_running: bool,
    /// Seconds_Behind_Master; None while a thread does not run.
    pub lag_s: Option<u64>,
    /// The server's last I/O or SQL error (empty: none).
    pub last_error: String,
}

/// What a daemon knows of the vote, for `mysql-ha status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteStatus {
    /// The witness's address; empty: no witness (no automatic takeover).
    pub witness: String,
    /// Master: how long its lease still lets it take writes.
    pub lease_remaining_ms: u64,
    /// What each other voter answered last.
    pub voters: Vec<VoterSeen>,
    /// Whom this node's own vote backs, for which term and how long more.
    pub backs: Option<String>,
    pub backs_term: u64,
    pub backs_remaining_ms: u64,
    /// Slave: why the last takeover it wanted did not happen.
    pub refusal: Option<String>,
    /// "async" or "semi-sync", and (master, semi-sync) whether every
    /// acknowledged write is on the slave.
    pub durability: String,
    pub in_sync: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoterSeen {
    pub role: String,
    pub address: String,
    pub answer: String,
    pub granted: bool,
}

impl DaemonStatus {
    /// A status older than this many seconds means the daemon is not running.
    pub const STALE_AFTER_S: u64 = 15;

    pub fn fresh(&self, now: u64) -> bool {
        now.saturating_sub(self.updated_at) <= Self::STALE_AFTER_S
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_run_hold_lasts_until_its_deadline_and_names_the_run() {
        let text = run_hold_text(1000, "20261130-141500-ab12");
        assert_eq!(
            run_hold_at(&text, 999).as_deref(),
            Some("20261130-141500-ab12")
        );
        assert_eq!(run_hold_at(&text, 1000), None);
        assert_eq!(run_hold_at("garbage", 0), None);
        assert_eq!(run_hold_at("", 0), None);
    }

    #[test]
    fn a_takeover_holds_the_next_until_acknowledged_or_expired() {
        let mut state = TermState::initial(Role::Slave);
        assert!(!state.holds_takeovers(1000, 3600));
        state.last_takeover_at = Some(1000);
        state.takeover_acked = false;
        assert!(state.holds_takeovers(1001, 3600));
        assert!(!state.holds_takeovers(4601, 3600));
        state.takeover_acked = true;
        assert!(!state.holds_takeovers(1001, 3600));
    }

    #[test]
    fn json_round_trip_is_atomic_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(read_json::<TermState>(&path).unwrap().is_none());
        let state = TermState::initial(Role::Master);
        write_json(&path, &state).unwrap();
        assert_eq!(read_json::<TermState>(&path).unwrap(), Some(state));
    }
}
