//! The physical copy on Oracle MySQL (8.0.17 and later): the clone plugin.
//! The master (donor) gets the plugin and a temporary account with
//! BACKUP_ADMIN (its own plan step, journaled on the master); the slave
//! (recipient) keeps its own datadir in the run's folder for rollback,
//! gets the plugin, names the master as its only valid donor, and runs
//! `CLONE INSTANCE FROM ...` through the admin login (CLONE_ADMIN). The
//! clone replaces the slave's whole instance and restarts its server; a
//! server no supervisor restarts (error 3707, as under Debian's init
//! script) is started through the profile's service command. The slave
//! then holds the master's `gtid_executed` as of the copy, which the start
//! of replication adopts before auto-positioning. Afterwards the donor
//! account is dropped on both, the master's databases that were not chosen
//! are dropped on the slave, and accounts only the slave had come back.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{CopyPlan, Progress, SeedResult};
use crate::backup::{Journal, JournalEntry};
use crate::events::{Event, Reporter};
use crate::operation::pair::Member;
use crate::operation::plan::Statement;
use crate::operation::undo::UndoRule;
use crate::sql::flavor::{account, quote_ident};
use crate::sql::{Position, SqlConn};
use crate::{Error, Result};

const STEP: &str = "seed the slave";

/// The donor account's name (temporary: dropped once the copy is in).
pub const DONOR_USER: &str = "mysqlha_clone";
/// The clone plugin's name (what `INSTALL PLUGIN` gives it).
const CLONE_PLUGIN: &str = "clone";

/// The server shuts down after the clone and nothing restarts it (no
/// supervisor such as systemd or mysqld_safe); MySQL's words: "Restart
/// server failed (mysqld is not managed by supervisor process)". Seen live
/// under Debian's init script in the sandbox.
const NOT_SUPERVISED: u16 = 3707;

#[derive(Debug, Clone)]
pub struct ClonePlan {
    /// On the master, before the copy: plugin and donor account.
    pub donor_statements: Vec<Statement>,
    /// On the master and the slave after the copy (binary log off).
    pub drop_donor: String,
    /// On the slave: the plugin, when it is not active there yet.
    pub install_on_slave: Option<String>,
    pub donor_list: String,
    /// On the slave, with TLS: the CA that verifies the master's certificate.
    pub trust_donor: Option<String>,
    pub clone: Statement,
    /// The slave's datadir, replaced by the copy (its own kept for rollback).
    pub datadir: PathBuf,
    /// Master databases that come along but were not chosen.
    pub drop_after: Vec<String>,
    /// What the clone moves: every table of the instance (an estimate).
    pub instance_bytes: u64,
}

impl ClonePlan {
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "on slave: stop the server, keep {} as <run folder>/datadir.before (for rollback), start",
                self.datadir.display()
            ),
        ];
        if let Some(install) = &self.install_on_slave {
            lines.push(format!("on slave: {install}"));
        }
        lines.push(format!("on slave: {}", self.donor_list));
        if let Some(trust) = &self.trust_donor {
            lines.push(format!("on slave: {trust}"));
        }
        lines.push(format!(
            "on slave: {} (the server restarts on the copy; started by its service command when no supervisor does)",
            self.clone.shown
        ));
        lines.push(format!(
            "the copy carries the whole instance, about {} (every database and the accounts); accounts only the slave had are put back; the start position is the copy's gtid_executed",
            crate::operation::plan::human_bytes(self.instance_bytes)
        ));
        lines.push(format!(
            "after the copy, on master and slave (binary log off): {}",
            self.drop_donor
        ));
        if !self.drop_after.is_empty() {
            lines.push(format!(
                "not chosen, dropped on the slave after the copy: {}",
                self.drop_after.join(", ")
            ));
        }
        lines
    }
}

/// Why MySQL's clone plugin cannot seed this slave, or None when it can.
pub fn blocker(master: &mut Member, slave: &mut Member, adding: bool) -> Result<Option<String>> {
    for member in [&mut *master, &mut *slave] {
        let flavor = member.sql().flavor();
        if !flavor.has_clone_plugin() {
            return Ok(Some(match flavor.family {
                crate::sql::Family::MariaDb => {
                    "the clone plugin is Oracle MySQL's (MariaDB's physical copy is \"backup\")"
                        .to_string()
                }
                crate::sql::Family::MySql => format!(
                    "the clone plugin needs MySQL 8.0.17 or later ({} runs {flavor})",
                    member.label()
                ),
            }));
        }
    }
    if let Some(why) = super::backup::whole_instance_blocker(master, slave, adding)? {
        return Ok(Some(why));
    }
    for member in [&mut *master, &mut *slave] {
        if plugin_active(member)? {
            continue;
        }
        let dir = member
            .sql()
            .scalar("SELECT @@GLOBAL.plugin_dir")?
            .unwrap_or_default();
        let library = Path::new(&dir).join("mysql_clone.so");
        if member.access.node().stat(&library)?.is_none() {
            return Ok(Some(format!(
                "{} has no clone plugin library ({})",
                member.label(),
                library.display()
            )));
        }
    }
    let grants = slave.sql().column("SHOW GRANTS FOR CURRENT_USER()")?;
    if !grants.iter().any(|g| g.contains("CLONE_ADMIN")) {
        return Ok(Some(format!(
            "the slave's admin login ({}) lacks CLONE_ADMIN",
            slave.answers.mysql_admin_user
        )));
    }
    Ok(None)
}

fn plugin_active(member: &mut Member) -> Result<bool> {
    let query = member.sql().flavor().clone_plugin_active_query();
    Ok(member.sql().scalar(query)?.as_deref() == Some("1"))
}

pub fn plan(
    master: &mut Member,
    slave: &mut Member,
    databases: &[String],
    tls_ca: Option<&str>,
) -> Result<ClonePlan> {
    let tls = tls_ca.is_some();
    let flavor = master.sql().flavor();
    let password = crate::answers::generate_password();
    let donor = account(DONOR_USER, &slave.answers.host);
    let donor_undo = UndoRule::Account {
        user: DONOR_USER.into(),
        host: slave.answers.host.clone(),
    };
    let mut donor_statements = vec![Statement::control("SET SESSION sql_log_bin = 0")];
    if !plugin_active(master)? {
        donor_statements.push(Statement::new(
            flavor.install_clone_plugin(),
            UndoRule::Plugin(CLONE_PLUGIN.into()),
        ));
    }
    let require = if tls { " REQUIRE SSL" } else { "" };
    donor_statements.extend(Statement::all(
        flavor.replace_user(&donor, &password, require),
        &donor_undo,
    ));
    donor_statements.push(Statement::new(
        format!("GRANT BACKUP_ADMIN ON *.* TO {donor}"),
        donor_undo,
    ));
    donor_statements.push(Statement::control("SET SESSION sql_log_bin = 1"));
    let install_on_slave = if plugin_active(slave)? {
        None
    } else {
        Some(slave.sql().flavor().install_clone_plugin().to_string())
    };
    let (shown, real) = flavor.clone_instance(
        DONOR_USER,
        &master.answers.host,
        master.answers.mysql_port,
        &password,
        tls,
    );
    let all = super::super::server_state::user_databases(master.sql())?;
    Ok(ClonePlan {
        donor_statements,
        drop_donor: format!("DROP USER IF EXISTS {donor}"),
        install_on_slave,
        donor_list: flavor.clone_donor_list(&master.answers.host, master.answers.mysql_port),
        trust_donor: tls_ca.map(|ca| slave.sql().flavor().clone_tls_ca(ca)),
        // Undone with the slave's own datadir, which rollback puts back.
        clone: Statement::masked(shown, real, UndoRule::Nothing),
        datadir: slave.profile.paths.datadir.clone(),
        drop_after: all.into_iter().filter(|d| !databases.contains(d)).collect(),
        instance_bytes: super::backup::instance_bytes(master)?.unwrap_or(0),
    })
}

/// Statements that recreate the accounts the slave has and the master has
/// not (the clone brings the master's accounts only), hashes included.
fn slave_only_accounts(master: &mut Member, slave: &mut Member) -> Result<Vec<String>> {
    const ACCOUNTS: &str = "SELECT CONCAT(QUOTE(User), '@', QUOTE(Host)) FROM mysql.user";
    let on_master = master.sql().column(ACCOUNTS)?;
    let mut statements = Vec::new();
    for who in slave.sql().column(ACCOUNTS)? {
        if on_master.contains(&who) {
            continue;
        }
        statements.extend(slave.sql().column(&format!("SHOW CREATE USER {who}"))?);
        statements.extend(slave.sql().column(&format!("SHOW GRANTS FOR {who}"))?);
    }
    Ok(statements)
}

fn sql_on(member: &mut Member, journal: &mut Journal, statement: &Statement) -> Result<()> {
    crate::operation::statement::run(member, journal, statement)
}

/// Stops the slave's server, copies its datadir to `before` (rollback puts
/// it back) and starts it again. The datadir is then rewritten from that
/// copy: the clone's recovery renames directories in it (`#innodb_redo`),
/// which fails (EXDEV) for a directory an overlay's lower layer holds (a
/// container image, the sandbox's nodes); rewritten, each is the upper
/// layer's own. The slave has no databases of its own here, so this is its
/// system tablespaces and logs only.
fn keep_own_datadir(
    slave: &mut Member,
    journal: &mut Journal,
    plan: &ClonePlan,
    before: &Path,
) -> Result<()> {
    let stop = slave.profile.service.stop.clone();
    // Journaled before it runs: a run killed meanwhile leaves the server
    // stopped, and rollback must know to start it.
    journal.record(
        slave.access.node(),
        JournalEntry::Command {
            node: slave.label().to_string(),
            argv: stop.clone(),
            ok: true,
            typed: true,
        },
    )?;
    let refs: Vec<&str> = stop.iter().map(String::as_str).collect();
    crate::node::run_service_checked(slave.access.node(), &refs)?;
    let datadir = plan.datadir.to_string_lossy().into_owned();
    let before_text = before.to_string_lossy().into_owned();
    let copied = super::backup::checked(
        slave,
        "keeping the slave's own datadir",
        &[
            "sh",
            "-c",
            "set -e; rm -rf -- \"$2\"; cp -a -- \"$1\" \"$2\"; \
             find \"$1\" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +; cp -a -- \"$2\"/. \"$1\"/",
            "sh",
            &datadir,
            &before_text,
        ],
    )
    .and_then(|_| {
        journal.record(
            slave.access.node(),
            JournalEntry::DatadirReplaced {
                datadir: plan.datadir.clone(),
                before: before.to_path_buf(),
            },
        )
    });
    let started = super::backup::start_server(slave, journal);
    copied.and(started)
}

/// After a failed clone: the slave's own datadir back in place (what the
/// clone left is set aside in the run's folder) and its server started.
fn back_as_it_was(
    slave: &mut Member,
    journal: &mut Journal,
    plan: &ClonePlan,
    before: &Path,
    cause: Error,
) -> Error {
    let stop = slave.profile.service.stop.clone();
    let refs: Vec<&str> = stop.iter().map(String::as_str).collect();
    let _ = crate::node::run_service(slave.access.node(), &refs);
    let datadir = plan.datadir.to_string_lossy().into_owned();
    let failed = before.with_file_name("datadir.failed-clone");
    let (before, failed) = (
        before.to_string_lossy().into_owned(),
        failed.to_string_lossy().into_owned(),
    );
    let put_back = slave.access.node().run(
        &[
            "sh",
            "-c",
            "set -e; rm -rf -- \"$3\"; mv -- \"$1\" \"$3\"; mv -- \"$2\" \"$1\"",
            "sh",
            &datadir,
            &before,
            &failed,
        ],
        None,
    );
    if !put_back.as_ref().is_ok_and(|out| out.success()) {
        return Error::Seed {
            node: slave.label().to_string(),
            message: format!(
                "the clone failed ({cause}) and the slave's own datadir could not be put back: it is in {before}; move it to {datadir} and start the server"
            ),
        };
    }
    match super::backup::start_server(slave, journal) {
        Ok(()) => Error::Seed {
            node: slave.label().to_string(),
            message: format!(
                "the clone failed, so the slave's own datadir was put back and its server started (what the clone left is in {failed}): {cause}"
            ),
        },
        Err(err) => Error::Seed {
            node: slave.label().to_string(),
            message: format!(
                "the clone failed ({cause}); the slave's own datadir is back in {datadir} but its server does not start: {err}\nError log tail:\n{}",
            crate::operation::apply::error_log_tail(slave)
            ),
        },
    }
}

/// Runs the clone on the slave and waits for its server to come back on
/// the copy; an error unless performance_schema says the clone completed.
fn clone_and_restart(
    slave: &mut Member,
    journal: &mut Journal,
    plan: &ClonePlan,
    progress: &Progress,
    reporter: &dyn Reporter,
) -> Result<()> {
    if let Some(install) = &plan.install_on_slave {
        sql_on(
            slave,
            journal,
            &Statement::new(install.clone(), UndoRule::Plugin(CLONE_PLUGIN.into())),
        )?;
    }
    sql_on(slave, journal, &Statement::control(plan.donor_list.clone()))?;
    if let Some(trust) = &plan.trust_donor {
        sql_on(slave, journal, &Statement::control(trust.clone()))?;
    }
    reporter.event(Event::Note {
        message: format!("{}: cloning the master's instance", slave.label()),
    });
    // Progress is best effort: a second session reads the clone's bytes
    // while the first one waits in CLONE INSTANCE.
    let watcher = slave.open_sql_session().ok();
    let done = AtomicBool::new(false);
    let cloned = std::thread::scope(|scope| {
        if let Some(mut session) = watcher {
            let done = &done;
            scope.spawn(move || watch_clone(&mut session.conn, progress, reporter, done));
        }
        let cloned = sql_on(slave, journal, &plan.clone);
        done.store(true, Ordering::Relaxed);
        cloned
    });
    match &cloned {
        Err(err) if crate::sql::conn::error_code(err) == Some(NOT_SUPERVISED) => {
            reporter.event(Event::Note {
                message: format!(
                    "{}: the server stopped after the clone and no supervisor restarts it: starting it",
                    slave.label()
                ),
            });
            // The error comes while the server is still shutting down:
            // a start meanwhile finds it running and does nothing.
            let pid_file = slave.profile.paths.pid_file.to_string_lossy().into_owned();
            super::backup::checked(
                slave,
                "waiting for the server to stop after the clone",
                &[
                    "timeout",
                    "120",
                    "sh",
                    "-c",
                    "while [ -s \"$1\" ] && kill -0 \"$(cat -- \"$1\")\" 2>/dev/null; do sleep 0.2; done",
                    "sh",
                    &pid_file,
                ],
            )?;
            super::backup::start_server(slave, journal)?;
        }
        // A supervised server restarts by itself: the session is lost
        // (or the statement returned); wait until it answers again.
        _ => crate::operation::apply::wait_for_server(slave)?,
    }
    let flavor = slave.sql().flavor();
    let rows = slave.sql().rows(flavor.clone_status_query())?;
    let get = |key: &str| {
        rows.first()
            .and_then(|r| r.get(key).cloned().flatten())
            .unwrap_or_default()
    };
    let state = get("STATE");
    if state != "Completed" {
        let detail = match cloned {
            Err(err) => err.to_string(),
            Ok(()) => format!("error {}: {}", get("ERROR_NO"), get("ERROR_MESSAGE")),
        };
        return Err(Error::Seed {
            node: slave.label().to_string(),
            message: format!("the clone ended in state `{state}`: {detail}"),
        });
    }
    Ok(())
}

/// Reports the bytes the running clone moved (performance_schema's
/// clone_progress) every half second until `done` or the server goes.
fn watch_clone(
    conn: &mut SqlConn,
    progress: &Progress,
    reporter: &dyn Reporter,
    done: &AtomicBool,
) {
    let query = conn.flavor().clone_running_bytes_query();
    let mut seen = 0;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(500));
        let Ok(bytes) = conn.scalar(query) else {
            return;
        };
        let bytes: u64 = bytes.and_then(|b| b.parse().ok()).unwrap_or(0);
        if bytes > seen {
            progress.add(bytes - seen);
            seen = bytes;
            progress.report(reporter);
        }
    }
}

pub fn run(
    master: &mut Member,
    slave: &mut Member,
    journal: &mut Journal,
    copy: &CopyPlan,
    plan: &ClonePlan,
    reporter: &dyn Reporter,
) -> Result<SeedResult> {
    let started = std::time::Instant::now();
    let before = journal.dir.join("datadir.before");
    let own_accounts = slave_only_accounts(master, slave)?;
    keep_own_datadir(slave, journal, plan, &before)?;
    // The copy's own time starts here (keeping the slave's datadir is not
    // part of it).
    let progress = Progress::new(STEP, plan.instance_bytes.max(copy.estimated_bytes));
    if let Err(err) = clone_and_restart(slave, journal, plan, &progress, reporter) {
        return Err(back_as_it_was(slave, journal, plan, &before, err));
    }
    progress.mark_in_place();
    let bytes: u64 = {
        let query = slave.sql().flavor().clone_bytes_query();
        slave
            .sql()
            .scalar(query)?
            .and_then(|b| b.parse().ok())
            .unwrap_or(0)
    };
    progress.add(bytes.saturating_sub(progress.bytes()));
    progress.report(reporter);
    // The copy's history, before anything else could write on the slave.
    let gtid_query = slave.sql().flavor().executed_gtids_query();
    let cloned_gtids = slave.sql().scalar(gtid_query)?.unwrap_or_default();
    {
        let conn = slave.sql();
        conn.exec("SET SESSION sql_log_bin = 0")?;
        conn.exec(&plan.drop_donor)?;
        for database in &plan.drop_after {
            conn.exec(&format!(
                "DROP DATABASE IF EXISTS {}",
                quote_ident(database)
            ))?;
        }
        for statement in &own_accounts {
            conn.exec(statement)?;
        }
        conn.exec("SET SESSION sql_log_bin = 1")?;
    }
    {
        let conn = master.sql();
        conn.exec("SET SESSION sql_log_bin = 0")?;
        conn.exec(&plan.drop_donor)?;
        conn.exec("SET SESSION sql_log_bin = 1")?;
    }
    reporter.event(Event::Note {
        message: format!("{}: checking the copy", slave.label()),
    });
    let verified = verify_if_unchanged(master, slave, copy, &cloned_gtids)?;
    Ok(SeedResult {
        position: Position::MySqlGtidSet(cloned_gtids),
        bytes: progress.bytes(),
        copy_seconds: progress.copy_seconds(),
        seconds: started.elapsed().as_secs_f64(),
        verified,
    })
}

/// Compares the copy with the master when the master wrote nothing since
/// the clone (its snapshot then is the copy's); otherwise the copy stands
/// on the clone plugin's own page checks.
fn verify_if_unchanged(
    master: &mut Member,
    slave: &mut Member,
    copy: &CopyPlan,
    cloned_gtids: &str,
) -> Result<String> {
    let gtid_query = master.sql().flavor().executed_gtids_query();
    let conn = master.sql();
    conn.exec("START TRANSACTION WITH CONSISTENT SNAPSHOT")?;
    let outcome = (|| {
        let now = conn.scalar(gtid_query)?.unwrap_or_default();
        if same_gtid_set(&now, cloned_gtids) {
            super::verify::compare(
                conn,
                slave.sql(),
                &copy.databases,
                &copy.tables,
                copy.verify,
            )
        } else {
            Ok(
                "the master wrote since the clone: checked by the clone plugin's page checks only"
                    .to_string(),
            )
        }
    })();
    let _ = conn.exec("ROLLBACK");
    outcome
}

/// GTID sets as the server prints them, line breaks aside.
fn same_gtid_set(a: &str, b: &str) -> bool {
    let tidy = |s: &str| s.split_whitespace().collect::<String>();
    tidy(a) == tidy(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtid_sets_compare_without_line_breaks() {
        assert!(same_gtid_set("a:1-5,\nb:1-3", "a:1-5,b:1-3"));
        assert!(!same_gtid_set("a:1-5", "a:1-6"));
    }
}
