//! `mysql-ha rollback [RUN_ID]`: list the runs, or undo one on this machine
//! (or on every host of an answers file). The engine (`rollback`) surveys
//! the run's journals and builds the plan; this shows it, asks, and has the
//! one executor apply it.

use std::path::PathBuf;

use crate::access::Access;
use crate::answers::{Answers, NodeAnswers};
use crate::cli::RollbackArgs;
use crate::node::{LocalNode, Node};
use crate::operation::apply::{Hosts, OneHost};
use crate::operation::pair::{Member, Pair, WitnessHost};
use crate::operation::plan::{Plan, Side};
use crate::rollback::{self, build, HostSurvey, Survey};
use crate::ui::line::LineReporter;
use crate::{Error, Result};

pub fn run(args: RollbackArgs) -> Result<()> {
    match &args.answers {
        Some(path) => on_answers(super::setup::read_answers(path)?, &args),
        None => on_this_machine(&args),
    }
}

/// Shows the plan; with `--dry-run` stops there, without `--yes` asks (on
/// a terminal only). Ok(false): nothing is to change.
fn approve(args: &RollbackArgs, run_id: &str, plan: &Plan) -> Result<bool> {
    print!("{}", plan.render());
    if plan.unchanged() {
        println!("\nrun {run_id} recorded nothing that rollback undoes (a switchover is undone by switching back)");
        return Ok(false);
    }
    if args.dry_run {
        println!("\ndry run: nothing was changed");
        return Ok(false);
    }
    if args.yes {
        return Ok(true);
    }
    if super::confirm::confirm(&format!("\nUndo run {run_id}?"))? {
        Ok(true)
    } else {
        Err(Error::Aborted("not undone; nothing was changed".into()))
    }
}

fn lock_path() -> PathBuf {
    PathBuf::from(crate::run_lock::LOCK_PATH)
}

/// Applies the plan under the run lock of the nodes (a killed run's own
/// lock is taken over).
fn apply_locked(
    hosts: &mut dyn Hosts,
    nodes: &[(String, Side)],
    survey: &Survey,
    plan: &Plan,
) -> Result<()> {
    let run_id = &survey.run_id;
    let lock = {
        let mut locked = Vec::new();
        for (label, side) in nodes {
            locked.push((label.as_str(), hosts.access(*side)?.0.node(), lock_path()));
        }
        crate::run_lock::RunLock::acquire_undoing(
            &locked,
            crate::run_lock::Owner::this_process(run_id, "rollback"),
            Some(run_id),
        )?
    };
    println!();
    let result = rollback::apply(hosts, survey, plan, &LineReporter::new());
    let mut reached = Vec::new();
    for (label, side) in nodes {
        if let Ok((access, _)) = hosts.access(*side) {
            reached.push((label.as_str(), access.node()));
        }
    }
    lock.release(&reached);
    result?;
    println!("\ndone: run {run_id} undone");
    Ok(())
}

/// This machine: its server when it answers, else (or for a tree) its
/// files alone.
fn on_this_machine(args: &RollbackArgs) -> Result<()> {
    let Some(run_id) = &args.run_id else {
        let node = match &args.root {
            Some(root) => LocalNode::with_root(root),
            None => LocalNode::new(),
        };
        print!("{}", rollback::list_runs(&node)?);
        return Ok(());
    };
    let member = match &args.root {
        None => local_member().ok(),
        Some(_) => None,
    };
    match member {
        Some(member) => on_member(member, run_id, args),
        None => files_only(run_id, args),
    }
}

/// This machine's server, reached through its socket as root.
fn local_member() -> Result<Member> {
    let answers = NodeAnswers {
        host: "localhost".into(),
        ..NodeAnswers::default()
    };
    Member::connect(Side::Master, &answers, None)
}

fn on_member(mut member: Member, run_id: &str, args: &RollbackArgs) -> Result<()> {
    let label = member.label().to_string();
    let host = HostSurvey::read(
        Side::Master,
        &label,
        member.access.node(),
        run_id,
        args.force,
    )?;
    if host.journal.is_none() {
        if rollback::ran_on(member.access.node(), run_id) {
            println!(
                "run {run_id} recorded no change on this node (it stopped before its first change here): nothing to undo"
            );
            return Ok(());
        }
        return Err(rollback::not_found(&label, run_id));
    }
    let survey = Survey {
        run_id: run_id.to_string(),
        hosts: vec![host.with_server(&mut member)?],
        single: true,
    };
    let plan = build::build(&survey);
    if !approve(args, run_id, &plan)? {
        return Ok(());
    }
    apply_locked(&mut member, &[(label, Side::Master)], &survey, &plan)
}

/// A tree, or this machine with a server that does not answer: the run's
/// files come back; when the run had stopped the server, the datadir it
/// replaced comes back too and the server starts.
fn files_only(run_id: &str, args: &RollbackArgs) -> Result<()> {
    let node = match &args.root {
        Some(root) => LocalNode::with_root(root),
        None => LocalNode::new(),
    };
    let label = node.label().to_string();
    let mut host = HostSurvey::read(Side::Master, &label, &node, run_id, args.force)?;
    let Some(journal) = &host.journal else {
        return Err(rollback::not_found(&label, run_id));
    };
    if args.root.is_none() {
        let profile = crate::profile::detect(&node, None)?;
        host.server_down_by_run = journal.records().iter().any(|r| {
            matches!(&r.entry, crate::backup::JournalEntry::Command { argv, .. }
                if *argv == profile.service.stop)
        });
        host.service = Some(profile.service);
    }
    let survey = Survey {
        run_id: run_id.to_string(),
        hosts: vec![host],
        single: true,
    };
    let plan = build::build(&survey);
    if !approve(args, run_id, &plan)? {
        return Ok(());
    }
    let mut one = OneHost::files(Side::Master, &label, Access::Local(node));
    println!();
    rollback::apply(&mut one, &survey, &plan, &LineReporter::new())?;
    println!("\ndone: run {run_id} undone (files only)");
    Ok(())
}

/// Every host of an answers file: every check on all of them before
/// anything changes (a refusal on the slave must not find the master half
/// undone), under the run lock of the database nodes.
fn on_answers(answers: Answers, args: &RollbackArgs) -> Result<()> {
    let mut targets = vec![
        (Side::Master, answers.master.clone()),
        (Side::Slave, answers.slave.clone()),
    ];
    if answers.has_slave2() {
        targets.push((Side::Slave2, answers.slave2.clone()));
    }
    let mut members = Vec::new();
    for (side, node) in &targets {
        // Not connect_for_change: the run lock may be the undone run's own
        // (killed), which the undo takes over.
        members.push(Member::connect(*side, node, None)?);
    }
    let Some(run_id) = &args.run_id else {
        for member in &members {
            println!("on {} ({}):", member.label(), member.side.name());
            print!("{}", rollback::list_runs(member.access.node())?);
        }
        return Ok(());
    };
    let address = (answers.cluster.resource == crate::answers::Resource::Vip)
        .then(|| (answers.cluster.vip.clone(), answers.cluster.device.clone()));
    let mut hosts = Vec::new();
    for member in &mut members {
        let label = member.label().to_string();
        let mut host = HostSurvey::read(
            member.side,
            &label,
            member.access.node(),
            run_id,
            args.force,
        )?
        .with_server(member)?;
        host.address = address.clone();
        hosts.push(host);
    }
    if hosts.iter().all(|h| h.journal.is_none()) {
        // Neither node has a journal: a run id that was never there, or a
        // run killed before its first change anywhere.
        if !members
            .iter()
            .any(|m| rollback::ran_on(m.access.node(), run_id))
        {
            return Err(rollback::not_found(members[0].label(), run_id));
        }
        println!(
            "run {run_id} recorded no change on either node (it stopped before its first change): nothing to undo"
        );
        return Ok(());
    }
    // The witness's files are checked with the nodes', before any change.
    let witness = WitnessHost::connect(&answers)?;
    if let Some(witness) = &witness {
        let host = HostSurvey::read(
            Side::Witness,
            &witness.host,
            witness.access.node(),
            run_id,
            args.force,
        )?;
        if host.journal.is_some() {
            hosts.push(host);
        }
    }
    let survey = Survey {
        run_id: run_id.clone(),
        hosts,
        single: false,
    };
    let plan = build::build(&survey);
    if !approve(args, run_id, &plan)? {
        return Ok(());
    }
    let nodes: Vec<(String, Side)> = members
        .iter()
        .map(|m| (m.label().to_string(), m.side))
        .collect();
    let mut members = members.into_iter();
    let (Some(master), Some(slave)) = (members.next(), members.next()) else {
        return Err(Error::Internal(
            "the answers name no master and slave".into(),
        ));
    };
    let mut pair = Pair {
        answers,
        master,
        slave,
        slave2: members.next(),
        witness,
    };
    apply_locked(&mut pair, &nodes, &survey, &plan)
}
