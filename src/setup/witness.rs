//! The witness host (`cluster.witness`): setup installs `mysql-ha witness`
//! there as it installs the daemon on the nodes, as one step of the same
//! plan: an unprivileged account, the binary (checked by sha256), its
//! configuration with the cluster's vote key (0640, root and the account),
//! its service, started.

use std::path::Path;

use super::service_install::{self, write_file, Registrar, Service};
use crate::operation::pair::{Pair, WitnessHost};
use crate::operation::plan::{Change, Side, StepPlan};
use crate::vote::witness::{WitnessConfig, CONFIG_PATH, DEFAULT_LEASE_MS};
use crate::Result;

pub use crate::vote::witness::{INIT_SCRIPT, SERVICE, SYSTEMD_UNIT};
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

fn command(argv: &[&str], why: &str) -> Change {
    Change::command(argv, why)
}

/// The step that installs or updates the witness; None without one.
pub fn step(pair: &Pair, vote_key: &str, port: u16, binary: &[u8]) -> Result<Option<StepPlan>> {
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
            "{} votes with both nodes on who may be master (port {port})",
            witness.host,
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

    changed |= service_install::binary(node, &mut step, crate::paths::BINARY, binary)?;

    node.create_dir_all(Path::new("/etc/mysql-ha"), 0o755)?;
    let existing = node.read(Path::new(CONFIG_PATH))?;
    let kept = existing
        .as_deref()
        .and_then(|b| WitnessConfig::parse(&String::from_utf8_lossy(b)).ok());
    let config = WitnessConfig {
        // Its own listening address kept, on the port the nodes ask.
        listen: format!(
            "{}:{port}",
            kept.as_ref()
                .and_then(|c| c.listen.rsplit_once(':').map(|(host, _)| host.to_string()))
                .unwrap_or_else(|| "0.0.0.0".into())
        ),
        vote_key: vote_key.to_string(),
        lease_ms: kept
            .as_ref()
            .map(|c| c.lease_ms)
            .unwrap_or(DEFAULT_LEASE_MS),
    };
    let text = config.to_toml()?.into_bytes();
    if existing.as_deref() != Some(text.as_slice()) {
        step.changes.push(write_file(
            CONFIG_PATH,
            existing,
            text,
            0o640,
            &account,
            true,
        ));
        changed = true;
    } else {
        step.summary.push(format!("{CONFIG_PATH} unchanged"));
    }

    let chkconfig = node.stat(Path::new("/sbin/chkconfig"))?.is_some()
        && node.stat(Path::new("/usr/sbin/update-rc.d"))?.is_none();
    let service = Service {
        name: SERVICE,
        what: "the witness",
        init_script: INIT_SCRIPT,
        init_text: INIT_TEMPLATE.replace("@ACCOUNT@", &account),
        unit: SYSTEMD_UNIT,
        unit_text: UNIT_TEMPLATE.replace("@USER@", &account),
        registrar: if chkconfig {
            Registrar::Chkconfig
        } else {
            Registrar::UpdateRcD
        },
    };
    service_install::plan(node, &service, changed, &mut step)?;
    Ok(Some(step))
}
