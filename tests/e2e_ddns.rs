//! The dynamic-DNS cluster resource on the sandbox, for real: the lab's DNS
//! server (`sandbox up --dns`), a wrong TSIG key refused at preflight before
//! anything changes, setup with `resource = "ddns"`, then a power cut on the
//! master: the name moves to node2 and a client connecting by name writes
//! there; the old master coming back does not take the name away.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const NAME: &str = "db.cluster.test";
const DNS_SERVER: &str = "@192.0.2.100";
const APP_SECRET: &str = "App-Secret-5d1f-never-shown";

fn ddns_answers() -> String {
    std::fs::read_to_string(format!("{}/answers-ddns.toml", lab_dir())).unwrap()
}

fn answers_value(answers: &str, key: &str) -> String {
    answers
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in the ddns answers"))
        .trim_matches('"')
        .to_string()
}

/// What the zone's server itself answers for the name (asked from the client).
fn resolved() -> String {
    on_ok(
        "client",
        &[
            "dig",
            DNS_SERVER,
            "+norecurse",
            "+short",
            "+time=1",
            "+tries=1",
            NAME,
            "A",
        ],
    )
    .trim()
    .to_string()
}

/// Everything preflight must leave as it was on a node.
fn fingerprint(host: &str) -> String {
    on_ok(
        host,
        &[
            "sh",
            "-c",
            "find /etc/mysql -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum; \
             ls -d /var/lib/mysql-ha/runs /etc/mysql-ha 2>&1; id mysqlha 2>&1; \
             mariadb -N -e 'SHOW SLAVE STATUS; SELECT COUNT(*) FROM mysql.user'",
        ],
    )
}

fn setup(answers: &str) -> std::process::Output {
    put_file("node1", "/root/answers.toml", answers.as_bytes(), "600");
    on(
        "node1",
        &[
            NODE_BIN,
            "setup",
            "--answers",
            "/root/answers.toml",
            "--yes",
        ],
    )
}

/// A timing of node2's daemon, in seconds.
fn timing_s(config: &str, key: &str) -> f64 {
    config
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in cluster.toml"))
        .parse::<f64>()
        .unwrap()
        / if key.ends_with("_ms") { 1000.0 } else { 1.0 }
}

/// The client's application account on both nodes; the client logs in by
/// name with a 0600 option file.
fn client_sql(query: &str) -> String {
    on_ok("client", &["mariadb", "-h", NAME, "-N", "-e", query])
        .trim()
        .to_string()
}

/// An update from the client host, signed with the lab's key file there.
fn nsupdate_on_client(script: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(BIN)
        .args(["sandbox", "exec", "client", "--"])
        .args(["nsupdate", "-k", "/etc/bind/mysql-ha-sandbox.key"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "nsupdate on client: {}", text(&out));
}

#[test]
fn ddns_name_follows_the_master_and_a_wrong_key_changes_nothing() {
    let _lock = lock_sandbox();
    mysql_ha(&["sandbox", "down"]);
    let up = mysql_ha(&["sandbox", "up", "--dns"]);
    assert!(up.contains("answers-ddns.toml"), "{up}");
    assert!(mysql_ha(&["sandbox", "status"]).contains("named up"));
    install_binary("node1");
    let answers = ddns_answers();
    let secret = answers_value(&answers, "key_secret");
    let key_name = answers_value(&answers, "key_name");
    let ttl: f64 = answers_value(&answers, "ttl").parse().unwrap();
    assert_eq!(resolved(), "", "the name exists before setup");
    let watch = CmdlineWatch::start(vec![secret.clone()]);

    // 1. A wrong secret (valid base64, other key): refused at preflight,
    // naming the key, and neither node nor the zone changed.
    let wrong = format!(
        "{}{}",
        if secret.starts_with('A') { "B" } else { "A" },
        &secret[1..]
    );
    let before = [fingerprint("node1"), fingerprint("node2")];
    let out = setup(&answers.replace(&secret, &wrong));
    let said = text(&out);
    assert!(
        !out.status.success(),
        "setup with a wrong key succeeded:\n{said}"
    );
    assert!(
        said.contains("preflight stopped the run before any change"),
        "{said}"
    );
    assert!(
        said.contains(&format!("TSIG key `{key_name}` (cluster.ddns.key_name)")),
        "{said}"
    );
    assert!(said.contains("BADSIG") || said.contains("BADKEY"), "{said}");
    assert!(!said.contains(&wrong) && !said.contains(&secret), "{said}");
    assert_eq!([fingerprint("node1"), fingerprint("node2")], before);
    let probe = on_ok(
        "client",
        &[
            "dig",
            DNS_SERVER,
            "+norecurse",
            "+short",
            "_mysql-ha-preflight.cluster.test",
            "TXT",
        ],
    );
    assert_eq!(probe.trim(), "");
    assert_eq!(resolved(), "");

    // 2. Setup with the lab's key: the master's daemon points the name at it.
    let started = Instant::now();
    let out = setup(&answers);
    let said = text(&out);
    assert!(out.status.success(), "setup failed:\n{said}");
    assert!(said.contains("accepts a test update"), "{said}");
    println!(
        "setup with ddns took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    wait_until(
        "the name to point at node1",
        Duration::from_secs(20),
        || resolved() == "192.0.2.11",
    );
    for host in ["node1", "node2"] {
        let mode = on_ok(host, &["stat", "-c", "%a %U", "/etc/mysql-ha/ddns.key"]);
        assert_eq!(mode.trim(), "640 root");
        let config = on_ok(host, &["cat", "/etc/mysql-ha/cluster.toml"]);
        assert!(
            config.contains("key_file = \"/etc/mysql-ha/ddns.key\""),
            "{config}"
        );
        assert!(!config.contains(&secret), "the secret is in cluster.toml");
        assert!(!daemon_log(host).contains(&secret));
    }
    let status = on_ok("node1", &["/usr/local/sbin/mysql-ha", "status"]);
    assert!(
        status.contains(&format!("dynamic DNS name {NAME}")),
        "{status}"
    );
    assert!(status.contains("resource held by: 192.0.2.11"), "{status}");

    // A client reaches the master by name (the client resolves through the
    // lab's DNS server).
    create_app_account(APP_SECRET);
    sql(
        "node1",
        "USE shop; CREATE TABLE by_name (n INT PRIMARY KEY, host VARCHAR(64))",
    );
    put_file(
        "client",
        "/root/.my.cnf",
        format!("[client]\nuser = app\npassword = {APP_SECRET}\nconnect-timeout = 2\n").as_bytes(),
        "600",
    );
    assert_eq!(
        client_sql("INSERT INTO shop.by_name VALUES (1, @@hostname); SELECT @@hostname"),
        "node1"
    );
    wait_until("row 1 on node2", Duration::from_secs(10), || {
        on(
            "node2",
            &["mariadb", "-N", "-e", "SELECT COUNT(*) FROM shop.by_name"],
        )
        .stdout
        .starts_with(b"1")
    });

    // 3. Power cut on the master: the zone's server answers node2 within the
    // detection time (plus the record's TTL for a caching resolver).
    let config = on_ok("node2", &["cat", "/etc/mysql-ha/cluster.toml"]);
    let detection = timing_s(&config, "check_interval_ms")
        + timing_s(&config, "failure_threshold")
            * (timing_s(&config, "recheck_interval_ms")
                + timing_s(&config, "query_timeout_ms")
                + timing_s(&config, "ssh_timeout_ms"));
    let limit = ttl + detection;
    mysql_ha(&["sandbox", "crash", "node1"]);
    let moved = wait_until(
        "the name to point at node2",
        Duration::from_secs(120),
        || resolved() == "192.0.2.12",
    );
    println!(
        "crash to {NAME} -> 192.0.2.12 at the zone's server: {:.1} s (limit: TTL {ttl} s + detection {detection:.0} s)",
        moved.as_secs_f64()
    );
    assert!(
        moved.as_secs_f64() <= limit,
        "the name moved after {:.1} s, more than TTL + detection = {limit:.0} s",
        moved.as_secs_f64()
    );
    wait_until("node2's takeover", Duration::from_secs(30), || {
        daemon_log("node2").contains("took-over")
    });
    let log2 = daemon_log("node2");
    println!("node2's events:\n{log2}");
    assert!(
        log2.contains(&format!("claimed: claimed DNS name {NAME} -> 192.0.2.12")),
        "{log2}"
    );
    let connect_at = Instant::now();
    assert_eq!(
        client_sql("INSERT INTO shop.by_name VALUES (2, @@hostname); SELECT @@hostname"),
        "node2"
    );
    println!(
        "client connected by name and wrote on node2 in {:.1} s",
        connect_at.elapsed().as_secs_f64()
    );
    assert_eq!(
        sql("node2", "SELECT host FROM shop.by_name WHERE n = 2"),
        "node2"
    );

    // 4. The old master boots and steps down: its release finds the record
    // no longer its own and leaves it.
    mysql_ha(&["sandbox", "boot", "node1"]);
    wait_until(
        "node1's daemon to step down",
        Duration::from_secs(60),
        || daemon_log("node1").contains("stepped-down"),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(resolved(), "192.0.2.12");
    assert_eq!(client_sql("SELECT @@hostname"), "node2");

    // 5. A record that does name node1 is removed by node1 (it must not
    // hold it); node2, paused, leaves it; resumed, it claims the name back.
    on_ok("node2", &["/usr/local/sbin/mysql-ha", "pause"]);
    wait_until("node2 to report paused", Duration::from_secs(15), || {
        on_ok("node2", &["/usr/local/sbin/mysql-ha", "status"]).contains("PAUSED")
    });
    nsupdate_on_client(&format!(
        "server 192.0.2.100\nzone cluster.test.\nupdate delete {NAME}. A\nupdate add {NAME}. 10 A 192.0.2.11\nsend\n"
    ));
    let removed = wait_until(
        "node1 to remove the record",
        Duration::from_secs(30),
        || resolved().is_empty(),
    );
    println!(
        "node1 removed a record naming it in {:.1} s",
        removed.as_secs_f64()
    );
    on_ok("node2", &["/usr/local/sbin/mysql-ha", "resume"]);
    wait_until(
        "node2 to claim the name again",
        Duration::from_secs(30),
        || resolved() == "192.0.2.12",
    );

    let (samples, hits) = watch.finish();
    assert!(
        samples > 100,
        "the command-line watch barely ran ({samples})"
    );
    assert!(
        hits.is_empty(),
        "the TSIG secret was on a command line: {hits:?}"
    );
    mysql_ha(&["sandbox", "down"]);
}
