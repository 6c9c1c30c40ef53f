//! A connection to one server, with rows read by column name.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mysql::prelude::Queryable;

use super::flavor::Flavor;
use crate::{Error, Result};

/// One result row: column name to value (None for NULL).
pub type Row = BTreeMap<String, Option<String>>;

pub struct SqlConn {
    node: String,
    conn: mysql::Conn,
    flavor: Flavor,
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

impl SqlConn {
    /// Connects through a unix socket (local, or forwarded from the node).
    pub fn connect(node: &str, socket: &Path, user: &str, password: &str) -> Result<SqlConn> {
        let opts = mysql::OptsBuilder::new()
            .socket(Some(socket.to_string_lossy().into_owned()))
            .user(Some(user))
            .pass((!password.is_empty()).then_some(password))
            .prefer_socket(true)
            .read_timeout(Some(Duration::from_secs(600)))
            .write_timeout(Some(Duration::from_secs(600)));
        let mut conn = mysql::Conn::new(opts).map_err(|e| sql_error(node, "connect", e))?;
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .map_err(|e| sql_error(node, "SELECT VERSION()", e))?;
        let version = version.unwrap_or_default();
        let flavor = Flavor::from_version_string(&version).ok_or_else(|| Error::Sql {
            node: node.to_string(),
            statement: "SELECT VERSION()".into(),
            code: None,
            message: format!("cannot read the server version `{version}`"),
        })?;
        Ok(SqlConn {
            node: node.to_string(),
            conn,
            flavor,
        })
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// Runs a statement that returns no rows. `shown` is what errors display
    /// (the statement with secrets masked).
    pub fn exec_masked(&mut self, statement: &str, shown: &str) -> Result<()> {
        self.conn
            .query_drop(statement)
            .map_err(|e| sql_error(&self.node, shown, e))
    }

    pub fn exec(&mut self, statement: &str) -> Result<()> {
        self.exec_masked(statement, statement)
    }

    /// Runs a query; each row maps column names to values.
    pub fn rows(&mut self, query: &str) -> Result<Vec<Row>> {
        let result: Vec<mysql::Row> = self
            .conn
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
    pub fn scalar(&mut self, query: &str) -> Result<Option<String>> {
        let value: Option<mysql::Value> = self
            .conn
            .query_first(query)
            .map_err(|e| sql_error(&self.node, query, e))?;
        Ok(value.as_ref().and_then(value_text))
    }

    /// One column of every row.
    pub fn column(&mut self, query: &str) -> Result<Vec<String>> {
        let values: Vec<mysql::Value> = self
            .conn
            .query(query)
            .map_err(|e| sql_error(&self.node, query, e))?;
        Ok(values.iter().filter_map(value_text).collect())
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
        other => Error::Sql {
            node: node.to_string(),
            statement: statement.to_string(),
            code: None,
            message: other.to_string(),
        },
    }
}
