import { describe, expect, it, vi } from "vitest";
import { act } from "react";
import type { RedisReport } from "./bindings/RedisReport";
import type { ProfileView } from "./bindings/ProfileView";
import type { AlertsReport } from "./bindings/AlertsReport";
import type { SamplerStatus } from "./bindings/SamplerStatus";

vi.mock("./platform", async (importOriginal) => {
  const real = await importOriginal<typeof import("./platform")>();
  return { ...real, call: vi.fn() };
});

import { RedisPage } from "./pages/RedisPage";
import { formatValue, nearestPoint } from "./pages/monitor/Charts";
import { SVG, callsOf, last, click, dom, history, hover, pageHarness, refused, unknownCommand } from "./monitor-harness";
// Recorded with `simba-tuner redis --profile fix --interval 1 --json` against a private Redis 7.0 after a
// known workload (ui/src/fixtures/README.md says which).
import recorded from "./fixtures/redis-report.json";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const report = recorded as unknown as RedisReport;
const NOW = Date.parse("2026-12-05T12:00:00Z");

const profiles: ProfileView[] = [
  { name: "embedded", read_only: false, origin: "embedded", endpoints: [] },
  { name: "cache-prod", read_only: true, origin: "file", endpoints: [{ service: "redis", url: "redis://:***@127.0.0.1:46379/0", has_secret: true }] },
  { name: "warehouse", read_only: false, origin: "file", endpoints: [{ service: "postgres", url: "postgres://postgres@127.0.0.1:46432/postgres", has_secret: false }] },
];

const redisHistory = history(
  "redis",
  "cache-prod",
  [
    { metric: "hit_rate", label: "hit rate", unit: "%", value: (i) => 80 + (i % 10) },
    { metric: "memory_used", label: "used", unit: "bytes", value: (i) => 1_048_576 * (10 + i) },
    { metric: "maxmemory", label: "maxmemory", unit: "bytes", value: () => 67_108_864 },
    { metric: "evictions_per_s", label: "evictions", unit: "per_s", value: (i) => (i > 50 ? 12.5 : 0) },
    { metric: "ops_per_s", label: "ops", unit: "per_s", value: (i) => 1000 + i },
  ],
  NOW,
);

const alerts: AlertsReport = {
  profile: "cache-prod",
  evaluated_ms: NOW,
  alerts: [
    {
      rule: "redis.memory_high",
      source: "redis",
      state: "firing",
      severity: "critical",
      title: "Memory above 80% of maxmemory",
      detail: "used 54.1 MiB of 64.0 MiB (84.5%) for 6 min; evictions follow at the limit",
      since_ms: NOW - 360_000,
      value: 84.5,
      threshold: 80,
    },
    { rule: "redis.hit_rate_low", source: "redis", state: "ok", severity: "warning", title: "Hit rate below 80%", detail: "", since_ms: null, value: 86, threshold: 80 },
    // Another source's alert: not on this page.
    { rule: "postgres.connections_high", source: "postgres", state: "firing", severity: "warning", title: "Connections above 80% of max_connections", detail: "42 of 50", since_ms: NOW, value: 84, threshold: 80 },
  ],
};

const sampler: SamplerStatus = {
  interval_seconds: 10,
  retention_days: 7,
  profiles: [{ profile: "cache-prod", sources: ["redis"], last_sample_ms: NOW - 5000, last_error: null, samples: 360 }],
};

const { $, $$, byId, text } = dom(document.body);

const page = pageHarness(() => ({
  list_profiles: () => profiles,
  redis_report: () => report,
  history_series: () => redisHistory,
  history_chart: (a: { format: string; metrics: string[] }) =>
    a.format === "svg"
      ? { format: "svg", mime: "image/svg+xml", file_name: `redis-${a.metrics[0]}.svg`, content: SVG }
      : a.format === "csv"
        ? { format: "csv", mime: "text/csv", file_name: `redis-${a.metrics[0]}.csv`, content: "t_ms,hit_rate\n1,80\n" }
        : { format: "png", mime: "image/png", file_name: `redis-${a.metrics[0]}.png`, content: btoa("\x89PNG\r\n\x1a\n") },
  alerts: () => alerts,
  sampler_status: () => sampler,
}));
const { handlers } = page;
const render = (profile?: string) => page.render(<RedisPage profile={profile} />);

describe("Redis page", () => {
  it("offers only profiles with a Redis URL and asks for the chosen one's report", async () => {
    await render("warehouse");
    const options = $$('[data-testid="redis-profile"] option').map((o) => o.textContent);
    expect(options).toEqual(["cache-prod"]);
    expect(callsOf("redis_report")[0]).toMatchObject({ profile: "cache-prod" });
  });

  it("shows the recorded server's figures in plain words with units", async () => {
    await render("cache-prod");
    const m = report.memory;
    expect(text("tile-memory")).toContain(`of maxmemory 64.0 MiB`);
    expect(text("tile-memory")).toContain(`policy ${m.maxmemory_policy}`);
    const iv = report.stats.interval!;
    expect(text("tile-hit-rate")).toContain(`${(iv.hit_rate! * 100).toFixed(1)}%`);
    expect(text("tile-hit-rate")).toContain(`${iv.hits} hits, ${iv.misses} misses`);
    expect(text("tile-hit-rate")).toContain(`lifetime ${(report.stats.hit_rate_lifetime! * 100).toFixed(1)}%`);
    expect(text("tile-clients")).toContain(`${report.clients.blocked_clients} blocked`);
    expect(report.clients.blocked_clients).toBeGreaterThan(0);
    expect(text("tile-role")).toContain("master");
    expect(text("tile-host-memory")).toContain(report.memory.host_limit!.source);
    // CONFIG values as the server gave them.
    expect(text("redis-config")).toContain("maxmemory-policy");
    expect(text("redis-config")).toContain("allkeys-lru");
    // Keyspace and persistence.
    expect(text("redis-keyspace")).toContain("db0");
    expect(text("redis-keyspace")).toContain(String(report.keyspace[0].keys));
    expect(text("redis-persistence")).toContain("AOF: off");
  });

  it("lists the semantic cache's namespaces and prefixes with the estimate's error and keys without TTL", async () => {
    await render("cache-prod");
    const rows = $$('[data-testid="prefix-row"]').map((r) => r.textContent ?? "");
    const product = rows.find((r) => r.startsWith("product:"))!;
    expect(product).toContain("500");
    // 500 product keys, none with a TTL.
    expect(product).toMatch(/500 \(100\.0%\)$/);
    const session = rows.find((r) => r.startsWith("session:"))!;
    expect(session).toMatch(/0 \(0\.0%\)$/);
    const sc = report.memory_by_prefix!.prefixes.find((p) => p.name !== null)!;
    expect(rows.find((r) => r.startsWith(sc.prefix))).toContain(sc.name!);
    expect(text("sample-summary")).toContain(`of ${report.memory_by_prefix!.keys_in_db} keys`);
    expect(text("sample-summary")).toContain("95%");
    expect($$('[data-testid="biggest-keys"] tbody tr').length).toBe(report.memory_by_prefix!.biggest_keys.length);
  });

  it("shows SLOWLOG entries with duration, command and client, and clients by name", async () => {
    await render("cache-prod");
    const rows = $$('[data-testid="slowlog-row"]');
    expect(rows.length).toBe(report.slowlog.length);
    const first = report.slowlog[0];
    expect(rows[0].textContent).toContain(first.client_addr);
    expect(rows[0].textContent).toContain(first.command.slice(0, 20));
    expect(text("clients-by-name")).toContain("worker-1");
    expect(text("client-blocked")).toContain("blpop");
  });

  it("shows key names and commands as text, never as HTML", async () => {
    const evil = structuredClone(report);
    evil.slowlog[0].command = 'SET <img src=x onerror="alert(1)"> 1';
    evil.memory_by_prefix!.biggest_keys[0].key = "<b>bold</b>:1";
    handlers.redis_report = () => evil;
    await render("cache-prod");
    expect($('[data-testid="redis-slowlog"] img')).toBeNull();
    expect($('[data-testid="biggest-keys"] b')).toBeNull();
    expect(text("redis-slowlog")).toContain('<img src=x onerror="alert(1)">');
    expect(text("biggest-keys")).toContain("<b>bold</b>:1");
  });

  it("says CONFIG was refused on a managed service and keeps the rest", async () => {
    const managed: RedisReport = {
      ...report,
      config: [],
      config_problem: "CONFIG is not available on this server (managed services rename it away): maxmemory and policy come from INFO",
      slowlog: [],
      slowlog_problem: "SLOWLOG refused: NOPERM this user has no permissions to run the 'slowlog' command; grant +slowlog to read it",
    };
    handlers.redis_report = () => managed;
    await render("cache-prod");
    expect(text("config-problem")).toContain("CONFIG is not available");
    expect(text("slowlog-problem")).toContain("grant +slowlog");
    expect(text("tile-memory")).toContain("of maxmemory 64.0 MiB");
    expect($$('[data-testid="prefix-row"]').length).toBeGreaterThan(0);
  });

  it("shows a wrong password as an error with what to do, the charts still load", async () => {
    handlers.redis_report = refused(
      "refused",
      "Redis at 127.0.0.1:46379 refused the login: WRONGPASS invalid username-password pair. Fix the password of profile 'cache-prod'",
    );
    await render("cache-prod");
    expect(text("error-box")).toContain("WRONGPASS");
    expect(text("error-box")).not.toContain("secret");
    expect(byId("chart-hit_rate")).not.toBeNull();
  });

  it("refresh asks again, and the interval is selectable with 10 s by default", async () => {
    await render("cache-prod");
    expect((byId("redis-interval") as HTMLSelectElement).value).toBe("10");
    const before = callsOf("redis_report").length;
    await click(byId("redis-refresh"));
    expect(callsOf("redis_report").length).toBe(before + 1);
  });

  it("auto-refresh pauses while the page is hidden", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: false });
    try {
      let hidden = false;
      vi.spyOn(document, "visibilityState", "get").mockImplementation(() => (hidden ? "hidden" : "visible"));
      page.mount(<RedisPage profile="cache-prod" />);
      await act(async () => {
        await vi.advanceTimersByTimeAsync(100);
      });
      const first = callsOf("redis_report").length;
      await act(async () => {
        await vi.advanceTimersByTimeAsync(10_000);
      });
      expect(callsOf("redis_report").length).toBe(first + 1);
      hidden = true;
      await act(async () => {
        await vi.advanceTimersByTimeAsync(60_000);
      });
      expect(callsOf("redis_report").length).toBe(first + 1);
      hidden = false;
      act(() => document.dispatchEvent(new Event("visibilitychange")));
      await act(async () => {
        await vi.advanceTimersByTimeAsync(100);
      });
      expect(callsOf("redis_report").length).toBe(first + 2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("lists this profile's firing Redis alerts at the top, not other sources'", async () => {
    await render("cache-prod");
    const firing = $$('[data-testid="alert-firing"]');
    expect(firing.length).toBe(1);
    expect(firing[0].textContent).toContain("Critical: Memory above 80% of maxmemory");
    expect(firing[0].textContent).toContain("84.5%");
    expect(text("redis-alerts")).not.toContain("max_connections");
  });

  it("draws the charts from the core's SVG as images and shows the nearest point under the cursor", async () => {
    await render("cache-prod");
    const img = $('[data-testid="chart-hit_rate"] img') as HTMLImageElement;
    expect(img.src.startsWith("data:image/svg+xml")).toBe(true);
    // The SVG is never put into the page as markup.
    expect($('[data-testid="chart-hit_rate"] svg')).toBeNull();
    expect(callsOf("history_series")[0]).toMatchObject({ profile: "cache-prod", source: "redis", range_seconds: 3600 });
    expect(callsOf("history_series")[0].metrics).toEqual(expect.arrayContaining(["hit_rate", "memory_used", "maxmemory", "evictions_per_s", "ops_per_s"]));

    // Half-way across the hour: minute 30 (80 + 30 % 10 = 80%).
    await hover(byId("chart-hit_rate-area"), 0.5);
    const t30 = new Date(redisHistory.from_ms + 30 * 60_000).toLocaleTimeString();
    expect(text("chart-hit_rate-value")).toBe(`${t30}: hit rate 80.0%`);
    // Memory shows both lines under the cursor, in bytes.
    await hover(byId("chart-memory-area"), 1);
    expect(text("chart-memory-value")).toContain("used 70.0 MiB, maxmemory 64.0 MiB");
    // In the gap there is no sample.
    await hover(byId("chart-ops-area"), 22 / 60);
    expect(text("chart-ops-value")).toContain("ops no sample");
    expect(text("chart-gaps")).toContain("connection refused (server down)");
    expect(text("sampler-status")).toContain("sampling every 10 s");
  });

  it("changes the time range for the series and the charts", async () => {
    await render("cache-prod");
    await click(byId("range-604800"));
    expect(last(callsOf("history_series"))).toMatchObject({ range_seconds: 604800 });
    expect(last(callsOf("history_chart"))).toMatchObject({ range_seconds: 604800, format: "svg" });
  });

  it("exports a chart as PNG, SVG and CSV through a download link", async () => {
    const created: Blob[] = [];
    const downloads: string[] = [];
    URL.createObjectURL = vi.fn((b: Blob) => (created.push(b), `blob:${created.length}`)) as any;
    URL.revokeObjectURL = vi.fn();
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      downloads.push(`${this.download} ${this.href}`);
    });
    await render("cache-prod");
    await click(byId("chart-memory-export-png"));
    await click(byId("chart-memory-export-csv"));
    await click(byId("chart-memory-export-svg"));
    expect(downloads).toEqual(["redis-memory_used.png blob:1", "redis-memory_used.csv blob:2", "redis-memory_used.svg blob:3"]);
    expect(created.map((b) => b.type)).toEqual(["image/png", "text/csv", "image/svg+xml"]);
    // The PNG is decoded from base64 to its bytes.
    const png = new Uint8Array(await readBlob(created[0], "buffer"));
    expect(Array.from(png.slice(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(await readBlob(created[1], "text")).toBe("t_ms,hit_rate\n1,80\n");
    expect(callsOf("history_chart").filter((a) => a.format !== "svg").map((a) => a.metrics)).toEqual([
      ["memory_used", "maxmemory"],
      ["memory_used", "maxmemory"],
    ]);
  });

  it("stays calm when the core has no history commands yet, and the rest works", async () => {
    for (const c of ["history_series", "history_chart", "alerts", "sampler_status"]) handlers[c] = unknownCommand(c);
    await render("cache-prod");
    expect(text("history-unavailable")).toContain("History not available yet");
    expect(text("redis-alerts")).toContain("Alerts not available yet");
    expect(byId("error-box")).toBeNull();
    expect(text("tile-memory")).toContain("of maxmemory");
  });

  it("shows the sampler's last error under the charts", async () => {
    handlers.sampler_status = () => ({ ...sampler, profiles: [{ ...sampler.profiles[0], last_error: "connection refused by 127.0.0.1:46379" }] });
    await render("cache-prod");
    expect(text("sampler-status")).toContain("The last sample failed: connection refused by 127.0.0.1:46379");
  });

  it("says so when no profile has a Redis URL", async () => {
    handlers.list_profiles = () => [profiles[0], profiles[2]];
    await render();
    expect(text("redis-no-profile")).toContain("No profile has a Redis URL");
    expect(callsOf("redis_report").length).toBe(0);
  });
});

// jsdom's Blob has no arrayBuffer()/text(): read it as a page would, through FileReader.
function readBlob(b: Blob, as: "buffer"): Promise<ArrayBuffer>;
function readBlob(b: Blob, as: "text"): Promise<string>;
function readBlob(b: Blob, as: "buffer" | "text"): Promise<ArrayBuffer | string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result as ArrayBuffer | string);
    r.onerror = () => reject(r.error);
    if (as === "buffer") r.readAsArrayBuffer(b);
    else r.readAsText(b);
  });
}

describe("chart helpers", () => {
  it("finds the nearest point", () => {
    const pts = [0, 10, 20, 30].map((t) => ({ t_ms: t, value: t }));
    expect(nearestPoint(pts, 14)?.t_ms).toBe(10);
    expect(nearestPoint(pts, 16)?.t_ms).toBe(20);
    expect(nearestPoint(pts, -5)?.t_ms).toBe(0);
    expect(nearestPoint(pts, 99)?.t_ms).toBe(30);
    expect(nearestPoint([], 1)).toBeNull();
  });
  it("formats values in their units", () => {
    expect(formatValue(93.25, "%")).toBe("93.3%");
    expect(formatValue(3 * 1024 * 1024, "bytes")).toBe("3.0 MiB");
    expect(formatValue(1234.5, "per_s")).toBe("1,234.5/s");
    expect(formatValue(2.5, "ms")).toBe("2.50 ms");
    expect(formatValue(42, "count")).toBe("42");
    expect(formatValue(null, "ms")).toBe("no sample");
  });
});
