//! What the engine tells a front-end while it works. Front-ends render these;
//! the engine never prints.

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A step begins.
    StepStarted { step: String },
    /// A step ended; `changed` is false when everything was already in place.
    StepFinished {
        step: String,
        changed: bool,
        summary: String,
    },
    /// Something worth a line (a finding, a wait).
    Note { message: String },
    /// Seeding progress.
    Progress {
        step: String,
        bytes: u64,
        /// Estimate of the whole, when known.
        total: Option<u64>,
        bytes_per_second: f64,
    },
}

pub trait Reporter: Send + Sync {
    fn event(&self, event: Event);

    /// Asked at each safe point (between steps): true when the front-end
    /// wants the run to stop there.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// Drops every event (tests, JSON output).
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _event: Event) {}
}

/// Keeps the steps and notes as lines, as the line front-end prints them
/// (an operation called as a library, its unit tests).
#[derive(Default)]
pub struct Transcript {
    lines: std::sync::Mutex<Vec<String>>,
}

impl Transcript {
    pub fn text(&self) -> String {
        self.lines
            .lock()
            .map(|lines| lines.iter().map(|l| format!("{l}\n")).collect())
            .unwrap_or_default()
    }
}

impl Reporter for Transcript {
    fn event(&self, event: Event) {
        let line = match event {
            Event::StepStarted { step } => format!("==> {step}"),
            Event::StepFinished {
                changed, summary, ..
            } => format!(
                "    {}: {summary}",
                if changed { "changed" } else { "unchanged" }
            ),
            Event::Note { message } => format!("    {message}"),
            Event::Progress { .. } => return,
        };
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(line);
        }
    }
}
