//! Many probes at once: every reply and error must reach the probe it belongs to.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use topolab::front::lab::Outcome::{self, *};
use topolab::front::lab::Probe;
use topolab::kernel::probe;

use crate::netns::probes::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_pings_at_once_in_one_namespace() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let l = crate::netns::line();
    let mut probes: Vec<(Probe, Outcome, &str)> = Vec::new();
    for i in 0..170u32 {
        let (dst, ok_from) = match i % 3 {
            0 => ("10.0.2.2", "10.0.2.2"),
            1 => ("fd00:2::2", "fd00:2::2"),
            _ => ("10.0.1.1", "10.0.1.1"),
        };
        let p = Probe::Ping {
            dst: ip(dst),
            count: 1,
            size: 16 + i,
            dont_fragment: false,
            ttl: None,
            source: None,
        };
        probes.push((p, Ok, ok_from));
    }
    // Unanswered ARP: the node's own kernel reports these (its ICMP burst allows 50).
    for _ in 0..30 {
        probes.push((ping("10.0.1.99"), HostUnreachable, "10.0.1.2"));
    }
    let h = &l.h;
    let results = futures_join_all(
        probes
            .iter()
            .map(|(p, _, _)| async move { probe::run(h.fd(), p, Duration::from_secs(8)).await }),
    )
    .await;
    for ((p, outcome, from), r) in probes.iter().zip(results) {
        let o = r.unwrap_or_else(|e| panic!("{}: {e}", p.target()));
        expect(&o, *outcome, Some(from));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_pings_across_namespaces() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let star = Star::new(10);
    let took = star.ping_all(100).await;
    eprintln!("1,000 concurrent pings across 10 namespaces: {took:?}");
}

/// Measures the big number; run with `--ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn ten_thousand_pings_across_namespaces() {
    require_root!();
    let _host = crate::host::HostGuard::new();
    let star = Star::new(10);
    let took = star.ping_all(100).await;
    eprintln!("1,000 concurrent pings across 10 namespaces: {took:?}");
    // The neighbours are resolved now: a first burst of 1,000 requests to one unresolved
    // neighbour overflows its queue (unres_qlen_bytes), as it would for any sender.
    let took = star.ping_all(1000).await;
    eprintln!("10,000 concurrent pings across 10 namespaces: {took:?}");
    let star = Star::new(100);
    star.ping_all(1).await;
    let took = star.ping_all(100).await;
    eprintln!("10,000 concurrent pings across 100 namespaces: {took:?}");
}

/// `n` client namespaces, each with its own link to one server namespace.
struct Star {
    server: crate::netns::Ns,
    clients: Vec<crate::netns::Ns>,
}

impl Star {
    fn new(n: usize) -> Star {
        let server = crate::netns::Ns::new();
        let clients: Vec<crate::netns::Ns> = (0..n).map(|_| crate::netns::Ns::new()).collect();
        for (i, c) in clients.iter().enumerate() {
            let dev = format!("c{i}");
            crate::netns::veth(&server, &dev, c, "eth0");
            let (a, b) = (i / 64, (i % 64) * 4);
            server.sh(&format!(
                "ip addr add 10.{}.{a}.{}/30 dev {dev}",
                200,
                b + 1
            ));
            c.sh(&format!("ip addr add 10.200.{a}.{}/30 dev eth0", b + 2));
        }
        Star { server, clients }
    }

    async fn ping_all(&self, per_client: usize) -> Duration {
        let start = Instant::now();
        let mut probes = Vec::new();
        for (i, c) in self.clients.iter().enumerate() {
            let (a, b) = (i / 64, (i % 64) * 4);
            let dst = format!("10.200.{a}.{}", b + 1);
            for _ in 0..per_client {
                probes.push((c, ping(&dst), dst.clone()));
            }
        }
        // One task per probe, as the checks will run them.
        let mut tasks = Vec::new();
        for (c, p, _) in &probes {
            let ns = std::sync::Arc::new(c.fd().try_clone_to_owned().expect("dup ns"));
            let p = p.clone();
            tasks.push(tokio::spawn(async move {
                probe::run(ns.as_fd(), &p, Duration::from_secs(10)).await
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("probe task"));
        }
        let took = start.elapsed();
        let mut wrong = Vec::new();
        for ((_, _, dst), r) in probes.iter().zip(results) {
            let o = r.expect("probe");
            if (o.outcome, o.from) != (Ok, Some(ip(dst))) {
                wrong.push(o);
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} probes went wrong, e.g. {:?}\nserver: {}\nclient: {}",
            wrong.len(),
            probes.len(),
            wrong.first(),
            self.server
                .out("nstat -az | grep -E 'Icmp|Ip' | grep -v ' 0 '"),
            self.clients[0].out("nstat -az | grep -E 'Icmp|Ip' | grep -v ' 0 '"),
        );
        took
    }
}

/// Runs futures concurrently as tasks of the runtime and collects their results in order.
async fn futures_join_all<F, T>(futs: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    // The probes borrow the namespaces, so they run on this task rather than spawned.
    let mut set: Vec<std::pin::Pin<Box<F>>> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<T>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
