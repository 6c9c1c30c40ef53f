//! The physical copy: `mariadb-backup --backup --stream=xbstream` on the
//! master, streamed into `mbstream -x` in an empty folder on the slave,
//! prepared there, then swapped in for the slave's datadir (the old one is
//! kept in the run's folder). Only for a slave with no databases of its
//! own: the copy brings the whole instance, so the slave's own accounts are
//! saved first and put back over the master's, and the master's databases
//! that were not chosen are dropped on the slave. The start position is
//! the GTID the backup wrote in its own metadata.

use std::path::{Path, PathBuf};

use super::{
    stream_between, with_options, ClientOptionFile, CopyPlan, Progress, SeedResult, StreamEnd,
};
use crate::backup::{Journal, JournalEntry};
use crate::events::{Event, Reporter};
use crate::operation::pair::Member;
use crate::sql::flavor::quote_ident;
use crate::sql::Position;
use crate::{Error, Result};

const STEP: &str = "seed the slave";

#[derive(Debug, Clone)]
pub struct BackupPlan {
    /// On the master: the backup program streaming to stdout.
    pub backup_argv: Vec<String>,
    /// On the slave: extracts the stream (`mbstream`), and prepares it.
    pub extract_program: String,
    pub prepare_program: String,
    /// The slave's datadir, replaced by the copy.
    pub datadir: PathBuf,
    /// Dumps the slave's own accounts before the swap.
    pub users_argv: Vec<String>,
    /// Master databases that come along but were not chosen.
    pub drop_after: Vec<String>,
    /// What the backup streams: every table of the instance and InnoDB's
    /// system tablespace (an estimate for progress and the room check).
    pub instance_bytes: u64,
    /// The slave's configuration step left its restart to this copy: the
    /// start on the copy is the one that reads the new settings.
    pub starts_with_new_settings: bool,
}

impl BackupPlan {
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![
            format!("on master: {}", self.backup_argv.join(" ")),
            format!(
                "on slave:  {} -x -C <run folder>/datadir.new (the server stops meanwhile); {} --prepare; {} moves to <run folder>/datadir.before and the copy takes its place; start{}",
                self.extract_program,
                self.prepare_program,
                self.datadir.display(),
                if self.starts_with_new_settings {
                    " (with the new settings)"
                } else {
                    ""
                }
            ),
            format!(
                "the copy carries the whole instance, about {} (every database and InnoDB's system tablespace)",
                crate::operation::plan::human_bytes(self.instance_bytes)
            ),
            format!(
                "the slave's own accounts ({}) are saved before and put back after; the start position comes from the backup's binlog info",
                self.users_argv.join(" ")
            ),
        ];
        if !self.drop_after.is_empty() {
            lines.push(format!(
                "not chosen, dropped on the slave after the copy: {}",
                self.drop_after.join(", ")
            ));
        }
        lines
    }
}

/// Why a physical copy with mariadb-backup cannot seed this slave, or None
/// when it can.
pub fn blocker(master: &mut Member, slave: &mut Member, adding: bool) -> Result<Option<String>> {
    let families = [master.sql().flavor().family, slave.sql().flavor().family];
    if families.contains(&crate::sql::Family::MySql) {
        return Ok(Some(
            "mariadb-backup does not apply to Oracle MySQL (its physical copy is \"clone\")".into(),
        ));
    }
    let (Some(backup), Some(stream)) = (
        master.profile.programs.backup.clone(),
        slave.profile.programs.backup_stream.clone(),
    ) else {
        return Ok(Some(format!(
            "the {} profile names no physical backup program",
            master.profile.name
        )));
    };
    if let Some(why) = whole_instance_blocker(master, slave, adding)? {
        return Ok(Some(why));
    }
    for (member, programs) in [
        (&*master, vec![backup.as_str()]),
        (&*slave, vec![backup.as_str(), stream.as_str()]),
    ] {
        for program in programs {
            let found = member
                .access
                .node()
                .run(&["sh", "-c", "command -v \"$1\"", "sh", program], None)?
                .success();
            if !found {
                return Ok(Some(format!(
                    "`{program}` is not installed on {} (package {})",
                    member.label(),
                    member.profile.packages.backup.join(" ")
                )));
            }
        }
    }
    Ok(None)
}

/// Why a copy of the master's whole instance cannot replace the slave's,
/// whatever copies it (mariadb-backup or MySQL's clone plugin), or None.
pub(super) fn whole_instance_blocker(
    master: &mut Member,
    slave: &mut Member,
    adding: bool,
) -> Result<Option<String>> {
    if adding {
        return Ok(Some(
            "databases are added to a running slave (a physical copy replaces the whole datadir)"
                .into(),
        ));
    }
    let (master_flavor, slave_flavor) = (master.sql().flavor(), slave.sql().flavor());
    if master_flavor.to_string() != slave_flavor.to_string() {
        return Ok(Some(format!(
            "the servers' versions differ ({master_flavor} and {slave_flavor})"
        )));
    }
    if master.answers.mysql_admin_user != slave.answers.mysql_admin_user
        || master.answers.mysql_admin_password != slave.answers.mysql_admin_password
    {
        return Ok(Some(
            "the two nodes' admin logins differ (the copy brings the master's accounts until the slave's are put back)".into(),
        ));
    }
    let own = super::super::server_state::user_databases(slave.sql())?;
    if !own.is_empty() {
        return Ok(Some(format!(
            "the slave holds databases of its own ({})",
            own.join(", ")
        )));
    }
    let datadir = slave.profile.paths.datadir.to_string_lossy().into_owned();
    if let Some(reason) = room_for_copy(master, slave)? {
        return Ok(Some(reason));
    }
    let mounted = slave
        .access
        .node()
        .run(&["mountpoint", "-q", &datadir], None)?
        .success();
    if mounted {
        return Ok(Some(format!(
            "{datadir} on the slave is a mount point (its contents cannot be swapped whole)"
        )));
    }
    Ok(None)
}

/// Bytes a backup of the master streams: the datadir's files as they are
/// on disk (tablespaces copy whole, free pages included), without the redo
/// log, the temporary tablespace, binary and relay logs and error logs,
/// which the backup leaves out. None when `du` prints no total.
pub(super) fn instance_bytes(master: &Member) -> Result<Option<u64>> {
    let datadir = master.profile.paths.datadir.to_string_lossy().into_owned();
    // du exits 1 when a file vanishes during the walk (a temporary table
    // on a busy master) and still prints its total: read the total.
    let out = master.access.node().run(
        &[
            "sh",
            "-c",
            "cd -- \"$1\" && du -sb --exclude='ib_logfile*' --exclude='ibtmp*' --exclude='*-bin.[0-9]*' \
             --exclude='*-bin.index' --exclude='*relay-bin*' --exclude='*.err' .",
            "sh",
            &datadir,
        ],
        None,
    )?;
    Ok(out
        .stdout_text()
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<u64>().ok()))
}

/// Why the slave has no room for the copy, or None. The copy lands in the
/// run folder and is moved into place, while the slave's own datadir stays
/// until rollback: both must be on one filesystem (else the move copies it
/// all again) with room for the whole instance and a tenth more.
fn room_for_copy(master: &Member, slave: &Member) -> Result<Option<String>> {
    let Some(needed) = instance_bytes(master)? else {
        return Ok(Some(format!(
            "the size of {}'s datadir cannot be read",
            master.label()
        )));
    };
    let datadir = slave.profile.paths.datadir.to_string_lossy().into_owned();
    let runs = crate::backup::RUNS_DIR;
    // The run folder may not exist yet: its nearest existing parent tells.
    let out = slave.access.node().run(
        &[
            "sh",
            "-c",
            "p=$2; while [ ! -e \"$p\" ]; do p=$(dirname -- \"$p\"); done; \
             stat -c %d -- \"$1\" \"$p\" && df -P -k -- \"$p\" | tail -n 1",
            "sh",
            &datadir,
            runs,
        ],
        None,
    )?;
    let text = out.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    let free = lines
        .get(2)
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024);
    let (Some(datadir_device), Some(runs_device), Some(free), true) =
        (lines.first(), lines.get(1), free, out.success())
    else {
        return Ok(Some(format!(
            "the free space for {runs} on {} cannot be read",
            slave.label()
        )));
    };
    if datadir_device != runs_device {
        return Ok(Some(format!(
            "{datadir} and {runs} are on different filesystems on the slave (the copy would be copied again to swap it in)"
        )));
    }
    if free < needed.saturating_add(needed / 10) {
        return Ok(Some(format!(
            "the slave has {} free for {runs}, the whole instance needs about {} beside its own datadir",
            crate::operation::plan::human_bytes(free),
            crate::operation::plan::human_bytes(needed)
        )));
    }
    Ok(None)
}

pub fn plan(master: &mut Member, slave: &mut Member, databases: &[String]) -> Result<BackupPlan> {
    let backup = master
        .profile
        .programs
        .backup
        .clone()
        .unwrap_or_else(|| "mariadb-backup".into());
    let all = super::super::server_state::user_databases(master.sql())?;
    Ok(BackupPlan {
        backup_argv: vec![
            backup,
            "--backup".into(),
            "--stream=xbstream".into(),
            "--target-dir=/tmp".into(),
        ],
        extract_program: slave
            .profile
            .programs
            .backup_stream
            .clone()
            .unwrap_or_else(|| "mbstream".into()),
        prepare_program: slave
            .profile
            .programs
            .backup
            .clone()
            .unwrap_or_else(|| "mariadb-backup".into()),
        datadir: slave.profile.paths.datadir.clone(),
        users_argv: vec![
            slave.profile.programs.dump.clone(),
            "--system=users".into(),
            "--insert-ignore".into(),
        ],
        drop_after: all.into_iter().filter(|d| !databases.contains(d)).collect(),
        instance_bytes: instance_bytes(master)?.unwrap_or(0),
        starts_with_new_settings: false,
    })
}

/// The GTID in a backup's binlog info ("file<TAB>position<TAB>gtid").
pub fn position_in_binlog_info(text: &str) -> Option<(String, u64, String)> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let mut fields = line.split('\t');
    let file = fields.next()?.trim().to_string();
    let offset = fields.next()?.trim().parse().ok()?;
    let gtid = fields.next().unwrap_or("").trim().to_string();
    Some((file, offset, gtid))
}

pub(super) fn checked(member: &Member, what: &str, argv: &[&str]) -> Result<crate::node::Output> {
    let out = member.access.node().run(argv, None)?;
    if out.success() {
        Ok(out)
    } else {
        Err(Error::Seed {
            node: member.label().to_string(),
            message: format!(
                "{what} failed ({}){}",
                crate::error::exit_status(out.code),
                crate::error::stderr_detail(&[out.stdout, out.stderr].concat())
            ),
        })
    }
}

/// Starts the slave's server (journaled: a rollback then knows the server
/// read this run's settings) and waits until it takes connections.
pub(super) fn start_server(slave: &mut Member, journal: &mut Journal) -> Result<()> {
    let argv = slave.profile.service.start.clone();
    crate::operation::apply::service_then_wait(slave, journal, &argv)
}

/// After a failed copy: the slave's server stopped, its own datadir back in
/// place (the copy removed: it is incomplete or would not start), and the
/// server started again. When the copy was also to be the first start with
/// the run's new settings and the server refuses them too, the run's files
/// on the slave are restored and it starts with its previous ones, as a
/// configuration restart does. Returns the error to report.
fn back_as_it_was(
    slave: &mut Member,
    journal: &mut Journal,
    plan: &BackupPlan,
    fresh: &Path,
    before: &Path,
    cause: Error,
    reporter: &dyn Reporter,
) -> Error {
    let stop = slave.profile.service.stop.clone();
    let stop_refs: Vec<&str> = stop.iter().map(String::as_str).collect();
    let _ = crate::node::run_service(slave.access.node(), &stop_refs);
    let datadir = plan.datadir.to_string_lossy().into_owned();
    let (fresh, before) = (
        fresh.to_string_lossy().into_owned(),
        before.to_string_lossy().into_owned(),
    );
    let put_back = slave.access.node().run(
        &[
            "sh",
            "-c",
            "if [ -d \"$2\" ]; then rm -rf -- \"$1\" && mv -- \"$2\" \"$1\"; fi; rm -rf -- \"$3\"",
            "sh",
            &datadir,
            &before,
            &fresh,
        ],
        None,
    );
    if !put_back.as_ref().is_ok_and(|out| out.success()) {
        return Error::Seed {
            node: slave.label().to_string(),
            message: format!(
                "the copy failed ({cause}) and the slave's own datadir could not be put back: it is in {before}; move it to {datadir} and start the server"
            ),
        };
    }
    let Err(start_error) = start_server(slave, journal) else {
        return cause;
    };
    if !plan.starts_with_new_settings {
        return Error::Seed {
            node: slave.label().to_string(),
            message: format!(
                "the copy failed ({cause}) and the server does not start on its own datadir again: {start_error}\nError log tail:\n{}",
                crate::operation::apply::error_log_tail(slave)
            ),
        };
    }
    let tail = crate::operation::apply::error_log_tail(slave);
    reporter.event(Event::Note {
        message: format!(
            "{}: the server does not start with the new configuration either; restoring the previous one",
            slave.label()
        ),
    });
    let restored = crate::backup::restore_files(slave.access.node(), journal)
        .and_then(|_| start_server(slave, journal));
    match restored {
        Ok(()) => Error::Seed {
            node: slave.label().to_string(),
            message: format!(
                "the server did not start with the new configuration ({start_error}), so the previous one was restored and the server started with it on its own datadir. The copy had failed with: {cause}\nError log tail:\n{tail}"
            ),
        },
        Err(err) => Error::Seed {
            node: slave.label().to_string(),
            message: format!(
                "the server starts neither with the new configuration ({start_error}) nor with the restored one ({err}). The copy had failed with: {cause}\nError log tail:\n{tail}"
            ),
        },
    }
}

/// The master's binlog position the backup recorded in its own metadata.
fn read_position(slave: &Member, copy: &Path) -> Result<(String, u64, String)> {
    let node = slave.access.node();
    let info = node
        .read(&copy.join("mariadb_backup_binlog_info"))?
        .or(node.read(&copy.join("xtrabackup_binlog_info"))?)
        .ok_or_else(|| Error::Seed {
            node: slave.label().to_string(),
            message: "the backup has no binlog info (is log-bin on on the master?)".into(),
        })?;
    position_in_binlog_info(&String::from_utf8_lossy(&info)).ok_or_else(|| Error::Seed {
        node: slave.label().to_string(),
        message: "the backup's binlog info cannot be read".into(),
    })
}

fn stream_backup(
    master: &Member,
    slave: &Member,
    plan: &BackupPlan,
    master_options: &ClientOptionFile<'_>,
    target: &Path,
    progress: &Progress,
    reporter: &dyn Reporter,
) -> Result<()> {
    let backup = with_options(&plan.backup_argv, &master_options.options());
    let backup_refs: Vec<&str> = backup.iter().map(String::as_str).collect();
    let target_text = target.to_string_lossy().into_owned();
    let extractor = slave.access.spawn(&[
        plan.extract_program.as_str(),
        "-x",
        "-C",
        target_text.as_str(),
    ])?;
    let producer = master.access.spawn(&backup_refs)?;
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| super::report_until(progress, reporter, &done));
        let streamed = stream_between(
            StreamEnd {
                child: producer,
                host: master.label(),
                command: plan.backup_argv.join(" "),
            },
            StreamEnd {
                child: extractor,
                host: slave.label(),
                command: format!("{} -x -C {target_text}", plan.extract_program),
            },
            &[],
            progress,
        );
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        streamed
    })
}

pub fn run(
    master: &mut Member,
    slave: &mut Member,
    journal: &mut Journal,
    copy: &CopyPlan,
    plan: &BackupPlan,
    reporter: &dyn Reporter,
) -> Result<SeedResult> {
    let run_dir = journal.dir.clone();
    let fresh = run_dir.join("datadir.new");
    let before = run_dir.join("datadir.before");
    let users_file = run_dir.join("slave-accounts.sql");
    let (fresh_text, before_text, users_text) = (
        fresh.to_string_lossy().into_owned(),
        before.to_string_lossy().into_owned(),
        users_file.to_string_lossy().into_owned(),
    );
    let datadir = plan.datadir.to_string_lossy().into_owned();
    let progress = Progress::new(STEP, plan.instance_bytes.max(copy.estimated_bytes));
    let copied = {
        let master_options =
            ClientOptionFile::create(master.access.node(), &master.answers, &run_dir)?;
        let slave_options =
            ClientOptionFile::create(slave.access.node(), &slave.answers, &run_dir)?;
        // The slave's own accounts, kept in the run's 0700 folder.
        let users = with_options(&plan.users_argv, &slave_options.options());
        let mut script = vec![
            "sh",
            "-c",
            "umask 077; out=$1; shift; \"$@\" > \"$out\"",
            "sh",
            users_text.as_str(),
        ];
        script.extend(users.iter().map(String::as_str));
        checked(slave, "saving the slave's own accounts", &script)?;
        checked(
            slave,
            "making the folder for the copy",
            &[
                "sh",
                "-c",
                "rm -rf -- \"$1\" && mkdir -m 700 -- \"$1\"",
                "sh",
                &fresh_text,
            ],
        )?;
        // The slave's server is not needed while the copy streams: it
        // stops meanwhile (about 1 s with Debian's init script).
        let stop = slave.profile.service.stop.clone();
        // Journaled before it runs: a run killed meanwhile leaves the
        // server stopped, and rollback must know to start it.
        journal.record(
            slave.access.node(),
            JournalEntry::Command {
                node: slave.label().to_string(),
                argv: stop.clone(),
                ok: true,
                typed: true,
            },
        )?;
        let slave_node = slave.access.node();
        let (streamed, stopped) = std::thread::scope(|scope| {
            let stopping = scope.spawn(|| {
                let refs: Vec<&str> = stop.iter().map(String::as_str).collect();
                crate::node::run_service_checked(slave_node, &refs)
            });
            let streamed = stream_backup(
                master,
                slave,
                plan,
                &master_options,
                &fresh,
                &progress,
                reporter,
            );
            let stopped = stopping.join().unwrap_or_else(|_| {
                Err(Error::Internal(
                    "stopping the slave's server panicked".into(),
                ))
            });
            (streamed, stopped)
        });
        streamed.and(stopped.map(drop))
    };
    if let Err(err) = copied {
        return Err(back_as_it_was(
            slave, journal, plan, &fresh, &before, err, reporter,
        ));
    }
    progress.report(reporter);
    let prepared = read_position(slave, &fresh).and_then(|position| {
        reporter.event(Event::Note {
            message: format!("{}: preparing the copy", slave.label()),
        });
        checked(
            slave,
            "mariadb-backup --prepare",
            &[
                &plan.prepare_program,
                "--prepare",
                &format!("--target-dir={fresh_text}"),
            ],
        )?;
        progress.mark_in_place();
        Ok(position)
    });
    let (binlog_file, binlog_offset, gtid) = match prepared {
        Ok(position) => position,
        Err(err) => {
            return Err(back_as_it_was(
                slave, journal, plan, &fresh, &before, err, reporter,
            ));
        }
    };
    if let Err(err) = journal.record(
        slave.access.node(),
        JournalEntry::DatadirReplaced {
            datadir: plan.datadir.clone(),
            before: before.clone(),
        },
    ) {
        return Err(back_as_it_was(
            slave, journal, plan, &fresh, &before, err, reporter,
        ));
    }
    // The install's flag files and upgrade marker stay: mariadb-backup
    // leaves them out, and without the marker Debian's start script runs
    // mariadb-upgrade, whose ALTERs of the privilege tables deadlock with
    // the run's CREATE USER.
    reporter.event(Event::Note {
        message: format!("{}: starting the server on the copy", slave.label()),
    });
    let swapped = checked(
        slave,
        "swapping the datadir",
        &[
            "sh",
            "-c",
            "set -e; mv -- \"$1\" \"$3\"; mv -- \"$2\" \"$1\"; chown -R --reference=\"$3\" -- \"$1\"; chmod --reference=\"$3\" -- \"$1\"; \
             for f in \"$3\"/debian-*.flag \"$3\"/mysql_upgrade_info; do [ -e \"$f\" ] && cp -p -- \"$f\" \"$1\"/; done; true",
            "sh",
            &datadir,
            &fresh_text,
            &before_text,
        ],
    );
    let started = swapped.and_then(|_| start_server(slave, journal));
    if let Err(err) = started {
        return Err(back_as_it_was(
            slave, journal, plan, &fresh, &before, err, reporter,
        ));
    }
    // Accounts only the slave had come back (the ones on both keep the
    // master's definition: a fresh slave has only the install's defaults).
    {
        let slave_options =
            ClientOptionFile::create(slave.access.node(), &slave.answers, &run_dir)?;
        let mut load = with_options(
            &[
                slave.profile.programs.client.clone(),
                "--init-command=SET SESSION sql_log_bin=0".into(),
            ],
            &slave_options.options(),
        );
        load.insert(0, users_text.clone());
        let mut script = vec!["sh", "-c", "in=$1; shift; \"$@\" < \"$in\"", "sh"];
        script.extend(load.iter().map(String::as_str));
        checked(slave, "putting back the slave's own accounts", &script)?;
    }
    let conn = &mut slave.session.conn;
    conn.exec("SET SESSION sql_log_bin = 0")?;
    conn.exec("FLUSH PRIVILEGES")?;
    for database in &plan.drop_after {
        conn.exec(&format!(
            "DROP DATABASE IF EXISTS {}",
            quote_ident(database)
        ))?;
    }
    conn.exec("SET SESSION sql_log_bin = 1")?;
    reporter.event(Event::Note {
        message: format!("{}: checking the copy", slave.label()),
    });
    let verified = verify_if_unchanged(master, slave, copy, &binlog_file, binlog_offset)?;
    Ok(SeedResult {
        position: Position::MariaDbGtid(gtid),
        bytes: progress.bytes(),
        copy_seconds: progress.copy_seconds(),
        seconds: progress.seconds(),
        verified,
    })
}

/// Compares the copy with the master when the master wrote nothing since
/// the backup (its snapshot is then the backup's); otherwise the copy
/// stands on mariadb-backup's own page checks.
fn verify_if_unchanged(
    master: &mut Member,
    slave: &mut Member,
    copy: &CopyPlan,
    file: &str,
    offset: u64,
) -> Result<String> {
    let conn = &mut master.session.conn;
    conn.exec("START TRANSACTION WITH CONSISTENT SNAPSHOT")?;
    let outcome = (|| {
        let (snapshot_file, snapshot_position) = conn.binlog_snapshot()?;
        if snapshot_file != file || snapshot_position != offset.to_string() {
            return Ok(
                "the master wrote since the copy: checked by mariadb-backup's page checks only"
                    .to_string(),
            );
        }
        super::verify::compare(
            conn,
            &mut slave.session.conn,
            &copy.databases,
            &copy.tables,
            copy.verify,
        )
    })();
    let _ = conn.exec("ROLLBACK");
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_backup_position() {
        assert_eq!(
            position_in_binlog_info("mysql-bin.000002\t328\t0-1-7\n"),
            Some(("mysql-bin.000002".into(), 328, "0-1-7".into()))
        );
        assert_eq!(
            position_in_binlog_info("mysql-bin.000001\t4\n"),
            Some(("mysql-bin.000001".into(), 4, String::new()))
        );
        assert_eq!(position_in_binlog_info(""), None);
    }
}
