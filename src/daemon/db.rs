//! The daemon's SQL: its own server through the unix socket (unix_socket
//! authentication as the account it runs as), and the peer or the cluster
//! address over TCP with the monitor account. Every connection and query is
//! bounded by the query timeout.

use std::time::Duration;

use mysql::prelude::Queryable;

use super::config::ClusterConfig;
use super::exec::is_root;
use crate::sql::Flavor;
use crate::{Error, Result};

pub struct Db {
    label: String,
    conn: mysql::Conn,
    /// The server's dialect (from VERSION() at connect).
    flavor: Flavor,
}

fn sql_error(label: &str, statement: &str, err: mysql::Error) -> Error {
    // The driver's own Display wraps messages in Rust debug text.
    let (code, message) = match &err {
        mysql::Error::MySqlError(server) => (Some(server.code), server.message.clone()),
        mysql::Error::DriverError(driver) => (None, driver.to_string()),
        mysql::Error::IoError(io) => (None, io.to_string()),
        mysql::Error::CodecError(codec) => (None, codec.to_string()),
        other => (None, other.to_string()),
    };
    Error::Sql {
        node: label.to_string(),
        statement: statement.to_string(),
        code,
        message,
    }
}

impl Db {
    /// This node's server, through its socket.
    pub fn local(config: &ClusterConfig, socket: &std::path::Path) -> Result<Db> {
        let timeout = Duration::from_millis(config.timings.query_timeout_ms.max(1000) * 5);
        let user = if is_root() {
            "root".to_string()
        } else {
            config.cluster.account.clone()
        };
        let opts = mysql::OptsBuilder::new()
            .socket(Some(socket.to_string_lossy().into_owned()))
            .prefer_socket(true)
            .user(Some(user))
            .read_timeout(Some(timeout))
            .write_timeout(Some(timeout));
        let label = format!("{} (local)", config.node.address);
        let conn = mysql::Conn::new(opts).map_err(|e| sql_error(&label, "connect", e))?;
        Db::with_flavor(label, conn)
    }

    /// A server over TCP with the monitor account (the peer, or the cluster address).
    pub fn tcp(config: &ClusterConfig, host: &str) -> Result<Db> {
        let timeout = Duration::from_millis(config.timings.query_timeout_ms);
        let opts = mysql::OptsBuilder::new()
            .ip_or_hostname(Some(host))
            .tcp_port(config.node.mysql_port)
            .prefer_socket(false)
            .user(Some(config.monitor.user.clone()))
            .pass(Some(config.monitor.password.clone()))
            .tcp_connect_timeout(Some(timeout))
            .read_timeout(Some(timeout))
            .write_timeout(Some(timeout));
        // The monitor account requires TLS; the server's certificate must
        // chain to the pair's CA file and name `host`.
        let opts =
            if config.tls.ca_file.is_empty() {
                opts
            } else {
                opts.ssl_opts(mysql::SslOpts::default().with_root_cert_path(Some(
                    std::path::PathBuf::from(config.tls.ca_file.clone()),
                )))
            };
        let label = host.to_string();
        let conn = mysql::Conn::new(opts).map_err(|e| sql_error(&label, "connect", e))?;
        Db::with_flavor(label, conn)
    }

    fn with_flavor(label: String, mut conn: mysql::Conn) -> Result<Db> {
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .map_err(|e| sql_error(&label, "SELECT VERSION()", e))?;
        let version = version.unwrap_or_default();
        let flavor = Flavor::from_version_string(&version).ok_or_else(|| Error::Sql {
            node: label.clone(),
            statement: "SELECT VERSION()".into(),
            code: None,
            message: format!("cannot read the server version `{version}`"),
        })?;
        Ok(Db {
            label,
            conn,
            flavor,
        })
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// On MySQL, a read-only server that accounts with SUPER (root, the
    /// daemon) can still write to is made super_read_only. Returns whether
    /// it changed anything.
    pub fn ensure_super_read_only(&mut self) -> Result<bool> {
        if !self
            .flavor
            .read_only_variables()
            .contains(&"super_read_only")
            || self.scalar("SELECT @@GLOBAL.super_read_only")?.as_deref() == Some("1")
        {
            return Ok(false);
        }
        self.set_read_only(true)?;
        Ok(true)
    }

    /// Makes the server read-only or writable (super_read_only on MySQL).
    pub fn set_read_only(&mut self, on: bool) -> Result<()> {
        let statement = self.flavor.set_read_only(on);
        self.exec(&statement)
    }

    pub fn exec(&mut self, statement: &str) -> Result<()> {
        self.conn
            .query_drop(statement)
            .map_err(|e| sql_error(&self.label, statement, e))
    }

    pub fn scalar(&mut self, query: &str) -> Result<Option<String>> {
        let value: Option<mysql::Value> = self
            .conn
            .query_first(query)
            .map_err(|e| sql_error(&self.label, query, e))?;
        Ok(value.and_then(|v| match v {
            mysql::Value::NULL => None,
            mysql::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            mysql::Value::Int(i) => Some(i.to_string()),
            mysql::Value::UInt(u) => Some(u.to_string()),
            other => Some(other.as_sql(true)),
        }))
    }

    /// The values of the first row (None for NULL); empty without a row.
    pub fn row(&mut self, query: &str) -> Result<Vec<Option<String>>> {
        let row: Option<mysql::Row> = self
            .conn
            .query_first(query)
            .map_err(|e| sql_error(&self.label, query, e))?;
        Ok(row
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql::Value::NULL => None,
                        mysql::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                        mysql::Value::Int(i) => Some(i.to_string()),
                        mysql::Value::UInt(u) => Some(u.to_string()),
                        other => Some(other.as_sql(true)),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The first column of every row.
    pub fn column(&mut self, query: &str) -> Result<Vec<String>> {
        let values: Vec<mysql::Value> = self
            .conn
            .query(query)
            .map_err(|e| sql_error(&self.label, query, e))?;
        Ok(values
            .into_iter()
            .filter_map(|v| match v {
                mysql::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                mysql::Value::Int(i) => Some(i.to_string()),
                mysql::Value::UInt(u) => Some(u.to_string()),
                _ => None,
            })
            .collect())
    }

    pub fn read_only(&mut self) -> Result<bool> {
        Ok(self.scalar("SELECT @@GLOBAL.read_only")?.as_deref() == Some("1"))
    }

    /// The replica status row by column name; None when not a replica.
    pub fn replica_status(&mut self) -> Result<Option<ReplicaProgress>> {
        let show = self.flavor.show_replica_status();
        let rows: Vec<mysql::Row> = self
            .conn
            .query(show)
            .map_err(|e| sql_error(&self.label, show, e))?;
        let flavor = self.flavor;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let text = |name: &str| -> String {
            let name = flavor.replica_column(name);
            row.get_opt::<mysql::Value, &str>(name.as_str())
                .and_then(|r| r.ok())
                .map(|v| match v {
                    mysql::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                    mysql::Value::Int(i) => i.to_string(),
                    mysql::Value::UInt(u) => u.to_string(),
                    _ => String::new(),
                })
                .unwrap_or_default()
        };
        Ok(Some(ReplicaProgress {
            io_running: text("Slave_IO_Running"),
            sql_running: text("Slave_SQL_Running"),
            master_log_file: text("Master_Log_File"),
            read_pos: text("Read_Master_Log_Pos").parse().unwrap_or(0),
            relay_master_log_file: text("Relay_Master_Log_File"),
            exec_pos: text("Exec_Master_Log_Pos").parse().unwrap_or(0),
            seconds_behind: text("Seconds_Behind_Master").parse().ok(),
            sql_error: text("Last_SQL_Error"),
            io_errno: text("Last_IO_Errno").parse().unwrap_or(0),
            sql_errno: text("Last_SQL_Errno").parse().unwrap_or(0),
            last_error: [text("Last_IO_Error"), text("Last_SQL_Error")]
                .into_iter()
                .find(|e| !e.is_empty())
                .unwrap_or_default(),
        }))
    }
}

/// Where the replica is: what it received and what it applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaProgress {
    pub io_running: String,
    pub sql_running: String,
    pub master_log_file: String,
    pub read_pos: u64,
    pub relay_master_log_file: String,
    pub exec_pos: u64,
    pub last_error: String,
    /// Seconds_Behind_Master; None while a thread does not run.
    pub seconds_behind: Option<u64>,
    /// Last_SQL_Error: the SQL thread stopped on it.
    pub sql_error: String,
    /// Last_IO_Errno and Last_SQL_Errno (0: none), for the metrics.
    pub io_errno: u32,
    pub sql_errno: u32,
}

impl ReplicaProgress {
    /// Everything received from the master is applied.
    pub fn caught_up(&self) -> bool {
        self.master_log_file == self.relay_master_log_file && self.exec_pos >= self.read_pos
    }
    pub fn running(&self) -> bool {
        self.io_running == "Yes" && self.sql_running == "Yes"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_up_compares_file_and_position() {
        let mut p = ReplicaProgress {
            master_log_file: "mysql-bin.000002".into(),
            relay_master_log_file: "mysql-bin.000002".into(),
            read_pos: 500,
            exec_pos: 400,
            ..Default::default()
        };
        assert!(!p.caught_up());
        p.exec_pos = 500;
        assert!(p.caught_up());
        p.relay_master_log_file = "mysql-bin.000001".into();
        assert!(!p.caught_up());
    }
}
