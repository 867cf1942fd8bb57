//! The classification table: kernel errors and ICMP messages -> the outcome vocabulary.
//!
//! ICMPv4 (type 3 destination unreachable, by code):
//!   0 net, 6 net unknown, 11 net for TOS             -> net-unreachable
//!   1 host, 5 source route failed, 7 host unknown,
//!   8 source host isolated, 12 host for TOS           -> host-unreachable
//!   2 protocol, 3 port                                -> port-unreachable
//!   4 fragmentation needed (MTU = next-hop MTU)       -> frag-needed
//!   9 net prohibited, 10 host prohibited,
//!   13 communication prohibited, 14 precedence
//!   violation, 15 precedence cutoff                   -> admin-prohibited
//! ICMPv4 type 11 code 0 (TTL exceeded in transit)     -> ttl-exceeded
//! ICMPv6 type 1 destination unreachable, by code:
//!   0 no route, 2 beyond scope, 6 reject route        -> net-unreachable
//!   3 address unreachable, 7 source routing error     -> host-unreachable
//!   4 port unreachable                                -> port-unreachable
//!   1 administratively prohibited, 5 source policy    -> admin-prohibited
//! ICMPv6 type 2 packet too big (MTU)                  -> frag-needed
//! ICMPv6 type 3 code 0 (hop limit exceeded)           -> ttl-exceeded
//! Anything else (reassembly timeouts, parameter problems, redirects, source quench) is
//! not an answer about reachability: it is noted in the detail and the probe keeps waiting.
//!
//! Errors the sending node's own kernel returns at once, with no ICMP message:
//!   ENETUNREACH  no route at all                      -> no-route
//!   EHOSTUNREACH an `unreachable` route               -> no-route
//!   EINVAL       a `blackhole` route                  -> no-route
//!   EACCES       a `prohibit` route                   -> admin-prohibited (no sender)
//!   EPERM        the node's own firewall dropped it   -> admin-prohibited (no sender)
//!   EMSGSIZE     larger than the path MTU with DF     -> frag-needed (MTU = path MTU)
//!   ECONNREFUSED, ECONNRESET a TCP reset              -> refused
//!   ETIMEDOUT                                         -> timeout
//! A local route that leads nowhere is "the sending node has no route", whatever its type;
//! `prohibit` and a local firewall are policy, so they read as admin-prohibited like the
//! ICMP a router would send for them. A neighbour that never answers ARP/ND makes the
//! sender's own kernel send itself host-unreachable (ICMPv6 address-unreachable) after about
//! 3 s; that arrives as an ICMP error whose sender is the probing node's own address.

use std::net::IpAddr;

use crate::error::errno_words;
use crate::front::lab::Outcome;

use super::errqueue::{ORIGIN_ICMP, ORIGIN_ICMP6, ORIGIN_LOCAL, QueuedError};

/// What one kernel report means for the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub outcome: Outcome,
    pub from: Option<IpAddr>,
    pub mtu: Option<u32>,
    pub detail: Option<String>,
}

pub fn icmp4(icmp_type: u8, code: u8) -> Option<Outcome> {
    use Outcome::*;
    match (icmp_type, code) {
        (3, 0 | 6 | 11) => Some(NetUnreachable),
        (3, 1 | 5 | 7 | 8 | 12) => Some(HostUnreachable),
        (3, 2 | 3) => Some(PortUnreachable),
        (3, 4) => Some(FragNeeded),
        (3, 9 | 10 | 13..=15) => Some(AdminProhibited),
        (11, 0) => Some(TtlExceeded),
        _ => None,
    }
}

pub fn icmp6(icmp_type: u8, code: u8) -> Option<Outcome> {
    use Outcome::*;
    match (icmp_type, code) {
        (1, 0 | 2 | 6) => Some(NetUnreachable),
        (1, 3 | 7) => Some(HostUnreachable),
        (1, 4) => Some(PortUnreachable),
        (1, 1 | 5) => Some(AdminProhibited),
        (2, _) => Some(FragNeeded),
        (3, 0) => Some(TtlExceeded),
        _ => None,
    }
}

/// An error returned by connect/send/recv on the sending node itself.
pub fn local_errno(errno: i32) -> Option<Outcome> {
    use Outcome::*;
    match errno {
        libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EINVAL => Some(NoRoute),
        libc::EACCES | libc::EPERM => Some(AdminProhibited),
        libc::EMSGSIZE => Some(FragNeeded),
        libc::ECONNREFUSED | libc::ECONNRESET => Some(Refused),
        libc::ETIMEDOUT => Some(Timeout),
        // WireGuard: no peer's allowed-ips cover the destination (the interface also
        // sends itself an ICMP host-unreachable).
        libc::ENOKEY => Some(HostUnreachable),
        _ => None,
    }
}

/// Why a local errno means what it does, for the report.
fn local_reason(errno: i32) -> &'static str {
    match errno {
        libc::ENETUNREACH => "no route to the destination",
        libc::EHOSTUNREACH => "an unreachable route",
        libc::EINVAL => "a blackhole route",
        libc::EACCES => "a prohibit route",
        libc::EPERM => "dropped by the node's own firewall",
        libc::EMSGSIZE => "larger than the path MTU",
        libc::ECONNREFUSED | libc::ECONNRESET => "reset by the peer",
        libc::ETIMEDOUT => "timed out",
        libc::ENOKEY => "no WireGuard peer allows the destination",
        _ => "",
    }
}

/// A synchronous error of the sending node; `mtu` is the path MTU for EMSGSIZE.
pub fn local(errno: i32, mtu: Option<u32>) -> Option<Finding> {
    let outcome = local_errno(errno)?;
    Some(Finding {
        outcome,
        from: None,
        mtu: if outcome == Outcome::FragNeeded {
            mtu
        } else {
            None
        },
        detail: Some(format!("{}: {}", local_reason(errno), errno_words(errno))),
    })
}

/// An error-queue entry that says nothing about reachability; in words, a probe's note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    /// A local error that is no outcome.
    #[error("local error {}", errno_words(*.0))]
    Local(i32),
    /// An ICMP message that is no outcome, e.g. "ICMP type 12 code 0 from 10.0.0.1".
    #[error("ignored {0}")]
    Icmp(String),
}

/// An error-queue entry, or why it says nothing about reachability.
pub fn queued(e: &QueuedError) -> Result<Finding, Ignored> {
    let outcome = match e.origin {
        ORIGIN_ICMP => icmp4(e.icmp_type, e.icmp_code),
        ORIGIN_ICMP6 => icmp6(e.icmp_type, e.icmp_code),
        ORIGIN_LOCAL => {
            return local(e.errno, Some(e.info).filter(|m| *m > 0)).ok_or(Ignored::Local(e.errno));
        }
        _ => None,
    };
    let family = if e.origin == ORIGIN_ICMP6 {
        "ICMPv6"
    } else {
        "ICMP"
    };
    let from = e.offender.map(|a| format!(" from {a}")).unwrap_or_default();
    let what = format!("{family} type {} code {}{from}", e.icmp_type, e.icmp_code);
    match outcome {
        Some(outcome) => Ok(Finding {
            outcome,
            from: e.offender,
            mtu: (outcome == Outcome::FragNeeded).then_some(e.info),
            detail: Some(what),
        }),
        None => Err(Ignored::Icmp(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    #[test]
    fn icmp4_table() {
        let cases = [
            (3, 0, NetUnreachable),
            (3, 1, HostUnreachable),
            (3, 3, PortUnreachable),
            (3, 4, FragNeeded),
            (3, 9, AdminProhibited),
            (3, 10, AdminProhibited),
            (3, 13, AdminProhibited),
            (11, 0, TtlExceeded),
        ];
        for (t, c, o) in cases {
            assert_eq!(icmp4(t, c), Some(o), "type {t} code {c}");
        }
        assert_eq!(
            icmp4(11, 1),
            None,
            "reassembly timeout is not a routing answer"
        );
        assert_eq!(icmp4(12, 0), None);
        assert_eq!(icmp4(5, 1), None, "a redirect still delivers the packet");
        assert_eq!(icmp4(3, 16), None);
    }

    #[test]
    fn icmp6_table() {
        assert_eq!(icmp6(1, 0), Some(NetUnreachable));
        assert_eq!(icmp6(1, 1), Some(AdminProhibited));
        assert_eq!(icmp6(1, 3), Some(HostUnreachable));
        assert_eq!(icmp6(1, 4), Some(PortUnreachable));
        assert_eq!(icmp6(2, 0), Some(FragNeeded));
        assert_eq!(icmp6(3, 0), Some(TtlExceeded));
        assert_eq!(icmp6(3, 1), None);
        assert_eq!(icmp6(4, 0), None);
    }

    #[test]
    fn local_errors() {
        assert_eq!(local_errno(libc::ENETUNREACH), Some(NoRoute));
        assert_eq!(local_errno(libc::EHOSTUNREACH), Some(NoRoute));
        assert_eq!(local_errno(libc::EINVAL), Some(NoRoute));
        assert_eq!(local_errno(libc::EACCES), Some(AdminProhibited));
        assert_eq!(local_errno(libc::ECONNREFUSED), Some(Refused));
        assert_eq!(local_errno(libc::ENOKEY), Some(HostUnreachable));
        assert_eq!(local_errno(libc::EADDRNOTAVAIL), None);
        let f = local(libc::EMSGSIZE, Some(1400)).unwrap();
        assert_eq!((f.outcome, f.mtu, f.from), (FragNeeded, Some(1400), None));
        assert_eq!(local(libc::ENETUNREACH, Some(1400)).unwrap().mtu, None);
    }

    #[test]
    fn queued_entries() {
        let e = QueuedError {
            errno: libc::EMSGSIZE,
            origin: ORIGIN_ICMP,
            icmp_type: 3,
            icmp_code: 4,
            info: 1280,
            offender: Some("10.0.0.1".parse().unwrap()),
            quoted: vec![],
            at: None,
        };
        let f = queued(&e).unwrap();
        assert_eq!((f.outcome, f.mtu), (FragNeeded, Some(1280)));
        assert_eq!(f.from, e.offender);
        let local = QueuedError {
            origin: ORIGIN_LOCAL,
            offender: None,
            ..e.clone()
        };
        assert_eq!(queued(&local).unwrap().mtu, Some(1280));
        let param = QueuedError {
            icmp_type: 12,
            icmp_code: 0,
            ..e
        };
        assert!(queued(&param).unwrap_err().to_string().contains("type 12"));
    }
}
