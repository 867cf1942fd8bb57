//! Site-to-site ESP tunnels: two xfrm states (one per direction) and, for every pair of a
//! local and a remote selector of the same family, the out, in and fwd policies.
//!
//! Built with `ip xfrm` (one `ip -batch` per tunnel) inside the gateway's namespace:
//! rtnetlink has no xfrm support, and the commands are the ones an operator would type,
//! so a refusal reads the way the iproute2 documentation explains it.
//!
//! Keys are derived from the tunnel's secret and the direction's outer addresses, so the
//! two gateways of a tunnel agree without exchanging anything. The selectors are used as
//! written on each side: when they do not match, traffic outside them goes unencrypted
//! along normal routing, and the peer's inbound policy drops it, as in production.

use std::fmt::Write as _;
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::front::lab::Ipsec;

/// AES-GCM as in RFC 4106: a 128-bit key plus a 32-bit salt, 128-bit ICV.
pub const AEAD: &str = "rfc4106(gcm(aes))";
pub const ICV_BITS: u32 = 128;
const KEY_BYTES: usize = 20;

/// Key material of the SA that carries traffic from `src` to `dst`: the same on both
/// gateways for the same secret.
pub fn key(secret: &str, src: IpAddr, dst: IpAddr) -> [u8; KEY_BYTES] {
    let mut h = Sha256::new();
    h.update(b"topolab ipsec v1\0");
    h.update(secret.as_bytes());
    h.update(format!("\0{src}\0{dst}").as_bytes());
    let digest = h.finalize();
    let mut k = [0u8; KEY_BYTES];
    k.copy_from_slice(&digest[..KEY_BYTES]);
    k
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::from("0x"), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One ESP tunnel-mode SA, as an `ip xfrm` line without the leading `ip`.
pub fn state_line(src: IpAddr, dst: IpAddr, spi: u32, key: &[u8]) -> String {
    format!(
        "xfrm state add src {src} dst {dst} proto esp spi {spi:#x} reqid {spi} mode tunnel aead {AEAD} {} {ICV_BITS}",
        hex(key)
    )
}

/// The `ip -batch` script that builds the tunnel on its gateway.
pub fn script(t: &Ipsec) -> String {
    let mut s = String::new();
    let (l, r) = (t.local, t.remote);
    s.push_str(&state_line(l, r, t.spi_out, &key(&t.secret, l, r)));
    s.push('\n');
    s.push_str(&state_line(r, l, t.spi_in, &key(&t.secret, r, l)));
    s.push('\n');
    for ls in &t.local_subnets {
        for rs in &t.remote_subnets {
            if ls.addr().is_ipv4() != rs.addr().is_ipv4() {
                continue;
            }
            let _ = writeln!(
                s,
                "xfrm policy add src {ls} dst {rs} dir out tmpl src {l} dst {r} proto esp reqid {} mode tunnel",
                t.spi_out
            );
            for dir in ["in", "fwd"] {
                let _ = writeln!(
                    s,
                    "xfrm policy add src {rs} dst {ls} dir {dir} tmpl src {r} dst {l} proto esp reqid {} mode tunnel",
                    t.spi_in
                );
            }
        }
    }
    s
}

/// What a failed `ip xfrm` usually means.
pub fn hint(output: &str) -> Option<&'static str> {
    if output.contains("Protocol not supported") {
        Some("this kernel lacks ESP: needs CONFIG_INET_ESP (xfrm)")
    } else if output.contains("No such file or directory") && output.contains("state") {
        Some("this kernel lacks the AES-GCM cipher: needs CONFIG_CRYPTO_GCM (xfrm)")
    } else if output.contains("File exists") {
        Some("another tunnel of this node already has the same SPI or selectors")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tunnel(local: &str, remote: &str, ls: &[&str], rs: &[&str]) -> Ipsec {
        Ipsec {
            name: "t".into(),
            local: local.parse().expect("ip"),
            remote: remote.parse().expect("ip"),
            local_subnets: ls.iter().map(|s| s.parse().expect("net")).collect(),
            remote_subnets: rs.iter().map(|s| s.parse().expect("net")).collect(),
            spi_out: 0x101,
            spi_in: 0x202,
            secret: "s3cret".into(),
        }
    }

    #[test]
    fn both_gateways_derive_the_same_key_per_direction() {
        let (a, b): (IpAddr, IpAddr) = (
            "192.0.2.1".parse().expect("a"),
            "192.0.2.2".parse().expect("b"),
        );
        assert_eq!(key("x", a, b), key("x", a, b));
        assert_ne!(
            key("x", a, b),
            key("x", b, a),
            "each direction has its own key"
        );
        assert_ne!(key("x", a, b), key("y", a, b));
    }

    #[test]
    fn script_has_two_states_and_three_policies_per_selector_pair() {
        let s = script(&tunnel(
            "192.0.2.1",
            "192.0.2.2",
            &["10.1.0.0/24", "fd01::/64"],
            &["10.2.0.0/24", "10.3.0.0/24"],
        ));
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 2 + 2 * 3, "{s}");
        assert!(lines[0].starts_with(
            "xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x101 reqid 257 mode tunnel aead rfc4106(gcm(aes)) 0x"
        ));
        assert!(lines[1].contains("src 192.0.2.2 dst 192.0.2.1 proto esp spi 0x202"));
        assert!(s.contains(
            "xfrm policy add src 10.1.0.0/24 dst 10.3.0.0/24 dir out tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 257 mode tunnel"
        ));
        assert!(s.contains(
            "xfrm policy add src 10.3.0.0/24 dst 10.1.0.0/24 dir fwd tmpl src 192.0.2.2 dst 192.0.2.1 proto esp reqid 514 mode tunnel"
        ));
        assert!(
            !s.contains("fd01::/64 dst 10."),
            "no mixed-family selector pairs"
        );
    }

    #[test]
    fn the_peer_script_mirrors_keys() {
        let a = script(&tunnel(
            "192.0.2.1",
            "192.0.2.2",
            &["10.1.0.0/24"],
            &["10.2.0.0/24"],
        ));
        let mut t = tunnel("192.0.2.2", "192.0.2.1", &["10.2.0.0/24"], &["10.1.0.0/24"]);
        (t.spi_in, t.spi_out) = (0x101, 0x202);
        let b = script(&t);
        let key_of = |s: &str, line: usize| {
            s.lines()
                .nth(line)
                .map(|l| l.split(' ').nth(15).map(String::from))
        };
        // a's outbound SA is b's inbound one, key included.
        assert_eq!(key_of(&a, 0), key_of(&b, 1));
        assert_eq!(key_of(&a, 1), key_of(&b, 0));
    }
}
