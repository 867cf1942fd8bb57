//! `wg show all dump`: WireGuard interfaces' listen ports and peers.
//!
//! The dump is tab-separated: an interface line `IFACE PRIVATE-KEY PUBLIC-KEY PORT FWMARK`,
//! then its peers `IFACE PUBLIC-KEY PRESHARED-KEY ENDPOINT ALLOWED-IPS HANDSHAKE RX TX
//! KEEPALIVE`. The private and preshared keys are never read: `--collect` replaces them
//! with `(hidden)`, and a dump pasted with them still gets them skipped here.

use super::model::{Host, LinkKind, WgPeer};
use super::{ParseError, check_cidr};

/// Whether a line looks like a dump line: 5 or 9 tab-separated fields, the key fields base64.
pub fn looks_like(line: &str) -> bool {
    let f: Vec<&str> = line.split('\t').collect();
    match f.len() {
        5 => is_key(f[2]),
        9 => is_key(f[1]),
        _ => false,
    }
}

fn is_key(s: &str) -> bool {
    s.len() == 44
        && s.ends_with('=')
        && s[..43]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

pub fn parse(text: &str) -> Result<Host, ParseError> {
    let mut host = Host::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        match f.len() {
            5 => {
                if !is_key(f[2]) {
                    return Err(ParseError::new(
                        n,
                        format!("`{}` is not a base64 public key (truncated?)", f[2]),
                    ));
                }
                let port = f[3]
                    .parse::<u16>()
                    .map_err(|_| ParseError::new(n, format!("`{}` is not a listen port", f[3])))?;
                let l = host.link(f[0]);
                l.kind = LinkKind::Wireguard;
                l.listen_port = Some(port).filter(|p| *p != 0);
                if f[4] != "off" {
                    host.skipped.push(format!(
                        "{}: wireguard fwmark {} not carried over",
                        f[0], f[4]
                    ));
                }
            }
            9 => {
                if !is_key(f[1]) {
                    return Err(ParseError::new(
                        n,
                        format!("`{}` is not a base64 public key (truncated?)", f[1]),
                    ));
                }
                let endpoint = Some(f[3].to_string()).filter(|e| e != "(none)");
                if let Some(e) = &endpoint
                    && e.parse::<std::net::SocketAddr>().is_err()
                {
                    return Err(ParseError::new(
                        n,
                        format!("`{e}` is not an endpoint address:port"),
                    ));
                }
                let allowed_ips: Vec<String> = if f[4] == "(none)" {
                    Vec::new()
                } else {
                    f[4].split(',').map(|s| s.trim().to_string()).collect()
                };
                for a in &allowed_ips {
                    check_cidr(a, n)?;
                }
                let keepalive = match f[8].trim() {
                    "off" | "0" => None,
                    k => Some(k.parse::<u16>().map_err(|_| {
                        ParseError::new(n, format!("`{k}` is not a keepalive in seconds"))
                    })?),
                };
                let l = host.link(f[0]);
                l.kind = LinkKind::Wireguard;
                l.peers.push(WgPeer {
                    public_key: f[1].to_string(),
                    endpoint,
                    allowed_ips,
                    keepalive,
                });
            }
            k => {
                return Err(ParseError::new(
                    n,
                    format!(
                        "{k} tab-separated fields: a line of `wg show all dump` has 5 (interface) or 9 (peer) (truncated?)"
                    ),
                ));
            }
        }
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUB_A: &str = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
    const PUB_B: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    const PRIV: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

    #[test]
    fn interfaces_and_peers_without_their_secrets() {
        let text = format!(
            "wg0\t{PRIV}\t{PUB_A}\t51820\toff\n\
             wg0\t{PUB_B}\t{PRIV}\t192.0.2.7:51820\t10.8.0.2/32,fd08::2/128\t1700000000\t100\t200\t25\n\
             wg0\t{PUB_A}\t(none)\t(none)\t(none)\t0\t0\t0\toff\n"
        );
        assert!(text.lines().all(looks_like));
        let host = parse(&text).expect("parses");
        let wg = &host.links["wg0"];
        assert_eq!(wg.kind, LinkKind::Wireguard);
        assert_eq!(wg.listen_port, Some(51820));
        assert_eq!(
            wg.peers,
            vec![
                WgPeer {
                    public_key: PUB_B.into(),
                    endpoint: Some("192.0.2.7:51820".into()),
                    allowed_ips: vec!["10.8.0.2/32".into(), "fd08::2/128".into()],
                    keepalive: Some(25),
                },
                WgPeer {
                    public_key: PUB_A.into(),
                    ..WgPeer::default()
                },
            ]
        );
        // The private and preshared keys appear nowhere in what was read.
        assert!(!format!("{host:?}").contains(PRIV));
    }

    #[test]
    fn a_truncated_line_is_an_error_with_its_line() {
        let text = format!("wg0\t(hidden)\t{PUB_A}\t51820\toff\nwg0\t{PUB_B}\t(hidden)\n");
        let e = parse(&text).expect_err("truncated");
        assert_eq!(e.line, 2);
    }
}
