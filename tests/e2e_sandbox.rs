//! The lab itself: two separate database hosts (three with `--nodes 3`),
//! trust by key, the shipped bind-address in force, and nothing left behind
//! by `down`.
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

    // A two-node lab has no node3, and says how to get one.
    assert!(!mysql_ha(&["sandbox", "status"]).contains("node3"));
    let out = mysql_ha_output(&["sandbox", "exec", "node3", "--", "true"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--nodes 3"), "{}", text(&out));

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
fn sandbox_up_with_three_nodes_adds_node3_like_the_others() {
    let _lock = lock_sandbox();
    mysql_ha(&["sandbox", "down"]);
    let namespaces_before = lab_namespaces();
    let mounts_before = lab_mounts();
    let started = std::time::Instant::now();
    let up = mysql_ha(&["sandbox", "up", "--nodes", "3"]);
    println!(
        "sandbox up --nodes 3: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(up.contains("node3 192.0.2.13"), "{up}");
    assert!(up.contains("node3 192.0.2.213"), "{up}");

    // node3 is a host of its own: name, processes, an empty datadir of its
    // own with the shipped configuration, its BMC.
    assert_eq!(sql("node3", "SELECT @@hostname"), "node3");
    let processes = on_ok("node3", &["ps", "-e", "-o", "comm="]);
    assert_eq!(
        processes.lines().filter(|l| l.contains("mariadbd")).count(),
        1,
        "{processes}"
    );
    assert_eq!(sql("node3", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('shop','crm','web-stats','hr')"), "0");
    assert_eq!(sql("node3", "SELECT @@bind_address"), "127.0.0.1");
    let status = mysql_ha(&["sandbox", "status"]);
    let line = status
        .lines()
        .find(|l| l.starts_with("node3"))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(
        line.contains("192.0.2.13") && line.contains("mariadb up") && line.contains("sshd up"),
        "{line}"
    );
    assert!(line.contains("BMC 192.0.2.213 up"), "{line}");

    // Every host trusts every other by key with pinned host keys, by name
    // and by address.
    let batch = [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
    ];
    for (from, to, name) in [
        ("node1", "node3", "node3"),
        ("node2", "192.0.2.13", "node3"),
        ("node3", "node1", "node1"),
        ("node3", "192.0.2.12", "node2"),
        ("client", "node3", "node3"),
    ] {
        let mut argv = batch.to_vec();
        argv.extend([to, "hostname"]);
        assert_eq!(on_ok(from, &argv).trim(), name, "{from} -> {to}");
    }

    // Its BMC powers it off and on as the others' do, and crash and boot
    // act on it.
    let password = std::fs::read_to_string(format!("{}/bmc/password", lab_dir())).unwrap();
    put_file("node1", "/root/.bmc", password.trim().as_bytes(), "600");
    let power = on_ok(
        "node1",
        &[
            "ipmitool",
            "-I",
            "lanplus",
            "-C",
            "3",
            "-H",
            "192.0.2.213",
            "-U",
            "admin",
            "-f",
            "/root/.bmc",
            "chassis",
            "power",
            "status",
        ],
    );
    assert!(power.contains("Chassis Power is on"), "{power}");
    on_ok("node3", &["sh", "-c", "echo kept > /root/survives-crash"]);
    mysql_ha(&["sandbox", "crash", "node3"]);
    assert!(mysql_ha(&["sandbox", "status"])
        .lines()
        .any(|l| l.starts_with("node3") && l.contains("down;")));
    let probe = [
        "timeout",
        "2",
        "bash",
        "-c",
        "echo > /dev/tcp/192.0.2.13/22",
    ];
    assert_eq!(on("node1", &probe).status.code(), Some(124));
    mysql_ha(&["sandbox", "boot", "node3"]);
    assert_eq!(
        on_ok("node3", &["cat", "/root/survives-crash"]).trim(),
        "kept"
    );
    assert!(on("node1", &probe).status.success());

    // `up` again keeps node3; shrinking the lab needs `down` first.
    let again = mysql_ha(&["sandbox", "up"]);
    assert!(again.contains("node3 192.0.2.13"), "{again}");
    let out = mysql_ha_output(&["sandbox", "up", "--nodes", "2"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("sandbox down"), "{}", text(&out));

    mysql_ha(&["sandbox", "down"]);
    assert_eq!(lab_namespaces(), namespaces_before);
    assert_eq!(lab_mounts(), mounts_before);
    let init = format!("node-init node3 {} ", lab_dir());
    assert!(processes_matching(&init).is_empty(), "{init} still runs");
    assert!(!std::path::Path::new(&lab_dir()).exists());
    println!(
        "e2e_sandbox three nodes: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn sandbox_commands_refuse_unknown_hosts() {
    let out = mysql_ha_output(&["sandbox", "exec", "node9", "--", "true"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("node9"));
}
