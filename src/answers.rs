//! The answers value: defaults, then the answers file, then flags, then
//! prompts. Every source goes through the same validators; a bad value is an
//! error naming its key.

use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Schemas that belong to the server, never replicated by name.
pub const SYSTEM_SCHEMAS: [&str; 4] = ["mysql", "information_schema", "performance_schema", "sys"];

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
        }
    }
}

/// How the slave gets its first copy of the data (docs/answers.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedMethod {
    /// The fastest method that applies (see setup::seed::choose).
    Auto,
    /// One `mariadb-dump --single-transaction` streamed into the slave.
    Dump,
    /// Several dumps of one shared snapshot, tables and chunks loaded at once.
    Parallel,
    /// A physical copy with mariadb-backup, for a slave with no data of its own.
    Backup,
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
}

impl Default for ReplicationAnswers {
    fn default() -> Self {
        ReplicationAnswers {
            user: "repl".into(),
            password: String::new(),
            databases: Vec::new(),
            seed: SeedMethod::Auto,
            verify: SeedVerify::Rows,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterAnswers {
    pub resource: Resource,
    pub vip: String,
    pub device: String,
    pub arp: ArpMode,
    pub account: String,
    pub key_passphrase: String,
    /// Daemon timings: seconds between two checks of the master.
    pub check_interval_s: u32,
    /// Daemon timings: failed checks in a row before a takeover.
    pub failure_threshold: u32,
    /// Daemon timings: seconds a check may take before it counts as failed.
    pub check_timeout_s: u32,
    /// With `resource = "ddns"`: the name, its zone and the TSIG key.
    pub ddns: DdnsAnswers,
}

impl Default for ClusterAnswers {
    fn default() -> Self {
        ClusterAnswers {
            resource: Resource::None,
            vip: String::new(),
            device: "eth0".into(),
            arp: ArpMode::WhenNeeded,
            account: "mysqlha".into(),
            key_passphrase: String::new(),
            check_interval_s: 5,
            failure_threshold: 3,
            check_timeout_s: 10,
            ddns: DdnsAnswers::default(),
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
    pub replication: ReplicationAnswers,
    pub cluster: ClusterAnswers,
}

impl Answers {
    /// Reads an answers file; unknown keys and wrong types are errors naming
    /// the key and the file.
    pub fn from_file(path: &Path) -> Result<Answers> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text).map_err(|message| Error::Answers {
            key: message.0,
            message: format!("{} (in {})", message.1, path.display()),
        })
    }

    fn from_toml(text: &str) -> std::result::Result<Answers, (String, String)> {
        toml::from_str::<Answers>(text).map_err(|e| {
            let message = e.message().to_string();
            // toml names unknown fields in the message: "unknown field `x`, expected ..."
            let key = message
                .split('`')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| "answers file".to_string());
            (key, message)
        })
    }

    /// Checks every value; the first bad one is an error naming its key.
    pub fn validate(&self) -> Result<()> {
        for (section, node) in [("master", &self.master), ("slave", &self.slave)] {
            validate_host(&format!("{section}.host"), &node.host)?;
            validate_account(&format!("{section}.ssh_user"), &node.ssh_user)?;
            validate_account(
                &format!("{section}.mysql_admin_user"),
                &node.mysql_admin_user,
            )?;
        }
        if same_host(&self.master.host, &self.slave.host) {
            return Err(answer_error(
                "slave.host",
                format!(
                    "`{}` is also the master; give two different servers",
                    self.slave.host
                ),
            ));
        }
        validate_account("replication.user", &self.replication.user)?;
        if !self.replication.password.is_empty() {
            validate_password("replication.password", &self.replication.password)?;
        }
        validate_databases(&self.replication.databases)?;
        if self.cluster.resource == Resource::Vip {
            validate_vip("cluster.vip", &self.cluster.vip)?;
            if self.cluster.device.is_empty() {
                return Err(answer_error(
                    "cluster.device",
                    "give the network device that carries the cluster address (e.g. eth0)",
                ));
            }
        }
        if self.cluster.resource == Resource::Ddns {
            validate_ddns(&self.cluster.ddns)?;
        }
        validate_account("cluster.account", &self.cluster.account)?;
        if !self.cluster.key_passphrase.is_empty() {
            validate_passphrase("cluster.key_passphrase", &self.cluster.key_passphrase)?;
        }
        validate_seconds(
            "cluster.check_interval_s",
            self.cluster.check_interval_s,
            1,
            3600,
        )?;
        validate_seconds(
            "cluster.failure_threshold",
            self.cluster.failure_threshold,
            1,
            100,
        )?;
        validate_seconds(
            "cluster.check_timeout_s",
            self.cluster.check_timeout_s,
            1,
            600,
        )?;
        for (section, node) in [("master", &self.master), ("slave", &self.slave)] {
            if node.ssh_password.contains(['\n', '\r', '\0']) {
                return Err(answer_error(
                    &format!("{section}.ssh_password"),
                    "contains a line break",
                ));
            }
        }
        Ok(())
    }

    /// The answers as a TOML answers file; secrets left empty unless asked.
    pub fn to_toml(&self, include_secrets: bool) -> Result<String> {
        let mut copy = self.clone();
        if !include_secrets {
            copy.master.ssh_password.clear();
            copy.slave.ssh_password.clear();
            copy.master.mysql_admin_password.clear();
            copy.slave.mysql_admin_password.clear();
            copy.replication.password.clear();
            copy.cluster.key_passphrase.clear();
            copy.cluster.ddns.key_secret.clear();
        }
        let body = toml::to_string(&copy).map_err(|e| Error::Other(e.to_string()))?;
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

/// Empty (no passphrase) or one ssh-keygen accepts: at least 8 characters
/// on one line.
pub fn validate_key_passphrase(key: &str, passphrase: &str) -> Result<()> {
    if passphrase.is_empty() {
        return Ok(());
    }
    if passphrase.chars().count() < 8 {
        return Err(answer_error(
            key,
            "too short: use at least 8 characters, or leave it empty for an unencrypted key",
        ));
    }
    if passphrase.chars().any(|c| c.is_control()) {
        return Err(answer_error(key, "contains a control character"));
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

/// `[cluster.ddns]` when the resource is `ddns`: every key it needs.
pub fn validate_ddns(d: &DdnsAnswers) -> Result<()> {
    validate_host("cluster.ddns.server", &d.server)?;
    if d.port == 0 {
        return Err(answer_error("cluster.ddns.port", "give a port (53)"));
    }
    validate_zone("cluster.ddns.zone", &d.zone)?;
    validate_name_in_zone("cluster.ddns.name", &d.name, &d.zone)?;
    validate_seconds("cluster.ddns.ttl", d.ttl, 1, 86_400)?;
    if !d.key_file.is_empty() {
        if !d.key_file.starts_with('/') {
            return Err(answer_error(
                "cluster.ddns.key_file",
                format!("`{}`: give an absolute path", d.key_file),
            ));
        }
        if !d.key_secret.is_empty() {
            return Err(answer_error(
                "cluster.ddns.key_secret",
                "give either key_file or key_name with key_secret, not both",
            ));
        }
        return Ok(());
    }
    validate_key_name("cluster.ddns.key_name", &d.key_name)?;
    validate_key_algorithm("cluster.ddns.key_algorithm", &d.key_algorithm)?;
    validate_key_secret("cluster.ddns.key_secret", &d.key_secret)
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
    fn unknown_key_is_named() {
        let (key, _) = Answers::from_toml("[master]\nhots = \"x\"\n").unwrap_err();
        assert_eq!(key, "hots");
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
        answers.cluster.check_interval_s = 0;
        assert!(answers
            .validate()
            .unwrap_err()
            .to_string()
            .contains("cluster.check_interval_s"));
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
