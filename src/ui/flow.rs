//! The question-and-answer wizard for the prompt and line front-ends: the
//! same questions, in the same order, as the full-screen UI, then the engine
//! session (connect, plan, apply, verify).

use crate::answers::{generate_password, Answers};
use crate::events::Reporter;
use crate::operation::plan::human_bytes;
use crate::setup::session::{DatabaseInfo, Outcome, SetupSession, Survey};
use crate::{Error, Result};

use super::questions::{self, Group, Question};

/// How a front-end asks; the flow decides what.
pub trait Asker {
    /// A line of information.
    fn say(&mut self, text: &str);
    /// One answer; an empty answer keeps `current`.
    fn ask(&mut self, question: &Question, current: &str) -> Result<String>;
    /// The databases to replicate, from the master's list.
    fn pick_databases(
        &mut self,
        offered: &[DatabaseInfo],
        selected: &[String],
    ) -> Result<Vec<String>>;
    fn confirm(&mut self, question: &str) -> Result<bool>;
    fn reporter(&self) -> Box<dyn Reporter>;
}

pub struct Options<'a> {
    pub profile: Option<&'a str>,
    pub dry_run: bool,
    /// Where to save the answers once they are complete.
    pub save: Option<(&'a std::path::Path, bool)>,
}

/// Asks one question until the answer passes its validator.
fn ask_one(asker: &mut dyn Asker, answers: &mut Answers, question: &Question) -> Result<()> {
    loop {
        let current = questions::current(answers, question.key);
        let answer = asker.ask(question, &current)?;
        let value = if answer.is_empty() { current } else { answer };
        match questions::set(answers, question.key, &value) {
            Ok(()) => return Ok(()),
            Err(err) => asker.say(&format!("  {err}")),
        }
    }
}

fn ask_group(asker: &mut dyn Asker, answers: &mut Answers, group: Group) -> Result<()> {
    asker.say(&format!("-- {}", group.title()));
    let mut index = 0;
    // The list is read again after each answer: some answers change which
    // questions follow (the virtual IP only for a vip cluster address).
    while let Some(question) = questions::of_group(group, answers).get(index).copied() {
        if question.key == "replication.password" && answers.replication.password.is_empty() {
            // Never printed: line mode's output is often captured (logs,
            // scripts). The slave keeps it; nobody needs to type it.
            answers.replication.password = generate_password();
            asker.say(
                "  a strong replication password was generated (never printed; the slave keeps it, and `--save-answers FILE --include-secrets` writes it to FILE); Enter keeps it",
            );
        }
        ask_one(asker, answers, question)?;
        index += 1;
    }
    Ok(())
}

/// Connects with the node answers, asking again for the group an error
/// names (a refused password goes back to the credentials only).
fn connect(
    asker: &mut dyn Asker,
    answers: &mut Answers,
    profile: Option<&str>,
) -> Result<(SetupSession, Survey)> {
    ask_group(asker, answers, Group::Nodes)?;
    ask_group(asker, answers, Group::Credentials)?;
    loop {
        asker.say(&format!(
            "connecting to {} and {} ...",
            answers.master.host, answers.slave.host
        ));
        let attempt = SetupSession::connect(answers, profile).and_then(|mut session| {
            let survey = session.survey()?;
            Ok((session, survey))
        });
        match attempt {
            Ok(done) => return Ok(done),
            Err(Error::Answers { key, message }) => {
                asker.say(&format!("  {key}: {message}"));
                ask_group(asker, answers, Group::of_key(&key))?;
            }
            Err(err) => {
                asker.say(&format!("  {err}"));
                asker
                    .say("  check the addresses and ssh users (ssh keys must let this machine in)");
                ask_group(asker, answers, Group::Nodes)?;
                ask_group(asker, answers, Group::Credentials)?;
            }
        }
    }
}

fn pick_databases(asker: &mut dyn Asker, answers: &mut Answers, survey: &Survey) -> Result<()> {
    asker.say(&format!("-- {}", Group::Databases.title()));
    let offered: Vec<String> = survey.databases.iter().map(|d| d.name.clone()).collect();
    let mut selected = questions::preselected(answers, &offered, &survey.replicated);
    loop {
        let names = asker.pick_databases(&survey.databases, &selected)?;
        let unknown: Vec<&String> = names.iter().filter(|n| !offered.contains(n)).collect();
        if !unknown.is_empty() {
            asker.say(&format!(
                "  replication.databases: not on the master: {}",
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            continue;
        }
        match questions::set_databases(answers, names.clone()) {
            Ok(()) => return Ok(()),
            Err(err) => {
                asker.say(&format!("  {err}"));
                selected = names;
            }
        }
    }
}

pub fn describe(survey: &Survey) -> Vec<String> {
    let mut lines = Vec::new();
    for (role, node) in [("master", &survey.master), ("slave", &survey.slave)] {
        lines.push(format!(
            "{role} {}: {}, {}",
            node.host, node.distribution, node.server
        ));
    }
    lines
}

pub fn database_line(info: &DatabaseInfo) -> String {
    format!("{} ({})", info.name, human_bytes(info.bytes))
}

/// The whole wizard: questions, connection test, plan review, apply.
/// Returns None for a dry run.
pub fn run(
    asker: &mut dyn Asker,
    mut answers: Answers,
    options: &Options,
) -> Result<Option<Outcome>> {
    let (mut session, survey) = connect(asker, &mut answers, options.profile)?;
    for line in describe(&survey) {
        asker.say(&format!("  {line}"));
    }
    ask_group(asker, &mut answers, Group::Replication)?;
    pick_databases(asker, &mut answers, &survey)?;
    ask_group(asker, &mut answers, Group::ClusterAddress)?;
    ask_group(asker, &mut answers, Group::ClusterAccount)?;
    ask_group(asker, &mut answers, Group::Timings)?;
    let answers = answers.into_valid()?;
    if let Some((path, include_secrets)) = options.save {
        answers.save(path, include_secrets)?;
        asker.say(&format!("answers saved to {}", path.display()));
    }
    asker.say("checking both nodes and computing the plan ...");
    let planned = session.plan(&answers)?;
    asker.say("Preflight:");
    asker.say(planned.preflight.render().trim_end());
    asker.say("");
    asker.say(planned.plan.render().trim_end());
    if options.dry_run {
        asker.say("\ndry run: nothing was changed");
        return Ok(None);
    }
    if !planned.plan.unchanged() && !asker.confirm("Apply this plan?")? {
        return Err(Error::Aborted("not applied; nothing was changed".into()));
    }
    let reporter = asker.reporter();
    let outcome = session.apply_and_verify(reporter.as_ref())?;
    Ok(Some(outcome))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_replication_password_is_never_printed_in_line_mode() {
        let input = "\n".repeat(20);
        let mut output = Vec::new();
        let mut answers = Answers::default();
        {
            let mut asker = crate::ui::plain::PlainAsker::new(input.as_bytes(), &mut output);
            ask_group(&mut asker, &mut answers, Group::Replication).unwrap();
        }
        let password = answers.replication.password.clone();
        assert!(password.len() >= 20, "a password was generated");
        let printed = String::from_utf8(output).unwrap();
        assert!(printed.contains("generated"), "{printed}");
        assert!(!printed.contains(&password), "printed: {printed}");
    }
}
