//! The answers value: defaults, then the answers file, then flags, then
//! prompts. Every source goes through the same validators; a bad value is an
//! error naming its key.

use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub mod fields;
pub mod reference;

pub use fields::{Field, Group, Kind, FIELDS};

/// Schemas that belong to the server, never replicated by name.
/// The account the cluster daemons monitor each other with (reserved).
pub const MONITOR_USER: &str = "mysqlha_mon";

pub const SYSTEM_SCHEMAS: [&str; 4] = ["mysql", "information_schema", "performance_schema", "sys"];

/// The database this tool creates on both nodes for the cluster daemon's
/// write check: never offered or picked for replication.
pub const TOOL_DATABASE: &str = "mysql_ha";

/// Database account names the server, the distribution or this tool own:
/// the replication account (whose password setup sets) and the cluster
/// account (which gets a database account of the same name) may be none of
/// them. `mysqlha_mon` is the daemon's monitor account, which the hand-off
/// replaces on every run.
pub const RESERVED_DB_ACCOUNTS: &[&str] = &[
    "root",
    "mysql",
    "mariadb.sys",
    "mysql.sys",
    "mysql.session",
    "mysql.infoschema",
    "debian-sys-maint",
    "PUBLIC",
    MONITOR_USER,
];

/// Unix accounts that belong to the system or to other services (Debian,
/// Red Hat): never the cluster account, whose ssh files, key and sudo rules
/// setup writes. Any other account that exists and was not made by this
/// tool is refused by preflight.
pub const SYSTEM_UNIX_ACCOUNTS: &[&str] = &[
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "_apt",
    "adm",
    "operator",
    "halt",
    "shutdown",
    "ftp",
    "sshd",
    "mysql",
    "messagebus",
    "polkitd",
    "systemd-network",
    "systemd-resolve",
    "systemd-timesync",
    "systemd-coredump",
    "_chrony",
    "chrony",
    "ntp",
    "postfix",
    "Debian-exim",
    "dbus",
    "avahi",
    "tss",
    "rpc",
    "rpcuser",
    "nfsnobody",
    "statd",
    "uuidd",
    "tcpdump",
    "bind",
    "named",
    "sudo",
    "wheel",
];

/// Bounds of `cluster.check_interval_ms` and `cluster.check_timeout_ms`.
pub const CHECK_INTERVAL_MS: (u32, u32) = (100, 3_600_000);
pub const CHECK_TIMEOUT_MS: (u32, u32) = (100, 600_000);

/// The longest replication password any supported server takes in
/// `CHANGE MASTER TO MASTER_PASSWORD` (MariaDB: 96 bytes; MySQL takes 32,
/// checked by preflight against the slave's server).
pub const MAX_REPLICATION_PASSWORD_BYTES: usize = 96;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeAnswers {
    pub host: String,
    pub ssh_user: String,
    pub ssh_port: u16,
    /// Only for a node that does not accept the installer's key yet: used
    /// once to install it (through SSH_ASKPASS), never stored elsewhere.
    pub ssh_password: String,
    pub mysql_admin_user: String,
    /// Empty: unix-socket authentication as root.
    pub mysql_admin_password: String,
    pub mysql_port: u16,
    /// With Pacemaker fencing: this node's own fence device parameters
    /// (its BMC's address, ...), added to `cluster.fence_params`; given for
    /// any node, each node gets a fence device of its own.
    pub fence_params: Vec<String>,
}

impl NodeAnswers {
    /// An optional node section (`[slave2]`) that was not given.
    pub fn is_absent(&self) -> bool {
        *self == NodeAnswers::default()
    }
}

impl Default for NodeAnswers {
    fn default() -> Self {
        NodeAnswers {
            host: String::new(),
            ssh_user: "root".into(),
            ssh_port: 22,
            ssh_password: String::new(),
            mysql_admin_user: "root".into(),
            mysql_admin_password: String::new(),
            mysql_port: 3306,
            fence_params: Vec::new(),
        }
    }
}

/// How the slave gets its first copy of the data (docs/answers.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedMethod {
    /// The fastest method that applies (see operation::seed::choose).
    Auto,
    /// One `mariadb-dump --single-transaction` streamed into the slave.
    Dump,
    /// Several dumps of one shared snapshot, tables and chunks loaded at once.
    Parallel,
    /// A physical copy with mariadb-backup, for a slave with no data of its own.
    Backup,
    /// A physical copy with Oracle MySQL's clone plugin (8.0.17 and later),
    /// for a slave with no data of its own.
    Clone,
    /// No copy: the slave already holds the master's data.
    None,
}

impl SeedMethod {
    pub fn name(self) -> &'static str {
        match self {
            SeedMethod::Auto => "auto",
            SeedMethod::Dump => "dump",
            SeedMethod::Parallel => "parallel",
            SeedMethod::Backup => "backup",
            SeedMethod::Clone => "clone",
            SeedMethod::None => "none",
        }
    }
}

/// How a finished copy is checked against the master's snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedVerify {
    /// Row counts of every copied table.
    Rows,
    /// Row counts and CHECKSUM TABLE of every copied table (reads it all).
    Checksum,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplicationAnswers {
    pub user: String,
    /// Empty: generate a strong one.
    pub password: String,
    /// Names, or ["*"] for every non-system database of the master.
    pub databases: Vec<String>,
    pub seed: SeedMethod,
    /// How the copy is verified once loaded.
    pub verify: SeedVerify,
    /// Whether the master waits for the slave before acknowledging a commit.
    pub durability: Durability,
    /// Encryption of the connections between the nodes (replication and the
    /// daemons' checks).
    pub tls: TlsMode,
    /// `tls = "files"`: the administrator's own CA certificate(s), the
    /// node's certificate and its private key, at these paths on each node.
    pub tls_ca_file: String,
    pub tls_cert_file: String,
    pub tls_key_file: String,
}

/// `replication.tls`: how the nodes' connections are encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Each node makes its own key and a certificate (see src/tls.rs); the
    /// accounts require TLS and clients verify the server's certificate.
    #[default]
    Generate,
    /// The administrator's files (tls_ca_file, tls_cert_file, tls_key_file).
    Files,
    /// Plain text, as before (the replication password's handshake and the
    /// replicated rows cross the network readable).
    Off,
}

impl TlsMode {
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::Generate => "generate",
            TlsMode::Files => "files",
            TlsMode::Off => "off",
        }
    }
}

/// `replication.durability`: what a commit acknowledged by the master means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// The master acknowledges at once; a takeover can lose what the slave
    /// had not received yet.
    Async,
    /// Semi-synchronous (AFTER_SYNC): every acknowledged commit is on the
    /// slave too; commits wait one network round trip, and while the slave
    /// is away the daemon lets the master go on alone (and no takeover to
    /// that slave is allowed until it caught up).
    #[default]
    SemiSync,
}

impl Durability {
    pub fn name(self) -> &'static str {
        match self {
            Durability::Async => "async",
            Durability::SemiSync => "semi-sync",
        }
    }
}

impl Default for ReplicationAnswers {
    fn default() -> Self {
        ReplicationAnswers {
            user: "repl".into(),
            password: String::new(),
            databases: Vec::new(),
            seed: SeedMethod::Auto,
            verify: SeedVerify::Rows,
            durability: Durability::default(),
            tls: TlsMode::default(),
            tls_ca_file: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    Vip,
    Ddns,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArpMode {
    Never,
    WhenNeeded,
    Always,
}

/// `cluster.manager`: who watches the pair and moves the master once
/// replication runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Manager {
    /// This tool's own daemon (and witness): a pair manager.
    #[default]
    MysqlHa,
    /// Pacemaker/Corosync: quorum device, fencing, one manager for every
    /// service (docs/pacemaker.md).
    Pacemaker,
}

impl Manager {
    pub fn name(self) -> &'static str {
        match self {
            Manager::MysqlHa => "mysql-ha",
            Manager::Pacemaker => "pacemaker",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterAnswers {
    /// Who manages the pair once it replicates.
    pub manager: Manager,
    /// With `manager = "pacemaker"`: the Pacemaker fence agent (a
    /// `fence_*` program of fence-agents) that powers a node off.
    pub fence_agent: String,
    /// The fence agent's parameters, `name=value` each (e.g. `ip=...`).
    pub fence_params: Vec<String>,
    /// The fence devices' password: kept in Pacemaker's root-only local
    /// secrets on each node (`lrm://` in the CIB), never in the CIB.
    pub fence_password: String,
    /// With `manager = "pacemaker"` and no fence agent: the administrator
    /// accepts running without fencing (the plan says what that risks).
    pub run_without_fencing: bool,
    pub resource: Resource,
    pub vip: String,
    pub device: String,
    pub arp: ArpMode,
    pub account: String,
    pub key_passphrase: String,
    /// Daemon timings (cluster.toml's `[timings]`): milliseconds between
    /// two checks of the master.
    pub check_interval_ms: u32,
    /// Daemon timings: failed checks in a row before a takeover.
    pub failure_threshold: u32,
    /// Daemon timings: milliseconds a check may take before it counts as
    /// failed.
    pub check_timeout_ms: u32,
    /// The seconds keys of earlier versions (they never reached the
    /// daemon): read so that older answers files and cluster.toml still
    /// load; an answers file that sets them is refused by `validate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_interval_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_timeout_s: Option<u32>,
    /// With `resource = "ddns"`: the name, its zone and the TSIG key.
    pub ddns: DdnsAnswers,
    /// The third vote: a host that runs `mysql-ha witness` (setup installs
    /// it there). Empty: no witness, and so no automatic takeover.
    pub witness: String,
    /// Account setup logs in as on the witness host.
    pub witness_ssh_user: String,
    /// The cluster's vote key (64 hex digits), as the witness's
    /// /etc/mysql-ha/witness.toml holds it. Empty: kept from an earlier run,
    /// or generated.
    pub vote_key: String,
}

impl Default for ClusterAnswers {
    fn default() -> Self {
        ClusterAnswers {
            manager: Manager::default(),
            fence_agent: String::new(),
            fence_params: Vec::new(),
            fence_password: String::new(),
            run_without_fencing: false,
            resource: Resource::None,
            vip: String::new(),
            device: "eth0".into(),
            arp: ArpMode::WhenNeeded,
            account: "mysqlha".into(),
            key_passphrase: String::new(),
            // The daemon's own defaults (daemon::config::Timings), measured
            // on the sandbox: a dead master is declared in about 3 s.
            check_interval_ms: 1000,
            failure_threshold: 3,
            check_timeout_ms: 800,
            check_interval_s: None,
            check_timeout_s: None,
            ddns: DdnsAnswers::default(),
            witness: String::new(),
            witness_ssh_user: "root".into(),
            vote_key: String::new(),
        }
    }
}

/// `[cluster.ddns]`: the name the master keeps pointed at itself with
/// RFC 2136 updates signed by a TSIG key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DdnsAnswers {
    /// The zone's authoritative server that takes updates (address or name).
    pub server: String,
    pub port: u16,
    pub zone: String,
    /// Fully qualified name inside the zone (its A record is replaced).
    pub name: String,
    /// Seconds resolvers may cache the record.
    pub ttl: u32,
    /// A BIND key file (as `tsig-keygen` writes) on the machine running
    /// setup; empty: `key_name`, `key_algorithm` and `key_secret` instead.
    pub key_file: String,
    pub key_name: String,
    pub key_algorithm: String,
    /// Base64, as in a BIND key file.
    pub key_secret: String,
}

impl Default for DdnsAnswers {
    fn default() -> Self {
        DdnsAnswers {
            server: String::new(),
            port: 53,
            zone: String::new(),
            name: String::new(),
            ttl: 30,
            key_file: String::new(),
            key_name: String::new(),
            key_algorithm: "hmac-sha256".into(),
            key_secret: String::new(),
        }
    }
}

impl std::fmt::Debug for DdnsAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DdnsAnswers")
            .field("server", &self.server)
            .field("port", &self.port)
            .field("zone", &self.zone)
            .field("name", &self.name)
            .field("ttl", &self.ttl)
            .field("key_file", &self.key_file)
            .field("key_name", &self.key_name)
            .field("key_algorithm", &self.key_algorithm)
            .field("key_secret", &"********")
            .finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Answers {
    pub master: NodeAnswers,
    pub slave: NodeAnswers,
    /// A third database node, a second slave of the master (Pacemaker
    /// only: our daemon manages a pair). No host: two nodes.
    #[serde(skip_serializing_if = "NodeAnswers::is_absent")]
    pub slave2: NodeAnswers,
    pub replication: ReplicationAnswers,
    pub cluster: ClusterAnswers,
    pub install: InstallAnswers,
}

/// Answers that passed `Answers::validate`: the only kind the engine plans
/// with, so each run checks its answers once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAnswers(Answers);

impl ValidAnswers {
    /// The same answers with more databases to replicate (`add-db`); only
    /// the list is checked again.
    pub fn with_databases(&self, more: &[String]) -> Result<ValidAnswers> {
        let mut answers = self.0.clone();
        for db in more {
            if !answers.replication.databases.contains(db) {
                answers.replication.databases.push(db.clone());
            }
        }
        validate_databases(&answers.replication.databases)?;
        Ok(ValidAnswers(answers))
    }

    pub fn into_inner(self) -> Answers {
        self.0
    }
}

impl std::ops::Deref for ValidAnswers {
    type Target = Answers;

    fn deref(&self) -> &Answers {
        &self.0
    }
}

/// `[install]`: how setup puts the tool on the nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstallAnswers {
    /// A .deb or .rpm of this tool (`scripts/package`) on the machine
    /// running setup: installed on each node with its package manager, so
    /// the node's daemon is the package's /usr/sbin/mysql-ha. Empty: setup
    /// copies its own binary to /usr/local/sbin/mysql-ha.
    pub package: String,
}

/// The kind of package `install.package` names, by its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageKind {
    Deb,
    Rpm,
}

impl InstallAnswers {
    pub fn package_kind(&self) -> Option<PackageKind> {
        if self.package.ends_with(".deb") {
            Some(PackageKind::Deb)
        } else if self.package.ends_with(".rpm") {
            Some(PackageKind::Rpm)
        } else {
            None
        }
    }

    /// Where the tool runs from on a node: the package's binary, or the copy.
    pub fn node_binary(&self) -> &'static str {
        if self.package.is_empty() {
            crate::paths::BINARY
        } else {
            crate::paths::PACKAGED_BINARY
        }
    }

    fn validate(&self) -> Result<()> {
        if self.package.is_empty() {
            return Ok(());
        }
        if self.package_kind().is_none() {
            return Err(answer_error(
                "install.package",
                format!(
                    "`{}` is neither a .deb nor a .rpm: give the file scripts/package built, or leave it empty to copy this binary",
                    self.package
                ),
            ));
        }
        match std::fs::metadata(&self.package) {
            Ok(meta) if meta.is_file() => Ok(()),
            Ok(_) => Err(answer_error(
                "install.package",
                format!("`{}` is not a file", self.package),
            )),
            Err(e) => Err(answer_error(
                "install.package",
                format!(
                    "cannot read `{}` on this machine: {e} (build it with scripts/package)",
                    self.package
                ),
            )),
        }
    }
}

impl Answers {
    /// Reads an answers file; unknown keys and wrong types are errors naming
    /// the key (with its section), the file and the line.
    pub fn from_file(path: &Path) -> Result<Answers> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text).map_err(|bad| Error::Answers {
            key: bad.key,
            message: match bad.line {
                Some(line) => format!("{} ({}:{line})", bad.message, path.display()),
                None => format!("{} (in {})", bad.message, path.display()),
            },
        })
    }

    fn from_toml(text: &str) -> std::result::Result<Answers, FileError> {
        toml::from_str::<Answers>(text).map_err(|e| {
            let place = e.span().map(|span| locate(text, span.start));
            let (line, key) = match place {
                Some((line, key)) => (Some(line), key),
                None => (None, None),
            };
            let key = key.unwrap_or_else(|| "answers file".to_string());
            let message = e.message().trim().to_string();
            FileError { key, message, line }
        })
    }

    /// Checks every value, each with its field's check (src/answers/fields.rs),
    /// in the table's order; the first bad one is an error naming its key.
    pub fn validate(&self) -> Result<()> {
        fields::check_all(self)
    }

    /// The answers once checked: what the engine plans with.
    pub fn into_valid(self) -> Result<ValidAnswers> {
        self.validate()?;
        Ok(ValidAnswers(self))
    }

    /// Checks that need the nodes' addresses, as `resolve` gives them (the
    /// system resolver in the tool, a table in tests): each host resolves;
    /// the two hosts are two machines (`node1` and `192.0.2.11` are one);
    /// a virtual IP is neither node's address and lies in the nodes'
    /// network.
    pub fn check_addresses(
        &self,
        resolve: &dyn Fn(&str) -> std::io::Result<Vec<IpAddr>>,
    ) -> Result<()> {
        let mut addresses = Vec::new();
        for (section, node) in self.database_nodes() {
            let key = format!("{section}.host");
            let found = match node.host.parse::<IpAddr>() {
                Ok(ip) => vec![ip],
                Err(_) => resolve(&node.host).map_err(|e| {
                    answer_error(
                        &key,
                        format!(
                            "`{}` does not resolve on this machine ({e}): check the name, or give the node's address",
                            node.host
                        ),
                    )
                })?,
            };
            if found.is_empty() {
                return Err(answer_error(
                    &key,
                    format!(
                        "`{}` resolves to no address on this machine: check the name, or give the node's address",
                        node.host
                    ),
                ));
            }
            addresses.push(found);
        }
        let nodes = self.database_nodes();
        for (i, (section, node)) in nodes.iter().enumerate().skip(1) {
            for (j, (other_section, other)) in nodes.iter().enumerate().take(i) {
                if let Some(shared) = addresses[i].iter().find(|a| addresses[j].contains(a)) {
                    return Err(answer_error(
                        &format!("{section}.host"),
                        format!(
                            "`{}` and {other_section}.host `{}` are the same machine (both {shared}); give different servers",
                            node.host, other.host
                        ),
                    ));
                }
            }
        }
        if self.cluster.resource == Resource::Vip {
            validate_vip("cluster.vip", &self.cluster.vip)?;
            let (address, prefix) = self.cluster.vip.split_once('/').unwrap_or_default();
            let (Ok(vip), Ok(prefix)) = (address.parse::<IpAddr>(), prefix.parse::<u8>()) else {
                return Ok(());
            };
            for ((section, node), found) in self.database_nodes().into_iter().zip(&addresses) {
                if found.contains(&vip) {
                    return Err(answer_error(
                        "cluster.vip",
                        format!(
                            "{vip} is {section}.host's own address (`{}`): the cluster address must be a free one that moves between the nodes",
                            node.host
                        ),
                    ));
                }
                let same_family: Vec<&IpAddr> = found
                    .iter()
                    .filter(|a| a.is_ipv4() == vip.is_ipv4())
                    .collect();
                if !same_family.is_empty()
                    && !same_family.iter().any(|a| same_network(**a, vip, prefix))
                {
                    return Err(answer_error(
                        "cluster.vip",
                        format!(
                            "{} is outside the network of {section}.host `{}` ({}): the cluster address must be in the nodes' network, or nothing reaches it",
                            self.cluster.vip,
                            node.host,
                            same_family
                                .iter()
                                .map(|a| a.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            if let IpAddr::V4(v4) = vip {
                let bits = u32::from(v4);
                let host_bits = if prefix >= 32 { 0 } else { u32::MAX >> prefix };
                if prefix < 31 && (bits & host_bits == 0 || bits & host_bits == host_bits) {
                    return Err(answer_error(
                        "cluster.vip",
                        format!(
                            "{} is the network's own or broadcast address: give a free host address",
                            self.cluster.vip
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The database nodes with their sections: master, slave, and slave2
    /// when given.
    pub fn database_nodes(&self) -> Vec<(&'static str, &NodeAnswers)> {
        let mut nodes = vec![("master", &self.master), ("slave", &self.slave)];
        if self.has_slave2() {
            nodes.push(("slave2", &self.slave2));
        }
        nodes
    }

    /// Whether a third database node (`[slave2]`) is given.
    pub fn has_slave2(&self) -> bool {
        !self.slave2.host.is_empty()
    }

    /// The answers as a TOML answers file; secrets left empty unless asked.
    pub fn to_toml(&self, include_secrets: bool) -> Result<String> {
        let mut copy = self.clone();
        if !include_secrets {
            for field in fields::secrets() {
                (field.parse)(&mut copy, "")?;
            }
        }
        let body =
            toml::to_string(&copy).map_err(|e| Error::Internal(format!("writing answers: {e}")))?;
        let note = if include_secrets {
            "# Holds passwords: keep it private (mode 0600).\n"
        } else {
            "# Secrets left out: empty passwords mean unix-socket login (admin) or a\n# generated one (replication); add them here for an unattended run.\n"
        };
        Ok(format!(
            "# mysql-ha answers (written by `mysql-ha setup --save-answers`).\n# See docs/answers.md for every key.\n{note}\n{body}"
        ))
    }

    /// Writes the answers file with mode 0600 (it may hold secrets).
    pub fn save(&self, path: &Path, include_secrets: bool) -> Result<()> {
        let text = self.to_toml(include_secrets)?;
        write_private_file(path, text.as_bytes())
    }
}

/// Writes an answers file readable by its owner only (it may hold secrets),
/// including over an older file whose mode `open` would keep.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))
}

/// Why an answers file does not read: the key (`section.key`), what is
/// wrong, and the line (1-based) it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileError {
    key: String,
    message: String,
    line: Option<usize>,
}

/// The line (1-based) of a byte offset in a TOML text, and the full key
/// written there: the last `[table]` header above it joined to the key of
/// the `key = value` line the offset falls in (for a value over several
/// lines, the nearest such line above).
fn locate(text: &str, offset: usize) -> (usize, Option<String>) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let lines: Vec<&str> = text.lines().collect();
    let upto = line.min(lines.len());
    let mut key = None;
    let mut section = String::new();
    for raw in lines[..upto].iter().rev() {
        let trimmed = raw.trim();
        if trimmed.starts_with('[') {
            section = trimmed
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            break;
        }
        if key.is_none() {
            if let Some((name, _)) = trimmed.split_once('=') {
                let name = name.trim().trim_matches('"');
                let bare = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
                if bare && !trimmed.starts_with('#') {
                    key = Some(name.to_string());
                }
            }
        }
    }
    let key = match (key, section.is_empty()) {
        (Some(key), true) => Some(key),
        (Some(key), false) => Some(format!("{section}.{key}")),
        (None, false) => Some(section),
        (None, true) => None,
    };
    (line, key)
}

/// The line (1-based) where a file sets `key` (`section.key`, the section
/// possibly dotted: `cluster.ddns.ttl`), if it does.
pub fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let (section, leaf) = key.rsplit_once('.')?;
    let mut current = String::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            current = line
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            continue;
        }
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        if current == section && name.trim().trim_matches('"') == leaf {
            return Some(index + 1);
        }
    }
    None
}

/// An answers error from a file's values, with the file and the line that
/// sets the key (a key the file leaves out names the file only).
pub fn in_file(err: Error, path: &Path) -> Error {
    match err {
        Error::Answers { key, message } => {
            let line = std::fs::read_to_string(path)
                .ok()
                .and_then(|text| line_of_key(&text, &key));
            let place = match line {
                Some(line) => format!("{}:{line}", path.display()),
                None => format!("in {}", path.display()),
            };
            Error::Answers {
                message: format!("{message} ({place})"),
                key,
            }
        }
        other => other,
    }
}

/// Whether two addresses share the first `prefix` bits.
fn same_network(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix.min(32)))
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix.min(128)))
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// A host's addresses as this machine's resolver gives them.
pub fn resolve_host(host: &str) -> std::io::Result<Vec<IpAddr>> {
    use std::net::ToSocketAddrs;
    let mut found: Vec<IpAddr> = (host, 0).to_socket_addrs()?.map(|a| a.ip()).collect();
    found.dedup();
    Ok(found)
}

/// A warning for an answers file that holds secrets and that others may
/// read (as ssh warns about a private key): None when it is private or
/// holds no secret.
pub fn permission_warning(path: &Path, answers: &Answers) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let held: Vec<&str> = fields::secrets()
        .filter(|f| !(f.get)(answers).is_empty())
        .map(|f| f.key)
        .collect();
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    if held.is_empty() || mode & 0o077 == 0 {
        return None;
    }
    Some(format!(
        "{} holds secrets ({}) and has mode {mode:04o}: others on this machine can read them; run `chmod 600 {}`",
        path.display(),
        held.join(", "),
        path.display()
    ))
}

fn answer_error(key: &str, message: impl Into<String>) -> Error {
    Error::Answers {
        key: key.to_string(),
        message: message.into(),
    }
}

fn same_host(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub fn validate_host(key: &str, host: &str) -> Result<()> {
    if host.is_empty() {
        return Err(answer_error(
            key,
            "missing: give the address or name the other node and this tool reach it by",
        ));
    }
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let valid_name = host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid_name {
        Ok(())
    } else {
        Err(answer_error(
            key,
            format!("`{host}` is neither an IP address nor a host name"),
        ))
    }
}

/// What running Pacemaker without fencing risks, in the plan's words.
pub const NO_FENCING_RISK: &str = "without fencing, a node that stops answering is only assumed to be down; if it is merely cut off or frozen and comes back, it may still write for a moment while the other node is promoted (two writable servers), and a resource that fails to stop blocks the cluster until a person steps in";

/// Empty, or the name of a fence agent program (`fence_` and lower-case
/// letters, digits, `_`).
pub fn validate_fence_agent(key: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Ok(());
    }
    let valid = name.starts_with("fence_")
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(answer_error(
            key,
            format!("`{name}`: give a fence agent's name, e.g. fence_ipmilan or fence_virsh"),
        ))
    }
}

/// One fence agent parameter, `name=value`: a name of letters, digits and
/// `_`, a value without quotes, backslashes or line breaks (it goes into a
/// crm configuration line).
pub fn validate_fence_param(key: &str, param: &str) -> Result<()> {
    let Some((name, value)) = param.split_once('=') else {
        return Err(answer_error(
            key,
            format!("`{param}`: write name=value, e.g. ip=192.0.2.200"),
        ));
    };
    let good_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let good_value = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\'' || c == '\\' || c.is_whitespace());
    if good_name && good_value {
        Ok(())
    } else {
        Err(answer_error(
            key,
            format!("`{param}`: a name of letters, digits and _, then = and a value without spaces, quotes or backslashes"),
        ))
    }
}

pub fn validate_account(key: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(answer_error(key, "missing: give an account name"));
    }
    if name.len() > 32
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(answer_error(
            key,
            format!("`{name}`: use at most 32 letters, digits, `_`, `.` or `-`"),
        ));
    }
    Ok(())
}

/// The replication account: a valid name that the server, the
/// distribution and this tool do not own.
pub fn validate_replication_user(key: &str, name: &str) -> Result<()> {
    validate_account(key, name)?;
    if let Some(reserved) = RESERVED_DB_ACCOUNTS
        .iter()
        .find(|r| r.eq_ignore_ascii_case(name))
    {
        let whose = if *reserved == MONITOR_USER {
            "the cluster daemon's monitor account, which setup replaces on every run"
        } else {
            "an account of the server or the distribution"
        };
        return Err(answer_error(
            key,
            format!("`{name}` is {whose}; choose another name (e.g. repl)"),
        ));
    }
    Ok(())
}

/// The cluster account: a valid name that is no system or service account
/// and no database account the server or this tool owns.
pub fn validate_cluster_account(key: &str, name: &str) -> Result<()> {
    validate_account(key, name)?;
    let reserved = SYSTEM_UNIX_ACCOUNTS
        .iter()
        .chain(RESERVED_DB_ACCOUNTS)
        .any(|r| r.eq_ignore_ascii_case(name));
    if reserved || name.starts_with("systemd-") {
        return Err(answer_error(
            key,
            format!(
                "`{name}` is a system or service account (or one the server owns): setup would replace its ssh settings, keys and sudo rules; choose an account of its own (e.g. mysqlha)"
            ),
        ));
    }
    Ok(())
}

pub fn validate_password(key: &str, password: &str) -> Result<()> {
    if password.len() < 12 {
        return Err(answer_error(
            key,
            "too short: use at least 12 characters, or leave it empty to generate one",
        ));
    }
    if password.len() > MAX_REPLICATION_PASSWORD_BYTES {
        return Err(answer_error(
            key,
            format!(
                "too long: {} bytes, the server takes at most {MAX_REPLICATION_PASSWORD_BYTES} in CHANGE MASTER TO; use a shorter one, or leave it empty to generate one",
                password.len()
            ),
        ));
    }
    if password.chars().any(|c| c.is_control()) {
        return Err(answer_error(key, "contains a control character"));
    }
    Ok(())
}

/// A database name the server, the option files and this tool can all carry.
pub fn validate_database_name(key: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 {
        return Err(answer_error(
            key,
            format!("`{name}`: a database name has 1 to 64 characters"),
        ));
    }
    if name != name.trim()
        || name.chars().any(|c| {
            c.is_control()
                || c == '#'
                || c == '/'
                || c == '\\'
                || c == '.'
                || c == '`'
                || c == '\''
                || c == '"'
        })
    {
        return Err(answer_error(
            key,
            format!("`{name}` cannot be written in an option file (replicate-wild-do-table); rename it or replicate it by hand"),
        ));
    }
    if SYSTEM_SCHEMAS.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        return Err(answer_error(
            key,
            format!("`{name}` is a system schema; it is never replicated by name"),
        ));
    }
    if name.eq_ignore_ascii_case(TOOL_DATABASE) {
        return Err(answer_error(
            key,
            format!("`{name}` is the cluster daemon's own database, kept apart on each node; it is never replicated"),
        ));
    }
    Ok(())
}

pub fn validate_databases(databases: &[String]) -> Result<()> {
    let key = "replication.databases";
    if databases.is_empty() {
        return Err(answer_error(
            key,
            "missing: list the databases to replicate, or [\"*\"] for every non-system database",
        ));
    }
    if databases.iter().any(|d| d == "*") {
        if databases.len() > 1 {
            return Err(answer_error(key, "`*` means every database: give it alone"));
        }
        return Ok(());
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in databases {
        validate_database_name(key, name)?;
        if !seen.insert(name) {
            return Err(answer_error(key, format!("`{name}` is listed twice")));
        }
    }
    Ok(())
}

/// `replication.tls`: own files need all three absolute paths; the paths
/// are for `files` only.
pub fn validate_tls(r: &ReplicationAnswers) -> Result<()> {
    for key in [
        "replication.tls_ca_file",
        "replication.tls_cert_file",
        "replication.tls_key_file",
    ] {
        let answers = Answers {
            replication: r.clone(),
            ..Answers::default()
        };
        fields::field(key).map_or(Ok(()), |f| (f.check)(&answers))?;
    }
    Ok(())
}

/// A file's full path on the nodes (no control characters).
pub fn validate_node_path(key: &str, path: &str) -> Result<()> {
    if !path.starts_with('/') || path.chars().any(char::is_control) {
        return Err(answer_error(
            key,
            format!("`{path}` is not an absolute path; give the file's full path on the nodes"),
        ));
    }
    Ok(())
}

pub fn validate_vip(key: &str, vip: &str) -> Result<()> {
    let Some((address, prefix)) = vip.split_once('/') else {
        return Err(answer_error(
            key,
            format!("`{vip}`: give address/prefix, e.g. 192.0.2.10/24"),
        ));
    };
    let address_ok = address.parse::<IpAddr>().is_ok();
    let prefix_ok = prefix.parse::<u8>().is_ok_and(|p| p <= 32);
    if address_ok && prefix_ok {
        Ok(())
    } else {
        Err(answer_error(
            key,
            format!("`{vip}`: give address/prefix, e.g. 192.0.2.10/24"),
        ))
    }
}

/// A dynamic-DNS name: a host name with at least one dot.
pub fn validate_ddns_name(key: &str, name: &str) -> Result<()> {
    if name.parse::<IpAddr>().is_ok() || !name.contains('.') {
        return Err(answer_error(
            key,
            format!("`{name}`: give the fully qualified name the cluster is reached by, e.g. db.example.com"),
        ));
    }
    validate_host(key, name)
}

/// A DNS zone: a domain name, written without the final dot.
pub fn validate_zone(key: &str, zone: &str) -> Result<()> {
    if zone.is_empty() || zone.ends_with('.') || zone.parse::<IpAddr>().is_ok() {
        return Err(answer_error(
            key,
            format!("`{zone}`: give the zone's name without the final dot, e.g. example.com"),
        ));
    }
    validate_host(key, zone)
}

/// A name inside the zone (or the zone itself).
pub fn validate_name_in_zone(key: &str, name: &str, zone: &str) -> Result<()> {
    validate_ddns_name(key, name)?;
    let (name, zone) = (name.to_ascii_lowercase(), zone.to_ascii_lowercase());
    if name == zone || name.ends_with(&format!(".{zone}")) {
        Ok(())
    } else {
        Err(answer_error(
            key,
            format!("`{name}` is not inside the zone `{zone}` (cluster.ddns.zone)"),
        ))
    }
}

/// The TSIG algorithms BIND's `nsupdate` signs with.
pub const TSIG_ALGORITHMS: &[&str] = &[
    "hmac-sha256",
    "hmac-sha512",
    "hmac-sha384",
    "hmac-sha224",
    "hmac-sha1",
    "hmac-md5",
];

/// A TSIG key name: a domain-name-like word.
pub fn validate_key_name(key: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(answer_error(
            key,
            format!("`{name}`: give the TSIG key's name (letters, digits, `-`, `_`, `.`)"),
        ))
    }
}

/// A TSIG secret: base64, as in a BIND key file.
pub fn validate_key_secret(key: &str, secret: &str) -> Result<()> {
    let body = secret.trim_end_matches('=');
    let base64 = body
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/".contains(c))
        && secret.len().is_multiple_of(4)
        && secret.len() - body.len() <= 2;
    if secret.len() < 16 || !base64 {
        return Err(answer_error(
            key,
            "give the key's base64 secret (the `secret` of the key file `tsig-keygen` writes)",
        ));
    }
    Ok(())
}

pub fn validate_key_algorithm(key: &str, algorithm: &str) -> Result<()> {
    if TSIG_ALGORITHMS.contains(&algorithm) {
        Ok(())
    } else {
        Err(answer_error(
            key,
            format!("`{algorithm}`: use one of {}", TSIG_ALGORITHMS.join(", ")),
        ))
    }
}

/// A key passphrase: empty (no passphrase) or at least 8 characters.
pub fn validate_passphrase(key: &str, passphrase: &str) -> Result<()> {
    if passphrase.len() < 8 {
        return Err(answer_error(
            key,
            "too short: use at least 8 characters, or leave it empty for a key without passphrase",
        ));
    }
    if passphrase.chars().any(|c| c.is_control()) {
        return Err(answer_error(key, "contains a control character"));
    }
    Ok(())
}

/// A whole number within bounds (seconds, counts).
pub fn validate_seconds(key: &str, value: u32, min: u32, max: u32) -> Result<()> {
    if value < min || value > max {
        return Err(answer_error(
            key,
            format!("{value}: give a whole number from {min} to {max}"),
        ));
    }
    Ok(())
}

/// A replication password for when the answers leave it empty: 24 random
/// characters the option files and SQL quoting carry without escaping.
pub fn generate_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 24)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn pacemaker_answers() -> Answers {
        let mut answers = Answers::default();
        answers.master.host = "192.0.2.11".into();
        answers.slave.host = "192.0.2.12".into();
        answers.replication.databases = vec!["shop".into()];
        answers.cluster.manager = Manager::Pacemaker;
        answers
    }

    #[test]
    fn pacemaker_needs_a_fence_agent_or_the_explicit_choice_to_run_without() {
        let mut answers = pacemaker_answers();
        let err = answers.validate().unwrap_err().to_string();
        assert!(err.contains("cluster.fence_agent"), "{err}");
        assert!(err.contains("run_without_fencing"), "{err}");
        answers.cluster.run_without_fencing = true;
        answers.validate().unwrap();
        answers.cluster.run_without_fencing = false;
        answers.cluster.fence_agent = "fence_ipmilan".into();
        answers.cluster.fence_params = vec!["ip=192.0.2.200".into(), "lanplus=1".into()];
        answers.validate().unwrap();
        answers.cluster.fence_params = vec!["ip 192.0.2.200".into()];
        let err = answers.validate().unwrap_err().to_string();
        assert!(err.contains("cluster.fence_params"), "{err}");
        answers.cluster.fence_params.clear();
        answers.replication.durability = Durability::Async;
        let err = answers.validate().unwrap_err().to_string();
        assert!(err.contains("replication.durability"), "{err}");
        answers.replication.durability = Durability::SemiSync;
        answers.cluster.resource = Resource::Ddns;
        let err = answers.validate().unwrap_err().to_string();
        assert!(err.contains("cluster.resource"), "{err}");
    }

    #[test]
    fn the_manager_reads_from_a_file_and_defaults_to_our_daemon() {
        assert_eq!(Answers::default().cluster.manager, Manager::MysqlHa);
        let answers =
            Answers::from_toml("[cluster]\nmanager = \"pacemaker\"\nrun_without_fencing = true\n")
                .unwrap();
        assert_eq!(answers.cluster.manager, Manager::Pacemaker);
        let err = Answers::from_toml("[cluster]\nmanager = \"heartbeat\"\n").unwrap_err();
        assert_eq!(err.key, "cluster.manager");
        let mut ours = pacemaker_answers();
        ours.cluster.manager = Manager::MysqlHa;
        ours.cluster.fence_agent = "fence_ipmilan".into();
        let err = ours.validate().unwrap_err().to_string();
        assert!(err.contains("cluster.fence_agent"), "{err}");
    }

    const LAB: &str = r#"
[master]
host = "192.0.2.11"
[slave]
host = "192.0.2.12"
[replication]
databases = ["shop", "web-stats"]
"#;

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        let answers = Answers::from_toml(LAB).unwrap();
        assert_eq!(answers.master.ssh_user, "root");
        assert_eq!(answers.replication.user, "repl");
        assert_eq!(answers.replication.seed, SeedMethod::Auto);
        answers.validate().unwrap();
    }

    #[test]
    fn install_package_is_a_readable_deb_or_rpm_and_moves_the_node_binary() {
        let mut answers = Answers::from_toml(LAB).unwrap();
        assert_eq!(answers.install.node_binary(), "/usr/local/sbin/mysql-ha");
        let dir = tempfile::tempdir().unwrap();
        let deb = dir.path().join("mysql-ha_0.1.0-1_amd64.deb");
        std::fs::write(&deb, b"!<arch>\n").unwrap();
        for (package, wanted) in [
            (
                "/nowhere/mysql-ha.deb",
                Some("cannot read `/nowhere/mysql-ha.deb`"),
            ),
            ("mysql-ha.tar.gz", Some("neither a .deb nor a .rpm")),
            (
                dir.path().to_str().unwrap(),
                Some("neither a .deb nor a .rpm"),
            ),
            (deb.to_str().unwrap(), None),
        ] {
            answers.install.package = package.to_string();
            match (answers.validate(), wanted) {
                (Ok(()), None) => {}
                (Err(Error::Answers { key, message }), Some(wanted)) => {
                    assert_eq!(key, "install.package");
                    assert!(message.contains(wanted), "{message}");
                }
                (other, _) => panic!("{package}: {other:?}"),
            }
        }
        assert_eq!(answers.install.package_kind(), Some(PackageKind::Deb));
        assert_eq!(answers.install.node_binary(), "/usr/sbin/mysql-ha");
        let text = format!("{LAB}[install]\npackage = \"/tmp/x.rpm\"\n");
        let answers = Answers::from_toml(&text).unwrap();
        assert_eq!(answers.install.package_kind(), Some(PackageKind::Rpm));
    }

    #[test]
    fn unknown_key_is_named_with_its_section_and_line() {
        let bad = Answers::from_toml("[master]\nhots = \"x\"\n").unwrap_err();
        assert_eq!(bad.key, "master.hots");
        assert_eq!(bad.line, Some(2));
        let text = format!("{LAB}datbases = [\"shop\"]\n");
        let bad = Answers::from_toml(&text).unwrap_err();
        assert_eq!(bad.key, "replication.datbases", "{bad:?}");
        assert_eq!(bad.line, Some(text.lines().count()));
    }

    #[test]
    fn type_errors_name_the_key_and_line_not_the_value() {
        let cases = [
            (
                "[master]\nhost = \"a\"\nssh_port = \"twenty-two\"\n",
                "master.ssh_port",
                3,
            ),
            (
                "[replication]\ndatabases = \"shop\"\n",
                "replication.databases",
                2,
            ),
            (
                "[replication]\nuser = \"r\"\nseed = \"rsync\"\n",
                "replication.seed",
                3,
            ),
            (
                "[replication]\ndatabases = [\n  \"shop\",\n  3,\n]\n",
                "replication.databases",
                4,
            ),
            ("[cluster.ddns]\nttl = \"long\"\n", "cluster.ddns.ttl", 2),
        ];
        for (text, key, line) in cases {
            let bad = Answers::from_toml(text).unwrap_err();
            assert_eq!(bad.key, key, "{text}: {bad:?}");
            assert_eq!(bad.line, Some(line), "{text}: {bad:?}");
            assert!(!bad.message.contains('\n'), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_value_is_found_on_its_line() {
        let text = "[master]\nhost = \"192.0.2.11\"\n[replication]\n# who\nuser = \"root\"\n[cluster.ddns]\nttl = 0\n";
        assert_eq!(line_of_key(text, "replication.user"), Some(5));
        assert_eq!(line_of_key(text, "cluster.ddns.ttl"), Some(7));
        assert_eq!(line_of_key(text, "master.host"), Some(2));
        assert_eq!(line_of_key(text, "slave.host"), None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        std::fs::write(&path, text).unwrap();
        let err = in_file(answer_error("replication.user", "reserved"), &path).to_string();
        assert!(err.contains(&format!("{}:5", path.display())), "{err}");
    }

    #[test]
    fn file_errors_give_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "[replication]\nseed = \"rsync\"\n").unwrap();
        let text = Answers::from_file(&path).unwrap_err().to_string();
        assert!(text.contains("`replication.seed`"), "{text}");
        assert!(text.contains(&format!("{}:2", path.display())), "{text}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.slave.host = "192.0.2.11".into();
        assert!(answers
            .validate()
            .unwrap_err()
            .to_string()
            .contains("slave.host"));
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.replication.databases = vec!["mysql".into()];
        assert!(answers
            .validate()
            .unwrap_err()
            .to_string()
            .contains("replication.databases"));
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.replication.databases = vec!["a#b".into()];
        assert!(answers.validate().is_err());
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.master.host = "bad host".into();
        assert!(answers
            .validate()
            .unwrap_err()
            .to_string()
            .contains("master.host"));
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.cluster.resource = Resource::Vip;
        answers.cluster.vip = "192.0.2.10".into();
        assert!(answers
            .validate()
            .unwrap_err()
            .to_string()
            .contains("cluster.vip"));
    }

    fn key_of(answers: &Answers) -> String {
        match answers.validate() {
            Err(Error::Answers { key, .. }) => key,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reserved_database_accounts_are_refused_as_replication_user() {
        for name in [
            "mysqlha_mon",
            "root",
            "ROOT",
            "mysql",
            "mariadb.sys",
            "debian-sys-maint",
        ] {
            let mut answers = Answers::from_toml(LAB).unwrap();
            answers.replication.user = name.into();
            assert_eq!(key_of(&answers), "replication.user", "{name}");
        }
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.master.mysql_admin_user = "admin".into();
        answers.replication.user = "admin".into();
        let text = answers.validate().unwrap_err().to_string();
        assert!(text.contains("master.mysql_admin_user"), "{text}");
    }

    #[test]
    fn system_and_service_accounts_are_refused_as_cluster_account() {
        for name in [
            "root",
            "mysql",
            "sshd",
            "daemon",
            "www-data",
            "nobody",
            "systemd-network",
            "mysqlha_mon",
        ] {
            let mut answers = Answers::from_toml(LAB).unwrap();
            answers.cluster.account = name.into();
            assert_eq!(key_of(&answers), "cluster.account", "{name}");
        }
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.master.ssh_user = "admin".into();
        answers.cluster.account = "admin".into();
        let text = answers.validate().unwrap_err().to_string();
        assert!(text.contains("master.ssh_user"), "{text}");
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.cluster.account = "mysqlha".into();
        answers.validate().unwrap();
    }

    #[test]
    fn the_tools_own_database_is_never_replicated_by_name() {
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.replication.databases = vec!["mysql_ha".into()];
        assert_eq!(key_of(&answers), "replication.databases");
    }

    #[test]
    fn a_replication_password_over_the_servers_limit_is_refused() {
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.replication.password = "p".repeat(MAX_REPLICATION_PASSWORD_BYTES);
        answers.validate().unwrap();
        answers.replication.password.push('x');
        let text = answers.validate().unwrap_err().to_string();
        assert!(
            text.contains("replication.password") && text.contains("too long"),
            "{text}"
        );
        assert!(!text.contains("ppppp"), "no part of the secret: {text}");
    }

    fn lab_resolver(host: &str) -> std::io::Result<Vec<IpAddr>> {
        match host {
            "node1" => Ok(vec!["192.0.2.11".parse().unwrap()]),
            "node2" => Ok(vec!["192.0.2.12".parse().unwrap()]),
            _ => Err(std::io::Error::other("Name or service not known")),
        }
    }

    fn address_error(answers: &Answers) -> (String, String) {
        match answers.check_addresses(&lab_resolver) {
            Err(Error::Answers { key, message }) => (key, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_same_node_under_two_names_is_refused() {
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.check_addresses(&lab_resolver).unwrap();
        answers.master.host = "node1".into();
        answers.slave.host = "192.0.2.11".into();
        let (key, message) = address_error(&answers);
        assert_eq!(key, "slave.host");
        assert!(message.contains("same machine"), "{message}");
    }

    #[test]
    fn a_third_node_is_for_pacemaker_and_a_third_machine() {
        let mut answers =
            Answers::from_toml(&format!("{LAB}\n[slave2]\nhost = \"192.0.2.13\"\n")).unwrap();
        assert!(answers.has_slave2());
        let text = answers.validate().unwrap_err().to_string();
        assert!(
            text.contains("slave2.host") && text.contains("cluster.manager = \"pacemaker\""),
            "{text}"
        );
        answers.cluster.manager = Manager::Pacemaker;
        answers.cluster.run_without_fencing = true;
        // Three nodes replicate over TLS (the lab's default) or in plain text.
        answers.validate().unwrap();
        answers.replication.tls = TlsMode::Off;
        answers.validate().unwrap();
        answers.check_addresses(&lab_resolver).unwrap();
        assert_eq!(answers.database_nodes().len(), 3);
        // Fence devices per node: the third node's too.
        let mut fenced = answers.clone();
        fenced.cluster.fence_agent = "fence_ipmilan".into();
        fenced.master.fence_params = vec!["ip=192.0.2.211".into()];
        fenced.slave.fence_params = vec!["ip=192.0.2.212".into()];
        let text = fenced.validate().unwrap_err().to_string();
        assert!(text.contains("slave2.fence_params"), "{text}");
        fenced.slave2.fence_params = vec!["ip=192.0.2.213".into()];
        fenced.validate().unwrap();
        // Saved answers keep it; answers without one write no [slave2].
        assert!(answers.to_toml(false).unwrap().contains("[slave2]"));
        let mut two = answers.clone();
        two.slave2 = NodeAnswers::default();
        assert!(!two.to_toml(false).unwrap().contains("slave2"));
        answers.slave2.host = "node2".into();
        let (key, message) = address_error(&answers);
        assert_eq!(key, "slave2.host");
        assert!(message.contains("same machine"), "{message}");
        // Its keys without its host are a mistake, not two nodes.
        answers.slave2 = NodeAnswers {
            ssh_user: "admin".into(),
            ..NodeAnswers::default()
        };
        let text = answers.validate().unwrap_err().to_string();
        assert!(
            text.contains("slave2.host") && text.contains("missing"),
            "{text}"
        );
    }

    #[test]
    fn an_unresolvable_host_names_its_key() {
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.slave.host = "nosuchnode".into();
        let (key, message) = address_error(&answers);
        assert_eq!(key, "slave.host");
        assert!(message.contains("nosuchnode"), "{message}");
    }

    #[test]
    fn a_cluster_address_must_be_free_and_in_the_nodes_network() {
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.cluster.resource = Resource::Vip;
        answers.cluster.vip = "192.0.2.10/24".into();
        answers.check_addresses(&lab_resolver).unwrap();
        for vip in [
            "192.0.2.12/24",
            "198.51.100.10/24",
            "192.0.2.255/24",
            "192.0.2.0/24",
        ] {
            answers.cluster.vip = vip.into();
            let (key, message) = address_error(&answers);
            assert_eq!(key, "cluster.vip", "{vip}: {message}");
        }
        answers.master.host = "node1".into();
        answers.cluster.vip = "192.0.2.11/24".into();
        let (_, message) = address_error(&answers);
        assert!(message.contains("master.host"), "{message}");
    }

    #[test]
    fn an_answers_file_with_secrets_readable_by_others_is_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("answers.toml");
        let mut answers = Answers::from_toml(LAB).unwrap();
        std::fs::write(&path, LAB).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(permission_warning(&path, &answers), None, "no secret in it");
        answers.replication.password = "a-secret-of-enough-length".into();
        let warning = permission_warning(&path, &answers).unwrap();
        assert!(
            warning.contains("0644") && warning.contains("replication.password"),
            "{warning}"
        );
        assert!(!warning.contains("a-secret"), "{warning}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(permission_warning(&path, &answers), None);
    }

    #[test]
    fn saved_answers_leave_secrets_out_unless_asked() {
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.replication.password = "a-secret-of-enough-length".into();
        answers.master.mysql_admin_password = "admin-secret".into();
        let text = answers.to_toml(false).unwrap();
        assert!(
            !text.contains("a-secret-of") && !text.contains("admin-secret"),
            "{text}"
        );
        let back = Answers::from_toml(&text).unwrap();
        assert_eq!(back.replication.databases, answers.replication.databases);
        assert_eq!(back.replication.password, "");
        let text = answers.to_toml(true).unwrap();
        assert_eq!(Answers::from_toml(&text).unwrap(), answers);
    }

    #[test]
    fn timings_and_ddns_are_checked() {
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.cluster.check_interval_ms = 0;
        assert!(answers
            .validate()
            .unwrap_err()
            .to_string()
            .contains("cluster.check_interval_ms"));
        let old = Answers::from_toml(&format!("{LAB}[cluster]\ncheck_interval_s = 5\n")).unwrap();
        let text = old.validate().unwrap_err().to_string();
        assert!(
            text.contains("cluster.check_interval_s") && text.contains("check_interval_ms = 5000"),
            "{text}"
        );
        let mut answers = Answers::from_toml(LAB).unwrap();
        answers.cluster.resource = Resource::Ddns;
        let error_key = |a: &Answers| match a.validate() {
            Err(Error::Answers { key, .. }) => key,
            other => panic!("{other:?}"),
        };
        assert_eq!(error_key(&answers), "cluster.ddns.server");
        answers.cluster.ddns.server = "192.0.2.100".into();
        answers.cluster.ddns.zone = "example.com".into();
        answers.cluster.ddns.name = "db".into();
        assert_eq!(error_key(&answers), "cluster.ddns.name");
        answers.cluster.ddns.name = "db.example.org".into();
        assert_eq!(error_key(&answers), "cluster.ddns.name");
        answers.cluster.ddns.name = "db.example.com".into();
        assert_eq!(error_key(&answers), "cluster.ddns.key_name");
        answers.cluster.ddns.key_name = "ha-key".into();
        answers.cluster.ddns.key_secret = "not base64!".into();
        assert_eq!(error_key(&answers), "cluster.ddns.key_secret");
        answers.cluster.ddns.key_secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=".into();
        answers.validate().unwrap();
        answers.cluster.ddns.key_file = "/etc/ha.key".into();
        assert_eq!(error_key(&answers), "cluster.ddns.key_secret");
        answers.cluster.ddns.key_secret.clear();
        answers.validate().unwrap();
    }

    #[test]
    fn ddns_section_reads_and_its_secret_stays_out_of_saved_answers() {
        let text = format!(
            "{LAB}[cluster]\nresource = \"ddns\"\n[cluster.ddns]\nserver = \"192.0.2.100\"\nzone = \"cluster.test\"\nname = \"db.cluster.test\"\nttl = 10\nkey_name = \"k\"\nkey_secret = \"c2VjcmV0LXNlY3JldC1zZWNyZXQ=\"\n"
        );
        let answers = Answers::from_toml(&text).unwrap();
        answers.validate().unwrap();
        assert_eq!(answers.cluster.ddns.ttl, 10);
        assert_eq!(answers.cluster.ddns.port, 53);
        assert!(!format!("{answers:?}").contains("c2VjcmV0"));
        let saved = answers.to_toml(false).unwrap();
        assert!(!saved.contains("c2VjcmV0"), "{saved}");
        assert_eq!(
            Answers::from_toml(&answers.to_toml(true).unwrap()).unwrap(),
            answers
        );
    }

    #[test]
    fn tls_files_need_all_three_paths_and_only_with_files() {
        let mut answers = Answers::default();
        answers.replication.tls = TlsMode::Files;
        answers.replication.tls_ca_file = "/etc/ssl/db/ca.pem".into();
        answers.replication.tls_cert_file = "etc/ssl/db/node.pem".into();
        let err = validate_tls(&answers.replication).unwrap_err().to_string();
        assert!(err.contains("replication.tls_cert_file"), "{err}");
        answers.replication.tls_cert_file = "/etc/ssl/db/node.pem".into();
        let err = validate_tls(&answers.replication).unwrap_err().to_string();
        assert!(err.contains("replication.tls_key_file"), "{err}");
        answers.replication.tls_key_file = "/etc/ssl/db/node.key".into();
        validate_tls(&answers.replication).unwrap();
        answers.replication.tls = TlsMode::Generate;
        let err = validate_tls(&answers.replication).unwrap_err().to_string();
        assert!(err.contains("replication.tls_ca_file"), "{err}");
        assert!(err.contains("only with"), "{err}");
        let parsed = Answers::from_toml("[replication]\ntls = \"maybe\"\n").unwrap_err();
        assert_eq!(parsed.key, "replication.tls");
    }

    #[test]
    fn generated_password_is_strong() {
        let password = generate_password();
        assert!(password.len() >= 20);
        validate_password("replication.password", &password).unwrap();
        assert_ne!(password, generate_password());
    }

    #[test]
    fn private_file_is_0600_even_over_an_older_open_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mysql-ha-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("answers.toml");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private_file(&path, b"new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
