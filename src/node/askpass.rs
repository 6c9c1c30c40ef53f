//! A secret handed to OpenSSH programs (ssh, ssh-keygen, ssh-add) through
//! SSH_ASKPASS: the secret sits in a 0600 file inside a private 0700 folder
//! and a tiny script prints it. It never appears on a command line, and the
//! folder is removed when this value is dropped.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

pub struct Askpass {
    dir: tempfile::TempDir,
}

impl Askpass {
    /// Writes the secret and its helper script; `owner` (uid, gid) gets the
    /// folder when another account's program must read it.
    pub fn new(secret: &str, owner: Option<(u32, u32)>) -> Result<Askpass> {
        if secret.contains(['\n', '\r', '\0']) {
            return Err(Error::Usage(
                "a password or passphrase cannot contain a line break: choose one without".into(),
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("mysql-ha-askpass.")
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let secret_path = dir.path().join("secret");
        let script_path = dir.path().join("askpass");
        write_private(&secret_path, secret.as_bytes(), 0o600)?;
        let script = format!(
            "#!/bin/sh\n# mysql-ha: prints the secret OpenSSH asks for (the prompt argument is ignored).\nexec cat '{}'\n",
            secret_path.display()
        );
        write_private(&script_path, script.as_bytes(), 0o700)?;
        if let Some((uid, gid)) = owner {
            for path in [dir.path(), &secret_path, &script_path] {
                nix::unistd::chown(
                    path,
                    Some(nix::unistd::Uid::from_raw(uid)),
                    Some(nix::unistd::Gid::from_raw(gid)),
                )
                .map_err(|e| Error::io(path, std::io::Error::from(e)))?;
            }
        }
        Ok(Askpass { dir })
    }

    pub fn program(&self) -> PathBuf {
        self.dir.path().join("askpass")
    }

    /// Makes `command` ask this helper, and nothing else, for its secret.
    pub fn apply(&self, command: &mut Command) {
        command
            .env("SSH_ASKPASS", self.program())
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0");
    }

    /// `env` arguments carrying the same settings, for a program started
    /// through runuser (paths only: the secret stays in its file).
    pub fn env_args(&self) -> Vec<String> {
        vec![
            format!("SSH_ASKPASS={}", self.program().display()),
            "SSH_ASKPASS_REQUIRE=force".into(),
            "DISPLAY=:0".into(),
        ]
    }
}

fn write_private(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(path, e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn helper_prints_the_secret_and_the_folder_goes_away() {
        let askpass = Askpass::new("s3cret with spaces 'and quotes'", None).unwrap();
        let out = Command::new(askpass.program())
            .arg("Password: ")
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"s3cret with spaces 'and quotes'");
        let dir = askpass.program().parent().unwrap().to_path_buf();
        let mode = std::fs::metadata(dir.join("secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        drop(askpass);
        assert!(!dir.exists());
        assert!(Askpass::new("two\nlines", None).is_err());
    }
}
