//! The one y/N question every changing command asks before it changes
//! anything (unless --yes).

use crate::{Error, Result};

/// Asks y/N on the terminal; without one, the run stops unchanged.
pub fn confirm(question: &str) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(Error::Aborted(
            "no terminal to confirm the plan on: review it with --dry-run, then run again with --yes".into(),
        ));
    }
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io("stdin", e))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}
