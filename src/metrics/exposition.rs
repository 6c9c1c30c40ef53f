//! The Prometheus text exposition format (version 0.0.4): one `# HELP` and
//! one `# TYPE` line per family, then its samples. Names and label names are
//! the caller's constants; label values are escaped here.

use std::fmt::Write;

/// The content type of a page this module writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// A page being written.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

/// The family whose samples are being written.
pub struct Family<'a> {
    page: &'a mut Exposition,
    name: &'static str,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Starts a family. A counter's name ends in `_total` (Prometheus'
    /// convention, and what `promtool check metrics` asks for).
    pub fn family(&mut self, name: &'static str, kind: Kind, help: &str) -> Family<'_> {
        debug_assert!(kind != Kind::Counter || name.ends_with("_total"));
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.name());
        Family { page: self, name }
    }

    pub fn into_text(self) -> String {
        self.text
    }
}

impl Family<'_> {
    /// One sample with these labels (name, value).
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) -> &mut Self {
        let text = &mut self.page.text;
        text.push_str(self.name);
        if !labels.is_empty() {
            text.push('{');
            for (i, (name, value)) in labels.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                let _ = write!(text, "{name}=\"{}\"", escape_label(value));
            }
            text.push('}');
        }
        let _ = writeln!(text, " {}", format_value(value));
        self
    }

    /// A sample without labels.
    pub fn value(&mut self, value: f64) -> &mut Self {
        self.sample(&[], value)
    }

    /// 1 or 0.
    pub fn flag(&mut self, labels: &[(&str, &str)], on: bool) -> &mut Self {
        self.sample(labels, if on { 1.0 } else { 0.0 })
    }
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_escapes_follow_the_text_format() {
        let mut page = Exposition::new();
        page.family("x_up", Kind::Gauge, "Whether it is up.\nSecond line")
            .value(1.0);
        page.family("x_events_total", Kind::Counter, "Events.")
            .sample(&[("event", "a\"b\\c\nd"), ("node", "n1")], 3.0)
            .sample(&[("event", "b")], 0.0);
        page.family("x_lag_seconds", Kind::Gauge, "Lag.")
            .value(0.25)
            .value(f64::NAN)
            .value(f64::INFINITY)
            .value(1.7e15);
        assert_eq!(
            page.into_text(),
            "# HELP x_up Whether it is up.\\nSecond line\n# TYPE x_up gauge\nx_up 1\n\
             # HELP x_events_total Events.\n# TYPE x_events_total counter\n\
             x_events_total{event=\"a\\\"b\\\\c\\nd\",node=\"n1\"} 3\nx_events_total{event=\"b\"} 0\n\
             # HELP x_lag_seconds Lag.\n# TYPE x_lag_seconds gauge\n\
             x_lag_seconds 0.25\nx_lag_seconds NaN\nx_lag_seconds +Inf\nx_lag_seconds 1700000000000000\n"
        );
    }
}
