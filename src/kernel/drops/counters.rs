//! Drops from counters, where eBPF is not available (rootless, no BTF): the deltas of each
//! namespace's SNMP and netstat MIBs, link drop counters and neighbour entries that went
//! unresolved, around one probe. The counter's name is the reason; SNMP counters know no
//! interface, link counters and neighbour entries do. A firewall drop moves none of those:
//! the packet counters of the nft rules that count and drop (`... counter drop`) stand for
//! it (`nft-counter`); a rule without `counter` has no counter to read, and topolab does not
//! add one to the lab's ruleset (what `nft list ruleset` shows stays what the lab wrote).
//!
//! The files are opened once, from a short-lived thread inside each namespace: a procfs
//! net file stays bound to the namespace it was opened in, so reading it later from any
//! thread gives that namespace's counters without entering it again.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// The counters that say a packet was dropped, most telling first. A probe's drop is the
/// first of these that moved.
const TELLING: &[&str] = &[
    "TcpExtIPReversePathFilter",
    "nft-counter",
    "neigh-failed",
    "IpExtInNoRoutes",
    "IpOutNoRoutes",
    "IpInAddrErrors",
    "IpFragFails",
    "IpInHdrErrors",
    "UdpNoPorts",
    "IpInDiscards",
    "IpOutDiscards",
    "rx-dropped",
    "tx-dropped",
];

pub struct NsCounters {
    files: Vec<(Kind, File)>,
    /// The namespace, when its ruleset had rules that count and drop as the probes began:
    /// `nft` lists them again around each probe (there is no file to keep open for them).
    nft: Option<OwnedFd>,
}

#[derive(Clone, Copy)]
enum Kind {
    /// "Ip: Forwarding ..." header lines followed by value lines.
    Mib,
    Dev,
    Arp,
}

/// Opens the namespace's counter files from a thread that enters it and exits.
pub fn open(ns: BorrowedFd<'_>) -> io::Result<NsCounters> {
    let ns: OwnedFd = ns.try_clone_to_owned()?;
    std::thread::Builder::new()
        .name("topolab-counters".into())
        .spawn(move || -> io::Result<NsCounters> {
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(io::Error::from)?;
            let nft = nft_counted_drops().is_some().then_some(ns);
            let mut files = Vec::new();
            for (kind, path) in [
                (Kind::Mib, "/proc/thread-self/net/snmp"),
                (Kind::Mib, "/proc/thread-self/net/netstat"),
                (Kind::Dev, "/proc/thread-self/net/dev"),
                (Kind::Arp, "/proc/thread-self/net/arp"),
            ] {
                files.push((kind, File::open(path)?));
            }
            Ok(NsCounters { files, nft })
        })?
        .join()
        .map_err(|_| io::Error::other("the counter thread panicked"))?
}

/// Counter name (with its interface, if any) -> value.
pub type Values = BTreeMap<(String, Option<String>), u64>;

impl NsCounters {
    pub fn read(&mut self) -> Values {
        let mut out = Values::new();
        for (kind, f) in &mut self.files {
            let mut text = String::new();
            if f.rewind().is_err() || f.read_to_string(&mut text).is_err() {
                continue;
            }
            match kind {
                Kind::Mib => mib(&text, &mut out),
                Kind::Dev => dev(&text, &mut out),
                Kind::Arp => arp(&text, &mut out),
            }
        }
        if let Some(ns) = &self.nft
            && let Some(n) = in_ns(ns.as_fd(), nft_counted_drops)
        {
            out.insert(("nft-counter".into(), None), n);
        }
        out
    }
}

/// Runs `f` on a short-lived thread inside the namespace `ns`: what it spawns runs there.
fn in_ns<T: Send + 'static>(ns: BorrowedFd<'_>, f: fn() -> Option<T>) -> Option<T> {
    let ns = ns.try_clone_to_owned().ok()?;
    std::thread::Builder::new()
        .name("topolab-nft".into())
        .spawn(move || {
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).ok()?;
            f()
        })
        .ok()?
        .join()
        .ok()
        .flatten()
}

/// The packets counted by the rules of this thread's namespace that count and then drop,
/// summed; `None` when there are no such rules (or no `nft` to ask).
fn nft_counted_drops() -> Option<u64> {
    let out = std::process::Command::new("nft")
        .args(["-j", "list", "ruleset"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    counted_drops(&serde_json::from_slice(&out.stdout).ok()?)
}

/// From `nft -j list ruleset`: the sum of the anonymous counters that come before a
/// `drop` verdict in a rule.
fn counted_drops(ruleset: &serde_json::Value) -> Option<u64> {
    let mut total = None;
    for item in ruleset["nftables"].as_array()? {
        let Some(expr) = item["rule"]["expr"].as_array() else {
            continue;
        };
        let Some(verdict) = expr.iter().position(|e| e.get("drop").is_some()) else {
            continue;
        };
        let packets: u64 = expr[..verdict]
            .iter()
            .filter_map(|e| e["counter"]["packets"].as_u64())
            .sum();
        if expr[..verdict].iter().any(|e| e["counter"].is_object()) {
            total = Some(total.unwrap_or(0) + packets);
        }
    }
    total
}

fn mib(text: &str, out: &mut Values) {
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let mut n = names.split_whitespace();
        let Some(prefix) = n.next().map(|p| p.trim_end_matches(':')) else {
            continue;
        };
        for (name, v) in n.zip(values.split_whitespace().skip(1)) {
            if let Ok(v) = v.parse::<u64>() {
                out.insert((format!("{prefix}{name}"), None), v);
            }
        }
    }
}

fn dev(text: &str, out: &mut Values) {
    for line in text.lines().skip(2) {
        let Some((iface, rest)) = line.split_once(':') else {
            continue;
        };
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if f.len() >= 12 {
            let iface = Some(iface.trim().to_string());
            out.insert(("rx-dropped".into(), iface.clone()), f[3]);
            out.insert(("tx-dropped".into(), iface), f[11]);
        }
    }
}

/// Entries with no hardware address (flags 0x0: incomplete or failed), per device.
fn arp(text: &str, out: &mut Values) {
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 6 && f[2] == "0x0" {
            *out.entry(("neigh-failed".into(), Some(f[5].to_string())))
                .or_default() += 1;
        }
    }
}

/// The most telling counter that moved between `before` and `after`, with its interface.
pub fn moved(before: &Values, after: &Values) -> Option<(String, Option<String>)> {
    TELLING.iter().find_map(|name| {
        after
            .iter()
            .filter(|((n, _), _)| n == name)
            .find(|(k, v)| **v > before.get(*k).copied().unwrap_or(0))
            .map(|(k, _)| k.clone())
    })
}

/// An unresolved neighbour entry after the probe, whether or not it was new: a neighbour
/// that had failed before fails again without changing what /proc shows. Only a fallback
/// for a probe that failed with no counter moved anywhere.
pub fn unresolved(after: &Values) -> Option<(String, Option<String>)> {
    after
        .iter()
        .find(|((n, _), v)| n == "neigh-failed" && **v > 0)
        .map(|(k, _)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_counters_are_found_by_how_telling_they_are() {
        let mut before = Values::new();
        mib(
            "Ip: InAddrErrors OutNoRoutes\nIp: 0 0\nTcpExt: IPReversePathFilter\nTcpExt: 4\n",
            &mut before,
        );
        arp(
            "IP address HW type Flags HW address Mask Device\n10.0.0.9 0x1 0x2 aa:bb:cc:dd:ee:ff * eth0\n",
            &mut before,
        );
        let mut after = before.clone();
        assert_eq!(moved(&before, &after), None);
        after.insert(("IpInAddrErrors".into(), None), 1);
        assert_eq!(
            moved(&before, &after),
            Some(("IpInAddrErrors".into(), None))
        );
        arp(
            "IP address HW type Flags HW address Mask Device\n10.0.0.7 0x1 0x0 00:00:00:00:00:00 * docker0\n",
            &mut after,
        );
        assert_eq!(
            moved(&before, &after),
            Some(("neigh-failed".into(), Some("docker0".into())))
        );
        after.insert(("TcpExtIPReversePathFilter".into(), None), 5);
        assert_eq!(
            moved(&before, &after),
            Some(("TcpExtIPReversePathFilter".into(), None))
        );
    }

    #[test]
    fn only_rules_that_count_before_they_drop_are_summed() {
        let ruleset = serde_json::json!({"nftables": [
            {"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "inet", "name": "f"}},
            {"rule": {"chain": "c", "expr": [
                {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 53}},
                {"counter": {"packets": 3, "bytes": 252}},
                {"drop": null}]}},
            {"rule": {"chain": "c", "expr": [
                {"counter": {"packets": 2, "bytes": 100}},
                {"drop": null}]}},
            {"rule": {"chain": "c", "expr": [
                {"counter": {"packets": 40, "bytes": 4000}},
                {"accept": null}]}},
            {"rule": {"chain": "c", "expr": [
                {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 23}},
                {"drop": null}]}},
        ]});
        assert_eq!(counted_drops(&ruleset), Some(5));
        let uncounted = serde_json::json!({"nftables": [
            {"rule": {"chain": "c", "expr": [{"drop": null}]}},
        ]});
        assert_eq!(counted_drops(&uncounted), None);
    }

    #[test]
    fn this_namespaces_counters_read() {
        let f = File::open("/proc/self/ns/net").unwrap();
        let mut c = open(f.as_fd()).unwrap();
        let v = c.read();
        assert!(v.contains_key(&("IpInAddrErrors".to_string(), None)));
        assert!(v.contains_key(&("TcpExtIPReversePathFilter".to_string(), None)));
        assert!(v.contains_key(&("rx-dropped".to_string(), Some("lo".to_string()))));
    }
}
