//! The engine on its own thread: jobs in, replies and events out, so the
//! screen never waits on ssh, SQL or a seed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use crate::events::{Event, Reporter};
use crate::setup::session::{run_dir, SetupSession};
use crate::Error;

use super::app::{Job, JobKind, Reply};

/// Sends engine events to the UI thread, and tells the engine when the
/// user asked to stop.
struct ChannelReporter {
    replies: Mutex<Sender<Reply>>,
    stop: Arc<AtomicBool>,
}

impl Reporter for ChannelReporter {
    fn event(&self, event: Event) {
        if let Ok(sender) = self.replies.lock() {
            let _ = sender.send(Reply::Event(event));
        }
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

fn failure(job: JobKind, err: Error) -> Reply {
    let key = match &err {
        Error::Answers { key, .. } => Some(key.clone()),
        _ => None,
    };
    Reply::Failed {
        job,
        message: err.to_string(),
        key,
    }
}

/// Runs jobs until the UI hangs up. `stop` asks to stop at the next safe
/// point (after apply, before verification).
pub fn run(
    jobs: Receiver<Job>,
    replies: Sender<Reply>,
    profile: Option<String>,
    stop: Arc<AtomicBool>,
) {
    let mut session: Option<SetupSession> = None;
    let reporter = ChannelReporter {
        replies: Mutex::new(replies.clone()),
        stop: stop.clone(),
    };
    for job in jobs {
        let reply = match job {
            Job::Connect(answers) => {
                session = None;
                match SetupSession::connect(&answers, profile.as_deref()).and_then(|mut s| {
                    let survey = s.survey()?;
                    Ok((s, survey))
                }) {
                    Ok((s, survey)) => {
                        session = Some(s);
                        Reply::Connected(survey)
                    }
                    Err(err) => failure(JobKind::Connect, err),
                }
            }
            Job::Plan(answers) => match session.as_mut() {
                Some(s) => match s.plan(&answers) {
                    Ok(planned) => Reply::Planned {
                        plan: planned.plan.render(),
                        preflight: planned.preflight.render(),
                    },
                    Err(err) => failure(JobKind::Plan, err),
                },
                None => failure(
                    JobKind::Plan,
                    Error::Internal("planning before the nodes were reached".into()),
                ),
            },
            Job::Apply => match session.as_mut() {
                Some(s) => match s.apply(&reporter) {
                    Ok(applied) if stop.load(Ordering::SeqCst) => {
                        let run_id = applied.plan.run_id.clone();
                        failure(
                            JobKind::Apply,
                            Error::Aborted(format!(
                                "stopped on request after the changes of run {run_id}, before verification; the journal is in {} on each node, `mysql-ha rollback {run_id}` puts files back, and `mysql-ha setup` again finishes the job",
                                run_dir(&run_id)
                            )),
                        )
                    }
                    Ok(applied) => match s.verify(applied, &reporter) {
                        Ok(outcome) => Reply::Finished(outcome),
                        Err(err) => failure(JobKind::Apply, err),
                    },
                    Err(err) => failure(JobKind::Apply, err),
                },
                None => failure(
                    JobKind::Apply,
                    Error::Internal("applying before a plan was made".into()),
                ),
            },
        };
        if replies.send(reply).is_err() {
            return;
        }
    }
}
