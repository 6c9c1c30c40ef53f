//! `mysql-ha rollback [RUN_ID]`: list the runs, or undo one on this machine
//! (or on both nodes of an answers file): its files, the accounts and
//! replication it set up, then a restart so the server reads the restored
//! configuration.

use std::path::{Path, PathBuf};

use crate::answers::{ClusterAnswers, NodeAnswers};
use crate::backup::{self, Journal, JournalEntry, UndoStatement};
use crate::cli::RollbackArgs;
use crate::node::{LocalNode, Node};
use crate::operation::pair::Member;
use crate::operation::plan::Side;
use crate::{Error, Result};

pub fn run(args: RollbackArgs) -> Result<()> {
    let all_answers = match &args.answers {
        Some(path) => Some(super::setup::read_answers(path)?),
        None => None,
    };
    let (targets, cluster): (Vec<(Side, NodeAnswers)>, Option<ClusterAnswers>) = match &all_answers
    {
        Some(answers) => {
            let mut targets = vec![
                (Side::Master, answers.master.clone()),
                (Side::Slave, answers.slave.clone()),
            ];
            if answers.has_slave2() {
                targets.push((Side::Slave2, answers.slave2.clone()));
            }
            (targets, Some(answers.cluster.clone()))
        }
        None => (Vec::new(), None),
    };
    let mut text = String::new();
    if targets.is_empty() {
        // This machine's server when it answers; else (or for a tree) files only.
        let member = match (&args.root, &args.run_id) {
            (None, Some(_)) => local_member().ok(),
            _ => None,
        };
        match member {
            Some(member) => {
                let Some(run_id) = &args.run_id else {
                    print!("{}", on_member(member, &args)?);
                    return Ok(());
                };
                let node = member.access.node();
                let Some(journal) = journal_if_any(node, run_id)? else {
                    if node.stat(&Journal::run_dir(run_id))?.is_some() {
                        println!(
                            "run {run_id} recorded no change on this node (it stopped before its first change here): nothing to undo"
                        );
                        return Ok(());
                    }
                    return Err(Error::RunNotFound {
                        node: node.label().to_string(),
                        run_id: run_id.clone(),
                        runs_dir: PathBuf::from(backup::RUNS_DIR),
                    });
                };
                check_restorable(node, &journal, args.force)?;
                let mut member = member;
                let plan = preview(&journal, Some(&member.profile));
                if !approve(&args, run_id, &format!("on {}:\n{plan}", member.label()))? {
                    return Ok(());
                }
                let node = member.access.node();
                let path = PathBuf::from(crate::run_lock::LOCK_PATH);
                let lock = crate::run_lock::RunLock::acquire_undoing(
                    &[(member.label(), node, path)],
                    crate::run_lock::Owner::this_process(run_id, "rollback"),
                    Some(run_id),
                )?;
                let done = stop_daemon(&member, &journal, None).and_then(|stopped| {
                    Ok(stopped + &undo_member(&mut member, run_id, args.force)?)
                });
                lock.release(&[(member.label(), member.access.node())]);
                text.push_str(&done?);
            }
            None => {
                let node = match &args.root {
                    Some(root) => LocalNode::with_root(root),
                    None => LocalNode::new(),
                };
                text.push_str(&files_only(&node, &args)?);
                if let (None, Some(run_id)) = (&args.root, &args.run_id) {
                    text.push_str(&start_server_the_run_stopped(&node, run_id)?);
                }
            }
        }
    } else {
        let mut members = Vec::new();
        for (side, answers) in targets {
            // Not connect_for_change: the run lock may be the undone run's own
            // (killed), which acquire_undoing below takes over.
            members.push((side, Member::connect(side, &answers, None)?));
        }
        // The witness's files are checked with the nodes', before any change.
        let witness = match (&all_answers, &args.run_id) {
            (Some(answers), Some(run_id)) => {
                crate::operation::pair::WitnessHost::connect(answers)?.map(|w| (w, run_id.clone()))
            }
            _ => None,
        };
        let mut witness_plan = String::new();
        if let Some((witness, run_id)) = &witness {
            if let Some(journal) = journal_if_any(witness.access.node(), run_id)? {
                check_restorable(witness.access.node(), &journal, args.force)?;
                witness_plan = format!("on {} (witness):\n", witness.host);
                let ran_before = existed_before(&journal, crate::vote::witness::CONFIG_PATH);
                witness_plan.push_str(if ran_before {
                    "  stop the witness service (it ran before this run)\n"
                } else {
                    "  stop and unregister the witness service\n"
                });
                for line in file_restores(&journal).1 {
                    witness_plan.push_str(&format!("  {line}\n"));
                }
                if let Some(db) = certificate_db_made(&journal) {
                    witness_plan.push_str(&format!("  {}\n", certificate_db_line(db)));
                }
                if ran_before {
                    witness_plan.push_str("  start the witness service again\n");
                }
            }
        }
        let Some(done) = on_both(members, &args, cluster.as_ref(), &witness_plan)? else {
            return Ok(());
        };
        text.push_str(&done);
        if let Some((witness, run_id)) = &witness {
            text.push_str(&on_witness(witness, run_id, args.force)?);
        }
    }
    print!("{text}");
    Ok(())
}

/// Undoes what the run installed on the witness host: its service stops and
/// is unregistered, then its files go back (or away, when the run made them).
fn on_witness(
    witness: &crate::operation::pair::WitnessHost,
    run_id: &str,
    force: bool,
) -> Result<String> {
    let node = witness.access.node();
    // A witness the run did not touch has no journal of it.
    let Ok(journal) = Journal::open(node, run_id) else {
        return Ok(String::new());
    };
    let mut text = format!("on {} (witness):\n", witness.host);
    let started = journal.records().iter().any(|r| {
        matches!(&r.entry, JournalEntry::Command { argv, .. }
            if argv.iter().any(|a| a.contains(crate::setup::witness::SERVICE)))
    });
    // A re-run's witness ran before it: stopped for the undo, started again
    // with its own configuration after it, and registered still.
    let ran_before = existed_before(&journal, crate::vote::witness::CONFIG_PATH);
    let systemd = node
        .stat(Path::new(crate::setup::witness::SYSTEMD_UNIT))?
        .is_some();
    if started && ran_before {
        let stop: Vec<&str> = if systemd {
            vec!["systemctl", "stop", "mysql-ha-witness.service"]
        } else {
            vec![crate::setup::witness::INIT_SCRIPT, "stop"]
        };
        text.push_str(&run_undo(node, &[stop])?);
    } else if started {
        let undo: Vec<Vec<&str>> = if systemd {
            vec![
                vec!["systemctl", "stop", "mysql-ha-witness.service"],
                vec!["systemctl", "disable", "mysql-ha-witness.service"],
            ]
        } else {
            vec![
                vec![crate::setup::witness::INIT_SCRIPT, "stop"],
                vec![
                    "update-rc.d",
                    "-f",
                    crate::setup::witness::SERVICE,
                    "remove",
                ],
            ]
        };
        text.push_str(&run_undo(node, &undo)?);
    }
    if ran_service(&journal, "corosync-qnetd") {
        let systemd = node.stat(Path::new("/run/systemd/system"))?.is_some();
        let undo: Vec<Vec<&str>> = if systemd {
            vec![vec![
                "systemctl",
                "disable",
                "--now",
                "corosync-qnetd.service",
            ]]
        } else {
            vec![
                vec!["/etc/init.d/corosync-qnetd", "stop"],
                vec!["update-rc.d", "corosync-qnetd", "disable"],
            ]
        };
        text.push_str(&run_undo(node, &undo)?);
    }
    let (restored, _, _) = restore_files(node, run_id, force)?;
    text.push_str(&restored);
    text.push_str(&remove_certificate_db(node, &journal)?);
    if started && ran_before {
        let start: Vec<&str> = if systemd {
            vec!["systemctl", "start", "mysql-ha-witness.service"]
        } else {
            vec![crate::setup::witness::INIT_SCRIPT, "start"]
        };
        let out = crate::node::run_service(node, &start)?;
        text.push_str(&format!(
            "{} the witness, which ran before this run: {}\n",
            if out.success() {
                "started"
            } else {
                "could not start"
            },
            start.join(" ")
        ));
    }
    Ok(text)
}

/// What undoing the run does on one node, from its journal, as it is shown
/// before any change (`--dry-run`, or the question without `--yes`).
/// `server`: the node's profile when its server answers (else only its
/// files are undone).
fn preview(journal: &Journal, server: Option<&crate::profile::Profile>) -> String {
    let mut lines: Vec<String> = daemon_stop_commands(journal)
        .iter()
        .map(|argv| format!("run: {}", argv.join(" ")))
        .collect();
    if ran_command(journal, "pacemaker") {
        lines.push(
            "stop the Pacemaker cluster the run started: maintenance mode first (the servers keep running), then pacemaker, corosync-qdevice and corosync stopped and off boot, the stored cluster configuration removed, the cluster address released, the server's boot link back".into(),
        );
    }
    let (files, file_lines) = file_restores(journal);
    lines.extend(file_lines);
    if let Some(db) = certificate_db_made(journal) {
        lines.push(certificate_db_line(db));
    }
    match server {
        Some(profile) => {
            let sql = sql_undo_plan(journal);
            for (statement, undo) in &sql.undone {
                lines.push(format!("undo: {statement}  (by {})", shown(undo)));
            }
            for (statement, plugin) in &sql.uninstall {
                lines.push(format!(
                    "undo: {statement}  (by {})",
                    uninstall_statements(plugin).join("; ")
                ));
            }
            for statement in &sql.kept {
                lines.push(format!("not undone: {statement}"));
            }
            if let Some((datadir, before)) = replaced_datadir(journal) {
                lines.push(format!(
                    "move the server's own datadir {} back to {} (the copy is set aside) and restart it",
                    before.display(),
                    datadir.display()
                ));
            } else if files.iter().any(|p| is_server_option_file(p)) {
                lines.push(format!(
                    "run: {}    # the server reads the restored configuration",
                    profile.service.restart.join(" ")
                ));
            } else if files
                .iter()
                .any(|p| p.starts_with(crate::tls::GENERATED_DIR))
            {
                lines.push("the server reloads the restored certificates".into());
            }
        }
        None => {
            let rest = not_undone(journal);
            if !rest.is_empty() {
                lines.push(rest.trim_end().to_string());
            }
        }
    }
    if let Some(start) = daemon_restart_command(journal) {
        lines.push(format!(
            "run: {}    # last, on both nodes: the cluster daemon ran before this run",
            start.join(" ")
        ));
    }
    if lines.is_empty() {
        return "  nothing recorded to undo\n".into();
    }
    lines.iter().map(|l| format!("  {l}\n")).collect()
}

/// The files a rollback puts back or removes (not those an earlier pass
/// put back already), with the plan's line for each.
fn file_restores(journal: &Journal) -> (Vec<PathBuf>, Vec<String>) {
    let records = journal.records();
    let restored_already = |path: &PathBuf| {
        records
            .iter()
            .any(|r| matches!(&r.entry, JournalEntry::FileRestored { path: p, .. } if p == path))
    };
    let mut files: Vec<PathBuf> = Vec::new();
    let mut lines = Vec::new();
    for record in records.iter().rev() {
        if let JournalEntry::FileBackedUp { path, existed, .. } = &record.entry {
            if files.contains(path) || restored_already(path) {
                continue;
            }
            files.push(path.clone());
            lines.push(if *existed {
                format!("put back {}", path.display())
            } else {
                format!("remove {} (the run created it)", path.display())
            });
        }
    }
    (files, lines)
}

/// Shows the undo plan; with `--dry-run` stops there, without `--yes` asks
/// (on a terminal only). Ok(false): nothing is to change.
fn approve(args: &RollbackArgs, run_id: &str, plan: &str) -> Result<bool> {
    println!("Undo of run {run_id}:\n{plan}");
    if args.dry_run {
        println!("dry run: nothing was changed");
        return Ok(false);
    }
    if args.yes {
        return Ok(true);
    }
    if super::confirm::confirm(&format!("Undo run {run_id}?"))? {
        Ok(true)
    } else {
        Err(Error::Aborted("not undone; nothing was changed".into()))
    }
}

/// A run's journal on a node, or None when the run left none there (killed
/// before its first change on that node: its folder may exist, empty).
fn journal_if_any(node: &dyn Node, run_id: &str) -> Result<Option<Journal>> {
    match Journal::open(node, run_id) {
        Ok(journal) => Ok(Some(journal)),
        Err(Error::RunNotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The two-node form: every check on both nodes before anything changes
/// (a refusal on the slave must not find the master half undone), under
/// the cluster's run lock; then both daemons stop, then each node is undone.
/// Ok(None): shown only (`--dry-run`), nothing changed.
fn on_both(
    members: Vec<(Side, Member)>,
    args: &RollbackArgs,
    cluster: Option<&ClusterAnswers>,
    witness_plan: &str,
) -> Result<Option<String>> {
    let mut text = String::new();
    let Some(run_id) = &args.run_id else {
        for (side, member) in members {
            text.push_str(&format!("on {} ({}):\n", member.label(), side.name()));
            text.push_str(&list_runs(member.access.node())?);
        }
        return Ok(Some(text));
    };
    let mut journals = Vec::new();
    for (_, member) in &members {
        let journal = journal_if_any(member.access.node(), run_id)?;
        if let Some(journal) = &journal {
            check_restorable(member.access.node(), journal, args.force)?;
        }
        journals.push(journal);
    }
    if journals.iter().all(Option::is_none) {
        let (_, first) = &members[0];
        // Neither node has a journal: a run id that was never there, or a
        // run killed before its first change anywhere.
        let ran_somewhere = members.iter().any(|(_, m)| {
            m.access
                .node()
                .stat(&Journal::run_dir(run_id))
                .ok()
                .flatten()
                .is_some()
        });
        if !ran_somewhere {
            return Err(Error::RunNotFound {
                node: first.label().to_string(),
                run_id: run_id.clone(),
                runs_dir: PathBuf::from(backup::RUNS_DIR),
            });
        }
        return Ok(Some(format!(
            "run {run_id} recorded no change on either node (it stopped before its first change): nothing to undo\n"
        )));
    }
    let mut plan = String::new();
    let mut members = members;
    for ((side, member), journal) in members.iter_mut().zip(&journals) {
        plan.push_str(&format!("on {} ({}):\n", member.label(), side.name()));
        match journal {
            Some(journal) => plan.push_str(&preview(journal, Some(&member.profile))),
            None => plan.push_str("  nothing: the run recorded no change here\n"),
        }
    }
    plan.push_str(witness_plan);
    if !approve(args, run_id, &plan)? {
        return Ok(None);
    }
    let lock = {
        let locked: Vec<(&str, &dyn Node, PathBuf)> = members
            .iter()
            .map(|(_, m)| {
                (
                    m.label(),
                    m.access.node(),
                    PathBuf::from(crate::run_lock::LOCK_PATH),
                )
            })
            .collect();
        crate::run_lock::RunLock::acquire_undoing(
            &locked,
            crate::run_lock::Owner::this_process(run_id, "rollback"),
            Some(run_id),
        )?
    };
    let result = undo_both(&mut members, &journals, args, cluster);
    let nodes: Vec<(&str, &dyn Node)> = members
        .iter()
        .map(|(_, m)| (m.label(), m.access.node()))
        .collect();
    lock.release(&nodes);
    text.push_str(&result?);
    Ok(Some(text))
}

fn undo_both(
    members: &mut [(Side, Member)],
    journals: &[Option<Journal>],
    args: &RollbackArgs,
    cluster: Option<&ClusterAnswers>,
) -> Result<String> {
    // Both daemons stop before anything changes, so neither reacts to the
    // other node's restart by restarting, fencing or taking over.
    let mut stopped = Vec::new();
    for ((_, member), journal) in members.iter().zip(journals) {
        stopped.push(match journal {
            Some(journal) => stop_daemon(member, journal, cluster)?,
            None => String::new(),
        });
    }
    // Pacemaker, when the run handed the pair to it: maintenance mode
    // first (cluster-wide), so stopping it leaves the servers running.
    for ((_, member), (journal, stopped)) in
        members.iter().zip(journals.iter().zip(stopped.iter_mut()))
    {
        if let Some(journal) = journal {
            stopped.push_str(&stop_pacemaker(member, journal)?);
        }
    }
    let mut text = String::new();
    let run_id = args.run_id.clone().unwrap_or_default();
    for (((side, member), journal), stopped) in members.iter_mut().zip(journals).zip(stopped) {
        text.push_str(&format!("on {} ({}):\n", member.label(), side.name()));
        if journal.is_none() {
            text.push_str(&format!(
                "run {run_id} recorded no change here (it stopped before its first change on this node)\n"
            ));
            continue;
        }
        text.push_str(&stopped);
        text.push_str(&undo_member(member, &run_id, args.force)?);
    }
    // Both servers are as they were before the run: the daemons that ran
    // then run again.
    for ((_, member), journal) in members.iter().zip(journals) {
        if let Some(start) = journal.as_ref().and_then(daemon_restart_command) {
            let out = crate::node::run_service(member.access.node(), &start)?;
            text.push_str(&format!(
                "on {}: {} the cluster daemon, which ran before this run: {}\n",
                member.label(),
                if out.success() {
                    "started"
                } else {
                    "could not start"
                },
                start.join(" ")
            ));
        }
    }
    Ok(text)
}

/// This machine's server, reached through its socket as root.
fn local_member() -> Result<Member> {
    let answers = NodeAnswers {
        host: "localhost".into(),
        ..NodeAnswers::default()
    };
    Member::connect(Side::Master, &answers, None)
}

/// Undoes a run on one node whose daemon is already stopped (its service
/// files are among those restored).
fn on_member(mut member: Member, args: &RollbackArgs) -> Result<String> {
    let Some(run_id) = &args.run_id else {
        return list_runs(member.access.node());
    };
    undo_member(&mut member, run_id, args.force)
}

/// Undoes run `run_id` on one member from its journal alone: refuses
/// (unless `force`) when a later run or a hand edit changed its files, puts
/// them back, runs the journaled undo statements, restarts the server when
/// its option files came back. Public for unit tests over `Access::Fake`.
pub fn undo_member(member: &mut Member, run_id: &str, force: bool) -> Result<String> {
    let (mut text, journal, restored) = restore_files(member.access.node(), run_id, force)?;
    text.push_str(&remove_certificate_db(member.access.node(), &journal)?);
    text.push_str(&undo_server(member, &journal, &restored)?);
    Ok(text)
}

fn files_only(node: &dyn Node, args: &RollbackArgs) -> Result<String> {
    let Some(run_id) = &args.run_id else {
        return list_runs(node);
    };
    let journal = Journal::open(node, run_id)?;
    check_restorable(node, &journal, args.force)?;
    if !approve(
        args,
        run_id,
        &format!("on {}:\n{}", node.label(), preview(&journal, None)),
    )? {
        return Ok(String::new());
    }
    let (mut text, journal, _) = restore_files(node, run_id, args.force)?;
    text.push_str(&not_undone(&journal));
    Ok(text)
}

/// This machine's server does not answer: when the run had stopped it (a
/// physical seed killed part way), the datadir the run replaced comes back
/// (the copy set aside) and the server starts with the restored files.
fn start_server_the_run_stopped(node: &dyn Node, run_id: &str) -> Result<String> {
    let journal = Journal::open(node, run_id)?;
    let profile = crate::profile::detect(node, None)?;
    let stop = &profile.service.stop;
    let ran_stop = journal
        .records()
        .iter()
        .any(|r| matches!(&r.entry, JournalEntry::Command { argv, .. } if argv == stop));
    if !ran_stop {
        return Ok(String::new());
    }
    let mut text = String::new();
    if let Some((datadir, before)) = replaced_datadir(&journal).filter(|(_, b)| b.exists()) {
        let set_aside = swap_datadir_back(node, &datadir, &before)?;
        text.push_str(&format!(
            "undone: {} holds the server's own data again; the seeded copy is in {set_aside}\n",
            datadir.display()
        ));
    }
    let start: Vec<&str> = profile.service.start.iter().map(String::as_str).collect();
    crate::node::run_service_checked(node, &start)?;
    text.push_str(&format!(
        "undone: the run's `{}` (the server was down): started it with the restored files\n",
        stop.join(" ")
    ));
    Ok(text)
}

fn list_runs(node: &dyn Node) -> Result<String> {
    let runs = backup::runs(node)?;
    if runs.is_empty() {
        return Ok(format!(
            "no runs recorded on {} (in {})\n",
            node.label(),
            backup::RUNS_DIR
        ));
    }
    let mut text = format!(
        "runs on {} (undo one with `mysql-ha rollback RUN_ID`):\n",
        node.label()
    );
    for run_id in runs {
        let Ok(journal) = Journal::open(node, &run_id) else {
            text.push_str(&format!(
                "  {run_id}  (no journal: stopped before any change)\n"
            ));
            continue;
        };
        let (mut files, mut sql, mut commands) = (0, 0, 0);
        for record in journal.records() {
            match record.entry {
                JournalEntry::FileChanged { .. } => files += 1,
                JournalEntry::Sql { .. } => sql += 1,
                JournalEntry::Command { .. } => commands += 1,
                _ => {}
            }
        }
        text.push_str(&format!(
            "  {run_id}  {files} file change(s), {sql} SQL statement(s), {commands} command(s)\n"
        ));
    }
    Ok(text)
}

fn changed_paths(journal: &Journal) -> Vec<PathBuf> {
    journal
        .records()
        .iter()
        .filter_map(|r| match &r.entry {
            JournalEntry::FileChanged { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}

/// Everything that would make the rollback of a run on this node refuse:
/// a later run built on its files, or a file changed since (by hand or
/// another tool). Checked on every node before anything changes.
fn check_restorable(node: &dyn Node, journal: &Journal, force: bool) -> Result<()> {
    let run_id = journal.run_id.as_str();
    let paths = changed_paths(journal);
    if !force {
        for later in backup::runs(node)?
            .into_iter()
            .filter(|r| r.as_str() > run_id)
        {
            // A run that stopped before its first change has no journal.
            let Ok(later_journal) = Journal::open(node, &later) else {
                continue;
            };
            // A later run that was itself rolled back no longer builds on it.
            let rolled_back = later_journal
                .records()
                .iter()
                .any(|r| matches!(r.entry, JournalEntry::FileRestored { .. }));
            if rolled_back {
                continue;
            }
            let later_paths = changed_paths(&later_journal);
            if let Some(shared) = paths.iter().find(|p| later_paths.contains(p)) {
                return Err(Error::RollbackRefused {
                    node: node.label().to_string(),
                    message: format!(
                        "run {later} changed {} after run {run_id}, building on it: roll back {later} first, or pass --force to undo {run_id} anyway",
                        shared.display()
                    ),
                });
            }
        }
    }
    if !force {
        // The run's own result must still be what is there: an edit made by
        // hand since then would be lost.
        // A file an earlier pass of this rollback already put back is no
        // hand edit: that pass must not block its own retry.
        let mut last_after: Vec<(PathBuf, String)> = Vec::new();
        for record in journal.records() {
            match &record.entry {
                JournalEntry::FileChanged {
                    path, after_sha256, ..
                } => {
                    last_after.retain(|(p, _)| p != path);
                    last_after.push((path.clone(), after_sha256.clone()));
                }
                JournalEntry::FileRestored { path, .. } => {
                    last_after.retain(|(p, _)| p != path);
                }
                _ => {}
            }
        }
        for (path, after) in last_after {
            let now = node.read(&path)?.map(|bytes| backup::sha256_hex(&bytes));
            if now.as_deref() != Some(after.as_str()) {
                return Err(Error::RollbackRefused {
                    node: node.label().to_string(),
                    message: format!(
                        "{} was changed after run {run_id} (by hand or another tool); rolling back would lose that change: look at it, then pass --force to roll back anyway",
                        path.display()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Puts the run's files back, after making sure no later run built on them.
/// Returns what it did, the journal, and the restored paths.
fn restore_files(
    node: &dyn Node,
    run_id: &str,
    force: bool,
) -> Result<(String, Journal, Vec<PathBuf>)> {
    let journal = Journal::open(node, run_id)?;
    check_restorable(node, &journal, force)?;
    let restored = backup::rollback(node, run_id)?;
    let mut text = String::new();
    for item in &restored {
        if item.changed_since_run {
            text.push_str(&format!(
                "warning: {} was changed after run {run_id}; those later changes are undone too\n",
                item.path.display()
            ));
        }
        if item.removed {
            text.push_str(&format!(
                "removed {} (the run had created it)\n",
                item.path.display()
            ));
        } else {
            text.push_str(&format!("restored {}\n", item.path.display()));
        }
    }
    text.push_str(&format!(
        "run {run_id}: {} file(s) put back on {}\n",
        restored.len(),
        node.label()
    ));
    let paths = restored.iter().map(|r| r.path.clone()).collect();
    Ok((text, journal, paths))
}

/// Whether a path is one of the database server's option files (the run's
/// my.cnf edits), whose restoring needs a restart to take effect.
fn is_server_option_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "cnf")
        || path.starts_with("/etc/mysql")
        || path.file_name().is_some_and(|n| n == "my.cnf")
}

/// The commands that stop and unregister the cluster daemon the run
/// installed (none when it installed none).
fn daemon_stop_commands(journal: &Journal) -> Vec<Vec<&'static str>> {
    let commands: Vec<&Vec<String>> = journal
        .records()
        .iter()
        .filter_map(|r| match &r.entry {
            JournalEntry::Command { argv, .. } => Some(argv),
            _ => None,
        })
        .collect();
    let ran = |word: &str| {
        commands
            .iter()
            .any(|argv| argv.iter().any(|a| a.contains(word)))
    };
    // The daemon's service by its own words (not the witness's, not a path
    // under /etc/ssl/mysql-ha).
    let daemon = commands.iter().any(|argv| {
        argv.iter()
            .any(|a| a == "/etc/init.d/mysql-ha" || a == "mysql-ha.service" || a == "mysql-ha")
    });
    let mut undo: Vec<Vec<&'static str>> = Vec::new();
    if !daemon {
        return undo;
    }
    let systemd = ran("mysql-ha.service");
    undo.push(daemon_service(systemd, "stop"));
    // A re-run's daemon ran before it: stopped for the undo, started again
    // after it, and its boot links stay.
    if daemon_ran_before(journal) {
        return undo;
    }
    if systemd {
        undo.push(vec!["systemctl", "disable", "mysql-ha.service"]);
    }
    if ran("update-rc.d") {
        undo.push(vec!["update-rc.d", "-f", "mysql-ha", "remove"]);
    }
    if ran("chkconfig") {
        undo.push(vec!["chkconfig", "--del", "mysql-ha"]);
    }
    undo
}

fn daemon_service(systemd: bool, verb: &'static str) -> Vec<&'static str> {
    if systemd {
        vec!["systemctl", verb, "mysql-ha.service"]
    } else {
        vec!["/etc/init.d/mysql-ha", verb]
    }
}

/// Whether `path` was there before the run: the run did not create it
/// (it backed up the original, or left the file alone).
fn existed_before(journal: &Journal, path: &str) -> bool {
    !journal.records().iter().any(|r| {
        matches!(&r.entry, JournalEntry::FileBackedUp { path: p, existed: false, .. }
            if p == Path::new(path))
    })
}

/// Whether the cluster daemon was set up before the run (a re-run's): the
/// run did not create its configuration.
fn daemon_ran_before(journal: &Journal) -> bool {
    existed_before(journal, crate::daemon::config::DEFAULT_PATH)
}

/// The command that starts again, once the undo is done, the daemon that
/// ran before the run (none when the run installed it).
fn daemon_restart_command(journal: &Journal) -> Option<Vec<&'static str>> {
    let stops = daemon_stop_commands(journal);
    let systemd = stops.first()?.first() == Some(&"systemctl");
    daemon_ran_before(journal).then(|| daemon_service(systemd, "start"))
}

/// Stops and unregisters the cluster daemon a run started, and releases the
/// cluster address if this node holds it (a stopped daemon keeps it).
fn stop_daemon(
    member: &Member,
    journal: &Journal,
    cluster: Option<&ClusterAnswers>,
) -> Result<String> {
    let undo = daemon_stop_commands(journal);
    if undo.is_empty() {
        return Ok(String::new());
    }
    let node = member.access.node();
    let mut text = run_undo(node, &undo)?;
    if let Some(cluster) = cluster.filter(|c| c.resource == crate::answers::Resource::Vip) {
        text.push_str(&release_address(node, cluster)?);
    }
    Ok(text)
}

/// Whether the run ran a command with `word` in it.
fn ran_command(journal: &Journal, word: &str) -> bool {
    journal.records().iter().any(|r| {
        matches!(&r.entry, JournalEntry::Command { argv, .. }
            if argv.iter().any(|a| a.contains(word)))
    })
}

/// Whether the run started, stopped or registered `service` (its init
/// script, unit or update-rc.d name; not a program whose name begins so).
fn ran_service(journal: &Journal, service: &str) -> bool {
    let names = [
        service.to_string(),
        format!("{service}.service"),
        format!("/etc/init.d/{service}"),
    ];
    journal.records().iter().any(|r| {
        matches!(&r.entry, JournalEntry::Command { argv, .. }
            if argv.iter().any(|a| names.contains(a)))
    })
}

/// The quorum device's certificate database a run made (see
/// setup::pacemaker::qdevice_tls): on a node qdevice's folder (when the
/// run made it) or its database, on the witness the qnetd CA's database.
/// One that was there before the run is not the run's, and stays.
fn certificate_db_made(journal: &Journal) -> Option<&'static str> {
    use crate::setup::pacemaker::qdevice_tls::{NODE_DB, NODE_FOLDER, QNETD_DB};
    let ran = |program: &str, first: &str| {
        journal.records().iter().any(|r| {
            matches!(&r.entry, JournalEntry::Command { argv, .. }
                if argv.first().map(String::as_str) == Some(program)
                    && argv.get(1).map(String::as_str) == Some(first))
        })
    };
    let made_folder = journal.records().iter().any(|r| {
        matches!(&r.entry, JournalEntry::Command { argv, .. }
            if argv.first().map(String::as_str) == Some("install")
                && argv.last().map(String::as_str) == Some(NODE_FOLDER))
    });
    if made_folder {
        Some(NODE_FOLDER)
    } else if ran("corosync-qdevice-net-certutil", "-i") {
        Some(NODE_DB)
    } else if ran("corosync-qnetd-certutil", "-i") {
        Some(QNETD_DB)
    } else {
        None
    }
}

fn certificate_db_line(path: &str) -> String {
    format!("remove {path} (the quorum device's certificates; the run made them)")
}

/// Removes the certificate database the run made, once the run's files
/// (the certificates it copied in) are back.
fn remove_certificate_db(node: &dyn Node, journal: &Journal) -> Result<String> {
    let Some(path) = certificate_db_made(journal) else {
        return Ok(String::new());
    };
    run_undo(node, &[vec!["rm", "-rf", path]])
}

/// Runs service commands that undo what a run started; a refused one is
/// said ("tried"), not an error: the rest of the undo still runs.
fn run_undo<S: AsRef<str>>(node: &dyn Node, commands: &[Vec<S>]) -> Result<String> {
    let mut text = String::new();
    for argv in commands {
        let argv: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
        let out = crate::node::run_service(node, &argv)?;
        text.push_str(&format!(
            "{}: {}\n",
            if out.success() { "undone" } else { "tried" },
            argv.join(" ")
        ));
    }
    Ok(text)
}

/// Releases the cluster address when this node holds it (a stopped daemon
/// or cluster keeps it); says so.
fn release_address(node: &dyn Node, cluster: &ClusterAnswers) -> Result<String> {
    let held = node.run(&["ip", "-o", "addr", "show", "dev", &cluster.device], None)?;
    if !held.stdout_text().contains(&format!(" {} ", cluster.vip)) {
        return Ok(String::new());
    }
    node.run(
        &["ip", "addr", "del", &cluster.vip, "dev", &cluster.device],
        None,
    )?;
    Ok(format!(
        "undone: released the cluster address {}\n",
        cluster.vip
    ))
}

/// Undoes a Pacemaker hand-off on one node (`cluster.manager =
/// "pacemaker"`): the cluster goes into maintenance mode so its resources
/// stay as they are, pacemaker, corosync-qdevice and corosync stop and no
/// longer start at boot, the cluster's stored configuration (CIB) goes, the
/// cluster address is released and the database server starts at boot by
/// itself again. The run's files (corosync.conf, authkey, the agent's
/// secret) come back with the other files afterwards.
fn stop_pacemaker(member: &Member, journal: &Journal) -> Result<String> {
    if !ran_command(journal, "pacemaker") {
        return Ok(String::new());
    }
    let node = member.access.node();
    let systemd = node.stat(Path::new("/run/systemd/system"))?.is_some();
    // The address Pacemaker placed, as cluster.toml (still this run's) says.
    let address = node
        .read(Path::new(crate::daemon::config::DEFAULT_PATH))?
        .and_then(|b| {
            crate::daemon::config::ClusterConfig::parse(&String::from_utf8_lossy(&b)).ok()
        })
        .map(|c| c.cluster)
        .filter(|c| c.resource == crate::answers::Resource::Vip);
    let mut undo: Vec<Vec<String>> = vec![[
        "crm_attribute",
        "--type",
        "crm_config",
        "--name",
        "maintenance-mode",
        "--update",
        "true",
    ]
    .map(String::from)
    .to_vec()];
    for service in ["pacemaker", "corosync-qdevice", "corosync"] {
        if !ran_command(journal, service) {
            continue;
        }
        if systemd {
            undo.push(
                ["systemctl", "disable", "--now"]
                    .map(String::from)
                    .into_iter()
                    .chain([format!("{service}.service")])
                    .collect(),
            );
        } else {
            undo.push(vec![format!("/etc/init.d/{service}"), "stop".into()]);
            undo.push(
                ["update-rc.d", service, "disable"]
                    .map(String::from)
                    .to_vec(),
            );
        }
    }
    if ran_command(journal, "corosync") {
        // The cluster configuration this run created and loaded (each node
        // keeps a copy; the run's files are restored after).
        undo.push(
            ["sh", "-c", "rm -f /var/lib/pacemaker/cib/cib*"]
                .map(String::from)
                .to_vec(),
        );
    }
    let server = &member.profile.service.name;
    if ran_command(journal, &format!("{server}.service")) && systemd {
        undo.push(
            ["systemctl", "enable"]
                .map(String::from)
                .into_iter()
                .chain([format!("{server}.service")])
                .collect(),
        );
    } else if journal.records().iter().any(|r| {
        matches!(&r.entry, JournalEntry::Command { argv, .. }
            if argv.len() == 3 && argv[0] == "update-rc.d" && argv[1] == *server && argv[2] == "disable")
    }) {
        undo.push(["update-rc.d", server, "enable"].map(String::from).to_vec());
    }
    let mut text = run_undo(node, &undo)?;
    if let Some(cluster) = address {
        text.push_str(&release_address(node, &cluster)?);
    }
    Ok(text)
}

/// The run's statements, last first: each with the statements that undo
/// it (as the journal recorded them when it ran), the plugins it installed
/// (uninstalled last: replication uses them until then), and those that
/// stay. A journal of a version that recorded no undo keeps everything.
fn sql_undo_plan(journal: &Journal) -> SqlUndo {
    let mut plan = SqlUndo::default();
    let records: Vec<(&String, &Option<backup::SqlUndo>)> = journal
        .records()
        .iter()
        .filter_map(|r| match &r.entry {
            JournalEntry::Sql {
                statement_masked,
                undo,
                ..
            } => Some((statement_masked, undo)),
            _ => None,
        })
        .collect();
    // Statements on one thing (an account, the replica's connection) are
    // undone together, by the undo of the first: it holds the state before
    // the run.
    let mut together: Vec<(String, Vec<String>, Vec<UndoStatement>)> = Vec::new();
    for (statement, undo) in &records {
        if let Some(backup::SqlUndo::Run {
            statements,
            restores: Some(thing),
        }) = undo
        {
            match together.iter_mut().find(|(t, _, _)| t == thing) {
                Some((_, run, _)) => run.push((*statement).clone()),
                None => together.push((
                    thing.clone(),
                    vec![(*statement).clone()],
                    statements.clone(),
                )),
            }
        }
    }
    let mut listed: Vec<String> = Vec::new();
    for (statement, undo) in records.iter().rev() {
        match undo {
            Some(backup::SqlUndo::Nothing) => {}
            Some(backup::SqlUndo::Kept) | None => plan.kept.push((*statement).clone()),
            Some(backup::SqlUndo::Run {
                restores: Some(thing),
                ..
            }) => {
                if listed.contains(thing) {
                    continue;
                }
                listed.push(thing.clone());
                if let Some((_, run, first_undo)) = together.iter().find(|(t, _, _)| t == thing) {
                    plan.undone.push((run.join("; "), first_undo.clone()));
                }
            }
            Some(backup::SqlUndo::Run {
                statements,
                restores: None,
            }) => plan.undone.push(((*statement).clone(), statements.clone())),
            Some(backup::SqlUndo::Uninstall { plugin }) => {
                plan.uninstall.push(((*statement).clone(), plugin.clone()))
            }
        }
    }
    plan
}

#[derive(Default)]
struct SqlUndo {
    /// A statement of the run and the statements that undo it.
    undone: Vec<(String, Vec<UndoStatement>)>,
    /// A statement of the run that installed a plugin, and the plugin.
    uninstall: Vec<(String, String)>,
    kept: Vec<String>,
}

/// Semi-sync's plugins are switched off first; others (the clone plugin)
/// have no such switch.
fn uninstall_statements(plugin: &str) -> Vec<String> {
    let mut statements = Vec::new();
    if plugin.starts_with("rpl_semi_sync") {
        statements.push(format!("SET GLOBAL {plugin}_enabled = OFF"));
    }
    statements.push(format!("UNINSTALL PLUGIN {plugin}"));
    statements
}

fn shown(statements: &[UndoStatement]) -> String {
    statements
        .iter()
        .map(|s| s.shown.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

fn undo_server(member: &mut Member, journal: &Journal, restored: &[PathBuf]) -> Result<String> {
    let mut text = String::new();
    let family = member.sql().flavor().family;
    let SqlUndo {
        undone,
        uninstall,
        kept,
    } = sql_undo_plan(journal);
    // MySQL's super_read_only (a slave's, set by the daemon) refuses even
    // root; the undo lifts it for its own statements (read_only stays on).
    let super_read_only = family == crate::sql::Family::MySql
        && member
            .sql()
            .scalar("SELECT @@GLOBAL.super_read_only")?
            .as_deref()
            == Some("1");
    if super_read_only {
        member.sql().exec("SET GLOBAL super_read_only = OFF")?;
    }
    for (statement, undo) in undone {
        for sql in &undo {
            member.sql().exec_masked(&sql.real, &sql.shown)?;
        }
        text.push_str(&format!("undone: {statement}  (by {})\n", shown(&undo)));
    }
    for (statement, plugin) in uninstall {
        let mut statements = uninstall_statements(&plugin);
        let Some(remove) = statements.pop() else {
            continue;
        };
        for switch_off in &statements {
            member.sql().exec(switch_off)?;
        }
        // A source keeps its semi-sync plugin while a replica's dump thread
        // lives (error 1883), and a dump thread notices a replica that
        // stopped only at its next heartbeat: the run's replica is gone, so
        // its dump threads are ended. Still refused: harmless, and said.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let left = loop {
            match member.sql().exec(&remove) {
                Ok(()) => break None,
                Err(err) if std::time::Instant::now() > deadline => break Some(err),
                Err(_) => {
                    let dumps = member.sql().column(
                        "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'",
                    )?;
                    for id in dumps {
                        let _ = member.sql().exec(&format!("KILL CONNECTION {id}"));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
            }
        };
        match left {
            None => text.push_str(&format!(
                "undone: {statement}  (by {})\n",
                uninstall_statements(&plugin).join("; ")
            )),
            Some(err) => text.push_str(&format!(
                "left installed (disabled): {statement}: {err}; roll back the slave first, or uninstall it later\n"
            )),
        }
    }
    if super_read_only {
        member.sql().exec("SET GLOBAL super_read_only = ON")?;
    }
    for statement in kept {
        text.push_str(&format!("not undone: {statement}\n"));
    }
    // Decided on the files put back, not on the journal: a run killed while
    // its restart ran has no record of it, yet its server reads the run's
    // settings (log_bin, bind-address) until restarted.
    let options_restored = restored.iter().any(|p| is_server_option_file(p));
    if let Some(done) = restore_datadir(member, journal)? {
        text.push_str(&done);
    } else if options_restored {
        let argv = member.profile.service.restart.clone();
        service(member, &argv)?;
        text.push_str(&format!(
            "restarted the server ({}) so it reads the restored configuration\n",
            argv.join(" ")
        ));
    } else if restored
        .iter()
        .any(|p| p.starts_with(crate::tls::GENERATED_DIR))
    {
        // Certificates put back: the running server reads them again.
        if crate::tls::serving_tls(member.sql()) {
            let sql = member.sql().flavor().reload_tls();
            match member.sql().exec(sql) {
                Ok(()) => text.push_str(&format!(
                    "the server serves the restored certificates again ({sql})\n"
                )),
                // The run made the node's first certificate: with it gone the
                // server keeps the one it loaded until its next restart.
                Err(e) => text.push_str(&format!(
                    "left in place: the server keeps serving the certificate it loaded ({sql} refused: {e}); it drops it at its next restart\n"
                )),
            }
        }
    }
    let copied: Vec<&str> = journal
        .records()
        .iter()
        .filter_map(|r| match &r.entry {
            JournalEntry::Note { text } if text.starts_with("seed ") => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let datadir_restored = journal
        .records()
        .iter()
        .any(|r| matches!(r.entry, JournalEntry::DatadirReplaced { .. }));
    for note in copied.into_iter().filter(|_| !datadir_restored) {
        text.push_str(&format!(
            "left in place: the data of `{note}` on this slave (drop those databases if you do not want them)\n"
        ));
    }
    Ok(text)
}

/// Runs one of the server's service commands; an error names it.
fn service(member: &Member, argv: &[String]) -> Result<()> {
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    crate::node::run_service_checked(member.access.node(), &refs)?;
    Ok(())
}

/// Gives the server back the datadir a physical seed replaced (stop, swap,
/// start). The copy it held is set aside in the run folder, not deleted:
/// removing data is the administrator's call.
fn restore_datadir(member: &mut Member, journal: &Journal) -> Result<Option<String>> {
    let Some((datadir, before)) = replaced_datadir(journal) else {
        return Ok(None);
    };
    // A seed that failed at the swap already put the datadir back.
    if member.access.node().stat(&before)?.is_none() {
        return Ok(None);
    }
    service(member, &member.profile.service.stop.clone())?;
    let set_aside = swap_datadir_back(member.access.node(), &datadir, &before)?;
    service(member, &member.profile.service.start.clone())?;
    Ok(Some(format!(
        "undone: {} holds the server's own data again and the server was restarted; \
         the seeded copy is in {set_aside} (remove it when you no longer need it)\n",
        datadir.display()
    )))
}

/// The datadir a physical seed replaced, and where the server's own went.
fn replaced_datadir(journal: &Journal) -> Option<(PathBuf, PathBuf)> {
    journal.records().iter().find_map(|r| match &r.entry {
        JournalEntry::DatadirReplaced { datadir, before } => {
            Some((datadir.clone(), before.clone()))
        }
        _ => None,
    })
}

/// Moves the server's own datadir (`before`) back in place; the copy in
/// its place, if any, is set aside beside `before`, never deleted (removing
/// data is the administrator's call). Returns where the copy went.
fn swap_datadir_back(node: &dyn Node, datadir: &Path, before: &Path) -> Result<String> {
    let set_aside = before.with_file_name("datadir.rolled-back");
    let (datadir, before, set_aside) = (
        datadir.to_string_lossy().into_owned(),
        before.to_string_lossy().into_owned(),
        set_aside.to_string_lossy().into_owned(),
    );
    let script = "set -e; [ ! -e \"$3\" ]; if [ -e \"$1\" ]; then mv -- \"$1\" \"$3\"; fi; mv -- \"$2\" \"$1\"";
    let out = node.run(
        &["sh", "-c", script, "sh", &datadir, &before, &set_aside],
        None,
    )?;
    if !out.success() {
        return Err(Error::Command {
            host: node.label().to_string(),
            command: format!("move {before} back to {datadir} (the current one to {set_aside})"),
            status: crate::error::exit_status(out.code),
            detail: crate::error::stderr_detail(&out.stderr),
        });
    }
    Ok(set_aside)
}

/// For a tree: what the run did that a file rollback cannot undo.
fn not_undone(journal: &Journal) -> String {
    let mut lines = Vec::new();
    for record in journal.records() {
        match &record.entry {
            JournalEntry::Sql {
                statement_masked, ..
            } => lines.push(format!("  sql: {statement_masked}")),
            JournalEntry::Command { argv, .. } => lines.push(format!("  ran: {}", argv.join(" "))),
            JournalEntry::DatadirReplaced { datadir, before } => lines.push(format!(
                "  replaced {} (the server's own is in {})",
                datadir.display(),
                before.display()
            )),
            _ => {}
        }
    }
    if lines.is_empty() {
        String::new()
    } else {
        format!(
            "not undone here (the run also did this; undo it on the node itself):\n{}\n",
            lines.join("\n")
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::{certificate_db_made, is_server_option_file, ran_service, shown, sql_undo_plan};
    use crate::backup::{self, Journal, JournalEntry, SqlUndo, UndoStatement};
    use crate::node::LocalNode;
    use std::path::Path;

    fn journal_of(entries: Vec<(&str, Option<SqlUndo>)>) -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let node = LocalNode::with_root(dir.path());
        let mut journal = Journal::create(&node, &backup::new_run_id()).unwrap();
        for (statement, undo) in entries {
            journal
                .record(
                    &node,
                    JournalEntry::Sql {
                        node: "node1".into(),
                        statement_masked: statement.into(),
                        undo,
                    },
                )
                .unwrap();
        }
        (dir, journal)
    }

    #[test]
    fn the_journal_says_how_each_statement_is_undone_last_first_plugins_at_the_end() {
        let restore = |sql: &str, thing: &str| SqlUndo::Run {
            statements: vec![UndoStatement {
                shown: sql.replace("*HASH", "********"),
                real: sql.into(),
            }],
            restores: Some(thing.into()),
        };
        let (_dir, journal) = journal_of(vec![
            ("SET SESSION sql_log_bin = 0", Some(SqlUndo::Nothing)),
            (
                "INSTALL PLUGIN rpl_semi_sync_master SONAME 'semisync_master.so'",
                Some(SqlUndo::Uninstall {
                    plugin: "rpl_semi_sync_master".into(),
                }),
            ),
            (
                "CREATE OR REPLACE USER 'mysqlha_mon'@'192.0.2.12' IDENTIFIED BY '********'",
                Some(restore(
                    "CREATE USER `mysqlha_mon`@`192.0.2.12` IDENTIFIED BY PASSWORD '*HASH'",
                    "mon",
                )),
            ),
            (
                "GRANT SELECT ON mysql_ha.* TO 'mysqlha_mon'@'192.0.2.12'",
                Some(restore(
                    "CREATE USER `mysqlha_mon`@`192.0.2.12` REQUIRE SSL",
                    "mon",
                )),
            ),
            (
                "CREATE DATABASE IF NOT EXISTS mysql_ha",
                Some(SqlUndo::Kept),
            ),
            (
                "CHANGE MASTER TO MASTER_SSL=1",
                Some(restore("CHANGE MASTER TO MASTER_SSL=0", "replica")),
            ),
            ("GRANT ALL ON *.* TO 'x'@'y'", None),
        ]);
        let plan = sql_undo_plan(&journal);
        let undone: Vec<(&str, String)> = plan
            .undone
            .iter()
            .map(|(statement, undo)| (statement.as_str(), shown(undo)))
            .collect();
        assert_eq!(
            undone,
            [
                (
                    "CHANGE MASTER TO MASTER_SSL=1",
                    "CHANGE MASTER TO MASTER_SSL=0".to_string()
                ),
                (
                    "CREATE OR REPLACE USER 'mysqlha_mon'@'192.0.2.12' IDENTIFIED BY '********'; GRANT SELECT ON mysql_ha.* TO 'mysqlha_mon'@'192.0.2.12'",
                    "CREATE USER `mysqlha_mon`@`192.0.2.12` IDENTIFIED BY PASSWORD '********'"
                        .to_string()
                ),
            ]
        );
        assert_eq!(
            plan.undone[1].1[0].real,
            "CREATE USER `mysqlha_mon`@`192.0.2.12` IDENTIFIED BY PASSWORD '*HASH'"
        );
        assert_eq!(
            plan.uninstall,
            [(
                "INSTALL PLUGIN rpl_semi_sync_master SONAME 'semisync_master.so'".to_string(),
                "rpl_semi_sync_master".to_string()
            )]
        );
        // An older journal's statement without an undo is kept, and said.
        assert_eq!(
            plan.kept,
            [
                "GRANT ALL ON *.* TO 'x'@'y'",
                "CREATE DATABASE IF NOT EXISTS mysql_ha"
            ]
        );
    }

    #[test]
    fn restoring_an_option_file_needs_a_restart_whatever_the_journal_says() {
        assert!(is_server_option_file(Path::new(
            "/etc/mysql/mariadb.conf.d/60-mysql-ha.cnf"
        )));
        assert!(is_server_option_file(Path::new("/etc/my.cnf")));
        assert!(!is_server_option_file(Path::new("/etc/sudoers.d/mysql-ha")));
        assert!(!is_server_option_file(Path::new(
            "/etc/mysql-ha/cluster.toml"
        )));
    }

    fn journal_of_commands(commands: &[&[&str]]) -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let node = LocalNode::with_root(dir.path());
        let mut journal = Journal::create(&node, &backup::new_run_id()).unwrap();
        for argv in commands {
            journal
                .record(
                    &node,
                    JournalEntry::Command {
                        node: "host".into(),
                        argv: argv.iter().map(|a| a.to_string()).collect(),
                        ok: true,
                    },
                )
                .unwrap();
        }
        (dir, journal)
    }

    #[test]
    fn only_the_certificate_database_a_run_made_goes_and_a_certutil_is_no_service() {
        let (_dir, made_folder) = journal_of_commands(&[
            &["install", "-d", "-m", "0700", "/etc/corosync/qdevice/net"],
            &["corosync-qdevice-net-certutil", "-i", "-c", "/x.crt"],
        ]);
        assert_eq!(
            certificate_db_made(&made_folder),
            Some("/etc/corosync/qdevice/net")
        );
        let (_dir, made_db) =
            journal_of_commands(&[&["corosync-qdevice-net-certutil", "-i", "-c", "/x.crt"]]);
        assert_eq!(
            certificate_db_made(&made_db),
            Some("/etc/corosync/qdevice/net/nssdb")
        );
        // A node that only received the cluster certificate, or exported
        // it, keeps its database.
        let (_dir, imported) = journal_of_commands(&[
            &["corosync-qdevice-net-certutil", "-m", "-c", "/x.p12"],
            &[
                "sh",
                "-c",
                "umask 077 && pk12util -d /etc/corosync/qdevice/net/nssdb",
            ],
        ]);
        assert_eq!(certificate_db_made(&imported), None);
        // The witness: its CA goes only when this run made it; signing a
        // request is neither making a CA nor starting qnetd.
        let (_dir, signed) =
            journal_of_commands(&[&["corosync-qnetd-certutil", "-s", "-c", "/r.crq", "-n", "c"]]);
        assert_eq!(certificate_db_made(&signed), None);
        assert!(!ran_service(&signed, "corosync-qnetd"));
        let (_dir, made_ca) = journal_of_commands(&[
            &["corosync-qnetd-certutil", "-i", "-G"],
            &["/etc/init.d/corosync-qnetd", "start"],
        ]);
        assert_eq!(
            certificate_db_made(&made_ca),
            Some("/etc/corosync/qnetd/nssdb")
        );
        assert!(ran_service(&made_ca, "corosync-qnetd"));
    }
}
