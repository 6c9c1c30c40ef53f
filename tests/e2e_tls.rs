//! Encrypted replication (issue 18): a pair set up in plain text is moved
//! onto TLS by a re-run, with a packet capture on the lab's bridge that
//! never shows a replicated row, the setup's canary or the table names;
//! the replication and monitor accounts refuse a plain-text login with the
//! right password and accept a verified TLS one; a re-run renews the
//! certificates (FLUSH SSL, no restart) and replication reconnects; no CA
//! key is left anywhere. One lab for the whole binary: CI time matters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const MARKER: &str = "tls-probe-row-7f3a9c";

fn answers_with_tls(mode: Option<&str>) -> Vec<u8> {
    let text = std::fs::read_to_string(lab_answers()).unwrap();
    let text = match mode {
        Some(mode) => text.replacen(
            "[replication]\n",
            &format!("[replication]\ntls = \"{mode}\"\n"),
            1,
        ),
        None => text,
    };
    text.into_bytes()
}

fn slave_status(field: &str) -> String {
    let out = on_ok("node2", &["mariadb", "-e", "SHOW SLAVE STATUS\\G"]);
    out.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            (name.trim() == field).then(|| value.trim().to_string())
        })
        .unwrap_or_default()
}

fn wait_replicating() {
    wait_until("node2 replicating", Duration::from_secs(30), || {
        slave_status("Slave_IO_Running") == "Yes" && slave_status("Slave_SQL_Running") == "Yes"
    });
}

/// tcpdump on the lab's bridge, every TCP segment to or from a server port.
fn start_capture(path: &str) -> Child {
    let _ = std::fs::remove_file(path);
    let child = Command::new("ip")
        .args(["netns", "exec", &mysql_ha::sandbox::bridge_netns()])
        // Immediate mode: packets reach the file as they come, not in
        // blocks that a stop could leave unread.
        .args([
            "tcpdump",
            "-i",
            "br0",
            "-n",
            "--immediate-mode",
            "-U",
            "-s",
            "0",
            "-w",
            path,
        ])
        .args(["tcp", "port", "3306"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tcpdump");
    wait_until("the capture to start", Duration::from_secs(10), || {
        std::fs::metadata(path).is_ok()
    });
    // tcpdump writes the file header before it listens.
    std::thread::sleep(Duration::from_millis(500));
    child
}

fn stop_capture(mut child: Child, path: &str) -> Vec<u8> {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let _ = child.wait();
    std::fs::read(path).unwrap()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A login from node2 to node1's server with a password read on node2 (it
/// reaches mariadb through its environment, never a command line).
fn login(password_from: &str, user: &str, tls: bool) -> std::process::Output {
    let tls_options = if tls {
        "--ssl --ssl-ca=/etc/ssl/mysql-ha/ca.pem --ssl-verify-server-cert"
    } else {
        "--skip-ssl"
    };
    on(
        "node2",
        &[
            "sh",
            "-c",
            &format!(
                "MYSQL_PWD=\"$({password_from})\" mariadb -h 192.0.2.11 -u {user} {tls_options} -N -e 'SELECT 1'"
            ),
        ],
    )
}

#[test]
fn replication_moves_onto_verified_tls_and_renews() {
    let _lock = lock_sandbox();
    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up"]);
    install_binary("node1");

    // A pair as the versions before TLS left it.
    put_file(
        "node1",
        "/root/answers.toml",
        &answers_with_tls(Some("off")),
        "600",
    );
    setup_on_node1();
    assert_eq!(slave_status("Master_SSL_Allowed"), "No");
    sql(
        "node1",
        "CREATE TABLE shop.tls_probe (id INT PRIMARY KEY, note VARCHAR(64) NOT NULL)",
    );

    let capture_path = format!("/tmp/mysql-ha-tls{}.pcap", lab_dir().replace('/', "-"));
    let capture = start_capture(&capture_path);

    // The same answers with TLS (the default): the re-run moves the pair.
    put_file(
        "node1",
        "/root/answers.toml",
        &answers_with_tls(None),
        "600",
    );
    let moved = setup_on_node1();
    assert!(moved.contains("==> TLS certificates"), "{moved}");
    assert!(moved.contains("==> replication over TLS"), "{moved}");
    assert_eq!(slave_status("Master_SSL_Allowed"), "Yes");
    assert_eq!(slave_status("Master_SSL_Verify_Server_Cert"), "Yes");
    assert_eq!(
        slave_status("Master_SSL_CA_File"),
        "/etc/ssl/mysql-ha/ca.pem"
    );
    sql(
        "node1",
        &format!("INSERT INTO shop.tls_probe VALUES (1, '{MARKER}')"),
    );
    wait_until("the probe row on node2", Duration::from_secs(20), || {
        sql("node2", "SELECT COUNT(*) FROM shop.tls_probe") == "1"
    });
    // The daemons' checks run over TLS too: both healthy after the re-run.
    let status = on_ok("node1", &[NODE_BIN, "status"]);
    assert!(status.contains("healthy"), "{status}");
    // Some seconds of the daemons' checks and writes in the capture, and
    // one plain-text login to prove the capture sees what is in clear.
    std::thread::sleep(Duration::from_secs(3));
    let _ = on(
        "node2",
        &[
            "mariadb",
            "-h",
            "192.0.2.11",
            "--skip-ssl",
            "-u",
            "capture_probe_user",
            "-e",
            "SELECT 1",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let captured = stop_capture(capture, &capture_path);
    let _ = std::fs::remove_file(&capture_path);
    assert!(
        captured.len() > 20_000,
        "the capture saw almost nothing ({} bytes): wrong interface?",
        captured.len()
    );
    assert!(
        contains(&captured, "capture_probe_user"),
        "the capture does not see a plain-text login"
    );
    for secret in [
        MARKER,
        "mysql_ha_canary",
        "tls_probe",
        "mysql_ha.write_check",
    ] {
        assert!(
            !contains(&captured, secret),
            "`{secret}` crossed the network in clear"
        );
    }

    // The accounts refuse plain text even with the right password.
    let repl_password = "sed -n 6p /var/lib/mysql/master.info";
    let monitor_password = "sed -n 's/^password = \"\\(.*\\)\"$/\\1/p' /etc/mysql-ha/cluster.toml";
    for (user, password) in [("repl", repl_password), ("mysqlha_mon", monitor_password)] {
        let plain = login(password, user, false);
        assert!(!plain.status.success(), "{user} logged in without TLS");
        assert!(
            String::from_utf8_lossy(&plain.stderr).contains("1045"),
            "{user}: {}",
            String::from_utf8_lossy(&plain.stderr)
        );
        let verified = login(password, user, true);
        assert!(
            verified.status.success(),
            "{user} over TLS: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
    }

    // Rolling back the re-run that moved the pair onto TLS puts it back as
    // it was, working: the accounts the re-run replaced come back as they
    // were (not dropped), the slave connects in plain text again, and both
    // daemons run again.
    let run_id = run_id_of(&moved);
    let rollback = |extra: &str| {
        on_ok(
            "node1",
            &[
                NODE_BIN,
                "rollback",
                &run_id,
                "--answers",
                "/root/answers.toml",
                extra,
            ],
        )
    };
    let shown = rollback("--dry-run");
    assert!(
        shown.contains("undo: CREATE OR REPLACE USER 'mysqlha_mon'@'192.0.2.12' IDENTIFIED BY '********' REQUIRE SSL; GRANT ")
            && shown.contains("IDENTIFIED BY PASSWORD '********'"),
        "{shown}"
    );
    assert!(
        shown.contains("# last, on both nodes: the cluster daemon ran before this run"),
        "{shown}"
    );
    let hash = sql(
        "node1",
        "SELECT authentication_string FROM mysql.user WHERE User = 'mysqlha_mon' LIMIT 1",
    );
    assert!(!hash.is_empty() && !shown.contains(&hash), "{shown}");
    let undone = rollback("--yes");
    assert!(
        undone.contains("started the cluster daemon, which ran before this run"),
        "{undone}"
    );
    assert_eq!(slave_status("Master_SSL_Allowed"), "No", "{undone}");
    wait_replicating();
    assert_eq!(
        sql(
            "node1",
            "SELECT ssl_type FROM mysql.user WHERE User = 'repl'"
        ),
        ""
    );
    for host in ["node1", "node2"] {
        assert_eq!(
            sql(
                host,
                "SELECT COUNT(*) >= 2, SUM(ssl_type <> '') FROM mysql.user WHERE User = 'mysqlha_mon'"
            ),
            "1\t0",
            "{host}: the monitor accounts are not as before the re-run:\n{undone}"
        );
        assert!(
            on(host, &["pgrep", "-f", "mysql-ha daemon"])
                .status
                .success(),
            "{host}: the daemon does not run:\n{undone}"
        );
    }
    wait_until(
        "the pair to be whole again",
        Duration::from_secs(60),
        || on_ok("node1", &[NODE_BIN, "status"]).contains("pair: whole"),
    );
    sql(
        "node1",
        "INSERT INTO shop.tls_probe VALUES (2, 'plain again')",
    );
    wait_until("the row on node2", Duration::from_secs(20), || {
        sql("node2", "SELECT COUNT(*) FROM shop.tls_probe") == "2"
    });
    // And onto TLS again, for what follows.
    let out = setup_on_node1();
    assert!(out.contains("==> replication over TLS"), "{out}");
    wait_replicating();

    // A re-run with nothing to do leaves the certificates alone.
    let cert_before = on_ok("node1", &["cat", "/etc/ssl/mysql-ha/server-cert.pem"]);
    let dry = on_ok(
        "node1",
        &[
            NODE_BIN,
            "setup",
            "--answers",
            "/root/answers.toml",
            "--dry-run",
        ],
    );
    assert!(
        dry.contains("== TLS certificates on master 192.0.2.11: unchanged"),
        "{dry}"
    );

    // Renewal: a node's certificate lost; the re-run makes new ones for
    // both, the servers load them without a restart, replication reconnects.
    let uptime = |host: &str| {
        sql(host, "SHOW GLOBAL STATUS LIKE 'Uptime'")
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let up_before = uptime("node1");
    on_ok("node2", &["rm", "/etc/ssl/mysql-ha/server-cert.pem"]);
    let out = setup_on_node1();
    assert!(out.contains("new certificates on both nodes"), "{out}");
    assert!(uptime("node1") >= up_before, "node1's server was restarted");
    let cert_after = on_ok("node1", &["cat", "/etc/ssl/mysql-ha/server-cert.pem"]);
    assert_ne!(cert_before, cert_after);
    sql("node2", "STOP SLAVE; START SLAVE");
    wait_replicating();
    let served = on_ok(
        "node2",
        &[
            "sh",
            "-c",
            "openssl s_client -connect 192.0.2.11:3306 -starttls mysql -CAfile /etc/ssl/mysql-ha/ca.pem -verify_ip 192.0.2.11 </dev/null 2>/dev/null | openssl x509 -noout -fingerprint",
        ],
    );
    let on_disk = on_ok(
        "node1",
        &[
            "openssl",
            "x509",
            "-noout",
            "-fingerprint",
            "-in",
            "/etc/ssl/mysql-ha/server-cert.pem",
        ],
    );
    assert_eq!(served, on_disk, "node1 still serves its old certificate");

    // No CA key survives anywhere; the keys never left their node.
    for host in ["node1", "node2"] {
        let keys = on_ok(
            host,
            &[
                "sh",
                "-c",
                "find /etc /var/lib/mysql-ha /root /tmp -name 'ca-key.pem' 2>/dev/null; ls -l /etc/ssl/mysql-ha/server-key.pem",
            ],
        );
        assert!(!keys.contains("ca-key.pem"), "{host}: {keys}");
        assert!(
            keys.starts_with("-rw-r----- 1 root mysql"),
            "{host}: {keys}"
        );
    }
    let key1 = on_ok("node1", &["sha256sum", "/etc/ssl/mysql-ha/server-key.pem"]);
    let key2 = on_ok("node2", &["sha256sum", "/etc/ssl/mysql-ha/server-key.pem"]);
    assert_ne!(
        key1.split_whitespace().next(),
        key2.split_whitespace().next()
    );

    // The administrator's own files: copies at another path. A node whose
    // certificate does not name it is refused before any change.
    for host in ["node1", "node2"] {
        on_ok(
            host,
            &[
                "sh",
                "-c",
                "mkdir -p /etc/ssl/own && cp -p /etc/ssl/mysql-ha/*.pem /etc/ssl/own/",
            ],
        );
    }
    let own = |text: &[u8]| {
        String::from_utf8_lossy(text).replacen(
            "[replication]\n",
            "[replication]\ntls = \"files\"\ntls_ca_file = \"/etc/ssl/own/ca.pem\"\ntls_cert_file = \"/etc/ssl/own/server-cert.pem\"\ntls_key_file = \"/etc/ssl/own/server-key.pem\"\n",
            1,
        )
    };
    put_file(
        "node1",
        "/root/answers.toml",
        own(&answers_with_tls(None)).as_bytes(),
        "600",
    );
    let settings = "/etc/mysql/mariadb.conf.d/60-mysql-ha.cnf";
    let before = on_ok("node2", &["sha256sum", settings]);
    let node1_cert = on_ok("node1", &["cat", "/etc/ssl/own/server-cert.pem"]);
    put_file(
        "node2",
        "/etc/ssl/own/server-cert.pem",
        node1_cert.as_bytes(),
        "644",
    );
    let refused = on(
        "node1",
        &[
            NODE_BIN,
            "setup",
            "--answers",
            "/root/answers.toml",
            "--yes",
        ],
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("192.0.2.12")
            && said.contains("tls")
            && said.contains("not the certificate of"),
        "{said}"
    );
    assert_eq!(on_ok("node2", &["sha256sum", settings]), before, "changed");
    // With the right files the servers and the slave move to them.
    on_ok(
        "node2",
        &[
            "cp",
            "-p",
            "/etc/ssl/mysql-ha/server-cert.pem",
            "/etc/ssl/own/",
        ],
    );
    let out = setup_on_node1();
    assert!(out.contains("==> replication over TLS"), "{out}");
    assert_eq!(slave_status("Master_SSL_CA_File"), "/etc/ssl/own/ca.pem");
    wait_replicating();
    assert_eq!(
        sql("node1", "SELECT @@GLOBAL.ssl_cert"),
        "/etc/ssl/own/server-cert.pem"
    );
    // Through every re-run and rollback above, the slave's daemon never
    // took the runs' restarts or certificate changes for a failing master:
    // it never restarted node1's server nor took over.
    let events = on_ok("node2", &["cat", "/var/log/mysql-ha.log"]);
    for action in ["restarting the master's server", "takeover:"] {
        assert!(!events.contains(action), "{action}:\n{events}");
    }
}
