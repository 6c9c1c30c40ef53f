//! The texts the Pacemaker hand-off writes: corosync.conf and the crm
//! shell configuration, from one layout of the cluster.

use crate::answers::ArpMode;

use super::{CLUSTER_NAME, DB_CLONE, DB_RESOURCE, VIP_RESOURCE};

/// One corosync node: its name as `uname -n` says (Pacemaker's node name)
/// and the address the others reach it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    pub name: String,
    pub address: String,
}

/// What the configuration texts are made of.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The master first.
    pub nodes: Vec<ClusterNode>,
    /// The qnetd host; None: two_node.
    pub witness: Option<String>,
    /// Corosync's token timeout: the daemon's check interval times its
    /// failure threshold (how long a silent node is given).
    pub token_ms: u64,
    /// Monitor interval of the promoted instance (the daemon's check
    /// interval, whole seconds); the unpromoted one is twice that.
    pub monitor_s: u64,
    /// Failures on a node before Pacemaker moves the master away.
    pub migration_threshold: u32,
    pub vip: Option<Vip>,
    pub db: DbParams,
    pub fence: Option<Fence>,
}

#[derive(Debug, Clone)]
pub struct Vip {
    pub address: String,
    pub prefix: String,
    pub device: String,
    pub arp: ArpMode,
}

#[derive(Debug, Clone)]
pub struct DbParams {
    pub binary: String,
    pub config: String,
    pub datadir: String,
    pub socket: String,
    pub pid: String,
    pub log: String,
    pub replication_user: String,
    pub replication_port: u16,
}

#[derive(Debug, Clone)]
pub struct Fence {
    pub agent: String,
    pub params: Vec<String>,
}

/// corosync.conf: knet between the nodes' addresses, and the quorum: a
/// qdevice on the witness, or two_node without one.
pub fn corosync_conf(layout: &Layout) -> String {
    let mut text = format!(
        "# Written by mysql-ha setup (cluster.manager = \"pacemaker\").\n\
         totem {{\n    version: 2\n    cluster_name: {CLUSTER_NAME}\n    transport: knet\n    \
         crypto_cipher: aes256\n    crypto_hash: sha256\n    token: {}\n}}\n\nnodelist {{\n",
        layout.token_ms
    );
    for (i, node) in layout.nodes.iter().enumerate() {
        text.push_str(&format!(
            "    node {{\n        ring0_addr: {}\n        name: {}\n        nodeid: {}\n    }}\n",
            node.address,
            node.name,
            i + 1
        ));
    }
    text.push_str("}\n\nquorum {\n    provider: corosync_votequorum\n");
    match &layout.witness {
        Some(host) if layout.nodes.len().is_multiple_of(2) => text.push_str(&format!(
            "    device {{\n        votes: 1\n        model: net\n        net {{\n            \
             host: {host}\n            algorithm: ffsplit\n            tls: off\n        }}\n    }}\n"
        )),
        Some(_) => {}
        None if layout.nodes.len() == 2 => text.push_str("    two_node: 1\n"),
        None => {}
    }
    text.push_str(
        "}\n\nlogging {\n    to_logfile: yes\n    logfile: /var/log/corosync/corosync.log\n    \
         to_syslog: yes\n    timestamp: on\n}\n",
    );
    text
}

/// The crm shell configuration: properties, the fence device, the
/// database clone, the cluster address and their constraints.
pub fn crm_configuration(layout: &Layout) -> String {
    let names: Vec<&str> = layout.nodes.iter().map(|n| n.name.as_str()).collect();
    let mut text =
        String::from("# Written by mysql-ha setup; loaded with `crm configure load update`.\n");
    let stonith = layout.fence.is_some();
    text.push_str(&format!(
        "property cib-bootstrap-options: stonith-enabled={stonith} no-quorum-policy=stop cluster-recheck-interval=1min\n"
    ));
    text.push_str("rsc_defaults rsc-options: resource-stickiness=100\n");
    if let Some(fence) = &layout.fence {
        text.push_str(&format!(
            "primitive p_fence stonith:{} params {} pcmk_host_list=\"{}\" op monitor interval=60s\n",
            fence.agent,
            fence.params.join(" "),
            names.join(" ")
        ));
    }
    let db = &layout.db;
    let promoted = layout.monitor_s.max(1);
    text.push_str(&format!(
        "primitive {DB_RESOURCE} ocf:heartbeat:mariadb \\\n    params node_list=\"{}\" binary=\"{}\" config=\"{}\" datadir=\"{}\" socket=\"{}\" pid=\"{}\" log=\"{}\" \\\n    \
         replication_user=\"{}\" replication_passwd=\"lrm://\" replication_port={} \\\n    \
         op start timeout=120s interval=0 op stop timeout=120s interval=0 \\\n    \
         op promote timeout=120s interval=0 op demote timeout=120s interval=0 \\\n    \
         op monitor role=Promoted interval={}s timeout=30s \\\n    \
         op monitor role=Unpromoted interval={}s timeout=30s \\\n    \
         meta migration-threshold={}\n",
        names.join(" "),
        db.binary,
        db.config,
        db.datadir,
        db.socket,
        db.pid,
        db.log,
        db.replication_user,
        db.replication_port,
        promoted,
        promoted * 2,
        layout.migration_threshold,
    ));
    text.push_str(&format!(
        "clone {DB_CLONE} {DB_RESOURCE} meta promotable=true promoted-max=1 promoted-node-max=1 clone-max={} clone-node-max=1 notify=true\n",
        layout.nodes.len()
    ));
    if let Some(vip) = &layout.vip {
        // IPaddr2 always announces the address (arp_count > 0); "always"
        // also refreshes it on every monitor.
        let arp = match vip.arp {
            ArpMode::Never => "arp_count=1",
            ArpMode::WhenNeeded => "arp_count=5",
            ArpMode::Always => "arp_count=5 arp_count_refresh=5",
        };
        text.push_str(&format!(
            "primitive {VIP_RESOURCE} ocf:heartbeat:IPaddr2 params ip={} cidr_netmask={} nic={} {arp} op monitor interval={promoted}s timeout=20s\n",
            vip.address, vip.prefix, vip.device
        ));
        text.push_str(&format!(
            "colocation vip_with_promoted_db inf: {VIP_RESOURCE} {DB_CLONE}:Promoted\n"
        ));
        text.push_str(&format!(
            "order vip_after_promote Mandatory: {DB_CLONE}:promote {VIP_RESOURCE}:start\n"
        ));
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn layout(witness: Option<&str>, fence: bool) -> Layout {
        Layout {
            nodes: vec![
                ClusterNode {
                    name: "node1".into(),
                    address: "192.0.2.11".into(),
                },
                ClusterNode {
                    name: "node2".into(),
                    address: "192.0.2.12".into(),
                },
            ],
            witness: witness.map(str::to_string),
            token_ms: 3000,
            monitor_s: 1,
            migration_threshold: 3,
            vip: Some(Vip {
                address: "192.0.2.10".into(),
                prefix: "24".into(),
                device: "eth0".into(),
                arp: ArpMode::WhenNeeded,
            }),
            db: DbParams {
                binary: "/usr/bin/mysqld_safe".into(),
                config: "/etc/mysql/my.cnf".into(),
                datadir: "/var/lib/mysql".into(),
                socket: "/run/mysqld/mysqld.sock".into(),
                pid: "/run/mysqld/mysqld.pid".into(),
                log: "/var/lib/mysql/error.log".into(),
                replication_user: "repl".into(),
                replication_port: 3306,
            },
            fence: fence.then(|| Fence {
                agent: "fence_ipmilan".into(),
                params: vec!["ip=192.0.2.200".into()],
            }),
        }
    }

    #[test]
    fn corosync_conf_has_the_nodes_and_a_qdevice_or_two_node() {
        let with = corosync_conf(&layout(Some("192.0.2.100"), false));
        assert!(with.contains("transport: knet"), "{with}");
        assert!(
            with.contains("ring0_addr: 192.0.2.11\n        name: node1\n        nodeid: 1"),
            "{with}"
        );
        assert!(with.contains("host: 192.0.2.100"), "{with}");
        assert!(!with.contains("two_node"), "{with}");
        assert!(with.contains("token: 3000"), "{with}");
        let without = corosync_conf(&layout(None, false));
        assert!(without.contains("two_node: 1"), "{without}");
        assert!(!without.contains("device"), "{without}");
    }

    #[test]
    fn the_crm_configuration_keeps_the_password_out_and_ties_the_address_to_the_master() {
        let text = crm_configuration(&layout(None, false));
        assert!(text.contains("replication_passwd=\"lrm://\""), "{text}");
        assert!(text.contains("stonith-enabled=false"), "{text}");
        assert!(
            text.contains("colocation vip_with_promoted_db inf: p_vip ms_db:Promoted"),
            "{text}"
        );
        assert!(
            text.contains("order vip_after_promote Mandatory: ms_db:promote p_vip:start"),
            "{text}"
        );
        assert!(
            text.contains("op monitor role=Promoted interval=1s"),
            "{text}"
        );
        assert!(
            text.contains("op monitor role=Unpromoted interval=2s"),
            "{text}"
        );
        assert!(text.contains("promotable=true"), "{text}");
        assert!(text.contains("node_list=\"node1 node2\""), "{text}");
        let fenced = crm_configuration(&layout(None, true));
        assert!(fenced.contains("stonith-enabled=true"), "{fenced}");
        assert!(fenced.contains("primitive p_fence stonith:fence_ipmilan params ip=192.0.2.200 pcmk_host_list=\"node1 node2\""), "{fenced}");
    }
}
