//! Preflight checks of the cluster account: it logs in to the peer by key
//! with no prompt, and `sudo -n -l` lists exactly the allowlist.

use super::{
    account_home, address_of, sudoers, AccountPaths, ACCOUNT_COMMENT, PASSPHRASE_FILE, SUDOERS_FILE,
};
use crate::operation::finding::{Finding, Severity};
use crate::operation::pair::{Member, Pair};
use crate::privileged;
use crate::Result;

/// Logs in from `member` to `peer` as the account, by key, with no prompt.
/// With a passphrase the key is unlocked through SSH_ASKPASS from the
/// root-only passphrase file (as the daemon's agent is).
const LOGIN_CHECK: &str = r#"acct=$1 peer=$2 key=$3 known=$4 pass=$5
opts="-o StrictHostKeyChecking=yes -o UpdateHostKeys=no -o ConnectTimeout=5 -o IdentitiesOnly=yes -o UserKnownHostsFile=$known -i $key"
if [ -s "$pass" ]; then
  d=$(mktemp -d) || exit 1
  trap 'rm -rf "$d"' EXIT
  printf '#!/bin/sh\nexec cat %s\n' "$pass" > "$d/askpass" && chmod 700 "$d/askpass" || exit 1
  SSH_ASKPASS="$d/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh $opts -o BatchMode=no -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no "$acct@$peer" true </dev/null
else
  runuser -u "$acct" -- ssh $opts -o BatchMode=yes "$acct@$peer" true </dev/null
fi
rc=$?
# 255 would read as a failure of the installer's own connection.
[ "$rc" -eq 0 ] || { echo "ssh exit $rc" >&2; exit 1; }"#;

/// sudo is there and reads the drop-in folder the allowlist goes to.
const SUDO_CHECK: &str = r#"command -v sudo >/dev/null || { echo "sudo is not installed"; exit 1; }
command -v visudo >/dev/null || [ -x /usr/sbin/visudo ] || { echo "visudo is not installed"; exit 1; }
[ -d /etc/sudoers.d ] || { echo "/etc/sudoers.d does not exist"; exit 1; }
grep -Eq '^[[:space:]]*[@#]includedir[[:space:]]+/etc/sudoers.d' /etc/sudoers || { echo "/etc/sudoers does not include /etc/sudoers.d"; exit 1; }"#;

/// The comment (GECOS field) of an account that exists.
fn account_comment(node: &dyn crate::node::Node, account: &str) -> Result<String> {
    let out = node.run(&["getent", "passwd", account], None)?;
    Ok(out
        .stdout_text()
        .trim()
        .split(':')
        .nth(4)
        .unwrap_or_default()
        .to_string())
}

fn check_member(
    member: &Member,
    peer: &Member,
    cluster: &crate::answers::ClusterAnswers,
    binary: &str,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let node = member.access.node();
    let label = member.label().to_string();
    let account = cluster.account.as_str();
    let mut push = |severity, check, message: String| {
        findings.push(Finding {
            severity,
            node: label.clone(),
            check,
            message,
        });
    };
    let sudo = node.run(&["sh", "-c", SUDO_CHECK], None)?;
    if !sudo.success() {
        push(
            Severity::Fatal,
            "cluster sudo",
            format!(
                "{}: install sudo (with visudo) and make /etc/sudoers read /etc/sudoers.d (`@includedir /etc/sudoers.d`)",
                sudo.stdout_text().trim()
            ),
        );
    }
    let Some(home) = account_home(node, account)? else {
        push(
            Severity::Ok,
            "cluster account",
            format!("{account} does not exist yet: setup creates it"),
        );
        return Ok(());
    };
    let comment = account_comment(node, account)?;
    if comment != ACCOUNT_COMMENT {
        push(
            Severity::Fatal,
            "cluster account",
            format!(
                "{account} exists and was not made by mysql-ha (its comment is `{comment}`, not `{ACCOUNT_COMMENT}`): setup would replace its ssh settings, key and sudo rules; choose another cluster.account, or if you made this account for mysql-ha, mark it with `usermod -c '{ACCOUNT_COMMENT}' {account}`"
            ),
        );
        return Ok(());
    }
    let paths = AccountPaths { home };
    if node.stat(&paths.private_key())?.is_none() {
        push(
            Severity::Ok,
            "cluster account",
            format!("{account} has no key yet: setup makes one"),
        );
        return Ok(());
    }
    let peer_address = address_of(&peer.answers.host);
    let key = paths.private_key().to_string_lossy().into_owned();
    let known = paths.known_hosts().to_string_lossy().into_owned();
    let out = node.run(
        &[
            "sh",
            "-c",
            LOGIN_CHECK,
            "sh",
            account,
            &peer_address,
            &key,
            &known,
            PASSPHRASE_FILE,
        ],
        None,
    )?;
    if out.success() {
        push(
            Severity::Ok,
            "cluster ssh",
            format!("{account} logs in to {} by key, no prompt", peer.label()),
        );
    } else {
        push(
            Severity::Warning,
            "cluster ssh",
            format!(
                "{account} cannot log in to {} by key without a prompt: {}; run setup again",
                peer.label(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        );
    }
    let listed = node.run(&["runuser", "-u", account, "--", "sudo", "-n", "-l"], None)?;
    let mut have = sudoers::parse_sudo_list(&listed.stdout_text());
    let mut want: Vec<String> = privileged::allowlist(&member.profile, cluster, binary)
        .iter()
        .map(|c| sudoers::listed_form(&c.argv))
        .collect();
    have.sort();
    want.sort();
    if have == want {
        push(
            Severity::Ok,
            "cluster sudo",
            format!(
                "sudo -n -l lists exactly the {} allowed commands",
                want.len()
            ),
        );
    } else {
        let extra: Vec<&String> = have.iter().filter(|c| !want.contains(c)).collect();
        let missing: Vec<&String> = want.iter().filter(|c| !have.contains(c)).collect();
        push(Severity::Warning, "cluster sudo", format!(
            "sudo -n -l for {account} differs from the allowlist: extra {extra:?}, missing {missing:?}; see {SUDOERS_FILE} and /etc/sudoers"
        ));
    }
    Ok(())
}

/// Preflight findings: how the installer reached each node, and whether the
/// cluster account works (login to the peer by key, exact sudo list).
pub fn check(pair: &Pair) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for member in [&pair.master, &pair.slave] {
        if let Some(trust) = &member.trust {
            findings.push(Finding {
                severity: Severity::Ok,
                node: member.label().to_string(),
                check: "installer trust",
                message: format!(
                    "host key {}{}; installer key {}",
                    trust.fingerprint,
                    if trust.pinned_now { " pinned now (compare with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the node)" } else { " already pinned" },
                    match &trust.key_run {
                        Some(run) => format!("installed after one password login (run {run}; `mysql-ha rollback {run}` on the node removes it)"),
                        None => "was already authorized".to_string(),
                    }
                ),
            });
        }
    }
    let binary = pair.answers.install.node_binary();
    check_member(
        &pair.master,
        &pair.slave,
        &pair.answers.cluster,
        binary,
        &mut findings,
    )?;
    check_member(
        &pair.slave,
        &pair.master,
        &pair.answers.cluster,
        binary,
        &mut findings,
    )?;
    Ok(findings)
}
