//! Proof that replication works: both threads running without error, and a
//! canary row written on the master read back on the slave, then removed.

use std::time::{Duration, Instant};

use super::pair::{Member, Pair};
use super::server_state::{self, ReplicaState};
use crate::sql::flavor::{quote_ident, quote_string};
use crate::{Error, Result};

const THREADS_TIMEOUT: Duration = Duration::from_secs(30);
const CANARY_TIMEOUT: Duration = Duration::from_secs(10);
pub const CANARY_TABLE: &str = "mysql_ha_canary";

pub struct Verified {
    /// Seconds from the master's write to the slave's read, per database.
    pub canary_seconds: Vec<(String, f64)>,
}

fn threads_running(pair: &mut Pair) -> Result<()> {
    let started = Instant::now();
    loop {
        let replica = server_state::replica_state(pair.slave.sql())?;
        match replica {
            Some(r) if r.running() => return Ok(()),
            Some(r)
                if (!r.last_io_error.is_empty() || !r.last_sql_error.is_empty())
                    && started.elapsed() > Duration::from_secs(5) =>
            {
                return Err(Error::Verify {
                    node: pair.slave.label().to_string(),
                    message: format!(
                        "replication stopped: io={} sql={} {}{}",
                        r.io_running, r.sql_running, r.last_io_error, r.last_sql_error
                    ),
                });
            }
            None => {
                return Err(Error::Verify {
                    node: pair.slave.label().to_string(),
                    message: "the slave has no replication configured".into(),
                })
            }
            _ => {}
        }
        if started.elapsed() > THREADS_TIMEOUT {
            return Err(Error::Verify {
                node: pair.slave.label().to_string(),
                message: format!(
                    "replication threads not running after {} s",
                    THREADS_TIMEOUT.as_secs()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn canary(pair: &mut Pair, database: &str) -> Result<f64> {
    let token = crate::answers::generate_password();
    let db = quote_ident(database);
    let table = format!("{db}.{}", quote_ident(CANARY_TABLE));
    let master = pair.master.sql();
    // DDL is filtered by the default database: USE it.
    master.exec(&format!("USE {db}"))?;
    master.exec(&format!(
        "CREATE TABLE IF NOT EXISTS {} (id INT PRIMARY KEY, token VARCHAR(64) NOT NULL, written TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB COMMENT 'mysql-ha replication check; dropped right after'",
        quote_ident(CANARY_TABLE)
    ))?;
    master.exec(&format!(
        "REPLACE INTO {table} (id, token) VALUES (1, {})",
        quote_string(&token)
    ))?;
    let written = Instant::now();
    let mut seen = None;
    while written.elapsed() < CANARY_TIMEOUT {
        let read = pair
            .slave
            .sql()
            .scalar(&format!("SELECT token FROM {table} WHERE id = 1"));
        match read {
            Ok(Some(value)) if value == token => {
                seen = Some(written.elapsed().as_secs_f64());
                break;
            }
            Ok(_) => {}
            Err(err)
                if crate::sql::conn::error_code(&err) == Some(crate::sql::codes::NO_SUCH_TABLE) => {
            }
            Err(err) => return Err(err),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let master = pair.master.sql();
    master.exec(&format!("USE {db}"))?;
    master.exec(&format!(
        "DROP TABLE IF EXISTS {}",
        quote_ident(CANARY_TABLE)
    ))?;
    seen.ok_or_else(|| Error::Verify {
        node: pair.slave.label().to_string(),
        message: format!(
            "a row written to `{database}` on the master did not reach the slave within {} s",
            CANARY_TIMEOUT.as_secs()
        ),
    })
}

pub fn run(pair: &mut Pair, databases: &[String]) -> Result<Verified> {
    threads_running(pair)?;
    let mut canary_seconds = Vec::new();
    for database in databases {
        canary_seconds.push((database.clone(), canary(pair, database)?));
    }
    threads_running(pair)?;
    Ok(Verified { canary_seconds })
}
/// Waits until both replication threads of `slave` run; Err(state) when
/// one stopped with an error or `limit` passed.
pub fn wait_replicating(
    slave: &mut Member,
    limit: Duration,
) -> Result<std::result::Result<ReplicaState, Option<ReplicaState>>> {
    let started = Instant::now();
    loop {
        let replica = server_state::replica_state(slave.sql())?;
        match &replica {
            Some(r) if r.running() && started.elapsed() > Duration::from_millis(1500) => {
                return Ok(Ok(r.clone()))
            }
            Some(r) if r.io_running == "No" && !r.last_io_error.is_empty() => {
                return Ok(Err(replica));
            }
            Some(r) if r.sql_running == "No" && !r.last_sql_error.is_empty() => {
                return Ok(Err(replica));
            }
            None => return Ok(Err(None)),
            _ => {}
        }
        if started.elapsed() > limit {
            return Ok(Err(replica));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Writes a row through the cluster address with the daemon's monitor
/// account and checks it landed on `member` (the master).
pub fn write_through_address(member: &Member) -> Result<String> {
    let config = super::cluster_daemon::config(member)?;
    let target = config
        .vip_address()
        .unwrap_or(&config.node.address)
        .to_string();
    let own = {
        let mut db = crate::daemon::db::tcp(&config, &config.node.address)?;
        db.scalar("SELECT @@GLOBAL.server_id")?
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while Instant::now() < deadline {
        let attempt = crate::daemon::db::tcp(&config, &target).and_then(|mut db| {
            let id = db.scalar("SELECT @@GLOBAL.server_id")?;
            db.exec(&format!(
                "INSERT INTO mysql_ha.write_check (node, term, at) VALUES ({}, 0, NOW()) ON DUPLICATE KEY UPDATE at = VALUES(at)",
                quote_string(&format!("switchover to {}", config.node.address))
            ))?;
            Ok(id)
        });
        match attempt {
            Ok(id) if id == own => {
                return Ok(format!(
                    "a row written through {target} landed on {}",
                    config.node.address
                ))
            }
            Ok(id) => last = format!("{target} leads to server id {id:?}, not {own:?}"),
            Err(err) => last = err.to_string(),
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    Err(Error::Verify {
        node: target,
        message: format!("no write through the cluster address reached the new master: {last}"),
    })
}
