import { useState, type ReactNode } from "react";
import type { RedisReport } from "../bindings/RedisReport";
import type { ClientGroup } from "../bindings/ClientGroup";
import type { ClientInfo } from "../bindings/ClientInfo";
import type { KeySample } from "../bindings/KeySample";
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
  perSec,
  secs,
  useAutoRefresh,
  useReport,
} from "./monitor/common";
import { AlertsPanel, ChartsPanel, type ChartDef } from "./monitor/Charts";
import { PageFindings, type AdviceProps } from "./advisor/PageFindings";

export const REDIS_CHARTS: ChartDef[] = [
  { id: "hit_rate", title: "Hit rate", metrics: ["hit_rate"] },
  { id: "memory", title: "Memory used vs maxmemory", metrics: ["memory_used", "maxmemory"] },
  { id: "evictions", title: "Evictions per second", metrics: ["evictions_per_s"] },
  { id: "ops", title: "Commands per second", metrics: ["ops_per_s"] },
];

function Tile({ label, value, sub, testid, warn }: { label: string; value: string; sub?: string; testid: string; warn?: boolean }) {
  return (
    <div className={"tile" + (warn ? " tile-warn" : "")} data-testid={testid}>
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
      {sub && <div className="tile-sub muted">{sub}</div>}
    </div>
  );
}

const unix = (s: number) => (s > 0 ? new Date(s * 1000).toLocaleString() : "never");

function Tiles({ r }: { r: RedisReport }) {
  const iv = r.stats.interval;
  const m = r.memory;
  const repl = r.replication;
  const replicaLag = repl.role === "replica"
    ? `link ${repl.master_link_status ?? "?"}, ${repl.lag_bytes === null ? "lag unknown" : `${bytes(repl.lag_bytes)} behind`}, last I/O ${secs(repl.master_last_io_seconds_ago)} ago`
    : repl.replicas.length
      ? `${repl.replicas.length} replica${repl.replicas.length === 1 ? "" : "s"}, max lag ${bytes(Math.max(...repl.replicas.map((x) => x.lag_bytes)))} / ${secs(Math.max(...repl.replicas.map((x) => x.lag_seconds)))}`
      : "no replicas";
  return (
    <div className="tiles" data-testid="redis-tiles">
      <Tile
        testid="tile-hit-rate"
        label="Hit rate"
        value={iv ? pct(iv.hit_rate) : pct(r.stats.hit_rate_lifetime)}
        sub={
          iv
            ? `last ${secs(iv.seconds)}: ${num(iv.hits)} hits, ${num(iv.misses)} misses; lifetime ${pct(r.stats.hit_rate_lifetime)}`
            : `lifetime (${num(r.stats.keyspace_hits)} hits, ${num(r.stats.keyspace_misses)} misses); the interval rate shows from the next refresh`
        }
      />
      <Tile
        testid="tile-ops"
        label="Commands"
        value={perSec(iv ? iv.ops_per_sec : r.stats.instantaneous_ops_per_sec)}
        sub={`${num(r.stats.total_commands_processed)} since start`}
      />
      <Tile
        testid="tile-memory"
        label="Memory used"
        value={bytes(m.used_memory_bytes)}
        warn={(m.used_of_maxmemory ?? 0) > 0.8}
        sub={
          (m.maxmemory_bytes === 0 ? "no maxmemory (unbounded)" : `${pct(m.used_of_maxmemory)} of maxmemory ${bytes(m.maxmemory_bytes)}`) +
          `, policy ${m.maxmemory_policy}; RSS ${bytes(m.used_memory_rss_bytes)}, peak ${bytes(m.used_memory_peak_bytes)}` +
          (m.mem_fragmentation_ratio !== null ? `, fragmentation ${m.mem_fragmentation_ratio.toFixed(2)}` : "")
        }
      />
      <Tile
        testid="tile-host-memory"
        label="Of the host's memory"
        value={m.host_limit ? pct(m.used_of_host_limit) : "–"}
        warn={(m.used_of_host_limit ?? 0) > 0.8}
        sub={m.host_limit ? `limit ${bytes(m.host_limit.bytes)} (${m.host_limit.source})` : "the server runs on another machine"}
      />
      <Tile
        testid="tile-evictions"
        label="Evictions"
        value={iv ? perSec(iv.evictions_per_sec) : "–"}
        warn={!!iv && iv.evictions_per_sec > 0}
        sub={`${num(r.stats.evicted_keys)} evicted since start`}
      />
      <Tile
        testid="tile-expirations"
        label="Expirations"
        value={iv ? perSec(iv.expirations_per_sec) : "–"}
        sub={`${num(r.stats.expired_keys)} expired since start`}
      />
      <Tile
        testid="tile-clients"
        label="Clients"
        value={`${num(r.clients.connected_clients)} / ${num(r.clients.maxclients)}`}
        warn={r.clients.blocked_clients > 0}
        sub={`${num(r.clients.blocked_clients)} blocked, ${num(r.stats.rejected_connections)} rejected since start`}
      />
      <Tile testid="tile-role" label="Role" value={repl.role} sub={replicaLag} warn={repl.role === "replica" && repl.master_link_status !== "up"} />
    </div>
  );
}

function KeySampleView({ s }: { s: KeySample }) {
  return (
    <>
      <div className="muted" data-testid="sample-summary">
        Sampled {num(s.keys_sampled)} of {num(s.keys_in_db)} keys in db {s.db} ({pct(s.sample_fraction)}
        {s.stopped_by === "complete" ? ", every key read" : `, stopped by the ${s.stopped_by}`}) in {num(s.elapsed_ms)} ms; estimated total{" "}
        {bytes(s.estimated_total_bytes)}. ± is twice the standard error: the true total is within it about 95% of the time.
      </div>
      <div className="scroll-x">
        <table data-testid="prefix-table">
          <thead>
            <tr>
              <th>prefix</th>
              <th>what</th>
              <th className="num">keys (est.)</th>
              <th className="num">memory (est.)</th>
              <th className="num">± 95%</th>
              <th className="num">share</th>
              <th className="num">without TTL (est.)</th>
            </tr>
          </thead>
          <tbody>
            {s.prefixes.map((p) => (
              <tr key={p.prefix} data-testid="prefix-row">
                <td>
                  <code>{p.prefix}</code>
                </td>
                <td>{p.name ?? ""}</td>
                <td className="num">{num(p.estimated_keys)}</td>
                <td className="num">{bytes(p.estimated_bytes)}</td>
                <td className="num">{p.standard_error_bytes === 0 ? "exact" : `± ${bytes(2 * p.standard_error_bytes)}`}</td>
                <td className="num">{s.estimated_total_bytes > 0 ? pct(p.estimated_bytes / s.estimated_total_bytes) : "–"}</td>
                <td className={"num" + (p.estimated_keys_without_ttl > 0 ? " warn" : "")}>
                  {num(p.estimated_keys_without_ttl)} ({p.estimated_keys > 0 ? pct(p.estimated_keys_without_ttl / p.estimated_keys) : "–"})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h4>Biggest keys seen</h4>
      <table data-testid="biggest-keys">
        <thead>
          <tr>
            <th>key</th>
            <th className="num">memory</th>
            <th>TTL</th>
          </tr>
        </thead>
        <tbody>
          {s.biggest_keys.map((k) => (
            <tr key={k.key}>
              <td>
                <Expandable text={k.key} n={80} />
              </td>
              <td className="num">{bytes(k.bytes)}</td>
              <td className={k.ttl_ms === null ? "warn" : ""}>{k.ttl_ms === null ? "none" : secs(k.ttl_ms / 1000)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Groups({ title, groups, testid }: { title: string; groups: ClientGroup[]; testid: string }) {
  return (
    <div>
      <h4>{title}</h4>
      <table data-testid={testid}>
        <tbody>
          {groups.slice(0, 10).map((g) => (
            <tr key={g.key}>
              <td>{g.key === "" ? <span className="muted">(no name)</span> : g.key}</td>
              <td className="num">{num(g.count)}</td>
            </tr>
          ))}
          {groups.length === 0 && (
            <tr>
              <td className="muted">none</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

function ClientLine({ label, c, testid }: { label: string; c: ClientInfo | null; testid: string }) {
  if (!c) return null;
  return (
    <div data-testid={testid}>
      {label}: <code>{c.addr}</code> {c.name ? `"${c.name}"` : "(no name)"} user {c.user}, db {c.db}, connected {secs(c.age_seconds)}, idle{" "}
      {secs(c.idle_seconds)}, last <code>{c.cmd}</code>
    </div>
  );
}

export function RedisView({ r }: { r: RedisReport }) {
  return (
    <>
      <section className="card wide">
        <h3>
          Redis {r.version} ({r.mode}, up {secs(r.uptime_seconds)}
          {r.local ? ", on this machine" : ""})
        </h3>
        <Tiles r={r} />
      </section>

      <div className="cards">
        <section className="card" data-testid="redis-config">
          <h3>Configuration</h3>
          <Problem testid="config-problem" text={r.config_problem} />
          {r.config.length > 0 && (
            <table className="kv">
              <tbody>
                {r.config.map((c) => (
                  <tr key={c.name}>
                    <th>{c.name}</th>
                    <td>
                      <code>{c.value === "" ? "(empty)" : c.value}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>

        <section className="card" data-testid="redis-persistence">
          <h3>Persistence</h3>
          {r.persistence.loading && <div className="warn">Loading its data set from disk.</div>}
          <div>
            RDB: last save {unix(r.persistence.rdb_last_save_time)} ({r.persistence.rdb_last_bgsave_status}),{" "}
            {num(r.persistence.rdb_changes_since_last_save)} changes since
            {r.persistence.rdb_bgsave_in_progress ? ", saving now" : ""}
          </div>
          <div>
            AOF: {r.persistence.aof_enabled ? `on, last write ${r.persistence.aof_last_write_status}` : "off"}
            {r.persistence.aof_rewrite_in_progress ? ", rewriting now" : ""}
          </div>
          {(r.persistence.rdb_last_bgsave_status !== "ok" || (r.persistence.aof_enabled && r.persistence.aof_last_write_status !== "ok")) && (
            <div className="error" data-testid="persistence-failing">
              The last save failed: check the server's log and its disk space; writes may be refused until a save succeeds.
            </div>
          )}
        </section>

        <section className="card" data-testid="redis-keyspace">
          <h3>Keyspace</h3>
          <table>
            <thead>
              <tr>
                <th>db</th>
                <th className="num">keys</th>
                <th className="num">with TTL</th>
                <th className="num">avg TTL</th>
              </tr>
            </thead>
            <tbody>
              {r.keyspace.map((k) => (
                <tr key={k.db}>
                  <td>db{k.db}</td>
                  <td className="num">{num(k.keys)}</td>
                  <td className="num">
                    {num(k.expires)} ({k.keys > 0 ? pct(k.expires / k.keys) : "–"})
                  </td>
                  <td className="num">{k.avg_ttl_ms > 0 ? secs(k.avg_ttl_ms / 1000) : "–"}</td>
                </tr>
              ))}
              {r.keyspace.length === 0 && (
                <tr>
                  <td className="muted" colSpan={4}>
                    no keys
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </section>

        <section className="card" data-testid="redis-latency">
          <h3>Latency spikes (LATENCY LATEST)</h3>
          <Problem testid="latency-problem" text={r.latency_problem} />
          {r.latency.length === 0 && !r.latency_problem ? (
            <div className="muted">None recorded (the monitor only records with latency-monitor-threshold set).</div>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>event</th>
                  <th>latest</th>
                  <th className="num">latest ms</th>
                  <th className="num">max ms</th>
                </tr>
              </thead>
              <tbody>
                {r.latency.map((l) => (
                  <tr key={l.event}>
                    <td>{l.event}</td>
                    <td>{unix(l.latest_at)}</td>
                    <td className="num">{num(l.latest_ms)}</td>
                    <td className="num">{num(l.max_ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>

      <section className="card wide" data-testid="redis-slowlog">
        <h3>Slow commands (SLOWLOG, newest first)</h3>
        <Problem testid="slowlog-problem" text={r.slowlog_problem} />
        {r.slowlog.length === 0 && !r.slowlog_problem ? (
          <div className="muted">No slow commands logged.</div>
        ) : (
          <div className="scroll-x">
            <table>
              <thead>
                <tr>
                  <th>when</th>
                  <th className="num">duration</th>
                  <th>command</th>
                  <th>client</th>
                </tr>
              </thead>
              <tbody>
                {r.slowlog.map((e) => (
                  <tr key={e.id} data-testid="slowlog-row">
                    <td>{unix(e.started_at)}</td>
                    <td className="num">{e.duration_us >= 1000 ? `${ms(e.duration_us / 1000)} ms` : `${e.duration_us} µs`}</td>
                    <td>
                      <Expandable text={e.command} n={90} />
                    </td>
                    <td>
                      <code>{e.client_addr}</code> {e.client_name}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="card wide" data-testid="redis-memory-by-prefix">
        <h3>Memory by key prefix (sampled)</h3>
        <Problem testid="prefix-problem" text={r.memory_by_prefix_problem} />
        {r.memory_by_prefix && <KeySampleView s={r.memory_by_prefix} />}
      </section>

      <section className="card wide" data-testid="redis-clients">
        <h3>
          Clients ({num(r.clients.connected_clients)} connected, {num(r.clients.blocked_clients)} blocked)
        </h3>
        <Problem testid="clients-problem" text={r.clients.list_problem} />
        <div className="ns-columns">
          <Groups title="By name" groups={r.clients.by_name} testid="clients-by-name" />
          <Groups title="By address" groups={r.clients.by_addr} testid="clients-by-addr" />
          <Groups title="By db" groups={r.clients.by_db.map((g) => ({ ...g, key: `db${g.key}` }))} testid="clients-by-db" />
        </div>
        <ClientLine label="Oldest" c={r.clients.oldest} testid="client-oldest" />
        <ClientLine label="Idlest" c={r.clients.idlest} testid="client-idlest" />
        {r.clients.blocked.length > 0 && (
          <>
            <h4>Blocked</h4>
            {r.clients.blocked.map((c) => (
              <ClientLine key={c.id} label={`#${c.id}`} c={c} testid="client-blocked" />
            ))}
          </>
        )}
      </section>
    </>
  );
}

const REDIS_PAGE: PerProfileKind = { service: "redis", testid: "redis-page", prefix: "redis", label: "Redis", flag: "redis" };

/** The Redis page: one server in depth (`redis_report`), with its history and alerts. */
export function RedisPage({ profile, advice, onOpenAdvisor }: { profile?: string } & AdviceProps) {
  return (
    <PerProfilePage
      kind={REDIS_PAGE}
      preferred={profile}
      render={(p, picker) => (
        <>
          <PageFindings system="redis" profile={p} advice={advice} onOpenAdvisor={onOpenAdvisor} />
          <RedisForProfile profile={p} picker={picker} />
        </>
      )}
    />
  );
}

function RedisForProfile({ profile, picker }: { profile: string; picker: ReactNode }) {
  const [every, setEvery] = useState(10);
  const [auto, setAuto] = useState(true);
  const { report, error, updated, loading, load, tick } = useReport(() => call("redis_report", { profile, sample_keys: null, sample_millis: null }), [profile]);
  useAutoRefresh(load, every, auto);
  return (
    <>
      <div className="toolbar">
        {picker}
        <RefreshBar prefix="redis" onRefresh={load} every={every} setEvery={setEvery} auto={auto} setAuto={setAuto} updated={updated} loading={loading} />
      </div>
      <AlertsPanel profile={profile} source="redis" tick={tick} />
      {error && <ErrorBox error={error} />}
      {report && <RedisView r={report} />}
      <ChartsPanel profile={profile} source="redis" charts={REDIS_CHARTS} tick={tick} />
    </>
  );
}
