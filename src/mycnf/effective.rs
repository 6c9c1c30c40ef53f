//! The effective configuration: every option-file the server reads, in the
//! order it reads them (following `!include` and `!includedir`), and every
//! option of the groups the server reads, with the file and line that set it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::mycnf::names::{is_multi_valued, parse_bool, OptionName};
use crate::mycnf::parse::{parse_line, split_lines, LineKind, RawLine};
use crate::node::{resolve_symlinks, FileKind, FileStat, Node};
use crate::profile::Profile;
use crate::{Error, Result};

/// Include depth the server follows (mysys `max_recursion_level`).
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// One option setting in a group the server reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionEntry {
    pub name: OptionName,
    /// After quote removal and escapes; None for a bare name.
    pub value: Option<String>,
    /// The group it is in, as written.
    pub group: String,
    /// The file that holds the line (symlinks resolved: the file to edit).
    pub file: PathBuf,
    /// 1-based line number in `file`.
    pub line: usize,
}

impl OptionEntry {
    /// The canonical key (`bind_address`, `networking` for `skip-networking`).
    pub fn key(&self) -> &str {
        &self.name.key
    }

    /// The value as a boolean, taking `skip-`/`disable-` into account; None
    /// when the value is not a boolean.
    pub fn bool_value(&self) -> Option<bool> {
        let plain = match &self.value {
            None => Some(true),
            Some(value) => parse_bool(value),
        };
        plain.map(|b| b != self.name.negated)
    }

    /// The value for display: `ON`/`OFF` for prefixed booleans and bare names.
    pub fn display_value(&self) -> String {
        match (&self.value, self.name.negated) {
            (Some(value), false) => value.clone(),
            _ => match self.bool_value() {
                Some(true) => "ON".to_string(),
                Some(false) => "OFF".to_string(),
                None => self.value.clone().unwrap_or_default(),
            },
        }
    }

    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// A file the server reads, as loaded.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// The file holding the bytes (symlinks resolved).
    pub path: PathBuf,
    pub stat: FileStat,
    pub bytes: Vec<u8>,
    pub lines: Vec<RawLine>,
}

/// One step of the reading order: a file as named, and the file read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub named: PathBuf,
    pub real: PathBuf,
    pub depth: usize,
}

/// The option files of a node and the options the server takes from them.
#[derive(Debug, Clone)]
pub struct Config {
    pub node: String,
    pub profile: Profile,
    /// Groups the server reads (lower case).
    pub groups: Vec<String>,
    /// Files in reading order (a file included twice appears twice).
    pub sources: Vec<Source>,
    /// Contents of each file read, by real path.
    pub files: BTreeMap<PathBuf, LoadedFile>,
    /// Directories named by `!includedir`, as named.
    pub include_dirs: Vec<PathBuf>,
    /// Options of the server's groups, in reading order.
    pub options: Vec<OptionEntry>,
    /// What the server would warn about (missing includes, ignored files).
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads the option files of `profile` on `node`, as the server would.
    pub fn load(node: &dyn Node, profile: &Profile) -> Result<Config> {
        let groups = profile.server_groups();
        let mut config = Config {
            node: node.label().to_string(),
            profile: profile.clone(),
            groups: groups.iter().map(|g| g.to_ascii_lowercase()).collect(),
            sources: Vec::new(),
            files: BTreeMap::new(),
            include_dirs: Vec::new(),
            options: Vec::new(),
            warnings: Vec::new(),
        };
        for path in &profile.config.read_order {
            config.read_file(node, path, 0, None)?;
        }
        Ok(config)
    }

    /// Like [`Config::load`], for the server version the node really runs
    /// (`SELECT VERSION()`, e.g. "10.11.6-MariaDB-0+deb12u1"): the
    /// `[mysqld-X.Y]`/`[mariadb-X.Y]` groups follow it.
    pub fn load_for_version(node: &dyn Node, profile: &Profile, version: &str) -> Result<Config> {
        let mut profile = profile.clone();
        let mut parts = version
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty());
        if let (Some(major), Some(minor)) = (parts.next(), parts.next()) {
            profile.server_version = format!("{major}.{minor}");
        }
        if version.to_ascii_lowercase().contains("mariadb") {
            profile.flavor = crate::sql::Family::MariaDb;
        }
        Config::load(node, &profile)
    }

    fn reads_group(&self, group: &str) -> bool {
        let lower = group.to_ascii_lowercase();
        self.groups.contains(&lower)
    }

    fn read_file(
        &mut self,
        node: &dyn Node,
        named: &Path,
        depth: usize,
        included_from: Option<(&Path, usize)>,
    ) -> Result<()> {
        let real = resolve_symlinks(node, named)?;
        let stat = match node.stat(&real)? {
            Some(stat) => stat,
            None => {
                if let Some((file, line)) = included_from {
                    self.warnings.push(format!(
                        "{}:{line}: included file {} does not exist (the server skips it)",
                        file.display(),
                        named.display()
                    ));
                }
                return Ok(());
            }
        };
        if stat.kind != FileKind::File {
            self.warnings.push(format!(
                "{} is not a regular file; skipped",
                named.display()
            ));
            return Ok(());
        }
        if stat.mode & 0o002 != 0 {
            self.warnings.push(format!(
                "{} is world-writable: the server ignores it (chmod o-w it)",
                named.display()
            ));
            return Ok(());
        }
        if !self.files.contains_key(&real) {
            let bytes = node.read(&real)?.ok_or_else(|| Error::Unbackupable {
                node: node.label().to_string(),
                path: real.clone(),
                reason: "it disappeared while being read".into(),
            })?;
            let lines = split_lines(&bytes);
            self.files.insert(
                real.clone(),
                LoadedFile {
                    path: real.clone(),
                    stat,
                    bytes,
                    lines,
                },
            );
        }
        self.sources.push(Source {
            named: named.to_path_buf(),
            real: real.clone(),
            depth,
        });
        let texts: Vec<String> = match self.files.get(&real) {
            Some(file) => file.lines.iter().map(RawLine::lossy).collect(),
            None => Vec::new(),
        };
        let mut group: Option<String> = None;
        for (index, text) in texts.iter().enumerate() {
            let line = index + 1;
            let kind = parse_line(text).map_err(|reason| Error::MycnfSyntax {
                path: real.clone(),
                line,
                reason,
            })?;
            match kind {
                LineKind::Blank | LineKind::Comment | LineKind::OtherDirective => {}
                LineKind::Group(name) => group = Some(name),
                LineKind::Option { name, value } => {
                    let Some(current) = &group else {
                        return Err(Error::MycnfSyntax {
                            path: real.clone(),
                            line,
                            reason: format!("option `{name}` before any [group]"),
                        });
                    };
                    if self.reads_group(current) {
                        self.options.push(OptionEntry {
                            name: OptionName::parse(&name),
                            value,
                            group: current.clone(),
                            file: real.clone(),
                            line,
                        });
                    }
                }
                LineKind::Include(target) | LineKind::IncludeDir(target)
                    if depth >= MAX_INCLUDE_DEPTH =>
                {
                    self.warnings.push(format!(
                        "{}:{line}: skipping include of {target}: maximum include depth reached",
                        real.display()
                    ));
                }
                LineKind::Include(target) => {
                    let target = relative_to(&real, &target);
                    self.read_file(node, &target, depth + 1, Some((&real, line)))?;
                }
                LineKind::IncludeDir(dir) => {
                    let dir = relative_to(&real, &dir);
                    let dir_real = resolve_symlinks(node, &dir)?;
                    match node.stat(&dir_real)? {
                        Some(stat) if stat.kind == FileKind::Dir => {}
                        _ => {
                            return Err(Error::MycnfIncludeDir {
                                path: real.clone(),
                                line,
                                dir,
                            })
                        }
                    }
                    self.include_dirs.push(dir.clone());
                    let mut names: Vec<String> = node
                        .list_dir(&dir_real)?
                        .into_iter()
                        .filter(|name| name.ends_with(".cnf"))
                        .collect();
                    names.sort();
                    for name in names {
                        let path = dir.join(&name);
                        self.read_file(node, &path, depth + 1, Some((&real, line)))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Every setting of `key` (canonical, e.g. `bind_address`), in reading order.
    pub fn all(&self, key: &str) -> Vec<&OptionEntry> {
        self.options.iter().filter(|o| o.key() == key).collect()
    }

    /// The setting that wins for a single-valued option: the last one read.
    pub fn get(&self, key: &str) -> Option<&OptionEntry> {
        self.options.iter().rev().find(|o| o.key() == key)
    }

    /// The effective options: for each key the last setting, and every
    /// setting of multi-valued options; in the order keys first appear.
    pub fn effective(&self) -> Vec<&OptionEntry> {
        let mut order: Vec<&str> = Vec::new();
        for option in &self.options {
            if !order.contains(&option.key()) {
                order.push(option.key());
            }
        }
        let mut out = Vec::new();
        for key in order {
            if is_multi_valued(key) {
                out.extend(self.all(key));
            } else if let Some(last) = self.get(key) {
                out.push(last);
            }
        }
        out
    }

    /// The file that holds the contents of `path` when it was read (symlinks
    /// resolved); `path` itself when it was not read.
    pub fn real_path_of(&self, path: &Path) -> PathBuf {
        self.sources
            .iter()
            .find(|s| s.named == path)
            .map(|s| s.real.clone())
            .unwrap_or_else(|| path.to_path_buf())
    }

    /// Whether the server reads `path` (a file read now, or a `.cnf` file in
    /// a directory named by `!includedir`).
    pub fn reads_path(&self, path: &Path) -> bool {
        if self
            .sources
            .iter()
            .any(|s| s.named == path || s.real == path)
        {
            return true;
        }
        let is_cnf = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().ends_with(".cnf"));
        is_cnf
            && path.parent().is_some_and(|parent| {
                self.include_dirs
                    .iter()
                    .any(|dir| dir.components().eq(parent.components()))
            })
    }

    /// Text of `mycnf show`.
    pub fn render(&self) -> String {
        let mut out = format!(
            "# {} (profile {}; groups read: {})\n",
            self.node,
            self.profile.name,
            self.groups.join(", ")
        );
        out.push_str("# files, in reading order:\n");
        for source in &self.sources {
            let indent = "  ".repeat(source.depth + 1);
            if source.named == source.real {
                out.push_str(&format!("#{indent}{}\n", source.named.display()));
            } else {
                out.push_str(&format!(
                    "#{indent}{} -> {}\n",
                    source.named.display(),
                    source.real.display()
                ));
            }
        }
        for warning in &self.warnings {
            out.push_str(&format!("# warning: {warning}\n"));
        }
        let entries = self.effective();
        let width = entries
            .iter()
            .map(|e| e.name.written.len() + e.display_value().len() + 3)
            .max()
            .unwrap_or(0);
        for entry in entries {
            let setting = match &entry.value {
                Some(value) => format!("{} = {}", entry.name.written, value),
                None => entry.name.written.clone(),
            };
            out.push_str(&format!(
                "{setting:<width$}  # [{}] {}\n",
                entry.group,
                entry.location()
            ));
        }
        out
    }
}

/// `!include` paths are taken as written; a relative one is read relative to
/// the including file's folder (the server would use its working directory,
/// which is rarely what the author meant, so avoid relative includes).
fn relative_to(including: &Path, target: &str) -> PathBuf {
    let target = Path::new(target);
    if target.is_absolute() {
        target.to_path_buf()
    } else {
        including
            .parent()
            .unwrap_or_else(|| Path::new("/"))
            .join(target)
    }
}
