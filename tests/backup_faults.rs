//! Backups refuse to start when they cannot succeed: no space, unreadable file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use mysql_ha::backup::{self, Journal};
use mysql_ha::mycnf::FileEdit;
use mysql_ha::node::{FileStat, LocalNode, Node, Output};
use mysql_ha::{Error, Result};

/// A tree node with a full disk or an unreadable file.
struct Faulty {
    inner: LocalNode,
    free: u64,
    unreadable: Option<PathBuf>,
}

impl Node for Faulty {
    fn label(&self) -> &str {
        "faulty"
    }
    fn run(&self, argv: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
        self.inner.run(argv, stdin)
    }
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        if self.unreadable.as_deref() == Some(path) {
            return Err(Error::io(
                path,
                std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            ));
        }
        self.inner.read(path)
    }
    fn stat(&self, path: &Path) -> Result<Option<FileStat>> {
        self.inner.stat(path)
    }
    fn read_link(&self, path: &Path) -> Result<PathBuf> {
        self.inner.read_link(path)
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn create_dir_all(&self, path: &Path, mode: u32) -> Result<()> {
        self.inner.create_dir_all(path, mode)
    }
    fn write_atomic(&self, path: &Path, bytes: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
        self.inner.write_atomic(path, bytes, mode, uid, gid)
    }
    fn remove_file(&self, path: &Path) -> Result<()> {
        self.inner.remove_file(path)
    }
    fn free_bytes(&self, _path: &Path) -> Result<u64> {
        Ok(self.free)
    }
}

fn setup() -> (tempfile::TempDir, Vec<FileEdit>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/a.cnf"), "[mysqld]\n").unwrap();
    std::fs::write(dir.path().join("etc/b.cnf"), "[mysqld]\n").unwrap();
    let edits = ["/etc/a.cnf", "/etc/b.cnf"]
        .iter()
        .map(|p| FileEdit {
            path: p.into(),
            before: Some(b"[mysqld]\n".to_vec()),
            after: b"[mysqld]\nserver-id = 1\n".to_vec(),
        })
        .collect();
    (dir, edits)
}

#[test]
fn full_disk_changes_nothing() {
    let (dir, edits) = setup();
    let node = Faulty {
        inner: LocalNode::with_root(dir.path()),
        free: 1000,
        unreadable: None,
    };
    let mut journal = Journal::create(&node, &backup::new_run_id()).unwrap();
    let err = backup::apply_file_edits(&node, &mut journal, &edits).unwrap_err();
    assert!(matches!(err, Error::NoSpaceForBackup { .. }), "{err}");
    assert!(err.to_string().contains("nothing was changed"));
    assert_eq!(
        std::fs::read(dir.path().join("etc/a.cnf")).unwrap(),
        b"[mysqld]\n"
    );
}

#[test]
fn unreadable_file_changes_nothing() {
    let (dir, edits) = setup();
    let node = Faulty {
        inner: LocalNode::with_root(dir.path()),
        free: u64::MAX,
        unreadable: Some(PathBuf::from("/etc/b.cnf")),
    };
    let mut journal = Journal::create(&node, &backup::new_run_id()).unwrap();
    let err = backup::apply_file_edits(&node, &mut journal, &edits).unwrap_err();
    assert!(matches!(err, Error::Unbackupable { .. }), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join("etc/a.cnf")).unwrap(),
        b"[mysqld]\n"
    );
    assert!(journal.records().is_empty());
}

#[test]
fn owner_and_mode_come_back() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (dir, edits) = setup();
    let path = dir.path().join("etc/a.cnf");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let is_root = nix::unistd::getuid().is_root();
    if is_root {
        std::os::unix::fs::chown(&path, Some(4321), Some(4322)).unwrap();
    }
    let node = LocalNode::with_root(dir.path());
    let run = backup::new_run_id();
    let mut journal = Journal::create(&node, &run).unwrap();
    backup::apply_file_edits(&node, &mut journal, &edits).unwrap();
    let changed = std::fs::metadata(&path).unwrap();
    assert_eq!(changed.permissions().mode() & 0o7777, 0o640);
    if is_root {
        assert_eq!((changed.uid(), changed.gid()), (4321, 4322));
    }
    // A later change of mode and contents; rollback restores the original and says so.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&path, "[mysqld]\nserver-id = 1\nport = 3307\n").unwrap();
    let restored = backup::rollback(&node, &run).unwrap();
    let a = restored
        .iter()
        .find(|r| r.path == Path::new("/etc/a.cnf"))
        .unwrap();
    let b = restored
        .iter()
        .find(|r| r.path == Path::new("/etc/b.cnf"))
        .unwrap();
    assert!(a.changed_since_run && !b.changed_since_run);
    let back = std::fs::metadata(&path).unwrap();
    assert_eq!(back.permissions().mode() & 0o7777, 0o640);
    if is_root {
        assert_eq!((back.uid(), back.gid()), (4321, 4322));
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"[mysqld]\n");
}
