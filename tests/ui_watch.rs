//! The `status --watch` screen drawn on ratatui's TestBackend at 80x24 and
//! compared with reviewed snapshots in tests/snapshots/ (UPDATE_SNAPSHOTS=1
//! to rewrite them, then review the diff): a whole pair with a lagging
//! slave, the pair just after a takeover, and the switchover confirmation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod screen;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mysql_ha::daemon::config::Role;
use mysql_ha::daemon::state::{DaemonStatus, EventRecord, ReplicationStatus, VoteStatus};
use mysql_ha::ui::watch::model::{PairView, Watch};
use mysql_ha::ui::watch::view;

const AT: u64 = 1_796_000_000;

fn render(watch: &Watch) -> String {
    screen::render(|frame| view::draw(frame, watch))
}

fn snapshot(name: &str, watch: &Watch) {
    screen::snapshot(name, &render(watch));
}

fn event(at: u64, node: &str, term: u64, name: &str, message: &str) -> EventRecord {
    EventRecord {
        at,
        node: node.into(),
        term,
        event: name.into(),
        message: message.into(),
    }
}

fn master(node: &str, term: u64, updated_at: u64) -> DaemonStatus {
    DaemonStatus {
        node: node.into(),
        pid: 4242,
        updated_at,
        role: Role::Master,
        term,
        healthy: true,
        holds_resource: true,
        server_answers: true,
        read_only: Some(false),
        paused: false,
        takeover_held: false,
        message: "master: serving, holds address 192.0.2.10/24 on eth0".into(),
        recent_events: vec![],
        vote: Some(VoteStatus {
            witness: "192.0.2.100".into(),
            lease_remaining_ms: 3600,
            durability: "semi-sync".into(),
            in_sync: Some(true),
            ..VoteStatus::default()
        }),
        replication: None,
    }
}

fn slave(node: &str, lag: Option<u64>) -> DaemonStatus {
    DaemonStatus {
        node: node.into(),
        pid: 4343,
        updated_at: AT,
        role: Role::Slave,
        term: 1,
        healthy: true,
        holds_resource: false,
        server_answers: true,
        read_only: Some(true),
        paused: false,
        takeover_held: false,
        message: "slave: master 192.0.2.11 answers, replication running".into(),
        recent_events: vec![],
        vote: Some(VoteStatus {
            witness: "192.0.2.100".into(),
            backs: Some("192.0.2.11".into()),
            backs_term: 1,
            durability: "semi-sync".into(),
            ..VoteStatus::default()
        }),
        replication: Some(ReplicationStatus {
            io_running: true,
            sql_running: true,
            lag_s: lag,
            last_error: String::new(),
        }),
    }
}

fn view(at: u64, local: Option<DaemonStatus>, remote: Option<DaemonStatus>) -> PairView {
    PairView {
        at,
        this_node: "192.0.2.12".into(),
        peer_node: "192.0.2.11".into(),
        resource: "address 192.0.2.10/24 on eth0".into(),
        local,
        remote,
    }
}

/// Two minutes of a whole pair whose slave fell behind and caught up.
fn whole_pair() -> Watch {
    let mut watch = Watch::new(Some("/root/answers.toml".into()));
    for i in 0..120u64 {
        let at = AT - 120 + i;
        let lag = if (40..80).contains(&i) {
            (i - 40) / 4
        } else {
            0
        };
        let mut node1 = master("192.0.2.11", 1, at);
        node1.recent_events = vec![
            event(
                AT - 300,
                "192.0.2.11",
                1,
                "started",
                "daemon started (pid 4242) as master of term 1",
            ),
            event(
                AT - 299,
                "192.0.2.11",
                1,
                "confirmed",
                "backed by a majority for term 1",
            ),
        ];
        let mut node2 = slave("192.0.2.12", Some(lag));
        node2.updated_at = at;
        node2.recent_events = vec![
            event(
                AT - 80,
                "192.0.2.12",
                1,
                "replication-lagging",
                "this slave is 61 s behind its master",
            ),
            event(
                AT - 40,
                "192.0.2.12",
                1,
                "replication-caught-up",
                "this slave caught up with its master",
            ),
        ];
        watch.update(view(at, Some(node2), Some(node1)));
    }
    watch
}

#[test]
fn a_whole_pair_with_its_lag_over_the_last_minutes() {
    snapshot("watch-whole", &whole_pair());
}

#[test]
fn the_takeover_as_the_new_master_sees_it() {
    let mut watch = whole_pair();
    let mut node2 = master("192.0.2.12", 2, AT + 25);
    node2.takeover_held = true;
    node2.recent_events = vec![
        event(
            AT + 2,
            "192.0.2.12",
            1,
            "hard-failure",
            "master host 192.0.2.11 answers on no path (ssh and SQL)",
        ),
        event(
            AT + 3,
            "192.0.2.12",
            2,
            "takeover",
            "taking over: the master host is unreachable",
        ),
        event(
            AT + 4,
            "192.0.2.12",
            2,
            "took-over",
            "this node is master of term 2 (1.2 s after the decision)",
        ),
    ];
    // The old master's status is the one it wrote before it died.
    let node1 = master("192.0.2.11", 1, AT - 1);
    watch.update(view(AT + 25, Some(node2), Some(node1)));
    snapshot("watch-takeover", &watch);
}

#[test]
fn switchover_asks_before_it_runs() {
    let mut watch = whole_pair();
    watch.key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE));
    snapshot("watch-confirm", &watch);
}
