//! `mysql-ha rejoin NODE`: the node that lost the master role (taken over
//! from, read-only, waiting) becomes the slave of the current master. Its
//! history is checked first: transactions the master never received are
//! shown and never dropped silently (saved, then the replicated databases
//! are copied again), and a history the master cannot continue is re-seeded.

//!
//! `survey` reads both nodes; `build` turns what it found into a plan of
//! typed changes (a pure function, unit-tested); `apply` runs that plan
//! through the one executor of `operation::apply`.

use std::time::{Duration, Instant};

use super::binlog::{self, Listing};
use super::cluster::{self, Cluster};
use super::replica::{self, Source};
use crate::answers::SeedMethod;
use crate::daemon::config::Role;
use crate::daemon::state::TermState;
use crate::events::Reporter;
use crate::operation::cluster_daemon;
use crate::operation::plan::{
    Change, Check, Plan, Rescue, RescueChange, Side, StepPlan, SNAPSHOT_PLACEHOLDER,
};
use crate::operation::seed::CopyPlan;
use crate::operation::statement::Statement;
use crate::sql::flavor::quote_string;
use crate::sql::gtid::{self, render_list, Positions, Unsent};
use crate::sql::Flavor;
use crate::{Error, Result};

const REPLICATION_WAIT: Duration = Duration::from_secs(30);

// The steps, by name (the rescue refers to them).
const STOP_NODE_DAEMON: &str = "stop the cluster daemon of the rejoining node";
const STOP_MASTER_DAEMON: &str = "stop the cluster daemon of the master";
const SAVE: &str = "save the transactions the master never received";
const SLAVE_FILES: &str = "option files of a slave";
const ACCOUNT: &str = "replication account";
const COPY_AGAIN: &str = "copy the replicated databases again";
const REPLICATE: &str = "replicate from the master";
const NODE_TERM: &str = "term state of the rejoining node";
const MASTER_TERM: &str = "term state of the master";
const START_MASTER_DAEMON: &str = "start the cluster daemon of the master";
const START_NODE_DAEMON: &str = "start the cluster daemon of the rejoining node";
const PROVE: &str = "prove replication";

/// What `survey` found on both nodes: everything `build` needs.
pub struct RejoinSurvey {
    pub run_id: String,
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
    pub node_flavor: Flavor,
    /// The daemons' service commands: (stop, start) of each node.
    pub master_daemon: (Vec<String>, Vec<String>),
    pub node_daemon: (Vec<String>, Vec<String>),
    /// The node's option files as a slave's, and what changes.
    pub node_files: (Vec<Change>, Vec<String>),
    /// The node has a replication source configured now.
    pub node_replica_configured: bool,
    /// How the node logs in to the master (a new password).
    pub login: Source,
    pub require_tls: bool,
    /// How the databases are copied again, when they must be.
    pub copy: CopyPlan,
    /// The master's term state now.
    pub master_state: TermState,
}

impl RejoinSurvey {
    /// Nothing to plan: already a slave of the master, or transactions
    /// the master never received that this rejoin may not drop (refused
    /// unless they are saved and the databases copied again).
    pub fn no_steps(&self) -> bool {
        self.nothing_to_do || (self.has_unsent() && !self.reseed)
    }

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
    pub fn own_position(&self) -> String {
        match &self.gtid_sets {
            Some((node_set, _)) => format!("{} (auto-position)", node_set.replace('\n', "")),
            None => render_list(&self.node_positions.binlog_pos),
        }
    }

    /// What the plan was computed from: positions, databases, history.
    fn preamble(&self) -> Vec<String> {
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
        } else if self.has_unsent() {
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
        out.lines().map(str::to_string).collect()
    }
}

/// The plan, and what it was computed from.
pub struct RejoinPlan {
    pub survey: RejoinSurvey,
    pub plan: Plan,
}

impl RejoinPlan {
    pub fn render(&self) -> String {
        if self.survey.no_steps() {
            let mut out = self.plan.preamble.join("\n");
            out.push('\n');
            return out;
        }
        self.plan.render()
    }
}

fn step(name: &'static str, side: Side, changes: Vec<Change>) -> StepPlan {
    StepPlan {
        name,
        side,
        changes,
        summary: Vec::new(),
    }
}

/// Copies the replicated databases from the master again; the copy's
/// position is the node's new history.
fn copy_again(survey: &RejoinSurvey, replica_configured: bool) -> Vec<Change> {
    let flavor = &survey.node_flavor;
    let mut changes = Vec::new();
    if flavor.family == crate::sql::Family::MySql {
        // Nothing may apply into the tables being copied; the daemons are
        // stopped, so the node's super_read_only can go for the load
        // (read_only stays on; its daemon sets it again).
        if replica_configured {
            changes.push(Change::Sql(Statement::plain(flavor.stop_replica())));
        }
        changes.push(Change::Sql(Statement::plain(
            "SET GLOBAL super_read_only = OFF",
        )));
    }
    changes.push(Change::Seed {
        copy: survey.copy.clone(),
    });
    if flavor.family == crate::sql::Family::MySql {
        // The node forgets its own history (saved before: the errant
        // transactions) and takes the copy's as its own.
        changes.push(Change::AdoptSnapshot { flavor: *flavor });
    }
    changes
}

/// The rejoin's plan from what `survey` found.
pub fn build(survey: RejoinSurvey) -> RejoinPlan {
    let plan = plan_of(&survey);
    RejoinPlan { survey, plan }
}

/// The steps: the master is `Side::Master`, the rejoining node
/// `Side::Slave`.
fn plan_of(survey: &RejoinSurvey) -> Plan {
    let (m, n) = (Side::Master, Side::Slave);
    let daemon = |argv: &Vec<String>, start: bool| Change::ClusterDaemon {
        argv: argv.clone(),
        start,
    };
    let mut steps = Vec::new();
    if !survey.no_steps() {
        steps.push(step(
            STOP_NODE_DAEMON,
            n,
            vec![daemon(&survey.node_daemon.0, false)],
        ));
        steps.push(step(
            STOP_MASTER_DAEMON,
            m,
            vec![daemon(&survey.master_daemon.0, false)],
        ));
        if survey.reseed {
            steps.push(step(
                SAVE,
                n,
                vec![
                    Change::KeepAside {
                        name: "lost-transactions.sql".into(),
                        text: survey.listing.replayable.clone(),
                        what: "the transactions, replayable".into(),
                    },
                    Change::KeepAside {
                        name: "lost-transactions.txt".into(),
                        text: survey.listing.decoded.clone(),
                        what: "the transactions, readable".into(),
                    },
                ],
            ));
        }
        let mut files = survey.node_files.0.clone();
        files.push(Change::Sql(Statement::plain("SET GLOBAL read_only = ON")));
        let mut slave_files = step(SLAVE_FILES, n, files);
        slave_files.summary = survey.node_files.1.clone();
        steps.push(slave_files);
        steps.push(step(
            ACCOUNT,
            m,
            replica::account_changes(
                &survey.login.user,
                &survey.node,
                &survey.login.password,
                survey.require_tls,
            ),
        ));
        let position = if survey.reseed {
            steps.push(step(
                COPY_AGAIN,
                n,
                copy_again(survey, survey.node_replica_configured),
            ));
            SNAPSHOT_PLACEHOLDER.to_string()
        } else {
            survey.own_position()
        };
        let mut replicate = replica::point_changes(
            &survey.node_flavor,
            survey.node_replica_configured,
            &survey.login,
            &position,
        );
        // A history the master cannot continue, with nothing unsent: the
        // databases are copied again, and it starts from the copy.
        let otherwise = if survey.reseed {
            Vec::new()
        } else {
            let mut again = copy_again(survey, true);
            again.extend(replica::point_changes(
                &survey.node_flavor,
                true,
                &survey.login,
                SNAPSHOT_PLACEHOLDER,
            ));
            again
        };
        replicate.push(Change::WaitReplicating {
            source: survey.master.clone(),
            limit: REPLICATION_WAIT,
            otherwise,
        });
        steps.push(step(REPLICATE, n, replicate));
        steps.push(step(
            NODE_TERM,
            n,
            vec![Change::TermState(TermState {
                term: survey.master_state.term,
                role: Role::Slave,
                last_takeover_at: None,
                takeover_acked: true,
            })],
        ));
        let mut master_state = survey.master_state.clone();
        master_state.takeover_acked = true;
        steps.push(step(MASTER_TERM, m, vec![Change::TermState(master_state)]));
        steps.push(step(
            START_MASTER_DAEMON,
            m,
            vec![daemon(&survey.master_daemon.1, true)],
        ));
        steps.push(step(
            START_NODE_DAEMON,
            n,
            vec![daemon(&survey.node_daemon.1, true)],
        ));
        steps.push(step(
            PROVE,
            n,
            vec![
                Change::Check(Check::RowsArrive {
                    databases: survey.databases.clone(),
                }),
                Change::Check(Check::DaemonsHealthy),
            ],
        ));
    }
    let mut preamble = survey.preamble();
    if !survey.no_steps() {
        preamble.push(
            "Values marked <...> are known only at run time; the log shows them.".to_string(),
        );
    }
    Plan {
        // Our daemon's operation: the executor holds the daemons itself.
        hold: None,
            run_id: survey.run_id.clone(),
            master_label: survey.master.clone(),
            slave_label: survey.node.clone(),
            slave2_label: String::new(),
            witness_label: String::new(),
            preamble,
            steps,
            // Unchanged roles: both daemons carry on as before.
            rescues: vec![Rescue {
                first: STOP_NODE_DAEMON,
                last: REPLICATE,
                why: format!(
                    "the roles did not change, both daemons carry on as before (`mysql-ha rollback {}` puts the option files back):",
                    survey.run_id
                ),
                changes: vec![
                    RescueChange {
                        side: m,
                        change: daemon(&survey.master_daemon.1, true),
                        once: Some(STOP_MASTER_DAEMON),
                    },
                    RescueChange {
                        side: n,
                        change: daemon(&survey.node_daemon.1, true),
                        once: Some(STOP_NODE_DAEMON),
                    },
                ],
            }],
            side_names: Some(["master", "rejoining"]),
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

/// Reads both nodes: positions, unsent transactions, and everything the
/// plan needs. Changes nothing; refuses (MySQL) errant transactions
/// without --save-and-reseed.
pub fn survey(
    cluster: &mut Cluster,
    node: &str,
    save_and_reseed: bool,
    run_id: &str,
) -> Result<RejoinSurvey> {
    if cluster.side_of(node)? == Side::Master {
        return Err(Error::Cluster {
            message: format!(
                "{node} is the master (term {}): rejoin the other node, or use `mysql-ha switchover`",
                cluster.master_state.term
            ),
        });
    }
    let master_host = cluster.pair.master.label().to_string();
    let node_flavor = cluster.pair.slave.sql().flavor();
    let mysql = node_flavor.family == crate::sql::Family::MySql;
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
    let replica = crate::operation::server_state::replica_state(cluster.pair.slave.sql())?;
    let nothing_to_do = cluster.slave_state.role == Role::Slave
        && unsent.is_empty()
        && errant.is_empty()
        && replica
            .as_ref()
            .is_some_and(|r| r.running() && r.master_host == master_host);
    let daemon = |member: &crate::operation::pair::Member| -> Result<(Vec<String>, Vec<String>)> {
        Ok((
            cluster_daemon::service_argv(member, "stop")?,
            cluster_daemon::service_argv(member, "start")?,
        ))
    };
    let master_daemon = daemon(&cluster.pair.master)?;
    let node_daemon = daemon(&cluster.pair.slave)?;
    let node_files = replica::slave_files(&mut cluster.pair.slave, &databases, run_id)?;
    // The node keeps its own server and accounts, so a physical copy of the
    // whole datadir never applies; and a rejoin that needs a copy cannot skip it.
    let pair = &mut cluster.pair;
    if matches!(
        pair.answers.replication.seed,
        SeedMethod::Backup | SeedMethod::Clone | SeedMethod::None
    ) {
        pair.answers.replication.seed = SeedMethod::Auto;
    }
    let copy = crate::operation::seed::copy_plan(pair, &databases, true)?;
    let tls = crate::tls::TlsFiles::from_answers(&pair.answers.replication);
    let login = Source {
        host: master_host.clone(),
        port: pair.answers.master.mysql_port,
        user: pair.answers.replication.user.clone(),
        password: crate::answers::generate_password(),
        tls_ca: tls.as_ref().map(|f| f.ca_text()),
        tls: replica::offers_tls(&mut pair.master)?,
    };
    Ok(RejoinSurvey {
        run_id: run_id.to_string(),
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
        node_flavor,
        master_daemon,
        node_daemon,
        node_files,
        node_replica_configured: replica.is_some(),
        login,
        require_tls: tls.is_some(),
        copy,
        master_state: cluster.master_state.clone(),
    })
}

/// Surveys both nodes and builds the plan, for a new run.
pub fn plan(cluster: &mut Cluster, node: &str, save_and_reseed: bool) -> Result<RejoinPlan> {
    let run_id = crate::backup::new_run_id();
    Ok(build(survey(cluster, node, save_and_reseed, &run_id)?))
}

pub struct RejoinOutcome {
    pub run_id: String,
    pub reseeded: bool,
    pub saved: Vec<String>,
    pub position: String,
    pub seconds: f64,
    pub daemons: Vec<String>,
}

/// Applies the plan. Refuses a plan that would drop transactions.
pub fn apply(
    cluster: &mut Cluster,
    plan: &RejoinPlan,
    reporter: &dyn Reporter,
) -> Result<RejoinOutcome> {
    let survey = &plan.survey;
    if survey.has_unsent() && !survey.reseed {
        return Err(survey.refusal());
    }
    let started = Instant::now();
    let mut journals = cluster::begin_run(
        cluster,
        &format!("rejoin {} as slave of {}", survey.node, survey.master),
        &plan.plan.run_id,
    )?;
    let applied = crate::operation::apply::run(
        &mut cluster.pair,
        &plan.plan,
        &mut journals,
        reporter,
        &mut |_| Ok(()),
    )
    .map_err(|failed| failed.error)?;
    let mut master_state = survey.master_state.clone();
    master_state.takeover_acked = true;
    cluster.slave_state = TermState {
        term: master_state.term,
        role: Role::Slave,
        last_takeover_at: None,
        takeover_acked: true,
    };
    cluster.master_state = master_state;
    let position = match applied.snapshot.as_ref().and_then(|p| p.gtids()) {
        Some(gtids) => gtids.replace('\n', ""),
        None => survey.own_position(),
    };
    Ok(RejoinOutcome {
        run_id: plan.plan.run_id.clone(),
        reseeded: applied.snapshot.is_some(),
        saved: applied.kept,
        position,
        seconds: started.elapsed().as_secs_f64(),
        daemons: applied.daemons,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::answers::SeedVerify;
    use crate::operation::seed::logical::LogicalPlan;
    use crate::operation::seed::CopyKind;

    const PASSWORD: &str = "Rejoin-Repl-Pw-never-shown";

    fn daemon(verb: &str) -> Vec<String> {
        vec!["/etc/init.d/mysql-ha".into(), verb.into()]
    }

    fn survey(version: &str) -> RejoinSurvey {
        let databases = vec!["shop".to_string(), "crm".to_string()];
        RejoinSurvey {
            run_id: "20261130-120000-beef".into(),
            node: "192.0.2.11".into(),
            master: "192.0.2.12".into(),
            master_term: 3,
            node_role: Role::NeedsRejoin,
            node_positions: Positions {
                binlog_pos: gtid::parse_list("0-1-42").unwrap(),
                ..Positions::default()
            },
            master_positions: Positions {
                binlog_pos: gtid::parse_list("0-2-50").unwrap(),
                slave_pos: gtid::parse_list("0-1-42").unwrap(),
                ..Positions::default()
            },
            gtid_sets: None,
            errant: String::new(),
            databases: databases.clone(),
            unsent: Vec::new(),
            listing: Listing::default(),
            reseed: false,
            nothing_to_do: false,
            node_flavor: Flavor::from_version_string(version).unwrap(),
            master_daemon: (daemon("stop"), daemon("start")),
            node_daemon: (daemon("stop"), daemon("start")),
            node_files: (
                Vec::new(),
                vec!["option files already those of a slave".into()],
            ),
            node_replica_configured: true,
            login: Source {
                host: "192.0.2.12".into(),
                port: 3306,
                user: "repl".into(),
                password: PASSWORD.into(),
                tls_ca: None,
                tls: false,
            },
            require_tls: false,
            copy: CopyPlan {
                method: SeedMethod::Dump,
                why: "asked for".into(),
                databases,
                tables: Vec::new(),
                estimated_bytes: 2048,
                verify: SeedVerify::Rows,
                kind: CopyKind::Logical(LogicalPlan {
                    streams: Vec::new(),
                    load_argv: Vec::new(),
                    workers: 1,
                    hold_lock: false,
                    deferred: Vec::new(),
                }),
            },
            master_state: TermState {
                term: 3,
                role: Role::Master,
                last_takeover_at: Some(1_700_000_000),
                takeover_acked: false,
            },
        }
    }

    fn names(plan: &Plan) -> Vec<(&'static str, Side)> {
        plan.steps.iter().map(|s| (s.name, s.side)).collect()
    }

    fn shown(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Sql(s) => Some(s.shown.clone()),
                Change::Seed { .. } => Some("(seed)".into()),
                Change::AdoptSnapshot { .. } => Some("(adopt the copy's GTIDs)".into()),
                _ => None,
            })
            .collect()
    }

    fn step<'p>(plan: &'p Plan, name: &str) -> &'p StepPlan {
        plan.steps.iter().find(|s| s.name == name).unwrap()
    }

    #[test]
    fn a_clean_rejoin_follows_the_master_from_its_own_position() {
        let rejoin = build(survey("10.11.6-MariaDB-0+deb12u1"));
        let plan = &rejoin.plan;
        let (m, n) = (Side::Master, Side::Slave);
        assert_eq!(
            names(plan),
            vec![
                (STOP_NODE_DAEMON, n),
                (STOP_MASTER_DAEMON, m),
                (SLAVE_FILES, n),
                (ACCOUNT, m),
                (REPLICATE, n),
                (NODE_TERM, n),
                (MASTER_TERM, m),
                (START_MASTER_DAEMON, m),
                (START_NODE_DAEMON, n),
                (PROVE, n),
            ]
        );
        let replicate = &step(plan, REPLICATE).changes;
        assert_eq!(
            shown(replicate),
            vec![
                "STOP SLAVE",
                "RESET SLAVE ALL",
                "SET GLOBAL gtid_slave_pos = '0-1-42'",
                "CHANGE MASTER TO MASTER_HOST='192.0.2.12', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='********', MASTER_USE_GTID=slave_pos",
                "START SLAVE",
            ]
        );
        // Should the master not continue that history, the databases are
        // copied again and it starts from the copy's position.
        match replicate.last() {
            Some(Change::WaitReplicating {
                otherwise, source, ..
            }) => {
                assert_eq!(source, "192.0.2.12");
                assert_eq!(
                    shown(otherwise),
                    vec![
                        "(seed)",
                        "STOP SLAVE",
                        "RESET SLAVE ALL",
                        "SET GLOBAL gtid_slave_pos = '<position of the snapshot>'",
                        "CHANGE MASTER TO MASTER_HOST='192.0.2.12', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='********', MASTER_USE_GTID=slave_pos",
                        "START SLAVE",
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        match &step(plan, MASTER_TERM).changes[..] {
            [Change::TermState(state)] => {
                assert_eq!((state.term, state.role), (3, Role::Master));
                assert!(state.takeover_acked, "the rejoin acknowledges the takeover");
                assert_eq!(state.last_takeover_at, Some(1_700_000_000));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            shown(&step(plan, SLAVE_FILES).changes),
            vec!["SET GLOBAL read_only = ON"]
        );
        let text = rejoin.render();
        for line in [
            "Rejoin 192.0.2.11 (needs-rejoin) as the slave of 192.0.2.12 (master of term 3)",
            "  GTID positions: 192.0.2.11 logged 0-1-42; 192.0.2.12 logged 0-2-50, applied as slave 0-1-42",
            "  history: everything 192.0.2.11 logged reached 192.0.2.12",
            "== replicate from the master on rejoining 192.0.2.11: will change",
            "   if 192.0.2.12 cannot continue this history (error 1236), then:",
            "     copy shop, crm (about 2.0 KB) with one consistent snapshot:",
            "   check: a row written in each of shop, crm on 192.0.2.12 reaches this node",
        ] {
            assert!(text.lines().any(|l| l == line), "no line `{line}` in:\n{text}");
        }
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains("copying"), "{text}");
    }

    #[test]
    fn unsent_transactions_are_saved_then_the_databases_copied_again() {
        let mut found = survey("10.11.6-MariaDB-0+deb12u1");
        found.reseed = true;
        found.node_positions.binlog_pos = gtid::parse_list("0-1-43").unwrap();
        found.unsent = gtid::unsent(&found.node_positions, &found.master_positions);
        found.listing.replayable = "BINLOG '...';\n".into();
        found.listing.decoded = "### INSERT INTO shop.customers\n".into();
        let plan = build(found).plan;
        let (m, n) = (Side::Master, Side::Slave);
        assert_eq!(
            names(&plan)[..7],
            [
                (STOP_NODE_DAEMON, n),
                (STOP_MASTER_DAEMON, m),
                (SAVE, n),
                (SLAVE_FILES, n),
                (ACCOUNT, m),
                (COPY_AGAIN, n),
                (REPLICATE, n),
            ]
        );
        match &step(&plan, SAVE).changes[..] {
            [Change::KeepAside { name: sql, .. }, Change::KeepAside { name: txt, .. }] => {
                assert_eq!(
                    (sql.as_str(), txt.as_str()),
                    ("lost-transactions.sql", "lost-transactions.txt")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(shown(&step(&plan, COPY_AGAIN).changes), vec!["(seed)"]);
        let replicate = &step(&plan, REPLICATE).changes;
        assert!(shown(replicate)
            .contains(&"SET GLOBAL gtid_slave_pos = '<position of the snapshot>'".to_string()));
        assert!(
            matches!(replicate.last(), Some(Change::WaitReplicating { otherwise, .. }) if otherwise.is_empty()),
            "a copy is not made twice"
        );
        // Without --save-and-reseed nothing is planned: the rejoin stops.
        let mut refused = survey("10.11.6-MariaDB-0+deb12u1");
        refused.node_positions.binlog_pos = gtid::parse_list("0-1-43").unwrap();
        refused.unsent = gtid::unsent(&refused.node_positions, &refused.master_positions);
        let refused = build(refused);
        assert!(refused.plan.steps.is_empty());
        let text = refused.render();
        assert!(
            text.contains("  192.0.2.11 holds 1 transaction(s) that 192.0.2.12 never received:"),
            "{text}"
        );
        assert!(!text.contains("Plan for run"), "{text}");
        let text = plan.render();
        assert!(text.contains("   save /var/lib/mysql-ha/runs/20261130-120000-beef/lost-transactions.sql (mode 600, 14 B): the transactions, replayable; rollback leaves it"), "{text}");
    }

    #[test]
    fn mysql_copies_again_without_super_read_only_and_takes_the_copys_history() {
        let mut found = survey("8.4.3");
        found.gtid_sets = Some(("a:1-10,b:1".into(), "a:1-12".into()));
        found.errant = "b:1".into();
        found.reseed = true;
        let rejoin = build(found);
        assert_eq!(
            shown(&step(&rejoin.plan, COPY_AGAIN).changes),
            vec![
                "STOP REPLICA",
                "SET GLOBAL super_read_only = OFF",
                "(seed)",
                "(adopt the copy's GTIDs)",
            ]
        );
        let replicate = shown(&step(&rejoin.plan, REPLICATE).changes);
        assert!(
            !replicate.iter().any(|s| s.contains("gtid_slave_pos")),
            "{replicate:?}"
        );
        let text = rejoin.render();
        assert!(
            text.contains("   sql: RESET BINARY LOGS AND GTIDS;"),
            "{text}"
        );
        assert!(
            text.contains("   sql: SET GLOBAL gtid_purged = '<position of the snapshot>';"),
            "{text}"
        );
        assert!(text.contains("  errant GTIDs: b:1"), "{text}");
    }

    #[test]
    fn counts_the_transactions_of_a_gtid_set() {
        assert_eq!(gtid_set_size(""), 0);
        assert_eq!(gtid_set_size("3e11fa47-71ca-11e1-9e33-c80aa9429562:7"), 1);
        assert_eq!(gtid_set_size("a:1-3:7,\nb:5"), 5);
    }

    #[test]
    fn a_running_slave_of_the_master_has_nothing_to_do() {
        let mut found = survey("10.11.6-MariaDB-0+deb12u1");
        found.nothing_to_do = true;
        found.node_role = Role::Slave;
        let rejoin = build(found);
        assert!(rejoin.plan.steps.is_empty());
        let text = rejoin.render();
        assert!(
            text.contains("already a running slave of the master: nothing to do"),
            "{text}"
        );
        assert!(!text.contains("Plan for run"), "{text}");
    }
}
