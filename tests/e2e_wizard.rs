//! The wizard for real, on the sandbox: the binary runs on node1 under a
//! real terminal (tmux inside the node), keys are typed, and the run ends
//! with replication verified; line mode through a pipe does the same; with
//! TERM=dumb the questions come as prompts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const ADMIN_PASSWORD: &str = "Admin-Pass-4e1f-right";

fn fresh_lab() {
    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up"]);
    install_binary("node1");
}

/// A terminal on node1: a tmux session running `command`.
struct Tmux {
    session: &'static str,
}

impl Tmux {
    fn start(session: &'static str, command: &str) -> Tmux {
        on_ok(
            "node1",
            &[
                "tmux",
                "new-session",
                "-d",
                "-s",
                session,
                "-x",
                "80",
                "-y",
                "24",
                command,
            ],
        );
        Tmux { session }
    }

    fn screen(&self) -> String {
        on_ok("node1", &["tmux", "capture-pane", "-p", "-t", self.session])
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            on_ok("node1", &["tmux", "send-keys", "-t", self.session, key]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Types text literally (no key names).
    fn text(&self, text: &str) {
        on_ok(
            "node1",
            &["tmux", "send-keys", "-l", "-t", self.session, text],
        );
        std::thread::sleep(Duration::from_millis(150));
    }

    fn wait_for(&self, needle: &str, seconds: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "`{needle}` did not appear within {seconds} s; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        on("node1", &["tmux", "kill-session", "-t", self.session]);
    }
}

fn assert_replicates_crm_and_shop() {
    on_ok(
        "node1",
        &[
            "mariadb",
            "-e",
            "INSERT INTO shop.customers VALUES (900002, 'wizard', 'w@example.com', NOW(), 'e2e'); INSERT INTO crm.contacts VALUES (900002, 'wizard co', '+1-555-0001', 'e2e')",
        ],
    );
    for query in [
        "SELECT COUNT(*) FROM shop.customers WHERE id = 900002",
        "SELECT COUNT(*) FROM crm.contacts WHERE id = 900002",
    ] {
        let deadline = Instant::now() + Duration::from_secs(15);
        while sql("node2", query) != "1" {
            assert!(Instant::now() < deadline, "not replicated: {query}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let hr = on(
        "node2",
        &["mariadb", "-e", "SELECT COUNT(*) FROM hr.employees"],
    );
    assert!(
        !hr.status.success(),
        "hr was not picked: it must not be on the slave"
    );
}

#[test]
fn full_screen_wizard_in_tmux_sets_up_replication() {
    let _lock = lock_sandbox();
    fresh_lab();
    // An admin account with a password on the master, so a wrong one can be typed.
    sql(
        "node1",
        &format!("CREATE USER 'admin'@'localhost' IDENTIFIED BY '{ADMIN_PASSWORD}'; GRANT ALL ON *.* TO 'admin'@'localhost' WITH GRANT OPTION"),
    );

    // TERM=dumb: the same questions come as prompts.
    {
        let dumb = Tmux::start("dumb", &format!("TERM=dumb {NODE_BIN} setup; sleep 600"));
        let screen = dumb.wait_for("Master address", 20);
        assert!(
            screen.contains("mysql-ha setup: using prompts: TERM is dumb"),
            "{screen}"
        );
        assert!(screen.contains("Master address [192.0.2.11]"), "{screen}");
        dumb.keys(&["C-c"]);
    }

    let tui = Tmux::start(
        "wiz",
        &format!("{NODE_BIN} setup --save-answers /root/saved.toml; echo EXIT=$?; sleep 600"),
    );
    let screen = tui.wait_for("Master address", 20);
    assert!(screen.contains("mysql-ha setup: Nodes"), "{screen}");
    assert!(
        screen.contains("192.0.2.11"),
        "the master defaults to this node:\n{screen}"
    );
    tui.keys(&["Enter", "Enter"]);
    tui.text("192.0.2.12");
    tui.keys(&["Enter", "Enter"]);
    tui.wait_for("Master admin user", 10);
    tui.keys(&["C-u"]);
    tui.text("admin");
    tui.keys(&["Enter"]);
    tui.text("a-wrong-password");
    tui.keys(&["Enter", "Enter", "Enter"]);
    let screen = tui.wait_for("Connection failed", 120);
    assert!(screen.contains("master.mysql_admin_password"), "{screen}");
    assert!(!screen.contains("a-wrong-password"), "{screen}");
    tui.keys(&["Enter"]); // Go back
    let screen = tui.wait_for("Admin credentials", 10);
    assert!(
        screen.contains("Master admin user      admin"),
        "answers kept:\n{screen}"
    );
    tui.text(ADMIN_PASSWORD);
    tui.keys(&["Enter", "Enter", "Enter"]);
    let screen = tui.wait_for("Connected:", 120);
    assert!(
        screen.contains("master 192.0.2.11: debian-12, MariaDB"),
        "{screen}"
    );
    assert!(
        screen.contains("slave 192.0.2.12: debian-12, MariaDB"),
        "{screen}"
    );
    // Replication: user, password, durability, encryption.
    tui.keys(&["Enter", "Enter", "Enter", "Enter"]);
    let screen = tui.wait_for("system schemas", 10);
    for db in ["crm", "hr", "shop", "web-stats"] {
        assert!(screen.contains(&format!("[ ] {db} ")), "{screen}");
    }
    assert!(
        !screen.contains("mysql "),
        "no system schema offered:\n{screen}"
    );
    tui.keys(&["Space", "Down", "Down", "Space", "Enter"]);
    tui.wait_for("Cluster manager", 10);
    // Defaults: our own daemon, no cluster address, no witness, the default
    // account, the default timings.
    tui.keys(&[
        "Enter", "Enter", "Enter", "Enter", "Enter", "Enter", "Enter", "Enter",
    ]);
    let screen = tui.wait_for("Plan: line", 180);
    assert!(!screen.contains(ADMIN_PASSWORD));
    tui.keys(&["Enter"]);
    let screen = tui.wait_for("Result", 600);
    assert!(
        screen.contains("Replication is running and verified."),
        "{screen}"
    );
    assert!(
        screen.contains("192.0.2.12 replicates crm, shop from 192.0.2.11"),
        "{screen}"
    );
    assert!(screen.contains("/var/lib/mysql-ha/runs/"), "{screen}");
    tui.keys(&["Enter"]);
    let screen = tui.wait_for("EXIT=", 20);
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        screen.contains("done: 192.0.2.12 replicates crm, shop"),
        "{screen}"
    );

    // The saved answers run `status` (and a next, unattended run) without secrets.
    let saved = on_ok("node1", &["cat", "/root/saved.toml"]);
    assert!(saved.contains("databases = [\"crm\", \"shop\"]"), "{saved}");
    assert!(saved.contains("mysql_admin_user = \"admin\""), "{saved}");
    assert!(!saved.contains(ADMIN_PASSWORD), "{saved}");
    assert_eq!(
        on_ok("node1", &["stat", "-c", "%a", "/root/saved.toml"]).trim(),
        "600"
    );
    on_ok(
        "node1",
        &[
            "sh",
            "-c",
            "sed -i 's/mysql_admin_user = \"admin\"/mysql_admin_user = \"root\"/' /root/saved.toml",
        ],
    );
    let status = on_ok(
        "node1",
        &[NODE_BIN, "status", "--answers", "/root/saved.toml"],
    );
    assert!(status.contains("io=Yes sql=Yes"), "{status}");
    assert!(status.contains("databases: crm, shop"), "{status}");
    assert_replicates_crm_and_shop();
}

#[test]
fn line_mode_through_a_pipe_sets_up_replication() {
    let _lock = lock_sandbox();
    fresh_lab();
    // Nodes (4), credentials (4), replication (4), databases, cluster
    // address (manager, kind, witness), account (2), timings (3), then the
    // confirmation.
    let answers =
        "\\n\\n192.0.2.12\\n\\n\\n\\n\\n\\n\\n\\n\\n\\ncrm,shop\\n\\n\\n\\n\\n\\n\\n\\n\\ny\\n";
    let out = on(
        "node1",
        &[
            "sh",
            "-c",
            &format!("printf '{answers}' | {NODE_BIN} setup --save-answers /root/saved.toml"),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("mysql-ha setup: using line mode: stdin is not a terminal\n"),
        "{text}"
    );
    assert!(
        text.contains("  master 192.0.2.11: debian-12, MariaDB"),
        "{text}"
    );
    assert!(
        text.contains("a strong replication password was generated (never printed"),
        "{text}"
    );
    assert!(
        text.contains("done: 192.0.2.12 replicates crm, shop from 192.0.2.11"),
        "{text}"
    );
    let status = on_ok(
        "node1",
        &[NODE_BIN, "status", "--answers", "/root/saved.toml"],
    );
    assert!(status.contains("io=Yes sql=Yes"), "{status}");
    assert_replicates_crm_and_shop();
}

#[test]
fn ctrl_c_during_apply_stops_at_a_safe_point() {
    let _lock = lock_sandbox();
    fresh_lab();
    let lab = std::fs::read(lab_answers()).unwrap();
    {
        use std::io::Write;
        let mut child = std::process::Command::new(BIN)
            .args(["sandbox", "exec", "node1", "--", "sh", "-c"])
            .arg("cat > /root/answers.toml")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&lab).unwrap();
        assert!(child.wait().unwrap().success());
    }
    let tui = Tmux::start(
        "stop",
        &format!("{NODE_BIN} setup --answers /root/answers.toml; echo EXIT=$?; sleep 600"),
    );
    tui.wait_for("Master address", 20);
    // Every answer comes from the file: Enter through the questions.
    tui.keys(&["Enter"; 8]);
    tui.wait_for("Connected:", 120);
    // user, password, durability, encryption
    tui.keys(&["Enter", "Enter", "Enter", "Enter"]);
    let screen = tui.wait_for("system schemas", 10);
    assert!(
        screen.contains("[x] shop "),
        "pre-filled from the answers:\n{screen}"
    );
    tui.keys(&["Enter"]);
    tui.wait_for("Cluster manager", 10);
    // manager, kind, address, device, arp, witness, account (2), timings (3)
    tui.keys(&["Enter"; 11]);
    tui.wait_for("Plan: line", 180);
    tui.keys(&["Enter", "C-c"]);
    let screen = tui.wait_for("Stop the run?", 10);
    assert!(screen.contains("[ Stop ]"), "{screen}");
    tui.keys(&["Right", "Enter"]);
    let screen = tui.wait_for("Result", 300);
    assert!(screen.contains("The run was stopped."), "{screen}");
    assert!(screen.contains("stopped on request before"), "{screen}");
    tui.keys(&["Enter"]);
    let screen = tui.wait_for("EXIT=", 20);
    assert!(screen.contains("EXIT=1"), "{screen}");
    // The first step was done whole; the slave was not touched.
    let slave_files = on_ok("node2", &["ls", "/etc/mysql/mariadb.conf.d/"]);
    assert!(!slave_files.contains("mysql-ha"), "{slave_files}");
    let runs = on_ok("node1", &["ls", "/var/lib/mysql-ha/runs/"]);
    assert_eq!(runs.lines().count(), 1, "one journaled run: {runs}");
}
