//! Preflight for a dynamic-DNS cluster name: from each node (the daemons
//! update the name from there), the tools are installed, the node's address
//! can go in an A record, and the zone's server takes an update signed with
//! the key (a harmless TXT record added and removed). Nothing else changes.

use std::net::Ipv4Addr;

use crate::answers::Resource;
use crate::ddns::{DnsName, TsigKey};
use crate::operation::finding::{Finding, Severity};
use crate::operation::pair::{Member, Pair};
use crate::Result;

const TOOLS_CHECK: &str = "command -v nsupdate >/dev/null && command -v dig >/dev/null";

fn finding(member: &Member, severity: Severity, check: &'static str, message: String) -> Finding {
    Finding {
        severity,
        node: member.label().to_string(),
        check,
        message,
    }
}

fn check_member(
    member: &Member,
    name: Option<&DnsName>,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let node = member.access.node();
    let key = match member.side {
        crate::operation::plan::Side::Master => "master.host",
        crate::operation::plan::Side::Slave => "slave.host",
        crate::operation::plan::Side::Slave2 => "slave2.host",
        crate::operation::plan::Side::Witness => "cluster.witness",
    };
    if member.answers.host.parse::<Ipv4Addr>().is_err() {
        findings.push(finding(
            member,
            Severity::Fatal,
            "ddns",
            format!(
                "`{}` is not an IPv4 address: the dynamic-DNS name gets the node's address in an A record; give the address in {key}",
                member.answers.host
            ),
        ));
    }
    if !node.run(&["sh", "-c", TOOLS_CHECK], None)?.success() {
        findings.push(finding(
            member,
            Severity::Fatal,
            "ddns",
            "nsupdate or dig is missing: install bind9-dnsutils (Debian, Ubuntu) or bind-utils (Fedora, CentOS)".into(),
        ));
        return Ok(());
    }
    let Some(name) = name else {
        return Ok(());
    };
    let mut run = |argv: &[String], stdin: Option<&[u8]>| {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        node.run(&argv, stdin)
    };
    match name.probe(&mut run) {
        Ok(()) => findings.push(finding(
            member,
            Severity::Ok,
            "ddns",
            format!(
                "{} accepts a test update (added and removed) signed with {}",
                name.settings.server,
                name.key.describe(&name.settings)
            ),
        )),
        Err(err) => findings.push(finding(member, Severity::Fatal, "ddns", err.to_string())),
    }
    Ok(())
}

/// Findings for `resource = "ddns"`; none otherwise.
pub fn check(pair: &Pair) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    if pair.answers.cluster.resource != Resource::Ddns {
        return Ok(findings);
    }
    let settings = pair.answers.cluster.ddns.clone();
    let name = match TsigKey::from_answers(&settings) {
        Ok(key) => Some(DnsName { settings, key }),
        Err(err) => {
            findings.push(finding(
                &pair.master,
                Severity::Fatal,
                "ddns",
                err.to_string(),
            ));
            None
        }
    };
    for member in [&pair.master, &pair.slave] {
        check_member(member, name.as_ref(), &mut findings)?;
    }
    Ok(findings)
}
