//! The one error type of the tool. Every variant names what it is about
//! (host, file, key, statement) and the message says what to do.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`mysql-ha {command}` is not built yet in this version; see the open issues")]
    NotBuilt { command: &'static str },

    #[error("{what} must run as root (try: sudo mysql-ha {what})")]
    NotRoot { what: &'static str },

    #[error("program `{program}` not found: install the Debian package `{package}` (apt-get install {package})")]
    MissingProgram {
        program: &'static str,
        package: &'static str,
    },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("on {host}: `{command}` failed ({status}){detail}")]
    Command {
        host: String,
        command: String,
        status: String,
        detail: String,
    },

    #[error("answers: `{key}`: {message}")]
    Answers { key: String, message: String },

    #[error("on {node}: `{statement}`: {}{message}", code.map(|c| format!("error {c}: ")).unwrap_or_default())]
    Sql {
        node: String,
        statement: String,
        code: Option<u16>,
        message: String,
    },

    #[error("ssh to {host}: {message}")]
    Ssh { host: String, message: String },

    #[error("dynamic DNS server {server}: {message}")]
    Dns { server: String, message: String },

    #[error("verification on {node} failed: {message}")]
    Verify { node: String, message: String },

    /// Copying the data to the slave failed or cannot be done as asked.
    #[error("seeding {node}: {message}")]
    Seed { node: String, message: String },

    #[error("{count} table(s) differ between the master and {slave}, or are missing or extra there: {tables}; copy them again from the master with `mysql-ha resync DB.TABLE` (an extra table: `mysql-ha resync DB`), then check again")]
    Inconsistent {
        count: usize,
        slave: String,
        tables: String,
    },

    #[error("preflight stopped the run before any change ({count} fatal): {findings}")]
    Preflight { count: usize, findings: String },

    #[error("{0}")]
    Aborted(String),

    #[error("cluster: {message}")]
    Cluster { message: String },

    #[error("rejoin of {node} refused, nothing was changed: it holds {count} transaction(s) that {master} never received:\n{listing}Keep them with `mysql-ha rejoin {node} --save-and-reseed` (written to the run's backup folder, then the replicated databases are copied again from {master}), or bring them to {master} by hand first.")]
    UnsentTransactions {
        node: String,
        master: String,
        count: usize,
        listing: String,
    },

    #[error("switchover stopped before the cluster address moved, everything is back as it was: {message}")]
    SwitchoverUndone { message: String },

    #[error("distribution profile: {0}")]
    Profile(String),

    #[error("unknown distribution profile `{name}`; known profiles: {known} (or give the path of a profile file ending in .toml)")]
    UnknownProfile { name: String, known: String },

    #[error("cannot tell which distribution {node} runs ({seen}); known profiles: {known}; force one with --profile NAME")]
    UnknownSystem {
        node: String,
        seen: String,
        known: String,
    },

    #[error("{path}:{line}: {reason}; the server would refuse this file too: fix that line")]
    MycnfSyntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    #[error("{path}:{line}: `!includedir {dir}`: the directory does not exist, and the server stops with \"Fatal error in defaults handling\"; create it or remove that line")]
    MycnfIncludeDir {
        path: PathBuf,
        line: usize,
        dir: PathBuf,
    },

    #[error("database name {name:?} cannot be written as a replication filter option: {reason}; rename the database or leave it out")]
    BadDatabaseName { name: String, reason: String },

    #[error("invalid value for {key}: {reason}")]
    BadSetting { key: String, reason: String },

    #[error("{node}: {path} changed since the plan was made; run the command again to plan from its current contents")]
    ChangedSincePlan { node: String, path: PathBuf },

    #[error("{node}: not enough space to back up {path} into {backup_dir}: need {need} bytes, {free} free; free some space and run again (nothing was changed)")]
    NoSpaceForBackup {
        node: String,
        path: PathBuf,
        backup_dir: PathBuf,
        need: u64,
        free: u64,
    },

    #[error("{node}: cannot back up {path}: {reason}; nothing was changed")]
    Unbackupable {
        node: String,
        path: PathBuf,
        reason: String,
    },

    #[error("{node}: no run `{run_id}` under {runs_dir}; list that folder to see the runs there")]
    RunNotFound {
        node: String,
        run_id: String,
        runs_dir: PathBuf,
    },

    #[error("{node}: run journal {path} is damaged at line {line}: {reason}")]
    BadJournal {
        node: String,
        path: PathBuf,
        line: usize,
        reason: String,
    },

    #[error("sandbox: {0}")]
    Sandbox(String),

    /// Something about one node that the run cannot go on with.
    #[error("on {node}: {message}")]
    Node { node: String, message: String },

    /// A file the tool wrote (cluster.toml, witness.toml) that does not parse.
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },

    /// A command used where it cannot work (not root, no terminal, no
    /// daemon on this node); the message says what to do instead.
    #[error("{0}")]
    Usage(String),

    /// A rollback that would undo something a later run or a person built
    /// on; nothing was changed.
    #[error("on {node}: {message}")]
    RollbackRefused { node: String, message: String },

    /// A defect of the tool itself (a thread that panicked, a value of its
    /// own it cannot write): nothing the user did.
    #[error("internal error: {0}; this is a defect of mysql-ha, please report it with the command that showed it")]
    Internal(String),

    /// A command or service on the node that exited with a failure.
    #[error("{what} failed ({status}){detail}")]
    Failed {
        what: String,
        status: String,
        detail: String,
    },

    /// A run or a front-end's session that stopped after changes were made:
    /// the message says what was applied and how to go on or undo.
    #[error("{0}")]
    StoppedPartWay(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Exit code the binary returns for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotBuilt { .. } => 3,
            Error::Inconsistent { .. } => 2,
            _ => 1,
        }
    }
}

/// How a command ended, in words: `exit 1`, or `killed by a signal` when
/// it has no exit code (never Rust's `Some(1)` / `None`).
pub fn exit_status(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("exit {code}"),
        None => "killed by a signal".to_string(),
    }
}

/// Formats the tail of a failed command's stderr for an error message.
pub fn stderr_detail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let tail: Vec<&str> = text.lines().rev().take(6).collect();
    if tail.is_empty() {
        String::new()
    } else {
        let lines: Vec<&str> = tail.into_iter().rev().collect();
        format!(": {}", lines.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_is_words_not_debug_text() {
        assert_eq!(exit_status(Some(1)), "exit 1");
        assert_eq!(exit_status(None), "killed by a signal");
    }
}
