//! `mysql-ha resync DB...`: copies replicated databases again from the
//! master into the slave while replication of the others goes on, through
//! add-db's machinery (the slave's SQL thread pauses, the copy is taken at
//! a snapshot, the others catch up exactly to it, replication starts again)
//! with the slave's own copy dropped first. The result is proved with the
//! consistency check.

use super::build::config_step;
use crate::answers::SeedMethod;
use crate::mycnf::role::{RoleSettings, ServerRole};
use crate::operation::pair::Pair;
use crate::operation::plan::{Change, Plan, Side, StepPlan};
use crate::operation::seed::{copy_plan, logical, CopyKind, CopyPlan};
use crate::operation::server_state;
use crate::sql::flavor::{quote_ident, quote_string};
use crate::{Error, Result};

/// The step's name in the plan and the run's report.
pub const STEP: &str = "copy again from the master";

/// The plan that copies `databases` again; they must be replicated now.
pub fn plan(pair: &mut Pair, databases: &[String], run_id: &str) -> Result<Plan> {
    let replica = server_state::replica_state(pair.slave.sql())?
        .filter(|r| r.master_host == pair.master.label())
        .ok_or_else(|| Error::Node {
            node: pair.slave.label().to_string(),
            message: format!(
                "it does not replicate from {}: nothing to copy again (see `mysql-ha status`)",
                pair.master.label()
            ),
        })?;
    let all = replica.replicated_databases.clone();
    let mut wanted: Vec<String> = Vec::new();
    let mut tables: Vec<(String, String)> = Vec::new();
    for name in databases {
        if all.contains(name) {
            if !wanted.contains(name) {
                wanted.push(name.clone());
            }
            continue;
        }
        let Some(db) = super::resync::database_of_table(name, &all) else {
            return Err(Error::Answers {
                key: "resync".into(),
                message: format!(
                    "`{name}` is neither a database nor a table of one that {} replicates ({}): add a database with `mysql-ha add-db DB`",
                    pair.slave.label(),
                    all.join(", ")
                ),
            });
        };
        let table = name[db.len() + 1..].to_string();
        let exists = pair.master.sql().scalar(&format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} AND TABLE_TYPE = 'BASE TABLE'",
            quote_string(db),
            quote_string(&table)
        ))?;
        if exists.as_deref() != Some("1") {
            return Err(Error::Answers {
                key: "resync".into(),
                message: format!(
                    "`{name}`: {} has no table `{table}` in `{db}` to copy",
                    pair.master.label()
                ),
            });
        }
        let entry = (db.clone(), table);
        if !tables.contains(&entry) {
            tables.push(entry);
        }
    }
    if !wanted.is_empty() && !tables.is_empty() {
        return Err(Error::Answers {
            key: "resync".into(),
            message: "name whole databases or single tables in one run, not both: run resync twice"
                .into(),
        });
    }
    let copy = if tables.is_empty() {
        copy_plan(pair, &wanted, true)?
    } else {
        for (db, _) in &tables {
            if !wanted.contains(db) {
                wanted.push(db.clone());
            }
        }
        tables_copy_plan(pair, &wanted, tables)?
    };
    let summary = vec![
        format!(
            "replication threads now: io={} sql={}{}",
            replica.io_running,
            replica.sql_running,
            if replica.last_sql_error.is_empty() {
                String::new()
            } else {
                format!(" ({})", replica.last_sql_error)
            }
        ),
        format!(
            "the slave's {} dropped (kept out of the binary log) and copied again from {}; {} go on replicating and catch up after the copy",
            if copy.tables.is_empty() {
                wanted
                    .iter()
                    .map(|d| quote_ident(d))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                copy.tables
                    .iter()
                    .map(|(d, t)| format!("{}.{}", quote_ident(d), quote_ident(t)))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            pair.master.label(),
            if !copy.tables.is_empty() || all.len() > wanted.len() {
                "the other tables"
            } else {
                "no other database"
            }
        ),
    ];
    // The slave's files name the same databases with the same filter lines
    // the copy sets at run time (an older run's replicate-do-db lines are
    // converted here too); no restart: the running filters are set live.
    let server_id = pair
        .slave
        .sql()
        .scalar("SELECT @@GLOBAL.server_id")?
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let config = pair.slave.config()?;
    let mut files = config_step(
        &mut pair.slave,
        &config,
        &RoleSettings {
            role: ServerRole::Slave,
            server_id,
            databases: all.clone(),
            bind_address: None,
            run_id: run_id.to_string(),
            tls: None,
        },
        "slave option files",
    )?;
    files
        .changes
        .retain(|c| !matches!(c, Change::RestartServer { .. }));
    let mut steps = Vec::new();
    if !files.changes.is_empty() {
        files
            .summary
            .push("no restart: the copy sets the same filters on the running slave".into());
        steps.push(files);
    }
    steps.push(StepPlan {
        name: STEP,
        side: Side::Slave,
        changes: vec![Change::AddDatabases {
            databases: wanted,
            all,
            copy,
            replace: true,
            flavor: pair.slave.sql().flavor(),
        }],
        summary,
    });
    let hold = super::managers::hold(pair)?;
    Ok(Plan {
        hold,
        run_id: run_id.to_string(),
        master_label: pair.master.label().to_string(),
        slave_label: pair.slave.label().to_string(),
        slave2_label: String::new(),
        witness_label: String::new(),
        steps,
        rescues: Vec::new(),
        preamble: Vec::new(),
        side_names: None,
    })
}

/// One dump per database of just `tables`, verified table by table.
fn tables_copy_plan(
    pair: &mut Pair,
    databases: &[String],
    tables: Vec<(String, String)>,
) -> Result<CopyPlan> {
    let mut estimated_bytes = 0u64;
    for (db, table) in &tables {
        estimated_bytes += pair
            .master
            .sql()
            .scalar(&format!(
                "SELECT COALESCE(DATA_LENGTH + INDEX_LENGTH, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}",
                quote_string(db),
                quote_string(table)
            ))?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    let plan = logical::plan_tables(&mut pair.master, &mut pair.slave, &tables)?;
    Ok(CopyPlan {
        method: SeedMethod::Dump,
        why: "single tables: one dump per database".into(),
        databases: databases.to_vec(),
        tables,
        estimated_bytes,
        verify: pair.answers.replication.verify,
        kind: CopyKind::Logical(plan),
    })
}

/// The table a stopped SQL thread names in its error (`Last_SQL_Error`):
/// "... event on table shop.orders; ..." (rows missing or duplicated) or
/// "Table 'shop.t' doesn't exist". Returns `db.table`.
pub fn table_of_sql_error(error: &str) -> Option<String> {
    let name = if let Some(rest) = error.split("event on table ").nth(1) {
        rest.split(';').next()
    } else if let Some(rest) = error.split("Table '").nth(1) {
        rest.split("' doesn't exist").next()
    } else {
        None
    }?;
    let name = name.trim();
    (name.contains('.') && !name.contains(char::is_whitespace)).then(|| name.to_string())
}

/// The replicated database a `db.table` belongs to (the longest that
/// matches, for names with dots).
pub fn database_of_table<'a>(table: &str, replicated: &'a [String]) -> Option<&'a String> {
    replicated
        .iter()
        .filter(|db| table.starts_with(&format!("{db}.")))
        .max_by_key(|db| db.len())
}

/// The database a stopped SQL thread's error says is unknown (1049).
pub fn unknown_database_of_sql_error(error: &str) -> Option<String> {
    let rest = error.split("Unknown database '").nth(1)?;
    let name = rest.split('\'').next()?;
    (!name.is_empty()).then(|| name.to_string())
}

/// What `status` tells about a stopped SQL thread, when its error names
/// something it can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    /// `db.table` the error names.
    pub table: Option<String>,
    /// What to run.
    pub command: String,
    /// One sentence for people.
    pub text: String,
}

/// Advice for a slave whose SQL thread stopped with `error`; `answers` is
/// the answers file to name in a `mysql-ha` command.
pub fn advice(
    error: &str,
    replicated: &[String],
    answers: Option<&str>,
    flavor: crate::sql::Flavor,
) -> Option<Advice> {
    let tail = answers
        .map(|p| format!(" --answers {}", crate::node::ssh::shell_quote(p)))
        .unwrap_or_default();
    if let Some(table) = table_of_sql_error(error) {
        database_of_table(&table, replicated)?;
        let command = format!(
            "mysql-ha resync {}{tail}",
            crate::node::ssh::shell_quote(&table)
        );
        return Some(Advice {
            text: format!("replication stopped on {table}: copy it again with `{command}`"),
            table: Some(table),
            command,
        });
    }
    let db = unknown_database_of_sql_error(error)?;
    if replicated.contains(&db) {
        let command = format!(
            "mysql-ha resync {}{tail}",
            crate::node::ssh::shell_quote(&db)
        );
        return Some(Advice {
            text: format!(
                "replication stopped: database {db} is missing on the slave: copy it again with `{command}`"
            ),
            table: None,
            command,
        });
    }
    let command = flavor.skip_failed_transaction(error)?;
    Some(Advice {
        text: format!(
            "replication stopped on a statement for {db}, which is not replicated (stored routines, events, views reading it and tables moved into it are DDL no filter can skip: docs/guide.md, \"What the slave replicates\"); skip it with `{command}` on the slave, or replicate {db} too"
        ),
        table: None,
        command,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn tables_named_by_replication_errors() {
        assert_eq!(
            table_of_sql_error("Error executing row event: 'Table 'shop.ddl_probe' doesn't exist'")
                .as_deref(),
            Some("shop.ddl_probe")
        );
        assert_eq!(
            table_of_sql_error("Could not execute Update_rows_v1 event on table web-stats.hits; Can't find record in 'hits', Error_code: 1032; handler error HA_ERR_KEY_NOT_FOUND; the event's master log mysql-bin.000001, end_log_pos 7745").as_deref(),
            Some("web-stats.hits")
        );
        assert_eq!(
            table_of_sql_error("Error 'Unknown database 'hr'' on query. Default database: ''."),
            None
        );
        let replicated = ["shop".to_string(), "web-stats".to_string()];
        assert_eq!(
            database_of_table("web-stats.hits", &replicated).map(String::as_str),
            Some("web-stats")
        );
        assert_eq!(database_of_table("hr.x", &replicated), None);
    }

    fn maria() -> crate::sql::Flavor {
        crate::sql::Flavor::from_version_string("10.11.6-MariaDB").unwrap()
    }

    #[test]
    fn advice_for_a_stopped_slave() {
        let replicated = ["shop".to_string(), "web-stats".to_string()];
        let table = advice(
            "Error executing row event: 'Table 'shop.t1' doesn't exist'",
            &replicated,
            Some("/root/answers.toml"),
            maria(),
        )
        .unwrap();
        assert_eq!(table.table.as_deref(), Some("shop.t1"));
        assert_eq!(
            table.command,
            "mysql-ha resync shop.t1 --answers /root/answers.toml"
        );
        let other = advice(
            "Error 'Unknown database 'hr'' on query. Default database: ''. Query: 'CREATE DEFINER=`root`@`localhost` PROCEDURE `hr`.`p`() SELECT 1'",
            &replicated,
            None,
            maria(),
        )
        .unwrap();
        assert_eq!(other.table, None);
        assert!(other.command.contains("sql_slave_skip_counter = 1"));
        assert!(other.text.contains("for hr, which is not replicated"));
        let missing = advice(
            "Error 'Unknown database 'shop'' on query.",
            &replicated,
            None,
            maria(),
        )
        .unwrap();
        assert_eq!(missing.command, "mysql-ha resync shop");
        assert_eq!(
            advice(
                "Error 'Table 'hr.x' doesn't exist' on query",
                &replicated,
                None,
                maria()
            ),
            None
        );
        assert_eq!(advice("Some other error", &replicated, None, maria()), None);
        // MySQL's worker names the transaction; the skip is an empty one
        // under its GTID (a skip counter is refused with GTIDs on).
        let mysql = crate::sql::Flavor::from_version_string("9.7.4-2").unwrap();
        let other = advice(
            "Worker 1 failed executing transaction '3e11fa47-71ca-11e1-9e33-c80aa9429562:23' at source log binlog.000002, end_log_pos 1234; Error 'Unknown database 'hr'' on query. Default database: ''. Query: 'CREATE PROCEDURE hr.p() SELECT 1'",
            &replicated,
            None,
            mysql,
        )
        .unwrap();
        assert!(
            other
                .command
                .contains("SET GTID_NEXT = '3e11fa47-71ca-11e1-9e33-c80aa9429562:23'"),
            "{}",
            other.command
        );
        let table = advice(
            "Worker 1 failed executing transaction '3e11fa47-71ca-11e1-9e33-c80aa9429562:24' at source log binlog.000002, end_log_pos 99; Error executing row event: 'Table 'shop.t1' doesn't exist'",
            &replicated,
            None,
            mysql,
        )
        .unwrap();
        assert_eq!(table.command, "mysql-ha resync shop.t1");
    }
}
