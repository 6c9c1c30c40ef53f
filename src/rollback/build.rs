//! The undo of a run as a plan: a pure function of what `survey` read (the
//! run's journal on each host and the few facts the undo depends on), so
//! unit tests drive it with hand-made surveys.

use std::path::{Path, PathBuf};

use crate::backup::{self, Journal, JournalEntry, UndoStatement};
use crate::operation::plan::{Change, Plan, Side, StepPlan};
use crate::operation::statement::Statement;

use super::effects::{self, Effects};
use super::{HostSurvey, Survey};

pub const STOP_DAEMON: &str = "stop the cluster daemon the run installed";
pub const STOP_PACEMAKER: &str = "stop the Pacemaker cluster the run started";
pub const FILES: &str = "put back the run's files";
pub const STATEMENTS: &str = "undo the run's statements";
pub const SERVER: &str = "the server takes the restored files";
pub const START_AGAIN: &str = "start again what ran before the run";
pub const WITNESS: &str = "undo the run on the witness";
pub const NOTHING_HERE: &str = "nothing to undo";

/// The plan that undoes the surveyed run: every node's daemon and
/// Pacemaker stop before anything changes (so neither reacts to the other
/// node's restart), then each node's files, statements and server, then
/// the daemons that ran before start again, then the witness.
pub fn build(survey: &Survey) -> Plan {
    let label = |side: Side| {
        survey
            .hosts
            .iter()
            .find(|h| h.side == side)
            .map(|h| h.label.clone())
            .unwrap_or_default()
    };
    let hosts: Vec<String> = survey
        .hosts
        .iter()
        .map(|h| format!("{} ({})", h.label, survey.side_name(h.side)))
        .collect();
    let mut plan = Plan {
        run_id: survey.run_id.clone(),
        master_label: label(Side::Master),
        slave_label: label(Side::Slave),
        slave2_label: label(Side::Slave2),
        witness_label: label(Side::Witness),
        preamble: vec![format!(
            "Undo of run {} on {}",
            survey.run_id,
            hosts.join(", ")
        )],
        steps: Vec::new(),
        rescues: Vec::new(),
        side_names: survey.single.then_some(["node", "node"]),
        hold: None,
    };
    let nodes: Vec<(&HostSurvey, &Journal)> = survey
        .hosts
        .iter()
        .filter(|h| h.side != Side::Witness)
        .filter_map(|h| h.journal.as_ref().map(|j| (h, j)))
        .collect();
    for host in survey.hosts.iter().filter(|h| h.journal.is_none()) {
        plan.steps.push(StepPlan {
            name: NOTHING_HERE,
            side: host.side,
            changes: Vec::new(),
            summary: vec![
                "the run recorded no change here (it stopped before its first change on this node)"
                    .into(),
            ],
        });
    }
    let nodes: Vec<(&HostSurvey, &Journal, Effects)> = nodes
        .into_iter()
        .map(|(host, journal)| (host, journal, Effects::of(journal, host)))
        .collect();
    for (host, _, effects) in &nodes {
        let mut changes = stop_daemon(effects);
        if !changes.is_empty() {
            if let Some((cidr, device)) = &host.address {
                changes.push(Change::ReleaseAddress {
                    cidr: cidr.clone(),
                    device: device.clone(),
                });
            }
            push(&mut plan, STOP_DAEMON, host.side, changes, Vec::new());
        }
    }
    if !survey.single {
        for (host, _, effects) in &nodes {
            let changes = stop_pacemaker(host, effects);
            let summary = if changes.is_empty() {
                Vec::new()
            } else {
                vec!["maintenance mode first: the servers keep running".into()]
            };
            push(&mut plan, STOP_PACEMAKER, host.side, changes, summary);
        }
    }
    for (host, journal, effects) in &nodes {
        undo_node(&mut plan, host, journal, effects);
    }
    for (host, _, effects) in &nodes {
        let (changes, summary) = start_again(effects, survey.single);
        push(&mut plan, START_AGAIN, host.side, changes, summary);
    }
    if let Some(witness) = survey.hosts.iter().find(|h| h.side == Side::Witness) {
        if let Some(journal) = &witness.journal {
            let changes = undo_witness(witness, journal);
            push(&mut plan, WITNESS, Side::Witness, changes, Vec::new());
        }
    }
    plan
}

fn push(
    plan: &mut Plan,
    name: &'static str,
    side: Side,
    changes: Vec<Change>,
    summary: Vec<String>,
) {
    if changes.is_empty() && summary.is_empty() {
        return;
    }
    plan.steps.push(StepPlan {
        name,
        side,
        changes,
        summary,
    });
}

/// A service command that undoes what the run started: a refusal is said
/// and the undo goes on (the service may be gone already).
fn undo_service(argv: Vec<String>, what: &str) -> Change {
    Change::Service {
        argv,
        why: format!("undo: {what}"),
        done: "undone".into(),
        required: false,
        wait_server: false,
    }
}

fn strings(argv: &[&str]) -> Vec<String> {
    argv.iter().map(|a| a.to_string()).collect()
}

/// One node's files, statements and server.
fn undo_node(plan: &mut Plan, host: &HostSurvey, journal: &Journal, effects: &Effects) {
    let files = backed_up_files(journal);
    let mut changes = Vec::new();
    if !files.is_empty() {
        changes.push(Change::RestoreFiles {
            files: files.clone(),
        });
    }
    changes.extend(remove_made(effects));
    push(plan, FILES, host.side, changes, Vec::new());
    let paths: Vec<&PathBuf> = files.iter().map(|(p, _)| p).collect();
    let Some(server) = &host.server else {
        // Files only: a tree, or a server that does not answer.
        let mut changes = Vec::new();
        if let (Some(service), true) = (&host.service, host.server_down_by_run) {
            if let Some((datadir, before)) = replaced_datadir(journal) {
                changes.push(Change::DatadirBack { datadir, before });
            }
            changes.push(Change::Service {
                argv: service.start.clone(),
                why: "the run had stopped the server: it starts with the restored files".into(),
                done: format!(
                    "undone: the run's `{}` (the server was down): started it with the restored files",
                    service.stop.join(" ")
                ),
                required: true,
                wait_server: false,
            });
        }
        push(plan, SERVER, host.side, changes, not_undone(journal));
        return;
    };
    let sql = sql_undo(journal);
    let mut changes = Vec::new();
    let lift = server.super_read_only && (!sql.undone.is_empty() || !sql.uninstall.is_empty());
    if lift {
        // MySQL's super_read_only (a slave's, set by the daemon) refuses
        // even root; lifted for the undo's own statements (read_only stays).
        changes.push(Change::Sql(Statement::control(
            "SET GLOBAL super_read_only = OFF",
        )));
    }
    for (undone, statements) in sql.undone {
        changes.push(Change::UndoSql { undone, statements });
    }
    for (undone, plugin) in sql.uninstall {
        changes.push(Change::UninstallPlugin { undone, plugin });
    }
    if lift {
        changes.push(Change::Sql(Statement::control(
            "SET GLOBAL super_read_only = ON",
        )));
    }
    let kept = sql
        .kept
        .iter()
        .map(|statement| format!("not undone: {statement}"))
        .collect();
    push(plan, STATEMENTS, host.side, changes, kept);
    let mut changes = Vec::new();
    let service = &host.service;
    let datadir = replaced_datadir(journal);
    if let (Some((datadir, before)), Some(service)) = (&datadir, service) {
        changes.push(Change::Service {
            argv: service.stop.clone(),
            why: "the server stops for its own datadir to come back".into(),
            done: "stopped the server".into(),
            required: true,
            wait_server: false,
        });
        changes.push(Change::DatadirBack {
            datadir: datadir.clone(),
            before: before.clone(),
        });
        changes.push(Change::Service {
            argv: service.start.clone(),
            why: "the server starts on its own datadir".into(),
            done: "the server was restarted on its own data".into(),
            required: true,
            wait_server: true,
        });
    } else if let (true, Some(service)) = (paths.iter().any(|p| is_server_option_file(p)), service)
    {
        // Decided on the files put back, not on the journal: a run killed
        // while its restart ran has no record of it, yet its server reads
        // the run's settings (log_bin, bind-address) until restarted.
        changes.push(Change::Service {
            argv: service.restart.clone(),
            why: "the server reads the restored configuration".into(),
            done: "restarted the server so it reads the restored configuration".into(),
            required: true,
            wait_server: true,
        });
    } else if paths
        .iter()
        .any(|p| p.starts_with(crate::tls::GENERATED_DIR))
    {
        changes.push(Change::ReloadCertificates);
    }
    let left: Vec<String> = if datadir.is_some() {
        Vec::new()
    } else {
        seeded(journal)
            .into_iter()
            .map(|databases| format!("left in place: the copy of {databases} the run made on this slave (drop those databases if you do not want them)"))
            .collect()
    };
    push(plan, SERVER, host.side, changes, left);
}

/// The directories the run made (certificate databases) go, once the
/// files it put in them are back.
fn remove_made(effects: &Effects) -> Vec<Change> {
    effects
        .made()
        .into_iter()
        .map(|path| {
            undo_service(
                vec![
                    "rm".into(),
                    "-rf".into(),
                    path.to_string_lossy().into_owned(),
                ],
                "the quorum device's certificates (the run made them)",
            )
        })
        .collect()
}

/// Our daemon, when the run started or restarted it: it stops before
/// anything else, so it does not react to the undo; one the run installed
/// also leaves boot.
fn stop_daemon(effects: &Effects) -> Vec<Change> {
    let (systemd, installed) = match (effects.started("mysql-ha"), effects.restarted("mysql-ha")) {
        (Some(systemd), _) => (systemd, true),
        (None, Some(systemd)) => (systemd, false),
        (None, None) => return Vec::new(),
    };
    let mut changes = vec![undo_service(
        effects::service("mysql-ha", systemd, "stop"),
        "the cluster daemon the run installed",
    )];
    if installed {
        for link in effects.at_boot("mysql-ha") {
            changes.push(undo_service(
                effects::undo_at_boot("mysql-ha", link),
                "the cluster daemon the run installed",
            ));
        }
    }
    changes
}

const PACEMAKER_STACK: [&str; 3] = ["pacemaker", "corosync-qdevice", "corosync"];

/// Undoing a Pacemaker hand-off on one node: maintenance mode first (the
/// resources stay as they are), the cluster's services the run started
/// stop and leave boot, the stored cluster configuration (CIB) goes, what
/// the run took off boot (the database server) comes back on, and the
/// address Pacemaker placed is released. The run's files (corosync.conf,
/// authkey, the agent's secret) come back with the other files afterwards.
fn stop_pacemaker(host: &HostSurvey, effects: &Effects) -> Vec<Change> {
    let started: Vec<(&str, bool)> = PACEMAKER_STACK
        .iter()
        .filter_map(|s| effects.started(s).map(|systemd| (*s, systemd)))
        .collect();
    if started.is_empty() {
        return Vec::new();
    }
    let mut undo: Vec<Vec<String>> = vec![strings(&[
        "crm_attribute",
        "--type",
        "crm_config",
        "--name",
        "maintenance-mode",
        "--update",
        "true",
    ])];
    for (service, systemd) in &started {
        undo.push(effects::service(service, *systemd, "stop"));
        for link in effects.at_boot(service) {
            undo.push(effects::undo_at_boot(service, link));
        }
    }
    if effects.started("corosync").is_some() {
        // The cluster configuration this run created and loaded (each node
        // keeps a copy; the run's files are restored after).
        undo.push(strings(&["sh", "-c", "rm -f /var/lib/pacemaker/cib/cib*"]));
    }
    if let Some(server) = &host.service {
        for link in effects.off_boot(&server.name) {
            undo.push(effects::undo_off_boot(&server.name, link));
        }
    }
    let mut changes: Vec<Change> = undo
        .into_iter()
        .map(|argv| undo_service(argv, "the Pacemaker cluster the run started"))
        .collect();
    if let Some((cidr, device)) = &host.pacemaker_address {
        changes.push(Change::ReleaseAddress {
            cidr: cidr.clone(),
            device: device.clone(),
        });
    }
    changes
}

/// Last on each node: what ran before the run and was restarted or stopped
/// by it runs again, on the restored files; our daemon goes back on boot
/// when the run took it off. The cluster's services a run stopped (when
/// Pacemaker let go of the pair) stay stopped, and that is said.
fn start_again(effects: &Effects, single: bool) -> (Vec<Change>, Vec<String>) {
    let mut changes = Vec::new();
    let mut summary = Vec::new();
    let daemon = effects
        .restarted("mysql-ha")
        .or(effects.stopped("mysql-ha"));
    if let Some(systemd) = daemon {
        for link in effects.off_boot("mysql-ha") {
            changes.push(Change::Service {
                argv: effects::undo_off_boot("mysql-ha", link),
                why: "the cluster daemon started at boot before this run".into(),
                done: "undone".into(),
                required: false,
                wait_server: false,
            });
        }
        changes.push(Change::Service {
            argv: effects::service("mysql-ha", systemd, "start"),
            why: if single {
                "last: the cluster daemon ran before this run".into()
            } else {
                "last, on both nodes: the cluster daemon ran before this run".into()
            },
            done: "started the cluster daemon, which ran before this run".into(),
            required: false,
            wait_server: false,
        });
    }
    for service in PACEMAKER_STACK {
        if let Some(systemd) = effects.restarted(service) {
            changes.push(Change::Service {
                argv: effects::service(service, systemd, "restart"),
                why: format!("{service} ran before this run: it reads the restored files"),
                done: format!("restarted {service}, which ran before this run"),
                required: false,
                wait_server: false,
            });
        }
        if effects.stopped(service).is_some() {
            summary.push(format!(
                "not undone: the run stopped {service} (Pacemaker let go of the pair); start it by hand if Pacemaker is to run the pair again"
            ));
        }
    }
    (changes, summary)
}

/// The witness's service stops (and leaves boot when the run installed
/// it), qnetd stops when the run started it, the run's files go back, and
/// what ran before starts again on them.
fn undo_witness(host: &HostSurvey, journal: &Journal) -> Vec<Change> {
    let effects = Effects::of(journal, host);
    let mut changes = Vec::new();
    let mut again = Vec::new();
    for service in [crate::vote::witness::SERVICE, "corosync-qnetd"] {
        if let Some(systemd) = effects.started(service) {
            changes.push(undo_service(
                effects::service(service, systemd, "stop"),
                "a service the run started on the witness",
            ));
            for link in effects.at_boot(service) {
                changes.push(undo_service(
                    effects::undo_at_boot(service, link),
                    "a service the run started on the witness",
                ));
            }
        } else if let Some(systemd) = effects.restarted(service) {
            // Our witness stops for the undo; qnetd reads the files
            // again once they are back.
            if service == crate::vote::witness::SERVICE {
                changes.push(undo_service(
                    effects::service(service, systemd, "stop"),
                    "the witness ran before this run: it starts again after",
                ));
                again.push((
                    service,
                    systemd,
                    "start",
                    "started the witness, which ran before this run",
                ));
            } else {
                again.push((
                    service,
                    systemd,
                    "restart",
                    "restarted corosync-qnetd, which ran before this run",
                ));
            }
        }
    }
    let files = backed_up_files(journal);
    if !files.is_empty() {
        changes.push(Change::RestoreFiles { files });
    }
    changes.extend(remove_made(&effects));
    for (service, systemd, verb, done) in again {
        changes.push(Change::Service {
            argv: effects::service(service, systemd, verb),
            why: format!("{service} ran before this run"),
            done: done.into(),
            required: false,
            wait_server: false,
        });
    }
    changes
}

/// Every file the run backed up, last first, once each: with whether it
/// was there before the run (put back) or not (removed).
fn backed_up_files(journal: &Journal) -> Vec<(PathBuf, bool)> {
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    for record in journal.records().iter().rev() {
        if let JournalEntry::FileBackedUp { path, existed, .. } = &record.entry {
            if !files.iter().any(|(p, _)| p == path) {
                files.push((path.clone(), *existed));
            }
        }
    }
    files
}

/// Whether a path is one of the database server's option files (the run's
/// my.cnf edits), whose restoring needs a restart to take effect.
pub fn is_server_option_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "cnf")
        || path.starts_with("/etc/mysql")
        || path.file_name().is_some_and(|n| n == "my.cnf")
}

/// What undoes the run's statements: each (or each group on one thing)
/// with the statements that undo it, last first; the plugins it installed
/// (uninstalled last: replication uses them until then); and those that
/// stay. What an earlier pass of this rollback undid is not undone again.
#[derive(Default, Debug)]
pub struct SqlUndoPlan {
    pub undone: Vec<(String, Vec<UndoStatement>)>,
    pub uninstall: Vec<(String, String)>,
    pub kept: Vec<String>,
}

pub fn sql_undo(journal: &Journal) -> SqlUndoPlan {
    let mut plan = SqlUndoPlan::default();
    let already: Vec<&String> = journal
        .records()
        .iter()
        .filter_map(|r| match &r.entry {
            JournalEntry::Undone { what } => Some(what),
            _ => None,
        })
        .collect();
    let records: Vec<(&String, &Option<backup::SqlUndo>)> = journal
        .records()
        .iter()
        .filter_map(|r| match &r.entry {
            JournalEntry::Sql {
                statement_masked,
                undo,
                ..
            } => Some((statement_masked, undo)),
            _ => None,
        })
        .collect();
    // Statements on one thing (an account, the replica's connection) are
    // undone together, by the undo of the first: it holds the state before
    // the run.
    let mut together: Vec<(String, Vec<String>, Vec<UndoStatement>)> = Vec::new();
    for (statement, undo) in &records {
        if let Some(backup::SqlUndo::Run {
            statements,
            restores: Some(thing),
        }) = undo
        {
            match together.iter_mut().find(|(t, _, _)| t == thing) {
                Some((_, run, _)) => run.push((*statement).clone()),
                None => together.push((
                    thing.clone(),
                    vec![(*statement).clone()],
                    statements.clone(),
                )),
            }
        }
    }
    let mut listed: Vec<String> = Vec::new();
    let undo = |plan: &mut SqlUndoPlan, what: String, statements: Vec<UndoStatement>| {
        if !already.contains(&&what) {
            plan.undone.push((what, statements));
        }
    };
    for (statement, rule) in records.iter().rev() {
        match rule {
            Some(backup::SqlUndo::Nothing) => {}
            Some(backup::SqlUndo::Kept) | None => plan.kept.push((*statement).clone()),
            Some(backup::SqlUndo::Run {
                restores: Some(thing),
                ..
            }) => {
                if listed.contains(thing) {
                    continue;
                }
                listed.push(thing.clone());
                if let Some((_, run, first_undo)) = together.iter().find(|(t, _, _)| t == thing) {
                    undo(&mut plan, run.join("; "), first_undo.clone());
                }
            }
            Some(backup::SqlUndo::Run {
                statements,
                restores: None,
            }) => undo(&mut plan, (*statement).clone(), statements.clone()),
            Some(backup::SqlUndo::Uninstall { plugin }) => {
                if !already.contains(statement) {
                    plan.uninstall.push(((*statement).clone(), plugin.clone()));
                }
            }
        }
    }
    plan
}

/// The datadir a physical seed replaced, and where the server's own went.
pub fn replaced_datadir(journal: &Journal) -> Option<(PathBuf, PathBuf)> {
    journal.records().iter().find_map(|r| match &r.entry {
        JournalEntry::DatadirReplaced { datadir, before } => {
            Some((datadir.clone(), before.clone()))
        }
        _ => None,
    })
}

/// The copies of databases the run began on a slave.
fn seeded(journal: &Journal) -> Vec<String> {
    journal
        .records()
        .iter()
        .filter_map(|r| match backup::seed_record(&r.entry) {
            Some((false, databases)) => Some(databases.join(", ")),
            _ => None,
        })
        .collect()
}

/// For files only: what the run did that a file rollback cannot undo.
fn not_undone(journal: &Journal) -> Vec<String> {
    let mut lines = Vec::new();
    for record in journal.records() {
        match &record.entry {
            JournalEntry::Sql {
                statement_masked, ..
            } => lines.push(format!("sql: {statement_masked}")),
            JournalEntry::Command { argv, .. } => lines.push(format!("ran: {}", argv.join(" "))),
            JournalEntry::DatadirReplaced { datadir, before } => lines.push(format!(
                "replaced {} (the server's own is in {})",
                datadir.display(),
                before.display()
            )),
            _ => {}
        }
    }
    if !lines.is_empty() {
        lines.insert(
            0,
            "not undone here (the run also did this; undo it on the node itself):".into(),
        );
    }
    lines
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::backup::{CommandEffect, SqlUndo};
    use crate::node::LocalNode;

    fn journal_of(entries: Vec<(&str, Option<SqlUndo>)>) -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let node = LocalNode::with_root(dir.path());
        let mut journal = Journal::create(&node, &backup::new_run_id()).unwrap();
        for (statement, undo) in entries {
            journal
                .record(
                    &node,
                    JournalEntry::Sql {
                        node: "node1".into(),
                        statement_masked: statement.into(),
                        undo,
                    },
                )
                .unwrap();
        }
        (dir, journal)
    }

    #[test]
    fn the_journal_says_how_each_statement_is_undone_last_first_plugins_at_the_end() {
        let restore = |sql: &str, thing: &str| SqlUndo::Run {
            statements: vec![UndoStatement {
                shown: sql.replace("*HASH", "********"),
                real: sql.into(),
            }],
            restores: Some(thing.into()),
        };
        let (_dir, journal) = journal_of(vec![
            ("SET SESSION sql_log_bin = 0", Some(SqlUndo::Nothing)),
            (
                "INSTALL PLUGIN rpl_semi_sync_master SONAME 'semisync_master.so'",
                Some(SqlUndo::Uninstall {
                    plugin: "rpl_semi_sync_master".into(),
                }),
            ),
            (
                "CREATE OR REPLACE USER 'mysqlha_mon'@'192.0.2.12' IDENTIFIED BY '********'",
                Some(restore(
                    "CREATE USER `mysqlha_mon`@`192.0.2.12` IDENTIFIED BY PASSWORD '*HASH'",
                    "mon",
                )),
            ),
            (
                "GRANT SELECT ON mysql_ha.* TO 'mysqlha_mon'@'192.0.2.12'",
                Some(restore(
                    "CREATE USER `mysqlha_mon`@`192.0.2.12` REQUIRE SSL",
                    "mon",
                )),
            ),
            (
                "CREATE DATABASE IF NOT EXISTS mysql_ha",
                Some(SqlUndo::Kept),
            ),
            (
                "CHANGE MASTER TO MASTER_SSL=1",
                Some(restore("CHANGE MASTER TO MASTER_SSL=0", "replica")),
            ),
            ("GRANT ALL ON *.* TO 'x'@'y'", None),
        ]);
        let plan = sql_undo(&journal);
        let undone: Vec<(&str, String)> = plan
            .undone
            .iter()
            .map(|(statement, undo)| (statement.as_str(), UndoStatement::shown_all(undo)))
            .collect();
        assert_eq!(
            undone,
            [
                (
                    "CHANGE MASTER TO MASTER_SSL=1",
                    "CHANGE MASTER TO MASTER_SSL=0".to_string()
                ),
                (
                    "CREATE OR REPLACE USER 'mysqlha_mon'@'192.0.2.12' IDENTIFIED BY '********'; GRANT SELECT ON mysql_ha.* TO 'mysqlha_mon'@'192.0.2.12'",
                    "CREATE USER `mysqlha_mon`@`192.0.2.12` IDENTIFIED BY PASSWORD '********'"
                        .to_string()
                ),
            ]
        );
        assert_eq!(
            plan.undone[1].1[0].real,
            "CREATE USER `mysqlha_mon`@`192.0.2.12` IDENTIFIED BY PASSWORD '*HASH'"
        );
        assert_eq!(
            plan.uninstall,
            [(
                "INSTALL PLUGIN rpl_semi_sync_master SONAME 'semisync_master.so'".to_string(),
                "rpl_semi_sync_master".to_string()
            )]
        );
        // An older journal's statement without an undo is kept, and said.
        assert_eq!(
            plan.kept,
            [
                "GRANT ALL ON *.* TO 'x'@'y'",
                "CREATE DATABASE IF NOT EXISTS mysql_ha"
            ]
        );
    }

    #[test]
    fn restoring_an_option_file_needs_a_restart_whatever_the_journal_says() {
        assert!(is_server_option_file(Path::new(
            "/etc/mysql/mariadb.conf.d/60-mysql-ha.cnf"
        )));
        assert!(is_server_option_file(Path::new("/etc/my.cnf")));
        assert!(!is_server_option_file(Path::new("/etc/sudoers.d/mysql-ha")));
        assert!(!is_server_option_file(Path::new(
            "/etc/mysql-ha/cluster.toml"
        )));
    }

    fn journal_of_commands(commands: &[&[&str]]) -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let node = LocalNode::with_root(dir.path());
        let mut journal = Journal::create(&node, &backup::new_run_id()).unwrap();
        for argv in commands {
            journal
                .record(
                    &node,
                    JournalEntry::Command {
                        node: "host".into(),
                        argv: argv.iter().map(|a| a.to_string()).collect(),
                        ok: true,
                        typed: false,
                    },
                )
                .unwrap();
        }
        (dir, journal)
    }

    /// What an earlier version's journal is read to have made.
    fn made(journal: &Journal) -> Option<String> {
        let host = host(Side::Witness, "client", None);
        Effects::of(journal, &host)
            .made()
            .first()
            .map(|p| p.display().to_string())
    }

    fn qnetd_started(journal: &Journal) -> bool {
        let host = host(Side::Witness, "client", None);
        Effects::of(journal, &host)
            .started("corosync-qnetd")
            .is_some()
    }

    #[test]
    fn an_earlier_journal_is_read_the_certificate_database_it_made_goes_and_a_certutil_is_no_service(
    ) {
        let (_dir, made_folder) = journal_of_commands(&[
            &["install", "-d", "-m", "0700", "/etc/corosync/qdevice/net"],
            &["corosync-qdevice-net-certutil", "-i", "-c", "/x.crt"],
        ]);
        assert_eq!(
            made(&made_folder).as_deref(),
            Some("/etc/corosync/qdevice/net")
        );
        let (_dir, made_db) =
            journal_of_commands(&[&["corosync-qdevice-net-certutil", "-i", "-c", "/x.crt"]]);
        assert_eq!(
            made(&made_db).as_deref(),
            Some("/etc/corosync/qdevice/net/nssdb")
        );
        // A node that only received the cluster certificate, or exported
        // it, keeps its database.
        let (_dir, imported) = journal_of_commands(&[
            &["corosync-qdevice-net-certutil", "-m", "-c", "/x.p12"],
            &[
                "sh",
                "-c",
                "umask 077 && pk12util -d /etc/corosync/qdevice/net/nssdb",
            ],
        ]);
        assert_eq!(made(&imported), None);
        // The witness: its CA goes only when this run made it; signing a
        // request is neither making a CA nor starting qnetd.
        let (_dir, signed) =
            journal_of_commands(&[&["corosync-qnetd-certutil", "-s", "-c", "/r.crq", "-n", "c"]]);
        assert_eq!(made(&signed), None);
        assert!(!qnetd_started(&signed));
        let (_dir, made_ca) = journal_of_commands(&[
            &["corosync-qnetd-certutil", "-i", "-G"],
            &["/etc/init.d/corosync-qnetd", "start"],
        ]);
        assert_eq!(made(&made_ca).as_deref(), Some("/etc/corosync/qnetd/nssdb"));
        assert!(qnetd_started(&made_ca));
    }

    fn host(side: Side, label: &str, journal: Option<Journal>) -> HostSurvey {
        HostSurvey {
            side,
            label: label.into(),
            journal,
            server: Some(super::super::ServerFacts {
                super_read_only: false,
            }),
            service: Some(crate::profile::Service {
                name: "mariadb".into(),
                start: vec!["systemctl".into(), "start".into(), "mariadb".into()],
                stop: vec!["systemctl".into(), "stop".into(), "mariadb".into()],
                restart: vec!["systemctl".into(), "restart".into(), "mariadb".into()],
                systemd_unit: None,
                status: Vec::new(),
                enable: Vec::new(),
            }),
            server_down_by_run: false,
            systemd: true,
            witness_unit: false,
            address: Some(("192.0.2.100/24".into(), "eth0".into())),
            pacemaker_address: None,
        }
    }

    /// A first setup on a node: the daemon installed (systemd), an option
    /// file and the daemon's config created, an account made.
    fn setup_journal(dir: &tempfile::TempDir, run_id: &str) -> Journal {
        let node = LocalNode::with_root(dir.path());
        let mut journal = Journal::create(&node, run_id).unwrap();
        for entry in [
            JournalEntry::FileBackedUp {
                path: "/etc/mysql/mariadb.conf.d/60-mysql-ha.cnf".into(),
                existed: false,
                backup: None,
                mode: 0o644,
                uid: 0,
                gid: 0,
                sha256: None,
            },
            JournalEntry::FileBackedUp {
                path: crate::daemon::config::DEFAULT_PATH.into(),
                existed: false,
                backup: None,
                mode: 0o600,
                uid: 0,
                gid: 0,
                sha256: None,
            },
            JournalEntry::Sql {
                node: "node1".into(),
                statement_masked: "CREATE USER 'repl'@'192.0.2.12' IDENTIFIED BY '********'".into(),
                undo: Some(SqlUndo::Run {
                    statements: vec![UndoStatement::plain(
                        "DROP USER IF EXISTS 'repl'@'192.0.2.12'",
                    )],
                    restores: None,
                }),
            },
            JournalEntry::Effect {
                effect: CommandEffect::AtBoot {
                    service: "mysql-ha".into(),
                    link: backup::BootLink::Systemd,
                },
            },
            JournalEntry::Effect {
                effect: CommandEffect::Started {
                    service: "mysql-ha".into(),
                    systemd: true,
                },
            },
            JournalEntry::Command {
                node: "node1".into(),
                argv: vec![
                    "systemctl".into(),
                    "enable".into(),
                    "--now".into(),
                    "mysql-ha.service".into(),
                ],
                ok: true,
                typed: true,
            },
        ] {
            journal.record(&node, entry).unwrap();
        }
        journal
    }

    #[test]
    fn the_undo_of_a_setup_stops_both_daemons_first_and_restarts_each_server_on_its_restored_files()
    {
        let run_id = backup::new_run_id();
        let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let survey = Survey {
            run_id: run_id.clone(),
            hosts: vec![
                host(Side::Master, "node1", Some(setup_journal(&d1, &run_id))),
                host(Side::Slave, "node2", Some(setup_journal(&d2, &run_id))),
            ],
            single: false,
        };
        let plan = build(&survey);
        let steps: Vec<(&str, Side)> = plan.steps.iter().map(|s| (s.name, s.side)).collect();
        assert_eq!(
            steps,
            [
                (STOP_DAEMON, Side::Master),
                (STOP_DAEMON, Side::Slave),
                (FILES, Side::Master),
                (STATEMENTS, Side::Master),
                (SERVER, Side::Master),
                (FILES, Side::Slave),
                (STATEMENTS, Side::Slave),
                (SERVER, Side::Slave),
            ]
        );
        let text = plan.render();
        assert!(
            text.contains("run: systemctl stop mysql-ha.service"),
            "{text}"
        );
        assert!(
            text.contains("run: systemctl disable mysql-ha.service"),
            "{text}"
        );
        assert!(
            text.contains("release the cluster address 192.0.2.100/24 from eth0"),
            "{text}"
        );
        assert!(
            text.contains("remove /etc/mysql/mariadb.conf.d/60-mysql-ha.cnf (the run created it)"),
            "{text}"
        );
        assert!(text.contains("undo: CREATE USER 'repl'@'192.0.2.12' IDENTIFIED BY '********'  (by DROP USER IF EXISTS 'repl'@'192.0.2.12')"), "{text}");
        assert!(text.contains("run: systemctl restart mariadb"), "{text}");
        assert!(text.contains("node1 (master), node2 (slave)"), "{text}");
        // The daemon did not run before: it is not started again.
        assert!(!text.contains("start mysql-ha.service"), "{text}");
    }

    #[test]
    fn a_daemon_that_ran_before_starts_again_last_and_a_second_pass_undoes_nothing_twice() {
        let run_id = backup::new_run_id();
        let dir = tempfile::tempdir().unwrap();
        let node = LocalNode::with_root(dir.path());
        let mut journal = Journal::create(&node, &run_id).unwrap();
        for entry in [
            JournalEntry::Command {
                node: "node1".into(),
                argv: vec![
                    "systemctl".into(),
                    "restart".into(),
                    "mysql-ha.service".into(),
                ],
                ok: true,
                typed: false,
            },
            JournalEntry::Sql {
                node: "node1".into(),
                statement_masked: "CREATE USER 'a'@'h'".into(),
                undo: Some(SqlUndo::Run {
                    statements: vec![UndoStatement::plain("DROP USER IF EXISTS 'a'@'h'")],
                    restores: None,
                }),
            },
            JournalEntry::Sql {
                node: "node1".into(),
                statement_masked: "CREATE USER 'b'@'h'".into(),
                undo: Some(SqlUndo::Run {
                    statements: vec![UndoStatement::plain("DROP USER IF EXISTS 'b'@'h'")],
                    restores: None,
                }),
            },
            // The first pass undid b, then failed.
            JournalEntry::Undone {
                what: "CREATE USER 'b'@'h'".into(),
            },
        ] {
            journal.record(&node, entry).unwrap();
        }
        let survey = Survey {
            run_id,
            hosts: vec![host(Side::Master, "node1", Some(journal))],
            single: true,
        };
        let plan = build(&survey);
        let last = plan.steps.last().unwrap();
        assert_eq!(last.name, START_AGAIN);
        let text = plan.render();
        assert!(
            text.contains("run: systemctl stop mysql-ha.service"),
            "{text}"
        );
        assert!(
            !text.contains("disable"),
            "a daemon that ran before stays registered: {text}"
        );
        assert!(text.contains("undo: CREATE USER 'a'@'h'"), "{text}");
        assert!(!text.contains("undo: CREATE USER 'b'@'h'"), "{text}");
        assert!(text.contains("on node node1"), "{text}");
    }

    #[test]
    fn the_witness_is_started_again_only_when_it_ran_before() {
        let run_id = backup::new_run_id();
        let dir = tempfile::tempdir().unwrap();
        let node = LocalNode::with_root(dir.path());
        let mut journal = Journal::create(&node, &run_id).unwrap();
        journal
            .record(
                &node,
                JournalEntry::Command {
                    node: "client".into(),
                    argv: vec![crate::vote::witness::INIT_SCRIPT.into(), "restart".into()],
                    ok: true,
                    typed: false,
                },
            )
            .unwrap();
        let mut witness = host(Side::Witness, "client", Some(journal.clone()));
        witness.server = None;
        witness.systemd = false;
        let survey = Survey {
            run_id: run_id.clone(),
            hosts: vec![witness],
            single: false,
        };
        let text = build(&survey).render();
        assert!(
            text.contains("run: /etc/init.d/mysql-ha-witness stop"),
            "{text}"
        );
        assert!(
            text.contains("run: /etc/init.d/mysql-ha-witness start"),
            "{text}"
        );
        assert!(!text.contains("update-rc.d"), "{text}");
        // Installed by the run: stopped and unregistered, not started.
        journal
            .record(
                &node,
                JournalEntry::FileBackedUp {
                    path: crate::vote::witness::CONFIG_PATH.into(),
                    existed: false,
                    backup: None,
                    mode: 0o600,
                    uid: 0,
                    gid: 0,
                    sha256: None,
                },
            )
            .unwrap();
        let mut witness = host(Side::Witness, "client", Some(journal));
        witness.server = None;
        witness.systemd = false;
        let survey = Survey {
            run_id,
            hosts: vec![witness],
            single: false,
        };
        let text = build(&survey).render();
        assert!(
            text.contains("update-rc.d -f mysql-ha-witness remove"),
            "{text}"
        );
        assert!(!text.contains("mysql-ha-witness start"), "{text}");
        assert!(text.contains("client (witness)"), "{text}");
    }

    fn journal_with(entries: Vec<JournalEntry>) -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let node = LocalNode::with_root(dir.path());
        let mut journal = Journal::create(&node, &backup::new_run_id()).unwrap();
        for entry in entries {
            journal.record(&node, entry).unwrap();
        }
        (dir, journal)
    }

    fn typed(argv: &[&str], effects: Vec<CommandEffect>) -> Vec<JournalEntry> {
        let mut entries: Vec<JournalEntry> = effects
            .into_iter()
            .map(|effect| JournalEntry::Effect { effect })
            .collect();
        entries.push(JournalEntry::Command {
            node: "node1".into(),
            argv: argv.iter().map(|a| a.to_string()).collect(),
            ok: true,
            typed: true,
        });
        entries
    }

    #[test]
    fn a_hand_off_to_pacemaker_is_undone_from_its_typed_effects_and_our_daemon_comes_back() {
        use backup::BootLink::UpdateRcD;
        let started = |service: &str| CommandEffect::Started {
            service: service.into(),
            systemd: false,
        };
        let at_boot = |service: &str| CommandEffect::AtBoot {
            service: service.into(),
            link: UpdateRcD,
        };
        let mut entries = Vec::new();
        entries.extend(typed(
            &["/etc/init.d/mysql-ha", "stop"],
            vec![CommandEffect::Stopped {
                service: "mysql-ha".into(),
                systemd: false,
            }],
        ));
        entries.extend(typed(
            &["update-rc.d", "mysql-ha", "disable"],
            vec![CommandEffect::OffBoot {
                service: "mysql-ha".into(),
                link: UpdateRcD,
            }],
        ));
        entries.extend(typed(
            &["update-rc.d", "mariadb", "disable"],
            vec![CommandEffect::OffBoot {
                service: "mariadb".into(),
                link: UpdateRcD,
            }],
        ));
        for service in ["corosync", "pacemaker"] {
            entries.extend(typed(
                &["update-rc.d", service, "defaults"],
                vec![at_boot(service)],
            ));
            entries.extend(typed(
                &[&format!("/etc/init.d/{service}"), "start"],
                vec![started(service)],
            ));
        }
        let (_dir, journal) = journal_with(entries);
        let mut node = host(Side::Master, "node1", Some(journal));
        node.systemd = false;
        let survey = Survey {
            run_id: "20261130-120000-beef".into(),
            hosts: vec![node],
            single: false,
        };
        let plan = build(&survey);
        let names: Vec<&str> = plan.steps.iter().map(|s| s.name).collect();
        assert_eq!(names.first(), Some(&STOP_PACEMAKER), "{names:?}");
        assert_eq!(names.last(), Some(&START_AGAIN), "{names:?}");
        let text = plan.render();
        for line in [
            "run: crm_attribute --type crm_config --name maintenance-mode --update true",
            "run: /etc/init.d/pacemaker stop",
            "run: update-rc.d pacemaker disable",
            "run: /etc/init.d/corosync stop",
            "run: sh -c rm -f /var/lib/pacemaker/cib/cib*",
            "run: update-rc.d mariadb enable",
            "run: update-rc.d mysql-ha enable",
            "run: /etc/init.d/mysql-ha start",
        ] {
            assert!(text.contains(line), "{line}:\n{text}");
        }
        // The daemon the run stopped is not stopped again first.
        assert!(!text.contains(STOP_DAEMON), "{text}");
    }

    #[test]
    fn a_command_of_this_version_is_never_read_by_its_words() {
        // A re-run that reloaded corosync and restarted qdevice: nothing of
        // the cluster stops; qdevice restarts on the restored files.
        let mut entries = typed(&["sh", "-c", "corosync-cfgtool -R"], Vec::new());
        entries.extend(typed(
            &["systemctl", "restart", "corosync-qdevice.service"],
            vec![CommandEffect::Restarted {
                service: "corosync-qdevice".into(),
                systemd: true,
            }],
        ));
        entries.extend(typed(
            &["crm_attribute", "--name", "pacemaker-x"],
            Vec::new(),
        ));
        let (_dir, journal) = journal_with(entries);
        let survey = Survey {
            run_id: "20261130-120000-beef".into(),
            hosts: vec![host(Side::Master, "node1", Some(journal))],
            single: false,
        };
        let text = build(&survey).render();
        assert!(!text.contains("maintenance-mode"), "{text}");
        assert!(!text.contains("corosync.service"), "{text}");
        assert!(
            text.contains("run: systemctl restart corosync-qdevice.service"),
            "{text}"
        );
    }

    #[test]
    fn a_qnetd_the_run_restarted_for_its_new_ca_is_restarted_not_stopped() {
        let mut entries = typed(
            &["corosync-qnetd-certutil", "-i", "-G"],
            vec![CommandEffect::Made {
                path: crate::operation::quorum_device::QNETD_DB.into(),
            }],
        );
        entries.extend(typed(
            &["/etc/init.d/corosync-qnetd", "restart"],
            vec![CommandEffect::Restarted {
                service: "corosync-qnetd".into(),
                systemd: false,
            }],
        ));
        let (_dir, journal) = journal_with(entries);
        let mut witness = host(Side::Witness, "client", Some(journal));
        witness.server = None;
        let survey = Survey {
            run_id: "20261130-120000-beef".into(),
            hosts: vec![witness],
            single: false,
        };
        let text = build(&survey).render();
        let removed = text.find("run: rm -rf /etc/corosync/qnetd/nssdb").unwrap();
        let restarted = text
            .find("run: /etc/init.d/corosync-qnetd restart")
            .unwrap();
        assert!(removed < restarted, "{text}");
        assert!(!text.contains("corosync-qnetd stop"), "{text}");
        assert!(!text.contains("update-rc.d corosync-qnetd"), "{text}");
    }
}
