//! `mysql-ha setup`, `check` and `status`: load answers, run the engine,
//! render what it says.

use std::path::Path;

use serde::Serialize;

use super::confirm::confirm;
use crate::answers::{Answers, ValidAnswers};
use crate::cli::{AddDbArgs, CheckArgs, JsonArgs, ResyncArgs, SetupArgs};
use crate::operation::pair::{Member, Pair};
use crate::operation::plan::Side;
use crate::operation::server_state;
use crate::setup::preflight;
use crate::setup::session::{self, SetupSession};
use crate::ui::choose::{self, Frontend};
use crate::ui::line::LineReporter;
use crate::ui::plain::PlainAsker;
use crate::ui::prompt::PromptAsker;
use crate::ui::tui::{self, app::Ending};
use crate::ui::{flow, questions};
use crate::{Error, Result};

/// Reads and checks an answers file, once: the checked answers are what
/// every command runs with.
pub(crate) fn load_answers(path: Option<&Path>) -> Result<ValidAnswers> {
    let Some(path) = path else {
        return Err(Error::Answers {
            key: "--answers".into(),
            message: "give an answers file (see docs/answers.md)".into(),
        });
    };
    read_answers(path)?
        .into_valid()
        .map_err(|err| crate::answers::in_file(err, path))
}

/// Reads an answers file, warning on stderr when it holds secrets that
/// others may read.
pub(crate) fn read_answers(path: &Path) -> Result<Answers> {
    let answers = Answers::from_file(path)?;
    if let Some(warning) = crate::answers::permission_warning(path, &answers) {
        eprintln!("mysql-ha: warning: {warning}");
    }
    Ok(answers)
}

/// `setup --answers FILE --yes` (or `--dry-run`): no questions, the engine
/// session driven from the answers file alone, events as lines.
fn unattended(args: &SetupArgs) -> Result<()> {
    let answers = load_answers(args.answers.as_deref())?;
    let save = args
        .save_answers
        .as_deref()
        .map(|path| (path, args.include_secrets));
    run_unattended(&answers, args.dry_run, true, save, args.profile.as_deref()).map_err(|err| {
        // A value the nodes refuse (an address, a password) is on a line too.
        match args.answers.as_deref() {
            Some(path) => crate::answers::in_file(err, path),
            None => err,
        }
    })
}

/// `add-db DB...`: the answers' databases plus these; the engine sees a
/// running cluster and adds them without stopping the others.
pub fn add_db(args: AddDbArgs) -> Result<()> {
    let answers = load_answers(args.answers.as_deref())?;
    if answers.replication.databases.iter().any(|d| d == "*") {
        return Err(Error::Answers {
            key: "replication.databases".into(),
            message: "is [\"*\"] (every database): new databases are already included, run setup"
                .into(),
        });
    }
    let answers = answers.with_databases(&args.databases)?;
    run_unattended(&answers, args.dry_run, args.yes, None, None)
}

pub fn resync(args: ResyncArgs) -> Result<()> {
    use crate::cluster_ops::consistency;
    use crate::operation::apply::{self, Journals};
    let answers = load_answers(args.answers.as_deref())?;
    let mut pair = Pair::connect(&answers, None)?;
    consistency::orient(&mut pair)?;
    let run_id = crate::backup::new_run_id();
    let plan = crate::setup::resync::plan(&mut pair, &args.databases, &run_id)?;
    print!("{}", plan.render());
    if args.dry_run {
        println!("\ndry run: nothing was changed");
        return Ok(());
    }
    if !args.yes && !confirm("\nApply this plan?")? {
        return Err(Error::Aborted("not applied; nothing was changed".into()));
    }
    println!();
    let reporter = LineReporter::new();
    let mut journals = Journals::create(&pair, &run_id)?;
    apply::apply(&mut pair, &plan, &mut journals, &reporter, &mut |_| Ok(())).map_err(|err| {
        Error::StoppedPartWay(format!(
            "{err}\nrun {run_id} stopped part way; its journal on each node ({}) says what was applied; run the same resync again to copy again",
            session::run_dir(&run_id)
        ))
    })?;
    let (databases, copied): (Vec<String>, Vec<String>) = plan
        .steps
        .iter()
        .flat_map(|s| &s.changes)
        .find_map(|c| match c {
            crate::operation::plan::Change::AddDatabases {
                databases, copy, ..
            } => Some((
                databases.clone(),
                if copy.tables.is_empty() {
                    databases.clone()
                } else {
                    copy.tables
                        .iter()
                        .map(|(d, t)| format!("{d}.{t}"))
                        .collect()
                },
            )),
            _ => None,
        })
        .unwrap_or_default();
    println!("\nproving the copy with the consistency check:");
    let report = consistency::check(&mut pair, &databases, 1000, &reporter)?;
    print!("{}", report.render());
    report.ensure_equal()?;
    println!(
        "\ndone: {} copied again into {} and equal to {} (run {run_id})",
        copied.join(", "),
        report.slave,
        report.master
    );
    Ok(())
}

fn run_unattended(
    answers: &ValidAnswers,
    dry_run: bool,
    yes: bool,
    save: Option<(&Path, bool)>,
    profile: Option<&str>,
) -> Result<()> {
    crate::interrupt::install();
    let reporter = LineReporter::new();
    let mut session = SetupSession::connect(answers, profile)?;
    let planned = session.plan(answers)?;
    println!("Preflight:");
    print!("{}", planned.preflight.render());
    println!();
    print!("{}", planned.plan.render());
    if dry_run {
        println!("\ndry run: nothing was changed");
        return Ok(());
    }
    if !yes && !planned.plan.unchanged() && !confirm("\nApply this plan?")? {
        return Err(Error::Aborted("not applied; nothing was changed".into()));
    }
    if let Some((path, include_secrets)) = save {
        answers.save(path, include_secrets)?;
    }
    println!();
    let outcome = session.apply_and_verify(&reporter)?;
    println!("\ndone: {}", outcome.headline());
    Ok(())
}

/// The wizard: answers from the file (if any) pre-fill the questions.
fn wizard(args: &SetupArgs) -> Result<()> {
    let mut answers = match &args.answers {
        Some(path) => read_answers(path)?,
        None => Answers::default(),
    };
    questions::fill_defaults(&mut answers, session::local_address());
    let (frontend, why) = choose::choose(args.ui, &choose::TerminalFacts::read());
    if let Some(why) = why {
        println!("mysql-ha setup: using {why}");
    }
    let options = flow::Options {
        profile: args.profile.as_deref(),
        dry_run: args.dry_run,
        save: args
            .save_answers
            .as_deref()
            .map(|p| (p, args.include_secrets)),
    };
    let outcome = match frontend {
        Frontend::Tui => return full_screen(args, answers),
        Frontend::Prompt => {
            crate::interrupt::install();
            flow::run(&mut PromptAsker, answers, &options)?
        }
        Frontend::Plain => {
            crate::interrupt::install();
            let stdin = std::io::stdin();
            let mut asker = PlainAsker::new(stdin.lock(), std::io::stdout());
            flow::run(&mut asker, answers, &options)?
        }
    };
    if let Some(outcome) = outcome {
        println!("\ndone: {}", outcome.headline());
        println!(
            "backups and run journal: {} on each node; check with `mysql-ha status`",
            outcome.run_dir
        );
    }
    Ok(())
}

fn full_screen(args: &SetupArgs, answers: Answers) -> Result<()> {
    let ending = tui::run(
        answers,
        args.profile.clone(),
        args.dry_run,
        args.save_answers.clone().map(|p| (p, args.include_secrets)),
    )?;
    match ending {
        None => Err(Error::Aborted("quit: nothing was changed".into())),
        Some(Ending::DryRun) => {
            println!("dry run: nothing was changed");
            Ok(())
        }
        Some(Ending::Success(outcome)) => {
            println!("done: {}", outcome.headline());
            println!(
                "backups and run journal: {} on each node; check with `mysql-ha status`",
                outcome.run_dir
            );
            Ok(())
        }
        Some(Ending::Failed(message)) | Some(Ending::Stopped(message)) => {
            Err(Error::StoppedPartWay(message))
        }
    }
}

pub fn setup(args: SetupArgs) -> Result<()> {
    if args.yes || (args.dry_run && args.answers.is_some()) {
        unattended(&args)
    } else {
        wizard(&args)
    }
}

pub fn check(args: CheckArgs) -> Result<()> {
    let answers = load_answers(args.answers.as_deref())?;
    if args.consistency {
        // Comparing the copies needs the two servers only.
        let mut pair = Pair::connect(&answers, args.profile.as_deref())?;
        return consistency(&mut pair, &args);
    }
    let mut pair = Pair::connect(&answers, args.profile.as_deref())?.with_witness()?;
    let report = preflight::run_all(&mut pair)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Internal(format!("writing JSON: {e}")))?
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

fn consistency(pair: &mut Pair, args: &CheckArgs) -> Result<()> {
    // JSON is for scripts: no progress in it.
    let reporter: Box<dyn crate::events::Reporter> = if args.json {
        Box::new(crate::events::Silent)
    } else {
        Box::new(LineReporter::new())
    };
    let report = crate::cluster_ops::consistency::check(
        pair,
        &args.databases,
        args.chunk_rows,
        reporter.as_ref(),
    )?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Internal(format!("writing JSON: {e}")))?
        );
    } else {
        print!("{}", report.render());
    }
    report.ensure_equal()?;
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
    /// The table the stopped SQL thread names in its error, when it does.
    pub stopped_on_table: Option<String>,
    /// The command that mends it (`mysql-ha resync DB.TABLE ...`, or the
    /// SQL that skips a statement no filter could skip).
    pub suggestion: Option<String>,
    /// Both, in one sentence.
    pub advice: Option<String>,
}

fn node_status(member: &mut Member, answers: Option<&Path>) -> Result<NodeStatus> {
    let version = member.sql().flavor().to_string();
    let read_only = member.sql().scalar("SELECT @@GLOBAL.read_only")?.as_deref() == Some("1");
    let replica = server_state::replica_state(member.sql())?;
    let role = match (&replica, member.side) {
        (Some(_), _) => "slave",
        (None, Side::Master) => "master",
        (None, Side::Slave | Side::Slave2 | Side::Witness) => "standalone",
    };
    Ok(match replica {
        Some(r) => {
            let advice = (r.sql_running != "Yes")
                .then(|| {
                    crate::setup::resync::advice(
                        &r.last_sql_error,
                        &r.replicated_databases,
                        answers.map(|p| p.display().to_string()).as_deref(),
                        member.sql().flavor(),
                    )
                })
                .flatten();
            NodeStatus {
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
                replicated_databases: r.replicated_databases,
                read_only,
                stopped_on_table: advice.as_ref().and_then(|a| a.table.clone()),
                suggestion: advice.as_ref().map(|a| a.command.clone()),
                advice: advice.map(|a| a.text),
            }
        }
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
            stopped_on_table: None,
            suggestion: None,
            advice: None,
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
        node_status(&mut pair.master, args.answers.as_deref())?,
        node_status(&mut pair.slave, args.answers.as_deref())?,
    ];
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&nodes)
                .map_err(|e| Error::Internal(format!("writing JSON: {e}")))?
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
        if let Some(advice) = &node.advice {
            println!("{:<16} {advice}", "");
        }
    }
    Ok(())
}
