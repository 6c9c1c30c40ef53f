//! The full-screen wizard's state and its answers to keys and engine
//! replies. Pure: no terminal, no thread; the loop in `mod.rs` draws it and
//! carries jobs to the engine worker, so a test can drive it key by key.

use std::collections::BTreeSet;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::answers::{generate_password, Answers, ValidAnswers};
use crate::events::Event;
use crate::setup::session::{Outcome, Survey};
use crate::ui::questions::{self, Group, Kind, Question};

/// Work for the engine, run off the UI thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Connection test and survey with these node answers.
    Connect(Answers),
    /// Preflight and plan with the full answers, checked once here.
    Plan(ValidAnswers),
    /// Apply the last plan and verify.
    Apply,
}

/// What the engine sends back.
#[derive(Debug, Clone)]
pub enum Reply {
    Connected(Survey),
    Planned {
        plan: String,
        preflight: String,
    },
    Event(Event),
    Finished(Outcome),
    /// A job failed; `key` names the answer to correct when it is one.
    Failed {
        job: JobKind,
        message: String,
        key: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Connect,
    Plan,
    Apply,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Questions {
        group: Group,
        field: usize,
    },
    Databases {
        cursor: usize,
    },
    /// Waiting for the engine (connect or plan).
    Working {
        what: String,
    },
    /// The plan, scrolled down `scroll` lines and right `column` columns.
    Review {
        scroll: u16,
        column: u16,
    },
    Applying,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Running,
    Changed,
    Unchanged,
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepLine {
    pub name: String,
    pub state: StepState,
    pub summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gauge {
    pub bytes: u64,
    pub total: Option<u64>,
    pub bytes_per_second: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Retry,
    Back,
    Quit,
    Stop,
    Continue,
}

impl Choice {
    pub fn label(self) -> &'static str {
        match self {
            Choice::Retry => "Retry",
            Choice::Back => "Go back",
            Choice::Quit => "Quit",
            Choice::Stop => "Stop",
            Choice::Continue => "Continue",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub title: String,
    pub message: String,
    pub choices: Vec<Choice>,
    pub cursor: usize,
    /// The job a Retry runs again, and where Back goes.
    pub failed: Option<JobKind>,
    pub back_to: Option<(Group, usize)>,
}

/// How the run ended, for the final screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Success(Outcome),
    DryRun,
    Failed(String),
    Stopped(String),
}

pub struct App {
    pub answers: Answers,
    pub screen: Screen,
    /// The answer being typed on a question screen.
    pub input: String,
    /// Inline validation message under the current field.
    pub message: Option<String>,
    /// Shown once: the replication password the wizard generated.
    pub generated_password: Option<String>,
    pub survey: Option<Survey>,
    pub selected: BTreeSet<String>,
    pub plan: Vec<String>,
    pub steps: Vec<StepLine>,
    pub log: Vec<String>,
    pub gauge: Option<Gauge>,
    pub ending: Option<Ending>,
    pub dialog: Option<Dialog>,
    pub dry_run: bool,
    pub stop_requested: bool,
    pub quit: bool,
}

impl App {
    pub fn new(answers: Answers, dry_run: bool) -> App {
        let mut app = App {
            answers,
            screen: Screen::Questions {
                group: Group::Nodes,
                field: 0,
            },
            input: String::new(),
            message: None,
            generated_password: None,
            survey: None,
            selected: BTreeSet::new(),
            plan: Vec::new(),
            steps: Vec::new(),
            log: Vec::new(),
            gauge: None,
            ending: None,
            dialog: None,
            dry_run,
            stop_requested: false,
            quit: false,
        };
        app.load_field();
        app
    }

    /// The question on screen, if any.
    pub fn question(&self) -> Option<&'static Question> {
        match self.screen {
            Screen::Questions { group, field } => questions::of_group(group, &self.answers)
                .get(field)
                .copied(),
            _ => None,
        }
    }

    /// The group the step list highlights.
    pub fn group(&self) -> Option<Group> {
        match self.screen {
            Screen::Questions { group, .. } => Some(group),
            Screen::Databases { .. } => Some(Group::Databases),
            _ => None,
        }
    }

    fn load_field(&mut self) {
        self.message = None;
        if let Some(q) = self.question() {
            if q.key == "replication.password" && self.answers.replication.password.is_empty() {
                let generated = generate_password();
                self.answers.replication.password = generated.clone();
                self.generated_password = Some(generated);
            }
            self.input = questions::current(&self.answers, q.key);
        }
    }

    fn goto(&mut self, group: Group, field: usize) {
        if group == Group::Databases {
            self.screen = Screen::Databases { cursor: 0 };
            self.message = None;
            return;
        }
        self.screen = Screen::Questions { group, field };
        self.load_field();
    }

    /// Goes to the last field of a group (going back).
    fn goto_end(&mut self, group: Group) {
        let last = questions::of_group(group, &self.answers)
            .len()
            .saturating_sub(1);
        self.goto(group, last);
    }

    fn open_dialog(&mut self, title: &str, message: String, choices: Vec<Choice>) {
        self.dialog = Some(Dialog {
            title: title.into(),
            message,
            choices,
            cursor: 0,
            failed: None,
            back_to: None,
        });
    }

    pub fn key(&mut self, key: KeyEvent) -> Vec<Job> {
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if self.dialog.is_some() {
            return self.dialog_key(key);
        }
        if ctrl_c {
            if self.screen == Screen::Applying {
                if !self.stop_requested {
                    self.open_dialog(
                        "Stop the run?",
                        "The run stops at the next safe point: the step under way finishes, the next one does not start, and the journal says what was applied (`mysql-ha rollback RUN_ID` puts the files back; `mysql-ha setup` again finishes the job).".into(),
                        vec![Choice::Continue, Choice::Stop],
                    );
                }
            } else if self.screen == Screen::Done {
                self.quit = true;
            } else {
                self.open_dialog(
                    "Quit the wizard?",
                    "Nothing has been changed on the nodes yet.".into(),
                    vec![Choice::Continue, Choice::Quit],
                );
            }
            return Vec::new();
        }
        match self.screen.clone() {
            Screen::Questions { group, field } => self.question_key(group, field, key),
            Screen::Databases { cursor } => self.databases_key(cursor, key),
            Screen::Working { .. } | Screen::Applying => Vec::new(),
            Screen::Review { scroll, column } => self.review_key(scroll, column, key),
            Screen::Done => {
                if matches!(key.code, KeyCode::Enter | KeyCode::Esc | KeyCode::Char('q')) {
                    self.quit = true;
                }
                Vec::new()
            }
        }
    }

    fn question_key(&mut self, group: Group, field: usize, key: KeyEvent) -> Vec<Job> {
        let Some(question) = self.question() else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                if let Kind::Choice(_) = question.kind {
                    if c == ' ' {
                        self.cycle_choice(question, 1);
                    }
                } else {
                    self.input.push(c);
                    self.message = None;
                }
            }
            KeyCode::Char('u') => self.input.clear(),
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::Left | KeyCode::Right if matches!(question.kind, Kind::Choice(_)) => {
                self.cycle_choice(question, if key.code == KeyCode::Left { -1 } else { 1 });
            }
            KeyCode::Enter | KeyCode::Tab | KeyCode::Down => {
                let input = self.input.clone();
                if let Err(err) = questions::set(&mut self.answers, question.key, &input) {
                    self.message = Some(err.to_string());
                    return Vec::new();
                }
                return self.advance(group, field);
            }
            KeyCode::Up | KeyCode::BackTab if field > 0 => {
                let input = self.input.clone();
                // Keep a valid answer; an invalid one is dropped.
                let _ = questions::set(&mut self.answers, question.key, &input);
                self.goto(group, field - 1);
            }
            KeyCode::Esc => self.back_from(group),
            _ => {}
        }
        Vec::new()
    }

    fn cycle_choice(&mut self, question: &Question, step: isize) {
        if let Kind::Choice(options) = question.kind {
            let at = options.iter().position(|o| *o == self.input).unwrap_or(0) as isize;
            let n = options.len() as isize;
            let next = (at + step).rem_euclid(n) as usize;
            if let Some(word) = options.get(next) {
                self.input = (*word).to_string();
            }
        }
    }

    fn back_from(&mut self, group: Group) {
        match group.previous() {
            Some(previous) => self.goto_end(previous),
            None => self.open_dialog(
                "Quit the wizard?",
                "Nothing has been changed on the nodes yet.".into(),
                vec![Choice::Continue, Choice::Quit],
            ),
        }
    }

    fn advance(&mut self, group: Group, field: usize) -> Vec<Job> {
        let count = questions::of_group(group, &self.answers).len();
        if field + 1 < count {
            self.goto(group, field + 1);
            return Vec::new();
        }
        match group {
            Group::Credentials => {
                self.screen = Screen::Working {
                    what: format!(
                        "Connecting to {} and {} ...",
                        self.answers.master.host, self.answers.slave.host
                    ),
                };
                vec![Job::Connect(self.answers.clone())]
            }
            Group::Timings => self.request_plan(),
            _ => match group.next() {
                Some(next) => {
                    self.goto(next, 0);
                    Vec::new()
                }
                None => Vec::new(),
            },
        }
    }

    fn request_plan(&mut self) -> Vec<Job> {
        let valid = match self.answers.clone().into_valid() {
            Ok(valid) => valid,
            Err(err) => {
                let key = match &err {
                    crate::Error::Answers { key, .. } => key.clone(),
                    _ => String::new(),
                };
                let group = Group::of_key(&key);
                self.goto(group, 0);
                self.message = Some(err.to_string());
                return Vec::new();
            }
        };
        self.screen = Screen::Working {
            what: "Checking both nodes and computing the plan ...".into(),
        };
        vec![Job::Plan(valid)]
    }

    fn databases_key(&mut self, cursor: usize, key: KeyEvent) -> Vec<Job> {
        let names: Vec<String> = self
            .survey
            .as_ref()
            .map(|s| s.databases.iter().map(|d| d.name.clone()).collect())
            .unwrap_or_default();
        match key.code {
            KeyCode::Up => {
                self.screen = Screen::Databases {
                    cursor: cursor.saturating_sub(1),
                }
            }
            KeyCode::Down => {
                self.screen = Screen::Databases {
                    cursor: (cursor + 1).min(names.len().saturating_sub(1)),
                }
            }
            KeyCode::Char(' ') => {
                if let Some(name) = names.get(cursor) {
                    if !self.selected.remove(name) {
                        self.selected.insert(name.clone());
                    }
                    self.message = None;
                }
            }
            KeyCode::Char('a') => {
                if self.selected.len() == names.len() {
                    self.selected.clear();
                } else {
                    self.selected = names.iter().cloned().collect();
                }
            }
            KeyCode::Enter | KeyCode::Tab => {
                let chosen: Vec<String> = names
                    .iter()
                    .filter(|n| self.selected.contains(*n))
                    .cloned()
                    .collect();
                match questions::set_databases(&mut self.answers, chosen) {
                    Ok(()) => self.goto(Group::ClusterAddress, 0),
                    Err(err) => self.message = Some(err.to_string()),
                }
            }
            KeyCode::Esc => self.goto_end(Group::Replication),
            _ => {}
        }
        Vec::new()
    }

    fn review_key(&mut self, scroll: u16, column: u16, key: KeyEvent) -> Vec<Job> {
        let max = self.plan.len().saturating_sub(1) as u16;
        let set = |s: u16| Screen::Review {
            scroll: s.min(max),
            column,
        };
        match key.code {
            KeyCode::Up => self.screen = set(scroll.saturating_sub(1)),
            KeyCode::Down => self.screen = set(scroll.saturating_add(1)),
            KeyCode::PageUp => self.screen = set(scroll.saturating_sub(10)),
            KeyCode::PageDown | KeyCode::Char(' ') => self.screen = set(scroll.saturating_add(10)),
            KeyCode::Home => self.screen = set(0),
            KeyCode::Left | KeyCode::Right => {
                let column = if key.code == KeyCode::Left {
                    column.saturating_sub(8)
                } else {
                    column.saturating_add(8).min(200)
                };
                self.screen = Screen::Review { scroll, column };
            }
            KeyCode::End => self.screen = set(max),
            KeyCode::Esc => self.goto_end(Group::Timings),
            KeyCode::Enter | KeyCode::Char('a') => {
                if self.dry_run {
                    self.ending = Some(Ending::DryRun);
                    self.screen = Screen::Done;
                    return Vec::new();
                }
                self.screen = Screen::Applying;
                return vec![Job::Apply];
            }
            _ => {}
        }
        Vec::new()
    }

    fn dialog_key(&mut self, key: KeyEvent) -> Vec<Job> {
        let Some(dialog) = self.dialog.as_mut() else {
            return Vec::new();
        };
        let n = dialog.choices.len();
        match key.code {
            KeyCode::Left | KeyCode::BackTab | KeyCode::Up => {
                dialog.cursor = (dialog.cursor + n - 1) % n.max(1)
            }
            KeyCode::Right | KeyCode::Tab | KeyCode::Down => {
                dialog.cursor = (dialog.cursor + 1) % n.max(1)
            }
            KeyCode::Char('r') if dialog.choices.contains(&Choice::Retry) => {
                return self.choose(Choice::Retry)
            }
            KeyCode::Char('b') if dialog.choices.contains(&Choice::Back) => {
                return self.choose(Choice::Back)
            }
            KeyCode::Char('q') if dialog.choices.contains(&Choice::Quit) => {
                return self.choose(Choice::Quit)
            }
            KeyCode::Esc => {
                // Esc is the safe answer: back when there is one, else stay.
                let safe = if dialog.choices.contains(&Choice::Back) {
                    Choice::Back
                } else {
                    Choice::Continue
                };
                return self.choose(safe);
            }
            KeyCode::Enter => {
                let choice = dialog.choices.get(dialog.cursor).copied();
                if let Some(choice) = choice {
                    return self.choose(choice);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn choose(&mut self, choice: Choice) -> Vec<Job> {
        let Some(dialog) = self.dialog.take() else {
            return Vec::new();
        };
        match choice {
            Choice::Continue => Vec::new(),
            Choice::Quit => {
                self.quit = true;
                Vec::new()
            }
            Choice::Stop => {
                self.stop_requested = true;
                self.log
                    .push("stop asked: the run stops at the next safe point".into());
                Vec::new()
            }
            Choice::Back => {
                let (group, field) = dialog.back_to.unwrap_or((Group::Nodes, 0));
                self.goto(group, field);
                // A refused secret is typed again, not edited.
                if self.question().is_some_and(|q| q.kind == Kind::Secret) {
                    self.input.clear();
                }
                Vec::new()
            }
            Choice::Retry => match dialog.failed {
                Some(JobKind::Connect) => {
                    self.screen = Screen::Working {
                        what: "Connecting again ...".into(),
                    };
                    vec![Job::Connect(self.answers.clone())]
                }
                Some(JobKind::Plan) => self.request_plan(),
                _ => Vec::new(),
            },
        }
    }

    pub fn reply(&mut self, reply: Reply) {
        match reply {
            Reply::Connected(survey) => {
                let offered: Vec<String> =
                    survey.databases.iter().map(|d| d.name.clone()).collect();
                self.selected = questions::preselected(&self.answers, &offered, &survey.replicated)
                    .into_iter()
                    .collect();
                self.survey = Some(survey);
                self.goto(Group::Replication, 0);
            }
            Reply::Planned { plan, preflight } => {
                self.plan = preflight
                    .lines()
                    .map(str::to_string)
                    .chain(std::iter::once(String::new()))
                    .chain(plan.lines().map(str::to_string))
                    .collect();
                self.screen = Screen::Review {
                    scroll: 0,
                    column: 0,
                };
            }
            Reply::Event(event) => self.event(event),
            Reply::Finished(outcome) => {
                self.ending = Some(Ending::Success(outcome));
                self.screen = Screen::Done;
            }
            Reply::Failed { job, message, key } => self.failed(job, message, key),
        }
    }

    fn failed(&mut self, job: JobKind, message: String, key: Option<String>) {
        match job {
            JobKind::Apply => {
                if let Some(step) = self.steps.last_mut() {
                    if step.state == StepState::Running {
                        step.state = StepState::Failed;
                    }
                }
                self.log.push(format!("error: {message}"));
                self.ending = Some(if self.stop_requested {
                    Ending::Stopped(message)
                } else {
                    Ending::Failed(message)
                });
                self.screen = Screen::Done;
            }
            JobKind::Connect | JobKind::Plan => {
                let back_to = match key.as_deref() {
                    Some(key) => {
                        let group = Group::of_key(key);
                        let field = questions::of_group(group, &self.answers)
                            .iter()
                            .position(|q| q.key == key)
                            .unwrap_or(0);
                        (group, field)
                    }
                    None if job == JobKind::Connect => (Group::Nodes, 0),
                    None => (Group::Timings, 0),
                };
                let what_to_do = match key.as_deref() {
                    Some(key) => format!("Go back corrects `{key}`; Retry tries again as is."),
                    None => {
                        "Retry when the cause is fixed, or go back and change the answers.".into()
                    }
                };
                let title = if job == JobKind::Connect {
                    "Connection failed"
                } else {
                    "Preflight or plan failed"
                };
                self.dialog = Some(Dialog {
                    title: title.into(),
                    message: format!("{message}\n\n{what_to_do}"),
                    choices: vec![Choice::Back, Choice::Retry, Choice::Quit],
                    cursor: 0,
                    failed: Some(job),
                    back_to: Some(back_to),
                });
                self.screen = if job == JobKind::Connect {
                    Screen::Questions {
                        group: back_to.0,
                        field: back_to.1,
                    }
                } else {
                    Screen::Questions {
                        group: Group::Timings,
                        field: 0,
                    }
                };
                self.load_field();
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::StepStarted { step } => {
                self.log.push(format!("==> {step}"));
                self.steps.push(StepLine {
                    name: step,
                    state: StepState::Running,
                    summary: String::new(),
                });
            }
            Event::StepFinished {
                step,
                changed,
                summary,
            } => {
                self.log.push(format!("    {summary}"));
                let line = self
                    .steps
                    .iter_mut()
                    .rev()
                    .find(|s| s.name == step && s.state == StepState::Running);
                if let Some(line) = line {
                    line.state = if changed {
                        StepState::Changed
                    } else {
                        StepState::Unchanged
                    };
                    line.summary = summary;
                }
                self.gauge = None;
            }
            Event::Note { message } => self.log.push(format!("    {message}")),
            Event::Progress {
                bytes,
                total,
                bytes_per_second,
                ..
            } => {
                self.gauge = Some(Gauge {
                    bytes,
                    total,
                    bytes_per_second,
                })
            }
        }
    }
}
