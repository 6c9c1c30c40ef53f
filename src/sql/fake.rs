//! A recording stand-in for a database server, behind `SqlConn` like the
//! real driver, so plans, the executor and rollback run in unit tests.
//!
//! It records every statement and query in the order it received them
//! (the real text, secrets included: what a server would see) and answers
//! from a script a test sets: a matcher on the text, then rows by column
//! name, or a server error with its code. Scripted answers win, the one
//! set last first. Without one it models what the core reads most:
//! `SELECT VERSION()`, global and session variables (`SELECT @@GLOBAL.x`,
//! `SET GLOBAL x = v`), and the replica status (`SHOW SLAVE STATUS` /
//! `SHOW REPLICA STATUS`, changed by stop, start and reset). Any other
//! query is an error naming it, so a test never reads an invented answer;
//! any other statement succeeds and is recorded.
//!
//! Cloning shares the server: a test keeps one clone and inspects it after
//! the run. Not for production use: `Access::Fake` is the only way the
//! engine reaches it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A row in column order: column name and value (None for NULL).
pub type FakeRow = Vec<(String, Option<String>)>;

/// What a server said instead of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: Option<u16>,
    pub message: String,
}

/// Which statements or queries a scripted answer is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// The whole text, as sent.
    Exact(String),
    /// Text that starts with this.
    Prefix(String),
    /// Text that holds this.
    Contains(String),
}

impl Matcher {
    fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::Exact(exact) => text == exact,
            Matcher::Prefix(prefix) => text.starts_with(prefix.as_str()),
            Matcher::Contains(part) => text.contains(part.as_str()),
        }
    }
}

/// A scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Rows (none for a statement that returns nothing).
    Rows(Vec<FakeRow>),
    /// The server refuses with this error.
    Error(ServerError),
}

impl Reply {
    /// Rows with the same `columns`, each given as its values in order.
    pub fn rows(columns: &[&str], rows: &[&[Option<&str>]]) -> Reply {
        Reply::Rows(
            rows.iter()
                .map(|values| {
                    columns
                        .iter()
                        .zip(values.iter())
                        .map(|(c, v)| (c.to_string(), v.map(str::to_string)))
                        .collect()
                })
                .collect(),
        )
    }

    /// One row of one column.
    pub fn value(column: &str, value: &str) -> Reply {
        Reply::rows(&[column], &[&[Some(value)]])
    }

    pub fn error(code: u16, message: &str) -> Reply {
        Reply::Error(ServerError {
            code: Some(code),
            message: message.to_string(),
        })
    }
}

/// How a text reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// A statement run for its effect (`SqlConn::exec`).
    Statement,
    /// A query read for its rows.
    Query,
}

#[derive(Debug, Default)]
struct State {
    version: String,
    log: Vec<(Sent, String)>,
    /// Each answer, with how many more times it applies (None: always).
    script: Vec<(Matcher, Reply, Option<usize>)>,
    variables: BTreeMap<String, String>,
    replica: Option<FakeRow>,
    refuse: Option<ServerError>,
    connections: usize,
}

/// A shared, recording fake server (see the module's comment).
#[derive(Debug, Clone, Default)]
pub struct FakeServer {
    state: Arc<Mutex<State>>,
}

impl FakeServer {
    /// A server that reports `version` (`10.11.6-MariaDB`, `8.4.3`).
    pub fn new(version: &str) -> FakeServer {
        let server = FakeServer::default();
        server.lock().version = version.to_string();
        server
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding it left nothing half written
        // that matters to the next reader.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Answers what `matcher` matches with `reply` (before any answer set
    /// earlier and before the modelled state).
    pub fn answer(&self, matcher: Matcher, reply: Reply) -> &FakeServer {
        self.lock().script.push((matcher, reply, None));
        self
    }

    /// Like `answer`, for the next matching text only (a server that
    /// refuses once, then takes the retry).
    pub fn answer_once(&self, matcher: Matcher, reply: Reply) -> &FakeServer {
        self.lock().script.push((matcher, reply, Some(1)));
        self
    }

    /// Sets a global variable as `SELECT @@GLOBAL.name` reads it.
    pub fn set_variable(&self, name: &str, value: &str) -> &FakeServer {
        self.lock()
            .variables
            .insert(name.to_ascii_lowercase(), value.to_string());
        self
    }

    pub fn variable(&self, name: &str) -> Option<String> {
        self.lock()
            .variables
            .get(&name.to_ascii_lowercase())
            .cloned()
    }

    /// The replica status row (None: replicates from nobody).
    pub fn set_replica(&self, row: Option<FakeRow>) -> &FakeServer {
        self.lock().replica = row;
        self
    }

    pub fn replica(&self) -> Option<FakeRow> {
        self.lock().replica.clone()
    }

    /// New connections are refused with `error` (None: accepted again).
    pub fn refuse_connections(&self, error: Option<ServerError>) {
        self.lock().refuse = error;
    }

    /// Connections opened so far.
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// Everything received, in order, with how it was sent.
    pub fn log(&self) -> Vec<(Sent, String)> {
        self.lock().log.clone()
    }

    /// The statements run for their effect, in order.
    pub fn statements(&self) -> Vec<String> {
        self.lock()
            .log
            .iter()
            .filter(|(sent, _)| *sent == Sent::Statement)
            .map(|(_, text)| text.clone())
            .collect()
    }

    /// Opens a connection: its server version, or the refusal.
    pub fn connect(&self) -> Result<String, ServerError> {
        let mut state = self.lock();
        if let Some(refused) = &state.refuse {
            return Err(refused.clone());
        }
        state.connections += 1;
        Ok(state.version.clone())
    }

    /// Runs a statement.
    pub fn execute(&self, statement: &str) -> Result<(), ServerError> {
        let mut state = self.lock();
        state.log.push((Sent::Statement, statement.to_string()));
        match scripted(&mut state, statement) {
            Some(Reply::Error(err)) => return Err(err),
            Some(Reply::Rows(_)) => return Ok(()),
            None => {}
        }
        state.apply(statement);
        Ok(())
    }

    /// Runs a query; its rows in column order.
    pub fn query(&self, query: &str) -> Result<Vec<FakeRow>, ServerError> {
        let mut state = self.lock();
        state.log.push((Sent::Query, query.to_string()));
        match scripted(&mut state, query) {
            Some(Reply::Error(err)) => return Err(err),
            Some(Reply::Rows(rows)) => return Ok(rows),
            None => {}
        }
        state.answer(query).ok_or_else(|| ServerError {
            code: None,
            message: format!("the fake server has no answer scripted for `{query}`"),
        })
    }
}

fn scripted(state: &mut State, text: &str) -> Option<Reply> {
    let (_, reply, remaining) = state
        .script
        .iter_mut()
        .rev()
        .find(|(matcher, _, remaining)| remaining != &Some(0) && matcher.matches(text))?;
    if let Some(left) = remaining {
        *left -= 1;
    }
    Some(reply.clone())
}

/// `ON` and `OFF` as a server shows a boolean variable; quotes removed.
fn variable_value(text: &str) -> String {
    let value = text.trim().trim_matches(|c| c == '\'' || c == '"');
    match value.to_ascii_uppercase().as_str() {
        "ON" | "TRUE" => "1".to_string(),
        "OFF" | "FALSE" => "0".to_string(),
        _ => value.to_string(),
    }
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect()
}

impl State {
    /// The modelled effect of a statement no script answered.
    fn apply(&mut self, statement: &str) {
        let upper = words(statement);
        let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
        match upper.as_slice() {
            ["SET", ..] => {
                let assignment = statement
                    .trim_start()
                    .get(3..)
                    .unwrap_or_default()
                    .trim_start();
                let assignment = ["GLOBAL ", "global ", "SESSION ", "session "]
                    .iter()
                    .find_map(|scope| assignment.strip_prefix(scope))
                    .unwrap_or(assignment);
                if let Some((name, value)) = assignment.split_once('=') {
                    let name = name.trim().trim_start_matches("@@").to_ascii_lowercase();
                    let name = ["global.", "session."]
                        .iter()
                        .find_map(|scope| name.strip_prefix(scope))
                        .unwrap_or(&name)
                        .to_string();
                    self.variables.insert(name, variable_value(value));
                }
            }
            ["STOP", "SLAVE" | "REPLICA"] => self.set_threads("No"),
            ["START", "SLAVE" | "REPLICA"] => self.set_threads("Yes"),
            ["RESET", "SLAVE" | "REPLICA", "ALL"] => self.replica = None,
            _ => {}
        }
    }

    fn set_threads(&mut self, running: &str) {
        if let Some(row) = &mut self.replica {
            for (column, value) in row.iter_mut() {
                if column.ends_with("_IO_Running") || column.ends_with("_SQL_Running") {
                    *value = Some(running.to_string());
                }
            }
        }
    }

    /// The modelled answer to a query no script answered.
    fn answer(&self, query: &str) -> Option<Vec<FakeRow>> {
        let trimmed = query.trim();
        if trimmed.eq_ignore_ascii_case("SELECT VERSION()") {
            return Some(vec![vec![(
                "VERSION()".to_string(),
                Some(self.version.clone()),
            )]]);
        }
        let upper = words(trimmed);
        if matches!(
            upper
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["SHOW", "SLAVE" | "REPLICA", "STATUS"]
        ) {
            return Some(self.replica.iter().cloned().collect());
        }
        let name = trimmed
            .strip_prefix("SELECT @@")
            .or_else(|| trimmed.strip_prefix("select @@"))?;
        if name.contains(|c: char| c.is_whitespace() || c == ',') {
            return None;
        }
        let bare = name
            .split_once('.')
            .filter(|(scope, _)| {
                scope.eq_ignore_ascii_case("GLOBAL") || scope.eq_ignore_ascii_case("SESSION")
            })
            .map_or(name, |(_, bare)| bare);
        let value = self.variables.get(&bare.to_ascii_lowercase())?;
        Some(vec![vec![(format!("@@{name}"), Some(value.clone()))]])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn variables_set_are_read_back_and_unknown_queries_fail() {
        let server = FakeServer::new("10.11.6-MariaDB");
        server.set_variable("read_only", "0");
        server.execute("SET GLOBAL read_only = ON").unwrap();
        let rows = server.query("SELECT @@GLOBAL.read_only").unwrap();
        assert_eq!(rows[0][0].1.as_deref(), Some("1"));
        server.execute("SET @@GLOBAL.read_only = 0").unwrap();
        assert_eq!(server.variable("read_only").as_deref(), Some("0"));
        let err = server.query("SELECT COUNT(*) FROM t").unwrap_err();
        assert!(err.message.contains("SELECT COUNT(*) FROM t"), "{err:?}");
        assert_eq!(
            server.statements(),
            ["SET GLOBAL read_only = ON", "SET @@GLOBAL.read_only = 0"]
        );
    }

    #[test]
    fn the_answer_set_last_wins_and_replication_threads_follow_stop_and_start() {
        let server = FakeServer::new("10.11.6-MariaDB");
        server.answer(Matcher::Prefix("SELECT 1".into()), Reply::value("1", "a"));
        server.answer(Matcher::Exact("SELECT 1".into()), Reply::value("1", "b"));
        assert_eq!(
            server.query("SELECT 1").unwrap()[0][0].1.as_deref(),
            Some("b")
        );
        server.answer_once(Matcher::Exact("SELECT 1".into()), Reply::error(1, "once"));
        assert_eq!(server.query("SELECT 1").unwrap_err().code, Some(1));
        assert_eq!(
            server.query("SELECT 1").unwrap()[0][0].1.as_deref(),
            Some("b")
        );
        server.set_replica(Some(vec![
            ("Master_Host".into(), Some("192.0.2.11".into())),
            ("Slave_IO_Running".into(), Some("Yes".into())),
            ("Slave_SQL_Running".into(), Some("Yes".into())),
        ]));
        server.execute("STOP SLAVE").unwrap();
        let status = server.query("SHOW SLAVE STATUS").unwrap();
        assert_eq!(status[0][1].1.as_deref(), Some("No"));
        server.execute("RESET SLAVE ALL").unwrap();
        assert!(server.query("SHOW SLAVE STATUS").unwrap().is_empty());
    }
}
