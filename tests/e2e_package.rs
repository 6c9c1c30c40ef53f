//! The packages, for real: `scripts/package --debug` builds the .deb and the
//! .rpm from the test's binary; the .deb installed with `dpkg -i` on node1
//! starts nothing and gives `man mysql-ha-setup`; setup run from the
//! packaged binary with `install.package` installs the same package on
//! node2, and both daemons run the package's /usr/sbin/mysql-ha, owned by
//! dpkg (`dpkg -S $(which mysql-ha)`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Instant;

use common::*;

/// Builds both packages; returns (deb, rpm) paths on this machine.
fn build_packages() -> (String, String) {
    let started = Instant::now();
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/package"))
        .args(["--debug", "--binary", BIN])
        .output()
        .unwrap();
    assert!(out.status.success(), "scripts/package:\n{}", text(&out));
    println!(
        "scripts/package --debug: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let find = |suffix: &str| {
        listed
            .lines()
            .find(|l| l.ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} in:\n{listed}"))
            .to_string()
    };
    (find(".deb"), find(".rpm"))
}

fn rpm_query(args: &[&str], rpm: &str) -> String {
    let out = Command::new("rpm").args(args).arg(rpm).output().unwrap();
    assert!(out.status.success(), "rpm {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The path `which mysql-ha` gives on a host, and the package owning it.
fn owner_of_mysql_ha(host: &str) -> String {
    on_ok(host, &["sh", "-c", "dpkg -S \"$(command -v mysql-ha)\""])
        .trim()
        .to_string()
}

/// The executables of the host's cluster daemons (the pid file names the
/// init script's supervising shell; the bracket keeps this very command
/// line from matching).
fn mysql_ha_executables(host: &str) -> String {
    on_ok(
        host,
        &[
            "sh",
            "-c",
            "for p in $(pgrep -f 'mysql-ha daemon [-]-config'); do readlink /proc/$p/exe; done | sort -u",
        ],
    )
    .trim()
    .to_string()
}

#[test]
fn setup_installs_the_package_and_the_daemons_run_the_packaged_binary() {
    let _lock = lock_sandbox();
    let (deb, rpm) = build_packages();

    // The .rpm: the same assets where RHEL looks, with its requirements.
    let files = rpm_query(&["-qlp"], &rpm);
    for path in [
        "/usr/sbin/mysql-ha",
        "/usr/share/man/man1/mysql-ha-setup.1.gz",
        "/usr/share/bash-completion/completions/mysql-ha",
        "/usr/share/zsh/site-functions/_mysql-ha",
        "/usr/share/mysql-ha/templates/mysql-ha.service",
        "/usr/share/mysql-ha/distro-profiles/rhel-9.toml",
        "/usr/share/doc/mysql-ha/alerts.yml",
    ] {
        assert!(
            files.lines().any(|l| l == path),
            "{path} not in the rpm:\n{files}"
        );
    }
    let requires = rpm_query(&["-qp", "--requires"], &rpm);
    for needed in ["openssh-clients", "sudo", "iproute"] {
        assert!(
            requires.lines().any(|l| l == needed),
            "{needed}: {requires}"
        );
    }
    assert!(rpm_query(&["-qp", "--scripts"], &rpm).trim().is_empty());

    mysql_ha(&["sandbox", "down"]);
    mysql_ha(&["sandbox", "up"]);
    let deb_bytes = std::fs::read(&deb).unwrap();
    let node_deb = "/root/mysql-ha_amd64.deb";
    put_file("node1", node_deb, &deb_bytes, "644");

    // An administrator's dpkg -i on node1: files in place, nothing started.
    let installed = on_ok("node1", &["dpkg", "-i", node_deb]);
    println!("{installed}");
    assert_eq!(owner_of_mysql_ha("node1"), "mysql-ha: /usr/sbin/mysql-ha");
    let started = on(
        "node1",
        &[
            "sh",
            "-c",
            "ls /etc/init.d/mysql-ha /etc/rc2.d/*mysql-ha* /etc/systemd/system/mysql-ha.service",
        ],
    );
    assert!(
        !started.status.success(),
        "the package set up a service: {}",
        text(&started)
    );
    assert_eq!(mysql_ha_executables("node1"), "", "a cluster daemon runs");
    let page = on_ok(
        "node1",
        &[
            "sh",
            "-c",
            "MANPAGER=cat MANWIDTH=80 man mysql-ha-setup | col -b",
        ],
    );
    assert!(page.contains("mysql-ha-setup"), "{page}");
    assert!(page.contains("--answers"), "{page}");
    on_ok(
        "node1",
        &[
            "test",
            "-s",
            "/usr/share/bash-completion/completions/mysql-ha",
        ],
    );

    // Setup from the packaged binary, with the package for both nodes.
    let answers = format!(
        "{}\n[install]\npackage = \"{node_deb}\"\n",
        std::fs::read_to_string(lab_answers()).unwrap()
    );
    put_file("node1", "/root/answers.toml", answers.as_bytes(), "600");
    let started = Instant::now();
    let out = on(
        "node1",
        &[
            "/usr/sbin/mysql-ha",
            "setup",
            "--answers",
            "/root/answers.toml",
            "--yes",
        ],
    );
    let setup = text(&out);
    assert!(out.status.success(), "setup:\n{setup}");
    println!(
        "setup with the package: {:.1} s\n{setup}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        setup.contains("dpkg -i /var/cache/mysql-ha/mysql-ha_amd64.deb"),
        "{setup}"
    );
    assert!(setup.contains("\ndone: "), "{setup}");

    for host in ["node1", "node2"] {
        assert_eq!(
            owner_of_mysql_ha(host),
            "mysql-ha: /usr/sbin/mysql-ha",
            "{host}"
        );
        assert_eq!(
            mysql_ha_executables(host),
            "/usr/sbin/mysql-ha",
            "the daemon on {host}"
        );
        let copied = on(host, &["test", "-e", "/usr/local/sbin/mysql-ha"]);
        assert!(!copied.status.success(), "{host} has a copied binary too");
        let sudoers = on_ok(host, &["cat", "/etc/sudoers.d/mysql-ha"]);
        assert!(
            sudoers.contains("/usr/sbin/mysql-ha privileged set-read-only on"),
            "{sudoers}"
        );
        let config = on_ok(host, &["cat", "/etc/mysql-ha/cluster.toml"]);
        assert!(
            config.contains("binary = \"/usr/sbin/mysql-ha\""),
            "{config}"
        );
    }
    let status = on_ok("node2", &["mysql-ha", "status"]);
    println!("{status}");

    // The same answers again: the package is in place, nothing to install.
    let again = on_ok(
        "node1",
        &[
            "mysql-ha",
            "setup",
            "--answers",
            "/root/answers.toml",
            "--yes",
            "--dry-run",
        ],
    );
    assert!(!again.contains("dpkg -i"), "{again}");
    assert!(
        again.contains("package mysql-ha_amd64.deb is installed"),
        "{again}"
    );
    mysql_ha(&["sandbox", "down"]);
}
