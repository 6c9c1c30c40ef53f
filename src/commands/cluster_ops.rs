//! `mysql-ha rejoin` and `switchover`: load answers, let the engine plan,
//! show the plan, confirm, apply, and render what the engine says.

use std::time::Duration;

use crate::cli::{RejoinArgs, SwitchoverArgs};
use crate::cluster_ops::cluster::Cluster;
use crate::cluster_ops::{rejoin as rejoin_op, switchover as switchover_op};
use crate::commands::confirm::confirm;
use crate::commands::setup::load_answers;
use crate::ui::line::LineReporter;
use crate::{Error, Result};

pub fn rejoin(args: RejoinArgs) -> Result<()> {
    let answers = load_answers(args.answers.as_deref())?;
    let mut cluster = Cluster::connect(&answers)?;
    let mut plan = rejoin_op::plan(&mut cluster, &args.node, args.save_and_reseed)?;
    print!("{}", plan.render());
    if plan.survey.nothing_to_do {
        return Ok(());
    }
    if args.dry_run {
        println!("\ndry run: nothing was changed");
        return Ok(());
    }
    if plan.survey.has_unsent() && !plan.survey.reseed {
        if args.yes {
            return Err(plan.survey.refusal());
        }
        let question = format!(
            "\n{} holds transactions that {} never received. Save them to the run's backup folder and copy the replicated databases again? (no: stop, nothing changed)",
            plan.survey.node, plan.survey.master
        );
        if !confirm(&question)? {
            return Err(plan.survey.refusal());
        }
        // The plan that saves them and copies again: shown, then applied.
        plan = rejoin_op::plan(&mut cluster, &args.node, true)?;
        println!("\nthe transactions will be saved, then the databases copied again:\n");
        print!("{}", plan.render());
    } else if !args.yes && !confirm("\nRejoin?")? {
        return Err(Error::Aborted("not rejoined; nothing was changed".into()));
    }
    println!();
    let outcome = rejoin_op::apply(&mut cluster, &plan, &LineReporter::new())?;
    for line in &outcome.daemons {
        println!("daemon {line}");
    }
    for path in &outcome.saved {
        println!("saved: {path}");
    }
    println!(
        "\ndone: {} is the slave of {} from {}{} ({:.1} s, run {}; `mysql-ha rollback {}` puts its option files back)",
        plan.survey.node,
        plan.survey.master,
        if outcome.position.is_empty() { "the beginning" } else { &outcome.position },
        if outcome.reseeded { " after copying the databases again" } else { "" },
        outcome.seconds,
        outcome.run_id,
        outcome.run_id
    );
    Ok(())
}

pub fn switchover(args: SwitchoverArgs) -> Result<()> {
    if args.answers.is_none() {
        if let Some(config) = super::pacemaker::managed() {
            return super::pacemaker::switchover(
                &config,
                args.to.as_deref(),
                args.yes,
                args.dry_run,
            );
        }
    }
    let answers = load_answers(args.answers.as_deref())?;
    let mut cluster = Cluster::connect(&answers)?;
    let options = switchover_op::SwitchoverOptions {
        max_lag_s: args.max_lag,
        apply_wait: Duration::from_secs(args.apply_wait),
    };
    let plan = switchover_op::plan(&mut cluster, args.to.as_deref(), &options)?;
    print!("{}", plan.render());
    if args.dry_run {
        println!("\ndry run: nothing was changed");
        return Ok(());
    }
    if !plan.problems.is_empty() {
        return Err(Error::Preflight {
            count: plan.problems.len(),
            findings: plan.problems.join("; "),
        });
    }
    if !args.yes && !confirm("\nSwitch over?")? {
        return Err(Error::Aborted("no switchover; nothing was changed".into()));
    }
    println!();
    let (_cluster, outcome) = switchover_op::apply(cluster, &plan, &LineReporter::new())?;
    for line in &outcome.daemons {
        println!("daemon {line}");
    }
    println!("{}", outcome.verified);
    println!(
        "\ndone: {} is master of term {}; write pause {:.2} s ({:.1} s in all, run {})",
        outcome.new_master, outcome.term, outcome.write_pause_s, outcome.seconds, outcome.run_id
    );
    Ok(())
}
