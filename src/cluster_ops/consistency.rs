//! `mysql-ha check --consistency`: compares every replicated table of the
//! master with the slave's copy at one point of the master's history.
//!
//! Per table: the slave's replication stops; the master opens a consistent
//! snapshot (InnoDB's MVCC read view: no lock, writers go on) and reads its
//! binary-log position (`binlog_snapshot_file/position`, as a GTID; MySQL:
//! its `gtid_executed` under a brief global read lock); the slave applies
//! exactly up to those GTIDs (`START SLAVE UNTIL master_gtid_pos`, MySQL's
//! `START REPLICA UNTIL SQL_AFTER_GTIDS`), opens its own snapshot there on
//! a second connection,
//! and replicates again at once. Both snapshots then hold the same data:
//! the table is read in chunks of primary-key ranges (the boundaries come
//! from the master), one query per chunk and node, each giving a row count
//! and a 64-bit checksum (`BIT_XOR` of the first 64 bits of each row's
//! SHA-256: MySQL 9 has no MD5 or SHA1 any more), and the first chunk whose count or checksum differs names the key
//! range to look at. Nothing is written on either node.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::events::Reporter;
use crate::operation::pair::{Member, Pair};
use crate::operation::seed::Progress;
use crate::operation::server_state;
use crate::sql::flavor::{quote_ident, quote_string};
use crate::sql::SqlConn;
use crate::{Error, Result};

/// How long the slave may take to apply up to the master's snapshot.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Equal,
    Different,
    /// On the master, not on the slave.
    Missing,
    /// On the slave only (in a replicated database).
    Extra,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub database: String,
    pub table: String,
    pub verdict: Verdict,
    pub master_rows: u64,
    /// None when the table is missing on the slave.
    pub slave_rows: Option<u64>,
    pub chunks: u64,
    /// The first primary-key range whose rows differ, as a WHERE condition
    /// (the whole table when it has no primary key).
    pub first_difference: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub master: String,
    pub slave: String,
    pub tables: Vec<TableReport>,
}

impl Report {
    pub fn differing(&self) -> Vec<&TableReport> {
        self.tables
            .iter()
            .filter(|t| t.verdict != Verdict::Equal)
            .collect()
    }

    /// Ok when every table is equal; else the error that names them.
    pub fn ensure_equal(&self) -> Result<()> {
        let differing = self.differing();
        if differing.is_empty() {
            return Ok(());
        }
        Err(Error::Inconsistent {
            count: differing.len(),
            slave: self.slave.clone(),
            tables: differing
                .iter()
                .map(|t| format!("{}.{}", t.database, t.table))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "consistency of {} (slave) against {} (master):\n",
            self.slave, self.master
        );
        for t in &self.tables {
            let name = format!("{}.{}", t.database, t.table);
            let verdict = match t.verdict {
                Verdict::Equal => "equal",
                Verdict::Different => "DIFFERENT",
                Verdict::Missing => "MISSING on the slave",
                Verdict::Extra => "EXTRA on the slave",
            };
            out.push_str(&format!(
                "  {name:<40} {verdict:<20} rows: master {}, slave {} ({} chunk{})\n",
                t.master_rows,
                t.slave_rows
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into()),
                t.chunks,
                if t.chunks == 1 { "" } else { "s" }
            ));
            if let Some(range) = &t.first_difference {
                out.push_str(&format!("    first difference where {range}\n"));
            }
        }
        let bad = self.differing().len();
        if bad == 0 {
            out.push_str(&format!("all {} tables equal\n", self.tables.len()));
        } else {
            out.push_str(&format!(
                "{bad} of {} tables differ, are missing or are extra\n",
                self.tables.len()
            ));
        }
        out
    }
}

/// The checksum expression over `columns` for one chunk: row count and the
/// XOR of each row's 64-bit hash. NULL and '' differ (a NULL map is part
/// of the hashed text).
pub fn checksum_query(database: &str, table: &str, columns: &[String], filter: &str) -> String {
    let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
    let nulls: Vec<String> = cols.iter().map(|c| format!("ISNULL({c})")).collect();
    let row = if cols.is_empty() {
        "''".to_string()
    } else {
        format!(
            "CONCAT_WS('#', {}, CONCAT({}))",
            cols.join(", "),
            nulls.join(", ")
        )
    };
    format!(
        "SELECT COUNT(*) AS n, COALESCE(BIT_XOR(CAST(CONV(LEFT(SHA2({row}, 256), 16), 16, 10) AS UNSIGNED)), 0) AS crc FROM {}.{}{}",
        quote_ident(database),
        quote_ident(table),
        if filter.is_empty() {
            String::new()
        } else {
            format!(" WHERE {filter}")
        }
    )
}

/// `(a, b) > ('1', 'x')`-style bounds of a key range: after `low` (when
/// given) and up to `high` included (when given).
pub fn range_filter(key: &[String], low: Option<&[String]>, high: Option<&[String]>) -> String {
    let tuple = |values: &[String]| {
        format!(
            "({})",
            values
                .iter()
                .map(|v| quote_string(v))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let columns = format!(
        "({})",
        key.iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut parts = Vec::new();
    if let Some(low) = low {
        parts.push(format!("{columns} > {}", tuple(low)));
    }
    if let Some(high) = high {
        parts.push(format!("{columns} <= {}", tuple(high)));
    }
    parts.join(" AND ")
}

fn single(conn: &mut SqlConn, query: &str) -> Result<(u64, String)> {
    let rows = conn.rows(query)?;
    let row = rows.into_iter().next().unwrap_or_default();
    let n = row
        .get("n")
        .cloned()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let crc = row.get("crc").cloned().flatten().unwrap_or_default();
    Ok((n, crc))
}

/// The primary key's next boundary after `low`: the key of the
/// `chunk_rows`-th row, or None when fewer rows are left.
fn next_boundary(
    conn: &mut SqlConn,
    database: &str,
    table: &str,
    key: &[String],
    low: Option<&[String]>,
    chunk_rows: u64,
) -> Result<Option<Vec<String>>> {
    let select: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} AS k{i}", quote_ident(c)))
        .collect();
    let order: Vec<String> = key.iter().map(|c| quote_ident(c)).collect();
    let filter = range_filter(key, low, None);
    let query = format!(
        "SELECT {} FROM {}.{}{} ORDER BY {} LIMIT 1 OFFSET {}",
        select.join(", "),
        quote_ident(database),
        quote_ident(table),
        if filter.is_empty() {
            String::new()
        } else {
            format!(" WHERE {filter}")
        },
        order.join(", "),
        chunk_rows.saturating_sub(1)
    );
    let rows = conn.rows(&query)?;
    Ok(rows.into_iter().next().map(|row| {
        (0..key.len())
            .map(|i| {
                row.get(&format!("k{i}"))
                    .cloned()
                    .flatten()
                    .unwrap_or_default()
            })
            .collect()
    }))
}

fn list(conn: &mut SqlConn, query: &str) -> Result<Vec<String>> {
    conn.column(query)
}

/// Puts the slave's replication back to running, whatever happened.
struct Restart<'a> {
    conn: &'a mut SqlConn,
}

impl Drop for Restart<'_> {
    fn drop(&mut self) {
        for statement in resume_statements(self.conn.flavor()) {
            let _ = self.conn.exec(statement);
        }
    }
}

/// Stops, then starts: MariaDB's I/O thread also stops by itself at
/// `UNTIL master_gtid_pos`, a moment after the SQL thread may have. A bare
/// START in that moment starts only the SQL thread, and the I/O thread
/// then ends with no error (seen in CI: io=No sql=Yes after a check).
fn resume_statements(flavor: crate::sql::flavor::Flavor) -> [&'static str; 2] {
    [flavor.stop_replica(), flavor.start_replica()]
}

/// Opens the master's snapshot and returns the GTIDs it holds (empty: the
/// master has none yet). MariaDB names its snapshot's binary-log position
/// itself; MySQL does not, so there the snapshot opens under a brief global
/// read lock, during which `gtid_executed` is the snapshot's.
fn master_snapshot(master_snap: &mut SqlConn) -> Result<String> {
    let flavor = master_snap.flavor();
    if flavor.family == crate::sql::Family::MySql {
        master_snap.exec("FLUSH TABLES WITH READ LOCK")?;
        let opened = master_snap
            .exec("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .and_then(|()| master_snap.scalar(flavor.executed_gtids_query()));
        let unlocked = master_snap.exec("UNLOCK TABLES");
        let gtids = opened?.unwrap_or_default();
        unlocked?;
        return Ok(gtids);
    }
    master_snap.exec("START TRANSACTION WITH CONSISTENT SNAPSHOT")?;
    let (file, position) = master_snap.binlog_snapshot()?;
    let position: u64 = match position.parse() {
        Ok(p) if !file.is_empty() => p,
        _ => {
            return Err(Error::Verify {
                node: "master".into(),
                message: "the master shows no binary-log position for its snapshot (binlog_snapshot_file): is its binary log on?".into(),
            })
        }
    };
    Ok(master_snap
        .scalar(&format!(
            "SELECT BINLOG_GTID_POS({}, {})",
            quote_string(&file),
            position
        ))?
        .unwrap_or_default())
}

/// Brings `slave_snap` to a snapshot of the same point of history as
/// `master_snap` (see the module comment). Returns the GTID position.
fn synchronised_snapshots(
    master_snap: &mut SqlConn,
    slave: &mut Member,
    slave_snap: &mut SqlConn,
) -> Result<String> {
    let label = slave.label().to_string();
    let flavor = slave.sql().flavor();
    let restart = Restart { conn: slave.sql() };
    restart.conn.exec(flavor.stop_replica())?;
    let gtid = master_snapshot(master_snap)?;
    if !gtid.is_empty() {
        restart.conn.exec(&flavor.start_replica_until(&gtid))?;
        // The SQL thread may not have started yet when START returns: wait
        // for the position itself, then for the thread to stop there.
        let (wait, reached) = flavor.wait_for_gtids(&gtid, CATCH_UP_TIMEOUT.as_secs() as f64);
        let waited = restart.conn.scalar(&wait)?.unwrap_or_default();
        if waited != reached {
            return Err(Error::Verify {
                node: label,
                message: format!(
                    "the slave did not reach the master's snapshot {gtid} within {} s; check its lag and errors with `mysql-ha status`",
                    CATCH_UP_TIMEOUT.as_secs()
                ),
            });
        }
        let started = Instant::now();
        loop {
            let replica =
                server_state::replica_state(restart.conn)?.ok_or_else(|| Error::Verify {
                    node: label.clone(),
                    message: "replication disappeared during the consistency check".into(),
                })?;
            if !replica.last_sql_error.is_empty() {
                return Err(Error::Verify {
                    node: label,
                    message: format!(
                        "the slave stopped with an error on its way to {gtid}: {}",
                        replica.last_sql_error
                    ),
                });
            }
            if replica.sql_running == "No" {
                break;
            }
            if started.elapsed() > CATCH_UP_TIMEOUT {
                return Err(Error::Verify {
                    node: label,
                    message: format!(
                        "the slave did not reach the master's snapshot {gtid} within {} s; check its lag with `mysql-ha status`",
                        CATCH_UP_TIMEOUT.as_secs()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    slave_snap.exec("START TRANSACTION WITH CONSISTENT SNAPSHOT")?;
    drop(restart);
    Ok(gtid)
}

fn compare_table(
    master_snap: &mut SqlConn,
    slave: &mut Member,
    slave_snap: &mut SqlConn,
    database: &str,
    table: &str,
    chunk_rows: u64,
    on_rows: &mut dyn FnMut(u64),
) -> Result<TableReport> {
    let db = quote_string(database);
    let tb = quote_string(table);
    let columns = list(
        master_snap,
        &format!("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {db} AND TABLE_NAME = {tb} ORDER BY ORDINAL_POSITION"),
    )?;
    let key = list(
        master_snap,
        &format!("SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = {db} AND TABLE_NAME = {tb} AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX"),
    )?;
    let on_slave = slave_snap
        .scalar(&format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {db} AND TABLE_NAME = {tb}"
        ))?
        .as_deref()
        == Some("1");
    let mut report = TableReport {
        database: database.to_string(),
        table: table.to_string(),
        verdict: Verdict::Equal,
        master_rows: 0,
        slave_rows: None,
        chunks: 0,
        first_difference: None,
    };
    if !on_slave {
        let (n, _) = single(master_snap, &checksum_query(database, table, &[], ""))?;
        report.master_rows = n;
        report.verdict = Verdict::Missing;
        return Ok(report);
    }
    synchronised_snapshots(master_snap, slave, slave_snap)?;
    let outcome = (|| {
        let mut slave_rows = 0;
        let mut low: Option<Vec<String>> = None;
        loop {
            let high = if key.is_empty() {
                None
            } else {
                next_boundary(
                    master_snap,
                    database,
                    table,
                    &key,
                    low.as_deref(),
                    chunk_rows,
                )?
            };
            let filter = range_filter(&key, low.as_deref(), high.as_deref());
            let query = checksum_query(database, table, &columns, &filter);
            let (m_rows, m_crc) = single(master_snap, &query)?;
            let (s_rows, s_crc) = single(slave_snap, &query)?;
            report.chunks += 1;
            report.master_rows += m_rows;
            on_rows(m_rows);
            slave_rows += s_rows;
            if (m_rows, &m_crc) != (s_rows, &s_crc) && report.first_difference.is_none() {
                report.verdict = Verdict::Different;
                report.first_difference = Some(if filter.is_empty() {
                    "the whole table (no primary key, or one chunk)".to_string()
                } else {
                    filter.clone()
                });
            }
            match high {
                Some(h) => low = Some(h),
                None => break,
            }
        }
        // Rows of the slave beyond the master's last key.
        report.slave_rows = Some(slave_rows);
        Ok::<(), Error>(())
    })();
    let _ = master_snap.exec("COMMIT");
    let _ = slave_snap.exec("COMMIT");
    outcome?;
    Ok(report)
}

/// Which member is the slave of the other: the answers' order, or the
/// other way round after a switchover.
pub fn orient(pair: &mut Pair) -> Result<()> {
    let slave_follows = server_state::replica_state(pair.slave.sql())?
        .is_some_and(|r| r.master_host == pair.master.label());
    if slave_follows {
        return Ok(());
    }
    let master_follows = server_state::replica_state(pair.master.sql())?
        .is_some_and(|r| r.master_host == pair.slave.label());
    if master_follows {
        std::mem::swap(&mut pair.master, &mut pair.slave);
        return Ok(());
    }
    Err(Error::Cluster {
        message: format!(
            "neither {} nor {} replicates from the other: nothing to compare (see `mysql-ha status`)",
            pair.master.label(),
            pair.slave.label()
        ),
    })
}

/// The master's estimate of each table's data size and row count
/// (information_schema), for the progress of a check.
fn table_sizes(pair: &mut Pair, database: &str) -> Result<HashMap<String, (u64, u64)>> {
    let rows = pair.master.sql().rows(&format!(
        "SELECT TABLE_NAME AS name, DATA_LENGTH AS bytes, TABLE_ROWS AS table_rows FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_TYPE = 'BASE TABLE'",
        quote_string(database)
    ))?;
    let number = |row: &crate::sql::conn::Row, column: &str| {
        row.get(column)
            .cloned()
            .flatten()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Ok(rows
        .iter()
        .filter_map(|row| {
            let name = row.get("name")?.clone()?;
            Some((name, (number(row, "bytes"), number(row, "table_rows"))))
        })
        .collect())
}

/// The name progress events of a check carry.
pub const PROGRESS_STEP: &str = "consistency check";

/// Compares every base table of `databases` (default: the ones the slave
/// replicates) in chunks of `chunk_rows` rows. Progress goes to `reporter`
/// in bytes of the master's data (its estimate per row times the rows
/// compared), with rate and time left.
pub fn check(
    pair: &mut Pair,
    databases: &[String],
    chunk_rows: u64,
    reporter: &dyn Reporter,
) -> Result<Report> {
    orient(pair)?;
    // An I/O thread just started (by resync, say) connects first.
    let started = Instant::now();
    let replica = loop {
        let replica =
            server_state::replica_state(pair.slave.sql())?.ok_or_else(|| Error::Node {
                node: pair.slave.label().to_string(),
                message: "it replicates from nobody: there is no slave to compare".into(),
            })?;
        let connecting = replica.sql_running == "Yes"
            && matches!(replica.io_running.as_str(), "Preparing" | "Connecting");
        if !connecting || started.elapsed() > Duration::from_secs(15) {
            break replica;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !replica.running() {
        return Err(Error::Verify {
            node: pair.slave.label().to_string(),
            message: format!(
                "replication is not running (io={} sql={}{}): mend it first, then check again",
                replica.io_running,
                replica.sql_running,
                if replica.last_sql_error.is_empty() {
                    String::new()
                } else {
                    format!(", {}", replica.last_sql_error)
                }
            ),
        });
    }
    let databases: Vec<String> = if databases.is_empty() {
        replica.replicated_databases.clone()
    } else {
        databases.to_vec()
    };
    if databases.is_empty() {
        return Err(Error::Node {
            node: pair.slave.label().to_string(),
            message: "no replication filter names a database; name them with --databases".into(),
        });
    }
    let mut sizes = HashMap::new();
    for database in &databases {
        sizes.insert(database.clone(), table_sizes(pair, database)?);
    }
    let estimated: u64 = sizes
        .values()
        .flat_map(|t| t.values())
        .map(|(b, _)| b)
        .sum();
    let progress = Progress::new(PROGRESS_STEP, estimated);
    let mut master_snap = pair.master.open_sql_session()?;
    let mut slave_snap = pair.slave.open_sql_session()?;
    let mut tables = Vec::new();
    for database in &databases {
        let query = format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            quote_string(database)
        );
        let names = list(pair.master.sql(), &query)?;
        let on_slave = list(pair.slave.sql(), &query)?;
        for table in &names {
            let (data_bytes, table_rows) = sizes
                .get(database)
                .and_then(|t| t.get(table))
                .copied()
                .unwrap_or((0, 0));
            let per_row = data_bytes / table_rows.max(1);
            let mut counted = 0u64;
            let mut on_rows = |rows: u64| {
                // The estimate of rows is rough: never count past the table.
                let bytes = (rows * per_row).min(data_bytes.saturating_sub(counted));
                counted += bytes;
                progress.add(bytes);
                progress.report(reporter);
            };
            tables.push(compare_table(
                &mut master_snap.conn,
                &mut pair.slave,
                &mut slave_snap.conn,
                database,
                table,
                chunk_rows.max(1),
                &mut on_rows,
            )?);
            progress.add(data_bytes.saturating_sub(counted));
            progress.report(reporter);
        }
        for table in on_slave.iter().filter(|t| !names.contains(t)) {
            let (rows, _) = single(pair.slave.sql(), &checksum_query(database, table, &[], ""))?;
            tables.push(TableReport {
                database: database.clone(),
                table: table.clone(),
                verdict: Verdict::Extra,
                master_rows: 0,
                slave_rows: Some(rows),
                chunks: 0,
                first_difference: None,
            });
        }
    }
    Ok(Report {
        master: pair.master.label().to_string(),
        slave: pair.slave.label().to_string(),
        tables,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn replication_resumes_with_both_threads_stopped_first() {
        for version in ["10.11.6-MariaDB", "8.4.3"] {
            let flavor = crate::sql::flavor::Flavor::from_version_string(version).unwrap();
            let [stop, start] = resume_statements(flavor);
            assert_eq!(stop, flavor.stop_replica());
            assert_eq!(start, flavor.start_replica());
        }
    }

    #[test]
    fn chunk_ranges() {
        let key = vec!["id".to_string()];
        assert_eq!(range_filter(&key, None, None), "");
        assert_eq!(
            range_filter(&key, None, Some(&["1000".to_string()])),
            "(`id`) <= ('1000')"
        );
        let two = vec!["a".to_string(), "b`c".to_string()];
        assert_eq!(
            range_filter(
                &two,
                Some(&["1".to_string(), "x'y".to_string()]),
                Some(&["2".to_string(), "z".to_string()])
            ),
            "(`a`, `b``c`) > ('1', 'x''y') AND (`a`, `b``c`) <= ('2', 'z')"
        );
    }

    #[test]
    fn checksum_statement() {
        let q = checksum_query(
            "web-stats",
            "hits",
            &["id".to_string(), "path".to_string()],
            "(`id`) <= ('10')",
        );
        assert_eq!(
            q,
            "SELECT COUNT(*) AS n, COALESCE(BIT_XOR(CAST(CONV(LEFT(SHA2(CONCAT_WS('#', `id`, `path`, CONCAT(ISNULL(`id`), ISNULL(`path`))), 256), 16), 16, 10) AS UNSIGNED)), 0) AS crc FROM `web-stats`.`hits` WHERE (`id`) <= ('10')"
        );
    }
}
