//! Reaching the other node: ssh as the daemon's own account (root's keys in
//! the lab; the cluster account's key, pinned host key and `restrict` entry
//! once cluster access is set up), batch mode, bounded by the ssh timeout.
//! This is the one place that knows how the peer is reached.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::config::ClusterConfig;
use super::exec::{is_root, run_limited};
use crate::node::ssh::shell_quote;
use crate::node::Output;
use crate::{Error, Result};

pub struct Peer {
    host: String,
    port: u16,
    timeout: Duration,
    /// The cluster account and its ssh folder, once setup gave it a key:
    /// the peer is then reached as that account (its key is the one the peer
    /// authorizes from this address, its root commands go through sudo).
    account: Option<(String, PathBuf)>,
}

/// The cluster account's ssh folder when its key exists on this node.
fn account_ssh(account: &str) -> Option<(String, PathBuf)> {
    let user = nix::unistd::User::from_name(account).ok().flatten()?;
    let ssh = user.dir.join(".ssh");
    ssh.join("id_ed25519")
        .exists()
        .then(|| (account.to_string(), ssh))
}

impl Peer {
    pub fn new(config: &ClusterConfig) -> Peer {
        Peer {
            host: config.node.peer.clone(),
            port: config.node.peer_ssh_port,
            timeout: Duration::from_millis(config.timings.ssh_timeout_ms),
            account: account_ssh(&config.cluster.account),
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Runs `argv` on the peer; an Err means the peer could not be reached
    /// (or did not answer in time), an Ok carries the command's own status.
    pub fn run(&self, argv: &[&str], limit: Duration) -> Result<Output> {
        let connect_s = (self.timeout.as_millis() as u64).div_ceil(1000).max(1);
        let mut command = Command::new("ssh");
        command
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
            .arg("-o")
            .arg(format!("ConnectTimeout={connect_s}"))
            .args(["-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2"])
            // One warm connection for the per-check reads of the peer's
            // state: no key exchange every second, and a fence or a restart
            // does not pay a new connection either.
            .args(["-o", "ControlMaster=auto", "-o", "ControlPersist=15"])
            .arg("-o")
            .arg(format!(
                "ControlPath={}/ssh-peer-%i-%C",
                super::state::STATE_DIR
            ))
            .args(["-p", &self.port.to_string()]);
        match &self.account {
            Some((account, ssh)) => {
                command
                    .arg("-i")
                    .arg(ssh.join("id_ed25519"))
                    .args(["-o", "IdentitiesOnly=yes"])
                    .arg("-o")
                    .arg(format!(
                        "UserKnownHostsFile={}",
                        ssh.join("known_hosts").display()
                    ))
                    .arg(format!("{account}@{}", self.host));
            }
            None => {
                command.arg(&self.host);
            }
        }
        command.arg("--").arg(
            argv.iter()
                .map(|w| shell_quote(w))
                .collect::<Vec<_>>()
                .join(" "),
        );
        let out = run_limited(command, limit)?;
        if out.code == Some(255) {
            return Err(Error::Ssh {
                host: self.host.clone(),
                message: crate::error::stderr_detail(&out.stderr),
            });
        }
        Ok(out)
    }

    /// Answers at all (the host is up and sshd runs).
    pub fn reachable(&self) -> bool {
        self.run(&["true"], self.timeout)
            .map(|o| o.success())
            .unwrap_or(false)
    }

    /// Runs an allowlisted root command on the peer (through sudo there
    /// when the daemon is not root).
    pub fn run_privileged(&self, argv: &[String], limit: Duration) -> Result<Output> {
        let mut full: Vec<&str> = Vec::new();
        if !is_root() || self.account.is_some() {
            full.extend(["sudo", "-n"]);
        }
        full.extend(argv.iter().map(String::as_str));
        self.run(&full, limit)
    }

    /// Contents of a (world-readable) daemon file on the peer; None when absent.
    pub fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let out = self.run(&["cat", path], self.timeout)?;
        if out.success() {
            Ok(Some(out.stdout))
        } else {
            Ok(None)
        }
    }
}
