//! `ip addr` / `ip link` as printed for humans (what tickets paste).
//!
//! ```text
//! 10: veth245@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br245 state UP
//!     link/ether 02:8d:b1:91:fa:7a brd ff:ff:ff:ff:ff:ff link-netnsid 0
//!     inet 192.168.32.245/24 brd 192.168.32.255 scope global noprefixroute eth0
//!        valid_lft forever preferred_lft forever
//! ```

use super::model::{Addr, Host, LinkKind};
use super::{ParseError, check_cidr, words};

pub fn parse(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            current = Some(header(&mut host, trimmed, n)?);
            continue;
        }
        let Some(dev) = current.clone() else {
            return Err(ParseError::new(
                n,
                "an indented line before any interface header (`N: name: <FLAGS> ...`)",
            ));
        };
        let w = words(trimmed);
        match w[0] {
            "inet" | "inet6" => {
                let Some(cidr) = w.get(1) else {
                    return Err(ParseError::new(n, format!("`{}` without an address", w[0])));
                };
                // Point-to-point addresses print as `inet A peer B/32`: the prefix
                // belongs to the peer, the local address is A.
                let cidr = if w.get(2) == Some(&"peer") {
                    host.skipped.push(format!(
                        "{dev}: point-to-point peer {} of {cidr} (imported as {cidr}/32)",
                        w.get(3).copied().unwrap_or("?")
                    ));
                    format!("{cidr}/32")
                } else {
                    cidr.to_string()
                };
                check_cidr(&cidr, n)?;
                // Link-local IPv6 addresses are made by the kernel for every interface.
                let scope = value_after(&w, "scope");
                if w[0] == "inet6" && scope == Some("link") {
                    continue;
                }
                if scope == Some("host") && dev == "lo" {
                    continue;
                }
                if w.contains(&"dynamic") {
                    host.skipped.push(format!(
                        "{dev}: {cidr} was assigned dynamically (DHCP/SLAAC); imported as static"
                    ));
                }
                host.addrs.push(Addr { dev, cidr });
            }
            w0 if w0.starts_with("link/") => {
                let l = host.link(&dev);
                match w0 {
                    "link/loopback" => l.kind = LinkKind::Loopback,
                    "link/ipip" if l.kind == LinkKind::Unknown => l.kind = LinkKind::Ipip,
                    "link/gre" if l.kind == LinkKind::Unknown => l.kind = LinkKind::Gre,
                    "link/none" if l.kind == LinkKind::Unknown => {
                        // tun devices and wireguard both show link/none.
                        l.kind = LinkKind::Other("tun or wireguard".into());
                    }
                    _ => {}
                }
                if w0 == "link/ether"
                    && let Some(mac) = w.get(1)
                {
                    l.mac = Some((*mac).to_string());
                }
            }
            // `ip -d link`: the kind and its parameters on a line of their own.
            "vxlan" | "bridge" | "veth" | "vlan" | "macvlan" | "vrf" | "dummy" | "ipip" | "gre"
            | "gretap" | "wireguard" | "tun" | "ipvlan" | "bond" => detail(&mut host, &dev, &w, n)?,
            // Address lifetimes and the rest of the detail lines carry nothing a lab needs.
            _ => {}
        }
    }
    Ok(host)
}

/// `vxlan id 1 local 192.168.32.245 dev eth0 srcport 0 0 dstport 8472 nolearning ...`
fn detail(host: &mut Host, dev: &str, w: &[&str], n: usize) -> Result<(), ParseError> {
    let l = host.link(dev);
    l.kind = LinkKind::from_ip(w[0]);
    let num = |key: &str| -> Result<Option<u32>, ParseError> {
        match value_after(w, key) {
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ParseError::new(n, format!("{key} `{v}` is not a number"))),
            None => Ok(None),
        }
    };
    match w[0] {
        "vxlan" => {
            l.vni = num("id")?;
            l.dstport = num("dstport")?.and_then(|p| u16::try_from(p).ok());
            if w.contains(&"nolearning") {
                l.learning = Some(false);
            }
        }
        "vlan" => l.vlan_id = num("id")?.and_then(|p| u16::try_from(p).ok()),
        "vrf" => l.table = num("table")?,
        "macvlan" => l.mode = value_after(w, "mode").map(String::from),
        _ => {}
    }
    if let Some(v) = value_after(w, "local").filter(|v| *v != "any") {
        l.local = Some(v.to_string());
    }
    if let Some(v) = value_after(w, "remote").filter(|v| *v != "any") {
        l.remote = Some(v.to_string());
    }
    if let Some(v) = value_after(w, "group") {
        l.group = Some(v.to_string());
    }
    if let Some(v) = value_after(w, "dev") {
        l.parent = Some(v.to_string());
    }
    Ok(())
}

fn value_after<'a>(w: &[&'a str], key: &str) -> Option<&'a str> {
    w.iter()
        .position(|x| *x == key)
        .and_then(|i| w.get(i + 1))
        .copied()
}

/// `2: eth0@if10: <FLAGS> mtu 1500 ... master br0 state UP ...`; returns the name.
fn header(host: &mut Host, line: &str, n: usize) -> Result<String, ParseError> {
    let bad = || {
        ParseError::new(
            n,
            format!(
                "expected an interface header like `2: eth0: <UP,LOWER_UP> mtu 1500`, found `{line}`"
            ),
        )
    };
    let (index, rest) = line.split_once(": ").ok_or_else(bad)?;
    if index.parse::<u32>().is_err() {
        return Err(bad());
    }
    let (name, rest) = rest.split_once(": ").ok_or_else(bad)?;
    let w = words(rest);
    let flags = w.first().filter(|f| f.starts_with('<')).ok_or_else(bad)?;
    if !flags.ends_with('>') {
        return Err(bad());
    }
    let flags: Vec<&str> = flags
        .trim_start_matches('<')
        .trim_end_matches('>')
        .split(',')
        .collect();
    // `eth0@if10`: the peer is in another namespace (a veth, or a macvlan/ipvlan moved into
    // a container); `eth0.100@eth0`: a vlan or macvlan on eth0; `@NONE`: no lower device.
    let (name, lower) = match name.split_once('@') {
        Some((a, b)) => (a, Some(b)),
        None => (name, None),
    };
    if name.is_empty() {
        return Err(bad());
    }
    let l = host.link(name);
    l.up = Some(flags.contains(&"UP"));
    if flags.contains(&"LOOPBACK") {
        l.kind = LinkKind::Loopback;
    }
    match lower {
        Some(p) if p.starts_with("if") && p[2..].chars().all(|c| c.is_ascii_digit()) => {
            l.kind = LinkKind::Veth
        }
        Some("NONE") | None => {}
        Some(p) => l.parent = Some(p.to_string()),
    }
    if let Some(mtu) = value_after(&w, "mtu") {
        l.mtu = Some(
            mtu.parse()
                .map_err(|_| ParseError::new(n, format!("mtu `{mtu}` is not a number")))?,
        );
    }
    if let Some(master) = value_after(&w, "master") {
        l.master = Some(master.to_string());
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_master_and_link_local_dropped() {
        let h = parse(
            "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP group default qlen 1000
    link/ether 52:54:00:ce:51:a5 brd ff:ff:ff:ff:ff:ff
    inet 192.168.32.245/24 brd 192.168.32.255 scope global noprefixroute eth0
       valid_lft forever preferred_lft forever
    inet6 fe80::5054:ff:fece:51a5/64 scope link
       valid_lft forever preferred_lft forever
10: veth245@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue master br245 state UP group default qlen 1000
    link/ether 02:8d:b1:91:fa:7a brd ff:ff:ff:ff:ff:ff link-netnsid 0
",
        )
        .unwrap();
        assert_eq!(
            h.addrs,
            vec![Addr {
                dev: "eth0".into(),
                cidr: "192.168.32.245/24".into()
            }]
        );
        let v = &h.links["veth245"];
        assert_eq!(v.kind, LinkKind::Veth);
        assert_eq!(v.master.as_deref(), Some("br245"));
        assert_eq!(v.mtu, Some(1450));
    }

    #[test]
    fn truncated_address_names_the_line() {
        let e = parse("2: eth0: <UP> mtu 1500\n    inet 192.168.3\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("    inet 10.0.0.1/24\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("2: eth0 <UP> mtu 1500\n").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
