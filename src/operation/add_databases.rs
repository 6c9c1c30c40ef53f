//! Bringing new databases into a running slave so that their copy and the
//! slave's position line up: no gap and nothing applied twice, for the new
//! databases and the ones already replicated. The slave's IO thread keeps
//! fetching the whole time; only its SQL thread pauses.

use std::time::{Duration, Instant};

use super::pair::{Member, Pair};
use super::seed;
use super::server_state;
use super::statement::Statement;
use crate::backup::{Journal, JournalEntry};
use crate::events::Reporter;
use crate::mycnf::filters;
use crate::sql::flavor::quote_ident;
use crate::sql::Flavor;
use crate::sql::Position;
use crate::{Error, Result};

/// How long the slave may take to apply what it fetched up to the snapshot.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Added {
    pub bytes: u64,
    pub seconds: f64,
    pub position: String,
}

/// A statement with nothing to undo (replication stopped and started, the
/// runtime filters that the restored option files take back).
fn sql(member: &mut Member, journal: &mut Journal, statement: &str) -> Result<()> {
    super::statement::run(member, journal, &Statement::control(statement))
}

/// A change of the slave's filters: rollback sets back the lists it had
/// before the first of them.
fn sql_filters(member: &mut Member, journal: &mut Journal, statement: &str) -> Result<()> {
    super::statement::run(
        member,
        journal,
        &Statement::new(statement, super::undo::UndoRule::Filters),
    )
}

/// A statement rollback cannot undo (the slave's copy dropped), and says so.
fn sql_kept(member: &mut Member, journal: &mut Journal, statement: &str) -> Result<()> {
    super::statement::run(member, journal, &Statement::plain(statement))
}

/// Whether a MariaDB slave's applied position (@@gtid_slave_pos) reached
/// `gtid` already. Always false for MySQL, whose UNTIL stops at once when
/// the GTIDs are there.
fn applied_up_to(slave: &mut Member, gtid: &str) -> Result<bool> {
    if slave.sql().flavor().family != crate::sql::Family::MariaDb {
        return Ok(false);
    }
    let applied = slave
        .sql()
        .scalar("SELECT @@GLOBAL.gtid_slave_pos")?
        .unwrap_or_default();
    let parse = |text: &str| crate::sql::gtid::parse_list(text).ok();
    Ok(match (parse(&applied), parse(gtid)) {
        (Some(applied), Some(target)) => crate::sql::gtid::covers(&applied, &target),
        _ => false,
    })
}

/// Waits until the slave's SQL thread stopped at its UNTIL position.
fn wait_until_stopped(member: &mut Member) -> Result<()> {
    let started = Instant::now();
    loop {
        let replica = server_state::replica_state(member.sql())?.ok_or_else(|| Error::Verify {
            node: member.label().to_string(),
            message: "replication disappeared while adding databases".into(),
        })?;
        if !replica.last_sql_error.is_empty() {
            return Err(Error::Verify {
                node: member.label().to_string(),
                message: format!(
                    "the slave stopped with an error: {}",
                    replica.last_sql_error
                ),
            });
        }
        if replica.sql_running == "No" {
            return Ok(());
        }
        if started.elapsed() > CATCH_UP_TIMEOUT {
            return Err(Error::Verify {
                node: member.label().to_string(),
                message: format!(
                    "the slave did not reach the snapshot position within {} s",
                    CATCH_UP_TIMEOUT.as_secs()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `@@replicate_ignore_table` with these tables added (`db.table`, as the
/// server lists them).
pub fn tables_list(previous: &str, tables: &[(String, String)]) -> String {
    let mut out: Vec<String> = previous
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    for (db, table) in tables {
        let name = format!("{db}.{table}");
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out.join(",")
}

/// The statements that make the running slave replicate `databases` (one
/// `DB.%` pattern each, the hand-made patterns of `previous_wild` kept) and
/// drop the `replicate_do_db` list of older runs. The SQL thread must be
/// stopped.
pub fn set_filters(flavor: Flavor, databases: &[&str], previous_wild: &str) -> Vec<String> {
    let others = filters::other_patterns(previous_wild);
    flavor.set_replica_filters(&filters::wild_list(databases, &others))
}

/// The slave's `replicate_ignore_table` list, as MariaDB's variable shows it.
fn ignore_tables(member: &mut Member) -> Result<String> {
    let query = member
        .sql()
        .flavor()
        .replication_filter_query("replicate_ignore_table");
    Ok(member.sql().scalar(&query)?.unwrap_or_default())
}

pub fn run(
    pair: &mut Pair,
    journal: &mut Journal,
    databases: &[String],
    all: &[String],
    copy: &seed::CopyPlan,
    replace: bool,
    reporter: &dyn Reporter,
) -> Result<Added> {
    // Single tables copied again are kept out of the catch-up with
    // replicate_ignore_table; it goes back to this afterwards, or on error.
    let previous_ignore = ignore_tables(&mut pair.slave)?;
    let flavor = pair.slave.sql().flavor();
    let lifted = lift_super_read_only(&mut pair.slave, journal)?;
    let result = add(pair, journal, databases, all, copy, replace, reporter);
    let result = match (result, lifted) {
        (result, false) => result,
        (Ok(added), true) => restore_super_read_only(&mut pair.slave, journal).map(|()| added),
        (Err(err), true) => {
            let _ = restore_super_read_only(&mut pair.slave, journal);
            Err(err)
        }
    };
    if result.is_err() {
        // Leave the running slave replicating what it replicated before.
        if !copy.tables.is_empty() {
            let _ = pair.slave.sql().exec(flavor.stop_replica_sql());
            let _ = pair
                .slave
                .sql()
                .exec(&flavor.set_ignore_tables(&previous_ignore));
        }
        let _ = pair.slave.sql().exec(flavor.start_replica());
    }
    result
}

/// How long the daemon leaves super_read_only off for one load at most
/// (a run that dies cannot leave it off for longer).
const LIFT_HOLD: Duration = Duration::from_secs(6 * 3600);

/// A MySQL slave the daemon made super_read_only refuses the load even from
/// the admin login: the daemon is told to leave it off for the load (a
/// file with a deadline), then it goes off; read_only stays on, so client
/// accounts still cannot write. Returns whether it was lifted.
fn lift_super_read_only(slave: &mut Member, journal: &mut Journal) -> Result<bool> {
    if slave
        .sql()
        .scalar("SELECT @@GLOBAL.super_read_only")
        .ok()
        .flatten()
        .as_deref()
        != Some("1")
    {
        return Ok(false);
    }
    let until = crate::daemon::state::now() + LIFT_HOLD.as_secs();
    slave.access.node().write_atomic(
        &crate::daemon::state::writable_hold_path(),
        format!("{until}\n").as_bytes(),
        0o644,
        0,
        0,
    )?;
    sql(slave, journal, "SET GLOBAL super_read_only = OFF")?;
    Ok(true)
}

fn restore_super_read_only(slave: &mut Member, journal: &mut Journal) -> Result<()> {
    let statement = slave.sql().flavor().set_read_only(true);
    let restored = sql(slave, journal, &statement);
    let _ = slave
        .access
        .node()
        .remove_file(&crate::daemon::state::writable_hold_path());
    restored
}

fn add(
    pair: &mut Pair,
    journal: &mut Journal,
    databases: &[String],
    all: &[String],
    copy: &seed::CopyPlan,
    replace: bool,
    reporter: &dyn Reporter,
) -> Result<Added> {
    let tables = &copy.tables;
    let previous_ignore = ignore_tables(&mut pair.slave)?;
    let previous_ignore = previous_ignore.as_str();
    let flavor = pair.slave.sql().flavor();
    // From here the slave applies nothing; the new databases' events up to
    // the snapshot are in the copy, the old ones' are applied below.
    sql(&mut pair.slave, journal, flavor.stop_replica_sql())?;
    if tables.is_empty() {
        journal.record(
            pair.slave.access.node(),
            JournalEntry::SeedStarted {
                databases: databases.to_vec(),
                source: pair.master.label().to_string(),
            },
        )?;
    }
    if replace && !tables.is_empty() {
        sql(&mut pair.slave, journal, "SET SESSION sql_log_bin = 0")?;
        for (db, table) in tables {
            sql_kept(
                &mut pair.slave,
                journal,
                &format!(
                    "DROP TABLE IF EXISTS {}.{}",
                    quote_ident(db),
                    quote_ident(table)
                ),
            )?;
        }
        sql(&mut pair.slave, journal, "SET SESSION sql_log_bin = 1")?;
    } else if replace {
        // resync: the slave's own copy goes (never to the binary log, so
        // nothing of it reaches a node that replicates from this one).
        sql(&mut pair.slave, journal, "SET SESSION sql_log_bin = 0")?;
        for db in databases {
            sql_kept(
                &mut pair.slave,
                journal,
                &format!("DROP DATABASE IF EXISTS {}", quote_ident(db)),
            )?;
        }
        sql(&mut pair.slave, journal, "SET SESSION sql_log_bin = 1")?;
    }
    let copied = seed::run(&mut pair.master, &mut pair.slave, journal, copy, reporter)?;
    let (Position::MariaDbGtid(gtid) | Position::MySqlGtidSet(gtid)) = copied.position else {
        return Err(Error::Seed {
            node: pair.slave.label().to_string(),
            message: "the copy carries no GTID position; cannot line it up with the running slave"
                .into(),
        });
    };
    let (_, previous_wild) = server_state::filter_lists(pair.slave.sql())?;
    // Up to the snapshot, the slave applies only the databases not copied:
    // the copy holds everything before it for the others.
    // Single tables: every database catches up, those tables excepted
    // (replicate_ignore_table is checked before the wild patterns).
    let not_copied: Vec<&str> = all
        .iter()
        .filter(|d| !tables.is_empty() || !databases.contains(d))
        .map(String::as_str)
        .collect();
    let ignored = tables_list(previous_ignore, tables);
    sql(&mut pair.slave, journal, flavor.stop_replica())?;
    if not_copied.is_empty() {
        // Nothing else to catch up: the slave starts at the snapshot.
        sql(&mut pair.slave, journal, &flavor.skip_to_gtids(&gtid))?;
    } else if !gtid.is_empty() {
        for statement in set_filters(flavor, &not_copied, &previous_wild) {
            sql_filters(&mut pair.slave, journal, &statement)?;
        }
        if !tables.is_empty() {
            sql(
                &mut pair.slave,
                journal,
                &flavor.set_ignore_tables(&ignored),
            )?;
        }
        // MariaDB's UNTIL needs both threads stopped and stops both at the
        // position; MySQL's stops the SQL thread after those GTIDs. A
        // MariaDB slave that applied the snapshot's position already
        // (nothing written since) has nothing to catch up, and its UNTIL
        // would never stop: it runs until the next write reaches it.
        if !applied_up_to(&mut pair.slave, &gtid)? {
            sql(&mut pair.slave, journal, &flavor.start_replica_until(&gtid))?;
            wait_until_stopped(&mut pair.slave)?;
            sql(&mut pair.slave, journal, flavor.stop_replica())?;
        }
        if !tables.is_empty() {
            sql(
                &mut pair.slave,
                journal,
                &flavor.set_ignore_tables(previous_ignore),
            )?;
        }
    }
    let filters: Vec<&str> = all.iter().map(String::as_str).collect();
    for statement in set_filters(flavor, &filters, &previous_wild) {
        sql_filters(&mut pair.slave, journal, &statement)?;
    }
    sql(&mut pair.slave, journal, flavor.start_replica())?;
    if tables.is_empty() {
        journal.record(
            pair.slave.access.node(),
            JournalEntry::SeedFinished {
                databases: databases.to_vec(),
                source: pair.master.label().to_string(),
            },
        )?;
    }
    Ok(Added {
        bytes: copied.bytes,
        seconds: copied.seconds,
        position: if gtid.is_empty() {
            "the start of the binary log".into()
        } else {
            format!("GTID {gtid}")
        },
    })
}
