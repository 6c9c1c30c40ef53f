//! `mysql-ha setup`, `check` and `status`: load answers, run the engine,
//! render what it says.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use serde::Serialize;

use crate::answers::Answers;
use crate::backup;
use crate::cli::{CheckArgs, JsonArgs, SetupArgs};
use crate::events::Reporter;
use crate::setup::apply::{self, Journals};
use crate::setup::build::{self, Secrets};
use crate::setup::pair::{Member, Pair};
use crate::setup::plan::Side;
use crate::setup::{preflight, state, verify};
use crate::ui::line::LineReporter;
use crate::{Error, Result};

fn load_answers(path: Option<&Path>) -> Result<Answers> {
    let Some(path) = path else {
        return Err(Error::Answers {
            key: "--answers".into(),
            message: "the interactive wizard is not built yet: give an answers file (see docs/answers.md)".into(),
        });
    };
    let answers = Answers::from_file(path)?;
    answers.validate()?;
    Ok(answers)
}

fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Aborted(
            "no terminal to confirm the plan on: review it with --dry-run, then run again with --yes".into(),
        ));
    }
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io("stdin", e))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

fn preflight_or_stop(pair: &mut Pair) -> Result<preflight::Report> {
    let report = preflight::run(pair)?;
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
    Ok(report)
}

pub fn setup(args: SetupArgs) -> Result<()> {
    let answers = load_answers(args.answers.as_deref())?;
    let reporter = LineReporter::new();
    let mut pair = Pair::connect(&answers, args.profile.as_deref())?;
    println!("Preflight:");
    let report = preflight_or_stop(&mut pair)?;
    print!("{}", report.render());

    let run_id = backup::new_run_id();
    let generated = answers.replication.password.is_empty();
    let secrets = Secrets {
        replication_password: if generated {
            crate::answers::generate_password()
        } else {
            answers.replication.password.clone()
        },
    };
    let plan = build::build(&mut pair, &report, &run_id, &secrets)?;
    println!();
    print!("{}", plan.render());
    if args.dry_run {
        println!("\ndry run: nothing was changed");
        return Ok(());
    }
    if !args.yes && !plan.unchanged() && !confirm("\nApply this plan?")? {
        return Err(Error::Aborted("not applied; nothing was changed".into()));
    }
    println!();
    let mut journals = Journals::create(&pair, &run_id)?;
    if let Err(err) = apply::apply(&mut pair, &plan, &mut journals, &reporter) {
        return Err(Error::Other(format!(
            "{err}\nrun {run_id} stopped part way; its journal on each node (/var/lib/mysql-ha/runs/{run_id}/) says what was applied, and `mysql-ha rollback {run_id}` on each node puts its files back"
        )));
    }
    reporter.event(crate::events::Event::StepStarted {
        step: "verify replication".into(),
    });
    let verified = verify::run(&mut pair, &report.databases)?;
    let timings: Vec<String> = verified
        .canary_seconds
        .iter()
        .map(|(db, s)| format!("{db} {:.2} s", s))
        .collect();
    reporter.event(crate::events::Event::Note {
        message: format!(
            "verified: both threads running; a canary row written on the master reached the slave ({})",
            timings.join(", ")
        ),
    });
    reporter.event(crate::events::Event::StepStarted {
        step: "wait for both cluster daemons".into(),
    });
    for line in crate::setup::handoff::wait_healthy(&pair)? {
        reporter.event(crate::events::Event::Note { message: line });
    }
    let what = if plan.unchanged() {
        "nothing needed changing"
    } else {
        "changes applied"
    };
    println!(
        "\ndone: {} replicates {} from {} ({what}; run {run_id})",
        pair.slave.label(),
        report.databases.join(", "),
        pair.master.label()
    );
    Ok(())
}

pub fn check(args: CheckArgs) -> Result<()> {
    let answers = load_answers(args.answers.as_deref())?;
    let mut pair = Pair::connect(&answers, args.profile.as_deref())?;
    let report = preflight::run(&mut pair)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Error::Other(e.to_string()))?
        );
    } else {
        print!("{}", report.render());
    }
    if report.has_fatal() {
        return Err(Error::Preflight {
            count: report.fatal().count(),
            findings: report
                .fatal()
                .map(|f| format!("{}: {}", f.node, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    Ok(())
}

#[derive(Debug, Serialize)]
pub struct NodeStatus {
    pub host: String,
    pub role: String,
    pub version: String,
    pub io_running: Option<String>,
    pub sql_running: Option<String>,
    pub seconds_behind: Option<String>,
    pub last_error: Option<String>,
    pub master_host: Option<String>,
    pub replicated_databases: Vec<String>,
    pub read_only: bool,
}

fn node_status(member: &mut Member) -> Result<NodeStatus> {
    let version = member.sql().flavor().to_string();
    let read_only = member.sql().scalar("SELECT @@GLOBAL.read_only")?.as_deref() == Some("1");
    let replica = state::replica_state(member.sql())?;
    let role = match (&replica, member.side) {
        (Some(_), _) => "slave",
        (None, Side::Master) => "master",
        (None, Side::Slave) => "standalone",
    };
    Ok(match replica {
        Some(r) => NodeStatus {
            host: member.label().to_string(),
            role: role.into(),
            version,
            last_error: [r.last_io_error.clone(), r.last_sql_error.clone()]
                .into_iter()
                .find(|e| !e.is_empty()),
            io_running: Some(r.io_running),
            sql_running: Some(r.sql_running),
            seconds_behind: r.seconds_behind,
            master_host: Some(r.master_host),
            replicated_databases: r.replicate_do_db,
            read_only,
        },
        None => NodeStatus {
            host: member.label().to_string(),
            role: role.into(),
            version,
            io_running: None,
            sql_running: None,
            seconds_behind: None,
            last_error: None,
            master_host: None,
            replicated_databases: Vec::new(),
            read_only,
        },
    })
}

pub fn status(args: JsonArgs) -> Result<()> {
    if args.answers.is_none() && Path::new(crate::daemon::config::DEFAULT_PATH).exists() {
        return crate::commands::daemon::status(args.json);
    }
    let answers = load_answers(args.answers.as_deref())?;
    let mut pair = Pair::connect(&answers, None)?;
    let nodes = vec![
        node_status(&mut pair.master)?,
        node_status(&mut pair.slave)?,
    ];
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&nodes).map_err(|e| Error::Other(e.to_string()))?
        );
        return Ok(());
    }
    for node in &nodes {
        println!(
            "{:<16} {:<10} {:<22} io={} sql={} behind={} {}",
            node.host,
            node.role,
            node.version,
            node.io_running.as_deref().unwrap_or("-"),
            node.sql_running.as_deref().unwrap_or("-"),
            node.seconds_behind.as_deref().unwrap_or("-"),
            if node.replicated_databases.is_empty() {
                String::new()
            } else {
                format!("databases: {}", node.replicated_databases.join(", "))
            }
        );
        if let Some(error) = &node.last_error {
            println!("{:<16} last error: {error}", "");
        }
    }
    Ok(())
}
