//! What the servers say about themselves: replica status read by column
//! name, databases, accounts.

use crate::answers::SYSTEM_SCHEMAS;
use crate::sql::flavor::quote_string;
use crate::sql::{Row, SqlConn};
use crate::Result;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplicaState {
    pub master_host: String,
    pub master_port: String,
    pub master_user: String,
    pub io_running: String,
    pub sql_running: String,
    pub seconds_behind: Option<String>,
    pub last_io_error: String,
    pub last_sql_error: String,
    /// The databases its filters replicate by name: `Replicate_Wild_Do_Table`
    /// patterns `DB.%` and the `Replicate_Do_DB` of older runs.
    pub replicated_databases: Vec<String>,
    pub gtid_io_pos: Option<String>,
    /// Error code of the I/O thread's last error ("0": none).
    pub last_io_errno: Option<String>,
    /// The connection's TLS: whether it is used, the CA file it trusts, and
    /// whether the source's certificate is verified.
    pub ssl_allowed: String,
    pub ssl_ca_file: String,
    pub ssl_verify: String,
}

impl ReplicaState {
    /// Connects over TLS with the source's certificate verified against `ca`.
    pub fn uses_tls(&self, ca: &str) -> bool {
        self.ssl_allowed == "Yes" && self.ssl_ca_file == ca && self.ssl_verify == "Yes"
    }
}

impl ReplicaState {
    pub fn running(&self) -> bool {
        self.io_running == "Yes" && self.sql_running == "Yes"
    }
}

fn field(row: &Row, names: &[String]) -> Option<String> {
    names.iter().find_map(|n| row.get(n).cloned().flatten())
}

/// The replica status, or None when the server replicates from nobody.
pub fn replica_state(conn: &mut SqlConn) -> Result<Option<ReplicaState>> {
    let flavor = conn.flavor();
    let rows = conn.rows(flavor.show_replica_status())?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let col = |suffix: &str| vec![flavor.status_column(suffix)];
    let either = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
    let state = ReplicaState {
        master_host: field(&row, &either("Master_Host", "Source_Host")).unwrap_or_default(),
        master_port: field(&row, &either("Master_Port", "Source_Port")).unwrap_or_default(),
        master_user: field(&row, &either("Master_User", "Source_User")).unwrap_or_default(),
        io_running: field(&row, &col("IO_Running")).unwrap_or_default(),
        sql_running: field(&row, &col("SQL_Running")).unwrap_or_default(),
        seconds_behind: field(
            &row,
            &either("Seconds_Behind_Master", "Seconds_Behind_Source"),
        ),
        last_io_error: field(&row, &["Last_IO_Error".to_string()]).unwrap_or_default(),
        last_sql_error: field(&row, &["Last_SQL_Error".to_string()]).unwrap_or_default(),
        replicated_databases: crate::mycnf::filters::replicated_databases(
            &field(&row, &["Replicate_Do_DB".to_string()]).unwrap_or_default(),
            &field(&row, &["Replicate_Wild_Do_Table".to_string()]).unwrap_or_default(),
        ),
        gtid_io_pos: field(&row, &["Gtid_IO_Pos".to_string()]),
        last_io_errno: field(&row, &["Last_IO_Errno".to_string()]),
        ssl_allowed: field(&row, &either("Master_SSL_Allowed", "Source_SSL_Allowed"))
            .unwrap_or_default(),
        ssl_ca_file: field(&row, &either("Master_SSL_CA_File", "Source_SSL_CA_File"))
            .unwrap_or_default(),
        ssl_verify: field(
            &row,
            &either(
                "Master_SSL_Verify_Server_Cert",
                "Source_SSL_Verify_Server_Cert",
            ),
        )
        .unwrap_or_default(),
    };
    if state.master_host.is_empty() {
        return Ok(None);
    }
    let last_sql_error = conn.applier_error(&state.last_sql_error);
    Ok(Some(ReplicaState {
        last_sql_error,
        ..state
    }))
}

/// Whether `user`@`host` refuses plain-text logins (REQUIRE SSL, X509, ...).
pub fn account_requires_tls(conn: &mut SqlConn, user: &str, host: &str) -> Result<bool> {
    let ssl_type = conn.scalar(&format!(
        "SELECT ssl_type FROM mysql.user WHERE User = {} AND Host = {}",
        crate::sql::flavor::quote_string(user),
        crate::sql::flavor::quote_string(host)
    ))?;
    Ok(ssl_type.is_some_and(|t| !t.is_empty()))
}

/// Databases of a server, system schemas left out.
pub fn user_databases(conn: &mut SqlConn) -> Result<Vec<String>> {
    let mut names =
        conn.column("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")?;
    names.retain(|n| !SYSTEM_SCHEMAS.iter().any(|s| s.eq_ignore_ascii_case(n)));
    Ok(names)
}

/// Databases a cluster may replicate: the user databases without this
/// tool's own `mysql_ha` (each node keeps its own write-check row there).
pub fn replicable_databases(conn: &mut SqlConn) -> Result<Vec<String>> {
    let mut names = user_databases(conn)?;
    names.retain(|n| !n.eq_ignore_ascii_case(crate::answers::TOOL_DATABASE));
    Ok(names)
}

/// Bytes of data and indexes in these databases.
pub fn databases_size(conn: &mut SqlConn, databases: &[String]) -> Result<u64> {
    if databases.is_empty() {
        return Ok(0);
    }
    let list: Vec<String> = databases.iter().map(|d| quote_string(d)).collect();
    let total = conn.scalar(&format!(
        "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({})",
        list.join(",")
    ))?;
    Ok(total.and_then(|t| t.parse().ok()).unwrap_or(0))
}

/// Base tables in these databases whose engine has no transactions.
pub fn non_transactional_tables(conn: &mut SqlConn, databases: &[String]) -> Result<u64> {
    if databases.is_empty() {
        return Ok(0);
    }
    let list: Vec<String> = databases.iter().map(|d| quote_string(d)).collect();
    let count = conn.scalar(&format!(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' \
         AND ENGINE NOT IN ('InnoDB', 'XtraDB', 'NDBCLUSTER', 'TokuDB', 'RocksDB') AND TABLE_SCHEMA IN ({})",
        list.join(",")
    ))?;
    Ok(count.and_then(|c| c.parse().ok()).unwrap_or(0))
}

/// Number of tables in a database (0 when it does not exist).
pub fn table_count(conn: &mut SqlConn, database: &str) -> Result<u64> {
    let count = conn.scalar(&format!(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {}",
        quote_string(database)
    ))?;
    Ok(count.and_then(|c| c.parse().ok()).unwrap_or(0))
}

/// Privileges of an account, or None when it does not exist.
pub fn account_grants(conn: &mut SqlConn, user: &str, host: &str) -> Result<Option<Vec<String>>> {
    let exists = conn.scalar(&format!(
        "SELECT COUNT(*) FROM mysql.user WHERE User = {} AND Host = {}",
        quote_string(user),
        quote_string(host)
    ))?;
    if exists.as_deref() == Some("0") {
        return Ok(None);
    }
    let grants = conn.column(&format!(
        "SHOW GRANTS FOR {}",
        crate::sql::flavor::account(user, host)
    ))?;
    Ok(Some(grants))
}

/// Global privileges named in SHOW GRANTS lines ("REPLICATION SLAVE", ...).
pub fn global_privileges(grants: &[String]) -> Vec<String> {
    let mut privileges = Vec::new();
    for grant in grants {
        let Some(rest) = grant.strip_prefix("GRANT ") else {
            continue;
        };
        let Some((list, target)) = rest.split_once(" ON ") else {
            continue;
        };
        if !target.trim_start().starts_with("*.*") {
            privileges.push(format!(
                "{list} ON {}",
                target.split(" TO ").next().unwrap_or("")
            ));
            continue;
        }
        privileges.extend(list.split(',').map(|p| p.trim().to_string()));
    }
    privileges.retain(|p| p != "USAGE");
    privileges
}

/// The slave's running filter lists: `replicate_do_db` and
/// `replicate_wild_do_table`, comma-separated as the server shows them.
pub fn filter_lists(conn: &mut SqlConn) -> Result<(String, String)> {
    let flavor = conn.flavor();
    let do_db = conn
        .scalar(&flavor.replication_filter_query("replicate_do_db"))?
        .unwrap_or_default();
    let wild = conn
        .scalar(&flavor.replication_filter_query("replicate_wild_do_table"))?
        .unwrap_or_default();
    Ok((do_db, wild))
}

/// A replica's threads and errors in a line (or that there is none).
pub fn describe_replica(replica: &Option<ReplicaState>) -> String {
    match replica {
        Some(r) => format!(
            "io={} sql={} {}{}",
            r.io_running, r.sql_running, r.last_io_error, r.last_sql_error
        ),
        None => "no replication configured".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::global_privileges;

    #[test]
    fn reads_privileges_from_show_grants() {
        let grants = vec![
            "GRANT REPLICATION SLAVE ON *.* TO `repl`@`192.0.2.12` IDENTIFIED BY PASSWORD '*AB'"
                .to_string(),
        ];
        assert_eq!(global_privileges(&grants), vec!["REPLICATION SLAVE"]);
        let grants = vec![
            "GRANT USAGE ON *.* TO `repl`@`%`".to_string(),
            "GRANT SELECT ON `shop`.* TO `repl`@`%`".to_string(),
        ];
        assert_eq!(global_privileges(&grants), vec!["SELECT ON `shop`.*"]);
    }
}
