//! A namespace's links, dumped once over netlink: by index and by name.

use std::collections::BTreeMap;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage,
};

use super::conn::Netlink;
use super::error::NlError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    pub kind: Option<String>,
    pub up: bool,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
    pub master: Option<u32>,
    /// Carrier present (IFF_LOWER_UP).
    pub carrier: bool,
    /// Operational state is up: the kernel has processed the carrier event and attached
    /// the interface's real queueing discipline.
    pub oper_up: bool,
    /// IFLA_LINK names another device (veth peer, lower device of a vlan or tunnel).
    pub stacked: bool,
}

/// The links of a namespace, by index: the one dump every other reader names things with.
#[derive(Debug, Clone, Default)]
pub struct Links(BTreeMap<u32, LinkInfo>);

impl Links {
    pub async fn read(nl: &Netlink) -> Result<Links, NlError> {
        let msgs = nl
            .request(
                RouteNetlinkMessage::GetLink(LinkMessage::default()),
                NLM_F_REQUEST | NLM_F_DUMP,
            )
            .await?;
        let mut map = BTreeMap::new();
        for m in msgs {
            let RouteNetlinkMessage::NewLink(l) = m else {
                continue;
            };
            let mut info = LinkInfo {
                index: l.header.index,
                name: String::new(),
                kind: None,
                up: l.header.flags.contains(LinkFlags::Up),
                carrier: l.header.flags.contains(LinkFlags::LowerUp),
                oper_up: false,
                stacked: false,
                mtu: None,
                mac: None,
                master: None,
            };
            for a in &l.attributes {
                match a {
                    LinkAttribute::IfName(n) => info.name = n.clone(),
                    LinkAttribute::Mtu(m) => info.mtu = Some(*m),
                    LinkAttribute::Address(a) if a.len() == 6 => {
                        info.mac = a.as_slice().try_into().ok()
                    }
                    LinkAttribute::Controller(m) => info.master = Some(*m),
                    LinkAttribute::Link(other) => info.stacked = *other != l.header.index,
                    LinkAttribute::OperState(st) => {
                        info.oper_up = matches!(st, netlink_packet_route::link::State::Up)
                    }
                    LinkAttribute::LinkInfo(infos) => {
                        for i in infos {
                            if let NlLinkInfo::Kind(k) = i {
                                info.kind = Some(kind_name(k));
                            }
                        }
                    }
                    _ => {}
                }
            }
            map.insert(info.index, info);
        }
        Ok(Links(map))
    }

    pub fn name(&self, index: u32) -> String {
        self.0
            .get(&index)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| format!("if{index}"))
    }

    pub fn by_name(&self, name: &str) -> Option<&LinkInfo> {
        self.0.values().find(|l| l.name == name)
    }

    pub fn all(&self) -> impl Iterator<Item = &LinkInfo> {
        self.0.values()
    }
}

fn kind_name(k: &InfoKind) -> String {
    format!("{k}")
}
