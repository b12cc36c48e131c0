//! A history chart exported as SVG, PNG (base64 in JSON) or CSV; drawn by [`crate::charts`].

use super::HistoryReport;
use crate::charts::{time_chart_png, time_chart_svg, TimeChart, TimeLine};
use crate::error::{ApiError, ApiResult};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChartRequest {
    /// Profile name (default `embedded`).
    #[serde(default)]
    pub profile: Option<String>,
    /// `redis`, `postgres` or `celery`.
    pub source: String,
    /// Metrics drawn together; they must share a unit (e.g. memory_used and maxmemory).
    pub metrics: Vec<String>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub range_seconds: Option<u64>,
    /// `svg`, `png` or `csv`.
    pub format: String,
    /// Pixels (default 900 × 420, from 200 × 150 to 4000 × 3000).
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChartExport {
    pub format: String,
    pub mime: String,
    pub file_name: String,
    /// SVG text, CSV text, or the PNG as base64.
    pub content: String,
}

impl ChartExport {
    /// The file's bytes (the PNG decoded from base64).
    pub fn bytes(&self) -> ApiResult<Vec<u8>> {
        if self.format == "png" {
            base64::engine::general_purpose::STANDARD
                .decode(&self.content)
                .map_err(|e| ApiError::internal(format!("the PNG's base64 is broken: {e}")))
        } else {
            Ok(self.content.clone().into_bytes())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> ApiResult<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "svg" => Ok(Format::Svg),
            "png" => Ok(Format::Png),
            "csv" => Ok(Format::Csv),
            other => {
                Err(ApiError::invalid(format!("unknown chart format '{}': use svg, png or csv", other.escape_debug())))
            }
        }
    }
    fn name(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Png => "png",
            Format::Csv => "csv",
        }
    }
    fn mime(self) -> &'static str {
        match self {
            Format::Svg => "image/svg+xml",
            Format::Png => "image/png",
            Format::Csv => "text/csv",
        }
    }
}

/// The chart's size with its defaults and bounds.
pub fn size_of(req: &ChartRequest) -> (u32, u32) {
    (req.width.unwrap_or(900).clamp(200, 4000), req.height.unwrap_or(420).clamp(150, 3000))
}

/// Renders `report` (its series drawn together) in `format`.
pub fn export(report: &HistoryReport, format: Format, size: (u32, u32)) -> ApiResult<ChartExport> {
    let metrics: Vec<&str> = report.series.iter().map(|s| s.metric.as_str()).collect();
    let stamp = chrono::DateTime::from_timestamp_millis(report.to_ms)
        .map(|t| t.format("%Y%m%d-%H%M%S").to_string())
        .unwrap_or_default();
    let file_name = format!("{}-{}-{}-{stamp}.{}", report.profile, report.source, metrics.join("+"), format.name());
    let content = match format {
        Format::Csv => csv_of(report)?,
        Format::Svg | Format::Png => {
            let unit = report.series.first().map(|s| s.unit.as_str()).unwrap_or("count");
            if let Some(other) = report.series.iter().find(|s| s.unit != unit) {
                return Err(ApiError::invalid(format!(
                    "'{}' is in {} and '{}' in {}: chart metrics of one unit together (CSV takes any)",
                    report.series[0].metric, unit, other.metric, other.unit
                )));
            }
            let title = format!(
                "{} · {} · {}",
                report.profile,
                report.source,
                report.series.iter().map(|s| s.label.as_str()).collect::<Vec<_>>().join(", ")
            );
            let chart = TimeChart {
                title: &title,
                unit,
                from_ms: report.from_ms,
                to_ms: report.to_ms,
                lines: report
                    .series
                    .iter()
                    .map(|s| TimeLine { label: &s.label, points: s.points.iter().map(|p| (p.t_ms, p.value)).collect() })
                    .collect(),
            };
            let failed = |e: String| ApiError::internal(format!("drawing the chart failed: {e}"));
            if format == Format::Svg {
                time_chart_svg(&chart, size).map_err(failed)?
            } else {
                base64::engine::general_purpose::STANDARD.encode(time_chart_png(&chart, size).map_err(failed)?)
            }
        }
    };
    Ok(ChartExport { format: format.name().into(), mime: format.mime().into(), file_name, content })
}

/// One row per time with a value column per metric (empty where a series has no value).
fn csv_of(report: &HistoryReport) -> ApiResult<String> {
    let mut times: Vec<i64> = report.series.iter().flat_map(|s| s.points.iter().map(|p| p.t_ms)).collect();
    times.sort_unstable();
    times.dedup();
    let mut w = csv::Writer::from_writer(vec![]);
    let fail = |e: csv::Error| ApiError::internal(format!("writing CSV failed: {e}"));
    let mut header = vec!["t_ms".to_string(), "time_utc".to_string()];
    header.extend(report.series.iter().map(|s| format!("{} ({})", s.metric, s.unit)));
    w.write_record(&header).map_err(fail)?;
    for t in times {
        let mut row =
            vec![t.to_string(), chrono::DateTime::from_timestamp_millis(t).map(|d| d.to_rfc3339()).unwrap_or_default()];
        for s in &report.series {
            let v = s.points.iter().find(|p| p.t_ms == t).and_then(|p| p.value);
            row.push(v.map(|v| v.to_string()).unwrap_or_default());
        }
        w.write_record(&row).map_err(fail)?;
    }
    let bytes = w.into_inner().map_err(|e| ApiError::internal(format!("writing CSV failed: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{MetricSeries, SeriesPoint};

    fn report() -> HistoryReport {
        let pts = |vals: &[Option<f64>]| {
            vals.iter()
                .enumerate()
                .map(|(i, v)| SeriesPoint { t_ms: 1_700_000_000_000 + i as i64 * 10_000, value: *v })
                .collect()
        };
        HistoryReport {
            profile: "p".into(),
            source: "redis".into(),
            from_ms: 1_700_000_000_000,
            to_ms: 1_700_000_040_000,
            interval_seconds: 10,
            series: vec![
                MetricSeries {
                    metric: "memory_used".into(),
                    label: "Memory used".into(),
                    unit: "bytes".into(),
                    points: pts(&[Some(1.0), Some(2.5), None, Some(4.0), Some(8.0)]),
                },
                MetricSeries {
                    metric: "maxmemory".into(),
                    label: "maxmemory".into(),
                    unit: "bytes".into(),
                    points: pts(&[Some(10.0), Some(10.0), None, Some(10.0), Some(10.0)]),
                },
            ],
            gaps: vec![],
        }
    }

    #[test]
    fn csv_holds_every_point_and_blanks_for_breaks() {
        let out = export(&report(), Format::Csv, (900, 420)).unwrap();
        let mut r = csv::Reader::from_reader(out.content.as_bytes());
        assert_eq!(
            r.headers().unwrap().iter().collect::<Vec<_>>(),
            ["t_ms", "time_utc", "memory_used (bytes)", "maxmemory (bytes)"]
        );
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 5);
        assert_eq!(&rows[1][2], "2.5");
        assert_eq!(&rows[2][2], "");
        assert_eq!(out.mime, "text/csv");
        assert!(out.file_name.starts_with("p-redis-memory_used+maxmemory-") && out.file_name.ends_with(".csv"));
    }

    #[test]
    fn svg_and_png_render_and_units_must_match() {
        let svg = export(&report(), Format::Svg, (900, 420)).unwrap();
        assert!(svg.content.starts_with("<svg") && svg.content.contains("Memory used"), "{}", &svg.content[..200]);
        assert!(svg.content.contains("bytes"));
        let png = export(&report(), Format::Png, (640, 300)).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.content).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 640);
        assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 300);
        let mut mixed = report();
        mixed.series[1].unit = "%".into();
        assert!(export(&mixed, Format::Svg, (900, 420)).unwrap_err().message.contains("one unit"));
        assert!(Format::parse("gif").unwrap_err().message.contains("svg, png or csv"));
    }
}
