//! `mysql-ha rejoin NODE`: the node that lost the master role (taken over
//! from, read-only, waiting) becomes the slave of the current master. Its
//! history is checked first: transactions the master never received are
//! shown and never dropped silently (saved, then the replicated databases
//! are copied again), and a history the master cannot continue is re-seeded.

use std::time::{Duration, Instant};

use super::binlog::{self, Listing};
use super::cluster::{self, Cluster};
use super::gtid::{self, render_list, Positions, Unsent};
use super::replica::{self, note, Source};
use crate::answers::SeedMethod;
use crate::daemon::config::Role;
use crate::daemon::state::TermState;
use crate::events::Reporter;
use crate::setup::apply::Journals;
use crate::setup::plan::Side;
use crate::sql::flavor::quote_string;
use crate::{Error, Result};

const REPLICATION_WAIT: Duration = Duration::from_secs(30);
/// MariaDB: the master's binary log lacks what the slave asks for.
const ER_MASTER_FATAL_ERROR_READING_BINLOG: &str = "1236";

pub struct RejoinPlan {
    /// The node that rejoins, and the master it will follow.
    pub node: String,
    pub master: String,
    pub master_term: u64,
    pub node_role: Role,
    pub node_positions: Positions,
    pub master_positions: Positions,
    /// MySQL: the node's and the master's `gtid_executed` (MariaDB's lists
    /// above stay empty).
    pub gtid_sets: Option<(String, String)>,
    /// MySQL: the node's transactions the master lacks (errant GTIDs),
    /// kept when rejoining with --save-and-reseed; empty otherwise.
    pub errant: String,
    pub databases: Vec<String>,
    pub unsent: Vec<Unsent>,
    pub listing: Listing,
    /// Save the unsent transactions and copy the databases again.
    pub reseed: bool,
    /// Already a running slave of the master: nothing to do.
    pub nothing_to_do: bool,
}

impl RejoinPlan {
    pub fn has_unsent(&self) -> bool {
        !self.unsent.is_empty() || !self.errant.is_empty()
    }

    fn unsent_count(&self) -> usize {
        self.listing
            .transactions
            .len()
            .max(self.unsent.len())
            .max(gtid_set_size(&self.errant))
    }

    /// The error that stops a rejoin which would lose transactions.
    pub fn refusal(&self) -> Error {
        Error::UnsentTransactions {
            node: self.node.clone(),
            master: self.master.clone(),
            count: self.unsent_count(),
            listing: self.render_unsent(),
        }
    }

    pub fn render_unsent(&self) -> String {
        let mut out = String::new();
        for range in &self.unsent {
            out.push_str(&format!(
                "  domain {}: after {} up to {}\n",
                range.last.domain,
                range
                    .after
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "its beginning".into()),
                range.last
            ));
        }
        if !self.errant.is_empty() {
            out.push_str(&format!("  errant GTIDs: {}\n", self.errant));
            let lines = super::binlog::readable_lines(&self.listing.decoded);
            for line in lines.iter().take(40) {
                out.push_str(&format!("    {line}\n"));
            }
            if lines.len() > 40 {
                out.push_str(&format!("    ... {} more lines\n", lines.len() - 40));
            }
        }
        out.push_str(&self.listing.render());
        out
    }

    /// Where the node starts from without a copy: its MariaDB GTID list, or
    /// its MySQL GTID set (auto-positioning sends what it lacks).
    fn own_position(&self) -> String {
        match &self.gtid_sets {
            Some((node_set, _)) => format!("{} (auto-position)", node_set.replace('\n', "")),
            None => render_list(&self.node_positions.binlog_pos),
        }
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "Rejoin {} ({}) as the slave of {} (master of term {})\n",
            self.node,
            self.node_role.name(),
            self.master,
            self.master_term
        );
        match &self.gtid_sets {
            Some((node_set, master_set)) => out.push_str(&format!(
                "  GTID sets: {} executed {}; {} executed {}\n",
                self.node,
                or_none(node_set),
                self.master,
                or_none(master_set),
            )),
            None => out.push_str(&format!(
                "  GTID positions: {} logged {}; {} logged {}, applied as slave {}\n",
                self.node,
                or_none(&render_list(&self.node_positions.binlog_pos)),
                self.master,
                or_none(&render_list(&self.master_positions.binlog_pos)),
                or_none(&render_list(&self.master_positions.slave_pos)),
            )),
        }
        out.push_str(&format!(
            "  replicated databases: {}\n",
            self.databases.join(", ")
        ));
        if self.nothing_to_do {
            out.push_str("  already a running slave of the master: nothing to do\n");
            return out;
        }
        if self.has_unsent() {
            out.push_str(&format!(
                "  {} holds {} transaction(s) that {} never received:\n{}",
                self.node,
                self.unsent_count(),
                self.master,
                self.render_unsent()
            ));
        } else {
            out.push_str(&format!(
                "  history: everything {} logged reached {}\n",
                self.node, self.master
            ));
        }
        out.push_str("Steps:\n");
        let mut steps =
            vec!["stop both cluster daemons (the address stays where it is)".to_string()];
        if self.reseed {
            steps.push(format!(
                "save those transactions on {} (lost-transactions.sql, replayable, and .txt, readable) in the run's backup folder",
                self.node
            ));
        }
        steps.push(format!(
            "option files of {}: read-only, relay log, one replicate-wild-do-table = DB.% per database (older replicate-do-db lines commented out) (backed up; restart when changed)",
            self.node
        ));
        steps.push(format!(
            "replication account for {} on {} (kept out of the binary log)",
            self.node, self.master
        ));
        if self.reseed {
            steps.push(format!(
                "copy {} from {} to {} again",
                self.databases.join(", "),
                self.master,
                self.node
            ));
        }
        steps.push(format!(
            "point {} at {} from {} and start replication (re-seed when the master cannot continue that history)",
            self.node,
            self.master,
            if self.reseed {
                "the copy's position".to_string()
            } else {
                format!("its own position {}", or_none(&self.own_position()))
            }
        ));
        steps.push(format!(
            "term state: {} slave of term {}, the takeover acknowledged; start both daemons",
            self.node, self.master_term
        ));
        steps.push("prove replication with a row; wait until both daemons are healthy".into());
        for (i, step) in steps.iter().enumerate() {
            out.push_str(&format!("  {}. {step}\n", i + 1));
        }
        out
    }
}

/// How many transactions a MySQL GTID set names ("uuid:1-3:7,uuid2:5" is 5).
fn gtid_set_size(set: &str) -> usize {
    set.split(',')
        .flat_map(|member| member.trim().split(':').skip(1))
        .map(|interval| match interval.split_once('-') {
            Some((a, b)) => match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 1,
            },
            None => 1,
        })
        .sum()
}

fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "(none)"
    } else {
        text
    }
}

/// MySQL: a node whose GTID set holds transactions the master's lacks
/// (errant transactions: written on it after the master changed) cannot
/// follow the master without losing them; auto-positioning would even ask
/// the master for them. Refused, naming the set, before any change.
/// Returns both sets (node's, master's).
fn errant_mysql_transactions(
    cluster: &mut Cluster,
    master_host: &str,
    save_and_reseed: bool,
) -> Result<(String, String, String)> {
    let node = cluster.pair.slave.label().to_string();
    let executed = cluster.pair.slave.sql().flavor().executed_gtids_query();
    let node_set = cluster
        .pair
        .slave
        .sql()
        .scalar(executed)?
        .unwrap_or_default();
    let master_set = cluster
        .pair
        .master
        .sql()
        .scalar(executed)?
        .unwrap_or_default();
    let errant = cluster
        .pair
        .master
        .sql()
        .scalar(&format!(
            "SELECT GTID_SUBTRACT({}, {})",
            quote_string(&node_set),
            quote_string(&master_set)
        ))?
        .unwrap_or_default();
    let errant = errant.replace('\n', "");
    if errant.trim().is_empty() || save_and_reseed {
        return Ok((node_set, master_set, errant.trim().to_string()));
    }
    Err(Error::Cluster {
        message: format!(
            "{node} logged transactions {master_host} never received (errant GTIDs {}): rejoining it as slave would lose them. \
             Look at them with `mysqlbinlog --include-gtids='{}'` on {node}'s binary logs, apply what must be kept on {master_host}, \
             then rejoin with --save-and-reseed (they are saved on {node}, the databases copied again) — nothing was changed",
            errant.replace('\n', ""),
            errant.replace('\n', "")
        ),
    })
}

/// Looks at both nodes and computes what rejoining `node` takes.
pub fn plan(cluster: &mut Cluster, node: &str, save_and_reseed: bool) -> Result<RejoinPlan> {
    if cluster.side_of(node)? == Side::Master {
        return Err(Error::Cluster {
            message: format!(
                "{node} is the master (term {}): rejoin the other node, or use `mysql-ha switchover`",
                cluster.master_state.term
            ),
        });
    }
    let master_host = cluster.pair.master.label().to_string();
    let mysql = cluster.pair.slave.sql().flavor().family == crate::sql::Family::MySql;
    let (node_positions, master_positions, gtid_sets, errant) = if mysql {
        let (node_set, master_set, errant) =
            errant_mysql_transactions(cluster, &master_host, save_and_reseed)?;
        (
            Positions::default(),
            Positions::default(),
            Some((node_set, master_set)),
            errant,
        )
    } else {
        (
            cluster::positions(&mut cluster.pair.slave)?,
            cluster::positions(&mut cluster.pair.master)?,
            None,
            String::new(),
        )
    };
    let databases = cluster.databases()?;
    let unsent = gtid::unsent(&node_positions, &master_positions);
    let listing = if errant.is_empty() {
        binlog::read_unsent(&mut cluster.pair.slave, &unsent)?
    } else {
        binlog::read_errant(&mut cluster.pair.slave, &errant)?
    };
    let replica = crate::setup::state::replica_state(cluster.pair.slave.sql())?;
    let nothing_to_do = cluster.slave_state.role == Role::Slave
        && unsent.is_empty()
        && errant.is_empty()
        && replica
            .as_ref()
            .is_some_and(|r| r.running() && r.master_host == master_host);
    Ok(RejoinPlan {
        node: cluster.pair.slave.label().to_string(),
        master: master_host,
        master_term: cluster.master_state.term,
        node_role: cluster.slave_state.role,
        node_positions,
        master_positions,
        gtid_sets,
        databases,
        reseed: save_and_reseed && (!unsent.is_empty() || !errant.is_empty()),
        errant,
        unsent,
        listing,
        nothing_to_do,
    })
}

pub struct RejoinOutcome {
    pub run_id: String,
    pub reseeded: bool,
    pub saved: Vec<String>,
    pub position: String,
    pub seconds: f64,
    pub daemons: Vec<String>,
}

/// Does it. Refuses a plan that would drop transactions.
pub fn apply(
    cluster: &mut Cluster,
    plan: &RejoinPlan,
    reporter: &dyn Reporter,
) -> Result<RejoinOutcome> {
    if plan.has_unsent() && !plan.reseed {
        return Err(plan.refusal());
    }
    let started = Instant::now();
    let mut journals = cluster::begin_run(
        cluster,
        &format!("rejoin {} as slave of {}", plan.node, plan.master),
        reporter,
    )?;
    let run_id = journals.master.run_id.clone();
    let mut states_written = false;
    let result = steps(cluster, plan, &mut journals, reporter, &mut states_written);
    if result.is_err() && !states_written {
        // Unchanged roles: both daemons carry on as before.
        let _ = cluster::start_daemon(&cluster.pair.master);
        let _ = cluster::start_daemon(&cluster.pair.slave);
    }
    let (reseeded, saved, position) = result?;
    let daemons = crate::setup::handoff::wait_healthy(&cluster.pair)?;
    Ok(RejoinOutcome {
        run_id,
        reseeded,
        saved,
        position,
        seconds: started.elapsed().as_secs_f64(),
        daemons,
    })
}

fn save_unsent(cluster: &Cluster, journals: &Journals, listing: &Listing) -> Result<Vec<String>> {
    let node = cluster.pair.slave.access.node();
    let mut saved = Vec::new();
    for (name, text) in [
        ("lost-transactions.sql", &listing.replayable),
        ("lost-transactions.txt", &listing.decoded),
    ] {
        let path = journals.slave.dir.join(name);
        node.write_atomic(&path, text.as_bytes(), 0o600, 0, 0)?;
        saved.push(path.to_string_lossy().into_owned());
    }
    Ok(saved)
}

/// Copies the replicated databases from the master; returns the copy's position.
fn reseed(
    cluster: &mut Cluster,
    plan: &RejoinPlan,
    journals: &mut Journals,
    reporter: &dyn Reporter,
) -> Result<String> {
    note(
        reporter,
        format!(
            "copying {} from {} to {}",
            plan.databases.join(", "),
            plan.master,
            plan.node
        ),
    );
    let pair = &mut cluster.pair;
    // The node keeps its own server and accounts, so a physical copy of the
    // whole datadir never applies; and a rejoin that needs a copy cannot skip it.
    if matches!(
        pair.answers.replication.seed,
        SeedMethod::Backup | SeedMethod::Clone | SeedMethod::None
    ) {
        pair.answers.replication.seed = SeedMethod::Auto;
    }
    let flavor = pair.slave.sql().flavor();
    if flavor.family == crate::sql::Family::MySql {
        // Nothing may apply into the tables being copied; the daemons are
        // stopped, so the node's super_read_only can go for the load
        // (read_only stays on; its daemon sets it again).
        if crate::setup::state::replica_state(pair.slave.sql())?.is_some() {
            replica::exec_plain(&mut pair.slave, &mut journals.slave, flavor.stop_replica())?;
        }
        replica::exec_plain(
            &mut pair.slave,
            &mut journals.slave,
            "SET GLOBAL super_read_only = OFF",
        )?;
    }
    let copy = crate::setup::build::copy_plan(pair, &plan.databases, true)?;
    let copied = crate::setup::seed::run(
        &mut pair.master,
        &mut pair.slave,
        &mut journals.slave,
        &copy,
        reporter,
    )?;
    match copied.position {
        crate::sql::Position::MariaDbGtid(gtid) => Ok(gtid),
        // The node forgets its own history (saved before: the errant
        // transactions) and takes the copy's as its own.
        crate::sql::Position::MySqlGtidSet(gtids) => {
            for statement in flavor.adopt_snapshot_gtids(&gtids) {
                replica::exec_plain(&mut pair.slave, &mut journals.slave, &statement)?;
            }
            Ok(gtids.replace('\n', ""))
        }
        other => Err(Error::Other(format!(
            "the copy from {} carries no GTID position ({other:?}): rejoin needs MariaDB GTIDs",
            plan.master
        ))),
    }
}

fn start_replication(
    cluster: &mut Cluster,
    journals: &mut Journals,
    password: &str,
    position: &str,
) -> Result<std::result::Result<(), Option<crate::setup::state::ReplicaState>>> {
    let master_host = cluster.pair.master.label().to_string();
    let port = cluster.pair.answers.master.mysql_port;
    let user = cluster.pair.answers.replication.user.clone();
    let tls_ca =
        crate::tls::TlsFiles::from_answers(&cluster.pair.answers.replication).map(|f| f.ca_text());
    let tls = replica::offers_tls(&mut cluster.pair.master)?;
    replica::point_and_start(
        &mut cluster.pair.slave,
        &mut journals.slave,
        &Source {
            host: &master_host,
            port,
            user: &user,
            password,
            tls_ca: tls_ca.as_deref(),
            tls,
        },
        position,
    )?;
    Ok(replica::wait_running(&mut cluster.pair.slave, REPLICATION_WAIT)?.map(|_| ()))
}

fn steps(
    cluster: &mut Cluster,
    plan: &RejoinPlan,
    journals: &mut Journals,
    reporter: &dyn Reporter,
    states_written: &mut bool,
) -> Result<(bool, Vec<String>, String)> {
    let mut saved = Vec::new();
    if plan.reseed {
        saved = save_unsent(cluster, journals, &plan.listing)?;
        note(
            reporter,
            format!("saved on {}: {}", plan.node, saved.join(", ")),
        );
    }
    replica::configure_slave(
        &mut cluster.pair.slave,
        &mut journals.slave,
        &plan.databases,
        reporter,
    )?;
    replica::exec_plain(
        &mut cluster.pair.slave,
        &mut journals.slave,
        "SET GLOBAL read_only = ON",
    )?;
    let user = cluster.pair.answers.replication.user.clone();
    let node_host = cluster.pair.slave.label().to_string();
    let password = replica::replication_account(
        &mut cluster.pair.master,
        &mut journals.master,
        &user,
        &node_host,
        crate::tls::TlsFiles::from_answers(&cluster.pair.answers.replication).is_some(),
    )?;
    let mut reseeded = plan.reseed;
    let mut position = if plan.reseed {
        reseed(cluster, plan, journals, reporter)?
    } else {
        plan.own_position()
    };
    note(
        reporter,
        format!(
            "pointing {} at {} from {}",
            plan.node,
            plan.master,
            or_none(&position)
        ),
    );
    if let Err(stopped) = start_replication(cluster, journals, &password, &position)? {
        let cannot_continue = stopped.as_ref().is_some_and(|r| {
            r.last_io_errno.as_deref() == Some(ER_MASTER_FATAL_ERROR_READING_BINLOG)
        });
        if reseeded || !cannot_continue {
            return Err(Error::Verify {
                node: plan.node.clone(),
                message: format!(
                    "replication from {} did not start: {}",
                    plan.master,
                    replica::describe_replica(&stopped)
                ),
            });
        }
        note(
            reporter,
            format!(
                "{} cannot continue the history of {} ({}): nothing is unsent, so the databases are copied again",
                plan.master,
                plan.node,
                replica::describe_replica(&stopped)
            ),
        );
        position = reseed(cluster, plan, journals, reporter)?;
        reseeded = true;
        if let Err(stopped) = start_replication(cluster, journals, &password, &position)? {
            return Err(Error::Verify {
                node: plan.node.clone(),
                message: format!(
                    "replication from {} did not start after the copy: {}",
                    plan.master,
                    replica::describe_replica(&stopped)
                ),
            });
        }
    }
    note(
        reporter,
        format!("{} replicates from {}", plan.node, plan.master),
    );

    let mut master_state = cluster.master_state.clone();
    master_state.takeover_acked = true;
    let node_state = TermState {
        term: master_state.term,
        role: Role::Slave,
        last_takeover_at: None,
        takeover_acked: true,
    };
    cluster::write_term_state(&cluster.pair.slave, &node_state)?;
    cluster::write_term_state(&cluster.pair.master, &master_state)?;
    *states_written = true;
    cluster.master_state = master_state;
    cluster.slave_state = node_state;
    note(
        reporter,
        "term state written; starting both cluster daemons",
    );
    cluster::start_daemon(&cluster.pair.master)?;
    cluster::start_daemon(&cluster.pair.slave)?;
    let verified = crate::setup::verify::run(&mut cluster.pair, &plan.databases)?;
    for (db, seconds) in &verified.canary_seconds {
        note(
            reporter,
            format!(
                "a row written in {db} on {} reached {} in {seconds:.2} s",
                plan.master, plan.node
            ),
        );
    }
    Ok((reseeded, saved, position))
}

#[cfg(test)]
mod tests {
    use super::gtid_set_size;

    #[test]
    fn counts_the_transactions_of_a_gtid_set() {
        assert_eq!(gtid_set_size(""), 0);
        assert_eq!(gtid_set_size("3e11fa47-71ca-11e1-9e33-c80aa9429562:7"), 1);
        assert_eq!(gtid_set_size("a:1-3:7,\nb:5"), 5);
    }
}
