//! The lab's fence devices: one virtual BMC per database host, as a data
//! centre has an out-of-band management controller in every server. Each is
//! OpenIPMI's `ipmi_sim` (IPMI 2.0 over LAN, the protocol `fence_ipmilan`
//! and `ipmitool` speak) in the bridge's namespace on an address of its own
//! (node1's at 192.0.2.211, node2's at 192.0.2.212), so the nodes reach it
//! over the lab network and nothing listens outside the lab. Its chassis
//! power control is `mysql-ha sandbox bmc-chassis NODE`: power off is
//! `sandbox crash` (every process of the host killed, its link cut), power
//! on is `sandbox boot`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use rand::distributions::{Alphanumeric, DistString};

use super::host::HOST_ENV;
use super::{bridge_netns, host, lab_name, network, state_dir, HostSpec, NAME_VARIABLE};
use crate::{Error, Result};

/// The BMCs' administrator account (its password is the lab's own, made at
/// `sandbox up`, in [`password_file`]).
pub const USER: &str = "admin";

/// A database host's BMC address: 192.0.2.2 followed by the host's own
/// last two digits (node1 192.0.2.11 -> 192.0.2.211).
pub fn address(spec: &HostSpec) -> String {
    let last = spec.address.rsplit('.').next().unwrap_or_default();
    format!("192.0.2.2{last}")
}

fn dir() -> PathBuf {
    state_dir().join("bmc")
}

/// The BMCs' password (0600, in the lab's root-only state folder).
pub fn password_file() -> PathBuf {
    dir().join("password")
}

fn pid_file(name: &str) -> PathBuf {
    dir().join(format!("{name}.pid"))
}

fn running_pid(name: &str) -> Option<u32> {
    let pid: u32 = fs::read_to_string(pid_file(name))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline)
        .contains("ipmi_sim")
        .then_some(pid)
}

fn write_private(path: &PathBuf, text: &str, mode: u32) -> Result<()> {
    fs::write(path, text).map_err(|e| Error::io(path, e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, e))
}

/// The BMC's LAN configuration: one IPMI 2.0 LAN channel on its address,
/// one administrator, chassis control by this program.
fn lan_conf(spec: &HostSpec, password: &str, exe: &str) -> String {
    let guid = format!(
        "{:0>32}",
        spec.name.replace(|c: char| !c.is_ascii_hexdigit(), "0")
    );
    format!(
        "# A lab BMC for {name} (mysql-ha sandbox).\n\
         name \"{name}\"\n\
         set_working_mc 0x20\n\
         startlan 1\n  addr {address} 623\n  priv_limit admin\n  \
         allowed_auths_callback none\n  allowed_auths_user md5\n  allowed_auths_operator md5\n  \
         allowed_auths_admin md5\n  guid {guid}\nendlan\n\
         chassis_control \"{exe} sandbox bmc-chassis {name}\"\n\
         user 2 true \"{USER}\" \"{password}\" admin 10 md5\n",
        name = spec.name,
        address = address(spec),
    )
}

/// The emulated management controller itself (the BMC at IPMB 0x20).
const COMMANDS: &str =
    "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\nmc_enable 0x20\n";

/// Starts the BMC of every database host that has none running.
pub fn up(hosts: &[HostSpec]) -> Result<()> {
    let dir = dir();
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(|e| Error::io(&dir, e))?;
    let password_file = password_file();
    let password = match fs::read_to_string(&password_file) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_string(),
        _ => {
            let made = Alphanumeric.sample_string(&mut rand::thread_rng(), 16);
            write_private(&password_file, &format!("{made}\n"), 0o600)?;
            made
        }
    };
    let exe = std::env::current_exe().map_err(|e| Error::io("/proc/self/exe", e))?;
    let exe = exe.to_string_lossy().to_string();
    let bridge = bridge_netns();
    let lab = lab_name()?;
    for spec in hosts.iter().filter(|h| h.database) {
        network::add_bridge_address(&address(spec))?;
        if running_pid(spec.name).is_some() {
            continue;
        }
        let own = dir.join(spec.name);
        fs::create_dir_all(&own).map_err(|e| Error::io(&own, e))?;
        let conf = dir.join(format!("{}.lan.conf", spec.name));
        write_private(&conf, &lan_conf(spec, &password, &exe), 0o600)?;
        let commands = dir.join(format!("{}.cmd.conf", spec.name));
        write_private(&commands, COMMANDS, 0o600)?;
        let log_path = dir.join(format!("{}.log", spec.name));
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(&log_path, e))?;
        let log_err = log.try_clone().map_err(|e| Error::io(&log_path, e))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &bridge, "ipmi_sim", "-n", "-c"])
            .arg(&conf)
            .arg("-f")
            .arg(&commands)
            .arg("-s")
            .arg(&own)
            .env_clear()
            .envs(HOST_ENV.iter().copied())
            .env(NAME_VARIABLE, &lab)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io("ipmi_sim", e))?;
        let pid_path = pid_file(spec.name);
        fs::write(&pid_path, format!("{}\n", child.id())).map_err(|e| Error::io(&pid_path, e))?;
    }
    Ok(())
}

/// One line per BMC for `sandbox status`.
pub fn status(spec: &HostSpec) -> String {
    format!(
        "BMC {} {}",
        address(spec),
        if running_pid(spec.name).is_some() {
            "up"
        } else {
            "down"
        }
    )
}

/// ipmi_sim's chassis control program: `get NAME...` prints `NAME:VALUE`
/// lines (power 1 while the host runs), `set NAME VALUE...` acts (power 0:
/// crash; power 1: boot, in the background, so the BMC answers meanwhile;
/// reset 1: both).
pub fn chassis(spec: &HostSpec, args: &[String]) -> Result<()> {
    let (verb, rest) = args
        .split_first()
        .ok_or_else(|| Error::Sandbox("bmc-chassis: get or set expected".into()))?;
    match verb.as_str() {
        "get" => {
            let on = host::init_pid(spec.name)?.is_some();
            for name in rest {
                let value = if name == "power" { u8::from(on) } else { 0 };
                println!("{name}:{value}");
            }
            Ok(())
        }
        "set" => {
            for pair in rest.chunks(2) {
                let [name, value] = pair else {
                    return Err(Error::Sandbox(format!(
                        "bmc-chassis set {pair:?}: no value"
                    )));
                };
                match (name.as_str(), value.as_str()) {
                    ("power", "0") => power_off(spec)?,
                    ("power", _) => power_on(spec)?,
                    ("reset", "1") => {
                        power_off(spec)?;
                        power_on(spec)?;
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        other => Err(Error::Sandbox(format!(
            "bmc-chassis: `{other}`: get or set expected"
        ))),
    }
}

fn power_off(spec: &HostSpec) -> Result<()> {
    if host::init_pid(spec.name)?.is_some() {
        eprintln!("BMC: powering {} off", spec.name);
        host::crash(spec.name)?;
    }
    Ok(())
}

fn power_on(spec: &HostSpec) -> Result<()> {
    if host::init_pid(spec.name)?.is_some() {
        return Ok(());
    }
    eprintln!("BMC: powering {} on", spec.name);
    let exe = std::env::current_exe().map_err(|e| Error::io("/proc/self/exe", e))?;
    let log_path = dir().join(format!("{}.log", spec.name));
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::io(&log_path, e))?;
    let log_err = log.try_clone().map_err(|e| Error::io(&log_path, e))?;
    Command::new(exe)
        .args(["sandbox", "boot", spec.name])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io("mysql-ha sandbox boot", e))?;
    Ok(())
}
