//! The cluster daemon's own ssh-agent, for a passphrase-protected cluster
//! key: started as the cluster account with its socket in a 0700 folder of
//! that account, the key loaded through SSH_ASKPASS from the root-only
//! passphrase file. Called by root at daemon start, on the node itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::node::askpass::Askpass;
use crate::{Error, Result};

/// Where setup keeps the key's passphrase (0600 root:root).
pub const PASSPHRASE_FILE: &str = "/etc/mysql-ha/key-passphrase";
/// Where the daemon's agent listens (folder 0700, owned by the account).
pub const SOCKET_DIR: &str = "/run/mysql-ha/agent";
pub const SOCKET_NAME: &str = "agent.sock";

#[derive(Debug)]
pub struct Agent {
    /// For SSH_AUTH_SOCK.
    pub socket: PathBuf,
    pub pid: i32,
}

impl Agent {
    /// Ends the agent (its keys go with it).
    pub fn stop(&self) -> Result<()> {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid),
            nix::sys::signal::Signal::SIGTERM,
        )
        .map_err(|e| Error::Node {
            node: "this machine".into(),
            message: format!("cannot stop ssh-agent {}: {e}", self.pid),
        })
    }
}

fn as_account(account: Option<&str>, argv: &[String]) -> Command {
    match account {
        Some(account) => {
            let mut command = Command::new("runuser");
            command.args(["-u", account, "--"]).args(argv);
            command
        }
        None => {
            let mut command = Command::new(&argv[0]);
            command.args(&argv[1..]);
            command
        }
    }
}

fn failed(what: &str, out: &std::process::Output) -> Error {
    Error::Command {
        host: "local".into(),
        command: what.to_string(),
        status: format!("{}", out.status),
        detail: crate::error::stderr_detail(&[out.stdout.clone(), out.stderr.clone()].concat()),
    }
}

/// Starts an agent for `account` (None: the calling account) listening in
/// `socket_dir`, and loads `key` into it with the passphrase read from
/// `passphrase_file`. The passphrase reaches ssh-add through SSH_ASKPASS
/// from a 0600 file that is removed before this returns.
pub fn start(
    passphrase_file: &Path,
    key: &Path,
    socket_dir: &Path,
    account: Option<&str>,
) -> Result<Agent> {
    let passphrase =
        std::fs::read_to_string(passphrase_file).map_err(|e| Error::io(passphrase_file, e))?;
    let passphrase = passphrase.trim_end_matches(['\n', '\r']);
    let owner = match account {
        Some(name) => {
            let user = nix::unistd::User::from_name(name)
                .ok()
                .flatten()
                .ok_or_else(|| Error::Node {
                    node: "this node".into(),
                    message: format!("no account named `{name}`"),
                })?;
            Some((user.uid.as_raw(), user.gid.as_raw()))
        }
        None => None,
    };
    std::fs::create_dir_all(socket_dir).map_err(|e| Error::io(socket_dir, e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(socket_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(socket_dir, e))?;
    }
    if let Some((uid, gid)) = owner {
        nix::unistd::chown(
            socket_dir,
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(gid)),
        )
        .map_err(|e| Error::io(socket_dir, std::io::Error::from(e)))?;
    }
    let socket = socket_dir.join(SOCKET_NAME);
    // A socket left by an agent that died would make ssh-agent refuse to start.
    let _ = std::fs::remove_file(&socket);
    let socket_text = socket.to_string_lossy().into_owned();
    let out = as_account(
        account,
        &[
            "ssh-agent".into(),
            "-s".into(),
            "-a".into(),
            socket_text.clone(),
        ],
    )
    .stdin(Stdio::null())
    .output()
    .map_err(|e| Error::io("ssh-agent", e))?;
    if !out.status.success() {
        return Err(failed("ssh-agent -a", &out));
    }
    let pid = String::from_utf8_lossy(&out.stdout)
        .split(';')
        .find_map(|part| {
            part.trim()
                .strip_prefix("SSH_AGENT_PID=")?
                .parse::<i32>()
                .ok()
        })
        .ok_or_else(|| failed("ssh-agent (no SSH_AGENT_PID in its output)", &out))?;
    let agent = Agent { socket, pid };
    let askpass = Askpass::new(passphrase, owner)?;
    let mut argv = vec!["env".to_string(), format!("SSH_AUTH_SOCK={socket_text}")];
    argv.extend(askpass.env_args());
    argv.extend(["ssh-add".to_string(), key.to_string_lossy().into_owned()]);
    let out = as_account(account, &argv)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("ssh-add", e));
    drop(askpass);
    let out = match out {
        Ok(out) => out,
        Err(err) => {
            let _ = agent.stop();
            return Err(err);
        }
    };
    if !out.status.success() {
        let _ = agent.stop();
        return Err(failed(&format!("ssh-add {}", key.display()), &out));
    }
    Ok(agent)
}
