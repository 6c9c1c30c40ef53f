//! The daemon's connections (the engine's one SQL client, `sql::SqlConn`):
//! its own server through the unix socket (unix_socket authentication as
//! the account it runs as), and the peer or the cluster address over TCP
//! with the monitor account. Every connection and query is bounded by the
//! query timeout.

use std::path::Path;
use std::time::Duration;

use super::config::ClusterConfig;
use super::exec::is_root;
use crate::sql::conn::Endpoint;
use crate::sql::SqlConn;
use crate::Result;

/// This node's server, through its socket, as the account the daemon runs
/// as (root when run by hand as root).
pub fn local(config: &ClusterConfig, socket: &Path) -> Result<SqlConn> {
    let timeout = Duration::from_millis(config.timings.query_timeout_ms.max(1000) * 5);
    let user = if is_root() {
        "root".to_string()
    } else {
        config.cluster.account.clone()
    };
    SqlConn::open(
        &format!("{} (local)", config.node.address),
        Endpoint::Socket(socket),
        &user,
        "",
        timeout,
    )
}

/// A server over TCP with the monitor account (the peer, or the cluster
/// address). The monitor account requires TLS; the server's certificate
/// must chain to the pair's CA file and name `host`.
pub fn tcp(config: &ClusterConfig, host: &str) -> Result<SqlConn> {
    let ca_file = (!config.tls.ca_file.is_empty()).then(|| Path::new(&config.tls.ca_file));
    SqlConn::open(
        host,
        Endpoint::Tcp {
            host,
            port: config.node.mysql_port,
            ca_file,
        },
        &config.monitor.user,
        &config.monitor.password,
        Duration::from_millis(config.timings.query_timeout_ms),
    )
}

/// What the daemon asks of a server beyond plain SQL.
pub trait ServerChecks {
    /// On MySQL, a read-only server that accounts with SUPER (root, the
    /// daemon) can still write to is made super_read_only. Returns whether
    /// it changed anything.
    fn ensure_super_read_only(&mut self) -> Result<bool>;
    /// Makes the server read-only or writable (super_read_only on MySQL).
    fn set_read_only(&mut self, on: bool) -> Result<()>;
    fn read_only(&mut self) -> Result<bool>;
    /// The replica status; None when not a replica.
    fn replica_status(&mut self) -> Result<Option<ReplicaProgress>>;
}

impl ServerChecks for SqlConn {
    fn ensure_super_read_only(&mut self) -> Result<bool> {
        if !self
            .flavor()
            .read_only_variables()
            .contains(&"super_read_only")
            || self.scalar("SELECT @@GLOBAL.super_read_only")?.as_deref() == Some("1")
        {
            return Ok(false);
        }
        self.set_read_only(true)?;
        Ok(true)
    }

    fn set_read_only(&mut self, on: bool) -> Result<()> {
        let statement = self.flavor().set_read_only(on);
        self.exec(&statement)
    }

    fn read_only(&mut self) -> Result<bool> {
        Ok(self.scalar("SELECT @@GLOBAL.read_only")?.as_deref() == Some("1"))
    }

    fn replica_status(&mut self) -> Result<Option<ReplicaProgress>> {
        let flavor = self.flavor();
        let Some(row) = self.rows(flavor.show_replica_status())?.into_iter().next() else {
            return Ok(None);
        };
        let text = |name: &str| -> String {
            row.get(&flavor.replica_column(name))
                .cloned()
                .flatten()
                .unwrap_or_default()
        };
        let sql_error = self.applier_error(&text("Last_SQL_Error"));
        Ok(Some(ReplicaProgress {
            io_running: text("Slave_IO_Running"),
            sql_running: text("Slave_SQL_Running"),
            master_log_file: text("Master_Log_File"),
            read_pos: text("Read_Master_Log_Pos").parse().unwrap_or(0),
            relay_master_log_file: text("Relay_Master_Log_File"),
            exec_pos: text("Exec_Master_Log_Pos").parse().unwrap_or(0),
            seconds_behind: text("Seconds_Behind_Master").parse().ok(),
            sql_error: sql_error.clone(),
            io_errno: text("Last_IO_Errno").parse().unwrap_or(0),
            sql_errno: text("Last_SQL_Errno").parse().unwrap_or(0),
            last_error: [text("Last_IO_Error"), sql_error]
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
