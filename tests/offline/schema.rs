//! The committed JSON Schema is the one the code generates, it is strict, documented, and
//! accepts every bundled lab.

use serde_json::Value;

const REGENERATE: &str = "cargo run -- schema > schemas/lab.schema.json";

fn committed_schema() -> Value {
    let text = std::fs::read_to_string(crate::support::repo_path("schemas/lab.schema.json"))
        .unwrap_or_else(|e| panic!("schemas/lab.schema.json: {e}; create it with `{REGENERATE}`"));
    serde_json::from_str(&text).expect("schemas/lab.schema.json is JSON")
}

#[test]
fn committed_schema_is_up_to_date() {
    let committed = std::fs::read_to_string(crate::support::repo_path("schemas/lab.schema.json"))
        .unwrap_or_default();
    let generated = topolab::front::schema::lab_schema_text();
    assert!(
        committed == generated,
        "schemas/lab.schema.json differs from the schema generated from src/spec; \
         regenerate it with `{REGENERATE}` and commit the result"
    );
}

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    let schema = committed_schema();
    assert_eq!(
        schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "editors pick the draft from $schema"
    );
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("the schema does not conform to its meta-schema: {e}");
    }
}

/// Every table of the format, with its name, as (name, schema object).
fn tables(schema: &Value) -> Vec<(String, &Value)> {
    let mut out = vec![("(root)".to_string(), schema)];
    if let Some(defs) = schema["$defs"].as_object() {
        out.extend(
            defs.iter()
                .filter(|(_, d)| d.get("properties").is_some())
                .map(|(n, d)| (n.clone(), d)),
        );
    }
    out
}

#[test]
fn every_table_rejects_unknown_keys() {
    let schema = committed_schema();
    let open: Vec<String> = tables(&schema)
        .into_iter()
        .filter(|(_, t)| t.get("additionalProperties") != Some(&Value::Bool(false)))
        .map(|(n, _)| n)
        .collect();
    assert!(
        open.is_empty(),
        "tables without additionalProperties: false (add #[schemars(deny_unknown_fields)]): {open:?}"
    );
}

#[test]
fn every_key_is_described() {
    let schema = committed_schema();
    let mut missing = Vec::new();
    for (name, table) in tables(&schema) {
        if name != "(root)" && table.get("description").is_none() {
            missing.push(name.clone());
        }
        for (key, prop) in table["properties"].as_object().into_iter().flatten() {
            if prop.get("description").is_none() {
                missing.push(format!("{name}.{key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "write a doc comment in src/spec for: {missing:?}"
    );
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&committed_schema()).expect("the schema compiles")
}

fn toml_to_json(text: &str) -> Value {
    toml::from_str(text).expect("valid TOML")
}

#[test]
fn every_bundled_lab_validates_against_the_schema() {
    let validator = validator();
    let mut failures = Vec::new();
    for path in crate::support::lab_files() {
        let text = std::fs::read_to_string(&path).expect("readable lab");
        let instance = toml_to_json(&text);
        for e in validator.iter_errors(&instance) {
            failures.push(format!(
                "{}: {} at {}",
                path.display(),
                e,
                e.instance_path()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bundled_lab_points_editors_at_the_schema() {
    for path in crate::support::lab_files() {
        let text = std::fs::read_to_string(&path).expect("readable lab");
        let depth = path
            .strip_prefix(crate::support::repo_path("labs"))
            .expect("lab under labs/")
            .components()
            .count();
        let expected = format!("#:schema {}schemas/lab.schema.json", "../".repeat(depth));
        assert_eq!(
            text.lines().next(),
            Some(expected.as_str()),
            "{}: the first line tells editors (taplo, Even Better TOML) where the schema is",
            path.display()
        );
    }
}

#[test]
fn schema_rejects_unknown_keys_and_wrong_types() {
    let validator = validator();
    let good = toml_to_json(
        r#"
name = "t"
[nodes.a]
[[links]]
endpoints = ["a:eth0", "a:eth1"]
"#,
    );
    assert!(validator.is_valid(&good));
    for bad in [
        "name = \"t\"\nnmae = \"typo\"",
        "name = \"t\"\n[nodes.a]\nfoward = true",
        "name = \"t\"\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\nmtu = \"big\"",
        "name = \"t\"\n[[checks]]\nfrom = \"a\"\nroute = \"10.0.0.1\"\nexpect = { gateway = \"10.0.0.1\" }",
        "name = \"t\"\n[nodes.a.interfaces.br0]\nkind = \"bridg\"",
        "description = \"no name\"",
    ] {
        assert!(
            !validator.is_valid(&toml_to_json(bad)),
            "the schema accepts:\n{bad}"
        );
    }
}

#[test]
fn the_format_reference_is_current() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/lab-format.md"))
            .expect("docs/lab-format.md");
    assert!(
        committed
            == topolab::front::schema::reference::markdown(&topolab::front::schema::lab_schema()),
        "docs/lab-format.md is out of date: regenerate it with `cargo run -- schema --markdown > docs/lab-format.md`"
    );
}

#[test]
fn the_readme_labs_are_valid() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut found = 0;
    for block in readme.split("```toml\n").skip(1) {
        let text = block.split("```").next().unwrap_or("");
        let loaded = topolab::front::validate::load_source(
            topolab::front::source::SourceFile::new("README.md", text),
        );
        assert!(
            loaded.diags.is_empty(),
            "a lab in the README is not clean:\n{}",
            loaded.render(false)
        );
        found += 1;
    }
    assert!(found > 0, "the README shows no lab");
}

#[test]
fn the_tutorial_lab_is_valid() {
    let tutorial = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/tutorial-first-incident.md"
    ))
    .expect("the tutorial");
    let blocks: Vec<&str> = tutorial
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or(""))
        .collect();
    assert!(blocks.len() >= 2, "the tutorial shows no lab");
    // The lab as first written, then with the checks of section 7 in place of its own.
    let first = blocks[0];
    let topology = first.split("[[checks]]").next().unwrap_or("");
    for (what, text) in [
        ("the first lab", first.to_string()),
        (
            "the lab with the symptom's checks",
            format!("{topology}{}", blocks[1]),
        ),
    ] {
        let loaded = topolab::front::validate::load_source(
            topolab::front::source::SourceFile::new("tutorial.toml", &text),
        );
        assert!(
            loaded.diags.is_empty(),
            "{what} in the tutorial is not clean:\n{}",
            loaded.render(false)
        );
    }
}

/// What an editor flags while typing (issue 13, item 11): beyond unknown keys and types,
/// the outcome vocabulary, name patterns, 1-2 link endpoints and one probe per check.
#[test]
fn the_schema_catches_what_an_editor_can_check() {
    let validator = validator();
    let ok = "name = \"x\"\n[nodes.a]\n[nodes.b]\n[[links]]\nendpoints = [\"a:eth0\", \"b:eth0\"]\n[[checks]]\nfrom = \"a\"\nping = \"10.0.0.2\"\nexpect = \"admin-prohibited\"\n";
    let errors = |text: &str| -> Vec<String> {
        validator
            .iter_errors(&toml_to_json(text))
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    };
    assert!(errors(ok).is_empty(), "{:?}", errors(ok));
    for (what, bad) in [
        (
            "a misspelt outcome",
            ok.replace("admin-prohibited", "admin-prohibitted"),
        ),
        (
            "two probes",
            ok.replace("ping = ", "tcp = \"10.0.0.2:22\"\nping = "),
        ),
        ("no probe", ok.replace("ping = \"10.0.0.2\"\n", "")),
        (
            "three endpoints",
            ok.replace("\"b:eth0\"]", "\"b:eth0\", \"c:eth0\"]"),
        ),
        (
            "an uppercase node name",
            ok.replace("[nodes.b]", "[nodes.B]"),
        ),
        (
            "a lab name with a dot",
            ok.replace("name = \"x\"", "name = \"x.y\""),
        ),
    ] {
        assert!(
            !errors(&bad).is_empty(),
            "the schema accepts {what}:\n{bad}"
        );
    }
}
