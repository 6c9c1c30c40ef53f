use clap::Parser;
use mysql_ha::cli::{Cli, Command};
use mysql_ha::{commands, sandbox, Error, Result};

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Sandbox { command } => sandbox::run(command),
        Command::ClusterAgent(args) => commands::cluster_agent::run(args),
        Command::Setup(args) => commands::setup::setup(args),
        Command::AddDb(_) => Err(Error::NotBuilt { command: "add-db" }),
        Command::Status(args) => commands::setup::status(args),
        Command::Check(args) => commands::setup::check(args),
        Command::Rollback(args) => commands::mycnf::rollback(args),
        Command::Mycnf { command } => commands::mycnf::run(command),
        Command::Daemon { .. } => Err(Error::NotBuilt { command: "daemon" }),
        Command::Rejoin { .. } => Err(Error::NotBuilt { command: "rejoin" }),
        Command::Switchover { .. } => Err(Error::NotBuilt {
            command: "switchover",
        }),
        Command::Pause => Err(Error::NotBuilt { command: "pause" }),
        Command::Resume => Err(Error::NotBuilt { command: "resume" }),
        Command::Ack => Err(Error::NotBuilt { command: "ack" }),
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli) {
        eprintln!("mysql-ha: error: {err}");
        std::process::exit(err.exit_code());
    }
}
