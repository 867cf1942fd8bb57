//! Lab to Plan: an ordered, deterministic list of kernel operations with explicit
//! dependencies, so the engine can run independent ones concurrently.
//!
//! Every interface gets its ifindex here (`lo` is 1, the others count up from
//! `IFINDEX_BASE` in each namespace), which lets the engine create, enslave and address
//! interfaces without ever looking one up by name.

mod build;
pub mod graph;
mod op;
mod render;

pub use build::build;
pub use op::{NewInterface, NsId, Op, OpId, OpKind, VethEnd};
pub use render::render;

use crate::front::lab::{NodeId, SwitchId};

/// First ifindex given to created interfaces. High enough that devices the kernel adds to
/// every new namespace by itself (tunl0, gre0, sit0, ... when their modules are loaded)
/// never collide with ours.
pub const IFINDEX_BASE: u32 = 100;

/// Name of the bridge inside a switch's namespace.
pub const SWITCH_BRIDGE: &str = "br0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsOwner {
    Node(NodeId),
    Switch(SwitchId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Node name, or `switch:NAME` for a switch's hidden namespace.
    pub name: String,
    pub owner: NsOwner,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub lab: String,
    pub namespaces: Vec<Namespace>,
    pub ops: Vec<Op>,
}

impl Plan {
    pub fn ns(&self, id: NsId) -> &Namespace {
        &self.namespaces[id.0]
    }

    pub fn node_ns(&self, node: NodeId) -> NsId {
        NsId(node.0)
    }

    /// Operations grouped into waves: every op's dependencies are in earlier waves.
    /// Ops of one wave are independent and may run concurrently.
    pub fn waves(&self) -> Vec<Vec<OpId>> {
        let mut level = vec![0usize; self.ops.len()];
        for (i, op) in self.ops.iter().enumerate() {
            // Dependencies always point backwards, so one pass suffices.
            level[i] = op.deps.iter().map(|d| level[d.0] + 1).max().unwrap_or(0);
        }
        let depth = level.iter().copied().max().map(|m| m + 1).unwrap_or(0);
        let mut waves = vec![Vec::new(); depth];
        for (i, l) in level.into_iter().enumerate() {
            waves[l].push(OpId(i));
        }
        waves
    }
}
