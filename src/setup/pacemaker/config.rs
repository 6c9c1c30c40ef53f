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
    /// The node's own SQL client (`mariadb`), by its full path.
    pub client: String,
    /// With replication.tls: the options every `CHANGE MASTER` of the agent
    /// gets (`MASTER_SSL=1, MASTER_SSL_CA=..., MASTER_SSL_VERIFY_SERVER_CERT=1`),
    /// through [`AGENT_CLIENT`] as the agent's `client_binary`.
    pub tls_options: Option<String>,
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
    /// Parameters of every device.
    pub params: Vec<String>,
    /// Each node's own parameters (its BMC's address), in the layout's
    /// node order; all empty: one device fences every node.
    pub node_params: Vec<Vec<String>>,
    /// A password is given: `password="lrm://"`, the value in each node's
    /// Pacemaker local secrets.
    pub password: bool,
}

/// One stonith resource: its id, the nodes it fences, its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceDevice {
    pub id: String,
    pub targets: Vec<String>,
    pub params: Vec<String>,
}

/// The fence devices of a layout: one per node when any node has
/// parameters of its own (a BMC each), else one for all.
pub fn fence_devices(layout: &Layout) -> Vec<FenceDevice> {
    let Some(fence) = &layout.fence else {
        return Vec::new();
    };
    if fence.node_params.iter().all(Vec::is_empty) {
        return vec![FenceDevice {
            id: "p_fence".into(),
            targets: layout.nodes.iter().map(|n| n.name.clone()).collect(),
            params: fence.params.clone(),
        }];
    }
    layout
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let own = fence.node_params.get(i).cloned().unwrap_or_default();
            // A node's own value of a parameter replaces the shared one
            // (its BMC's `ip=` over a cluster-wide `ip=`): a device with
            // the parameter twice leaves the agent to pick one.
            let key = |param: &String| param.split('=').next().unwrap_or_default().to_string();
            let overridden: Vec<String> = own.iter().map(key).collect();
            let mut params: Vec<String> = fence
                .params
                .iter()
                .filter(|param| !overridden.contains(&key(param)))
                .cloned()
                .collect();
            params.extend(own);
            FenceDevice {
                id: format!(
                    "p_fence_{}",
                    node.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                ),
                targets: vec![node.name.clone()],
                params,
            }
        })
        .collect()
}

/// Where setup installs the client the agent runs its SQL through when
/// replication uses TLS (the agent's `client_binary` parameter).
pub const AGENT_CLIENT: &str = "/usr/local/sbin/mysql-ha-agent-client";

/// The agent's client with TLS. The `ocf:heartbeat:mariadb` agent points a
/// slave with its own `CHANGE MASTER TO` (host, port, user, password, GTID)
/// and no TLS option (it has no parameter for one), after `RESET SLAVE
/// ALL` has dropped whatever the slave had, and the server has no option
/// that makes TLS the default for a slave (MariaDB 10.11). The agent runs
/// every statement through its `client_binary`: this one adds the TLS
/// options to each `CHANGE MASTER TO` and hands everything else to the
/// real client unchanged, so every slave the agent points connects over
/// TLS and verifies its master's certificate. The replication accounts
/// `REQUIRE SSL`: a slave pointed any other way cannot log in.
pub fn agent_client_script(client: &str, tls_options: &str) -> String {
    let quoted = |text: &str| format!("'{}'", text.replace('\'', "'\\''"));
    format!(
        "#!/bin/sh\n\
         # Written by mysql-ha setup (cluster.manager = \"pacemaker\", replication.tls):\n\
         # Pacemaker's mariadb agent runs its SQL through this client (its client_binary).\n\
         # Every CHANGE MASTER TO it issues gets the TLS options below, so each slave\n\
         # it points replicates over TLS, verifying its master's certificate.\n\
         tls={}\n\
         for arg do\n    \
             shift\n    \
             case \"$arg\" in\n        \
                 *\"CHANGE MASTER TO\"*) arg=\"${{arg%;}}, $tls\" ;;\n    \
             esac\n    \
             set -- \"$@\" \"$arg\"\n\
         done\n\
         exec {} \"$@\"\n",
        quoted(tls_options),
        quoted(client)
    )
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
             host: {host}\n            algorithm: ffsplit\n            tls: required\n        }}\n    }}\n"
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

/// Two nodes with fencing and no quorum device: the fencing race that
/// priority-fencing-delay settles.
pub fn two_node_fencing(layout: &Layout) -> bool {
    layout.fence.is_some() && layout.witness.is_none() && layout.nodes.len() == 2
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
    // Two nodes without a quorum device both keep quorum when the link
    // between them goes: each may fence the other. Fencing the node that
    // runs the promoted instance waits (the clone's priority), so the
    // master's side wins that race.
    if two_node_fencing(layout) {
        text.push_str(&format!(
            "property cib-bootstrap-options: priority-fencing-delay={}s\n",
            (layout.token_ms * 2).div_ceil(1000).max(5)
        ));
    }
    text.push_str("rsc_defaults rsc-options: resource-stickiness=100\n");
    if let Some(fence) = &layout.fence {
        let password = if fence.password {
            " password=\"lrm://\""
        } else {
            ""
        };
        for device in fence_devices(layout) {
            text.push_str(&format!(
                "primitive {} stonith:{} params {}{password} pcmk_host_list=\"{}\" op monitor interval=60s\n",
                device.id,
                fence.agent,
                device.params.join(" "),
                device.targets.join(" ")
            ));
            // A node's own device runs on another node: a node that is
            // being fenced cannot be the one to do it.
            if let [target] = device.targets.as_slice() {
                text.push_str(&format!(
                    "location l_{}_elsewhere {} -inf: {target}\n",
                    device.id, device.id
                ));
            }
        }
    }
    let db = &layout.db;
    let promoted = layout.monitor_s.max(1);
    text.push_str(&format!(
        "primitive {DB_RESOURCE} ocf:heartbeat:mariadb \\\n    params node_list=\"{}\" binary=\"{}\" config=\"{}\" datadir=\"{}\" socket=\"{}\" pid=\"{}\" log=\"{}\" \\\n    \
         replication_user=\"{}\" replication_passwd=\"lrm://\" replication_port={}{} \\\n    \
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
        if db.tls_options.is_some() {
            format!(" client_binary=\"{AGENT_CLIENT}\"")
        } else {
            String::new()
        },
        promoted,
        promoted * 2,
        layout.migration_threshold,
    ));
    text.push_str(&format!(
        "clone {DB_CLONE} {DB_RESOURCE} meta promotable=true promoted-max=1 promoted-node-max=1 clone-max={} clone-node-max=1 notify=true{}\n",
        layout.nodes.len(),
        if two_node_fencing(layout) { " priority=10" } else { "" }
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
                client: "/usr/bin/mariadb".into(),
                tls_options: None,
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
                node_params: vec![Vec::new(), Vec::new()],
                password: false,
            }),
        }
    }

    #[test]
    fn the_agent_client_adds_tls_to_change_master_only() {
        let options =
            "MASTER_SSL=1, MASTER_SSL_CA='/etc/ssl/it''s/ca.pem', MASTER_SSL_VERIFY_SERVER_CERT=1";
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("client");
        // The real client here prints each argument it gets on a line.
        let printer = dir.path().join("printer");
        std::fs::write(&printer, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n").unwrap();
        std::fs::write(
            &script,
            agent_client_script(&printer.display().to_string(), options),
        )
        .unwrap();
        for file in [&script, &printer] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // The agent's set_master, as Debian 12's resource-agents runs it.
        let change = "CHANGE MASTER TO MASTER_HOST='192.0.2.12',         MASTER_PORT=3306,         MASTER_USER='repl',         MASTER_PASSWORD='p w',         MASTER_USE_GTID=current_pos";
        let out = std::process::Command::new(&script)
            .args(["-S", "/run/mysqld/mysqld.sock", "--user=repl", "-e", change])
            .output()
            .unwrap();
        let lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "-S".to_string(),
                "/run/mysqld/mysqld.sock".into(),
                "--user=repl".into(),
                "-e".into(),
                format!("{change}, {options}"),
            ]
        );
        // Everything else goes through unchanged, a trailing `;` too.
        let out = std::process::Command::new(&script)
            .args([
                "-e",
                "SHOW SLAVE STATUS\\G",
                "-e",
                "CHANGE MASTER TO MASTER_HOST='h';",
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("-e\nSHOW SLAVE STATUS\\G\n-e\nCHANGE MASTER TO MASTER_HOST='h', {options}\n")
        );
    }

    #[test]
    fn with_tls_the_agent_runs_its_sql_through_the_agent_client() {
        let mut layout = layout(None, false);
        assert!(!crm_configuration(&layout).contains("client_binary"));
        layout.db.tls_options = Some("MASTER_SSL=1".into());
        let text = crm_configuration(&layout);
        assert!(
            text.contains(
                "replication_port=3306 client_binary=\"/usr/local/sbin/mysql-ha-agent-client\""
            ),
            "{text}"
        );
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
        // The third vote's channel is authenticated both ways.
        assert!(with.contains("tls: required"), "{with}");
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
        // Without a quorum device the master's side wins a fencing race.
        assert!(fenced.contains("priority-fencing-delay=6s"), "{fenced}");
        assert!(fenced.contains("notify=true priority=10"), "{fenced}");
        let with_witness = crm_configuration(&layout(Some("192.0.2.100"), true));
        assert!(!with_witness.contains("priority"), "{with_witness}");
    }

    #[test]
    fn three_nodes_are_their_own_quorum_and_the_clone_spans_them_all() {
        let mut layout = layout(Some("192.0.2.100"), true);
        layout.nodes.push(ClusterNode {
            name: "node3".into(),
            address: "192.0.2.13".into(),
        });
        let fence = layout.fence.as_mut().unwrap();
        fence.node_params = vec![
            vec!["ip=192.0.2.211".into()],
            vec!["ip=192.0.2.212".into()],
            vec!["ip=192.0.2.213".into()],
        ];
        let conf = corosync_conf(&layout);
        assert!(
            conf.contains("ring0_addr: 192.0.2.13\n        name: node3\n        nodeid: 3"),
            "{conf}"
        );
        // No quorum device and no two_node: three votes of their own.
        assert!(!conf.contains("device"), "{conf}");
        assert!(!conf.contains("two_node"), "{conf}");
        let text = crm_configuration(&layout);
        assert!(text.contains("node_list=\"node1 node2 node3\""), "{text}");
        assert!(text.contains("clone-max=3"), "{text}");
        assert!(
            text.contains("primitive p_fence_node3 stonith:fence_ipmilan params ip=192.0.2.213 pcmk_host_list=\"node3\""),
            "{text}"
        );
        assert!(
            text.contains("location l_p_fence_node3_elsewhere p_fence_node3 -inf: node3"),
            "{text}"
        );
        // The two-node fencing race does not exist with a majority.
        layout.witness = None;
        let text = crm_configuration(&layout);
        assert!(!text.contains("priority"), "{text}");
        assert!(!corosync_conf(&layout).contains("two_node"));
    }

    #[test]
    fn a_bmc_per_node_is_a_device_per_node_run_elsewhere_with_its_password_out_of_the_cib() {
        let mut layout = layout(Some("192.0.2.100"), true);
        let fence = layout.fence.as_mut().unwrap();
        fence.params = vec!["username=admin".into(), "lanplus=1".into()];
        fence.node_params = vec![vec!["ip=192.0.2.211".into()], vec!["ip=192.0.2.212".into()]];
        fence.password = true;
        let devices = fence_devices(&layout);
        assert_eq!(
            devices.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            ["p_fence_node1", "p_fence_node2"]
        );
        let text = crm_configuration(&layout);
        assert!(text.contains("primitive p_fence_node1 stonith:fence_ipmilan params username=admin lanplus=1 ip=192.0.2.211 password=\"lrm://\" pcmk_host_list=\"node1\""), "{text}");
        assert!(text.contains("primitive p_fence_node2 stonith:fence_ipmilan params username=admin lanplus=1 ip=192.0.2.212 password=\"lrm://\" pcmk_host_list=\"node2\""), "{text}");
        assert!(
            text.contains("location l_p_fence_node1_elsewhere p_fence_node1 -inf: node1"),
            "{text}"
        );
        assert!(
            text.contains("location l_p_fence_node2_elsewhere p_fence_node2 -inf: node2"),
            "{text}"
        );
        assert!(text.contains("stonith-enabled=true"), "{text}");
    }
}
