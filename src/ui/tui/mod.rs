//! The full-screen wizard (ratatui + crossterm). The terminal is put back
//! however the wizard ends: normal exit, error, or panic.

pub mod app;
pub mod view;
pub mod worker;

use std::io::Stdout;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use crossterm::event::{self, Event as TermEvent, KeyEventKind};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::ExecutableCommand;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::answers::Answers;
use crate::{Error, Result};

use app::{App, Ending, Job};

/// Restores the terminal when dropped.
pub(crate) struct Restore;

fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = std::io::stdout().execute(LeaveAlternateScreen);
    let _ = std::io::stdout().execute(crossterm::cursor::Show);
}

impl Drop for Restore {
    fn drop(&mut self) {
        restore_terminal();
    }
}

pub(crate) fn term_error(err: std::io::Error) -> Error {
    Error::io("terminal", err)
}

/// Raw mode and the alternate screen, put back when the guard drops (or on a panic).
pub(crate) fn open() -> Result<(Restore, Terminal<CrosstermBackend<Stdout>>)> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    enable_raw_mode().map_err(term_error)?;
    let guard = Restore;
    std::io::stdout()
        .execute(EnterAlternateScreen)
        .map_err(term_error)?;
    let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout())).map_err(term_error)?;
    Ok((guard, terminal))
}

/// Runs the wizard; returns how it ended (None: the user quit).
/// `save`: where to write the answers (and whether with secrets) once they
/// are complete.
pub fn run(
    answers: Answers,
    profile: Option<String>,
    dry_run: bool,
    save: Option<(PathBuf, bool)>,
) -> Result<Option<Ending>> {
    let (jobs_tx, jobs_rx) = mpsc::channel();
    let (replies_tx, replies_rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let worker_stop = stop.clone();
    std::thread::spawn(move || worker::run(jobs_rx, replies_tx, profile, worker_stop));

    let (guard, mut terminal) = open()?;
    let mut app = App::new(answers, dry_run);
    while !app.quit {
        terminal
            .draw(|frame| view::draw(frame, &app))
            .map_err(term_error)?;
        if event::poll(Duration::from_millis(100)).map_err(term_error)? {
            match event::read().map_err(term_error)? {
                TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
                    for job in app.key(key) {
                        if let (Job::Plan(answers), Some((path, secrets))) = (&job, &save) {
                            match answers.save(path, *secrets) {
                                Ok(()) => {
                                    app.log.push(format!("answers saved to {}", path.display()))
                                }
                                Err(err) => app.log.push(format!("answers not saved: {err}")),
                            }
                        }
                        let _ = jobs_tx.send(job);
                    }
                }
                // ratatui redraws at the new size on the next draw.
                _ => {}
            }
        }
        if app.stop_requested {
            stop.store(true, Ordering::SeqCst);
        }
        while let Ok(reply) = replies_rx.try_recv() {
            app.reply(reply);
        }
    }
    drop(terminal);
    drop(guard);
    Ok(app.ending.clone())
}
