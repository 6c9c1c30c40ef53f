//! The wizard's questions: the asked fields of the answers table
//! (src/answers/fields.rs), in one order, for every front-end. Each answer
//! goes through its field's check, the same as in an answers file, and is
//! stored only when it passes.

use crate::answers::{self, Answers};
use crate::Result;

pub use crate::answers::fields::{Asked, Group, Kind};

/// A question is a field of the answers table the wizard asks.
pub type Question = answers::Field;

/// The questions, group by group in the order they are asked.
pub fn questions() -> impl Iterator<Item = &'static Question> {
    Group::ALL.into_iter().flat_map(|group| {
        answers::FIELDS
            .iter()
            .filter(move |f| f.group == group && f.asked == Asked::Question)
    })
}

/// The questions of a group that apply given the answers so far (the
/// virtual IP is asked only when the cluster address is a virtual IP).
pub fn of_group(group: Group, answers: &Answers) -> Vec<&'static Question> {
    questions()
        .filter(|q| q.group == group && (q.applies)(answers))
        .collect()
}

/// The current value of a key, as text (empty for a key of no field).
pub fn current(answers: &Answers, key: &str) -> String {
    answers::fields::field(key)
        .map(|f| (f.get)(answers))
        .unwrap_or_default()
}

/// Validates a typed answer with the answers file's check and stores it.
/// A bad answer leaves `answers` unchanged.
pub fn set(answers: &mut Answers, key: &str, value: &str) -> Result<()> {
    answers::fields::set(answers, key, value)
}

/// Stores the chosen databases after the answers file's check.
pub fn set_databases(answers: &mut Answers, names: Vec<String>) -> Result<()> {
    answers::validate_databases(&names)?;
    answers.replication.databases = names;
    Ok(())
}

/// Databases pre-selected in the list: those of the answers file, else those
/// the slave already replicates (a re-run). `*` selects every offered one.
pub fn preselected(answers: &Answers, offered: &[String], replicated: &[String]) -> Vec<String> {
    let wanted: &[String] = if answers.replication.databases.is_empty() {
        replicated
    } else {
        &answers.replication.databases
    };
    if wanted.iter().any(|d| d == "*") {
        return offered.to_vec();
    }
    offered
        .iter()
        .filter(|d| wanted.contains(d))
        .cloned()
        .collect()
}

/// Fills what a first run cannot know from elsewhere: the master defaults
/// to this machine when the wizard runs on it.
pub fn fill_defaults(answers: &mut Answers, local_address: Option<String>) {
    if answers.master.host.is_empty() {
        if let Some(address) = local_address {
            answers.master.host = address;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_question_reads_back_what_it_stored() {
        let mut answers = Answers::default();
        answers.master.host = "192.0.2.11".into();
        for q in questions() {
            let value = current(&answers, q.key);
            let value = match q.key {
                "slave.host" => "192.0.2.12".to_string(),
                "cluster.vip" => "192.0.2.10/24".into(),
                "cluster.ddns.server" => "192.0.2.100".into(),
                "cluster.ddns.zone" => "example.com".into(),
                "cluster.ddns.name" => "db.example.com".into(),
                "cluster.ddns.key_name" => "ha-key".into(),
                "cluster.ddns.key_secret" => "c2VjcmV0LXNlY3JldC1zZWNyZXQ=".into(),
                "cluster.ddns.key_file" => String::new(),
                "replication.tls" => "files".into(),
                "replication.tls_ca_file" => "/etc/ssl/db/ca.pem".into(),
                "replication.tls_cert_file" => "/etc/ssl/db/node.pem".into(),
                "replication.tls_key_file" => "/etc/ssl/db/node.key".into(),
                _ => value,
            };
            set(&mut answers, q.key, &value).unwrap_or_else(|e| panic!("{}: {e}", q.key));
            assert_eq!(current(&answers, q.key), value, "{}", q.key);
        }
    }

    #[test]
    fn bad_answers_are_refused_with_their_key_and_change_nothing() {
        let mut answers = Answers::default();
        answers.master.host = "192.0.2.11".into();
        let before = answers.clone();
        for (key, value) in [
            ("slave.host", "192.0.2.11"),
            ("master.host", "bad host"),
            ("replication.password", "short"),
            ("cluster.vip", "192.0.2.10"),
            ("cluster.resource", "floating"),
            ("cluster.check_interval_s", "0"),
            ("cluster.failure_threshold", "three"),
        ] {
            let err = set(&mut answers, key, value).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
        assert_eq!(answers, before);
    }

    #[test]
    fn vip_questions_follow_the_resource() {
        let mut answers = Answers::default();
        let keys = |a: &Answers| -> Vec<&str> {
            of_group(Group::ClusterAddress, a)
                .iter()
                .map(|q| q.key)
                .collect()
        };
        // The witness is asked whatever the resource, after its questions.
        assert_eq!(
            keys(&answers),
            vec!["cluster.manager", "cluster.resource", "cluster.witness"]
        );
        set(&mut answers, "cluster.resource", "vip").unwrap();
        assert_eq!(
            keys(&answers),
            vec![
                "cluster.manager",
                "cluster.resource",
                "cluster.vip",
                "cluster.device",
                "cluster.arp",
                "cluster.witness"
            ]
        );
        set(&mut answers, "cluster.resource", "ddns").unwrap();
        assert_eq!(
            keys(&answers),
            vec![
                "cluster.manager",
                "cluster.resource",
                "cluster.ddns.server",
                "cluster.ddns.zone",
                "cluster.ddns.name",
                "cluster.ddns.ttl",
                "cluster.ddns.key_file",
                "cluster.ddns.key_name",
                "cluster.ddns.key_secret",
                "cluster.witness"
            ]
        );
        set(&mut answers, "cluster.ddns.key_file", "/etc/ha.key").unwrap();
        assert!(!keys(&answers).contains(&"cluster.ddns.key_secret"));
        set(&mut answers, "cluster.ddns.zone", "example.com.").unwrap();
        assert_eq!(answers.cluster.ddns.zone, "example.com");
        let err = set(&mut answers, "cluster.ddns.name", "db.example.org")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cluster.ddns.name"), "{err}");
    }

    #[test]
    fn pacemaker_asks_for_fencing_and_refuses_ddns() {
        let mut answers = Answers::default();
        set(&mut answers, "cluster.resource", "vip").unwrap();
        set(&mut answers, "cluster.manager", "pacemaker").unwrap();
        let keys = |a: &Answers| -> Vec<&str> {
            of_group(Group::ClusterAddress, a)
                .iter()
                .map(|q| q.key)
                .collect()
        };
        let asked = keys(&answers);
        assert!(asked.contains(&"cluster.fence_agent"), "{asked:?}");
        assert!(asked.contains(&"cluster.run_without_fencing"), "{asked:?}");
        assert!(!asked.contains(&"cluster.fence_params"), "{asked:?}");
        // The default is not "no fencing".
        assert_eq!(current(&answers, "cluster.run_without_fencing"), "no");
        set(&mut answers, "cluster.fence_agent", "fence_ipmilan").unwrap();
        let asked = keys(&answers);
        assert!(asked.contains(&"cluster.fence_params"), "{asked:?}");
        assert!(!asked.contains(&"cluster.run_without_fencing"), "{asked:?}");
        set(
            &mut answers,
            "cluster.fence_params",
            "ip=192.0.2.200 username=admin",
        )
        .unwrap();
        assert_eq!(answers.cluster.fence_params.len(), 2);
        for (key, value) in [
            ("cluster.fence_agent", "rm -rf"),
            ("cluster.fence_params", "ip=\"x\""),
            ("cluster.resource", "ddns"),
            ("cluster.manager", "heartbeat"),
        ] {
            let err = set(&mut answers, key, value).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
        let timings: Vec<&str> = of_group(Group::Timings, &answers)
            .iter()
            .map(|q| q.key)
            .collect();
        assert!(
            !timings.contains(&"cluster.check_timeout_ms"),
            "{timings:?}"
        );
        set(&mut answers, "cluster.manager", "mysql-ha").unwrap();
        assert!(answers.cluster.fence_agent.is_empty());
        assert!(!keys(&answers).contains(&"cluster.fence_agent"));
    }

    #[test]
    fn preselection_prefers_the_answers_then_the_running_filter() {
        let offered: Vec<String> = ["crm", "hr", "shop"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut answers = Answers::default();
        assert_eq!(
            preselected(&answers, &offered, &["shop".into()]),
            vec!["shop".to_string()]
        );
        answers.replication.databases = vec!["crm".into(), "gone".into()];
        assert_eq!(
            preselected(&answers, &offered, &["shop".into()]),
            vec!["crm".to_string()]
        );
        answers.replication.databases = vec!["*".into()];
        assert_eq!(preselected(&answers, &offered, &[]), offered);
    }

    #[test]
    fn groups_of_keys() {
        assert_eq!(
            Group::of_key("master.mysql_admin_password"),
            Group::Credentials
        );
        assert_eq!(Group::of_key("replication.databases"), Group::Databases);
        assert_eq!(Group::of_key("cluster.vip"), Group::ClusterAddress);
        assert_eq!(Group::Nodes.previous(), None);
        assert_eq!(Group::Timings.next(), None);
    }
}
