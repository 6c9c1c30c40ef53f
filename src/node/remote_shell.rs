//! One long-lived shell on a remote node that runs every short command of a
//! run, so each command costs a few forks there instead of a new ssh
//! session (a session start costs 0.05-0.3 s: sshd's session setup, PAM,
//! and the login shell's rc files, which Debian's bash reads even for
//! `ssh host command`).
//!
//! Framing, both ways by length so any bytes pass: the tool sends
//! `<script bytes> <stdin bytes>\n`, the script, then the stdin; the shell
//! answers `<exit code> <stdout bytes> <stderr bytes>\n`, then both. The
//! command's output is held in a private folder of RAM-backed /dev/shm
//! (else /tmp) while it runs, removed as soon as it is sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout};

use super::Output;

/// The agent: POSIX sh and `head -c` (which reads no more than it is told).
/// No umask of its own: commands keep the login's, as with one ssh session
/// each (`mkdir -p` parents must not turn 0700); mktemp's folder is 0700.
pub const AGENT: &str = r#"d=$(mktemp -d /dev/shm/mysql-ha.XXXXXX 2>/dev/null || mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
while IFS=' ' read -r slen ilen; do
  head -c "$slen" > "$d/s" || exit 1
  head -c "$ilen" | { sh "$d/s" > "$d/o" 2> "$d/e"; rc=$?; cat > /dev/null; exit $rc; }
  rc=$?
  printf '%s %s %s\n' "$rc" "$(wc -c < "$d/o")" "$(wc -c < "$d/e")"
  cat "$d/o" "$d/e"
  rm -f "$d/s" "$d/o" "$d/e"
done
"#;

pub struct RemoteShell {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl RemoteShell {
    /// Wraps a started `ssh ... sh -c AGENT` with piped stdin and stdout.
    pub fn new(mut child: Child) -> Option<RemoteShell> {
        let input = child.stdin.take()?;
        let output = BufReader::new(child.stdout.take()?);
        Some(RemoteShell {
            child,
            input,
            output,
        })
    }

    /// Runs one command line; an error means the shell is gone.
    pub fn run(&mut self, line: &str, stdin: Option<&[u8]>) -> std::io::Result<Output> {
        let stdin = stdin.unwrap_or(&[]);
        let header = format!("{} {}\n", line.len(), stdin.len());
        self.input.write_all(header.as_bytes())?;
        self.input.write_all(line.as_bytes())?;
        self.input.write_all(stdin)?;
        self.input.flush()?;
        let mut answer = String::new();
        if self.output.read_line(&mut answer)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the remote shell ended",
            ));
        }
        let fields: Vec<&str> = answer.split_whitespace().collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        let (Some(code), Some(out_len), Some(err_len)) = (number(0), number(1), number(2)) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the remote shell answered {answer:?}"),
            ));
        };
        let mut stdout = vec![0u8; out_len as usize];
        self.output.read_exact(&mut stdout)?;
        let mut stderr = vec![0u8; err_len as usize];
        self.output.read_exact(&mut stderr)?;
        Ok(Output {
            code: Some(code as i32),
            stdout,
            stderr,
        })
    }
}

impl Drop for RemoteShell {
    fn drop(&mut self) {
        // Closing its input ends the loop; the shell removes its folder.
        let _ = self.input.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn local_shell() -> RemoteShell {
        let child = Command::new("sh")
            .args(["-c", AGENT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        RemoteShell::new(child).unwrap()
    }

    #[test]
    fn runs_commands_one_after_another_with_any_bytes() {
        let mut shell = local_shell();
        let out = shell
            .run("printf 'a\\nb'; echo err >&2; exit 3", None)
            .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, b"a\nb");
        assert_eq!(out.stderr, b"err\n");
        let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        let out = shell.run("cat", Some(&bytes)).unwrap();
        assert_eq!(out.code, Some(0));
        assert_eq!(out.stdout, bytes);
        // A command that reads none of its input leaves the stream in step.
        let out = shell.run("echo next", Some(b"unread input\n")).unwrap();
        assert_eq!(out.stdout, b"next\n");
        let out = shell.run("head -c 3", Some(b"abcdef")).unwrap();
        assert_eq!(out.stdout, b"abc");
        let out = shell.run("echo still; true", None).unwrap();
        assert_eq!((out.code, out.stdout), (Some(0), b"still\n".to_vec()));
    }
}
