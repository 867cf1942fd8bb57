//! The supervisor's protocol: one JSON object per line over a unix stream socket; the
//! answer to `enter` carries namespace descriptors as SCM_RIGHTS.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Descriptors to enter `node`: its network namespace, and the lab's user namespace
    /// when the lab is rootless. The connection then stays open for as long as the
    /// client's command runs: it closes when the lab goes down.
    Enter {
        node: String,
    },
    /// Tear the lab down and exit.
    Down,
    Status,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For `enter`: whether the descriptors are [userns, netns] rather than [netns].
    #[serde(default)]
    pub with_userns: bool,
    /// For `enter`: a pidfd of the node's init follows the network namespace; the
    /// client joins the node's mount, UTS and pid namespaces through it.
    #[serde(default)]
    pub with_node: bool,
    /// The lab is untrusted: the client joins the node's user namespace too.
    #[serde(default)]
    pub sandboxed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<super::instance::State>,
}

impl Response {
    pub fn ok() -> Response {
        Response {
            ok: true,
            error: None,
            with_userns: false,
            with_node: false,
            sandboxed: false,
            status: None,
        }
    }
    pub fn error(msg: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(msg.into()),
            with_userns: false,
            with_node: false,
            sandboxed: false,
            status: None,
        }
    }
}

/// Send one line of JSON with optional descriptors attached.
pub fn send<T: Serialize>(stream: &UnixStream, msg: &T, fds: &[RawFd]) -> io::Result<()> {
    let mut line = serde_json::to_vec(msg).map_err(io::Error::other)?;
    line.push(b'\n');
    let iov = [IoSlice::new(&line)];
    let cmsgs = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsgs };
    let sent = sendmsg::<()>(stream.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), None)
        .map_err(io::Error::from)?;
    if sent != line.len() {
        return Err(io::Error::other("short write on supervisor socket"));
    }
    Ok(())
}

/// Receive one line of JSON and any descriptors that came with it. Lines are small, so
/// one message is one read; a longer one is an error rather than a partial parse.
pub fn recv<T: for<'de> Deserialize<'de>>(stream: &UnixStream) -> io::Result<(T, Vec<OwnedFd>)> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!([RawFd; 4]);
    let (n, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        let mut fds = Vec::new();
        for c in msg.cmsgs().map_err(io::Error::from)? {
            if let ControlMessageOwned::ScmRights(list) = c {
                // SAFETY: the kernel just installed these descriptors for us.
                fds.extend(
                    list.into_iter()
                        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                );
            }
        }
        (msg.bytes, fds)
    };
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "supervisor closed the connection",
        ));
    }
    let line = buf[..n]
        .strip_suffix(b"\n")
        .ok_or_else(|| io::Error::other("incomplete message from supervisor"))?;
    let msg = serde_json::from_slice(line).map_err(io::Error::other)?;
    Ok((msg, fds))
}
