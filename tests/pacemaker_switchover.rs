//! The switchover through Pacemaker, surveyed, planned and applied by the
//! one executor on one node, against a fake node that plays Pacemaker's
//! tools (`crm_mon`, `crm_resource`, `crm_attribute`, `crm_node`): the
//! run is journaled, waits for what crm_mon shows, and a promotion that
//! never comes has the move's constraint removed by the plan's rescue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mysql_ha::access::Access;
use mysql_ha::backup::{Journal, JournalEntry};
use mysql_ha::cluster_ops::pacemaker_switchover::{build, survey};
use mysql_ha::events::{Event, Reporter};
use mysql_ha::node::{FileStat, LocalNode, Node, Output};
use mysql_ha::operation::apply::{self, Journals, OneHost};
use mysql_ha::operation::plan::{Change, Side};
use mysql_ha::sql::fake::FakeServer;

/// Pacemaker as its tools show it, with a pair node2 (master) and node1.
struct Cluster {
    promoted: Vec<String>,
    unpromoted: Vec<String>,
    vip: Option<String>,
    /// The node a `--move` asked for, promoted after that many polls.
    moved_to: Option<String>,
    polls_until_promoted: Option<u32>,
    cleared: bool,
    /// Every Pacemaker command run, in order (crm_mon once per poll).
    commands: Vec<String>,
}

impl Cluster {
    fn xml(&self) -> String {
        let mut xml = String::from(
            "<pacemaker-result>\n<current_dc present=\"true\" name=\"node2\" with_quorum=\"true\"/>\n<cluster_options maintenance-mode=\"false\"/>\n",
        );
        for name in ["node1", "node2"] {
            xml.push_str(&format!(
                "<node name=\"{name}\" id=\"1\" online=\"true\"/>\n"
            ));
        }
        for (role, nodes) in [
            ("Promoted", &self.promoted),
            ("Unpromoted", &self.unpromoted),
        ] {
            for name in nodes {
                xml.push_str(&format!(
                    "<resource id=\"p_db\" role=\"{role}\" active=\"true\">\n<node name=\"{name}\" id=\"1\" cached=\"true\"/>\n</resource>\n"
                ));
            }
        }
        if let Some(name) = &self.vip {
            xml.push_str(&format!(
                "<resource id=\"p_vip\" role=\"Started\" active=\"true\">\n<node name=\"{name}\" id=\"1\" cached=\"true\"/>\n</resource>\n"
            ));
        }
        xml.push_str("</pacemaker-result>\n");
        xml
    }

    /// One crm_mon read: the move goes on (the master demoted, the address
    /// gone) until its polls are used up, then the target is promoted.
    fn poll(&mut self) {
        let Some(target) = self.moved_to.clone() else {
            return;
        };
        match self.polls_until_promoted {
            Some(0) => {
                let old: Vec<String> = self.promoted.drain(..).collect();
                self.unpromoted.retain(|n| *n != target);
                self.unpromoted.extend(old);
                self.promoted = vec![target];
                self.vip = self.promoted.first().cloned();
                self.moved_to = None;
            }
            Some(left) => {
                self.unpromoted.append(&mut self.promoted);
                self.vip = None;
                self.polls_until_promoted = Some(left - 1);
            }
            None => {
                self.unpromoted.append(&mut self.promoted);
                self.vip = None;
            }
        }
    }
}

/// A node whose files are a temporary tree and whose Pacemaker tools
/// answer from `Cluster`.
struct PacemakerNode {
    files: LocalNode,
    cluster: Arc<Mutex<Cluster>>,
}

fn ok(stdout: &str) -> Output {
    Output {
        code: Some(0),
        stdout: stdout.as_bytes().to_vec(),
        stderr: Vec::new(),
    }
}

impl Node for PacemakerNode {
    fn label(&self) -> &str {
        "node2"
    }
    fn run(&self, argv: &[&str], stdin: Option<&[u8]>) -> mysql_ha::Result<Output> {
        let mut cluster = self.cluster.lock().unwrap();
        match argv {
            ["crm_mon", ..] => {
                cluster.commands.push("crm_mon".into());
                cluster.poll();
                Ok(ok(&cluster.xml()))
            }
            ["crm_node", "-n"] => Ok(ok("node2\n")),
            ["crm_attribute", "--node", name, ..] => {
                let last = name.trim_start_matches("node");
                Ok(ok(&format!("192.0.2.1{last}\n")))
            }
            ["crm_resource", rest @ ..] => {
                cluster.commands.push(argv.join(" "));
                match rest {
                    ["--move", .., "--node", target] => cluster.moved_to = Some(target.to_string()),
                    ["--clear", ..] => cluster.cleared = true,
                    _ => panic!("unexpected {argv:?}"),
                }
                Ok(ok(""))
            }
            _ => self.files.run(argv, stdin),
        }
    }
    fn read(&self, path: &Path) -> mysql_ha::Result<Option<Vec<u8>>> {
        self.files.read(path)
    }
    fn stat(&self, path: &Path) -> mysql_ha::Result<Option<FileStat>> {
        self.files.stat(path)
    }
    fn read_link(&self, path: &Path) -> mysql_ha::Result<PathBuf> {
        self.files.read_link(path)
    }
    fn list_dir(&self, path: &Path) -> mysql_ha::Result<Vec<String>> {
        self.files.list_dir(path)
    }
    fn create_dir_all(&self, path: &Path, mode: u32) -> mysql_ha::Result<()> {
        self.files.create_dir_all(path, mode)
    }
    fn write_atomic(
        &self,
        path: &Path,
        bytes: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> mysql_ha::Result<()> {
        self.files.write_atomic(path, bytes, mode, uid, gid)
    }
    fn remove_file(&self, path: &Path) -> mysql_ha::Result<()> {
        self.files.remove_file(path)
    }
    fn free_bytes(&self, path: &Path) -> mysql_ha::Result<u64> {
        self.files.free_bytes(path)
    }
}

#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Reporter for Log {
    fn event(&self, event: Event) {
        let line = match event {
            Event::StepStarted { step } => format!("== {step}"),
            Event::StepFinished { step, summary, .. } => format!("{step}: {summary}"),
            Event::Note { message } => message,
            Event::Progress { step, bytes, .. } => format!("{step}: {bytes} bytes"),
        };
        self.0.lock().unwrap().push(line);
    }
}

fn lab(polls_until_promoted: Option<u32>) -> (tempfile::TempDir, Arc<Mutex<Cluster>>) {
    let cluster = Arc::new(Mutex::new(Cluster {
        promoted: vec!["node2".into()],
        unpromoted: vec!["node1".into()],
        vip: Some("node2".into()),
        moved_to: None,
        polls_until_promoted,
        cleared: false,
        commands: Vec::new(),
    }));
    (tempfile::tempdir().unwrap(), cluster)
}

fn node(tree: &Path, cluster: &Arc<Mutex<Cluster>>) -> PacemakerNode {
    PacemakerNode {
        files: LocalNode::with_root(tree),
        cluster: cluster.clone(),
    }
}

/// Surveys, builds (to `to`) and applies the switchover on the fake node.
fn switch_over(
    tree: &Path,
    cluster: &Arc<Mutex<Cluster>>,
    to: &str,
    promotion_limit: Option<Duration>,
) -> (
    Result<apply::Applied, Box<apply::Failed>>,
    Journal,
    Vec<String>,
) {
    let found = survey(
        &node(tree, cluster),
        Some("192.0.2.10/24".into()),
        "20261130-120000-abcd",
    )
    .unwrap();
    let mut switch = build(&found, Some(to)).unwrap();
    if let Some(limit) = promotion_limit {
        match &mut switch.plan.steps[1].changes[..] {
            [Change::WaitPacemaker { limit: wait, .. }] => *wait = limit,
            other => panic!("{other:?}"),
        }
    }
    let journal = Journal::create(&node(tree, cluster), &switch.plan.run_id).unwrap();
    let mut journals = Journals::of_sides(vec![(Side::Master, journal)]);
    let access = Access::Fake {
        node: Box::new(node(tree, cluster)),
        server: FakeServer::new("10.11.6-MariaDB"),
    };
    let mut hosts = OneHost::files(Side::Master, &switch.here, access);
    let log = Log::default();
    let result = apply::run(&mut hosts, &switch.plan, &mut journals, &log, &mut |_| {
        Ok(())
    });
    let journal = Journal::open(&node(tree, cluster), &switch.plan.run_id).unwrap();
    let lines = log.0.lock().unwrap().clone();
    (result, journal, lines)
}

fn commands(journal: &Journal) -> Vec<String> {
    journal
        .records()
        .iter()
        .filter_map(|r| match &r.entry {
            JournalEntry::Command { argv, ok, .. } => Some(format!("{} ({ok})", argv.join(" "))),
            _ => None,
        })
        .collect()
}

#[test]
fn the_executor_asks_pacemaker_waits_for_crm_mon_and_journals_the_run() {
    let (tree, cluster) = lab(Some(3));
    // `--to` by the node's replication address, as the answers give it.
    let (result, journal, log) = switch_over(tree.path(), &cluster, "192.0.2.11", None);
    let applied = result.unwrap();
    assert_eq!(applied.finished.len(), 4);
    let cluster = cluster.lock().unwrap();
    assert_eq!(cluster.promoted, ["node1"]);
    assert!(cluster.cleared);
    // The move, crm_mon until node1 is promoted, then the clear, then
    // crm_mon until node2 runs as its slave.
    let pacemaker: Vec<&str> = cluster
        .commands
        .iter()
        .map(String::as_str)
        .filter(|c| *c != "crm_mon")
        .collect();
    assert_eq!(
        pacemaker,
        [
            "crm_resource --move --resource ms_db --promoted --node node1",
            "crm_resource --clear --resource ms_db"
        ]
    );
    let first_clear = cluster
        .commands
        .iter()
        .position(|c| c.contains("--clear"))
        .unwrap();
    assert_eq!(
        cluster.commands[..first_clear]
            .iter()
            .filter(|c| *c == "crm_mon")
            .count(),
        5,
        "the survey's read, then polls until the promotion: {:?}",
        cluster.commands
    );
    assert_eq!(
        commands(&journal),
        [
            "crm_resource --move --resource ms_db --promoted --node node1 (true)",
            "crm_resource --clear --resource ms_db (true)"
        ]
    );
    let text = log.join("\n");
    assert!(
        log.iter().any(
            |l| l.starts_with("wait for the new master: node1 is master (")
                && l.ends_with("s); the cluster address followed it")
        ),
        "{text}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("wait for the slaves: node2 runs as slave of node1 again (")),
        "{text}"
    );
}

#[test]
fn a_promotion_that_never_comes_has_the_moves_constraint_removed() {
    let (tree, cluster) = lab(None);
    let (result, journal, _) =
        switch_over(tree.path(), &cluster, "node1", Some(Duration::from_secs(1)));
    let failed = result.unwrap_err();
    assert_eq!(failed.step, "wait for the new master");
    let said = failed.error.to_string();
    assert!(
        said.contains("Pacemaker did not get there within 1 s: node1 is not promoted alone (promoted on: no node); the cluster address is on no node"),
        "{said}"
    );
    // The rescue ran, and its clear worked.
    assert_eq!(failed.rescue.as_deref(), Some(&[][..]));
    assert!(cluster.lock().unwrap().cleared);
    assert_eq!(
        commands(&journal),
        [
            "crm_resource --move --resource ms_db --promoted --node node1 (true)",
            "crm_resource --clear --resource ms_db (true)"
        ]
    );
}
