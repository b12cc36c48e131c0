import type { ApiError } from "../../bindings/ApiError";
import type { WorkStats } from "../../bindings/WorkStats";
import { ErrorBox } from "../Overview";
import { num } from "../monitor/common";

/**
 * The in-process queues the engine runs its model calls and embedding batches on (`work_stats`):
 * how many wait, run and are held per queue, and what went wrong (failed, retried, given back by a
 * stopped worker, workers replaced).
 */
export function WorkPanel({ work, error }: { work: WorkStats | null; error: ApiError | null }) {
  return (
    <section className="card wide" data-testid="ql-work">
      <h3>Work queues (in process)</h3>
      {error && <ErrorBox error={error} />}
      {work === null ? (
        !error && <div className="muted">loading…</div>
      ) : (
        <table>
          <thead>
            <tr>
              <th>queue</th>
              <th>workers × prefetch</th>
              <th>waiting</th>
              <th>running</th>
              <th>held</th>
              <th>in back-off</th>
              <th>done</th>
              <th>failed</th>
              <th>retried</th>
              <th>given back</th>
              <th>workers replaced</th>
            </tr>
          </thead>
          <tbody>
            {work.queues.map((q) => (
              <tr key={q.queue} data-testid={`ql-work-${q.queue}`} className={q.failed ? "warn" : undefined}>
                <td>{q.queue}</td>
                <td>
                  {num(q.workers)} × {num(q.prefetch)}
                </td>
                <td>{num(q.depth)}</td>
                <td>{num(q.running)}</td>
                <td>{num(q.in_flight)}</td>
                <td>{num(q.retry_waiting)}</td>
                <td>{num(q.done)}</td>
                <td>{num(q.failed)}</td>
                <td>{num(q.retried)}</td>
                <td>{num(q.redelivered)}</td>
                <td>{num(q.worker_restarts)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
