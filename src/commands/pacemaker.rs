//! `status`, `pause` and `resume` on a pair that Pacemaker manages
//! (cluster.toml says `manager = "pacemaker"`): read from `crm_mon` as XML,
//! pause and resume through the cluster's maintenance mode.

use std::path::Path;

use crate::answers::Manager;
use crate::daemon::config::{ClusterConfig, DEFAULT_PATH};
use crate::node::{LocalNode, Node};
use crate::setup::pacemaker::{crm_state, DB_CLONE, VIP_RESOURCE};
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
        return Err(Error::Other(format!(
            "crm_attribute could not set maintenance-mode={value}: {}; is pacemaker running on this node (`crm_mon -1`)?",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
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
    println!("resumed: Pacemaker manages the pair again (maintenance mode off)");
    Ok(())
}

pub fn status(config: &ClusterConfig, json: bool) -> Result<()> {
    let state = crm_state(&LocalNode::new())?;
    if json {
        let value = serde_json::json!({
            "manager": "pacemaker",
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
    let pair = match (state.promoted.as_slice(), state.unpromoted.as_slice()) {
        ([master], [slave, ..]) => format!("whole: {master} (master) -> {slave} (slave)"),
        ([master], []) => format!("degraded: {master} (master) has no slave running"),
        ([], _) => "no master: no node holds the promoted database".into(),
        (many, _) => format!("two masters: {}", many.join(", ")),
    };
    println!("manager: pacemaker (see `crm_mon -1` for the whole cluster)");
    println!("pair: {pair}");
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
        return Err(Error::Other(format!(
            "`{}` failed: {}",
            argv.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// A planned switchover through Pacemaker: the promoted instance moves to
/// `to` (default: the one slave); the agent demotes the master (read-only,
/// its client sessions ended), promotes the target, and points the old
/// master at it; the cluster address follows the promoted instance.
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
        return Err(Error::Other(format!(
            "no single master to switch from (promoted on: {:?}); see `mysql-ha status`",
            state.promoted
        )));
    };
    let target = match to {
        Some(wanted) => node_named(&node, &state.unpromoted, wanted).ok_or_else(|| {
            Error::Other(format!(
                "`{wanted}` is not a node running as slave (slaves: {})",
                state.unpromoted.join(", ")
            ))
        })?,
        None => match state.unpromoted.as_slice() {
            [one] => one.clone(),
            other => return Err(Error::Other(format!("give --to: the slaves are {other:?}"))),
        },
    };
    if state.maintenance {
        return Err(Error::Other(
            "the cluster is paused (maintenance mode): `mysql-ha resume` first".into(),
        ));
    }
    println!("switchover through Pacemaker: {master} -> {target}");
    println!("   run: crm_resource --move --resource {DB_CLONE} --promoted --node {target}");
    println!("   wait until {DB_CLONE} is promoted on {target} and {VIP_RESOURCE} runs there");
    println!("   run: crm_resource --clear --resource {DB_CLONE}    # the move's constraint goes");
    println!("   wait until {master} runs as slave of {target}");
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
            break Err(Error::Other(format!(
                "{target} not promoted after {} s (now promoted on {:?}); the move's constraint stays until `crm_resource --clear --resource {DB_CLONE}`",
                limit.as_secs(),
                now.promoted
            )));
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
        if now.unpromoted.contains(master) {
            println!("{master} replicates from {target} again");
            break;
        }
        if back.elapsed() > Duration::from_secs(60) {
            println!(
                "{master} does not run as slave yet: see `mysql-ha status` and `crm_mon -1` (failed actions)"
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
