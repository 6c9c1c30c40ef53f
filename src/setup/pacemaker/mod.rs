//! The hand-off to Pacemaker/Corosync (`cluster.manager = "pacemaker"`):
//! instead of our daemon, both nodes run corosync (knet, the nodes'
//! addresses, one authkey) and pacemaker; the witness host runs
//! corosync-qnetd for the third vote; the database becomes a promotable
//! clone of `ocf:heartbeat:mariadb` (GTID) with the cluster address as an
//! `IPaddr2` that follows the promoted instance. The current master is
//! promoted first: no data moves during the hand-off.

use std::path::Path;
use std::time::{Duration, Instant};

use super::service_install::write_file;
use crate::answers::{Answers, Manager, Resource};
use crate::backup::{BootLink, CommandEffect};
use crate::node::Node;
use crate::operation::cluster_manager::ClusterManager;
use crate::operation::finding::{Finding, Severity};
use crate::operation::pair::{Member, Pair};
use crate::operation::plan::{Change, ManagerHold, Side, Statement, StepPlan};
use crate::operation::undo::UndoRule;
use crate::sql::flavor::{account, quote_string};
use crate::sql::Family;
use crate::{Error, Result};

mod config;
pub mod qdevice_tls;

pub use config::{
    agent_client_script, corosync_conf, crm_configuration, fence_devices, ClusterNode, DbParams,
    Fence, FenceDevice, Layout, Vip, AGENT_CLIENT,
};
// Pacemaker's state and the resource names live in the shared core: the
// switchover of a running cluster reads them too.
pub use crate::operation::crm::{
    crm_state, parse_crm_mon, CrmState, DB_CLONE, DB_RESOURCE, VIP_RESOURCE,
};

pub const COROSYNC_CONF: &str = "/etc/corosync/corosync.conf";
pub const AUTHKEY: &str = "/etc/corosync/authkey";
/// The crm shell configuration setup loads (no secret in it).
pub const CRM_FILE: &str = "/etc/mysql-ha/pacemaker.crm";
pub const CLUSTER_NAME: &str = "mysqlha";
/// Pacemaker's local secrets (cibsecret's layout): the CIB holds `lrm://`
/// and each node keeps the value in a root-only file.
pub const SECRETS_DIR: &str = "/var/lib/pacemaker/lrm/secrets";
/// Appended to /etc/default/corosync-qdevice on SysV hosts.
const QDEVICE_WAIT: &str = "# mysql-ha setup: wait (at most 30 s) until corosync answers before qdevice starts.\ncase \"$1\" in start|restart|force-reload) timeout 30 sh -c 'until corosync-cmapctl -g totem.cluster_name >/dev/null 2>&1; do sleep 0.5; done' || true ;; esac\n";
/// How long a master waits for the slave's acknowledgement before it goes
/// on alone (the daemon's semi_sync_wait_ms; the server's default is 10 s).
const SEMI_SYNC_TIMEOUT_MS: u32 = 3000;
/// Corosync's authkey length (corosync-keygen's default).
const AUTHKEY_BYTES: usize = 256;
const READY_WAIT: Duration = Duration::from_secs(120);

/// The replication password file of the database resource.
pub fn password_file() -> String {
    format!("{SECRETS_DIR}/{DB_RESOURCE}/replication_passwd")
}

/// A Pacemaker node attribute (`crm_attribute --node`).
fn node_attribute(node: &str, lifetime: &str, name: &str, value: &str, why: &str) -> Change {
    command(
        &[
            "crm_attribute",
            "--node",
            node,
            "--lifetime",
            lifetime,
            "--name",
            name,
            "--update",
            value,
        ],
        why,
    )
}

fn command(argv: &[&str], why: &str) -> Change {
    Change::command(argv, why)
}

fn shell(line: &str, why: &str) -> Change {
    command(&["sh", "-c", line], why)
}

/// The node's name as Pacemaker will call it.
fn node_name(node: &dyn Node, label: &str) -> Result<String> {
    let out = node.run(&["uname", "-n"], None)?;
    let name = out.stdout_text().trim().to_string();
    if !out.success() || name.is_empty() {
        return Err(Error::Preflight {
            count: 1,
            findings: format!("{label}: `uname -n` gave no node name"),
        });
    }
    Ok(name)
}

fn program(node: &dyn Node, label: &str, name: &str, package: &str) -> Result<String> {
    let out = node.run(&["sh", "-c", &format!("command -v {name}")], None)?;
    let path = out.stdout_text().trim().to_string();
    if !out.success() || path.is_empty() {
        return Err(Error::Preflight {
            count: 1,
            findings: format!(
                "{label}: {name} is missing: install {package} (apt-get install {package}) and run setup again"
            ),
        });
    }
    Ok(path)
}

fn db_params(member: &Member, flavor: &crate::sql::Flavor, answers: &Answers) -> Result<DbParams> {
    let node = member.access.node();
    let label = member.label();
    for (file, package) in [
        (
            "/usr/lib/ocf/resource.d/heartbeat/mariadb",
            "resource-agents",
        ),
        ("/usr/sbin/pacemakerd", "pacemaker"),
        ("/usr/sbin/corosync", "corosync"),
        ("/usr/sbin/crm", "crmsh"),
    ] {
        if node.stat(Path::new(file))?.is_none() {
            return Err(Error::Preflight {
                count: 1,
                findings: format!(
                    "{label}: {file} is missing: install {package} (apt-get install {package}) and run setup again"
                ),
            });
        }
    }
    let profile = &member.profile;
    let binary = program(node, label, "mysqld_safe", "mariadb-server")?;
    let client = program(node, label, &profile.programs.client, "mariadb-client")?;
    let tls_options = crate::tls::TlsFiles::from_answers(&answers.replication)
        .map(|files| flavor.tls_options(&files.ca_text()).join(", "));
    let log = if node.stat(Path::new("/var/log/mysql"))?.is_some() {
        "/var/log/mysql/error.log".to_string()
    } else {
        profile
            .paths
            .datadir
            .join("error.log")
            .display()
            .to_string()
    };
    Ok(DbParams {
        binary,
        client,
        tls_options,
        config: profile.config.entry_file.display().to_string(),
        datadir: profile.paths.datadir.display().to_string(),
        socket: profile.paths.socket.display().to_string(),
        pid: profile.paths.pid_file.display().to_string(),
        log,
        replication_user: answers.replication.user.clone(),
        replication_port: answers.master.mysql_port,
    })
}

/// The layout of this pair from the answers and the master's profile.
pub fn layout(pair: &mut Pair) -> Result<Layout> {
    let answers = pair.answers.clone();
    let mut members = vec![&mut pair.master, &mut pair.slave];
    members.extend(pair.slave2.as_mut());
    if members
        .into_iter()
        .any(|m| m.sql().flavor().family != Family::MariaDb)
    {
        return Err(Error::Answers {
            key: "cluster.manager".into(),
            message: "pacemaker is set up with the ocf:heartbeat:mariadb agent (GTID), for MariaDB servers; MySQL's agent is not supported by setup yet: use cluster.manager = \"mysql-ha\"".into(),
        });
    }
    let mut nodes: Vec<ClusterNode> = Vec::new();
    let mut members = vec![&pair.master, &pair.slave];
    members.extend(pair.slave2.as_ref());
    for member in members {
        let name = node_name(member.access.node(), member.label())?;
        if let Some(other) = nodes.iter().find(|n| n.name == name) {
            return Err(Error::Preflight {
                count: 1,
                findings: format!(
                    "{} and {} are both called `{name}` (uname -n): Pacemaker tells nodes apart by name; give them different host names",
                    other.address,
                    member.answers.host
                ),
            });
        }
        nodes.push(ClusterNode {
            name,
            address: member.answers.host.clone(),
        });
    }
    let flavor = pair.master.sql().flavor();
    let db = db_params(&pair.master, &flavor, &answers)?;
    let vip = if answers.cluster.resource == Resource::Vip {
        let (address, prefix) = answers
            .cluster
            .vip
            .split_once('/')
            .unwrap_or((answers.cluster.vip.as_str(), "32"));
        Some(Vip {
            address: address.into(),
            prefix: prefix.into(),
            device: answers.cluster.device.clone(),
            arp: answers.cluster.arp,
        })
    } else {
        None
    };
    let fence = (!answers.cluster.fence_agent.is_empty()).then(|| Fence {
        agent: answers.cluster.fence_agent.clone(),
        params: answers.cluster.fence_params.clone(),
        node_params: answers
            .database_nodes()
            .iter()
            .map(|(_, node)| node.fence_params.clone())
            .collect(),
        password: !answers.cluster.fence_password.is_empty(),
    });
    let interval = u64::from(answers.cluster.check_interval_ms);
    // A quorum device breaks ties between an even number of nodes; three
    // nodes are their own majority.
    let witness = (!answers.cluster.witness.is_empty() && nodes.len().is_multiple_of(2))
        .then(|| answers.cluster.witness.clone());
    Ok(Layout {
        nodes,
        witness,
        token_ms: (interval * u64::from(answers.cluster.failure_threshold)).max(1000),
        monitor_s: interval.div_ceil(1000).max(1),
        migration_threshold: answers.cluster.failure_threshold,
        vip,
        db,
        fence,
    })
}

/// Database accounts the agent needs on a node: the replication account
/// from the other node (the roles swap) and on localhost, where the agent
/// runs its checks and promotions as that account.
fn accounts_step(pair: &mut Pair, side: Side, password: &str) -> Result<StepPlan> {
    let user = pair.answers.replication.user.clone();
    // Whoever is promoted, the others replicate from it: a slave's server
    // takes the replication account from every other node.
    let own = pair.member(side)?.answers.host.clone();
    let peers: Vec<String> = pair
        .answers
        .database_nodes()
        .iter()
        .map(|(_, node)| node.host.clone())
        .filter(|host| *host != own)
        .collect();
    // With TLS every slave the agent points connects over TLS (see
    // AGENT_CLIENT): the accounts it replicates with refuse plain text.
    let tls = crate::tls::TlsFiles::from_answers(&pair.answers.replication).is_some();
    let require = if tls { " REQUIRE SSL" } else { "" };
    let member = pair.member(side)?;
    let conn = member.sql();
    let mut step = StepPlan {
        name: "pacemaker database accounts",
        side,
        changes: Vec::new(),
        summary: vec![format!(
            "the mariadb agent logs in as {user} on localhost (read_only, replication, process list) and replicates as {user} from the other nodes{}",
            if tls { " over TLS (REQUIRE SSL)" } else { "" }
        )],
    };
    let local = account(&user, "localhost");
    let privileges = "REPLICATION SLAVE, READ_ONLY ADMIN, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, SLAVE MONITOR, BINLOG MONITOR, CONNECTION ADMIN, RELOAD, PROCESS";
    let local_undo = UndoRule::Account {
        user: user.clone(),
        host: "localhost".into(),
    };
    let mut sql = vec![Statement::control("SET SESSION sql_log_bin = 0")];
    sql.push(Statement::masked(
        format!("CREATE OR REPLACE USER {local} IDENTIFIED BY '********'"),
        format!(
            "CREATE OR REPLACE USER {local} IDENTIFIED BY {}",
            quote_string(password)
        ),
        local_undo.clone(),
    ));
    sql.push(Statement::new(
        format!("GRANT {privileges} ON *.* TO {local}"),
        local_undo,
    ));
    // The master's accounts for the slaves are the replication steps' own.
    for peer in peers.iter().filter(|_| side != Side::Master) {
        let remote = account(&user, peer);
        let remote_undo = UndoRule::Account {
            user: user.clone(),
            host: peer.clone(),
        };
        sql.push(Statement::masked(
            format!("CREATE OR REPLACE USER {remote} IDENTIFIED BY '********'{require}"),
            format!(
                "CREATE OR REPLACE USER {remote} IDENTIFIED BY {}{require}",
                quote_string(password)
            ),
            remote_undo.clone(),
        ));
        sql.push(Statement::new(
            format!("GRANT REPLICATION SLAVE ON *.* TO {remote}"),
            remote_undo,
        ));
    }
    sql.push(Statement::control("SET SESSION sql_log_bin = 1"));
    // A re-run with the same password (and TLS) changes nothing: the
    // agent's accounts log in already, as they should.
    let remote_hosts: Vec<&String> = peers.iter().filter(|_| side != Side::Master).collect();
    let wanted_ssl = quote_string(if tls { "ANY" } else { "" });
    let mut checks = vec!["Host = 'localhost' AND ssl_type = ''".to_string()];
    checks.extend(
        remote_hosts
            .iter()
            .map(|host| format!("Host = {} AND ssl_type = {wanted_ssl}", quote_string(host))),
    );
    let logs_in = conn
        .scalar(&format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = {} AND authentication_string = PASSWORD({}) AND (({}))",
            quote_string(&user),
            quote_string(password),
            checks.join(") OR (")
        ))
        .ok()
        .flatten()
        == Some(checks.len().to_string());
    if logs_in {
        step.summary.push(format!(
            "{local}{} exist with this password{}",
            if remote_hosts.is_empty() {
                String::new()
            } else {
                format!(" and {user} from {}", peers.join(", "))
            },
            if tls && !remote_hosts.is_empty() {
                ", requiring TLS from the other nodes"
            } else {
                ""
            }
        ));
    } else {
        step.changes = sql.into_iter().map(Change::Sql).collect();
    }
    Ok(step)
}

/// The option file that keeps the agent's durability settings.
fn durability_dropin(member: &Member) -> std::path::PathBuf {
    member
        .profile
        .config
        .settings_file
        .with_file_name("61-mysql-ha-pacemaker.cnf")
}

/// What the agent sets on every server it starts, for every start: semi-sync
/// AFTER_SYNC both ways, strict GTID, durable commits, and the timeout after
/// which a promoted master whose slave is gone goes on alone. (Whether a
/// master waits with no slave at all depends on its role: set at run time.)
fn durability_settings() -> String {
    format!(
        "# Written by mysql-ha setup (cluster.manager = \"pacemaker\"): the settings the\n# mariadb agent gives every server it starts, kept for any start; a promoted\n# master whose slave is gone waits rpl_semi_sync_master_timeout ms per commit\n# before it goes on alone.\n[mysqld]\nrpl_semi_sync_master_enabled = ON\nrpl_semi_sync_slave_enabled = ON\nrpl_semi_sync_master_wait_point = AFTER_SYNC\nrpl_semi_sync_master_timeout = {SEMI_SYNC_TIMEOUT_MS}\ngtid_strict_mode = ON\nsync_binlog = 1\ninnodb_flush_log_at_trx_commit = 1\n"
    )
}

/// What the durability option file says once Pacemaker let go: nothing (our
/// daemon turns semi-sync on and off by role itself).
const RELEASED_DROPIN: &str = "# Written by mysql-ha setup: Pacemaker no longer manages this pair; the\n# cluster daemon sets semi-sync at run time.\n";

/// The settings the mariadb agent gives a server it starts (semi-sync
/// AFTER_SYNC, strict GTID, durable commits), given now to the servers that
/// already run, so the running pair is what Pacemaker would have started;
/// the slave's I/O thread starts again to acknowledge as a semi-sync slave.
fn durability_step(pair: &mut Pair, side: Side) -> Result<StepPlan> {
    let member = pair.member(side)?;
    let conn = member.sql();
    let wait_no_slave = if side == Side::Master { "ON" } else { "OFF" };
    let wanted = format!("1 1 AFTER_SYNC 1 1 1 {wait_no_slave} {SEMI_SYNC_TIMEOUT_MS}");
    // Numbers for the switches (their text form differs by version).
    let current = conn
        .scalar(
            "SELECT CONCAT_WS(' ', @@rpl_semi_sync_master_enabled + 0, @@rpl_semi_sync_slave_enabled + 0, @@rpl_semi_sync_master_wait_point, @@gtid_strict_mode + 0, @@sync_binlog, @@innodb_flush_log_at_trx_commit, IF(@@rpl_semi_sync_master_wait_no_slave, 'ON', 'OFF'), @@rpl_semi_sync_master_timeout)",
        )?
        .unwrap_or_default();
    let mut step = StepPlan {
        name: "semi-sync as the agent runs it",
        side,
        changes: Vec::new(),
        summary: vec!["the mariadb agent turns on semi-synchronous replication (AFTER_SYNC) and strict GTID on every server it starts: the running servers get the same now".into()],
    };
    // The same settings for every start, whoever starts the server: a
    // restart outside the agent (a re-run's, an administrator's) must not
    // leave a master acknowledging commits no slave has.
    let dropin = durability_dropin(member);
    let text = durability_settings();
    let node = member.access.node();
    let existing = node.read(&dropin)?;
    let dropin_changes = existing.as_deref() != Some(text.as_bytes());
    if dropin_changes {
        step.changes.push(write_file(
            &dropin.display().to_string(),
            existing,
            text.into_bytes(),
            0o644,
            "root",
            false,
        ));
    }
    // A server this run restarts before this step read the old file: the
    // settings are given again whenever the file changes.
    if current == wanted && !dropin_changes {
        step.summary.push("already set".into());
        return Ok(step);
    }
    step.changes.push(Change::Sql(Statement::plain(format!(
        "SET GLOBAL rpl_semi_sync_master_enabled = ON, rpl_semi_sync_slave_enabled = ON, rpl_semi_sync_master_wait_point = 'AFTER_SYNC', rpl_semi_sync_master_wait_no_slave = {wait_no_slave}, rpl_semi_sync_master_timeout = {SEMI_SYNC_TIMEOUT_MS}, gtid_strict_mode = ON, sync_binlog = 1, innodb_flush_log_at_trx_commit = 1"
    ))));
    if side != Side::Master {
        let flavor = pair.member(side)?.sql().flavor();
        for sql in [flavor.stop_replica_io(), flavor.start_replica_io()] {
            step.changes.push(Change::Sql(Statement::control(sql)));
        }
    }
    Ok(step)
}

fn systemd(node: &dyn Node) -> Result<bool> {
    Ok(node.stat(Path::new("/run/systemd/system"))?.is_some())
}

/// Start `service` now and at boot.
fn enable_and_start(node: &dyn Node, step: &mut StepPlan, service: &str, why: &str) -> Result<()> {
    let started = |systemd| CommandEffect::Started {
        service: service.into(),
        systemd,
    };
    let at_boot = |link| CommandEffect::AtBoot {
        service: service.into(),
        link,
    };
    if systemd(node)? {
        step.changes.push(Change::command_with(
            &[
                "systemctl",
                "enable",
                "--now",
                &format!("{service}.service"),
            ],
            why,
            vec![at_boot(BootLink::Systemd), started(true)],
        ));
    } else {
        // `defaults` does nothing while any link of the service is left
        // (e.g. only its runlevel-2 link removed): start from none.
        step.changes
            .push(command(&["update-rc.d", "-f", service, "remove"], why));
        step.changes.push(Change::command_with(
            &["update-rc.d", service, "defaults"],
            why,
            vec![at_boot(BootLink::UpdateRcD)],
        ));
        step.changes.push(Change::command_with(
            &[&format!("/etc/init.d/{service}"), "start"],
            why,
            vec![started(false)],
        ));
    }
    Ok(())
}

fn running(node: &dyn Node, process: &str) -> bool {
    // pidof matches the program's whole name (ps cuts it at 15 characters).
    node.run(&["pidof", process], None)
        .map(|o| o.success())
        .unwrap_or(false)
}

/// md5 of a secret as cibsecret signs it (hex of the bare value).
fn secret_sign(node: &dyn Node, value: &str) -> Result<String> {
    let out = node.run(&["md5sum"], Some(value.as_bytes()))?;
    let sum = out
        .stdout_text()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    if !out.success() || sum.len() != 32 {
        return Err(Error::Node {
            node: node.label().to_string(),
            message: "md5sum gave no checksum for the agent's secret: is coreutils' md5sum there?"
                .into(),
        });
    }
    Ok(sum)
}

/// A value in Pacemaker's local secrets on a node (cibsecret's layout: the
/// CIB holds `lrm://`, the node `SECRETS_DIR/RESOURCE/PARAM`, root only,
/// with its `.sign` checksum), written as files, never on a command line.
fn secret_changes(
    node: &dyn Node,
    step: &mut StepPlan,
    resource: &str,
    param: &str,
    value: &str,
    what: &str,
) -> Result<()> {
    let secret_file = format!("{SECRETS_DIR}/{resource}/{param}");
    let secret = format!("{value}\n").into_bytes();
    let current_secret = node.read(Path::new(&secret_file))?;
    if current_secret.as_deref() == Some(secret.as_slice()) {
        step.summary
            .push(format!("{secret_file} unchanged ({what})"));
        return Ok(());
    }
    let sign = format!("{}\n", secret_sign(node, value)?).into_bytes();
    step.changes.push(command(
        &[
            "install",
            "-d",
            "-m",
            "0700",
            &format!("{SECRETS_DIR}/{resource}"),
        ],
        "Pacemaker's local secrets (root only): the CIB holds lrm:// instead of the password",
    ));
    step.changes.push(write_file(
        &secret_file,
        current_secret,
        secret,
        0o600,
        "root",
        true,
    ));
    let sign_file = format!("{secret_file}.sign");
    let current_sign = node.read(Path::new(&sign_file))?;
    step.changes.push(write_file(
        &sign_file,
        current_sign,
        sign,
        0o600,
        "root",
        true,
    ));
    Ok(())
}

/// Corosync and Pacemaker on one node: the authkey and corosync.conf, the
/// agent's password in Pacemaker's local secrets, the database's own boot
/// link off (Pacemaker starts and stops it now), the services started.
fn node_step(
    pair: &mut Pair,
    side: Side,
    layout: &Layout,
    authkey: &[u8],
    password: &str,
    new_certificates: bool,
) -> Result<StepPlan> {
    let witness = layout.witness.is_some() && layout.nodes.len().is_multiple_of(2);
    let pair_fence_password = pair.answers.cluster.fence_password.clone();
    let member = pair.member(side)?;
    let service_name = member.profile.service.name.clone();
    let node = member.access.node();
    let mut step = StepPlan {
        name: "corosync and pacemaker",
        side,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    let conf = corosync_conf(layout).into_bytes();
    let mut config_changed = false;
    let current_key = node.read(Path::new(AUTHKEY))?;
    step.summary.push(format!(
        "{AUTHKEY}: {} random bytes made by setup, the same on every node, written as a file (never on a command line)",
        authkey.len()
    ));
    if current_key.as_deref() != Some(authkey) {
        step.changes.push(write_file(
            AUTHKEY,
            current_key,
            authkey.to_vec(),
            0o400,
            "root",
            true,
        ));
        config_changed = true;
    } else {
        step.summary.push(format!("{AUTHKEY} unchanged"));
    }
    let current_conf = node.read(Path::new(COROSYNC_CONF))?;
    if current_conf.as_deref() != Some(conf.as_slice()) {
        step.changes.push(write_file(
            COROSYNC_CONF,
            current_conf,
            conf,
            0o644,
            "root",
            false,
        ));
        config_changed = true;
    } else {
        step.summary.push(format!("{COROSYNC_CONF} unchanged"));
    }
    secret_changes(
        node,
        &mut step,
        DB_RESOURCE,
        "replication_passwd",
        password,
        "the agent's replication password",
    )?;
    if let Some(options) = &layout.db.tls_options {
        let script = agent_client_script(&layout.db.client, options).into_bytes();
        if super::service_install::write_if_changed(
            node,
            &mut step,
            AGENT_CLIENT,
            script,
            0o755,
            "root",
            false,
        )? {
            step.summary.push(format!(
                "{AGENT_CLIENT}: the agent's client_binary; every CHANGE MASTER TO the agent issues gets {options}"
            ));
        }
    }
    if !pair_fence_password.is_empty() {
        for device in fence_devices(layout) {
            secret_changes(
                node,
                &mut step,
                &device.id,
                "password",
                &pair_fence_password,
                "the fence device's password",
            )?;
        }
    }
    let boot_links = node.run(
        &[
            "sh",
            "-c",
            &format!("ls /etc/rc2.d/S*{service_name} 2>/dev/null"),
        ],
        None,
    )?;
    let off_boot = |link| {
        vec![CommandEffect::OffBoot {
            service: service_name.clone(),
            link,
        }]
    };
    if systemd(node)? {
        step.changes.push(Change::command_with(
            &["systemctl", "disable", &format!("{service_name}.service")],
            "Pacemaker starts and stops the server now: not at boot by itself",
            off_boot(BootLink::Systemd),
        ));
    } else if boot_links.success() && !boot_links.stdout_text().trim().is_empty() {
        step.changes.push(Change::command_with(
            &["update-rc.d", &service_name, "disable"],
            "Pacemaker starts and stops the server now: not at boot by itself",
            off_boot(BootLink::UpdateRcD),
        ));
    }
    if config_changed && running(node, "corosync") {
        step.changes.push(shell(
            "corosync-cfgtool -R",
            "corosync reads the new configuration",
        ));
    }
    if witness && (config_changed || new_certificates) && running(node, "corosync-qdevice") {
        // qdevice reads its TLS setting and certificates at start only.
        let systemd = systemd(node)?;
        let restart: Vec<&str> = if systemd {
            vec!["systemctl", "restart", "corosync-qdevice.service"]
        } else {
            vec!["/etc/init.d/corosync-qdevice", "restart"]
        };
        step.changes.push(Change::command_with(
            &restart,
            "qdevice reads its settings and certificates at start",
            vec![CommandEffect::Restarted {
                service: "corosync-qdevice".into(),
                systemd,
            }],
        ));
    }
    if !running(node, "corosync") {
        enable_and_start(
            node,
            &mut step,
            "corosync",
            "the cluster's membership and quorum",
        )?;
    }
    if witness && !systemd(node)? {
        // At a SysV boot corosync-qdevice starts right after corosync and
        // fails while corosync does not answer yet (systemd orders them):
        // its init script reads this file first.
        let path = "/etc/default/corosync-qdevice";
        let current = node.read(Path::new(path))?;
        let before = current.clone().unwrap_or_default();
        if !String::from_utf8_lossy(&before).contains(QDEVICE_WAIT) {
            let mut after = before.clone();
            if !after.is_empty() && !after.ends_with(b"\n") {
                after.push(b'\n');
            }
            after.extend_from_slice(QDEVICE_WAIT.as_bytes());
            step.changes
                .push(write_file(path, current, after, 0o644, "root", false));
        }
    }
    if witness && !running(node, "corosync-qdevice") {
        // corosync answers on its API a moment after its start.
        step.changes.push(shell(
            "timeout 30 sh -c 'until corosync-cmapctl -g totem.cluster_name >/dev/null 2>&1; do sleep 0.5; done'",
            "wait for corosync to answer",
        ));
        enable_and_start(
            node,
            &mut step,
            "corosync-qdevice",
            "the witness's vote (qdevice)",
        )?;
    }
    if !running(node, "pacemakerd") {
        enable_and_start(node, &mut step, "pacemaker", "the cluster resource manager")?;
    }
    if step.changes.is_empty() {
        step.summary
            .push("corosync and pacemaker run with this configuration".into());
    }
    Ok(step)
}

/// corosync-qnetd on the witness host: the third vote.
fn witness_step(pair: &Pair) -> Result<Option<StepPlan>> {
    let Some(witness) = &pair.witness else {
        return Ok(None);
    };
    let node = witness.access.node();
    let mut step = StepPlan {
        name: "quorum device (corosync-qnetd)",
        side: Side::Witness,
        changes: Vec::new(),
        summary: vec![format!(
            "{} gives the third vote to the side that keeps the lower node id in a 50:50 split (ffsplit), on port 5403, over TLS (tls: required): qnetd proves itself with its certificate and the nodes with the cluster's, both signed by the qnetd CA",
            witness.host
        )],
    };
    if node.stat(Path::new("/usr/bin/corosync-qnetd"))?.is_none() {
        return Err(Error::Preflight {
            count: 1,
            findings: format!(
                "{}: corosync-qnetd is missing: install corosync-qnetd there (apt-get install corosync-qnetd) and run setup again",
                witness.host
            ),
        });
    }
    if running(node, "corosync-qnetd") {
        step.summary.push("corosync-qnetd runs".into());
    } else {
        enable_and_start(
            node,
            &mut step,
            "corosync-qnetd",
            "the quorum device's server",
        )?;
    }
    Ok(Some(step))
}

/// The resources, loaded on the master once both nodes are members: the
/// agent's attributes first (the master holds the promotion score, so the
/// running master is the one promoted and nothing is copied), then the
/// configuration.
fn resources_step(pair: &mut Pair, layout: &Layout) -> Result<StepPlan> {
    let crm = crm_configuration(layout).into_bytes();
    let node = pair.master.access.node();
    let mut step = StepPlan {
        name: "pacemaker resources",
        side: Side::Master,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    let master = &layout.nodes[0];
    step.summary.push(format!(
        "{DB_CLONE}: a promotable clone of ocf:heartbeat:mariadb (GTID, semi-sync set by the agent) on {}, promoted on {} first",
        layout.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", "),
        master.name
    ));
    if layout.vip.is_some() {
        step.summary.push(format!(
            "{VIP_RESOURCE} runs with the promoted instance, started after its promotion"
        ));
    }
    match &layout.fence {
        Some(fence) => {
            for device in fence_devices(layout) {
                step.summary.push(format!(
                    "fencing: stonith-enabled=true, {} ({}) fences {}{}",
                    device.id,
                    fence.agent,
                    device.targets.join(", "),
                    if fence.password {
                        "; its password from Pacemaker's local secrets (lrm://), not in the CIB"
                    } else {
                        ""
                    }
                ));
            }
            if layout.witness.is_none() && layout.nodes.len() == 2 {
                step.summary.push("fencing race (two nodes, no witness): priority-fencing-delay makes fencing the master's node wait, so the master's side wins".into());
            }
        }
        None => step.summary.push(format!(
            "NO FENCING (cluster.run_without_fencing = true): {}",
            crate::answers::NO_FENCING_RISK
        )),
    }
    match &layout.witness {
        Some(host) => step
            .summary
            .push(format!("quorum: 3 votes, the third from corosync-qnetd on {host}; a node that loses quorum stops its resources (no-quorum-policy=stop)")),
        None if layout.nodes.len() > 2 => step.summary.push(format!(
            "quorum: {} nodes, one vote each: a node cut off from the others loses quorum and stops its resources (no-quorum-policy=stop), the majority keeps running and promotes; no quorum device (one breaks ties between an even number of nodes: cluster.witness is not used)",
            layout.nodes.len()
        )),
        None => step.summary.push(
            "quorum: two_node: 1 (no witness): each node alone keeps quorum once both were seen (wait_for_all), so a cut link leaves both sides quorate and only fencing decides; give cluster.witness for a third vote".into(),
        ),
    }
    let current = node.read(Path::new(CRM_FILE))?;
    let configured = node
        .run(&["crm_resource", "--list-raw"], None)
        .map(|o| o.success() && o.stdout_text().contains(DB_RESOURCE))
        .unwrap_or(false);
    if current.as_deref() == Some(crm.as_slice()) && configured {
        step.summary
            .push(format!("{CRM_FILE} loaded and unchanged"));
        return Ok(step);
    }
    let count = layout.nodes.len();
    step.changes.push(shell(
        &format!(
            "timeout 90 sh -c 'until [ \"$(crm_mon -1 --output-as=xml 2>/dev/null | grep -c \"<node .*online=.true.\")\" = {count} ]; do sleep 1; done'"
        ),
        "wait until every node is a member of the cluster",
    ));
    for node in &layout.nodes {
        step.changes.push(node_attribute(
            &node.name,
            "forever",
            &format!("{DB_RESOURCE}_mysql_master_IP"),
            &node.address,
            "the address the others replicate from when this node is promoted",
        ));
    }
    step.changes.push(command(
        &[
            "crm_attribute",
            "--type",
            "crm_config",
            "--set-name",
            "mysql_replication",
            "--name",
            &format!("{DB_RESOURCE}_REPL_INFO"),
            "--update",
            &master.address,
        ],
        "the agent's record of the current master",
    ));
    for node in &layout.nodes {
        // A standing promotion score on every node: Pacemaker promotes the
        // survivor when the master's node is lost, even where the agent
        // would wait for every node before it picks one (it picks by GTID
        // when they are all there: its own score overrides this one).
        step.changes.push(node_attribute(
            &node.name,
            "forever",
            &format!("master-{DB_RESOURCE}"),
            "10",
            "any node may be promoted when the master's node is lost",
        ));
    }
    step.changes.push(node_attribute(
        &master.name,
        "reboot",
        &format!("master-{DB_RESOURCE}"),
        "100",
        "the running master is the one promoted (no data moves)",
    ));
    step.changes
        .push(write_file(CRM_FILE, current, crm, 0o600, "root", false));
    step.changes.push(command(
        &["crm", "configure", "load", "update", CRM_FILE],
        "properties, resources and constraints into the CIB",
    ));
    // `load update` merges: a fence device an earlier run configured and
    // these answers no longer name would go on fencing with old settings.
    // Deleted after the load: the last device goes only once the CIB says
    // stonith-enabled=false (crm refuses it before).
    let listed = node
        .run(&["crm_resource", "--list-raw"], None)
        .map(|o| o.stdout_text())
        .unwrap_or_default();
    for stale in stale_fence_devices(&listed, &fence_devices(layout)) {
        step.changes.push(command(
            &["crm", "configure", "delete", "--force", &stale],
            "a fence device of an earlier run that these answers no longer name",
        ));
    }
    // A property `load update` would keep: the fencing race's delay of a
    // pair that has a witness (or no fencing, or a third node) now.
    let delay = [
        "crm_attribute",
        "--type",
        "crm_config",
        "--name",
        "priority-fencing-delay",
    ];
    let delay_set = node
        .run(&[&delay[..], &["--query", "--quiet"]].concat(), None)
        .is_ok_and(|o| o.success() && !o.stdout_text().trim().is_empty());
    if delay_set && !config::two_node_fencing(layout) {
        step.changes.push(command(
            &[&delay[..], &["--delete"]].concat(),
            "the two-node fencing race's delay, which this layout does not need",
        ));
    }
    Ok(step)
}

/// The fence devices this tool made (ids `p_fence`, `p_fence_NODE`) that
/// `crm_resource --list-raw` lists and `wanted` does not hold; each goes
/// with its constraint (`l_ID_elsewhere`), which crm deletes with it.
fn stale_fence_devices(listed: &str, wanted: &[FenceDevice]) -> Vec<String> {
    let mut stale: Vec<String> = listed
        .lines()
        .map(str::trim)
        .filter(|id| *id == "p_fence" || id.starts_with("p_fence_"))
        .filter(|id| !wanted.iter().any(|device| device.id == *id))
        .map(str::to_string)
        .collect();
    stale.dedup();
    stale
}

/// The Pacemaker hand-off steps: the agent's accounts, corosync and
/// pacemaker on both nodes, qnetd on the witness, the resources.
fn steps(pair: &mut Pair, password: &str) -> Result<Vec<StepPlan>> {
    let layout = layout(pair)?;
    let authkey = match pair.master.access.node().read(Path::new(AUTHKEY))? {
        Some(key) if key.len() >= 128 => key,
        _ => {
            use rand::RngCore;
            let mut key = vec![0u8; AUTHKEY_BYTES];
            rand::rngs::OsRng.fill_bytes(&mut key);
            key
        }
    };
    let mut sides = vec![Side::Master, Side::Slave];
    if pair.slave2.is_some() {
        sides.push(Side::Slave2);
    }
    let mut steps = Vec::new();
    for side in &sides {
        steps.push(accounts_step(pair, *side, password)?);
    }
    // The slaves acknowledge as semi-sync slaves before the master waits.
    for side in sides.iter().rev() {
        steps.push(durability_step(pair, *side)?);
    }
    let mut new_certificates = Vec::new();
    if layout.witness.is_some() {
        let exchange = qdevice_certificate_steps(pair, &sides)?;
        new_certificates = exchange
            .iter()
            // A node whose database took a certificate (an export
            // leaves the holder's as it was).
            .filter(|step| {
                step.changes
                    .iter()
                    .any(|change| matches!(change, Change::CopyFile(_)))
            })
            .map(|step| step.side)
            .collect();
        steps.extend(exchange);
        steps.extend(witness_step(pair)?);
    }
    for side in &sides {
        let renewed = new_certificates.contains(side);
        steps.push(node_step(
            pair, *side, &layout, &authkey, password, renewed,
        )?);
    }
    steps.push(resources_step(pair, &layout)?);
    Ok(steps)
}

/// The certificates qdevice and qnetd prove themselves with (see
/// qdevice_tls), from what the witness and the nodes hold now.
fn qdevice_certificate_steps(pair: &mut Pair, sides: &[Side]) -> Result<Vec<StepPlan>> {
    let Some(witness) = &pair.witness else {
        return Ok(Vec::new());
    };
    let node = witness.access.node();
    let (db, ca) = qdevice_tls::qnetd_db(node, &witness.host)?;
    let qnetd = qdevice_tls::Qnetd {
        db,
        running: running(node, "corosync-qnetd"),
        systemd: systemd(node)?,
    };
    let mut nodes = Vec::new();
    for side in sides {
        let member = pair.member(*side)?;
        let label = member.label().to_string();
        let node = member.access.node();
        program(
            node,
            &label,
            "corosync-qdevice-net-certutil",
            "corosync-qdevice",
        )?;
        nodes.push(qdevice_tls::NodeCerts {
            side: *side,
            db: qdevice_tls::node_db(node, &label, ca.as_deref())?,
        });
    }
    Ok(qdevice_tls::exchange(&qnetd, &nodes))
}

/// Stops a service now and at boot.
fn disable_and_stop(node: &dyn Node, step: &mut StepPlan, service: &str, why: &str) -> Result<()> {
    let stopped = |systemd| CommandEffect::Stopped {
        service: service.into(),
        systemd,
    };
    let off_boot = |link| CommandEffect::OffBoot {
        service: service.into(),
        link,
    };
    if systemd(node)? {
        step.changes.push(Change::command_with(
            &[
                "systemctl",
                "disable",
                "--now",
                &format!("{service}.service"),
            ],
            why,
            vec![stopped(true), off_boot(BootLink::Systemd)],
        ));
    } else {
        step.changes.push(Change::command_with(
            &[&format!("/etc/init.d/{service}"), "stop"],
            why,
            vec![stopped(false)],
        ));
        step.changes.push(Change::command_with(
            &["update-rc.d", service, "disable"],
            why,
            vec![off_boot(BootLink::UpdateRcD)],
        ));
    }
    Ok(())
}

/// `cluster.manager = "mysql-ha"` on a pair Pacemaker managed (an earlier
/// run's hand-off): maintenance mode so the servers and the address stay
/// as they are, then pacemaker, corosync-qdevice and corosync stop and no
/// longer start at boot, the stored cluster configuration and the agent's
/// secret go, and the server starts at boot by itself again; qnetd stops on
/// the witness. Our daemon takes over in the steps after these. Nothing
/// when no node runs Pacemaker.
fn release_steps(pair: &mut Pair) -> Result<Vec<StepPlan>> {
    let mut steps = Vec::new();
    let mut first = true;
    for side in [Side::Master, Side::Slave] {
        let member = pair.member(side)?;
        let server = member.profile.service.name.clone();
        let node = member.access.node();
        let managed = running(node, "pacemakerd")
            || node
                .stat(Path::new("/var/lib/pacemaker/cib/cib.xml"))?
                .is_some();
        if !managed {
            continue;
        }
        let mut step = StepPlan {
            name: "leave pacemaker",
            side,
            changes: Vec::new(),
            summary: vec!["cluster.manager = \"mysql-ha\": Pacemaker lets go of the pair (maintenance mode, so the servers and the address stay as they are) and our daemon takes over".into()],
        };
        if first && running(node, "pacemakerd") {
            step.changes.push(command(
                &[
                    "crm_attribute",
                    "--type",
                    "crm_config",
                    "--name",
                    "maintenance-mode",
                    "--update",
                    "true",
                ],
                "Pacemaker leaves the servers and the address as they are when it stops",
            ));
            first = false;
        }
        for service in ["pacemaker", "corosync-qdevice", "corosync"] {
            let program = match service {
                "pacemaker" => "pacemakerd",
                other => other,
            };
            if running(node, program) {
                disable_and_stop(node, &mut step, service, "the cluster manager stops here")?;
            }
        }
        step.changes.push(shell(
            &format!("rm -f /var/lib/pacemaker/cib/cib* && rm -rf {SECRETS_DIR}/{DB_RESOURCE} {SECRETS_DIR}/p_fence*"),
            "the cluster's stored configuration and the agent's and fence devices' passwords go",
        ));
        let dropin = durability_dropin(member);
        if let Some(existing) = node.read(&dropin)? {
            if existing != RELEASED_DROPIN.as_bytes() {
                step.changes.push(write_file(
                    &dropin.display().to_string(),
                    Some(existing),
                    RELEASED_DROPIN.as_bytes().to_vec(),
                    0o644,
                    "root",
                    false,
                ));
            }
        }
        let link = if systemd(node)? {
            BootLink::Systemd
        } else {
            BootLink::UpdateRcD
        };
        let argv: Vec<String> = match link {
            BootLink::Systemd => vec![
                "systemctl".into(),
                "enable".into(),
                format!("{server}.service"),
            ],
            _ => vec!["update-rc.d".into(), server.clone(), "enable".into()],
        };
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        step.changes.push(Change::command_with(
            &argv,
            "the server starts at boot by itself again",
            vec![CommandEffect::AtBoot {
                service: server.clone(),
                link,
            }],
        ));
        steps.push(step);
    }
    if let Some(witness) = &pair.witness {
        let node = witness.access.node();
        if running(node, "corosync-qnetd") {
            let mut step = StepPlan {
                name: "leave pacemaker",
                side: Side::Witness,
                changes: Vec::new(),
                summary: vec![
                    "the quorum device's server stops: our witness gives the third vote".into(),
                ],
            };
            disable_and_stop(
                node,
                &mut step,
                "corosync-qnetd",
                "Pacemaker's quorum device stops",
            )?;
            steps.push(step);
        }
    }
    Ok(steps)
}

/// Preflight of a run on a cluster Pacemaker already manages: the run
/// (setup again, add-db) takes `[master]` for the master, so Pacemaker
/// must run the master there. After a failover it runs elsewhere: the run
/// stops before any change and says how to move it back. Nothing when
/// Pacemaker does not run on the master's node (a first hand-off).
pub fn check(pair: &Pair) -> Result<Vec<Finding>> {
    if pair.answers.cluster.manager != crate::answers::Manager::Pacemaker {
        return Ok(Vec::new());
    }
    let node = pair.master.access.node();
    let Ok(state) = crm_state(node) else {
        return Ok(Vec::new());
    };
    if state.promoted.is_empty() {
        return Ok(Vec::new());
    }
    let label = pair.master.label().to_string();
    let name = node_name(node, &label)?;
    let finding = if state.promoted == [name.clone()] {
        Finding {
            severity: Severity::Ok,
            node: label,
            check: "pacemaker",
            message: format!("Pacemaker runs the master on {name}, [master] in the answers"),
        }
    } else {
        Finding {
            severity: Severity::Fatal,
            node: label.clone(),
            check: "pacemaker",
            message: format!(
                "Pacemaker runs the master on {} now, not on [master] {label} ({name}): this run takes [master] for the master; move it back first (`mysql-ha switchover --to {name}`), then run again",
                state.promoted.join(", ")
            ),
        }
    };
    Ok(vec![finding])
}

/// The agent's replication password as a node keeps it (a re-run keeps it).
fn stored_password(node: &dyn Node) -> Result<Option<String>> {
    Ok(node
        .read(Path::new(&password_file()))?
        .map(|b| {
            String::from_utf8_lossy(&b)
                .trim_end_matches('\n')
                .to_string()
        })
        .filter(|p| !p.is_empty()))
}

/// Waits until Pacemaker promoted the master, runs the slave unpromoted and
/// holds the cluster address on the master; then proves the address takes
/// writes on the master (a row through it, read back there).
fn wait_ready(pair: &mut Pair) -> Result<Vec<String>> {
    let started = Instant::now();
    let layout = layout(pair)?;
    let master = layout.nodes[0].name.clone();
    let slaves: Vec<String> = layout.nodes[1..].iter().map(|n| n.name.clone()).collect();
    let slave = slaves.join(", ");
    loop {
        let state = crm_state(pair.master.access.node())?;
        let ready = state.promoted == [master.clone()]
            && slaves.iter().all(|s| state.unpromoted.contains(s))
            && (layout.vip.is_none() || state.vip.as_deref() == Some(master.as_str()));
        if ready {
            break;
        }
        if started.elapsed() > READY_WAIT {
            return Err(Error::Verify {
                node: "pacemaker".into(),
                message: format!(
                    "not ready after {} s: promoted on {:?}, unpromoted on {:?}, address on {:?}, failures: {}; see `crm_mon -1` and /var/log/pacemaker/pacemaker.log on each node",
                    READY_WAIT.as_secs(),
                    state.promoted,
                    state.unpromoted,
                    state.vip,
                    state.failures.join("; ")
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut lines = vec![format!(
        "pacemaker: {DB_CLONE} promoted on {master}, unpromoted on {slave} ({:.1} s)",
        started.elapsed().as_secs_f64()
    )];
    if let Some(vip) = &layout.vip {
        lines.push(format!("{} on {master}", vip.address));
        lines.push(write_through_vip(pair, &vip.address)?);
    }
    Ok(lines)
}

/// A row written through the cluster address by the monitor account, from
/// the slave node (its option file on stdin, never on a command line),
/// read back on the master.
fn write_through_vip(pair: &mut Pair, vip: &str) -> Result<String> {
    let password = pair.monitor_password()?;
    let token = crate::answers::generate_password();
    let options = format!(
        "[client]\nuser = {}\npassword = {password}\nconnect-timeout = 5\n",
        crate::answers::MONITOR_USER
    );
    let port = pair.answers.master.mysql_port.to_string();
    let statement = format!(
        "INSERT INTO mysql_ha.write_check (node, term, at) VALUES ('canary-via-address', 0, NOW()) ON DUPLICATE KEY UPDATE at = NOW(); SELECT @@server_id; SELECT {}",
        quote_string(&token)
    );
    let client = pair.slave.profile.programs.client.clone();
    let out = pair.slave.access.node().run(
        &[
            &client,
            "--defaults-extra-file=/dev/stdin",
            "-h",
            vip,
            "-P",
            &port,
            "-N",
            "-e",
            &statement,
        ],
        Some(options.as_bytes()),
    )?;
    if !out.success() {
        return Err(Error::Verify {
            node: pair.slave.label().to_string(),
            message: format!(
                "a write through the cluster address {vip} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    let master_id = pair
        .master
        .sql()
        .scalar("SELECT @@server_id")?
        .unwrap_or_default();
    let answered: Vec<String> = out
        .stdout_text()
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    if answered.first() != Some(&master_id) {
        return Err(Error::Verify {
            node: pair.master.label().to_string(),
            message: format!(
                "the cluster address {vip} reached server id {:?}, not the master's {master_id}",
                answered.first()
            ),
        });
    }
    pair.master
        .sql()
        .exec("DELETE FROM mysql_ha.write_check WHERE node = 'canary-via-address'")?;
    Ok(format!(
        "a row written through {vip} landed on the master (server id {master_id})"
    ))
}

/// Pacemaker/Corosync as the pair's manager (`cluster.manager =
/// "pacemaker"`).
pub struct Pacemaker;

impl ClusterManager for Pacemaker {
    fn kind(&self) -> Manager {
        Manager::Pacemaker
    }

    /// Our commands' configuration and the monitor accounts, then the
    /// cluster itself.
    fn install(&self, pair: &mut Pair, replication_password: &str) -> Result<Vec<StepPlan>> {
        let mut all = super::handoff::commands_config_steps(pair)?;
        all.extend(steps(pair, replication_password)?);
        Ok(all)
    }

    fn remove(&self, pair: &mut Pair) -> Result<Vec<StepPlan>> {
        release_steps(pair)
    }

    fn waiting_for(&self) -> &'static str {
        "wait for pacemaker to promote the master"
    }

    fn wait_running(&self, pair: &mut Pair) -> Result<Vec<String>> {
        wait_ready(pair)
    }

    /// Maintenance mode around the steps that disturb the servers: its
    /// monitors stop, so a restart is no failure to recover from, and the
    /// re-probe after it finds the pair as before. A cluster already in
    /// maintenance mode (paused by its administrator) stays as it is.
    fn hold(&self, pair: &mut Pair) -> Result<Option<ManagerHold>> {
        let node = pair.master.access.node();
        if !running(node, "pacemakerd") {
            return Ok(None);
        }
        let out = node.run(
            &[
                "crm_attribute",
                "--type",
                "crm_config",
                "--name",
                "maintenance-mode",
                "--query",
                "--quiet",
            ],
            None,
        )?;
        let now = out.success().then(|| out.stdout_text().trim().to_string());
        if now.as_deref() == Some("true") {
            return Ok(None);
        }
        let attribute = |action: &[&str]| -> Vec<String> {
            [
                "crm_attribute",
                "--type",
                "crm_config",
                "--name",
                "maintenance-mode",
            ]
            .iter()
            .chain(action)
            .map(|s| s.to_string())
            .collect()
        };
        // Maintenance mode takes effect in the cluster's next transition
        // (a recurring monitor may still run until then): wait until it
        // settled, and again after, for the re-probe that follows.
        let settled: Vec<String> = ["crm_resource", "--wait", "--timeout=120s"]
            .map(String::from)
            .to_vec();
        Ok(Some(ManagerHold {
            side: Side::Master,
            begin: vec![attribute(&["--update", "true"]), settled.clone()],
            // Put back as it was: unset, or false.
            end: vec![
                match now {
                    Some(_) => attribute(&["--update", "false"]),
                    None => attribute(&["--delete"]),
                },
                settled,
            ],
            why: "Pacemaker is in maintenance mode while the servers restart or their replication changes, so it takes none of that for a failure; it manages the pair again after".into(),
        }))
    }

    fn stored_replication_password(&self, pair: &Pair) -> Result<Option<String>> {
        stored_password(pair.master.access.node())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_devices_no_longer_named_are_deleted_and_only_ours() {
        let wanted = vec![FenceDevice {
            id: "p_fence".into(),
            targets: vec!["node1".into(), "node2".into()],
            params: Vec::new(),
        }];
        let listed =
            "p_db\nms_db\np_fence\np_fence_node1\np_fence_node2\np_vip\nfence_admins_own\n";
        assert_eq!(
            stale_fence_devices(listed, &wanted),
            ["p_fence_node1", "p_fence_node2"]
        );
        assert_eq!(
            stale_fence_devices(listed, &[]),
            ["p_fence", "p_fence_node1", "p_fence_node2"]
        );
        assert!(stale_fence_devices("p_db\n", &wanted).is_empty());
    }
}
