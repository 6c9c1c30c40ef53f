use clap::Parser;
use mysql_ha::cli::{Cli, Command};
use mysql_ha::{commands, sandbox, Result};

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Sandbox { command } => sandbox::run(command),
        Command::ClusterAgent(args) => commands::cluster_agent::run(args),
        Command::Setup(args) => commands::setup::setup(args),
        Command::AddDb(args) => commands::setup::add_db(args),
        Command::Resync(args) => commands::setup::resync(args),
        Command::Status(args) if args.watch => mysql_ha::ui::watch::run(
            std::path::Path::new(mysql_ha::daemon::config::DEFAULT_PATH),
            args.common.answers.as_deref(),
        ),
        Command::Status(args) => commands::setup::status(args.common),
        Command::Check(args) => commands::setup::check(args),
        Command::Rollback(args) => commands::rollback::run(args),
        Command::Mycnf { command } => commands::mycnf::run(command),
        Command::Daemon { config } => commands::daemon::daemon(&config),
        Command::Witness { config } => mysql_ha::vote::witness::run(&config),
        Command::Rejoin(args) => commands::cluster_ops::rejoin(args),
        Command::Switchover(args) => commands::cluster_ops::switchover(args),
        Command::Pause => commands::daemon::pause(),
        Command::Resume => commands::daemon::resume(),
        Command::Ack => commands::daemon::ack(),
        Command::Privileged { command } => commands::privileged::run(command),
        Command::Completions { shell } => commands::reference::completions(shell),
        Command::Manpages { dir } => commands::reference::man_pages(&dir),
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli) {
        eprintln!("mysql-ha: error: {err}");
        std::process::exit(err.exit_code());
    }
}
