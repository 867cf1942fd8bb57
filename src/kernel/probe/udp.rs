//! One UDP datagram to a built-in echo responder.
//!
//! The socket is connected, so only the destination's answer is read and the kernel queues
//! the ICMP errors about it (port-unreachable for a closed port, and all the routing ones).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

use crate::front::lab::Outcome;

use super::classify::Finding;
use super::netns::{SocketKind, socket_in};
use super::{Observation, ProbeError, classify, errqueue, icmp, sys, wait};

#[derive(Debug, Clone)]
pub struct Udp {
    pub dst: SocketAddr,
    pub size: u32,
    pub dont_fragment: bool,
    pub ttl: Option<u8>,
    pub source: Option<IpAddr>,
}

pub async fn run(
    ns: BorrowedFd<'_>,
    p: &Udp,
    timeout: Duration,
) -> Result<Observation, ProbeError> {
    let v6 = p.dst.is_ipv6();
    let kind = SocketKind {
        domain: if v6 { libc::AF_INET6 } else { libc::AF_INET },
        ty: libc::SOCK_DGRAM,
        protocol: 0,
    };
    let fd = socket_in(ns, kind).await?;
    sys::enable_rx_timestamps(fd.as_fd()).map_err(ProbeError::os("enabling receive timestamps"))?;
    sys::set_ip_options(fd.as_fd(), v6, p.ttl, Some(p.dont_fragment))
        .map_err(ProbeError::os("setting udp socket options"))?;
    if let Some(src) = p.source {
        sys::bind(fd.as_fd(), SocketAddr::new(src, 0))
            .map_err(ProbeError::os("binding the udp source address"))?;
    }
    let start = Instant::now();
    // Judged by kernel arrival time, not by when this task read it (see ping).
    let late_after = std::time::SystemTime::now() + timeout;
    let mut deadline = start + timeout;
    if let Err(e) = sys::connect(fd.as_fd(), p.dst) {
        return Observation::local_failure(e, "connecting the udp socket", None, start);
    }
    let mut drops = sys::local_addr(fd.as_fd()).and_then(|l| {
        crate::kernel::drops::announce(crate::kernel::drops::Key::Flow {
            proto: libc::IPPROTO_UDP as u8,
            dst: p.dst,
            local: l.port(),
        })
    });
    let mut sent = 1u32;
    let mut dropped = 0u32;
    let mut decided: Option<String> = None;
    let payload = icmp::payload(wait::unique(), p.size as usize);
    let afd = wait::register(fd).map_err(ProbeError::os("registering the udp socket"))?;
    if let Err(e) = send(&afd, &payload) {
        return Observation::local_failure(
            e,
            "sending the datagram",
            sys::path_mtu(afd.get_ref().as_fd(), v6),
            start,
        );
    }
    let mut resent = false;
    let mut latest: Option<Finding> = None;
    let mut notes = Vec::new();
    // A lost datagram is not an answer: send again now and then, as a resolver would, so
    // that `timeout` means nothing came back to any of them.
    let resend_every = (timeout / 4).clamp(Duration::from_millis(200), Duration::from_secs(1));
    let mut next_resend = start + resend_every;
    loop {
        let woke = tokio::select! {
            r = wait::ready(&afd, next_resend.min(deadline)) => {
                r.map_err(ProbeError::os("waiting for the echo"))?
            }
            (_, reason) = crate::kernel::drops::terminal(&mut drops), if decided.is_none() => {
                // Every datagram sent so far (or its echo) is gone for good.
                dropped += 1;
                if dropped >= sent {
                    deadline = deadline.min(Instant::now() + crate::kernel::drops::GRACE);
                    decided = Some(reason);
                }
                continue;
            }
        };
        // At the deadline, a last look: an echo that came in time may be queued still.
        if !woke && Instant::now() >= deadline && echoed(&afd, &payload, late_after) {
            return Ok(Observation::ok(p.dst.ip(), start.elapsed()));
        }
        if !woke {
            if Instant::now() < deadline && decided.is_none() {
                // A send error here is an answer the error queue will give.
                let _ = send(&afd, &payload);
                sent += 1;
                next_resend += resend_every;
                continue;
            }
            if Instant::now() < deadline {
                continue;
            }
            if let Some(reason) = decided {
                return Ok(Observation::new(Outcome::Timeout, start.elapsed()).with_detail(
                    format!("concluded early: the kernel dropped every datagram ({reason}), after which nothing answers"),
                ));
            }
            let o = Observation::new(Outcome::Timeout, start.elapsed());
            return Ok(match notes.pop() {
                Some(n) => o.with_detail(n),
                None => o,
            });
        }
        if echoed(&afd, &payload, late_after) {
            return Ok(Observation::ok(p.dst.ip(), start.elapsed()));
        }
        let queued = errqueue::drain(afd.get_ref().as_fd())
            .map_err(ProbeError::os("reading the error queue"))?;
        for q in queued
            .iter()
            .filter(|q| q.at.is_none_or(|t| t <= late_after))
        {
            match classify::queued(q) {
                Ok(f) => latest = Some(f),
                Err(n) => notes.push(n.to_string()),
            }
        }
        if let Some(f) = latest.take() {
            // Without DF an IPv6 source fragments once it has learnt the path MTU from this
            // packet-too-big, so the datagram deserves one more try.
            if v6 && !p.dont_fragment && !resent && f.outcome == Outcome::FragNeeded {
                resent = true;
                if let Err(e) = send(&afd, &payload) {
                    let mtu = sys::path_mtu(afd.get_ref().as_fd(), v6);
                    return Observation::local_failure(e, "sending the datagram", mtu, start);
                }
                continue;
            }
            return Ok(Observation::found(f, start.elapsed()));
        }
    }
}

fn send(afd: &AsyncFd<OwnedFd>, payload: &[u8]) -> io::Result<()> {
    sys::send(afd.get_ref().as_fd(), payload).map(|_| ())
}

/// Reads what has arrived; true once the echo of our datagram is among it.
fn echoed(afd: &AsyncFd<OwnedFd>, payload: &[u8], late_after: std::time::SystemTime) -> bool {
    let mut buf = vec![0u8; payload.len() + 1];
    let mut pending_errors = 0;
    loop {
        match sys::recv_timed(afd.get_ref().as_fd(), &mut buf) {
            Ok((_, _, Some(at))) if at > late_after => continue,
            Ok((n, _, _)) if buf[..n] == *payload => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            // The pending error of a queued ICMP message (the error queue has it); the
            // echo may be queued behind it and readiness was already consumed: read on.
            Err(_) if pending_errors < 16 => pending_errors += 1,
            Err(_) => return false,
        }
    }
}
