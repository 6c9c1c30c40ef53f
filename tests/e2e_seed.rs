//! Seeding methods on the sandbox, for real: a parallel logical copy and a
//! physical copy with mariadb-backup, each on a fresh lab, each proven by
//! equal checksums and a replicated row; the parallel copy also builds a
//! large table's secondary indexes after its rows, proven by equal
//! SHOW CREATE TABLE of every copied table on both nodes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const TABLES: [&str; 4] = [
    "shop.customers",
    "shop.orders",
    "crm.contacts",
    "`web-stats`.hits",
];

fn fresh_lab_with(seed: &str) {
    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up"]);
    install_binary("node1");
    let lab = std::fs::read_to_string(lab_answers()).unwrap();
    let answers = lab.replace(
        "seed = \"dump\"",
        &format!("seed = \"{seed}\"\nverify = \"checksum\""),
    );
    assert_ne!(answers, lab, "the lab's answers file changed shape");
    put_file("node1", "/root/answers.toml", answers.as_bytes(), "600");
}

/// Tables on node1 whose indexes the parallel copy builds after the rows
/// (over 16 MB of secondary indexes), beside one it must leave alone: a
/// foreign key references it. `reviews` keeps its UNIQUE key and its prefix
/// index (and so `title_words`, listed before the prefix index).
const LARGE_INDEXES: &str = "
USE shop;
CREATE TABLE shop.reviews (
  id INT PRIMARY KEY, customer_id INT NOT NULL, title VARCHAR(100) NOT NULL,
  body VARCHAR(255) NOT NULL, UNIQUE KEY title (title), KEY title_words (title, customer_id),
  KEY title_start (title(8)), KEY customer_id (customer_id), KEY body (body)) ENGINE=InnoDB;
INSERT INTO shop.reviews SELECT seq, 1 + seq % 1000, CONCAT('review ', seq),
  CONCAT(MD5(seq), REPEAT(SHA1(seq), 5)) FROM seq_1_to_60000;
CREATE TABLE crm.tags (
  id INT PRIMARY KEY, label VARCHAR(255) NOT NULL, KEY label (label)) ENGINE=InnoDB;
INSERT INTO crm.tags SELECT seq, CONCAT(SHA1(seq), REPEAT(MD5(seq), 6)) FROM seq_1_to_60000;
CREATE TABLE crm.tag_uses (
  tag_id INT NOT NULL, KEY tag_id (tag_id),
  CONSTRAINT uses_tag FOREIGN KEY (tag_id) REFERENCES crm.tags (id)) ENGINE=InnoDB;
INSERT INTO crm.tag_uses VALUES (1), (2);
ANALYZE TABLE shop.reviews, crm.tags, crm.tag_uses;
";

/// SHOW CREATE TABLE of every base table of the lab's replicated databases
/// on `host`, one line each.
fn table_definitions(host: &str) -> Vec<String> {
    let tables = sql(
        "node1",
        "SELECT CONCAT('`', TABLE_SCHEMA, '`.`', TABLE_NAME, '`') FROM information_schema.TABLES \
         WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN ('shop', 'crm', 'web-stats') ORDER BY 1",
    );
    tables
        .lines()
        .map(|table| sql(host, &format!("SHOW CREATE TABLE {table}")))
        .collect()
}

fn assert_copied_and_replicating() {
    assert_eq!(
        checksums("node1", &TABLES),
        checksums("node2", &TABLES),
        "the slave's tables differ from the master's"
    );
    assert_replicating();
}

fn assert_replicating() {
    on_ok(
        "node1",
        &[
            "mariadb",
            "-e",
            "INSERT INTO shop.orders VALUES (990001, 1, 1.00, NOW(), 'e2e seed')",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while sql(
        "node2",
        "SELECT COUNT(*) FROM shop.orders WHERE id = 990001",
    ) != "1"
    {
        assert!(
            Instant::now() < deadline,
            "a row written on the master did not reach the slave"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn parallel_then_physical_copy() {
    let _lock = lock_sandbox();

    // --- parallel: schema, row streams of one snapshot, then triggers ---
    fresh_lab_with("parallel");
    on_ok(
        "node1",
        &[
            "mariadb",
            "-e",
            "CREATE TRIGGER shop.note_check BEFORE INSERT ON shop.orders FOR EACH ROW SET NEW.items = NEW.items",
        ],
    );
    on_ok("node1", &["mariadb", "-e", LARGE_INDEXES]);
    let dry = on(
        "node1",
        &[
            NODE_BIN,
            "setup",
            "--answers",
            "/root/answers.toml",
            "--dry-run",
        ],
    );
    assert!(dry.status.success(), "{}", text(&dry));
    let plan = text(&dry);
    assert!(plan.contains("method parallel (asked for)"), "{plan}");
    assert!(plan.contains("--no-create-info"), "{plan}");
    // shop.reviews and crm.tags are over 24 MB: copied in key-range chunks,
    // which the checksums below prove add up to the whole tables.
    let chunks = plan
        .lines()
        .filter(|l| {
            l.contains("--where=") && (l.contains(" shop reviews") || l.contains(" crm tags"))
        })
        .count();
    assert!(
        chunks >= 4,
        "expected chunked dumps of the large tables:\n{plan}"
    );
    assert!(
        plan.contains("2 secondary indexes on 1 tables built after the load")
            && plan.contains(
                "ALTER TABLE `shop`.`reviews` DROP INDEX `customer_id`, DROP INDEX `body`   (on the empty table)"
            )
            && plan.contains(
                "ALTER TABLE `shop`.`reviews` ADD KEY `customer_id` (`customer_id`), ADD KEY `body` (`body`)   (once the rows are in)"
            ),
        "{plan}"
    );
    assert!(
        !plan.contains("`crm`.`tags` ADD") && !plan.contains("`shop`.`orders` ADD"),
        "a referenced table and one with small indexes keep theirs: {plan}"
    );
    let output = setup_on_node1();
    assert!(
        output.contains("(parallel)") && output.contains("row counts and checksums equal"),
        "{output}"
    );
    assert!(
        output.contains("building 2 secondary indexes on 1 tables")
            && output.contains("each table's SHOW CREATE TABLE equals the master's"),
        "{output}"
    );
    let definitions = table_definitions("node1");
    assert_eq!(definitions.len(), 7, "{definitions:?}");
    assert_eq!(
        table_definitions("node2"),
        definitions,
        "a copied table's definition differs on the slave"
    );
    assert!(
        definitions
            .iter()
            .any(|d| d.contains("KEY `title_start` (`title`(8)),\\n  KEY `customer_id` (`customer_id`),\\n  KEY `body` (`body`)")),
        "{definitions:?}"
    );
    let mut copied = TABLES.to_vec();
    copied.extend(["shop.reviews", "crm.tags", "crm.tag_uses"]);
    assert_eq!(
        checksums("node1", &copied),
        checksums("node2", &copied),
        "the slave's tables differ from the master's"
    );
    assert_replicating();
    assert_eq!(
        sql(
            "node2",
            "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'shop'"
        ),
        "1",
        "the trigger came after the rows"
    );

    // --- backup: the whole instance, then the slave's own accounts back ---
    fresh_lab_with("backup");
    on_ok(
        "node2",
        &[
            "mariadb",
            "-e",
            "CREATE USER 'slave_only'@'localhost' IDENTIFIED BY 'x-Only-On-Slave-1'",
        ],
    );
    let output = setup_on_node1();
    assert!(output.contains("(backup)"), "{output}");
    // One restart of the slave: the copy's start reads its new settings.
    assert!(
        output.contains("no restart here: `seed the slave` stops the server"),
        "{output}"
    );
    assert_eq!(
        sql(
            "node2",
            "SELECT CONCAT(@@server_id, ' ', @@read_only, ' ', @@log_slave_updates)"
        ),
        "2 ON ON",
        "the slave runs with its new settings"
    );
    assert!(
        output.contains("row counts and checksums equal")
            || output.contains("mariadb-backup's page checks"),
        "{output}"
    );
    assert_copied_and_replicating();
    assert_eq!(
        sql(
            "node2",
            "SELECT COUNT(*) FROM mysql.user WHERE User = 'slave_only'"
        ),
        "1",
        "the slave's own account was put back"
    );
    let hr = on(
        "node2",
        &["mariadb", "-e", "SELECT COUNT(*) FROM hr.employees"],
    );
    assert!(
        !hr.status.success(),
        "hr was not chosen: it must not stay on the slave"
    );
    let kept = on_ok(
        "node2",
        &["sh", "-c", "ls -d /var/lib/mysql-ha/runs/*/datadir.before"],
    );
    assert!(kept.contains("datadir.before"), "{kept}");

    // --- rollback: the slave's own datadir back, the copy set aside ---
    let run_id = kept
        .trim()
        .strip_prefix("/var/lib/mysql-ha/runs/")
        .and_then(|rest| rest.strip_suffix("/datadir.before"))
        .unwrap()
        .to_string();
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
        undone.contains("holds the server's own data again"),
        "{undone}"
    );
    assert_eq!(
        sql(
            "node2",
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('shop', 'crm', 'web-stats')"
        ),
        "0",
        "the seeded databases are gone from the slave's own datadir"
    );
    assert_eq!(
        sql(
            "node2",
            "SELECT COUNT(*) FROM mysql.user WHERE User = 'slave_only'"
        ),
        "1",
        "the slave's own account is in its own datadir"
    );
    assert_eq!(sql("node2", "SHOW SLAVE STATUS"), "");
    assert_eq!(
        sql("node2", "SELECT @@read_only"),
        "0",
        "the slave's server reads its restored configuration"
    );
    let set_aside = on_ok(
        "node2",
        &[
            "sh",
            "-c",
            &format!("ls -d /var/lib/mysql-ha/runs/{run_id}/datadir.rolled-back/shop"),
        ],
    );
    assert!(set_aside.contains("datadir.rolled-back"), "{set_aside}");

    // --- a run killed while the slave's server is down for the copy ---
    fresh_lab_with("backup");
    install_binary("node2");
    let pid = on_ok(
        "node1",
        &[
            "sh",
            "-c",
            &format!("{NODE_BIN} setup --answers /root/answers.toml --yes > /tmp/killed.out 2>&1 & echo $!"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    while on("node2", &["mariadb-admin", "ping"]).status.success() {
        assert!(
            Instant::now() < deadline,
            "the slave's server was never stopped for the copy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    on_ok("node1", &["kill", "-9", pid.trim()]);
    // What was running on the slave when the tool died finishes alone.
    std::thread::sleep(Duration::from_secs(3));
    let run_id = on_ok("node2", &["ls", "/var/lib/mysql-ha/runs"]);
    let undone = on("node2", &[NODE_BIN, "rollback", run_id.trim(), "--yes"]);
    assert!(undone.status.success(), "{}", text(&undone));
    let undone = text(&undone);
    // Killed with the server down: rollback starts it; killed once the
    // start on the copy had begun: rollback swaps the datadir back.
    assert!(
        undone.contains("(the server was down): started it")
            || undone.contains("the server was restarted"),
        "{undone}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !on("node2", &["mariadb-admin", "ping"]).status.success() {
        assert!(
            Instant::now() < deadline,
            "rollback left the slave's server down:\n{undone}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        sql(
            "node2",
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('shop', 'crm', 'web-stats')"
        ),
        "0",
        "the slave runs on its own datadir after the rollback:\n{undone}"
    );
    assert_eq!(
        sql("node2", "SELECT @@read_only"),
        "0",
        "the slave's server reads its restored configuration:\n{undone}"
    );
    mysql_ha(&["sandbox", "down"]);
}
