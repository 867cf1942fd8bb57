//! A probe's drops in the lab's words: the namespace becomes a node (or `switch:NAME`),
//! the interface index a name.

use crate::drops::{RawDrop, reasons};
use crate::engine::LiveLab;
use crate::lab::NodeId;
use crate::results::{DropMethod, DropObserved};

/// Frees that follow a delivery rather than prevent one: the copy of an echo reply that
/// the raw probe socket already received, freed by the kernel's ping handler for want of
/// a ping socket; a closing socket's unread queue. Seen around every successful probe.
fn after_delivery(live: &LiveLab, from: NodeId, d: &RawDrop, reason: &str) -> bool {
    let echo_reply = matches!((d.proto, (d.dport >> 8) as u8), (1, 0) | (58, 129));
    let at_sender = live.node_ns(from).inode as u32 == d.netns;
    matches!(reason, "queue-purge" | "socket-close" | "tcp-close")
        || (echo_reply && at_sender && matches!(reason, "no-socket" | "not-specified"))
}

/// The drop that decided the probe's fate: the last one after which nothing could answer,
/// else the last named one that was not a delivered packet's copy. For a probe that was
/// answered (`ok`), only a real loss on the way counts.
pub async fn attribute(
    live: &LiveLab,
    from: NodeId,
    ok: bool,
    drops: &[(RawDrop, String)],
) -> Option<DropObserved> {
    let real: Vec<&(RawDrop, String)> = drops
        .iter()
        .filter(|(d, r)| !after_delivery(live, from, d, r))
        .filter(|(_, r)| !(ok && r == "not-specified"))
        .collect();
    // `not-specified` is what generic frees say: any named reason tells more.
    let (d, reason) = real
        .iter()
        .rev()
        .find(|(_, r)| reasons::is_terminal(r))
        .or_else(|| real.iter().rev().find(|(_, r)| r != "not-specified"))
        .or_else(|| real.last())
        .copied()?;
    let i = live
        .namespaces
        .iter()
        .position(|ns| ns.inode as u32 == d.netns)?;
    let interface = match d.ifindex {
        0 => None,
        ifindex => crate::probe::interface_name(live.namespaces[i].fd(), ifindex).await,
    };
    Some(DropObserved {
        node: live.plan.namespaces[i].name.clone(),
        interface,
        reason: reason.clone(),
        method: DropMethod::Ebpf,
    })
}
