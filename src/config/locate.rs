//! Where a configuration error is: the file's line for a key path (`sink[0].routing_key`,
//! `brand[2].terms[0]`), and every type error of the file at once.
//!
//! Lines come from a scan of the text (table headers, `[[array]]` headers counted per name,
//! `key = …` lines), not from the parser, which keeps no spans once values are typed; a key
//! that is not written (a missing key) is placed at its table's header. Type errors are found
//! by deserializing each top-level key, each element of an array of tables and each of their
//! fields on its own, so one wrong type no longer hides the others.

use std::collections::HashMap;

use super::raw::RawConfig;

/// The 1-based line of every written key path, and of every table header.
#[derive(Debug, Default)]
pub struct Lines {
    at: HashMap<String, usize>,
}

impl Lines {
    /// Scans `text` (best effort; a file that does not parse still gets its lines).
    pub fn scan(text: &str) -> Lines {
        let mut at = HashMap::new();
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut table = String::new();
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let l = raw.trim();
            if l.starts_with('#') || l.is_empty() {
                continue;
            }
            if let Some(name) = l.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
                let name = name.trim().to_string();
                // The parents' current elements, then this array's next one.
                let path = match name.rsplit_once('.') {
                    Some((parent, last)) => format!("{}.{}", indexed(parent, &counts), last.trim()),
                    None => name.clone(),
                };
                let i = counts.entry(name).or_insert(0);
                table = format!("{path}[{i}]");
                *i += 1;
                at.entry(table.clone()).or_insert(line);
                continue;
            }
            if let Some(name) = l.strip_prefix('[').and_then(|r| r.split(']').next()) {
                table = indexed(name.trim(), &counts);
                at.entry(table.clone()).or_insert(line);
                continue;
            }
            if let Some((k, _)) = l.split_once('=') {
                let k: String = k
                    .trim()
                    .split('.')
                    .map(|p| p.trim().trim_matches('"').trim_matches('\''))
                    .collect::<Vec<_>>()
                    .join(".");
                if k.is_empty() {
                    continue;
                }
                let path = if table.is_empty() {
                    k
                } else {
                    format!("{table}.{k}")
                };
                at.entry(path).or_insert(line);
            }
        }
        Lines { at }
    }

    /// The line of `key`, or of the nearest written key or table above it.
    pub fn line(&self, key: &str) -> Option<usize> {
        let mut k = key;
        loop {
            if let Some(l) = self.at.get(k) {
                return Some(*l);
            }
            let cut = k.rfind(['.', '['])?;
            k = &k[..cut];
        }
    }
}

/// `a.b.c` with the current index of every array of tables among its prefixes
/// (`source.kafka` after a second `[[source]]` is `source[1].kafka`).
fn indexed(name: &str, counts: &HashMap<String, usize>) -> String {
    let mut out = String::new();
    let mut prefix = String::new();
    for (i, part) in name.split('.').enumerate() {
        let part = part.trim().trim_matches('"');
        if i > 0 {
            out.push('.');
            prefix.push('.');
        }
        prefix.push_str(part);
        out.push_str(part);
        if let Some(n) = counts.get(&prefix) {
            out.push_str(&format!("[{}]", n.saturating_sub(1)));
        }
    }
    out
}

fn try_raw(v: toml::Value) -> Result<RawConfig, toml::de::Error> {
    v.try_into()
}

/// A serde message without toml's own location suffix.
fn reason(e: &toml::de::Error) -> String {
    e.message().trim().to_string()
}

/// Every type error in `value` as (key path, reason), and the value with the offending keys
/// taken out: when that still deserializes, its semantic errors can be listed too.
pub fn type_errors(value: &toml::Value) -> (Vec<(String, String)>, toml::Value) {
    let mut errors = Vec::new();
    let mut salvaged = value.clone();
    let Some(table) = value.as_table() else {
        return (
            vec![(String::from("-"), String::from("not a TOML table"))],
            salvaged,
        );
    };
    for (k, v) in table {
        let wrap = |x: toml::Value| {
            let mut t = toml::Table::new();
            t.insert(k.clone(), x);
            toml::Value::Table(t)
        };
        let Err(whole) = try_raw(wrap(v.clone())) else {
            continue;
        };
        match v {
            toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                for (i, item) in items.iter().enumerate() {
                    let bad = probe(
                        &format!("{k}[{i}]"),
                        item,
                        &|x| wrap(toml::Value::Array(vec![x])),
                        &mut errors,
                    );
                    remove(&mut salvaged, k, Some(i), &bad);
                }
            }
            toml::Value::Table(_) => {
                let bad = probe(k, v, &wrap, &mut errors);
                remove(&mut salvaged, k, None, &bad);
            }
            _ => {
                errors.push((k.clone(), reason(&whole)));
                if let Some(t) = salvaged.as_table_mut() {
                    t.remove(k);
                }
            }
        }
    }
    (errors, salvaged)
}

/// The fields of one table that fail on their own (missing-field errors belong to the whole
/// table and are reported for it when no single field explains the failure). Returns the
/// fields to take out.
fn probe(
    prefix: &str,
    item: &toml::Value,
    wrap: &dyn Fn(toml::Value) -> toml::Value,
    errors: &mut Vec<(String, String)>,
) -> Vec<String> {
    let Err(whole) = try_raw(wrap(item.clone())) else {
        return Vec::new();
    };
    let mut bad = Vec::new();
    if let Some(t) = item.as_table() {
        for (f, fv) in t {
            let mut one = toml::Table::new();
            one.insert(f.clone(), fv.clone());
            if let Err(e) = try_raw(wrap(toml::Value::Table(one))) {
                let r = reason(&e);
                if !r.starts_with("missing field") {
                    errors.push((format!("{prefix}.{f}"), r));
                    bad.push(f.clone());
                }
            }
        }
    }
    if bad.is_empty() {
        errors.push((prefix.to_string(), reason(&whole)));
    }
    bad
}

/// Takes `fields` out of `value[key]` (or `value[key][i]`).
fn remove(value: &mut toml::Value, key: &str, i: Option<usize>, fields: &[String]) {
    let Some(v) = value.as_table_mut().and_then(|t| t.get_mut(key)) else {
        return;
    };
    let target = match i {
        Some(i) => v.as_array_mut().and_then(|a| a.get_mut(i)),
        None => Some(v),
    };
    if let Some(t) = target.and_then(toml::Value::as_table_mut) {
        for f in fields {
            t.remove(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_lines_of_keys_headers_and_array_elements() {
        let text = "version = 1\n[[brand]]\nid = \"a\"\n\n[[brand]]\nid = \"b\"\nterms = [\"\"]\n\
                    [delivery]\nmax_age = \"1d\"\n[[source]]\nid = \"k\"\n[source.kafka]\n\"x.y\" = \"1\"\n";
        let l = Lines::scan(text);
        assert_eq!(l.line("version"), Some(1));
        assert_eq!(l.line("brand[1].id"), Some(6));
        assert_eq!(l.line("brand[1].terms[0]"), Some(7));
        assert_eq!(
            l.line("brand[0].terms"),
            Some(2),
            "missing key: the table's header"
        );
        assert_eq!(l.line("delivery.max_age"), Some(9));
        assert_eq!(l.line("source[0].kafka.x.y"), Some(13));
        assert_eq!(l.line("nowhere"), None);
    }

    #[test]
    fn locate_every_type_error_at_once() {
        let v: toml::Value = toml::from_str(
            "version = \"one\"\n[[brand]]\nid = \"a\"\nterms = [1]\ncolour = \"red\"\n\
             [pipeline]\nchannel_capacity = \"big\"\nallowed_lateness = 5\n\
             [delivery]\nmax_age = \"soon\"\n",
        )
        .unwrap();
        let (errs, salvaged) = type_errors(&v);
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        for want in [
            "version",
            "brand[0].terms",
            "brand[0].colour",
            "pipeline.channel_capacity",
            "pipeline.allowed_lateness",
            "delivery.max_age",
        ] {
            assert!(keys.contains(&want), "missing {want} in {errs:?}");
        }
        assert_eq!(errs.len(), 6, "{errs:?}");
        assert!(try_raw(salvaged).is_ok(), "the rest still reads");
    }
}
