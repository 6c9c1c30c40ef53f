//! `mysql-ha privileged ...`: the root-only helpers the cluster daemon runs
//! through its sudo allowlist when it runs as the cluster account. Each takes
//! fixed arguments only and reads everything else from root-owned files.

use crate::cli::{OnOff, PrivilegedAction};
use crate::daemon::config::{ClusterConfig, DEFAULT_PATH};
use crate::daemon::persist;
use crate::{Error, Result};

pub fn run(action: PrivilegedAction) -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::Usage(
            "`mysql-ha privileged` needs root: the daemon runs it through `sudo -n` (its allowlist in /etc/sudoers.d/mysql-ha)".into(),
        ));
    }
    match action {
        PrivilegedAction::SetReadOnly { value } => {
            let config = ClusterConfig::load(std::path::Path::new(DEFAULT_PATH))?;
            let profile = config.profile()?;
            let on = value == OnOff::On;
            match persist::set_read_only(&profile, on, persist::reason(on))? {
                Some(run) => println!("{}{run}", persist::RUN_PREFIX),
                None => println!("unchanged"),
            }
            Ok(())
        }
    }
}
