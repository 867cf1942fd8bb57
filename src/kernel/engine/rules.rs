//! RTM_NEWRULE for policy routing rules. The action is always set explicitly: rtnetlink's
//! default (unspecified) is refused by the kernel.

use netlink_packet_route::rule::{RuleAction as NlAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::front::lab::{Family, Rule, RuleAction};

pub fn add(r: &Rule) -> RouteNetlinkMessage {
    let mut m = RuleMessage::default();
    m.header.family = match r.family {
        Family::V4 => AddressFamily::Inet,
        Family::V6 => AddressFamily::Inet6,
    };
    m.header.action = match r.action {
        RuleAction::Lookup => NlAction::ToTable,
        RuleAction::Blackhole => NlAction::Blackhole,
        RuleAction::Unreachable => NlAction::Unreachable,
        RuleAction::Prohibit => NlAction::Prohibit,
    };
    if let Some(from) = r.from {
        m.header.src_len = from.prefix_len();
        m.attributes.push(RuleAttribute::Source(from.network()));
    }
    if let Some(to) = r.to {
        m.header.dst_len = to.prefix_len();
        m.attributes.push(RuleAttribute::Destination(to.network()));
    }
    if let Some(i) = &r.iif {
        m.attributes.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &r.oif {
        m.attributes.push(RuleAttribute::Oifname(o.clone()));
    }
    if let Some(mark) = r.fwmark {
        m.attributes.push(RuleAttribute::FwMark(mark));
    }
    if let Some(t) = r.table {
        m.header.table = u8::try_from(t).unwrap_or(0);
        m.attributes.push(RuleAttribute::Table(t));
    }
    if let Some(p) = r.priority {
        m.attributes.push(RuleAttribute::Priority(p));
    }
    RouteNetlinkMessage::NewRule(m)
}
