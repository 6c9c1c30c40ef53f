//! `sandbox up --dns`: an authoritative DNS server (BIND's `named`) on the
//! client host for a test zone that takes updates signed with a TSIG key
//! made at that moment, the client resolving through it, and the lab's
//! answers file for a dynamic-DNS cluster name next to answers.toml.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::host::{exec, exec_checked};
use super::{sample_data, state_dir, ALL_HOSTS};
use crate::ddns::TsigKey;
use crate::{Error, Result};

pub const ZONE: &str = "cluster.test";
/// The name the lab's ddns answers keep pointed at the master.
pub const NAME: &str = "db.cluster.test";
pub const KEY_NAME: &str = "mysql-ha-sandbox";
/// Short, so that the lab shows clients following a takeover quickly.
pub const TTL: u32 = 10;
const SERVER_HOST: &str = "client";
const KEY_FILE: &str = "/etc/bind/mysql-ha-sandbox.key";
const READY_WAIT: Duration = Duration::from_secs(15);

fn server_address() -> &'static str {
    ALL_HOSTS
        .iter()
        .find(|h| h.name == SERVER_HOST)
        .map(|h| h.address)
        .unwrap_or("192.0.2.100")
}

pub fn answers_path() -> PathBuf {
    state_dir().join("answers-ddns.toml")
}

/// Files under /etc/bind and /var/lib/bind of the client host (its own
/// copy-on-write view: the machine's BIND configuration is not touched).
fn setup_script() -> String {
    let server = server_address();
    format!(
        r#"set -e
key={KEY_FILE}
conf=/etc/bind/mysql-ha-sandbox.conf
zonefile=/var/lib/bind/{ZONE}.zone
if [ ! -s "$key" ]; then (umask 077; tsig-keygen -a hmac-sha256 {KEY_NAME} > "$key"); fi
if [ ! -f "$zonefile" ]; then cat > "$zonefile" <<'ZONE'
$TTL {TTL}
@   IN SOA ns.{ZONE}. hostmaster.{ZONE}. 1 60 30 600 {TTL}
@   IN NS  ns.{ZONE}.
ns  IN A   {server}
ZONE
fi
cat > "$conf" <<'CONF'
include "{KEY_FILE}";
options {{
    directory "/var/lib/bind";
    pid-file "/run/named/named.pid";
    listen-on {{ {server}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    allow-query {{ any; }};
    dnssec-validation no;
}};
controls {{ }};
zone "{ZONE}" {{
    type primary;
    file "{ZONE}.zone";
    update-policy {{ grant {KEY_NAME} zonesub ANY; }};
}};
CONF
mkdir -p /run/named
pgrep -x named >/dev/null || named -c "$conf" -L /var/log/named-sandbox.log
rm -f /etc/resolv.conf
printf 'nameserver {server}\n' > /etc/resolv.conf
"#
    )
}

fn wait_ready() -> Result<()> {
    let started = Instant::now();
    let server = format!("@{}", server_address());
    loop {
        let out = exec(
            SERVER_HOST,
            &[
                "dig",
                &server,
                "+norecurse",
                "+short",
                "+time=1",
                "+tries=1",
                ZONE,
                "SOA",
            ],
            None,
        )?;
        if out.success() && !out.stdout_text().trim().is_empty() {
            return Ok(());
        }
        if started.elapsed() > READY_WAIT {
            let log = exec(
                SERVER_HOST,
                &["tail", "-n", "15", "/var/log/named-sandbox.log"],
                None,
            )?;
            return Err(Error::Sandbox(format!(
                "named on {SERVER_HOST} does not answer for {ZONE} after {} s:\n{}",
                READY_WAIT.as_secs(),
                log.stdout_text()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn cluster_section(key: &TsigKey) -> String {
    format!(
        r#"[cluster]
resource = "ddns"
account = "mysqlha"
key_passphrase = ""

[cluster.ddns]
server = "{server}"
zone = "{ZONE}"
name = "{NAME}"
ttl = {TTL}
key_name = "{name}"
key_algorithm = "{algorithm}"
key_secret = "{secret}"
"#,
        server = server_address(),
        name = key.name,
        algorithm = key.algorithm,
        secret = key.secret,
    )
}

/// Starts (or keeps) the DNS server; writes the ddns answers; returns its path.
pub fn up() -> Result<PathBuf> {
    exec_checked(SERVER_HOST, &["sh", "-c", &setup_script()], None)?;
    wait_ready()?;
    let key_text = exec_checked(SERVER_HOST, &["cat", KEY_FILE], None)?.stdout_text();
    let key = TsigKey::parse(&key_text)
        .map_err(|message| Error::Sandbox(format!("{SERVER_HOST}:{KEY_FILE}: {message}")))?;
    sample_data::write_answers_with_cluster(&answers_path(), &cluster_section(&key))
}

/// Whether named runs on the client host.
pub fn running() -> bool {
    exec(SERVER_HOST, &["pgrep", "-x", "named"], None)
        .map(|o| o.success())
        .unwrap_or(false)
}
