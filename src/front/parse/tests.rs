//! Parse-stage errors: syntax, duplicates, types and unknown keys, with their locations.

use super::*;

fn errors(text: &str) -> Vec<(String, (usize, usize), Option<String>)> {
    let file = SourceFile::new("t.toml", text);
    let diags = match parse(&file) {
        Ok(p) => p.diags,
        Err(ds) => ds,
    };
    diags
        .iter()
        .map(|d| (d.message.clone(), d.location(&file), d.help.clone()))
        .collect()
}

#[test]
fn reports_every_unknown_key_with_suggestion() {
    let errs = errors(
        "name = \"x\"\nnmae = 1\n[[links]]\nendpoints = [\"a:e\", \"b:e\"]\nadresses = []\n",
    );
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, "unknown key `nmae` at the top level");
    assert_eq!(errs[0].1, (2, 1));
    assert_eq!(errs[1].0, "unknown key `adresses` in links[0]");
    assert_eq!(errs[1].1, (5, 1));
    assert_eq!(errs[1].2.as_deref(), Some("did you mean `addresses`?"));
}

#[test]
fn unknown_keys_inside_route_expectations_are_found() {
    let errs = errors(
        "name = \"x\"\n[[checks]]\nfrom = \"a\"\nroute = \"1.2.3.4\"\nexpect = { deev = \"eth0\" }\n",
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "unknown key `deev` in checks[0].expect");
    assert_eq!(errs[0].2.as_deref(), Some("did you mean `dev`?"));
}

#[test]
fn type_errors_have_a_location() {
    let errs = errors("name = \"x\"\n[[links]]\nendpoints = [\"a:e\", \"b:e\"]\nmtu = \"big\"\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].1, (4, 7));
    assert!(
        errs[0]
            .0
            .contains("expected an integer from 0 to 4294967295"),
        "{errs:?}"
    );
}

#[test]
fn integers_out_of_range_name_the_range_in_the_lab_authors_words() {
    for value in ["4294967296", "-1"] {
        let errs = errors(&format!(
            "name = \"x\"\n[[links]]\nendpoints = [\"a:e\", \"b:e\"]\nmtu = {value}\n"
        ));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0]
                .0
                .contains("expected an integer from 0 to 4294967295"),
            "{errs:?}"
        );
        assert!(
            !errs[0].0.contains("i128") && !errs[0].0.contains("u32"),
            "{errs:?}"
        );
    }
}

#[test]
fn syntax_errors_have_a_location() {
    let errs = errors("name = \"x\"\n[nodes.a\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].1.0, 2);
}

#[test]
fn a_table_defined_twice_names_the_table_and_its_first_line() {
    let errs = errors("name = \"x\"\n[nodes.a]\nforward = true\n\n[nodes.a]\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "table `nodes.a` is defined twice");
    assert_eq!(errs[0].1, (5, 8));
    assert_eq!(
        errs[0].2.as_deref(),
        Some(
            "it is first defined on line 2; merge the two, or rename one if they are meant to be different"
        )
    );
}

#[test]
fn a_quoted_table_name_is_the_same_table() {
    let errs = errors("name = \"x\"\n[nodes.a.interfaces.eth0]\n[nodes.\"a\".interfaces.eth0]\n");
    assert_eq!(
        errs[0].0,
        "table `nodes.a.interfaces.eth0` is defined twice"
    );
    assert_eq!(errs[0].1, (3, 23));
    assert!(
        errs[0].2.as_deref().unwrap_or("").contains("line 2"),
        "{errs:?}"
    );
}

#[test]
fn a_key_set_twice_names_the_full_path_and_first_line() {
    let errs = errors("name = \"x\"\n[nodes.a]\nforward = true\nsysctl = {}\nforward = false\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "key `nodes.a.forward` is set twice");
    assert_eq!(errs[0].1, (5, 1));
    assert_eq!(
        errs[0].2.as_deref(),
        Some("it is first set on line 3; remove one of them")
    );
}

#[test]
fn a_key_set_twice_in_an_inline_table() {
    let errs =
        errors("name = \"x\"\n[nodes.a]\nroutes = [{ to = \"default\", to = \"10.0.0.0/8\" }]\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "key `to` is set twice in this table");
    assert_eq!(errs[0].1, (3, 29));
}

#[test]
fn every_type_error_is_reported_not_just_the_first() {
    let errs = errors(
        "name = \"x\"\n[nodes.a]\nlisten = [{ tcp = 70000 }]\n[[links]]\nendpoints = [\"a:e\", \"b:e\"]\nmtu = \"big\"\n",
    );
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].1, (3, 19));
    assert_eq!(
        errs[0].0,
        "invalid value: integer `70000`, expected an integer from 0 to 65535"
    );
    assert_eq!(errs[1].1, (6, 7));
}

#[test]
fn a_missing_required_key_is_reported_with_the_other_errors() {
    let errs =
        errors("name = \"x\"\n[[checks]]\nping = \"10.0.0.1\"\n[[links]]\nendpoints = \"a:e\"\n");
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, "missing required key `from`");
    assert_eq!(errs[0].1, (2, 1));
    assert_eq!(errs[1].1, (5, 13));
}

#[test]
fn an_unknown_enum_value_suggests_the_closest() {
    let errs = errors("name = \"x\"\n[nodes.a.interfaces.br0]\nkind = \"brige\"\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].0.starts_with("unknown variant `brige`"), "{errs:?}");
    assert_eq!(errs[0].1, (3, 8));
    assert_eq!(errs[0].2.as_deref(), Some("did you mean `bridge`?"));
}

#[test]
fn repaired_paths_are_recorded_for_validation() {
    let file = SourceFile::new(
        "t.toml",
        "name = \"x\"\n[nodes.a.interfaces.br0]\nkind = \"brige\"\nmtu = \"x\"\n",
    );
    let parsed = parse(&file).expect("repairable");
    let br0 = TomlPath::root()
        .key("nodes")
        .key("a")
        .key("interfaces")
        .key("br0");
    assert_eq!(parsed.repaired, vec![br0.key("kind"), br0.key("mtu")]);
    assert_eq!(parsed.diags.len(), 2);
}

#[test]
fn extending_an_inline_table_is_reported_once_with_a_help() {
    let errs = errors("name = \"x\"\nnodes = { a = {} }\n[nodes.b]\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].0,
        "cannot extend value of type inline table with a dotted key"
    );
    assert_eq!(errs[0].1, (3, 2));
    assert!(errs[0].2.as_deref().unwrap_or("").contains("[header]"));
}

#[test]
fn nesting_beyond_the_recursion_limit_is_located() {
    // Dotted keys nest tables too; the parser gives no place for this error.
    let deep = format!("name = \"x\"\n\n  {} = 1\n", vec!["a"; 300].join("."));
    let errs = errors(&deep);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].0.contains("nested too deeply"), "{errs:?}");
    assert_eq!(errs[0].1, (3, 3), "{errs:?}");
}
