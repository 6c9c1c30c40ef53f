//! Talking SQL to a node: one client library (the `mysql` crate) for both
//! nodes, over the server's unix socket (a remote socket is forwarded through
//! ssh), so unix-socket admin accounts work and no password is on any command
//! line.

pub mod conn;
pub mod fake;
pub mod flavor;
pub mod gtid;

pub use conn::{Row, SqlConn};
pub use flavor::{Family, Flavor, Position};

/// Server error codes the engine decides on (never on message text).
pub mod codes {
    pub const ACCESS_DENIED: u16 = 1045;
    /// Access denied where the account has no password (unix_socket accounts).
    pub const ACCESS_DENIED_NO_PASSWORD: u16 = 1698;
    pub const UNKNOWN_DATABASE: u16 = 1049;
    pub const NO_SUCH_TABLE: u16 = 1146;
    pub const NONEXISTING_GRANT: u16 = 1141;
    pub const NOT_REPLICA: u16 = 1200;
}
