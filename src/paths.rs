//! Where the tool's own binary lives on a node: read by the answers (an
//! install method names one), the sudo allowlist and the hand-off.

/// The tool's own binary on a node when setup's hand-off copies it there.
pub const BINARY: &str = "/usr/local/sbin/mysql-ha";
/// The binary of the tool's package (answer `install.package`).
pub const PACKAGED_BINARY: &str = "/usr/sbin/mysql-ha";
