//! TCP connect, optionally followed by an echoed transfer.
//!
//! IP_RECVERR makes the kernel queue the ICMP error that aborted a connect, so
//! admin-prohibited and host-unreachable are told apart although both end the connect with
//! `EHOSTUNREACH`. A transfer that stalls (a PMTU black hole) is a `timeout`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, IntoRawFd};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use crate::front::lab::Outcome;

use super::netns::{SocketKind, socket_in};
use super::{Observation, ProbeError, classify, errqueue, sys};

#[derive(Debug, Clone)]
pub struct Tcp {
    pub dst: SocketAddr,
    pub ttl: Option<u8>,
    pub source: Option<IpAddr>,
    pub send: Option<u32>,
}

pub async fn run(
    ns: BorrowedFd<'_>,
    p: &Tcp,
    timeout: Duration,
) -> Result<Observation, ProbeError> {
    let v6 = p.dst.is_ipv6();
    let kind = SocketKind {
        domain: if v6 { libc::AF_INET6 } else { libc::AF_INET },
        ty: libc::SOCK_STREAM,
        protocol: 0,
    };
    let fd = socket_in(ns, kind).await?;
    sys::set_ip_options(fd.as_fd(), v6, p.ttl, None)
        .map_err(ProbeError::os("setting tcp socket options"))?;
    sys::enable_rx_timestamps(fd.as_fd()).map_err(ProbeError::os("enabling receive timestamps"))?;
    if let Some(src) = p.source {
        sys::bind(fd.as_fd(), SocketAddr::new(src, 0))
            .map_err(ProbeError::os("binding the tcp source address"))?;
    }
    let start = Instant::now();
    let mut deadline = start + timeout;
    // An ICMP error is judged by when it arrived (see ping), not when it was read.
    let late_after = std::time::SystemTime::now() + timeout;
    match sys::connect(fd.as_fd(), p.dst) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Observation::local_failure(e, "connecting", None, start),
    }
    // The SYN may already be gone: drops since the probe started are replayed to it.
    let mut drops = sys::local_addr(fd.as_fd()).and_then(|l| {
        crate::kernel::drops::announce(crate::kernel::drops::Key::Flow {
            proto: libc::IPPROTO_TCP as u8,
            dst: p.dst,
            local: l.port(),
        })
    });
    // The kernel dropped the connection request (or its answer, or the ICMP error about
    // it) where nothing answers: the handshake has exactly one packet in flight until the
    // SYN is retransmitted a second later, and the retransmission meets the same kernel
    // on the same path, so the connect is over once the grace for a `reject`'s reset or
    // ICMP error has passed.
    let mut decided: Option<String> = None;
    let early = deadline;
    // SAFETY: `fd` is a TCP socket we own; ownership moves into the std stream.
    let std_stream = unsafe { std::net::TcpStream::from_raw_fd(fd.into_raw_fd()) };
    let stream =
        TcpStream::from_std(std_stream).map_err(ProbeError::os("registering the tcp socket"))?;
    loop {
        let woke = tokio::select! {
            r = timeout_at(deadline, stream.writable()) => r,
            (_, reason) = crate::kernel::drops::terminal(&mut drops), if decided.is_none() => {
                deadline = deadline.min(Instant::now() + crate::kernel::drops::GRACE);
                decided = Some(reason);
                continue;
            }
        };
        match woke {
            Err(_) => {
                let o = Observation::new(Outcome::Timeout, start.elapsed());
                return Ok(match &decided {
                    Some(reason) if deadline < early => o.with_detail(format!(
                        "concluded early: the kernel dropped the connection request ({reason}), after which nothing answers"
                    )),
                    _ => o.with_detail("no answer to the connection request"),
                });
            }
            Ok(r) => r.map_err(ProbeError::os("waiting for the connection"))?,
        }
        match stream.take_error() {
            Ok(Some(e)) => return failure(&stream, e, "connecting", start, late_after),
            Err(e) => return failure(&stream, e, "connecting", start, late_after),
            Ok(None) if stream.peer_addr().is_ok() => break,
            // A wake-up before the handshake ended: consume it and wait again.
            Ok(None) => {
                let _ = stream.try_io(Interest::WRITABLE, || {
                    Err::<(), _>(io::ErrorKind::WouldBlock.into())
                });
            }
        }
    }
    // The transfer keeps the whole deadline: it has many packets in flight, and one lost
    // segment is retransmitted, not the end.
    let deadline = early;
    let Some(n) = p.send else {
        return Ok(Observation::ok(p.dst.ip(), start.elapsed()));
    };
    transfer(stream, p.dst, n as usize, start, deadline, late_after).await
}

/// Sends `n` bytes and reads them back concurrently (the peer's buffers would otherwise
/// fill up and stall a large transfer for reasons that are not the network's).
async fn transfer(
    mut stream: TcpStream,
    dst: SocketAddr,
    n: usize,
    start: Instant,
    deadline: Instant,
    late_after: std::time::SystemTime,
) -> Result<Observation, ProbeError> {
    let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let mut echoed = 0usize;
    let mut mismatch = None;
    let (mut rd, mut wr) = stream.split();
    let exchange = async {
        let write = async {
            wr.write_all(&data).await?;
            wr.flush().await
        };
        let read = async {
            let mut buf = vec![0u8; 65536];
            while echoed < n {
                let k = rd.read(&mut buf).await?;
                if k == 0 {
                    break;
                }
                let k = k.min(n - echoed);
                if mismatch.is_none()
                    && let Some(i) = (0..k).find(|&i| buf[i] != data[echoed + i])
                {
                    mismatch = Some(echoed + i);
                }
                echoed += k;
            }
            Ok::<(), io::Error>(())
        };
        tokio::try_join!(write, read)
    };
    let result = timeout_at(deadline, exchange).await;
    let elapsed = start.elapsed();
    match result {
        Err(_) => Ok(
            Observation::new(Outcome::Timeout, elapsed).with_detail(format!(
                "connected; {echoed} of {n} bytes echoed before the deadline"
            )),
        ),
        Ok(Err(e)) => failure(&stream, e, "transferring", start, late_after).map(|o| {
            let d = o.detail.clone().unwrap_or_default();
            o.with_detail(format!("after {echoed} of {n} bytes echoed: {d}"))
        }),
        Ok(Ok(_)) if echoed < n => Ok(Observation::new(Outcome::Refused, elapsed).with_detail(
            format!("the peer closed after {echoed} of {n} bytes echoed"),
        )),
        Ok(Ok(_)) => match mismatch {
            Some(i) => Ok(Observation::new(Outcome::Refused, elapsed)
                .with_detail(format!("the echo differs from what was sent at byte {i}"))),
            None => Ok(Observation::ok(dst.ip(), elapsed).with_detail(format!("{n} bytes echoed"))),
        },
    }
}

/// A failed connect or transfer: the queued ICMP error if there is one, else the errno.
fn failure(
    stream: &TcpStream,
    e: io::Error,
    what: &'static str,
    start: Instant,
    late_after: std::time::SystemTime,
) -> Result<Observation, ProbeError> {
    let queued = errqueue::drain(stream.as_fd()).unwrap_or_default();
    // Only a late ICMP error came: within the deadline there was no answer.
    if !queued.is_empty() && queued.iter().all(|q| q.at.is_some_and(|t| t > late_after)) {
        return Ok(Observation::new(Outcome::Timeout, start.elapsed())
            .with_detail("the only answer came after the deadline"));
    }
    let mut notes = Vec::new();
    for q in &queued {
        match classify::queued(q) {
            Ok(f) => return Ok(Observation::found(f, start.elapsed())),
            Err(note) => notes.push(note.to_string()),
        }
    }
    let o = Observation::local_failure(e, what, None, start)?;
    Ok(match notes.pop() {
        Some(n) if o.detail.is_none() => o.with_detail(n),
        _ => o,
    })
}
