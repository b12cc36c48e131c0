import { useEffect, useRef, useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { CacheSettings } from "../../bindings/CacheSettings";
import type { MissAnswers } from "../../bindings/MissAnswers";
import type { ReplayReport } from "../../bindings/ReplayReport";
import type { ReplayRequest } from "../../bindings/ReplayRequest";
import type { ReplaySetup } from "../../bindings/ReplaySetup";
import type { ReplaySpeed } from "../../bindings/ReplaySpeed";
import { call } from "../../platform";
import { ErrorBox } from "../Overview";
import { asError, readFileText } from "../cache/util";
import { num } from "../monitor/common";
import { HitRateChart } from "./HitRateChart";
import { Comparison, ReportView } from "./ReportView";
import { clock, logRows } from "./util";

/** The core's `CacheSettings::default()`, used only until `cache_stats` gives the engine's defaults. */
const CORE_DEFAULTS: CacheSettings = {
  similarity_threshold: 0.8,
  max_entries: 10000,
  ttl_seconds: 3600,
  refresh_ttl_on_hit: false,
  shadow_mode: false,
  verify_candidates: true,
  judge_min_score: 0.99,
  judge_floor: 0.6,
};
/** A judge minimum score above 1 turns the judge off (CacheSettings.judge_min_score). */
const JUDGE_OFF = 2;

/** One setup's form: the fields a comparison is about; the rest come from the engine's defaults. */
interface Draft {
  label: string;
  threshold: string;
  judge: boolean;
  ttl: string;
  maxEntries: string;
}

const draftOf = (s: CacheSettings, label: string): Draft => ({
  label,
  threshold: s.similarity_threshold.toFixed(2),
  judge: s.judge_min_score <= 1,
  ttl: String(s.ttl_seconds),
  maxEntries: String(s.max_entries),
});

/** The setup's cache settings, or what is wrong with the form. */
export function settingsOf(d: Draft, base: CacheSettings): { cache?: CacheSettings; problem: string | null } {
  const t = Number(d.threshold);
  if (d.threshold.trim() === "" || !Number.isFinite(t) || t < 0 || t > 1) return { problem: "the similarity threshold must be between 0 and 1" };
  const ttl = Number(d.ttl);
  if (d.ttl.trim() === "" || !Number.isInteger(ttl) || ttl < 0) return { problem: "the TTL must be a whole number of seconds (0: no expiry)" };
  const max = Number(d.maxEntries);
  if (!Number.isInteger(max) || max < 1) return { problem: "max entries must be a whole number, at least 1" };
  const judge_min_score = d.judge ? (base.judge_min_score <= 1 ? base.judge_min_score : CORE_DEFAULTS.judge_min_score) : JUDGE_OFF;
  return { cache: { ...base, similarity_threshold: t, ttl_seconds: ttl, max_entries: max, judge_min_score }, problem: null };
}

function SetupEditor({ d, onChange, name, disabled }: { d: Draft; onChange: (d: Draft) => void; name: "a" | "b"; disabled: boolean }) {
  const set = (patch: Partial<Draft>) => onChange({ ...d, ...patch });
  return (
    <fieldset data-testid={`ql-setup-${name}`} disabled={disabled} style={{ border: "1px solid #e4e8ee", borderRadius: 6 }}>
      <legend>Setup {name.toUpperCase()}</legend>
      <div className="form-grid">
        <label>
          Label <input data-testid={`ql-setup-${name}-label`} value={d.label} onChange={(e) => set({ label: e.target.value })} size={18} />
        </label>
        <label>
          Similarity threshold
          <input data-testid={`ql-setup-${name}-threshold`} type="number" min={0} max={1} step={0.01} value={d.threshold} onChange={(e) => set({ threshold: e.target.value })} />
        </label>
        <label title="the judge reads the query and a candidate together where the similarity alone cannot decide">
          <input data-testid={`ql-setup-${name}-judge`} type="checkbox" checked={d.judge} onChange={(e) => set({ judge: e.target.checked })} /> Judge on
        </label>
        <label>
          TTL seconds
          <input data-testid={`ql-setup-${name}-ttl`} type="number" min={0} value={d.ttl} onChange={(e) => set({ ttl: e.target.value })} />
        </label>
        <label>
          Max entries
          <input data-testid={`ql-setup-${name}-max-entries`} type="number" min={1} value={d.maxEntries} onChange={(e) => set({ maxEntries: e.target.value })} />
        </label>
      </div>
    </fieldset>
  );
}

/**
 * Replays a query log under one setup or two side by side (each on a fresh temporary store) and
 * shows the reports, the comparison and the hit-rate chart. A replay can take minutes: the form
 * is locked and a second run refused until it ends.
 */
export function ReplayPanel({ onBusy }: { onBusy?: (busy: boolean) => void }) {
  const [base, setBase] = useState<CacheSettings>(CORE_DEFAULTS);
  const [file, setFile] = useState<{ name: string; text: string } | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [format, setFormat] = useState<"auto" | "csv" | "jsonl">("auto");
  const [speed, setSpeed] = useState<"max" | "recorded">("max");
  const [factor, setFactor] = useState("1");
  const [missAnswers, setMissAnswers] = useState<MissAnswers>("model");
  const [compare, setCompare] = useState(false);
  const [a, setA] = useState<Draft>(draftOf(CORE_DEFAULTS, "current"));
  const [b, setB] = useState<Draft>({ ...draftOf(CORE_DEFAULTS, "threshold 0.90"), threshold: "0.90" });
  const touched = useRef(false);
  const [reports, setReports] = useState<ReplayReport[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [elapsed, setElapsed] = useState(0);
  const running = useRef(false);
  const live = useRef(true);

  // The engine's default cache settings are the starting point of both setups.
  useEffect(() => {
    live.current = true;
    call("cache_stats", {})
      .then((s) => {
        if (!live.current) return;
        setBase(s.defaults);
        if (!touched.current) {
          setA(draftOf(s.defaults, "current"));
          const t = Math.min(1, s.defaults.similarity_threshold + 0.05).toFixed(2);
          setB({ ...draftOf(s.defaults, `threshold ${t}`), threshold: t });
        }
      })
      .catch(() => {});
    return () => {
      live.current = false;
    };
  }, []);

  useEffect(() => {
    if (!busy) return;
    const started = Date.now();
    setElapsed(0);
    const t = setInterval(() => setElapsed((Date.now() - started) / 1000), 1000);
    return () => clearInterval(t);
  }, [busy]);

  const editA = (d: Draft) => ((touched.current = true), setA(d));
  const editB = (d: Draft) => ((touched.current = true), setB(d));

  const pick = (f: File | undefined) => {
    setFileError(null);
    setFile(null);
    if (!f) return;
    readFileText(f)
      .then((text) => {
        if (!live.current) return;
        if (text.trim() === "") setFileError(`${f.name} is empty.`);
        else setFile({ name: f.name, text });
        if (format === "auto" && /\.jsonl?$/i.test(f.name)) setFormat("jsonl");
        else if (format === "auto" && /\.csv$/i.test(f.name)) setFormat("csv");
      })
      .catch((e) => live.current && setFileError(`${f.name} could not be read: ${e instanceof Error ? e.message : String(e)}`));
  };

  const drafts = compare ? [a, b] : [a];
  const built = drafts.map((d) => settingsOf(d, base));
  const factorNum = Number(factor);
  const problem =
    built.map((s, i) => (s.problem ? `Setup ${"AB"[i]}: ${s.problem}.` : null)).find((p) => p) ??
    (drafts.some((d) => d.label.trim() === "") ? "Each setup needs a label." : null) ??
    (compare && a.label.trim() === b.label.trim() ? "The two setups need different labels." : null) ??
    (speed === "recorded" && !(Number.isFinite(factorNum) && factorNum > 0) ? "The speed factor must be a number above 0 (2 = twice as fast)." : null);
  const canRun = !busy && file !== null && problem === null;

  const run = () => {
    if (running.current || !canRun || !file) return;
    const replaySpeed: ReplaySpeed = speed === "max" ? "max" : { recorded: { factor: factorNum } };
    const setups: ReplaySetup[] = drafts.map((d, i) => ({ label: d.label.trim(), cache: built[i].cache, speed: replaySpeed, miss_answers: missAnswers }));
    const req: ReplayRequest = { log: file.text, setups };
    if (format !== "auto") req.jsonl = format === "jsonl";
    running.current = true;
    setBusy(true);
    onBusy?.(true);
    call("replay", req)
      .then((rs) => live.current && (setReports(rs), setError(null)))
      .catch((e) => live.current && (setError(asError(e)), setReports(null)))
      .finally(() => {
        running.current = false;
        if (live.current) setBusy(false);
        onBusy?.(false);
      });
  };

  const rows = file ? logRows(file.text) : 0;
  return (
    <section className="card wide" data-testid="ql-replay-card">
      <h3>Replay a query log</h3>
      <div className="toolbar" style={{ flexWrap: "wrap" }}>
        <label>
          Log file{" "}
          <input data-testid="ql-replay-file" type="file" accept=".csv,.jsonl,.json,.txt,text/csv" disabled={busy} onChange={(e) => pick(e.target.files?.[0])} />
        </label>
        <label>
          Format{" "}
          <select data-testid="ql-replay-format" value={format} disabled={busy} onChange={(e) => setFormat(e.target.value as typeof format)}>
            <option value="auto">guess</option>
            <option value="csv">CSV</option>
            <option value="jsonl">JSON Lines</option>
          </select>
        </label>
        {file && (
          <span className="muted" data-testid="ql-replay-file-info">
            {file.name}: {num(rows)} rows
          </span>
        )}
      </div>
      <p className="muted" style={{ marginTop: 0 }}>
        CSV with a header <code>user,item,query,timestamp,expected_answer</code> (only <code>query</code> is required), or JSON Lines with the same fields.
        Bad rows are reported with their line numbers and the rest replayed.
      </p>
      {fileError && <div className="error" data-testid="ql-replay-file-error">{fileError}</div>}
      <div className="toolbar" style={{ flexWrap: "wrap" }}>
        <label>
          Speed{" "}
          <select data-testid="ql-replay-speed" value={speed} disabled={busy} onChange={(e) => setSpeed(e.target.value as typeof speed)}>
            <option value="max">as fast as possible</option>
            <option value="recorded">at the recorded pace</option>
          </select>
        </label>
        {speed === "recorded" && (
          <label title="2 = twice as fast as recorded">
            × <input data-testid="ql-replay-factor" type="number" min={0.01} step={0.5} value={factor} disabled={busy} onChange={(e) => setFactor(e.target.value)} style={{ width: 60 }} />
          </label>
        )}
        <label>
          Misses answered by{" "}
          <select data-testid="ql-replay-miss-answers" value={missAnswers} disabled={busy} onChange={(e) => setMissAnswers(e.target.value as MissAnswers)}>
            <option value="model">the model</option>
            <option value="log">the log's expected answers</option>
          </select>
        </label>
        <label>
          <input type="checkbox" data-testid="ql-replay-compare" checked={compare} disabled={busy} onChange={(e) => setCompare(e.target.checked)} /> Compare two setups
        </label>
      </div>
      <div className="ns-columns">
        <SetupEditor d={a} onChange={editA} name="a" disabled={busy} />
        {compare && <SetupEditor d={b} onChange={editB} name="b" disabled={busy} />}
      </div>
      {problem && <div className="error warning" data-testid="ql-replay-problem">{problem}</div>}
      <div className="toolbar" style={{ marginTop: 8 }}>
        <button data-testid="ql-replay-run" onClick={run} disabled={!canRun}>
          {busy ? "Replaying…" : compare ? "Replay under both setups" : "Replay"}
        </button>
        {busy && (
          <span data-testid="ql-replay-busy">
            <progress data-testid="ql-replay-progress" style={{ verticalAlign: "middle" }} /> replaying {num(rows)} rows
            {compare ? " under 2 setups" : ""}, {clock(elapsed)} so far (each setup on a fresh store; this can take minutes)
          </span>
        )}
      </div>
      {error && (
        <div data-testid="ql-replay-error">
          <ErrorBox error={error} />
        </div>
      )}
      {reports && reports.length > 0 && (
        <div data-testid="ql-replay-reports">
          <div className="ns-columns">
            {reports.map((r, i) => (
              <ReportView key={i} r={r} index={i} />
            ))}
          </div>
          {reports.length === 2 && <Comparison a={reports[0]} b={reports[1]} />}
          <HitRateChart reports={reports} />
        </div>
      )}
    </section>
  );
}
