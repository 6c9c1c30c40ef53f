//! Seeding: a consistent snapshot of the master (one transaction) streamed
//! straight into the slave, with no intermediate file, reporting progress.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::pair::Member;
use crate::events::{Event, Reporter};
use crate::sql::Position;
use crate::{Error, Result};

const STEP: &str = "seed the slave";
/// How much of the dump's start and end is searched for its position.
const SCAN_BYTES: usize = 64 * 1024;

/// A 0600 client option file on a node that carries the admin password, so
/// it never appears on a command line. Removed when dropped.
struct ClientOptionFile<'a> {
    member: &'a Member,
    path: Option<PathBuf>,
}

impl<'a> ClientOptionFile<'a> {
    fn create(member: &'a Member, run_dir: &std::path::Path) -> Result<ClientOptionFile<'a>> {
        if member.answers.mysql_admin_password.is_empty() {
            return Ok(ClientOptionFile { member, path: None });
        }
        // A copy left by a run that was killed holds the password: remove it.
        member.access.node().run(
            &["sh", "-c", "rm -f /var/lib/mysql-ha/runs/*/client.cnf"],
            None,
        )?;
        let path = run_dir.join("client.cnf");
        let text = format!(
            "[client]\nuser={}\npassword=\"{}\"\n",
            member.answers.mysql_admin_user,
            option_file_escape(&member.answers.mysql_admin_password)
        );
        member
            .access
            .node()
            .write_atomic(&path, text.as_bytes(), 0o600, 0, 0)?;
        Ok(ClientOptionFile {
            member,
            path: Some(path),
        })
    }

    /// Options that go first on the client program's command line.
    fn options(&self) -> Vec<String> {
        match &self.path {
            Some(path) => vec![format!("--defaults-extra-file={}", path.display())],
            None => vec![format!("--user={}", self.member.answers.mysql_admin_user)],
        }
    }
}

impl Drop for ClientOptionFile<'_> {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = self.member.access.node().remove_file(path);
        }
    }
}

/// Escapes a value for a double-quoted option-file value (`#` and spaces
/// stay literal inside the quotes).
fn option_file_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn with_options(argv: &[String], options: &[String]) -> Vec<String> {
    let mut out = vec![argv[0].clone()];
    out.extend(options.iter().cloned());
    out.extend(argv[1..].iter().cloned());
    out
}

/// Finds the snapshot position in the dump: MariaDB writes the GTID at the
/// end of the dump (10.11) or near the start (older), the file position at
/// the start. The GTID wins when both are there.
pub fn position_in_dump(head: &str, tail: &str) -> Option<Position> {
    gtid_in(tail)
        .or_else(|| gtid_in(head))
        .or_else(|| file_position_in(head))
}

fn gtid_in(text: &str) -> Option<Position> {
    for line in text.lines() {
        let line = line.trim_start_matches("-- ").trim();
        if let Some(rest) = line.strip_prefix("SET GLOBAL gtid_slave_pos=") {
            let gtid = rest.trim_end_matches(';').trim_matches('\'');
            return Some(Position::MariaDbGtid(gtid.to_string()));
        }
    }
    None
}

fn file_position_in(head: &str) -> Option<Position> {
    let line = head
        .lines()
        .find(|l| l.contains("MASTER_LOG_FILE=") || l.contains("SOURCE_LOG_FILE="))?;
    let file = line
        .split("LOG_FILE='")
        .nth(1)?
        .split('\'')
        .next()?
        .to_string();
    let offset = line
        .split("LOG_POS=")
        .nth(1)?
        .trim_end_matches(';')
        .trim()
        .parse()
        .ok()?;
    Some(Position::File { file, offset })
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = pipe.read_to_end(&mut buffer);
        buffer
    })
}

pub struct SeedResult {
    pub position: Position,
    pub bytes: u64,
    pub seconds: f64,
}

pub fn run(
    master: &Member,
    slave: &Member,
    run_dir: &std::path::Path,
    dump_argv: &[String],
    load_argv: &[String],
    estimated_bytes: u64,
    reporter: &dyn Reporter,
) -> Result<SeedResult> {
    if dump_argv.is_empty() || load_argv.is_empty() {
        return Err(Error::Other("seed: empty command".into()));
    }
    let master_options = ClientOptionFile::create(master, run_dir)?;
    let slave_options = ClientOptionFile::create(slave, run_dir)?;
    let dump = with_options(dump_argv, &master_options.options());
    let load = with_options(load_argv, &slave_options.options());
    let dump_refs: Vec<&str> = dump.iter().map(String::as_str).collect();
    let load_refs: Vec<&str> = load.iter().map(String::as_str).collect();

    let mut loader = slave.access.spawn(&load_refs)?;
    let mut dumper = master.access.spawn(&dump_refs)?;
    let (Some(mut from), Some(mut into)) = (dumper.stdout.take(), loader.stdin.take()) else {
        return Err(Error::Other("seed: pipes not available".into()));
    };
    let dump_err = dumper.stderr.take().map(drain);
    let load_err = loader.stderr.take().map(drain);
    let load_out = loader.stdout.take().map(drain);

    let copied = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut head = Vec::new();
    let mut tail = Vec::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut last_report = Instant::now();
    let mut copy_error = None;
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                copy_error = Some(format!("reading the dump: {e}"));
                break;
            }
        };
        if head.len() < SCAN_BYTES {
            head.extend_from_slice(&buffer[..n.min(SCAN_BYTES - head.len())]);
        }
        tail.extend_from_slice(&buffer[..n]);
        if tail.len() > 2 * SCAN_BYTES {
            tail.drain(..tail.len() - SCAN_BYTES);
        }
        if let Err(e) = into.write_all(&buffer[..n]) {
            copy_error = Some(format!("writing to the slave: {e}"));
            break;
        }
        let total = copied.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if last_report.elapsed() > Duration::from_millis(250) {
            last_report = Instant::now();
            reporter.event(Event::Progress {
                step: STEP.into(),
                bytes: total,
                total: (estimated_bytes > 0).then_some(estimated_bytes),
                bytes_per_second: total as f64 / started.elapsed().as_secs_f64().max(0.001),
            });
        }
    }
    drop(into);
    drop(from);
    let dump_status = dumper.wait().map_err(|e| Error::io("dump", e))?;
    let load_status = loader.wait().map_err(|e| Error::io("load", e))?;
    let dump_stderr = dump_err.and_then(|h| h.join().ok()).unwrap_or_default();
    let load_stderr = load_err.and_then(|h| h.join().ok()).unwrap_or_default();
    let _ = load_out.and_then(|h| h.join().ok());
    if !dump_status.success() {
        return Err(Error::Command {
            host: master.label().to_string(),
            command: dump_argv.join(" "),
            status: dump_status.to_string(),
            detail: crate::error::stderr_detail(&dump_stderr),
        });
    }
    if !load_status.success() {
        return Err(Error::Command {
            host: slave.label().to_string(),
            command: load_argv.join(" "),
            status: load_status.to_string(),
            detail: crate::error::stderr_detail(&load_stderr),
        });
    }
    if let Some(message) = copy_error {
        return Err(Error::Other(format!("seed: {message}")));
    }
    let bytes = copied.load(Ordering::Relaxed);
    let position = position_in_dump(
        &String::from_utf8_lossy(&head),
        &String::from_utf8_lossy(&tail),
    )
    .ok_or_else(|| {
        Error::Other(format!(
            "seed: the dump from {} carries no binary log position; is log-bin on?",
            master.label()
        ))
    })?;
    Ok(SeedResult {
        position,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_gtid_before_file_position() {
        let head = "-- MariaDB dump\n--\n-- Position to start replication or point-in-time recovery from\n--\n\n-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000002', MASTER_LOG_POS=328;\n\n--\n-- GTID to start replication from\n--\n\n-- SET GLOBAL gtid_slave_pos='0-1-7';\n";
        assert_eq!(
            position_in_dump(head, ""),
            Some(Position::MariaDbGtid("0-1-7".into()))
        );
        let tail = "-- Preferably use GTID to start replication from GTID position:\n\n-- SET GLOBAL gtid_slave_pos='';\n";
        assert_eq!(
            position_in_dump(head, tail),
            Some(Position::MariaDbGtid(String::new()))
        );
    }

    #[test]
    fn option_file_values_keep_special_characters() {
        assert_eq!(option_file_escape(r#"a#b "c"\d"#), r#"a#b \"c\"\\d"#);
    }

    #[test]
    fn falls_back_to_file_position() {
        let head = "-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000003', MASTER_LOG_POS=98;\n";
        assert_eq!(
            position_in_dump(head, ""),
            Some(Position::File {
                file: "mysql-bin.000003".into(),
                offset: 98
            })
        );
        assert_eq!(position_in_dump("-- nothing here\n", ""), None);
    }
}
