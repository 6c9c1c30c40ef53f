//! The sudoers allowlist of the cluster account, written from
//! `privileged::allowlist` so the daemon and sudo agree on every command.

use crate::privileged::PrivilegedCommand;
use crate::{Error, Result};

pub const SUDOERS_FILE: &str = "/etc/sudoers.d/mysql-ha";

/// One argument as sudoers reads it: `,` `:` `=` and `\` escaped. Words with
/// blanks, quotes or control characters cannot be expressed and are refused.
pub fn escape_argument(word: &str) -> Result<String> {
    if word.is_empty()
        || word
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '#')
    {
        return Err(Error::Profile(format!(
            "`{word}` cannot be written as a fixed sudo argument (empty, blank, quote or #)"
        )));
    }
    let mut out = String::new();
    for c in word.chars() {
        if matches!(c, ',' | ':' | '=' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// A command as sudoers writes it: full path, then fixed arguments; `""`
/// when it takes none (sudoers reads a bare path as "any arguments").
pub fn command_spec(argv: &[String]) -> Result<String> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Internal("an empty privileged command".into()));
    };
    if !program.starts_with('/') {
        return Err(Error::Profile(format!(
            "`{program}`: sudoers needs the full path of every allowed command (fix the distribution profile)"
        )));
    }
    let mut words = vec![escape_argument(program)?];
    if args.is_empty() {
        words.push("\"\"".into());
    }
    for arg in args {
        words.push(escape_argument(arg)?);
    }
    Ok(words.join(" "))
}

/// The file's contents: one rule per allowed command, nothing else.
pub fn render(account: &str, allowlist: &[PrivilegedCommand]) -> Result<String> {
    let mut out = String::from(
        "# Written by mysql-ha setup: the commands the cluster daemon may run as root.\n\
         # Made from the distribution profile and the [cluster] answers; change those\n\
         # and run setup again rather than editing this file.\n",
    );
    for command in allowlist {
        out.push_str(&format!("\n# {}\n", command.why));
        out.push_str(&format!(
            "{account} ALL=(root) NOPASSWD: {}\n",
            command_spec(&command.argv)?
        ));
    }
    Ok(out)
}

/// The commands `sudo -n -l` lists for the account (one per entry, as sudo
/// prints them, escapes removed).
pub fn parse_sudo_list(output: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_rules = false;
    for line in output.lines() {
        if line.contains("may run the following commands") {
            in_rules = true;
            continue;
        }
        if !in_rules {
            continue;
        }
        let line = line.trim();
        let Some(rest) = line.strip_prefix('(').and_then(|r| r.split_once(')')) else {
            continue;
        };
        let mut rule = rest.1.trim();
        for tag in ["NOPASSWD:", "PASSWD:", "SETENV:", "NOEXEC:"] {
            rule = rule.strip_prefix(tag).unwrap_or(rule).trim_start();
        }
        commands.extend(split_unescaped_commas(rule));
    }
    commands
}

fn split_unescaped_commas(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = rule.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ',' => {
                out.push(current.trim().to_string());
                current.clear();
            }
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// A command as `sudo -l` shows it, for comparing with the allowlist.
pub fn listed_form(argv: &[String]) -> String {
    if argv.len() == 1 {
        format!("{} \"\"", argv[0])
    } else {
        argv.join(" ")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::answers::{ClusterAnswers, Resource};
    use crate::privileged::allowlist;
    use crate::profile::Profile;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn special_characters_are_escaped_and_blanks_refused() {
        assert_eq!(
            escape_argument("2001:db8::10/64").unwrap(),
            "2001\\:db8\\:\\:10/64"
        );
        assert_eq!(escape_argument("a,b=c\\d").unwrap(), "a\\,b\\=c\\\\d");
        assert!(escape_argument("two words").is_err());
        assert!(escape_argument("").is_err());
        assert!(command_spec(&words(&["service", "mysql", "stop"])).is_err());
        assert_eq!(
            command_spec(&words(&["/usr/bin/true"])).unwrap(),
            "/usr/bin/true \"\""
        );
    }

    #[test]
    fn no_rule_allows_everything() {
        let profile = Profile::by_name("debian-12").unwrap();
        let cluster = ClusterAnswers {
            resource: Resource::Vip,
            vip: "192.0.2.10/24".into(),
            ..ClusterAnswers::default()
        };
        let text = render(
            "mysqlha",
            &allowlist(&profile, &cluster, crate::privileged::BINARY),
        )
        .unwrap();
        assert!(!text.contains("NOPASSWD: ALL"));
        assert!(text.contains("mysqlha ALL=(root) NOPASSWD: /etc/init.d/mariadb status\n"));
        assert!(text.contains(
            "mysqlha ALL=(root) NOPASSWD: /usr/sbin/ip addr add 192.0.2.10/24 dev eth0\n"
        ));
        assert!(text.contains(
            "mysqlha ALL=(root) NOPASSWD: /usr/local/sbin/mysql-ha privileged set-read-only on\n"
        ));
        assert_eq!(text.matches("NOPASSWD:").count(), 9);
    }

    /// visudo accepts what we write, IPv6 cluster addresses included.
    #[test]
    fn visudo_accepts_the_file() {
        if !std::path::Path::new("/usr/sbin/visudo").exists() {
            eprintln!("visudo is not installed: skipped");
            return;
        }
        let profile = Profile::by_name("debian-12").unwrap();
        let cluster = ClusterAnswers {
            resource: Resource::Vip,
            vip: "2001:db8::10/64".into(),
            ..ClusterAnswers::default()
        };
        let text = render(
            "mysqlha",
            &allowlist(&profile, &cluster, crate::privileged::BINARY),
        )
        .unwrap();
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        let out = std::process::Command::new("/usr/sbin/visudo")
            .arg("-cf")
            .arg(file.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{:?}", out);
        std::fs::write(file.path(), "mysqlha ALL=(root) NOPASSWD /bin/x\n").unwrap();
        let out = std::process::Command::new("/usr/sbin/visudo")
            .arg("-cf")
            .arg(file.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "visudo accepts a broken file");
    }

    #[test]
    fn sudo_list_is_read_back() {
        let output = "Matching Defaults entries for mysqlha on node1:\n    env_reset, mail_badpass\n\n\
User mysqlha may run the following commands on node1:\n    (root) NOPASSWD: /etc/init.d/mariadb start\n    (root) NOPASSWD: /usr/sbin/ip addr add 2001\\:db8\\:\\:10/64 dev eth0, /bin/x \"\"\n";
        assert_eq!(
            parse_sudo_list(output),
            vec![
                "/etc/init.d/mariadb start",
                "/usr/sbin/ip addr add 2001:db8::10/64 dev eth0",
                "/bin/x \"\""
            ]
        );
        assert_eq!(listed_form(&words(&["/bin/x"])), "/bin/x \"\"");
    }
}
