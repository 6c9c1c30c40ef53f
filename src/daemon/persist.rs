//! Makes a node's read-only state survive a restart of its server: the same
//! option-file editor, backups and run journal as setup (a takeover or a
//! step-down is a run of its own under /var/lib/mysql-ha/runs). The edit
//! needs root: a daemon running as the cluster account asks for it through
//! `sudo -n mysql-ha privileged set-read-only on|off` (its allowlist).

use std::time::Duration;

use super::exec::{is_root, run_privileged};
use crate::backup::{self, Journal};
use crate::mycnf::edit::{Editor, FileEdit};
use crate::mycnf::effective::Config;
use crate::node::LocalNode;
use crate::privileged::{set_read_only_argv, PrivilegedCommand};
use crate::profile::Profile;
use crate::{Error, Result};

/// What the privileged helper prints before the run id of a changed file.
pub const RUN_PREFIX: &str = "run ";

/// The comment the edit leaves in the option file.
pub fn reason(on: bool) -> &'static str {
    if on {
        "taken over from: read-only until rejoined"
    } else {
        "master since a takeover"
    }
}

/// Sets read-only in the option files as root, or through the allowlisted
/// helper when this daemon runs as the cluster account.
pub fn persist_read_only(
    profile: &Profile,
    allowlist: &[PrivilegedCommand],
    binary: &str,
    on: bool,
) -> Result<Option<String>> {
    if is_root() {
        return set_read_only(profile, on, reason(on));
    }
    let argv = set_read_only_argv(binary, on);
    let out = run_privileged(allowlist, &argv, Duration::from_secs(30))?;
    if !out.success() {
        return Err(Error::Failed {
            what: format!("`sudo -n {}`", argv.join(" ")),
            status: crate::error::exit_status(out.code),
            detail: crate::error::stderr_detail(&out.stderr),
        });
    }
    Ok(out
        .stdout_text()
        .lines()
        .find_map(|l| l.strip_prefix(RUN_PREFIX))
        .map(|run| run.trim().to_string()))
}

/// Sets `read-only` in the option files; returns the run id when a file
/// changed, None when the value already was right.
pub fn set_read_only(profile: &Profile, on: bool, why: &str) -> Result<Option<String>> {
    let node = LocalNode::new();
    let config = Config::load(&node, profile)?;
    let run_id = backup::new_run_id();
    let Some(edits) = read_only_edits(&config, profile, &run_id, on, why) else {
        return Ok(None);
    };
    let mut journal = Journal::create(&node, &run_id)?;
    backup::apply_file_edits(&node, &mut journal, &edits)?;
    Ok(Some(run_id))
}

/// The edits that make `read-only` say `on` in these option files; None
/// when it already does. Also used by rejoin and switchover on either node.
pub fn read_only_edits(
    config: &Config,
    profile: &Profile,
    run_id: &str,
    on: bool,
    why: &str,
) -> Option<Vec<FileEdit>> {
    if config
        .get("read_only")
        .is_some_and(|entry| entry.bool_value() == Some(on))
    {
        return None;
    }
    let value = if on { "ON" } else { "OFF" };
    let mut editor = Editor::new(config, run_id);
    match config.get("read_only") {
        Some(entry) => {
            let name = entry
                .name
                .negated
                .then(|| entry.name.positive_written().to_string());
            editor.set_value(&entry.file, entry.line, name.as_deref(), value, why);
        }
        None => {
            let mut file = profile.config.settings_file.clone();
            if !config.reads_path(&file) {
                file = config.real_path_of(&profile.config.entry_file);
            }
            editor.add_to_group(
                &file,
                &profile.config.settings_group,
                "read-only",
                value,
                why,
            );
        }
    }
    Some(editor.finish())
}
