//! The all-pairs matrix at a scale where the host's shared neighbour table matters: a
//! 60-host star (3,540 pings, more neighbour entries than the table's default limit of
//! 1,024 if sent at once) where every cell is answered, except those of one host whose
//! firewall drops pings, which time out; plus a TCP matrix towards listeners.

use serde_json::Value;

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, token, topolab};
use crate::support::text;

const HOSTS: usize = 60;

fn lab() -> String {
    let mut s = String::from("name = \"matrix-scale\"\n[switches.lan]\n");
    for i in 0..HOSTS {
        s.push_str(&format!("[nodes.h{i}]\n"));
        if i == 7 {
            s.push_str(
                "nft = \"\"\"\ntable inet f {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    icmp type echo-request drop\n  }\n}\n\"\"\"\n",
            );
        }
        if i < 3 {
            s.push_str(&format!("[[nodes.h{i}.listen]]\ntcp = 443\n"));
        }
    }
    for i in 0..HOSTS {
        s.push_str(&format!(
            "[[links]]\nendpoints = [\"h{i}:eth0\", \"lan\"]\naddresses = [\"10.7.{}.{}/16\"]\n",
            i / 200,
            i % 200 + 1
        ));
    }
    s.push_str("[[matrix]]\nname = \"pings\"\ntimeout = \"1s\"\n");
    for i in 0..HOSTS {
        if i != 7 {
            s.push_str(&format!(
                "[[matrix.except]]\nfrom = \"h{i}\"\nto = \"h7\"\nexpect = \"timeout\"\n"
            ));
        }
    }
    s.push_str(
        "[[matrix]]\nname = \"https\"\nto = [\"h0\", \"h1\", \"h2\"]\nprobe = \"tcp:443\"\n",
    );
    s
}

#[test]
fn a_large_matrix_is_probed_for_real() {
    require_root!();
    let _host = HostGuard::new();
    let dir = TempDir::new("matrix");
    let path = dir.write("matrix-scale.toml", &lab());
    let tok = token();
    let out = topolab(
        &[
            "test",
            "--format",
            "json",
            path.to_str().expect("utf-8 path"),
        ],
        &dir.0,
        &tok,
    );
    assert_no_processes(&tok);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", text(&out)));
    let lab = &report["labs"][0];
    let pings = &lab["matrices"][0];
    let cells = pings["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), HOSTS * (HOSTS - 1));
    let wrong: Vec<String> = cells
        .iter()
        .filter(|c| c["passed"] != true)
        .take(10)
        .map(|c| format!("{c}"))
        .collect();
    assert!(wrong.is_empty(), "cells that failed: {wrong:#?}");
    // The expectations are not vacuous: h7's cells were observed as timeouts, the rest ok,
    // each answered by the address it pinged.
    for c in cells {
        let observed = c["observed"]["outcome"].as_str().unwrap_or("?");
        if c["to"] == "h7" {
            assert_eq!(observed, "timeout", "{c}");
        } else {
            assert_eq!(observed, "ok", "{c}");
            assert_eq!(c["observed"]["from"], c["addr"], "{c}");
        }
    }
    let https = lab["matrices"][1]["cells"].as_array().expect("cells");
    // 60 sources, 3 targets, less each target probing itself.
    assert_eq!(https.len(), HOSTS * 3 - 3);
    assert!(https.iter().all(|c| c["passed"] == true), "{https:#?}");
    // Nothing failed but the lab's first snapshot, which awaits review.
    assert_eq!(lab["snapshot"]["status"], "new", "{}", lab["snapshot"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}
