// Hand-written stand-ins for the history, charts and alerts types that the core is adding
// (ts-rs will generate them into ./bindings). Shapes exactly as agreed; once the core branch is
// merged, delete this file and import the generated types (and use `call` directly).

export type HistorySource = "redis" | "postgres" | "celery";

export type SeriesPoint = { t_ms: number; value: number | null };

export type MetricSeries = {
  metric: string;
  label: string;
  /** "%", "bytes", "per_s", "ms", "count" */
  unit: string;
  points: Array<SeriesPoint>;
};

export type SampleGap = { from_ms: number; to_ms: number; reason: string };

export type HistoryReport = {
  profile: string;
  source: string;
  from_ms: number;
  to_ms: number;
  interval_seconds: number;
  series: Array<MetricSeries>;
  gaps: Array<SampleGap>;
};

export type HistorySeriesRequest = {
  profile?: string;
  source: HistorySource;
  /** Default 3600, 900..604800. */
  range_seconds?: number;
  metrics?: Array<string>;
};

export type ChartFormat = "svg" | "png" | "csv";

export type HistoryChartRequest = {
  profile?: string;
  source: string;
  metrics: Array<string>;
  range_seconds?: number;
  format: ChartFormat;
  width?: number;
  height?: number;
};

export type ChartExport = {
  format: string;
  mime: string;
  file_name: string;
  /** SVG text, CSV text, or PNG as base64. */
  content: string;
};

export type AlertsRequest = { profile?: string };

export type AlertState = {
  rule: string;
  source: string;
  state: "firing" | "ok" | "not_enough_data";
  severity: "warning" | "critical";
  title: string;
  detail: string;
  since_ms: number | null;
  value: number | null;
  threshold: number;
};

export type AlertsReport = { profile: string; evaluated_ms: number; alerts: Array<AlertState> };

export type SamplerProfile = {
  profile: string;
  sources: Array<string>;
  last_sample_ms: number | null;
  last_error: string | null;
  samples: number;
};

export type SamplerStatus = { interval_seconds: number; retention_days: number; profiles: Array<SamplerProfile> };

/** The commands behind these types, in the shape of ./bindings/commands' `Commands`. */
export interface HistoryCommands {
  history_series: { request: HistorySeriesRequest; response: HistoryReport; writes: false };
  history_chart: { request: HistoryChartRequest; response: ChartExport; writes: false };
  alerts: { request: AlertsRequest; response: AlertsReport; writes: false };
  sampler_status: { request: Record<string, never>; response: SamplerStatus; writes: false };
}
