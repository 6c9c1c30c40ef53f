//! The lab itself: two separate database hosts, trust by key, the shipped
//! bind-address in force, and nothing left behind by `down`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

/// This lab's namespaces and mounts only: other labs on the machine (other
/// checkouts testing at once) come and go as they like.
fn lab_namespaces() -> Vec<String> {
    let prefix = mysql_ha::sandbox::netns_prefix();
    netns_list()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

fn lab_mounts() -> Vec<String> {
    let state = lab_dir();
    let netns = format!("/run/netns/{}", mysql_ha::sandbox::netns_prefix());
    mount_points()
        .into_iter()
        .filter(|m| m == &state || m.starts_with(&format!("{state}/")) || m.starts_with(&netns))
        .collect()
}

#[test]
fn sandbox_up_gives_two_separate_hosts_and_down_leaves_nothing() {
    let _lock = lock_sandbox();
    mysql_ha(&["sandbox", "down"]);
    let namespaces_before = lab_namespaces();
    let mounts_before = lab_mounts();

    let up = mysql_ha(&["sandbox", "up"]);
    // The filters above see this lab: its bridge and three hosts, mounted.
    assert!(lab_namespaces().len() >= 4, "{:?}", lab_namespaces());
    assert!(
        lab_mounts().len() > mounts_before.len(),
        "{:?}",
        lab_mounts()
    );
    assert!(up.contains(&lab_answers()), "{up}");
    let answers = std::fs::read_to_string(lab_answers()).unwrap();
    assert!(answers.contains("host = \"192.0.2.11\""), "{answers}");

    // Each node is its own host: name, processes, files, datadir.
    assert_eq!(sql("node1", "SELECT @@hostname"), "node1");
    assert_eq!(sql("node2", "SELECT @@hostname"), "node2");
    let node2_processes = on_ok("node2", &["ps", "-e", "-o", "pid=,comm="]);
    assert!(
        node2_processes.lines().any(|l| l.trim().starts_with("1 ")),
        "{node2_processes}"
    );
    assert_eq!(
        node2_processes
            .lines()
            .filter(|l| l.contains("mariadbd"))
            .count(),
        1,
        "node2 sees only its own server:\n{node2_processes}"
    );
    on_ok(
        "node1",
        &[
            "sh",
            "-c",
            "echo node1-only > /etc/mysql/conf.d/sandbox-probe.cnf",
        ],
    );
    assert!(!on(
        "node2",
        &["test", "-e", "/etc/mysql/conf.d/sandbox-probe.cnf"]
    )
    .status
    .success());
    assert!(!std::path::Path::new("/etc/mysql/conf.d/sandbox-probe.cnf").exists());
    on_ok("node1", &["rm", "/etc/mysql/conf.d/sandbox-probe.cnf"]);
    assert_eq!(sql("node1", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('shop','crm','web-stats','hr')"), "4");
    assert_eq!(sql("node2", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('shop','crm','web-stats','hr')"), "0");
    assert!(
        sql("node1", "SELECT COUNT(*) FROM shop.orders")
            .parse::<u64>()
            .unwrap()
            > 100
    );
    assert_eq!(sql("node2", "SELECT @@bind_address"), "127.0.0.1");

    // node1 reaches node2's sshd by key with a pinned host key, and back.
    let batch = [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
    ];
    let mut to_node2 = batch.to_vec();
    to_node2.extend(["node2", "hostname"]);
    assert_eq!(on_ok("node1", &to_node2).trim(), "node2");
    let mut to_node1 = batch.to_vec();
    to_node1.extend(["192.0.2.11", "hostname"]);
    assert_eq!(on_ok("node2", &to_node1).trim(), "node1");

    // As shipped, node2's server listens on loopback only.
    let probe = on(
        "node1",
        &[
            "bash",
            "-c",
            "timeout 3 bash -c '</dev/tcp/192.0.2.12/3306'",
        ],
    );
    assert!(
        !probe.status.success(),
        "node2:3306 must not answer on 192.0.2.12 as shipped"
    );
    on_ok(
        "node2",
        &["bash", "-c", "timeout 3 bash -c '</dev/tcp/127.0.0.1/3306'"],
    );

    // A crash kills every process of the node, cuts its link, drops the
    // addresses added at run time and keeps its files.
    on_ok("node2", &["sh", "-c", "echo kept > /root/survives-crash"]);
    on_ok(
        "node2",
        &["ip", "addr", "add", "192.0.2.10/24", "dev", "eth0"],
    );
    // Two services: one registered to start at boot, one not.
    for (name, register) in [("lab-registered", true), ("lab-unregistered", false)] {
        let script = format!(
            "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: {name}\n# Required-Start:\n# Required-Stop:\n\
             # Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n### END INIT INFO\n\
             [ \"$1\" = start ] && touch /run/{name}.started\nexit 0\n"
        );
        on_ok(
            "node2",
            &[
                "sh",
                "-c",
                &format!("printf '%s' \"$0\" > /etc/init.d/{name} && chmod 755 /etc/init.d/{name}"),
                &script,
            ],
        );
        if register {
            on_ok("node2", &["update-rc.d", name, "defaults"]);
        }
    }
    mysql_ha(&["sandbox", "crash", "node2"]);
    assert!(mysql_ha(&["sandbox", "status"])
        .lines()
        .any(|l| l.starts_with("node2") && l.contains("down")));
    // A live network stack would refuse the connection at once; a cut
    // link never answers (timeout's exit code 124).
    let probe = [
        "timeout",
        "2",
        "bash",
        "-c",
        "echo > /dev/tcp/192.0.2.12/22",
    ];
    assert_eq!(
        on("node1", &probe).status.code(),
        Some(124),
        "node2's network still answers after a crash: the link is not cut"
    );
    mysql_ha(&["sandbox", "boot", "node2"]);
    assert_eq!(
        on_ok("node2", &["cat", "/root/survives-crash"]).trim(),
        "kept"
    );
    assert_eq!(sql("node2", "SELECT 1"), "1");
    assert!(on("node1", &probe).status.success());
    assert!(!on_ok("node2", &["ip", "-o", "addr"]).contains("192.0.2.10/"));
    assert!(on("node2", &["test", "-e", "/run/lab-registered.started"])
        .status
        .success());
    assert!(
        !on("node2", &["test", "-e", "/run/lab-unregistered.started"])
            .status
            .success()
    );

    mysql_ha(&["sandbox", "down"]);
    assert_eq!(lab_namespaces(), namespaces_before);
    assert_eq!(lab_mounts(), mounts_before);
    for host in ["node1", "node2", "client"] {
        let init = format!("node-init {host} {} ", lab_dir());
        assert!(processes_matching(&init).is_empty(), "{init} still runs");
    }
    assert!(!std::path::Path::new(&lab_dir()).exists());
}

#[test]
fn sandbox_commands_refuse_unknown_hosts() {
    let out = mysql_ha_output(&["sandbox", "exec", "node9", "--", "true"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("node9"));
}
