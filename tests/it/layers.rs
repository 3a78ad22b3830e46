//! The layer rule of docs/architecture.md, checked on the source tree: every `crate::…` path in
//! a module's code must point down the layer order, never up or sideways, and no two files
//! import each other.
//!
//! Layers, top to bottom: `main`/`lib`, `cli`, `eval`, `app`, the stages (`ingest`, `brand`,
//! `score`, `detect`, `alert`, `replay`, `synth`), `telemetry`, `config`, `domain`. A stage
//! imports only `domain`, `config`, `telemetry` and libraries. Unit-test modules
//! (`#[cfg(test)] mod tests` and `tests.rs` files) may build fixtures from anything and are not
//! read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer of each top-level module; a higher number sits higher.
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        "domain" => 0,
        "config" => 1,
        "telemetry" => 2,
        "ingest" | "brand" | "score" | "detect" | "alert" | "replay" | "synth" => 3,
        "app" => 4,
        "eval" => 5,
        "cli" => 6,
        "main" | "lib" => 7,
        _ => return None,
    })
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The file's code without comments and without its unit-test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Module paths (`["detect", "cluster"]`) this code names through `crate::`, including
/// grouped imports (`use crate::{a, b::c}`).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let preceded_by_ident = rest[..i]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !preceded_by_ident {
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    out.push(path_of(item.trim()));
                }
            } else {
                out.push(path_of(after));
            }
        }
        rest = after;
    }
    out.retain(|p| !p.is_empty());
    out
}

/// Paths named through `super::` (`super::super::` climbs twice), made absolute from `me`.
fn super_paths(code: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("super::") {
        let before = &rest[..i];
        let after = &rest[i..];
        rest = &after["super::".len()..];
        if before
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
        {
            continue;
        }
        let mut base = me.to_vec();
        let mut tail = after;
        while let Some(t) = tail.strip_prefix("super::") {
            base.pop();
            tail = t;
        }
        let mut path = base;
        path.extend(path_of(tail));
        if !path.is_empty() {
            out.push(path);
        }
    }
    out
}

fn path_of(s: &str) -> Vec<String> {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    s[..end]
        .split("::")
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// `src/detect/cluster.rs` → `["detect", "cluster"]`; `mod.rs` names its folder.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The longest prefix of `path` that names a module file in `modules`.
fn resolve(path: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

#[test]
fn layers_point_down_and_no_two_files_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.retain(|f| f.file_name().is_some_and(|n| n != "tests.rs"));
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();

    let mut violations = Vec::new();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let me = module_of(&src, file);
        let top = me.first().cloned().unwrap_or_default();
        let Some(my_layer) = layer(&top) else {
            violations.push(format!(
                "{}: module {top:?} has no layer",
                file.strip_prefix(&src).unwrap().display()
            ));
            continue;
        };
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let mut paths = crate_paths(&code);
        paths.extend(super_paths(&code, &me));
        for path in paths {
            let target = &path[0];
            if *target != top {
                match layer(target) {
                    Some(l) if l < my_layer => {}
                    Some(_) => violations.push(format!(
                        "{}: imports crate::{} (layer of {top} must not reach {target})",
                        file.strip_prefix(&src).unwrap().display(),
                        path.join("::")
                    )),
                    None => {}
                }
            }
            if let Some(to) = resolve(&path, &modules) {
                if to != me && !me.starts_with(&to) {
                    edges.entry(me.clone()).or_default().insert(to);
                }
            }
        }
    }
    for (from, tos) in &edges {
        for to in tos {
            if from < to && edges.get(to).is_some_and(|back| back.contains(from)) {
                violations.push(format!(
                    "{} and {} import each other",
                    from.join("::"),
                    to.join("::")
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layer rule broken ({} places):\n{}",
        violations.len(),
        violations.join("\n")
    );
}

#[test]
fn the_layer_reader_sees_grouped_and_inline_paths() {
    let code = code_of(
        "use crate::{alert::AlertRecord, domain};\nfn f() { crate::score::x(); }\n// crate::cli\n",
    );
    let paths = crate_paths(&code);
    assert_eq!(
        paths,
        vec![
            vec!["alert".to_string(), "AlertRecord".into()],
            vec!["domain".to_string()],
            vec!["score".to_string(), "x".into()],
        ]
    );
}
