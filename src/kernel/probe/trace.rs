//! A trace: the path to a destination, hop by hop, like traceroute.
//!
//! Every TTL from 1 to `max_hops` is one probe of its own (ping, udp or tcp with that TTL),
//! all sent at once: a hop is the answer to its probe, whether the `ttl-exceeded` of a
//! router on the way or the end of the path. Each probe has its own socket, made inside
//! the node and checked by the host guard like any other, and reads its ICMP errors from
//! its own error queue, so concurrent hops cannot take each other's answers (ICMP probes
//! carry distinct echo ids, UDP and TCP ones distinct source ports). Silent hops all wait
//! at the same time: a trace costs about one probe timeout at most, not one per hop.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::BorrowedFd;
use std::time::Duration;

use tokio::time::Instant;

use crate::front::lab::{Outcome, TraceProto};

use super::observation::TraceHop;
use super::{Observation, ProbeError, ping, tcp, udp};

#[derive(Debug, Clone)]
pub struct Trace {
    pub dst: IpAddr,
    pub proto: TraceProto,
    pub port: u16,
    pub max_hops: u8,
    pub source: Option<IpAddr>,
}

async fn hop(
    ns: BorrowedFd<'_>,
    t: &Trace,
    ttl: u8,
    timeout: Duration,
) -> Result<Observation, ProbeError> {
    match t.proto {
        TraceProto::Icmp => {
            let p = ping::Ping {
                dst: t.dst,
                count: 1,
                size: 56,
                dont_fragment: false,
                ttl: Some(ttl),
                source: t.source,
            };
            ping::run(ns, &p, timeout).await
        }
        TraceProto::Udp => {
            let p = udp::Udp {
                dst: SocketAddr::new(t.dst, t.port),
                size: 32,
                dont_fragment: false,
                ttl: Some(ttl),
                source: t.source,
            };
            udp::run(ns, &p, timeout).await
        }
        TraceProto::Tcp => {
            let p = tcp::Tcp {
                dst: SocketAddr::new(t.dst, t.port),
                ttl: Some(ttl),
                source: t.source,
                send: None,
            };
            tcp::run(ns, &p, timeout).await
        }
    }
}

/// The least time a second ask gets to be answered.
const GRACE: Duration = Duration::from_secs(1);

/// When a path has not ended yet, the TTL after the last answer is asked again this long
/// after the start, and again every as long while the trace's time lasts; when it has,
/// so is a silent TTL before its end. A router
/// answers packets it has no route for (net- or host-unreachable, prohibited) from a
/// token bucket per source (`ip_error`: a burst of five, then one a second; not a
/// per-namespace setting), and all TTLs of a trace arrive at once: every TTL past the
/// end takes a token. Traces from one node that end at the same router (checks run side
/// by side, or the other TTLs of the same trace) share that bucket: once it is empty,
/// each ask again gets one answer a second, and the trace that did not get it is answered
/// at a later one. Without asking again, the end of such a path would read as silence.
const ICMP_REFILL: Duration = Duration::from_millis(1100);

/// One hop tagged with its TTL, its packets set apart from the other hops' (see `run`):
/// the first asks and the later ones share this future type.
async fn tagged(
    ns: BorrowedFd<'_>,
    t: &Trace,
    ttl: u8,
    timeout: Duration,
) -> (
    u8,
    Result<Observation, ProbeError>,
    crate::kernel::drops::Part,
) {
    let (o, part) = crate::kernel::drops::apart(hop(ns, t, ttl, timeout)).await;
    (ttl, o, part)
}

pub async fn run(
    ns: BorrowedFd<'_>,
    t: &Trace,
    timeout: Duration,
) -> Result<Observation, ProbeError> {
    use futures::StreamExt;
    let start = Instant::now();
    let mut pending: futures::stream::FuturesUnordered<_> = (1..=t.max_hops)
        .map(|ttl| tagged(ns, t, ttl, timeout))
        .collect();
    let mut hops: Vec<Option<Observation>> = vec![None; usize::from(t.max_hops)];
    // The packets of each TTL (every ask): the drops of the last hop of the path are the
    // trace's, the others' are the normal work of a trace (see `crate::kernel::drops::apart`).
    let mut parts: Vec<Vec<crate::kernel::drops::Part>> =
        (0..t.max_hops).map(|_| Vec::new()).collect();
    let mut asked_again: u32 = 0;
    loop {
        // The first TTL that reached an end, and whether every TTL before it is in.
        let end = hops.iter().position(|h| {
            h.as_ref()
                .is_some_and(|o| !matches!(o.outcome, Outcome::TtlExceeded | Outcome::Timeout))
        });
        // A silent TTL before the end, unless a drop after which nothing answers ended
        // it: most likely the end router's error bucket was empty when its packet came
        // (every TTL past it takes a token too), not a router that never answers. Without
        // asking it again, a path of two hops read `10.0.1.1 * 10.0.2.2` (seen in CI).
        let silent_before_end = end.and_then(|e| {
            hops[..e].iter().position(|h| {
                h.as_ref().is_some_and(|o| {
                    o.outcome == Outcome::Timeout
                        && !o
                            .detail
                            .as_deref()
                            .is_some_and(|d| d.starts_with("concluded early"))
                })
            })
        });
        let again_at = ICMP_REFILL * (asked_again + 1);
        let may_ask = asked_again == 0 || again_at + GRACE <= timeout;
        if let Some(end) = end
            && hops[..end].iter().all(Option::is_some)
            && (silent_before_end.is_none() || !may_ask)
        {
            break;
        }
        // Every hop waits its own whole deadline for an answer, counted from when its
        // packet left: under load the sockets of some TTLs are made late, so a silence
        // measured from the start of the trace would be no evidence. The first ask again
        // comes whatever the timeout, the later ones while it lasts.
        let next = match (end, silent_before_end) {
            (Some(_), Some(i)) => u8::try_from(i + 1).ok(),
            (Some(_), None) => None,
            (None, _) => {
                let last = hops
                    .iter()
                    .rposition(|h| h.as_ref().is_some_and(|o| o.outcome != Outcome::Timeout));
                u8::try_from(last.map_or(1, |i| i + 2))
                    .ok()
                    .filter(|&ttl| ttl <= t.max_hops)
            }
        };
        let ask_again = (next.is_some() && may_ask).then_some(start + again_at);
        // Every hop in (a drop after which nothing answers ends a hop early) while an ask
        // again is due: wait for it rather than take the rate limit for silence.
        if pending.is_empty() {
            match ask_again {
                Some(at) => tokio::time::sleep_until(at).await,
                None => break,
            }
        }
        tokio::select! {
            next = pending.next(), if !pending.is_empty() => match next {
                Some((ttl, o, part)) => {
                    let o = o?;
                    let i = usize::from(ttl) - 1;
                    parts[i].push(part);
                    // Two asks of one TTL: an answer wins over silence, whichever came
                    // first.
                    let slot = &mut hops[i];
                    let silent = |h: &Observation| h.outcome == Outcome::Timeout;
                    if slot.as_ref().is_none_or(|h| silent(h) && !silent(&o)) {
                        *slot = Some(o);
                    }
                }
                None => break,
            },
            _ = tokio::time::sleep_until(ask_again.unwrap_or(start)), if ask_again.is_some() => {
                asked_again += 1;
                if let Some(ttl) = next {
                    let left = timeout.saturating_sub(start.elapsed()).max(GRACE);
                    pending.push(tagged(ns, t, ttl, left));
                }
            }
        }
    }
    let hops: Vec<Observation> = hops
        .into_iter()
        .map(|h| h.unwrap_or_else(|| Observation::new(Outcome::Timeout, start.elapsed())))
        .collect();
    let o = conclude(&hops, start.elapsed());
    // Where the packets of the path's last hop died is where the trace's did: the end's
    // own drop, the first silent hop's, the last TTL of a loop. The hops before it were
    // answered (`ttl-exceeded`), or are silent ones a later hop went past.
    if let Some(last) = o.path.as_ref().and_then(|p| p.last()) {
        let i = usize::from(last.ttl) - 1;
        for part in std::mem::take(&mut parts[i]) {
            part.keep();
        }
    }
    Ok(o)
}

/// The end of the path and the hops up to it. Pure, so the loop rules are unit-tested.
///
/// - The first TTL whose answer is neither `ttl-exceeded` nor silence ends the path; the
///   trace's outcome is that answer (`ok` from the target, `host-unreachable from X`, ...).
///   Later TTLs only repeat it and are left out.
/// - A path that never ends and in which some address answered at two TTLs is a `loop`,
///   from the address that reported the last `ttl-exceeded`.
/// - Otherwise the path dies in silence: `timeout`, with the hops up to the first silent
///   one after the last answer.
pub fn conclude(hops: &[Observation], elapsed: Duration) -> Observation {
    let path: Vec<TraceHop> = hops
        .iter()
        .zip(1u8..)
        .map(|(o, ttl)| TraceHop {
            ttl,
            from: if o.outcome == Outcome::Timeout {
                None
            } else {
                o.from
            },
            outcome: o.outcome,
            rtt: (o.outcome != Outcome::Timeout).then_some(o.elapsed),
        })
        .collect();
    let end = hops
        .iter()
        .position(|o| !matches!(o.outcome, Outcome::TtlExceeded | Outcome::Timeout));
    if let Some(end) = end {
        let mut o = hops[end].clone();
        o.elapsed = elapsed;
        o.path = Some(path[..=end].to_vec());
        return o;
    }
    let mut seen = HashSet::new();
    let cycles = path.iter().filter_map(|h| h.from).any(|a| !seen.insert(a));
    let last_answer = path.iter().rposition(|h| h.from.is_some());
    if cycles {
        let mut o = Observation::new(Outcome::Loop, elapsed);
        o.from = last_answer.and_then(|i| path[i].from);
        o.detail = Some(format!(
            "the path revisits {} and never reaches the target",
            cycle(&path)
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" -> ")
        ));
        o.path = Some(path);
        return o;
    }
    let keep = last_answer.map_or(1, |i| i + 2).min(path.len());
    let mut o = Observation::new(Outcome::Timeout, elapsed);
    o.path = Some(path[..keep].to_vec());
    o
}

/// The addresses of the first repeated stretch of the path: from the first address that
/// answers again to just before it does.
fn cycle(path: &[TraceHop]) -> Vec<IpAddr> {
    let answered: Vec<IpAddr> = path.iter().filter_map(|h| h.from).collect();
    for (i, a) in answered.iter().enumerate() {
        if let Some(j) = answered[i + 1..].iter().position(|b| b == a) {
            return answered[i..=i + j].to_vec();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(outcome: Outcome, from: Option<&str>) -> Observation {
        let mut o = Observation::new(outcome, Duration::from_millis(1));
        o.from = from.map(|f| f.parse().unwrap());
        o
    }

    fn addrs(o: &Observation) -> Vec<String> {
        o.path
            .as_ref()
            .unwrap()
            .iter()
            .map(|h| h.from.map_or("*".into(), |a| a.to_string()))
            .collect()
    }

    #[test]
    fn a_path_ends_at_the_first_final_answer() {
        let hops = [
            hop(Outcome::TtlExceeded, Some("10.0.0.1")),
            hop(Outcome::Timeout, None),
            hop(Outcome::Ok, Some("10.0.2.2")),
            hop(Outcome::Ok, Some("10.0.2.2")),
        ];
        let o = conclude(&hops, Duration::ZERO);
        assert_eq!(o.outcome, Outcome::Ok);
        assert_eq!(addrs(&o), ["10.0.0.1", "*", "10.0.2.2"]);
        let unreachable = [
            hop(Outcome::TtlExceeded, Some("10.0.0.1")),
            hop(Outcome::HostUnreachable, Some("10.0.0.1")),
        ];
        let o = conclude(&unreachable, Duration::ZERO);
        assert_eq!(o.outcome, Outcome::HostUnreachable);
        assert_eq!(o.from, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn revisited_hops_without_an_end_are_a_loop_from_the_last_reporter() {
        let hops: Vec<Observation> = (0..6)
            .map(|i| match i {
                0 => hop(Outcome::TtlExceeded, Some("10.64.0.1")),
                i if i % 2 == 1 => hop(Outcome::TtlExceeded, Some("10.100.1.18")),
                _ => hop(Outcome::TtlExceeded, Some("10.64.0.2")),
            })
            .collect();
        let o = conclude(&hops, Duration::ZERO);
        assert_eq!(o.outcome, Outcome::Loop);
        assert_eq!(o.from, Some("10.100.1.18".parse().unwrap()));
        assert_eq!(addrs(&o).len(), 6);
        assert_eq!(
            o.detail.as_deref(),
            Some("the path revisits 10.100.1.18 -> 10.64.0.2 and never reaches the target")
        );
    }

    #[test]
    fn silence_after_the_last_router_is_a_timeout_with_one_silent_hop() {
        let hops = [
            hop(Outcome::TtlExceeded, Some("10.0.0.1")),
            hop(Outcome::TtlExceeded, Some("10.0.1.1")),
            hop(Outcome::Timeout, None),
            hop(Outcome::Timeout, None),
            hop(Outcome::Timeout, None),
        ];
        let o = conclude(&hops, Duration::ZERO);
        assert_eq!(o.outcome, Outcome::Timeout);
        assert_eq!(addrs(&o), ["10.0.0.1", "10.0.1.1", "*"]);
        let all_silent = [hop(Outcome::Timeout, None), hop(Outcome::Timeout, None)];
        assert_eq!(addrs(&conclude(&all_silent, Duration::ZERO)), ["*"]);
    }
}
