//! The analyst's HTML report: plots per brand with incident spans, evidence, escaping, and a
//! headless-browser render when Chromium is installed.

use flashpoint::app::replay::Input;
use flashpoint::app::{replay, Speed};

use crate::support::{demo_config, options};

async fn demo_report(dir: &std::path::Path) -> String {
    let path = dir.join("report.html");
    let mut opts = options(Speed::Max, None);
    opts.report = Some(path.display().to_string());
    replay(
        demo_config(),
        Input::Bytes(flashpoint::app::demo::DEMO_SAMPLE),
        opts,
        None,
    )
    .await
    .unwrap();
    std::fs::read_to_string(&path).unwrap()
}

#[tokio::test]
async fn report_has_one_plot_per_brand_with_incident_spans_and_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let html = demo_report(dir.path()).await;
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
    assert!(!html.contains("<script"), "the report must be script-free");
    // Every demo brand is active, so each has a section with a volume and a sentiment plot,
    // headed by its name.
    for (brand, name) in [
        ("brightline", "Brightline Plumbing"),
        ("velora", "Velora Motors"),
        ("northwind", "Northwind Broadband"),
        ("orchard", "Orchard Mobile"),
        ("lumen", "Lumen Energy"),
        ("kestrel", "Kestrel Couriers"),
        ("harbor", "Harbor Bank"),
    ] {
        let start = html
            .find(&format!("<section class=\"brand\" data-brand=\"{brand}\">"))
            .unwrap_or_else(|| panic!("no section for {brand}"));
        let section = &html[start..start + html[start..].find("</section>").unwrap()];
        assert!(section.contains(&format!("<h3>{name} <code>{brand}</code></h3>")));
        assert!(section.contains("class=\"volume\"") && section.contains("class=\"sentiment\""));
        // Real axes: labelled, with time ticks on whole hours and value ticks.
        for label in [
            "mentions / min",
            "event time (UTC)",
            "share of mentions",
            "50%",
            "00:00",
        ] {
            assert!(section.contains(label), "{brand}: no {label:?} on the axes");
        }
        // The charts follow the page width: no fixed pixel width on the root element.
        assert!(
            !section.contains("<svg width="),
            "{brand}: fixed-width chart"
        );
    }
    // The misconduct incident is a labelled span on brightline's plot.
    let start = html.find("data-brand=\"brightline\"").unwrap();
    let end = start + html[start..].find("</section>").unwrap();
    assert!(
        html[start..end].contains("\nbrightline-20260303-0001 (critical)\n</text>"),
        "no labelled critical span on brightline's plot"
    );
    // The summary table: every brand by name, with volume, net sentiment, share of voice and
    // the change against the previous 24 hours.
    let summary = &html[html.find("<table id=\"summary\">").unwrap()..];
    let summary = &summary[..summary.find("</table>").unwrap()];
    for col in [
        "net sentiment",
        "share of voice",
        "last 24 h vs the 24 h before",
        "top authors",
        "top hashtags",
    ] {
        assert!(summary.contains(col), "no {col:?} column");
    }
    assert!(summary.contains("<b>Brightline Plumbing</b>") && summary.contains("#brightline ("));
    // Posts are links (http/https only), opened without a referrer.
    assert!(html.contains("<a href=\"https://social.example/"));
    assert!(html.contains("rel=\"noopener noreferrer nofollow\""));
    // The incident table carries the first-page delay and the top posts.
    assert!(html.contains("first page (warning+)"));
    assert!(html.contains("@jo.example (3100 followers)"));
}

#[tokio::test]
async fn report_escapes_post_text() {
    let line = |id: &str, at: &str, text: &str| {
        format!(
            r#"{{"id":"{id}","source":"x","created_at":"{at}","text":"{text}","author":{{"id":"a{id}","handle":"@a{id}","followers":50}}}}"#
        )
    };
    let archive = [
        line("1", "2026-03-03T10:00:00Z", "quiet day with brightline"),
        line(
            "2",
            "2026-03-03T10:05:00Z",
            "the brightline technician was drunk <script>alert(1)</script> & rude #brightline<b> \\u001b[2J\\u202egnp.exe",
        )
        .replace(
            r#""followers":50}"#,
            r#""followers":50},"url":"javascript:alert(1)""#,
        )
        .replace(r#""handle":"@a2""#, r#""handle":"@a2<img src=x>""#),
        line("3", "2026-03-03T10:30:00Z", "later"),
    ]
    .join("\n");
    let bytes: &'static [u8] = Box::leak(archive.into_bytes().into_boxed_slice());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.html");
    let mut opts = options(Speed::Max, None);
    opts.report = Some(path.display().to_string());
    let s = replay(demo_config(), Input::Bytes(bytes), opts, None)
        .await
        .unwrap();
    assert!(!s.alerts.is_empty(), "the risky post should open a watch");
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(!html.contains("<script>"), "post text was not escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; rude"));
    // A post URL that is not http(s) is never a link; authors and hashtags are escaped too.
    assert!(!html.contains("href=\"javascript"), "unsafe link");
    assert!(!html.contains("<img src=x>") && html.contains("@a2&lt;img src=x&gt;"));
    assert!(!html.contains("<b>)") && html.contains("#brightline (1)"));
    // Terminal escapes and a right-to-left override never reach the page.
    assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}'));
    assert!(html.contains("[2Jgnp.exe"), "the rest of the text is kept");
}

/// Issue 19.2: the report rendered by a real browser. The screenshot goes to
/// `target/tmp/report.png` for a reviewer to look at; the rendered DOM must hold the axis
/// labels, brand names, span labels and post links. Skipped with a message without Chromium.
#[tokio::test]
async fn report_renders_in_a_headless_browser() {
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("skipping: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    demo_report(dir.path()).await;
    let page = format!("file://{}", dir.path().join("report.html").display());
    let png = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    let chrome = |extra: &[String]| {
        std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                // No network: the report must be complete without it.
                "--proxy-server=127.0.0.1:9",
                "--window-size=1280,2100",
            ])
            .args(extra)
            .arg(&page)
            .output()
            .unwrap()
    };
    let out = chrome(&[format!("--screenshot={}", png.display())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("Uncaught"), "console errors: {stderr}");
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 50_000,
        "{} bytes",
        bytes.len()
    );
    let dom = chrome(&[String::from("--dump-dom")]);
    assert!(dom.status.success());
    let dom = String::from_utf8_lossy(&dom.stdout);
    for want in [
        "Brightline Plumbing",
        "mentions / min",
        "share of mentions",
        "event time (UTC)",
        "brightline-20260303-0001 (critical)",
        "<a href=\"https://social.example/",
        "share of voice",
        "configuration",
    ] {
        assert!(dom.contains(want), "the rendered page lacks {want:?}");
    }
    eprintln!("screenshot: {}", png.display());
}

/// Issue 19.2: provenance, timezone, the JSON additions and the per-minute CSV agree with
/// each other.
#[tokio::test]
async fn report_json_csv_provenance_and_timezone() {
    let dir = tempfile::tempdir().unwrap();
    let (html, json, csv) = (
        dir.path().join("r.html"),
        dir.path().join("r.json"),
        dir.path().join("r.csv"),
    );
    let mut opts = options(Speed::Max, None);
    opts.report = Some(html.display().to_string());
    opts.report_json = Some(json.display().to_string());
    opts.report_csv = Some(csv.display().to_string());
    opts.report_meta = flashpoint::app::report::ReportMeta {
        archives: vec![String::from("sample.ndjson.zst")],
        config: Some((String::from("demo.toml"), String::from("ab12"))),
        timezone: flashpoint::app::report::parse_timezone("+02:00").unwrap(),
        generated_at: String::new(),
    };
    replay(
        demo_config(),
        Input::Bytes(flashpoint::app::demo::DEMO_SAMPLE),
        opts,
        None,
    )
    .await
    .unwrap();
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("sample.ndjson.zst") && html.contains("<code>sha256 ab12</code>"));
    assert!(html.contains("event time (UTC+02:00)") && html.contains("UTC+02:00</td>"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let p = &v["provenance"];
    assert_eq!(p["archives"][0], "sample.ndjson.zst");
    assert_eq!(p["config"]["sha256"], "ab12");
    assert_eq!(p["version"], env!("CARGO_PKG_VERSION"));
    assert!(p["generated_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    let brands = v["brands"].as_array().unwrap();
    assert_eq!(brands.len(), 7);
    let sov: f64 = brands
        .iter()
        .map(|b| b["share_of_voice"].as_f64().unwrap())
        .sum();
    assert!((sov - 1.0).abs() < 1e-9, "shares of voice sum to {sov}");
    assert!(v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["top_authors"].is_array() && i["top_hashtags"].is_array()));
    // Hourly sentiment never swings to the extremes on the demo's quiet hours.
    for b in brands {
        for h in b["hourly_sentiment"].as_array().unwrap() {
            let neg = h["negative_share"].as_f64().unwrap();
            assert!(neg > 0.0 && neg < 0.9, "{}: {h}", b["brand"]);
        }
    }
    // The CSV's per-minute mentions add up to each brand's total in the JSON.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("brand,minute,mentions,negative,positive,net")
    );
    let mut sums = std::collections::BTreeMap::<String, u64>::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 6, "{l}");
        assert!(f[1].ends_with(":00Z"), "{l}");
        *sums.entry(f[0].to_owned()).or_default() += f[2].parse::<u64>().unwrap();
    }
    for b in brands {
        assert_eq!(
            sums[b["brand"].as_str().unwrap()],
            b["mentions"].as_u64().unwrap(),
            "{}",
            b["brand"]
        );
    }
}

/// The JSON report's `input` accounts for every line: a mention sent twice is counted as a
/// duplicate (it was dropped), not lost from the counts.
#[tokio::test]
async fn report_json_counts_duplicates_and_unmatched() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let line = |id: &str, text: &str| {
        format!(
            r#"{{"id":"{id}","source":"x","created_at":"2026-03-02T10:00:00Z","text":"{text}","author":{{"id":"a","handle":"@a"}}}}"#
        )
    };
    let body = [
        line("1", "brightline fixed the boiler"),
        line("1", "brightline fixed the boiler"),
        line("2", "nothing about any brand"),
        line("3", "brightline again"),
    ]
    .join("\n");
    let bytes: &'static [u8] = Box::leak(body.into_bytes().into_boxed_slice());
    let mut opts = options(Speed::Max, None);
    opts.report_json = Some(json.display().to_string());
    replay(demo_config(), Input::Bytes(bytes), opts, None)
        .await
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let input = &v["input"];
    assert_eq!(input["decoded"], 4, "{input}");
    assert_eq!(input["duplicates"], 1, "{input}");
    assert_eq!(input["unmatched"], 1, "{input}");
    assert_eq!(input["outliers"], 0, "{input}");
}
