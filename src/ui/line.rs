//! Plain line output of engine events, for terminals without a full-screen UI,
//! scripts and logs.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::events::{Event, Reporter};
use crate::setup::plan::human_bytes;

pub struct LineReporter {
    last_progress: Mutex<Option<Instant>>,
}

impl LineReporter {
    pub fn new() -> Self {
        LineReporter {
            last_progress: Mutex::new(None),
        }
    }
}

impl Default for LineReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Reporter for LineReporter {
    fn event(&self, event: Event) {
        let mut out = std::io::stdout().lock();
        let _ = match event {
            Event::StepStarted { step } => writeln!(out, "==> {step}"),
            Event::StepFinished {
                changed, summary, ..
            } => {
                writeln!(
                    out,
                    "    {}: {summary}",
                    if changed { "changed" } else { "unchanged" }
                )
            }
            Event::Note { message } => writeln!(out, "    {message}"),
            Event::Progress {
                bytes,
                total,
                bytes_per_second,
                ..
            } => {
                let Ok(mut last) = self.last_progress.lock() else {
                    return;
                };
                if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                    return;
                }
                *last = Some(Instant::now());
                let eta = total
                    .filter(|t| *t > bytes && bytes_per_second > 0.0)
                    .map(|t| {
                        format!(
                            ", about {:.0} s left",
                            (t - bytes) as f64 / bytes_per_second
                        )
                    })
                    .unwrap_or_default();
                let of = total
                    .map(|t| format!(" of about {}", human_bytes(t)))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "    copied {}{of} ({}/s{eta})",
                    human_bytes(bytes),
                    human_bytes(bytes_per_second as u64)
                )
            }
        };
    }
}
