//! `[[steps]]`: actions (one verb each), their options and references.

use super::{ab, all, clean, one};

#[test]
fn an_action_without_verb() {
    one(&ab(
        "[[steps]]\nname = \"s\"\nactions = [{ node = \"a\" }]\n",
    ))
    .error((9, 12), "an action needs a verb")
    .help("one of: down, up, flap");
}

#[test]
fn an_action_with_two_verbs() {
    one(&ab(
        "[[steps]]\nname = \"s\"\nactions = [{ down = \"a:eth0\", up = \"a:eth0\" }]\n",
    ))
    .error((9, 31), "an action has one verb, this one has down and up")
    .help("one action per verb");
}

#[test]
fn options_of_other_verbs() {
    let ds = all(&ab(
        "[[steps]]\nname = \"s\"\nactions = [{ down = \"a:eth0\", times = 3, node = \"a\" }, { partition = [\"a\", \"b\"], node = \"a\" }]\n",
    ));
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0]
        .error((9, 31), "`times` does not apply to `down`")
        .help("`times` goes with flap");
    ds[1]
        .error((9, 42), "`node` does not apply to `down`")
        .help("\"node:iface\"");
    ds[2]
        .error((9, 82), "`node` does not apply to `partition`")
        .help("lists its two nodes itself");
}

#[test]
fn interfaces_of_actions() {
    let ds = all(&ab(
        "[[steps]]\nname = \"s\"\nactions = [{ down = \"a:eth1\" }, { up = \"eth0\" }, { clear = \"c:eth0\" }]\n",
    ));
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0]
        .error((9, 21), "node `a` has no interface `eth1`")
        .help("did you mean `eth0`?");
    ds[1]
        .error((9, 40), "`eth0` does not name an interface")
        .help("\"node:iface\"");
    ds[2].error((9, 60), "unknown node `c`");
}

#[test]
fn services_of_actions() {
    one(&ab(r#"[[nodes.b.services]]
name = "nginx"
cmd = "nginx"
[[steps]]
name = "s"
actions = [{ node = "b", stop = "ngnix" }]
"#))
    .error((12, 33), "node `b` has no service `ngnix`")
    .help("did you mean `nginx`?");
}

#[test]
fn node_actions_need_node() {
    one(&ab(
        "[[steps]]\nname = \"s\"\nactions = [{ exec = \"ip link\" }]\n",
    ))
    .error((9, 12), "`exec` needs the `node` it applies to")
    .help("add node = \"...\"");
}

#[test]
fn partitions() {
    let ds = all(&ab(
        "[[steps]]\nname = \"s\"\nactions = [{ partition = [\"a\"] }, { heal = [\"a\", \"a\"] }]\n",
    ));
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0]
        .error((9, 26), "`partition` takes two node names, got 1")
        .help("[\"a\", \"b\"]");
    ds[1]
        .error((9, 44), "`heal` names `a` twice")
        .help("name the two nodes");
}

#[test]
fn verbs_missing_their_value() {
    let ds = all(&ab(
        "[[steps]]\nname = \"s\"\nactions = [{ set_mtu = \"a:eth0\" }, { impair = \"a:eth0\" }, { impair = \"a:eth0\", with = { from = \"b:eth0\", loss = \"1%\" } }]\n",
    ));
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0]
        .error((9, 12), "`set_mtu` needs `mtu`")
        .help("mtu = 1400");
    ds[1].error((9, 36), "`impair` needs `with`");
    ds[2]
        .error(
            (9, 89),
            "the action already names the interface whose egress is impaired",
        )
        .help("remove `from`");
}

#[test]
fn flaps() {
    let ds = all(&ab(
        "[[steps]]\nname = \"s\"\nactions = [{ flap = \"a:eth0\", times = 0 }, { flap = \"a:eth0\", period = \"fast\" }]\n",
    ));
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].error((9, 39), "flapping 0 times does nothing");
    ds[1].error((9, 72), "`fast` is not a duration");
}

#[test]
fn a_step_that_does_nothing() {
    one(&ab("[[steps]]\nname = \"idle\"\n"))
        .error((7, 1), "step `idle` does nothing")
        .help("[[steps.actions]]");
}

#[test]
fn step_sysctls_and_routes() {
    let ds = all(&ab(
        "[[steps]]\nname = \"s\"\nactions = [{ node = \"a\", sysctl = { \"vm.swappiness\" = 1 } }, { node = \"a\", route_add = { to = \"10.9.0.0/16\" } }]\n",
    ));
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].error((9, 37), "sysctl `vm.swappiness` is not a network sysctl");
    ds[1].error((9, 88), "a unicast route needs `via` or `dev`");
}

#[test]
fn step_checks_are_checked_like_checks() {
    one(&ab("[[steps]]\nname = \"s\"\n[[steps.checks]]\nfrom = \"a\"\nping = \"10.0.0.2\"\nexpect = \"dropped\"\n"))
        .error((12, 10), "unknown outcome `dropped`")
        .help("did you mean `timeout`?");
}

#[test]
fn valid_steps() {
    clean(&ab(r#"[[nodes.b.services]]
name = "web"
cmd = "sleep 1000"
[[steps]]
name = "cut the link"
actions = [
  { down = "a:eth0" },
  { flap = "b:eth0", times = 2, period = "200ms" },
  { impair = "a:eth0", with = { delay = "50ms", loss = "1%" } },
  { clear = "a:eth0" },
  { set_mtu = "a:eth0", mtu = 1400 },
  { partition = ["a", "b"] },
  { heal = ["a", "b"] },
  { node = "b", stop = "web" },
  { node = "a", exec = "ip link" },
  { node = "a", route_add = { to = "10.9.0.0/16", via = "10.0.0.2" } },
  { node = "a", sysctl = { "net.ipv4.ip_forward" = 1 } },
]
[[steps.checks]]
from = "a"
ping = "10.0.0.2"
expect = "timeout"
"#));
}
