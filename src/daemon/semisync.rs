//! Semi-synchronous durability (`durability = "semi-sync"`), run by the
//! daemon rather than by the server's own timeout: the master waits for the
//! slave's acknowledgement (AFTER_SYNC: before the commit is visible or
//! acknowledged) with a timeout long enough never to fire, so a master that
//! is cut off, frozen or deposed cannot acknowledge a write on its own. When
//! the slave is away, the daemon lets the master go on alone only after a
//! voter recorded that the slave no longer has every write (so the slave is
//! not promoted over them), and turns the wait back on once it caught up.

use std::time::{Duration, Instant};

use super::db::ServerChecks;
use crate::sql::SqlConn;
use crate::Result;

/// The server's own timeout: 49 days, i.e. never (the daemon decides).
pub const NEVER_MS: u64 = 4_294_967_295;

/// The master's semi-sync state as the server reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MasterView {
    pub enabled: bool,
    /// Rpl_semi_sync_master_status: waiting for acknowledgements now.
    pub active: bool,
    pub clients: u64,
    pub waiting_sessions: u64,
    /// Rpl_semi_sync_master_yes_tx: commits the slave acknowledged.
    pub acknowledged: u64,
}

/// One round trip: the setting and the four status counters.
pub fn master_view(db: &mut SqlConn) -> Result<MasterView> {
    let flavor = db.flavor();
    let names = flavor.semi_sync();
    let table = flavor.global_status_table();
    let status = |suffix: &str| {
        format!(
            "(SELECT VARIABLE_VALUE FROM {table} WHERE VARIABLE_NAME = '{}_{suffix}')",
            names.status
        )
    };
    let query = format!(
        "SELECT @@GLOBAL.{}_enabled, {}, {}, {}, {}",
        names.source,
        status("status"),
        status("clients"),
        status("wait_sessions"),
        status("yes_tx"),
    );
    let values = db.row(&query)?;
    let number = |i: usize| -> u64 {
        match values.get(i).cloned().flatten().as_deref() {
            Some("ON") => 1,
            Some(v) => v.parse().unwrap_or(0),
            None => 0,
        }
    };
    Ok(MasterView {
        enabled: number(0) == 1,
        active: number(1) == 1,
        clients: number(2),
        waiting_sessions: number(3),
        acknowledged: number(4),
    })
}

/// Turns the master's wait on, with the settings that make it a guarantee.
pub fn enable_master(db: &mut SqlConn) -> Result<()> {
    let names = db.flavor().semi_sync();
    let source = names.source;
    db.exec(&format!("SET GLOBAL {source}_wait_point = AFTER_SYNC"))?;
    db.exec(&format!("SET GLOBAL {source}_timeout = {NEVER_MS}"))?;
    db.exec(&format!("SET GLOBAL {} = ON", names.wait_no_replica))?;
    db.exec(&format!("SET GLOBAL {source}_enabled = ON"))
}

/// Lets the master acknowledge without the slave.
pub fn disable_master(db: &mut SqlConn) -> Result<()> {
    let source = db.flavor().semi_sync().source;
    db.exec(&format!("SET GLOBAL {source}_enabled = OFF"))
}

/// Makes this server acknowledge as a semi-synchronous slave; the I/O
/// thread reads the setting when it connects, so it reconnects. Returns
/// whether anything changed.
pub fn ensure_slave(db: &mut SqlConn, on: bool) -> Result<bool> {
    let flavor = db.flavor();
    let replica = flavor.semi_sync().replica;
    let enabled = db
        .scalar(&format!("SELECT @@GLOBAL.{replica}_enabled"))?
        .as_deref()
        == Some("1");
    if enabled == on {
        return Ok(false);
    }
    db.exec(&format!(
        "SET GLOBAL {replica}_enabled = {}",
        if on { "ON" } else { "OFF" }
    ))?;
    // Only a running I/O thread is restarted: one that is stopped was
    // stopped by someone (a setup run between its STOP and CHANGE MASTER),
    // and it reads the setting whenever it starts.
    if db.replica_status()?.is_some_and(|r| r.io_running == "Yes") {
        db.exec(flavor.stop_replica_io())?;
        db.exec(flavor.start_replica_io())?;
    }
    Ok(true)
}

/// Ends the sessions that wait for a slave's acknowledgement (a master that
/// lost its lease): their clients get an error, never an acknowledgement.
/// Returns how many were ended.
pub fn end_waiting_sessions(db: &mut SqlConn) -> Result<usize> {
    let ids = db.column(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync ACK%'",
    )?;
    let mut ended = 0;
    for id in ids {
        if id.chars().all(|c| c.is_ascii_digit())
            && db.exec(&format!("KILL CONNECTION {id}")).is_ok()
        {
            ended += 1;
        }
    }
    Ok(ended)
}

/// What making a former master read-only took.
#[derive(Debug, Default)]
pub struct ReadOnlyNow {
    /// Sessions ended while they waited for an acknowledgement.
    pub ended: usize,
    /// The wait for acknowledgements was turned off to let the commits
    /// already waiting finish (their clients were gone by then).
    pub released_waits: bool,
}

/// Makes a master that lost its majority read-only now, even while commits
/// wait for an acknowledgement no slave will send. `SET GLOBAL read_only`
/// runs on `setter` in a thread of its own: once it waits, it holds new
/// commits back, but it waits for the commits already waiting, which a
/// KILL does not interrupt (the server lets a binlogged transaction finish
/// its wait). So their sessions are ended (clients get an error, never an
/// acknowledgement), then, with the statement visibly waiting, the wait for
/// acknowledgements is turned off: those commits end, and the statement
/// completes. Seen on the sandbox: a master frozen and resumed under
/// writes took 5 s to become read-only, writable beside the new master.
pub fn read_only_now(db: &mut SqlConn, mut setter: SqlConn) -> Result<ReadOnlyNow> {
    let mut done = ReadOnlyNow {
        ended: end_waiting_sessions(db)?,
        released_waits: false,
    };
    let setter_id = setter.scalar("SELECT CONNECTION_ID()")?.unwrap_or_default();
    let statement = std::thread::spawn(move || setter.set_read_only(true));
    let started = Instant::now();
    while !statement.is_finished() && started.elapsed() < READ_ONLY_PATIENCE {
        std::thread::sleep(Duration::from_millis(20));
        if started.elapsed() < Duration::from_millis(100) {
            continue;
        }
        done.ended += end_waiting_sessions(db)?;
        if !done.released_waits && statement_waits(db, &setter_id)? {
            disable_master(db)?;
            done.released_waits = true;
        }
    }
    let set = statement
        .join()
        .map_err(|_| crate::Error::Internal("the thread setting read-only panicked".into()))?;
    set.map(|()| done)
}

/// How long read_only_now keeps ending sessions: the setter's own read
/// timeout ends the statement about then.
const READ_ONLY_PATIENCE: Duration = Duration::from_secs(5);

/// Whether connection `id` waits for a lock (its statement holds new
/// commits back by then).
fn statement_waits(db: &mut SqlConn, id: &str) -> Result<bool> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Ok(false);
    }
    let state = db.scalar(&format!(
        "SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = {id}"
    ))?;
    Ok(state.is_some_and(|s| s.starts_with("Waiting for")))
}

/// The master's side over time: when the slave stopped acknowledging.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    stalled_since: Option<Instant>,
    last_acknowledged: u64,
}

impl Watch {
    /// Whether the wait has been stuck (no slave, or sessions waiting with
    /// no acknowledgement coming) for at least `limit`.
    pub fn stalled_for(&mut self, view: &MasterView, limit: Duration) -> bool {
        let progressing = view.acknowledged != self.last_acknowledged;
        self.last_acknowledged = view.acknowledged;
        let stuck =
            view.enabled && (view.clients == 0 || (view.waiting_sessions > 0 && !progressing));
        if !stuck {
            self.stalled_since = None;
            return false;
        }
        let since = *self.stalled_since.get_or_insert_with(Instant::now);
        since.elapsed() >= limit
    }

    pub fn reset(&mut self) {
        self.stalled_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_stalled_only_without_a_slave_or_without_progress() {
        let mut watch = Watch::default();
        let healthy = MasterView {
            enabled: true,
            active: true,
            clients: 1,
            waiting_sessions: 0,
            acknowledged: 10,
        };
        assert!(!watch.stalled_for(&healthy, Duration::ZERO));
        let no_slave = MasterView {
            clients: 0,
            ..healthy
        };
        assert!(watch.stalled_for(&no_slave, Duration::ZERO));
        assert!(!watch.stalled_for(&no_slave, Duration::from_secs(60)));
        let progressing = MasterView {
            waiting_sessions: 3,
            acknowledged: 11,
            ..healthy
        };
        assert!(!watch.stalled_for(&progressing, Duration::ZERO));
        assert!(watch.stalled_for(&progressing, Duration::ZERO));
        let off = MasterView {
            enabled: false,
            clients: 0,
            ..healthy
        };
        assert!(!watch.stalled_for(&off, Duration::ZERO));
    }
}
