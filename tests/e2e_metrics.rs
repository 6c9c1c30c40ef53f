//! The daemons' Prometheus endpoints and the watch screen on the sandbox,
//! for real: after setup both nodes serve `GET /metrics` on 127.0.0.1
//! (checked by `promtool check metrics`); `mysql-ha status --watch` runs on
//! node1 in a tmux session, pauses and resumes by key, and swaps the roles
//! with a switchover confirmed on screen; after a crash of the new master
//! (node2), node1's takeover counter has risen and its watch screen shows
//! the takeover.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const ENDPOINT: &str = "http://127.0.0.1:9407/metrics";

/// The page a node's daemon serves, fetched on that node.
fn scrape(host: &str) -> Option<String> {
    let out = on(host, &["curl", "-sf", "--max-time", "3", ENDPOINT]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn promtool_check(page: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (scripts/install-deps)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}\n{page}",
        text(&out)
    );
}

/// `mysql-ha status --watch --answers /root/answers.toml` on node1 in a
/// detached tmux session of its own server (no other tmux on this machine
/// is touched).
struct WatchScreen {
    socket: String,
}

impl WatchScreen {
    fn start() -> WatchScreen {
        let socket = format!("mysql-ha-watch{}", lab_name());
        let watch = WatchScreen { socket };
        let _ = watch.tmux(&["kill-server"]);
        let command = format!(
            "{BIN} sandbox exec node1 -- /usr/local/sbin/mysql-ha status --watch --answers /root/answers.toml"
        );
        let out = watch.tmux(&[
            "new-session",
            "-d",
            "-s",
            "watch",
            "-x",
            "100",
            "-y",
            "32",
            &command,
        ]);
        assert!(out.status.success(), "tmux: {}", text(&out));
        watch
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux (scripts/install-deps)")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "watch"]).stdout)
            .into_owned()
    }

    fn keys(&self, keys: &str) {
        assert!(self
            .tmux(&["send-keys", "-t", "watch", keys])
            .status
            .success());
    }

    /// Waits until every one of `texts` is on screen; returns the screen.
    fn wait_for(&self, what: &str, texts: &[&str], limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                started.elapsed() < limit,
                "timed out after {} s waiting for {what}:\n{screen}",
                limit.as_secs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn running(&self) -> bool {
        self.tmux(&["has-session", "-t", "watch"]).status.success()
    }
}

impl Drop for WatchScreen {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The value of a sample line that starts with `series ` (name and labels).
fn value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(&format!("{series} ")))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn both_daemons_serve_metrics_that_promtool_accepts_and_count_the_takeover() {
    let _lock = lock_sandbox();
    let started = Instant::now();
    fresh_cluster_from_node1();
    println!("setup: {:.1} s", started.elapsed().as_secs_f64());

    let mut pages = Vec::new();
    for host in ["node1", "node2"] {
        let mut page = String::new();
        // A fresh page: the daemon's first checks after the hand-off.
        wait_until(
            &format!("metrics on {host}"),
            Duration::from_secs(20),
            || {
                page = scrape(host).unwrap_or_default();
                value(&page, "mysql_ha_healthy") == Some(1.0)
            },
        );
        println!("{host}:\n{page}");
        promtool_check(&page);
        pages.push(page);
    }
    let (node1, node2) = (&pages[0], &pages[1]);
    assert_eq!(value(node1, "mysql_ha_role{role=\"master\"}"), Some(1.0));
    assert_eq!(value(node1, "mysql_ha_resource_held"), Some(1.0));
    assert_eq!(value(node1, "mysql_ha_read_only"), Some(0.0));
    assert_eq!(value(node1, "mysql_ha_vote_enabled"), Some(1.0));
    assert!(value(node1, "mysql_ha_lease_remaining_seconds").unwrap() > 0.0);
    assert_eq!(value(node2, "mysql_ha_role{role=\"slave\"}"), Some(1.0));
    assert_eq!(value(node2, "mysql_ha_read_only"), Some(1.0));
    assert_eq!(value(node2, "mysql_ha_peer_reachable"), Some(1.0));
    assert_eq!(value(node2, "mysql_ha_witness_reachable"), Some(1.0));
    for thread in ["io", "sql"] {
        let series = format!("mysql_ha_replication_running{{thread=\"{thread}\"}}");
        assert_eq!(value(node2, &series), Some(1.0), "{series}");
        let series = format!("mysql_ha_replication_last_error_number{{thread=\"{thread}\"}}");
        assert_eq!(value(node2, &series), Some(0.0), "{series}");
    }
    assert!(value(node2, "mysql_ha_replication_lag_seconds").is_some());
    assert_eq!(value(node2, "mysql_ha_takeovers_total"), Some(0.0));
    // The server's own directories, as the daemon's account sees them.
    for page in [node1, node2] {
        let free = value(
            page,
            "mysql_ha_filesystem_avail_bytes{dir=\"datadir\",path=\"/var/lib/mysql/\"}",
        );
        assert!(free.is_some_and(|b| b > 0.0), "{page}");
        assert!(
            page.contains("mysql_ha_filesystem_avail_bytes{dir=\"binlog\""),
            "{page}"
        );
    }
    // Only on loopback: the client host cannot reach it.
    let outside = on(
        "client",
        &[
            "curl",
            "-sf",
            "--max-time",
            "2",
            "http://192.0.2.12:9407/metrics",
        ],
    );
    assert!(
        !outside.status.success(),
        "reachable from outside: {}",
        text(&outside)
    );

    // The watch screen on node1: the whole pair, then pause and resume by key.
    let watch = WatchScreen::start();
    let screen = watch.wait_for(
        "the watch screen showing the pair",
        &[
            "pair whole: 192.0.2.12 replicates from 192.0.2.11",
            "192.0.2.11 (this node)",
            "SLAVE  term 1",
            "MASTER  term 1",
            "replication: io yes sql yes",
        ],
        Duration::from_secs(20),
    );
    println!("watch before the crash:\n{screen}");
    watch.keys("p");
    watch.wait_for(
        "paused on screen",
        &["PAUSED", "paused: the daemon"],
        Duration::from_secs(10),
    );
    watch.keys("r");
    watch.wait_for(
        "resumed on screen",
        &["pair whole", "resumed:"],
        Duration::from_secs(10),
    );
    // A switchover from the screen: asked first, then run on the normal
    // screen, then back to the watch with the roles swapped.
    watch.keys("s");
    watch.wait_for(
        "the switchover confirmation",
        &["Make 192.0.2.12 the master?", "y: switch over"],
        Duration::from_secs(10),
    );
    watch.keys("y");
    let screen = watch.wait_for(
        "the switchover to run and end",
        &["press Enter to return to the watch"],
        Duration::from_secs(120),
    );
    println!("the switchover on the normal screen:\n{screen}");
    watch.keys("Enter");
    let screen = watch.wait_for(
        "the swapped roles on the watch screen",
        &[
            "switchover done",
            "pair whole: 192.0.2.11 replicates from 192.0.2.12",
            "held by 192.0.2.12",
        ],
        Duration::from_secs(60),
    );
    println!("watch after the switchover:\n{screen}");
    let term_before: f64 = {
        let mut term = 0.0;
        wait_until("node1 a healthy slave", Duration::from_secs(30), || {
            let page = scrape("node1").unwrap_or_default();
            term = value(&page, "mysql_ha_term").unwrap_or(0.0);
            value(&page, "mysql_ha_role{role=\"slave\"}") == Some(1.0)
                && value(&page, "mysql_ha_healthy") == Some(1.0)
        });
        term
    };

    mysql_ha(&["sandbox", "crash", "node2"]);
    let crash = Instant::now();
    let mut page = String::new();
    wait_until(
        "the takeover counted on node1",
        Duration::from_secs(60),
        || {
            page = scrape("node1").unwrap_or_default();
            value(&page, "mysql_ha_takeovers_total") == Some(1.0)
        },
    );
    println!(
        "takeover counted {:.1} s after the crash:\n{page}",
        crash.elapsed().as_secs_f64()
    );
    promtool_check(&page);
    assert_eq!(value(&page, "mysql_ha_role{role=\"master\"}"), Some(1.0));
    assert_eq!(
        value(&page, "mysql_ha_events_total{event=\"took-over\"}"),
        Some(1.0)
    );
    assert_eq!(value(&page, "mysql_ha_takeover_unacknowledged"), Some(1.0));
    let term_after = value(&page, "mysql_ha_term").unwrap();
    assert!(
        term_after > term_before,
        "term {term_before} -> {term_after}"
    );
    assert!(!page.contains("mysql_ha_replication_running"), "{page}");
    wait_until("node1 sees node2 gone", Duration::from_secs(20), || {
        page = scrape("node1").unwrap_or_default();
        value(&page, "mysql_ha_peer_reachable") == Some(0.0)
    });
    let master_line = format!("MASTER  term {term_after}");
    let screen = watch.wait_for(
        "the takeover on the watch screen",
        &[
            master_line.as_str(),
            "took-over",
            "takeover not",
            "held by 192.0.2.11",
            "unreachable, or no daemon status",
        ],
        Duration::from_secs(30),
    );
    println!("watch after the crash:\n{screen}");
    watch.keys("q");
    wait_until("the watch to quit on q", Duration::from_secs(10), || {
        !watch.running()
    });
    mysql_ha(&["sandbox", "down"]);
}
