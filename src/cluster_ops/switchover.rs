//! `mysql-ha switchover [--to NODE]`: a planned swap of the roles with no
//! lost write. The master turns read-only, the slave applies everything it
//! has (same GTID position), becomes master and takes the cluster address;
//! the old master becomes its slave. Until the address moves, any failure
//! puts everything back as it was (the plan's rescue).
//!
//! `survey` reads both nodes; `build` turns what it found into a plan of
//! typed changes (a pure function, unit-tested); `apply` runs that plan
//! through the one executor of `operation::apply`.

use std::time::{Duration, Instant};

use super::cluster::{self, Cluster};
use super::replica::{self, Source};
use crate::answers::{ArpMode, Resource};
use crate::daemon::config::Role;
use crate::daemon::state::{now, TermState};
use crate::events::Reporter;
use crate::operation::cluster_daemon;
use crate::operation::plan::{Change, Check, Plan, Rescue, RescueChange, Side, StepPlan};
use crate::operation::statement::Statement;
use crate::sql::Flavor;
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

const REPLICATION_WAIT: Duration = Duration::from_secs(30);

// The steps, by name (a rescue and the write pause refer to them).
const STOP_TARGET_DAEMON: &str = "stop the cluster daemon of the new master";
const STOP_MASTER_DAEMON: &str = "stop the cluster daemon of the old master";
const READ_ONLY: &str = "read-only (writes pause here)";
const APPLY_ALL: &str = "apply everything the old master logged";
const STOP_REPLICATION: &str = "stop replication";
const WRITABLE: &str = "writable";
const MOVE_ADDRESS: &str = "move the cluster address (writes resume here)";
const TARGET_TERM: &str = "term state of the new master";
const MASTER_TERM: &str = "term state of the old master";
const FORGET_MASTER: &str = "forget its master; start its cluster daemon";
const BECOME_SLAVE: &str = "become a slave";
const ACCOUNT: &str = "replication account of the old master";
const REPLICATE: &str = "replicate from the new master; start its cluster daemon";
const PROVE: &str = "prove the switch";

/// What `survey` found on both nodes: everything `build` needs.
pub struct SwitchoverSurvey {
    pub run_id: String,
    /// The master now, and the slave that takes its role.
    pub master: String,
    pub target: String,
    pub term: u64,
    pub databases: Vec<String>,
    pub checks: Vec<String>,
    /// Preflight findings that stop the switchover.
    pub problems: Vec<String>,
    pub master_flavor: Flavor,
    pub target_flavor: Flavor,
    /// The daemons' service commands: (stop, start) of each node.
    pub master_daemon: (Vec<String>, Vec<String>),
    pub target_daemon: (Vec<String>, Vec<String>),
    /// The cluster address (CIDR, device, ARP) when the resource is one.
    pub vip: Option<(String, String, ArpMode)>,
    /// How people name the cluster resource.
    pub resource: String,
    /// The old master's option files as a slave's, and what changes.
    pub slave_files: (Vec<Change>, Vec<String>),
    /// The old master has a replication source configured now.
    pub master_replica_configured: bool,
    /// How the old master logs in to the new one (a new password).
    pub login: Source,
    pub require_tls: bool,
    pub apply_wait: Duration,
}

/// The plan, and what the command says around it.
pub struct SwitchoverPlan {
    pub plan: Plan,
    pub master: String,
    pub target: String,
    pub term: u64,
    pub problems: Vec<String>,
    pub resource: String,
    /// The step after which writes resume on the new master.
    pub resume_step: &'static str,
}

impl SwitchoverPlan {
    pub fn render(&self) -> String {
        self.plan.render()
    }
}

fn resource_label(cluster: &Cluster) -> String {
    match cluster.pair.answers.cluster.resource {
        Resource::Vip => format!("the cluster address {}", cluster.pair.answers.cluster.vip),
        Resource::Ddns => "the cluster's DNS name".into(),
        Resource::None => "no cluster resource".into(),
    }
}

/// Reads both nodes: the preflight checks and everything the plan needs.
/// Changes nothing.
pub fn survey(
    cluster: &mut Cluster,
    to: Option<&str>,
    options: &SwitchoverOptions,
    run_id: &str,
) -> Result<SwitchoverSurvey> {
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
    match crate::operation::server_state::replica_state(cluster.pair.slave.sql())? {
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
            crate::operation::server_state::describe_replica(&Some(r.clone()))
        )),
        None => problems.push(format!("{target} replicates from nobody")),
    }
    for member in [&cluster.pair.master, &cluster.pair.slave] {
        match crate::operation::cluster_daemon::daemon_status(member) {
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
    let databases = cluster.databases()?;
    let answers = cluster.pair.answers.clone();
    let daemon = |member: &crate::operation::pair::Member| -> Result<(Vec<String>, Vec<String>)> {
        Ok((
            cluster_daemon::service_argv(member, "stop")?,
            cluster_daemon::service_argv(member, "start")?,
        ))
    };
    let master_daemon = daemon(&cluster.pair.master)?;
    let target_daemon = daemon(&cluster.pair.slave)?;
    let slave_files = replica::slave_files(&mut cluster.pair.master, &databases, run_id)?;
    let master_replica_configured =
        crate::operation::server_state::replica_state(cluster.pair.master.sql())?.is_some();
    let tls = crate::tls::TlsFiles::from_answers(&answers.replication);
    let login = Source {
        host: target.clone(),
        // The new master's port: the answers of its node.
        port: answers.slave.mysql_port,
        user: answers.replication.user.clone(),
        password: crate::answers::generate_password(),
        tls_ca: tls.as_ref().map(|f| f.ca_text()),
        tls: replica::offers_tls(&mut cluster.pair.slave)?,
    };
    Ok(SwitchoverSurvey {
        run_id: run_id.to_string(),
        term: cluster.master_state.term.max(cluster.slave_state.term),
        master_flavor: cluster.pair.master.sql().flavor(),
        target_flavor: cluster.pair.slave.sql().flavor(),
        master_daemon,
        target_daemon,
        vip: (answers.cluster.resource == Resource::Vip).then(|| {
            (
                answers.cluster.vip.clone(),
                answers.cluster.device.clone(),
                answers.cluster.arp,
            )
        }),
        resource: resource_label(cluster),
        slave_files,
        master_replica_configured,
        login,
        require_tls: tls.is_some(),
        apply_wait: options.apply_wait,
        databases,
        master,
        target,
        checks,
        problems,
    })
}

fn step(name: &'static str, side: Side, changes: Vec<Change>) -> StepPlan {
    StepPlan {
        name,
        side,
        changes,
        summary: Vec::new(),
    }
}

/// The placeholder for the GTIDs a node executed, read at run time.
fn executed(label: &str) -> String {
    format!("<GTIDs {label} executed>")
}

/// The step after which writes go to the new master: the address move, or
/// (without an address to move) the new master turning writable.
fn resume_step(survey: &SwitchoverSurvey) -> &'static str {
    if survey.vip.is_some() {
        MOVE_ADDRESS
    } else {
        WRITABLE
    }
}

/// The switchover's plan from what `survey` found. The old master is
/// `Side::Master` and the new one `Side::Slave` throughout.
pub fn build(survey: &SwitchoverSurvey) -> SwitchoverPlan {
    let (m, t) = (Side::Master, Side::Slave);
    let master_gtids = executed(&survey.master);
    let target_gtids = executed(&survey.target);
    let term = survey.term + 1;
    let daemon = |argv: &Vec<String>, start: bool| Change::ClusterDaemon {
        argv: argv.clone(),
        start,
    };
    let mut steps = vec![
        step(
            STOP_TARGET_DAEMON,
            t,
            vec![daemon(&survey.target_daemon.0, false)],
        ),
        step(
            STOP_MASTER_DAEMON,
            m,
            vec![daemon(&survey.master_daemon.0, false)],
        ),
    ];
    let mut read_only = replica::read_only(&survey.master_flavor, true);
    read_only.push(Change::ReadGtids {
        query: survey.master_flavor.executed_gtids_query().to_string(),
        placeholder: master_gtids.clone(),
    });
    steps.push(step(READ_ONLY, m, read_only));
    steps.push(step(
        APPLY_ALL,
        t,
        vec![Change::WaitApplied {
            placeholder: master_gtids,
            limit: survey.apply_wait,
            flavor: survey.target_flavor,
        }],
    ));
    steps.push(step(
        STOP_REPLICATION,
        t,
        vec![
            Change::Sql(Statement::control(survey.target_flavor.stop_replica())),
            Change::ReadGtids {
                query: survey.target_flavor.executed_gtids_query().to_string(),
                placeholder: target_gtids.clone(),
            },
        ],
    ));
    steps.push(step(
        WRITABLE,
        t,
        replica::read_only(&survey.target_flavor, false),
    ));
    if let Some((cidr, device, arp)) = &survey.vip {
        steps.push(step(
            MOVE_ADDRESS,
            t,
            vec![Change::MoveAddress {
                cidr: cidr.clone(),
                device: device.clone(),
                // A planned move leaves the clients' caches pointing at the
                // old master, which is alive: announce unless told never to.
                announce: *arp != ArpMode::Never,
                from: m,
            }],
        ));
    }
    steps.push(step(
        TARGET_TERM,
        t,
        vec![Change::TermState(TermState {
            term,
            role: Role::Master,
            last_takeover_at: None,
            takeover_acked: true,
        })],
    ));
    steps.push(step(
        MASTER_TERM,
        m,
        vec![Change::TermState(TermState {
            term,
            role: Role::Slave,
            last_takeover_at: None,
            takeover_acked: true,
        })],
    ));
    let mut forget = step(
        FORGET_MASTER,
        t,
        vec![
            Change::Sql(Statement::plain(survey.target_flavor.reset_replica_all())),
            daemon(&survey.target_daemon.1, true),
        ],
    );
    // Its option files keep read-only ON: every node boots read-only and
    // the daemon makes the master writable while a majority backs it.
    forget
        .summary
        .push("its option files keep read-only ON: its daemon makes it writable".into());
    steps.push(forget);
    let mut slave_changes = survey.slave_files.0.clone();
    slave_changes.extend(replica::read_only(&survey.master_flavor, true));
    let mut become_slave = step(BECOME_SLAVE, m, slave_changes);
    become_slave.summary = survey.slave_files.1.clone();
    steps.push(become_slave);
    steps.push(step(
        ACCOUNT,
        t,
        replica::account_changes(
            &survey.login.user,
            &survey.master,
            &survey.login.password,
            survey.require_tls,
        ),
    ));
    let mut replicate = replica::point_changes(
        &survey.master_flavor,
        survey.master_replica_configured,
        &survey.login,
        &target_gtids,
    );
    replicate.push(Change::WaitReplicating {
        source: survey.target.clone(),
        limit: REPLICATION_WAIT,
        otherwise: Vec::new(),
    });
    replicate.push(daemon(&survey.master_daemon.1, true));
    steps.push(step(REPLICATE, m, replicate));
    steps.push(step(
        PROVE,
        t,
        vec![
            Change::Check(Check::WriteThroughAddress),
            Change::Check(Check::DaemonsHealthy),
        ],
    ));

    let undo = |side: Side, change: Change, once: &'static str| RescueChange {
        side,
        change,
        once: Some(once),
    };
    let mut before_move: Vec<RescueChange> = replica::read_only(&survey.target_flavor, true)
        .into_iter()
        .map(|c| undo(t, c, STOP_MASTER_DAEMON))
        .collect();
    before_move.push(undo(
        t,
        Change::Sql(Statement::control(survey.target_flavor.start_replica())),
        STOP_REPLICATION,
    ));
    before_move.extend(
        replica::read_only(&survey.master_flavor, false)
            .into_iter()
            .map(|c| undo(m, c, STOP_MASTER_DAEMON)),
    );
    before_move.push(undo(
        m,
        daemon(&survey.master_daemon.1, true),
        STOP_MASTER_DAEMON,
    ));
    before_move.push(undo(
        t,
        daemon(&survey.target_daemon.1, true),
        STOP_TARGET_DAEMON,
    ));
    let after_move = vec![
        RescueChange {
            side: t,
            change: daemon(&survey.target_daemon.1, true),
            once: None,
        },
        RescueChange {
            side: m,
            change: daemon(&survey.master_daemon.1, true),
            once: None,
        },
    ];
    let mut preamble = vec![
        format!(
            "Switchover: {} (master of term {}) hands the master role to {}",
            survey.master, survey.term, survey.target
        ),
        "Preflight:".to_string(),
    ];
    preamble.extend(survey.checks.iter().map(|c| format!("  ok      {c}")));
    preamble.extend(survey.problems.iter().map(|p| format!("  FATAL   {p}")));
    preamble.push(format!(
        "Values marked <...> are read at run time; the log shows them. Writes pause from `{READ_ONLY}` to `{}`.",
        resume_step(survey)
    ));
    SwitchoverPlan {
        plan: Plan {
            // Our daemon's operation: the executor holds the daemons itself.
            hold: None,
            run_id: survey.run_id.clone(),
            master_label: survey.master.clone(),
            slave_label: survey.target.clone(),
            slave2_label: String::new(),
            witness_label: String::new(),
            preamble,
            steps,
            rescues: vec![
                Rescue {
                    first: STOP_TARGET_DAEMON,
                    last: resume_step(survey),
                    why: "everything is put back as it was:".into(),
                    changes: before_move,
                },
                Rescue {
                    first: FORGET_MASTER,
                    last: REPLICATE,
                    why: format!(
                        "{} stays master; both daemons start again and `mysql-ha rejoin {}` finishes the old master's part:",
                        survey.target, survey.master
                    ),
                    changes: after_move,
                },
            ],
            side_names: Some(["old master", "new master"]),
        },
        master: survey.master.clone(),
        target: survey.target.clone(),
        term: survey.term,
        problems: survey.problems.clone(),
        resource: survey.resource.clone(),
        resume_step: resume_step(survey),
    }
}

/// Surveys the nodes and builds the plan, for a new run.
pub fn plan(
    cluster: &mut Cluster,
    to: Option<&str>,
    options: &SwitchoverOptions,
) -> Result<SwitchoverPlan> {
    let run_id = crate::backup::new_run_id();
    Ok(build(&survey(cluster, to, options, &run_id)?))
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

/// Applies the plan; returns the cluster seen in its new direction.
pub fn apply(
    cluster: Cluster,
    plan: &SwitchoverPlan,
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
        &plan.plan.run_id,
    )?;
    let applied = crate::operation::apply::run(
        &mut cluster.pair,
        &plan.plan,
        &mut journals,
        reporter,
        &mut |_| Ok(()),
    );
    let term = plan.term + 1;
    let applied = match applied {
        Ok(applied) => applied,
        Err(failed) => {
            let index = |name: &str| plan.plan.steps.iter().position(|s| s.name == name);
            let before_move = matches!(
                (index(failed.step), index(plan.resume_step)),
                (Some(at), Some(last)) if at <= last
            );
            let problems = failed.rescue.clone().unwrap_or_default();
            if before_move {
                let mut message = failed.error.to_string();
                if !problems.is_empty() {
                    message.push_str(&format!(" (while undoing: {})", problems.join("; ")));
                }
                return Err(Error::SwitchoverUndone { message });
            }
            if failed.rescue.is_some() {
                return Err(Error::Cluster {
                    message: format!(
                        "{} is master of term {term} and holds the cluster resource, but making {} its slave failed: {}; `mysql-ha rejoin {}` finishes it",
                        plan.target, plan.master, failed.error, plan.master
                    ),
                });
            }
            return Err(failed.error);
        }
    };
    let write_pause_s = match (
        applied.finished_at(READ_ONLY),
        applied
            .address_moved_at
            .or(applied.finished_at(plan.resume_step)),
    ) {
        (Some(paused), Some(resumed)) => resumed.duration_since(paused).as_secs_f64(),
        _ => 0.0,
    };
    let mut cluster = cluster.swap();
    cluster.master_state.term = term;
    cluster.slave_state.term = term;
    let outcome = SwitchoverOutcome {
        run_id: plan.plan.run_id.clone(),
        new_master: plan.target.clone(),
        term,
        write_pause_s,
        seconds: started.elapsed().as_secs_f64(),
        verified: applied.proved.join("; "),
        daemons: applied.daemons,
    };
    Ok((cluster, outcome))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const PASSWORD: &str = "Fresh-Repl-Pw-never-shown";

    fn daemon(verb: &str) -> Vec<String> {
        vec!["systemctl".into(), verb.into(), "mysql-ha.service".into()]
    }

    fn survey(version: &str) -> SwitchoverSurvey {
        let flavor = Flavor::from_version_string(version).unwrap();
        SwitchoverSurvey {
            run_id: "20261130-120000-abcd".into(),
            master: "192.0.2.11".into(),
            target: "192.0.2.12".into(),
            term: 4,
            databases: vec!["shop".into(), "crm".into()],
            checks: vec!["192.0.2.12 is a slave (term 4)".into()],
            problems: Vec::new(),
            master_flavor: flavor,
            target_flavor: flavor,
            master_daemon: (daemon("stop"), daemon("start")),
            target_daemon: (daemon("stop"), daemon("start")),
            vip: Some(("192.0.2.10/24".into(), "eth0".into(), ArpMode::WhenNeeded)),
            resource: "the cluster address 192.0.2.10/24".into(),
            slave_files: (
                Vec::new(),
                vec!["option files already those of a slave".into()],
            ),
            master_replica_configured: false,
            login: Source {
                host: "192.0.2.12".into(),
                port: 3306,
                user: "repl".into(),
                password: PASSWORD.into(),
                tls_ca: None,
                tls: false,
            },
            require_tls: false,
            apply_wait: Duration::from_secs(30),
        }
    }

    fn steps(plan: &Plan) -> Vec<(&'static str, Side)> {
        plan.steps.iter().map(|s| (s.name, s.side)).collect()
    }

    fn sql_of(plan: &Plan, name: &str) -> Vec<(String, String)> {
        let step = plan.steps.iter().find(|s| s.name == name).unwrap();
        step.changes
            .iter()
            .filter_map(|c| match c {
                Change::Sql(s) => Some((s.shown.clone(), s.real.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_switchover_is_a_plan_of_typed_steps_in_order() {
        let plan = build(&survey("10.11.6-MariaDB-0+deb12u1")).plan;
        let (m, t) = (Side::Master, Side::Slave);
        assert_eq!(
            steps(&plan),
            vec![
                (STOP_TARGET_DAEMON, t),
                (STOP_MASTER_DAEMON, m),
                (READ_ONLY, m),
                (APPLY_ALL, t),
                (STOP_REPLICATION, t),
                (WRITABLE, t),
                (MOVE_ADDRESS, t),
                (TARGET_TERM, t),
                (MASTER_TERM, m),
                (FORGET_MASTER, t),
                (BECOME_SLAVE, m),
                (ACCOUNT, t),
                (REPLICATE, m),
                (PROVE, t),
            ]
        );
        let shown = |name: &str| -> Vec<String> {
            sql_of(&plan, name).into_iter().map(|(s, _)| s).collect()
        };
        assert_eq!(shown(READ_ONLY), vec!["SET GLOBAL read_only = ON"]);
        assert_eq!(
            shown(STOP_REPLICATION),
            vec!["STOP SLAVE"],
            "the new master's GTIDs are read right after"
        );
        assert_eq!(shown(WRITABLE), vec!["SET GLOBAL read_only = OFF"]);
        assert_eq!(
            shown(REPLICATE),
            vec![
                "SET GLOBAL gtid_slave_pos = '<GTIDs 192.0.2.12 executed>'".to_string(),
                "CHANGE MASTER TO MASTER_HOST='192.0.2.12', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='********', MASTER_USE_GTID=slave_pos".into(),
                "START SLAVE".into(),
            ]
        );
        // The old master's GTIDs are read at run time and waited for.
        let apply = &plan.steps[3].changes[0];
        assert!(
            matches!(apply, Change::WaitApplied { placeholder, .. } if placeholder == "<GTIDs 192.0.2.11 executed>"),
            "{apply:?}"
        );
        match &plan.steps[7].changes[..] {
            [Change::TermState(state)] => {
                assert_eq!((state.term, state.role), (5, Role::Master));
                assert!(state.takeover_acked);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_password_is_masked_everywhere_it_shows() {
        let plan = build(&survey("10.11.6-MariaDB-0+deb12u1")).plan;
        let account = sql_of(&plan, ACCOUNT);
        assert_eq!(
            account.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
            vec![
                "SET SESSION sql_log_bin = 0",
                "CREATE USER IF NOT EXISTS 'repl'@'192.0.2.11' IDENTIFIED BY '********'",
                "ALTER USER 'repl'@'192.0.2.11' IDENTIFIED BY '********'",
                "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'192.0.2.11'",
                "SET SESSION sql_log_bin = 1",
            ]
        );
        assert!(account[1].1.contains(PASSWORD), "the real text runs it");
        let text = plan.render();
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!format!("{plan:?}").contains(PASSWORD));
        assert!(text.contains("MASTER_PASSWORD='********'"), "{text}");
    }

    #[test]
    fn the_rendered_plan_says_what_runs_and_what_is_read_at_run_time() {
        let text = build(&survey("10.11.6-MariaDB-0+deb12u1")).render();
        for line in [
            "Switchover: 192.0.2.11 (master of term 4) hands the master role to 192.0.2.12",
            "  ok      192.0.2.12 is a slave (term 4)",
            "Plan for run 20261130-120000-abcd",
            "== stop the cluster daemon of the new master on new master 192.0.2.12: will change",
            "   run: systemctl stop mysql-ha.service    # the cluster daemon stops; the address stays where it is",
            "   sql: SELECT @@GLOBAL.gtid_binlog_pos;   -> <GTIDs 192.0.2.11 executed> (read at run time; the log shows it)",
            "   wait: SELECT MASTER_GTID_WAIT('<GTIDs 192.0.2.11 executed>', 30);   (returns 0 once applied; at most 30 s)",
            "   run on old master 192.0.2.11: /usr/sbin/ip addr del 192.0.2.10/24 dev eth0",
            "   run: /usr/sbin/ip addr add 192.0.2.10/24 dev eth0    # put back on 192.0.2.11 if this fails",
            "   write /var/lib/mysql-ha/cluster/state.json: master of term 5, the last takeover acknowledged",
            "   option files already those of a slave",
            "   wait: both replication threads from 192.0.2.12 run (at most 30 s)",
            "   check: a row written through the cluster address lands on this node",
            "If a step from `stop the cluster daemon of the new master` to `move the cluster address (writes resume here)` fails: everything is put back as it was:",
            "   on new master 192.0.2.12 (once `stop replication` finished):",
            "     sql: START SLAVE;",
            "If a step from `forget its master; start its cluster daemon` to `replicate from the new master; start its cluster daemon` fails: 192.0.2.12 stays master; both daemons start again and `mysql-ha rejoin 192.0.2.11` finishes the old master's part:",
        ] {
            assert!(text.lines().any(|l| l == line), "no line `{line}` in:\n{text}");
        }
        assert!(!text.contains("FATAL"));
    }

    #[test]
    fn without_an_address_writes_resume_once_the_new_master_is_writable() {
        let mut found = survey("10.11.6-MariaDB-0+deb12u1");
        found.vip = None;
        found
            .problems
            .push("192.0.2.12 is 40 s behind 192.0.2.11 (bound 10 s)".into());
        let plan = build(&found);
        assert_eq!(plan.resume_step, WRITABLE);
        assert!(!plan.plan.steps.iter().any(|s| s.name == MOVE_ADDRESS));
        assert_eq!(plan.plan.rescues[0].last, WRITABLE);
        assert!(plan
            .render()
            .contains("  FATAL   192.0.2.12 is 40 s behind 192.0.2.11 (bound 10 s)"));
    }

    #[test]
    fn mysql_sets_super_read_only_after_read_only_and_clears_it_first() {
        let plan = build(&survey("8.4.3")).plan;
        let shown = |name: &str| -> Vec<String> {
            sql_of(&plan, name).into_iter().map(|(s, _)| s).collect()
        };
        assert_eq!(
            shown(READ_ONLY),
            vec![
                "SET GLOBAL read_only = ON",
                "SET GLOBAL super_read_only = ON"
            ]
        );
        assert_eq!(
            shown(WRITABLE),
            vec![
                "SET GLOBAL super_read_only = OFF",
                "SET GLOBAL read_only = OFF"
            ]
        );
        assert_eq!(shown(STOP_REPLICATION), vec!["STOP REPLICA"]);
        // Auto-positioning: no GTID value goes into the statements.
        let replicate = shown(REPLICATE);
        assert!(
            replicate[0].starts_with("CHANGE REPLICATION SOURCE TO SOURCE_HOST='192.0.2.12'"),
            "{replicate:?}"
        );
        assert!(
            !replicate.iter().any(|s| s.contains("<GTIDs")),
            "{replicate:?}"
        );
    }
}
