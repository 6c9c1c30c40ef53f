//! Option names as the server matches them: dashes and underscores are the
//! same, `loose-` only silences "unknown option", `skip-X`/`disable-X` turn a
//! boolean off and `enable-X` turns it on, and a few options have two names.

/// An option name as written in a file, with what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionName {
    /// Exactly as written (`Bind-Address`, `loose-skip-networking`).
    pub written: String,
    /// The option it sets, prefixes removed, `-` made `_`, aliases folded
    /// (`bind_address`, `networking`, `log_slave_updates`).
    pub key: String,
    /// Written with a `loose-` prefix.
    pub loose: bool,
    /// Written as `skip-X` or `disable-X`: the boolean X is turned off.
    pub negated: bool,
    /// Length of the `loose-`/`skip-`/`disable-`/`enable-` prefixes in `written`.
    pub prefix_len: usize,
}

/// Names that mean the same option (new name, old name): the key used is the old one.
const ALIASES: &[(&str, &str)] = &[
    ("log_replica_updates", "log_slave_updates"),
    ("replica_skip_errors", "slave_skip_errors"),
    ("skip_replica_start", "skip_slave_start"),
];

/// Options whose every occurrence counts (each line adds one value).
const MULTI_VALUED: &[&str] = &[
    "replicate_do_db",
    "replicate_ignore_db",
    "replicate_do_table",
    "replicate_ignore_table",
    "replicate_wild_do_table",
    "replicate_wild_ignore_table",
    "replicate_rewrite_db",
    "binlog_do_db",
    "binlog_ignore_db",
    "plugin_load_add",
];

impl OptionName {
    pub fn parse(written: &str) -> OptionName {
        let mut key = written.replace('-', "_");
        for (new, old) in ALIASES {
            if key == *new || key.strip_prefix("loose_") == Some(new) {
                key = key.replace(new, old);
            }
        }
        let mut prefix_len = 0;
        let mut loose = false;
        if let Some(rest) = key.strip_prefix("loose_") {
            loose = true;
            prefix_len += 6;
            key = rest.to_string();
        }
        let mut negated = false;
        for (prefix, negates) in [("skip_", true), ("disable_", true), ("enable_", false)] {
            if let Some(rest) = key.strip_prefix(prefix) {
                if rest.is_empty() {
                    continue;
                }
                negated = negates;
                prefix_len += prefix.len();
                key = rest.to_string();
                break;
            }
        }
        OptionName {
            written: written.to_string(),
            key,
            loose,
            negated,
            prefix_len,
        }
    }

    /// The name without `loose-`/`skip-`/`disable-`/`enable-`, in the file's spelling.
    pub fn positive_written(&self) -> &str {
        self.written.get(self.prefix_len..).unwrap_or(&self.written)
    }
}

/// The key an option name sets (`Log-Bin` stays case-sensitive: `Log_Bin`).
pub fn key_of(name: &str) -> String {
    OptionName::parse(name).key
}

/// Whether every occurrence of the option adds a value (replicate-do-db, ...).
pub fn is_multi_valued(key: &str) -> bool {
    MULTI_VALUED.contains(&key)
}

/// A boolean option value as the server reads it; None when it is not one.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "true" => Some(true),
        "0" | "off" | "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_spellings() {
        let n = OptionName::parse("loose-skip-networking");
        assert_eq!(n.key, "networking");
        assert!(n.loose && n.negated);
        assert_eq!(n.positive_written(), "networking");
        assert_eq!(key_of("bind-address"), key_of("bind_address"));
        assert_eq!(key_of("log-replica-updates"), "log_slave_updates");
        let n = OptionName::parse("enable-named-pipe");
        assert_eq!((n.key.as_str(), n.negated), ("named_pipe", false));
        assert_eq!(
            OptionName::parse("disable-log-bin").positive_written(),
            "log-bin"
        );
        assert_eq!(key_of("skip"), "skip");
        assert!(is_multi_valued(&key_of("replicate-do-db")));
        assert_eq!(parse_bool("ON"), Some(true));
        assert_eq!(parse_bool("mysql-bin"), None);
    }
}
