//! What this kernel can do, against what a lab needs: before a lab is built, every feature
//! in `lab.requires` (explicit, or implied by its content) is probed once in a throwaway
//! namespace (once per process); a missing one turns the lab into a skip that names the kernel
//! option to enable.
//!
//! `missing(&lab)` gives the structured list (for the test runner's skips); `check(&lab)`
//! turns it into the environment error `up` exits with (code 3).

mod cache;
mod probe;

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Result};
use crate::front::lab::Lab;

/// A feature the kernel lacks, or a kernel too old.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Feature name as labs write it ("ipip"), or "kernel" for `requires.kernel`.
    pub feature: String,
    /// What would provide it: a kernel option ("CONFIG_NET_IPIP"), a newer kernel, a tool.
    pub needs: String,
    /// What the probe saw, e.g. "Operation not supported (EOPNOTSUPP)".
    pub detail: String,
}

impl fmt::Display for Missing {
    /// "needs CONFIG_NET_IPIP (ipip)": the reason a skipped lab reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "needs {} ({})", self.needs, self.feature)
    }
}

/// The kernel option behind each feature topolab can probe.
pub fn kernel_option(feature: &str) -> Option<&'static str> {
    Some(match feature {
        "veth" => "CONFIG_VETH",
        "bridge" => "CONFIG_BRIDGE",
        "vxlan" => "CONFIG_VXLAN",
        "macvlan" => "CONFIG_MACVLAN",
        "dummy" => "CONFIG_DUMMY",
        "ipip" => "CONFIG_NET_IPIP",
        "gre" | "gretap" => "CONFIG_NET_IPGRE",
        "wireguard" => "CONFIG_WIREGUARD",
        "vlan" => "CONFIG_VLAN_8021Q",
        "vrf" => "CONFIG_NET_VRF",
        "nftables" => "CONFIG_NF_TABLES and CONFIG_NF_TABLES_INET",
        "netem" => "CONFIG_NET_SCH_NETEM",
        "tbf" => "CONFIG_NET_SCH_TBF",
        "xfrm" => "CONFIG_XFRM_USER, CONFIG_INET_ESP and CONFIG_CRYPTO_GCM",
        "policy-routing" => "CONFIG_IP_MULTIPLE_TABLES",
        _ => return None,
    })
}

/// The running kernel: its release and (major, minor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    pub release: String,
    pub version: Option<(u32, u32)>,
}

impl Kernel {
    pub fn running() -> Kernel {
        let release = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        let version = parse_version(&release);
        Kernel { release, version }
    }
}

/// "6.1.0-13-amd64" -> (6, 1).
pub fn parse_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((major, minor))
}

/// Probe results: Ok when present, why not when absent.
pub type Support = BTreeMap<String, std::result::Result<(), probe::Unsupported>>;

/// Whether the running kernel has `features`: probed at most once per process and
/// feature.
pub fn support(features: &[&str]) -> Result<Support> {
    cache::lookup_or_probe(features)
        .map_err(|e| Error::env(format!("cannot probe the kernel's features: {e}")))
}

/// Everything `lab` needs that this kernel lacks; empty when the lab can run here.
pub fn missing(lab: &Lab) -> Result<Vec<Missing>> {
    let mut out = Vec::new();
    if let Some((maj, min)) = lab.requires.kernel {
        let k = Kernel::running();
        match k.version {
            Some(v) if v >= (maj, min) => {}
            _ => out.push(Missing {
                feature: "kernel".into(),
                needs: format!("kernel {maj}.{min} or newer"),
                detail: format!("this kernel is {}", k.release),
            }),
        }
    }
    let wanted: Vec<&str> = lab.requires.features.iter().map(String::as_str).collect();
    let support = support(&wanted)?;
    for f in wanted {
        if let Some(Err(why)) = support.get(f) {
            out.push(Missing {
                feature: f.to_string(),
                needs: probe::needs(f, why),
                detail: why.to_string(),
            });
        }
    }
    Ok(out)
}

/// `missing` as an error: the environment error (exit 3) that refuses to build the lab.
pub fn check(lab: &Lab) -> Result<()> {
    let missing = missing(lab)?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "lab `{}` cannot run on this kernel ({}):",
        lab.name,
        Kernel::running().release
    );
    for m in &missing {
        msg.push_str(&format!("\n  {m}: {}", m.detail));
    }
    // Not `vm-run`: a lab kept up (`up`) cannot live in a throwaway VM.
    msg.push_str(&format!(
        "\n  = help: run topolab on a machine (or a VM you keep) whose kernel has them; to run the lab's checks once, `topolab test --vm-fallback {}` boots one for the run",
        lab.path.display()
    ));
    Err(Error::env(msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_feature_has_a_kernel_option() {
        for f in crate::front::validate::features::KNOWN {
            assert!(kernel_option(f).is_some(), "{f}");
        }
    }

    #[test]
    fn versions_parse_from_releases() {
        assert_eq!(parse_version("6.1.0-56-amd64"), Some((6, 1)));
        assert_eq!(parse_version("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(parse_version("5.4.0"), Some((5, 4)));
        assert_eq!(parse_version("6.10rc1"), Some((6, 10)));
        assert_eq!(parse_version("x"), None);
    }

    #[test]
    fn a_missing_feature_reads_as_the_kernel_option() {
        let m = Missing {
            feature: "ipip".into(),
            needs: "CONFIG_NET_IPIP".into(),
            detail: "Operation not supported (EOPNOTSUPP)".into(),
        };
        assert_eq!(m.to_string(), "needs CONFIG_NET_IPIP (ipip)");
    }
}
