//! The report's charts as inline SVG, drawn with `plotters`: real axes with ticks, labels
//! and gridlines, a legend, and incident spans shaded by severity with their ids written on
//! them. Each chart scales to the page width (the root `<svg>` keeps only its `viewBox`).

use chrono::FixedOffset;
use plotters::prelude::*;

use super::stats::HourSentiment;
use crate::app::engine::BrandPoint;
use crate::domain::Severity;

/// Drawing size in SVG units (the page scales it).
const W: u32 = 1100;
const VOLUME_H: u32 = 320;
const SENTIMENT_H: u32 = 220;

/// An incident's span on a brand's chart.
#[derive(Debug, Clone)]
pub(super) struct Span {
    pub start_ms: i64,
    /// Resolve time, or the end of the chart when still open.
    pub end_ms: i64,
    pub severity: Severity,
    /// What is written on the span: the incident id and severity.
    pub label: String,
}

fn severity_color(s: Severity) -> RGBColor {
    match s {
        Severity::Critical => RGBColor(0xe7, 0x4c, 0x3c),
        Severity::Error => RGBColor(0xe6, 0x7e, 0x22),
        Severity::Warning => RGBColor(0xf1, 0xc4, 0x0f),
        Severity::Info => RGBColor(0x34, 0x98, 0xdb),
    }
}

const RATE: RGBColor = RGBColor(0x1f, 0x5f, 0xa8);
const BASELINE: RGBColor = RGBColor(0x70, 0x70, 0x70);
const NEGATIVE: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const POSITIVE: RGBColor = RGBColor(0x27, 0xae, 0x60);

/// A tick label for `ms` in `tz`: date and time, with the date only where the span is long.
fn time_label(ms: i64, tz: FixedOffset, long: bool) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| {
        let t = t.with_timezone(&tz);
        if long {
            t.format("%b %d %H:%M").to_string()
        } else {
            t.format("%H:%M").to_string()
        }
    })
}

/// Tick steps to choose from: whole minutes, hours and days.
const STEPS_MS: &[i64] = &[
    600_000,
    1_800_000,
    3_600_000,
    3 * 3_600_000,
    6 * 3_600_000,
    12 * 3_600_000,
    86_400_000,
    2 * 86_400_000,
    7 * 86_400_000,
    30 * 86_400_000,
];

/// Tick positions on `[t0, t1]`: the smallest step of [`STEPS_MS`] giving at most `max`
/// ticks, aligned to whole steps in `tz` (midnight, whole hours), and the light gridlines
/// between them (a fifth of the step where that is a whole step of its own, else none).
pub(super) fn time_ticks(t0: i64, t1: i64, tz: FixedOffset, max: usize) -> (Vec<i64>, Vec<i64>) {
    let span = (t1 - t0).max(1);
    let step = STEPS_MS
        .iter()
        .copied()
        .find(|s| span / s < max as i64)
        .unwrap_or(STEPS_MS[STEPS_MS.len() - 1]);
    let off = i64::from(tz.local_minus_utc()) * 1000;
    let align = |t: i64, step: i64| (t + off).div_euclid(step) * step - off;
    let ticks = |step: i64| {
        let mut v = Vec::new();
        let mut t = align(t0, step);
        while t <= t1 {
            if t >= t0 {
                v.push(t);
            }
            t += step;
        }
        v
    };
    let light = STEPS_MS
        .iter()
        .copied()
        .rev()
        .find(|s| *s < step && step % s == 0 && step / s <= 6)
        .map_or_else(Vec::new, ticks);
    (ticks(step), light)
}

/// `UTC+02:00`, or `UTC`.
pub(super) fn tz_name(tz: FixedOffset) -> String {
    if tz.local_minus_utc() == 0 {
        String::from("UTC")
    } else {
        format!("UTC{tz}")
    }
}

/// Keeps the `viewBox` and drops the fixed width and height of plotters' root element, so
/// the chart follows the page's width; adds a class and an accessible label.
fn responsive(svg: String, class: &str, label: &str) -> String {
    let root_end = svg.find('>').unwrap_or(0);
    let (root, rest) = svg.split_at(root_end);
    let root =
        root.replacen(&format!("width=\"{W}\""), "", 1)
            .replacen("height=\"", "data-h=\"", 1);
    format!(
        "{root} class=\"{class}\" role=\"img\" aria-label=\"{}\" preserveAspectRatio=\"xMidYMid meet\"{rest}",
        super::stats::esc(label)
    )
}

/// Mentions per minute against the learned baseline over `[t0, t1]` ms, with `spans`.
pub(super) fn volume_svg(
    label: &str,
    points: &[BrandPoint],
    spans: &[Span],
    (t0, t1): (i64, i64),
    tz: FixedOffset,
) -> String {
    let mut svg = String::new();
    let drawn = draw_volume(&mut svg, points, spans, (t0, t1), tz);
    if let Err(e) = drawn {
        return format!("<p>plot failed: {}</p>", super::stats::esc(&e.to_string()));
    }
    responsive(svg, "volume", label)
}

fn draw_volume(
    svg: &mut String,
    points: &[BrandPoint],
    spans: &[Span],
    (t0, t1): (i64, i64),
    tz: FixedOffset,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (W, VOLUME_H)).into_drawing_area();
    root.fill(&WHITE)?;
    let ymax = points
        .iter()
        .map(|p| p.rate_per_min.max(p.baseline_per_min))
        .fold(1.0f64, f64::max)
        * 1.15;
    let long = t1 - t0 > 86_400_000;
    let (bold, light) = time_ticks(t0, t1, tz, 10);
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .margin_right(40)
        .x_label_area_size(42)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (t0..t1).with_key_points(bold).with_light_points(light),
            0f64..ymax,
        )?;
    chart
        .configure_mesh()
        .y_labels(6)
        .x_label_formatter(&|t| time_label(*t, tz, long))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .x_desc(format!("event time ({})", tz_name(tz)))
        .y_desc("mentions / min")
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .bold_line_style(RGBColor(0xcc, 0xcc, 0xcc))
        .draw()?;
    for s in spans {
        let (a, b) = (
            s.start_ms.max(t0),
            s.end_ms.min(t1).max(s.start_ms.max(t0) + 60_000),
        );
        let c = severity_color(s.severity);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(a, 0.0), (b, ymax)],
            c.mix(0.22).filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            s.label.clone(),
            (a, ymax * 0.97),
            ("sans-serif", 15).into_font().color(&BLACK),
        )))?;
    }
    chart
        .draw_series(DashedLineSeries::new(
            points
                .iter()
                .map(|p| (p.minute * 60_000, p.baseline_per_min)),
            6,
            4,
            BASELINE.stroke_width(1),
        ))?
        .label("learned baseline")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BASELINE));
    chart
        .draw_series(LineSeries::new(
            points.iter().map(|p| (p.minute * 60_000, p.rate_per_min)),
            RATE.stroke_width(2),
        ))?
        .label("mentions / min (5-min rate)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], RATE.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xcc, 0xcc, 0xcc))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Hourly volume-weighted negative and positive shares over `[t0, t1]` ms.
pub(super) fn sentiment_svg(
    label: &str,
    hours: &[HourSentiment],
    (t0, t1): (i64, i64),
    tz: FixedOffset,
) -> String {
    let mut svg = String::new();
    if let Err(e) = draw_sentiment(&mut svg, hours, (t0, t1), tz) {
        return format!("<p>plot failed: {}</p>", super::stats::esc(&e.to_string()));
    }
    responsive(svg, "sentiment", label)
}

fn draw_sentiment(
    svg: &mut String,
    hours: &[HourSentiment],
    (t0, t1): (i64, i64),
    tz: FixedOffset,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (W, SENTIMENT_H)).into_drawing_area();
    root.fill(&WHITE)?;
    let long = t1 - t0 > 86_400_000;
    let (bold, light) = time_ticks(t0, t1, tz, 10);
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .margin_right(40)
        .x_label_area_size(42)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (t0..t1).with_key_points(bold).with_light_points(light),
            0f64..1f64,
        )?;
    chart
        .configure_mesh()
        .y_labels(5)
        .x_label_formatter(&|t| time_label(*t, tz, long))
        .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .x_desc(format!("event time ({})", tz_name(tz)))
        .y_desc("share of mentions")
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .bold_line_style(RGBColor(0xcc, 0xcc, 0xcc))
        .draw()?;
    let at = |h: &HourSentiment| h.hour * 3_600_000 + 1_800_000;
    chart
        .draw_series(LineSeries::new(
            hours.iter().map(|h| (at(h), h.negative)),
            NEGATIVE.stroke_width(2),
        ))?
        .label("negative (hourly, volume-weighted)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], NEGATIVE.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            hours.iter().map(|h| (at(h), h.positive)),
            POSITIVE.stroke_width(2),
        ))?
        .label("positive (hourly, volume-weighted)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], POSITIVE.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xcc, 0xcc, 0xcc))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_time_ticks_fall_on_whole_hours_and_days_in_the_timezone() {
        let day = 86_400_000;
        let t0 = 1_772_409_480_000; // 2026-03-02T00:18:00Z
        let utc = FixedOffset::east_opt(0).unwrap();
        let (ticks, _) = time_ticks(t0, t0 + 4 * day, utc, 10);
        assert!(ticks.len() <= 10 && ticks.len() >= 3, "{ticks:?}");
        assert!(ticks.iter().all(|t| t % (12 * 3_600_000) == 0), "{ticks:?}");
        let plus1 = FixedOffset::east_opt(3600).unwrap();
        let (ticks, light) = time_ticks(t0, t0 + 6 * 3_600_000, plus1, 10);
        assert!(
            ticks.iter().all(|t| (t + 3_600_000) % 3_600_000 == 0),
            "{ticks:?}"
        );
        assert!(light.len() > ticks.len(), "{light:?}");
        let (first, last) = (ticks[0], ticks[ticks.len() - 1]);
        assert!(first >= t0 && last <= t0 + 6 * 3_600_000);
    }
}
