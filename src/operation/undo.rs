//! How a statement is undone, decided where it is planned (its rule) and
//! made concrete just before it runs (from what the server holds then), so
//! that rollback reads typed undo statements from the journal instead of
//! guessing them from SQL text. An account a re-run replaces comes back as
//! it was, not dropped; a replica moved onto TLS goes back to its old
//! connection, not forgotten.

use crate::backup::{SqlUndo, UndoStatement};
use crate::operation::server_state::{self, ReplicaState};
use crate::sql::flavor::{account, quote_string, Family, Flavor, PreviousReplica};
use crate::sql::SqlConn;
use crate::Result;

/// What undoes a planned statement, before the server's state is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoRule {
    /// Session settings, starting or stopping replication, reloads, and
    /// runtime settings that the restored option files take back.
    Nothing,
    /// Not undone; rollback lists it (data copied or dropped, a role
    /// handed over).
    Kept,
    /// Creates, changes or grants to this account: put back as it was,
    /// dropped when it did not exist.
    Account { user: String, host: String },
    /// Installs this plugin: uninstalled when it was not there before.
    Plugin(String),
    /// Changes the replica's connection: back to the one it had (source,
    /// login name, TLS), or none. `target`: the source the statement points
    /// it at, when it points it at one.
    Source { target: Option<(String, u16)> },
    /// Changes the replica's filters (add-db): back to the lists it had,
    /// between a stop and a start of replication.
    Filters,
}

/// The concrete undo of a statement with `rule`, read from the server just
/// before the statement runs.
pub fn capture(conn: &mut SqlConn, rule: &UndoRule) -> Result<SqlUndo> {
    let flavor = conn.flavor();
    Ok(match rule {
        UndoRule::Nothing => SqlUndo::Nothing,
        UndoRule::Kept => SqlUndo::Kept,
        UndoRule::Plugin(name) => {
            let present = conn.scalar(&format!(
                "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = {}",
                quote_string(name)
            ))?;
            if present.as_deref() == Some("0") {
                SqlUndo::Uninstall {
                    plugin: name.clone(),
                }
            } else {
                SqlUndo::Nothing
            }
        }
        UndoRule::Account { user, host } => {
            let existing = existing_account(conn, flavor, user, host)?;
            let who = account(user, host);
            SqlUndo::Run {
                statements: account_undo(&who, existing.as_ref()),
                restores: Some(format!("account {who}")),
            }
        }
        UndoRule::Filters => {
            let (do_db, wild) = server_state::filter_lists(conn)?;
            SqlUndo::Run {
                statements: filters_undo(flavor, &do_db, &wild),
                restores: Some("the replica's filters".into()),
            }
        }
        UndoRule::Source { target } => {
            let previous = server_state::replica_state(conn)?;
            SqlUndo::Run {
                statements: source_undo(flavor, previous.as_ref(), target.as_ref()),
                restores: Some("the replica's connection".into()),
            }
        }
    })
}

/// An account as the server would create it again: `SHOW CREATE USER`
/// (with its password hash) and its `SHOW GRANTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingAccount {
    pub create: String,
    pub grants: Vec<String>,
}

fn existing_account(
    conn: &mut SqlConn,
    flavor: Flavor,
    user: &str,
    host: &str,
) -> Result<Option<ExistingAccount>> {
    let count = conn.scalar(&format!(
        "SELECT COUNT(*) FROM mysql.user WHERE User = {} AND Host = {}",
        quote_string(user),
        quote_string(host)
    ))?;
    if count.as_deref() == Some("0") {
        return Ok(None);
    }
    let who = account(user, host);
    if flavor.family == Family::MySql {
        // A caching_sha2 hash holds bytes no statement text can: as hex.
        conn.exec("SET SESSION print_identified_with_as_hex = ON")?;
    }
    let create = conn.scalar(&format!("SHOW CREATE USER {who}"))?;
    let grants = conn.column(&format!("SHOW GRANTS FOR {who}"))?;
    Ok(create.map(|create| ExistingAccount { create, grants }))
}

/// Drops the account, then creates it again as it was (when it was),
/// kept out of the binary log like every account statement of a run.
pub fn account_undo(who: &str, existing: Option<&ExistingAccount>) -> Vec<UndoStatement> {
    let mut statements = vec![
        UndoStatement::plain("SET SESSION sql_log_bin = 0"),
        UndoStatement::plain(format!("DROP USER IF EXISTS {who}")),
    ];
    if let Some(existing) = existing {
        statements.push(UndoStatement {
            shown: mask_password_hash(&existing.create),
            real: existing.create.clone(),
        });
        for grant in &existing.grants {
            statements.push(UndoStatement {
                shown: mask_password_hash(grant),
                real: grant.clone(),
            });
        }
    }
    statements.push(UndoStatement::plain("SET SESSION sql_log_bin = 1"));
    statements
}

/// The replica's filters as they were: `replicate_do_db` (older runs' list)
/// and the wild patterns, set with replication stopped, then started.
pub fn filters_undo(flavor: Flavor, do_db: &str, wild: &str) -> Vec<UndoStatement> {
    let mut statements = vec![flavor.stop_replica().to_string()];
    statements.extend(flavor.restore_replica_filters(do_db, Some(wild)));
    statements.push(flavor.start_replica().to_string());
    statements.into_iter().map(UndoStatement::plain).collect()
}

/// The replica's connection as it was: none (forgotten again), or its old
/// source, login name and TLS.
pub fn source_undo(
    flavor: Flavor,
    previous: Option<&ReplicaState>,
    target: Option<&(String, u16)>,
) -> Vec<UndoStatement> {
    let Some(previous) = previous else {
        return [flavor.stop_replica(), flavor.reset_replica_all()]
            .into_iter()
            .map(UndoStatement::plain)
            .collect();
    };
    let port: u16 = previous.master_port.parse().unwrap_or(3306);
    let moved = target.is_some_and(|(host, to)| *host != previous.master_host || *to != port);
    flavor
        .restore_replica(&PreviousReplica {
            host: moved.then_some((previous.master_host.as_str(), port)),
            user: &previous.master_user,
            tls: previous.ssl_allowed == "Yes",
            tls_ca: &previous.ssl_ca_file,
            verify: previous.ssl_verify == "Yes",
            running: previous.running(),
        })
        .into_iter()
        .map(UndoStatement::plain)
        .collect()
}

/// The statement with its password hash (`PASSWORD '...'`, `USING '...'`,
/// `AS '...'`, `AS 0x...`) replaced by asterisks, for plans and logs.
pub fn mask_password_hash(statement: &str) -> String {
    let mut out = String::with_capacity(statement.len());
    let mut rest = statement;
    loop {
        let next = [" PASSWORD '", " USING '", " AS '", " AS 0x"]
            .iter()
            .filter_map(|marker| rest.find(marker).map(|at| (at, *marker)))
            .min_by_key(|(at, _)| *at);
        let Some((at, marker)) = next else {
            out.push_str(rest);
            return out;
        };
        let value_start = at + marker.len();
        out.push_str(&rest[..value_start]);
        let value = &rest[value_start..];
        let end = if marker.ends_with('\'') {
            closing_quote(value).map(|i| i + 1)
        } else {
            Some(
                value
                    .find(|c: char| !c.is_ascii_hexdigit())
                    .unwrap_or(value.len()),
            )
        };
        out.push_str("********");
        match end {
            Some(end) if marker.ends_with('\'') => {
                out.push('\'');
                rest = &value[end..];
            }
            Some(end) => rest = &value[end..],
            None => return out,
        }
    }
}

/// Where a single-quoted value ends (its closing quote's index), with
/// doubled quotes and backslash escapes inside it.
fn closing_quote(value: &str) -> Option<usize> {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn flavor(text: &str) -> Flavor {
        Flavor::from_version_string(text).unwrap()
    }

    fn shown(statements: &[UndoStatement]) -> Vec<&str> {
        statements.iter().map(|s| s.shown.as_str()).collect()
    }

    #[test]
    fn an_account_that_existed_comes_back_with_its_hash_and_grants() {
        let existing = ExistingAccount {
            create: "CREATE USER `mysqlha_mon`@`192.0.2.12` IDENTIFIED BY PASSWORD '*ABCDEF0123' REQUIRE SSL".into(),
            grants: vec![
                "GRANT USAGE ON *.* TO `mysqlha_mon`@`192.0.2.12` IDENTIFIED BY PASSWORD '*ABCDEF0123' REQUIRE SSL".into(),
                "GRANT SELECT, INSERT, UPDATE ON `mysql_ha`.* TO `mysqlha_mon`@`192.0.2.12`".into(),
            ],
        };
        let undo = account_undo("'mysqlha_mon'@'192.0.2.12'", Some(&existing));
        assert_eq!(
            shown(&undo),
            [
                "SET SESSION sql_log_bin = 0",
                "DROP USER IF EXISTS 'mysqlha_mon'@'192.0.2.12'",
                "CREATE USER `mysqlha_mon`@`192.0.2.12` IDENTIFIED BY PASSWORD '********' REQUIRE SSL",
                "GRANT USAGE ON *.* TO `mysqlha_mon`@`192.0.2.12` IDENTIFIED BY PASSWORD '********' REQUIRE SSL",
                "GRANT SELECT, INSERT, UPDATE ON `mysql_ha`.* TO `mysqlha_mon`@`192.0.2.12`",
                "SET SESSION sql_log_bin = 1",
            ]
        );
        assert_eq!(undo[2].real, existing.create);
    }

    #[test]
    fn an_account_the_run_created_is_dropped() {
        let undo = account_undo("'repl'@'192.0.2.12'", None);
        assert_eq!(
            shown(&undo),
            [
                "SET SESSION sql_log_bin = 0",
                "DROP USER IF EXISTS 'repl'@'192.0.2.12'",
                "SET SESSION sql_log_bin = 1",
            ]
        );
    }

    #[test]
    fn hashes_are_masked_in_every_spelling() {
        assert_eq!(
            mask_password_hash("CREATE USER `a`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x2441243030352 REQUIRE NONE"),
            "CREATE USER `a`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x******** REQUIRE NONE"
        );
        assert_eq!(
            mask_password_hash("CREATE USER `a`@`%` IDENTIFIED VIA mysql_native_password USING '*AB' OR unix_socket"),
            "CREATE USER `a`@`%` IDENTIFIED VIA mysql_native_password USING '********' OR unix_socket"
        );
        assert_eq!(
            mask_password_hash(
                "ALTER USER x IDENTIFIED WITH 'x' AS '$A$005$it''s' PASSWORD EXPIRE"
            ),
            "ALTER USER x IDENTIFIED WITH 'x' AS '********' PASSWORD EXPIRE"
        );
        assert_eq!(
            mask_password_hash("CREATE USER `m`@`localhost` IDENTIFIED VIA unix_socket"),
            "CREATE USER `m`@`localhost` IDENTIFIED VIA unix_socket"
        );
    }

    fn replica(host: &str, ssl: &str, ca: &str, verify: &str) -> ReplicaState {
        ReplicaState {
            master_host: host.into(),
            master_port: "3306".into(),
            master_user: "repl".into(),
            io_running: "Yes".into(),
            sql_running: "Yes".into(),
            ssl_allowed: ssl.into(),
            ssl_ca_file: ca.into(),
            ssl_verify: verify.into(),
            ..ReplicaState::default()
        }
    }

    #[test]
    fn filters_go_back_to_both_lists_with_replication_stopped() {
        let undo = filters_undo(flavor("10.11.6-MariaDB"), "shop,crm", "");
        assert_eq!(
            shown(&undo),
            [
                "STOP SLAVE",
                "SET GLOBAL replicate_do_db = 'shop,crm'",
                "SET GLOBAL replicate_wild_do_table = ''",
                "START SLAVE",
            ]
        );
        let undo = filters_undo(flavor("9.1.0"), "", "shop.%");
        assert_eq!(undo.first().map(|s| s.shown.as_str()), Some("STOP REPLICA"));
        assert!(
            undo[1].shown.starts_with("CHANGE REPLICATION FILTER"),
            "{undo:?}"
        );
    }

    #[test]
    fn a_replica_that_had_no_source_forgets_it_again() {
        let undo = source_undo(flavor("10.11.6-MariaDB"), None, None);
        assert_eq!(shown(&undo), ["STOP SLAVE", "RESET SLAVE ALL"]);
        let undo = source_undo(flavor("8.4.3"), None, None);
        assert_eq!(shown(&undo), ["STOP REPLICA", "RESET REPLICA ALL"]);
    }

    #[test]
    fn a_replica_moved_onto_tls_goes_back_to_plain_text_keeping_its_source() {
        let previous = replica("192.0.2.11", "No", "", "No");
        let undo = source_undo(flavor("10.11.6-MariaDB"), Some(&previous), None);
        assert_eq!(
            shown(&undo),
            [
                "STOP SLAVE",
                "CHANGE MASTER TO MASTER_USER='repl', MASTER_SSL=0, MASTER_SSL_CA='', MASTER_SSL_VERIFY_SERVER_CERT=0",
                "START SLAVE",
            ]
        );
        let undo = source_undo(flavor("9.1.0"), Some(&previous), None);
        assert_eq!(
            undo[1].shown,
            "CHANGE REPLICATION SOURCE TO SOURCE_USER='repl', SOURCE_SSL=0, SOURCE_SSL_CA='', SOURCE_SSL_VERIFY_SERVER_CERT=0"
        );
    }

    #[test]
    fn a_replica_pointed_elsewhere_goes_back_to_its_old_source() {
        let mut previous = replica("192.0.2.99", "Yes", "/etc/ca.pem", "Yes");
        previous.io_running = "No".into();
        let undo = source_undo(
            flavor("10.11.6-MariaDB"),
            Some(&previous),
            Some(&("192.0.2.11".to_string(), 3306)),
        );
        assert_eq!(
            shown(&undo),
            [
                "STOP SLAVE",
                "CHANGE MASTER TO MASTER_HOST='192.0.2.99', MASTER_PORT=3306, MASTER_USER='repl', MASTER_SSL=1, MASTER_SSL_CA='/etc/ca.pem', MASTER_SSL_VERIFY_SERVER_CERT=1",
            ]
        );
        // Pointed at the source it had: its host stays untouched (a change
        // of host would throw its relay logs away).
        let previous = replica("192.0.2.11", "Yes", "/etc/ca.pem", "Yes");
        let undo = source_undo(
            flavor("10.11.6-MariaDB"),
            Some(&previous),
            Some(&("192.0.2.11".to_string(), 3306)),
        );
        assert!(!undo[1].shown.contains("MASTER_HOST"));
    }
}
