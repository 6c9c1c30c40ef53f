//! Line edits on option files: change a line where it is, comment one out,
//! add a line to a group. Untouched lines keep their exact bytes; changed and
//! added lines carry a trailing `# mysql-ha run RUN_ID: ...` marker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mycnf::effective::Config;
use crate::mycnf::parse::{join_lines, option_layout, parse_line, quote, LineKind, RawLine};

/// One file's change: its bytes before (None: the file does not exist yet) and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEdit {
    pub path: PathBuf,
    pub before: Option<Vec<u8>>,
    pub after: Vec<u8>,
}

impl FileEdit {
    /// Unified diff of the edit.
    pub fn render_diff(&self) -> String {
        let before = self
            .before
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let after = String::from_utf8_lossy(&self.after).into_owned();
        let old_name = if self.before.is_some() {
            format!("a{}", self.path.display())
        } else {
            "/dev/null".to_string()
        };
        let new_name = format!("b{}", self.path.display());
        similar::TextDiff::from_lines(&before, &after)
            .unified_diff()
            .context_radius(3)
            .header(&old_name, &new_name)
            .to_string()
    }
}

#[derive(Debug, Clone)]
struct BufLine {
    /// 1-based line number in the original file; None for added lines.
    orig: Option<usize>,
    line: RawLine,
}

#[derive(Debug, Clone)]
struct Buffer {
    before: Option<Vec<u8>>,
    lines: Vec<BufLine>,
    eol: Vec<u8>,
}

/// Collects line edits over the files of a [`Config`].
#[derive(Debug)]
pub struct Editor<'a> {
    config: &'a Config,
    run_id: String,
    buffers: BTreeMap<PathBuf, Buffer>,
}

impl<'a> Editor<'a> {
    pub fn new(config: &'a Config, run_id: &str) -> Editor<'a> {
        Editor {
            config,
            run_id: run_id.to_string(),
            buffers: BTreeMap::new(),
        }
    }

    /// The marker comment put on each changed or added line.
    pub fn marker(&self, note: &str) -> String {
        format!("# mysql-ha run {}: {note}", self.run_id)
    }

    fn buffer(&mut self, path: &Path) -> &mut Buffer {
        let config = self.config;
        self.buffers
            .entry(path.to_path_buf())
            .or_insert_with(|| match config.files.get(path) {
                Some(file) => {
                    let eol = file
                        .lines
                        .first()
                        .filter(|l| !l.eol.is_empty())
                        .map(|l| l.eol.clone())
                        .unwrap_or_else(|| b"\n".to_vec());
                    Buffer {
                        before: Some(file.bytes.clone()),
                        lines: file
                            .lines
                            .iter()
                            .enumerate()
                            .map(|(i, line)| BufLine {
                                orig: Some(i + 1),
                                line: line.clone(),
                            })
                            .collect(),
                        eol,
                    }
                }
                None => Buffer {
                    before: None,
                    lines: Vec::new(),
                    eol: b"\n".to_vec(),
                },
            })
    }

    fn index_of(buffer: &Buffer, line: usize) -> Option<usize> {
        buffer.lines.iter().position(|l| l.orig == Some(line))
    }

    fn original_text(&mut self, path: &Path, line: usize) -> Option<String> {
        let buffer = self.buffer(path);
        Self::index_of(buffer, line).map(|i| buffer.lines[i].line.lossy())
    }

    fn replace(&mut self, path: &Path, line: usize, text: String) {
        let buffer = self.buffer(path);
        if let Some(i) = Self::index_of(buffer, line) {
            buffer.lines[i].line.text = text.into_bytes();
        }
    }

    /// Sets the option on `line` of `path` to `value`, keeping its indent,
    /// spelling and spacing; `name` replaces the name when given (to turn
    /// `skip-log-bin` into `log-bin`).
    pub fn set_value(
        &mut self,
        path: &Path,
        line: usize,
        name: Option<&str>,
        value: &str,
        note: &str,
    ) {
        let Some(text) = self.original_text(path, line) else {
            return;
        };
        let layout = option_layout(&text);
        let name = name.unwrap_or(&layout.name);
        let separator = if layout.separator.is_empty() {
            " = ".to_string()
        } else {
            layout.separator.clone()
        };
        let new = format!(
            "{}{}{}{}  {}",
            layout.indent,
            name,
            separator,
            quote(value),
            self.marker(note)
        );
        self.replace(path, line, new);
    }

    /// Turns `line` of `path` into a comment.
    pub fn comment_out(&mut self, path: &Path, line: usize, note: &str) {
        let Some(text) = self.original_text(path, line) else {
            return;
        };
        let new = format!("#{}  {}", text.trim_end(), self.marker(note));
        self.replace(path, line, new);
    }

    /// Adds `name = value` right after `line` of `path` (after lines already
    /// added there).
    pub fn add_after(&mut self, path: &Path, line: usize, name: &str, value: &str, note: &str) {
        let text = format!("{name} = {}  {}", quote(value), self.marker(note));
        let buffer = self.buffer(path);
        let Some(mut at) = Self::index_of(buffer, line) else {
            return;
        };
        while at + 1 < buffer.lines.len() && buffer.lines[at + 1].orig.is_none() {
            at += 1;
        }
        if buffer.lines[at].line.eol.is_empty() {
            buffer.lines[at].line.eol = buffer.eol.clone();
        }
        let eol = buffer.eol.clone();
        buffer.lines.insert(
            at + 1,
            BufLine {
                orig: None,
                line: RawLine {
                    text: text.into_bytes(),
                    eol,
                },
            },
        );
    }

    /// Adds `name = value` at the end of the last `[group]` section of
    /// `path` (after its last option), or in a new section at the end of
    /// the file; creates the file when it does not exist.
    pub fn add_to_group(&mut self, path: &Path, group: &str, name: &str, value: &str, note: &str) {
        let text = format!("{name} = {}  {}", quote(value), self.marker(note));
        let header = format!(
            "# Settings written by mysql-ha (run {}). Options set in other files are changed where they are set.",
            self.run_id
        );
        let buffer = self.buffer(path);
        let eol = buffer.eol.clone();
        let new_line = |text: String| BufLine {
            orig: None,
            line: RawLine {
                text: text.into_bytes(),
                eol: eol.clone(),
            },
        };
        let mut section_at: Option<usize> = None;
        let mut current_matches = false;
        for (i, l) in buffer.lines.iter().enumerate() {
            match parse_line(&l.line.lossy()) {
                Ok(LineKind::Group(name)) => {
                    current_matches = name.eq_ignore_ascii_case(group);
                    if current_matches {
                        section_at = Some(i);
                    }
                }
                Ok(LineKind::Option { .. }) if current_matches => section_at = Some(i),
                _ => {}
            }
        }
        match section_at {
            Some(at) => {
                if buffer.lines[at].line.eol.is_empty() {
                    buffer.lines[at].line.eol = eol.clone();
                }
                buffer.lines.insert(at + 1, new_line(text));
            }
            None => {
                if let Some(last) = buffer.lines.last_mut() {
                    if last.line.eol.is_empty() {
                        last.line.eol = eol.clone();
                    }
                }
                if buffer.lines.is_empty() && buffer.before.is_none() {
                    buffer.lines.push(new_line(header));
                } else if buffer.lines.last().is_some_and(|l| !l.line.text.is_empty()) {
                    buffer.lines.push(new_line(String::new()));
                }
                buffer.lines.push(new_line(format!("[{group}]")));
                buffer.lines.push(new_line(text));
            }
        }
    }

    /// The files that changed.
    pub fn finish(self) -> Vec<FileEdit> {
        self.buffers
            .into_iter()
            .filter_map(|(path, buffer)| {
                let lines: Vec<RawLine> = buffer.lines.into_iter().map(|l| l.line).collect();
                let after = join_lines(&lines);
                if buffer.before.as_deref() == Some(after.as_slice()) {
                    None
                } else {
                    Some(FileEdit {
                        path,
                        before: buffer.before,
                        after,
                    })
                }
            })
            .collect()
    }
}
