//! Running commands with a time limit, and root commands from the allowlist
//! only (through `sudo -n` when the daemon is not root).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::node::Output;
use crate::privileged::PrivilegedCommand;
use crate::{Error, Result};

/// Runs a command; kills it when it outlives `limit`.
pub fn run_limited(command: Command, limit: Duration) -> Result<Output> {
    run_limited_input(command, None, limit)
}

/// Like `run_limited`, with `input` on the command's stdin (for secrets,
/// which never go on a command line).
pub fn run_limited_input(
    mut command: Command,
    input: Option<&[u8]>,
    limit: Duration,
) -> Result<Output> {
    let program = format!("{:?}", command.get_program());
    let mut child = command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(&program, e))?;
    if let (Some(bytes), Some(mut pipe)) = (input, child.stdin.take()) {
        use std::io::Write;
        // Small input: fits the pipe; closing it ends the command's input.
        pipe.write_all(bytes).map_err(|e| Error::io(&program, e))?;
    }
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().map_err(|e| Error::io(&program, e))? {
            Some(status) => break Some(status),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut pipe) = child.stdout.take() {
        let _ = pipe.read_to_end(&mut stdout);
    }
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_end(&mut stderr);
    }
    match status {
        Some(status) => Ok(Output {
            code: status.code(),
            stdout,
            stderr,
        }),
        None => Err(Error::Failed {
            what: program.to_string(),
            status: format!(
                "did not finish within {} ms and was killed",
                limit.as_millis()
            ),
            detail: String::new(),
        }),
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The argv that runs an allowlisted command with root rights from this
/// daemon's account: as is for root, else through `sudo -n`.
pub fn with_sudo(argv: &[String]) -> Vec<String> {
    if is_root() {
        argv.to_vec()
    } else {
        let mut full = vec!["sudo".to_string(), "-n".to_string()];
        full.extend(argv.iter().cloned());
        full
    }
}

/// Refuses anything that is not exactly an allowlisted command.
pub fn allowed(allowlist: &[PrivilegedCommand], argv: &[String]) -> Result<()> {
    if allowlist.iter().any(|c| c.argv == argv) {
        Ok(())
    } else {
        Err(Error::Internal(format!(
            "`{}` is not in the daemon's root command allowlist (src/privileged.rs)",
            argv.join(" ")
        )))
    }
}

/// Runs an allowlisted root command on this node.
pub fn run_privileged(
    allowlist: &[PrivilegedCommand],
    argv: &[String],
    limit: Duration,
) -> Result<Output> {
    allowed(allowlist, argv)?;
    let full = with_sudo(argv);
    let (program, args) = full
        .split_first()
        .ok_or_else(|| Error::Internal("an empty command".into()))?;
    let mut command = Command::new(program);
    command.args(args);
    run_limited(command, limit)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_allowlisted_commands_run() {
        let list = vec![PrivilegedCommand {
            argv: vec!["/bin/true".into()],
            why: "test",
        }];
        assert!(allowed(&list, &["/bin/true".into()]).is_ok());
        assert!(allowed(&list, &["/bin/true".into(), "x".into()]).is_err());
        assert!(allowed(&list, &["/bin/false".into()]).is_err());
    }

    #[test]
    fn a_command_that_outlives_its_limit_is_killed() {
        let mut command = Command::new("sleep");
        command.arg("5");
        let started = Instant::now();
        assert!(run_limited(command, Duration::from_millis(200)).is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
        let mut command = Command::new("echo");
        command.arg("hi");
        let out = run_limited(command, Duration::from_secs(5)).unwrap();
        assert_eq!(out.stdout_text(), "hi\n");
    }
}
