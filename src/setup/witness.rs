//! The witness host (`cluster.witness`): setup installs `mysql-ha witness`
//! there as it installs the daemon on the nodes, as one step of the same
//! plan: an unprivileged account, the binary (checked by sha256), its
//! configuration with the cluster's vote key (0640, root and the account),
//! its service, started.

use std::path::{Path, PathBuf};

use super::pair::{Pair, WitnessHost};
use super::plan::{Change, NodeFile, Side, StepPlan};
use crate::mycnf::edit::FileEdit;
use crate::vote::witness::{WitnessConfig, CONFIG_PATH, DEFAULT_LEASE_MS};
use crate::Result;

pub const INIT_SCRIPT: &str = "/etc/init.d/mysql-ha-witness";
pub const SYSTEMD_UNIT: &str = "/etc/systemd/system/mysql-ha-witness.service";
pub const SERVICE: &str = "mysql-ha-witness";
const INIT_TEMPLATE: &str = include_str!("../../templates/mysql-ha-witness.init");
const UNIT_TEMPLATE: &str = include_str!("../../templates/mysql-ha-witness.service");

/// The witness's configuration as it is on the host, when it parses.
pub fn current_config(witness: &WitnessHost) -> Result<Option<WitnessConfig>> {
    Ok(witness
        .access
        .node()
        .read(Path::new(CONFIG_PATH))?
        .and_then(|bytes| WitnessConfig::parse(&String::from_utf8_lossy(&bytes)).ok()))
}

fn write(
    path: &str,
    before: Option<Vec<u8>>,
    after: Vec<u8>,
    mode: u32,
    group: &str,
    secret: bool,
) -> Change {
    Change::WriteFile(NodeFile {
        edit: FileEdit {
            path: PathBuf::from(path),
            before,
            after,
        },
        mode,
        owner: "root".into(),
        group: group.into(),
        secret,
        validate: None,
    })
}

fn command(argv: &[&str], why: &str) -> Change {
    Change::Command {
        argv: argv.iter().map(|a| a.to_string()).collect(),
        why: why.into(),
    }
}

/// The step that installs or updates the witness; None without one.
pub fn step(pair: &Pair, vote_key: &str, binary: &[u8]) -> Result<Option<StepPlan>> {
    let Some(witness) = &pair.witness else {
        return Ok(None);
    };
    let node = witness.access.node();
    let account = pair.answers.cluster.account.clone();
    let mut step = StepPlan {
        name: "install the witness",
        side: Side::Witness,
        changes: Vec::new(),
        summary: vec![format!(
            "{} votes with both nodes on who may be master (port {})",
            witness.host,
            crate::vote::wire::DEFAULT_PORT
        )],
    };
    let mut changed = false;

    let has_account = node
        .run(&["id", "-u", &account], None)
        .map(|o| o.success())
        .unwrap_or(false);
    if !has_account {
        step.changes.push(command(
            &[
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                &account,
            ],
            "the account the witness runs as (no login, no privilege)",
        ));
        changed = true;
    }

    let current = node.read(Path::new(super::handoff::BINARY_PATH))?;
    if current.as_deref().map(crate::backup::sha256_hex) == Some(crate::backup::sha256_hex(binary))
    {
        step.summary.push(format!(
            "{} is this build (sha256 matches)",
            super::handoff::BINARY_PATH
        ));
    } else {
        step.changes.push(write(
            super::handoff::BINARY_PATH,
            current,
            binary.to_vec(),
            0o755,
            "root",
            false,
        ));
        changed = true;
    }

    node.create_dir_all(Path::new("/etc/mysql-ha"), 0o755)?;
    let existing = node.read(Path::new(CONFIG_PATH))?;
    let kept = existing
        .as_deref()
        .and_then(|b| WitnessConfig::parse(&String::from_utf8_lossy(b)).ok());
    let config = WitnessConfig {
        listen: kept
            .as_ref()
            .map(|c| c.listen.clone())
            .unwrap_or_else(|| format!("0.0.0.0:{}", crate::vote::wire::DEFAULT_PORT)),
        vote_key: vote_key.to_string(),
        lease_ms: kept
            .as_ref()
            .map(|c| c.lease_ms)
            .unwrap_or(DEFAULT_LEASE_MS),
    };
    let text = config.to_toml()?.into_bytes();
    if existing.as_deref() != Some(text.as_slice()) {
        step.changes
            .push(write(CONFIG_PATH, existing, text, 0o640, &account, true));
        changed = true;
    } else {
        step.summary.push(format!("{CONFIG_PATH} unchanged"));
    }

    let systemd = node.stat(Path::new("/run/systemd/system"))?.is_some();
    if systemd {
        let unit = UNIT_TEMPLATE.replace("@USER@", &account);
        let current = node.read(Path::new(SYSTEMD_UNIT))?;
        if current.as_deref() != Some(unit.as_bytes()) {
            step.changes.push(write(
                SYSTEMD_UNIT,
                current,
                unit.into_bytes(),
                0o644,
                "root",
                false,
            ));
            step.changes.push(command(
                &["systemctl", "daemon-reload"],
                "read the new unit",
            ));
            step.changes.push(command(
                &["systemctl", "enable", "mysql-ha-witness.service"],
                "start the witness at boot",
            ));
            changed = true;
        }
    } else {
        let script = INIT_TEMPLATE.replace("@ACCOUNT@", &account);
        let current = node.read(Path::new(INIT_SCRIPT))?;
        if current.as_deref() != Some(script.as_bytes()) {
            step.changes.push(write(
                INIT_SCRIPT,
                current,
                script.into_bytes(),
                0o755,
                "root",
                false,
            ));
            changed = true;
        }
        let registered = node
            .list_dir(Path::new("/etc/rc2.d"))?
            .iter()
            .any(|n| n.starts_with('S') && n.ends_with(SERVICE));
        if !registered {
            let chkconfig = node.stat(Path::new("/sbin/chkconfig"))?.is_some()
                && node.stat(Path::new("/usr/sbin/update-rc.d"))?.is_none();
            if chkconfig {
                step.changes.push(command(
                    &["chkconfig", "--add", SERVICE],
                    "start the witness at boot",
                ));
            } else {
                step.changes.push(command(
                    &["update-rc.d", SERVICE, "defaults"],
                    "start the witness at boot",
                ));
            }
        }
    }
    let running = if systemd {
        node.run(
            &[
                "systemctl",
                "is-active",
                "--quiet",
                "mysql-ha-witness.service",
            ],
            None,
        )
    } else {
        node.run(&[INIT_SCRIPT, "status"], None)
    }
    .map(|o| o.success())
    .unwrap_or(false);
    if changed || !running {
        if systemd {
            step.changes.push(command(
                &["systemctl", "restart", "mysql-ha-witness.service"],
                "(re)start the witness",
            ));
        } else {
            step.changes
                .push(command(&[INIT_SCRIPT, "restart"], "(re)start the witness"));
        }
    } else {
        step.summary
            .push("the witness runs this build and configuration".into());
    }
    Ok(Some(step))
}
