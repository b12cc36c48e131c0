import type { ApiError } from "../../bindings/ApiError";
import type { QueryStats } from "../../bindings/QueryStats";
import { pct } from "../../format";
import { ErrorBox } from "../Overview";
import { num } from "../monitor/common";
import { usd } from "./util";

/** Each level's hits and misses and the model's calls since the engine started (`query_stats`). */
export function StatsPanel({
  stats,
  error,
  loading,
  onRefresh,
}: {
  stats: QueryStats | null;
  error: ApiError | null;
  loading: boolean;
  onRefresh: () => void;
}) {
  const hits = stats ? stats.session_hits + stats.semantic_hits : 0;
  return (
    <section className="card wide" data-testid="ql-stats">
      <div className="toolbar">
        <h3 style={{ margin: 0 }}>Engine since start</h3>
        <button data-testid="ql-stats-refresh" onClick={onRefresh} disabled={loading}>
          Refresh
        </button>
      </div>
      {error && <ErrorBox error={error} />}
      {stats === null ? (
        !error && <div className="muted">loading…</div>
      ) : (
        <div className="tiles">
          <div className="tile" data-testid="ql-stat-queries">
            <div className="tile-label">Queries</div>
            <div className="tile-value">{num(stats.queries)}</div>
            <div className="tile-sub muted">hit rate {pct(stats.queries ? hits / stats.queries : null)}</div>
          </div>
          <div className="tile" data-testid="ql-stat-session">
            <div className="tile-label">Session cache</div>
            <div className="tile-value">
              {num(stats.session_hits)} hit{stats.session_hits === 1 ? "" : "s"}
            </div>
            <div className="tile-sub muted">{num(stats.session_entries)} entries</div>
          </div>
          <div className="tile" data-testid="ql-stat-results">
            <div className="tile-label">SQL results cache</div>
            <div className="tile-value">
              {num(stats.results.hits)} / {num(stats.results.misses)}
            </div>
            <div className="tile-sub muted">
              hits / misses; {num(stats.results.entries)} results, {num(stats.results.invalidated)} invalidated; schemas{" "}
              {num(stats.schemas.hits)} / {num(stats.schemas.misses)}
            </div>
          </div>
          <div className="tile" data-testid="ql-stat-semantic">
            <div className="tile-label">Semantic cache</div>
            <div className="tile-value">
              {num(stats.semantic_hits)} / {num(stats.semantic_misses)}
            </div>
            <div className="tile-sub muted">
              hits / misses{stats.uncached ? `; ${num(stats.uncached)} answered uncached (cache unreachable)` : ""}
            </div>
          </div>
          <div className={"tile" + (stats.model_errors ? " tile-warn" : "")} data-testid="ql-stat-model">
            <div className="tile-label">Model</div>
            <div className="tile-value">
              {num(stats.model_calls)} call{stats.model_calls === 1 ? "" : "s"}
            </div>
            <div className="tile-sub muted">
              {num(stats.model_errors)} errors, {num(stats.stale_answers)} stale answers
            </div>
          </div>
          <div className="tile" data-testid="ql-stat-tokens">
            <div className="tile-label">Tokens</div>
            <div className="tile-value">{num(stats.prompt_tokens + stats.completion_tokens)}</div>
            <div className="tile-sub muted">
              {num(stats.prompt_tokens)} prompt, {num(stats.completion_tokens)} completion
            </div>
          </div>
          <div className="tile" data-testid="ql-stat-cost">
            <div className="tile-label">Cost</div>
            <div className="tile-value">{usd(stats.cost_usd)}</div>
            <div className="tile-sub muted">saved {usd(stats.saved_usd)} by the caches</div>
          </div>
        </div>
      )}
    </section>
  );
}
