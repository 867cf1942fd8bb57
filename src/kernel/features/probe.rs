//! The probe: on a short-lived thread moved into a fresh network namespace, try to make
//! one of each thing a lab may need, the way the engine makes it (same netlink messages,
//! same `tc`/`ip xfrm`/`nft` commands). The namespace dies with the thread.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::Arc;

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::protocols::NETLINK_ROUTE;
use nix::sched::{CloneFlags, unshare};

use crate::front::lab::{Family, IfaceKind, MacvlanMode, Rule, RuleAction, TunnelEnds};
use crate::kernel::engine::{ipsec, links, rules};
use crate::kernel::netlink::NlError;
use crate::kernel::netlink::SyncSocket;
use crate::plan::{NewInterface, NsId, VethEnd};

/// Why a probe found a feature absent. Kept for the life of the process (see `cache`),
/// hence cloneable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unsupported {
    /// The program the feature is made with is not installed: not the kernel's doing.
    #[error("not installed: {0}")]
    NoTool(String),
    /// The kernel refused to make it.
    #[error("{0}")]
    Refused(NlError),
    /// The program ran and failed: its output, on one line.
    #[error("{0}")]
    Failed(String),
    #[error("cannot run {program}: {source}")]
    Run {
        program: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    #[error("{program}: {source}")]
    Wait {
        program: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    #[error("`{0}` is not an interface kind")]
    NotAKind(String),
    /// macvlan and vlan are probed on a veth, which could not be made.
    #[error("cannot make the veth to probe it on: {0}")]
    NoVeth(Box<Unsupported>),
    #[error("topolab cannot probe `{0}`")]
    Unknown(String),
}

/// ifindexes of the veth pair that macvlan and vlan are probed on.
const VETH_A: u32 = 100;
const VETH_B: u32 = 101;

/// What provides `feature`, given how its probe failed.
pub fn needs(feature: &str, why: &Unsupported) -> String {
    if let Unsupported::NoTool(tool) = why {
        return format!("the `{tool}` program (iproute2 or nftables package)");
    }
    let detail = why.to_string();
    if feature == "xfrm" {
        // Name the one option the error points at, not all three.
        if detail.contains("Cannot open netlink socket") {
            return "CONFIG_XFRM_USER".into();
        }
        if detail.contains("Protocol not supported") {
            return "CONFIG_INET_ESP".into();
        }
        if detail.contains("algorithm not found") || detail.contains("No such file") {
            return "CONFIG_CRYPTO_GCM".into();
        }
    }
    super::kernel_option(feature)
        .unwrap_or("a kernel feature topolab cannot name")
        .to_string()
}

/// Probe `features` in a throwaway namespace. Err only when no namespace can be made.
pub fn probe(features: &[String]) -> std::io::Result<super::Support> {
    std::thread::scope(|s| {
        s.spawn(|| inside_fresh_namespace(features))
            .join()
            .map_err(|_| std::io::Error::other("the probe thread panicked"))?
    })
}

fn inside_fresh_namespace(features: &[String]) -> std::io::Result<super::Support> {
    // From here on this thread (and every process it starts) is in a new, empty
    // namespace; the host's is never touched.
    unshare(CloneFlags::CLONE_NEWNET)?;
    let mut sock = SyncSocket::open(NETLINK_ROUTE)?;
    let ns = std::fs::File::open("/proc/thread-self/ns/net")?;
    let _ = change(&mut sock, links::set_up(1, true));

    let mut out = BTreeMap::new();
    let mut veth: Option<Result<(), Unsupported>> = None;
    for f in features {
        let mut make_veth = |sock: &mut SyncSocket| {
            veth.get_or_insert_with(|| {
                // Both ends in this one namespace: no plan, so the namespace ids are moot.
                let end = |name: &str, ifindex| VethEnd {
                    ns: NsId(0),
                    name: name.into(),
                    ifindex,
                    mtu: None,
                    mac: None,
                    up: false,
                    master: None,
                };
                create(
                    sock,
                    links::veth(
                        &end("pveth0", VETH_A),
                        &end("pveth1", VETH_B),
                        ns.as_raw_fd(),
                    ),
                )
            })
            .clone()
        };
        let result = match f.as_str() {
            "veth" => make_veth(&mut sock),
            "macvlan" | "vlan" => match make_veth(&mut sock) {
                Err(e) => Err(Unsupported::NoVeth(Box::new(e))),
                Ok(()) => {
                    let kind = if f == "macvlan" {
                        IfaceKind::Macvlan {
                            parent: "pveth0".into(),
                            mode: MacvlanMode::Bridge,
                        }
                    } else {
                        IfaceKind::Vlan {
                            parent: "pveth0".into(),
                            id: 10,
                        }
                    };
                    link(&mut sock, f, kind, Some(VETH_A))
                }
            },
            "policy-routing" => create(
                &mut sock,
                rules::add(&Rule {
                    family: Family::V4,
                    from: "192.0.2.0/24".parse().ok(),
                    to: None,
                    iif: None,
                    oif: None,
                    fwmark: None,
                    table: Some(100),
                    priority: Some(100),
                    action: RuleAction::Lookup,
                }),
            ),
            "netem" => run("tc", "qdisc replace dev lo root netem delay 1ms", None),
            "tbf" => run(
                "tc",
                "qdisc replace dev lo root tbf rate 1mbit burst 16384 latency 50ms",
                None,
            ),
            "nftables" => run(
                "nft",
                "-f -",
                Some(
                    "table inet topolab_probe {\n  chain c {\n    type filter hook input priority 0; policy accept;\n  }\n}\n",
                ),
            ),
            "xfrm" => {
                let line = ipsec::state_line(
                    "192.0.2.1".parse().map_err(std::io::Error::other)?,
                    "192.0.2.2".parse().map_err(std::io::Error::other)?,
                    0x100,
                    &[0u8; 20],
                );
                run("ip", &line, None)
            }
            other => match link_kind(other) {
                Some(kind) => link(&mut sock, other, kind, None),
                None => Err(Unsupported::Unknown(other.to_string())),
            },
        };
        out.insert(f.clone(), result);
    }
    Ok(out)
}

fn link_kind(feature: &str) -> Option<IfaceKind> {
    // Without endpoints a tunnel would be a duplicate of the fallback device (tunl0,
    // gre0) the module adds to every namespace, and be refused with EEXIST.
    let ends = TunnelEnds {
        local: "192.0.2.1".parse().ok(),
        remote: "192.0.2.2".parse().ok(),
        parent: None,
        ttl: None,
    };
    Some(match feature {
        "bridge" => IfaceKind::Bridge,
        "dummy" => IfaceKind::Dummy,
        "vxlan" => IfaceKind::Vxlan {
            vni: 1,
            local: None,
            remote: None,
            group: None,
            parent: None,
            dstport: 4789,
            learning: true,
        },
        "ipip" => IfaceKind::Ipip(ends),
        "gre" => IfaceKind::Gre { ends, key: None },
        "gretap" => IfaceKind::Gretap { ends, key: None },
        "wireguard" => IfaceKind::Wireguard {
            private_key: None,
            listen_port: None,
            peers: Vec::new(),
        },
        "vrf" => IfaceKind::Vrf { table: 10 },
        _ => return None,
    })
}

fn link(
    sock: &mut SyncSocket,
    feature: &str,
    kind: IfaceKind,
    parent: Option<u32>,
) -> Result<(), Unsupported> {
    let spec = NewInterface {
        name: format!("p-{feature}"),
        ifindex: 0,
        kind,
        parent,
        mtu: None,
        mac: None,
        up: false,
        vlan_filtering: false,
    };
    match links::interface(&spec) {
        Some(msg) => create(sock, msg),
        None => Err(Unsupported::NotAKind(feature.to_string())),
    }
}

fn create(sock: &mut SyncSocket, msg: RouteNetlinkMessage) -> Result<(), Unsupported> {
    sock.request(msg, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
        .map(|_| ())
        .map_err(Unsupported::Refused)
}

fn change(sock: &mut SyncSocket, msg: RouteNetlinkMessage) -> Result<(), Unsupported> {
    sock.request(msg, NLM_F_REQUEST | NLM_F_ACK)
        .map(|_| ())
        .map_err(Unsupported::Refused)
}

/// Run a program in this thread's namespace (children inherit the thread's, not the
/// process's).
fn run(program: &str, args: &str, stdin: Option<&str>) -> Result<(), Unsupported> {
    let child = Command::new(program)
        .args(args.split_whitespace())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Unsupported::NoTool(program.to_string()));
        }
        Err(e) => {
            return Err(Unsupported::Run {
                program: program.to_string(),
                source: Arc::new(e),
            });
        }
    };
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(text.as_bytes());
    }
    match child.wait_with_output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            Err(Unsupported::Failed(text.trim().replace('\n', "; ")))
        }
        Err(e) => Err(Unsupported::Wait {
            program: program.to_string(),
            source: Arc::new(e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xfrm_failures_name_the_option_they_point_at() {
        let failed = |s: &str| Unsupported::Failed(s.into());
        assert_eq!(
            needs("xfrm", &failed("RTNETLINK answers: Protocol not supported")),
            "CONFIG_INET_ESP"
        );
        assert_eq!(
            needs(
                "xfrm",
                &failed("RTNETLINK answers: No such file or directory")
            ),
            "CONFIG_CRYPTO_GCM"
        );
        let refused = Unsupported::Refused(NlError {
            errno: libc::EOPNOTSUPP,
            message: None,
        });
        assert_eq!(
            refused.to_string(),
            crate::error::errno_words(libc::EOPNOTSUPP)
        );
        assert_eq!(needs("ipip", &refused), "CONFIG_NET_IPIP");
        let no_tc = Unsupported::NoTool("tc".into());
        assert_eq!(no_tc.to_string(), "not installed: tc");
        assert!(needs("netem", &no_tc).contains("`tc` program"));
    }
}
