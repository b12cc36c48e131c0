import { describe, expect, it, vi, afterEach } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { bytes, pct } from "./format";
import { call, CallError, takeToken } from "./platform";
import { OverviewView } from "./pages/Overview";
import type { StatusReport } from "./bindings/StatusReport";

afterEach(() => vi.unstubAllGlobals());

describe("format", () => {
  it("formats bytes and ratios", () => {
    expect(bytes(512)).toBe("512 B");
    expect(bytes(64 * 1024 * 1024)).toBe("64.0 MiB");
    expect(pct(0.6)).toBe("60.0%");
    expect(pct(null)).toBe("–");
  });
});

describe("platform (browser)", () => {
  it("sends the bearer token and maps API errors", async () => {
    sessionStorage.clear();
    window.history.replaceState(null, "", "/?token=abc123");
    expect(takeToken()).toBe("abc123");
    expect(window.location.search).toBe("");
    const fetchMock = vi.fn(async (_url: string, init: RequestInit) => {
      expect((init.headers as Record<string, string>).Authorization).toBe("Bearer abc123");
      return new Response(JSON.stringify({ code: "not_found", message: "no profile named 'x'" }), { status: 404 });
    });
    vi.stubGlobal("fetch", fetchMock);
    await expect(call("status", { profile: "x", top_statements: null })).rejects.toBeInstanceOf(CallError);
    try {
      await call("status", { profile: "x", top_statements: null });
    } catch (e) {
      expect((e as CallError).error.code).toBe("not_found");
    }
    expect(fetchMock.mock.calls[0][0]).toBe("/api/call/status");
  });
});

describe("overview", () => {
  it("shows figures and per-source errors", () => {
    const report = {
      profile: "p",
      read_only: false,
      collected_at: "2026-01-01T00:00:00Z",
      host: { hostname: "h", cpu_count: 2, cpu_percent: 12.5, load_average_1m: 0.5, memory_total_bytes: 1073741824, memory_used_bytes: 536870912, memory_available_bytes: 536870912, swap_used_bytes: 0, process_rss_bytes: 1048576 },
      engine: { embedding_model: "m", embedding_model_ready: true, embedding_model_problem: null, judge_ready: false, judge_problem: "no judge in /models/judge: run `simba models fetch`", storage: "embedded", namespaces: 1, entries: 3, hits: 1, misses: 1, hit_rate: 0.5, lookup_p99_us: 120 },
      redis: { state: "ok", data: { version: "7.0.15", role: "master", uptime_seconds: 1, connected_clients: 1, used_memory_bytes: 1048576, used_memory_peak_bytes: 1048576, maxmemory_bytes: 0, maxmemory_policy: "noeviction", mem_fragmentation_ratio: 1, keyspace_hits: 60, keyspace_misses: 40, hit_rate_lifetime: 0.6, hit_rate_interval: null, evicted_keys: 0, expired_keys: 0, keys_total: 100, databases: [], total_commands_processed: 1, instantaneous_ops_per_sec: 0 } },
      postgres: { state: "error", error: { code: "unreachable", message: "cannot reach PostgreSQL at postgres://h:1/db" } },
    } as unknown as StatusReport;
    const html = renderToStaticMarkup(<OverviewView report={report} />);
    expect(html).toContain("CPU 12.5% of 2 cores");
    expect(html).toContain("60.0% lifetime");
    expect(html).toContain("no limit");
    expect(html).toContain("100 keys");
    expect(html).toContain("cannot reach PostgreSQL");
    // The judge's problem is a warning, not an error: the checks still decide alone.
    expect(html).toContain('data-testid="warning-box"');
    expect(html).toContain("no judge in /models/judge");
    expect(html).toContain("the candidate checks decide alone");
    expect(html).not.toContain("Judge ready");

    const ready = { ...report, engine: { ...report.engine, judge_ready: true, judge_problem: null } };
    const ok = renderToStaticMarkup(<OverviewView report={ready} />);
    expect(ok).toContain("Judge ready");
    expect(ok).not.toContain('data-testid="warning-box"');
  });
});
