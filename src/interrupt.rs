//! Ctrl-C (SIGINT) during a run in the line front-ends: the run cannot stop
//! at a safe point from a signal, so the process says which run it stopped
//! and how to finish or undo it, then exits 130 (128 + SIGINT). The TUI reads
//! Ctrl-C as a key and stops at its own safe point instead.

use std::sync::OnceLock;

/// The run the process is applying, once known.
static RUN: OnceLock<String> = OnceLock::new();

/// The lines printed when a run is interrupted.
pub fn message(run_id: &str, run_dir: &str) -> String {
    format!(
        "\nmysql-ha: interrupted: run {run_id} stopped part way; its journal on each node ({run_dir}) says what was applied. Run the same command again to finish it, or `mysql-ha rollback {run_id} --answers FILE` to undo it.\n"
    )
}

/// From now on, SIGINT names this run (the first run of this process).
pub fn arm(run_id: &str, run_dir: &str) {
    let _ = RUN.set(message(run_id, run_dir));
}

/// Installs the handler (line, prompt and unattended front-ends): a thread
/// that waits for SIGINT, says which run it stopped, and exits 130.
pub fn install() {
    use signal_hook::consts::SIGINT;
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            match RUN.get() {
                Some(message) => eprint!("{message}"),
                None => eprintln!("\nmysql-ha: interrupted; no run had started changing the nodes"),
            }
            std::process::exit(130);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interrupt_names_the_run_and_how_to_undo_it() {
        let text = message(
            "20261130-044940-0000",
            "/var/lib/mysql-ha/runs/20261130-044940-0000/",
        );
        assert!(
            text.contains("run 20261130-044940-0000 stopped part way"),
            "{text}"
        );
        assert!(
            text.contains("mysql-ha rollback 20261130-044940-0000"),
            "{text}"
        );
    }
}
