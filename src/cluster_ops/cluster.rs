//! Both nodes of a running cluster, seen in the current direction: who is
//! master by the daemons' persisted term state (the highest term wins), each
//! node's GTID positions, and control of the two daemons.

use std::path::Path;

use super::gtid::{parse_list, Positions};
use crate::answers::Answers;
use crate::backup::{self, JournalEntry};
use crate::daemon::config::{ClusterConfig, Role, DEFAULT_PATH};
use crate::daemon::state::{state_path, status_path, DaemonStatus, TermState};
use crate::events::Reporter;
use crate::setup::journals::Journals;
use crate::setup::pair::{Member, Pair};
use crate::setup::plan::Side;
use crate::{Error, Result};

const SYSTEMD_UNIT: &str = "/etc/systemd/system/mysql-ha.service";
const INIT_SCRIPT: &str = crate::setup::handoff::INIT_SCRIPT;

/// The pair with `pair.master` the node that is master now.
pub struct Cluster {
    pub pair: Pair,
    pub master_state: TermState,
    pub slave_state: TermState,
    /// The run lock a changing run (rejoin, switchover) holds on both
    /// nodes from `begin_run` until the cluster value goes.
    pub run_lock: Option<ClusterLock>,
}

/// A run lock that releases itself: when it goes, it reaches the nodes
/// again (ssh as the answers say) and removes its lock files. A run that
/// dies leaves them behind, recognised as stale by the next run.
pub struct ClusterLock {
    lock: Option<crate::run_lock::RunLock>,
    nodes: Vec<crate::answers::NodeAnswers>,
}

impl ClusterLock {
    /// Takes the lock on both nodes of the pair (master first).
    pub fn take(pair: &Pair, run_id: &str, command: &str) -> Result<ClusterLock> {
        let path = std::path::PathBuf::from(crate::run_lock::LOCK_PATH);
        let lock = crate::run_lock::RunLock::acquire(
            &[
                (pair.master.label(), pair.master.access.node(), path.clone()),
                (pair.slave.label(), pair.slave.access.node(), path),
            ],
            crate::run_lock::Owner::this_process(run_id, command),
        )?;
        Ok(ClusterLock {
            lock: Some(lock),
            nodes: vec![pair.master.answers.clone(), pair.slave.answers.clone()],
        })
    }
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        let Some(lock) = self.lock.take() else {
            return;
        };
        let reached: Vec<(String, crate::access::Access)> = self
            .nodes
            .iter()
            .filter_map(|n| {
                crate::access::Access::open(n)
                    .ok()
                    .map(|a| (n.host.clone(), a))
            })
            .collect();
        let nodes: Vec<(&str, &dyn crate::node::Node)> = reached
            .iter()
            .map(|(label, access)| (label.as_str(), access.node()))
            .collect();
        lock.release(&nodes);
    }
}

fn cluster_error(message: String) -> Error {
    Error::Cluster { message }
}

pub fn read_term_state(member: &Member) -> Result<TermState> {
    let path = state_path();
    let bytes = member.access.node().read(&path)?.ok_or_else(|| {
        cluster_error(format!(
            "{}: no {} (no cluster daemon ran there): run `mysql-ha setup` first",
            member.label(),
            path.display()
        ))
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| cluster_error(format!("{}: {}: {e}", member.label(), path.display())))
}

pub fn write_term_state(member: &Member, state: &TermState) -> Result<()> {
    let text = serde_json::to_vec_pretty(state).map_err(|e| Error::Other(e.to_string()))?;
    member
        .access
        .node()
        .write_atomic(&state_path(), &text, 0o644, 0, 0)
}

pub fn daemon_status(member: &Member) -> Option<DaemonStatus> {
    let bytes = member.access.node().read(&status_path()).ok().flatten()?;
    serde_json::from_slice(&bytes).ok()
}

/// The cluster daemon configuration a node runs with.
pub fn daemon_config(member: &Member) -> Result<ClusterConfig> {
    let bytes = member
        .access
        .node()
        .read(Path::new(DEFAULT_PATH))?
        .ok_or_else(|| {
            cluster_error(format!(
                "{}: no {DEFAULT_PATH}: run `mysql-ha setup` first",
                member.label()
            ))
        })?;
    ClusterConfig::parse(&String::from_utf8_lossy(&bytes))
        .map_err(|e| cluster_error(format!("{}: {DEFAULT_PATH}: {e}", member.label())))
}

pub fn positions(member: &mut Member) -> Result<Positions> {
    let mut read = |variable: &str| -> Result<Vec<super::gtid::Gtid>> {
        let text = member
            .sql()
            .scalar(&format!("SELECT @@GLOBAL.{variable}"))?
            .unwrap_or_default();
        parse_list(&text).map_err(|e| cluster_error(format!("{}: {variable}: {e}", member.label())))
    };
    Ok(Positions {
        binlog_pos: read("gtid_binlog_pos")?,
        binlog_state: read("gtid_binlog_state")?,
        slave_pos: read("gtid_slave_pos")?,
    })
}

fn daemon_control(member: &Member, verb: &str) -> Result<()> {
    let node = member.access.node();
    let argv: Vec<&str> = if node.stat(Path::new(SYSTEMD_UNIT))?.is_some() {
        vec!["systemctl", verb, "mysql-ha.service"]
    } else {
        vec![INIT_SCRIPT, verb]
    };
    crate::node::run_service_checked(node, &argv)?;
    Ok(())
}

/// Stops a node's daemon: it keeps the cluster address it holds and takes
/// no action while the operation changes roles under it.
pub fn stop_daemon(member: &Member) -> Result<()> {
    daemon_control(member, "stop")
}

/// Starts it again: it reads the term state written for it.
pub fn start_daemon(member: &Member) -> Result<()> {
    daemon_control(member, "start")
}

/// True when `name` names this member: its address or its host name.
fn names(member: &mut Member, name: &str) -> bool {
    if member.label() == name {
        return true;
    }
    member
        .sql()
        .scalar("SELECT @@hostname")
        .ok()
        .flatten()
        .is_some_and(|h| h == name || h.split('.').next() == Some(name))
}

fn swap_answers(answers: &Answers) -> Answers {
    let mut swapped = answers.clone();
    std::mem::swap(&mut swapped.master, &mut swapped.slave);
    swapped
}

impl Cluster {
    /// Connects both nodes of the answers file and orients the pair by the
    /// daemons' term state.
    pub fn connect(answers: &Answers) -> Result<Cluster> {
        let pair = Pair::connect(answers, None)?;
        let first = read_term_state(&pair.master)?;
        let second = read_term_state(&pair.slave)?;
        let first_leads = match (first.role, second.role) {
            (Role::Master, Role::Master) => first.term >= second.term,
            (Role::Master, _) => true,
            (_, Role::Master) => false,
            _ => {
                return Err(cluster_error(format!(
                    "neither {} ({}) nor {} ({}) is master: nothing to follow",
                    pair.master.label(),
                    first.role.name(),
                    pair.slave.label(),
                    second.role.name()
                )))
            }
        };
        let as_connected = Cluster {
            pair,
            master_state: first,
            slave_state: second,
            run_lock: None,
        };
        Ok(if first_leads {
            as_connected
        } else {
            as_connected.swap()
        })
    }

    /// Which side `name` is; an error when it is neither node.
    pub fn side_of(&mut self, name: &str) -> Result<Side> {
        if names(&mut self.pair.master, name) {
            Ok(Side::Master)
        } else if names(&mut self.pair.slave, name) {
            Ok(Side::Slave)
        } else {
            Err(cluster_error(format!(
                "`{name}` is neither {} nor {} (give an address of the answers file or a host name)",
                self.pair.master.label(),
                self.pair.slave.label()
            )))
        }
    }

    /// The databases the pair replicates: the slave filter of either node,
    /// else the answers' list.
    pub fn databases(&mut self) -> Result<Vec<String>> {
        for member in [&mut self.pair.master, &mut self.pair.slave] {
            let (do_db, wild) = crate::setup::state::filter_lists(member.sql())?;
            let list = crate::mycnf::filters::replicated_databases(&do_db, &wild);
            if !list.is_empty() {
                return Ok(list);
            }
        }
        let list = &self.pair.answers.replication.databases;
        if list.iter().any(|d| d == "*") {
            return Err(cluster_error(
                "no node has a replication filter (replicate-wild-do-table) and replication.databases is [\"*\"]: cannot tell which databases to replicate".into(),
            ));
        }
        Ok(list.clone())
    }

    /// Swaps the roles of the two members (after a switchover).
    pub fn swap(self) -> Cluster {
        let Cluster {
            pair,
            master_state,
            slave_state,
            run_lock,
        } = self;
        let Pair {
            answers,
            mut master,
            mut slave,
            slave2,
            witness,
        } = pair;
        master.side = Side::Slave;
        slave.side = Side::Master;
        Cluster {
            pair: Pair {
                answers: swap_answers(&answers),
                master: slave,
                slave: master,
                slave2,
                witness,
            },
            master_state: slave_state,
            slave_state: master_state,
            run_lock,
        }
    }
}

/// Opens a run on both nodes, says in each journal what it is for, and stops
/// both daemons so neither reacts while the roles change (the slave's comes
/// back when the master's cannot be stopped).
pub fn begin_run(cluster: &mut Cluster, what: &str, reporter: &dyn Reporter) -> Result<Journals> {
    let run_id = backup::new_run_id();
    // One changing run per cluster: taken before the first change.
    let command = what.split_whitespace().next().unwrap_or("run");
    cluster.run_lock = Some(ClusterLock::take(&cluster.pair, &run_id, command)?);
    let mut journals = Journals::create(&cluster.pair, &run_id)?;
    for (member, journal) in [
        (&cluster.pair.master, &mut journals.master),
        (&cluster.pair.slave, &mut journals.slave),
    ] {
        journal.record(
            member.access.node(),
            JournalEntry::Note {
                text: what.to_string(),
            },
        )?;
    }
    super::replica::note(reporter, "stopping both cluster daemons");
    stop_daemon(&cluster.pair.slave)?;
    if let Err(err) = stop_daemon(&cluster.pair.master) {
        let _ = start_daemon(&cluster.pair.slave);
        return Err(err);
    }
    Ok(journals)
}
