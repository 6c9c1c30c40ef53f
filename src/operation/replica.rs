//! Replication primitives more than one kind of change needs.

use super::journals::Journals;
use super::pair::Pair;
use super::plan::{Side, Statement};
use crate::Result;

/// Every slave that replicates (or is trying to) connects again now: after
/// the master restarted or changed its certificates, a connection attempt
/// made meanwhile failed, and the I/O thread would wait its retry time (60 s
/// by default, as a cluster manager's agent leaves it) before the next. A
/// thread someone stopped stays stopped.
pub fn reconnect_slaves(pair: &mut Pair, journals: &mut Journals) -> Result<()> {
    let mut sides = vec![Side::Slave];
    if pair.slave2.is_some() {
        sides.push(Side::Slave2);
    }
    for side in sides {
        let slave = pair.member(side)?;
        let replicating = super::server_state::replica_state(slave.sql())?
            .is_some_and(|replica| replica.io_running != "No");
        if !replicating {
            continue;
        }
        let flavor = slave.sql().flavor();
        for sql in [flavor.stop_replica_io(), flavor.start_replica_io()] {
            super::statement::run(slave, journals.of(side)?, &Statement::control(sql))?;
        }
    }
    Ok(())
}
