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
            serde_json::to_string_pretty(&value).map_err(|e| Error::Other(e.to_string()))?
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
