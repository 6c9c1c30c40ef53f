//! Cluster access on the sandbox, for real: a lab with no trust at all
//! (`sandbox up --no-trust`), setup from the client host with the nodes'
//! root passwords, then the cluster account is proven: key login from the
//! peer only, exactly the allowed sudo commands, an encrypted key usable
//! through the daemon's agent, and a rollback that removes what it added.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

const PASSPHRASE: &str = "Key-Passphrase-8c2f-never-shown";
const HOME: &str = "/var/lib/mysqlha";
const KEY: &str = "/var/lib/mysqlha/.ssh/id_ed25519";
const STATUS: &[&str] = &["sudo", "-n", "/etc/init.d/mariadb", "status"];

/// A fresh lab without keys; returns the root passwords it printed once.
fn fresh_untrusted_lab() -> (String, String) {
    mysql_ha(&["sandbox", "down"]);
    let out = mysql_ha(&["sandbox", "up", "--no-trust"]);
    let password = |node: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{node}: ")))
            .unwrap_or_else(|| panic!("no password for {node} in:\n{out}"))
            .trim()
            .to_string()
    };
    let passwords = (password("node1"), password("node2"));
    let bytes = std::fs::read(BIN).unwrap();
    for host in ["client", "node1", "node2"] {
        put_file(host, NODE_BIN, &bytes, "755");
    }
    passwords
}

fn answers(passwords: &(String, String), passphrase: &str) -> String {
    let lab = std::fs::read_to_string(lab_answers()).unwrap();
    let with = lab
        .replace(
            "host = \"192.0.2.11\"\nssh_user = \"root\"\n",
            &format!(
                "host = \"192.0.2.11\"\nssh_user = \"root\"\nssh_password = \"{}\"\n",
                passwords.0
            ),
        )
        .replace(
            "host = \"192.0.2.12\"\nssh_user = \"root\"\n",
            &format!(
                "host = \"192.0.2.12\"\nssh_user = \"root\"\nssh_password = \"{}\"\n",
                passwords.1
            ),
        )
        .replace(
            "key_passphrase = \"\"",
            &format!("key_passphrase = \"{passphrase}\""),
        );
    assert_eq!(
        with.matches("ssh_password").count(),
        2,
        "the lab's answers file changed shape"
    );
    with
}

/// Runs setup on the client host; returns its output and run id.
fn setup_from_client(answers_text: &str, secrets: Vec<String>) -> (String, String) {
    put_file(
        "client",
        "/root/answers.toml",
        answers_text.as_bytes(),
        "600",
    );
    let watch = CmdlineWatch::start(secrets);
    let out = on(
        "client",
        &[
            NODE_BIN,
            "setup",
            "--answers",
            "/root/answers.toml",
            "--yes",
        ],
    );
    let (samples, hits) = watch.finish();
    let output = text(&out);
    assert!(out.status.success(), "setup failed:\n{output}");
    assert!(
        samples > 20,
        "the command-line watch barely ran ({samples})"
    );
    assert!(hits.is_empty(), "a secret was on a command line: {hits:?}");
    let run_id = output
        .rsplit("; run ")
        .next()
        .and_then(|r| r.split(')').next())
        .unwrap()
        .to_string();
    (output, run_id)
}

/// Runs argv on `host` as the cluster account.
fn as_account(host: &str, argv: &[&str]) -> std::process::Output {
    let mut full = vec!["runuser", "-u", "mysqlha", "--"];
    full.extend_from_slice(argv);
    on(host, &full)
}

fn ssh_to(peer: &str, command: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", peer]
        .iter()
        .map(|s| s.to_string())
        .collect();
    argv.extend(command.iter().map(|s| s.to_string()));
    argv
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn cluster_access_without_root() {
    let _lock = lock_sandbox();
    let passwords = fresh_untrusted_lab();
    let sudoers_before: Vec<String> = ["node1", "node2"]
        .iter()
        .map(|h| on_ok(h, &["sha256sum", "/etc/sudoers"]))
        .collect();

    // 1. Trust bootstrap: the client has no key anywhere; the passwords
    // (never on a command line) get its key installed and host keys pinned.
    let (output, run1) = setup_from_client(
        &answers(&passwords, ""),
        vec![passwords.0.clone(), passwords.1.clone()],
    );
    let mut key_runs = Vec::new();
    for (host, node) in [("node1", "192.0.2.11"), ("node2", "192.0.2.12")] {
        let line = output
            .lines()
            .find(|l| l.contains(node) && l.contains("installer trust"))
            .unwrap_or_else(|| panic!("no installer trust finding for {node}:\n{output}"));
        assert!(
            line.contains("SHA256:") && line.contains("pinned now"),
            "{line}"
        );
        let key_run = line
            .split("`mysql-ha rollback ")
            .nth(1)
            .and_then(|r| r.split('`').next())
            .unwrap();
        assert!(line.contains(&format!("run {key_run}")), "{line}");
        key_runs.push((host, key_run.to_string()));
    }
    let host_print = on_ok(
        "node1",
        &["ssh-keygen", "-lf", "/etc/ssh/ssh_host_ed25519_key.pub"],
    );
    let print = host_print.split_whitespace().nth(1).unwrap();
    assert!(
        output.contains(print),
        "node1's real fingerprint {print} was not shown"
    );
    for host in ["node1", "node2"] {
        let stored = on(
            host,
            &[
                "grep",
                "-rF",
                &passwords.0,
                "/var/lib/mysql-ha",
                "/root/.ssh",
                "/etc/mysql-ha",
            ],
        );
        assert!(!stored.status.success(), "a password was stored on {host}");
    }

    // 2. The account: system account, locked password, its own home.
    for host in ["node1", "node2"] {
        let passwd = on_ok(host, &["getent", "passwd", "mysqlha"]);
        assert!(passwd.contains(&format!(":{HOME}:")), "{passwd}");
        let uid: u32 = passwd.split(':').nth(2).unwrap().parse().unwrap();
        assert!(uid < 1000, "not a system account: {passwd}");
        let shadow = on_ok(host, &["getent", "shadow", "mysqlha"]);
        assert!(
            shadow.split(':').nth(1).unwrap().starts_with('!'),
            "password login possible: {shadow}"
        );
        assert_eq!(
            on_ok(host, &["stat", "-c", "%a %U:%G", "/etc/sudoers.d/mysql-ha"]).trim(),
            "440 root:root"
        );
        // Nothing the tool wrote allows everything.
        let grep = on(
            host,
            &[
                "grep",
                "-r",
                "NOPASSWD: ALL",
                "/etc/sudoers",
                "/etc/sudoers.d",
            ],
        );
        assert!(!text(&grep).contains("mysql-ha"), "{}", text(&grep));
    }

    // 3. Item 6: from node2 as the account, by key, no prompt.
    let status = as_account("node2", &refs(&ssh_to("node1", STATUS)));
    assert!(
        status.status.success(),
        "sudo -n status over ssh: {}",
        text(&status)
    );
    let shadow = as_account(
        "node2",
        &refs(&ssh_to("node1", &["sudo", "-n", "cat", "/etc/shadow"])),
    );
    assert!(!shadow.status.success(), "reading /etc/shadow was allowed");
    assert!(!String::from_utf8_lossy(&shadow.stdout).contains("root:"));
    let listed = as_account("node1", &["sudo", "-n", "-l"]);
    let listed = text(&listed);
    assert_eq!(listed.matches("NOPASSWD:").count(), 9, "{listed}");
    assert!(
        listed.contains("/usr/local/sbin/mysql-ha privileged set-read-only off"),
        "{listed}"
    );
    assert!(
        listed.contains("/usr/sbin/ip addr add 192.0.2.10/24 dev eth0"),
        "{listed}"
    );
    // The same key from another address is refused.
    let key = on_ok("node2", &["cat", KEY]);
    put_file("client", "/tmp/stolen-key", key.as_bytes(), "600");
    let stolen = on(
        "client",
        &[
            "ssh",
            "-i",
            "/tmp/stolen-key",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "mysqlha@192.0.2.11",
            "true",
        ],
    );
    assert!(!stolen.status.success(), "the key worked from 192.0.2.100");
    assert!(
        text(&stolen).contains("Permission denied"),
        "{}",
        text(&stolen)
    );
    // No forwarding for the account.
    let forward = as_account(
        "node2",
        &[
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "127.0.0.1:13306:127.0.0.1:3306",
            "node1",
            "true",
        ],
    );
    assert!(!forward.status.success(), "port forwarding was allowed");

    // 4. Preflight sees all of it.
    let check = on_ok(
        "client",
        &[NODE_BIN, "check", "--answers", "/root/answers.toml"],
    );
    for node in ["192.0.2.11", "192.0.2.12"] {
        for what in ["cluster ssh", "cluster sudo"] {
            assert!(
                check
                    .lines()
                    .any(|l| l.starts_with("ok") && l.contains(node) && l.contains(what)),
                "{what} on {node} not ok:\n{check}"
            );
        }
    }

    // 5. A second run with the same answers changes nothing of this.
    let (again, _) = setup_from_client(&answers(&passwords, ""), vec![passwords.0.clone()]);
    assert!(again.contains("nothing needed changing"), "{again}");
    for step in [
        "cluster account on",
        "cluster account ssh trust on",
        "cluster account sudo allowlist on",
    ] {
        assert_eq!(
            again
                .lines()
                .filter(|l| l.starts_with(&format!("== {step}")) && l.ends_with(": unchanged"))
                .count(),
            2,
            "{step} changed on a second run:\n{again}"
        );
    }

    // 6. With a passphrase: a new encrypted key, usable only through the agent.
    let (_, run2) = setup_from_client(
        &answers(&passwords, PASSPHRASE),
        vec![passwords.0.clone(), PASSPHRASE.to_string()],
    );
    for host in ["node1", "node2"] {
        let plain = on(host, &["ssh-keygen", "-y", "-P", "", "-f", KEY]);
        assert!(
            !plain.status.success(),
            "the key on {host} is not encrypted"
        );
        assert_eq!(
            on_ok(
                host,
                &["stat", "-c", "%a %U", "/etc/mysql-ha/key-passphrase"]
            )
            .trim(),
            "600 root"
        );
    }
    let without_agent = as_account("node2", &refs(&ssh_to("node1", STATUS)));
    assert!(
        !without_agent.status.success(),
        "an encrypted key logged in without its agent"
    );
    let watch = CmdlineWatch::start(vec![PASSPHRASE.to_string()]);
    let agent = on_ok("node2", &[NODE_BIN, "cluster-agent"]);
    let (_, hits) = watch.finish();
    assert!(
        hits.is_empty(),
        "the passphrase was on a command line: {hits:?}"
    );
    let socket = agent
        .lines()
        .find_map(|l| l.strip_prefix("SSH_AUTH_SOCK="))
        .unwrap();
    let pid = agent
        .lines()
        .find_map(|l| l.strip_prefix("SSH_AGENT_PID="))
        .unwrap();
    assert_eq!(
        on_ok("node2", &["stat", "-c", "%a %U", "/run/mysql-ha/agent"]).trim(),
        "700 mysqlha"
    );
    let mut via_agent = vec!["env".to_string(), format!("SSH_AUTH_SOCK={socket}")];
    via_agent.extend(ssh_to("node1", STATUS));
    let through = as_account("node2", &refs(&via_agent));
    assert!(
        through.status.success(),
        "the agent's key did not log in: {}",
        text(&through)
    );
    on_ok("node2", &["kill", pid]);
    let check = on_ok(
        "client",
        &[NODE_BIN, "check", "--answers", "/root/answers.toml"],
    );
    assert_eq!(
        check
            .lines()
            .filter(|l| l.starts_with("ok") && l.contains("cluster ssh"))
            .count(),
        2,
        "{check}"
    );

    // 7. Rollback, newest run first (the second run changed nothing and left
    // no run), removes what the runs added and nothing else. Both nodes at
    // once from the client: it stops both daemons first, so the slave's does
    // not take over while the master is being undone.
    for run in [&run2, &run1] {
        on_ok(
            "client",
            &[
                NODE_BIN,
                "rollback",
                run,
                "--answers",
                "/root/answers.toml",
                "--yes",
            ],
        );
    }
    for host in ["node1", "node2"] {
        for path in [
            KEY.to_string(),
            format!("{KEY}.pub"),
            format!("{HOME}/.ssh/authorized_keys"),
            format!("{HOME}/.ssh/known_hosts"),
            format!("{HOME}/.ssh/config"),
            "/etc/sudoers.d/mysql-ha".to_string(),
            "/etc/mysql-ha/key-passphrase".to_string(),
        ] {
            assert!(
                !on(host, &["test", "-e", &path]).status.success(),
                "{path} is still on {host}"
            );
        }
        // The account stays (rollback removes files, not accounts).
        on_ok(host, &["getent", "passwd", "mysqlha"]);
    }
    let sudoers_after: Vec<String> = ["node1", "node2"]
        .iter()
        .map(|h| on_ok(h, &["sha256sum", "/etc/sudoers"]))
        .collect();
    assert_eq!(sudoers_before, sudoers_after, "/etc/sudoers was touched");

    // 8. The installer's key has a run of its own: rolled back, the client
    // is locked out again.
    for (host, key_run) in &key_runs {
        on_ok(host, &[NODE_BIN, "rollback", key_run, "--yes"]);
        assert!(!on(host, &["test", "-e", "/root/.ssh/authorized_keys"])
            .status
            .success());
    }
    let locked_out = on(
        "client",
        &["ssh", "-o", "BatchMode=yes", "root@192.0.2.11", "true"],
    );
    assert!(
        !locked_out.status.success(),
        "the installer key still works"
    );
}
