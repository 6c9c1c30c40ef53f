//! docs/architecture.md kept true by the code: the modules' imports (every
//! `crate::`, `super::` and `self::` path in non-test code) form no circle,
//! the engine never imports a front-end, and the layers below the features
//! never import a feature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`operation::plan`) of every source file, with its text up to
/// its unit tests.
fn modules() -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    let root = stack[0].clone();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = match text.find("#[cfg(test)]") {
                Some(at) => text[..at].to_string(),
                None => text,
            };
            found.insert(parts.join("::"), code);
        }
    }
    found
}

/// The paths starting with `crate`, `super` or `self` in a text.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let begin = from + at;
            from = begin + start.len();
            if begin > 0 && (bytes[begin - 1].is_ascii_alphanumeric() || bytes[begin - 1] == b'_') {
                continue;
            }
            let rest = &code[begin..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let segments: Vec<String> = rest[..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            found.push(segments);
        }
    }
    found
}

/// Which module a path names: the longest prefix that is a module.
fn resolve(current: &str, path: &[String], modules: &BTreeMap<String, String>) -> Option<String> {
    let mut base: Vec<String> = if current.is_empty() {
        Vec::new()
    } else {
        current.split("::").map(str::to_string).collect()
    };
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        _ => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
    }
    (0..=rest.len()).rev().find_map(|n| {
        let mut name = base.clone();
        name.extend(rest[..n].iter().cloned());
        let name = name.join("::");
        modules.contains_key(&name).then_some(name)
    })
}

fn related(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
}

fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let mut graph = BTreeMap::new();
    for (name, code) in &modules {
        let targets: BTreeSet<String> = paths(code)
            .iter()
            .filter_map(|p| resolve(name, p, &modules))
            .filter(|t| !t.is_empty() && !related(name, t))
            .collect();
        graph.insert(name.clone(), targets);
    }
    graph
}

fn cycle_from(
    node: &str,
    graph: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|p| p == node) {
        let mut cycle = path[at..].to_vec();
        cycle.push(node.to_string());
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(cycle) = cycle_from(next, graph, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[test]
fn no_module_imports_itself_through_others() {
    let graph = imports();
    assert!(graph.contains_key("operation::plan"), "{:?}", graph.keys());
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = cycle_from(node, &graph, &mut Vec::new(), &mut done) {
            panic!(
                "import circle: {} (see docs/architecture.md)",
                cycle.join(" -> ")
            );
        }
    }
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn layers_import_downwards_only() {
    const FRONT_ENDS: [&str; 3] = ["ui", "commands", "cli"];
    const FEATURES: [&str; 3] = ["setup", "cluster_ops", "rollback"];
    // The sandbox and main dispatch subcommands: they may read the CLI.
    const ENTRY_POINTS: [&str; 3] = ["", "sandbox", "main"];
    const BELOW_FEATURES: [&str; 11] = [
        "operation",
        "daemon",
        "vote",
        "sql",
        "node",
        "mycnf",
        "backup",
        "answers",
        "profile",
        "access",
        "privileged",
    ];
    let mut wrong = Vec::new();
    for (module, targets) in imports() {
        for target in targets {
            let (from, to) = (top(&module), top(&target));
            let engine = !FRONT_ENDS.contains(&from) && !ENTRY_POINTS.contains(&from);
            if engine && FRONT_ENDS.contains(&to) {
                wrong.push(format!(
                    "{module} -> {target} (the engine imports a front-end)"
                ));
            }
            if BELOW_FEATURES.contains(&from) && FEATURES.contains(&to) {
                wrong.push(format!(
                    "{module} -> {target} (below the features, it imports one)"
                ));
            }
            if FEATURES.contains(&from) && FEATURES.contains(&to) && from != to {
                wrong.push(format!(
                    "{module} -> {target} (a feature imports another feature; move what both need into `operation`)"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against docs/architecture.md:\n{}",
        wrong.join("\n")
    );
}
