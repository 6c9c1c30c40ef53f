//! Free space of the filesystem that holds a path, by statvfs(2) on that
//! very path (nix, already a dependency). The sysinfo crate lists mounted
//! disks instead, which would need matching a path to its longest mount
//! point by hand and misses bind mounts and overlays that statvfs resolves.

use std::path::Path;

/// Bytes of one filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Available to an unprivileged process (the database server does not
    /// run as root, so the blocks reserved for root do not count).
    pub available: u64,
    pub size: u64,
}

/// The space of the filesystem holding `path`; None when it cannot be read
/// (no such path, no permission to search it).
pub fn space(path: &Path) -> Option<Space> {
    let stat = nix::sys::statvfs::statvfs(path).ok()?;
    let unit = stat.fragment_size() as u64;
    Some(Space {
        available: (stat.blocks_available() as u64).saturating_mul(unit),
        size: (stat.blocks() as u64).saturating_mul(unit),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_has_space_and_a_missing_path_none() {
        let dir = tempfile::tempdir().unwrap();
        let space = space(dir.path()).unwrap();
        assert!(space.size > 0 && space.available <= space.size);
        assert_eq!(super::space(&dir.path().join("missing")), None);
    }
}
