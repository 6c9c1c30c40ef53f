//! One vote on who may be master: the promise a voter (the witness, or a
//! node's own daemon) gives a master for a lease, and the rules by which it
//! refuses to back anyone else until that promise has run out. Pure logic:
//! time comes in as milliseconds of a monotonic clock.
//!
//! A master needs its own vote and one more (the peer's or the witness's);
//! a slave may promote itself only with its own vote and the witness's, and
//! each of those is refused while it still backs the old master. So the old
//! master's lease (which it counts from before it asked, and shortens for
//! clock drift) has always run out before a new master exists.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a voter is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Request {
    /// The master of `term` asks to keep (or take, for a newer term) the lease.
    /// `in_sync`: with semi-synchronous durability, whether every write the
    /// master acknowledges is also on the slave (None: asynchronous).
    Renew {
        candidate: String,
        term: u64,
        in_sync: Option<bool>,
    },
    /// A slave asks to become master of the newer `term`.
    Promote { candidate: String, term: u64 },
    /// What the voter backs now (no change).
    Status,
}

/// A voter's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reply {
    /// Backs the candidate for `lease_ms` from the moment it answered.
    Granted {
        lease_ms: u64,
    },
    Refused {
        reason: String,
        /// Whom it backs and for which term.
        holder: Option<String>,
        term: u64,
    },
    Status(VoterView),
}

/// What a voter backs, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoterView {
    pub holder: Option<String>,
    pub term: u64,
    /// How long its promise to the holder still runs (0: none).
    pub remaining_ms: u64,
    pub in_sync: Option<bool>,
    /// Milliseconds since each node last asked this voter anything.
    pub last_seen_ms: BTreeMap<String, u64>,
}

/// What survives a restart of the voter: whom it backed, for which term,
/// and whether that master said the slave has every write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persisted {
    pub term: u64,
    pub holder: Option<String>,
    #[serde(default)]
    pub in_sync: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Voter {
    lease_ms: u64,
    state: Persisted,
    /// Clock time when the promise to `state.holder` runs out.
    expires_at: u64,
    last_seen: BTreeMap<String, u64>,
}

impl Voter {
    /// A voter that starts (or restarts) at `now`: it cannot know whether it
    /// promised its last holder a lease just before it stopped, so it keeps
    /// that promise for one whole lease from now.
    pub fn new(state: Persisted, lease_ms: u64, now: u64) -> Voter {
        let expires_at = if state.holder.is_some() {
            now + lease_ms
        } else {
            0
        };
        Voter {
            lease_ms,
            state,
            expires_at,
            last_seen: BTreeMap::new(),
        }
    }

    pub fn persisted(&self) -> &Persisted {
        &self.state
    }

    pub fn lease_ms(&self) -> u64 {
        self.lease_ms
    }

    fn promised_to_other(&self, candidate: &str, now: u64) -> Option<String> {
        match &self.state.holder {
            Some(holder) if holder != candidate && now < self.expires_at => Some(format!(
                "it backs {holder} (term {}) for {} ms more",
                self.state.term,
                self.expires_at - now
            )),
            _ => None,
        }
    }

    fn refuse(&self, reason: String) -> Reply {
        Reply::Refused {
            reason,
            holder: self.state.holder.clone(),
            term: self.state.term,
        }
    }

    /// Whether the request would be granted, without changing anything.
    pub fn would_grant(&self, request: &Request, now: u64) -> Result<(), String> {
        let mut copy = self.clone();
        match copy.decide(request, now).0 {
            Reply::Refused { reason, .. } => Err(reason),
            _ => Ok(()),
        }
    }

    /// Answers a request; the bool says whether the persisted part changed
    /// (and must be written before the answer leaves).
    pub fn decide(&mut self, request: &Request, now: u64) -> (Reply, bool) {
        let before = self.state.clone();
        let reply = match request {
            Request::Status => {
                return (
                    Reply::Status(VoterView {
                        holder: self.state.holder.clone(),
                        term: self.state.term,
                        remaining_ms: self.expires_at.saturating_sub(now),
                        in_sync: self.state.in_sync,
                        last_seen_ms: self
                            .last_seen
                            .iter()
                            .map(|(node, at)| (node.clone(), now.saturating_sub(*at)))
                            .collect(),
                    }),
                    false,
                )
            }
            Request::Renew {
                candidate,
                term,
                in_sync,
            } => {
                self.last_seen.insert(candidate.clone(), now);
                self.renew(candidate, *term, *in_sync, now)
            }
            Request::Promote { candidate, term } => {
                self.last_seen.insert(candidate.clone(), now);
                self.promote(candidate, *term, now)
            }
        };
        let changed = self.state != before;
        (reply, changed)
    }

    fn grant(&mut self, candidate: &str, term: u64, now: u64) -> Reply {
        self.state.holder = Some(candidate.to_string());
        self.state.term = term;
        self.expires_at = now + self.lease_ms;
        Reply::Granted {
            lease_ms: self.lease_ms,
        }
    }

    fn renew(&mut self, candidate: &str, term: u64, in_sync: Option<bool>, now: u64) -> Reply {
        if term < self.state.term {
            return self.refuse(format!(
                "term {term} is older than term {} of {}",
                self.state.term,
                self.state.holder.as_deref().unwrap_or("nobody")
            ));
        }
        // A newer term is granted even while an older promise runs: only a
        // promotion can have made it, and that needed the old master's
        // lease to have run out at every other voter.
        if term == self.state.term {
            if let Some(holder) = &self.state.holder {
                if holder != candidate {
                    return self.refuse(format!("term {term} belongs to {holder}"));
                }
            }
        }
        self.state.in_sync = in_sync;
        self.grant(candidate, term, now)
    }

    fn promote(&mut self, candidate: &str, term: u64, now: u64) -> Reply {
        if term <= self.state.term {
            return self.refuse(format!(
                "term {term} is not newer than term {} of {}",
                self.state.term,
                self.state.holder.as_deref().unwrap_or("nobody")
            ));
        }
        if let Some(reason) = self.promised_to_other(candidate, now) {
            return self.refuse(reason);
        }
        if self.state.in_sync == Some(false) && self.state.holder.as_deref() != Some(candidate) {
            return self.refuse(format!(
                "master {} last said it acknowledges writes the slave does not have (semi-synchronous replication degraded): promoting {candidate} would lose them",
                self.state.holder.as_deref().unwrap_or("?")
            ));
        }
        self.state.in_sync = None;
        self.grant(candidate, term, now)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const L: u64 = 4000;

    fn renew(node: &str, term: u64) -> Request {
        Request::Renew {
            candidate: node.into(),
            term,
            in_sync: None,
        }
    }
    fn promote(node: &str, term: u64) -> Request {
        Request::Promote {
            candidate: node.into(),
            term,
        }
    }
    fn granted(reply: &Reply) -> bool {
        matches!(reply, Reply::Granted { .. })
    }

    fn master_at_term_1() -> Voter {
        let mut voter = Voter::new(Persisted::default(), L, 0);
        assert!(granted(&voter.decide(&renew("a", 1), 0).0));
        voter
    }

    #[test]
    fn a_promotion_waits_until_the_old_lease_ran_out() {
        let mut voter = master_at_term_1();
        assert!(granted(&voter.decide(&renew("a", 1), 1000).0));
        let (reply, _) = voter.decide(&promote("b", 2), 1000 + L - 1);
        assert!(matches!(reply, Reply::Refused { ref reason, .. } if reason.contains("backs a")));
        let (reply, changed) = voter.decide(&promote("b", 2), 1000 + L);
        assert!(granted(&reply) && changed);
        // The deposed master can no longer renew its old term.
        assert!(!granted(&voter.decide(&renew("a", 1), 1000 + L + 1).0));
        assert!(granted(&voter.decide(&renew("b", 2), 1000 + L + 1).0));
    }

    #[test]
    fn a_promotion_needs_a_newer_term_and_a_term_has_one_master() {
        let mut voter = master_at_term_1();
        assert!(!granted(&voter.decide(&promote("b", 1), L * 2).0));
        assert!(!granted(&voter.decide(&renew("b", 1), L * 2).0));
        assert!(granted(&voter.decide(&renew("b", 2), L * 2).0));
    }

    #[test]
    fn a_restarted_voter_keeps_its_last_promise_for_a_whole_lease() {
        let voter = master_at_term_1();
        let restarted = Voter::new(voter.persisted().clone(), L, 50_000);
        assert!(restarted.would_grant(&promote("b", 2), 50_000).is_err());
        assert!(restarted.would_grant(&renew("a", 1), 50_000).is_ok());
        assert!(restarted.would_grant(&promote("b", 2), 50_000 + L).is_ok());
    }

    #[test]
    fn a_degraded_master_blocks_promotion_of_the_slave() {
        let mut voter = Voter::new(Persisted::default(), L, 0);
        let degraded = Request::Renew {
            candidate: "a".into(),
            term: 1,
            in_sync: Some(false),
        };
        assert!(granted(&voter.decide(&degraded, 0).0));
        let (reply, _) = voter.decide(&promote("b", 2), L * 3);
        assert!(
            matches!(reply, Reply::Refused { ref reason, .. } if reason.contains("semi-synchronous"))
        );
        let back_in_sync = Request::Renew {
            candidate: "a".into(),
            term: 1,
            in_sync: Some(true),
        };
        assert!(granted(&voter.decide(&back_in_sync, L * 3).0));
        assert!(granted(&voter.decide(&promote("b", 2), L * 5).0));
    }

    #[test]
    fn would_grant_changes_nothing_and_status_reports() {
        let voter = master_at_term_1();
        assert!(voter.would_grant(&promote("b", 2), L).is_ok());
        let mut voter = voter;
        match voter.decide(&Request::Status, 1000).0 {
            Reply::Status(view) => {
                assert_eq!(view.holder.as_deref(), Some("a"));
                assert_eq!(view.term, 1);
                assert_eq!(view.remaining_ms, L - 1000);
                assert_eq!(view.last_seen_ms.get("a"), Some(&1000));
            }
            other => panic!("{other:?}"),
        }
    }
}
