//! Reaching a node: run a command, read or write a file. One interface with a
//! local implementation (optionally confined to a directory tree, for `--root`)
//! and an ssh implementation, so the same engine code configures either.

pub mod askpass;
pub mod bootstrap;
mod local;
pub mod remote_shell;
pub mod snapshot;
pub mod ssh;

pub use local::LocalNode;
pub use ssh::SshNode;

use std::path::{Path, PathBuf};

use crate::Result;

/// What a finished command left behind.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Exit code; None when killed by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Itself when the command succeeded, else the error naming the host
    /// and the command, with what it printed.
    pub fn checked(self, host: &str, argv: &[&str]) -> crate::Result<Output> {
        if self.success() {
            return Ok(self);
        }
        Err(crate::Error::Command {
            host: host.to_string(),
            command: argv.join(" "),
            status: crate::error::exit_status(self.code),
            detail: crate::error::stderr_detail(&[self.stdout, self.stderr].concat()),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// `lstat` of a path, as much as the engine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub kind: FileKind,
    /// Permission bits only (e.g. 0o644).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
}

/// A machine the tool acts on. Paths are absolute paths as that machine sees them.
pub trait Node: Send + Sync {
    /// Name used in messages ("node1", "192.0.2.12", "local").
    fn label(&self) -> &str;

    /// Runs `argv` (no shell) with optional stdin. Never put a secret in argv:
    /// pass it on stdin or in a 0600 file.
    fn run(&self, argv: &[&str], stdin: Option<&[u8]>) -> Result<Output>;

    /// Contents of a file; None when it does not exist.
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>>;

    /// `lstat`; None when the path does not exist.
    fn stat(&self, path: &Path) -> Result<Option<FileStat>>;

    /// Target of a symlink, as stored in the link.
    fn read_link(&self, path: &Path) -> Result<PathBuf>;

    /// Names of the entries of a directory (unsorted); empty when it does not exist.
    fn list_dir(&self, path: &Path) -> Result<Vec<String>>;

    /// Creates a directory and its parents; the last component gets `mode`.
    fn create_dir_all(&self, path: &Path, mode: u32) -> Result<()>;

    /// Replaces `path` atomically: temp file in the same directory, fsync,
    /// chmod/chown to the given mode and owner, rename over.
    fn write_atomic(&self, path: &Path, bytes: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()>;

    /// Removes a file; succeeds when it is already gone.
    fn remove_file(&self, path: &Path) -> Result<()>;

    /// Bytes available to root on the filesystem holding `path`.
    fn free_bytes(&self, path: &Path) -> Result<u64>;
}

/// Runs a prepared program to its end: `stdin` written to it (or none),
/// its output collected. `what` names it in an error.
pub(crate) fn run_to_end(
    command: &mut std::process::Command,
    what: &str,
    stdin: Option<&[u8]>,
) -> Result<Output> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| crate::Error::io(what, e))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input)
            .map_err(|e| crate::Error::io(what, e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| crate::Error::io(what, e))?;
    Ok(Output {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// Runs a service script (start, stop, restart). Such scripts leave daemons
/// behind that inherit their output; reading that output through a pipe
/// would wait for the daemons to close it (over ssh: until they end). The
/// script's output goes to a file on the node instead, read back after it
/// returns.
pub fn run_service(node: &dyn Node, argv: &[&str]) -> Result<Output> {
    const WRAPPER: &str = "out=$(mktemp) || exit 125; \"$@\" </dev/null >\"$out\" 2>&1; rc=$?; cat \"$out\"; rm -f \"$out\"; exit $rc";
    let mut wrapped = vec!["sh", "-c", WRAPPER, "mysql-ha-service"];
    wrapped.extend_from_slice(argv);
    node.run(&wrapped, None)
}

/// `run_service`, an exit other than 0 being an error that names it.
pub fn run_service_checked(node: &dyn Node, argv: &[&str]) -> Result<Output> {
    run_service(node, argv)?.checked(node.label(), argv)
}

/// Follows symlinks (each hop resolved on the node) to the file that really
/// holds the contents; errors on loops.
pub fn resolve_symlinks(node: &dyn Node, path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match node.stat(&current)? {
            Some(stat) if stat.kind == FileKind::Symlink => {
                let target = node.read_link(&current)?;
                current = if target.is_absolute() {
                    target
                } else {
                    current
                        .parent()
                        .unwrap_or_else(|| Path::new("/"))
                        .join(target)
                };
            }
            _ => return Ok(current),
        }
    }
    Err(crate::Error::Node {
        node: node.label().to_string(),
        message: format!("{}: too many levels of symbolic links", path.display()),
    })
}
