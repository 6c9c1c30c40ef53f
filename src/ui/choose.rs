//! Which front-end runs: the full-screen UI, plain prompts, or line mode.

use crate::cli::UiChoice;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frontend {
    Tui,
    Prompt,
    Plain,
}

/// What the choice depends on, read once from the process's terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalFacts {
    pub stdin_tty: bool,
    pub stdout_tty: bool,
    pub term: Option<String>,
    /// Columns and rows, when the size can be read.
    pub size: Option<(u16, u16)>,
}

impl TerminalFacts {
    pub fn read() -> TerminalFacts {
        use std::io::IsTerminal;
        let stdout_tty = std::io::stdout().is_terminal();
        TerminalFacts {
            stdin_tty: std::io::stdin().is_terminal(),
            stdout_tty,
            term: std::env::var("TERM").ok(),
            size: if stdout_tty {
                crossterm::terminal::size().ok()
            } else {
                None
            },
        }
    }
}

pub const MIN_COLUMNS: u16 = 80;
pub const MIN_ROWS: u16 = 24;

/// The front-end, and why when it is not the full-screen one.
pub fn choose(choice: UiChoice, facts: &TerminalFacts) -> (Frontend, Option<String>) {
    match choice {
        UiChoice::Tui => (Frontend::Tui, None),
        UiChoice::Prompt => (Frontend::Prompt, Some("prompts (--ui prompt)".into())),
        UiChoice::Plain => (Frontend::Plain, Some("line mode (--ui plain)".into())),
        UiChoice::Auto => {
            let why_not_tui = if !facts.stdin_tty {
                Some("stdin is not a terminal".to_string())
            } else if !facts.stdout_tty {
                Some("stdout is not a terminal".to_string())
            } else if facts
                .term
                .as_deref()
                .is_none_or(|t| t.is_empty() || t == "dumb")
            {
                Some(format!(
                    "TERM is {}",
                    facts
                        .term
                        .as_deref()
                        .filter(|t| !t.is_empty())
                        .unwrap_or("unset")
                ))
            } else {
                match facts.size {
                    Some((c, r)) if c >= MIN_COLUMNS && r >= MIN_ROWS => None,
                    Some((c, r)) => Some(format!(
                        "the terminal is {c}x{r}, smaller than {MIN_COLUMNS}x{MIN_ROWS}"
                    )),
                    None => Some("the terminal size is unknown".into()),
                }
            };
            match why_not_tui {
                None => (Frontend::Tui, None),
                Some(why) if facts.stdin_tty => (Frontend::Prompt, Some(format!("prompts: {why}"))),
                Some(why) => (Frontend::Plain, Some(format!("line mode: {why}"))),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn facts(
        stdin: bool,
        stdout: bool,
        term: Option<&str>,
        size: Option<(u16, u16)>,
    ) -> TerminalFacts {
        TerminalFacts {
            stdin_tty: stdin,
            stdout_tty: stdout,
            term: term.map(str::to_string),
            size,
        }
    }

    #[test]
    fn auto_picks_the_full_screen_only_on_a_real_terminal() {
        let pick = |f: TerminalFacts| choose(UiChoice::Auto, &f);
        assert_eq!(
            pick(facts(true, true, Some("xterm"), Some((80, 24)))),
            (Frontend::Tui, None)
        );
        let (frontend, why) = pick(facts(true, true, Some("dumb"), Some((80, 24))));
        assert_eq!(frontend, Frontend::Prompt);
        assert_eq!(why.as_deref(), Some("prompts: TERM is dumb"));
        let (frontend, why) = pick(facts(true, true, Some("xterm"), Some((79, 24))));
        assert_eq!(frontend, Frontend::Prompt);
        assert!(why.unwrap().contains("79x24"));
        assert_eq!(
            pick(facts(true, false, Some("xterm"), None)).0,
            Frontend::Prompt
        );
        let (frontend, why) = pick(facts(false, true, Some("xterm"), Some((200, 60))));
        assert_eq!(frontend, Frontend::Plain);
        assert_eq!(why.as_deref(), Some("line mode: stdin is not a terminal"));
        assert_eq!(
            pick(facts(true, true, None, Some((80, 24)))).0,
            Frontend::Prompt
        );
    }

    #[test]
    fn a_forced_choice_wins() {
        let pipe = facts(false, false, None, None);
        assert_eq!(choose(UiChoice::Tui, &pipe).0, Frontend::Tui);
        assert_eq!(choose(UiChoice::Prompt, &pipe).0, Frontend::Prompt);
        assert_eq!(
            choose(
                UiChoice::Plain,
                &facts(true, true, Some("xterm"), Some((80, 24)))
            )
            .0,
            Frontend::Plain
        );
    }
}
