//! The lab of DESIGN.md section 3: two database hosts (three with
//! `up --nodes 3`) and a client on one bridge, each in its own network, PID,
//! UTS and mount namespaces with a copy-on-write view of the whole
//! filesystem.

pub mod bmc;
mod dns;
mod host;
pub mod image;
mod init;
mod network;
mod prereq;
pub mod sample_data;
mod trust;

use std::path::{Path, PathBuf};

use crate::cli::SandboxCommand;
use crate::{Error, Result};
use image::Image;

pub use host::{exec, exec_checked, init_pid};

/// Where the lab keeps its state: per-host upper layers, logs, answers file.
pub const STATE_DIR: &str = "/var/lib/mysql-ha-sandbox";
/// Names a second, separate lab (e.g. `MYSQL_HA_SANDBOX=b`): its own state
/// folder and namespaces, the same addresses on a bridge of its own, so labs
/// never see each other.
pub const NAME_VARIABLE: &str = "MYSQL_HA_SANDBOX";

/// The lab's name: empty for the default lab.
pub fn lab_name() -> Result<String> {
    let name = std::env::var(NAME_VARIABLE).unwrap_or_default();
    if name.len() > 8
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err(Error::Sandbox(format!(
            "{NAME_VARIABLE}={name:?}: use at most 8 lowercase letters or digits"
        )));
    }
    Ok(name)
}

fn lab_name_or_default() -> String {
    lab_name().unwrap_or_default()
}

/// Every namespace of the lab starts with this, so `down` finds them all.
pub fn netns_prefix() -> String {
    format!("mhsb{}-", lab_name_or_default())
}

pub fn bridge_netns() -> String {
    format!("{}bridge", netns_prefix())
}
pub const PREFIX_LEN: u8 = 24;
/// Left free for the cluster address.
pub const CLUSTER_ADDRESS: &str = "192.0.2.10";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSpec {
    pub name: &'static str,
    pub address: &'static str,
    /// Database hosts run MariaDB and sshd; the client only probes.
    pub database: bool,
}

/// Every host a lab can have; a lab has node3 only when it was built with
/// `up --nodes 3` (see [`lab_hosts`]).
pub const ALL_HOSTS: [HostSpec; 4] = [
    HostSpec {
        name: "node1",
        address: "192.0.2.11",
        database: true,
    },
    HostSpec {
        name: "node2",
        address: "192.0.2.12",
        database: true,
    },
    HostSpec {
        name: "node3",
        address: "192.0.2.13",
        database: true,
    },
    HostSpec {
        name: "client",
        address: "192.0.2.100",
        database: false,
    },
];

/// The optional third database host.
pub const THIRD_NODE: &str = "node3";

/// How many database hosts a lab has unless `up --nodes 3` added node3.
pub const DEFAULT_NODES: u8 = 2;

/// Any host a lab can have, by name (whether or not this lab has it).
pub fn host_spec(name: &str) -> Result<HostSpec> {
    ALL_HOSTS
        .iter()
        .copied()
        .find(|h| h.name == name)
        .ok_or_else(|| {
            Error::Sandbox(format!(
                "no host named `{name}` in the lab (hosts: node1, node2, client; node3 with `up --nodes 3`)"
            ))
        })
}

/// The database hosts of the lab whose state folder is `state`: node3 is
/// one once an `up --nodes 3` recorded its image there (its folder stays
/// until `down`).
pub fn database_nodes_in(state: &Path) -> u8 {
    if state.join("hosts").join(THIRD_NODE).join("image").exists() {
        3
    } else {
        DEFAULT_NODES
    }
}

/// The hosts of the lab whose state folder is `state`.
pub fn lab_hosts_in(state: &Path) -> Vec<HostSpec> {
    hosts_with(database_nodes_in(state))
}

/// The hosts of this lab.
pub fn lab_hosts() -> Vec<HostSpec> {
    lab_hosts_in(&state_dir())
}

fn hosts_with(nodes: u8) -> Vec<HostSpec> {
    ALL_HOSTS
        .iter()
        .copied()
        .filter(|h| nodes >= 3 || h.name != THIRD_NODE)
        .collect()
}

/// A host of this lab, for the commands that act on one (exec, crash, boot).
pub fn lab_host(name: &str) -> Result<HostSpec> {
    let spec = host_spec(name)?;
    if !lab_hosts().contains(&spec) {
        return Err(Error::Sandbox(format!(
            "this lab has no {name}: it was built with {DEFAULT_NODES} database nodes (`mysql-ha sandbox up --nodes 3` adds {name})"
        )));
    }
    Ok(spec)
}

pub fn state_dir() -> PathBuf {
    match lab_name_or_default().as_str() {
        "" => PathBuf::from(STATE_DIR),
        name => PathBuf::from(format!("{STATE_DIR}-{name}")),
    }
}

pub fn host_dir(name: &str) -> PathBuf {
    state_dir().join("hosts").join(name)
}

pub fn answers_path() -> PathBuf {
    state_dir().join("answers.toml")
}

pub fn run(command: SandboxCommand) -> Result<()> {
    lab_name()?;
    match command {
        SandboxCommand::NodeInit { name, state_dir } => init::run(&name, &state_dir),
        SandboxCommand::Up {
            data_mb,
            no_trust,
            dns,
            nodes,
            image,
            node1_image,
            node2_image,
            node3_image,
        } => {
            let recorded = database_nodes_in(&state_dir());
            let nodes = nodes.unwrap_or(recorded);
            if nodes < recorded {
                return Err(Error::Sandbox(format!(
                    "this lab has {recorded} database nodes; `mysql-ha sandbox down` first to build it with {nodes}"
                )));
            }
            if nodes < 3 && node3_image.is_some() {
                return Err(Error::Sandbox(
                    "--node3-image needs a third node: add --nodes 3".into(),
                ));
            }
            let all: Image = image.as_deref().unwrap_or("host").parse()?;
            let pick =
                |one: Option<String>| -> Result<Image> { one.map_or(Ok(all), |name| name.parse()) };
            up(&UpOptions {
                data_mb,
                no_trust,
                dns,
                nodes,
                images: [pick(node1_image)?, pick(node2_image)?, pick(node3_image)?],
            })
        }
        SandboxCommand::Images { prune, build } => {
            if !build.is_empty() {
                prereq::require_root("sandbox images --build")?;
                prereq::require_image_programs()?;
                for name in &build {
                    let image: Image = name.parse()?;
                    image.ensure_built()?;
                }
                print!("{}", image::list_report());
            } else if prune {
                prereq::require_root("sandbox images --prune")?;
                print!("{}", image::prune()?);
            } else {
                print!("{}", image::list_report());
            }
            Ok(())
        }
        SandboxCommand::Down => {
            prereq::require_root("sandbox down")?;
            down()
        }
        SandboxCommand::Status => {
            print!("{}", status_report()?);
            Ok(())
        }
        SandboxCommand::Exec { host, command } => {
            prereq::require_root("sandbox exec")?;
            let spec = lab_host(&host)?;
            let code = host::exec_interactive(spec.name, &command)?;
            std::process::exit(code);
        }
        SandboxCommand::Crash { node } => {
            prereq::require_root("sandbox crash")?;
            host::crash(lab_host(&node)?.name)
        }
        SandboxCommand::Boot { node } => {
            prereq::require_root("sandbox boot")?;
            host::boot_again(&lab_host(&node)?)
        }
        SandboxCommand::BmcChassis { node, args } => {
            prereq::require_root("sandbox bmc-chassis")?;
            bmc::chassis(&lab_host(&node)?, &args)
        }
    }
}

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub data_mb: u32,
    pub no_trust: bool,
    /// Also an authoritative DNS server on the client (dns.rs).
    pub dns: bool,
    /// Database hosts: 2, or 3 for node3 too.
    pub nodes: u8,
    /// Images of node1, node2 and node3 (the client runs on `host`).
    pub images: [Image; 3],
}

impl UpOptions {
    /// The image a lab host runs on.
    pub fn image_of(&self, spec: &HostSpec) -> Image {
        match spec.name {
            "node1" => self.images[0],
            "node2" => self.images[1],
            "node3" => self.images[2],
            _ => Image::Host,
        }
    }

    /// The lab's hosts with these options.
    pub fn hosts(&self) -> Vec<HostSpec> {
        hosts_with(self.nodes)
    }
}

/// Builds whatever part of the lab is missing; safe to run again.
pub fn up(options: &UpOptions) -> Result<()> {
    prereq::require_root("sandbox up")?;
    prereq::require_programs()?;
    if options.dns {
        prereq::require_dns_programs()?;
    }
    let hosts = options.hosts();
    if hosts
        .iter()
        .any(|spec| options.image_of(spec).recipe().is_some())
    {
        prereq::require_image_programs()?;
    }
    let result = build(options);
    if result.is_err() {
        eprintln!("mysql-ha: sandbox up failed; `mysql-ha sandbox down` removes what was made");
    }
    result
}

fn build(options: &UpOptions) -> Result<()> {
    std::fs::create_dir_all(state_dir()).map_err(|e| Error::io(state_dir(), e))?;
    let hosts = options.hosts();
    let databases: Vec<&HostSpec> = hosts.iter().filter(|h| h.database).collect();
    for spec in &hosts {
        host::choose_image(spec, options.image_of(spec))?;
    }
    for spec in &databases {
        options.image_of(spec).ensure_built()?;
    }
    network::create(&hosts)?;
    bmc::up(&hosts)?;
    for spec in &hosts {
        if host::init_pid(spec.name)?.is_none() {
            host::boot(spec)?;
        }
    }
    for spec in &hosts {
        host::wait_ready(spec)?;
    }
    // A host booted before node3 joined the lab learns its name now.
    let names = init::hosts_file(&state_dir());
    for spec in &hosts {
        host::exec_checked(
            spec.name,
            &["sh", "-c", "cat > /etc/hosts"],
            Some(names.as_bytes()),
        )?;
    }
    let passwords = if options.no_trust {
        Some(trust::set_root_passwords(&hosts)?)
    } else {
        trust::exchange_keys(&hosts)?;
        None
    };
    sample_data::load(hosts[0].name, options.images[0], options.data_mb)?;
    let answers = sample_data::write_answers(&answers_path())?;
    let listed = |each: &dyn Fn(&HostSpec) -> String| {
        databases
            .iter()
            .map(|spec| format!("{} {}", spec.name, each(spec)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "sandbox is up: {}, client 192.0.2.100 (the answers make it the cluster's witness; cluster address {CLUSTER_ADDRESS} left free)",
        listed(&|spec| spec.address.to_string())
    );
    println!(
        "fence devices: a BMC per node (IPMI over LAN, user {}, password in {}): {}",
        bmc::USER,
        bmc::password_file().display(),
        listed(&bmc::address)
    );
    println!(
        "images: {}, client host",
        listed(&|spec| options.image_of(spec).to_string())
    );
    if let Some(passwords) = passwords {
        println!("root passwords (shown once; ssh keys were left out):");
        for (host, password) in passwords {
            println!("  {host}: {password}");
        }
    }
    println!("answers file: {}", answers.display());
    if options.dns {
        let ddns = dns::up()?;
        println!(
            "DNS server: named on client 192.0.2.100, zone {} (TSIG key {}), the client resolves through it",
            dns::ZONE,
            dns::KEY_NAME
        );
        println!("ddns answers file: {} (name {})", ddns.display(), dns::NAME);
    }
    Ok(())
}

/// Removes every namespace, process, mount and directory the lab made,
/// including what a half-failed `up` left.
pub fn down() -> Result<()> {
    host::kill_all(&ALL_HOSTS)?;
    network::remove_all()?;
    let state = state_dir();
    host::unmount_leftovers(&state)?;
    match std::fs::remove_dir_all(&state) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(state, e)),
    }
    println!("sandbox is down");
    Ok(())
}

pub fn status_report() -> Result<String> {
    let mut out = String::new();
    let namespaces = network::list_namespaces()?;
    let bridge = bridge_netns();
    out.push_str(&format!(
        "bridge namespace {bridge}: {}\n",
        if namespaces.contains(&bridge) {
            "present"
        } else {
            "absent"
        }
    ));
    for spec in &lab_hosts() {
        let line = match host::init_pid(spec.name)? {
            None => "down".to_string(),
            Some(pid) => {
                let mut services = Vec::new();
                let image = host::recorded_image(&host_dir(spec.name))?;
                if spec.database {
                    for (label, argv) in [
                        (
                            image.server_service(),
                            &[image.admin_program(), "ping", "--connect-timeout=2"][..],
                        ),
                        ("sshd", &["pgrep", "-x", "sshd"][..]),
                    ] {
                        let up = host::exec(spec.name, argv, None)
                            .map(|o| o.success())
                            .unwrap_or(false);
                        services.push(format!("{label} {}", if up { "up" } else { "down" }));
                    }
                } else {
                    // The client: sshd, and the witness once setup installed it.
                    for (label, argv) in [
                        ("sshd", &["pgrep", "-x", "sshd"][..]),
                        ("witness", &["pgrep", "-f", "mysql-ha witness"][..]),
                    ] {
                        let up = host::exec(spec.name, argv, None)
                            .map(|o| o.success())
                            .unwrap_or(false);
                        services.push(format!("{label} {}", if up { "up" } else { "down" }));
                    }
                    if dns::running() {
                        services.push("named up".into());
                    }
                }
                format!("up (init pid {pid}, image {image}) {}", services.join(", "))
            }
        };
        let line = if spec.database {
            format!("{line}; {}", bmc::status(spec))
        } else {
            line
        };
        out.push_str(&format!("{:<7} {:<12} {line}\n", spec.name, spec.address));
    }
    Ok(out)
}
