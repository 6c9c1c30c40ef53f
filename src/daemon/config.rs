//! /etc/mysql-ha/cluster.toml: what the daemon of one node needs to know.
//! Written by setup's hand-off (mode 0640, root and the cluster account), read
//! at start and again on SIGHUP.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::answers::ClusterAnswers;
use crate::profile::Profile;
use crate::{Error, Result};

pub const DEFAULT_PATH: &str = "/etc/mysql-ha/cluster.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Master,
    Slave,
    /// Taken over from: read-only, no resource, waits for `mysql-ha rejoin`.
    NeedsRejoin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Slave => "slave",
            Role::NeedsRejoin => "needs-rejoin",
        }
    }
}

/// How the old master is fenced before a takeover when it still answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fence {
    /// Release its address and stop its server (the original shut the whole
    /// machine down; that is not offered yet).
    StopServer,
    /// Release its address only.
    AddressOnly,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// This node's address (as the peer reaches it).
    pub address: String,
    /// The other node's address.
    pub peer: String,
    /// Role given by setup; the persisted term state wins once it exists.
    pub initial_role: Role,
    /// Distribution profile name of this node.
    pub profile: String,
    #[serde(default = "default_ssh_port")]
    pub peer_ssh_port: u16,
    #[serde(default = "default_mysql_port")]
    pub mysql_port: u16,
    /// The tool's binary on this node (the package's or setup's copy): the
    /// sudo allowlist names it.
    #[serde(default = "default_binary")]
    pub binary: String,
}

fn default_binary() -> String {
    crate::privileged::BINARY.to_string()
}

fn default_ssh_port() -> u16 {
    22
}
fn default_mysql_port() -> u16 {
    3306
}

/// Timings, in milliseconds unless named otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timings {
    /// Between two checks while all is well.
    pub check_interval_ms: u64,
    /// Between re-checks once a check failed.
    pub recheck_interval_ms: u64,
    /// Consecutive failed checks before the master counts as failed.
    pub failure_threshold: u32,
    /// Connect and read timeout of each check query, and of the probe of
    /// the master's ssh port that runs beside it.
    pub query_timeout_ms: u64,
    /// ssh ConnectTimeout and limit of each remote command.
    pub ssh_timeout_ms: u64,
    /// Remote restarts of a sick master server before failing over.
    pub restart_tries: u32,
    /// How long to wait for a restarted master server to answer.
    pub restart_wait_ms: u64,
    /// Longest wait for the slave to apply what it received before a takeover.
    pub apply_wait_ms: u64,
    /// After a takeover, no other automatic takeover until `mysql-ha ack`
    /// or this many seconds.
    pub hold_after_takeover_s: u64,
    /// A slave this many seconds behind is an event (0: never).
    pub lag_alert_s: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            // A dead master is declared after three consecutive checks found
            // no path answering (~2.5-3 s); a loaded master still answers a
            // TCP connect and a one-row query well within 800 ms.
            check_interval_ms: 1000,
            recheck_interval_ms: 200,
            failure_threshold: 3,
            query_timeout_ms: 800,
            ssh_timeout_ms: 2000,
            restart_tries: 2,
            restart_wait_ms: 30_000,
            apply_wait_ms: 60_000,
            hold_after_takeover_s: 3600,
            lag_alert_s: 60,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    /// Account the slave's checks use over TCP (minimal privileges).
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Monitor {{ user: {:?}, password: \"********\" }}",
            self.user
        )
    }
}

/// `[vote]`: the daemon's own vote and how it reaches the others.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoteConfig {
    /// Port of every voter (this daemon's, the peer's, the witness's).
    pub port: u16,
    /// The cluster's vote key (hex), shared with the peer and the witness.
    /// Empty: the vote is off (a configuration from before votes existed);
    /// the daemon then never takes over on its own.
    pub key: String,
    /// The lease this daemon grants a master that asks it.
    pub lease_ms: u64,
    /// How long the master may wait for a semi-synchronous slave before it
    /// goes on alone (recorded with a voter first).
    pub semi_sync_wait_ms: u64,
}

impl Default for VoteConfig {
    fn default() -> Self {
        VoteConfig {
            port: crate::vote::wire::DEFAULT_PORT,
            key: String::new(),
            lease_ms: crate::vote::lease::DEFAULT_LEASE_MS,
            semi_sync_wait_ms: 3000,
        }
    }
}

impl std::fmt::Debug for VoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VoteConfig {{ port: {}, key: \"********\", lease_ms: {}, semi_sync_wait_ms: {} }}",
            self.port, self.lease_ms, self.semi_sync_wait_ms
        )
    }
}

/// `[metrics]`: the daemon's Prometheus endpoint (`GET /metrics`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Off: no listener at all.
    pub enabled: bool,
    /// Loopback by default: a scraper elsewhere needs this changed (and a
    /// firewall rule), since the endpoint has no authentication.
    pub address: String,
    pub port: u16,
}

/// The endpoint's default port (Prometheus' exporter range; any free port works).
pub const DEFAULT_METRICS_PORT: u16 = 9407;

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            address: "127.0.0.1".into(),
            port: DEFAULT_METRICS_PORT,
        }
    }
}

impl MetricsConfig {
    /// host:port to listen on, with brackets around an IPv6 address.
    pub fn listen_address(&self) -> String {
        voter_address(&self.address, self.port)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// How an old master that still answers is fenced.
    #[serde(default = "default_fence")]
    pub fence: Fence,
    /// Run with the event in its environment (MYSQL_HA_EVENT, ...); empty: none.
    #[serde(default)]
    pub notify: Vec<String>,
    /// Run before a takeover from a master that does not answer (IPMI, a
    /// cloud API): exit 0 only once the old master can no longer acknowledge
    /// a write; anything else refuses the takeover (tried again at the next
    /// check). Gets MYSQL_HA_PEER and MYSQL_HA_TERM in its environment; at
    /// most 60 s. Empty: none (the lease and semi-sync are the fence).
    #[serde(default)]
    pub fence_command: Vec<String>,
    /// Whether a slave whose SQL thread stopped on an error may be promoted.
    #[serde(default)]
    pub broken_slave: BrokenSlave,
    pub node: NodeSection,
    pub cluster: ClusterAnswers,
    /// What an acknowledged commit means (replication.durability).
    #[serde(default = "default_durability")]
    pub durability: crate::answers::Durability,
    #[serde(default)]
    pub timings: Timings,
    pub monitor: Monitor,
    #[serde(default)]
    pub vote: VoteConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub tls: DaemonTls,
}

/// `[tls]`: how the daemon's checks reach the peer and the cluster address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonTls {
    /// CA certificates the peer's server certificate must chain to (its name
    /// or address checked too). Empty: plain text (a configuration from
    /// before TLS, or replication.tls = "off").
    pub ca_file: String,
}

/// A configuration written before durability existed ran asynchronously.
fn default_durability() -> crate::answers::Durability {
    crate::answers::Durability::Async
}

fn default_fence() -> Fence {
    Fence::StopServer
}

/// host:port, with brackets around an IPv6 address.
pub fn voter_address(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl ClusterConfig {
    pub fn load(path: &Path) -> Result<ClusterConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text).map_err(|message| Error::Config {
            path: path.to_path_buf(),
            message: format!(
                "{message}; fix the file (setup writes it) and send SIGHUP or restart the daemon"
            ),
        })
    }

    pub fn parse(text: &str) -> std::result::Result<ClusterConfig, String> {
        toml::from_str(text).map_err(|e| e.message().to_string())
    }

    pub fn to_toml(&self) -> Result<String> {
        let body = toml::to_string(self).map_err(|e| {
            Error::Internal(format!("writing {}: {e}", std::any::type_name::<Self>()))
        })?;
        Ok(format!(
            "# mysql-ha cluster daemon configuration (written by `mysql-ha setup`).\n\
             # Holds the monitor account's password: mode 0640, root and the cluster account.\n\
             # After a change: `kill -HUP` the daemon (or restart its service).\n\n{body}"
        ))
    }

    pub fn profile(&self) -> Result<Profile> {
        Profile::by_name(&self.node.profile)
    }

    /// The other voters: the peer's daemon and the witness, when there is one.
    pub fn other_voters(&self) -> Vec<crate::vote::lease::VoterAddress> {
        let mut voters = vec![crate::vote::lease::VoterAddress {
            role: "peer",
            address: voter_address(&self.node.peer, self.vote.port),
        }];
        if let Some(witness) = self.witness_voter() {
            voters.push(witness);
        }
        voters
    }

    pub fn witness_voter(&self) -> Option<crate::vote::lease::VoterAddress> {
        (!self.cluster.witness.is_empty()).then(|| crate::vote::lease::VoterAddress {
            role: "witness",
            address: voter_address(&self.cluster.witness, self.vote.port),
        })
    }

    /// The vote key's bytes; None when the vote is off.
    pub fn vote_key(&self) -> Option<Vec<u8>> {
        crate::vote::wire::key_bytes(&self.vote.key).ok()
    }

    /// The cluster address without its prefix length, when there is one.
    pub fn vip_address(&self) -> Option<&str> {
        if self.cluster.resource == crate::answers::Resource::Vip {
            self.cluster.vip.split('/').next()
        } else {
            None
        }
    }
}

/// What a takeover does when the slave's SQL thread had stopped on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BrokenSlave {
    /// No automatic takeover: an event says why (the default).
    #[default]
    Refuse,
    /// Promote what it has: every write since the break is lost.
    Promote,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_everything_and_defaults_fill_timings() {
        let config = ClusterConfig {
            node: NodeSection {
                address: "192.0.2.11".into(),
                peer: "192.0.2.12".into(),
                initial_role: Role::Master,
                profile: "debian-12".into(),
                peer_ssh_port: 22,
                mysql_port: 3306,
                binary: "/usr/sbin/mysql-ha".into(),
            },
            cluster: ClusterAnswers::default(),
            timings: Timings::default(),
            monitor: Monitor {
                user: "mysqlha_mon".into(),
                password: "secret-secret-1".into(),
            },
            fence: Fence::StopServer,
            notify: vec![],
            fence_command: vec![],
            broken_slave: Default::default(),
            durability: crate::answers::Durability::SemiSync,
            vote: VoteConfig {
                key: "00112233445566778899aabbccddeeff".into(),
                ..VoteConfig::default()
            },
            tls: DaemonTls {
                ca_file: "/etc/ssl/mysql-ha/ca.pem".into(),
            },
            metrics: MetricsConfig {
                enabled: false,
                address: "::1".into(),
                port: 9999,
            },
        };
        let text = config.to_toml().unwrap();
        assert_eq!(ClusterConfig::parse(&text).unwrap(), config);
        assert!(!format!("{config:?}").contains("secret-secret-1"));
        assert!(!format!("{config:?}").contains("00112233445566778899"));
        let without_timings: String = text.split("[timings]").next().unwrap().to_string()
            + &text[text.find("[monitor]").unwrap()..];
        let parsed = ClusterConfig::parse(&without_timings).unwrap();
        assert_eq!(parsed.timings.failure_threshold, 3);
        assert!(ClusterConfig::parse("[node]\naddress = 1\n").is_err());
        assert_eq!(parsed.metrics, config.metrics);
        let without_metrics = text.split("[metrics]").next().unwrap();
        let parsed = ClusterConfig::parse(without_metrics).unwrap();
        assert_eq!(parsed.metrics, MetricsConfig::default());
        assert_eq!(parsed.metrics.listen_address(), "127.0.0.1:9407");
        assert_eq!(config.metrics.listen_address(), "[::1]:9999");
    }
}
