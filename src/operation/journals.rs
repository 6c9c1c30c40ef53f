//! The run's journals, one per host of the run, and a command run on a
//! node with its journal line: what every operation records its changes in.

use crate::access::Access;
use crate::backup::{Journal, JournalEntry};
use crate::operation::pair::{Pair, Side};
use crate::{Error, Result};

pub struct Journals {
    /// One journal per host of the run, by its side.
    journals: Vec<(Side, Journal)>,
}

impl Journals {
    /// Opens (or creates) run `run_id` on every host of the pair.
    pub fn create(pair: &Pair, run_id: &str) -> Result<Journals> {
        let mut journals = vec![
            (
                Side::Master,
                Journal::create(pair.master.access.node(), run_id)?,
            ),
            (
                Side::Slave,
                Journal::create(pair.slave.access.node(), run_id)?,
            ),
        ];
        if let Some(slave2) = &pair.slave2 {
            journals.push((Side::Slave2, Journal::create(slave2.access.node(), run_id)?));
        }
        if let Some(witness) = &pair.witness {
            journals.push((
                Side::Witness,
                Journal::create(witness.access.node(), run_id)?,
            ));
        }
        Ok(Journals { journals })
    }

    /// Journals opened already, one per side (rollback's: the undone run's
    /// own, on the hosts where it recorded changes).
    pub fn of_sides(journals: Vec<(Side, Journal)>) -> Journals {
        Journals { journals }
    }

    pub fn of(&mut self, side: Side) -> Result<&mut Journal> {
        self.journals
            .iter_mut()
            .find(|(s, _)| *s == side)
            .map(|(_, journal)| journal)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "a step on the {}, which this run has no journal of",
                    side.name()
                ))
            })
    }
}

/// Runs a command on a node and journals it (with whether it succeeded).
pub fn run_command(
    access: &Access,
    label: &str,
    journal: &mut Journal,
    argv: &[String],
) -> Result<()> {
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = access.node().run(&refs, None)?;
    record_command(access, label, journal, argv, out.success())?;
    out.checked(label, &refs)?;
    Ok(())
}

/// Journals a command that ran on a node, with whether it succeeded.
pub fn record_command(
    access: &Access,
    label: &str,
    journal: &mut Journal,
    argv: &[String],
    ok: bool,
) -> Result<()> {
    journal.record(
        access.node(),
        JournalEntry::Command {
            node: label.to_string(),
            argv: argv.to_vec(),
            ok,
            typed: true,
        },
    )
}
