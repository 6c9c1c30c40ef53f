//! The dynamic-DNS cluster resource: the master keeps the name's A record
//! pointed at its own address through signed updates to the zone's server.
//! Needs no root: only the key file (root and the cluster account's group).

use std::process::Command;
use std::time::Duration;

use super::config::ClusterConfig;
use super::exec::run_limited_input;
use super::peer::Peer;
use super::resource::{Claim, ClusterResource};
use crate::answers::DdnsAnswers;
use crate::ddns::{DnsName, TsigKey};
use crate::node::Output;
use crate::{Error, Result};

const LIMIT: Duration = Duration::from_secs(10);

pub struct DdnsName {
    settings: DdnsAnswers,
    /// This node's address, the one the record gets.
    address: String,
}

impl DdnsName {
    pub fn new(config: &ClusterConfig) -> DdnsName {
        DdnsName {
            settings: config.cluster.ddns.clone(),
            address: config.node.address.clone(),
        }
    }

    /// The key is read at each use, so a rewritten key file needs no restart.
    fn name(&self) -> Result<DnsName> {
        Ok(DnsName {
            settings: self.settings.clone(),
            key: TsigKey::from_answers(&self.settings)?,
        })
    }
}

fn run_here(argv: &[String], stdin: Option<&[u8]>) -> Result<Output> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Error::Internal("an empty command".into()))?;
    let mut command = Command::new(program);
    command.args(args);
    run_limited_input(command, stdin, LIMIT)
}

impl ClusterResource for DdnsName {
    fn describe(&self) -> String {
        format!(
            "DNS name {} -> {} (zone {} on {})",
            self.settings.name, self.address, self.settings.zone, self.settings.server
        )
    }

    fn held(&self) -> Result<bool> {
        crate::ddns::points_at(&self.settings, &self.address, &mut run_here)
    }

    fn claim(&self, _why: Claim) -> Result<bool> {
        self.name()?.point_at(&self.address, &mut run_here)?;
        Ok(false)
    }

    fn release(&self) -> Result<()> {
        self.name()?.release(&self.address, &mut run_here)?;
        Ok(())
    }

    /// Nothing to do on the peer: a claim replaces the record in one update,
    /// and the peer's own release only removes a record that still names it.
    fn release_on_peer(&self, _peer: &Peer) -> Result<()> {
        Ok(())
    }
}
