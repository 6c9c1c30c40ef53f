//! One mutating run per cluster at a time: a lock file on each node, taken
//! before the first change (master first, then slave, so two runs never
//! wait on each other), holding the run id, the host and pid of the process
//! running it, the command and when it started. A lock whose process is
//! gone (killed run) is recognised as stale and taken over.

use std::path::{Path, PathBuf};

use crate::node::Node;
use crate::{Error, Result};

/// Where each node keeps the lock.
pub const LOCK_PATH: &str = "/var/lib/mysql-ha/run.lock";

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub run_id: String,
    /// Host name of the machine the run's process runs on.
    pub host: String,
    pub pid: u32,
    /// When that process started (clock ticks after boot, /proc/PID/stat):
    /// tells a live run from a new process that got the same pid.
    pub pid_start: u64,
    /// `setup`, `rollback`, ...
    pub command: String,
    /// Seconds since the epoch.
    pub started: u64,
}

impl Owner {
    /// This process, running `command` as run `run_id`.
    pub fn this_process(run_id: &str, command: &str) -> Owner {
        Owner {
            run_id: run_id.to_string(),
            host: this_host(),
            pid: std::process::id(),
            pid_start: process_start(std::process::id()).unwrap_or(0),
            command: command.to_string(),
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }

    fn to_text(&self) -> String {
        format!(
            "run = {}\nhost = {}\npid = {}\npid_start = {}\ncommand = {}\nstarted = {}\n",
            self.run_id, self.host, self.pid, self.pid_start, self.command, self.started
        )
    }

    /// None when the text is not a lock this tool wrote.
    fn parse(text: &str) -> Option<Owner> {
        let value = |key: &str| {
            text.lines().find_map(|line| {
                let (k, v) = line.split_once('=')?;
                (k.trim() == key).then(|| v.trim().to_string())
            })
        };
        Some(Owner {
            run_id: value("run")?,
            host: value("host")?,
            pid: value("pid")?.parse().ok()?,
            pid_start: value("pid_start").and_then(|s| s.parse().ok()).unwrap_or(0),
            command: value("command").unwrap_or_default(),
            started: value("started").and_then(|s| s.parse().ok()).unwrap_or(0),
        })
    }
}

/// This machine's host name (as the kernel of its UTS namespace says).
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The start time (field 22) in the text of a /proc/PID/stat.
fn start_of_stat(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces: count after its ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// When a process of this machine started, if it runs.
fn process_start(pid: u32) -> Option<u64> {
    start_of_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn same_process(owner: &Owner, start: Option<u64>) -> bool {
    start.is_some_and(|start| owner.pid_start == 0 || start == owner.pid_start)
}

/// Whether the lock's process still runs on this machine (the same pid,
/// started at the same time).
pub fn alive_here(owner: &Owner) -> bool {
    same_process(owner, process_start(owner.pid))
}

/// Whether the lock's process runs, asked where it ran: this machine, or
/// one of `nodes` whose host name is the lock's host. None: no way to tell
/// from here (a run from a machine outside the pair).
fn alive(owner: &Owner, nodes: &[(&str, &dyn Node)]) -> Option<bool> {
    if owner.host == this_host() {
        return Some(alive_here(owner));
    }
    for (_, node) in nodes {
        let name = node
            .read(Path::new("/proc/sys/kernel/hostname"))
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string());
        if name.as_deref() == Some(owner.host.as_str()) {
            let stat = node
                .read(Path::new(&format!("/proc/{}/stat", owner.pid)))
                .ok()?
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            return Some(same_process(owner, stat.as_deref().and_then(start_of_stat)));
        }
    }
    None
}

/// What a lock found on a node means for a new run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Held by a run that may still be running.
    Held(Owner),
    /// Left by a run whose process is gone: it may be taken over.
    Stale(Owner),
    /// Not a lock this tool wrote (empty, damaged): taken over.
    Unreadable,
}

/// Judges a lock's contents: a lock whose process is known gone is stale,
/// and so is the lock of `undoing` (the run a rollback undoes: it cannot be
/// running while it is undone); a lock whose process cannot be checked from
/// here is held.
pub fn judge(text: &str, undoing: Option<&str>, alive: &dyn Fn(&Owner) -> Option<bool>) -> Found {
    match Owner::parse(text) {
        None => Found::Unreadable,
        Some(owner) if undoing == Some(owner.run_id.as_str()) => Found::Stale(owner),
        Some(owner) if alive(&owner) == Some(false) => Found::Stale(owner),
        Some(owner) => Found::Held(owner),
    }
}

fn held_error(node: &str, path: &Path, owner: &Owner, here: &str) -> Error {
    let how_to_clear = if owner.host == here {
        String::new()
    } else {
        format!(
            "; if no mysql-ha runs on {} (pid {}) any more, remove {} on {node} and run again",
            owner.host,
            owner.pid,
            path.display()
        )
    };
    Error::Cluster {
        message: format!(
            "run {} (`mysql-ha {}` on {}, pid {}) is changing this cluster (lock {} on {node}): wait until it ends, nothing was changed{how_to_clear}",
            owner.run_id,
            owner.command,
            owner.host,
            owner.pid,
            path.display()
        ),
    }
}

/// Fails when a live run holds the lock on one of these nodes (a check
/// before planning; `acquire` is what excludes).
pub fn check_free(nodes: &[(&str, &dyn Node)]) -> Result<()> {
    let here = this_host();
    let path = Path::new(LOCK_PATH);
    for (label, node) in nodes {
        if let Some(bytes) = node.read(path)? {
            let found = judge(&String::from_utf8_lossy(&bytes), None, &|o| alive(o, nodes));
            if let Found::Held(owner) = found {
                if owner.pid != std::process::id() || owner.host != here {
                    return Err(held_error(label, path, &owner, &here));
                }
            }
        }
    }
    Ok(())
}

/// The locks one run holds; released with `release` (a killed run leaves
/// them behind, stale).
#[derive(Debug)]
pub struct RunLock {
    owner: Owner,
    /// (node label, lock path) in the order taken.
    taken: Vec<(String, PathBuf)>,
}

impl RunLock {
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// Takes the lock on every node, in order; when one is held by a live
    /// run, releases those taken and fails naming that run.
    /// Each target is (label for messages, node, lock path).
    pub fn acquire(targets: &[(&str, &dyn Node, PathBuf)], owner: Owner) -> Result<RunLock> {
        Self::acquire_undoing(targets, owner, None)
    }

    /// `acquire` for the rollback of `undoing`, whose own lock (left by it
    /// when it was killed) is taken over.
    pub fn acquire_undoing(
        targets: &[(&str, &dyn Node, PathBuf)],
        owner: Owner,
        undoing: Option<&str>,
    ) -> Result<RunLock> {
        let mut lock = RunLock {
            owner,
            taken: Vec::new(),
        };
        let nodes: Vec<(&str, &dyn Node)> = targets.iter().map(|(l, n, _)| (*l, *n)).collect();
        for (label, node, path) in targets {
            if let Err(err) = take(label, *node, path, &lock.owner, undoing, &nodes) {
                lock.release(&nodes);
                return Err(err);
            }
            lock.taken.push((label.to_string(), path.clone()));
        }
        Ok(lock)
    }

    /// Removes the locks this run took (only while they are still its own).
    pub fn release(self, nodes: &[(&str, &dyn Node)]) {
        for (label, path) in &self.taken {
            let Some((_, node)) = nodes.iter().find(|(l, _)| l == label) else {
                continue;
            };
            let ours = node
                .read(path)
                .ok()
                .flatten()
                .and_then(|b| Owner::parse(&String::from_utf8_lossy(&b)))
                .is_some_and(|o| o.run_id == self.owner.run_id && o.pid == self.owner.pid);
            if ours {
                let _ = node.remove_file(path);
            }
        }
    }
}

/// Creates the lock file only if it does not exist (the shell's noclobber
/// is an O_EXCL open); a stale one is removed and the creation tried again.
fn take(
    label: &str,
    node: &dyn Node,
    path: &Path,
    owner: &Owner,
    undoing: Option<&str>,
    nodes: &[(&str, &dyn Node)],
) -> Result<()> {
    let here = this_host();
    let path_text = path.to_string_lossy().into_owned();
    if let Some(parent) = path.parent() {
        node.create_dir_all(parent, 0o755)?;
    }
    for _ in 0..2 {
        let out = node.run(
            &[
                "sh",
                "-c",
                // Drain stdin when the file exists, so the writer never sees
                // a broken pipe.
                "set -C; { cat > \"$1\"; } 2>/dev/null || { cat >/dev/null; exit 1; }",
                "mysql-ha-lock",
                &path_text,
            ],
            Some(owner.to_text().as_bytes()),
        )?;
        if out.success() {
            return Ok(());
        }
        let Some(bytes) = node.read(path)? else {
            // Released between the two calls: try again.
            continue;
        };
        match judge(&String::from_utf8_lossy(&bytes), undoing, &|o| {
            alive(o, nodes)
        }) {
            Found::Held(held) => return Err(held_error(label, path, &held, &here)),
            Found::Stale(_) | Found::Unreadable => node.remove_file(path)?,
        }
    }
    Err(Error::Cluster {
        message: format!(
            "cannot take the run lock {} on {}: another run keeps taking it; run again",
            path.display(),
            label
        ),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::node::LocalNode;

    fn owner(run: &str, host: &str, pid: u32) -> Owner {
        Owner {
            run_id: run.into(),
            host: host.into(),
            pid,
            pid_start: 7,
            command: "setup".into(),
            started: 1,
        }
    }

    #[test]
    fn a_lock_of_a_dead_process_here_is_stale() {
        let text = owner("r1", "node1", 4242).to_text();
        assert_eq!(
            judge(&text, None, &|_| Some(false)),
            Found::Stale(owner("r1", "node1", 4242))
        );
        assert_eq!(
            judge(&text, None, &|_| Some(true)),
            Found::Held(owner("r1", "node1", 4242))
        );
        // A process that cannot be checked from here holds its lock...
        assert!(matches!(judge(&text, None, &|_| None), Found::Held(_)));
        // ...unless its run is the one being rolled back.
        assert!(matches!(
            judge(&text, Some("r1"), &|_| None),
            Found::Stale(_)
        ));
        assert!(matches!(
            judge(&text, Some("r2"), &|_| None),
            Found::Held(_)
        ));
        assert_eq!(judge("garbage", None, &|_| Some(true)), Found::Unreadable);
    }

    #[test]
    fn a_second_run_is_refused_naming_the_first_and_takes_over_a_stale_lock() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a/run.lock"), dir.path().join("b/run.lock"));
        let node = LocalNode::new();
        let targets = vec![
            ("node1", &node as &dyn Node, a.clone()),
            ("node2", &node as &dyn Node, b.clone()),
        ];
        let nodes = [("node1", &node as &dyn Node), ("node2", &node as &dyn Node)];
        let first = RunLock::acquire(&targets, Owner::this_process("run-1", "setup")).unwrap();
        let err = RunLock::acquire(&targets, Owner::this_process("run-2", "setup")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("run run-1") && text.contains("`mysql-ha setup`"),
            "{text}"
        );
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(a.exists() && b.exists(), "the first run's locks stay");
        first.release(&nodes);
        assert!(!a.exists() && !b.exists());

        // A killed run's lock (its pid is gone) is taken over.
        std::fs::create_dir_all(a.parent().unwrap()).unwrap();
        let dead = owner("run-killed", &this_host(), u32::MAX - 1);
        std::fs::write(&a, dead.to_text()).unwrap();
        let second = RunLock::acquire(&targets, Owner::this_process("run-3", "setup")).unwrap();
        assert!(std::fs::read_to_string(&a).unwrap().contains("run-3"));
        // The second node's lock being held by a live run releases the first.
        second.release(&nodes);
        std::fs::create_dir_all(b.parent().unwrap()).unwrap();
        std::fs::write(&b, owner("run-elsewhere", "another-host", 1).to_text()).unwrap();
        let err = RunLock::acquire(&targets, Owner::this_process("run-4", "setup")).unwrap_err();
        assert!(err.to_string().contains("remove"), "{err}");
        assert!(!a.exists(), "nothing half taken");
    }
}
