//! Line mode: one question per line on stdout, one answer per line from
//! stdin. For scripts, `expect` and consoles without a terminal. Secrets are
//! read the same way (there is no terminal to hide them on).

use std::io::{BufRead, Write};

use crate::events::Reporter;
use crate::setup::session::DatabaseInfo;
use crate::{Error, Result};

use super::flow::{database_line, Asker};
use super::line::LineReporter;
use super::questions::{Kind, Question};

pub struct PlainAsker<R, W> {
    input: R,
    output: W,
}

impl<R: BufRead, W: Write> PlainAsker<R, W> {
    pub fn new(input: R, output: W) -> Self {
        PlainAsker { input, output }
    }

    fn read_line(&mut self, key: &str) -> Result<String> {
        let _ = self.output.flush();
        let mut line = String::new();
        let read = self
            .input
            .read_line(&mut line)
            .map_err(|e| Error::io("stdin", e))?;
        if read == 0 {
            return Err(Error::Answers {
                key: key.to_string(),
                message: "no answer: stdin ended (line mode reads one answer per line)".into(),
            });
        }
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}

impl<R: BufRead, W: Write> Asker for PlainAsker<R, W> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.output, "{text}");
    }

    fn ask(&mut self, question: &Question, current: &str) -> Result<String> {
        let shown = match question.kind {
            Kind::Secret if current.is_empty() => "[empty]".to_string(),
            Kind::Secret => "[keep]".to_string(),
            Kind::Choice(options) => format!("({}) [{current}]", options.join("/")),
            _ => format!("[{current}]"),
        };
        let _ = write!(
            self.output,
            "{}: {} {shown}: ",
            question.key, question.label
        );
        self.read_line(question.key)
    }

    fn pick_databases(
        &mut self,
        offered: &[DatabaseInfo],
        selected: &[String],
    ) -> Result<Vec<String>> {
        for (i, info) in offered.iter().enumerate() {
            let mark = if selected.contains(&info.name) {
                "x"
            } else {
                " "
            };
            let _ = writeln!(self.output, "  [{mark}] {}. {}", i + 1, database_line(info));
        }
        let _ = write!(
            self.output,
            "replication.databases: Databases to replicate, names or numbers separated by commas [{}]: ",
            selected.join(",")
        );
        let line = self.read_line("replication.databases")?;
        if line.trim().is_empty() {
            return Ok(selected.to_vec());
        }
        Ok(line
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|word| match word.parse::<usize>() {
                Ok(n) if n >= 1 && n <= offered.len() => offered[n - 1].name.clone(),
                _ => word.to_string(),
            })
            .collect())
    }

    fn confirm(&mut self, question: &str) -> Result<bool> {
        let _ = write!(self.output, "confirm: {question} [y/N]: ");
        let line = self.read_line("confirm")?;
        Ok(matches!(line.trim(), "y" | "Y" | "yes"))
    }

    fn reporter(&self) -> Box<dyn Reporter> {
        Box::new(LineReporter::new())
    }
}
