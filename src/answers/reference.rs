//! docs/answers.md's tables of keys, rendered from the fields' table: each
//! table sits between `<!-- answer keys: SECTION -->` and
//! `<!-- end answer keys -->`, and a unit test fails when the file differs
//! from what `FIELDS` renders. To write them again:
//! `MYSQL_HA_WRITE_DOCS=1 cargo test --lib answers::reference`.

use super::fields::{Asked, Field, FIELDS};
use super::Answers;

const BEGIN: &str = "<!-- answer keys: ";
const END: &str = "<!-- end answer keys -->";

/// The docs table a key belongs to, and its name in that table: `[master]`
/// and `[slave]` share one (`nodes`, `host`), `[cluster.ddns]` has its own.
pub fn doc_place(key: &str) -> (&'static str, &str) {
    for (prefix, section) in [
        ("master.", "nodes"),
        ("slave.", "nodes"),
        ("slave2.", "slave2"),
        ("cluster.ddns.", "cluster.ddns"),
        ("replication.", "replication"),
        ("cluster.", "cluster"),
        ("install.", "install"),
    ] {
        if let Some(leaf) = key.strip_prefix(prefix) {
            return (section, leaf);
        }
    }
    ("", key)
}

/// The default as docs/answers.md writes it: from `Answers::default()`.
fn default_text(field: &Field) -> String {
    if let Some(text) = field.default_doc {
        return text.to_string();
    }
    let defaults = toml::Value::try_from(Answers::default()).ok();
    let mut value = defaults.as_ref();
    for part in field.key.split('.') {
        value = value.and_then(|v| v.get(part));
    }
    match value {
        None => "none".into(),
        Some(toml::Value::String(s)) if s.is_empty() => "empty".into(),
        Some(toml::Value::String(s)) => format!("`{s}`"),
        Some(other) => format!("`{other}`"),
    }
}

struct Row {
    leaves: Vec<String>,
    default: String,
    wizard: Vec<String>,
    asked: Asked,
    rule: &'static str,
}

fn wizard_text(row: &Row) -> String {
    match row.asked {
        Asked::Not => "not asked".into(),
        Asked::Question => row.wizard.join(", "),
        Asked::List => format!("{} (a list of the master's)", row.wizard.join(", ")),
    }
}

/// One section's table. A key of both nodes is one row; keys in a row
/// with the same default and rule share it.
pub fn table(section: &str) -> String {
    let mut rows: Vec<Row> = Vec::new();
    for field in FIELDS {
        let (place, leaf) = doc_place(field.key);
        if place != section {
            continue;
        }
        if let Some(row) = rows.iter_mut().find(|r| r.leaves.iter().any(|l| l == leaf)) {
            if field.asked != Asked::Not && !row.wizard.contains(&field.label.to_string()) {
                row.wizard.push(field.label.into());
            }
            continue;
        }
        let default = default_text(field);
        let wizard = match field.asked {
            Asked::Not => Vec::new(),
            _ => vec![field.label.to_string()],
        };
        match rows.last_mut() {
            Some(last)
                if last.default == default
                    && last.rule == field.rule
                    && last.asked == field.asked =>
            {
                last.leaves.push(leaf.into());
                last.wizard.extend(wizard);
            }
            _ => rows.push(Row {
                leaves: vec![leaf.into()],
                default,
                wizard,
                asked: field.asked,
                rule: field.rule,
            }),
        }
    }
    let mut text = String::from("| key | default | wizard | validation |\n|---|---|---|---|\n");
    for row in &rows {
        let keys: Vec<String> = row.leaves.iter().map(|l| format!("`{l}`")).collect();
        text.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            keys.join(", "),
            row.default,
            wizard_text(row),
            row.rule
        ));
    }
    text
}

/// docs/answers.md with every marked table rendered again.
pub fn render_doc(doc: &str) -> String {
    let mut out = String::new();
    let mut rest = doc;
    while let Some(start) = rest.find(BEGIN) {
        let Some(name_end) = rest[start..].find("-->") else {
            break;
        };
        let header_end = start + name_end + "-->".len();
        let section = rest[start + BEGIN.len()..start + name_end].trim();
        let Some(end) = rest[header_end..].find(END) else {
            break;
        };
        out.push_str(&rest[..header_end]);
        out.push('\n');
        out.push_str(&table(section));
        out.push_str(END);
        rest = &rest[header_end + end + END.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SECTIONS: [&str; 6] = [
        "nodes",
        "slave2",
        "replication",
        "cluster",
        "cluster.ddns",
        "install",
    ];

    #[test]
    fn docs_tables_are_the_fields_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/answers.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let rendered = render_doc(&doc);
        if std::env::var_os("MYSQL_HA_WRITE_DOCS").is_some() {
            std::fs::write(&path, &rendered).unwrap();
            return;
        }
        for section in SECTIONS {
            assert!(
                doc.contains(&format!("{BEGIN}{section} -->")),
                "docs/answers.md has no table for {section}"
            );
        }
        assert!(
            doc == rendered,
            "docs/answers.md's tables differ from src/answers/fields.rs: run `MYSQL_HA_WRITE_DOCS=1 cargo test --lib answers::reference` and commit the file"
        );
    }

    #[test]
    fn every_field_is_documented() {
        for field in FIELDS {
            let (section, leaf) = doc_place(field.key);
            assert!(SECTIONS.contains(&section), "{}", field.key);
            assert!(
                table(section).contains(&format!("`{leaf}`")),
                "{} is in no table",
                field.key
            );
            assert!(!field.rule.is_empty(), "{} has no rule", field.key);
            assert!(
                !field.label.is_empty() && !field.help.is_empty(),
                "{}",
                field.key
            );
        }
    }

    #[test]
    fn both_nodes_keys_share_their_documentation() {
        for field in FIELDS.iter().filter(|f| f.key.starts_with("slave.")) {
            let twin = format!("master.{}", field.key.trim_start_matches("slave."));
            let master = super::super::fields::field(&twin).unwrap();
            assert_eq!(field.rule, master.rule, "{}", field.key);
            assert_eq!(default_text(field), default_text(master), "{}", field.key);
            assert_eq!(field.asked, master.asked, "{}", field.key);
        }
    }

    #[test]
    fn defaults_come_from_the_answers_default() {
        let table = table("replication");
        assert!(table.contains("| `user` | `repl` |"), "{table}");
        let table = table_of("nodes");
        assert!(
            table.contains("| `ssh_port` | `22` | not asked |"),
            "{table}"
        );
        let table = table_of("cluster");
        assert!(
            table.contains("| `run_without_fencing` | `false` |"),
            "{table}"
        );
        assert!(table.contains("| `fence_params` | `[]` |"), "{table}");
        assert!(
            table.contains("`check_interval_s`, `check_timeout_s` | none |"),
            "{table}"
        );
    }

    fn table_of(section: &str) -> String {
        table(section)
    }
}
