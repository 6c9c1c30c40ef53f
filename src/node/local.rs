//! The machine the tool runs on, optionally confined to a directory tree
//! (`--root DIR`: "/etc/my.cnf" means DIR/etc/my.cnf).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use super::{FileKind, FileStat, Node, Output};
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct LocalNode {
    label: String,
    root: PathBuf,
}

impl LocalNode {
    /// This machine, seen from `/`.
    pub fn new() -> Self {
        Self::with_root("/")
    }

    /// This machine, seen from the tree at `root`. Commands still run on the
    /// real machine; only file access is confined.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let label = if root == Path::new("/") {
            "local".to_string()
        } else {
            format!("tree {}", root.display())
        };
        LocalNode { label, root }
    }

    /// Where a node path lives on this machine.
    pub fn host_path(&self, path: &Path) -> PathBuf {
        let mut out = self.root.clone();
        for component in path.components() {
            match component {
                Component::Normal(part) => out.push(part),
                Component::ParentDir if out != self.root => {
                    out.pop();
                }
                _ => {}
            }
        }
        out
    }
}

impl Default for LocalNode {
    fn default() -> Self {
        Self::new()
    }
}

fn stat_of(meta: &fs::Metadata) -> FileStat {
    let file_type = meta.file_type();
    let kind = if file_type.is_symlink() {
        FileKind::Symlink
    } else if file_type.is_dir() {
        FileKind::Dir
    } else if file_type.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    FileStat {
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        size: meta.len(),
    }
}

impl Node for LocalNode {
    fn label(&self) -> &str {
        &self.label
    }

    fn run(&self, argv: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| Error::Internal("an empty command".into()))?;
        super::run_to_end(Command::new(program).args(args), program, stdin)
    }

    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        let host = self.host_path(path);
        match fs::read(&host) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(host, e)),
        }
    }

    fn stat(&self, path: &Path) -> Result<Option<FileStat>> {
        let host = self.host_path(path);
        match fs::symlink_metadata(&host) {
            Ok(meta) => Ok(Some(stat_of(&meta))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(host, e)),
        }
    }

    fn read_link(&self, path: &Path) -> Result<PathBuf> {
        let host = self.host_path(path);
        fs::read_link(&host).map_err(|e| Error::io(host, e))
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        let host = self.host_path(path);
        let entries = match fs::read_dir(&host) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(host, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&host, e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn create_dir_all(&self, path: &Path, mode: u32) -> Result<()> {
        let host = self.host_path(path);
        fs::create_dir_all(&host).map_err(|e| Error::io(&host, e))?;
        fs::set_permissions(&host, fs::Permissions::from_mode(mode)).map_err(|e| Error::io(host, e))
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
        let host = self.host_path(path);
        let dir = host
            .parent()
            .ok_or_else(|| Error::Internal(format!("{}: no parent directory", host.display())))?;
        let mut temp = tempfile::Builder::new()
            .prefix(".mysql-ha.")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        temp.write_all(bytes)
            .map_err(|e| Error::io(temp.path(), e))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| Error::io(temp.path(), e))?;
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(temp.path(), e))?;
        std::os::unix::fs::chown(temp.path(), Some(uid), Some(gid))
            .map_err(|e| Error::io(temp.path(), e))?;
        temp.persist(&host).map_err(|e| Error::io(&host, e.error))?;
        // The rename is durable only once the directory entry is on disk.
        if let Ok(dir_handle) = fs::File::open(dir) {
            let _ = dir_handle.sync_all();
        }
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        let host = self.host_path(path);
        match fs::remove_file(&host) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(host, e)),
        }
    }

    fn free_bytes(&self, path: &Path) -> Result<u64> {
        let host = self.host_path(path);
        let stat = nix::sys::statvfs::statvfs(&host)
            .map_err(|e| Error::io(&host, std::io::Error::from(e)))?;
        Ok(stat.blocks_available() as u64 * stat.fragment_size() as u64)
    }
}
