//! Per-node kernel state read back over netlink, rendered deterministically: names instead
//! of indexes, no kernel-random values (link-local addresses, generated MACs, neighbour
//! timers), sorted. Used by snapshots and by the engine's own tests.

mod addresses;

mod neighbours;
mod nft;
mod routes;
mod rules;

use std::collections::BTreeMap;

use crate::kernel::netlink::Links;

use crate::front::lab::{NodeId, StateKind};
use crate::kernel::engine::LiveLab;
use crate::kernel::netlink::{Netlink, NlError};

/// Why a node's state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A netlink dump was refused.
    #[error("{0}")]
    Netlink(NlError),
    #[error("nft: {0}")]
    NftStart(#[source] std::io::Error),
    /// `nft list ruleset` ran and failed: its output.
    #[error("nft list ruleset failed: {0}")]
    Nft(String),
}

impl From<NlError> for StateError {
    fn from(e: NlError) -> StateError {
        StateError::Netlink(e)
    }
}

/// The state of one node, one rendered line per entry, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeState {
    pub node: String,
    pub sections: BTreeMap<StateKind, Vec<String>>,
}

impl NodeState {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (kind, lines) in &self.sections {
            out.push_str(&format!("{}:\n", kind.as_str()));
            if lines.is_empty() {
                out.push_str("  (none)\n");
            }
            for l in lines {
                out.push_str(&format!("  {l}\n"));
            }
        }
        out
    }
}

/// Who owns each MAC address of the lab ("node:iface"), so neighbour entries can name the
/// neighbour instead of printing a random MAC.
pub async fn mac_owners(live: &LiveLab) -> Result<BTreeMap<[u8; 6], String>, NlError> {
    let mut owners = BTreeMap::new();
    for (i, node) in live.lab.nodes.iter().enumerate() {
        let links = Links::read(&live.node_netlink(NodeId(i)).await?).await?;
        for l in links.all() {
            if let Some(mac) = l.mac {
                owners.insert(mac, format!("{}:{}", node.name, l.name));
            }
        }
    }
    Ok(owners)
}

/// Read the selected kinds of state of one node.
pub async fn read(
    live: &LiveLab,
    node: NodeId,
    kinds: &[StateKind],
    macs: &BTreeMap<[u8; 6], String>,
) -> Result<NodeState, StateError> {
    let nl: &Netlink = &live.node_netlink(node).await?;
    let links = Links::read(nl).await?;
    let mut state = NodeState {
        node: live.lab.node(node).name.clone(),
        sections: BTreeMap::new(),
    };
    for kind in kinds {
        let lines = match kind {
            StateKind::Addresses => addresses::read(nl, &links).await?,
            StateKind::Routes => routes::read(nl, &links).await?,
            StateKind::Rules => rules::read(nl).await?,
            StateKind::Neighbours => neighbours::read(nl, &links, macs).await?,
            StateKind::Nft => nft::read(live.node_ns(node)).await?,
        };
        state.sections.insert(*kind, lines);
    }
    Ok(state)
}

impl crate::error::Classified for StateError {
    fn exit(&self) -> crate::error::Exit {
        crate::error::Exit::Kernel
    }
}
