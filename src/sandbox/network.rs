//! The lab's network: a bridge in a namespace of its own (a bridge in the root
//! namespace drops forwarded TCP when bridge netfilter is on), one namespace
//! per host joined to it by a veth pair. Nothing is added to the root namespace.

use super::{bridge_netns, netns_prefix, HostSpec, PREFIX_LEN};
use crate::node::{LocalNode, Node};
use crate::{error::stderr_detail, Error, Result};

pub fn netns_name(host: &str) -> String {
    format!("{}{host}", netns_prefix())
}

fn ip(args: &[&str]) -> Result<String> {
    let mut argv = vec!["ip"];
    argv.extend_from_slice(args);
    let out = LocalNode::new().run(&argv, None)?;
    if out.success() {
        Ok(out.stdout_text())
    } else {
        Err(Error::Command {
            host: "local".into(),
            command: argv.join(" "),
            status: crate::error::exit_status(out.code),
            detail: stderr_detail(&out.stderr),
        })
    }
}

pub fn list_namespaces() -> Result<Vec<String>> {
    let listing = ip(&["netns", "list"])?;
    Ok(listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

fn link_exists(netns: &str, link: &str) -> bool {
    ip(&["-n", netns, "link", "show", link]).is_ok()
}

pub fn create(hosts: &[HostSpec]) -> Result<()> {
    let bridge = bridge_netns();
    let bridge = bridge.as_str();
    let existing = list_namespaces()?;
    if !existing.iter().any(|n| n == bridge) {
        ip(&["netns", "add", bridge])?;
    }
    if !link_exists(bridge, "br0") {
        ip(&["-n", bridge, "link", "add", "br0", "type", "bridge"])?;
    }
    ip(&["-n", bridge, "link", "set", "lo", "up"])?;
    ip(&["-n", bridge, "link", "set", "br0", "up"])?;
    for host in hosts {
        let netns = netns_name(host.name);
        if !existing.contains(&netns) {
            ip(&["netns", "add", &netns])?;
        }
        if !link_exists(&netns, "eth0") {
            // The bridge-side end is named after the host; the host sees eth0.
            if link_exists(bridge, host.name) {
                ip(&["-n", bridge, "link", "del", host.name])?;
            }
            ip(&[
                "-n", bridge, "link", "add", host.name, "type", "veth", "peer", "name", "eth0",
                "netns", &netns,
            ])?;
        }
        ip(&["-n", bridge, "link", "set", host.name, "master", "br0"])?;
        ip(&["-n", bridge, "link", "set", host.name, "up"])?;
        let cidr = format!("{}/{PREFIX_LEN}", host.address);
        let addresses = ip(&["-n", &netns, "-o", "addr", "show", "dev", "eth0"])?;
        if !addresses.contains(&format!(" {cidr} ")) {
            ip(&["-n", &netns, "addr", "add", &cidr, "dev", "eth0"])?;
        }
        ip(&["-n", &netns, "link", "set", "lo", "up"])?;
        ip(&["-n", &netns, "link", "set", "eth0", "up"])?;
    }
    Ok(())
}

/// Gives the bridge itself an address on the lab network (where the lab's
/// own services, the BMCs, listen), once.
pub fn add_bridge_address(address: &str) -> Result<()> {
    let bridge = bridge_netns();
    let cidr = format!("{address}/{PREFIX_LEN}");
    let addresses = ip(&["-n", &bridge, "-o", "addr", "show", "dev", "br0"])?;
    if !addresses.contains(&format!(" {cidr} ")) {
        ip(&["-n", &bridge, "addr", "add", &cidr, "dev", "br0"])?;
    }
    Ok(())
}

/// Brings the bridge-side end of a host's link up or down (a cable).
pub fn set_link(host: &str, up: bool) -> Result<()> {
    let bridge = bridge_netns();
    ip(&[
        "-n",
        &bridge,
        "link",
        "set",
        host,
        if up { "up" } else { "down" },
    ])?;
    Ok(())
}

/// Removes the addresses added at run time (the host's own stays).
pub fn flush_secondary_addresses(host: &str) -> Result<()> {
    let netns = netns_name(host);
    ip(&["-n", &netns, "addr", "flush", "dev", "eth0", "secondary"])?;
    Ok(())
}

/// Deletes every namespace of the lab (their veth pairs go with them).
pub fn remove_all() -> Result<()> {
    for netns in list_namespaces()? {
        if netns.starts_with(&netns_prefix()) {
            ip(&["netns", "del", &netns])?;
        }
    }
    Ok(())
}
