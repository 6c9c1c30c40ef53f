//! The cluster resource the master holds, behind one interface: a shared
//! address (here), a dynamic-DNS name (ddns_name.rs) or none.

use std::process::Command;
use std::time::Duration;

use super::exec::{run_limited, run_privileged};
use super::peer::Peer;
use crate::answers::ArpMode;
use crate::privileged::{PrivilegedCommand, ARPING, ARP_COUNT, IP};
use crate::{Error, Result};

const LIMIT: Duration = Duration::from_secs(10);

/// Why the resource is claimed: decides whether ARP is announced in
/// `when-needed` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The node already was master (start, restart of the daemon).
    Keep,
    /// Takeover from a master that released the address itself.
    FromFenced,
    /// Takeover from an unreachable master: its neighbours may still cache it.
    FromUnreachable,
}

pub trait ClusterResource {
    fn describe(&self) -> String;
    /// Holds it on this node now.
    fn held(&self) -> Result<bool>;
    /// Takes it; returns whether gratuitous ARP was sent.
    fn claim(&self, why: Claim) -> Result<bool>;
    fn release(&self) -> Result<()>;
    /// Asks the peer to let it go (fencing); Err when the peer cannot be asked.
    fn release_on_peer(&self, peer: &Peer) -> Result<()>;
    /// How an announcement sent in the background failed since the last
    /// look (taken: said once).
    fn failed_announcement(&self) -> Option<String> {
        None
    }
}

pub struct NoResource;

impl ClusterResource for NoResource {
    fn describe(&self) -> String {
        "no cluster resource".into()
    }
    fn held(&self) -> Result<bool> {
        Ok(true)
    }
    fn claim(&self, _why: Claim) -> Result<bool> {
        Ok(false)
    }
    fn release(&self) -> Result<()> {
        Ok(())
    }
    fn release_on_peer(&self, _peer: &Peer) -> Result<()> {
        Ok(())
    }
}

/// A shared address added to a device (never replacing the node's own).
pub struct Vip {
    pub cidr: String,
    pub device: String,
    pub arp: ArpMode,
    /// The privileged commands the daemon may run (its `ip` among them).
    pub allowlist: Vec<PrivilegedCommand>,
    /// How the last gratuitous ARP, sent in the background, failed.
    pub announce_failure: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Vip {
    fn address(&self) -> &str {
        self.cidr.split('/').next().unwrap_or(&self.cidr)
    }
    fn argv(&self, words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }
    fn add_argv(&self) -> Vec<String> {
        self.argv(&[IP, "addr", "add", &self.cidr, "dev", &self.device])
    }
    fn del_argv(&self) -> Vec<String> {
        self.argv(&[IP, "addr", "del", &self.cidr, "dev", &self.device])
    }
    fn arping_argv(&self) -> Vec<String> {
        self.argv(&[
            ARPING,
            "-U",
            "-c",
            ARP_COUNT,
            "-I",
            &self.device,
            self.address(),
        ])
    }
    fn check(out: crate::node::Output, what: &str) -> Result<()> {
        if out.success() {
            Ok(())
        } else {
            Err(Error::Failed {
                what: what.to_string(),
                status: crate::error::exit_status(out.code),
                detail: crate::error::stderr_detail(&out.stderr),
            })
        }
    }
}

/// Whether `ip -o addr show dev DEVICE` output lists the address.
pub fn listed(ip_output: &str, cidr: &str) -> bool {
    ip_output
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| (w[0] == "inet" || w[0] == "inet6") && w[1] == cidr)
}

/// Whether `arp` mode sends gratuitous ARP for this claim.
pub fn announces(mode: ArpMode, why: Claim) -> bool {
    match mode {
        ArpMode::Never => false,
        ArpMode::Always => true,
        ArpMode::WhenNeeded => why == Claim::FromUnreachable,
    }
}

impl Vip {
    /// Sends gratuitous ARP without waiting for it: arping spends a second
    /// between its packets, and a master's check that waited for it could
    /// let its lease run short, stand aside, claim again and wait again (a
    /// loop seen after a takeover under load). A failure is kept for
    /// `failed_announcement`: the next check announces again.
    fn announce_in_background(&self) {
        let allowlist = self.allowlist.clone();
        let argv = self.arping_argv();
        let failure = std::sync::Arc::clone(&self.announce_failure);
        std::thread::spawn(move || {
            let result = run_privileged(&allowlist, &argv, LIMIT)
                .and_then(|out| Vip::check(out, &argv.join(" ")));
            if let (Err(err), Ok(mut slot)) = (result, failure.lock()) {
                *slot = Some(err.to_string());
            }
        });
    }
}

impl ClusterResource for Vip {
    fn describe(&self) -> String {
        format!("address {} on {}", self.cidr, self.device)
    }

    fn held(&self) -> Result<bool> {
        let mut command = Command::new(IP);
        command.args(["-o", "addr", "show", "dev", &self.device]);
        let out = run_limited(command, LIMIT)?;
        Ok(listed(&out.stdout_text(), &self.cidr))
    }

    fn claim(&self, why: Claim) -> Result<bool> {
        if !self.held()? {
            let out = run_privileged(&self.allowlist, &self.add_argv(), LIMIT)?;
            Self::check(out, &self.add_argv().join(" "))?;
        }
        if announces(self.arp, why) {
            self.announce_in_background();
            return Ok(true);
        }
        Ok(false)
    }

    fn release(&self) -> Result<()> {
        if self.held()? {
            let out = run_privileged(&self.allowlist, &self.del_argv(), LIMIT)?;
            Self::check(out, &self.del_argv().join(" "))?;
        }
        Ok(())
    }

    fn failed_announcement(&self) -> Option<String> {
        self.announce_failure.lock().ok()?.take()
    }

    fn release_on_peer(&self, peer: &Peer) -> Result<()> {
        let out = peer.run_privileged(&self.del_argv(), LIMIT)?;
        // Exit 2 with "Cannot assign requested address": it was not there.
        if out.success() || out.code == Some(2) {
            Ok(())
        } else {
            Self::check(
                out,
                &format!("on {}: {}", peer.host(), self.del_argv().join(" ")),
            )
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_background_announcement_is_told_once() {
        let vip = Vip {
            cidr: "192.0.2.10/24".into(),
            device: "eth0".into(),
            arp: ArpMode::Always,
            allowlist: Vec::new(),
            announce_failure: Default::default(),
        };
        assert_eq!(vip.failed_announcement(), None);
        *vip.announce_failure.lock().unwrap() = Some("arping exited 2".into());
        assert_eq!(
            vip.failed_announcement().as_deref(),
            Some("arping exited 2")
        );
        assert_eq!(vip.failed_announcement(), None);
        assert_eq!(NoResource.failed_announcement(), None);
    }

    #[test]
    fn arp_modes() {
        assert!(!announces(ArpMode::Never, Claim::FromUnreachable));
        assert!(announces(ArpMode::Always, Claim::Keep));
        assert!(announces(ArpMode::WhenNeeded, Claim::FromUnreachable));
        assert!(!announces(ArpMode::WhenNeeded, Claim::FromFenced));
        assert!(!announces(ArpMode::WhenNeeded, Claim::Keep));
    }

    #[test]
    fn address_listing() {
        let out = "2: eth0    inet 192.0.2.12/24 scope global eth0\n2: eth0    inet 192.0.2.10/24 scope global secondary eth0\n";
        assert!(listed(out, "192.0.2.10/24"));
        assert!(!listed(out, "192.0.2.1/24"));
    }
}
