//! The slave's replication filters: one `replicate-wild-do-table = DB.%`
//! per replicated database.
//!
//! Why table-level filters and not `replicate-do-db` (measured on MariaDB
//! 10.11 with `binlog_format = ROW`, see docs/guide.md "What the slave
//! replicates"): DDL is always logged as a statement, and `replicate-do-db`
//! judges a statement by its *default* database (`USE`), so
//! `CREATE TABLE shop.t` typed without `USE shop` was skipped and the next
//! row event for `shop.t` stopped the slave (error 1146). A table-level
//! filter judges a statement by the tables it writes, whatever the default
//! database: qualified DDL, `USE other` sessions writing into a chosen
//! database, views and triggers all follow the table. With the pattern
//! `DB.%` it also covers `CREATE/ALTER/DROP DATABASE DB`, and a statement
//! that writes no table (stored routines, events) is applied as it is.

/// The `replicate-wild-do-table` pattern that matches every table of
/// `database` and nothing else: `%`, `_` and `\` in the name are escaped
/// (the server's wildcard match takes `\` as its escape character).
pub fn wild_pattern(database: &str) -> String {
    let mut out = String::with_capacity(database.len() + 3);
    for c in database.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str(".%");
    out
}

/// The database a pattern made by [`wild_pattern`] stands for; None for any
/// other pattern (one naming tables, or with a wildcard in the database).
pub fn database_of_pattern(pattern: &str) -> Option<String> {
    let escaped = pattern.trim().strip_suffix(".%")?;
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '%' | '_' => return None,
            other => out.push(other),
        }
    }
    (!out.is_empty()).then_some(out)
}

fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// The databases a slave replicates by name, from its two filter lists as
/// the server shows them (`@@replicate_do_db`, `@@replicate_wild_do_table`:
/// comma-separated): the `replicate-do-db` ones of older runs and the
/// `DB.%` patterns, each once, in that order.
pub fn replicated_databases(do_db: &str, wild_do_table: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let names = split_list(do_db)
        .map(str::to_string)
        .chain(split_list(wild_do_table).filter_map(database_of_pattern));
    for name in names {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Patterns of `@@replicate_wild_do_table` that are not one database's
/// `DB.%` (set by hand): kept as they are whenever the tool sets the list.
pub fn other_patterns(wild_do_table: &str) -> Vec<String> {
    split_list(wild_do_table)
        .filter(|p| database_of_pattern(p).is_none())
        .map(str::to_string)
        .collect()
}

/// The value of `SET GLOBAL replicate_wild_do_table` that replicates
/// `databases` plus the hand-made `others`.
pub fn wild_list(databases: &[&str], others: &[String]) -> String {
    databases
        .iter()
        .map(|d| wild_pattern(d))
        .chain(others.iter().cloned())
        .collect::<Vec<_>>()
        .join(",")
}

/// Why the plan writes these lines, for the review screen.
pub const WHY: &str = "replicate-wild-do-table = DB.% judges each statement by the tables it writes, \
whatever its default database (USE): qualified DDL such as CREATE TABLE shop.t typed without USE shop \
reaches the slave; replicate-do-db judged DDL by the default database and skipped it";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(wild_pattern("shop"), "shop.%");
        assert_eq!(wild_pattern("web-stats"), "web-stats.%");
        assert_eq!(wild_pattern("web_stats"), "web\\_stats.%");
        assert_eq!(wild_pattern("100%"), "100\\%.%");
        assert_eq!(wild_pattern("a\\b"), "a\\\\b.%");
    }

    #[test]
    fn patterns_read_back() {
        for name in ["shop", "web-stats", "web_stats", "100%", "a\\b", "a.b"] {
            assert_eq!(
                database_of_pattern(&wild_pattern(name)).as_deref(),
                Some(name)
            );
        }
        assert_eq!(database_of_pattern("shop.orders"), None);
        assert_eq!(database_of_pattern("shop%.%"), None);
        assert_eq!(database_of_pattern("web_stats.%"), None);
        assert_eq!(database_of_pattern(".%"), None);
    }

    #[test]
    fn replicated_from_both_lists() {
        assert_eq!(
            replicated_databases("shop,crm", "crm.%,web\\_stats.%,hr.payroll%"),
            vec!["shop", "crm", "web_stats"]
        );
        assert_eq!(replicated_databases("", ""), Vec::<String>::new());
        assert_eq!(other_patterns("crm.%,hr.payroll%"), vec!["hr.payroll%"]);
        assert_eq!(
            wild_list(&["shop", "web_stats"], &["hr.payroll%".to_string()]),
            "shop.%,web\\_stats.%,hr.payroll%"
        );
    }
}
