//! The seam between setup and what manages a pair once setup hands it
//! over: our own cluster daemon (`cluster.manager = "mysql-ha"`) or
//! Pacemaker/Corosync. Setup installs the one the answers name and has any
//! other that manages the pair let go first, so switching managers is a
//! re-run with the other answer. A new manager implements this trait and
//! is listed in `setup::managers`.

use super::pair::Pair;
use super::plan::{ManagerHold, StepPlan};
use crate::answers::Manager;
use crate::Result;

pub trait ClusterManager: Sync {
    /// The answer that picks it.
    fn kind(&self) -> Manager;

    /// The steps that install it on the pair's nodes and hand the pair to
    /// it, the current master first (no data moves, the master keeps its
    /// role). A re-run plans only what differs.
    fn install(&self, pair: &mut Pair, replication_password: &str) -> Result<Vec<StepPlan>>;

    /// The steps that make it let go of the pair (it stops on every node and
    /// no longer starts at boot; the servers and the cluster address stay
    /// as they are for the next manager). None when it does not manage the
    /// pair.
    fn remove(&self, pair: &mut Pair) -> Result<Vec<StepPlan>>;

    /// What `wait_running` waits for, as the run's log names the step.
    fn waiting_for(&self) -> &'static str;

    /// Waits until it runs the pair as installed and proves it; what it
    /// found, for the run's log. An error names what is not right after
    /// its wait.
    fn wait_running(&self, pair: &mut Pair) -> Result<Vec<String>>;

    /// What keeps it from reacting while a run disturbs the servers, when
    /// it manages the pair now and would react (see `ManagerHold`).
    fn hold(&self, _pair: &mut Pair) -> Result<Option<ManagerHold>> {
        Ok(None)
    }

    /// A replication password the manager keeps for itself on the master's
    /// node (a re-run keeps it rather than point every slave anew).
    fn stored_replication_password(&self, _pair: &Pair) -> Result<Option<String>> {
        Ok(None)
    }
}
