//! A built lab: everything it owns. Dropping it tears the lab down: processes are
//! killed, descriptors closed, and the kernel frees the namespaces with all they hold.

use std::sync::Arc;

use super::netlink::Netlink;
use super::netns::{Netns, Workers};
use crate::lab::{Lab, NodeId};
use crate::plan::{NsId, Plan};

/// Something running for the lab that must stop with it (responders, services).
pub trait Running: Send + Sync {
    fn stop(&mut self);
}

pub struct LiveLab {
    pub lab: Lab,
    pub plan: Plan,
    pub namespaces: Vec<Netns>,
    pub netlink: Vec<Netlink>,
    pub workers: Arc<Workers>,
    pub running: Vec<Box<dyn Running>>,
    /// Output of the setup commands, per node, for reports.
    pub exec_log: Vec<(NodeId, String, String)>,
    /// Private keys of the WireGuard interfaces, given or generated for this run.
    pub wireguard: super::wireguard::Keys,
}

impl LiveLab {
    pub fn ns(&self, id: NsId) -> &Netns {
        &self.namespaces[id.0]
    }

    pub fn node_ns(&self, node: NodeId) -> &Netns {
        &self.namespaces[self.plan.node_ns(node).0]
    }

    pub fn node_netlink(&self, node: NodeId) -> &Netlink {
        &self.netlink[self.plan.node_ns(node).0]
    }

    /// Tear down explicitly (also what Drop does).
    pub fn teardown(&mut self) {
        for r in self.running.iter_mut().rev() {
            r.stop();
        }
        self.running.clear();
        self.netlink.clear();
        self.namespaces.clear();
    }
}

impl Drop for LiveLab {
    fn drop(&mut self) {
        self.teardown();
    }
}
