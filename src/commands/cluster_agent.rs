//! `mysql-ha cluster-agent` (hidden): starts the cluster account's ssh-agent
//! with its key loaded, for the daemon's service start and for tests.

use crate::cli::ClusterAgentArgs;
use crate::setup::cluster_access::{agent, AccountPaths, HOME_PARENT};
use crate::{Error, Result};

pub fn run(args: ClusterAgentArgs) -> Result<()> {
    let key = match args.key {
        Some(key) => key,
        None => {
            let home = nix::unistd::User::from_name(&args.account)
                .ok()
                .flatten()
                .map(|u| u.dir)
                .unwrap_or_else(|| std::path::Path::new(HOME_PARENT).join(&args.account));
            AccountPaths { home }.private_key()
        }
    };
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::Usage(
            "cluster-agent runs as root: it reads the root-only passphrase file and starts the agent as the cluster account".into(),
        ));
    }
    let started = agent::start(
        &args.passphrase_file,
        &key,
        &args.socket_dir,
        Some(&args.account),
    )?;
    println!("SSH_AUTH_SOCK={}", started.socket.display());
    println!("SSH_AGENT_PID={}", started.pid);
    Ok(())
}
