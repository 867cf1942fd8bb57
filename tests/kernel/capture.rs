//! Packet capture on the real kernel: `test --capture` leaves pcapng files that tcpdump
//! reads, holding the failing probe's packets on the right interfaces; `on-failure` keeps
//! nothing for a passing lab; the size cap holds; `topolab pcap` streams from an `up` lab
//! and ends with it; a rootless run captures too.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::host::{HostGuard, assert_no_processes};
use crate::scratch::{TempDir, token, topolab};
use crate::support::{bin, text};
use crate::user::UserDir;

const LINK: &str = r#"
[nodes.client]
[nodes.server]
[[nodes.server.listen]]
tcp = 80
[[links]]
endpoints = ["client:eth0", "server:eth0"]
addresses = ["10.77.0.1/24", "10.77.0.2/24"]
"#;

/// Port 8080 has no listener: the server answers with a reset, the check fails.
fn failing_lab() -> String {
    format!(
        "name = \"cap-fail\"\n{LINK}\n[[checks]]\nname = \"the web server answers\"\n\
         from = \"client\"\ntcp = \"10.77.0.2:8080\"\nexpect = \"ok\"\n"
    )
}

fn passing_lab() -> String {
    format!(
        "name = \"cap-pass\"\n{LINK}\n[[checks]]\nfrom = \"client\"\ntcp = \"10.77.0.2:80\"\n\
         expect = \"ok\"\n"
    )
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(dir)
        .env("TOPOLAB_RUNTIME_DIR", dir.join("run"))
        .env("TOPOLAB_TEST_TOKEN", token())
        .env("NO_COLOR", "1")
        .env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run topolab")
}

/// One packet of a pcapng file, with the name of the interface it was recorded on.
#[derive(Debug)]
struct Packet {
    iface: String,
    outbound: bool,
    data: Vec<u8>,
}

/// A minimal pcapng reader, independent of topolab's writer: interface names (if_name)
/// and enhanced packet blocks with their direction (epb_flags).
fn read_pcapng(bytes: &[u8]) -> (Vec<String>, Vec<Packet>) {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("u32"));
    let u16_at = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().expect("u16"));
    let options = |mut at: usize, end: usize| {
        let mut out = Vec::new();
        while at + 4 <= end {
            let (code, len) = (u16_at(at), u16_at(at + 2) as usize);
            if code == 0 {
                break;
            }
            out.push((code, bytes[at + 4..at + 4 + len].to_vec()));
            at += 4 + len.div_ceil(4) * 4;
        }
        out
    };
    let mut names = Vec::new();
    let mut packets = Vec::new();
    let mut at = 0;
    assert_eq!(u32_at(0), 0x0A0D_0D0A, "not a pcapng file");
    while at < bytes.len() {
        let (kind, len) = (u32_at(at), u32_at(at + 4) as usize);
        assert_eq!(u32_at(at + len - 4) as usize, len, "block at {at}");
        match kind {
            1 => {
                let name = options(at + 16, at + len - 4)
                    .into_iter()
                    .find(|(c, _)| *c == 2)
                    .map(|(_, v)| String::from_utf8(v).expect("utf-8 name"))
                    .expect("every interface has a name");
                names.push(name);
            }
            6 => {
                let iface = names[u32_at(at + 8) as usize].clone();
                let caplen = u32_at(at + 20) as usize;
                let data = bytes[at + 28..at + 28 + caplen].to_vec();
                let opts = options(at + 28 + caplen.div_ceil(4) * 4, at + len - 4);
                let flags = opts
                    .iter()
                    .find(|(c, _)| *c == 2)
                    .map(|(_, v)| u32::from_le_bytes(v[..4].try_into().expect("flags")))
                    .expect("epb_flags");
                packets.push(Packet {
                    iface,
                    outbound: flags & 3 == 2,
                    data,
                });
            }
            _ => {}
        }
        at += len;
    }
    (names, packets)
}

/// (source, destination, destination port, TCP flags) of an Ethernet/IPv4/TCP packet.
fn tcp(p: &Packet) -> Option<(String, String, u16, u8)> {
    let d = &p.data;
    if d.len() < 54 || d[12..14] != [0x08, 0x00] || d[23] != 6 {
        return None;
    }
    let ip = |o: usize| format!("{}.{}.{}.{}", d[o], d[o + 1], d[o + 2], d[o + 3]);
    let ihl = (d[14] & 0x0f) as usize * 4;
    let t = 14 + ihl;
    Some((
        ip(26),
        ip(30),
        u16::from_be_bytes([d[t + 2], d[t + 3]]),
        d[t + 13],
    ))
}

const SYN: u8 = 0x02;
const RST: u8 = 0x04;

fn tcpdump(file: &Path) -> String {
    let out = Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(file)
        .output()
        .expect("tcpdump is installed (ci/setup.sh)");
    assert!(
        out.status.success(),
        "tcpdump cannot read {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn on_failure_keeps_only_the_failing_labs_capture_with_its_probes_packets() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("capture");
    let fail = dir.write("fail.toml", &failing_lab());
    let pass = dir.write("pass.toml", &passing_lab());
    let (fail, pass) = (fail.to_str().expect("utf-8"), pass.to_str().expect("utf-8"));

    // The passing lab's reviewed snapshot; and without --capture nothing is recorded.
    let out = run_in(&dir.0, &["test", "--accept", pass], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !dir.0.join("topolab-artifacts").exists(),
        "a run without --capture wrote artifacts"
    );

    // Under CI, asked for explicitly.
    let junit = dir.0.join("junit.xml");
    let out = run_in(
        &dir.0,
        &[
            "test",
            "--capture",
            "on-failure",
            "--format",
            "json",
            "--junit",
            junit.to_str().expect("utf-8"),
            fail,
            pass,
        ],
        &[("CI", "true")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let artifacts = dir.0.join("topolab-artifacts");
    let mut files: Vec<String> = std::fs::read_dir(&artifacts)
        .expect("the artifacts directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, vec!["cap-fail.pcapng"], "only the failed lab's file");
    let file = artifacts.join("cap-fail.pcapng");

    // The JSON report lists it (and validates against the committed schema).
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let schema: serde_json::Value =
        serde_json::from_str(&topolab::output::report::json::schema_text()).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let labs = json["labs"].as_array().expect("labs");
    let capture = &labs[0]["capture"];
    assert_eq!(capture["file"], "topolab-artifacts/cap-fail.pcapng");
    assert_eq!(capture["interfaces"], 4, "lo and eth0 of both nodes");
    assert_eq!(capture["cut"], 0);
    assert_eq!(
        capture["bytes"].as_u64(),
        std::fs::metadata(&file).ok().map(|m| m.len())
    );
    assert!(labs[1].get("capture").is_none(), "{}", labs[1]);

    // JUnit attaches it to the failed lab's test cases.
    let xml = std::fs::read_to_string(&junit).expect("junit");
    let attachment = "[[ATTACHMENT|topolab-artifacts/cap-fail.pcapng]]";
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit parses");
    let suite = report
        .test_suites
        .iter()
        .find(|s| s.name.as_str() == "cap-fail")
        .expect("the failed lab's suite");
    for case in &suite.test_cases {
        assert_eq!(
            case.system_out.as_ref().map(|s| s.as_str()),
            Some(attachment),
            "{:?}",
            case.name
        );
    }
    assert_eq!(
        xml.matches("[[ATTACHMENT|").count(),
        suite.test_cases.len() + 1
    );

    // tcpdump reads it, and the failing probe is in it: the SYN and the server's reset.
    let dump = tcpdump(&file);
    assert!(
        dump.contains("> 10.77.0.2.8080: Flags [S]"),
        "no SYN in:\n{dump}"
    );
    assert!(
        dump.contains("IP 10.77.0.2.8080 > 10.77.0.1."),
        "no answer in:\n{dump}"
    );

    // On the right interfaces, in the right directions.
    let bytes = std::fs::read(&file).expect("read capture");
    let (names, packets) = read_pcapng(&bytes);
    assert_eq!(
        names,
        vec!["client:lo", "client:eth0", "server:lo", "server:eth0"]
    );
    let seen = |iface: &str, outbound: bool, src: &str, flag: u8| {
        packets.iter().any(|p| {
            p.iface == iface
                && p.outbound == outbound
                && tcp(p).is_some_and(|(s, _, _, f)| s == src && f & flag != 0)
        })
    };
    assert!(seen("client:eth0", true, "10.77.0.1", SYN), "{packets:?}");
    assert!(seen("server:eth0", false, "10.77.0.1", SYN));
    assert!(seen("server:eth0", true, "10.77.0.2", RST));
    assert!(seen("client:eth0", false, "10.77.0.2", RST));
    assert!(
        packets
            .iter()
            .filter_map(tcp)
            .all(|(_, d, port, _)| d != "10.77.0.2" || port == 8080),
        "only the failing probe's TCP traffic"
    );
    drop(host);
}

#[test]
fn the_size_cap_holds_and_the_report_says_so() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("capture-cap");
    // 200 KB echoed through the server: far more than the 64 KiB allowed.
    let lab = dir.write(
        "big.toml",
        "name = \"cap-big\"\n[nodes.client]\n[nodes.server]\n\
         [[nodes.server.listen]]\ntcp = 7\nmode = \"echo\"\n\
         [[links]]\nendpoints = [\"client:eth0\", \"server:eth0\"]\n\
         addresses = [\"10.77.0.1/24\", \"10.77.0.2/24\"]\n\
         [[checks]]\nfrom = \"client\"\ntcp = \"10.77.0.2:7\"\nsend = 200000\nexpect = \"ok\"\n",
    );
    let out = run_in(
        &dir.0,
        &[
            "test",
            "--capture",
            "always",
            "--capture-limit",
            "64KiB",
            "--artifacts",
            "out",
            "--format",
            "json",
            lab.to_str().expect("utf-8"),
        ],
        &[],
    );
    // No reviewed snapshot: the run fails (1), the check itself passes.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let result = &json["labs"][0];
    assert_eq!(result["checks"][0]["passed"], true, "{result}");
    let capture = &result["capture"];
    let file = dir.0.join("out/cap-big.pcapng");
    let size = std::fs::metadata(&file).expect("capture file").len();
    assert!(size <= 64 * 1024, "{size} bytes > 64 KiB");
    assert_eq!(capture["bytes"].as_u64(), Some(size));
    assert_eq!(capture["limit"].as_u64(), Some(64 * 1024));
    assert!(capture["cut"].as_u64().is_some_and(|c| c > 0), "{capture}");
    assert!(
        capture["packets"].as_u64().is_some_and(|c| c > 0),
        "{capture}"
    );
    // Cut at a block boundary: tcpdump reads the whole file without error.
    let dump = tcpdump(&file);
    assert!(dump.contains("10.77.0.2.7"), "{dump}");

    // The human report says what the cap cut.
    let out = run_in(
        &dir.0,
        &[
            "test",
            "--capture",
            "always",
            "--capture-limit",
            "64KiB",
            "--artifacts",
            "out",
            lab.to_str().expect("utf-8"),
        ],
        &[],
    );
    let t = text(&out);
    assert!(t.contains("capture: out/cap-big.pcapng ("), "{t}");
    assert!(t.contains("cut: the file reached its 64 KiB limit"), "{t}");

    // A bad limit is a usage error that builds nothing.
    let out = run_in(
        &dir.0,
        &["test", "--capture", "always", "--capture-limit", "64TB"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("unknown unit"), "{}", text(&out));
    drop(host);
}

#[test]
fn pcap_streams_from_a_running_lab_and_ends_with_it() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("pcap");
    let lab = dir.write("lab.toml", &format!("name = \"pcapstream\"\n{LINK}"));
    let runtime = dir.0.join("run");
    let tok = token();
    let out = topolab(&["up", lab.to_str().expect("utf-8")], &runtime, &tok);
    assert!(out.status.success(), "{}", text(&out));

    let mut pcap = Command::new(bin())
        .args(["pcap", "pcapstream", "server:eth0"])
        .env("TOPOLAB_RUNTIME_DIR", &runtime)
        .env("TOPOLAB_TEST_TOKEN", &tok)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pcap");
    let mut stdout = pcap.stdout.take().expect("stdout");
    // The stream starts with its headers as soon as the socket is open.
    let mut head = [0u8; 4];
    stdout.read_exact(&mut head).expect("pcapng header");
    assert_eq!(u32::from_le_bytes(head), 0x0A0D_0D0A);

    let out = topolab(
        &[
            "exec",
            "pcapstream",
            "client",
            "--",
            "bash",
            "-c",
            "exec 3<>/dev/tcp/10.77.0.2/80",
        ],
        &runtime,
        &tok,
    );
    assert!(out.status.success(), "{}", text(&out));
    let reader = std::thread::spawn(move || {
        let mut rest = Vec::new();
        let _ = stdout.read_to_end(&mut rest);
        rest
    });
    let out = topolab(&["down", "pcapstream"], &runtime, &tok);
    assert!(out.status.success(), "{}", text(&out));

    // `down` ends the stream: pcap exits by itself, with status 0.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = pcap.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "pcap still running after down");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    let _ = pcap.stderr.take().expect("stderr").read_to_string(&mut err);
    assert!(status.success(), "{status}: {err}");
    assert!(err.contains("went down"), "{err}");
    let mut bytes = head.to_vec();
    bytes.extend(reader.join().expect("reader"));

    let (names, packets) = read_pcapng(&bytes);
    assert_eq!(names, vec!["server:eth0"]);
    assert!(
        packets.iter().any(|p| !p.outbound
            && tcp(p).is_some_and(|(s, d, port, f)| s == "10.77.0.1"
                && d == "10.77.0.2"
                && port == 80
                && f & SYN != 0)),
        "{packets:?}"
    );
    let file = dir.0.join("stream.pcapng");
    std::fs::write(&file, &bytes).expect("write");
    assert!(tcpdump(&file).contains("10.77.0.1."));

    // Usage errors.
    let out = topolab(&["pcap", "pcapstream", "server"], &runtime, &tok);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_no_processes(&tok);
    drop(host);
}

#[test]
fn a_rootless_run_captures_too() {
    require_root!();
    let host = HostGuard::new();
    let dir = UserDir::new("capture-rootless");
    let lab = dir.write("fail.toml", &failing_lab());
    let artifacts = dir.owned_dir("artifacts");
    let tok = token();
    let out = dir
        .command(&tok, &[("CI", "true")])
        .args(["test", "--capture", "on-failure", "--artifacts"])
        .arg(&artifacts)
        .arg(&lab)
        .output()
        .expect("runuser");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let file = artifacts.join("cap-fail.pcapng");
    let dump = tcpdump(&file);
    assert!(
        dump.contains("> 10.77.0.2.8080: Flags [S]"),
        "rootless capture without the probe:\n{dump}\n{}",
        text(&out)
    );
    assert_no_processes(&tok);
    drop(host);
}

#[test]
fn a_link_flap_does_not_end_the_recording() {
    require_root!();
    let host = HostGuard::new();
    let dir = TempDir::new("capture-flap");
    // The only ping goes out after a:eth0 went down and came back: its socket reported
    // ENETDOWN in between and must still record.
    let lab = dir.write(
        "flap.toml",
        "name = \"cap-flap\"\n[nodes.a]\n[nodes.b]\n\
         [[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\naddresses = [\"10.77.0.1/24\", \"10.77.0.2/24\"]\n\
         [[steps]]\nname = \"down\"\nactions = [ { down = \"a:eth0\" } ]\n\
         [[steps]]\nname = \"up\"\nactions = [ { up = \"a:eth0\" } ]\n\
         checks = [ { from = \"a\", ping = \"10.77.0.2\", expect = \"ok\", within = \"5s\" } ]\n",
    );
    let out = run_in(
        &dir.0,
        &["test", "--capture", "always", lab.to_str().expect("utf-8")],
        &[],
    );
    assert!(text(&out).contains("1/1 checks passed"), "{}", text(&out));
    let bytes = std::fs::read(dir.0.join("topolab-artifacts/cap-flap.pcapng")).expect("file");
    let (_, packets) = read_pcapng(&bytes);
    let echo_request_from_a = |p: &Packet| {
        let d = &p.data;
        d.len() > 34
            && d[12..14] == [0x08, 0x00]
            && d[23] == 1
            && d[26..30] == [10, 77, 0, 1]
            && d[34] == 8
    };
    assert!(
        packets
            .iter()
            .any(|p| p.iface == "a:eth0" && p.outbound && echo_request_from_a(p)),
        "{packets:?}"
    );
    assert!(
        packets
            .iter()
            .any(|p| p.iface == "b:eth0" && !p.outbound && echo_request_from_a(p))
    );
    drop(host);
}

#[test]
fn pcap_streams_from_a_rootless_lab() {
    require_root!();
    let host = HostGuard::new();
    let dir = UserDir::new("pcap-rootless");
    let lab = dir.write("lab.toml", &format!("name = \"pcaprootless\"\n{LINK}"));
    let tok = token();
    let as_user = |args: &[&str]| {
        let mut c = dir.command(&tok, &[]);
        c.args(args);
        c
    };
    let out = as_user(&["up", lab.to_str().expect("utf-8")])
        .output()
        .expect("up");
    assert!(out.status.success(), "{}", text(&out));
    let mut pcap = as_user(&["pcap", "pcaprootless", "server:eth0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pcap");
    let mut stdout = pcap.stdout.take().expect("stdout");
    let mut head = [0u8; 4];
    let got_header = stdout.read_exact(&mut head).is_ok();
    let out = as_user(&[
        "exec",
        "pcaprootless",
        "client",
        "--",
        "bash",
        "-c",
        "exec 3<>/dev/tcp/10.77.0.2/80",
    ])
    .output()
    .expect("exec");
    assert!(out.status.success(), "{}", text(&out));
    let reader = std::thread::spawn(move || {
        let mut rest = Vec::new();
        let _ = stdout.read_to_end(&mut rest);
        rest
    });
    let out = as_user(&["down", "pcaprootless"]).output().expect("down");
    assert!(out.status.success(), "{}", text(&out));
    let status = pcap.wait().expect("pcap ends with the lab");
    let mut err = String::new();
    let _ = pcap.stderr.take().expect("stderr").read_to_string(&mut err);
    assert!(got_header && status.success(), "{status}: {err}");
    let mut bytes = head.to_vec();
    bytes.extend(reader.join().expect("reader"));
    let (names, packets) = read_pcapng(&bytes);
    assert_eq!(names, vec!["server:eth0"]);
    assert!(
        packets.iter().any(|p| tcp(p)
            .is_some_and(|(s, _, port, f)| s == "10.77.0.1" && port == 80 && f & SYN != 0)),
        "{packets:?}"
    );
    assert_no_processes(&tok);
    drop(host);
}
