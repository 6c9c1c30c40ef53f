//! The cluster as `crm_mon --output-as=xml` shows it.

use super::{DB_RESOURCE, VIP_RESOURCE};
use crate::node::Node;
use crate::{Error, Result};

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

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
