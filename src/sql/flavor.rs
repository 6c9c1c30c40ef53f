//! Server flavour from `VERSION()`, and the statements that differ between
//! flavours (DESIGN.md section 4, "SQL by server flavor").

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Which server: also what a distribution profile names as its `flavor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Family {
    #[serde(rename = "mariadb")]
    MariaDb,
    #[serde(rename = "mysql")]
    MySql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavor {
    pub family: Family,
    pub version: Version,
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.family {
            Family::MariaDb => "MariaDB",
            Family::MySql => "MySQL",
        };
        write!(f, "{name} {}", self.version)
    }
}

/// Where a replica starts reading the source's binary log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// MariaDB GTID list, e.g. "0-1-42".
    MariaDbGtid(String),
    /// MySQL GTID set; replica uses auto-positioning.
    MySqlGtidAuto,
    /// MySQL: the source's `gtid_executed` at a snapshot; the seeded replica
    /// takes it as its `gtid_purged`, then auto-positions.
    MySqlGtidSet(String),
    File {
        file: String,
        offset: u64,
    },
}

/// Everything a replica needs to connect to its source.
#[derive(Debug, Clone)]
pub struct SourceSpec<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub password: &'a str,
    pub position: &'a Position,
    /// Connect over TLS, verifying the source's certificate (its name or
    /// address) against this CA file on the replica; None: plain text.
    pub tls_ca: Option<&'a str>,
    /// The source accepts TLS (`offers_tls_query`): a replica that would
    /// insist on TLS by default is told not to when it does not.
    pub source_tls: bool,
}

/// A replica's connection as it was before a run changed it.
pub struct PreviousReplica<'a> {
    /// Its source, when the run pointed it at another one.
    pub host: Option<(&'a str, u16)>,
    pub user: &'a str,
    pub tls: bool,
    /// The CA file it trusted (empty: none).
    pub tls_ca: &'a str,
    pub verify: bool,
    /// Both its threads ran.
    pub running: bool,
}

/// Semi-synchronous replication's variable, status and plugin names:
/// `{source}_enabled`, `{source}_timeout`, `{source}_wait_point`,
/// `{replica}_enabled`, status `{status}_clients`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemiSync {
    pub source: &'static str,
    pub replica: &'static str,
    pub status: &'static str,
    pub wait_no_replica: &'static str,
    /// (plugin name, library) to install; empty when built in.
    pub plugins: &'static [(&'static str, &'static str)],
}

/// Escapes a string for a single-quoted SQL literal.
pub fn quote_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The items of a comma-separated filter list, blanks dropped.
fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Quotes an identifier (database, table) with backticks.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `'user'@'host'`
pub fn account(user: &str, host: &str) -> String {
    format!("{}@{}", quote_string(user), quote_string(host))
}

/// The statements that take out a plugin a run installed: semi-sync's
/// are switched off first (others, the clone plugin, have no switch).
pub fn uninstall_plugin(plugin: &str) -> Vec<String> {
    let mut statements = Vec::new();
    if plugin.starts_with("rpl_semi_sync") {
        statements.push(format!("SET GLOBAL {plugin}_enabled = OFF"));
    }
    statements.push(format!("UNINSTALL PLUGIN {plugin}"));
    statements
}

impl Position {
    /// The position of a snapshot whose transactions are `gtids` (as read
    /// with `executed_gtids_query`).
    pub fn snapshot(flavor: Flavor, gtids: String) -> Position {
        match flavor.family {
            Family::MariaDb => Position::MariaDbGtid(gtids),
            Family::MySql => Position::MySqlGtidSet(gtids),
        }
    }

    /// The GTIDs of a snapshot position, when it has any.
    pub fn gtids(&self) -> Option<&str> {
        match self {
            Position::MariaDbGtid(gtids) | Position::MySqlGtidSet(gtids) => Some(gtids),
            Position::MySqlGtidAuto | Position::File { .. } => None,
        }
    }
}

impl Flavor {
    /// Reads a `VERSION()` string: "10.11.6-MariaDB-0+deb12u1", "8.0.36", "5.0.32-Debian_7etch1-log".
    pub fn from_version_string(text: &str) -> Option<Flavor> {
        let numeric: String = text
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = numeric.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next().flatten()?;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        // MariaDB 5.5 used version numbers that look like MySQL's.
        let family = if text.to_ascii_lowercase().contains("mariadb") {
            Family::MariaDb
        } else {
            Family::MySql
        };
        Some(Flavor {
            family,
            version: Version {
                major,
                minor,
                patch,
            },
        })
    }

    fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.version
            >= Version {
                major,
                minor,
                patch,
            }
    }

    /// MySQL 8.0.23 and later speak of source and replica.
    fn replica_words(&self) -> bool {
        self.family == Family::MySql && self.at_least(8, 0, 23)
    }

    pub fn show_replica_status(&self) -> &'static str {
        if self.family == Family::MySql && self.at_least(8, 0, 22) {
            "SHOW REPLICA STATUS"
        } else {
            "SHOW SLAVE STATUS"
        }
    }

    /// Column prefix in the replica status ("Slave" or "Replica").
    pub fn status_column(&self, suffix: &str) -> String {
        let prefix = if self.family == Family::MySql && self.at_least(8, 0, 22) {
            "Replica"
        } else {
            "Slave"
        };
        format!("{prefix}_{suffix}")
    }

    pub fn start_replica(&self) -> &'static str {
        if self.family == Family::MySql && self.at_least(8, 0, 22) {
            "START REPLICA"
        } else {
            "START SLAVE"
        }
    }

    pub fn stop_replica(&self) -> &'static str {
        if self.family == Family::MySql && self.at_least(8, 0, 22) {
            "STOP REPLICA"
        } else {
            "STOP SLAVE"
        }
    }

    pub fn show_binlog_status(&self) -> &'static str {
        if self.family == Family::MySql && self.at_least(8, 2, 0) {
            "SHOW BINARY LOG STATUS"
        } else {
            "SHOW MASTER STATUS"
        }
    }

    /// The dump program's option that records the source position.
    pub fn dump_position_option(&self) -> &'static str {
        if self.family == Family::MySql && self.at_least(8, 0, 26) {
            "--source-data=2"
        } else {
            "--master-data=2"
        }
    }

    /// Statements that point this replica at its source, the password masked
    /// in the first (for display) and real in the second (for execution).
    pub fn point_replica(&self, source: &SourceSpec<'_>) -> Vec<(String, String)> {
        let mut statements = Vec::new();
        if let Position::MariaDbGtid(gtid) = source.position {
            let sql = format!("SET GLOBAL gtid_slave_pos = {}", quote_string(gtid));
            statements.push((sql.clone(), sql));
        }
        let (verb, p) = if self.replica_words() {
            ("CHANGE REPLICATION SOURCE TO", "SOURCE")
        } else {
            ("CHANGE MASTER TO", "MASTER")
        };
        let mut options = vec![
            format!("{p}_HOST={}", quote_string(source.host)),
            format!("{p}_PORT={}", source.port),
            format!("{p}_USER={}", quote_string(source.user)),
            format!("{p}_PASSWORD=@@PASSWORD@@"),
        ];
        match source.position {
            Position::MariaDbGtid(_) => options.push("MASTER_USE_GTID=slave_pos".into()),
            Position::MySqlGtidAuto | Position::MySqlGtidSet(_) => {
                options.push(format!("{p}_AUTO_POSITION=1"))
            }
            Position::File { file, offset } => {
                options.push(format!("{p}_LOG_FILE={}", quote_string(file)));
                options.push(format!("{p}_LOG_POS={offset}"));
            }
        }
        if let Some(ca) = source.tls_ca {
            options.extend(self.tls_options(ca));
        } else if self.replica_requires_tls_by_default() && !source.source_tls {
            // Measured: an 11.8 slave of a 10.11 master without certificates
            // stopped with "SSL is required, but the server does not support it".
            options.push(format!("{p}_SSL=0"));
        }
        if self.family == Family::MySql && self.at_least(8, 0, 0) {
            // caching_sha2_password over an unencrypted link needs the key.
            options.push(format!("GET_{p}_PUBLIC_KEY=1"));
        }
        let template = format!("{verb} {}", options.join(", "));
        statements.push((
            template.replace("@@PASSWORD@@", "'********'"),
            template.replace("@@PASSWORD@@", &quote_string(source.password)),
        ));
        statements
    }

    /// The options of a replica connection over TLS that verifies the
    /// source's certificate.
    pub fn tls_options(&self, ca: &str) -> Vec<String> {
        let p = if self.replica_words() {
            "SOURCE"
        } else {
            "MASTER"
        };
        vec![
            format!("{p}_SSL=1"),
            format!("{p}_SSL_CA={}", quote_string(ca)),
            format!("{p}_SSL_VERIFY_SERVER_CERT=1"),
        ]
    }

    /// Statements that move a replica already pointed at its source onto
    /// TLS, keeping its position and login.
    pub fn replica_tls(&self, ca: &str) -> Vec<String> {
        let verb = if self.replica_words() {
            "CHANGE REPLICATION SOURCE TO"
        } else {
            "CHANGE MASTER TO"
        };
        vec![
            self.stop_replica().to_string(),
            format!("{verb} {}", self.tls_options(ca).join(", ")),
            self.start_replica().to_string(),
        ]
    }

    /// Statements that put a replica's connection back as it was: its source
    /// (only when `host` is given: the run moved it elsewhere), its login
    /// name and its TLS, keeping its position; restarted when it was running.
    pub fn restore_replica(&self, previous: &PreviousReplica<'_>) -> Vec<String> {
        let (verb, p) = if self.replica_words() {
            ("CHANGE REPLICATION SOURCE TO", "SOURCE")
        } else {
            ("CHANGE MASTER TO", "MASTER")
        };
        let mut options = Vec::new();
        if let Some((host, port)) = previous.host {
            options.push(format!("{p}_HOST={}", quote_string(host)));
            options.push(format!("{p}_PORT={port}"));
        }
        options.push(format!("{p}_USER={}", quote_string(previous.user)));
        options.push(format!("{p}_SSL={}", u8::from(previous.tls)));
        options.push(format!("{p}_SSL_CA={}", quote_string(previous.tls_ca)));
        options.push(format!(
            "{p}_SSL_VERIFY_SERVER_CERT={}",
            u8::from(previous.verify)
        ));
        let mut statements = vec![
            self.stop_replica().to_string(),
            format!("{verb} {}", options.join(", ")),
        ];
        if previous.running {
            statements.push(self.start_replica().to_string());
        }
        statements
    }

    /// 1 when the running server has TLS loaded (so it can reload its
    /// files), else 0. Not the certificate's dates in `SHOW STATUS`: MariaDB
    /// reports those only to a session that itself came over TLS. MySQL 8.4
    /// has no `have_ssl` any more; its main channel says whether TLS is on.
    pub fn serving_tls_query(&self) -> &'static str {
        match self.family {
            Family::MariaDb => "SELECT @@GLOBAL.have_ssl = 'YES'",
            Family::MySql => "SELECT COUNT(*) FROM performance_schema.tls_channel_status WHERE CHANNEL = 'mysql_main' AND PROPERTY = 'Enabled' AND VALUE = 'Yes'",
        }
    }

    /// MySQL's applier runs in workers (4 by default since 8.0.27): its
    /// replica status then only says "Coordinator stopped because there
    /// were error(s) in the worker(s)"; the failing worker's own message
    /// (the transaction's GTID and the cause) is here. MariaDB's status
    /// carries the cause itself.
    pub fn worker_error_query(&self) -> Option<&'static str> {
        match self.family {
            Family::MySql => Some(
                "SELECT LAST_ERROR_MESSAGE FROM performance_schema.replication_applier_status_by_worker WHERE LAST_ERROR_NUMBER <> 0 ORDER BY LAST_ERROR_TIMESTAMP DESC LIMIT 1",
            ),
            Family::MariaDb => None,
        }
    }

    /// The statements that skip the one transaction a stopped slave's SQL
    /// thread failed on. MariaDB skips by count (also with GTIDs); MySQL
    /// with GTIDs refuses a skip counter and needs an empty transaction
    /// under the failed one's GTID, named in its error (`failed executing
    /// transaction 'UUID:N'`): None when the error does not name it.
    pub fn skip_failed_transaction(&self, error: &str) -> Option<String> {
        match self.family {
            Family::MariaDb => Some(format!(
                "{}; SET GLOBAL sql_slave_skip_counter = 1; {};",
                self.stop_replica(),
                self.start_replica()
            )),
            Family::MySql => {
                let gtid = failed_transaction(error)?;
                Some(format!(
                    "{}; SET GTID_NEXT = {}; BEGIN; COMMIT; SET GTID_NEXT = 'AUTOMATIC'; {};",
                    self.stop_replica(),
                    quote_string(&gtid),
                    self.start_replica()
                ))
            }
        }
    }

    /// Makes a running server read its certificate files again (a renewal
    /// without a restart).
    pub fn reload_tls(&self) -> &'static str {
        match self.family {
            Family::MariaDb => "FLUSH SSL",
            Family::MySql => "ALTER INSTANCE RELOAD TLS",
        }
    }

    /// MariaDB 11.4 and later connect to their master with TLS unless told
    /// otherwise (MASTER_SSL defaults to 1).
    pub fn replica_requires_tls_by_default(&self) -> bool {
        self.family == Family::MariaDb && self.at_least(11, 4, 0)
    }

    /// One row, one column: 1 when this server accepts TLS connections.
    pub fn offers_tls_query(&self) -> &'static str {
        match self.family {
            Family::MariaDb => "SELECT @@GLOBAL.have_ssl = 'YES'",
            Family::MySql => "SELECT @@GLOBAL.tls_version <> ''",
        }
    }

    /// The longest password `CHANGE MASTER TO ... MASTER_PASSWORD` takes
    /// (MariaDB: 96 bytes; MySQL: 32 characters).
    pub fn max_replication_password_bytes(&self) -> usize {
        match self.family {
            Family::MariaDb => 96,
            Family::MySql => 32,
        }
    }

    /// Statements that give a replica pointed at its source new login
    /// credentials, keeping its position; masked form first.
    pub fn replica_credentials(&self, user: &str, password: &str) -> Vec<(String, String)> {
        let (verb, p) = if self.replica_words() {
            ("CHANGE REPLICATION SOURCE TO", "SOURCE")
        } else {
            ("CHANGE MASTER TO", "MASTER")
        };
        let stop = self.stop_replica().to_string();
        let start = self.start_replica().to_string();
        let template = format!(
            "{verb} {p}_USER={}, {p}_PASSWORD=@@PASSWORD@@",
            quote_string(user)
        );
        vec![
            (stop.clone(), stop),
            (
                template.replace("@@PASSWORD@@", "'********'"),
                template.replace("@@PASSWORD@@", &quote_string(password)),
            ),
            (start.clone(), start),
        ]
    }

    /// `RESET SLAVE ALL`: forget the source entirely.
    pub fn reset_replica_all(&self) -> &'static str {
        if self.family == Family::MySql && self.at_least(8, 0, 22) {
            "RESET REPLICA ALL"
        } else {
            "RESET SLAVE ALL"
        }
    }

    /// Bounds how long a stopping semi-sync replica waits for a dead source:
    /// MariaDB's first connects to it to end its dump thread, for up to
    /// rpl_semi_sync_slave_kill_conn_timeout (5 s by default). MySQL's does
    /// not: None.
    pub fn bound_replica_stop(&self) -> Option<&'static str> {
        (self.family == Family::MariaDb)
            .then_some("SET GLOBAL rpl_semi_sync_slave_kill_conn_timeout = 1")
    }

    pub fn stop_replica_io(&self) -> &'static str {
        if self.family == Family::MySql && self.at_least(8, 0, 22) {
            "STOP REPLICA IO_THREAD"
        } else {
            "STOP SLAVE IO_THREAD"
        }
    }

    pub fn start_replica_io(&self) -> &'static str {
        if self.family == Family::MySql && self.at_least(8, 0, 22) {
            "START REPLICA IO_THREAD"
        } else {
            "START SLAVE IO_THREAD"
        }
    }

    pub fn stop_replica_sql(&self) -> &'static str {
        if self.family == Family::MySql && self.at_least(8, 0, 22) {
            "STOP REPLICA SQL_THREAD"
        } else {
            "STOP SLAVE SQL_THREAD"
        }
    }

    /// Starts the replica so that its SQL thread stops once it applied
    /// every transaction of `gtids` (a snapshot's position).
    pub fn start_replica_until(&self, gtids: &str) -> String {
        match self.family {
            Family::MariaDb => format!(
                "START SLAVE UNTIL master_gtid_pos = {}",
                quote_string(gtids)
            ),
            Family::MySql => format!(
                "{} UNTIL SQL_AFTER_GTIDS = {}",
                self.start_replica(),
                quote_string(gtids)
            ),
        }
    }

    /// A stopped replica that has nothing to apply before a snapshot moves
    /// its position to the snapshot (`gtids`). MySQL: the snapshot's
    /// transactions it lacks join its `gtid_purged`.
    pub fn skip_to_gtids(&self, gtids: &str) -> String {
        match self.family {
            Family::MariaDb => format!("SET GLOBAL gtid_slave_pos = {}", quote_string(gtids)),
            Family::MySql => format!(
                "SET GLOBAL gtid_purged = CONCAT('+', GTID_SUBTRACT({}, @@GLOBAL.gtid_executed))",
                quote_string(gtids)
            ),
        }
    }

    /// With the SQL thread stopped: the running replica's global filters
    /// become `replicate_wild_do_table` = `wild` (comma-separated `DB.%`
    /// patterns) with no `replicate_do_db` list.
    pub fn set_replica_filters(&self, wild: &str) -> Vec<String> {
        match self.family {
            Family::MariaDb => vec![
                "SET GLOBAL replicate_do_db = ''".to_string(),
                format!(
                    "SET GLOBAL replicate_wild_do_table = {}",
                    quote_string(wild)
                ),
            ],
            Family::MySql => vec![format!(
                "CHANGE REPLICATION FILTER REPLICATE_DO_DB = (), REPLICATE_WILD_DO_TABLE = ({})",
                split_list(wild)
                    .map(quote_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
        }
    }

    /// With the SQL thread stopped: the filters of `set_replica_filters`,
    /// `replicate_do_db` included (rollback puts an older run's list back).
    pub fn restore_replica_filters(&self, do_db: &str, wild: Option<&str>) -> Vec<String> {
        match self.family {
            Family::MariaDb => {
                let mut statements = vec![format!(
                    "SET GLOBAL replicate_do_db = {}",
                    quote_string(do_db)
                )];
                if let Some(wild) = wild {
                    statements.push(format!(
                        "SET GLOBAL replicate_wild_do_table = {}",
                        quote_string(wild)
                    ));
                }
                statements
            }
            Family::MySql => {
                let mut parts = vec![format!(
                    "REPLICATE_DO_DB = ({})",
                    split_list(do_db)
                        .map(quote_ident)
                        .collect::<Vec<_>>()
                        .join(", ")
                )];
                if let Some(wild) = wild {
                    parts.push(format!(
                        "REPLICATE_WILD_DO_TABLE = ({})",
                        split_list(wild)
                            .map(quote_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                vec![format!("CHANGE REPLICATION FILTER {}", parts.join(", "))]
            }
        }
    }

    /// With the SQL thread stopped: the replica skips these tables
    /// (`db.table`, comma-separated as MariaDB's variable lists them).
    pub fn set_ignore_tables(&self, list: &str) -> String {
        match self.family {
            Family::MariaDb => {
                format!("SET GLOBAL replicate_ignore_table = {}", quote_string(list))
            }
            Family::MySql => format!(
                "CHANGE REPLICATION FILTER REPLICATE_IGNORE_TABLE = ({})",
                split_list(list)
                    .map(|name| match name.split_once('.') {
                        Some((db, table)) => format!("{}.{}", quote_ident(db), quote_ident(table)),
                        None => quote_ident(name),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// A replica status column by its MariaDB name (`Master_Log_File`,
    /// `Slave_IO_Running`, `Seconds_Behind_Master`, ...): MySQL 8.0.22+
    /// names the same columns after source and replica.
    pub fn replica_column(&self, mariadb_name: &str) -> String {
        if !(self.family == Family::MySql && self.at_least(8, 0, 22)) {
            return mariadb_name.to_string();
        }
        mariadb_name
            .replace("Slave", "Replica")
            .replace("Master", "Source")
    }

    /// One row, one column: the transactions this server has in its binary
    /// log (MariaDB: the GTID position list; MySQL: the GTID set).
    pub fn executed_gtids_query(&self) -> &'static str {
        match self.family {
            Family::MariaDb => "SELECT @@GLOBAL.gtid_binlog_pos",
            Family::MySql => "SELECT @@GLOBAL.gtid_executed",
        }
    }

    /// A query that waits up to `seconds` until this server applied `gtids`,
    /// and the value it returns when it did.
    pub fn wait_for_gtids(&self, gtids: &str, seconds: f64) -> (String, &'static str) {
        match self.family {
            Family::MariaDb => (
                format!(
                    "SELECT MASTER_GTID_WAIT({}, {seconds})",
                    quote_string(gtids)
                ),
                "0",
            ),
            Family::MySql => (
                format!(
                    "SELECT WAIT_FOR_EXECUTED_GTID_SET({}, {seconds})",
                    quote_string(gtids)
                ),
                "0",
            ),
        }
    }

    /// Statements that give a freshly seeded MySQL replica the source's
    /// history up to the snapshot (`gtids`), so auto-positioning asks for
    /// what follows. Empty for MariaDB (its position goes into CHANGE MASTER).
    pub fn adopt_snapshot_gtids(&self, gtids: &str) -> Vec<String> {
        if self.family != Family::MySql {
            return Vec::new();
        }
        let reset = if self.at_least(8, 4, 0) {
            "RESET BINARY LOGS AND GTIDS"
        } else {
            "RESET MASTER"
        };
        let mut statements = vec![reset.to_string()];
        if !gtids.trim().is_empty() {
            statements.push(format!("SET GLOBAL gtid_purged = {}", quote_string(gtids)));
        }
        statements
    }

    /// Makes the server read-only (`on`) or writable. MySQL: super_read_only
    /// also stops accounts with SUPER (it implies read_only), and turning
    /// read_only off turns it off too.
    pub fn set_read_only(&self, on: bool) -> String {
        let value = if on { "ON" } else { "OFF" };
        if on && self.read_only_variables().contains(&"super_read_only") {
            format!("SET GLOBAL super_read_only = {value}")
        } else {
            format!("SET GLOBAL read_only = {value}")
        }
    }

    /// Where global status variables are queried from.
    pub fn global_status_table(&self) -> &'static str {
        match self.family {
            Family::MariaDb => "information_schema.GLOBAL_STATUS",
            Family::MySql => "performance_schema.global_status",
        }
    }

    /// Semi-synchronous replication's names on this server.
    pub fn semi_sync(&self) -> SemiSync {
        if self.family == Family::MySql && self.at_least(8, 0, 26) {
            SemiSync {
                source: "rpl_semi_sync_source",
                replica: "rpl_semi_sync_replica",
                status: "Rpl_semi_sync_source",
                wait_no_replica: "rpl_semi_sync_source_wait_no_replica",
                plugins: &[
                    ("rpl_semi_sync_source", "semisync_source.so"),
                    ("rpl_semi_sync_replica", "semisync_replica.so"),
                ],
            }
        } else if self.family == Family::MySql {
            SemiSync {
                source: "rpl_semi_sync_master",
                replica: "rpl_semi_sync_slave",
                status: "Rpl_semi_sync_master",
                wait_no_replica: "rpl_semi_sync_master_wait_no_slave",
                plugins: &[
                    ("rpl_semi_sync_master", "semisync_master.so"),
                    ("rpl_semi_sync_slave", "semisync_slave.so"),
                ],
            }
        } else {
            // Built into MariaDB since 10.3.
            SemiSync {
                source: "rpl_semi_sync_master",
                replica: "rpl_semi_sync_slave",
                status: "Rpl_semi_sync_master",
                wait_no_replica: "rpl_semi_sync_master_wait_no_slave",
                plugins: &[],
            }
        }
    }

    /// Statements that (re)create `who` with this password, masked form
    /// first. MySQL has no CREATE OR REPLACE USER.
    /// `require`: an account option such as " REQUIRE SSL" (or empty).
    pub fn replace_user(&self, who: &str, password: &str, require: &str) -> Vec<(String, String)> {
        let create = match self.family {
            Family::MariaDb => "CREATE OR REPLACE USER",
            Family::MySql => "CREATE USER",
        };
        let mut statements = Vec::new();
        if self.family == Family::MySql {
            let drop = format!("DROP USER IF EXISTS {who}");
            statements.push((drop.clone(), drop));
        }
        statements.push((
            format!("{create} {who} IDENTIFIED BY '********'{require}"),
            format!(
                "{create} {who} IDENTIFIED BY {}{require}",
                quote_string(password)
            ),
        ));
        statements
    }

    /// One row, one column: a global replication filter as a comma-separated
    /// list, by its MariaDB variable (`replicate_do_db`,
    /// `replicate_wild_do_table`). MySQL shows its filters in a table.
    pub fn replication_filter_query(&self, variable: &str) -> String {
        match self.family {
            Family::MariaDb => format!("SELECT @@GLOBAL.{variable}"),
            Family::MySql => format!(
                "SELECT COALESCE((SELECT FILTER_RULE FROM performance_schema.replication_applier_global_filters \
                 WHERE FILTER_NAME = {}), '')",
                quote_string(&variable.to_ascii_uppercase())
            ),
        }
    }

    /// Whether the server can take or give a physical copy with the clone
    /// plugin (Oracle MySQL 8.0.17 and later; MariaDB has none).
    pub fn has_clone_plugin(&self) -> bool {
        self.family == Family::MySql && self.at_least(8, 0, 17)
    }

    /// Installs the clone plugin (rollback's `undo_for` uninstalls it).
    pub fn install_clone_plugin(&self) -> &'static str {
        "INSTALL PLUGIN clone SONAME 'mysql_clone.so'"
    }

    /// One row, one column: "1" when the clone plugin is installed and active.
    pub fn clone_plugin_active_query(&self) -> &'static str {
        "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'clone' AND PLUGIN_STATUS = 'ACTIVE'"
    }

    /// On the recipient: the only donor it may clone from.
    pub fn clone_donor_list(&self, host: &str, port: u16) -> String {
        format!(
            "SET GLOBAL clone_valid_donor_list = {}",
            quote_string(&format!("{host}:{port}"))
        )
    }

    /// On the recipient: the CA its clone connections verify the donor's
    /// certificate with (without it, `REQUIRE SSL` encrypts but trusts any
    /// certificate).
    pub fn clone_tls_ca(&self, ca: &str) -> String {
        format!("SET GLOBAL clone_ssl_ca = {}", quote_string(ca))
    }

    /// On the recipient: replace its whole instance with the donor's, over
    /// TLS when `tls`. Masked form first.
    pub fn clone_instance(
        &self,
        user: &str,
        host: &str,
        port: u16,
        password: &str,
        tls: bool,
    ) -> (String, String) {
        let require = if tls {
            " REQUIRE SSL"
        } else {
            " REQUIRE NO SSL"
        };
        let from = format!("CLONE INSTANCE FROM {}:{port}", account(user, host));
        (
            format!("{from} IDENTIFIED BY '********'{require}"),
            format!("{from} IDENTIFIED BY {}{require}", quote_string(password)),
        )
    }

    /// One row: the last clone's state ("Completed", "Failed", ...), its
    /// error number and message, and the donor's binary log position.
    pub fn clone_status_query(&self) -> &'static str {
        "SELECT STATE, ERROR_NO, ERROR_MESSAGE, BINLOG_FILE, BINLOG_POSITION FROM performance_schema.clone_status"
    }

    /// One row, one column: the bytes the clone under way moved so far (0
    /// while none runs: the table keeps the last one's).
    pub fn clone_running_bytes_query(&self) -> &'static str {
        "SELECT COALESCE(SUM(DATA), 0) FROM performance_schema.clone_progress \
         WHERE (SELECT STATE FROM performance_schema.clone_status) = 'In Progress'"
    }

    /// One row, one column: the bytes the last clone moved.
    pub fn clone_bytes_query(&self) -> &'static str {
        "SELECT COALESCE(SUM(DATA), 0) FROM performance_schema.clone_progress"
    }

    /// Read-only settings for a replica (super_read_only where it exists).
    pub fn read_only_variables(&self) -> &'static [&'static str] {
        if self.family == Family::MySql && self.at_least(5, 7, 8) {
            &["read_only", "super_read_only"]
        } else {
            &["read_only"]
        }
    }
}

/// The GTID a MySQL applier error names: `failed executing transaction
/// 'UUID:N'` (not 'ANONYMOUS', which no GTID can skip).
pub fn failed_transaction(error: &str) -> Option<String> {
    let (_, rest) = error.split_once("failed executing transaction '")?;
    let (gtid, _) = rest.split_once('\'')?;
    // UUID:N, or UUID:TAG:N (MySQL 8.3 and later).
    let (head, number) = gtid.rsplit_once(':')?;
    let uuid = head.split(':').next()?;
    let valid = uuid.len() == 36
        && uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit());
    valid.then(|| gtid.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn flavor(text: &str) -> Flavor {
        Flavor::from_version_string(text).unwrap()
    }

    #[test]
    fn running_replica_filters_in_each_dialect() {
        let maria = flavor("10.11.6-MariaDB");
        let mysql = flavor("9.7.4");
        assert_eq!(
            maria.set_replica_filters("shop.%,web-stats.%"),
            vec![
                "SET GLOBAL replicate_do_db = ''",
                "SET GLOBAL replicate_wild_do_table = 'shop.%,web-stats.%'"
            ]
        );
        assert_eq!(
            mysql.set_replica_filters("shop.%,web-stats.%"),
            vec!["CHANGE REPLICATION FILTER REPLICATE_DO_DB = (), REPLICATE_WILD_DO_TABLE = ('shop.%', 'web-stats.%')"]
        );
        assert_eq!(
            mysql.set_ignore_tables("shop.orders,web-stats.hits"),
            "CHANGE REPLICATION FILTER REPLICATE_IGNORE_TABLE = (`shop`.`orders`, `web-stats`.`hits`)"
        );
        assert_eq!(
            mysql.set_ignore_tables(""),
            "CHANGE REPLICATION FILTER REPLICATE_IGNORE_TABLE = ()"
        );
        assert_eq!(
            mysql.restore_replica_filters("", Some("shop.%")),
            vec!["CHANGE REPLICATION FILTER REPLICATE_DO_DB = (), REPLICATE_WILD_DO_TABLE = ('shop.%')"]
        );
        assert_eq!(
            mysql.start_replica_until("u:1-5"),
            "START REPLICA UNTIL SQL_AFTER_GTIDS = 'u:1-5'"
        );
        assert_eq!(
            maria.start_replica_until("0-1-5"),
            "START SLAVE UNTIL master_gtid_pos = '0-1-5'"
        );
        assert_eq!(mysql.stop_replica_sql(), "STOP REPLICA SQL_THREAD");
        assert!(mysql
            .skip_to_gtids("u:1-5")
            .starts_with("SET GLOBAL gtid_purged = CONCAT('+'"));
    }

    #[test]
    fn clone_statements_mask_the_password_and_say_tls() {
        assert!(flavor("8.0.17").has_clone_plugin());
        assert!(flavor("9.7.4-2").has_clone_plugin());
        assert!(!flavor("8.0.16").has_clone_plugin());
        assert!(!flavor("10.11.6-MariaDB-0+deb12u1").has_clone_plugin());
        let (shown, real) =
            flavor("8.4.0").clone_instance("clone", "192.0.2.11", 3306, "p'w", true);
        assert_eq!(
            shown,
            "CLONE INSTANCE FROM 'clone'@'192.0.2.11':3306 IDENTIFIED BY '********' REQUIRE SSL"
        );
        assert_eq!(
            real,
            "CLONE INSTANCE FROM 'clone'@'192.0.2.11':3306 IDENTIFIED BY 'p''w' REQUIRE SSL"
        );
        let (shown, _) = flavor("8.4.0").clone_instance("clone", "192.0.2.11", 3306, "x", false);
        assert!(shown.ends_with("REQUIRE NO SSL"), "{shown}");
        assert_eq!(
            flavor("8.4.0").clone_donor_list("192.0.2.11", 3306),
            "SET GLOBAL clone_valid_donor_list = '192.0.2.11:3306'"
        );
    }

    fn spec(position: &Position) -> SourceSpec<'_> {
        SourceSpec {
            host: "192.0.2.11",
            port: 3306,
            user: "repl",
            password: "s3cret'pw",
            position,
            tls_ca: None,
            source_tls: false,
        }
    }

    #[test]
    fn tls_verifies_the_source_in_both_dialects() {
        let position = Position::MariaDbGtid("0-1-5".into());
        let with_tls = SourceSpec {
            tls_ca: Some("/etc/ssl/mysql-ha/ca.pem"),
            ..spec(&position)
        };
        let (_, real) = flavor("10.11.6-MariaDB")
            .point_replica(&with_tls)
            .pop()
            .unwrap();
        assert!(real.contains(
            "MASTER_SSL=1, MASTER_SSL_CA='/etc/ssl/mysql-ha/ca.pem', MASTER_SSL_VERIFY_SERVER_CERT=1"
        ));
        let moved = flavor("8.4.2").replica_tls("/etc/ssl/mysql-ha/ca.pem");
        assert_eq!(moved[0], "STOP REPLICA");
        assert!(moved[1].starts_with("CHANGE REPLICATION SOURCE TO SOURCE_SSL=1"));
        assert!(moved[1].ends_with("SOURCE_SSL_VERIFY_SERVER_CERT=1"));
        assert_eq!(moved[2], "START REPLICA");
        assert_eq!(flavor("10.11.6-MariaDB").reload_tls(), "FLUSH SSL");
        assert!(flavor("10.11.6-MariaDB").bound_replica_stop().is_some());
        assert!(flavor("8.4.2").bound_replica_stop().is_none());
        assert_eq!(flavor("8.0.36").reload_tls(), "ALTER INSTANCE RELOAD TLS");
    }

    #[test]
    fn parses_versions_of_every_family() {
        let maria = flavor("10.11.6-MariaDB-0+deb12u1");
        assert_eq!(maria.family, Family::MariaDb);
        assert_eq!(maria.version.to_string(), "10.11.6");
        assert_eq!(flavor("8.0.36").family, Family::MySql);
        assert_eq!(flavor("5.0.32-Debian_7etch1-log").version.minor, 0);
        assert!(Flavor::from_version_string("garbage").is_none());
    }

    #[test]
    fn mariadb_uses_master_words_and_gtid() {
        let position = Position::MariaDbGtid("0-1-42".into());
        let statements = flavor("10.11.6-MariaDB").point_replica(&spec(&position));
        assert_eq!(statements[0].1, "SET GLOBAL gtid_slave_pos = '0-1-42'");
        let (shown, real) = &statements[1];
        assert!(real.starts_with("CHANGE MASTER TO MASTER_HOST='192.0.2.11'"));
        assert!(real.contains("MASTER_USE_GTID=slave_pos"));
        assert!(real.contains("MASTER_PASSWORD='s3cret''pw'"));
        assert!(!shown.contains("s3cret"));
        assert_eq!(flavor("10.11.6-MariaDB").start_replica(), "START SLAVE");
        assert_eq!(
            flavor("10.11.6-MariaDB").show_binlog_status(),
            "SHOW MASTER STATUS"
        );
        assert_eq!(
            flavor("10.11.6-MariaDB").status_column("IO_Running"),
            "Slave_IO_Running"
        );
    }

    #[test]
    fn a_mariadb_11_4_slave_is_told_its_master_has_no_tls() {
        let position = Position::MariaDbGtid("0-1-42".into());
        let (_, real) = &flavor("11.8.9-MariaDB-0+deb13u1").point_replica(&spec(&position))[1];
        assert!(real.contains(", MASTER_SSL=0"), "{real}");
        let mut with_tls = spec(&position);
        with_tls.source_tls = true;
        let (_, real) = &flavor("11.8.9-MariaDB").point_replica(&with_tls)[1];
        assert!(!real.contains("MASTER_SSL"), "{real}");
        let (_, real) = &flavor("10.11.6-MariaDB").point_replica(&spec(&position))[1];
        assert!(!real.contains("MASTER_SSL"), "{real}");
    }

    #[test]
    fn mysql_5_0_uses_file_positions() {
        let position = Position::File {
            file: "mysql-bin.000003".into(),
            offset: 98,
        };
        let old = flavor("5.0.32-Debian_7etch1-log");
        let (_, real) = &old.point_replica(&spec(&position))[0];
        assert!(real.contains("MASTER_LOG_FILE='mysql-bin.000003', MASTER_LOG_POS=98"));
        assert!(!real.contains("PUBLIC_KEY"));
        assert_eq!(old.show_replica_status(), "SHOW SLAVE STATUS");
        assert_eq!(old.dump_position_option(), "--master-data=2");
        assert_eq!(old.read_only_variables(), &["read_only"]);
    }

    #[test]
    fn mysql_8_0_and_8_4_use_source_words() {
        let position = Position::MySqlGtidAuto;
        for version in ["8.0.36", "8.4.0"] {
            let mysql = flavor(version);
            let (_, real) = &mysql.point_replica(&spec(&position))[0];
            assert!(
                real.starts_with("CHANGE REPLICATION SOURCE TO SOURCE_HOST="),
                "{real}"
            );
            assert!(real.contains("SOURCE_AUTO_POSITION=1"));
            assert!(real.contains("GET_SOURCE_PUBLIC_KEY=1"));
            assert_eq!(mysql.start_replica(), "START REPLICA");
            assert_eq!(mysql.show_replica_status(), "SHOW REPLICA STATUS");
            assert_eq!(mysql.status_column("SQL_Running"), "Replica_SQL_Running");
            assert_eq!(mysql.dump_position_option(), "--source-data=2");
            assert_eq!(
                mysql.read_only_variables(),
                &["read_only", "super_read_only"]
            );
        }
        assert_eq!(flavor("8.0.36").show_binlog_status(), "SHOW MASTER STATUS");
        assert_eq!(
            flavor("8.4.0").show_binlog_status(),
            "SHOW BINARY LOG STATUS"
        );
        // 8.0.22 has REPLICA statements but not yet the SOURCE options.
        let (_, real) = &flavor("8.0.22").point_replica(&spec(&position))[0];
        assert!(real.starts_with("CHANGE MASTER TO"));
    }

    #[test]
    fn a_failed_transaction_is_skipped_the_way_each_server_allows() {
        let maria = flavor("10.11.6-MariaDB");
        assert_eq!(
            maria
                .skip_failed_transaction("Error 'Unknown database 'hr'' on query.")
                .as_deref(),
            Some("STOP SLAVE; SET GLOBAL sql_slave_skip_counter = 1; START SLAVE;")
        );
        let mysql = flavor("9.7.4-2");
        let error = "Worker 1 failed executing transaction '3e11fa47-71ca-11e1-9e33-c80aa9429562:23' at source log binlog.000002, end_log_pos 1234; Error 'Unknown database 'hr'' on query. Default database: ''. Query: 'CREATE PROCEDURE hr.p() SELECT 1'";
        assert_eq!(
            mysql.skip_failed_transaction(error).as_deref(),
            Some("STOP REPLICA; SET GTID_NEXT = '3e11fa47-71ca-11e1-9e33-c80aa9429562:23'; BEGIN; COMMIT; SET GTID_NEXT = 'AUTOMATIC'; START REPLICA;")
        );
        assert_eq!(
            failed_transaction(
                "failed executing transaction '3e11fa47-71ca-11e1-9e33-c80aa9429562:nightly:7' at"
            )
            .as_deref(),
            Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:nightly:7")
        );
        assert_eq!(
            mysql.skip_failed_transaction("failed executing transaction 'ANONYMOUS' at"),
            None
        );
        assert_eq!(mysql.skip_failed_transaction("Coordinator stopped"), None);
        assert!(mysql.worker_error_query().is_some());
        assert!(maria.worker_error_query().is_none());
    }

    #[test]
    fn mysql_9_names_for_status_gtids_read_only_and_semi_sync() {
        let mysql = flavor("9.7.4-2");
        assert!(mysql
            .serving_tls_query()
            .contains("performance_schema.tls_channel_status"));
        assert!(!mysql.serving_tls_query().contains("have_ssl"));
        assert!(flavor("10.11.6-MariaDB")
            .serving_tls_query()
            .contains("have_ssl"));
        assert_eq!(mysql.reset_replica_all(), "RESET REPLICA ALL");
        assert_eq!(mysql.stop_replica_io(), "STOP REPLICA IO_THREAD");
        assert_eq!(
            mysql.replica_column("Slave_IO_Running"),
            "Replica_IO_Running"
        );
        assert_eq!(
            mysql.replica_column("Exec_Master_Log_Pos"),
            "Exec_Source_Log_Pos"
        );
        assert_eq!(
            mysql.replica_column("Seconds_Behind_Master"),
            "Seconds_Behind_Source"
        );
        assert_eq!(
            mysql.executed_gtids_query(),
            "SELECT @@GLOBAL.gtid_executed"
        );
        assert_eq!(
            mysql.wait_for_gtids("u:1-5", 3.0).0,
            "SELECT WAIT_FOR_EXECUTED_GTID_SET('u:1-5', 3)"
        );
        assert_eq!(
            mysql.adopt_snapshot_gtids("u:1-5"),
            vec![
                "RESET BINARY LOGS AND GTIDS",
                "SET GLOBAL gtid_purged = 'u:1-5'"
            ]
        );
        assert_eq!(flavor("8.0.36").adopt_snapshot_gtids("")[0], "RESET MASTER");
        assert_eq!(mysql.set_read_only(true), "SET GLOBAL super_read_only = ON");
        assert_eq!(mysql.set_read_only(false), "SET GLOBAL read_only = OFF");
        assert_eq!(mysql.semi_sync().source, "rpl_semi_sync_source");
        assert_eq!(mysql.semi_sync().plugins[1].1, "semisync_replica.so");
        assert_eq!(
            mysql.global_status_table(),
            "performance_schema.global_status"
        );
        assert!(mysql
            .replication_filter_query("replicate_wild_do_table")
            .contains("WHERE FILTER_NAME = 'REPLICATE_WILD_DO_TABLE'"));
        let replaced = mysql.replace_user("'m'@'h'", "pw", "");
        assert_eq!(replaced[0].1, "DROP USER IF EXISTS 'm'@'h'");
        assert_eq!(replaced[1].1, "CREATE USER 'm'@'h' IDENTIFIED BY 'pw'");
        assert_eq!(
            replaced[1].0,
            "CREATE USER 'm'@'h' IDENTIFIED BY '********'"
        );

        let maria = flavor("10.11.6-MariaDB");
        assert_eq!(maria.reset_replica_all(), "RESET SLAVE ALL");
        assert_eq!(
            maria.replica_column("Exec_Master_Log_Pos"),
            "Exec_Master_Log_Pos"
        );
        assert!(maria.adopt_snapshot_gtids("0-1-5").is_empty());
        assert_eq!(maria.set_read_only(true), "SET GLOBAL read_only = ON");
        assert_eq!(maria.semi_sync().source, "rpl_semi_sync_master");
        assert!(maria.semi_sync().plugins.is_empty());
        assert_eq!(
            maria.wait_for_gtids("0-1-5", 3.0).0,
            "SELECT MASTER_GTID_WAIT('0-1-5', 3)"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("web-stats"), "`web-stats`");
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_string("it's"), "'it''s'");
        assert_eq!(account("repl", "192.0.2.12"), "'repl'@'192.0.2.12'");
    }
}
