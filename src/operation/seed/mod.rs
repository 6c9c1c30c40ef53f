//! Seeding: a consistent copy of the master's chosen databases streamed
//! straight into the slave (no intermediate file), with progress and a check
//! of the result. Three methods: one dump, several dumps of one shared
//! snapshot loaded at once (`parallel`, large secondary indexes built after
//! the rows: `indexes`), or a physical copy with mariadb-backup (`backup`)
//! or MySQL's clone plugin (`clone`); `choose` picks one.

pub mod backup;
pub mod choose;
pub mod clone;
pub mod indexes;
pub mod logical;
pub mod verify;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::pair::{Member, Pair};
use crate::answers::{NodeAnswers, SeedMethod, SeedVerify};
use crate::backup::Journal;
use crate::events::{Event, Reporter};
use crate::node::Node;
use crate::sql::Position;
use crate::tls::TlsFiles;
use crate::{Error, Result};

/// A copy as planned: shown in the review, carried out by `run`.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    /// Dump, Parallel, Backup or Clone (never Auto or None).
    pub method: SeedMethod,
    /// Why this method (the choice of `auto`, or "asked for").
    pub why: String,
    pub databases: Vec<String>,
    /// Only these tables of `databases` (resync of single tables); empty:
    /// the whole databases.
    pub tables: Vec<(String, String)>,
    pub estimated_bytes: u64,
    pub verify: SeedVerify,
    pub kind: CopyKind,
}

#[derive(Debug, Clone)]
pub enum CopyKind {
    Logical(logical::LogicalPlan),
    Backup(backup::BackupPlan),
    Clone(clone::ClonePlan),
}

impl CopyPlan {
    /// Lines for the review and `--dry-run`.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "method {} ({}); verify: {}",
            self.method.name(),
            self.why,
            match self.verify {
                SeedVerify::Rows => "row counts of every copied table",
                SeedVerify::Checksum => "row counts and checksums of every copied table",
            }
        )];
        match &self.kind {
            CopyKind::Logical(plan) => lines.extend(plan.describe()),
            CopyKind::Backup(plan) => lines.extend(plan.describe()),
            CopyKind::Clone(plan) => lines.extend(plan.describe()),
        }
        lines
    }
}

pub struct SeedResult {
    pub position: Position,
    pub bytes: u64,
    /// Until the data was in place on the slave (streamed, loaded or
    /// prepared), what a `tar | ssh` copy is compared with.
    pub copy_seconds: f64,
    /// The whole step, with the server's start on a physical copy and the
    /// check of the result.
    pub seconds: f64,
    /// What the check of the copy found ("12 tables, rows equal").
    pub verified: String,
}

/// Carries out a planned copy; the slave's journal records what a rollback
/// or a later run needs to know.
pub fn run(
    master: &mut Member,
    slave: &mut Member,
    journal: &mut Journal,
    copy: &CopyPlan,
    reporter: &dyn Reporter,
) -> Result<SeedResult> {
    match &copy.kind {
        CopyKind::Logical(plan) => logical::run(master, slave, journal, copy, plan, reporter),
        CopyKind::Backup(plan) => backup::run(master, slave, journal, copy, plan, reporter),
        CopyKind::Clone(plan) => clone::run(master, slave, journal, copy, plan, reporter),
    }
}

/// A 0600 client option file on a node that carries the admin password, so
/// it never appears on a command line. Removed when dropped.
pub struct ClientOptionFile<'a> {
    node: &'a dyn Node,
    user: String,
    path: Option<PathBuf>,
}

impl<'a> ClientOptionFile<'a> {
    pub fn create(
        node: &'a dyn Node,
        answers: &NodeAnswers,
        run_dir: &Path,
    ) -> Result<ClientOptionFile<'a>> {
        let user = answers.mysql_admin_user.clone();
        if answers.mysql_admin_password.is_empty() {
            return Ok(ClientOptionFile {
                node,
                user,
                path: None,
            });
        }
        // A copy left by a run that was killed holds the password: remove it.
        node.run(
            &["sh", "-c", "rm -f /var/lib/mysql-ha/runs/*/client.cnf"],
            None,
        )?;
        let path = run_dir.join("client.cnf");
        let text = format!(
            "[client]\nuser={}\npassword=\"{}\"\n",
            user,
            option_file_escape(&answers.mysql_admin_password)
        );
        node.write_atomic(&path, text.as_bytes(), 0o600, 0, 0)?;
        Ok(ClientOptionFile {
            node,
            user,
            path: Some(path),
        })
    }

    /// Options that go first on the client program's command line.
    pub fn options(&self) -> Vec<String> {
        match &self.path {
            Some(path) => vec![format!("--defaults-extra-file={}", path.display())],
            None => vec![format!("--user={}", self.user)],
        }
    }
}

impl Drop for ClientOptionFile<'_> {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = self.node.remove_file(path);
        }
    }
}

/// Escapes a value for a double-quoted option-file value (`#` and spaces
/// stay literal inside the quotes).
fn option_file_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `argv` with `options` right after the program name.
pub fn with_options(argv: &[String], options: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len() + options.len());
    if let Some((program, rest)) = argv.split_first() {
        out.push(program.clone());
        out.extend(options.iter().cloned());
        out.extend(rest.iter().cloned());
    }
    out
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = pipe.read_to_end(&mut buffer);
        buffer
    })
}

/// Bytes through every pipe of one copy, reported as progress events.
#[derive(Clone)]
pub struct Progress {
    copied: Arc<AtomicU64>,
    started: Instant,
    /// Seconds from the start until the data was in place, once known.
    in_place: Arc<std::sync::OnceLock<f64>>,
    estimated: u64,
    step: String,
}

impl Progress {
    pub fn new(step: &str, estimated: u64) -> Progress {
        Progress {
            copied: Arc::new(AtomicU64::new(0)),
            started: Instant::now(),
            in_place: Arc::new(std::sync::OnceLock::new()),
            estimated,
            step: step.to_string(),
        }
    }

    pub fn add(&self, bytes: u64) -> u64 {
        self.copied.fetch_add(bytes, Ordering::Relaxed) + bytes
    }

    pub fn bytes(&self) -> u64 {
        self.copied.load(Ordering::Relaxed)
    }

    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Marks the data as in place on the slave (the end of the copy
    /// proper; what follows is starting and checking).
    pub fn mark_in_place(&self) {
        let _ = self.in_place.set(self.seconds());
    }

    /// Seconds until the data was in place, or until now if not marked.
    pub fn copy_seconds(&self) -> f64 {
        self.in_place
            .get()
            .copied()
            .unwrap_or_else(|| self.seconds())
    }

    pub fn report(&self, reporter: &dyn Reporter) {
        let total = self.bytes();
        reporter.event(Event::Progress {
            step: self.step.clone(),
            bytes: total,
            total: (self.estimated > 0).then_some(self.estimated),
            bytes_per_second: total as f64 / self.seconds().max(0.001),
        });
    }
}

/// One end of a stream between the nodes: a started program, and how an
/// error names it.
pub struct StreamEnd<'a> {
    pub child: std::process::Child,
    pub host: &'a str,
    pub command: String,
}

/// Streams `producer`'s output (after `prefix`) into `consumer`'s input
/// through this process, counting the bytes, and waits for both. An error
/// names the end that stopped first: the consumer when it failed or stopped
/// reading (the producer's broken pipe follows from it), else the producer.
pub fn stream_between(
    mut producer: StreamEnd<'_>,
    mut consumer: StreamEnd<'_>,
    prefix: &[u8],
    progress: &Progress,
) -> Result<()> {
    let (Some(from), Some(into)) = (producer.child.stdout.take(), consumer.child.stdin.take())
    else {
        let _ = producer.child.kill();
        let _ = consumer.child.kill();
        return Err(crate::Error::Seed {
            node: consumer.host.to_string(),
            message: format!("pipes not available ({})", consumer.command),
        });
    };
    let producer_err = producer.child.stderr.take().map(drain);
    let consumer_err = consumer.child.stderr.take().map(drain);
    let consumer_out = consumer.child.stdout.take().map(drain);
    let copied = pump(prefix, from, into, progress);
    let produced = producer.child.wait();
    let consumed = consumer.child.wait();
    let producer_stderr = producer_err.and_then(|h| h.join().ok()).unwrap_or_default();
    let consumer_stderr = consumer_err.and_then(|h| h.join().ok()).unwrap_or_default();
    let _ = consumer_out.and_then(|h| h.join().ok());
    let produced = produced.map_err(|e| crate::Error::io(&producer.command, e))?;
    let consumed = consumed.map_err(|e| crate::Error::io(&consumer.command, e))?;
    // The end that stopped first is named: a slave that stops reading makes
    // the master's dump fail too ("Got errno 32 on write"), which is no
    // fault of the master.
    if blame_consumer_first(consumed.success(), &copied) {
        if !consumed.success() {
            let mut detail = crate::error::stderr_detail(&consumer_stderr);
            if !produced.success() {
                detail.push_str(&format!(
                    " (then `{}` on {} stopped too: it could no longer write)",
                    producer.command, producer.host
                ));
            }
            return Err(crate::Error::Command {
                host: consumer.host.to_string(),
                command: consumer.command.clone(),
                status: crate::error::exit_status(consumed.code()),
                detail,
            });
        }
        let message = copied.err().unwrap_or_default();
        return Err(crate::Error::Seed {
            node: consumer.host.to_string(),
            message: format!("{message} ({})", consumer.command),
        });
    }
    if !produced.success() {
        return Err(crate::Error::Command {
            host: producer.host.to_string(),
            command: producer.command.clone(),
            status: crate::error::exit_status(produced.code()),
            detail: crate::error::stderr_detail(&producer_stderr),
        });
    }
    copied.map_err(|message| crate::Error::Seed {
        node: producer.host.to_string(),
        message: format!("{message} ({})", producer.command),
    })
}

/// Whether the receiving end is the one to name: it failed, or the copy
/// broke writing to it (it stopped reading).
fn blame_consumer_first(consumer_ok: bool, copied: &std::result::Result<(), String>) -> bool {
    !consumer_ok
        || copied
            .as_ref()
            .is_err_and(|m| m.starts_with(WRITING_TO_SLAVE))
}

const WRITING_TO_SLAVE: &str = "writing to the slave";

/// Copies `from` into `into` (after `prefix`), counting the bytes. Returns
/// an error message when either side fails.
fn pump(
    prefix: &[u8],
    mut from: impl Read,
    mut into: impl Write,
    progress: &Progress,
) -> std::result::Result<(), String> {
    into.write_all(prefix)
        .map_err(|e| format!("{WRITING_TO_SLAVE}: {e}"))?;
    progress.add(prefix.len() as u64);
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("reading from the master: {e}")),
        };
        into.write_all(&buffer[..n])
            .map_err(|e| format!("{WRITING_TO_SLAVE}: {e}"))?;
        progress.add(n as u64);
    }
}

/// Runs `work` on every job, up to `workers` at once; the first error wins
/// and the other workers take no new job. Jobs never started are dropped
/// (a started dump is killed as it drops).
pub fn run_pooled<T: Send>(
    jobs: Vec<T>,
    workers: usize,
    work: impl Fn(T) -> Result<()> + Sync,
) -> Result<()> {
    let queue = std::sync::Mutex::new(jobs.into_iter().collect::<std::collections::VecDeque<_>>());
    let failure: std::sync::Mutex<Option<crate::Error>> = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| loop {
                if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                    return;
                }
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some(job) = next else { return };
                if let Err(err) = work(job) {
                    if let Ok(mut slot) = failure.lock() {
                        slot.get_or_insert(err);
                    }
                    return;
                }
            });
        }
    });
    drop(queue);
    match failure.into_inner() {
        Ok(Some(err)) => Err(err),
        Ok(None) => Ok(()),
        Err(_) => Err(crate::Error::Internal(
            "seed: a worker thread panicked".into(),
        )),
    }
}

/// Reports progress every 250 ms until `done` is set.
pub fn report_until(
    progress: &Progress,
    reporter: &dyn Reporter,
    done: &std::sync::atomic::AtomicBool,
) {
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(250));
        progress.report(reporter);
    }
}

/// The copy the slave gets: the method asked for, or the fastest that
/// applies for `auto` (a method asked for that cannot apply is an error
/// naming the reason).
pub fn copy_plan(pair: &mut Pair, databases: &[String], adding: bool) -> Result<CopyPlan> {
    let repl = pair.answers.replication.clone();
    let estimated_bytes = super::server_state::databases_size(pair.master.sql(), databases)?;
    let every_database = super::server_state::user_databases(pair.master.sql())?;
    let master_user_bytes =
        super::server_state::databases_size(pair.master.sql(), &every_database)?;
    let backup_blocker = match repl.seed {
        SeedMethod::Auto | SeedMethod::Backup => {
            backup::blocker(&mut pair.master, &mut pair.slave, adding)?
        }
        _ => Some("not asked for".into()),
    };
    let clone_blocker = match repl.seed {
        SeedMethod::Auto | SeedMethod::Clone => {
            clone::blocker(&mut pair.master, &mut pair.slave, adding)?
        }
        _ => Some("not asked for".into()),
    };
    let facts = choose::Facts {
        chosen_bytes: estimated_bytes,
        master_user_bytes,
        backup_blocker,
        clone_blocker,
    };
    let (method, why) = choose::choose(repl.seed, &facts).map_err(|message| Error::Answers {
        key: "replication.seed".into(),
        message,
    })?;
    let kind = match method {
        SeedMethod::Backup => {
            CopyKind::Backup(backup::plan(&mut pair.master, &mut pair.slave, databases)?)
        }
        SeedMethod::Clone => CopyKind::Clone(clone::plan(
            &mut pair.master,
            &mut pair.slave,
            databases,
            TlsFiles::from_answers(&pair.answers.replication)
                .as_ref()
                .map(TlsFiles::ca_text)
                .as_deref(),
        )?),
        SeedMethod::Parallel => CopyKind::Logical(logical::plan_parallel(
            &mut pair.master,
            &mut pair.slave,
            databases,
        )?),
        _ => CopyKind::Logical(logical::plan_dump(
            &mut pair.master,
            &mut pair.slave,
            databases,
        )?),
    };
    Ok(CopyPlan {
        method,
        why,
        databases: databases.to_vec(),
        tables: Vec::new(),
        estimated_bytes,
        verify: repl.verify,
        kind,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn option_file_values_keep_special_characters() {
        assert_eq!(option_file_escape(r#"a#b "c"\d"#), r#"a#b \"c\"\\d"#);
    }

    #[test]
    fn options_go_after_the_program() {
        let argv = vec!["mariadb-dump".to_string(), "shop".to_string()];
        assert_eq!(
            with_options(&argv, &["--user=root".to_string()]),
            vec!["mariadb-dump", "--user=root", "shop"]
        );
    }

    fn spawn(script: &str) -> std::process::Child {
        std::process::Command::new("sh")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    #[test]
    fn a_slave_that_stops_reading_is_blamed_not_the_master() {
        let producer = StreamEnd {
            child: spawn(
                "head -c 50000000 /dev/zero || { echo 'mariadb-dump: Got errno 32 on write' >&2; exit 2; }",
            ),
            host: "192.0.2.11",
            command: "mariadb-dump shop".into(),
        };
        let consumer = StreamEnd {
            child: spawn(
                "head -c 10 >/dev/null; echo 'ERROR 2013: Lost connection to server' >&2; exit 1",
            ),
            host: "192.0.2.12",
            command: "mariadb shop".into(),
        };
        let err = stream_between(producer, consumer, b"", &Progress::new("seed", 0)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("on 192.0.2.12: `mariadb shop` failed (exit 1)"),
            "{text}"
        );
        assert!(text.contains("Lost connection"), "{text}");
        assert!(!text.contains("Some("), "{text}");
    }

    #[test]
    fn a_failing_master_is_blamed_when_the_slave_read_everything() {
        let producer = StreamEnd {
            child: spawn("echo data; echo 'mariadb-dump: Got error 2013' >&2; exit 2"),
            host: "192.0.2.11",
            command: "mariadb-dump shop".into(),
        };
        let consumer = StreamEnd {
            child: spawn("cat >/dev/null"),
            host: "192.0.2.12",
            command: "mariadb shop".into(),
        };
        let err = stream_between(producer, consumer, b"", &Progress::new("seed", 0)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("on 192.0.2.11: `mariadb-dump shop` failed (exit 2)"),
            "{err}"
        );
    }

    #[test]
    fn pump_counts_prefix_and_stream() {
        let progress = Progress::new("seed", 0);
        let mut out = Vec::new();
        pump(b"ab", &b"cdef"[..], &mut out, &progress).unwrap();
        assert_eq!(out, b"abcdef");
        assert_eq!(progress.bytes(), 6);
    }
}
