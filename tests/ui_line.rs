//! Line mode through a pipe: one question per line on stdout, one answer per
//! line from stdin, the same validators as the answers file; and the
//! front-end choice announced when it is not the full screen.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mysql-ha");

fn setup_with_input(args: &[&str], input: &str) -> (String, String, i32) {
    let mut child = Command::new(BIN)
        .arg("setup")
        .args(args)
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    // Its stdin stays open: at end of input it would stop on its own, with
    // another exit code, racing the interrupt.
    let stdin = child.stdin.take();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn a_pipe_gets_line_mode_and_bad_answers_are_asked_again() {
    // The slave may not be the master; then the ssh user is refused; then
    // stdin ends before the credentials are complete.
    let (out, err, code) = setup_with_input(
        &[],
        "192.0.2.11\nroot\n192.0.2.11\n192.0.2.12\nbad user!\n\n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "mysql-ha setup: using line mode: stdin is not a terminal"
    );
    assert_eq!(lines[1], "-- Nodes");
    assert!(
        lines[2].starts_with("master.host: Master address ["),
        "{out}"
    );
    assert!(
        out.contains("slave.host: Slave address []: "),
        "one question per line, key first: {out}"
    );
    assert!(out.contains("`192.0.2.11` is also the master"), "{out}");
    assert!(out.contains("`bad user!`: use at most 32 letters"), "{out}");
    assert!(out.contains("-- Admin credentials"), "{out}");
    assert!(
        out.contains("master.mysql_admin_user: Master admin user [root]: "),
        "{out}"
    );
    assert_eq!(code, 1);
    assert!(err.contains("no answer: stdin ended"), "{err}");
}

#[test]
fn answers_file_values_are_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answers.toml");
    std::fs::write(
        &path,
        "[master]\nhost = \"db1.example.com\"\nssh_user = \"admin\"\n[slave]\nhost = \"db2.example.com\"\n",
    )
    .unwrap();
    let (out, _, _) = setup_with_input(&["--ui", "plain", "--answers", path.to_str().unwrap()], "");
    assert!(
        out.starts_with("mysql-ha setup: using line mode (--ui plain)\n"),
        "{out}"
    );
    assert!(
        out.contains("master.host: Master address [db1.example.com]: "),
        "{out}"
    );
}

#[test]
fn include_secrets_needs_save_answers() {
    let (_, err, code) = setup_with_input(&["--include-secrets"], "");
    assert_eq!(code, 2);
    assert!(err.contains("--save-answers"), "{err}");
}

#[test]
fn ctrl_c_in_line_mode_says_what_it_stopped_and_exits_130() {
    use std::io::Read;
    let mut child = Command::new(BIN)
        .args(["setup", "--ui", "plain"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its first question is out: it waits for the first answer, with the
    // handler installed (a fixed sleep was too short on a loaded machine).
    let stdout = child.stdout.as_mut().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("master.host:") {
        stdout.read_exact(&mut byte).unwrap();
        seen.push(byte[0]);
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    // Its stdin stays open: at end of input it would stop on its own, with
    // another exit code, racing the interrupt.
    let stdin = child.stdin.take();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{:?} {err}", out.status);
    assert!(err.contains("interrupted"), "{err}");
}
