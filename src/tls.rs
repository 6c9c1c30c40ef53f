//! Encrypted connections between the nodes: which certificate files a node
//! uses, how the tool makes them on the node, and how it tells whether the
//! ones there still serve.
//!
//! Generated mode: each node makes its own private key (it never leaves the
//! node) and, per run that needs new certificates, a throwaway CA whose key
//! signs that node's certificate and is deleted at once. Every node trusts
//! the bundle of the nodes' CA certificates (two, or three with a second
//! slave), so nobody can mint another certificate the cluster would
//! accept. Everything runs through `openssl` on the node, so the plan shows
//! the exact commands.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::answers::{ReplicationAnswers, TlsMode};
use crate::node::Node;
use crate::Result;

/// Where generated files live (public certificates 0644, the key 0640 root
/// with the server's group).
pub const GENERATED_DIR: &str = "/etc/ssl/mysql-ha";
/// A certificate is renewed by a run once it has less than this left.
pub const RENEW_BEFORE_DAYS: u32 = 30;
/// Validity of a generated server certificate (the CA lives longer so the
/// certificate's dates always lie inside it).
pub const CERT_DAYS: u32 = 825;
const CA_DAYS: u32 = 3650;

/// The three files a node's server and its clients use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA certificates a client trusts (both nodes' in generated mode).
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Made by the tool (and renewed by a run), not given by the administrator.
    pub generated: bool,
}

impl TlsFiles {
    /// The files the answers ask for; None when TLS is off.
    pub fn from_answers(replication: &ReplicationAnswers) -> Option<TlsFiles> {
        match replication.tls {
            TlsMode::Off => None,
            TlsMode::Generate => Some(TlsFiles {
                ca: Path::new(GENERATED_DIR).join("ca.pem"),
                cert: Path::new(GENERATED_DIR).join("server-cert.pem"),
                key: Path::new(GENERATED_DIR).join("server-key.pem"),
                generated: true,
            }),
            TlsMode::Files => Some(TlsFiles {
                ca: PathBuf::from(&replication.tls_ca_file),
                cert: PathBuf::from(&replication.tls_cert_file),
                key: PathBuf::from(&replication.tls_key_file),
                generated: false,
            }),
        }
    }

    pub fn ca_text(&self) -> String {
        self.ca.to_string_lossy().into_owned()
    }

    /// The server's `ssl-ca`, `ssl-cert` and `ssl-key`.
    pub fn server_settings(&self) -> crate::mycnf::role::ServerTls {
        let text = |p: &Path| p.to_string_lossy().into_owned();
        crate::mycnf::role::ServerTls {
            ca: text(&self.ca),
            cert: text(&self.cert),
            key: text(&self.key),
        }
    }
}

/// The names a node's certificate must carry: how the other node, the
/// daemons and clients of the cluster address reach it.
pub fn subject_alt_names(names: &[String]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for name in names {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        // A virtual IP is given with its prefix length.
        let bare = name.split('/').next().unwrap_or(name);
        let entry = match bare.parse::<IpAddr>() {
            Ok(ip) => format!("IP:{ip}"),
            Err(_) => format!("DNS:{bare}"),
        };
        if !seen.contains(&entry) {
            seen.push(entry);
        }
    }
    seen.join(",")
}

/// New certificates for every database node (a renewal is always of all
/// of them, so they trust the same bundle), applied by setup as one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPlan {
    pub run_id: String,
    /// The master's part first, then the slave's, then a second slave's.
    pub nodes: Vec<NodeCert>,
}

impl CertPlan {
    /// The run's private folder on each node where the CA lives and dies.
    pub fn work_dir(&self) -> PathBuf {
        crate::backup::Journal::run_dir(&self.run_id).join("tls")
    }

    pub fn bundle_path() -> PathBuf {
        Path::new(GENERATED_DIR).join("ca.pem")
    }

    pub fn cert_path() -> PathBuf {
        Path::new(GENERATED_DIR).join("server-cert.pem")
    }

    /// The plan's lines: every command on each node, then the files written.
    pub fn describe(&self) -> Vec<String> {
        let work = self.work_dir();
        let mut out = Vec::new();
        for node in &self.nodes {
            let label = &node.address;
            out.push(format!(
                "on {label}: {} (names {})",
                if node.new_key {
                    "a new private key (made here, never copied), then a certificate"
                } else {
                    "a certificate for its existing key"
                },
                node.alt_names
            ));
            for argv in node.commands(&work, &self.run_id) {
                out.push(format!("  run: {}", argv.join(" ")));
            }
            out.push(format!(
                "  write {} (0644) from {}",
                Self::cert_path().display(),
                work.join("server-cert.pem").display()
            ));
        }
        let labels: Vec<&str> = self.nodes.iter().map(|n| n.address.as_str()).collect();
        out.push(format!(
            "on each: write {} (0644) = the CA certificates of {}; remove {}",
            Self::bundle_path().display(),
            labels.join(", "),
            work.display()
        ));
        out.push(
            "a server that serves TLS already reads its new files at once (FLUSH SSL; MySQL: ALTER INSTANCE RELOAD TLS), trusting the old and the new CAs until all do; then each slave's I/O thread reconnects".into(),
        );
        out
    }
}

/// One node's part of a certificate renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCert {
    /// The address the pair knows the node by (the certificate's subject).
    pub address: String,
    /// subjectAltName value (`IP:…,DNS:…`).
    pub alt_names: String,
    /// No usable key yet: one is made first.
    pub new_key: bool,
    /// Where the server's group is read from (its datadir's group).
    pub datadir: PathBuf,
    /// The certificate's serial (random, hex).
    pub serial: String,
}

impl NodeCert {
    /// The commands that make the node's key (when it has none) and a
    /// certificate signed by a CA that exists only for these commands. `work`
    /// is a private folder of the run on the node.
    pub fn commands(&self, work: &Path, run_id: &str) -> Vec<Vec<String>> {
        let serial = &self.serial;
        let key = Path::new(GENERATED_DIR).join("server-key.pem");
        let w = |name: &str| work.join(name).to_string_lossy().into_owned();
        let key_text = key.to_string_lossy().into_owned();
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<String>>();
        let mut out = vec![
            s(&["install", "-d", "-m", "0755", GENERATED_DIR]),
            s(&["install", "-d", "-m", "0700", &work.to_string_lossy()]),
        ];
        if self.new_key {
            out.push(s(&[
                "openssl",
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &key_text,
            ]));
            out.push(s(&[
                "chgrp",
                &format!("--reference={}", self.datadir.display()),
                &key_text,
            ]));
            out.push(s(&["chmod", "0640", &key_text]));
        }
        out.push(s(&[
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &w("ca-key.pem"),
            "-out",
            &w("ca.pem"),
            "-days",
            &CA_DAYS.to_string(),
            "-subj",
            &format!(
                "/O=mysql-ha/CN=mysql-ha CA of {} (run {run_id})",
                self.address
            ),
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]));
        out.push(s(&[
            "openssl",
            "req",
            "-new",
            "-key",
            &key_text,
            "-out",
            &w("server.csr"),
            "-subj",
            &format!("/O=mysql-ha/CN={}", self.address),
            "-addext",
            &format!("subjectAltName={}", self.alt_names),
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature",
            "-addext",
            "extendedKeyUsage=serverAuth,clientAuth",
        ]));
        out.push(s(&[
            "openssl",
            "x509",
            "-req",
            "-in",
            &w("server.csr"),
            "-CA",
            &w("ca.pem"),
            "-CAkey",
            &w("ca-key.pem"),
            "-set_serial",
            &format!("0x{serial}"),
            "-days",
            &CERT_DAYS.to_string(),
            "-copy_extensions",
            "copyall",
            "-out",
            &w("server-cert.pem"),
        ]));
        // The CA signed its one certificate: its key goes, so nothing else
        // can ever be signed by it.
        out.push(s(&["rm", "-f", &w("ca-key.pem"), &w("server.csr")]));
        out
    }
}

/// A random serial (the tool's own randomness, 128 bits).
pub fn random_serial() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    // A positive number: the top bit clear.
    bytes[0] &= 0x7f;
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a node's TLS files say about themselves, read on the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertState {
    /// Present, matching the key, trusted by the CA file for `address`, and
    /// valid long enough.
    Good { expires: String },
    /// Something is wrong or missing; the reason says what.
    Needs(String),
}

fn run_ok(node: &dyn Node, argv: &[&str], stdin: Option<&[u8]>) -> Result<(bool, String)> {
    let out = node.run(argv, stdin)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.success(), text.trim().to_string()))
}

/// Checks the node's files: key and certificate present and matching, the
/// certificate trusted by `files.ca` for `address` as a server, and not
/// within `RENEW_BEFORE_DAYS` of its end.
pub fn cert_state(node: &dyn Node, files: &TlsFiles, address: &str) -> Result<CertState> {
    for (what, path) in [
        ("key", &files.key),
        ("certificate", &files.cert),
        ("CA file", &files.ca),
    ] {
        if node.stat(path)?.is_none() {
            return Ok(CertState::Needs(format!("no {what} {}", path.display())));
        }
    }
    let cert = files.cert.to_string_lossy();
    let key = files.key.to_string_lossy();
    let ca = files.ca.to_string_lossy();
    let (ok, cert_pub) = run_ok(
        node,
        &["openssl", "x509", "-noout", "-pubkey", "-in", &cert],
        None,
    )?;
    if !ok {
        return Ok(CertState::Needs(format!(
            "{cert} is not a certificate: {cert_pub}"
        )));
    }
    let (ok, key_pub) = run_ok(node, &["openssl", "pkey", "-pubout", "-in", &key], None)?;
    if !ok {
        return Ok(CertState::Needs(format!(
            "{key} is not a private key: {key_pub}"
        )));
    }
    if cert_pub != key_pub {
        return Ok(CertState::Needs(format!(
            "{cert} is not the certificate of {key}"
        )));
    }
    if let Err(why) = verify_as_server(node, &files.ca, address, &cert, None)? {
        return Ok(CertState::Needs(format!(
            "{cert} is not trusted by {ca} as {address}: {why}"
        )));
    }
    let seconds = u64::from(RENEW_BEFORE_DAYS) * 86_400;
    let (ok, _) = run_ok(
        node,
        &[
            "openssl",
            "x509",
            "-noout",
            "-checkend",
            &seconds.to_string(),
            "-in",
            &cert,
        ],
        None,
    )?;
    let (_, end) = run_ok(
        node,
        &["openssl", "x509", "-noout", "-enddate", "-in", &cert],
        None,
    )?;
    let expires = end.trim_start_matches("notAfter=").to_string();
    if !ok {
        return Ok(CertState::Needs(format!(
            "{cert} ends {expires}, within {RENEW_BEFORE_DAYS} days"
        )));
    }
    Ok(CertState::Good { expires })
}

/// Whether the CA file on one node trusts the other node's certificate (read
/// from that node: certificates are public) for the other node's address.
pub fn trusts_peer(
    node: &dyn Node,
    ca: &Path,
    peer_cert: &[u8],
    peer_address: &str,
) -> Result<std::result::Result<(), String>> {
    verify_as_server(node, ca, peer_address, "/dev/stdin", Some(peer_cert))
}

/// `openssl verify` on the node: `cert` (a path there, or /dev/stdin with
/// `stdin`) chains to `ca` and may serve as `address`. Err: openssl's reason.
fn verify_as_server(
    node: &dyn Node,
    ca: &Path,
    address: &str,
    cert: &str,
    stdin: Option<&[u8]>,
) -> Result<std::result::Result<(), String>> {
    let host_flag = if address.parse::<IpAddr>().is_ok() {
        "-verify_ip"
    } else {
        "-verify_hostname"
    };
    let ca = ca.to_string_lossy();
    let (ok, verdict) = run_ok(
        node,
        &[
            "openssl",
            "verify",
            "-CAfile",
            &ca,
            "-purpose",
            "sslserver",
            host_flag,
            address,
            cert,
        ],
        stdin,
    )?;
    Ok(if ok {
        Ok(())
    } else {
        Err(last_line(&verdict).to_string())
    })
}

/// Whether a running server serves TLS now (so it can reload its files).
pub fn serving_tls(conn: &mut crate::sql::SqlConn) -> bool {
    let query = conn.flavor().serving_tls_query();
    conn.scalar(query).ok().flatten().as_deref() == Some("1")
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(text)
}

/// What keeps the node from making or checking certificates: `openssl`
/// 3 (for `-copy_extensions`) must be on it. None when it can.
pub fn openssl_problem(node: &dyn Node) -> Option<String> {
    let version = match node.run(&["openssl", "version"], None) {
        Ok(out) if out.success() => out.stdout_text(),
        _ => {
            return Some(
                "`openssl` is not installed: install it (Debian: apt-get install openssl) so setup can make the node's TLS key and certificate there, or give your own files (replication.tls = \"files\")".into(),
            )
        }
    };
    let major = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(major) if major >= 3 => None,
        _ => Some(format!(
            "{} is too old to make certificates (3.0 or later needed): give your own files (replication.tls = \"files\")",
            version.trim()
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn alt_names_know_addresses_names_and_prefixes() {
        let names = [
            "192.0.2.11".to_string(),
            "node1".to_string(),
            "192.0.2.10/24".to_string(),
            "node1".to_string(),
            String::new(),
            "2001:db8::1".to_string(),
        ];
        assert_eq!(
            subject_alt_names(&names),
            "IP:192.0.2.11,DNS:node1,IP:192.0.2.10,IP:2001:db8::1"
        );
    }

    #[test]
    fn the_ca_key_is_deleted_by_the_last_command() {
        let node = NodeCert {
            address: "192.0.2.11".into(),
            alt_names: "IP:192.0.2.11".into(),
            new_key: true,
            datadir: "/var/lib/mysql".into(),
            serial: "0a".into(),
        };
        let work = Path::new("/var/lib/mysql-ha/runs/r1/tls");
        let commands = node.commands(work, "r1");
        let last = commands.last().unwrap();
        assert_eq!(last[0], "rm");
        assert!(last.contains(&"/var/lib/mysql-ha/runs/r1/tls/ca-key.pem".to_string()));
        // The node's own key is made only when asked, and never deleted.
        assert!(commands.iter().any(|c| c[1] == "genpkey"));
        assert!(!commands
            .iter()
            .any(|c| c[0] == "rm" && c.iter().any(|a| a.ends_with("server-key.pem"))));
        let again = NodeCert {
            new_key: false,
            ..node
        };
        assert!(!again.commands(work, "r1").iter().any(|c| c[1] == "genpkey"));
    }

    #[test]
    fn serials_are_positive_and_differ() {
        let a = random_serial();
        assert_eq!(a.len(), 32);
        assert!(u8::from_str_radix(&a[..2], 16).unwrap() < 0x80);
        assert_ne!(a, random_serial());
    }
}
