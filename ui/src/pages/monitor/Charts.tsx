// History charts and alerts of one profile's source, through `history_series`, `history_chart`,
// `sampler_status` and `alerts`. The core draws the charts (plotters);
// the page shows its SVG as an image and uses the series' points for the value under the cursor.
import { useEffect, useMemo, useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { AlertsReport } from "../../bindings/AlertsReport";
import type { HistoryReport } from "../../bindings/HistoryReport";
import type { MetricSeries } from "../../bindings/MetricSeries";
import type { SamplerStatus } from "../../bindings/SamplerStatus";
import type { SeriesPoint } from "../../bindings/SeriesPoint";

/** The systems the sampler keeps a history of. */
export type HistorySource = "redis" | "postgres" | "celery" | "kubernetes";
/** What a chart is exported as. */
export type ChartFormat = "svg" | "png" | "csv";
import { call, isUnknownCommand } from "../../platform";
import { bytes } from "../../format";
import { ErrorBox } from "../Overview";
import { svgImageSource } from "../cache/util";
import { asError, num, secs } from "./common";

export const RANGES: { seconds: number; label: string }[] = [
  { seconds: 900, label: "15 min" },
  { seconds: 3600, label: "1 h" },
  { seconds: 6 * 3600, label: "6 h" },
  { seconds: 24 * 3600, label: "24 h" },
  { seconds: 7 * 86400, label: "7 d" },
];

export type ChartDef = { id: string; title: string; metrics: string[] };

const CHART_W = 640;
const CHART_H = 220;

/** A series value in its unit, as people read it. "%" values are percentages (0–100). */
export function formatValue(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return "no sample";
  switch (unit) {
    case "%":
      return `${value.toFixed(1)}%`;
    case "bytes":
      return bytes(value);
    case "per_s":
      return `${num(value, value < 10 ? 2 : 1)}/s`;
    case "ms":
      return `${num(value, value < 10 ? 2 : 1)} ms`;
    case "s":
      return `${num(value, value < 10 ? 1 : 0)} s`;
    case "cores":
      return `${num(value, value < 10 ? 2 : 1)} cores`;
    default:
      return num(value, Number.isInteger(value) ? 0 : 2);
  }
}

/** The point nearest to `t` (points are in time order); null when there are none. */
export function nearestPoint(points: SeriesPoint[], t: number): SeriesPoint | null {
  if (points.length === 0) return null;
  let lo = 0;
  let hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].t_ms < t) lo = mid + 1;
    else hi = mid;
  }
  const after = points[lo];
  const before = lo > 0 ? points[lo - 1] : null;
  return before && Math.abs(before.t_ms - t) <= Math.abs(after.t_ms - t) ? before : after;
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Saves an export through a download link: works in the browser build and in the Tauri webview
 * alike, with no file-system permission needed.
 */
export function saveExport(content: string, format: string, mime: string, fileName: string) {
  const data = format === "png" ? base64ToBytes(content) : content;
  const blob = new Blob([data as BlobPart], { type: mime });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.rel = "noopener";
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function clock(ms: number, spanSeconds: number): string {
  const d = new Date(ms);
  return spanSeconds > 86400 ? d.toLocaleString() : d.toLocaleTimeString();
}

function Chart({
  def,
  profile,
  source,
  range,
  history,
  tick,
}: {
  def: ChartDef;
  profile: string;
  source: HistorySource;
  range: number;
  history: HistoryReport;
  tick: number;
}) {
  const [svg, setSvg] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [hoverT, setHoverT] = useState<number | null>(null);
  const [exporting, setExporting] = useState<string | null>(null);
  const series: MetricSeries[] = useMemo(
    () => def.metrics.map((m) => history.series.find((s) => s.metric === m)).filter((s): s is MetricSeries => !!s),
    [def, history],
  );

  useEffect(() => {
    let live = true;
    call("history_chart", { profile, source, metrics: def.metrics, range_seconds: range, format: "svg", width: CHART_W, height: CHART_H })
      .then((c) => live && (setSvg(c.content), setError(null)))
      .catch((e) => live && setError(asError(e)));
    return () => {
      live = false;
    };
  }, [profile, source, range, def, tick]);

  const exportAs = (format: ChartFormat) => {
    setExporting(format);
    call("history_chart", { profile, source, metrics: def.metrics, range_seconds: range, format, width: 1200, height: 480 })
      .then((c) => (saveExport(c.content, c.format, c.mime, c.file_name), setError(null)))
      .catch((e) => setError(asError(e)))
      .finally(() => setExporting(null));
  };

  const src = svg ? svgImageSource(svg) : null;
  const span = (history.to_ms - history.from_ms) / 1000;
  const onMove = (e: React.MouseEvent<HTMLDivElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    if (r.width <= 0) return;
    // The image spans the whole range; the nearest sample's own time is what is shown.
    const f = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
    setHoverT(history.from_ms + f * (history.to_ms - history.from_ms));
  };
  const hover =
    hoverT === null
      ? null
      : series.map((s) => {
          const p = nearestPoint(s.points, hoverT);
          return { s, p };
        });
  const empty = series.every((s) => s.points.every((p) => p.value === null));

  return (
    <div className="chart-box" data-testid={`chart-${def.id}`}>
      <div className="toolbar">
        <h4>{def.title}</h4>
        {(["png", "svg", "csv"] as ChartFormat[]).map((f) => (
          <button key={f} className="small" data-testid={`chart-${def.id}-export-${f}`} disabled={exporting !== null} onClick={() => exportAs(f)}>
            {f.toUpperCase()}
          </button>
        ))}
      </div>
      {error && <ErrorBox error={error} />}
      {empty && <div className="muted">No samples in this range yet.</div>}
      <div className="chart-hover-area" data-testid={`chart-${def.id}-area`} onMouseMove={onMove} onMouseLeave={() => setHoverT(null)}>
        {src ? (
          <img className="chart" src={src} alt={`${def.title} over the last ${secs(range)}`} width={CHART_W} height={CHART_H} />
        ) : (
          !error && <div className="chart-placeholder muted">drawing…</div>
        )}
      </div>
      <div className="chart-value" data-testid={`chart-${def.id}-value`}>
        {hover && hover.some((h) => h.p)
          ? `${clock(hover.find((h) => h.p)!.p!.t_ms, span)}: ` +
            hover
              .filter((h) => h.p)
              .map((h) => `${h.s.label} ${formatValue(h.p!.value, h.s.unit)}`)
              .join(", ")
          : "\u00a0"}
      </div>
    </div>
  );
}

function GapList({ history }: { history: HistoryReport }) {
  if (history.gaps.length === 0) return null;
  const span = (history.to_ms - history.from_ms) / 1000;
  const shown = history.gaps.slice(-5);
  return (
    <div className="muted" data-testid="chart-gaps">
      {history.gaps.length} gap{history.gaps.length === 1 ? "" : "s"} in the samples (shown as breaks in the lines):
      <ul>
        {shown.map((g) => (
          <li key={g.from_ms}>
            {clock(g.from_ms, span)} – {clock(g.to_ms, span)} ({secs((g.to_ms - g.from_ms) / 1000)}): {g.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}

function SamplerLine({ status, profile, history }: { status: SamplerStatus | null; profile: string; history: HistoryReport }) {
  if (!status) return null;
  const mine = status.profiles.find((p) => p.profile === profile);
  const first = history.series
    .flatMap((s) => s.points)
    .filter((p) => p.value !== null)
    .reduce<number | null>((m, p) => (m === null || p.t_ms < m ? p.t_ms : m), null);
  if (!mine)
    return (
      <div className="muted" data-testid="sampler-status">
        The sampler is not watching this profile: it samples open profiles every {status.interval_seconds} s and keeps{" "}
        {status.retention_days} days.
      </div>
    );
  if (mine.last_error)
    return (
      <div className="error warning" data-testid="sampler-status">
        The last sample failed: {mine.last_error}. Sampling resumes by itself when the server answers again.
      </div>
    );
  return (
    <div className="muted" data-testid="sampler-status">
      {first !== null ? `History since ${new Date(first).toLocaleString()}` : "No history in this range yet"}, sampling every{" "}
      {status.interval_seconds} s ({mine.samples} samples
      {mine.last_sample_ms !== null ? `, last ${new Date(mine.last_sample_ms).toLocaleTimeString()}` : ""}), kept {status.retention_days} days.
    </div>
  );
}

/** The charts panel: range picker, one chart per definition, gaps and the sampler's state. */
export function ChartsPanel({ profile, source, charts, tick }: { profile: string; source: HistorySource; charts: ChartDef[]; tick: number }) {
  const [range, setRange] = useState(3600);
  const [history, setHistory] = useState<HistoryReport | null>(null);
  const [status, setStatus] = useState<SamplerStatus | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [missing, setMissing] = useState(false);
  const metrics = useMemo(() => [...new Set(charts.flatMap((c) => c.metrics))], [charts]);

  useEffect(() => {
    let live = true;
    // The status after the series: asking for a profile's series is what makes the sampler watch it.
    call("history_series", { profile, source, range_seconds: range, metrics })
      .then((h) => live && (setHistory(h), setError(null), setMissing(false)))
      .catch((e) => {
        if (!live) return;
        if (isUnknownCommand(e)) setMissing(true);
        else setError(asError(e));
      })
      .then(() => call("sampler_status", {}))
      .then((s) => live && setStatus(s))
      .catch(() => live && setStatus(null));
    return () => {
      live = false;
    };
  }, [profile, source, range, metrics, tick]);

  return (
    <section className="card wide" data-testid={`${source}-charts`}>
      <div className="toolbar">
        <h3>History</h3>
        <span role="group" aria-label="time range">
          {RANGES.map((r) => (
            <button
              key={r.seconds}
              className={"small" + (r.seconds === range ? " active-range" : "")}
              data-testid={`range-${r.seconds}`}
              aria-pressed={r.seconds === range}
              onClick={() => setRange(r.seconds)}
            >
              {r.label}
            </button>
          ))}
        </span>
      </div>
      {missing ? (
        <div className="muted" data-testid="history-unavailable">
          History not available yet: this version of the core keeps no samples. The figures above are live.
        </div>
      ) : (
        <>
          {error && <ErrorBox error={error} />}
          {history && (
            <>
              <div className="chart-grid">
                {charts.map((c) => (
                  <Chart key={c.id} def={c} profile={profile} source={source} range={range} history={history} tick={tick} />
                ))}
              </div>
              <GapList history={history} />
              <SamplerLine status={status} profile={profile} history={history} />
            </>
          )}
          {!history && !error && <div className="muted">loading history…</div>}
        </>
      )}
    </section>
  );
}

/** Firing alerts of this profile's rules for one source, worst first. */
export function AlertsPanel({ profile, source, tick }: { profile: string; source: HistorySource; tick: number }) {
  const [report, setReport] = useState<AlertsReport | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    let live = true;
    call("alerts", { profile })
      .then((r) => live && (setReport(r), setError(null), setMissing(false)))
      .catch((e) => {
        if (!live) return;
        if (isUnknownCommand(e)) setMissing(true);
        else setError(asError(e));
      });
    return () => {
      live = false;
    };
  }, [profile, tick]);

  if (missing)
    return (
      <div className="muted alerts-line" data-testid={`${source}-alerts`}>
        Alerts not available yet (this version of the core has no alert rules).
      </div>
    );
  if (error)
    return (
      <div data-testid={`${source}-alerts`}>
        <ErrorBox warning error={error} />
      </div>
    );
  if (!report) return null;
  const mine = report.alerts.filter((a) => a.source === source);
  const firing = mine
    .filter((a) => a.state === "firing")
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "critical" ? -1 : 1));
  const waiting = mine.filter((a) => a.state === "not_enough_data").length;
  return (
    <div data-testid={`${source}-alerts`}>
      {firing.length === 0 ? (
        <div className="notice alerts-line" data-testid="alerts-none">
          No alert firing: {mine.length} rule{mine.length === 1 ? "" : "s"} checked
          {waiting ? `, ${waiting} waiting for enough samples` : ""} at {new Date(report.evaluated_ms).toLocaleTimeString()}.
        </div>
      ) : (
        firing.map((a) => (
          <div key={a.rule} className={a.severity === "critical" ? "error alert" : "error warning alert"} data-testid="alert-firing">
            <b>{a.severity === "critical" ? "Critical" : "Warning"}: {a.title}</b>
            {a.since_ms !== null && <span className="muted"> (since {new Date(a.since_ms).toLocaleTimeString()})</span>}
            <div>{a.detail}</div>
            <div className="muted">
              rule {a.rule}: value {a.value === null ? "–" : num(a.value, 2)}, threshold {num(a.threshold, 2)}
            </div>
          </div>
        ))
      )}
    </div>
  );
}
