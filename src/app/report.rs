//! The analyst's HTML replay report: what was read, what was dropped, per brand an SVG plot of
//! volume against its learned baseline with the incident spans and the sentiment shares, and
//! every incident with its alert lines and evidence. A single self-contained file (no
//! scripts, no external assets); every text from the stream is escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::engine::BrandPoint;
use super::summary::ReplaySummary;
use crate::alert::{Action, AlertRecord};
use crate::config::Config;
use crate::domain::{EventTime, Severity};

const PLOT_W: f64 = 900.0;
const PLOT_H: f64 = 170.0;
const SENT_H: f64 = 70.0;
const LEFT: f64 = 46.0;
const RIGHT: f64 = 10.0;

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
.critical{{background:#f8d0d0}}.error{{background:#fbe0d0}}.warning{{background:#fff3c4}}.info{{background:#e4f0fb}}\
svg{{display:block;margin-bottom:4px}}svg text{{font-size:11px;fill:#444}}.rate{{fill:none;stroke:#1f5fa8;stroke-width:1.4}}\
.base{{fill:none;stroke:#888;stroke-dasharray:4 3}}.neg{{fill:none;stroke:#c0392b}}.pos{{fill:none;stroke:#27ae60}}\
rect.critical{{fill:#e74c3c;fill-opacity:.25}}rect.error{{fill:#e67e22;fill-opacity:.25}}rect.warning{{fill:#f1c40f;fill-opacity:.3}}rect.info{{fill:#3498db;fill-opacity:.15}}</style></head><body>\
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
    brand_plots(h, s, &incidents)?;
    h.push_str(
        "<h2>Incidents</h2><table><tr><th>incident</th><th>brand</th><th>category</th>\
<th>highest severity</th><th>teams</th><th>opened</th><th>first page (warning+)</th><th>resolved</th>\
<th>evidence (at the highest severity)</th></tr>",
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
        let first_page = lines
            .iter()
            .find(|a| a.action != Action::Resolve && a.severity >= Severity::Warning)
            .map(|a| {
                let delay = millis(a) - millis(first);
                format!("{} (+{:.0} min)", a.at, delay as f64 / 60_000.0)
            })
            .unwrap_or_else(|| String::from("never"));
        let peak = lines
            .iter()
            .filter(|a| a.action != Action::Resolve)
            .max_by_key(|a| a.severity)
            .copied()
            .unwrap_or(first);
        let mut evidence = format!("<p>{}</p>", esc(&peak.summary));
        if !peak.terms.is_empty() {
            let _w = write!(
                evidence,
                "<p><b>terms:</b> {}</p>",
                esc(&peak.terms.join(", "))
            );
        }
        if !peak.top_posts.is_empty() {
            evidence.push_str("<ul>");
            for p in &peak.top_posts {
                let _w = write!(
                    evidence,
                    "<li>{} ({} followers): {}</li>",
                    esc(&p.author),
                    p.followers,
                    esc(&p.text)
                );
            }
            evidence.push_str("</ul>");
        }
        write!(
            h,
            "<tr class=\"{sev}\"><td>{}</td><td>{}</td><td>{}</td><td>{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{evidence}</td></tr>",
            esc(id),
            esc(&first.brand),
            first.category,
            esc(&teams.join(", ")),
            esc(&first.at),
            esc(&first_page),
            esc(resolved),
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

fn millis(a: &AlertRecord) -> i64 {
    a.event_time().map_or(0, EventTime::millis)
}

/// One section per brand that has samples or incidents: volume against baseline with the
/// incident spans shaded by their highest severity, then the 60-minute sentiment shares.
fn brand_plots(
    h: &mut String,
    s: &ReplaySummary,
    incidents: &BTreeMap<&str, Vec<&AlertRecord>>,
) -> std::fmt::Result {
    let mut spans: BTreeMap<&str, Vec<(i64, i64, Severity, &str)>> = BTreeMap::new();
    for (id, lines) in incidents {
        let start = millis(lines[0]);
        let end = lines
            .iter()
            .find(|a| a.action == Action::Resolve)
            .map_or(i64::MAX, |a| millis(a));
        let sev = lines
            .iter()
            .map(|a| a.severity)
            .max()
            .unwrap_or(Severity::Info);
        spans
            .entry(lines[0].brand.as_str())
            .or_default()
            .push((start, end, sev, id));
    }
    let all: Vec<&BrandPoint> = s.series.values().flatten().collect();
    let (Some(t0), Some(t1)) = (
        all.iter().map(|p| p.minute).min(),
        all.iter().map(|p| p.minute).max(),
    ) else {
        return Ok(());
    };
    let (t0, t1) = (t0 * 60_000, (t1 * 60_000).max(t0 * 60_000 + 60_000));
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (PLOT_W - LEFT - RIGHT);
    h.push_str(
        "<h2>Brands</h2><p>Mentions per minute (blue, 5-minute rate) against the learned \
baseline (grey, dashed); shaded spans are incidents, coloured by their highest severity. \
Below: share of negative (red) and positive (green) mentions over 60 minutes.</p>",
    );
    for (brand, points) in &s.series {
        let ymax = points
            .iter()
            .map(|p| p.rate_per_min.max(p.baseline_per_min))
            .fold(1.0f64, f64::max)
            * 1.1;
        let y = |v: f64| PLOT_H - 18.0 - v / ymax * (PLOT_H - 30.0);
        let line = |f: &dyn Fn(&BrandPoint) -> f64, yf: &dyn Fn(f64) -> f64| {
            points
                .iter()
                .map(|p| format!("{:.1},{:.1}", x(p.minute * 60_000), yf(f(p))))
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            h,
            "<h3>{b}</h3><svg class=\"brand\" data-brand=\"{b}\" width=\"{PLOT_W}\" height=\"{PLOT_H}\" \
viewBox=\"0 0 {PLOT_W} {PLOT_H}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{b} volume\">",
            b = esc(brand)
        )?;
        for (start, end, sev, id) in spans.get(brand.as_str()).into_iter().flatten() {
            let (a, b) = (x((*start).max(t0)), x((*end).min(t1)));
            write!(
                h,
                "<rect class=\"{sev}\" x=\"{a:.1}\" y=\"8\" width=\"{:.1}\" height=\"{:.1}\"><title>{} ({sev})</title></rect>",
                (b - a).max(2.0),
                PLOT_H - 26.0,
                esc(id)
            )?;
        }
        write!(
            h,
            "<polyline class=\"base\" points=\"{}\"/><polyline class=\"rate\" points=\"{}\"/>\
<text x=\"4\" y=\"14\">{ymax:.1}/min</text><text x=\"4\" y=\"{:.0}\">0</text>\
<text x=\"{LEFT}\" y=\"{:.0}\">{}</text><text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text></svg>",
            line(&|p| p.baseline_per_min, &y),
            line(&|p| p.rate_per_min, &y),
            PLOT_H - 18.0,
            PLOT_H - 4.0,
            EventTime(t0),
            PLOT_W - RIGHT,
            PLOT_H - 4.0,
            EventTime(t1),
        )?;
        let ys = |v: f64| SENT_H - 6.0 - v * (SENT_H - 12.0);
        write!(
            h,
            "<svg class=\"sentiment\" width=\"{PLOT_W}\" height=\"{SENT_H}\" viewBox=\"0 0 {PLOT_W} {SENT_H}\" \
xmlns=\"http://www.w3.org/2000/svg\"><polyline class=\"neg\" points=\"{}\"/><polyline class=\"pos\" points=\"{}\"/>\
<text x=\"4\" y=\"12\">100%</text><text x=\"4\" y=\"{:.0}\">0%</text></svg>",
            line(&|p| p.negative_share, &ys),
            line(&|p| p.positive_share, &ys),
            SENT_H - 4.0
        )?;
    }
    Ok(())
}

/// The report's content for tools: input counts, every incident with its lines, and the
/// per-brand samples.
pub fn to_json(s: &ReplaySummary) -> serde_json::Value {
    let mut incidents: BTreeMap<&str, Vec<&AlertRecord>> = BTreeMap::new();
    for a in &s.alerts {
        incidents.entry(a.incident.as_str()).or_default().push(a);
    }
    let incidents: Vec<serde_json::Value> = incidents
        .iter()
        .map(|(id, lines)| {
            let first = lines[0];
            let first_page = lines
                .iter()
                .find(|a| a.action != Action::Resolve && a.severity >= Severity::Warning);
            serde_json::json!({
                "incident": id,
                "brand": first.brand,
                "category": first.category,
                "max_severity": lines.iter().map(|a| a.severity).max(),
                "opened": first.at,
                "first_page": first_page.map(|a| a.at.clone()),
                "first_page_delay_s": first_page.map(|a| (millis(a) - millis(first)) / 1000),
                "resolved": lines.iter().find(|a| a.action == Action::Resolve).map(|a| a.at.clone()),
                "lines": lines,
            })
        })
        .collect();
    let series: BTreeMap<&str, Vec<serde_json::Value>> = s
        .series
        .iter()
        .map(|(brand, points)| {
            let pts = points
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "at": EventTime(p.minute * 60_000).to_rfc3339(),
                        "rate_per_min": p.rate_per_min,
                        "baseline_per_min": p.baseline_per_min,
                        "negative_share": p.negative_share,
                        "positive_share": p.positive_share,
                    })
                })
                .collect();
            (brand.as_str(), pts)
        })
        .collect();
    serde_json::json!({
        "input": {
            "lines": s.decode.lines,
            "decoded": s.decode.decoded,
            "skipped": s.decode.errors,
            "matched": s.engine.matched,
            "late": s.engine.late,
            "too_late": s.engine.too_late,
        },
        "incidents": incidents,
        "series": series,
    })
}

/// Writes the JSON report to `path`.
pub fn write_json(path: &str, s: &ReplaySummary) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&to_json(s)).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}

/// Writes the report to `path`.
pub fn write(path: &str, cfg: &Config, s: &ReplaySummary) -> std::io::Result<()> {
    std::fs::write(path, render(cfg, s))
}
