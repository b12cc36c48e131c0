import { useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { CacheSettings } from "../../bindings/CacheSettings";
import type { EvalReport } from "../../bindings/EvalReport";
import type { PairResult } from "../../bindings/PairResult";
import type { ServeCounts } from "../../bindings/ServeCounts";
import { call } from "../../platform";
import { pct } from "../../format";
import { ErrorBox } from "../Overview";
import { asError, readFileText, svgImageSource, truncate } from "./util";

const EXAMPLE = `{"a": "What was our total revenue in 2023?", "b": "total revenue for 2023", "same_answer": true, "category": "paraphrase"}
{"a": "What was our total revenue in 2023?", "b": "What was our total revenue in 2024?", "same_answer": false, "category": "date_change"}`;

/** A threshold-like figure: two decimals, more only where they matter. */
const fig = (v: number) => (Math.abs(v - Number(v.toFixed(2))) < 1e-6 ? v.toFixed(2) : String(Number(v.toFixed(4))));

/**
 * Whether the judge decides the pair at the report's threshold (as `cache::decide`): at or above
 * the threshold when the only objection is about wording, or between the floor and the threshold
 * when no check objects to a fact.
 */
export function judgeDecides(report: EvalReport, d: PairResult): boolean {
  if (report.judge_min_score === null || d.judge === null) return false;
  if (d.objection !== null && !d.objection_about_wording) return false;
  const floor = Math.min(report.judge_floor ?? report.threshold, report.threshold);
  return d.similarity >= floor && (d.objection !== null || d.similarity < report.threshold);
}

/** Served only because the judge vouched for it: despite an objection, or below the threshold. */
export const servedByJudge = (report: EvalReport, d: PairResult) =>
  d.served && (d.objection !== null || d.similarity < report.threshold);

/** The judge's score for a pair and what it did at the report's threshold ("" when it did not read it). */
export function judgeText(report: EvalReport, d: PairResult): string {
  if (d.judge === null) return "";
  const score = `judge ${d.judge.toFixed(3)}`;
  if (servedByJudge(report, d)) return `${score} — served by the judge`;
  if (judgeDecides(report, d) && report.judge_min_score !== null) return `${score} — below ${fig(report.judge_min_score)}`;
  return score;
}

/** The judge's settings in a report: "judge: score ≥ 0.99, reads down to 0.60", or "judge off". */
export function judgeSettingsText(report: EvalReport): string {
  if (report.judge_min_score === null) return "judge off";
  const floor =
    report.judge_floor !== null && report.judge_floor < report.threshold
      ? `reads down to ${fig(report.judge_floor)}`
      : "reads nothing below the threshold";
  return `judge: score ≥ ${fig(report.judge_min_score)}, ${floor}`;
}

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
  const decided = report.details.filter((d) => judgeDecides(report, d));
  const vouched = report.details.filter((d) => servedByJudge(report, d));
  const at = report.threshold.toFixed(2);
  const floor = report.judge_floor !== null && report.judge_floor < report.threshold ? fig(report.judge_floor) : null;
  return (
    <div data-testid="eval-result">
      <div>
        {report.pairs} pairs, model {report.model}, threshold {report.threshold.toFixed(2)}, candidate checks{" "}
        {report.verify_candidates ? "on" : "off"}, <span data-testid="eval-judge-settings">{judgeSettingsText(report)}</span>
      </div>
      {report.judge_problem && (
        <ErrorBox warning error={{ code: "missing_resource", message: `the judge could not load, the checks decided alone: ${report.judge_problem}` }} />
      )}
      {report.judge_min_score !== null && (
        <div data-testid="eval-judge-summary">
          At {at} the judge decided {decided.length} pair{decided.length === 1 ? "" : "s"} (where the only objection is about wording
          {floor === null ? "" : `, or the similarity is between ${floor} and ${at} and no check objects to a fact`}) and served{" "}
          {vouched.length} of them with a score ≥ {fig(report.judge_min_score)} ({vouched.filter((d) => !d.same_answer).length}{" "}
          different-answer)
        </div>
      )}
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
      {report.by_rule.length > 0 && (
        <details data-testid="eval-rules">
          <summary>Refusals by rule ({report.by_rule.length} rules)</summary>
          <table>
            <thead>
              <tr>
                <th>rule</th>
                <th className="num" title="same-answer pairs it refused">cost</th>
                <th className="num" title="traps it refused">caught</th>
                <th className="num" title="pairs it objected to that the judge served">overruled</th>
                <th>judge may overrule</th>
              </tr>
            </thead>
            <tbody>
              {report.by_rule.map((r) => (
                <tr key={r.rule} data-testid="eval-rule">
                  <td>{r.rule}</td>
                  <td className="num">{r.same_refused}</td>
                  <td className="num">{r.traps_caught}</td>
                  <td className="num">{r.overruled}</td>
                  <td>{r.judge_may_overrule ? "yes" : "no"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
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
                <th>judge</th>
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
                  <td data-testid="eval-judge">{judgeText(report, d)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </div>
  );
}

/** A labelled number input (step 0.01) holding its text as typed. */
function NumberField(props: {
  label: string;
  title?: string;
  min: number;
  max: number;
  testId: string;
  value: string;
  placeholder: string;
  onChange: (value: string) => void;
}) {
  const { label, title, min, max, testId, value, placeholder, onChange } = props;
  return (
    <label title={title}>
      {label}{" "}
      <input
        type="number"
        step="0.01"
        min={min}
        max={max}
        data-testid={testId}
        value={value}
        placeholder={placeholder}
        onChange={(e) => onChange(e.target.value)}
      />
    </label>
  );
}

/**
 * Measures the threshold on labelled pairs (JSONL or CSV with a, b, same_answer, category): what is
 * served, the false hits with their 95% interval, and a suggested threshold.
 */
export function EvalPanel({ settings }: { settings: CacheSettings | null }) {
  const [content, setContent] = useState("");
  const [fileName, setFileName] = useState<string | null>(null);
  const [threshold, setThreshold] = useState("");
  const [verify, setVerify] = useState(true);
  const [minScore, setMinScore] = useState("");
  const [floor, setFloor] = useState("");
  const [running, setRunning] = useState(false);
  const [report, setReport] = useState<EvalReport | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const pick = (file: File | undefined) => {
    if (!file) return;
    readFileText(file)
      .then((text) => (setContent(text), setFileName(file.name), setError(null)))
      .catch((e) => setError(asError(e)));
  };

  // Empty means the value in force (the selected namespace's settings, else the defaults).
  const value = (text: string, inForce: number | null) => (text.trim() === "" ? inForce : Number(text));
  const outside = (v: number | null, max: number) => v !== null && (!Number.isFinite(v) || v < 0 || v > max);
  const t = value(threshold, settings?.similarity_threshold ?? null);
  const badThreshold = outside(t, 1);
  // Above 1 (up to 2) turns the judge off.
  const judgeMinScore = value(minScore, settings?.judge_min_score ?? null);
  const badMinScore = outside(judgeMinScore, 2);
  const judgeFloor = value(floor, settings?.judge_floor ?? null);
  const badFloor = outside(judgeFloor, 1);
  const run = () => {
    setRunning(true);
    call("cache_eval", { content, threshold: t, verify_candidates: verify, judge_min_score: judgeMinScore, judge_floor: judgeFloor })
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
        <NumberField
          label="Threshold"
          min={0}
          max={1}
          testId="eval-threshold"
          value={threshold}
          placeholder={settings === null ? "default" : String(settings.similarity_threshold)}
          onChange={setThreshold}
        />
        <label>
          <input type="checkbox" data-testid="eval-verify" checked={verify} onChange={(e) => setVerify(e.target.checked)} /> Verify candidates
        </label>
        <NumberField
          label="Judge min score"
          title="The judge's score (0–1) a candidate needs where the judge decides; above 1 (up to 2) turns the judge off."
          min={0}
          max={2}
          testId="eval-judge-min-score"
          value={minScore}
          placeholder={settings === null ? "default" : String(settings.judge_min_score)}
          onChange={setMinScore}
        />
        <NumberField
          label="Judge floor"
          title="The lowest similarity the judge reads (0–1): between it and the threshold a candidate is served only when the judge vouches for it."
          min={0}
          max={1}
          testId="eval-judge-floor"
          value={floor}
          placeholder={settings === null ? "default" : String(settings.judge_floor)}
          onChange={setFloor}
        />
        <button data-testid="eval-run" disabled={running || !content.trim() || badThreshold || badMinScore || badFloor} onClick={run}>
          {running ? "Running…" : "Run evaluation"}
        </button>
        {badThreshold && <span className="warn">The threshold must be between 0 and 1.</span>}
        {badMinScore && <span className="warn">The judge's min score must be between 0 and 2 (above 1 turns the judge off).</span>}
        {badFloor && <span className="warn">The judge's floor must be between 0 and 1.</span>}
      </div>
      {error && <ErrorBox error={error} />}
      {report && <EvalResult report={report} />}
    </div>
  );
}
