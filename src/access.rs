//! How the tool reaches one node of the pair: directly when the node is the
//! machine it runs on, else over ssh. Either way the engine sees a `Node`.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::answers::NodeAnswers;
use crate::node::bootstrap::{self, Bootstrapped};
use crate::node::ssh::SocketForward;
use crate::node::{LocalNode, Node, Output, SshNode};
use crate::sql::fake::FakeServer;
use crate::sql::SqlConn;
use crate::{Error, Result};

pub enum Access {
    Local(LocalNode),
    Ssh(SshNode),
    /// Unit tests: any `Node` (a temporary tree) and a recording fake
    /// server in place of the node's database server.
    Fake {
        node: Box<dyn Node>,
        server: FakeServer,
    },
}

impl Access {
    /// Local when `host` names this machine, else an ssh connection.
    pub fn open(answers: &NodeAnswers) -> Result<Access> {
        Ok(Self::open_bootstrapping(answers)?.0)
    }

    /// Like `open`; a node that refuses the installer's key is bootstrapped
    /// with `ssh_password` when the answers give one (see node::bootstrap).
    pub fn open_bootstrapping(answers: &NodeAnswers) -> Result<(Access, Option<Bootstrapped>)> {
        if is_this_machine(&answers.host)? {
            Ok((Access::Local(LocalNode::new()), None))
        } else {
            let (node, trust) = bootstrap::connect(
                &answers.host,
                &answers.ssh_user,
                answers.ssh_port,
                &answers.ssh_password,
            )?;
            Ok((Access::Ssh(node), trust))
        }
    }

    pub fn node(&self) -> &dyn Node {
        match self {
            Access::Local(node) => node,
            Access::Ssh(node) => node,
            Access::Fake { node, .. } => node.as_ref(),
        }
    }

    /// Whether files are read directly (not through one round trip each).
    pub fn is_local(&self) -> bool {
        matches!(self, Access::Local(_) | Access::Fake { .. })
    }

    /// Starts a command with piped stdin and stdout, for streaming.
    pub fn spawn(&self, argv: &[&str]) -> Result<Child> {
        match self {
            Access::Local(_) => {
                let (program, args) = argv
                    .split_first()
                    .ok_or_else(|| Error::Internal("an empty command".into()))?;
                Command::new(program)
                    .args(args)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| Error::io(program, e))
            }
            Access::Ssh(node) => node.spawn(argv),
            Access::Fake { .. } => Err(Error::Internal(format!(
                "a fake node streams no command (`{}`)",
                argv.join(" ")
            ))),
        }
    }

    /// Opens an SQL connection to the node's server through its unix socket.
    pub fn connect_sql(
        &self,
        label: &str,
        socket: &Path,
        user: &str,
        password: &str,
    ) -> Result<SqlSession> {
        match self {
            Access::Local(_) => Ok(SqlSession {
                conn: SqlConn::connect(label, socket, user, password)?,
                _forward: None,
            }),
            Access::Ssh(node) => {
                let forward = node.forward_socket(socket)?;
                let conn = SqlConn::connect(label, forward.path(), user, password)?;
                Ok(SqlSession {
                    conn,
                    _forward: Some(forward),
                })
            }
            Access::Fake { server, .. } => Ok(SqlSession {
                conn: SqlConn::fake(label, server)?,
                _forward: None,
            }),
        }
    }

    pub fn run_checked(&self, argv: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
        self.node()
            .run(argv, stdin)?
            .checked(self.node().label(), argv)
    }
}

/// An SQL connection and, for a remote node, the socket forward it uses.
pub struct SqlSession {
    pub conn: SqlConn,
    _forward: Option<SocketForward>,
}

/// Addresses of this machine's interfaces (`ip -o addr`).
fn local_addresses() -> Result<Vec<IpAddr>> {
    let out = LocalNode::new().run(&["ip", "-o", "addr", "show"], None)?;
    Ok(out
        .stdout_text()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|w| *w == "inet" || *w == "inet6")?;
            words.next()?.split('/').next()?.parse().ok()
        })
        .collect())
}

fn is_this_machine(host: &str) -> Result<bool> {
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => (host, 0)
            .to_socket_addrs()
            .map_err(|e| Error::Ssh {
                host: host.to_string(),
                message: format!("cannot resolve the name: {e}"),
            })?
            .map(|a| a.ip())
            .collect(),
    };
    if addresses.iter().any(|a| a.is_loopback()) {
        return Ok(true);
    }
    let local = local_addresses()?;
    Ok(addresses.iter().any(|a| local.contains(a)))
}
