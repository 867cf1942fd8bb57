//! Changes to a running lab, as `[[steps]]` describe them.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::impair::ImpairError;
use super::live::LiveLab;
use super::services::ServiceError;
use super::{command, links, routes, sysctl};
use crate::front::lab::{Action, Lab, NodeId, fmt_duration};
use crate::kernel::netlink::NlError;
use crate::kernel::sandbox::NftInclude;

const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an `up` waits for the link to carry traffic (as the build waits).
const UP_READY_LIMIT: Duration = Duration::from_secs(3);

/// Why an action of a step failed; reports show it in these words.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// A netlink request was refused: the errno in words and the kernel's explanation.
    #[error("{0}")]
    Refused(NlError),
    #[error("node `{node}` has no interface `{iface}` now")]
    NoInterface { node: String, iface: String },
    #[error(transparent)]
    NftInclude(#[from] NftInclude),
    #[error("nft: {0}")]
    NftStart(#[source] std::io::Error),
    /// `nft` ran and refused the ruleset: its output.
    #[error("nft failed: {0}")]
    Nft(String),
    #[error("no service `{0}`")]
    NoService(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Impair(#[from] ImpairError),
    /// The shell of an `exec` could not run.
    #[error("{0}")]
    ExecStart(#[source] std::io::Error),
    /// The command of an `exec` ended unsuccessfully: its status (or `signal`), output.
    #[error("exit status {status}: {output}")]
    Exec { status: String, output: String },
    #[error("{key}: {source}")]
    Sysctl {
        key: String,
        #[source]
        source: std::io::Error,
    },
}

/// The action in words, for reports.
pub fn describe(lab: &Lab, a: &Action) -> String {
    let n = |id: &NodeId| lab.node(*id).name.clone();
    match a {
        Action::Down { node, iface } => format!("set {}:{iface} down", n(node)),
        Action::Up { node, iface } => format!("set {}:{iface} up", n(node)),
        Action::Flap {
            node,
            iface,
            times,
            period,
        } => format!(
            "flap {}:{iface} {times}x every {}",
            n(node),
            fmt_duration(*period)
        ),
        Action::SetMtu { node, iface, mtu } => format!("set {}:{iface} mtu {mtu}", n(node)),
        Action::Impair {
            node,
            iface,
            impairment,
        } => format!("impair {}:{iface}: {}", n(node), impairment.describe()),
        Action::Clear { node, iface } => format!("clear impairments of {}:{iface}", n(node)),
        Action::Partition { a, b } => format!("partition {} from {}", n(a), n(b)),
        Action::Heal { a, b } => format!("heal {} and {}", n(a), n(b)),
        Action::Exec { node, cmd } => format!("exec in {}: {}", n(node), cmd.trim()),
        Action::Nft { node, .. } => format!("replace the nft ruleset of {}", n(node)),
        Action::RouteAdd { node, route } => {
            format!("add route {} to {}", route.describe(), n(node))
        }
        Action::RouteDel { node, route } => {
            format!("delete route {} from {}", route.describe(), n(node))
        }
        Action::Sysctl { node, values } => {
            let kv: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("sysctl {} on {}", kv.join(" "), n(node))
        }
        Action::Start { node, service } => format!("start service {service} on {}", n(node)),
        Action::Stop { node, service } => format!("stop service {service} on {}", n(node)),
        Action::Kill { node, service } => format!("kill service {service} on {}", n(node)),
    }
}

/// The index the build gave the interface: validation made sure the lab declares it.
fn ifindex(live: &LiveLab, node: NodeId, iface: &str) -> Result<u32, ActionError> {
    live.ifindex(node, iface)
        .ok_or_else(|| ActionError::NoInterface {
            node: live.lab.node(node).name.clone(),
            iface: iface.to_string(),
        })
}

async fn set_up(live: &LiveLab, node: NodeId, iface: &str, up: bool) -> Result<(), ActionError> {
    let idx = ifindex(live, node, iface)?;
    live.node_netlink(node)
        .await
        .map_err(ActionError::Refused)?
        .change(links::set_up(idx, up))
        .await
        .map_err(ActionError::Refused)
}

/// nft tables of one node dropping all traffic to and from another's addresses.
fn partition_ruleset(live: &LiveLab, from: NodeId, peer: NodeId) -> String {
    let table = partition_table(live, peer);
    let (v4, v6): (Vec<String>, Vec<String>) = {
        let addrs: Vec<std::net::IpAddr> = live
            .lab
            .node(peer)
            .ips()
            .into_iter()
            .filter(|a| !a.is_loopback())
            .collect();
        (
            addrs
                .iter()
                .filter(|a| a.is_ipv4())
                .map(|a| a.to_string())
                .collect(),
            addrs
                .iter()
                .filter(|a| a.is_ipv6())
                .map(|a| a.to_string())
                .collect(),
        )
    };
    let _ = from;
    let mut rules = String::new();
    for (family, list) in [("ip", &v4), ("ip6", &v6)] {
        if list.is_empty() {
            continue;
        }
        let set = list.join(", ");
        rules.push_str(&format!(
            "    {family} saddr {{ {set} }} drop\n    {family} daddr {{ {set} }} drop\n"
        ));
    }
    format!(
        "table inet {table} {{\n  chain input {{\n    type filter hook input priority -300; policy accept;\n{rules}  }}\n  chain output {{\n    type filter hook output priority -300; policy accept;\n{rules}  }}\n  chain forward {{\n    type filter hook forward priority -300; policy accept;\n{rules}  }}\n}}\n"
    )
}

fn partition_table(live: &LiveLab, peer: NodeId) -> String {
    format!(
        "topolab_partition_{}",
        live.lab.node(peer).name.replace('-', "_")
    )
}

async fn nft(live: &LiveLab, node: NodeId, input: &str) -> Result<(), ActionError> {
    crate::kernel::sandbox::check_nft(input)?;
    let out = command::run_program(
        live.node_ns(node),
        "nft",
        &["-f", "-"],
        Some(input),
        COMMAND_TIMEOUT,
    )
    .await
    .map_err(ActionError::NftStart)?;
    if out.success() {
        Ok(())
    } else {
        Err(ActionError::Nft(out.text()))
    }
}

async fn service(
    live: &LiveLab,
    node: NodeId,
    name: &str,
    what: ServiceVerb,
) -> Result<(), ActionError> {
    let mut services = live.services.lock().await;
    let svc = services
        .iter_mut()
        .find(|s| s.node == node && s.spec.name == name)
        .ok_or_else(|| ActionError::NoService(name.to_string()))?;
    match what {
        ServiceVerb::Start => {
            let own = live.lab.node(node).ips();
            Ok(svc.start(live.node_ns(node), &live.workers, &own).await?)
        }
        ServiceVerb::Stop => {
            svc.stop(Signal::SIGTERM).await;
            Ok(())
        }
        ServiceVerb::Kill => {
            svc.stop(Signal::SIGKILL).await;
            Ok(())
        }
    }
}

enum ServiceVerb {
    Start,
    Stop,
    Kill,
}

pub async fn apply(live: &LiveLab, a: &Action) -> Result<(), ActionError> {
    match a {
        Action::Down { node, iface } => set_up(live, *node, iface, false).await,
        Action::Up { node, iface } => {
            set_up(live, *node, iface, true).await?;
            super::settle::after_up(live, *node, UP_READY_LIMIT).await;
            Ok(())
        }
        Action::Flap {
            node,
            iface,
            times,
            period,
        } => {
            for _ in 0..*times {
                set_up(live, *node, iface, false).await?;
                tokio::time::sleep(*period).await;
                set_up(live, *node, iface, true).await?;
                tokio::time::sleep(*period).await;
            }
            Ok(())
        }
        Action::SetMtu { node, iface, mtu } => {
            let idx = ifindex(live, *node, iface)?;
            live.node_netlink(*node)
                .await
                .map_err(ActionError::Refused)?
                .change(links::set_mtu(idx, *mtu))
                .await
                .map_err(ActionError::Refused)
        }
        Action::Impair {
            node,
            iface,
            impairment,
        } => Ok(super::impair::set(live.node_ns(*node), iface, impairment).await?),
        Action::Clear { node, iface } => {
            Ok(super::impair::clear(live.node_ns(*node), iface).await?)
        }
        Action::Partition { a, b } => {
            nft(live, *a, &partition_ruleset(live, *a, *b)).await?;
            nft(live, *b, &partition_ruleset(live, *b, *a)).await
        }
        Action::Heal { a, b } => {
            for (x, y) in [(*a, *b), (*b, *a)] {
                let table = partition_table(live, y);
                // Healing what was never partitioned is not an error.
                let _ = nft(live, x, &format!("delete table inet {table}\n")).await;
            }
            Ok(())
        }
        Action::Exec { node, cmd } => {
            let out = command::run_shell(live.node_ns(*node), cmd, None, COMMAND_TIMEOUT)
                .await
                .map_err(ActionError::ExecStart)?;
            if out.success() {
                Ok(())
            } else {
                Err(ActionError::Exec {
                    status: out
                        .status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "signal".into()),
                    output: out.text(),
                })
            }
        }
        Action::Nft { node, ruleset } => {
            nft(live, *node, &format!("flush ruleset\n{ruleset}\n")).await
        }
        Action::RouteAdd { node, route } => {
            let dev = match &route.dev {
                Some(d) => Some(ifindex(live, *node, d)?),
                None => None,
            };
            live.node_netlink(*node)
                .await
                .map_err(ActionError::Refused)?
                .create(routes::add(route, dev))
                .await
                .map_err(ActionError::Refused)
        }
        Action::RouteDel { node, route } => {
            let dev = match &route.dev {
                Some(d) => Some(ifindex(live, *node, d)?),
                None => None,
            };
            live.node_netlink(*node)
                .await
                .map_err(ActionError::Refused)?
                .change(routes::del(route, dev))
                .await
                .map_err(ActionError::Refused)
        }
        Action::Sysctl { node, values } => {
            for (k, v) in values {
                let (k2, v2) = (k.clone(), v.clone());
                live.workers
                    .run(live.node_ns(*node), move || sysctl::write(&k2, &v2))
                    .await
                    .and_then(|r| r)
                    .map_err(|source| ActionError::Sysctl {
                        key: k.clone(),
                        source,
                    })?;
            }
            Ok(())
        }
        Action::Start { node, service: s } => service(live, *node, s, ServiceVerb::Start).await,
        Action::Stop { node, service: s } => service(live, *node, s, ServiceVerb::Stop).await,
        Action::Kill { node, service: s } => service(live, *node, s, ServiceVerb::Kill).await,
    }
}
