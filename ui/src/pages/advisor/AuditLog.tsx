// The profile's audit log (`audit_log`): every applied action and rollback, with what ran and the
// values before and after, and a rollback (previewed and confirmed like an action) for each.
import type { ApiError } from "../../bindings/ApiError";
import type { AuditEntry } from "../../bindings/AuditEntry";
import { ErrorBox } from "../Overview";
import { Expandable } from "../monitor/common";

function params(p: AuditEntry["params"]): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

export function AuditLog({
  entries,
  error,
  readOnly,
  open,
  onRollback,
  flow,
}: {
  entries: AuditEntry[] | null;
  error: ApiError | null;
  readOnly: string | null;
  /** The audit id whose rollback is being previewed. */
  open: string | null;
  onRollback: (id: string) => void;
  /** The rollback flow, shown under its entry. */
  flow: React.ReactNode;
}) {
  // Newest first: the log is appended in order.
  const rows = entries ? [...entries].reverse() : [];
  return (
    <section className="card wide" data-testid="audit-log">
      <h3>Audit log</h3>
      {error && <ErrorBox error={error} />}
      {readOnly && rows.some((e) => !e.rollback_of && !e.rolled_back_by) && (
        <div className="warn" data-testid="audit-read-only">
          {readOnly}
        </div>
      )}
      {entries && entries.length === 0 && <div className="muted">No action applied on this profile yet.</div>}
      {rows.length > 0 && (
        <div className="scroll-x">
          <table>
            <thead>
              <tr>
                <th>when</th>
                <th>action</th>
                <th>target</th>
                <th>ran</th>
                <th>before → after</th>
                <th>outcome</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <AuditRow key={e.id} e={e} readOnly={readOnly} open={open === e.id} onRollback={onRollback} flow={open === e.id ? flow : null} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function AuditRow({
  e,
  readOnly,
  open,
  onRollback,
  flow,
}: {
  e: AuditEntry;
  readOnly: string | null;
  open: boolean;
  onRollback: (id: string) => void;
  flow: React.ReactNode;
}) {
  const undone = e.rolled_back_by ?? null;
  return (
    <>
      <tr data-testid="audit-row" data-id={e.id} className={e.outcome === "applied" ? "" : "flag"}>
        <td>{new Date(e.at).toLocaleString()}</td>
        <td>
          {e.rollback_of ? (
            <>
              rollback of <code>{e.rollback_of}</code>
            </>
          ) : (
            <>
              <code>{e.action}</code> {params(e.params)}
            </>
          )}
        </td>
        <td>
          <code>{e.target}</code>
        </td>
        <td>
          {e.statements.map((s, i) => (
            <div key={i}>
              <Expandable text={s} n={60} />
            </div>
          ))}
        </td>
        <td data-testid="audit-changes">
          {e.changes.map((c) => (
            <div key={c.name}>
              {c.name}: <code>{c.before}</code> → <code>{c.after}</code>
            </div>
          ))}
        </td>
        <td>
          <b>{e.outcome}</b>
          {e.message && <div className="muted">{e.message}</div>}
        </td>
        <td>
          {undone ? (
            <span className="muted" data-testid="audit-rolled-back">
              rolled back by <code>{undone}</code>
            </span>
          ) : e.rollback_of ? null : (
            <button
              className="small"
              data-testid="audit-rollback"
              disabled={!!readOnly || open}
              title={readOnly ?? "preview the rollback: what will run, then confirm"}
              onClick={() => onRollback(e.id)}
            >
              Roll back
            </button>
          )}
        </td>
      </tr>
      {flow && (
        <tr>
          <td colSpan={7}>{flow}</td>
        </tr>
      )}
    </>
  );
}
