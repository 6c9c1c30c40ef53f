//! Pacemaker's view of a pair it manages: the names of the resources setup
//! configures and the cluster as `crm_mon --output-as=xml` shows it. Setup
//! writes the configuration; a running cluster's operations (status, the
//! switchover) read the state.

use std::time::{Duration, Instant};

use crate::node::Node;
use crate::{Error, Result};

/// The database resource, its promotable clone and the cluster address.
pub const DB_RESOURCE: &str = "p_db";
pub const DB_CLONE: &str = "ms_db";
pub const VIP_RESOURCE: &str = "p_vip";

/// The cluster as `crm_mon` shows it (XML), read on one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmState {
    /// Nodes online.
    pub online: Vec<String>,
    /// Nodes configured but not online.
    pub offline: Vec<String>,
    /// Node where the database is promoted.
    pub promoted: Vec<String>,
    /// Nodes where it runs unpromoted.
    pub unpromoted: Vec<String>,
    /// Node holding the cluster address.
    pub vip: Option<String>,
    pub maintenance: bool,
    pub quorate: bool,
    /// Failed actions, one line each.
    pub failures: Vec<String>,
}

/// XML character references back to text (crm_mon escapes an exit reason
/// twice, so this is applied until nothing changes).
fn unescape(text: &str) -> String {
    let mut current = text.to_string();
    loop {
        let next = current
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&");
        if next == current {
            return current;
        }
        current = next;
    }
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let rest = &tag[start..];
    Some(&rest[..rest.find('"')?])
}

/// Reads `crm_mon --output-as=xml` (Pacemaker 2.1) without an XML library:
/// one element per line, as crm_mon prints them.
pub fn parse_crm_mon(xml: &str) -> CrmState {
    let mut state = CrmState::default();
    let mut resource: Option<(String, String)> = None;
    for line in xml.lines().map(str::trim) {
        if line.starts_with("<node ") && attribute(line, "online").is_some() {
            let name = attribute(line, "name").unwrap_or_default().to_string();
            if attribute(line, "online") == Some("true") {
                state.online.push(name);
            } else {
                state.offline.push(name);
            }
        } else if line.starts_with("<current_dc ") {
            state.quorate = attribute(line, "with_quorum") == Some("true");
        } else if line.starts_with("<cluster_options ") {
            state.maintenance = attribute(line, "maintenance-mode") == Some("true");
        } else if line.starts_with("<resource ") {
            let id = attribute(line, "id").unwrap_or_default().to_string();
            let role = attribute(line, "role").unwrap_or_default().to_string();
            resource = Some((id, role));
            if line.ends_with("/>") {
                resource = None;
            }
        } else if line.starts_with("<node ") {
            if let Some((id, role)) = &resource {
                let name = attribute(line, "name").unwrap_or_default().to_string();
                if id == DB_RESOURCE {
                    match role.as_str() {
                        "Promoted" | "Master" => state.promoted.push(name),
                        "Unpromoted" | "Slave" => state.unpromoted.push(name),
                        _ => {}
                    }
                } else if id == VIP_RESOURCE && role == "Started" {
                    state.vip = Some(name);
                }
            }
        } else if line.starts_with("</resource>") {
            resource = None;
        } else if line.starts_with("<failure ") {
            state.failures.push(unescape(&format!(
                "{} on {}: {} ({})",
                attribute(line, "op_key").unwrap_or_default(),
                attribute(line, "node").unwrap_or_default(),
                attribute(line, "status").unwrap_or_default(),
                attribute(line, "exitreason").unwrap_or_default()
            )));
        }
    }
    state
}

/// crm_mon's view from one node.
pub fn crm_state(node: &dyn Node) -> Result<CrmState> {
    let out = node.run(&["crm_mon", "-1", "--output-as=xml"], None)?;
    if !out.success() {
        return Err(Error::Node {
            node: node.label().to_string(),
            message: format!(
                "crm_mon failed: {}; is pacemaker running there (`crm_mon -1`)?",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(parse_crm_mon(&out.stdout_text()))
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// What a run waits for Pacemaker to show (`Change::WaitPacemaker`): the
/// database promoted on one node alone, the cluster address there when
/// the pair has one, and the database unpromoted on every slave.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub promoted: &'a str,
    pub address: bool,
    pub slaves: &'a [String],
}

impl Wanted<'_> {
    /// What the wait waits for, as the plan shows it.
    pub fn describe(&self) -> String {
        let mut text = format!("{DB_CLONE} promoted on {} alone", self.promoted);
        if self.address {
            text.push_str(&format!(" with {VIP_RESOURCE} (the cluster address) there"));
        }
        if !self.slaves.is_empty() {
            text.push_str(&format!(
                ", unpromoted on {} (slave{} of it)",
                self.slaves.join(", "),
                plural(self.slaves.len())
            ));
        }
        text
    }

    /// What `state` still lacks, a phrase each; empty once all is there.
    pub fn missing(&self, state: &CrmState) -> Vec<String> {
        let mut missing = Vec::new();
        if state.promoted != [self.promoted] {
            missing.push(format!(
                "{} is not promoted alone (promoted on: {})",
                self.promoted,
                if state.promoted.is_empty() {
                    "no node".to_string()
                } else {
                    state.promoted.join(", ")
                }
            ));
        }
        if self.address && state.vip.as_deref() != Some(self.promoted) {
            missing.push(format!(
                "the cluster address is on {}",
                state.vip.as_deref().unwrap_or("no node")
            ));
        }
        let waiting: Vec<&str> = self
            .slaves
            .iter()
            .filter(|name| !state.unpromoted.contains(name))
            .map(String::as_str)
            .collect();
        if !waiting.is_empty() {
            missing.push(format!(
                "{} not running as slave{}",
                waiting.join(", "),
                plural(waiting.len())
            ));
        }
        missing
    }

    /// What the wait found, once all is there.
    fn reached(&self, after: Duration) -> String {
        let seconds = after.as_secs_f64();
        if self.slaves.is_empty() {
            format!(
                "{} is master ({seconds:.1} s){}",
                self.promoted,
                if self.address {
                    "; the cluster address followed it"
                } else {
                    ""
                }
            )
        } else {
            let one = self.slaves.len() == 1;
            format!(
                "{} run{} as slave{} of {} again ({seconds:.1} s)",
                self.slaves.join(", "),
                if one { "s" } else { "" },
                plural(self.slaves.len()),
                self.promoted
            )
        }
    }
}

/// Reads `crm_mon` on `node` until it shows `wanted` (what it found) or
/// `limit` passes (an error naming what is still missing).
pub fn wait_for(node: &dyn Node, wanted: &Wanted, limit: Duration) -> Result<String> {
    let started = Instant::now();
    loop {
        let missing = wanted.missing(&crm_state(node)?);
        if missing.is_empty() {
            return Ok(wanted.reached(started.elapsed()));
        }
        if started.elapsed() > limit {
            return Err(Error::Cluster {
                message: format!(
                    "Pacemaker did not get there within {} s: {}; see `mysql-ha status` and `crm_mon -1` (failed actions)",
                    limit.as_secs(),
                    missing.join("; ")
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_wait_names_what_pacemaker_still_lacks() {
        let slaves = names(&["node1", "node2"]);
        let wanted = Wanted {
            promoted: "node3",
            address: true,
            slaves: &slaves,
        };
        assert_eq!(
            wanted.describe(),
            "ms_db promoted on node3 alone with p_vip (the cluster address) there, unpromoted on node1, node2 (slaves of it)"
        );
        // Mid-move: node1 demoted, node3 not promoted yet, the address gone.
        let moving = CrmState {
            promoted: Vec::new(),
            unpromoted: names(&["node1", "node3"]),
            ..CrmState::default()
        };
        assert_eq!(
            wanted.missing(&moving),
            [
                "node3 is not promoted alone (promoted on: no node)",
                "the cluster address is on no node",
                "node2 not running as slave"
            ]
        );
        let done = CrmState {
            promoted: names(&["node3"]),
            unpromoted: names(&["node2", "node1"]),
            vip: Some("node3".into()),
            ..CrmState::default()
        };
        assert!(wanted.missing(&done).is_empty());
        assert_eq!(
            wanted.reached(Duration::from_millis(3400)),
            "node1, node2 run as slaves of node3 again (3.4 s)"
        );
        // The promotion alone, without an address to follow it.
        let promotion = Wanted {
            promoted: "node3",
            address: false,
            slaves: &[],
        };
        assert_eq!(promotion.describe(), "ms_db promoted on node3 alone");
        let two = CrmState {
            promoted: names(&["node1", "node3"]),
            ..CrmState::default()
        };
        assert_eq!(
            promotion.missing(&two),
            ["node3 is not promoted alone (promoted on: node1, node3)"]
        );
        assert!(promotion.missing(&done).is_empty());
        assert_eq!(
            promotion.reached(Duration::from_secs(2)),
            "node3 is master (2.0 s)"
        );
    }

    #[test]
    fn crm_mon_xml_reads_roles_address_and_quorum() {
        let xml = r#"<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml">
  <summary>
    <current_dc present="true" version="2.1.5" name="node2" id="2" with_quorum="true"/>
    <cluster_options stonith-enabled="false" symmetric-cluster="true" no-quorum-policy="stop" maintenance-mode="false" stop-all-resources="false"/>
  </summary>
  <nodes>
    <node name="node1" id="1" online="true" standby="false" resources_running="2" type="member"/>
    <node name="node2" id="2" online="true" standby="false" resources_running="1" type="member"/>
  </nodes>
  <resources>
    <clone id="ms_db" multi_state="true" unique="false" managed="true" disabled="false" failed="false" failure_ignored="false">
      <resource id="p_db" resource_agent="ocf:heartbeat:mariadb" role="Promoted" active="true" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1">
        <node name="node1" id="1" cached="true"/>
      </resource>
      <resource id="p_db" resource_agent="ocf:heartbeat:mariadb" role="Unpromoted" active="true" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1">
        <node name="node2" id="2" cached="true"/>
      </resource>
    </clone>
    <resource id="p_vip" resource_agent="ocf:heartbeat:IPaddr2" role="Started" active="true" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1">
      <node name="node1" id="1" cached="true"/>
    </resource>
  </resources>
</pacemaker-result>"#;
        let state = parse_crm_mon(xml);
        assert_eq!(state.online, vec!["node1", "node2"]);
        assert_eq!(state.promoted, vec!["node1"]);
        assert_eq!(state.unpromoted, vec!["node2"]);
        assert_eq!(state.vip.as_deref(), Some("node1"));
        assert!(state.quorate);
        assert!(!state.maintenance);
        let failed = parse_crm_mon(
            r#"    <failure op_key="p_db_monitor_2000" node="node2" exitstatus="error" exitreason="failed (2013): master &amp;apos;repl@192.0.2.11&amp;apos;" exitcode="1" call="11" status="complete"/>"#,
        );
        assert_eq!(
            failed.failures,
            ["p_db_monitor_2000 on node2: complete (failed (2013): master 'repl@192.0.2.11')"]
        );
    }
}
