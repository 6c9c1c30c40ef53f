//! A lab host from the outside: boot it, find its pid 1, run commands in it,
//! crash it.

use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::image::Image;
use super::network::netns_name;
use super::{host_dir, state_dir, HostSpec};
use crate::error::stderr_detail;
use crate::node::Output;
use crate::{Error, Result};

/// Line pid 1 of a host prints once its services answer.
pub const BOOT_LINE: &str = "mysql-ha-sandbox: booting";
pub const READY_LINE: &str = "mysql-ha-sandbox: ready";
pub const FAILED_PREFIX: &str = "mysql-ha-sandbox: failed:";
/// The environment every command on a host gets, as after a root login.
pub const HOST_ENV: &[(&str, &str)] = &[
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("HOME", "/root"),
    ("USER", "root"),
    ("LOGNAME", "root"),
    ("LANG", "C.UTF-8"),
    ("SHELL", "/bin/bash"),
];
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

fn console_log(name: &str) -> std::path::PathBuf {
    host_dir(name).join("console.log")
}

fn launcher_pid_file(name: &str) -> std::path::PathBuf {
    host_dir(name).join("launcher.pid")
}

fn proc_cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

/// Host-side pid of the host's pid 1, when it runs.
pub fn init_pid(name: &str) -> Result<Option<u32>> {
    let Ok(text) = fs::read_to_string(launcher_pid_file(name)) else {
        return Ok(None);
    };
    let Ok(launcher) = text.trim().parse::<u32>() else {
        return Ok(None);
    };
    // `unshare --fork` stays as the parent of the new pid namespace's init.
    let children = fs::read_to_string(format!("/proc/{launcher}/task/{launcher}/children"))
        .unwrap_or_default();
    for child in children
        .split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
    {
        if let Some(cmdline) = proc_cmdline(child) {
            if cmdline.contains("node-init") && cmdline.contains(&format!(" {name} ")) {
                return Ok(Some(child));
            }
        }
    }
    Ok(None)
}

const IMAGE_FILE: &str = "image";

/// The image a host was first booted from (its upper layer belongs to it);
/// `host` when none is recorded.
pub fn recorded_image(dir: &std::path::Path) -> Result<Image> {
    match fs::read_to_string(dir.join(IMAGE_FILE)) {
        Ok(text) => text.trim().parse(),
        Err(_) => Ok(Image::Host),
    }
}

/// Records the image of a host that has never booted; a host that has
/// keeps its own (its upper layer was made on it).
pub fn choose_image(spec: &HostSpec, image: Image) -> Result<()> {
    let dir = host_dir(spec.name);
    let path = dir.join(IMAGE_FILE);
    if path.exists() {
        let current = recorded_image(&dir)?;
        if current != image {
            return Err(Error::Sandbox(format!(
                "{} was built from image {current}, not {image}; `mysql-ha sandbox down` first to change images",
                spec.name
            )));
        }
        return Ok(());
    }
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    fs::write(&path, format!("{image}\n")).map_err(|e| Error::io(&path, e))
}

/// Starts the host's pid 1 (see init.rs) in its network namespace, with new
/// mount, PID and UTS namespaces.
pub fn boot(spec: &HostSpec) -> Result<()> {
    let dir = host_dir(spec.name);
    for sub in ["upper", "work", "root"] {
        let path = dir.join(sub);
        fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
    }
    // An image that is not current would be rebuilt: never under a host.
    let image = recorded_image(&dir)?;
    if !image.is_current() {
        return Err(Error::Sandbox(format!(
            "{}'s image {image} is not built or its recipe changed; `mysql-ha sandbox down`, then `up --image {image}` again",
            spec.name
        )));
    }
    let exe = std::env::current_exe().map_err(|e| Error::io("/proc/self/exe", e))?;
    let log_path = console_log(spec.name);
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::io(&log_path, e))?;
    // Marks where this boot's lines start, before the host can print any.
    {
        use std::io::Write;
        writeln!(log, "{BOOT_LINE} {}", spec.name).map_err(|e| Error::io(&log_path, e))?;
    }
    let log_err = log.try_clone().map_err(|e| Error::io(&log_path, e))?;
    let netns = netns_name(spec.name);
    let child = Command::new("ip")
        .args(["netns", "exec", &netns])
        .args(["unshare", "--mount", "--pid", "--fork", "--uts"])
        .args(["--propagation", "private", "--"])
        .arg(&exe)
        .args(["sandbox", "node-init", spec.name])
        .arg(state_dir())
        .env_clear()
        .envs(HOST_ENV.iter().copied())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io("ip", e))?;
    let pid_file = launcher_pid_file(spec.name);
    fs::write(&pid_file, format!("{}\n", child.id())).map_err(|e| Error::io(&pid_file, e))?;
    Ok(())
}

/// Waits until the host's pid 1 reports its services up.
pub fn wait_ready(spec: &HostSpec) -> Result<()> {
    let log_path = console_log(spec.name);
    let started = Instant::now();
    loop {
        let mut text = String::new();
        if let Ok(mut file) = fs::File::open(&log_path) {
            let _ = file.read_to_string(&mut text);
        }
        // Only the last boot counts.
        let last_boot = text.rsplit(BOOT_LINE).next().unwrap_or("");
        if last_boot.contains(READY_LINE) {
            return Ok(());
        }
        let tail = || {
            let lines: Vec<&str> = last_boot.lines().rev().take(15).collect();
            lines.into_iter().rev().collect::<Vec<_>>().join("\n  ")
        };
        if last_boot.contains(FAILED_PREFIX) {
            return Err(Error::Sandbox(format!(
                "{} did not boot ({}):\n  {}",
                spec.name,
                log_path.display(),
                tail()
            )));
        }
        if started.elapsed() > Duration::from_secs(2) && init_pid(spec.name)?.is_none() {
            return Err(Error::Sandbox(format!(
                "{} stopped while booting ({}):\n  {}",
                spec.name,
                log_path.display(),
                tail()
            )));
        }
        if started.elapsed() > BOOT_TIMEOUT {
            return Err(Error::Sandbox(format!(
                "{} not ready after {} s ({}):\n  {}",
                spec.name,
                BOOT_TIMEOUT.as_secs(),
                log_path.display(),
                tail()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn running_init(name: &str) -> Result<u32> {
    init_pid(name)?.ok_or_else(|| {
        Error::Sandbox(format!(
            "{name} is not running (`mysql-ha sandbox up` or `mysql-ha sandbox boot {name}`)"
        ))
    })
}

fn nsenter_command(pid: u32, argv: &[impl AsRef<std::ffi::OsStr>]) -> Command {
    let mut command = Command::new("nsenter");
    command
        .arg(format!("--target={pid}"))
        .args([
            "--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd", "--",
        ])
        .args(argv)
        .env_clear()
        .envs(HOST_ENV.iter().copied());
    if let Ok(term) = std::env::var("TERM") {
        command.env("TERM", term);
    }
    command
}

/// Runs a command on a lab host as root and collects its output.
pub fn exec(name: &str, argv: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
    let pid = running_init(name)?;
    let mut command = nsenter_command(pid, argv);
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| Error::io("nsenter", e))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        pipe.write_all(input).map_err(|e| Error::io("nsenter", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("nsenter", e))?;
    Ok(Output {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// Like `exec`, but a failure is an error naming the host and command.
pub fn exec_checked(name: &str, argv: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
    let out = exec(name, argv, stdin)?;
    if out.success() {
        Ok(out)
    } else {
        Err(Error::Command {
            host: name.to_string(),
            command: argv.join(" "),
            status: crate::error::exit_status(out.code),
            detail: stderr_detail(&out.stderr),
        })
    }
}

/// Runs a command on a host with this terminal; returns its exit code.
pub fn exec_interactive(name: &str, argv: &[String]) -> Result<i32> {
    let pid = running_init(name)?;
    let status = nsenter_command(pid, argv)
        .status()
        .map_err(|e| Error::io("nsenter", e))?;
    Ok(status.code().unwrap_or(128))
}

fn kill_and_wait(pids: &[u32]) {
    for pid in pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && pids
            .iter()
            .any(|pid| fs::metadata(format!("/proc/{pid}")).is_ok() && !is_zombie(*pid))
    {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Power cut: kills the host's pid 1, which ends every process of the host
/// at once, and cuts its link. What lived only in memory goes too: the
/// addresses added at run time (a cluster address) are flushed.
pub fn crash(name: &str) -> Result<()> {
    let pid = running_init(name)?;
    kill_and_wait(&[pid]);
    super::network::set_link(name, false)?;
    super::network::flush_secondary_addresses(name)?;
    println!("{name}: crashed (every process killed, link cut; its files are kept)");
    Ok(())
}

/// Link back, then the host's own boot (its /etc/rc2.d start links).
pub fn boot_again(spec: &HostSpec) -> Result<()> {
    if init_pid(spec.name)?.is_some() {
        return Err(Error::Sandbox(format!(
            "{} is running; `mysql-ha sandbox crash {}` first",
            spec.name, spec.name
        )));
    }
    super::network::set_link(spec.name, true)?;
    boot(spec)?;
    wait_ready(spec)?;
    println!("{}: booted", spec.name);
    Ok(())
}

/// Kills every process of every lab host, booted or half-booted.
pub fn kill_all(hosts: &[HostSpec]) -> Result<()> {
    let mut pids = Vec::new();
    for spec in hosts {
        if let Some(pid) = init_pid(spec.name)? {
            pids.push(pid);
        }
        if let Ok(text) = fs::read_to_string(launcher_pid_file(spec.name)) {
            if let Ok(pid) = text.trim().parse::<u32>() {
                if proc_cmdline(pid).is_some_and(|c| c.contains("unshare")) {
                    pids.push(pid);
                }
            }
        }
    }
    // Anything else still living in a lab network namespace.
    for netns in super::network::list_namespaces()? {
        if netns.starts_with(&super::netns_prefix()) {
            let out = crate::node::Node::run(
                &crate::node::LocalNode::new(),
                &["ip", "netns", "pids", &netns],
                None,
            )?;
            pids.extend(
                out.stdout_text()
                    .split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    kill_and_wait(&pids);
    Ok(())
}

/// Unmounts anything still mounted under the state folder in this namespace.
pub fn unmount_leftovers(state: &std::path::Path) -> Result<()> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut targets: Vec<&str> = mountinfo
        .lines()
        .filter_map(|line| line.split_whitespace().nth(4))
        .filter(|target| std::path::Path::new(target).starts_with(state))
        .collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
    for target in targets {
        let _ = nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH);
    }
    Ok(())
}
