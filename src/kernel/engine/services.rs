//! Background services: a command kept running in a node, ready before the first check,
//! its output kept for the report (bounded: see `output_tail`). They live in topolab's pid
//! namespace, so they die with it however topolab ends; `stop`/`kill` end them earlier
//! (steps).

use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::command;
use super::netns::{Netns, Workers};
use super::output_tail::{Capture, TAIL};
use crate::front::lab::{NodeId, Readiness, Service};

/// How often readiness is polled.
const READY_POLL: Duration = Duration::from_millis(50);
/// How long a stopped service gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Why a service did not become ready.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Its output file could not be handed to the command.
    #[error("{0}")]
    Log(#[source] std::io::Error),
    #[error("cannot start: {0}")]
    Spawn(#[source] std::io::Error),
    /// `output` is what it printed, as a `; its output:` suffix (or nothing).
    #[error("exited before it was ready{output}")]
    Exited { output: String },
    #[error("not ready after {waited} ({ready}){output}")]
    NotReady {
        waited: String,
        ready: String,
        output: String,
    },
}

pub struct ServiceProc {
    pub node: NodeId,
    pub spec: Service,
    child: Option<tokio::process::Child>,
    log: Capture,
}

impl ServiceProc {
    pub fn new(node: NodeId, spec: Service) -> std::io::Result<ServiceProc> {
        let log = Capture::new(format!("service {}", spec.name), TAIL);
        Ok(ServiceProc {
            node,
            spec,
            child: None,
            log,
        })
    }

    pub fn running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Start the command and wait until it is ready (or fails, or times out).
    /// `own` are the node's addresses: a service bound to one of them is not reachable on
    /// loopback, so readiness tries them too (all inside the node).
    pub async fn start(
        &mut self,
        ns: &Netns,
        workers: &Workers,
        own: &[std::net::IpAddr],
    ) -> Result<(), ServiceError> {
        if self.running() {
            return Ok(());
        }
        let mut cmd = command::in_ns(ns, "sh");
        cmd.arg("-c").arg(&self.spec.cmd);
        cmd.stdin(Stdio::null());
        let out = self.log.writer().map_err(ServiceError::Log)?;
        let err = out.try_clone().map_err(ServiceError::Log)?;
        cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err));
        let child = command::spawn(ns, cmd).await.map_err(ServiceError::Spawn)?;
        self.child = Some(child);
        let Some(ready) = self.spec.ready.clone() else {
            return Ok(());
        };
        let deadline = Instant::now() + self.spec.ready_timeout;
        loop {
            if !self.running() {
                return Err(ServiceError::Exited {
                    output: self.output_suffix(),
                });
            }
            if is_ready(&ready, ns, workers, own).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(ServiceError::NotReady {
                    waited: crate::front::lab::fmt_duration(self.spec.ready_timeout),
                    ready: describe(&ready),
                    output: self.output_suffix(),
                });
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }

    /// SIGTERM (then SIGKILL after a grace period), or SIGKILL at once.
    pub async fn stop(&mut self, signal: Signal) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
        }
        if tokio::time::timeout(STOP_GRACE, child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }

    /// What the service printed so far (its last `output_tail::TAIL` bytes, and how much
    /// was cut before them).
    pub fn output(&self) -> String {
        self.log.text()
    }

    fn output_suffix(&self) -> String {
        let out = self.output();
        let out = out.trim();
        if out.is_empty() {
            String::new()
        } else {
            format!(
                "; its output:\n{}",
                out.lines()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        }
    }
}

fn describe(r: &Readiness) -> String {
    match r {
        Readiness::Tcp(p) => format!("tcp port {p} not accepting"),
        Readiness::Udp(p) => format!("no socket on udp port {p}"),
        Readiness::Cmd(c) => format!("`{c}` not succeeding"),
    }
}

async fn is_ready(r: &Readiness, ns: &Netns, workers: &Workers, own: &[std::net::IpAddr]) -> bool {
    match r {
        Readiness::Tcp(port) => {
            let port = *port;
            let mut targets: Vec<std::net::IpAddr> = vec![
                std::net::Ipv4Addr::LOCALHOST.into(),
                std::net::Ipv6Addr::LOCALHOST.into(),
            ];
            targets.extend_from_slice(own);
            // Connections to the node's own addresses stay inside its namespace.
            workers
                .run(ns, move || {
                    if crate::kernel::host_guard::in_host_netns() {
                        return false;
                    }
                    targets.iter().any(|ip| {
                        std::net::TcpStream::connect_timeout(
                            &std::net::SocketAddr::new(*ip, port),
                            Duration::from_millis(200),
                        )
                        .is_ok()
                    })
                })
                .await
                .unwrap_or(false)
        }
        Readiness::Udp(port) => {
            let port = *port;
            workers
                .run(ns, move || udp_bound(port))
                .await
                .unwrap_or(false)
        }
        Readiness::Cmd(c) => command::run_shell(ns, c, None, Duration::from_secs(10))
            .await
            .map(|o| o.success())
            .unwrap_or(false),
    }
}

/// Whether a UDP socket is bound to `port` in the calling thread's namespace.
fn udp_bound(port: u16) -> bool {
    let needle = format!(":{port:04X} ");
    ["/proc/thread-self/net/udp", "/proc/thread-self/net/udp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|t| {
            t.lines().skip(1).any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|local| format!("{local} ").ends_with(&needle))
            })
        })
}

/// A service that does not start is the lab not working on this kernel.
impl crate::error::Classified for ServiceError {
    fn exit(&self) -> crate::error::Exit {
        crate::error::Exit::Kernel
    }
}
