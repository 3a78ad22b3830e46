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
    // Every demo brand is active, so each has a volume plot.
    for brand in [
        "brightline",
        "velora",
        "northwind",
        "orchard",
        "lumen",
        "kestrel",
        "harbor",
    ] {
        assert!(
            html.contains(&format!("<svg class=\"brand\" data-brand=\"{brand}\"")),
            "no plot for {brand}"
        );
    }
    // The misconduct incident is shaded critical on brightline's plot.
    let start = html.find("data-brand=\"brightline\"").unwrap();
    let end = start + html[start..].find("</svg>").unwrap();
    assert!(
        html[start..end].contains("<rect class=\"critical\""),
        "no critical span on brightline's plot"
    );
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
            "the brightline technician was drunk <script>alert(1)</script> & rude",
        ),
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
}

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
    let png = dir.path().join("report.png");
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1000,1400",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!(
            "file://{}",
            dir.path().join("report.html").display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Uncaught"), "console errors: {stderr}");
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 50_000,
        "{} bytes",
        bytes.len()
    );
}
