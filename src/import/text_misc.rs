//! The small text formats: `ip rule`, `ip neigh`, `brctl show`, `sysctl -a`.

use super::model::{FdbInfo, Host, LinkKind, NeighInfo, RuleInfo};
use super::{ParseError, check_addr, check_cidr, table_number, words};

/// `ip rule` / `ip -6 rule`: `100:\tfrom 10.0.2.10 lookup 200`.
pub fn parse_rule(text: &str, v6: bool) -> Result<Host, ParseError> {
    let mut host = Host::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let Some((prio, rest)) = t.split_once(':') else {
            return Err(ParseError::new(
                n,
                format!("expected `PRIORITY: from ... lookup TABLE`, found `{t}`"),
            ));
        };
        let priority: u32 = prio
            .trim()
            .parse()
            .map_err(|_| ParseError::new(n, format!("rule priority `{prio}` is not a number")))?;
        let w = words(rest);
        let mut r = RuleInfo {
            priority: Some(priority),
            action: "lookup".into(),
            v6,
            ..RuleInfo::default()
        };
        let mut i = 0;
        let value = |i: usize| -> Result<&str, ParseError> {
            w.get(i + 1).copied().ok_or_else(|| {
                ParseError::new(n, format!("`{}` without a value (truncated line?)", w[i]))
            })
        };
        while i < w.len() {
            match w[i] {
                "from" | "to" => {
                    let v = value(i)?;
                    if v != "all" {
                        if v.contains('/') {
                            check_cidr(v, n)?;
                        } else {
                            check_addr(v, n)?;
                        }
                        if v.contains(':') {
                            r.v6 = true;
                        }
                        if w[i] == "from" {
                            r.from = Some(v.to_string());
                        } else {
                            r.to = Some(v.to_string());
                        }
                    }
                    i += 2;
                }
                "iif" => {
                    r.iif = Some(value(i)?.to_string());
                    i += 2;
                }
                "oif" => {
                    r.oif = Some(value(i)?.to_string());
                    i += 2;
                }
                "fwmark" => {
                    let v = value(i)?;
                    let (mark, mask) = v.split_once('/').unwrap_or((v, ""));
                    r.fwmark = Some(parse_u32(mark).ok_or_else(|| {
                        ParseError::new(n, format!("fwmark `{v}` is not a number"))
                    })?);
                    if !mask.is_empty() && parse_u32(mask) != Some(u32::MAX) {
                        r.extra.push(format!("fwmark mask {mask}"));
                    }
                    i += 2;
                }
                "lookup" | "table" => {
                    let v = value(i)?;
                    r.table = Some(table_number(v).ok_or_else(|| {
                        ParseError::new(n, format!("table `{v}` is a name from /etc/iproute2/rt_tables: collect with `ip -N rule` or replace it with its number"))
                    })?);
                    i += 2;
                }
                "blackhole" | "unreachable" | "prohibit" | "nop" => {
                    r.action = w[i].to_string();
                    i += 1;
                }
                "goto" => {
                    r.action = "goto".into();
                    r.extra.push(format!("goto {}", value(i)?));
                    i += 2;
                }
                "not" => {
                    r.extra.push("not".into());
                    i += 1;
                }
                "[detached]" | "unresolved" => i += 1,
                "suppress_prefixlength"
                | "suppress_ifgroup"
                | "uidrange"
                | "ipproto"
                | "sport"
                | "dport"
                | "tos"
                | "dsfield"
                | "realms"
                | "protocol"
                | "proto"
                | "l3mdev"
                | "pref"
                | "priority" => {
                    if w[i] == "l3mdev" {
                        r.extra.push("l3mdev".into());
                        i += 1;
                    } else {
                        if !matches!(w[i], "protocol" | "proto" | "pref" | "priority") {
                            r.extra.push(format!("{} {}", w[i], value(i)?));
                        }
                        i += 2;
                    }
                }
                other => {
                    return Err(ParseError::new(
                        n,
                        format!("unknown rule keyword `{other}` (is this `ip rule` output?)"),
                    ));
                }
            }
        }
        host.rules.push(r);
    }
    Ok(host)
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `ip neigh`: `10.0.0.1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE`, and
/// `bridge fdb`-style lines are not expected here.
pub fn parse_neigh(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let w = words(t);
        check_addr(w[0], n)?;
        let mut dev = None;
        let mut mac = None;
        let mut state = String::new();
        let mut i = 1;
        while i < w.len() {
            match w[i] {
                "dev" | "lladdr" => {
                    let v = w.get(i + 1).ok_or_else(|| {
                        ParseError::new(n, format!("`{}` without a value (truncated line?)", w[i]))
                    })?;
                    if w[i] == "dev" {
                        dev = Some(v.to_string());
                    } else {
                        mac = Some(v.to_string());
                    }
                    i += 2;
                }
                "router" | "proxy" | "extern_learn" => i += 1,
                s if s.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                    state = if state.is_empty() {
                        s.to_string()
                    } else {
                        format!("{state},{s}")
                    };
                    i += 1;
                }
                other => {
                    return Err(ParseError::new(
                        n,
                        format!("unknown neighbour keyword `{other}` (is this `ip neigh` output?)"),
                    ));
                }
            }
        }
        let Some(dev) = dev else {
            return Err(ParseError::new(n, "neighbour without `dev`"));
        };
        host.neighbours.push(NeighInfo {
            dev,
            address: w[0].to_string(),
            mac,
            state,
        });
    }
    Ok(host)
}

/// `bridge fdb show`: `00:00:00:00:00:00 dev vxlan0 dst 10.0.0.2 self permanent`.
pub fn parse_fdb(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let w = words(line.trim());
        if w.is_empty() {
            continue;
        }
        let get = |k: &str| {
            w.iter()
                .position(|x| *x == k)
                .and_then(|p| w.get(p + 1))
                .copied()
        };
        let Some(dev) = get("dev") else {
            return Err(ParseError::new(n, "fdb entry without `dev`"));
        };
        // Only tunnel entries (a remote `dst`) are configuration a lab carries: the
        // rest are the kernel's own (multicast, the bridge's MACs) or learned.
        if get("dst").is_none() {
            continue;
        }
        host.fdb.push(FdbInfo {
            dev: dev.into(),
            mac: w[0].into(),
            dst: get("dst").map(String::from),
        });
    }
    Ok(host)
}

/// `brctl show`: bridges and their ports; continuation lines list further ports.
pub fn parse_brctl(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    let mut bridge: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() || line.starts_with("bridge name") {
            continue;
        }
        let w = words(line.trim());
        if line.starts_with(char::is_whitespace) {
            let Some(b) = &bridge else {
                return Err(ParseError::new(n, "a port line before any bridge"));
            };
            let b = b.clone();
            host.link(w[0]).master = Some(b);
            continue;
        }
        if w.len() < 3 {
            return Err(ParseError::new(
                n,
                format!(
                    "expected `name id STP [port]`, found `{}` (truncated line?)",
                    line.trim()
                ),
            ));
        }
        host.link(w[0]).kind = LinkKind::Bridge;
        bridge = Some(w[0].to_string());
        if let Some(port) = w.get(3) {
            host.link(port).master = Some(w[0].to_string());
        }
    }
    Ok(host)
}

/// `sysctl -a` (or any subset): `net.ipv4.conf.all.rp_filter = 2`. Only `net.` keys.
pub fn parse_sysctl(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with("sysctl: ") {
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            return Err(ParseError::new(
                n,
                format!("expected `key = value`, found `{t}`"),
            ));
        };
        let k = k.trim().replace('/', ".");
        if k.starts_with("net.") {
            host.sysctl.insert(k, v.trim().to_string());
        }
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let h = parse_rule(
            "0:\tfrom all lookup local\n100:\tfrom 10.0.2.10 lookup 200\n32765:\tfrom all fwmark 0x1 lookup 100\n32766:\tfrom all lookup main\n",
            false,
        )
        .unwrap();
        assert_eq!(h.rules[0].table, Some(255));
        assert_eq!(h.rules[1].from.as_deref(), Some("10.0.2.10"));
        assert_eq!(h.rules[2].fwmark, Some(1));
        let e = parse_rule("100:\tfrom 10.0.2.10 lookup\n", false).unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn brctl() {
        let h = parse_brctl(
            "bridge name\tbridge id\t\tSTP enabled\tinterfaces\ndocker0\t\t8000.0242a1b2c3d4\tno\t\tveth1\n\t\t\t\t\t\t\tveth2\nbr-c3c094fc6759\t\t8000.02420a0b0c0d\tno\t\t\n",
        )
        .unwrap();
        assert_eq!(h.links["docker0"].kind, LinkKind::Bridge);
        assert_eq!(h.links["veth2"].master.as_deref(), Some("docker0"));
        assert_eq!(h.links["br-c3c094fc6759"].kind, LinkKind::Bridge);
    }
}
