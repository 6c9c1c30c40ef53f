//! Pid 1 of a lab host. Runs inside fresh mount, PID and UTS namespaces in the
//! host's network namespace: mounts a copy-on-write view of the machine's `/`
//! (overlayfs, upper layer on disk so files survive a crash), chroots into it,
//! prepares the host on first boot, starts what its /etc/rc2.d start links
//! enable (as init would), then reaps orphans.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix::mount::{mount, MsFlags};

use super::host::{recorded_image, FAILED_PREFIX, HOST_ENV, READY_LINE};
use super::image::Image;
use super::{host_spec, lab_hosts_in, HostSpec};
use crate::{Error, Result};

/// Written on the host's own filesystem once its first boot is prepared.
const PREPARED_MARKER: &str = "/etc/mysql-ha-sandbox-host";

pub fn run(name: &str, state_dir: &Path) -> Result<()> {
    let spec = host_spec(name)?;
    if let Err(err) = boot(&spec, state_dir) {
        println!("{FAILED_PREFIX} {err}");
        return Err(err);
    }
    println!("{READY_LINE}");
    reap_forever()
}

fn mount_err(what: &str, target: &Path, err: nix::Error) -> Error {
    Error::Sandbox(format!("mount {what} on {}: {err}", target.display()))
}

fn boot(spec: &HostSpec, state_dir: &Path) -> Result<()> {
    let dir = state_dir.join("hosts").join(spec.name);
    let image = recorded_image(&dir)?;
    let root = dir.join("root");
    let overlay_options = format!(
        "lowerdir={},upperdir={},workdir={}",
        image.lower_dir().display(),
        dir.join("upper").display(),
        dir.join("work").display()
    );
    mount(
        Some("overlay"),
        &root,
        Some("overlay"),
        MsFlags::empty(),
        Some(overlay_options.as_str()),
    )
    .map_err(|e| mount_err("overlay", &root, e))?;
    let none: Option<&str> = None;
    mount(
        Some("proc"),
        &root.join("proc"),
        Some("proc"),
        MsFlags::empty(),
        none,
    )
    .map_err(|e| mount_err("proc", &root.join("proc"), e))?;
    mount(
        Some("sysfs"),
        &root.join("sys"),
        Some("sysfs"),
        MsFlags::empty(),
        none,
    )
    .map_err(|e| mount_err("sysfs", &root.join("sys"), e))?;
    mount(
        Some("/dev"),
        &root.join("dev"),
        none,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        none,
    )
    .map_err(|e| mount_err("/dev", &root.join("dev"), e))?;
    // A /dev/shm of its own: corosync and pacemaker (libqb) name their
    // shared memory by pid, and pids repeat across the hosts' namespaces.
    let shm = root.join("dev/shm");
    mount(
        Some("tmpfs"),
        &shm,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("mode=1777"),
    )
    .map_err(|e| mount_err("tmpfs", &shm, e))?;
    for (target, mode) in [("run", "0755"), ("tmp", "1777")] {
        let path = root.join(target);
        let options = format!("mode={mode}");
        mount(
            Some("tmpfs"),
            &path,
            Some("tmpfs"),
            MsFlags::empty(),
            Some(options.as_str()),
        )
        .map_err(|e| mount_err("tmpfs", &path, e))?;
    }
    // The lab's state folder (answers files) reaches the host through a
    // read-only bind mount, not through the overlay: the lab writes there while the
    // host runs, and a lower layer must never change under a mounted
    // overlay (on the `host` image the folder is part of the lower layer).
    let state_view = root.join(state_dir.strip_prefix("/").unwrap_or(state_dir));
    fs::create_dir_all(&state_view).map_err(|e| Error::io(&state_view, e))?;
    mount(Some(state_dir), &state_view, none, MsFlags::MS_BIND, none)
        .map_err(|e| mount_err("the lab's state folder", &state_view, e))?;
    // Read-only there: the lab's state is the lab's, not a node's to change.
    mount(
        none,
        &state_view,
        none,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        none,
    )
    .map_err(|e| mount_err("the lab's state folder (read-only)", &state_view, e))?;
    nix::unistd::sethostname(spec.name)
        .map_err(|e| Error::Sandbox(format!("sethostname {}: {e}", spec.name)))?;
    write(&root.join("etc/hostname"), &format!("{}\n", spec.name))?;
    write(&root.join("etc/hosts"), &hosts_file(state_dir))?;
    std::os::unix::fs::chroot(&root).map_err(|e| Error::io(&root, e))?;
    std::env::set_current_dir("/").map_err(|e| Error::io("/", e))?;

    if !Path::new(PREPARED_MARKER).exists() {
        prepare_first_boot(spec, image)?;
        write(Path::new(PREPARED_MARKER), "prepared by mysql-ha sandbox\n")?;
    }
    start_boot_services()?;
    Ok(())
}

/// What init does in runlevel 2: every /etc/rc2.d start link, in order.
/// So a service registered with update-rc.d comes back by itself after a
/// crash, and one that is not does not.
fn start_boot_services() -> Result<()> {
    let mut links: Vec<String> = fs::read_dir("/etc/rc2.d")
        .map_err(|e| Error::io("/etc/rc2.d", e))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('S'))
        .collect();
    links.sort();
    for link in links {
        shell(&format!("/etc/rc2.d/{link} start"))?;
    }
    Ok(())
}

/// /etc/hosts: the hosts of this host's lab.
pub(super) fn hosts_file(state_dir: &Path) -> String {
    let mut text =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for host in &lab_hosts_in(state_dir) {
        text.push_str(&format!("{}\t{}\n", host.address, host.name));
    }
    text
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Runs a shell line on this host with a root login's environment.
fn shell(line: &str) -> Result<()> {
    let status = Command::new("/bin/sh")
        .args(["-c", line])
        .env_clear()
        .envs(HOST_ENV.iter().copied())
        .status()
        .map_err(|e| Error::io("/bin/sh", e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Sandbox(format!("`{line}` failed ({status})")))
    }
}

/// What makes this host its own: its ssh host keys and, on database hosts,
/// a datadir of its own (Debian's default configuration is left as shipped).
fn prepare_first_boot(spec: &HostSpec, image: Image) -> Result<()> {
    shell("rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub && ssh-keygen -A -q")?;
    shell("rm -rf /root/.ssh")?;
    // A database host boots sshd and the server only, the client sshd only
    // (setup installs the witness there): the machine's other services
    // (its lower layer) are not part of the lab.
    let kept = if spec.database {
        format!("*ssh|*{}", image.server_service())
    } else {
        "*ssh".to_string()
    };
    shell(&format!(
        "for link in /etc/rc2.d/S*; do case \"$link\" in {kept}) ;; *) rm -f \"$link\" ;; esac; done"
    ))?;
    match image {
        _ if !spec.database => {}
        Image::Host | Image::Debian13 => shell(
            "rm -rf /var/lib/mysql && mkdir -p /var/lib/mysql && chown mysql:mysql /var/lib/mysql \
             && mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null",
        )?,
        // The package's own datadir (root by auth_socket), minus what must
        // differ per server: its UUID (GTIDs name it) and its TLS keys;
        // mysqld makes new ones at start.
        Image::DebianSidMysql => shell("rm -f /var/lib/mysql/auto.cnf /var/lib/mysql/*.pem")?,
    }
    Ok(())
}

/// Pid 1 inherits every orphan of the host; reap them so none stays a zombie.
fn reap_forever() -> Result<()> {
    loop {
        match nix::sys::wait::waitpid(None, None) {
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}
