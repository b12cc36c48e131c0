//! The Prometheus HTTP API (the cluster metrics API): instant queries (`GET /api/v1/query`) and
//! range queries (`GET /api/v1/query_range`). Reads only.
//!
//! Values: Prometheus sends each sample value as a string, and `"NaN"`, `"+Inf"` and `"-Inf"` occur
//! (`0/0`, `1/0`, a ratio over an idle counter). JSON has no such numbers, so a [`Sample`] carries
//! `value: null` and `special` naming which one (`"NaN"`, `"+Inf"`, `"-Inf"`, Prometheus's own
//! spelling); a finite value has `special: null`. Nothing is ever turned into 0.

use super::http::{client_builder, snippet, transport_error};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use ts_rs::TS;

/// Prometheus refuses a range query of more points than this per series.
pub const MAX_POINTS: f64 = 11_000.0;

/// A value JSON cannot hold as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub enum NonFinite {
    #[serde(rename = "NaN")]
    NaN,
    #[serde(rename = "+Inf")]
    PosInf,
    #[serde(rename = "-Inf")]
    NegInf,
}

/// One sample: `t` in Unix seconds; `value` null exactly when `special` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Sample {
    pub t: f64,
    pub value: Option<f64>,
    pub special: Option<NonFinite>,
}

impl Sample {
    /// `[t, "value"]` as Prometheus sends it.
    fn parse(pair: &Json) -> Option<Sample> {
        let arr = pair.as_array()?;
        let t = arr.first()?.as_f64()?;
        let text = arr.get(1)?.as_str()?;
        let (value, special) = parse_value(text)?;
        Some(Sample { t, value, special })
    }
}

/// A sample value string: a float, or NaN/+Inf/-Inf (Go's `strconv.ParseFloat` spellings).
pub fn parse_value(text: &str) -> Option<(Option<f64>, Option<NonFinite>)> {
    let v: f64 = match text {
        "NaN" => f64::NAN,
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some(if v.is_nan() {
        (None, Some(NonFinite::NaN))
    } else if v == f64::INFINITY {
        (None, Some(NonFinite::PosInf))
    } else if v == f64::NEG_INFINITY {
        (None, Some(NonFinite::NegInf))
    } else {
        (Some(v), None)
    })
}

/// One series of a result: its labels (`__name__` among them when the metric has a name) and its
/// samples (one for an instant vector, many for a range).
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Series {
    /// `name{label="value", …}` as Prometheus writes a series.
    pub display: String,
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

/// `name{a="b", c="d"}` (labels sorted, `__name__` outside the braces; `{}` for no labels).
pub fn series_display(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").map(String::as_str).unwrap_or("");
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
        .collect();
    if inner.is_empty() && !name.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", inner.join(", "))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueryResult {
    /// The Prometheus server, without any password.
    pub prometheus: String,
    pub expr: String,
    /// `vector`, `matrix`, `scalar` or `string` (a scalar is one series without labels; a string's
    /// text is in `text`).
    pub result_type: String,
    pub series: Vec<Series>,
    pub text: Option<String>,
    /// Prometheus's own warnings, and series this client skipped (native histograms).
    pub warnings: Vec<String>,
    /// Evaluation time of an instant query; start, end and step of a range query (Unix seconds).
    pub time: Option<f64>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub step: Option<f64>,
}

/// A client for one Prometheus server.
pub struct Prometheus {
    http: reqwest::Client,
    base: String,
    display: String,
}

impl Prometheus {
    pub fn new(endpoint: &Endpoint) -> ApiResult<Self> {
        let http = client_builder()
            .build()
            .map_err(|e| ApiError::internal(format!("cannot build the HTTP client: {}", e.without_url())))?;
        // A path prefix (http://host/prometheus) is kept; the API paths go after it.
        let base = endpoint.url.expose().trim_end_matches('/').to_string();
        Ok(Self { http, base, display: endpoint.display.clone() })
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    /// An instant query at `time` (Unix seconds; Prometheus's now when `None`).
    pub async fn instant(&self, expr: &str, time: Option<f64>) -> ApiResult<QueryResult> {
        check_expr(expr)?;
        let mut params = vec![("query", expr.to_string())];
        if let Some(t) = time {
            params.push(("time", fmt_secs(t)));
        }
        let (data, warnings) = self.get("/api/v1/query", &params).await?;
        let mut r = self.result(expr, &data, warnings)?;
        r.time = time.or_else(|| r.series.first().and_then(|s| s.samples.first()).map(|s| s.t));
        Ok(r)
    }

    /// A range query from `start` to `end` every `step` seconds.
    pub async fn range(&self, expr: &str, start: f64, end: f64, step: f64) -> ApiResult<QueryResult> {
        check_expr(expr)?;
        check_range(start, end, step)?;
        let params = vec![
            ("query", expr.to_string()),
            ("start", fmt_secs(start)),
            ("end", fmt_secs(end)),
            ("step", fmt_secs(step)),
        ];
        let (data, warnings) = self.get("/api/v1/query_range", &params).await?;
        let mut r = self.result(expr, &data, warnings)?;
        (r.start, r.end, r.step) = (Some(start), Some(end), Some(step));
        Ok(r)
    }

    /// GETs an API path; returns `data` and the warnings of a `success` answer, or the error the
    /// answer (or its absence) means.
    async fn get(&self, path: &str, params: &[(&str, String)]) -> ApiResult<(Json, Vec<String>)> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .query(params)
            .send()
            .await
            .map_err(|e| transport_error("Prometheus", &self.display, e))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| transport_error("Prometheus", &self.display, e))?;
        interpret(&self.display, status.as_u16(), &body)
    }

    fn result(&self, expr: &str, data: &Json, mut warnings: Vec<String>) -> ApiResult<QueryResult> {
        let (result_type, series, text) = parse_data(data, &mut warnings).ok_or_else(|| {
            malformed(
                &self.display,
                &format!("its data is not a Prometheus query result: {}", snippet(&data.to_string(), 200)),
            )
        })?;
        Ok(QueryResult {
            prometheus: self.display.clone(),
            expr: expr.to_string(),
            result_type,
            series,
            text,
            warnings,
            time: None,
            start: None,
            end: None,
            step: None,
        })
    }
}

fn fmt_secs(t: f64) -> String {
    format!("{t:.3}")
}

fn check_expr(expr: &str) -> ApiResult<()> {
    if expr.trim().is_empty() {
        return Err(ApiError::invalid("the PromQL expression is empty, e.g. `up` or `rate(http_requests_total[5m])`"));
    }
    Ok(())
}

fn check_range(start: f64, end: f64, step: f64) -> ApiResult<()> {
    if !(start.is_finite() && end.is_finite() && step.is_finite()) {
        return Err(ApiError::invalid("start, end and step must be finite numbers"));
    }
    if step <= 0.0 {
        return Err(ApiError::invalid("the step must be positive, e.g. 15s or 1m"));
    }
    if end < start {
        return Err(ApiError::invalid("the range ends before it starts: give --start earlier than --end"));
    }
    let points = (end - start) / step + 1.0;
    if points > MAX_POINTS {
        return Err(ApiError::invalid(format!(
            "{points:.0} points per series is more than Prometheus answers ({MAX_POINTS:.0}): use a larger step \
             (at least {:.0} s) or a shorter range",
            ((end - start) / (MAX_POINTS - 1.0)).ceil()
        )));
    }
    Ok(())
}

fn malformed(display: &str, what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Refused,
        format!(
            "the answer from {display} is not the Prometheus API ({what}); check the URL points at Prometheus \
             itself (e.g. http://HOST:9090), not at Grafana or a proxy's page"
        ),
    )
}

/// An HTTP answer of the API as data, or the error it means. Prometheus answers
/// `{"status":"error","errorType":…,"error":…}` with 400 (bad_data: a bad query), 422
/// (execution: the query failed) and 503 (timeout, canceled, unavailable).
pub fn interpret(display: &str, status: u16, body: &str) -> ApiResult<(Json, Vec<String>)> {
    let parsed: Option<Json> = serde_json::from_str(body).ok();
    let warnings = parsed
        .as_ref()
        .and_then(|j| j.get("warnings"))
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(|w| w.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    match parsed.as_ref().and_then(|j| j.get("status")).and_then(Json::as_str) {
        Some("success") if (200..300).contains(&status) => {
            let data = parsed.as_ref().and_then(|j| j.get("data")).cloned().unwrap_or(Json::Null);
            Ok((data, warnings))
        }
        Some("error") => {
            let j = parsed.as_ref().unwrap();
            let kind = j.get("errorType").and_then(Json::as_str).unwrap_or("error");
            let text = j.get("error").and_then(Json::as_str).unwrap_or("(no message)");
            let (code, advice) = match (status, kind) {
                (400, _) | (_, "bad_data") => (ErrorCode::InvalidInput, "fix the PromQL expression or its arguments"),
                (422, _) | (_, "execution") => {
                    (ErrorCode::Refused, "the query ran but failed; narrow it (fewer series, a shorter range)")
                }
                (503, _) | (_, "timeout" | "canceled" | "unavailable") => {
                    (ErrorCode::Unreachable, "Prometheus is overloaded or shutting down; try again or narrow the query")
                }
                _ => (ErrorCode::Refused, "see Prometheus's message"),
            };
            Err(ApiError::new(
                code,
                format!("Prometheus at {display} refused the query (HTTP {status}, {kind}): {text}; {advice}"),
            ))
        }
        _ => Err(match status {
            401 | 403 => ApiError::new(
                ErrorCode::Refused,
                format!(
                    "Prometheus at {display} refused access (HTTP {status}); put the user and password in the URL \
                     (http://USER:PASSWORD@HOST:9090) or check the proxy in front of it"
                ),
            ),
            404 => malformed(display, "HTTP 404 for /api/v1/…"),
            s if !(200..300).contains(&s) => malformed(display, &format!("HTTP {s}: {}", snippet(body, 120))),
            _ => malformed(display, &format!("not the API's JSON: {}", snippet(body, 120))),
        }),
    }
}

type Parsed = (String, Vec<Series>, Option<String>);

/// `data` of a query answer: its result type, series and text (for a string result).
fn parse_data(data: &Json, warnings: &mut Vec<String>) -> Option<Parsed> {
    let rtype = data.get("resultType")?.as_str()?.to_string();
    let result = data.get("result")?;
    let mut series = vec![];
    let mut text = None;
    match rtype.as_str() {
        "vector" | "matrix" => {
            let mut skipped = 0;
            for item in result.as_array()? {
                let labels: BTreeMap<String, String> = item
                    .get("metric")
                    .and_then(Json::as_object)
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                    .unwrap_or_default();
                let samples: Vec<Sample> = if let Some(v) = item.get("value") {
                    vec![Sample::parse(v)?]
                } else if let Some(vs) = item.get("values") {
                    vs.as_array()?.iter().map(Sample::parse).collect::<Option<_>>()?
                } else if item.get("histogram").is_some() || item.get("histograms").is_some() {
                    skipped += 1;
                    continue;
                } else {
                    return None;
                };
                series.push(Series { display: series_display(&labels), labels, samples });
            }
            if skipped > 0 {
                warnings.push(format!("{skipped} native histogram series skipped (shown by Prometheus itself only)"));
            }
        }
        "scalar" => {
            let labels = BTreeMap::new();
            series.push(Series { display: "scalar".into(), labels, samples: vec![Sample::parse(result)?] });
        }
        "string" => text = Some(result.as_array()?.get(1)?.as_str()?.to_string()),
        _ => return None,
    }
    Some((rtype, series, text))
}

/// A time as the CLI and the UI give it: `now`, `now-15m`, Unix seconds, or RFC 3339.
pub fn parse_time(text: &str, now: f64) -> ApiResult<f64> {
    let t = text.trim();
    if t == "now" {
        return Ok(now);
    }
    if let Some(rest) = t.strip_prefix("now-") {
        return Ok(now - parse_duration(rest)?);
    }
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(secs);
        }
    }
    chrono::DateTime::parse_from_rfc3339(t).map(|d| d.timestamp_millis() as f64 / 1000.0).map_err(|_| {
        ApiError::invalid(format!(
            "'{}' is not a time: use now, now-15m, Unix seconds (1733480000) or RFC 3339 (2026-12-06T04:00:00Z)",
            t.escape_debug()
        ))
    })
}

/// A duration as Prometheus or Go writes one (`15s`, `5m`, `1h30m`, `250ms`, `1d`, `20.043s`), or
/// seconds.
pub fn parse_duration(text: &str) -> ApiResult<f64> {
    let t = text.trim();
    let bad = || {
        ApiError::invalid(format!("'{}' is not a duration: use e.g. 15s, 5m, 1h30m or seconds (30)", t.escape_debug()))
    };
    if let Ok(secs) = t.parse::<f64>() {
        return if secs.is_finite() && secs >= 0.0 { Ok(secs) } else { Err(bad()) };
    }
    let (mut total, mut rest) = (0.0, t);
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return Err(bad()),
        };
        total += n * unit;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_values_are_null_with_their_name() {
        assert_eq!(parse_value("NaN"), Some((None, Some(NonFinite::NaN))));
        assert_eq!(parse_value("+Inf"), Some((None, Some(NonFinite::PosInf))));
        assert_eq!(parse_value("-Inf"), Some((None, Some(NonFinite::NegInf))));
        assert_eq!(parse_value("1e3"), Some((Some(1000.0), None)));
        assert_eq!(parse_value("-0.25"), Some((Some(-0.25), None)));
        assert_eq!(parse_value("abc"), None);
        let s = Sample { t: 1.5, value: None, special: Some(NonFinite::PosInf) };
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"t":1.5,"value":null,"special":"+Inf"}"#);
    }

    #[test]
    fn parses_vector_matrix_scalar_and_string() {
        let mut w = vec![];
        let v: Json = serde_json::json!({"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"redis","instance":"127.0.0.1:9121"},"value":[1700000000.5,"1"]}]});
        let (t, s, _) = parse_data(&v, &mut w).unwrap();
        assert_eq!(t, "vector");
        assert_eq!(s[0].display, r#"up{instance="127.0.0.1:9121", job="redis"}"#);
        assert_eq!(s[0].samples[0].value, Some(1.0));
        let m: Json = serde_json::json!({"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[2,"3"]]}]});
        let (_, s, _) = parse_data(&m, &mut w).unwrap();
        assert_eq!(s[0].display, "{}");
        assert_eq!(s[0].samples.len(), 2);
        assert_eq!(s[0].samples[0].special, Some(NonFinite::NaN));
        let sc: Json = serde_json::json!({"resultType":"scalar","result":[1,"+Inf"]});
        assert_eq!(parse_data(&sc, &mut w).unwrap().1[0].samples[0].special, Some(NonFinite::PosInf));
        let st: Json = serde_json::json!({"resultType":"string","result":[1,"hello"]});
        assert_eq!(parse_data(&st, &mut w).unwrap().2.as_deref(), Some("hello"));
        let h: Json = serde_json::json!({"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]});
        assert!(parse_data(&h, &mut w).unwrap().1.is_empty());
        assert_eq!(w.len(), 1);
        assert!(parse_data(&serde_json::json!({"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}), &mut w)
            .is_none());
    }

    #[test]
    fn api_errors_say_what_went_wrong() {
        let e = interpret(
            "http://p:9090",
            400,
            r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}"#,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert!(e.message.contains("parse error") && e.message.contains("bad_data"), "{}", e.message);
        let e = interpret("p", 422, r#"{"status":"error","errorType":"execution","error":"too many samples"}"#)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Refused);
        let e =
            interpret("p", 503, r#"{"status":"error","errorType":"unavailable","error":"shutting down"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Unreachable);
        let e = interpret("p", 200, "<html>Grafana</html>").unwrap_err();
        assert!(e.message.contains("not the Prometheus API"), "{}", e.message);
        let e = interpret("p", 404, "404 page not found").unwrap_err();
        assert!(e.message.contains("404"), "{}", e.message);
        let (d, w) = interpret("p", 200, r#"{"status":"success","data":{"x":1},"warnings":["w1"]}"#).unwrap();
        assert_eq!(d["x"], 1);
        assert_eq!(w, vec!["w1"]);
    }

    #[test]
    fn times_durations_and_ranges() {
        assert_eq!(parse_time("now", 1000.0).unwrap(), 1000.0);
        assert_eq!(parse_time("now-5m", 1000.0).unwrap(), 700.0);
        assert_eq!(parse_time("1700000000", 0.0).unwrap(), 1_700_000_000.0);
        assert_eq!(parse_time("2023-11-14T22:13:20Z", 0.0).unwrap(), 1_700_000_000.0);
        assert!(parse_time("yesterday", 0.0).unwrap_err().message.contains("not a time"));
        assert_eq!(parse_duration("1h30m").unwrap(), 5400.0);
        assert_eq!(parse_duration("250ms").unwrap(), 0.25);
        assert_eq!(parse_duration("15").unwrap(), 15.0);
        assert_eq!(parse_duration("20.043s").unwrap(), 20.043);
        assert_eq!(parse_duration("1.5m").unwrap(), 90.0);
        for bad in ["", "m", "5x", "-3", "1..5m", "5m3"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(check_range(0.0, 10.0, 0.0).is_err());
        assert!(check_range(10.0, 0.0, 1.0).is_err());
        assert!(check_range(0.0, 86_400.0 * 7.0, 1.0).unwrap_err().message.contains("larger step"));
        assert!(check_range(0.0, 3600.0, 15.0).is_ok());
    }
}
