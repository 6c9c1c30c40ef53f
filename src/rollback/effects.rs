//! What a run's commands did to services and the host, as its journal
//! says: the typed effects each command journaled before it ran. A journal
//! written by an earlier version has none; its commands are read by their
//! words once, here (`legacy`), into the same effects, so the rest of the
//! undo never looks at a command's words.

use std::path::{Path, PathBuf};

use crate::backup::{BootLink, CommandEffect, Journal, JournalEntry};
use crate::operation::quorum_device::{NODE_DB, NODE_FOLDER, QNETD_DB};

use super::HostSurvey;

/// Our own services: the run wrote their init scripts and units, so their
/// boot links go with them. Others (the packages' corosync, pacemaker,
/// qnetd, the database server) are only switched off or on at boot.
const OWN_SERVICES: [&str; 2] = ["mysql-ha", crate::vote::witness::SERVICE];

pub struct Effects(Vec<CommandEffect>);

impl Effects {
    /// The effects the run journaled on this host, in order.
    pub fn of(journal: &Journal, host: &HostSurvey) -> Effects {
        let mut effects = Vec::new();
        let mut untyped = Vec::new();
        for record in journal.records() {
            match &record.entry {
                JournalEntry::Effect { effect } => effects.push(effect.clone()),
                JournalEntry::Command {
                    argv, typed: false, ..
                } => untyped.push(argv.clone()),
                _ => {}
            }
        }
        effects.extend(legacy(&untyped, journal, host));
        Effects(effects)
    }

    fn find(&self, wanted: impl Fn(&CommandEffect) -> Option<bool>) -> Option<bool> {
        self.0.iter().find_map(wanted)
    }

    /// The run started `service` (which did not run); Some(systemd).
    pub fn started(&self, service: &str) -> Option<bool> {
        self.find(|e| match e {
            CommandEffect::Started {
                service: s,
                systemd,
            } if s == service => Some(*systemd),
            _ => None,
        })
    }

    /// The run restarted `service`, which ran before; Some(systemd).
    pub fn restarted(&self, service: &str) -> Option<bool> {
        self.find(|e| match e {
            CommandEffect::Restarted {
                service: s,
                systemd,
            } if s == service => Some(*systemd),
            _ => None,
        })
    }

    /// The run stopped `service`, which ran; Some(systemd).
    pub fn stopped(&self, service: &str) -> Option<bool> {
        self.find(|e| match e {
            CommandEffect::Stopped {
                service: s,
                systemd,
            } if s == service => Some(*systemd),
            _ => None,
        })
    }

    /// How the run put `service` on boot.
    pub fn at_boot(&self, service: &str) -> Vec<BootLink> {
        self.0
            .iter()
            .filter_map(|e| match e {
                CommandEffect::AtBoot { service: s, link } if s == service => Some(*link),
                _ => None,
            })
            .collect()
    }

    /// How the run took `service` off boot.
    pub fn off_boot(&self, service: &str) -> Vec<BootLink> {
        self.0
            .iter()
            .filter_map(|e| match e {
                CommandEffect::OffBoot { service: s, link } if s == service => Some(*link),
                _ => None,
            })
            .collect()
    }

    /// The directories the run made (certificate databases).
    pub fn made(&self) -> Vec<&Path> {
        self.0
            .iter()
            .filter_map(|e| match e {
                CommandEffect::Made { path } => Some(path.as_path()),
                _ => None,
            })
            .collect()
    }
}

fn strings(argv: &[&str]) -> Vec<String> {
    argv.iter().map(|a| a.to_string()).collect()
}

/// `verb` (start, stop, restart) for `service` through systemd or its
/// init script.
pub fn service(service: &str, systemd: bool, verb: &str) -> Vec<String> {
    if systemd {
        vec![
            "systemctl".into(),
            verb.into(),
            format!("{service}.service"),
        ]
    } else {
        vec![format!("/etc/init.d/{service}"), verb.into()]
    }
}

/// What takes `service` off boot again, after the run put it on.
pub fn undo_at_boot(service: &str, link: BootLink) -> Vec<String> {
    let own = OWN_SERVICES.contains(&service);
    match (link, own) {
        (BootLink::Systemd, _) => {
            vec![
                "systemctl".into(),
                "disable".into(),
                format!("{service}.service"),
            ]
        }
        (BootLink::UpdateRcD, true) => strings(&["update-rc.d", "-f", service, "remove"]),
        (BootLink::UpdateRcD, false) => strings(&["update-rc.d", service, "disable"]),
        (BootLink::Chkconfig, true) => strings(&["chkconfig", "--del", service]),
        (BootLink::Chkconfig, false) => strings(&["chkconfig", service, "off"]),
    }
}

/// What puts `service` back on boot, after the run took it off.
pub fn undo_off_boot(service: &str, link: BootLink) -> Vec<String> {
    match link {
        BootLink::Systemd => {
            vec![
                "systemctl".into(),
                "enable".into(),
                format!("{service}.service"),
            ]
        }
        BootLink::UpdateRcD => strings(&["update-rc.d", service, "enable"]),
        BootLink::Chkconfig => strings(&["chkconfig", service, "on"]),
    }
}

/// Whether `path` was there before the run: the run did not create it.
pub fn existed_before(journal: &Journal, path: &str) -> bool {
    !journal.records().iter().any(|r| {
        matches!(&r.entry, JournalEntry::FileBackedUp { path: p, existed: false, .. }
            if p == Path::new(path))
    })
}

/// The effects of a journal of an earlier version, read from its
/// commands' words as that version's rollback read them.
fn legacy(commands: &[Vec<String>], journal: &Journal, host: &HostSurvey) -> Vec<CommandEffect> {
    let mut effects = Vec::new();
    if commands.is_empty() {
        return effects;
    }
    let ran = |word: &str| {
        commands
            .iter()
            .any(|argv| argv.iter().any(|a| a.contains(word)))
    };
    let ran_service = |name: &str| {
        let names = [
            name.to_string(),
            format!("{name}.service"),
            format!("/etc/init.d/{name}"),
        ];
        commands
            .iter()
            .any(|argv| argv.iter().any(|a| names.contains(a)))
    };
    let started = |service: &str, systemd: bool, ran_before: bool| {
        if ran_before {
            CommandEffect::Restarted {
                service: service.into(),
                systemd,
            }
        } else {
            CommandEffect::Started {
                service: service.into(),
                systemd,
            }
        }
    };
    // Our daemon, by its own words.
    let daemon = commands.iter().any(|argv| {
        argv.iter()
            .any(|a| a == "/etc/init.d/mysql-ha" || a == "mysql-ha.service" || a == "mysql-ha")
    });
    if daemon {
        let systemd = ran("mysql-ha.service");
        let ran_before = existed_before(journal, crate::daemon::config::DEFAULT_PATH);
        effects.push(started("mysql-ha", systemd, ran_before));
        if !ran_before {
            for (word, link) in [
                ("mysql-ha.service", BootLink::Systemd),
                ("update-rc.d", BootLink::UpdateRcD),
                ("chkconfig", BootLink::Chkconfig),
            ] {
                if ran(word) {
                    effects.push(CommandEffect::AtBoot {
                        service: "mysql-ha".into(),
                        link,
                    });
                }
            }
        }
    }
    let link = if host.systemd {
        BootLink::Systemd
    } else {
        BootLink::UpdateRcD
    };
    if ran("pacemaker") {
        for service in ["pacemaker", "corosync-qdevice", "corosync"] {
            if ran(service) {
                effects.push(started(service, host.systemd, false));
                effects.push(CommandEffect::AtBoot {
                    service: service.into(),
                    link,
                });
            }
        }
        if let Some(server) = host.service.as_ref().map(|s| s.name.clone()) {
            let by_rc = commands.iter().any(|argv| {
                argv.len() == 3
                    && argv[0] == "update-rc.d"
                    && argv[1] == server
                    && argv[2] == "disable"
            });
            if ran(&format!("{server}.service")) && host.systemd {
                effects.push(CommandEffect::OffBoot {
                    service: server,
                    link: BootLink::Systemd,
                });
            } else if by_rc {
                effects.push(CommandEffect::OffBoot {
                    service: server,
                    link: BootLink::UpdateRcD,
                });
            }
        }
    }
    let witness = crate::vote::witness::SERVICE;
    if ran(witness) {
        let ran_before = existed_before(journal, crate::vote::witness::CONFIG_PATH);
        effects.push(started(witness, host.witness_unit, ran_before));
        if !ran_before {
            effects.push(CommandEffect::AtBoot {
                service: witness.into(),
                link: if host.witness_unit {
                    BootLink::Systemd
                } else {
                    BootLink::UpdateRcD
                },
            });
        }
    }
    if ran_service("corosync-qnetd") {
        effects.push(started("corosync-qnetd", host.systemd, false));
        effects.push(CommandEffect::AtBoot {
            service: "corosync-qnetd".into(),
            link,
        });
    }
    let ran_tool = |program: &str, first: &str| {
        commands.iter().any(|argv| {
            argv.first().map(String::as_str) == Some(program)
                && argv.get(1).map(String::as_str) == Some(first)
        })
    };
    let made_folder = commands.iter().any(|argv| {
        argv.first().map(String::as_str) == Some("install")
            && argv.last().map(String::as_str) == Some(NODE_FOLDER)
    });
    let made = if made_folder {
        Some(NODE_FOLDER)
    } else if ran_tool("corosync-qdevice-net-certutil", "-i") {
        Some(NODE_DB)
    } else if ran_tool("corosync-qnetd-certutil", "-i") {
        Some(QNETD_DB)
    } else {
        None
    };
    if let Some(path) = made {
        effects.push(CommandEffect::Made {
            path: PathBuf::from(path),
        });
    }
    effects
}
