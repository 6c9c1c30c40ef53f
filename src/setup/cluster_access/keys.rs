//! The cluster account's ssh key pair and the lines that trust it: made on
//! the installer (so the files reach the nodes through the journaled plan and
//! a rollback removes them), authorized on the peer for one address only.

use std::process::{Command, Stdio};

use crate::node::askpass::Askpass;
use crate::{Error, Result};

pub struct KeyPair {
    pub private: Vec<u8>,
    pub public: String,
}

/// A fresh ed25519 pair; encrypted with `passphrase` when it is not empty
/// (given to ssh-keygen through SSH_ASKPASS, never on its command line).
pub fn generate(comment: &str, passphrase: &str) -> Result<KeyPair> {
    let dir = tempfile::Builder::new()
        .prefix("mysql-ha-key.")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let path = dir.path().join("id_ed25519");
    let mut command = Command::new("ssh-keygen");
    command
        .args(["-q", "-t", "ed25519", "-C", comment, "-f"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let askpass = if passphrase.is_empty() {
        command.args(["-N", ""]);
        None
    } else {
        let askpass = Askpass::new(passphrase, None)?;
        askpass.apply(&mut command);
        Some(askpass)
    };
    let out = command.output().map_err(|e| Error::io("ssh-keygen", e))?;
    drop(askpass);
    if !out.status.success() {
        return Err(Error::Command {
            host: "local".into(),
            command: "ssh-keygen -t ed25519 (cluster account key)".into(),
            status: format!("{}", out.status),
            detail: crate::error::stderr_detail(&[out.stdout, out.stderr].concat()),
        });
    }
    let private = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let public_path = path.with_extension("pub");
    let public = std::fs::read_to_string(&public_path).map_err(|e| Error::io(&public_path, e))?;
    Ok(KeyPair {
        private,
        public: public.trim().to_string(),
    })
}

/// Type and data of a public key line (options and comment left out).
pub fn key_body(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.starts_with("ssh-") || w.starts_with("ecdsa-"))?;
    Some(format!("{} {}", words[at], words.get(at + 1)?))
}

/// The authorized_keys line for the peer's key: usable only from the peer's
/// address, with no forwarding, pty or X11 (`restrict`); commands still run.
pub fn authorized_line(public_key: &str, from_address: &str, marker: &str) -> Option<String> {
    Some(format!(
        "from=\"{from_address}\",restrict {} {marker}",
        key_body(public_key)?
    ))
}

/// `text` with `line` in place of the first line `is_ours` picks (other
/// such lines dropped), or appended; every other line stays where it is, so
/// a second run with the same answers changes nothing.
fn replace_lines(text: &str, is_ours: impl Fn(&str) -> bool, line: &str) -> String {
    let mut out = String::new();
    let mut placed = false;
    for current in text.lines().filter(|l| !l.trim().is_empty()) {
        if is_ours(current) {
            if !placed {
                out.push_str(line);
                out.push('\n');
                placed = true;
            }
        } else {
            out.push_str(current);
            out.push('\n');
        }
    }
    if !placed {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `text` with the line ending in `marker` replaced by `line` (or `line` added).
pub fn replace_marked_line(text: &str, marker: &str, line: &str) -> String {
    replace_lines(text, |l| l.trim_end().ends_with(marker), line)
}

/// known_hosts with the peer's host key pinned under every name in `names`
/// (plain lines naming any of them are replaced); other lines are kept.
pub fn pin_known_host(text: &str, names: &[String], host_key: &str) -> Option<String> {
    let body = key_body(host_key)?;
    let line = format!("{} {body}", names.join(","));
    Some(replace_lines(
        text,
        |l| {
            let hosts = l.split_whitespace().next().unwrap_or("");
            hosts.split(',').any(|h| names.iter().any(|n| n == h))
        },
        &line,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDx mysqlha@node2";

    #[test]
    fn authorized_line_binds_the_address() {
        let line = authorized_line(KEY, "192.0.2.12", "mysql-ha:mysqlha@192.0.2.12").unwrap();
        assert_eq!(
            line,
            "from=\"192.0.2.12\",restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDx mysql-ha:mysqlha@192.0.2.12"
        );
        let text =
            "ssh-rsa AAAA admin\nfrom=\"x\",restrict ssh-ed25519 OLD mysql-ha:mysqlha@192.0.2.12\n";
        let after = replace_marked_line(text, "mysql-ha:mysqlha@192.0.2.12", &line);
        assert_eq!(after, format!("ssh-rsa AAAA admin\n{line}\n"));
        assert_eq!(
            replace_marked_line(&after, "mysql-ha:mysqlha@192.0.2.12", &line),
            after
        );
    }

    #[test]
    fn known_hosts_pins_name_and_address() {
        let names = vec!["node1".to_string(), "192.0.2.11".to_string()];
        let text = "other ssh-ed25519 AAAA\n192.0.2.11 ssh-rsa STALE\n";
        let after = pin_known_host(text, &names, "ssh-ed25519 HOSTKEY root@node1").unwrap();
        assert_eq!(
            after,
            "other ssh-ed25519 AAAA\nnode1,192.0.2.11 ssh-ed25519 HOSTKEY\n"
        );
        // Lines ssh adds later (hashed names) stay, and the pin stays put.
        let grown = format!("{after}|1|abc=|def= ssh-rsa LEARNED\n");
        assert_eq!(
            pin_known_host(&grown, &names, "ssh-ed25519 HOSTKEY").unwrap(),
            grown
        );
        assert_eq!(
            pin_known_host(&after, &names, "ssh-ed25519 HOSTKEY").unwrap(),
            after
        );
    }

    #[test]
    fn generated_key_is_encrypted_with_the_passphrase() {
        let plain = generate("test", "").unwrap();
        assert!(plain.public.starts_with("ssh-ed25519 "));
        let secret = generate("test", "correct horse battery").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, &secret.private).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o600);
        std::fs::set_permissions(&path, perms).unwrap();
        let without = Command::new("ssh-keygen")
            .args(["-y", "-P", "", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!without.status.success());
        let askpass = Askpass::new("correct horse battery", None).unwrap();
        let mut with = Command::new("ssh-keygen");
        with.args(["-y", "-f"]).arg(&path).stdin(Stdio::null());
        askpass.apply(&mut with);
        let with = with.output().unwrap();
        assert!(with.status.success(), "{with:?}");
        assert_eq!(
            key_body(&String::from_utf8_lossy(&with.stdout)),
            key_body(&secret.public)
        );
    }
}
