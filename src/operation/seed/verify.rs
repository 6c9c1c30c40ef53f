//! The check of a finished copy: every copied table's row count (and, when
//! asked, a checksum of its rows) on the master, read in the copy's own
//! snapshot, against the slave's before it replicates anything.

use crate::answers::SeedVerify;
use crate::sql::flavor::{quote_ident, quote_string};
use crate::sql::SqlConn;
use crate::{Error, Result};

/// Base tables of these databases, as (database, table).
pub fn base_tables(conn: &mut SqlConn, databases: &[String]) -> Result<Vec<(String, String)>> {
    if databases.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = databases.iter().map(|d| quote_string(d)).collect();
    let rows = conn.rows(&format!(
        "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES \
         WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN ({}) ORDER BY 1, 2",
        list.join(",")
    ))?;
    Ok(rows
        .iter()
        .map(|r| {
            let get = |k: &str| r.get(k).cloned().flatten().unwrap_or_default();
            (get("db"), get("name"))
        })
        .collect())
}

/// The query that fingerprints a table: its row count, and with
/// `checksum` the sum of a CRC of every row (NULLs marked apart from
/// empty values), so row order does not matter.
pub fn fingerprint_query(
    database: &str,
    table: &str,
    columns: &[String],
    checksum: bool,
) -> String {
    let from = format!("{}.{}", quote_ident(database), quote_ident(table));
    if !checksum || columns.is_empty() {
        return format!("SELECT COUNT(*) FROM {from}");
    }
    let values: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
    let nulls: Vec<String> = columns
        .iter()
        .map(|c| format!("ISNULL({})", quote_ident(c)))
        .collect();
    format!(
        "SELECT CONCAT(COUNT(*), ' rows, crc ', COALESCE(SUM(CRC32(CONCAT_WS(0x1f, {}, CONCAT({})))), 0)) FROM {from}",
        values.join(", "),
        nulls.join(", ")
    )
}

fn columns(conn: &mut SqlConn, database: &str, table: &str) -> Result<Vec<String>> {
    conn.column(&format!(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} ORDER BY ORDINAL_POSITION",
        quote_string(database),
        quote_string(table)
    ))
}

/// Compares every base table of `databases`; an error names the first
/// table that differs. Returns a line for the run's summary. The two
/// servers count at the same time: each reads every copied row once.
pub fn compare(
    master: &mut SqlConn,
    slave: &mut SqlConn,
    databases: &[String],
    only: &[(String, String)],
    how: SeedVerify,
) -> Result<String> {
    let checksum = how == SeedVerify::Checksum;
    let mut tables = base_tables(master, databases)?;
    if !only.is_empty() {
        tables.retain(|t| only.contains(t));
    }
    let mut queries = Vec::with_capacity(tables.len());
    for (database, table) in &tables {
        let columns = columns(master, database, table)?;
        queries.push(fingerprint_query(database, table, &columns, checksum));
    }
    let fingerprints = |conn: &mut SqlConn| -> Vec<Result<String>> {
        queries
            .iter()
            .map(|query| Ok(conn.scalar(query)?.unwrap_or_default()))
            .collect()
    };
    let (on_master, on_slave) = std::thread::scope(|scope| {
        let master_side = scope.spawn(|| fingerprints(master));
        let on_slave = fingerprints(slave);
        (master_side.join(), on_slave)
    });
    let on_master =
        on_master.map_err(|_| Error::Internal("counting on the master panicked".into()))?;
    for (((database, table), on_master), on_slave) in tables.iter().zip(on_master).zip(on_slave) {
        let on_master = on_master?;
        let on_slave = on_slave.map_err(|err| Error::Verify {
            node: slave.node().to_string(),
            message: format!("`{database}`.`{table}` cannot be read after the copy: {err}"),
        })?;
        if on_master != on_slave {
            return Err(Error::Verify {
                node: slave.node().to_string(),
                message: format!(
                    "`{database}`.`{table}` differs from the master's snapshot after the copy: master {on_master}, slave {on_slave}"
                ),
            });
        }
    }
    Ok(format!(
        "{} tables, {} equal",
        tables.len(),
        if checksum {
            "row counts and checksums"
        } else {
            "row counts"
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_or_checksums_every_column() {
        assert_eq!(
            fingerprint_query("web-stats", "hits", &["id".into()], false),
            "SELECT COUNT(*) FROM `web-stats`.`hits`"
        );
        let query = fingerprint_query("shop", "t", &["id".into(), "note".into()], true);
        assert!(
            query.contains("CONCAT_WS(0x1f, `id`, `note`, CONCAT(ISNULL(`id`), ISNULL(`note`)))"),
            "{query}"
        );
        assert!(query.starts_with("SELECT CONCAT(COUNT(*)"), "{query}");
    }
}
