//! `mysql-ha daemon`, `pause`, `resume`, `ack`, and the daemon part of
//! `status`: both daemons, who holds the resource, the term, the last events.

use std::path::Path;

use crate::daemon::config::{ClusterConfig, Role, DEFAULT_PATH};
use crate::daemon::peer::Peer;
use crate::daemon::state::{
    now, pause_path, read_json, state_path, status_path, write_json, DaemonStatus, EventRecord,
    TermState,
};
use crate::{Error, Result};

pub fn daemon(config: &Path) -> Result<()> {
    crate::daemon::run(config)
}

fn state_dir_ready() -> Result<()> {
    if Path::new(crate::daemon::state::STATE_DIR).is_dir() {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{} does not exist: this node runs no cluster daemon (run `mysql-ha setup` first)",
            crate::daemon::state::STATE_DIR
        )))
    }
}

pub fn pause() -> Result<()> {
    if super::pacemaker::managed().is_some() {
        return super::pacemaker::pause();
    }
    println!("{}", pause_node()?);
    Ok(())
}

pub fn resume() -> Result<()> {
    if super::pacemaker::managed().is_some() {
        return super::pacemaker::resume();
    }
    println!("{}", resume_node()?);
    Ok(())
}

pub fn ack() -> Result<()> {
    println!("{}", acknowledge_takeover()?);
    Ok(())
}

/// Pauses this node's daemon; says what that means.
pub fn pause_node() -> Result<String> {
    state_dir_ready()?;
    let path = pause_path();
    std::fs::write(&path, format!("paused at {}\n", now())).map_err(|e| Error::io(&path, e))?;
    Ok("paused: the daemon on this node keeps checking but takes no automatic action until `mysql-ha resume`".into())
}

pub fn resume_node() -> Result<String> {
    state_dir_ready()?;
    let path = pause_path();
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path, e)),
    }
    Ok("resumed: automatic actions are on again".into())
}

/// Acknowledges this node's last takeover, when there is one to acknowledge.
pub fn acknowledge_takeover() -> Result<String> {
    state_dir_ready()?;
    let path = state_path();
    let mut state = read_json::<TermState>(&path)?.ok_or_else(|| Error::Config {
        path: path.clone(),
        message: "no term state yet; the daemon writes it at start".into(),
    })?;
    if state.last_takeover_at.is_none() || state.takeover_acked {
        return Ok(format!(
            "nothing to acknowledge: no unacknowledged takeover on this node (term {})",
            state.term
        ));
    }
    state.takeover_acked = true;
    write_json(&path, &state)?;
    Ok(format!(
        "takeover of term {} acknowledged: automatic takeovers are allowed again",
        state.term
    ))
}

fn ago(at: u64) -> String {
    format!("{} s ago", now().saturating_sub(at))
}

fn describe(status: &DaemonStatus, label: &str) -> String {
    describe_at(status, label, now())
}

/// A status whose daemon stopped writing it says what was true when it was
/// last written, never what is true now: its flags are marked so, and it
/// cannot claim the cluster resource (which "resource held by" counts from
/// fresh statuses only).
fn describe_at(status: &DaemonStatus, label: &str, now: u64) -> String {
    let fresh = status.fresh(now);
    let ago = |at: u64| format!("{} s ago", now.saturating_sub(at));
    let running = if fresh {
        format!(
            "daemon pid {} (updated {})",
            status.pid,
            ago(status.updated_at)
        )
    } else {
        format!(
            "daemon NOT RUNNING (last status {})",
            ago(status.updated_at)
        )
    };
    let mut flags = Vec::new();
    if status.healthy {
        flags.push("healthy".to_string());
    } else {
        flags.push("NOT healthy".to_string());
    }
    if status.holds_resource {
        flags.push(if fresh {
            "holds the cluster resource".to_string()
        } else {
            "held the cluster resource".to_string()
        });
    }
    match status.read_only {
        Some(true) => flags.push("read-only".into()),
        Some(false) => flags.push("writable".into()),
        None => flags.push("server down".into()),
    }
    if status.paused {
        flags.push("PAUSED".into());
    }
    if status.takeover_held {
        flags.push("takeovers held until `mysql-ha ack`".into());
    }
    let flags = if fresh {
        flags.join(", ")
    } else {
        format!("when last seen: {}", flags.join(", "))
    };
    let mut text = format!(
        "{label:<22} {:<12} term {:<3} {}\n{:<22} {running}\n{:<22} {}\n",
        status.role.name(),
        status.term,
        flags,
        "",
        "",
        status.message
    );
    if status.role == Role::NeedsRejoin {
        text.push_str(&format!(
            "{:<22} needs rejoining as a slave: `mysql-ha rejoin {}`\n",
            "", status.node
        ));
    }
    if let Some(vote) = &status.vote {
        for line in vote_lines(status.role, vote) {
            text.push_str(&format!("{:<22} {line}\n", ""));
        }
    }
    text
}

/// The vote as one daemon sees it: its lease or whom its vote backs, what
/// the other voters said, and why a takeover did not happen.
fn vote_lines(role: Role, vote: &crate::daemon::state::VoteStatus) -> Vec<String> {
    let mut lines = Vec::new();
    if vote.witness.is_empty() {
        lines.push(
            "vote: no witness configured: no automatic takeover (set cluster.witness)".into(),
        );
    }
    match role {
        Role::Master => lines.push(format!(
            "vote: lease valid for {} ms more; durability {}{}",
            vote.lease_remaining_ms,
            vote.durability,
            match vote.in_sync {
                Some(true) => ", the slave has every acknowledged write",
                Some(false) =>
                    ", the slave does NOT have every acknowledged write (no takeover to it)",
                None => "",
            }
        )),
        _ => lines.push(format!(
            "vote: backs {} (term {}) for {} ms more; durability {}",
            vote.backs.as_deref().unwrap_or("nobody"),
            vote.backs_term,
            vote.backs_remaining_ms,
            vote.durability
        )),
    }
    for voter in &vote.voters {
        lines.push(format!(
            "vote: {} {}: {}",
            voter.role, voter.address, voter.answer
        ));
    }
    if let Some(refusal) = &vote.refusal {
        lines.push(format!("vote: takeover refused: {refusal}"));
    }
    lines
}

/// Who holds the cluster resource: daemons that say so now, and those that
/// said so before they stopped (their node may still carry it).
fn holders_line(holders: &[&str], silent: &[&str]) -> String {
    let mut line = format!(
        "resource held by: {}",
        if holders.is_empty() {
            "no running daemon".to_string()
        } else {
            holders.join(", ")
        }
    );
    if !silent.is_empty() {
        line.push_str(&format!(
            " ({} held it when its daemon was last seen; that daemon is not running: start it with `/etc/init.d/mysql-ha start` or `systemctl start mysql-ha` on that node)",
            silent.join(", ")
        ));
    }
    line
}

/// The cluster resource in words.
pub fn resource_text(config: &ClusterConfig) -> String {
    match config.cluster.resource {
        crate::answers::Resource::Vip => format!(
            "address {} on {}",
            config.cluster.vip, config.cluster.device
        ),
        crate::answers::Resource::Ddns => format!(
            "dynamic DNS name {} (zone {} on {})",
            config.cluster.ddns.name, config.cluster.ddns.zone, config.cluster.ddns.server
        ),
        crate::answers::Resource::None => "none".into(),
    }
}

/// The peer's daemon status, read over ssh; None when unreachable or absent.
pub fn peer_status(peer: &Peer) -> Option<DaemonStatus> {
    peer.read_file(&status_path().to_string_lossy())
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

pub fn status(json: bool) -> Result<()> {
    let config = ClusterConfig::load(Path::new(DEFAULT_PATH))?;
    if config.cluster.manager == crate::answers::Manager::Pacemaker {
        return super::pacemaker::status(&config, json);
    }
    let local = read_json::<DaemonStatus>(&status_path())?;
    let peer = Peer::new(&config);
    let remote = peer_status(&peer);
    let (pair_state, why) =
        crate::cluster_ops::pair_state::assess(local.as_ref(), remote.as_ref(), now());
    let gtids = [
        (config.node.address.clone(), local_gtids(&config)),
        (config.node.peer.clone(), peer_gtids(&config)),
    ];
    if json {
        let gtid_json: Vec<serde_json::Value> = gtids
            .iter()
            .map(|(node, g)| serde_json::json!({ "node": node, "gtid": g }))
            .collect();
        let value = serde_json::json!({
            "this_node": local,
            "peer": remote,
            "peer_reachable": peer.reachable(),
            "pair": { "state": pair_state, "why": why, "direction": direction(local.as_ref(), remote.as_ref()) },
            "gtid_positions": gtid_json,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value)
                .map_err(|e| Error::Internal(format!("writing JSON: {e}")))?
        );
        return Ok(());
    }
    let resource = resource_text(&config);
    println!("pair: {} ({why})", pair_state.name());
    match direction(local.as_ref(), remote.as_ref()) {
        Some(text) => println!("replication: {text}"),
        None => println!("replication: no direction (no master and slave pair)"),
    }
    for (node, g) in &gtids {
        match g {
            Some(g) => println!(
                "gtid {node:<16} logged {}  applied as slave {}",
                or_none(&g.binlog_pos),
                or_none(&g.slave_pos)
            ),
            None => println!("gtid {node:<16} (server does not answer)"),
        }
    }
    println!("cluster resource: {resource}");
    let mut events: Vec<EventRecord> = Vec::new();
    match &local {
        Some(s) => {
            print!(
                "{}",
                describe(s, &format!("{} (this node)", config.node.address))
            );
            events.extend(s.recent_events.iter().cloned());
        }
        None => println!("{:<22} no daemon status yet", config.node.address),
    }
    match &remote {
        Some(s) => {
            print!("{}", describe(s, &config.node.peer));
            events.extend(s.recent_events.iter().cloned());
        }
        None => println!("{:<22} unreachable or no daemon status", config.node.peer),
    }
    let holders: Vec<&str> = [&local, &remote]
        .iter()
        .filter_map(|s| s.as_ref())
        .filter(|s| s.holds_resource && s.fresh(now()))
        .map(|s| s.node.as_str())
        .collect();
    let silent: Vec<&str> = [&local, &remote]
        .iter()
        .filter_map(|s| s.as_ref())
        .filter(|s| s.holds_resource && !s.fresh(now()))
        .map(|s| s.node.as_str())
        .collect();
    println!("{}", holders_line(&holders, &silent));
    events.sort_by_key(|e| e.at);
    println!("last events:");
    for event in events.iter().rev().take(12).rev() {
        println!(
            "  {:>8} {:<14} term {:<3} {:<20} {}",
            ago(event.at),
            event.node,
            event.term,
            event.event,
            event.message
        );
    }
    Ok(())
}

fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "(none)"
    } else {
        text
    }
}

/// "MASTER -> SLAVE" from the daemons' roles (a node waiting to rejoin is shown apart).
fn direction(local: Option<&DaemonStatus>, remote: Option<&DaemonStatus>) -> Option<String> {
    let all: Vec<&DaemonStatus> = [local, remote].into_iter().flatten().collect();
    let master = all.iter().find(|s| s.role == Role::Master)?;
    let other = all.iter().find(|s| s.node != master.node);
    Some(match other {
        Some(s) if s.role == Role::Slave => {
            format!("{} (master) -> {} (slave)", master.node, s.node)
        }
        Some(s) => format!(
            "{} (master), {} does not replicate ({})",
            master.node,
            s.node,
            s.role.name()
        ),
        None => format!("{} (master), no slave status", master.node),
    })
}

/// GTID positions of a server, as its variables say.
#[derive(Debug, Clone, serde::Serialize)]
struct Gtids {
    binlog_pos: String,
    slave_pos: String,
}

fn gtids_of(db: &mut crate::sql::SqlConn) -> Option<Gtids> {
    let flavor = db.flavor();
    // MySQL has one GTID set for what was logged and applied alike.
    let applied = match flavor.family {
        crate::sql::Family::MariaDb => "SELECT @@GLOBAL.gtid_slave_pos",
        crate::sql::Family::MySql => flavor.executed_gtids_query(),
    };
    Some(Gtids {
        binlog_pos: db
            .scalar(flavor.executed_gtids_query())
            .ok()?
            .unwrap_or_default(),
        slave_pos: db.scalar(applied).ok()?.unwrap_or_default(),
    })
}

fn local_gtids(config: &ClusterConfig) -> Option<Gtids> {
    let profile = config.profile().ok()?;
    let mut db = crate::daemon::db::local(config, &profile.paths.socket).ok()?;
    gtids_of(&mut db)
}

/// The peer's server, over TCP with the monitor account (allowed from here).
fn peer_gtids(config: &ClusterConfig) -> Option<Gtids> {
    let mut db = crate::daemon::db::tcp(config, &config.node.peer).ok()?;
    gtids_of(&mut db)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn status(updated_at: u64) -> DaemonStatus {
        DaemonStatus {
            node: "192.0.2.11".into(),
            pid: 42,
            updated_at,
            role: Role::Master,
            term: 1,
            healthy: true,
            holds_resource: true,
            server_answers: true,
            read_only: Some(false),
            paused: false,
            takeover_held: false,
            message: "master, serving".into(),
            recent_events: Vec::new(),
            vote: None,
            replication: None,
        }
    }

    #[test]
    fn a_dead_daemon_never_claims_the_resource_now() {
        let now = 10_000;
        let dead = describe_at(&status(now - 600), "192.0.2.11", now);
        assert!(dead.contains("NOT RUNNING"), "{dead}");
        assert!(!dead.contains("holds the cluster resource"), "{dead}");
        assert!(
            dead.contains("when last seen: ") && dead.contains("held the cluster resource"),
            "{dead}"
        );
        let alive = describe_at(&status(now - 1), "192.0.2.11", now);
        assert!(alive.contains("holds the cluster resource"), "{alive}");
        let line = holders_line(&[], &["192.0.2.11"]);
        assert!(!line.contains("nobody"), "{line}");
        assert!(line.contains("192.0.2.11 held it"), "{line}");
        assert_eq!(
            holders_line(&["192.0.2.12"], &[]),
            "resource held by: 192.0.2.12"
        );
    }
}
