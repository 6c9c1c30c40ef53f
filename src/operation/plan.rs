//! The plan: every change a run would make, computed from the nodes' current
//! state. The review, `--dry-run` and apply all use this one value.

use std::fmt::Write as _;
use std::time::Duration;

use crate::daemon::state::TermState;
use crate::mycnf::edit::FileEdit;

/// The step after which replication runs: setup proves it right there,
/// before the cluster account and daemon steps.
pub const START_REPLICATION: &str = "start replication";
/// The plan's stand-in for the snapshot position, known only after seeding.
pub const SNAPSHOT_PLACEHOLDER: &str = "<position of the snapshot>";

pub use super::pair::Side;
pub use super::statement::Statement;

#[derive(Debug, Clone)]
pub enum Change {
    /// A my.cnf edit, applied with backup through the run journal.
    File(FileEdit),
    /// A file the tool writes whole (accounts' keys, sudoers, daemon config),
    /// backed up and journaled like a my.cnf edit.
    WriteFile(NodeFile),
    /// A file read from another host of the run and written whole on this
    /// step's node (see FileCopy).
    CopyFile(FileCopy),
    /// A command on the node; `effects`: what it does to a service or the
    /// host, journaled before it runs, for rollback to undo.
    Command {
        argv: Vec<String>,
        why: String,
        effects: Vec<crate::backup::CommandEffect>,
    },
    /// Restart the database server and wait until it answers; if it does not
    /// come back, the step's files are restored and it is restarted again.
    RestartServer { argv: Vec<String> },
    /// SQL on the node.
    Sql(Statement),
    /// Copy the databases from master to slave with a consistent snapshot.
    Seed { copy: super::seed::CopyPlan },
    /// Bring new databases into a running slave: stop its SQL thread, copy
    /// them at a snapshot position, let the slave run exactly to that
    /// position, then widen its filters and start it again.
    AddDatabases {
        databases: Vec<String>,
        /// Every replicated database once added (the new filter list).
        all: Vec<String>,
        copy: super::seed::CopyPlan,
        /// `resync`: the databases are replicated already and the slave's
        /// copy is dropped (kept out of the binary log) before the new one.
        replace: bool,
        /// The slave's server: the statements are its dialect's.
        flavor: crate::sql::Flavor,
    },
    /// Point the slave at the master at the snapshot's position and start it.
    StartReplication { statements: Vec<Statement> },
    /// New TLS certificates for both nodes (see src/tls.rs).
    Certificates(crate::tls::CertPlan),
    /// Stop or start the node's cluster daemon through its service. A
    /// stopped daemon keeps the cluster address it holds and takes no
    /// action while the roles change under it.
    ClusterDaemon { argv: Vec<String>, start: bool },
    /// The daemon's persisted term state: the role and term it starts with.
    TermState(TermState),
    /// Read the GTIDs the server executed. The value is known only at run
    /// time: later changes of the plan show `placeholder` where it goes,
    /// and the apply log shows the value read.
    ReadGtids { query: String, placeholder: String },
    /// Wait until the server applied the GTIDs read into `placeholder`.
    WaitApplied {
        placeholder: String,
        limit: Duration,
        flavor: crate::sql::Flavor,
    },
    /// Move the cluster address from the node of `from` to this step's
    /// node (put back on `from` when it cannot be added); `announce`: a
    /// gratuitous ARP from the new holder.
    MoveAddress {
        cidr: String,
        device: String,
        announce: bool,
        from: Side,
    },
    /// Keep `text` in a file of the run's folder on the node (mode 0600):
    /// a copy for the administrator, which rollback leaves in place.
    KeepAside {
        name: String,
        text: String,
        what: String,
    },
    /// Wait until Pacemaker, read with `crm_mon` on this step's node,
    /// runs the database promoted on `promoted` alone (with the cluster
    /// address there when `address`) and unpromoted on every node of
    /// `slaves`: a move asked of Pacemaker is carried out by it, so the
    /// run waits for its result.
    WaitPacemaker {
        promoted: String,
        address: bool,
        slaves: Vec<String>,
        limit: Duration,
    },
    /// MySQL: the server takes the copy's GTIDs (the snapshot position) as
    /// its own history, so auto-positioning asks for what follows.
    AdoptSnapshot { flavor: crate::sql::Flavor },
    /// Wait until both replication threads run. When the source cannot
    /// continue the replica's history (error 1236) and `otherwise` is not
    /// empty, those changes run and it waits once more.
    WaitReplicating {
        source: String,
        limit: Duration,
        otherwise: Vec<Change>,
    },
    /// Prove the work done.
    Check(Check),
    /// Rollback: every file the undone run changed on the node goes back
    /// from its backup (or away, when the run created it). `files`: what
    /// the plan shows, each with whether it was there before the run.
    RestoreFiles {
        files: Vec<(std::path::PathBuf, bool)>,
    },
    /// Rollback: the statements that put back what `undone` (one or more
    /// of the run's statements, masked) changed.
    UndoSql {
        undone: String,
        statements: Vec<crate::backup::UndoStatement>,
    },
    /// Rollback: a plugin the run installed is switched off and
    /// uninstalled, once nothing else of the run needs it. A source whose
    /// replica still holds it refuses: said, not raised.
    UninstallPlugin { undone: String, plugin: String },
    /// A service command (start, stop, unregister) through the node's
    /// service runner. `done`: what the log says once it succeeded. Unless
    /// `required`, a failure is said ("tried") and the step goes on: an
    /// undo meets services already gone. `wait_server`: then wait until
    /// the database server answers.
    Service {
        argv: Vec<String>,
        why: String,
        done: String,
        required: bool,
        wait_server: bool,
    },
    /// Release the cluster address when this node holds it (a stopped
    /// daemon or cluster keeps it).
    ReleaseAddress { cidr: String, device: String },
    /// Rollback of a physical seed, with the server stopped: its own
    /// datadir (kept in `before`) goes back in place, the copy set aside
    /// beside it (removing data is the administrator's call).
    DatadirBack {
        datadir: std::path::PathBuf,
        before: std::path::PathBuf,
    },
    /// The running server loads its certificates again (rollback put
    /// them back); a server that refuses keeps the ones it loaded until
    /// its next restart, and that is said.
    ReloadCertificates,
}

impl Change {
    /// A command with no effect rollback undoes.
    pub fn command(argv: &[&str], why: &str) -> Change {
        Change::Command {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            why: why.into(),
            effects: Vec::new(),
        }
    }

    /// A command that changes services or the host as `effects` say.
    pub fn command_with(
        argv: &[&str],
        why: &str,
        effects: Vec<crate::backup::CommandEffect>,
    ) -> Change {
        Change::Command {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            why: why.into(),
            effects,
        }
    }
}

/// A proof at the end of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A row written in each database on the master reaches the slave.
    RowsArrive { databases: Vec<String> },
    /// A row written through the cluster address lands on this node.
    WriteThroughAddress,
    /// Both cluster daemons report healthy.
    DaemonsHealthy,
}

/// What puts the nodes back when a step from `first` to `last` (both
/// included) fails: an operation that must not stop half way (a
/// switchover before the cluster address moved).
#[derive(Debug, Clone)]
pub struct Rescue {
    pub first: &'static str,
    pub last: &'static str,
    /// What the rescue does, for people.
    pub why: String,
    pub changes: Vec<RescueChange>,
}

#[derive(Debug, Clone)]
pub struct RescueChange {
    pub side: Side,
    pub change: Change,
    /// Needed only once this step finished (None: always).
    pub once: Option<&'static str>,
}

/// A whole file to write on a node.
#[derive(Debug, Clone)]
pub struct NodeFile {
    pub edit: FileEdit,
    /// Mode and owner the file gets when the run creates it.
    pub mode: u32,
    pub owner: String,
    pub group: String,
    /// Holds a secret: the plan shows that it changes, not its contents.
    pub secret: bool,
    /// Command that must accept the new contents before they land; `{}` is
    /// replaced by the path of a private temporary copy (e.g. `visudo -cf {}`).
    pub validate: Option<Vec<String>>,
}

/// A file copied between hosts of the run during apply: read on the host
/// of `from` and written on the step's node, both over the installer's own
/// access (the bytes pass through this process: never a command line, a
/// log or the plan). Its contents are made by earlier changes of the run
/// (a certificate request, a signed certificate), so the plan shows the
/// paths, mode and owner, never bytes. The destination is backed up and
/// journaled like a written file; rollback removes it or puts it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCopy {
    pub from: Side,
    pub source: std::path::PathBuf,
    pub path: std::path::PathBuf,
    /// Mode and owner of the copy; a file already there with looser
    /// permissions is tightened to these before the copy lands in it.
    pub mode: u32,
    pub owner: String,
    pub group: String,
    /// Holds a private key: the plan and the log say so.
    pub private_key: bool,
    /// What the file is, for people.
    pub what: String,
}

#[derive(Debug, Clone)]
pub struct StepPlan {
    pub name: &'static str,
    pub side: Side,
    pub changes: Vec<Change>,
    /// Lines for people (settings and their status, notes).
    pub summary: Vec<String>,
}

impl StepPlan {
    pub fn unchanged(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether the step stops, restarts or re-keys a server or stops or
    /// re-points its replication: what a cluster manager watching the
    /// servers would take for a failure.
    pub fn disturbs_servers(&self) -> bool {
        self.changes.iter().any(|change| {
            matches!(
                change,
                Change::RestartServer { .. }
                    | Change::Certificates(_)
                    | Change::Seed { .. }
                    | Change::AddDatabases { .. }
                    | Change::StartReplication { .. }
            )
        })
    }
}

/// What keeps the pair's cluster manager from reacting while the run
/// disturbs the servers (a restart, new certificates, a copy, replication
/// stopped or re-pointed), and what hands the pair back to it after the
/// last such step (also when a step fails). Pacemaker would otherwise see
/// a failed monitor, demote and stop the master and move the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerHold {
    /// The node whose cluster tools run the commands.
    pub side: Side,
    /// Commands run in order before the first step that disturbs a server.
    pub begin: Vec<Vec<String>>,
    /// Commands run in order after the last (or a failed) one.
    pub end: Vec<Vec<String>>,
    /// What the hold does, for people.
    pub why: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub run_id: String,
    pub master_label: String,
    pub slave_label: String,
    /// The second slave (`[slave2]`); empty without one.
    pub slave2_label: String,
    /// The witness host; empty without one.
    pub witness_label: String,
    /// Lines shown before the steps: what the plan was computed from.
    pub preamble: Vec<String>,
    pub steps: Vec<StepPlan>,
    pub rescues: Vec<Rescue>,
    /// How the steps name the two nodes, when not "master" and "slave"
    /// (a switchover's roles change half way).
    pub side_names: Option<[&'static str; 2]>,
    /// The cluster manager's hold around the steps that disturb the
    /// servers; None when no manager would react (or our own daemon, whose
    /// hold the executor writes itself).
    pub hold: Option<ManagerHold>,
}

impl Plan {
    pub fn unchanged(&self) -> bool {
        self.steps.iter().all(StepPlan::unchanged)
    }

    /// The steps the manager's hold spans: from the first that disturbs
    /// the servers to the last (indexes into `steps`).
    pub fn held_steps(&self) -> Option<(usize, usize)> {
        self.hold.as_ref()?;
        let first = self.steps.iter().position(StepPlan::disturbs_servers)?;
        let last = self.steps.iter().rposition(StepPlan::disturbs_servers)?;
        Some((first, last))
    }

    fn label(&self, side: Side) -> &str {
        match side {
            Side::Master => &self.master_label,
            Side::Slave => &self.slave_label,
            Side::Slave2 => &self.slave2_label,
            Side::Witness => &self.witness_label,
        }
    }

    /// The plan as people read it: unified diffs, SQL with secrets masked,
    /// commands, each with the node it runs on.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.preamble {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "Plan for run {}", self.run_id);
        for step in &self.steps {
            let node = format!("{} {}", self.side_name(step.side), self.label(step.side));
            let state = if step.unchanged() {
                "unchanged"
            } else {
                "will change"
            };
            let _ = writeln!(out, "\n== {} on {node}: {state}", step.name);
            for line in &step.summary {
                let _ = writeln!(out, "   {line}");
            }
            for change in &step.changes {
                self.render_change(&mut out, change, "   ");
            }
        }
        if let (Some(hold), Some((first, last))) = (&self.hold, self.held_steps()) {
            let _ = writeln!(
                out,
                "\nFrom `{}` to `{}`, on {} {}: {}",
                self.steps[first].name,
                self.steps[last].name,
                self.side_name(hold.side),
                self.label(hold.side),
                hold.why
            );
            for argv in &hold.begin {
                let _ = writeln!(out, "   run before: {}", argv.join(" "));
            }
            for argv in &hold.end {
                let _ = writeln!(
                    out,
                    "   run after (also when a step fails): {}",
                    argv.join(" ")
                );
            }
        }
        for rescue in &self.rescues {
            let _ = writeln!(
                out,
                "\nIf a step from `{}` to `{}` fails: {}",
                rescue.first, rescue.last, rescue.why
            );
            for item in &rescue.changes {
                let _ = writeln!(
                    out,
                    "   on {} {}{}:",
                    self.side_name(item.side),
                    self.label(item.side),
                    item.once
                        .map(|step| format!(" (once `{step}` finished)"))
                        .unwrap_or_default()
                );
                self.render_change(&mut out, &item.change, "     ");
            }
        }
        out
    }

    fn side_name(&self, side: Side) -> &'static str {
        match (self.side_names, side) {
            (Some([master, _]), Side::Master) => master,
            (Some([_, slave]), Side::Slave) => slave,
            _ => side.name(),
        }
    }

    /// One change as the plan shows it, each line led by `pad`.
    fn render_change(&self, out: &mut String, change: &Change, pad: &str) {
        match change {
            Change::File(edit) => out.push_str(&edit.render_diff()),
            Change::WriteFile(file) => {
                let _ = writeln!(
                    out,
                    "   write {} (mode {:o}, owner {}:{}){}",
                    file.edit.path.display(),
                    file.mode,
                    file.owner,
                    file.group,
                    file.validate
                        .as_ref()
                        .map(|v| format!(", checked with `{}` first", v.join(" ")))
                        .unwrap_or_default()
                );
                if file.secret {
                    let _ = writeln!(out, "     (contents not shown: the file holds a secret)");
                } else if std::str::from_utf8(&file.edit.after).is_err() {
                    let _ = writeln!(
                        out,
                        "     (binary, {})",
                        human_bytes(file.edit.after.len() as u64)
                    );
                } else {
                    out.push_str(&file.edit.render_diff());
                }
            }
            Change::CopyFile(copy) => {
                let _ = writeln!(
                    out,
                    "{pad}copy {} {}:{} to {} (mode {:o}, owner {}:{}): {}",
                    self.side_name(copy.from),
                    self.label(copy.from),
                    copy.source.display(),
                    copy.path.display(),
                    copy.mode,
                    copy.owner,
                    copy.group,
                    copy.what
                );
                let _ = writeln!(
                    out,
                    "{pad}  (contents read at run time, never shown{})",
                    if copy.private_key {
                        "; it holds a private key"
                    } else {
                        ""
                    }
                );
            }
            Change::Command { argv, why, .. } => {
                let _ = writeln!(out, "{pad}run: {}    # {why}", argv.join(" "));
            }
            Change::RestartServer { argv } => {
                let _ = writeln!(
                    out,
                    "   run: {}    # the server reads these settings at start",
                    argv.join(" ")
                );
            }
            Change::Sql(statement) => {
                let _ = writeln!(out, "{pad}sql: {};", statement.shown);
            }
            Change::Seed { copy } => {
                let _ = writeln!(
                    out,
                    "{pad}copy {} (about {}) with one consistent snapshot:",
                    copy.databases.join(", "),
                    human_bytes(copy.estimated_bytes)
                );
                for line in copy.describe() {
                    let _ = writeln!(out, "{pad}  {line}");
                }
            }
            Change::AddDatabases {
                databases,
                all,
                copy,
                replace,
                flavor,
            } => {
                let names: Vec<String> = if copy.tables.is_empty() {
                    databases.clone()
                } else {
                    copy.tables
                        .iter()
                        .map(|(d, t)| format!("{d}.{t}"))
                        .collect()
                };
                let _ = writeln!(
                    out,
                    "   {} {} (about {}) while replication of the others goes on:",
                    if *replace { "copy again" } else { "add" },
                    names.join(", "),
                    human_bytes(copy.estimated_bytes)
                );
                let _ = writeln!(
                    out,
                    "     sql: {};   (the IO thread keeps fetching)",
                    flavor.stop_replica_sql()
                );
                if *replace && !copy.tables.is_empty() {
                    for (db, table) in &copy.tables {
                        let _ = writeln!(
                            out,
                            "     sql: SET SESSION sql_log_bin = 0; DROP TABLE IF EXISTS {}.{};   (the slave's copy; not undone by rollback)",
                            crate::sql::flavor::quote_ident(db),
                            crate::sql::flavor::quote_ident(table)
                        );
                    }
                } else if *replace {
                    for db in databases {
                        let _ = writeln!(
                            out,
                            "     sql: SET SESSION sql_log_bin = 0; DROP DATABASE IF EXISTS {};   (the slave's copy; not undone by rollback)",
                            crate::sql::flavor::quote_ident(db)
                        );
                    }
                }
                for line in copy.describe() {
                    let _ = writeln!(out, "     {line}");
                }
                let until = flavor.start_replica_until("<position of the snapshot>");
                let stop = flavor.stop_replica();
                let others: Vec<&str> = all
                    .iter()
                    .filter(|d| !copy.tables.is_empty() || !databases.contains(d))
                    .map(String::as_str)
                    .collect();
                if others.is_empty() {
                    let _ = writeln!(
                        out,
                        "     sql: {stop}; {};   (nothing else to catch up)",
                        flavor.skip_to_gtids("<position of the snapshot>")
                    );
                } else {
                    let mut catch_up =
                        flavor.set_replica_filters(&crate::mycnf::filters::wild_list(&others, &[]));
                    if !copy.tables.is_empty() {
                        catch_up.push(flavor.set_ignore_tables(&names.join(",")));
                    }
                    let _ = writeln!(
                        out,
                        "     sql: {stop}; {}; {until};   (the others catch up to the copy)",
                        catch_up.join("; ")
                    );
                }
                let _ = writeln!(
                    out,
                    "     sql: {stop}; {}; {};",
                    flavor
                        .set_replica_filters(&crate::mycnf::filters::wild_list(
                            &all.iter().map(String::as_str).collect::<Vec<_>>(),
                            &[]
                        ))
                        .join("; "),
                    flavor.start_replica()
                );
            }
            Change::StartReplication { statements } => {
                for statement in statements {
                    let _ = writeln!(out, "   sql: {};", statement.shown);
                }
            }
            Change::Certificates(certs) => {
                for line in certs.describe() {
                    let _ = writeln!(out, "   {line}");
                }
            }
            Change::ClusterDaemon { argv, start } => {
                let why = if *start {
                    "the cluster daemon starts with the term state written for it"
                } else {
                    "the cluster daemon stops; the address stays where it is"
                };
                let _ = writeln!(out, "{pad}run: {}    # {why}", argv.join(" "));
            }
            Change::TermState(state) => {
                let _ = writeln!(
                    out,
                    "{pad}write {}: {} of term {}{}",
                    crate::daemon::state::state_path().display(),
                    state.role.name(),
                    state.term,
                    if state.takeover_acked {
                        ", the last takeover acknowledged"
                    } else {
                        ""
                    }
                );
            }
            Change::ReadGtids { query, placeholder } => {
                let _ = writeln!(
                    out,
                    "{pad}sql: {query};   -> {placeholder} (read at run time; the log shows it)"
                );
            }
            Change::WaitApplied {
                placeholder,
                limit,
                flavor,
            } => {
                let (query, done) = flavor.wait_for_gtids(placeholder, limit.as_secs_f64());
                let _ = writeln!(
                    out,
                    "{pad}wait: {query};   (returns {done} once applied; at most {} s)",
                    limit.as_secs()
                );
            }
            Change::MoveAddress {
                cidr,
                device,
                announce,
                from,
            } => {
                let _ = writeln!(
                    out,
                    "{pad}run on {} {}: {} addr del {cidr} dev {device}",
                    self.side_name(*from),
                    self.label(*from),
                    crate::privileged::IP
                );
                let _ = writeln!(
                    out,
                    "{pad}run: {} addr add {cidr} dev {device}    # put back on {} if this fails",
                    crate::privileged::IP,
                    self.label(*from)
                );
                if *announce {
                    let address = cidr.split('/').next().unwrap_or(cidr);
                    let _ = writeln!(
                        out,
                        "{pad}run: {} -U -c {} -I {device} {address}    # clients' neighbour caches learn the move (a failure is only noted)",
                        crate::privileged::ARPING,
                        crate::privileged::ARP_COUNT
                    );
                }
            }
            Change::KeepAside { name, text, what } => {
                let _ = writeln!(
                    out,
                    "{pad}save {}/{name} (mode 600, {}): {what}; rollback leaves it",
                    crate::backup::Journal::run_dir(&self.run_id).display(),
                    human_bytes(text.len() as u64)
                );
            }
            Change::WaitPacemaker {
                promoted,
                address,
                slaves,
                limit,
            } => {
                let _ = writeln!(
                    out,
                    "{pad}wait: {} (crm_mon, at most {} s)",
                    super::crm::Wanted {
                        promoted,
                        address: *address,
                        slaves,
                    }
                    .describe(),
                    limit.as_secs()
                );
            }
            Change::AdoptSnapshot { flavor } => {
                for statement in flavor.adopt_snapshot_gtids(SNAPSHOT_PLACEHOLDER) {
                    let _ = writeln!(out, "{pad}sql: {statement};");
                }
            }
            Change::WaitReplicating {
                source,
                limit,
                otherwise,
            } => {
                let _ = writeln!(
                    out,
                    "{pad}wait: both replication threads from {source} run (at most {} s)",
                    limit.as_secs()
                );
                if !otherwise.is_empty() {
                    let _ = writeln!(
                        out,
                        "{pad}if {source} cannot continue this history (error 1236), then:"
                    );
                    let deeper = format!("{pad}  ");
                    for change in otherwise {
                        self.render_change(out, change, &deeper);
                    }
                    let _ = writeln!(
                        out,
                        "{pad}  wait: both replication threads run (at most {} s)",
                        limit.as_secs()
                    );
                }
            }
            Change::Check(check) => {
                let line = match check {
                    Check::RowsArrive { databases } => format!(
                        "check: a row written in each of {} on {} reaches this node",
                        databases.join(", "),
                        self.master_label
                    ),
                    Check::WriteThroughAddress => {
                        "check: a row written through the cluster address lands on this node".into()
                    }
                    Check::DaemonsHealthy => {
                        "wait: both cluster daemons report healthy".to_string()
                    }
                };
                let _ = writeln!(out, "{pad}{line}");
            }
            Change::RestoreFiles { files } => {
                for (path, existed) in files {
                    if *existed {
                        let _ = writeln!(out, "{pad}put back {}", path.display());
                    } else {
                        let _ =
                            writeln!(out, "{pad}remove {} (the run created it)", path.display());
                    }
                }
            }
            Change::UndoSql { undone, statements } => {
                let _ = writeln!(
                    out,
                    "{pad}undo: {undone}  (by {})",
                    crate::backup::UndoStatement::shown_all(statements)
                );
            }
            Change::UninstallPlugin { undone, plugin } => {
                let _ = writeln!(
                    out,
                    "{pad}undo: {undone}  (by {})",
                    crate::sql::flavor::uninstall_plugin(plugin).join("; ")
                );
            }
            Change::Service { argv, why, .. } => {
                let _ = writeln!(out, "{pad}run: {}    # {why}", argv.join(" "));
            }
            Change::ReleaseAddress { cidr, device } => {
                let _ = writeln!(
                    out,
                    "{pad}release the cluster address {cidr} from {device} if this node holds it"
                );
            }
            Change::DatadirBack { datadir, before } => {
                let _ = writeln!(
                    out,
                    "{pad}move the server's own datadir {} back to {} (the copy is set aside)",
                    before.display(),
                    datadir.display()
                );
            }
            Change::ReloadCertificates => {
                let _ = writeln!(out, "{pad}the server reloads the restored certificates");
            }
        }
    }
}

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn step(name: &'static str, side: Side, changes: Vec<Change>) -> StepPlan {
        StepPlan {
            name,
            side,
            changes,
            summary: Vec::new(),
        }
    }

    fn command(word: &str) -> Change {
        Change::command(&[word], "")
    }

    fn plan(steps: Vec<StepPlan>, hold: Option<ManagerHold>) -> Plan {
        Plan {
            run_id: "r1".into(),
            master_label: "node1".into(),
            slave_label: "node2".into(),
            slave2_label: String::new(),
            witness_label: String::new(),
            preamble: Vec::new(),
            steps,
            rescues: Vec::new(),
            side_names: None,
            hold,
        }
    }

    fn maintenance() -> ManagerHold {
        ManagerHold {
            side: Side::Master,
            begin: vec![vec![
                "crm_attribute".into(),
                "--update".into(),
                "true".into(),
            ]],
            end: vec![vec!["crm_attribute".into(), "--delete".into()]],
            why: "maintenance mode".into(),
        }
    }

    #[test]
    fn a_hold_spans_the_first_to_the_last_step_that_disturbs_a_server() {
        let restart = || Change::RestartServer {
            argv: vec!["/etc/init.d/mariadb".into(), "restart".into()],
        };
        let steps = vec![
            step("accounts", Side::Master, vec![command("a")]),
            step("configure master", Side::Master, vec![restart()]),
            step("sudo", Side::Slave, vec![command("b")]),
            step("configure slave", Side::Slave, vec![restart()]),
            step("hand-off", Side::Master, vec![command("c")]),
        ];
        let held = plan(steps.clone(), Some(maintenance()));
        assert_eq!(held.held_steps(), Some((1, 3)));
        let text = held.render();
        assert!(
            text.contains(
                "From `configure master` to `configure slave`, on master node1: maintenance mode"
            ),
            "{text}"
        );
        assert!(
            text.contains("run before: crm_attribute --update true"),
            "{text}"
        );
        assert!(
            text.contains("run after (also when a step fails): crm_attribute --delete"),
            "{text}"
        );
        // No manager to hold, or nothing that disturbs a server: no span.
        assert_eq!(plan(steps.clone(), None).held_steps(), None);
        let quiet = vec![steps[0].clone(), steps[2].clone()];
        let quiet = plan(quiet, Some(maintenance()));
        assert_eq!(quiet.held_steps(), None);
        assert!(!quiet.render().contains("run before"));
    }
}
