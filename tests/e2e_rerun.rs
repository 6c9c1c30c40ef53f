//! Coming back to a cluster: add a database while writes flow, and finish a
//! run that was killed part way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const TABLES: [&str; 4] = [
    "shop.customers",
    "shop.orders",
    "crm.contacts",
    "`web-stats`.hits",
];

fn lab_answers_with(databases: &str) -> String {
    let lab = std::fs::read_to_string(lab_answers()).unwrap();
    let lab_databases = "databases = [\"shop\", \"crm\", \"web-stats\"]";
    assert!(
        lab.contains(lab_databases),
        "the lab's answers changed shape"
    );
    lab.replace(lab_databases, &format!("databases = [{databases}]"))
}

fn fresh_lab(data_mb: &str, databases: &str) {
    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up", "--data-mb", data_mb]);
    install_binary("node1");
    put_file(
        "node1",
        "/root/answers.toml",
        lab_answers_with(databases).as_bytes(),
        "600",
    );
}

fn tool_on_node1(args: &[&str]) -> std::process::Output {
    let mut argv = vec![NODE_BIN];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--answers", "/root/answers.toml", "--yes"]);
    on("node1", &argv)
}

fn wait_until_equal(tables: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (master, slave) = (checksums("node1", tables), checksums("node2", tables));
        if master == slave {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node2 never caught up:\n{master}\n---\n{slave}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn add_a_database_while_writes_flow() {
    let _lock = lock_sandbox();
    fresh_lab("8", "\"shop\", \"crm\"");
    let first = tool_on_node1(&["setup"]);
    assert!(first.status.success(), "{}", text(&first));

    // A writer on node1 into the two replicated databases and the third.
    on_ok("node1", &["rm", "-f", "/tmp/stop-writer"]);
    let writer = "i=0; while [ ! -e /tmp/stop-writer ]; do i=$((i+1)); \
        mariadb -e \"INSERT INTO shop.orders VALUES (5000000+$i, 1, 9.99, NOW(), 'writer'); \
        INSERT INTO crm.contacts VALUES (5000000+$i, 'writer', '+1', 'w'); \
        INSERT INTO \\`web-stats\\`.hits VALUES (5000000+$i, '/w', NOW(), 'writer')\"; done";
    let mut writer = Command::new(BIN)
        .args(["sandbox", "exec", "node1", "--", "sh", "-c", writer])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    // Watch how long replication of `shop` stands still during the addition.
    let watch = std::thread::spawn(|| {
        let mut last_value = String::new();
        let mut last_change = Instant::now();
        let mut longest = Duration::ZERO;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if std::path::Path::new("/tmp/mysql-ha-e2e-rerun-stop").exists() {
                break;
            }
            let value = sql("node2", "SELECT MAX(id) FROM shop.orders");
            if value != last_value {
                longest = longest.max(last_change.elapsed());
                last_change = Instant::now();
                last_value = value;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        longest
    });
    let _ = std::fs::remove_file("/tmp/mysql-ha-e2e-rerun-stop");
    std::thread::sleep(Duration::from_secs(2));
    let added = tool_on_node1(&["add-db", "web-stats"]);
    std::thread::sleep(Duration::from_secs(2));
    std::fs::write("/tmp/mysql-ha-e2e-rerun-stop", b"").unwrap();
    let longest_pause = watch.join().unwrap();
    let _ = std::fs::remove_file("/tmp/mysql-ha-e2e-rerun-stop");
    on_ok("node1", &["touch", "/tmp/stop-writer"]);
    writer.wait().unwrap();
    assert!(added.status.success(), "{}", text(&added));
    let report = text(&added);
    assert!(report.contains("to add: web-stats"), "{report}");
    assert!(
        report.contains("done: 192.0.2.12 replicates shop, crm, web-stats"),
        "{report}"
    );
    println!("longest pause of shop's replication while adding web-stats: {longest_pause:?}");
    assert!(
        longest_pause < Duration::from_secs(15),
        "shop stood still for {longest_pause:?}"
    );

    let written = sql(
        "node1",
        "SELECT COUNT(*) FROM `web-stats`.hits WHERE id > 5000000",
    );
    assert!(
        written.parse::<u64>().unwrap() > 10,
        "the writer wrote only {written} rows"
    );
    wait_until_equal(&TABLES);
    let status = on_ok(
        "node1",
        &[
            NODE_BIN,
            "status",
            "--json",
            "--answers",
            "/root/answers.toml",
        ],
    );
    let nodes: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(
        nodes[1]["replicated_databases"],
        serde_json::json!(["shop", "crm", "web-stats"])
    );
    let dropins = on_ok(
        "node2",
        &[
            "grep",
            "-c",
            "^replicate-wild-do-table",
            "/etc/mysql/mariadb.conf.d/60-mysql-ha.cnf",
        ],
    );
    assert_eq!(dropins.trim(), "3");

    let again = tool_on_node1(&["setup"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("nothing needed changing"),
        "{}",
        text(&again)
    );
}

/// Starts setup on node1 and kills it (every process of the tool on node1,
/// as a dropped session would) once a line containing `at` is printed.
fn setup_killed_at(at: &str) -> String {
    let mut child = Command::new(BIN)
        .args(["sandbox", "exec", "node1", "--", NODE_BIN, "setup"])
        .args(["--answers", "/root/answers.toml", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    let mut killed = false;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(at) {
            on("node1", &["pkill", "-9", "-f", "/tmp/mysql-ha setup"]);
            killed = true;
            break;
        }
    }
    let _ = child.wait();
    assert!(killed, "setup never printed {at:?}:\n{seen}");
    seen
}

#[test]
fn a_killed_run_is_finished_by_running_it_again() {
    let _lock = lock_sandbox();
    for kill_point in [
        "==> replication account",
        "==> seed the slave",
        "==> start replication",
    ] {
        fresh_lab("30", "\"shop\", \"crm\", \"web-stats\"");
        let before_kill = setup_killed_at(kill_point);
        let rerun = tool_on_node1(&["setup"]);
        assert!(
            rerun.status.success(),
            "killed at {kill_point:?}, the re-run failed:\n{before_kill}\n---\n{}",
            text(&rerun)
        );
        wait_until_equal(&TABLES);
        let dropins = on_ok(
            "node2",
            &[
                "grep",
                "-c",
                "^replicate-wild-do-table",
                "/etc/mysql/mariadb.conf.d/60-mysql-ha.cnf",
            ],
        );
        assert_eq!(dropins.trim(), "3", "killed at {kill_point:?}");
        let again = tool_on_node1(&["setup"]);
        assert!(
            text(&again).contains("nothing needed changing"),
            "killed at {kill_point:?}: {}",
            text(&again)
        );
    }
}

#[test]
fn rollback_puts_both_nodes_back() {
    let _lock = lock_sandbox();
    fresh_lab("2", "\"shop\", \"crm\", \"web-stats\"");
    let configs = |host: &str| {
        on_ok(
            host,
            &[
                "sh",
                "-c",
                "find /etc/mysql -type f -print0 | sort -z | xargs -0 sha256sum",
            ],
        )
    };
    let before = (configs("node1"), configs("node2"));
    let run = tool_on_node1(&["setup"]);
    assert!(run.status.success(), "{}", text(&run));
    let report = text(&run);
    let run_id = run_id_of(&report);

    let listed = on_ok(
        "node1",
        &[NODE_BIN, "rollback", "--answers", "/root/answers.toml"],
    );
    assert!(listed.contains(&run_id), "{listed}");

    // The undo is shown first; a dry run and a run without --yes and
    // without a terminal change nothing.
    let settings = "/etc/mysql/mariadb.conf.d/60-mysql-ha.cnf";
    let settings_sum = on_ok("node2", &["sha256sum", settings]);
    let shown = on_ok(
        "node1",
        &[
            NODE_BIN,
            "rollback",
            &run_id,
            "--answers",
            "/root/answers.toml",
            "--dry-run",
        ],
    );
    assert!(shown.contains("dry run: nothing was changed"), "{shown}");
    assert!(
        shown.contains(&format!("remove {settings} (the run created it)")),
        "{shown}"
    );
    assert!(
        shown.contains("undo: CREATE USER 'repl'@'192.0.2.12'"),
        "{shown}"
    );
    assert!(shown.contains("(witness)"), "{shown}");
    let unasked = on(
        "node1",
        &[
            NODE_BIN,
            "rollback",
            &run_id,
            "--answers",
            "/root/answers.toml",
        ],
    );
    assert!(!unasked.status.success(), "{}", text(&unasked));
    assert!(text(&unasked).contains("--yes"), "{}", text(&unasked));
    assert_eq!(on_ok("node2", &["sha256sum", settings]), settings_sum);
    let state = on_ok("node2", &["pgrep", "-f", "mysql-ha daemon"]);
    assert!(!state.trim().is_empty(), "the daemon was stopped");

    let undone = on_ok(
        "node1",
        &[
            NODE_BIN,
            "rollback",
            &run_id,
            "--answers",
            "/root/answers.toml",
            "--yes",
        ],
    );
    assert!(
        undone.contains("undone: CREATE USER 'repl'@'192.0.2.12'"),
        "{undone}"
    );
    // Pointing the slave (its position and its master, undone together)
    // is undone by forgetting the master.
    assert!(
        undone.contains("CHANGE MASTER TO MASTER_HOST='192.0.2.11'")
            && undone.contains("(by STOP SLAVE; RESET SLAVE ALL)"),
        "{undone}"
    );
    assert!(undone.contains("restarted the server"), "{undone}");
    // The witness the run installed on client is stopped and its files gone.
    assert!(undone.contains("(witness)"), "{undone}");
    for path in ["/etc/init.d/mysql-ha-witness", "/etc/mysql-ha/witness.toml"] {
        assert!(
            !on("client", &["test", "-e", path]).status.success(),
            "{path} is still on the witness:\n{undone}"
        );
    }
    assert!(
        !on("client", &["pgrep", "-f", "mysql-ha witness"])
            .status
            .success(),
        "the witness still runs:\n{undone}"
    );
    assert_eq!(
        (configs("node1"), configs("node2")),
        before,
        "configs differ after rollback"
    );
    assert_eq!(sql("node2", "SHOW SLAVE STATUS"), "");
    assert_eq!(
        sql(
            "node1",
            "SELECT COUNT(*) FROM mysql.user WHERE User = 'repl'"
        ),
        "0"
    );
    assert_eq!(
        sql("node2", "SELECT @@read_only, @@bind_address"),
        "0\t127.0.0.1"
    );
    assert_eq!(
        sql("node1", "SELECT @@log_bin, @@bind_address"),
        "0\t127.0.0.1"
    );
}
