//! Command-line definitions (DESIGN.md section 3). Parsing only: no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "mysql-ha",
    version,
    about = "Turn two MySQL/MariaDB servers into a highly available master/slave pair"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Configure replication between a master and a slave and hand off to the cluster daemon.
    Setup(SetupArgs),
    /// Add databases to the replication of a running cluster.
    AddDb(AddDbArgs),
    /// Copy replicated databases again from the master into the slave while
    /// the others keep replicating; proved by the consistency check.
    Resync(ResyncArgs),
    /// Show each node's role, version and replication state.
    Status(StatusArgs),
    /// Run the preflight checks alone; exit 0 only when nothing is fatal.
    Check(CheckArgs),
    /// Put back every file a run changed, exactly as it was.
    Rollback(RollbackArgs),
    /// Step-level access to the server option files (for manual installs).
    Mycnf {
        #[command(subcommand)]
        command: MycnfCommand,
    },
    /// Run the cluster daemon.
    Daemon {
        /// The daemon's configuration (written by setup; see docs/daemon.md).
        #[arg(long, default_value = "/etc/mysql-ha/cluster.toml")]
        config: PathBuf,
    },
    /// Run the cluster's witness: the third vote, on a host of its own.
    Witness {
        /// The witness's configuration (written by setup).
        #[arg(long, default_value = "/etc/mysql-ha/witness.toml")]
        config: PathBuf,
    },
    /// Make a failed former master the slave of the current master.
    Rejoin(RejoinArgs),
    /// Swap the master role on purpose, without losing a write.
    Switchover(SwitchoverArgs),
    /// Stop the daemon from taking any action.
    Pause,
    /// Let the daemon act again after a pause.
    Resume,
    /// Acknowledge a takeover so the cluster leaves its degraded state.
    Ack,
    /// Start the cluster account's ssh-agent and load its encrypted key (root,
    /// at daemon start; see docs/cluster-access.md). Prints SSH_AUTH_SOCK and SSH_AGENT_PID.
    #[command(hide = true)]
    ClusterAgent(ClusterAgentArgs),
    /// Root-only helpers the daemon runs through its sudo allowlist
    /// (fixed arguments; see src/privileged.rs).
    #[command(hide = true)]
    Privileged {
        #[command(subcommand)]
        command: PrivilegedAction,
    },
    /// Print the shell completion script (bash, zsh, fish, ...) to stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages generated from these definitions (mysql-ha.1
    /// and one page per subcommand) into DIR; for packaging (scripts/package).
    #[command(hide = true)]
    Manpages { dir: PathBuf },
    /// A two-node lab on this machine (root only): network namespaces, real MariaDB and sshd.
    Sandbox {
        #[command(subcommand)]
        command: SandboxCommand,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UiChoice {
    Auto,
    Tui,
    Prompt,
    Plain,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Answers file (TOML), see docs/answers.md.
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Ask nothing: every value comes from the answers file or defaults.
    #[arg(long)]
    pub yes: bool,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Front-end: full screen, prompts, or one question per line (auto picks).
    #[arg(long, value_enum, default_value = "auto")]
    pub ui: UiChoice,
    /// Use this distribution profile instead of detecting one.
    #[arg(long)]
    pub profile: Option<String>,
    /// Write the wizard's answers to this file (mode 0600) for unattended runs.
    #[arg(long)]
    pub save_answers: Option<PathBuf>,
    /// With --save-answers: keep the passwords and passphrase in the file.
    #[arg(long, requires = "save_answers")]
    pub include_secrets: bool,
}

#[derive(Debug, Args)]
pub struct AddDbArgs {
    /// Databases to add (each present on the master).
    #[arg(required = true)]
    pub databases: Vec<String>,
    /// Answers file naming both nodes (the one setup used).
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Ask nothing: every value comes from the answers file or defaults.
    #[arg(long)]
    pub yes: bool,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ResyncArgs {
    /// Databases to copy again (each replicated now).
    #[arg(required = true)]
    pub databases: Vec<String>,
    /// Answers file naming both nodes (the one setup used).
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Ask nothing: every value comes from the answers file or defaults.
    #[arg(long)]
    pub yes: bool,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RejoinArgs {
    /// The node to rejoin: its address in the answers file, or its host name.
    pub node: String,
    /// Answers file naming both nodes (the one setup used).
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Ask nothing; transactions the master never received stop the rejoin
    /// unless --save-and-reseed is given too.
    #[arg(long)]
    pub yes: bool,
    /// Print the plan (and any transactions the master never received) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// When the node holds transactions the master never received: save them
    /// to the run's backup folder, then copy the replicated databases again.
    #[arg(long)]
    pub save_and_reseed: bool,
}

#[derive(Debug, Args)]
pub struct SwitchoverArgs {
    /// The node to make master (default: the current slave).
    #[arg(long)]
    pub to: Option<String>,
    /// Answers file naming both nodes (the one setup used).
    #[arg(long)]
    pub answers: Option<PathBuf>,
    #[arg(long)]
    pub yes: bool,
    /// Run the preflight, print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Largest replication lag of the target, in seconds, that the preflight accepts.
    #[arg(long, default_value_t = 10)]
    pub max_lag: u64,
    /// Longest wait, in seconds, for the target to apply everything once the
    /// master is read-only; past it the switchover is undone.
    #[arg(long, default_value_t = 30)]
    pub apply_wait: u64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: JsonArgs,
    /// Full screen, refreshed every second: both daemons, the slave's lag,
    /// the events as they happen; keys p, r, a, s (switchover, with
    /// --answers) and q. Needs a terminal.
    #[arg(long, conflicts_with = "json")]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print one JSON document (stable keys, for scripts).
    #[arg(long)]
    pub json: bool,
    /// Answers file naming both nodes (default: this node's cluster.toml);
    /// with --watch, the file a switchover from the screen uses.
    #[arg(long)]
    pub answers: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print one JSON document (for scripts).
    #[arg(long)]
    pub json: bool,
    /// Compare the replicated tables of master and slave (chunked
    /// checksums at one point of history) instead of the preflight checks.
    #[arg(long)]
    pub consistency: bool,
    /// With --consistency: these databases only (comma-separated; default:
    /// the ones the slave replicates).
    #[arg(long, value_delimiter = ',', requires = "consistency")]
    pub databases: Vec<String>,
    /// With --consistency: rows per checksum chunk.
    #[arg(long, default_value_t = 1000, requires = "consistency")]
    pub chunk_rows: u64,
    /// Answers file naming both nodes.
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Use this distribution profile instead of detecting one.
    #[arg(long)]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClusterAgentArgs {
    #[arg(long, default_value = "mysqlha")]
    pub account: String,
    /// Default: ~ACCOUNT/.ssh/id_ed25519.
    #[arg(long)]
    pub key: Option<PathBuf>,
    #[arg(long, default_value = "/etc/mysql-ha/key-passphrase")]
    pub passphrase_file: PathBuf,
    #[arg(long, default_value = "/run/mysql-ha/agent")]
    pub socket_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The run to undo; without it, the runs are listed.
    pub run_id: Option<String>,
    /// Undo the run even when a later run built on its changes.
    #[arg(long)]
    pub force: bool,
    /// Undo without asking (no terminal needed).
    #[arg(long)]
    pub yes: bool,
    /// Show what the undo would do, after every check, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Undo a run on both nodes of this answers file instead of this machine only.
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Work on a filesystem tree instead of `/`.
    #[arg(long)]
    pub root: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PrivilegedAction {
    /// Write read_only to this node's option files (backed up, journaled),
    /// reading the profile from /etc/mysql-ha/cluster.toml.
    SetReadOnly {
        #[arg(value_enum)]
        value: OnOff,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Master,
    Slave,
}

#[derive(Debug, Subcommand)]
pub enum MycnfCommand {
    /// Print the effective server options, each with the file and line it comes from.
    Show {
        #[arg(long)]
        root: Option<PathBuf>,
        #[arg(long)]
        profile: Option<String>,
    },
    /// Apply exactly what setup would apply to this node's configuration, with backup.
    Edit {
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        server_id: u32,
        /// Comma-separated databases to replicate (slave role).
        #[arg(long, value_delimiter = ',')]
        databases: Vec<String>,
        /// Address the server listens on (master role); default 0.0.0.0.
        #[arg(long)]
        bind_address: Option<String>,
        #[arg(long)]
        root: Option<PathBuf>,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Build (or complete) the lab: node1, node2 (node3 with --nodes 3)
    /// and client on one bridge.
    Up {
        /// Grow the sample databases to about this many MB.
        #[arg(long, default_value_t = 2)]
        data_mb: u32,
        /// Leave ssh keys out; give each node a root password instead.
        #[arg(long)]
        no_trust: bool,
        /// Run an authoritative DNS server on the client host.
        #[arg(long)]
        dns: bool,
        /// Database nodes: 2 (node1, node2) or 3 (node3 at 192.0.2.13 too).
        /// Default: what the lab has, 2 for a new lab.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(2..=3))]
        nodes: Option<u8>,
        /// Image of every database node: host (this machine, the default),
        /// debian-13 (MariaDB 11.8) or debian-sid-mysql (Oracle MySQL);
        /// built with debootstrap on first use.
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
        /// Image of node1 only (overrides --image).
        #[arg(long, value_name = "IMAGE")]
        node1_image: Option<String>,
        /// Image of node2 only (overrides --image).
        #[arg(long, value_name = "IMAGE")]
        node2_image: Option<String>,
        /// Image of node3 only (overrides --image; needs --nodes 3).
        #[arg(long, value_name = "IMAGE")]
        node3_image: Option<String>,
    },
    /// List the node images (state, size, age), or remove the built ones.
    Images {
        /// Remove every built image no lab host runs on.
        #[arg(long, conflicts_with = "build")]
        prune: bool,
        /// Build these images now unless a current one is cached.
        #[arg(long, value_name = "IMAGE", num_args = 1..)]
        build: Vec<String>,
    },
    /// Remove every namespace, mount, process and directory of the lab.
    Down,
    /// Tell what runs.
    Status,
    /// Run a command on a host as root, with that host's view.
    Exec {
        host: String,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Kill every process of a node at once, like a power cut.
    Crash { node: String },
    /// Start a crashed node again (its files are kept).
    Boot { node: String },
    /// Internal: pid 1 of a sandbox node.
    #[command(hide = true)]
    NodeInit { name: String, state_dir: PathBuf },
    /// Internal: a node's BMC's chassis control (`get power`, `set power 0`).
    #[command(hide = true)]
    BmcChassis {
        node: String,
        #[arg(num_args = 1.., allow_hyphen_values = true)]
        args: Vec<String>,
    },
}
