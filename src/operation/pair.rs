//! The two nodes of a run, connected: node access, distribution profile and
//! an admin SQL connection each.

use std::path::{Path, PathBuf};

use crate::access::{Access, SqlSession};
use crate::answers::{Answers, NodeAnswers};
use crate::mycnf::effective::Config;
use crate::node::snapshot::Snapshot;
use crate::profile::{self, Profile};
use crate::sql::SqlConn;
use crate::{Error, Result};

/// Which node of the pair (or the witness host) a step or member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Master,
    Slave,
    /// A third database node (`[slave2]`, Pacemaker only): a second slave
    /// of the master, set up as the slave is.
    Slave2,
    /// The witness host: files and a service only.
    Witness,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Master => "master",
            Side::Slave => "slave",
            Side::Slave2 => "slave2",
            Side::Witness => "witness",
        }
    }
}

pub struct Member {
    pub side: Side,
    pub answers: NodeAnswers,
    pub access: Access,
    pub profile: Profile,
    pub session: SqlSession,
    /// Set when the installer's own trust was bootstrapped by password.
    pub trust: Option<crate::node::bootstrap::Bootstrapped>,
}

impl Member {
    pub fn connect(
        side: Side,
        answers: &NodeAnswers,
        forced_profile: Option<&str>,
    ) -> Result<Member> {
        Self::connect_with(side, answers, forced_profile, false)
    }

    /// `exclusive`: for a run that will change the node, a run lock held by
    /// another live run is an error right after ssh, before the server is
    /// asked anything (that run may be restarting it).
    fn connect_with(
        side: Side,
        answers: &NodeAnswers,
        forced_profile: Option<&str>,
        exclusive: bool,
    ) -> Result<Member> {
        let (access, trust) = Access::open_bootstrapping(answers)?;
        if exclusive {
            crate::run_lock::check_free(&[(answers.host.as_str(), access.node())])?;
        }
        let profile = profile::detect(access.node(), forced_profile)?;
        let session = Self::open_sql(&access, &profile, answers).map_err(|err| {
            let code = crate::sql::conn::error_code(&err);
            if code == Some(crate::sql::codes::ACCESS_DENIED)
                || code == Some(crate::sql::codes::ACCESS_DENIED_NO_PASSWORD)
            {
                Error::Answers {
                    key: format!("{}.mysql_admin_password", side.name()),
                    message: format!(
                        "the server on {} refused {} ({err}); check mysql_admin_user and mysql_admin_password (empty means unix-socket login as root)",
                        answers.host, answers.mysql_admin_user
                    ),
                }
            } else {
                err
            }
        })?;
        Ok(Member {
            side,
            answers: answers.clone(),
            access,
            profile,
            session,
            trust,
        })
    }

    /// A member reached through `access` (unit tests: `Access::Fake`),
    /// with its profile given: what `connect` finds by itself.
    pub fn with_access(
        side: Side,
        answers: &NodeAnswers,
        access: Access,
        profile: Profile,
    ) -> Result<Member> {
        let session = Self::open_sql(&access, &profile, answers)?;
        Ok(Member {
            side,
            answers: answers.clone(),
            access,
            profile,
            session,
            trust: None,
        })
    }

    fn open_sql(access: &Access, profile: &Profile, answers: &NodeAnswers) -> Result<SqlSession> {
        access.connect_sql(
            &answers.host,
            &profile.paths.socket,
            &answers.mysql_admin_user,
            &answers.mysql_admin_password,
        )
    }

    /// A second SQL session to the same server (for a snapshot held while
    /// the first one runs other statements).
    pub fn open_sql_session(&self) -> Result<SqlSession> {
        Self::open_sql(&self.access, &self.profile, &self.answers)
    }

    /// Connects again (after a restart).
    pub fn reconnect(&mut self) -> Result<()> {
        self.session = Self::open_sql(&self.access, &self.profile, &self.answers)?;
        Ok(())
    }

    pub fn sql(&mut self) -> &mut SqlConn {
        &mut self.session.conn
    }

    pub fn label(&self) -> &str {
        &self.answers.host
    }

    /// The server's effective option files. A remote node's files are read
    /// in one round trip (a snapshot made for this reading only).
    pub fn config(&self) -> Result<Config> {
        let node = self.access.node();
        if self.access.is_local() {
            return Config::load(node, &self.profile);
        }
        let snapshot = Snapshot::take(node, &config_roots(&self.profile))?;
        Config::load(&snapshot, &self.profile)
    }
}

/// Where a profile's option files live: each top-level file (and its `.d`
/// folder), or the folder of a nested one.
fn config_roots(profile: &Profile) -> Vec<PathBuf> {
    let config = &profile.config;
    let mut roots: Vec<PathBuf> = Vec::new();
    let files = config
        .read_order
        .iter()
        .chain([&config.entry_file, &config.settings_file]);
    for file in files {
        let candidates = match file.parent() {
            Some(parent) if parent == Path::new("/etc") => {
                vec![file.clone(), PathBuf::from(format!("{}.d", file.display()))]
            }
            Some(parent) => vec![parent.to_path_buf()],
            None => vec![file.clone()],
        };
        for candidate in candidates {
            if !roots.iter().any(|r| candidate.starts_with(r)) {
                roots.push(candidate);
            }
        }
    }
    roots
}

pub struct Pair {
    pub answers: Answers,
    pub master: Member,
    pub slave: Member,
    /// The third database node (`[slave2]`), when the answers give one.
    pub slave2: Option<Member>,
    /// The witness host (`cluster.witness`), reached like the nodes; it has
    /// no database server, only files and a service setup installs.
    pub witness: Option<WitnessHost>,
}

pub struct WitnessHost {
    pub host: String,
    pub access: Access,
}

impl WitnessHost {
    /// Opens the witness of `answers`, when there is one.
    pub fn connect(answers: &Answers) -> Result<Option<WitnessHost>> {
        let cluster = &answers.cluster;
        if cluster.witness.is_empty() {
            return Ok(None);
        }
        let node = NodeAnswers {
            host: cluster.witness.clone(),
            ssh_user: cluster.witness_ssh_user.clone(),
            ..NodeAnswers::default()
        };
        let (access, _) = Access::open_bootstrapping(&node).map_err(|err| Error::Answers {
            key: "cluster.witness".into(),
            message: format!(
                "cannot reach the witness {} as {}: {err}",
                cluster.witness, cluster.witness_ssh_user
            ),
        })?;
        Ok(Some(WitnessHost {
            host: cluster.witness.clone(),
            access,
        }))
    }
}

impl Pair {
    /// The monitor account's password, as the master's cluster.toml holds it.
    pub fn monitor_password(&self) -> Result<String> {
        let bytes = self
            .master
            .access
            .node()
            .read(Path::new(crate::daemon::config::DEFAULT_PATH))?
            .ok_or_else(|| Error::Node {
                node: self.master.label().to_string(),
                message: format!(
                    "{} is missing: run `mysql-ha setup` again to write it",
                    crate::daemon::config::DEFAULT_PATH
                ),
            })?;
        crate::daemon::config::ClusterConfig::parse(&String::from_utf8_lossy(&bytes))
            .map(|c| c.monitor.password)
            .map_err(|message| Error::Config {
                path: crate::daemon::config::DEFAULT_PATH.into(),
                message: format!("on {}: {message}", self.master.label()),
            })
    }

    pub fn connect(answers: &Answers, forced_profile: Option<&str>) -> Result<Pair> {
        Self::connect_with(answers, forced_profile, false)
    }

    /// For a run that will change the nodes: a node another live run holds
    /// is refused at once (see run_lock).
    pub fn connect_for_change(answers: &Answers, forced_profile: Option<&str>) -> Result<Pair> {
        Self::connect_with(answers, forced_profile, true)
    }

    fn connect_with(
        answers: &Answers,
        forced_profile: Option<&str>,
        exclusive: bool,
    ) -> Result<Pair> {
        answers.check_addresses(&crate::answers::resolve_host)?;
        let master =
            Member::connect_with(Side::Master, &answers.master, forced_profile, exclusive)?;
        let slave = Member::connect_with(Side::Slave, &answers.slave, forced_profile, exclusive)?;
        let slave2 = if answers.has_slave2() {
            Some(Member::connect_with(
                Side::Slave2,
                &answers.slave2,
                forced_profile,
                exclusive,
            )?)
        } else {
            None
        };
        Ok(Pair {
            answers: answers.clone(),
            master,
            slave,
            slave2,
            witness: None,
        })
    }

    /// Puts the second slave where the slave is (its member and its
    /// answers), and the slave where the second slave was: the steps that
    /// make a node the master's slave (configure, account, seed, start,
    /// verify) then act on it unchanged. Swapping again undoes it. An
    /// error when the run has no second slave.
    pub fn swap_slaves(&mut self) -> Result<()> {
        let Some(slave2) = self.slave2.as_mut() else {
            return Err(Error::Internal(
                "a step for a second slave (slave2), which this run does not have".into(),
            ));
        };
        std::mem::swap(&mut self.slave, slave2);
        std::mem::swap(&mut self.answers.slave, &mut self.answers.slave2);
        Ok(())
    }

    /// Runs `work` with the second slave in the slave's place, and puts
    /// them back whatever it returns.
    pub fn with_slave2<T>(&mut self, work: impl FnOnce(&mut Pair) -> Result<T>) -> Result<T> {
        self.swap_slaves()?;
        let result = work(self);
        self.swap_slaves()?;
        result
    }

    /// Every database node's label (master, slave, then slave2).
    pub fn database_labels(&self) -> Vec<&str> {
        let mut labels = vec![self.master.label(), self.slave.label()];
        labels.extend(self.slave2.as_ref().map(Member::label));
        labels
    }

    /// Also reaches the witness host, for the runs that install or check it
    /// (setup, check); the others do not need it up.
    pub fn with_witness(mut self) -> Result<Pair> {
        self.witness = WitnessHost::connect(&self.answers)?;
        Ok(self)
    }

    /// The node on `side`; the witness has no database server.
    pub fn member(&mut self, side: Side) -> Result<&mut Member> {
        match side {
            Side::Master => Ok(&mut self.master),
            Side::Slave => Ok(&mut self.slave),
            Side::Slave2 => self.slave2.as_mut().ok_or_else(|| {
                Error::Internal(
                    "a step for a second slave (slave2), which this run does not have".into(),
                )
            }),
            Side::Witness => Err(Error::Internal(
                "a database step on the witness host, which has no database server".into(),
            )),
        }
    }

    /// How `side` is reached, and its label.
    pub fn access(&self, side: Side) -> Result<(&Access, &str)> {
        match side {
            Side::Master => Ok((&self.master.access, self.master.label())),
            Side::Slave => Ok((&self.slave.access, self.slave.label())),
            Side::Slave2 => self
                .slave2
                .as_ref()
                .map(|m| (&m.access, m.label()))
                .ok_or_else(|| {
                    Error::Internal(
                        "a step for a second slave (slave2), which this run does not have".into(),
                    )
                }),
            Side::Witness => self
                .witness
                .as_ref()
                .map(|w| (&w.access, w.host.as_str()))
                .ok_or_else(|| {
                    Error::Internal(
                        "a step for a witness host, which this run does not have".into(),
                    )
                }),
        }
    }
}
