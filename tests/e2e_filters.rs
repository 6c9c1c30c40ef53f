//! The slave's filters on the sandbox, for real: every statement kind an
//! administrator types into a chosen database reaches the slave, typed
//! without `USE` and after `USE` of a database that is not replicated;
//! nothing of the other databases does, and replication never stops. Then
//! a cluster with the `replicate-do-db` lines of older runs is converted by
//! a re-run of setup and by add-db, and each conversion is rolled back.
//! One setup for the whole file (each costs 15-20 s).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;

const CHOSEN: [&str; 3] = ["shop", "crm", "web-stats"];
const DROPIN: &str = "/etc/mysql/mariadb.conf.d/60-mysql-ha.cnf";

fn tool_on_node1(args: &[&str]) -> String {
    let mut argv = vec![NODE_BIN];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--answers", "/root/answers.toml", "--yes"]);
    let out = on("node1", &argv);
    assert!(
        out.status.success(),
        "mysql-ha {} failed:\n{}",
        args.join(" "),
        text(&out)
    );
    text(&out)
}

/// The statements of one round; `n` keeps the rounds' names apart. Every
/// name is qualified: the session's default database is whatever the
/// round's prefix made it.
fn statements(n: u32) -> Vec<String> {
    [
        // Tables: create, fill, alter, index, copy the shape, rename,
        // truncate, drop.
        "CREATE TABLE shop.t{n} (id INT PRIMARY KEY, v INT)",
        "INSERT INTO shop.t{n} VALUES (1, 1), (2, 2), (3, 3)",
        "ALTER TABLE shop.t{n} ADD COLUMN w INT DEFAULT 7",
        "CREATE INDEX iv ON shop.t{n} (v)",
        "CREATE TABLE shop.l{n} LIKE shop.t{n}",
        "INSERT INTO shop.l{n} SELECT * FROM shop.t{n}",
        "RENAME TABLE shop.l{n} TO shop.r{n}",
        "ALTER TABLE shop.r{n} RENAME TO shop.s{n}",
        "TRUNCATE TABLE shop.s{n}",
        "INSERT INTO shop.s{n} VALUES (5, 5, 5)",
        "CREATE TABLE `web-stats`.d{n} (id INT PRIMARY KEY)",
        "DROP TABLE `web-stats`.d{n}",
        // Triggers (their writes reach the slave as rows).
        "CREATE TABLE shop.log{n} (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(20))",
        "CREATE TRIGGER shop.tr{n} AFTER INSERT ON shop.t{n} FOR EACH ROW INSERT INTO shop.log{n} (what) VALUES ('trigger')",
        "INSERT INTO shop.t{n} VALUES (4, 4, 4)",
        "CREATE TRIGGER shop.gone{n} BEFORE UPDATE ON shop.t{n} FOR EACH ROW SET NEW.w = NEW.w",
        "DROP TRIGGER shop.gone{n}",
        // Views.
        "CREATE VIEW shop.v{n} AS SELECT id, v FROM shop.t{n}",
        "CREATE OR REPLACE VIEW shop.v{n} AS SELECT id, v, w FROM shop.t{n}",
        "ALTER VIEW shop.v{n} AS SELECT id, w FROM shop.t{n}",
        "CREATE VIEW crm.gone{n} AS SELECT 1 AS one",
        "DROP VIEW crm.gone{n}",
        // Stored routines and events.
        "CREATE PROCEDURE shop.p{n}() INSERT INTO shop.log{n} (what) VALUES ('procedure')",
        "CALL shop.p{n}()",
        "CREATE FUNCTION shop.f{n}(x INT) RETURNS INT DETERMINISTIC RETURN x + 1",
        "INSERT INTO shop.log{n} (what) VALUES (shop.f{n}(1))",
        "CREATE PROCEDURE crm.gone{n}() SELECT 1",
        "DROP PROCEDURE crm.gone{n}",
        "CREATE EVENT shop.e{n} ON SCHEDULE EVERY 1 DAY DISABLE DO INSERT INTO shop.log{n} (what) VALUES ('event')",
        "ALTER EVENT shop.e{n} COMMENT 'changed'",
        // Statements joining a chosen and another database.
        "CREATE TABLE hr.src{n} (id INT PRIMARY KEY, v INT)",
        "INSERT INTO hr.src{n} VALUES (1, 100), (2, 200), (9, 900)",
        "INSERT INTO shop.t{n} (id, v) SELECT id + 100, v FROM hr.src{n}",
        "UPDATE shop.t{n} JOIN hr.src{n} ON shop.t{n}.id = hr.src{n}.id SET shop.t{n}.v = hr.src{n}.v, hr.src{n}.v = 0",
        "DELETE shop.t{n} FROM shop.t{n} JOIN hr.src{n} ON shop.t{n}.id = hr.src{n}.id - 5",
        "CREATE TABLE shop.c{n} AS SELECT * FROM hr.src{n}",
        "CREATE TABLE hr.c{n} AS SELECT * FROM shop.t{n}",
        // The database that is not replicated: tables, views, triggers.
        "CREATE VIEW hr.hv{n} AS SELECT * FROM hr.src{n}",
        "CREATE TRIGGER hr.htr{n} BEFORE INSERT ON hr.src{n} FOR EACH ROW SET NEW.v = NEW.v + 1",
        "INSERT INTO hr.src{n} VALUES (3, 300)",
        "ALTER TABLE hr.src{n} ADD COLUMN z INT",
        "RENAME TABLE hr.c{n} TO hr.d{n}",
        "TRUNCATE TABLE hr.d{n}",
        // A new database that is not replicated.
        "CREATE DATABASE other{n}",
        "CREATE TABLE other{n}.x (id INT PRIMARY KEY)",
        "INSERT INTO other{n}.x VALUES (1)",
        "CREATE VIEW other{n}.v AS SELECT * FROM other{n}.x",
        "ALTER DATABASE other{n} COMMENT 'not replicated'",
    ]
    .iter()
    .map(|s| s.replace("{n}", &n.to_string()))
    .collect()
}

/// Waits until node2 applied everything node1 logged; panics with the
/// slave's status when it stopped or fell behind.
fn synced() {
    let position = sql("node1", "SELECT @@GLOBAL.gtid_binlog_pos");
    let waited = sql(
        "node2",
        &format!("SELECT MASTER_GTID_WAIT('{position}', 30)"),
    );
    let status = on_ok("node2", &["mariadb", "-e", "SHOW SLAVE STATUS\\G"]);
    if waited != "0" {
        // What the daemons did meanwhile (a stopped I/O thread was seen once
        // with no error of its own).
        let tail = |host: &str| {
            let log = daemon_log(host);
            let lines: Vec<&str> = log.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        panic!(
            "node2 did not reach {position}:\n{status}\n--- node2's daemon:\n{}\n--- node1's daemon:\n{}",
            tail("node2"),
            tail("node1")
        );
    }
    for thread in ["Slave_IO_Running: Yes", "Slave_SQL_Running: Yes"] {
        assert!(status.contains(thread), "{thread} expected:\n{status}");
    }
}

fn in_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every object of the chosen databases, and the checksum of every table.
fn chosen_state(host: &str) -> String {
    let list = in_list(&CHOSEN);
    let objects = sql(
        host,
        &format!(
            "SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME, ' ', TABLE_TYPE) FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({list}) \
             UNION ALL SELECT CONCAT(TRIGGER_SCHEMA, '.', TRIGGER_NAME, ' trigger') FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN ({list}) \
             UNION ALL SELECT CONCAT(ROUTINE_SCHEMA, '.', ROUTINE_NAME, ' ', ROUTINE_TYPE) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN ({list}) \
             UNION ALL SELECT CONCAT(EVENT_SCHEMA, '.', EVENT_NAME, ' event ', EVENT_COMMENT) FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN ({list}) \
             ORDER BY 1"
        ),
    );
    let views = sql(
        host,
        &format!(
            "SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME, ' ', VIEW_DEFINITION) FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN ({list}) ORDER BY 1"
        ),
    );
    let tables: Vec<String> = sql(
        host,
        &format!(
            "SELECT CONCAT('`', TABLE_SCHEMA, '`.`', TABLE_NAME, '`') FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({list}) AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1"
        ),
    )
    .lines()
    .map(str::to_string)
    .collect();
    let refs: Vec<&str> = tables.iter().map(String::as_str).collect();
    format!("{objects}\n---\n{views}\n---\n{}", checksums(host, &refs))
}

/// Tables and views node2 holds outside the chosen databases (none may be).
fn foreign_tables_on_node2() -> String {
    let known = in_list(&[
        "shop",
        "crm",
        "web-stats",
        "mysql",
        "information_schema",
        "performance_schema",
        "sys",
        "mysql_ha",
    ]);
    sql(
        "node2",
        &format!(
            "SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN ({known})"
        ),
    )
}

fn assert_pair_equal(when: &str) {
    synced();
    let (master, slave) = (chosen_state("node1"), chosen_state("node2"));
    assert_eq!(master, slave, "{when}: the chosen databases differ");
    assert_eq!(
        foreign_tables_on_node2(),
        "",
        "{when}: node2 holds tables of a database that is not replicated"
    );
}

fn filters_of_node2() -> String {
    sql(
        "node2",
        "SELECT CONCAT('do-db=', @@GLOBAL.replicate_do_db, ' wild=', @@GLOBAL.replicate_wild_do_table)",
    )
}

/// Turns node2 into a slave of an older version: `replicate-do-db` lines
/// instead of the patterns, read at a restart.
fn make_old_style_filters() {
    on_ok(
        "node2",
        &[
            "sed",
            "-i",
            "-E",
            r#"s/^replicate-wild-do-table = "?([^"]*)\.%"?.*/replicate-do-db = \1/"#,
            DROPIN,
        ],
    );
    on_ok("node2", &["/etc/init.d/mariadb", "restart"]);
    wait_until("node2's server back", Duration::from_secs(30), || {
        on("node2", &["mariadb", "-e", "SELECT 1"]).status.success()
    });
    assert_eq!(filters_of_node2(), "do-db=shop,crm,web-stats wild=");
    on_ok("node2", &["mariadb", "-e", "START SLAVE"]);
}

fn dropin_filter_lines() -> String {
    on_ok(
        "node2",
        &["grep", "-E", "replicate-(do-db|wild-do-table)", DROPIN],
    )
}

#[test]
fn every_statement_kind_replicates_and_old_filters_are_converted() {
    let _lock = lock_sandbox();
    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up"]);
    install_binary("node1");
    let answers = std::fs::read(lab_answers()).unwrap();
    put_file("node1", "/root/answers.toml", &answers, "600");
    // A database that is not chosen and holds a routine: preflight warns.
    sql(
        "node1",
        "CREATE PROCEDURE hr.report() SELECT COUNT(*) FROM hr.employees",
    );

    let dry = on(
        "node1",
        &[
            NODE_BIN,
            "setup",
            "--answers",
            "/root/answers.toml",
            "--yes",
            "--dry-run",
        ],
    );
    assert!(dry.status.success(), "{}", text(&dry));
    let plan = text(&dry);
    for expected in [
        "+replicate-wild-do-table = \"shop.%\"",
        "+replicate-wild-do-table = \"web-stats.%\"",
        "filters: replicate-wild-do-table = DB.% judges each statement by the tables it writes",
        "hr not replicated but holding stored routines or events",
    ] {
        assert!(plan.contains(expected), "plan lacks {expected:?}:\n{plan}");
    }
    assert!(!plan.contains("+replicate-do-db"), "{plan}");
    setup_on_node1();
    assert_eq!(filters_of_node2(), "do-db= wild=shop.%,crm.%,web-stats.%");

    // Each round: every statement kind, typed with no default database,
    // then after `USE hr` (a database that is not replicated).
    for (n, prefix) in [(1, ""), (2, "USE hr; ")] {
        for statement in statements(n) {
            let out = on("node1", &["mariadb", "-e", &format!("{prefix}{statement}")]);
            assert!(
                out.status.success(),
                "on node1: {prefix}{statement}\n{}",
                text(&out)
            );
        }
        assert_pair_equal(&format!("round {n} ({prefix:?})"));
    }
    // A replicated database dropped and made again, without USE.
    sql(
        "node1",
        "DROP DATABASE crm; CREATE DATABASE crm; CREATE TABLE crm.fresh (id INT PRIMARY KEY); INSERT INTO crm.fresh VALUES (1)",
    );
    assert_pair_equal("crm made again");
    assert_eq!(sql("node2", "SELECT id FROM crm.fresh"), "1");
    let logged = sql("node1", "SELECT COUNT(*) FROM shop.log1");
    assert!(logged.parse::<u32>().unwrap() >= 3, "{logged}");
    assert_eq!(sql("node2", "SELECT COUNT(*) FROM shop.log1"), logged);
    assert_eq!(
        sql("node2", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('hr', 'other1', 'other2')"),
        "0"
    );

    // check --consistency while a writer keeps changing shop.orders: every
    // table equal (both nodes read at the same point of history).
    on_ok("node1", &["rm", "-f", "/tmp/stop-writer"]);
    let writer = "i=0; while [ ! -e /tmp/stop-writer ]; do i=$((i+1)); \
        mariadb -e \"INSERT INTO shop.orders VALUES (7000000+$i, 1, 9.99, NOW(), 'writer'); \
        UPDATE shop.orders SET total = total + 1 WHERE id = 1\"; done";
    let mut writer = std::process::Command::new(BIN)
        .args(["sandbox", "exec", "node1", "--", "sh", "-c", writer])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let check = on(
        "node1",
        &[
            NODE_BIN,
            "check",
            "--consistency",
            "--answers",
            "/root/answers.toml",
            "--chunk-rows",
            "100",
            "--json",
        ],
    );
    on_ok("node1", &["touch", "/tmp/stop-writer"]);
    writer.wait().unwrap();
    assert!(check.status.success(), "{}", text(&check));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let tables = report["tables"].as_array().unwrap();
    assert!(tables.len() >= 10, "{report}");
    let orders = tables
        .iter()
        .find(|t| t["database"] == "shop" && t["table"] == "orders")
        .unwrap();
    assert!(orders["chunks"].as_u64().unwrap() > 10, "{orders}");
    for table in tables {
        assert_eq!(table["verdict"], "equal", "{table}");
        assert_eq!(table["master_rows"], table["slave_rows"], "{table}");
    }
    let writes = sql(
        "node1",
        "SELECT COUNT(*) FROM shop.orders WHERE id > 7000000",
    );
    assert!(
        writes.parse::<u32>().unwrap() > 5,
        "the writer wrote {writes} rows"
    );

    // A row changed on the slave behind replication's back, and a table
    // the slave lacks: found, with the key range, exit code 2.
    let before = sql("node2", "SELECT items FROM shop.orders WHERE id = 700");
    sql(
        "node2",
        "SET SESSION sql_log_bin = 0; UPDATE shop.orders SET items = 'planted' WHERE id = 700",
    );
    sql(
        "node1",
        "SET SESSION sql_log_bin = 0; CREATE TABLE crm.only_here (id INT PRIMARY KEY); INSERT INTO crm.only_here VALUES (1)",
    );
    sql(
        "node2",
        "SET SESSION sql_log_bin = 0; CREATE TABLE crm.only_there (id INT PRIMARY KEY); INSERT INTO crm.only_there VALUES (1), (2)",
    );
    let check = on(
        "node1",
        &[
            NODE_BIN,
            "check",
            "--consistency",
            "--answers",
            "/root/answers.toml",
            "--databases",
            "shop,crm",
            "--chunk-rows",
            "100",
        ],
    );
    let out = text(&check);
    assert_eq!(check.status.code(), Some(2), "{out}");
    assert!(
        out.contains("first difference where (`id`) > ('600') AND (`id`) <= ('700')"),
        "{out}"
    );
    assert!(out.contains("crm.only_here"), "{out}");
    assert!(out.contains("MISSING on the slave"), "{out}");
    assert!(out.contains("crm.only_there"), "{out}");
    assert!(out.contains("EXTRA on the slave"), "{out}");
    assert!(out.contains("3 table(s) differ"), "{out}");
    assert!(!out.contains("web-stats"), "{out}");
    // A table the slave lost: its SQL thread stops on the next row, and
    // status names the table and the command that mends it.
    sql("node2", "SET SESSION sql_log_bin = 0; DROP TABLE shop.s1");
    sql("node1", "INSERT INTO shop.s1 VALUES (6, 6, 6)");
    wait_until(
        "node2's SQL thread stopped",
        Duration::from_secs(20),
        || sql("node2", "SHOW SLAVE STATUS").contains("shop.s1"),
    );
    let status = on_ok(
        "node1",
        &[NODE_BIN, "status", "--answers", "/root/answers.toml"],
    );
    assert!(
        status.contains("replication stopped on shop.s1: copy it again with `mysql-ha resync shop.s1 --answers /root/answers.toml`"),
        "{status}"
    );
    // node2's daemon said so, with the server's error, and would not be
    // promoted over it.
    wait_until(
        "node2's daemon to report the broken replication",
        Duration::from_secs(10),
        || {
            daemon_log("node2")
                .lines()
                .any(|l| l.contains("replication-broken") && l.contains("shop.s1"))
        },
    );

    // resync mends them while the rest keeps replicating, and proves it
    // with the consistency check: single tables, then a whole database.
    // A writer keeps writing into a table being copied and into another
    // database the whole time.
    on_ok("node1", &["rm", "-f", "/tmp/stop-writer"]);
    let writer = "i=0; while [ ! -e /tmp/stop-writer ]; do i=$((i+1)); \
        mariadb -e \"INSERT INTO shop.orders VALUES (7500000+$i, 1, 1.00, NOW(), 'during resync'); \
        INSERT INTO \\`web-stats\\`.hits VALUES (7500000+$i, '/during', NOW(), 'resync')\"; done";
    let mut writer = std::process::Command::new(BIN)
        .args(["sandbox", "exec", "node1", "--", "sh", "-c", writer])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let running_before = daemon_log("node2").matches("replication-running").count();
    let tables = tool_on_node1(&["resync", "shop.s1", "shop.orders"]);
    wait_until(
        "node2's daemon to see replication running again",
        Duration::from_secs(10),
        || daemon_log("node2").matches("replication-running").count() > running_before,
    );
    std::thread::sleep(Duration::from_secs(1));
    on_ok("node1", &["touch", "/tmp/stop-writer"]);
    writer.wait().unwrap();
    let during = sql(
        "node1",
        "SELECT COUNT(*) FROM `web-stats`.hits WHERE id > 7500000",
    );
    assert!(
        during.parse::<u32>().unwrap() > 5,
        "the writer wrote {during} rows"
    );
    synced();
    let copied = ["shop.orders", "shop.s1", "`web-stats`.hits"];
    assert_eq!(
        checksums("node1", &copied),
        checksums("node2", &copied),
        "after resync of single tables under writes"
    );
    for expected in [
        "DROP TABLE IF EXISTS `shop`.`s1`",
        "SET GLOBAL replicate_ignore_table = 'shop.s1,shop.orders'",
        "tables equal",
        "done: shop.s1, shop.orders copied again",
    ] {
        assert!(tables.contains(expected), "{expected:?}:\n{tables}");
    }
    assert_eq!(sql("node2", "SELECT @@GLOBAL.replicate_ignore_table"), "");
    let resync = tool_on_node1(&["resync", "crm"]);
    assert!(resync.contains("DROP DATABASE IF EXISTS `crm`"), "{resync}");
    assert!(resync.contains("tables equal"), "{resync}");
    assert!(resync.contains("done: crm copied again"), "{resync}");
    assert_eq!(
        sql("node2", "SELECT items FROM shop.orders WHERE id = 700"),
        before
    );
    assert_eq!(sql("node2", "SELECT COUNT(*) FROM crm.only_here"), "1");
    sql(
        "node1",
        "INSERT INTO `web-stats`.hits VALUES (9000001, '/after', NOW(), 'resync')",
    );
    assert_pair_equal("after resync");
    // Its rollback keeps replication as it is and says what it cannot undo.
    let resync_run = resync
        .rsplit("(run ")
        .next()
        .and_then(|rest| rest.split(')').next())
        .unwrap()
        .to_string();
    let undone = tool_on_node1(&["rollback", &resync_run]);
    assert!(
        undone.contains("not undone: DROP DATABASE IF EXISTS `crm`"),
        "{undone}"
    );
    assert_eq!(filters_of_node2(), "do-db= wild=shop.%,crm.%,web-stats.%");
    assert_pair_equal("after the rollback of resync");
    let check = on(
        "node1",
        &[
            NODE_BIN,
            "check",
            "--consistency",
            "--answers",
            "/root/answers.toml",
        ],
    );
    assert!(check.status.success(), "{}", text(&check));

    // What no filter can skip (docs/guide.md): a stored routine in a
    // database that is not replicated stops the slave (1049); status says
    // so and how to skip it, and the documented skip mends it.
    sql("node1", "CREATE PROCEDURE other1.report() SELECT 1");
    wait_until(
        "node2's SQL thread stopped",
        Duration::from_secs(20),
        || sql("node2", "SHOW SLAVE STATUS").contains("Unknown database 'other1'"),
    );
    let status = on_ok(
        "node1",
        &[NODE_BIN, "status", "--answers", "/root/answers.toml"],
    );
    assert!(
        status.contains("replication stopped on a statement for other1, which is not replicated"),
        "{status}"
    );
    assert!(
        status.contains("`STOP SLAVE; SET GLOBAL sql_slave_skip_counter = 1; START SLAVE;`"),
        "{status}"
    );
    sql(
        "node2",
        "STOP SLAVE; SET GLOBAL sql_slave_skip_counter = 1; START SLAVE",
    );
    assert_pair_equal("after skipping the routine of other1");

    // A cluster made by an older version: a re-run of setup converts it.
    make_old_style_filters();
    let rerun = tool_on_node1(&["setup"]);
    assert!(
        rerun.contains("commented out: replaced by replicate-wild-do-table = shop.%"),
        "{rerun}"
    );
    let lines = dropin_filter_lines();
    assert_eq!(
        lines
            .lines()
            .filter(|l| l.starts_with("replicate-wild-do-table"))
            .count(),
        3,
        "{lines}"
    );
    assert_eq!(lines.matches("#replicate-do-db = ").count(), 3, "{lines}");
    assert_eq!(filters_of_node2(), "do-db= wild=shop.%,crm.%,web-stats.%");
    sql(
        "node1",
        "CREATE TABLE shop.after_rerun (id INT PRIMARY KEY); INSERT INTO shop.after_rerun VALUES (1)",
    );
    assert_pair_equal("after the converting re-run");

    // Its rollback puts the old lines back (and the server reads them).
    let undone = tool_on_node1(&["rollback", &run_id_of(&rerun)]);
    assert!(undone.contains("restarted the server"), "{undone}");
    wait_until("node2's server back", Duration::from_secs(30), || {
        on("node2", &["mariadb", "-e", "SELECT 1"]).status.success()
    });
    assert_eq!(filters_of_node2(), "do-db=shop,crm,web-stats wild=");
    assert!(
        !dropin_filter_lines().contains("wild"),
        "{}",
        dropin_filter_lines()
    );

    // add-db on such a cluster converts it at run time, without a restart.
    on_ok("node2", &["mariadb", "-e", "START SLAVE"]);
    let added = tool_on_node1(&["add-db", "hr"]);
    assert!(added.contains("to add: hr"), "{added}");
    assert_eq!(
        filters_of_node2(),
        "do-db= wild=shop.%,crm.%,web-stats.%,hr.%"
    );
    let lines = dropin_filter_lines();
    assert_eq!(lines.matches("#replicate-do-db = ").count(), 3, "{lines}");
    assert!(
        lines.contains("replicate-wild-do-table = \"hr.%\""),
        "{lines}"
    );
    sql(
        "node1",
        "CREATE TABLE hr.after_add (id INT PRIMARY KEY); INSERT INTO hr.after_add VALUES (1)",
    );
    synced();
    assert_eq!(sql("node2", "SELECT id FROM hr.after_add"), "1");

    // Its rollback puts the running filters back as they were.
    let undone = tool_on_node1(&["rollback", &run_id_of(&added)]);
    assert!(
        undone.contains("(by STOP SLAVE; SET GLOBAL replicate_do_db = 'shop,crm,web-stats'; SET GLOBAL replicate_wild_do_table = ''; START SLAVE)"),
        "{undone}"
    );
    wait_until("node2's server back", Duration::from_secs(30), || {
        on("node2", &["mariadb", "-e", "SELECT 1"]).status.success()
    });
    assert_eq!(filters_of_node2(), "do-db=shop,crm,web-stats wild=");
}
