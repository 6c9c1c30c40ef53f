//! The few commands the cluster daemon may run as root (through sudo), with
//! their exact arguments. The sudoers allowlist is written from this list and
//! the daemon runs only commands from it, so the two cannot drift apart.

use crate::answers::{ClusterAnswers, Resource};
use crate::profile::Profile;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegedCommand {
    /// Full path first, then fixed arguments.
    pub argv: Vec<String>,
    pub why: &'static str,
}

fn command(argv: &[&str], why: &'static str) -> PrivilegedCommand {
    PrivilegedCommand {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        why,
    }
}

pub const IP: &str = "/usr/sbin/ip";
pub use crate::paths::{BINARY, PACKAGED_BINARY};
/// Its root-only subcommand that writes read_only to the option files.
pub const SET_READ_ONLY: [&str; 2] = ["privileged", "set-read-only"];

/// The argv of `mysql-ha privileged set-read-only on|off`, `binary` being
/// the tool's path on the node.
pub fn set_read_only_argv(binary: &str, on: bool) -> Vec<String> {
    let mut argv = vec![binary.to_string()];
    argv.extend(SET_READ_ONLY.iter().map(|w| w.to_string()));
    argv.push(if on { "on" } else { "off" }.to_string());
    argv
}
pub const ARPING: &str = "/usr/bin/arping";
/// Gratuitous ARP replies sent per claim when ARP is sent.
pub const ARP_COUNT: &str = "3";

/// Every command the daemon on a node with this profile may run as root;
/// `binary`: the tool's path on the node.
pub fn allowlist(
    profile: &Profile,
    cluster: &ClusterAnswers,
    binary: &str,
) -> Vec<PrivilegedCommand> {
    let service = &profile.service;
    let mut list = vec![
        PrivilegedCommand {
            argv: service.start.clone(),
            why: "start the database server",
        },
        PrivilegedCommand {
            argv: service.stop.clone(),
            why: "stop the database server (fencing)",
        },
        PrivilegedCommand {
            argv: service.restart.clone(),
            why: "restart a sick database server",
        },
        PrivilegedCommand {
            argv: service.status.clone(),
            why: "ask whether the database server runs",
        },
        PrivilegedCommand {
            argv: set_read_only_argv(binary, true),
            why: "keep a stepped-down node read-only across restarts (backed-up option-file edit)",
        },
        PrivilegedCommand {
            argv: set_read_only_argv(binary, false),
            why: "keep a new master writable across restarts (backed-up option-file edit)",
        },
    ];
    if cluster.resource == Resource::Vip {
        let vip = cluster.vip.as_str();
        let device = cluster.device.as_str();
        let address = vip.split('/').next().unwrap_or(vip);
        list.push(command(
            &[IP, "addr", "add", vip, "dev", device],
            "claim the cluster address",
        ));
        list.push(command(
            &[IP, "addr", "del", vip, "dev", device],
            "release the cluster address",
        ));
        list.push(command(
            &[ARPING, "-U", "-c", ARP_COUNT, "-I", device, address],
            "announce the cluster address (gratuitous ARP)",
        ));
    }
    list
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn vip_commands_have_fixed_arguments() {
        let profile = Profile::by_name("debian-12").unwrap();
        let cluster = ClusterAnswers {
            resource: Resource::Vip,
            vip: "192.0.2.10/24".into(),
            ..ClusterAnswers::default()
        };
        let list = allowlist(&profile, &cluster, BINARY);
        assert!(list.iter().all(|c| c.argv[0].starts_with('/')));
        assert!(list.iter().any(|c| c.argv
            == [
                "/usr/sbin/ip",
                "addr",
                "add",
                "192.0.2.10/24",
                "dev",
                "eth0"
            ]));
        assert!(list.iter().any(|c| c.argv
            == [
                "/usr/bin/arping",
                "-U",
                "-c",
                "3",
                "-I",
                "eth0",
                "192.0.2.10"
            ]));
        let none = ClusterAnswers::default();
        assert_eq!(allowlist(&profile, &none, BINARY).len(), 6);
        assert!(allowlist(&profile, &none, PACKAGED_BINARY)
            .iter()
            .any(|c| c.argv[0] == "/usr/sbin/mysql-ha"));
        assert!(list.iter().any(|c| c.argv
            == [
                "/usr/local/sbin/mysql-ha",
                "privileged",
                "set-read-only",
                "off"
            ]));
    }
}
