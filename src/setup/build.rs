//! Computes the plan from the nodes' current state: what is already in place
//! becomes "unchanged", the rest becomes changes.

use super::preflight::Report;
use crate::answers::SeedMethod;
use crate::mycnf::effective::Config;
use crate::mycnf::role::{plan_edits, ChangeStatus, RoleSettings, ServerRole};
use crate::operation::pair::{Member, Pair};
use crate::operation::plan::{Change, Plan, Side, Statement, StepPlan};
use crate::operation::seed::{self, copy_plan, CopyKind};
use crate::operation::server_state;
use crate::operation::undo::UndoRule;
use crate::sql::flavor::{account, quote_string, SourceSpec};
use crate::sql::Position;
use crate::tls::TlsFiles;
use crate::{Error, Result};

/// The secret the run uses for the replication account (generated or given).
pub struct Secrets {
    pub replication_password: String,
}

fn configured_server_id(config: &Config) -> Option<u32> {
    config
        .get("server_id")
        .and_then(|entry| {
            entry
                .value
                .as_deref()
                .and_then(|v| v.trim().parse::<u32>().ok())
        })
        .filter(|id| *id > 0)
}

/// Server ids: keep what is configured when the two differ, else 1 and 2.
fn server_ids(master_config: &Config, slave_config: &Config) -> (u32, u32) {
    let master = configured_server_id(master_config).unwrap_or(1);
    let slave = match configured_server_id(slave_config) {
        Some(id) if id != master => id,
        _ => {
            if master == 2 {
                3
            } else if master == 1 {
                2
            } else {
                master + 1
            }
        }
    };
    (master, slave)
}

/// True when the running server does not yet run with settings that its
/// files already hold (a run stopped between editing and restarting).
fn running_differs(member: &mut Member, settings: &RoleSettings) -> Result<bool> {
    let server_id = member.sql().scalar("SELECT @@GLOBAL.server_id")?;
    if server_id.as_deref() != Some(settings.server_id.to_string().as_str()) {
        return Ok(true);
    }
    if let Some(tls) = &settings.tls {
        // Started before its settings named these files (or without TLS).
        let cert = member.sql().scalar("SELECT @@GLOBAL.ssl_cert")?;
        if cert.as_deref() != Some(tls.cert.as_str()) {
            return Ok(true);
        }
    }
    Ok(match settings.role {
        ServerRole::Master => {
            let log_bin = member.sql().scalar("SELECT @@GLOBAL.log_bin")?;
            let row_format = if member.profile.has_binlog_format() {
                member
                    .sql()
                    .scalar("SELECT @@GLOBAL.binlog_format")?
                    .as_deref()
                    == Some("ROW")
            } else {
                true
            };
            let gtids = member.profile.flavor != crate::sql::Family::MySql
                || !member.profile.version_at_least(5, 6)
                || member.sql().scalar("SELECT @@GLOBAL.gtid_mode")?.as_deref() == Some("ON");
            log_bin.as_deref() != Some("1") || !row_format || !gtids
        }
        ServerRole::Slave => {
            member.sql().scalar("SELECT @@GLOBAL.read_only")?.as_deref() != Some("1")
        }
    })
}

pub(crate) fn config_step(
    member: &mut Member,
    config: &Config,
    settings: &RoleSettings,
    name: &'static str,
) -> Result<StepPlan> {
    let mycnf = plan_edits(config, settings)?;
    let mut summary = Vec::new();
    for change in &mycnf.changes {
        let status = match &change.status {
            ChangeStatus::Changed => "change".to_string(),
            ChangeStatus::Unchanged => "unchanged".to_string(),
            ChangeStatus::Skipped(why) => format!("skipped: {why}"),
        };
        summary.push(format!(
            "{:<18} {} -> {}  ({status}{})",
            change.option,
            change.old.as_deref().unwrap_or("(unset)"),
            change.new.as_deref().unwrap_or("(unset)"),
            change
                .location
                .as_deref()
                .map(|l| format!(", {l}"))
                .unwrap_or_default()
        ));
    }
    if settings.role == ServerRole::Slave {
        summary.push(format!("filters: {}", crate::mycnf::filters::WHY));
    }
    let mut changes: Vec<Change> = mycnf.file_edits.into_iter().map(Change::File).collect();
    let stale = changes.is_empty() && running_differs(member, settings)?;
    if stale {
        summary.push("the files are right but the running server does not use them yet".into());
    }
    if !changes.is_empty() || stale {
        changes.push(Change::RestartServer {
            argv: member.profile.service.restart.clone(),
        });
        if settings.role == ServerRole::Master {
            // It boots read-only (its option files say so); until the
            // cluster daemon takes over at the end of the run, it keeps
            // taking writes as it did before.
            changes.push(Change::Sql(Statement::control(
                "SET GLOBAL read_only = OFF",
            )));
        }
    }
    Ok(StepPlan {
        name,
        side: member.side,
        changes,
        summary,
    })
}

/// A physical copy stops the slave and starts it on the copy anyway: that
/// start reads the slave's new settings, so its own restart is dropped
/// (one restart fewer, about 2 s on a Debian init script).
fn defer_slave_restart_to_copy(steps: &mut [StepPlan], backup: &mut seed::backup::BackupPlan) {
    let Some(step) = steps.iter_mut().find(|s| s.side == Side::Slave) else {
        return;
    };
    let before = step.changes.len();
    step.changes
        .retain(|c| !matches!(c, Change::RestartServer { .. }));
    if step.changes.len() < before {
        backup.starts_with_new_settings = true;
        step.summary.push(
            "no restart here: `seed the slave` stops the server and starts it on the copy, which reads these settings".into(),
        );
    }
}

/// What the replication account step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AccountAction {
    /// The slave points at this master and logs in with the account.
    InUse,
    /// The slave points here and logs in, but the account lacks the
    /// privilege: grant it, keep the password the slave has.
    GrantOnly,
    /// The slave points here but cannot log in with the account (refused,
    /// or it logs in as another user): the account gets this run's
    /// password and the slave gets the same login.
    ResetLogin { why: String },
    /// A slave not replicating from this master yet: the account is made
    /// (or altered) with this run's password.
    Create,
}

/// Decides on what the servers say, not on "the slave uses it": a slave
/// whose I/O thread was refused (error 1045, or 1698 for an account with no
/// password) does not log in, whatever its settings name.
pub(crate) fn account_action(
    ours: bool,
    exists: bool,
    has_privilege: bool,
    replica: Option<&server_state::ReplicaState>,
    user: &str,
) -> AccountAction {
    let Some(replica) = replica.filter(|_| ours) else {
        return AccountAction::Create;
    };
    let refused = replica
        .last_io_errno
        .as_deref()
        .and_then(|e| e.trim().parse::<u16>().ok())
        .filter(|code| {
            [
                crate::sql::codes::ACCESS_DENIED,
                crate::sql::codes::ACCESS_DENIED_NO_PASSWORD,
            ]
            .contains(code)
        });
    if let Some(code) = refused {
        return AccountAction::ResetLogin {
            why: format!("the slave's I/O thread is refused by the master (error {code})"),
        };
    }
    if replica.master_user != user {
        return AccountAction::ResetLogin {
            why: format!(
                "the slave logs in as `{}`, not replication.user `{user}`",
                replica.master_user
            ),
        };
    }
    if !exists {
        return AccountAction::ResetLogin {
            why: format!("the account `{user}` the slave logs in as does not exist on the master"),
        };
    }
    if has_privilege {
        AccountAction::InUse
    } else {
        AccountAction::GrantOnly
    }
}

/// The second slave's server id: its own when it differs from the other
/// two, else the smallest one neither uses.
fn third_server_id(configured: Option<u32>, taken: [u32; 2]) -> u32 {
    match configured {
        Some(id) if !taken.contains(&id) => id,
        _ => (1..).find(|id| !taken.contains(id)).unwrap_or(3),
    }
}

/// What the certificates step gives every slave's steps.
struct TlsSettings {
    files: Option<TlsFiles>,
    server: Option<crate::mycnf::role::ServerTls>,
    ca: Option<String>,
}

pub fn build(pair: &mut Pair, report: &Report, run_id: &str, secrets: &Secrets) -> Result<Plan> {
    let mut steps = database_steps(pair, report, run_id, secrets)?;
    steps.extend(super::cluster_access::steps(pair)?);
    steps.extend(super::managers::hand_off_steps(
        pair,
        &secrets.replication_password,
    )?);
    let hold = super::managers::hold(pair)?;
    Ok(Plan {
        hold,
        run_id: run_id.to_string(),
        master_label: pair.answers.master.host.clone(),
        slave_label: pair.answers.slave.host.clone(),
        slave2_label: pair.answers.slave2.host.clone(),
        witness_label: pair.answers.cluster.witness.clone(),
        steps,
        rescues: Vec::new(),
        preamble: Vec::new(),
        side_names: None,
    })
}

/// The steps that make the pair replicate (certificates, both servers'
/// settings, each slave's account, copy and start), before the cluster
/// account and the daemon's: all that the servers decide, so unit tests
/// build them against fake servers.
pub fn database_steps(
    pair: &mut Pair,
    report: &Report,
    run_id: &str,
    secrets: &Secrets,
) -> Result<Vec<StepPlan>> {
    let master_config = pair.master.config()?;
    let slave_config = pair.slave.config()?;
    let (master_id, slave_id) = server_ids(&master_config, &slave_config);
    let mut steps = Vec::new();
    // The certificates come first: the servers read them when they restart
    // with the settings below.
    let tls = TlsFiles::from_answers(&pair.answers.replication);
    if let Some(files) = &tls {
        steps.push(crate::operation::tls_step::step(pair, files, run_id)?);
    }
    let server_tls = tls.as_ref().map(TlsFiles::server_settings);
    let tls_ca = tls.as_ref().map(TlsFiles::ca_text);
    let tls = TlsSettings {
        files: tls,
        server: server_tls,
        ca: tls_ca,
    };

    steps.push(config_step(
        &mut pair.master,
        &master_config,
        &RoleSettings {
            role: ServerRole::Master,
            server_id: master_id,
            databases: Vec::new(),
            bind_address: None,
            run_id: run_id.to_string(),
            tls: tls.server.clone(),
        },
        "configure the master",
    )?);
    steps.extend(slave_steps(
        pair,
        report,
        run_id,
        secrets,
        &tls,
        slave_id,
        slave_config,
    )?);
    // A second slave (Pacemaker, three nodes): the same steps, with it in
    // the slave's place; they run on it (Side::Slave2) and on the master.
    if let Some(slave2) = &pair.slave2 {
        let report2 = report.second_slave.as_deref().ok_or_else(|| {
            Error::Internal("no preflight of the second slave (slave2): plan again".into())
        })?;
        let config = slave2.config()?;
        let id = third_server_id(configured_server_id(&config), [master_id, slave_id]);
        let more =
            pair.with_slave2(|pair| slave_steps(pair, report2, run_id, secrets, &tls, id, config))?;
        steps.extend(more.into_iter().map(|mut step| {
            if step.side == Side::Slave {
                step.side = Side::Slave2;
            }
            step
        }));
    }
    Ok(steps)
}

/// The steps that make `pair.slave` a replicating slave of the master:
/// its configuration, its replication account on the master, its login
/// and TLS, its copy of the data and the start of replication.
fn slave_steps(
    pair: &mut Pair,
    report: &Report,
    run_id: &str,
    secrets: &Secrets,
    tls: &TlsSettings,
    slave_id: u32,
    slave_config: Config,
) -> Result<Vec<StepPlan>> {
    let databases = report.databases.clone();
    let tls_ca = tls.ca.clone();
    let mut steps = Vec::new();
    steps.push(config_step(
        &mut pair.slave,
        &slave_config,
        &RoleSettings {
            role: ServerRole::Slave,
            server_id: slave_id,
            databases: databases.clone(),
            bind_address: None,
            run_id: run_id.to_string(),
            tls: tls.server.clone(),
        },
        "configure the slave",
    )?);

    let replica = server_state::replica_state(pair.slave.sql())?;
    // The slave replicates from this master already (running or not).
    let ours = replica
        .as_ref()
        .is_some_and(|r| r.master_host == pair.answers.master.host);
    if ours && report.adding {
        // A live cluster gets new filters at run time, not by a restart.
        if let Some(slave_step) = steps.last_mut() {
            slave_step
                .changes
                .retain(|c| !matches!(c, Change::RestartServer { .. }));
        }
    }

    // The replication account: REPLICATION SLAVE on *.* only, bound to the slave.
    let repl = pair.answers.replication.clone();
    let who = account(&repl.user, &pair.answers.slave.host);
    let account_undo = UndoRule::Account {
        user: repl.user.clone(),
        host: pair.answers.slave.host.clone(),
    };
    let mut grant = StepPlan {
        name: "replication account",
        side: Side::Master,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    let grants =
        server_state::account_grants(pair.master.sql(), &repl.user, &pair.answers.slave.host)?;
    let has_privilege = grants.as_ref().is_some_and(|g| {
        server_state::global_privileges(g)
            .iter()
            .any(|p| p == "REPLICATION SLAVE")
    });
    let action = account_action(
        ours,
        grants.is_some(),
        has_privilege,
        replica.as_ref(),
        &repl.user,
    );
    let password_sql = quote_string(&secrets.replication_password);
    // Pacemaker's agent points every slave with the one password of its
    // resource (this run's): an account a slave logs in to with another
    // password (our daemon's, before the hand-off) would refuse the slave
    // the agent points after a failover.
    let agent_password_differs = pair.answers.cluster.manager
        == crate::answers::Manager::Pacemaker
        && matches!(action, AccountAction::InUse | AccountAction::GrantOnly)
        && pair
            .master
            .sql()
            .scalar(&format!(
                "SELECT COUNT(*) FROM mysql.user WHERE User = {} AND Host = {} AND authentication_string = PASSWORD({password_sql})",
                quote_string(&repl.user),
                quote_string(&pair.answers.slave.host)
            ))?
            .as_deref()
            != Some("1");
    // With TLS the account refuses a connection in plain text (Pacemaker's
    // agent points slaves through a client that adds the TLS options:
    // setup::pacemaker::agent_client).
    let require_tls = tls.files.is_some();
    let require = if require_tls { " REQUIRE SSL" } else { "" };
    let requires_tls = grants.is_some()
        && server_state::account_requires_tls(
            pair.master.sql(),
            &repl.user,
            &pair.answers.slave.host,
        )?;
    let mut login = None;
    match action {
        AccountAction::InUse => grant
            .summary
            .push(format!("{who} exists and the slave logs in with it")),
        AccountAction::GrantOnly => {
            // The slave logs in with the password it has: never change it here.
            grant.changes.push(Change::Sql(Statement::control(
                "SET SESSION sql_log_bin = 0",
            )));
            grant.changes.push(Change::Sql(Statement::new(
                format!("GRANT REPLICATION SLAVE ON *.* TO {who}"),
                account_undo.clone(),
            )));
            grant.changes.push(Change::Sql(Statement::control(
                "SET SESSION sql_log_bin = 1",
            )));
        }
        AccountAction::Create | AccountAction::ResetLogin { .. } => {
            if let AccountAction::ResetLogin { why } = &action {
                grant.summary.push(format!(
                    "{why}: the account gets this run's password and the slave logs in with it"
                ));
            }
            // Kept out of the binary log: the slave gets accounts from nobody.
            grant.changes.push(Change::Sql(Statement::control(
                "SET SESSION sql_log_bin = 0",
            )));
            let verb = if grants.is_some() {
                "ALTER USER"
            } else {
                "CREATE USER"
            };
            grant.changes.push(Change::Sql(Statement::masked(
                format!("{verb} {who} IDENTIFIED BY '********'{require}"),
                format!("{verb} {who} IDENTIFIED BY {password_sql}{require}"),
                account_undo.clone(),
            )));
            if !has_privilege {
                grant.changes.push(Change::Sql(Statement::new(
                    format!("GRANT REPLICATION SLAVE ON *.* TO {who}"),
                    account_undo.clone(),
                )));
            }
            grant.changes.push(Change::Sql(Statement::control(
                "SET SESSION sql_log_bin = 1",
            )));
            if matches!(action, AccountAction::ResetLogin { .. }) {
                let flavor = pair.slave.sql().flavor();
                login = Some(StepPlan {
                    name: "replication login",
                    side: Side::Slave,
                    changes: Statement::all(
                        flavor.replica_credentials(&repl.user, &secrets.replication_password),
                        &UndoRule::Source { target: None },
                    )
                    .into_iter()
                    .map(Change::Sql)
                    .collect(),
                    summary: vec![format!(
                        "the slave logs in to the master as {who} with this run's password (position kept)"
                    )],
                });
            }
        }
    }
    let in_use = matches!(action, AccountAction::InUse | AccountAction::GrantOnly);
    if agent_password_differs {
        // The account and the slave's login get the agent's password, the
        // slave keeping its position. Not undone: a rollback cannot give
        // the slave its old password back (the server shows it nowhere),
        // so both keep this one and the slave keeps replicating.
        grant.summary.push(format!(
            "{who} gets the password Pacemaker's agent points every slave with, and the slave the same login (kept by a rollback, so the slave keeps replicating)"
        ));
        grant.changes.extend([
            Change::Sql(Statement::control("SET SESSION sql_log_bin = 0")),
            Change::Sql(Statement::masked(
                format!("ALTER USER {who} IDENTIFIED BY '********'"),
                format!("ALTER USER {who} IDENTIFIED BY {password_sql}"),
                UndoRule::Kept,
            )),
            Change::Sql(Statement::control("SET SESSION sql_log_bin = 1")),
        ]);
        let flavor = pair.slave.sql().flavor();
        login = Some(StepPlan {
            name: "replication login",
            side: Side::Slave,
            // STOP and START SLAVE around the one change that is kept.
            changes: flavor
                .replica_credentials(&repl.user, &secrets.replication_password)
                .into_iter()
                .map(|(shown, real)| {
                    Change::Sql(if shown == real {
                        Statement::control(real)
                    } else {
                        Statement::masked(shown, real, UndoRule::Kept)
                    })
                })
                .collect(),
            summary: vec![format!(
                "the slave logs in to the master as {who} with the agent's password (position kept)"
            )],
        });
    }
    if require_tls && !requires_tls && in_use {
        grant.summary.push(format!(
            "{who} accepts plain-text logins: it will require TLS"
        ));
        grant.changes.extend([
            Change::Sql(Statement::control("SET SESSION sql_log_bin = 0")),
            Change::Sql(Statement::new(
                format!("ALTER USER {who} REQUIRE SSL"),
                account_undo.clone(),
            )),
            Change::Sql(Statement::control("SET SESSION sql_log_bin = 1")),
        ]);
    }
    // replication.tls = "off" under Pacemaker: the agent points slaves in
    // plain text (no TLS options for its client), so an account that
    // requires TLS from an earlier run would refuse them.
    let agent_plain =
        pair.answers.cluster.manager == crate::answers::Manager::Pacemaker && tls.files.is_none();
    if agent_plain && requires_tls && grants.is_some() {
        grant.summary.push(format!(
            "{who} requires TLS, and replication.tls = \"off\": Pacemaker's agent points slaves in plain text, so it will accept plain text"
        ));
        grant.changes.extend([
            Change::Sql(Statement::control("SET SESSION sql_log_bin = 0")),
            Change::Sql(Statement::new(
                format!("ALTER USER {who} REQUIRE NONE"),
                account_undo.clone(),
            )),
            Change::Sql(Statement::control("SET SESSION sql_log_bin = 1")),
        ]);
    }
    steps.push(grant);
    let login_restarts = login.is_some();
    steps.extend(login);
    // A slave of this master that connects in plain text (or trusts other
    // files) moves onto TLS, keeping its position.
    let mut tls_restarts = false;
    if let (Some(ca), Some(r), true) = (&tls_ca, &replica, ours) {
        if !r.uses_tls(ca) {
            let flavor = pair.slave.sql().flavor();
            tls_restarts = true;
            steps.push(StepPlan {
                name: "replication over TLS",
                side: Side::Slave,
                changes: flavor
                    .replica_tls(ca)
                    .into_iter()
                    .map(|sql| Change::Sql(Statement::new(sql, UndoRule::Source { target: None })))
                    .collect(),
                summary: vec![format!(
                    "the slave connects to the master over TLS, verifying its certificate with {ca}"
                )],
            });
        }
    }

    let mut seed = StepPlan {
        name: if report.adding {
            "add databases"
        } else {
            "seed the slave"
        },
        side: Side::Slave,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    let mut start = StepPlan {
        name: crate::operation::plan::START_REPLICATION,
        side: Side::Slave,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    let flavor = pair.slave.sql().flavor();
    if ours {
        if report.adding {
            let copy = copy_plan(pair, &report.to_copy, true)?;
            // Every database the slave replicates now stays replicated.
            let mut all: Vec<String> = replica
                .as_ref()
                .map(|r| r.replicated_databases.clone())
                .unwrap_or_default();
            for db in &databases {
                if !all.contains(db) {
                    all.push(db.clone());
                }
            }
            seed.summary.extend(copy.describe());
            seed.changes.push(Change::AddDatabases {
                databases: report.to_copy.clone(),
                all,
                copy,
                replace: false,
                flavor: pair.slave.sql().flavor(),
            });
        } else {
            seed.summary
                .push("the slave already replicates these databases: no copy".into());
        }
        if report.adding {
            start
                .summary
                .push("the slave starts again once the new databases are in".into());
        } else if replica.as_ref().is_some_and(|r| r.running()) {
            start.summary.push(format!(
                "already replicating from {}",
                pair.answers.master.host
            ));
        } else if login_restarts || tls_restarts {
            start
                .summary
                .push("started again by the replication login or TLS step".into());
        } else {
            // Pointed at this master by an earlier run that did not start it.
            start.changes.push(Change::StartReplication {
                statements: vec![Statement::control(flavor.start_replica())],
            });
        }
    } else {
        if repl.seed != SeedMethod::None {
            let mut copy = copy_plan(pair, &databases, false)?;
            if let CopyKind::Backup(backup) = &mut copy.kind {
                defer_slave_restart_to_copy(&mut steps, backup);
            }
            if let CopyKind::Clone(clone) = &copy.kind {
                steps.push(StepPlan {
                    name: "clone donor",
                    side: Side::Master,
                    changes: clone
                        .donor_statements
                        .iter()
                        .cloned()
                        .map(Change::Sql)
                        .collect(),
                    summary: vec![format!(
                        "the slave clones the master's instance: the clone plugin and a donor account with BACKUP_ADMIN, dropped after the copy"
                    )],
                });
            }
            seed.changes.push(Change::Seed { copy });
        } else {
            seed.summary.push(
                "replication.seed = \"none\": the slave must already hold the master's data".into(),
            );
        }
        let placeholder =
            Position::MariaDbGtid(crate::operation::apply::SNAPSHOT_PLACEHOLDER.into());
        let position = if flavor.family == crate::sql::Family::MariaDb {
            placeholder
        } else {
            Position::MySqlGtidAuto
        };
        let master_tls = {
            let query = pair.master.sql().flavor().offers_tls_query();
            pair.master.sql().scalar(query)?.as_deref() == Some("1")
        };
        let mut statements = Vec::new();
        let target = Some((
            pair.answers.master.host.clone(),
            pair.answers.master.mysql_port,
        ));
        if replica.is_some() {
            // Its undo starts the slave again when it ran before.
            statements.push(Statement::new(
                flavor.stop_replica(),
                UndoRule::Source {
                    target: target.clone(),
                },
            ));
        }
        // The slave's position: its files and restart are what rollback puts back.
        for adopt in flavor.adopt_snapshot_gtids(crate::operation::apply::SNAPSHOT_PLACEHOLDER) {
            statements.push(Statement::control(adopt));
        }
        for (shown, real) in flavor.point_replica(&SourceSpec {
            host: &pair.answers.master.host,
            port: pair.answers.master.mysql_port,
            user: &repl.user,
            password: &secrets.replication_password,
            position: &position,
            tls_ca: tls_ca.as_deref(),
            source_tls: master_tls,
        }) {
            statements.push(Statement::masked(
                shown,
                real,
                UndoRule::Source {
                    target: target.clone(),
                },
            ));
        }
        statements.push(Statement::control(flavor.start_replica()));
        start.changes.push(Change::StartReplication { statements });
    }
    steps.push(seed);
    steps.push(start);
    Ok(steps)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn replica(user: &str, errno: &str) -> server_state::ReplicaState {
        server_state::ReplicaState {
            master_host: "192.0.2.11".into(),
            master_user: user.into(),
            io_running: if errno == "0" { "Yes" } else { "Connecting" }.into(),
            sql_running: "Yes".into(),
            last_io_errno: Some(errno.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_slave_refused_by_the_master_gets_a_new_login() {
        let refused = replica("repl", "1045");
        let action = account_action(true, true, true, Some(&refused), "repl");
        match action {
            AccountAction::ResetLogin { why } => assert!(why.contains("1045"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            account_action(true, true, true, Some(&replica("repl", "1698")), "repl"),
            AccountAction::ResetLogin { .. }
        ));
    }

    #[test]
    fn a_second_slave_gets_a_server_id_of_its_own() {
        assert_eq!(third_server_id(None, [1, 2]), 3);
        assert_eq!(third_server_id(None, [2, 3]), 1);
        assert_eq!(third_server_id(Some(7), [1, 2]), 7);
        assert_eq!(third_server_id(Some(7), [7, 2]), 1);
    }

    #[test]
    fn a_slave_that_logs_in_keeps_its_password() {
        let fine = replica("repl", "0");
        assert_eq!(
            account_action(true, true, true, Some(&fine), "repl"),
            AccountAction::InUse
        );
        assert_eq!(
            account_action(true, true, false, Some(&fine), "repl"),
            AccountAction::GrantOnly
        );
        // A network error is not a refused login.
        assert_eq!(
            account_action(true, true, true, Some(&replica("repl", "2003")), "repl"),
            AccountAction::InUse
        );
    }

    #[test]
    fn another_login_or_a_missing_account_is_reset() {
        assert!(matches!(
            account_action(true, true, true, Some(&replica("old", "0")), "repl"),
            AccountAction::ResetLogin { .. }
        ));
        assert!(matches!(
            account_action(true, false, false, Some(&replica("repl", "0")), "repl"),
            AccountAction::ResetLogin { .. }
        ));
        assert_eq!(
            account_action(false, true, true, Some(&replica("repl", "0")), "repl"),
            AccountAction::Create
        );
        assert_eq!(
            account_action(false, false, false, None, "repl"),
            AccountAction::Create
        );
    }
}
