//! The supervisor of a persistent lab (`topolab up`): a process that builds the lab, holds
//! its namespaces and processes, and answers on a unix socket until told to go down. If it
//! is killed, the kernel frees everything with it.

pub(crate) mod enter;
pub(crate) mod instance;
pub(crate) mod protocol;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use protocol::{Request, Response};

use crate::error::{Error, Exit, Result};
use crate::kernel::engine::LiveLab;
use instance::State;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instance id.
    #[arg(long)]
    pub id: String,
    /// Runtime directory (computed by `up` before any user namespace is entered).
    #[arg(long)]
    pub dir: PathBuf,
    pub lab: PathBuf,
    /// The lab is untrusted (`up --untrusted`).
    #[arg(long)]
    pub untrusted: bool,
}

/// Host pid of this process's parent: the outer half of the sandbox. /proc is the host's
/// mount, so it shows host pids even inside our pid namespace.
fn outer_pid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("PPid:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
        })
        .unwrap_or(0)
}

/// Tell the waiting `up` what happened, on the line protocol it reads from our stdout.
fn announce(line: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Stop writing to `up`'s pipes: from now on our output goes to the instance's log.
fn detach_output(log: &Path) {
    if let Ok(f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        // SAFETY: dup2 onto our own standard descriptors.
        unsafe {
            libc::dup2(f.as_raw_fd(), 1);
            libc::dup2(f.as_raw_fd(), 2);
        }
    }
}

/// Set once "ready" is announced: from then on the lab outlives the `up` that started it.
static READY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// An interrupted `up` leaves nothing: until the lab is ready, a thread watches the pipe
/// to `up` (our stdout), and when `up` is gone (Ctrl-C, SIGKILL: the read end closes and
/// the write end reports POLLERR), this process exits. It is the init of the lab's pid
/// namespace and holds its namespaces, so the kernel frees the half-built lab with it.
fn exit_with_up(dir: PathBuf, id: String) {
    use std::sync::atomic::Ordering;
    std::thread::spawn(move || {
        while !READY.load(Ordering::SeqCst) {
            let mut fd = libc::pollfd {
                fd: 1,
                events: 0,
                revents: 0,
            };
            // SAFETY: poll on one valid pollfd for 100 ms.
            let n = unsafe { libc::poll(&mut fd, 1, 100) };
            let gone = n > 0 && fd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0;
            if gone && !READY.load(Ordering::SeqCst) {
                instance::remove_files(&dir, &id);
                // SAFETY: _exit ends the process without running anything else.
                unsafe { libc::_exit(1) };
            }
        }
    });
}

pub fn run(args: Args) -> Result<Exit> {
    exit_with_up(args.dir.clone(), args.id.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
        .map_err(|e| Error::env(format!("tokio: {e}")))?;
    let result = rt.block_on(serve(args));
    if let Err(e) = &result {
        announce(&format!(
            "error {}",
            serde_json::to_string(&e.to_string()).unwrap_or_default()
        ));
        announce(&format!("exit {}", e.exit().code()));
    }
    result
}

async fn serve(args: Args) -> Result<Exit> {
    crate::kernel::sandbox::set_untrusted(args.untrusted);
    let loaded = crate::front::validate::load(&args.lab)
        .map_err(|e| Error::invalid(format!("{}: {e}", args.lab.display())))?;
    let Some(lab) = loaded.lab else {
        return Err(Error::invalid(format!(
            "{}: invalid lab file",
            args.lab.display()
        )));
    };
    // Refuse (exit 3, with the kernel options) before building anything.
    crate::kernel::features::check(&lab)?;
    let plan = crate::plan::build(&lab);
    // Output of services and setup commands beyond what a report shows.
    crate::kernel::engine::output_tail::set_log(instance::log_path(&args.dir, &args.id));
    let (live, _) = crate::kernel::engine::apply(lab, plan)
        .await
        .map_err(|e| Error::Reported {
            exit: e.exit(),
            message: crate::front::nft_location::locate(&loaded.file, &e.to_string()),
        })?;
    let live = Arc::new(live);

    let sock = instance::socket_path(&args.dir, &args.id);
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock)
        .map_err(|e| Error::env(format!("cannot listen on {}: {e}", sock.display())))?;
    let state = State {
        id: args.id.clone(),
        lab: live.lab.name.clone(),
        file: std::fs::canonicalize(&args.lab).unwrap_or(args.lab.clone()),
        pid: outer_pid(),
        rootless: crate::kernel::sandbox::rootless(),
        nodes: live.lab.nodes.iter().map(|n| n.name.clone()).collect(),
        started: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    instance::write_state(&args.dir, &state)
        .map_err(|e| Error::env(format!("cannot write state in {}: {e}", args.dir.display())))?;

    let (down_tx, mut down_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let accept_live = Arc::clone(&live);
    let envs: Arc<NodeEnvs> = Arc::default();
    let envs_for_exit = Arc::clone(&envs);
    let accept_state = state.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let live = Arc::clone(&accept_live);
            let state = accept_state.clone();
            let down = down_tx.clone();
            let envs = Arc::clone(&envs);
            std::thread::spawn(move || handle(conn, &live, &state, &down, &envs));
        }
    });

    READY.store(true, std::sync::atomic::Ordering::SeqCst);
    announce(&format!("ready {}", args.id));
    detach_output(&instance::log_path(&args.dir, &args.id));

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::env(e.to_string()))?;
    tokio::select! {
        _ = down_rx.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    instance::remove_files(&args.dir, &args.id);
    drop(envs_for_exit);
    drop(live);
    // Connections of `exec` clients close with the process: they see the lab go down.
    std::process::exit(0);
}

/// Namespaces made on demand for nodes that ran nothing until someone entered them with
/// `shell` or `exec` (a lab's own nodes that run something have theirs from the start).
type NodeEnvs = std::sync::Mutex<
    std::collections::HashMap<
        crate::front::lab::NodeId,
        Arc<crate::kernel::engine::nodeenv::NodeEnv>,
    >,
>;

fn node_env(
    live: &LiveLab,
    envs: &NodeEnvs,
    id: crate::front::lab::NodeId,
) -> std::io::Result<Arc<crate::kernel::engine::nodeenv::NodeEnv>> {
    let ns = live.node_ns(id);
    if let Some(env) = &ns.env {
        return Ok(Arc::clone(env));
    }
    let mut made = envs.lock().map_err(|_| std::io::Error::other("lock"))?;
    if let Some(env) = made.get(&id) {
        return Ok(Arc::clone(env));
    }
    let node = live.lab.node(id);
    let env = Arc::new(crate::kernel::engine::nodeenv::NodeEnv::start(
        ns,
        &crate::kernel::engine::nodeenv::EnvSpec {
            hostname: node.name.clone(),
            files: node.files.clone(),
            sandbox: crate::kernel::sandbox::untrusted(),
        },
    )?);
    made.insert(id, Arc::clone(&env));
    Ok(env)
}

fn handle(
    conn: UnixStream,
    live: &LiveLab,
    state: &State,
    down: &tokio::sync::mpsc::UnboundedSender<()>,
    envs: &NodeEnvs,
) {
    let Ok((req, _)) = protocol::recv::<Request>(&conn) else {
        return;
    };
    match req {
        Request::Status => {
            let mut r = Response::ok();
            r.status = Some(state.clone());
            let _ = protocol::send(&conn, &r, &[]);
        }
        Request::Down => {
            let _ = protocol::send(&conn, &Response::ok(), &[]);
            let _ = down.send(());
        }
        Request::Enter { node } => {
            let Some(id) = live.lab.node_id(&node) else {
                let known: Vec<&str> = live.lab.nodes.iter().map(|n| n.name.as_str()).collect();
                let _ = protocol::send(
                    &conn,
                    &Response::error(format!(
                        "lab `{}` has no node `{node}`; nodes: {}",
                        live.lab.name,
                        known.join(", ")
                    )),
                    &[],
                );
                return;
            };
            let netns = live.node_ns(id).raw();
            let env = match node_env(live, envs, id) {
                Ok(env) => env,
                Err(e) => {
                    let _ = protocol::send(
                        &conn,
                        &Response::error(format!("cannot set up node `{node}`: {e}")),
                        &[],
                    );
                    return;
                }
            };
            let mut r = Response::ok();
            r.with_node = true;
            r.sandboxed = env.sandboxed();
            let userns = if crate::kernel::sandbox::rootless() {
                crate::kernel::sandbox::user_namespace_fd().ok()
            } else {
                None
            };
            let sent = match &userns {
                Some(u) => {
                    r.with_userns = true;
                    protocol::send(&conn, &r, &[u.as_raw_fd(), netns, env.pidfd()])
                }
                None => protocol::send(&conn, &r, &[netns, env.pidfd()]),
            };
            if sent.is_err() {
                return;
            }
            // Hold the connection until the client goes; our exit closes it for them.
            let mut buf = [0u8; 64];
            while matches!(std::io::Read::read(&mut &conn, &mut buf), Ok(n) if n > 0) {}
        }
    }
}
