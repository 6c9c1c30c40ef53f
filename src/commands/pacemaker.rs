//! `status`, `pause`, `resume` and `switchover` on a pair that Pacemaker
//! manages (cluster.toml says `manager = "pacemaker"`): read from `crm_mon`
//! as XML, pause and resume through the cluster's maintenance mode, the
//! switchover as a plan (`cluster_ops::pacemaker_switchover`).

use std::path::Path;

use crate::answers::Manager;
use crate::cluster_ops::pacemaker_switchover;
use crate::daemon::config::{ClusterConfig, DEFAULT_PATH};
use crate::node::{LocalNode, Node};
use crate::operation::crm::{crm_state, CrmState, DB_CLONE, VIP_RESOURCE};
use crate::ui::line::LineReporter;
use crate::{Error, Result};

/// This node's cluster configuration when Pacemaker manages the pair.
pub fn managed() -> Option<ClusterConfig> {
    if !Path::new(DEFAULT_PATH).exists() {
        return None;
    }
    ClusterConfig::load(Path::new(DEFAULT_PATH))
        .ok()
        .filter(|c| c.cluster.manager == Manager::Pacemaker)
}

fn maintenance(on: bool) -> Result<()> {
    let value = if on { "true" } else { "false" };
    let out = LocalNode::new().run(
        &[
            "crm_attribute",
            "--type",
            "crm_config",
            "--name",
            "maintenance-mode",
            "--update",
            value,
        ],
        None,
    )?;
    if !out.success() {
        return Err(Error::Failed {
            what: format!("crm_attribute --name maintenance-mode --update {value}"),
            status: crate::error::exit_status(out.code),
            detail: format!(
                ": {}; is pacemaker running on this node (`crm_mon -1`)?",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(())
}

pub fn pause() -> Result<()> {
    maintenance(true)?;
    println!("paused: Pacemaker's maintenance mode is on: it keeps the servers and the address as they are and takes no action (not even on a failure) until `mysql-ha resume`");
    Ok(())
}

pub fn resume() -> Result<()> {
    maintenance(false)?;
    println!("resumed: Pacemaker manages the cluster again (maintenance mode off)");
    Ok(())
}

/// Each configured node (online first, in crm_mon's order) and its role:
/// master (promoted), slave (unpromoted), stopped, or offline.
fn node_roles(state: &CrmState) -> Vec<(String, &'static str)> {
    state
        .online
        .iter()
        .chain(&state.offline)
        .map(|name| {
            let role = if state.offline.contains(name) {
                "offline"
            } else if state.promoted.contains(name) {
                "master"
            } else if state.unpromoted.contains(name) {
                "slave"
            } else {
                "stopped"
            };
            (name.clone(), role)
        })
        .collect()
}

/// The one-line verdict: the master and every slave, or what is missing.
/// Two nodes keep the pair's words (`pair: whole: A (master) -> B (slave)`).
fn verdict(state: &CrmState) -> String {
    let nodes = state.online.len() + state.offline.len();
    let what = if nodes > 2 { "cluster" } else { "pair" };
    let slaves = state.unpromoted.join(", ");
    let plural = if state.unpromoted.len() > 1 { "s" } else { "" };
    let line = match (state.promoted.as_slice(), state.unpromoted.len()) {
        ([master], 0) => format!("degraded: {master} (master) has no slave running"),
        ([master], running) if running + 1 < nodes => {
            let missing: Vec<String> = node_roles(state)
                .into_iter()
                .filter(|(name, _)| name != master && !state.unpromoted.contains(name))
                .map(|(name, role)| format!("{name} {role}"))
                .collect();
            format!(
                "degraded: {master} (master) -> {slaves} (slave{plural}); {}",
                missing.join(", ")
            )
        }
        ([master], _) => format!("whole: {master} (master) -> {slaves} (slave{plural})"),
        ([], _) => "no master: no node holds the promoted database".into(),
        (many, _) => format!("two masters: {}", many.join(", ")),
    };
    format!("{what}: {line}")
}

pub fn status(config: &ClusterConfig, json: bool) -> Result<()> {
    let state = crm_state(&LocalNode::new())?;
    let roles = node_roles(&state);
    if json {
        let nodes: Vec<serde_json::Value> = roles
            .iter()
            .map(|(name, role)| {
                serde_json::json!({
                    "name": name,
                    "role": role,
                    "address": state.vip.as_deref() == Some(name.as_str()),
                })
            })
            .collect();
        let value = serde_json::json!({
            "manager": "pacemaker",
            "nodes": nodes,
            "online": state.online,
            "offline": state.offline,
            "quorate": state.quorate,
            "maintenance": state.maintenance,
            "promoted": state.promoted,
            "unpromoted": state.unpromoted,
            "address_on": state.vip,
            "failures": state.failures,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value)
                .map_err(|e| Error::Internal(format!("writing JSON: {e}")))?
        );
        return Ok(());
    }
    println!("manager: pacemaker (see `crm_mon -1` for the whole cluster)");
    println!("{}", verdict(&state));
    println!(
        "nodes: online {}{}; {}",
        state.online.join(", "),
        if state.offline.is_empty() {
            String::new()
        } else {
            format!(", offline {}", state.offline.join(", "))
        },
        if state.quorate {
            "quorate"
        } else {
            "NO QUORUM"
        }
    );
    for (name, role) in &roles {
        println!("  {name}: {role}");
    }
    if config.cluster.resource == crate::answers::Resource::Vip {
        println!(
            "cluster resource: address {} ({VIP_RESOURCE}) on {}",
            config.cluster.vip,
            state.vip.as_deref().unwrap_or("no node")
        );
    }
    if state.maintenance {
        println!("paused: maintenance mode is on (`mysql-ha resume` ends it)");
    }
    if state.failures.is_empty() {
        println!("failed actions: none");
    } else {
        println!("failed actions (`crm resource cleanup {DB_CLONE}` once fixed):");
        for failure in &state.failures {
            println!("  {failure}");
        }
    }
    Ok(())
}

/// A planned switchover through Pacemaker (see
/// `cluster_ops::pacemaker_switchover`): the plan, `--dry-run` or a
/// confirmation, the one executor on this node, the outcome.
pub fn switchover(
    config: &ClusterConfig,
    to: Option<&str>,
    yes: bool,
    dry_run: bool,
) -> Result<()> {
    let vip = (config.cluster.resource == crate::answers::Resource::Vip)
        .then(|| config.cluster.vip.clone());
    let survey =
        pacemaker_switchover::survey(&LocalNode::new(), vip, &crate::backup::new_run_id())?;
    let switch = pacemaker_switchover::build(&survey, to)?;
    print!("{}", switch.plan.render());
    if dry_run {
        println!("\ndry run: nothing was changed");
        return Ok(());
    }
    if !yes && !super::confirm::confirm("\nSwitch over?")? {
        return Err(Error::Aborted("no switchover; nothing was changed".into()));
    }
    println!();
    let outcome = pacemaker_switchover::apply(&switch, &LineReporter::new())?;
    println!(
        "\ndone: {} is master ({:.1} s in all, run {})",
        switch.target, outcome.seconds, outcome.run_id
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(
        online: &[&str],
        offline: &[&str],
        promoted: &[&str],
        unpromoted: &[&str],
    ) -> CrmState {
        let list = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        CrmState {
            online: list(online),
            offline: list(offline),
            promoted: list(promoted),
            unpromoted: list(unpromoted),
            quorate: true,
            ..CrmState::default()
        }
    }

    #[test]
    fn status_names_every_node_and_keeps_the_pairs_words_for_two() {
        let pair = state(&["node1", "node2"], &[], &["node2"], &["node1"]);
        assert_eq!(
            verdict(&pair),
            "pair: whole: node2 (master) -> node1 (slave)"
        );
        let three = state(
            &["node1", "node2", "node3"],
            &[],
            &["node3"],
            &["node1", "node2"],
        );
        assert_eq!(
            verdict(&three),
            "cluster: whole: node3 (master) -> node1, node2 (slaves)"
        );
        assert_eq!(
            node_roles(&three),
            [
                ("node1".to_string(), "slave"),
                ("node2".to_string(), "slave"),
                ("node3".to_string(), "master")
            ]
        );
        let crashed = state(&["node2", "node3"], &["node1"], &["node2"], &["node3"]);
        assert_eq!(
            verdict(&crashed),
            "cluster: degraded: node2 (master) -> node3 (slave); node1 offline"
        );
        assert_eq!(node_roles(&crashed)[2], ("node1".to_string(), "offline"));
        let stopped = state(&["node1", "node2", "node3"], &[], &["node1"], &["node2"]);
        assert_eq!(
            verdict(&stopped),
            "cluster: degraded: node1 (master) -> node2 (slave); node3 stopped"
        );
        let none = state(&["node1", "node2", "node3"], &[], &[], &["node2"]);
        assert!(verdict(&none).starts_with("cluster: no master"));
    }
}
