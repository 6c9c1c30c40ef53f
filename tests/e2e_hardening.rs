//! Hostile answers and faults on one lab (issue 18): everything that must be
//! refused is refused before any change; a slave loaded by hand is set up
//! with `seed = "none"`; a second setup while one runs is refused at once
//! naming the running one; a re-run repairs a slave the master refuses
//! (error 1045). One setup for the whole binary: CI time matters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const TABLES: [&str; 4] = [
    "shop.customers",
    "shop.orders",
    "crm.contacts",
    "`web-stats`.hits",
];

/// The lab's answers with some lines replaced (`from` must be there).
fn answers_with(replacements: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(lab_answers()).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "the lab's answers have no `{from}`");
        text = text.replacen(from, to, 1);
    }
    text
}

/// `setup --answers FILE` on node1 with these answers; returns the output.
fn setup_with(answers: &str, extra: &[&str]) -> std::process::Output {
    put_file("node1", "/root/hostile.toml", answers.as_bytes(), "600");
    let mut argv = vec![NODE_BIN, "setup", "--answers", "/root/hostile.toml"];
    argv.extend_from_slice(extra);
    on("node1", &argv)
}

/// What must stay as it was while a run is refused.
fn untouched() -> String {
    let mut seen = String::new();
    for host in ["node1", "node2"] {
        seen.push_str(&on_ok(
            host,
            &[
                "sh",
                "-c",
                "ls /etc/mysql/mariadb.conf.d; ls /var/lib/mysql-ha/runs 2>/dev/null; getent passwd mysqlha; true",
            ],
        ));
        seen.push_str(&sql(
            host,
            "SELECT User, Host FROM mysql.user ORDER BY 1, 2",
        ));
    }
    seen
}

fn refused(answers: &str, extra: &[&str], needle: &str) -> String {
    let out = setup_with(answers, extra);
    let all = text(&out);
    assert!(!out.status.success(), "accepted:\n{all}");
    assert!(all.contains(needle), "no `{needle}` in:\n{all}");
    all
}

/// Option files, database accounts, running daemons and the replica's
/// source on both nodes: what a refused rollback must leave as it was.
fn cluster_state() -> String {
    let mut seen = String::new();
    for host in ["node1", "node2"] {
        seen.push_str(&on_ok(
            host,
            &[
                "sh",
                "-c",
                "find /etc/mysql /etc/mysql-ha -type f -print0 | sort -z | xargs -0 sha256sum; pgrep -f 'mysql-ha daemon' >/dev/null && echo daemon running",
            ],
        ));
        seen.push_str(&sql(
            host,
            "SELECT User, Host FROM mysql.user ORDER BY 1, 2",
        ));
        seen.push_str(&sql(host, "SELECT @@log_bin, @@bind_address"));
    }
    seen
}

fn slave_status(field: &str) -> String {
    let status = on_ok("node2", &["mariadb", "-e", "SHOW SLAVE STATUS\\G"]);
    status
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{field}: ")))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn hostile_answers_hand_loaded_slave_concurrent_runs_and_a_refused_slave() {
    let _lock = lock_sandbox();
    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up", "--data-mb", "20"]);
    install_binary("node1");
    let before = untouched();

    // Refused before any change (issue 18, defects 2, 3, 7).
    let out = refused(
        &answers_with(&[("user = \"repl\"", "user = \"mysqlha_mon\"")]),
        &["--yes"],
        "replication.user",
    );
    assert!(out.contains("hostile.toml:"), "no line number: {out}");
    refused(
        &answers_with(&[("account = \"mysqlha\"", "account = \"sshd\"")]),
        &["--yes"],
        "cluster.account",
    );
    // An account that exists on a node and is not the tool's.
    on_ok(
        "node2",
        &["useradd", "--system", "--comment", "Backups", "backupsvc"],
    );
    let out = refused(
        &answers_with(&[("account = \"mysqlha\"", "account = \"backupsvc\"")]),
        &["--yes"],
        "backupsvc exists and was not made by mysql-ha",
    );
    assert!(
        out.contains("preflight stopped the run before any change"),
        "{out}"
    );
    let long = "p".repeat(97);
    let out = refused(
        &answers_with(&[(
            "user = \"repl\"\npassword = \"\"",
            &format!("user = \"repl\"\npassword = \"{long}\""),
        )]),
        &["--yes"],
        "replication.password",
    );
    assert!(!out.contains("ppppp"), "the password was printed:\n{out}");
    refused(
        &answers_with(&[("vip = \"192.0.2.10/24\"", "vip = \"192.0.2.12/24\"")]),
        &["--yes"],
        "cluster.vip",
    );
    refused(
        &answers_with(&[("vip = \"192.0.2.10/24\"", "vip = \"198.51.100.10/24\"")]),
        &["--yes"],
        "outside the network",
    );
    refused(
        &answers_with(&[("host = \"192.0.2.12\"", "host = \"no-such-node.invalid\"")]),
        &["--yes"],
        "slave.host",
    );
    let out = refused(
        &answers_with(&[("seed = \"dump\"", "seed = \"rsync\"")]),
        &["--yes"],
        "`replication.seed`",
    );
    assert!(out.contains("hostile.toml:"), "no line number: {out}");
    assert_eq!(untouched(), before, "a refused run changed something");

    // seed = "none": the slave loaded by hand is what is expected (defect 8).
    let dump = on(
        "node1",
        &["mariadb-dump", "--databases", "shop", "crm", "web-stats"],
    );
    assert!(dump.status.success(), "{}", text(&dump));
    put_file("node2", "/root/hand.sql", &dump.stdout, "600");
    on_ok(
        "node2",
        &["sh", "-c", "mariadb < /root/hand.sql && rm /root/hand.sql"],
    );
    // The cluster key encrypted (defect 1): the daemons reach each other
    // through their own ssh-agent, and the passphrase stays out of
    // cluster.toml.
    let passphrase = (
        "key_passphrase = \"\"",
        "key_passphrase = \"simplepassphrase\"",
    );
    let none = answers_with(&[("seed = \"dump\"", "seed = \"none\""), passphrase]);

    // Two setups at once: the second is refused at once naming the first,
    // which completes (defect 4).
    put_file("node1", "/root/hostile.toml", none.as_bytes(), "600");
    let first = Command::new(BIN)
        .args(["sandbox", "exec", "node1", "--", NODE_BIN, "setup"])
        .args(["--answers", "/root/hostile.toml", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let lock = loop {
        let lock = on("node2", &["cat", "/var/lib/mysql-ha/run.lock"]);
        if lock.status.success() {
            break String::from_utf8_lossy(&lock.stdout).into_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the first setup never took its lock"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let run_id = lock
        .lines()
        .find_map(|l| l.strip_prefix("run = "))
        .unwrap()
        .to_string();
    let started = Instant::now();
    let second = on(
        "node1",
        &[
            NODE_BIN,
            "setup",
            "--answers",
            "/root/hostile.toml",
            "--yes",
        ],
    );
    let second_text = text(&second);
    assert!(
        !second.status.success(),
        "a second setup ran:\n{second_text}"
    );
    assert!(
        second_text.contains(&format!("run {run_id}")),
        "the running run is not named:\n{second_text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "not refused at once"
    );
    let first = first.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "the first setup failed:\n{}",
        text(&first)
    );
    let first_text = text(&first);
    assert!(first_text.contains("no copy"), "{first_text}");
    let first_run = run_id_of(&first_text);
    for host in ["node1", "node2"] {
        let config = on_ok(host, &["cat", "/etc/mysql-ha/cluster.toml"]);
        assert!(!config.contains("simplepassphrase"), "{host}: {config}");
        let agent = on(host, &["pgrep", "-u", "mysqlha", "ssh-agent"]);
        assert!(agent.status.success(), "no ssh-agent of mysqlha on {host}");
    }
    for host in ["node1", "node2"] {
        let lock = on(host, &["test", "-e", "/var/lib/mysql-ha/run.lock"]);
        assert!(!lock.status.success(), "the lock stayed on {host}");
    }
    assert_eq!(checksums("node1", &TABLES), checksums("node2", &TABLES));

    // `databases = ["*"]` after a setup never picks the tool's own mysql_ha
    // (it advised dropping it from the slave).
    let every = answers_with(&[(
        "databases = [\"shop\", \"crm\", \"web-stats\"]",
        "databases = [\"*\"]",
    )]);
    let out = setup_with(&every, &["--dry-run"]);
    let every_text = text(&out);
    assert!(!every_text.contains("`mysql_ha`"), "{every_text}");

    // A slave the master refuses (error 1045) is repaired by a re-run
    // (defect 3) instead of every re-run failing with "Access denied".
    sql(
        "node1",
        "SET SESSION sql_log_bin = 0; ALTER USER 'repl'@'192.0.2.12' IDENTIFIED BY 'not-what-the-slave-has-1'",
    );
    sql("node2", "STOP SLAVE; START SLAVE");
    let deadline = Instant::now() + Duration::from_secs(60);
    while slave_status("Last_IO_Errno") != "1045" {
        assert!(Instant::now() < deadline, "the slave was never refused");
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = setup_with(&none, &["--yes"]);
    let rerun = text(&out);
    assert!(out.status.success(), "the re-run failed:\n{rerun}");
    assert!(rerun.contains("error 1045"), "{rerun}");
    assert_eq!(slave_status("Slave_IO_Running"), "Yes");
    assert_eq!(slave_status("Last_IO_Errno"), "0");
    sql("node1", "USE shop; INSERT INTO customers VALUES (990001, 'after the repair', 'r@example.com', NOW(), '')");
    let deadline = Instant::now() + Duration::from_secs(30);
    while sql(
        "node2",
        "SELECT COUNT(*) FROM shop.customers WHERE id = 990001",
    ) != "1"
    {
        assert!(Instant::now() < deadline, "the row never reached node2");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A daemon killed outright is started again by its service (defect 9:
    // nothing restarted a dead daemon).
    let daemon_pid = || on_ok("node1", &["sh", "-c", "pgrep -x mysql-ha || true"]);
    let killed_pid = daemon_pid();
    assert!(!killed_pid.trim().is_empty(), "no daemon on node1");
    on_ok("node1", &["pkill", "-9", "-x", "mysql-ha"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = daemon_pid();
        if !now.trim().is_empty() && now != killed_pid {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed daemon was not started again"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A rollback refused on the slave changes nothing on either node
    // (defect 5): a later run (add-db) built on the first run's files there.
    put_file(
        "node1",
        "/root/hostile.toml",
        answers_with(&[]).as_bytes(),
        "600",
    );
    let added = on(
        "node1",
        &[
            NODE_BIN,
            "add-db",
            "hr",
            "--answers",
            "/root/hostile.toml",
            "--yes",
        ],
    );
    assert!(added.status.success(), "add-db failed:\n{}", text(&added));
    let added_run = run_id_of(&text(&added));
    let rollback = |run: &str| {
        on(
            "node1",
            &[
                NODE_BIN,
                "rollback",
                run,
                "--answers",
                "/root/hostile.toml",
                "--yes",
            ],
        )
    };
    let state = cluster_state();
    assert!(state.contains("daemon running"), "{state}");
    let refused_rollback = rollback(&first_run);
    let refusal = text(&refused_rollback);
    assert!(!refused_rollback.status.success(), "{refusal}");
    assert!(
        refusal.contains(&format!("run {added_run} changed")),
        "{refusal}"
    );
    assert_eq!(
        cluster_state(),
        state,
        "a refused rollback changed something"
    );

    // A run killed before its first change left a folder and no journal
    // (defect 6): its rollback says so instead of "no run".
    let killed = "20261130-000001-dead";
    for host in ["node1", "node2"] {
        on_ok(
            host,
            &["mkdir", "-p", &format!("/var/lib/mysql-ha/runs/{killed}")],
        );
    }
    let out = rollback(killed);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("recorded no change"), "{}", text(&out));

    // Undone in order, the first run takes the daemon's monitor accounts
    // with it and restarts the servers on their restored files (defect 6).
    let out = rollback(&added_run);
    assert!(out.status.success(), "{}", text(&out));
    let out = rollback(&first_run);
    let undone = text(&out);
    assert!(out.status.success(), "{undone}");
    assert!(undone.contains("restarted the server"), "{undone}");
    for host in ["node1", "node2"] {
        assert_eq!(
            sql(
                host,
                "SELECT COUNT(*) FROM mysql.user WHERE User = 'mysqlha_mon'"
            ),
            "0",
            "monitor accounts left on {host}"
        );
    }
    assert_eq!(
        sql("node1", "SELECT @@log_bin, @@bind_address"),
        "0\t127.0.0.1"
    );
    mysql_ha(&["sandbox", "down"]);
}
