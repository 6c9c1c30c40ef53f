//! The daemon's part in the vote (crate::vote, docs/daemon.md "Votes and
//! leases"): the master renews its lease with the peer and the witness on
//! every check and stands aside (read-only, address released) before it runs
//! out; a slave takes over only with its own vote and the witness's, both
//! given only once the old master's lease is over.

use std::time::{Duration, Instant};

use super::db::ServerChecks;
use super::semisync::{self, MasterView};
use super::state::{VoteStatus, VoterSeen};
use super::Daemon;
use crate::answers::Durability;
use crate::sql::SqlConn;
use crate::vote::lease::{ask_all, Answer, VoterAddress};
use crate::vote::voter::{Reply, Request, VoterView};
use crate::vote::wire;

/// The master's semi-sync wait as read before a renewal.
pub(super) struct SemiSyncRead {
    view: Option<MasterView>,
    /// What the renewal tells the voters about the slave.
    pub(super) in_sync: Option<bool>,
    go_alone: bool,
}

impl Daemon {
    /// Votes decide who is master: a vote key and a witness are configured.
    /// Without them the master serves without a lease and the slave never
    /// takes over on its own.
    pub(super) fn votes_on(&self) -> bool {
        self.vote_key.is_some() && self.config.witness_voter().is_some()
    }

    fn me(&self) -> String {
        self.config.node.address.clone()
    }

    fn ask_timeout(&self) -> Duration {
        Duration::from_millis(self.config.timings.query_timeout_ms)
    }

    /// The master stands aside once its lease has less than this left: a
    /// renewal may take the whole ask timeout, and standing aside takes a
    /// moment too.
    pub(super) fn stand_aside_margin(&self) -> Duration {
        self.ask_timeout() + Duration::from_millis(500)
    }

    /// The longest a renewal may take.
    pub(super) fn ask_timeout_for_lease(&self) -> Duration {
        self.ask_timeout() + Duration::from_millis(100)
    }

    pub(super) fn lease_ok(&self) -> bool {
        self.lease.valid_for(self.stand_aside_margin())
    }

    fn note_answers(&mut self, voters: &[VoterAddress], answers: &[Answer]) {
        for (voter, answer) in voters.iter().zip(answers) {
            let reachable = !matches!(answer, Answer::Unreachable(_));
            self.record_voter(
                voter,
                answer.describe(),
                matches!(answer, Answer::Granted { .. }),
                reachable,
            );
        }
    }

    /// What a voter said last, for the status; the witness's reachability
    /// is also an event when it changes.
    fn record_voter(
        &mut self,
        voter: &VoterAddress,
        answer: String,
        granted: bool,
        reachable: bool,
    ) {
        if voter.role == "witness" {
            self.note_witness(reachable, &answer);
        }
        let seen = VoterSeen {
            role: voter.role.to_string(),
            address: voter.address.clone(),
            answer,
            granted,
        };
        match self
            .vote_status
            .voters
            .iter_mut()
            .find(|v| v.role == seen.role)
        {
            Some(slot) => *slot = seen,
            None => self.vote_status.voters.push(seen),
        }
    }

    fn note_witness(&mut self, reachable: bool, answer: &str) {
        if reachable == self.witness_reachable {
            return;
        }
        self.witness_reachable = reachable;
        if reachable {
            self.emit(
                "witness-back",
                "the witness answers again: automatic takeover is possible again",
            );
        } else {
            self.emit(
                "witness-unreachable",
                &format!(
                    "the witness {} {}: the pair has lost its tie-breaker; it runs on as it is, but a failed master will not be taken over automatically until the witness is back",
                    self.config.cluster.witness, answer
                ),
            );
        }
    }

    /// Slave: asks the witness what it backs (no change), to see it is there.
    /// Runs beside the check of the master, so it borrows nothing mutably.
    pub(super) fn witness_status(&self) -> Option<(VoterAddress, Result<VoterView, String>)> {
        let key = self.vote_key.as_ref()?;
        let witness = self.config.witness_voter()?;
        let view = match wire::ask(&witness.address, key, &Request::Status, self.ask_timeout()) {
            Ok(Reply::Status(view)) => Ok(view),
            Ok(other) => Err(format!("unexpected answer {other:?}")),
            Err(why) => Err(why),
        };
        Some((witness, view))
    }

    pub(super) fn note_witness_status(
        &mut self,
        status: Option<(VoterAddress, Result<VoterView, String>)>,
    ) {
        let Some((witness, view)) = status else {
            return;
        };
        match view {
            Ok(view) => {
                let answer = format!(
                    "backs {} (term {}) for {} ms more",
                    view.holder.as_deref().unwrap_or("nobody"),
                    view.term,
                    view.remaining_ms
                );
                self.record_voter(&witness, answer, false, true);
            }
            Err(why) => {
                let answer = Answer::Unreachable(why).describe();
                self.record_voter(&witness, answer, false, false);
            }
        }
    }

    /// Turns a (former) master's wait off on a node that is not master.
    pub(super) fn semi_sync_master_off(&mut self, db: &mut SqlConn) {
        if let Ok(view) = semisync::master_view(db) {
            if view.enabled {
                match semisync::disable_master(db) {
                    Ok(()) => self.emit(
                        "semi-sync-off",
                        "not master: this server no longer waits for a slave's acknowledgement",
                    ),
                    Err(err) => self.emit("error", &format!("cannot turn semi-sync off: {err}")),
                }
            }
        }
    }

    /// Master: asks every other voter to back it for another lease. Returns
    /// a newer term that another node holds, when a voter says so.
    pub(super) fn renew_lease(&mut self, in_sync: Option<bool>) -> Option<u64> {
        let key = self.vote_key.clone()?;
        let voters = self.config.other_voters();
        let request = Request::Renew {
            candidate: self.me(),
            term: self.state.term,
            in_sync,
        };
        let sent = Instant::now();
        let answers = ask_all(&voters, &key, &request, self.ask_timeout());
        self.lease.record(sent, &answers);
        self.note_answers(&voters, &answers);
        self.granted_last = answers.iter().any(|a| matches!(a, Answer::Granted { .. }));
        self.peer_answered_last = voters
            .iter()
            .zip(&answers)
            .any(|(v, a)| v.role == "peer" && !matches!(a, Answer::Unreachable(_)));
        self.peer_reachable = Some(self.peer_answered_last);
        let me = self.me();
        answers
            .iter()
            .filter_map(|answer| match answer {
                Answer::Refused { term, holder, .. }
                    if *term > self.state.term && holder.as_deref() != Some(me.as_str()) =>
                {
                    Some(*term)
                }
                _ => None,
            })
            .max()
    }

    /// Master without a majority: no address, no writes, sessions that wait
    /// for a slave's acknowledgement ended (their clients get an error).
    pub(super) fn stand_aside(&mut self, why: &str) {
        let released = self.resource.release();
        let mut ended = 0;
        let mut read_only = Err(String::from("the local server does not answer"));
        // Once read-only while standing aside, no commit can start to wait:
        // a check needs no second connection and thread.
        let settled = self.standing_aside
            && self.local_db().ok().and_then(|mut db| db.read_only().ok()) == Some(true);
        if settled {
            read_only = Ok(());
        } else if let (Ok(mut db), Ok(setter)) = (self.local_db(), self.local_db()) {
            read_only = match semisync::read_only_now(&mut db, setter) {
                Ok(done) => {
                    ended = done.ended;
                    if done.released_waits {
                        // Nothing was acknowledged without the slave (the
                        // waiting clients were gone); still, until semi-sync
                        // is on and caught up again, the slave counts as
                        // possibly behind: the conservative side.
                        self.semi_sync_degraded = true;
                        self.semi_sync_off_at = Some(Instant::now());
                        self.emit(
                            "semi-sync-off",
                            "commits waiting for an acknowledgement held read-only back: their sessions were ended, then the wait turned off",
                        );
                    }
                    Ok(())
                }
                Err(err) => Err(err.to_string()),
            };
        }
        if !self.standing_aside {
            self.standing_aside = true;
            let mut message = format!("no majority ({why}): stopped taking writes");
            match &released {
                Ok(()) => message.push_str(&format!(", released {}", self.resource.describe())),
                Err(err) => message.push_str(&format!(", cannot release the resource: {err}")),
            }
            match &read_only {
                Ok(()) => message.push_str(", read-only"),
                Err(err) => message.push_str(&format!(", cannot set read-only: {err}")),
            }
            if ended > 0 {
                message.push_str(&format!(
                    ", ended {ended} session(s) waiting for the slave's acknowledgement"
                ));
            }
            self.emit("lost-majority", &message);
        }
        self.health.healthy = false;
        self.health.read_only = Some(read_only.is_ok());
        self.health.message = format!(
            "master standing aside: {why}; read-only and without the resource until the peer or the witness backs it again"
        );
    }

    /// Why the master may not serve now, from what the voters answered.
    pub(super) fn lease_refusal(&self) -> String {
        let answers: Vec<String> = self
            .vote_status
            .voters
            .iter()
            .map(|v| format!("{} {} {}", v.role, v.address, v.answer))
            .collect();
        if answers.is_empty() {
            "no voter asked yet".into()
        } else {
            answers.join("; ")
        }
    }

    /// Slave: wins the master role of the next term, or says why not. Both
    /// this node's own vote and the witness's must back it; the own vote is
    /// held (no renewal of the old master slips in) while the witness decides.
    pub(super) fn win_promotion(&mut self) -> Result<u64, String> {
        let key = self
            .vote_key
            .clone()
            .ok_or("cluster.toml has no vote key (re-run setup)")?;
        let witness = self.config.witness_voter().ok_or(
            "no witness (cluster.witness): two nodes alone cannot tell a dead master from a cut link, so no automatic takeover",
        )?;
        let voter = self
            .voter
            .clone()
            .ok_or("this node's own vote is not running")?;
        let peer_term = self.last_peer_state.as_ref().map(|p| p.term).unwrap_or(0);
        let mut guard = voter.lock();
        let term = self.state.term.max(peer_term).max(guard.persisted().term) + 1;
        let request = Request::Promote {
            candidate: self.me(),
            term,
        };
        guard
            .would_grant(&request, voter.now())
            .map_err(|why| format!("this node's own vote is not free: {why}"))?;
        let sent = Instant::now();
        let answers = ask_all(
            std::slice::from_ref(&witness),
            &key,
            &request,
            self.ask_timeout(),
        );
        self.note_answers(std::slice::from_ref(&witness), &answers);
        match answers.into_iter().next() {
            Some(Answer::Granted { lease_ms }) => match voter.decide_locked(&mut guard, &request) {
                Reply::Granted { .. } => {
                    self.lease.clear();
                    self.lease.record(sent, &[Answer::Granted { lease_ms }]);
                    Ok(term)
                }
                other => Err(format!("this node's own vote changed its mind: {other:?}")),
            },
            Some(Answer::Refused { reason, .. }) => Err(format!("the witness refuses: {reason}")),
            Some(Answer::Unreachable(why)) => Err(format!(
                "the witness does not answer ({why}): this node may be the one cut off"
            )),
            None => Err("the witness was not asked".into()),
        }
    }

    /// What this node's own vote backs, and the rest of the vote, for the status file.
    pub(super) fn vote_snapshot(&self) -> Option<VoteStatus> {
        self.vote_key.as_ref()?;
        let mut status = self.vote_status.clone();
        status.witness = self.config.cluster.witness.clone();
        status.durability = self.config.durability.name().to_string();
        status.lease_remaining_ms = if self.state.role == super::config::Role::Master {
            self.lease.remaining().as_millis() as u64
        } else {
            0
        };
        if let Some(voter) = &self.voter {
            if let Reply::Status(view) =
                voter.lock().clone().decide(&Request::Status, voter.now()).0
            {
                status.backs = view.holder;
                status.backs_term = view.term;
                status.backs_remaining_ms = view.remaining_ms;
            }
        }
        Some(status)
    }

    /// Master: its semi-sync wait as read once before a renewal, and what
    /// to tell the voters about the slave (None: nothing to claim, as with
    /// asynchronous durability).
    pub(super) fn semi_sync_before_renewal(&mut self, db: Option<&mut SqlConn>) -> SemiSyncRead {
        let view = db.and_then(|db| semisync::master_view(db).ok());
        if self.config.durability != Durability::SemiSync {
            return SemiSyncRead {
                view,
                in_sync: None,
                go_alone: false,
            };
        }
        let Some(seen) = view else {
            return SemiSyncRead {
                view,
                in_sync: Some(false),
                go_alone: false,
            };
        };
        let limit = Duration::from_millis(self.config.vote.semi_sync_wait_ms);
        let stalled = self.semi_sync_watch.stalled_for(&seen, limit);
        if seen.enabled && seen.active && !stalled {
            self.semi_sync_degraded = false;
        }
        // Some(false) only when the master surely acknowledged writes the
        // slave lacks (it went on alone, or is about to); None while the
        // wait is not on yet (a fresh start: acknowledged as async so far).
        let in_sync = if self.semi_sync_degraded || stalled {
            Some(false)
        } else if seen.enabled && seen.active {
            Some(true)
        } else {
            None
        };
        self.vote_status.in_sync = in_sync;
        SemiSyncRead {
            view,
            in_sync,
            go_alone: stalled,
        }
    }

    /// Master, after a renewal: turns the wait on when a slave is there, and
    /// off when it stalled and a voter recorded that the slave fell behind.
    pub(super) fn semi_sync_after_renewal(&mut self, db: Option<&mut SqlConn>, read: SemiSyncRead) {
        let (Some(db), Some(view)) = (db, read.view) else {
            return;
        };
        if self.config.durability != Durability::SemiSync {
            if view.enabled && semisync::disable_master(db).is_ok() {
                self.emit(
                    "semi-sync-off",
                    "asynchronous durability configured: the master no longer waits for the slave",
                );
            }
            return;
        }
        if read.go_alone && view.enabled {
            if !self.granted_last {
                return;
            }
            match semisync::disable_master(db) {
                Ok(()) => {
                    self.semi_sync_degraded = true;
                    self.semi_sync_off_at = Some(Instant::now());
                    self.semi_sync_watch.reset();
                    self.emit(
                        "semi-sync-degraded",
                        &format!(
                            "the slave acknowledged nothing for {} ms: the master goes on alone (recorded with a voter; no takeover to the slave until it caught up)",
                            self.config.vote.semi_sync_wait_ms
                        ),
                    );
                }
                Err(err) => self.emit("error", &format!("cannot turn semi-sync off: {err}")),
            }
            return;
        }
        let waited = self.semi_sync_off_at.is_none_or(|at| {
            at.elapsed() >= Duration::from_millis(self.config.vote.semi_sync_wait_ms)
        });
        // A slave the peer's daemon cannot be reached beside is not back,
        // whatever the server's count of its (possibly dead) connection says.
        if !view.enabled && view.clients > 0 && waited && self.peer_answered_last {
            match semisync::enable_master(db) {
                Ok(()) => {
                    self.semi_sync_off_at = None;
                    self.emit(
                        "semi-sync-on",
                        "a semi-synchronous slave is connected: commits wait for its acknowledgement",
                    );
                }
                Err(err) => self.emit("error", &format!("cannot turn semi-sync on: {err}")),
            }
        }
    }

    /// Slave: acknowledges as a semi-synchronous slave when durability asks,
    /// and never waits as a master itself: with log-slave-updates its SQL
    /// thread would wait for an acknowledgement nobody sends.
    pub(super) fn semi_sync_as_slave(&mut self, db: Option<&mut SqlConn>) {
        let on = self.config.durability == Durability::SemiSync;
        let Some(db) = db else { return };
        self.semi_sync_master_off(db);
        match semisync::ensure_slave(db, on) {
            Ok(true) => self.emit(
                "semi-sync-slave",
                if on {
                    "this slave now acknowledges every transaction it receives (semi-sync)"
                } else {
                    "this slave no longer acknowledges transactions (async)"
                },
            ),
            Ok(false) => {}
            Err(err) => {
                self.health.message = format!("cannot set semi-sync on this slave: {err}");
            }
        }
    }
}
