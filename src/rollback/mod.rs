//! Undoing a run from its journals alone. `survey` reads the run's journal
//! on each host and the few facts its undo depends on, and refuses before
//! any change when a later run or a hand edit built on the run's files;
//! `build::build` turns that into a plan of typed changes, shown by the
//! one renderer and applied by the one executor, which journals the undo
//! in the undone run's own journal (a later pass after a failure does not
//! undo twice what the first one did).

pub mod build;
pub mod effects;

use std::path::{Path, PathBuf};

use crate::backup::{self, Journal, JournalEntry};
use crate::events::Reporter;
use crate::node::Node;
use crate::operation::apply::{self, Hosts};
use crate::operation::journals::Journals;
use crate::operation::pair::Member;
use crate::operation::plan::{Plan, Side};
use crate::{Error, Result};

/// What the undo of a run knows of its hosts.
pub struct Survey {
    pub run_id: String,
    pub hosts: Vec<HostSurvey>,
    /// One node alone (`rollback RUN_ID` on it), named "node".
    pub single: bool,
}

impl Survey {
    pub fn side_name(&self, side: Side) -> &'static str {
        if self.single {
            "this node"
        } else {
            side.name()
        }
    }

    /// The run's journals, by side, for the executor.
    pub fn journals(&self) -> Journals {
        Journals::of_sides(
            self.hosts
                .iter()
                .filter_map(|h| h.journal.clone().map(|j| (h.side, j)))
                .collect(),
        )
    }
}

pub struct HostSurvey {
    pub side: Side,
    pub label: String,
    /// The run's journal here; None: it recorded no change here.
    pub journal: Option<Journal>,
    /// Its server, when it answers; None: only files are undone here.
    pub server: Option<ServerFacts>,
    /// The server's service commands, when known.
    pub service: Option<crate::profile::Service>,
    /// Files only, on the node itself: the run had stopped the server,
    /// which does not answer now.
    pub server_down_by_run: bool,
    /// systemd runs the host.
    pub systemd: bool,
    /// The witness's own unit is installed (the witness host).
    pub witness_unit: bool,
    /// The cluster address the answers give (CIDR, device), released once
    /// the daemon the run installed stops (a stopped daemon keeps it).
    pub address: Option<(String, String)>,
    /// The address Pacemaker placed, as the run's cluster.toml says.
    pub pacemaker_address: Option<(String, String)>,
}

pub struct ServerFacts {
    /// MySQL's super_read_only is on (a slave's): lifted for the undo.
    pub super_read_only: bool,
}

impl HostSurvey {
    /// Reads `run_id`'s journal on `node` and what its undo depends on;
    /// refuses (unless `force`) when a later run or a hand edit changed the
    /// run's files.
    pub fn read(
        side: Side,
        label: &str,
        node: &dyn Node,
        run_id: &str,
        force: bool,
    ) -> Result<HostSurvey> {
        let journal = journal_if_any(node, run_id)?;
        if let Some(journal) = &journal {
            check_restorable(node, journal, force)?;
        }
        let systemd = node.stat(Path::new("/run/systemd/system"))?.is_some();
        let witness_unit = node
            .stat(Path::new(crate::vote::witness::SYSTEMD_UNIT))?
            .is_some();
        let pacemaker_address = node
            .read(Path::new(crate::daemon::config::DEFAULT_PATH))?
            .and_then(|b| {
                crate::daemon::config::ClusterConfig::parse(&String::from_utf8_lossy(&b)).ok()
            })
            .map(|c| c.cluster)
            .filter(|c| c.resource == crate::answers::Resource::Vip)
            .map(|c| (c.vip, c.device));
        Ok(HostSurvey {
            side,
            label: label.to_string(),
            journal,
            server: None,
            service: None,
            server_down_by_run: false,
            systemd,
            witness_unit,
            address: None,
            pacemaker_address,
        })
    }

    /// With the node's server, which answers: its statements are undone
    /// and it restarts on the restored files.
    pub fn with_server(mut self, member: &mut Member) -> Result<HostSurvey> {
        let super_read_only = member.sql().flavor().family == crate::sql::Family::MySql
            && member
                .sql()
                .scalar("SELECT @@GLOBAL.super_read_only")?
                .as_deref()
                == Some("1");
        self.server = Some(ServerFacts { super_read_only });
        self.service = Some(member.profile.service.clone());
        Ok(self)
    }
}

/// A run's journal on a node, or None when the run left none there (killed
/// before its first change on that node: its folder may exist, empty).
pub fn journal_if_any(node: &dyn Node, run_id: &str) -> Result<Option<Journal>> {
    match Journal::open(node, run_id) {
        Ok(journal) => Ok(Some(journal)),
        Err(Error::RunNotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Whether run `run_id` left its folder on the node (a run killed before
/// its first change has one without a journal).
pub fn ran_on(node: &dyn Node, run_id: &str) -> bool {
    node.stat(&Journal::run_dir(run_id))
        .ok()
        .flatten()
        .is_some()
}

/// The error for a run id no host knows.
pub fn not_found(label: &str, run_id: &str) -> Error {
    Error::RunNotFound {
        node: label.to_string(),
        run_id: run_id.to_string(),
        runs_dir: PathBuf::from(backup::RUNS_DIR),
    }
}

fn changed_paths(journal: &Journal) -> Vec<PathBuf> {
    journal
        .records()
        .iter()
        .filter_map(|r| match &r.entry {
            JournalEntry::FileChanged { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}

/// Everything that would make the rollback of a run on this node refuse:
/// a later run built on its files, or a file changed since (by hand or
/// another tool). Checked on every host before anything changes.
pub fn check_restorable(node: &dyn Node, journal: &Journal, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let run_id = journal.run_id.as_str();
    let paths = changed_paths(journal);
    for later in backup::runs(node)?
        .into_iter()
        .filter(|r| r.as_str() > run_id)
    {
        // A run that stopped before its first change has no journal.
        let Ok(later_journal) = Journal::open(node, &later) else {
            continue;
        };
        // A later run that was itself rolled back no longer builds on it.
        let rolled_back = later_journal
            .records()
            .iter()
            .any(|r| matches!(r.entry, JournalEntry::FileRestored { .. }));
        if rolled_back {
            continue;
        }
        let later_paths = changed_paths(&later_journal);
        if let Some(shared) = paths.iter().find(|p| later_paths.contains(p)) {
            return Err(Error::RollbackRefused {
                node: node.label().to_string(),
                message: format!(
                    "run {later} changed {} after run {run_id}, building on it: roll back {later} first, or pass --force to undo {run_id} anyway",
                    shared.display()
                ),
            });
        }
    }
    // The run's own result must still be what is there: an edit made by
    // hand since then would be lost. A file an earlier pass of this
    // rollback already put back is no hand edit: that pass must not block
    // its own retry.
    let mut last_after: Vec<(PathBuf, String)> = Vec::new();
    for record in journal.records() {
        match &record.entry {
            JournalEntry::FileChanged {
                path, after_sha256, ..
            } => {
                last_after.retain(|(p, _)| p != path);
                last_after.push((path.clone(), after_sha256.clone()));
            }
            JournalEntry::FileRestored { path, .. } => {
                last_after.retain(|(p, _)| p != path);
            }
            _ => {}
        }
    }
    for (path, after) in last_after {
        let now = node.read(&path)?.map(|bytes| backup::sha256_hex(&bytes));
        if now.as_deref() != Some(after.as_str()) {
            return Err(Error::RollbackRefused {
                node: node.label().to_string(),
                message: format!(
                    "{} was changed after run {run_id} (by hand or another tool); rolling back would lose that change: look at it, then pass --force to roll back anyway",
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

/// The runs recorded on a node, a line each.
pub fn list_runs(node: &dyn Node) -> Result<String> {
    let runs = backup::runs(node)?;
    if runs.is_empty() {
        return Ok(format!(
            "no runs recorded on {} (in {})\n",
            node.label(),
            backup::RUNS_DIR
        ));
    }
    let mut text = format!(
        "runs on {} (undo one with `mysql-ha rollback RUN_ID`):\n",
        node.label()
    );
    for run_id in runs {
        let Ok(journal) = Journal::open(node, &run_id) else {
            text.push_str(&format!(
                "  {run_id}  (no journal: stopped before any change)\n"
            ));
            continue;
        };
        let (mut files, mut sql, mut commands) = (0, 0, 0);
        for record in journal.records() {
            match record.entry {
                JournalEntry::FileChanged { .. } => files += 1,
                JournalEntry::Sql { .. } => sql += 1,
                JournalEntry::Command { .. } => commands += 1,
                _ => {}
            }
        }
        text.push_str(&format!(
            "  {run_id}  {files} file change(s), {sql} SQL statement(s), {commands} command(s)\n"
        ));
    }
    Ok(text)
}

/// Applies the undo plan with the one executor, journaling in the undone
/// run's own journals.
pub fn apply(
    hosts: &mut dyn Hosts,
    survey: &Survey,
    plan: &Plan,
    reporter: &dyn Reporter,
) -> Result<()> {
    let mut journals = survey.journals();
    apply::run(hosts, plan, &mut journals, reporter, &mut |_| Ok(()))
        .map(|_| ())
        .map_err(|failed| failed.error)
}

/// Undoes run `run_id` on one member whose daemon is stopped, from its
/// journal alone; returns what it did, as the log says it. For unit tests
/// over `Access::Fake` (the command does the same for this node).
pub fn undo_member(member: &mut Member, run_id: &str, force: bool) -> Result<String> {
    let label = member.label().to_string();
    let host = HostSurvey::read(member.side, &label, member.access.node(), run_id, force)?
        .with_server(member)?;
    if host.journal.is_none() {
        return Err(not_found(&label, run_id));
    }
    let survey = Survey {
        run_id: run_id.to_string(),
        hosts: vec![host],
        single: true,
    };
    let plan = build::build(&survey);
    let transcript = crate::events::Transcript::default();
    apply(member, &survey, &plan, &transcript)?;
    Ok(transcript.text())
}
