//! ICMP echo over a raw socket per probe, IPv4 and IPv6.
//!
//! The socket is connected to the destination, so the kernel hands it only ICMP errors about
//! packets to that destination, and a BPF filter lets only replies with its own id through.
//! Replies are matched by id, sequence and payload; errors by the id and sequence of the
//! request they quote.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use tokio::time::Instant;

use crate::front::lab::Outcome;

use super::Observation;
use super::classify::{self, Finding};
use super::netns::{SocketKind, socket_in};
use super::{ProbeError, errqueue, icmp, sys, wait};

#[derive(Debug, Clone)]
pub struct Ping {
    pub dst: IpAddr,
    pub count: u32,
    pub size: u32,
    pub dont_fragment: bool,
    pub ttl: Option<u8>,
    pub source: Option<IpAddr>,
}

pub async fn run(
    ns: BorrowedFd<'_>,
    p: &Ping,
    timeout: Duration,
) -> Result<Observation, ProbeError> {
    let v6 = p.dst.is_ipv6();
    let kind = if v6 {
        SocketKind {
            domain: libc::AF_INET6,
            ty: libc::SOCK_RAW,
            protocol: libc::IPPROTO_ICMPV6,
        }
    } else {
        SocketKind {
            domain: libc::AF_INET,
            ty: libc::SOCK_RAW,
            protocol: libc::IPPROTO_ICMP,
        }
    };
    let fd = socket_in(ns, kind).await?;
    let id = wait::next_icmp_id();
    sys::set_ip_options(fd.as_fd(), v6, p.ttl, Some(p.dont_fragment))
        .map_err(ProbeError::os("setting ping socket options"))?;
    sys::enable_rx_timestamps(fd.as_fd()).map_err(ProbeError::os("enabling receive timestamps"))?;
    icmp::install_filters(fd.as_fd(), v6, id)
        .map_err(ProbeError::os("installing the ICMP filters"))?;
    if let Some(src) = p.source {
        sys::bind(fd.as_fd(), SocketAddr::new(src, 0))
            .map_err(ProbeError::os("binding the ping source address"))?;
    }
    let start = Instant::now();
    // Answers are judged by when the kernel received them, not when this task got to read
    // them: on a loaded machine a reply read after the deadline may have come in time,
    // and one read "in time" may have come too late.
    let late_after = std::time::SystemTime::now() + timeout;
    let mut deadline = start + timeout;
    // Connecting looks the route up: an unusable one fails here, as `ping` reports it.
    if let Err(e) = sys::connect(fd.as_fd(), SocketAddr::new(p.dst, 0)) {
        return Observation::local_failure(e, "connecting the ping socket", None, start);
    }
    // Until its filters were in place the socket took a copy of every ICMP packet in the
    // namespace: under load enough to fill its receive buffer, so that our own reply would
    // be dropped. Nothing of ours is in there yet; discard it all.
    discard_queued(fd.as_fd());
    let payload = icmp::payload(wait::unique(), p.size as usize);
    let afd = wait::register(fd).map_err(ProbeError::os("registering the ping socket"))?;
    let count = u16::try_from(p.count.max(1)).unwrap_or(u16::MAX);
    // All requests go out in the first half of the deadline, at most one a second like
    // ping(8), so the last one still has time to be answered.
    let interval = (timeout / (2 * u32::from(count))).min(Duration::from_secs(1));

    let mut drops =
        crate::kernel::drops::announce(crate::kernel::drops::Key::Echo { dst: p.dst, id });
    // The kernel dropped the last request (or its reply) where nothing answers.
    let mut decided: Option<String> = None;
    let mut state = State::default();
    let mut next_send = start;
    let mut sent: u16 = 0;
    let mut resent_after_too_big = false;
    loop {
        if sent < count && Instant::now() >= next_send {
            sent += 1;
            let packet = icmp::echo_request(v6, id, sent, &payload);
            if let Err(e) = sys::send(afd.get_ref().as_fd(), &packet) {
                let mtu = sys::path_mtu(afd.get_ref().as_fd(), v6);
                return Observation::local_failure(e, "sending the echo request", mtu, start);
            }
            next_send += interval;
        }
        let until = if sent < count {
            next_send.min(deadline)
        } else {
            deadline
        };
        // Whether the socket or the timer woke us, read: an answer that came in time may be
        // queued still, this task having run late (arrival times sort out what was late).
        tokio::select! {
            r = wait::ready(&afd, until) => {
                r.map_err(ProbeError::os("waiting for the reply"))?;
            }
            (d, reason) = crate::kernel::drops::terminal(&mut drops), if decided.is_none() => {
                if sent == count && d.seq == count {
                    deadline = deadline.min(Instant::now() + crate::kernel::drops::GRACE);
                    decided = Some(reason);
                }
            }
        }
        if let Some(from) = read_replies(&afd, v6, id, sent, &payload, late_after)? {
            return Ok(Observation::ok(from, start.elapsed()));
        }
        state.read_errors(&afd, v6, id, sent, late_after)?;
        // Without DF an IPv6 source fragments itself, but only once it has learnt the path
        // MTU from this very packet-too-big: send again, as the kernel now knows better.
        if v6
            && !p.dont_fragment
            && !resent_after_too_big
            && state
                .latest
                .as_ref()
                .is_some_and(|f| f.outcome == Outcome::FragNeeded)
        {
            resent_after_too_big = true;
            state = State::default();
            let packet = icmp::echo_request(v6, id, sent, &payload);
            if let Err(e) = sys::send(afd.get_ref().as_fd(), &packet) {
                let mtu = sys::path_mtu(afd.get_ref().as_fd(), v6);
                return Observation::local_failure(e, "sending the echo request", mtu, start);
            }
            continue;
        }
        // An ICMP error is an answer; with several requests any reply still wins, so wait
        // until every one sent has been answered by an error.
        if let Some(f) = &state.latest
            && sent == count
            && state.errored.len() >= usize::from(count)
        {
            return Ok(Observation::found(f.clone(), start.elapsed()));
        }
        if Instant::now() >= deadline {
            return Ok(match (state.latest.take(), decided) {
                (Some(f), _) => Observation::found(f, start.elapsed()),
                (None, Some(reason)) => Observation::new(Outcome::Timeout, start.elapsed())
                    .with_detail(format!(
                        "concluded early: the kernel dropped the last echo ({reason}), after which nothing answers"
                    )),
                (None, None) => state.timeout(start.elapsed()),
            });
        }
    }
}

/// Errors the probe saw so far.
#[derive(Default)]
struct State {
    latest: Option<Finding>,
    errored: BTreeSet<u16>,
    /// ICMP messages that say nothing about reachability, kept for the report.
    notes: Vec<String>,
}

impl State {
    fn read_errors(
        &mut self,
        afd: &tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
        v6: bool,
        id: u16,
        sent: u16,
        late_after: std::time::SystemTime,
    ) -> Result<(), ProbeError> {
        let entries = errqueue::drain(afd.get_ref().as_fd())
            .map_err(ProbeError::os("reading the error queue"))?;
        for e in entries {
            if e.at.is_some_and(|t| t > late_after) {
                continue;
            }
            let seq = match e.origin {
                errqueue::ORIGIN_LOCAL => None,
                _ => match icmp::quoted_request(v6, &e.quoted) {
                    // Another probe's request to the same destination.
                    Some((qid, seq)) if qid == id && (1..=sent).contains(&seq) => Some(seq),
                    _ => continue,
                },
            };
            match classify::queued(&e) {
                Ok(f) => {
                    self.errored.insert(seq.unwrap_or(sent));
                    self.latest = Some(f);
                }
                Err(note) => self.notes.push(note.to_string()),
            }
        }
        Ok(())
    }

    fn timeout(self, elapsed: Duration) -> Observation {
        let o = Observation::new(Outcome::Timeout, elapsed);
        match self.notes.last() {
            Some(n) => o.with_detail(n.clone()),
            None => o,
        }
    }
}

fn discard_queued(fd: BorrowedFd<'_>) {
    let mut buf = [0u8; 64];
    while sys::recv_from(fd, &mut buf).is_ok() {}
    let _ = errqueue::drain(fd);
}

/// Reads every queued datagram; `Some(sender)` for a reply to one of our requests.
fn read_replies(
    afd: &tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
    v6: bool,
    id: u16,
    sent: u16,
    payload: &[u8],
    late_after: std::time::SystemTime,
) -> Result<Option<IpAddr>, ProbeError> {
    let mut buf = vec![0u8; 65536];
    let mut pending_errors = 0;
    loop {
        match sys::recv_timed(afd.get_ref().as_fd(), &mut buf) {
            Ok((_, _, Some(at))) if at > late_after => continue,
            Ok((n, from, _)) => {
                if let Some(echo) = icmp::parse_reply(v6, &buf[..n])
                    && echo.id == id
                    && (1..=sent).contains(&echo.seq)
                    && echo.payload == payload
                    && let Some(from) = from
                {
                    return Ok(Some(from.ip()));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // With IP_RECVERR an ICMP error is also reported once as a pending socket
            // error on the next read (the error queue holds the details). It may be about
            // another probe's packet to the same destination, and our reply may be queued
            // behind it: readiness was already consumed, so read on.
            Err(_) if pending_errors < 16 => pending_errors += 1,
            Err(_) => return Ok(None),
        }
    }
}
