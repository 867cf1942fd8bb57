//! Spec to resolved `Lab`: every rule a lab file must satisfy, all errors in one pass.

mod checks;
mod command_check;
mod ctx;
pub mod features;
mod files;
mod interfaces;
mod kinds;
mod links;
mod matrix;
mod node_config;
mod routing;
mod steps;
pub(crate) mod values;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::front::diag::Diagnostic;
use crate::front::lab::{Lab, Node, NodeId, Requirements, SnapshotSelection, Switch, SwitchId};
use crate::front::parse::{Parsed, parse};
use crate::front::source::{SourceFile, TomlPath};
use crate::front::spec::LabFile;

use ctx::{Ctx, Help};

/// A lab file after validation: the lab (when there were no errors) and every diagnostic.
pub struct Loaded {
    pub file: SourceFile,
    pub lab: Option<Lab>,
    pub diags: Vec<Diagnostic>,
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diags.iter().filter(|d| d.is_error())
    }

    pub fn render(&self, color: bool) -> String {
        self.diags
            .iter()
            .map(|d| d.render(&self.file, color))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Read, parse and validate one lab file.
/// A file that is not UTF-8 is an error located at its first bad byte.
pub fn load(path: &Path) -> std::io::Result<Loaded> {
    let (file, bad) = SourceFile::read_lossy(path)?;
    if let Some((at, byte)) = bad {
        let span = at..at + char::REPLACEMENT_CHARACTER.len_utf8();
        let d = Diagnostic::error(Some(span), crate::front::source::invalid_utf8_message(byte))
            .with_help("save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)");
        return Ok(Loaded {
            file,
            lab: None,
            diags: vec![d],
        });
    }
    Ok(load_source(file))
}

pub fn load_source(file: SourceFile) -> Loaded {
    match parse(&file) {
        Err(diags) => Loaded {
            file,
            lab: None,
            diags,
        },
        Ok(parsed) => {
            let (lab, diags) = validate(&file, &parsed);
            Loaded { file, lab, diags }
        }
    }
}

/// Names that identify what validation has resolved so far.
pub(crate) struct Names {
    pub nodes: HashMap<String, NodeId>,
    pub switches: HashMap<String, SwitchId>,
}

impl Names {
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }
}

pub fn validate(file: &SourceFile, parsed: &Parsed) -> (Option<Lab>, Vec<Diagnostic>) {
    let spec = &parsed.spec;
    let mut ctx = Ctx::new(&parsed.spans, &parsed.repaired);
    let root = TomlPath::root();

    ctx.value(&root.key("name"), &spec.name, values::lab_name);

    let requires = requirements(&mut ctx, spec);

    let mut names = Names {
        nodes: HashMap::new(),
        switches: HashMap::new(),
    };
    let mut switches = Vec::new();
    for (name, sw) in &spec.switches {
        let path = root.key("switches").key(name);
        // A bad name is reported but the switch is still resolved, so that the links
        // naming it do not add an "unknown switch" error for the same mistake.
        name_check(&mut ctx, &path, "switch", name);
        if let Some(mtu) = sw.mtu {
            links::check_mtu(&mut ctx, &path.key("mtu"), mtu);
        }
        names
            .switches
            .insert(name.clone(), SwitchId(switches.len()));
        switches.push(Switch {
            name: name.clone(),
            mtu: sw.mtu,
            vlan_filtering: sw.vlan_filtering.unwrap_or(false),
        });
    }

    let mut nodes = Vec::new();
    for name in spec.nodes.keys() {
        let path = root.key("nodes").key(name);
        name_check(&mut ctx, &path, "node", name);
        if names.switches.contains_key(name) {
            ctx.name_error(&path, format!("`{name}` is both a node and a switch"))
                .help("give the switch another name: link endpoints refer to both by name");
            continue;
        }
        names.nodes.insert(name.clone(), NodeId(nodes.len()));
        nodes.push(Node {
            name: name.clone(),
            forward: None,
            sysctls: Vec::new(),
            interfaces: Vec::new(),
            routes: Vec::new(),
            rules: Vec::new(),
            nft: None,
            exec: Vec::new(),
            fdb: Vec::new(),
            neighbours: Vec::new(),
            listen: Vec::new(),
            services: Vec::new(),
            ipsec: Vec::new(),
            files: Vec::new(),
        });
    }
    if spec.nodes.is_empty() {
        ctx.error(&root, "the lab has no nodes")
            .help("add a node: [nodes.host]");
    }

    let mut sites = interfaces::AddressSites::default();
    let links = links::resolve(&mut ctx, spec, &names, &mut nodes, &switches, &mut sites);
    interfaces::resolve(&mut ctx, spec, &names, &mut nodes, &mut sites);
    for (name, node_spec) in &spec.nodes {
        if let Some(id) = names.nodes.get(name) {
            let path = root.key("nodes").key(name);
            node_config::resolve(&mut ctx, &path, node_spec, &mut nodes[id.0]);
            files::resolve(
                &mut ctx,
                &path,
                &node_spec.files,
                &file.path,
                &mut nodes[id.0],
            );
        }
    }
    node_config::check_wireguard_peers(&mut ctx, &nodes);

    let mut lab = Lab {
        name: spec.name.clone(),
        description: spec.description.clone(),
        path: file.path.clone(),
        requires,
        nodes,
        switches,
        links,
        checks: Vec::new(),
        matrices: Vec::new(),
        steps: Vec::new(),
        snapshot: SnapshotSelection::default(),
        exercise: spec.exercise.clone(),
    };

    let defaults = checks::Defaults::resolve(&mut ctx, spec);
    let mut check_names = BTreeSet::new();
    for (i, c) in spec.checks.iter().enumerate() {
        let path = root.key("checks").idx(i);
        if let Some(check) = checks::resolve(&mut ctx, &path, c, &lab, &names, &defaults) {
            if !check_names.insert(check.name.clone()) {
                duplicate_check(&mut ctx, &path, &check.name);
            }
            lab.checks.push(check);
        }
    }
    for (i, m) in spec.matrix.iter().enumerate() {
        let path = root.key("matrix").idx(i);
        if let Some(mx) = matrix::resolve(&mut ctx, &path, m, &lab, &names, i) {
            lab.matrices.push(mx);
        }
    }
    let mut step_names = BTreeSet::new();
    for (i, s) in spec.steps.iter().enumerate() {
        let path = root.key("steps").idx(i);
        if !step_names.insert(s.name.clone()) {
            ctx.error(
                &path.key("name"),
                format!("two steps are named `{}`", s.name),
            )
            .help("step names identify results in reports and snapshots; make them unique");
        }
        if let Some(step) = steps::resolve(&mut ctx, &path, s, &lab, &names, &defaults) {
            lab.steps.push(step);
        }
    }
    lab.snapshot = snapshot_selection(&mut ctx, spec, &names);
    exercise(&mut ctx, spec, &names);
    features::add_implied(&mut lab);

    let mut diags = ctx.finish();
    diags.extend(parsed.diags.iter().cloned());
    diags.sort_by_key(|d| (d.span.as_ref().map(|s| s.start), d.severity));
    let ok = !diags.iter().any(Diagnostic::is_error);
    (ok.then_some(lab), diags)
}

/// Names are table keys: the error points at the key, where the name is written.
pub(crate) fn name_check(ctx: &mut Ctx, path: &TomlPath, what: &str, name: &str) {
    if let Err(b) = values::object_name(what, name) {
        let d = ctx.name_error(path, b.message);
        if let Some(h) = b.help {
            d.help(h);
        }
    }
}

pub(crate) fn duplicate_check(ctx: &mut Ctx, path: &TomlPath, name: &str) {
    ctx.error(path, format!("two checks are named `{name}`"))
        .help("check names key the snapshot; set a distinct `name` on one of them");
}

fn requirements(ctx: &mut Ctx, spec: &LabFile) -> Requirements {
    let mut req = Requirements::default();
    let Some(r) = &spec.requires else { return req };
    let path = TomlPath::root().key("requires");
    if let Some(k) = &r.kernel {
        req.kernel = ctx.value(&path.key("kernel"), k, values::kernel_version);
    }
    for (i, f) in r.features.iter().enumerate() {
        if features::KNOWN.contains(&f.as_str()) {
            req.features.insert(f.clone());
        } else {
            let d = ctx.error(
                &path.key("features").idx(i),
                format!("unknown kernel feature `{f}`"),
            );
            match crate::front::diag::did_you_mean(f, features::KNOWN.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("known features: {}", features::KNOWN.join(", "))),
            }
        }
    }
    req
}

fn snapshot_selection(ctx: &mut Ctx, spec: &LabFile, names: &Names) -> SnapshotSelection {
    let mut sel = SnapshotSelection::default();
    let Some(s) = &spec.snapshot else { return sel };
    let path = TomlPath::root().key("snapshot");
    sel.state = s.state.iter().copied().collect();
    match &s.nodes {
        None => {
            let mut ids: Vec<NodeId> = names.nodes.values().copied().collect();
            ids.sort();
            sel.nodes = ids;
        }
        Some(list) => {
            for (i, n) in list.iter().enumerate() {
                if let Some(id) = node_ref(ctx, &path.key("nodes").idx(i), n, names) {
                    sel.nodes.push(id);
                }
            }
        }
    }
    sel
}

fn exercise(ctx: &mut Ctx, spec: &LabFile, names: &Names) {
    let Some(ex) = &spec.exercise else { return };
    let path = TomlPath::root().key("exercise");
    let mut seen = BTreeSet::new();
    for (i, f) in ex.files.iter().enumerate() {
        let fp = path.key("files").idx(i);
        if f.path.is_empty() || f.path.contains('/') || f.path.starts_with('.') {
            ctx.error(&fp.key("path"), format!("`{}` is not a plain file name", f.path)).help("submission files are looked up by name in the submission directory, e.g. \"firewall.nft\"");
        }
        if !seen.insert(&f.path) {
            ctx.error(&fp.key("path"), format!("`{}` is listed twice", f.path));
        }
        match (&f.node, f.kind) {
            (None, crate::front::spec::ExerciseFileKind::Patch) => {}
            (Some(_), crate::front::spec::ExerciseFileKind::Patch) => {
                ctx.key_error(
                    &fp.key("node"),
                    "a patch applies to the whole lab, not to one node",
                )
                .help("remove `node`");
            }
            (None, k) => {
                ctx.error(
                    &fp,
                    format!("a `{}` file needs the `node` it applies to", serde_kind(k)),
                )
                .help("add node = \"...\"");
            }
            (Some(n), _) => {
                node_ref(ctx, &fp.key("node"), n, names);
            }
        }
        match (f.kind, &f.target) {
            (crate::front::spec::ExerciseFileKind::File, None) => {
                ctx.error(
                    &fp,
                    "a `file` needs the `target` path it becomes inside the node",
                )
                .help("add target = \"/etc/frr/frr.conf\"");
            }
            (crate::front::spec::ExerciseFileKind::File, Some(t)) if !t.starts_with('/') => {
                ctx.error(&fp.key("target"), format!("`{t}` is not an absolute path"))
                    .help("write the path as the node sees it, e.g. \"/etc/frr/frr.conf\"");
            }
            (crate::front::spec::ExerciseFileKind::File, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                ctx.key_error(&fp.key("target"), "only `file` submissions have a target")
                    .help("remove `target`, or use kind = \"file\"");
            }
        }
    }
}

fn serde_kind(k: crate::front::spec::ExerciseFileKind) -> &'static str {
    match k {
        crate::front::spec::ExerciseFileKind::Nft => "nft",
        crate::front::spec::ExerciseFileKind::Routes => "routes",
        crate::front::spec::ExerciseFileKind::Exec => "exec",
        crate::front::spec::ExerciseFileKind::Patch => "patch",
        crate::front::spec::ExerciseFileKind::File => "file",
    }
}

/// Resolve a node name, reporting an unknown one with a suggestion.
pub(crate) fn node_ref(
    ctx: &mut Ctx,
    path: &TomlPath,
    name: &str,
    names: &Names,
) -> Option<NodeId> {
    if let Some(id) = names.nodes.get(name) {
        return Some(*id);
    }
    let d = ctx.error(path, format!("unknown node `{name}`"));
    match crate::front::diag::did_you_mean(name, names.node_names()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => {
            let mut known: Vec<&str> = names.node_names().collect();
            known.sort();
            if known.is_empty() {
                d.help("declare it as [nodes.NAME]")
            } else {
                d.help(format!("nodes of this lab: {}", known.join(", ")))
            }
        }
    }
    None
}

/// Resolve "node:iface" to a node and an interface name that exists on it.
pub(crate) fn iface_ref(
    ctx: &mut Ctx,
    path: &TomlPath,
    text: &str,
    lab_nodes: &[Node],
    names: &Names,
) -> Option<(NodeId, String)> {
    let Some((node, iface)) = text.split_once(':') else {
        ctx.error(path, format!("`{text}` does not name an interface"))
            .help("write \"node:iface\", e.g. \"host:eth0\"");
        return None;
    };
    let id = node_ref(ctx, path, node, names)?;
    iface_of(ctx, path, &lab_nodes[id.0], iface)?;
    Some((id, iface.to_string()))
}

/// Check that `iface` exists on `node`.
pub(crate) fn iface_of(ctx: &mut Ctx, path: &TomlPath, node: &Node, iface: &str) -> Option<()> {
    if iface == "lo" || node.interface(iface).is_some() {
        return Some(());
    }
    let d = ctx.error(
        path,
        format!("node `{}` has no interface `{iface}`", node.name),
    );
    let known: Vec<&str> = node.interfaces.iter().map(|i| i.name.as_str()).collect();
    match crate::front::diag::did_you_mean(iface, known.iter().copied()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None if known.is_empty() => d.help(format!(
            "`{}` has no interfaces; connect it with a [[links]] entry",
            node.name
        )),
        None => d.help(format!(
            "interfaces of `{}`: {}",
            node.name,
            known.join(", ")
        )),
    }
    None
}

#[cfg(test)]
mod tests;
