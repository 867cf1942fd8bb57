//! Plan to kernel: create every namespace, then run the operations wave by wave, the
//! operations of one wave concurrently. Any failure drops what was built, which removes
//! it all: nothing of a half-built lab survives.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use netlink_packet_core::{NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};

use super::connections::Connections;
use super::live::LiveLab;
use super::netns::{self, Workers};
use super::{
    addresses, command, impair, ipsec, links, neighbours, routes, rules, sysctl, wireguard,
};
use crate::error::{Error, Result};
use crate::front::lab::{IfaceKind, Lab};
use crate::kernel::netlink::{NlError, RawSocket};
use crate::plan::{NewInterface, NsId, NsOwner, OpId, OpKind, Plan};

/// How many operations may be in flight at once. Netlink requests are cheap to pipeline;
/// the bound keeps memory flat for very large labs.
const CONCURRENCY: usize = 512;
/// Setup commands and nft loads that hang are a lab error, not a reason to hang.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Carrier events are processed within a second; waiting longer would hide a real problem.
const LINKS_READY_LIMIT: Duration = Duration::from_secs(3);

/// Timings of a build, for progress output and the benchmark.
#[derive(Debug, Clone, Default)]
pub struct ApplyStats {
    pub namespaces: Duration,
    pub operations: Duration,
    pub ops: usize,
}

/// Build the lab. On error everything created so far is gone when this returns.
pub async fn apply(lab: Lab, plan: Plan) -> Result<(LiveLab, ApplyStats)> {
    let t0 = Instant::now();
    // Generated before anything exists: a peer's configuration needs the other side's key.
    let wireguard = wireguard::Keys::for_lab(&lab)?;
    let count = plan.namespaces.len();
    // Refused before anything exists: EMFILE half-way through would only roll back.
    crate::kernel::fd_limit::ensure(count)?;
    let keep_open = crate::kernel::fd_limit::netlink_capacity(count);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(4);
    // Namespaces are made on plain OS threads (they move into each new namespace), and
    // each gets its netlink socket while the thread is inside it.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(netns::create_many(count, threads, |i, _| {
            lab_defaults();
            // The rest are opened when a request needs them.
            (i < keep_open).then(RawSocket::open).transpose()
        }));
    });
    let made = rx
        .await
        .map_err(|_| Error::kernel("namespace creation thread died"))?
        .map_err(|e| {
            Error::os("cannot create a network namespace", e).context("building the lab")
        })?;
    let mut namespaces = Vec::with_capacity(count);
    let mut netlink = Connections::new(count, keep_open);
    for (i, (ns, socket)) in made.into_iter().enumerate() {
        namespaces.push(ns);
        if let Some(socket) = socket {
            netlink
                .adopt(i, socket)
                .map_err(|e| Error::os("netlink", e))?;
        }
    }
    node_envs(&lab, &plan, &mut namespaces, &mut netlink).await?;
    let t_ns = t0.elapsed();

    let workers = Arc::new(Workers::new(threads));
    let mut live = LiveLab {
        lab,
        plan,
        namespaces,
        netlink,
        ifindexes: std::collections::HashMap::new(),
        workers,
        responders: Vec::new(),
        services: tokio::sync::Mutex::new(Vec::new()),
        exec_log: Vec::new(),
        wireguard,
        drops: None,
    };

    let t1 = Instant::now();
    let waves = live.plan.waves();
    for wave in waves {
        let ops: Vec<OpId> = wave
            .into_iter()
            .filter(|id| live.plan.ops[id.0].kind != OpKind::CreateNamespace)
            .collect();
        let live_ref = &live;
        let mut results = futures::stream::iter(ops)
            .map(|id| async move { run_op(live_ref, id).await })
            .buffer_unordered(CONCURRENCY);
        let mut first_error = None;
        let mut made = Vec::new();
        while let Some(r) = results.next().await {
            match r {
                Ok(m) => made.push(m),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        drop(results);
        for m in made {
            match m {
                Made::Nothing => {}
                Made::Interfaces(made) => live.ifindexes.extend(
                    made.into_iter()
                        .map(|(ns, name, ifindex)| ((ns, name), ifindex)),
                ),
                Made::Log(node, cmd, out) => live.exec_log.push((node, cmd, out)),
                Made::Responder(r) => live.responders.push(r),
                Made::Service(s) => live.services.get_mut().push(*s),
            }
        }
        if let Some(e) = first_error {
            // `live` drops here: the whole lab goes away with it.
            return Err(e);
        }
    }
    // Ready means ready to carry traffic, not only configured.
    super::settle::links_ready(&live, LINKS_READY_LIMIT).await;
    let stats = ApplyStats {
        namespaces: t_ns,
        operations: t1.elapsed(),
        ops: live.plan.ops.len(),
    };
    Ok((live, stats))
}

/// Give the nodes that run something their mount, UTS and pid namespaces. On error the
/// ones already made go with `namespaces` when the caller drops it.
async fn node_envs(
    lab: &Lab,
    plan: &Plan,
    namespaces: &mut [netns::Netns],
    netlink: &mut Connections,
) -> Result<()> {
    // Untrusted: every node, since nft rulesets and patches are the lab's too, and each
    // node's network namespace must belong to its sandbox user namespace.
    let sandbox = crate::kernel::sandbox::untrusted();
    if sandbox && crate::kernel::sandbox::rootless() {
        return Err(Error::env(
            "an untrusted lab needs root: its sandbox maps a range of unused host ids, which \
             an unprivileged user cannot",
        ));
    }
    let wanted: Vec<(usize, super::nodeenv::EnvSpec)> = (0..lab.nodes.len())
        .map(crate::front::lab::NodeId)
        .filter(|id| sandbox || lab.runs_something(*id))
        .map(|id| {
            let node = lab.node(id);
            (
                plan.node_ns(id).0,
                super::nodeenv::EnvSpec {
                    hostname: node.name.clone(),
                    files: node.files.clone(),
                    sandbox,
                },
            )
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let jobs: Vec<_> = wanted
        .into_iter()
        .map(|(i, spec)| (i, namespaces[i].clone(), spec))
        .collect();
    // Each start forks from a thread of its own and waits for the init's report.
    let made = tokio::task::spawn_blocking(move || {
        jobs.into_iter()
            .map(|(i, ns, spec)| {
                super::nodeenv::NodeEnv::start(&ns, &spec)
                    .map(|env| (i, env))
                    .map_err(|e| (spec.hostname, e))
            })
            .collect::<std::result::Result<Vec<_>, _>>()
    })
    .await
    .map_err(|_| Error::kernel("node setup thread died"))?
    .map_err(|(node, e)| {
        Error::kernel(format!("node `{node}`: {e}")).context("building the lab")
    })?;
    for (i, mut env) in made {
        if let Some(fd) = env.take_netns() {
            // The sandboxed init made the node's network namespace: it replaces the one
            // made for it above, with a netlink socket of its own.
            let ns = netns::Netns::from_fd(fd).map_err(|e| Error::os("node namespace", e))?;
            let socket = netns::run_in(&ns, || {
                lab_defaults();
                RawSocket::open()
            })
            .and_then(|r| r)
            .map_err(|e| Error::os("netlink in a sandboxed node", e))?;
            netlink
                .adopt(i, socket)
                .map_err(|e| Error::os("netlink", e))?;
            namespaces[i] = ns;
        }
        namespaces[i].env = Some(Arc::new(env));
    }
    Ok(())
}

/// Sysctls every lab namespace starts with, written while the creating thread is inside
/// it. ICMP error rate limits off: concurrent checks through one router would otherwise
/// see some of its errors suppressed and report `timeout`. IPv6 duplicate address
/// detection off: link-local addresses must be usable as soon as the build returns. A
/// lab's own `sysctl` settings come later and win. Keys a kernel lacks are skipped.
fn lab_defaults() {
    for (key, value) in [
        ("net.ipv4.icmp_ratelimit", "0"),
        ("net.ipv4.icmp_msgs_burst", "10000"),
        ("net.ipv4.icmp_msgs_per_sec", "100000"),
        ("net.ipv6.icmp.ratelimit", "0"),
        ("net.ipv6.conf.all.accept_dad", "0"),
        ("net.ipv6.conf.default.accept_dad", "0"),
    ] {
        let _ = sysctl::write(key, value);
    }
}

/// "node `host`" or "switch `lan`", for messages.
pub fn ns_label(plan: &Plan, ns: NsId, lab: &Lab) -> String {
    match plan.ns(ns).owner {
        NsOwner::Node(n) => format!("node `{}`", lab.node(n).name),
        NsOwner::Switch(s) => format!("switch `{}`", lab.switch(s).name),
    }
}

fn op_label(live: &LiveLab, id: OpId) -> String {
    let op = &live.plan.ops[id.0];
    let name = |ns| live.plan.ns(ns).name.clone();
    format!(
        "{}: {}",
        ns_label(&live.plan, op.ns, &live.lab),
        op.kind.describe(&name)
    )
}

/// Devices the tunnel modules create by themselves in every namespace.
const FALLBACK_DEVICES: [&str; 9] = [
    "tunl0", "gre0", "gretap0", "erspan0", "sit0", "ip6tnl0", "ip6gre0", "ip_vti0", "ip6_vti0",
];

fn kernel_error(live: &LiveLab, id: OpId, e: NlError) -> Error {
    let help = if let OpKind::CreateInterface(NewInterface { name, .. }) = &live.plan.ops[id.0].kind
        && e.errno == libc::EEXIST
        && FALLBACK_DEVICES.contains(&name.as_str())
    {
        Some(format!(
            "the kernel creates `{name}` by itself in every namespace once its tunnel module is loaded: give the interface another name"
        ))
    } else {
        hint(&live.plan.ops[id.0].kind, e.errno).map(String::from)
    };
    Error::refused(op_label(live, id), e, help)
}

/// What an errno usually means for the operation that got it.
fn hint(kind: &OpKind, errno: i32) -> Option<&'static str> {
    match (kind, errno) {
        (OpKind::AddRoute { .. }, libc::ENETUNREACH) => Some(
            "the gateway is not on a subnet of the node: add an address covering it, an earlier route to it, or onlink = true",
        ),
        (OpKind::AddRoute { .. }, libc::EEXIST) => Some(
            "the same route is already there (interface addresses add their subnet routes themselves)",
        ),
        (OpKind::AddRoute { .. }, libc::ENETDOWN) => {
            Some("the route's interface is down (up = false)")
        }
        (OpKind::AddAddress { .. }, libc::EEXIST) => {
            Some("the address is already on this interface")
        }
        (
            OpKind::CreateInterface(NewInterface {
                kind: IfaceKind::Ipip(_) | IfaceKind::Gre { .. } | IfaceKind::Gretap { .. },
                ..
            }),
            libc::EEXIST,
        ) => Some(
            "a tunnel with the same local, remote (and key) already exists in the node; the kernel's own tunl0/gre0/gretap0 have neither, so give the tunnel a `remote`",
        ),
        (OpKind::CreateInterface(_), libc::EOPNOTSUPP) => {
            Some("this kernel lacks the interface kind; see `topolab test --kernel`")
        }
        (_, libc::EPERM) => Some(
            "topolab needs CAP_NET_ADMIN in the lab's namespaces; run as root or as a user allowed to create user namespaces",
        ),
        _ => None,
    }
}

/// What an operation leaves behind for the live lab to keep.
enum Made {
    Nothing,
    /// Interfaces now in the kernel: (namespace, name, ifindex).
    Interfaces(Vec<(NsId, String, u32)>),
    Log(crate::front::lab::NodeId, String, String),
    Responder(crate::kernel::probe::Responder),
    Service(Box<super::services::ServiceProc>),
}

async fn nl(live: &LiveLab, id: OpId, r: std::result::Result<(), NlError>) -> Result<Made> {
    r.map(|_| Made::Nothing)
        .map_err(|e| kernel_error(live, id, e))
}

fn op_node(live: &LiveLab, id: OpId) -> Option<crate::front::lab::NodeId> {
    match live.plan.ns(live.plan.ops[id.0].ns).owner {
        NsOwner::Node(n) => Some(n),
        NsOwner::Switch(_) => None,
    }
}

async fn run_op(live: &LiveLab, id: OpId) -> Result<Made> {
    let op = &live.plan.ops[id.0];
    let sock = match live.ns_netlink(op.ns).await {
        Ok(s) => s,
        Err(e) => return nl(live, id, Err(e)).await,
    };
    let ns = &live.namespaces[op.ns.0];
    match &op.kind {
        OpKind::CreateNamespace | OpKind::Barrier => Ok(Made::Nothing),
        OpKind::LoopbackUp => {
            nl(live, id, sock.change(links::set_up(1, true)).await).await?;
            Ok(Made::Interfaces(vec![(op.ns, "lo".into(), 1)]))
        }
        OpKind::CreateVeth { ends } => {
            let peer_ns = live.namespaces[ends[1].ns.0].raw();
            let msg = links::veth(&ends[0], &ends[1], peer_ns);
            nl(live, id, sock.create(msg).await).await?;
            Ok(Made::Interfaces(
                ends.iter()
                    .map(|e| (e.ns, e.name.clone(), e.ifindex))
                    .collect(),
            ))
        }
        OpKind::CreateInterface(spec) => match links::interface(spec) {
            Some(msg) => {
                nl(live, id, sock.create(msg).await).await?;
                Ok(Made::Interfaces(vec![(
                    op.ns,
                    spec.name.clone(),
                    spec.ifindex,
                )]))
            }
            None => Ok(Made::Nothing),
        },
        OpKind::SetUp { ifindex, .. } => {
            nl(live, id, sock.change(links::set_up(*ifindex, true)).await).await
        }
        OpKind::SetMaster {
            ifindex,
            master_ifindex,
            ..
        } => {
            nl(
                live,
                id,
                sock.change(links::set_master(*ifindex, *master_ifindex))
                    .await,
            )
            .await
        }
        OpKind::SetMtu { ifindex, mtu, .. } => {
            nl(live, id, sock.change(links::set_mtu(*ifindex, *mtu)).await).await
        }
        OpKind::Sysctl { key, value } => {
            let (k, v) = (key.clone(), value.clone());
            let r = live
                .workers
                .run(ns, move || sysctl::write(&k, &v))
                .await
                .and_then(|r| r);
            r.map(|_| Made::Nothing)
                .map_err(|e| Error::os(op_label(live, id), e))
        }
        OpKind::AddAddress {
            ifindex, address, ..
        } => {
            nl(
                live,
                id,
                sock.create(addresses::add(*ifindex, address)).await,
            )
            .await
        }
        OpKind::AddRoute { route, dev_ifindex } => {
            nl(
                live,
                id,
                sock.create(routes::add(route, *dev_ifindex)).await,
            )
            .await
        }
        OpKind::AddRule { rule } => nl(live, id, sock.create(rules::add(rule)).await).await,
        OpKind::AddNeighbour { neighbour, ifindex } => {
            nl(
                live,
                id,
                sock.create(neighbours::neighbour(neighbour, *ifindex))
                    .await,
            )
            .await
        }
        OpKind::AddFdb { fdb, ifindex } => {
            let flags = NLM_F_REQUEST
                | NLM_F_ACK
                | NLM_F_CREATE
                | if fdb.append { NLM_F_APPEND } else { NLM_F_EXCL };
            nl(
                live,
                id,
                sock.request(neighbours::fdb(fdb, *ifindex), flags)
                    .await
                    .map(|_| ()),
            )
            .await
        }
        OpKind::Nft { ruleset } => {
            crate::kernel::sandbox::check_nft(ruleset)
                .map_err(|e| Error::from(e).context(op_label(live, id)))?;
            let out = command::run_program(ns, "nft", &["-f", "-"], Some(ruleset), COMMAND_TIMEOUT)
                .await
                .map_err(|e| tool_error(live, id, "nft", e))?;
            if !out.success() {
                return Err(Error::kernel(format!(
                    "{}: nft failed:\n{}",
                    op_label(live, id),
                    indent(&out.text())
                )));
            }
            Ok(Made::Nothing)
        }
        OpKind::Exec { cmd } => {
            let out = command::run_shell(ns, cmd, None, COMMAND_TIMEOUT)
                .await
                .map_err(|e| tool_error(live, id, "sh", e))?;
            if !out.success() {
                let status = out
                    .status
                    .map(|s| format!("exit status {s}"))
                    .unwrap_or_else(|| "killed by a signal".into());
                return Err(Error::kernel(format!(
                    "{}: failed with {status}:\n{}",
                    op_label(live, id),
                    indent(&out.text())
                )));
            }
            match op_node(live, id) {
                Some(node) => Ok(Made::Log(node, cmd.clone(), out.text())),
                None => Ok(Made::Nothing),
            }
        }
        OpKind::Listen { listen } => {
            let r = crate::kernel::probe::start(ns.fd(), listen)
                .await
                .map_err(|e| Error::kernel(format!("{}: {e}", op_label(live, id))))?;
            Ok(Made::Responder(r))
        }
        OpKind::Service { service } => {
            let node =
                op_node(live, id).ok_or_else(|| Error::kernel("a service outside a node"))?;
            let mut proc = super::services::ServiceProc::new(node, service.clone())
                .map_err(|e| Error::env(format!("{}: {e}", op_label(live, id))))?;
            let own = live.lab.node(node).ips();
            proc.start(ns, &live.workers, &own)
                .await
                .map_err(|e| Error::from(e).context(op_label(live, id)))?;
            Ok(Made::Service(Box::new(proc)))
        }
        OpKind::Wireguard { name, ifindex } => {
            let NsOwner::Node(node) = live.plan.ns(op.ns).owner else {
                return Ok(Made::Nothing);
            };
            let node = live.lab.node(node);
            let kind = node
                .interface(name)
                .map(|i| i.kind.clone())
                .ok_or_else(|| {
                    Error::kernel(format!("{}: no such interface", op_label(live, id)))
                })?;
            let msg = wireguard::device_message(&live.wireguard, &node.name, name, *ifindex, &kind)
                .map_err(|e| Error::from(e).context(op_label(live, id)))?;
            let r = live
                .workers
                .run(ns, move || wireguard::send(msg))
                .await
                .map_err(|e| Error::kernel(format!("{}: {e}", op_label(live, id))))?;
            nl(live, id, r).await
        }
        OpKind::Ipsec { tunnel } => {
            let script = ipsec::script(tunnel);
            let out =
                command::run_program(ns, "ip", &["-batch", "-"], Some(&script), COMMAND_TIMEOUT)
                    .await
                    .map_err(|e| tool_error(live, id, "ip", e))?;
            if out.success() {
                return Ok(Made::Nothing);
            }
            let text = out.text();
            let mut msg = format!(
                "{}: the kernel refused:\n{}",
                op_label(live, id),
                indent(&text)
            );
            if let Some(h) = ipsec::hint(&text) {
                msg.push_str(&format!("\n  = help: {h}"));
            }
            Err(Error::kernel(msg))
        }
        OpKind::Impair {
            dev, impairment, ..
        } => impair::set(ns, dev, impairment)
            .await
            .map(|()| Made::Nothing)
            .map_err(|e| Error::from(e).context(op_label(live, id))),
    }
}

fn tool_error(live: &LiveLab, id: OpId, tool: &str, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::env(format!("{}: `{tool}` is not installed", op_label(live, id)))
    } else {
        Error::os(op_label(live, id), e)
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
