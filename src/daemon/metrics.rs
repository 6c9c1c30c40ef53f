//! What the daemon tells Prometheus (`GET /metrics`, see docs/metrics.md):
//! the page is rebuilt after every check from the same facts as the status
//! file, plus counters since the daemon started and the free space of the
//! server's data and binary-log directories.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::config::Role;
use super::db::ReplicaProgress;
use super::state::DaemonStatus;
use crate::metrics::{disk, Exposition, Kind};
use crate::sql::SqlConn;

/// Counted since the daemon started (Prometheus copes with a reset).
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// This node became master of a new term by a takeover.
    pub takeovers: u64,
    /// Remote restarts of the master's server tried (a soft failure).
    pub soft_restarts: u64,
}

/// The server's directories whose free space is exposed, read once from
/// the server (`@@datadir`, `@@log_bin_basename`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerDirs {
    pub datadir: PathBuf,
    /// None: binary logging is off.
    pub binlog_dir: Option<PathBuf>,
}

impl ServerDirs {
    pub fn read(db: &mut SqlConn) -> Option<ServerDirs> {
        let datadir = db.scalar("SELECT @@GLOBAL.datadir").ok()??;
        // Absent with binary logging off (NULL) or on a server without the variable.
        let basename = db.scalar("SELECT @@GLOBAL.log_bin_basename").ok().flatten();
        Some(ServerDirs {
            datadir: PathBuf::from(datadir),
            binlog_dir: basename
                .map(PathBuf::from)
                .and_then(|p| p.parent().map(PathBuf::from)),
        })
    }
}

/// Everything the page shows beyond the status file.
pub struct Facts<'a> {
    pub status: &'a DaemonStatus,
    pub peer: &'a str,
    pub durability: &'a str,
    pub peer_reachable: Option<bool>,
    /// Slave: its replica status at the last check (None: it replicates
    /// from nobody); not a slave or its server silent: not shown.
    pub replica: Option<Option<&'a ReplicaProgress>>,
    pub counters: &'a Counters,
    pub events: &'a BTreeMap<String, u64>,
    pub dirs: Option<&'a ServerDirs>,
    /// With votes on: whether this master is standing aside.
    pub standing_aside: Option<bool>,
    pub witness_reachable: Option<bool>,
    /// The time of the check, seconds since the epoch.
    pub checked_at: f64,
}

const ROLES: [Role; 3] = [Role::Master, Role::Slave, Role::NeedsRejoin];

pub fn render(facts: &Facts) -> String {
    let status = facts.status;
    let mut page = Exposition::new();
    page.family(
        "mysql_ha_info",
        Kind::Gauge,
        "Always 1: this node, its peer, the tool's version and the durability.",
    )
    .sample(
        &[
            ("node", &status.node),
            ("peer", facts.peer),
            ("version", env!("CARGO_PKG_VERSION")),
            ("durability", facts.durability),
        ],
        1.0,
    );
    let mut roles = page.family(
        "mysql_ha_role",
        Kind::Gauge,
        "1 for the role this node has now (master, slave, needs-rejoin), 0 for the others.",
    );
    for role in ROLES {
        roles.flag(&[("role", role.name())], status.role == role);
    }
    page.family(
        "mysql_ha_term",
        Kind::Gauge,
        "The term this node knows; a takeover raises it.",
    )
    .value(status.term as f64);
    page.family(
        "mysql_ha_healthy",
        Kind::Gauge,
        "1 when the last check passed and the node does what its role says.",
    )
    .flag(&[], status.healthy);
    page.family(
        "mysql_ha_resource_held",
        Kind::Gauge,
        "1 when this node holds the cluster resource (address or DNS name).",
    )
    .flag(&[], status.holds_resource);
    page.family(
        "mysql_ha_server_up",
        Kind::Gauge,
        "1 when this node's own database server answered the last check.",
    )
    .flag(&[], status.server_answers);
    if let Some(read_only) = status.read_only {
        page.family(
            "mysql_ha_read_only",
            Kind::Gauge,
            "The local server's read_only (absent while it does not answer).",
        )
        .flag(&[], read_only);
    }
    if let Some(reachable) = facts.peer_reachable {
        page.family(
            "mysql_ha_peer_reachable",
            Kind::Gauge,
            "1 when the peer node answered on some path at its last check.",
        )
        .flag(&[], reachable);
    }
    page.family(
        "mysql_ha_paused",
        Kind::Gauge,
        "1 while automatic actions are paused (mysql-ha pause).",
    )
    .flag(&[], status.paused);
    page.family(
        "mysql_ha_takeover_unacknowledged",
        Kind::Gauge,
        "1 after a takeover nobody acknowledged yet (mysql-ha ack): the pair is degraded and no other automatic takeover happens.",
    )
    .flag(&[], status.takeover_held);
    if let Some(replica) = facts.replica {
        replication(&mut page, replica);
    }
    page.family(
        "mysql_ha_takeovers_total",
        Kind::Counter,
        "Takeovers this daemon made (this node became master of a new term) since it started.",
    )
    .value(facts.counters.takeovers as f64);
    page.family(
        "mysql_ha_soft_restarts_total",
        Kind::Counter,
        "Remote restarts of the master's sick server this daemon tried since it started.",
    )
    .value(facts.counters.soft_restarts as f64);
    let mut events = page.family(
        "mysql_ha_events_total",
        Kind::Counter,
        "Events this daemon logged since it started, by event name (see docs/daemon.md).",
    );
    for (event, count) in facts.events {
        events.sample(&[("event", event)], *count as f64);
    }
    page.family(
        "mysql_ha_last_check_timestamp_seconds",
        Kind::Gauge,
        "When the daemon finished its last check (seconds since the epoch).",
    )
    .value(facts.checked_at);
    if let Some(dirs) = facts.dirs {
        filesystems(&mut page, dirs);
    }
    vote(&mut page, facts);
    page.into_text()
}

fn replication(page: &mut Exposition, replica: Option<&ReplicaProgress>) {
    let mut running = page.family(
        "mysql_ha_replication_running",
        Kind::Gauge,
        "Slave: 1 when the replication thread runs (io: receiving, sql: applying).",
    );
    running.flag(
        &[("thread", "io")],
        replica.is_some_and(|r| r.io_running == "Yes"),
    );
    running.flag(
        &[("thread", "sql")],
        replica.is_some_and(|r| r.sql_running == "Yes"),
    );
    let Some(replica) = replica else {
        return;
    };
    let mut errors = page.family(
        "mysql_ha_replication_last_error_number",
        Kind::Gauge,
        "Slave: the server's last error number of the thread (Last_IO_Errno, Last_SQL_Errno; 0: none).",
    );
    errors.sample(&[("thread", "io")], f64::from(replica.io_errno));
    errors.sample(&[("thread", "sql")], f64::from(replica.sql_errno));
    if let Some(lag) = replica.seconds_behind {
        page.family(
            "mysql_ha_replication_lag_seconds",
            Kind::Gauge,
            "Slave: Seconds_Behind_Master (absent while a thread does not run).",
        )
        .value(lag as f64);
    }
}

fn filesystems(page: &mut Exposition, dirs: &ServerDirs) {
    let mut found = Vec::new();
    if let Some(space) = disk::space(&dirs.datadir) {
        found.push(("datadir", dirs.datadir.display().to_string(), space));
    }
    if let Some(binlog) = &dirs.binlog_dir {
        if let Some(space) = disk::space(binlog) {
            found.push(("binlog", binlog.display().to_string(), space));
        }
    }
    if found.is_empty() {
        return;
    }
    let mut free = page.family(
        "mysql_ha_filesystem_avail_bytes",
        Kind::Gauge,
        "Bytes available to unprivileged users on the filesystem of the server's data or binary-log directory.",
    );
    for (dir, path, space) in &found {
        free.sample(&[("dir", dir), ("path", path)], space.available as f64);
    }
    let mut size = page.family(
        "mysql_ha_filesystem_size_bytes",
        Kind::Gauge,
        "Size in bytes of the filesystem of the server's data or binary-log directory.",
    );
    for (dir, path, space) in &found {
        size.sample(&[("dir", dir), ("path", path)], space.size as f64);
    }
}

fn vote(page: &mut Exposition, facts: &Facts) {
    let vote = facts.status.vote.as_ref();
    page.family(
        "mysql_ha_vote_enabled",
        Kind::Gauge,
        "1 when the daemon runs the vote with a witness (automatic takeovers need it).",
    )
    .flag(&[], vote.is_some());
    let Some(vote) = vote else {
        return;
    };
    if let Some(reachable) = facts.witness_reachable {
        page.family(
            "mysql_ha_witness_reachable",
            Kind::Gauge,
            "1 when the witness answered the last question asked of it.",
        )
        .flag(&[], reachable);
    }
    if !vote.voters.is_empty() {
        let mut granted = page.family(
            "mysql_ha_voter_granted",
            Kind::Gauge,
            "1 when that voter (peer, witness) backed this node at its last answer.",
        );
        for voter in &vote.voters {
            granted.flag(&[("voter", &voter.role)], voter.granted);
        }
    }
    if facts.status.role == Role::Master {
        page.family(
            "mysql_ha_lease_remaining_seconds",
            Kind::Gauge,
            "Master: how long the voters' grants still let it take writes.",
        )
        .value(vote.lease_remaining_ms as f64 / 1000.0);
    }
    if let Some(aside) = facts.standing_aside {
        page.family(
            "mysql_ha_standing_aside",
            Kind::Gauge,
            "Master: 1 while it lost its majority and takes no writes.",
        )
        .flag(&[], aside);
    }
    page.family(
        "mysql_ha_vote_backed_term",
        Kind::Gauge,
        "The term this node's own vote backs now (0: nobody).",
    )
    .value(if vote.backs.is_some() {
        vote.backs_term as f64
    } else {
        0.0
    });
    if let Some(in_sync) = vote.in_sync {
        page.family(
            "mysql_ha_semi_sync_in_sync",
            Kind::Gauge,
            "Master with semi-sync durability: 1 when every acknowledged write is on the slave.",
        )
        .flag(&[], in_sync);
    }
}
