//! The daemon's metrics page and the shipped alert rules, checked by
//! Prometheus' own tool (`promtool`, Debian's prometheus package): the page
//! of a master and of a broken slave pass `promtool check metrics`, and
//! docs/alerts.yml passes `promtool check rules` and its unit tests
//! (tests/fixtures/alerts-test.yml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use mysql_ha::daemon::config::Role;
use mysql_ha::daemon::db::ReplicaProgress;
use mysql_ha::daemon::metrics::{render, Counters, Facts, ServerDirs};
use mysql_ha::daemon::state::{DaemonStatus, VoteStatus, VoterSeen};

fn promtool(args: &[&str], stdin: &str) -> String {
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package, scripts/install-deps)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}\n{stdin}");
    text
}

fn status(role: Role, vote: Option<VoteStatus>) -> DaemonStatus {
    DaemonStatus {
        node: "192.0.2.11".into(),
        pid: 1,
        updated_at: 1_700_000_000,
        role,
        term: 3,
        healthy: role == Role::Master,
        holds_resource: role == Role::Master,
        server_answers: true,
        read_only: Some(role != Role::Master),
        paused: false,
        takeover_held: true,
        message: String::new(),
        recent_events: vec![],
        vote,
        replication: None,
    }
}

fn page(status: &DaemonStatus, replica: Option<Option<&ReplicaProgress>>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let dirs = ServerDirs {
        datadir: dir.path().to_path_buf(),
        binlog_dir: Some(PathBuf::from("/")),
    };
    let events: BTreeMap<String, u64> = [("took-over".to_string(), 1), ("claimed".into(), 2)]
        .into_iter()
        .collect();
    render(&Facts {
        status,
        peer: "192.0.2.12",
        durability: "semi-sync",
        peer_reachable: Some(false),
        replica,
        counters: &Counters {
            takeovers: 1,
            soft_restarts: 2,
        },
        events: &events,
        dirs: Some(&dirs),
        standing_aside: Some(false),
        witness_reachable: Some(true),
        checked_at: 1_700_000_000.25,
    })
}

#[test]
fn a_master_page_and_a_broken_slave_page_pass_promtool() {
    let vote = VoteStatus {
        witness: "192.0.2.100".into(),
        lease_remaining_ms: 3500,
        voters: vec![VoterSeen {
            role: "witness".into(),
            address: "192.0.2.100:7406".into(),
            answer: "granted".into(),
            granted: true,
        }],
        backs: Some("192.0.2.11".into()),
        backs_term: 3,
        durability: "semi-sync".into(),
        in_sync: Some(true),
        ..VoteStatus::default()
    };
    let master = page(&status(Role::Master, Some(vote)), None);
    println!("{master}");
    promtool(&["check", "metrics"], &master);
    for line in [
        "mysql_ha_role{role=\"master\"} 1",
        "mysql_ha_role{role=\"slave\"} 0",
        "mysql_ha_term 3",
        "mysql_ha_resource_held 1",
        "mysql_ha_read_only 0",
        "mysql_ha_peer_reachable 0",
        "mysql_ha_takeovers_total 1",
        "mysql_ha_soft_restarts_total 2",
        "mysql_ha_events_total{event=\"took-over\"} 1",
        "mysql_ha_last_check_timestamp_seconds 1700000000.25",
        "mysql_ha_lease_remaining_seconds 3.5",
        "mysql_ha_voter_granted{voter=\"witness\"} 1",
        "mysql_ha_semi_sync_in_sync 1",
        "mysql_ha_vote_backed_term 3",
        "mysql_ha_filesystem_avail_bytes{dir=\"binlog\",path=\"/\"} ",
    ] {
        assert!(master.contains(line), "{line} missing from\n{master}");
    }
    assert!(!master.contains("mysql_ha_replication_running"));

    let broken = ReplicaProgress {
        io_running: "Yes".into(),
        sql_running: "No".into(),
        sql_errno: 1146,
        seconds_behind: None,
        ..Default::default()
    };
    let slave = page(&status(Role::Slave, None), Some(Some(&broken)));
    println!("{slave}");
    promtool(&["check", "metrics"], &slave);
    for line in [
        "mysql_ha_replication_running{thread=\"io\"} 1",
        "mysql_ha_replication_running{thread=\"sql\"} 0",
        "mysql_ha_replication_last_error_number{thread=\"sql\"} 1146",
        "mysql_ha_vote_enabled 0",
    ] {
        assert!(slave.contains(line), "{line} missing from\n{slave}");
    }
    assert!(!slave.contains("mysql_ha_replication_lag_seconds"));
    // A slave that replicates from nobody shows both threads stopped.
    let orphan = page(&status(Role::Slave, None), Some(None));
    assert!(orphan.contains("mysql_ha_replication_running{thread=\"sql\"} 0"));
}

#[test]
fn the_shipped_alert_rules_load_and_fire_as_their_tests_say() {
    let checked = promtool(&["check", "rules", "docs/alerts.yml"], "");
    assert!(checked.contains("SUCCESS: 8 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "tests/fixtures/alerts-test.yml"], "");
    assert!(tested.contains("SUCCESS"), "{tested}");
}
