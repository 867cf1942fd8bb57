//! Every interface kind, IPsec and every impairment against a real kernel: the state the
//! kernel reports (iproute2 as the witness) and traffic through it. What this host's
//! kernel cannot do is skipped here with its reason and run by the VM batch at the end,
//! which boots a full kernel and runs this module of the same test binary inside it.

use std::ffi::OsString;
use std::io::Write as _;
use std::time::{Duration, Instant};

use crate::host::HostGuard;
use crate::inproc::{assert_reaches, build, info_data, link, ping, sh};

/// Two nodes on a veth pair: the underlay of the tunnels.
const PAIR: &str = r#"
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["192.168.1.1/24", "192.168.1.2/24"]
"#;

fn lab(name: &str, body: &str) -> String {
    format!("name = \"{name}\"\n{body}\n{PAIR}")
}

/// A point-to-point tunnel of `kind` between a and b, with 10.1.0.0/24 inside.
fn tunnel_lab(kind: &str, extra: &str) -> String {
    lab(
        &format!("kind-{kind}"),
        &format!(
            r#"
[nodes.a.interfaces.t1]
kind = "{kind}"
local = "192.168.1.1"
remote = "192.168.1.2"
addresses = ["10.1.0.1/24"]
{extra}
[nodes.b.interfaces.t1]
kind = "{kind}"
local = "192.168.1.2"
remote = "192.168.1.1"
addresses = ["10.1.0.2/24"]
{extra}
"#
        ),
    )
}

#[test]
fn kind_bridge_switches_between_its_ports() {
    let _host = HostGuard::new();
    let Some(b) = build(
        r#"
name = "kind-bridge"
[nodes.a.interfaces.br0]
kind = "bridge"
addresses = ["192.168.1.1/24"]
[nodes.a.interfaces.eth0]
master = "br0"
[nodes.b.interfaces.eth0]
addresses = ["192.168.1.2/24"]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
"#,
    ) else {
        return;
    };
    assert_eq!(link(&b, "a", "br0")["linkinfo"]["info_kind"], "bridge");
    assert_eq!(link(&b, "a", "eth0")["master"], "br0");
    assert_reaches(&b, "a", "192.168.1.2");
}

#[test]
fn kind_vxlan_carries_traffic_between_nodes() {
    let _host = HostGuard::new();
    let Some(b) = build(&tunnel_lab("vxlan", "vni = 42\ndstport = 4789")) else {
        return;
    };
    let l = link(&b, "a", "t1");
    assert_eq!(l["linkinfo"]["info_kind"], "vxlan");
    assert_eq!(info_data(&l)["id"], 42);
    assert_eq!(info_data(&l)["local"], "192.168.1.1");
    assert_eq!(info_data(&l)["remote"], "192.168.1.2");
    assert_reaches(&b, "a", "10.1.0.2");
}

#[test]
fn kind_macvlan_reaches_the_parent_segment() {
    let _host = HostGuard::new();
    let Some(b) = build(&lab(
        "kind-macvlan",
        r#"
[nodes.a.interfaces.mv0]
kind = "macvlan"
parent = "eth0"
mode = "bridge"
addresses = ["192.168.1.20/24"]
[nodes.b]
"#,
    )) else {
        return;
    };
    let l = link(&b, "a", "mv0");
    assert_eq!(l["linkinfo"]["info_kind"], "macvlan");
    assert_eq!(info_data(&l)["mode"], "bridge");
    assert_eq!(l["link"], "eth0");
    // From the macvlan's address, out through eth0.
    sh(&b, "a", "ip addr del 192.168.1.1/24 dev eth0");
    assert_reaches(&b, "a", "192.168.1.2");
}

#[test]
fn kind_dummy_holds_an_address() {
    let _host = HostGuard::new();
    let Some(b) = build(
        r#"
name = "kind-dummy"
[nodes.a.interfaces.d0]
kind = "dummy"
addresses = ["10.9.0.1/24"]
mtu = 9000
"#,
    ) else {
        return;
    };
    let l = link(&b, "a", "d0");
    assert_eq!(l["linkinfo"]["info_kind"], "dummy");
    assert_eq!(l["mtu"], 9000);
    assert!(sh(&b, "a", "ip -br addr show dev d0").contains("10.9.0.1/24"));
}

#[test]
fn kind_ipip_carries_traffic() {
    let _host = HostGuard::new();
    let Some(b) = build(&tunnel_lab("ipip", "ttl = 64")) else {
        return;
    };
    let l = link(&b, "a", "t1");
    assert_eq!(l["linkinfo"]["info_kind"], "ipip");
    assert_eq!(info_data(&l)["local"], "192.168.1.1");
    assert_eq!(info_data(&l)["remote"], "192.168.1.2");
    assert_eq!(info_data(&l)["ttl"], 64);
    assert_reaches(&b, "a", "10.1.0.2");
}

/// An interface without a link-layer header (ipip) is recorded with a synthesized
/// Ethernet header, so that the lab's file has one link type and tcpdump reads it.
#[test]
fn kind_ipip_traffic_is_captured_beside_ethernet() {
    let _host = HostGuard::new();
    let Some(b) = build(&tunnel_lab("ipip", "")) else {
        return;
    };
    let dir = crate::scratch::TempDir::new("capture-ipip");
    let settings = topolab::kernel::capture::Settings {
        mode: topolab::kernel::capture::Mode::Always,
        dir: dir.0.clone(),
        limit: 1 << 20,
    };
    let running =
        b.rt.block_on(topolab::kernel::capture::start(&b.live, &settings))
            .unwrap_or_else(|e| panic!("capture: {e:?}"));
    assert_reaches(&b, "a", "10.1.0.2");
    let c = running.finish();
    assert_eq!(c.error, None);
    let file = c.file.expect("a capture file");
    let out = std::process::Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(&file)
        .output()
        .expect("tcpdump");
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Inside the tunnel, and its outer packets on eth0.
    assert!(
        dump.contains("IP 10.1.0.1 > 10.1.0.2: ICMP echo request"),
        "{dump}"
    );
    assert!(
        dump.contains("IP 192.168.1.1 > 192.168.1.2: IP 10.1.0.1 > 10.1.0.2: ICMP echo request"),
        "{dump}"
    );
}

#[test]
fn kind_gre_with_a_key_carries_traffic() {
    let _host = HostGuard::new();
    let Some(b) = build(&tunnel_lab("gre", "key = 7")) else {
        return;
    };
    let l = link(&b, "a", "t1");
    assert_eq!(l["linkinfo"]["info_kind"], "gre");
    assert_eq!(info_data(&l)["remote"], "192.168.1.2");
    assert_eq!(info_data(&l)["ikey"], "0.0.0.7");
    assert_eq!(info_data(&l)["okey"], "0.0.0.7");
    assert_reaches(&b, "a", "10.1.0.2");
}

#[test]
fn kind_gretap_on_a_parent_carries_ethernet() {
    let _host = HostGuard::new();
    let Some(b) = build(&tunnel_lab("gretap", "parent = \"eth0\"")) else {
        return;
    };
    let l = link(&b, "a", "t1");
    assert_eq!(l["linkinfo"]["info_kind"], "gretap");
    assert_eq!(info_data(&l)["link"], "eth0");
    assert!(
        l["address"].as_str().is_some_and(|m| m.len() == 17),
        "an Ethernet device: {l}"
    );
    assert_reaches(&b, "a", "10.1.0.2");
}

#[test]
fn kind_vlan_tags_on_its_parent() {
    let _host = HostGuard::new();
    let Some(b) = build(&lab(
        "kind-vlan",
        r#"
[nodes.a.interfaces.v100]
kind = "vlan"
parent = "eth0"
vlan_id = 100
addresses = ["10.4.0.1/24"]
[nodes.b.interfaces.v100]
kind = "vlan"
parent = "eth0"
vlan_id = 100
addresses = ["10.4.0.2/24"]
[nodes.b.interfaces.v200]
kind = "vlan"
parent = "eth0"
vlan_id = 200
addresses = ["10.5.0.2/24"]
"#,
    )) else {
        return;
    };
    let l = link(&b, "a", "v100");
    assert_eq!(l["linkinfo"]["info_kind"], "vlan");
    assert_eq!(info_data(&l)["id"], 100);
    assert_eq!(l["link"], "eth0");
    assert_reaches(&b, "a", "10.4.0.2");
    // Another tag is another segment.
    sh(&b, "a", "ip addr add 10.5.0.1/24 dev v100");
    assert!(
        ping(&b, "a", "10.5.0.2", 2, None).is_empty(),
        "VLAN 200 reached from VLAN 100"
    );
}

#[test]
fn kind_vrf_enslaves_and_routes_in_its_table() {
    let _host = HostGuard::new();
    let Some(b) = build(
        r#"
name = "kind-vrf"
[nodes.a]
routes = [ { to = "10.99.0.0/24", via = "10.7.0.2", table = 10 } ]
[nodes.a.interfaces.blue]
kind = "vrf"
table = 10
[nodes.a.interfaces.eth0]
master = "blue"
[nodes.b]
routes = [ { to = "default", via = "10.7.0.1" } ]
[nodes.b.interfaces.lo]
addresses = ["10.99.0.1/32"]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.7.0.1/24", "10.7.0.2/24"]
"#,
    ) else {
        return;
    };
    let vrf = link(&b, "a", "blue");
    assert_eq!(vrf["linkinfo"]["info_kind"], "vrf");
    assert_eq!(info_data(&vrf)["table"], 10);
    assert_eq!(link(&b, "a", "eth0")["master"], "blue");
    let table = sh(&b, "a", "ip route show table 10");
    assert!(
        table.contains("10.99.0.0/24 via 10.7.0.2 dev eth0"),
        "{table}"
    );
    assert!(
        table.contains("10.7.0.0/24 dev eth0"),
        "connected route moved: {table}"
    );
    assert!(
        !sh(&b, "a", "ip route show table main").contains("10.7.0.0/24"),
        "the enslaved interface's subnet left the main table"
    );
    // Reachable inside the VRF only.
    assert!(!ping(&b, "a", "10.99.0.1", 3, Some("blue")).is_empty());
    assert!(ping(&b, "a", "10.99.0.1", 1, None).is_empty());
}

#[test]
fn kind_wireguard_peers_by_generated_keys() {
    let _host = HostGuard::new();
    let Some(b) = build(&lab(
        "kind-wireguard",
        r#"
[nodes.a.interfaces.wg0]
kind = "wireguard"
listen_port = 51820
addresses = ["10.5.0.1/24"]
peers = [ { node = "b:wg0", endpoint = "192.168.1.2:51821", allowed_ips = ["10.5.0.2/32"], keepalive = 25 } ]
[nodes.b.interfaces.wg0]
kind = "wireguard"
listen_port = 51821
private_key = "eCGiMiTSaItU9gZl/K7cV3/Rx8yGqvT8UWRfHvIhG0s="
addresses = ["10.5.0.2/24"]
peers = [ { node = "a:wg0", allowed_ips = ["10.5.0.1/32"] } ]
"#,
    )) else {
        return;
    };
    assert_eq!(link(&b, "a", "wg0")["linkinfo"]["info_kind"], "wireguard");
    let keys = &b.live.wireguard;
    let given =
        topolab::kernel::engine::wireguard::decode("eCGiMiTSaItU9gZl/K7cV3/Rx8yGqvT8UWRfHvIhG0s=");
    assert_eq!(keys.private("b", "wg0"), given, "a given key is used as is");
    assert!(
        keys.private("a", "wg0").is_some(),
        "a missing key is generated"
    );
    // b learns a's endpoint from a's first handshake (a has b's endpoint, b has none).
    assert_reaches(&b, "a", "10.5.0.2");
    assert_reaches(&b, "b", "10.5.0.1");
}

const IPSEC: &str = r#"
[nodes.a]
routes = [ { to = "10.9.0.0/24", via = "192.168.1.2", src = "10.8.0.1" } ]
[nodes.a.interfaces.lo]
addresses = ["10.8.0.1/32"]
[[nodes.a.ipsec]]
name = "site"
local = "192.168.1.1"
remote = "192.168.1.2"
local_subnets = ["10.8.0.0/24"]
remote_subnets = ["10.9.0.0/24"]
secret = "correct horse"

[nodes.b]
routes = [ { to = "10.8.0.0/24", via = "192.168.1.1" } ]
[nodes.b.interfaces.lo]
addresses = ["10.9.0.10/32", "10.9.0.200/32"]
[[nodes.b.ipsec]]
name = "site"
local = "192.168.1.2"
remote = "192.168.1.1"
local_subnets = ["B_LOCAL"]
remote_subnets = ["10.8.0.0/24"]
secret = "correct horse"
"#;

fn xfrm_stat(b: &crate::inproc::Built, node: &str, counter: &str) -> u64 {
    sh(b, node, "cat /proc/net/xfrm_stat")
        .lines()
        .find_map(|l| {
            l.strip_prefix(counter)
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

#[test]
fn ipsec_tunnel_encrypts_between_the_selectors() {
    let _host = HostGuard::new();
    let Some(b) = build(&lab("ipsec", &IPSEC.replace("B_LOCAL", "10.9.0.0/24"))) else {
        return;
    };
    let states = sh(&b, "a", "ip xfrm state");
    assert_eq!(states.matches("proto esp").count(), 2, "{states}");
    assert!(states.contains("rfc4106(gcm(aes))"), "{states}");
    let policies = sh(&b, "a", "ip xfrm policy");
    for dir in ["dir out", "dir in", "dir fwd"] {
        assert!(policies.contains(dir), "{dir}: {policies}");
    }
    let esp_before = sh(&b, "b", "ip -s xfrm state");
    assert_reaches(&b, "a", "10.9.0.10");
    let esp_after = sh(&b, "b", "ip -s xfrm state");
    assert_ne!(esp_before, esp_after, "the echo went through the SAs");
    assert_eq!(xfrm_stat(&b, "a", "XfrmInTmplMismatch"), 0);
}

/// b protects only 10.9.0.0/25 while a expects all of 10.9.0.0/24: b sends 10.9.0.200's
/// traffic in clear along its routes, and a's inbound policy drops it, as in production.
#[test]
fn ipsec_mismatched_selectors_send_in_clear_and_the_peer_drops() {
    let _host = HostGuard::new();
    let Some(b) = build(&lab(
        "ipsec-mismatch",
        &IPSEC.replace("B_LOCAL", "10.9.0.0/25"),
    )) else {
        return;
    };
    assert!(
        !crate::inproc::ping_from(&b, "b", Some("10.9.0.10"), "10.8.0.1", 3, None).is_empty(),
        "inside both selectors: through the tunnel"
    );
    let sa_before = sh(&b, "b", "ip -s xfrm state");
    let dropped = |b: &crate::inproc::Built| xfrm_stat(b, "a", "XfrmInTmplMismatch");
    let before = dropped(&b);
    assert!(
        crate::inproc::ping_from(&b, "b", Some("10.9.0.200"), "10.8.0.1", 2, None).is_empty(),
        "outside b's selectors the echo must not be accepted by a"
    );
    assert_eq!(
        sh(&b, "b", "ip -s xfrm state"),
        sa_before,
        "b sent it in clear: no SA was used"
    );
    assert!(
        dropped(&b) > before,
        "a's inbound policy dropped the clear-text packet ({before} -> {})",
        dropped(&b)
    );
}

/// A TCP transfer of `bytes` from a to b's 192.168.1.2:5001; returns how long it took.
fn transfer(b: &crate::inproc::Built, bytes: usize) -> Duration {
    let server = format!(
        "import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('192.168.1.2', 5001))\ns.listen(1)\ns.settimeout(60)\nc, _ = s.accept()\nn = 0\nwhile n < {bytes}:\n    d = c.recv(65536)\n    if not d: break\n    n += len(d)\nc.sendall(b'k')\n"
    );
    let client = format!(
        "import socket, time\nfor i in range(100):\n    try:\n        s = socket.create_connection(('192.168.1.2', 5001), timeout=60); break\n    except OSError: time.sleep(0.05)\nt = time.time()\ns.sendall(b'x' * {bytes})\ns.recv(1)\nprint(time.time() - t)\n"
    );
    let ns_b = b.live.node_ns(b.live.lab.node_id("b").expect("b")).clone();
    let ns_a = b.live.node_ns(b.live.lab.node_id("a").expect("a")).clone();
    b.rt.block_on(async {
        // Killed on drop, so a failed transfer leaves no listener behind.
        let mut server = topolab::kernel::engine::command::in_ns(&ns_b, "python3")
            .args(["-c", &server])
            .spawn()
            .expect("server");
        let out = topolab::kernel::engine::command::run_program(
            &ns_a,
            "python3",
            &["-c", &client],
            None,
            Duration::from_secs(90),
        )
        .await
        .expect("client");
        assert!(out.success(), "client: {}", out.text());
        let _ = server.wait().await;
        Duration::from_secs_f64(out.stdout.trim().parse().expect("seconds"))
    })
}

#[test]
fn impair_tbf_limits_the_rate() {
    let _host = HostGuard::new();
    let Some(b) = build(&format!(
        "name = \"impair-tbf\"\n[nodes.a]\n[nodes.b]\n{PAIR}impair = [ {{ rate = \"2mbit\", from = \"a:eth0\" }} ]\n"
    )) else {
        return;
    };
    let q = sh(&b, "a", "tc qdisc show dev eth0");
    assert!(q.contains("tbf") && q.contains("rate 2Mbit"), "{q}");
    assert!(
        !sh(&b, "b", "tc qdisc show dev eth0").contains("tbf"),
        "only a's egress"
    );
    // 500 kB at 2 Mbit/s take 2 s; without the limit, milliseconds.
    let took = transfer(&b, 500_000);
    assert!(took >= Duration::from_millis(1500), "500 kB in {took:?}");
}

#[test]
fn impair_netem_delays_and_clear_removes_it() {
    let _host = HostGuard::new();
    let Some(b) = build(&format!(
        "name = \"impair-netem\"\n[nodes.a]\n[nodes.b]\n{PAIR}impair = [ {{ delay = \"150ms\", from = \"a:eth0\" }} ]\n"
    )) else {
        return;
    };
    let rtts = ping(&b, "a", "192.168.1.2", 3, None);
    assert!(!rtts.is_empty());
    assert!(
        rtts.iter().all(|r| *r >= 150.0),
        "delay not applied: {rtts:?}"
    );
    // The step actions: clear, then impair again with loss.
    let ns = b.live.node_ns(b.live.lab.node_id("a").expect("a")).clone();
    b.rt.block_on(topolab::kernel::engine::impair::clear(&ns, "eth0"))
        .expect("clear");
    assert!(!sh(&b, "a", "tc qdisc show dev eth0").contains("netem"));
    let rtts = ping(&b, "a", "192.168.1.2", 3, None);
    assert!(
        rtts.iter().all(|r| *r < 150.0),
        "still delayed after clear: {rtts:?}"
    );
    b.rt.block_on(topolab::kernel::engine::impair::clear(&ns, "eth0"))
        .expect("clearing twice is not an error");
    let lossy = topolab::front::lab::Impairment {
        loss: Some(100.0),
        ..Default::default()
    };
    b.rt.block_on(topolab::kernel::engine::impair::set(&ns, "eth0", &lossy))
        .expect("impair");
    assert!(
        ping(&b, "a", "192.168.1.2", 2, None).is_empty(),
        "100% loss"
    );
}

#[test]
fn impair_netem_takes_every_parameter() {
    let _host = HostGuard::new();
    let Some(b) = build(&format!(
        "name = \"impair-all\"\n[nodes.a]\n[nodes.b]\n{PAIR}impair = [ {{ delay = \"20ms\", jitter = \"5ms\", loss = \"5%\", duplicate = \"1%\", reorder = \"25%\", corrupt = \"0.1%\", rate = \"10mbit\" }} ]\n"
    )) else {
        return;
    };
    for node in ["a", "b"] {
        let q = sh(&b, node, "tc qdisc show dev eth0");
        for part in [
            "netem",
            "delay 20ms  5ms",
            "loss 5%",
            "duplicate 1%",
            "reorder 25%",
            "corrupt 0.1%",
            "rate 10Mbit",
        ] {
            assert!(q.contains(part), "{node}: `{part}` missing from {q}");
        }
    }
}

/// The probe must find what the engine tests use on the reference kernels (this host's
/// and Debian's): a wrong probe turns working labs into skips.
#[test]
fn the_probe_finds_what_every_reference_kernel_has() {
    require_root!();
    let _host = HostGuard::new();
    let base = [
        "veth",
        "bridge",
        "vxlan",
        "macvlan",
        "nftables",
        "tbf",
        "policy-routing",
    ];
    let found = topolab::kernel::features::support(&base).expect("probe");
    let missing: Vec<String> = found
        .iter()
        .filter_map(|(f, r)| r.as_ref().err().map(|why| format!("{f}: {why}")))
        .collect();
    assert!(missing.is_empty(), "probed as missing: {missing:?}");
    if crate::inproc::in_vm() {
        let all = topolab::kernel::features::support(&topolab::front::validate::features::KNOWN)
            .expect("probe");
        let missing: Vec<String> = all
            .iter()
            .filter_map(|(f, r)| r.as_ref().err().map(|why| format!("{f}: {why}")))
            .collect();
        assert!(missing.is_empty(), "the full kernel lacks: {missing:?}");
    }
}

/// A lab this kernel cannot run is refused by `up` with exit 3 and the kernel option.
#[test]
fn up_refuses_a_lab_with_missing_features_with_the_kernel_option() {
    require_root!();
    let _host = HostGuard::new();
    let dir = crate::scratch::TempDir::new("missing");
    let token = crate::scratch::token();
    let future = dir.write(
        "future.toml",
        "name = \"future\"\n[requires]\nkernel = \"99.0\"\n[nodes.a]\n",
    );
    let out = crate::scratch::topolab(
        &["up", future.to_str().expect("path")],
        &dir.0.join("run"),
        &token,
    );
    assert_eq!(out.status.code(), Some(3), "{}", crate::support::text(&out));
    assert!(crate::support::text(&out).contains("needs kernel 99.0 or newer (kernel)"));

    let dummy = dir.write(
        "dummy.toml",
        "name = \"dummy\"\n[nodes.a.interfaces.d0]\nkind = \"dummy\"\n",
    );
    let has_dummy = topolab::kernel::features::support(&["dummy"]).expect("probe")["dummy"].is_ok();
    let out = crate::scratch::topolab(
        &["up", dummy.to_str().expect("path")],
        &dir.0.join("run"),
        &token,
    );
    if has_dummy {
        assert_eq!(out.status.code(), Some(0), "{}", crate::support::text(&out));
        let down = crate::scratch::topolab(&["down", "--all"], &dir.0.join("run"), &token);
        assert!(down.status.success(), "{}", crate::support::text(&down));
    } else {
        assert_eq!(out.status.code(), Some(3), "{}", crate::support::text(&out));
        assert!(
            crate::support::text(&out).contains("needs CONFIG_DUMMY (dummy)"),
            "{}",
            crate::support::text(&out)
        );
    }
    crate::host::assert_no_processes(&token);
}

/// The batch: one VM boot runs every test above on a full kernel (Debian's, or
/// TOPOLAB_TEST_KERNEL), where nothing may skip.
#[test]
fn vm_batch_runs_every_kernel_test_on_a_full_kernel() {
    if crate::inproc::in_vm() {
        return;
    }
    let Some(image) = vm_kernel() else { return };
    let exe = std::env::current_exe().expect("test binary");
    let mut vm = topolab::vm::Vm::new(&image);
    vm.env.push(("TOPOLAB_IN_VM".into(), "1".into()));
    vm.timeout = Some(Duration::from_secs(900));
    // This binary holds every kernel test: the VM runs this module's.
    let args: Vec<OsString> = ["kernel_kinds::", "--skip", "vm_", "--test-threads", "2"]
        .iter()
        .map(OsString::from)
        .collect();
    let t = Instant::now();
    let status = topolab::vm::run_program(&vm, &exe, &args)
        .unwrap_or_else(|e| panic!("cannot run the VM: {e}"));
    eprintln!("VM batch on {}: {:?}", image.display(), t.elapsed());
    assert!(
        status.success(),
        "tests failed on the VM's kernel ({status})"
    );
}

/// `vm-run` end to end: a lab this host cannot build is built in the VM, the status
/// comes back.
#[test]
fn vm_run_builds_a_lab_the_host_kernel_cannot() {
    if crate::inproc::in_vm() {
        return;
    }
    let Some(image) = vm_kernel() else { return };
    let dir = crate::scratch::TempDir::new("vmrun");
    let lab = dir.write(
        "tunnels.toml",
        &tunnel_lab("ipip", "").replace(
            "[nodes.a.interfaces.t1]",
            "[nodes.a.interfaces.d0]\nkind = \"dummy\"\n[nodes.a.interfaces.t1]",
        ),
    );
    let out = std::process::Command::new(crate::support::bin())
        .args(["vm-run", "--kernel"])
        .arg(&image)
        .args(["--timeout", "600", "--", "__build", "--show"])
        .arg(&lab)
        .current_dir(&dir.0)
        .output()
        .expect("topolab vm-run");
    let text = crate::support::text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("built "), "{text}");
    assert!(
        text.contains("t1@NONE") && text.contains("10.1.0.1/24"),
        "{text}"
    );
}

/// The kernel image for the VM tests, or None after printing why they are skipped;
/// under CI a missing VM is a failure: those tests must run there.
fn vm_kernel() -> Option<std::path::PathBuf> {
    let reason = match topolab::vm::image::default_kernel() {
        None => "no kernel image (set TOPOLAB_TEST_KERNEL or apt-get install linux-image-amd64)"
            .to_string(),
        Some(k) => match topolab::vm::preflight(&k) {
            Ok(()) => return Some(k),
            Err(e) => e.to_string(),
        },
    };
    assert!(
        std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false"),
        "CI must run the VM tests, but: {reason}"
    );
    // Straight to stderr: libtest hides the eprintln! output of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: the VM tests cannot run here: {reason}"
    );
    None
}
