//! Where the daemon's events go: a log file, syslog (through `logger`), the
//! status file's recent list, and the optional notify command, which gets the
//! event in its environment (never on its command line).

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::process::{Command, Stdio};

use super::state::{now, EventRecord, LOG_FILE};

const KEPT: usize = 12;

pub struct EventLog {
    node: String,
    notify: Vec<String>,
    recent: VecDeque<EventRecord>,
    /// Events emitted since the daemon started, by name (for the metrics).
    counts: BTreeMap<String, u64>,
}

impl EventLog {
    pub fn new(node: &str, notify: Vec<String>, earlier: Vec<EventRecord>) -> EventLog {
        let mut recent: VecDeque<EventRecord> = earlier.into_iter().collect();
        while recent.len() > KEPT {
            recent.pop_front();
        }
        EventLog {
            node: node.to_string(),
            notify,
            recent,
            counts: BTreeMap::new(),
        }
    }

    pub fn set_notify(&mut self, notify: Vec<String>) {
        self.notify = notify;
    }

    pub fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    pub fn recent(&self) -> Vec<EventRecord> {
        self.recent.iter().cloned().collect()
    }

    /// Records an event everywhere it goes. Failures to log are reported on
    /// stderr and never stop the daemon.
    pub fn emit(&mut self, term: u64, event: &str, message: &str) {
        let record = EventRecord {
            at: now(),
            node: self.node.clone(),
            term,
            event: event.to_string(),
            message: message.to_string(),
        };
        let line = format!(
            "{} {} term={} {}: {}",
            record.at, record.node, record.term, record.event, record.message
        );
        eprintln!("{line}");
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(LOG_FILE)
        {
            Ok(mut file) => {
                let _ = writeln!(file, "{line}");
            }
            Err(e) => eprintln!("mysql-ha daemon: cannot write {LOG_FILE}: {e}"),
        }
        let _ = Command::new("logger")
            .args(["-t", "mysql-ha", "-p", "daemon.notice", "--"])
            .arg(format!("term={} {event}: {message}", term))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some((program, args)) = self.notify.split_first() {
            let result = Command::new(program)
                .args(args)
                .env("MYSQL_HA_EVENT", event)
                .env("MYSQL_HA_MESSAGE", message)
                .env("MYSQL_HA_NODE", &self.node)
                .env("MYSQL_HA_TERM", term.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            match result {
                // Reaped in the background so a slow notifier never blocks a takeover.
                Ok(mut child) => {
                    std::thread::spawn(move || child.wait());
                }
                Err(e) => eprintln!("mysql-ha daemon: notify command {program}: {e}"),
            }
        }
        *self.counts.entry(event.to_string()).or_default() += 1;
        self.recent.push_back(record);
        while self.recent.len() > KEPT {
            self.recent.pop_front();
        }
    }
}
