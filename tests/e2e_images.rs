//! The life cycle on sandbox nodes booted from other Debian releases
//! (`sandbox up --node1-image/--node2-image`, docs/sandbox.md): a MariaDB
//! 10.11 master with a MariaDB 11.8 slave (the upgrade path) is set up,
//! fails over under an acknowledged-write writer and switches back; a slave
//! older than its master, and MariaDB paired with Oracle MySQL, are refused
//! before any change. A missing image is built first (debootstrap).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const APP_SECRET: &str = "App-Secret-81c2-never-shown";

fn tool_on_node1(args: &[&str]) -> std::process::Output {
    let mut argv = vec![NODE_BIN];
    argv.extend_from_slice(args);
    let out = on("node1", &argv);
    println!("--- mysql-ha {}:\n{}", args.join(" "), text(&out));
    out
}

/// What a refused setup must leave alone on both nodes.
fn fingerprint() -> String {
    ["node1", "node2"]
        .iter()
        .map(|node| {
            format!(
                "{node}:\n{}\n{}",
                on_ok(node, &["my_print_defaults", "mysqld"]),
                text(&on(node, &["ls", "/var/lib/mysql-ha/runs"]))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lab's answers with master and slave swapped, on node1.
fn swapped_answers() -> &'static str {
    let answers = std::fs::read_to_string(lab_answers()).unwrap();
    let swapped = answers
        .replace("host = \"192.0.2.11\"", "host = \"@SLAVE@\"")
        .replace("host = \"192.0.2.12\"", "host = \"192.0.2.11\"")
        .replace("@SLAVE@", "192.0.2.12");
    put_file("node1", "/root/swapped.toml", swapped.as_bytes(), "600");
    "/root/swapped.toml"
}

fn refused_before_any_change(answers: &str, why: &[&str]) {
    let before = fingerprint();
    let out = tool_on_node1(&["setup", "--answers", answers, "--yes"]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("preflight stopped the run before any change"),
        "{said}"
    );
    for words in why {
        assert!(said.contains(words), "`{words}` not said:\n{said}");
    }
    assert_eq!(fingerprint(), before, "a refused setup changed a node");
}

#[test]
fn mariadb_10_11_master_and_11_8_slave_set_up_fail_over_and_switch_over() {
    let _lock = lock_sandbox();
    let started = Instant::now();
    fresh_lab("host", "debian-13");
    // The lab's folder reaches every node as it is now, on either image: a
    // file written there after the nodes booted (the flaky lab of #20).
    let probe = format!("{}/probe-{}", lab_dir(), std::process::id());
    std::fs::write(&probe, "written after boot\n").unwrap();
    for node in ["node1", "node2"] {
        assert_eq!(on_ok(node, &["cat", &probe]), "written after boot\n");
        assert_eq!(
            on_ok(node, &["cat", &lab_answers()]),
            std::fs::read_to_string(lab_answers()).unwrap()
        );
    }
    std::fs::remove_file(&probe).unwrap();
    // The image is listed as built and used by this lab's node2.
    let images = mysql_ha(&["sandbox", "images"]);
    let line = images
        .lines()
        .find(|l| l.starts_with("debian-13 "))
        .unwrap_or_else(|| panic!("{images}"));
    assert!(line.contains("built, "), "{images}");
    assert!(
        line.contains(&format!("in use by {}/node2", lab_dir())),
        "{images}"
    );
    assert!(sql("node1", "SELECT VERSION()").starts_with("10.11."));
    assert!(sql("node2", "SELECT VERSION()").starts_with("11.8."));

    // The newer server as master of the older one is refused.
    refused_before_any_change(
        swapped_answers(),
        &[
            "slave runs MariaDB 10.11",
            "older than the master's MariaDB 11.8",
            "upgrade the slave to 11.8 or later first",
        ],
    );

    let said = setup_with_lab_answers();
    assert!(said.contains("verified: both threads running"), "{said}");

    // Takeover by the 11.8 slave under the writer: nothing acknowledged lost.
    let dir = tempfile::tempdir().unwrap();
    prepare_writer(APP_SECRET);
    let writer = Writer::start(dir.path());
    wait_until("40 acknowledged rows", Duration::from_secs(60), || {
        writer.acks().len() >= 40
    });
    crash_and_wait_for_takeover("node1", "node2");
    let after_takeover = writer.acks().len();
    wait_until(
        "writes through the address after the takeover",
        Duration::from_secs(30),
        || writer.acks().len() >= after_takeover + 20,
    );

    // The 10.11 node rejoins as slave of 11.8, then becomes master again.
    let out = tool_on_node1(&[
        "rejoin",
        "node1",
        "--yes",
        "--answers",
        "/root/answers.toml",
    ]);
    assert!(out.status.success());
    assert!(text(&out).contains("done: 192.0.2.11 is the slave of 192.0.2.12"));
    let out = tool_on_node1(&[
        "switchover",
        "--to",
        "node1",
        "--yes",
        "--answers",
        "/root/answers.toml",
    ]);
    assert!(out.status.success());
    let switched = writer.acks().len();
    wait_until(
        "writes after the switchover",
        Duration::from_secs(30),
        || writer.acks().len() >= switched + 20,
    );
    let acks = writer.stop();
    acknowledged_rows_on("node1", &acks, "after takeover, rejoin and switchover");
    let last = acks.last().unwrap().0;
    wait_until("node2 to hold every row", Duration::from_secs(30), || {
        sql(
            "node2",
            &format!("SELECT COUNT(*) FROM shop.ha_writer WHERE n <= {last}"),
        ) == sql(
            "node1",
            &format!("SELECT COUNT(*) FROM shop.ha_writer WHERE n <= {last}"),
        )
    });
    assert_eq!(sql("node1", "SELECT @@read_only"), "0");
    assert_eq!(sql("node2", "SELECT @@read_only"), "1");
    println!(
        "mixed 10.11 -> 11.8: {} acknowledged rows, none lost; test took {:.0} s",
        acks.len(),
        started.elapsed().as_secs_f64()
    );
    mysql_ha(&["sandbox", "down"]);
}

#[test]
fn mariadb_with_mysql_is_refused_before_any_change() {
    let _lock = lock_sandbox();
    fresh_lab("host", "debian-sid-mysql");
    assert!(sql("node2", "SELECT VERSION()").starts_with("9."));
    put_file(
        "node1",
        "/root/answers.toml",
        &std::fs::read(lab_answers()).unwrap(),
        "600",
    );
    refused_before_any_change(
        "/root/answers.toml",
        &[
            "master runs MariaDB 10.11",
            "slave MySQL 9.7",
            "pair two servers of one family",
        ],
    );
    mysql_ha(&["sandbox", "down"]);
}

/// Rolls the run back on both nodes (each node's journal undoes its part),
/// the slave first: a source keeps its semi-sync plugin while a replica is
/// connected.
fn roll_back_on_both(run: &str) {
    install_binary("node2");
    for node in ["node2", "node1"] {
        let out = on(node, &[NODE_BIN, "rollback", run, "--yes"]);
        println!("--- rollback on {node}:\n{}", text(&out));
        assert!(out.status.success(), "rollback on {node}:\n{}", text(&out));
    }
}

fn run_id(setup_output: &str) -> String {
    let at = setup_output.rfind("run ").unwrap();
    setup_output[at + 4..]
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn oracle_mysql_clone_seed_rollback_takeover_rejoin_switchover_errant_gtids_reseed_add_db_and_resync(
) {
    let _lock = lock_sandbox();
    let started = Instant::now();
    fresh_lab("debian-sid-mysql", "debian-sid-mysql");
    let version = sql("node1", "SELECT VERSION()");
    assert!(version.starts_with("9."), "{version}");

    // Servers that run without GTIDs, as many do: setup turns them on.
    for node in ["node1", "node2"] {
        on_ok(
            node,
            &[
                "sh",
                "-c",
                "printf '[mysqld]\\ngtid_mode = OFF\\nenforce_gtid_consistency = OFF\\n' \
                 > /etc/mysql/mysql.conf.d/50-gtid-off.cnf && service mysql restart",
            ],
        );
        assert_eq!(sql(node, "SELECT @@GLOBAL.gtid_mode"), "OFF");
    }
    // A transaction without a GTID in node1's binary log.
    sql(
        "node1",
        "INSERT INTO hr.employees VALUES (100001, 'anonymous', 1)",
    );

    // Setup seeded by MySQL's clone plugin (`auto` picks it: the slave
    // holds no databases of its own), then rollback: both nodes as they
    // were, the slave on its own datadir again.
    let answers = std::fs::read_to_string(lab_answers())
        .unwrap()
        .replace("seed = \"dump\"", "seed = \"auto\"");
    assert!(answers.contains("seed = \"auto\""), "{answers}");
    put_file("node1", "/root/answers.toml", answers.as_bytes(), "600");
    let said = setup_on_node1();
    assert!(said.contains("method clone (auto: "), "{said}");
    assert!(said.contains("INSTALL PLUGIN clone SONAME"), "{said}");
    assert!(
        said.contains("IDENTIFIED BY '********' REQUIRE SSL (the server restarts"),
        "{said}"
    );
    assert!(said.contains("(clone), step done"), "{said}");
    // The clone verified the master's certificate with the pair's CA.
    assert!(
        said.contains("SET GLOBAL clone_ssl_ca = '/etc/ssl/mysql-ha/ca.pem'"),
        "{said}"
    );
    // The donor's password is in no journal or log (only masked).
    for node in ["node1", "node2"] {
        let shown = on(
            node,
            &[
                "sh",
                "-c",
                "grep -rl 'IDENTIFIED BY .[A-Za-z0-9]\\{24\\}' /var/lib/mysql-ha /var/log/mysql",
            ],
        );
        assert!(!shown.status.success(), "{node}: {}", text(&shown));
    }
    let tables = sql(
        "node1",
        "SELECT GROUP_CONCAT(CONCAT('`', TABLE_SCHEMA, '`.`', TABLE_NAME, '`') ORDER BY 1) \
         FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ('shop', 'crm', 'web-stats') AND TABLE_TYPE = 'BASE TABLE'",
    );
    let checksums = format!("CHECKSUM TABLE {tables}");
    assert_eq!(sql("node2", &checksums), sql("node1", &checksums));
    assert!(
        !sql("node2", "SHOW DATABASES").contains("hr"),
        "not chosen, yet cloned"
    );
    for node in ["node1", "node2"] {
        assert_eq!(
            sql(
                node,
                "SELECT COUNT(*) FROM mysql.user WHERE User = 'mysqlha_clone'"
            ),
            "0",
            "{node} keeps the donor account"
        );
    }
    assert_ne!(
        sql("node1", "SELECT @@GLOBAL.server_uuid"),
        sql("node2", "SELECT @@GLOBAL.server_uuid")
    );
    for node in ["node1", "node2"] {
        assert_eq!(sql(node, "SELECT @@GLOBAL.gtid_mode"), "ON", "{node}");
    }
    assert!(said.contains("at GTID set "), "{said}");
    assert!(said.contains("verified: both threads running"), "{said}");
    let status = sql("node2", "SHOW REPLICA STATUS");
    assert!(status.contains("192.0.2.11"), "{status}");
    assert_eq!(
        sql(
            "node2",
            "SELECT Auto_Position FROM performance_schema.replication_connection_configuration"
        ),
        "1"
    );
    // Over verified TLS with the pair's own certificates (the default).
    assert!(said.contains("==> TLS certificates"), "{said}");
    assert_eq!(
        sql(
            "node2",
            "SELECT CONCAT(SSL_ALLOWED, ' ', SSL_CA_FILE, ' ', SSL_VERIFY_SERVER_CERTIFICATE) FROM performance_schema.replication_connection_configuration"
        ),
        "YES /etc/ssl/mysql-ha/ca.pem YES"
    );
    assert_eq!(
        sql(
            "node1",
            "SELECT ssl_type FROM mysql.user WHERE User = 'repl'"
        ),
        "ANY"
    );
    roll_back_on_both(&run_id(&said));
    assert_eq!(sql("node2", "SHOW REPLICA STATUS"), "");
    assert_eq!(
        sql("node1", "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME LIKE 'rpl_semi_sync%'"),
        "0"
    );
    for node in ["node1", "node2"] {
        assert_eq!(sql(node, "SELECT @@GLOBAL.gtid_mode"), "OFF", "{node}");
        assert!(
            !on_ok(node, &["my_print_defaults", "mysqld"]).contains("--gtid-mode=ON"),
            "{node} keeps the run's options"
        );
    }
    let databases = sql("node2", "SHOW DATABASES");
    assert!(!databases.contains("shop"), "the clone stayed: {databases}");
    assert_eq!(
        sql(
            "node2",
            "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'clone'"
        ),
        "0"
    );

    // Setup again (seeded by a dump): a MySQL pair with semi-sync, the
    // slave super_read_only.
    let said = setup_with_lab_answers();
    assert!(said.contains("verified: both threads running"), "{said}");
    wait_until(
        "node2 to be super_read_only",
        Duration::from_secs(20),
        || sql("node2", "SELECT @@GLOBAL.super_read_only") == "1",
    );
    assert_eq!(sql("node1", "SELECT @@GLOBAL.read_only"), "0");
    wait_until("semi-sync on the master", Duration::from_secs(20), || {
        sql(
            "node1",
            "SELECT VARIABLE_VALUE FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Rpl_semi_sync_source_status'",
        ) == "ON"
    });

    // Takeover under the writer: node2 serves every acknowledged row.
    let dir = tempfile::tempdir().unwrap();
    prepare_writer(APP_SECRET);
    let writer = Writer::start(dir.path());
    wait_until("40 acknowledged rows", Duration::from_secs(60), || {
        writer.acks().len() >= 40
    });
    crash_and_wait_for_takeover("node1", "node2");
    let after_takeover = writer.acks().len();
    wait_until(
        "writes through the address after the takeover",
        Duration::from_secs(30),
        || writer.acks().len() >= after_takeover + 20,
    );
    acknowledged_rows_on("node2", &writer.acks(), "after the takeover");
    assert_eq!(sql("node2", "SELECT @@GLOBAL.read_only"), "0");
    assert_eq!(sql("node2", "SHOW REPLICA STATUS"), "");
    // The old master boots and stays out of the way: no writes, not even SUPER.
    wait_until(
        "node1 to be super_read_only",
        Duration::from_secs(20),
        || sql("node1", "SELECT @@GLOBAL.super_read_only") == "1",
    );

    // Rejoin: node1 follows node2 by auto-position from its own GTIDs.
    let out = tool_on_node1(&[
        "rejoin",
        "node1",
        "--yes",
        "--answers",
        "/root/answers.toml",
    ]);
    assert!(out.status.success());
    assert!(text(&out).contains("done: 192.0.2.11 is the slave of 192.0.2.12"));
    assert!(!text(&out).contains("copying"), "a clean rejoin copied");

    // Switchover back to node1 while the client writes.
    let switched = writer.acks().len();
    let out = tool_on_node1(&[
        "switchover",
        "--to",
        "node1",
        "--yes",
        "--answers",
        "/root/answers.toml",
    ]);
    assert!(out.status.success());
    wait_until(
        "writes after the switchover",
        Duration::from_secs(30),
        || writer.acks().len() >= switched + 20,
    );
    let acks = writer.stop();
    acknowledged_rows_on("node1", &acks, "after takeover, rejoin and switchover");
    assert_eq!(sql("node1", "SELECT @@GLOBAL.read_only"), "0");
    wait_until(
        "node2 to be super_read_only",
        Duration::from_secs(20),
        || sql("node2", "SELECT @@GLOBAL.super_read_only") == "1",
    );

    // A transaction written on the slave behind the master's back (an
    // errant GTID): rejoining it is refused, naming the set, nothing changed.
    sql(
        "node2",
        "SET GLOBAL super_read_only = OFF; SET GLOBAL read_only = OFF; \
         INSERT INTO shop.ha_writer VALUES (990001, NOW(6)); SET GLOBAL super_read_only = ON",
    );
    let node2_uuid = sql("node2", "SELECT @@GLOBAL.server_uuid");
    let before = fingerprint();
    let out = tool_on_node1(&[
        "rejoin",
        "node2",
        "--yes",
        "--answers",
        "/root/answers.toml",
    ]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("errant GTIDs"), "{said}");
    assert!(said.contains(&node2_uuid), "{said}");
    assert_eq!(fingerprint(), before, "a refused rejoin changed a node");

    // With --save-and-reseed the errant transaction is saved on node2, the
    // databases are copied again and node2 takes node1's history.
    let out = tool_on_node1(&[
        "rejoin",
        "node2",
        "--yes",
        "--save-and-reseed",
        "--answers",
        "/root/answers.toml",
    ]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("errant GTIDs: "), "{said}");
    let saved = on_ok(
        "node2",
        &[
            "sh",
            "-c",
            "cat /var/lib/mysql-ha/runs/*/lost-transactions.txt",
        ],
    );
    assert!(saved.contains("990001"), "{saved}");
    assert_eq!(
        sql(
            "node2",
            "SELECT COUNT(*) FROM shop.ha_writer WHERE n = 990001"
        ),
        "0"
    );
    let node1_set = sql("node1", "SELECT @@GLOBAL.gtid_executed").replace('\n', "");
    assert_eq!(
        sql(
            "node2",
            &format!("SELECT GTID_SUBTRACT(@@GLOBAL.gtid_executed, '{node1_set}')")
        ),
        ""
    );
    wait_until(
        "node2 to be super_read_only again",
        Duration::from_secs(20),
        || sql("node2", "SELECT @@GLOBAL.super_read_only") == "1",
    );

    // add-db on the running MySQL pair: the daemon's super_read_only is
    // lifted for the load only, and the new database replicates.
    sql(
        "node1",
        "CREATE DATABASE newdb; CREATE TABLE newdb.t (id INT PRIMARY KEY, v VARCHAR(20)); \
         INSERT INTO newdb.t VALUES (1, 'a'), (2, 'b')",
    );
    let out = tool_on_node1(&[
        "add-db",
        "newdb",
        "--yes",
        "--answers",
        "/root/answers.toml",
    ]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("START REPLICA UNTIL SQL_AFTER_GTIDS"),
        "{said}"
    );
    assert!(said.contains("CHANGE REPLICATION FILTER"), "{said}");
    sql("node1", "INSERT INTO newdb.t VALUES (3, 'c')");
    wait_until("newdb's new row on node2", Duration::from_secs(20), || {
        sql("node2", "SELECT COUNT(*) FROM newdb.t") == "3"
    });
    assert_eq!(sql("node2", "SELECT @@GLOBAL.super_read_only"), "1");
    let filters = sql(
        "node2",
        "SELECT FILTER_RULE FROM performance_schema.replication_applier_global_filters WHERE FILTER_NAME = 'REPLICATE_WILD_DO_TABLE'",
    );
    assert!(filters.contains("newdb.%"), "{filters}");
    assert!(!on(
        "node2",
        &[
            "test",
            "-e",
            "/var/lib/mysql-ha/cluster/super-read-only-lifted-until"
        ]
    )
    .status
    .success());

    // A table the slave lost stops its SQL thread. MySQL's replica status
    // names only the applier's coordinator; status reads the failing
    // worker's error and names the table and the resync that mends it.
    sql("node1", "CREATE TABLE shop.lost (id INT PRIMARY KEY)");
    wait_until("shop.lost on node2", Duration::from_secs(20), || {
        sql("node2", "SHOW TABLES FROM shop LIKE 'lost'") == "lost"
    });
    sql(
        "node2",
        "SET GLOBAL super_read_only = OFF; SET SESSION sql_log_bin = 0; \
         DROP TABLE shop.lost; SET GLOBAL super_read_only = ON",
    );
    sql("node1", "INSERT INTO shop.lost VALUES (1)");
    let sql_thread_stops = || {
        wait_until(
            "node2's SQL thread stopped",
            Duration::from_secs(20),
            || {
                sql(
                    "node2",
                    "SELECT SERVICE_STATE FROM performance_schema.replication_applier_status",
                ) == "OFF"
            },
        )
    };
    let rows_reach_node2 = |rows: &str| {
        wait_until("shop.lost's rows on node2", Duration::from_secs(20), || {
            sql("node2", "SELECT COUNT(*) FROM shop.lost") == rows
        })
    };
    sql_thread_stops();
    let status = on_ok(
        "node1",
        &[NODE_BIN, "status", "--answers", "/root/answers.toml"],
    );
    assert!(
        status.contains("replication stopped on shop.lost: copy it again with `mysql-ha resync shop.lost --answers /root/answers.toml`"),
        "{status}"
    );
    let out = tool_on_node1(&[
        "resync",
        "shop.lost",
        "--yes",
        "--answers",
        "/root/answers.toml",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    rows_reach_node2("1");
    // A statement for a database the slave does not replicate (a stored
    // procedure: no table filter applies to it) stops the slave too; with
    // GTIDs on, MySQL refuses a skip counter: status gives the empty
    // transaction under the failed one's GTID, and it works as given.
    sql(
        "node1",
        "SET SESSION sql_log_bin = 0; CREATE DATABASE elsewhere; SET SESSION sql_log_bin = 1; \
         CREATE PROCEDURE elsewhere.p() SELECT 1",
    );
    sql_thread_stops();
    let status = on_ok(
        "node1",
        &[
            NODE_BIN,
            "status",
            "--answers",
            "/root/answers.toml",
            "--json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&status).unwrap();
    fn suggestion(value: &serde_json::Value) -> Option<String> {
        match value {
            serde_json::Value::Object(map) => map
                .get("suggestion")
                .and_then(|s| s.as_str().map(str::to_string))
                .or_else(|| map.values().find_map(suggestion)),
            serde_json::Value::Array(items) => items.iter().find_map(suggestion),
            _ => None,
        }
    }
    let skip = suggestion(&report).unwrap_or_else(|| panic!("no suggestion in {status}"));
    assert!(
        skip.starts_with("STOP REPLICA; SET GTID_NEXT = '"),
        "{skip}"
    );
    sql("node2", &skip);
    sql("node1", "INSERT INTO shop.lost VALUES (2)");
    rows_reach_node2("2");
    assert_eq!(sql("node2", "SELECT @@GLOBAL.super_read_only"), "1");

    // check --consistency finds a row the slave lost, resync copies the
    // table again, and the check then finds every table equal.
    sql(
        "node2",
        "SET GLOBAL super_read_only = OFF; SET SESSION sql_log_bin = 0; \
         DELETE FROM shop.ha_writer ORDER BY n LIMIT 1; SET GLOBAL super_read_only = ON",
    );
    let out = tool_on_node1(&["check", "--consistency", "--answers", "/root/answers.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("shop.ha_writer"), "{}", text(&out));
    let out = tool_on_node1(&[
        "resync",
        "shop.ha_writer",
        "--yes",
        "--answers",
        "/root/answers.toml",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = tool_on_node1(&["check", "--consistency", "--answers", "/root/answers.toml"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("newdb.t "), "{}", text(&out));
    assert_eq!(sql("node2", "SELECT @@GLOBAL.super_read_only"), "1");
    println!(
        "MySQL {version}: {} acknowledged rows through takeover, rejoin and switchover, none lost; test took {:.0} s",
        acks.len(),
        started.elapsed().as_secs_f64()
    );
    mysql_ha(&["sandbox", "down"]);
}
