//! The wizard's questions: one list, in one order, for every front-end.
//! Each answer goes through the same validator as the answers file, and is
//! stored only when it passes.

use crate::answers::{
    self, validate_account, validate_ddns_name, validate_host, validate_key_name,
    validate_key_secret, validate_name_in_zone, validate_passphrase, validate_password,
    validate_seconds, validate_vip, validate_zone, Answers, ArpMode, Manager, Resource,
};
use crate::{Error, Result};

/// Groups of questions, in the order they are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Nodes,
    Credentials,
    Replication,
    Databases,
    ClusterAddress,
    ClusterAccount,
    Timings,
}

impl Group {
    pub const ALL: [Group; 7] = [
        Group::Nodes,
        Group::Credentials,
        Group::Replication,
        Group::Databases,
        Group::ClusterAddress,
        Group::ClusterAccount,
        Group::Timings,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::Nodes => "Nodes",
            Group::Credentials => "Admin credentials",
            Group::Replication => "Replication account",
            Group::Databases => "Databases",
            Group::ClusterAddress => "Cluster address",
            Group::ClusterAccount => "Cluster account",
            Group::Timings => "Daemon timings",
        }
    }

    pub fn next(self) -> Option<Group> {
        let i = Group::ALL.iter().position(|g| *g == self)?;
        Group::ALL.get(i + 1).copied()
    }

    pub fn previous(self) -> Option<Group> {
        let i = Group::ALL.iter().position(|g| *g == self)?;
        i.checked_sub(1).and_then(|i| Group::ALL.get(i).copied())
    }

    /// The group that asks for this answers key.
    pub fn of_key(key: &str) -> Group {
        if key.starts_with("replication.databases") {
            return Group::Databases;
        }
        QUESTIONS
            .iter()
            .find(|q| q.key == key)
            .map(|q| q.group)
            .unwrap_or(Group::Nodes)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Typed without echo.
    Secret,
    /// One of these words.
    Choice(&'static [&'static str]),
    Number,
}

#[derive(Debug)]
pub struct Question {
    /// The answers-file key ("master.host").
    pub key: &'static str,
    pub group: Group,
    pub label: &'static str,
    pub help: &'static str,
    pub kind: Kind,
}

const RESOURCES: &[&str] = &["vip", "ddns", "none"];
const MANAGERS: &[&str] = &["mysql-ha", "pacemaker"];
const YES_NO: &[&str] = &["no", "yes"];
const ARP_MODES: &[&str] = &["never", "when-needed", "always"];
const DURABILITIES: &[&str] = &["semi-sync", "async"];
const TLS_MODES: &[&str] = &["generate", "files", "off"];

pub const QUESTIONS: &[Question] = &[
    Question {
        key: "master.host",
        group: Group::Nodes,
        label: "Master address",
        help: "Address or name the slave and this tool reach the master by.",
        kind: Kind::Text,
    },
    Question {
        key: "master.ssh_user",
        group: Group::Nodes,
        label: "Master ssh user",
        help: "Account this tool logs in as over ssh (unless the master is this machine).",
        kind: Kind::Text,
    },
    Question {
        key: "slave.host",
        group: Group::Nodes,
        label: "Slave address",
        help: "Address or name of the server that will replicate the master.",
        kind: Kind::Text,
    },
    Question {
        key: "slave.ssh_user",
        group: Group::Nodes,
        label: "Slave ssh user",
        help: "Account this tool logs in as over ssh on the slave.",
        kind: Kind::Text,
    },
    Question {
        key: "master.mysql_admin_user",
        group: Group::Credentials,
        label: "Master admin user",
        help: "Database account with every privilege on the master.",
        kind: Kind::Text,
    },
    Question {
        key: "master.mysql_admin_password",
        group: Group::Credentials,
        label: "Master admin password",
        help: "Empty: log in as root through the server's unix socket.",
        kind: Kind::Secret,
    },
    Question {
        key: "slave.mysql_admin_user",
        group: Group::Credentials,
        label: "Slave admin user",
        help: "Database account with every privilege on the slave.",
        kind: Kind::Text,
    },
    Question {
        key: "slave.mysql_admin_password",
        group: Group::Credentials,
        label: "Slave admin password",
        help: "Empty: log in as root through the server's unix socket.",
        kind: Kind::Secret,
    },
    Question {
        key: "replication.user",
        group: Group::Replication,
        label: "Replication user",
        help: "Account the slave connects to the master with (REPLICATION SLAVE only).",
        kind: Kind::Text,
    },
    Question {
        key: "replication.password",
        group: Group::Replication,
        label: "Replication password",
        help: "At least 12 characters; the generated one is offered.",
        kind: Kind::Secret,
    },
    Question {
        key: "replication.durability",
        group: Group::Replication,
        label: "Durability",
        help: "semi-sync: a commit returns once the slave has it (one round trip more; no acknowledged write lost in a takeover); async: faster, a takeover can lose the last writes.",
        kind: Kind::Choice(DURABILITIES),
    },
    Question {
        key: "replication.tls",
        group: Group::Replication,
        label: "Encryption (TLS)",
        help: "generate: each node makes its own key and certificate, accounts require TLS and the server's certificate is verified; files: your own CA, certificate and key on the nodes; off: plain text on the network.",
        kind: Kind::Choice(TLS_MODES),
    },
    Question {
        key: "replication.tls_ca_file",
        group: Group::Replication,
        label: "TLS CA file",
        help: "Path on both nodes of the CA certificate(s) that signed both nodes' certificates.",
        kind: Kind::Text,
    },
    Question {
        key: "replication.tls_cert_file",
        group: Group::Replication,
        label: "TLS certificate file",
        help: "Path on each node of its own certificate (same path on both), naming its address.",
        kind: Kind::Text,
    },
    Question {
        key: "replication.tls_key_file",
        group: Group::Replication,
        label: "TLS key file",
        help: "Path on each node of its certificate's private key, readable by the database server.",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.manager",
        group: Group::ClusterAddress,
        label: "Cluster manager",
        help: "mysql-ha: this tool's own daemon, for a pair; pacemaker: hand the pair to Pacemaker/Corosync (quorum device, real fencing, one manager for all your services).",
        kind: Kind::Choice(MANAGERS),
    },
    Question {
        key: "cluster.resource",
        group: Group::ClusterAddress,
        label: "Cluster address kind",
        help: "vip: a shared IP address; ddns: a dynamic-DNS name; none: no cluster address.",
        kind: Kind::Choice(RESOURCES),
    },
    Question {
        key: "cluster.vip",
        group: Group::ClusterAddress,
        label: "Virtual IP/prefix",
        help: "The shared address with its netmask length, e.g. 192.0.2.10/24.",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.device",
        group: Group::ClusterAddress,
        label: "Network device",
        help: "Device that carries the virtual IP on both nodes.",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.arp",
        group: Group::ClusterAddress,
        label: "Gratuitous ARP",
        help: "Announce the address after a takeover: never, when-needed or always.",
        kind: Kind::Choice(ARP_MODES),
    },
    Question {
        key: "cluster.fence_agent",
        group: Group::ClusterAddress,
        label: "Fence agent",
        help: "Pacemaker's fence agent that powers a node off (e.g. fence_ipmilan); empty: no fencing (asked next).",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.fence_params",
        group: Group::ClusterAddress,
        label: "Fence parameters",
        help: "The fence agent's parameters, name=value separated by spaces (e.g. ip=192.0.2.200 username=admin).",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.run_without_fencing",
        group: Group::ClusterAddress,
        label: "Run without fencing?",
        help: "yes: accept that a cut-off or frozen node is only assumed down and may write for a moment after the other is promoted.",
        kind: Kind::Choice(YES_NO),
    },
    Question {
        key: "cluster.ddns.server",
        group: Group::ClusterAddress,
        label: "DNS server",
        help: "The zone's authoritative server that accepts dynamic updates (RFC 2136).",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.ddns.zone",
        group: Group::ClusterAddress,
        label: "DNS zone",
        help: "The zone the name belongs to, e.g. example.com.",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.ddns.name",
        group: Group::ClusterAddress,
        label: "Dynamic-DNS name",
        help: "Fully qualified name kept pointed at the master, e.g. db.example.com.",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.ddns.ttl",
        group: Group::ClusterAddress,
        label: "Record TTL (s)",
        help: "Seconds resolvers may cache the name: clients follow a takeover after at most this.",
        kind: Kind::Number,
    },
    Question {
        key: "cluster.ddns.key_file",
        group: Group::ClusterAddress,
        label: "TSIG key file",
        help:
            "A key file as tsig-keygen writes it, on this machine; empty: give its name and secret.",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.ddns.key_name",
        group: Group::ClusterAddress,
        label: "TSIG key name",
        help: "Name of the key the server accepts updates of the name from.",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.ddns.key_secret",
        group: Group::ClusterAddress,
        label: "TSIG key secret",
        help: "The key's base64 secret (hmac-sha256 unless key_algorithm says otherwise).",
        kind: Kind::Secret,
    },
    Question {
        key: "cluster.witness",
        group: Group::ClusterAddress,
        label: "Witness host",
        help: "A third host that votes on who is master (setup installs the witness there, or corosync-qnetd for pacemaker); empty: no third vote.",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.account",
        group: Group::ClusterAccount,
        label: "Cluster account",
        help: "Unprivileged account the daemon runs as (key-based ssh, sudo allowlist).",
        kind: Kind::Text,
    },
    Question {
        key: "cluster.key_passphrase",
        group: Group::ClusterAccount,
        label: "Key passphrase",
        help: "Empty: an unencrypted key; else at least 8 characters (ssh-agent).",
        kind: Kind::Secret,
    },
    Question {
        key: "cluster.check_interval_ms",
        group: Group::Timings,
        label: "Check every (ms)",
        help: "Milliseconds between two checks of the master.",
        kind: Kind::Number,
    },
    Question {
        key: "cluster.failure_threshold",
        group: Group::Timings,
        label: "Failures to take over",
        help: "Failed checks in a row before the slave takes over.",
        kind: Kind::Number,
    },
    Question {
        key: "cluster.check_timeout_ms",
        group: Group::Timings,
        label: "Check timeout (ms)",
        help: "Milliseconds a check may take before it counts as failed.",
        kind: Kind::Number,
    },
];

/// The questions of a group that apply given the answers so far (the
/// virtual IP is asked only when the cluster address is a virtual IP).
pub fn of_group(group: Group, answers: &Answers) -> Vec<&'static Question> {
    QUESTIONS
        .iter()
        .filter(|q| q.group == group)
        .filter(|q| match q.key {
            "cluster.vip" | "cluster.device" | "cluster.arp" => {
                answers.cluster.resource == Resource::Vip
            }
            "cluster.ddns.key_name" | "cluster.ddns.key_secret" => {
                answers.cluster.resource == Resource::Ddns
                    && answers.cluster.ddns.key_file.is_empty()
            }
            k if k.starts_with("cluster.ddns.") => answers.cluster.resource == Resource::Ddns,
            k if k.starts_with("replication.tls_") => {
                answers.replication.tls == answers::TlsMode::Files
            }
            "cluster.fence_agent" => answers.cluster.manager == Manager::Pacemaker,
            "cluster.fence_params" => {
                answers.cluster.manager == Manager::Pacemaker
                    && !answers.cluster.fence_agent.is_empty()
            }
            "cluster.run_without_fencing" => {
                answers.cluster.manager == Manager::Pacemaker
                    && answers.cluster.fence_agent.is_empty()
            }
            // Pacemaker's monitors keep the agent's own timeout.
            "cluster.check_timeout_ms" => answers.cluster.manager != Manager::Pacemaker,
            _ => true,
        })
        .collect()
}

fn resource_word(r: Resource) -> &'static str {
    match r {
        Resource::Vip => "vip",
        Resource::Ddns => "ddns",
        Resource::None => "none",
    }
}

fn arp_word(a: ArpMode) -> &'static str {
    match a {
        ArpMode::Never => "never",
        ArpMode::WhenNeeded => "when-needed",
        ArpMode::Always => "always",
    }
}

/// The current value of a key, as text.
pub fn current(answers: &Answers, key: &str) -> String {
    let (m, s, r, c) = (
        &answers.master,
        &answers.slave,
        &answers.replication,
        &answers.cluster,
    );
    match key {
        "master.host" => m.host.clone(),
        "master.ssh_user" => m.ssh_user.clone(),
        "master.mysql_admin_user" => m.mysql_admin_user.clone(),
        "master.mysql_admin_password" => m.mysql_admin_password.clone(),
        "slave.host" => s.host.clone(),
        "slave.ssh_user" => s.ssh_user.clone(),
        "slave.mysql_admin_user" => s.mysql_admin_user.clone(),
        "slave.mysql_admin_password" => s.mysql_admin_password.clone(),
        "replication.user" => r.user.clone(),
        "replication.password" => r.password.clone(),
        "replication.durability" => r.durability.name().into(),
        "replication.tls" => r.tls.name().into(),
        "replication.tls_ca_file" => r.tls_ca_file.clone(),
        "replication.tls_cert_file" => r.tls_cert_file.clone(),
        "replication.tls_key_file" => r.tls_key_file.clone(),
        "cluster.witness" => c.witness.clone(),
        "cluster.manager" => c.manager.name().into(),
        "cluster.fence_agent" => c.fence_agent.clone(),
        "cluster.fence_params" => c.fence_params.join(" "),
        "cluster.run_without_fencing" => if c.run_without_fencing { "yes" } else { "no" }.into(),
        "cluster.resource" => resource_word(c.resource).into(),
        "cluster.vip" => c.vip.clone(),
        "cluster.device" => c.device.clone(),
        "cluster.arp" => arp_word(c.arp).into(),
        "cluster.ddns.server" => c.ddns.server.clone(),
        "cluster.ddns.zone" => c.ddns.zone.clone(),
        "cluster.ddns.name" => c.ddns.name.clone(),
        "cluster.ddns.ttl" => c.ddns.ttl.to_string(),
        "cluster.ddns.key_file" => c.ddns.key_file.clone(),
        "cluster.ddns.key_name" => c.ddns.key_name.clone(),
        "cluster.ddns.key_secret" => c.ddns.key_secret.clone(),
        "cluster.account" => c.account.clone(),
        "cluster.key_passphrase" => c.key_passphrase.clone(),
        "cluster.check_interval_ms" => c.check_interval_ms.to_string(),
        "cluster.failure_threshold" => c.failure_threshold.to_string(),
        "cluster.check_timeout_ms" => c.check_timeout_ms.to_string(),
        _ => String::new(),
    }
}

fn bad(key: &str, message: impl Into<String>) -> Error {
    Error::Answers {
        key: key.to_string(),
        message: message.into(),
    }
}

fn number(key: &str, value: &str, min: u32, max: u32) -> Result<u32> {
    let n = value
        .trim()
        .parse::<u32>()
        .map_err(|_| bad(key, format!("`{value}`: give a whole number")))?;
    validate_seconds(key, n, min, max)?;
    Ok(n)
}

fn word<'a>(key: &str, value: &str, options: &[&'a str]) -> Result<&'a str> {
    options
        .iter()
        .find(|o| o.eq_ignore_ascii_case(value.trim()))
        .copied()
        .ok_or_else(|| {
            bad(
                key,
                format!("`{value}`: answer one of {}", options.join(", ")),
            )
        })
}

/// Validates a typed answer with the answers file's validator and stores it.
/// A bad answer leaves `answers` unchanged.
pub fn set(answers: &mut Answers, key: &str, value: &str) -> Result<()> {
    let text = value.to_string();
    let (m, s, r, c) = (
        &mut answers.master,
        &mut answers.slave,
        &mut answers.replication,
        &mut answers.cluster,
    );
    match key {
        "master.host" => {
            validate_host(key, value.trim())?;
            m.host = value.trim().into();
        }
        "slave.host" => {
            validate_host(key, value.trim())?;
            if value.trim().eq_ignore_ascii_case(&m.host) {
                return Err(bad(
                    key,
                    format!(
                        "`{}` is also the master; give two different servers",
                        value.trim()
                    ),
                ));
            }
            s.host = value.trim().into();
        }
        "master.ssh_user" => {
            validate_account(key, value)?;
            m.ssh_user = text;
        }
        "slave.ssh_user" => {
            validate_account(key, value)?;
            s.ssh_user = text;
        }
        "master.mysql_admin_user" => {
            validate_account(key, value)?;
            m.mysql_admin_user = text;
        }
        "slave.mysql_admin_user" => {
            validate_account(key, value)?;
            s.mysql_admin_user = text;
        }
        "master.mysql_admin_password" => m.mysql_admin_password = text,
        "slave.mysql_admin_password" => s.mysql_admin_password = text,
        "replication.user" => {
            crate::answers::validate_replication_user(key, value)?;
            r.user = text;
        }
        "replication.password" => {
            if !value.is_empty() {
                validate_password(key, value)?;
            }
            r.password = text;
        }
        "replication.durability" => {
            r.durability = match word(key, value, DURABILITIES)? {
                "async" => answers::Durability::Async,
                _ => answers::Durability::SemiSync,
            }
        }
        "replication.tls" => {
            r.tls = match word(key, value, TLS_MODES)? {
                "files" => answers::TlsMode::Files,
                "off" => answers::TlsMode::Off,
                _ => answers::TlsMode::Generate,
            };
            if r.tls != answers::TlsMode::Files {
                r.tls_ca_file.clear();
                r.tls_cert_file.clear();
                r.tls_key_file.clear();
            }
        }
        "replication.tls_ca_file" | "replication.tls_cert_file" | "replication.tls_key_file" => {
            let path = value.trim();
            answers::validate_node_path(key, path)?;
            let slot = match key {
                "replication.tls_ca_file" => &mut r.tls_ca_file,
                "replication.tls_cert_file" => &mut r.tls_cert_file,
                _ => &mut r.tls_key_file,
            };
            *slot = path.into();
        }
        "cluster.witness" => {
            let host = value.trim();
            if !host.is_empty() {
                validate_host(key, host)?;
                for node in [&m.host, &s.host] {
                    if host.eq_ignore_ascii_case(node) {
                        return Err(bad(
                            key,
                            format!("`{host}` is a node: the witness must be a third host"),
                        ));
                    }
                }
            }
            c.witness = host.into();
        }
        "cluster.manager" => {
            c.manager = match word(key, value, MANAGERS)? {
                "pacemaker" => Manager::Pacemaker,
                _ => Manager::MysqlHa,
            };
            if c.manager == Manager::MysqlHa {
                c.fence_agent.clear();
                c.fence_params.clear();
                c.run_without_fencing = false;
            }
        }
        "cluster.fence_agent" => {
            crate::answers::validate_fence_agent(key, value.trim())?;
            c.fence_agent = value.trim().into();
            if c.fence_agent.is_empty() {
                c.fence_params.clear();
            } else {
                c.run_without_fencing = false;
            }
        }
        "cluster.fence_params" => {
            let params: Vec<String> = value.split_whitespace().map(str::to_string).collect();
            for param in &params {
                crate::answers::validate_fence_param(key, param)?;
            }
            c.fence_params = params;
        }
        "cluster.run_without_fencing" => {
            c.run_without_fencing = word(key, value, YES_NO)? == "yes";
        }
        "cluster.resource" => {
            let resource = match word(key, value, RESOURCES)? {
                "vip" => Resource::Vip,
                "ddns" => Resource::Ddns,
                _ => Resource::None,
            };
            if resource == Resource::Ddns && c.manager == Manager::Pacemaker {
                return Err(bad(
                    key,
                    "ddns is not offered with the pacemaker manager: answer vip or none",
                ));
            }
            c.resource = resource;
        }
        "cluster.vip" => {
            validate_vip(key, value.trim())?;
            c.vip = value.trim().into();
        }
        "cluster.device" => {
            if value.trim().is_empty() || value.contains(char::is_whitespace) {
                return Err(bad(
                    key,
                    "give the network device that carries the cluster address (e.g. eth0)",
                ));
            }
            c.device = value.trim().into();
        }
        "cluster.arp" => {
            c.arp = match word(key, value, ARP_MODES)? {
                "never" => ArpMode::Never,
                "always" => ArpMode::Always,
                _ => ArpMode::WhenNeeded,
            }
        }
        "cluster.ddns.server" => {
            validate_host(key, value.trim())?;
            c.ddns.server = value.trim().into();
        }
        "cluster.ddns.zone" => {
            let zone = value.trim().trim_end_matches('.');
            validate_zone(key, zone)?;
            c.ddns.zone = zone.into();
        }
        "cluster.ddns.name" => {
            let name = value.trim().trim_end_matches('.');
            if c.ddns.zone.is_empty() {
                validate_ddns_name(key, name)?;
            } else {
                validate_name_in_zone(key, name, &c.ddns.zone)?;
            }
            c.ddns.name = name.into();
        }
        "cluster.ddns.ttl" => c.ddns.ttl = number(key, value, 1, 86_400)?,
        "cluster.ddns.key_file" => {
            let path = value.trim();
            if !path.is_empty() && !path.starts_with('/') {
                return Err(bad(key, format!("`{path}`: give an absolute path")));
            }
            c.ddns.key_file = path.into();
            if !path.is_empty() {
                c.ddns.key_secret.clear();
            }
        }
        "cluster.ddns.key_name" => {
            validate_key_name(key, value.trim())?;
            c.ddns.key_name = value.trim().into();
        }
        "cluster.ddns.key_secret" => {
            validate_key_secret(key, value.trim())?;
            c.ddns.key_secret = value.trim().into();
        }
        "cluster.account" => {
            crate::answers::validate_cluster_account(key, value)?;
            c.account = text;
        }
        "cluster.key_passphrase" => {
            if !value.is_empty() {
                validate_passphrase(key, value)?;
            }
            c.key_passphrase = text;
        }
        "cluster.check_interval_ms" => {
            let (min, max) = crate::answers::CHECK_INTERVAL_MS;
            c.check_interval_ms = number(key, value, min, max)?
        }
        "cluster.failure_threshold" => c.failure_threshold = number(key, value, 1, 100)?,
        "cluster.check_timeout_ms" => {
            let (min, max) = crate::answers::CHECK_TIMEOUT_MS;
            c.check_timeout_ms = number(key, value, min, max)?
        }
        _ => return Err(bad(key, "no such question")),
    }
    Ok(())
}

/// Stores the chosen databases after the answers file's check.
pub fn set_databases(answers: &mut Answers, names: Vec<String>) -> Result<()> {
    answers::validate_databases(&names)?;
    answers.replication.databases = names;
    Ok(())
}

/// Databases pre-selected in the list: those of the answers file, else those
/// the slave already replicates (a re-run). `*` selects every offered one.
pub fn preselected(answers: &Answers, offered: &[String], replicated: &[String]) -> Vec<String> {
    let wanted: &[String] = if answers.replication.databases.is_empty() {
        replicated
    } else {
        &answers.replication.databases
    };
    if wanted.iter().any(|d| d == "*") {
        return offered.to_vec();
    }
    offered
        .iter()
        .filter(|d| wanted.contains(d))
        .cloned()
        .collect()
}

/// Fills what a first run cannot know from elsewhere: the master defaults
/// to this machine when the wizard runs on it.
pub fn fill_defaults(answers: &mut Answers, local_address: Option<String>) {
    if answers.master.host.is_empty() {
        if let Some(address) = local_address {
            answers.master.host = address;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_question_reads_back_what_it_stored() {
        let mut answers = Answers::default();
        answers.master.host = "192.0.2.11".into();
        for q in QUESTIONS {
            let value = current(&answers, q.key);
            let value = match q.key {
                "slave.host" => "192.0.2.12".to_string(),
                "cluster.vip" => "192.0.2.10/24".into(),
                "cluster.ddns.server" => "192.0.2.100".into(),
                "cluster.ddns.zone" => "example.com".into(),
                "cluster.ddns.name" => "db.example.com".into(),
                "cluster.ddns.key_name" => "ha-key".into(),
                "cluster.ddns.key_secret" => "c2VjcmV0LXNlY3JldC1zZWNyZXQ=".into(),
                "cluster.ddns.key_file" => String::new(),
                "replication.tls" => "files".into(),
                "replication.tls_ca_file" => "/etc/ssl/db/ca.pem".into(),
                "replication.tls_cert_file" => "/etc/ssl/db/node.pem".into(),
                "replication.tls_key_file" => "/etc/ssl/db/node.key".into(),
                _ => value,
            };
            set(&mut answers, q.key, &value).unwrap_or_else(|e| panic!("{}: {e}", q.key));
            assert_eq!(current(&answers, q.key), value, "{}", q.key);
        }
    }

    #[test]
    fn bad_answers_are_refused_with_their_key_and_change_nothing() {
        let mut answers = Answers::default();
        answers.master.host = "192.0.2.11".into();
        let before = answers.clone();
        for (key, value) in [
            ("slave.host", "192.0.2.11"),
            ("master.host", "bad host"),
            ("replication.password", "short"),
            ("cluster.vip", "192.0.2.10"),
            ("cluster.resource", "floating"),
            ("cluster.check_interval_s", "0"),
            ("cluster.failure_threshold", "three"),
        ] {
            let err = set(&mut answers, key, value).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
        assert_eq!(answers, before);
    }

    #[test]
    fn vip_questions_follow_the_resource() {
        let mut answers = Answers::default();
        let keys = |a: &Answers| -> Vec<&str> {
            of_group(Group::ClusterAddress, a)
                .iter()
                .map(|q| q.key)
                .collect()
        };
        // The witness is asked whatever the resource, after its questions.
        assert_eq!(
            keys(&answers),
            vec!["cluster.manager", "cluster.resource", "cluster.witness"]
        );
        set(&mut answers, "cluster.resource", "vip").unwrap();
        assert_eq!(
            keys(&answers),
            vec![
                "cluster.manager",
                "cluster.resource",
                "cluster.vip",
                "cluster.device",
                "cluster.arp",
                "cluster.witness"
            ]
        );
        set(&mut answers, "cluster.resource", "ddns").unwrap();
        assert_eq!(
            keys(&answers),
            vec![
                "cluster.manager",
                "cluster.resource",
                "cluster.ddns.server",
                "cluster.ddns.zone",
                "cluster.ddns.name",
                "cluster.ddns.ttl",
                "cluster.ddns.key_file",
                "cluster.ddns.key_name",
                "cluster.ddns.key_secret",
                "cluster.witness"
            ]
        );
        set(&mut answers, "cluster.ddns.key_file", "/etc/ha.key").unwrap();
        assert!(!keys(&answers).contains(&"cluster.ddns.key_secret"));
        set(&mut answers, "cluster.ddns.zone", "example.com.").unwrap();
        assert_eq!(answers.cluster.ddns.zone, "example.com");
        let err = set(&mut answers, "cluster.ddns.name", "db.example.org")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cluster.ddns.name"), "{err}");
    }

    #[test]
    fn pacemaker_asks_for_fencing_and_refuses_ddns() {
        let mut answers = Answers::default();
        set(&mut answers, "cluster.resource", "vip").unwrap();
        set(&mut answers, "cluster.manager", "pacemaker").unwrap();
        let keys = |a: &Answers| -> Vec<&str> {
            of_group(Group::ClusterAddress, a)
                .iter()
                .map(|q| q.key)
                .collect()
        };
        let asked = keys(&answers);
        assert!(asked.contains(&"cluster.fence_agent"), "{asked:?}");
        assert!(asked.contains(&"cluster.run_without_fencing"), "{asked:?}");
        assert!(!asked.contains(&"cluster.fence_params"), "{asked:?}");
        // The default is not "no fencing".
        assert_eq!(current(&answers, "cluster.run_without_fencing"), "no");
        set(&mut answers, "cluster.fence_agent", "fence_ipmilan").unwrap();
        let asked = keys(&answers);
        assert!(asked.contains(&"cluster.fence_params"), "{asked:?}");
        assert!(!asked.contains(&"cluster.run_without_fencing"), "{asked:?}");
        set(
            &mut answers,
            "cluster.fence_params",
            "ip=192.0.2.200 username=admin",
        )
        .unwrap();
        assert_eq!(answers.cluster.fence_params.len(), 2);
        for (key, value) in [
            ("cluster.fence_agent", "rm -rf"),
            ("cluster.fence_params", "ip=\"x\""),
            ("cluster.resource", "ddns"),
            ("cluster.manager", "heartbeat"),
        ] {
            let err = set(&mut answers, key, value).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
        let timings: Vec<&str> = of_group(Group::Timings, &answers)
            .iter()
            .map(|q| q.key)
            .collect();
        assert!(
            !timings.contains(&"cluster.check_timeout_ms"),
            "{timings:?}"
        );
        set(&mut answers, "cluster.manager", "mysql-ha").unwrap();
        assert!(answers.cluster.fence_agent.is_empty());
        assert!(!keys(&answers).contains(&"cluster.fence_agent"));
    }

    #[test]
    fn preselection_prefers_the_answers_then_the_running_filter() {
        let offered: Vec<String> = ["crm", "hr", "shop"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut answers = Answers::default();
        assert_eq!(
            preselected(&answers, &offered, &["shop".into()]),
            vec!["shop".to_string()]
        );
        answers.replication.databases = vec!["crm".into(), "gone".into()];
        assert_eq!(
            preselected(&answers, &offered, &["shop".into()]),
            vec!["crm".to_string()]
        );
        answers.replication.databases = vec!["*".into()];
        assert_eq!(preselected(&answers, &offered, &[]), offered);
    }

    #[test]
    fn groups_of_keys() {
        assert_eq!(
            Group::of_key("master.mysql_admin_password"),
            Group::Credentials
        );
        assert_eq!(Group::of_key("replication.databases"), Group::Databases);
        assert_eq!(Group::of_key("cluster.vip"), Group::ClusterAddress);
        assert_eq!(Group::Nodes.previous(), None);
        assert_eq!(Group::Timings.next(), None);
    }
}
