//! MariaDB global transaction ids (domain-server-sequence) and the lists a
//! server reports (@@gtid_binlog_pos, @@gtid_binlog_state, @@gtid_slave_pos).

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Gtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seq)
    }
}

impl Gtid {
    pub fn parse(text: &str) -> Option<Gtid> {
        let mut parts = text.trim().splitn(3, '-');
        Some(Gtid {
            domain: parts.next()?.parse().ok()?,
            server: parts.next()?.parse().ok()?,
            seq: parts.next()?.parse().ok()?,
        })
    }
}

/// Parses a comma-separated list; an empty text is an empty list.
pub fn parse_list(text: &str) -> Result<Vec<Gtid>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| Gtid::parse(part).ok_or_else(|| format!("`{part}` is not a GTID")))
        .collect()
}

/// Whether a server at `current` (its @@gtid_slave_pos, say) has applied
/// every transaction up to `target`: each domain of `target` is there with
/// at least its sequence number.
pub fn covers(current: &[Gtid], target: &[Gtid]) -> bool {
    target.iter().all(|wanted| {
        current
            .iter()
            .any(|have| have.domain == wanted.domain && have.seq >= wanted.seq)
    })
}

pub fn render_list(list: &[Gtid]) -> String {
    list.iter()
        .map(Gtid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A node's GTID positions, as its server reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Positions {
    /// Last transaction logged, per domain.
    pub binlog_pos: Vec<Gtid>,
    /// Last transaction logged, per domain and server.
    pub binlog_state: Vec<Gtid>,
    /// Last transaction applied (or skipped by a filter) as a slave, per domain.
    pub slave_pos: Vec<Gtid>,
}

/// Transactions of one domain that one node logged and the other never got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unsent {
    /// The last of this server's transactions the other node has, if any.
    pub after: Option<Gtid>,
    /// The last one logged on the node being compared.
    pub last: Gtid,
}

/// What `other` knows of `server`'s transactions in `domain`: the highest
/// sequence it logged or applied from that server.
fn known(other: &Positions, domain: u32, server: u32) -> Option<Gtid> {
    other
        .binlog_state
        .iter()
        .chain(other.slave_pos.iter())
        .filter(|g| g.domain == domain && g.server == server)
        .max_by_key(|g| g.seq)
        .copied()
}

/// The transactions `old` logged that `new` does not have. A domain's last
/// transaction known to `new` means every earlier one is known too (a
/// domain's transactions are applied in order).
pub fn unsent(old: &Positions, new: &Positions) -> Vec<Unsent> {
    old.binlog_pos
        .iter()
        .filter_map(|last| {
            let after = known(new, last.domain, last.server);
            match after {
                Some(a) if a.seq >= last.seq => None,
                _ => Some(Unsent { after, last: *last }),
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn list(text: &str) -> Vec<Gtid> {
        parse_list(text).unwrap()
    }

    #[test]
    fn a_position_covers_a_target_domain_by_domain() {
        assert!(covers(&list("0-1-77"), &list("0-1-77")));
        assert!(covers(&list("0-2-80,1-1-5"), &list("0-1-77")));
        assert!(!covers(&list("0-1-76"), &list("0-1-77")));
        assert!(!covers(&list("0-1-77"), &list("0-1-77,1-1-1")));
        assert!(covers(&list("0-1-1"), &[]));
    }

    #[test]
    fn parses_and_renders_lists() {
        assert_eq!(list(""), vec![]);
        let parsed = list("0-1-100, 1-2-5");
        assert_eq!(
            parsed[1],
            Gtid {
                domain: 1,
                server: 2,
                seq: 5
            }
        );
        assert_eq!(render_list(&parsed), "0-1-100,1-2-5");
        assert!(parse_list("0-1").is_err());
        assert!(parse_list("a-b-c").is_err());
    }

    #[test]
    fn an_old_master_whose_last_write_reached_the_new_one_has_nothing_unsent() {
        // node2 received up to 0-1-95 and wrote 0-2-96.. after its takeover.
        let old = Positions {
            binlog_pos: list("0-1-95"),
            binlog_state: list("0-1-95"),
            slave_pos: vec![],
        };
        let new = Positions {
            binlog_pos: list("0-2-120"),
            binlog_state: list("0-1-95,0-2-120"),
            slave_pos: list("0-1-95"),
        };
        assert!(unsent(&old, &new).is_empty());
    }

    #[test]
    fn writes_after_the_last_one_received_are_unsent() {
        let old = Positions {
            binlog_pos: list("0-1-100"),
            binlog_state: list("0-1-100"),
            slave_pos: vec![],
        };
        let new = Positions {
            binlog_pos: list("0-2-120"),
            binlog_state: list("0-1-95,0-2-120"),
            slave_pos: list("0-1-95"),
        };
        assert_eq!(
            unsent(&old, &new),
            vec![Unsent {
                after: Gtid::parse("0-1-95"),
                last: Gtid::parse("0-1-100").unwrap()
            }]
        );
    }

    #[test]
    fn a_filtered_write_counts_as_received_through_the_slave_position() {
        // The slave skipped 0-1-101 (a database it does not replicate): it is
        // in its slave position, not in its binary log.
        let old = Positions {
            binlog_pos: list("0-1-101"),
            ..Positions::default()
        };
        let new = Positions {
            binlog_pos: list("0-2-130"),
            binlog_state: list("0-1-100,0-2-130"),
            slave_pos: list("0-1-101"),
        };
        assert!(unsent(&old, &new).is_empty());
    }

    #[test]
    fn a_domain_the_new_master_never_saw_is_unsent_from_the_start() {
        let old = Positions {
            binlog_pos: list("0-1-10,7-1-3"),
            ..Positions::default()
        };
        let new = Positions {
            binlog_state: list("0-1-10"),
            ..Positions::default()
        };
        let found = unsent(&old, &new);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].after, None);
        assert_eq!(found[0].last.domain, 7);
    }

    #[test]
    fn after_a_switchover_the_old_masters_own_history_counts() {
        // node1 replicated node2's 0-2-.. (log-slave-updates) and wrote none.
        let old = Positions {
            binlog_pos: list("0-2-140"),
            binlog_state: list("0-1-95,0-2-140"),
            slave_pos: list("0-2-140"),
        };
        let new = Positions {
            binlog_pos: list("0-2-150"),
            binlog_state: list("0-1-95,0-2-150"),
            slave_pos: vec![],
        };
        assert!(unsent(&old, &new).is_empty());
    }
}
