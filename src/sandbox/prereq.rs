//! What the lab needs from the machine, checked before anything is made.

use crate::{Error, Result};

/// Program, and the Debian package that provides it.
const PROGRAMS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("unshare", "util-linux"),
    ("nsenter", "util-linux"),
    ("mount", "mount"),
    ("mariadbd", "mariadb-server"),
    ("mariadb-install-db", "mariadb-server"),
    ("mariadb", "mariadb-client"),
    ("sshd", "openssh-server"),
    ("ssh-keygen", "openssh-client"),
    ("ssh", "openssh-client"),
    ("chpasswd", "passwd"),
    ("pgrep", "procps"),
    // The nodes' fence devices (bmc.rs) and the agent that drives them.
    ("ipmi_sim", "openipmi"),
    ("fence_ipmilan", "fence-agents"),
    ("ipmitool", "ipmitool"),
];

/// What `sandbox up --dns` needs besides.
const DNS_PROGRAMS: &[(&str, &str)] = &[
    ("named", "bind9"),
    ("tsig-keygen", "bind9"),
    ("dig", "bind9-dnsutils"),
    ("nsupdate", "bind9-dnsutils"),
];

/// What building a node image needs.
const IMAGE_PROGRAMS: &[(&str, &str)] = &[("debootstrap", "debootstrap")];

pub fn require_image_programs() -> Result<()> {
    for (program, package) in IMAGE_PROGRAMS {
        if find_program(program).is_none() {
            return Err(Error::MissingProgram { program, package });
        }
    }
    Ok(())
}

pub fn require_dns_programs() -> Result<()> {
    for (program, package) in DNS_PROGRAMS {
        if find_program(program).is_none() {
            return Err(Error::MissingProgram { program, package });
        }
    }
    Ok(())
}

pub fn require_root(what: &'static str) -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(Error::NotRoot { what })
    }
}

pub fn require_programs() -> Result<()> {
    for (program, package) in PROGRAMS {
        if find_program(program).is_none() {
            return Err(Error::MissingProgram { program, package });
        }
    }
    Ok(())
}

/// Looks a program up the way root's shell would (sbin included).
pub fn find_program(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|dir| std::path::Path::new(dir).join(program))
        .find(|candidate| candidate.is_file());
    found
}
