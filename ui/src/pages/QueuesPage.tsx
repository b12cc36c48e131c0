import { useState, type ReactNode } from "react";
import type { InFlight } from "../bindings/InFlight";
import type { QueueInfo } from "../bindings/QueueInfo";
import type { QueuesReport } from "../bindings/QueuesReport";
import type { WorkerInfo } from "../bindings/WorkerInfo";
import { call } from "../platform";
import { pct } from "../format";
import { ErrorBox } from "./Overview";
import { AlertsPanel, ChartsPanel, type ChartDef } from "./monitor/Charts";
import { Expandable, Problem, PerProfilePage, type PerProfileKind, RefreshBar, num, perSec, secs, useAutoRefresh, useReport } from "./monitor/common";
import { PageFindings, type AdviceProps } from "./advisor/PageFindings";

/**
 * The queues a finding names: they hold messages no live worker consumes (the core decides:
 * no worker alive at all, or, when inspected, no consumer of that queue).
 */
/** The broker's history (the sampler reads it every interval, as it does Redis and PostgreSQL). */
export const QUEUE_CHARTS: ChartDef[] = [
  { id: "queued", title: "Messages waiting (all queues) and the deepest queue", metrics: ["queued", "largest_queue"] },
  { id: "per_queue", title: "The platform's queues", metrics: ["llm_queue", "data_queue", "vector_queue", "celery_queue"] },
  { id: "in_flight", title: "In flight (unacked)", metrics: ["in_flight"] },
  { id: "oldest_in_flight", title: "Oldest message in flight", metrics: ["oldest_in_flight_s"] },
  { id: "workers", title: "Workers alive and lost (heartbeats)", metrics: ["workers_alive", "workers_lost"] },
];

export function flaggedQueues(r: QueuesReport): Set<string> {
  return new Set(r.findings.flatMap((f) => (f.queue === null ? [] : [f.queue])));
}

function Findings({ r }: { r: QueuesReport }) {
  return (
    <section className="card wide" data-testid="queues-findings">
      <h3>Findings</h3>
      {r.findings.length === 0 ? (
        <div className="notice">Nothing to flag: every queue with messages has a live consumer, no worker is dead, nothing in flight is past the visibility_timeout.</div>
      ) : (
        <ul>
          {r.findings.map((f, i) => (
            <li key={i} data-testid="queue-finding" className={f.severity === "warning" ? "warn" : ""}>
              <span className={`badge sev-${f.severity}`}>{f.severity}</span> {f.queue && <code>{f.queue}</code>} {f.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Buckets({ q }: { q: QueueInfo }) {
  if (q.buckets.length <= 1) return <span className="muted">–</span>;
  return (
    <span>
      {q.buckets.map((b) => (
        <span key={b.key} title={b.key}>
          {b.step}: {num(b.len)}{" "}
        </span>
      ))}
    </span>
  );
}

function QueuesTable({ r }: { r: QueuesReport }) {
  const flagged = flaggedQueues(r);
  const inspected = r.inspect !== null;
  return (
    <section className="card wide" data-testid="queues-table">
      <h3>Queues</h3>
      {r.queues.length === 0 ? (
        <div className="muted">No queue found on this broker.</div>
      ) : (
        <div className="scroll-x">
          <table>
            <thead>
              <tr>
                <th>queue</th>
                <th className="num">depth</th>
                <th>priority buckets (step: messages)</th>
                <th>tasks seen</th>
                <th>consumers</th>
                <th className="num">rate</th>
                <th className="num">wait</th>
              </tr>
            </thead>
            <tbody>
              {r.queues.map((q) => (
                <tr key={q.name} data-testid="queue-row" data-queue={q.name} className={flagged.has(q.name) ? "flag" : ""}>
                  <td>
                    <code>{q.name}</code> <span className="muted">({q.found_by})</span>
                    {flagged.has(q.name) && (
                      <>
                        {" "}
                        <span className="badge sev-warning" data-testid="queue-no-consumer">
                          no live consumer
                        </span>
                      </>
                    )}
                  </td>
                  <td className="num" data-testid="queue-depth">
                    {num(q.depth)}
                  </td>
                  <td>
                    <Buckets q={q} />
                  </td>
                  <td>
                    {q.task_names.map((t) => (
                      <div key={t.task}>
                        <code>{t.task}</code> × {num(t.count)}
                      </div>
                    ))}
                    {q.sampled > 0 && (
                      <div className="muted">
                        in {num(q.sampled)} sampled{q.undecodable > 0 ? `, ${num(q.undecodable)} undecodable` : ""}
                      </div>
                    )}
                  </td>
                  <td>{inspected ? (q.consumers.length ? q.consumers.join(", ") : <span className="warn">none</span>) : <span className="muted">inspect to know</span>}</td>
                  <td className="num">{q.net_rate_per_s === null ? "–" : (q.net_rate_per_s > 0 ? "+" : "") + perSec(q.net_rate_per_s)}</td>
                  <td className="num">{secs(q.wait_estimate_seconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="muted">
        Rates compare two depth readings {secs(r.rate_interval_seconds)} apart (positive: growing); the wait is depth / drain rate while draining.
      </div>
    </section>
  );
}

function InFlightTable({ f }: { f: InFlight }) {
  const vt = f.visibility_timeout_seconds;
  return (
    <section className="card wide" data-testid="queues-in-flight">
      <h3>In flight (unacked)</h3>
      <div data-testid="in-flight-summary" className={f.past_visibility_timeout > 0 ? "warn" : ""}>
        {num(f.count)} unacked ({num(f.index_count)} in the index), oldest {secs(f.oldest_age_seconds)}; visibility_timeout {secs(vt)}
        {f.past_visibility_timeout > 0 && `: ${num(f.past_visibility_timeout)} past it, redelivered on the next restore (they may run twice)`}
      </div>
      {f.messages.length > 0 && (
        <div className="scroll-x">
          <table>
            <thead>
              <tr>
                <th>task</th>
                <th>task id</th>
                <th>queue</th>
                <th>delivery tag</th>
                <th className="num">age</th>
                <th className="num">of visibility_timeout</th>
              </tr>
            </thead>
            <tbody>
              {f.messages.map((m) => {
                const past = m.age_seconds !== null && m.age_seconds > vt;
                return (
                  <tr key={m.delivery_tag} data-testid="in-flight-row" className={past ? "flag" : ""}>
                    <td>{m.task ? <code>{m.task}</code> : <span className="muted">undecoded</span>}</td>
                    <td>{m.task_id ? <Expandable text={m.task_id} n={12} /> : "–"}</td>
                    <td>{m.queue ?? "–"}</td>
                    <td>
                      <Expandable text={m.delivery_tag} n={12} />
                    </td>
                    <td className="num">{secs(m.age_seconds)}</td>
                    <td className={"num" + (past ? " warn" : "")}>{m.age_seconds === null || vt <= 0 ? "–" : pct(m.age_seconds / vt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function WorkersTable({ r }: { r: QueuesReport }) {
  const inspected = r.inspect !== null;
  return (
    <section className="card wide" data-testid="queues-workers">
      <h3>Workers</h3>
      <Problem testid="inspect-problem" text={r.inspect?.problem} />
      {r.workers.length === 0 ? (
        <div className="muted">
          No worker seen: none sent an event in the {secs(r.listen_seconds)} listened (start workers with -E) and none is bound to the pidbox.
        </div>
      ) : (
        <div className="scroll-x">
          <table>
            <thead>
              <tr>
                <th>hostname</th>
                <th>state</th>
                <th className="num">last heartbeat</th>
                <th>queues</th>
                <th className="num">active</th>
                <th className="num">processed</th>
                <th>load</th>
                <th>version</th>
              </tr>
            </thead>
            <tbody>
              {r.workers.map((w: WorkerInfo) => (
                <tr key={w.hostname} data-testid="worker-row" data-worker={w.hostname} className={w.alive ? "" : "flag"}>
                  <td>
                    <code>{w.hostname}</code>
                  </td>
                  <td data-testid="worker-state" className={w.alive ? "" : "warn"}>
                    {w.alive ? "alive" : "dead"} <span className="muted">({w.state})</span>
                  </td>
                  <td className="num">{w.last_event_age_seconds === null ? "never" : `${secs(w.last_event_age_seconds)} ago`}</td>
                  <td>{w.queues.length ? w.queues.join(", ") : <span className="muted">{inspected ? "none" : "inspect to know"}</span>}</td>
                  <td className="num">{num(w.active)}</td>
                  <td className="num">{num(w.processed)}</td>
                  <td>{w.loadavg ? w.loadavg.map((l) => l.toFixed(2)).join(" ") : "–"}</td>
                  <td>{w.sw_ver ?? "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function QueuesView({ r }: { r: QueuesReport }) {
  return (
    <>
      <section className="card wide" data-testid="queues-header">
        <h3>
          Celery broker <code>{r.broker}</code> db {r.db}
        </h3>
        <div className="muted">
          {r.queues.length} queue{r.queues.length === 1 ? "" : "s"}, {r.workers.filter((w) => w.alive).length} of {r.workers.length} worker
          {r.workers.length === 1 ? "" : "s"} alive; listened {secs(r.listen_seconds)} for worker events; collected {new Date(r.collected_at).toLocaleTimeString()}
          {r.inspect ? "; workers inspected over the pidbox" : ""}
        </div>
      </section>
      <Findings r={r} />
      <QueuesTable r={r} />
      <InFlightTable f={r.in_flight} />
      <WorkersTable r={r} />
    </>
  );
}

const QUEUES_PAGE: PerProfileKind = { service: "celery_broker", testid: "queues-page", prefix: "queues", label: "Celery broker", flag: "celery-broker" };

/** The Queues page: a Celery broker's queues, in-flight messages and workers (`queues_report`). */
export function QueuesPage({ profile, advice, onOpenAdvisor }: { profile?: string } & AdviceProps) {
  return (
    <PerProfilePage
      kind={QUEUES_PAGE}
      preferred={profile}
      render={(p, picker) => (
        <>
          <PageFindings system="queues" profile={p} advice={advice} onOpenAdvisor={onOpenAdvisor} />
          <QueuesForProfile profile={p} picker={picker} />
        </>
      )}
    />
  );
}

function QueuesForProfile({ profile, picker }: { profile: string; picker: ReactNode }) {
  const [every, setEvery] = useState(5);
  const [auto, setAuto] = useState(true);
  const [inspect, setInspect] = useState(false);
  const { report, error, updated, loading, load, tick } = useReport(
    () => call("queues_report", { profile, listen_millis: null, visibility_timeout_seconds: null, inspect }),
    [profile, inspect],
  );
  useAutoRefresh(load, every, auto);
  return (
    <>
      <div className="toolbar">
        {picker}
        <label title="asks the workers over the pidbox (ping, active, stats, active_queues): one control message per method, each refresh">
          <input type="checkbox" data-testid="queues-inspect" checked={inspect} onChange={(e) => setInspect(e.target.checked)} /> Inspect workers
        </label>
        <RefreshBar prefix="queues" onRefresh={load} every={every} setEvery={setEvery} auto={auto} setAuto={setAuto} updated={updated} loading={loading} />
      </div>
      <AlertsPanel profile={profile} source="celery" tick={tick} />
      {error && <ErrorBox error={error} />}
      {report && <QueuesView r={report} />}
      <ChartsPanel profile={profile} source="celery" charts={QUEUE_CHARTS} tick={tick} />
    </>
  );
}
