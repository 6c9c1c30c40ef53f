//! The cluster daemon: runs on both nodes. The master holds the cluster
//! resource and stays writable while no peer holds a newer term; the slave
//! watches the master, restarts its server when it is sick and takes over
//! when it is dead (see docs/daemon.md).

pub mod config;
pub mod db;
mod ddns_name;
pub mod events;
pub mod exec;
mod majority;
pub mod metrics;
pub mod peer;
pub mod persist;
pub mod probe;
pub mod replication_watch;
pub mod resource;
pub mod semisync;
pub mod state;
mod takeover;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sql::SqlConn;
use config::{ClusterConfig, Role};
use db::ServerChecks;
use events::EventLog;
use peer::Peer;
use resource::{Claim, ClusterResource};
use state::{now, read_json, write_json, DaemonStatus, TermState, VoteStatus};

use crate::vote::lease::Lease;
use crate::vote::server::SharedVoter;

use crate::answers::Resource;
use crate::privileged::PrivilegedCommand;
use crate::profile::Profile;
use crate::{Error, Result};

/// The cluster resource the configuration names (the address, the DNS
/// name, or none), as this node's daemon holds it.
fn cluster_resource(
    config: &ClusterConfig,
    allowlist: Vec<PrivilegedCommand>,
) -> Box<dyn ClusterResource> {
    match config.cluster.resource {
        Resource::Vip => Box::new(resource::Vip {
            cidr: config.cluster.vip.clone(),
            device: config.cluster.device.clone(),
            arp: config.cluster.arp,
            allowlist,
            announce_failure: Default::default(),
        }),
        Resource::Ddns => Box::new(ddns_name::DdnsName::new(config)),
        Resource::None => Box::new(resource::NoResource),
    }
}

/// What the last check found, for the status file.
#[derive(Debug, Clone, Default)]
struct Health {
    healthy: bool,
    server_answers: bool,
    read_only: Option<bool>,
    message: String,
}

pub struct Daemon {
    config_path: PathBuf,
    config: ClusterConfig,
    profile: Profile,
    resource: Box<dyn ClusterResource>,
    peer: Peer,
    state: TermState,
    events: EventLog,
    /// The master role was confirmed against the peer (or the node already
    /// held the resource when the daemon started): it may take writes.
    confirmed: bool,
    /// No term state existed: the hand-off's first start, roles as setup made them.
    first_start: bool,
    /// The slave's current run of failed checks of the master.
    streak: probe::Streak,
    last_peer_state: Option<TermState>,
    health: Health,
    hangup: Arc<AtomicBool>,
    /// The cluster's vote key; None: votes are off (see majority.rs).
    vote_key: Option<Vec<u8>>,
    /// This node's own vote, served to the others on a thread of its own.
    voter: Option<Arc<SharedVoter>>,
    /// Master: until when the voters' grants let it take writes.
    lease: Lease,
    /// Whether the last renewal got at least one grant.
    granted_last: bool,
    /// Whether the peer's daemon answered the last renewal at all.
    peer_answered_last: bool,
    /// Master that lost its majority and stopped taking writes.
    standing_aside: bool,
    vote_status: VoteStatus,
    /// Slave: a takeover the vote refused, tried again while the master fails.
    pending_takeover: Option<(bool, String)>,
    /// A claim whose announcement (ARP, DNS update) failed: repeated each check.
    announce_pending: Option<Claim>,
    semi_sync_watch: semisync::Watch,
    semi_sync_off_at: Option<Instant>,
    /// The master went on without the slave: it lacks acknowledged writes
    /// until semi-sync is on and caught up again.
    semi_sync_degraded: bool,
    /// Slave: the master's server answers with errors (too many connections, ...).
    master_busy: bool,
    /// Slave: the setup run whose hold kept it from acting on the master's
    /// failing server (said once per run).
    held_by_run: Option<String>,
    /// The witness answered the last question asked of it.
    witness_reachable: bool,
    /// Slave: its replication threads and lag, as last seen.
    replication: replication_watch::ReplicationWatch,
    /// Slave: the SQL thread's error when it stopped on one.
    sql_broken: Option<String>,
    /// The Prometheus endpoint; None: off in cluster.toml, or its port was taken.
    metrics: Option<crate::metrics::Endpoint>,
    counters: metrics::Counters,
    /// The server's data and binary-log directories, read once it answers.
    server_dirs: Option<metrics::ServerDirs>,
    /// Whether the peer answered on some path at the last look.
    peer_reachable: Option<bool>,
    /// Slave: its replica status at the last check (inner None: it
    /// replicates from nobody); outer None: not looked at.
    last_replica: Option<Option<db::ReplicaProgress>>,
}

/// Starts this node's own vote on its port, on a thread of its own.
fn start_voter(config: &ClusterConfig) -> Result<Option<Arc<SharedVoter>>> {
    let Some(key) = config.vote_key() else {
        return Ok(None);
    };
    let voter = SharedVoter::open(
        &Path::new(state::STATE_DIR).join("vote.json"),
        config.vote.lease_ms,
    )?;
    let listener = crate::vote::server::bind(&format!("0.0.0.0:{}", config.vote.port))?;
    let serving = voter.clone();
    std::thread::spawn(move || {
        let _ = crate::vote::server::serve(listener, serving, key, Box::new(|_, _| {}));
    });
    Ok(Some(voter))
}

fn allowlist(
    config: &ClusterConfig,
    profile: &Profile,
) -> Vec<crate::privileged::PrivilegedCommand> {
    crate::privileged::allowlist(profile, &config.cluster, &config.node.binary)
}

impl Daemon {
    pub fn start(config_path: &Path) -> Result<Daemon> {
        let config = ClusterConfig::load(config_path)?;
        let profile = config.profile()?;
        std::fs::create_dir_all(state::STATE_DIR).map_err(|e| Error::io(state::STATE_DIR, e))?;
        let (state, first_start) = match read_json::<TermState>(&state::state_path())? {
            Some(state) => (state, false),
            None => {
                let state = TermState::initial(config.node.initial_role);
                write_json(&state::state_path(), &state)?;
                (state, true)
            }
        };
        let earlier = read_json::<DaemonStatus>(&state::status_path())
            .ok()
            .flatten()
            .map(|s| s.recent_events)
            .unwrap_or_default();
        let hangup = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGHUP, hangup.clone())
            .map_err(|e| Error::io("SIGHUP handler", e))?;
        let voter = start_voter(&config)?;
        let metrics = config
            .metrics
            .enabled
            .then(|| crate::metrics::Endpoint::start(&config.metrics.listen_address()));
        let mut daemon = Daemon {
            vote_key: config.vote_key(),
            voter,
            lease: Lease::default(),
            granted_last: false,
            peer_answered_last: false,
            standing_aside: false,
            vote_status: VoteStatus::default(),
            pending_takeover: None,
            announce_pending: None,
            semi_sync_watch: semisync::Watch::default(),
            semi_sync_off_at: None,
            semi_sync_degraded: false,
            master_busy: false,
            held_by_run: None,
            witness_reachable: true,
            replication: replication_watch::ReplicationWatch::default(),
            sql_broken: None,
            metrics: None,
            counters: metrics::Counters::default(),
            server_dirs: None,
            peer_reachable: None,
            last_replica: None,
            resource: cluster_resource(&config, allowlist(&config, &profile)),
            peer: Peer::new(&config),
            events: EventLog::new(&config.node.address, config.notify.clone(), earlier),
            config_path: config_path.to_path_buf(),
            config,
            profile,
            state,
            confirmed: false,
            first_start,
            streak: probe::Streak::default(),
            last_peer_state: None,
            health: Health::default(),
            hangup,
        };
        // Monitoring is no reason to stop watching the cluster: a taken port
        // is said and the daemon runs without the endpoint.
        match metrics {
            Some(Ok(endpoint)) => daemon.metrics = Some(endpoint),
            Some(Err(err)) => daemon.emit("error", &err.to_string()),
            None => {}
        }
        Ok(daemon)
    }

    pub fn run(mut self) -> Result<()> {
        let role = self.state.role;
        self.emit(
            "started",
            &format!(
                "daemon started (pid {}) as {} of term {}, peer {}",
                std::process::id(),
                role.name(),
                self.state.term,
                self.config.node.peer
            ),
        );
        self.on_start();
        loop {
            self.tick();
            self.write_status();
            let mut pause = Duration::from_millis(if self.streak.failures() > 0 {
                self.config.timings.recheck_interval_ms
            } else {
                self.config.timings.check_interval_ms
            });
            // A serving master checks again before its lease gets too short
            // to renew in time.
            if self.state.role == Role::Master && self.votes_on() && !self.standing_aside {
                let left = self
                    .lease
                    .remaining()
                    .saturating_sub(self.stand_aside_margin());
                pause = pause.min(left).max(Duration::from_millis(50));
            }
            std::thread::sleep(pause);
        }
    }

    fn emit(&mut self, event: &str, message: &str) {
        self.events.emit(self.state.term, event, message);
    }

    fn save_state(&mut self) {
        if let Err(err) = write_json(&state::state_path(), &self.state) {
            let message = format!("cannot save the term state: {err}");
            self.emit("error", &message);
        }
    }

    fn local_db(&self) -> Result<SqlConn> {
        db::local(&self.config, &self.profile.paths.socket)
    }

    /// A node that already holds the resource is a daemon restart: it keeps
    /// serving. Anything else (a boot) stays read-only until the peer
    /// confirms that no newer term exists; on the hand-off's first start the
    /// master setup made keeps taking writes while it asks.
    fn on_start(&mut self) {
        match self.state.role {
            Role::Master => {
                if self.resource.held().unwrap_or(false) {
                    self.confirmed = true;
                } else if !self.first_start {
                    self.set_local_read_only(true);
                }
            }
            Role::NeedsRejoin => {
                self.set_local_read_only(true);
                let _ = self.resource.release();
            }
            Role::Slave => {}
        }
    }

    fn set_local_read_only(&mut self, on: bool) -> bool {
        let value = if on { "ON" } else { "OFF" };
        // Read-only comes even past commits waiting for an acknowledgement
        // (see semisync::read_only_now).
        let set = if on {
            self.local_db().and_then(|mut db| {
                let setter = self.local_db()?;
                semisync::read_only_now(&mut db, setter).map(|_| ())
            })
        } else {
            self.local_db().and_then(|mut db| db.set_read_only(false))
        };
        match set {
            Ok(()) => true,
            Err(err) => {
                self.health.message = format!("cannot set read_only {value}: {err}");
                false
            }
        }
    }

    /// Writes read_only to the option files (through the allowlisted helper
    /// when this daemon is not root).
    fn persist_read_only(&self, on: bool) -> Result<Option<String>> {
        persist::persist_read_only(
            &self.profile,
            &allowlist(&self.config, &self.profile),
            &self.config.node.binary,
            on,
        )
    }

    fn reload_if_asked(&mut self) {
        if !self.hangup.swap(false, Ordering::Relaxed) {
            return;
        }
        match ClusterConfig::load(&self.config_path).and_then(|c| c.profile().map(|p| (c, p))) {
            Ok((mut config, profile)) => {
                // The vote's server thread runs with the key and port it
                // started with: the asking side keeps them too.
                if config.vote != self.config.vote {
                    self.emit(
                        "error",
                        "the [vote] section changed: restart the daemon for it to apply (a reload keeps the running vote)",
                    );
                    config.vote = self.config.vote.clone();
                }
                if config.metrics != self.config.metrics {
                    self.emit(
                        "error",
                        "the [metrics] section changed: restart the daemon for it to apply (a reload keeps the running endpoint)",
                    );
                    config.metrics = self.config.metrics.clone();
                }
                self.resource = cluster_resource(&config, allowlist(&config, &profile));
                self.peer = Peer::new(&config);
                self.events.set_notify(config.notify.clone());
                self.config = config;
                self.profile = profile;
                self.emit("reloaded", "configuration reloaded (SIGHUP)");
            }
            Err(err) => {
                let message = format!("reload refused, the previous configuration stays: {err}");
                self.emit("error", &message);
            }
        }
    }

    fn tick(&mut self) {
        self.reload_if_asked();
        // `mysql-ha ack` writes the state file too.
        if let Ok(Some(state)) = read_json::<TermState>(&state::state_path()) {
            self.state.takeover_acked = state.takeover_acked;
        }
        match self.state.role {
            Role::Master => self.master_tick(),
            Role::Slave => self.slave_tick(),
            Role::NeedsRejoin => self.rejoin_tick(),
        }
    }

    fn paused(&self) -> bool {
        state::pause_path().exists()
    }

    /// The peer's term state: Err when the peer does not answer.
    fn read_peer_state(&mut self) -> Result<Option<TermState>> {
        let path = state::state_path();
        let bytes = self.peer.read_file(&path.to_string_lossy());
        self.peer_reachable = Some(bytes.is_ok());
        let bytes = bytes?;
        let parsed = bytes.and_then(|b| serde_json::from_slice::<TermState>(&b).ok());
        if parsed.is_some() {
            self.last_peer_state = parsed.clone();
        }
        Ok(parsed)
    }

    fn check_local(&mut self) -> Option<SqlConn> {
        match self.local_db() {
            Ok(mut db) => {
                self.health.server_answers = true;
                self.health.read_only = db.read_only().ok();
                if self.server_dirs.is_none() {
                    self.server_dirs = metrics::ServerDirs::read(&mut db);
                }
                Some(db)
            }
            // Out of connections is busy, not gone: a master keeps its
            // lease and address through it rather than cause an outage.
            Err(err) if probe::answers_with_an_error(&err) => {
                self.health.server_answers = true;
                self.health.read_only = None;
                self.health.message = format!("local server is busy: {err}");
                None
            }
            Err(err) => {
                self.health.server_answers = false;
                self.health.read_only = None;
                self.health.message = format!("local server does not answer: {err}");
                None
            }
        }
    }

    fn master_tick(&mut self) {
        self.health = Health::default();
        let mut local = self.check_local();
        if self.votes_on() {
            if !self.vote_allows_serving(local.as_mut()) {
                return;
            }
        } else if !self.peer_allows_serving() {
            return;
        }
        if self.paused() {
            self.health.healthy = self.health.server_answers;
            self.health.message = "paused: no automatic action".into();
            return;
        }
        if local.is_some() && self.health.read_only == Some(true) && self.set_local_read_only(false)
        {
            self.health.read_only = Some(false);
            self.emit("writable", "server made writable (this node is master)");
        }
        if let Some(err) = self.resource.failed_announcement() {
            self.emit(
                "error",
                &format!("gratuitous ARP failed (sent again now): {err}"),
            );
            self.announce_pending = Some(Claim::FromUnreachable);
        }
        let held = self.resource.held().unwrap_or(false);
        if !held || self.announce_pending.is_some() {
            let why = self.announce_pending.unwrap_or(Claim::Keep);
            self.claim_resource(why);
        }
        let held = self.resource.held().unwrap_or(false);
        self.health.healthy = self.health.server_answers
            && self.health.read_only == Some(false)
            && held
            && self.announce_pending.is_none();
        if self.health.healthy {
            self.health.message = format!("master: serving, holds {}", self.resource.describe());
        } else if self.health.message.is_empty() {
            self.health.message = "master: not serving yet".into();
        }
    }

    /// Claims the resource; a failed claim or announcement is repeated at
    /// the next check until it succeeds or the node stops being master.
    fn claim_resource(&mut self, why: Claim) {
        if self.votes_on() && !self.lease_ok() {
            self.announce_pending = Some(why);
            return;
        }
        match self.resource.claim(why) {
            Ok(arp) => {
                self.announce_pending = None;
                let message = format!(
                    "claimed {}{}",
                    self.resource.describe(),
                    if arp { " (gratuitous ARP sent)" } else { "" }
                );
                self.emit("claimed", &message);
            }
            Err(err) => {
                let first = self.announce_pending.is_none();
                self.announce_pending = Some(why);
                if first {
                    let message = format!(
                        "cannot claim {} (tried again at every check): {err}",
                        self.resource.describe()
                    );
                    self.emit("error", &message);
                }
            }
        }
    }

    /// With votes: renews the lease; stands aside (and says why) when the
    /// master may not serve. Steps down when a newer term exists.
    fn vote_allows_serving(&mut self, mut local: Option<&mut SqlConn>) -> bool {
        let server_answers = self.health.server_answers;
        // Renewing can take the whole ask timeout: a lease that could run
        // out meanwhile is given up first, so the address is never held
        // past it. (Ticks come often enough for this to happen only after
        // a long action, such as a takeover's write check.)
        if !self.standing_aside
            && self.lease.ever_held()
            && !self.lease.valid_for(self.ask_timeout_for_lease())
        {
            let why = format!("lease about to run out; {}", self.lease_refusal());
            self.stand_aside(&why);
        }
        let semi_sync = self.semi_sync_before_renewal(local.as_deref_mut());
        // A master whose own server does not answer does not ask for a
        // lease: it could not serve it, and the slave should not wait on it.
        let newer = if server_answers {
            self.renew_lease(semi_sync.in_sync)
        } else {
            self.lease.clear();
            None
        };
        if let Some(term) = newer {
            self.step_down(term);
            return false;
        }
        if !self.lease_ok() {
            let why = if server_answers {
                self.lease_refusal()
            } else {
                // check_local put the connection's error in the message.
                self.health.message.clone()
            };
            self.stand_aside(&why);
            return false;
        }
        if self.standing_aside {
            self.standing_aside = false;
            self.emit(
                "regained-majority",
                &format!("backed again ({}): serving", self.lease_refusal()),
            );
        }
        if !self.confirmed {
            self.confirmed = true;
            self.emit(
                "confirmed",
                &format!(
                    "backed by a majority for term {}: this node serves as master",
                    self.state.term
                ),
            );
        }
        self.semi_sync_after_renewal(local, semi_sync);
        true
    }

    /// Without votes: the master serves while the peer holds no newer term.
    fn peer_allows_serving(&mut self) -> bool {
        let peer_state = self.read_peer_state();
        if let Ok(Some(peer)) = &peer_state {
            if peer.term > self.state.term {
                let term = peer.term;
                self.step_down(term);
                return false;
            }
        }
        if !self.confirmed {
            if peer_state.is_ok() {
                self.confirmed = true;
                self.emit(
                    "confirmed",
                    &format!(
                        "peer {} holds no newer term: this node serves as master",
                        self.peer.host()
                    ),
                );
            } else {
                self.set_local_read_only(true);
                self.health.message = format!(
                    "read-only: waiting for peer {} to confirm that no newer term exists",
                    self.peer.host()
                );
                return false;
            }
        }
        true
    }

    fn step_down(&mut self, peer_term: u64) {
        let _ = self.resource.release();
        self.set_local_read_only(true);
        let persisted = self.persist_read_only(true);
        self.state.role = Role::NeedsRejoin;
        self.save_state();
        self.confirmed = false;
        self.health.healthy = false;
        self.health.message = format!(
            "needs rejoining as slave of {} (peer term {peer_term}): read-only, no resource",
            self.peer.host()
        );
        let note = match persisted {
            Ok(Some(run)) => format!(" (read-only written to the option files, run {run})"),
            Ok(None) => String::new(),
            Err(err) => format!(" (could not write read-only to the option files: {err})"),
        };
        self.emit(
            "stepped-down",
            &format!(
                "peer {} holds term {peer_term} (this node had {}): read-only, resource released; needs rejoining as slave (mysql-ha rejoin){note}",
                self.peer.host(),
                self.state.term
            ),
        );
    }

    fn rejoin_tick(&mut self) {
        self.health = Health::default();
        if let Some(mut db) = self.check_local() {
            self.semi_sync_master_off(&mut db);
        }
        if self.health.read_only == Some(false) {
            self.set_local_read_only(true);
        }
        if self.resource.held().unwrap_or(false) {
            let _ = self.resource.release();
        }
        let newer = self.last_peer_state.as_ref().map(|p| p.term);
        let _ = self.read_peer_state();
        self.health.healthy = false;
        self.health.message = format!(
            "needs rejoining as slave of {} (peer term {}): read-only, no resource",
            self.peer.host(),
            self.last_peer_state
                .as_ref()
                .map(|p| p.term)
                .or(newer)
                .map(|t| t.to_string())
                .unwrap_or_else(|| "unknown".into())
        );
    }

    fn write_status(&mut self) {
        let status = DaemonStatus {
            node: self.config.node.address.clone(),
            pid: std::process::id(),
            updated_at: now(),
            role: self.state.role,
            term: self.state.term,
            healthy: self.health.healthy,
            holds_resource: self.state.role == Role::Master
                && self.config.cluster.resource != crate::answers::Resource::None
                && self.resource.held().unwrap_or(false),
            server_answers: self.health.server_answers,
            read_only: self.health.read_only,
            paused: self.paused(),
            takeover_held: self.takeover_held(),
            message: self.health.message.clone(),
            recent_events: self.events.recent(),
            vote: self.vote_snapshot(),
            replication: match (&self.last_replica, self.state.role) {
                (Some(replica), Role::Slave) => Some(state::ReplicationStatus {
                    io_running: replica.as_ref().is_some_and(|r| r.io_running == "Yes"),
                    sql_running: replica.as_ref().is_some_and(|r| r.sql_running == "Yes"),
                    lag_s: replica.as_ref().and_then(|r| r.seconds_behind),
                    last_error: replica
                        .as_ref()
                        .map(|r| r.last_error.clone())
                        .unwrap_or_else(|| "this server replicates from nobody".into()),
                }),
                _ => None,
            },
        };
        if let Err(err) = write_json(&state::status_path(), &status) {
            eprintln!("mysql-ha daemon: cannot write the status file: {err}");
        }
        self.publish_metrics(&status);
    }

    fn publish_metrics(&self, status: &DaemonStatus) {
        let Some(endpoint) = &self.metrics else {
            return;
        };
        let checked_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let serving_master = self.state.role == Role::Master && self.votes_on();
        let facts = metrics::Facts {
            status,
            peer: &self.config.node.peer,
            durability: self.config.durability.name(),
            peer_reachable: self.peer_reachable,
            replica: match (&self.last_replica, self.state.role) {
                (Some(replica), Role::Slave) if status.server_answers => Some(replica.as_ref()),
                _ => None,
            },
            counters: &self.counters,
            events: self.events.counts(),
            dirs: self.server_dirs.as_ref(),
            standing_aside: serving_master.then_some(self.standing_aside),
            witness_reachable: self
                .config
                .witness_voter()
                .is_some()
                .then_some(self.witness_reachable),
            checked_at,
        };
        endpoint.publish(metrics::render(&facts));
    }

    fn takeover_held(&self) -> bool {
        let hold = self.config.timings.hold_after_takeover_s;
        self.state.holds_takeovers(now(), hold)
            || self
                .last_peer_state
                .as_ref()
                .is_some_and(|p| p.holds_takeovers(now(), hold))
    }
}

/// `mysql-ha daemon`: runs until killed.
pub fn run(config_path: &Path) -> Result<()> {
    Daemon::start(config_path)?.run()
}
