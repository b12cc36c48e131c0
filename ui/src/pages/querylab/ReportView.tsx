import type { BadRow } from "../../bindings/BadRow";
import type { Percentiles } from "../../bindings/Percentiles";
import type { ReplayReport } from "../../bindings/ReplayReport";
import { pct } from "../../format";
import { num, perSec } from "../monitor/common";
import { SERIES_COLORS } from "./HitRateChart";
import { msText, plural, usd } from "./util";

function RowList({ rows, total, what, testid }: { rows: BadRow[]; total: number; what: string; testid: string }) {
  // `what` is the whole phrase with its count: "2 bad rows skipped", "1 row failed".
  if (total === 0) return null;
  return (
    <details className="error warning" data-testid={testid} open>
      <summary>
        {what}, on line{rows.length === 1 ? "" : "s"} <span data-testid={`${testid}-lines`}>{rows.map((b) => b.line).join(", ")}</span>
        {rows.length < total ? ` (the first ${rows.length} listed)` : ""}
      </summary>
      <table>
        <thead>
          <tr>
            <th className="num">line</th>
            <th>why</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((b, i) => (
            <tr key={i} data-testid={`${testid}-row`}>
              <td className="num">{b.line}</td>
              <td>{b.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function LatencyRow({ name, p }: { name: string; p: Percentiles }) {
  return (
    <tr data-testid={`latency-${name}`}>
      <td>{name}</td>
      <td className="num">{num(p.count)}</td>
      <td className="num">{msText(p.p50_ms)}</td>
      <td className="num">{msText(p.p95_ms)}</td>
      <td className="num">{msText(p.p99_ms)}</td>
      <td className="num">{msText(p.max_ms)}</td>
    </tr>
  );
}

/** One replay's figures. */
export function ReportView({ r, index }: { r: ReplayReport; index: number }) {
  return (
    <section data-testid="ql-report" data-label={r.label}>
      <h4>
        <span style={{ display: "inline-block", width: 10, height: 10, background: SERIES_COLORS[index % SERIES_COLORS.length], borderRadius: 2, marginRight: 6 }} />
        {r.label}
      </h4>
      <div data-testid="ql-report-rows">
        {plural(r.rows, "row")} read: {num(r.answered)} answered, {num(r.failed)} failed; {plural(r.bad_rows, "bad row")} skipped
      </div>
      <RowList rows={r.bad_row_list} total={r.bad_rows} what={`${plural(r.bad_rows, "bad row")} skipped`} testid="ql-bad-rows" />
      <RowList rows={r.errors} total={r.failed} what={`${plural(r.failed, "row")} failed`} testid="ql-failed-rows" />
      <div className="tiles" style={{ margin: "8px 0" }}>
        <div className="tile" data-testid="ql-report-hit-rate">
          <div className="tile-label">Hit rate</div>
          <div className="tile-value">{pct(r.hit_rate)}</div>
          <div className="tile-sub muted">
            {num(r.session_hits)} session + {num(r.semantic_hits)} semantic hits, {num(r.misses)} misses
          </div>
        </div>
        <div className={"tile" + (r.false_hits > 0 ? " tile-warn" : "")} data-testid="ql-report-false-hits">
          <div className="tile-label">False hits</div>
          <div className="tile-value">{pct(r.false_hit_rate)}</div>
          <div className="tile-sub muted">
            {r.hits_checked === 0
              ? "no hit had an expected answer to check"
              : `${num(r.false_hits)} of ${num(r.hits_checked)} hits with a known answer`}
          </div>
        </div>
        <div className="tile" data-testid="ql-report-model">
          <div className="tile-label">Model calls</div>
          <div className="tile-value">{num(r.model_calls)}</div>
          <div className="tile-sub muted">
            cost {usd(r.cost_usd)}, saved {usd(r.saved_usd)}
          </div>
        </div>
        <div className="tile" data-testid="ql-report-speed">
          <div className="tile-label">Duration</div>
          <div className="tile-value">{r.duration_s < 60 ? `${r.duration_s.toFixed(1)} s` : `${(r.duration_s / 60).toFixed(1)} min`}</div>
          <div className="tile-sub muted">{perSec(r.queries_per_second)} queries</div>
        </div>
      </div>
      <table data-testid="ql-report-latency">
        <thead>
          <tr>
            <th>latency</th>
            <th className="num">count</th>
            <th className="num">p50</th>
            <th className="num">p95</th>
            <th className="num">p99</th>
            <th className="num">max</th>
          </tr>
        </thead>
        <tbody>
          <LatencyRow name="hits" p={r.latency_hits} />
          <LatencyRow name="misses" p={r.latency_misses} />
          <LatencyRow name="all" p={r.latency_all} />
        </tbody>
      </table>
      {r.false_hit_examples.length > 0 && (
        <details data-testid="ql-false-hit-examples" open>
          <summary>False hits ({r.false_hit_examples.length} shown)</summary>
          <div className="scroll-x">
            <table>
              <thead>
                <tr>
                  <th className="num">line</th>
                  <th>query</th>
                  <th>served for</th>
                  <th>served</th>
                  <th>expected</th>
                </tr>
              </thead>
              <tbody>
                {r.false_hit_examples.map((f, i) => (
                  <tr key={i} data-testid="ql-false-hit">
                    <td className="num">{f.line}</td>
                    <td>{f.query}</td>
                    <td>{f.matched_query ?? <span className="muted">–</span>}</td>
                    <td>{f.served}</td>
                    <td>{f.expected}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </section>
  );
}

type Better = "higher" | "lower" | null;
interface Figure {
  key: string;
  label: string;
  of: (r: ReplayReport) => number | null;
  fmt: (v: number | null) => string;
  /** the difference's format (percentage points for rates) */
  diff: (d: number) => string;
  better: Better;
}

const signed = (s: string, d: number) => (d > 0 ? "+" : "") + s;
const count = (v: number | null) => num(v);
const rate = (v: number | null) => pct(v);
const ms = (v: number | null) => msText(v);
const FIGURES: Figure[] = [
  { key: "hit_rate", label: "hit rate", of: (r) => r.hit_rate, fmt: rate, diff: (d) => signed(`${(d * 100).toFixed(1)} pp`, d), better: "higher" },
  { key: "session_hits", label: "session hits", of: (r) => r.session_hits, fmt: count, diff: (d) => signed(num(d), d), better: null },
  { key: "semantic_hits", label: "semantic hits", of: (r) => r.semantic_hits, fmt: count, diff: (d) => signed(num(d), d), better: null },
  { key: "misses", label: "misses", of: (r) => r.misses, fmt: count, diff: (d) => signed(num(d), d), better: "lower" },
  { key: "false_hit_rate", label: "false-hit rate", of: (r) => r.false_hit_rate, fmt: rate, diff: (d) => signed(`${(d * 100).toFixed(1)} pp`, d), better: "lower" },
  { key: "false_hits", label: "false hits", of: (r) => r.false_hits, fmt: count, diff: (d) => signed(num(d), d), better: "lower" },
  { key: "p50_all", label: "latency p50 (all)", of: (r) => r.latency_all.p50_ms, fmt: ms, diff: (d) => signed(msText(d), d), better: "lower" },
  { key: "p95_all", label: "latency p95 (all)", of: (r) => r.latency_all.p95_ms, fmt: ms, diff: (d) => signed(msText(d), d), better: "lower" },
  { key: "p99_all", label: "latency p99 (all)", of: (r) => r.latency_all.p99_ms, fmt: ms, diff: (d) => signed(msText(d), d), better: "lower" },
  { key: "p99_hits", label: "latency p99 (hits)", of: (r) => r.latency_hits.p99_ms, fmt: ms, diff: (d) => signed(msText(d), d), better: "lower" },
  { key: "p99_misses", label: "latency p99 (misses)", of: (r) => r.latency_misses.p99_ms, fmt: ms, diff: (d) => signed(msText(d), d), better: "lower" },
  { key: "model_calls", label: "model calls", of: (r) => r.model_calls, fmt: count, diff: (d) => signed(num(d), d), better: "lower" },
  { key: "cost_usd", label: "cost", of: (r) => r.cost_usd, fmt: usd, diff: (d) => signed(usd(d), d), better: "lower" },
  { key: "saved_usd", label: "saved", of: (r) => r.saved_usd, fmt: usd, diff: (d) => signed(usd(d), d), better: "higher" },
  { key: "failed", label: "failed rows", of: (r) => r.failed, fmt: count, diff: (d) => signed(num(d), d), better: "lower" },
  { key: "duration_s", label: "duration", of: (r) => r.duration_s, fmt: (v) => (v === null ? "–" : `${v.toFixed(1)} s`), diff: (d) => signed(`${d.toFixed(Math.abs(d) < 10 ? 2 : 1)} s`, d), better: "lower" },
  { key: "qps", label: "queries/s", of: (r) => r.queries_per_second, fmt: (v) => perSec(v), diff: (d) => signed(`${num(d, 2)}/s`, d), better: "higher" },
];

/** Whether B's figure is better or worse than A's (or neither). */
export function verdict(better: Better, d: number | null): "better" | "worse" | "same" | "neutral" {
  if (d === null) return "neutral";
  if (Math.abs(d) < 1e-12) return "same";
  if (better === null) return "neutral";
  return (better === "higher") === d > 0 ? "better" : "worse";
}

const VERDICT_STYLE: Record<string, React.CSSProperties> = {
  better: { background: "#e7f6ec", color: "#1d5e33", fontWeight: 600 },
  worse: { background: "#fde8e8", color: "#8a1c1c", fontWeight: 600 },
  neutral: { fontWeight: 600 },
  same: { color: "#7a8494" },
};

/** Two reports figure by figure: B − A, green where B is better, red where it is worse. */
export function Comparison({ a, b }: { a: ReplayReport; b: ReplayReport }) {
  return (
    <div data-testid="ql-comparison" className="scroll-x">
      <h4>
        {b.label} compared with {a.label}
      </h4>
      <table>
        <thead>
          <tr>
            <th>figure</th>
            <th className="num">{a.label}</th>
            <th className="num">{b.label}</th>
            <th className="num">difference</th>
          </tr>
        </thead>
        <tbody>
          {FIGURES.map((f) => {
            const va = f.of(a);
            const vb = f.of(b);
            const d = va === null || vb === null ? null : vb - va;
            const v = verdict(f.better, d);
            return (
              <tr key={f.key} data-testid="cmp-row" data-figure={f.key}>
                <td>{f.label}</td>
                <td className="num">{f.fmt(va)}</td>
                <td className="num">{f.fmt(vb)}</td>
                <td className="num" data-testid="cmp-diff" data-verdict={v} style={VERDICT_STYLE[v]}>
                  {d === null ? "–" : Math.abs(d) < 1e-12 ? "same" : f.diff(d)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
