//! The one table of answer fields. Each key of the answers file is one
//! `Field`: where the wizard asks it (group, label, help, kind, when it
//! applies), how its value reads and is stored (`get`, `parse`), the check
//! it must pass (`check`, the same for the file and the wizard), and its
//! line in docs/answers.md (default and rule). `Answers::validate`, the
//! wizard's questions and docs/answers.md's tables all come from `FIELDS`.

use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::Serialize;

use super::{
    answer_error, same_host, validate_account, validate_cluster_account, validate_databases,
    validate_ddns_name, validate_fence_agent, validate_fence_param, validate_host,
    validate_key_algorithm, validate_key_name, validate_key_secret, validate_name_in_zone,
    validate_node_path, validate_passphrase, validate_password, validate_replication_user,
    validate_seconds, validate_vip, validate_zone, Answers, Durability, Manager, NodeAnswers,
    Resource, TlsMode, CHECK_INTERVAL_MS, CHECK_TIMEOUT_MS, NO_FENCING_RISK,
};
use crate::Result;

/// Groups of questions, in the order the wizard asks them. Every field has
/// one: it is also where the full-screen wizard goes back to when a check
/// names the field's key.
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

    /// The group of an answers key (the nodes for a key of no field).
    pub fn of_key(key: &str) -> Group {
        field(key).map(|f| f.group).unwrap_or(Group::Nodes)
    }
}

/// How the wizard takes the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Typed without echo.
    Secret,
    /// One of these words.
    Choice(&'static [&'static str]),
    Number,
}

/// Whether and how the wizard asks a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// One question of its group.
    Question,
    /// Picked from a list of its own (the master's databases).
    List,
    /// From the answers file or its default only.
    Not,
}

/// One key of the answers file.
#[derive(Debug)]
pub struct Field {
    /// The answers-file key with its section ("master.host").
    pub key: &'static str,
    pub group: Group,
    pub asked: Asked,
    pub label: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// Whether the wizard asks it, given the answers so far.
    pub applies: fn(&Answers) -> bool,
    /// The value as the wizard shows it.
    pub get: fn(&Answers) -> String,
    /// Reads typed text into the answers (and clears what the new value
    /// makes meaningless); refuses text that is no value of the key's type.
    pub parse: fn(&mut Answers, &str) -> Result<()>,
    /// The value's check, given the rest of the answers: the same for an
    /// answers file and for a typed answer.
    pub check: fn(&Answers) -> Result<()>,
    /// When an answers file's value is checked (a key the other answers
    /// leave unused, such as `cluster.vip` without a virtual IP, is not).
    pub checked_when: fn(&Answers) -> bool,
    /// docs/answers.md's default, when the default value alone does not
    /// say it (a value found at run time).
    pub default_doc: Option<&'static str>,
    /// docs/answers.md's validation column.
    pub rule: &'static str,
}

/// The field of an answers key.
pub fn field(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.key == key)
}

/// The wizard's answer to one question: read, checked against the rest of
/// the answers (whether or not they use it yet), stored. A bad answer
/// leaves `answers` unchanged.
pub fn set(answers: &mut Answers, key: &str, value: &str) -> Result<()> {
    let field = field(key).ok_or_else(|| answer_error(key, "no such question"))?;
    let mut next = answers.clone();
    (field.parse)(&mut next, value)?;
    (field.check)(&next)?;
    *answers = next;
    Ok(())
}

/// Every field's check, in the table's order; the first bad value is the
/// error, naming its key.
pub fn check_all(answers: &Answers) -> Result<()> {
    FIELDS
        .iter()
        .filter(|f| (f.checked_when)(answers))
        .try_for_each(|f| (f.check)(answers))
}

/// The keys that hold a secret: typed without echo, left out of a saved
/// answers file unless asked, warned about in a file others can read.
pub fn secrets() -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(|f| f.kind == Kind::Secret)
}

const NODE_FENCE_PARAMS_RULE: &str = "with a fence agent: the node's own fence device's parameters (`name=value` as in `cluster.fence_params`, e.g. `[\"ip=192.0.2.211\"]` for its BMC), added to `cluster.fence_params`. Given for either node, each node gets a device of its own (`p_fence_NODE`, never run on the node it fences); empty for both: one device `p_fence` fences both nodes";
const SLAVE2_HOST_RULE: &str = "optional: a third database node, set up as a second slave of the master exactly like `[slave]` (same checks, seeded the same way) and a member of the Pacemaker cluster. Only with `cluster.manager = \"pacemaker\"` (the mysql-ha daemon manages a pair: refused before any change); a machine other than the master and the slave, compared by resolved address. Its other keys are `[slave]`'s, with the same defaults and rules";
const SLAVE2_FENCE_PARAMS_RULE: &str = "as `[slave]`'s `fence_params`, for the third node: with per-node parameters every node needs its own (e.g. `[\"ip=192.0.2.213\"]`)";
const RESOURCES: &[&str] = &["vip", "ddns", "none"];
const MANAGERS: &[&str] = &["mysql-ha", "pacemaker"];
const YES_NO: &[&str] = &["no", "yes"];
const ARP_MODES: &[&str] = &["never", "when-needed", "always"];
const DURABILITIES: &[&str] = &["semi-sync", "async"];
const TLS_MODES: &[&str] = &["generate", "files", "off"];
const SEED_METHODS: &[&str] = &["auto", "dump", "parallel", "backup", "clone", "none"];
const SEED_VERIFY: &[&str] = &["rows", "checksum"];

/// The word an enum value is written as in the answers file.
fn word_of<T: Serialize>(value: &T) -> String {
    match toml::Value::try_from(value) {
        Ok(toml::Value::String(word)) => word,
        _ => String::new(),
    }
}

/// One of `options` (any case), read as the enum the file reads it as.
fn choose<T: DeserializeOwned>(key: &str, value: &str, options: &[&str]) -> Result<T> {
    let refused = || {
        answer_error(
            key,
            format!("`{value}`: answer one of {}", options.join(", ")),
        )
    };
    let word = options
        .iter()
        .find(|o| o.eq_ignore_ascii_case(value.trim()))
        .ok_or_else(refused)?;
    T::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(*word))
        .map_err(|_| refused())
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value
        .trim()
        .parse::<T>()
        .map_err(|_| answer_error(key, format!("`{value}`: give a whole number")))
}

fn always(_: &Answers) -> bool {
    true
}

fn unchecked(_: &Answers) -> Result<()> {
    Ok(())
}

fn is_vip(a: &Answers) -> bool {
    a.cluster.resource == Resource::Vip
}

fn is_ddns(a: &Answers) -> bool {
    a.cluster.resource == Resource::Ddns
}

fn is_pacemaker(a: &Answers) -> bool {
    a.cluster.manager == Manager::Pacemaker
}

fn ddns_key_by_name(a: &Answers) -> bool {
    is_ddns(a) && a.cluster.ddns.key_file.is_empty()
}

fn nodes(a: &Answers) -> Vec<(&'static str, &NodeAnswers)> {
    a.database_nodes()
}

fn has_slave2(a: &Answers) -> bool {
    a.has_slave2()
}

/// `[slave2]`: optional; given, a third machine, with Pacemaker only (our
/// daemon and witness decide between two nodes).
fn check_slave2_host(a: &Answers) -> Result<()> {
    let host = &a.slave2.host;
    if host.is_empty() {
        if !a.slave2.is_absent() {
            return Err(answer_error(
                "slave2.host",
                "missing: [slave2] is given without its host; give the third node's address or name, or remove [slave2]",
            ));
        }
        return Ok(());
    }
    validate_host("slave2.host", host)?;
    for (section, node) in [("master", &a.master), ("slave", &a.slave)] {
        if same_host(host, &node.host) {
            return Err(answer_error(
                "slave2.host",
                format!("`{host}` is also the {section}; give a third server"),
            ));
        }
    }
    if !is_pacemaker(a) {
        return Err(answer_error(
            "slave2.host",
            format!(
                "a third database node needs cluster.manager = \"pacemaker\": the mysql-ha daemon manages a pair (one master, one slave); choose pacemaker to set up {host} as a second slave, or remove [slave2]"
            ),
        ));
    }
    Ok(())
}

// Checks that read other keys than their own.

fn check_slave_host(a: &Answers) -> Result<()> {
    validate_host("slave.host", &a.slave.host)?;
    if same_host(&a.master.host, &a.slave.host) {
        return Err(answer_error(
            "slave.host",
            format!(
                "`{}` is also the master; give two different servers",
                a.slave.host
            ),
        ));
    }
    Ok(())
}

fn check_replication_user(a: &Answers) -> Result<()> {
    let user = &a.replication.user;
    validate_replication_user("replication.user", user)?;
    for (section, node) in nodes(a) {
        if node.mysql_admin_user == *user {
            return Err(answer_error(
                "replication.user",
                format!(
                    "`{user}` is also {section}.mysql_admin_user: setup would change the admin account's password; choose another name (e.g. repl)"
                ),
            ));
        }
    }
    Ok(())
}

fn check_durability(a: &Answers) -> Result<()> {
    if is_pacemaker(a) && a.replication.durability == Durability::Async {
        return Err(answer_error(
            "replication.durability",
            "\"async\" is not what Pacemaker runs: its mariadb agent turns semi-synchronous replication on at every start; remove the key (semi-sync) or choose cluster.manager = \"mysql-ha\"",
        ));
    }
    Ok(())
}

/// `replication.tls = "files"` needs each of its three paths; the others
/// refuse them.
fn check_tls_file(key: &str, tls: TlsMode, path: &str) -> Result<()> {
    match tls {
        TlsMode::Files if path.trim().is_empty() => Err(answer_error(
            key,
            "replication.tls = \"files\" needs the path of this file on the nodes (the same path on both)",
        )),
        TlsMode::Files => validate_node_path(key, path),
        TlsMode::Generate | TlsMode::Off if !path.is_empty() => Err(answer_error(
            key,
            format!(
                "used only with replication.tls = \"files\" (it is \"{}\"): set tls = \"files\" or remove the key",
                tls.name()
            ),
        )),
        _ => Ok(()),
    }
}

fn check_resource(a: &Answers) -> Result<()> {
    if is_pacemaker(a) && is_ddns(a) {
        return Err(answer_error(
            "cluster.resource",
            "\"ddns\" is not offered with cluster.manager = \"pacemaker\" (Pacemaker has no dynamic-DNS agent setup can configure): use \"vip\" or \"none\", or cluster.manager = \"mysql-ha\"",
        ));
    }
    Ok(())
}

fn check_device(a: &Answers) -> Result<()> {
    let device = &a.cluster.device;
    if device.trim().is_empty() || device.contains(char::is_whitespace) {
        return Err(answer_error(
            "cluster.device",
            "give the network device that carries the cluster address (e.g. eth0)",
        ));
    }
    Ok(())
}

fn check_fence_agent(a: &Answers) -> Result<()> {
    let c = &a.cluster;
    if !is_pacemaker(a) {
        if !c.fence_agent.is_empty()
            || !c.fence_params.is_empty()
            || !c.fence_password.is_empty()
            || !a.master.fence_params.is_empty()
            || !a.slave.fence_params.is_empty()
            || !a.slave2.fence_params.is_empty()
        {
            return Err(answer_error(
                "cluster.fence_agent",
                "only used with cluster.manager = \"pacemaker\" (the mysql-ha daemon fences with fence_command in cluster.toml): remove it or choose pacemaker",
            ));
        }
        return Ok(());
    }
    validate_fence_agent("cluster.fence_agent", &c.fence_agent)
}

fn check_fence_params(a: &Answers) -> Result<()> {
    let c = &a.cluster;
    if !is_pacemaker(a) {
        // Refused by cluster.fence_agent's check, which names the choice.
        return Ok(());
    }
    fence_params_of("cluster.fence_params", &c.fence_params, a)
}

/// Fence parameters of `key`: each name=value, no password among them (it
/// would land in the CIB: cluster.fence_password keeps it out), and only
/// with a fence agent.
fn fence_params_of(key: &str, params: &[String], a: &Answers) -> Result<()> {
    for param in params {
        validate_fence_param(key, param)?;
        let name = param.split_once('=').map_or("", |(name, _)| name);
        if matches!(name, "password" | "passwd") {
            return Err(answer_error(
                key,
                format!("`{name}=`: give the password as cluster.fence_password, which setup keeps out of the CIB (Pacemaker's local secrets on each node)"),
            ));
        }
        if name == "pcmk_host_list" {
            return Err(answer_error(
                key,
                "`pcmk_host_list=`: setup adds it (the nodes each device fences)",
            ));
        }
    }
    if a.cluster.fence_agent.is_empty() && !params.is_empty() {
        return Err(answer_error(
            key,
            "given without cluster.fence_agent: name the fence agent they are for",
        ));
    }
    Ok(())
}

fn check_node_fence_params(a: &Answers) -> Result<()> {
    if !is_pacemaker(a) {
        return Ok(());
    }
    fence_params_of("master.fence_params", &a.master.fence_params, a)?;
    fence_params_of("slave.fence_params", &a.slave.fence_params, a)?;
    fence_params_of("slave2.fence_params", &a.slave2.fence_params, a)?;
    // A device per node: the third node's too.
    let per_node = !a.master.fence_params.is_empty() || !a.slave.fence_params.is_empty();
    if a.has_slave2()
        && per_node
        && !a.cluster.fence_agent.is_empty()
        && a.slave2.fence_params.is_empty()
    {
        return Err(answer_error(
            "slave2.fence_params",
            "missing: the master and the slave have fence devices of their own (their fence_params), so the third node needs its own too (e.g. its BMC's ip=...)",
        ));
    }
    Ok(())
}

fn check_fence_password(a: &Answers) -> Result<()> {
    let c = &a.cluster;
    if is_pacemaker(a) && c.fence_agent.is_empty() && !c.fence_password.is_empty() {
        return Err(answer_error(
            "cluster.fence_password",
            "given without cluster.fence_agent: name the fence agent it is for",
        ));
    }
    if c.fence_password.chars().any(char::is_control) {
        return Err(answer_error(
            "cluster.fence_password",
            "no control characters (newlines included)",
        ));
    }
    Ok(())
}

/// Pacemaker with no fence agent only by explicit choice; the error names
/// the fence agent, the answer that is missing.
fn check_run_without_fencing(a: &Answers) -> Result<()> {
    let c = &a.cluster;
    if is_pacemaker(a) && c.fence_agent.is_empty() && !c.run_without_fencing {
        return Err(answer_error(
            "cluster.fence_agent",
            format!(
                "missing: with Pacemaker, name the fence agent that powers a node off (e.g. fence_ipmilan, with cluster.fence_params), or set cluster.run_without_fencing = true to accept the risk: {NO_FENCING_RISK}"
            ),
        ));
    }
    Ok(())
}

fn check_ddns_name(a: &Answers) -> Result<()> {
    let d = &a.cluster.ddns;
    if d.zone.is_empty() {
        // The zone's own check says it is missing.
        validate_ddns_name("cluster.ddns.name", &d.name)
    } else {
        validate_name_in_zone("cluster.ddns.name", &d.name, &d.zone)
    }
}

fn check_ddns_key_file(a: &Answers) -> Result<()> {
    let path = &a.cluster.ddns.key_file;
    if !path.is_empty() && !path.starts_with('/') {
        return Err(answer_error(
            "cluster.ddns.key_file",
            format!("`{path}`: give an absolute path"),
        ));
    }
    Ok(())
}

fn check_ddns_key_secret(a: &Answers) -> Result<()> {
    let d = &a.cluster.ddns;
    if !d.key_file.is_empty() {
        if !d.key_secret.is_empty() {
            return Err(answer_error(
                "cluster.ddns.key_secret",
                "give either key_file or key_name with key_secret, not both",
            ));
        }
        return Ok(());
    }
    validate_key_secret("cluster.ddns.key_secret", &d.key_secret)
}

fn check_witness(a: &Answers) -> Result<()> {
    let witness = &a.cluster.witness;
    if witness.is_empty() {
        return Ok(());
    }
    validate_host("cluster.witness", witness)?;
    for (section, node) in nodes(a) {
        if same_host(witness, &node.host) {
            return Err(answer_error(
                "cluster.witness",
                format!(
                    "`{witness}` is also the {section}: the witness must be a third host (it decides when the two nodes disagree)"
                ),
            ));
        }
    }
    Ok(())
}

fn check_vote_key(a: &Answers) -> Result<()> {
    let c = &a.cluster;
    if c.vote_key.is_empty() {
        return Ok(());
    }
    crate::vote::wire::key_bytes(&c.vote_key)
        .map(|_| ())
        .map_err(|message| answer_error("cluster.vote_key", message))
}

fn check_cluster_account(a: &Answers) -> Result<()> {
    let account = &a.cluster.account;
    validate_cluster_account("cluster.account", account)?;
    for (section, node) in nodes(a) {
        for (what, name) in [
            ("ssh_user", &node.ssh_user),
            ("mysql_admin_user", &node.mysql_admin_user),
        ] {
            if name == account {
                return Err(answer_error(
                    "cluster.account",
                    format!(
                        "`{name}` is also {section}.{what}: the cluster account gets its own key, ssh settings and sudo rules; choose a name of its own (e.g. mysqlha)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The seconds keys of earlier versions: refused, with the value to write.
fn check_old_seconds(old: &str, new: &str, value: Option<u32>) -> Result<()> {
    match value {
        Some(seconds) => Err(answer_error(
            old,
            format!(
                "replaced by cluster.{new}, in milliseconds (the seconds keys never reached the daemon): write `{new} = {}` if you meant {seconds} s, or remove it for the daemon's default",
                u64::from(seconds) * 1000
            ),
        )),
        None => Ok(()),
    }
}

fn parse_old_seconds(value: &str) -> Result<Option<u32>> {
    Ok(match value.trim() {
        "" => None,
        text => Some(number("cluster.check_interval_s", text)?),
    })
}

fn no_line_break(key: &str, value: &str) -> Result<()> {
    if value.contains(['\n', '\r', '\0']) {
        return Err(answer_error(key, "contains a line break"));
    }
    Ok(())
}

fn check_port(key: &str, port: u16) -> Result<()> {
    match port {
        0 => Err(answer_error(key, "give a port (1-65535)")),
        _ => Ok(()),
    }
}

const HOST_DEFAULT: Option<&str> =
    Some("master: this machine's first global IPv4 address (wizard only); slave: none");
const HOST_RULE: &str = "IP address or host name; required; a name must resolve on the machine running setup (else the error names `master.host` or `slave.host`); the slave is another machine than the master: the two are compared by their resolved addresses, so `node1` and `192.0.2.11` are one node";
const SSH_USER_RULE: &str = "1-32 letters, digits, `_`, `.`, `-`";
const PORT_RULE: &str = "a port number (1-65535)";
const SSH_PASSWORD_RULE: &str = "only for a node that does not accept the installer's key yet: the password of `ssh_user` there, used once to pin the node's host key (fingerprint shown), log in and install the installer's public key; then everything goes by key. Passed to ssh through `SSH_ASKPASS`, never on a command line, never stored; no line breaks. Remove it from the file once the key is in place. See [cluster-access.md](cluster-access.md).";
const ADMIN_USER_RULE: &str = "as `ssh_user`";
const ADMIN_PASSWORD_RULE: &str =
    "empty: unix-socket login as root; a refused one is reported under this key";
const ADMIN_PASSWORD_HELP: &str = "Empty: log in as root through the server's unix socket.";
const TLS_FILE_RULE: &str = "with `tls = \"files\"` only (else refused): absolute paths, the same on both nodes, of the CA certificate(s) that signed both nodes' certificates, the node's own certificate (naming the address the other node uses for it) and its private key (readable by the database server). Preflight checks on each node that the key is the certificate's and that the CA file trusts both certificates for their addresses.";
const OLD_SECONDS_RULE: &str = "refused: the seconds keys of earlier versions never reached the daemon; the error gives the `_ms` value to write instead";

/// Every key of the answers file. Within a group, the wizard asks in this
/// order; within a section, docs/answers.md lists them in this order.
pub static FIELDS: &[Field] = &[
    // [master] and [slave]
    Field {
        key: "master.host",
        group: Group::Nodes,
        asked: Asked::Question,
        label: "Master address",
        help: "Address or name the slave and this tool reach the master by.",
        kind: Kind::Text,
        applies: always,
        get: |a| a.master.host.clone(),
        parse: |a, v| {
            a.master.host = v.trim().into();
            Ok(())
        },
        check: |a| validate_host("master.host", &a.master.host),
        checked_when: always,
        default_doc: HOST_DEFAULT,
        rule: HOST_RULE,
    },
    Field {
        key: "master.ssh_user",
        group: Group::Nodes,
        asked: Asked::Question,
        label: "Master ssh user",
        help: "Account this tool logs in as over ssh (unless the master is this machine).",
        kind: Kind::Text,
        applies: always,
        get: |a| a.master.ssh_user.clone(),
        parse: |a, v| {
            a.master.ssh_user = v.into();
            Ok(())
        },
        check: |a| validate_account("master.ssh_user", &a.master.ssh_user),
        checked_when: always,
        default_doc: None,
        rule: SSH_USER_RULE,
    },
    Field {
        key: "master.ssh_port",
        group: Group::Nodes,
        asked: Asked::Not,
        label: "Master ssh port",
        help: "Port of the master's ssh server.",
        kind: Kind::Number,
        applies: always,
        get: |a| a.master.ssh_port.to_string(),
        parse: |a, v| {
            a.master.ssh_port = number("master.ssh_port", v)?;
            Ok(())
        },
        check: |a| check_port("master.ssh_port", a.master.ssh_port),
        checked_when: always,
        default_doc: None,
        rule: PORT_RULE,
    },
    Field {
        key: "master.ssh_password",
        group: Group::Nodes,
        asked: Asked::Not,
        label: "Master ssh password",
        help: "Password of the ssh user, once, to install this tool's key.",
        kind: Kind::Secret,
        applies: always,
        get: |a| a.master.ssh_password.clone(),
        parse: |a, v| {
            a.master.ssh_password = v.into();
            Ok(())
        },
        check: |a| no_line_break("master.ssh_password", &a.master.ssh_password),
        checked_when: always,
        default_doc: None,
        rule: SSH_PASSWORD_RULE,
    },
    Field {
        key: "slave.host",
        group: Group::Nodes,
        asked: Asked::Question,
        label: "Slave address",
        help: "Address or name of the server that will replicate the master.",
        kind: Kind::Text,
        applies: always,
        get: |a| a.slave.host.clone(),
        parse: |a, v| {
            a.slave.host = v.trim().into();
            Ok(())
        },
        check: check_slave_host,
        checked_when: always,
        default_doc: HOST_DEFAULT,
        rule: HOST_RULE,
    },
    Field {
        key: "slave.ssh_user",
        group: Group::Nodes,
        asked: Asked::Question,
        label: "Slave ssh user",
        help: "Account this tool logs in as over ssh on the slave.",
        kind: Kind::Text,
        applies: always,
        get: |a| a.slave.ssh_user.clone(),
        parse: |a, v| {
            a.slave.ssh_user = v.into();
            Ok(())
        },
        check: |a| validate_account("slave.ssh_user", &a.slave.ssh_user),
        checked_when: always,
        default_doc: None,
        rule: SSH_USER_RULE,
    },
    Field {
        key: "slave.ssh_port",
        group: Group::Nodes,
        asked: Asked::Not,
        label: "Slave ssh port",
        help: "Port of the slave's ssh server.",
        kind: Kind::Number,
        applies: always,
        get: |a| a.slave.ssh_port.to_string(),
        parse: |a, v| {
            a.slave.ssh_port = number("slave.ssh_port", v)?;
            Ok(())
        },
        check: |a| check_port("slave.ssh_port", a.slave.ssh_port),
        checked_when: always,
        default_doc: None,
        rule: PORT_RULE,
    },
    Field {
        key: "slave.ssh_password",
        group: Group::Nodes,
        asked: Asked::Not,
        label: "Slave ssh password",
        help: "Password of the ssh user, once, to install this tool's key.",
        kind: Kind::Secret,
        applies: always,
        get: |a| a.slave.ssh_password.clone(),
        parse: |a, v| {
            a.slave.ssh_password = v.into();
            Ok(())
        },
        check: |a| no_line_break("slave.ssh_password", &a.slave.ssh_password),
        checked_when: always,
        default_doc: None,
        rule: SSH_PASSWORD_RULE,
    },
    Field {
        key: "master.mysql_admin_user",
        group: Group::Credentials,
        asked: Asked::Question,
        label: "Master admin user",
        help: "Database account with every privilege on the master.",
        kind: Kind::Text,
        applies: always,
        get: |a| a.master.mysql_admin_user.clone(),
        parse: |a, v| {
            a.master.mysql_admin_user = v.into();
            Ok(())
        },
        check: |a| validate_account("master.mysql_admin_user", &a.master.mysql_admin_user),
        checked_when: always,
        default_doc: None,
        rule: ADMIN_USER_RULE,
    },
    Field {
        key: "master.mysql_admin_password",
        group: Group::Credentials,
        asked: Asked::Question,
        label: "Master admin password",
        help: ADMIN_PASSWORD_HELP,
        kind: Kind::Secret,
        applies: always,
        get: |a| a.master.mysql_admin_password.clone(),
        parse: |a, v| {
            a.master.mysql_admin_password = v.into();
            Ok(())
        },
        check: unchecked,
        checked_when: always,
        default_doc: None,
        rule: ADMIN_PASSWORD_RULE,
    },
    Field {
        key: "master.mysql_port",
        group: Group::Credentials,
        asked: Asked::Not,
        label: "Master server port",
        help: "Port of the master's database server.",
        kind: Kind::Number,
        applies: always,
        get: |a| a.master.mysql_port.to_string(),
        parse: |a, v| {
            a.master.mysql_port = number("master.mysql_port", v)?;
            Ok(())
        },
        check: |a| check_port("master.mysql_port", a.master.mysql_port),
        checked_when: always,
        default_doc: None,
        rule: PORT_RULE,
    },
    Field {
        key: "slave.mysql_admin_user",
        group: Group::Credentials,
        asked: Asked::Question,
        label: "Slave admin user",
        help: "Database account with every privilege on the slave.",
        kind: Kind::Text,
        applies: always,
        get: |a| a.slave.mysql_admin_user.clone(),
        parse: |a, v| {
            a.slave.mysql_admin_user = v.into();
            Ok(())
        },
        check: |a| validate_account("slave.mysql_admin_user", &a.slave.mysql_admin_user),
        checked_when: always,
        default_doc: None,
        rule: ADMIN_USER_RULE,
    },
    Field {
        key: "slave.mysql_admin_password",
        group: Group::Credentials,
        asked: Asked::Question,
        label: "Slave admin password",
        help: ADMIN_PASSWORD_HELP,
        kind: Kind::Secret,
        applies: always,
        get: |a| a.slave.mysql_admin_password.clone(),
        parse: |a, v| {
            a.slave.mysql_admin_password = v.into();
            Ok(())
        },
        check: unchecked,
        checked_when: always,
        default_doc: None,
        rule: ADMIN_PASSWORD_RULE,
    },
    Field {
        key: "slave.mysql_port",
        group: Group::Credentials,
        asked: Asked::Not,
        label: "Slave server port",
        help: "Port of the slave's database server.",
        kind: Kind::Number,
        applies: always,
        get: |a| a.slave.mysql_port.to_string(),
        parse: |a, v| {
            a.slave.mysql_port = number("slave.mysql_port", v)?;
            Ok(())
        },
        check: |a| check_port("slave.mysql_port", a.slave.mysql_port),
        checked_when: always,
        default_doc: None,
        rule: PORT_RULE,
    },
    // [slave2]: a third database node (Pacemaker only), answers file only.
    Field {
        key: "slave2.host",
        group: Group::Nodes,
        asked: Asked::Not,
        label: "Second slave address",
        help: "Address or name of a third database node, a second slave of the master (Pacemaker only).",
        kind: Kind::Text,
        applies: is_pacemaker,
        get: |a| a.slave2.host.clone(),
        parse: |a, v| {
            a.slave2.host = v.trim().into();
            Ok(())
        },
        check: check_slave2_host,
        checked_when: always,
        default_doc: Some("empty: two database nodes"),
        rule: SLAVE2_HOST_RULE,
    },
    Field {
        key: "slave2.ssh_user",
        group: Group::Nodes,
        asked: Asked::Not,
        label: "Second slave ssh user",
        help: "Account this tool logs in as over ssh on the second slave.",
        kind: Kind::Text,
        applies: has_slave2,
        get: |a| a.slave2.ssh_user.clone(),
        parse: |a, v| {
            a.slave2.ssh_user = v.into();
            Ok(())
        },
        check: |a| validate_account("slave2.ssh_user", &a.slave2.ssh_user),
        checked_when: has_slave2,
        default_doc: Some("`root`"),
        rule: SSH_USER_RULE,
    },
    Field {
        key: "slave2.ssh_port",
        group: Group::Nodes,
        asked: Asked::Not,
        label: "Second slave ssh port",
        help: "Port of the second slave's ssh server.",
        kind: Kind::Number,
        applies: has_slave2,
        get: |a| a.slave2.ssh_port.to_string(),
        parse: |a, v| {
            a.slave2.ssh_port = number("slave2.ssh_port", v)?;
            Ok(())
        },
        check: |a| check_port("slave2.ssh_port", a.slave2.ssh_port),
        checked_when: has_slave2,
        default_doc: Some("`22`"),
        rule: PORT_RULE,
    },
    Field {
        key: "slave2.ssh_password",
        group: Group::Nodes,
        asked: Asked::Not,
        label: "Second slave ssh password",
        help: "Password of the ssh user, once, to install this tool's key.",
        kind: Kind::Secret,
        applies: has_slave2,
        get: |a| a.slave2.ssh_password.clone(),
        parse: |a, v| {
            a.slave2.ssh_password = v.into();
            Ok(())
        },
        check: |a| no_line_break("slave2.ssh_password", &a.slave2.ssh_password),
        checked_when: has_slave2,
        default_doc: Some("empty"),
        rule: SSH_PASSWORD_RULE,
    },
    Field {
        key: "slave2.mysql_admin_user",
        group: Group::Credentials,
        asked: Asked::Not,
        label: "Second slave admin user",
        help: "Database account with every privilege on the second slave.",
        kind: Kind::Text,
        applies: has_slave2,
        get: |a| a.slave2.mysql_admin_user.clone(),
        parse: |a, v| {
            a.slave2.mysql_admin_user = v.into();
            Ok(())
        },
        check: |a| validate_account("slave2.mysql_admin_user", &a.slave2.mysql_admin_user),
        checked_when: has_slave2,
        default_doc: Some("`root`"),
        rule: ADMIN_USER_RULE,
    },
    Field {
        key: "slave2.mysql_admin_password",
        group: Group::Credentials,
        asked: Asked::Not,
        label: "Second slave admin password",
        help: ADMIN_PASSWORD_HELP,
        kind: Kind::Secret,
        applies: has_slave2,
        get: |a| a.slave2.mysql_admin_password.clone(),
        parse: |a, v| {
            a.slave2.mysql_admin_password = v.into();
            Ok(())
        },
        check: unchecked,
        checked_when: has_slave2,
        default_doc: Some("empty"),
        rule: ADMIN_PASSWORD_RULE,
    },
    Field {
        key: "slave2.mysql_port",
        group: Group::Credentials,
        asked: Asked::Not,
        label: "Second slave server port",
        help: "Port of the second slave's database server.",
        kind: Kind::Number,
        applies: has_slave2,
        get: |a| a.slave2.mysql_port.to_string(),
        parse: |a, v| {
            a.slave2.mysql_port = number("slave2.mysql_port", v)?;
            Ok(())
        },
        check: |a| check_port("slave2.mysql_port", a.slave2.mysql_port),
        checked_when: has_slave2,
        default_doc: Some("`3306`"),
        rule: PORT_RULE,
    },
    Field {
        key: "slave2.fence_params",
        group: Group::ClusterAddress,
        asked: Asked::Not,
        label: "Second slave's fence device",
        help: "The second slave's own fence device parameters (its BMC's address, e.g. ip=192.0.2.213).",
        kind: Kind::Text,
        applies: |a| has_slave2(a) && is_pacemaker(a) && !a.cluster.fence_agent.is_empty(),
        get: |a| a.slave2.fence_params.join(" "),
        parse: |a, v| {
            a.slave2.fence_params = v.split_whitespace().map(str::to_string).collect();
            Ok(())
        },
        check: check_node_fence_params,
        checked_when: always,
        default_doc: Some("`[]`"),
        rule: SLAVE2_FENCE_PARAMS_RULE,
    },
    // [replication]
    Field {
        key: "replication.user",
        group: Group::Replication,
        asked: Asked::Question,
        label: "Replication user",
        help: "Account the slave connects to the master with (REPLICATION SLAVE only).",
        kind: Kind::Text,
        applies: always,
        get: |a| a.replication.user.clone(),
        parse: |a, v| {
            a.replication.user = v.into();
            Ok(())
        },
        check: check_replication_user,
        checked_when: always,
        default_doc: None,
        rule: "as `ssh_user`; not an account the server, the distribution or this tool owns (`root`, `mysql`, `mariadb.sys`, `mysql.sys`, `mysql.session`, `mysql.infoschema`, `debian-sys-maint`, `PUBLIC`, and `mysqlha_mon`, the cluster daemon's monitor account), and not either node's `mysql_admin_user` (setup sets this account's password)",
    },
    Field {
        key: "replication.password",
        group: Group::Replication,
        asked: Asked::Question,
        label: "Replication password",
        help: "At least 12 characters; the generated one is offered.",
        kind: Kind::Secret,
        applies: always,
        get: |a| a.replication.password.clone(),
        parse: |a, v| {
            a.replication.password = v.into();
            Ok(())
        },
        check: |a| match a.replication.password.as_str() {
            "" => Ok(()),
            password => validate_password("replication.password", password),
        },
        checked_when: always,
        default_doc: None,
        rule: "empty: a strong one is generated (the TUI shows it once on its screen; line mode and the logs never print it: it lives in the slave's replication settings, and in an answers file saved with `--include-secrets`); else 12 to 96 bytes (the most `CHANGE MASTER TO` takes on MariaDB; preflight refuses more than 32 for a MySQL slave), no control characters",
    },
    Field {
        key: "replication.databases",
        group: Group::Databases,
        asked: Asked::List,
        label: "Databases",
        help: "Databases to replicate, separated by commas or spaces; * for every non-system database.",
        kind: Kind::Text,
        applies: always,
        get: |a| a.replication.databases.join(", "),
        parse: |a, v| {
            a.replication.databases = v
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect();
            Ok(())
        },
        check: |a| validate_databases(&a.replication.databases),
        checked_when: always,
        default_doc: Some("none (the wizard pre-selects those the slave already replicates)"),
        rule: "required; names of 1-64 characters that an option file can carry (no `#`, `/`, `\\`, `.`, quotes, surrounding spaces), no system schema, not `mysql_ha` (the cluster daemon's own database, kept apart on each node), no duplicates; or `[\"*\"]` alone for every non-system database (`mysql_ha` is never part of it). Each becomes one `replicate-wild-do-table = NAME.%` line on the slave (docs/guide.md, \"What the slave replicates\"). The wizard offers the master's databases in a list of its own",
    },
    Field {
        key: "replication.seed",
        group: Group::Replication,
        asked: Asked::Not,
        label: "Seed method",
        help: "How the slave gets its first copy of the data.",
        kind: Kind::Choice(SEED_METHODS),
        applies: always,
        get: |a| word_of(&a.replication.seed),
        parse: |a, v| {
            a.replication.seed = choose("replication.seed", v, SEED_METHODS)?;
            Ok(())
        },
        check: unchecked,
        checked_when: always,
        default_doc: None,
        rule: "`auto`, `dump`, `parallel`, `backup`, `clone` or `none` (see below)",
    },
    Field {
        key: "replication.verify",
        group: Group::Replication,
        asked: Asked::Not,
        label: "Seed check",
        help: "How the copy is checked once loaded.",
        kind: Kind::Choice(SEED_VERIFY),
        applies: always,
        get: |a| word_of(&a.replication.verify),
        parse: |a, v| {
            a.replication.verify = choose("replication.verify", v, SEED_VERIFY)?;
            Ok(())
        },
        check: unchecked,
        checked_when: always,
        default_doc: None,
        rule: "`rows` (row count of every copied table) or `checksum` (also a checksum of every copied table's rows; reads them all)",
    },
    Field {
        key: "replication.durability",
        group: Group::Replication,
        asked: Asked::Question,
        label: "Durability",
        help: "semi-sync: a commit returns once the slave has it (one round trip more; no acknowledged write lost in a takeover); async: faster, a takeover can lose the last writes.",
        kind: Kind::Choice(DURABILITIES),
        applies: always,
        get: |a| word_of(&a.replication.durability),
        parse: |a, v| {
            a.replication.durability = choose("replication.durability", v, DURABILITIES)?;
            Ok(())
        },
        check: check_durability,
        checked_when: always,
        default_doc: None,
        rule: "`semi-sync`: a commit is acknowledged only once the slave has it (MariaDB's semi-synchronous replication, `AFTER_SYNC`, run by the daemon; one network round trip more per commit; a takeover loses no acknowledged write, and a master cut off from the slave and the witness cannot acknowledge one). While the slave is away the master waits `semi_sync_wait_ms` (3 s), records with a voter that the slave fell behind, and goes on alone; no takeover to that slave is allowed until it caught up. `async`: the master acknowledges at once; a takeover can lose what the slave had not received. See [daemon.md](daemon.md#votes-and-leases). With `cluster.manager = \"pacemaker\"` only `semi-sync` is accepted (the mariadb agent turns it on at every start).",
    },
    Field {
        key: "replication.tls",
        group: Group::Replication,
        asked: Asked::Question,
        label: "Encryption (TLS)",
        help: "generate: each node makes its own key and certificate, accounts require TLS and the server's certificate is verified; files: your own CA, certificate and key on the nodes; off: plain text on the network.",
        kind: Kind::Choice(TLS_MODES),
        applies: always,
        get: |a| word_of(&a.replication.tls),
        parse: |a, v| {
            let r = &mut a.replication;
            r.tls = choose("replication.tls", v, TLS_MODES)?;
            if r.tls != TlsMode::Files {
                r.tls_ca_file.clear();
                r.tls_cert_file.clear();
                r.tls_key_file.clear();
            }
            Ok(())
        },
        check: unchecked,
        checked_when: always,
        default_doc: None,
        rule: "Encryption of everything between the nodes: replication (the password's handshake and every replicated row) and the daemons' checks. `generate`: each node makes its own private key and certificate with `openssl` (3.0 or later) on the node; `files`: your own, named by the three keys below; `off`: plain text (preflight warns). With `generate` or `files` the servers get `ssl-ca`, `ssl-cert` and `ssl-key`, the replication and monitor accounts `REQUIRE SSL`, the slave connects with `MASTER_SSL=1, MASTER_SSL_CA=..., MASTER_SSL_VERIFY_SERVER_CERT=1` and the daemons verify the peer's certificate the same way. See \"Encrypted connections\" in [guide.md](guide.md#encrypted-connections). With `[slave2]` (three nodes) every node gets its certificate and trusts the others'. Under Pacemaker the agent points slaves itself after a failover: setup gives it a client that adds the same TLS options to each of its `CHANGE MASTER TO` ([pacemaker.md](pacemaker.md#encrypted-replication)).",
    },
    Field {
        key: "replication.tls_ca_file",
        group: Group::Replication,
        asked: Asked::Question,
        label: "TLS CA file",
        help: "Path on both nodes of the CA certificate(s) that signed both nodes' certificates.",
        kind: Kind::Text,
        applies: |a| a.replication.tls == TlsMode::Files,
        get: |a| a.replication.tls_ca_file.clone(),
        parse: |a, v| {
            a.replication.tls_ca_file = v.trim().into();
            Ok(())
        },
        check: |a| {
            let r = &a.replication;
            check_tls_file("replication.tls_ca_file", r.tls, &r.tls_ca_file)
        },
        checked_when: always,
        default_doc: None,
        rule: TLS_FILE_RULE,
    },
    Field {
        key: "replication.tls_cert_file",
        group: Group::Replication,
        asked: Asked::Question,
        label: "TLS certificate file",
        help: "Path on each node of its own certificate (same path on both), naming its address.",
        kind: Kind::Text,
        applies: |a| a.replication.tls == TlsMode::Files,
        get: |a| a.replication.tls_cert_file.clone(),
        parse: |a, v| {
            a.replication.tls_cert_file = v.trim().into();
            Ok(())
        },
        check: |a| {
            let r = &a.replication;
            check_tls_file("replication.tls_cert_file", r.tls, &r.tls_cert_file)
        },
        checked_when: always,
        default_doc: None,
        rule: TLS_FILE_RULE,
    },
    Field {
        key: "replication.tls_key_file",
        group: Group::Replication,
        asked: Asked::Question,
        label: "TLS key file",
        help: "Path on each node of its certificate's private key, readable by the database server.",
        kind: Kind::Text,
        applies: |a| a.replication.tls == TlsMode::Files,
        get: |a| a.replication.tls_key_file.clone(),
        parse: |a, v| {
            a.replication.tls_key_file = v.trim().into();
            Ok(())
        },
        check: |a| {
            let r = &a.replication;
            check_tls_file("replication.tls_key_file", r.tls, &r.tls_key_file)
        },
        checked_when: always,
        default_doc: None,
        rule: TLS_FILE_RULE,
    },
    // [cluster]
    Field {
        key: "cluster.manager",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Cluster manager",
        help: "mysql-ha: this tool's own daemon, for a pair; pacemaker: hand the pair to Pacemaker/Corosync (quorum device, real fencing, one manager for all your services).",
        kind: Kind::Choice(MANAGERS),
        applies: always,
        get: |a| word_of(&a.cluster.manager),
        parse: |a, v| {
            let c = &mut a.cluster;
            c.manager = choose("cluster.manager", v, MANAGERS)?;
            if c.manager == Manager::MysqlHa {
                c.fence_agent.clear();
                c.fence_params.clear();
                c.run_without_fencing = false;
            }
            Ok(())
        },
        check: unchecked,
        checked_when: always,
        default_doc: None,
        rule: "who manages the pair once it replicates: `mysql-ha` (this tool's daemon and witness; a pair manager) or `pacemaker` (setup hands the pair to Pacemaker/Corosync instead: quorum device on `witness`, real fencing, one manager for all your services; MariaDB only, `resource` `vip` or `none`). See [pacemaker.md](pacemaker.md)",
    },
    Field {
        key: "cluster.resource",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Cluster address kind",
        help: "vip: a shared IP address; ddns: a dynamic-DNS name; none: no cluster address.",
        kind: Kind::Choice(RESOURCES),
        applies: always,
        get: |a| word_of(&a.cluster.resource),
        parse: |a, v| {
            a.cluster.resource = choose("cluster.resource", v, RESOURCES)?;
            Ok(())
        },
        check: check_resource,
        checked_when: always,
        default_doc: None,
        rule: "`vip`, `ddns` or `none` (`ddns` is refused with `manager = \"pacemaker\"`)",
    },
    Field {
        key: "cluster.vip",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Virtual IP/prefix",
        help: "The shared address with its netmask length, e.g. 192.0.2.10/24.",
        kind: Kind::Text,
        applies: is_vip,
        get: |a| a.cluster.vip.clone(),
        parse: |a, v| {
            a.cluster.vip = v.trim().into();
            Ok(())
        },
        check: |a| validate_vip("cluster.vip", &a.cluster.vip),
        checked_when: is_vip,
        default_doc: None,
        rule: "with `resource = \"vip\"`: `address/prefix`, e.g. `192.0.2.10/24`; a free address: not either node's own address, nor the network's or broadcast address, and inside the nodes' network (each node's address shares its first `prefix` bits)",
    },
    Field {
        key: "cluster.device",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Network device",
        help: "Device that carries the virtual IP on both nodes.",
        kind: Kind::Text,
        applies: is_vip,
        get: |a| a.cluster.device.clone(),
        parse: |a, v| {
            a.cluster.device = v.trim().into();
            Ok(())
        },
        check: check_device,
        checked_when: is_vip,
        default_doc: None,
        rule: "with `resource = \"vip\"`: a device name (not empty, no spaces)",
    },
    Field {
        key: "cluster.arp",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Gratuitous ARP",
        help: "Announce the address after a takeover: never, when-needed or always.",
        kind: Kind::Choice(ARP_MODES),
        applies: is_vip,
        get: |a| word_of(&a.cluster.arp),
        parse: |a, v| {
            a.cluster.arp = choose("cluster.arp", v, ARP_MODES)?;
            Ok(())
        },
        check: unchecked,
        checked_when: always,
        default_doc: None,
        rule: "`never`, `when-needed` or `always`",
    },
    Field {
        key: "cluster.fence_agent",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Fence agent",
        help: "Pacemaker's fence agent that powers a node off (e.g. fence_ipmilan); empty: no fencing (asked next).",
        kind: Kind::Text,
        applies: is_pacemaker,
        get: |a| a.cluster.fence_agent.clone(),
        parse: |a, v| {
            let c = &mut a.cluster;
            c.fence_agent = v.trim().into();
            if c.fence_agent.is_empty() {
                c.fence_params.clear();
                c.fence_password.clear();
                a.master.fence_params.clear();
                a.slave.fence_params.clear();
            } else {
                c.run_without_fencing = false;
            }
            Ok(())
        },
        check: check_fence_agent,
        checked_when: always,
        default_doc: None,
        rule: "with `manager = \"pacemaker\"`: the fence agent that powers a node off, a `fence_*` program name (`fence_ipmilan`, `fence_virsh`, ...); setup adds it as a `stonith:` resource with `stonith-enabled=true`. Refused with `manager = \"mysql-ha\"` (the daemon fences with `fence_command` in cluster.toml)",
    },
    Field {
        key: "cluster.fence_params",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Fence parameters",
        help: "The fence agent's parameters for every device, name=value separated by spaces (e.g. username=admin lanplus=1); no password (asked apart).",
        kind: Kind::Text,
        applies: |a| is_pacemaker(a) && !a.cluster.fence_agent.is_empty(),
        get: |a| a.cluster.fence_params.join(" "),
        parse: |a, v| {
            a.cluster.fence_params = v.split_whitespace().map(str::to_string).collect();
            Ok(())
        },
        check: check_fence_params,
        checked_when: always,
        default_doc: None,
        rule: "the fence agent's parameters, each `name=value` (no spaces, quotes or backslashes), e.g. `[\"username=admin\", \"lanplus=1\"]`; no `password` (that is `fence_password`); `pcmk_host_list` is added by setup. They land in the CIB as given",
    },
    Field {
        key: "master.fence_params",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Master's fence device",
        help: "The master's own fence device parameters (its BMC's address, e.g. ip=192.0.2.211); empty: one device for both nodes.",
        kind: Kind::Text,
        applies: |a| is_pacemaker(a) && !a.cluster.fence_agent.is_empty(),
        get: |a| a.master.fence_params.join(" "),
        parse: |a, v| {
            a.master.fence_params = v.split_whitespace().map(str::to_string).collect();
            Ok(())
        },
        check: check_node_fence_params,
        checked_when: always,
        default_doc: None,
        rule: NODE_FENCE_PARAMS_RULE,
    },
    Field {
        key: "slave.fence_params",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Slave's fence device",
        help: "The slave's own fence device parameters (its BMC's address, e.g. ip=192.0.2.212).",
        kind: Kind::Text,
        applies: |a| is_pacemaker(a) && !a.cluster.fence_agent.is_empty(),
        get: |a| a.slave.fence_params.join(" "),
        parse: |a, v| {
            a.slave.fence_params = v.split_whitespace().map(str::to_string).collect();
            Ok(())
        },
        check: check_node_fence_params,
        checked_when: always,
        default_doc: None,
        rule: NODE_FENCE_PARAMS_RULE,
    },
    Field {
        key: "cluster.fence_password",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Fence device password",
        help: "The fence device's password (e.g. the BMC's); kept out of the CIB.",
        kind: Kind::Secret,
        applies: |a| is_pacemaker(a) && !a.cluster.fence_agent.is_empty(),
        get: |a| a.cluster.fence_password.clone(),
        parse: |a, v| {
            a.cluster.fence_password = v.into();
            Ok(())
        },
        check: check_fence_password,
        checked_when: always,
        default_doc: None,
        rule: "with a fence agent: the fence devices' password, given to the agent as its `password` parameter through Pacemaker's local secrets (`password=\"lrm://\"` in the CIB, the value in `/var/lib/pacemaker/lrm/secrets/DEVICE/password`, root only, on each node); empty: the agent gets no password. Left out by `--save-answers` unless `--include-secrets`",
    },
    Field {
        key: "cluster.run_without_fencing",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Run without fencing?",
        help: "yes: accept that a cut-off or frozen node is only assumed down and may write for a moment after the other is promoted.",
        kind: Kind::Choice(YES_NO),
        applies: |a| is_pacemaker(a) && a.cluster.fence_agent.is_empty(),
        get: |a| YES_NO[usize::from(a.cluster.run_without_fencing)].into(),
        parse: |a, v| {
            a.cluster.run_without_fencing =
                choose::<String>("cluster.run_without_fencing", v, YES_NO)? == "yes";
            Ok(())
        },
        check: check_run_without_fencing,
        checked_when: always,
        default_doc: None,
        rule: "with `manager = \"pacemaker\"` and no `fence_agent`: must be `true`, the explicit acceptance of the risk the plan spells out (a cut-off or frozen node is only assumed down and may still write for a moment after the other one is promoted); else setup refuses, naming `cluster.fence_agent`",
    },
    // [cluster.ddns], asked between the fencing and the witness.
    Field {
        key: "cluster.ddns.server",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "DNS server",
        help: "The zone's authoritative server that accepts dynamic updates (RFC 2136).",
        kind: Kind::Text,
        applies: is_ddns,
        get: |a| a.cluster.ddns.server.clone(),
        parse: |a, v| {
            a.cluster.ddns.server = v.trim().into();
            Ok(())
        },
        check: |a| validate_host("cluster.ddns.server", &a.cluster.ddns.server),
        checked_when: is_ddns,
        default_doc: None,
        rule: "required: address or name of the zone's authoritative server that accepts updates",
    },
    Field {
        key: "cluster.ddns.port",
        group: Group::ClusterAddress,
        asked: Asked::Not,
        label: "DNS server port",
        help: "Port the DNS server takes updates on.",
        kind: Kind::Number,
        applies: is_ddns,
        get: |a| a.cluster.ddns.port.to_string(),
        parse: |a, v| {
            a.cluster.ddns.port = number("cluster.ddns.port", v)?;
            Ok(())
        },
        check: |a| match a.cluster.ddns.port {
            0 => Err(answer_error("cluster.ddns.port", "give a port (53)")),
            _ => Ok(()),
        },
        checked_when: is_ddns,
        default_doc: None,
        rule: "not 0",
    },
    Field {
        key: "cluster.ddns.zone",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "DNS zone",
        help: "The zone the name belongs to, e.g. example.com.",
        kind: Kind::Text,
        applies: is_ddns,
        get: |a| a.cluster.ddns.zone.clone(),
        parse: |a, v| {
            a.cluster.ddns.zone = v.trim().trim_end_matches('.').into();
            Ok(())
        },
        check: |a| validate_zone("cluster.ddns.zone", &a.cluster.ddns.zone),
        checked_when: is_ddns,
        default_doc: None,
        rule: "required: the zone, without the final dot (`example.com`)",
    },
    Field {
        key: "cluster.ddns.name",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Dynamic-DNS name",
        help: "Fully qualified name kept pointed at the master, e.g. db.example.com.",
        kind: Kind::Text,
        applies: is_ddns,
        get: |a| a.cluster.ddns.name.clone(),
        parse: |a, v| {
            a.cluster.ddns.name = v.trim().trim_end_matches('.').into();
            Ok(())
        },
        check: check_ddns_name,
        checked_when: is_ddns,
        default_doc: None,
        rule: "required: a fully qualified name inside `zone` (`db.example.com`); its A record is replaced",
    },
    Field {
        key: "cluster.ddns.ttl",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Record TTL (s)",
        help: "Seconds resolvers may cache the name: clients follow a takeover after at most this.",
        kind: Kind::Number,
        applies: is_ddns,
        get: |a| a.cluster.ddns.ttl.to_string(),
        parse: |a, v| {
            a.cluster.ddns.ttl = number("cluster.ddns.ttl", v)?;
            Ok(())
        },
        check: |a| validate_seconds("cluster.ddns.ttl", a.cluster.ddns.ttl, 1, 86_400),
        checked_when: is_ddns,
        default_doc: None,
        rule: "1-86400: seconds resolvers may cache the record",
    },
    Field {
        key: "cluster.ddns.key_file",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "TSIG key file",
        help:
            "A key file as tsig-keygen writes it, on this machine; empty: give its name and secret.",
        kind: Kind::Text,
        applies: is_ddns,
        get: |a| a.cluster.ddns.key_file.clone(),
        parse: |a, v| {
            let d = &mut a.cluster.ddns;
            d.key_file = v.trim().into();
            if !d.key_file.is_empty() {
                d.key_secret.clear();
            }
            Ok(())
        },
        check: check_ddns_key_file,
        checked_when: is_ddns,
        default_doc: None,
        rule: "an absolute path to a BIND key file (`key \"NAME\" { algorithm ...; secret \"...\"; };`, as `tsig-keygen` writes) on the machine running setup; empty: `key_name` and `key_secret` instead; not both",
    },
    Field {
        key: "cluster.ddns.key_name",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "TSIG key name",
        help: "Name of the key the server accepts updates of the name from.",
        kind: Kind::Text,
        applies: ddns_key_by_name,
        get: |a| a.cluster.ddns.key_name.clone(),
        parse: |a, v| {
            a.cluster.ddns.key_name = v.trim().into();
            Ok(())
        },
        check: |a| validate_key_name("cluster.ddns.key_name", &a.cluster.ddns.key_name),
        checked_when: ddns_key_by_name,
        default_doc: None,
        rule: "without `key_file`: the key's name (letters, digits, `-`, `_`, `.`)",
    },
    Field {
        key: "cluster.ddns.key_algorithm",
        group: Group::ClusterAddress,
        asked: Asked::Not,
        label: "TSIG key algorithm",
        help: "The key's HMAC algorithm.",
        kind: Kind::Choice(super::TSIG_ALGORITHMS),
        applies: ddns_key_by_name,
        get: |a| a.cluster.ddns.key_algorithm.clone(),
        parse: |a, v| {
            a.cluster.ddns.key_algorithm = v.trim().into();
            Ok(())
        },
        check: |a| {
            validate_key_algorithm("cluster.ddns.key_algorithm", &a.cluster.ddns.key_algorithm)
        },
        checked_when: ddns_key_by_name,
        default_doc: None,
        rule: "`hmac-sha256`, `hmac-sha512`, `hmac-sha384`, `hmac-sha224`, `hmac-sha1` or `hmac-md5`",
    },
    Field {
        key: "cluster.ddns.key_secret",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "TSIG key secret",
        help: "The key's base64 secret (hmac-sha256 unless key_algorithm says otherwise).",
        kind: Kind::Secret,
        applies: ddns_key_by_name,
        get: |a| a.cluster.ddns.key_secret.clone(),
        parse: |a, v| {
            a.cluster.ddns.key_secret = v.trim().into();
            Ok(())
        },
        check: check_ddns_key_secret,
        checked_when: is_ddns,
        default_doc: None,
        rule: "without `key_file`: the key's base64 secret; left out by `--save-answers` unless `--include-secrets`",
    },
    Field {
        key: "cluster.witness",
        group: Group::ClusterAddress,
        asked: Asked::Question,
        label: "Witness host",
        help: "A third host that votes on who is master (setup installs the witness there, or corosync-qnetd for pacemaker); empty: no third vote.",
        kind: Kind::Text,
        applies: always,
        get: |a| a.cluster.witness.clone(),
        parse: |a, v| {
            a.cluster.witness = v.trim().into();
            Ok(())
        },
        check: check_witness,
        checked_when: always,
        default_doc: None,
        rule: "address or name of a third host that votes with the two nodes on who may be master (setup installs `mysql-ha witness` there as it installs the daemon on the nodes, reached as `witness_ssh_user`); not a node. Empty: no third vote, and so **no automatic takeover** (two nodes alone cannot tell a dead master from a cut link). See [daemon.md](daemon.md#votes-and-leases)",
    },
    Field {
        key: "cluster.witness_ssh_user",
        group: Group::ClusterAddress,
        asked: Asked::Not,
        label: "Witness ssh user",
        help: "Account setup logs in as on the witness.",
        kind: Kind::Text,
        applies: |a| !a.cluster.witness.is_empty(),
        get: |a| a.cluster.witness_ssh_user.clone(),
        parse: |a, v| {
            a.cluster.witness_ssh_user = v.into();
            Ok(())
        },
        check: |a| validate_account("cluster.witness_ssh_user", &a.cluster.witness_ssh_user),
        checked_when: |a| !a.cluster.witness.is_empty(),
        default_doc: None,
        rule: "as `ssh_user`: the account setup logs in as on the witness",
    },
    Field {
        key: "cluster.vote_key",
        group: Group::ClusterAddress,
        asked: Asked::Not,
        label: "Vote key",
        help: "The cluster's vote key, 64 hexadecimal digits.",
        kind: Kind::Secret,
        applies: |a| !a.cluster.witness.is_empty(),
        get: |a| a.cluster.vote_key.clone(),
        parse: |a, v| {
            a.cluster.vote_key = v.trim().into();
            Ok(())
        },
        check: check_vote_key,
        checked_when: |a| !a.cluster.witness.is_empty(),
        default_doc: None,
        rule: "the cluster's vote key, 64 hexadecimal digits, for a witness that already runs with a key of its own; empty: the witness's own key when it has one, else the nodes' earlier one, else a new one (a secret, left out by `--save-answers` unless `--include-secrets`)",
    },
    Field {
        key: "cluster.account",
        group: Group::ClusterAccount,
        asked: Asked::Question,
        label: "Cluster account",
        help: "Unprivileged account the daemon runs as (key-based ssh, sudo allowlist).",
        kind: Kind::Text,
        applies: always,
        get: |a| a.cluster.account.clone(),
        parse: |a, v| {
            a.cluster.account = v.into();
            Ok(())
        },
        check: check_cluster_account,
        checked_when: always,
        default_doc: None,
        rule: "as `ssh_user`: the unprivileged system account the daemon runs as on both nodes (home `/var/lib/ACCOUNT`), created when missing (comment `mysql-ha cluster daemon`). Refused: `root` and the system and service accounts (`mysql`, `sshd`, `daemon`, `www-data`, `nobody`, `systemd-*`, ...), the database accounts `user` may not be, either node's `ssh_user` or `mysql_admin_user`; and, by preflight, an account that exists on a node without that comment (someone else's account: setup would replace its ssh settings, key and sudo rules)",
    },
    Field {
        key: "cluster.key_passphrase",
        group: Group::ClusterAccount,
        asked: Asked::Question,
        label: "Key passphrase",
        help: "Empty: an unencrypted key; else at least 8 characters (ssh-agent).",
        kind: Kind::Secret,
        applies: always,
        get: |a| a.cluster.key_passphrase.clone(),
        parse: |a, v| {
            a.cluster.key_passphrase = v.into();
            Ok(())
        },
        check: |a| match a.cluster.key_passphrase.as_str() {
            "" => Ok(()),
            passphrase => validate_passphrase("cluster.key_passphrase", passphrase),
        },
        checked_when: always,
        default_doc: None,
        rule: "empty: the account's ssh key is not encrypted; else at least 8 characters, one line: the key is encrypted with it, the passphrase is kept in `/etc/mysql-ha/key-passphrase` (0600 root) and the daemon loads the key into its own ssh-agent at start; changing it makes setup replace the key",
    },
    Field {
        key: "cluster.check_interval_s",
        group: Group::Timings,
        asked: Asked::Not,
        label: "Check every (s)",
        help: "Replaced by cluster.check_interval_ms.",
        kind: Kind::Number,
        applies: always,
        get: |a| a.cluster.check_interval_s.map(|s| s.to_string()).unwrap_or_default(),
        parse: |a, v| {
            a.cluster.check_interval_s = parse_old_seconds(v)?;
            Ok(())
        },
        check: |a| {
            check_old_seconds(
                "cluster.check_interval_s",
                "check_interval_ms",
                a.cluster.check_interval_s,
            )
        },
        checked_when: always,
        default_doc: None,
        rule: OLD_SECONDS_RULE,
    },
    Field {
        key: "cluster.check_timeout_s",
        group: Group::Timings,
        asked: Asked::Not,
        label: "Check timeout (s)",
        help: "Replaced by cluster.check_timeout_ms.",
        kind: Kind::Number,
        applies: always,
        get: |a| a.cluster.check_timeout_s.map(|s| s.to_string()).unwrap_or_default(),
        parse: |a, v| {
            a.cluster.check_timeout_s = parse_old_seconds(v)?;
            Ok(())
        },
        check: |a| {
            check_old_seconds(
                "cluster.check_timeout_s",
                "check_timeout_ms",
                a.cluster.check_timeout_s,
            )
        },
        checked_when: always,
        default_doc: None,
        rule: OLD_SECONDS_RULE,
    },
    Field {
        key: "cluster.check_interval_ms",
        group: Group::Timings,
        asked: Asked::Question,
        label: "Check every (ms)",
        help: "Milliseconds between two checks of the master.",
        kind: Kind::Number,
        applies: always,
        get: |a| a.cluster.check_interval_ms.to_string(),
        parse: |a, v| {
            a.cluster.check_interval_ms = number("cluster.check_interval_ms", v)?;
            Ok(())
        },
        check: |a| {
            let (min, max) = CHECK_INTERVAL_MS;
            validate_seconds("cluster.check_interval_ms", a.cluster.check_interval_ms, min, max)
        },
        checked_when: always,
        default_doc: None,
        rule: "100-3600000: milliseconds between two checks of the master (cluster.toml `[timings] check_interval_ms`)",
    },
    Field {
        key: "cluster.failure_threshold",
        group: Group::Timings,
        asked: Asked::Question,
        label: "Failures to take over",
        help: "Failed checks in a row before the slave takes over.",
        kind: Kind::Number,
        applies: always,
        get: |a| a.cluster.failure_threshold.to_string(),
        parse: |a, v| {
            a.cluster.failure_threshold = number("cluster.failure_threshold", v)?;
            Ok(())
        },
        check: |a| validate_seconds("cluster.failure_threshold", a.cluster.failure_threshold, 1, 100),
        checked_when: always,
        default_doc: None,
        rule: "1-100: failed checks in a row before a takeover (cluster.toml `[timings] failure_threshold`)",
    },
    Field {
        key: "cluster.check_timeout_ms",
        group: Group::Timings,
        asked: Asked::Question,
        label: "Check timeout (ms)",
        help: "Milliseconds a check may take before it counts as failed.",
        kind: Kind::Number,
        // Pacemaker's monitors keep the agent's own timeout.
        applies: |a| !is_pacemaker(a),
        get: |a| a.cluster.check_timeout_ms.to_string(),
        parse: |a, v| {
            a.cluster.check_timeout_ms = number("cluster.check_timeout_ms", v)?;
            Ok(())
        },
        check: |a| {
            let (min, max) = CHECK_TIMEOUT_MS;
            validate_seconds("cluster.check_timeout_ms", a.cluster.check_timeout_ms, min, max)
        },
        checked_when: always,
        default_doc: None,
        rule: "100-600000: milliseconds a check may take before it counts as failed (cluster.toml `[timings] query_timeout_ms`). Not used, and not asked, with `manager = \"pacemaker\"`: the agent's monitors keep their own 30 s timeout; there `check_interval_ms` sets the monitor intervals (promoted: that, rounded up to seconds; unpromoted: twice that), `check_interval_ms` × `failure_threshold` corosync's token timeout, and `failure_threshold` the resource's `migration-threshold`",
    },
    // [install]
    Field {
        key: "install.package",
        group: Group::Nodes,
        asked: Asked::Not,
        label: "Package",
        help: "A .deb or .rpm of this tool to install on the nodes.",
        kind: Kind::Text,
        applies: always,
        get: |a| a.install.package.clone(),
        parse: |a, v| {
            a.install.package = v.trim().into();
            Ok(())
        },
        check: |a| a.install.validate(),
        checked_when: always,
        default_doc: None,
        rule: "a `.deb` or `.rpm` of this tool (`scripts/package`) readable on the machine running setup. Setup installs it on both nodes with their package manager (`dpkg -i`, `rpm -U`) instead of copying its own binary, so the daemons run the package's `/usr/sbin/mysql-ha` (see [packaging.md](packaging.md)). Empty: setup copies its own binary to `/usr/local/sbin/mysql-ha`",
    },
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::Error;

    fn lab() -> Answers {
        let mut answers = Answers::default();
        answers.master.host = "192.0.2.11".into();
        answers.slave.host = "192.0.2.12".into();
        answers.replication.databases = vec!["shop".into()];
        answers
    }

    fn leaf_keys(prefix: &str, value: &toml::Value, keys: &mut Vec<String>) {
        match value {
            toml::Value::Table(table) => {
                for (name, inner) in table {
                    let key = match prefix {
                        "" => name.clone(),
                        _ => format!("{prefix}.{name}"),
                    };
                    leaf_keys(&key, inner, keys);
                }
            }
            _ => keys.push(prefix.to_string()),
        }
    }

    #[test]
    fn every_key_of_the_file_is_one_field() {
        let mut answers = Answers::default();
        answers.cluster.check_interval_s = Some(1);
        answers.cluster.check_timeout_s = Some(1);
        answers.slave2.host = "192.0.2.13".into();
        let mut keys = Vec::new();
        leaf_keys("", &toml::Value::try_from(&answers).unwrap(), &mut keys);
        let mut fields: Vec<String> = FIELDS.iter().map(|f| f.key.to_string()).collect();
        keys.sort();
        fields.sort();
        assert_eq!(keys, fields);
    }

    #[test]
    fn every_field_reads_back_what_it_stored() {
        let mut answers = lab();
        for f in FIELDS {
            let value = match f.key {
                "master.ssh_port" => "2222".to_string(),
                "slave.mysql_port" => "3307".into(),
                "master.ssh_password" => "once-only".into(),
                "replication.password" => "a-strong-password-1".into(),
                "replication.databases" => "shop, crm".into(),
                "replication.seed" => "parallel".into(),
                "replication.verify" => "checksum".into(),
                "replication.durability" => "semi-sync".into(),
                "replication.tls" => "files".into(),
                "replication.tls_ca_file" => "/etc/ssl/db/ca.pem".into(),
                "replication.tls_cert_file" => "/etc/ssl/db/node.pem".into(),
                "replication.tls_key_file" => "/etc/ssl/db/node.key".into(),
                "cluster.manager" => "pacemaker".into(),
                "cluster.resource" => "vip".into(),
                "cluster.vip" => "192.0.2.10/24".into(),
                "cluster.arp" => "always".into(),
                "cluster.fence_agent" => "fence_ipmilan".into(),
                "cluster.fence_params" => "ip=192.0.2.200 username=admin".into(),
                "cluster.ddns.server" => "192.0.2.100".into(),
                "cluster.ddns.port" => "5353".into(),
                "cluster.ddns.zone" => "example.com".into(),
                "cluster.ddns.name" => "db.example.com".into(),
                "cluster.ddns.ttl" => "60".into(),
                "cluster.ddns.key_name" => "ha-key".into(),
                "cluster.ddns.key_algorithm" => "hmac-sha512".into(),
                "cluster.ddns.key_secret" => "c2VjcmV0LXNlY3JldC1zZWNyZXQ=".into(),
                "cluster.witness" => "192.0.2.100".into(),
                "cluster.witness_ssh_user" => "admin".into(),
                "cluster.vote_key" => "ab".repeat(32),
                "cluster.key_passphrase" => "a-passphrase".into(),
                "cluster.check_interval_ms" => "500".into(),
                "cluster.failure_threshold" => "5".into(),
                "cluster.check_timeout_ms" => "400".into(),
                _ => (f.get)(&answers),
            };
            set(&mut answers, f.key, &value).unwrap_or_else(|e| panic!("{}: {e}", f.key));
            assert_eq!((f.get)(&answers), value, "{}", f.key);
        }
        // What the wizard stored passes the answers file's checks.
        answers.validate().unwrap();
    }

    #[test]
    fn every_checked_key_is_refused_under_its_own_name_with_its_section() {
        type Setup = fn(&mut Answers);
        let none: Setup = |_| {};
        let vip: Setup = |a| {
            a.cluster.resource = Resource::Vip;
            a.cluster.vip = "192.0.2.10/24".into();
        };
        let ddns: Setup = |a| {
            let d = &mut a.cluster.ddns;
            a.cluster.resource = Resource::Ddns;
            d.server = "192.0.2.100".into();
            d.zone = "example.com".into();
            d.name = "db.example.com".into();
            d.key_name = "ha-key".into();
            d.key_secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=".into();
        };
        let pacemaker: Setup = |a| {
            a.cluster.manager = Manager::Pacemaker;
            a.cluster.run_without_fencing = true;
        };
        let tls_files: Setup = |a| {
            let r = &mut a.replication;
            r.tls = TlsMode::Files;
            r.tls_ca_file = "/ca.pem".into();
            r.tls_cert_file = "/node.pem".into();
            r.tls_key_file = "/node.key".into();
        };
        let witness: Setup = |a| a.cluster.witness = "192.0.2.100".into();
        let three: Setup = |a| {
            a.cluster.manager = Manager::Pacemaker;
            a.cluster.run_without_fencing = true;
            a.slave2.host = "192.0.2.13".into();
        };
        let cases: &[(Setup, &str, &str, &str)] = &[
            // A third node: only under Pacemaker, a third machine.
            (none, "slave2.host", "192.0.2.13", "slave2.host"),
            (three, "slave2.host", "192.0.2.12", "slave2.host"),
            (three, "slave2.ssh_user", "a b", "slave2.ssh_user"),
            (three, "slave2.ssh_port", "0", "slave2.ssh_port"),
            (three, "slave2.ssh_password", "a\nb", "slave2.ssh_password"),
            (
                three,
                "slave2.mysql_admin_user",
                "a b",
                "slave2.mysql_admin_user",
            ),
            (three, "slave2.mysql_port", "0", "slave2.mysql_port"),
            (
                three,
                "slave2.fence_params",
                "ip=192.0.2.213",
                "slave2.fence_params",
            ),
            (none, "master.host", "bad host", "master.host"),
            (none, "master.ssh_user", "a b", "master.ssh_user"),
            (none, "master.ssh_password", "a\nb", "master.ssh_password"),
            (none, "master.ssh_port", "0", "master.ssh_port"),
            (none, "slave.ssh_port", "0", "slave.ssh_port"),
            (none, "master.mysql_port", "0", "master.mysql_port"),
            (none, "slave.mysql_port", "0", "slave.mysql_port"),
            (none, "slave.host", "192.0.2.11", "slave.host"),
            (none, "slave.ssh_user", "a b", "slave.ssh_user"),
            (none, "slave.ssh_password", "a\nb", "slave.ssh_password"),
            (
                none,
                "master.mysql_admin_user",
                "a b",
                "master.mysql_admin_user",
            ),
            (
                none,
                "slave.mysql_admin_user",
                "a b",
                "slave.mysql_admin_user",
            ),
            (none, "replication.user", "root", "replication.user"),
            (
                none,
                "replication.password",
                "short",
                "replication.password",
            ),
            (
                none,
                "replication.databases",
                "mysql",
                "replication.databases",
            ),
            (
                pacemaker,
                "replication.durability",
                "async",
                "replication.durability",
            ),
            (
                tls_files,
                "replication.tls_ca_file",
                "ca.pem",
                "replication.tls_ca_file",
            ),
            (
                tls_files,
                "replication.tls_cert_file",
                "",
                "replication.tls_cert_file",
            ),
            (
                tls_files,
                "replication.tls_key_file",
                "k",
                "replication.tls_key_file",
            ),
            (pacemaker, "cluster.resource", "ddns", "cluster.resource"),
            (vip, "cluster.vip", "192.0.2.10", "cluster.vip"),
            (vip, "cluster.device", "", "cluster.device"),
            (
                none,
                "cluster.fence_agent",
                "fence_ipmilan",
                "cluster.fence_agent",
            ),
            (
                pacemaker,
                "cluster.fence_params",
                "ip",
                "cluster.fence_params",
            ),
            (
                pacemaker,
                "master.fence_params",
                "password=in-the-cib",
                "master.fence_params",
            ),
            (
                pacemaker,
                "slave.fence_params",
                "pcmk_host_list=node1",
                "slave.fence_params",
            ),
            (
                pacemaker,
                "cluster.fence_password",
                "two\nlines",
                "cluster.fence_password",
            ),
            (
                pacemaker,
                "cluster.run_without_fencing",
                "no",
                "cluster.fence_agent",
            ),
            (
                ddns,
                "cluster.ddns.server",
                "bad server",
                "cluster.ddns.server",
            ),
            (ddns, "cluster.ddns.port", "0", "cluster.ddns.port"),
            (ddns, "cluster.ddns.zone", "192.0.2.1", "cluster.ddns.zone"),
            (
                ddns,
                "cluster.ddns.name",
                "db.example.org",
                "cluster.ddns.name",
            ),
            (ddns, "cluster.ddns.ttl", "0", "cluster.ddns.ttl"),
            (
                ddns,
                "cluster.ddns.key_file",
                "key",
                "cluster.ddns.key_file",
            ),
            (
                ddns,
                "cluster.ddns.key_name",
                "a b",
                "cluster.ddns.key_name",
            ),
            (
                ddns,
                "cluster.ddns.key_algorithm",
                "md4",
                "cluster.ddns.key_algorithm",
            ),
            (
                ddns,
                "cluster.ddns.key_secret",
                "!",
                "cluster.ddns.key_secret",
            ),
            (none, "cluster.witness", "192.0.2.12", "cluster.witness"),
            (
                witness,
                "cluster.witness_ssh_user",
                "a b",
                "cluster.witness_ssh_user",
            ),
            (witness, "cluster.vote_key", "abc", "cluster.vote_key"),
            (none, "cluster.account", "root", "cluster.account"),
            (
                none,
                "cluster.key_passphrase",
                "short",
                "cluster.key_passphrase",
            ),
            (
                none,
                "cluster.check_interval_s",
                "5",
                "cluster.check_interval_s",
            ),
            (
                none,
                "cluster.check_timeout_s",
                "5",
                "cluster.check_timeout_s",
            ),
            (
                none,
                "cluster.check_interval_ms",
                "5",
                "cluster.check_interval_ms",
            ),
            (
                none,
                "cluster.failure_threshold",
                "0",
                "cluster.failure_threshold",
            ),
            (
                none,
                "cluster.check_timeout_ms",
                "5",
                "cluster.check_timeout_ms",
            ),
            (none, "install.package", "tool.zip", "install.package"),
        ];
        let error_key = |result: Result<()>| match result {
            Err(Error::Answers { key, .. }) => key,
            other => panic!("{other:?}"),
        };
        for (setup, key, bad, named) in cases {
            let mut answers = lab();
            setup(&mut answers);
            answers.validate().unwrap_or_else(|e| panic!("{key}: {e}"));
            let before = answers.clone();
            assert_eq!(error_key(set(&mut answers, key, bad)), *named, "{key}");
            assert_eq!(answers, before, "{key}: a refused answer changes nothing");
            let mut from_file = answers.clone();
            (field(key).unwrap().parse)(&mut from_file, bad).unwrap();
            assert_eq!(error_key(from_file.validate()), *named, "{key} in a file");
            let (section, _) = named.rsplit_once('.').unwrap();
            assert!(
                [
                    "master",
                    "slave",
                    "slave2",
                    "replication",
                    "cluster",
                    "cluster.ddns",
                    "install"
                ]
                .contains(&section),
                "{named}"
            );
        }
        // Every key with a check of its own is refused above; the others
        // take any value their type reads.
        let free = [
            "master.mysql_admin_password",
            "slave.mysql_admin_password",
            "slave2.mysql_admin_password",
            "replication.seed",
            "replication.verify",
            "replication.tls",
            "cluster.manager",
            "cluster.arp",
        ];
        for f in FIELDS {
            let covered = cases.iter().any(|(_, key, _, _)| key == &f.key);
            assert!(
                covered || free.contains(&f.key),
                "{} is never refused",
                f.key
            );
        }
    }

    #[test]
    fn wrong_words_and_numbers_name_their_key() {
        let mut answers = lab();
        for (key, bad) in [
            ("replication.seed", "rsync"),
            ("cluster.arp", "sometimes"),
            ("cluster.failure_threshold", "three"),
            ("master.ssh_port", "0"),
            ("no.such_key", "x"),
        ] {
            let err = set(&mut answers, key, bad).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn the_secrets_are_the_keys_typed_without_echo() {
        let keys: Vec<&str> = secrets().map(|f| f.key).collect();
        assert_eq!(
            keys,
            [
                "master.ssh_password",
                "slave.ssh_password",
                "master.mysql_admin_password",
                "slave.mysql_admin_password",
                "slave2.ssh_password",
                "slave2.mysql_admin_password",
                "replication.password",
                "cluster.fence_password",
                "cluster.ddns.key_secret",
                "cluster.vote_key",
                "cluster.key_passphrase",
            ]
        );
        let mut answers = lab();
        for f in secrets() {
            (f.parse)(&mut answers, "a-secret-value").unwrap();
        }
        let saved = answers.to_toml(false).unwrap();
        assert!(!saved.contains("a-secret-value"), "{saved}");
    }

    #[test]
    fn keys_are_unique_and_groups_follow_the_wizard() {
        let mut keys: Vec<&str> = FIELDS.iter().map(|f| f.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), FIELDS.len());
        assert_eq!(Group::of_key("replication.databases"), Group::Databases);
        assert_eq!(Group::of_key("cluster.ddns.ttl"), Group::ClusterAddress);
        assert_eq!(Group::of_key("nothing"), Group::Nodes);
    }
}
