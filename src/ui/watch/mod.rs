//! `mysql-ha status --watch`: the pair on one full screen, refreshed every
//! second from both daemons' status (this node's file, the peer's over
//! ssh, read on a thread of its own so keys stay responsive), with the
//! slave's lag over the last minutes, the events as they come, and keys
//! for the safe operations: pause, resume, ack on this node, and a
//! switchover behind a confirmation. Plain `status` and `--json` are unchanged.

pub mod model;
pub mod view;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use crossterm::event::{self, Event as TermEvent, KeyEventKind};

use crate::commands::daemon::{
    acknowledge_takeover, pause_node, peer_status, resource_text, resume_node,
};
use crate::daemon::config::ClusterConfig;
use crate::daemon::peer::Peer;
use crate::daemon::state::{now, read_json, status_path, DaemonStatus};
use crate::ui::tui::{open, term_error};
use crate::{Error, Result};

use model::{Action, PairView, Watch};

const REFRESH: Duration = Duration::from_secs(1);

/// One look at both daemons.
fn look(config: &ClusterConfig, peer: &Peer) -> PairView {
    let local = read_json::<DaemonStatus>(&status_path()).ok().flatten();
    let remote = peer_status(peer);
    PairView {
        at: now(),
        this_node: config.node.address.clone(),
        peer_node: config.node.peer.clone(),
        resource: resource_text(config),
        local,
        remote,
    }
}

/// Runs until `q`; `answers`: the file a switchover from the screen uses.
pub fn run(config_path: &Path, answers: Option<&Path>) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "status --watch needs a terminal; use `mysql-ha status` (or --json) in scripts".into(),
        ));
    }
    let config = ClusterConfig::load(config_path)?;
    let (views_tx, views_rx) = mpsc::channel();
    let source_config = config.clone();
    std::thread::spawn(move || {
        let peer = Peer::new(&source_config);
        loop {
            if views_tx.send(look(&source_config, &peer)).is_err() {
                return;
            }
            std::thread::sleep(REFRESH);
        }
    });
    let mut watch = Watch::new(answers.map(|p| p.display().to_string()));
    let (mut guard, mut terminal) = open()?;
    loop {
        while let Ok(view) = views_rx.try_recv() {
            watch.update(view);
        }
        terminal
            .draw(|frame| view::draw(frame, &watch))
            .map_err(term_error)?;
        if !event::poll(Duration::from_millis(200)).map_err(term_error)? {
            continue;
        }
        let TermEvent::Key(key) = event::read().map_err(term_error)? else {
            continue;
        };
        if key.kind == KeyEventKind::Release {
            continue;
        }
        let outcome = match watch.key(key) {
            None => continue,
            Some(Action::Quit) => break,
            Some(Action::Pause) => pause_node(),
            Some(Action::Resume) => resume_node(),
            Some(Action::Ack) => acknowledge_takeover(),
            Some(Action::Switchover) => {
                // The switchover prints its plan and progress as it goes:
                // on the normal screen, then back to the watch.
                drop(terminal);
                drop(guard);
                let result = switchover(watch.answers.as_deref().unwrap_or_default());
                (guard, terminal) = open()?;
                result
            }
        };
        watch.note = match outcome {
            Ok(message) => message,
            Err(err) => format!("error: {err}"),
        };
    }
    drop(terminal);
    drop(guard);
    Ok(())
}

/// `mysql-ha switchover --answers FILE --yes`, confirmed on the watch screen.
fn switchover(answers: &str) -> Result<String> {
    let exe = std::env::current_exe().map_err(|e| Error::io("/proc/self/exe", e))?;
    println!("mysql-ha switchover --answers {answers} --yes");
    let status = std::process::Command::new(exe)
        .args(["switchover", "--answers", answers, "--yes"])
        .status()
        .map_err(|e| Error::io("mysql-ha switchover", e))?;
    println!("\n(press Enter to return to the watch)");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    Ok(if status.success() {
        "switchover done".into()
    } else {
        format!("switchover failed ({status}): see its output above the watch")
    })
}
