//! Lab-wide tables (requires, snapshot, exercise, matrix) and how the parse stage and
//! validation combine: every error of a file in one run, without consequential ones.

use super::{ab, ab_a, all, one};

#[test]
fn requirements() {
    let ds = all(&ab(
        "[requires]\nkernel = \"five\"\nfeatures = [\"vxaln\", \"quantum\"]\n",
    ));
    assert_eq!(ds.len(), 3, "{ds:#?}");
    ds[0]
        .error((8, 10), "`five` is not a kernel version")
        .help("\"5.14\"");
    ds[1]
        .error((9, 13), "unknown kernel feature `vxaln`")
        .help("did you mean `vxlan`?");
    ds[2]
        .error((9, 22), "unknown kernel feature `quantum`")
        .help("known features: veth, bridge");
}

#[test]
fn snapshot_nodes() {
    one(&ab(
        "[snapshot]\nstate = [\"routes\"]\nnodes = [\"a\", \"bb\"]\n",
    ))
    .error((9, 15), "unknown node `bb`")
    .help("did you mean `b`?");
}

#[test]
fn snapshot_state_kinds() {
    one(&ab("[snapshot]\nstate = [\"routs\"]\n"))
        .error(
            (8, 10),
            "unknown variant `routs`, expected one of `routes`, `addresses`, `rules`, `neighbours`, `nft`",
        )
        .help("did you mean `routes`?");
}

#[test]
fn exercise_files() {
    let ds = all(&ab(r#"[exercise]
title = "t"
goal = "g"
files = [
  { path = "../x.nft", kind = "nft", node = "a" },
  { path = "r", kind = "routes" },
  { path = "p", kind = "patch", node = "a" },
  { path = "p", kind = "exec", node = "z" },
]
"#));
    assert_eq!(ds.len(), 5, "{ds:#?}");
    ds[0].error((11, 12), "`../x.nft` is not a plain file name");
    ds[1].error((12, 3), "a `routes` file needs the `node` it applies to");
    ds[2].error(
        (13, 33),
        "a patch applies to the whole lab, not to one node",
    );
    ds[3].error((14, 12), "`p` is listed twice");
    ds[4].error((14, 39), "unknown node `z`");
}

#[test]
fn matrices() {
    let ds = all(&ab(r#"[[matrix]]
probe = "http"
[[matrix]]
from = ["a", "c"]
expect = "okay"
[[matrix]]
except = [{ from = "a", to = "10.9.9.9", expect = "timeout" }]
"#));
    assert_eq!(ds.len(), 4, "{ds:#?}");
    ds[0]
        .error((8, 9), "unknown matrix probe `http`")
        .help("\"tcp:80\"");
    ds[1].error((10, 14), "unknown node `c`");
    ds[2]
        .error((11, 10), "unknown outcome `okay`")
        .help("did you mean `ok`?");
    ds[3]
        .error(
            (13, 30),
            "no pair of this matrix goes from `a` to `10.9.9.9`",
        )
        .help("a target node of the matrix");
}

#[test]
fn unknown_keys_and_validation_errors_in_one_run() {
    let ds = all(&ab(
        "[[checks]]\nfrom = \"a\"\nping = \"10.0.0.300\"\ntimout = \"1s\"\n",
    ));
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].error((9, 8), "`10.0.0.300` is not an IP address");
    ds[1]
        .error((10, 1), "unknown key `timout` in checks[0]")
        .help("did you mean `timeout`?");
}

#[test]
fn a_misspelt_key_does_not_also_report_its_absence() {
    one(&ab_a(
        r#"routes = [{ to = "default", vai = "10.0.0.2" }]"#,
        "",
    ))
    .error((3, 29), "unknown key `vai` in nodes.a.routes[0]")
    .help("did you mean `via`?");
}

#[test]
fn a_misspelt_kind_is_validated_as_the_likely_kind() {
    // With `kind` read as "vxlan", the missing `vni` is found in the same run.
    let ds = all(
        "name = \"t\"\n[nodes.a.interfaces.vx0]\nkind = \"vxaln\"\n[nodes.b.interfaces.vx0]\nkind = \"vxlan\"\n",
    );
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].help("did you mean `vxlan`?");
    ds[1].error((4, 1), "a vxlan interface needs `vni`");
}

#[test]
fn a_wrong_type_and_a_bad_name_in_one_run() {
    let ds = all("name = \"t\"\n[nodes.A]\nforward = \"yes\"\n");
    assert_eq!(ds.len(), 2, "{ds:#?}");
    ds[0].error((2, 8), "node name `A` is not valid");
    ds[1].error((3, 11), "invalid type: string \"yes\", expected a boolean");
}

#[test]
fn syntax_errors_stop_before_validation() {
    let ds = all("name = \"t\"\n[nodes.a\n[nodes.B]\n");
    assert_eq!(ds.len(), 1, "{ds:#?}");
    assert_eq!(ds[0].at.0, 2);
}
