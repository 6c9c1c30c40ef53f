//! Reference material generated from the command-line definitions
//! (src/cli.rs), never written by hand: shell completions and man pages.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::cli::Cli;
use crate::{Error, Result};

/// `mysql-ha completions SHELL`: the completion script on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    use std::io::Write;
    std::io::stdout()
        .write_all(completion_script(shell).as_bytes())
        .map_err(|e| Error::io("stdout", e))
}

pub fn completion_script(shell: clap_complete::Shell) -> String {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "mysql-ha", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        // clap_complete's bash script spells a hyphenated program's state
        // two ways (`mysql__ha__subcmd__setup` in its loop,
        // `mysql__subcmd__ha__subcmd__setup` in its case arms), so nothing
        // past the subcommand completes (clap-rs/clap#6421, open): the arms
        // are spelled as the loop spells them.
        clap_complete::Shell::Bash => script.replace("mysql__subcmd__ha", "mysql__ha"),
        _ => script,
    }
}

/// `mysql-ha manpages DIR`: writes the pages and names each one.
pub fn man_pages(dir: &Path) -> Result<()> {
    for page in write_man_pages(dir)? {
        println!("{}", page.display());
    }
    Ok(())
}

/// Writes mysql-ha.1 and one page per visible subcommand, nested ones
/// included (mysql-ha-setup.1, mysql-ha-sandbox-up.1, ...), into `dir`.
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut command = Cli::command().disable_help_subcommand(true);
    // Built first so that subcommands carry their full names (mysql-ha-setup).
    command.build();
    let mut written = Vec::new();
    write_page(command, dir, &mut written)?;
    written.sort();
    Ok(written)
}

fn write_page(command: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_page(sub.clone(), dir, written)?;
    }
    let path = clap_mangen::Man::new(command)
        .generate_to(dir)
        .map_err(|e| Error::io(dir, e))?;
    written.push(path);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_visible_subcommand_and_none_for_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        let pages = write_man_pages(dir.path()).unwrap();
        let names: Vec<String> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for name in [
            "mysql-ha.1",
            "mysql-ha-setup.1",
            "mysql-ha-status.1",
            "mysql-ha-completions.1",
            "mysql-ha-sandbox-up.1",
            "mysql-ha-mycnf-edit.1",
        ] {
            assert!(names.contains(&name.to_string()), "{name} in {names:?}");
        }
        for hidden in [
            "privileged",
            "cluster-agent",
            "manpages",
            "node-init",
            "help",
        ] {
            assert!(
                !names.iter().any(|n| n.contains(hidden)),
                "{hidden} in {names:?}"
            );
        }
        let setup = std::fs::read_to_string(dir.path().join("mysql-ha-setup.1")).unwrap();
        assert!(setup.starts_with(".ie \\n(.g .ds Aq"), "{setup}");
        assert!(setup.contains("mysql\\-ha\\-setup"), "{setup}");
        assert!(setup.contains("\\-\\-answers"), "{setup}");
    }
}
