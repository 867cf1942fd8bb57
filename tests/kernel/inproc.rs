//! Labs built in the test's own process (no topolab binary): build one when this kernel
//! can (else say why and skip, or fail inside the VM, whose kernel must have everything),
//! ping with ICMP from a node (there is no ping binary: a raw socket in python3), read
//! links with iproute2.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use topolab::front::lab::Lab;
use topolab::front::source::SourceFile;
use topolab::kernel::engine::{LiveLab, command};

/// Set in the guest by the VM batch: every test must run there, none may skip.
pub fn in_vm() -> bool {
    std::env::var_os("TOPOLAB_IN_VM").is_some_and(|v| v == "1")
}

pub struct Built {
    pub rt: tokio::runtime::Runtime,
    pub live: LiveLab,
}

/// Build `text`, or None (with the reason printed) when this kernel lacks a feature or
/// the test is not privileged.
pub fn build(text: &str) -> Option<Built> {
    if !crate::privileged() {
        return None;
    }
    let lab = load(Path::new("test.toml"), text);
    let missing = topolab::kernel::features::missing(&lab).expect("probe the kernel");
    if !missing.is_empty() {
        let reasons: Vec<String> = missing.iter().map(|m| m.to_string()).collect();
        let release = topolab::kernel::features::Kernel::running().release;
        assert!(
            !in_vm(),
            "the VM's kernel {release} lacks what lab `{}` needs: {}",
            lab.name,
            reasons.join(", ")
        );
        // Straight to stderr: libtest hides the eprintln! output of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED here (kernel {release}): lab `{}` {}; it runs in the VM batch (vm_batch_runs_every_kernel_test_on_a_full_kernel)",
            lab.name,
            reasons.join(", ")
        );
        return None;
    }
    let (rt, live) = apply(lab);
    Some(Built { rt, live })
}

/// The lab `text` (read as if from `path`); panics with the diagnostics when invalid.
fn load(path: &Path, text: &str) -> Lab {
    let loaded = topolab::front::validate::load_source(SourceFile::new(path, text));
    loaded
        .lab
        .clone()
        .unwrap_or_else(|| panic!("invalid lab:\n{}", loaded.render(false)))
}

/// Build `text` (read as if from `path`) in this process, on a runtime of its own.
pub fn build_at(path: &Path, text: &str) -> (tokio::runtime::Runtime, LiveLab) {
    apply(load(path, text))
}

fn apply(lab: Lab) -> (tokio::runtime::Runtime, LiveLab) {
    topolab::kernel::host_guard::arm().expect("host netns");
    let plan = topolab::plan::build(&lab);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let live = rt
        .block_on(topolab::kernel::engine::apply(lab, plan))
        .unwrap_or_else(|e| panic!("apply failed: {e}"))
        .0;
    (rt, live)
}

const PING: &str = r#"
import os, socket, struct, sys, time
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
dst, n, dev, src = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
if dev: s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
if src: s.bind((src, 0))
s.settimeout(2.0)
ident = os.getpid() & 0xffff
for seq in range(n):
    data = b'topolab!' * 8
    hdr = struct.pack('!BBHHH', 8, 0, 0, ident, seq)
    pkt = struct.pack('!BBHHH', 8, 0, csum(hdr + data), ident, seq) + data
    t = time.time()
    try:
        s.sendto(pkt, (dst, 0))
    except OSError as e:
        print('error', e.errno); continue
    while time.time() < t + 2.0:
        try: r, a = s.recvfrom(4096)
        except socket.timeout: break
        ihl = (r[0] & 15) * 4
        typ, code, _, rid, rseq = struct.unpack('!BBHHH', r[ihl:ihl + 8])
        if typ == 0 and rid == ident and rseq == seq:
            print('rtt %.3f' % ((time.time() - t) * 1000)); break
"#;

/// Round-trip times (ms) of the echo requests that were answered, out of `count`.
pub fn ping(b: &Built, node: &str, dst: &str, count: u32, dev: Option<&str>) -> Vec<f64> {
    ping_from(b, node, None, dst, count, dev)
}

/// `ping` with a source address.
pub fn ping_from(
    b: &Built,
    node: &str,
    src: Option<&str>,
    dst: &str,
    count: u32,
    dev: Option<&str>,
) -> Vec<f64> {
    let ns = b.live.node_ns(b.live.lab.node_id(node).expect("node"));
    let out =
        b.rt.block_on(command::run_program(
            ns,
            "python3",
            &[
                "-c",
                PING,
                dst,
                &count.to_string(),
                dev.unwrap_or(""),
                src.unwrap_or(""),
            ],
            None,
            Duration::from_secs(u64::from(count) * 3 + 10),
        ))
        .expect("python3");
    assert!(out.success(), "ping script failed: {}", out.text());
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("rtt "))
        .filter_map(|v| v.parse().ok())
        .collect()
}

/// Assert that `dst` answers from `node` (at least one of three echoes; a tunnel's first
/// packet may be spent on neighbour discovery or a handshake).
pub fn assert_reaches(b: &Built, node: &str, dst: &str) {
    let rtts = ping(b, node, dst, 3, None);
    if rtts.is_empty() {
        let state = sh(
            b,
            node,
            "ip -br link; ip -br addr; ip route; ip neigh; bridge link 2>&1",
        );
        panic!("{node} cannot reach {dst}; the node:\n{state}");
    }
}

/// Run a shell command in a node; panics when it fails.
pub fn sh(b: &Built, node: &str, script: &str) -> String {
    let ns = b.live.node_ns(b.live.lab.node_id(node).expect("node"));
    let out =
        b.rt.block_on(command::run_shell(
            ns,
            script,
            None,
            Duration::from_secs(60),
        ))
        .expect("sh");
    assert!(out.success(), "`{script}` in {node}: {}", out.text());
    out.stdout
}

/// `ip -j -d link show dev NAME` in a node.
pub fn link(b: &Built, node: &str, name: &str) -> serde_json::Value {
    let text = sh(b, node, &format!("ip -j -d link show dev {name}"));
    let v: serde_json::Value = serde_json::from_str(&text).expect("ip -j");
    v.get(0)
        .cloned()
        .unwrap_or_else(|| panic!("no link {name} in {node}"))
}

pub fn info_data(l: &serde_json::Value) -> &serde_json::Value {
    &l["linkinfo"]["info_data"]
}
