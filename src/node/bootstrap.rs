//! Trust bootstrap for the installer itself: when a node refuses the
//! installer's key (or its host key is not pinned yet) and the answers give
//! that node's password, the installer pins the node's host key (showing its
//! fingerprint), logs in once with the password through SSH_ASKPASS, installs
//! its own public key in the login account's authorized_keys (journaled in a
//! run of its own, so `mysql-ha rollback` removes it) and goes on by key.
//! The password is never stored and never on a command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Node, SshNode};
use crate::backup::{self, Journal};
use crate::mycnf::edit::FileEdit;
use crate::{Error, Result};

/// What the bootstrap did, for the preflight report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrapped {
    pub host: String,
    /// `ssh-keygen -l` of the host key now pinned (e.g. "256 SHA256:... (ED25519)").
    pub fingerprint: String,
    /// The host key was pinned by this bootstrap (it was unknown before).
    pub pinned_now: bool,
    /// Run whose journal records the installer key added on the node.
    pub key_run: Option<String>,
}

fn home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.dir)
        .ok_or_else(|| Error::Usage("cannot tell this account's home folder: set HOME".into()))
}

fn run_local(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Result<super::Output> {
    super::run_to_end(Command::new(program).args(args), program, stdin)
}

/// How known_hosts names a host on a port.
pub fn known_hosts_pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Fingerprint of a known_hosts or public key line (`ssh-keygen -lf -`).
pub fn fingerprint(key_line: &str) -> Result<String> {
    let out = run_local("ssh-keygen", &["-l", "-f", "-"], Some(key_line.as_bytes()))?;
    if !out.success() {
        return Err(Error::Failed {
            what: "ssh-keygen -l".into(),
            status: crate::error::exit_status(out.code),
            detail: format!(": it cannot read the key `{}`", key_line.trim()),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Pins the node's ed25519 host key in the installer's known_hosts unless a
/// key is pinned already; returns its fingerprint and whether it was new.
fn pin_host_key(host: &str, port: u16) -> Result<(String, bool)> {
    let ssh_dir = home()?.join(".ssh");
    let known_hosts = ssh_dir.join("known_hosts");
    let pattern = known_hosts_pattern(host, port);
    let known = known_hosts.to_string_lossy().into_owned();
    let found = run_local("ssh-keygen", &["-F", &pattern, "-f", &known], None)?;
    let pinned_line = String::from_utf8_lossy(&found.stdout)
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string);
    if let Some(line) = pinned_line {
        return Ok((fingerprint(&line)?, false));
    }
    let port_text = port.to_string();
    let scan = run_local(
        "ssh-keyscan",
        &["-T", "10", "-t", "ed25519", "-p", &port_text, host],
        None,
    )?;
    let line = String::from_utf8_lossy(&scan.stdout)
        .lines()
        .find(|l| !l.starts_with('#') && l.split_whitespace().count() >= 3)
        .map(str::to_string)
        .ok_or_else(|| Error::Ssh {
            host: host.to_string(),
            message:
                "ssh-keyscan got no ed25519 host key: check the address and that sshd runs there"
                    .into(),
        })?;
    let key: Vec<&str> = line.split_whitespace().skip(1).take(2).collect();
    let entry = format!("{pattern} {}\n", key.join(" "));
    let print = fingerprint(&entry)?;
    std::fs::create_dir_all(&ssh_dir).map_err(|e| Error::io(&ssh_dir, e))?;
    append(&known_hosts, entry.as_bytes(), 0o644)?;
    Ok((print, true))
}

fn append(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))
}

/// The installer's public key, made (ed25519, no passphrase) when it has none.
fn installer_public_key() -> Result<String> {
    let ssh_dir = home()?.join(".ssh");
    for name in ["id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"] {
        if let Ok(text) = std::fs::read_to_string(ssh_dir.join(name)) {
            if !text.trim().is_empty() {
                return Ok(text.trim().to_string());
            }
        }
    }
    std::fs::create_dir_all(&ssh_dir).map_err(|e| Error::io(&ssh_dir, e))?;
    let key = ssh_dir.join("id_ed25519");
    let key_text = key.to_string_lossy().into_owned();
    let out = run_local(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "mysql-ha installer",
            "-f",
            &key_text,
        ],
        None,
    )?;
    if !out.success() {
        return Err(Error::Command {
            host: "local".into(),
            command: format!("ssh-keygen -f {key_text}"),
            status: crate::error::exit_status(out.code),
            detail: crate::error::stderr_detail(&out.stderr),
        });
    }
    let public = key.with_extension("pub");
    let text = std::fs::read_to_string(&public).map_err(|e| Error::io(&public, e))?;
    Ok(text.trim().to_string())
}

/// `authorized_keys` with `key` added unless the same key (type and data) is
/// there already.
pub fn with_authorized_key(before: Option<&[u8]>, key: &str) -> Option<Vec<u8>> {
    let text = before
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let wanted: Vec<&str> = key.split_whitespace().take(2).collect();
    let present = text.lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        words.windows(2).any(|w| w == wanted.as_slice())
    });
    if present {
        return None;
    }
    let mut after = text;
    if !after.is_empty() && !after.ends_with('\n') {
        after.push('\n');
    }
    after.push_str(key);
    after.push('\n');
    Some(after.into_bytes())
}

fn install_key(node: &SshNode, key: &str) -> Result<Option<String>> {
    let home = node.run(&["sh", "-c", "printf %s \"$HOME\""], None)?;
    let home = home.stdout_text();
    if !home.starts_with('/') {
        return Err(Error::Ssh {
            host: node.label().to_string(),
            message: "cannot tell the login account's home folder".into(),
        });
    }
    let ssh_dir = Path::new(&home).join(".ssh");
    let path = ssh_dir.join("authorized_keys");
    let before = node.read(&path)?;
    let Some(after) = with_authorized_key(before.as_deref(), key) else {
        return Ok(None);
    };
    if node.stat(&ssh_dir)?.is_none() {
        node.create_dir_all(&ssh_dir, 0o700)?;
    }
    let ids = node.run(&["sh", "-c", "echo \"$(id -u) $(id -g)\""], None)?;
    let ids = ids.stdout_text();
    let mut ids = ids.split_whitespace().filter_map(|w| w.parse::<u32>().ok());
    let (uid, gid) = (ids.next().unwrap_or(0), ids.next().unwrap_or(0));
    let run_id = backup::new_run_id();
    let mut journal = Journal::create(node, &run_id)?;
    let edit = FileEdit {
        path,
        before,
        after,
    };
    backup::apply_file_edit_as(node, &mut journal, &edit, Some((0o600, uid, gid)))?;
    Ok(Some(run_id))
}

/// Connects by key; when that fails and a password is given, bootstraps
/// trust first and connects by key again.
pub fn connect(
    host: &str,
    user: &str,
    port: u16,
    password: &str,
) -> Result<(SshNode, Option<Bootstrapped>)> {
    let first = match SshNode::connect(host, user, port) {
        Ok(node) => return Ok((node, None)),
        Err(err) => err,
    };
    if password.is_empty() {
        return Err(first);
    }
    let (fingerprint, pinned_now) = pin_host_key(host, port)?;
    let key = installer_public_key()?;
    let key_run = {
        let by_password = SshNode::connect_with_password(host, user, port, password)?;
        install_key(&by_password, &key)?
    };
    let node = SshNode::connect(host, user, port).map_err(|err| Error::Ssh {
        host: host.to_string(),
        message: format!(
            "the installer's key was installed after a password login, but a key login still fails: {err}"
        ),
    })?;
    Ok((
        node,
        Some(Bootstrapped {
            host: host.to_string(),
            fingerprint,
            pinned_now,
            key_run,
        }),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn authorized_key_is_added_once() {
        let key = "ssh-ed25519 AAAAC3Nza mysql-ha installer";
        let after = with_authorized_key(Some(b"ssh-rsa BBBB other"), key).unwrap();
        assert_eq!(
            String::from_utf8(after.clone()).unwrap(),
            "ssh-rsa BBBB other\nssh-ed25519 AAAAC3Nza mysql-ha installer\n"
        );
        assert_eq!(with_authorized_key(Some(&after), key), None);
        // The same key with options or another comment counts as present.
        assert_eq!(
            with_authorized_key(Some(b"restrict ssh-ed25519 AAAAC3Nza x\n"), key),
            None
        );
        assert!(with_authorized_key(None, key).is_some());
    }

    #[test]
    fn port_goes_into_the_known_hosts_name() {
        assert_eq!(known_hosts_pattern("192.0.2.11", 22), "192.0.2.11");
        assert_eq!(known_hosts_pattern("db1", 2222), "[db1]:2222");
    }
}
