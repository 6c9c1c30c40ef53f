//! A planned SQL statement (its text, masked for display, and how a
//! rollback undoes it) and the one way every operation runs one: the undo
//! is read from the server and journaled before the statement runs.

use crate::backup::{Journal, JournalEntry};
use crate::operation::pair::Member;
use crate::operation::undo::{self, UndoRule};
use crate::Result;

/// A statement whose text may carry a secret: `shown` is masked.
#[derive(Clone)]
pub struct Statement {
    pub shown: String,
    pub real: String,
    pub undo: UndoRule,
}

impl std::fmt::Debug for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the real text: it may hold a password.
        write!(f, "Statement({:?})", self.shown)
    }
}

impl Statement {
    /// A statement without a secret that stays after a rollback (listed).
    pub fn plain(sql: impl Into<String>) -> Statement {
        Statement::new(sql, UndoRule::Kept)
    }

    /// A statement without a secret with nothing to undo: session settings,
    /// starting and stopping replication, reloads.
    pub fn control(sql: impl Into<String>) -> Statement {
        Statement::new(sql, UndoRule::Nothing)
    }

    /// A statement without a secret, undone by `undo`.
    pub fn new(sql: impl Into<String>, undo: UndoRule) -> Statement {
        let sql = sql.into();
        Statement {
            shown: sql.clone(),
            real: sql,
            undo,
        }
    }

    /// A statement whose `real` text holds a secret, masked in `shown`.
    pub fn masked(shown: String, real: String, undo: UndoRule) -> Statement {
        Statement { shown, real, undo }
    }

    /// Statements of the dialect module (masked form first), all undone by
    /// the same rule.
    pub fn all(pairs: Vec<(String, String)>, undo: &UndoRule) -> Vec<Statement> {
        pairs
            .into_iter()
            .map(|(shown, real)| Statement::masked(shown, real, undo.clone()))
            .collect()
    }
}

/// Runs `statement` on `member`, first journaling it with its undo as the
/// server's state makes it (an account that existed is put back, not
/// dropped). The journal line comes first: a statement that fails half
/// way is still undone.
pub fn run(member: &mut Member, journal: &mut Journal, statement: &Statement) -> Result<()> {
    let undo = undo::capture(member.sql(), &statement.undo)?;
    journal.record(
        member.access.node(),
        JournalEntry::Sql {
            node: member.label().to_string(),
            statement_masked: statement.shown.clone(),
            undo: Some(undo),
        },
    )?;
    let ran = member.sql().exec_masked(&statement.real, &statement.shown);
    match ran {
        // A replica's connection changes only with replication stopped; a
        // cluster daemon may have restarted its I/O thread (semi-sync, a
        // reconnect) since this run stopped it: stop it again, then retry
        // (a kept change of the replica's login too).
        Err(err)
            if matches!(statement.undo, UndoRule::Source { .. } | UndoRule::Kept)
                && crate::sql::conn::error_code(&err) == Some(REPLICA_RUNNING) =>
        {
            let stop = member.sql().flavor().stop_replica();
            member.sql().exec(stop)?;
            member.sql().exec_masked(&statement.real, &statement.shown)
        }
        ran => ran,
    }
}

/// ER_SLAVE_MUST_STOP: "This operation cannot be performed as you have a
/// running slave".
const REPLICA_RUNNING: u16 = 1198;
