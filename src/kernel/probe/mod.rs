//! Probes and responders: the part of a check that talks to the kernel from inside a node.
//!
//! Every socket is created inside the node's network namespace by one dedicated thread
//! (`netns`) and checked by the host guard (`kernel::host_guard`) before anything is sent; then the probe
//! runs on tokio, so thousands run concurrently. What a probe saw is an `Observation` in
//! the outcome vocabulary (`classify` holds the table).

mod budget;
mod classify;
mod error;
mod errqueue;
mod icmp;
mod netns;
mod observation;
mod ping;
pub mod responder;
mod route;
mod sys;
mod tcp;
mod trace;
mod udp;
mod wait;

use std::os::fd::BorrowedFd;
use std::time::Duration;

pub use error::ProbeError;
pub use netns::{SocketKind, socket_in};
pub use observation::{Observation, RouteInfo, TraceHop};
pub use responder::{Responder, start};

use crate::front::lab::Probe;

/// What an ICMP error says in the outcome vocabulary (`host-unreachable`), or its type and
/// code when it is none of those.
pub fn icmp_error_name(v6: bool, icmp_type: u8, code: u8) -> String {
    let outcome = if v6 {
        classify::icmp6(icmp_type, code)
    } else {
        classify::icmp4(icmp_type, code)
    };
    match outcome {
        Some(o) => o.to_string(),
        None => format!("icmp type {icmp_type} code {code}"),
    }
}

/// Runs one probe inside the namespace `ns`, waiting at most `timeout` for its answer.
///
/// `Err` means the probe could not be made at all (the guard refused it, the source address
/// is not the node's, ...); everything the network answered, including silence, is an
/// `Observation`.
pub async fn run(
    ns: BorrowedFd<'_>,
    probe: &Probe,
    timeout: Duration,
) -> Result<Observation, ProbeError> {
    let _permit = match probe {
        Probe::Trace { max_hops, .. } => budget::permits(u32::from(*max_hops)).await,
        _ => budget::permit().await,
    };
    match probe {
        Probe::Ping {
            dst,
            count,
            size,
            dont_fragment,
            ttl,
            source,
        } => {
            let spec = ping::Ping {
                dst: *dst,
                count: *count,
                size: *size,
                dont_fragment: *dont_fragment,
                ttl: *ttl,
                source: *source,
            };
            ping::run(ns, &spec, timeout).await
        }
        Probe::Tcp {
            dst,
            ttl,
            source,
            send,
        } => {
            let spec = tcp::Tcp {
                dst: *dst,
                ttl: *ttl,
                source: *source,
                send: *send,
            };
            tcp::run(ns, &spec, timeout).await
        }
        Probe::Udp {
            dst,
            size,
            dont_fragment,
            ttl,
            source,
        } => {
            let spec = udp::Udp {
                dst: *dst,
                size: *size,
                dont_fragment: *dont_fragment,
                ttl: *ttl,
                source: *source,
            };
            udp::run(ns, &spec, timeout).await
        }
        Probe::Route { dst, source, iif } => {
            route::run(ns, *dst, *source, iif.as_deref(), timeout).await
        }
        // Run by checks::command, inside the node's namespaces, not as a socket probe.
        Probe::Command { .. } => Err(ProbeError::Invalid(
            "a command is not a network probe".into(),
        )),
        Probe::Trace {
            dst,
            proto,
            port,
            max_hops,
            source,
        } => {
            let spec = trace::Trace {
                dst: *dst,
                proto: *proto,
                port: *port,
                max_hops: *max_hops,
                source: *source,
            };
            trace::run(ns, &spec, timeout).await
        }
    }
}

/// Name of the interface `ifindex` in the namespace `ns` (SIOCGIFNAME on a socket made
/// there: interface indexes are per namespace).
pub async fn interface_name(ns: BorrowedFd<'_>, ifindex: u32) -> Option<String> {
    use std::os::fd::AsRawFd;
    let sock = netns::socket_in(
        ns,
        netns::SocketKind {
            domain: libc::AF_INET,
            ty: libc::SOCK_DGRAM,
            protocol: 0,
        },
    )
    .await
    .ok()?;
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    req.ifr_ifru.ifru_ifindex = i32::try_from(ifindex).ok()?;
    // SAFETY: SIOCGIFNAME reads the index and writes a NUL-terminated name into `req`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFNAME, &mut req) } < 0 {
        return None;
    }
    let name: Vec<u8> = req
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8(name).ok()
}
