//! `[[checks]]`: probes, options, outcomes and expectations.

use super::{ab, all, clean, load, one};

#[test]
fn a_check_without_probe() {
    one(&ab("[[checks]]\nfrom = \"a\"\n"))
        .error(
            (7, 1),
            "a check needs a probe: one of `ping`, `tcp`, `udp`, `route`, `command` or `trace`",
        )
        .help("ping = \"10.0.0.2\"");
}

#[test]
fn a_check_with_two_probes() {
    one(&ab(
        "[[checks]]\nfrom = \"a\"\nping = \"10.0.0.2\"\ntcp = \"10.0.0.2:80\"\n",
    ))
    .error(
        (10, 1),
        "a check has one probe, this one has ping = \"10.0.0.2\" and tcp = \"10.0.0.2:80\"",
    )
    .help("split it into two [[checks]]");
}

#[test]
fn a_check_without_probe_still_reports_its_other_mistakes() {
    let ds = all(&ab("[[checks]]\nfrom = \"c\"\nexpect = \"sucess\"\n"));
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0].error(
        (7, 1),
        "a check needs a probe: one of `ping`, `tcp`, `udp`, `route`, `command` or `trace`",
    );
    ds[1].error((8, 8), "unknown node `c`");
    ds[2]
        .error((9, 10), "unknown outcome `sucess`")
        .help("did you mean `ok`?");
}

#[test]
fn a_missing_from() {
    one(&ab("[[checks]]\nping = \"10.0.0.2\"\n"))
        .error((7, 1), "missing required key `from`")
        .help("add `from` to this table");
}

#[test]
fn unknown_outcomes() {
    let ds = all(&ab(r#"[[checks]]
from = "a"
ping = "10.0.0.2"
expect = "host-unreachble"
[[checks]]
from = "a"
tcp = "10.0.0.2:22"
expect = "closed"
[[checks]]
from = "a"
tcp = "10.0.0.2:23"
expect = "unreachable"
[[checks]]
from = "a"
tcp = "10.0.0.2:24"
expect = "Host_Unreachable"
[[checks]]
from = "a"
tcp = "10.0.0.2:25"
expect = "banana"
"#));
    assert_eq!(ds.len(), 5, "{ds:#?}");
    ds[0]
        .error((10, 10), "unknown outcome `host-unreachble`")
        .help("did you mean `host-unreachable`?");
    ds[1]
        .error((14, 10), "unknown outcome `closed`")
        .help("did you mean `refused`?");
    ds[2]
        .error((18, 10), "unknown outcome `unreachable`")
        .help("say how it fails: `timeout` (no answer)");
    ds[3]
        .error((22, 10), "unknown outcome `Host_Unreachable`")
        .help("write it `host-unreachable`");
    ds[4]
        .error((26, 10), "unknown outcome `banana`")
        .help("outcomes: ok, timeout, refused, no-route, net-unreachable");
}

#[test]
fn outcomes_a_probe_cannot_observe() {
    let ds = all(&ab(r#"[[checks]]
from = "a"
ping = "10.0.0.2"
expect = "refused"
[[checks]]
from = "a"
tcp = "10.0.0.2:22"
expect = "port-unreachable"
[[checks]]
from = "a"
udp = "10.0.0.2:53"
expect = "refused"
[[checks]]
from = "a"
route = "10.0.0.2"
expect = "timeout"
"#));
    assert_eq!(ds.len(), 4, "{ds:#?}");
    ds[0]
        .error((10, 10), "a ping check cannot observe `refused`")
        .help("an ICMP echo has no port");
    ds[1]
        .error((14, 10), "a tcp check cannot observe `port-unreachable`")
        .help("expect \"refused\"");
    ds[2]
        .error((18, 10), "a udp check cannot observe `refused`")
        .help("port-unreachable");
    ds[3]
        .error((22, 10), "a route lookup cannot observe `timeout`")
        .help("\"no-route\"");
}

#[test]
fn route_expectations() {
    let ds = all(&ab(r#"[[checks]]
from = "a"
ping = "10.0.0.2"
expect = { dev = "eth0" }
[[checks]]
from = "a"
route = "10.0.0.2"
expect = { type = "blackhol" }
[[checks]]
from = "a"
route = "10.0.0.3"
expect = {}
[[checks]]
from = "a"
route = "10.0.0.4"
expect = { dev = "eth1", via = "10.0.0.1/24" }
"#));
    assert_eq!(ds.len(), 5, "{ds:#?}");
    ds[0]
        .error((10, 10), "a ping check expects an outcome name")
        .help("route attributes belong to `route` checks");
    ds[1]
        .error((14, 19), "unknown route type `blackhol`")
        .help("did you mean `blackhole`?");
    ds[2].error((18, 10), "the route expectation is empty");
    ds[3].error((22, 18), "node `a` has no interface `eth1`");
    ds[4].error(
        (22, 32),
        "`10.0.0.1/24` is a prefix, an address is expected here",
    );
}

#[test]
fn options_of_other_probe_kinds() {
    let ds = all(&ab(r#"[[checks]]
from = "a"
tcp = "10.0.0.2:80"
count = 3
size = 100
[[checks]]
from = "a"
ping = "10.0.0.2"
iif = "eth0"
send = 10
[[checks]]
from = "a"
route = "10.0.0.2"
timeout = "1s"
"#));
    assert_eq!(ds.len(), 5, "{ds:#?}");
    ds[0]
        .error((10, 1), "`count` does not apply to a tcp check")
        .help("`count` is an option of ping checks");
    ds[1]
        .error((11, 1), "`size` does not apply to a tcp check")
        .help("ping / udp");
    ds[2].error((15, 1), "`iif` does not apply to a ping check");
    ds[3].error((16, 1), "`send` does not apply to a ping check");
    ds[4].error((20, 1), "`timeout` does not apply to a route check");
}

#[test]
fn probe_targets() {
    let ds = all(&ab(r#"[[checks]]
from = "a"
tcp = "10.0.0.2"
[[checks]]
from = "a"
tcp = "10.0.0.2:99999"
[[checks]]
from = "a"
udp = "fd00::2:53"
[[checks]]
from = "a"
udp = "10.0.0.2:0"
[[checks]]
from = "a"
ping = "b"
[[checks]]
from = "a"
ping = "10.0.0.0/24"
"#));
    assert_eq!(ds.len(), 6, "{ds:#?}");
    ds[0]
        .error((9, 7), "`10.0.0.2` has no port")
        .help("\"10.0.0.2:80\"");
    ds[1]
        .error((12, 7), "port `99999` is not valid in `10.0.0.2:99999`")
        .help("1 to 65535");
    // An IPv6 address can end in what looks like a port.
    ds[2]
        .error((15, 7), "`fd00::2:53` has no port")
        .help("\"[fd00::2:53]:PORT\"");
    ds[3].error((18, 7), "port 0 is not a port (in `10.0.0.2:0`)");
    ds[4]
        .error((21, 8), "`b` is not an IP address")
        .help("10.0.0.1");
    ds[5].error(
        (24, 8),
        "`10.0.0.0/24` is a prefix, an address is expected here",
    );
}

#[test]
fn via_and_mtu_qualify_some_outcomes_only() {
    let ds = all(&ab(r#"[[checks]]
from = "a"
ping = "10.0.0.2"
via = "10.0.0.2"
[[checks]]
from = "a"
route = "10.0.0.2"
via = "10.0.0.2"
[[checks]]
from = "a"
ping = "10.0.0.3"
expect = "host-unreachable"
mtu = 1400
"#));
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0]
        .error(
            (10, 1),
            "`via` names the sender of an ICMP error; `ok` has none",
        )
        .help("ttl-exceeded");
    ds[1]
        .error(
            (14, 1),
            "a route check compares the gateway inside `expect`",
        )
        .help("expect = { via = \"...\" }");
    ds[2]
        .error((19, 1), "`mtu` is the next-hop MTU of a frag-needed error")
        .help("expect = \"frag-needed\"");
}

#[test]
fn durations_and_zero_timeouts() {
    let ds = all(&ab(r#"[defaults]
timeout = "0s"
[[checks]]
from = "a"
ping = "10.0.0.2"
within = "10"
timeout = "0ms"
"#));
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0]
        .error((8, 11), "a zero timeout cannot observe anything")
        .help("\"2s\"");
    ds[1]
        .error((12, 10), "`10` has no unit")
        .help("\"500ms\", \"4s\"");
    ds[2].error((13, 11), "a zero timeout cannot observe anything");
}

#[test]
fn within_with_a_negative_outcome_is_a_warning() {
    let text = ab(
        "[[checks]]\nfrom = \"a\"\nping = \"10.0.0.9\"\nexpect = \"timeout\"\nwithin = \"10s\"\n",
    );
    assert!(load(&text).lab.is_some());
    one(&text)
        .warning(
            (11, 10),
            "`within` polls until a check passes; `timeout` is observed for the whole timeout instead",
        )
        .help("remove `within`");
}

#[test]
fn probe_sources() {
    let ds = all(&ab(r#"[[checks]]
from = "a"
ping = "10.0.0.2"
source = "10.0.0.7"
[[checks]]
from = "a"
ping = "10.0.0.2"
source = "fd00::1"
"#));
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0]
        .warning((10, 10), "`10.0.0.7` is not an address of node `a`")
        .help("cannot bind it");
    ds[1].error(
        (14, 10),
        "source `fd00::1` and the ping target are of different address families",
    );
}

#[test]
fn probe_option_values() {
    let ds = all(&ab(r#"[[checks]]
from = "a"
ping = "10.0.0.2"
ttl = 0
count = 0
size = 70000
[[checks]]
from = "a"
tcp = "10.0.0.2:80"
send = 0
"#));
    assert_eq!(ds.len(), 4, "{ds:#?}");
    ds[0].error((10, 7), "ttl 0 is not a TTL");
    ds[1].error((11, 9), "count 0 sends nothing");
    ds[2]
        .error((12, 8), "size 70000 does not fit in an IP packet")
        .help("65507");
    ds[3].error((16, 8), "send 0 transfers nothing");
}

#[test]
fn an_empty_check_name() {
    one(&ab(
        "[[checks]]\nname = \" \"\nfrom = \"a\"\nping = \"10.0.0.2\"\n",
    ))
    .error((8, 8), "empty check name");
}

#[test]
fn valid_checks() {
    clean(&ab(r#"[[checks]]
from = "a"
ping = "10.0.0.2"
[[checks]]
from = "a"
tcp = "10.0.0.2:80"
expect = "refused"
[[checks]]
from = "a"
udp = "[fd00::2]:53"
expect = "port-unreachable"
[[checks]]
from = "a"
route = "10.9.9.9"
expect = "no-route"
[[checks]]
from = "a"
route = "10.0.0.2"
expect = { dev = "eth0", type = "unicast" }
[[checks]]
name = "big ping"
from = "a"
ping = "10.0.0.2"
size = 1472
dont_fragment = true
expect = "frag-needed"
via = "10.0.0.2"
mtu = 1400
"#));
}

#[test]
fn a_route_lookup_from_an_input_interface_needs_a_source() {
    one(&ab(
        "[[checks]]\nfrom = \"a\"\nroute = \"10.0.0.2\"\niif = \"eth0\"\n",
    ))
    .error(
        (10, 1),
        "a lookup as if arriving on an interface needs the packet's `source`",
    )
    .help("add source = \"ADDRESS\"");
    clean(&ab(
        "[[checks]]\nfrom = \"a\"\nroute = \"10.0.0.2\"\niif = \"eth0\"\nsource = \"10.0.0.2\"\n",
    ));
}

#[test]
fn a_command_check_resolves_with_its_expectation() {
    let text = ab(
        "[[checks]]\nfrom = \"a\"\ncommand = \"vtysh -c 'show ip ospf neighbor json'\"\nexpect = { exit = 0, stdout = \"Full\", json = { \"/neighbors/2.2.2.2/0/nbrState\" = \"^Full\" } }\nwithin = \"30s\"\n",
    );
    clean(&text);
    let lab = load(&text).lab.expect("lab");
    let c = &lab.checks[0];
    assert_eq!(c.name, "a command vtysh -c 'show ip ospf neighbor json'");
    assert_eq!(
        c.expect,
        crate::front::lab::Expectation::Command(crate::front::lab::CommandExpect {
            exit: Some(crate::front::lab::ExitStatus::Code(0)),
            stdout: Some("Full".into()),
            stderr: None,
            json: vec![("/neighbors/2.2.2.2/0/nbrState".into(), "^Full".into())],
        })
    );
    assert_eq!(c.within, Some(std::time::Duration::from_secs(30)));
    // A node with a command check runs something: it gets its own namespaces.
    assert!(lab.runs_something(c.from));
}

#[test]
fn a_command_check_without_expect_wants_exit_zero() {
    let text = ab("[[checks]]\nfrom = \"a\"\ncommand = \"true\"\n");
    clean(&text);
    let lab = load(&text).lab.expect("lab");
    assert_eq!(
        lab.checks[0].expect,
        crate::front::lab::Expectation::Command(crate::front::lab::CommandExpect {
            exit: Some(crate::front::lab::ExitStatus::Code(0)),
            ..Default::default()
        })
    );
}

#[test]
fn command_check_mistakes() {
    let ds = all(&ab(
        "[[checks]]\nfrom = \"a\"\ncommand = \"true\"\nttl = 3\nexpect = { exit = 300, stdout = \"(\" }\n",
    ));
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0]
        .error((10, 1), "`ttl` does not apply to a command check")
        .help("split it");
    ds[1]
        .error((11, 19), "300 is not an exit status")
        .help("\"nonzero\"");
    ds[2].error(
        (11, 33),
        "`(` is not a regular expression: error: unclosed group",
    );
}

#[test]
fn command_keys_need_a_command_check() {
    one(&ab(
        "[[checks]]\nfrom = \"a\"\nping = \"10.0.0.2\"\nexpect = { exit = 1 }\n",
    ))
    .error(
        (10, 10),
        "exit, stdout, stderr and json are what a command check expects",
    )
    .help("give the check a `command`");
}
