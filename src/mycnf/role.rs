//! The settings a master or a slave needs, turned into edits of the
//! effective configuration. A setting already right is left alone and
//! reported as unchanged; a setting defined somewhere is changed on the line
//! that defines it (so `my_print_defaults` shows one value); a setting
//! defined nowhere is added where the profile says.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::mycnf::edit::{Editor, FileEdit};
use crate::mycnf::effective::{Config, OptionEntry};
use crate::mycnf::filters;
use crate::mycnf::names::key_of;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerRole {
    Master,
    Slave,
}

/// What the node should become.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSettings {
    pub role: ServerRole,
    /// 1 to 4294967295, different on each node.
    pub server_id: u32,
    /// Databases the slave replicates (one `replicate-wild-do-table = DB.%` each).
    pub databases: Vec<String>,
    /// Address the master listens on; None: any address (0.0.0.0) when the
    /// current one is loopback only.
    pub bind_address: Option<String>,
    /// Named in the marker comment of every changed line.
    pub run_id: String,
    /// The server's TLS files; None leaves its TLS settings as they are.
    #[serde(default)]
    pub tls: Option<ServerTls>,
}

/// `ssl-ca`, `ssl-cert`, `ssl-key` of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTls {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeStatus {
    Changed,
    Unchanged,
    /// Not applicable to this server; the reason says why.
    Skipped(String),
}

/// One setting of the plan, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingChange {
    pub option: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub status: ChangeStatus,
    /// `file:line` where the value is (or was) defined.
    pub location: Option<String>,
}

/// The my.cnf part of a plan: file edits and the settings they make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MycnfPlan {
    pub node: String,
    pub run_id: String,
    pub file_edits: Vec<FileEdit>,
    pub changes: Vec<SettingChange>,
}

impl MycnfPlan {
    /// True when nothing needs to change.
    pub fn is_unchanged(&self) -> bool {
        self.file_edits.is_empty()
    }

    /// Unified diff of every file edit.
    pub fn render_diff(&self) -> String {
        self.file_edits
            .iter()
            .map(FileEdit::render_diff)
            .collect::<Vec<_>>()
            .join("")
    }

    /// One line per setting: option, old -> new, status, where.
    pub fn render_changes(&self) -> String {
        let mut out = String::new();
        for change in &self.changes {
            let old = change.old.as_deref().unwrap_or("(not set)");
            let new = change.new.as_deref().unwrap_or("(removed)");
            let status = match &change.status {
                ChangeStatus::Changed => format!("changed: {old} -> {new}"),
                ChangeStatus::Unchanged => format!("unchanged: {old}"),
                ChangeStatus::Skipped(reason) => format!("skipped: {reason}"),
            };
            let at = change
                .location
                .as_deref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            let _ = writeln!(out, "{:<20} {status}{at}", change.option);
        }
        out
    }
}

/// Checks that a database name can be written as a replication filter line
/// and read back by the server as the same name.
pub fn check_database_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::BadDatabaseName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.chars().count() > 64 {
        return bad("it is longer than 64 characters");
    }
    if name.chars().any(|c| c.is_control()) {
        return bad("it holds a newline or another control character, which ends an option line");
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return bad("it starts or ends with a space, which the server trims");
    }
    if name.contains(',') {
        return bad("it holds a comma, which the server's filter lists split on");
    }
    if name == "*" {
        return bad("`*` must be expanded into the list of databases first");
    }
    Ok(())
}

fn is_loopback(address: &str) -> bool {
    address.split(',').all(|part| {
        let part = part.trim();
        part.starts_with("127.") || part == "::1" || part.eq_ignore_ascii_case("localhost")
    })
}

fn is_wildcard(address: &str) -> bool {
    matches!(address.trim(), "0.0.0.0" | "*" | "::")
}

struct Planner<'a> {
    config: &'a Config,
    editor: Editor<'a>,
    changes: Vec<SettingChange>,
    settings_file: PathBuf,
    settings_group: String,
}

impl<'a> Planner<'a> {
    fn unchanged(&mut self, option: &str, entry: Option<&OptionEntry>) {
        self.changes.push(SettingChange {
            option: option.to_string(),
            old: entry.map(OptionEntry::display_value),
            new: entry.map(OptionEntry::display_value),
            status: ChangeStatus::Unchanged,
            location: entry.map(OptionEntry::location),
        });
    }

    /// Makes the single-valued option `option` equal `value`, unless `right`
    /// says the current value already is.
    fn set(&mut self, option: &str, value: &str, right: impl Fn(&OptionEntry) -> bool) {
        let key = key_of(option);
        let current = self.config.get(&key).cloned();
        match current {
            Some(entry) if right(&entry) => self.unchanged(option, Some(&entry)),
            Some(entry) => {
                let old = entry.display_value();
                let name = entry
                    .name
                    .negated
                    .then(|| entry.name.positive_written().to_string());
                self.editor.set_value(
                    &entry.file,
                    entry.line,
                    name.as_deref(),
                    value,
                    &format!("was {}", entry.name.written.clone() + &value_suffix(&entry)),
                );
                self.changes.push(SettingChange {
                    option: option.to_string(),
                    old: Some(old),
                    new: Some(value.to_string()),
                    status: ChangeStatus::Changed,
                    location: Some(entry.location()),
                });
            }
            None => self.add(option, value),
        }
    }

    fn add(&mut self, option: &str, value: &str) {
        self.editor.add_to_group(
            &self.settings_file,
            &self.settings_group,
            option,
            value,
            "added for replication",
        );
        self.changes.push(SettingChange {
            option: option.to_string(),
            old: None,
            new: Some(value.to_string()),
            status: ChangeStatus::Changed,
            location: Some(self.settings_file.display().to_string()),
        });
    }

    fn set_bool(&mut self, option: &str, on: bool) {
        let value = if on { "ON" } else { "OFF" };
        self.set(option, value, |entry| entry.bool_value() == Some(on));
    }
}

fn value_suffix(entry: &OptionEntry) -> String {
    match &entry.value {
        Some(value) => format!(" = {value}"),
        None => String::new(),
    }
}

/// Computes the edits that give the node `settings`, from its effective configuration.
pub fn plan_edits(config: &Config, settings: &RoleSettings) -> Result<MycnfPlan> {
    if settings.server_id == 0 {
        return Err(Error::BadSetting {
            key: "server-id".into(),
            reason: "0 disables replication; use 1 to 4294967295, different on each node".into(),
        });
    }
    let profile = &config.profile;
    let mut settings_file = profile.config.settings_file.clone();
    if !config.reads_path(&settings_file) {
        // The drop-in folder is not included (any more): add to the main file.
        settings_file = config.real_path_of(&profile.config.entry_file);
    }
    let mut planner = Planner {
        config,
        editor: Editor::new(config, &settings.run_id),
        changes: Vec::new(),
        settings_file,
        settings_group: profile.config.settings_group.clone(),
    };

    let server_id = settings.server_id.to_string();
    planner.set("server-id", &server_id, |entry| {
        entry
            .value
            .as_deref()
            .and_then(|v| v.trim().parse::<u64>().ok())
            == Some(u64::from(settings.server_id))
    });

    match settings.role {
        ServerRole::Master => {
            plan_master(&mut planner, settings)?;
            // Every node boots read-only: only the cluster daemon, while a
            // majority backs it, makes the master writable (so a crashed
            // master that boots again never takes writes on its own).
            planner.set_bool("read-only", true);
        }
        ServerRole::Slave => plan_slave(&mut planner, settings)?,
    }

    Ok(MycnfPlan {
        node: config.node.clone(),
        run_id: settings.run_id.clone(),
        file_edits: planner.editor.finish(),
        changes: planner.changes,
    })
}

fn plan_master(planner: &mut Planner<'_>, settings: &RoleSettings) -> Result<()> {
    let config = planner.config;
    let profile = &config.profile;

    // A binary log with a fixed basename (the default one follows the host name).
    let log_bin = profile.replication.log_bin.clone();
    planner.set("log-bin", &log_bin, |entry| {
        !entry.name.negated
            && entry.value.as_deref().is_some_and(|v| {
                !v.trim().is_empty() && crate::mycnf::names::parse_bool(v).is_none()
            })
    });

    if profile.has_binlog_format() {
        planner.set("binlog-format", "ROW", |entry| {
            entry
                .value
                .as_deref()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("row"))
        });
    } else {
        planner.changes.push(SettingChange {
            option: "binlog-format".into(),
            old: None,
            new: None,
            status: ChangeStatus::Skipped(format!(
                "{} {} has no binlog_format (statement-based only): \
                 the slave's table filters judge each statement by the tables it writes",
                match profile.flavor {
                    crate::sql::Family::MySql => "MySQL",
                    crate::sql::Family::MariaDb => "MariaDB",
                },
                profile.server_version
            )),
            location: None,
        });
    }

    // MySQL replicas follow their source by GTID auto-positioning (a
    // takeover and a rejoin need no file positions). The restart that
    // follows these edits turns them on; the slave is seeded afterwards
    // from a snapshot, so no transaction without a GTID is ever replicated.
    if profile.flavor == crate::sql::Family::MySql && profile.version_at_least(5, 6) {
        planner.set("gtid-mode", "ON", |entry| {
            entry
                .value
                .as_deref()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("on"))
        });
        planner.set_bool("enforce-gtid-consistency", true);
    }

    // Listen where the slave can reach the server.
    let wanted = settings.bind_address.clone();
    if let Some(address) = &wanted {
        if address.trim().is_empty() || address.chars().any(|c| c.is_whitespace() || c == '#') {
            return Err(Error::BadSetting {
                key: "bind-address".into(),
                reason: format!("{address:?} is not an address"),
            });
        }
    }
    let target = wanted.clone().unwrap_or_else(|| "0.0.0.0".to_string());
    match config.get("bind_address") {
        None if wanted.is_none() => planner.changes.push(SettingChange {
            option: "bind-address".into(),
            old: None,
            new: None,
            status: ChangeStatus::Unchanged,
            location: None,
        }),
        _ => planner.set("bind-address", &target, |entry| {
            let value = entry.value.as_deref().unwrap_or("").trim().to_string();
            match &wanted {
                Some(address) => value == *address,
                None => is_wildcard(&value) || !is_loopback(&value),
            }
        }),
    }

    // The server offers TLS with these files (the accounts of the pair
    // require it; the admin's other clients may use it too).
    if let Some(tls) = &settings.tls {
        for (option, value) in [
            ("ssl-ca", &tls.ca),
            ("ssl-cert", &tls.cert),
            ("ssl-key", &tls.key),
        ] {
            planner.set(option, value, |entry| {
                entry.value.as_deref().map(str::trim) == Some(value.as_str())
            });
        }
    }

    // skip-networking: every line that turns networking off goes, so no
    // earlier one takes over.
    let off: Vec<OptionEntry> = config
        .all("networking")
        .into_iter()
        .filter(|e| e.bool_value() == Some(false))
        .cloned()
        .collect();
    let effective_off = config
        .get("networking")
        .is_some_and(|e| e.bool_value() == Some(false));
    if effective_off {
        for entry in &off {
            planner.editor.comment_out(
                &entry.file,
                entry.line,
                "the slave must reach this server over TCP",
            );
            planner.changes.push(SettingChange {
                option: entry.name.written.clone(),
                old: Some("set (no TCP connections)".into()),
                new: Some("commented out".into()),
                status: ChangeStatus::Changed,
                location: Some(entry.location()),
            });
        }
    } else {
        let entry = config.get("networking").cloned();
        planner.changes.push(SettingChange {
            option: "skip-networking".into(),
            old: entry.as_ref().map(OptionEntry::display_value),
            new: entry.as_ref().map(OptionEntry::display_value),
            status: ChangeStatus::Unchanged,
            location: entry.as_ref().map(OptionEntry::location),
        });
    }
    Ok(())
}

fn plan_slave(planner: &mut Planner<'_>, settings: &RoleSettings) -> Result<()> {
    for name in &settings.databases {
        check_database_name(name)?;
    }
    // The slave may take over: it listens on the network and keeps a
    // binary log (in row format) like the master, so clients and, later, a
    // rejoined old master can use it.
    plan_master(planner, settings)?;
    let config = planner.config;
    let relay_log = config.profile.replication.relay_log.clone();
    planner.set("relay-log", &relay_log, |entry| {
        !entry.name.negated && entry.value.as_deref().is_some_and(|v| !v.trim().is_empty())
    });
    planner.set_bool("read-only", true);
    planner.set_bool("log-slave-updates", true);

    plan_filters(planner, &settings.databases);
    Ok(())
}

/// The slave's filters: one `replicate-wild-do-table = DB.%` per database
/// (see [`filters`]); the `replicate-do-db` lines of older runs are
/// commented out and their databases keep being replicated by a pattern.
fn plan_filters(planner: &mut Planner<'_>, databases: &[String]) {
    let config = planner.config;
    let old: Vec<OptionEntry> = config.all("replicate_do_db").into_iter().cloned().collect();
    let existing: Vec<OptionEntry> = config
        .all("replicate_wild_do_table")
        .into_iter()
        .cloned()
        .collect();
    let mut wanted: Vec<String> = Vec::new();
    for name in databases
        .iter()
        .cloned()
        .chain(old.iter().filter_map(|e| e.value.clone()))
    {
        let name = name.trim().to_string();
        if !name.is_empty() && !wanted.contains(&name) {
            wanted.push(name);
        }
    }
    // New lines go after the last filter line (a pattern, else an old
    // replicate-do-db line), else into the settings group.
    let anchor: Option<(PathBuf, usize)> = existing
        .last()
        .or(old.last())
        .map(|e| (e.file.clone(), e.line));
    for name in &wanted {
        let pattern = filters::wild_pattern(name);
        let option = format!("replicate-wild-do-table[{name}]");
        if let Some(entry) = existing
            .iter()
            .find(|e| e.value.as_deref().map(str::trim) == Some(pattern.as_str()))
        {
            planner.unchanged(&option, Some(entry));
            continue;
        }
        let location = match &anchor {
            Some((file, line)) => {
                planner.editor.add_after(
                    file,
                    *line,
                    "replicate-wild-do-table",
                    &pattern,
                    "added for replication",
                );
                file.display().to_string()
            }
            None => {
                planner.editor.add_to_group(
                    &planner.settings_file,
                    &planner.settings_group,
                    "replicate-wild-do-table",
                    &pattern,
                    "added for replication",
                );
                planner.settings_file.display().to_string()
            }
        };
        planner.changes.push(SettingChange {
            option,
            old: None,
            new: Some(pattern),
            status: ChangeStatus::Changed,
            location: Some(location),
        });
    }
    for entry in &old {
        let name = entry.value.clone().unwrap_or_default();
        planner.editor.comment_out(
            &entry.file,
            entry.line,
            &format!(
                "replaced by replicate-wild-do-table = {} (replicate-do-db skips DDL typed without USE)",
                filters::wild_pattern(name.trim())
            ),
        );
        planner.changes.push(SettingChange {
            option: format!("replicate-do-db[{}]", name.trim()),
            old: Some(name.clone()),
            new: Some(format!(
                "commented out: replaced by replicate-wild-do-table = {}",
                filters::wild_pattern(name.trim())
            )),
            status: ChangeStatus::Changed,
            location: Some(entry.location()),
        });
    }
}
