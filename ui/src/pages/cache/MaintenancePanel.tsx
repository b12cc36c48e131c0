import { useEffect, useRef, useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { CleanupReport } from "../../bindings/CleanupReport";
import type { JobView } from "../../bindings/JobView";
import type { NamespaceStats } from "../../bindings/NamespaceStats";
import type { WarmPair } from "../../bindings/WarmPair";
import { call } from "../../platform";
import { ErrorBox } from "../Overview";
import { asError, type Confirm, scopeOf } from "./util";

/** JSONL lines of {"query", "response"}; throws with the line number on the first bad one. */
export function parseWarmPairs(text: string): WarmPair[] {
  const out: WarmPair[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`line ${i + 1} is not JSON`);
    }
    const o = v as Partial<WarmPair> | null;
    if (!o || typeof o.query !== "string" || typeof o.response !== "string" || !o.query.trim())
      throw new Error(`line ${i + 1}: expected {"query": "…", "response": "…"}`);
    out.push({ query: o.query, response: o.response });
  });
  return out;
}

/** Cleanup (expired entries, then over-cap ones) and warming a namespace from popular queries. */
export function MaintenancePanel({
  ns,
  confirm,
  onChanged,
  pollMs = 1000,
}: {
  ns: NamespaceStats | null;
  confirm: Confirm;
  onChanged: () => void;
  pollMs?: number;
}) {
  const [error, setError] = useState<ApiError | null>(null);
  const [cleanup, setCleanup] = useState<CleanupReport | null>(null);
  const [busy, setBusy] = useState(false);
  const [pairs, setPairs] = useState("");
  const [job, setJob] = useState<JobView | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      if (timer.current) clearTimeout(timer.current);
    };
  }, []);

  const runCleanup = () => {
    if (!confirm("Clean up the cache: delete expired entries, then the least recently used beyond each namespace's max entries?")) return;
    setBusy(true);
    call("cache_cleanup", {})
      .then((r) => (setCleanup(r), setError(null), onChanged()))
      .catch((e) => setError(asError(e)))
      .finally(() => setBusy(false));
  };

  const poll = (id: number) => {
    call("job_status", { id })
      .then((j) => {
        if (!mounted.current) return;
        setJob(j);
        if (j.state === "running") timer.current = setTimeout(() => poll(id), pollMs);
        else onChanged();
      })
      .catch((e) => setError(asError(e)));
  };

  const warm = () => {
    if (!ns) return;
    let list: WarmPair[];
    try {
      list = parseWarmPairs(pairs);
    } catch (e) {
      setError({ code: "invalid_input", message: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (list.length === 0) return setError({ code: "invalid_input", message: "no pairs to warm the cache with" });
    if (!confirm(`Store up to ${list.length} answers in namespace ${ns.id} (queries already cached are skipped)?`)) return;
    call("cache_warm", { scope: scopeOf(ns), pairs: list })
      .then((id) => (setError(null), setJob({ id: id.id, kind: "cache warm-up", total: list.length, done: 0, state: "running", message: null }), poll(id.id)))
      .catch((e) => setError(asError(e)));
  };

  const running = job?.state === "running";
  return (
    <div data-testid="maintenance-panel">
      <div className="toolbar">
        <button data-testid="cache-cleanup" disabled={busy} onClick={runCleanup}>
          Clean up now
        </button>
        {cleanup && (
          <span data-testid="cleanup-result">
            Removed {cleanup.expired_removed} expired, {cleanup.evicted_for_cap} over the cap.
          </span>
        )}
      </div>
      <h4>Warm {ns ? <code>{ns.id}</code> : "a namespace"}</h4>
      {ns ? (
        <>
          <textarea
            data-testid="warm-pairs"
            rows={3}
            value={pairs}
            onChange={(e) => setPairs(e.target.value)}
            placeholder={'One JSON object a line: {"query": "…", "response": "…"}'}
          />
          <div className="toolbar">
            <button data-testid="warm-start" disabled={running || !pairs.trim()} onClick={warm}>
              Warm
            </button>
            {job && (
              <span data-testid="warm-job">
                <progress max={Math.max(1, job.total)} value={job.done} /> {job.done}/{job.total} {job.state}
                {job.message && `: ${job.message}`}
              </span>
            )}
          </div>
        </>
      ) : (
        <div className="muted">Select a namespace to warm it.</div>
      )}
      {error && <ErrorBox error={error} />}
    </div>
  );
}
