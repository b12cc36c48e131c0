import { describe, expect, it, vi } from "vitest";
import type { DbReport } from "./bindings/DbReport";
import type { ExplainReport } from "./bindings/ExplainReport";
import type { ProfileView } from "./bindings/ProfileView";
import type { AlertsReport } from "./bindings/AlertsReport";

vi.mock("./platform", async (importOriginal) => {
  const real = await importOriginal<typeof import("./platform")>();
  return { ...real, call: vi.fn() };
});

import { DatabasePage, heavySeqScans } from "./pages/DatabasePage";
import { SVG, callsOf, last, click, dom, history, hover, pageHarness, refused, type, unknownCommand } from "./monitor-harness";
// Recorded with `simba-tuner db --json` and `simba-tuner explain --json` against a private PostgreSQL 18
// with pgvector after a known workload (ui/src/fixtures/README.md says which).
import recordedDb from "./fixtures/db-report.json";
import recordedExplain from "./fixtures/explain-report.json";
// The same database while another session held ACCESS EXCLUSIVE on a table: the tables part timed out.
import lockedTables from "./fixtures/db-report-locked-tables.json";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const report = recordedDb as unknown as DbReport;
const plan = recordedExplain as unknown as ExplainReport;
const NOW = Date.parse("2026-12-05T12:00:00Z");

const profiles: ProfileView[] = [
  { name: "embedded", read_only: false, origin: "embedded", endpoints: [] },
  { name: "warehouse", read_only: false, origin: "file", endpoints: [{ service: "postgres", url: "postgres://postgres:***@127.0.0.1:46432/postgres", has_secret: true }] },
];

const pgHistory = history(
  "postgres",
  "warehouse",
  [
    { metric: "connections", label: "connections", unit: "count", value: (i) => 10 + (i % 5) },
    { metric: "max_connections", label: "max_connections", unit: "count", value: () => 50 },
    { metric: "slow_statement_mean_ms", label: "slowest mean", unit: "ms", value: (i) => 300 + i },
    { metric: "cache_hit_ratio", label: "cache hit", unit: "%", value: () => 99.2 },
    { metric: "transactions_per_s", label: "transactions", unit: "per_s", value: (i) => 40 + i },
  ],
  NOW,
);

const alerts: AlertsReport = {
  profile: "warehouse",
  evaluated_ms: NOW,
  alerts: [
    {
      rule: "postgres.new_slow_statement",
      source: "postgres",
      state: "firing",
      severity: "warning",
      title: "A new slow statement",
      detail: "select pg_sleep($1) averages 300.4 ms over 1 call",
      since_ms: NOW - 60_000,
      value: 300.4,
      threshold: 250,
    },
    { rule: "postgres.connections_high", source: "postgres", state: "not_enough_data", severity: "warning", title: "Connections above 80%", detail: "", since_ms: null, value: null, threshold: 80 },
  ],
};

const { $, $$, byId, text } = dom(document.body);

const page = pageHarness(() => ({
  list_profiles: () => profiles,
  db_report: () => report,
  explain: () => plan,
  history_series: () => pgHistory,
  history_chart: (a: { metrics: string[] }) => ({ format: "svg", mime: "image/svg+xml", file_name: `pg-${a.metrics[0]}.svg`, content: SVG }),
  alerts: () => alerts,
  sampler_status: () => ({ interval_seconds: 10, retention_days: 7, profiles: [] }),
}));
const { handlers } = page;
const render = (profile = "warehouse") => page.render(<DatabasePage profile={profile} />);

const statement = (needle: string) => report.statements!.by_mean.find((s) => s.query.includes(needle))!;

describe("Database page", () => {
  it("lists pg_stat_statements by mean time with calls, rows, times and the buffer hit ratio", async () => {
    await render();
    expect(callsOf("db_report")[0]).toMatchObject({ profile: "warehouse" });
    const rows = $$('[data-testid="statements-mean"] [data-testid="statement-row"]');
    expect(rows.length).toBe(report.statements!.by_mean.length);
    // Slowest per call first: the hnsw index build, then ANALYZE, then pg_sleep(0.3).
    expect(rows[0].textContent).toContain("create index items_embedding_hnsw");
    const sleep = rows.find((r) => r.textContent!.includes("select pg_sleep($1)"))!;
    expect(sleep.textContent).toContain("300.4");
    expect(sleep.querySelectorAll("td")[1].textContent).toBe("1");
    expect(text("statements-reset")).toContain("counted since");
    await click(byId("statements-by-total"));
    expect($$('[data-testid="statements-total"] [data-testid="statement-row"]').length).toBe(report.statements!.by_total.length);
  });

  it("shortens long statements and shows the whole text on click, as text", async () => {
    const long = structuredClone(report);
    long.statements!.by_mean[0].query = "select <script>alert(1)</script> " + "x, ".repeat(80) + "y from t";
    handlers.db_report = () => long;
    await render();
    const code = $('[data-testid="statements-mean"] code.expandable')!;
    expect(code.textContent!.endsWith("…")).toBe(true);
    await click(code);
    expect(code.textContent).toBe(long.statements!.by_mean[0].query);
    expect($('[data-testid="statements-mean"] script')).toBeNull();
  });

  it("gives the clear finding when pg_stat_statements is not preloaded, and the rest still shows", async () => {
    handlers.db_report = () => ({
      ...report,
      statements: null,
      statements_problem:
        "pg_stat_statements is not loaded: add it to shared_preload_libraries in postgresql.conf, restart the server, then CREATE EXTENSION pg_stat_statements",
    });
    await render();
    expect(text("statements-problem")).toContain("shared_preload_libraries");
    expect(byId("statements-mean")).toBeNull();
    expect(text("pg-tables")).toContain("public.orders");
  });

  it("says why the tables part is missing when a lock blocks it, and the rest still shows", async () => {
    handlers.db_report = () => ({ ...report, ...(lockedTables as unknown as Partial<DbReport>) });
    await render();
    expect(text("tables-problem")).toContain("canceling statement due to lock timeout");
    expect(byId("table-heavy-seq")).toBeNull();
    expect(text("pg-connections")).toContain("of max_connections 50");
    expect($$('[data-testid="statements-mean"] [data-testid="statement-row"]').length).toBe(report.statements!.by_mean.length);
  });

  it("marks tables read by heavy sequential scans", async () => {
    await render();
    const orders = report.tables.find((t) => t.name === "orders")!;
    expect(heavySeqScans(orders)).toBe(true);
    const flagged = $$('[data-testid="table-heavy-seq"]').map((r) => r.textContent ?? "");
    expect(flagged.some((r) => r.includes("public.orders"))).toBe(true);
    expect(text("heavy-seq-note")).toContain("sequential scans");
    const docs = report.tables.find((t) => t.name === "docs")!;
    expect(heavySeqScans(docs)).toBe(false);
  });

  it("shows unused and duplicate indexes, and pgvector columns with their indexes", async () => {
    await render();
    expect(text("unused-indexes")).toContain("orders_customer_a");
    expect(text("unused-indexes")).toContain("CREATE INDEX orders_customer_a ON public.orders USING btree (customer)");
    expect(text("duplicate-indexes")).toContain("orders_customer_a");
    expect(text("duplicate-indexes")).toContain("orders_customer_b");
    expect(text("vector-columns")).toContain("public.items.embedding");
    expect(text("vector-columns")).toContain("hnsw vector_cosine_ops");
    expect(text("vector-columns")).toContain("m 16, ef_construction 64");
    expect(text("vector-unindexed")).toContain("public.docs.embedding");
  });

  it("shows settings against the server's memory and connections against max_connections", async () => {
    await render();
    const sb = report.settings.find((s) => s.name === "shared_buffers")!;
    expect(text("setting-shared_buffers")).toContain(sb.value);
    expect(text("setting-shared_buffers")).toMatch(/of RAM/);
    expect(text("setting-shared_buffers")).toContain("128MB = 0.5% of RAM (configuration file)");
    expect(text("connections-total")).toContain("4 of max_connections 50 (8.0%)");
  });

  it("explains a statement: parameters first, then the plan as a tree with the slowest node marked", async () => {
    await render();
    const rows = $$('[data-testid="statements-mean"] [data-testid="statement-row"]');
    const sleep = rows.find((r) => r.textContent!.includes("select pg_sleep($1)"))!;
    // pg_stat_statements keeps `$1` for the constant: the page asks for it before running anything.
    await click(sleep.querySelector<HTMLElement>('[data-testid="explain-statement"]'));
    expect(callsOf("explain").length).toBe(0);
    expect((byId("explain-sql") as HTMLTextAreaElement).value).toBe("select pg_sleep($1)");
    expect(text("explain-params")).toContain("Replace $1 with values first");
    expect((byId("explain-run") as HTMLButtonElement).disabled).toBe(true);

    await type(byId("explain-sql"), plan.statement);
    await click(byId("explain-run"));
    expect(last(callsOf("explain"))).toMatchObject({ profile: "warehouse", sql: plan.statement });
    expect(text("plan-summary")).toContain(`execution ${plan.execution_ms.toFixed(1)} ms`);
    // The recorded plan: Aggregate > Hash Join > (Seq Scan on orders, Hash > Seq Scan on items).
    const nodes = $$('[data-testid="plan-tree"] .plan-node').map((n) => n.querySelector("b")!.textContent);
    expect(nodes).toEqual(["Aggregate", "Hash Join", "Seq Scan", "Hash", "Seq Scan"]);
    const slowest = $$('[data-testid="plan-slowest"]');
    expect(slowest.length).toBe(1);
    // Marked where the core's slowest_path points: the scan of orders.
    expect(slowest[0].getAttribute("data-path")).toBe(["0", ...plan.slowest_path.map(String)].join("."));
    expect(slowest[0].textContent).toContain("Seq Scan on orders");
    expect(slowest[0].textContent).toContain("slowest");
    expect(slowest[0].textContent).toContain("Filter: (total > '50'::numeric)");
  });

  it("runs a statement without parameters at once, and shows the core's refusal of one that is not a read", async () => {
    handlers.explain = refused(
      "read_only",
      "not explained: it starts with ANALYZE: only SELECT, WITH, VALUES and TABLE statements are explained with ANALYZE. EXPLAIN ANALYZE runs the statement, so only reads are accepted",
    );
    await render();
    const rows = $$('[data-testid="statements-mean"] [data-testid="statement-row"]');
    const analyze = rows.find((r) => r.querySelector("code")?.textContent === "analyze")!;
    await click(analyze.querySelector<HTMLElement>('[data-testid="explain-statement"]'));
    expect(last(callsOf("explain"))).toMatchObject({ sql: "analyze" });
    expect(text("explain-refused")).toContain("Not run: not explained: it starts with ANALYZE");
    expect(byId("plan-tree")).toBeNull();
  });

  it("shows the refusal of a statement that writes, and the page keeps its figures", async () => {
    handlers.explain = refused(
      "read_only",
      "not explained: it starts with DELETE: only SELECT, WITH, VALUES and TABLE statements are explained with ANALYZE. EXPLAIN ANALYZE runs the statement, so only reads are accepted",
    );
    await render();
    await type(byId("explain-sql"), "delete from orders");
    await click(byId("explain-run"));
    expect(text("explain-refused")).toContain("it starts with DELETE");
    expect(byId("plan-tree")).toBeNull();
    expect(text("pg-tables")).toContain("public.orders");
  });

  it("shows sessions idle in transaction, long-running, blocked and blocking", async () => {
    await render();
    expect(text("idle-in-transaction")).toContain("1 idle in transaction, the oldest for 8 s");
    expect(text("long-running")).toContain("select pg_sleep(600);");
    expect(text("blocked-sessions")).toContain("blocked by 13606");
    expect(text("blocked-sessions")).toContain("Lock: transactionid");
    expect(text("blocking-sessions")).toContain("billing-job");
  });

  it("lists firing postgres alerts and counts rules waiting for data", async () => {
    await render();
    expect(text("postgres-alerts")).toContain("Warning: A new slow statement");
    expect(text("postgres-alerts")).toContain("select pg_sleep($1) averages 300.4 ms");
  });

  it("charts connections against max_connections with the value under the cursor", async () => {
    await render();
    expect(callsOf("history_series")[0].metrics).toEqual(
      expect.arrayContaining(["connections", "max_connections", "slow_statement_mean_ms", "cache_hit_ratio", "transactions_per_s"]),
    );
    await hover(byId("chart-connections-area"), 0);
    const t0 = new Date(pgHistory.from_ms).toLocaleTimeString();
    expect(text("chart-connections-value")).toBe(`${t0}: connections 10, max_connections 50`);
    await hover(byId("chart-slow-area"), 1);
    expect(text("chart-slow-value")).toContain("slowest mean 360.0 ms");
    expect(text("sampler-status")).toContain("not watching this profile");
  });

  it("keeps working without the history commands, and shows an unreachable server's error", async () => {
    for (const c of ["history_series", "history_chart", "alerts", "sampler_status"]) handlers[c] = unknownCommand(c);
    handlers.db_report = refused("unreachable", "PostgreSQL at 127.0.0.1:46432 did not answer within 5 s: is it running? Check the profile's URL");
    await render();
    expect(text("error-box")).toContain("did not answer within 5 s");
    expect(text("history-unavailable")).toContain("History not available yet");
    // Explain is part of the report's view; the charts and alerts lines stay.
    expect(text("postgres-alerts")).toContain("Alerts not available yet");
  });
});
