//! Waiting until interfaces can carry traffic. An interface that is up and has carrier
//! still drops what it sends until the kernel's link watcher has processed the carrier
//! event and attached its queueing discipline; for bridges that event may be held back
//! for up to a second. Probing before that loses the first packets (and costs a one-second
//! ARP retransmit), so the build waits for it.

use std::time::{Duration, Instant};

use super::netlink::Netlink;
use crate::state::Links;

const POLL: Duration = Duration::from_millis(20);

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

/// Wait (at most `limit`) until no interface in these namespaces has a pending carrier
/// event. Returns how long it took.
pub async fn links_ready(netlinks: &[Netlink], limit: Duration) -> Duration {
    let start = Instant::now();
    let mut waiting: Vec<&Netlink> = netlinks.iter().collect();
    while !waiting.is_empty() && start.elapsed() < limit {
        let still = futures::future::join_all(waiting.iter().map(|nl| pending(nl))).await;
        waiting = waiting
            .into_iter()
            .zip(still)
            .filter(|(_, p)| *p)
            .map(|(nl, _)| nl)
            .collect();
        if !waiting.is_empty() {
            tokio::time::sleep(POLL).await;
        }
    }
    start.elapsed()
}
