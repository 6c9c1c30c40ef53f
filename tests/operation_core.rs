//! The shared core against recording fakes: the executor applies a plan
//! (journal first, statements in order, secrets masked), a failing step
//! runs its rescue, rollback undoes a run from its journal alone. Each
//! node is a temporary tree; each server a `FakeServer`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mysql_ha::access::Access;
use mysql_ha::answers::{Answers, NodeAnswers};
use mysql_ha::backup::{self, Journal, JournalEntry, SqlUndo};
use mysql_ha::events::{Event, Reporter};
use mysql_ha::mycnf::FileEdit;
use mysql_ha::node::{FileStat, LocalNode, Node, Output};
use mysql_ha::operation::apply::{self, Journals};
use mysql_ha::operation::pair::{Member, Pair, Side};
use mysql_ha::operation::plan::{
    Change, ManagerHold, Plan, Rescue, RescueChange, Statement, StepPlan,
};
use mysql_ha::operation::undo::UndoRule;
use mysql_ha::profile::Profile;
use mysql_ha::sql::fake::{FakeServer, Matcher, Reply};
use mysql_ha::Error;

const SECRET: &str = "Zq9-Xv7#Kp3!Wm5_Hd2%";
const OLD_HASH: &str = "*0123456789ABCDEF0123456789ABCDEF01234567";
const CNF: &str = "/etc/mysql/mariadb.conf.d/50-server.cnf";
const CNF_BEFORE: &[u8] = b"[mysqld]\nbind-address = 127.0.0.1\n";
const CNF_AFTER: &[u8] = b"[mysqld]\nbind-address = 0.0.0.0\nserver-id = 1\n";

/// A tree node that notes, whenever a watched file is replaced, what the
/// run's journal held at that moment.
struct Watching {
    inner: LocalNode,
    watched: PathBuf,
    journal_then: Arc<Mutex<Vec<String>>>,
}

impl Node for Watching {
    fn label(&self) -> &str {
        self.inner.label()
    }
    fn run(&self, argv: &[&str], stdin: Option<&[u8]>) -> mysql_ha::Result<Output> {
        self.inner.run(argv, stdin)
    }
    fn read(&self, path: &Path) -> mysql_ha::Result<Option<Vec<u8>>> {
        self.inner.read(path)
    }
    fn stat(&self, path: &Path) -> mysql_ha::Result<Option<FileStat>> {
        self.inner.stat(path)
    }
    fn read_link(&self, path: &Path) -> mysql_ha::Result<PathBuf> {
        self.inner.read_link(path)
    }
    fn list_dir(&self, path: &Path) -> mysql_ha::Result<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn create_dir_all(&self, path: &Path, mode: u32) -> mysql_ha::Result<()> {
        self.inner.create_dir_all(path, mode)
    }
    fn write_atomic(
        &self,
        path: &Path,
        bytes: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> mysql_ha::Result<()> {
        if path == self.watched {
            let mut journals = String::new();
            for run in backup::runs(&self.inner).unwrap_or_default() {
                if let Ok(Some(text)) = self
                    .inner
                    .read(&Journal::run_dir(&run).join("journal.jsonl"))
                {
                    journals.push_str(&String::from_utf8_lossy(&text));
                }
            }
            self.journal_then.lock().unwrap().push(journals);
        }
        self.inner.write_atomic(path, bytes, mode, uid, gid)
    }
    fn remove_file(&self, path: &Path) -> mysql_ha::Result<()> {
        self.inner.remove_file(path)
    }
    fn free_bytes(&self, path: &Path) -> mysql_ha::Result<u64> {
        self.inner.free_bytes(path)
    }
}

/// Every event, rendered as a front-end's log would print it.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Reporter for Log {
    fn event(&self, event: Event) {
        let line = match event {
            Event::StepStarted { step } => format!("== {step}"),
            Event::StepFinished { step, summary, .. } => format!("{step}: {summary}"),
            Event::Note { message } => message,
            Event::Progress { step, bytes, .. } => format!("{step}: {bytes} bytes"),
        };
        self.0.lock().unwrap().push(line);
    }
}

impl Log {
    fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

/// A Debian 12 profile whose service commands do nothing (they run on
/// this machine: a test must never restart its server).
fn profile() -> Profile {
    profile_named("debian-12")
}

fn profile_named(name: &str) -> Profile {
    let mut profile = Profile::by_name(name).unwrap();
    for argv in [
        &mut profile.service.start,
        &mut profile.service.stop,
        &mut profile.service.restart,
    ] {
        *argv = vec!["true".to_string()];
    }
    profile.paths.error_log = "/var/log/mysql/error.log".into();
    profile
}

struct Fixture {
    master_dir: tempfile::TempDir,
    _slave_dir: tempfile::TempDir,
    master: FakeServer,
    slave: FakeServer,
    pair: Pair,
    /// The master's journals each time its option file was replaced.
    journal_then: Arc<Mutex<Vec<String>>>,
}

fn node_answers(host: &str) -> NodeAnswers {
    NodeAnswers {
        host: host.into(),
        mysql_admin_user: "root".into(),
        ..NodeAnswers::default()
    }
}

fn member(side: Side, host: &str, node: Box<dyn Node>, server: &FakeServer) -> Member {
    member_with(side, host, node, server, profile())
}

fn member_with(
    side: Side,
    host: &str,
    node: Box<dyn Node>,
    server: &FakeServer,
    profile: Profile,
) -> Member {
    let access = Access::Fake {
        node,
        server: server.clone(),
    };
    Member::with_access(side, &node_answers(host), access, profile).unwrap()
}

/// A master whose option file is watched, and a slave; both MariaDB.
fn fixture() -> Fixture {
    let master_dir = tempfile::tempdir().unwrap();
    let slave_dir = tempfile::tempdir().unwrap();
    let cnf = master_dir.path().join(CNF.trim_start_matches('/'));
    std::fs::create_dir_all(cnf.parent().unwrap()).unwrap();
    std::fs::write(&cnf, CNF_BEFORE).unwrap();
    let master = FakeServer::new("10.11.6-MariaDB-0+deb12u1-log");
    let slave = FakeServer::new("10.11.6-MariaDB-0+deb12u1-log");
    let journal_then = Arc::new(Mutex::new(Vec::new()));
    let watching = Watching {
        inner: LocalNode::with_root(master_dir.path()),
        watched: PathBuf::from(CNF),
        journal_then: journal_then.clone(),
    };
    let answers = Answers {
        master: node_answers("192.0.2.11"),
        slave: node_answers("192.0.2.12"),
        ..Answers::default()
    };
    let pair = Pair {
        answers,
        master: member(Side::Master, "192.0.2.11", Box::new(watching), &master),
        slave: member(
            Side::Slave,
            "192.0.2.12",
            Box::new(LocalNode::with_root(slave_dir.path())),
            &slave,
        ),
        slave2: None,
        witness: None,
    };
    Fixture {
        master_dir,
        _slave_dir: slave_dir,
        master,
        slave,
        pair,
        journal_then,
    }
}

/// The master holds `repl`@`192.0.2.12` already, with an old password.
fn script_existing_account(server: &FakeServer) {
    server.answer(
        Matcher::Exact(
            "SELECT COUNT(*) FROM mysql.user WHERE User = 'repl' AND Host = '192.0.2.12'".into(),
        ),
        Reply::value("COUNT(*)", "1"),
    );
    server.answer(
        Matcher::Prefix("SHOW CREATE USER ".into()),
        Reply::value(
            "CREATE USER for repl@192.0.2.12",
            &format!("CREATE USER `repl`@`192.0.2.12` IDENTIFIED BY PASSWORD '{OLD_HASH}'"),
        ),
    );
    server.answer(
        Matcher::Prefix("SHOW GRANTS FOR ".into()),
        Reply::value(
            "Grants for repl@192.0.2.12",
            &format!("GRANT REPLICATION SLAVE ON *.* TO `repl`@`192.0.2.12` IDENTIFIED BY PASSWORD '{OLD_HASH}'"),
        ),
    );
}

fn account_statement() -> Statement {
    Statement::masked(
        "ALTER USER 'repl'@'192.0.2.12' IDENTIFIED BY '********'".into(),
        format!("ALTER USER 'repl'@'192.0.2.12' IDENTIFIED BY '{SECRET}'"),
        UndoRule::Account {
            user: "repl".into(),
            host: "192.0.2.12".into(),
        },
    )
}

fn step(name: &'static str, side: Side, changes: Vec<Change>) -> StepPlan {
    StepPlan {
        name,
        side,
        changes,
        summary: Vec::new(),
    }
}

fn plan(run_id: &str, steps: Vec<StepPlan>, rescues: Vec<Rescue>) -> Plan {
    Plan {
        run_id: run_id.into(),
        master_label: "192.0.2.11".into(),
        slave_label: "192.0.2.12".into(),
        slave2_label: String::new(),
        witness_label: String::new(),
        preamble: Vec::new(),
        steps,
        rescues,
        side_names: None,
        hold: None,
    }
}

/// A my.cnf edit and a restart, the replication account's new password,
/// a command, and the slave's replication started.
fn small_plan(run_id: &str) -> Plan {
    plan(
        run_id,
        vec![
            step(
                "configure the master",
                Side::Master,
                vec![
                    Change::File(FileEdit {
                        path: CNF.into(),
                        before: Some(CNF_BEFORE.to_vec()),
                        after: CNF_AFTER.to_vec(),
                    }),
                    Change::RestartServer {
                        argv: vec!["true".into()],
                    },
                ],
            ),
            step(
                "replication account",
                Side::Master,
                vec![
                    Change::Sql(Statement::control("SET SESSION sql_log_bin = 0")),
                    Change::Sql(account_statement()),
                    Change::Sql(Statement::control("SET SESSION sql_log_bin = 1")),
                ],
            ),
            step(
                "mark the slave",
                Side::Slave,
                vec![
                    Change::command(&["true"], "a harmless command"),
                    Change::Sql(Statement::control("START SLAVE")),
                ],
            ),
        ],
        Vec::new(),
    )
}

fn journal_text(dir: &Path, run_id: &str) -> String {
    let path = dir
        .join(Journal::run_dir(run_id).strip_prefix("/").unwrap())
        .join("journal.jsonl");
    std::fs::read_to_string(path).unwrap()
}

fn no_run(_: &mut Pair) -> mysql_ha::Result<()> {
    Ok(())
}

#[test]
fn the_executor_journals_before_each_change_runs_in_order_and_masks_the_secret() {
    let mut f = fixture();
    script_existing_account(&f.master);
    let run_id = backup::new_run_id();
    let plan = small_plan(&run_id);
    let mut journals = Journals::create(&f.pair, &run_id).unwrap();
    let log = Log::default();
    let applied = apply::run(&mut f.pair, &plan, &mut journals, &log, &mut no_run).unwrap();
    let finished: Vec<&str> = applied.finished.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        finished,
        [
            "configure the master",
            "replication account",
            "mark the slave"
        ]
    );

    // The file changed, and its backup and the journal line came first.
    let cnf = f.master_dir.path().join(CNF.trim_start_matches('/'));
    assert_eq!(std::fs::read(&cnf).unwrap(), CNF_AFTER);
    let journal = Journal::open(f.pair.master.access.node(), &run_id).unwrap();
    let backed_up = journal.records().iter().find_map(|r| match &r.entry {
        JournalEntry::FileBackedUp { path, backup, .. } if path == Path::new(CNF) => backup.clone(),
        _ => None,
    });
    let backup_copy = f
        .master_dir
        .path()
        .join(backed_up.unwrap().strip_prefix("/").unwrap());
    assert_eq!(std::fs::read(backup_copy).unwrap(), CNF_BEFORE);

    // The restart reconnected to the server.
    assert_eq!(f.master.connections(), 2);

    // The master ran the plan's statements in order, with the real
    // password: what a server sees.
    assert_eq!(
        f.master.statements(),
        [
            "SET SESSION sql_log_bin = 0".to_string(),
            format!("ALTER USER 'repl'@'192.0.2.12' IDENTIFIED BY '{SECRET}'"),
            "SET SESSION sql_log_bin = 1".to_string(),
        ]
    );
    assert_eq!(f.slave.statements(), ["START SLAVE"]);
    // The account was read (for its undo) before it changed.
    let log_of_master: Vec<String> = f.master.log().into_iter().map(|(_, t)| t).collect();
    let read_at = log_of_master
        .iter()
        .position(|t| t.starts_with("SHOW CREATE USER"))
        .unwrap();
    let changed_at = log_of_master
        .iter()
        .position(|t| t.starts_with("ALTER USER"))
        .unwrap();
    assert!(read_at < changed_at, "{log_of_master:?}");

    // The journal holds the concrete undo: the old account, hash included.
    let undo = journal.records().iter().find_map(|r| match &r.entry {
        JournalEntry::Sql {
            statement_masked,
            undo: Some(SqlUndo::Run { statements, .. }),
            ..
        } if statement_masked.starts_with("ALTER USER") => Some(statements.clone()),
        _ => None,
    });
    let undo: Vec<String> = undo.unwrap().into_iter().map(|s| s.real).collect();
    assert!(
        undo.iter()
            .any(|s| s.starts_with("CREATE USER") && s.contains(OLD_HASH)),
        "{undo:?}"
    );
    let slave_journal = Journal::open(f.pair.slave.access.node(), &run_id).unwrap();
    assert!(slave_journal.records().iter().any(|r| matches!(
        &r.entry,
        JournalEntry::Command { argv, ok: true, .. } if argv == &["true".to_string()]
    )));

    // No secret in the journals, the plan shown, or the log.
    let rendered = plan.render();
    for text in [
        journal_text(f.master_dir.path(), &run_id),
        rendered.clone(),
        log.text(),
    ] {
        assert!(!text.contains(SECRET), "the password leaked: {text}");
    }
    assert!(rendered.contains("IDENTIFIED BY '********'"), "{rendered}");
}

#[test]
fn the_backup_is_journaled_before_the_option_file_is_replaced() {
    let mut f = fixture();
    script_existing_account(&f.master);
    let run_id = backup::new_run_id();
    let mut journals = Journals::create(&f.pair, &run_id).unwrap();
    apply::run(
        &mut f.pair,
        &small_plan(&run_id),
        &mut journals,
        &Log::default(),
        &mut no_run,
    )
    .unwrap();
    // When the option file was replaced, its backup was in the journal
    // already, and its change not yet.
    let seen = f.journal_then.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].contains("\"kind\":\"file_backed_up\"") && seen[0].contains(CNF),
        "{seen:?}"
    );
    assert!(!seen[0].contains("\"kind\":\"file_changed\""), "{seen:?}");
}

#[test]
fn a_failing_statement_stops_the_plan_runs_its_rescue_and_is_still_undoable() {
    let mut f = fixture();
    script_existing_account(&f.master);
    // The server refuses the password and quotes it back, as MariaDB does.
    f.master.answer(
        Matcher::Prefix("ALTER USER".into()),
        Reply::error(
            1470,
            &format!("String '{SECRET}' is too long for user name (should be no longer than 80)"),
        ),
    );
    let run_id = backup::new_run_id();
    let rescue = Rescue {
        first: "replication account",
        last: "mark the slave",
        why: "the slave replicates again".into(),
        changes: vec![
            RescueChange {
                side: Side::Slave,
                change: Change::Sql(Statement::control("START SLAVE")),
                once: None,
            },
            RescueChange {
                side: Side::Slave,
                change: Change::Sql(Statement::control("SELECT 'never'")),
                once: Some("mark the slave"),
            },
        ],
    };
    let mut steps = small_plan(&run_id).steps;
    steps.insert(
        1,
        step(
            "stop the slave",
            Side::Slave,
            vec![Change::Sql(Statement::control("STOP SLAVE"))],
        ),
    );
    let plan = plan(&run_id, steps, vec![rescue]);
    let mut journals = Journals::create(&f.pair, &run_id).unwrap();
    let log = Log::default();
    let failed = *apply::run(&mut f.pair, &plan, &mut journals, &log, &mut no_run).unwrap_err();

    assert_eq!(failed.step, "replication account");
    let Error::Sql {
        node,
        statement,
        code,
        message,
    } = &failed.error
    else {
        panic!("not an SQL error: {:?}", failed.error);
    };
    assert_eq!(node, "192.0.2.11");
    assert_eq!(
        statement,
        "ALTER USER 'repl'@'192.0.2.12' IDENTIFIED BY '********'"
    );
    assert_eq!(*code, Some(1470));
    assert!(
        !failed.error.to_string().contains(SECRET),
        "{}",
        failed.error
    );
    assert!(message.contains("********"), "{message}");

    // The rescue ran (its change due always, not the one due after a step
    // that never finished), and nothing after the failing statement did.
    assert_eq!(failed.rescue, Some(Vec::new()));
    assert_eq!(f.slave.statements(), ["STOP SLAVE", "START SLAVE"]);
    assert_eq!(
        f.master.statements().last().map(String::as_str),
        Some(format!("ALTER USER 'repl'@'192.0.2.12' IDENTIFIED BY '{SECRET}'").as_str())
    );
    let finished: Vec<&str> = failed.applied.finished.iter().map(|(s, _)| *s).collect();
    assert_eq!(finished, ["configure the master", "stop the slave"]);

    // The statement that failed was journaled, with its undo, before it ran.
    let journal = Journal::open(f.pair.master.access.node(), &run_id).unwrap();
    assert!(journal.records().iter().any(|r| matches!(
        &r.entry,
        JournalEntry::Sql { statement_masked, undo: Some(SqlUndo::Run { .. }), .. }
            if statement_masked.starts_with("ALTER USER")
    )));
    assert!(!journal_text(f.master_dir.path(), &run_id).contains(SECRET));
    assert!(!log.text().contains(SECRET));
}

/// A cluster manager's hold whose commands only say they ran (`true WORD`
/// shows in the log as "192.0.2.11: true WORD").
fn hold(begin: &[&[&str]]) -> ManagerHold {
    let argv = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    ManagerHold {
        side: Side::Master,
        begin: begin.iter().map(|words| argv(words)).collect(),
        end: vec![argv(&["true", "end"])],
        why: "a test hold".into(),
    }
}

fn position(log: &Log, line: &str) -> usize {
    let lines = log.0.lock().unwrap().clone();
    lines
        .iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no `{line}` in:\n{}", lines.join("\n")))
}

#[test]
fn the_manager_hold_spans_exactly_the_steps_that_disturb_a_server() {
    let mut f = fixture();
    script_existing_account(&f.master);
    let run_id = backup::new_run_id();
    let mut plan = small_plan(&run_id);
    plan.hold = Some(hold(&[&["true", "begin"]]));
    let mut journals = Journals::create(&f.pair, &run_id).unwrap();
    let log = Log::default();
    apply::run(&mut f.pair, &plan, &mut journals, &log, &mut no_run).unwrap();
    // Only "configure the master" restarts a server: the hold begins right
    // before it and ends right after it, not around the whole run.
    let begin = position(&log, "192.0.2.11: true begin");
    let end = position(&log, "192.0.2.11: true end");
    assert!(begin < position(&log, "== configure the master"));
    assert!(position(&log, "== configure the master") < end);
    assert!(end < position(&log, "== replication account"));
    assert_eq!(
        log.text().matches("true begin").count(),
        1,
        "{}",
        log.text()
    );
    assert_eq!(log.text().matches("true end").count(), 1, "{}", log.text());
}

#[test]
fn the_manager_hold_ends_when_a_held_step_fails_or_its_own_begin_does() {
    // A restart of the slave in the last step: the span covers the failing
    // replication account step.
    let mut f = fixture();
    script_existing_account(&f.master);
    f.master.answer(
        Matcher::Prefix("ALTER USER".into()),
        Reply::error(1396, "Operation ALTER USER failed"),
    );
    let run_id = backup::new_run_id();
    let mut plan = small_plan(&run_id);
    plan.steps[2].changes.push(Change::RestartServer {
        argv: vec!["true".into()],
    });
    plan.hold = Some(hold(&[&["true", "begin"]]));
    let mut journals = Journals::create(&f.pair, &run_id).unwrap();
    let log = Log::default();
    let failed = *apply::run(&mut f.pair, &plan, &mut journals, &log, &mut no_run).unwrap_err();
    assert_eq!(failed.step, "replication account");
    assert!(position(&log, "== replication account") < position(&log, "192.0.2.11: true end"));
    assert!(log
        .0
        .lock()
        .unwrap()
        .iter()
        .all(|l| l != "== mark the slave"));

    // The hold's own begin fails half way (maintenance on, never settled):
    // nothing of the plan runs, and what began is put back.
    let mut f = fixture();
    let run_id = backup::new_run_id();
    let mut plan = small_plan(&run_id);
    plan.hold = Some(hold(&[&["true", "begin"], &["false", "settle"]]));
    let mut journals = Journals::create(&f.pair, &run_id).unwrap();
    let log = Log::default();
    let failed = *apply::run(&mut f.pair, &plan, &mut journals, &log, &mut no_run).unwrap_err();
    assert_eq!(failed.step, "configure the master");
    assert!(
        failed.error.to_string().contains("false settle"),
        "{}",
        failed.error
    );
    assert!(position(&log, "192.0.2.11: true begin") < position(&log, "192.0.2.11: true end"));
    assert!(
        log.0.lock().unwrap().iter().all(|l| !l.starts_with("== ")),
        "{}",
        log.text()
    );
    assert!(
        f.master.statements().is_empty(),
        "{:?}",
        f.master.statements()
    );
}

#[test]
fn rollback_puts_the_account_and_the_file_back_from_the_journal_alone() {
    let mut f = fixture();
    script_existing_account(&f.master);
    let run_id = backup::new_run_id();
    let mut journals = Journals::create(&f.pair, &run_id).unwrap();
    apply::run(
        &mut f.pair,
        &small_plan(&run_id),
        &mut journals,
        &Log::default(),
        &mut no_run,
    )
    .unwrap();
    let ran = f.master.statements().len();
    let connections = f.master.connections();
    // The server forgets what it was scripted with: rollback must not read
    // the account again, only the journal.
    let master = FakeServer::new("10.11.6-MariaDB-0+deb12u1-log");
    let mut rolling = member(
        Side::Master,
        "192.0.2.11",
        Box::new(LocalNode::with_root(f.master_dir.path())),
        &master,
    );
    let text = mysql_ha::rollback::undo_member(&mut rolling, &run_id, false).unwrap();

    let cnf = f.master_dir.path().join(CNF.trim_start_matches('/'));
    assert_eq!(std::fs::read(&cnf).unwrap(), CNF_BEFORE);
    assert_eq!(
        master.statements(),
        [
            "SET SESSION sql_log_bin = 0".to_string(),
            "DROP USER IF EXISTS 'repl'@'192.0.2.12'".to_string(),
            format!("CREATE USER `repl`@`192.0.2.12` IDENTIFIED BY PASSWORD '{OLD_HASH}'"),
            format!("GRANT REPLICATION SLAVE ON *.* TO `repl`@`192.0.2.12` IDENTIFIED BY PASSWORD '{OLD_HASH}'"),
            "SET SESSION sql_log_bin = 1".to_string(),
        ]
    );
    // What it says masks the hash, and names what it did.
    assert!(!text.contains(OLD_HASH), "{text}");
    assert!(text.contains(&format!("restored {CNF}")), "{text}");
    assert!(text.contains("restarted the server"), "{text}");
    // The first server saw nothing more.
    assert_eq!(f.master.statements().len(), ran);
    assert_eq!(f.master.connections(), connections);

    // A second pass (as after a failure part way) finds the account undone
    // in the journal: it does not drop and recreate it again.
    let again = FakeServer::new("10.11.6-MariaDB-0+deb12u1-log");
    let mut rolling = member(
        Side::Master,
        "192.0.2.11",
        Box::new(LocalNode::with_root(f.master_dir.path())),
        &again,
    );
    mysql_ha::rollback::undo_member(&mut rolling, &run_id, false).unwrap();
    assert!(
        !again.statements().iter().any(|s| s.contains("USER")),
        "{:?}",
        again.statements()
    );
    assert_eq!(std::fs::read(&cnf).unwrap(), CNF_BEFORE);
}

#[test]
fn rollback_refuses_over_a_later_change_unless_forced() {
    let mut f = fixture();
    script_existing_account(&f.master);
    let run_id = backup::new_run_id();
    let mut journals = Journals::create(&f.pair, &run_id).unwrap();
    apply::run(
        &mut f.pair,
        &small_plan(&run_id),
        &mut journals,
        &Log::default(),
        &mut no_run,
    )
    .unwrap();
    // A hand edit after the run.
    let cnf = f.master_dir.path().join(CNF.trim_start_matches('/'));
    let edited = [CNF_AFTER, b"max_connections = 500\n"].concat();
    std::fs::write(&cnf, &edited).unwrap();
    let server = FakeServer::new("10.11.6-MariaDB");
    let mut rolling = member(
        Side::Master,
        "192.0.2.11",
        Box::new(LocalNode::with_root(f.master_dir.path())),
        &server,
    );
    let err = mysql_ha::rollback::undo_member(&mut rolling, &run_id, false).unwrap_err();
    assert!(matches!(err, Error::RollbackRefused { .. }), "{err}");
    assert!(err.to_string().contains(CNF), "{err}");
    assert_eq!(std::fs::read(&cnf).unwrap(), edited);
    assert!(server.statements().is_empty());

    // Forced, it goes back byte for byte and the account too.
    mysql_ha::rollback::undo_member(&mut rolling, &run_id, true).unwrap();
    assert_eq!(std::fs::read(&cnf).unwrap(), CNF_BEFORE);
    assert!(server
        .statements()
        .iter()
        .any(|s| s.starts_with("CREATE USER") && s.contains(OLD_HASH)));
}

#[test]
fn rollback_refuses_when_a_later_run_built_on_the_same_file() {
    let mut f = fixture();
    script_existing_account(&f.master);
    let first = "20261130-120000-aaaa".to_string();
    let mut journals = Journals::create(&f.pair, &first).unwrap();
    apply::run(
        &mut f.pair,
        &small_plan(&first),
        &mut journals,
        &Log::default(),
        &mut no_run,
    )
    .unwrap();
    // A later run (its id sorts after) edits the same file.
    let later = "20261130-130000-bbbb".to_string();
    let second = plan(
        &later,
        vec![step(
            "configure the master",
            Side::Master,
            vec![Change::File(FileEdit {
                path: CNF.into(),
                before: Some(CNF_AFTER.to_vec()),
                after: [CNF_AFTER, b"log_bin = mysql-bin\n"].concat(),
            })],
        )],
        Vec::new(),
    );
    let mut journals = Journals::create(&f.pair, &later).unwrap();
    apply::run(
        &mut f.pair,
        &second,
        &mut journals,
        &Log::default(),
        &mut no_run,
    )
    .unwrap();
    let server = FakeServer::new("10.11.6-MariaDB");
    let mut rolling = member(
        Side::Master,
        "192.0.2.11",
        Box::new(LocalNode::with_root(f.master_dir.path())),
        &server,
    );
    let err = mysql_ha::rollback::undo_member(&mut rolling, &first, false).unwrap_err();
    assert!(err.to_string().contains(&later), "{err}");
    assert!(server.statements().is_empty());
}

/// A Debian node's option files as installed: the server listens on
/// localhost only, nothing for replication yet.
fn debian_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let conf_d = dir.path().join("etc/mysql/mariadb.conf.d");
    std::fs::create_dir_all(&conf_d).unwrap();
    std::fs::write(
        dir.path().join("etc/mysql/my.cnf"),
        "[client-server]\n!includedir /etc/mysql/mariadb.conf.d/\n",
    )
    .unwrap();
    std::fs::write(
        conf_d.join("50-server.cnf"),
        "[mysqld]\nbind-address = 127.0.0.1\nlog_error = /var/log/mysql/error.log\n",
    )
    .unwrap();
    dir
}

fn step_names(steps: &[StepPlan]) -> Vec<(&'static str, bool)> {
    steps.iter().map(|s| (s.name, !s.unchanged())).collect()
}

/// Two Debian nodes with fresh servers, to set up for `shop` with no copy
/// and no TLS.
struct FreshPair {
    master_dir: tempfile::TempDir,
    slave_dir: tempfile::TempDir,
    master: FakeServer,
    slave: FakeServer,
    pair: Pair,
    report: mysql_ha::setup::preflight::Report,
    secrets: mysql_ha::setup::build::Secrets,
}

const ACCOUNT_COUNT: &str =
    "SELECT COUNT(*) FROM mysql.user WHERE User = 'repl' AND Host = '192.0.2.12'";

fn fresh_pair() -> FreshPair {
    use mysql_ha::answers::{SeedMethod, TlsMode};

    let (master_dir, slave_dir) = (debian_tree(), debian_tree());
    let master = FakeServer::new("10.11.6-MariaDB-0+deb12u1-log");
    let slave = FakeServer::new("10.11.6-MariaDB-0+deb12u1-log");
    master.answer(
        Matcher::Exact(ACCOUNT_COUNT.into()),
        Reply::value("COUNT(*)", "0"),
    );
    master.answer(
        Matcher::Exact("SELECT @@GLOBAL.have_ssl = 'YES'".into()),
        Reply::value("@@GLOBAL.have_ssl = 'YES'", "0"),
    );
    master.set_variable("gtid_binlog_pos", "0-1-42");
    let mut answers = Answers {
        master: node_answers("192.0.2.11"),
        slave: node_answers("192.0.2.12"),
        ..Answers::default()
    };
    answers.replication.databases = vec!["shop".into()];
    answers.replication.seed = SeedMethod::None;
    answers.replication.tls = TlsMode::Off;
    let pair = Pair {
        answers,
        master: member(
            Side::Master,
            "192.0.2.11",
            Box::new(LocalNode::with_root(master_dir.path())),
            &master,
        ),
        slave: member(
            Side::Slave,
            "192.0.2.12",
            Box::new(LocalNode::with_root(slave_dir.path())),
            &slave,
        ),
        slave2: None,
        witness: None,
    };
    FreshPair {
        master_dir,
        slave_dir,
        master,
        slave,
        pair,
        report: mysql_ha::setup::preflight::Report {
            databases: vec!["shop".into()],
            to_copy: vec!["shop".into()],
            ..Default::default()
        },
        secrets: mysql_ha::setup::build::Secrets {
            replication_password: SECRET.into(),
        },
    }
}

/// The slave's status once it replicates from the master.
fn replicating_from_master() -> Option<mysql_ha::sql::fake::FakeRow> {
    Some(
        [
            ("Master_Host", "192.0.2.11"),
            ("Master_User", "repl"),
            ("Master_Port", "3306"),
            ("Slave_IO_Running", "Yes"),
            ("Slave_SQL_Running", "Yes"),
            ("Replicate_Wild_Do_Table", "shop.%"),
            ("Last_IO_Errno", "0"),
        ]
        .iter()
        .map(|(c, v)| (c.to_string(), Some(v.to_string())))
        .collect(),
    )
}

#[test]
fn setup_plans_a_fresh_pair_and_nothing_once_it_is_in_place() {
    use mysql_ha::setup::build::database_steps;

    let FreshPair {
        master_dir: _master_dir,
        slave_dir: _slave_dir,
        master,
        slave,
        mut pair,
        report,
        secrets,
    } = fresh_pair();
    let run_id = backup::new_run_id();
    let steps = database_steps(&mut pair, &report, &run_id, &secrets).unwrap();
    assert_eq!(
        step_names(&steps),
        [
            ("configure the master", true),
            ("configure the slave", true),
            ("replication account", true),
            ("seed the slave", false),
            ("start replication", true),
        ]
    );
    // A fresh pair's plan read no running settings: its files change anyway.
    assert!(!master
        .log()
        .iter()
        .any(|(_, q)| q.starts_with("SELECT @@GLOBAL.server_id")));
    let first = plan(&run_id, steps, Vec::new());
    let shown = first.render();
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(
        shown.contains("CREATE USER 'repl'@'192.0.2.12' IDENTIFIED BY '********'"),
        "{shown}"
    );

    // Applied on the fakes: files written, the account made, the slave
    // pointed at the master's position and started.
    let mut journals = Journals::create(&pair, &run_id).unwrap();
    apply::run(
        &mut pair,
        &first,
        &mut journals,
        &Log::default(),
        &mut no_run,
    )
    .unwrap();
    let pointed = slave
        .statements()
        .into_iter()
        .find(|s| s.starts_with("CHANGE MASTER TO"))
        .unwrap();
    assert!(pointed.contains("MASTER_HOST='192.0.2.11'"), "{pointed}");
    assert!(
        pointed.contains(SECRET),
        "the slave must get the password: {pointed}"
    );
    assert_eq!(
        slave.statements().last().map(String::as_str),
        Some("START SLAVE")
    );
    assert!(
        slave.statements().iter().any(|s| s.contains("0-1-42")),
        "{:?}",
        slave.statements()
    );
    assert!(master
        .statements()
        .iter()
        .any(|s| s.starts_with("CREATE USER 'repl'@'192.0.2.12' IDENTIFIED BY")));

    // The servers as they run after the restart and the start.
    for (server, id) in [(&master, "1"), (&slave, "2")] {
        server.set_variable("server_id", id);
    }
    master.set_variable("log_bin", "1");
    master.set_variable("binlog_format", "ROW");
    slave.set_variable("read_only", "1");
    slave.set_replica(replicating_from_master());
    master.answer(
        Matcher::Exact(ACCOUNT_COUNT.into()),
        Reply::value("COUNT(*)", "1"),
    );
    master.answer(
        Matcher::Exact("SHOW GRANTS FOR 'repl'@'192.0.2.12'".into()),
        Reply::value(
            "Grants for repl@192.0.2.12",
            "GRANT REPLICATION SLAVE ON *.* TO `repl`@`192.0.2.12` IDENTIFIED BY PASSWORD '*AB'",
        ),
    );
    master.answer(
        Matcher::Prefix("SELECT ssl_type FROM mysql.user".into()),
        Reply::value("ssl_type", ""),
    );
    let again = database_steps(&mut pair, &report, &backup::new_run_id(), &secrets).unwrap();
    let changed: Vec<_> = again.iter().filter(|s| !s.unchanged()).collect();
    assert!(changed.is_empty(), "a re-run would change: {changed:#?}");
    // Each server was asked whether it runs with its files' settings.
    assert!(slave
        .log()
        .iter()
        .any(|(_, q)| q == "SELECT @@GLOBAL.read_only"));
}

#[test]
fn a_replica_restarted_under_the_run_is_stopped_again_and_the_statement_retried() {
    let mut f = fixture();
    f.slave.set_replica(Some(
        [
            ("Master_Host", "192.0.2.11"),
            ("Master_User", "repl"),
            ("Master_Port", "3306"),
            ("Slave_IO_Running", "Yes"),
            ("Slave_SQL_Running", "Yes"),
        ]
        .iter()
        .map(|(c, v)| (c.to_string(), Some(v.to_string())))
        .collect(),
    ));
    // A daemon started the I/O thread again between the run's stop and
    // its change of the connection.
    f.slave.answer_once(
        Matcher::Prefix("CHANGE MASTER TO".into()),
        Reply::error(
            1198,
            "This operation cannot be performed as you have a running slave",
        ),
    );
    let run_id = backup::new_run_id();
    let change = "CHANGE MASTER TO MASTER_USER='repl', MASTER_PASSWORD='********'";
    let real = format!("CHANGE MASTER TO MASTER_USER='repl', MASTER_PASSWORD='{SECRET}'");
    let plan = plan(
        &run_id,
        vec![step(
            "replication login",
            Side::Slave,
            vec![Change::Sql(Statement::masked(
                change.into(),
                real.clone(),
                UndoRule::Source { target: None },
            ))],
        )],
        Vec::new(),
    );
    let mut journals = Journals::create(&f.pair, &run_id).unwrap();
    apply::run(
        &mut f.pair,
        &plan,
        &mut journals,
        &Log::default(),
        &mut no_run,
    )
    .unwrap();
    assert_eq!(
        f.slave.statements(),
        [real.clone(), "STOP SLAVE".into(), real]
    );
    // Its undo, read before: the old login, and replication running again.
    let journal = Journal::open(f.pair.slave.access.node(), &run_id).unwrap();
    let undo = journal.records().iter().find_map(|r| match &r.entry {
        JournalEntry::Sql {
            undo: Some(SqlUndo::Run { statements, .. }),
            ..
        } => Some(
            statements
                .iter()
                .map(|s| s.shown.clone())
                .collect::<Vec<_>>(),
        ),
        _ => None,
    });
    assert_eq!(
        undo.unwrap(),
        [
            "STOP SLAVE",
            "CHANGE MASTER TO MASTER_USER='repl', MASTER_SSL=0, MASTER_SSL_CA='', MASTER_SSL_VERIFY_SERVER_CERT=0",
            "START SLAVE",
        ]
    );
}

/// Every file under the tree's /etc, with its contents.
fn etc_files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join("etc"), &mut files);
    files.sort();
    files
}

#[test]
fn a_setup_rolled_back_leaves_both_nodes_as_they_were() {
    use mysql_ha::setup::build::database_steps;

    let mut fresh = fresh_pair();
    let before = [
        etc_files(fresh.master_dir.path()),
        etc_files(fresh.slave_dir.path()),
    ];
    let run_id = backup::new_run_id();
    let steps = database_steps(&mut fresh.pair, &fresh.report, &run_id, &fresh.secrets).unwrap();
    let mut journals = Journals::create(&fresh.pair, &run_id).unwrap();
    apply::run(
        &mut fresh.pair,
        &plan(&run_id, steps, Vec::new()),
        &mut journals,
        &Log::default(),
        &mut no_run,
    )
    .unwrap();
    fresh.slave.set_replica(replicating_from_master());
    assert_ne!(etc_files(fresh.slave_dir.path()), before[1]);
    let (master_ran, slave_ran) = (
        fresh.master.statements().len(),
        fresh.slave.statements().len(),
    );

    let undo = |dir: &Path, server: &FakeServer, side: Side, host: &str| {
        let mut member = member(side, host, Box::new(LocalNode::with_root(dir)), server);
        mysql_ha::rollback::undo_member(&mut member, &run_id, false).unwrap()
    };
    let slave_text = undo(
        fresh.slave_dir.path(),
        &fresh.slave,
        Side::Slave,
        "192.0.2.12",
    );
    let master_text = undo(
        fresh.master_dir.path(),
        &fresh.master,
        Side::Master,
        "192.0.2.11",
    );

    // Files: byte for byte, the run's own drop-in gone.
    assert_eq!(
        etc_files(fresh.master_dir.path()),
        before[0],
        "{master_text}"
    );
    assert_eq!(etc_files(fresh.slave_dir.path()), before[1], "{slave_text}");
    assert!(
        master_text.contains("removed /etc/mysql/mariadb.conf.d/60-mysql-ha.cnf"),
        "{master_text}"
    );
    // The slave forgets its master again; the account the run made is
    // dropped (it did not exist before), nothing else is run.
    assert_eq!(
        fresh.slave.statements()[slave_ran..],
        ["STOP SLAVE", "RESET SLAVE ALL"]
    );
    assert_eq!(fresh.slave.replica(), None);
    assert_eq!(
        fresh.master.statements()[master_ran..],
        [
            "SET SESSION sql_log_bin = 0",
            "DROP USER IF EXISTS 'repl'@'192.0.2.12'",
            "SET SESSION sql_log_bin = 1",
        ]
    );
    for text in [&master_text, &slave_text] {
        assert!(text.contains("restarted the server"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[test]
fn on_mysql_the_hash_is_read_as_hex_and_rollback_lifts_super_read_only_for_its_own_statements() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::new("8.4.3");
    let hex_hash = "0x24412430303524";
    server.answer(
        Matcher::Exact(
            "SELECT COUNT(*) FROM mysql.user WHERE User = 'mysqlha_mon' AND Host = '192.0.2.12'"
                .into(),
        ),
        Reply::value("COUNT(*)", "1"),
    );
    server.answer(
        Matcher::Prefix("SHOW CREATE USER ".into()),
        Reply::value(
            "CREATE USER for mysqlha_mon@192.0.2.12",
            &format!("CREATE USER `mysqlha_mon`@`192.0.2.12` IDENTIFIED WITH 'caching_sha2_password' AS {hex_hash} REQUIRE NONE"),
        ),
    );
    server.answer(
        Matcher::Prefix("SHOW GRANTS FOR ".into()),
        Reply::value(
            "Grants for mysqlha_mon@192.0.2.12",
            "GRANT USAGE ON *.* TO `mysqlha_mon`@`192.0.2.12`",
        ),
    );
    // A slave: the daemon keeps it super_read_only.
    server.set_variable("super_read_only", "1");
    let node = || -> Box<dyn Node> { Box::new(LocalNode::with_root(dir.path())) };
    let mysql = || profile_named("debian-mysql");
    let run_id = backup::new_run_id();
    let statement = Statement::masked(
        "ALTER USER 'mysqlha_mon'@'192.0.2.12' IDENTIFIED BY '********'".into(),
        format!("ALTER USER 'mysqlha_mon'@'192.0.2.12' IDENTIFIED BY '{SECRET}'"),
        UndoRule::Account {
            user: "mysqlha_mon".into(),
            host: "192.0.2.12".into(),
        },
    );
    let mut applied = member_with(Side::Master, "192.0.2.12", node(), &server, mysql());
    let mut journal = Journal::create(applied.access.node(), &run_id).unwrap();
    mysql_ha::operation::statement::run(&mut applied, &mut journal, &statement).unwrap();
    let log: Vec<String> = server.log().into_iter().map(|(_, t)| t).collect();
    let hex_at = log
        .iter()
        .position(|t| t == "SET SESSION print_identified_with_as_hex = ON")
        .unwrap();
    let read_at = log
        .iter()
        .position(|t| t.starts_with("SHOW CREATE USER"))
        .unwrap();
    assert!(hex_at < read_at, "{log:?}");
    let ran = server.statements().len();

    let mut rolling = member_with(Side::Master, "192.0.2.12", node(), &server, mysql());
    let text = mysql_ha::rollback::undo_member(&mut rolling, &run_id, false).unwrap();
    assert_eq!(
        server.statements()[ran..],
        [
            "SET GLOBAL super_read_only = OFF".to_string(),
            "SET SESSION sql_log_bin = 0".to_string(),
            "DROP USER IF EXISTS 'mysqlha_mon'@'192.0.2.12'".to_string(),
            format!("CREATE USER `mysqlha_mon`@`192.0.2.12` IDENTIFIED WITH 'caching_sha2_password' AS {hex_hash} REQUIRE NONE"),
            "GRANT USAGE ON *.* TO `mysqlha_mon`@`192.0.2.12`".to_string(),
            "SET SESSION sql_log_bin = 1".to_string(),
            "SET GLOBAL super_read_only = ON".to_string(),
        ]
    );
    assert_eq!(server.variable("super_read_only").as_deref(), Some("1"));
    assert!(!text.contains(hex_hash), "{text}");
    assert!(text.contains("AS 0x********"), "{text}");
}
