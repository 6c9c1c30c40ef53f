//! The whole full-screen flow, key by key, against a recording engine: it
//! keeps every job the UI hands over and answers like the real engine
//! would (a refused password first, then success).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mysql_ha::answers::{Answers, Resource};
use mysql_ha::events::Event;
use mysql_ha::setup::session::{DatabaseInfo, NodeFacts, Outcome, Survey};
use mysql_ha::ui::tui::app::{App, Ending, Job, JobKind, Reply, Screen};

/// Answers jobs like the engine; the first connection is refused.
#[derive(Default)]
struct RecordingEngine {
    jobs: Vec<Job>,
}

impl RecordingEngine {
    fn take(&mut self, app: &mut App, jobs: Vec<Job>) {
        for job in jobs {
            self.jobs.push(job.clone());
            let replies = match job {
                Job::Connect(answers) if answers.master.mysql_admin_password != "right-one" => {
                    vec![Reply::Failed {
                        job: JobKind::Connect,
                        message: "answers: `master.mysql_admin_password`: refused".into(),
                        key: Some("master.mysql_admin_password".into()),
                    }]
                }
                Job::Connect(_) => vec![Reply::Connected(survey())],
                Job::Plan(_) => vec![Reply::Planned {
                    plan: "Plan for run R\n== configure the master: will change\n".into(),
                    preflight: "ok  192.0.2.11  reach\n".into(),
                }],
                Job::Apply => vec![
                    Reply::Event(Event::StepStarted {
                        step: "seed the slave".into(),
                    }),
                    Reply::Event(Event::StepFinished {
                        step: "seed the slave".into(),
                        changed: true,
                        summary: "copied".into(),
                    }),
                    Reply::Finished(Outcome {
                        run_id: "R".into(),
                        changed: true,
                        master: "192.0.2.11".into(),
                        slave: "192.0.2.12".into(),
                        databases: vec!["crm".into(), "shop".into()],
                        canary_seconds: vec![],
                        run_dir: "/var/lib/mysql-ha/runs/R/".into(),
                    }),
                ],
            };
            for reply in replies {
                app.reply(reply);
            }
        }
    }
}

fn survey() -> Survey {
    let facts = |host: &str| NodeFacts {
        host: host.into(),
        distribution: "debian-12".into(),
        server: "MariaDB 10.11.6".into(),
    };
    Survey {
        master: facts("192.0.2.11"),
        slave: facts("192.0.2.12"),
        databases: ["crm", "hr", "shop"]
            .iter()
            .map(|n| DatabaseInfo {
                name: n.to_string(),
                bytes: 1000,
            })
            .collect(),
        replicated: vec![],
    }
}

struct Driver {
    app: App,
    engine: RecordingEngine,
}

impl Driver {
    fn press(&mut self, code: KeyCode) {
        let jobs = self.app.key(KeyEvent::new(code, KeyModifiers::NONE));
        self.engine.take(&mut self.app, jobs);
    }

    fn enter(&mut self, times: usize) {
        for _ in 0..times {
            self.press(KeyCode::Enter);
        }
    }

    fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c));
        }
    }

    fn question(&self) -> &str {
        self.app.question().map(|q| q.key).unwrap_or("-")
    }
}

#[test]
fn whole_flow_with_a_wrong_password_corrected_in_place() {
    let mut answers = Answers::default();
    answers.master.host = "192.0.2.11".into();
    let mut d = Driver {
        app: App::new(answers, false),
        engine: RecordingEngine::default(),
    };
    assert_eq!(d.question(), "master.host");
    d.enter(2);
    assert_eq!(d.question(), "slave.host");
    // An empty slave address is refused inline, and nothing moves on.
    d.enter(1);
    assert_eq!(d.question(), "slave.host");
    assert!(d.app.message.as_deref().unwrap().contains("slave.host"));
    d.typed("192.0.2.12");
    d.enter(2);
    assert_eq!(d.question(), "master.mysql_admin_user");
    for _ in 0..4 {
        d.press(KeyCode::Backspace);
    }
    d.typed("admin");
    d.enter(1);
    d.typed("wrong-one");
    d.enter(3);
    // The engine refused the password: a dialog, then back to that field.
    assert_eq!(d.engine.jobs.len(), 1);
    let dialog = d.app.dialog.clone().expect("an error dialog");
    assert!(dialog.message.contains("master.mysql_admin_password"));
    d.press(KeyCode::Enter); // "Go back" is the first choice
    assert!(d.app.dialog.is_none());
    assert_eq!(d.question(), "master.mysql_admin_password");
    assert_eq!(d.app.input, "", "a refused secret is typed again");
    // The other answers are kept: only the password is typed again.
    assert_eq!(d.app.answers.slave.host, "192.0.2.12");
    assert_eq!(d.app.answers.master.mysql_admin_user, "admin");
    d.typed("right-one");
    d.enter(3);
    match d.engine.jobs.last().unwrap() {
        Job::Connect(a) => assert_eq!(a.master.mysql_admin_password, "right-one"),
        other => panic!("expected a connection, got {other:?}"),
    }
    assert_eq!(d.question(), "replication.user");
    // user, password, durability, encryption
    d.enter(4);
    // Databases: pick crm and shop.
    assert_eq!(d.app.screen, Screen::Databases { cursor: 0 });
    d.enter(1);
    assert!(d
        .app
        .message
        .as_deref()
        .unwrap()
        .contains("replication.databases"));
    d.press(KeyCode::Char(' '));
    d.press(KeyCode::Down);
    d.press(KeyCode::Down);
    d.press(KeyCode::Char(' '));
    d.enter(1);
    assert_eq!(d.app.answers.replication.databases, vec!["crm", "shop"]);
    // The manager (our daemon by default), then the cluster address: a
    // virtual IP with its own questions.
    assert_eq!(d.question(), "cluster.manager");
    d.enter(1);
    assert_eq!(
        d.app.answers.cluster.manager,
        mysql_ha::answers::Manager::MysqlHa
    );
    assert_eq!(d.question(), "cluster.resource");
    d.press(KeyCode::Right);
    d.enter(1);
    assert_eq!(d.question(), "cluster.vip");
    d.typed("192.0.2.10");
    d.enter(1);
    assert!(d.app.message.as_deref().unwrap().contains("cluster.vip"));
    d.typed("/24");
    // vip, device, arp, witness
    d.enter(4);
    assert_eq!(d.app.answers.cluster.resource, Resource::Vip);
    assert_eq!(d.question(), "cluster.account");
    // Back and forward keep the answers.
    d.press(KeyCode::Esc);
    assert_eq!(d.question(), "cluster.witness");
    d.enter(1);
    d.enter(2);
    assert_eq!(d.question(), "cluster.check_interval_ms");
    d.enter(3);
    assert!(matches!(d.app.screen, Screen::Review { .. }));
    match &d.engine.jobs[2] {
        Job::Plan(a) => {
            assert_eq!(a.cluster.vip, "192.0.2.10/24");
            assert!(!a.replication.password.is_empty(), "a generated password");
            a.validate().unwrap();
        }
        other => panic!("expected a plan, got {other:?}"),
    }
    d.enter(1);
    assert_eq!(d.engine.jobs.last(), Some(&Job::Apply));
    assert_eq!(d.app.screen, Screen::Done);
    assert!(matches!(d.app.ending, Some(Ending::Success(_))));
    d.enter(1);
    assert!(d.app.quit);
}

#[test]
fn quitting_asks_first_and_changes_nothing() {
    let mut d = Driver {
        app: App::new(Answers::default(), false),
        engine: RecordingEngine::default(),
    };
    d.press(KeyCode::Esc);
    assert!(d.app.dialog.is_some());
    d.press(KeyCode::Esc);
    assert!(!d.app.quit, "Esc answers the safe choice: stay");
    let jobs = d
        .app
        .key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(jobs.is_empty());
    d.press(KeyCode::Right);
    d.press(KeyCode::Enter);
    assert!(d.app.quit);
    assert!(d.engine.jobs.is_empty());
}
