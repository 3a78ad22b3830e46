//! The report as one self-contained HTML page (no scripts, no external assets): provenance,
//! input counts, the per-brand summary, per-brand charts, incidents with evidence and links,
//! the alert log. Every text from the stream is escaped with [`esc`].

use std::fmt::Write as _;

use chrono::FixedOffset;

use super::plot::{self, Span};
use super::stats::{self, esc, BrandSummary, IncidentView};
use super::ReportMeta;
use crate::alert::Action;
use crate::app::summary::ReplaySummary;
use crate::config::Config;
use crate::domain::EventTime;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.critical{background:#f8d0d0}.error{background:#fbe0d0}.warning{background:#fff3c4}.info{background:#e4f0fb}\
figure{margin:0 0 1em}figure svg{display:block;width:100%;height:auto}figcaption{color:#555;font-size:.9em}\
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 12px}\
dl.meta dt{font-weight:600}code{font-size:.9em}";

/// An RFC 3339 UTC time shown in the report's timezone (`2026-03-03 12:52 UTC+02:00`).
fn local(at: &str, tz: FixedOffset) -> String {
    EventTime::parse_rfc3339(at).map_or_else(|| at.to_owned(), |t| local_ms(t.millis(), tz))
}

fn local_ms(ms: i64, tz: FixedOffset) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| {
        format!(
            "{} {}",
            t.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            plot::tz_name(tz)
        )
    })
}

fn keys(list: &[(String, u32)]) -> String {
    if list.is_empty() {
        return String::from("—");
    }
    list.iter()
        .map(|(k, n)| format!("{} ({n})", esc(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// Renders the report as HTML.
pub fn render(cfg: &Config, s: &ReplaySummary, meta: &ReportMeta) -> String {
    let mut h = String::new();
    // Writing into a String cannot fail.
    match render_into(&mut h, cfg, s, meta) {
        Ok(()) => h,
        Err(_) => String::new(),
    }
}

fn render_into(
    h: &mut String,
    cfg: &Config,
    s: &ReplaySummary,
    meta: &ReportMeta,
) -> std::fmt::Result {
    let tz = meta.timezone;
    write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>flashpoint replay report</title><style>{STYLE}</style></head><body>\
<h1>flashpoint replay report</h1>"
    )?;
    provenance(h, meta)?;
    let e = &s.engine;
    write!(
        h,
        "<h2>Input</h2><table><tr><th>lines read</th><td class=\"num\">{}</td></tr><tr><th>decoded</th><td class=\"num\">{}</td></tr>\
<tr><th>matched to a brand</th><td class=\"num\">{}</td></tr><tr><th>late (accepted)</th><td class=\"num\">{}</td></tr>\
<tr><th>too late (dropped)</th><td class=\"num\">{}</td></tr><tr><th>alerts</th><td class=\"num\">{}</td></tr><tr><th>brands</th><td class=\"num\">{}</td></tr>",
        s.decode.lines,
        s.decode.decoded,
        e.matched,
        e.late,
        e.too_late,
        s.alerts.len(),
        cfg.brands.len()
    )?;
    for (reason, n) in &s.decode.errors {
        write!(
            h,
            "<tr><th>skipped: {}</th><td class=\"num\">{n}</td></tr>",
            esc(reason)
        )?;
    }
    h.push_str("</table>");
    let brands = stats::brand_summaries(cfg, s);
    summary_table(h, s, &brands)?;
    let incidents = stats::incidents(s);
    brand_sections(h, cfg, s, &brands, &incidents, tz)?;
    incident_table(h, cfg, &incidents, tz)?;
    h.push_str("<h2>Alert log</h2><table><tr><th>at</th><th>action</th><th>incident</th><th>severity</th><th>teams</th><th>summary</th></tr>");
    for a in &s.alerts {
        write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.severity,
            esc(&local(&a.at, tz)),
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

fn provenance(h: &mut String, meta: &ReportMeta) -> std::fmt::Result {
    h.push_str("<dl class=\"meta\" id=\"provenance\">");
    write!(
        h,
        "<dt>generated</dt><dd>{}</dd><dt>flashpoint</dt><dd>{}</dd>",
        esc(&meta.generated_at),
        env!("CARGO_PKG_VERSION")
    )?;
    match &meta.config {
        Some((name, sha)) => write!(
            h,
            "<dt>configuration</dt><dd>{} <code>sha256 {}</code></dd>",
            esc(name),
            esc(sha)
        )?,
        None => h.push_str("<dt>configuration</dt><dd>built in</dd>"),
    }
    let archives = if meta.archives.is_empty() {
        String::from("built-in sample")
    } else {
        esc(&meta.archives.join(", "))
    };
    write!(
        h,
        "<dt>archives</dt><dd>{archives}</dd><dt>times shown in</dt><dd>{}</dd></dl>",
        plot::tz_name(meta.timezone)
    )
}

fn summary_table(h: &mut String, s: &ReplaySummary, brands: &[BrandSummary]) -> std::fmt::Result {
    let period = stats::period(s).map(|(len, _)| len);
    let label = match period {
        Some(len) if len % 60 == 0 => format!("last {} h vs the {} h before", len / 60, len / 60),
        Some(len) => format!("last {len} min vs the {len} min before"),
        None => String::from("change (replay under 2 h: none)"),
    };
    write!(
        h,
        "<h2>Brands</h2><table id=\"summary\"><tr><th>brand</th><th>mentions</th><th>net sentiment</th>\
<th>share of voice</th><th>volume: {l}</th><th>net sentiment: {l}</th><th>top authors</th><th>top hashtags</th></tr>",
        l = esc(&label)
    )?;
    for b in brands {
        let change = match b.volume_change() {
            Some(c) => format!("{:+.0}%", c * 100.0),
            None if b.current.mentions > 0 => String::from("new"),
            None => String::from("—"),
        };
        let net_change = b
            .net_change()
            .map_or_else(|| String::from("—"), |d| format!("{:+.2}", d));
        write!(
            h,
            "<tr><td><b>{}</b> <code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{:+.2}</td>\
<td class=\"num\">{}</td><td class=\"num\">{} → {} ({change})</td><td class=\"num\">{net_change}</td><td>{}</td><td>{}</td></tr>",
            esc(&b.name),
            esc(&b.id),
            b.total.mentions,
            b.net,
            pct(b.share_of_voice),
            b.previous.mentions,
            b.current.mentions,
            keys(&b.top_authors),
            keys(&b.top_hashtags),
        )?;
    }
    h.push_str(
        "</table><p>Net sentiment is (positive − negative) / mentions, from −1 to +1. Share of \
voice is the brand's part of all brands' mentions in the replay.</p>",
    );
    Ok(())
}

fn brand_sections(
    h: &mut String,
    cfg: &Config,
    s: &ReplaySummary,
    brands: &[BrandSummary],
    incidents: &[IncidentView<'_>],
    tz: FixedOffset,
) -> std::fmt::Result {
    let all = s.series.values().flatten();
    let (Some(t0), Some(t1)) = (
        all.clone().map(|p| p.minute).min(),
        all.map(|p| p.minute).max(),
    ) else {
        return Ok(());
    };
    let range = (t0 * 60_000, (t1 * 60_000).max(t0 * 60_000 + 60_000));
    write!(
        h,
        "<p>Per brand: mentions per minute (5-minute rate, blue) against the learned baseline \
(grey, dashed), with incidents shaded by their highest severity and labelled with their id; \
below, the hourly share of negative (red) and positive (green) mentions, each hour weighted by \
its volume (pulled toward the brand's overall share by {} pseudo-mentions, so a quiet hour does \
not swing from 0 to 100 %). Times in {}.</p>",
        stats::SENTIMENT_PRIOR,
        plot::tz_name(tz)
    )?;
    let mut ids: Vec<&str> = brands.iter().map(|b| b.id.as_str()).collect();
    for id in s.series.keys() {
        if !ids.contains(&id.as_str()) {
            ids.push(id);
        }
    }
    for id in ids {
        let name = stats::brand_name(cfg, id);
        let points = s.series.get(id).map_or(&[][..], Vec::as_slice);
        let spans: Vec<Span> = incidents
            .iter()
            .filter(|i| i.lines[0].brand == id)
            .map(|i| Span {
                start_ms: i.start_ms,
                end_ms: i.end_ms.unwrap_or(range.1),
                severity: i.severity,
                label: format!("{} ({})", i.id, i.severity),
            })
            .collect();
        write!(
            h,
            "<section class=\"brand\" data-brand=\"{id}\"><h3>{name} <code>{id}</code></h3><figure>{}\
<figcaption>{name}: mentions per minute and learned baseline{}</figcaption></figure>",
            plot::volume_svg(&format!("{name} volume"), points, &spans, range, tz),
            if spans.is_empty() {
                String::new()
            } else {
                format!(
                    "; incidents: {}",
                    esc(&spans.iter().map(|s| s.label.as_str()).collect::<Vec<_>>().join(", "))
                )
            },
            id = esc(id),
            name = esc(&name),
        )?;
        if let Some(t) = s.tally.brands.get(id) {
            write!(
                h,
                "<figure>{}<figcaption>{}: hourly sentiment shares, volume-weighted</figcaption></figure>",
                plot::sentiment_svg(
                    &format!("{name} sentiment"),
                    &stats::hourly_sentiment(t),
                    range,
                    tz
                ),
                esc(&name)
            )?;
        }
        h.push_str("</section>");
    }
    Ok(())
}

fn incident_table(
    h: &mut String,
    cfg: &Config,
    incidents: &[IncidentView<'_>],
    tz: FixedOffset,
) -> std::fmt::Result {
    h.push_str(
        "<h2>Incidents</h2><table id=\"incidents\"><tr><th>incident</th><th>brand</th><th>category</th>\
<th>highest severity</th><th>teams</th><th>opened</th><th>first page (warning+)</th><th>resolved</th>\
<th>top authors, hashtags</th><th>evidence (at the highest severity)</th></tr>",
    );
    for i in incidents {
        let first = i.lines[0];
        let mut teams: Vec<&str> = i
            .lines
            .iter()
            .flat_map(|a| a.teams.iter().map(String::as_str))
            .collect();
        teams.sort_unstable();
        teams.dedup();
        let resolved = i
            .lines
            .iter()
            .find(|a| a.action == Action::Resolve)
            .map_or_else(|| String::from("open"), |a| local(&a.at, tz));
        let first_page = i.first_page().map_or_else(
            || String::from("never"),
            |a| {
                let delay = stats::millis(a) - i.start_ms;
                format!("{} (+{:.0} min)", local(&a.at, tz), delay as f64 / 60_000.0)
            },
        );
        let peak = i.peak();
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
                let text = esc(&p.text);
                let text = match p.url.as_deref().and_then(stats::safe_url) {
                    Some(url) => format!(
                        "<a href=\"{}\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">{text}</a>",
                        esc(url)
                    ),
                    None => text,
                };
                let _w = write!(
                    evidence,
                    "<li>{} ({} followers): {text}</li>",
                    esc(&p.author),
                    p.followers,
                );
            }
            evidence.push_str("</ul>");
        }
        let sev = i.severity;
        write!(
            h,
            "<tr class=\"{sev}\" id=\"{id}\"><td>{id}</td><td>{}</td><td>{}</td><td>{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
<td><b>authors:</b> {}<br><b>hashtags:</b> {}</td><td>{evidence}</td></tr>",
            esc(&stats::brand_name(cfg, &first.brand)),
            first.category,
            esc(&teams.join(", ")),
            esc(&local(&first.at, tz)),
            esc(&first_page),
            esc(&resolved),
            keys(&i.top_authors),
            keys(&i.top_hashtags),
            id = esc(i.id),
        )?;
    }
    h.push_str("</table>");
    Ok(())
}
