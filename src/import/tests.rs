//! Imports of real outputs (tests/import-fixtures): the incident write-ups' tickets
//! (seed-*), outputs collected by `--collect` inside lab nodes (collected-*), and a typical
//! docker/k8s dual-stack host. Each import is snapshotted (insta) and its route table is
//! checked against the input's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::model::{Host, LOCAL};
use super::{files, render, to_lab};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import-fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn net(s: &str) -> String {
    if s == "default" || s == "::/0" {
        return "default".into();
    }
    s.parse::<ipnet::IpNet>()
        .map(|n| n.trunc().to_string())
        .unwrap_or_else(|_| s.to_string())
}

fn import(dir: &Path) -> (Host, to_lab::Imported) {
    let host = files::load_dir(dir).expect("imports");
    let name = dir.file_name().and_then(|n| n.to_str()).expect("name");
    let imported = to_lab::build(name, &[(name.to_string(), host.clone())], false);
    (host, imported)
}

#[test]
fn fixtures_import_as_snapshotted() {
    let dirs = fixtures();
    assert!(dirs.len() >= 8, "fixtures missing: {dirs:?}");
    for dir in dirs {
        let (_, imported) = import(&dir);
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        let text =
            render::toml(&imported, &format!("tests/import-fixtures/{name}")).expect("render");
        // What `topolab check` says about it: nothing.
        let loaded = crate::front::validate::load_source(crate::front::source::SourceFile::new(
            format!("{name}.toml"),
            text.clone(),
        ));
        assert!(loaded.diags.is_empty(), "{name}: {}", loaded.render(false));
        insta::assert_snapshot!(name, text);
    }
}

/// Every route of the input is in the imported node, except those the kernel makes for
/// the node's addresses (which the node gets), the local table and the IPv6 link-local
/// and loopback routes.
#[test]
fn imported_route_tables_match_the_inputs() {
    for dir in fixtures() {
        let (host, imported) = import(&dir);
        let name = dir.file_name().and_then(|n| n.to_str()).expect("name");
        let node = &imported.lab.nodes[name];
        let got: BTreeSet<String> = node
            .routes
            .iter()
            .map(|r| {
                format!(
                    "{} via {} table {}",
                    net(&r.to),
                    r.via.as_deref().unwrap_or("-"),
                    r.table.unwrap_or(254)
                )
            })
            .collect();
        let addrs: Vec<(String, ipnet::IpNet)> = node
            .interfaces
            .iter()
            .flat_map(|(i, x)| {
                x.addresses
                    .iter()
                    .filter_map(move |a| a.parse().ok().map(|n| (i.clone(), n)))
            })
            .collect();
        let mut want = BTreeSet::new();
        for r in &host.routes {
            if r.table == LOCAL || r.dev.as_deref() == Some("lo") || r.dst.starts_with("fe80::") {
                continue;
            }
            let kernel = matches!(r.proto.as_deref(), Some("kernel" | "kernel?"));
            let dst = net(&r.dst);
            if kernel
                && addrs.iter().any(|(i, n)| {
                    Some(i.as_str()) == r.dev.as_deref() && n.trunc().to_string() == dst
                })
            {
                continue;
            }
            want.insert(format!(
                "{dst} via {} table {}",
                r.via.as_deref().unwrap_or("-"),
                r.table
            ));
        }
        assert_eq!(want, got, "{name}: route tables differ");
    }
}

/// The same host read from `ip -j` JSON and from plain text imports the same node.
#[test]
fn json_and_text_of_the_same_host_agree() {
    for case in ["collected-app", "collected-srv"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/import-fixtures")
            .join(case);
        let mut json = Host::default();
        let mut text = Host::default();
        for f in [
            "ip-link.json",
            "ip-addr.json",
            "ip-route.json",
            "ip-route6.json",
            "ip-rule.json",
            "ip-rule6.json",
            "ip-neigh.json",
        ] {
            json.merge(files::load_file(&dir.join(f)).expect(f));
        }
        for f in [
            "ip-addr.txt",
            "ip-route.txt",
            "ip-route6.txt",
            "ip-rule.txt",
        ] {
            text.merge(files::load_file(&dir.join(f)).expect(f));
        }
        let a = to_lab::build(case, &[(case.to_string(), json)], false);
        let b = to_lab::build(case, &[(case.to_string(), text)], false);
        let (na, nb) = (&a.lab.nodes[case], &b.lab.nodes[case]);
        assert_eq!(
            to_lab::route_lines(na),
            to_lab::route_lines(nb),
            "{case}: routes"
        );
        assert_eq!(na.rules, nb.rules, "{case}: rules");
        let addrs = |n: &crate::front::spec::Node| -> Vec<(String, Vec<String>)> {
            n.interfaces
                .iter()
                .map(|(k, i)| (k.clone(), i.addresses.clone()))
                .collect()
        };
        let mut x = addrs(na);
        let mut y = addrs(nb);
        x.sort();
        y.sort();
        assert_eq!(x, y, "{case}: addresses");
    }
}

/// Two hosts of seeds/001 (`route -n` only) on the same VPC subnet join one switch, and
/// their default gateway, which neither owns, becomes the router `gw`.
#[test]
fn lab_joins_hosts_on_a_shared_subnet() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import-fixtures");
    let hosts: Vec<(String, Host)> = ["seed-001-host-pre", "seed-001-host-01"]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                files::load_dir(&root.join(n)).expect("imports"),
            )
        })
        .collect();
    let imported = to_lab::build("rds-overlap", &hosts, true);
    let lab = &imported.lab;
    assert_eq!(
        lab.switches.keys().collect::<Vec<_>>(),
        ["net-192-168-73-0-24"]
    );
    assert_eq!(
        lab.links
            .iter()
            .map(|l| l.endpoints.join(" - "))
            .collect::<Vec<_>>(),
        [
            "seed-001-host-pre:eth0 - net-192-168-73-0-24",
            "seed-001-host-01:eth0 - net-192-168-73-0-24",
            "gw:eth0 - net-192-168-73-0-24",
        ]
    );
    assert_eq!(
        lab.nodes["gw"].interfaces["eth0"].addresses,
        ["192.168.73.253/24"]
    );
    // The docker bridge names survive.
    assert!(
        lab.nodes["seed-001-host-pre"]
            .interfaces
            .contains_key("br-c3c094fc6759")
    );
    assert!(
        lab.nodes["seed-001-host-01"]
            .interfaces
            .contains_key("br-bb02c47906ee")
    );
    let text = render::toml(&imported, "seeds/001").expect("render");
    let loaded = crate::front::validate::load_source(crate::front::source::SourceFile::new(
        "lab.toml",
        text.clone(),
    ));
    assert!(loaded.errors().next().is_none(), "{}", loaded.render(false));
    insta::assert_snapshot!(text);
}

/// Real `nft -j list ruleset` outputs (tests/import-nft-json, made by its generate.sh in a
/// throwaway namespace) rendered as nft text, with the notes of what was not carried.
#[test]
fn nft_json_renders_as_snapshotted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import-nft-json");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    for path in files {
        let name = path.file_stem().and_then(|n| n.to_str()).expect("name");
        let text = std::fs::read_to_string(&path).expect("read");
        // Recognised by content, as a file under any name would be.
        assert_eq!(
            files::by_content(&text),
            Some(files::Format::NftJson),
            "{name}"
        );
        let host = files::parse(files::Format::NftJson, &text).expect("parses");
        assert!(host.nft_from_json);
        let nft = host.nft.expect("a ruleset");
        let notes = host.nft_notes.join("\n");
        match name {
            // Everything in these is rendered: no comment, no note.
            "docker" | "filter-nat" => {
                assert!(notes.is_empty(), "{name}: {notes}");
                assert!(!nft.contains('#'), "{name}:\n{nft}");
            }
            // The docs' example: one rate-limited rule it cannot render.
            "gw" => {
                assert_eq!(host.nft_notes.len(), 1, "{notes}");
                assert!(
                    nft.contains("# not imported (`limit` has no rendering here)"),
                    "{nft}"
                );
            }
            // Each object or rule it cannot render is a comment and a note, and the rules
            // it can render are still there.
            _ => {
                assert_eq!(host.nft_notes.len(), 9, "{notes}");
                assert!(
                    nft.contains("        ip saddr == @allowed accept\n"),
                    "{nft}"
                );
                assert!(nft.contains("        drop\n"), "{nft}");
            }
        }
        insta::assert_snapshot!(
            format!("nft-json-{name}"),
            format!("{nft}\n--- notes\n{notes}")
        );
    }
}

/// A verbatim `nft list ruleset` beats a rendering of `nft -j`, in either order, and the
/// rendering's notes go with it.
#[test]
fn nft_text_wins_over_nft_json() {
    let json = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import-nft-json/unsupported.json"),
    )
    .expect("read");
    let from_json = files::parse(files::Format::NftJson, &json).expect("parses");
    let from_text = files::parse(files::Format::Nft, "table ip t {\n}\n").expect("parses");
    for (first, second) in [
        (from_json.clone(), from_text.clone()),
        (from_text.clone(), from_json.clone()),
    ] {
        let mut host = first;
        host.merge(second);
        assert_eq!(host.nft.as_deref(), Some("table ip t {\n}\n"));
        assert!(host.nft_notes.is_empty());
        assert!(!host.nft_from_json);
    }
}
