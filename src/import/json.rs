//! `ip -j ...` and `nft -j list ruleset`: the machine-readable outputs `--collect` saves.

use serde_json::Value;

use super::model::{Addr, Host, LinkKind, NeighInfo, RouteInfo, RuleInfo};
use super::{ParseError, table_number};

fn array(text: &str) -> Result<Vec<Value>, ParseError> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        ParseError::new(
            e.line(),
            format!(
                "invalid JSON at column {}: {e} (truncated file?)",
                e.column()
            ),
        )
    })?;
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(ParseError::new(
            1,
            "expected a JSON array, as `ip -j` prints",
        )),
    }
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(String::from)
}

fn n(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

fn flag(v: &Value, k: &str, f: &str) -> bool {
    v.get(k)
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(f)))
}

/// `ip -j -d link` and `ip -j addr` (the latter has addresses and the link fields).
pub fn links(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    for item in array(text)? {
        let Some(name) = s(&item, "ifname") else {
            return Err(ParseError::new(1, "an interface without `ifname`"));
        };
        let l = host.link(&name);
        l.mtu = n(&item, "mtu").and_then(|m| u32::try_from(m).ok());
        if item.get("flags").is_some() {
            l.up = Some(flag(&item, "flags", "UP"));
        }
        if s(&item, "link_type").as_deref() == Some("ether") {
            l.mac = s(&item, "address");
        }
        if s(&item, "link_type").as_deref() == Some("loopback") {
            l.kind = LinkKind::Loopback;
        }
        l.master = s(&item, "master");
        if let Some(p) = s(&item, "link") {
            l.parent = Some(p);
        }
        if let Some(info) = item.get("linkinfo") {
            if let Some(kind) = s(info, "info_kind") {
                l.kind = LinkKind::from_ip(&kind);
            }
            if let Some(d) = info.get("info_data") {
                l.vni = n(d, "id")
                    .and_then(|x| u32::try_from(x).ok())
                    .filter(|_| l.kind == LinkKind::Vxlan);
                if l.kind == LinkKind::Vlan {
                    l.vlan_id = n(d, "id").and_then(|x| u16::try_from(x).ok());
                }
                l.local = s(d, "local");
                l.remote = s(d, "remote");
                l.group = s(d, "group");
                l.dstport = n(d, "port").and_then(|x| u16::try_from(x).ok());
                l.learning = d.get("learning").and_then(Value::as_bool);
                l.mode = s(d, "mode");
                l.table = n(d, "table").and_then(|x| u32::try_from(x).ok());
                if l.kind != LinkKind::Vxlan {
                    l.ttl = n(d, "ttl")
                        .and_then(|x| u8::try_from(x).ok())
                        .filter(|t| *t > 0);
                }
                l.key = n(d, "ikey").and_then(|x| u32::try_from(x).ok());
                if l.parent.is_none() {
                    l.parent = s(d, "link");
                }
            }
        } else if item.get("promiscuity").is_some()
            && s(&item, "link_type").as_deref() == Some("ether")
        {
            // `ip -j -d link` (it prints `promiscuity`) has no linkinfo for physical NICs;
            // plain `ip -j addr` has neither and says nothing about the kind.
            l.kind = LinkKind::Physical;
        }
        if let Some(addrs) = item.get("addr_info").and_then(Value::as_array) {
            for a in addrs {
                let (Some(local), Some(len)) = (s(a, "local"), n(a, "prefixlen")) else {
                    continue;
                };
                let scope = s(a, "scope");
                if scope.as_deref() == Some("host") && name == "lo" {
                    continue;
                }
                if s(a, "family").as_deref() == Some("inet6") && scope.as_deref() == Some("link") {
                    continue;
                }
                host.addrs.push(Addr {
                    dev: name.clone(),
                    cidr: format!("{local}/{len}"),
                });
            }
        }
    }
    Ok(host)
}

/// `ip -j route show table all` (either family).
pub fn routes(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    for item in array(text)? {
        let Some(dst) = s(&item, "dst") else {
            return Err(ParseError::new(1, "a route without `dst`"));
        };
        let mut r = RouteInfo::new(dst.clone());
        r.v6 = dst.contains(':') || s(&item, "gateway").is_some_and(|g| g.contains(':'));
        // `ip -j` prints a host route's dst without a length.
        if dst != "default" && !dst.contains('/') {
            r.dst = format!("{dst}/{}", if r.v6 { 128 } else { 32 });
        }
        if let Some(t) = s(&item, "type") {
            r.kind = t;
        }
        r.via = s(&item, "gateway");
        r.dev = s(&item, "dev");
        r.src = s(&item, "prefsrc");
        r.metric = n(&item, "metric").and_then(|m| u32::try_from(m).ok());
        r.proto = s(&item, "protocol");
        r.scope = s(&item, "scope");
        r.onlink = flag(&item, "flags", "onlink");
        r.table = match item.get("table") {
            Some(Value::String(t)) => table_number(t).ok_or_else(|| {
                ParseError::new(
                    1,
                    format!("table `{t}` is a name; collect with `ip -N -j route`"),
                )
            })?,
            Some(Value::Number(t)) => t
                .as_u64()
                .and_then(|t| u32::try_from(t).ok())
                .unwrap_or(super::model::MAIN),
            _ => super::model::MAIN,
        };
        if let Some(m) = item.get("metrics").and_then(Value::as_array) {
            for x in m {
                if let Some(mtu) = n(x, "mtu") {
                    r.mtu = u32::try_from(mtu).ok();
                }
            }
        }
        if let Some(hops) = item.get("nexthops").and_then(Value::as_array) {
            if let Some(first) = hops.first() {
                r.via = s(first, "gateway");
                r.dev = s(first, "dev");
            }
            if hops.len() > 1 {
                host.skipped.push(format!(
                    "multipath route {}: only its first nexthop is imported",
                    r.dst
                ));
            }
        }
        host.routes.push(r);
    }
    Ok(host)
}

/// `ip -j rule`.
pub fn rules(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    for item in array(text)? {
        let prefix = |a: &str, l: &str| {
            s(&item, a)
                .filter(|v| v != "all")
                .map(|v| match n(&item, l) {
                    Some(len) => format!("{v}/{len}"),
                    None => v,
                })
        };
        let mut r = RuleInfo {
            priority: n(&item, "priority").and_then(|p| u32::try_from(p).ok()),
            from: prefix("src", "srclen"),
            to: prefix("dst", "dstlen"),
            iif: s(&item, "iifname"),
            oif: s(&item, "oifname"),
            action: s(&item, "action").unwrap_or_else(|| "lookup".into()),
            ..RuleInfo::default()
        };
        r.v6 = r.from.as_deref().is_some_and(|f| f.contains(':'))
            || r.to.as_deref().is_some_and(|f| f.contains(':'));
        if let Some(m) = s(&item, "fwmark") {
            r.fwmark = u32::from_str_radix(m.trim_start_matches("0x"), 16).ok();
        }
        if let Some(t) = s(&item, "table") {
            r.table = Some(table_number(&t).ok_or_else(|| {
                ParseError::new(
                    1,
                    format!("table `{t}` is a name; collect with `ip -N -j rule`"),
                )
            })?);
        }
        if item.get("not").is_some() {
            r.extra.push("not".into());
        }
        host.rules.push(r);
    }
    Ok(host)
}

/// `ip -j neigh`.
pub fn neighbours(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    for item in array(text)? {
        let (Some(dst), Some(dev)) = (s(&item, "dst"), s(&item, "dev")) else {
            return Err(ParseError::new(1, "a neighbour without `dst` or `dev`"));
        };
        let state = item
            .get("state")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        host.neighbours.push(NeighInfo {
            dev,
            address: dst,
            mac: s(&item, "lladdr"),
            state,
        });
    }
    Ok(host)
}

/// `nft -j list ruleset`, rendered in the nft syntax a lab takes (see [`super::nft_json`]).
pub fn nft(text: &str) -> Result<Host, ParseError> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        ParseError::new(
            e.line(),
            format!(
                "invalid JSON at column {}: {e} (truncated file?)",
                e.column()
            ),
        )
    })?;
    let items = v.get("nftables").and_then(Value::as_array).ok_or_else(|| {
        ParseError::new(
            1,
            "no `nftables` array: not the output of `nft -j list ruleset`",
        )
    })?;
    let rendered = super::nft_json::render(items);
    let mut host = Host::default();
    if !rendered.text.is_empty() {
        host.nft = Some(rendered.text);
        host.nft_from_json = true;
        host.nft_notes = rendered.notes;
    }
    Ok(host)
}
