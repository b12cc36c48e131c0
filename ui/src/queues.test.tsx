import { describe, expect, it, vi } from "vitest";
import { act } from "react";
import type { ProfileView } from "./bindings/ProfileView";

vi.mock("./platform", async (importOriginal) => {
  const real = await importOriginal<typeof import("./platform")>();
  return { ...real, call: vi.fn() };
});

import { QueuesPage, flaggedQueues } from "./pages/QueuesPage";
import { SVG, callsOf, history, last, click, dom, pageHarness, refused } from "./monitor-harness";
import { queuesInspected, queuesPlain } from "./fixtures/queues";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const profiles: ProfileView[] = [
  { name: "embedded", read_only: false, origin: "embedded", endpoints: [] },
  { name: "workers", read_only: true, origin: "file", endpoints: [{ service: "celery_broker", url: "redis://:***@10.0.0.5:6379/1", has_secret: true }] },
  { name: "warehouse", read_only: false, origin: "file", endpoints: [{ service: "postgres", url: "postgres://postgres@127.0.0.1:46432/postgres", has_secret: false }] },
];

const { $, $$, byId, text } = dom(document.body);

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const brokerHistory = history(
  "celery",
  "workers",
  [
    { metric: "queued", label: "Messages queued", unit: "count", value: (i) => 100 * i },
    { metric: "largest_queue", label: "Deepest queue", unit: "count", value: (i) => 60 * i },
    { metric: "in_flight", label: "In flight (unacked)", unit: "count", value: () => 3 },
    { metric: "oldest_in_flight_s", label: "Oldest in flight", unit: "s", value: (i) => 30 * i },
  ],
  NOW,
);

const page = pageHarness(() => ({
  list_profiles: () => profiles,
  queues_report: (a: { inspect: boolean }) => (a.inspect ? queuesInspected : queuesPlain),
  history_series: () => brokerHistory,
  history_chart: (a: { metrics: string[] }) => ({ format: "svg", mime: "image/svg+xml", file_name: `celery-${a.metrics[0]}.svg`, content: SVG }),
  alerts: () => ({
    profile: "workers",
    evaluated_ms: NOW,
    alerts: [
      {
        rule: "celery_backlog_high",
        source: "celery",
        state: "firing",
        severity: "warning",
        title: "More than 1000 Celery messages waiting for 5 min",
        detail: "5900.0 messages queued for 6.0 min (threshold 1000)",
        since_ms: NOW - 360_000,
        value: 5900,
        threshold: 1000,
      },
    ],
  }),
  sampler_status: () => ({ interval_seconds: 10, retention_days: 7, profiles: [{ profile: "workers", sources: ["celery"], last_sample_ms: NOW - 5000, last_error: null, samples: 60 }] }),
}));
const { handlers } = page;
const render = (profile?: string) => page.render(<QueuesPage profile={profile} />);

const queueRow = (name: string) => $(`[data-testid="queue-row"][data-queue="${name}"]`)!;
const workerRow = (host: string) => $(`[data-testid="worker-row"][data-worker="${host}"]`)!;

describe("Queues page", () => {
  it("offers only profiles with a Celery broker and asks without inspect first", async () => {
    await render("warehouse");
    expect($$('[data-testid="queues-profile"] option').map((o) => o.textContent)).toEqual(["workers"]);
    expect(callsOf("queues_report")).toEqual([{ profile: "workers", listen_millis: null, visibility_timeout_seconds: null, inspect: false }]);
  });

  it("says so when no profile has a broker", async () => {
    handlers.list_profiles = () => profiles.filter((p) => p.name !== "workers");
    await render();
    expect(text("queues-no-profile")).toContain("No profile has a Celery broker URL");
    expect(callsOf("queues_report")).toEqual([]);
  });

  it("inspects the workers when asked, and flags the queue no live worker consumes", async () => {
    await render("workers");
    // Without inspect no consumer is known: nothing flagged, consumers unknown.
    expect(byId("queue-no-consumer")).toBeNull();
    expect(queueRow("vector_queue").textContent).toContain("inspect to know");

    await click(byId("queues-inspect"));
    expect(last(callsOf("queues_report"))).toEqual({ profile: "workers", listen_millis: null, visibility_timeout_seconds: null, inspect: true });
    expect($$('[data-testid="queue-row"]').map((r) => r.dataset.queue)).toEqual(["llm_queue", "vector_queue", "celery"]);
    const vq = queueRow("vector_queue");
    expect(vq.className).toBe("flag");
    expect(vq.querySelector('[data-testid="queue-no-consumer"]')!.textContent).toBe("no live consumer");
    expect(vq.textContent).toContain("tasks.embed × 7");
    expect(vq.textContent).toContain("none");
    expect($$('[data-testid="queue-no-consumer"]').length).toBe(1);

    const llm = queueRow("llm_queue");
    expect(llm.className).toBe("");
    const cells = Array.from(llm.querySelectorAll("td")).map((td) => td.textContent);
    expect(cells[1]).toBe("42");
    // Priority buckets by step, task names most frequent first, consumers, drain rate and wait.
    expect(cells[2]).toContain("0: 30");
    expect(cells[2]).toContain("3: 10");
    expect(cells[2]).toContain("6: 2");
    expect(cells[3]).toContain("tasks.llm × 40");
    expect(cells[3]).toContain("tasks.summarise × 2");
    expect(cells[4]).toBe("celery@worker-a");
    expect(cells[5]).toBe("-1.50/s");
    expect(cells[6]).toBe("28 s");
  });

  it("shows in-flight messages against the visibility_timeout, the dead worker, and the findings", async () => {
    await render("workers");
    expect(text("in-flight-summary")).toContain("2 unacked");
    expect(text("in-flight-summary")).toContain("visibility_timeout 1.0 h");
    expect(text("in-flight-summary")).toContain("1 past it");
    const inflight = $$('[data-testid="in-flight-row"]');
    expect(inflight.length).toBe(2);
    expect(inflight[0].className).toBe("flag");
    expect(inflight[0].textContent).toContain("tasks.llm");
    expect(inflight[0].textContent).toContain("111.1%");
    expect(inflight[1].className).toBe("");
    expect(inflight[1].textContent).toContain("12 s");

    const dead = workerRow("celery@worker-b");
    expect(dead.className).toBe("flag");
    expect(dead.querySelector('[data-testid="worker-state"]')!.textContent).toBe("dead (no heartbeat)");
    expect(dead.textContent).toContain("never");
    const alive = workerRow("celery@worker-a");
    expect(alive.className).toBe("");
    expect(alive.querySelector('[data-testid="worker-state"]')!.textContent).toBe("alive (heartbeat)");
    expect(alive.textContent).toContain("1 s ago");
    expect(alive.textContent).toContain("1,532");
    expect(alive.textContent).toContain("0.42 0.38 0.30");

    const findings = $$('[data-testid="queue-finding"]').map((f) => f.textContent ?? "");
    expect(findings.length).toBe(2);
    expect(findings[0]).toContain("worker 'celery@worker-b' is not alive");
    expect(findings[1]).toContain("older than the visibility_timeout");
    expect(text("queues-header")).toContain("redis://:***@10.0.0.5:6379/1");
    expect(text("queues-header")).toContain("1 of 2 workers alive");
  });

  it("refreshes every 5 s by default and on demand", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: false });
    try {
      page.mount(<QueuesPage profile="workers" />);
      await act(async () => {
        await vi.advanceTimersByTimeAsync(100);
      });
      expect((byId("queues-interval") as HTMLSelectElement).value).toBe("5");
      const first = callsOf("queues_report").length;
      await act(async () => {
        await vi.advanceTimersByTimeAsync(5_000);
      });
      expect(callsOf("queues_report").length).toBe(first + 1);
      // A manual refresh (flush's timers are fake here: advance them instead).
      act(() => byId("queues-refresh")!.dispatchEvent(new MouseEvent("click", { bubbles: true })));
      await act(async () => {
        await vi.advanceTimersByTimeAsync(100);
      });
      expect(callsOf("queues_report").length).toBe(first + 2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("shows the core's error as the other pages do", async () => {
    handlers.queues_report = refused("unreachable", "cannot reach the Celery broker at 10.0.0.5:6379: connection refused");
    await render("workers");
    expect(text("error-box")).toContain("unreachable");
    expect(text("error-box")).toContain("connection refused");
    expect(byId("queues-table")).toBeNull();
  });

  it("charts the broker's history and shows its firing alerts", async () => {
    await render("workers");
    expect(callsOf("history_series")[0]).toMatchObject({ profile: "workers", source: "celery", range_seconds: 3600 });
    expect(callsOf("history_series")[0].metrics).toEqual(expect.arrayContaining(["queued", "largest_queue", "in_flight", "oldest_in_flight_s"]));
    const charts = callsOf("history_chart").map((c: { metrics: string[] }) => c.metrics.join("+"));
    expect(charts).toEqual(expect.arrayContaining(["queued+largest_queue", "llm_queue+data_queue+vector_queue+celery_queue", "in_flight", "oldest_in_flight_s"]));
    expect(($('[data-testid="chart-queued"] img') as HTMLImageElement).src.startsWith("data:image/svg+xml")).toBe(true);
    expect(last(callsOf("alerts"))).toEqual({ profile: "workers" });
    expect(text("alert-firing")).toContain("More than 1000 Celery messages waiting");
    expect(text("alert-firing")).toContain("5900.0 messages queued");
  });

  it("flags only queues a finding names", () => {
    expect([...flaggedQueues(queuesInspected)]).toEqual(["vector_queue"]);
    expect([...flaggedQueues(queuesPlain)]).toEqual([]);
  });
});
