//! The master's side of the vote: asking every other voter at once and
//! counting how long the answers let it take writes. A grant counts from the
//! moment the question left, shortened by the clock-drift allowance, so the
//! master's own view always ends before any voter's promise does.

use std::time::{Duration, Instant};

use super::voter::{Reply, Request};
use super::wire;

/// Default lease a voter grants, in milliseconds.
pub const DEFAULT_LEASE_MS: u64 = 4000;

/// Clocks of the nodes may run this many percent apart (monotonic clocks
/// drift by parts per million; this covers them with a wide margin).
pub const DRIFT_PERCENT: u64 = 10;

/// One voter the daemon asks: the peer's daemon or the witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoterAddress {
    /// "peer" or "witness", for messages.
    pub role: &'static str,
    /// host:port
    pub address: String,
}

/// How one voter answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Granted {
        lease_ms: u64,
    },
    Refused {
        reason: String,
        holder: Option<String>,
        term: u64,
    },
    Unreachable(String),
}

impl Answer {
    pub fn describe(&self) -> String {
        match self {
            Answer::Granted { lease_ms } => format!("grants a lease of {lease_ms} ms"),
            Answer::Refused { reason, .. } => format!("refuses: {reason}"),
            Answer::Unreachable(why) => format!("does not answer: {why}"),
        }
    }
}

/// Asks every voter the same question, side by side.
pub fn ask_all(
    voters: &[VoterAddress],
    key: &[u8],
    request: &Request,
    timeout: Duration,
) -> Vec<Answer> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = voters
            .iter()
            .map(|voter| scope.spawn(move || wire::ask(&voter.address, key, request, timeout)))
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(Ok(Reply::Granted { lease_ms })) => Answer::Granted { lease_ms },
                Ok(Ok(Reply::Refused {
                    reason,
                    holder,
                    term,
                })) => Answer::Refused {
                    reason,
                    holder,
                    term,
                },
                Ok(Ok(Reply::Status(_))) => Answer::Unreachable("answered with a status".into()),
                Ok(Err(why)) => Answer::Unreachable(why),
                Err(_) => Answer::Unreachable("the question's thread failed".into()),
            })
            .collect()
    })
}

/// How long a grant asked at `sent` lets the master act, by its own clock.
pub fn valid_until(sent: Instant, lease_ms: u64) -> Instant {
    sent + Duration::from_millis(lease_ms * (100 - DRIFT_PERCENT) / 100)
}

/// The master's lease: until when it may take writes.
#[derive(Debug, Clone, Default)]
pub struct Lease {
    until: Option<Instant>,
}

impl Lease {
    /// Counts the grants among `answers` to a question sent at `sent`.
    pub fn record(&mut self, sent: Instant, answers: &[Answer]) {
        for answer in answers {
            if let Answer::Granted { lease_ms } = answer {
                let until = valid_until(sent, *lease_ms);
                if self.until.is_none_or(|current| until > current) {
                    self.until = Some(until);
                }
            }
        }
    }

    /// Valid for at least `margin` more.
    pub fn valid_for(&self, margin: Duration) -> bool {
        self.until
            .is_some_and(|until| until > Instant::now() + margin)
    }

    pub fn remaining(&self) -> Duration {
        self.until
            .map(|until| until.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }

    /// A grant was counted since the last clear (it may have run out).
    pub fn ever_held(&self) -> bool {
        self.until.is_some()
    }

    pub fn clear(&mut self) {
        self.until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_master_counts_from_before_it_asked_and_leaves_room_for_drift() {
        let sent = Instant::now();
        assert_eq!(valid_until(sent, 4000) - sent, Duration::from_millis(3600));
        let mut lease = Lease::default();
        assert!(!lease.valid_for(Duration::ZERO));
        lease.record(
            sent,
            &[
                Answer::Unreachable("x".into()),
                Answer::Refused {
                    reason: "r".into(),
                    holder: None,
                    term: 1,
                },
            ],
        );
        assert!(!lease.valid_for(Duration::ZERO));
        lease.record(sent, &[Answer::Granted { lease_ms: 4000 }]);
        assert!(lease.valid_for(Duration::from_millis(3000)));
        assert!(!lease.valid_for(Duration::from_millis(3700)));
        lease.clear();
        assert_eq!(lease.remaining(), Duration::ZERO);
    }
}
