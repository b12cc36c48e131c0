import { describe, expect, it, vi } from "vitest";
import { act } from "react";
import type { ProfileView } from "./bindings/ProfileView";

vi.mock("./platform", async (importOriginal) => {
  const real = await importOriginal<typeof import("./platform")>();
  return { ...real, call: vi.fn() };
});

import { CallError } from "./platform";
import { AdvisorPage, SeverityBadges, countBySeverity, groupFindings, sourceOf, useAdviceCounts } from "./pages/AdvisorPage";
import { SVG, callsOf, last, click, dom, pageHarness, refused } from "./monitor-harness";
import { advice, auditLog, dropApplied, dropRollbackPreview, dropRolledBack, policyApplied, policyPreview } from "./fixtures/advisor";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const profiles: ProfileView[] = [
  { name: "embedded", read_only: false, origin: "embedded", endpoints: [] },
  {
    name: "prod",
    read_only: false,
    origin: "file",
    endpoints: [
      { service: "redis", url: "redis://:***@10.0.0.5:6379/0", has_secret: true },
      { service: "postgres", url: "postgres://app@10.0.0.6:5432/shop", has_secret: false },
    ],
  },
  { name: "prod-ro", read_only: true, origin: "file", endpoints: [{ service: "redis", url: "redis://:***@10.0.0.5:6379/0", has_secret: true }] },
];

const { $, $$, byId, text } = dom(document.body);

const page = pageHarness(() => ({
  list_profiles: () => profiles,
  advise: (a: { profile: string }) => ({ ...advice, profile: a.profile }),
  audit_log: () => auditLog,
  action_preview: (a: { rollback_of: string | null }) => (a.rollback_of ? dropRollbackPreview : policyPreview),
  action_apply: () => policyApplied,
  action_rollback: () => dropRolledBack,
}));
const { handlers } = page;
const render = (profile = "prod") => page.render(<AdvisorPage profile={profile} />);

const finding = (id: string) => $(`[data-testid="finding"][data-id="${id}"]`)!;
const inFinding = (id: string, testid: string) => finding(id).querySelector<HTMLElement>(`[data-testid="${testid}"]`);
const auditRow = (id: string) => $(`[data-testid="audit-row"][data-id="${id}"]`)!;

describe("Advisor page", () => {
  it("groups the findings by source, then severity, each with its evidence, why, source and fix", async () => {
    await render();
    expect(callsOf("advise")).toEqual([{ profile: "prod" }]);
    expect(callsOf("audit_log")).toEqual([{ profile: "prod" }]);
    // Sources in a fixed order, whatever the report's order (most severe first).
    const sections = $$('[data-testid^="advisor-source-"]').map((s) => s.dataset.testid);
    expect(sections).toEqual(["advisor-source-redis", "advisor-source-postgres", "advisor-source-cache"]);
    const redisCritical = $$('[data-testid="advisor-redis-critical"] [data-testid="finding"]').map((f) => f.dataset.id);
    expect(redisCritical).toEqual(["redis.allkeys_on_broker"]);
    expect($$('[data-testid="advisor-redis-warning"] [data-testid="finding"]').map((f) => f.dataset.id)).toEqual(["redis.evictions"]);
    expect($$('[data-testid="advisor-postgres-info"] [data-testid="finding"]').map((f) => f.dataset.id)).toEqual([
      "pg.unused_index:public.orders_status_unused",
    ]);
    expect(text("advisor-count-postgres-warning")).toBe("1");
    expect(text("advisor-count-postgres-info")).toBe("1");

    const f = "redis.allkeys_on_broker";
    expect(inFinding(f, "finding-evidence")!.textContent).toContain("maxmemory-policyallkeys-lru");
    expect(inFinding(f, "finding-why")!.textContent).toContain("queued tasks and the unacked hash can be evicted");
    expect(inFinding(f, "finding-source")!.textContent).toContain("KNOWN-TRAPS.md #3");
    expect(inFinding(f, "finding-fix")!.textContent).toContain("CONFIG SET maxmemory-policy volatile-lru");
    // Units beside the values; PgHero named as the source.
    expect(inFinding("pg.idle_in_transaction", "finding-evidence")!.textContent).toContain("412 s");
    expect(inFinding("pg.idle_in_transaction", "finding-source")!.textContent).toContain("PgHero");
    // Advice has no button; an action has Preview.
    expect(inFinding("redis.evictions", "finding-preview")).toBeNull();
    expect(inFinding("redis.evictions", "finding-fix")!.textContent).toContain("raise maxmemory");
    expect(inFinding(f, "finding-preview")).not.toBeNull();

    expect(text("advisor-summary")).toContain("5 findings (1 critical, 2 warning, 2 info) from 8 rules: 2 ok, 1 without enough data");
    expect(text("advisor-summary")).toContain("the profile's Redis plays the roles cache, celery_broker");
    expect(text("advisor-problem")).toContain("pg_stat_statements is not readable");
    expect(text("advisor-not-enough-data")).toContain("its memory is unknown");
  });

  it("previews exactly what will run, applies only after the tick, with the preview's token, and shows the audit entry", async () => {
    await render();
    await click(inFinding("redis.allkeys_on_broker", "finding-preview"));
    expect(callsOf("action_preview")).toEqual([
      { profile: "prod", action: "redis.config_set", params: { name: "maxmemory-policy", value: "volatile-lru" }, rollback_of: null, confirm: null },
    ]);
    expect(text("preview-target")).toContain("redis://:***@10.0.0.5:6379/0");
    expect($$('[data-testid="preview-statements"] li').map((li) => li.textContent)).toEqual(["CONFIG SET maxmemory-policy volatile-lru"]);
    const change = $$('[data-testid="preview-changes"] tbody td').map((td) => td.textContent);
    expect(change).toEqual(["maxmemory-policy", "allkeys-lru", "volatile-lru"]);
    expect(text("preview-notes")).toContain("never runs CONFIG REWRITE");

    // Nothing runs before the tick.
    const run = byId("flow-run") as HTMLButtonElement;
    expect(run.disabled).toBe(true);
    await click(run);
    expect(callsOf("action_apply")).toEqual([]);
    await click(byId("flow-confirm"));
    expect((byId("flow-run") as HTMLButtonElement).disabled).toBe(false);
    await click(byId("flow-run"));
    expect(callsOf("action_apply")).toEqual([
      {
        profile: "prod",
        action: "redis.config_set",
        params: { name: "maxmemory-policy", value: "volatile-lru" },
        rollback_of: null,
        confirm: "c0ffee42",
      },
    ]);
    expect(text("audit-result")).toContain("applied");
    expect(text("audit-result")).toContain(policyApplied.id);
    expect($$('[data-testid="audit-result-changes"] tbody td').map((td) => td.textContent)).toEqual(["maxmemory-policy", "allkeys-lru", "volatile-lru"]);
    // The log is read again; closing the flow runs the advisor again.
    expect(callsOf("audit_log").length).toBe(2);
    expect(callsOf("advise").length).toBe(1);
    await click(byId("flow-close"));
    expect(callsOf("advise").length).toBe(2);
    expect(byId("action-flow")).toBeNull();
  });

  it("lists the audit log newest first with before and after; rolls back after a preview and a tick", async () => {
    await render();
    const rows = $$('[data-testid="audit-row"]');
    expect(rows.map((r) => r.dataset.id)).toEqual([...auditLog].reverse().map((e) => e.id));
    expect(auditRow(dropApplied.id).querySelector('[data-testid="audit-changes"]')!.textContent).toContain(
      "index public.orders_customer_b: CREATE INDEX orders_customer_b ON public.orders USING btree (customer) → absent",
    );
    // An entry already undone says by what; a rollback itself has no Roll back.
    expect(auditRow(auditLog[0].id).querySelector('[data-testid="audit-rolled-back"]')!.textContent).toContain(auditLog[1].id);
    expect(auditRow(auditLog[0].id).querySelector('[data-testid="audit-rollback"]')).toBeNull();
    expect(auditRow(auditLog[1].id).querySelector('[data-testid="audit-rollback"]')).toBeNull();

    await click(auditRow(dropApplied.id).querySelector('[data-testid="audit-rollback"]'));
    expect(callsOf("action_preview")).toEqual([{ profile: "prod", action: "", params: {}, rollback_of: dropApplied.id, confirm: null }]);
    expect($$('[data-testid="preview-statements"] li').map((li) => li.textContent)).toEqual(dropRollbackPreview.statements);
    expect(text("flow-run")).toBe("Roll back");
    await click(byId("flow-confirm"));
    await click(byId("flow-run"));
    expect(callsOf("action_rollback")).toEqual([{ profile: "prod", audit_id: dropApplied.id, confirm: "r011bac4" }]);
    expect(callsOf("action_apply")).toEqual([]);
    expect(text("audit-result")).toContain(`rollback of ${dropApplied.id}`);
    expect(callsOf("audit_log").length).toBe(2);
  });

  it("on a read-only profile previews but disables apply and rollback, with the reason", async () => {
    await render("prod-ro");
    expect(callsOf("advise")).toEqual([{ profile: "prod-ro" }]);
    expect(text("advisor-read-only")).toContain("Profile 'prod-ro' is read-only");
    await click(inFinding("redis.allkeys_on_broker", "finding-preview"));
    expect(callsOf("action_preview").length).toBe(1);
    expect((byId("flow-confirm") as HTMLInputElement).disabled).toBe(true);
    const run = byId("flow-run") as HTMLButtonElement;
    expect(run.disabled).toBe(true);
    expect(run.title).toContain("read-only");
    expect(text("flow-read-only")).toContain("read-only");
    await click(run);
    expect(callsOf("action_apply")).toEqual([]);
    const rollback = auditRow(dropApplied.id).querySelector<HTMLButtonElement>('[data-testid="audit-rollback"]')!;
    expect(rollback.disabled).toBe(true);
    expect(rollback.title).toContain("read-only");
    expect(text("audit-read-only")).toContain("read-only");
  });

  it("shows the core's read_only refusal clearly, and a stale preview with Preview again", async () => {
    handlers.action_apply = refused("read_only", "profile 'prod' is read-only: action_apply refused");
    await render();
    await click(inFinding("redis.allkeys_on_broker", "finding-preview"));
    await click(byId("flow-confirm"));
    await click(byId("flow-run"));
    expect(text("error-box")).toContain("read_only");
    expect(text("error-box")).toContain("action_apply refused");
    expect(text("read-only-refused")).toContain("nothing ran");
    expect(byId("audit-result")).toBeNull();

    handlers.action_apply = () => {
      throw new CallError({ code: "conflict", message: "maxmemory-policy changed since the preview: preview again" });
    };
    await click(byId("flow-run"));
    expect(text("stale-preview")).toContain("Preview again");
    await click(byId("flow-preview-again"));
    expect(callsOf("action_preview").length).toBe(2);
    expect(byId("error-box")).toBeNull();
    expect((byId("flow-confirm") as HTMLInputElement).checked).toBe(false);
  });

  it("shows what a running action does, read every second, and nothing once it has ended", async () => {
    let finish: (v: unknown) => void = () => {};
    handlers.action_apply = () => new Promise((r) => (finish = r));
    handlers.action_progress = () => [
      {
        profile: "prod",
        action: "redis.config_set",
        target: "redis://:***@10.0.0.5:6379/0",
        phase: "waiting for old snapshots",
        done: 1,
        total: 2,
        unit: "lockers",
        percent: 50,
        started_at: "2026-12-06T10:00:00Z",
        elapsed_seconds: 3.2,
      },
    ];
    vi.useFakeTimers({ shouldAdvanceTime: false });
    try {
      await act(async () => {
        page.mount(<AdvisorPage profile="prod" />);
        await vi.advanceTimersByTimeAsync(10);
      });
      await act(async () => {
        inFinding("redis.allkeys_on_broker", "finding-preview")!.click();
        await vi.advanceTimersByTimeAsync(10);
      });
      await act(async () => {
        byId("flow-confirm")!.click();
        await vi.advanceTimersByTimeAsync(10);
      });
      await act(async () => {
        byId("flow-run")!.click();
        await vi.advanceTimersByTimeAsync(10);
      });
      expect(byId("flow-progress")).toBeNull();
      await act(async () => {
        await vi.advanceTimersByTimeAsync(1000);
      });
      expect(callsOf("action_progress")).toEqual([{ profile: "prod" }]);
      expect(text("flow-progress")).toMatch(/^waiting for old snapshots\s+50% \(1 of 2 lockers\), 3 s$/);
      expect(($('[data-testid="flow-progress"] progress') as HTMLProgressElement).value).toBe(50);
      await act(async () => {
        finish(policyApplied);
        await vi.advanceTimersByTimeAsync(10);
      });
      expect(byId("flow-progress")).toBeNull();
      expect(text("audit-result")).toContain("applied");
      await act(async () => {
        await vi.advanceTimersByTimeAsync(3000);
      });
      expect(callsOf("action_progress").length).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("draws a finding's figures over the last hour on request, from the sampler's history", async () => {
    handlers.history_chart = () => ({ format: "svg", mime: "image/svg+xml", file_name: "chart.svg", content: SVG });
    await render();
    expect(inFinding("pg.idle_in_transaction", "finding-chart")).toBeNull();
    const toggle = inFinding("redis.allkeys_on_broker", "finding-chart-toggle")!;
    expect(toggle.textContent).toContain("evictions_per_s");
    expect(callsOf("history_chart")).toEqual([]);
    await click(toggle);
    expect(callsOf("history_chart")).toEqual([
      { profile: "prod", source: "redis", metrics: ["evictions_per_s"], range_seconds: 3600, format: "svg", width: 560, height: 180 },
    ]);
    expect(inFinding("redis.allkeys_on_broker", "finding-chart-image")!.getAttribute("src")).toContain("data:image/svg+xml");
    await click(inFinding("redis.allkeys_on_broker", "finding-chart-toggle"));
    expect(inFinding("redis.allkeys_on_broker", "finding-chart-image")).toBeNull();
  });

  it("shows an advise error as the other pages do", async () => {
    handlers.advise = refused("unreachable", "cannot reach Redis at 10.0.0.5:6379: connection refused");
    await render();
    expect(text("error-box")).toContain("unreachable");
    expect(text("error-box")).toContain("connection refused");
    // The audit log still shows.
    expect($$('[data-testid="audit-row"]').length).toBe(auditLog.length);
  });
});

describe("advisor helpers", () => {
  it("names the source from the rule id and counts by severity", () => {
    expect(sourceOf("pg.unused_index")).toBe("postgres");
    expect(sourceOf("redis.evictions")).toBe("redis");
    expect(sourceOf("celery.no_consumer")).toBe("celery");
    expect(countBySeverity(advice.findings)).toEqual({ critical: 1, warning: 2, info: 2 });
    expect(groupFindings(advice.findings).map((g) => [g.source, g.bySeverity.map((s) => s.severity)])).toEqual([
      ["redis", ["critical", "warning"]],
      ["postgres", ["warning", "info"]],
      ["cache", ["info"]],
    ]);
  });
});

describe("advisor badges in the navigation", () => {
  function Nav({ profile }: { profile: string }) {
    const { counts } = useAdviceCounts(profile);
    return <SeverityBadges counts={counts} testid="badges" />;
  }

  it("asks once on load, then not faster than once a minute, even when the window shows again", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: false });
    try {
      page.mount(<Nav profile="prod" />);
      await act(async () => {
        await vi.advanceTimersByTimeAsync(100);
      });
      expect(callsOf("advise").length).toBe(1);
      expect(text("badges-critical")).toBe("1");
      expect(text("badges-warning")).toBe("2");
      expect(text("badges-info")).toBe("2");
      act(() => document.dispatchEvent(new Event("visibilitychange")));
      await act(async () => {
        await vi.advanceTimersByTimeAsync(30_000);
      });
      expect(callsOf("advise").length).toBe(1);
      await act(async () => {
        await vi.advanceTimersByTimeAsync(30_000);
      });
      expect(callsOf("advise").length).toBe(2);
      expect(last(callsOf("advise"))).toEqual({ profile: "prod" });
    } finally {
      vi.useRealTimers();
    }
  });

  it("shows nothing when there is no finding", async () => {
    handlers.advise = () => ({ ...advice, findings: [] });
    await page.render(<Nav profile="prod" />);
    expect(byId("badges")).toBeNull();
  });
});
