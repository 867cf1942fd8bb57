//! A node's policy rules, read back and rendered as `ip rule` would.

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};

use crate::kernel::netlink::{Netlink, NlError};

/// Rules like `ip rule`, IPv4 then IPv6 (`inet6` prefix), by priority.
pub async fn read(nl: &Netlink) -> Result<Vec<String>, NlError> {
    let mut out = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut req = RuleMessage::default();
        req.header.family = family;
        let msgs = nl
            .request(
                RouteNetlinkMessage::GetRule(req),
                NLM_F_REQUEST | NLM_F_DUMP,
            )
            .await?;
        let mut rules: Vec<(u32, String)> = Vec::new();
        for m in msgs {
            let RouteNetlinkMessage::NewRule(r) = m else {
                continue;
            };
            let mut prio = 0;
            let mut from = None;
            let mut to = None;
            let mut iif = None;
            let mut oif = None;
            let mut mark = None;
            let mut table = u32::from(r.header.table);
            for a in &r.attributes {
                match a {
                    RuleAttribute::Priority(p) => prio = *p,
                    RuleAttribute::Source(s) => from = Some(format!("{s}/{}", r.header.src_len)),
                    RuleAttribute::Destination(d) => to = Some(format!("{d}/{}", r.header.dst_len)),
                    RuleAttribute::Iifname(i) => iif = Some(i.clone()),
                    RuleAttribute::Oifname(o) => oif = Some(o.clone()),
                    RuleAttribute::FwMark(m) => mark = Some(*m),
                    RuleAttribute::Table(t) => table = *t,
                    _ => {}
                }
            }
            let mut s = format!("{prio}: ");
            if family == AddressFamily::Inet6 {
                s.push_str("inet6 ");
            }
            s.push_str(&format!("from {}", from.unwrap_or_else(|| "all".into())));
            if let Some(t) = to {
                s.push_str(&format!(" to {t}"));
            }
            if let Some(i) = iif {
                s.push_str(&format!(" iif {i}"));
            }
            if let Some(o) = oif {
                s.push_str(&format!(" oif {o}"));
            }
            if let Some(m) = mark {
                s.push_str(&format!(" fwmark {m:#x}"));
            }
            match r.header.action {
                RuleAction::ToTable => s.push_str(&format!(" lookup {}", table_name(table))),
                RuleAction::Blackhole => s.push_str(" blackhole"),
                RuleAction::Unreachable => s.push_str(" unreachable"),
                RuleAction::Prohibit => s.push_str(" prohibit"),
                other => s.push_str(&format!(" {other:?}").to_lowercase()),
            }
            rules.push((prio, s));
        }
        rules.sort();
        out.extend(rules.into_iter().map(|(_, s)| s));
    }
    Ok(out)
}

fn table_name(t: u32) -> String {
    match t {
        255 => "local".into(),
        254 => "main".into(),
        253 => "default".into(),
        t => t.to_string(),
    }
}
