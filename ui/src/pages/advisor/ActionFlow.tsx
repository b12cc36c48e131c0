// Show first, do second: an action's (or a rollback's) preview with exactly what will run, a
// confirmation the person ticks, then the apply (or rollback) with the preview's token, and the
// audit entry it wrote.
import { useEffect, useState } from "react";
import type { ActionPreview } from "../../bindings/ActionPreview";
import type { ActionProgress } from "../../bindings/ActionProgress";
import type { ApiError } from "../../bindings/ApiError";
import type { AuditEntry } from "../../bindings/AuditEntry";
import type { ValueChange } from "../../bindings/ValueChange";
import { call } from "../../platform";
import { ErrorBox } from "../Overview";
import { asError } from "../monitor/common";

/** What to preview: an action with its parameters, or the rollback of an audit entry. */
export type FlowTarget =
  | { kind: "apply"; action: string; params: { [key in string]?: string } }
  | { kind: "rollback"; auditId: string };

/** The read-only reason the page shows beside a disabled apply or rollback button. */
export function readOnlyReason(profile: string): string {
  return `Profile '${profile}' is read-only: the core refuses every change to its servers. Make it writable on the Profiles page to apply or roll back.`;
}

/** An error from the core, with what to do for the codes a person can act on. */
export function ActionError({ error }: { error: ApiError }) {
  return (
    <>
      <ErrorBox error={error} />
      {error.code === "read_only" && (
        <div className="error" data-testid="read-only-refused">
          Refused because the profile is read-only: nothing ran.
        </div>
      )}
      {error.code === "conflict" && (
        <div className="error warning" data-testid="stale-preview">
          The server changed since the preview (or another action ran): nothing ran. Preview again to see the current values.
        </div>
      )}
    </>
  );
}

export function ChangesTable({ changes, afterLabel, testid }: { changes: ValueChange[]; afterLabel: string; testid: string }) {
  if (changes.length === 0) return null;
  return (
    <table data-testid={testid}>
      <thead>
        <tr>
          <th>value</th>
          <th>before</th>
          <th>{afterLabel}</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={c.name}>
            <td>{c.name}</td>
            <td>
              <code>{c.before}</code>
            </td>
            <td>
              <code>{c.after}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Statements({ statements, testid }: { statements: string[]; testid: string }) {
  return (
    <ol data-testid={testid}>
      {statements.map((s, i) => (
        <li key={i}>
          <code>{s}</code>
        </li>
      ))}
    </ol>
  );
}

/** An audit entry as the apply or rollback returned it: what ran and the values read back. */
export function AuditResult({ entry }: { entry: AuditEntry }) {
  const ok = entry.outcome === "applied";
  return (
    <div className={ok ? "notice" : "error" + (entry.outcome === "unverified" ? " warning" : "")} data-testid="audit-result">
      <div>
        <b>{entry.outcome}</b>: {entry.rollback_of ? `rollback of ${entry.rollback_of}` : entry.action} on <code>{entry.target}</code>, audit entry{" "}
        <code>{entry.id}</code> at {new Date(entry.at).toLocaleString()}
      </div>
      {entry.message && <div data-testid="audit-result-message">{entry.message}</div>}
      <Statements statements={entry.statements} testid="audit-result-statements" />
      <ChangesTable changes={entry.changes} afterLabel="after (read back)" testid="audit-result-changes" />
    </div>
  );
}

/** While `running`, what the core says the action is doing, read every second (an index build's phase and share done). */
function useProgress(profile: string, action: string | null, running: boolean): ActionProgress | null {
  const [progress, setProgress] = useState<ActionProgress | null>(null);
  useEffect(() => {
    setProgress(null);
    if (!running || !action) return;
    let live = true;
    const read = () =>
      call("action_progress", { profile })
        .then((list) => live && setProgress(list.find((p) => p.action === action) ?? null))
        .catch(() => live && setProgress(null));
    const timer = setInterval(read, 1000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [profile, action, running]);
  return progress;
}

export function ProgressLine({ progress }: { progress: ActionProgress }) {
  return (
    <div className="muted" data-testid="flow-progress">
      {progress.phase}
      {progress.percent !== null && (
        <>
          {" "}
          <progress max={100} value={progress.percent} /> {progress.percent.toFixed(0)}% ({progress.done} of {progress.total} {progress.unit})
        </>
      )}
      , {progress.elapsed_seconds.toFixed(0)} s
    </div>
  );
}

/**
 * Previews `target` when it mounts; applies (or rolls back) only after the tick, with the
 * preview's confirm token. `readOnly` (a reason) disables the button; the core refuses anyway.
 */
export function ActionFlow({
  profile,
  target,
  readOnly,
  onDone,
  onClose,
}: {
  profile: string;
  target: FlowTarget;
  readOnly: string | null;
  onDone: (entry: AuditEntry) => void;
  onClose: () => void;
}) {
  const [preview, setPreview] = useState<ActionPreview | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [confirmed, setConfirmed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<AuditEntry | null>(null);
  const [round, setRound] = useState(0);
  const rollback = target.kind === "rollback";
  const progress = useProgress(profile, preview?.action ?? null, busy && !!preview && !result);

  useEffect(() => {
    let live = true;
    setPreview(null);
    setError(null);
    setConfirmed(false);
    setBusy(true);
    const req =
      target.kind === "apply"
        ? { profile, action: target.action, params: target.params, rollback_of: null, confirm: null }
        : { profile, action: "", params: {}, rollback_of: target.auditId, confirm: null };
    call("action_preview", req)
      .then((p) => live && setPreview(p))
      .catch((e) => live && setError(asError(e)))
      .finally(() => live && setBusy(false));
    return () => {
      live = false;
    };
  }, [profile, target, round]);

  const run = () => {
    if (!preview || !confirmed || readOnly) return;
    setBusy(true);
    setError(null);
    const done =
      target.kind === "apply"
        ? call("action_apply", { profile, action: target.action, params: target.params, rollback_of: null, confirm: preview.confirm_token })
        : call("action_rollback", { profile, audit_id: target.auditId, confirm: preview.confirm_token });
    done
      .then((entry) => {
        setResult(entry);
        onDone(entry);
      })
      .catch((e) => setError(asError(e)))
      .finally(() => setBusy(false));
  };

  const verb = rollback ? "Roll back" : "Apply";
  return (
    <div className="preview action-flow" data-testid="action-flow">
      <div className="toolbar">
        <b>{rollback ? `Rollback of audit entry ${target.auditId}` : `Preview of ${target.kind === "apply" ? target.action : ""}`}</b>
        <button className="small" data-testid="flow-close" onClick={onClose}>
          Close
        </button>
      </div>
      {busy && !preview && !error && <div className="muted">reading the current values…</div>}
      {error && <ActionError error={error} />}
      {error?.code === "conflict" && !result && (
        <button data-testid="flow-preview-again" onClick={() => (setResult(null), setRound((r) => r + 1))}>
          Preview again
        </button>
      )}
      {preview && !result && (
        <>
          <div data-testid="preview-target">
            On <code>{preview.target}</code> (profile {preview.profile}), exactly these will run, in order:
          </div>
          <Statements statements={preview.statements} testid="preview-statements" />
          <ChangesTable changes={preview.changes} afterLabel="after" testid="preview-changes" />
          {preview.notes.length > 0 && (
            <ul data-testid="preview-notes">
              {preview.notes.map((n, i) => (
                <li key={i}>{n}</li>
              ))}
            </ul>
          )}
          <label>
            <input
              type="checkbox"
              data-testid="flow-confirm"
              checked={confirmed}
              disabled={!!readOnly}
              onChange={(e) => setConfirmed(e.target.checked)}
            />{" "}
            I have read the {preview.statements.length === 1 ? "statement" : `${preview.statements.length} statements`} above and want them to run on{" "}
            <code>{preview.target}</code>
          </label>{" "}
          <button
            className="danger"
            data-testid="flow-run"
            disabled={!confirmed || !!readOnly || busy}
            title={readOnly ?? (confirmed ? "" : "tick the confirmation first")}
            onClick={run}
          >
            {busy ? (rollback ? "Rolling back…" : "Applying…") : verb}
          </button>
          {busy && progress && <ProgressLine progress={progress} />}
          {readOnly && (
            <div className="warn" data-testid="flow-read-only">
              {readOnly}
            </div>
          )}
        </>
      )}
      {result && <AuditResult entry={result} />}
    </div>
  );
}
