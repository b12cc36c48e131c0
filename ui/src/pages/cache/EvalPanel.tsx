import { useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { EvalReport } from "../../bindings/EvalReport";
import type { ServeCounts } from "../../bindings/ServeCounts";
import { call } from "../../platform";
import { pct } from "../../format";
import { ErrorBox } from "../Overview";
import { asError, readFileText, svgImageSource, truncate } from "./util";

const EXAMPLE = `{"a": "What was our total revenue in 2023?", "b": "total revenue for 2023", "same_answer": true, "category": "paraphrase"}
{"a": "What was our total revenue in 2023?", "b": "What was our total revenue in 2024?", "same_answer": false, "category": "date_change"}`;

function CountsRow({ label, c, testid }: { label: string; c: ServeCounts; testid: string }) {
  return (
    <tr data-testid={testid} data-category={label}>
      <td>{label}</td>
      <td className="num">{c.same_total}</td>
      <td className="num" title={`${c.same_served} of ${c.same_total} same-answer pairs served`}>
        {pct(c.same_served_rate)} <span className="muted">({c.same_served})</span>
      </td>
      <td className="num">{c.different_total}</td>
      <td className="num" title={`${c.different_served} of ${c.different_total} different-answer pairs served`}>
        {pct(c.false_hit_rate)} <span className="muted">({c.different_served})</span>
      </td>
      <td className="num">{c.false_hit_ci95 ? `${pct(c.false_hit_ci95[0])}–${pct(c.false_hit_ci95[1])}` : "–"}</td>
      <td className="num">{pct(c.precision)}</td>
    </tr>
  );
}

export function EvalResult({ report }: { report: EvalReport }) {
  const categories = Object.entries(report.by_category)
    .filter((e): e is [string, ServeCounts] => e[1] !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  const chart = svgImageSource(report.chart_svg);
  const suggested = report.suggested_threshold === null ? null : report.sweep.find((p) => p.threshold === report.suggested_threshold);
  const falseHits = report.details.filter((d) => d.served && !d.same_answer);
  const missed = report.details.filter((d) => !d.served && d.same_answer);
  return (
    <div data-testid="eval-result">
      <div>
        {report.pairs} pairs, model {report.model}, threshold {report.threshold.toFixed(2)}, candidate checks{" "}
        {report.verify_candidates ? "on" : "off"}
      </div>
      <table data-testid="eval-table">
        <thead>
          <tr>
            <th>category</th>
            <th className="num">same-answer pairs</th>
            <th className="num">served</th>
            <th className="num">different-answer pairs</th>
            <th className="num">false hits</th>
            <th className="num">false hits 95% CI</th>
            <th className="num">precision</th>
          </tr>
        </thead>
        <tbody>
          <CountsRow label="overall" c={report.overall} testid="eval-overall" />
          {categories.map(([name, c]) => (
            <CountsRow key={name} label={name} c={c} testid="eval-category" />
          ))}
        </tbody>
      </table>
      <div className="suggestion" data-testid="eval-suggested">
        {report.suggested_threshold === null ? (
          "No threshold in the sweep keeps verified false hits at or below 2%."
        ) : (
          <>
            Suggested threshold <b>{report.suggested_threshold.toFixed(2)}</b> (lowest with verified false hits ≤ 2%)
            {suggested && (
              <>
                : serves {pct(suggested.verified.same_served_rate)} of same-answer pairs, false hits{" "}
                {pct(suggested.verified.false_hit_rate)}
              </>
            )}
          </>
        )}
      </div>
      {chart ? (
        <img className="chart" data-testid="eval-chart" src={chart} alt="Served share and false hits against the threshold" />
      ) : (
        <div className="muted" data-testid="eval-no-chart">
          No chart for this run.
        </div>
      )}
      {report.sweep.length > 0 && (
        <details>
          <summary>Threshold sweep ({report.sweep.length} points)</summary>
          <table data-testid="eval-sweep">
            <thead>
              <tr>
                <th className="num">threshold</th>
                <th className="num">served (raw)</th>
                <th className="num">false hits (raw)</th>
                <th className="num">served (verified)</th>
                <th className="num">false hits (verified)</th>
                <th className="num">precision (verified)</th>
              </tr>
            </thead>
            <tbody>
              {report.sweep.map((p) => (
                <tr key={p.threshold} className={p.threshold === report.suggested_threshold ? "selected" : ""}>
                  <td className="num">{p.threshold.toFixed(2)}</td>
                  <td className="num">{pct(p.raw.same_served_rate)}</td>
                  <td className="num">{pct(p.raw.false_hit_rate)}</td>
                  <td className="num">{pct(p.verified.same_served_rate)}</td>
                  <td className="num">{pct(p.verified.false_hit_rate)}</td>
                  <td className="num">{pct(p.verified.precision)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      {(falseHits.length > 0 || missed.length > 0) && (
        <details data-testid="eval-mistakes">
          <summary>
            {falseHits.length} false hit{falseHits.length === 1 ? "" : "s"}, {missed.length} missed same-answer pair
            {missed.length === 1 ? "" : "s"} at {report.threshold.toFixed(2)}
          </summary>
          <table>
            <thead>
              <tr>
                <th>kind</th>
                <th>category</th>
                <th>a</th>
                <th>b</th>
                <th className="num">similarity</th>
                <th>check</th>
              </tr>
            </thead>
            <tbody>
              {[...falseHits.map((d) => ["false hit", d] as const), ...missed.map((d) => ["missed", d] as const)].map(([kind, d], i) => (
                <tr key={i}>
                  <td>{kind}</td>
                  <td>{d.category ?? "–"}</td>
                  <td title={d.a}>{truncate(d.a, 60)}</td>
                  <td title={d.b}>{truncate(d.b, 60)}</td>
                  <td className="num">{d.similarity.toFixed(3)}</td>
                  <td>{d.objection ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </div>
  );
}

/**
 * Measures the threshold on labelled pairs (JSONL or CSV with a, b, same_answer, category): what is
 * served, the false hits with their 95% interval, and a suggested threshold.
 */
export function EvalPanel({ defaultThreshold }: { defaultThreshold: number | null }) {
  const [content, setContent] = useState("");
  const [fileName, setFileName] = useState<string | null>(null);
  const [threshold, setThreshold] = useState("");
  const [verify, setVerify] = useState(true);
  const [running, setRunning] = useState(false);
  const [report, setReport] = useState<EvalReport | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const pick = (file: File | undefined) => {
    if (!file) return;
    readFileText(file)
      .then((text) => (setContent(text), setFileName(file.name), setError(null)))
      .catch((e) => setError(asError(e)));
  };

  // Empty means the threshold in force (the selected namespace's, else the defaults).
  const t = threshold.trim() === "" ? defaultThreshold : Number(threshold);
  const badThreshold = t !== null && (!Number.isFinite(t) || t < 0 || t > 1);
  const run = () => {
    setRunning(true);
    call("cache_eval", { content, threshold: t, verify_candidates: verify })
      .then((r) => (setReport(r), setError(null)))
      .catch((e) => setError(asError(e)))
      .finally(() => setRunning(false));
  };

  return (
    <div data-testid="eval-panel">
      <div className="toolbar">
        <label>
          Labelled pairs file{" "}
          <input type="file" accept=".jsonl,.csv" data-testid="eval-file" onChange={(e) => pick(e.target.files?.[0])} />
        </label>
        {fileName && <span className="muted" data-testid="eval-file-name">{fileName}</span>}
      </div>
      <textarea
        data-testid="eval-content"
        rows={6}
        value={content}
        onChange={(e) => (setContent(e.target.value), setFileName(null))}
        placeholder={`…or paste JSONL or CSV (a, b, same_answer, category), e.g.\n${EXAMPLE}`}
      />
      <div className="toolbar">
        <label>
          Threshold{" "}
          <input
            type="number"
            step="0.01"
            min={0}
            max={1}
            data-testid="eval-threshold"
            value={threshold}
            placeholder={defaultThreshold === null ? "default" : String(defaultThreshold)}
            onChange={(e) => setThreshold(e.target.value)}
          />
        </label>
        <label>
          <input type="checkbox" data-testid="eval-verify" checked={verify} onChange={(e) => setVerify(e.target.checked)} /> Verify candidates
        </label>
        <button data-testid="eval-run" disabled={running || !content.trim() || badThreshold} onClick={run}>
          {running ? "Running…" : "Run evaluation"}
        </button>
        {badThreshold && <span className="warn">The threshold must be between 0 and 1.</span>}
      </div>
      {error && <ErrorBox error={error} />}
      {report && <EvalResult report={report} />}
    </div>
  );
}
