//! Setup on the sandbox, for real: two MariaDB servers, real ssh, real data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const SECRET: &str = "Repl-Secret-5d9c1e7f-never-shown";

/// The lab's answers with a known replication password, so the test can look
/// for it where it must never be.
fn answers_with_secret() -> String {
    let lab = std::fs::read_to_string(lab_answers()).unwrap();
    let with_secret = lab.replace(
        "[replication]\nuser = \"repl\"\npassword = \"\"\n",
        &format!("[replication]\nuser = \"repl\"\npassword = \"{SECRET}\"\n"),
    );
    assert_ne!(with_secret, lab, "the lab's answers file changed shape");
    with_secret
}

fn setup_on(host: &str, extra: &[&str]) -> std::process::Output {
    let mut argv = vec![NODE_BIN, "setup", "--answers", "/root/answers.toml"];
    argv.extend_from_slice(extra);
    on(host, &argv)
}

/// Fingerprint of what setup may change on a node: config files, accounts,
/// replication state.
fn node_state(host: &str) -> String {
    let files = on_ok(
        host,
        &["sh", "-c", "find /etc/mysql -type f -print0 | sort -z | xargs -0 sha256sum; ls /var/lib/mysql-ha/runs 2>/dev/null | wc -l"],
    );
    let users = sql(
        host,
        "SELECT CONCAT(User,'@',Host) FROM mysql.user ORDER BY 1",
    );
    let replica = sql(host, "SHOW SLAVE STATUS");
    format!("{files}\n{users}\n{replica}")
}

fn wait_for(host: &str, query: &str, expected: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if on(
            host,
            &["mariadb", "--batch", "--skip-column-names", "-e", query],
        )
        .stdout
        .starts_with(expected.as_bytes())
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn fresh_lab(hosts: &[&str]) {
    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up"]);
    for host in hosts {
        install_binary(host);
        put_file(
            host,
            "/root/answers.toml",
            answers_with_secret().as_bytes(),
            "600",
        );
    }
}

fn assert_replicates(master: &str, slave: &str) {
    for (db, table, row) in [
        (
            "shop",
            "customers",
            "(900001, 'probe', 'probe@example.com', NOW(), 'e2e')",
        ),
        (
            "crm",
            "contacts",
            "(900001, 'probe co', '+1-555-0000', 'e2e')",
        ),
        ("web-stats", "hits", "(900001, '/probe', NOW(), 'e2e')"),
    ] {
        on_ok(
            master,
            &[
                "mariadb",
                "-e",
                &format!("INSERT INTO `{db}`.{table} VALUES {row}"),
            ],
        );
        assert!(
            wait_for(
                slave,
                &format!("SELECT COUNT(*) FROM `{db}`.{table} WHERE id = 900001"),
                "1"
            ),
            "a row inserted into {db} on {master} did not reach {slave}"
        );
    }
    on_ok(
        master,
        &[
            "mariadb",
            "-e",
            "INSERT INTO hr.employees VALUES (900001, 'probe', 1)",
        ],
    );
    std::thread::sleep(Duration::from_secs(1));
    let hr = on(
        slave,
        &[
            "mariadb",
            "--batch",
            "--skip-column-names",
            "-e",
            "SELECT COUNT(*) FROM hr.employees WHERE id = 900001",
        ],
    );
    assert!(
        !hr.status.success(),
        "hr is not chosen, so it must not exist on the slave: {}",
        text(&hr)
    );
}

#[test]
fn setup_from_the_master_then_from_a_third_host() {
    let _lock = lock_sandbox();

    // --- from node1 (master local, slave over ssh) ---
    fresh_lab(&["node1"]);
    let before = (node_state("node1"), node_state("node2"));
    let dry = setup_on("node1", &["--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    let plan = text(&dry);
    for expected in [
        "bind-address",
        "+binlog-format = ROW",
        "+replicate-wild-do-table = \"web-stats.%\"",
        "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'192.0.2.12'",
        "MASTER_PASSWORD='********'",
        "mariadb-dump --single-transaction",
        "dry run: nothing was changed",
    ] {
        assert!(plan.contains(expected), "plan lacks {expected:?}:\n{plan}");
    }
    assert!(!plan.contains(SECRET));
    assert_eq!(
        (node_state("node1"), node_state("node2")),
        before,
        "--dry-run changed a node"
    );

    let watch = CmdlineWatch::start(vec![SECRET.to_string()]);
    let run = setup_on("node1", &["--yes"]);
    let (samples, hits) = watch.finish();
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("done: 192.0.2.12 replicates shop, crm, web-stats"));
    assert!(
        samples > 50,
        "the command-line watch sampled only {samples} times"
    );
    assert!(hits.is_empty(), "secret on a command line: {hits:?}");
    assert!(!text(&run).contains(SECRET));
    for host in ["node1", "node2"] {
        let leaked = on(
            host,
            &[
                "grep",
                "-rl",
                SECRET,
                "/var/lib/mysql-ha",
                "/etc/mysql",
                "/tmp",
            ],
        );
        assert!(
            leaked.stdout.is_empty(),
            "secret in a file on {host}: {}",
            text(&leaked)
        );
    }
    assert_eq!(sql("node2", "SELECT @@read_only"), "1");
    assert_eq!(sql("node1", "SELECT @@binlog_format"), "ROW");
    let grants = sql("node1", "SHOW GRANTS FOR 'repl'@'192.0.2.12'");
    assert!(
        grants.starts_with("GRANT REPLICATION SLAVE ON *.* TO"),
        "{grants}"
    );
    assert_replicates("node1", "node2");
    // The canary tables are gone on both sides.
    assert_eq!(
        sql(
            "node2",
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = 'mysql_ha_canary'"
        ),
        "0"
    );

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
    assert_eq!(nodes[1]["role"], "slave");
    assert_eq!(nodes[1]["io_running"], "Yes");
    assert_eq!(nodes[1]["sql_running"], "Yes");
    assert_eq!(nodes[0]["role"], "master");

    let again = setup_on("node1", &["--yes"]);
    assert!(again.status.success(), "{}", text(&again));
    let again = text(&again);
    assert!(
        !again
            .lines()
            .any(|l| l.trim_start().starts_with("changed:")),
        "second run changed something:\n{again}"
    );
    assert!(again.contains("nothing needed changing"), "{again}");

    // --- from the client host: both nodes remote ---
    fresh_lab(&["client"]);
    let run = setup_on("client", &["--yes"]);
    assert!(run.status.success(), "{}", text(&run));
    assert_replicates("node1", "node2");
}

#[test]
fn bad_answers_stop_before_any_change() {
    let _lock = lock_sandbox();
    fresh_lab(&["client"]);
    let before = (node_state("node1"), node_state("node2"));
    let answers = answers_with_secret();
    let cases = [
        (
            answers.replace("seed = \"dump\"", "seed = \"dump\"\nsede = 1"),
            "sede",
        ),
        (
            answers.replace("host = \"192.0.2.12\"", "host = \"192.0.2.99\""),
            "192.0.2.99",
        ),
        (
            answers.replace("\"web-stats\"]", "\"web-stats\", \"nosuchdb\"]"),
            "nosuchdb",
        ),
        (
            answers.replacen(
                "mysql_admin_user = \"root\"\nmysql_admin_password = \"\"",
                "mysql_admin_user = \"admin\"\nmysql_admin_password = \"wrong-password-1\"",
                1,
            ),
            "master.mysql_admin_password",
        ),
    ];
    for (bad, named) in cases {
        assert_ne!(bad, answers, "case {named} changed nothing in the answers");
        put_file("client", "/root/bad.toml", bad.as_bytes(), "600");
        let out = on(
            "client",
            &[NODE_BIN, "setup", "--answers", "/root/bad.toml", "--yes"],
        );
        assert!(
            !out.status.success(),
            "answers naming {named} accepted:\n{}",
            text(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("");
        assert!(
            first.contains(named),
            "error does not name {named}: {stderr}"
        );
        assert!(!stderr.contains("wrong-password-1"));
    }
    assert_eq!(
        (node_state("node1"), node_state("node2")),
        before,
        "a refused run changed a node"
    );
}
