//! `import --from DIR`: the files `--collect` writes, or whatever a ticket attached.
//! A file is recognised by its name (`ip-route.txt`, `route-n.txt`, ...) and otherwise by
//! its content.

use std::path::Path;

use super::model::Host;
use super::{ParseError, json, text_addr, text_misc, text_route, wg_dump};
use crate::error::{Error, Result};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    IpAddr,
    IpLinkJson,
    IpAddrJson,
    IpRoute,
    IpRouteJson,
    IpRule,
    IpRule6,
    IpRuleJson,
    IpNeigh,
    IpNeighJson,
    RouteN,
    Brctl,
    BridgeFdb,
    Nft,
    NftJson,
    Sysctl,
    WgDump,
}

/// The format a file name announces (`ip-route.txt`, `route-n`, `nft-ruleset.json`, ...).
pub fn by_name(name: &str) -> Option<Format> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s, e),
        None => (name, ""),
    };
    let json = ext == "json";
    Some(match (stem, json) {
        ("ip-addr" | "ip-a" | "ip-address", false) => Format::IpAddr,
        ("ip-link", false) => Format::IpAddr,
        ("ip-addr" | "ip-a" | "ip-address", true) => Format::IpAddrJson,
        ("ip-link", true) => Format::IpLinkJson,
        ("ip-route" | "ip-route6" | "ip-r", false) => Format::IpRoute,
        ("ip-route" | "ip-route6" | "ip-r", true) => Format::IpRouteJson,
        ("ip-rule", false) => Format::IpRule,
        ("ip-rule6", false) => Format::IpRule6,
        ("ip-rule" | "ip-rule6", true) => Format::IpRuleJson,
        ("ip-neigh", false) => Format::IpNeigh,
        ("ip-neigh", true) => Format::IpNeighJson,
        ("route-n", false) => Format::RouteN,
        ("brctl-show", false) => Format::Brctl,
        ("bridge-fdb", false) => Format::BridgeFdb,
        ("nft-ruleset", false) => Format::Nft,
        ("nft-ruleset", true) => Format::NftJson,
        ("sysctl", false) => Format::Sysctl,
        ("wg-dump" | "wg-show", false) => Format::WgDump,
        _ => return None,
    })
}

/// The format a file's content shows, for files whose name does not say.
pub fn by_content(text: &str) -> Option<Format> {
    let t = text.trim_start();
    let first = t.lines().next().unwrap_or("").trim();
    if t.starts_with('[') || t.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(t).ok()?;
        if v.get("nftables").is_some() {
            return Some(Format::NftJson);
        }
        let item = v.as_array()?.first()?;
        let has = |k: &str| item.get(k).is_some();
        return Some(if has("addr_info") {
            Format::IpAddrJson
        } else if has("ifname") {
            Format::IpLinkJson
        } else if has("lladdr") || has("state") && has("dst") && !has("protocol") {
            Format::IpNeighJson
        } else if has("priority") && !has("dst") || has("src") && has("table") && !has("dev") {
            Format::IpRuleJson
        } else if has("dst") {
            Format::IpRouteJson
        } else {
            return None;
        });
    }
    if first.starts_with("Kernel IP") {
        return Some(Format::RouteN);
    }
    if first.starts_with("bridge name") {
        return Some(Format::Brctl);
    }
    if first.starts_with("table ") || first.starts_with("flush ruleset") {
        return Some(Format::Nft);
    }
    if wg_dump::looks_like(first) {
        return Some(Format::WgDump);
    }
    let w: Vec<&str> = first.split_whitespace().collect();
    if w.len() >= 3 && w[0].ends_with(':') && w[0][..w[0].len() - 1].parse::<u32>().is_ok() {
        if w[2].starts_with('<') {
            return Some(Format::IpAddr);
        }
        if matches!(w[1], "from" | "not") {
            return Some(if first.contains(':') && first.matches(':').count() > 1 {
                Format::IpRule6
            } else {
                Format::IpRule
            });
        }
    }
    if w.len() >= 3 && w[1] == "=" && w[0].contains('.') {
        return Some(Format::Sysctl);
    }
    let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    if !lines.is_empty()
        && lines.iter().all(|l| {
            l.split_whitespace()
                .last()
                .is_some_and(|s| s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        })
    {
        return Some(Format::IpNeigh);
    }
    if w.len() >= 2
        && (w[0] == "default"
            || w[0].parse::<ipnet::IpNet>().is_ok()
            || w[0].parse::<std::net::IpAddr>().is_ok()
            || w.contains(&"dev"))
    {
        if w.iter().any(|x| *x == "self" || *x == "master") && w[0].matches(':').count() == 5 {
            return Some(Format::BridgeFdb);
        }
        return Some(Format::IpRoute);
    }
    None
}

/// Parses one file's text in a known format.
pub fn parse(format: Format, text: &str) -> Result<Host, ParseError> {
    match format {
        Format::IpAddr => text_addr::parse(text),
        Format::IpRoute => text_route::parse_ip(text),
        Format::RouteN => text_route::parse_route_n(text),
        Format::IpRule => text_misc::parse_rule(text, false),
        Format::IpRule6 => text_misc::parse_rule(text, true),
        Format::IpNeigh => text_misc::parse_neigh(text),
        Format::Brctl => text_misc::parse_brctl(text),
        Format::BridgeFdb => text_misc::parse_fdb(text),
        Format::Sysctl => text_misc::parse_sysctl(text),
        Format::Nft => {
            if text.trim().is_empty() {
                return Ok(Host::default());
            }
            Ok(Host {
                nft: Some(text.to_string()),
                ..Host::default()
            })
        }
        Format::IpLinkJson | Format::IpAddrJson => json::links(text),
        Format::IpRouteJson => json::routes(text),
        Format::IpRuleJson => json::rules(text),
        Format::IpNeighJson => json::neighbours(text),
        Format::NftJson => json::nft(text),
        Format::WgDump => wg_dump::parse(text),
    }
}

/// Reads every file of a directory into one host. Text and JSON of the same command
/// agree, so both may be present; unknown files are an error (nothing is silently left
/// out).
pub fn load_dir(dir: &Path) -> Result<Host> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::invalid(format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        // Notes people keep beside the outputs (README.md, .hidden) are not outputs.
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.') && !n.ends_with(".md"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no files to import (run the script of `topolab import --collect` on the host)",
            dir.display()
        )));
    }
    // JSON first: it knows interface kinds that text only guesses.
    paths.sort_by_key(|p| p.extension().is_none_or(|e| e != "json"));
    let mut host = Host::default();
    for path in paths {
        host.merge(load_file(&path)?);
    }
    Ok(host)
}

/// Whether a line is the shell prompt and command a ticket pasted above the output:
/// `# ip route show`, `$ ip addr`, `host-pre:~# route -n`, `ssh host-01 route -n`.
fn is_prompt(line: &str) -> bool {
    let w: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = w.first() else { return false };
    // `[root@ecs3 ~]# ip addr` puts the prompt's end in the second word.
    let prompt = matches!(*first, "ssh" | "sudo")
        || w.iter()
            .take(2)
            .any(|x| x.ends_with('#') || x.ends_with('$'));
    prompt
        && w.iter().any(|x| {
            matches!(
                *x,
                "ip" | "route" | "brctl" | "bridge" | "sysctl" | "nft" | "wg"
            )
        })
}

pub fn load_file(path: &Path) -> Result<Host> {
    let mut text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    // A pasted prompt line is blanked, not removed, so line numbers stay the file's.
    if let Some(first) = text.lines().find(|l| !l.trim().is_empty())
        && is_prompt(first)
    {
        let at = text.find(first).unwrap_or(0);
        text.replace_range(at..at + first.len(), "");
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let format = by_name(name).or_else(|| by_content(&text)).ok_or_else(|| {
        Error::invalid(format!(
            "{}:1: not a recognised command output; name it after its command \
             (ip-addr.txt, ip-route.txt, ip-rule.txt, ip-neigh.txt, route-n.txt, brctl-show.txt, \
             nft-ruleset.txt, sysctl.txt, wg-dump.txt, or ip-*.json from `ip -j`)",
            path.display()
        ))
    })?;
    parse(format, &text)
        .map_err(|e| Error::invalid(format!("{}:{}: {}", path.display(), e.line, e.message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_recognition() {
        assert_eq!(
            by_content("default via 10.0.0.1 dev eth0\n"),
            Some(Format::IpRoute)
        );
        assert_eq!(
            by_content("Kernel IP routing table\nDestination Gateway\n"),
            Some(Format::RouteN)
        );
        assert_eq!(
            by_content("1: lo: <LOOPBACK,UP> mtu 65536\n"),
            Some(Format::IpAddr)
        );
        assert_eq!(
            by_content("0:\tfrom all lookup local\n"),
            Some(Format::IpRule)
        );
        assert_eq!(
            by_content("10.0.0.1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE\n"),
            Some(Format::IpNeigh)
        );
        assert_eq!(
            by_content("net.ipv4.ip_forward = 1\n"),
            Some(Format::Sysctl)
        );
        assert_eq!(by_content("table inet f {\n}\n"), Some(Format::Nft));
        assert_eq!(
            by_content("bridge name\tbridge id\tSTP enabled\tinterfaces\n"),
            Some(Format::Brctl)
        );
        assert_eq!(
            by_content(r#"[{"ifindex":1,"ifname":"lo","addr_info":[]}]"#),
            Some(Format::IpAddrJson)
        );
        assert_eq!(
            by_content(r#"[{"dst":"default","gateway":"10.0.0.1","dev":"eth0","flags":[]}]"#),
            Some(Format::IpRouteJson)
        );
        assert_eq!(by_content("hello world\n"), None);
        assert!(is_prompt("# ip route show"));
        assert!(is_prompt("host-pre:~# route -n "));
        assert!(is_prompt("ssh host-01 route -n"));
        assert!(is_prompt("[root@ecs3 ~]# ip addr"));
        assert!(!is_prompt("default via 10.0.0.1 dev eth0"));
        assert!(!is_prompt("table inet f {"));
    }
}
