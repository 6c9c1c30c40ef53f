//! Three database nodes under Pacemaker (`[slave2]`, a lab built with
//! `sandbox up --nodes 3`), fencing through the lab's BMCs (one per node),
//! judged on the same timeline as e2e_pacemaker: writers on the client
//! (through the cluster address and straight to each node) record which
//! server acknowledged each row, and a sampler reads the three servers'
//! read_only all along.
//!
//! 1. A pair under our daemon grows into a three-node Pacemaker cluster by a
//!    re-run of setup with `[slave2]`: node3 seeded and replicating from
//!    node1 over TLS, corosync with three nodes and no quorum device, the
//!    clone promoted on node1 and unpromoted on node2 and node3. Rolling
//!    that run back leaves the replicating pair under our daemon, node3 out.
//! 2. The same run again, then our commands on the three nodes: status
//!    (every node and its role), check (every slave), add-db (a database
//!    reaches both slaves), switchover to node3 under the writers (node1
//!    and node2 follow over TLS, no acknowledged row lost), a run refused
//!    while Pacemaker runs the master away from [master], pause and resume.
//! 3. The master (node3) crashes (`sandbox crash`): node1 or node2 is
//!    promoted with the address, the other replicates from it (still over
//!    TLS, pointed by the agent), no acknowledged row is lost; node3 boots
//!    and comes back as a slave over TLS (or stays out with a clear status).
//! 4. The new master is cut off from the other two: the two-node majority
//!    fences it through its BMC and promotes one of them, the other follows
//!    it over TLS; the cut-off node, without quorum, takes no write. Never
//!    two writable servers in any sample from the switchover to the end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::pacemaker::*;
use common::timeline::*;
use common::*;

const APP_SECRET: &str = "App-Secret-pcmk3-never-shown";
const NODES: [&str; 3] = ["node1", "node2", "node3"];

fn address_of(node: &str) -> &'static str {
    match node {
        "node1" => "192.0.2.11",
        "node2" => "192.0.2.12",
        "node3" => "192.0.2.13",
        other => panic!("no lab node {other}"),
    }
}

/// The lab's answers for a pair under our daemon (replication over TLS,
/// the default).
fn pair_answers() -> String {
    std::fs::read_to_string(lab_answers()).unwrap()
}

/// The same with node3 as `[slave2]` and Pacemaker fencing through the
/// lab's BMCs, each node its own (192.0.2.211-213).
fn three_node_answers() -> String {
    let password = std::fs::read_to_string(format!("{}/bmc/password", lab_dir())).unwrap();
    pair_answers()
        .replace(
            "\n[cluster]\n",
            &format!(
                "\n[slave2]\nhost = \"192.0.2.13\"\nfence_params = [\"ip=192.0.2.213\"]\n\n\
                 [cluster]\nmanager = \"pacemaker\"\nfence_agent = \"fence_ipmilan\"\n\
                 fence_params = [\"username=admin\", \"lanplus=1\", \"cipher=3\", \"pcmk_reboot_action=off\"]\n\
                 fence_password = \"{}\"\n",
                password.trim()
            ),
        )
        .replace(
            "[master]\n",
            "[master]\nfence_params = [\"ip=192.0.2.211\"]\n",
        )
        .replace("[slave]\n", "[slave]\nfence_params = [\"ip=192.0.2.212\"]\n")
}

fn setup_with(answers: &str, what: &str) -> String {
    put_file("node1", "/root/answers.toml", answers.as_bytes(), "600");
    let started = Instant::now();
    let out = setup_on_node1();
    println!(
        "--- setup {what} ({:.1} s):\n{}",
        started.elapsed().as_secs_f64(),
        out.lines()
            .filter(|l| !l.starts_with([' ', '+', '-', '@']))
            .collect::<Vec<_>>()
            .join("\n")
    );
    out
}

/// `node`'s slave threads run, replicating from `master`.
fn replicates_from(node: &str, master: &str) -> bool {
    let status = on_ok(node, &["mariadb", "-e", "SHOW SLAVE STATUS\\G"]);
    status.contains(&format!("Master_Host: {}", address_of(master)))
        && status.contains("Slave_IO_Running: Yes")
        && status.contains("Slave_SQL_Running: Yes")
}

/// `node` replicates over TLS, verifying its master's certificate, and its
/// master refuses the replication account in plain text from it: the
/// account requires TLS (what MariaDB shows of another session's
/// encryption), a login without TLS is refused (1045) and one with it
/// gets a cipher.
fn replicates_over_tls(node: &str, master: &str) {
    let status = on_ok(node, &["mariadb", "-e", "SHOW SLAVE STATUS\\G"]);
    assert!(
        status.contains("Master_SSL_Allowed: Yes")
            && status.contains("Master_SSL_Verify_Server_Cert: Yes")
            && status.contains("Master_SSL_CA_File: /etc/ssl/mysql-ha/ca.pem"),
        "{node}: {status}"
    );
    let account = format!(
        "SELECT ssl_type FROM mysql.user WHERE User = 'repl' AND Host = '{}'",
        address_of(node)
    );
    assert_eq!(sql(master, &account), "ANY", "repl@{node} on {master}");
    let dumps = sql(
        master,
        "SELECT HOST FROM information_schema.PROCESSLIST WHERE USER = 'repl' AND COMMAND = 'Binlog Dump'",
    );
    assert!(dumps.contains(&format!("{node}:")), "{master}: {dumps}");
    let login = |tls: &str| {
        on(
            node,
            &[
                "sh",
                "-c",
                &format!(
                    "{{ printf '[client]\\nuser=repl\\npassword='; cat /var/lib/pacemaker/lrm/secrets/p_db/replication_passwd; }} | mariadb --defaults-extra-file=/dev/stdin {tls} -h {} -N -e \"SHOW SESSION STATUS LIKE 'Ssl_cipher'\"",
                    address_of(master)
                ),
            ],
        )
    };
    let plain = login("--skip-ssl");
    assert!(
        !plain.status.success() && text(&plain).contains("ERROR 1045"),
        "{node} -> {master} in plain text: {}",
        text(&plain)
    );
    let encrypted = text(&login(
        "--ssl --ssl-ca=/etc/ssl/mysql-ha/ca.pem --ssl-verify-server-cert",
    ));
    assert!(
        encrypted.contains("Ssl_cipher\tTLS_"),
        "{node}: {encrypted}"
    );
}

/// The node promoted with the cluster address, as `seen_from` reports it.
fn promoted_among(candidates: &[&'static str], seen_from: &str) -> Option<&'static str> {
    candidates
        .iter()
        .copied()
        .find(|n| promoted_with_address(n, seen_from))
}

#[test]
fn three_nodes_under_pacemaker_survive_a_crash_and_a_partition_and_roll_back() {
    let _lock = lock_sandbox();
    let started = Instant::now();
    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up", "--nodes", "3"]);
    install_binary("node1");

    // With our daemon a third node is refused before anything changes.
    let daemon_three = three_node_answers()
        .replace("manager = \"pacemaker\"\n", "")
        .replace("fence_agent = \"fence_ipmilan\"\n", "");
    put_file(
        "node1",
        "/root/answers.toml",
        daemon_three.as_bytes(),
        "600",
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
    assert!(!refused.status.success());
    let said = text(&refused);
    assert!(
        said.contains("slave2.host") && said.contains("pacemaker"),
        "{said}"
    );
    assert!(!on("node1", &["test", "-d", "/var/lib/mysql-ha/runs"])
        .status
        .success());

    // 1. A pair under our daemon, grown to three nodes under Pacemaker.
    let out = setup_with(&pair_answers(), "of the pair under our daemon");
    assert!(out.contains("done"), "{out}");
    let three = three_node_answers();
    let out = setup_with(&three, "with node3 and pacemaker");
    assert!(
        out.contains("pacemaker: ms_db promoted on node1, unpromoted on node2, node3"),
        "{out}"
    );
    assert!(out.contains("quorum: 3 nodes, one vote each"), "{out}");
    assert!(
        out.contains("second slave: 192.0.2.13 replicates shop, crm, web-stats from 192.0.2.11"),
        "{out}"
    );
    let done = out.lines().rev().find(|l| l.starts_with("done:")).unwrap();
    let run_id = run_id_of(done);
    // (The agent restarts the slaves' I/O threads as it takes them over.)
    wait_until(
        "node3 replicating from node1",
        Duration::from_secs(30),
        || replicates_from("node3", "node1"),
    );
    let state = crm("node3").unwrap();
    assert_eq!(state.promoted, ["node1"], "{state:?}");
    let mut unpromoted = state.unpromoted.clone();
    unpromoted.sort();
    assert_eq!(unpromoted, ["node2", "node3"], "{state:?}");
    assert_eq!(state.vip.as_deref(), Some("node1"), "{state:?}");
    let quorum = on_ok("node3", &["corosync-quorumtool", "-s"]);
    assert!(quorum.contains("Total votes:      3"), "{quorum}");
    assert!(!quorum.contains("Qdevice"), "{quorum}");
    // Every slave replicates over TLS, node3 with its own certificate.
    for node in ["node2", "node3"] {
        replicates_over_tls(node, "node1");
    }
    // A row on the master reaches both slaves.
    sql(
        "node1",
        "CREATE TABLE shop.three (n INT PRIMARY KEY); INSERT INTO shop.three VALUES (3)",
    );
    for node in ["node2", "node3"] {
        wait_until(
            &format!("the row on {node}"),
            Duration::from_secs(20),
            || {
                on(node, &["mariadb", "-N", "-e", "SELECT n FROM shop.three"])
                    .stdout
                    .starts_with(b"3")
            },
        );
    }
    // A second run changes nothing.
    let again = setup_on_node1();
    assert!(again.contains("nothing needed changing"), "{again}");

    // Rolling the three-node run back: Pacemaker stops everywhere, node3
    // no longer replicates, the pair replicates under our daemon again.
    let t = Instant::now();
    let out = on_ok(
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
    println!(
        "--- rollback {run_id} ({:.1} s):\n{out}",
        t.elapsed().as_secs_f64()
    );
    for node in NODES {
        for program in ["pacemakerd", "corosync"] {
            assert!(
                !on(node, &["pidof", program]).status.success(),
                "{program} still runs on {node}"
            );
        }
    }
    assert_eq!(
        sql("node3", "SHOW SLAVE STATUS"),
        "",
        "node3 still replicates"
    );
    for node in ["node1", "node2"] {
        let processes = on_ok(node, &["ps", "-eo", "args"]);
        assert!(processes.contains("mysql-ha daemon"), "{node}: {processes}");
    }
    wait_until(
        "node2 replicating from node1",
        Duration::from_secs(30),
        || replicates_from("node2", "node1"),
    );
    sql("node1", "INSERT INTO shop.three VALUES (4)");
    wait_until("a row on node2", Duration::from_secs(20), || {
        sql("node2", "SELECT COUNT(*) FROM shop.three") == "2"
    });
    wait_until(
        "the daemon holding the cluster address on node1",
        Duration::from_secs(30),
        || on_ok("node1", &["ip", "-o", "addr", "show", "dev", "eth0"]).contains(" 192.0.2.10/"),
    );
    // The rollback leaves node3's copy in place and says so; the
    // administrator drops it before growing the cluster again.
    assert!(out.contains("left in place"), "{out}");
    sql(
        "node3",
        "SET SESSION sql_log_bin = 0; DROP DATABASE shop; DROP DATABASE crm; DROP DATABASE `web-stats`",
    );

    // 2. Three nodes again, then the master crashes under the writers.
    let out = setup_with(&three, "with node3 and pacemaker, again");
    assert!(
        out.contains("pacemaker: ms_db promoted on node1, unpromoted on node2, node3"),
        "{out}"
    );

    // Our commands on the three nodes (run on node1). status names every
    // node and its role, from crm_mon.
    let status = on_ok("node1", &[NODE_BIN, "status"]);
    assert!(
        status.contains("cluster: whole: node1 (master) -> "),
        "{status}"
    );
    for line in ["  node1: master\n", "  node2: slave\n", "  node3: slave\n"] {
        assert!(status.contains(line), "{status}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&on_ok("node1", &[NODE_BIN, "status", "--json"])).unwrap();
    assert_eq!(json["nodes"].as_array().unwrap().len(), 3, "{json}");
    // check: every node and both slaves, all well (no warning about node3
    // having no cluster account: it needs none).
    let check = on_ok(
        "node1",
        &[NODE_BIN, "check", "--answers", "/root/answers.toml"],
    );
    assert!(
        check.contains("Pacemaker runs the master on node1"),
        "{check}"
    );
    for node in ["192.0.2.12", "192.0.2.13"] {
        assert!(
            check.lines().any(|l| l.starts_with("ok")
                && l.contains(node)
                && l.contains("already replicates from 192.0.2.11")),
            "{check}"
        );
    }
    assert!(
        !check
            .lines()
            .any(|l| l.starts_with("WARNING") || l.starts_with("FATAL")),
        "{check}"
    );
    // add-db: a new database reaches both slaves.
    sql(
        "node1",
        "CREATE DATABASE grown; CREATE TABLE grown.t (n INT PRIMARY KEY); INSERT INTO grown.t VALUES (1), (2)",
    );
    let t = Instant::now();
    let out = on_ok(
        "node1",
        &[
            NODE_BIN,
            "add-db",
            "grown",
            "--answers",
            "/root/answers.toml",
            "--yes",
        ],
    );
    println!("--- add-db grown: {:.1} s", t.elapsed().as_secs_f64());
    assert!(
        out.contains(
            "second slave: 192.0.2.13 replicates shop, crm, web-stats, grown from 192.0.2.11"
        ),
        "{out}"
    );
    sql("node1", "INSERT INTO grown.t VALUES (3)");
    for node in ["node2", "node3"] {
        wait_until(
            &format!("grown's third row on {node}"),
            Duration::from_secs(20),
            || sql(node, "SELECT COUNT(*) FROM grown.t") == "3",
        );
    }
    prepare_app_on(APP_SECRET, &NODES);
    let ids: Vec<u64> = NODES.iter().map(|n| server_id(n)).collect();
    let id_of = |node: &str| ids[NODES.iter().position(|n| *n == node).unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let writers = Writers::start_on(dir.path(), &[VIP, "192.0.2.11", "192.0.2.12", "192.0.2.13"]);
    let (stop_sampling, sampler) = start_sampler_of(&NODES);
    std::thread::sleep(Duration::from_secs(3));

    // switchover needs a named node with two slaves.
    let unnamed = on("node1", &[NODE_BIN, "switchover", "--yes"]);
    assert!(
        !unnamed.status.success() && text(&unnamed).contains("--to NODE"),
        "{}",
        text(&unnamed)
    );
    // Under the writers to node3, the second slave; it stays master for
    // the crash below. node1 never replicated before: only the agent's
    // client can have given it TLS.
    let ts = now();
    let out = on_ok("node1", &[NODE_BIN, "switchover", "--to", "node3", "--yes"]);
    println!("--- switchover to node3:\n{out}");
    assert!(
        out.contains("node1, node2 run as slaves of node3 again"),
        "{out}"
    );
    wait_until(
        "a write through the cluster address on node3",
        Duration::from_secs(30),
        || first_address_ack(&writers, id_of("node3"), ts).is_some(),
    );
    let first = first_address_ack(&writers, id_of("node3"), ts).unwrap();
    for node in ["node1", "node2"] {
        wait_until(
            &format!("{node} replicating from node3"),
            Duration::from_secs(60),
            || replicates_from(node, "node3"),
        );
        replicates_over_tls(node, "node3");
    }
    let acks = writers.acks();
    never_two_masters(&acks, id_of("node1"), id_of("node3"), ts, "switchover");
    nothing_lost(&acks, "node3", "switchover");
    println!(
        "switchover node1 -> node3: first write through the address {:.2} s after the command",
        first - ts
    );
    // A run that takes [master] (node1) for the master stops before any
    // change and says how to move it back.
    let refused = on(
        "node1",
        &[NODE_BIN, "check", "--answers", "/root/answers.toml"],
    );
    let said = text(&refused);
    assert!(
        !refused.status.success()
            && said.contains("Pacemaker runs the master on node3 now")
            && said.contains("switchover --to node1"),
        "{said}"
    );
    // pause / resume: Pacemaker's maintenance mode, cluster-wide.
    on_ok("node1", &[NODE_BIN, "pause"]);
    assert!(crm("node2").unwrap().maintenance);
    let status = on_ok("node1", &[NODE_BIN, "status"]);
    assert!(status.contains("paused"), "{status}");
    on_ok("node1", &[NODE_BIN, "resume"]);
    assert!(!crm("node3").unwrap().maintenance);

    // The master (node3, the second slave of the setup) crashes.
    let crashed = "node3";
    let t0 = now();
    mysql_ha(&["sandbox", "crash", crashed]);
    let mut new_master = None;
    let promoted = wait_until(
        "node1 or node2 promoted with the cluster address",
        Duration::from_secs(90),
        || {
            new_master = promoted_among(&["node1", "node2"], "node2");
            new_master.is_some()
        },
    );
    let new_master = new_master.unwrap();
    let other = if new_master == "node2" {
        "node1"
    } else {
        "node2"
    };
    wait_until(
        "a write through the cluster address on the new master",
        Duration::from_secs(30),
        || first_address_ack(&writers, id_of(new_master), t0).is_some(),
    );
    let first = first_address_ack(&writers, id_of(new_master), t0).unwrap();
    let follows = wait_until(
        &format!("{other} replicating from {new_master}"),
        Duration::from_secs(60),
        || replicates_from(other, new_master),
    );
    println!(
        "crash: {new_master} promoted {:.1} s after the crash; first write through the address {:.2} s after it; {other} replicates from it {:.1} s later",
        promoted.as_secs_f64(),
        first - t0,
        follows.as_secs_f64()
    );
    // The agent pointed the other slave itself (RESET SLAVE ALL, then its
    // own CHANGE MASTER): still over TLS.
    replicates_over_tls(other, new_master);
    std::thread::sleep(Duration::from_secs(2));
    let acks = writers.acks();
    never_two_masters(&acks, id_of(crashed), id_of(new_master), t0, "master crash");
    nothing_lost(&acks, new_master, "master crash");
    nothing_lost(&acks, other, "master crash, on the other slave");

    // The old master boots: back as a slave of the new master, or kept out.
    let t1 = Instant::now();
    mysql_ha(&["sandbox", "boot", crashed]);
    let mut back = false;
    while t1.elapsed() < Duration::from_secs(90) {
        if crm(other).is_some_and(|s| s.unpromoted.contains(&crashed.to_string())) {
            back = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let state = crm(other).unwrap();
    println!("--- after {crashed} booted: {state:?}");
    assert!(state.online.contains(&crashed.to_string()), "{state:?}");
    assert_eq!(state.promoted, [new_master], "{state:?}");
    if back {
        wait_until(
            &format!("{crashed} replicating from {new_master}"),
            Duration::from_secs(60),
            || replicates_from(crashed, new_master),
        );
        println!(
            "{crashed} back as a slave of {new_master} {:.1} s after its boot",
            t1.elapsed().as_secs_f64()
        );
        replicates_over_tls(crashed, new_master);
    } else {
        assert!(!state.failures.is_empty(), "{state:?}");
        println!("{crashed} stays out: {:?}", state.failures);
    }

    // 3. The new master loses its link: the majority (the booted node and
    // the other slave) fences it through its BMC, then promotes one of them.
    let t2 = now();
    on_ok(new_master, &["ip", "link", "set", "eth0", "down"]);
    let candidates: Vec<&'static str> =
        NODES.iter().copied().filter(|n| *n != new_master).collect();
    let mut newest = None;
    let promoted = wait_until(
        "the majority promoting one of its nodes with the address",
        Duration::from_secs(90),
        || {
            newest = promoted_among(&candidates, other);
            newest.is_some()
        },
    );
    let newest = newest.unwrap();
    assert!(
        powered_off(new_master),
        "{newest} was promoted with {new_master} running"
    );
    let history = on_ok(other, &["stonith_admin", "--history", new_master]);
    assert!(history.contains("successful"), "{history}");
    wait_until(
        "a write through the cluster address on the newest master",
        Duration::from_secs(30),
        || first_address_ack(&writers, id_of(newest), t2).is_some(),
    );
    let first = first_address_ack(&writers, id_of(newest), t2).unwrap();
    println!(
        "partition: {new_master} fenced and {newest} promoted {:.1} s after the cut; first write through the address {:.2} s after it",
        promoted.as_secs_f64(),
        first - t2
    );
    // The majority's other node follows the newest master, over TLS, with
    // the agent's password (node1 and node2 logged in with our daemon's
    // before the hand-off).
    if back {
        let follower = candidates.iter().copied().find(|n| *n != newest).unwrap();
        wait_until(
            &format!("{follower} replicating from {newest}"),
            Duration::from_secs(60),
            || replicates_from(follower, newest),
        );
        replicates_over_tls(follower, newest);
    }
    std::thread::sleep(Duration::from_secs(2));
    let acks = writers.stop();
    stop_sampling.store(true, std::sync::atomic::Ordering::Relaxed);
    let both = sampler.join().unwrap();
    never_two_masters(
        &acks,
        id_of(new_master),
        id_of(newest),
        t2,
        "master cut off",
    );
    nothing_lost(&acks, newest, "master cut off");
    assert!(both.is_empty(), "two servers writable at {both:?}");
    println!(
        "e2e_pacemaker3: {} rows acknowledged, none lost, never two writable servers; {:.0} s",
        acks.len(),
        started.elapsed().as_secs_f64()
    );
    mysql_ha(&["sandbox", "down"]);
}
