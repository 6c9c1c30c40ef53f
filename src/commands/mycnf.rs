//! `mysql-ha mycnf show|edit` and `mysql-ha rollback` on this machine (or a
//! `--root` tree).

use std::io::Write;
use std::path::PathBuf;

use crate::backup::{self, Journal};
use crate::cli::{MycnfCommand, RoleArg, RollbackArgs};
use crate::mycnf::{plan_edits, Config, Role, RoleSettings};
use crate::node::{LocalNode, Node};
use crate::{profile, Error, Result};

fn node_for(root: Option<PathBuf>) -> LocalNode {
    match root {
        Some(root) => LocalNode::with_root(root),
        None => LocalNode::new(),
    }
}

fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("standard output", e))
}

pub fn run(command: MycnfCommand) -> Result<()> {
    match command {
        MycnfCommand::Show { root, profile } => {
            let node = node_for(root);
            let profile = profile::detect(&node, profile.as_deref())?;
            let config = Config::load(&node, &profile)?;
            print(&config.render())
        }
        MycnfCommand::Edit {
            role,
            server_id,
            databases,
            bind_address,
            root,
            profile,
            dry_run,
        } => {
            let node = node_for(root);
            let profile = profile::detect(&node, profile.as_deref())?;
            let config = Config::load(&node, &profile)?;
            let settings = RoleSettings {
                role: match role {
                    RoleArg::Master => Role::Master,
                    RoleArg::Slave => Role::Slave,
                },
                server_id,
                databases,
                bind_address,
                run_id: backup::new_run_id(),
            };
            let plan = plan_edits(&config, &settings)?;
            let mut text = plan.render_diff();
            text.push_str(&plan.render_changes());
            if plan.is_unchanged() {
                text.push_str("nothing to change: the configuration already has these settings\n");
                return print(&text);
            }
            if dry_run {
                text.push_str("dry run: nothing was changed\n");
                return print(&text);
            }
            let mut journal = Journal::create(&node, &plan.run_id)?;
            backup::apply_file_edits(&node, &mut journal, &plan.file_edits)?;
            text.push_str(&format!(
                "run {}: {} file(s) changed on {}, originals in {}; undo with: mysql-ha rollback {}\n\
                 restart the server for the settings to take effect\n",
                plan.run_id,
                plan.file_edits.len(),
                node.label(),
                journal.dir.join("backup").display(),
                plan.run_id
            ));
            print(&text)
        }
    }
}

pub fn rollback(args: RollbackArgs) -> Result<()> {
    let Some(answers_path) = args.answers else {
        let node = node_for(args.root);
        return print(&rollback_on(&node, args.run_id.as_deref())?);
    };
    // Both nodes of an answers file, each reached as setup reaches it.
    let answers = crate::answers::Answers::from_file(&answers_path)?;
    let mut text = String::new();
    for node_answers in [&answers.master, &answers.slave] {
        let access = crate::access::Access::open(node_answers)?;
        text.push_str(&format!("on {}:\n", node_answers.host));
        text.push_str(&rollback_on(access.node(), args.run_id.as_deref())?);
    }
    print(&text)
}

/// Restores one node's files of a run (the latest when none is named) and
/// says what it did, and what a file rollback cannot undo.
fn rollback_on(node: &dyn Node, run_id: Option<&str>) -> Result<String> {
    let run_id = match run_id {
        Some(run_id) => run_id.to_string(),
        None => backup::latest_run(node)?.ok_or_else(|| {
            Error::Other(format!(
                "no runs under {} on {}: nothing to roll back",
                backup::RUNS_DIR,
                node.label()
            ))
        })?,
    };
    let journal = backup::Journal::open(node, &run_id)?;
    let restored = backup::rollback(node, &run_id)?;
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
    let mut not_undone = Vec::new();
    let mut restarted = false;
    for record in journal.records() {
        match &record.entry {
            backup::JournalEntry::Sql {
                statement_masked, ..
            } => not_undone.push(format!("sql: {statement_masked}")),
            backup::JournalEntry::Command { argv, .. } => {
                restarted = true;
                not_undone.push(format!("ran: {}", argv.join(" ")));
            }
            _ => {}
        }
    }
    if !not_undone.is_empty() {
        text.push_str("not undone by a file rollback (the run also did this):\n");
        for line in not_undone {
            text.push_str(&format!("  {line}\n"));
        }
    }
    if restarted && !restored.is_empty() {
        text.push_str("restart the database server so it reads the restored configuration\n");
    }
    Ok(text)
}
