import { useEffect, useState } from "react";
import type { StatusReport } from "../bindings/StatusReport";
import type { ApiError } from "../bindings/ApiError";
import { call, CallError } from "../platform";
import { bytes, ms, pct } from "../format";

/** An error (red), or with `warning` something degraded that still works (amber). */
export function ErrorBox({ error, warning = false }: { error: ApiError; warning?: boolean }) {
  return (
    <div className={warning ? "error warning" : "error"} data-testid={warning ? "warning-box" : "error-box"}>
      <b>{error.code}</b>: {error.message}
    </div>
  );
}

export function OverviewView({ report }: { report: StatusReport }) {
  const h = report.host;
  const e = report.engine;
  return (
    <div className="cards">
      <section className="card">
        <h3>Host</h3>
        <div data-testid="host-cpu">CPU {h.cpu_percent.toFixed(1)}% of {h.cpu_count} cores</div>
        <div data-testid="host-memory">
          Memory {bytes(h.memory_used_bytes)} / {bytes(h.memory_total_bytes)}
        </div>
        <div>Load {h.load_average_1m.toFixed(2)}, this process {bytes(h.process_rss_bytes)}</div>
      </section>
      <section className="card" data-testid="engine-card">
        <h3>Local engine</h3>
        {e.embedding_model_problem && <ErrorBox error={{ code: "missing_resource", message: e.embedding_model_problem }} />}
        <div>{e.embedding_model} ({e.embedding_model_ready ? "ready" : "not ready"}), {e.storage} store</div>
        <div data-testid="judge-status">
          Judge {e.judge_ready ? "ready" : e.judge_problem ? "off: the candidate checks decide alone" : "not loaded"}
        </div>
        {e.judge_problem && <ErrorBox warning error={{ code: "missing_resource", message: e.judge_problem }} />}
        <div>
          {e.entries} entries in {e.namespaces} namespaces, hit rate {pct(e.hit_rate)}, lookup p99{" "}
          {e.lookup_p99_us === null ? "–" : `${e.lookup_p99_us.toFixed(0)} µs`}
        </div>
      </section>
      <section className="card" data-testid="redis-card">
        <h3>Redis</h3>
        {report.redis.state === "ok" && (
          <>
            <div data-testid="redis-used-memory">
              Memory {bytes(report.redis.data.used_memory_bytes)} /{" "}
              {report.redis.data.maxmemory_bytes === 0 ? "no limit" : bytes(report.redis.data.maxmemory_bytes)} (
              {report.redis.data.maxmemory_policy})
            </div>
            <div data-testid="redis-hit-rate">
              Hit rate {pct(report.redis.data.hit_rate_lifetime)} lifetime, {pct(report.redis.data.hit_rate_interval)} over the
              interval
            </div>
            <div data-testid="redis-keys">
              {report.redis.data.keys_total} keys, {report.redis.data.evicted_keys} evicted, {report.redis.data.expired_keys} expired,{" "}
              {report.redis.data.connected_clients} clients, Redis {report.redis.data.version}
            </div>
          </>
        )}
        {report.redis.state === "error" && <ErrorBox error={report.redis.error} />}
        {report.redis.state === "not_configured" && <div className="muted">Not configured for this profile.</div>}
      </section>
      <section className="card wide" data-testid="postgres-card">
        <h3>PostgreSQL</h3>
        {report.postgres.state === "ok" && (
          <>
            <div>
              {report.postgres.data.version}, {report.postgres.data.connections}/{report.postgres.data.max_connections} connections,
              cache hit {pct(report.postgres.data.cache_hit_ratio)}, size {bytes(report.postgres.data.database_size_bytes)}
            </div>
            {report.postgres.data.statements_unavailable && (
              <ErrorBox error={{ code: "refused", message: report.postgres.data.statements_unavailable }} />
            )}
            <table data-testid="pg-statements">
              <thead>
                <tr>
                  <th>query</th>
                  <th>calls</th>
                  <th>mean ms</th>
                  <th>plan ms</th>
                  <th>total ms</th>
                  <th>rows</th>
                  <th>hit</th>
                </tr>
              </thead>
              <tbody>
                {report.postgres.data.top_statements.map((s) => (
                  <tr key={s.queryid}>
                    <td title={s.query}>{s.query.length > 90 ? s.query.slice(0, 90) + "…" : s.query}</td>
                    <td>{s.calls}</td>
                    <td>{ms(s.mean_exec_ms)}</td>
                    <td>{ms(s.mean_plan_ms)}</td>
                    <td>{ms(s.total_ms)}</td>
                    <td>{s.rows}</td>
                    <td>{pct(s.cache_hit_ratio)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
        {report.postgres.state === "error" && <ErrorBox error={report.postgres.error} />}
        {report.postgres.state === "not_configured" && <div className="muted">Not configured for this profile.</div>}
      </section>
    </div>
  );
}

export function Overview({ profile }: { profile: string }) {
  const [report, setReport] = useState<StatusReport | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [every, setEvery] = useState(5);
  useEffect(() => {
    let live = true;
    const load = () =>
      call("status", { profile, top_statements: 10 })
        .then((r) => live && (setReport(r), setError(null)))
        .catch((e) => live && setError(e instanceof CallError ? e.error : { code: "internal", message: String(e) }));
    load();
    const t = setInterval(load, every * 1000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [profile, every]);
  return (
    <div>
      <div className="toolbar">
        <label>
          Refresh every{" "}
          <select data-testid="refresh-interval" value={every} onChange={(e) => setEvery(Number(e.target.value))}>
            {[2, 5, 10, 30].map((s) => (
              <option key={s} value={s}>
                {s} s
              </option>
            ))}
          </select>
        </label>
        <span data-testid="last-updated">{report ? `updated ${new Date(report.collected_at).toLocaleTimeString()}` : "loading…"}</span>
      </div>
      {error && <ErrorBox error={error} />}
      {report && <OverviewView report={report} />}
    </div>
  );
}
