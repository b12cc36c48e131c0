import type { ReplayReport } from "../../bindings/ReplayReport";
import { pct } from "../../format";
import { num } from "../monitor/common";

export const SERIES_COLORS = ["#2747a5", "#c0392b", "#16a085", "#8e44ad"];

const W = 640;
const H = 220;
const PAD = { left: 44, right: 12, top: 10, bottom: 28 };

/**
 * The hit rate so far against rows replayed, one line per report on the same axes (0–100%),
 * with a legend. An inline SVG: React escapes the labels, nothing from the report is markup.
 */
export function HitRateChart({ reports }: { reports: ReplayReport[] }) {
  const maxRows = Math.max(1, ...reports.flatMap((r) => r.hit_rate_over_time.map((p) => p.rows)));
  const x = (rows: number) => PAD.left + (rows / maxRows) * (W - PAD.left - PAD.right);
  const y = (rate: number) => PAD.top + (1 - Math.min(1, Math.max(0, rate))) * (H - PAD.top - PAD.bottom);
  const empty = reports.every((r) => r.hit_rate_over_time.length === 0);
  return (
    <div data-testid="ql-chart">
      <h4>Hit rate over the replay</h4>
      {empty ? (
        <div className="muted chart-placeholder">No row was answered: nothing to draw.</div>
      ) : (
        <svg
          data-testid="ql-chart-svg"
          viewBox={`0 0 ${W} ${H}`}
          width="100%"
          style={{ maxWidth: W, display: "block", background: "#fff" }}
          role="img"
          aria-label="hit rate over rows replayed"
        >
          {[0, 0.25, 0.5, 0.75, 1].map((v) => (
            <g key={v}>
              <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} stroke="#e4e8ee" />
              <text x={PAD.left - 6} y={y(v) + 4} fontSize={11} textAnchor="end" fill="#7a8494">
                {Math.round(v * 100)}%
              </text>
            </g>
          ))}
          <line x1={PAD.left} x2={W - PAD.right} y1={H - PAD.bottom} y2={H - PAD.bottom} stroke="#c5ccd8" />
          <text x={PAD.left} y={H - 8} fontSize={11} fill="#7a8494">
            0
          </text>
          <text x={W - PAD.right} y={H - 8} fontSize={11} textAnchor="end" fill="#7a8494">
            {num(maxRows)} rows
          </text>
          {reports.map((r, i) => {
            const color = SERIES_COLORS[i % SERIES_COLORS.length];
            const pts = r.hit_rate_over_time;
            if (pts.length === 1)
              return <circle key={i} data-testid="ql-chart-line" data-label={r.label} cx={x(pts[0].rows)} cy={y(pts[0].hit_rate)} r={3} fill={color} />;
            return (
              <polyline
                key={i}
                data-testid="ql-chart-line"
                data-label={r.label}
                fill="none"
                stroke={color}
                strokeWidth={2}
                strokeDasharray={i === 1 ? "6 3" : undefined}
                points={pts.map((p) => `${x(p.rows).toFixed(1)},${y(p.hit_rate).toFixed(1)}`).join(" ")}
              />
            );
          })}
        </svg>
      )}
      <div className="chart-value" data-testid="ql-chart-legend" style={{ display: "flex", gap: 16, flexWrap: "wrap" }}>
        {reports.map((r, i) => (
          <span key={i} data-testid="ql-chart-legend-item">
            <span style={{ display: "inline-block", width: 14, height: 3, background: SERIES_COLORS[i % SERIES_COLORS.length], verticalAlign: "middle", marginRight: 4 }} />
            {r.label} (final {pct(r.hit_rate)})
          </span>
        ))}
      </div>
    </div>
  );
}
