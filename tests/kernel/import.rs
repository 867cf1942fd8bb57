//! `topolab import` on the real kernel: every bundled lab comes back from `import --live`
//! run inside its nodes; `--live` leaves the namespace it reads unchanged; a lab made by
//! `--lab` from two hosts' ticket text builds and reproduces the docker0 capture.

use std::collections::BTreeSet;
use std::path::Path;

use topolab::front::spec::{LabFile, Node, SysctlValue};

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, token, topolab};
use crate::support::{bin, text};

/// Normalised view of a node: what must survive the round trip, one line per fact.
#[derive(Debug, Default, PartialEq)]
struct View {
    interfaces: BTreeSet<String>,
    addresses: BTreeSet<String>,
    routes: BTreeSet<String>,
    rules: BTreeSet<String>,
    sysctls: BTreeSet<String>,
    /// Static neighbours and fdb entries.
    entries: BTreeSet<String>,
}

fn net(s: &str) -> String {
    if s == "default" {
        return s.into();
    }
    match s.parse::<ipnet::IpNet>() {
        Ok(n) if n.prefix_len() == 0 => "default".into(),
        Ok(n) => n.trunc().to_string(),
        Err(_) => match s.parse::<std::net::IpAddr>() {
            Ok(a) => ipnet::IpNet::from(a).to_string(),
            Err(_) => s.into(),
        },
    }
}

/// Sysctl keys the import carries (the others are documented as not imported).
fn carried(key: &str) -> bool {
    topolab::import::to_lab::SYSCTL_DEFAULTS
        .iter()
        .any(|(k, _)| *k == key)
        || [
            "rp_filter",
            "accept_local",
            "proxy_arp",
            "forwarding",
            "arp_ignore",
            "arp_announce",
        ]
        .iter()
        .any(|k| key.starts_with("net.ipv4.conf.") && key.ends_with(&format!(".{k}")))
}

fn view(lab: &LabFile, name: &str, node: &Node) -> View {
    let mut v = View::default();
    for (ifname, i) in &node.interfaces {
        let kind = i
            .kind
            .map(|k| k.to_string())
            .unwrap_or_else(|| "link".into());
        v.interfaces.insert(format!("{ifname} {kind}"));
        // The parameters of created interfaces (4789 and learning on are the defaults).
        if i.kind.is_some() {
            v.interfaces.insert(format!(
                "{ifname} vni {:?} dstport {:?} learning {:?} local {:?} remote {:?} group {:?} parent {:?} mtu {:?}",
                i.vni,
                i.dstport.filter(|p| *p != 4789),
                i.learning.filter(|l| !l),
                i.local,
                i.remote,
                i.group,
                i.parent,
                i.mtu,
            ));
        }
        if let Some(m) = &i.master {
            v.interfaces.insert(format!("{ifname} master {m}"));
        }
        for a in &i.addresses {
            v.addresses.insert(format!("{ifname} {a}"));
        }
    }
    // Link ends of the written lab (the import writes them as interfaces + links).
    for l in &lab.links {
        let mut addrs = l.addresses.iter();
        for e in &l.endpoints {
            if let Some((n, ifname)) = e.split_once(':') {
                let a = addrs.next();
                if n == name {
                    v.interfaces.insert(format!("{ifname} link"));
                    if let Some(a) = a {
                        v.addresses.insert(format!("{ifname} {a}"));
                    }
                }
            }
        }
    }
    for r in &node.routes {
        let kind = r
            .kind
            .map(|k| k.as_str().to_string())
            .unwrap_or_else(|| "unicast".into());
        v.routes.insert(format!(
            "{kind} {} via {} table {} metric {}",
            net(&r.to),
            r.via.as_deref().unwrap_or("-"),
            r.table.unwrap_or(254),
            r.metric
                .map(|m| m.to_string())
                .unwrap_or_else(|| "-".into()),
        ));
    }
    for r in &node.rules {
        v.rules.insert(format!(
            "from {} to {} iif {} oif {} fwmark {:?} action {:?} table {:?}",
            r.from.as_deref().map(net).unwrap_or_default(),
            r.to.as_deref().map(net).unwrap_or_default(),
            r.iif.as_deref().unwrap_or("-"),
            r.oif.as_deref().unwrap_or("-"),
            r.fwmark,
            r.action,
            r.table,
        ));
    }
    if node.nft.is_some() {
        // nft prints a ruleset in its own normal form: its presence is compared.
        v.entries.insert("nft ruleset".into());
    }
    for n in &node.neighbours {
        v.entries
            .insert(format!("neighbour {} {} {}", n.dev, n.address, n.mac));
    }
    for f in &node.fdb {
        v.entries
            .insert(format!("fdb {} {} {:?}", f.dev, f.mac, f.dst));
    }
    if node.forward == Some(true) {
        v.sysctls.insert("forward".into());
    }
    for (k, val) in &node.sysctl {
        // Values equal to the kernel's default are left out by the import.
        let default = topolab::import::to_lab::SYSCTL_DEFAULTS
            .iter()
            .find(|(d, _)| d == k)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| "0".into());
        if carried(k) && val.to_string() != default {
            let val = match val {
                SysctlValue::Bool(b) => u8::from(*b).to_string(),
                other => other.to_string(),
            };
            v.sysctls.insert(format!("{k}={val}"));
        }
    }
    v
}

fn missing_feature(out: &std::process::Output) -> bool {
    out.status.code() == Some(3)
}

fn diff(what: &str, written: &BTreeSet<String>, imported: &BTreeSet<String>) -> String {
    let mut s = String::new();
    for x in written.difference(imported) {
        s.push_str(&format!("  {what} written but not imported: {x}\n"));
    }
    for x in imported.difference(written) {
        s.push_str(&format!("  {what} imported but not written: {x}\n"));
    }
    s
}

/// Nodes whose setup commands or services change what the lab file says: the import
/// shows the namespace as those left it, so only what they cannot touch is compared.
fn changed_by_commands(node: &Node) -> bool {
    !node.exec.is_empty() || !node.services.is_empty()
}

#[test]
fn every_bundled_lab_round_trips_through_import_live() {
    require_root!();
    let _host = HostGuard::new();
    let dir = TempDir::new("import-rt");
    let runtime = dir.0.join("run");
    let token = token();
    let mut failures = String::new();
    let mut compared = 0;
    for path in crate::support::lab_files() {
        let written: LabFile = toml::from_str(&std::fs::read_to_string(&path).expect("read lab"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let up = topolab(&["up", path.to_str().expect("utf-8")], &runtime, &token);
        if missing_feature(&up) {
            // VM-only labs (wireguard, ipip, ESP, ...): this kernel cannot build them.
            println!("skipped {}: {}", path.display(), text(&up).trim());
            continue;
        }
        assert!(up.status.success(), "up {}: {}", path.display(), text(&up));
        let instance = text(&up)
            .split_whitespace()
            .skip_while(|w| *w != "as")
            .nth(1)
            .expect("up names the instance")
            .to_string();
        for (name, node) in &written.nodes {
            let out = topolab(
                &[
                    "exec",
                    &instance,
                    name,
                    "--",
                    bin().to_str().expect("utf-8"),
                    "import",
                    "--live",
                    "--name",
                    name,
                ],
                &runtime,
                &token,
            );
            if !out.status.success() {
                failures.push_str(&format!(
                    "{}: {name}: import failed: {}\n",
                    path.display(),
                    text(&out)
                ));
                continue;
            }
            let stdout = String::from_utf8_lossy(&out.stdout);
            let imported: LabFile = match toml::from_str(&stdout) {
                Ok(l) => l,
                Err(e) => {
                    failures.push_str(&format!(
                        "{}: {name}: import printed invalid TOML: {e}\n{stdout}\n",
                        path.display()
                    ));
                    continue;
                }
            };
            let key = topolab::import::to_lab::node_name(name);
            let Some(inode) = imported.nodes.get(&key) else {
                failures.push_str(&format!(
                    "{}: {name}: no node in the import\n",
                    path.display()
                ));
                continue;
            };
            let a = view(&written, name, node);
            let b = view(&imported, &key, inode);
            let mut d = diff("interface", &a.interfaces, &b.interfaces)
                + &diff("address", &a.addresses, &b.addresses)
                + &diff("rule", &a.rules, &b.rules)
                + &diff("sysctl", &a.sysctls, &b.sysctls)
                + &diff("static entry", &a.entries, &b.entries);
            if !changed_by_commands(node) {
                d += &diff("route", &a.routes, &b.routes);
            }
            if !d.is_empty() {
                failures.push_str(&format!("{} node {name}:\n{d}", path.display()));
            }
            compared += 1;
        }
        let down = topolab(&["down", &instance], &runtime, &token);
        assert!(down.status.success(), "down {instance}: {}", text(&down));
    }
    assert_no_processes(&token);
    println!("compared {compared} nodes");
    assert!(compared > 20, "too few nodes compared ({compared})");
    assert!(
        failures.is_empty(),
        "import --live differs from the labs as written:\n{failures}"
    );
}

/// `import --live` in the host namespace (the one place it may run there in tests: it only
/// reads) leaves the host exactly as it was, and prints a lab that parses.
#[test]
fn import_live_on_the_host_changes_nothing() {
    require_root!();
    let _host = HostGuard::new();
    let out = std::process::Command::new(bin())
        .args(["import", "--live", "--name", "host"])
        .output()
        .expect("run topolab");
    assert!(out.status.success(), "{}", text(&out));
    let lab: LabFile = toml::from_str(&String::from_utf8_lossy(&out.stdout)).expect("valid TOML");
    assert!(lab.nodes.contains_key("host"));
}

fn write_dir(root: &Path, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let d = root.join(name);
    std::fs::create_dir_all(&d).expect("mkdir");
    for (f, t) in files {
        std::fs::write(d.join(f), t).expect("write");
    }
    d
}

fn outcomes(report: &str) -> Vec<(String, String, bool)> {
    let v: serde_json::Value = serde_json::from_str(report).expect("json report");
    v["labs"][0]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_string(),
                c["observed"]["outcome"].as_str().unwrap_or("").to_string(),
                c["passed"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// The docker0 capture of seeds/000, as docs/import.md walks through it: two hosts'
/// ticket text -> `import --lab` -> a lab that builds; the hand-added check sees ECS1's
/// ping to ECS3 die (the reply leaves on docker0); `diff` with the fix as a patch shows
/// the flow answer.
#[test]
fn lab_from_two_hosts_text_reproduces_the_docker0_capture() {
    require_root!();
    let _host = HostGuard::new();
    let dir = TempDir::new("import-lab");
    let token = token();
    let example = crate::support::repo_path("docs/import-example");
    let out = std::process::Command::new(bin())
        .args(["import", "--lab", "--name", "docker0-capture", "--from"])
        .arg(example.join("ecs1"))
        .arg("--from")
        .arg(example.join("ecs3"))
        .output()
        .expect("run topolab");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        out.stderr.is_empty(),
        "the import does not validate cleanly:\n{}",
        text(&out)
    );
    let imported = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(imported.contains("[nodes.gw]"), "{imported}");
    let checks = std::fs::read_to_string(example.join("checks.toml")).expect("checks.toml");

    let lab = dir.write("docker0-capture.toml", &(imported + "\n" + &checks));
    let lab = lab.to_str().expect("utf-8");
    let run = |args: &[&str]| topolab(args, &dir.0.join("run"), &token);
    let check = run(&["check", "--deny-warnings", lab]);
    assert!(check.status.success(), "{}", text(&check));
    let test = run(&["test", "--format", "json", lab]);
    let got = outcomes(&String::from_utf8_lossy(&test.stdout));
    assert_eq!(
        got,
        vec![
            ("ecs1 pings ecs3".into(), "timeout".into(), true),
            ("ecs3 routes ecs1 onto docker0".into(), "ok".into(), true),
            ("the made-up gateway reaches ecs3".into(), "ok".into(), true),
        ],
        "{}",
        text(&test)
    );

    // The fix as a patch: the same flow answers.
    let patch = example.join("bip.patch.toml");
    let diff = run(&["diff", "--no-matrix", lab, patch.to_str().expect("utf-8")]);
    assert_eq!(diff.status.code(), Some(1), "{}", text(&diff));
    let line = text(&diff)
        .lines()
        .find(|l| l.starts_with("check \"ecs1 pings ecs3\""))
        .map(String::from)
        .unwrap_or_else(|| panic!("no changed flow for the ping:\n{}", text(&diff)));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[words.len() - 2..], ["timeout", "ok"], "{line}");
    assert_no_processes(&token);
}

/// `nft -j list ruleset` round trip: a ruleset loaded in a throwaway namespace
/// (`unshare -n`, never the host's), its `nft -j` output imported with `--from`, the lab
/// built, and the node's `nft list ruleset` is the one the throwaway namespace listed.
#[test]
fn nft_json_import_builds_the_same_ruleset() {
    require_root!();
    let _host = HostGuard::new();
    let dir = TempDir::new("import-nft");
    let token = token();
    let runtime = dir.0.join("run");
    for name in ["filter-nat", "docker"] {
        let source = crate::support::repo_path(&format!("tests/import-nft-json/{name}.nft"));
        let host = write_dir(&dir.0, name, &[]);
        let want = dir.0.join(format!("{name}.want"));
        let generated = std::process::Command::new("unshare")
            .args([
                "-n",
                "sh",
                "-c",
                "nft -f \"$1\" && nft list ruleset > \"$2\" && nft -j list ruleset > \"$3\"",
                "sh",
            ])
            .arg(&source)
            .arg(&want)
            .arg(host.join("nft-ruleset.json"))
            .output()
            .expect("run unshare");
        assert!(generated.status.success(), "{name}: {}", text(&generated));
        let out = std::process::Command::new(bin())
            .args(["import", "--name", "fw", "--from"])
            .arg(&host)
            .output()
            .expect("run topolab");
        assert!(out.status.success(), "{name}: {}", text(&out));
        let lab = dir.write(
            &format!("{name}.toml"),
            &String::from_utf8_lossy(&out.stdout),
        );
        let lab = lab.to_str().expect("utf-8");
        let up = topolab(&["up", lab], &runtime, &token);
        assert!(up.status.success(), "up {name}: {}", text(&up));
        let instance = text(&up)
            .split_whitespace()
            .skip_while(|w| *w != "as")
            .nth(1)
            .expect("up names the instance")
            .to_string();
        let got = topolab(
            &["exec", &instance, "fw", "--", "nft", "list", "ruleset"],
            &runtime,
            &token,
        );
        let down = topolab(&["down", &instance], &runtime, &token);
        assert!(down.status.success(), "down {instance}: {}", text(&down));
        assert!(got.status.success(), "{name}: {}", text(&got));
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            std::fs::read_to_string(&want).expect("read"),
            "{name}: the lab's ruleset differs from the source's"
        );
    }
    assert_no_processes(&token);
}

/// docs/import.md's WireGuard gateway (`nft -j`, `ip addr`, `wg show all dump`) prints
/// the node the page shows, peers and all, no private key in it, and that node checks.
#[test]
fn the_wireguard_gateway_example_imports_as_shown() {
    let doc = std::fs::read_to_string(crate::support::repo_path("docs/import.md")).expect("read");
    let command = "topolab import --from docs/import-example/gw --name gw\n```\n\n```toml\n";
    let shown = doc
        .split_once(command)
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .map(|(block, _)| block)
        .expect("docs/import.md shows the gw example's output");
    let out = std::process::Command::new(bin())
        .args(["import", "--from", "docs/import-example/gw", "--name", "gw"])
        .current_dir(crate::support::repo_path("."))
        .output()
        .expect("run topolab");
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(printed, shown, "docs/import.md shows another output");
    assert!(printed.contains("public_key = \"orzigV3QamiXCGkGuUNUI36calQmTrdKxzxe7jpc9ew=\""));
    assert!(!printed.contains("(hidden)") && !printed.contains("private_key"));
    let dir = TempDir::new("import-gw");
    let lab = dir.write("gw.toml", &printed);
    let check = std::process::Command::new(bin())
        .arg("check")
        .arg(&lab)
        .output()
        .expect("run topolab");
    assert!(check.status.success(), "{}", text(&check));
}

/// Bad and truncated inputs: exit 2, the file and line named, nothing printed on stdout.
#[test]
fn bad_input_names_file_and_line_and_exits_2() {
    let dir = TempDir::new("import-bad");
    let cases: &[(&str, &str, &str)] = &[
        (
            "ip-route.txt",
            "default via 10.0.0.1 dev eth0\n10.1.0.0/16 dev\n",
            "ip-route.txt:2:",
        ),
        (
            "ip-addr.txt",
            "2: eth0: <UP> mtu 1500\n    inet 192.168.3\n",
            "ip-addr.txt:2:",
        ),
        (
            "route-n.txt",
            "Kernel IP routing table\nDestination     Gateway         Genmask         Flags Metric Ref    Use Iface\n0.0.0.0         10.0.0.1\n",
            "route-n.txt:3:",
        ),
        (
            "ip-addr.json",
            "[{\"ifname\": \"eth0\", \"addr_info\": [",
            "ip-addr.json:1:",
        ),
        (
            "ip-rule.txt",
            "0:\tfrom all lookup local\n100:\tfrom 10.0.0.0/8 lookup\n",
            "ip-rule.txt:2:",
        ),
        (
            "notes.txt",
            "the server was slow yesterday\n",
            "notes.txt:1:",
        ),
    ];
    for (i, (file, content, expect)) in cases.iter().enumerate() {
        let d = write_dir(&dir.0, &format!("h{i}"), &[(file, content)]);
        let out = std::process::Command::new(bin())
            .args(["import", "--from"])
            .arg(&d)
            .output()
            .expect("run topolab");
        assert_eq!(out.status.code(), Some(2), "{file}: {}", text(&out));
        assert!(out.stdout.is_empty(), "{file}: printed a lab anyway");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(expect),
            "{file}: expected `{expect}` in: {err}"
        );
    }
}
