//! `topolab diff` on a lab too big to probe side by side with its candidate. Its own test
//! binary: cargo runs binaries one after the other, so its neighbour entries do not
//! crowd the host's shared table while the other diff tests run.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::diff::diff_json;
use crate::host::HostGuard;
use crate::scratch::TempDir;

fn changes(json: &Value) -> BTreeSet<(String, String, String)> {
    json["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| {
            (
                format!(
                    "{}: {} {}",
                    f["kind"].as_str().unwrap_or("?"),
                    f["from"].as_str().unwrap_or("?"),
                    f["probe"].as_str().unwrap_or("?")
                ),
                f["base"]["outcome"].as_str().unwrap_or("?").to_string(),
                f["candidate"]["outcome"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
            )
        })
        .collect()
}

/// Twenty hosts on one switch probe 741 flows: more (node, target) pairs than two labs
/// should put in the host's shared neighbour table at once, so the labs are probed one
/// after the other, and nothing but the firewalled port changes.
#[test]
fn a_big_diff_probes_one_lab_at_a_time() {
    require_root!();
    let _host = HostGuard::new();
    let tmp = TempDir::new("diff-big");
    let mut lab = String::from(
        "name = \"big\"\n[switches.lan]\n[nodes.r]\nforward = true\n[[links]]\nendpoints = [\"r:eth0\", \"lan\"]\naddresses = [\"10.0.0.1/16\"]\n",
    );
    for i in 1..20 {
        lab.push_str(&format!(
            "[nodes.h{i}]\n[[nodes.h{i}.listen]]\ntcp = 80\n[[links]]\nendpoints = [\"h{i}:eth0\", \"lan\"]\naddresses = [\"10.0.{i}.10/16\"]\n"
        ));
    }
    let lab = tmp.write("big.toml", &lab);
    let patch = tmp.write(
        "fw.patch.toml",
        "[nodes.h1]\nnft = \"\"\"\ntable inet f {\n  chain input {\n    type filter hook input priority 0;\n    tcp dport 80 reject with tcp reset\n  }\n}\n\"\"\"\n",
    );
    let (code, json) = diff_json(&lab, &patch);
    assert_eq!(code, Some(1), "{json:#}");
    assert_eq!(json["probed"], 741);
    assert_eq!(json["one_at_a_time"], true);
    let mut want: Vec<(String, String, String)> = (2..20)
        .map(|i| format!("h{i}"))
        .chain(["r".to_string()])
        .map(|from| {
            (
                format!("auto: {from} tcp 10.0.1.10:80"),
                "ok".to_string(),
                "refused".to_string(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(changes(&json).into_iter().collect::<Vec<_>>(), want);
}
