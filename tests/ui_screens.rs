//! Every screen of the full-screen wizard, drawn at 80x24 on ratatui's
//! TestBackend and compared with a reviewed snapshot in tests/snapshots/.
//! After a deliberate change: UPDATE_SNAPSHOTS=1 cargo test --test ui_screens,
//! then review the diff of tests/snapshots/ before committing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod screen;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mysql_ha::answers::Answers;
use mysql_ha::events::Event;
use mysql_ha::setup::session::{DatabaseInfo, NodeFacts, Outcome, Survey};
use mysql_ha::ui::tui::app::{App, JobKind, Reply};
use mysql_ha::ui::tui::view;

fn render(app: &App) -> String {
    screen::render(|frame| view::draw(frame, app))
}

fn snapshot(name: &str, app: &App) {
    screen::snapshot(name, &render(app));
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.key(key(KeyCode::Char(c)));
    }
}

fn lab_answers() -> Answers {
    let mut answers = Answers::default();
    answers.master.host = "192.0.2.11".into();
    answers.replication.password = "Fixed-Replication-Pass-1".into();
    answers
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
        databases: [
            ("crm", 1_572_864),
            ("hr", 16_384),
            ("shop", 933_888),
            ("web-stats", 294_912),
        ]
        .iter()
        .map(|(n, b)| DatabaseInfo {
            name: n.to_string(),
            bytes: *b,
        })
        .collect(),
        replicated: vec!["shop".into()],
    }
}

/// An app that has answered the node questions and connected.
fn connected() -> App {
    let mut app = App::new(lab_answers(), false);
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Enter));
    typed(&mut app, "192.0.2.12");
    for _ in 0..5 {
        app.key(key(KeyCode::Enter));
    }
    app.reply(Reply::Connected(survey()));
    app
}

#[test]
fn nodes_screen() {
    snapshot("nodes", &App::new(lab_answers(), false));
}

#[test]
fn inline_validation_message() {
    let mut app = App::new(lab_answers(), false);
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Enter));
    typed(&mut app, "192.0.2.11");
    app.key(key(KeyCode::Enter));
    snapshot("nodes-invalid", &app);
}

#[test]
fn credentials_screen_masks_the_password() {
    let mut app = App::new(lab_answers(), false);
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Enter));
    typed(&mut app, "192.0.2.12");
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Enter));
    typed(&mut app, "secret-pw");
    let screen = render(&app);
    assert!(!screen.contains("secret-pw"));
    snapshot("credentials", &app);
}

#[test]
fn connecting_screen() {
    let mut app = App::new(lab_answers(), false);
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Enter));
    typed(&mut app, "192.0.2.12");
    for _ in 0..5 {
        app.key(key(KeyCode::Enter));
    }
    snapshot("connecting", &app);
}

#[test]
fn wrong_password_dialog() {
    let mut app = App::new(lab_answers(), false);
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Enter));
    typed(&mut app, "192.0.2.12");
    for _ in 0..5 {
        app.key(key(KeyCode::Enter));
    }
    app.reply(Reply::Failed {
        job: JobKind::Connect,
        message: "answers: `master.mysql_admin_password`: the server on 192.0.2.11 refused admin (Access denied)".into(),
        key: Some("master.mysql_admin_password".into()),
    });
    snapshot("connect-failed-dialog", &app);
}

#[test]
fn replication_screen_shows_the_generated_password_once() {
    let mut answers = lab_answers();
    answers.replication.password.clear();
    let mut app = App::new(answers, false);
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Enter));
    typed(&mut app, "192.0.2.12");
    for _ in 0..5 {
        app.key(key(KeyCode::Enter));
    }
    app.reply(Reply::Connected(survey()));
    app.key(key(KeyCode::Enter));
    let generated = app.generated_password.clone().unwrap();
    assert!(render(&app).contains(&generated));
    // Snapshot with a fixed stand-in for the random password.
    app.generated_password = Some("GeneratedPassword0123456".into());
    app.input = "GeneratedPassword0123456".into();
    snapshot("replication", &app);
    app.key(key(KeyCode::Enter));
    assert!(!render(&app).contains(&generated), "shown once only");
}

#[test]
fn databases_screen() {
    let mut app = connected();
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Enter));
    app.key(key(KeyCode::Down));
    snapshot("databases", &app);
}

#[test]
fn cluster_address_screen() {
    let mut app = connected();
    // Replication (user, password, durability, encryption), databases, the manager.
    for _ in 0..6 {
        app.key(key(KeyCode::Enter));
    }
    app.key(key(KeyCode::Right));
    snapshot("cluster-address", &app);
}

#[test]
fn cluster_address_ddns_screen() {
    let mut app = connected();
    for _ in 0..6 {
        app.key(key(KeyCode::Enter));
    }
    app.key(key(KeyCode::Right));
    app.key(key(KeyCode::Right));
    app.key(key(KeyCode::Enter));
    // server, zone, name, TTL (default), key file (none), key name.
    for answer in [
        "192.0.2.100",
        "cluster.test",
        "db.cluster.test",
        "",
        "",
        "ha-key",
    ] {
        typed(&mut app, answer);
        app.key(key(KeyCode::Enter));
    }
    typed(&mut app, "c2VjcmV0LXNlY3JldC1zZWNyZXQ=");
    snapshot("cluster-address-ddns", &app);
}

#[test]
fn cluster_manager_screen() {
    let mut app = connected();
    for _ in 0..5 {
        app.key(key(KeyCode::Enter));
    }
    app.key(key(KeyCode::Right));
    snapshot("cluster-manager", &app);
}

#[test]
fn timings_screen() {
    let mut app = connected();
    // Replication (user, password, durability, encryption), databases,
    // cluster address (manager, kind, witness), cluster account (account,
    // passphrase).
    for _ in 0..10 {
        app.key(key(KeyCode::Enter));
    }
    snapshot("timings", &app);
}

fn planned() -> App {
    let mut app = connected();
    for _ in 0..13 {
        app.key(key(KeyCode::Enter));
    }
    app.reply(Reply::Planned {
        plan: std::fs::read_to_string(format!(
            "{}/tests/snapshots/plan-input.txt",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
        preflight: "ok      192.0.2.11     reach                  this machine\n".into(),
    });
    app
}

#[test]
fn review_screen_scrolls() {
    let mut app = planned();
    snapshot("review", &app);
    for _ in 0..12 {
        app.key(key(KeyCode::Down));
    }
    app.key(key(KeyCode::Right));
    snapshot("review-scrolled", &app);
}

#[test]
fn progress_screen_with_gauge() {
    let mut app = planned();
    app.key(key(KeyCode::Enter));
    for step in [
        "configure the master",
        "configure the slave",
        "replication account",
    ] {
        app.reply(Reply::Event(Event::StepStarted { step: step.into() }));
        app.reply(Reply::Event(Event::StepFinished {
            step: step.into(),
            changed: true,
            summary: "done".into(),
        }));
    }
    app.reply(Reply::Event(Event::StepStarted {
        step: "seed the slave".into(),
    }));
    app.reply(Reply::Event(Event::Progress {
        step: "seed the slave".into(),
        bytes: 50 << 20,
        total: Some(200 << 20),
        bytes_per_second: (25 << 20) as f64,
    }));
    snapshot("progress", &app);
}

#[test]
fn summary_screen() {
    let mut app = planned();
    app.key(key(KeyCode::Enter));
    app.reply(Reply::Finished(Outcome {
        run_id: "20261125-210000-abcd".into(),
        changed: true,
        master: "192.0.2.11".into(),
        slave: "192.0.2.12".into(),
        databases: vec!["shop".into(), "crm".into()],
        canary_seconds: vec![("shop".into(), 0.05), ("crm".into(), 0.07)],
        run_dir: "/var/lib/mysql-ha/runs/20261125-210000-abcd/".into(),
    }));
    snapshot("summary", &app);
}

#[test]
fn stop_dialog_during_apply() {
    let mut app = planned();
    app.key(key(KeyCode::Enter));
    app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    snapshot("stop-dialog", &app);
}
