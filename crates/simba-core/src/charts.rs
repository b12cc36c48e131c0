//! Charts drawn with plotters: SVG text or PNG bytes, for the app and for reports.

use crate::engine::eval::SweepPoint;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::OnceLock;

/// The charts' typeface, bundled so text is measured and drawn the same on every machine
/// (assets/DejaVuSans-subset.LICENSE.txt).
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");

/// Registers the bundled font as "sans-serif" once; plotters needs it to lay out any text.
fn ensure_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the bundled chart font could not be read".to_string())
    })
    .clone()
}

/// Threshold sweep: share of same-answer pairs served and false-hit rate, raw and verified.
pub fn sweep_chart(sweep: &[SweepPoint], current: f32) -> Result<String, String> {
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let lo = sweep.first().map(|p| p.threshold).unwrap_or(0.5);
        let hi = sweep.last().map(|p| p.threshold).unwrap_or(1.0);
        let mut chart = ChartBuilder::on(&root)
            .caption("Threshold sweep", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0f32..1f32)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("similarity threshold")
            .y_desc("share of pairs served")
            .draw()
            .map_err(|e| e.to_string())?;
        type Series = (&'static str, RGBColor, fn(&SweepPoint) -> Option<f64>);
        let series: [Series; 4] = [
            ("same answer served (verified)", RGBColor(22, 130, 60), |p| p.verified.same_served_rate),
            ("false hits (verified)", RGBColor(200, 40, 40), |p| p.verified.false_hit_rate),
            ("same answer served (raw cosine)", RGBColor(120, 190, 140), |p| p.raw.same_served_rate),
            ("false hits (raw cosine)", RGBColor(235, 150, 150), |p| p.raw.false_hit_rate),
        ];
        for (label, color, value) in series {
            let points: Vec<(f32, f32)> =
                sweep.iter().filter_map(|p| value(p).map(|v| (p.threshold, v as f32))).collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        }
        chart
            .draw_series(LineSeries::new(vec![(current, 0.0), (current, 1.0)], BLACK.mix(0.4)))
            .map_err(|e| e.to_string())?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// One line of a time-series chart; `None` values break the line.
pub struct TimeLine<'a> {
    pub label: &'a str,
    pub points: Vec<(i64, Option<f64>)>,
}

/// What a time-series chart shows: lines over `[from_ms, to_ms]`, values in `unit`.
pub struct TimeChart<'a> {
    pub title: &'a str,
    pub unit: &'a str,
    pub from_ms: i64,
    pub to_ms: i64,
    pub lines: Vec<TimeLine<'a>>,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// A value with its unit, short enough for an axis label.
pub fn format_value(unit: &str, v: f64) -> String {
    match unit {
        "%" => format!("{v:.0}%"),
        "bytes" => {
            let units = ["B", "KiB", "MiB", "GiB", "TiB"];
            let mut x = v;
            let mut i = 0;
            while x.abs() >= 1024.0 && i + 1 < units.len() {
                x /= 1024.0;
                i += 1;
            }
            if i == 0 {
                format!("{x:.0} B")
            } else {
                format!("{x:.1} {}", units[i])
            }
        }
        "per_s" => format!("{v:.1}/s"),
        "ms" => format!("{v:.0} ms"),
        _ => format!("{v:.0}"),
    }
}

/// The axis name of a unit.
fn unit_title(unit: &str) -> &str {
    match unit {
        "%" => "percent",
        "bytes" => "bytes",
        "per_s" => "per second",
        "ms" => "milliseconds",
        _ => "count",
    }
}

fn draw_time_chart<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &TimeChart) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let values = chart.lines.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = match (lo.is_finite(), chart.unit) {
        (false, "%") => (0.0, 100.0),
        (false, _) => (0.0, 1.0),
        (true, "%") => (0f64.min(lo), 100f64.max(hi)),
        // Counts, sizes and rates from zero, so a small change does not look like a cliff.
        (true, _) if lo >= 0.0 => (0.0, if hi > 0.0 { hi * 1.1 } else { 1.0 }),
        (true, _) => (lo - (hi - lo).abs() * 0.05 - 1.0, hi + (hi - lo).abs() * 0.05 + 1.0),
    };
    let span_ms = (chart.to_ms - chart.from_ms).max(1);
    let time_label = move |t: &i64| {
        let Some(at) = chrono::DateTime::from_timestamp_millis(*t) else { return String::new() };
        if span_ms > 2 * 86_400_000 {
            at.format("%m-%d %H:%M").to_string()
        } else {
            at.format("%H:%M").to_string()
        }
    };
    let unit = chart.unit;
    let mut cc = ChartBuilder::on(&root)
        .caption(chart.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(72)
        .build_cartesian_2d(chart.from_ms..chart.to_ms.max(chart.from_ms + 1), lo..hi)
        .map_err(err)?;
    cc.configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&time_label)
        .y_label_formatter(&|v| format_value(unit, *v))
        .x_desc("time (UTC)")
        .y_desc(unit_title(unit))
        .draw()
        .map_err(err)?;
    for (i, line) in chart.lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        // Each unbroken run is its own path; a run of one point is a dot.
        let mut runs: Vec<Vec<(i64, f64)>> = vec![vec![]];
        for (t, v) in &line.points {
            match v {
                Some(v) => runs.last_mut().unwrap().push((*t, *v)),
                None if runs.last().is_some_and(|r| !r.is_empty()) => runs.push(vec![]),
                None => {}
            }
        }
        for (n, run) in runs.into_iter().filter(|r| !r.is_empty()).enumerate() {
            let series = if run.len() == 1 {
                cc.draw_series(run.iter().map(|p| Circle::new(*p, 2, color.filled()))).map_err(err)?
            } else {
                cc.draw_series(LineSeries::new(run, color.stroke_width(2))).map_err(err)?
            };
            if n == 0 {
                series
                    .label(line.label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
            }
        }
    }
    cc.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// A time-series chart as SVG text.
pub fn time_chart_svg(chart: &TimeChart, size: (u32, u32)) -> Result<String, String> {
    ensure_font()?;
    let mut svg = String::new();
    draw_time_chart(SVGBackend::with_string(&mut svg, size).into_drawing_area(), chart)?;
    Ok(svg)
}

/// A time-series chart as PNG bytes (RGB, drawn into a buffer and encoded with `png`).
pub fn time_chart_png(chart: &TimeChart, size: (u32, u32)) -> Result<Vec<u8>, String> {
    ensure_font()?;
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    draw_time_chart(BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area(), chart)?;
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, size.0, size.1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}
