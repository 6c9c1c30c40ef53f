//! Computes the plan from the nodes' current state: what is already in place
//! becomes "unchanged", the rest becomes changes.

use super::pair::{Member, Pair};
use super::plan::{Change, Plan, Side, Statement, StepPlan};
use super::preflight::Report;
use super::state::{self, ReplicaState};
use crate::mycnf::role::{plan_edits, ChangeStatus, Role, RoleSettings};
use crate::sql::flavor::{account, quote_string, SourceSpec};
use crate::sql::Position;
use crate::Result;

/// The secret the run uses for the replication account (generated or given).
pub struct Secrets {
    pub replication_password: String,
}

fn configured_server_id(member: &Member) -> Result<Option<u32>> {
    let config = member.config()?;
    Ok(config
        .get("server_id")
        .and_then(|entry| {
            entry
                .value
                .as_deref()
                .and_then(|v| v.trim().parse::<u32>().ok())
        })
        .filter(|id| *id > 0))
}

/// Server ids: keep what is configured when the two differ, else 1 and 2.
fn server_ids(pair: &Pair) -> Result<(u32, u32)> {
    let master = configured_server_id(&pair.master)?.unwrap_or(1);
    let slave = match configured_server_id(&pair.slave)? {
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
    Ok((master, slave))
}

fn config_step(member: &Member, settings: &RoleSettings, name: &'static str) -> Result<StepPlan> {
    let config = member.config()?;
    let mycnf = plan_edits(&config, settings)?;
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
    let mut changes: Vec<Change> = mycnf.file_edits.into_iter().map(Change::File).collect();
    if !changes.is_empty() {
        changes.push(Change::RestartServer {
            argv: member.profile.service.restart.clone(),
        });
    }
    Ok(StepPlan {
        name,
        side: member.side,
        changes,
        summary,
    })
}

fn dump_argv(member: &mut Member, databases: &[String]) -> Vec<String> {
    let flavor = member.sql().flavor();
    let mut argv = vec![
        member.profile.programs.dump.clone(),
        "--single-transaction".into(),
        flavor.dump_position_option().into(),
    ];
    if flavor.family == crate::sql::Family::MariaDb {
        argv.push("--gtid".into());
    }
    argv.extend(
        [
            "--routines",
            "--triggers",
            "--events",
            "--hex-blob",
            "--databases",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    argv.extend(databases.iter().cloned());
    argv
}

fn load_argv(member: &Member) -> Vec<String> {
    vec![
        member.profile.programs.client.clone(),
        // The copy is the master's data, not the slave's own history.
        "--init-command=SET SESSION sql_log_bin=0".into(),
        "--binary-mode".into(),
    ]
}

/// True when the slave already replicates every chosen database from this
/// master with both threads running.
pub fn replicating_already(
    replica: &Option<ReplicaState>,
    pair: &Pair,
    databases: &[String],
) -> bool {
    match replica {
        Some(r) => {
            r.master_host == pair.answers.master.host
                && r.running()
                && databases
                    .iter()
                    .all(|d| r.replicate_do_db.iter().any(|x| x == d))
        }
        None => false,
    }
}

pub fn build(pair: &mut Pair, report: &Report, run_id: &str, secrets: &Secrets) -> Result<Plan> {
    let databases = report.databases.clone();
    let (master_id, slave_id) = server_ids(pair)?;
    let mut steps = Vec::new();

    steps.push(config_step(
        &pair.master,
        &RoleSettings {
            role: Role::Master,
            server_id: master_id,
            databases: Vec::new(),
            bind_address: None,
            run_id: run_id.to_string(),
        },
        "configure the master",
    )?);
    steps.push(config_step(
        &pair.slave,
        &RoleSettings {
            role: Role::Slave,
            server_id: slave_id,
            databases: databases.clone(),
            bind_address: None,
            run_id: run_id.to_string(),
        },
        "configure the slave",
    )?);

    let replica = state::replica_state(pair.slave.sql())?;
    let in_place = replicating_already(&replica, pair, &databases);

    // The replication account: REPLICATION SLAVE on *.* only, bound to the slave.
    let repl = &pair.answers.replication;
    let who = account(&repl.user, &pair.answers.slave.host);
    let mut grant = StepPlan {
        name: "replication account",
        side: Side::Master,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    let grants = state::account_grants(pair.master.sql(), &repl.user, &pair.answers.slave.host)?;
    let has_privilege = grants.as_ref().is_some_and(|g| {
        state::global_privileges(g)
            .iter()
            .any(|p| p == "REPLICATION SLAVE")
    });
    let password_sql = quote_string(&secrets.replication_password);
    if in_place && has_privilege {
        grant
            .summary
            .push(format!("{who} exists and the slave uses it"));
    } else {
        // Kept out of the binary log: the slave gets accounts from nobody.
        grant
            .changes
            .push(Change::Sql(Statement::plain("SET SESSION sql_log_bin = 0")));
        let verb = if grants.is_some() {
            "ALTER USER"
        } else {
            "CREATE USER"
        };
        grant.changes.push(Change::Sql(Statement {
            shown: format!("{verb} {who} IDENTIFIED BY '********'"),
            real: format!("{verb} {who} IDENTIFIED BY {password_sql}"),
        }));
        if !has_privilege {
            grant.changes.push(Change::Sql(Statement::plain(format!(
                "GRANT REPLICATION SLAVE ON *.* TO {who}"
            ))));
        }
        grant
            .changes
            .push(Change::Sql(Statement::plain("SET SESSION sql_log_bin = 1")));
    }
    steps.push(grant);

    let mut seed = StepPlan {
        name: "seed the slave",
        side: Side::Slave,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    let mut start = StepPlan {
        name: "start replication",
        side: Side::Slave,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    if in_place {
        seed.summary
            .push("the slave already replicates these databases: no copy".into());
        start.summary.push(format!(
            "already replicating from {}",
            pair.answers.master.host
        ));
    } else {
        let seeding = repl.seed == crate::answers::SeedMethod::Dump;
        if seeding {
            let estimated_bytes = state::databases_size(pair.master.sql(), &databases)?;
            let dump = dump_argv(&mut pair.master, &databases);
            seed.changes.push(Change::Seed {
                databases: databases.clone(),
                estimated_bytes,
                dump_argv: dump,
                load_argv: load_argv(&pair.slave),
            });
        } else {
            seed.summary.push(
                "replication.seed = \"none\": the slave must already hold the master's data".into(),
            );
        }
        let flavor = pair.slave.sql().flavor();
        let placeholder = Position::MariaDbGtid(super::apply::SNAPSHOT_PLACEHOLDER.into());
        let position = if flavor.family == crate::sql::Family::MariaDb {
            placeholder
        } else {
            Position::MySqlGtidAuto
        };
        let mut statements = Vec::new();
        if replica.is_some() {
            statements.push(Statement::plain(flavor.stop_replica()));
        }
        for (shown, real) in flavor.point_replica(&SourceSpec {
            host: &pair.answers.master.host,
            port: pair.answers.master.mysql_port,
            user: &repl.user,
            password: &secrets.replication_password,
            position: &position,
        }) {
            statements.push(Statement { shown, real });
        }
        statements.push(Statement::plain(flavor.start_replica()));
        start.changes.push(Change::StartReplication { statements });
    }
    steps.push(seed);
    steps.push(start);
    steps.extend(super::cluster_access::steps(pair)?);

    Ok(Plan {
        run_id: run_id.to_string(),
        master_label: pair.answers.master.host.clone(),
        slave_label: pair.answers.slave.host.clone(),
        steps,
    })
}
