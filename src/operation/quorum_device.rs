//! Where corosync's quorum device keeps its certificates: the Pacemaker
//! hand-off makes them (setup::pacemaker::qdevice_tls), rollback removes
//! those a run made.

/// The qnetd host's database (corosync-qnetd-certutil's).
pub const QNETD_DB: &str = "/etc/corosync/qnetd/nssdb";
/// The nodes' qdevice folder and database (corosync-qdevice-net-certutil's).
pub const NODE_FOLDER: &str = "/etc/corosync/qdevice/net";
pub const NODE_DB: &str = "/etc/corosync/qdevice/net/nssdb";
