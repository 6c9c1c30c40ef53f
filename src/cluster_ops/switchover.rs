//! `mysql-ha switchover [--to NODE]`: a planned swap of the roles with no
//! lost write. The master turns read-only, the slave applies everything it
//! has (same GTID position), becomes master and takes the cluster address;
//! the old master becomes its slave. Until the address moves, any failure
//! puts everything back as it was.

use std::time::{Duration, Instant};

use super::cluster::{self, Cluster};
use super::replica::{self, note, Source};
use crate::answers::{ArpMode, Resource};
use crate::daemon::config::{ClusterConfig, Role};
use crate::daemon::state::{now, TermState};
use crate::events::Reporter;
use crate::privileged::{ARPING, ARP_COUNT, IP};
use crate::setup::apply::Journals;
use crate::setup::pair::Member;
use crate::setup::plan::Side;
use crate::sql::flavor::quote_string;
use crate::{Error, Result};

pub struct SwitchoverOptions {
    /// Largest replication lag the target may have, in seconds.
    pub max_lag_s: u64,
    /// Longest wait for the target to apply everything.
    pub apply_wait: Duration,
}

impl Default for SwitchoverOptions {
    fn default() -> Self {
        SwitchoverOptions {
            max_lag_s: 10,
            apply_wait: Duration::from_secs(30),
        }
    }
}

pub struct SwitchoverPlan {
    pub master: String,
    pub target: String,
    pub term: u64,
    pub databases: Vec<String>,
    pub checks: Vec<String>,
    /// Preflight findings that stop the switchover.
    pub problems: Vec<String>,
    pub resource: String,
}

impl SwitchoverPlan {
    pub fn render(&self) -> String {
        let mut out = format!(
            "Switchover: {} (master of term {}) hands the master role to {}\nPreflight:\n",
            self.master, self.term, self.target
        );
        for check in &self.checks {
            out.push_str(&format!("  ok      {check}\n"));
        }
        for problem in &self.problems {
            out.push_str(&format!("  FATAL   {problem}\n"));
        }
        out.push_str("Steps:\n");
        let steps = [
            "stop both cluster daemons (the address stays where it is)".to_string(),
            format!("{}: SET GLOBAL read_only = ON (writes pause here)", self.master),
            format!(
                "wait until {} applied everything {} logged (same GTID position)",
                self.target, self.master
            ),
            format!("{}: stop replication, SET GLOBAL read_only = OFF", self.target),
            format!(
                "move {} from {} to {} (writes resume here)",
                self.resource, self.master, self.target
            ),
            format!(
                "{}: forget its master (its option files keep read-only ON: the daemon makes it writable); term {} master",
                self.target,
                self.term + 1
            ),
            format!(
                "{}: option files of a slave (backed up), replication account on {}, replicate from it",
                self.master, self.target
            ),
            "start both daemons; verify with a row through the cluster address".into(),
        ];
        for (i, step) in steps.iter().enumerate() {
            out.push_str(&format!("  {}. {step}\n", i + 1));
        }
        out.push_str("Any failure before the address moves puts everything back as it was.\n");
        out
    }
}

fn resource_label(cluster: &Cluster) -> String {
    match cluster.pair.answers.cluster.resource {
        Resource::Vip => format!("the cluster address {}", cluster.pair.answers.cluster.vip),
        Resource::Ddns => "the cluster's DNS name".into(),
        Resource::None => "no cluster resource".into(),
    }
}

pub fn plan(
    cluster: &mut Cluster,
    to: Option<&str>,
    options: &SwitchoverOptions,
) -> Result<SwitchoverPlan> {
    if let Some(name) = to {
        if cluster.side_of(name)? == Side::Master {
            return Err(Error::Cluster {
                message: format!(
                    "{name} is the master already (term {}): nothing to switch",
                    cluster.master_state.term
                ),
            });
        }
    }
    let master = cluster.pair.master.label().to_string();
    let target = cluster.pair.slave.label().to_string();
    let mut checks = Vec::new();
    let mut problems = Vec::new();
    if cluster.slave_state.role == Role::Slave {
        checks.push(format!(
            "{target} is a slave (term {})",
            cluster.slave_state.term
        ));
    } else {
        problems.push(format!(
            "{target} is {}: rejoin it first (`mysql-ha rejoin {target}`)",
            cluster.slave_state.role.name()
        ));
    }
    match crate::setup::state::replica_state(cluster.pair.slave.sql())? {
        Some(r) if r.running() && r.master_host == master => {
            let lag: Option<u64> = r.seconds_behind.as_deref().and_then(|s| s.parse().ok());
            match lag {
                Some(lag) if lag <= options.max_lag_s => checks.push(format!(
                    "{target} replicates from {master} without error, {lag} s behind (bound {} s)",
                    options.max_lag_s
                )),
                Some(lag) => problems.push(format!(
                    "{target} is {lag} s behind {master} (bound {} s)",
                    options.max_lag_s
                )),
                None => problems.push(format!("{target} reports no lag")),
            }
        }
        Some(r) => problems.push(format!(
            "{target} does not replicate from {master} without error: master {}, {}",
            r.master_host,
            replica::describe_replica(&Some(r.clone()))
        )),
        None => problems.push(format!("{target} replicates from nobody")),
    }
    for member in [&cluster.pair.master, &cluster.pair.slave] {
        match cluster::daemon_status(member) {
            Some(s) if s.fresh(now()) && s.healthy && !s.paused => checks.push(format!(
                "{}: daemon healthy ({})",
                member.label(),
                s.message
            )),
            Some(s) => problems.push(format!(
                "{}: daemon not healthy{}{}: {}",
                member.label(),
                if s.fresh(now()) {
                    ""
                } else {
                    " (status stale: not running?)"
                },
                if s.paused { ", paused" } else { "" },
                s.message
            )),
            None => problems.push(format!("{}: no daemon status", member.label())),
        }
    }
    Ok(SwitchoverPlan {
        resource: resource_label(cluster),
        databases: cluster.databases()?,
        master,
        target,
        term: cluster.master_state.term.max(cluster.slave_state.term),
        checks,
        problems,
    })
}

pub struct SwitchoverOutcome {
    pub run_id: String,
    pub new_master: String,
    pub term: u64,
    /// From read-only on the old master to the address on the new one.
    pub write_pause_s: f64,
    pub seconds: f64,
    pub verified: String,
    pub daemons: Vec<String>,
}

fn set_read_only(member: &mut Member, journals: &mut Journals, on: bool) -> Result<()> {
    let value = if on { "ON" } else { "OFF" };
    let journal = journals.of(member.side)?;
    let variables = member.sql().flavor().read_only_variables();
    // super_read_only follows read_only: set it last when on, first when off.
    let ordered: Vec<&str> = if on {
        variables.to_vec()
    } else {
        variables.iter().rev().copied().collect()
    };
    for variable in ordered {
        replica::exec_plain(member, journal, &format!("SET GLOBAL {variable} = {value}"))?;
    }
    Ok(())
}

fn run_checked(member: &Member, argv: &[&str]) -> Result<()> {
    member.access.run_checked(argv, None).map(|_| ())
}

fn vip_of(cluster: &Cluster) -> Option<(String, String, ArpMode)> {
    let answers = &cluster.pair.answers.cluster;
    (answers.resource == Resource::Vip)
        .then(|| (answers.vip.clone(), answers.device.clone(), answers.arp))
}

/// Releases the address on the old master and adds it on the new one.
/// Other resources are the daemon's to claim when it starts as master.
/// Returns when the new master held it (the end of the write pause).
fn move_resource(cluster: &Cluster, reporter: &dyn Reporter) -> Result<Instant> {
    let Some((cidr, device, arp)) = vip_of(cluster) else {
        return Ok(Instant::now());
    };
    let address = cidr.split('/').next().unwrap_or(&cidr).to_string();
    run_checked(
        &cluster.pair.master,
        &[IP, "addr", "del", &cidr, "dev", &device],
    )?;
    if let Err(err) = run_checked(
        &cluster.pair.slave,
        &[IP, "addr", "add", &cidr, "dev", &device],
    ) {
        let _ = run_checked(
            &cluster.pair.master,
            &[IP, "addr", "add", &cidr, "dev", &device],
        );
        return Err(err);
    }
    let held = Instant::now();
    // A planned move leaves the clients' neighbour caches pointing at the
    // old master, which is alive: announce unless told never to.
    if arp != ArpMode::Never {
        if let Err(err) = run_checked(
            &cluster.pair.slave,
            &[ARPING, "-U", "-c", ARP_COUNT, "-I", &device, &address],
        ) {
            note(reporter, format!("gratuitous ARP failed (clients learn the move when their cache expires): {err}"));
        }
    }
    Ok(held)
}

/// Puts everything back after a failure before the address moved.
fn undo(cluster: &mut Cluster, journals: &mut Journals, replication_stopped: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let flavor = cluster.pair.slave.sql().flavor();
    if let Err(err) = set_read_only(&mut cluster.pair.slave, journals, true) {
        problems.push(err.to_string());
    }
    if replication_stopped {
        if let Err(err) = replica::exec_control(
            &mut cluster.pair.slave,
            &mut journals.slave,
            flavor.start_replica(),
        ) {
            problems.push(err.to_string());
        }
    }
    if let Err(err) = set_read_only(&mut cluster.pair.master, journals, false) {
        problems.push(err.to_string());
    }
    for member in [&cluster.pair.master, &cluster.pair.slave] {
        if let Err(err) = cluster::start_daemon(member) {
            problems.push(err.to_string());
        }
    }
    problems
}

/// Waits until `target` applied up to `position` (MariaDB's
/// MASTER_GTID_WAIT, MySQL's WAIT_FOR_EXECUTED_GTID_SET).
fn wait_applied(target: &mut Member, position: &str, limit: Duration) -> Result<bool> {
    let flavor = target.sql().flavor();
    let (query, done) = flavor.wait_for_gtids(position, limit.as_secs_f64());
    let answer = target.sql().scalar(&query)?;
    Ok(answer.as_deref() == Some(done))
}

pub fn apply(
    cluster: Cluster,
    plan: &SwitchoverPlan,
    options: &SwitchoverOptions,
    reporter: &dyn Reporter,
) -> Result<(Cluster, SwitchoverOutcome)> {
    let mut cluster = cluster;
    if !plan.problems.is_empty() {
        return Err(Error::Preflight {
            count: plan.problems.len(),
            findings: plan.problems.join("; "),
        });
    }
    let started = Instant::now();
    let mut journals = cluster::begin_run(
        &mut cluster,
        &format!("switchover from {} to {}", plan.master, plan.target),
        reporter,
    )?;
    let run_id = journals.master.run_id.clone();

    // Before the address moves: any failure is undone.
    let mut replication_stopped = false;
    let executed_gtids = cluster.pair.master.sql().flavor().executed_gtids_query();
    let before_move = (|| -> Result<(Instant, Instant, String)> {
        set_read_only(&mut cluster.pair.master, &mut journals, true)?;
        let pause_started = Instant::now();
        note(
            reporter,
            format!("{}: read-only; writes pause", plan.master),
        );
        let position = cluster
            .pair
            .master
            .sql()
            .scalar(executed_gtids)?
            .unwrap_or_default();
        if !wait_applied(&mut cluster.pair.slave, &position, options.apply_wait)? {
            return Err(Error::Other(format!(
                "{} did not apply up to {position} within {} s",
                plan.target,
                options.apply_wait.as_secs()
            )));
        }
        note(
            reporter,
            format!(
                "{} applied everything up to {}",
                plan.target,
                or_none(&position)
            ),
        );
        let flavor = cluster.pair.slave.sql().flavor();
        replica::exec_control(
            &mut cluster.pair.slave,
            &mut journals.slave,
            flavor.stop_replica(),
        )?;
        replication_stopped = true;
        let promoted = cluster
            .pair
            .slave
            .sql()
            .scalar(executed_gtids)?
            .unwrap_or_default();
        set_read_only(&mut cluster.pair.slave, &mut journals, false)?;
        let held = move_resource(&cluster, reporter)?;
        Ok((pause_started, held, promoted))
    })();
    let (pause_started, held, promoted) = match before_move {
        Ok(done) => done,
        Err(err) => {
            let problems = undo(&mut cluster, &mut journals, replication_stopped);
            let mut message = err.to_string();
            if !problems.is_empty() {
                message.push_str(&format!(" (while undoing: {})", problems.join("; ")));
            }
            return Err(Error::SwitchoverUndone { message });
        }
    };
    let write_pause_s = held.duration_since(pause_started).as_secs_f64();
    note(
        reporter,
        format!(
            "{} is writable and holds {}: writes paused {write_pause_s:.2} s",
            plan.target, plan.resource
        ),
    );
    let term = plan.term + 1;
    cluster::write_term_state(
        &cluster.pair.slave,
        &TermState {
            term,
            role: Role::Master,
            last_takeover_at: None,
            takeover_acked: true,
        },
    )?;
    cluster::write_term_state(
        &cluster.pair.master,
        &TermState {
            term,
            role: Role::Slave,
            last_takeover_at: None,
            takeover_acked: true,
        },
    )?;
    let mut cluster = cluster.swap();
    cluster.master_state.term = term;
    cluster.slave_state.term = term;
    // From here on `pair.master` is the new master.
    let new_master = cluster.pair.master.label().to_string();
    if let Err(err) = finish_old_master(&mut cluster, &mut journals, plan, &promoted, reporter) {
        let _ = cluster::start_daemon(&cluster.pair.master);
        let _ = cluster::start_daemon(&cluster.pair.slave);
        return Err(Error::Cluster {
            message: format!(
                "{new_master} is master of term {term} and holds the cluster resource, but making {} its slave failed: {err}; `mysql-ha rejoin {}` finishes it",
                plan.master, plan.master
            ),
        });
    }
    cluster::start_daemon(&cluster.pair.slave)?;
    let verified = verify_through_address(&cluster)?;
    note(reporter, verified.clone());
    let daemons = crate::setup::handoff::wait_healthy(&cluster.pair)?;
    let outcome = SwitchoverOutcome {
        run_id,
        new_master,
        term,
        write_pause_s,
        seconds: started.elapsed().as_secs_f64(),
        verified,
        daemons,
    };
    Ok((cluster, outcome))
}

/// After the move: the new master forgets its master and says writable in
/// its option files; the old master becomes its slave.
fn finish_old_master(
    cluster: &mut Cluster,
    journals: &mut Journals,
    plan: &SwitchoverPlan,
    promoted: &str,
    reporter: &dyn Reporter,
) -> Result<()> {
    let reset = cluster.pair.master.sql().flavor().reset_replica_all();
    replica::exec_plain(&mut cluster.pair.master, &mut journals.slave, reset)?;
    // Its option files keep read-only ON: every node boots read-only and the
    // daemon makes the master writable while a majority backs it.
    cluster::start_daemon(&cluster.pair.master)?;
    replica::configure_slave(
        &mut cluster.pair.slave,
        &mut journals.master,
        &plan.databases,
        reporter,
    )?;
    set_read_only_slave(cluster, journals)?;
    let user = cluster.pair.answers.replication.user.clone();
    let old_master = cluster.pair.slave.label().to_string();
    let password = replica::replication_account(
        &mut cluster.pair.master,
        &mut journals.slave,
        &user,
        &old_master,
        crate::tls::TlsFiles::from_answers(&cluster.pair.answers.replication).is_some(),
    )?;
    let new_master = cluster.pair.master.label().to_string();
    let port = cluster.pair.answers.master.mysql_port;
    let tls_ca =
        crate::tls::TlsFiles::from_answers(&cluster.pair.answers.replication).map(|f| f.ca_text());
    let tls = replica::offers_tls(&mut cluster.pair.master)?;
    replica::point_and_start(
        &mut cluster.pair.slave,
        &mut journals.master,
        &Source {
            host: &new_master,
            port,
            user: &user,
            password: &password,
            tls_ca: tls_ca.as_deref(),
            tls,
        },
        promoted,
    )?;
    if let Err(stopped) = replica::wait_running(&mut cluster.pair.slave, Duration::from_secs(30))? {
        return Err(Error::Verify {
            node: old_master,
            message: format!(
                "replication from {new_master} did not start: {}; `mysql-ha rejoin {}` can try again",
                replica::describe_replica(&stopped),
                plan.master
            ),
        });
    }
    note(
        reporter,
        format!("{old_master} replicates from {new_master}"),
    );
    Ok(())
}

fn set_read_only_slave(cluster: &mut Cluster, journals: &mut Journals) -> Result<()> {
    // The old master (now `pair.slave`) journals into the run's first journal.
    let member = &mut cluster.pair.slave;
    let variables = member.sql().flavor().read_only_variables();
    for variable in variables {
        replica::exec_plain(
            member,
            &mut journals.master,
            &format!("SET GLOBAL {variable} = ON"),
        )?;
    }
    Ok(())
}

/// Writes a row through the cluster address with the monitor account and
/// checks it landed on the new master.
fn verify_through_address(cluster: &Cluster) -> Result<String> {
    let config: ClusterConfig = cluster::daemon_config(&cluster.pair.master)?;
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

fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "(none)"
    } else {
        text
    }
}
