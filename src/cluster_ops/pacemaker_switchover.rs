//! `mysql-ha switchover [--to NODE]` on a cluster Pacemaker runs
//! (cluster.toml says `manager = "pacemaker"`). Pacemaker's agent does
//! the work: asked to move the promoted instance, it demotes the master
//! (read-only, its client sessions ended), promotes the target and points
//! the old master and any other slave at it; the cluster address follows
//! the promoted instance. This node asks (`crm_resource --move`), waits
//! for the result in `crm_mon`, and removes the move's constraint.
//!
//! `survey` reads Pacemaker's state on this node; `build` turns it into a
//! plan of typed changes (a pure function, unit-tested); `apply` runs that
//! plan through the one executor on this node alone, journaled as a run.

use std::time::{Duration, Instant};

use crate::access::Access;
use crate::backup::{Journal, JournalEntry};
use crate::events::Reporter;
use crate::node::{LocalNode, Node};
use crate::operation::apply::{Journals, OneHost};
use crate::operation::crm::{crm_state, CrmState, DB_CLONE, DB_RESOURCE, VIP_RESOURCE};
use crate::operation::plan::{Change, Plan, Rescue, RescueChange, Side, StepPlan};
use crate::{Error, Result};

// The steps, by name (the rescue and the outcome refer to them).
const MOVE: &str = "ask Pacemaker to move the master role";
const PROMOTED: &str = "wait for the new master";
const CLEAR: &str = "remove the move's constraint";
const SLAVES: &str = "wait for the slaves";

/// How long Pacemaker may take to promote the target (a demotion, the
/// agent's promotion, the address started), and then to run every other
/// node as its slave.
const PROMOTION_WAIT: Duration = Duration::from_secs(120);
const SLAVES_WAIT: Duration = Duration::from_secs(60);

/// The node of the plan: every change runs on this node.
const HERE: Side = Side::Master;

/// What `survey` read on this node: everything `build` needs.
#[derive(Debug, Clone)]
pub struct PacemakerSurvey {
    pub run_id: String,
    /// This node's name in the cluster (`crm_node -n`).
    pub here: String,
    pub state: CrmState,
    /// The replication address of each online node (the agent's
    /// `p_db_mysql_master_IP` attribute), so `--to` may name either.
    pub addresses: Vec<(String, String)>,
    /// The cluster address (CIDR) when the cluster resource is one.
    pub vip: Option<String>,
}

/// The plan, and what the command says around it.
#[derive(Debug, Clone)]
pub struct PacemakerSwitchover {
    pub plan: Plan,
    pub here: String,
    pub master: String,
    pub target: String,
}

/// Reads Pacemaker's state on `node`. Changes nothing.
pub fn survey(node: &dyn Node, vip: Option<String>, run_id: &str) -> Result<PacemakerSurvey> {
    let state = crm_state(node)?;
    let here = node
        .run(&["crm_node", "-n"], None)
        .ok()
        .filter(|out| out.success())
        .map(|out| out.stdout_text().trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(crate::run_lock::this_host);
    let attribute = format!("{DB_RESOURCE}_mysql_master_IP");
    let addresses = state
        .online
        .iter()
        .filter_map(|name| {
            let out = node
                .run(
                    &[
                        "crm_attribute",
                        "--node",
                        name,
                        "--lifetime",
                        "forever",
                        "--name",
                        &attribute,
                        "--query",
                        "--quiet",
                    ],
                    None,
                )
                .ok()
                .filter(|out| out.success())?;
            let address = out.stdout_text().trim().to_string();
            (!address.is_empty()).then(|| (name.clone(), address))
        })
        .collect();
    Ok(PacemakerSurvey {
        run_id: run_id.to_string(),
        here,
        state,
        addresses,
        vip,
    })
}

/// The node name `wanted` stands for: a node name, or a node's
/// replication address.
fn node_named<'a>(survey: &'a PacemakerSurvey, wanted: &str) -> Option<&'a str> {
    let state = &survey.state;
    state
        .online
        .iter()
        .chain(&state.offline)
        .find(|name| *name == wanted)
        .or_else(|| {
            survey
                .addresses
                .iter()
                .find(|(_, address)| address == wanted)
                .map(|(name, _)| name)
        })
        .map(String::as_str)
}

fn crm_resource(args: &[&str]) -> Vec<String> {
    std::iter::once("crm_resource")
        .chain(args.iter().copied())
        .map(str::to_string)
        .collect()
}

fn step(name: &'static str, changes: Vec<Change>) -> StepPlan {
    StepPlan {
        name,
        side: HERE,
        changes,
        summary: Vec::new(),
    }
}

/// The switchover's plan from what `survey` read, to `to` (a node name or
/// its replication address; None: the one slave). Refuses, changing
/// nothing, when there is no single master, no slave to take over, no
/// clear target, or Pacemaker would not act (paused, no quorum).
pub fn build(survey: &PacemakerSurvey, to: Option<&str>) -> Result<PacemakerSwitchover> {
    let state = &survey.state;
    let [master] = state.promoted.as_slice() else {
        return Err(Error::Cluster {
            message: format!(
                "no single master to switch from (promoted on: {}); see `mysql-ha status`",
                if state.promoted.is_empty() {
                    "no node".to_string()
                } else {
                    state.promoted.join(", ")
                }
            ),
        });
    };
    let slaves = state.unpromoted.join(", ");
    let target = match to {
        Some(wanted) => match node_named(survey, wanted) {
            Some(name) if name == master => {
                return Err(Error::Usage(format!(
                    "`{wanted}` is the master already ({master}): give a slave to --to (slaves: {slaves})"
                )))
            }
            Some(name) if state.unpromoted.iter().any(|n| n == name) => name.to_string(),
            _ => {
                return Err(Error::Usage(format!(
                    "`{wanted}` is not a node running as slave (slaves: {slaves}): give one of them to --to"
                )))
            }
        },
        None => match state.unpromoted.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(Error::Cluster {
                    message:
                        "no node runs as slave: nothing to switch over to; see `mysql-ha status`"
                            .into(),
                })
            }
            many => {
                return Err(Error::Usage(format!(
                    "the cluster has {} slaves ({slaves}): name the new master with --to NODE",
                    many.len()
                )))
            }
        },
    };
    if state.maintenance {
        return Err(Error::Usage(
            "the cluster is paused (maintenance mode): `mysql-ha resume` first".into(),
        ));
    }
    if !state.quorate {
        return Err(Error::Cluster {
            message: format!(
                "{} sees no quorum: Pacemaker moves nothing from here; see `mysql-ha status`",
                survey.here
            ),
        });
    }
    // The old master and every other slave follow the new master: the
    // agent's post-promote notification points each of them at it.
    let followers: Vec<String> = std::iter::once(master.clone())
        .chain(state.unpromoted.iter().filter(|n| **n != target).cloned())
        .collect();
    let address = survey.vip.is_some();
    let clear = Change::Command {
        argv: crm_resource(&["--clear", "--resource", DB_CLONE]),
        why: "the move's constraint goes: Pacemaker places the master by its own scores again"
            .into(),
        effects: Vec::new(),
    };
    let steps = vec![
        step(
            MOVE,
            vec![Change::Command {
                argv: crm_resource(&[
                    "--move",
                    "--resource",
                    DB_CLONE,
                    "--promoted",
                    "--node",
                    &target,
                ]),
                why: format!(
                    "a constraint for the promoted role on {target}: Pacemaker demotes {master} and promotes {target}"
                ),
                effects: Vec::new(),
            }],
        ),
        step(
            PROMOTED,
            vec![Change::WaitPacemaker {
                promoted: target.clone(),
                address,
                slaves: Vec::new(),
                limit: PROMOTION_WAIT,
            }],
        ),
        step(CLEAR, vec![clear.clone()]),
        step(
            SLAVES,
            vec![Change::WaitPacemaker {
                promoted: target.clone(),
                address,
                slaves: followers.clone(),
                limit: SLAVES_WAIT,
            }],
        ),
    ];
    let preamble = vec![
        format!("Switchover through Pacemaker: {master} -> {target}"),
        format!(
            "Read with crm_mon on {}: {master} promoted; unpromoted on {slaves}{}; quorate, not paused",
            survey.here,
            survey
                .vip
                .as_ref()
                .map(|cidr| format!(
                    "; the cluster address {cidr} ({VIP_RESOURCE}) on {}",
                    state.vip.as_deref().unwrap_or("no node")
                ))
                .unwrap_or_default()
        ),
        format!(
            "Pacemaker's agent does the work: it demotes {master} (read-only, its client sessions ended), promotes {target} and points {} at it{}. This node asks and waits.",
            followers.join(", "),
            if address {
                "; the cluster address follows the promoted instance"
            } else {
                ""
            }
        ),
    ];
    Ok(PacemakerSwitchover {
        plan: Plan {
            run_id: survey.run_id.clone(),
            master_label: survey.here.clone(),
            slave_label: String::new(),
            slave2_label: String::new(),
            witness_label: String::new(),
            preamble,
            steps,
            rescues: vec![Rescue {
                first: MOVE,
                last: CLEAR,
                why: "the move's constraint is removed, so Pacemaker places the master by its own scores again (on the old master or the new one); `mysql-ha status` says where:".into(),
                changes: vec![RescueChange {
                    side: HERE,
                    change: clear,
                    once: Some(MOVE),
                }],
            }],
            side_names: Some(["node", "node"]),
            // Pacemaker does the work: nothing to hold it from.
            hold: None,
        },
        here: survey.here.clone(),
        master: master.clone(),
        target,
    })
}

pub struct PacemakerOutcome {
    pub run_id: String,
    pub seconds: f64,
}

/// The text of an error without the `cluster: ` its kind prints first.
fn said(error: &Error) -> String {
    match error {
        Error::Cluster { message } => message.clone(),
        other => other.to_string(),
    }
}

/// Applies the plan on this node, journaled as run `plan.run_id`, with
/// this node's run lock held throughout.
pub fn apply(switch: &PacemakerSwitchover, reporter: &dyn Reporter) -> Result<PacemakerOutcome> {
    let run_id = &switch.plan.run_id;
    let node = LocalNode::new();
    let lock_path = std::path::PathBuf::from(crate::run_lock::LOCK_PATH);
    let lock = crate::run_lock::RunLock::acquire(
        &[(switch.here.as_str(), &node as &dyn Node, lock_path)],
        crate::run_lock::Owner::this_process(run_id, "switchover"),
    )?;
    let started = Instant::now();
    let applied = journal(&node, switch).and_then(|mut journals| {
        let mut hosts = OneHost::files(HERE, &switch.here, Access::Local(LocalNode::new()));
        crate::operation::apply::run(
            &mut hosts,
            &switch.plan,
            &mut journals,
            reporter,
            &mut |_| Ok(()),
        )
        .map_err(|failed| Error::Cluster {
            message: failure(switch, &failed),
        })
    });
    lock.release(&[(switch.here.as_str(), &node as &dyn Node)]);
    applied?;
    Ok(PacemakerOutcome {
        run_id: run_id.clone(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The run's journal on this node, opened with what the run is.
fn journal(node: &LocalNode, switch: &PacemakerSwitchover) -> Result<Journals> {
    let mut journal = Journal::create(node, &switch.plan.run_id)?;
    journal.record(
        node,
        JournalEntry::Note {
            text: format!(
                "switchover through Pacemaker from {} to {}",
                switch.master, switch.target
            ),
        },
    )?;
    Ok(Journals::of_sides(vec![(HERE, journal)]))
}

/// What a failed run left, for the error: nothing, the constraint removed
/// by the rescue (or left when that failed too), or a new master whose
/// slaves did not all come.
fn failure(switch: &PacemakerSwitchover, failed: &crate::operation::apply::Failed) -> String {
    let error = said(&failed.error);
    let asked = failed.applied.finished_at(MOVE).is_some();
    match &failed.rescue {
        _ if !asked => format!("{error}; nothing was changed"),
        Some(problems) if problems.is_empty() => format!(
            "{error}; the move's constraint is removed (`crm_resource --clear --resource {DB_CLONE}`): Pacemaker places the master by its own scores again; see `mysql-ha status`"
        ),
        Some(problems) => format!(
            "{error}; removing the move's constraint failed too ({}): it stays until `crm_resource --clear --resource {DB_CLONE}`",
            problems.join("; ")
        ),
        None => format!(
            "{} is master and the move's constraint is removed, but {error}",
            switch.target
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    /// node2 runs the master; `slaves` run unpromoted; quorate, not paused.
    fn survey(slaves: &[&str]) -> PacemakerSurvey {
        let mut online = names(&["node1", "node2"]);
        online.extend(names(slaves));
        online.sort();
        online.dedup();
        let addresses = online
            .iter()
            .map(|n| {
                let last = n.trim_start_matches("node");
                (n.clone(), format!("192.0.2.1{last}"))
            })
            .collect();
        PacemakerSurvey {
            run_id: "20261130-120000-abcd".into(),
            here: "node2".into(),
            state: CrmState {
                online,
                promoted: names(&["node2"]),
                unpromoted: names(slaves),
                vip: Some("node2".into()),
                quorate: true,
                ..CrmState::default()
            },
            addresses,
            vip: Some("192.0.2.10/24".into()),
        }
    }

    fn refusal(survey: &PacemakerSurvey, to: Option<&str>) -> String {
        build(survey, to).unwrap_err().to_string()
    }

    #[test]
    fn the_one_slave_is_the_target_and_the_plan_asks_then_waits() {
        let switch = build(&survey(&["node1"]), None).unwrap();
        assert_eq!(
            (switch.master.as_str(), switch.target.as_str()),
            ("node2", "node1")
        );
        let plan = &switch.plan;
        let steps: Vec<&str> = plan.steps.iter().map(|s| s.name).collect();
        assert_eq!(steps, [MOVE, PROMOTED, CLEAR, SLAVES]);
        assert!(plan.steps.iter().all(|s| s.side == HERE));
        match &plan.steps[0].changes[..] {
            [Change::Command { argv, .. }] => assert_eq!(
                argv.join(" "),
                "crm_resource --move --resource ms_db --promoted --node node1"
            ),
            other => panic!("{other:?}"),
        }
        match &plan.steps[1].changes[..] {
            [Change::WaitPacemaker {
                promoted,
                address,
                slaves,
                limit,
            }] => {
                assert_eq!(promoted, "node1");
                assert!(*address);
                assert!(slaves.is_empty());
                assert_eq!(*limit, PROMOTION_WAIT);
            }
            other => panic!("{other:?}"),
        }
        match &plan.steps[3].changes[..] {
            [Change::WaitPacemaker {
                promoted, slaves, ..
            }] => {
                assert_eq!(promoted, "node1");
                assert_eq!(slaves, &["node2"]);
            }
            other => panic!("{other:?}"),
        }
        // A failure before the constraint is removed removes it.
        let rescue = &plan.rescues[0];
        assert_eq!((rescue.first, rescue.last), (MOVE, CLEAR));
        assert!(
            matches!(&rescue.changes[..], [RescueChange { change: Change::Command { argv, .. }, once: Some(MOVE), .. }]
            if argv.join(" ") == "crm_resource --clear --resource ms_db")
        );
    }

    #[test]
    fn the_rendered_plan_says_what_runs_and_what_it_waits_for() {
        let text = build(&survey(&["node1"]), None).unwrap().plan.render();
        for line in [
            "Switchover through Pacemaker: node2 -> node1",
            "Read with crm_mon on node2: node2 promoted; unpromoted on node1; the cluster address 192.0.2.10/24 (p_vip) on node2; quorate, not paused",
            "Plan for run 20261130-120000-abcd",
            "== ask Pacemaker to move the master role on node node2: will change",
            "   run: crm_resource --move --resource ms_db --promoted --node node1    # a constraint for the promoted role on node1: Pacemaker demotes node2 and promotes node1",
            "   wait: ms_db promoted on node1 alone with p_vip (the cluster address) there (crm_mon, at most 120 s)",
            "   run: crm_resource --clear --resource ms_db    # the move's constraint goes: Pacemaker places the master by its own scores again",
            "   wait: ms_db promoted on node1 alone with p_vip (the cluster address) there, unpromoted on node2 (slave of it) (crm_mon, at most 60 s)",
            "If a step from `ask Pacemaker to move the master role` to `remove the move's constraint` fails: the move's constraint is removed, so Pacemaker places the master by its own scores again (on the old master or the new one); `mysql-ha status` says where:",
            "   on node node2 (once `ask Pacemaker to move the master role` finished):",
            "     run: crm_resource --clear --resource ms_db    # the move's constraint goes: Pacemaker places the master by its own scores again",
        ] {
            assert!(text.lines().any(|l| l == line), "no line `{line}` in:\n{text}");
        }
        // Without an address, nothing waits for one.
        let mut bare = survey(&["node1"]);
        bare.vip = None;
        let text = build(&bare, None).unwrap().plan.render();
        assert!(!text.contains("p_vip"), "{text}");
        assert!(text.contains("   wait: ms_db promoted on node1 alone (crm_mon, at most 120 s)"));
    }

    #[test]
    fn two_slaves_need_to_by_name_or_by_address() {
        let three = survey(&["node1", "node3"]);
        let unnamed = refusal(&three, None);
        assert!(
            unnamed.contains(
                "the cluster has 2 slaves (node1, node3): name the new master with --to NODE"
            ),
            "{unnamed}"
        );
        let by_name = build(&three, Some("node3")).unwrap();
        assert_eq!(by_name.target, "node3");
        // The old master and the other slave both follow the new master.
        assert!(matches!(&by_name.plan.steps[3].changes[..],
            [Change::WaitPacemaker { slaves, .. }] if slaves == &["node2", "node1"]));
        let by_address = build(&three, Some("192.0.2.13")).unwrap();
        assert_eq!(by_address.target, "node3");
    }

    #[test]
    fn a_failed_run_says_what_it_left() {
        use crate::operation::apply::{Applied, Failed};
        let switch = build(&survey(&["node1"]), None).unwrap();
        let failed = |step, rescue: Option<Vec<String>>, asked: bool| {
            let mut applied = Applied::default();
            if asked {
                applied.finished.push((MOVE, Instant::now()));
            }
            Failed {
                step,
                error: Error::Cluster {
                    message: "it broke".into(),
                },
                rescue,
                applied,
            }
        };
        assert_eq!(
            failure(&switch, &failed(MOVE, Some(Vec::new()), false)),
            "it broke; nothing was changed"
        );
        assert!(failure(&switch, &failed(PROMOTED, Some(Vec::new()), true)).starts_with(
            "it broke; the move's constraint is removed (`crm_resource --clear --resource ms_db`)"
        ));
        assert!(failure(
            &switch,
            &failed(PROMOTED, Some(vec!["no crm_resource".into()]), true)
        )
        .ends_with(
            "failed too (no crm_resource): it stays until `crm_resource --clear --resource ms_db`"
        ));
        assert_eq!(
            failure(&switch, &failed(SLAVES, None, true)),
            "node1 is master and the move's constraint is removed, but it broke"
        );
    }

    #[test]
    fn it_refuses_before_any_change() {
        let pair = survey(&["node1"]);
        let unknown = refusal(&pair, Some("node9"));
        assert!(
            unknown.contains(
                "`node9` is not a node running as slave (slaves: node1): give one of them to --to"
            ),
            "{unknown}"
        );
        let master = refusal(&pair, Some("192.0.2.12"));
        assert!(master.contains("is the master already (node2)"), "{master}");
        let mut paused = pair.clone();
        paused.state.maintenance = true;
        assert!(
            refusal(&paused, None).contains("paused (maintenance mode): `mysql-ha resume` first")
        );
        let mut cut_off = pair.clone();
        cut_off.state.quorate = false;
        assert!(refusal(&cut_off, None).contains("node2 sees no quorum"));
        let mut none = pair.clone();
        none.state.promoted.clear();
        assert!(
            refusal(&none, None).contains("no single master to switch from (promoted on: no node)")
        );
        let mut two = pair.clone();
        two.state.promoted.push("node1".into());
        assert!(refusal(&two, None).contains("(promoted on: node2, node1)"));
        let mut alone = pair;
        alone.state.unpromoted.clear();
        assert!(refusal(&alone, None).contains("no node runs as slave"));
    }
}
