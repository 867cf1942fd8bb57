//! Parsers for the textual values of a lab file. Each returns what was wrong and, where
//! possible, how to write it instead.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;

use super::ctx::{Ctx, Help};
use crate::front::lab::Mac;
use crate::front::source::TomlPath;

/// A value that does not parse: what is wrong and how to write it. As an error (e.g.
/// for clap, on the command line), only the message shows.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Bad {
    pub message: String,
    pub help: Option<String>,
}

pub(super) fn bad(message: impl Into<String>, help: impl Into<String>) -> Bad {
    Bad {
        message: message.into(),
        help: Some(help.into()),
    }
}

impl Ctx<'_> {
    /// Parse `text` (written at `path`) with `f`; on failure record the error.
    pub fn value<T>(
        &mut self,
        path: &TomlPath,
        text: &str,
        f: impl FnOnce(&str) -> Result<T, Bad>,
    ) -> Option<T> {
        match f(text) {
            Ok(v) => Some(v),
            Err(b) => {
                let d = self.error(path, b.message);
                if let Some(h) = b.help {
                    d.help(h);
                }
                None
            }
        }
    }
}

/// An interface address: "10.0.0.1/24", "fd00::1/64". The host part may be anything the
/// kernel accepts, including the network address of the prefix.
pub fn interface_address(s: &str) -> Result<IpNet, Bad> {
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n);
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        let len = if a.is_ipv4() { 24 } else { 64 };
        return Err(bad(
            format!("address `{s}` has no prefix length"),
            format!(
                "write it with its prefix, e.g. \"{a}/{len}\" (or \"{a}/{}\" for a single host)",
                if a.is_ipv4() { 32 } else { 128 }
            ),
        ));
    }
    Err(malformed_prefix(s))
}

fn malformed_prefix(s: &str) -> Bad {
    if let Some((addr, len)) = s.split_once('/') {
        if let Ok(a) = addr.parse::<IpAddr>() {
            let max = if a.is_ipv4() { 32 } else { 128 };
            return bad(
                format!("prefix length `{len}` is not valid in `{s}`"),
                format!("use a number from 0 to {max}"),
            );
        }
        return bad(
            format!("`{addr}` is not an IP address (in `{s}`)"),
            "write an IPv4 address like 10.0.0.1/24 or an IPv6 one like fd00::1/64",
        );
    }
    bad(
        format!("`{s}` is not an IP address with prefix"),
        "write e.g. \"10.0.0.1/24\" or \"fd00::1/64\"",
    )
}

/// A route or selector destination: a prefix, a bare address (a host route) or "default".
/// The host bits must be zero, as `ip route` requires.
pub fn destination(s: &str, default_family: Option<bool>) -> Result<IpNet, Bad> {
    if s == "default" {
        return Ok(if default_family == Some(false) {
            "::/0".parse().expect("literal")
        } else {
            "0.0.0.0/0".parse().expect("literal")
        });
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        return Ok(IpNet::from(a));
    }
    let n: IpNet = s.parse().map_err(|_| malformed_prefix(s))?;
    if n.trunc() != n {
        return Err(bad(
            format!("`{s}` has host bits set"),
            format!("the network of this prefix is \"{}\"", n.trunc()),
        ));
    }
    Ok(n)
}

/// A selector prefix (rules, IPsec): like a destination, without "default".
pub fn prefix(s: &str) -> Result<IpNet, Bad> {
    destination(s, None)
}

pub fn address(s: &str) -> Result<IpAddr, Bad> {
    s.parse::<IpAddr>().map_err(|_| {
        if s.contains('/') {
            bad(
                format!("`{s}` is a prefix, an address is expected here"),
                format!(
                    "drop the prefix length: \"{}\"",
                    s.split('/').next().unwrap_or(s)
                ),
            )
        } else {
            bad(
                format!("`{s}` is not an IP address"),
                "write an IPv4 address like 10.0.0.1 or an IPv6 one like fd00::1",
            )
        }
    })
}

/// "10.0.0.1:80" or "[fd00::1]:80".
pub fn socket_address(s: &str) -> Result<SocketAddr, Bad> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(a) = s.parse::<IpAddr>() {
        return Err(if a.is_ipv4() {
            bad(
                format!("`{s}` has no port"),
                format!("write \"{a}:PORT\", e.g. \"{a}:80\""),
            )
        } else {
            bad(
                format!("`{s}` has no port"),
                format!("write \"[{a}]:PORT\", e.g. \"[{a}]:80\""),
            )
        });
    }
    if let Some((host, port)) = s.rsplit_once(':') {
        if host.parse::<IpAddr>().is_ok()
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok()
        {
            return Err(bad(
                format!("port `{port}` is not valid in `{s}`"),
                "ports are numbers from 1 to 65535",
            ));
        }
        if host.contains(':') && !host.starts_with('[') {
            return Err(bad(
                format!("`{s}` is ambiguous"),
                "write IPv6 addresses with a port as \"[fd00::1]:80\"",
            ));
        }
    }
    Err(bad(
        format!("`{s}` is not an address:port"),
        "write e.g. \"10.0.0.2:80\" or \"[fd00::2]:80\"",
    ))
}

/// "4s", "250ms", "1.5s", "2m", "100us".
pub fn duration(s: &str) -> Result<Duration, Bad> {
    let help = "write a number with a unit: \"500ms\", \"4s\", \"1.5s\", \"2m\"";
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| bad(format!("`{s}` is not a duration"), help))?;
    let secs = match unit.trim() {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" | "min" => n * 60.0,
        "" => return Err(bad(format!("`{s}` has no unit"), help)),
        u => return Err(bad(format!("unknown duration unit `{u}` in `{s}`"), help)),
    };
    if !secs.is_finite() || secs > 86_400.0 {
        return Err(bad(
            format!("`{s}` is out of range"),
            "durations are at most a day",
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// "5%", "0.1%": a percentage from 0 to 100.
pub fn percent(s: &str) -> Result<f64, Bad> {
    let help = "write a percentage like \"5%\" or \"0.5%\"";
    let num = s
        .trim()
        .strip_suffix('%')
        .ok_or_else(|| bad(format!("`{s}` is not a percentage"), help))?;
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| bad(format!("`{s}` is not a percentage"), help))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(bad(format!("`{s}` is not between 0% and 100%"), help));
    }
    Ok(v)
}

/// "1mbit", "500kbit", "10gbit", "64000bit", "1mbps" (bytes): bits per second.
pub fn rate(s: &str) -> Result<u64, Bad> {
    let help = "write a rate like \"1mbit\", \"500kbit\" or \"10mbps\" (bytes per second)";
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| bad(format!("`{s}` is not a rate"), help))?;
    let mult = match unit {
        "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        "bps" => 8.0,
        "kbps" => 8e3,
        "mbps" => 8e6,
        "gbps" => 8e9,
        _ => return Err(bad(format!("`{s}` is not a rate"), help)),
    };
    let v = n * mult;
    if !(1.0..1e13).contains(&v) {
        return Err(bad(format!("`{s}` is out of range"), help));
    }
    Ok(v as u64)
}

/// A MAC address as six hex bytes; all zeros is valid (the flood entry of an fdb).
pub fn mac(s: &str) -> Result<Mac, Bad> {
    // Mac::from_str goes through from_str_radix, which would also take "+2".
    let hex = s.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
    match s.parse::<Mac>() {
        Ok(m) if hex => Ok(m),
        _ => Err(bad(
            format!("`{s}` is not a MAC address"),
            "write six hex bytes: \"02:00:00:00:00:01\"",
        )),
    }
}

/// The MAC address of an interface: the kernel refuses multicast and all-zero ones.
pub fn unicast_mac(s: &str) -> Result<Mac, Bad> {
    let m = mac(s)?;
    if m.0[0] & 1 == 1 {
        return Err(bad(
            format!("`{s}` is a multicast MAC address"),
            "an interface needs a unicast MAC: the lowest bit of the first byte must be 0, e.g. \"02:00:00:00:00:01\"",
        ));
    }
    if m.0 == [0; 6] {
        return Err(bad(
            format!("`{s}` is the all-zero MAC address"),
            "an interface needs a real MAC, e.g. \"02:00:00:00:00:01\"",
        ));
    }
    Ok(m)
}

/// Node, switch and service names: they appear in commands, reports and generated names.
pub fn object_name(what: &str, s: &str) -> Result<(), Bad> {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        return Ok(());
    }
    let rule = "use lowercase letters, digits, `-` and `_`, starting with a letter or digit, at most 32 characters";
    Err(match suggest_name(s, &['-', '_']) {
        Some(fixed) => bad(
            format!("{what} name `{s}` is not valid"),
            format!("{rule}, e.g. \"{fixed}\""),
        ),
        None => bad(format!("{what} name `{s}` is not valid"), rule),
    })
}

/// Lab names: lowercase letters, digits and `-`, at most 32 characters.
pub fn lab_name(s: &str) -> Result<(), Bad> {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        return Ok(());
    }
    let rule = "use lowercase letters, digits and `-`, at most 32 characters";
    Err(match suggest_name(s, &['-']) {
        Some(fixed) => bad(
            format!("lab name `{s}` is not valid"),
            format!("{rule}, e.g. \"{fixed}\""),
        ),
        None => bad(format!("lab name `{s}` is not valid"), rule),
    })
}

/// The closest valid spelling of a name: lowercase, other characters replaced by `-`.
fn suggest_name(s: &str, keep: &[char]) -> Option<String> {
    let mapped: String = s
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || keep.contains(&c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let fixed: String = mapped
        .trim_matches(|c| c == '-' || c == '_')
        .chars()
        .take(32)
        .collect();
    let fixed = fixed.trim_end_matches(['-', '_']).to_string();
    (!fixed.is_empty()).then_some(fixed)
}

/// Linux interface names: at most 15 bytes, no `/`, `:` or whitespace.
pub fn interface_name(s: &str) -> Result<(), Bad> {
    if s.is_empty() {
        return Err(bad("interface name is empty", "name it, e.g. \"eth0\""));
    }
    if s.len() > 15 {
        // 15 bytes, not 15 characters: a shortened name must itself be valid.
        let mut short = String::new();
        for c in s.chars() {
            if short.len() + c.len_utf8() > 15 {
                break;
            }
            short.push(c);
        }
        return Err(bad(
            format!(
                "interface name `{s}` is {} bytes long; Linux allows 15",
                s.len()
            ),
            format!("shorten it, e.g. \"{short}\""),
        ));
    }
    if s == "." || s == ".." || s.contains(['/', ':']) || s.chars().any(char::is_whitespace) {
        return Err(bad(
            format!("`{s}` is not a valid interface name"),
            "interface names may not contain `/`, `:` or spaces",
        ));
    }
    Ok(())
}

/// "5.14" or "6.1.0" -> (5, 14).
pub fn kernel_version(s: &str) -> Result<(u32, u32), Bad> {
    let mut it = s.split(['.', '-']);
    let major = it.next().and_then(|m| m.parse().ok());
    let minor = it.next().and_then(|m| m.parse().ok());
    match (major, minor) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(bad(
            format!("`{s}` is not a kernel version"),
            "write MAJOR.MINOR, e.g. \"5.14\"",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_accept_what_linux_accepts() {
        assert!(interface_address("240.0.0.1/4").is_ok());
        assert!(interface_address("0.0.0.5/8").is_ok());
        assert!(interface_address("10.0.0.0/24").is_ok());
        assert!(interface_address("fd00::1/64").is_ok());
        assert_eq!(
            interface_address("10.0.0.1").err().map(|b| b.message),
            Some("address `10.0.0.1` has no prefix length".into())
        );
        assert!(
            interface_address("10.0.0.1/33")
                .err()
                .unwrap()
                .message
                .contains("prefix length `33`")
        );
        assert!(
            interface_address("10.0.0.256/24")
                .err()
                .unwrap()
                .message
                .contains("not an IP address")
        );
    }

    #[test]
    fn destinations() {
        assert_eq!(
            destination("default", None).ok().map(|n| n.to_string()),
            Some("0.0.0.0/0".into())
        );
        assert_eq!(
            destination("10.0.0.1", None).ok().map(|n| n.to_string()),
            Some("10.0.0.1/32".into())
        );
        assert!(
            destination("10.0.0.1/24", None)
                .err()
                .unwrap()
                .help
                .unwrap()
                .contains("10.0.0.0/24")
        );
    }

    #[test]
    fn durations_rates_percentages() {
        assert_eq!(duration("250ms").ok(), Some(Duration::from_millis(250)));
        assert_eq!(duration("1.5s").ok(), Some(Duration::from_millis(1500)));
        assert!(duration("5").is_err());
        assert!(duration("5h").is_err());
        assert_eq!(rate("1mbit").ok(), Some(1_000_000));
        assert_eq!(rate("1mbps").ok(), Some(8_000_000));
        assert!(rate("fast").is_err());
        assert_eq!(percent("5%").ok(), Some(5.0));
        assert!(percent("150%").is_err());
        assert!(percent("5").is_err());
    }

    #[test]
    fn names() {
        assert!(interface_name("eth0").is_ok());
        assert!(interface_name("a-very-long-name0").is_err());
        assert!(interface_name("eth:0").is_err());
        assert!(object_name("node", "router-1").is_ok());
        assert!(object_name("node", "Router").is_err());
        assert!(lab_name("docker-rds-overlap").is_ok());
        assert!(
            lab_name("Docker_RDS")
                .err()
                .unwrap()
                .help
                .unwrap()
                .contains("docker-rds")
        );
    }

    #[test]
    fn odd_numbers_are_refused_not_panicked_on() {
        for d in [
            "-1s",
            "nan",
            "inf s",
            "1e3s",
            ".s",
            "1.5.2s",
            "99999999999999999999m",
            "",
        ] {
            assert!(duration(d).is_err(), "{d}");
        }
        assert_eq!(duration("0s").ok(), Some(Duration::ZERO));
        for p in ["nan%", "inf%", "-1%", "%", "5 %%"] {
            assert!(percent(p).is_err(), "{p}");
        }
        for r in ["0bit", "nanmbit", "1e20gbit", "mbit", "0.1bit"] {
            assert!(rate(r).is_err(), "{r}");
        }
        assert_eq!(rate("1.5KBIT").ok(), Some(1500));
    }

    #[test]
    fn macs_and_kernel_versions() {
        assert!(mac("02:00:00:00:00:01").is_ok());
        assert!(mac("00:00:00:00:00:00").is_ok());
        assert!(mac("+2:00:00:00:00:01").is_err());
        assert!(mac("02:00:00:00:00:001").is_err());
        assert!(unicast_mac("00:00:00:00:00:00").is_err());
        assert!(unicast_mac("03:00:00:00:00:01").is_err());
        assert_eq!(kernel_version("6.1.0-13-amd64").ok(), Some((6, 1)));
        assert!(kernel_version("6").is_err());
    }

    #[test]
    fn socket_addresses() {
        assert!(socket_address("10.0.0.1:80").is_ok());
        assert!(socket_address("[fd00::1]:80").is_ok());
        assert!(
            socket_address("10.0.0.1")
                .err()
                .unwrap()
                .message
                .contains("no port")
        );
        assert!(
            socket_address("10.0.0.1:99999")
                .err()
                .unwrap()
                .message
                .contains("port")
        );
    }

    #[test]
    fn a_shortened_interface_name_fits_in_15_bytes() {
        let e = interface_name("vethé12345678901").expect_err("17 bytes");
        let help = e.help.unwrap_or_default();
        assert_eq!(help, "shorten it, e.g. \"vethé123456789\"");
        assert_eq!("vethé123456789".len(), 15);
    }
}
