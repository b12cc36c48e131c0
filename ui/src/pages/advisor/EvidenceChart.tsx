// A finding's figures over the last hour, from the history the sampler keeps (`history_chart`,
// drawn by the core): opened on request, so a page of findings does not draw a chart for each.
import { useEffect, useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { EvidenceChart } from "../../bindings/EvidenceChart";
import { call } from "../../platform";
import { ErrorBox } from "../Overview";
import { svgImageSource } from "../cache/util";
import { asError } from "../monitor/common";

const RANGE_SECONDS = 3600;

export function EvidenceChartView({ profile, chart }: { profile: string; chart: EvidenceChart }) {
  const [open, setOpen] = useState(false);
  const [svg, setSvg] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    if (!open) return;
    let live = true;
    setSvg(null);
    setError(null);
    call("history_chart", { profile, source: chart.source, metrics: chart.metrics, range_seconds: RANGE_SECONDS, format: "svg", width: 560, height: 180 })
      .then((c) => live && setSvg(c.content))
      .catch((e) => live && setError(asError(e)));
    return () => {
      live = false;
    };
  }, [open, profile, chart]);

  return (
    <div data-testid="finding-chart">
      <button className="small" data-testid="finding-chart-toggle" onClick={() => setOpen((o) => !o)}>
        {open ? "Hide the chart" : `Chart of the last hour (${chart.metrics.join(", ")})`}
      </button>
      {open && error && <ErrorBox error={error} />}
      {open && !error && !svg && <div className="muted">drawing…</div>}
      {open && svg && (
        <img className="chart" data-testid="finding-chart-image" src={svgImageSource(svg) ?? undefined} alt={`${chart.metrics.join(", ")} over the last hour`} width={560} height={180} />
      )}
    </div>
  );
}
