import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { AdviceReport } from "../bindings/AdviceReport";
import type { AuditEntry } from "../bindings/AuditEntry";
import type { Finding } from "../bindings/Finding";
import type { ProfileView } from "../bindings/ProfileView";
import type { Severity } from "../bindings/Severity";
import { call } from "../platform";
import { ErrorBox } from "./Overview";
import { Problem, ProfilePicker, initialProfile, useAutoRefresh, useProfiles, useReport } from "./monitor/common";
import { ActionFlow, readOnlyReason, type FlowTarget } from "./advisor/ActionFlow";
import { AuditLog } from "./advisor/AuditLog";
import { EvidenceChartView } from "./advisor/EvidenceChart";

export const SEVERITIES: Severity[] = ["critical", "warning", "info"];

/** The system a rule reads, from its id's prefix (`pg.unused_index` → `postgres`). */
export function sourceOf(rule: string): string {
  const prefix = rule.split(".")[0];
  return prefix === "pg" ? "postgres" : prefix;
}

const SOURCE_LABELS: Record<string, string> = {
  redis: "Redis",
  postgres: "PostgreSQL",
  cache: "Semantic cache",
  celery: "Celery",
  k8s: "Kubernetes",
  host: "Host",
};
const SOURCE_ORDER = Object.keys(SOURCE_LABELS);

export function countBySeverity(findings: Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/** Findings by source (in a fixed order, unknown sources last), then by severity. */
export function groupFindings(findings: Finding[]): { source: string; bySeverity: { severity: Severity; findings: Finding[] }[] }[] {
  const sources = [...new Set(findings.map((f) => sourceOf(f.rule)))];
  const rank = (s: string) => (SOURCE_ORDER.includes(s) ? SOURCE_ORDER.indexOf(s) : SOURCE_ORDER.length);
  sources.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return sources.map((source) => ({
    source,
    bySeverity: SEVERITIES.map((severity) => ({
      severity,
      findings: findings.filter((f) => sourceOf(f.rule) === source && f.severity === severity),
    })).filter((g) => g.findings.length > 0),
  }));
}

/** Small counts by severity (nothing when there is nothing to count). */
export function SeverityBadges({ counts, testid }: { counts: Record<Severity, number> | null; testid: string }) {
  if (!counts) return null;
  const shown = SEVERITIES.filter((s) => counts[s] > 0);
  if (shown.length === 0) return null;
  return (
    <span data-testid={testid}>
      {shown.map((s) => (
        <span key={s} className={`badge sev-${s}`} data-testid={`${testid}-${s}`} title={`${counts[s]} ${s}`}>
          {counts[s]}
        </span>
      ))}
    </span>
  );
}

/**
 * The advisor's counts for the navigation: one `advise` when the profile is chosen, then at most
 * once every `seconds` (never faster, even when the window shows again), none while hidden.
 * `update` takes a report the Advisor page ran anyway. `report` is the last one, for the badges
 * and strips of the monitoring pages (derived from it: no call of their own).
 */
export function useAdviceCounts(profile: string, seconds = 60) {
  const [report, setReport] = useState<AdviceReport | null>(null);
  const lastAt = useRef(0);
  const load = useCallback(() => {
    if (Date.now() - lastAt.current < seconds * 1000) return;
    lastAt.current = Date.now();
    call("advise", { profile })
      .then((r) => r.profile === profile && setReport(r))
      .catch(() => setReport(null));
  }, [profile, seconds]);
  useEffect(() => {
    lastAt.current = 0;
    setReport(null);
    load();
  }, [load]);
  useAutoRefresh(load, seconds, true);
  const update = useCallback(
    (r: AdviceReport) => {
      if (r.profile !== profile) return;
      lastAt.current = Date.now();
      setReport(r);
    },
    [profile],
  );
  const counts = useMemo(() => (report ? countBySeverity(report.findings) : null), [report]);
  return { counts, report, update };
}

function FindingView({ f, profile, open, onPreview, flow }: { f: Finding; profile: string; open: boolean; onPreview: () => void; flow: React.ReactNode }) {
  return (
    <div className={`finding sev-${f.severity}`} data-testid="finding" data-id={f.id}>
      <div>
        <span className={`badge sev-${f.severity}`}>{f.severity}</span> <b data-testid="finding-title">{f.title}</b>{" "}
        <code className="muted">{f.id}</code>
      </div>
      <table className="kv" data-testid="finding-evidence">
        <tbody>
          {f.evidence.map((e, i) => (
            <tr key={i}>
              <th>{e.name}</th>
              <td>
                <code>{e.value}</code>
                {e.unit && <span className="muted"> {e.unit}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div data-testid="finding-why">{f.why}</div>
      {f.chart && <EvidenceChartView profile={profile} chart={f.chart} />}
      <div className="muted" data-testid="finding-source">
        Source: {f.source}
      </div>
      {f.fix.kind === "action" ? (
        <div data-testid="finding-fix">
          Fix: {f.fix.summary} (<code>{f.fix.action}</code>){" "}
          <button className="small" data-testid="finding-preview" disabled={open} onClick={onPreview}>
            Preview
          </button>
        </div>
      ) : (
        <div data-testid="finding-fix">Fix: {f.fix.text}</div>
      )}
      {flow}
    </div>
  );
}

function Summary({ r }: { r: AdviceReport }) {
  const counts = countBySeverity(r.findings);
  const ok = r.rules.filter((x) => x.state === "ok").length;
  const missing = r.rules.filter((x) => x.state === "not_enough_data");
  return (
    <section className="card wide" data-testid="advisor-summary">
      <div>
        {r.findings.length} finding{r.findings.length === 1 ? "" : "s"} ({SEVERITIES.map((s) => `${counts[s]} ${s}`).join(", ")}) from {r.rules.length}{" "}
        rules: {ok} ok, {missing.length} without enough data. Collected {new Date(r.collected_at).toLocaleString()}
        {r.redis_roles.length > 0 && `; the profile's Redis plays the roles ${r.redis_roles.join(", ")}`}.
      </div>
      {r.problems.map((p, i) => (
        <Problem key={i} testid="advisor-problem" text={p} />
      ))}
      {missing.length > 0 && (
        <details>
          <summary>Rules without enough data</summary>
          <ul data-testid="advisor-not-enough-data">
            {missing.map((x) => (
              <li key={x.rule}>
                <code>{x.rule}</code>: {x.note ?? "no data"}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

/** The Advisor page: `advise` for one profile, one-click fixes previewed and confirmed, the audit log. */
export function AdvisorPage({ profile: preferred, onReport }: { profile?: string; onReport?: (r: AdviceReport) => void }) {
  const { profiles, error: profilesError } = useProfiles();
  const [chosen, setChosen] = useState<string | null>(null);
  if (profiles === null) return <div className="muted">loading profiles…</div>;
  const names = profiles.length ? profiles.map((p) => p.name) : [preferred ?? "embedded"];
  const profile = chosen ?? initialProfile(names, preferred);
  return (
    <div data-testid="advisor-page">
      {profilesError && <ErrorBox error={profilesError} />}
      <AdvisorForProfile
        key={profile}
        profile={profile}
        view={profiles.find((p) => p.name === profile) ?? null}
        names={names}
        onProfile={setChosen}
        onReport={onReport}
      />
    </div>
  );
}

type Flow = { key: string; target: FlowTarget };

function AdvisorForProfile({
  profile,
  view,
  names,
  onProfile,
  onReport,
}: {
  profile: string;
  view: ProfileView | null;
  names: string[];
  onProfile: (p: string) => void;
  onReport?: (r: AdviceReport) => void;
}) {
  const advice = useReport(() => call("advise", { profile }), [profile]);
  const audit = useReport(() => call("audit_log", { profile }), [profile]);
  const [flow, setFlow] = useState<Flow | null>(null);
  const changed = useRef(false);
  const readOnly = view?.read_only ? readOnlyReason(profile) : null;
  const report = advice.report;

  useEffect(() => {
    if (report && onReport) onReport(report);
  }, [report, onReport]);

  const open = (key: string, target: FlowTarget) => {
    if (changed.current) advice.load();
    changed.current = false;
    setFlow({ key, target });
  };
  const close = () => {
    setFlow(null);
    // Something ran: the findings may have changed.
    if (changed.current) advice.load();
  };
  const done = (_entry: AuditEntry) => {
    changed.current = true;
    audit.load();
  };
  const flowFor = (key: string) =>
    flow && flow.key === key ? (
      <ActionFlow profile={profile} target={flow.target} readOnly={readOnly} onDone={done} onClose={close} />
    ) : null;

  // data-busy: the findings or the audit log are being read again, and the page may move when they
  // arrive (a section appears or goes); a driver clicks only once it is "false".
  return (
    <div data-testid="advisor-body" data-busy={advice.loading || audit.loading ? "true" : "false"}>
      <div className="toolbar">
        <ProfilePicker names={names} value={profile} onChange={onProfile} testid="advisor-profile" />
        <button data-testid="advisor-refresh" onClick={advice.load} disabled={advice.loading}>
          Run the advisor again
        </button>
        <span className="muted" data-testid="advisor-updated">
          {advice.loading && !advice.updated ? "running the rules…" : advice.updated ? `updated ${advice.updated.toLocaleTimeString()}` : ""}
        </span>
      </div>
      {readOnly && (
        <div className="error warning" data-testid="advisor-read-only">
          {readOnly} Previews still work: they only read.
        </div>
      )}
      {advice.error && <ErrorBox error={advice.error} />}
      {report && (
        <>
          <Summary r={report} />
          {report.findings.length === 0 && <div className="notice" data-testid="advisor-no-findings">No finding: every rule with enough data is ok.</div>}
          {groupFindings(report.findings).map((g) => (
            <section key={g.source} className="card wide" data-testid={`advisor-source-${g.source}`}>
              <h3>
                {SOURCE_LABELS[g.source] ?? g.source} <SeverityBadges counts={countBySeverity(g.bySeverity.flatMap((s) => s.findings))} testid={`advisor-count-${g.source}`} />
              </h3>
              {g.bySeverity.map((s) => (
                <div key={s.severity} data-testid={`advisor-${g.source}-${s.severity}`}>
                  <h4>{s.severity}</h4>
                  {s.findings.map((f) => (
                    <FindingView
                      key={f.id}
                      f={f}
                      profile={profile}
                      open={flow?.key === f.id}
                      onPreview={() => f.fix.kind === "action" && open(f.id, { kind: "apply", action: f.fix.action, params: f.fix.params })}
                      flow={flowFor(f.id)}
                    />
                  ))}
                </div>
              ))}
            </section>
          ))}
          {flow && !flow.key.startsWith("audit:") && !report.findings.some((f) => f.id === flow.key) && (
            <section className="card wide" data-testid="advisor-gone-flow">
              <div className="muted">The latest run no longer reports this finding; its action stays here until you close it.</div>
              {flowFor(flow.key)}
            </section>
          )}
        </>
      )}
      <AuditLog
        entries={audit.report}
        error={audit.error}
        readOnly={readOnly}
        open={flow?.key.startsWith("audit:") ? flow.key.slice("audit:".length) : null}
        onRollback={(id) => open(`audit:${id}`, { kind: "rollback", auditId: id })}
        flow={flow?.key.startsWith("audit:") ? flowFor(flow.key) : null}
      />
    </div>
  );
}
