//! Installing one of the tool's own services on a host, as plan changes:
//! the whole files setup writes (backed up, journaled like every edit), the
//! systemd unit where systemd runs or the init script registered for boot
//! elsewhere, and a (re)start when anything changed or it does not run.
//! The cluster daemon on the nodes and the witness both go through here.

use std::path::{Path, PathBuf};

use crate::backup::{BootLink, CommandEffect};
use crate::mycnf::edit::FileEdit;
use crate::node::Node;
use crate::operation::plan::{Change, NodeFile, StepPlan};
use crate::Result;

/// A whole file setup writes, owned by root.
pub fn write_file(
    path: &str,
    before: Option<Vec<u8>>,
    after: Vec<u8>,
    mode: u32,
    group: &str,
    secret: bool,
) -> Change {
    Change::WriteFile(NodeFile {
        edit: FileEdit {
            path: PathBuf::from(path),
            before,
            after,
        },
        mode,
        owner: "root".into(),
        group: group.into(),
        secret,
        validate: None,
    })
}

/// Writes `path` when its contents differ; says whether it did.
pub fn write_if_changed(
    node: &dyn Node,
    step: &mut StepPlan,
    path: &str,
    contents: Vec<u8>,
    mode: u32,
    group: &str,
    secret: bool,
) -> Result<bool> {
    let current = node.read(Path::new(path))?;
    if current.as_deref() == Some(contents.as_slice()) {
        step.summary.push(format!("{path} unchanged"));
        return Ok(false);
    }
    step.changes
        .push(write_file(path, current, contents, mode, group, secret));
    Ok(true)
}

/// Puts this build at `path` unless it is there (compared by sha256: a
/// host never runs the build tree); says whether it changes.
pub fn binary(node: &dyn Node, step: &mut StepPlan, path: &str, binary: &[u8]) -> Result<bool> {
    use sha2::{Digest, Sha256};
    let current = node.read(Path::new(path))?;
    if current.as_deref().map(Sha256::digest) == Some(Sha256::digest(binary)) {
        step.summary
            .push(format!("{path} is this build (sha256 matches)"));
        return Ok(false);
    }
    step.changes.push(write_file(
        path,
        current,
        binary.to_vec(),
        0o755,
        "root",
        false,
    ));
    Ok(true)
}

/// Where the package file is kept on a node: what was installed last, so a
/// re-run with the same file changes nothing.
pub const PACKAGE_CACHE: &str = "/var/cache/mysql-ha";

/// Installs the tool's package (`install.package`) with the node's package
/// manager unless this very file is installed already; says whether it
/// changes. The package only puts files in place (it has no maintainer
/// scripts): the service is set up and started by the steps after this.
pub fn package(
    node: &dyn Node,
    step: &mut StepPlan,
    install: &crate::answers::InstallAnswers,
) -> Result<bool> {
    use crate::answers::PackageKind;
    let local = Path::new(&install.package);
    let bytes = std::fs::read(local).map_err(|e| crate::Error::io(local, e))?;
    let file_name = local
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mysql-ha.package".into());
    let cached = format!("{PACKAGE_CACHE}/{file_name}");
    let (owner_query, install_argv): (&[&str], Vec<&str>) = match install.package_kind() {
        Some(PackageKind::Rpm) => (
            &["rpm", "-qf", crate::privileged::PACKAGED_BINARY],
            vec!["rpm", "-U", "--replacepkgs", "--replacefiles", &cached],
        ),
        _ => (
            &["dpkg-query", "-S", crate::privileged::PACKAGED_BINARY],
            vec!["dpkg", "-i", &cached],
        ),
    };
    let current = node.read(Path::new(&cached))?;
    let owned = node.run(owner_query, None)?.success();
    if owned && current.as_deref() == Some(bytes.as_slice()) {
        step.summary.push(format!(
            "package {file_name} is installed ({} owns {})",
            owner_query[0],
            crate::privileged::PACKAGED_BINARY
        ));
        return Ok(false);
    }
    node.create_dir_all(Path::new(PACKAGE_CACHE), 0o755)?;
    step.changes
        .push(write_file(&cached, current, bytes, 0o644, "root", false));
    step.changes.push(command(
        &install_argv,
        &format!(
            "install the package: {} is then the package manager's",
            crate::privileged::PACKAGED_BINARY
        ),
    ));
    Ok(true)
}

fn command(argv: &[&str], why: &str) -> Change {
    Change::command(argv, why)
}

/// How a host registers an init script for boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrar {
    UpdateRcD,
    Chkconfig,
}

/// One service: its name, both forms of its files, and what it is for.
pub struct Service<'a> {
    /// "mysql-ha": `/etc/init.d/NAME`, `NAME.service`.
    pub name: &'a str,
    /// For the plan's words: "the cluster daemon".
    pub what: &'a str,
    pub init_script: &'a str,
    pub init_text: String,
    pub unit: &'a str,
    pub unit_text: String,
    pub registrar: Registrar,
}

/// Adds the service's changes to `step`; `changed`: something it runs
/// (binary, configuration) changes in this step, so it restarts.
pub fn plan(
    node: &dyn Node,
    service: &Service,
    mut changed: bool,
    step: &mut StepPlan,
) -> Result<()> {
    let systemd = node.stat(Path::new("/run/systemd/system"))?.is_some();
    let unit_name = format!("{}.service", service.name);
    let at_boot = format!("start {} at boot", service.what);
    if systemd {
        let current = node.read(Path::new(service.unit))?;
        if current.as_deref() != Some(service.unit_text.as_bytes()) {
            step.changes.push(write_file(
                service.unit,
                current,
                service.unit_text.clone().into_bytes(),
                0o644,
                "root",
                false,
            ));
            step.changes.push(command(
                &["systemctl", "daemon-reload"],
                "read the new unit",
            ));
            step.changes.push(Change::command_with(
                &["systemctl", "enable", &unit_name],
                &at_boot,
                vec![CommandEffect::AtBoot {
                    service: service.name.into(),
                    link: BootLink::Systemd,
                }],
            ));
            changed = true;
        }
    } else {
        let current = node.read(Path::new(service.init_script))?;
        if current.as_deref() != Some(service.init_text.as_bytes()) {
            step.changes.push(write_file(
                service.init_script,
                current,
                service.init_text.clone().into_bytes(),
                0o755,
                "root",
                false,
            ));
            changed = true;
        }
        let registered = node
            .list_dir(Path::new("/etc/rc2.d"))?
            .iter()
            .any(|n| n.starts_with('S') && n.get(3..) == Some(service.name));
        if !registered {
            let (argv, link) = match service.registrar {
                Registrar::Chkconfig => (
                    vec!["chkconfig", "--add", service.name],
                    BootLink::Chkconfig,
                ),
                Registrar::UpdateRcD => (
                    vec!["update-rc.d", service.name, "defaults"],
                    BootLink::UpdateRcD,
                ),
            };
            step.changes.push(Change::command_with(
                &argv,
                &at_boot,
                vec![CommandEffect::AtBoot {
                    service: service.name.into(),
                    link,
                }],
            ));
        }
    }
    let (file, status): (&str, Vec<&str>) = if systemd {
        (
            service.unit,
            vec!["systemctl", "is-active", "--quiet", &unit_name],
        )
    } else {
        (service.init_script, vec![service.init_script, "status"])
    };
    let running = node.stat(Path::new(file))?.is_some()
        && node
            .run(&status, None)
            .map(|o| o.success())
            .unwrap_or(false);
    if changed || !running {
        let restart: Vec<&str> = if systemd {
            vec!["systemctl", "restart", &unit_name]
        } else {
            vec![service.init_script, "restart"]
        };
        let (service_name, effect) = (service.name.to_string(), systemd);
        let effect = if running {
            CommandEffect::Restarted {
                service: service_name,
                systemd: effect,
            }
        } else {
            CommandEffect::Started {
                service: service_name,
                systemd: effect,
            }
        };
        step.changes.push(Change::command_with(
            &restart,
            &format!("(re)start {}", service.what),
            vec![effect],
        ));
    } else {
        step.summary.push(format!(
            "{} runs this build and configuration",
            service.what
        ));
    }
    Ok(())
}
