//! Pacemaker as the end-to-end tests see it: crm_mon's view from a node,
//! where the promoted instance and the address are, a node powered off by
//! its BMC (shared by e2e_pacemaker and e2e_pacemaker3).

use mysql_ha::setup::pacemaker::{parse_crm_mon, CrmState};

use super::timeline::Writers;
use super::*;

/// crm_mon's view from `node` (None when Pacemaker does not answer there).
pub fn crm(node: &str) -> Option<CrmState> {
    let out = on(node, &["crm_mon", "-1", "--output-as=xml"]);
    out.status
        .success()
        .then(|| parse_crm_mon(&String::from_utf8_lossy(&out.stdout)))
}

pub fn promoted_with_address(node: &str, seen_from: &str) -> bool {
    crm(seen_from).is_some_and(|s| s.promoted == [node] && s.vip.as_deref() == Some(node))
}

/// The first row acknowledged through the cluster address by `server` after
/// `from` (the address writer numbers its rows below 20,000,000).
pub fn first_address_ack(writers: &Writers, server: u64, from: f64) -> Option<f64> {
    writers
        .acks()
        .iter()
        .find(|a| a.at > from && a.n < 20_000_000 && a.server_id == server)
        .map(|a| a.at)
}

/// Whether `sandbox status` shows the host powered off.
pub fn powered_off(host: &str) -> bool {
    mysql_ha(&["sandbox", "status"]).lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        words.first() == Some(&host) && words.get(2) == Some(&"down;")
    })
}
