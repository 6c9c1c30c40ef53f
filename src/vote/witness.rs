//! `mysql-ha witness`: the third vote on a host of its own. It holds no data
//! and takes no action; it only answers the nodes' daemons (see voter.rs),
//! and logs each change of whom it backs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::server::{self, SharedVoter};
use super::voter::{Reply, Request};
use super::wire;
use crate::{Error, Result};

pub const CONFIG_PATH: &str = "/etc/mysql-ha/witness.toml";
pub const STATE_DIR: &str = "/var/lib/mysql-ha-witness";
/// The witness's service as setup installs it (init script or unit).
pub const INIT_SCRIPT: &str = "/etc/init.d/mysql-ha-witness";
pub const SYSTEMD_UNIT: &str = "/etc/systemd/system/mysql-ha-witness.service";
pub const SERVICE: &str = "mysql-ha-witness";
pub use super::lease::DEFAULT_LEASE_MS;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// address:port to listen on.
    pub listen: String,
    /// The cluster's vote key (hex): the nodes' cluster.toml holds the same.
    pub vote_key: String,
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
}

fn default_lease_ms() -> u64 {
    DEFAULT_LEASE_MS
}

impl std::fmt::Debug for WitnessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WitnessConfig {{ listen: {:?}, vote_key: \"********\", lease_ms: {} }}",
            self.listen, self.lease_ms
        )
    }
}

impl WitnessConfig {
    pub fn parse(text: &str) -> std::result::Result<WitnessConfig, String> {
        let config: WitnessConfig = toml::from_str(text).map_err(|e| e.message().to_string())?;
        wire::key_bytes(&config.vote_key)?;
        if !(1000..=60_000).contains(&config.lease_ms) {
            return Err("lease_ms must be between 1000 and 60000".into());
        }
        Ok(config)
    }

    pub fn to_toml(&self) -> Result<String> {
        let body = toml::to_string(self).map_err(|e| {
            Error::Internal(format!("writing {}: {e}", std::any::type_name::<Self>()))
        })?;
        Ok(format!(
            "# mysql-ha witness (written by `mysql-ha setup`): the third vote of the cluster.\n\
             # Holds the cluster's vote key: mode 0640, root and the witness's account.\n\n{body}"
        ))
    }
}

fn log(message: &str) {
    eprintln!(
        "{} mysql-ha witness: {message}",
        crate::daemon::state::now()
    );
}

/// Runs the witness until it is killed.
pub fn run(config_path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(config_path).map_err(|e| Error::io(config_path, e))?;
    let config = WitnessConfig::parse(&text).map_err(|message| Error::Config {
        path: config_path.to_path_buf(),
        message: format!("{message}; setup writes this file (re-run it to repair)"),
    })?;
    let key = wire::key_bytes(&config.vote_key).map_err(|message| Error::Config {
        path: config_path.to_path_buf(),
        message: format!("vote_key: {message}; setup writes this file (re-run it to repair)"),
    })?;
    std::fs::create_dir_all(STATE_DIR).map_err(|e| Error::io(STATE_DIR, e))?;
    let voter = SharedVoter::open(&Path::new(STATE_DIR).join("vote.json"), config.lease_ms)?;
    let listener = server::bind(&config.listen)?;
    {
        let persisted = voter.lock().persisted().clone();
        log(&format!(
            "listening on {} (lease {} ms); last backed {} of term {}",
            config.listen,
            config.lease_ms,
            persisted.holder.as_deref().unwrap_or("nobody"),
            persisted.term
        ));
    }
    server::serve(
        listener,
        voter,
        key,
        Box::new(|request, reply| match (request, reply) {
            (Request::Promote { candidate, term }, Reply::Granted { .. }) => log(&format!(
                "backs {candidate} as master of term {term} (promotion)"
            )),
            (Request::Promote { candidate, term }, Reply::Refused { reason, .. }) => log(&format!(
                "refused to promote {candidate} to term {term}: {reason}"
            )),
            (
                Request::Renew {
                    candidate, term, ..
                },
                Reply::Refused { reason, .. },
            ) => log(&format!(
                "refused the lease of {candidate} (term {term}): {reason}"
            )),
            _ => {}
        }),
    )
}
