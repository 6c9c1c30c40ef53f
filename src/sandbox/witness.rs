//! The lab's witness: `mysql-ha witness` on the client host (192.0.2.100),
//! the third vote of the cluster (docs/daemon.md, "Votes and leases"). Its
//! vote key goes into the lab's answers file (`cluster.vote_key`), so setup
//! gives the nodes the same key.

use super::host::{exec, exec_checked};
use crate::vote::witness::{WitnessConfig, CONFIG_PATH, DEFAULT_LEASE_MS};
use crate::{Error, Result};

pub const HOST: &str = "client";
pub const ADDRESS: &str = "192.0.2.100";
const BINARY: &str = "/usr/local/sbin/mysql-ha";
const LOG: &str = "/var/log/mysql-ha-witness.log";

/// The witness's configuration on the client, written once with a new key.
fn ensure_config() -> Result<WitnessConfig> {
    let current = exec(HOST, &["cat", CONFIG_PATH], None)?;
    if current.success() {
        if let Ok(config) = WitnessConfig::parse(&current.stdout_text()) {
            return Ok(config);
        }
    }
    let config = WitnessConfig {
        listen: format!("0.0.0.0:{}", crate::vote::wire::DEFAULT_PORT),
        vote_key: crate::vote::wire::new_key(),
        lease_ms: DEFAULT_LEASE_MS,
    };
    let text = config.to_toml()?;
    exec_checked(
        HOST,
        &[
            "sh",
            "-c",
            &format!("umask 077; mkdir -p /etc/mysql-ha && cat > {CONFIG_PATH}"),
        ],
        Some(text.as_bytes()),
    )?;
    Ok(config)
}

pub fn running() -> bool {
    exec(
        HOST,
        &["pgrep", "-f", "^/usr/local/sbin/mysql-ha witness"],
        None,
    )
    .map(|o| o.success())
    .unwrap_or(false)
}

/// Installs this build on the client (a copy: the host never runs the
/// build tree) and starts the witness unless it runs.
pub fn up() -> Result<()> {
    ensure_config()?;
    if running() {
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| Error::io("/proc/self/exe", e))?;
    let binary = std::fs::read(&exe).map_err(|e| Error::io(&exe, e))?;
    exec_checked(
        HOST,
        &[
            "sh",
            "-c",
            &format!("cat > {BINARY}.new && chmod 755 {BINARY}.new && mv {BINARY}.new {BINARY}"),
        ],
        Some(&binary),
    )?;
    start()
}

/// Starts the installed witness in the background.
pub fn start() -> Result<()> {
    exec_checked(
        HOST,
        &[
            "sh",
            "-c",
            &format!("nohup {BINARY} witness >> {LOG} 2>&1 < /dev/null &"),
        ],
        None,
    )?;
    for _ in 0..50 {
        let probe = format!(
            "exec 3<>/dev/tcp/127.0.0.1/{}",
            crate::vote::wire::DEFAULT_PORT
        );
        if exec(HOST, &["bash", "-c", &probe], None)
            .map(|o| o.success())
            .unwrap_or(false)
        {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(Error::Sandbox(format!(
        "the witness on {HOST} did not start listening; see {LOG} there"
    )))
}

/// Stops the witness (a fault test's "witness down").
pub fn stop() -> Result<()> {
    exec(
        HOST,
        &["pkill", "-f", "^/usr/local/sbin/mysql-ha witness"],
        None,
    )?;
    Ok(())
}

/// The vote key the lab's answers file gives setup.
pub fn key() -> Result<String> {
    Ok(ensure_config()?.vote_key)
}
