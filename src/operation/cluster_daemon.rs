//! The cluster daemon of a running pair as operations see it: the command
//! that stops or starts it, its persisted term state, its configuration.
//! Shared by the operations that change roles (rejoin, switchover) and the
//! executor that applies their plans.

use std::path::Path;
use std::time::{Duration, Instant};

use super::pair::{Member, Pair};
use crate::daemon::config::{ClusterConfig, DEFAULT_PATH};
use crate::daemon::state::{now, state_path, status_path, DaemonStatus, TermState};
use crate::{Error, Result};

const SYSTEMD_UNIT: &str = "/etc/systemd/system/mysql-ha.service";
pub const INIT_SCRIPT: &str = "/etc/init.d/mysql-ha";
/// How long a started pair's daemons get to report healthy.
const HEALTH_WAIT: Duration = Duration::from_secs(90);

/// The command that stops (`verb` = "stop") or starts the node's daemon:
/// its systemd unit when the node has one, else its init script.
pub fn service_argv(member: &Member, verb: &str) -> Result<Vec<String>> {
    let systemd = member
        .access
        .node()
        .stat(Path::new(SYSTEMD_UNIT))?
        .is_some();
    Ok(if systemd {
        vec!["systemctl".into(), verb.into(), "mysql-ha.service".into()]
    } else {
        vec![INIT_SCRIPT.into(), verb.into()]
    })
}

/// Runs a service command of the daemon; an error names it.
pub fn control(member: &Member, argv: &[String]) -> Result<()> {
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    crate::node::run_service_checked(member.access.node(), &refs)?;
    Ok(())
}

/// Stops a node's daemon: it keeps the cluster address it holds and takes
/// no action while an operation changes roles under it.
pub fn stop(member: &Member) -> Result<()> {
    control(member, &service_argv(member, "stop")?)
}

/// Starts it again: it reads the term state written for it.
pub fn start(member: &Member) -> Result<()> {
    control(member, &service_argv(member, "start")?)
}

pub fn write_term_state(member: &Member, state: &TermState) -> Result<()> {
    let text = serde_json::to_vec_pretty(state)
        .map_err(|e| Error::Internal(format!("writing JSON: {e}")))?;
    member
        .access
        .node()
        .write_atomic(&state_path(), &text, 0o644, 0, 0)
}

/// The cluster daemon configuration a node runs with.
pub fn config(member: &Member) -> Result<ClusterConfig> {
    let bytes = member
        .access
        .node()
        .read(Path::new(DEFAULT_PATH))?
        .ok_or_else(|| Error::Cluster {
            message: format!(
                "{}: no {DEFAULT_PATH}: run `mysql-ha setup` first",
                member.label()
            ),
        })?;
    ClusterConfig::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| Error::Cluster {
        message: format!("{}: {DEFAULT_PATH}: {e}", member.label()),
    })
}

/// Waits until both daemons report healthy; returns their one-line states.
pub fn wait_healthy(pair: &Pair) -> Result<Vec<String>> {
    let started = Instant::now();
    loop {
        let statuses: Vec<(String, Option<DaemonStatus>)> = [&pair.master, &pair.slave]
            .iter()
            .map(|m| (m.label().to_string(), daemon_status(m)))
            .collect();
        let healthy = statuses.iter().all(|(_, s)| {
            s.as_ref().is_some_and(|s| {
                s.healthy && s.fresh(now()) && s.updated_at >= started_epoch(started)
            })
        });
        let lines: Vec<String> = statuses
            .iter()
            .map(|(label, s)| match s {
                Some(s) => format!(
                    "{label}: {} (term {}): {}",
                    s.role.name(),
                    s.term,
                    s.message
                ),
                None => format!("{label}: no status yet"),
            })
            .collect();
        if healthy {
            return Ok(lines);
        }
        if started.elapsed() > HEALTH_WAIT {
            return Err(Error::Verify {
                node: "cluster daemons".into(),
                message: format!(
                    "not both healthy after {} s: {}; see /var/log/mysql-ha.log and /var/lib/mysql-ha/cluster/daemon.out on each node",
                    HEALTH_WAIT.as_secs(),
                    lines.join("; ")
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn started_epoch(started: Instant) -> u64 {
    now().saturating_sub(started.elapsed().as_secs() + 1)
}

/// The node's persisted term state; an error when no daemon ran there.
pub fn read_term_state(member: &Member) -> Result<TermState> {
    let path = state_path();
    let bytes = member
        .access
        .node()
        .read(&path)?
        .ok_or_else(|| Error::Cluster {
            message: format!(
                "{}: no {} (no cluster daemon ran there): run `mysql-ha setup` first",
                member.label(),
                path.display()
            ),
        })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Cluster {
        message: format!("{}: {}: {e}", member.label(), path.display()),
    })
}

/// What the node's daemon last published, if anything readable.
pub fn daemon_status(member: &Member) -> Option<DaemonStatus> {
    let bytes = member.access.node().read(&status_path()).ok().flatten()?;
    serde_json::from_slice(&bytes).ok()
}
