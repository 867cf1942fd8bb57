//! A built lab: everything it owns. Dropping it tears the lab down: processes are
//! killed, descriptors closed, and the kernel frees the namespaces with all they hold.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::netns::{Netns, Workers};
use super::services::ServiceProc;
use crate::front::lab::{Lab, NodeId};
use crate::kernel::netlink::{Netlink, NlError};
use crate::kernel::probe::Responder;
use crate::plan::{NsId, Plan};

pub struct LiveLab {
    pub lab: Lab,
    pub plan: Plan,
    pub namespaces: Vec<Netns>,
    /// Netlink connections per namespace, opened on demand (see `connections`).
    pub netlink: super::connections::Connections,
    /// The ifindex of every interface the build made (and of each `lo`), by namespace
    /// and name: steps address interfaces by these, never by dumping links.
    pub ifindexes: HashMap<(NsId, String), u32>,
    pub workers: Arc<Workers>,
    pub responders: Vec<Responder>,
    /// Locked while a step starts or stops one.
    pub services: Mutex<Vec<ServiceProc>>,
    /// Output of the setup commands, per node, for reports.
    pub exec_log: Vec<(NodeId, String, String)>,
    /// Private keys of the WireGuard interfaces, given or generated for this run.
    pub wireguard: super::wireguard::Keys,
    /// Drop tracing for the checks, when the run asked for it.
    pub drops: Option<Arc<crate::kernel::drops::Session>>,
}

impl LiveLab {
    pub fn ns(&self, id: NsId) -> &Netns {
        &self.namespaces[id.0]
    }

    pub fn node_ns(&self, node: NodeId) -> &Netns {
        &self.namespaces[self.plan.node_ns(node).0]
    }

    /// The netlink connection of a node's namespace.
    pub async fn node_netlink(&self, node: NodeId) -> Result<Netlink, NlError> {
        self.ns_netlink(self.plan.node_ns(node)).await
    }

    /// The netlink connection of any of the lab's namespaces (nodes and switches).
    pub async fn ns_netlink(&self, id: NsId) -> Result<Netlink, NlError> {
        self.netlink
            .get(id.0, &self.namespaces[id.0], &self.workers)
            .await
    }

    /// The ifindex the build gave `iface` of `node`.
    pub fn ifindex(&self, node: NodeId, iface: &str) -> Option<u32> {
        self.ifindexes
            .get(&(self.plan.node_ns(node), iface.to_string()))
            .copied()
    }

    /// Tear down explicitly (also what Drop does). Services are killed (their process
    /// handles kill on drop), responders stop, then the namespaces go.
    pub fn teardown(&mut self) {
        // Unregistered from the drop tracer while the namespaces still exist: their inode
        // numbers are free for other labs' namespaces the moment they go.
        self.drops = None;
        self.services.get_mut().clear();
        self.responders.clear();
        self.netlink.clear();
        self.namespaces.clear();
    }
}

impl Drop for LiveLab {
    fn drop(&mut self) {
        self.teardown();
    }
}
