//! The run's journals, one per host of the run, and a command run on a
//! node with its journal line: what every operation records its changes in.

use crate::access::Access;
use crate::backup::{Journal, JournalEntry};
use crate::operation::pair::{Pair, Side};
use crate::{Error, Result};

pub struct Journals {
    pub master: Journal,
    pub slave: Journal,
    /// On the second slave, when the run has one.
    pub slave2: Option<Journal>,
    /// On the witness host, when the run has one.
    pub witness: Option<Journal>,
}

impl Journals {
    pub fn create(pair: &Pair, run_id: &str) -> Result<Journals> {
        Ok(Journals {
            master: Journal::create(pair.master.access.node(), run_id)?,
            slave: Journal::create(pair.slave.access.node(), run_id)?,
            slave2: match &pair.slave2 {
                Some(slave2) => Some(Journal::create(slave2.access.node(), run_id)?),
                None => None,
            },
            witness: match &pair.witness {
                Some(witness) => Some(Journal::create(witness.access.node(), run_id)?),
                None => None,
            },
        })
    }

    pub fn of(&mut self, side: Side) -> Result<&mut Journal> {
        match side {
            Side::Master => Ok(&mut self.master),
            Side::Slave => Ok(&mut self.slave),
            Side::Slave2 => self.slave2.as_mut().ok_or_else(|| {
                Error::Internal(
                    "a step for a second slave (slave2), which this run does not have".into(),
                )
            }),
            Side::Witness => self.witness.as_mut().ok_or_else(|| {
                Error::Internal("a step for a witness host, which this run does not have".into())
            }),
        }
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
    journal.record(
        access.node(),
        JournalEntry::Command {
            node: label.to_string(),
            argv: argv.to_vec(),
            ok: out.success(),
        },
    )?;
    out.checked(label, &refs)?;
    Ok(())
}
