//! `status`, `pause` and `resume` on a pair that Pacemaker manages
//! (cluster.toml says `manager = "pacemaker"`): read from `crm_mon` as XML,
//! pause and resume through the cluster's maintenance mode.

use std::path::Path;

use crate::answers::Manager;
use crate::daemon::config::{ClusterConfig, DEFAULT_PATH};
use crate::node::{LocalNode, Node};
use crate::setup::pacemaker::{crm_state, CrmState, DB_CLONE, VIP_RESOURCE};
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

/// The node name of `wanted` (a node name, or the replication address the
/// agent's `p_db_mysql_master_IP` attribute gives it).
fn node_named(node: &LocalNode, names: &[String], wanted: &str) -> Option<String> {
    if names.iter().any(|n| n == wanted) {
        return Some(wanted.to_string());
    }
    names
        .iter()
        .find(|name| {
            node.run(
                &[
                    "crm_attribute",
                    "--node",
                    name,
                    "--lifetime",
                    "forever",
                    "--name",
                    &format!("{}_mysql_master_IP", crate::setup::pacemaker::DB_RESOURCE),
                    "--query",
                    "--quiet",
                ],
                None,
            )
            .map(|o| o.success() && o.stdout_text().trim() == wanted)
            .unwrap_or(false)
        })
        .cloned()
}

fn crm_resource(node: &LocalNode, args: &[&str]) -> Result<()> {
    let mut argv = vec!["crm_resource"];
    argv.extend_from_slice(args);
    let out = node.run(&argv, None)?;
    if !out.success() {
        return Err(Error::Failed {
            what: format!("`{}`", argv.join(" ")),
            status: crate::error::exit_status(out.code),
            detail: format!(": {}", String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    Ok(())
}

/// A planned switchover through Pacemaker: the promoted instance moves to
/// `to` (default: the one slave; with two slaves `--to` is needed); the
/// agent demotes the master (read-only, its client sessions ended),
/// promotes the target, and points the old master and the other slave at
/// it; the cluster address follows the promoted instance.
pub fn switchover(
    config: &ClusterConfig,
    to: Option<&str>,
    yes: bool,
    dry_run: bool,
) -> Result<()> {
    let has_vip = config.cluster.resource == crate::answers::Resource::Vip;
    use std::time::{Duration, Instant};
    let node = LocalNode::new();
    let state = crm_state(&node)?;
    let [master] = state.promoted.as_slice() else {
        return Err(Error::Cluster {
            message: format!(
                "no single master to switch from (promoted on: {:?}); see `mysql-ha status`",
                state.promoted
            ),
        });
    };
    let target =
        match to {
            Some(wanted) => node_named(&node, &state.unpromoted, wanted).ok_or_else(|| {
                Error::Usage(format!(
                "`{wanted}` is not a node running as slave (slaves: {}): give one of them to --to",
                state.unpromoted.join(", ")
            ))
            })?,
            None => match state.unpromoted.as_slice() {
                [one] => one.clone(),
                [] => return Err(Error::Cluster {
                    message:
                        "no node runs as slave: nothing to switch over to; see `mysql-ha status`"
                            .into(),
                }),
                many => {
                    return Err(Error::Usage(format!(
                        "the cluster has {} slaves ({}): name the new master with --to NODE",
                        many.len(),
                        many.join(", ")
                    )))
                }
            },
        };
    if state.maintenance {
        return Err(Error::Usage(
            "the cluster is paused (maintenance mode): `mysql-ha resume` first".into(),
        ));
    }
    println!("switchover through Pacemaker: {master} -> {target}");
    println!("   run: crm_resource --move --resource {DB_CLONE} --promoted --node {target}");
    println!("   wait until {DB_CLONE} is promoted on {target} and {VIP_RESOURCE} runs there");
    println!("   run: crm_resource --clear --resource {DB_CLONE}    # the move's constraint goes");
    // The old master and every other slave follow the new master: the
    // agent's post-promote notification points each of them at it.
    let followers: Vec<String> = std::iter::once(master.clone())
        .chain(state.unpromoted.iter().filter(|n| **n != target).cloned())
        .collect();
    println!(
        "   wait until {} run{} as slave{} of {target}",
        followers.join(", "),
        if followers.len() == 1 { "s" } else { "" },
        if followers.len() == 1 { "" } else { "s" }
    );
    if dry_run {
        println!("\ndry run: nothing was changed");
        return Ok(());
    }
    if !yes && !super::confirm::confirm("\nSwitch over?")? {
        return Err(Error::Aborted("no switchover; nothing was changed".into()));
    }
    let started = Instant::now();
    crm_resource(
        &node,
        &[
            "--move",
            "--resource",
            DB_CLONE,
            "--promoted",
            "--node",
            &target,
        ],
    )?;
    let limit = Duration::from_secs(120);
    let moved = loop {
        let now = crm_state(&node)?;
        let address_there = !has_vip || now.vip.as_deref() == Some(target.as_str());
        if now.promoted == [target.clone()] && address_there {
            break Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            break Err(Error::Cluster {
                message: format!(
                    "{target} not promoted after {} s (now promoted on {:?}); the move's constraint stays until `crm_resource --clear --resource {DB_CLONE}`",
                    limit.as_secs(),
                    now.promoted
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(250));
    }?;
    crm_resource(&node, &["--clear", "--resource", DB_CLONE])?;
    println!(
        "{target} is master ({:.1} s); the cluster address followed it",
        moved.as_secs_f64()
    );
    let back = Instant::now();
    loop {
        let now = crm_state(&node)?;
        let waiting: Vec<&String> = followers
            .iter()
            .filter(|n| !now.unpromoted.contains(n))
            .collect();
        if waiting.is_empty() {
            println!(
                "{} run{} as slave{} of {target} again",
                followers.join(", "),
                if followers.len() == 1 { "s" } else { "" },
                if followers.len() == 1 { "" } else { "s" }
            );
            break;
        }
        if back.elapsed() > Duration::from_secs(60) {
            println!(
                "{} not running as slave yet: see `mysql-ha status` and `crm_mon -1` (failed actions)",
                waiting.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    println!(
        "\ndone: {target} is master ({:.1} s in all)",
        started.elapsed().as_secs_f64()
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
