//! The slave's side: check the master, restart its server when it is sick,
//! take over when it is dead, without losing what the slave received.

use std::time::{Duration, Instant};

use super::config::{Fence, Role};
use super::db::{self, ServerChecks};
use super::probe::{self, Decision, Verdict};
use super::replication_watch::BrokenSlave;
use super::resource::Claim;
use super::state::now;
use super::{Daemon, Health};

/// The query part of a check, for waiting on a restarted server. A server
/// that answers with an error (out of connections while its clients all
/// come back) is back, as a check counts it busy, not dead.
fn master_answers(daemon: &Daemon) -> Result<(), String> {
    match probe::query_master(&daemon.config) {
        Ok(()) => Ok(()),
        Err(err) if probe::answers_with_an_error(&err) => Ok(()),
        Err(err) => Err(err.to_string()),
    }
}

impl Daemon {
    pub(super) fn slave_tick(&mut self) {
        self.health = Health::default();
        let mut local = self.check_local();
        if let Some(db) = local
            .as_mut()
            .filter(|_| !super::state::super_read_only_lifted())
        {
            if db.ensure_super_read_only().unwrap_or(false) {
                self.emit(
                    "super-read-only",
                    "server made super_read_only (a slave takes no writes, not even from SUPER accounts)",
                );
            }
        }
        let replica = local
            .as_mut()
            .and_then(|db| db.replica_status().ok().flatten());
        self.last_replica = local.is_some().then(|| replica.clone());
        let verdict = std::thread::scope(|scope| {
            let config = &self.config;
            let check = scope.spawn(move || probe::check_master(config));
            let witness = self.witness_status();
            let verdict = check
                .join()
                .unwrap_or_else(|_| Verdict::HostSilent("the check's thread failed".into()));
            (verdict, witness)
        });
        let verdict = {
            let (verdict, witness) = verdict;
            self.note_witness_status(witness);
            verdict
        };
        self.peer_reachable = Some(!matches!(verdict, Verdict::HostSilent(_)));
        if let Verdict::Busy(cause) = &verdict {
            if !self.master_busy {
                self.master_busy = true;
                self.emit(
                    "master-busy",
                    &format!(
                        "the master's server answers with an error, so it is alive: no restart, no takeover ({cause})"
                    ),
                );
            }
        } else if self.master_busy && verdict == Verdict::Answers {
            self.master_busy = false;
            self.emit(
                "master-not-busy",
                "the master's server answers normally again",
            );
        }
        let err = match &verdict {
            Verdict::Answers | Verdict::Busy(_) => None,
            Verdict::ServerSick(err) | Verdict::ServerSlow(err) | Verdict::HostSilent(err) => {
                Some(err.clone())
            }
        };
        match err {
            None => {
                // Only while the master answers: a dead peer would cost an
                // ssh timeout on every re-check.
                if let Ok(Some(peer)) = self.read_peer_state() {
                    if peer.term > self.state.term && peer.role == Role::Master {
                        self.state.term = peer.term;
                        self.save_state();
                    }
                }
                if self.streak.failures() >= self.config.timings.failure_threshold {
                    self.emit("master-back", "the master answers again");
                }
                self.streak.reset();
                self.held_by_run = None;
                self.pending_takeover = None;
                self.vote_status.refusal = None;
                self.semi_sync_as_slave(local.as_mut());
                self.watch_replication(replica.as_ref());
                let replicating = replica.as_ref().is_some_and(|r| r.running());
                self.health.healthy = self.health.server_answers && replicating;
                self.health.message = match &replica {
                    Some(r) if r.running() => format!(
                        "slave: master {} answers, replication running",
                        self.peer.host()
                    ),
                    Some(r) => format!(
                        "slave: replication not running (io={}, sql={}) {}{}",
                        r.io_running,
                        r.sql_running,
                        r.last_error,
                        self.replication
                            .stopped()
                            .map(|(at, _)| format!(" (since {} s ago)", now().saturating_sub(*at)))
                            .unwrap_or_default()
                    ),
                    None => "slave: this server replicates from nobody".into(),
                };
            }
            Some(err) => {
                let threshold = self.config.timings.failure_threshold;
                let decision = self.streak.record_failure(&verdict, threshold);
                self.health.message = format!(
                    "master check {} of {threshold} failed: {err}",
                    self.streak.failures()
                );
                match decision {
                    Decision::Wait => {
                        if let Some((peer_answers, reason)) = self.pending_takeover.clone() {
                            self.takeover(peer_answers, &reason);
                        }
                    }
                    Decision::SoftFailure => self.master_failed(&err, false),
                    Decision::HardFailure => self.master_failed(&err, true),
                }
            }
        }
    }

    /// `silent`: every failed check found no path to the master's host
    /// answering, so there is nothing to restart or fence: take over at once
    /// rather than spend an ssh connect timeout on a dead host.
    fn master_failed(&mut self, why: &str, silent: bool) {
        if self.paused() {
            self.emit(
                "paused",
                &format!("master failing ({why}); paused: no action"),
            );
            return;
        }
        if !silent {
            if let Some(run) = super::state::run_hold() {
                if self.held_by_run.as_deref() != Some(run.as_str()) {
                    self.emit(
                        "run-hold",
                        &format!(
                            "master's server does not answer ({why}) while setup run {run} restarts or re-keys the servers: no restart, no takeover"
                        ),
                    );
                    self.held_by_run = Some(run);
                }
                return;
            }
        }
        if !silent && self.peer.reachable() {
            self.emit(
                "soft-failure",
                &format!(
                    "master host {} answers, its server does not: {why}",
                    self.peer.host()
                ),
            );
            for attempt in 1..=self.config.timings.restart_tries {
                if self.restart_master(attempt) {
                    self.streak.reset();
                    return;
                }
            }
            self.takeover(
                true,
                "the master's server stayed down after remote restarts",
            );
        } else {
            self.emit(
                "hard-failure",
                &format!(
                    "master host {} answers on no path (ssh and SQL): {why}",
                    self.peer.host()
                ),
            );
            self.takeover(false, "the master host is unreachable");
        }
    }

    fn restart_master(&mut self, attempt: u32) -> bool {
        self.counters.soft_restarts += 1;
        let argv = self.profile.service.restart.clone();
        let wait = Duration::from_millis(self.config.timings.restart_wait_ms);
        self.emit(
            "restarting",
            &format!(
                "restarting the master's server on {} (try {attempt}): {}",
                self.peer.host(),
                argv.join(" ")
            ),
        );
        if let Err(err) = self.peer.run_privileged(&argv, wait) {
            self.emit("error", &format!("remote restart failed: {err}"));
        }
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if master_answers(self).is_ok() {
                self.emit(
                    "restarted",
                    &format!(
                        "the master's server on {} is back after a remote restart",
                        self.peer.host()
                    ),
                );
                self.reconnect_replication();
                return true;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        false
    }

    /// The I/O thread waits a minute between attempts by default: after the
    /// master's server is back, it reconnects now.
    fn reconnect_replication(&mut self) {
        let result = self.local_db().and_then(|mut db| {
            db.exec(db.flavor().stop_replica_io())?;
            db.exec(db.flavor().start_replica_io())
        });
        match result {
            Ok(()) => self.emit(
                "replication-reconnected",
                "replication I/O thread reconnected to the master",
            ),
            Err(err) => self.emit(
                "error",
                &format!("cannot restart the replication I/O thread: {err}"),
            ),
        }
    }

    /// Releases the old master's resource and stops its server, when it
    /// can still be asked. Returns whether the address was released there.
    fn fence(&mut self) -> bool {
        let released = match self.resource.release_on_peer(&self.peer) {
            Ok(()) => true,
            Err(err) => {
                self.emit(
                    "error",
                    &format!(
                        "fencing: cannot release the resource on {}: {err}",
                        self.peer.host()
                    ),
                );
                false
            }
        };
        if self.config.fence == Fence::StopServer {
            let argv = self.profile.service.stop.clone();
            match self.peer.run_privileged(&argv, Duration::from_secs(60)) {
                Ok(out) if out.success() => self.emit(
                    "fenced",
                    &format!("stopped the server on {}", self.peer.host()),
                ),
                Ok(out) => self.emit(
                    "error",
                    &format!(
                        "fencing: `{}` on {} exited {:?}",
                        argv.join(" "),
                        self.peer.host(),
                        out.code
                    ),
                ),
                Err(err) => self.emit("error", &format!("fencing: {err}")),
            }
        }
        released
    }

    /// Waits until everything received is applied, then stops replication.
    fn drain_relay_log(&mut self) -> Result<String, String> {
        let mut db = self.local_db().map_err(|e| e.to_string())?;
        self.semi_sync_master_off(&mut db);
        // Measured: the stop took 2 s of a takeover on the sandbox, 1 s
        // bounded (a dead master cannot end its dump thread anyway). Best
        // effort: a server without the variable (semi-sync not loaded) only
        // stops more slowly, which must not stop the takeover.
        if let Some(bound) = db.flavor().bound_replica_stop() {
            let _ = db.exec(bound);
        }
        db.exec(db.flavor().stop_replica_io())
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_millis(self.config.timings.apply_wait_ms);
        let outcome = loop {
            let progress = db.replica_status().map_err(|e| e.to_string())?;
            match progress {
                None => break "no replica status: nothing to apply".to_string(),
                Some(p) if p.caught_up() => {
                    break format!(
                        "applied everything received (up to {}:{})",
                        p.master_log_file, p.read_pos
                    )
                }
                Some(p) if p.sql_running != "Yes" => {
                    break format!(
                        "the SQL thread stopped at {}:{} of {}:{} received: {}",
                        p.relay_master_log_file,
                        p.exec_pos,
                        p.master_log_file,
                        p.read_pos,
                        p.last_error
                    )
                }
                Some(p) if Instant::now() > deadline => {
                    break format!(
                        "gave up waiting after {} ms at {}:{} of {}:{} received",
                        self.config.timings.apply_wait_ms,
                        p.relay_master_log_file,
                        p.exec_pos,
                        p.master_log_file,
                        p.read_pos
                    )
                }
                Some(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        db.exec(db.flavor().stop_replica())
            .map_err(|e| e.to_string())?;
        db.exec(db.flavor().reset_replica_all())
            .map_err(|e| e.to_string())?;
        Ok(outcome)
    }

    /// Proves the cluster address takes writes and leads to this server.
    fn verify_write(&mut self) -> Result<String, String> {
        let target = self
            .config
            .vip_address()
            .unwrap_or(&self.config.node.address)
            .to_string();
        let own_id = self
            .local_db()
            .and_then(|mut db| db.scalar("SELECT @@GLOBAL.server_id"))
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = String::new();
        while Instant::now() < deadline {
            let attempt = db::tcp(&self.config, &target).and_then(|mut db| {
                let id = db.scalar("SELECT @@GLOBAL.server_id")?;
                db.exec(&format!(
                    "INSERT INTO mysql_ha.write_check (node, term, at) VALUES ({}, {}, NOW()) ON DUPLICATE KEY UPDATE term = VALUES(term), at = VALUES(at)",
                    crate::sql::flavor::quote_string(&self.config.node.address),
                    self.state.term
                ))?;
                Ok(id)
            });
            match attempt {
                Ok(id) if id == own_id => {
                    return Ok(format!("a write through {target} landed on this server"))
                }
                Ok(id) => {
                    last = format!("{target} leads to server id {id:?}, not this one ({own_id:?})")
                }
                Err(err) => last = err.to_string(),
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        Err(last)
    }

    /// Events for replication that stopped or lags, once per change; the
    /// SQL thread's error is kept for the takeover rule.
    fn watch_replication(&mut self, replica: Option<&super::db::ReplicaProgress>) {
        use super::replication_watch::{ReplicationWatch, Seen};
        self.sql_broken = ReplicationWatch::sql_broken(replica);
        let changes = self
            .replication
            .observe(replica, self.config.timings.lag_alert_s, now());
        for change in changes {
            match change {
                // Stopped with an error it is broken; without one, someone
                // (a person, `check --consistency`, add-db) stopped it.
                Seen::Stopped(why) => {
                    let broken = replica.is_some_and(|r| !r.last_error.is_empty());
                    self.emit(
                        if broken {
                            "replication-broken"
                        } else {
                            "replication-not-running"
                        },
                        &format!("replication on this slave does not run: {why}"),
                    )
                }
                Seen::Running => self.emit("replication-running", "replication runs again"),
                Seen::Lagging(lag) => self.emit(
                    "replication-lagging",
                    &format!(
                        "this slave is {lag} s behind its master (more than lag_alert_s = {})",
                        self.config.timings.lag_alert_s
                    ),
                ),
                Seen::CaughtUp => self.emit(
                    "replication-caught-up",
                    "this slave caught up with its master",
                ),
            }
        }
    }

    /// The administrator's fence (`fence_command`) for a master that does
    /// not answer; Ok when there is none or it says the master is off.
    fn run_fence_command(&mut self, term: u64) -> Result<(), String> {
        let Some((program, args)) = self.config.fence_command.split_first() else {
            return Ok(());
        };
        let mut command = std::process::Command::new(program);
        command
            .args(args)
            .env("MYSQL_HA_PEER", &self.config.node.peer)
            .env("MYSQL_HA_TERM", term.to_string());
        match super::exec::run_limited(command, Duration::from_secs(60)) {
            Ok(out) if out.success() => {
                self.emit(
                    "fenced",
                    &format!(
                        "fence command `{}` says {} is off",
                        self.config.fence_command.join(" "),
                        self.peer.host()
                    ),
                );
                Ok(())
            }
            Ok(out) => Err(format!(
                "the fence command `{}` exited {:?}{}",
                self.config.fence_command.join(" "),
                out.code,
                crate::error::stderr_detail(&out.stderr)
            )),
            Err(err) => Err(format!("the fence command failed: {err}")),
        }
    }

    /// A takeover the vote did not allow: nothing changed; said once per
    /// reason, and tried again at the next check while the master fails.
    fn refuse_takeover(&mut self, peer_answers: bool, reason: &str, why: &str) {
        // Said again only when the reason changes, not its countdown.
        let shape = |text: &str| text.replace(|c: char| c.is_ascii_digit(), "");
        if self.vote_status.refusal.as_deref().map(shape) != Some(shape(why)) {
            self.emit(
                "takeover-refused",
                &format!("{reason}, but no takeover: {why}"),
            );
        }
        self.vote_status.refusal = Some(why.to_string());
        self.pending_takeover = Some((peer_answers, reason.to_string()));
        self.health.message = format!("slave: {reason}; no takeover: {why}");
    }

    pub(super) fn takeover(&mut self, peer_answers: bool, reason: &str) {
        if self.takeover_held() {
            self.emit(
                "takeover-held",
                &format!("{reason}, but a takeover happened less than {} s ago and is not acknowledged: no automatic takeover (mysql-ha ack)", self.config.timings.hold_after_takeover_s),
            );
            return;
        }
        if let (Some(error), BrokenSlave::Refuse) = (&self.sql_broken, self.config.broken_slave) {
            let why = format!(
                "this slave's SQL thread stopped on an error ({error}): it lacks every write since, so it is not promoted (broken_slave = \"refuse\"; repair it with `mysql-ha resync`, or set broken_slave = \"promote\" to promote what it has)"
            );
            self.refuse_takeover(peer_answers, reason, &why);
            return;
        }
        let term = match self.win_promotion() {
            Ok(term) => term,
            Err(why) => {
                self.refuse_takeover(peer_answers, reason, &why);
                return;
            }
        };
        if !peer_answers {
            if let Err(why) = self.run_fence_command(term) {
                self.refuse_takeover(peer_answers, reason, &why);
                return;
            }
        }
        self.pending_takeover = None;
        self.vote_status.refusal = None;
        let started = Instant::now();
        self.emit(
            "takeover",
            &format!("taking over: {reason}; the witness and this node back it for term {term}"),
        );
        let released_there = peer_answers && self.fence();
        let why = if released_there {
            Claim::FromFenced
        } else {
            Claim::FromUnreachable
        };
        match self.drain_relay_log() {
            Ok(outcome) => self.emit("replication-stopped", &outcome),
            Err(err) => self.emit("error", &format!("stopping replication: {err}")),
        }
        self.state.term = term;
        self.state.role = Role::Master;
        self.state.last_takeover_at = Some(now());
        self.state.takeover_acked = false;
        self.save_state();
        self.counters.takeovers += 1;
        self.confirmed = true;
        // The drain may have outlasted the lease the promotion came with.
        if !self.lease_ok() {
            self.renew_lease(None);
        }
        if !self.lease_ok() {
            let why = self.lease_refusal();
            self.emit(
                "error",
                &format!("master of term {term} but not backed for a lease any more ({why}): stays read-only until it is"),
            );
            self.master_tick();
            self.write_status();
            return;
        }
        if self.set_local_read_only(false) {
            self.emit("writable", "server made writable");
        } else {
            let message = format!("cannot make the server writable: {}", self.health.message);
            self.emit("error", &message);
        }
        // The address is claimed as soon as the server is writable; the
        // option files keep read-only ON (every node boots read-only).
        self.claim_resource(why);
        match self.verify_write() {
            Ok(message) => self.emit("verified", &message),
            Err(err) => self.emit(
                "error",
                &format!("write check through the cluster address failed: {err}"),
            ),
        }
        self.streak.reset();
        self.emit(
            "took-over",
            &format!(
                "this node is master of term {} ({:.1} s after the decision)",
                self.state.term,
                started.elapsed().as_secs_f64()
            ),
        );
        // The write check can outlast the lease the promotion came with.
        if self.votes_on() {
            self.renew_lease(None);
        }
        // The status tells the new story at once, not the last check's.
        self.master_tick();
        self.write_status();
    }
}
