import type { QueryAnswer } from "../../bindings/QueryAnswer";
import type { QueryTimings } from "../../bindings/QueryTimings";
import { num } from "../monitor/common";
import { duration } from "../cache/util";
import { msText, SOURCE_LABEL, usd } from "./util";

const SEGMENTS: { key: string; label: string; color: string; of: (t: QueryTimings) => number }[] = [
  { key: "session", label: "session", color: "#8e44ad", of: (t) => t.session_ms },
  { key: "embed", label: "embed", color: "#2747a5", of: (t) => t.embed_ms },
  { key: "search", label: "search", color: "#16a085", of: (t) => t.search_ms },
  { key: "judge", label: "judge", color: "#e0a800", of: (t) => t.judge_ms },
  // The lookup's time beyond embedding, search and judge: the checks, a model loaded on first use.
  {
    key: "lookup-other",
    label: "lookup, other",
    color: "#aab6c8",
    of: (t) => Math.max(0, t.lookup_ms - t.embed_ms - t.search_ms - t.judge_ms),
  },
  { key: "model", label: "model", color: "#c0392b", of: (t) => t.model_ms },
  { key: "store", label: "store", color: "#27ae60", of: (t) => t.store_ms },
];

/** Where the answer's time went: one horizontal bar, a segment per step, and the figures. */
export function TimingBar({ t }: { t: QueryTimings }) {
  const parts = SEGMENTS.map((s) => ({ ...s, ms: s.of(t) }));
  const sum = parts.reduce((a, p) => a + p.ms, 0);
  const other = Math.max(0, t.total_ms - sum);
  const scale = Math.max(t.total_ms, sum) || 1;
  return (
    <div data-testid="timing">
      <div
        data-testid="timing-bar"
        style={{ display: "flex", height: 16, width: "100%", maxWidth: 720, background: "#e4e8ee", borderRadius: 4, overflow: "hidden" }}
      >
        {parts
          .filter((p) => p.ms > 0)
          .map((p) => (
            <span
              key={p.key}
              data-testid={`timing-seg-${p.key}`}
              title={`${p.label} ${msText(p.ms)}`}
              style={{ width: `${(p.ms / scale) * 100}%`, minWidth: 2, background: p.color }}
            />
          ))}
        {other > 0 && <span data-testid="timing-seg-other" title={`other ${msText(other)}`} style={{ width: `${(other / scale) * 100}%` }} />}
      </div>
      <div className="muted" data-testid="timing-legend" style={{ display: "flex", flexWrap: "wrap", gap: "2px 12px", fontSize: 12, marginTop: 4 }}>
        {parts.map((p) => (
          <span key={p.key} data-testid={`timing-${p.key}`}>
            <span style={{ display: "inline-block", width: 10, height: 10, background: p.color, borderRadius: 2, marginRight: 4 }} />
            {p.label} {msText(p.ms)}
          </span>
        ))}
        <b data-testid="timing-total">total {msText(t.total_ms)}</b>
      </div>
    </div>
  );
}

/** One answer and its whole decision trace. */
export function Trace({ a }: { a: QueryAnswer }) {
  const outcome = a.outcome;
  const l = a.lookup;
  return (
    <div data-testid="ql-result">
      <div className="toolbar">
        <span className={`badge ${outcome === "hit" ? "sev-info" : "sev-warning"}`} data-testid="ql-outcome" style={{ fontSize: 13 }}>
          {outcome.toUpperCase()}
        </span>
        <span data-testid="ql-source">
          answered by the <b>{SOURCE_LABEL[a.source]}</b>
        </span>
        <span className="muted" data-testid="ql-model">
          {a.model}
          {a.finish_reason ? ` (finish: ${a.finish_reason})` : ""}
        </span>
      </div>
      {a.stale_because !== null && (
        <div className="error warning" data-testid="ql-stale">
          Stale answer: the model could not answer ({a.stale_because}); an expired session answer was served, as allowed.
        </div>
      )}
      <table className="kv">
        <tbody>
          <tr>
            <th>Answer</th>
            <td>
              <pre data-testid="ql-answer">{a.answer}</pre>
            </td>
          </tr>
          <tr>
            <th>Semantic cache</th>
            <td data-testid="ql-lookup">
              {l === null ? (
                <span className="muted">
                  {a.source === "session_cache" || a.source === "stale_session_cache"
                    ? "not asked: the session cache answered"
                    : "not asked: the caches were bypassed or unavailable"}
                </span>
              ) : l.outcome === "hit" ? (
                <>
                  hit at similarity <b data-testid="ql-similarity">{l.similarity.toFixed(3)}</b> with “<span data-testid="ql-matched">{l.matched_query}</span>”
                  <span className="muted">
                    {" "}
                    (entry {l.entry_id}, {duration(l.entry_age_ms)} old)
                  </span>
                </>
              ) : (
                <>
                  miss: <span data-testid="ql-miss-reason">{l.reason}</span>
                  {l.best_similarity !== null && <span className="muted"> (best candidate {l.best_similarity.toFixed(3)})</span>}
                  {l.shadow_hit !== null && <div className="muted">shadow mode would have served: {l.shadow_hit}</div>}
                </>
              )}
              {l !== null && (
                <div className="muted">
                  namespace <code data-testid="ql-namespace">{l.namespace}</code>
                </div>
              )}
            </td>
          </tr>
          <tr>
            <th>Time</th>
            <td>
              <TimingBar t={a.timings} />
            </td>
          </tr>
          <tr>
            <th>Tokens, cost</th>
            <td data-testid="ql-cost">
              {num(a.cost.prompt_tokens)} prompt + {num(a.cost.completion_tokens)} completion tokens
              {a.cost.estimated ? " (estimated)" : ""}, cost {usd(a.cost.cost_usd)}
              {outcome === "hit" && <>, saved {usd(a.cost.saved_usd)}</>}
            </td>
          </tr>
          <tr>
            <th>Cached</th>
            <td data-testid="ql-cached">
              {a.cached ? (
                "yes: the answer is in the caches"
              ) : (
                <span className="warn">not cached{a.not_cached_reason ? `: ${a.not_cached_reason}` : ""}</span>
              )}
            </td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}
