import { useState, type ReactNode } from "react";
import type { DbReport } from "../bindings/DbReport";
import type { Session } from "../bindings/Session";
import type { TableStat } from "../bindings/TableStat";
import type { TopStatement } from "../bindings/TopStatement";
import { call } from "../platform";
import { bytes, ms, pct } from "../format";
import { ErrorBox } from "./Overview";
import {
  Expandable,
  Problem,
  PerProfilePage,
  type PerProfileKind,
  RefreshBar,
  num,
  secs,
  useAutoRefresh,
  useReport,
} from "./monitor/common";
import { AlertsPanel, ChartsPanel, type ChartDef } from "./monitor/Charts";
import { ExplainPanel } from "./monitor/PlanTree";
import { PageFindings, type AdviceProps } from "./advisor/PageFindings";

export const POSTGRES_CHARTS: ChartDef[] = [
  { id: "connections", title: "Connections vs max_connections", metrics: ["connections", "max_connections"] },
  { id: "slow", title: "Slow-statement mean time", metrics: ["slow_statement_mean_ms"] },
  { id: "cache_hit", title: "Cache hit ratio", metrics: ["cache_hit_ratio"] },
  { id: "tps", title: "Transactions per second", metrics: ["transactions_per_s"] },
];

/**
 * A table read mostly by sequential scans of many rows: more sequential than index scans and
 * at least 1,000 rows read per sequential scan on average, on a table of 1,000 rows or more.
 */
export function heavySeqScans(t: TableStat): boolean {
  return t.rows >= 1000 && t.seq_scan > (t.idx_scan ?? 0) && t.seq_tup_read / Math.max(1, t.seq_scan) >= 1000;
}

const when = (s: string | null) => (s ? new Date(s).toLocaleString() : "never");

function latest(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return new Date(a) > new Date(b) ? a : b;
}

function StatementsTable({ rows, onExplain, testid }: { rows: TopStatement[]; onExplain: (sql: string) => void; testid: string }) {
  return (
    <div className="scroll-x">
      <table data-testid={testid}>
        <thead>
          <tr>
            <th>statement</th>
            <th className="num">calls</th>
            <th className="num">rows</th>
            <th className="num">mean ms</th>
            <th className="num">total ms</th>
            <th className="num">buffer hit</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => (
            <tr key={s.queryid} data-testid="statement-row">
              <td>
                <Expandable text={s.query} n={110} />
              </td>
              <td className="num">{num(s.calls)}</td>
              <td className="num">{num(s.rows)}</td>
              <td className="num" title={`planning ${ms(s.mean_plan_ms)} ms + execution ${ms(s.mean_exec_ms)} ms`}>
                {ms(s.mean_ms)}
              </td>
              <td className="num">{ms(s.total_ms)}</td>
              <td className={"num" + (s.shared_hit_ratio !== null && s.shared_hit_ratio < 0.9 ? " warn" : "")}>{pct(s.shared_hit_ratio)}</td>
              <td>
                <button className="small" data-testid="explain-statement" onClick={() => onExplain(s.query)}>
                  Explain
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Statements({ r, onExplain }: { r: DbReport; onExplain: (sql: string) => void }) {
  const [by, setBy] = useState<"mean" | "total">("mean");
  return (
    <section className="card wide" data-testid="pg-statements-card">
      <div className="toolbar">
        <h3>Statements (pg_stat_statements)</h3>
        <button className={"small" + (by === "mean" ? " active-range" : "")} data-testid="statements-by-mean" onClick={() => setBy("mean")}>
          slowest per call
        </button>
        <button className={"small" + (by === "total" ? " active-range" : "")} data-testid="statements-by-total" onClick={() => setBy("total")}>
          most time in total
        </button>
        {r.statements && <span className="muted" data-testid="statements-reset">counted since {when(r.statements.stats_reset)}</span>}
      </div>
      {r.statements_problem && (
        <div className="error" data-testid="statements-problem">
          {r.statements_problem}
        </div>
      )}
      {r.statements && (
        <StatementsTable rows={by === "mean" ? r.statements.by_mean : r.statements.by_total} onExplain={onExplain} testid={`statements-${by}`} />
      )}
    </section>
  );
}

function SessionsTable({ rows, testid }: { rows: Session[]; testid: string }) {
  return (
    <div className="scroll-x">
      <table data-testid={testid}>
        <thead>
          <tr>
            <th>pid</th>
            <th>user / application</th>
            <th>state</th>
            <th className="num">for</th>
            <th>waiting on</th>
            <th>query</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => (
            <tr key={s.pid}>
              <td>{s.pid}</td>
              <td>
                {s.user ?? "?"} {s.application_name ? `/ ${s.application_name}` : ""} {s.client_addr ? `(${s.client_addr})` : ""}
              </td>
              <td>{s.state ?? "–"}</td>
              <td className="num">{secs(s.seconds)}</td>
              <td>
                {s.wait_event_type ? `${s.wait_event_type}: ${s.wait_event ?? ""}` : ""}
                {s.blocked_by.length > 0 ? ` blocked by ${s.blocked_by.join(", ")}` : ""}
              </td>
              <td>{s.query ? <Expandable text={s.query} n={90} /> : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Connections({ r }: { r: DbReport }) {
  const c = r.connections;
  return (
    <section className="card" data-testid="pg-connections">
      <h3>Connections</h3>
      <div data-testid="connections-total" className={c.used_of_max > 0.8 ? "warn" : ""}>
        {num(c.total + 1)} of max_connections {num(c.max_connections)} ({pct(c.used_of_max)}){" "}
        <span className="bar-track">
          <span className="bar-fill" style={{ width: `${Math.min(100, c.used_of_max * 100)}%` }} />
        </span>
      </div>
      <table>
        <tbody>
          {c.by_state.map((s) => (
            <tr key={s.state}>
              <td>{s.state}</td>
              <td className="num">{num(s.count)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {c.idle_in_transaction > 0 && (
        <div className="warn" data-testid="idle-in-transaction">
          {c.idle_in_transaction} idle in transaction, the oldest for {secs(c.oldest_idle_in_transaction_seconds)}: they hold locks and keep vacuum
          from removing dead rows.
        </div>
      )}
    </section>
  );
}

function Settings({ r }: { r: DbReport }) {
  const ram = r.server_memory?.bytes ?? null;
  return (
    <section className="card" data-testid="pg-settings">
      <h3>Settings</h3>
      <div className="muted">
        {r.server_memory
          ? `Server memory ${bytes(r.server_memory.bytes)} (${r.server_memory.source}).`
          : "The server runs on another machine: its memory is not known here."}
      </div>
      <Problem testid="settings-problem" text={r.settings_problem} />
      <table className="kv">
        <tbody>
          {r.settings.map((s) => (
            <tr key={s.name} data-testid={`setting-${s.name}`}>
              <th>{s.name}</th>
              <td>
                <code>{s.value}</code>
                {s.bytes !== null && ram ? <span className="muted"> = {pct(s.bytes / ram)} of RAM</span> : null}
                {s.source && s.source !== "default" ? <span className="muted"> ({s.source})</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Tables({ r }: { r: DbReport }) {
  const heavy = r.tables.filter(heavySeqScans).length;
  return (
    <section className="card wide" data-testid="pg-tables">
      <h3>Tables</h3>
      <Problem testid="tables-problem" text={r.tables_problem} />
      {heavy > 0 && (
        <div className="warn" data-testid="heavy-seq-note">
          {heavy} table{heavy === 1 ? " is" : "s are"} read mostly by sequential scans of 1,000+ rows each (marked): an index on the filtered
          columns may help; Explain the statements that read them.
        </div>
      )}
      <div className="scroll-x">
        <table>
          <thead>
            <tr>
              <th>table</th>
              <th className="num">size</th>
              <th className="num">rows</th>
              <th className="num">seq scans</th>
              <th className="num">rows per seq scan</th>
              <th className="num">index scans</th>
              <th className="num">dead rows</th>
              <th>last vacuum</th>
              <th>last analyze</th>
            </tr>
          </thead>
          <tbody>
            {r.tables.map((t) => {
              const flag = heavySeqScans(t);
              return (
                <tr key={`${t.schema}.${t.name}`} className={flag ? "flag" : ""} data-testid={flag ? "table-heavy-seq" : "table-row"}>
                  <td>
                    <code>
                      {t.schema}.{t.name}
                    </code>
                    {flag && <span className="badge"> seq scans</span>}
                  </td>
                  <td className="num" title={`table ${bytes(t.table_bytes)}`}>
                    {bytes(t.total_bytes)}
                  </td>
                  <td className="num">{num(t.rows)}</td>
                  <td className="num">{num(t.seq_scan)}</td>
                  <td className="num">{t.seq_scan > 0 ? num(t.seq_tup_read / t.seq_scan) : "–"}</td>
                  <td className="num">{t.idx_scan === null ? "no index" : num(t.idx_scan)}</td>
                  <td className={"num" + (t.dead_rows > 0.2 * Math.max(t.rows, 1) && t.dead_rows > 1000 ? " warn" : "")}>
                    {num(t.dead_rows)} {t.rows > 0 ? `(${pct(t.dead_rows / t.rows)})` : ""}
                  </td>
                  <td>{when(latest(t.last_vacuum, t.last_autovacuum))}</td>
                  <td>{when(latest(t.last_analyze, t.last_autoanalyze))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Indexes({ r }: { r: DbReport }) {
  const wasted = r.unused_indexes.reduce((a, i) => a + i.bytes, 0);
  return (
    <section className="card wide" data-testid="pg-indexes">
      <h3>Indexes</h3>
      <h4>Unused ({r.unused_indexes.length}, {bytes(wasted)})</h4>
      {r.unused_indexes.length === 0 ? (
        <div className="muted">Every index that enforces nothing has been scanned since the statistics were reset.</div>
      ) : (
        <table data-testid="unused-indexes">
          <tbody>
            {r.unused_indexes.map((i) => (
              <tr key={`${i.schema}.${i.name}`}>
                <td>
                  <code>
                    {i.schema}.{i.name}
                  </code>{" "}
                  on {i.table}
                </td>
                <td className="num">{bytes(i.bytes)}</td>
                <td>
                  <Expandable text={i.definition} n={90} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Duplicates ({r.duplicate_indexes.length})</h4>
      {r.duplicate_indexes.length === 0 ? (
        <div className="muted">No two indexes cover the same columns the same way.</div>
      ) : (
        <table data-testid="duplicate-indexes">
          <tbody>
            {r.duplicate_indexes.map((d) => (
              <tr key={`${d.schema}.${d.table}.${d.key}`}>
                <td>
                  <code>
                    {d.schema}.{d.table}
                  </code>{" "}
                  <code>{d.key}</code>
                </td>
                <td>
                  {d.indexes.map((i) => `${i.name} (${bytes(i.bytes)})`).join(", ")}: keep one
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Vector({ r }: { r: DbReport }) {
  return (
    <section className="card wide" data-testid="pg-vector">
      <h3>pgvector</h3>
      {r.vector_problem && <div className="muted" data-testid="vector-problem">{r.vector_problem}</div>}
      {r.vector && (
        <>
          <div className="muted">
            vector {r.vector.extension_version}; this session's ivfflat.probes {r.vector.ivfflat_probes ?? "–"}, hnsw.ef_search{" "}
            {r.vector.hnsw_ef_search ?? "–"}
          </div>
          {r.vector.columns_without_index.length > 0 && (
            <div className="warn" data-testid="vector-unindexed">
              Without an approximate index (every search reads every row): {r.vector.columns_without_index.join(", ")}
            </div>
          )}
          <table data-testid="vector-columns">
            <thead>
              <tr>
                <th>column</th>
                <th>type</th>
                <th className="num">rows</th>
                <th>indexes</th>
              </tr>
            </thead>
            <tbody>
              {r.vector.columns.map((c) => (
                <tr key={`${c.schema}.${c.table}.${c.column}`}>
                  <td>
                    <code>
                      {c.schema}.{c.table}.{c.column}
                    </code>
                  </td>
                  <td>
                    {c.type_name}
                    {c.dimension !== null ? `(${c.dimension})` : ""}
                  </td>
                  <td className="num">{num(c.rows)}</td>
                  <td>
                    {c.indexes.length === 0
                      ? "none"
                      : c.indexes
                          .map(
                            (i) =>
                              `${i.name}: ${i.method} ${i.opclass}, ${bytes(i.bytes)}` +
                              (i.lists !== null ? `, lists ${i.lists}` : "") +
                              (i.m !== null ? `, m ${i.m}` : "") +
                              (i.ef_construction !== null ? `, ef_construction ${i.ef_construction}` : ""),
                          )
                          .join("; ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function DatabaseView({ r, profile }: { r: DbReport; profile: string }) {
  const [explain, setExplain] = useState<{ sql: string; n: number } | null>(null);
  return (
    <>
      <section className="card wide" data-testid="pg-header">
        <h3>
          {r.database} on {r.version}
        </h3>
        <div className="muted">
          as {r.user}
          {r.superuser ? " (superuser)" : ""}
          {r.local ? ", server on this machine" : ""}
        </div>
      </section>
      <Statements r={r} onExplain={(sql) => setExplain((e) => ({ sql, n: (e?.n ?? 0) + 1 }))} />
      <section className="card wide" data-testid="pg-explain">
        <h3>Explain a statement</h3>
        <ExplainPanel profile={profile} request={explain} />
      </section>
      <div className="cards">
        <Connections r={r} />
        <Settings r={r} />
      </div>
      <section className="card wide" data-testid="pg-sessions">
        <h3>Long-running and blocked</h3>
        <Problem testid="sessions-problem" text={r.sessions_problem} />
        {r.long_running.length === 0 && r.blocked.length === 0 && r.blocking.length === 0 && !r.sessions_problem && (
          <div className="muted">No long-running query and no session waiting for a lock.</div>
        )}
        {r.long_running.length > 0 && (
          <>
            <h4>Long-running queries</h4>
            <SessionsTable rows={r.long_running} testid="long-running" />
          </>
        )}
        {r.blocked.length > 0 && (
          <>
            <h4>Waiting for a lock</h4>
            <SessionsTable rows={r.blocked} testid="blocked-sessions" />
          </>
        )}
        {r.blocking.length > 0 && (
          <>
            <h4>Holding locks others wait for</h4>
            <SessionsTable rows={r.blocking} testid="blocking-sessions" />
          </>
        )}
      </section>
      <Tables r={r} />
      <Indexes r={r} />
      <Vector r={r} />
    </>
  );
}

const DATABASE_PAGE: PerProfileKind = { service: "postgres", testid: "database-page", prefix: "db", label: "PostgreSQL", flag: "postgres" };

/** The Database page: one PostgreSQL database in depth (`db_report`, `explain`), with history and alerts. */
export function DatabasePage({ profile, advice, onOpenAdvisor }: { profile?: string } & AdviceProps) {
  return (
    <PerProfilePage
      kind={DATABASE_PAGE}
      preferred={profile}
      render={(p, picker) => (
        <>
          <PageFindings system="database" profile={p} advice={advice} onOpenAdvisor={onOpenAdvisor} />
          <DatabaseForProfile profile={p} picker={picker} />
        </>
      )}
    />
  );
}

function DatabaseForProfile({ profile, picker }: { profile: string; picker: ReactNode }) {
  const [every, setEvery] = useState(10);
  const [auto, setAuto] = useState(true);
  const { report, error, updated, loading, load, tick } = useReport(
    () => call("db_report", { profile, top: 10, long_query_seconds: null }),
    [profile],
  );
  useAutoRefresh(load, every, auto);
  return (
    <>
      <div className="toolbar">
        {picker}
        <RefreshBar prefix="db" onRefresh={load} every={every} setEvery={setEvery} auto={auto} setAuto={setAuto} updated={updated} loading={loading} />
      </div>
      <AlertsPanel profile={profile} source="postgres" tick={tick} />
      {error && <ErrorBox error={error} />}
      {report && <DatabaseView r={report} profile={profile} />}
      <ChartsPanel profile={profile} source="postgres" charts={POSTGRES_CHARTS} tick={tick} />
    </>
  );
}
