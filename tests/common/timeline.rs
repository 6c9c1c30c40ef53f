//! The timeline of a fault test: writers on the client that record which
//! server acknowledged each row, a sampler of writable nodes, and the
//! checks made on the whole timeline (shared by e2e_faults and
//! e2e_pacemaker).

use std::time::Duration;

use super::*;

pub const VIP: &str = "192.0.2.10";

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// One acknowledged row: its number, the server id that acknowledged it,
/// which writer sent it, and when.
#[derive(Debug, Clone)]
pub struct Ack {
    pub n: u64,
    pub server_id: u64,
    pub at: f64,
}

pub struct Writers {
    children: Vec<std::process::Child>,
    outputs: Vec<std::path::PathBuf>,
}

pub const WRITER: &str = r#"host=$1; base=$2; i=1
while [ ! -f /tmp/stop-fault-writers ]; do
  n=$((base+i)); i=$((i+1))
  if out=$(timeout 3 mariadb -h "$host" -N -e "INSERT INTO shop.ha_faults VALUES ($n, @@server_id, NOW(6)); SELECT @@server_id" 2>/dev/null); then
    echo "ack $n $out $(date +%s.%N)"; sleep 0.05
  else
    echo "fail $n $(date +%s.%N)"; sleep 0.2
  fi
done
"#;

impl Writers {
    /// Writers through the cluster address, straight to node1 and to node2.
    pub fn start(dir: &std::path::Path) -> Writers {
        Writers::start_on(dir, &[VIP, "192.0.2.11", "192.0.2.12"])
    }

    /// One writer per address, the first numbering its rows from
    /// 10,000,000, the next from 20,000,000, and so on.
    pub fn start_on(dir: &std::path::Path, hosts: &[&str]) -> Writers {
        put_file("client", "/root/fault-writer.sh", WRITER.as_bytes(), "755");
        let _ = on("client", &["rm", "-f", "/tmp/stop-fault-writers"]);
        let mut children = Vec::new();
        let mut outputs = Vec::new();
        for (i, host) in hosts.iter().enumerate() {
            let output = dir.join(format!("writer-{i}.out"));
            let file = std::fs::File::create(&output).unwrap();
            let base = ((i as u64) + 1) * 10_000_000;
            children.push(
                std::process::Command::new(BIN)
                    .args([
                        "sandbox",
                        "exec",
                        "client",
                        "--",
                        "sh",
                        "/root/fault-writer.sh",
                    ])
                    .arg(host)
                    .arg(base.to_string())
                    .stdin(std::process::Stdio::null())
                    .stdout(file)
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap(),
            );
            outputs.push(output);
        }
        Writers { children, outputs }
    }

    pub fn acks(&self) -> Vec<Ack> {
        let mut acks = Vec::new();
        for output in &self.outputs {
            for line in std::fs::read_to_string(output).unwrap_or_default().lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                if words.len() == 4 && words[0] == "ack" {
                    if let (Ok(n), Ok(server_id), Ok(at)) =
                        (words[1].parse(), words[2].parse(), words[3].parse())
                    {
                        acks.push(Ack { n, server_id, at });
                    }
                }
            }
        }
        acks.sort_by(|a, b| a.at.total_cmp(&b.at));
        acks
    }

    pub fn stop(mut self) -> Vec<Ack> {
        on_ok("client", &["touch", "/tmp/stop-fault-writers"]);
        for child in &mut self.children {
            let _ = child.wait();
        }
        self.acks()
    }
}

pub fn server_id(node: &str) -> u64 {
    sql(node, "SELECT @@server_id").parse().unwrap()
}

/// Every acknowledgement in [from, to] came from `master` alone.
pub fn only_master_acked(acks: &[Ack], master: u64, from: f64, to: f64, what: &str) {
    let others: Vec<&Ack> = acks
        .iter()
        .filter(|a| a.at >= from && a.at <= to && a.server_id != master)
        .collect();
    assert!(
        others.is_empty(),
        "{what}: rows acknowledged by a server that is not the master: {others:?}"
    );
}

/// No acknowledgement by `old` once `new` acknowledged its first row.
pub fn never_two_masters(acks: &[Ack], old: u64, new: u64, from: f64, what: &str) {
    let first_new = acks
        .iter()
        .find(|a| a.at >= from && a.server_id == new)
        .unwrap_or_else(|| panic!("{what}: the new master acknowledged nothing"));
    let late: Vec<&Ack> = acks
        .iter()
        .filter(|a| a.at >= first_new.at && a.server_id == old)
        .collect();
    assert!(
        late.is_empty(),
        "{what}: the old master acknowledged rows after the new master's first at {}: {late:?}",
        first_new.at
    );
    println!(
        "{what}: first row on the new master {:.2} s after the fault",
        first_new.at - from
    );
}

/// Some row was acknowledged by `master` in [from, to].
pub fn master_kept_serving(acks: &[Ack], master: u64, from: f64, to: f64, what: &str) {
    assert!(
        acks.iter()
            .any(|a| a.at >= from && a.at <= to && a.server_id == master),
        "{what}: the master acknowledged nothing between {from} and {to}"
    );
}

/// Every acknowledged row is on `node`.
pub fn nothing_lost(acks: &[Ack], node: &str, what: &str) {
    let present: std::collections::HashSet<u64> = sql(node, "SELECT n FROM shop.ha_faults")
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let missing: Vec<u64> = acks
        .iter()
        .map(|a| a.n)
        .filter(|n| !present.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "{what}: acknowledged rows missing on the master {node}: {missing:?}"
    );
}

/// The cluster address takes writes again within 15 s of `healed`.
pub fn address_back(writers: &Writers, healed: f64, vip_writer_ids: &[u64], what: &str) {
    wait_until(
        &format!("{what}: a write through the cluster address"),
        Duration::from_secs(15),
        || {
            writers
                .acks()
                .iter()
                .any(|a| a.at > healed && a.n < 20_000_000 && vip_writer_ids.contains(&a.server_id))
        },
    );
}

/// Both nodes as the daemons report them, until `stop` is set; returns the
/// moments when the two servers were writable at once.
pub fn sample_writable(stop: &std::sync::atomic::AtomicBool) -> Vec<f64> {
    sample_writable_of(stop, &["node1", "node2"])
}

/// `nodes`' read_only until `stop` is set; returns the moments when two or
/// more of them were writable at once.
pub fn sample_writable_of(stop: &std::sync::atomic::AtomicBool, nodes: &[&str]) -> Vec<f64> {
    let mut both = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let at = now();
        let writable: Vec<bool> = nodes
            .iter()
            .map(|n| {
                on(
                    n,
                    &["timeout", "1", "mariadb", "-N", "-e", "SELECT @@read_only"],
                )
                .stdout
                .starts_with(b"0")
            })
            .collect();
        if writable.iter().filter(|w| **w).count() >= 2 {
            both.push(at);
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    both
}

/// The application's account, its table (ha_faults, replicated to node2),
/// and the client's option file for the writers.
pub fn prepare_app(app_secret: &str) {
    prepare_app_on(app_secret, &["node1", "node2"]);
}

/// `prepare_app` with these nodes, node1 the master (the table is made
/// there and waited for on the others).
pub fn prepare_app_on(app_secret: &str, nodes: &[&str]) {
    create_app_account_on(app_secret, nodes);
    sql(
        "node1",
        "USE shop; CREATE TABLE ha_faults (n BIGINT PRIMARY KEY, server_id INT NOT NULL, at DATETIME(6) NOT NULL)",
    );
    for node in &nodes[1..] {
        wait_until(
            &format!("the table on {node}"),
            Duration::from_secs(20),
            || {
                on(
                    node,
                    &["mariadb", "-e", "SELECT 1 FROM shop.ha_faults LIMIT 0"],
                )
                .status
                .success()
            },
        );
    }
    put_file(
        "client",
        "/root/.my.cnf",
        format!("[client]\nuser = app\npassword = {app_secret}\nconnect-timeout = 1\n").as_bytes(),
        "600",
    );
}

/// Samples which servers are writable until the flag is set.
pub fn start_sampler() -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<Vec<f64>>,
) {
    start_sampler_of(&["node1", "node2"])
}

/// Samples which of `nodes` are writable until the flag is set; the
/// moments when two or more were.
pub fn start_sampler_of(
    nodes: &'static [&'static str],
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<Vec<f64>>,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handle = {
        let stop = stop.clone();
        std::thread::spawn(move || sample_writable_of(&stop, nodes))
    };
    (stop, handle)
}
