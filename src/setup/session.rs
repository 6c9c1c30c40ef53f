//! One setup run as an API for front-ends: connect, look at the nodes,
//! preflight, plan, apply and verify. Every front-end (answers file, TUI,
//! prompts, line mode) drives the engine through this, in the same order,
//! so none of them repeats the sequence. A session is `Send`: a UI can run
//! it on a worker thread and get events over a channel.

use super::build::{self, Secrets};
use super::preflight;
use crate::answers::{Answers, ValidAnswers};
use crate::backup;
use crate::events::{Event, Reporter};
use crate::operation::apply::{self, Journals};
use crate::operation::pair::{Member, Pair};
use crate::operation::plan::Plan;
use crate::operation::{server_state, verify};
use crate::{Error, Result};

/// What a connection test found on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFacts {
    pub host: String,
    /// Distribution profile picked for the node ("debian-12").
    pub distribution: String,
    /// Server flavour and version ("MariaDB 10.11.6").
    pub server: String,
}

/// A database of the master, offered for replication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseInfo {
    pub name: String,
    pub bytes: u64,
}

/// What the nodes say before any question about databases is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    pub master: NodeFacts,
    pub slave: NodeFacts,
    /// The master's databases, system schemas left out.
    pub databases: Vec<DatabaseInfo>,
    /// Databases the slave already replicates (a re-run pre-selects them).
    pub replicated: Vec<String>,
}

/// A plan ready for review.
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: Plan,
    pub preflight: preflight::Report,
}

/// The end of a successful run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub run_id: String,
    pub changed: bool,
    pub master: String,
    pub slave: String,
    pub databases: Vec<String>,
    /// Seconds a canary row took to reach the slave, per database.
    pub canary_seconds: Vec<(String, f64)>,
    /// Folder of the run's journal and backups, on each node.
    pub run_dir: String,
}

impl Outcome {
    pub fn headline(&self) -> String {
        let what = if self.changed {
            "changes applied"
        } else {
            "nothing needed changing"
        };
        format!(
            "{} replicates {} from {} ({what}; run {})",
            self.slave,
            self.databases.join(", "),
            self.master,
            self.run_id
        )
    }
}

pub struct SetupSession {
    pair: Pair,
    secrets: Secrets,
    planned: Option<Planned>,
    /// Replication proved during the last apply, right after it started.
    verified: Option<verify::Verified>,
    /// The run lock on both nodes, from the start of apply to the end of
    /// verify (or the session's end).
    lock: Option<crate::run_lock::RunLock>,
}

impl SetupSession {
    /// Every database node of the run (the second slave too).
    fn nodes(&self) -> Vec<(&str, &dyn crate::node::Node)> {
        let mut nodes = vec![
            (self.pair.master.label(), self.pair.master.access.node()),
            (self.pair.slave.label(), self.pair.slave.access.node()),
        ];
        if let Some(slave2) = &self.pair.slave2 {
            nodes.push((slave2.label(), slave2.access.node()));
        }
        nodes
    }

    fn release_lock(&mut self) {
        if let Some(lock) = self.lock.take() {
            lock.release(&self.nodes());
        }
    }
}

impl Drop for SetupSession {
    fn drop(&mut self) {
        self.release_lock();
    }
}

/// The "verify replication" step: both threads running and a canary row
/// per database from the master to the slave.
fn verify_step(
    pair: &mut Pair,
    databases: &[String],
    reporter: &dyn Reporter,
) -> Result<verify::Verified> {
    reporter.event(Event::StepStarted {
        step: "verify replication".into(),
    });
    let verified = verify::run(pair, databases)?;
    let timings: Vec<String> = verified
        .canary_seconds
        .iter()
        .map(|(db, s)| format!("{db} {s:.2} s"))
        .collect();
    reporter.event(Event::Note {
        message: format!(
            "verified: both threads running; a canary row written on the master reached the slave ({})",
            timings.join(", ")
        ),
    });
    reporter.event(Event::StepFinished {
        step: "verify replication".into(),
        changed: false,
        summary: "replication runs".into(),
    });
    Ok(verified)
}

/// Folder where a run keeps its journal and backups on each node.
pub fn run_dir(run_id: &str) -> String {
    format!("/var/lib/mysql-ha/runs/{run_id}/")
}

/// This machine's first global IPv4 address: the default master address
/// when the wizard runs on the master.
pub fn local_address() -> Option<String> {
    use crate::node::{LocalNode, Node};
    let out = LocalNode::new()
        .run(&["ip", "-o", "-4", "addr", "show", "scope", "global"], None)
        .ok()?;
    out.stdout_text().lines().find_map(|line| {
        let mut words = line.split_whitespace();
        words.find(|w| *w == "inet")?;
        words.next()?.split('/').next().map(str::to_string)
    })
}

fn facts(member: &mut Member) -> NodeFacts {
    NodeFacts {
        host: member.label().to_string(),
        distribution: member.profile.name.clone(),
        server: member.sql().flavor().to_string(),
    }
}

impl SetupSession {
    /// Opens ssh and SQL on both nodes with the node answers (hosts, ssh
    /// users, admin credentials). A refused password is an
    /// `Error::Answers` naming the key to correct.
    pub fn connect(answers: &Answers, forced_profile: Option<&str>) -> Result<SetupSession> {
        let pair = Pair::connect_for_change(answers, forced_profile)?.with_witness()?;
        Ok(SetupSession {
            pair,
            secrets: Secrets {
                replication_password: String::new(),
            },
            planned: None,
            verified: None,
            lock: None,
        })
    }

    /// Distributions, versions, the master's databases with sizes and what
    /// the slave already replicates.
    pub fn survey(&mut self) -> Result<Survey> {
        let master = facts(&mut self.pair.master);
        let slave = facts(&mut self.pair.slave);
        let conn = self.pair.master.sql();
        let mut databases = Vec::new();
        for name in server_state::replicable_databases(conn)? {
            let bytes = server_state::databases_size(conn, std::slice::from_ref(&name))?;
            databases.push(DatabaseInfo { name, bytes });
        }
        // Seam for the cluster configuration file: when it exists, a re-run
        // reads its answers from there; until then the slave's own filter
        // says what is replicated.
        let replicated = server_state::replica_state(self.pair.slave.sql())?
            .map(|r| r.replicated_databases)
            .unwrap_or_default();
        Ok(Survey {
            master,
            slave,
            databases,
            replicated,
        })
    }

    /// Preflight and plan with the full, checked answers. The node answers
    /// must be those the session connected with. Fatal findings are an
    /// error.
    pub fn plan(&mut self, answers: &ValidAnswers) -> Result<Planned> {
        if answers.master != self.pair.answers.master
            || answers.slave != self.pair.answers.slave
            || answers.slave2 != self.pair.answers.slave2
        {
            return Err(Error::Usage(
                "the node answers changed since the connection test: connect again".into(),
            ));
        }
        // The connection checked the addresses of the answers it was given;
        // the wizard connects before the cluster address is asked.
        if **answers != self.pair.answers {
            answers.check_addresses(&crate::answers::resolve_host)?;
        }
        // A plan made while another run changes the nodes would be stale.
        crate::run_lock::check_free(&self.nodes())?;
        self.pair.answers = Answers::clone(answers);
        let report = preflight::run_all(&mut self.pair)?;
        if report.has_fatal() {
            let findings: Vec<String> = report
                .fatal()
                .map(|f| format!("{}: {}: {}", f.node, f.check, f.message))
                .collect();
            return Err(Error::Preflight {
                count: findings.len(),
                findings: findings.join("; "),
            });
        }
        // Under Pacemaker the agent keeps the password in its local
        // secrets: a re-run keeps it.
        let stored = super::managers::named(answers.cluster.manager)
            .stored_replication_password(&self.pair)?;
        self.secrets.replication_password = if !answers.replication.password.is_empty() {
            answers.replication.password.clone()
        } else if let Some(stored) = stored {
            stored
        } else {
            crate::answers::generate_password()
        };
        let plan = build::build(
            &mut self.pair,
            &report,
            &backup::new_run_id(),
            &self.secrets,
        )?;
        let planned = Planned {
            plan,
            preflight: report,
        };
        self.planned = Some(planned.clone());
        Ok(planned)
    }

    /// Applies the last plan, then proves replication with a canary row.
    pub fn apply_and_verify(&mut self, reporter: &dyn Reporter) -> Result<Outcome> {
        let applied = self.apply(reporter)?;
        self.verify(applied, reporter)
    }

    /// Applies the last plan (a safe point follows: a front-end may stop
    /// here, before verification).
    pub fn apply(&mut self, reporter: &dyn Reporter) -> Result<Planned> {
        let Some(planned) = self.planned.take() else {
            return Err(Error::Internal("applying before a plan was made".into()));
        };
        let run_id = planned.plan.run_id.clone();
        // One mutating run per cluster: taken before the first change.
        if self.lock.is_none() {
            let path = std::path::PathBuf::from(crate::run_lock::LOCK_PATH);
            let targets: Vec<_> = self
                .nodes()
                .into_iter()
                .map(|(label, node)| (label, node, path.clone()))
                .collect();
            self.lock = Some(crate::run_lock::RunLock::acquire(
                &targets,
                crate::run_lock::Owner::this_process(&run_id, "setup"),
            )?);
        }
        crate::interrupt::arm(&run_id, &run_dir(&run_id));
        let mut journals = Journals::create(&self.pair, &run_id)?;
        let databases = planned.preflight.databases.clone();
        let mut verified = None;
        let applied = apply::apply(
            &mut self.pair,
            &planned.plan,
            &mut journals,
            reporter,
            &mut |pair| {
                verified = Some(verify_step(pair, &databases, reporter)?);
                Ok(())
            },
        );
        self.verified = verified;
        if let Err(err) = applied {
            return Err(Error::StoppedPartWay(format!(
                "{err}\nrun {run_id} stopped part way; its journal on each node ({}) says what was applied, and `mysql-ha rollback {run_id}` on each node puts its files back",
                run_dir(&run_id)
            )));
        }
        Ok(planned)
    }

    /// Proves replication of an applied plan with a canary row per database.
    pub fn verify(&mut self, applied: Planned, reporter: &dyn Reporter) -> Result<Outcome> {
        let Planned { plan, preflight } = applied;
        let run_id = plan.run_id.clone();
        let verified = match self.verified.take() {
            Some(verified) => verified,
            None => verify_step(&mut self.pair, &preflight.databases, reporter)?,
        };
        // Not done until the cluster manager has taken over.
        let manager = super::managers::named(self.pair.answers.cluster.manager);
        reporter.event(Event::StepStarted {
            step: manager.waiting_for().into(),
        });
        let lines = manager.wait_running(&mut self.pair)?;
        for line in lines {
            reporter.event(Event::Note { message: line });
        }
        if let Some(slave2) = &self.pair.slave2 {
            reporter.event(Event::Note {
                message: format!(
                    "second slave: {} replicates {} from {} too",
                    slave2.label(),
                    preflight.databases.join(", "),
                    self.pair.master.label()
                ),
            });
        }
        self.release_lock();
        Ok(Outcome {
            changed: !plan.unchanged(),
            master: self.pair.master.label().to_string(),
            slave: self.pair.slave.label().to_string(),
            databases: preflight.databases.clone(),
            canary_seconds: verified.canary_seconds,
            run_dir: run_dir(&run_id),
            run_id,
        })
    }
}
