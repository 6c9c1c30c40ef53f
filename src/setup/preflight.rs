//! Checks on both nodes before anything changes. Each finding says how bad it
//! is and what to do.

use serde::Serialize;

use crate::operation::pair::Pair;
use crate::operation::server_state;
use crate::sql::Flavor;
use crate::Result;

pub use crate::operation::finding::{Finding, Severity};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Databases the run replicates (`*` expanded).
    pub databases: Vec<String>,
    /// Databases the slave must get a copy of: all of them on a first run,
    /// the ones not yet replicated on a running cluster.
    pub to_copy: Vec<String>,
    /// The slave already replicates from this master: the run adds databases.
    pub adding: bool,
    /// The same checks with the second slave (`[slave2]`) in the slave's
    /// place; its findings are also in `findings`.
    #[serde(skip)]
    pub second_slave: Option<Box<Report>>,
}

impl Report {
    pub fn fatal(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Fatal)
    }

    pub fn has_fatal(&self) -> bool {
        self.fatal().next().is_some()
    }

    fn push(
        &mut self,
        severity: Severity,
        node: &str,
        check: &'static str,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            node: node.to_string(),
            check,
            message: message.into(),
        });
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let mark = match f.severity {
                Severity::Ok => "ok     ",
                Severity::Warning => "WARNING",
                Severity::Fatal => "FATAL  ",
            };
            out.push_str(&format!(
                "{mark} {:<14} {:<22} {}\n",
                f.node, f.check, f.message
            ));
        }
        out
    }
}

/// On a cluster the daemons run: a node taken over from is rejoined, and a
/// master the daemons moved is switched back, not reconfigured by setup.
fn cluster_roles(pair: &Pair, report: &mut Report) {
    use crate::daemon::config::Role;
    let state = |member: &crate::operation::pair::Member| {
        crate::operation::cluster_daemon::read_term_state(member).ok()
    };
    let (Some(master), Some(slave)) = (state(&pair.master), state(&pair.slave)) else {
        return;
    };
    for (member, own) in [(&pair.master, &master), (&pair.slave, &slave)] {
        if own.role == Role::NeedsRejoin {
            report.push(
                Severity::Fatal,
                member.label(),
                "cluster role",
                format!(
                    "taken over from (term {}): rejoin it as slave of the current master first: `mysql-ha rejoin {} --answers FILE`",
                    own.term,
                    member.label()
                ),
            );
        }
    }
    if slave.role == Role::Master && slave.term > master.term {
        report.push(
            Severity::Fatal,
            pair.slave.label(),
            "cluster role",
            format!(
                "is master now (term {}), not {}: swap [master] and [slave] in the answers, or `mysql-ha switchover --to {}` first",
                slave.term,
                pair.master.label(),
                pair.master.label()
            ),
        );
    }
}

/// With `seed = "none"`: the slave must hold each database already.
fn seed_none_finding(db: &str, on_master: u64, on_slave: u64) -> (Severity, String) {
    if on_slave == 0 && on_master > 0 {
        (
            Severity::Fatal,
            format!("replication.seed = \"none\" but `{db}` has no tables on the slave ({on_master} on the master): load it there first, or choose another seed method"),
        )
    } else if on_slave != on_master {
        (
            Severity::Warning,
            format!("replication.seed = \"none\": `{db}` has {on_slave} tables on the slave and {on_master} on the master; replication stops at the first change to a table the slave lacks"),
        )
    } else {
        (
            Severity::Ok,
            format!("replication.seed = \"none\": the slave holds `{db}` ({on_slave} tables, as on the master); no copy"),
        )
    }
}

/// How many bytes of free space the slave needs per byte of data seeded.
const SEED_SPACE_FACTOR: f64 = 1.5;

/// Whether SHOW GRANTS shows every privilege on *.*: `ALL PRIVILEGES`, or
/// (MySQL 8+, which lists them one by one) one global grant with what
/// setup uses, given with GRANT OPTION.
fn has_all_privileges(grants: &[String]) -> bool {
    const NEEDED: &[&str] = &[
        "SELECT",
        "INSERT",
        "CREATE",
        "DROP",
        "RELOAD",
        "PROCESS",
        "SUPER",
        "LOCK TABLES",
        "REPLICATION SLAVE",
        "REPLICATION CLIENT",
        "CREATE USER",
    ];
    grants.iter().any(|grant| {
        if grant.starts_with("GRANT ALL PRIVILEGES ON *.*") {
            return true;
        }
        let Some((privileges, rest)) = grant
            .strip_prefix("GRANT ")
            .and_then(|g| g.split_once(" ON *.* TO "))
        else {
            return false;
        };
        let held: Vec<&str> = privileges.split(", ").collect();
        rest.ends_with("WITH GRANT OPTION") && NEEDED.iter().all(|p| held.contains(p))
    })
}

/// Whether this slave can follow this master, and after a switchover the
/// master this slave: one family, and the slave no older than the master.
fn version_pairing(master: &Flavor, slave: &Flavor) -> (Severity, String) {
    if master.family != slave.family {
        return (
            Severity::Fatal,
            format!(
                "master runs {master}, slave {slave}: MariaDB and MySQL do not replicate into each other reliably \
                 (different GTIDs, binary log events and replication statements), and a takeover would have to \
                 replicate back the other way: pair two servers of one family (MariaDB with MariaDB, MySQL with MySQL); \
                 to move data between the families, dump and load it once"
            ),
        );
    }
    let major_minor = |f: &Flavor| (f.version.major, f.version.minor);
    if major_minor(slave) < major_minor(master) {
        return (
            Severity::Fatal,
            format!(
                "slave runs {slave}, older than the master's {master}: a slave replays its master's binary log, \
                 and a server only reads logs of its own or older versions: upgrade the slave to {}.{} or later first, \
                 or swap [master] and [slave] in the answers (the newer server as slave is the upgrade path)",
                master.version.major, master.version.minor
            ),
        );
    }
    (Severity::Ok, format!("slave {slave} >= master {master}"))
}

/// Every check of the run: the master and the slave, then the master and
/// the second slave when there is one (each finding once).
pub fn run_all(pair: &mut Pair) -> Result<Report> {
    let mut report = run(pair)?;
    // First: after a failover the other findings (the slave replicates
    // from another node, its databases exist) follow from this one.
    for finding in super::pacemaker::check(pair)?.into_iter().rev() {
        report.findings.insert(0, finding);
    }
    if pair.slave2.is_some() {
        let second = pair.with_slave2(run)?;
        for finding in &second.findings {
            let seen = report.findings.iter().any(|f| {
                f.node == finding.node && f.check == finding.check && f.message == finding.message
            });
            if !seen {
                report.findings.push(finding.clone());
            }
        }
        report.second_slave = Some(Box::new(second));
    }
    Ok(report)
}

pub fn run(pair: &mut Pair) -> Result<Report> {
    let mut report = Report::default();
    let master_label = pair.master.label().to_string();
    let slave_label = pair.slave.label().to_string();

    for member in [&pair.master, &pair.slave] {
        let how = if member.access.is_local() {
            "this machine"
        } else {
            "ssh, host key pinned"
        };
        report.push(
            Severity::Ok,
            member.label(),
            "reach",
            format!(
                "{how}; {} ({}), server {}",
                member.profile.name,
                member.profile.description,
                member.session.conn.flavor()
            ),
        );
    }

    cluster_roles(pair, &mut report);

    for member in [&mut pair.master, &mut pair.slave] {
        let label = member.label().to_string();
        let grants = member.sql().column("SHOW GRANTS")?;
        let all = has_all_privileges(&grants);
        if all {
            report.push(
                Severity::Ok,
                &label,
                "admin account",
                format!("{} has ALL PRIVILEGES", member.answers.mysql_admin_user),
            );
        } else {
            report.push(
                Severity::Fatal,
                &label,
                "admin account",
                format!("{} lacks ALL PRIVILEGES ON *.* (needed to configure replication and create accounts): use an admin account (mysql_admin_user)", member.answers.mysql_admin_user),
            );
        }
    }

    let (master_flavor, slave_flavor) = (pair.master.sql().flavor(), pair.slave.sql().flavor());
    let (severity, text) = version_pairing(&master_flavor, &slave_flavor);
    report.push(severity, &slave_label, "versions", text);

    // The replication password must fit the slave's CHANGE MASTER TO: a
    // longer one would fail only after both servers were restarted and seeded.
    let password = &pair.answers.replication.password;
    let limit = slave_flavor.max_replication_password_bytes();
    if password.len() > limit {
        report.push(
            Severity::Fatal,
            &slave_label,
            "replication password",
            format!(
                "replication.password has {} bytes; {slave_flavor} takes at most {limit} in CHANGE MASTER TO: use a shorter one, or leave it empty to generate one",
                password.len()
            ),
        );
    }

    // Databases: exist on the master, none is a system schema.
    let master_databases = server_state::replicable_databases(pair.master.sql())?;
    let wanted = &pair.answers.replication.databases;
    let databases: Vec<String> = if wanted.iter().any(|d| d == "*") {
        master_databases.clone()
    } else {
        wanted.clone()
    };
    for db in &databases {
        if !master_databases.iter().any(|m| m == db) {
            report.push(
                Severity::Fatal,
                &master_label,
                "databases",
                format!("database `{db}` does not exist on the master (replication.databases)"),
            );
        }
    }
    if databases.is_empty() {
        report.push(
            Severity::Fatal,
            &master_label,
            "databases",
            "no database to replicate (replication.databases)",
        );
    }
    report.databases = databases.clone();
    if !databases.is_empty() {
        filter_limits(
            pair,
            &master_label,
            &databases,
            &master_databases,
            &mut report,
        )?;
    }

    // The slave: an existing setup must point at this master.
    let replica = server_state::replica_state(pair.slave.sql())?;
    let already_ours = match &replica {
        None => {
            report.push(Severity::Ok, &slave_label, "existing replication", "none");
            false
        }
        Some(r) if r.master_host == pair.answers.master.host => {
            report.push(
                Severity::Ok,
                &slave_label,
                "existing replication",
                format!(
                    "already replicates from {} (threads io={} sql={})",
                    r.master_host, r.io_running, r.sql_running
                ),
            );
            true
        }
        Some(r) => {
            report.push(Severity::Fatal, &slave_label, "existing replication", format!("replicates from {} already; refusing to clobber it (RESET SLAVE ALL there first if it is obsolete)", r.master_host));
            false
        }
    };

    report.to_copy = match (&replica, already_ours) {
        (Some(r), true) => databases
            .iter()
            .filter(|d| !r.replicated_databases.contains(d))
            .cloned()
            .collect(),
        _ => databases.clone(),
    };
    report.adding = already_ours && !report.to_copy.is_empty();
    if report.adding {
        report.push(
            Severity::Ok,
            &slave_label,
            "add databases",
            format!(
                "replicated now: {}; to add: {}",
                replica
                    .as_ref()
                    .map(|r| r.replicated_databases.join(", "))
                    .unwrap_or_default(),
                report.to_copy.join(", ")
            ),
        );
    }

    // Data on the slave that a copy would overwrite: refused, unless an
    // earlier run of this tool started that copy and was interrupted.
    let seeded_before = crate::backup::unfinished_seeds(pair.slave.access.node())?;
    // A copy an interrupted run started must be made again even when the
    // slave's filters already name the database.
    for (db, _) in &seeded_before {
        if databases.contains(db) && !report.to_copy.contains(db) {
            report.to_copy.push(db.clone());
        }
    }
    report.adding = already_ours && !report.to_copy.is_empty();
    let no_copy =
        pair.answers.replication.seed == crate::answers::SeedMethod::None && !report.adding;
    if no_copy {
        // seed = "none": the slave must already hold the data (docs/answers.md);
        // tables there are what is expected, not something to protect.
        for db in report.to_copy.clone() {
            let (on_master, on_slave) = (
                server_state::table_count(pair.master.sql(), &db)?,
                server_state::table_count(pair.slave.sql(), &db)?,
            );
            let (severity, message) = seed_none_finding(&db, on_master, on_slave);
            report.push(severity, &slave_label, "databases", message);
        }
    }
    for db in report.to_copy.clone() {
        if no_copy || server_state::table_count(pair.slave.sql(), &db)? == 0 {
            continue;
        }
        match seeded_before.iter().find(|(name, _)| *name == db) {
            Some((_, run)) => report.push(
                Severity::Warning,
                &slave_label,
                "databases",
                format!("`{db}` on the slave holds a copy that run {run} started and did not finish; it will be copied again"),
            ),
            None => report.push(
                Severity::Fatal,
                &slave_label,
                "databases",
                format!("database `{db}` already has tables on the slave; the copy would replace them: drop or rename it there first"),
            ),
        }
    }

    // Accounts on the master.
    let repl_user = pair.answers.replication.user.clone();
    let anonymous = pair
        .master
        .sql()
        .column("SELECT Host FROM mysql.user WHERE User = ''")?;
    for host in anonymous {
        let shadows = host == "%" || host == slave_label;
        report.push(
            if shadows {
                Severity::Fatal
            } else {
                Severity::Warning
            },
            &master_label,
            "anonymous accounts",
            format!(
                "''@'{host}' exists{}: drop it (DROP USER ''@'{host}')",
                if shadows {
                    " and would shadow the replication account"
                } else {
                    ""
                }
            ),
        );
    }
    match server_state::account_grants(pair.master.sql(), &repl_user, &slave_label)? {
        None => report.push(
            Severity::Ok,
            &master_label,
            "replication account",
            format!("'{repl_user}'@'{slave_label}' will be created"),
        ),
        Some(grants) => {
            let extra: Vec<String> = server_state::global_privileges(&grants)
                .into_iter()
                .filter(|p| p != "REPLICATION SLAVE")
                .collect();
            if extra.is_empty() {
                report.push(
                    Severity::Ok,
                    &master_label,
                    "replication account",
                    format!("'{repl_user}'@'{slave_label}' exists with REPLICATION SLAVE only"),
                );
            } else {
                report.push(Severity::Fatal, &master_label, "replication account", format!("'{repl_user}'@'{slave_label}' exists with other privileges ({}): choose another replication.user or drop it", extra.join(", ")));
            }
        }
    }

    // Room on the slave for the copy.
    if !report.to_copy.is_empty() && !no_copy {
        let size = server_state::databases_size(pair.master.sql(), &report.to_copy)?;
        let datadir = pair.slave.profile.paths.datadir.clone();
        let free = pair.slave.access.node().free_bytes(&datadir)?;
        let needed = (size as f64 * SEED_SPACE_FACTOR) as u64;
        let message = format!(
            "{} free in {}, seed needs about {}",
            crate::operation::plan::human_bytes(free),
            datadir.display(),
            crate::operation::plan::human_bytes(needed)
        );
        report.push(
            if free < needed {
                Severity::Fatal
            } else {
                Severity::Ok
            },
            &slave_label,
            "disk space",
            message,
        );
    }

    // The slave must be able to reach the master over the network.
    reachability(pair, &mut report)?;

    // The cluster account is the pair's (for our commands and daemon): a
    // second slave gets none, so there is nothing of it to check there.
    if pair.slave.side != crate::operation::pair::Side::Slave2 {
        report.findings.extend(super::cluster_access::check(pair)?);
    }
    report.findings.extend(super::ddns_check::check(pair)?);
    report
        .findings
        .extend(crate::operation::tls_step::check(pair)?);
    Ok(report)
}

fn tcp_probe_script(host: &str, port: u16) -> String {
    format!("timeout 3 bash -c '</dev/tcp/{host}/{port}' 2>/dev/null")
}

fn reachability(pair: &mut Pair, report: &mut Report) -> Result<()> {
    let master = pair.answers.master.host.clone();
    let slave_label = pair.slave.label().to_string();
    let mysql_port = pair.answers.master.mysql_port;
    let probe = |port: u16| -> Result<bool> {
        Ok(pair
            .slave
            .access
            .node()
            .run(&["bash", "-c", &tcp_probe_script(&master, port)], None)?
            .success())
    };
    if probe(mysql_port)? {
        report.push(
            Severity::Ok,
            &slave_label,
            "network",
            format!("reaches {master}:{mysql_port}"),
        );
    } else if probe(pair.answers.master.ssh_port)? {
        report.push(
            Severity::Ok,
            &slave_label,
            "network",
            format!("reaches {master} (ssh); its server port opens after the bind-address change"),
        );
    } else {
        report.push(Severity::Fatal, &slave_label, "network", format!("cannot reach {master} on port {mysql_port} nor ssh: check routing and firewalls between the nodes"));
    }
    Ok(())
}

/// Databases not chosen whose stored routines or events the master holds:
/// their DDL writes no table, so no table filter skips it, and the slave
/// (which lacks the database) stops on it (guide.md, "What the slave
/// replicates").
pub fn with_routines_not_chosen(owners: &[String], chosen: &[String]) -> Vec<String> {
    let mut out: Vec<String> = owners
        .iter()
        .filter(|db| !chosen.contains(db))
        .filter(|db| {
            !crate::answers::SYSTEM_SCHEMAS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(db))
        })
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Views of chosen databases that read a database not chosen (the server
/// writes every name in a view's definition as `` `db`.`table` ``): the
/// slave lacks that table and cannot create the view. Returns
/// `db.view -> other db` pairs.
pub fn views_reading_others(
    views: &[(String, String, String)],
    others: &[String],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (db, name, definition) in views {
        for other in others {
            let needle = format!("{}.", crate::sql::flavor::quote_ident(other));
            if definition.contains(&needle) {
                out.push((format!("{db}.{name}"), other.clone()));
            }
        }
    }
    out
}

/// Warns about what the slave's table filters cannot get right, so the
/// administrator hears it before the first such statement stops the slave.
fn filter_limits(
    pair: &mut Pair,
    master_label: &str,
    chosen: &[String],
    master_databases: &[String],
    report: &mut Report,
) -> Result<()> {
    let conn = pair.master.sql();
    let owners = conn.column(
        "SELECT ROUTINE_SCHEMA FROM information_schema.ROUTINES UNION SELECT EVENT_SCHEMA FROM information_schema.EVENTS",
    )?;
    let routines = with_routines_not_chosen(&owners, chosen);
    if !routines.is_empty() {
        report.push(
            Severity::Warning,
            master_label,
            "filters",
            format!(
                "{} not replicated but holding stored routines or events: creating, changing or dropping one there stops the slave (error 1049, no table filter applies to them); replicate it too, or run such DDL with sql_log_bin = 0 (docs/guide.md, \"What the slave replicates\")",
                routines.join(", ")
            ),
        );
    }
    let list = chosen
        .iter()
        .map(|d| crate::sql::flavor::quote_string(d))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = conn.rows(&format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN ({list})"
    ))?;
    let views: Vec<(String, String, String)> = rows
        .iter()
        .map(|row| {
            let get = |k: &str| row.get(k).cloned().flatten().unwrap_or_default();
            (
                get("TABLE_SCHEMA"),
                get("TABLE_NAME"),
                get("VIEW_DEFINITION"),
            )
        })
        .collect();
    let others: Vec<String> = master_databases
        .iter()
        .filter(|d| !chosen.contains(d))
        .cloned()
        .collect();
    let needing = views_reading_others(&views, &others);
    if !needing.is_empty() {
        report.push(
            Severity::Warning,
            master_label,
            "filters",
            format!(
                "views that read a database not replicated: {}; the slave lacks those tables, so the copy or a later CREATE/ALTER of such a view stops it (error 1146); replicate those databases too (docs/guide.md, \"What the slave replicates\")",
                needing
                    .iter()
                    .map(|(view, other)| format!("{view} reads {other}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    #[test]
    fn routines_of_databases_not_chosen() {
        let owners = ["hr", "shop", "mysql", "hr", "sys", "crm"].map(String::from);
        let chosen = ["shop".to_string()];
        assert_eq!(with_routines_not_chosen(&owners, &chosen), ["crm", "hr"]);
    }

    #[test]
    fn views_that_read_other_databases() {
        let views = vec![
            (
                "shop".to_string(),
                "v1".to_string(),
                "select `hr`.`src`.`id` AS `id` from `hr`.`src`".to_string(),
            ),
            (
                "shop".to_string(),
                "v2".to_string(),
                "select `shop`.`a`.`id` AS `id` from `shop`.`a`".to_string(),
            ),
        ];
        let others = ["hr".to_string(), "hr2".to_string()];
        assert_eq!(
            views_reading_others(&views, &others),
            [("shop.v1".to_string(), "hr".to_string())]
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn mysql_lists_all_privileges_one_by_one() {
        let root = "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, SHUTDOWN, PROCESS, FILE, REFERENCES, INDEX, ALTER, SHOW DATABASES, SUPER, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, CREATE TABLESPACE, CREATE ROLE, DROP ROLE ON *.* TO `root`@`localhost` WITH GRANT OPTION";
        assert!(has_all_privileges(&[root.to_string()]));
        assert!(has_all_privileges(&[
            "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` IDENTIFIED VIA unix_socket WITH GRANT OPTION".to_string()
        ]));
        let no_grant_option = root.replace(" WITH GRANT OPTION", "");
        assert!(!has_all_privileges(&[no_grant_option]));
        let no_super = root.replace(" SUPER,", "");
        assert!(!has_all_privileges(&[no_super]));
    }

    #[test]
    fn versions_pair_within_a_family_and_never_to_an_older_slave() {
        let flavor = |text| Flavor::from_version_string(text).unwrap();
        let (severity, text) = version_pairing(
            &flavor("10.11.6-MariaDB-0+deb12u1"),
            &flavor("11.8.3-MariaDB-0+deb13u1"),
        );
        assert_eq!(severity, Severity::Ok, "{text}");
        let (severity, text) = version_pairing(
            &flavor("11.8.3-MariaDB-0+deb13u1"),
            &flavor("10.11.6-MariaDB-0+deb12u1"),
        );
        assert_eq!(severity, Severity::Fatal);
        assert!(
            text.contains("older than the master's MariaDB 11.8.3"),
            "{text}"
        );
        assert!(
            text.contains("upgrade the slave to 11.8 or later first"),
            "{text}"
        );
        let (severity, text) =
            version_pairing(&flavor("10.11.6-MariaDB-0+deb12u1"), &flavor("9.7.4-2"));
        assert_eq!(severity, Severity::Fatal);
        assert!(text.contains("pair two servers of one family"), "{text}");
        // 9.7 > 10.11 would be meaningless across families: refused anyway.
        let (severity, _) = version_pairing(&flavor("9.7.4"), &flavor("10.11.6-MariaDB"));
        assert_eq!(severity, Severity::Fatal);
    }

    #[test]
    fn seed_none_expects_the_data_on_the_slave() {
        assert_eq!(seed_none_finding("shop", 3, 3).0, Severity::Ok);
        assert_eq!(seed_none_finding("shop", 3, 2).0, Severity::Warning);
        let (severity, message) = seed_none_finding("shop", 3, 0);
        assert_eq!(severity, Severity::Fatal);
        assert!(message.contains("replication.seed"), "{message}");
        assert_eq!(seed_none_finding("empty", 0, 0).0, Severity::Ok);
    }
}
