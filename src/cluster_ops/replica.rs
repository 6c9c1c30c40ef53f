//! Steps rejoin and switchover share: make a node's option files say what
//! its role is (through the backed-up editor and the run journal), give a
//! slave its replication account on the master, point it there and wait
//! until it replicates.

use std::time::{Duration, Instant};

use crate::backup::{self, Journal};
use crate::events::{Event, Reporter};
use crate::mycnf::role::{plan_edits, RoleSettings, ServerRole};
use crate::setup::pair::Member;
use crate::setup::state::{self, ReplicaState};
use crate::setup::statement::{self, Statement};
use crate::setup::undo::UndoRule;
use crate::sql::flavor::{account, quote_string, SourceSpec};
use crate::sql::Position;
use crate::{Error, Result};

pub fn note(reporter: &dyn Reporter, message: impl Into<String>) {
    reporter.event(Event::Note {
        message: message.into(),
    });
}

/// Runs a statement and journals it with its undo (secrets masked).
pub fn exec(member: &mut Member, journal: &mut Journal, statement: &Statement) -> Result<()> {
    statement::run(member, journal, statement)
}

/// A statement rollback does not undo (and says so).
pub fn exec_plain(member: &mut Member, journal: &mut Journal, sql: &str) -> Result<()> {
    exec(member, journal, &Statement::plain(sql))
}

/// A statement with nothing to undo (starting or stopping replication, a
/// session setting).
pub fn exec_control(member: &mut Member, journal: &mut Journal, sql: &str) -> Result<()> {
    exec(member, journal, &Statement::control(sql))
}

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

/// Makes the option files those of a slave replicating `databases`
/// (read-only, relay log, one replicate-wild-do-table = DB.% each); restarts the server
/// when a file changed, restoring the files if it does not come back.
/// Returns whether anything changed.
pub fn configure_slave(
    member: &mut Member,
    journal: &mut Journal,
    databases: &[String],
    reporter: &dyn Reporter,
) -> Result<bool> {
    let config = member.config()?;
    let settings = RoleSettings {
        role: ServerRole::Slave,
        server_id: server_id(member)?,
        databases: databases.to_vec(),
        bind_address: None,
        run_id: journal.run_id.clone(),
        tls: None,
    };
    let plan = plan_edits(&config, &settings)?;
    if plan.is_unchanged() {
        note(
            reporter,
            format!("{}: option files already those of a slave", member.label()),
        );
        return Ok(false);
    }
    note(
        reporter,
        format!(
            "{}: option files become those of a slave:\n{}",
            member.label(),
            plan.render_changes()
        ),
    );
    backup::apply_file_edits(member.access.node(), journal, &plan.file_edits)?;
    // read-only is also set at run time: a change of it alone needs no restart.
    let needs_restart = plan
        .changes
        .iter()
        .any(|c| c.status == crate::mycnf::role::ChangeStatus::Changed && c.option != "read-only");
    if !needs_restart {
        return Ok(true);
    }
    let argv = member.profile.service.restart.clone();
    crate::setup::apply::restart_or_restore(member, journal, &argv, reporter)?;
    Ok(true)
}

/// Makes `read-only` in the option files say `on` (the running value is set
/// apart, by SQL).
pub fn persist_read_only(
    member: &mut Member,
    journal: &mut Journal,
    on: bool,
    why: &str,
) -> Result<bool> {
    let config = member.config()?;
    match crate::daemon::persist::read_only_edits(
        &config,
        &member.profile,
        &journal.run_id,
        on,
        why,
    ) {
        Some(edits) => {
            backup::apply_file_edits(member.access.node(), journal, &edits)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Creates (or renews the password of) the replication account of
/// `slave_host` on `master`, kept out of the binary log; returns the password.
pub fn replication_account(
    master: &mut Member,
    journal: &mut Journal,
    user: &str,
    slave_host: &str,
    require_tls: bool,
) -> Result<String> {
    let password = crate::answers::generate_password();
    let who = account(user, slave_host);
    let secret = quote_string(&password);
    let undo = UndoRule::Account {
        user: user.to_string(),
        host: slave_host.to_string(),
    };
    exec_control(master, journal, "SET SESSION sql_log_bin = 0")?;
    let result = (|| {
        exec(
            master,
            journal,
            &Statement::masked(
                format!("CREATE USER IF NOT EXISTS {who} IDENTIFIED BY '********'"),
                format!("CREATE USER IF NOT EXISTS {who} IDENTIFIED BY {secret}"),
                undo.clone(),
            ),
        )?;
        exec(
            master,
            journal,
            &Statement::masked(
                format!("ALTER USER {who} IDENTIFIED BY '********'"),
                format!("ALTER USER {who} IDENTIFIED BY {secret}"),
                undo.clone(),
            ),
        )?;
        if require_tls {
            exec(
                master,
                journal,
                &Statement::new(format!("ALTER USER {who} REQUIRE SSL"), undo.clone()),
            )?;
        }
        exec(
            master,
            journal,
            &Statement::new(
                format!("GRANT REPLICATION SLAVE ON *.* TO {who}"),
                undo.clone(),
            ),
        )
    })();
    exec_control(master, journal, "SET SESSION sql_log_bin = 1")?;
    result.map(|()| password)
}

pub struct Source<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub password: &'a str,
    /// The CA file the replica verifies the source with; None: plain text.
    pub tls_ca: Option<&'a str>,
    /// The source server accepts TLS.
    pub tls: bool,
}

/// Whether a server accepts TLS connections (a replica of it may use TLS).
pub fn offers_tls(member: &mut Member) -> Result<bool> {
    let query = member.sql().flavor().offers_tls_query();
    Ok(member.sql().scalar(query)?.as_deref() == Some("1"))
}

/// Points `slave` at `source` from GTID `position` and starts it.
pub fn point_and_start(
    slave: &mut Member,
    journal: &mut Journal,
    source: &Source<'_>,
    position: &str,
) -> Result<()> {
    let flavor = slave.sql().flavor();
    if state::replica_state(slave.sql())?.is_some() {
        // Forgetting the old source is not undone: its password is gone.
        exec_control(slave, journal, flavor.stop_replica())?;
        exec_plain(slave, journal, flavor.reset_replica_all())?;
    }
    // A MySQL node that already holds its history auto-positions from it.
    let position = match flavor.family {
        crate::sql::Family::MariaDb => Position::MariaDbGtid(position.to_string()),
        crate::sql::Family::MySql => Position::MySqlGtidAuto,
    };
    for (shown, real) in flavor.point_replica(&SourceSpec {
        host: source.host,
        port: source.port,
        user: source.user,
        password: source.password,
        position: &position,
        tls_ca: source.tls_ca,
        source_tls: source.tls,
    }) {
        let target = Some((source.host.to_string(), source.port));
        exec(
            slave,
            journal,
            &Statement::masked(shown, real, UndoRule::Source { target }),
        )?;
    }
    exec_control(slave, journal, flavor.start_replica())
}

/// Waits until both replication threads run; Err(state) when one stopped
/// with an error or `limit` passed.
pub fn wait_running(
    slave: &mut Member,
    limit: Duration,
) -> Result<std::result::Result<ReplicaState, Option<ReplicaState>>> {
    let started = Instant::now();
    loop {
        let replica = state::replica_state(slave.sql())?;
        match &replica {
            Some(r) if r.running() && started.elapsed() > Duration::from_millis(1500) => {
                return Ok(Ok(r.clone()))
            }
            Some(r) if r.io_running == "No" && !r.last_io_error.is_empty() => {
                return Ok(Err(replica));
            }
            Some(r) if r.sql_running == "No" && !r.last_sql_error.is_empty() => {
                return Ok(Err(replica));
            }
            None => return Ok(Err(None)),
            _ => {}
        }
        if started.elapsed() > limit {
            return Ok(Err(replica));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

pub fn describe_replica(replica: &Option<ReplicaState>) -> String {
    match replica {
        Some(r) => format!(
            "io={} sql={} {}{}",
            r.io_running, r.sql_running, r.last_io_error, r.last_sql_error
        ),
        None => "no replication configured".into(),
    }
}
