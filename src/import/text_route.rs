//! `ip route show [table all]` (IPv4 and IPv6) and `route -n` as printed for humans.

use super::model::{Host, LOCAL, MAIN, RouteInfo};
use super::{ParseError, check_addr, check_cidr, table_number, words};

const TYPES: &[&str] = &[
    "unicast",
    "local",
    "broadcast",
    "multicast",
    "anycast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "nat",
];

/// `ip route`: one route per line, `nexthop` lines continue a multipath route.
pub fn parse_ip(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) && trimmed.starts_with("nexthop") {
            let Some(last) = host.routes.last() else {
                return Err(ParseError::new(n, "a `nexthop` line before any route"));
            };
            host.skipped.push(format!(
                "multipath route {}: extra nexthop `{trimmed}` (a lab route has one gateway)",
                last.dst
            ));
            continue;
        }
        let w = words(trimmed);
        let mut r = route(&w, n)?;
        // Multipath: `dst proto static` followed by nexthop lines; the first one wins.
        if let Some(next) = text.lines().nth(i + 1)
            && next.trim_start().starts_with("nexthop")
            && r.via.is_none()
            && r.dev.is_none()
        {
            let nw = words(next.trim());
            let nh = route(&[&["0.0.0.0/0"], &nw[1..]].concat(), n + 1)?;
            r.via = nh.via;
            r.dev = nh.dev;
            r.onlink |= nh.onlink;
            host.skipped.push(format!(
                "multipath route {}: only its first nexthop is imported",
                r.dst
            ));
        }
        host.routes.push(r);
    }
    Ok(host)
}

fn route(w: &[&str], n: usize) -> Result<RouteInfo, ParseError> {
    let mut i = 0;
    let mut kind = "unicast";
    if TYPES.contains(&w[0]) {
        kind = w[0];
        i = 1;
    }
    let Some(dst) = w.get(i) else {
        return Err(ParseError::new(
            n,
            format!("route type `{kind}` without a destination"),
        ));
    };
    let mut r = RouteInfo::new(*dst);
    r.kind = kind.to_string();
    if *dst != "default" {
        r.v6 = dst.contains(':');
        if dst.contains('/') {
            check_cidr(dst, n)?;
        } else {
            // A host route prints without its length.
            check_addr(dst, n)?;
            r.dst = format!("{dst}/{}", if r.v6 { 128 } else { 32 });
        }
    }
    i += 1;
    let value = |i: usize, key: &str| -> Result<String, ParseError> {
        w.get(i + 1)
            .map(|v| v.to_string())
            .ok_or_else(|| ParseError::new(n, format!("`{key}` without a value (truncated line?)")))
    };
    while i < w.len() {
        let key = w[i];
        match key {
            "via" => {
                let mut v = value(i, key)?;
                // `via inet6 fe80::1` (another family's gateway).
                if v == "inet" || v == "inet6" {
                    i += 1;
                    v = value(i, key)?;
                }
                check_addr(&v, n)?;
                if v.contains(':') {
                    r.v6 = true;
                }
                r.via = Some(v);
                i += 2;
            }
            "dev" | "oif" => {
                r.dev = Some(value(i, key)?);
                i += 2;
            }
            "src" => {
                let v = value(i, key)?;
                check_addr(&v, n)?;
                r.src = Some(v);
                i += 2;
            }
            "metric" | "preference" | "priority" => {
                let v = value(i, key)?;
                r.metric =
                    Some(v.parse().map_err(|_| {
                        ParseError::new(n, format!("metric `{v}` is not a number"))
                    })?);
                i += 2;
            }
            "table" => {
                let v = value(i, key)?;
                r.table = table_number(&v).ok_or_else(|| {
                    ParseError::new(
                        n,
                        format!("table `{v}` is a name from /etc/iproute2/rt_tables: collect with `ip -N route` or replace it with its number"),
                    )
                })?;
                i += 2;
            }
            "proto" => {
                r.proto = Some(value(i, key)?);
                i += 2;
            }
            "scope" => {
                r.scope = Some(value(i, key)?);
                i += 2;
            }
            "mtu" => {
                let mut v = value(i, key)?;
                if v == "lock" {
                    i += 1;
                    v = value(i, key)?;
                }
                r.mtu = Some(
                    v.parse()
                        .map_err(|_| ParseError::new(n, format!("mtu `{v}` is not a number")))?,
                );
                i += 2;
            }
            "onlink" => {
                r.onlink = true;
                i += 1;
            }
            // Flags about the state of the nexthop or cache, not configuration.
            "linkdown" | "dead" | "pervasive" | "offload" | "trap" | "rt_offload" | "notify"
            | "cache" => i += 1,
            // Key/value attributes a lab route does not carry.
            "pref" | "expires" | "error" | "hoplimit" | "advmss" | "rtt" | "rttvar" | "window"
            | "cwnd" | "initcwnd" | "initrwnd" | "quickack" | "congctl" | "realms" | "weight"
            | "features" | "ssthresh" | "reordering" | "nhid" | "tos" | "dsfield"
            | "fastopen_no_cookie" | "age" | "users" | "used" => i += 2,
            other => {
                return Err(ParseError::new(
                    n,
                    format!("unknown route attribute `{other}` (is this `ip route` output?)"),
                ));
            }
        }
    }
    Ok(r)
}

/// `route -n` (net-tools), IPv4 (`Kernel IP routing table`) or IPv6 (`route -n -A inet6`).
pub fn parse_route_n(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    let mut v6 = false;
    let mut header = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if t.starts_with("Kernel IP routing table") {
            v6 = false;
            continue;
        }
        if t.starts_with("Kernel IPv6 routing table") {
            v6 = true;
            continue;
        }
        if t.starts_with("Destination") {
            header = true;
            continue;
        }
        if !header {
            return Err(ParseError::new(
                n,
                "a route before the `Destination Gateway Genmask Flags ...` header",
            ));
        }
        let w = words(t);
        let r = if v6 {
            // Destination Next Hop Flag Met Ref Use If
            if w.len() < 7 {
                return Err(ParseError::new(
                    n,
                    format!("expected 7 columns, found {} (truncated line?)", w.len()),
                ));
            }
            check_cidr(w[0], n)?;
            let mut r = RouteInfo::new(if w[0] == "::/0" { "default" } else { w[0] });
            r.v6 = true;
            if w[1] != "::" {
                check_addr(w[1], n)?;
                r.via = Some(w[1].to_string());
            }
            r.metric = Some(num(w[3], n)?);
            r.dev = Some(w[6].to_string());
            if w[2].contains('!') {
                r.kind = "unreachable".into();
            }
            // route -n -A inet6 also lists the local table (`Un` ... `lo`).
            if w[6] == "lo" && w[2].starts_with('U') && !w[2].contains('G') {
                r.table = LOCAL;
            }
            flags(&mut r, w[2]);
            r
        } else {
            // Destination Gateway Genmask Flags Metric Ref Use Iface
            if w.len() < 8 {
                return Err(ParseError::new(
                    n,
                    format!("expected 8 columns, found {} (truncated line?)", w.len()),
                ));
            }
            let dst: std::net::Ipv4Addr = w[0].parse().map_err(|_| {
                ParseError::new(n, format!("`{}` is not an IPv4 destination", w[0]))
            })?;
            let mask: std::net::Ipv4Addr = w[2]
                .parse()
                .map_err(|_| ParseError::new(n, format!("`{}` is not a netmask", w[2])))?;
            let bits = u32::from(mask);
            if bits.leading_ones() + bits.trailing_zeros() != 32 {
                return Err(ParseError::new(
                    n,
                    format!("`{}` is not a contiguous netmask", w[2]),
                ));
            }
            let len = bits.leading_ones();
            let mut r = RouteInfo::new(if len == 0 {
                "default".to_string()
            } else {
                format!("{dst}/{len}")
            });
            if w[1] != "0.0.0.0" {
                check_addr(w[1], n)?;
                r.via = Some(w[1].to_string());
            }
            r.metric = Some(num(w[4], n)?);
            r.dev = Some(w[7].to_string());
            if w[3].contains('!') {
                // `-` as the interface and `!` flag: a reject (unreachable) route.
                r.kind = "unreachable".into();
                r.dev = None;
            }
            flags(&mut r, w[3]);
            r
        };
        // route -n cannot tell a connected route (made by the kernel for an address) from
        // a static one; metric 0 on-link routes are what the kernel makes, so they are
        // marked so (kept as routes only when no address accounts for them).
        let mut r = r;
        if r.via.is_none() && r.metric == Some(0) && r.kind == "unicast" && r.table == MAIN {
            r.proto = Some("kernel?".into());
            r.scope = Some("link".into());
        }
        if r.metric == Some(0) {
            r.metric = None;
        }
        host.routes.push(r);
    }
    Ok(host)
}

fn flags(r: &mut RouteInfo, f: &str) {
    // D (redirect) and M (modified) routes were made by ICMP redirects.
    if f.contains('D') || f.contains('M') {
        r.proto = Some("redirect".into());
    }
}

fn num(s: &str, n: usize) -> Result<u32, ParseError> {
    s.parse()
        .map_err(|_| ParseError::new(n, format!("`{s}` is not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_route_keywords() {
        let h = parse_ip(
            "default via 192.168.32.1 dev eth0 proto static metric 100 \n\
             172.245.0.0/24 dev br245 proto kernel scope link src 172.245.0.1 linkdown\n\
             172.246.0.0/24 via 192.168.32.246 dev eth0 onlink\n\
             blackhole 10.0.0.0/8 table 200\n\
             fe80::/64 dev eth0 proto kernel metric 256 pref medium\n",
        )
        .unwrap();
        assert_eq!(h.routes.len(), 5);
        assert_eq!(h.routes[0].metric, Some(100));
        assert_eq!(h.routes[1].src.as_deref(), Some("172.245.0.1"));
        assert!(h.routes[2].onlink);
        assert_eq!(h.routes[3].kind, "blackhole");
        assert_eq!(h.routes[3].table, 200);
        assert!(h.routes[4].v6);
    }

    #[test]
    fn truncated_route_names_the_line() {
        let e = parse_ip("default via 10.0.0.1 dev eth0\n10.1.0.0/16 dev\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse_ip("10.1.0.0/33 dev eth0\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_route_n(
            "Kernel IP routing table\nDestination     Gateway         Genmask         Flags Metric Ref    Use Iface\n0.0.0.0         192.168.73.253  0.0.0.0\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn route_n_netmasks() {
        let h = parse_route_n(
            "Kernel IP routing table
Destination     Gateway         Genmask         Flags Metric Ref    Use Iface
0.0.0.0         192.168.73.253  0.0.0.0         UG    100    0        0 eth0
192.168.0.0     0.0.0.0         255.255.240.0   U     0      0        0 br-c3c094fc6759
192.168.73.253  0.0.0.0         255.255.255.255 UH    100    0        0 eth0
",
        )
        .unwrap();
        assert_eq!(h.routes[0].dst, "default");
        assert_eq!(h.routes[1].dst, "192.168.0.0/20");
        assert_eq!(h.routes[2].dst, "192.168.73.253/32");
        assert_eq!(h.routes[2].metric, Some(100));
    }
}
