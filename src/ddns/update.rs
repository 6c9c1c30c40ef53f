//! What is said to the zone's server: RFC 2136 updates through BIND's
//! `nsupdate` (the TSIG key given on its stdin, never on its command line)
//! and direct, non-recursive queries through `dig`.

use std::net::IpAddr;

use super::key::TsigKey;
use crate::answers::DdnsAnswers;
use crate::node::Output;

/// `nsupdate` gives up on an update after this many seconds.
pub const UPDATE_TIMEOUT_S: u32 = 5;
/// Name of the harmless record preflight adds and removes.
pub const PROBE_LABEL: &str = "_mysql-ha-preflight";

fn absolute(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

pub fn nsupdate_argv() -> Vec<String> {
    vec!["nsupdate".into(), "-t".into(), UPDATE_TIMEOUT_S.to_string()]
}

fn preamble(d: &DdnsAnswers, key: &TsigKey) -> String {
    format!(
        "server {} {}\nzone {}\nkey {}:{} {}\n",
        d.server,
        d.port,
        absolute(&d.zone),
        key.algorithm,
        key.name,
        key.secret
    )
}

/// Replaces every A record of the name with this one address, in one update.
pub fn replace_script(d: &DdnsAnswers, key: &TsigKey, address: &str) -> String {
    let name = absolute(&d.name);
    format!(
        "{}update delete {name} A\nupdate add {name} {} A {address}\nsend\n",
        preamble(d, key),
        d.ttl
    )
}

/// Deletes the name's A records only while they still hold this address:
/// the server checks the prerequisite and the delete as one update.
pub fn release_script(d: &DdnsAnswers, key: &TsigKey, address: &str) -> String {
    let name = absolute(&d.name);
    format!(
        "{}prereq yxrrset {name} A {address}\nupdate delete {name} A\nsend\n",
        preamble(d, key)
    )
}

/// Adds a TXT record beside the name, then removes it again.
pub fn probe_script(d: &DdnsAnswers, key: &TsigKey) -> String {
    let probe = absolute(&format!("{PROBE_LABEL}.{}", d.zone));
    format!(
        "{}update add {probe} 0 TXT \"mysql-ha preflight\"\nsend\nupdate delete {probe} TXT\nsend\n",
        preamble(d, key)
    )
}

/// Asks the zone's server itself (no recursion, no cache) for the name.
pub fn query_argv(d: &DdnsAnswers) -> Vec<String> {
    vec![
        "dig".into(),
        format!("@{}", d.server),
        "-p".into(),
        d.port.to_string(),
        "+norecurse".into(),
        "+short".into(),
        "+time=2".into(),
        "+tries=1".into(),
        absolute(&d.name),
        "A".into(),
    ]
}

/// The addresses in `dig +short` output.
pub fn addresses(dig_stdout: &str) -> Vec<IpAddr> {
    dig_stdout
        .lines()
        .filter_map(|line| line.trim().parse::<IpAddr>().ok())
        .collect()
}

/// How the server took an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    /// A prerequisite did not hold (the record is not ours).
    PrerequisiteFailed,
    /// Refused or not delivered: nsupdate's own words.
    Failed(String),
}

pub fn outcome(out: &Output) -> Outcome {
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    if out.success() {
        return Outcome::Accepted;
    }
    if said.contains("NXRRSET") || said.contains("NXDOMAIN") {
        return Outcome::PrerequisiteFailed;
    }
    let mut words: Vec<&str> = Vec::new();
    // Each `send` of a script may repeat the same complaint.
    for line in said.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !words.contains(&line) {
            words.push(line);
        }
    }
    Outcome::Failed(if words.is_empty() {
        format!("nsupdate: {}", crate::error::exit_status(out.code))
    } else {
        words.join("; ")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn lab() -> (DdnsAnswers, TsigKey) {
        let d = DdnsAnswers {
            server: "192.0.2.100".into(),
            zone: "cluster.test".into(),
            name: "db.cluster.test".into(),
            ttl: 10,
            ..DdnsAnswers::default()
        };
        let key = TsigKey {
            name: "ha".into(),
            algorithm: "hmac-sha256".into(),
            secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQ=".into(),
        };
        (d, key)
    }

    #[test]
    fn scripts_replace_release_only_what_is_ours_and_keep_the_secret_off_argv() {
        let (d, key) = lab();
        let replace = replace_script(&d, &key, "192.0.2.12");
        assert_eq!(
            replace,
            "server 192.0.2.100 53\nzone cluster.test.\nkey hmac-sha256:ha c2VjcmV0LXNlY3JldC1zZWNyZXQ=\n\
             update delete db.cluster.test. A\nupdate add db.cluster.test. 10 A 192.0.2.12\nsend\n"
        );
        let release = release_script(&d, &key, "192.0.2.11");
        assert!(release.contains("prereq yxrrset db.cluster.test. A 192.0.2.11\nupdate delete db.cluster.test. A\nsend\n"));
        let probe = probe_script(&d, &key);
        assert!(probe.contains("update add _mysql-ha-preflight.cluster.test. 0 TXT"));
        assert!(probe.ends_with("update delete _mysql-ha-preflight.cluster.test. TXT\nsend\n"));
        assert!(!nsupdate_argv().join(" ").contains(&key.secret));
        assert!(!query_argv(&d).join(" ").contains(&key.secret));
        assert_eq!(query_argv(&d)[1], "@192.0.2.100");
    }

    #[test]
    fn outputs_are_read() {
        assert_eq!(
            addresses("192.0.2.12\n;; connection timed out\n"),
            vec!["192.0.2.12".parse::<IpAddr>().unwrap()]
        );
        let failed = |stderr: &str| Output {
            code: Some(2),
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
        };
        assert_eq!(
            outcome(&failed("update failed: NXRRSET\n")),
            Outcome::PrerequisiteFailed
        );
        assert_eq!(
            outcome(&failed(
                "; TSIG error with server: tsig verify failure\nupdate failed: NOTAUTH(BADSIG)\n"
            )),
            Outcome::Failed(
                "; TSIG error with server: tsig verify failure; update failed: NOTAUTH(BADSIG)"
                    .into()
            )
        );
        assert_eq!(
            outcome(&Output {
                code: Some(0),
                ..Output::default()
            }),
            Outcome::Accepted
        );
    }
}
