//! The dynamic-DNS name of a cluster: an A record in a zone whose
//! authoritative server takes RFC 2136 updates signed with a TSIG key.
//! Pure decisions live here; the caller runs the commands (on a node during
//! setup, on this machine in the daemon) through a `Runner`.

pub mod key;
pub mod update;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::answers::DdnsAnswers;
use crate::node::Output;
use crate::{Error, Result};
pub use key::TsigKey;
use update::Outcome;

/// Runs argv with optional stdin somewhere.
pub type Runner<'a> = dyn FnMut(&[String], Option<&[u8]>) -> Result<Output> + 'a;

/// How long a claim waits for the server to answer with the new address.
const CONFIRM_WAIT: Duration = Duration::from_secs(5);

/// The name's A records as the zone's server answers them (no key needed).
pub fn lookup(settings: &DdnsAnswers, run: &mut Runner) -> Result<Vec<IpAddr>> {
    let out = run(&update::query_argv(settings), None)?;
    if !out.success() {
        return Err(Error::Dns {
            server: format!("{} port {}", settings.server, settings.port),
            message: format!(
                "no answer for {} (dig: {}): {}",
                settings.name,
                crate::error::exit_status(out.code),
                out.stdout_text().trim()
            ),
        });
    }
    Ok(update::addresses(&out.stdout_text()))
}

/// Whether the zone's server answers exactly this address for the name.
pub fn points_at(settings: &DdnsAnswers, address: &str, run: &mut Runner) -> Result<bool> {
    let found = lookup(settings, run)?;
    Ok(found.len() == 1 && found[0].to_string() == address)
}

pub struct DnsName {
    pub settings: DdnsAnswers,
    pub key: TsigKey,
}

impl DnsName {
    fn error(&self, message: String) -> Error {
        Error::Dns {
            server: format!("{} port {}", self.settings.server, self.settings.port),
            message,
        }
    }

    fn update(&self, script: String, run: &mut Runner) -> Result<Outcome> {
        let out = run(&update::nsupdate_argv(), Some(script.as_bytes()))?;
        // nsupdate repeats a secret it cannot use in its message.
        let scrub = |bytes: &[u8]| {
            String::from_utf8_lossy(bytes)
                .replace(&self.key.secret, "********")
                .into_bytes()
        };
        Ok(update::outcome(&Output {
            code: out.code,
            stdout: scrub(&out.stdout),
            stderr: scrub(&out.stderr),
        }))
    }

    fn refused(&self, what: &str, said: &str) -> Error {
        self.error(format!(
            "{what} of {} refused or not delivered, signed with {}: {said}",
            self.settings.name,
            self.key.describe(&self.settings)
        ))
    }

    /// The name's A records as the zone's server answers them.
    pub fn lookup(&self, run: &mut Runner) -> Result<Vec<IpAddr>> {
        lookup(&self.settings, run)
    }

    /// Replaces the name's A records with this address, then waits until
    /// the server answers with it.
    pub fn point_at(&self, address: &str, run: &mut Runner) -> Result<()> {
        let script = update::replace_script(&self.settings, &self.key, address);
        match self.update(script, run)? {
            Outcome::Accepted => {}
            Outcome::PrerequisiteFailed => return Err(self.refused("update", "prerequisite")),
            Outcome::Failed(said) => return Err(self.refused("update", &said)),
        }
        let started = Instant::now();
        loop {
            let found = self.lookup(run)?;
            if found.len() == 1 && found[0].to_string() == address {
                return Ok(());
            }
            if started.elapsed() > CONFIRM_WAIT {
                let found: Vec<String> = found.iter().map(IpAddr::to_string).collect();
                return Err(self.error(format!(
                    "accepted the update but still answers {} for {} after {} s",
                    if found.is_empty() {
                        "nothing".to_string()
                    } else {
                        found.join(", ")
                    },
                    self.settings.name,
                    CONFIRM_WAIT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Removes the name's A records only while they hold this address;
    /// returns whether they did.
    pub fn release(&self, address: &str, run: &mut Runner) -> Result<bool> {
        let script = update::release_script(&self.settings, &self.key, address);
        match self.update(script, run)? {
            Outcome::Accepted => Ok(true),
            Outcome::PrerequisiteFailed => Ok(false),
            Outcome::Failed(said) => Err(self.refused("release", &said)),
        }
    }

    /// Adds and removes a harmless TXT record: proves the server takes
    /// updates signed with the key. Err names the key.
    pub fn probe(&self, run: &mut Runner) -> Result<()> {
        match self.update(update::probe_script(&self.settings, &self.key), run)? {
            Outcome::Accepted => Ok(()),
            Outcome::PrerequisiteFailed => Err(self.refused("test update", "prerequisite")),
            Outcome::Failed(said) => Err(self.error(format!(
                "refused a test update ({}.{} TXT, added then removed) signed with {}: {said}; check the key's name, algorithm and secret and the zone's update-policy",
                update::PROBE_LABEL,
                self.settings.zone,
                self.key.describe(&self.settings)
            ))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_update_names_the_key_and_never_shows_its_secret() {
        let name = DnsName {
            settings: DdnsAnswers {
                server: "192.0.2.100".into(),
                zone: "cluster.test".into(),
                name: "db.cluster.test".into(),
                ..DdnsAnswers::default()
            },
            key: TsigKey {
                name: "ha-key".into(),
                algorithm: "hmac-sha256".into(),
                secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQ=".into(),
            },
        };
        let mut seen = Vec::new();
        let mut run = |argv: &[String], stdin: Option<&[u8]>| {
            seen.push((argv.to_vec(), stdin.map(|s| s.to_vec())));
            Ok(Output {
                code: Some(2),
                stdout: Vec::new(),
                stderr: b"could not create key from c2VjcmV0LXNlY3JldC1zZWNyZXQ=: bad\nupdate failed: NOTAUTH(BADSIG)\n".to_vec(),
            })
        };
        let err = name.probe(&mut run).unwrap_err().to_string();
        assert!(err.contains("TSIG key `ha-key`"), "{err}");
        assert!(err.contains("NOTAUTH(BADSIG)"), "{err}");
        assert!(!err.contains("c2VjcmV0"), "{err}");
        let (argv, stdin) = &seen[0];
        assert!(!argv.join(" ").contains("c2VjcmV0"));
        assert!(String::from_utf8_lossy(stdin.as_ref().unwrap())
            .contains("key hmac-sha256:ha-key c2VjcmV0"));
    }
}
