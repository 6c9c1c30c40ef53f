//! The slave's replication as its daemon watches it: a stopped replication
//! thread or a lag above `lag_alert_s` is an event (log, syslog, notify)
//! with the server's own error, said once when it starts and once when it
//! ends, and `status` says since when. A slave whose SQL thread stopped on
//! an error lacks every write since: the takeover rule (`broken_slave`)
//! decides whether it may still be promoted.

use super::db::ReplicaProgress;

pub use super::config::BrokenSlave;

/// A change worth an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Stopped(String),
    Running,
    Lagging(u64),
    CaughtUp,
}

#[derive(Debug, Clone, Default)]
pub struct ReplicationWatch {
    /// Since when (epoch seconds) and why replication does not run.
    stopped: Option<(u64, String)>,
    lagging_since: Option<u64>,
}

fn describe(replica: Option<&ReplicaProgress>) -> Option<String> {
    match replica {
        None => Some("this server replicates from nobody".into()),
        Some(r) if r.running() => None,
        Some(r) => Some(format!(
            "io={}, sql={}{}",
            r.io_running,
            r.sql_running,
            if r.last_error.is_empty() {
                String::new()
            } else {
                format!(": {}", r.last_error)
            }
        )),
    }
}

impl ReplicationWatch {
    /// Takes one look; returns what changed since the last.
    pub fn observe(
        &mut self,
        replica: Option<&ReplicaProgress>,
        lag_alert_s: u64,
        now: u64,
    ) -> Vec<Seen> {
        let mut seen = Vec::new();
        match (describe(replica), &self.stopped) {
            (Some(why), Some((_, before))) if *before == why => {}
            (Some(why), _) => {
                self.stopped = Some((now, why.clone()));
                seen.push(Seen::Stopped(why));
            }
            (None, Some(_)) => {
                self.stopped = None;
                seen.push(Seen::Running);
            }
            (None, None) => {}
        }
        let behind = replica.and_then(|r| r.seconds_behind);
        match (behind, self.lagging_since) {
            (Some(lag), None) if lag_alert_s > 0 && lag > lag_alert_s => {
                self.lagging_since = Some(now);
                seen.push(Seen::Lagging(lag));
            }
            (Some(lag), Some(_)) if lag <= lag_alert_s => {
                self.lagging_since = None;
                seen.push(Seen::CaughtUp);
            }
            _ => {}
        }
        seen
    }

    /// Since when and why replication does not run.
    pub fn stopped(&self) -> Option<&(u64, String)> {
        self.stopped.as_ref()
    }

    /// The SQL thread stopped on an error: the slave lacks writes since.
    pub fn sql_broken(replica: Option<&ReplicaProgress>) -> Option<String> {
        replica
            .filter(|r| r.sql_running != "Yes" && !r.sql_error.is_empty())
            .map(|r| r.sql_error.clone())
    }

    pub fn lagging_since(&self) -> Option<u64> {
        self.lagging_since
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(io: &str, sql: &str, error: &str, behind: Option<u64>) -> ReplicaProgress {
        ReplicaProgress {
            io_running: io.into(),
            sql_running: sql.into(),
            last_error: error.into(),
            sql_error: if sql == "Yes" {
                String::new()
            } else {
                error.into()
            },
            seconds_behind: behind,
            ..Default::default()
        }
    }

    #[test]
    fn each_change_is_said_once() {
        let mut watch = ReplicationWatch::default();
        let ok = replica("Yes", "Yes", "", Some(0));
        assert!(watch.observe(Some(&ok), 60, 1).is_empty());
        let broken = replica(
            "Yes",
            "No",
            "Error 1146: Table 'shop.t' doesn't exist",
            None,
        );
        assert!(matches!(
            watch.observe(Some(&broken), 60, 2).as_slice(),
            [Seen::Stopped(why)] if why.contains("1146")
        ));
        assert!(watch.observe(Some(&broken), 60, 3).is_empty());
        assert_eq!(watch.stopped().map(|s| s.0), Some(2));
        assert!(ReplicationWatch::sql_broken(Some(&broken)).is_some());
        assert_eq!(watch.observe(Some(&ok), 60, 4), vec![Seen::Running]);
        let behind = replica("Yes", "Yes", "", Some(300));
        assert_eq!(
            watch.observe(Some(&behind), 60, 5),
            vec![Seen::Lagging(300)]
        );
        assert!(watch.observe(Some(&behind), 60, 6).is_empty());
        assert_eq!(watch.observe(Some(&ok), 60, 7), vec![Seen::CaughtUp]);
        assert!(ReplicationWatch::sql_broken(Some(&ok)).is_none());
    }
}
