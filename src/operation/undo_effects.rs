//! What the executor does for the changes only a rollback plans: the
//! run's files put back, its statements undone, its plugins taken out, its
//! services stopped or started again, the cluster address released, a
//! seeded datadir swapped back, certificates reloaded. Each says what it
//! did in a line for the log.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::backup::{self, Journal, JournalEntry, UndoStatement};
use crate::node::Node;
use crate::{Error, Result};

use super::pair::Member;

/// Puts back the run's files from the journal's backups; a line for each,
/// and a warning for a file changed after the run (forced).
pub fn restore_files(node: &dyn Node, journal: &mut Journal) -> Result<Vec<String>> {
    let run_id = journal.run_id.clone();
    let mut lines = Vec::new();
    for item in backup::restore_files(node, journal)? {
        if item.changed_since_run {
            lines.push(format!(
                "warning: {} was changed after run {run_id}; those later changes are undone too",
                item.path.display()
            ));
        }
        lines.push(if item.removed {
            format!("removed {} (the run had created it)", item.path.display())
        } else {
            format!("restored {}", item.path.display())
        });
    }
    Ok(lines)
}

/// Runs the statements that undo `undone` and records that it is undone.
pub fn undo_sql(
    member: &mut Member,
    journal: &mut Journal,
    undone: &str,
    statements: &[UndoStatement],
) -> Result<String> {
    for sql in statements {
        member.sql().exec_masked(&sql.real, &sql.shown)?;
    }
    mark_undone(member, journal, undone)?;
    Ok(format!(
        "undone: {undone}  (by {})",
        UndoStatement::shown_all(statements)
    ))
}

/// Records that `undone` is undone: a later pass leaves it.
fn mark_undone(member: &Member, journal: &mut Journal, undone: &str) -> Result<()> {
    journal.record(
        member.access.node(),
        JournalEntry::Undone {
            what: undone.to_string(),
        },
    )
}

/// Switches a plugin off and uninstalls it. A source keeps its semi-sync
/// plugin while a replica's dump thread lives (error 1883), and a dump
/// thread notices a replica that stopped only at its next heartbeat: the
/// run's replica is gone, so its dump threads are ended. Still refused
/// after 10 s: harmless (it is off), and said.
pub fn uninstall_plugin(
    member: &mut Member,
    journal: &mut Journal,
    undone: &str,
    plugin: &str,
) -> Result<String> {
    let mut statements = crate::sql::flavor::uninstall_plugin(plugin);
    let Some(remove) = statements.pop() else {
        return Ok(String::new());
    };
    for switch_off in &statements {
        member.sql().exec(switch_off)?;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        match member.sql().exec(&remove) {
            Ok(()) => break None,
            Err(err) if Instant::now() > deadline => break Some(err),
            Err(_) => {
                let dumps = member.sql().column(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'",
                )?;
                for id in dumps {
                    let _ = member.sql().exec(&format!("KILL CONNECTION {id}"));
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    };
    if let Some(err) = refused {
        return Ok(format!(
            "left installed (disabled): {undone}: {err}; roll back the slave first, or uninstall it later"
        ));
    }
    mark_undone(member, journal, undone)?;
    Ok(format!(
        "undone: {undone}  (by {})",
        crate::sql::flavor::uninstall_plugin(plugin).join("; ")
    ))
}

/// Releases the cluster address when this node holds it.
pub fn release_address(
    node: &dyn Node,
    journal: &mut Journal,
    cidr: &str,
    device: &str,
) -> Result<String> {
    let held = node.run(&["ip", "-o", "addr", "show", "dev", device], None)?;
    if !held.stdout_text().contains(&format!(" {cidr} ")) {
        return Ok(format!("the cluster address {cidr} is not on this node"));
    }
    journal.record(
        node,
        JournalEntry::Note {
            text: format!("cluster address {cidr} released"),
        },
    )?;
    node.run(&["ip", "addr", "del", cidr, "dev", device], None)?
        .checked(node.label(), &["ip", "addr", "del", cidr, "dev", device])?;
    Ok(format!("undone: released the cluster address {cidr}"))
}

/// Moves the server's own datadir (`before`) back in place; the copy in
/// its place, if any, is set aside beside `before`, never deleted.
pub fn datadir_back(
    node: &dyn Node,
    journal: &mut Journal,
    datadir: &Path,
    before: &Path,
) -> Result<String> {
    // A seed that failed at the swap already put the datadir back.
    if node.stat(before)?.is_none() {
        return Ok(format!(
            "{} holds the server's own data already (the seed put it back)",
            datadir.display()
        ));
    }
    let set_aside = before.with_file_name("datadir.rolled-back");
    journal.record(
        node,
        JournalEntry::Note {
            text: format!(
                "datadir back: {} to {} (the copy to {})",
                before.display(),
                datadir.display(),
                set_aside.display()
            ),
        },
    )?;
    let (datadir_text, before_text, set_aside_text) = (
        datadir.to_string_lossy().into_owned(),
        before.to_string_lossy().into_owned(),
        set_aside.to_string_lossy().into_owned(),
    );
    let script = "set -e; [ ! -e \"$3\" ]; if [ -e \"$1\" ]; then mv -- \"$1\" \"$3\"; fi; mv -- \"$2\" \"$1\"";
    let out = node.run(
        &[
            "sh",
            "-c",
            script,
            "sh",
            &datadir_text,
            &before_text,
            &set_aside_text,
        ],
        None,
    )?;
    if !out.success() {
        return Err(Error::Command {
            host: node.label().to_string(),
            command: format!(
                "move {before_text} back to {datadir_text} (the current one to {set_aside_text})"
            ),
            status: crate::error::exit_status(out.code),
            detail: crate::error::stderr_detail(&out.stderr),
        });
    }
    Ok(format!(
        "undone: {datadir_text} holds the server's own data again; the seeded copy is in {set_aside_text} (remove it when you no longer need it)"
    ))
}

/// The running server loads the restored certificates, when it serves TLS.
pub fn reload_certificates(member: &mut Member) -> Result<String> {
    if !crate::tls::serving_tls(member.sql()) {
        return Ok("the server serves no TLS: nothing to reload".into());
    }
    let sql = member.sql().flavor().reload_tls();
    Ok(match member.sql().exec(sql) {
        Ok(()) => format!("the server serves the restored certificates again ({sql})"),
        // The run made the node's first certificate: with it gone the
        // server keeps the one it loaded until its next restart.
        Err(e) => format!(
            "left in place: the server keeps serving the certificate it loaded ({sql} refused: {e}); it drops it at its next restart"
        ),
    })
}
