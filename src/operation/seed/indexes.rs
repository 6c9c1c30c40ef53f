//! Secondary indexes built after the load (parallel copies only). For a
//! table whose secondary indexes are large, the slave gets the table
//! without them, then the rows, then one ALTER TABLE that builds them all by
//! sorting instead of inserting every row into every index B-tree.
//!
//! Only plain `KEY name (col, ...)` lines of the master's SHOW CREATE TABLE
//! are deferred, re-added word for word; PRIMARY, UNIQUE, FULLTEXT, SPATIAL,
//! prefix, DESC, commented or ignored indexes stay in the schema, and tables
//! with foreign keys (either side) are left alone. Afterwards the slave's
//! SHOW CREATE TABLE of each such table must equal the master's.

use std::collections::{BTreeMap, BTreeSet};

use crate::access::Access;
use crate::events::{Event, Reporter};
use crate::sql::flavor::{quote_ident, quote_string};
use crate::sql::SqlConn;
use crate::{Error, Result};

/// Deferred only when the indexes to defer take at least this much on the
/// master (InnoDB's statistics of each index; the table's INDEX_LENGTH when
/// those are not kept). Measured on the sandbox (MariaDB 10.11, 128 MB buffer
/// pool, load then ALTER vs load with the index): 150,000 rows with a 4.5 MB
/// index, 20-35 % slower deferred; 100,000 rows with a 5 MB index, even;
/// 10 and 41 MB indexes, 10-15 % faster; a 119 MB index, 3.5 times faster.
/// Whole parallel seed of the 200 MB sample plus a 200,000-row table with
/// 90 MB of indexes: 21.0 s, 17.9 s deferred (medians of 5); the sample's
/// own 5 MB indexes deferred: no gain (11.8 s vs 11.7 s).
pub const MIN_INDEX_BYTES: u64 = 16 * 1024 * 1024;

/// One index, as SHOW CREATE TABLE writes it (`KEY `a` (`x`,`y`)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    pub definition: String,
    pub first_column: String,
}

/// A table whose secondary indexes are built after its rows are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredTable {
    pub database: String,
    pub table: String,
    pub keys: Vec<Key>,
}

impl DeferredTable {
    fn name(&self) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.database),
            quote_ident(&self.table)
        )
    }

    /// Run on the empty table right after the schema is loaded.
    pub fn drop_statement(&self) -> String {
        let drops: Vec<String> = self
            .keys
            .iter()
            .map(|k| format!("DROP INDEX {}", quote_ident(&k.name)))
            .collect();
        format!("ALTER TABLE {} {}", self.name(), drops.join(", "))
    }

    /// Run once every row is in: all of the table's indexes in one pass.
    pub fn add_statement(&self) -> String {
        let adds: Vec<String> = self
            .keys
            .iter()
            .map(|k| format!("ADD {}", k.definition))
            .collect();
        format!("ALTER TABLE {} {}", self.name(), adds.join(", "))
    }
}

/// Lines for the plan: what is built after the load, and how.
pub fn describe(tables: &[DeferredTable]) -> Vec<String> {
    if tables.is_empty() {
        return Vec::new();
    }
    let count: usize = tables.iter().map(|t| t.keys.len()).sum();
    let mut lines = vec![format!(
        "{count} secondary indexes on {} tables built after the load (at least {} MB of them per table):",
        tables.len(),
        MIN_INDEX_BYTES / (1024 * 1024)
    )];
    for table in tables {
        lines.push(format!(
            "on slave:  {}   (on the empty table)",
            table.drop_statement()
        ));
        lines.push(format!(
            "on slave:  {}   (once the rows are in)",
            table.add_statement()
        ));
    }
    lines
}

/// The indexes of this SHOW CREATE TABLE text that can be built after the
/// load and come out identical: the trailing run of plain `KEY` lines among
/// the non-unique, non-fulltext indexes (the server keeps those in creation
/// order, so re-adding a trailing run puts them back in place). Nothing when
/// the table has a foreign key or a line this does not recognise.
pub fn deferrable_keys(create_table: &str) -> Vec<Key> {
    let lines = body_lines(create_table);
    // An AUTO_INCREMENT column must lead some index at all times.
    let counters: Vec<String> = lines
        .iter()
        .filter(|line| line.contains(" AUTO_INCREMENT"))
        .filter_map(|line| identifier(line).map(|(name, _)| name))
        .collect();
    let mut ordered: Vec<Option<Key>> = Vec::new();
    for line in lines {
        if line.starts_with('`')
            || line.starts_with("PRIMARY KEY ")
            || line.starts_with("UNIQUE KEY ")
            || line.starts_with("FULLTEXT KEY ")
        {
            continue;
        }
        if let Some(rest) = line.strip_prefix("CONSTRAINT ") {
            if rest.contains(" FOREIGN KEY ") {
                return Vec::new();
            }
            continue;
        }
        if line.starts_with("KEY ") {
            ordered.push(plain_key(line).filter(|key| !counters.contains(&key.first_column)));
        } else if line.starts_with("SPATIAL KEY ") {
            ordered.push(None);
        } else {
            return Vec::new();
        }
    }
    let mut keys: Vec<Key> = ordered.into_iter().rev().map_while(|key| key).collect();
    keys.reverse();
    keys
}

/// Lines between `CREATE TABLE ... (` and the closing `)`, trimmed, without
/// their trailing comma.
fn body_lines(create_table: &str) -> Vec<&str> {
    create_table
        .lines()
        .skip(1)
        .take_while(|line| !line.starts_with(')'))
        .map(|line| {
            let line = line.trim();
            line.strip_suffix(',').unwrap_or(line)
        })
        .collect()
}

/// `KEY `name` (`col`,`col`)` and nothing else: no prefix length, no
/// order, no option after the column list.
fn plain_key(line: &str) -> Option<Key> {
    let rest = line.strip_prefix("KEY ")?;
    let (name, rest) = identifier(rest)?;
    let mut rest = rest.strip_prefix(" (")?;
    let mut columns = Vec::new();
    loop {
        let (column, after) = identifier(rest)?;
        columns.push(column);
        if let Some(next) = after.strip_prefix(',') {
            rest = next;
        } else if after == ")" {
            return Some(Key {
                name,
                definition: line.to_string(),
                first_column: columns.swap_remove(0),
            });
        } else {
            return None;
        }
    }
}

/// A backquoted identifier at the start of `text` (`` `a``b` `` is a`b) and
/// what follows it.
fn identifier(text: &str) -> Option<(String, &str)> {
    let inner = text.strip_prefix('`')?;
    let mut name = String::new();
    let mut chars = inner.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '`' {
            name.push(c);
            continue;
        }
        if chars.peek().map(|(_, next)| *next) == Some('`') {
            chars.next();
            name.push('`');
            continue;
        }
        return Some((name, &inner[i + 1..]));
    }
    None
}

/// SHOW CREATE TABLE without the table's AUTO_INCREMENT counter, which is
/// data (the next value), not schema: the master's may be past its rows.
pub fn schema_text(create_table: &str) -> String {
    create_table
        .lines()
        .map(|line| {
            if !line.starts_with(')') {
                return line.to_string();
            }
            line.split(' ')
                .filter(|word| {
                    !word
                        .strip_prefix("AUTO_INCREMENT=")
                        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn show_create_table(conn: &mut SqlConn, database: &str, table: &str) -> Result<String> {
    let rows = conn.rows(&format!(
        "SHOW CREATE TABLE {}.{}",
        quote_ident(database),
        quote_ident(table)
    ))?;
    rows.first()
        .and_then(|row| row.get("Create Table").cloned().flatten())
        .ok_or_else(|| Error::Seed {
            node: conn.node().to_string(),
            message: format!("SHOW CREATE TABLE `{database}`.`{table}` returned nothing"),
        })
}

/// Tables of `databases` whose indexes are worth building after the load,
/// with those indexes, read from the master.
pub fn plan(master: &mut SqlConn, databases: &[String]) -> Result<Vec<DeferredTable>> {
    if databases.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = databases.iter().map(|d| quote_string(d)).collect();
    let list = list.join(",");
    // InnoDB needs an index for each foreign key, on both sides.
    let mut with_foreign_keys = BTreeSet::new();
    for row in master.rows(&format!(
        "SELECT CONSTRAINT_SCHEMA AS db, TABLE_NAME AS name, UNIQUE_CONSTRAINT_SCHEMA AS ref_db, \
         REFERENCED_TABLE_NAME AS ref_name FROM information_schema.REFERENTIAL_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA IN ({list}) OR UNIQUE_CONSTRAINT_SCHEMA IN ({list})"
    ))? {
        let get = |k: &str| row.get(k).cloned().flatten().unwrap_or_default();
        with_foreign_keys.insert((get("db"), get("name")));
        with_foreign_keys.insert((get("ref_db"), get("ref_name")));
    }
    let candidates = master.rows(&format!(
        "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES \
         WHERE TABLE_TYPE = 'BASE TABLE' AND ENGINE = 'InnoDB' AND CREATE_OPTIONS NOT LIKE '%partitioned%' \
         AND TABLE_SCHEMA IN ({list}) AND INDEX_LENGTH >= {MIN_INDEX_BYTES} ORDER BY INDEX_LENGTH DESC, 1, 2"
    ))?;
    let mut tables = Vec::new();
    for row in candidates {
        let get = |k: &str| row.get(k).cloned().flatten().unwrap_or_default();
        let (database, table) = (get("db"), get("name"));
        if with_foreign_keys.contains(&(database.clone(), table.clone())) {
            continue;
        }
        let keys = deferrable_keys(&show_create_table(master, &database, &table)?);
        if !keys.is_empty() && worth_deferring(&keys, &index_sizes(master, &database, &table)) {
            tables.push(DeferredTable {
                database,
                table,
                keys,
            });
        }
    }
    Ok(tables)
}

/// Bytes of each index of a table from InnoDB's persistent statistics;
/// empty when they are not kept or cannot be read.
fn index_sizes(master: &mut SqlConn, database: &str, table: &str) -> BTreeMap<String, u64> {
    let rows = master
        .rows(&format!(
            "SELECT index_name AS name, stat_value * @@innodb_page_size AS bytes \
             FROM mysql.innodb_index_stats WHERE stat_name = 'size' \
             AND database_name = {} AND table_name = {}",
            quote_string(database),
            quote_string(table)
        ))
        .unwrap_or_default();
    rows.iter()
        .filter_map(|row| {
            let name = row.get("name").cloned().flatten()?;
            let bytes = row.get("bytes").cloned().flatten()?.parse().ok()?;
            Some((name, bytes))
        })
        .collect()
}

/// Whether these keys are large enough to be built after the load: their
/// own sizes when every one is known, else the table's total (which
/// already passed the limit) decides.
pub fn worth_deferring(keys: &[Key], sizes: &BTreeMap<String, u64>) -> bool {
    let known: Vec<u64> = keys
        .iter()
        .filter_map(|k| sizes.get(&k.name).copied())
        .collect();
    known.len() < keys.len() || known.iter().sum::<u64>() >= MIN_INDEX_BYTES
}

fn count(tables: &[DeferredTable]) -> (usize, usize) {
    (tables.iter().map(|t| t.keys.len()).sum(), tables.len())
}

/// Takes the deferred indexes off the slave's tables while they are empty
/// (right after the schema loaded).
pub fn leave_out(
    tables: &[DeferredTable],
    slave: &Access,
    load_argv: &[String],
    reporter: &dyn Reporter,
) -> Result<()> {
    if tables.is_empty() {
        return Ok(());
    }
    let (keys, count) = count(tables);
    reporter.event(Event::Note {
        message: format!(
            "leaving {keys} secondary indexes on {count} tables out until the rows are in"
        ),
    });
    let jobs = tables.iter().map(|t| (t, t.drop_statement())).collect();
    run_on_slave(jobs, 1, slave, load_argv)
}

/// Builds the deferred indexes once every row is in, one ALTER TABLE per
/// table, up to `workers` tables at once; then each table must read as on
/// the master.
pub fn build(
    tables: &[DeferredTable],
    workers: usize,
    slave: &Access,
    load_argv: &[String],
    reporter: &dyn Reporter,
    master_conn: &mut SqlConn,
    slave_conn: &mut SqlConn,
) -> Result<()> {
    if tables.is_empty() {
        return Ok(());
    }
    let (keys, count) = count(tables);
    reporter.event(Event::Note {
        message: format!("building {keys} secondary indexes on {count} tables"),
    });
    let started = std::time::Instant::now();
    let jobs = tables.iter().map(|t| (t, t.add_statement())).collect();
    run_on_slave(jobs, workers, slave, load_argv)?;
    verify(master_conn, slave_conn, tables)?;
    reporter.event(Event::Note {
        message: format!(
            "built {keys} secondary indexes on {count} tables in {:.1} s; each table's SHOW CREATE TABLE equals the master's",
            started.elapsed().as_secs_f64()
        ),
    });
    Ok(())
}

/// Runs one statement per job through the slave's load client (so with
/// sql_log_bin=0, like the loads), up to `workers` at once; the first error
/// wins and names its table.
fn run_on_slave(
    jobs: Vec<(&DeferredTable, String)>,
    workers: usize,
    slave: &Access,
    load_argv: &[String],
) -> Result<()> {
    let refs: Vec<&str> = load_argv.iter().map(String::as_str).collect();
    super::run_pooled(jobs, workers, |(table, statement)| {
        let script = format!("{statement};\n");
        run_in_own_session(slave, &refs, script.as_bytes()).map_err(|err| Error::Seed {
            node: slave.node().label().to_string(),
            message: format!(
                "changing the secondary indexes of {} failed ({statement}): {err}",
                table.name()
            ),
        })
    })
}

/// Runs one client with `input` on its stdin in a session of its own (as
/// the loads do): the node's shared shell would run the builds one by one.
fn run_in_own_session(slave: &Access, argv: &[&str], input: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut child = slave.spawn(argv)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input)
            .map_err(|e| Error::io(argv.first().copied().unwrap_or("client"), e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(argv.first().copied().unwrap_or("client"), e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::Command {
        host: slave.node().label().to_string(),
        command: argv.join(" "),
        status: out.status.to_string(),
        detail: crate::error::stderr_detail(&out.stderr),
    })
}

/// Each deferred table's SHOW CREATE TABLE on the slave against the
/// master's; an error names the first that differs.
pub fn verify(master: &mut SqlConn, slave: &mut SqlConn, tables: &[DeferredTable]) -> Result<()> {
    for table in tables {
        let on_master = show_create_table(master, &table.database, &table.table)?;
        let on_slave = show_create_table(slave, &table.database, &table.table)?;
        if schema_text(&on_master) != schema_text(&on_slave) {
            return Err(Error::Verify {
                node: slave.node().to_string(),
                message: format!(
                    "{} does not have the master's definition after its secondary indexes were built:\nmaster: {on_master}\nslave:  {on_slave}",
                    table.name()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn names(keys: &[Key]) -> Vec<&str> {
        keys.iter().map(|k| k.name.as_str()).collect()
    }

    const ORDERS: &str = "CREATE TABLE `orders` (
  `id` int(11) NOT NULL,
  `customer_id` int(11) NOT NULL,
  `items` varchar(255) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `items_u` (`items`),
  KEY `customer_id` (`customer_id`),
  KEY `both` (`customer_id`,`items`),
  FULLTEXT KEY `ft` (`items`)
) ENGINE=InnoDB AUTO_INCREMENT=17 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";

    #[test]
    fn plain_keys_are_deferred_word_for_word() {
        let keys = deferrable_keys(ORDERS);
        assert_eq!(names(&keys), vec!["customer_id", "both"]);
        assert_eq!(keys[1].definition, "KEY `both` (`customer_id`,`items`)");
        let table = DeferredTable {
            database: "web-stats".into(),
            table: "orders".into(),
            keys,
        };
        assert_eq!(
            table.drop_statement(),
            "ALTER TABLE `web-stats`.`orders` DROP INDEX `customer_id`, DROP INDEX `both`"
        );
        assert_eq!(
            table.add_statement(),
            "ALTER TABLE `web-stats`.`orders` ADD KEY `customer_id` (`customer_id`), ADD KEY `both` (`customer_id`,`items`)"
        );
    }

    #[test]
    fn keys_that_cannot_be_reproduced_stay_and_keep_their_place() {
        // Only the trailing plain keys: re-adding `a` would move it after `p`.
        let text = "CREATE TABLE `t` (
  `a` int(11) NOT NULL,
  `b` varchar(50) NOT NULL,
  KEY `a` (`a`),
  KEY `p` (`b`(10)),
  KEY `c` (`a`,`b`),
  KEY `d` (`b`)
) ENGINE=InnoDB";
        assert_eq!(names(&deferrable_keys(text)), vec!["c", "d"]);
        for last in [
            "KEY `z` (`a` DESC)",
            "KEY `z` (`a`) COMMENT 'hot'",
            "KEY `z` (`a`) IGNORED",
            "KEY `z` (`a`) USING BTREE",
            "KEY `z` (`a`) /*!80000 INVISIBLE */",
            "KEY `z` ((`a` + 1))",
            "SPATIAL KEY `z` (`g`)",
        ] {
            let text = format!(
                "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  KEY `y` (`a`),\n  {last}\n) ENGINE=InnoDB"
            );
            assert!(deferrable_keys(&text).is_empty(), "{last}");
        }
    }

    #[test]
    fn the_index_an_auto_increment_column_needs_stays() {
        let text = "CREATE TABLE `t` (
  `code` varchar(10) NOT NULL,
  `n` int(11) NOT NULL AUTO_INCREMENT,
  `m` int(11) NOT NULL,
  PRIMARY KEY (`code`),
  KEY `m` (`m`),
  KEY `n` (`n`,`m`),
  KEY `mn` (`m`,`n`)
) ENGINE=InnoDB AUTO_INCREMENT=9";
        assert_eq!(names(&deferrable_keys(text)), vec!["mn"]);
    }

    #[test]
    fn tables_with_foreign_keys_or_unknown_lines_are_left_alone() {
        let with_fk = "CREATE TABLE `t` (
  `a` int(11) NOT NULL,
  KEY `a` (`a`),
  CONSTRAINT `fk` FOREIGN KEY (`a`) REFERENCES `u` (`id`)
) ENGINE=InnoDB";
        assert!(deferrable_keys(with_fk).is_empty());
        let with_check = "CREATE TABLE `t` (
  `a` int(11) NOT NULL,
  KEY `a` (`a`),
  CONSTRAINT `positive` CHECK (`a` > 0)
) ENGINE=InnoDB";
        assert_eq!(names(&deferrable_keys(with_check)), vec!["a"]);
        let with_period = "CREATE TABLE `t` (
  `s` date NOT NULL,
  `e` date NOT NULL,
  KEY `s` (`s`),
  PERIOD FOR `p` (`s`, `e`)
) ENGINE=InnoDB";
        assert!(deferrable_keys(with_period).is_empty());
        let only_primary =
            "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  PRIMARY KEY (`a`)\n) ENGINE=InnoDB";
        assert!(deferrable_keys(only_primary).is_empty());
    }

    #[test]
    fn quoted_names_round_trip() {
        let text = "CREATE TABLE `t` (\n  `we``ird` int(11) NOT NULL,\n  KEY `k``1` (`we``ird`)\n) ENGINE=InnoDB";
        let keys = deferrable_keys(text);
        assert_eq!(names(&keys), vec!["k`1"]);
        let table = DeferredTable {
            database: "d".into(),
            table: "t".into(),
            keys,
        };
        assert_eq!(
            table.drop_statement(),
            "ALTER TABLE `d`.`t` DROP INDEX `k``1`"
        );
        assert!(identifier("`unterminated").is_none());
    }

    #[test]
    fn the_auto_increment_counter_is_not_schema() {
        let slave = ORDERS.replace("AUTO_INCREMENT=17 ", "AUTO_INCREMENT=5 ");
        assert_eq!(schema_text(ORDERS), schema_text(&slave));
        assert_ne!(
            schema_text(ORDERS),
            schema_text(&ORDERS.replace("KEY `both`", "KEY `other`"))
        );
        // A column's AUTO_INCREMENT attribute is schema.
        let column = "CREATE TABLE `t` (\n  `a` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`a`)\n) ENGINE=InnoDB AUTO_INCREMENT=3";
        assert_eq!(
            schema_text(column),
            "CREATE TABLE `t` (\n  `a` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`a`)\n) ENGINE=InnoDB"
        );
    }

    #[test]
    fn only_large_deferrable_indexes_are_worth_it() {
        let keys = deferrable_keys(ORDERS);
        let mb = 1024 * 1024;
        let sizes = |a: u64, b: u64| {
            BTreeMap::from([
                ("PRIMARY".to_string(), 900 * mb),
                ("items_u".to_string(), 300 * mb),
                ("customer_id".to_string(), a * mb),
                ("both".to_string(), b * mb),
            ])
        };
        // Large UNIQUE and primary indexes do not make small plain ones worth it.
        assert!(!worth_deferring(&keys, &sizes(2, 3)));
        assert!(worth_deferring(&keys, &sizes(6, 10)));
        // Without statistics the table's INDEX_LENGTH (over the limit) decides.
        assert!(worth_deferring(&keys, &BTreeMap::new()));
    }

    #[test]
    fn the_plan_names_each_statement() {
        let tables = vec![DeferredTable {
            database: "shop".into(),
            table: "reviews".into(),
            keys: deferrable_keys(ORDERS),
        }];
        let lines = describe(&tables);
        assert!(lines[0].starts_with("2 secondary indexes on 1 tables built after the load"));
        assert_eq!(
            lines[1],
            "on slave:  ALTER TABLE `shop`.`reviews` DROP INDEX `customer_id`, DROP INDEX `both`   (on the empty table)"
        );
        assert_eq!(
            lines[2],
            "on slave:  ALTER TABLE `shop`.`reviews` ADD KEY `customer_id` (`customer_id`), ADD KEY `both` (`customer_id`,`items`)   (once the rows are in)"
        );
        assert!(describe(&[]).is_empty());
    }
}
