//! One check of the master: a real query, and TCP connections to its
//! server's port and its ssh port, run side by side and each bounded by the
//! query timeout, so a dead host costs one timeout per check rather than a
//! query timeout plus an ssh connect timeout; and the run of failed checks
//! that decides when to act.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::config::ClusterConfig;
use super::db;
use crate::Error;

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The master's server answered the query.
    Answers,
    /// The master's server answered with an error (too many connections, a
    /// blocked host, a resource limit, a refused login, a lock wait): it is
    /// alive, and busy or misconfigured; never a reason to restart or take over.
    Busy(String),
    /// The query failed but the host answered (the server refused or sent an
    /// error, or its port is closed while the ssh port answers): a sick server.
    ServerSick(String),
    /// The server's port takes connections but the query got no answer in
    /// time: a busy or hung server. Counts, but only a long run of these acts.
    ServerSlow(String),
    /// Nothing answered on any path within the timeout: a dead host (or a cut link).
    HostSilent(String),
}

/// How a TCP connection attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    Open,
    /// The host answered with a refusal: it is up, nothing listens.
    Refused,
    Silent,
}

pub fn port_state(host: &str, port: u16, timeout: Duration) -> Port {
    let Ok(addresses) = (host, port).to_socket_addrs() else {
        return Port::Silent;
    };
    let mut state = Port::Silent;
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(_) => return Port::Open,
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
                state = Port::Refused
            }
            Err(_) => {}
        }
    }
    state
}

/// Slow checks in a row needed before a busy server counts as sick, as a
/// multiple of the failure threshold: load must not cause a restart.
pub const SLOW_FACTOR: u32 = 3;

/// What to do after a failed check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Wait,
    /// The host answers (or not on every check): restart or fence, via ssh.
    SoftFailure,
    /// Every failed check found no path answering: take over at once.
    HardFailure,
}

/// The current run of failed checks.
#[derive(Debug, Clone, Default)]
pub struct Streak {
    failures: u32,
    silent: u32,
    slow: u32,
    acted: bool,
}

impl Streak {
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn reset(&mut self) {
        *self = Streak::default();
    }

    /// Records a failed check; says whether to act now (once per streak).
    pub fn record_failure(&mut self, verdict: &Verdict, threshold: u32) -> Decision {
        self.failures += 1;
        match verdict {
            Verdict::HostSilent(_) => self.silent += 1,
            Verdict::ServerSlow(_) => self.slow += 1,
            _ => {}
        }
        if self.acted {
            return Decision::Wait;
        }
        let threshold = threshold.max(1);
        if self.silent == self.failures && self.failures >= threshold {
            self.acted = true;
            return Decision::HardFailure;
        }
        let needed = if self.slow == self.failures {
            threshold * SLOW_FACTOR
        } else {
            threshold
        };
        if self.failures >= needed {
            self.acted = true;
            Decision::SoftFailure
        } else {
            Decision::Wait
        }
    }
}

/// The query part of a check (also used to wait for a restarted server).
pub fn query_master(config: &ClusterConfig) -> crate::Result<()> {
    db::tcp(config, &config.node.peer)
        .and_then(|mut db| db.scalar("SELECT @@GLOBAL.server_id"))
        .map(|_| ())
}

/// Server errors that mean it is shutting down or not ready
/// (ER_SERVER_SHUTDOWN, ER_NORMAL_SHUTDOWN, ER_SHUTDOWN_COMPLETE,
/// ER_CONNECTION_KILLED).
pub const SERVER_GOING_AWAY: [u16; 4] = [1053, 1077, 1079, 1927];

/// A server error code means the server itself answered (too many
/// connections, a user limit, a blocked host): alive, unless it says it is
/// going away.
pub fn answers_with_an_error(err: &Error) -> bool {
    matches!(err, Error::Sql { code: Some(code), .. } if !SERVER_GOING_AWAY.contains(code))
}

/// Decides from the probes: the query, the server's port, the ssh port.
pub fn classify(query: crate::Result<()>, mysql_port: Port, ssh_port: Port) -> Verdict {
    match query {
        Ok(()) => Verdict::Answers,
        // A server error code means the server itself answered: alive,
        // unless it says it is going away.
        Err(err) if answers_with_an_error(&err) => Verdict::Busy(err.to_string()),
        Err(err @ Error::Sql { code: Some(_), .. }) => Verdict::ServerSick(err.to_string()),
        // The server sent a certificate this node does not trust: alive (a
        // restart serves the same files, a takeover would not mend trust).
        Err(err) if is_certificate_refusal(&err) => Verdict::Busy(err.to_string()),
        Err(err) if mysql_port == Port::Open => Verdict::ServerSlow(err.to_string()),
        Err(err) if mysql_port == Port::Refused || ssh_port != Port::Silent => {
            Verdict::ServerSick(err.to_string())
        }
        Err(err) => Verdict::HostSilent(format!(
            "{err}; neither its server's port nor its ssh port answers"
        )),
    }
}

/// A TLS handshake that got as far as the server's certificate (rustls'
/// wording), which this node refused.
fn is_certificate_refusal(err: &Error) -> bool {
    matches!(err, Error::Sql { code: None, message, .. } if message.contains("invalid peer certificate"))
}

/// One check: the query and both ports, side by side.
pub fn check_master(config: &ClusterConfig) -> Verdict {
    let timeout = Duration::from_millis(config.timings.query_timeout_ms);
    let host = config.node.peer.as_str();
    std::thread::scope(|scope| {
        let ssh = scope.spawn(|| port_state(host, config.node.peer_ssh_port, timeout));
        let mysql = scope.spawn(|| port_state(host, config.node.mysql_port, timeout));
        let query = query_master(config);
        let ssh = ssh.join().unwrap_or(Port::Silent);
        let mysql = mysql.join().unwrap_or(Port::Silent);
        classify(query, mysql, ssh)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn timeout() -> Error {
        Error::Sql {
            node: "192.0.2.11".into(),
            statement: "connect".into(),
            code: None,
            message: "timed out".into(),
        }
    }

    #[test]
    fn a_silent_host_needs_every_path_silent() {
        use Port::*;
        assert_eq!(classify(Ok(()), Silent, Silent), Verdict::Answers);
        assert!(matches!(
            classify(Err(timeout()), Silent, Open),
            Verdict::ServerSick(_)
        ));
        assert!(matches!(
            classify(Err(timeout()), Refused, Silent),
            Verdict::ServerSick(_)
        ));
        assert!(matches!(
            classify(Err(timeout()), Open, Open),
            Verdict::ServerSlow(_)
        ));
        assert!(matches!(
            classify(Err(timeout()), Silent, Silent),
            Verdict::HostSilent(_)
        ));
        let server_error = |code| Error::Sql {
            node: "192.0.2.11".into(),
            statement: "connect".into(),
            code: Some(code),
            message: "from the server".into(),
        };
        // Too many connections, blocked host, user limit, access denied: alive.
        for code in [1040, 1129, 1203, 1226, 1045, 1205] {
            assert!(matches!(
                classify(Err(server_error(code)), Open, Open),
                Verdict::Busy(_)
            ));
        }
        assert!(matches!(
            classify(Err(server_error(1053)), Open, Open),
            Verdict::ServerSick(_)
        ));
        // Seen during a certificate change: the server answered the handshake.
        let untrusted = Error::Sql {
            node: "192.0.2.11".into(),
            statement: "connect".into(),
            code: None,
            message: "IO error: `invalid peer certificate: UnknownIssuer'".into(),
        };
        assert!(matches!(
            classify(Err(untrusted), Open, Open),
            Verdict::Busy(_)
        ));
    }

    #[test]
    fn a_streak_acts_once_and_a_slow_server_gets_longer() {
        let silent = Verdict::HostSilent("x".into());
        let sick = Verdict::ServerSick("x".into());
        let slow = Verdict::ServerSlow("x".into());
        let mut streak = Streak::default();
        assert_eq!(streak.record_failure(&silent, 3), Decision::Wait);
        assert_eq!(streak.record_failure(&silent, 3), Decision::Wait);
        assert_eq!(streak.record_failure(&silent, 3), Decision::HardFailure);
        assert_eq!(streak.record_failure(&silent, 3), Decision::Wait);
        streak.reset();
        streak.record_failure(&silent, 3);
        streak.record_failure(&sick, 3);
        assert_eq!(streak.record_failure(&silent, 3), Decision::SoftFailure);
        streak.reset();
        for _ in 1..3 * SLOW_FACTOR {
            assert_eq!(streak.record_failure(&slow, 3), Decision::Wait);
        }
        assert_eq!(streak.record_failure(&slow, 3), Decision::SoftFailure);
        streak.reset();
        streak.record_failure(&slow, 3);
        streak.record_failure(&slow, 3);
        assert_eq!(streak.record_failure(&sick, 3), Decision::SoftFailure);
    }

    #[test]
    fn an_open_port_and_a_closed_one_both_mean_a_live_host() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(
            port_state("127.0.0.1", port, Duration::from_millis(500)),
            Port::Open
        );
        drop(listener);
        assert_eq!(
            port_state("127.0.0.1", port, Duration::from_millis(500)),
            Port::Refused
        );
    }
}
