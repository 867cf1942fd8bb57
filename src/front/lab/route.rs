//! Validated routes and policy rules, with their address family resolved.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{RouteType, RuleAction};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination; `default` is 0.0.0.0/0 or ::/0.
    pub to: IpNet,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    pub src: Option<IpAddr>,
    pub metric: Option<u32>,
    pub table: Option<u32>,
    pub kind: RouteType,
    pub onlink: bool,
    pub mtu: Option<u32>,
}

impl Route {
    /// The route as `ip route` would print it, for plans and messages.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if self.kind != RouteType::Unicast {
            s.push_str(self.kind.as_str());
            s.push(' ');
        }
        if self.to.prefix_len() == 0 {
            s.push_str("default");
        } else {
            s.push_str(&self.to.to_string());
        }
        if let Some(v) = self.via {
            s.push_str(&format!(" via {v}"));
        }
        if let Some(d) = &self.dev {
            s.push_str(&format!(" dev {d}"));
        }
        if let Some(src) = self.src {
            s.push_str(&format!(" src {src}"));
        }
        if let Some(m) = self.metric {
            s.push_str(&format!(" metric {m}"));
        }
        if let Some(t) = self.table {
            s.push_str(&format!(" table {t}"));
        }
        if self.onlink {
            s.push_str(" onlink");
        }
        if let Some(m) = self.mtu {
            s.push_str(&format!(" mtu {m}"));
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub family: Family,
    pub from: Option<IpNet>,
    pub to: Option<IpNet>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<u32>,
    pub table: Option<u32>,
    pub priority: Option<u32>,
    pub action: RuleAction,
}

impl Rule {
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if let Some(p) = self.priority {
            s.push_str(&format!("priority {p} "));
        }
        if self.family == Family::V6 {
            s.push_str("inet6 ");
        }
        s.push_str(&format!(
            "from {}",
            self.from
                .map(|f| f.to_string())
                .unwrap_or_else(|| "all".into())
        ));
        if let Some(t) = self.to {
            s.push_str(&format!(" to {t}"));
        }
        if let Some(i) = &self.iif {
            s.push_str(&format!(" iif {i}"));
        }
        if let Some(o) = &self.oif {
            s.push_str(&format!(" oif {o}"));
        }
        if let Some(m) = self.fwmark {
            s.push_str(&format!(" fwmark {m:#x}"));
        }
        match self.action {
            RuleAction::Lookup => s.push_str(&format!(" lookup {}", self.table.unwrap_or(254))),
            RuleAction::Blackhole => s.push_str(" blackhole"),
            RuleAction::Unreachable => s.push_str(" unreachable"),
            RuleAction::Prohibit => s.push_str(" prohibit"),
        }
        s
    }
}
