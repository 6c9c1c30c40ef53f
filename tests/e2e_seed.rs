//! Seeding methods on the sandbox, for real: a parallel logical copy and a
//! physical copy with mariadb-backup, each on a fresh lab, each proven by
//! equal checksums and a replicated row.
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

fn assert_copied_and_replicating() {
    assert_eq!(
        checksums("node1", &TABLES),
        checksums("node2", &TABLES),
        "the slave's tables differ from the master's"
    );
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
    let output = setup_on_node1();
    assert!(
        output.contains("(parallel)") && output.contains("row counts and checksums equal"),
        "{output}"
    );
    assert_copied_and_replicating();
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
    mysql_ha(&["sandbox", "down"]);
}
