//! The cluster daemon of a running pair as operations see it: the command
//! that stops or starts it, its persisted term state, its configuration.
//! Shared by the operations that change roles (rejoin, switchover) and the
//! executor that applies their plans.

use std::path::Path;

use super::pair::Member;
use crate::daemon::config::{ClusterConfig, DEFAULT_PATH};
use crate::daemon::state::{state_path, TermState};
use crate::{Error, Result};

const SYSTEMD_UNIT: &str = "/etc/systemd/system/mysql-ha.service";

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
        vec![super::handoff::INIT_SCRIPT.into(), verb.into()]
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
