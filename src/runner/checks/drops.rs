//! A probe's drops in the lab's words: the namespace becomes a node (or `switch:NAME`),
//! the interface index a name.

use crate::front::lab::NodeId;
use crate::kernel::drops::{RawDrop, Seen, reasons};
use crate::kernel::engine::LiveLab;
use crate::runner::results::{DropMethod, DropObserved};

/// Frees that follow a delivery rather than prevent one: the copy of an echo reply that
/// the raw probe socket already received, freed by the kernel's ping handler for want of
/// a ping socket and a closing socket's unread queue, seen around every successful
/// probe; the leftover of an ICMP error the sender received.
fn after_delivery(live: &LiveLab, from: NodeId, d: &RawDrop, reason: &str) -> bool {
    // An ICMP error quoting a reply is not a copy of a delivered one.
    let echo_reply =
        d.error.is_none() && matches!((d.proto, (d.dport >> 8) as u8), (1, 0) | (58, 129));
    let at_sender = live.node_ns(from).inode as u32 == d.netns;
    // An ICMP error about the probe, freed in the sender's own namespace without a named
    // reason, is the leftover of an error it received: a real loss there has one
    // (`ip-rpfilter`, `netfilter-drop`). WireGuard answers an address no peer allows with
    // a host-unreachable from the sender's own tunnel address, freed on lo afterwards.
    let error_copy = d.error.is_some() && at_sender;
    matches!(reason, "queue-purge" | "socket-close" | "tcp-close")
        || ((echo_reply || error_copy)
            && at_sender
            && matches!(reason, "no-socket" | "not-specified"))
}

fn node_of(live: &LiveLab, netns: u32) -> Option<usize> {
    live.namespaces
        .iter()
        .position(|ns| ns.inode as u32 == netns)
}

/// The drop that decided the probe's fate: the last one after which nothing could answer,
/// else the last named one that was not a delivered packet's copy. For a probe that was
/// answered (`ok`), only a real loss on the way counts. From counters: the most telling
/// counter that moved, in the probing node first (its own kernel is the likeliest to
/// have refused), then in the lab's order.
pub async fn attribute(
    live: &LiveLab,
    from: NodeId,
    ok: bool,
    seen: &[Seen],
) -> Option<DropObserved> {
    let kernel: Vec<(&RawDrop, &String)> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Kernel(d, r) => Some((d, r)),
            Seen::Counter { .. } => None,
        })
        .filter(|(d, r)| !after_delivery(live, from, d, r))
        .filter(|(_, r)| !(ok && *r == "not-specified"))
        .collect();
    if kernel.is_empty() {
        return counted(live, seen);
    }
    // `not-specified` is what generic frees say: any named reason tells more.
    let (d, reason) = kernel
        .iter()
        .rev()
        .find(|(_, r)| reasons::is_terminal(r))
        .or_else(|| kernel.iter().rev().find(|(_, r)| *r != "not-specified"))
        .or_else(|| kernel.last())
        .copied()?;
    let i = node_of(live, d.netns)?;
    let interface = match d.ifindex {
        0 => None,
        ifindex => crate::kernel::probe::interface_name(live.namespaces[i].fd(), ifindex).await,
    };
    Some(DropObserved {
        node: live.plan.namespaces[i].name.clone(),
        interface,
        reason: reason.clone(),
        method: DropMethod::Ebpf,
        icmp_error: d.error.map(|q| {
            let name = crate::kernel::probe::icmp_error_name(d.dst.is_ipv6(), q.icmp_type, q.code);
            format!("{name} from {}", q.from)
        }),
    })
}

fn counted(live: &LiveLab, seen: &[Seen]) -> Option<DropObserved> {
    // The order of the counters' telling-ness is kept per namespace; across namespaces
    // the reverse-path filter and unresolved neighbours win over generic discards.
    let rank = |name: &str| {
        reasons::COUNTERS
            .iter()
            .position(|(_, c)| c.contains(&name))
            .unwrap_or(usize::MAX)
    };
    let (netns, name, interface) = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Counter {
                netns,
                name,
                interface,
            } => Some((*netns, name, interface)),
            Seen::Kernel(..) => None,
        })
        .min_by_key(|(_, name, _)| rank(name))?;
    let i = node_of(live, netns)?;
    Some(DropObserved {
        node: live.plan.namespaces[i].name.clone(),
        interface: interface.clone(),
        reason: name.clone(),
        method: DropMethod::Counters,
        icmp_error: None,
    })
}
