//! Logical copies: one or several `mariadb-dump` streams of one shared
//! snapshot, each loaded into the slave by its own client. The snapshot:
//! a global read lock on the master, a consistent-snapshot transaction of
//! our own (kept for the check at the end), the binary log position read,
//! every dump started and seen to read in its own consistent snapshot, then
//! the lock is released (kept for the whole copy when some tables have no
//! transactions). Large tables go in chunks of their integer primary key;
//! large secondary indexes are built once the rows are in (`indexes`).

use std::process::Child;
use std::sync::atomic::AtomicBool;

use super::indexes::{self, DeferredTable};
use super::{report_until, with_options, ClientOptionFile, CopyPlan, Progress, SeedResult};
use crate::access::Access;
use crate::backup::Journal;
use crate::events::Reporter;
use crate::operation::pair::Member;
use crate::sql::flavor::{quote_ident, quote_string};
use crate::sql::{Position, SqlConn};
use crate::{Error, Result};

const STEP: &str = "seed the slave";
/// What mariadb-dump writes right before it reads a table's rows: once a
/// dump wrote it, its consistent snapshot is open.
const READING_MARKER: &[u8] = b"\n-- Dumping data for table ";
/// Tables larger than this are copied in chunks.
const CHUNK_BYTES: u64 = 24 * 1024 * 1024;
const MAX_CHUNKS: u64 = 8;
/// Loads at once on the slave.
pub const WORKERS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Databases and tables, before any row.
    Schema,
    /// Rows (or, for one dump, everything).
    Data,
    /// Triggers, routines and events, once the rows are in.
    Late,
}

#[derive(Debug, Clone)]
pub struct Stream {
    pub label: String,
    pub phase: Phase,
    pub dump_argv: Vec<String>,
    /// The loader's default database (row-only dumps carry no USE).
    pub database: Option<String>,
    /// Reads rows in the shared snapshot: the lock is held until it began.
    pub reads_rows: bool,
}

#[derive(Debug, Clone)]
pub struct LogicalPlan {
    pub streams: Vec<Stream>,
    pub load_argv: Vec<String>,
    pub workers: usize,
    /// Some tables have no transactions: the read lock is held throughout.
    pub hold_lock: bool,
    /// Tables whose secondary indexes are built after the rows are in.
    pub deferred: Vec<DeferredTable>,
}

impl LogicalPlan {
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let data = self
            .streams
            .iter()
            .filter(|s| s.phase == Phase::Data)
            .count();
        if self.streams.len() > 1 {
            lines.push(format!(
                "one snapshot shared by {} dumps ({data} of rows, {} loaded at once); lock {}",
                self.streams.len(),
                self.workers,
                if self.hold_lock {
                    "held for the whole copy (some tables have no transactions)"
                } else {
                    "held only until every dump has opened its snapshot"
                }
            ));
        }
        for stream in &self.streams {
            lines.push(format!(
                "on master: {}{}",
                stream.dump_argv.join(" "),
                stream
                    .database
                    .as_ref()
                    .map(|d| format!("   (into {d})"))
                    .unwrap_or_default()
            ));
        }
        lines.push(format!("on slave:  {}", self.load_argv.join(" ")));
        lines.extend(indexes::describe(&self.deferred));
        lines
    }
}

/// The client that loads a dump on the slave.
pub fn load_argv(member: &mut Member) -> Vec<String> {
    let flavor = member.sql().flavor();
    let mut argv = vec![
        member.profile.programs.client.clone(),
        // The copy is the master's data, not the slave's own history.
        "--init-command=SET SESSION sql_log_bin=0".into(),
    ];
    if flavor.family == crate::sql::Family::MariaDb
        || flavor.version
            >= (crate::sql::flavor::Version {
                major: 5,
                minor: 6,
                patch: 3,
            })
    {
        argv.push("--binary-mode".into());
    }
    argv
}

/// MySQL's dump would set the slave's gtid_purged itself (a global, in the
/// middle of the copy); the start of replication does it from the
/// snapshot's GTID set instead. MariaDB's dump writes no GTID by default.
fn gtid_option(member: &mut Member) -> Option<String> {
    (member.sql().flavor().family == crate::sql::Family::MySql)
        .then(|| "--set-gtid-purged=OFF".to_string())
}

fn events_supported(member: &mut Member) -> bool {
    let flavor = member.sql().flavor();
    flavor.family == crate::sql::Family::MariaDb
        || flavor.version.major > 5
        || flavor.version.minor >= 1
}

/// One dump of everything, as an administrator would run it.
pub fn plan_dump(
    master: &mut Member,
    slave: &mut Member,
    databases: &[String],
) -> Result<LogicalPlan> {
    let hold_lock =
        super::super::server_state::non_transactional_tables(master.sql(), databases)? > 0;
    let mut argv = vec![
        master.profile.programs.dump.clone(),
        "--single-transaction".into(),
        "--routines".into(),
        "--triggers".into(),
        "--hex-blob".into(),
    ];
    argv.extend(gtid_option(master));
    if events_supported(master) {
        argv.push("--events".into());
    }
    argv.push("--databases".into());
    argv.extend(databases.iter().cloned());
    Ok(LogicalPlan {
        streams: vec![Stream {
            label: databases.join(", "),
            phase: Phase::Data,
            dump_argv: argv,
            database: None,
            reads_rows: true,
        }],
        load_argv: load_argv(slave),
        workers: 1,
        hold_lock,
        deferred: Vec::new(),
    })
}

/// One dump per database of just these tables (resync of single tables),
/// each loaded into its database; the dumps drop and create each table.
pub fn plan_tables(
    master: &mut Member,
    slave: &mut Member,
    tables: &[(String, String)],
) -> Result<LogicalPlan> {
    let mut databases: Vec<String> = Vec::new();
    for (db, _) in tables {
        if !databases.contains(db) {
            databases.push(db.clone());
        }
    }
    let hold_lock =
        super::super::server_state::non_transactional_tables(master.sql(), &databases)? > 0;
    let gtids = gtid_option(master);
    let streams = databases
        .iter()
        .map(|db| {
            let mut argv = vec![
                master.profile.programs.dump.clone(),
                "--single-transaction".into(),
                "--triggers".into(),
                "--hex-blob".into(),
                db.clone(),
            ];
            argv.splice(2..2, gtids.clone());
            let names: Vec<String> = tables
                .iter()
                .filter(|(d, _)| d == db)
                .map(|(_, t)| t.clone())
                .collect();
            argv.extend(names.iter().cloned());
            Stream {
                label: names
                    .iter()
                    .map(|t| format!("{db}.{t}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                phase: Phase::Data,
                dump_argv: argv,
                database: Some(db.clone()),
                reads_rows: true,
            }
        })
        .collect();
    Ok(LogicalPlan {
        streams,
        load_argv: load_argv(slave),
        workers: 1,
        hold_lock,
        deferred: Vec::new(),
    })
}

/// A table to copy, as the plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub database: String,
    pub table: String,
    pub bytes: u64,
    /// Single integer primary key column, when there is one.
    pub integer_key: Option<String>,
}

/// Where chunks of a table start: `bounds` splits [min, max] into `chunks`
/// ranges; the first and last are open so rows written meanwhile still
/// fall in one.
pub fn chunk_bounds(min: i64, max: i64, chunks: u64) -> Vec<i64> {
    if chunks < 2 || max <= min {
        return Vec::new();
    }
    let span = (max as i128) - (min as i128) + 1;
    let mut bounds = Vec::new();
    for i in 1..chunks as i128 {
        let bound = min as i128 + span * i / chunks as i128;
        let bound = bound as i64;
        if bounds.last() != Some(&bound) && bound > min {
            bounds.push(bound);
        }
    }
    bounds
}

/// `--where` conditions for the chunks between these bounds.
pub fn chunk_conditions(column: &str, bounds: &[i64]) -> Vec<String> {
    let column = quote_ident(column);
    let mut conditions = Vec::new();
    let mut previous: Option<i64> = None;
    for bound in bounds {
        conditions.push(match previous {
            None => format!("{column} < {bound}"),
            Some(low) => format!("{column} >= {low} AND {column} < {bound}"),
        });
        previous = Some(*bound);
    }
    if let Some(low) = previous {
        conditions.push(format!("{column} >= {low}"));
    }
    conditions
}

fn tables(conn: &mut SqlConn, databases: &[String]) -> Result<Vec<TableInfo>> {
    let list: Vec<String> = databases.iter().map(|d| quote_string(d)).collect();
    let rows = conn.rows(&format!(
        "SELECT t.TABLE_SCHEMA AS db, t.TABLE_NAME AS name, t.DATA_LENGTH + t.INDEX_LENGTH AS bytes, \
         (SELECT GROUP_CONCAT(k.COLUMN_NAME) FROM information_schema.KEY_COLUMN_USAGE k \
          WHERE k.TABLE_SCHEMA = t.TABLE_SCHEMA AND k.TABLE_NAME = t.TABLE_NAME AND k.CONSTRAINT_NAME = 'PRIMARY') AS pk, \
         (SELECT c.DATA_TYPE FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.COLUMNS c \
          ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME \
          WHERE k.TABLE_SCHEMA = t.TABLE_SCHEMA AND k.TABLE_NAME = t.TABLE_NAME AND k.CONSTRAINT_NAME = 'PRIMARY' LIMIT 1) AS pk_type \
         FROM information_schema.TABLES t WHERE t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_SCHEMA IN ({}) \
         ORDER BY bytes DESC, db, name",
        list.join(",")
    ))?;
    let field = |row: &crate::sql::Row, name: &str| row.get(name).cloned().flatten();
    Ok(rows
        .iter()
        .map(|row| {
            let pk = field(row, "pk").filter(|pk| !pk.contains(','));
            let integer = field(row, "pk_type").is_some_and(|t| {
                ["tinyint", "smallint", "mediumint", "int", "bigint"].contains(&t.as_str())
            });
            TableInfo {
                database: field(row, "db").unwrap_or_default(),
                table: field(row, "name").unwrap_or_default(),
                bytes: field(row, "bytes")
                    .and_then(|b| b.parse().ok())
                    .unwrap_or(0),
                integer_key: pk.filter(|_| integer),
            }
        })
        .collect())
}

fn key_range(conn: &mut SqlConn, table: &TableInfo, column: &str) -> Result<Option<(i64, i64)>> {
    let rows = conn.rows(&format!(
        "SELECT MIN({c}) AS lo, MAX({c}) AS hi FROM {}.{}",
        quote_ident(&table.database),
        quote_ident(&table.table),
        c = quote_ident(column)
    ))?;
    let value = |name: &str| {
        rows.first()
            .and_then(|r| r.get(name).cloned().flatten())
            .and_then(|v| v.parse::<i64>().ok())
    };
    Ok(value("lo").zip(value("hi")))
}

/// Several dumps of one snapshot: the schema first, then rows by table
/// (large ones in chunks, small ones together), then triggers, routines
/// and events.
pub fn plan_parallel(
    master: &mut Member,
    slave: &mut Member,
    databases: &[String],
) -> Result<LogicalPlan> {
    let hold_lock =
        super::super::server_state::non_transactional_tables(master.sql(), databases)? > 0;
    let dump = master.profile.programs.dump.clone();
    let gtids = gtid_option(master);
    let base = |extra: &[&str]| -> Vec<String> {
        let mut argv = vec![dump.clone(), "--single-transaction".to_string()];
        argv.extend(gtids.clone());
        argv.extend(extra.iter().map(|s| s.to_string()));
        argv
    };
    let mut streams = Vec::new();
    let mut schema = base(&["--no-data", "--skip-triggers", "--databases"]);
    schema.extend(databases.iter().cloned());
    streams.push(Stream {
        label: "schema".into(),
        phase: Phase::Schema,
        dump_argv: schema,
        database: None,
        reads_rows: false,
    });
    let rows_only = [
        "--no-create-info",
        "--skip-triggers",
        "--skip-add-locks",
        "--skip-disable-keys",
        "--no-autocommit",
        "--hex-blob",
    ];
    let infos = tables(master.sql(), databases)?;
    let mut small: Vec<(String, Vec<String>, u64)> = Vec::new();
    for info in &infos {
        let chunks = info.bytes.div_ceil(CHUNK_BYTES).min(MAX_CHUNKS);
        let range = match (&info.integer_key, chunks > 1) {
            (Some(column), true) => key_range(master.sql(), info, column)?,
            _ => None,
        };
        if let (Some(column), Some((min, max))) = (&info.integer_key, range) {
            let conditions = chunk_conditions(column, &chunk_bounds(min, max, chunks));
            let count = conditions.len();
            for (i, condition) in conditions.into_iter().enumerate() {
                let mut argv = base(&rows_only);
                argv.push(format!("--where={condition}"));
                argv.push(info.database.clone());
                argv.push(info.table.clone());
                streams.push(Stream {
                    label: format!("{}.{} part {} of {count}", info.database, info.table, i + 1),
                    phase: Phase::Data,
                    dump_argv: argv,
                    database: Some(info.database.clone()),
                    reads_rows: true,
                });
            }
            continue;
        }
        if info.bytes >= CHUNK_BYTES {
            let mut argv = base(&rows_only);
            argv.push(info.database.clone());
            argv.push(info.table.clone());
            streams.push(Stream {
                label: format!("{}.{}", info.database, info.table),
                phase: Phase::Data,
                dump_argv: argv,
                database: Some(info.database.clone()),
                reads_rows: true,
            });
            continue;
        }
        // Small tables of one database go together, up to a chunk's size.
        match small
            .iter_mut()
            .find(|(db, _, bytes)| *db == info.database && bytes + info.bytes <= CHUNK_BYTES)
        {
            Some(group) => {
                group.1.push(info.table.clone());
                group.2 += info.bytes;
            }
            None => small.push((info.database.clone(), vec![info.table.clone()], info.bytes)),
        }
    }
    for (database, names, _) in small {
        let mut argv = base(&rows_only);
        argv.push(database.clone());
        argv.extend(names.iter().cloned());
        streams.push(Stream {
            label: format!("{database}: {}", names.join(", ")),
            phase: Phase::Data,
            dump_argv: argv,
            database: Some(database),
            reads_rows: true,
        });
    }
    let mut late = base(&[
        "--no-data",
        "--no-create-info",
        "--no-create-db",
        "--skip-add-drop-table",
        "--triggers",
        "--routines",
    ]);
    if events_supported(master) {
        late.push("--events".into());
    }
    late.push("--databases".into());
    late.extend(databases.iter().cloned());
    streams.push(Stream {
        label: "triggers, routines, events".into(),
        phase: Phase::Late,
        dump_argv: late,
        database: None,
        reads_rows: false,
    });
    Ok(LogicalPlan {
        streams,
        load_argv: load_argv(slave),
        workers: WORKERS,
        hold_lock,
        deferred: indexes::plan(master.sql(), databases)?,
    })
}

/// A started dump: killed if dropped before it was waited for.
struct Dump<'p> {
    stream: &'p Stream,
    child: Option<Child>,
    /// What it wrote before its rows began (forwarded first).
    prefix: Vec<u8>,
}

impl Drop for Dump<'_> {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads a dump's output until it starts reading rows (or ends).
fn wait_until_reading(dump: &mut Dump<'_>, host: &str) -> Result<()> {
    use std::io::Read;
    let Some(stdout) = dump.child.as_mut().and_then(|c| c.stdout.as_mut()) else {
        return Err(Error::Seed {
            node: host.to_string(),
            message: "the dump's output is not available".into(),
        });
    };
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = stdout
            .read(&mut buffer)
            .map_err(|e| Error::io("mariadb-dump", e))?;
        if n == 0 {
            return Ok(());
        }
        let from = dump.prefix.len().saturating_sub(READING_MARKER.len());
        dump.prefix.extend_from_slice(&buffer[..n]);
        if dump.prefix[from..]
            .windows(READING_MARKER.len())
            .any(|w| w == READING_MARKER)
        {
            return Ok(());
        }
    }
}

/// Streams one started dump into a new loader on the slave and waits for both.
fn load(
    dump: &mut Dump<'_>,
    master_label: &str,
    slave: &Access,
    slave_label: &str,
    load_argv: &[String],
    progress: &Progress,
) -> Result<()> {
    let mut argv = load_argv.to_vec();
    if let Some(database) = &dump.stream.database {
        argv.push(format!("--database={database}"));
    }
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let loader = slave.spawn(&refs)?;
    let Some(child) = dump.child.take() else {
        return Err(Error::Seed {
            node: master_label.to_string(),
            message: "dump already used".into(),
        });
    };
    super::stream_between(
        super::StreamEnd {
            child,
            host: master_label,
            command: dump.stream.dump_argv.join(" "),
        },
        super::StreamEnd {
            child: loader,
            host: slave_label,
            command: format!("{} (loading {})", load_argv.join(" "), dump.stream.label),
        },
        &dump.prefix,
        progress,
    )
}

/// Loads these dumps with up to `workers` at once; the first error wins.
fn load_all(
    dumps: Vec<Dump<'_>>,
    workers: usize,
    master_label: &str,
    slave: &Access,
    slave_label: &str,
    load_argv: &[String],
    progress: &Progress,
) -> Result<()> {
    super::run_pooled(dumps, workers, |mut dump| {
        load(
            &mut dump,
            master_label,
            slave,
            slave_label,
            load_argv,
            progress,
        )
    })
}

pub fn run(
    master: &mut Member,
    slave: &mut Member,
    journal: &mut Journal,
    copy: &CopyPlan,
    plan: &LogicalPlan,
    reporter: &dyn Reporter,
) -> Result<SeedResult> {
    let run_dir = journal.dir.clone();
    let master_label = master.label().to_string();
    let slave_label = slave.label().to_string();
    let master_options = ClientOptionFile::create(master.access.node(), &master.answers, &run_dir)?;
    let slave_options = ClientOptionFile::create(slave.access.node(), &slave.answers, &run_dir)?;
    let load_argv = with_options(&plan.load_argv, &slave_options.options());
    let conn = &mut master.session.conn;
    conn.exec("FLUSH TABLES WITH READ LOCK")?;
    let outcome = (|| -> Result<SeedResult> {
        conn.exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
        conn.exec("START TRANSACTION WITH CONSISTENT SNAPSHOT")?;
        let gtid_query = conn.flavor().executed_gtids_query();
        let gtid = conn.scalar(gtid_query)?.unwrap_or_default();
        let progress = Progress::new(STEP, copy.estimated_bytes);
        let mut dumps = Vec::new();
        for stream in &plan.streams {
            let argv = with_options(&stream.dump_argv, &master_options.options());
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            dumps.push(Dump {
                stream,
                child: Some(master.access.spawn(&refs)?),
                prefix: Vec::new(),
            });
        }
        for dump in dumps.iter_mut().filter(|d| d.stream.reads_rows) {
            wait_until_reading(dump, &master_label)?;
        }
        if !plan.hold_lock {
            conn.exec("UNLOCK TABLES")?;
        }
        let done = AtomicBool::new(false);
        let loaded = std::thread::scope(|scope| {
            scope.spawn(|| report_until(&progress, reporter, &done));
            let mut result = Ok(());
            for phase in [Phase::Schema, Phase::Data, Phase::Late] {
                let (these, rest): (Vec<Dump<'_>>, Vec<Dump<'_>>) = std::mem::take(&mut dumps)
                    .into_iter()
                    .partition(|d| d.stream.phase == phase);
                dumps = rest;
                let workers = if phase == Phase::Data {
                    plan.workers
                } else {
                    1
                };
                result = load_all(
                    these,
                    workers,
                    &master_label,
                    &slave.access,
                    &slave_label,
                    &load_argv,
                    &progress,
                )
                .and_then(|()| match phase {
                    Phase::Schema => {
                        indexes::leave_out(&plan.deferred, &slave.access, &load_argv, reporter)
                    }
                    Phase::Data => indexes::build(
                        &plan.deferred,
                        plan.workers,
                        &slave.access,
                        &load_argv,
                        reporter,
                        conn,
                        &mut slave.session.conn,
                    ),
                    Phase::Late => Ok(()),
                });
                if result.is_err() {
                    break;
                }
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            result
        });
        loaded?;
        progress.mark_in_place();
        progress.report(reporter);
        let verified = super::verify::compare(
            conn,
            &mut slave.session.conn,
            &copy.databases,
            &copy.tables,
            copy.verify,
        )?;
        Ok(SeedResult {
            position: Position::snapshot(conn.flavor(), gtid),
            bytes: progress.bytes(),
            copy_seconds: progress.copy_seconds(),
            seconds: progress.seconds(),
            verified,
        })
    })();
    let _ = conn.exec("UNLOCK TABLES");
    let _ = conn.exec("ROLLBACK");
    outcome
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_key_range_with_open_ends() {
        let bounds = chunk_bounds(1, 100, 4);
        assert_eq!(bounds, vec![26, 51, 76]);
        assert_eq!(
            chunk_conditions("id", &bounds),
            vec![
                "`id` < 26",
                "`id` >= 26 AND `id` < 51",
                "`id` >= 51 AND `id` < 76",
                "`id` >= 76"
            ]
        );
    }

    #[test]
    fn no_chunks_for_a_tiny_or_single_range() {
        assert!(chunk_bounds(5, 5, 4).is_empty());
        assert!(chunk_bounds(1, 100, 1).is_empty());
        assert!(chunk_conditions("id", &[]).is_empty());
        // Fewer distinct keys than chunks: no empty or repeated ranges.
        assert_eq!(chunk_bounds(1, 3, 8), vec![2, 3]);
    }

    #[test]
    fn chunks_survive_extreme_keys() {
        let bounds = chunk_bounds(i64::MIN, i64::MAX, 2);
        assert_eq!(bounds, vec![0]);
    }
}
