//! Carries out a plan, step by step, journaling every change on the node it
//! touches. A server that does not come back after a config change gets its
//! previous config back and a second restart.

use crate::access::Access;
use std::path::Path;
use std::time::{Duration, Instant};

pub use super::journals::{run_command, Journals};
use super::pair::{Member, Pair};
use super::plan::{Change, FileCopy, NodeFile, Plan, Side};
use super::seed;
use crate::backup::{self, Journal, JournalEntry};
use crate::events::{Event, Reporter};
use crate::mycnf::edit::FileEdit;
use crate::sql::Position;
use crate::{Error, Result};

/// The hosts a plan runs on: a pair and its witness (setup, add-db,
/// rejoin, switchover, the rollback of a pair's run), or one node (the
/// rollback of a run on the node it runs on). Changes between the nodes
/// (a copy, replication, the daemons' hold) need the pair.
pub trait Hosts {
    fn member(&mut self, side: Side) -> Result<&mut Member>;
    fn access(&self, side: Side) -> Result<(&Access, &str)>;
    /// The pair, for a change between its nodes.
    fn pair(&mut self) -> Result<&mut Pair>;
    fn pair_ref(&self) -> Option<&Pair>;
}

impl Hosts for Pair {
    fn member(&mut self, side: Side) -> Result<&mut Member> {
        Pair::member(self, side)
    }

    fn access(&self, side: Side) -> Result<(&Access, &str)> {
        Pair::access(self, side)
    }

    fn pair(&mut self) -> Result<&mut Pair> {
        Ok(self)
    }

    fn pair_ref(&self) -> Option<&Pair> {
        Some(self)
    }
}

/// The error for a step on another host than the one a plan has.
fn not_this_host(side: Side, label: &str) -> Error {
    Error::Internal(format!(
        "a step on the {} of a plan for {label} alone",
        side.name()
    ))
}

/// The error for a change between the nodes of a pair in a plan for one.
fn no_pair(label: &str) -> Error {
    Error::Internal(format!(
        "a change between the nodes of a pair in a plan for {label} alone"
    ))
}

/// A member alone: the node a run is undone on.
impl Hosts for Member {
    fn member(&mut self, side: Side) -> Result<&mut Member> {
        if side == self.side {
            Ok(self)
        } else {
            Err(not_this_host(side, self.label()))
        }
    }

    fn access(&self, side: Side) -> Result<(&Access, &str)> {
        if side == self.side {
            Ok((&self.access, self.label()))
        } else {
            Err(not_this_host(side, self.label()))
        }
    }

    fn pair(&mut self) -> Result<&mut Pair> {
        Err(no_pair(self.label()))
    }

    fn pair_ref(&self) -> Option<&Pair> {
        None
    }
}

/// One node reached for its files and commands alone (a `--root` tree, a
/// server that does not answer, Pacemaker's tools on this node): a change
/// that needs its database server is refused.
pub struct OneHost {
    pub side: Side,
    pub label: String,
    pub access: Access,
}

impl OneHost {
    pub fn files(side: Side, label: &str, access: Access) -> OneHost {
        OneHost {
            side,
            label: label.to_string(),
            access,
        }
    }
}

impl Hosts for OneHost {
    fn member(&mut self, side: Side) -> Result<&mut Member> {
        if side != self.side {
            return Err(not_this_host(side, &self.label));
        }
        Err(Error::Node {
            node: self.label.clone(),
            message: "its database server is not reached: only its files are undone".into(),
        })
    }

    fn access(&self, side: Side) -> Result<(&Access, &str)> {
        if side != self.side {
            return Err(not_this_host(side, &self.label));
        }
        Ok((&self.access, &self.label))
    }

    fn pair(&mut self) -> Result<&mut Pair> {
        Err(no_pair(&self.label))
    }

    fn pair_ref(&self) -> Option<&Pair> {
        None
    }
}

const SERVER_START_TIMEOUT: Duration = Duration::from_secs(90);
pub use super::plan::SNAPSHOT_PLACEHOLDER;

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
            typed: true,
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
    backup::restore_files(member.access.node(), journal)?;
    service_then_wait(member, journal, &member.profile.service.restart.clone())?;
    Err(Error::Node {
        node: member.label().to_string(),
        message: format!(
            "the server did not start with the new configuration, so the previous one was restored and the server restarted with it. Cause: {err}\nError log tail:\n{tail}"
        ),
    })
}

/// How long a hold lasts: a restart, and the restart with the restored
/// files if the first does not come back.
const DAEMON_HOLD: Duration = Duration::from_secs(2 * SERVER_START_TIMEOUT.as_secs() + 60);

/// Tells the cluster daemons that this run is about to restart or re-key a
/// server: the slave's daemon would otherwise see its master stop
/// answering, restart it remotely in the middle of the run's own restart,
/// and take over if that fails (seen on every re-run that restarted the
/// master). The hold has a deadline, so a run that dies cannot leave the
/// pair unguarded. A node without the daemon's state directory runs no
/// daemon.
fn hold_daemons(hosts: &dyn Hosts, run_id: &str) -> Result<()> {
    let Some(pair) = hosts.pair_ref() else {
        return Ok(());
    };
    let until = crate::daemon::state::now() + DAEMON_HOLD.as_secs();
    let text = crate::daemon::state::run_hold_text(until, run_id);
    for member in [&pair.master, &pair.slave] {
        let node = member.access.node();
        if node
            .stat(Path::new(crate::daemon::state::STATE_DIR))?
            .is_some()
        {
            node.write_atomic(
                &crate::daemon::state::run_hold_path(),
                text.as_bytes(),
                0o644,
                0,
                0,
            )?;
        }
    }
    Ok(())
}

/// Ends the hold; one left behind ends at its deadline anyway.
fn release_daemons(hosts: &dyn Hosts) {
    let Some(pair) = hosts.pair_ref() else {
        return;
    };
    for member in [&pair.master, &pair.slave] {
        let node = member.access.node();
        if let Ok(Some(_)) = node.stat(&crate::daemon::state::run_hold_path()) {
            let _ = node.remove_file(&crate::daemon::state::run_hold_path());
        }
    }
}

/// Runs the commands of one end of the cluster manager's hold; says each
/// in the log.
fn manager_hold(
    hosts: &dyn Hosts,
    hold: &super::plan::ManagerHold,
    commands: &[Vec<String>],
    reporter: &dyn Reporter,
) -> Result<()> {
    let (access, label) = hosts.access(hold.side)?;
    for argv in commands {
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        access.node().run(&refs, None)?.checked(label, &refs)?;
        reporter.event(Event::Note {
            message: format!("{label}: {}", argv.join(" ")),
        });
    }
    Ok(())
}

/// Ends the hold after a failure; a hold that cannot end is said, not
/// raised over the failure that matters.
fn end_hold_after_failure(
    hosts: &dyn Hosts,
    hold: &super::plan::ManagerHold,
    reporter: &dyn Reporter,
) {
    if let Err(err) = manager_hold(hosts, hold, &hold.end, reporter) {
        reporter.event(Event::Note {
            message: format!(
                "the cluster manager's hold did not end: {err}; end it by hand: {}",
                hold.end
                    .iter()
                    .map(|argv| argv.join(" "))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        });
    }
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
    field.parse().map_err(|_| Error::Node {
        node: label.to_string(),
        message: format!("no {kind} named `{name}`: create it or fix the owner the plan gives"),
    })
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

/// Copies a file from one host of the run to another (see FileCopy): the
/// bytes read over the source's access, written over the destination's,
/// backed up and journaled there. A destination already there with looser
/// permissions than wanted is tightened first, so the new contents never
/// sit in a file others can read. Returns the size copied.
fn copy_file(
    hosts: &dyn Hosts,
    side: Side,
    journal: &mut Journal,
    copy: &FileCopy,
) -> Result<usize> {
    let (from, from_label) = hosts.access(copy.from)?;
    let bytes = from
        .node()
        .read(&copy.source)?
        .ok_or_else(|| Error::Command {
            host: from_label.to_string(),
            command: format!(
                "read {} (to copy it to another host)",
                copy.source.display()
            ),
            status: "missing".into(),
            detail: format!(
                "{} is not there: the change that makes it did not; see the run's log",
                copy.what
            ),
        })?;
    let (access, label) = hosts.access(side)?;
    let uid = resolve_id(access, label, "user", &copy.owner)?;
    let gid = resolve_id(access, label, "group", &copy.group)?;
    let node = access.node();
    let before = node.read(&copy.path)?;
    if let (Some(stat), Some(current)) = (node.stat(&copy.path)?, &before) {
        if stat.mode & 0o777 & !copy.mode != 0 {
            node.write_atomic(&copy.path, current, copy.mode, stat.uid, stat.gid)?;
        }
    }
    let edit = FileEdit {
        path: copy.path.clone(),
        before,
        after: bytes,
    };
    backup::apply_file_edit_as(node, journal, &edit, Some((copy.mode, uid, gid)))?;
    Ok(edit.after.len())
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

/// What applying a plan found and proved, for the operation's report.
#[derive(Debug, Default)]
pub struct Applied {
    /// When each step finished, in order.
    pub finished: Vec<(&'static str, Instant)>,
    /// Values read at run time, by the placeholder the plan showed.
    pub found: Vec<(String, String)>,
    /// The copy's position, when the plan copied databases.
    pub snapshot: Option<Position>,
    /// Files kept aside in the run's folder.
    pub kept: Vec<String>,
    /// What the checks proved, a line each.
    pub proved: Vec<String>,
    /// Both daemons' status lines, once healthy.
    pub daemons: Vec<String>,
    /// When the cluster address was added on its new holder (before the
    /// announcement).
    pub address_moved_at: Option<Instant>,
}

impl Applied {
    pub fn finished_at(&self, step: &str) -> Option<Instant> {
        self.finished
            .iter()
            .find(|(name, _)| *name == step)
            .map(|(_, at)| *at)
    }

    pub fn found(&self, placeholder: &str) -> Option<&str> {
        self.found
            .iter()
            .find(|(name, _)| name == placeholder)
            .map(|(_, value)| value.as_str())
    }
}

/// A plan that stopped at `step`.
#[derive(Debug)]
pub struct Failed {
    pub step: &'static str,
    pub error: Error,
    /// The plan's rescue for that step ran (with these problems), or none
    /// covered it.
    pub rescue: Option<Vec<String>>,
    /// What had been done until then.
    pub applied: Applied,
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
            .ok_or_else(|| {
                Error::Internal(
                    "a step for a second slave (slave2), which this run does not have".into(),
                )
            }),
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
    run(pair, plan, journals, reporter, replicating)
        .map(|_| ())
        .map_err(|failed| failed.error)
}

/// The one executor of plans: applies every step in order, each change
/// journaled on the node it touches before it runs. When a step fails and
/// one of the plan's rescues covers it, the rescue runs (its changes whose
/// `once` step finished) before the failure is returned.
pub fn run(
    hosts: &mut dyn Hosts,
    plan: &Plan,
    journals: &mut Journals,
    reporter: &dyn Reporter,
    replicating: &mut dyn FnMut(&mut Pair) -> Result<()>,
) -> std::result::Result<Applied, Box<Failed>> {
    let mut executor = Executor {
        reporter,
        run_id: &plan.run_id,
        snapshot: None,
        consumed_snapshot: None,
        seeded: Vec::new(),
        applied: Applied::default(),
    };
    // The cluster manager's hold and the steps it spans (first, last).
    let held = plan.hold.as_ref().zip(plan.held_steps());
    for (index, step) in plan.steps.iter().enumerate() {
        let fail = |error, applied| {
            Err(Box::new(Failed {
                step: step.name,
                error,
                rescue: None,
                applied,
            }))
        };
        if let Some((hold, _)) = held.filter(|(_, (first, _))| *first == index) {
            if let Err(error) = manager_hold(hosts, hold, &hold.begin, reporter) {
                // Half begun (maintenance on, never settled): put it back.
                end_hold_after_failure(hosts, hold, reporter);
                return fail(error, executor.applied);
            }
        }
        let result = executor.step(hosts, journals, step, replicating);
        // The hold ends after its last step, or at a failure once the
        // rescue put things back: the manager resumes on a settled pair.
        let holding = held
            .filter(|(_, (first, last))| (*first..=*last).contains(&index))
            .map(|(hold, _)| hold);
        if let (Ok(()), Some(hold)) = (&result, holding) {
            if held.is_some_and(|(_, (_, last))| last == index) {
                if let Err(error) = manager_hold(hosts, hold, &hold.end, reporter) {
                    return fail(error, executor.applied);
                }
            }
        }
        if let Err(error) = result {
            let rescue = plan.rescues.iter().find(|rescue| {
                let at = |name: &str| plan.steps.iter().position(|s| s.name == name);
                matches!((at(rescue.first), at(rescue.last)), (Some(first), Some(last)) if first <= index && index <= last)
            });
            let rescue = rescue.map(|rescue| {
                let mut problems = Vec::new();
                for item in &rescue.changes {
                    let due = item
                        .once
                        .is_none_or(|step| executor.applied.finished_at(step).is_some());
                    if !due {
                        continue;
                    }
                    if let Err(err) = executor.change(hosts, journals, item.side, &item.change) {
                        problems.push(err.to_string());
                    }
                }
                problems
            });
            if let Some(hold) = holding {
                end_hold_after_failure(hosts, hold, reporter);
            }
            return Err(Box::new(Failed {
                step: step.name,
                error,
                rescue,
                applied: executor.applied,
            }));
        }
        executor.applied.finished.push((step.name, Instant::now()));
    }
    executor.applied.snapshot = executor.snapshot.or(executor.consumed_snapshot);
    Ok(executor.applied)
}

struct Executor<'r> {
    reporter: &'r dyn Reporter,
    run_id: &'r str,
    snapshot: Option<Position>,
    /// The last copy's position once replication started from it.
    consumed_snapshot: Option<Position>,
    /// A copy counts as finished once replication runs from its position.
    seeded: Vec<String>,
    applied: Applied,
}

/// A value read at run time goes into SQL text: only GTID characters.
fn gtid_text(value: &str) -> Result<&str> {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | ',' | ' '))
    {
        Ok(value)
    } else {
        Err(Error::Internal(format!(
            "`{value}` read at run time is not a GTID position"
        )))
    }
}

impl Executor<'_> {
    fn note(&self, message: String) {
        self.reporter.event(Event::Note { message });
    }

    /// The value read into `placeholder` (the snapshot's GTIDs for
    /// SNAPSHOT_PLACEHOLDER).
    fn value(&self, placeholder: &str) -> Result<String> {
        if placeholder == SNAPSHOT_PLACEHOLDER {
            return match self.snapshot.as_ref().or(self.consumed_snapshot.as_ref()) {
                Some(Position::MariaDbGtid(gtids)) | Some(Position::MySqlGtidSet(gtids)) => {
                    Ok(gtids.replace('\n', ""))
                }
                other => Err(Error::Internal(format!(
                    "the copy carries no GTID position ({other:?}): this operation needs GTIDs"
                ))),
            };
        }
        self.applied
            .found(placeholder)
            .map(str::to_string)
            .ok_or_else(|| Error::Internal(format!("{placeholder} was not read before it is used")))
    }

    /// The statement with the values read at run time in place of their
    /// placeholders.
    fn fill(&self, statement: &super::statement::Statement) -> Result<super::statement::Statement> {
        let mut filled = statement.clone();
        let mut names: Vec<String> = self.applied.found.iter().map(|(n, _)| n.clone()).collect();
        names.push(SNAPSHOT_PLACEHOLDER.to_string());
        for name in names {
            if filled.real.contains(&name) {
                let value = self.value(&name)?;
                let value = gtid_text(&value)?;
                filled.real = filled.real.replace(&name, value);
                filled.shown = filled.shown.replace(&name, value);
            }
        }
        Ok(filled)
    }

    fn step(
        &mut self,
        hosts: &mut dyn Hosts,
        journals: &mut Journals,
        step: &super::plan::StepPlan,
        replicating: &mut dyn FnMut(&mut Pair) -> Result<()>,
    ) -> Result<()> {
        // A safe point, unless a seed's position still waits for the step
        // that starts replication at it.
        if self.snapshot.is_none() && self.reporter.stop_requested() {
            return Err(Error::Aborted(format!(
                "stopped on request before `{}`",
                step.name
            )));
        }
        self.reporter.event(Event::StepStarted {
            step: step.name.into(),
        });
        if step.unchanged() {
            self.reporter.event(Event::StepFinished {
                step: step.name.into(),
                changed: false,
                summary: step
                    .summary
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "already in place".into()),
            });
            if step.name == super::plan::START_REPLICATION {
                as_seen_by(hosts.pair()?, step.side, |pair| replicating(pair))?;
            }
            return Ok(());
        }
        // New certificates touch both nodes and both journals at once.
        if let [Change::Certificates(certs)] = step.changes.as_slice() {
            hold_daemons(hosts, self.run_id)?;
            let applied = super::tls_step::apply(hosts.pair()?, journals, certs);
            release_daemons(hosts);
            let summary = applied?;
            self.reporter.event(Event::StepFinished {
                step: step.name.into(),
                changed: true,
                summary,
            });
            return Ok(());
        }
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
        backup::check_edits(
            hosts.access(step.side)?.0.node(),
            journals.of(step.side)?,
            &edits,
        )?;
        let mut summary = String::new();
        for change in &step.changes {
            summary = self.change(hosts, journals, step.side, change)?;
        }
        self.reporter.event(Event::StepFinished {
            step: step.name.into(),
            changed: true,
            summary,
        });
        if step.name == super::plan::START_REPLICATION {
            as_seen_by(hosts.pair()?, step.side, |pair| replicating(pair))?;
        }
        Ok(())
    }

    /// Applies one change on `side`; returns the step's summary so far.
    fn change(
        &mut self,
        hosts: &mut dyn Hosts,
        journals: &mut Journals,
        side: super::plan::Side,
        change: &Change,
    ) -> Result<String> {
        let journal = journals.of(side)?;
        Ok(match change {
            Change::File(edit) => {
                backup::apply_file_edit(hosts.access(side)?.0.node(), journal, edit)?;
                "files changed".into()
            }
            Change::WriteFile(file) => {
                let (access, label) = hosts.access(side)?;
                write_file(access, label, journal, file)?;
                "files written".into()
            }
            Change::CopyFile(copy) => {
                let size = copy_file(hosts, side, journal, copy)?;
                let line = format!(
                    "copied {} ({}) from {} to {}:{}",
                    copy.what,
                    super::plan::human_bytes(size as u64),
                    hosts.access(copy.from)?.1,
                    hosts.access(side)?.1,
                    copy.path.display()
                );
                self.note(line.clone());
                line
            }
            Change::Command { argv, effects, .. } => {
                let (access, label) = hosts.access(side)?;
                // Before it runs: a run killed during the command still
                // has its undo.
                for effect in effects {
                    journal.record(
                        access.node(),
                        JournalEntry::Effect {
                            effect: effect.clone(),
                        },
                    )?;
                }
                run_command(access, label, journal, argv)?;
                "done".into()
            }
            Change::RestartServer { argv } => {
                hold_daemons(hosts, self.run_id)?;
                let restarted =
                    restart_or_restore(hosts.member(side)?, journal, argv, self.reporter);
                release_daemons(hosts);
                restarted?;
                if side == super::plan::Side::Master {
                    super::replica::reconnect_slaves(hosts.pair()?, journals)?;
                }
                "configuration changed and server restarted".into()
            }
            Change::Sql(statement) => {
                let filled = self.fill(statement)?;
                let member = hosts.member(side)?;
                if filled.shown != statement.shown {
                    self.note(format!("{}: sql: {}", member.label(), filled.shown));
                }
                super::statement::run(member, journal, &filled)?;
                "done".into()
            }
            Change::Seed { copy } => {
                let (master, slave) = master_and_slave(hosts.pair()?, side)?;
                journal.record(
                    slave.access.node(),
                    JournalEntry::SeedStarted {
                        databases: copy.databases.clone(),
                        source: master.label().to_string(),
                    },
                )?;
                let result = seed::run(master, slave, journal, copy, self.reporter)?;
                self.seeded = copy.databases.clone();
                let summary = format!(
                    "copied {} in {:.1} s ({}), step done in {:.1} s, snapshot at {}; {}",
                    super::plan::human_bytes(result.bytes),
                    result.copy_seconds,
                    copy.method.name(),
                    result.seconds,
                    position_text(&result.position),
                    result.verified
                );
                self.snapshot = Some(result.position);
                summary
            }
            Change::AddDatabases {
                databases,
                all,
                copy,
                replace,
                ..
            } => {
                let reporter = self.reporter;
                let added = as_seen_by(hosts.pair()?, side, |pair| {
                    super::add_databases::run(
                        pair, journal, databases, all, copy, *replace, reporter,
                    )
                })?;
                format!(
                    "copied {} in {:.1} s at {}; the slave replicates {}",
                    super::plan::human_bytes(added.bytes),
                    added.seconds,
                    added.position,
                    all.join(", ")
                )
            }
            Change::Certificates(_) => {
                return Err(Error::Internal(
                    "certificates are a step of their own".to_string(),
                ))
            }
            Change::StartReplication { statements } => {
                // Taken: a second slave's start waits for its own copy, and
                // a stop request is honoured again at the next safe point.
                let taken = self.snapshot.take();
                if taken.is_some() {
                    self.consumed_snapshot = taken.clone();
                }
                let (master, slave) = master_and_slave(hosts.pair()?, side)?;
                let position = match taken {
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
                let label = master.label().to_string();
                self.record_seeded(hosts, side, journal)?;
                format!("replicating from {label} at {position}")
            }
            Change::ClusterDaemon { argv, start } => {
                let member = hosts.member(side)?;
                // A note, not a command: rollback replays no daemon control
                // of an operation (it reads installs from Command lines).
                journal.record(
                    member.access.node(),
                    JournalEntry::Note {
                        text: format!("cluster daemon: {}", argv.join(" ")),
                    },
                )?;
                super::cluster_daemon::control(member, argv)?;
                let verb = if *start { "started" } else { "stopped" };
                self.note(format!("{}: cluster daemon {verb}", member.label()));
                format!("cluster daemon {verb}")
            }
            Change::TermState(state) => {
                let member = hosts.member(side)?;
                journal.record(
                    member.access.node(),
                    JournalEntry::Note {
                        text: format!("term state: {} of term {}", state.role.name(), state.term),
                    },
                )?;
                super::cluster_daemon::write_term_state(member, state)?;
                format!("{} of term {}", state.role.name(), state.term)
            }
            Change::ReadGtids { query, placeholder } => {
                let member = hosts.member(side)?;
                let value = member
                    .sql()
                    .scalar(query)?
                    .unwrap_or_default()
                    .replace('\n', "");
                self.note(format!(
                    "{}: {placeholder} = {}",
                    member.label(),
                    or_none(&value)
                ));
                self.applied.found.retain(|(name, _)| name != placeholder);
                self.applied
                    .found
                    .push((placeholder.clone(), value.clone()));
                format!("read {}", or_none(&value))
            }
            Change::WaitApplied {
                placeholder,
                limit,
                flavor,
            } => {
                let value = self.value(placeholder)?;
                let member = hosts.member(side)?;
                let (query, done) = flavor.wait_for_gtids(&value, limit.as_secs_f64());
                let answer = member.sql().scalar(&query)?;
                if answer.as_deref() != Some(done) {
                    return Err(Error::Verify {
                        node: member.label().to_string(),
                        message: format!(
                            "did not apply up to {value} within {} s",
                            limit.as_secs()
                        ),
                    });
                }
                let message = format!(
                    "{} applied everything up to {}",
                    member.label(),
                    or_none(&value)
                );
                self.note(message.clone());
                message
            }
            Change::MoveAddress {
                cidr,
                device,
                announce,
                from,
            } => {
                let (from_access, from_label) = hosts.access(*from)?;
                let (to_access, to_label) = hosts.access(side)?;
                journal.record(
                    to_access.node(),
                    JournalEntry::Note {
                        text: format!(
                            "cluster address {cidr} moves from {from_label} to {to_label}"
                        ),
                    },
                )?;
                let del = [crate::privileged::IP, "addr", "del", cidr, "dev", device];
                let add = [crate::privileged::IP, "addr", "add", cidr, "dev", device];
                from_access.run_checked(&del, None)?;
                if let Err(err) = to_access.run_checked(&add, None) {
                    let _ = from_access.run_checked(&add, None);
                    return Err(err);
                }
                self.applied.address_moved_at = Some(Instant::now());
                // A planned move leaves the clients' neighbour caches
                // pointing at the old holder, which is alive.
                if *announce {
                    let address = cidr.split('/').next().unwrap_or(cidr);
                    let arp = [
                        crate::privileged::ARPING,
                        "-U",
                        "-c",
                        crate::privileged::ARP_COUNT,
                        "-I",
                        device,
                        address,
                    ];
                    if let Err(err) = to_access.run_checked(&arp, None) {
                        self.note(format!("gratuitous ARP failed (clients learn the move when their cache expires): {err}"));
                    }
                }
                format!("{to_label} holds {cidr}")
            }
            Change::KeepAside { name, text, what } => {
                let path = journal.dir.join(name);
                let (access, label) = hosts.access(side)?;
                // Not a file change: rollback leaves the administrator's copy.
                journal.record(
                    access.node(),
                    JournalEntry::Note {
                        text: format!("kept aside: {} ({what})", path.display()),
                    },
                )?;
                access
                    .node()
                    .write_atomic(&path, text.as_bytes(), 0o600, 0, 0)?;
                let path = path.to_string_lossy().into_owned();
                self.note(format!("saved on {label}: {path}"));
                self.applied.kept.push(path.clone());
                format!("saved {path}")
            }
            Change::WaitPacemaker {
                promoted,
                address,
                slaves,
                limit,
            } => {
                let wanted = super::crm::Wanted {
                    promoted,
                    address: *address,
                    slaves,
                };
                super::crm::wait_for(hosts.access(side)?.0.node(), &wanted, *limit)?
            }
            Change::AdoptSnapshot { flavor } => {
                let gtids = self.value(SNAPSHOT_PLACEHOLDER)?;
                let member = hosts.member(side)?;
                for sql in flavor.adopt_snapshot_gtids(gtid_text(&gtids)?) {
                    self.note(format!("{}: sql: {sql}", member.label()));
                    super::statement::run(
                        member,
                        journal,
                        &super::statement::Statement::plain(sql),
                    )?;
                }
                format!("history of the copy: {}", or_none(&gtids))
            }
            Change::WaitReplicating {
                source,
                limit,
                otherwise,
            } => {
                let label = hosts.member(side)?.label().to_string();
                if let Err(stopped) = super::verify::wait_replicating(hosts.member(side)?, *limit)?
                {
                    let cannot_continue = stopped.as_ref().is_some_and(|r| {
                        r.last_io_errno.as_deref() == Some(ER_MASTER_FATAL_ERROR_READING_BINLOG)
                    });
                    if otherwise.is_empty() || !cannot_continue {
                        return Err(Error::Verify {
                            node: label,
                            message: format!(
                                "replication from {source} did not start: {}",
                                super::server_state::describe_replica(&stopped)
                            ),
                        });
                    }
                    self.note(format!(
                        "{source} cannot continue the history of {label} ({}): the databases are copied again",
                        super::server_state::describe_replica(&stopped)
                    ));
                    for change in otherwise {
                        self.change(hosts, journals, side, change)?;
                    }
                    if let Err(stopped) =
                        super::verify::wait_replicating(hosts.member(side)?, *limit)?
                    {
                        return Err(Error::Verify {
                            node: label,
                            message: format!(
                                "replication from {source} did not start after the copy: {}",
                                super::server_state::describe_replica(&stopped)
                            ),
                        });
                    }
                }
                self.record_seeded(hosts, side, journals.of(side)?)?;
                let message = format!("{label} replicates from {source}");
                self.note(message.clone());
                message
            }
            Change::Check(super::plan::Check::RowsArrive { databases }) => {
                let pair = hosts.pair()?;
                let verified = super::verify::run(pair, databases)?;
                for (db, seconds) in &verified.canary_seconds {
                    let line = format!(
                        "a row written in {db} on {} reached {} in {seconds:.2} s",
                        pair.master.label(),
                        pair.slave.label()
                    );
                    self.note(line.clone());
                    self.applied.proved.push(line);
                }
                "rows arrived".into()
            }
            Change::Check(super::plan::Check::WriteThroughAddress) => {
                let line = super::verify::write_through_address(hosts.member(side)?)?;
                self.note(line.clone());
                self.applied.proved.push(line.clone());
                line
            }
            Change::Check(super::plan::Check::DaemonsHealthy) => {
                self.applied.daemons = super::cluster_daemon::wait_healthy(hosts.pair()?)?;
                "both daemons healthy".into()
            }
            Change::RestoreFiles { .. } => {
                let (access, label) = hosts.access(side)?;
                let lines = super::undo_effects::restore_files(access.node(), journal)?;
                let summary = format!("{} file(s) put back on {label}", lines.len());
                for line in lines {
                    self.note(line);
                }
                summary
            }
            Change::UndoSql { undone, statements } => {
                let line = super::undo_effects::undo_sql(
                    hosts.member(side)?,
                    journal,
                    undone,
                    statements,
                )?;
                self.note(line.clone());
                line
            }
            Change::UninstallPlugin { undone, plugin } => {
                let line = super::undo_effects::uninstall_plugin(
                    hosts.member(side)?,
                    journal,
                    undone,
                    plugin,
                )?;
                self.note(line.clone());
                line
            }
            Change::Service {
                argv,
                done,
                required,
                wait_server,
                ..
            } => {
                // A server restart: the daemons of a pair that run (a
                // rollback of a run that did not install them) hold still.
                if *wait_server {
                    hold_daemons(hosts, self.run_id)?;
                }
                let ran = service_change(hosts, side, journal, argv, done, *required, *wait_server);
                if *wait_server {
                    release_daemons(hosts);
                }
                let line = ran?;
                self.note(line.clone());
                line
            }
            Change::ReleaseAddress { cidr, device } => {
                let (access, _) = hosts.access(side)?;
                let line =
                    super::undo_effects::release_address(access.node(), journal, cidr, device)?;
                self.note(line.clone());
                line
            }
            Change::DatadirBack { datadir, before } => {
                let (access, _) = hosts.access(side)?;
                let line =
                    super::undo_effects::datadir_back(access.node(), journal, datadir, before)?;
                self.note(line.clone());
                line
            }
            Change::ReloadCertificates => {
                let line = super::undo_effects::reload_certificates(hosts.member(side)?)?;
                self.note(line.clone());
                line
            }
        })
    }

    /// Once replication runs from a copy's position, the copy is finished.
    fn record_seeded(
        &mut self,
        hosts: &mut dyn Hosts,
        side: Side,
        journal: &mut Journal,
    ) -> Result<()> {
        if self.seeded.is_empty() {
            return Ok(());
        }
        let (master, slave) = master_and_slave(hosts.pair()?, side)?;
        journal.record(
            slave.access.node(),
            JournalEntry::SeedFinished {
                databases: self.seeded.clone(),
                source: master.label().to_string(),
            },
        )?;
        self.seeded.clear();
        Ok(())
    }
}

/// Runs a service command of a plan (see `Change::Service`), journaled;
/// returns the log's line for it.
fn service_change(
    hosts: &mut dyn Hosts,
    side: Side,
    journal: &mut Journal,
    argv: &[String],
    done: &str,
    required: bool,
    wait_server: bool,
) -> Result<String> {
    let (access, label) = hosts.access(side)?;
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = crate::node::run_service(access.node(), &refs)?;
    super::journals::record_command(access, label, journal, argv, out.success())?;
    if out.success() {
        if wait_server {
            wait_for_server(hosts.member(side)?)?;
        }
        return Ok(format!("{done}: {}", argv.join(" ")));
    }
    if required {
        return out.checked(label, &refs).map(|_| String::new());
    }
    Ok(format!(
        "tried: {} ({})",
        argv.join(" "),
        crate::error::stderr_detail(&[out.stdout, out.stderr].concat())
    ))
}

/// MariaDB: the master's binary log lacks what the replica asks for.
const ER_MASTER_FATAL_ERROR_READING_BINLOG: &str = "1236";

fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "(none)"
    } else {
        text
    }
}
