//! Waiting until interfaces can carry traffic. An interface that is up and has carrier
//! still drops what it sends until the kernel's link watcher has processed the carrier
//! event and attached its queueing discipline; for bridges that event may be held back
//! for up to a second. Probing before that loses the first packets (and costs a one-second
//! ARP retransmit), so the build waits for it.
//!
//! A bridge without ports is the opposite case: it loses carrier while it is being made
//! (giving it its MAC address runs the bridge's port state selection, which turns the
//! carrier of a bridge without live ports off), and the link watcher holds that event
//! back for up to a second, because a bridge is not a stacked device. When the event is
//! finally processed, the ARP code flushes the bridge's neighbour entries
//! (`neigh_carrier_down`) and with them the packets queued on an unresolved entry, without
//! an ICMP error: a probe sent in that second was lost without a trace, and the check saw
//! `timeout` where every later probe saw `host-unreachable`. A targeted RTM_GETLINK makes
//! the kernel process a device's pending link event at once (`rtnl_getlink` calls
//! `linkwatch_sync_dev`), so the build asks once for every such device and no event is
//! left to fire under a probe.

use std::time::{Duration, Instant};

use netlink_packet_core::NLM_F_REQUEST;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::LinkMessage;

use crate::kernel::netlink::Links;
use futures::StreamExt;

use super::LiveLab;
use crate::front::lab::NodeId;
use crate::kernel::netlink::Netlink;
use crate::plan::{NsId, NsOwner};

const POLL: Duration = Duration::from_millis(20);
/// Nodes looked at at once.
const SETTLE_CONCURRENCY: usize = 64;

/// Whether some interface has carrier but is not yet operationally up. Only stacked
/// devices (veth, vlan, macvlan, tunnels: IFLA_LINK names another device) count: their
/// carrier events are processed at once, while a bridge's may wait a second although its
/// queue works from the moment it is opened.
async fn pending(nl: &Netlink) -> bool {
    match Links::read(nl).await {
        Ok(links) => links
            .all()
            .any(|l| l.up && l.carrier && !l.oper_up && l.stacked),
        // A namespace we cannot read is not something to wait for.
        Err(_) => false,
    }
}

/// Have the kernel process the pending link events of the namespace's devices that are not
/// stacked (bridges, dummies): a GET of one link syncs its link-watch state.
async fn sync_unstacked(nl: &Netlink) {
    let Ok(links) = Links::read(nl).await else {
        return;
    };
    let get = links
        .all()
        .filter(|l| l.up && !l.stacked && l.name != "lo")
        .map(|l| {
            let mut m = LinkMessage::default();
            m.header.index = l.index;
            nl.request(RouteNetlinkMessage::GetLink(m), NLM_F_REQUEST)
        });
    // A device that went away meanwhile has no event left to process.
    let _ = futures::future::join_all(get).await;
}

/// Wait (at most `limit`) until no interface in the lab's nodes has a pending carrier
/// event. Returns how long it took. Nodes are looked at a bounded number at a time, each
/// holding its netlink connection only while it is looked at: a large lab has fewer
/// connections open than nodes (see `connections`).
pub async fn links_ready(live: &LiveLab, limit: Duration) -> Duration {
    let start = Instant::now();
    let deadline = start + limit;
    let node = |n: NodeId| async move {
        // A namespace we cannot reach is not something to wait for.
        let Ok(nl) = live.node_netlink(n).await else {
            return;
        };
        sync_unstacked(&nl).await;
        while Instant::now() < deadline && pending(&nl).await {
            tokio::time::sleep(POLL).await;
        }
    };
    futures::stream::iter((0..live.lab.nodes.len()).map(NodeId))
        .for_each_concurrent(SETTLE_CONCURRENCY, node)
        .await;
    start.elapsed()
}

/// After a step set a node's interface up: wait (at most `limit`) until neither the node
/// nor any switch (where its link's other end is a bridge port) has a pending carrier
/// event, as the build does. A bridge port whose carrier event is still queued is left out
/// of forwarding and flooding, so a probe sent at once was lost (seen on a loaded host:
/// the ping after `up` timed out while other hosts on the switch saw its flood).
pub async fn after_up(live: &LiveLab, node: NodeId, limit: Duration) {
    let deadline = Instant::now() + limit;
    let node_ns = live.plan.node_ns(node);
    let ids: Vec<NsId> = (0..live.namespaces.len())
        .map(NsId)
        .filter(|&id| id == node_ns || matches!(live.plan.ns(id).owner, NsOwner::Switch(_)))
        .collect();
    for id in ids {
        let Ok(nl) = live.ns_netlink(id).await else {
            continue;
        };
        while Instant::now() < deadline && pending(&nl).await {
            tokio::time::sleep(POLL).await;
        }
    }
}
