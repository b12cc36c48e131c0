import type { AdviceReport } from "../../bindings/AdviceReport";
import type { Finding } from "../../bindings/Finding";
import type { Severity } from "../../bindings/Severity";
import { SEVERITIES, countBySeverity } from "../AdvisorPage";

/** The monitoring pages that show their own system's findings (named as the navigation names them). */
export type System = "redis" | "database" | "queues" | "cluster" | "cache";

/** A finding id's prefix (`pg` in `pg.unused_index:public.x`) → the page of the system it is about. */
const SYSTEM_OF_PREFIX: Record<string, System> = {
  redis: "redis",
  pg: "database",
  celery: "queues",
  k8s: "cluster",
  cache: "cache",
};

export const SYSTEMS: System[] = ["redis", "database", "queues", "cluster", "cache"];

/** The page a finding belongs to, from its id (`celery.unconsumed_queue:vector_queue` → `queues`); null for none. */
export function systemOf(findingId: string): System | null {
  const prefix = findingId.split(".")[0];
  return Object.prototype.hasOwnProperty.call(SYSTEM_OF_PREFIX, prefix) ? SYSTEM_OF_PREFIX[prefix] : null;
}

/** One system's findings of a report, most severe first (the report's order kept within a severity). */
export function findingsOf(report: AdviceReport | null | undefined, system: System): Finding[] {
  if (!report) return [];
  const rank = (s: Severity) => SEVERITIES.indexOf(s);
  return report.findings.filter((f) => systemOf(f.id) === system).sort((a, b) => rank(a.severity) - rank(b.severity));
}

/** Counts by severity for one system's nav badges: null (no badges) without a report. */
export function systemCounts(report: AdviceReport | null | undefined, system: System): Record<Severity, number> | null {
  return report ? countBySeverity(findingsOf(report, system)) : null;
}

/** "4 open findings (2 critical, 1 warning, 1 info)": the severities with none left out. */
export function findingsSummary(findings: Finding[]): string {
  const counts = countBySeverity(findings);
  const parts = SEVERITIES.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`);
  return `${findings.length} open finding${findings.length === 1 ? "" : "s"} (${parts.join(", ")})`;
}

/** What a monitoring page takes to show its system's findings; both optional, so the pages work without. */
export interface AdviceProps {
  /** the navigation's last `advise` report (none yet: nothing shown) */
  advice?: AdviceReport | null;
  /** switches to the Advisor page */
  onOpenAdvisor?: () => void;
}

const SHOWN_TITLES = 3;

/**
 * The strip at the top of a monitoring page: its system's open findings in the last report, up to
 * three titles, and "Open in Advisor". Nothing without a report, without findings, or when the page
 * shows another profile than the one the report is about (`profile` null: a page without profiles).
 */
export function PageFindings({ system, profile, advice, onOpenAdvisor }: { system: System; profile: string | null } & AdviceProps) {
  if (!advice || (profile !== null && advice.profile !== profile)) return null;
  const findings = findingsOf(advice, system);
  if (findings.length === 0) return null;
  const testid = `page-findings-${system}`;
  const more = findings.length - SHOWN_TITLES;
  return (
    <div className={`page-findings sev-${findings[0].severity}`} data-testid={testid} title={`advisor run ${new Date(advice.collected_at).toLocaleString()}`}>
      <div className="page-findings-text">
        <b data-testid={`${testid}-summary`}>{findingsSummary(findings)}</b>
        <ul>
          {findings.slice(0, SHOWN_TITLES).map((f) => (
            <li key={f.id} data-testid={`${testid}-title`} data-id={f.id}>
              <span className={`badge sev-${f.severity}`}>{f.severity}</span> {f.title}
            </li>
          ))}
        </ul>
        {more > 0 && (
          <div className="muted" data-testid={`${testid}-more`}>
            and {more} more
          </div>
        )}
      </div>
      {onOpenAdvisor && (
        <button className="small" data-testid={`${testid}-open`} onClick={onOpenAdvisor}>
          Open in Advisor
        </button>
      )}
    </div>
  );
}
