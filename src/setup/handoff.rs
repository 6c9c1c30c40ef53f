//! The hand-off: database accounts for the cluster daemon, the daemon's
//! binary, configuration and service on both nodes, started; then setup
//! waits until both daemons report healthy.

use std::path::Path;

use super::service_install::{self, write_file, Registrar, Service};
use crate::answers::{ClusterAnswers, Manager, Resource};
use crate::backup::{BootLink, CommandEffect};
use crate::daemon::config::{
    ClusterConfig, DaemonTls, Fence, Monitor, NodeSection, Role, Timings, VoteConfig,
};
use crate::operation::cluster_manager::ClusterManager;
use crate::operation::pair::Pair;
use crate::operation::plan::{Change, Side, Statement, StepPlan};
use crate::operation::undo::UndoRule;
use crate::sql::flavor::{account, quote_string};
use crate::sql::Family;
use crate::{Error, Result};

pub const BINARY_PATH: &str = crate::privileged::BINARY;
pub use crate::operation::cluster_daemon::INIT_SCRIPT;
pub const SYSTEMD_UNIT: &str = "/etc/systemd/system/mysql-ha.service";
pub use crate::answers::MONITOR_USER;
/// The dynamic-DNS name's TSIG key on each node (0640, root and the cluster
/// account): the daemon's config names this file, never the secret.
pub const DDNS_KEY_PATH: &str = "/etc/mysql-ha/ddns.key";
const INIT_TEMPLATE: &str = include_str!("../../templates/mysql-ha.init");
const UNIT_TEMPLATE: &str = include_str!("../../templates/mysql-ha.service");

/// What both nodes' cluster.toml share and setup generates.
struct SharedSecrets {
    monitor_password: String,
    vote_key: String,
    /// The port every voter listens on: the nodes' (an administrator may
    /// have changed it in cluster.toml), so the witness listens there too.
    vote_port: u16,
}

/// The monitor password and the vote key both nodes share: the vote key of
/// the answers when given (a witness that already runs has its own), else
/// kept from an earlier run when a node has them, so a re-run changes nothing.
fn shared_secrets(pair: &Pair) -> Result<SharedSecrets> {
    let mut existing: Option<ClusterConfig> = None;
    for member in [&pair.master, &pair.slave] {
        if let Some(bytes) = member
            .access
            .node()
            .read(Path::new(crate::daemon::config::DEFAULT_PATH))?
        {
            if let Ok(config) = ClusterConfig::parse(&String::from_utf8_lossy(&bytes)) {
                existing = Some(config);
                break;
            }
        }
    }
    let monitor_password = existing
        .as_ref()
        .map(|c| c.monitor.password.clone())
        .unwrap_or_else(crate::answers::generate_password);
    let vote_port = existing
        .as_ref()
        .map(|c| c.vote.port)
        .unwrap_or(crate::vote::wire::DEFAULT_PORT);
    // A witness that already runs (for this cluster or, shared, for
    // others) keeps its key: the nodes get the same.
    let witness_key = match &pair.witness {
        Some(witness) => super::witness::current_config(witness)?.map(|c| c.vote_key),
        None => None,
    };
    let vote_key = if !pair.answers.cluster.vote_key.is_empty() {
        pair.answers.cluster.vote_key.clone()
    } else {
        witness_key
            .or_else(|| existing.map(|c| c.vote.key))
            .filter(|key| !key.is_empty())
            .unwrap_or_else(crate::vote::wire::new_key)
    };
    Ok(SharedSecrets {
        monitor_password,
        vote_key,
        vote_port,
    })
}

fn peer_of(pair: &Pair, side: Side) -> &str {
    match side {
        Side::Master => &pair.answers.slave.host,
        // (The witness runs no daemon of a node: never asked.)
        Side::Slave | Side::Slave2 | Side::Witness => &pair.answers.master.host,
    }
}

fn monitor_hosts(pair: &Pair, side: Side) -> Vec<String> {
    let own = match side {
        Side::Master => pair.answers.master.host.clone(),
        Side::Slave => pair.answers.slave.host.clone(),
        Side::Slave2 => pair.answers.slave2.host.clone(),
        Side::Witness => pair.answers.cluster.witness.clone(),
    };
    let mut hosts = vec![peer_of(pair, side).to_string(), own];
    if pair.answers.cluster.resource == Resource::Vip {
        if let Some(address) = pair.answers.cluster.vip.split('/').next() {
            hosts.push(address.to_string());
        }
    }
    hosts.dedup();
    hosts
}

fn accounts_step(pair: &mut Pair, side: Side, password: &str) -> Result<StepPlan> {
    let hosts = monitor_hosts(pair, side);
    let daemon_account = pair.answers.cluster.account.clone();
    // With TLS the monitor account refuses plain-text logins.
    let require = if crate::tls::TlsFiles::from_answers(&pair.answers.replication).is_some() {
        " REQUIRE SSL"
    } else {
        ""
    };
    let member = pair.member(side)?;
    let conn = member.sql();
    let flavor = conn.flavor();
    let family = flavor.family;
    let table_exists = conn.scalar(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql_ha' AND TABLE_NAME = 'write_check'",
    )?;
    let monitors = conn.scalar(&format!(
        "SELECT COUNT(*) FROM mysql.user WHERE User = {}",
        quote_string(MONITOR_USER)
    ))?;
    let local = conn.scalar(&format!(
        "SELECT COUNT(*) FROM mysql.user WHERE User = {} AND Host = 'localhost' AND Reload_priv = 'Y' AND Process_priv = 'Y'",
        quote_string(&daemon_account)
    ))?;
    let mut step = StepPlan {
        name: "cluster daemon database accounts",
        side,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    let plain_monitors = conn.scalar(&format!(
        "SELECT COUNT(*) FROM mysql.user WHERE User = {} AND ssl_type = ''",
        quote_string(MONITOR_USER)
    ))?;
    let tls_in_place = require.is_empty() || plain_monitors.as_deref() == Some("0");
    // MySQL's semi-sync is a pair of plugins; installed here, while the
    // server is writable (super_read_only refuses INSTALL PLUGIN), so the
    // daemon finds them on either node whatever role it gets.
    let mut missing_plugins = Vec::new();
    for (plugin, library) in flavor.semi_sync().plugins {
        let present = conn.scalar(&format!(
            "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = {}",
            quote_string(plugin)
        ))?;
        if present.as_deref() != Some("1") {
            missing_plugins.push((
                plugin.to_string(),
                format!("INSTALL PLUGIN {plugin} SONAME {}", quote_string(library)),
            ));
        }
    }
    let in_place = table_exists.as_deref() == Some("1")
        && tls_in_place
        && monitors.as_deref() == Some(&hosts.len().to_string())
        && local.as_deref() == Some("1")
        && missing_plugins.is_empty();
    if in_place {
        step.summary.push(format!(
            "{MONITOR_USER} ({} hosts), {daemon_account}@localhost and mysql_ha.write_check exist",
            hosts.len()
        ));
        return Ok(step);
    }
    let local_account = account(&daemon_account, "localhost");
    let (identified, privileges) = match family {
        Family::MariaDb => (
            "IDENTIFIED VIA unix_socket",
            "READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, SLAVE MONITOR, BINLOG MONITOR, CONNECTION ADMIN, RELOAD, PROCESS",
        ),
        Family::MySql => (
            "IDENTIFIED WITH auth_socket",
            "SYSTEM_VARIABLES_ADMIN, REPLICATION_SLAVE_ADMIN, REPLICATION CLIENT, CONNECTION_ADMIN, RELOAD, PROCESS",
        ),
    };
    // RELOAD: the takeover's RESET SLAVE ALL needs it; REPLICATION MASTER
    // ADMIN and PROCESS: semi-sync settings and ending the sessions that wait
    // on it when the master stands aside. Each node gets its own
    // accounts, kept out of the binary log.
    let local_undo = UndoRule::Account {
        user: daemon_account.clone(),
        host: "localhost".into(),
    };
    let mut sql = vec![
        Statement::control("SET SESSION sql_log_bin = 0"),
        Statement::plain("CREATE DATABASE IF NOT EXISTS mysql_ha"),
        Statement::plain(
            "CREATE TABLE IF NOT EXISTS mysql_ha.write_check (node VARCHAR(255) PRIMARY KEY, term BIGINT UNSIGNED NOT NULL, at DATETIME NOT NULL)",
        ),
        Statement::new(
            format!("CREATE USER IF NOT EXISTS {local_account} {identified}"),
            local_undo.clone(),
        ),
        Statement::new(
            format!("GRANT {privileges} ON *.* TO {local_account}"),
            local_undo.clone(),
        ),
        Statement::new(
            format!("GRANT SELECT, INSERT, UPDATE, DELETE ON mysql_ha.* TO {local_account}"),
            local_undo,
        ),
    ];
    for host in &hosts {
        let who = account(MONITOR_USER, host);
        let monitor_undo = UndoRule::Account {
            user: MONITOR_USER.into(),
            host: host.clone(),
        };
        sql.extend(Statement::all(
            flavor.replace_user(&who, password, require),
            &monitor_undo,
        ));
        sql.push(Statement::new(
            format!("GRANT SELECT, INSERT, UPDATE ON mysql_ha.* TO {who}"),
            monitor_undo,
        ));
    }
    sql.push(Statement::control("SET SESSION sql_log_bin = 1"));
    sql.extend(
        missing_plugins
            .into_iter()
            .map(|(plugin, install)| Statement::new(install, UndoRule::Plugin(plugin))),
    );
    step.changes = sql.into_iter().map(Change::Sql).collect();
    Ok(step)
}

fn node_config(pair: &Pair, side: Side, profile: &str, secrets: &SharedSecrets) -> ClusterConfig {
    let (own, peer, role) = match side {
        Side::Master => (&pair.answers.master, &pair.answers.slave, Role::Master),
        Side::Slave | Side::Witness => (&pair.answers.slave, &pair.answers.master, Role::Slave),
        Side::Slave2 => (&pair.answers.slave2, &pair.answers.master, Role::Slave),
    };
    ClusterConfig {
        fence: Fence::StopServer,
        notify: Vec::new(),
        fence_command: Vec::new(),
        broken_slave: Default::default(),
        node: NodeSection {
            address: own.host.clone(),
            peer: peer.host.clone(),
            initial_role: role,
            profile: profile.to_string(),
            peer_ssh_port: peer.ssh_port,
            mysql_port: peer.mysql_port,
            binary: pair.answers.install.node_binary().to_string(),
        },
        cluster: daemon_cluster(&pair.answers.cluster),
        timings: answered_timings(&pair.answers.cluster, Timings::default()),
        monitor: Monitor {
            user: MONITOR_USER.into(),
            password: secrets.monitor_password.clone(),
        },
        durability: pair.answers.replication.durability,
        vote: VoteConfig {
            key: secrets.vote_key.clone(),
            ..VoteConfig::default()
        },
        tls: DaemonTls {
            ca_file: crate::tls::TlsFiles::from_answers(&pair.answers.replication)
                .map(|f| f.ca_text())
                .unwrap_or_default(),
        },
        metrics: Default::default(),
    }
}

/// The cluster answers as the daemon gets them: a dynamic-DNS key through
/// the key file setup installs, its secret, the key passphrase and the
/// fence password left out of cluster.toml.
fn daemon_cluster(answers: &crate::answers::ClusterAnswers) -> crate::answers::ClusterAnswers {
    let mut cluster = answers.clone();
    // The passphrase stays in the root-only passphrase file: cluster.toml is
    // readable by the cluster account (docs/cluster-access.md).
    cluster.key_passphrase.clear();
    // Pacemaker's fence devices read theirs from its local secrets.
    cluster.fence_password.clear();
    cluster.check_interval_s = None;
    cluster.check_timeout_s = None;
    if cluster.resource == Resource::Ddns {
        cluster.ddns.key_file = DDNS_KEY_PATH.into();
        cluster.ddns.key_name.clear();
        cluster.ddns.key_secret.clear();
    }
    // The key goes to [vote]; the daemon needs no ssh account on the witness.
    cluster.vote_key.clear();
    cluster.witness_ssh_user = ClusterAnswers::default().witness_ssh_user;
    cluster
}

/// The timings the answers give (check interval, failure threshold, check
/// timeout) over `base`, which keeps the others.
fn answered_timings(answers: &crate::answers::ClusterAnswers, base: Timings) -> Timings {
    Timings {
        check_interval_ms: u64::from(answers.check_interval_ms),
        failure_threshold: answers.failure_threshold,
        query_timeout_ms: u64::from(answers.check_timeout_ms),
        ..base
    }
}

/// Keeps what an administrator tuned in an existing config (the timings
/// the answers do not give, notify, fence, metrics); setup owns the rest.
fn merged(existing: Option<&[u8]>, mut wanted: ClusterConfig) -> ClusterConfig {
    if let Some(old) = existing.and_then(|b| ClusterConfig::parse(&String::from_utf8_lossy(b)).ok())
    {
        wanted.timings = Timings {
            check_interval_ms: wanted.timings.check_interval_ms,
            failure_threshold: wanted.timings.failure_threshold,
            query_timeout_ms: wanted.timings.query_timeout_ms,
            ..old.timings
        };
        wanted.notify = old.notify;
        wanted.fence = old.fence;
        wanted.fence_command = old.fence_command;
        wanted.broken_slave = old.broken_slave;
        wanted.metrics = old.metrics;
        // The key is setup's (the witness's); the rest an administrator's.
        wanted.vote = VoteConfig {
            key: wanted.vote.key,
            ..old.vote
        };
    }
    wanted
}

fn install_step(
    pair: &mut Pair,
    side: Side,
    secrets: &SharedSecrets,
    binary: &[u8],
) -> Result<StepPlan> {
    let account_name = pair.answers.cluster.account.clone();
    let install = pair.answers.install.clone();
    let node_binary = install.node_binary();
    let profile_name = pair.member(side)?.profile.name.clone();
    let wanted_config = node_config(pair, side, &profile_name, secrets);
    let ddns_key = if pair.answers.cluster.resource == Resource::Ddns {
        Some(crate::ddns::TsigKey::from_answers(&pair.answers.cluster.ddns)?.to_key_file())
    } else {
        None
    };
    let member = pair.member(side)?;
    let node = member.access.node();
    // The cluster-access steps earlier in this plan create the account, so
    // on a first run it does not exist yet; its name is resolved at apply.
    let group = account_name.clone();
    let mut step = StepPlan {
        name: "install the cluster daemon",
        side,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    let mut changed = false;

    changed |= if install.package.is_empty() {
        service_install::binary(node, &mut step, BINARY_PATH, binary)?
    } else {
        service_install::package(node, &mut step, &install)?
    };

    node.create_dir_all(Path::new("/etc/mysql-ha"), 0o755)?;
    let existing = node.read(Path::new(crate::daemon::config::DEFAULT_PATH))?;
    let config = merged(existing.as_deref(), wanted_config);
    let text = config.to_toml()?.into_bytes();
    if existing.as_deref() != Some(text.as_slice()) {
        step.changes.push(write_file(
            crate::daemon::config::DEFAULT_PATH,
            existing,
            text,
            0o640,
            &group,
            true,
        ));
        changed = true;
    } else {
        step.summary
            .push(format!("{} unchanged", crate::daemon::config::DEFAULT_PATH));
    }

    if let Some(key_file) = ddns_key {
        let existing = node.read(Path::new(DDNS_KEY_PATH))?;
        if existing.as_deref() != Some(key_file.as_bytes()) {
            step.changes.push(write_file(
                DDNS_KEY_PATH,
                existing,
                key_file.into_bytes(),
                0o640,
                &group,
                true,
            ));
            changed = true;
        } else {
            step.summary.push(format!("{DDNS_KEY_PATH} unchanged"));
        }
    }

    let profile = member.profile.clone();
    let service = Service {
        name: "mysql-ha",
        what: "the cluster daemon",
        init_script: INIT_SCRIPT,
        init_text: INIT_TEMPLATE
            .replace("@ACCOUNT@", &account_name)
            .replace("@BINARY@", node_binary),
        unit: SYSTEMD_UNIT,
        unit_text: UNIT_TEMPLATE
            .replace("@USER@", &account_name)
            .replace("@BINARY@", node_binary)
            .replace(
                "@SERVER_UNIT@",
                profile.service.systemd_unit.as_deref().unwrap_or(""),
            ),
        registrar: match profile.service.enable.first().map(String::as_str) {
            Some("chkconfig") => Registrar::Chkconfig,
            _ => Registrar::UpdateRcD,
        },
    };
    service_install::plan(node, &service, changed, &mut step)?;
    Ok(step)
}

/// With another manager: cluster.toml only (our commands read the cluster
/// from it), no daemon.
fn config_only_step(pair: &mut Pair, side: Side, secrets: &SharedSecrets) -> Result<StepPlan> {
    let account_name = pair.answers.cluster.account.clone();
    let profile_name = pair.member(side)?.profile.name.clone();
    let wanted = node_config(pair, side, &profile_name, secrets);
    let node = pair.member(side)?.access.node();
    let mut step = StepPlan {
        name: "cluster configuration for our commands",
        side,
        changes: Vec::new(),
        summary: vec!["cluster.toml tells status, switchover, pause and resume that Pacemaker manages the pair; no mysql-ha daemon runs".into()],
    };
    node.create_dir_all(Path::new("/etc/mysql-ha"), 0o755)?;
    let existing = node.read(Path::new(crate::daemon::config::DEFAULT_PATH))?;
    let text = merged(existing.as_deref(), wanted).to_toml()?.into_bytes();
    if existing.as_deref() != Some(text.as_slice()) {
        step.changes.push(write_file(
            crate::daemon::config::DEFAULT_PATH,
            existing,
            text,
            0o640,
            &account_name,
            true,
        ));
    }
    Ok(step)
}

/// Our daemon lets go of a node when another manager takes over: a daemon
/// an earlier run installed is stopped and kept from starting at boot (it
/// keeps the address it holds, for the next manager to take). Nothing when
/// it neither runs nor starts at boot: a re-run after the switch changes
/// nothing.
fn leave_step(pair: &mut Pair, side: Side) -> Result<Option<StepPlan>> {
    let node = pair.member(side)?.access.node();
    let mut step = StepPlan {
        name: "leave our daemon",
        side,
        changes: Vec::new(),
        summary: vec![
            "another cluster manager takes over: the mysql-ha daemon stops on this node".into(),
        ],
    };
    let systemd = node.stat(Path::new("/run/systemd/system"))?.is_some();
    // Only a daemon that runs or starts at boot is stopped: a re-run after
    // the switch changes nothing.
    let succeeds = |argv: &[&str]| node.run(argv, None).map(|o| o.success()).unwrap_or(false);
    let daemon_active = if systemd {
        succeeds(&["systemctl", "is-active", "--quiet", "mysql-ha.service"])
            || succeeds(&["systemctl", "is-enabled", "--quiet", "mysql-ha.service"])
    } else {
        succeeds(&[INIT_SCRIPT, "status"])
            || succeeds(&["sh", "-c", "ls /etc/rc[2-5].d/S*mysql-ha >/dev/null 2>&1"])
    };
    if !daemon_active {
        return Ok(None);
    }
    let why = "another cluster manager runs the pair now: our daemon stops";
    let stopped = |systemd| CommandEffect::Stopped {
        service: "mysql-ha".into(),
        systemd,
    };
    let off_boot = |link| CommandEffect::OffBoot {
        service: "mysql-ha".into(),
        link,
    };
    if systemd && node.stat(Path::new(SYSTEMD_UNIT))?.is_some() {
        step.changes.push(Change::command_with(
            &["systemctl", "disable", "--now", "mysql-ha.service"],
            why,
            vec![stopped(true), off_boot(BootLink::Systemd)],
        ));
    } else if !systemd && node.stat(Path::new(INIT_SCRIPT))?.is_some() {
        step.changes.push(Change::command_with(
            &[INIT_SCRIPT, "stop"],
            why,
            vec![stopped(false)],
        ));
        step.changes.push(Change::command_with(
            &["update-rc.d", "mysql-ha", "disable"],
            "and does not start at boot",
            vec![off_boot(BootLink::UpdateRcD)],
        ));
    }
    Ok((!step.changes.is_empty()).then_some(step))
}

/// The cluster configuration our commands read (status, switchover,
/// pause and resume) and the monitor accounts, without our daemon: for a
/// pair another manager runs.
pub fn commands_config_steps(pair: &mut Pair) -> Result<Vec<StepPlan>> {
    let secrets = shared_secrets(pair)?;
    Ok(vec![
        accounts_step(pair, Side::Master, &secrets.monitor_password)?,
        accounts_step(pair, Side::Slave, &secrets.monitor_password)?,
        config_only_step(pair, Side::Master, &secrets)?,
        config_only_step(pair, Side::Slave, &secrets)?,
    ])
}

/// Our own cluster daemon as the pair's manager (`cluster.manager =
/// "mysql-ha"`): the witness, then the daemon on both nodes.
pub struct OwnDaemon;

impl ClusterManager for OwnDaemon {
    fn kind(&self) -> Manager {
        Manager::MysqlHa
    }

    /// The master first: it claims the cluster resource.
    fn install(&self, pair: &mut Pair, _replication_password: &str) -> Result<Vec<StepPlan>> {
        let exe = std::env::current_exe().map_err(|e| Error::io("/proc/self/exe", e))?;
        let binary = std::fs::read(&exe).map_err(|e| Error::io(&exe, e))?;
        let secrets = shared_secrets(pair)?;
        let mut steps = vec![
            accounts_step(pair, Side::Master, &secrets.monitor_password)?,
            accounts_step(pair, Side::Slave, &secrets.monitor_password)?,
        ];
        // The witness answers before the daemons start asking it.
        steps.extend(super::witness::step(
            pair,
            &secrets.vote_key,
            secrets.vote_port,
            &binary,
        )?);
        steps.push(install_step(pair, Side::Master, &secrets, &binary)?);
        steps.push(install_step(pair, Side::Slave, &secrets, &binary)?);
        Ok(steps)
    }

    fn remove(&self, pair: &mut Pair) -> Result<Vec<StepPlan>> {
        let mut steps = Vec::new();
        for side in [Side::Master, Side::Slave] {
            steps.extend(leave_step(pair, side)?);
        }
        Ok(steps)
    }

    fn waiting_for(&self) -> &'static str {
        "wait for both cluster daemons"
    }

    fn wait_running(&self, pair: &mut Pair) -> Result<Vec<String>> {
        crate::operation::cluster_daemon::wait_healthy(pair)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn config(timings: Timings) -> ClusterConfig {
        ClusterConfig {
            node: NodeSection {
                address: "192.0.2.11".into(),
                peer: "192.0.2.12".into(),
                initial_role: Role::Master,
                profile: "debian-12".into(),
                peer_ssh_port: 22,
                mysql_port: 3306,
                binary: "/usr/sbin/mysql-ha".into(),
            },
            cluster: crate::answers::ClusterAnswers::default(),
            timings,
            monitor: Monitor {
                user: MONITOR_USER.into(),
                password: "secret-secret-1".into(),
            },
            fence: Fence::StopServer,
            notify: vec![],
            fence_command: vec![],
            broken_slave: Default::default(),
            durability: crate::answers::Durability::SemiSync,
            vote: VoteConfig::default(),
            tls: DaemonTls::default(),
            metrics: Default::default(),
        }
    }

    #[test]
    fn the_key_passphrase_never_reaches_cluster_toml() {
        let answers = crate::answers::ClusterAnswers {
            key_passphrase: "simplepassphrase".into(),
            fence_password: "bmc-password-not-here".into(),
            ..Default::default()
        };
        let mut wanted = config(Timings::default());
        wanted.cluster = daemon_cluster(&answers);
        let text = wanted.to_toml().unwrap();
        assert!(!text.contains("simplepassphrase"), "{text}");
        assert!(!text.contains("bmc-password-not-here"), "{text}");
    }

    #[test]
    fn the_service_runs_the_binary_of_the_install_method() {
        for binary in [
            crate::privileged::BINARY,
            crate::privileged::PACKAGED_BINARY,
        ] {
            for template in [INIT_TEMPLATE, UNIT_TEMPLATE] {
                let text = template.replace("@BINARY@", binary);
                assert!(text.contains(binary), "{text}");
                assert!(!text.contains("@BINARY@"));
            }
        }
        assert!(!INIT_TEMPLATE.contains("/usr/local/sbin"));
        assert!(!UNIT_TEMPLATE.contains("/usr/local/sbin"));
    }

    #[test]
    fn the_service_starts_the_accounts_agent_for_an_encrypted_key() {
        for template in [INIT_TEMPLATE, UNIT_TEMPLATE] {
            assert!(template.contains("cluster-agent --account"), "{template}");
            assert!(
                template.contains("/etc/mysql-ha/key-passphrase"),
                "{template}"
            );
            assert!(template.contains("/run/mysql-ha/agent.env"), "{template}");
        }
        // A SysV service has no manager to start a dead daemon again.
        assert!(INIT_TEMPLATE.contains("supervise) supervise"));
        assert!(UNIT_TEMPLATE.contains("Restart=on-failure"));
    }

    #[test]
    fn the_answered_timings_reach_cluster_toml() {
        let mut answers = crate::answers::ClusterAnswers::default();
        let defaults = answered_timings(&answers, Timings::default());
        assert_eq!(
            defaults,
            Timings::default(),
            "answers' defaults are the daemon's"
        );
        answers.check_interval_ms = 2500;
        answers.failure_threshold = 5;
        answers.check_timeout_ms = 1500;
        let wanted = config(answered_timings(&answers, Timings::default()));
        let text = wanted.to_toml().unwrap();
        let written = ClusterConfig::parse(&text).unwrap().timings;
        assert_eq!(written.check_interval_ms, 2500);
        assert_eq!(written.failure_threshold, 5);
        assert_eq!(written.query_timeout_ms, 1500);
        // What an administrator tuned by hand and the answers do not give stays.
        let mut tuned = config(Timings {
            recheck_interval_ms: 333,
            check_interval_ms: 9999,
            ..Timings::default()
        });
        tuned.metrics.port = 9999;
        tuned.metrics.enabled = false;
        let tuned = tuned.to_toml().unwrap();
        let merged = merged(Some(tuned.as_bytes()), wanted);
        assert_eq!(merged.timings.recheck_interval_ms, 333);
        assert_eq!(merged.timings.check_interval_ms, 2500);
        assert_eq!(merged.metrics.port, 9999);
        assert!(!merged.metrics.enabled);
    }
}
