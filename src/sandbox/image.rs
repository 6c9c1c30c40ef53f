//! Node images: the lower layer a lab host's overlay is built on. `host` is
//! this machine's own `/`; the others are Debian roots built once with
//! debootstrap from Debian's registry and cached under /var/cache, rebuilt
//! when their recipe changes. An image is never changed while a lab host has
//! it mounted (changing an overlay's lower layer is undefined behaviour).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use crate::sql::flavor::Family;
use crate::{Error, Result};

/// Where built images live: one folder per image (`root/`, `recipe`).
pub const CACHE_DIR: &str = "/var/cache/mysql-ha-sandbox/images";
const MIRROR: &str = "http://deb.debian.org/debian";
/// What every database image carries besides its server: the programs the
/// lab and the cluster use on a node (sshd and ssh, sudo for the cluster
/// account's allowlist, ip and arping for the cluster address, ps/pgrep).
const COMMON_PACKAGES: &[&str] = &[
    "openssh-server",
    "openssh-client",
    "sudo",
    "iproute2",
    "iputils-arping",
    "procps",
    "init-system-helpers",
    // (brings openssl, which setup's TLS certificates are made with)
    "ca-certificates",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Image {
    /// This machine's `/` (Debian 12, MariaDB 10.11).
    Host,
    /// Debian 13 (trixie) with MariaDB 11.8.
    Debian13,
    /// Debian unstable with Oracle MySQL (Debian's `mysql-server`).
    DebianSidMysql,
}

pub const ALL: [Image; 3] = [Image::Host, Image::Debian13, Image::DebianSidMysql];

impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Image {
    type Err = Error;
    fn from_str(text: &str) -> Result<Image> {
        ALL.iter()
            .copied()
            .find(|image| image.name() == text)
            .ok_or_else(|| {
                Error::Sandbox(format!(
                    "no sandbox image named `{text}` (images: {})",
                    ALL.map(|i| i.name()).join(", ")
                ))
            })
    }
}

/// How a built image is made: its text is stored with the image, and an
/// image whose stored recipe differs is rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    pub suite: &'static str,
    pub packages: Vec<&'static str>,
    /// /etc/init.d/mysql written into the root (the server has none).
    pub init_script: Option<&'static str>,
}

impl Recipe {
    pub fn text(&self) -> String {
        format!(
            "# mysql-ha sandbox image recipe (a change rebuilds the image)\n\
             tool = debootstrap --variant=minbase\nsuite = {}\nmirror = {MIRROR}\npackages = {}\n\
             after = sshd host keys removed; rc2.d start links for ssh and the server\n{}",
            self.suite,
            self.packages.join(","),
            self.init_script
                .map(|script| format!("/etc/init.d/mysql =\n{script}"))
                .unwrap_or_default()
        )
    }
}

impl Image {
    pub fn name(&self) -> &'static str {
        match self {
            Image::Host => "host",
            Image::Debian13 => "debian-13",
            Image::DebianSidMysql => "debian-sid-mysql",
        }
    }

    /// The recipe of a built image; `None` for `host`.
    pub fn recipe(&self) -> Option<Recipe> {
        let (suite, server): (&'static str, &[&'static str]) = match self {
            Image::Host => return None,
            Image::Debian13 => (
                "trixie",
                &["mariadb-server", "mariadb-client", "mariadb-backup"],
            ),
            Image::DebianSidMysql => ("sid", &["mysql-server", "mysql-client"]),
        };
        let mut packages: Vec<&'static str> = server.to_vec();
        packages.extend_from_slice(COMMON_PACKAGES);
        let init_script = (*self == Image::DebianSidMysql).then_some(MYSQL_INIT_SCRIPT);
        Some(Recipe {
            suite,
            packages,
            init_script,
        })
    }

    /// The init script of the database server in /etc/init.d.
    pub fn server_service(&self) -> &'static str {
        match self {
            Image::Host | Image::Debian13 => "mariadb",
            Image::DebianSidMysql => "mysql",
        }
    }

    /// The server family the image runs.
    pub fn flavor(&self) -> Family {
        match self {
            Image::Host | Image::Debian13 => Family::MariaDb,
            Image::DebianSidMysql => Family::MySql,
        }
    }

    /// The command-line SQL client.
    pub fn client_program(&self) -> &'static str {
        match self {
            Image::Host | Image::Debian13 => "mariadb",
            Image::DebianSidMysql => "mysql",
        }
    }

    /// The server's admin program (ping).
    pub fn admin_program(&self) -> &'static str {
        match self {
            Image::Host | Image::Debian13 => "mariadb-admin",
            Image::DebianSidMysql => "mysqladmin",
        }
    }

    /// The lower layer of a host's overlay.
    pub fn lower_dir(&self) -> PathBuf {
        match self {
            Image::Host => PathBuf::from("/"),
            _ => self.dir().join("root"),
        }
    }

    fn dir(&self) -> PathBuf {
        Path::new(CACHE_DIR).join(self.name())
    }

    fn recipe_path(&self) -> PathBuf {
        self.dir().join("recipe")
    }

    /// Built, and from the current recipe.
    pub fn is_current(&self) -> bool {
        match self.recipe() {
            None => true,
            Some(recipe) => fs::read_to_string(self.recipe_path())
                .map(|stored| stored == recipe.text())
                .unwrap_or(false),
        }
    }

    /// Builds the image unless a current one is cached. Refuses to replace an
    /// image a running lab host has mounted.
    pub fn ensure_built(&self) -> Result<()> {
        let Some(recipe) = self.recipe() else {
            return Ok(());
        };
        fs::create_dir_all(CACHE_DIR).map_err(|e| Error::io(CACHE_DIR, e))?;
        // One build at a time per image, across labs and test binaries.
        let lock_path = Path::new(CACHE_DIR).join(format!("{}.lock", self.name()));
        let lock = fs::File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
        lock.lock().map_err(|e| Error::io(&lock_path, e))?;
        if self.is_current() {
            return Ok(());
        }
        let users = hosts_using(*self);
        if !users.is_empty() {
            return Err(Error::Sandbox(format!(
                "image {self} must be rebuilt (its recipe changed) but lab hosts run on it: {}; bring those labs down first",
                users.join(", ")
            )));
        }
        let started = Instant::now();
        eprintln!(
            "mysql-ha: building sandbox image {self} (debootstrap {} from {MIRROR}; about 2 minutes, once)",
            recipe.suite
        );
        let building = Path::new(CACHE_DIR).join(format!("{}.building", self.name()));
        remove_tree(&building)?;
        remove_tree(&self.dir())?;
        let root = building.join("root");
        fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        let log_path = Path::new(CACHE_DIR).join(format!("{}.build.log", self.name()));
        let log = fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
        let log_err = log.try_clone().map_err(|e| Error::io(&log_path, e))?;
        let status = Command::new("debootstrap")
            .args(["--variant=minbase"])
            .arg(format!("--include={}", recipe.packages.join(",")))
            .arg(recipe.suite)
            .arg(&root)
            .arg(MIRROR)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .status()
            .map_err(|e| Error::io("debootstrap", e))?;
        if !status.success() {
            return Err(Error::Sandbox(format!(
                "building image {self}: debootstrap failed ({status}); see {}",
                log_path.display()
            )));
        }
        finish_root(&root, self.server_service(), recipe.init_script)?;
        write_file(&building.join("recipe"), &recipe.text())?;
        fs::rename(&building, self.dir()).map_err(|e| Error::io(self.dir(), e))?;
        eprintln!(
            "mysql-ha: image {self} built in {:.0} s ({})",
            started.elapsed().as_secs_f64(),
            human_size(tree_size(&self.dir()))
        );
        Ok(())
    }
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Debian's `mysql-server` ships only a systemd unit (mysql.service runs
/// `mysql-systemd-start pre`, then mysqld). A lab host has no systemd, so
/// the image gets the same steps as an init script; `service mysql ...`
/// (the profile's commands) runs it here and systemctl on a real host.
const MYSQL_INIT_SCRIPT: &str = r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          mysql
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: MySQL server (mysql-ha sandbox image: mysql.service's steps without systemd)
### END INIT INFO
PATH=/usr/sbin:/usr/bin:/sbin:/bin
PIDFILE=/run/mysqld/mysqld.pid
alive() { mysqladmin --connect-timeout=2 ping >/dev/null 2>&1; }
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
start() {
  alive && return 0
  /usr/share/mysql/mysql-systemd-start pre || return 1
  install -d -o mysql -g mysql -m 755 /run/mysqld
  start-stop-daemon --start --background --exec /usr/sbin/mysqld -- --pid-file="$PIDFILE"
  i=0
  while [ $i -lt 600 ]; do alive && return 0; sleep 0.1; i=$((i+1)); done
  echo "mysql: not answering after 60 s (see /var/log/mysql/error.log)" >&2
  return 1
}
stop() {
  running || return 0
  kill "$(cat "$PIDFILE")"
  i=0
  while [ $i -lt 600 ]; do running || return 0; sleep 0.1; i=$((i+1)); done
  echo "mysql: still running after 60 s" >&2
  return 1
}
case "$1" in
  start) start ;;
  stop) stop ;;
  restart|force-reload) stop && start ;;
  status) if alive; then echo "mysql is running"; else echo "mysql is stopped"; exit 3; fi ;;
  *) echo "Usage: /etc/init.d/mysql {start|stop|restart|status}" >&2; exit 2 ;;
esac
"#;

/// After debootstrap: no host keys shared by every node (each node makes its own at
/// first boot); rc2.d start links for sshd and the server, which is what a
/// lab host boots (minbase has no init, so no package made them).
fn finish_root(root: &Path, server: &str, init_script: Option<&str>) -> Result<()> {
    for entry in
        fs::read_dir(root.join("etc/ssh")).map_err(|e| Error::io(root.join("etc/ssh"), e))?
    {
        let entry = entry.map_err(|e| Error::io(root.join("etc/ssh"), e))?;
        if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
            fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    if let Some(script) = init_script {
        let path = root.join("etc/init.d").join(server);
        write_file(&path, script)?;
        set_mode(&path, 0o755)?;
    }
    let rc2 = root.join("etc/rc2.d");
    fs::create_dir_all(&rc2).map_err(|e| Error::io(&rc2, e))?;
    for (order, service) in [("S01", "ssh"), ("S02", server)] {
        if !root.join("etc/init.d").join(service).exists() {
            return Err(Error::Sandbox(format!(
                "image root {} has no /etc/init.d/{service}",
                root.display()
            )));
        }
        let linked = fs::read_dir(&rc2)
            .map_err(|e| Error::io(&rc2, e))?
            .flatten()
            .any(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                name.starts_with('S') && name.get(3..) == Some(service)
            });
        let link = rc2.join(format!("{order}{service}"));
        if !linked {
            std::os::unix::fs::symlink(format!("../init.d/{service}"), &link)
                .map_err(|e| Error::io(&link, e))?;
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, e))
}

/// Lab hosts (of any lab) running on this image now, as "STATE_DIR/NODE".
pub fn hosts_using(image: Image) -> Vec<String> {
    let mut users = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return users;
    };
    for entry in entries.flatten() {
        let Ok(raw) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(at) = args.iter().position(|a| a == "node-init") else {
            continue;
        };
        let (Some(name), Some(state)) = (args.get(at + 1), args.get(at + 2)) else {
            continue;
        };
        let recorded = Path::new(state).join("hosts").join(name).join("image");
        if fs::read_to_string(&recorded).is_ok_and(|text| text.trim() == image.name()) {
            users.push(format!("{state}/{name}"));
        }
    }
    users.sort();
    users.dedup();
    users
}

fn tree_size(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        use std::os::unix::fs::MetadataExt;
        return meta.blocks() * 512;
    }
    fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| tree_size(&e.path())).sum())
        .unwrap_or(0)
}

fn human_size(bytes: u64) -> String {
    format!("{} MB", bytes / 1_000_000)
}

fn human_age(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        7200..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

/// `sandbox images`: each image with its state, size and age.
pub fn list_report() -> String {
    let mut out = String::new();
    for image in ALL {
        let line = match image.recipe() {
            None => "this machine's / (nothing to build)".to_string(),
            Some(recipe) => {
                let built = fs::metadata(image.recipe_path())
                    .and_then(|m| m.modified())
                    .ok();
                match built {
                    None => format!("not built (debootstrap {})", recipe.suite),
                    Some(at) => {
                        let age = SystemTime::now().duration_since(at).unwrap_or_default();
                        let state = if image.is_current() {
                            "built"
                        } else {
                            "stale (recipe changed: rebuilt on next use)"
                        };
                        let users = hosts_using(image);
                        let used = if users.is_empty() {
                            String::new()
                        } else {
                            format!(", in use by {}", users.join(" "))
                        };
                        format!(
                            "{state}, {}, {} old, {}{used}",
                            human_size(tree_size(&image.dir())),
                            human_age(age),
                            image.dir().display()
                        )
                    }
                }
            }
        };
        out.push_str(&format!("{:<17} {line}\n", image.name()));
    }
    out
}

/// `sandbox images --prune`: removes every built image no lab host runs on.
pub fn prune() -> Result<String> {
    let mut out = String::new();
    for image in ALL {
        if image.recipe().is_none() {
            continue;
        }
        let leftovers = [
            Path::new(CACHE_DIR).join(format!("{}.building", image.name())),
            Path::new(CACHE_DIR).join(format!("{}.build.log", image.name())),
        ];
        if !image.dir().exists() {
            for path in leftovers {
                let _ = fs::remove_file(&path);
                remove_tree(&path)?;
            }
            continue;
        }
        // Not while it is being built (ensure_built holds this lock).
        let lock_path = Path::new(CACHE_DIR).join(format!("{}.lock", image.name()));
        let lock = fs::File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
        lock.lock().map_err(|e| Error::io(&lock_path, e))?;
        let users = hosts_using(image);
        if !users.is_empty() {
            out.push_str(&format!("{image}: kept (in use by {})\n", users.join(" ")));
            continue;
        }
        let size = tree_size(&image.dir());
        remove_tree(&image.dir())?;
        for path in leftovers {
            let _ = fs::remove_file(&path);
            remove_tree(&path)?;
        }
        out.push_str(&format!("{image}: removed ({})\n", human_size(size)));
    }
    if out.is_empty() {
        out.push_str("no built images\n");
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_images() {
        for image in ALL {
            assert_eq!(image.name().parse::<Image>().unwrap(), image);
        }
        let err = "debian-14".parse::<Image>().unwrap_err().to_string();
        assert!(err.contains("host, debian-13, debian-sid-mysql"), "{err}");
    }

    #[test]
    fn recipes_name_their_suite_server_and_what_a_node_needs() {
        assert!(Image::Host.recipe().is_none());
        assert_eq!(Image::Host.lower_dir(), PathBuf::from("/"));
        let mysql = Image::DebianSidMysql.recipe().unwrap();
        assert_eq!(mysql.suite, "sid");
        assert!(mysql.packages.contains(&"mysql-server"));
        assert!(mysql
            .text()
            .contains("packages = mysql-server,mysql-client,openssh-server"));
        let maria = Image::Debian13.recipe().unwrap();
        assert_eq!(maria.suite, "trixie");
        for needed in ["sudo", "openssh-server", "iproute2", "iputils-arping"] {
            assert!(maria.packages.contains(&needed), "{needed}");
        }
        assert_ne!(mysql.text(), maria.text());
        assert_eq!(
            Image::DebianSidMysql.lower_dir(),
            Path::new(CACHE_DIR).join("debian-sid-mysql/root")
        );
    }
}
