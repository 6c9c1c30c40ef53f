//! A read-only snapshot of a few trees of a node, fetched in one round trip.
//! Reading a server's option files over ssh file by file costs one session
//! per file; planning reads them through a snapshot instead. A snapshot is
//! made for one reading and dropped: it never serves stale data to apply.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{FileKind, FileStat, Node, Output};
use crate::{Error, Result};

/// Prints every entry under each root as NUL-separated records.
const DUMP_TREES: &str = r#"
emit() {
  p=$1
  if [ -L "$p" ]; then k=L; elif [ -d "$p" ]; then k=D; elif [ -f "$p" ]; then k=F; else k=O; fi
  st=$(stat -c '%a %u %g %s' -- "$p" 2>/dev/null) || return 0
  set -- $st
  printf 'P\0%s\0%s\0%s\0%s\0%s\0%s\0' "$p" "$k" "$1" "$2" "$3" "$4"
  case $k in
    L) printf '%s\0' "$(readlink -- "$p")" ;;
    D) ls -A1 -- "$p" 2>/dev/null | tr '\n' '/'; printf '\0' ;;
    F) if [ -r "$p" ]; then c=$(wc -c < "$p"); printf '%s\0' "$c"; head -c "$c" -- "$p"; else printf 'U\0'; fi ;;
  esac
}
for r in "$@"; do
  if [ -e "$r" ] || [ -L "$r" ]; then
    find "$r" -xdev -print0 2>/dev/null | while IFS= read -r -d '' p; do emit "$p"; done
  else
    printf 'M\0%s\0' "$r"
  fi
done
"#;

#[derive(Debug, Clone)]
struct Entry {
    stat: FileStat,
    link: Option<PathBuf>,
    names: Vec<String>,
    /// None: not readable by the account that took the snapshot.
    bytes: Option<Vec<u8>>,
}

pub struct Snapshot<'a> {
    node: &'a dyn Node,
    roots: Vec<PathBuf>,
    entries: HashMap<PathBuf, Entry>,
}

struct Cursor<'b> {
    data: &'b [u8],
    at: usize,
}

impl<'b> Cursor<'b> {
    fn field(&mut self) -> Option<&'b [u8]> {
        let rest = &self.data[self.at..];
        let end = rest.iter().position(|b| *b == 0)?;
        self.at += end + 1;
        Some(&rest[..end])
    }
    fn text(&mut self) -> Option<String> {
        self.field()
            .map(|f| String::from_utf8_lossy(f).into_owned())
    }
    fn number(&mut self, radix: u32) -> Option<u64> {
        u64::from_str_radix(&self.text()?, radix).ok()
    }
    fn bytes(&mut self, count: usize) -> Option<&'b [u8]> {
        let slice = self.data.get(self.at..self.at + count)?;
        self.at += count;
        Some(slice)
    }
}

fn parse(data: &[u8]) -> Option<HashMap<PathBuf, Entry>> {
    let mut entries = HashMap::new();
    let mut cursor = Cursor { data, at: 0 };
    while cursor.at < data.len() {
        match cursor.field()? {
            b"M" => {
                cursor.field()?;
            }
            b"P" => {
                let path = PathBuf::from(cursor.text()?);
                let kind = match cursor.field()? {
                    b"F" => FileKind::File,
                    b"D" => FileKind::Dir,
                    b"L" => FileKind::Symlink,
                    _ => FileKind::Other,
                };
                let stat = FileStat {
                    kind,
                    mode: cursor.number(8)? as u32,
                    uid: cursor.number(10)? as u32,
                    gid: cursor.number(10)? as u32,
                    size: cursor.number(10)?,
                };
                let mut entry = Entry {
                    stat,
                    link: None,
                    names: Vec::new(),
                    bytes: None,
                };
                match kind {
                    FileKind::Symlink => entry.link = Some(PathBuf::from(cursor.text()?)),
                    FileKind::Dir => {
                        entry.names = cursor
                            .text()?
                            .split('/')
                            .filter(|n| !n.is_empty())
                            .map(str::to_string)
                            .collect();
                    }
                    FileKind::File => {
                        let size = cursor.text()?;
                        if size != "U" {
                            let count: usize = size.trim().parse().ok()?;
                            entry.bytes = Some(cursor.bytes(count)?.to_vec());
                        }
                    }
                    FileKind::Other => {}
                }
                entries.insert(path, entry);
            }
            _ => return None,
        }
    }
    Some(entries)
}

impl<'a> Snapshot<'a> {
    /// Fetches everything under `roots` (absolute paths) in one command.
    pub fn take(node: &'a dyn Node, roots: &[PathBuf]) -> Result<Snapshot<'a>> {
        let mut argv = vec!["bash", "-c", DUMP_TREES, "mysql-ha-snapshot"];
        let root_texts: Vec<String> = roots
            .iter()
            .map(|r| r.to_string_lossy().into_owned())
            .collect();
        argv.extend(root_texts.iter().map(String::as_str));
        let out = node.run(&argv, None)?;
        let entries = if out.success() {
            parse(&out.stdout)
        } else {
            None
        };
        let entries = entries.ok_or_else(|| Error::Command {
            host: node.label().to_string(),
            command: format!("read {}", root_texts.join(" ")),
            status: crate::error::exit_status(out.code),
            detail: crate::error::stderr_detail(&out.stderr),
        })?;
        Ok(Snapshot {
            node,
            roots: roots.to_vec(),
            entries,
        })
    }

    fn covers(&self, path: &Path) -> bool {
        self.roots.iter().any(|root| path.starts_with(root))
    }
}

impl Node for Snapshot<'_> {
    fn label(&self) -> &str {
        self.node.label()
    }

    fn run(&self, argv: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
        self.node.run(argv, stdin)
    }

    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        match self.entries.get(path) {
            Some(Entry {
                bytes: Some(bytes), ..
            }) => Ok(Some(bytes.clone())),
            Some(_) => self.node.read(path),
            None if self.covers(path) => Ok(None),
            None => self.node.read(path),
        }
    }

    fn stat(&self, path: &Path) -> Result<Option<FileStat>> {
        match self.entries.get(path) {
            Some(entry) => Ok(Some(entry.stat)),
            None if self.covers(path) => Ok(None),
            None => self.node.stat(path),
        }
    }

    fn read_link(&self, path: &Path) -> Result<PathBuf> {
        match self.entries.get(path).and_then(|e| e.link.clone()) {
            Some(target) => Ok(target),
            None => self.node.read_link(path),
        }
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        match self.entries.get(path) {
            Some(entry) if entry.stat.kind == FileKind::Dir => Ok(entry.names.clone()),
            None if self.covers(path) => Ok(Vec::new()),
            _ => self.node.list_dir(path),
        }
    }

    fn create_dir_all(&self, path: &Path, mode: u32) -> Result<()> {
        self.node.create_dir_all(path, mode)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
        self.node.write_atomic(path, bytes, mode, uid, gid)
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        self.node.remove_file(path)
    }

    fn free_bytes(&self, path: &Path) -> Result<u64> {
        self.node.free_bytes(path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::node::LocalNode;

    #[test]
    fn snapshot_answers_like_the_node_it_was_taken_from() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        std::fs::create_dir_all(etc.join("conf.d")).unwrap();
        std::fs::write(etc.join("my.cnf"), b"[mysqld]\r\nport=3306\n\0binary\xff").unwrap();
        std::fs::write(etc.join("conf.d/a b.cnf"), b"").unwrap();
        std::os::unix::fs::symlink("my.cnf", etc.join("link.cnf")).unwrap();
        let node = LocalNode::new();
        let snapshot = Snapshot::take(&node, &[etc.clone(), dir.path().join("missing")]).unwrap();
        for path in [
            etc.join("my.cnf"),
            etc.join("conf.d/a b.cnf"),
            etc.join("nope"),
        ] {
            assert_eq!(
                snapshot.read(&path).unwrap(),
                node.read(&path).unwrap(),
                "{path:?}"
            );
            assert_eq!(snapshot.stat(&path).unwrap(), node.stat(&path).unwrap());
        }
        assert_eq!(
            snapshot.read_link(&etc.join("link.cnf")).unwrap(),
            PathBuf::from("my.cnf")
        );
        let mut names = snapshot.list_dir(&etc).unwrap();
        names.sort();
        assert_eq!(names, ["conf.d", "link.cnf", "my.cnf"]);
        assert_eq!(snapshot.stat(&dir.path().join("missing")).unwrap(), None);
    }
}
