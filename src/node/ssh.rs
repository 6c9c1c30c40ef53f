//! A node reached over ssh as the installer's account. One multiplexed
//! connection per node; host keys must already be pinned (BatchMode: an
//! unknown or changed host key is an error, never a silent accept).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::askpass::Askpass;
use super::remote_shell::{RemoteShell, AGENT};
use super::{FileKind, FileStat, Node, Output};
use crate::error::stderr_detail;
use crate::{Error, Result};

pub struct SshNode {
    label: String,
    destination: String,
    port: u16,
    /// Private folder for the control socket and forwarded sockets.
    control_dir: tempfile::TempDir,
    /// Password login (trust bootstrap only): the password reaches ssh
    /// through SSH_ASKPASS, never a command line.
    password: Option<Askpass>,
    /// The shell that runs short commands (see remote_shell), started on
    /// first use.
    shell: std::sync::Mutex<Option<RemoteShell>>,
}

/// Quotes one word for the remote shell.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// ssh's usual modern ciphers with AES-GCM first, when this machine has AES
/// instructions: seeding streams hundreds of MB through the connection, and
/// AES-GCM moves about 1.5x what the default (chacha20) does then. Only
/// ciphers this ssh lists (`ssh -Q cipher`) are named, so an older client
/// never sees a name it rejects; None keeps ssh's own choice.
fn preferred_ciphers() -> Option<&'static str> {
    static CIPHERS: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    CIPHERS
        .get_or_init(|| {
            if !cpu_has_aes() {
                return None;
            }
            let out = Command::new("ssh").args(["-Q", "cipher"]).output().ok()?;
            let known = String::from_utf8_lossy(&out.stdout).into_owned();
            cipher_preference(&known)
        })
        .as_deref()
}

/// The preference list from what `ssh -Q cipher` printed (None without
/// AES-GCM).
fn cipher_preference(known: &str) -> Option<String> {
    const ORDER: [&str; 6] = [
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        "chacha20-poly1305@openssh.com",
        "aes128-ctr",
        "aes192-ctr",
        "aes256-ctr",
    ];
    let known: Vec<&str> = known.split_whitespace().collect();
    if !known.contains(&ORDER[0]) {
        return None;
    }
    let list: Vec<&str> = ORDER.into_iter().filter(|c| known.contains(c)).collect();
    Some(list.join(","))
}

/// True when this machine's CPU has AES instructions (x86 `aes`, ARM
/// `aes` feature flag in /proc/cpuinfo).
fn cpu_has_aes() -> bool {
    static HAS_AES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS_AES.get_or_init(|| {
        std::fs::read_to_string("/proc/cpuinfo")
            .map(|text| cpuinfo_has_aes(&text))
            .unwrap_or(false)
    })
}

fn cpuinfo_has_aes(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .filter(|line| line.starts_with("flags") || line.starts_with("Features"))
        .any(|line| line.split_whitespace().any(|flag| flag == "aes"))
}

impl SshNode {
    /// Opens the connection and proves it works.
    pub fn connect(host: &str, user: &str, port: u16) -> Result<SshNode> {
        Self::open(host, user, port, None)
    }

    /// Logs in once with a password (given through SSH_ASKPASS from a 0600
    /// file) for the trust bootstrap; the host key must be pinned already.
    /// Later commands reuse the authenticated shared connection.
    pub fn connect_with_password(
        host: &str,
        user: &str,
        port: u16,
        password: &str,
    ) -> Result<SshNode> {
        Self::open(host, user, port, Some(Askpass::new(password, None)?))
    }

    fn open(host: &str, user: &str, port: u16, password: Option<Askpass>) -> Result<SshNode> {
        let by_password = password.is_some();
        let control_dir = tempfile::Builder::new()
            .prefix("mysql-ha-ssh.")
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let node = SshNode {
            label: host.to_string(),
            destination: format!("{user}@{host}"),
            port,
            control_dir,
            password,
            shell: std::sync::Mutex::new(None),
        };
        // Its own session, so a refused login shows ssh's own words.
        let out = match node.run_in_session(&["true"], None) {
            Ok(out) => out,
            Err(Error::Ssh { message, .. }) => Output {
                code: Some(255),
                stdout: Vec::new(),
                stderr: message.into_bytes(),
            },
            Err(err) => return Err(err),
        };
        if !out.success() {
            let detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
            let hint = if by_password && detail.contains("Permission denied") {
                "the password was refused (check [master|slave] ssh_password, and that the node's sshd allows password logins for this account)"
            } else if detail.contains("Host key verification failed")
                || detail.contains("No ED25519 host key")
                || detail.contains("host key")
            {
                "its host key is not pinned in ~/.ssh/known_hosts: check its fingerprint and add it (ssh-keyscan, then compare with the node's /etc/ssh/ssh_host_*_key.pub)"
            } else if detail.contains("Permission denied") {
                "key-based login was refused: install this account's public key in the node's authorized_keys"
            } else {
                "check the address, that sshd runs there, and the network"
            };
            return Err(Error::Ssh {
                host: host.to_string(),
                message: format!("cannot log in as {user}: {hint} ({detail})"),
            });
        }
        Ok(node)
    }

    fn base_command(&self) -> Command {
        let mut command = Command::new("ssh");
        if let Some(askpass) = &self.password {
            // ssh keeps the first value given for an option: these come first.
            command
                .args(["-o", "BatchMode=no", "-o", "PubkeyAuthentication=no"])
                .args([
                    "-o",
                    "PreferredAuthentications=password,keyboard-interactive",
                ])
                .args(["-o", "NumberOfPasswordPrompts=1"]);
            askpass.apply(&mut command);
        }
        command
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
            .args(["-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=10"])
            .args(["-o", "ControlMaster=auto", "-o", "ControlPersist=60"]);
        if let Some(ciphers) = preferred_ciphers() {
            command.arg("-o").arg(format!("Ciphers={ciphers}"));
        }
        command
            .arg("-o")
            .arg(format!(
                "ControlPath={}/c",
                self.control_dir.path().display()
            ))
            .args(["-p", &self.port.to_string()]);
        command
    }

    /// Forwards the node's unix socket to a local one; the forward lives as
    /// long as the returned value.
    pub fn forward_socket(&self, remote: &Path) -> Result<SocketForward> {
        let local = self.control_dir.path().join(format!(
            "mysql.{}.sock",
            std::process::id() ^ (Instant::now().elapsed().subsec_nanos())
        ));
        let child = self
            .base_command()
            .args(["-o", "ExitOnForwardFailure=yes", "-N", "-L"])
            .arg(format!("{}:{}", local.display(), remote.display()))
            .arg(&self.destination)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("ssh", e))?;
        let mut forward = SocketForward {
            child,
            path: local.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !local.exists() {
            if let Ok(Some(status)) = forward.child.try_wait() {
                return Err(Error::Ssh {
                    host: self.label.clone(),
                    message: format!(
                        "cannot forward the server socket {} ({status})",
                        remote.display()
                    ),
                });
            }
            if Instant::now() > deadline {
                return Err(Error::Ssh {
                    host: self.label.clone(),
                    message: format!("forwarding {} timed out", remote.display()),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(forward)
    }

    /// Starts a remote command with piped stdin/stdout, for streaming.
    pub fn spawn(&self, argv: &[&str]) -> Result<Child> {
        self.base_command()
            .arg(&self.destination)
            .arg("--")
            .arg(remote_line(argv))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("ssh", e))
    }

    /// Runs a command in an ssh session of its own.
    fn run_in_session(&self, argv: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
        let out = super::run_to_end(
            self.base_command()
                .arg(&self.destination)
                .arg("--")
                .arg(remote_line(argv)),
            "ssh",
            stdin,
        )?;
        if out.code == Some(255) {
            return Err(Error::Ssh {
                host: self.label.clone(),
                message: format!(
                    "connection failed running `{}`{}",
                    argv.first().copied().unwrap_or(""),
                    stderr_detail(&out.stderr)
                ),
            });
        }
        Ok(out)
    }

    fn start_shell(&self) -> Result<RemoteShell> {
        let child = self
            .base_command()
            .arg(&self.destination)
            .arg("--")
            .arg(remote_line(&["sh", "-c", AGENT]))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::io("ssh", e))?;
        RemoteShell::new(child).ok_or_else(|| Error::Ssh {
            host: self.label.clone(),
            message: "no pipes to the remote shell".into(),
        })
    }

    fn script(&self, script: &str, args: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
        let mut argv = vec!["sh", "-c", script, "sh"];
        argv.extend_from_slice(args);
        self.run(&argv, stdin)
    }

    fn checked_script(
        &self,
        what: &str,
        script: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<Output> {
        let out = self.script(script, args, stdin)?;
        if out.success() {
            Ok(out)
        } else {
            Err(Error::Command {
                host: self.label.clone(),
                command: what.to_string(),
                status: crate::error::exit_status(out.code),
                detail: stderr_detail(&out.stderr),
            })
        }
    }
}

fn remote_line(argv: &[&str]) -> String {
    argv.iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A forwarded server socket; the forward ends when this is dropped.
pub struct SocketForward {
    child: Child,
    path: PathBuf,
}

impl SocketForward {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SocketForward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for SshNode {
    fn drop(&mut self) {
        if let Ok(mut shell) = self.shell.lock() {
            shell.take();
        }
        // Ends the shared connection so no ssh process outlives the run.
        let _ = self
            .base_command()
            .args(["-O", "exit"])
            .arg(&self.destination)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Exit code the scripts below use for "no such file".
const MISSING: i32 = 3;

impl Node for SshNode {
    fn label(&self) -> &str {
        &self.label
    }

    fn run(&self, argv: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
        let mut slot = self
            .shell
            .lock()
            .map_err(|_| Error::Internal(format!("ssh to {}: shell lock poisoned", self.label)))?;
        if slot.is_none() {
            *slot = Some(self.start_shell()?);
        }
        let Some(shell) = slot.as_mut() else {
            return self.run_in_session(argv, stdin);
        };
        match shell.run(&remote_line(argv), stdin) {
            Ok(out) => Ok(out),
            Err(err) => {
                // The next command starts a new shell.
                *slot = None;
                Err(Error::Ssh {
                    host: self.label.clone(),
                    message: format!(
                        "connection failed running `{}`: {err}",
                        argv.first().copied().unwrap_or("")
                    ),
                })
            }
        }
    }

    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        let p = path.to_string_lossy();
        let out = self.script(
            "[ -e \"$1\" ] || [ -L \"$1\" ] || exit 3; cat -- \"$1\"",
            &[&p],
            None,
        )?;
        match out.code {
            Some(0) => Ok(Some(out.stdout)),
            Some(MISSING) => Ok(None),
            _ => Err(Error::Command {
                host: self.label.clone(),
                command: format!("cat {p}"),
                status: crate::error::exit_status(out.code),
                detail: stderr_detail(&out.stderr),
            }),
        }
    }

    fn stat(&self, path: &Path) -> Result<Option<FileStat>> {
        let p = path.to_string_lossy();
        let out = self.script(
            "[ -e \"$1\" ] || [ -L \"$1\" ] || exit 3; stat -c '%F|%a|%u|%g|%s' -- \"$1\"",
            &[&p],
            None,
        )?;
        if out.code == Some(MISSING) {
            return Ok(None);
        }
        let text = out.stdout_text();
        let fields: Vec<&str> = text.trim().split('|').collect();
        let parse = |i: usize, radix: u32| {
            fields
                .get(i)
                .and_then(|f| u64::from_str_radix(f, radix).ok())
        };
        match (
            out.success(),
            parse(1, 8),
            parse(2, 10),
            parse(3, 10),
            parse(4, 10),
        ) {
            (true, Some(mode), Some(uid), Some(gid), Some(size)) => Ok(Some(FileStat {
                kind: match fields.first().copied().unwrap_or("") {
                    "regular file" | "regular empty file" => FileKind::File,
                    "directory" => FileKind::Dir,
                    "symbolic link" => FileKind::Symlink,
                    _ => FileKind::Other,
                },
                mode: mode as u32,
                uid: uid as u32,
                gid: gid as u32,
                size,
            })),
            _ => Err(Error::Command {
                host: self.label.clone(),
                command: format!("stat {p}"),
                status: crate::error::exit_status(out.code),
                detail: stderr_detail(&out.stderr),
            }),
        }
    }

    fn read_link(&self, path: &Path) -> Result<PathBuf> {
        let p = path.to_string_lossy();
        let out =
            self.checked_script(&format!("readlink {p}"), "readlink -- \"$1\"", &[&p], None)?;
        Ok(PathBuf::from(out.stdout_text().trim_end_matches('\n')))
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        let p = path.to_string_lossy();
        let out = self.checked_script(
            &format!("ls {p}"),
            "[ -d \"$1\" ] || exit 0; ls -A1 -- \"$1\"",
            &[&p],
            None,
        )?;
        Ok(out.stdout_text().lines().map(str::to_string).collect())
    }

    fn create_dir_all(&self, path: &Path, mode: u32) -> Result<()> {
        let p = path.to_string_lossy();
        let mode = format!("{mode:o}");
        self.checked_script(
            &format!("mkdir -p {p}"),
            "mkdir -p -- \"$1\" && chmod \"$2\" -- \"$1\"",
            &[&p, &mode],
            None,
        )?;
        Ok(())
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
        let p = path.to_string_lossy();
        let mode = format!("{mode:o}");
        let owner = format!("{uid}:{gid}");
        // Temp file in the same folder, synced, mode and owner set, renamed over.
        let script = "set -e; t=$(mktemp \"$(dirname \"$1\")/.mysql-ha.XXXXXX\"); \
                      trap 'rm -f \"$t\"' EXIT; cat > \"$t\"; sync \"$t\"; \
                      chmod \"$2\" \"$t\"; chown \"$3\" \"$t\"; mv -f \"$t\" \"$1\"; trap - EXIT; \
                      sync \"$(dirname \"$1\")\" 2>/dev/null || true";
        self.checked_script(
            &format!("write {p}"),
            script,
            &[&p, &mode, &owner],
            Some(bytes),
        )?;
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        let p = path.to_string_lossy();
        self.checked_script(&format!("rm {p}"), "rm -f -- \"$1\"", &[&p], None)?;
        Ok(())
    }

    fn free_bytes(&self, path: &Path) -> Result<u64> {
        let p = path.to_string_lossy();
        let out = self.checked_script(
            &format!("df {p}"),
            "df -P -k -- \"$1\" | tail -n 1",
            &[&p],
            None,
        )?;
        out.stdout_text()
            .split_whitespace()
            .nth(3)
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .ok_or_else(|| Error::Command {
                host: self.label.clone(),
                command: format!("df {p}"),
                status: "unreadable output".into(),
                detail: String::new(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::{cipher_preference, cpuinfo_has_aes, shell_quote};

    #[test]
    fn ciphers_named_are_only_those_ssh_knows() {
        assert_eq!(
            cipher_preference("3des-cbc\naes128-ctr\naes256-ctr\naes128-gcm@openssh.com\nchacha20-poly1305@openssh.com\n")
                .as_deref(),
            Some("aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr")
        );
        assert_eq!(cipher_preference("aes128-ctr\naes256-ctr\n"), None);
        assert_eq!(cipher_preference(""), None);
    }

    #[test]
    fn aes_is_read_from_the_cpu_flags() {
        assert!(cpuinfo_has_aes(
            "processor\t: 0\nflags\t\t: fpu sse2 aes avx2\n"
        ));
        assert!(cpuinfo_has_aes("Features\t: fp asimd aes pmull sha1\n"));
        assert!(!cpuinfo_has_aes("flags\t\t: fpu sse2 avx2 vaes_like\n"));
        assert!(!cpuinfo_has_aes("model name\t: aes lookalike\n"));
    }

    #[test]
    fn quoting_keeps_words_whole() {
        assert_eq!(shell_quote("plain-word_1.cnf"), "plain-word_1.cnf");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME;rm"), "'$HOME;rm'");
    }
}
