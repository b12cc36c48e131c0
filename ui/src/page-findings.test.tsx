import { describe, expect, it, vi } from "vitest";
import { act } from "react";
import type { ProfileView } from "./bindings/ProfileView";

vi.mock("./platform", async (importOriginal) => {
  const real = await importOriginal<typeof import("./platform")>();
  return { ...real, call: vi.fn() };
});

import { App } from "./App";
import { findingsOf, findingsSummary, systemCounts, systemOf } from "./pages/advisor/PageFindings";
import { callsOf, click, dom, flush, last, pageHarness, refused, unknownCommand } from "./monitor-harness";
import { advice, auditLog, multiSystemAdvice } from "./fixtures/advisor";
import { queuesPlain } from "./fixtures/queues";
import { deploymentsReport, hpasReport, nodesUsage, panelsReport, podsUsage } from "./fixtures/cluster";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const everything = [
  { service: "redis", url: "redis://:***@10.0.0.5:6379/0", has_secret: true },
  { service: "postgres", url: "postgres://app@10.0.0.6:5432/shop", has_secret: false },
  { service: "celery_broker", url: "redis://:***@10.0.0.5:6379/1", has_secret: true },
  { service: "prometheus", url: "http://10.0.0.9:9090/", has_secret: false },
  { service: "kubernetes", url: "https://10.0.0.1:6443/", has_secret: true },
] as ProfileView["endpoints"];

const profiles: ProfileView[] = [
  { name: "embedded", read_only: false, origin: "embedded", endpoints: [] },
  { name: "prod", read_only: false, origin: "file", endpoints: everything },
  { name: "staging", read_only: false, origin: "file", endpoints: everything },
];

const { $$, byId, text } = dom(document.body);

const down = refused("unreachable", "cannot reach 10.0.0.5:6379: connection refused");
const page = pageHarness(() => ({
  list_profiles: () => profiles,
  advise: (a: { profile: string }) => ({ ...multiSystemAdvice, profile: a.profile }),
  audit_log: () => auditLog,
  status: down,
  redis_report: down,
  db_report: down,
  queues_report: () => queuesPlain,
  prom_panels: () => panelsReport,
  k8s_nodes: () => nodesUsage,
  k8s_pods: (a: { namespace: string | null }) => podsUsage(a.namespace),
  k8s_hpas: () => hpasReport,
  k8s_deployments: () => deploymentsReport,
  cache_stats: down,
  history_series: unknownCommand("history_series"),
  history_chart: unknownCommand("history_chart"),
  alerts: unknownCommand("alerts"),
  sampler_status: unknownCommand("sampler_status"),
}));
const { handlers } = page;

async function renderApp(profile = "prod") {
  localStorage.setItem("simba-profile", profile);
  await page.render(<App />);
}

/** The counts a nav item's badges show, by severity ("" for a severity without a badge). */
const badges = (testid: string) => ({
  critical: text(`${testid}-critical`),
  warning: text(`${testid}-warning`),
  info: text(`${testid}-info`),
});
const titles = (system: string) => $$(`[data-testid="page-findings-${system}-title"]`).map((li) => li.textContent);
const titleIds = (system: string) => $$(`[data-testid="page-findings-${system}-title"]`).map((li) => li.dataset.id);

describe("findings per system", () => {
  it("maps a finding id to its page by the id's prefix, in one table", () => {
    expect(systemOf("redis.maxmemory_unset")).toBe("redis");
    expect(systemOf("pg.unused_index:public.x")).toBe("database");
    expect(systemOf("celery.unconsumed_queue:vector_queue")).toBe("queues");
    expect(systemOf("k8s.hpa_pinned:simba/web")).toBe("cluster");
    expect(systemOf("cache.low_hit_rate")).toBe("cache");
    // No page of its own (the Advisor still counts it), nor a look-alike prefix or an inherited key.
    expect(systemOf("host.swap_in_use")).toBeNull();
    expect(systemOf("redisx.evictions")).toBeNull();
    expect(systemOf("constructor.x")).toBeNull();
  });

  it("counts, orders and summarises one system's findings", () => {
    expect(findingsOf(multiSystemAdvice, "queues").map((f) => f.id)).toEqual([
      "celery.unconsumed_queue:vector_queue",
      "celery.visibility_timeout",
      "celery.backlog_growing:default",
      "celery.prefetch_long_tasks:celery@worker-1",
    ]);
    // Most severe first even when a report lists them otherwise.
    const shuffled = { ...advice, findings: [...advice.findings].reverse() };
    expect(findingsOf(shuffled, "redis").map((f) => f.id)).toEqual(["redis.allkeys_on_broker", "redis.evictions"]);
    expect(systemCounts(multiSystemAdvice, "cluster")).toEqual({ critical: 1, warning: 1, info: 0 });
    expect(systemCounts(null, "cluster")).toBeNull();
    expect(findingsSummary(findingsOf(multiSystemAdvice, "queues"))).toBe("4 open findings (2 critical, 2 warning)");
    expect(findingsSummary(findingsOf(multiSystemAdvice, "cache"))).toBe("1 open finding (1 info)");
  });
});

describe("the navigation's badges per page", () => {
  it("shows each monitoring page's own findings and the Advisor the total, from one advise", async () => {
    await renderApp();
    expect(callsOf("advise")).toEqual([{ profile: "prod" }]);
    expect(badges("nav-redis-badges")).toEqual({ critical: "1", warning: "1", info: "" });
    expect(badges("nav-database-badges")).toEqual({ critical: "", warning: "1", info: "1" });
    expect(badges("nav-queues-badges")).toEqual({ critical: "2", warning: "2", info: "" });
    expect(badges("nav-cluster-badges")).toEqual({ critical: "1", warning: "1", info: "" });
    expect(badges("nav-cache-badges")).toEqual({ critical: "", warning: "", info: "1" });
    expect(badges("nav-advisor-badges")).toEqual({ critical: "4", warning: "5", info: "2" });
    // The badges sit inside their nav items; the items keep their labels and test ids.
    expect(byId("nav-queues")!.contains(byId("nav-queues-badges"))).toBe(true);
    expect(byId("nav-queues")!.firstChild!.textContent).toBe("Queues");
    expect(byId("nav-queues-badges-critical")!.title).toBe("2 critical");
    for (const p of ["overview", "profiles", "querylab"]) expect($$(`[data-testid="nav-${p}"] .badge`)).toEqual([]);
  });

  it("shows no badge for a system without findings, and none at all before a report", async () => {
    handlers.advise = (a: { profile: string }) => ({
      ...multiSystemAdvice,
      profile: a.profile,
      findings: multiSystemAdvice.findings.filter((f) => !f.id.startsWith("k8s.")),
    });
    await renderApp();
    expect(byId("nav-cluster-badges")).toBeNull();
    expect(badges("nav-queues-badges")).toEqual({ critical: "2", warning: "2", info: "" });
    expect(badges("nav-advisor-badges")).toEqual({ critical: "3", warning: "4", info: "2" });
    await click(byId("nav-cluster"));
    expect(byId("cluster-page")).not.toBeNull();
    expect(byId("page-findings-cluster")).toBeNull();
  });

  it("shows neither badges nor strips when advise fails", async () => {
    handlers.advise = down;
    await renderApp();
    expect(callsOf("advise").length).toBe(1);
    expect($$('nav [data-testid$="-badges"]')).toEqual([]);
    await click(byId("nav-queues"));
    expect(byId("queues-page")).not.toBeNull();
    expect(byId("page-findings-queues")).toBeNull();
  });
});

describe("the strip of open findings on each monitoring page", () => {
  it("lists the page's own findings, up to three titles, on every page, without another advise", async () => {
    await renderApp();

    await click(byId("nav-queues"));
    expect(byId("queues-page")!.firstElementChild).toBe(byId("page-findings-queues"));
    expect(text("page-findings-queues-summary")).toBe("4 open findings (2 critical, 2 warning)");
    expect(titleIds("queues")).toEqual(["celery.unconsumed_queue:vector_queue", "celery.visibility_timeout", "celery.backlog_growing:default"]);
    expect(titles("queues")).toEqual([
      "critical 120 messages wait in 'vector_queue', which no live worker consumes",
      "critical An unacknowledged task has been running 3300 s against a visibility_timeout of 3600 s",
      "warning Queue 'default' holds 840 messages and grows by 2.5/s",
    ]);
    expect(text("page-findings-queues-more")).toBe("and 1 more");
    expect(text("page-findings-queues-open")).toBe("Open in Advisor");
    expect(byId("page-findings-queues")!.className).toBe("page-findings sev-critical");
    // The page itself still works beneath it.
    expect(byId("queues-profile")).not.toBeNull();

    await click(byId("nav-redis"));
    expect(text("page-findings-redis-summary")).toBe("2 open findings (1 critical, 1 warning)");
    expect(titles("redis")).toEqual(["critical allkeys-lru on the Redis that is also the Celery broker", "warning Redis evicts keys (3.2/s over the interval)"]);
    expect(byId("page-findings-redis-more")).toBeNull();
    expect(text("error-box")).toContain("connection refused");

    await click(byId("nav-database"));
    expect(text("page-findings-database-summary")).toBe("2 open findings (1 warning, 1 info)");
    expect(titles("database")).toEqual([
      "warning 1 session(s) idle in transaction, the oldest for 412 s",
      "info Index public.orders_status_unused was never scanned",
    ]);
    expect(byId("page-findings-database")!.className).toBe("page-findings sev-warning");

    await click(byId("nav-cluster"));
    expect(text("page-findings-cluster-summary")).toBe("2 open findings (1 critical, 1 warning)");
    expect(titles("cluster")).toEqual([
      "critical Deployment simba/worker: a pod uses 93% of its memory limit",
      "warning HPA simba/web is at maxReplicas 10 and the load asks for 14",
    ]);

    await click(byId("nav-cache"));
    expect(byId("cache-page")!.firstElementChild).toBe(byId("page-findings-cache"));
    expect(text("page-findings-cache-summary")).toBe("1 open finding (1 info)");
    expect(titles("cache")).toEqual(["info Semantic cache hit rate 0.12 below the 0.3 target"]);

    // One strip per page, only its own system's.
    expect($$('[data-testid^="page-findings-"][data-testid$="-summary"]').length).toBe(1);
    // Everything came from the navigation's one report.
    expect(callsOf("advise")).toEqual([{ profile: "prod" }]);
  });

  it("Open in Advisor switches to the Advisor page for the same profile", async () => {
    await renderApp();
    await click(byId("nav-cluster"));
    await click(byId("page-findings-cluster-open"));
    expect(byId("cluster-page")).toBeNull();
    expect(byId("advisor-page")).not.toBeNull();
    expect(byId("nav-advisor")!.className).toBe("active");
    expect(byId("nav-cluster")!.className).toBe("");
    expect((byId("advisor-profile") as HTMLSelectElement).value).toBe("prod");
    // The Advisor runs its own advise, as when opened from the navigation; its findings show there.
    expect(callsOf("advise")).toEqual([{ profile: "prod" }, { profile: "prod" }]);
    expect($$('[data-testid="advisor-source-k8s"] [data-testid="finding"]').map((f) => f.dataset.id)).toEqual([
      "k8s.memory_limit_close:simba/worker",
      "k8s.hpa_pinned:simba/web",
    ]);
  });

  it("shows nothing when the page shows another profile than the report's", async () => {
    await renderApp();
    await click(byId("nav-queues"));
    expect(byId("page-findings-queues")).not.toBeNull();
    const picker = byId("queues-profile") as HTMLSelectElement;
    act(() => {
      picker.value = "staging";
      picker.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await flush();
    expect(last(callsOf("queues_report")).profile).toBe("staging");
    expect(byId("page-findings-queues")).toBeNull();
    // The navigation's badges are still the report's profile's.
    expect(badges("nav-queues-badges")).toEqual({ critical: "2", warning: "2", info: "" });
  });
});
