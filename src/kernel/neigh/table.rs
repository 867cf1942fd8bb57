//! Whether the host's neighbour tables overflowed while a diff ran.
//!
//! ARP and NDP entries of every network namespace live in two tables shared by the whole
//! host. When they are full, new neighbours cannot be resolved in any namespace: probes
//! fail with ENOBUFS or go unanswered, whatever the labs say, and other labs running on the
//! host at the same time can cause it. The kernel counts these events ("table_fulls" in
//! /proc/net/stat/arp_cache and ndisc_cache, global counters, one line per CPU); comparing
//! them before and after a diff tells whether its silences can be trusted.

/// Overflows of both tables so far, or None when the counters cannot be read.
pub fn overflows() -> Option<u64> {
    let mut total = 0;
    for table in ["arp_cache", "ndisc_cache"] {
        let text = std::fs::read_to_string(format!("/proc/net/stat/{table}")).ok()?;
        total += table_fulls(&text)?;
    }
    Some(total)
}

/// What a report says when the tables overflowed `n` times while a lab's probes ran.
pub fn warning(n: u64) -> String {
    let limit = std::fs::read_to_string("/proc/sys/net/ipv4/neigh/default/gc_thresh3")
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|_| "?".to_string());
    format!(
        "the host's neighbour table overflowed {n} time(s) while this lab's probes ran \
         (gc_thresh3 = {limit}, shared by every namespace on the host): a failure with ENOBUFS \
         or a timeout may come from that, not from the lab; other labs or processes on the \
         host may have filled it"
    )
}

/// The sum of the `table_fulls` column (hexadecimal, one row per CPU).
fn table_fulls(text: &str) -> Option<u64> {
    let mut lines = text.lines();
    let column = lines
        .next()?
        .split_whitespace()
        .position(|h| h == "table_fulls")?;
    lines
        .map(|l| {
            let field = l.split_whitespace().nth(column)?;
            u64::from_str_radix(field, 16).ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_the_table_fulls_column_of_every_cpu() {
        let text =
            "entries  allocs table_fulls\n00000050 00005f87 0000000a\n00000050 000060fa 00000001\n";
        assert_eq!(table_fulls(text), Some(11));
        assert_eq!(table_fulls("entries allocs\n1 2\n"), None);
    }

    #[test]
    fn the_warning_names_the_count_and_the_shared_limit() {
        let w = warning(3);
        assert!(
            w.starts_with("the host's neighbour table overflowed 3 time(s)"),
            "{w}"
        );
        assert!(w.contains("gc_thresh3 = "), "{w}");
    }
}
