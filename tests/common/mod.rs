//! Shared by the end-to-end tests: the real binary, the lab, and a lock so
//! that tests needing the one sandbox of this machine never overlap, even
//! across test binaries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod pacemaker;
pub mod timeline;

use std::fs::File;
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_mysql-ha");

/// Held for the whole test: the sandbox is a machine-wide resource. Its
/// watchdog ends the test binary when one test holds the lab longer than
/// any test needs: a hung test must fail with what was running, not eat
/// the whole CI budget in silence.
pub struct SandboxLock {
    _file: File,
    _watchdog: std::sync::mpsc::Sender<()>,
}

/// No end-to-end test holds the lab this long (the longest takes about 5 min).
const TEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(20 * 60);

/// No single command of a test runs this long (a rejoin that copies the data
/// again takes about 1 min).
const COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Every process of this machine as a tree, written straight to stderr
/// (past the test harness's capture, which a process exit would discard).
pub fn dump_processes(why: &str) {
    use std::io::Write;
    let tree = Command::new("ps")
        .args(["-eo", "pid,ppid,stat,etimes,args", "--forest"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let status = Command::new(BIN)
        .args(["sandbox", "status"])
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let _ = writeln!(
        std::io::stderr(),
        "\n==== {why}\n==== sandbox status:\n{status}\n==== processes:\n{tree}"
    );
}

fn start_watchdog(limit: std::time::Duration) -> std::sync::mpsc::Sender<()> {
    let (done, watched) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = watched.recv_timeout(limit) {
            dump_processes(&format!(
                "watchdog: a test held the sandbox for over {} min; ending the test binary",
                limit.as_secs() / 60
            ));
            std::process::exit(101);
        }
    });
    done
}

/// The lab these tests use: the default one, or the one named by
/// MYSQL_HA_SANDBOX (so several checkouts can test at once).
pub fn lab_name() -> String {
    std::env::var("MYSQL_HA_SANDBOX").unwrap_or_default()
}

/// State folder of the lab (holds answers.toml).
pub fn lab_dir() -> String {
    match lab_name().as_str() {
        "" => "/var/lib/mysql-ha-sandbox".to_string(),
        name => format!("/var/lib/mysql-ha-sandbox-{name}"),
    }
}

pub fn lab_answers() -> String {
    format!("{}/answers.toml", lab_dir())
}

pub fn lock_sandbox() -> SandboxLock {
    assert!(
        nix::unistd::geteuid().is_root(),
        "end-to-end tests build a sandbox and must run as root (see README)"
    );
    let file =
        File::create(format!("/run/mysql-ha-sandbox{}-tests.lock", lab_name())).expect("lock file");
    file.lock().expect("lock the sandbox");
    SandboxLock {
        _file: file,
        _watchdog: start_watchdog(TEST_LIMIT),
    }
}

/// Runs the tool; panics with its output when it fails.
pub fn mysql_ha(args: &[&str]) -> String {
    let out = mysql_ha_output(args);
    assert!(
        out.status.success(),
        "mysql-ha {} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the tool and collects its output; panics, after printing every
/// process of the machine, when it runs past COMMAND_LIMIT.
pub fn mysql_ha_output(args: &[&str]) -> Output {
    use std::io::Read;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mysql-ha");
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    // Done when it exited and closed its output (a process it left running
    // with the same pipes would keep a plain `output()` waiting forever).
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for mysql-ha") {
            if stdout.is_finished() && stderr.is_finished() {
                break status;
            }
        }
        if started.elapsed() > COMMAND_LIMIT {
            dump_processes(&format!(
                "mysql-ha {} still runs after {} s",
                args.join(" "),
                COMMAND_LIMIT.as_secs()
            ));
            let _ = child.kill();
            panic!(
                "mysql-ha {} ran past {} s (processes printed above)",
                args.join(" "),
                COMMAND_LIMIT.as_secs()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Runs a command on a lab host; returns its output whatever the exit code.
pub fn on(host: &str, argv: &[&str]) -> Output {
    let mut args = vec!["sandbox", "exec", host, "--"];
    args.extend_from_slice(argv);
    mysql_ha_output(&args)
}

/// Runs a command on a lab host; panics unless it succeeds; returns stdout.
pub fn on_ok(host: &str, argv: &[&str]) -> String {
    let out = on(host, argv);
    assert!(
        out.status.success(),
        "on {host}: {} failed ({}):\n{}{}",
        argv.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One SQL query on a lab host through its socket, as root; tab-separated rows.
pub fn sql(host: &str, query: &str) -> String {
    on_ok(
        host,
        &[
            sql_client(host),
            "--batch",
            "--skip-column-names",
            "-e",
            query,
        ],
    )
    .trim_end()
    .to_string()
}

/// The command-line client of a lab host's server: `mysql` on the
/// debian-sid-mysql image (no MariaDB client there), else `mariadb`.
pub fn sql_client(host: &str) -> &'static str {
    let image =
        std::fs::read_to_string(format!("{}/hosts/{host}/image", lab_dir())).unwrap_or_default();
    if image.trim() == "debian-sid-mysql" {
        "mysql"
    } else {
        "mariadb"
    }
}

pub fn netns_list() -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    names.sort();
    names
}

pub fn mount_points() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut points: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .collect();
    points.sort();
    points
}

/// Pids of processes whose command line contains `needle`.
pub fn processes_matching(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            if String::from_utf8_lossy(&raw)
                .replace('\0', " ")
                .contains(needle)
            {
                pids.push(pid);
            }
        }
    }
    pids
}

/// Copies the binary under test onto a lab host as /tmp/mysql-ha (a host's
/// view of the build tree may be stale: the overlay's lower layer is read once).
pub fn install_binary(host: &str) {
    let bytes = std::fs::read(BIN).unwrap();
    put_file(host, NODE_BIN, &bytes, "755");
}

/// Where `install_binary` puts the tool on a host.
pub const NODE_BIN: &str = "/tmp/mysql-ha";

/// Writes a file on a lab host (contents on stdin, never on a command line).
pub fn put_file(host: &str, path: &str, bytes: &[u8], mode: &str) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["sandbox", "exec", host, "--", "sh", "-c"])
        .arg(format!("cat > {path} && chmod {mode} {path}"))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    assert!(child.wait().unwrap().success());
}

/// The run id a changing command reports ("...; run ID)").
pub fn run_id_of(report: &str) -> String {
    report
        .split("; run ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no run id in:\n{report}"))
        .to_string()
}

/// stdout and stderr of a finished command, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// CHECKSUM TABLE of these tables on a host, one line per table.
pub fn checksums(host: &str, tables: &[&str]) -> String {
    sql(host, &format!("CHECKSUM TABLE {}", tables.join(", ")))
}

/// Watches every process of the machine (the lab's hosts included) for any
/// of `secrets` on a command line, every 5 ms, until `finish`.
pub struct CmdlineWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<(u64, Vec<String>)>,
}

impl CmdlineWatch {
    pub fn start(secrets: Vec<String>) -> CmdlineWatch {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut samples = 0;
            let mut hits = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    if let Ok(raw) = std::fs::read(entry.path().join("cmdline")) {
                        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
                        if secrets.iter().any(|s| line.contains(s.as_str())) {
                            hits.push(line);
                        }
                    }
                }
                samples += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            (samples, hits)
        });
        CmdlineWatch { stop, handle }
    }

    /// Stops watching; returns how many sweeps ran and every hit.
    pub fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

/// Polls `check` every 200 ms; panics after `limit`. Returns how long it
/// took.
pub fn wait_until(
    what: &str,
    limit: std::time::Duration,
    mut check: impl FnMut() -> bool,
) -> std::time::Duration {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if check() {
            return started.elapsed();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("timed out after {} s waiting for {what}", limit.as_secs());
}

/// The cluster daemon's event log on a host.
pub fn daemon_log(host: &str) -> String {
    on_ok(host, &["cat", "/var/log/mysql-ha.log"])
}

/// A fresh lab set up from node1 with the lab's answers (copied to
/// /root/answers.toml on node1); returns setup's output.
pub fn fresh_cluster_from_node1() -> String {
    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up"]);
    install_binary("node1");
    let answers = std::fs::read(lab_answers()).unwrap();
    put_file("node1", "/root/answers.toml", &answers, "600");
    setup_on_node1()
}

/// `setup --yes` on node1 with its /root/answers.toml; returns its output.
pub fn setup_on_node1() -> String {
    let out = on(
        "node1",
        &[
            NODE_BIN,
            "setup",
            "--answers",
            "/root/answers.toml",
            "--yes",
        ],
    );
    assert!(out.status.success(), "setup failed:\n{}", text(&out));
    text(&out)
}

/// The application's account on both nodes (each its own, not replicated),
/// its table on the master (seen replicated to node2), and on the client a
/// 0600 option file for the cluster address and /root/writer.sh, which
/// writes numbered rows: `ack N TIME` once the server confirmed row N,
/// `fail N TIME` when it did not (the same row is tried again; a row
/// committed but not confirmed does not stop it).
pub fn prepare_writer(secret: &str) {
    create_app_account(secret);
    sql(
        "node1",
        "USE shop; CREATE TABLE ha_writer (n INT PRIMARY KEY, at DATETIME(6) NOT NULL)",
    );
    wait_until(
        "the writer's table on node2",
        std::time::Duration::from_secs(20),
        || {
            on(
                "node2",
                &[
                    sql_client("node2"),
                    "-e",
                    "SELECT 1 FROM shop.ha_writer LIMIT 0",
                ],
            )
            .status
            .success()
        },
    );
    put_file(
        "client",
        "/root/.my.cnf",
        format!(
            "[client]\nuser = app\npassword = {secret}\nhost = 192.0.2.10\nconnect-timeout = 1\n"
        )
        .as_bytes(),
        "600",
    );
    let script = r#"i=1
while [ ! -f /tmp/stop-writer ]; do
  if mariadb -e "INSERT INTO shop.ha_writer VALUES ($i, NOW(6)) ON DUPLICATE KEY UPDATE n = n" 2>/dev/null; then
    echo "ack $i $(date +%s.%N)"; i=$((i+1)); sleep 0.02
  else
    echo "fail $i $(date +%s.%N)"; sleep 0.1
  fi
done
"#;
    put_file("client", "/root/writer.sh", script.as_bytes(), "755");
}

/// A writer on the client (/root/writer.sh of `prepare_writer`) that prints
/// `ack N TIME` for every row the server confirmed; stopped by a flag file.
pub struct Writer {
    child: std::process::Child,
    output: std::path::PathBuf,
}

impl Writer {
    pub fn start(dir: &std::path::Path) -> Writer {
        let _ = on("client", &["rm", "-f", "/tmp/stop-writer"]);
        let output = dir.join("writer.out");
        let file = std::fs::File::create(&output).unwrap();
        let child = Command::new(BIN)
            .args(["sandbox", "exec", "client", "--", "sh", "/root/writer.sh"])
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Writer { child, output }
    }

    /// (row, time) of every acknowledged row.
    pub fn acks(&self) -> Vec<(u64, f64)> {
        std::fs::read_to_string(&self.output)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                (words.next()? == "ack").then_some(())?;
                Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
            })
            .collect()
    }

    pub fn stop(mut self) -> Vec<(u64, f64)> {
        on_ok("client", &["touch", "/tmp/stop-writer"]);
        let _ = self.child.wait();
        self.acks()
    }
}

/// The application's account on both nodes (each its own, not replicated),
/// allowed to read, insert and update in shop from the client.
pub fn create_app_account(secret: &str) {
    create_app_account_on(secret, &["node1", "node2"]);
}

/// `create_app_account` on these nodes.
pub fn create_app_account_on(secret: &str, nodes: &[&str]) {
    for &host in nodes {
        let create = format!(
            "SET SESSION sql_log_bin = 0; CREATE USER 'app'@'192.0.2.100' IDENTIFIED BY '{secret}'; \
             GRANT SELECT, INSERT, UPDATE ON shop.* TO 'app'@'192.0.2.100'"
        );
        // A MySQL slave is super_read_only (even root cannot write): lifted
        // for this one local account, read_only stays on.
        let super_read_only =
            sql_client(host) == "mysql" && sql(host, "SELECT @@GLOBAL.super_read_only") == "1";
        if super_read_only {
            sql(
                host,
                &format!(
                    "SET GLOBAL super_read_only = OFF; {create}; SET GLOBAL super_read_only = ON"
                ),
            );
        } else {
            sql(host, &create);
        }
    }
}

/// A fresh lab whose database nodes boot these sandbox images (`host`,
/// `debian-13`, `debian-sid-mysql`); `sandbox up` builds a missing image
/// first (about 2 minutes each, said on stderr) and caches it.
pub fn fresh_lab(node1_image: &str, node2_image: &str) {
    mysql_ha(&["sandbox", "down"]);
    let started = std::time::Instant::now();
    let out = mysql_ha_output(&[
        "sandbox",
        "up",
        "--node1-image",
        node1_image,
        "--node2-image",
        node2_image,
    ]);
    assert!(out.status.success(), "sandbox up failed:\n{}", text(&out));
    println!(
        "sandbox up --node1-image {node1_image} --node2-image {node2_image}: {:.1} s\n{}",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stderr)
    );
    install_binary("node1");
}

/// The lab's answers on node1 (/root/answers.toml), then `setup --yes`.
pub fn setup_with_lab_answers() -> String {
    let answers = std::fs::read(lab_answers()).unwrap();
    put_file("node1", "/root/answers.toml", &answers, "600");
    setup_on_node1()
}

/// Every acknowledged row of the writer (`prepare_writer`) is on `node`.
pub fn acknowledged_rows_on(node: &str, acks: &[(u64, f64)], what: &str) {
    let present: std::collections::HashSet<u64> = sql(node, "SELECT n FROM shop.ha_writer")
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let missing: Vec<u64> = acks
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !present.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "{what}: {} acknowledged rows, missing on {node}: {missing:?}",
        acks.len()
    );
}

/// Crashes `master`, waits for `slave` to take over, boots `master` again
/// and waits for it to step down (its /tmp, and so the tool, is gone).
pub fn crash_and_wait_for_takeover(master: &str, slave: &str) {
    let takeovers = daemon_log(slave).matches("took-over").count();
    let step_downs = daemon_log(master).matches("stepped-down").count();
    mysql_ha(&["sandbox", "crash", master]);
    wait_until(
        &format!("{slave} to take over"),
        std::time::Duration::from_secs(90),
        || daemon_log(slave).matches("took-over").count() > takeovers,
    );
    mysql_ha(&["sandbox", "boot", master]);
    wait_until(
        &format!("{master} to step down"),
        std::time::Duration::from_secs(60),
        || daemon_log(master).matches("stepped-down").count() > step_downs,
    );
    install_binary(master);
}
