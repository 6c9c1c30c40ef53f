//! What a node has now, read once for the plan: the account, its files,
//! the node's host key and the sudoers file.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use super::{keys, AccountPaths, HOME_PARENT, HOST_KEY, PASSPHRASE_FILE, SUDOERS_FILE};
use crate::node::Node;
use crate::operation::pair::Member;
use crate::{Error, Result};

/// Home of `account` on the node, or None when the account does not exist.
pub(crate) fn account_home(node: &dyn Node, account: &str) -> Result<Option<PathBuf>> {
    let out = node.run(&["getent", "passwd", account], None)?;
    if !out.success() {
        return Ok(None);
    }
    Ok(out
        .stdout_text()
        .trim()
        .split(':')
        .nth(5)
        .filter(|h| h.starts_with('/'))
        .map(PathBuf::from))
}

pub(super) fn text(bytes: &Option<Vec<u8>>) -> String {
    bytes
        .as_deref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// The address the peer's connections come from (`from=` wants an address).
pub(crate) fn address_of(host: &str) -> String {
    if host.parse::<IpAddr>().is_ok() {
        return host.to_string();
    }
    (host, 22)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| host.to_string())
}

/// What one node has now, read once for the plan.
pub(super) struct NodeState {
    pub(super) label: String,
    pub(super) address: String,
    pub(super) account_exists: bool,
    pub(super) paths: AccountPaths,
    pub(super) ssh_dir_exists: bool,
    pub(super) hostname: String,
    pub(super) host_key: String,
    pub(super) private_key: Option<Vec<u8>>,
    pub(super) public_key: Option<Vec<u8>>,
    pub(super) passphrase_file: Option<Vec<u8>>,
    pub(super) config_dir_exists: bool,
    pub(super) authorized_keys: Option<Vec<u8>>,
    pub(super) known_hosts: Option<Vec<u8>>,
    pub(super) ssh_config: Option<Vec<u8>>,
    pub(super) sudoers: Option<Vec<u8>>,
}

pub(super) fn read_state(member: &Member, account: &str) -> Result<NodeState> {
    let node = member.access.node();
    let home = account_home(node, account)?;
    let account_exists = home.is_some();
    let paths = AccountPaths {
        home: home.unwrap_or_else(|| Path::new(HOME_PARENT).join(account)),
    };
    let hostname = node
        .run(&["hostname"], None)?
        .stdout_text()
        .trim()
        .to_string();
    let host_key = text(&node.read(Path::new(HOST_KEY))?);
    if keys::key_body(&host_key).is_none() {
        return Err(Error::Ssh {
            host: member.label().to_string(),
            message: format!(
                "no ed25519 host key in {HOST_KEY}: the peer cannot pin this node (run ssh-keygen -A there)"
            ),
        });
    }
    let passphrase_path = Path::new(PASSPHRASE_FILE);
    Ok(NodeState {
        label: member.label().to_string(),
        address: address_of(&member.answers.host),
        account_exists,
        ssh_dir_exists: node.stat(&paths.ssh_dir())?.is_some(),
        hostname,
        host_key: host_key.trim().to_string(),
        private_key: node.read(&paths.private_key())?,
        public_key: node.read(&paths.public_key())?,
        passphrase_file: node.read(passphrase_path)?,
        config_dir_exists: node
            .stat(passphrase_path.parent().unwrap_or(Path::new("/")))?
            .is_some(),
        authorized_keys: node.read(&paths.authorized_keys())?,
        known_hosts: node.read(&paths.known_hosts())?,
        ssh_config: node.read(&paths.ssh_config())?,
        sudoers: node.read(Path::new(SUDOERS_FILE))?,
        paths,
    })
}
