//! Carries out a plan, step by step, journaling every change on the node it
//! touches. A server that does not come back after a config change gets its
//! previous config back and a second restart.

use crate::access::Access;
use std::time::{Duration, Instant};

pub use super::journals::{run_command, Journals};
use super::pair::{Member, Pair};
use super::plan::{Change, NodeFile, Plan, Side};
use super::seed;
use crate::backup::{self, Journal, JournalEntry};
use crate::events::{Event, Reporter};
use crate::mycnf::edit::FileEdit;
use crate::sql::Position;
use crate::{Error, Result};

const SERVER_START_TIMEOUT: Duration = Duration::from_secs(90);
/// The plan's stand-in for the snapshot position, known only after seeding.
pub const SNAPSHOT_PLACEHOLDER: &str = "<position of the snapshot>";

pub(crate) fn wait_for_server(member: &mut Member) -> Result<()> {
    let started = Instant::now();
    loop {
        match member.reconnect() {
            Ok(()) => return Ok(()),
            Err(err) if started.elapsed() > SERVER_START_TIMEOUT => return Err(err),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

pub(crate) fn error_log_tail(member: &Member) -> String {
    let log = &member.profile.paths.error_log;
    let argv: Vec<&str> = if log.starts_with('/') {
        vec!["tail", "-n", "15", log.as_str()]
    } else {
        match &member.profile.service.systemd_unit {
            Some(unit) => vec!["journalctl", "--no-pager", "-n", "15", "-u", unit.as_str()],
            None => vec!["tail", "-n", "15", "/var/log/syslog"],
        }
    };
    member
        .access
        .node()
        .run(&argv, None)
        .map(|o| o.stdout_text())
        .unwrap_or_default()
}

/// Runs one of the server's service commands (journaled) and waits until
/// the server takes connections again.
pub(crate) fn service_then_wait(
    member: &mut Member,
    journal: &mut Journal,
    argv: &[String],
) -> Result<()> {
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = crate::node::run_service(member.access.node(), &refs)?;
    journal.record(
        member.access.node(),
        JournalEntry::Command {
            node: member.label().to_string(),
            argv: argv.to_vec(),
            ok: out.success(),
        },
    )?;
    out.checked(member.label(), &refs)?;
    wait_for_server(member)
}

/// Restarts the server after config edits; if it does not come back, the
/// run's files on this node are restored and the server restarted again.
pub(crate) fn restart_or_restore(
    member: &mut Member,
    journal: &mut Journal,
    argv: &[String],
    reporter: &dyn Reporter,
) -> Result<()> {
    let Err(err) = service_then_wait(member, journal, argv) else {
        return Ok(());
    };
    let tail = error_log_tail(member);
    reporter.event(Event::Note {
        message: format!(
            "{}: server did not come back ({err}); restoring the previous configuration",
            member.label()
        ),
    });
    backup::rollback(member.access.node(), &journal.run_id)?;
    service_then_wait(member, journal, &member.profile.service.restart.clone())?;
    Err(Error::Other(format!(
        "{}: the server did not start with the new configuration, so the previous one was restored and the server restarted with it. Cause: {err}\nError log tail:\n{tail}",
        member.label()
    )))
}

/// Numeric id of a user or group on the node (`id -u NAME`, `getent group NAME`).
fn resolve_id(access: &Access, label: &str, kind: &str, name: &str) -> Result<u32> {
    let argv: Vec<&str> = if kind == "user" {
        vec!["id", "-u", name]
    } else {
        vec!["getent", "group", name]
    };
    let out = access.run_checked(&argv, None)?;
    let text = out.stdout_text();
    let field = if kind == "user" {
        text.trim()
    } else {
        text.split(':').nth(2).unwrap_or("").trim()
    };
    field
        .parse()
        .map_err(|_| Error::Other(format!("{label}: no {kind} named `{name}`")))
}

/// Writes a whole file: validated on a private temporary copy first, then
/// backed up and replaced atomically.
fn write_file(access: &Access, label: &str, journal: &mut Journal, file: &NodeFile) -> Result<()> {
    let uid = resolve_id(access, label, "user", &file.owner)?;
    let gid = resolve_id(access, label, "group", &file.group)?;
    let node = access.node();
    if let Some(validate) = &file.validate {
        let probe = journal.dir.join("validate.tmp");
        node.write_atomic(&probe, &file.edit.after, 0o600, 0, 0)?;
        let probe_text = probe.to_string_lossy().into_owned();
        let argv: Vec<String> = validate
            .iter()
            .map(|a| a.replace("{}", &probe_text))
            .collect();
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = node.run(&refs, None);
        node.remove_file(&probe)?;
        let out = out?;
        if !out.success() {
            return Err(Error::Command {
                host: label.to_string(),
                command: format!(
                    "{} (new {} refused, nothing written)",
                    argv.join(" "),
                    file.edit.path.display()
                ),
                status: crate::error::exit_status(out.code),
                detail: crate::error::stderr_detail(&[out.stdout, out.stderr].concat()),
            });
        }
    }
    backup::apply_file_edit_as(node, journal, &file.edit, Some((file.mode, uid, gid)))
}

fn position_text(position: &Position) -> String {
    match position {
        Position::MariaDbGtid(gtid) if gtid.is_empty() => {
            "the start of the binary log (empty GTID)".into()
        }
        Position::MariaDbGtid(gtid) => format!("GTID {gtid}"),
        Position::MySqlGtidSet(gtids) if gtids.is_empty() => {
            "the start of the binary log (empty GTID set)".into()
        }
        Position::MySqlGtidSet(gtids) => format!("GTID set {gtids}"),
        Position::File { file, offset } => format!("{file}:{offset}"),
        Position::MySqlGtidAuto => "auto".into(),
    }
}

/// The master's current position, for `seed = "none"`.
fn current_position(member: &mut Member) -> Result<Position> {
    let flavor = member.sql().flavor();
    let gtid = member.sql().scalar(flavor.executed_gtids_query())?;
    Ok(Position::snapshot(flavor, gtid.unwrap_or_default()))
}

/// The master and the slave a step of `side` acts on: the second slave's
/// own steps (Side::Slave2) make it a slave as the slave's make the slave.
fn master_and_slave(pair: &mut Pair, side: Side) -> Result<(&mut Member, &mut Member)> {
    let Pair {
        master,
        slave,
        slave2,
        ..
    } = pair;
    match side {
        Side::Slave2 => slave2
            .as_mut()
            .map(|slave2| (master, slave2))
            .ok_or_else(|| Error::Other("no second slave (slave2) in this run".into())),
        _ => Ok((master, slave)),
    }
}

/// Runs `work` on the pair as the step's side sees it: for the second
/// slave's steps, with it in the slave's place (see `Pair::swap_slaves`).
fn as_seen_by<T>(
    pair: &mut Pair,
    side: Side,
    work: impl FnOnce(&mut Pair) -> Result<T>,
) -> Result<T> {
    if side == Side::Slave2 {
        pair.with_slave2(work)
    } else {
        work(pair)
    }
}

/// Applies every step; `replicating` runs right after the step that
/// starts replication (setup proves replication there, before the cluster
/// steps).
pub fn apply(
    pair: &mut Pair,
    plan: &Plan,
    journals: &mut Journals,
    reporter: &dyn Reporter,
    replicating: &mut dyn FnMut(&mut Pair) -> Result<()>,
) -> Result<()> {
    let mut snapshot: Option<Position> = None;
    // A copy counts as finished once replication runs from its position.
    let mut seeded: Vec<String> = Vec::new();
    for step in &plan.steps {
        // A safe point, unless a seed's position still waits for the step
        // that starts replication at it.
        if snapshot.is_none() && reporter.stop_requested() {
            return Err(Error::Aborted(format!(
                "stopped on request before `{}`",
                step.name
            )));
        }
        reporter.event(Event::StepStarted {
            step: step.name.into(),
        });
        if step.unchanged() {
            reporter.event(Event::StepFinished {
                step: step.name.into(),
                changed: false,
                summary: step
                    .summary
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "already in place".into()),
            });
            if step.name == super::plan::START_REPLICATION {
                as_seen_by(pair, step.side, |pair| replicating(pair))?;
            }
            continue;
        }
        // New certificates touch both nodes and both journals at once.
        if let [Change::Certificates(certs)] = step.changes.as_slice() {
            let summary = super::tls_step::apply(pair, journals, certs)?;
            reporter.event(Event::StepFinished {
                step: step.name.into(),
                changed: true,
                summary,
            });
            continue;
        }
        let journal = journals.of(step.side)?;
        let mut summary = String::new();
        // Every file of the step is checked (readable, room for backups)
        // before the first one changes.
        let edits: Vec<FileEdit> = step
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::File(edit) => Some(edit.clone()),
                Change::WriteFile(file) => Some(file.edit.clone()),
                _ => None,
            })
            .collect();
        backup::check_edits(pair.access(step.side)?.0.node(), journal, &edits)?;
        for change in &step.changes {
            match change {
                Change::File(edit) => {
                    backup::apply_file_edit(pair.access(step.side)?.0.node(), journal, edit)?;
                    summary = "files changed".into();
                }
                Change::WriteFile(file) => {
                    let (access, label) = pair.access(step.side)?;
                    write_file(access, label, journal, file)?;
                    summary = "files written".into();
                }
                Change::Command { argv, .. } => {
                    let (access, label) = pair.access(step.side)?;
                    run_command(access, label, journal, argv)?;
                    summary = "done".into();
                }
                Change::RestartServer { argv } => {
                    restart_or_restore(pair.member(step.side)?, journal, argv, reporter)?;
                    summary = "configuration changed and server restarted".into();
                }
                Change::Sql(statement) => {
                    super::statement::run(pair.member(step.side)?, journal, statement)?;
                    summary = "done".into();
                }
                Change::Seed { copy } => {
                    let (master, slave) = master_and_slave(pair, step.side)?;
                    journal.record(
                        slave.access.node(),
                        JournalEntry::Note {
                            text: backup::seed_note(&copy.databases, master.label()),
                        },
                    )?;
                    let result = seed::run(master, slave, journal, copy, reporter)?;
                    seeded = copy.databases.clone();
                    summary = format!(
                        "copied {} in {:.1} s ({}), step done in {:.1} s, snapshot at {}; {}",
                        super::plan::human_bytes(result.bytes),
                        result.copy_seconds,
                        copy.method.name(),
                        result.seconds,
                        position_text(&result.position),
                        result.verified
                    );
                    snapshot = Some(result.position);
                }
                Change::AddDatabases {
                    databases,
                    all,
                    copy,
                    replace,
                    ..
                } => {
                    let added = as_seen_by(pair, step.side, |pair| {
                        super::add_databases::run(
                            pair, journal, databases, all, copy, *replace, reporter,
                        )
                    })?;
                    summary = format!(
                        "copied {} in {:.1} s at {}; the slave replicates {}",
                        super::plan::human_bytes(added.bytes),
                        added.seconds,
                        added.position,
                        all.join(", ")
                    );
                }
                Change::Certificates(_) => {
                    return Err(Error::Other(format!(
                        "step `{}`: certificates are a step of their own",
                        step.name
                    )))
                }
                Change::StartReplication { statements } => {
                    let (master, slave) = master_and_slave(pair, step.side)?;
                    // Taken: the next slave's start waits for its own copy.
                    let position = match snapshot.take() {
                        Some(p) => p,
                        None => current_position(master)?,
                    };
                    let gtid = position.gtids().unwrap_or_default().to_string();
                    let position = position_text(&position);
                    for statement in statements {
                        let statement = super::statement::Statement {
                            shown: statement.shown.replace(SNAPSHOT_PLACEHOLDER, &gtid),
                            real: statement.real.replace(SNAPSHOT_PLACEHOLDER, &gtid),
                            undo: statement.undo.clone(),
                        };
                        super::statement::run(slave, journal, &statement)?;
                    }
                    if !seeded.is_empty() {
                        journal.record(
                            slave.access.node(),
                            JournalEntry::Note {
                                text: backup::seed_done_note(&seeded, master.label()),
                            },
                        )?;
                        seeded.clear();
                    }
                    summary = format!("replicating from {} at {position}", master.label());
                }
            }
        }
        reporter.event(Event::StepFinished {
            step: step.name.into(),
            changed: true,
            summary,
        });
        if step.name == super::plan::START_REPLICATION {
            as_seen_by(pair, step.side, |pair| replicating(pair))?;
        }
    }
    Ok(())
}
