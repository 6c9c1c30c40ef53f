//! Rejoin and switchover on the sandbox, chained on one lab: node1 crashes
//! and node2 takes over; node1 boots and rejoins as slave; a switchover
//! under a writer makes node1 master again without losing an acknowledged
//! row; then node1 holds a transaction node2 never received, and its rejoin
//! is refused (nothing changed) until the administrator asks to save it and
//! copy the databases again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const VIP: &str = "192.0.2.10";
const APP_SECRET: &str = "App-Secret-5d1f-never-shown";

fn status(host: &str) -> String {
    let out = on_ok(host, &["/usr/local/sbin/mysql-ha", "status"]);
    println!("--- mysql-ha status on {host}:\n{out}");
    out
}

fn tool_on_node1(args: &[&str]) -> std::process::Output {
    let mut argv = vec![NODE_BIN];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--answers", "/root/answers.toml"]);
    let out = on("node1", &argv);
    println!("--- mysql-ha {}:\n{}", args.join(" "), text(&out));
    out
}

fn holds_vip(host: &str) -> bool {
    on_ok(host, &["ip", "-o", "addr", "show", "dev", "eth0"]).contains(&format!(" {VIP}/24 "))
}

fn count(host: &str, query: &str) -> u64 {
    sql(host, query).parse().unwrap()
}

fn crash_node1_and_wait_for_takeover() {
    let takeovers = daemon_log("node2").matches("took-over").count();
    let step_downs = daemon_log("node1").matches("stepped-down").count();
    mysql_ha(&["sandbox", "crash", "node1"]);
    wait_until("node2 to take over", Duration::from_secs(90), || {
        daemon_log("node2").matches("took-over").count() > takeovers
    });
    mysql_ha(&["sandbox", "boot", "node1"]);
    wait_until("node1 to step down", Duration::from_secs(60), || {
        daemon_log("node1").matches("stepped-down").count() > step_downs
    });
    // A boot empties /tmp.
    install_binary("node1");
}

/// What a refused rejoin must leave alone on node1.
fn node1_fingerprint() -> String {
    [
        on_ok("node1", &["my_print_defaults", "mysqld"]),
        sql("node1", "SHOW SLAVE STATUS"),
        sql("node1", "SELECT @@read_only"),
        on_ok("node1", &["cat", "/var/lib/mysql-ha/cluster/state.json"]),
        on_ok("node1", &["ls", "/var/lib/mysql-ha/runs"]),
    ]
    .join("\n")
}

/// What a dry run (or a run refused before its first change) must leave
/// alone on a node: option files, replication, read-only, accounts, term
/// state, runs, the cluster address.
fn fingerprint(host: &str) -> String {
    [
        on_ok(host, &["my_print_defaults", "mysqld"]),
        on_ok(
            host,
            &[
                "sh",
                "-c",
                "mariadb -e 'SHOW SLAVE STATUS\\G' | grep -E 'Master_Host|Master_User|_Running:|Using_Gtid' || true",
            ],
        ),
        sql(host, "SELECT @@read_only"),
        sql(
            host,
            "SELECT CONCAT(user, '@', host, ' ', authentication_string) FROM mysql.user ORDER BY 1",
        ),
        on_ok(host, &["cat", "/var/lib/mysql-ha/cluster/state.json"]),
        on_ok(host, &["ls", "/var/lib/mysql-ha/runs"]),
        holds_vip(host).to_string(),
    ]
    .join("\n")
}

fn both_fingerprints() -> String {
    format!("{}\n---\n{}", fingerprint("node1"), fingerprint("node2"))
}

/// `--dry-run` prints the plan and changes nothing; a run with no terminal
/// to confirm on and no --yes refuses before its first change.
fn dry_run_and_refusal_change_nothing(args: &[&str], plan_lines: &[&str]) {
    let started = Instant::now();
    let before = both_fingerprints();
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = tool_on_node1(&dry);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Plan for run "), "{said}");
    assert!(said.contains("dry run: nothing was changed"), "{said}");
    for line in plan_lines {
        assert!(said.contains(line), "no `{line}` in the plan:\n{said}");
    }
    let out = tool_on_node1(args);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("no terminal to confirm the plan on"),
        "{said}"
    );
    assert_eq!(
        both_fingerprints(),
        before,
        "`{}` changed a node",
        args.join(" ")
    );
    println!(
        "`{}`: dry run and refusal checked in {:.1} s",
        args.join(" "),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn rejoin_after_a_takeover_switchover_back_under_writes_and_a_refused_rejoin() {
    let _lock = lock_sandbox();
    let started = Instant::now();
    fresh_cluster_from_node1();
    let dir = tempfile::tempdir().unwrap();
    prepare_writer(APP_SECRET);
    let before = status("node1");
    assert!(before.contains("pair: whole"), "{before}");
    assert!(
        before.contains("replication: 192.0.2.11 (master) -> 192.0.2.12 (slave)"),
        "{before}"
    );
    assert!(before.contains("gtid 192.0.2.12"), "{before}");

    // 1. Takeover: node1 crashes, node2 takes over, node1 boots and waits.
    crash_node1_and_wait_for_takeover();
    let degraded = status("node1");
    assert!(degraded.contains("pair: degraded (one leg)"), "{degraded}");
    assert!(degraded.contains("needs rejoining"), "{degraded}");

    // 2. Rejoin: node1 follows node2 from its own GTID position. First its
    //    plan alone, which changes nothing.
    dry_run_and_refusal_change_nothing(
        &["rejoin", "node1"],
        &[
            "== replicate from the master on rejoining 192.0.2.11: will change",
            "MASTER_PASSWORD='********'",
            "IDENTIFIED BY '********'",
            "   if 192.0.2.12 cannot continue this history (error 1236), then:",
        ],
    );
    let out = tool_on_node1(&["rejoin", "node1", "--yes"]);
    assert!(out.status.success());
    let said = text(&out);
    assert!(
        said.contains("history: everything 192.0.2.11 logged reached 192.0.2.12"),
        "{said}"
    );
    assert!(
        said.contains("done: 192.0.2.11 is the slave of 192.0.2.12"),
        "{said}"
    );
    assert!(
        !said.contains("copying"),
        "a clean rejoin copied the databases:\n{said}"
    );
    let whole = status("node1");
    assert!(whole.contains("pair: whole"), "{whole}");
    assert!(
        whole.contains("replication: 192.0.2.12 (master) -> 192.0.2.11 (slave)"),
        "{whole}"
    );
    assert!(
        !whole.contains("takeovers held"),
        "the takeover is still unacknowledged:\n{whole}"
    );
    assert_eq!(sql("node1", "SELECT @@read_only"), "1");
    assert!(on_ok("node1", &["my_print_defaults", "mysqld"])
        .contains("--replicate-wild-do-table=shop.%"));
    // A write through the cluster address reaches node1 by replication.
    on_ok(
        "client",
        &[
            "mariadb",
            "-e",
            "INSERT INTO shop.ha_writer VALUES (900001, NOW(6))",
        ],
    );
    wait_until("the write to reach node1", Duration::from_secs(20), || {
        count(
            "node1",
            "SELECT COUNT(*) FROM shop.ha_writer WHERE n = 900001",
        ) == 1
    });

    // 3a. A switchover that cannot finish before the address moves is undone:
    //     node1 cannot apply a row (a table lock holds its SQL thread).
    on_ok(
        "node1",
        &[
            "sh",
            "-c",
            "mariadb -e 'LOCK TABLES shop.ha_writer WRITE; SELECT SLEEP(300) AS held_lock' >/dev/null 2>&1 &",
        ],
    );
    std::thread::sleep(Duration::from_millis(500));
    on_ok(
        "client",
        &[
            "mariadb",
            "-e",
            "INSERT INTO shop.ha_writer VALUES (900003, NOW(6))",
        ],
    );
    let out = tool_on_node1(&[
        "switchover",
        "--to",
        "node1",
        "--apply-wait",
        "3",
        "--max-lag",
        "600",
        "--yes",
    ]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(
            "switchover stopped before the cluster address moved, everything is back as it was"
        ),
        "{said}"
    );
    assert!(holds_vip("node2") && !holds_vip("node1"));
    assert_eq!(sql("node2", "SELECT @@read_only"), "0");
    assert_eq!(sql("node1", "SELECT @@read_only"), "1");
    // The lock goes: the row held back arrives.
    sql(
        "node1",
        "SELECT CONCAT('KILL ', MIN(id)) FROM information_schema.processlist WHERE info LIKE '%held_lock%' AND info NOT LIKE '%processlist%' INTO @kill; EXECUTE IMMEDIATE @kill",
    );
    wait_until(
        "the locked row to reach node1",
        Duration::from_secs(30),
        || {
            count(
                "node1",
                "SELECT COUNT(*) FROM shop.ha_writer WHERE n = 900003",
            ) == 1
        },
    );
    wait_until(
        "the pair to be whole again",
        Duration::from_secs(30),
        || status("node1").contains("pair: whole"),
    );
    assert!(status("node1").contains("replication: 192.0.2.12 (master) -> 192.0.2.11 (slave)"));

    // 3. Switchover back to node1 while the client writes. Its plan first,
    //    which changes nothing.
    dry_run_and_refusal_change_nothing(
        &["switchover", "--to", "node1"],
        &[
            "== read-only (writes pause here) on old master 192.0.2.12: will change",
            "-> <GTIDs 192.0.2.12 executed> (read at run time; the log shows it)",
            "== move the cluster address (writes resume here) on new master 192.0.2.11: will change",
            "MASTER_PASSWORD='********'",
        ],
    );
    let writer = Writer::start(dir.path());
    wait_until("40 acknowledged rows", Duration::from_secs(60), || {
        writer.acks().len() >= 40
    });
    let out = tool_on_node1(&["switchover", "--to", "node1", "--yes"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let switched_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    wait_until(
        "writes after the switchover",
        Duration::from_secs(30),
        || writer.acks().iter().any(|(_, at)| *at > switched_at + 1.0),
    );
    let acks = writer.stop();
    let reported = said
        .lines()
        .find(|l| l.starts_with("done: ") && l.contains("write pause"))
        .unwrap_or_else(|| panic!("no write pause reported:\n{said}"));
    let widest_gap = acks.windows(2).map(|w| w[1].1 - w[0].1).fold(0.0, f64::max);
    println!(
        "switchover: {reported}\nwriter: {} rows acknowledged, widest gap between two acknowledgements {widest_gap:.2} s",
        acks.len()
    );
    assert!(holds_vip("node1") && !holds_vip("node2"));
    let swapped = status("node1");
    assert!(
        swapped.contains("replication: 192.0.2.11 (master) -> 192.0.2.12 (slave)"),
        "{swapped}"
    );
    assert!(swapped.contains("pair: whole"), "{swapped}");
    assert_eq!(sql("node1", "SELECT @@read_only"), "0");
    assert_eq!(sql("node2", "SELECT @@read_only"), "1");
    let last = acks.last().unwrap().0;
    wait_until("node2 to catch up", Duration::from_secs(30), || {
        count(
            "node2",
            "SELECT COUNT(*) FROM shop.ha_writer WHERE n < 900000",
        ) >= count(
            "node1",
            "SELECT COUNT(*) FROM shop.ha_writer WHERE n < 900000",
        )
    });
    for host in ["node1", "node2"] {
        let rows: std::collections::HashSet<u64> = sql(host, "SELECT n FROM shop.ha_writer")
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        let missing: Vec<u64> = acks
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !rows.contains(n))
            .collect();
        assert!(
            missing.is_empty(),
            "acknowledged rows missing on {host}: {missing:?}"
        );
    }
    println!("every one of {last} acknowledged rows is on both nodes");

    // 4. node1 holds a transaction node2 never received: node2's slave is
    //    stopped when it is written, so node1 commits it but (semi-sync)
    //    waits for an acknowledgement that never comes; node1 crashes while
    //    it waits, and node2 takes over (it lacks no acknowledged write).
    sql("node2", "STOP SLAVE");
    let mut waiting = std::process::Command::new(BIN)
        .args([
            "sandbox",
            "exec",
            "node1",
            "--",
            "mariadb",
            "-e",
            "INSERT INTO shop.customers VALUES (880001, 'never sent', 'lost@example.com', NOW(), 'e2e')",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(
        "the write to wait for node2",
        Duration::from_secs(10),
        || {
            sql(
            "node1",
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync ACK%'",
        ) == "1"
        },
    );
    crash_node1_and_wait_for_takeover();
    let _ = waiting.wait();
    let fingerprint = node1_fingerprint();
    let out = tool_on_node1(&["rejoin", "node1", "--yes"]);
    let said = text(&out);
    assert!(!out.status.success(), "the rejoin went ahead:\n{said}");
    assert!(said.contains("refused, nothing was changed"), "{said}");
    assert!(
        said.contains("1 transaction(s) that 192.0.2.12 never received"),
        "{said}"
    );
    assert!(
        said.contains("@1=880001"),
        "the transaction is not shown:\n{said}"
    );
    assert_eq!(
        node1_fingerprint(),
        fingerprint,
        "a refused rejoin changed node1"
    );
    assert!(status("node1").contains("pair: degraded (one leg)"));

    // The administrator keeps the transaction and has the databases copied again.
    let out = tool_on_node1(&["rejoin", "node1", "--yes", "--save-and-reseed"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let saved = said
        .lines()
        .find_map(|l| l.strip_prefix("saved: ").filter(|p| p.ends_with(".txt")))
        .unwrap_or_else(|| panic!("nothing saved:\n{said}"))
        .to_string();
    assert!(on_ok("node1", &["cat", &saved]).contains("@1=880001"));
    let replayable = saved.replace(".txt", ".sql");
    assert_eq!(
        on_ok("node1", &["stat", "-c", "%a", &replayable]).trim(),
        "600"
    );
    assert_eq!(
        count(
            "node1",
            "SELECT COUNT(*) FROM shop.customers WHERE id = 880001"
        ),
        0
    );
    assert_eq!(
        checksums("node1", &["shop.customers", "crm.contacts"]),
        checksums("node2", &["shop.customers", "crm.contacts"])
    );
    on_ok(
        "client",
        &[
            "mariadb",
            "-e",
            "INSERT INTO shop.ha_writer VALUES (900002, NOW(6))",
        ],
    );
    wait_until("the write to reach node1", Duration::from_secs(20), || {
        count(
            "node1",
            "SELECT COUNT(*) FROM shop.ha_writer WHERE n = 900002",
        ) == 1
    });
    let end = status("node1");
    assert!(end.contains("pair: whole"), "{end}");
    println!(
        "the whole chain took {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
