//! my.cnf editing on whole fixture trees (tests/fixtures/mycnf/<name>/):
//! effective values, master and slave edits through a `--root` node with
//! backups, idempotence, rollback to identical bytes and modes, and a
//! comparison with the server's own reader (`my_print_defaults`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use mysql_ha::backup::{self, Journal};
use mysql_ha::mycnf::{plan_edits, ChangeStatus, Config, MycnfPlan, RoleSettings, ServerRole};
use mysql_ha::node::{resolve_symlinks, LocalNode};
use mysql_ha::profile::{self, Profile};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mycnf")
        .join(name)
}

/// Copies a tree, keeping symlinks as symlinks and file modes.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            symlink(fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Snap {
    File(Vec<u8>, u32),
    Link(PathBuf),
    Dir,
}

/// Every entry of a tree except the tool's own run folder.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Snap> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Snap>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if rel.starts_with("var/lib/mysql-ha")
                || rel == Path::new("var/lib")
                || rel == Path::new("var")
            {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, Snap::Link(fs::read_link(&path).unwrap()));
            } else if meta.is_dir() {
                out.insert(rel, Snap::Dir);
                walk(root, &path, out);
            } else {
                out.insert(
                    rel,
                    Snap::File(fs::read(&path).unwrap(), meta.permissions().mode() & 0o7777),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn settings(role: ServerRole, server_id: u32, databases: &[&str]) -> RoleSettings {
    RoleSettings {
        role,
        server_id,
        databases: databases.iter().map(|s| s.to_string()).collect(),
        bind_address: None,
        run_id: backup::new_run_id(),
        tls: None,
    }
}

/// The last value of `key` and where it is, as `file:line`.
fn value_of(config: &Config, key: &str) -> Option<(String, String)> {
    config.get(key).map(|e| (e.display_value(), e.location()))
}

fn value(config: &Config, key: &str) -> Option<String> {
    value_of(config, key).map(|(v, _)| v)
}

/// Every added or changed line carries the marker; untouched lines stay.
fn check_marked(plan: &MycnfPlan) {
    for edit in &plan.file_edits {
        let before = String::from_utf8_lossy(edit.before.as_deref().unwrap_or(b"")).into_owned();
        let after = String::from_utf8_lossy(&edit.after).into_owned();
        let diff = similar::TextDiff::from_lines(&before, &after);
        for change in diff.iter_all_changes() {
            if change.tag() == similar::ChangeTag::Insert {
                let line = change.value().trim_end();
                let ok = line.contains("# mysql-ha run ")
                    || line.is_empty()
                    || (line.starts_with('[') && line.ends_with(']'))
                    || line.starts_with("# Settings written by mysql-ha")
                    || before.ends_with(line) && !before.ends_with('\n');
                assert!(ok, "{}: unmarked line {line:?}", edit.path.display());
            }
        }
    }
}

struct Applied {
    _dir: tempfile::TempDir,
    root: PathBuf,
    original: BTreeMap<PathBuf, Snap>,
    plan: MycnfPlan,
    after: Config,
}

/// Copies the fixture, plans `role`, applies it with backups, checks the
/// second plan is empty, and returns the reloaded configuration. Then rolls
/// back and checks the tree is identical to the fixture.
fn apply_and_roll_back(
    name: &str,
    forced: Option<&str>,
    expected_profile: &str,
    settings: &RoleSettings,
    check: impl Fn(&Applied),
) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    copy_tree(&fixture(name), &root);
    let original = snapshot(&root);
    let node = LocalNode::with_root(&root);
    let profile = profile::detect(&node, forced).unwrap();
    assert_eq!(profile.name, expected_profile, "{name}");
    let config = Config::load(&node, &profile).unwrap();
    let plan = plan_edits(&config, settings).unwrap();
    assert!(!plan.file_edits.is_empty(), "{name}: nothing to do?");
    check_marked(&plan);
    let diff = plan.render_diff();
    assert!(diff.contains("+++ b/"), "{diff}");

    let mut journal = Journal::create(&node, &settings.run_id).unwrap();
    backup::apply_file_edits(&node, &mut journal, &plan.file_edits).unwrap();

    // The entry file is still a symlink when it was one.
    let entry = root.join(profile.config.entry_file.strip_prefix("/").unwrap());
    if let Some(Snap::Link(_)) = original.get(entry.strip_prefix(&root).unwrap()) {
        assert!(fs::symlink_metadata(&entry)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    let after = Config::load(&node, &profile).unwrap();
    let mut again = settings.clone();
    again.run_id = backup::new_run_id();
    let second = plan_edits(&after, &again).unwrap();
    assert!(
        second.file_edits.is_empty(),
        "{name}: second run changes:\n{}",
        second.render_diff()
    );
    assert!(second
        .changes
        .iter()
        .all(|c| !matches!(c.status, ChangeStatus::Changed)));

    let applied = Applied {
        _dir: dir,
        root: root.clone(),
        original,
        plan,
        after,
    };
    check(&applied);

    let restored = backup::rollback(&node, &settings.run_id).unwrap();
    assert_eq!(restored.len(), applied.plan.file_edits.len());
    assert_eq!(
        snapshot(&applied.root),
        applied.original,
        "{name}: rollback differs"
    );
}

fn master(id: u32) -> RoleSettings {
    settings(ServerRole::Master, id, &[])
}

fn slave(id: u32, dbs: &[&str]) -> RoleSettings {
    settings(ServerRole::Slave, id, dbs)
}

fn check_master(a: &Applied, log_bin: Option<&str>) {
    assert_eq!(value(&a.after, "server_id").as_deref(), Some("1"));
    if let Some(log_bin) = log_bin {
        assert_eq!(value(&a.after, "log_bin").as_deref(), Some(log_bin));
    }
    let bind = value(&a.after, "bind_address");
    assert!(
        bind.is_none() || bind.as_deref() == Some("0.0.0.0"),
        "{bind:?}"
    );
    assert_eq!(
        a.after.all("bind_address").len().min(1),
        a.after.all("bind_address").len()
    );
    assert!(a
        .after
        .get("networking")
        .is_none_or(|e| e.bool_value() == Some(true)));
}

fn check_slave(a: &Applied, dbs: &[&str]) {
    assert_eq!(value(&a.after, "server_id").as_deref(), Some("2"));
    assert_eq!(a.after.get("read_only").unwrap().bool_value(), Some(true));
    assert_eq!(
        a.after.get("log_slave_updates").unwrap().bool_value(),
        Some(true)
    );
    assert!(a.after.get("relay_log").is_some());
    // Table-level filters only: replicate-do-db judged DDL by the default
    // database (USE) and skipped `CREATE TABLE shop.t` typed without it.
    assert!(
        a.after.all("replicate_do_db").is_empty(),
        "a replicate-do-db line is left"
    );
    let listed: Vec<String> = a
        .after
        .all("replicate_wild_do_table")
        .iter()
        .filter_map(|e| e.value.clone())
        .collect();
    for db in dbs {
        let pattern = mysql_ha::mycnf::filters::wild_pattern(db);
        assert_eq!(
            listed.iter().filter(|l| **l == pattern).count(),
            1,
            "{pattern} in {listed:?}"
        );
    }
}

#[test]
fn debian_12() {
    let node = LocalNode::with_root(fixture("debian-12"));
    let profile = profile::detect(&node, None).unwrap();
    let config = Config::load(&node, &profile).unwrap();
    let (bind, at) = value_of(&config, "bind_address").unwrap();
    assert_eq!(bind, "127.0.0.1");
    assert_eq!(at, "/etc/mysql/mariadb.conf.d/50-server.cnf:27");
    assert_eq!(
        value(&config, "socket").as_deref(),
        Some("/run/mysqld/mysqld.sock")
    );
    assert_eq!(value(&config, "server_id"), None);
    assert_eq!(config.sources[0].real, Path::new("/etc/mysql/mariadb.cnf"));

    apply_and_roll_back("debian-12", None, "debian-12", &master(1), |a| {
        check_master(a, Some("mysql-bin"));
        // bind-address is changed where Debian sets it, so there is one value.
        let (_, at) = value_of(&a.after, "bind_address").unwrap();
        assert_eq!(at, "/etc/mysql/mariadb.conf.d/50-server.cnf:27");
        assert!(a
            .root
            .join("etc/mysql/mariadb.conf.d/60-mysql-ha.cnf")
            .exists());
        assert_eq!(
            value_of(&a.after, "server_id").unwrap().1,
            "/etc/mysql/mariadb.conf.d/60-mysql-ha.cnf:3"
        );
    });
    apply_and_roll_back(
        "debian-12",
        None,
        "debian-12",
        &slave(2, &["shop", "my-db"]),
        |a| {
            check_slave(a, &["shop", "my-db"]);
            // The slave may take over: it listens on the network and keeps
            // a row-format binary log like the master.
            assert_eq!(value(&a.after, "bind_address").as_deref(), Some("0.0.0.0"));
            assert_eq!(value(&a.after, "log_bin").as_deref(), Some("mysql-bin"));
            assert_eq!(value(&a.after, "binlog_format").as_deref(), Some("ROW"));
        },
    );
}

#[test]
fn ubuntu_24_04() {
    apply_and_roll_back("ubuntu-24.04", None, "ubuntu-24.04", &master(1), |a| {
        check_master(a, Some("mysql-bin"));
        assert_eq!(value(&a.after, "binlog_format").as_deref(), Some("ROW"));
        assert_eq!(
            value_of(&a.after, "bind_address").unwrap().1,
            "/etc/mysql/mysql.conf.d/mysqld.cnf:31"
        );
        // mysqlx is another option and stays.
        assert_eq!(
            value(&a.after, "mysqlx_bind_address").as_deref(),
            Some("127.0.0.1")
        );
    });
    apply_and_roll_back(
        "ubuntu-24.04",
        None,
        "ubuntu-24.04",
        &slave(2, &["shop"]),
        |a| {
            check_slave(a, &["shop"]);
        },
    );
}

/// Copied from the sandbox's debian-13 image (debootstrap trixie,
/// mariadb-server 1:11.8): the server groups are now `[mariadbd]`.
#[test]
fn debian_13() {
    let node = LocalNode::with_root(fixture("debian-13"));
    let profile = profile::detect(&node, None).unwrap();
    assert_eq!(profile.name, "debian-13");
    let config = Config::load(&node, &profile).unwrap();
    let (bind, at) = value_of(&config, "bind_address").unwrap();
    assert_eq!(bind, "127.0.0.1");
    assert_eq!(at, "/etc/mysql/mariadb.conf.d/50-server.cnf:27");
    apply_and_roll_back("debian-13", None, "debian-13", &master(1), |a| {
        check_master(a, Some("mysql-bin"));
        let (_, at) = value_of(&a.after, "bind_address").unwrap();
        assert_eq!(at, "/etc/mysql/mariadb.conf.d/50-server.cnf:27");
    });
    apply_and_roll_back("debian-13", None, "debian-13", &slave(2, &["shop"]), |a| {
        check_slave(a, &["shop"])
    });
}

/// Copied from the sandbox's debian-sid-mysql image (debootstrap sid,
/// Debian's mysql-server 9.7.4): my.cnf -> alternatives -> mysql.cnf, which
/// includes mysql.conf.d/mysqld.cnf.
#[test]
fn debian_mysql() {
    let node = LocalNode::with_root(fixture("debian-sid-mysql"));
    let profile = profile::detect(&node, None).unwrap();
    assert_eq!(profile.name, "debian-mysql");
    let config = Config::load(&node, &profile).unwrap();
    assert_eq!(config.sources[0].real, Path::new("/etc/mysql/mysql.cnf"));
    apply_and_roll_back("debian-sid-mysql", None, "debian-mysql", &master(1), |a| {
        check_master(a, Some("mysql-bin"));
        assert_eq!(value(&a.after, "binlog_format").as_deref(), Some("ROW"));
        assert_eq!(
            value_of(&a.after, "bind_address").unwrap().1,
            "/etc/mysql/mysql.conf.d/mysqld.cnf:31"
        );
        assert!(a
            .root
            .join("etc/mysql/mysql.conf.d/60-mysql-ha.cnf")
            .exists());
    });
    apply_and_roll_back(
        "debian-sid-mysql",
        None,
        "debian-mysql",
        &slave(2, &["shop"]),
        |a| {
            check_slave(a, &["shop"]);
            assert_eq!(value(&a.after, "gtid_mode").as_deref(), Some("ON"));
        },
    );
}

#[test]
fn rhel_9() {
    let node = LocalNode::with_root(fixture("rhel-9"));
    let profile = profile::detect(&node, None).unwrap();
    let config = Config::load(&node, &profile).unwrap();
    // enable_encryption.preset does not end in .cnf: not read.
    assert_eq!(value(&config, "server_id"), None);
    assert_eq!(
        value(&config, "log_error").as_deref(),
        Some("/var/log/mariadb/mariadb.log")
    );
    apply_and_roll_back("rhel-9", None, "rhel-9", &master(1), |a| {
        check_master(a, Some("mysql-bin"));
        assert!(a.root.join("etc/my.cnf.d/mysql-ha.cnf").exists());
        // Not set before (listens everywhere), so not written.
        assert_eq!(value(&a.after, "bind_address"), None);
    });
    apply_and_roll_back("rhel-9", None, "rhel-9", &slave(2, &["a", "b"]), |a| {
        check_slave(a, &["a", "b"]);
    });
}

#[test]
fn fedora_core_5_and_centos_4() {
    for (name, version) in [("fedora-core-5", "5.0"), ("centos-4", "4.1")] {
        let node = LocalNode::with_root(fixture(name));
        let profile = profile::detect(&node, None).unwrap();
        assert_eq!(profile.server_version, version);
        let config = Config::load(&node, &profile).unwrap();
        assert_eq!(value(&config, "old_passwords").as_deref(), Some("1"));
        // [mysqld_safe] is not a server group.
        assert_eq!(value(&config, "pid_file"), None);
        apply_and_roll_back(name, None, name, &master(1), |a| {
            check_master(a, Some("mysql-bin"));
            let skipped = a
                .plan
                .changes
                .iter()
                .find(|c| c.option == "binlog-format")
                .unwrap();
            assert!(matches!(skipped.status, ChangeStatus::Skipped(_)));
            assert_eq!(value(&a.after, "binlog_format"), None);
            // New keys go into the [mysqld] section, before [mysql.server].
            let text = fs::read_to_string(a.root.join("etc/my.cnf")).unwrap();
            let server_id = text.find("server-id = 1").unwrap();
            assert!(server_id < text.find("[mysql.server]").unwrap(), "{text}");
        });
        apply_and_roll_back(name, None, name, &slave(2, &["shop"]), |a| {
            check_slave(a, &["shop"]);
        });
    }
}

#[test]
fn debian_etch() {
    let node = LocalNode::with_root(fixture("debian-etch"));
    let profile = profile::detect(&node, None).unwrap();
    let config = Config::load(&node, &profile).unwrap();
    assert_eq!(
        value(&config, "log_bin").as_deref(),
        Some("/var/log/mysql/mysql-bin.log")
    );
    assert_eq!(value(&config, "bind_address").as_deref(), Some("127.0.0.1"));
    assert_eq!(value(&config, "server_id"), None);
    apply_and_roll_back("debian-etch", None, "debian-etch", &master(1), |a| {
        check_master(a, Some("/var/log/mysql/mysql-bin.log"));
        let log_bin = a
            .plan
            .changes
            .iter()
            .find(|c| c.option == "log-bin")
            .unwrap();
        assert_eq!(
            log_bin.status,
            ChangeStatus::Unchanged,
            "etch has log_bin on already"
        );
        assert!(a.root.join("etc/mysql/conf.d/mysql-ha.cnf").exists());
    });
    apply_and_roll_back(
        "debian-etch",
        None,
        "debian-etch",
        &slave(2, &["shop"]),
        |a| {
            check_slave(a, &["shop"]);
        },
    );
}

#[test]
fn hostile_mixed() {
    let node = LocalNode::with_root(fixture("hostile-mixed"));
    let profile = profile::detect(&node, Some("rhel-9")).unwrap();
    let config = Config::load(&node, &profile).unwrap();
    assert_eq!(
        value_of(&config, "server_id").unwrap(),
        ("8".into(), "/etc/my.cnf:25".into())
    );
    assert_eq!(config.get("networking").unwrap().bool_value(), Some(false));
    assert_eq!(config.get("log_bin").unwrap().bool_value(), Some(false));
    assert_eq!(
        value(&config, "init_connect").as_deref(),
        Some("SET NAMES 'utf8' # not a comment")
    );
    assert_eq!(
        value_of(&config, "bind_address").unwrap().1,
        "/etc/my.cnf.d/extra.cnf:2"
    );
    // .ini files are read on Windows only.
    assert_eq!(value(&config, "log_slave_updates").as_deref(), Some("OFF"));
    let dbs: Vec<_> = config
        .all("replicate_do_db")
        .iter()
        .filter_map(|e| e.value.clone())
        .collect();
    assert_eq!(dbs, ["shop", "my-db", "crm"]);
    assert!(config
        .warnings
        .iter()
        .any(|w| w.contains("does-not-exist.cnf")));

    apply_and_roll_back("hostile-mixed", Some("rhel-9"), "rhel-9", &master(1), |a| {
        check_master(a, Some("mysql-bin"));
        // skip-log-bin became log-bin on the same line; both skip-networking lines are comments now.
        assert_eq!(value_of(&a.after, "log_bin").unwrap().1, "/etc/my.cnf:26");
        assert!(a.after.all("networking").is_empty());
        assert_eq!(value_of(&a.after, "server_id").unwrap().1, "/etc/my.cnf:25");
        // /etc/my.cnf.d is not an !includedir here: new keys go into /etc/my.cnf.
        assert!(!a.root.join("etc/my.cnf.d/mysql-ha.cnf").exists());
        assert!(value_of(&a.after, "binlog_format")
            .unwrap()
            .1
            .starts_with("/etc/my.cnf:"));
    });
    apply_and_roll_back(
        "hostile-mixed",
        Some("rhel-9"),
        "rhel-9",
        &slave(2, &["shop", "new-db", "a#b", "new-db"]),
        |a| {
            check_slave(a, &["shop", "my-db", "crm", "new-db", "a#b"]);
            assert_eq!(value_of(&a.after, "read_only").unwrap().1, "/etc/my.cnf:28");
            // The old replicate-do-db lines (shop, my-db, crm) are comments
            // now; their databases stay replicated by a pattern, written
            // after the last of them.
            let added = a.after.all("replicate_wild_do_table");
            let at: Vec<String> = added.iter().map(|e| e.location()).collect();
            assert_eq!(
                at,
                (4..=8)
                    .map(|n| format!("/etc/my.cnf.d/extra.cnf:{n}"))
                    .collect::<Vec<_>>()
            );
            let text = std::fs::read_to_string(a.root.join("etc/my.cnf")).unwrap();
            assert!(
                text.contains("#replicate-do-db = shop  # mysql-ha run"),
                "{text}"
            );
        },
    );
}

#[test]
fn symlinked_config_is_edited_at_its_target_and_stays_a_symlink() {
    apply_and_roll_back(
        "hostile-symlink",
        Some("rhel-9"),
        "rhel-9",
        &master(1),
        |a| {
            check_master(a, Some("mysql-bin"));
            assert_eq!(
                value_of(&a.after, "server_id").unwrap().1,
                "/srv/conf/real.cnf:2"
            );
            let link = fs::symlink_metadata(a.root.join("etc/my.cnf")).unwrap();
            assert!(link.file_type().is_symlink());
            assert_eq!(a.plan.file_edits.len(), 1);
            assert_eq!(a.plan.file_edits[0].path, Path::new("/srv/conf/real.cnf"));
        },
    );
}

fn load_tree(files: &[(&str, &str)]) -> mysql_ha::Result<Config> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let host = dir.path().join(path.trim_start_matches('/'));
        fs::create_dir_all(host.parent().unwrap()).unwrap();
        fs::write(&host, text).unwrap();
    }
    let profile = Profile::by_name("rhel-9").unwrap();
    Config::load(&LocalNode::with_root(dir.path()), &profile)
}

#[test]
fn files_the_server_refuses_or_ignores() {
    let err = load_tree(&[("/etc/my.cnf", "[mysqld]\n!includedir /etc/nowhere\n")]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/etc/my.cnf:2") && text.contains("/etc/nowhere"),
        "{text}"
    );
    let err = load_tree(&[("/etc/my.cnf", "# c\nport = 1\n")]).unwrap_err();
    assert!(err.to_string().contains("/etc/my.cnf:2"), "{err}");
    let err = load_tree(&[("/etc/my.cnf", "[mysqld\n")]).unwrap_err();
    assert!(err.to_string().contains("/etc/my.cnf:1"), "{err}");
    // A world-writable file is skipped by the server, with a warning.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("etc/my.cnf.d")).unwrap();
    fs::write(dir.path().join("etc/my.cnf"), "!includedir /etc/my.cnf.d\n").unwrap();
    let open = dir.path().join("etc/my.cnf.d/open.cnf");
    fs::write(&open, "[mysqld]\nserver-id=9\n").unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o666)).unwrap();
    let profile = Profile::by_name("rhel-9").unwrap();
    let config = Config::load(&LocalNode::with_root(dir.path()), &profile).unwrap();
    assert!(config.get("server_id").is_none());
    assert!(config.warnings.iter().any(|w| w.contains("world-writable")));
    // Include loops stop at the server's depth limit.
    let config = load_tree(&[("/etc/my.cnf", "[mysqld]\nport=1\n!include /etc/my.cnf\n")]).unwrap();
    assert_eq!(
        config.all("port").len(),
        11,
        "as my_print_defaults reads it"
    );
}

#[test]
fn crlf_and_missing_final_newline_survive() {
    apply_and_roll_back(
        "hostile-crlf",
        Some("fedora-core-5"),
        "fedora-core-5",
        &master(1),
        |a| {
            check_master(a, Some("mysql-bin"));
            let bytes = fs::read(a.root.join("etc/my.cnf")).unwrap();
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.ends_with("\r\nquick"), "{text:?}");
            for line in text.split_inclusive('\n').filter(|l| *l != "quick") {
                assert!(line.ends_with("\r\n"), "{line:?} in {text:?}");
            }
        },
    );
    apply_and_roll_back(
        "hostile-nofinal",
        Some("fedora-core-5"),
        "fedora-core-5",
        &master(1),
        |a| {
            check_master(a, Some("mysql-bin"));
            let text = fs::read_to_string(a.root.join("etc/my.cnf")).unwrap();
            assert!(
                text.starts_with("[mysqld]\n\tdatadir\t=\t/var/lib/mysql\n"),
                "{text:?}"
            );
        },
    );
}

#[test]
fn twenty_thousand_lines() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big");
    fs::create_dir_all(src.join("etc")).unwrap();
    let mut text = String::from("[mysqld]\n");
    for i in 0..19_990 {
        match i % 4 {
            0 => text.push_str(&format!("# comment {i}\n")),
            1 => text.push_str(&format!("option_{i} = {i}\t# trailing\n")),
            2 => text.push_str(&format!("loose-thing-{i}\n")),
            _ => text.push_str(&format!("[group{}]\nx = {i}\n", i % 7)),
        }
    }
    text.push_str("[mysqld]\nbind-address = 127.0.0.1\n");
    fs::write(src.join("etc/my.cnf"), &text).unwrap();
    assert!(text.lines().count() >= 20_000);
    let node = LocalNode::with_root(&src);
    let profile = Profile::by_name("rhel-9").unwrap();
    let started = std::time::Instant::now();
    let config = Config::load(&node, &profile).unwrap();
    let plan = plan_edits(&config, &master(1)).unwrap();
    assert!(started.elapsed().as_secs() < 10);
    assert_eq!(plan.file_edits.len(), 1);
    let after = String::from_utf8(plan.file_edits[0].after.clone()).unwrap();
    let changed = similar::TextDiff::from_lines(&text, &after)
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .count();
    // bind-address replaced (2) + server-id, log-bin, binlog-format and
    // read-only (every node boots read-only) added (4).
    assert_eq!(changed, 6, "{}", plan.render_diff());
}

#[test]
fn bad_database_names_are_refused_by_name() {
    let node = LocalNode::with_root(fixture("rhel-9"));
    let profile = Profile::by_name("rhel-9").unwrap();
    let config = Config::load(&node, &profile).unwrap();
    for bad in ["", "two\nlines", " lead", "trail ", "a,b"] {
        let err = plan_edits(&config, &slave(2, &["ok", bad])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("{bad:?}")), "{text}");
    }
    assert!(plan_edits(&config, &slave(2, &["my-db", "a#b", "x'y"])).is_ok());
    assert!(plan_edits(&config, &master(0)).is_err());
}

#[test]
fn not_enough_space_or_unreadable_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    copy_tree(&fixture("fedora-core-5"), &root);
    let node = LocalNode::with_root(&root);
    let profile = profile::detect(&node, None).unwrap();
    let config = Config::load(&node, &profile).unwrap();
    let mut plan = plan_edits(&config, &master(1)).unwrap();
    let before = snapshot(&root);
    // A plan made from other contents is refused before anything is written.
    plan.file_edits[0].before = Some(b"[mysqld]\n".to_vec());
    let mut journal = Journal::create(&node, &plan.run_id).unwrap();
    assert!(backup::apply_file_edits(&node, &mut journal, &plan.file_edits).is_err());
    assert_eq!(snapshot(&root), before);
}

fn my_print_defaults_available() -> bool {
    Command::new("my_print_defaults")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The options `my_print_defaults` prints, one `--name=value` per line.
fn server_reader(entry: &Path, groups: &[String]) -> Vec<String> {
    let out = Command::new("my_print_defaults")
        .arg(format!("--defaults-file={}", entry.display()))
        .args(groups)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn our_reader(config: &Config) -> Vec<String> {
    config
        .options
        .iter()
        .map(|e| match &e.value {
            Some(v) => format!("--{}={v}", e.name.written),
            None => format!("--{}", e.name.written),
        })
        .collect()
}

/// Copies a fixture to a temp folder with its include paths pointing into
/// the copy, so `my_print_defaults` reads the copy.
fn relocated(name: &str, profile: &Profile) -> (tempfile::TempDir, Profile) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    copy_tree(&fixture(name), &root);
    let prefix = root.display().to_string();
    fn rewrite(dir: &Path, prefix: &str) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                rewrite(&path, prefix);
            } else if meta.is_file() {
                let bytes = fs::read(&path).unwrap();
                let text = String::from_utf8_lossy(&bytes)
                    .replace("!include /", &format!("!include {prefix}/"))
                    .replace("!includedir /", &format!("!includedir {prefix}/"));
                fs::write(&path, text).unwrap();
            }
        }
    }
    rewrite(&root, &prefix);
    let tree = LocalNode::with_root(&root);
    let entry = resolve_symlinks(&tree, &profile.config.entry_file).unwrap();
    let mut moved = profile.clone();
    moved.config.read_order = vec![root.join(entry.strip_prefix("/").unwrap())];
    moved.config.entry_file = moved.config.read_order[0].clone();
    moved.config.settings_file = root.join(profile.config.settings_file.strip_prefix("/").unwrap());
    (dir, moved)
}

#[test]
fn effective_options_match_my_print_defaults() {
    if !my_print_defaults_available() {
        eprintln!("my_print_defaults not installed: comparison skipped");
        return;
    }
    let cases = [
        ("debian-12", None),
        ("debian-13", None),
        ("debian-sid-mysql", None),
        ("ubuntu-24.04", None),
        ("rhel-9", None),
        ("fedora-core-5", None),
        ("centos-4", None),
        ("debian-etch", None),
        ("hostile-mixed", Some("rhel-9")),
        ("hostile-crlf", Some("fedora-core-5")),
        ("hostile-nofinal", Some("fedora-core-5")),
        ("hostile-symlink", Some("rhel-9")),
    ];
    let node = LocalNode::new();
    for (name, forced) in cases {
        let detected = profile::detect(&LocalNode::with_root(fixture(name)), forced).unwrap();
        for role in [master(1), slave(2, &["shop", "new-db", "a#b"])] {
            let (_dir, profile) = relocated(name, &detected);
            let groups = profile.server_groups();
            let entry = profile.config.entry_file.clone();
            let config = Config::load(&node, &profile).unwrap();
            assert_eq!(
                our_reader(&config),
                server_reader(&entry, &groups),
                "{name} before"
            );
            let plan = plan_edits(&config, &role).unwrap();
            for edit in &plan.file_edits {
                fs::write(&edit.path, &edit.after).unwrap();
            }
            let after = Config::load(&node, &profile).unwrap();
            let printed = server_reader(&entry, &groups);
            assert_eq!(our_reader(&after), printed, "{name} after {:?}", role.role);
            let binds = printed
                .iter()
                .filter(|l| l.starts_with("--bind-address="))
                .count();
            assert!(binds <= 1, "{name}: {printed:?}");
        }
    }
}

/// The installed server's plugin folder (`plugin-dir` of `mariadbd --help
/// --verbose` with no option file).
fn server_plugin_dir() -> PathBuf {
    let out = Command::new("mariadbd")
        .args(["--no-defaults", "--help", "--verbose"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some("plugin-dir")).then(|| words.next().map(PathBuf::from))?
        })
        .unwrap_or_else(|| PathBuf::from("/usr/lib/mysql/plugin"))
}

/// Debian 12's option files load the compression provider plugins
/// (`plugin_load_add = provider_lz4`), packaged apart
/// (mariadb-plugin-provider-*, which scripts/install-deps installs). A
/// server without one refuses the whole configuration, which says nothing
/// about the editor: the copy under test leaves out the files that load a
/// plugin this server lacks, and says so, so that the test does not depend
/// on what happens to be installed.
fn leave_out_missing_plugins(root: &Path, plugin_dir: &Path) {
    fn walk(dir: &Path, plugin_dir: &Path) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(&path, plugin_dir);
                continue;
            }
            if !meta.is_file() {
                continue;
            }
            let text = fs::read_to_string(&path).unwrap_or_default();
            let missing = text.lines().find_map(|line| {
                let (key, value) = line.split_once('=')?;
                let key = key.trim().replace('-', "_");
                (key == "plugin_load_add").then_some(())?;
                let name = value
                    .trim()
                    .split(';')
                    .next()?
                    .trim()
                    .trim_end_matches(".so");
                let library = plugin_dir.join(format!("{name}.so"));
                (!library.exists()).then(|| name.to_string())
            });
            if let Some(plugin) = missing {
                eprintln!(
                    "{} left out: this server has no {plugin} plugin (package mariadb-plugin-{}; scripts/install-deps installs it)",
                    path.display(),
                    plugin.replace('_', "-")
                );
                fs::remove_file(&path).unwrap();
            }
        }
    }
    walk(root, plugin_dir);
}

/// The installed server (when there is one) accepts every option the editor
/// writes: `mariadbd --help --verbose` stops on unknown options.
#[test]
fn installed_server_accepts_the_edited_configuration() {
    let Ok(probe) = Command::new("mariadbd").arg("--version").output() else {
        eprintln!("mariadbd not installed: check skipped");
        return;
    };
    if !probe.status.success() {
        return;
    }
    let detected = Profile::by_name("debian-12").unwrap();
    let node = LocalNode::new();
    let plugin_dir = server_plugin_dir();
    for role in [master(1), slave(2, &["shop", "my-db", "a#b"])] {
        let (dir, profile) = relocated("debian-12", &detected);
        leave_out_missing_plugins(dir.path(), &plugin_dir);
        let config = Config::load(&node, &profile).unwrap();
        let plan = plan_edits(&config, &role).unwrap();
        for edit in &plan.file_edits {
            fs::write(&edit.path, &edit.after).unwrap();
        }
        let out = Command::new("mariadbd")
            .arg(format!(
                "--defaults-file={}",
                profile.config.entry_file.display()
            ))
            .args(["--user=mysql", "--help", "--verbose"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{:?}: {stderr}", role.role);
        assert!(!stderr.contains("unknown"), "{stderr}");
        let shown = |name: &str| {
            stdout
                .lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .map(str::to_string)
        };
        match role.role {
            ServerRole::Master => {
                assert_eq!(shown("server-id").as_deref(), Some("1"));
                assert_eq!(shown("bind-address").as_deref(), Some("0.0.0.0"));
                assert_eq!(shown("binlog-format").as_deref(), Some("ROW"));
                assert_eq!(shown("log-bin").as_deref(), Some("mysql-bin"));
            }
            ServerRole::Slave => {
                assert_eq!(shown("server-id").as_deref(), Some("2"));
                assert_eq!(shown("read-only").as_deref(), Some("TRUE"));
                assert_eq!(shown("log-slave-updates").as_deref(), Some("TRUE"));
            }
        }
    }
}

#[test]
fn version_specific_groups_follow_the_running_server() {
    let text = "[mysqld]\nport = 1\n[mysqld-10.11]\nport = 2\n[mariadb-11.4]\nport = 3\n";
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("etc")).unwrap();
    fs::write(dir.path().join("etc/my.cnf"), text).unwrap();
    let node = LocalNode::with_root(dir.path());
    let profile = Profile::by_name("rhel-9").unwrap();
    let port = |version: &str| {
        Config::load_for_version(&node, &profile, version)
            .unwrap()
            .get("port")
            .unwrap()
            .display_value()
    };
    assert_eq!(port("10.11.6-MariaDB-0+deb12u1"), "2");
    assert_eq!(port("11.4.2-MariaDB"), "3");
    assert_eq!(port("10.5.22-MariaDB"), "1");
}
