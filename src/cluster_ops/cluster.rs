//! Both nodes of a running cluster, seen in the current direction: who is
//! master by the daemons' persisted term state (the highest term wins), each
//! node's GTID positions, and control of the two daemons.

use crate::answers::Answers;
use crate::backup::JournalEntry;
use crate::daemon::config::Role;
use crate::daemon::state::TermState;
use crate::operation::journals::Journals;
use crate::operation::pair::{Member, Pair};
use crate::operation::plan::Side;
use crate::sql::gtid::{parse_list, Positions};
use crate::{Error, Result};

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

use crate::operation::cluster_daemon::read_term_state;

pub fn positions(member: &mut Member) -> Result<Positions> {
    let mut read = |variable: &str| -> Result<Vec<crate::sql::gtid::Gtid>> {
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
            let (do_db, wild) = crate::operation::server_state::filter_lists(member.sql())?;
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

/// Opens run `run_id` (the plan's) on both nodes, after taking the
/// cluster's run lock, and says in each journal what it is for. The plan's
/// first steps stop both daemons.
pub fn begin_run(cluster: &mut Cluster, what: &str, run_id: &str) -> Result<Journals> {
    // One changing run per cluster: taken before the first change.
    let command = what.split_whitespace().next().unwrap_or("run");
    cluster.run_lock = Some(ClusterLock::take(&cluster.pair, run_id, command)?);
    let mut journals = Journals::create(&cluster.pair, run_id)?;
    for (member, side) in [
        (&cluster.pair.master, Side::Master),
        (&cluster.pair.slave, Side::Slave),
    ] {
        journals.of(side)?.record(
            member.access.node(),
            JournalEntry::Note {
                text: what.to_string(),
            },
        )?;
    }
    Ok(journals)
}
