//! `cluster.manager = "pacemaker"` on the sandbox: setup hands the
//! replicating pair to Pacemaker/Corosync (qnetd on `client` for the third
//! vote; no fencing accepted explicitly, except in 3, which fences through
//! the lab's virtual BMCs), and the cluster survives what our
//! own daemon survives, judged on the same timeline as e2e_faults: three
//! writers on the client (through the cluster address, straight to node1
//! and to node2) record which server acknowledged each row, and a sampler
//! reads both servers' read_only all along.
//!
//! 1. Hand-off: the master promoted where it ran, the address with it, the
//!    agent's password nowhere in the CIB, no mysql-ha daemon.
//! 2. The master crashes (`sandbox crash`): the slave is promoted, the
//!    address moves, no acknowledged row is lost; the old master boots and
//!    comes back as a slave or stays out, as the agent allows; `status`,
//!    `pause`/`resume` and, with the old master back, `switchover` to it
//!    work through Pacemaker.
//! 3. (a fresh lab, fencing through the lab's BMCs) The fence device is
//!    proven first as an administrator would (`stonith_admin --reboot` of
//!    the slave: its BMC powers it off; `--unfence` powers it on and it
//!    rejoins). Then the master loses its link: the side with the quorum
//!    device fences it through its BMC (the sandbox shows it powered off)
//!    and only then promotes the slave, so the two servers are never
//!    writable at once (zero overlap in the sampler), and no acknowledged
//!    row is lost; powered on again, the old master rejoins as a slave.
//!    The BMC password is in no CIB, log or file of ours on the nodes.
//! 4. (a fresh lab) A pair under our daemon is handed to Pacemaker by a
//!    re-run of setup, back to the daemon by another, to Pacemaker again;
//!    rolling that last run back stops Pacemaker and leaves the replicating
//!    pair under the daemon that ran before that run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::pacemaker::*;
use common::timeline::*;
use common::*;
use mysql_ha::setup::pacemaker::CrmState;

const APP_SECRET: &str = "App-Secret-pcmk-never-shown";

/// The lab's answers with Pacemaker as the manager, running without fencing
/// (the lab has no fence device; the answer says so explicitly).
fn pacemaker_answers() -> Vec<u8> {
    let answers = std::fs::read_to_string(lab_answers()).unwrap();
    assert!(answers.contains("\n[cluster]\n"), "{answers}");
    answers
        .replace(
            "\n[cluster]\n",
            "\n[cluster]\nmanager = \"pacemaker\"\nrun_without_fencing = true\n",
        )
        .into_bytes()
}

/// The lab's answers with Pacemaker fencing through the lab's BMCs (one
/// per node, `sandbox up` made them): fence_ipmilan, each node's own BMC
/// address, the BMCs' password as a secret answer. The lab turns
/// Pacemaker's reboot into power off: a fenced node stays off until it is
/// powered on (`stonith_admin --unfence`).
fn fenced_pacemaker_answers() -> Vec<u8> {
    let answers = std::fs::read_to_string(lab_answers()).unwrap();
    let password = std::fs::read_to_string(format!("{}/bmc/password", lab_dir())).unwrap();
    answers
        .replace(
            "\n[cluster]\n",
            &format!(
                "\n[cluster]\nmanager = \"pacemaker\"\nfence_agent = \"fence_ipmilan\"\n\
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
        .into_bytes()
}

/// A fresh lab handed to Pacemaker by setup on node1; returns its output.
fn fresh_pacemaker_cluster() -> String {
    fresh_cluster_with(&pacemaker_answers)
}

fn fresh_cluster_with(answers: &dyn Fn() -> Vec<u8>) -> String {
    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up"]);
    install_binary("node1");
    put_file("node1", "/root/answers.toml", &answers(), "600");
    let started = Instant::now();
    let out = setup_on_node1();
    println!(
        "--- setup with pacemaker ({:.1} s):\n{out}",
        started.elapsed().as_secs_f64()
    );
    out
}

#[test]
fn pacemaker_hand_off_and_a_crashed_master() {
    let _lock = lock_sandbox();
    let started = Instant::now();
    let out = fresh_pacemaker_cluster();
    assert!(
        out.contains("pacemaker: ms_db promoted on node1, unpromoted on node2"),
        "{out}"
    );
    assert!(
        out.contains("a row written through 192.0.2.10 landed on the master"),
        "{out}"
    );
    let state = crm("node2").unwrap();
    assert_eq!(state.promoted, ["node1"], "{state:?}");
    assert_eq!(state.unpromoted, ["node2"], "{state:?}");
    assert_eq!(state.vip.as_deref(), Some("node1"), "{state:?}");
    assert!(state.quorate, "{state:?}");
    // The third vote is the witness's qnetd, reached over TLS with a
    // client certificate both ways checked.
    let quorum = on_ok("node1", &["corosync-quorumtool", "-s"]);
    assert!(quorum.contains("Qdevice"), "{quorum}");
    assert!(quorum.contains("Total votes:      3"), "{quorum}");
    for node in ["node1", "node2"] {
        let qdevice = on_ok(node, &["corosync-qdevice-tool", "-sv"]);
        assert!(qdevice.contains("TLS:\t\t\tRequired"), "{qdevice}");
        assert!(
            qdevice.contains("TLS active:\t\tYes (client certificate sent)"),
            "{node}: {qdevice}"
        );
        // The PKCS#12 the key travelled in is root's only.
        let p12 = on_ok(
            node,
            &[
                "sh",
                "-c",
                "for f in /etc/corosync/qdevice/net/qdevice-net-node.p12 /etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12; do [ -e $f ] && stat -c '%a %U' $f; done; true",
            ],
        );
        assert_eq!(p12.trim(), "600 root", "{node}: {p12}");
    }
    let qnetd = on_ok("client", &["corosync-qnetd-tool", "-lv"]);
    println!("--- qnetd clients:\n{qnetd}");
    assert_eq!(
        qnetd
            .matches("TLS active:\t\tYes (client certificate verified)")
            .count(),
        2,
        "{qnetd}"
    );
    // The plan moved the files without showing them.
    assert!(
        out.contains("copy master 192.0.2.11:/etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 to /etc/corosync/qdevice/net/qdevice-net-node.p12 (mode 600, owner root:root)"),
        "{out}"
    );
    assert!(!out.contains("BEGIN"), "{out}");
    // No daemon of ours: Pacemaker is the manager.
    for node in ["node1", "node2"] {
        let processes = on_ok(node, &["ps", "-eo", "args"]);
        assert!(
            !processes.contains("mysql-ha daemon"),
            "a mysql-ha daemon runs on {node}: {processes}"
        );
        assert!(!on(node, &["test", "-e", "/etc/init.d/mysql-ha"])
            .status
            .success());
    }
    // The agent's password is in Pacemaker's root-only secrets, not the CIB.
    let password = on_ok(
        "node1",
        &[
            "cat",
            "/var/lib/pacemaker/lrm/secrets/p_db/replication_passwd",
        ],
    )
    .trim()
    .to_string();
    assert!(password.len() >= 12);
    let cib = on_ok("node1", &["cibadmin", "-Q"]);
    assert!(!cib.contains(&password), "the CIB holds the password");
    assert!(cib.contains("lrm://"), "{cib}");
    let mode = on_ok(
        "node2",
        &[
            "stat",
            "-c",
            "%a %U",
            "/var/lib/pacemaker/lrm/secrets/p_db/replication_passwd",
        ],
    );
    assert_eq!(mode.trim(), "600 root");
    // A second run changes nothing.
    let again = setup_on_node1();
    assert!(again.contains("nothing needed changing"), "{again}");

    prepare_app(APP_SECRET);
    let (id1, id2) = (server_id("node1"), server_id("node2"));
    let dir = tempfile::tempdir().unwrap();
    let writers = Writers::start(dir.path());
    let (stop_sampling, sampler) = start_sampler();
    std::thread::sleep(Duration::from_secs(3));

    // A re-run that restarts the master (an option it needs was taken out
    // of its file) holds Pacemaker in maintenance mode meanwhile: no failed
    // monitor, no demotion, no move; the slave reconnects at once.
    on_ok(
        "node1",
        &[
            "sed",
            "-i",
            "/^binlog-format/d",
            "/etc/mysql/mariadb.conf.d/60-mysql-ha.cnf",
        ],
    );
    let restarted = setup_on_node1();
    assert!(
        restarted.contains("maintenance-mode --update true"),
        "{restarted}"
    );
    assert!(
        restarted.contains("==> configure the master\n    changed"),
        "{restarted}"
    );
    let state = crm("node2").unwrap();
    assert_eq!(state.promoted, ["node1"], "{state:?}\n{restarted}");
    assert_eq!(state.vip.as_deref(), Some("node1"), "{state:?}");
    assert!(state.failures.is_empty(), "{state:?}\n{restarted}");
    assert!(!state.maintenance, "{state:?}");
    let acks = writers.acks();
    only_master_acked(&acks, id1, 0.0, now(), "setup re-run");
    let again = setup_on_node1();
    assert!(again.contains("nothing needed changing"), "{again}");

    // The master's host loses power.
    let t0 = now();
    mysql_ha(&["sandbox", "crash", "node1"]);
    let promoted = wait_until(
        "node2 promoted with the cluster address",
        Duration::from_secs(60),
        || promoted_with_address("node2", "node2"),
    );
    wait_until(
        "a write through the cluster address on node2",
        Duration::from_secs(30),
        || first_address_ack(&writers, id2, t0).is_some(),
    );
    let first = first_address_ack(&writers, id2, t0).unwrap();
    println!(
        "crash: node2 promoted {:.1} s after the crash; first write through the address {:.2} s after it",
        promoted.as_secs_f64(),
        first - t0
    );
    std::thread::sleep(Duration::from_secs(3));
    let acks = writers.acks();
    never_two_masters(&acks, id1, id2, t0, "master crash");
    nothing_lost(&acks, "node2", "master crash");

    // The old master boots: the agent starts its server as a slave of
    // node2, or (a transaction node2 never acknowledged) keeps it out.
    let t1 = now();
    mysql_ha(&["sandbox", "boot", "node1"]);
    let mut back = None;
    let limit = Instant::now();
    while limit.elapsed() < Duration::from_secs(90) {
        if let Some(state) = crm("node2") {
            if state.online.contains(&"node1".to_string()) && state.unpromoted == ["node1"] {
                back = Some(state);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let state = crm("node2").unwrap();
    println!("--- after node1 booted: {state:?}");
    assert!(state.online.contains(&"node1".to_string()), "{state:?}");
    assert_eq!(state.promoted, ["node2"], "{state:?}");
    assert_eq!(state.vip.as_deref(), Some("node2"), "{state:?}");
    if back.is_some() {
        let replica = sql("node1", "SHOW SLAVE STATUS\\G");
        assert!(replica.contains("192.0.2.12"), "{replica}");
        println!(
            "node1 came back as a slave of node2 {:.1} s after its boot",
            now() - t1
        );
    } else {
        // Kept out: the status says why.
        assert!(!state.failures.is_empty(), "{state:?}");
        println!("node1 stays out: {:?}", state.failures);
    }
    // Our commands on the Pacemaker cluster (run on node2: node1's /tmp
    // went with its crash).
    install_binary("node2");
    let status = on_ok("node2", &[NODE_BIN, "status"]);
    println!("--- status on node2:\n{status}");
    assert!(status.contains("manager: pacemaker"), "{status}");
    assert!(
        status.contains("address 192.0.2.10/24 (p_vip) on node2"),
        "{status}"
    );
    let json = on_ok("node2", &[NODE_BIN, "status", "--json"]);
    assert!(json.contains("\"promoted\": [\n    \"node2\""), "{json}");
    on_ok("node2", &[NODE_BIN, "pause"]);
    assert!(crm("node2").unwrap().maintenance);
    assert!(on_ok("node2", &[NODE_BIN, "status"]).contains("paused: maintenance mode is on"));
    if back.is_some() {
        // Pacemaker would not act: the switchover refuses before any change.
        let refused = on("node2", &[NODE_BIN, "switchover", "--yes"]);
        assert!(
            !refused.status.success()
                && text(&refused).contains("the cluster is paused (maintenance mode)"),
            "{}",
            text(&refused)
        );
    }
    on_ok("node2", &[NODE_BIN, "resume"]);
    assert!(!crm("node2").unwrap().maintenance);
    let mut final_master = "node2";
    if back.is_some() {
        assert!(
            status.contains("pair: whole: node2 (master) -> node1 (slave)"),
            "{status}"
        );
        // Its plan, shown by --dry-run, changes nothing.
        let dry = on_ok("node2", &[NODE_BIN, "switchover", "--dry-run"]);
        assert!(
            dry.contains("   run: crm_resource --move --resource ms_db --promoted --node node1")
                && dry.contains("dry run: nothing was changed"),
            "{dry}"
        );
        assert_eq!(crm("node2").unwrap().promoted, ["node2"]);
        // A planned switchover back to node1 under the writers.
        let t2 = now();
        let out = on_ok("node2", &[NODE_BIN, "switchover", "--yes"]);
        println!("--- switchover:\n{out}");
        assert!(out.contains("done: node1 is master"), "{out}");
        // Applied as the plan said, and journaled as a run on node2.
        let run_id = out
            .rsplit(", run ")
            .next()
            .and_then(|rest| rest.split(')').next())
            .unwrap();
        let journal = on_ok(
            "node2",
            &[
                "cat",
                &format!("/var/lib/mysql-ha/runs/{run_id}/journal.jsonl"),
            ],
        );
        assert!(
            journal.contains("switchover through Pacemaker from node2 to node1")
                && journal.contains("\"--move\"")
                && journal.contains("\"--clear\""),
            "{journal}"
        );
        assert!(promoted_with_address("node1", "node2"));
        wait_until(
            "a write through the cluster address on node1",
            Duration::from_secs(30),
            || first_address_ack(&writers, id1, t2).is_some(),
        );
        let acks = writers.acks();
        never_two_masters(&acks, id2, id1, t2, "switchover");
        // The agent points node2 at node1 itself (with no TLS options): the
        // replication account takes it.
        wait_until(
            "node2 replicating from node1",
            Duration::from_secs(60),
            || {
                // The agent may restart node2's server meanwhile: a refused
                // connection is "not yet".
                let status = text(&on("node2", &["mariadb", "-e", "SHOW SLAVE STATUS\\G"]));
                status.contains("Master_Host: 192.0.2.11")
                    && status.contains("Slave_IO_Running: Yes")
                    && status.contains("Slave_SQL_Running: Yes")
            },
        );
        final_master = "node1";
    }
    std::thread::sleep(Duration::from_secs(2));
    let acks = writers.stop();
    stop_sampling.store(true, std::sync::atomic::Ordering::Relaxed);
    let both = sampler.join().unwrap();
    assert!(both.is_empty(), "both servers writable at {both:?}");
    nothing_lost(&acks, final_master, "at the end");
    println!(
        "e2e_pacemaker crash: {} rows acknowledged, none lost; {:.0} s",
        acks.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Powers a fenced node on through its BMC, as an administrator does once
/// they looked at it (`stonith_admin --unfence`, run on `from`), then
/// waits for it to come back: as a slave, or kept out with a clear status.
fn power_on_and_rejoin(node: &str, from: &str, also: &dyn Fn()) -> Option<CrmState> {
    let t = Instant::now();
    on_ok(from, &["stonith_admin", "--unfence", node]);
    wait_until("the node powered on", Duration::from_secs(60), || {
        !powered_off(node)
    });
    also();
    let limit = Instant::now();
    while limit.elapsed() < Duration::from_secs(90) {
        if let Some(state) = crm(from) {
            if state.online.contains(&node.to_string()) && state.unpromoted == [node] {
                println!(
                    "{node} powered on by its BMC and back as a slave {:.1} s after `stonith_admin --unfence`",
                    t.elapsed().as_secs_f64()
                );
                return Some(state);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let state = crm(from).unwrap();
    println!("--- {node} not back as a slave: {state:?}");
    assert!(
        state.online.contains(&node.to_string()),
        "{node} did not rejoin: {state:?}"
    );
    assert!(!state.failures.is_empty(), "{state:?}");
    None
}

#[test]
fn pacemaker_fences_a_cut_off_master_before_promoting_the_slave() {
    let _lock = lock_sandbox();
    let started = Instant::now();
    let out = fresh_cluster_with(&fenced_pacemaker_answers);
    assert!(
        out.contains("pacemaker: ms_db promoted on node1, unpromoted on node2"),
        "{out}"
    );
    // Fencing is on, one device per node, run by the other node, and the
    // BMCs' password is in Pacemaker's root-only secrets, not the CIB.
    let password = std::fs::read_to_string(format!("{}/bmc/password", lab_dir())).unwrap();
    let password = password.trim();
    assert!(!out.contains(password), "setup printed the BMC password");
    assert!(
        out.contains("fencing: stonith-enabled=true, p_fence_node1 (fence_ipmilan) fences node1"),
        "{out}"
    );
    let cib = on_ok("node1", &["cibadmin", "-Q"]);
    assert!(
        cib.contains("name=\"stonith-enabled\" value=\"true\""),
        "{cib}"
    );
    assert!(!cib.contains(password), "the CIB holds the BMC password");
    for (device, fences, runs_on) in [
        ("p_fence_node1", "node1", "node2"),
        ("p_fence_node2", "node2", "node1"),
    ] {
        assert!(cib.contains(&format!("id=\"{device}\"")), "{cib}");
        for holder in ["node1", "node2"] {
            let mode = on_ok(
                holder,
                &[
                    "stat",
                    "-c",
                    "%a %U",
                    &format!("/var/lib/pacemaker/lrm/secrets/{device}/password"),
                ],
            );
            assert_eq!(mode.trim(), "600 root", "{device} on {holder}");
        }
        // Started (its monitor logged in to the BMC), never on the node it
        // fences.
        let placed = on_ok("node1", &["crm_resource", "--locate", "--resource", device]);
        assert!(
            placed.contains(&format!("running on: {runs_on}")),
            "{device} fences {fences}: {placed}"
        );
    }

    // A re-run without fencing takes the devices out of the CIB (a load
    // that merges would leave them fencing with old settings), and one
    // with fencing again puts them back.
    put_file("node1", "/root/answers.toml", &pacemaker_answers(), "600");
    let out = setup_on_node1();
    assert!(
        out.contains("crm configure delete --force p_fence_node1"),
        "{out}"
    );
    let cib = on_ok("node1", &["cibadmin", "-Q"]);
    assert!(!cib.contains("p_fence_node"), "{cib}");
    assert!(!cib.contains("priority-fencing-delay"), "{cib}");
    assert!(
        cib.contains("name=\"stonith-enabled\" value=\"false\""),
        "{cib}"
    );
    put_file(
        "node1",
        "/root/answers.toml",
        &fenced_pacemaker_answers(),
        "600",
    );
    setup_on_node1();
    let cib = on_ok("node1", &["cibadmin", "-Q"]);
    for device in ["p_fence_node1", "p_fence_node2"] {
        assert!(cib.contains(&format!("id=\"{device}\"")), "{cib}");
    }
    wait_until(
        "both fence devices started",
        Duration::from_secs(60),
        || {
            ["p_fence_node1", "p_fence_node2"].iter().all(|device| {
                on("node1", &["crm_resource", "--locate", "--resource", device])
                    .stdout
                    .windows(b"running on".len())
                    .any(|w| w == b"running on")
            })
        },
    );

    // The administrator proves the fence device before trusting it: the
    // slave powered off through its BMC, then on again.
    let t = Instant::now();
    let fenced = on_ok("node1", &["stonith_admin", "--reboot", "node2"]);
    println!("--- stonith_admin --reboot node2:\n{fenced}");
    assert!(powered_off("node2"), "node2 still runs after its fencing");
    let history = on_ok("node1", &["stonith_admin", "--history", "node2"]);
    assert!(history.contains("successful"), "{history}");
    println!(
        "fence device proven: node2 powered off by its BMC in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert!(power_on_and_rejoin("node2", "node1", &|| ()).is_some());

    prepare_app(APP_SECRET);
    let (id1, id2) = (server_id("node1"), server_id("node2"));
    let dir = tempfile::tempdir().unwrap();
    let writers = Writers::start(dir.path());
    let (stop_sampling, sampler) = start_sampler();
    std::thread::sleep(Duration::from_secs(3));

    // node1 (the master) is cut off from node2 and from the quorum device:
    // node2 keeps quorum, fences node1 through node1's BMC, then promotes.
    let t0 = now();
    on_ok("node1", &["ip", "link", "set", "eth0", "down"]);
    let promoted = wait_until(
        "node2 promoted with the cluster address",
        Duration::from_secs(60),
        || promoted_with_address("node2", "node2"),
    );
    assert!(
        powered_off("node1"),
        "node2 was promoted with node1 running"
    );
    // By its BMC (the chassis control logs each power change).
    let bmc_log = std::fs::read_to_string(format!("{}/bmc/node1.log", lab_dir())).unwrap();
    assert!(bmc_log.contains("BMC: powering node1 off"), "{bmc_log}");
    let history = on_ok("node2", &["stonith_admin", "--history", "node1"]);
    println!("--- fencing history of node1:\n{history}");
    assert!(history.contains("successful"), "{history}");
    wait_until(
        "a write through the cluster address on node2",
        Duration::from_secs(30),
        || first_address_ack(&writers, id2, t0).is_some(),
    );
    let first = first_address_ack(&writers, id2, t0).unwrap();
    println!(
        "partition: node1 fenced and node2 promoted {:.1} s after the cut; first write through the address {:.2} s after it",
        promoted.as_secs_f64(),
        first - t0
    );
    std::thread::sleep(Duration::from_secs(2));
    let acks = writers.stop();
    stop_sampling.store(true, std::sync::atomic::Ordering::Relaxed);
    let both = sampler.join().unwrap();
    never_two_masters(&acks, id1, id2, t0, "master cut off");
    nothing_lost(&acks, "node2", "master cut off");
    // Fencing closes the window: node2 is promoted only once node1 is off.
    assert!(both.is_empty(), "both servers writable at {both:?}");

    // node1 is powered on again (its cable plugged back in first: the cut
    // was inside it) and comes back as a slave of node2, or stays out.
    power_on_and_rejoin("node1", "node2", &|| {
        wait_until("node1 answers", Duration::from_secs(30), || {
            on("node1", &["ip", "link", "set", "eth0", "up"])
                .status
                .success()
        });
    });
    let state = crm("node2").unwrap();
    println!("--- healed: {state:?}");
    assert_eq!(state.promoted, ["node2"], "{state:?}");
    // After setup, a proof and a real fencing: the BMC password is in no
    // log, stored CIB or file of ours on either node (the pattern goes by
    // file, not on a command line).
    for node in ["node1", "node2"] {
        put_file(node, "/root/.bmc-pattern", password.as_bytes(), "600");
        let found = on_ok(
            node,
            &[
                "sh",
                "-c",
                "grep -rlF -f /root/.bmc-pattern /var/log /var/lib/pacemaker/cib /etc/mysql-ha /var/lib/mysql-ha /etc/corosync 2>/dev/null; rm -f /root/.bmc-pattern",
            ],
        );
        assert!(
            found.trim().is_empty(),
            "the BMC password on {node} in: {found}"
        );
    }
    println!(
        "e2e_pacemaker fenced partition: {} rows acknowledged, none lost, never two writable servers; {:.0} s",
        acks.len(),
        started.elapsed().as_secs_f64()
    );
    mysql_ha(&["sandbox", "down"]);
}

#[test]
fn switching_between_our_daemon_and_pacemaker_and_rolling_back() {
    let _lock = lock_sandbox();
    let started = Instant::now();
    // A pair under our own daemon, then the same setup with Pacemaker.
    let out = fresh_cluster_from_node1();
    assert!(out.contains("done"), "{out}");
    put_file("node1", "/root/answers.toml", &pacemaker_answers(), "600");
    let out = setup_on_node1();
    println!("--- setup with pacemaker over the daemon:\n{out}");
    assert!(
        out.contains("pacemaker: ms_db promoted on node1, unpromoted on node2"),
        "{out}"
    );
    for node in ["node1", "node2"] {
        let processes = on_ok(node, &["ps", "-eo", "args"]);
        assert!(
            !processes.contains("mysql-ha daemon"),
            "the daemon still runs on {node}: {processes}"
        );
    }

    // Back to our daemon by a re-run with the daemon's answers.
    put_file(
        "node1",
        "/root/answers.toml",
        &std::fs::read(lab_answers()).unwrap(),
        "600",
    );
    let out = setup_on_node1();
    println!("--- setup with our daemon over pacemaker:\n{out}");
    assert!(out.contains("leave pacemaker"), "{out}");
    for node in ["node1", "node2"] {
        for program in ["pacemakerd", "corosync"] {
            assert!(
                !on(node, &["pidof", program]).status.success(),
                "{program} still runs on {node}"
            );
        }
        let processes = on_ok(node, &["ps", "-eo", "args"]);
        assert!(processes.contains("mysql-ha daemon"), "{processes}");
    }
    assert!(!on("client", &["pidof", "corosync-qnetd"]).status.success());

    // Pacemaker once more; that run is the one rolled back. node2 lost
    // its quorum device certificates meanwhile: the run gives it the
    // cluster certificate node1 holds (no new CA, nothing signed again).
    on_ok("node2", &["rm", "-rf", "/etc/corosync/qdevice"]);
    let node1_db = on_ok(
        "node1",
        &["sha256sum", "/etc/corosync/qdevice/net/nssdb/cert9.db"],
    );
    let qnetd_ca = on_ok(
        "client",
        &["sha256sum", "/etc/corosync/qnetd/nssdb/cert9.db"],
    );
    put_file("node1", "/root/answers.toml", &pacemaker_answers(), "600");
    let out = setup_on_node1();
    assert!(
        out.contains("pacemaker: ms_db promoted on node1, unpromoted on node2"),
        "{out}"
    );
    assert!(!out.contains("== sign the cluster certificate"), "{out}");
    assert!(
        out.contains("copy master 192.0.2.11:/etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12"),
        "{out}"
    );
    wait_until("node2's qdevice over TLS", Duration::from_secs(30), || {
        on_ok("node2", &["corosync-qdevice-tool", "-sv"])
            .contains("TLS active:\t\tYes (client certificate sent)")
    });
    let run_id = out
        .split("; run ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap()
        .to_string();

    // Rolling that run back leaves the replicating pair under our daemon
    // again, no Pacemaker.
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
    println!("--- rollback {run_id}:\n{out}");
    for node in ["node1", "node2"] {
        for program in ["pacemakerd", "corosync", "corosync-qdevice"] {
            assert!(
                !on(node, &["pidof", program]).status.success(),
                "{program} still runs on {node}"
            );
        }
        let cib = on_ok(node, &["sh", "-c", "ls /var/lib/pacemaker/cib/ | wc -l"]);
        assert_eq!(cib.trim(), "0", "the CIB is left on {node}");
        let links = on_ok(node, &["ls", "/etc/rc2.d"]);
        assert!(links.contains("S01mariadb"), "{links}");
        assert!(!links.contains("S01pacemaker"), "{links}");
    }
    assert!(!on("client", &["pidof", "corosync-qnetd"]).status.success());
    // The certificates this run made go (node2's qdevice folder); those
    // of earlier runs (node1's database) and the qnetd CA the package
    // made stay.
    assert!(!on("node2", &["test", "-e", "/etc/corosync/qdevice/net"])
        .status
        .success());
    assert_eq!(
        on_ok(
            "node1",
            &["sha256sum", "/etc/corosync/qdevice/net/nssdb/cert9.db"]
        ),
        node1_db
    );
    assert_eq!(
        on_ok(
            "client",
            &["sha256sum", "/etc/corosync/qnetd/nssdb/cert9.db"]
        ),
        qnetd_ca
    );
    // The run being undone had switched a pair under our daemon: rollback
    // starts that daemon again (it ran before the run), and it holds the
    // cluster address on the master.
    for node in ["node1", "node2"] {
        let processes = on_ok(node, &["ps", "-eo", "args"]);
        assert!(processes.contains("mysql-ha daemon"), "{node}: {processes}");
    }
    wait_until(
        "the daemon holding the cluster address on node1",
        Duration::from_secs(30),
        || on_ok("node1", &["ip", "-o", "addr", "show", "dev", "eth0"]).contains(" 192.0.2.10/"),
    );
    let addresses = on_ok("node2", &["ip", "-o", "addr", "show", "dev", "eth0"]);
    assert!(!addresses.contains(" 192.0.2.10/"), "{addresses}");
    wait_until("replication running", Duration::from_secs(30), || {
        // A refused or broken connection (the server restarting) is "not yet".
        let replica = text(&on("node2", &["mariadb", "-e", "SHOW SLAVE STATUS\\G"]));
        replica.matches("Yes").count() >= 2 && replica.contains("192.0.2.11")
    });
    sql(
        "node1",
        "USE shop; CREATE TABLE after_rollback (n INT PRIMARY KEY); INSERT INTO after_rollback VALUES (7)",
    );
    wait_until("a row on node2", Duration::from_secs(20), || {
        on(
            "node2",
            &["mariadb", "-N", "-e", "SELECT n FROM shop.after_rollback"],
        )
        .stdout
        .starts_with(b"7")
    });
    println!(
        "e2e_pacemaker switch and rollback: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    mysql_ha(&["sandbox", "down"]);
}
