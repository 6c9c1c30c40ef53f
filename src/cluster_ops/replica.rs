//! Changes rejoin and switchover share, built as plan changes: a node's
//! option files made those of a slave, the replication account of a slave
//! on its master, pointing a replica at its source, read-only on and off.

use crate::mycnf::role::{plan_edits, ChangeStatus, RoleSettings, ServerRole};
use crate::operation::pair::Member;
use crate::operation::plan::Change;
use crate::operation::statement::Statement;
use crate::operation::undo::UndoRule;
use crate::sql::flavor::{account, quote_string, SourceSpec};
use crate::sql::{Flavor, Position};
use crate::{Error, Result};

fn server_id(member: &mut Member) -> Result<u32> {
    member
        .sql()
        .scalar("SELECT @@GLOBAL.server_id")?
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Node {
            node: member.label().to_string(),
            message: "the server reports no server_id".into(),
        })
}

/// The option-file edits that make `member` a slave replicating
/// `databases` (read-only, relay log, one replicate-wild-do-table = DB.%
/// each), then a restart when a setting other than read-only changes (the
/// executor restores the files if the server does not come back); and
/// lines that say what changes.
pub fn slave_files(
    member: &mut Member,
    databases: &[String],
    run_id: &str,
) -> Result<(Vec<Change>, Vec<String>)> {
    let config = member.config()?;
    let settings = RoleSettings {
        role: ServerRole::Slave,
        server_id: server_id(member)?,
        databases: databases.to_vec(),
        bind_address: None,
        run_id: run_id.to_string(),
        tls: None,
    };
    let plan = plan_edits(&config, &settings)?;
    if plan.is_unchanged() {
        return Ok((
            Vec::new(),
            vec!["option files already those of a slave".into()],
        ));
    }
    let mut changes: Vec<Change> = plan.file_edits.iter().cloned().map(Change::File).collect();
    // read-only is also set at run time: a change of it alone needs no restart.
    let needs_restart = plan
        .changes
        .iter()
        .any(|c| c.status == ChangeStatus::Changed && c.option != "read-only");
    if needs_restart {
        changes.push(Change::RestartServer {
            argv: member.profile.service.restart.clone(),
        });
    }
    let summary = plan
        .render_changes()
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    Ok((changes, summary))
}

/// Read-only on (`on`) or off at run time, in the order the variables
/// allow: super_read_only follows read_only, so it is set last when on and
/// first when off.
pub fn read_only(flavor: &Flavor, on: bool) -> Vec<Change> {
    let value = if on { "ON" } else { "OFF" };
    let variables = flavor.read_only_variables();
    let ordered: Vec<&str> = if on {
        variables.to_vec()
    } else {
        variables.iter().rev().copied().collect()
    };
    ordered
        .into_iter()
        .map(|variable| Change::Sql(Statement::plain(format!("SET GLOBAL {variable} = {value}"))))
        .collect()
}

/// Creates (or renews the password of) the replication account of
/// `slave_host`, kept out of the binary log (the slave gets accounts from
/// nobody). The password shows masked.
pub fn account_changes(
    user: &str,
    slave_host: &str,
    password: &str,
    require_tls: bool,
) -> Vec<Change> {
    let who = account(user, slave_host);
    let secret = quote_string(password);
    let undo = UndoRule::Account {
        user: user.to_string(),
        host: slave_host.to_string(),
    };
    let mut changes = vec![
        Change::Sql(Statement::control("SET SESSION sql_log_bin = 0")),
        Change::Sql(Statement::masked(
            format!("CREATE USER IF NOT EXISTS {who} IDENTIFIED BY '********'"),
            format!("CREATE USER IF NOT EXISTS {who} IDENTIFIED BY {secret}"),
            undo.clone(),
        )),
        Change::Sql(Statement::masked(
            format!("ALTER USER {who} IDENTIFIED BY '********'"),
            format!("ALTER USER {who} IDENTIFIED BY {secret}"),
            undo.clone(),
        )),
    ];
    if require_tls {
        changes.push(Change::Sql(Statement::new(
            format!("ALTER USER {who} REQUIRE SSL"),
            undo.clone(),
        )));
    }
    changes.push(Change::Sql(Statement::new(
        format!("GRANT REPLICATION SLAVE ON *.* TO {who}"),
        undo,
    )));
    changes.push(Change::Sql(Statement::control(
        "SET SESSION sql_log_bin = 1",
    )));
    changes
}

/// Where a replica connects and how it logs in (no Debug: the password).
#[derive(Clone)]
pub struct Source {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The CA file the replica verifies the source with; None: plain text.
    pub tls_ca: Option<String>,
    /// The source server accepts TLS.
    pub tls: bool,
}

/// Whether a server accepts TLS connections (a replica of it may use TLS).
pub fn offers_tls(member: &mut Member) -> Result<bool> {
    let query = member.sql().flavor().offers_tls_query();
    Ok(member.sql().scalar(query)?.as_deref() == Some("1"))
}

/// Points a replica at `source` from GTID `position` (a value, or a
/// placeholder filled at run time) and starts it. `configured`: the
/// replica has a source now, which it forgets first (not undone: its
/// password is gone).
pub fn point_changes(
    flavor: &Flavor,
    configured: bool,
    source: &Source,
    position: &str,
) -> Vec<Change> {
    let mut changes = Vec::new();
    if configured {
        changes.push(Change::Sql(Statement::control(flavor.stop_replica())));
        changes.push(Change::Sql(Statement::plain(flavor.reset_replica_all())));
    }
    // A MySQL node that already holds its history auto-positions from it.
    let position = match flavor.family {
        crate::sql::Family::MariaDb => Position::MariaDbGtid(position.to_string()),
        crate::sql::Family::MySql => Position::MySqlGtidAuto,
    };
    let target = Some((source.host.clone(), source.port));
    for (shown, real) in flavor.point_replica(&SourceSpec {
        host: &source.host,
        port: source.port,
        user: &source.user,
        password: &source.password,
        position: &position,
        tls_ca: source.tls_ca.as_deref(),
        source_tls: source.tls,
    }) {
        changes.push(Change::Sql(Statement::masked(
            shown,
            real,
            UndoRule::Source {
                target: target.clone(),
            },
        )));
    }
    changes.push(Change::Sql(Statement::control(flavor.start_replica())));
    changes
}
