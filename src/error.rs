//! Errors that end a command. Each kind of error has an exit class, and `Error::exit` is
//! the one place an error becomes the exit code DESIGN.md assigns (as cargo-nextest's
//! `ExpectedError::process_exit_code` does): where an error is built, only what happened
//! is said, never which code the process ends with.
//!
//! This module is the crate's lowest layer, so the typed errors of the layers above
//! (a refused netlink request, a probe, a service, …) reach it as `Classified`: each such
//! type states its class once, next to its definition, instead of this module naming
//! every layer's types (which made it and the kernel layer depend on each other).

use std::fmt;
use std::io;
use std::process::ExitCode;

/// Exit codes: 0 pass, 1 a check or snapshot failed, 2 invalid lab or usage,
/// 3 environment (privileges, missing kernel feature or tool), 4 the kernel refused.
/// Serialized (in JSON reports) as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    Pass = 0,
    Fail = 1,
    Invalid = 2,
    Environment = 3,
    Kernel = 4,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The class of an exit code topolab gave (e.g. a child topolab's, in a VM or a
    /// supervisor); None for a code that is not one of ours (a panic is 101).
    pub fn from_code(code: i32) -> Option<Exit> {
        Some(match code {
            0 => Exit::Pass,
            1 => Exit::Fail,
            2 => Exit::Invalid,
            3 => Exit::Environment,
            4 => Exit::Kernel,
            _ => return None,
        })
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

impl serde::Serialize for Exit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Exit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Exit, D::Error> {
        let code = u8::deserialize(d)?;
        Exit::from_code(code.into()).ok_or_else(|| {
            serde::de::Error::custom(format!("exit code {code} is not one of topolab's (0-4)"))
        })
    }
}

/// What ended a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lab, an input file or the command line is wrong.
    #[error("{0}")]
    Invalid(String),
    /// A check, a snapshot or a comparison did not hold.
    #[error("{0}")]
    Failed(String),
    /// The machine lacks what the command needs: privileges, a tool, a kernel feature, a
    /// file, a running lab.
    #[error("{0}")]
    Environment(String),
    /// The kernel refused what the lab asks for, in words (a tool's output, a thread
    /// that died while building).
    #[error("{0}")]
    Kernel(String),
    /// The kernel refused a request made while doing `doing`.
    #[error("{doing}: the kernel refused: {refused}{help}")]
    Refused {
        doing: String,
        refused: Box<dyn Classified>,
        help: Help,
    },
    /// A system call failed while doing `doing`.
    #[error("{doing}: {source}{help}")]
    Os {
        doing: String,
        #[source]
        source: io::Error,
        help: Help,
    },
    /// A typed error of a layer above this one: a probe that could not be made, a
    /// service that did not become ready, WireGuard, an impairment, an untrusted lab's
    /// nft include, kernel state that could not be read, reports that do not merge.
    #[error("{error}{help}")]
    Typed {
        error: Box<dyn Classified>,
        help: Help,
    },
    /// An error in words with the class it had: one another topolab process (the
    /// supervisor of `up`) reported, or one whose words were rewritten (nft's positions in
    /// `/dev/stdin` mapped to the lab file's).
    #[error("{message}")]
    Reported { exit: Exit, message: String },
    /// What was being done when `source` happened; the class is `source`'s.
    #[error("{doing}: {source}")]
    Context {
        doing: String,
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The exit class of this error: the one mapping from kinds to exit codes.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Invalid(_) => Exit::Invalid,
            Error::Failed(_) => Exit::Fail,
            Error::Environment(_) => Exit::Environment,
            Error::Kernel(_) => Exit::Kernel,
            Error::Refused { refused, .. } => refused.exit(),
            Error::Os { source, .. } => errno_class(source.raw_os_error()),
            Error::Typed { error, .. } => error.exit(),
            Error::Reported { exit, .. } => *exit,
            Error::Context { source, .. } => source.exit(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(message.into())
    }

    pub fn env(message: impl Into<String>) -> Error {
        Error::Environment(message.into())
    }

    pub fn kernel(message: impl Into<String>) -> Error {
        Error::Kernel(message.into())
    }

    pub fn fail(message: impl Into<String>) -> Error {
        Error::Failed(message.into())
    }

    /// A request refused while doing `doing`, with a hint for its errno if one is known.
    pub fn refused(
        doing: impl Into<String>,
        refused: impl Classified,
        hint: Option<String>,
    ) -> Error {
        let help = Help::for_errno(refused.errno(), hint);
        Error::Refused {
            doing: doing.into(),
            refused: Box::new(refused),
            help,
        }
    }

    /// A system call that failed while doing `doing`.
    pub fn os(doing: impl Into<String>, source: io::Error) -> Error {
        let help = Help::for_errno(source.raw_os_error(), None);
        Error::Os {
            doing: doing.into(),
            source,
            help,
        }
    }

    /// Say what was being done; the exit class stays the one of `self`.
    pub fn context(self, what: impl fmt::Display) -> Error {
        Error::Context {
            doing: what.to_string(),
            source: Box::new(self),
        }
    }
}

/// An error type of a layer above this module that knows its exit class: the class is
/// a property of the kind, stated once next to the type.
pub trait Classified: std::error::Error + Send + Sync + 'static {
    fn exit(&self) -> Exit;

    /// The errno behind it, if any: running out of descriptors gets its own help.
    fn errno(&self) -> Option<i32> {
        None
    }
}

impl<E: Classified> From<E> for Error {
    fn from(source: E) -> Error {
        let help = Help::for_errno(source.errno(), None);
        Error::Typed {
            error: Box::new(source),
            help,
        }
    }
}

/// The class of an error that is only an errno: out of descriptors is the environment's
/// limit (exit 3); anything else is the kernel refusing the lab (exit 4).
pub fn errno_class(errno: Option<i32>) -> Exit {
    match errno {
        Some(e) if is_exhausted(e) => Exit::Environment,
        _ => Exit::Kernel,
    }
}

/// Whether an errno says the process or the host ran out of descriptors.
pub fn is_exhausted(errno: i32) -> bool {
    errno == libc::EMFILE || errno == libc::ENFILE
}

/// The soft open-file limit, as the help quotes it.
fn open_file_limit() -> u64 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024)
}

/// A `= help:` line after an error, or nothing.
#[derive(Debug, Default)]
pub struct Help(Option<String>);

impl Help {
    /// The help for `errno`: how to raise the open-file limit when descriptors ran out,
    /// else `hint`.
    fn for_errno(errno: Option<i32>, hint: Option<String>) -> Help {
        match errno {
            Some(e) if is_exhausted(e) => Help(Some(format!(
                "out of open files (limit {}): raise the hard limit (`ulimit -Hn`)",
                open_file_limit()
            ))),
            _ => Help(hint),
        }
    }
}

impl fmt::Display for Help {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(h) => write!(f, "\n  = help: {h}"),
            None => Ok(()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An errno in words, e.g. "File exists (EEXIST)".
pub fn errno_words(errno: i32) -> String {
    let e = nix::errno::Errno::from_raw(errno);
    format!("{} ({e:?})", e.desc())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind of a layer above, as the kernel layer's errors are.
    #[derive(Debug)]
    struct Errno(i32);

    impl fmt::Display for Errno {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&errno_words(self.0))
        }
    }

    impl std::error::Error for Errno {}

    impl Classified for Errno {
        fn exit(&self) -> Exit {
            errno_class(Some(self.0))
        }

        fn errno(&self) -> Option<i32> {
            Some(self.0)
        }
    }

    #[test]
    fn the_exit_class_follows_the_kind_and_survives_context() {
        assert_eq!(Error::invalid("x").exit(), Exit::Invalid);
        assert_eq!(Error::fail("x").exit(), Exit::Fail);
        assert_eq!(
            Error::refused("add route", Errno(libc::EEXIST), None).exit(),
            Exit::Kernel
        );
        // Out of descriptors is the environment's limit, whatever was being done.
        let out = Error::refused("add route", Errno(libc::EMFILE), None);
        assert_eq!(out.exit(), Exit::Environment);
        assert!(
            out.to_string().contains("= help: out of open files"),
            "{out}"
        );
        let os = Error::os("unshare", io::Error::from_raw_os_error(libc::EPERM));
        assert_eq!(os.exit(), Exit::Kernel);
        let wrapped = Error::env("no tool").context("building the lab");
        assert_eq!(wrapped.exit(), Exit::Environment);
        assert_eq!(wrapped.to_string(), "building the lab: no tool");
        let typed = Error::from(Errno(libc::ENFILE)).context("probing");
        assert_eq!(typed.exit(), Exit::Environment);
    }

    #[test]
    fn a_refusal_reads_as_before_with_its_hint() {
        let e = Error::refused(
            "node `a`: add route",
            Errno(libc::ENETUNREACH),
            Some("the gateway is not on a subnet".into()),
        );
        assert_eq!(
            e.to_string(),
            "node `a`: add route: the kernel refused: Network is unreachable (ENETUNREACH)\n  = help: the gateway is not on a subnet"
        );
    }

    #[test]
    fn exit_classes_round_trip_through_their_codes() {
        for e in [
            Exit::Pass,
            Exit::Fail,
            Exit::Invalid,
            Exit::Environment,
            Exit::Kernel,
        ] {
            assert_eq!(Exit::from_code(e.code().into()), Some(e));
            let json = serde_json::to_string(&e).expect("serializes");
            assert_eq!(json, e.code().to_string());
            assert_eq!(serde_json::from_str::<Exit>(&json).expect("parses"), e);
        }
        assert_eq!(Exit::from_code(101), None);
        assert!(serde_json::from_str::<Exit>("7").is_err());
    }
}
