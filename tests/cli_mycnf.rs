//! The `mysql-ha mycnf` and `mysql-ha rollback` commands on a `--root` tree.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

fn mysql_ha(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mysql-ha"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn copy_fixture(name: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mycnf")
        .join(name);
    let status = Command::new("cp")
        .arg("-a")
        .arg(&from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn show_edit_dry_run_edit_and_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tree");
    copy_fixture("debian-12", &root);
    let root_arg = root.to_str().unwrap();
    let server_cnf = root.join("etc/mysql/mariadb.conf.d/50-server.cnf");
    let original = fs::read(&server_cnf).unwrap();

    let (ok, out, err) = mysql_ha(&["mycnf", "show", "--root", root_arg]);
    assert!(ok, "{err}");
    assert!(out.contains("profile debian-12"), "{out}");
    assert!(
        out.contains("bind-address = 127.0.0.1") && out.contains("50-server.cnf:27"),
        "{out}"
    );

    let edit = [
        "mycnf",
        "edit",
        "--role",
        "slave",
        "--server-id",
        "2",
        "--databases",
        "shop,my-db",
        "--root",
        root_arg,
    ];
    let mut dry = edit.to_vec();
    dry.push("--dry-run");
    let (ok, out, err) = mysql_ha(&dry);
    assert!(ok, "{err}");
    assert!(
        out.contains("+replicate-wild-do-table = \"my-db.%\""),
        "{out}"
    );
    assert!(out.contains("dry run"), "{out}");
    assert!(!root
        .join("etc/mysql/mariadb.conf.d/60-mysql-ha.cnf")
        .exists());

    let (ok, out, err) = mysql_ha(&edit);
    assert!(ok, "{err}");
    let run_id = out
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .and_then(|l| l.split(':').next())
        .unwrap()
        .to_string();
    assert!(root
        .join("etc/mysql/mariadb.conf.d/60-mysql-ha.cnf")
        .exists());
    let (ok, out, _) = mysql_ha(&edit);
    assert!(ok);
    assert!(out.contains("nothing to change"), "{out}");

    let (ok, out, err) = mysql_ha(&["rollback", &run_id, "--root", root_arg, "--yes"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("removed /etc/mysql/mariadb.conf.d/60-mysql-ha.cnf"),
        "{out}"
    );
    assert!(!root
        .join("etc/mysql/mariadb.conf.d/60-mysql-ha.cnf")
        .exists());
    assert_eq!(fs::read(&server_cnf).unwrap(), original);

    let (ok, _, err) = mysql_ha(&[
        "rollback",
        "20000101-000000-0000",
        "--root",
        root_arg,
        "--yes",
    ]);
    assert!(!ok);
    assert!(err.contains("no run"), "{err}");
}

#[test]
fn errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let (ok, _, err) = mysql_ha(&["mycnf", "show", "--root", root]);
    assert!(!ok);
    assert!(
        err.contains("--profile NAME") && err.contains("debian-12"),
        "{err}"
    );
    let (ok, _, err) = mysql_ha(&["mycnf", "show", "--root", root, "--profile", "nope"]);
    assert!(!ok);
    assert!(err.contains("unknown distribution profile `nope`"), "{err}");
    copy_fixture("rhel-9", &dir.path().join("t"));
    let tree = dir.path().join("t");
    let (ok, _, err) = mysql_ha(&[
        "mycnf",
        "edit",
        "--role",
        "slave",
        "--server-id",
        "2",
        "--databases",
        "ok, bad",
        "--root",
        tree.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("\" bad\""), "{err}");
}
