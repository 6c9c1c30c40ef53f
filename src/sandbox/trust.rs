//! Who may log in where: root keys exchanged between all lab hosts with pinned
//! host keys, or (`--no-trust`) root passwords instead, for tests of the
//! wizard's own trust bootstrap.

use rand::distributions::{Alphanumeric, DistString};

use super::host::exec_checked;
use super::HostSpec;
use crate::Result;

const ROOT_KEY: &str = "/root/.ssh/id_ed25519";
const PASSWORD_LOGIN_DROPIN: &str = "/etc/ssh/sshd_config.d/mysql-ha-sandbox.conf";

fn write_file(host: &str, path: &str, mode: &str, contents: &str) -> Result<()> {
    let script =
        format!("umask 077; mkdir -p \"$(dirname {path})\" && cat > {path} && chmod {mode} {path}");
    exec_checked(host, &["sh", "-c", &script], Some(contents.as_bytes()))?;
    Ok(())
}

pub fn exchange_keys(hosts: &[HostSpec]) -> Result<()> {
    let mut authorized = String::new();
    let mut known_hosts = String::new();
    for host in hosts {
        if host.database {
            let undo_no_trust = format!(
                "if [ -f {PASSWORD_LOGIN_DROPIN} ]; then rm -f {PASSWORD_LOGIN_DROPIN} && /etc/init.d/ssh restart; fi"
            );
            exec_checked(host.name, &["sh", "-c", &undo_no_trust], None)?;
        }
        let script = format!(
            "mkdir -p -m 700 /root/.ssh && {{ [ -f {ROOT_KEY} ] || ssh-keygen -q -t ed25519 -N '' -C root@{name} -f {ROOT_KEY}; }} && cat {ROOT_KEY}.pub",
            name = host.name
        );
        authorized.push_str(&exec_checked(host.name, &["sh", "-c", &script], None)?.stdout_text());
        {
            let key = exec_checked(
                host.name,
                &["cat", "/etc/ssh/ssh_host_ed25519_key.pub"],
                None,
            )?;
            let mut fields = key.stdout_text();
            fields.truncate(fields.trim_end().len());
            let key_part: Vec<&str> = fields.split_whitespace().take(2).collect();
            known_hosts.push_str(&format!(
                "{},{} {}\n",
                host.name,
                host.address,
                key_part.join(" ")
            ));
        }
    }
    for host in hosts {
        write_file(host.name, "/root/.ssh/known_hosts", "644", &known_hosts)?;
        // The client too: setup installs the witness there.
        write_file(host.name, "/root/.ssh/authorized_keys", "600", &authorized)?;
    }
    Ok(())
}

/// Sets a fresh random root password on each database host and allows root
/// password logins; returns the passwords so they can be shown once.
pub fn set_root_passwords(hosts: &[HostSpec]) -> Result<Vec<(String, String)>> {
    let mut passwords = Vec::new();
    for host in hosts.iter().filter(|h| h.database) {
        let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 16);
        // On stdin: never on a command line.
        exec_checked(
            host.name,
            &["chpasswd"],
            Some(format!("root:{password}\n").as_bytes()),
        )?;
        exec_checked(
            host.name,
            &[
                "rm",
                "-f",
                "/root/.ssh/authorized_keys",
                "/root/.ssh/known_hosts",
            ],
            None,
        )?;
        write_file(
            host.name,
            PASSWORD_LOGIN_DROPIN,
            "644",
            "# mysql-ha sandbox --no-trust: root logs in by password\nPermitRootLogin yes\nPasswordAuthentication yes\n",
        )?;
        exec_checked(host.name, &["/etc/init.d/ssh", "restart"], None)?;
        passwords.push((host.name.to_string(), password));
    }
    Ok(passwords)
}
