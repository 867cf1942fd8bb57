//! `topolab pcap LAB NODE:IFACE`: stream one interface of a running lab as pcapng on
//! stdout, for `| tcpdump -r -` or `| wireshark -k -i -`, until the lab goes down or the
//! reader goes away.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::error::{Error, Exit, Result};
use crate::kernel::capture::packet::PacketSocket;
use crate::kernel::capture::pcapng::{SNAPLEN, Writer};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instance id or lab name (see `topolab ls`).
    pub lab: String,
    /// The interface to record, as NODE:IFACE (e.g. `host:eth0`).
    #[arg(value_name = "NODE:IFACE")]
    pub target: String,
}

/// Runs before any thread exists: entering a rootless lab's user namespace requires it.
pub fn run(args: Args) -> Result<Exit> {
    let Some((node, iface)) = args
        .target
        .split_once(':')
        .filter(|(n, i)| !n.is_empty() && !i.is_empty())
    else {
        return Err(Error::invalid(format!(
            "`{}` is not NODE:IFACE; e.g. `topolab pcap {} host:eth0 | tcpdump -r -`",
            args.target, args.lab
        )));
    };
    if std::io::stdout().is_terminal() {
        return Err(Error::invalid(format!(
            "pcap writes binary pcapng to stdout; pipe it into a reader, e.g. \
             `topolab pcap {} {} | tcpdump -nr -`",
            args.lab, args.target
        )));
    }
    let entry = crate::supervisor::enter::connect(&args.lab, node)?;
    entry.join_user_namespace()?;
    // The socket is made by the probes' namespace thread and checked by the host guard,
    // exactly like a probe's: this process itself never enters the lab.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::env(format!("tokio: {e}")))?;
    let sock = rt
        .block_on(PacketSocket::open(
            entry.netns.as_fd(),
            iface,
            crate::kernel::capture::packet::RCVBUF_MAX,
        ))
        .map_err(|e| Error::invalid(format!("{}: {node}:{iface}: {e}", entry.id)))?;
    drop(rt);

    let out = std::io::stdout().lock();
    let app = format!("topolab {} pcap", env!("CARGO_PKG_VERSION"));
    let mut w = match Writer::new(out, u64::MAX, &app) {
        Ok(w) => w,
        Err(e) => return reader_gone(e),
    };
    let streamed = w
        .interface(&args.target, sock.description(), sock.link())
        .and_then(|_| w.flush());
    if let Err(e) = streamed {
        return reader_gone(e);
    }
    let mut buf = vec![0u8; SNAPLEN as usize];
    loop {
        let mut fds = [
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(entry.conn.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::env(format!("poll: {e}"))),
        }
        let lab_down = fds[1].revents().is_some_and(|r| !r.is_empty());
        if let Err(e) = copy(&sock, &mut w, &mut buf) {
            return reader_gone(e);
        }
        if lab_down {
            eprintln!("topolab: lab `{}` went down", entry.id);
            return Ok(Exit::Pass);
        }
    }
}

/// Everything queued on the socket, then a flush: a live reader sees each packet at once.
fn copy<W: Write>(sock: &PacketSocket, w: &mut Writer<W>, buf: &mut [u8]) -> std::io::Result<()> {
    while let Some(p) = sock.recv(buf)? {
        w.packet(
            0,
            p.ts_ns,
            &buf[..p.captured],
            p.original as u32,
            p.direction,
        )?;
    }
    w.flush()
}

/// The reader closed the pipe (`head`, a closed Wireshark): a normal end.
fn reader_gone(e: std::io::Error) -> Result<Exit> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Ok(Exit::Pass);
    }
    Err(Error::env(format!("writing to stdout: {e}")))
}
