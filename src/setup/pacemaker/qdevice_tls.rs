//! The certificates that let corosync-qdevice and corosync-qnetd talk over
//! TLS, each side proving itself (the exchange `pcs quorum device add`
//! performs): the qnetd host's NSS database and CA (Debian's package
//! usually made them: reused, never made again), each node's qdevice
//! database trusting that CA, and one cluster certificate, requested on
//! one node, signed on the qnetd host and carried to the others as a
//! PKCS#12 file. Files move between hosts as `Change::CopyFile`.
//! Certificates that exist and verify are kept.

use std::path::{Path, PathBuf};

use super::CLUSTER_NAME;
use crate::backup::CommandEffect;
use crate::node::Node;
use crate::operation::plan::{Change, FileCopy, Side, StepPlan};
use crate::{Error, Result};

pub use crate::operation::quorum_device::{NODE_DB, NODE_FOLDER, QNETD_DB};
/// The CA exported for the nodes (corosync-qnetd-certutil's path).
const QNETD_CA_EXPORT: &str = "/etc/corosync/qnetd/nssdb/qnetd-cacert.crt";
/// What the node tool writes: the request (-r) and the PKCS#12 (-M).
const NODE_REQUEST: &str = "/etc/corosync/qdevice/net/nssdb/qdevice-net-node.crq";
const NODE_P12: &str = "/etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12";
const CA_NICKNAME: &str = "QNet CA";
const SERVER_NICKNAME: &str = "QNetd Cert";
const CLUSTER_NICKNAME: &str = "Cluster Cert";
const NODE_TOOL: &str = "corosync-qdevice-net-certutil";
const QNETD_TOOL: &str = "corosync-qnetd-certutil";

pub const CA_STEP: &str = "quorum device CA";
pub const NODE_DB_STEP: &str = "quorum device certificates";
pub const SIGN_STEP: &str = "sign the cluster certificate";
pub const CLUSTER_CERT_STEP: &str = "cluster certificate";

/// The qnetd host's certificate database as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QnetdDb {
    /// No database: made with the CA (`corosync-qnetd-certutil -i`).
    Missing,
    /// The CA and the server certificate are there; `exported`: the CA's
    /// copy for the nodes (qnetd-cacert.crt) is there too.
    Ready { exported: bool },
}

/// The qnetd host as the exchange needs it.
#[derive(Debug, Clone, Copy)]
pub struct Qnetd {
    pub db: QnetdDb,
    /// qnetd runs now: a new database is read only at its start.
    pub running: bool,
    pub systemd: bool,
}

/// A node's qdevice database as found, against the qnetd host's CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeDb {
    /// No database; `folder`: /etc/corosync/qdevice/net exists.
    Missing { folder: bool },
    /// It trusts the qnetd CA but holds no cluster certificate yet.
    CaOnly,
    /// It trusts the qnetd CA and holds the cluster certificate with its
    /// key, valid for a TLS client.
    Complete,
}

#[derive(Debug, Clone)]
pub struct NodeCerts {
    pub side: Side,
    pub db: NodeDb,
}

fn command(argv: &[&str], why: &str) -> Change {
    Change::command(argv, why)
}

/// The run made this certificate database or folder: rollback removes it.
fn made(path: &str) -> CommandEffect {
    CommandEffect::Made { path: path.into() }
}

fn copy(from: Side, source: &str, path: &str, mode: u32, private_key: bool, what: &str) -> Change {
    Change::CopyFile(FileCopy {
        from,
        source: PathBuf::from(source),
        path: PathBuf::from(path),
        mode,
        owner: "root".into(),
        group: "root".into(),
        private_key,
        what: what.into(),
    })
}

fn request_on_qnetd() -> String {
    format!("{QNETD_DB}/cluster-{CLUSTER_NAME}.crq")
}

fn signed_on_qnetd() -> String {
    format!("{QNETD_DB}/cluster-{CLUSTER_NAME}.crt")
}

/// The exchange's steps, in order, from what the hosts hold: the qnetd
/// CA, then each node's database, then (when no node holds the cluster
/// certificate yet) a request signed on the qnetd host, then the cluster
/// certificate on every node that lacks it. Nothing when all is in place.
pub fn exchange(qnetd: &Qnetd, nodes: &[NodeCerts]) -> Vec<StepPlan> {
    let mut steps = Vec::new();
    let mut ca = StepPlan {
        name: CA_STEP,
        side: Side::Witness,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    match qnetd.db {
        QnetdDb::Missing => {
            ca.summary.push(format!(
                "{QNETD_DB} has no certificate database: corosync-qnetd-certutil makes it with a new CA and qnetd's certificate"
            ));
            ca.changes.push(Change::command_with(
                &[QNETD_TOOL, "-i", "-G"],
                "the qnetd CA and server certificate (files not group-writable)",
                vec![made(QNETD_DB)],
            ));
            ca.changes.push(command(
                &[
                    "chgrp",
                    "coroqnetd",
                    QNETD_DB,
                    &format!("{QNETD_DB}/cert9.db"),
                    &format!("{QNETD_DB}/key4.db"),
                ],
                "qnetd runs as coroqnetd and reads its database (as the package sets it)",
            ));
            if qnetd.running {
                let restart: Vec<&str> = if qnetd.systemd {
                    vec!["systemctl", "restart", "corosync-qnetd.service"]
                } else {
                    vec!["/etc/init.d/corosync-qnetd", "restart"]
                };
                ca.changes.push(Change::command_with(
                    &restart,
                    "qnetd reads its new database at start",
                    vec![CommandEffect::Restarted {
                        service: "corosync-qnetd".into(),
                        systemd: qnetd.systemd,
                    }],
                ));
            }
        }
        QnetdDb::Ready { exported } => {
            ca.summary.push(format!(
                "{QNETD_DB} holds the qnetd CA and server certificate: kept"
            ));
            if !exported {
                ca.changes.push(command(
                    &[
                        "sh",
                        "-c",
                        &format!(
                            "certutil -L -d {QNETD_DB} -n '{CA_NICKNAME}' > {QNETD_CA_EXPORT} && certutil -L -d {QNETD_DB} -n '{CA_NICKNAME}' -a >> {QNETD_CA_EXPORT}"
                        ),
                    ],
                    "the CA's certificate exported again for the nodes (as corosync-qnetd-certutil -i leaves it)",
                ));
            }
        }
    }
    steps.push(ca);
    let lacking: Vec<&NodeCerts> = nodes.iter().filter(|n| n.db != NodeDb::Complete).collect();
    if lacking.is_empty() {
        return steps;
    }
    let holder = nodes.iter().find(|n| n.db == NodeDb::Complete);
    // With no node holding the cluster certificate, the first that lacks
    // it requests one.
    let requester = if holder.is_none() {
        lacking.first().map(|n| n.side)
    } else {
        None
    };
    let ca_copy = format!("{NODE_FOLDER}/qnetd-cacert.crt");
    for node in &lacking {
        let mut step = StepPlan {
            name: NODE_DB_STEP,
            side: node.side,
            changes: Vec::new(),
            summary: Vec::new(),
        };
        if let NodeDb::Missing { folder } = node.db {
            if !folder {
                step.changes.push(Change::command_with(
                    &["install", "-d", "-m", "0700", NODE_FOLDER],
                    "qdevice's folder (root only)",
                    vec![made(NODE_FOLDER)],
                ));
            }
            step.changes.push(copy(
                Side::Witness,
                QNETD_CA_EXPORT,
                &ca_copy,
                0o644,
                false,
                "the qnetd CA's certificate",
            ));
            // Inside a folder the run made, the folder goes as a whole.
            step.changes.push(Change::command_with(
                &[NODE_TOOL, "-i", "-c", &ca_copy],
                "qdevice's certificate database, trusting the qnetd CA only",
                if folder {
                    vec![made(NODE_DB)]
                } else {
                    Vec::new()
                },
            ));
        } else {
            step.summary
                .push(format!("{NODE_DB} trusts the qnetd CA: kept"));
        }
        if requester == Some(node.side) {
            step.changes.push(command(
                &[NODE_TOOL, "-r", "-n", CLUSTER_NAME],
                "a key and a certificate request for the cluster (CN=cluster name); the key stays in the database",
            ));
        }
        steps.push(step);
    }
    let source = match (holder, requester) {
        (Some(holder), _) => {
            steps.push(StepPlan {
                name: CLUSTER_CERT_STEP,
                side: holder.side,
                changes: vec![command(
                    &[
                        "sh",
                        "-c",
                        &format!(
                            "umask 077 && pk12util -d {NODE_DB} -o {NODE_P12} -W '' -n '{CLUSTER_NICKNAME}'"
                        ),
                    ],
                    "the cluster certificate and key this node holds, exported (0600) for the nodes that lack them",
                )],
                summary: vec![format!(
                    "{NODE_DB} holds a valid cluster certificate: kept, and given to the nodes that lack it"
                )],
            });
            holder.side
        }
        (None, Some(requester)) => {
            steps.push(StepPlan {
                name: SIGN_STEP,
                side: Side::Witness,
                changes: vec![
                    copy(
                        requester,
                        NODE_REQUEST,
                        &request_on_qnetd(),
                        0o600,
                        false,
                        "the cluster's certificate request",
                    ),
                    command(
                        &[
                            QNETD_TOOL,
                            "-s",
                            "-c",
                            &request_on_qnetd(),
                            "-n",
                            CLUSTER_NAME,
                        ],
                        "the qnetd CA signs the cluster certificate",
                    ),
                ],
                summary: Vec::new(),
            });
            let signed = format!("{NODE_FOLDER}/cluster-{CLUSTER_NAME}.crt");
            steps.push(StepPlan {
                name: CLUSTER_CERT_STEP,
                side: requester,
                changes: vec![
                    copy(
                        Side::Witness,
                        &signed_on_qnetd(),
                        &signed,
                        0o644,
                        false,
                        "the signed cluster certificate",
                    ),
                    command(
                        &[
                            "sh",
                            "-c",
                            &format!("umask 077 && {NODE_TOOL} -M -c {signed}"),
                        ],
                        "the signed certificate joins its key; both exported as PKCS#12 (0600) for the other nodes",
                    ),
                ],
                summary: Vec::new(),
            });
            requester
        }
        (None, None) => return steps,
    };
    let p12 = format!("{NODE_FOLDER}/qdevice-net-node.p12");
    for node in lacking.iter().filter(|n| n.side != source) {
        steps.push(StepPlan {
            name: CLUSTER_CERT_STEP,
            side: node.side,
            changes: vec![
                copy(
                    source,
                    NODE_P12,
                    &p12,
                    0o600,
                    true,
                    "the cluster certificate with its key (PKCS#12)",
                ),
                command(
                    &[NODE_TOOL, "-m", "-c", &p12],
                    "the cluster certificate and key into qdevice's database",
                ),
            ],
            summary: Vec::new(),
        });
    }
    steps
}

fn run_text(node: &dyn Node, argv: &[&str]) -> Result<Option<String>> {
    let out = node.run(argv, None)?;
    Ok(out.success().then(|| out.stdout_text()))
}

/// The PEM block of `certutil -L -a` output, whitespace-normalised.
fn pem(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join("\n")
}

fn has_db(node: &dyn Node, dir: &str) -> Result<bool> {
    for file in ["cert9.db", "cert8.db"] {
        if node.stat(&Path::new(dir).join(file))?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The qnetd host's database and its CA's certificate (PEM), when there.
pub fn qnetd_db(node: &dyn Node, host: &str) -> Result<(QnetdDb, Option<String>)> {
    if !has_db(node, QNETD_DB)? {
        return Ok((QnetdDb::Missing, None));
    }
    let ca = run_text(
        node,
        &["certutil", "-L", "-d", QNETD_DB, "-n", CA_NICKNAME, "-a"],
    )?;
    let server = run_text(
        node,
        &["certutil", "-L", "-d", QNETD_DB, "-n", SERVER_NICKNAME],
    )?;
    match (ca, server) {
        (Some(ca), Some(_)) => Ok((
            QnetdDb::Ready {
                exported: node.stat(Path::new(QNETD_CA_EXPORT))?.is_some(),
            },
            Some(pem(&ca)),
        )),
        _ => Err(Error::Preflight {
            count: 1,
            findings: format!(
                "{host}: {QNETD_DB} holds a certificate database without the `{CA_NICKNAME}` CA or the `{SERVER_NICKNAME}` certificate qnetd needs for TLS; setup never makes a second CA over one: look at it (certutil -L -d {QNETD_DB}), move it aside to have a new one made, and run setup again"
            ),
        }),
    }
}

/// A node's qdevice database against the qnetd CA (`ca`: None when the
/// qnetd host has none yet). One that trusts another CA, or holds a
/// cluster certificate that does not verify, is refused, never replaced.
pub fn node_db(node: &dyn Node, label: &str, ca: Option<&str>) -> Result<NodeDb> {
    if !has_db(node, NODE_DB)? {
        return Ok(NodeDb::Missing {
            folder: node.stat(Path::new(NODE_FOLDER))?.is_some(),
        });
    }
    let refuse = |why: &str| {
        Error::Preflight {
        count: 1,
        findings: format!(
            "{label}: {NODE_DB} {why}; setup replaces no certificates: move the folder aside (mv {NODE_DB} {NODE_DB}.old) to have it made again, and run setup again"
        ),
    }
    };
    let trusted = run_text(
        node,
        &["certutil", "-L", "-d", NODE_DB, "-n", CA_NICKNAME, "-a"],
    )?;
    match (trusted, ca) {
        (Some(trusted), Some(ca)) if pem(&trusted) == ca => {}
        (Some(_), Some(_)) => return Err(refuse("trusts another CA than the qnetd host's")),
        (Some(_), None) => {
            return Err(refuse(
                "trusts a qnetd CA, but the qnetd host has no certificate database (removed or replaced since)",
            ))
        }
        (None, _) => return Err(refuse(&format!("has no `{CA_NICKNAME}` certificate"))),
    }
    let cert = run_text(
        node,
        &["certutil", "-L", "-d", NODE_DB, "-n", CLUSTER_NICKNAME],
    )?;
    let Some(cert) = cert else {
        return Ok(NodeDb::CaOnly);
    };
    let valid = run_text(
        node,
        &[
            "certutil",
            "-V",
            "-u",
            "C",
            "-d",
            NODE_DB,
            "-n",
            CLUSTER_NICKNAME,
        ],
    )?
    .is_some_and(|out| out.contains("certificate is valid"));
    let keys = run_text(
        node,
        &[
            "certutil",
            "-K",
            "-d",
            NODE_DB,
            "-f",
            &format!("{NODE_DB}/pwdfile.txt"),
        ],
    )?
    .unwrap_or_default();
    if !valid || !keys.contains(CLUSTER_NICKNAME) {
        return Err(refuse(&format!(
            "holds a `{CLUSTER_NICKNAME}` that does not verify as a TLS client certificate of the qnetd CA, or without its key"
        )));
    }
    if !cert.contains(&format!("CN={CLUSTER_NAME}")) {
        return Err(refuse(&format!(
            "holds a `{CLUSTER_NICKNAME}` for another cluster than `{CLUSTER_NAME}`"
        )));
    }
    Ok(NodeDb::Complete)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn argv(change: &Change) -> String {
        match change {
            Change::Command { argv, .. } => argv.join(" "),
            Change::CopyFile(copy) => format!(
                "copy {}:{} -> {} {:o}{}",
                copy.from.name(),
                copy.source.display(),
                copy.path.display(),
                copy.mode,
                if copy.private_key { " key" } else { "" }
            ),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn flat(steps: &[StepPlan]) -> Vec<String> {
        steps
            .iter()
            .flat_map(|s| {
                s.changes
                    .iter()
                    .map(move |c| format!("{} {}: {}", s.side.name(), s.name, argv(c)))
            })
            .collect()
    }

    fn ready() -> Qnetd {
        Qnetd {
            db: QnetdDb::Ready { exported: true },
            running: true,
            systemd: false,
        }
    }

    fn nodes(master: NodeDb, slave: NodeDb) -> Vec<NodeCerts> {
        vec![
            NodeCerts {
                side: Side::Master,
                db: master,
            },
            NodeCerts {
                side: Side::Slave,
                db: slave,
            },
        ]
    }

    const MISSING: NodeDb = NodeDb::Missing { folder: false };

    #[test]
    fn a_first_run_reuses_the_packaged_ca_and_carries_one_cluster_certificate_to_both_nodes() {
        let steps = exchange(&ready(), &nodes(MISSING, MISSING));
        assert_eq!(
            flat(&steps),
            [
                "master quorum device certificates: install -d -m 0700 /etc/corosync/qdevice/net",
                "master quorum device certificates: copy witness:/etc/corosync/qnetd/nssdb/qnetd-cacert.crt -> /etc/corosync/qdevice/net/qnetd-cacert.crt 644",
                "master quorum device certificates: corosync-qdevice-net-certutil -i -c /etc/corosync/qdevice/net/qnetd-cacert.crt",
                "master quorum device certificates: corosync-qdevice-net-certutil -r -n mysqlha",
                "slave quorum device certificates: install -d -m 0700 /etc/corosync/qdevice/net",
                "slave quorum device certificates: copy witness:/etc/corosync/qnetd/nssdb/qnetd-cacert.crt -> /etc/corosync/qdevice/net/qnetd-cacert.crt 644",
                "slave quorum device certificates: corosync-qdevice-net-certutil -i -c /etc/corosync/qdevice/net/qnetd-cacert.crt",
                "witness sign the cluster certificate: copy master:/etc/corosync/qdevice/net/nssdb/qdevice-net-node.crq -> /etc/corosync/qnetd/nssdb/cluster-mysqlha.crq 600",
                "witness sign the cluster certificate: corosync-qnetd-certutil -s -c /etc/corosync/qnetd/nssdb/cluster-mysqlha.crq -n mysqlha",
                "master cluster certificate: copy witness:/etc/corosync/qnetd/nssdb/cluster-mysqlha.crt -> /etc/corosync/qdevice/net/cluster-mysqlha.crt 644",
                "master cluster certificate: sh -c umask 077 && corosync-qdevice-net-certutil -M -c /etc/corosync/qdevice/net/cluster-mysqlha.crt",
                "slave cluster certificate: copy master:/etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 -> /etc/corosync/qdevice/net/qdevice-net-node.p12 600 key",
                "slave cluster certificate: corosync-qdevice-net-certutil -m -c /etc/corosync/qdevice/net/qdevice-net-node.p12",
            ]
        );
        // No CA is made where one exists.
        assert!(!flat(&steps).iter().any(|l| l.contains("certutil -i -G")));
    }

    #[test]
    fn a_re_run_with_verified_certificates_changes_nothing() {
        let steps = exchange(&ready(), &nodes(NodeDb::Complete, NodeDb::Complete));
        assert!(steps.iter().all(StepPlan::unchanged), "{steps:?}");
        assert_eq!(
            steps[0].summary,
            ["/etc/corosync/qnetd/nssdb holds the qnetd CA and server certificate: kept"]
        );
    }

    #[test]
    fn a_node_that_lost_its_database_gets_the_cluster_certificate_the_other_holds() {
        let steps = exchange(
            &ready(),
            &nodes(NodeDb::Complete, NodeDb::Missing { folder: true }),
        );
        assert_eq!(
            flat(&steps),
            [
                "slave quorum device certificates: copy witness:/etc/corosync/qnetd/nssdb/qnetd-cacert.crt -> /etc/corosync/qdevice/net/qnetd-cacert.crt 644",
                "slave quorum device certificates: corosync-qdevice-net-certutil -i -c /etc/corosync/qdevice/net/qnetd-cacert.crt",
                "master cluster certificate: sh -c umask 077 && pk12util -d /etc/corosync/qdevice/net/nssdb -o /etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 -W '' -n 'Cluster Cert'",
                "slave cluster certificate: copy master:/etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 -> /etc/corosync/qdevice/net/qdevice-net-node.p12 600 key",
                "slave cluster certificate: corosync-qdevice-net-certutil -m -c /etc/corosync/qdevice/net/qdevice-net-node.p12",
            ]
        );
        // No new cluster certificate: nothing is signed.
        assert!(!steps.iter().any(|s| s.name == SIGN_STEP));
    }

    #[test]
    fn a_node_with_the_ca_only_requests_without_a_new_database() {
        let steps = exchange(&ready(), &nodes(NodeDb::CaOnly, NodeDb::CaOnly));
        let lines = flat(&steps);
        assert!(!lines.iter().any(|l| l.contains(" -i ")), "{lines:?}");
        assert_eq!(
            lines[0],
            "master quorum device certificates: corosync-qdevice-net-certutil -r -n mysqlha"
        );
        assert!(lines
            .iter()
            .any(|l| l.starts_with("slave cluster certificate: copy master:")));
    }

    #[test]
    fn a_qnetd_host_without_a_database_gets_its_ca_and_qnetd_restarts() {
        let qnetd = Qnetd {
            db: QnetdDb::Missing,
            running: true,
            systemd: false,
        };
        let steps = exchange(&qnetd, &nodes(MISSING, MISSING));
        let lines = flat(&steps);
        assert_eq!(
            &lines[..3],
            [
                "witness quorum device CA: corosync-qnetd-certutil -i -G",
                "witness quorum device CA: chgrp coroqnetd /etc/corosync/qnetd/nssdb /etc/corosync/qnetd/nssdb/cert9.db /etc/corosync/qnetd/nssdb/key4.db",
                "witness quorum device CA: /etc/init.d/corosync-qnetd restart",
            ]
        );
        // The rest of a first run follows: the nodes trust the new CA.
        assert!(lines[3].starts_with("master quorum device certificates"));
    }

    #[test]
    fn the_plan_shows_a_copy_by_its_hosts_and_paths_never_its_bytes() {
        let steps = exchange(&ready(), &nodes(NodeDb::Complete, MISSING));
        let plan = crate::operation::plan::Plan {
            run_id: "r1".into(),
            master_label: "192.0.2.11".into(),
            slave_label: "192.0.2.12".into(),
            slave2_label: String::new(),
            witness_label: "192.0.2.100".into(),
            preamble: Vec::new(),
            steps,
            rescues: Vec::new(),
            side_names: None,
            hold: None,
        };
        let text = plan.render();
        assert!(
            text.contains("copy master 192.0.2.11:/etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 to /etc/corosync/qdevice/net/qdevice-net-node.p12 (mode 600, owner root:root): the cluster certificate with its key (PKCS#12)\n     (contents read at run time, never shown; it holds a private key)"),
            "{text}"
        );
        assert!(
            text.contains("copy witness 192.0.2.100:/etc/corosync/qnetd/nssdb/qnetd-cacert.crt"),
            "{text}"
        );
    }
}
