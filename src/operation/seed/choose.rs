//! Which seeding method a run uses: the one asked for when it applies, or
//! for `auto` the fastest that applies. Pure logic; the facts come from
//! the nodes (see `build`).

use crate::answers::SeedMethod;

/// Below this much data one dump is as quick as several (their start-up
/// costs more than the parallel load saves).
pub const PARALLEL_MIN_BYTES: u64 = 32 * 1024 * 1024;

/// What the choice depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Bytes of the databases to copy.
    pub chosen_bytes: u64,
    /// Bytes of every user database of the master (a physical copy moves
    /// them all).
    pub master_user_bytes: u64,
    /// Why a physical copy with mariadb-backup cannot be used here; None
    /// when it can.
    pub backup_blocker: Option<String>,
    /// Why a physical copy with MySQL's clone plugin cannot be used here;
    /// None when it can.
    pub clone_blocker: Option<String>,
}

impl Facts {
    /// The physical method that applies, if any (at most one does: each
    /// belongs to one server family), or why none does.
    fn physical(&self) -> std::result::Result<SeedMethod, String> {
        match (&self.backup_blocker, &self.clone_blocker) {
            (None, _) => Ok(SeedMethod::Backup),
            (_, None) => Ok(SeedMethod::Clone),
            (Some(backup), Some(clone)) if backup == clone => Err(backup.clone()),
            (Some(backup), Some(clone)) => Err(format!("{backup}; {clone}")),
        }
    }
}

/// The method and why it was picked, or why the one asked for cannot be
/// used. `requested` is never `None` here (no copy is made then).
pub fn choose(
    requested: SeedMethod,
    facts: &Facts,
) -> std::result::Result<(SeedMethod, String), String> {
    match requested {
        SeedMethod::Dump | SeedMethod::Parallel | SeedMethod::None => {
            Ok((requested, "asked for".into()))
        }
        SeedMethod::Backup | SeedMethod::Clone => {
            let blocker = if requested == SeedMethod::Backup {
                &facts.backup_blocker
            } else {
                &facts.clone_blocker
            };
            match blocker {
                None => Ok((requested, "asked for".into())),
                Some(why) => Err(format!(
                    "replication.seed = \"{}\" cannot be used: {why}; use \"parallel\" or \"auto\"",
                    requested.name()
                )),
            }
        }
        SeedMethod::Auto => Ok(auto(facts)),
    }
}

fn auto(facts: &Facts) -> (SeedMethod, String) {
    // The physical copy moves every database; worth it while the chosen
    // ones are most of the data.
    let mostly_chosen = facts.chosen_bytes.saturating_mul(2) >= facts.master_user_bytes;
    match facts.physical() {
        Ok(method) if mostly_chosen => (
            method,
            format!(
                "auto: the slave holds no data of its own, so a physical copy ({}) is fastest",
                if method == SeedMethod::Clone {
                    "MySQL's clone plugin"
                } else {
                    "mariadb-backup"
                }
            ),
        ),
        physical => {
            let not_backup = match physical {
                Err(why) => format!("no physical copy: {why}"),
                Ok(_) => {
                    "no physical copy: the chosen databases are less than half of the master's data"
                        .into()
                }
            };
            if facts.chosen_bytes >= PARALLEL_MIN_BYTES {
                (
                    SeedMethod::Parallel,
                    format!("auto: {not_backup}; enough data for parallel streams"),
                )
            } else {
                (
                    SeedMethod::Dump,
                    format!("auto: {not_backup}; little data, one dump"),
                )
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    fn facts(chosen: u64, all: u64, blocker: Option<&str>) -> Facts {
        Facts {
            chosen_bytes: chosen,
            master_user_bytes: all,
            backup_blocker: blocker.map(str::to_string),
            clone_blocker: Some(blocker.unwrap_or("MariaDB").to_string()),
        }
    }

    fn mysql_facts(chosen: u64, all: u64, blocker: Option<&str>) -> Facts {
        Facts {
            chosen_bytes: chosen,
            master_user_bytes: all,
            backup_blocker: Some("mariadb-backup does not apply to Oracle MySQL".into()),
            clone_blocker: blocker.map(str::to_string),
        }
    }

    #[test]
    fn auto_picks_the_clone_plugin_on_mysql_and_an_asked_clone_is_kept_or_refused() {
        let (method, why) = choose(SeedMethod::Auto, &mysql_facts(10 * MB, 10 * MB, None)).unwrap();
        assert_eq!(method, SeedMethod::Clone);
        assert!(why.contains("clone plugin"), "{why}");
        assert_eq!(
            choose(SeedMethod::Clone, &mysql_facts(MB, MB, None))
                .unwrap()
                .0,
            SeedMethod::Clone
        );
        let blocked = mysql_facts(MB, MB, Some("the slave holds databases of its own (app)"));
        let (method, why) = choose(SeedMethod::Auto, &blocked).unwrap();
        assert_eq!(method, SeedMethod::Dump);
        assert!(
            why.contains("app") && why.contains("mariadb-backup"),
            "{why}"
        );
        let err = choose(SeedMethod::Clone, &blocked).unwrap_err();
        assert!(
            err.starts_with("replication.seed = \"clone\" cannot be used"),
            "{err}"
        );
        assert!(err.contains("(app)"), "{err}");
        // And on MariaDB, the clone plugin is refused with its reason.
        let err = choose(SeedMethod::Clone, &facts(MB, MB, None)).unwrap_err();
        assert!(err.contains("MariaDB"), "{err}");
    }

    #[test]
    fn auto_prefers_a_physical_copy_into_an_empty_slave() {
        let (method, why) = choose(SeedMethod::Auto, &facts(200 * MB, 210 * MB, None)).unwrap();
        assert_eq!(method, SeedMethod::Backup);
        assert!(why.contains("physical"), "{why}");
        // Even for little data: it copies files, not statements.
        let (method, _) = choose(SeedMethod::Auto, &facts(MB, MB, None)).unwrap();
        assert_eq!(method, SeedMethod::Backup);
    }

    #[test]
    fn auto_skips_backup_when_most_data_is_not_chosen() {
        let (method, why) = choose(SeedMethod::Auto, &facts(100 * MB, 1000 * MB, None)).unwrap();
        assert_eq!(method, SeedMethod::Parallel);
        assert!(why.contains("less than half"), "{why}");
    }

    #[test]
    fn auto_falls_back_to_parallel_then_dump() {
        let blocked = Some("the slave holds databases of its own (app)");
        let (method, why) = choose(SeedMethod::Auto, &facts(200 * MB, 200 * MB, blocked)).unwrap();
        assert_eq!(method, SeedMethod::Parallel);
        assert!(why.contains("app"), "{why}");
        let (method, _) = choose(SeedMethod::Auto, &facts(10 * MB, 10 * MB, blocked)).unwrap();
        assert_eq!(method, SeedMethod::Dump);
        let (method, _) = choose(
            SeedMethod::Auto,
            &facts(PARALLEL_MIN_BYTES, PARALLEL_MIN_BYTES, blocked),
        )
        .unwrap();
        assert_eq!(method, SeedMethod::Parallel);
    }

    #[test]
    fn an_explicit_method_is_kept_or_refused_with_the_reason() {
        for method in [SeedMethod::Dump, SeedMethod::Parallel] {
            assert_eq!(choose(method, &facts(MB, MB, Some("x"))).unwrap().0, method);
        }
        let err = choose(
            SeedMethod::Backup,
            &facts(MB, MB, Some("databases are being added to a running slave")),
        )
        .unwrap_err();
        assert!(err.contains("being added"), "{err}");
        assert!(err.contains("\"parallel\""), "{err}");
        assert_eq!(
            choose(SeedMethod::Backup, &facts(MB, 100 * MB, None))
                .unwrap()
                .0,
            SeedMethod::Backup
        );
    }
}
