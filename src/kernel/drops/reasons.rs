//! The kernel's drop reasons by number, read from its BTF (`enum skb_drop_reason`): the
//! numbering changes between kernel versions, the names do not.

use std::collections::HashMap;
use std::io;

/// `SKB_DROP_REASON_IP_RPFILTER` -> `ip-rpfilter`.
pub fn display(kernel_name: &str) -> String {
    kernel_name
        .trim_start_matches("SKB_DROP_REASON_")
        .to_ascii_lowercase()
        .replace('_', "-")
}

/// Reasons after which nothing can come back for the dropped packet: no answer (it never
/// arrives) and no ICMP error (these paths send none). A neighbour that failed, a missing
/// route or a packet too big may still produce an ICMP error, so they are not here.
///
/// `netfilter-drop` is also the reason of a `reject` verdict, whose ICMP error or TCP
/// reset is sent *before* the packet is freed: callers wait a short grace for it.
pub fn is_terminal(reason: &str) -> bool {
    matches!(
        reason,
        "ip-rpfilter" | "netfilter-drop" | "ip-invalid-source" | "ip-local-source"
    )
}

/// The counters that move for a reason (rootless runs see counters, not reasons): an
/// assertion of the reason accepts them too.
pub const COUNTERS: &[(&str, &[&str])] = &[
    ("ip-rpfilter", &["TcpExtIPReversePathFilter"]),
    ("netfilter-drop", &["nft-counter"]),
    ("neigh-failed", &["neigh-failed"]),
    ("ip-outnoroutes", &["IpOutNoRoutes"]),
    ("ip-innoroutes", &["IpExtInNoRoutes"]),
    ("ip-inaddrerrors", &["IpInAddrErrors"]),
    ("ip-inhdrerrors", &["IpInHdrErrors"]),
    ("no-socket", &["UdpNoPorts", "TcpExtTCPAbortOnData"]),
    ("pkt-too-big", &["IpFragFails"]),
];

/// Whether an observed reason (kernel reason or counter name) is the expected one.
pub fn same(expected: &str, observed: &str) -> bool {
    expected == observed
        || COUNTERS
            .iter()
            .any(|(r, counters)| *r == expected && counters.contains(&observed))
}

/// Number -> display name for every member of `enum skb_drop_reason` in `btf` (the raw
/// contents of /sys/kernel/btf/vmlinux).
pub fn from_btf(btf: &[u8]) -> io::Result<HashMap<u32, String>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("BTF: {what}"));
    let u32_at = |off: usize| -> io::Result<u32> {
        btf.get(off..off + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| bad("truncated"))
    };
    if btf.len() < 24 || btf[0..2] != [0x9f, 0xeb] {
        return Err(bad("not little-endian BTF"));
    }
    let hdr_len = u32_at(4)? as usize;
    let type_off = hdr_len + u32_at(8)? as usize;
    let type_end = type_off + u32_at(12)? as usize;
    let str_off = hdr_len + u32_at(16)? as usize;
    let str_end = str_off + u32_at(20)? as usize;
    let name = |off: u32| -> &str {
        let start = str_off + off as usize;
        btf.get(start..str_end)
            .and_then(|s| s.split(|&b| b == 0).next())
            .and_then(|s| std::str::from_utf8(s).ok())
            .unwrap_or("")
    };
    let mut at = type_off;
    while at + 12 <= type_end {
        let name_off = u32_at(at)?;
        let info = u32_at(at + 4)?;
        let vlen = (info & 0xffff) as usize;
        let kind = (info >> 24) & 0x1f;
        at += 12;
        let extra = match kind {
            1 | 14 | 17 => 4,
            3 => 12,
            4 | 5 | 15 | 19 => vlen * 12,
            6 | 13 => vlen * 8,
            _ => 0,
        };
        if kind == 6 && name(name_off) == "skb_drop_reason" {
            let mut out = HashMap::new();
            for i in 0..vlen {
                let m = at + i * 8;
                out.insert(u32_at(m + 4)?, display(name(u32_at(m)?)));
            }
            return Ok(out);
        }
        at += extra;
    }
    Err(bad("no enum skb_drop_reason"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names_read_as_lower_case_with_dashes() {
        assert_eq!(display("SKB_DROP_REASON_IP_RPFILTER"), "ip-rpfilter");
        assert_eq!(display("SKB_DROP_REASON_NETFILTER_DROP"), "netfilter-drop");
    }

    #[test]
    fn the_running_kernels_btf_names_the_reasons() {
        let Ok(btf) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            eprintln!("no /sys/kernel/btf/vmlinux: nothing to read");
            return;
        };
        let r = from_btf(&btf).unwrap();
        let names: Vec<&str> = r.values().map(String::as_str).collect();
        for n in [
            "ip-rpfilter",
            "netfilter-drop",
            "neigh-failed",
            "ip-outnoroutes",
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
        assert_eq!(r.get(&2).map(String::as_str), Some("not-specified"));
    }
}
