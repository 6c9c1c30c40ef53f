//! The cluster account: a system account on both nodes with an ed25519 key
//! authorized on the peer for the peer's address only, the peer's host key
//! pinned, and a sudoers allowlist of exactly the commands the daemon runs as
//! root. Every file goes through the plan (backed up, journaled, undone by
//! rollback); the account itself is created only when missing and kept by a
//! rollback. See docs/cluster-access.md.

pub mod agent;
mod check;
pub mod keys;
mod node_state;
pub mod sudoers;

use std::path::PathBuf;

use crate::mycnf::edit::FileEdit;
use crate::operation::pair::{Member, Pair};
use crate::operation::plan::{Change, NodeFile, Side, StepPlan};
use crate::privileged;
use crate::{Error, Result};

pub use agent::PASSPHRASE_FILE;
pub use check::check;
pub(crate) use node_state::{account_home, address_of};
use node_state::{read_state, text, NodeState};
pub use sudoers::SUDOERS_FILE;

/// Where a new cluster account's home goes (`/var/lib/ACCOUNT`).
pub const HOME_PARENT: &str = "/var/lib";
pub(crate) const HOST_KEY: &str = "/etc/ssh/ssh_host_ed25519_key.pub";
/// The comment setup gives the cluster account it creates: preflight
/// refuses an existing account without it (someone else's account).
pub const ACCOUNT_COMMENT: &str = "mysql-ha cluster daemon";

/// The account's paths on one node.
pub struct AccountPaths {
    pub home: PathBuf,
}

impl AccountPaths {
    pub fn ssh_dir(&self) -> PathBuf {
        self.home.join(".ssh")
    }
    pub fn private_key(&self) -> PathBuf {
        self.ssh_dir().join("id_ed25519")
    }
    pub fn public_key(&self) -> PathBuf {
        self.ssh_dir().join("id_ed25519.pub")
    }
    pub fn authorized_keys(&self) -> PathBuf {
        self.ssh_dir().join("authorized_keys")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.ssh_dir().join("known_hosts")
    }
    pub fn ssh_config(&self) -> PathBuf {
        self.ssh_dir().join("config")
    }
}

fn command(argv: &[&str], why: &str) -> Change {
    Change::command(argv, why)
}

fn write(
    path: PathBuf,
    before: Option<Vec<u8>>,
    after: Vec<u8>,
    mode: u32,
    owner: &str,
    secret: bool,
) -> Change {
    Change::WriteFile(NodeFile {
        edit: FileEdit {
            path,
            before,
            after,
        },
        mode,
        owner: owner.to_string(),
        group: owner.to_string(),
        secret,
        validate: None,
    })
}

/// The account, its folder, its key pair and (with a passphrase) the
/// root-only passphrase file. Returns the step and the public key in use.
fn account_step(
    state: &NodeState,
    side: Side,
    account: &str,
    passphrase: &str,
) -> Result<(StepPlan, String)> {
    let mut changes = Vec::new();
    let mut summary = Vec::new();
    let home = state.paths.home.to_string_lossy().into_owned();
    let ssh_dir = state.paths.ssh_dir().to_string_lossy().into_owned();
    if state.account_exists {
        summary.push(format!("account {account} exists (home {home})"));
    } else {
        changes.push(command(
            &[
                "useradd",
                "--system",
                "--user-group",
                "--home-dir",
                &home,
                "--create-home",
                "--shell",
                "/bin/sh",
                "--comment",
                ACCOUNT_COMMENT,
                account,
            ],
            "the cluster account: system account, no password (locked), its own home",
        ));
    }
    if !state.ssh_dir_exists {
        changes.push(command(
            &[
                "install", "-d", "-m", "700", "-o", account, "-g", account, &ssh_dir,
            ],
            "the account's ssh folder",
        ));
    }
    // The passphrase file says how the key is protected: empty = no passphrase.
    let stored = text(&state.passphrase_file);
    let stored = stored.trim_end_matches(['\n', '\r']);
    let wanted_file = if passphrase.is_empty() {
        Vec::new()
    } else {
        format!("{passphrase}\n").into_bytes()
    };
    let key_in_place = state.private_key.is_some()
        && state
            .public_key
            .as_ref()
            .and_then(|k| keys::key_body(&String::from_utf8_lossy(k)))
            .is_some()
        && stored == passphrase;
    if (state.passphrase_file.is_some() || !passphrase.is_empty())
        && state.passphrase_file.as_deref() != Some(wanted_file.as_slice())
    {
        if !state.config_dir_exists {
            changes.push(command(
                &["install", "-d", "-m", "755", "/etc/mysql-ha"],
                "mysql-ha's configuration folder",
            ));
        }
        changes.push(write(
            PathBuf::from(PASSPHRASE_FILE),
            state.passphrase_file.clone(),
            wanted_file,
            0o600,
            "root",
            true,
        ));
    }
    let public = if key_in_place {
        summary.push(format!(
            "key {} in place{}",
            state.paths.private_key().display(),
            if passphrase.is_empty() {
                ""
            } else {
                " (encrypted)"
            }
        ));
        text(&state.public_key).trim().to_string()
    } else {
        let pair = keys::generate(&format!("{account}@{}", state.hostname), passphrase)?;
        changes.push(write(
            state.paths.private_key(),
            state.private_key.clone(),
            pair.private,
            0o600,
            account,
            true,
        ));
        changes.push(write(
            state.paths.public_key(),
            state.public_key.clone(),
            format!("{}\n", pair.public).into_bytes(),
            0o644,
            account,
            false,
        ));
        summary.push(format!(
            "new ed25519 key{}",
            if passphrase.is_empty() {
                " (no passphrase)"
            } else {
                " encrypted with cluster.key_passphrase"
            }
        ));
        pair.public
    };
    Ok((
        StepPlan {
            name: "cluster account",
            side,
            changes,
            summary,
        },
        public,
    ))
}

/// The account's ssh client settings: only pinned hosts, only its own key,
/// never a prompt, and known_hosts left as setup wrote it.
fn ssh_config(paths: &AccountPaths) -> String {
    format!(
        "# Written by mysql-ha setup for the cluster daemon's ssh connections.\n\
         Host *\n\
         \x20   StrictHostKeyChecking yes\n\
         \x20   UpdateHostKeys no\n\
         \x20   BatchMode yes\n\
         \x20   IdentitiesOnly yes\n\
         \x20   IdentityFile {}\n",
        paths.private_key().display()
    )
}

/// This node trusts the peer: the peer's key may log in from the peer's
/// address only, and the peer's host key is pinned.
fn trust_step(
    state: &NodeState,
    peer: &NodeState,
    peer_public: &str,
    side: Side,
    account: &str,
) -> Result<StepPlan> {
    let mut changes = Vec::new();
    let marker = format!("mysql-ha:{account}@{}", peer.address);
    let line =
        keys::authorized_line(peer_public, &peer.address, &marker).ok_or_else(|| Error::Node {
            node: peer.label.clone(),
            message: format!("the public key of {account} cannot be read"),
        })?;
    let authorized = keys::replace_marked_line(&text(&state.authorized_keys), &marker, &line);
    if state.authorized_keys.as_deref() != Some(authorized.as_bytes()) {
        changes.push(write(
            state.paths.authorized_keys(),
            state.authorized_keys.clone(),
            authorized.into_bytes(),
            0o600,
            account,
            false,
        ));
    }
    let mut names = vec![
        peer.hostname.clone(),
        peer.label.clone(),
        peer.address.clone(),
    ];
    names.retain(|n| !n.is_empty());
    names.dedup();
    let mut unique = Vec::new();
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    let known = keys::pin_known_host(&text(&state.known_hosts), &unique, &peer.host_key)
        .ok_or_else(|| Error::Node {
            node: peer.label.clone(),
            message: "its ssh host key cannot be read".into(),
        })?;
    if state.known_hosts.as_deref() != Some(known.as_bytes()) {
        changes.push(write(
            state.paths.known_hosts(),
            state.known_hosts.clone(),
            known.into_bytes(),
            0o644,
            account,
            false,
        ));
    }
    let config = ssh_config(&state.paths);
    if state.ssh_config.as_deref() != Some(config.as_bytes()) {
        changes.push(write(
            state.paths.ssh_config(),
            state.ssh_config.clone(),
            config.into_bytes(),
            0o644,
            account,
            false,
        ));
    }
    Ok(StepPlan {
        name: "cluster account ssh trust",
        side,
        changes,
        summary: vec![
            format!(
                "{account}@{} may log in from {} only (restrict: no forwarding, no pty)",
                state.label, peer.address
            ),
            format!("host key of {} pinned as {}", peer.label, unique.join(", ")),
        ],
    })
}

fn sudo_step(
    member: &Member,
    state: &NodeState,
    pair_cluster: &crate::answers::ClusterAnswers,
    binary: &str,
) -> Result<StepPlan> {
    let account = &pair_cluster.account;
    let list = privileged::allowlist(&member.profile, pair_cluster, binary);
    let wanted = sudoers::render(account, &list)?;
    let mut changes = Vec::new();
    if state.sudoers.as_deref() != Some(wanted.as_bytes()) {
        changes.push(Change::WriteFile(NodeFile {
            edit: FileEdit {
                path: PathBuf::from(SUDOERS_FILE),
                before: state.sudoers.clone(),
                after: wanted.into_bytes(),
            },
            mode: 0o440,
            owner: "root".into(),
            group: "root".into(),
            secret: false,
            validate: Some(vec!["visudo".into(), "-cf".into(), "{}".into()]),
        }));
    }
    Ok(StepPlan {
        name: "cluster account sudo allowlist",
        side: member.side,
        changes,
        summary: list
            .iter()
            .map(|c| format!("may run as root: {}", c.argv.join(" ")))
            .collect(),
    })
}

/// The steps that set up the cluster account on both nodes.
pub fn steps(pair: &mut Pair) -> Result<Vec<StepPlan>> {
    let cluster = pair.answers.cluster.clone();
    let binary = pair.answers.install.node_binary();
    let account = cluster.account.as_str();
    let master = read_state(&pair.master, account)?;
    let slave = read_state(&pair.slave, account)?;
    let (master_account, master_public) =
        account_step(&master, Side::Master, account, &cluster.key_passphrase)?;
    let (slave_account, slave_public) =
        account_step(&slave, Side::Slave, account, &cluster.key_passphrase)?;
    Ok(vec![
        master_account,
        slave_account,
        trust_step(&master, &slave, &slave_public, Side::Master, account)?,
        trust_step(&slave, &master, &master_public, Side::Slave, account)?,
        sudo_step(&pair.master, &master, &cluster, binary)?,
        sudo_step(&pair.slave, &slave, &cluster, binary)?,
    ])
}
