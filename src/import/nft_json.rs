//! `nft -j list ruleset` rendered as the nft syntax a lab node's `nft` takes.
//!
//! Only what this module knows is rendered: tables, plain sets, chains (type, hook,
//! priority, policy, device) and rules made of the common expressions (matches on
//! payload/meta/ct/fib fields against values, prefixes, ranges, anonymous and named sets;
//! accept/drop/reject/jump/goto/return/continue, anonymous verdict maps, counter, log,
//! masquerade, snat, dnat).
//! A rule with anything else becomes a `#` comment holding its JSON, never a rule that
//! does something different; a set or object it cannot render becomes a comment, and
//! rules that use it too.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// What a ruleset has that this module cannot render, in words: it becomes a comment
/// and a note, never a different rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unrendered(String);

impl From<&str> for Unrendered {
    fn from(s: &str) -> Unrendered {
        Unrendered(s.to_string())
    }
}

impl std::fmt::Display for Unrendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A ruleset in nft syntax, with one note per object it could not render.
#[derive(Debug, Default, PartialEq)]
pub struct Rendered {
    pub text: String,
    pub notes: Vec<String>,
}

/// One table's lines as they are collected.
#[derive(Default)]
struct Table {
    family: String,
    name: String,
    sets: Vec<String>,
    /// Chain name -> its header lines and its rules, in the order nft lists them.
    chains: indexmap::IndexMap<String, (Vec<String>, Vec<String>)>,
    /// Objects (maps, named counters, flowtables...) not rendered, as comments.
    other: Vec<String>,
    /// `flags dormant;`, the one table flag rendered.
    flags: Option<String>,
}

/// A table's `flags`, a string or an array of strings.
fn table_flags(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(f) => Some(vec![f.clone()]),
        Value::Array(a) => a.iter().map(|f| f.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

/// Renders the `nftables` array of `nft -j list ruleset`.
pub fn render(items: &[Value]) -> Rendered {
    let mut tables: indexmap::IndexMap<(String, String), Table> = indexmap::IndexMap::new();
    let mut notes = Vec::new();
    // Sets that could not be rendered: a rule naming one cannot be either.
    let mut missing: BTreeSet<(String, String, String)> = BTreeSet::new();
    let key = |o: &Map<String, Value>| (s(o, "family"), s(o, "table"));
    for item in items {
        let Some((kind, body)) = item.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        let Some(o) = body.as_object() else {
            continue;
        };
        match kind.as_str() {
            "metainfo" => {}
            "table" => {
                let t = table(&mut tables, (s(o, "family"), s(o, "name")));
                // A dormant table's rules do not run: rendering it without its flag would
                // switch them on. Any other flag or key is said, not dropped in silence.
                for (k, v) in o {
                    match (k.as_str(), table_flags(v)) {
                        ("family" | "name" | "handle", _) => {}
                        ("flags", Some(flags)) if flags.iter().all(|f| f == "dormant") => {
                            t.flags = Some("flags dormant;".into());
                        }
                        _ => {
                            notes.push(format!(
                                "nft: table {} {}: `{k}` {v} not imported",
                                t.family, t.name
                            ));
                            t.other.push(format!("# not imported: table `{k}` {v}"));
                        }
                    }
                }
            }
            "set" => {
                let t = table(&mut tables, key(o));
                match set(o) {
                    Ok(lines) => t.sets.extend(lines),
                    Err(why) => {
                        let name = s(o, "name");
                        notes.push(format!(
                            "nft: set {name} of table {} {} not imported ({why}); rules using it are comments",
                            t.family, t.name
                        ));
                        t.sets
                            .push(format!("# not imported: set {name} ({why}): {body}"));
                        missing.insert((t.family.clone(), t.name.clone(), name));
                    }
                }
            }
            "chain" => {
                let t = table(&mut tables, key(o));
                let name = s(o, "name");
                let header = match chain_header(o) {
                    Ok(h) => h,
                    Err(why) => {
                        notes.push(format!(
                            "nft: chain {name} of table {} {}: {why}",
                            t.family, t.name
                        ));
                        vec![format!("# not imported: {why}: {body}")]
                    }
                };
                t.chains.entry(name).or_default().0 = header;
            }
            "rule" => {
                let t = table(&mut tables, key(o));
                let chain = s(o, "chain");
                let line = rule(o, |set| {
                    missing.contains(&(t.family.clone(), t.name.clone(), set.to_string()))
                });
                let line = match line {
                    Ok(l) => l,
                    Err(why) => {
                        notes.push(format!(
                            "nft: a rule of chain {chain} in table {} {} is a comment: {why}",
                            t.family, t.name
                        ));
                        format!("# not imported ({why}): {body}")
                    }
                };
                t.chains.entry(chain).or_default().1.push(line);
            }
            other => {
                let t = table(&mut tables, key(o));
                notes.push(format!(
                    "nft: {other} {} of table {} {} not imported (no rendering for it)",
                    s(o, "name"),
                    t.family,
                    t.name
                ));
                t.other.push(format!(
                    "# not imported: {other} (no rendering for it): {body}"
                ));
            }
        }
    }
    let mut text = String::new();
    for t in tables.values() {
        text.push_str(&format!("table {} {} {{\n", t.family, t.name));
        let mut blocks: Vec<String> = Vec::new();
        if let Some(f) = &t.flags {
            blocks.push(format!("    {f}\n"));
        }
        for line in &t.other {
            blocks.push(format!("    {line}\n"));
        }
        let mut set_block = String::new();
        for line in &t.sets {
            if line.starts_with("set ") && !set_block.is_empty() {
                blocks.push(std::mem::take(&mut set_block));
            }
            set_block.push_str(&format!("    {line}\n"));
        }
        if !set_block.is_empty() {
            blocks.push(set_block);
        }
        for (name, (header, rules)) in &t.chains {
            let mut b = format!("    chain {name} {{\n");
            for l in header.iter().chain(rules) {
                b.push_str(&format!("        {l}\n"));
            }
            b.push_str("    }\n");
            blocks.push(b);
        }
        text.push_str(&blocks.join("\n"));
        text.push_str("}\n");
    }
    Rendered { text, notes }
}

fn table(
    tables: &mut indexmap::IndexMap<(String, String), Table>,
    (family, name): (String, String),
) -> &mut Table {
    tables
        .entry((family.clone(), name.clone()))
        .or_insert_with(|| Table {
            family,
            name,
            ..Table::default()
        })
}

fn s(o: &Map<String, Value>, k: &str) -> String {
    o.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// A named set's lines (`set NAME {`, its type, flags, elements, `}`).
fn set(o: &Map<String, Value>) -> Result<Vec<String>, Unrendered> {
    let name = s(o, "name");
    let ty = match o.get("type") {
        Some(Value::String(t)) => t.clone(),
        _ => return Err("a concatenated or typeof type".into()),
    };
    if !bare(&name) {
        return Err(Unrendered(format!("name `{name}`")));
    }
    for k in o.keys() {
        if !matches!(
            k.as_str(),
            "family" | "name" | "table" | "type" | "handle" | "flags" | "elem"
        ) {
            return Err(Unrendered(format!("`{k}`")));
        }
    }
    let mut lines = vec![format!("set {name} {{"), format!("    type {ty}")];
    if let Some(flags) = o.get("flags") {
        let flags: Vec<&str> = match flags {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            Value::String(f) => vec![f.as_str()],
            _ => return Err("flags".into()),
        };
        lines.push(format!("    flags {}", flags.join(",")));
    }
    if let Some(elem) = o.get("elem") {
        let Value::Array(a) = elem else {
            return Err("elements".into());
        };
        let elems = a.iter().map(value).collect::<Result<Vec<_>, _>>()?;
        lines.push(format!("    elements = {{ {} }}", elems.join(", ")));
    }
    lines.push("}".into());
    Ok(lines)
}

/// A chain's `type ... hook ... priority ...; policy ...;` line, if it is a base chain.
fn chain_header(o: &Map<String, Value>) -> Result<Vec<String>, Unrendered> {
    // A key this rendering does not know could change what the chain does.
    if let Some(k) = o.keys().find(|k| {
        !matches!(
            k.as_str(),
            "family" | "table" | "name" | "handle" | "type" | "hook" | "prio" | "policy" | "dev"
        )
    }) {
        return Err(Unrendered(format!("`{k}` has no rendering here")));
    }
    let Some(ty) = o.get("type").and_then(Value::as_str) else {
        return Ok(Vec::new());
    };
    let hook = s(o, "hook");
    let prio = match o.get("prio") {
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("a base chain without a numeric priority".into()),
    };
    let mut line = format!("type {ty} hook {hook}");
    match o.get("dev") {
        None => {}
        Some(Value::String(d)) => line.push_str(&format!(" device {}", quote(d))),
        Some(_) => return Err("a base chain on several devices".into()),
    }
    line.push_str(&format!(" priority {prio};"));
    if let Some(p) = o.get("policy").and_then(Value::as_str) {
        line.push_str(&format!(" policy {p};"));
    }
    Ok(vec![line])
}

/// One rule's statements on one line; an error names what could not be rendered.
fn rule(o: &Map<String, Value>, missing: impl Fn(&str) -> bool) -> Result<String, Unrendered> {
    let exprs = o
        .get("expr")
        .and_then(Value::as_array)
        .ok_or("a rule without expressions")?;
    let mut parts = Vec::new();
    for e in exprs {
        let (k, v) = e
            .as_object()
            .and_then(|m| m.iter().next())
            .ok_or("an expression that is not an object")?;
        parts.push(statement(k, v, &missing)?);
    }
    if let Some(c) = o.get("comment").and_then(Value::as_str) {
        parts.push(format!("comment {}", quote(c)));
    }
    Ok(parts.join(" "))
}

fn statement(k: &str, v: &Value, missing: &impl Fn(&str) -> bool) -> Result<String, Unrendered> {
    let obj = v.as_object();
    let field = |f: &str| obj.and_then(|m| m.get(f));
    // Every key of the statement's object must be one this rendering handles.
    let only = |allowed: &[&str]| -> Result<(), Unrendered> {
        match obj.and_then(|m| m.keys().find(|x| !allowed.contains(&x.as_str()))) {
            Some(x) => Err(Unrendered(format!("`{k}` with `{x}`"))),
            None => Ok(()),
        }
    };
    match k {
        "accept" | "drop" | "return" | "continue" if v.is_null() => Ok(k.to_string()),
        "jump" | "goto" => {
            only(&["target"])?;
            match field("target").and_then(Value::as_str) {
                Some(t) if bare(t) => Ok(format!("{k} {t}")),
                _ => Err(Unrendered(format!("`{k}` without a plain target"))),
            }
        }
        "reject" => {
            only(&["type", "expr"])?;
            match (
                field("type").and_then(Value::as_str),
                field("expr").and_then(Value::as_str),
            ) {
                (None, None) => Ok("reject".into()),
                (Some("tcp reset"), None) => Ok("reject with tcp reset".into()),
                (Some(t), Some(x)) if bare(t) && bare(x) => Ok(format!("reject with {t} {x}")),
                _ => Err("`reject` with an unusual type".into()),
            }
        }
        "counter" if v.is_null() => Ok("counter".into()),
        "counter" => {
            // The packet and byte counts are state, not configuration.
            only(&["packets", "bytes"])?;
            match obj {
                Some(_) => Ok("counter".into()),
                None => Err("a named counter".into()),
            }
        }
        "log" if v.is_null() => Ok("log".into()),
        "log" => {
            only(&["prefix", "level"])?;
            let mut out = "log".to_string();
            if let Some(p) = field("prefix").and_then(Value::as_str) {
                out.push_str(&format!(" prefix {}", quote(p)));
            }
            if let Some(l) = field("level").and_then(Value::as_str) {
                out.push_str(&format!(" level {l}"));
            }
            Ok(out)
        }
        "masquerade" if v.is_null() => Ok("masquerade".into()),
        "masquerade" => {
            only(&["port"])?;
            Ok(format!("masquerade to :{}", port(field("port"))?))
        }
        "snat" | "dnat" => {
            only(&["addr", "port", "family"])?;
            let mut out = k.to_string();
            if let Some(f) = field("family").and_then(Value::as_str) {
                out.push_str(&format!(" {f}"));
            }
            let addr = match field("addr") {
                None => None,
                Some(Value::String(a)) if bare(a) => Some(a.clone()),
                Some(_) => return Err(Unrendered(format!("`{k}` to a map or expression"))),
            };
            let port = field("port").map(|p| port(Some(p))).transpose()?;
            out.push_str(" to ");
            match (addr, port) {
                (Some(a), None) => out.push_str(&a),
                (Some(a), Some(p)) if a.contains(':') => out.push_str(&format!("[{a}]:{p}")),
                (Some(a), Some(p)) => out.push_str(&format!("{a}:{p}")),
                (None, Some(p)) => out.push_str(&format!(":{p}")),
                (None, None) => return Err(Unrendered(format!("`{k}` without an address"))),
            }
            Ok(out)
        }
        "match" => {
            only(&["op", "left", "right"])?;
            let op = field("op").and_then(Value::as_str).unwrap_or("==");
            let left = field("left").ok_or("a match without a left side")?;
            let right = field("right").ok_or("a match without a right side")?;
            let (l, quoted) = lhs(left)?;
            let r = if quoted {
                match right {
                    Value::String(x) if !x.starts_with('@') => quote(x),
                    other => value(other)?,
                }
            } else {
                value(right)?
            };
            if let Some(set) = r.strip_prefix('@')
                && missing(set)
            {
                return Err(Unrendered(format!("set @{set} was not imported")));
            }
            // `in` is nft's implicit operator (on a bitmask: any of these flags); `==` is
            // kept as written, since on a bitmask (`tcp flags == syn`) it means exactly
            // these flags, and nft lists it without `==` wherever the two are the same.
            let op = match op {
                "in" => String::new(),
                "==" | "!=" | "<" | ">" | "<=" | ">=" => format!("{op} "),
                other => return Err(Unrendered(format!("the operator `{other}`"))),
            };
            Ok(format!("{l} {op}{r}"))
        }
        // `ct state vmap { established : accept, invalid : drop }`: an anonymous verdict
        // map (a named one is a map, not rendered).
        "vmap" => {
            only(&["key", "data"])?;
            let (l, _) = lhs(field("key").ok_or("a `vmap` without a key")?)?;
            let Some(Value::Object(data)) = field("data") else {
                return Err("a `vmap` of a named map".into());
            };
            let Some(Value::Array(pairs)) = data.get("set").filter(|_| data.len() == 1) else {
                return Err("an unusual `vmap`".into());
            };
            let mut elems = Vec::new();
            for pair in pairs {
                let Some([k, verdict]) = pair.as_array().map(Vec::as_slice) else {
                    return Err("an unusual `vmap` element".into());
                };
                let (vk, vv) = verdict
                    .as_object()
                    .filter(|m| m.len() == 1)
                    .and_then(|m| m.iter().next())
                    .ok_or("an unusual `vmap` verdict")?;
                if !matches!(
                    vk.as_str(),
                    "accept" | "drop" | "return" | "continue" | "jump" | "goto"
                ) {
                    return Err(Unrendered(format!("`{vk}` in a `vmap`")));
                }
                elems.push(format!("{} : {}", value(k)?, statement(vk, vv, missing)?));
            }
            Ok(format!("{l} vmap {{ {} }}", elems.join(", ")))
        }
        other => Err(Unrendered(format!("`{other}` has no rendering here"))),
    }
}

/// The left side of a match, and whether string values on the right are names to quote
/// (interfaces) rather than symbols (`established`, `tcp`).
fn lhs(v: &Value) -> Result<(String, bool), Unrendered> {
    let (k, body) = v
        .as_object()
        .and_then(|m| m.iter().next())
        .ok_or("an unusual left side")?;
    let o = body.as_object().ok_or("an unusual left side")?;
    let get = |f: &str| o.get(f).and_then(Value::as_str);
    let keys_ok = |allowed: &[&str]| o.keys().all(|x| allowed.contains(&x.as_str()));
    match k.as_str() {
        "payload" if keys_ok(&["protocol", "field"]) => match (get("protocol"), get("field")) {
            (Some(p), Some(f)) if bare(p) && bare(f) => Ok((format!("{p} {f}"), false)),
            _ => Err("a raw payload match".into()),
        },
        "meta" if keys_ok(&["key"]) => match get("key") {
            Some(key @ ("iifname" | "oifname" | "iif" | "oif")) => Ok((key.to_string(), true)),
            Some(key) if bare(key) => Ok((format!("meta {key}"), false)),
            _ => Err("an unusual meta key".into()),
        },
        "ct" if keys_ok(&["key", "dir", "family"]) => {
            let mut out = "ct".to_string();
            if let Some(d) = get("dir") {
                out.push_str(&format!(" {d}"));
            }
            if let Some(f) = get("family") {
                out.push_str(&format!(" {f}"));
            }
            match get("key") {
                Some("helper") => Ok((format!("{out} helper"), true)),
                Some(key) if bare(key) => Ok((format!("{out} {key}"), false)),
                _ => Err("an unusual ct key".into()),
            }
        }
        // `fib daddr type local`, `fib saddr . iif oif`: flags joined as nft writes them.
        "fib" if keys_ok(&["result", "flags"]) => {
            let flags: Vec<&str> = match o.get("flags") {
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                Some(Value::String(f)) => vec![f.as_str()],
                _ => Vec::new(),
            };
            match get("result") {
                Some(r) if bare(r) && !flags.is_empty() && flags.iter().all(|f| bare(f)) => {
                    Ok((format!("fib {} {r}", flags.join(" . ")), false))
                }
                _ => Err("an unusual fib lookup".into()),
            }
        }
        other => Err(Unrendered(format!("a match on `{other}`"))),
    }
}

/// A value on the right of a match or in a set: a symbol, a number, an address, a
/// prefix, a range, a set reference, an anonymous set, or a list of flags.
fn value(v: &Value) -> Result<String, Unrendered> {
    match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(x) if x.starts_with('@') && bare(&x[1..]) => Ok(x.clone()),
        Value::String(x) if bare(x) => Ok(x.clone()),
        Value::String(x) => Err(Unrendered(format!("the value `{x}`"))),
        // `ct state established,related`: flags combined.
        Value::Array(a) => Ok(a
            .iter()
            .map(value)
            .collect::<Result<Vec<_>, _>>()?
            .join(",")),
        Value::Object(m) => {
            let (k, body) = m.iter().next().ok_or("an empty value")?;
            match (k.as_str(), body) {
                ("prefix", Value::Object(p)) => match (p.get("addr"), p.get("len")) {
                    (Some(Value::String(a)), Some(Value::Number(l))) if bare(a) => {
                        Ok(format!("{a}/{l}"))
                    }
                    _ => Err("an unusual prefix".into()),
                },
                ("range", Value::Array(r)) if r.len() == 2 => {
                    Ok(format!("{}-{}", value(&r[0])?, value(&r[1])?))
                }
                // Flags combined (`ct state == established | related`).
                ("|", Value::Array(a)) if !a.is_empty() => Ok(a
                    .iter()
                    .map(value)
                    .collect::<Result<Vec<_>, _>>()?
                    .join(" | ")),
                ("set", Value::Array(a)) => {
                    let elems = a.iter().map(value).collect::<Result<Vec<_>, _>>()?;
                    Ok(format!("{{ {} }}", elems.join(", ")))
                }
                (other, _) => Err(Unrendered(format!("a `{other}` value"))),
            }
        }
        other => Err(Unrendered(format!("the value {other}"))),
    }
}

fn port(v: Option<&Value>) -> Result<String, Unrendered> {
    match v {
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Object(m)) if m.contains_key("range") => value(&Value::Object(m.clone())),
        _ => Err("an unusual port".into()),
    }
}

/// A token nft reads as one symbol, address or name without quotes.
fn bare(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'))
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_of(expr: Value) -> Result<String, Unrendered> {
        let o = serde_json::json!({ "expr": expr });
        rule(o.as_object().expect("object"), |_| false)
    }

    #[test]
    fn an_unknown_statement_is_an_error_not_a_partial_rule() {
        let r = rule_of(serde_json::json!([
            {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth0"}},
            {"limit": {"rate": 10, "per": "second"}},
            {"accept": null}
        ]));
        assert_eq!(r, Err("`limit` has no rendering here".into()));
    }

    #[test]
    fn a_statement_with_an_unknown_option_is_an_error() {
        let r = rule_of(serde_json::json!([{"log": {"prefix": "x", "flags": "all"}}]));
        assert_eq!(r, Err("`log` with `flags`".into()));
        let r = rule_of(serde_json::json!([
            {"match": {"op": "==", "left": {"payload": {"base": "nh", "offset": 0, "len": 8}}, "right": 1}},
            {"drop": null}
        ]));
        assert_eq!(r, Err("a match on `payload`".into()));
    }

    #[test]
    fn an_anonymous_verdict_map_is_rendered_a_named_one_is_not() {
        let r = rule_of(
            serde_json::json!([{"vmap": {"key": {"ct": {"key": "state"}},
            "data": {"set": [["established", {"accept": null}], ["invalid", {"jump": {"target": "bad"}}]]}}}]),
        );
        assert_eq!(
            r.as_deref(),
            Ok("ct state vmap { established : accept, invalid : jump bad }")
        );
        let r = rule_of(
            serde_json::json!([{"vmap": {"key": {"meta": {"key": "iifname"}}, "data": "@by_if"}}]),
        );
        assert_eq!(r, Err("a `vmap` of a named map".into()));
    }

    /// On a bitmask `==` is "exactly these flags" and the implicit `in` "any of them":
    /// dropping the `==` would make a different rule.
    #[test]
    fn exact_and_any_flag_matches_stay_apart() {
        let flags = |op: &str, right: Value| {
            rule_of(serde_json::json!([
                {"match": {"op": op, "left": {"payload": {"protocol": "tcp", "field": "flags"}}, "right": right}}
            ]))
        };
        assert_eq!(flags("==", "syn".into()).as_deref(), Ok("tcp flags == syn"));
        assert_eq!(flags("in", "syn".into()).as_deref(), Ok("tcp flags syn"));
        assert_eq!(
            flags("==", serde_json::json!({"|": ["syn", "ack"]})).as_deref(),
            Ok("tcp flags == syn | ack")
        );
    }

    #[test]
    fn interface_names_are_quoted_symbols_are_not() {
        let r = rule_of(serde_json::json!([
            {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "br-c3c0"}},
            {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
            {"match": {"op": "!=", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": {"prefix": {"addr": "fd00::", "len": 8}}}},
            {"dnat": {"family": "ip6", "addr": "fd00::5", "port": 80}}
        ]));
        assert_eq!(
            r.as_deref(),
            Ok(
                "oifname == \"br-c3c0\" ct state established,related ip6 saddr != fd00::/8 dnat ip6 to [fd00::5]:80"
            )
        );
    }

    /// A dormant table stays dormant (its rules do not run); a flag it cannot render is
    /// a note and a comment, not dropped.
    #[test]
    fn table_flags_are_kept_or_said() {
        let v: Value = serde_json::json!([
            {"table": {"family": "ip", "name": "off", "handle": 1, "flags": "dormant"}},
            {"table": {"family": "ip", "name": "mine", "handle": 2, "flags": ["owner"]}},
            {"chain": {"family": "ip", "table": "off", "name": "c", "handle": 1}}
        ]);
        let r = render(v.as_array().expect("array"));
        assert_eq!(
            r.text,
            "table ip off {\n    flags dormant;\n\n    chain c {\n    }\n}\n\
             table ip mine {\n    # not imported: table `flags` [\"owner\"]\n}\n"
        );
        assert_eq!(
            r.notes,
            vec!["nft: table ip mine: `flags` [\"owner\"] not imported"]
        );
    }

    #[test]
    fn a_chain_with_an_unknown_key_is_a_comment() {
        let o = serde_json::json!({"family": "netdev", "table": "t", "name": "c",
            "type": "filter", "hook": "ingress", "prio": 0, "devs": ["a", "b"]});
        assert_eq!(
            chain_header(o.as_object().expect("object")),
            Err("`devs` has no rendering here".into())
        );
    }

    #[test]
    fn a_rule_using_a_set_that_was_not_imported_is_a_comment() {
        let v: Value = serde_json::json!([
            {"table": {"family": "ip", "name": "t"}},
            {"set": {"family": "ip", "table": "t", "name": "s", "type": ["ipv4_addr", "inet_service"]}},
            {"chain": {"family": "ip", "table": "t", "name": "c"}},
            {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [
                {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@s"}},
                {"drop": null}
            ]}}
        ]);
        let r = render(v.as_array().expect("array"));
        assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
        assert!(
            r.text.contains("# not imported (set @s was not imported)"),
            "{}",
            r.text
        );
        assert!(!r.text.lines().any(|l| l.trim() == "ip saddr == @s drop"));
    }
}
