//! `mysql-ha mycnf show|edit` and `mysql-ha rollback` on this machine (or a
//! `--root` tree).

use std::io::Write;
use std::path::PathBuf;

use crate::backup::{self, Journal};
use crate::cli::{MycnfCommand, RoleArg};
use crate::mycnf::{plan_edits, Config, RoleSettings, ServerRole};
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
                    RoleArg::Master => ServerRole::Master,
                    RoleArg::Slave => ServerRole::Slave,
                },
                server_id,
                databases,
                bind_address,
                run_id: backup::new_run_id(),
                tls: None,
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
