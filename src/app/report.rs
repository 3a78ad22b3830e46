//! The analyst's HTML replay report: what was read, what was dropped, and every incident with
//! its alert lines. A single self-contained file (no scripts, no external assets).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::replay::ReplaySummary;
use crate::alert::{Action, AlertRecord};
use crate::config::Config;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the report as HTML.
pub fn render(cfg: &Config, s: &ReplaySummary) -> String {
    let mut h = String::new();
    // Writing into a String cannot fail.
    match render_into(&mut h, cfg, s) {
        Ok(()) => h,
        Err(_) => String::new(),
    }
}

fn render_into(h: &mut String, cfg: &Config, s: &ReplaySummary) -> std::fmt::Result {
    write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>flashpoint replay report</title>\
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}\
.critical{{background:#f8d0d0}}.error{{background:#fbe0d0}}.warning{{background:#fff3c4}}.info{{background:#e4f0fb}}</style></head><body>\
<h1>flashpoint replay report</h1>"
    )?;
    let e = &s.engine;
    write!(
        h,
        "<h2>Input</h2><table><tr><th>lines read</th><td>{}</td></tr><tr><th>decoded</th><td>{}</td></tr>\
<tr><th>matched to a brand</th><td>{}</td></tr><tr><th>late (accepted)</th><td>{}</td></tr>\
<tr><th>too late (dropped)</th><td>{}</td></tr><tr><th>alerts</th><td>{}</td></tr><tr><th>brands</th><td>{}</td></tr>",
        s.decode.lines,
        s.decode.decoded,
        e.matched,
        e.late,
        e.too_late,
        s.alerts.len(),
        cfg.brands.len()
    )?;
    for (reason, n) in &s.decode.errors {
        write!(h, "<tr><th>skipped: {}</th><td>{n}</td></tr>", esc(reason))?;
    }
    h.push_str("</table>");

    let mut incidents: BTreeMap<&str, Vec<&AlertRecord>> = BTreeMap::new();
    for a in &s.alerts {
        incidents.entry(a.incident.as_str()).or_default().push(a);
    }
    h.push_str(
        "<h2>Incidents</h2><table><tr><th>incident</th><th>brand</th><th>category</th>\
<th>highest severity</th><th>teams</th><th>opened</th><th>resolved</th><th>first summary</th></tr>",
    );
    for (id, lines) in &incidents {
        let first = lines[0];
        let sev = lines
            .iter()
            .map(|a| a.severity)
            .max()
            .unwrap_or(first.severity);
        let mut teams: Vec<&str> = lines
            .iter()
            .flat_map(|a| a.teams.iter().map(String::as_str))
            .collect();
        teams.sort_unstable();
        teams.dedup();
        let resolved = lines
            .iter()
            .find(|a| a.action == Action::Resolve)
            .map(|a| a.at.as_str())
            .unwrap_or("open");
        write!(
            h,
            "<tr class=\"{sev}\"><td>{}</td><td>{}</td><td>{}</td><td>{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(id),
            esc(&first.brand),
            first.category,
            esc(&teams.join(", ")),
            esc(&first.at),
            esc(resolved),
            esc(&first.summary)
        )?;
    }
    h.push_str("</table><h2>Alert log</h2><table><tr><th>at</th><th>action</th><th>incident</th><th>severity</th><th>teams</th><th>summary</th></tr>");
    for a in &s.alerts {
        write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.severity,
            esc(&a.at),
            a.action.as_str(),
            esc(&a.incident),
            a.severity,
            esc(&a.teams.join(", ")),
            esc(&a.summary)
        )?;
    }
    h.push_str("</table></body></html>\n");
    Ok(())
}

/// Writes the report to `path`.
pub fn write(path: &str, cfg: &Config, s: &ReplaySummary) -> std::io::Result<()> {
    std::fs::write(path, render(cfg, s))
}
