//! The plan's TLS step: the nodes' certificates made, renewed or (the
//! administrator's own) checked, before the servers are configured to use
//! them. See src/tls.rs for how a node's files are made.

use std::path::{Path, PathBuf};

use super::finding::{Finding, Severity};
use super::journals::{run_command, Journals};
use super::pair::Pair;
use super::plan::{Change, Side, Statement, StepPlan};
use crate::access::Access;
use crate::backup::{self, JournalEntry};
use crate::mycnf::edit::FileEdit;
use crate::node::Node;
use crate::tls::{self, CertPlan, CertState, NodeCert, TlsFiles};
use crate::{Error, Result};

pub const STEP_NAME: &str = "TLS certificates";

/// The names a member's certificate carries: its address as the answers
/// give it, what that resolves to, its host name, and the cluster address.
fn wanted_names(pair: &mut Pair, side: Side) -> Result<Vec<String>> {
    let cluster = pair.answers.cluster.clone();
    let member = pair.member(side)?;
    let mut names = vec![member.label().to_string()];
    if let Ok(addresses) = crate::answers::resolve_host(member.label()) {
        names.extend(addresses.iter().map(|a| a.to_string()));
    }
    if let Some(host) = member.sql().scalar("SELECT @@hostname")? {
        names.push(host);
    }
    match cluster.resource {
        crate::answers::Resource::Vip => names.push(cluster.vip.clone()),
        crate::answers::Resource::Ddns => names.push(cluster.ddns.name.clone()),
        crate::answers::Resource::None => {}
    }
    Ok(names)
}

/// The subjectAltName a certificate carries, in `IP:…,DNS:…` form.
fn cert_names(node: &dyn Node, cert: &Path) -> Result<String> {
    let out = node.run(
        &[
            "openssl",
            "x509",
            "-noout",
            "-ext",
            "subjectAltName",
            "-in",
            &cert.to_string_lossy(),
        ],
        None,
    )?;
    let text = out.stdout_text();
    let mut names: Vec<String> = text
        .lines()
        .skip(1)
        .flat_map(|l| l.split(','))
        .map(|n| n.trim().replace("IP Address:", "IP:"))
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    Ok(names.join(","))
}

fn name_set(names: &str) -> Vec<&str> {
    let mut v: Vec<&str> = names.split(',').filter(|n| !n.is_empty()).collect();
    v.sort();
    v.dedup();
    v
}

fn same_names(a: &str, b: &str) -> bool {
    name_set(a) == name_set(b)
}

struct Survey {
    state: CertState,
    alt_names: String,
    has_key: bool,
}

fn survey(pair: &mut Pair, side: Side, files: &TlsFiles) -> Result<Survey> {
    let alt_names = tls::subject_alt_names(&wanted_names(pair, side)?);
    let member = pair.member(side)?;
    let node = member.access.node();
    let address = member.label().to_string();
    let mut state = tls::cert_state(node, files, &address)?;
    if files.generated {
        if let CertState::Good { .. } = &state {
            let carried = cert_names(node, &files.cert)?;
            if !same_names(&carried, &alt_names) {
                state = CertState::Needs(format!(
                    "the certificate names {carried}, the pair now needs {alt_names}"
                ));
            }
        }
    }
    let has_key = node.stat(&files.key)?.is_some()
        && node
            .run(
                &[
                    "openssl",
                    "pkey",
                    "-noout",
                    "-in",
                    &files.key.to_string_lossy(),
                ],
                None,
            )?
            .success();
    Ok(Survey {
        state,
        alt_names,
        has_key,
    })
}

/// The database nodes' sides: the master, the slave, and a second slave
/// when the run has one.
fn sides(pair: &Pair) -> Vec<Side> {
    let mut sides = vec![Side::Master, Side::Slave];
    if pair.slave2.is_some() {
        sides.push(Side::Slave2);
    }
    sides
}

/// Whether each node's CA file trusts every other node's certificate
/// (after a failover any node may replicate from any other).
fn cross_trust(pair: &mut Pair, files: &TlsFiles) -> Result<Option<String>> {
    let sides = sides(pair);
    for &from in &sides {
        for &to in sides.iter().filter(|&&to| to != from) {
            let (to_access, to_label) = pair.access(to)?;
            let Some(cert) = to_access.node().read(&files.cert)? else {
                return Ok(Some(format!("{to_label} has no {}", files.cert.display())));
            };
            let to_label = to_label.to_string();
            let (from_access, from_label) = pair.access(from)?;
            if let Err(why) = tls::trusts_peer(from_access.node(), &files.ca, &cert, &to_label)? {
                return Ok(Some(format!(
                    "{from_label} does not trust the certificate of {to_label} ({}): {why}",
                    files.ca.display()
                )));
            }
        }
    }
    Ok(None)
}

/// The step: unchanged while every node's certificate serves and each node
/// trusts the others'; else new certificates for all of them.
pub fn step(pair: &mut Pair, files: &TlsFiles, run_id: &str) -> Result<StepPlan> {
    let mut step = StepPlan {
        name: STEP_NAME,
        side: Side::Master,
        changes: Vec::new(),
        summary: Vec::new(),
    };
    let mut surveys = Vec::new();
    for side in sides(pair) {
        let survey = survey(pair, side, files)?;
        let member = pair.member(side)?;
        let label = member.label().to_string();
        let datadir = member.profile.paths.datadir.clone();
        surveys.push((label, datadir, survey));
    }
    let mut reasons = Vec::new();
    for (label, _, s) in &surveys {
        match &s.state {
            CertState::Good { expires } => step.summary.push(format!(
                "{label}: {} valid until {expires}",
                files.cert.display()
            )),
            CertState::Needs(why) => reasons.push(format!("{label}: {why}")),
        }
    }
    if reasons.is_empty() {
        if let Some(why) = cross_trust(pair, files)? {
            reasons.push(why);
        } else {
            step.summary
                .push("each node trusts the others' certificates".into());
        }
    }
    if reasons.is_empty() {
        return Ok(step);
    }
    if !files.generated {
        return Err(Error::Answers {
            key: "replication.tls_cert_file".into(),
            message: format!(
                "the given TLS files do not serve: {}; fix the files on the nodes or set replication.tls = \"generate\"",
                reasons.join("; ")
            ),
        });
    }
    step.summary = reasons;
    step.summary.push(
        "every node gets a new certificate (keys stay on their node; each CA signs one certificate and its key is deleted)"
            .into(),
    );
    let plan = CertPlan {
        run_id: run_id.to_string(),
        nodes: surveys
            .into_iter()
            .map(|(address, datadir, s)| NodeCert {
                address,
                alt_names: s.alt_names,
                new_key: !s.has_key,
                datadir,
                serial: tls::random_serial(),
            })
            .collect(),
    };
    step.changes.push(Change::Certificates(plan));
    Ok(step)
}

/// The node's own SHA-256 of a file (a private key is never read here).
fn node_sha256(node: &dyn Node, path: &Path) -> Result<String> {
    let text = path.to_string_lossy();
    let out = node.run(&["sha256sum", &text], None)?;
    let out = out.checked(node.label(), &["sha256sum", &text])?;
    Ok(out
        .stdout_text()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string())
}

/// Makes a node's key (journaled so a rollback removes it, or puts back the
/// unusable one it replaced, from a copy made on the node) and certificate.
fn make_on_node(
    access: &Access,
    journal: &mut backup::Journal,
    cert: &NodeCert,
    plan: &CertPlan,
) -> Result<()> {
    let node = access.node();
    let label = node.label();
    let key = Path::new(tls::GENERATED_DIR).join("server-key.pem");
    let mut key_before = None;
    if cert.new_key {
        let stat = node.stat(&key)?;
        let (backup, sha) = match &stat {
            Some(_) => {
                let copy = journal.backup_path(&key);
                let parent = copy.parent().unwrap_or(Path::new("/")).to_path_buf();
                node.create_dir_all(&parent, 0o700)?;
                run_command(
                    access,
                    label,
                    journal,
                    &[
                        "cp".into(),
                        "-p".into(),
                        key.to_string_lossy().into_owned(),
                        copy.to_string_lossy().into_owned(),
                    ],
                )?;
                let sha = node_sha256(node, &key)?;
                key_before = Some(sha.clone());
                (Some(copy), Some(sha))
            }
            None => (None, None),
        };
        journal.record(
            node,
            JournalEntry::FileBackedUp {
                path: key.clone(),
                existed: stat.is_some(),
                backup,
                mode: stat.as_ref().map(|s| s.mode).unwrap_or(0o640),
                uid: stat.as_ref().map(|s| s.uid).unwrap_or(0),
                gid: stat.as_ref().map(|s| s.gid).unwrap_or(0),
                sha256: sha,
            },
        )?;
        if stat.is_some() {
            node.remove_file(&key)?;
        }
    }
    for argv in cert.commands(&plan.work_dir(), &plan.run_id) {
        run_command(access, label, journal, &argv)?;
    }
    if cert.new_key {
        let after = node_sha256(node, &key)?;
        journal.record(
            node,
            JournalEntry::FileChanged {
                path: key,
                before_sha256: key_before,
                after_sha256: after,
            },
        )?;
    }
    Ok(())
}

/// `first`'s certificates, then those of `second` that `first` lacks.
fn merge_bundles(first: &[u8], second: &[u8]) -> Vec<u8> {
    const END: &str = "-----END CERTIFICATE-----";
    let blocks = |bytes: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(bytes)
            .split_inclusive(END)
            .map(str::trim)
            .filter(|b| b.ends_with(END))
            .map(str::to_string)
            .collect()
    };
    let mut merged = blocks(first);
    for block in blocks(second) {
        if !merged.contains(&block) {
            merged.push(block);
        }
    }
    let mut text = merged.join("\n");
    text.push('\n');
    text.into_bytes()
}

fn read_made(node: &dyn Node, path: PathBuf) -> Result<Vec<u8>> {
    node.read(&path)?.ok_or_else(|| Error::Command {
        host: node.label().to_string(),
        command: format!("openssl (made no {})", path.display()),
        status: "missing file".into(),
        detail: String::new(),
    })
}

fn install(
    node: &dyn Node,
    journal: &mut backup::Journal,
    path: PathBuf,
    bytes: Vec<u8>,
) -> Result<()> {
    let before = node.read(&path)?;
    if before.as_deref() == Some(bytes.as_slice()) {
        return Ok(());
    }
    let edit = FileEdit {
        path,
        before,
        after: bytes,
    };
    backup::apply_file_edit_as(node, journal, &edit, Some((0o644, 0, 0)))
}

/// Applies the certificate change: each node makes its key (when new) and
/// certificate; then every node gets its certificate and the bundle of all
/// the CAs; a server already serving TLS reloads its files.
pub fn apply(pair: &mut Pair, journals: &mut Journals, plan: &CertPlan) -> Result<String> {
    let work = plan.work_dir();
    let sides = sides(pair);
    if sides.len() != plan.nodes.len() {
        return Err(Error::Internal(format!(
            "certificates planned for {} nodes, the run has {}: plan again",
            plan.nodes.len(),
            sides.len()
        )));
    }
    let mut made = Vec::new();
    for (&side, cert) in sides.iter().zip(&plan.nodes) {
        let journal = journals.of(side)?;
        let (access, _) = pair.access(side)?;
        let node = access.node();
        make_on_node(access, journal, cert, plan)?;
        made.push((
            read_made(node, work.join("ca.pem"))?,
            read_made(node, work.join("server-cert.pem"))?,
        ));
    }
    let mut bundle = Vec::new();
    for (ca, _) in &made {
        bundle.extend_from_slice(ca);
        if !bundle.ends_with(b"\n") {
            bundle.push(b'\n');
        }
    }
    // Until every server serves its new certificate, the bundle also holds
    // the CAs trusted now: a daemon's check or a replica connecting in
    // between verifies whichever certificate it meets (a renewal must not
    // look like a sick master). Cut to the new CAs once all serve them.
    let mut transition = bundle.clone();
    for &side in &sides {
        let (access, _) = pair.access(side)?;
        if let Some(current) = access.node().read(&CertPlan::bundle_path())? {
            transition = merge_bundles(&transition, &current);
        }
    }
    for (&side, (_, cert)) in sides.iter().zip(made) {
        let journal = journals.of(side)?;
        let (access, _) = pair.access(side)?;
        let node = access.node();
        install(node, journal, CertPlan::cert_path(), cert)?;
        install(node, journal, CertPlan::bundle_path(), transition.clone())?;
        run_command(
            access,
            node.label(),
            journal,
            &[
                "rm".into(),
                "-rf".into(),
                work.to_string_lossy().into_owned(),
            ],
        )?;
    }
    let mut reloaded = Vec::new();
    for &side in &sides {
        let member = pair.member(side)?;
        if tls::serving_tls(member.sql()) {
            let sql = member.sql().flavor().reload_tls();
            let label = member.label().to_string();
            super::statement::run(member, journals.of(side)?, &Statement::control(sql))?;
            reloaded.push(label);
        }
    }
    for &side in &sides {
        let journal = journals.of(side)?;
        let (access, _) = pair.access(side)?;
        install(
            access.node(),
            journal,
            CertPlan::bundle_path(),
            bundle.clone(),
        )?;
    }
    if !reloaded.is_empty() {
        super::replica::reconnect_slaves(pair, journals)?;
    }
    let nodes = match plan.nodes.len() {
        2 => "both nodes".to_string(),
        count => format!("all {count} nodes"),
    };
    Ok(if reloaded.is_empty() {
        format!("new certificates on {nodes}")
    } else {
        format!(
            "new certificates on {nodes}; {} serve them already",
            reloaded.join(" and ")
        )
    })
}

/// Preflight: the servers can speak TLS, `openssl` is there to make the
/// certificates, and given files serve.
pub fn check(pair: &mut Pair) -> Result<Vec<Finding>> {
    let Some(files) = TlsFiles::from_answers(&pair.answers.replication) else {
        return Ok(vec![Finding {
            severity: Severity::Warning,
            node: pair.master.label().to_string(),
            check: "tls",
            message: "replication.tls = \"off\": the replication password's handshake, the replicated rows and the daemons' checks cross the network readable".into(),
        }]);
    };
    let mut findings = Vec::new();
    for side in [Side::Master, Side::Slave] {
        let member = pair.member(side)?;
        let label = member.label().to_string();
        let compiled = member
            .sql()
            .rows("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")?
            .first()
            .and_then(|r| r.get("Value").cloned().flatten());
        if compiled.as_deref() == Some("NO") {
            findings.push(Finding {
                severity: Severity::Fatal,
                node: label.clone(),
                check: "tls",
                message: "the server is built without TLS (have_ssl = NO): install a build with TLS, or set replication.tls = \"off\"".into(),
            });
            continue;
        }
        if files.generated {
            if let Some(problem) = tls::openssl_problem(member.access.node()) {
                findings.push(Finding {
                    severity: Severity::Fatal,
                    node: label,
                    check: "tls",
                    message: problem,
                });
                continue;
            }
        }
        let state = tls::cert_state(member.access.node(), &files, &label)?;
        let message = match (&state, files.generated) {
            (CertState::Good { expires }, _) => {
                format!("{} valid until {expires}", files.cert.display())
            }
            (CertState::Needs(why), true) => format!("new certificates will be made: {why}"),
            (CertState::Needs(why), false) => {
                findings.push(Finding {
                    severity: Severity::Fatal,
                    node: label,
                    check: "tls",
                    message: format!(
                        "{why}: fix the files (replication.tls_ca_file, tls_cert_file, tls_key_file) or set replication.tls = \"generate\""
                    ),
                });
                continue;
            }
        };
        findings.push(Finding {
            severity: Severity::Ok,
            node: label,
            check: "tls",
            message,
        });
    }
    if !files.generated && !findings.iter().any(|f| f.severity == Severity::Fatal) {
        if let Some(why) = cross_trust(pair, &files)? {
            findings.push(Finding {
                severity: Severity::Fatal,
                node: pair.master.label().to_string(),
                check: "tls",
                message: format!(
                    "{why}: both certificates must be signed by a CA in replication.tls_ca_file"
                ),
            });
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_renewal_trusts_old_and_new_cas_until_both_serve_the_new() {
        let cert =
            |n: &str| format!("-----BEGIN CERTIFICATE-----\n{n}\n-----END CERTIFICATE-----\n");
        let new = format!("{}{}", cert("new1"), cert("new2"));
        let old = format!("{}{}", cert("old1"), cert("new1"));
        let merged = String::from_utf8(super::merge_bundles(new.as_bytes(), old.as_bytes()))
            .unwrap_or_default();
        assert_eq!(
            merged,
            format!("{}{}{}", cert("new1"), cert("new2"), cert("old1"))
        );
    }
}
