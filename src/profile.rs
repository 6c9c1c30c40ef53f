//! Distribution profiles (`distro-profiles/*.toml`, embedded in the binary) and
//! detection of the profile that fits a node. The matching rules are part of
//! the profile data, so supporting another distribution needs no code.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::node::{resolve_symlinks, Node};
use crate::sql::Family;
use crate::{Error, Result};

/// The profiles built into the binary, as (file name, TOML text).
/// Detection takes the first that matches: a profile that needs a file
/// comes before the release-only ones it refines.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "debian-mysql",
        include_str!("../distro-profiles/debian-mysql.toml"),
    ),
    (
        "debian-12",
        include_str!("../distro-profiles/debian-12.toml"),
    ),
    (
        "debian-13",
        include_str!("../distro-profiles/debian-13.toml"),
    ),
    (
        "ubuntu-24.04",
        include_str!("../distro-profiles/ubuntu-24.04.toml"),
    ),
    ("rhel-9", include_str!("../distro-profiles/rhel-9.toml")),
    (
        "debian-etch",
        include_str!("../distro-profiles/debian-etch.toml"),
    ),
    (
        "fedora-core-5",
        include_str!("../distro-profiles/fedora-core-5.toml"),
    ),
    ("centos-4", include_str!("../distro-profiles/centos-4.toml")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitSystem {
    Sysvinit,
    Systemd,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub flavor: Family,
    /// Major.minor of the server the distribution ships ("10.11", "5.0").
    pub server_version: String,
    pub init_system: InitSystem,
    #[serde(default)]
    pub detect: Detect,
    pub config: ConfigFiles,
    pub service: Service,
    pub paths: Paths,
    pub packages: Packages,
    pub programs: Programs,
    pub replication: ReplicationDefaults,
}

/// How to recognise the distribution. A profile matches when any rule does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detect {
    /// `ID` values of /etc/os-release.
    #[serde(default)]
    pub os_release_id: Vec<String>,
    /// Words of `ID_LIKE` that also match (with a matching version).
    #[serde(default)]
    pub os_release_id_like: Vec<String>,
    /// `VERSION_ID` values; "9" also matches "9.3". Empty: any version.
    #[serde(default)]
    pub version_id: Vec<String>,
    /// Regular expression matched against /etc/redhat-release.
    #[serde(default)]
    pub redhat_release_regex: Option<String>,
    /// Prefixes of /etc/debian_version ("4.0").
    #[serde(default)]
    pub debian_version_prefix: Vec<String>,
    /// Files that must also exist for a rule to count: they tell which
    /// server a release has installed (Debian ships MariaDB and MySQL).
    #[serde(default)]
    pub files_present: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFiles {
    /// Option files the server reads, in order; missing ones are skipped.
    pub read_order: Vec<PathBuf>,
    /// The main option file (may be a symlink).
    pub entry_file: PathBuf,
    /// Where keys that are defined nowhere yet are added.
    pub settings_file: PathBuf,
    /// The group new keys go into.
    pub settings_group: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    #[serde(default)]
    pub systemd_unit: Option<String>,
    pub start: Vec<String>,
    pub stop: Vec<String>,
    pub restart: Vec<String>,
    pub status: Vec<String>,
    /// Start at boot.
    pub enable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    pub socket: PathBuf,
    pub datadir: PathBuf,
    /// A path, or "syslog" / "journald".
    pub error_log: String,
    pub pid_file: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Packages {
    pub server: Vec<String>,
    pub client: Vec<String>,
    #[serde(default)]
    pub backup: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Programs {
    pub server: String,
    pub client: String,
    pub dump: String,
    pub admin: String,
    pub print_defaults: String,
    /// Physical backup program (`mariadb-backup`); none: no physical seed.
    #[serde(default)]
    pub backup: Option<String>,
    /// Extracts the backup program's stream (`mbstream`).
    #[serde(default)]
    pub backup_stream: Option<String>,
}

/// Values the tool writes when a setting is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicationDefaults {
    /// Binary log basename for `log-bin`.
    pub log_bin: String,
    /// Relay log basename for `relay-log`.
    pub relay_log: String,
}

/// Facts read from a node that detection decides on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemFacts {
    pub os_release_id: Option<String>,
    pub os_release_id_like: Vec<String>,
    pub os_release_version_id: Option<String>,
    pub redhat_release: Option<String>,
    pub debian_version: Option<String>,
}

impl SystemFacts {
    /// Reads /etc/os-release, /etc/redhat-release and /etc/debian_version.
    pub fn read(node: &dyn Node) -> Result<SystemFacts> {
        let mut facts = SystemFacts::default();
        for candidate in ["/etc/os-release", "/usr/lib/os-release"] {
            if let Some(text) = read_text(node, Path::new(candidate))? {
                for line in text.lines() {
                    let Some((key, value)) = line.split_once('=') else {
                        continue;
                    };
                    let value = value
                        .trim()
                        .trim_matches('"')
                        .trim_matches('\'')
                        .to_string();
                    match key.trim() {
                        "ID" => facts.os_release_id = Some(value),
                        "ID_LIKE" => {
                            facts.os_release_id_like =
                                value.split_whitespace().map(str::to_string).collect()
                        }
                        "VERSION_ID" => facts.os_release_version_id = Some(value),
                        _ => {}
                    }
                }
                break;
            }
        }
        facts.redhat_release =
            read_text(node, Path::new("/etc/redhat-release"))?.map(|text| text.trim().to_string());
        facts.debian_version =
            read_text(node, Path::new("/etc/debian_version"))?.map(|text| text.trim().to_string());
        Ok(facts)
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(id) = &self.os_release_id {
            parts.push(format!(
                "os-release ID={id} VERSION_ID={}",
                self.os_release_version_id.as_deref().unwrap_or("?")
            ));
        }
        if let Some(text) = &self.redhat_release {
            parts.push(format!("redhat-release \"{text}\""));
        }
        if let Some(text) = &self.debian_version {
            parts.push(format!("debian_version \"{text}\""));
        }
        if parts.is_empty() {
            "no /etc/os-release, /etc/redhat-release or /etc/debian_version".to_string()
        } else {
            parts.join(", ")
        }
    }
}

fn read_text(node: &dyn Node, path: &Path) -> Result<Option<String>> {
    let real = resolve_symlinks(node, path)?;
    Ok(node
        .read(&real)?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

fn version_matches(wanted: &[String], actual: Option<&str>) -> bool {
    if wanted.is_empty() {
        return true;
    }
    let Some(actual) = actual else {
        return false;
    };
    wanted.iter().any(|w| {
        actual == w
            || actual
                .strip_prefix(w.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

impl Detect {
    /// Does this rule set match the facts?
    pub fn matches(&self, facts: &SystemFacts) -> Result<bool> {
        if let Some(id) = &facts.os_release_id {
            let version = facts.os_release_version_id.as_deref();
            if self.os_release_id.iter().any(|wanted| wanted == id)
                && version_matches(&self.version_id, version)
            {
                return Ok(true);
            }
            if self
                .os_release_id_like
                .iter()
                .any(|wanted| facts.os_release_id_like.contains(wanted))
                && version_matches(&self.version_id, version)
            {
                return Ok(true);
            }
        }
        if let (Some(pattern), Some(text)) = (&self.redhat_release_regex, &facts.redhat_release) {
            let regex = regex::Regex::new(pattern).map_err(|e| {
                Error::Profile(format!("bad redhat_release_regex `{pattern}`: {e}"))
            })?;
            if regex.is_match(text) {
                return Ok(true);
            }
        }
        if let Some(text) = &facts.debian_version {
            if self
                .debian_version_prefix
                .iter()
                .any(|prefix| text.starts_with(prefix.as_str()))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Profile {
    /// Parses a profile from TOML text.
    pub fn from_toml(text: &str, origin: &str) -> Result<Profile> {
        toml::from_str(text).map_err(|e| Error::Profile(format!("{origin}: {e}")))
    }

    /// Every profile built into the binary.
    pub fn all() -> Result<Vec<Profile>> {
        BUILT_IN
            .iter()
            .map(|(name, text)| Profile::from_toml(text, &format!("distro-profiles/{name}.toml")))
            .collect()
    }

    /// Names of the built-in profiles.
    pub fn names() -> Vec<&'static str> {
        BUILT_IN.iter().map(|(name, _)| *name).collect()
    }

    /// A built-in profile by name, or a profile file when `name` is a path
    /// ending in `.toml` (read on the machine the tool runs on).
    pub fn by_name(name: &str) -> Result<Profile> {
        if name.ends_with(".toml") {
            let text = std::fs::read_to_string(name).map_err(|e| Error::io(name, e))?;
            return Profile::from_toml(&text, name);
        }
        match BUILT_IN.iter().find(|(known, _)| *known == name) {
            Some((known, text)) => {
                Profile::from_toml(text, &format!("distro-profiles/{known}.toml"))
            }
            None => Err(Error::UnknownProfile {
                name: name.to_string(),
                known: Profile::names().join(", "),
            }),
        }
    }

    /// Whether the distribution's server is at least major.minor.
    pub fn version_at_least(&self, major: u32, minor: u32) -> bool {
        version_at_least(&self.server_version, major, minor)
    }

    /// Whether the server reads `binlog_format` (MySQL/MariaDB 5.1 and later).
    pub fn has_binlog_format(&self) -> bool {
        match self.flavor {
            Family::MariaDb => true,
            Family::MySql => version_at_least(&self.server_version, 5, 1),
        }
    }

    /// The option groups the server reads, as `mysqld --print-defaults` would.
    pub fn server_groups(&self) -> Vec<String> {
        let version = &self.server_version;
        let mut groups = vec![
            "mysqld".to_string(),
            "server".to_string(),
            format!("mysqld-{version}"),
        ];
        if self.flavor == Family::MariaDb {
            groups.extend([
                "mariadb".to_string(),
                format!("mariadb-{version}"),
                "mariadbd".to_string(),
                format!("mariadbd-{version}"),
                "client-server".to_string(),
                "galera".to_string(),
            ]);
        }
        groups
    }
}

fn version_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}

fn files_present(node: &dyn Node, files: &[PathBuf]) -> Result<bool> {
    for file in files {
        if node.stat(file)?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The profile of `node`: the forced one when given, else the first built-in
/// profile whose detection rules match the node's release files.
pub fn detect(node: &dyn Node, forced: Option<&str>) -> Result<Profile> {
    if let Some(name) = forced {
        return Profile::by_name(name);
    }
    let facts = SystemFacts::read(node)?;
    for profile in Profile::all()? {
        if profile.detect.matches(&facts)? && files_present(node, &profile.detect.files_present)? {
            return Ok(profile);
        }
    }
    Err(Error::UnknownSystem {
        node: node.label().to_string(),
        seen: facts.describe(),
        known: Profile::names().join(", "),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::node::LocalNode;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let host = dir.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(host.parent().unwrap()).unwrap();
            std::fs::write(host, text).unwrap();
        }
        dir
    }

    fn detected(files: &[(&str, &str)]) -> Result<Profile> {
        let dir = tree(files);
        detect(&LocalNode::with_root(dir.path()), None)
    }

    #[test]
    fn every_built_in_profile_parses_and_is_named_after_its_file() {
        for (file, text) in BUILT_IN {
            let profile = Profile::from_toml(text, file).unwrap();
            assert_eq!(&profile.name, file);
            assert!(!profile.service.start.is_empty());
            assert_eq!(Profile::by_name(file).unwrap(), profile);
        }
    }

    #[test]
    fn detects_each_distribution() {
        let debian12 =
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";
        assert_eq!(
            detected(&[
                ("/etc/os-release", debian12),
                ("/etc/debian_version", "12.8\n")
            ])
            .unwrap()
            .name,
            "debian-12"
        );
        let ubuntu = "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n";
        assert_eq!(
            detected(&[("/etc/os-release", ubuntu)]).unwrap().name,
            "ubuntu-24.04"
        );
        let rocky = "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n";
        assert_eq!(
            detected(&[("/etc/os-release", rocky)]).unwrap().name,
            "rhel-9"
        );
        let other = "ID=\"navy\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"9.1\"\n";
        assert_eq!(
            detected(&[("/etc/os-release", other)]).unwrap().name,
            "rhel-9"
        );
        assert_eq!(
            detected(&[("/etc/redhat-release", "Fedora Core release 5 (Bordeaux)\n")])
                .unwrap()
                .name,
            "fedora-core-5"
        );
        assert_eq!(
            detected(&[("/etc/redhat-release", "CentOS release 4.8 (Final)\n")])
                .unwrap()
                .name,
            "centos-4"
        );
        assert_eq!(
            detected(&[("/etc/debian_version", "4.0\n")]).unwrap().name,
            "debian-etch"
        );
        let trixie = "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nID=debian\nVERSION_ID=\"13\"\n";
        assert_eq!(
            detected(&[("/etc/os-release", trixie)]).unwrap().name,
            "debian-13"
        );
        // Unstable has no VERSION_ID; its server decides, not its release.
        let sid = "PRETTY_NAME=\"Debian GNU/Linux forky/sid\"\nID=debian\n";
        let mysqld_cnf = ("/etc/mysql/mysql.conf.d/mysqld.cnf", "[mysqld]\n");
        assert_eq!(
            detected(&[("/etc/os-release", sid), mysqld_cnf])
                .unwrap()
                .name,
            "debian-mysql"
        );
        assert_eq!(
            detected(&[("/etc/os-release", debian12), mysqld_cnf])
                .unwrap()
                .name,
            "debian-mysql"
        );
        assert!(detected(&[("/etc/os-release", sid)]).is_err());
    }

    #[test]
    fn unknown_system_lists_profiles_and_says_how_to_force_one() {
        let err = detected(&[("/etc/os-release", "ID=debian\nVERSION_ID=\"14\"\n")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("debian-12"), "{text}");
        assert!(text.contains("--profile"), "{text}");
        assert!(text.contains("VERSION_ID=14"), "{text}");
        let err = Profile::by_name("slackware").unwrap_err().to_string();
        assert!(err.contains("rhel-9"), "{err}");
    }

    #[test]
    fn forced_profile_wins_and_groups_follow_the_flavor() {
        let dir = tree(&[("/etc/debian_version", "4.0\n")]);
        let profile = detect(&LocalNode::with_root(dir.path()), Some("debian-12")).unwrap();
        assert_eq!(profile.name, "debian-12");
        assert!(profile
            .server_groups()
            .contains(&"mariadb-10.11".to_string()));
        let etch = Profile::by_name("debian-etch").unwrap();
        assert!(!etch.has_binlog_format());
        assert_eq!(etch.server_groups(), vec!["mysqld", "server", "mysqld-5.0"]);
    }
}
