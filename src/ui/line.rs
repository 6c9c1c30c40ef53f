//! Line output of engine events, for the prompt and line front-ends,
//! scripts and logs. Progress (bytes, rate, time left) is a progress bar
//! (indicatif) when stdout is a terminal; otherwise no bar: one plain line
//! every LOG_EVERY, so a log of a long copy shows it moving without
//! filling up with a line per second.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::events::{Event, Reporter};
use crate::operation::plan::human_bytes;

/// Between two plain progress lines when stdout is not a terminal.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

enum Output {
    /// A terminal: the bar of the step in progress, if any.
    Terminal(Option<ProgressBar>),
    /// Not a terminal: when the last plain progress line was written.
    Log(Option<Instant>),
}

pub struct LineReporter {
    output: Mutex<Output>,
}

impl LineReporter {
    /// Bars when stdout is a terminal, plain lines otherwise.
    pub fn new() -> Self {
        Self::with_terminal(std::io::stdout().is_terminal())
    }

    pub fn with_terminal(terminal: bool) -> Self {
        LineReporter {
            output: Mutex::new(if terminal {
                Output::Terminal(None)
            } else {
                Output::Log(None)
            }),
        }
    }
}

impl Default for LineReporter {
    fn default() -> Self {
        Self::new()
    }
}

/// "copied 12 MB of about 200 MB (80 MB/s, about 2 s left)"
pub fn progress_line(bytes: u64, total: Option<u64>, bytes_per_second: f64) -> String {
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
    format!(
        "{}{of} ({}/s{eta})",
        human_bytes(bytes),
        human_bytes(bytes_per_second as u64)
    )
}

fn new_bar(step: &str, total: Option<u64>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stdout());
    let template = if total.is_some() {
        "    {prefix} [{bar:30}] {bytes} of about {total_bytes} ({bytes_per_sec}, about {eta} left)"
    } else {
        "    {prefix} {bytes} ({bytes_per_sec})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(step.to_string());
    bar
}

impl Reporter for LineReporter {
    fn event(&self, event: Event) {
        let Ok(mut output) = self.output.lock() else {
            return;
        };
        let line = match event {
            Event::StepStarted { step } => format!("==> {step}"),
            Event::StepFinished {
                changed, summary, ..
            } => {
                if let Output::Terminal(bar) = &mut *output {
                    if let Some(bar) = bar.take() {
                        bar.finish_and_clear();
                    }
                }
                format!(
                    "    {}: {summary}",
                    if changed { "changed" } else { "unchanged" }
                )
            }
            Event::Note { message } => format!("    {message}"),
            Event::Progress {
                step,
                bytes,
                total,
                bytes_per_second,
            } => {
                match &mut *output {
                    Output::Terminal(bar) => {
                        let bar = bar.get_or_insert_with(|| new_bar(&step, total));
                        if let Some(total) = total {
                            // The estimate grows when the copy outruns it.
                            bar.set_length(total.max(bytes));
                        }
                        bar.set_position(bytes);
                    }
                    Output::Log(last) => {
                        if last.is_some_and(|t| t.elapsed() < LOG_EVERY) {
                            return;
                        }
                        *last = Some(Instant::now());
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(
                            out,
                            "    {step}: {}",
                            progress_line(bytes, total, bytes_per_second)
                        );
                    }
                }
                return;
            }
        };
        match &*output {
            // A line while a bar is drawn goes above it.
            Output::Terminal(Some(bar)) => bar.println(line),
            _ => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_says_bytes_rate_and_time_left() {
        assert_eq!(
            progress_line(50 << 20, Some(200 << 20), 25.0 * (1 << 20) as f64),
            "50.0 MB of about 200.0 MB (25.0 MB/s, about 6 s left)"
        );
        assert_eq!(progress_line(10, None, 5.0), "10 B (5 B/s)");
    }

    #[test]
    fn without_a_terminal_progress_is_a_plain_line_at_most_every_ten_seconds() {
        let reporter = LineReporter::with_terminal(false);
        let progress = |bytes| Event::Progress {
            step: "copy".into(),
            bytes,
            total: Some(100),
            bytes_per_second: 10.0,
        };
        reporter.event(progress(1));
        let first = match &*reporter.output.lock().unwrap() {
            Output::Log(Some(at)) => *at,
            _ => panic!("no line written"),
        };
        reporter.event(progress(2));
        let second = match &*reporter.output.lock().unwrap() {
            Output::Log(Some(at)) => *at,
            _ => panic!("the line is forgotten"),
        };
        assert_eq!(second, first, "a second line within 10 s");
    }
}
