//! The transactions a node logged and its peer never received, read from the
//! node's binary logs with the server's own binlog reader, for the
//! administrator to see and to keep.

use std::path::Path;

use crate::operation::pair::Member;
use crate::sql::gtid::{Gtid, Unsent};
use crate::{Error, Result};

/// One transaction, as people read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transaction {
    pub gtid: Gtid,
    /// Row changes (`### INSERT INTO ...`) and statements, without noise.
    pub lines: Vec<String>,
}

/// What was found: readable transactions, and the reader's own text of them
/// (decoded for people, and raw: SQL the client can replay after review).
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub transactions: Vec<Transaction>,
    pub decoded: String,
    pub replayable: String,
}

impl Listing {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for tx in &self.transactions {
            out.push_str(&format!("  transaction {}\n", tx.gtid));
            for line in tx.lines.iter().take(40) {
                out.push_str(&format!("    {line}\n"));
            }
            if tx.lines.len() > 40 {
                out.push_str(&format!("    ... {} more lines\n", tx.lines.len() - 40));
            }
        }
        out
    }
}

fn reader_program(member: &Member) -> &'static str {
    if member.profile.programs.client == "mariadb" {
        "mariadb-binlog"
    } else {
        "mysqlbinlog"
    }
}

/// The GTID a reader's comment line announces (`#... GTID 0-1-96 trans`).
fn gtid_of_line(line: &str) -> Option<Gtid> {
    if !line.starts_with('#') {
        return None;
    }
    let mut words = line.split_whitespace();
    while let Some(word) = words.next() {
        if word == "GTID" {
            return words.next().and_then(Gtid::parse);
        }
    }
    None
}

/// Splits the reader's output into the text before the first transaction
/// and one section per transaction.
fn sections(text: &str) -> (String, Vec<(Gtid, String)>) {
    let mut head = String::new();
    let mut found: Vec<(Gtid, String)> = Vec::new();
    for line in text.lines() {
        if let Some(gtid) = gtid_of_line(line) {
            found.push((gtid, String::new()));
        }
        let target = match found.last_mut() {
            Some((_, body)) => body,
            None => &mut head,
        };
        target.push_str(line);
        target.push('\n');
    }
    (head, found)
}

fn wanted(gtid: &Gtid, ranges: &[Unsent]) -> bool {
    ranges.iter().any(|r| {
        gtid.domain == r.last.domain
            && gtid.server == r.last.server
            && gtid.seq <= r.last.seq
            && r.after.is_none_or(|after| gtid.seq > after.seq)
    })
}

/// The lines worth showing of one decoded transaction.
fn readable(body: &str) -> Vec<String> {
    const NOISE: [&str; 10] = [
        "#",
        "/*",
        "SET ",
        "DELIMITER",
        "BEGIN",
        "COMMIT",
        "START TRANSACTION",
        "BINLOG",
        "ROLLBACK",
        "'",
    ];
    body.lines()
        .filter_map(|line| {
            if let Some(row) = line.strip_prefix("### ") {
                return Some(row.trim_end().to_string());
            }
            let trimmed = line.trim();
            if trimmed.is_empty() || NOISE.iter().any(|n| trimmed.starts_with(n)) {
                return None;
            }
            let statement = trimmed.trim_end_matches("/*!*/;").trim_end();
            (!statement.is_empty()).then(|| statement.to_string())
        })
        .collect()
}

/// Keeps the transactions within `ranges`: (readable list, their decoded
/// text, their raw text with the reader's header).
pub fn select(decoded: &str, raw: &str, ranges: &[Unsent]) -> Listing {
    let (_, decoded_sections) = sections(decoded);
    let (raw_head, raw_sections) = sections(raw);
    let mut listing = Listing::default();
    for (gtid, body) in decoded_sections.iter().filter(|(g, _)| wanted(g, ranges)) {
        listing.transactions.push(Transaction {
            gtid: *gtid,
            lines: readable(body),
        });
        listing.decoded.push_str(body);
    }
    listing.replayable.push_str(&raw_head);
    for (_, body) in raw_sections.iter().filter(|(g, _)| wanted(g, ranges)) {
        listing.replayable.push_str(body);
    }
    listing.replayable.push_str("DELIMITER ;\n");
    listing
}

/// The readable lines of a decoded listing, for the plan.
pub fn readable_lines(decoded: &str) -> Vec<String> {
    readable(decoded)
}

/// MySQL: reads `member`'s binary logs for the transactions of the GTID set
/// `errant` (`mysqlbinlog --include-gtids`): decoded for people and raw for
/// replay. The readable list stays empty (its GTIDs are MariaDB's kind).
pub fn read_errant(member: &mut Member, errant: &str) -> Result<Listing> {
    let files = binlog_files(member)?;
    let program = reader_program(member);
    let include = format!("--include-gtids={}", errant.replace('\n', ""));
    let read = |options: &[&str]| -> Result<String> {
        let mut argv: Vec<&str> = vec![program, &include];
        argv.extend_from_slice(options);
        argv.extend(files.iter().map(String::as_str));
        let out = member.access.run_checked(&argv, None)?;
        Ok(out.stdout_text())
    };
    Ok(Listing {
        transactions: Vec::new(),
        decoded: read(&["--base64-output=decode-rows", "--verbose"])?,
        replayable: read(&[])?,
    })
}

/// Every binary log the server keeps, as paths on its node.
fn binlog_files(member: &mut Member) -> Result<Vec<String>> {
    let basename = member
        .sql()
        .scalar("SELECT @@GLOBAL.log_bin_basename")?
        .unwrap_or_default();
    let dir = Path::new(&basename)
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::Node {
            node: member.label().to_string(),
            message: "the server keeps no binary log".into(),
        })?;
    Ok(member
        .sql()
        .rows("SHOW BINARY LOGS")?
        .iter()
        .filter_map(|row| row.get("Log_name").cloned().flatten())
        .map(|name| dir.join(name).to_string_lossy().into_owned())
        .collect())
}

/// Reads `member`'s binary logs and keeps the transactions within `ranges`.
pub fn read_unsent(member: &mut Member, ranges: &[Unsent]) -> Result<Listing> {
    if ranges.is_empty() {
        return Ok(Listing::default());
    }
    let files = binlog_files(member)?;
    let program = reader_program(member);
    let read = |options: &[&str]| -> Result<String> {
        let mut argv: Vec<&str> = vec![program];
        argv.extend_from_slice(options);
        argv.extend(files.iter().map(String::as_str));
        let out = member.access.run_checked(&argv, None)?;
        Ok(out.stdout_text())
    };
    let decoded = read(&["--base64-output=decode-rows", "--verbose"])?;
    let raw = read(&[])?;
    Ok(select(&decoded, &raw, ranges))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const DECODED: &str = "/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;\n\
# at 4\n\
#251125 23:00:00 server id 1  end_log_pos 256 CRC32 0x1  Start: binlog v 4\n\
# at 300\n\
#251125 23:00:01 server id 1  end_log_pos 342 CRC32 0x2  GTID 0-1-95 trans\n\
START TRANSACTION\n\
### INSERT INTO `shop`.`t`\n\
### SET\n\
###   @1=95\n\
COMMIT/*!*/;\n\
# at 400\n\
#251125 23:00:02 server id 1  end_log_pos 442 CRC32 0x3  GTID 0-1-96 trans\n\
START TRANSACTION\n\
### INSERT INTO `shop`.`t`\n\
### SET\n\
###   @1=96\n\
COMMIT/*!*/;\n\
# at 500\n\
#251125 23:00:03 server id 1  end_log_pos 542 CRC32 0x4  GTID 0-1-97 ddl\n\
use `shop`/*!*/;\n\
CREATE TABLE extra (n INT)\n\
/*!*/;\n\
DELIMITER ;\n\
# End of log file\n";

    #[test]
    fn keeps_only_what_came_after_the_last_received_transaction() {
        let ranges = [Unsent {
            after: Gtid::parse("0-1-95"),
            last: Gtid::parse("0-1-97").unwrap(),
        }];
        let listing = select(DECODED, DECODED, &ranges);
        let gtids: Vec<String> = listing
            .transactions
            .iter()
            .map(|t| t.gtid.to_string())
            .collect();
        assert_eq!(gtids, ["0-1-96", "0-1-97"]);
        assert_eq!(
            listing.transactions[0].lines,
            ["INSERT INTO `shop`.`t`", "SET", "  @1=96"]
        );
        assert_eq!(
            listing.transactions[1].lines,
            ["use `shop`", "CREATE TABLE extra (n INT)"]
        );
        assert!(listing.replayable.starts_with("/*!50530 SET"));
        assert!(!listing.replayable.contains("@1=95"));
        assert!(listing.replayable.contains("@1=96"));
        assert!(listing.render().contains("transaction 0-1-96"));
    }

    #[test]
    fn a_domain_never_seen_is_listed_from_its_start() {
        let ranges = [Unsent {
            after: None,
            last: Gtid::parse("0-1-96").unwrap(),
        }];
        let listing = select(DECODED, DECODED, &ranges);
        assert_eq!(listing.transactions.len(), 2);
    }
}
