//! WireGuard: the link is created like any other (links.rs); its keys and peers are set
//! here over generic netlink (WG_CMD_SET_DEVICE), which rtnetlink does not cover.
//!
//! Keys are taken from the lab or generated once per run, before anything is built, so
//! that a peer written as `node = "b:wg0"` gets b's public key even when b's private key
//! exists only for this run.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_wireguard::{
    WireguardAddressFamily, WireguardAllowedIp, WireguardAllowedIpAttr, WireguardAttribute,
    WireguardCmd, WireguardDeviceFlags, WireguardMessage, WireguardPeer, WireguardPeerAttribute,
    WireguardPeerFlags,
};
use netlink_sys::protocols::NETLINK_GENERIC;

use crate::front::lab::{IfaceKind, Lab};
use crate::kernel::netlink::NlError;
use crate::kernel::netlink::SyncSocket;

pub type Key = [u8; 32];

/// Why a WireGuard interface cannot be configured as the lab says.
#[derive(Debug, thiserror::Error)]
pub enum WireguardError {
    #[error("node `{node}`: `{iface}`: the private key is not 32 bytes of base64")]
    PrivateKey { node: String, iface: String },
    #[error("cannot read random bytes for a WireGuard key: {0}")]
    Random(#[source] getrandom::Error),
    #[error("`{0}` is not a WireGuard interface")]
    NotWireguard(String),
    #[error("no key for `{node}:{iface}`")]
    NoKey { node: String, iface: String },
    #[error("peer `{node}:{iface}` is not a WireGuard interface of this lab")]
    UnknownPeer { node: String, iface: String },
    #[error("peer key `{0}` is not 32 bytes of base64")]
    PeerKey(String),
    #[error("a peer has neither `node` nor `public_key`")]
    NoPeerKey,
}

/// The private key of every WireGuard interface of a lab, by (node, interface).
#[derive(Debug, Clone, Default)]
pub struct Keys {
    private: HashMap<(String, String), Key>,
}

impl Keys {
    /// Decode the keys the lab gives and generate the others.
    pub fn for_lab(lab: &Lab) -> Result<Keys, WireguardError> {
        let mut private = HashMap::new();
        for node in &lab.nodes {
            for iface in &node.interfaces {
                let IfaceKind::Wireguard { private_key, .. } = &iface.kind else {
                    continue;
                };
                let key = match private_key {
                    Some(k) => decode(k).ok_or_else(|| WireguardError::PrivateKey {
                        node: node.name.clone(),
                        iface: iface.name.clone(),
                    })?,
                    None => generate().map_err(WireguardError::Random)?,
                };
                private.insert((node.name.clone(), iface.name.clone()), key);
            }
        }
        Ok(Keys { private })
    }

    pub fn private(&self, node: &str, iface: &str) -> Option<Key> {
        self.private
            .get(&(node.to_string(), iface.to_string()))
            .copied()
    }

    pub fn public(&self, node: &str, iface: &str) -> Option<Key> {
        self.private(node, iface).map(|k| public_key(&k))
    }
}

/// A fresh private key, clamped as Curve25519 wants it (what `wg genkey` prints).
pub fn generate() -> Result<Key, getrandom::Error> {
    let mut k = [0u8; 32];
    getrandom::fill(&mut k)?;
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    Ok(k)
}

/// The public key of a private key (what `wg pubkey` prints).
pub fn public_key(private: &Key) -> Key {
    let secret = x25519_dalek::StaticSecret::from(*private);
    x25519_dalek::PublicKey::from(&secret).to_bytes()
}

/// Standard base64 with padding, as WireGuard tools print keys.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// A 32-byte key from base64; None for anything else. The standard engine rejects
/// non-canonical text (missing padding, non-zero trailing bits), as `wg` does.
pub fn decode(text: &str) -> Option<Key> {
    STANDARD.decode(text.trim()).ok()?.try_into().ok()
}

/// The WG_CMD_SET_DEVICE message for interface `iface` of `node`: its private key, port
/// and exactly the peers the lab lists (replacing any others).
pub fn device_message(
    keys: &Keys,
    node: &str,
    iface: &str,
    ifindex: u32,
    kind: &IfaceKind,
) -> Result<WireguardMessage, WireguardError> {
    let IfaceKind::Wireguard {
        listen_port, peers, ..
    } = kind
    else {
        return Err(WireguardError::NotWireguard(iface.to_string()));
    };
    let private = keys
        .private(node, iface)
        .ok_or_else(|| WireguardError::NoKey {
            node: node.to_string(),
            iface: iface.to_string(),
        })?;
    let mut attributes = vec![
        WireguardAttribute::IfIndex(ifindex),
        WireguardAttribute::PrivateKey(private),
        WireguardAttribute::Flags(WireguardDeviceFlags::ReplacePeers),
    ];
    if let Some(p) = listen_port {
        attributes.push(WireguardAttribute::ListenPort(*p));
    }
    let mut wg_peers = Vec::new();
    for p in peers {
        let public = match (&p.node, &p.public_key) {
            (Some((n, i)), _) => keys
                .public(n, i)
                .ok_or_else(|| WireguardError::UnknownPeer {
                    node: n.clone(),
                    iface: i.clone(),
                })?,
            (None, Some(k)) => decode(k).ok_or_else(|| WireguardError::PeerKey(k.clone()))?,
            (None, None) => return Err(WireguardError::NoPeerKey),
        };
        let mut a = vec![
            WireguardPeerAttribute::PublicKey(public),
            WireguardPeerAttribute::Flags(WireguardPeerFlags::ReplaceAllowedIps),
        ];
        if let Some(e) = p.endpoint {
            a.push(WireguardPeerAttribute::Endpoint(e));
        }
        if let Some(k) = p.keepalive {
            a.push(WireguardPeerAttribute::PersistentKeepalive(k));
        }
        if !p.allowed_ips.is_empty() {
            a.push(WireguardPeerAttribute::AllowedIps(
                p.allowed_ips
                    .iter()
                    .map(|net| {
                        WireguardAllowedIp(vec![
                            WireguardAllowedIpAttr::Family(if net.addr().is_ipv4() {
                                WireguardAddressFamily::Ipv4
                            } else {
                                WireguardAddressFamily::Ipv6
                            }),
                            WireguardAllowedIpAttr::IpAddr(net.network()),
                            WireguardAllowedIpAttr::Cidr(net.prefix_len()),
                        ])
                    })
                    .collect(),
            ));
        }
        wg_peers.push(WireguardPeer(a));
    }
    if !wg_peers.is_empty() {
        attributes.push(WireguardAttribute::Peers(wg_peers));
    }
    Ok(WireguardMessage {
        cmd: WireguardCmd::SetDevice,
        attributes,
    })
}

/// Resolve the "wireguard" generic netlink family and send `msg`. Must run on a thread
/// inside the interface's namespace.
pub fn send(msg: WireguardMessage) -> Result<(), NlError> {
    let mut sock = SyncSocket::open(NETLINK_GENERIC).map_err(|e| NlError {
        errno: e.raw_os_error().unwrap_or(libc::EIO),
        message: Some("cannot open a generic netlink socket".into()),
    })?;
    let family = family_id(&mut sock, "wireguard").map_err(|mut e| {
        if e.errno == libc::ENOENT {
            e.message = Some("the kernel has no WireGuard (CONFIG_WIREGUARD)".into());
        }
        e
    })?;
    let mut genl = GenlMessage::from_payload(msg);
    genl.set_resolved_family_id(family);
    sock.request(genl, NLM_F_REQUEST | NLM_F_ACK).map(|_| ())
}

fn family_id(sock: &mut SyncSocket, name: &str) -> Result<u16, NlError> {
    let req = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(name.to_string())],
    });
    let replies = sock.request(req, NLM_F_REQUEST | NLM_F_ACK)?;
    replies
        .iter()
        .flat_map(|r| r.payload.nlas.iter())
        .find_map(|a| match a {
            GenlCtrlAttrs::FamilyId(id) => Some(*id),
            _ => None,
        })
        .ok_or(NlError {
            errno: libc::ENOENT,
            message: Some(format!("no generic netlink family `{name}`")),
        })
}

impl crate::error::Classified for WireguardError {
    fn exit(&self) -> crate::error::Exit {
        match self {
            WireguardError::Random(_) => crate::error::Exit::Environment,
            _ => crate::error::Exit::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_keys() {
        for k in [[0u8; 32], [255u8; 32], std::array::from_fn(|i| i as u8 * 7)] {
            let text = encode(&k);
            assert_eq!(text.len(), 44);
            assert_eq!(decode(&text), Some(k));
        }
        assert_eq!(decode("short="), None);
        assert_eq!(decode(&"A".repeat(44)), None, "no padding");
        // Non-zero trailing bits are not a canonical encoding of 32 bytes.
        assert_eq!(decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="), None);
        // 44 characters with two `=` are 31 bytes, not a key.
        assert_eq!(decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="), None);
        assert_eq!(decode(&format!("{}!", &encode(&[0; 32])[..43])), None);
    }

    /// The text `wg pubkey` prints for RFC 7748's Alice, and back; surrounding whitespace
    /// (a key pasted with its newline) is accepted.
    #[test]
    fn base64_matches_wg_text() {
        let public = public_key(&std::array::from_fn(|i| {
            u8::from_str_radix(
                &"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
                    [2 * i..2 * i + 2],
                16,
            )
            .expect("hex")
        }));
        assert_eq!(
            encode(&public),
            "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
        );
        assert_eq!(
            decode(" hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n"),
            Some(public)
        );
    }

    /// RFC 7748 section 6.1: Alice's private key and public key.
    #[test]
    fn public_key_matches_rfc_7748() {
        let hex = |s: &str| -> Key {
            std::array::from_fn(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        };
        let private = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let public = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        assert_eq!(public_key(&private), public);
    }

    #[test]
    fn generated_keys_are_clamped_and_differ() {
        let a = generate().expect("getrandom");
        let b = generate().expect("getrandom");
        assert_ne!(a, b);
        assert_eq!(a[0] & 7, 0);
        assert_eq!(a[31] & 0xc0, 0x40);
    }
}
