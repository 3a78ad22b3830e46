//! Semantic validation: every rule is checked and every failure is collected, so a user fixes
//! a configuration in one pass. No IO happens here.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::component::ComponentConfig;
use super::raw::{Profile, RawConfig};
use super::{Brand, Config, ConfigError, ConfigErrors, Route, RouteTable};
use crate::domain::{BrandId, BrandIdx, Category, Severity};

/// What `${VAR}` expanded to, by the key that used it (`sink[0].webhook_url`): a variable
/// may hold a credential that forms only part of a value (a URL path), so every sink scrubs
/// the values expanded into its options from what it logs.
pub(super) type Expanded = Vec<(String, String)>;

/// Shortest expanded value a sink scrubs from its messages.
const MIN_REDACT: usize = 4;

/// Most `[pipeline] shards` (and `replay --shards`): each shard holds a slot for every
/// configured brand, so with 100,000 brands 64 shards already cost ~50 MB before any state.
pub const MAX_SHARDS: usize = 64;

/// Most characters in one brand term, exclude phrase, handle or hashtag. Names and phrases are
/// a few words; the matcher's automaton grows with the length of its patterns, and one
/// pattern of 200,000 characters kept `run` building it for over a minute.
pub const MAX_PATTERN_CHARS: usize = 200;

/// Whether `c` shows nothing: whitespace, a control, or a default-ignorable code point
/// (Unicode's list: zero-width spaces and joiners, bidi marks and overrides, the byte-order
/// mark, variation selectors, tags, ...). A pattern made only of these names nothing a
/// reader can see, yet the matcher would look for it; it is refused as an empty phrase.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Why brand pattern `p` (a `kind` of brand `id`) is too long to match, if it is: the error
/// quotes only its start, so the message stays one line.
fn too_long(id: &str, kind: &str, p: &str) -> Option<String> {
    let n = p.chars().count();
    (n > MAX_PATTERN_CHARS).then(|| {
        let start: String = p.chars().take(24).collect();
        format!(
            "brand {id:?}: a {kind} of {n} characters, longer than {MAX_PATTERN_CHARS} \
             (starts {start:?})"
        )
    })
}

/// Replaces `${VAR}` in every string value with the variable's value, and `${VAR:-default}`
/// with the value or, when the variable is unset or empty, `default` (which cannot hold `}`);
/// a missing variable without a default is an error reported under the key that used it. Each expansion is recorded in `expanded`.
pub(super) fn expand_env(
    value: &mut toml::Value,
    key: &str,
    env: &dyn Fn(&str) -> Option<String>,
    err: &mut dyn FnMut(String, String),
    expanded: &mut Expanded,
) {
    match value {
        toml::Value::String(s) if s.contains("${") => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let Some(end) = rest[start..].find('}') else {
                    err(key.to_string(), String::from("unterminated ${...}"));
                    return;
                };
                let spec = &rest[start + 2..start + end];
                // `${VAR:-default}`: the default when VAR is unset or empty (as in sh).
                let (var, default) = match spec.split_once(":-") {
                    Some((var, default)) => (var, Some(default)),
                    None => (spec, None),
                };
                match (env(var).filter(|v| default.is_none() || !v.is_empty()), default) {
                    (Some(v), _) => {
                        out.push_str(&v);
                        expanded.push((key.to_string(), v));
                    }
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => err(
                        key.to_string(),
                        format!(
                            "environment variable {var} is not set (write ${{{var}:-default}} for a fallback)"
                        ),
                    ),
                }
                rest = &rest[start + end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        toml::Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                expand_env(v, &format!("{key}[{i}]"), env, err, expanded);
            }
        }
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                let child = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                expand_env(v, &child, env, err, expanded);
            }
        }
        _ => {}
    }
}

/// The error for a sentiment model name that is not one of [`crate::config::MODEL_NAMES`];
/// `also` names what else the field takes (", or ..."), empty when nothing.
fn unknown_model(name: &str, also: &str) -> String {
    format!(
        "unknown model {name:?} (available: {}{also})",
        crate::config::MODEL_NAMES.join(", ")
    )
}

pub(super) fn validate(
    raw: RawConfig,
    file: &str,
    expanded: &Expanded,
) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    // A value `${VAR}` expanded to never appears in an error, whichever key it was put in: a
    // routing key written into `min_severity` by mistake is still a routing key.
    let mut hide: Vec<&str> = expanded
        .iter()
        .map(|(_, v)| v.as_str())
        .filter(|v| v.chars().count() >= MIN_REDACT)
        .collect();
    hide.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut err = |key: String, reason: String| {
        let reason = hide.iter().fold(reason, |r, v| {
            if r.contains(v) {
                r.replace(v, "***")
            } else {
                r
            }
        });
        errors.push(ConfigError {
            file: file.to_string(),
            line: None,
            key,
            reason,
        })
    };

    if let Some(v) = raw.version {
        if v != 1 {
            err(
                "version".into(),
                format!("unsupported version {v}; only 1 exists"),
            );
        }
    }
    if raw.brand.is_empty() {
        err(
            "brand".into(),
            "at least one [[brand]] table is required".into(),
        );
    }

    let mut seen = BTreeSet::new();
    let mut brands = Vec::with_capacity(raw.brand.len());
    for (i, b) in raw.brand.iter().enumerate() {
        let key = |field: &str| format!("brand[{i}].{field}");
        if b.id.is_empty()
            || !b
                .id
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
        {
            err(key("id"), format!("{:?} must match [a-z0-9_-]+", b.id));
        } else if !seen.insert(b.id.clone()) {
            err(key("id"), format!("duplicate brand id {:?}", b.id));
        }
        if b.terms.is_empty() && b.handles.is_empty() && b.hashtags.is_empty() {
            err(
                key("terms"),
                "a brand needs at least one of terms, handles or hashtags".into(),
            );
        }
        for (field, kind, list) in [
            ("terms", "term", &b.terms),
            ("exclude", "exclude phrase", &b.exclude),
        ] {
            for (j, t) in list.iter().enumerate() {
                if t.trim().is_empty() {
                    err(format!("brand[{i}].{field}[{j}]"), "empty phrase".into());
                } else if t.chars().all(is_invisible) {
                    err(
                        format!("brand[{i}].{field}[{j}]"),
                        format!(
                            "empty phrase: only invisible characters ({:?})",
                            t.chars().take(24).collect::<String>()
                        ),
                    );
                } else if let Some(why) = too_long(&b.id, kind, t) {
                    err(format!("brand[{i}].{field}[{j}]"), why);
                }
            }
        }
        for (field, kind, prefix, list) in [
            ("handles", "handle", '@', &b.handles),
            ("hashtags", "hashtag", '#', &b.hashtags),
        ] {
            for (j, h) in list.iter().enumerate() {
                let key = format!("brand[{i}].{field}[{j}]");
                match h.strip_prefix(prefix) {
                    Some(name)
                        if !name.is_empty()
                            && !name.contains(char::is_whitespace)
                            && !name.chars().all(is_invisible) =>
                    {
                        if let Some(why) = too_long(&b.id, kind, h) {
                            err(key, why);
                        }
                    }
                    _ => {
                        let shape = if prefix == '@' { "@handle" } else { "#tag" };
                        err(key, format!("{h:?} must look like {shape}"));
                    }
                }
            }
        }
        brands.push(Brand {
            idx: BrandIdx(u32::try_from(i).unwrap_or(u32::MAX)),
            id: BrandId(Arc::from(b.id.as_str())),
            name: if b.name.is_empty() {
                b.id.clone()
            } else {
                b.name.clone()
            },
            terms: b.terms.clone(),
            handles: b.handles.clone(),
            hashtags: b.hashtags.clone(),
            exclude: b.exclude.clone(),
            profile: Profile::Balanced,
        });
    }

    let p = &raw.pipeline;
    if p.parent_capacity == 0 {
        err(
            "pipeline.parent_capacity".into(),
            "must be at least 1".into(),
        );
    }
    if p.shards > MAX_SHARDS {
        err(
            "pipeline.shards".into(),
            format!("must be at most {MAX_SHARDS} (0 = one per core)"),
        );
    }
    if p.prepare_workers > MAX_SHARDS {
        err(
            "pipeline.prepare_workers".into(),
            format!("must be at most {MAX_SHARDS} (0 = none)"),
        );
    }
    if p.channel_capacity == 0 {
        err(
            "pipeline.channel_capacity".into(),
            "must be at least 1".into(),
        );
    }
    if !crate::config::MODEL_NAMES.contains(&p.sentiment_model.as_str()) {
        err(
            "pipeline.sentiment_model".into(),
            if p.sentiment_model == "onnx" {
                "\"onnx\" needs a flashpoint built with `--features onnx`".into()
            } else {
                unknown_model(&p.sentiment_model, "")
            },
        );
    }
    let g = p.grievance_sentiment_model.as_str();
    if g != crate::config::NO_GRIEVANCE_MODEL && !crate::config::MODEL_NAMES.contains(&g) {
        err(
            "pipeline.grievance_sentiment_model".into(),
            unknown_model(
                g,
                &format!(", or \"{}\" for none", crate::config::NO_GRIEVANCE_MODEL),
            ),
        );
    }
    if let Some(name) = &p.incident_sentiment_model {
        if !crate::config::MODEL_NAMES.contains(&name.as_str()) {
            err(
                "pipeline.incident_sentiment_model".into(),
                unknown_model(name, ""),
            );
        }
    }
    if !(1..=crate::config::incident_sentiment::MAX_PENDING).contains(&p.incident_sentiment_batch) {
        err(
            "pipeline.incident_sentiment_batch".into(),
            format!(
                "must lie in 1..={}",
                crate::config::incident_sentiment::MAX_PENDING
            ),
        );
    }
    if p.incident_sentiment_queue == 0 {
        err(
            "pipeline.incident_sentiment_queue".into(),
            "must be at least 1".into(),
        );
    }
    if p.max_future_skew.0.is_zero() {
        err("pipeline.max_future_skew".into(), "must be positive".into());
    }
    if p.max_event_age.0.is_zero() {
        err("pipeline.max_event_age".into(), "must be positive".into());
    }
    let d = &raw.detect;
    if !(d.spike_p_value > 0.0 && d.spike_p_value < 0.5) {
        err("detect.spike_p_value".into(), "must lie in (0, 0.5)".into());
    }
    if !(0.0..=1.0).contains(&d.single_post_risk) {
        err(
            "detect.single_post_risk".into(),
            "must lie in [0, 1]".into(),
        );
    }
    if !(0.0..=1.0).contains(&d.complaint_threshold) {
        err(
            "detect.complaint_threshold".into(),
            "must lie in [0, 1]".into(),
        );
    }
    if d.resolve_after.0.is_zero() {
        err("detect.resolve_after".into(), "must be positive".into());
    }
    let default_profile = Profile::parse(&d.profile).unwrap_or_else(|| {
        err(
            "detect.profile".into(),
            format!("unknown profile {:?} (fewer, balanced, more)", d.profile),
        );
        Profile::Balanced
    });
    for (i, b) in raw.brand.iter().enumerate() {
        if let Some(p) = &b.profile {
            if Profile::parse(p).is_none() {
                err(
                    format!("brand[{i}].profile"),
                    format!("unknown profile {p:?} (fewer, balanced, more)"),
                );
            }
        }
    }
    for b in &mut brands {
        if let Some(p) = raw
            .brand
            .get(b.idx.index())
            .and_then(|rb| rb.profile.as_deref())
            .and_then(Profile::parse)
        {
            b.profile = p;
        } else {
            b.profile = default_profile;
        }
    }

    let mut routing = RouteTable::default_table();
    for (i, r) in raw.routing.iter().enumerate() {
        let category = Category::parse(&r.category);
        if category.is_none() {
            err(
                format!("routing[{i}].category"),
                format!("unknown category {:?}", r.category),
            );
        }
        let sev = Severity::parse(&r.max_severity);
        if sev.is_none() {
            err(
                format!("routing[{i}].max_severity"),
                format!(
                    "unknown severity {:?} (info, warning, error, critical)",
                    r.max_severity
                ),
            );
        }
        for (j, t) in r.teams.iter().enumerate() {
            if t.is_empty() {
                err(format!("routing[{i}].teams[{j}]"), "empty team name".into());
            }
        }
        if let (Some(c), Some(s)) = (category, sev) {
            routing.set(
                c,
                Route {
                    teams: r.teams.clone(),
                    max_severity: s,
                },
            );
        }
    }

    let listen = raw.server.as_ref().map(|s| s.listen.clone());
    if let Some(l) = &listen {
        if listen_host(l).is_none() {
            err(
                "server.listen".into(),
                format!("{l:?} is not host:port (e.g. 127.0.0.1:9464, localhost:9464, [::1]:9464)"),
            );
        }
    }
    let mut web_url = |key: &str, v: Option<&String>| -> Option<String> {
        let v = v?;
        let ok = (v.starts_with("http://") || v.starts_with("https://"))
            && !v.contains(char::is_whitespace)
            && v.len() > "https://".len();
        if !ok {
            err(
                key.into(),
                format!("{v:?} must be an http:// or https:// URL without spaces"),
            );
        }
        Some(v.trim_end_matches('/').to_string())
    };
    let public_url = web_url(
        "server.public_url",
        raw.server.as_ref().and_then(|s| s.public_url.as_ref()),
    );
    let grafana_url = web_url("grafana.url", raw.grafana.as_ref().map(|g| &g.url));
    let server_limits = raw
        .server
        .as_ref()
        .map(super::raw::ServerConfig::limits)
        .unwrap_or_default();
    for (key, d) in [
        (
            "server.header_read_timeout",
            server_limits.header_read_timeout,
        ),
        ("server.body_read_timeout", server_limits.body_read_timeout),
        ("server.idle_timeout", server_limits.idle_timeout),
    ] {
        if d.is_zero() {
            err(key.into(), "must be positive".into());
        }
    }
    if server_limits.max_connections == 0 {
        err("server.max_connections".into(), "must be at least 1".into());
    }
    check_components("source", &raw.source, &mut err);
    check_components("sink", &raw.sink, &mut err);
    for (i, s) in raw.source.iter().enumerate() {
        let loopback = listen
            .as_deref()
            .and_then(listen_host)
            .is_none_or(|h| is_loopback(&h));
        let token = s.options.get("token").map(|t| t.as_str().map(str::trim));
        if s.kind == "http" && !loopback {
            match token {
                None => err(
                    format!("source[{i}].token"),
                    "an http source on a non-loopback listener needs a token".into(),
                ),
                Some(Some("")) => err(
                    format!("source[{i}].token"),
                    "empty: an http source on a non-loopback listener needs a token (is its ${VAR} set to nothing?)".into(),
                ),
                Some(_) => {}
            }
        }
    }
    let mut sink_settings = Vec::with_capacity(raw.sink.len());
    let mut sources = Vec::with_capacity(raw.source.len());
    for (i, s) in raw.source.iter().enumerate() {
        match super::source::SourceConfig::parse(s) {
            Ok(source) => sources.push(source),
            Err(errs) => {
                for (key, reason) in errs {
                    err(format!("source[{i}].{key}"), reason);
                }
            }
        }
    }
    if let Some(a) = &raw.archive {
        if a.dir.is_empty() {
            err("archive.dir".into(), "must not be empty".into());
        }
        if a.segment_max_bytes == 0 || a.segment_max_age.0.is_zero() {
            err(
                "archive.segment_max_bytes".into(),
                "segment_max_bytes and segment_max_age must be positive".into(),
            );
        }
        if a.flush_interval.0.is_zero() {
            err("archive.flush_interval".into(), "must be positive".into());
        }
        // Zero would keep nothing: every completed segment deleted as soon as it is closed.
        if a.retention_max_age.0.is_zero() {
            err(
                "archive.retention_max_age".into(),
                "must be positive (0 would delete every segment as it closes)".into(),
            );
        }
        if a.retention_max_bytes == 0 {
            err(
                "archive.retention_max_bytes".into(),
                "must be positive (0 would delete every segment as it closes)".into(),
            );
        }
    }
    if raw
        .alert_log
        .as_ref()
        .is_some_and(|a| a.path.trim().is_empty())
    {
        err("alert_log.path".into(), "must not be empty".into());
    }
    if let Some(c) = &raw.checkpoint {
        if c.path.trim().is_empty() {
            err("checkpoint.path".into(), "must not be empty".into());
        }
        if c.interval.0.is_zero() {
            err("checkpoint.interval".into(), "must be positive".into());
        }
    }
    for (i, s) in raw.sink.iter().enumerate() {
        if !s.options.contains_key("teams") && s.kind != "kafka" {
            err(
                format!("sink[{i}].teams"),
                "missing (which teams this sink carries)".into(),
            );
        }
        if let Some(mut settings) = super::sink::parse_sink(i, s, &mut err) {
            // Values too short to be a credential (`${PORT}`, `${TIMEOUT}`) would only
            // garble messages; a secret-typed key's whole value is scrubbed regardless.
            let prefix = format!("sink[{i}].");
            settings.redact = expanded
                .iter()
                .filter(|(k, v)| k.starts_with(&prefix) && v.chars().count() >= MIN_REDACT)
                .map(|(_, v)| super::Secret::new(v.clone()))
                .collect();
            sink_settings.push(settings);
        }
    }
    if let Some(t) = &raw.topology {
        for (key, reason) in t.check() {
            err(key, reason);
        }
    }
    let dl = &raw.delivery;
    for (key, v) in [
        ("delivery.outbox_dir", &dl.outbox_dir),
        ("delivery.state_dir", &dl.state_dir),
    ] {
        if v.as_deref().is_some_and(|d| d.trim().is_empty()) {
            err(key.into(), "must not be empty".into());
        }
    }
    if dl.backoff_initial.0.is_zero() {
        err("delivery.backoff_initial".into(), "must be positive".into());
    }
    if dl.backoff_max < dl.backoff_initial {
        err(
            "delivery.backoff_max".into(),
            "must be at least backoff_initial".into(),
        );
    }
    if dl.max_age.0.is_zero() {
        err("delivery.max_age".into(), "must be positive".into());
    }
    if dl.compact_interval.0.is_zero() {
        err(
            "delivery.compact_interval".into(),
            "must be positive".into(),
        );
    }
    if dl.queue_capacity == 0 {
        err(
            "delivery.queue_capacity".into(),
            "must be at least 1".into(),
        );
    }
    if raw.flood_control.max_pages_per_hour == 0 {
        err(
            "flood_control.max_pages_per_hour".into(),
            "must be at least 1".into(),
        );
    }
    let mut teams_seen = BTreeSet::new();
    for (i, e) in raw.escalation.iter().enumerate() {
        if e.team.is_empty() {
            err(format!("escalation[{i}].team"), "empty team name".into());
        } else if !teams_seen.insert(e.team.as_str()) {
            err(
                format!("escalation[{i}].team"),
                format!("duplicate escalation for team {:?}", e.team),
            );
        }
        for sev in Severity::ALL {
            for (j, id) in e.sinks_for(sev).iter().enumerate() {
                if !raw.sink.iter().any(|s| &s.id == id) {
                    err(
                        format!("escalation[{i}].{sev}[{j}]"),
                        format!("no [[sink]] with id {id:?}"),
                    );
                }
            }
        }
    }

    check_pageable(&raw, &routing, &sink_settings, &mut err);
    check_team_names(&raw, &routing, &sink_settings, &mut err);

    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Config {
        brands,
        pipeline: raw.pipeline,
        detect: raw.detect,
        routing,
        server_listen: listen,
        public_url,
        grafana_url,
        server_limits,
        alert_log_path: raw.alert_log.map(|a| a.path),
        archive_dir: raw.archive.as_ref().map(|a| a.dir.clone()),
        archive: raw.archive,
        checkpoint: raw.checkpoint,
        sources,
        sinks: raw.sink,
        sink_settings,
        delivery: raw.delivery,
        flood_control: raw.flood_control,
        escalation: raw.escalation,
        topology: raw.topology,
    })
}

/// Every team that can be routed to a sink must be deliverable there: an `[[escalation]]` row
/// may only name sinks that carry its team, and a PagerDuty sink that carries every team
/// (`teams = []`) without a default `routing_key` needs a key for every team the routing table
/// or an escalation row can send it. (A sink with `teams` has its keys checked with its other
/// options.) Otherwise the page for that team would fail at the worst moment.
fn check_pageable(
    raw: &RawConfig,
    routing: &RouteTable,
    sinks: &[super::SinkSettings],
    err: &mut dyn FnMut(String, String),
) {
    use super::SinkKind;
    let find = |id: &str| sinks.iter().find(|s| s.id == id);
    for (i, e) in raw.escalation.iter().enumerate() {
        for sev in Severity::ALL {
            for (j, id) in e.sinks_for(sev).iter().enumerate() {
                let Some(s) = find(id) else { continue };
                if !s.teams.is_empty()
                    && !s.teams.contains(&e.team)
                    && !matches!(s.kind, SinkKind::Kafka(_))
                {
                    err(
                        format!("escalation[{i}].{sev}[{j}]"),
                        format!(
                            "sink {id:?} does not carry team {:?}: add the team to its teams, or name a sink that carries it",
                            e.team
                        ),
                    );
                }
            }
        }
    }
    let routed: BTreeSet<&str> = Category::ALL
        .iter()
        .flat_map(|c| routing.route(*c).teams.iter().map(String::as_str))
        .chain(raw.escalation.iter().map(|e| e.team.as_str()))
        .filter(|t| !t.is_empty())
        .collect();
    for (i, c) in raw.sink.iter().enumerate() {
        let Some(s) = find(&c.id) else { continue };
        if let SinkKind::PagerDuty {
            routing_key: None,
            routing_keys,
            ..
        } = &s.kind
        {
            let missing: Vec<&str> = routed
                .iter()
                .copied()
                .filter(|t| s.teams.is_empty() && !routing_keys.contains_key(*t))
                .collect();
            if !missing.is_empty() {
                err(
                    format!("sink[{i}].routing_keys"),
                    format!(
                        "this sink carries every team (teams = []) and has no default routing_key, but no key for team {}: set routing_key, or routing_keys for them",
                        missing.join(", ")
                    ),
                );
            }
        }
    }
}

/// The host of a `[server] listen` value (`127.0.0.1:9464`, `localhost:9464`,
/// `[::1]:9464`), `None` when it is not host:port.
fn listen_host(l: &str) -> Option<String> {
    if let Ok(a) = l.parse::<std::net::SocketAddr>() {
        return Some(a.ip().to_string());
    }
    let (host, port) = l.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    ok.then(|| host.to_ascii_lowercase())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Team names must be ones the routing table or an `[[escalation]]` row can send: a sink
/// carrying `"suport"` would never receive anything, and a `routing_keys` entry for a team
/// the sink does not carry (or nobody routes) is a key that never pages.
fn check_team_names(
    raw: &RawConfig,
    routing: &RouteTable,
    sinks: &[super::SinkSettings],
    err: &mut dyn FnMut(String, String),
) {
    let known: BTreeSet<&str> = Category::ALL
        .iter()
        .flat_map(|c| routing.route(*c).teams.iter().map(String::as_str))
        .chain(raw.escalation.iter().map(|e| e.team.as_str()))
        .filter(|t| !t.is_empty())
        .collect();
    let list = known.iter().copied().collect::<Vec<_>>().join(", ");
    for (i, c) in raw.sink.iter().enumerate() {
        let Some(s) = sinks.iter().find(|s| s.id == c.id) else {
            continue;
        };
        for (j, t) in s.teams.iter().enumerate() {
            if !known.contains(t.as_str()) {
                err(
                    format!("sink[{i}].teams[{j}]"),
                    format!("unknown team {t:?}: nothing is routed to it (known teams: {list})"),
                );
            }
        }
        if let super::SinkKind::PagerDuty { routing_keys, .. } = &s.kind {
            for team in routing_keys.keys() {
                let carried = s.teams.is_empty() || s.teams.contains(team);
                if !known.contains(team.as_str()) || !carried {
                    err(
                        format!("sink[{i}].routing_keys.{team}"),
                        format!("a key for team {team:?}, which this sink never pages (its teams: {}; known teams: {list})",
                            if s.teams.is_empty() { String::from("every team") } else { s.teams.join(", ") }),
                    );
                }
            }
        }
    }
}

fn check_components(section: &str, items: &[ComponentConfig], err: &mut dyn FnMut(String, String)) {
    let mut ids = BTreeSet::new();
    for (i, c) in items.iter().enumerate() {
        if c.id.is_empty() {
            err(format!("{section}[{i}].id"), "must not be empty".into());
        } else if !ids.insert(c.id.as_str()) {
            err(
                format!("{section}[{i}].id"),
                format!("duplicate {section} id {:?}", c.id),
            );
        }
        if c.kind.is_empty() {
            err(format!("{section}[{i}].type"), "must not be empty".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_str;

    fn env(k: &str) -> Option<String> {
        (k == "PD_KEY").then(|| "secret-key".to_string())
    }

    #[test]
    fn config_brands_only_is_complete() {
        let cfg = parse_str(
            "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n",
            "t.toml",
            &env,
        )
        .unwrap();
        assert_eq!(cfg.brands.len(), 1);
        assert_eq!(cfg.brands[0].name, "acme");
        assert_eq!(cfg.pipeline.allowed_lateness.0.as_secs(), 300);
    }

    #[test]
    fn grievance_model_defaults_to_linear_takes_none_and_rejects_unknown_names() {
        let base = "[[brand]]\nid = \"acme\"\nterms = [\"acme\"]\n";
        let cfg = parse_str(base, "t.toml", &env).unwrap();
        assert_eq!(cfg.pipeline.grievance_sentiment_model, "linear");
        let off = format!("[pipeline]\ngrievance_sentiment_model = \"none\"\n{base}");
        let cfg = parse_str(&off, "t.toml", &env).unwrap();
        assert_eq!(cfg.pipeline.grievance_sentiment_model, "none");
        let bad = format!("[pipeline]\ngrievance_sentiment_model = \"gpt\"\n{base}");
        let errs = parse_str(&bad, "t.toml", &env).unwrap_err().to_string();
        assert!(
            errs.contains("pipeline.grievance_sentiment_model") && errs.contains("\"none\""),
            "{errs}"
        );
    }

    #[test]
    fn config_rejects_brand_terms_of_invisible_characters_only() {
        // TOML escapes: zero-width space, NUL, zero-width joiner and non-joiner, a
        // left-to-right mark with a right-to-left override, a byte-order mark, a tab.
        let text = r##"
[[brand]]
id = "acme"
terms = ["acme", "\u200b", "\u0000", "\u200d\u200c", "\u200e\u202e", "\ufeff \t", "a\u200bb"]
exclude = ["\u2060"]
handles = ["@\u200b"]
hashtags = ["#\u200d"]
"##;
        let Err(errs) = parse_str(text, "t.toml", &env) else {
            panic!("invisible terms accepted");
        };
        let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "brand[0].terms[1]",
                "brand[0].terms[2]",
                "brand[0].terms[3]",
                "brand[0].terms[4]",
                "brand[0].terms[5]",
                "brand[0].exclude[0]",
                "brand[0].handles[0]",
                "brand[0].hashtags[0]",
            ],
            "{errs}"
        );
        assert!(
            errs.to_string()
                .contains("t.toml:4: brand[0].terms[1]: empty phrase"),
            "{errs}"
        );
    }

    #[test]
    fn config_rejects_brand_patterns_longer_than_the_limit() {
        let long = "a ".repeat(100_000);
        let at_limit = "b".repeat(super::MAX_PATTERN_CHARS);
        let over = "é".repeat(super::MAX_PATTERN_CHARS + 1);
        let text = format!(
            "[[brand]]\nid = \"acme\"\nterms = [\"acme\", \"{at_limit}\"]\n\
             [[brand]]\nid = \"zenith\"\nterms = [\"{long}\"]\nexclude = [\"{over}\"]\n\
             handles = [\"@{at_limit}\"]\nhashtags = [\"#{over}\"]\n"
        );
        let Err(errs) = parse_str(&text, "t.toml", &env) else {
            panic!("patterns over the limit accepted");
        };
        let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "brand[1].terms[0]",
                "brand[1].exclude[0]",
                "brand[1].handles[0]",
                "brand[1].hashtags[0]",
            ],
            "{errs}"
        );
        let shown = errs.to_string();
        assert!(
            shown.contains(&format!(
                "t.toml:6: brand[1].terms[0]: brand \"zenith\": a term of 200000 characters, \
                 longer than {}",
                super::MAX_PATTERN_CHARS
            )),
            "{shown}"
        );
        // The message names the pattern by its start, not by all of it.
        assert!(shown.len() < 2_000, "{}", shown.len());
    }

    #[test]
    fn config_lists_every_error_together() {
        let text = r#"
version = 3
[[brand]]
id = "Bad Id"
[[brand]]
id = "ok"
terms = ["ok"]
handles = ["nohandle"]
[[brand]]
id = "ok"
terms = [""]
[[routing]]
category = "weather"
teams = ["x"]
max_severity = "loud"
[[sink]]
id = "pd"
type = "pagerduty"
routing_key = "${MISSING_VAR}"
"#;
        let errs = parse_str(text, "bad.toml", &env).unwrap_err();
        let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
        for want in [
            "sink[0].routing_key",
            "version",
            "brand[0].id",
            "brand[0].terms",
            "brand[1].handles[0]",
            "brand[2].id",
            "brand[2].terms[0]",
            "routing[0].category",
            "routing[0].max_severity",
            "sink[0].teams",
        ] {
            assert!(keys.contains(&want), "missing {want} in {keys:?}");
        }
        assert!(
            errs.to_string()
                .contains("bad.toml:2: version: unsupported version 3"),
            "{errs}"
        );
    }

    #[test]
    fn config_lists_source_and_archive_errors_with_the_rest() {
        let text = r#"
[[brand]]
id = "a"
terms = ["a"]
[server]
listen = "0.0.0.0:9464"
[archive]
dir = "archive"
flush_interval = "0s"
[[source]]
id = "push"
type = "http"
[[source]]
id = "bsky"
type = "jetstream"
url = "https://not-a-websocket"
cursor_safety = "soon"
[[source]]
id = "fedi"
type = "mastodon"
url = "https://example.social"
stream = "list"
[[source]]
id = "x"
type = "carrier-pigeon"
"#;
        let errs = parse_str(text, "live.toml", &env).unwrap_err();
        let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
        for want in [
            "source[0].token",
            "source[1].url",
            "source[1].cursor_safety",
            "source[2].list",
            "source[3].type",
            "archive.flush_interval",
        ] {
            assert!(keys.contains(&want), "missing {want} in {keys:?}");
        }
    }

    #[test]
    fn config_rejects_unknown_keys() {
        let errs = parse_str(
            "[[brand]]\nid = \"a\"\nterms = [\"a\"]\ncolour = \"red\"\n",
            "t.toml",
            &env,
        )
        .unwrap_err();
        assert!(errs.to_string().contains("colour"), "{errs}");
    }

    #[test]
    fn config_expands_env_into_secrets() {
        let cfg = parse_str(
            "[[brand]]\nid = \"a\"\nterms = [\"a\"]\n[[sink]]\nid = \"pd\"\ntype = \"pagerduty\"\nteams = [\"support\"]\nrouting_key = \"${PD_KEY}\"\n",
            "t.toml",
            &env,
        )
        .unwrap();
        assert_eq!(
            cfg.sinks[0].options["routing_key"].as_str(),
            Some("secret-key")
        );
    }

    #[test]
    fn config_errors_never_show_an_expanded_value() {
        // A routing key put into the wrong key by mistake: the error names the key, not it.
        let e = parse_str(
            "[[brand]]\nid = \"a\"\nterms = [\"a\"]\n[[sink]]\nid = \"pd\"\ntype = \"pagerduty\"\nteams = [\"support\"]\nrouting_key = \"k\"\nmin_severity = \"${PD_KEY}\"\ntimeout = \"${PD_KEY}\"\n",
            "t.toml",
            &env,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("sink[0].min_severity"), "{e}");
        assert!(e.contains("sink[0].timeout"), "{e}");
        assert!(!e.contains("secret-key") && !e.contains("secret"), "{e}");
    }

    #[test]
    fn config_bounds_the_shard_count() {
        let with = |n: usize| {
            parse_str(
                &format!("[[brand]]\nid = \"a\"\nterms = [\"a\"]\n[pipeline]\nshards = {n}\n"),
                "t.toml",
                &env,
            )
        };
        assert_eq!(with(0).unwrap().pipeline.shards, 0);
        assert_eq!(
            with(super::MAX_SHARDS).unwrap().pipeline.shards,
            super::MAX_SHARDS
        );
        let e = with(super::MAX_SHARDS + 1).unwrap_err().to_string();
        assert!(e.contains("pipeline.shards"), "{e}");
    }

    #[test]
    fn config_bounds_the_live_preparing_threads() {
        let with = |tail: &str| {
            parse_str(
                &format!("[[brand]]\nid = \"a\"\nterms = [\"a\"]\n[pipeline]\n{tail}"),
                "t.toml",
                &env,
            )
        };
        assert_eq!(with("").unwrap().pipeline.prepare_workers, 0);
        assert_eq!(
            with("prepare_workers = 3\n")
                .unwrap()
                .pipeline
                .prepare_workers,
            3
        );
        let e = with(&format!("prepare_workers = {}\n", super::MAX_SHARDS + 1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("pipeline.prepare_workers"), "{e}");
    }

    #[test]
    fn config_env_default_applies_when_unset_or_empty() {
        let env = |k: &str| match k {
            "PD_KEY" => Some(String::from("secret-key")),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let cfg = parse_str(
            "[[brand]]\nid = \"a\"\nterms = [\"a\"]\n[server]\nlisten = \"${FP_HOST:-127.0.0.1}:${EMPTY:-9100}\"\n[[sink]]\nid = \"pd\"\ntype = \"pagerduty\"\nteams = [\"support\"]\nrouting_key = \"${PD_KEY:-unused}\"\n",
            "t.toml",
            &env,
        )
        .unwrap();
        assert_eq!(cfg.server_listen.as_deref(), Some("127.0.0.1:9100"));
        assert_eq!(
            cfg.sinks[0].options["routing_key"].as_str(),
            Some("secret-key")
        );
        // Plain ${VAR} keeps its meaning: unset is an error naming the variable.
        let e = parse_str(
            "[[brand]]\nid = \"a\"\nterms = [\"a\"]\n[server]\nlisten = \"${FP_LISTEN}\"\n",
            "t.toml",
            &env,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("FP_LISTEN is not set"), "{e}");
    }

    #[test]
    fn config_routing_overrides_default_table() {
        use crate::domain::{Category, Severity};
        let cfg = parse_str(
            "[[brand]]\nid = \"a\"\nterms = [\"a\"]\n[[routing]]\ncategory = \"other\"\nteams = [\"comms\"]\nmax_severity = \"error\"\n",
            "t.toml",
            &env,
        )
        .unwrap();
        let r = cfg.routing.route(Category::Other);
        assert_eq!(r.teams, vec!["comms"]);
        assert_eq!(r.max_severity, Severity::Error);
        assert_eq!(
            cfg.routing.route(Category::Conduct).teams,
            vec!["field-ops", "support"]
        );
    }
    #[test]
    fn config_rejects_teams_a_sink_cannot_page() {
        let base = "[[brand]]\nid = \"a\"\nterms = [\"a\"]\n";
        // Keys for every routed team (default table: field-ops, support, marketing): fine.
        let ok = format!(
            "{base}[[sink]]\nid = \"pd\"\ntype = \"pagerduty\"\nteams = []\n\
             routing_keys = {{ support = \"k1\", field-ops = \"k2\", marketing = \"k3\" }}\n"
        );
        assert!(parse_str(&ok, "t.toml", &env).is_ok());
        let missing = format!(
            "{base}[[sink]]\nid = \"pd\"\ntype = \"pagerduty\"\nteams = []\n\
             routing_keys = {{ support = \"k1\" }}\n"
        );
        let errs = parse_str(&missing, "t.toml", &env).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert_eq!(errs.0[0].key, "sink[0].routing_keys");
        assert!(errs.0[0].reason.contains("field-ops, marketing"), "{errs}");
        let foreign = format!(
            "{base}[[sink]]\nid = \"pd\"\ntype = \"pagerduty\"\nteams = [\"support\"]\n\
             routing_key = \"k\"\n[[escalation]]\nteam = \"field-ops\"\nerror = [\"pd\"]\n"
        );
        let errs = parse_str(&foreign, "t.toml", &env).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert_eq!(errs.0[0].key, "escalation[0].error[0]");
    }

    /// `compress = false` (the default) asks Jetstream for plain frames even when a dictionary
    /// path is configured; before, the dictionary alone turned compression on.
    #[test]
    fn jetstream_compression_follows_compress_not_the_dictionary() {
        for (compress, want) in [("false", false), ("true", true)] {
            let text = format!(
                "[[brand]]\nid = \"a\"\nterms = [\"a\"]\n[[source]]\nid = \"bsky\"\ntype = \"jetstream\"\nurl = \"ws://127.0.0.1:1/subscribe\"\ncompress = {compress}\nzstd_dictionary = \"dict\"\n"
            );
            let cfg = parse_str(&text, "t.toml", &env).unwrap();
            match &cfg.sources[0].kind {
                crate::config::source::SourceKind::Jetstream(j) => {
                    assert_eq!(j.zstd_dictionary.is_some(), want, "compress = {compress}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    /// Values that pass as TOML but would silently lose data or fail only at run time: an
    /// archive retention of zero (every segment deleted as it closes), an empty alert-log or
    /// checkpoint path (found by an attack on the CLI, 2026-12-07).
    #[test]
    fn zero_retention_and_empty_state_paths_are_errors() {
        let text = r#"[[brand]]
id = "a"
terms = ["a"]
[alert_log]
path = ""
[checkpoint]
path = " "
interval = "0s"
[archive]
dir = "arch"
retention_max_age = "0s"
retention_max_bytes = 0
"#;
        let errs = parse_str(text, "t.toml", &env).unwrap_err();
        let keys: Vec<&str> = errs.0.iter().map(|e| e.key.as_str()).collect();
        for want in [
            "alert_log.path",
            "checkpoint.path",
            "checkpoint.interval",
            "archive.retention_max_age",
            "archive.retention_max_bytes",
        ] {
            assert!(keys.contains(&want), "missing {want} in {errs}");
        }
    }

    /// Issue 18.7: one type error no longer hides the others; each error has its line;
    /// unknown team names, keys for teams never paged, empty tokens on a public listener and
    /// URLs with spaces are errors; `localhost:PORT` is a fine listen address.
    #[test]
    fn issue_18_check_config_lists_type_and_team_errors_with_lines() {
        let text = r#"[[brand]]
id = "a"
terms = ["a"]
[pipeline]
channel_capacity = "big"
[detect]
min_mentions = "twelve"
[delivery]
max_age = 5
[server]
listen = "0.0.0.0:9464"
[[source]]
id = "push"
type = "http"
token = ""
[[sink]]
id = "pd"
type = "pagerduty"
teams = ["suport"]
url = "https://events.pagerduty.com/v2 x"
routing_key = "k"
routing_keys = { marketing = "m" }
"#;
        let errs = parse_str(text, "t.toml", &env).unwrap_err();
        let got: Vec<(Option<usize>, &str)> =
            errs.0.iter().map(|e| (e.line, e.key.as_str())).collect();
        for want in [
            (Some(5), "pipeline.channel_capacity"),
            (Some(7), "detect.min_mentions"),
            (Some(9), "delivery.max_age"),
            (Some(15), "source[0].token"),
            (Some(19), "sink[0].teams[0]"),
            (Some(20), "sink[0].url"),
            (Some(22), "sink[0].routing_keys.marketing"),
        ] {
            assert!(got.contains(&want), "missing {want:?} in {got:?}\n{errs}");
        }
        assert!(
            errs.to_string()
                .contains("t.toml:5: pipeline.channel_capacity: invalid type"),
            "{errs}"
        );
        assert!(
            errs.to_string().contains("unknown team \"suport\""),
            "{errs}"
        );
        // A syntax error names its line and key.
        let errs =
            parse_str("[[brand]]\nid = \"a\"\nterms = [\"a\"\n", "s.toml", &env).unwrap_err();
        assert_eq!(errs.0.len(), 1);
        assert_eq!(errs.0[0].key, "brand.terms", "{errs}");
        assert!(errs.0[0].line.is_some(), "{errs}");
        // localhost:PORT is accepted, and counts as loopback (no token needed).
        let ok = "[[brand]]\nid = \"a\"\nterms = [\"a\"]\n[server]\nlisten = \"localhost:9464\"\n\
                  [[source]]\nid = \"push\"\ntype = \"http\"\n";
        parse_str(ok, "t.toml", &env).unwrap();
        let bad = ok.replace("localhost:9464", "localhost:port");
        let errs = parse_str(&bad, "t.toml", &env).unwrap_err();
        assert_eq!(errs.0[0].key, "server.listen", "{errs}");
    }
}
