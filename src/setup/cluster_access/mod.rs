//! The cluster account: a system account on both nodes with an ed25519 key
//! authorized on the peer for the peer's address only, the peer's host key
//! pinned, and a sudoers allowlist of exactly the commands the daemon runs as
//! root. Every file goes through the plan (backed up, journaled, undone by
//! rollback); the account itself is created only when missing and kept by a
//! rollback. See docs/cluster-access.md.

pub mod agent;
pub mod keys;
pub mod sudoers;

use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use super::pair::{Member, Pair};
use super::plan::{Change, NodeFile, Side, StepPlan};
use super::preflight::{Finding, Severity};
use crate::mycnf::edit::FileEdit;
use crate::node::Node;
use crate::privileged;
use crate::{Error, Result};

pub use agent::PASSPHRASE_FILE;
pub use sudoers::SUDOERS_FILE;

/// Where a new cluster account's home goes (`/var/lib/ACCOUNT`).
pub const HOME_PARENT: &str = "/var/lib";
const HOST_KEY: &str = "/etc/ssh/ssh_host_ed25519_key.pub";

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

/// Home of `account` on the node, or None when the account does not exist.
fn account_home(node: &dyn Node, account: &str) -> Result<Option<PathBuf>> {
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

fn text(bytes: &Option<Vec<u8>>) -> String {
    bytes
        .as_deref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// The address the peer's connections come from (`from=` wants an address).
fn address_of(host: &str) -> String {
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
struct NodeState {
    label: String,
    address: String,
    account_exists: bool,
    paths: AccountPaths,
    ssh_dir_exists: bool,
    hostname: String,
    host_key: String,
    private_key: Option<Vec<u8>>,
    public_key: Option<Vec<u8>>,
    passphrase_file: Option<Vec<u8>>,
    config_dir_exists: bool,
    authorized_keys: Option<Vec<u8>>,
    known_hosts: Option<Vec<u8>>,
    ssh_config: Option<Vec<u8>>,
    sudoers: Option<Vec<u8>>,
}

fn read_state(member: &Member, account: &str) -> Result<NodeState> {
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

fn command(argv: &[&str], why: &str) -> Change {
    Change::Command {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        why: why.to_string(),
    }
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
                "mysql-ha cluster daemon",
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
    let line = keys::authorized_line(peer_public, &peer.address, &marker).ok_or_else(|| {
        Error::Other(format!(
            "unreadable public key of {account} on {}",
            peer.label
        ))
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
        .ok_or_else(|| Error::Other(format!("unreadable host key of {}", peer.label)))?;
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
) -> Result<StepPlan> {
    let account = &pair_cluster.account;
    let list = privileged::allowlist(&member.profile, pair_cluster);
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
        sudo_step(&pair.master, &master, &cluster)?,
        sudo_step(&pair.slave, &slave, &cluster)?,
    ])
}

/// Logs in from `member` to `peer` as the account, by key, with no prompt.
/// With a passphrase the key is unlocked through SSH_ASKPASS from the
/// root-only passphrase file (as the daemon's agent is).
const LOGIN_CHECK: &str = r#"acct=$1 peer=$2 key=$3 known=$4 pass=$5
opts="-o StrictHostKeyChecking=yes -o UpdateHostKeys=no -o ConnectTimeout=5 -o IdentitiesOnly=yes -o UserKnownHostsFile=$known -i $key"
if [ -s "$pass" ]; then
  d=$(mktemp -d) || exit 1
  trap 'rm -rf "$d"' EXIT
  printf '#!/bin/sh\nexec cat %s\n' "$pass" > "$d/askpass" && chmod 700 "$d/askpass" || exit 1
  SSH_ASKPASS="$d/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh $opts -o BatchMode=no -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no "$acct@$peer" true </dev/null
else
  runuser -u "$acct" -- ssh $opts -o BatchMode=yes "$acct@$peer" true </dev/null
fi
rc=$?
# 255 would read as a failure of the installer's own connection.
[ "$rc" -eq 0 ] || { echo "ssh exit $rc" >&2; exit 1; }"#;

/// sudo is there and reads the drop-in folder the allowlist goes to.
const SUDO_CHECK: &str = r#"command -v sudo >/dev/null || { echo "sudo is not installed"; exit 1; }
command -v visudo >/dev/null || [ -x /usr/sbin/visudo ] || { echo "visudo is not installed"; exit 1; }
[ -d /etc/sudoers.d ] || { echo "/etc/sudoers.d does not exist"; exit 1; }
grep -Eq '^[[:space:]]*[@#]includedir[[:space:]]+/etc/sudoers.d' /etc/sudoers || { echo "/etc/sudoers does not include /etc/sudoers.d"; exit 1; }"#;

fn check_member(
    member: &Member,
    peer: &Member,
    cluster: &crate::answers::ClusterAnswers,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let node = member.access.node();
    let label = member.label().to_string();
    let account = cluster.account.as_str();
    let mut push = |severity, check, message: String| {
        findings.push(Finding {
            severity,
            node: label.clone(),
            check,
            message,
        });
    };
    let sudo = node.run(&["sh", "-c", SUDO_CHECK], None)?;
    if !sudo.success() {
        push(
            Severity::Fatal,
            "cluster sudo",
            format!(
                "{}: install sudo (with visudo) and make /etc/sudoers read /etc/sudoers.d (`@includedir /etc/sudoers.d`)",
                sudo.stdout_text().trim()
            ),
        );
    }
    let Some(home) = account_home(node, account)? else {
        push(
            Severity::Ok,
            "cluster account",
            format!("{account} does not exist yet: setup creates it"),
        );
        return Ok(());
    };
    let paths = AccountPaths { home };
    if node.stat(&paths.private_key())?.is_none() {
        push(
            Severity::Ok,
            "cluster account",
            format!("{account} has no key yet: setup makes one"),
        );
        return Ok(());
    }
    let peer_address = address_of(&peer.answers.host);
    let key = paths.private_key().to_string_lossy().into_owned();
    let known = paths.known_hosts().to_string_lossy().into_owned();
    let out = node.run(
        &[
            "sh",
            "-c",
            LOGIN_CHECK,
            "sh",
            account,
            &peer_address,
            &key,
            &known,
            PASSPHRASE_FILE,
        ],
        None,
    )?;
    if out.success() {
        push(
            Severity::Ok,
            "cluster ssh",
            format!("{account} logs in to {} by key, no prompt", peer.label()),
        );
    } else {
        push(
            Severity::Warning,
            "cluster ssh",
            format!(
                "{account} cannot log in to {} by key without a prompt: {}; run setup again",
                peer.label(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        );
    }
    let listed = node.run(&["runuser", "-u", account, "--", "sudo", "-n", "-l"], None)?;
    let mut have = sudoers::parse_sudo_list(&listed.stdout_text());
    let mut want: Vec<String> = privileged::allowlist(&member.profile, cluster)
        .iter()
        .map(|c| sudoers::listed_form(&c.argv))
        .collect();
    have.sort();
    want.sort();
    if have == want {
        push(
            Severity::Ok,
            "cluster sudo",
            format!(
                "sudo -n -l lists exactly the {} allowed commands",
                want.len()
            ),
        );
    } else {
        let extra: Vec<&String> = have.iter().filter(|c| !want.contains(c)).collect();
        let missing: Vec<&String> = want.iter().filter(|c| !have.contains(c)).collect();
        push(Severity::Warning, "cluster sudo", format!(
            "sudo -n -l for {account} differs from the allowlist: extra {extra:?}, missing {missing:?}; see {SUDOERS_FILE} and /etc/sudoers"
        ));
    }
    Ok(())
}

/// Preflight findings: how the installer reached each node, and whether the
/// cluster account works (login to the peer by key, exact sudo list).
pub fn check(pair: &Pair) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for member in [&pair.master, &pair.slave] {
        if let Some(trust) = &member.trust {
            findings.push(Finding {
                severity: Severity::Ok,
                node: member.label().to_string(),
                check: "installer trust",
                message: format!(
                    "host key {}{}; installer key {}",
                    trust.fingerprint,
                    if trust.pinned_now { " pinned now (compare with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the node)" } else { " already pinned" },
                    match &trust.key_run {
                        Some(run) => format!("installed after one password login (run {run}; `mysql-ha rollback {run}` on the node removes it)"),
                        None => "was already authorized".to_string(),
                    }
                ),
            });
        }
    }
    check_member(
        &pair.master,
        &pair.slave,
        &pair.answers.cluster,
        &mut findings,
    )?;
    check_member(
        &pair.slave,
        &pair.master,
        &pair.answers.cluster,
        &mut findings,
    )?;
    Ok(findings)
}
