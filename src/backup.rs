//! Backups, atomic file changes and the run journal.
//!
//! Before a file changes, its original (bytes, mode, owner, or the fact that
//! it did not exist) is copied to `/var/lib/mysql-ha/runs/RUN_ID/backup/PATH`
//! on the same node, and `/var/lib/mysql-ha/runs/RUN_ID/journal.jsonl`
//! records it; then the new contents replace the file atomically with the
//! original's mode and owner. [`rollback`] puts every file back exactly.
//! The journal also takes non-file changes (SQL, commands) so a whole run
//! can be reviewed.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::mycnf::FileEdit;
use crate::node::{FileKind, Node};
use crate::{Error, Result};

/// Where runs keep their journal and backups, on each node.
pub const RUNS_DIR: &str = "/var/lib/mysql-ha/runs";

/// Room kept free beyond the backups themselves.
const SPACE_MARGIN: u64 = 1 << 20;

/// A run identifier: `YYYYMMDD-HHMMSS-xxxx` (UTC, 4 random hex digits).
pub fn new_run_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rest = secs % 86_400;
    let suffix: u16 = rand::thread_rng().gen();
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}-{suffix:04x}",
        rest / 3600,
        (rest / 60) % 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Whether `run_id` has the shape of a run id (no path tricks).
pub fn valid_run_id(run_id: &str) -> bool {
    !run_id.is_empty()
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One thing a run did, in the order it did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JournalEntry {
    /// The original of `path` is saved (or it did not exist).
    FileBackedUp {
        path: PathBuf,
        existed: bool,
        /// Where the copy is, on the same node.
        backup: Option<PathBuf>,
        mode: u32,
        uid: u32,
        gid: u32,
        sha256: Option<String>,
    },
    /// `path` now holds new contents.
    FileChanged {
        path: PathBuf,
        before_sha256: Option<String>,
        after_sha256: String,
    },
    /// A rollback put `path` back (or removed it, when the run created it).
    FileRestored { path: PathBuf, removed: bool },
    /// An SQL statement ran (secrets masked), with what undoes it, decided
    /// from the server's state just before it ran. Journals of versions
    /// that recorded no undo have none: rollback keeps those statements.
    Sql {
        node: String,
        statement_masked: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<SqlUndo>,
    },
    /// A command ran (e.g. a service restart).
    Command {
        node: String,
        argv: Vec<String>,
        ok: bool,
        /// What it did to services and the host is journaled before it
        /// (`Effect` entries, none for most commands). False in journals
        /// of earlier versions: rollback reads such a command by its words.
        #[serde(default)]
        typed: bool,
    },
    /// Anything else worth keeping.
    Note { text: String },
    /// A physical seed moved the server's datadir to `before` (on the same
    /// node) and put a copy of the master's in its place.
    DatadirReplaced { datadir: PathBuf, before: PathBuf },
    /// A copy of `databases` from `source` began on this node (a slave).
    SeedStarted {
        databases: Vec<String>,
        source: String,
    },
    /// That copy finished: replication runs from its position.
    SeedFinished {
        databases: Vec<String>,
        source: String,
    },
    /// What the next command does to a service or the host, recorded
    /// before it runs: what rollback undoes (see CommandEffect).
    Effect { effect: CommandEffect },
    /// A rollback undid `what` (a statement of the run as the plan shows
    /// it, or a plugin's install): a later pass of the same rollback, after
    /// a failure, does not undo it twice.
    Undone { what: String },
}

/// What a run's command did to a service or the host, as rollback reads
/// it: the command's words are never parsed for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum CommandEffect {
    /// Started `service`, which did not run: rollback stops it.
    Started { service: String, systemd: bool },
    /// Restarted `service`, which ran before: rollback starts it again
    /// once the run's files are back (our daemon: stopped first).
    Restarted { service: String, systemd: bool },
    /// Stopped `service`, which ran: rollback starts it again, last.
    Stopped { service: String, systemd: bool },
    /// Registered `service` to start at boot: rollback unregisters it
    /// when the run started it.
    AtBoot { service: String, link: BootLink },
    /// Took `service` off boot: rollback puts it back.
    OffBoot { service: String, link: BootLink },
    /// Made this directory (a certificate database): rollback removes it.
    Made { path: PathBuf },
}

/// How a host starts a service at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootLink {
    Systemd,
    UpdateRcD,
    Chkconfig,
}

/// What rollback does about one journaled statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "undo", rename_all = "snake_case")]
pub enum SqlUndo {
    /// Nothing to undo: session settings, starting or stopping replication,
    /// a reload, settings the restored option files and restart take back.
    Nothing,
    /// Stays as the run left it, and rollback says so.
    Kept,
    /// These statements, in order, put back what it changed. `restores`:
    /// the thing they put back whole (an account, the replica's
    /// connection): of several statements of a run on it, the undo of the
    /// first is the one that counts.
    Run {
        statements: Vec<UndoStatement>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restores: Option<String>,
    },
    /// The run installed this plugin: disabled and uninstalled, after every
    /// other statement (replication uses it until then).
    Uninstall { plugin: String },
}

/// An undo statement: `real` may hold a password hash (the journal is
/// root's alone); `shown` is what a plan prints.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoStatement {
    pub shown: String,
    pub real: String,
}

impl std::fmt::Debug for UndoStatement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UndoStatement({:?})", self.shown)
    }
}

impl UndoStatement {
    /// The statements as a plan shows them, `; ` between.
    pub fn shown_all(statements: &[UndoStatement]) -> String {
        statements
            .iter()
            .map(|s| s.shown.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn plain(sql: impl Into<String>) -> UndoStatement {
        let sql = sql.into();
        UndoStatement {
            shown: sql.clone(),
            real: sql,
        }
    }
}

/// A journal line: when, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRecord {
    /// Seconds since the Unix epoch.
    pub at: u64,
    #[serde(flatten)]
    pub entry: JournalEntry,
}

/// The journal of one run on one node.
#[derive(Debug, Clone)]
pub struct Journal {
    pub run_id: String,
    pub dir: PathBuf,
    records: Vec<JournalRecord>,
}

impl Journal {
    /// The folder of a run on a node.
    pub fn run_dir(run_id: &str) -> PathBuf {
        Path::new(RUNS_DIR).join(run_id)
    }

    fn path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    /// Starts (or continues) the journal of `run_id` on `node`.
    pub fn create(node: &dyn Node, run_id: &str) -> Result<Journal> {
        if !valid_run_id(run_id) {
            return Err(Error::Usage(format!(
                "`{run_id}` is not a run id (they look like 20261130-141500-ab12)"
            )));
        }
        let dir = Self::run_dir(run_id);
        node.create_dir_all(&dir, 0o700)?;
        node.create_dir_all(&dir.join("backup"), 0o700)?;
        match Self::open(node, run_id) {
            Ok(journal) => Ok(journal),
            Err(Error::RunNotFound { .. }) => Ok(Journal {
                run_id: run_id.to_string(),
                dir,
                records: Vec::new(),
            }),
            Err(other) => Err(other),
        }
    }

    /// Reads the journal of an earlier run.
    pub fn open(node: &dyn Node, run_id: &str) -> Result<Journal> {
        let not_found = || Error::RunNotFound {
            node: node.label().to_string(),
            run_id: run_id.to_string(),
            runs_dir: PathBuf::from(RUNS_DIR),
        };
        if !valid_run_id(run_id) {
            return Err(not_found());
        }
        let dir = Self::run_dir(run_id);
        let path = dir.join("journal.jsonl");
        let bytes = node.read(&path)?.ok_or_else(not_found)?;
        let text = String::from_utf8_lossy(&bytes);
        let mut records = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record = serde_json::from_str(line).map_err(|e| Error::BadJournal {
                node: node.label().to_string(),
                path: path.clone(),
                line: index + 1,
                reason: e.to_string(),
            })?;
            records.push(record);
        }
        Ok(Journal {
            run_id: run_id.to_string(),
            dir,
            records,
        })
    }

    /// Appends an entry and saves the journal (atomically) on `node`.
    pub fn record(&mut self, node: &dyn Node, entry: JournalEntry) -> Result<()> {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.records.push(JournalRecord { at, entry });
        let mut text = String::new();
        for record in &self.records {
            let line = serde_json::to_string(record)
                .map_err(|e| Error::Internal(format!("journal: {e}")))?;
            text.push_str(&line);
            text.push('\n');
        }
        node.write_atomic(&self.path(), text.as_bytes(), 0o600, 0, 0)
            .or_else(|_| {
                // Not root (a --root tree of one's own): keep the caller's owner.
                let (uid, gid) = (
                    nix::unistd::getuid().as_raw(),
                    nix::unistd::getgid().as_raw(),
                );
                node.write_atomic(&self.path(), text.as_bytes(), 0o600, uid, gid)
            })
    }

    pub fn records(&self) -> &[JournalRecord] {
        &self.records
    }

    /// Where the original of `path` is kept.
    pub fn backup_path(&self, path: &Path) -> PathBuf {
        let relative: PathBuf = path
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .collect();
        self.dir.join("backup").join(relative)
    }

    fn backed_up(&self, path: &Path) -> bool {
        self.records
            .iter()
            .any(|r| matches!(&r.entry, JournalEntry::FileBackedUp { path: p, .. } if p == path))
    }
}

/// Checks, before anything changes, that every file of `edits` still holds
/// what the plan was made from, can be read, and that its backup fits.
pub fn check_edits(node: &dyn Node, journal: &Journal, edits: &[FileEdit]) -> Result<()> {
    let mut need = SPACE_MARGIN;
    for edit in edits {
        let unbackupable = |reason: String| Error::Unbackupable {
            node: node.label().to_string(),
            path: edit.path.clone(),
            reason,
        };
        let stat = node.stat(&edit.path)?;
        if let Some(stat) = &stat {
            if stat.kind != FileKind::File {
                return Err(unbackupable("it is not a regular file".into()));
            }
        }
        let current = node
            .read(&edit.path)
            .map_err(|e| unbackupable(e.to_string()))?;
        if current != edit.before {
            return Err(Error::ChangedSincePlan {
                node: node.label().to_string(),
                path: edit.path.clone(),
            });
        }
        if !journal.backed_up(&edit.path) {
            need += current.map(|b| b.len() as u64).unwrap_or(0);
        }
    }
    let free = node.free_bytes(&journal.dir)?;
    if free < need {
        let path = edits.first().map(|e| e.path.clone()).unwrap_or_default();
        return Err(Error::NoSpaceForBackup {
            node: node.label().to_string(),
            path,
            backup_dir: journal.dir.join("backup"),
            need,
            free,
        });
    }
    Ok(())
}

/// Backs up the file of `edit` (once per run) and writes its new contents
/// atomically with the original's mode and owner.
pub fn apply_file_edit(node: &dyn Node, journal: &mut Journal, edit: &FileEdit) -> Result<()> {
    apply_file_edit_as(node, journal, edit, None)
}

/// Like `apply_file_edit`, but a file the edit creates gets this mode and
/// owner (uid, gid) from its first byte on (for files that hold secrets).
pub fn apply_file_edit_as(
    node: &dyn Node,
    journal: &mut Journal,
    edit: &FileEdit,
    new_file: Option<(u32, u32, u32)>,
) -> Result<()> {
    check_edits(node, journal, std::slice::from_ref(edit))?;
    let stat = node.stat(&edit.path)?;
    let (mode, uid, gid) = match (&stat, new_file) {
        (Some(stat), _) => (stat.mode, stat.uid, stat.gid),
        (None, Some(wanted)) => wanted,
        (None, None) => {
            // A new file: readable like the option files, owned like its folder.
            let parent = edit.path.parent().unwrap_or_else(|| Path::new("/"));
            let dir = node.stat(parent)?.ok_or_else(|| Error::Unbackupable {
                node: node.label().to_string(),
                path: edit.path.clone(),
                reason: format!("its folder {} does not exist", parent.display()),
            })?;
            (0o644, dir.uid, dir.gid)
        }
    };
    if !journal.backed_up(&edit.path) {
        let (backup, sha256) = match &edit.before {
            Some(bytes) => {
                let backup = journal.backup_path(&edit.path);
                if let Some(parent) = backup.parent() {
                    node.create_dir_all(parent, 0o700)?;
                }
                node.write_atomic(&backup, bytes, 0o600, uid, gid)?;
                (Some(backup), Some(sha256_hex(bytes)))
            }
            None => (None, None),
        };
        journal.record(
            node,
            JournalEntry::FileBackedUp {
                path: edit.path.clone(),
                existed: edit.before.is_some(),
                backup,
                mode,
                uid,
                gid,
                sha256,
            },
        )?;
    }
    node.write_atomic(&edit.path, &edit.after, mode, uid, gid)?;
    journal.record(
        node,
        JournalEntry::FileChanged {
            path: edit.path.clone(),
            before_sha256: edit.before.as_deref().map(sha256_hex),
            after_sha256: sha256_hex(&edit.after),
        },
    )
}

/// Applies every edit, after checking all of them first.
pub fn apply_file_edits(node: &dyn Node, journal: &mut Journal, edits: &[FileEdit]) -> Result<()> {
    check_edits(node, journal, edits)?;
    for edit in edits {
        apply_file_edit(node, journal, edit)?;
    }
    Ok(())
}

/// A file a rollback put back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    pub path: PathBuf,
    /// The run had created it: it is gone again.
    pub removed: bool,
    /// Someone changed the file after the run: those later changes are undone too.
    pub changed_since_run: bool,
}

/// The most recent run on `node`, if any.
pub fn latest_run(node: &dyn Node) -> Result<Option<String>> {
    Ok(runs(node)?.pop())
}

/// Every run recorded on a node, oldest first.
pub fn runs(node: &dyn Node) -> Result<Vec<String>> {
    let mut runs: Vec<String> = node
        .list_dir(Path::new(RUNS_DIR))?
        .into_iter()
        .filter(|name| valid_run_id(name))
        .collect();
    runs.sort();
    Ok(runs)
}

/// A copy a journal records: started (`SeedStarted`) or finished
/// (`SeedFinished`), with its databases. Journals written before these
/// entries were typed recorded them as notes ("seed A, B from HOST",
/// "seeded ..."): read back here only, for those journals.
pub fn seed_record(entry: &JournalEntry) -> Option<(bool, Vec<String>)> {
    let legacy = |text: &str, prefix: &str| -> Option<Vec<String>> {
        text.strip_prefix(prefix)
            .and_then(|t| t.rsplit_once(" from "))
            .map(|(list, _)| list.split(", ").map(str::to_string).collect())
    };
    match entry {
        JournalEntry::SeedStarted { databases, .. } => Some((false, databases.clone())),
        JournalEntry::SeedFinished { databases, .. } => Some((true, databases.clone())),
        JournalEntry::Note { text } => legacy(text, "seed ")
            .map(|dbs| (false, dbs))
            .or_else(|| legacy(text, "seeded ").map(|dbs| (true, dbs))),
        _ => None,
    }
}

/// Databases whose copy a run on this node started and never finished,
/// with that run.
pub fn unfinished_seeds(node: &dyn Node) -> Result<Vec<(String, String)>> {
    let mut unfinished: Vec<(String, String)> = Vec::new();
    for run_id in runs(node)? {
        let Ok(journal) = Journal::open(node, &run_id) else {
            continue;
        };
        for record in journal.records() {
            let Some((finished, databases)) = seed_record(&record.entry) else {
                continue;
            };
            for db in databases {
                unfinished.retain(|(name, _)| *name != db);
                if !finished {
                    unfinished.push((db, run_id.clone()));
                }
            }
        }
    }
    Ok(unfinished)
}

/// Puts back every file run `run_id` changed on `node`: bytes, mode and
/// owner; removes files the run created. Returns what it restored.
pub fn rollback(node: &dyn Node, run_id: &str) -> Result<Vec<Restored>> {
    restore_files(node, &mut Journal::open(node, run_id)?)
}

/// `rollback` through a journal the caller holds open: its own record of
/// the restore lands in it (a second copy of the journal, written after,
/// would drop it).
pub fn restore_files(node: &dyn Node, journal: &mut Journal) -> Result<Vec<Restored>> {
    let backups: Vec<JournalEntry> = journal
        .records()
        .iter()
        .filter(|r| matches!(r.entry, JournalEntry::FileBackedUp { .. }))
        .map(|r| r.entry.clone())
        .collect();
    // Check every backup is there before touching anything.
    let mut restores = Vec::new();
    for entry in backups.iter().rev() {
        if let JournalEntry::FileBackedUp {
            path,
            existed,
            backup,
            mode,
            uid,
            gid,
            sha256,
        } = entry
        {
            let bytes = match (existed, backup) {
                (true, Some(backup)) => {
                    let bytes = node.read(backup)?.ok_or_else(|| Error::Unbackupable {
                        node: node.label().to_string(),
                        path: path.clone(),
                        reason: format!("its backup {} is missing", backup.display()),
                    })?;
                    if sha256.as_deref() != Some(sha256_hex(&bytes).as_str()) {
                        return Err(Error::Unbackupable {
                            node: node.label().to_string(),
                            path: path.clone(),
                            reason: format!("its backup {} is damaged", backup.display()),
                        });
                    }
                    Some(bytes)
                }
                _ => None,
            };
            restores.push((path.clone(), bytes, *mode, *uid, *gid));
        }
    }
    let mut restored = Vec::new();
    for (path, bytes, mode, uid, gid) in restores {
        let last_written = journal.records().iter().rev().find_map(|r| match &r.entry {
            JournalEntry::FileChanged {
                path: p,
                after_sha256,
                ..
            } if *p == path => Some(after_sha256.clone()),
            _ => None,
        });
        let current = node.read(&path)?.map(|b| sha256_hex(&b));
        let changed_since_run = match (&last_written, &current) {
            (Some(written), Some(now)) => written != now,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let removed = match bytes {
            Some(bytes) => {
                node.write_atomic(&path, &bytes, mode, uid, gid)?;
                false
            }
            None => {
                node.remove_file(&path)?;
                true
            }
        };
        journal.record(
            node,
            JournalEntry::FileRestored {
                path: path.clone(),
                removed,
            },
        )?;
        restored.push(Restored {
            path,
            removed,
            changed_since_run,
        });
    }
    Ok(restored)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::node::LocalNode;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_copy_started_and_not_finished_is_unfinished_typed_or_as_an_older_note() {
        let dir = tempfile::tempdir().unwrap();
        let node = LocalNode::with_root(dir.path());
        let mut old = Journal::create(&node, "20261101-100000-aaaa").unwrap();
        for text in ["seed shop, crm from node1", "seeded shop from node1"] {
            old.record(&node, JournalEntry::Note { text: text.into() })
                .unwrap();
        }
        let mut new = Journal::create(&node, "20261102-100000-bbbb").unwrap();
        new.record(
            &node,
            JournalEntry::SeedStarted {
                databases: vec!["web".into()],
                source: "node1".into(),
            },
        )
        .unwrap();
        assert_eq!(
            unfinished_seeds(&node).unwrap(),
            [
                ("crm".to_string(), "20261101-100000-aaaa".to_string()),
                ("web".to_string(), "20261102-100000-bbbb".to_string())
            ]
        );
        new.record(
            &node,
            JournalEntry::SeedFinished {
                databases: vec!["web".into()],
                source: "node1".into(),
            },
        )
        .unwrap();
        assert_eq!(unfinished_seeds(&node).unwrap().len(), 1);
    }

    #[test]
    fn run_ids_sort_by_time_and_have_the_documented_shape() {
        let id = new_run_id();
        let re = regex::Regex::new(r"^\d{8}-\d{6}-[0-9a-f]{4}$").unwrap();
        assert!(re.is_match(&id), "{id}");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_417), (2025, 11, 25));
        assert!(!valid_run_id("../etc"));
    }

    #[test]
    fn apply_then_rollback_restores_bytes_mode_and_removes_created_files() {
        let dir = tempfile::tempdir().unwrap();
        let node = LocalNode::with_root(dir.path());
        let host = dir.path().join("etc/my.cnf");
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        std::fs::write(&host, b"[mysqld]\r\nx=1").unwrap();
        std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o640)).unwrap();
        let run = new_run_id();
        let mut journal = Journal::create(&node, &run).unwrap();
        let edits = vec![
            FileEdit {
                path: "/etc/my.cnf".into(),
                before: Some(b"[mysqld]\r\nx=1".to_vec()),
                after: b"[mysqld]\r\nx=2\r\n".to_vec(),
            },
            FileEdit {
                path: "/etc/new.cnf".into(),
                before: None,
                after: b"[mysqld]\n".to_vec(),
            },
        ];
        apply_file_edits(&node, &mut journal, &edits).unwrap();
        journal
            .record(
                &node,
                JournalEntry::Sql {
                    node: "node1".into(),
                    statement_masked: "CREATE USER 'repl'@'%' IDENTIFIED BY '***'".into(),
                    undo: Some(SqlUndo::Run {
                        statements: vec![UndoStatement::plain("DROP USER IF EXISTS 'repl'@'%'")],
                        restores: Some("'repl'@'%'".into()),
                    }),
                },
            )
            .unwrap();
        assert_eq!(std::fs::read(&host).unwrap(), b"[mysqld]\r\nx=2\r\n");
        let meta = std::fs::metadata(&host).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        let backup_dir = dir
            .path()
            .join("var/lib/mysql-ha/runs")
            .join(&run)
            .join("backup");
        assert_eq!(
            std::fs::metadata(&backup_dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        // A stale plan is refused before anything changes.
        let err = apply_file_edits(&node, &mut journal, &edits).unwrap_err();
        assert!(matches!(err, Error::ChangedSincePlan { .. }), "{err}");

        assert_eq!(latest_run(&node).unwrap().as_deref(), Some(run.as_str()));
        let restored = rollback(&node, &run).unwrap();
        assert_eq!(restored.len(), 2);
        assert_eq!(std::fs::read(&host).unwrap(), b"[mysqld]\r\nx=1");
        assert_eq!(
            std::fs::metadata(&host).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        assert!(!dir.path().join("etc/new.cnf").exists());
        let journal = Journal::open(&node, &run).unwrap();
        assert!(journal
            .records()
            .iter()
            .any(|r| matches!(r.entry, JournalEntry::Sql { .. })));
        assert!(matches!(
            rollback(&node, "20000101-000000-0000"),
            Err(Error::RunNotFound { .. })
        ));
    }
}
