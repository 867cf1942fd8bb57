//! Errors that end a command, each with the exit code DESIGN.md assigns to its class.

use std::fmt;
use std::process::ExitCode;

/// Exit codes: 0 pass, 1 a check or snapshot failed, 2 invalid lab or usage,
/// 3 environment (privileges, missing kernel feature or tool), 4 the kernel refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    Pass = 0,
    Fail = 1,
    Invalid = 2,
    Environment = 3,
    Kernel = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

#[derive(Debug)]
pub struct Error {
    pub exit: Exit,
    pub message: String,
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Error {
        Error {
            exit: Exit::Invalid,
            message: message.into(),
        }
    }

    pub fn env(message: impl Into<String>) -> Error {
        Error {
            exit: Exit::Environment,
            message: message.into(),
        }
    }

    pub fn kernel(message: impl Into<String>) -> Error {
        Error {
            exit: Exit::Kernel,
            message: message.into(),
        }
    }

    pub fn fail(message: impl Into<String>) -> Error {
        Error {
            exit: Exit::Fail,
            message: message.into(),
        }
    }

    /// Prefix the message with what was being done.
    pub fn context(mut self, what: impl fmt::Display) -> Error {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An errno in words, e.g. "File exists (EEXIST)".
pub fn errno_words(errno: i32) -> String {
    let e = nix::errno::Errno::from_raw(errno);
    format!("{} ({e:?})", e.desc())
}
