//! The outcome of a probe, as reports name it (`ok`, `timeout`, `ttl-exceeded`, …).

use std::fmt;
use std::str::FromStr;

/// The normative outcome vocabulary: what a probe observed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Ok,
    Timeout,
    Refused,
    NoRoute,
    NetUnreachable,
    HostUnreachable,
    PortUnreachable,
    AdminProhibited,
    TtlExceeded,
    FragNeeded,
    /// A trace whose path revisits the same routers until its TTL runs out.
    Loop,
}

impl Outcome {
    pub const ALL: [Outcome; 11] = [
        Outcome::Ok,
        Outcome::Timeout,
        Outcome::Refused,
        Outcome::NoRoute,
        Outcome::NetUnreachable,
        Outcome::HostUnreachable,
        Outcome::PortUnreachable,
        Outcome::AdminProhibited,
        Outcome::TtlExceeded,
        Outcome::FragNeeded,
        Outcome::Loop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Timeout => "timeout",
            Outcome::Refused => "refused",
            Outcome::NoRoute => "no-route",
            Outcome::NetUnreachable => "net-unreachable",
            Outcome::HostUnreachable => "host-unreachable",
            Outcome::PortUnreachable => "port-unreachable",
            Outcome::AdminProhibited => "admin-prohibited",
            Outcome::TtlExceeded => "ttl-exceeded",
            Outcome::FragNeeded => "frag-needed",
            Outcome::Loop => "loop",
        }
    }

    /// Negative outcomes must hold for the whole deadline; positive ones are polled.
    pub fn is_ok(self) -> bool {
        self == Outcome::Ok
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = ();
    fn from_str(s: &str) -> Result<Outcome, ()> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s).ok_or(())
    }
}
