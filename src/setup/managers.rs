//! The cluster managers setup can hand a pair to, and the hand-off that
//! picks one: every other manager that runs the pair lets go first, then
//! the one the answers name is installed.

use super::handoff::OwnDaemon;
use super::pacemaker::Pacemaker;
use crate::answers::Manager;
use crate::operation::cluster_manager::ClusterManager;
use crate::operation::pair::Pair;
use crate::operation::plan::{ManagerHold, StepPlan};
use crate::Result;

/// Every manager, in the order they let go.
const MANAGERS: [&dyn ClusterManager; 2] = [&Pacemaker, &OwnDaemon];

/// The manager an answer names.
pub fn named(kind: Manager) -> &'static dyn ClusterManager {
    match kind {
        Manager::MysqlHa => &OwnDaemon,
        Manager::Pacemaker => &Pacemaker,
    }
}

/// The hold of the manager that runs the pair now (it may not be the one
/// the answers name: a re-run that switches managers).
pub fn hold(pair: &mut Pair) -> Result<Option<ManagerHold>> {
    for manager in MANAGERS {
        if let Some(hold) = manager.hold(pair)? {
            return Ok(Some(hold));
        }
    }
    Ok(None)
}

/// The hand-off steps: the others let go, then the chosen one is
/// installed, the master first.
pub fn hand_off_steps(pair: &mut Pair, replication_password: &str) -> Result<Vec<StepPlan>> {
    let chosen = named(pair.answers.cluster.manager);
    let mut steps = Vec::new();
    for other in MANAGERS.iter().filter(|m| m.kind() != chosen.kind()) {
        steps.extend(other.remove(pair)?);
    }
    steps.extend(chosen.install(pair, replication_password)?);
    Ok(steps)
}
