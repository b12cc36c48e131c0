//! Charts drawn with plotters as SVG text, for the app and for reports.

use crate::engine::eval::SweepPoint;
use plotters::prelude::*;

/// Threshold sweep: share of same-answer pairs served and false-hit rate, raw and verified.
pub fn sweep_chart(sweep: &[SweepPoint], current: f32) -> Result<String, String> {
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
