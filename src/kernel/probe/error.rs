//! Why a probe could not be carried out at all (as opposed to an outcome it observed).

use std::fmt;
use std::io;

use crate::error::errno_words;
use crate::kernel::host_guard::GuardError;

#[derive(Debug)]
pub enum ProbeError {
    /// The host guard was never armed, so the host namespace is unknown: refuse everything.
    GuardNotArmed,
    /// The namespace given, or the one a socket ended up in, is the host's.
    HostNamespace,
    /// The socket is not in the namespace that was asked for.
    WrongNamespace,
    /// A system call failed; `what` says which step.
    Os {
        what: &'static str,
        source: io::Error,
    },
    /// The probe cannot be expressed (e.g. an `iif` that does not exist in the node).
    Invalid(String),
}

impl ProbeError {
    /// The kernel ran out of a shared resource (ENOBUFS: typically its neighbour table,
    /// which all namespaces share): the probe may succeed when retried later.
    pub fn is_resource_shortage(&self) -> bool {
        matches!(self, ProbeError::Os { source, .. } if matches!(source.raw_os_error(), Some(libc::ENOBUFS) | Some(libc::ENOMEM)))
    }

    pub(crate) fn os(what: &'static str) -> impl FnOnce(io::Error) -> ProbeError {
        move |source| ProbeError::Os { what, source }
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::GuardNotArmed => f.write_str(
                "probe guard not armed: the host network namespace was not recorded at start-up, \
                 so no probe may send",
            ),
            ProbeError::HostNamespace => {
                f.write_str("refused: the probe socket would be in the host network namespace")
            }
            ProbeError::WrongNamespace => {
                f.write_str("refused: the probe socket is not in the node's network namespace")
            }
            ProbeError::Os { what, source } => match source.raw_os_error() {
                Some(errno) => write!(f, "{what}: {}", errno_words(errno)),
                None => write!(f, "{what}: {source}"),
            },
            ProbeError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ProbeError {}

impl From<GuardError> for ProbeError {
    fn from(e: GuardError) -> ProbeError {
        match e {
            GuardError::NotArmed => ProbeError::GuardNotArmed,
            GuardError::HostNamespace => ProbeError::HostNamespace,
            GuardError::WrongNamespace => ProbeError::WrongNamespace,
            GuardError::Os(source) => ProbeError::Os {
                what: "reading the socket's namespace",
                source,
            },
        }
    }
}

impl crate::error::Classified for ProbeError {
    fn exit(&self) -> crate::error::Exit {
        match self {
            ProbeError::Os { source, .. } => crate::error::errno_class(source.raw_os_error()),
            ProbeError::Invalid(_) => crate::error::Exit::Invalid,
            ProbeError::GuardNotArmed | ProbeError::HostNamespace | ProbeError::WrongNamespace => {
                crate::error::Exit::Environment
            }
        }
    }

    fn errno(&self) -> Option<i32> {
        match self {
            ProbeError::Os { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Exit};

    #[test]
    fn a_probe_error_keeps_its_class_and_words() {
        let invalid = Error::from(ProbeError::Invalid("bad".into()));
        assert_eq!(
            (invalid.exit(), invalid.to_string()),
            (Exit::Invalid, "bad".into())
        );
        assert_eq!(
            Error::from(ProbeError::HostNamespace).exit(),
            Exit::Environment
        );
        let os = ProbeError::Os {
            what: "socket",
            source: io::Error::from_raw_os_error(libc::EMFILE),
        };
        assert_eq!(Error::from(os).exit(), Exit::Environment);
    }
}
