//! A connection to one server, with rows read by column name.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mysql::prelude::Queryable;

use super::fake::{FakeRow, FakeServer, ServerError};
use super::flavor::Flavor;
use crate::{Error, Result};

/// One result row: column name to value (None for NULL).
pub type Row = BTreeMap<String, Option<String>>;

pub struct SqlConn {
    node: String,
    driver: Driver,
    flavor: Flavor,
}

/// What carries the statements: a real server's connection, or the
/// recording fake of unit tests (`sql::fake`).
enum Driver {
    Server(mysql::Conn),
    Fake(FakeServer),
}

fn value_text(value: &mysql::Value) -> Option<String> {
    match value {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        mysql::Value::Int(i) => Some(i.to_string()),
        mysql::Value::UInt(u) => Some(u.to_string()),
        mysql::Value::Float(f) => Some(f.to_string()),
        mysql::Value::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// The server error code, when the server answered with one.
pub fn error_code(err: &Error) -> Option<u16> {
    match err {
        Error::Sql { code, .. } => *code,
        _ => None,
    }
}

/// Where a connection reaches its server.
pub enum Endpoint<'a> {
    /// A unix socket (local, or forwarded from the node).
    Socket(&'a Path),
    /// TCP; with a CA file, over TLS with the server's certificate
    /// chained to it and naming `host`.
    Tcp {
        host: &'a str,
        port: u16,
        ca_file: Option<&'a Path>,
    },
}

impl SqlConn {
    /// Connects through a unix socket for a run (statements may take long).
    pub fn connect(node: &str, socket: &Path, user: &str, password: &str) -> Result<SqlConn> {
        SqlConn::open(
            node,
            Endpoint::Socket(socket),
            user,
            password,
            Duration::from_secs(600),
        )
    }

    /// Connects as `user` (no password: unix_socket authentication), every
    /// read and write (and a TCP connect) bounded by `timeout`.
    pub fn open(
        node: &str,
        endpoint: Endpoint,
        user: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<SqlConn> {
        let opts = mysql::OptsBuilder::new()
            .user(Some(user))
            .pass((!password.is_empty()).then_some(password))
            .read_timeout(Some(timeout))
            .write_timeout(Some(timeout));
        let opts = match endpoint {
            Endpoint::Socket(socket) => opts
                .socket(Some(socket.to_string_lossy().into_owned()))
                .prefer_socket(true),
            Endpoint::Tcp {
                host,
                port,
                ca_file,
            } => {
                let opts = opts
                    .ip_or_hostname(Some(host))
                    .tcp_port(port)
                    .prefer_socket(false)
                    .tcp_connect_timeout(Some(timeout));
                match ca_file {
                    Some(ca) => opts.ssl_opts(
                        mysql::SslOpts::default().with_root_cert_path(Some(ca.to_path_buf())),
                    ),
                    None => opts,
                }
            }
        };
        let mut conn = mysql::Conn::new(opts).map_err(|e| sql_error(node, "connect", e))?;
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .map_err(|e| sql_error(node, "SELECT VERSION()", e))?;
        SqlConn::speaking(node, Driver::Server(conn), &version.unwrap_or_default())
    }

    /// A connection whose server reported `version`: its dialect follows.
    fn speaking(node: &str, driver: Driver, version: &str) -> Result<SqlConn> {
        let flavor = Flavor::from_version_string(version).ok_or_else(|| Error::Sql {
            node: node.to_string(),
            statement: "SELECT VERSION()".into(),
            code: None,
            message: format!("cannot read the server version `{version}`"),
        })?;
        Ok(SqlConn {
            node: node.to_string(),
            driver,
            flavor,
        })
    }

    /// A connection to a fake server; its flavor comes from the version
    /// the fake reports, as a real server's does.
    pub fn fake(node: &str, server: &FakeServer) -> Result<SqlConn> {
        let version = server
            .connect()
            .map_err(|e| fake_error(node, "connect", e))?;
        SqlConn::speaking(node, Driver::Fake(server.clone()), &version)
    }

    /// The fake's rows of `query`, in column order.
    fn fake_rows(node: &str, server: &FakeServer, query: &str) -> Result<Vec<FakeRow>> {
        server.query(query).map_err(|e| fake_error(node, query, e))
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// Runs a statement that returns no rows. `shown` is what errors display
    /// (the statement with secrets masked).
    /// The server's message is masked too: a server may quote the value it
    /// refused (`String '...' is too long for MASTER_PASSWORD`).
    pub fn exec_masked(&mut self, statement: &str, shown: &str) -> Result<()> {
        let ran = match &mut self.driver {
            Driver::Server(conn) => conn
                .query_drop(statement)
                .map_err(|e| sql_error(&self.node, shown, e)),
            Driver::Fake(server) => server
                .execute(statement)
                .map_err(|e| fake_error(&self.node, shown, e)),
        };
        ran.map_err(|mut err| {
            if statement != shown {
                if let Error::Sql { message, .. } = &mut err {
                    *message = mask_secrets(message, &hidden_literals(statement, shown));
                }
            }
            err
        })
    }

    pub fn exec(&mut self, statement: &str) -> Result<()> {
        self.exec_masked(statement, statement)
    }

    /// Runs a query; each row maps column names to values.
    pub fn rows(&mut self, query: &str) -> Result<Vec<Row>> {
        let conn = match &mut self.driver {
            Driver::Server(conn) => conn,
            Driver::Fake(server) => {
                let rows = Self::fake_rows(&self.node, server, query)?;
                return Ok(rows
                    .into_iter()
                    .map(|row| row.into_iter().collect())
                    .collect());
            }
        };
        let result: Vec<mysql::Row> = conn
            .query(query)
            .map_err(|e| sql_error(&self.node, query, e))?;
        Ok(result
            .into_iter()
            .map(|row| {
                let names: Vec<String> = row
                    .columns_ref()
                    .iter()
                    .map(|c| c.name_str().into_owned())
                    .collect();
                let values = row.unwrap();
                names
                    .into_iter()
                    .zip(values.iter().map(value_text))
                    .collect()
            })
            .collect())
    }

    /// First column of the first row.
    /// Where the binary log stood when this session's consistent snapshot
    /// was taken (MariaDB's `binlog_snapshot_file` and `_position`, empty
    /// when the server reports none).
    pub fn binlog_snapshot(&mut self) -> Result<(String, String)> {
        let rows = self.rows(
            "SHOW STATUS WHERE Variable_name IN ('binlog_snapshot_file', 'binlog_snapshot_position')",
        )?;
        let value = |name: &str| {
            rows.iter()
                .find(|r| {
                    r.get("Variable_name")
                        .cloned()
                        .flatten()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
                .and_then(|r| r.get("Value").cloned().flatten())
                .unwrap_or_default()
        };
        Ok((
            value("binlog_snapshot_file"),
            value("binlog_snapshot_position"),
        ))
    }

    pub fn scalar(&mut self, query: &str) -> Result<Option<String>> {
        let conn = match &mut self.driver {
            Driver::Server(conn) => conn,
            Driver::Fake(server) => {
                let rows = Self::fake_rows(&self.node, server, query)?;
                return Ok(rows
                    .into_iter()
                    .next()
                    .and_then(|row| row.into_iter().next())
                    .and_then(|(_, value)| value));
            }
        };
        let value: Option<mysql::Value> = conn
            .query_first(query)
            .map_err(|e| sql_error(&self.node, query, e))?;
        Ok(value.as_ref().and_then(value_text))
    }

    /// The SQL thread's error as the failing applier worker tells it (the
    /// transaction and the cause) where the replica status only names the
    /// coordinator (MySQL); `status_error` itself otherwise.
    pub fn applier_error(&mut self, status_error: &str) -> String {
        let worker = match self.flavor().worker_error_query() {
            Some(query) if !status_error.is_empty() => self.scalar(query).ok().flatten(),
            _ => None,
        };
        worker
            .filter(|message| !message.is_empty())
            .unwrap_or_else(|| status_error.to_string())
    }

    /// The values of the first row in column order (None for NULL); empty
    /// without a row.
    pub fn row(&mut self, query: &str) -> Result<Vec<Option<String>>> {
        let conn = match &mut self.driver {
            Driver::Server(conn) => conn,
            Driver::Fake(server) => {
                let rows = Self::fake_rows(&self.node, server, query)?;
                return Ok(rows
                    .into_iter()
                    .next()
                    .map(|row| row.into_iter().map(|(_, value)| value).collect())
                    .unwrap_or_default());
            }
        };
        let row: Option<mysql::Row> = conn
            .query_first(query)
            .map_err(|e| sql_error(&self.node, query, e))?;
        Ok(row
            .map(|row| row.unwrap().iter().map(value_text).collect())
            .unwrap_or_default())
    }

    /// One column of every row.
    pub fn column(&mut self, query: &str) -> Result<Vec<String>> {
        let conn = match &mut self.driver {
            Driver::Server(conn) => conn,
            Driver::Fake(server) => {
                let rows = Self::fake_rows(&self.node, server, query)?;
                return Ok(rows
                    .into_iter()
                    .filter_map(|row| row.into_iter().next().and_then(|(_, value)| value))
                    .collect());
            }
        };
        let values: Vec<mysql::Value> = conn
            .query(query)
            .map_err(|e| sql_error(&self.node, query, e))?;
        Ok(values.iter().filter_map(value_text).collect())
    }
}

/// The fake's refusal, as a server's would read.
fn fake_error(node: &str, statement: &str, err: ServerError) -> Error {
    Error::Sql {
        node: node.to_string(),
        statement: statement.to_string(),
        code: err.code,
        message: err.message,
    }
}

fn sql_error(node: &str, statement: &str, err: mysql::Error) -> Error {
    match err {
        mysql::Error::MySqlError(server) => Error::Sql {
            node: node.to_string(),
            statement: statement.to_string(),
            code: Some(server.code),
            message: server.message,
        },
        // A connection that never was cannot have broken: the driver's
        // words (refused, unreachable, a refused certificate) say it best.
        mysql::Error::IoError(io) if statement == "connect" => Error::Sql {
            node: node.to_string(),
            statement: statement.to_string(),
            code: None,
            message: io.to_string(),
        },
        other => Error::Sql {
            node: node.to_string(),
            statement: statement.to_string(),
            code: None,
            message: driver_message(&other),
        },
    }
}

/// A client-side error in words for people: the driver's own Display
/// wraps it in Rust-like text (`IoError { server disconnected }`).
pub fn driver_message(err: &mysql::Error) -> String {
    match err {
        mysql::Error::IoError(e) => format!(
            "the connection to the server broke ({e}); check that the server is running and run again"
        ),
        mysql::Error::CodecError(e) => format!(
            "the connection to the server broke ({e}); check that the server is running and run again"
        ),
        mysql::Error::MySqlError(e) => e.message.clone(),
        mysql::Error::DriverError(e) => format!("{e}"),
        mysql::Error::UrlError(e) => format!("{e}"),
        mysql::Error::FromValueError(_) | mysql::Error::FromRowError(_) => {
            "the server answered with a value of an unexpected type".to_string()
        }
        #[allow(unreachable_patterns)]
        other => other.to_string(),
    }
}

/// The contents of the quoted strings of `statement` that `shown` does not
/// hold: the secrets the masked form hides.
fn hidden_literals(statement: &str, shown: &str) -> Vec<String> {
    let visible = string_literals(shown);
    string_literals(statement)
        .into_iter()
        .filter(|l| !l.is_empty() && !visible.contains(l))
        .collect()
}

/// The contents of the '...' and "..." literals of a statement, unescaped
/// as MariaDB reads them (backslash escapes and doubled quotes).
fn string_literals(sql: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' && c != '"' {
            continue;
        }
        let quote = c;
        let mut text = String::new();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    text.push(next);
                }
            } else if c == quote {
                if chars.peek() == Some(&quote) {
                    chars.next();
                    text.push(quote);
                } else {
                    break;
                }
            } else {
                text.push(c);
            }
        }
        found.push(text);
    }
    found
}

/// Shortest run of a secret's characters that is masked where a message
/// repeats it (servers quote a truncated prefix of a value they refuse).
const MIN_MASKED_RUN: usize = 4;

/// Replaces every run of at least MIN_MASKED_RUN characters (or the whole
/// secret, when shorter) that also occurs in a secret with `********`.
pub fn mask_secrets(message: &str, secrets: &[String]) -> String {
    let chars: Vec<char> = message.chars().collect();
    let secrets: Vec<Vec<char>> = secrets.iter().map(|s| s.chars().collect()).collect();
    let contains = |secret: &[char], run: &[char]| secret.windows(run.len()).any(|w| w == run);
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let mut longest = 0;
        for secret in &secrets {
            let least = MIN_MASKED_RUN.min(secret.len()).max(1);
            let mut len = 0;
            while i + len < chars.len() && contains(secret, &chars[i..=i + len]) {
                len += 1;
            }
            if len >= least && len > longest {
                longest = len;
            }
        }
        if longest > 0 {
            out.push_str("********");
            i += longest;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_secret_quoted_by_the_server_is_masked() {
        let password = "Zq9-Xv7#Kp3!Wm5_Hd2%Tr8^Bn4Lc6*Gs1(Fy0)Je9+Uo3=".repeat(3);
        let real = format!(
            "CHANGE MASTER TO MASTER_HOST='192.0.2.11', MASTER_USER='repl', MASTER_PASSWORD='{password}'"
        );
        let shown = "CHANGE MASTER TO MASTER_HOST='192.0.2.11', MASTER_USER='repl', MASTER_PASSWORD='********'";
        let secrets = hidden_literals(&real, shown);
        assert_eq!(secrets, vec![password.clone()]);
        // MariaDB quotes the first 64 characters of the value it refuses.
        let message = format!(
            "String '{}' is too long for MASTER_PASSWORD (should be no longer than 96)",
            &password[..64]
        );
        let masked = mask_secrets(&message, &secrets);
        assert_eq!(
            masked,
            "String '********' is too long for MASTER_PASSWORD (should be no longer than 96)"
        );
        for window in password.as_bytes().windows(MIN_MASKED_RUN) {
            let run = std::str::from_utf8(window).unwrap();
            assert!(!masked.contains(run), "{run} leaked: {masked}");
        }
    }

    #[test]
    fn escaped_quotes_in_a_secret_are_read_as_the_server_reads_them() {
        let real = r"ALTER USER 'repl'@'h' IDENTIFIED BY 'it''s a \'secret\' pw'";
        let shown = "ALTER USER 'repl'@'h' IDENTIFIED BY '********'";
        assert_eq!(hidden_literals(real, shown), vec!["it's a 'secret' pw"]);
    }

    #[test]
    fn messages_without_the_secret_are_kept() {
        let secrets = vec!["Qw7zX0pLm2Rt8yVb".to_string()];
        let message = "Access denied for user 'repl'@'192.0.2.12' (using password: YES)";
        assert_eq!(mask_secrets(message, &secrets), message);
    }
}
