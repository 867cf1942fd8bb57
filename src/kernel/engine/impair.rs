//! Impairments on the egress of an interface: netem (delay, jitter, loss, duplicate,
//! reorder, corrupt, and a rate alongside them) or tbf (a bare rate), with `tc` inside the
//! namespace (rtnetlink does not build qdisc options).
//!
//! One root qdisc per interface: impairing again replaces it, clearing deletes it.

use std::time::Duration;

use super::command::{self, Output};
use super::netns::Netns;
use crate::front::lab::Impairment;

const TC_TIMEOUT: Duration = Duration::from_secs(10);
/// netem's default queue of 1000 packets drops on its own under a long delay; a lab
/// asking for delay alone must not also get loss.
const NETEM_LIMIT: u32 = 100_000;

fn us(d: Duration) -> String {
    format!("{}us", d.as_micros())
}

fn pct(v: f64) -> String {
    format!("{v}%")
}

/// Bucket of a tbf: 10 ms worth of the rate, at least 16 KiB so that one full-size
/// (or jumbo) frame always fits.
fn burst(rate_bits: u64) -> u64 {
    (rate_bits / 8 / 100).max(16 * 1024)
}

/// `tc` arguments that put the impairment on the root of `dev`.
pub fn tc_args(dev: &str, imp: &Impairment) -> Vec<String> {
    let mut a: Vec<String> = ["qdisc", "replace", "dev", dev, "root"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if imp.needs_netem() {
        a.push("netem".into());
        a.extend(["limit".into(), NETEM_LIMIT.to_string()]);
        if let Some(d) = imp.delay {
            a.extend(["delay".into(), us(d)]);
            if let Some(j) = imp.jitter {
                a.push(us(j));
            }
        }
        for (name, v) in [
            ("loss", imp.loss),
            ("duplicate", imp.duplicate),
            ("reorder", imp.reorder),
            ("corrupt", imp.corrupt),
        ] {
            if let Some(v) = v {
                a.extend([name.into(), pct(v)]);
            }
        }
        if let Some(r) = imp.rate {
            a.extend(["rate".into(), format!("{r}bit")]);
        }
    } else if let Some(r) = imp.rate {
        a.extend([
            "tbf".into(),
            "rate".into(),
            format!("{r}bit"),
            "burst".into(),
            burst(r).to_string(),
            "latency".into(),
            "200ms".into(),
        ]);
    }
    a
}

/// Why an impairment could not be applied.
#[derive(Debug)]
pub enum ImpairError {
    /// `tc` is not installed.
    NoTc,
    /// The kernel lacks the qdisc; names the kernel option.
    Missing(&'static str),
    /// `tc` failed otherwise; its output.
    Refused(String),
    Io(std::io::Error),
}

impl std::fmt::Display for ImpairError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImpairError::NoTc => f.write_str("`tc` (iproute2) is not installed"),
            ImpairError::Missing(what) => write!(f, "this kernel cannot do it: needs {what}"),
            ImpairError::Refused(out) => write!(f, "tc failed: {out}"),
            ImpairError::Io(e) => write!(f, "cannot run tc: {e}"),
        }
    }
}

impl std::error::Error for ImpairError {}

async fn tc(ns: &Netns, args: &[String]) -> Result<Output, ImpairError> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    command::run_program(ns, "tc", &args, None, TC_TIMEOUT)
        .await
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ImpairError::NoTc
            } else {
                ImpairError::Io(e)
            }
        })
}

/// Put `imp` on the egress of `dev` in `ns`, replacing any impairment it had.
pub async fn set(ns: &Netns, dev: &str, imp: &Impairment) -> Result<(), ImpairError> {
    let out = tc(ns, &tc_args(dev, imp)).await?;
    if out.success() {
        return Ok(());
    }
    let text = out.text();
    if text.contains("qdisc kind is unknown") {
        return Err(ImpairError::Missing(if imp.needs_netem() {
            "CONFIG_NET_SCH_NETEM (netem)"
        } else {
            "CONFIG_NET_SCH_TBF (tbf)"
        }));
    }
    Err(ImpairError::Refused(text))
}

/// Remove every impairment of `dev` (its root qdisc); nothing to remove is not an error.
pub async fn clear(ns: &Netns, dev: &str) -> Result<(), ImpairError> {
    let args: Vec<String> = ["qdisc", "del", "dev", dev, "root"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = tc(ns, &args).await?;
    let text = out.text();
    // The kernel's answer when only the default qdisc is there.
    if out.success() || text.contains("handle of zero") || text.contains("No such file") {
        Ok(())
    } else {
        Err(ImpairError::Refused(text))
    }
}

impl crate::error::Classified for ImpairError {
    fn exit(&self) -> crate::error::Exit {
        match self {
            ImpairError::NoTc | ImpairError::Missing(_) => crate::error::Exit::Environment,
            _ => crate::error::Exit::Kernel,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netem_gets_every_parameter() {
        let imp = Impairment {
            delay: Some(Duration::from_millis(20)),
            jitter: Some(Duration::from_millis(5)),
            loss: Some(5.0),
            duplicate: Some(1.0),
            reorder: Some(25.0),
            corrupt: Some(0.1),
            rate: Some(1_000_000),
        };
        assert_eq!(
            tc_args("eth0", &imp).join(" "),
            "qdisc replace dev eth0 root netem limit 100000 delay 20000us 5000us loss 5% duplicate 1% reorder 25% corrupt 0.1% rate 1000000bit"
        );
    }

    #[test]
    fn a_bare_rate_uses_tbf() {
        let imp = Impairment {
            rate: Some(10_000_000),
            ..Default::default()
        };
        assert_eq!(
            tc_args("eth1", &imp).join(" "),
            "qdisc replace dev eth1 root tbf rate 10000000bit burst 16384 latency 200ms"
        );
        let fast = Impairment {
            rate: Some(1_000_000_000),
            ..Default::default()
        };
        assert!(tc_args("e", &fast).join(" ").contains("burst 1250000 "));
    }
}
