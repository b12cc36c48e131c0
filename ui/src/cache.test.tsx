import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { renderToStaticMarkup } from "react-dom/server";
import type { CacheStats } from "./bindings/CacheStats";
import type { CacheEvalRequest } from "./bindings/CacheEvalRequest";
import type { CacheSettings } from "./bindings/CacheSettings";
import type { EntryView } from "./bindings/EntryView";
import type { EvalReport } from "./bindings/EvalReport";
import type { NamespaceStats } from "./bindings/NamespaceStats";
import type { ServeCounts } from "./bindings/ServeCounts";

// `call` is replaced; CallError stays the real class so the page maps errors as in the app.
vi.mock("./platform", async (importOriginal) => {
  const real = await importOriginal<typeof import("./platform")>();
  return { ...real, call: vi.fn() };
});

import { call, CallError } from "./platform";
import { CachePage } from "./pages/CachePage";
import { EvalResult } from "./pages/cache/EvalPanel";
import { svgImageSource } from "./pages/cache/util";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const callMock = vi.mocked(call);
type Handler = (args: any) => unknown;

// ---------------------------------------------------------------- realistic data

const settings: CacheSettings = {
  similarity_threshold: 0.85,
  max_entries: 10000,
  ttl_seconds: 86400,
  refresh_ttl_on_hit: true,
  shadow_mode: false,
  verify_candidates: true,
  judge_min_score: 0.99,
  judge_floor: 0.6,
};
const histogram = [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 5, 8, 9, 12, 10, 7, 14, 20, 6];
const NOW = Date.now();
const MODEL = "bge-small-en-v1.5";

function namespace(user: string, item: string | null, entries: number, over: Partial<NamespaceStats> = {}): NamespaceStats {
  const id = `acme/${user}/${item ?? "*"}/${MODEL}/v3`;
  return {
    id,
    namespace: { tenant: "acme", user, item, model: MODEL, template_version: "v3" },
    entries,
    bytes: entries * 2048,
    hits: 61,
    misses: 39,
    hit_rate: 0.61,
    recent_hit_rate: 0.5,
    evictions: 4,
    expirations: 2,
    shadow_hits: 0,
    score_histogram: histogram,
    settings,
    ...over,
  };
}

const alice = namespace("alice", null, 3);
const aliceSales = namespace("alice", "sales-db", 2, { hit_rate: 0.25, recent_hit_rate: null });
// Bob's namespace has its own judge settings (the evaluation uses them when its boxes are empty).
const bob = namespace("bob", null, 7, { settings: { ...settings, judge_min_score: 0.97, judge_floor: 0.7 } });

const stats: CacheStats = {
  backend: "embedded",
  backend_detail: "embedded with an in-process vector index",
  embedding_model: MODEL,
  template_version: "v3",
  defaults: settings,
  entries: 12,
  bytes: 12 * 2048,
  hits: 183,
  misses: 117,
  hit_rate: 0.61,
  evictions: 12,
  expirations: 6,
  lookup_latency: { count: 300, mean_us: 150, p50_us: 120, p90_us: 240, p99_us: 410 },
  namespaces: [alice, aliceSales, bob],
};

function entry(id: string, query: string, response: string, over: Partial<EntryView> = {}): EntryView {
  return {
    id,
    namespace: alice.id,
    conversation: false,
    context: [],
    background: [],
    query,
    response,
    created_at_ms: NOW - 3_600_000,
    expires_at_ms: NOW + 82_800_000,
    last_hit_at_ms: NOW - 60_000,
    hits: 4,
    bytes: 1834,
    similarity: null,
    ...over,
  };
}

const longResponse = "Total revenue in 2023 was $12.4M, up 18% on 2022. " + "Breakdown by region follows. ".repeat(10);
const entries: EntryView[] = [
  entry("101", "What was our total revenue in 2023?", longResponse),
  entry("102", "How many orders shipped last week?", "1,284 orders shipped last week.", { expires_at_ms: null, hits: 0 }),
  entry("103", "Which stores are open on Sundays?", "Stores 3, 7 and 12.", { conversation: true }),
];

const counts = (over: Partial<ServeCounts> = {}): ServeCounts => ({
  same_total: 10,
  same_served: 8,
  different_total: 10,
  different_served: 1,
  same_served_rate: 0.8,
  false_hit_rate: 0.1,
  false_hit_ci95: [0.018, 0.404],
  precision: 0.889,
  ...over,
});

const SVG = '<svg width="720" height="420" viewBox="0 0 720 420" xmlns="http://www.w3.org/2000/svg"><rect width="720" height="420" fill="#fff"/></svg>';

const evalReport: EvalReport = {
  model: MODEL,
  threshold: 0.85,
  verify_candidates: true,
  judge_min_score: 0.99,
  judge_floor: 0.6,
  judge_problem: null,
  pairs: 20,
  overall: counts(),
  by_category: {
    paraphrase: counts({ different_total: 0, different_served: 0, false_hit_rate: null, false_hit_ci95: null, precision: 1 }),
    date_change: counts({ same_total: 0, same_served: 0, same_served_rate: null, different_total: 6, different_served: 1, false_hit_rate: 1 / 6, false_hit_ci95: [0.03, 0.564] }),
  },
  sweep: [
    { threshold: 0.8, raw: counts(), verified: counts({ false_hit_rate: 0.1 }) },
    { threshold: 0.9, raw: counts(), verified: counts({ same_served_rate: 0.7, false_hit_rate: 0.0 }) },
  ],
  suggested_threshold: 0.9,
  by_rule: [
    { rule: "numbers", judge_may_overrule: false, same_refused: 1, traps_caught: 0, overruled: 0 },
    { rule: "two_kinds", judge_may_overrule: true, same_refused: 0, traps_caught: 0, overruled: 1 },
  ],
  details: [
    // Above the threshold, no objection: served without the judge (which still read it for the sweep).
    { a: "revenue 2023", b: "revenue 2024", same_answer: false, category: "date_change", similarity: 0.93, objection: null, rule: null, objection_about_wording: false, judge: 0.97, served: true },
    // Only a wording objection: the judge vouched for it.
    { a: "tickets opened in March", b: "cases opened in March", same_answer: false, category: "wording", similarity: 0.95, objection: '"tickets" vs "cases": two kinds of request', rule: "two_kinds", objection_about_wording: true, judge: 0.995, served: true },
    // An objection to a fact: the judge may not overrule it, so it did not read the pair.
    { a: "How many stores are open?", b: "how many of 12 stores open now", same_answer: true, category: "paraphrase", similarity: 0.91, objection: "numbers differ", rule: "numbers", objection_about_wording: false, judge: null, served: false },
    // Between the floor and the threshold: the judge decides, here below its minimum score.
    { a: "Which stores open on Sundays?", b: "stores with Sunday hours", same_answer: true, category: "paraphrase", similarity: 0.72, objection: null, rule: null, objection_about_wording: false, judge: 0.42, served: false },
    // Between the floor and the threshold, vouched for by the judge (not a mistake, so not listed).
    { a: "staff on shift today", b: "employees working today", same_answer: true, category: "paraphrase", similarity: 0.7, objection: null, rule: null, objection_about_wording: false, judge: 0.998, served: true },
    // Below the floor: read for the sweep, but never served at this threshold.
    { a: "top customers by revenue", b: "customers ranked by spend", same_answer: true, category: "paraphrase", similarity: 0.55, objection: null, rule: null, objection_about_wording: false, judge: 0.999, served: false },
  ],
  chart_svg: SVG,
};

// ---------------------------------------------------------------- harness

let handlers: Record<string, Handler>;
let container: HTMLDivElement;
let root: Root;

beforeEach(() => {
  handlers = {
    cache_stats: () => stats,
    cache_entries: () => entries,
    cache_search: () => [{ ...entries[0], similarity: 0.9712 }],
    cache_delete_entry: () => ({ count: 1 }),
    cache_invalidate: () => ({ count: 5 }),
    cache_set_settings: (a: { settings: CacheSettings }) => a.settings,
    cache_eval: () => evalReport,
    cache_lookup: () => ({ outcome: "miss", namespace: alice.id, best_similarity: 0.42, reason: "below the threshold", shadow_hit: null }),
  };
  callMock.mockReset();
  callMock.mockImplementation((async (name: string, args: unknown) => {
    const h = handlers[name];
    if (!h) throw new Error(`unexpected call ${name}`);
    return h(args);
  }) as any);
  container = document.createElement("div");
  document.body.appendChild(container);
});

afterEach(() => {
  act(() => root?.unmount());
  container.remove();
});

const flush = () =>
  act(async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  });

async function render(confirm: (m: string) => boolean = () => true) {
  root = createRoot(container);
  act(() => root.render(<CachePage confirm={confirm} refreshMs={600_000} />));
  await flush();
}

const $ = (sel: string) => container.querySelector<HTMLElement>(sel);
const $$ = (sel: string) => Array.from(container.querySelectorAll<HTMLElement>(sel));
const byId = (id: string) => $(`[data-testid="${id}"]`);

async function click(el: HTMLElement | null) {
  expect(el).not.toBeNull();
  act(() => el!.dispatchEvent(new MouseEvent("click", { bubbles: true })));
  await flush();
}

async function type(el: HTMLElement | null, value: string) {
  expect(el).not.toBeNull();
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  act(() => {
    Object.getOwnPropertyDescriptor(proto, "value")!.set!.call(el, value);
    el!.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await flush();
}

const callsOf = (name: string) => callMock.mock.calls.filter((c) => c[0] === name).map((c) => c[1]);

async function selectAlice() {
  await click($(`[data-testid="ns-row"][data-ns="${alice.id}"]`));
}

// ---------------------------------------------------------------- tests

describe("cache page", () => {
  it("renders every namespace with its figures and settings", async () => {
    await render();
    const rows = $$('[data-testid="ns-row"]');
    expect(rows.map((r) => r.dataset.ns)).toEqual([alice.id, aliceSales.id, bob.id]);
    expect(rows[0].textContent).toContain("acme/alice");
    expect(rows[1].textContent).toContain("acme/alice/sales-db");
    expect(rows[0].textContent).toContain("61.0%");
    expect(rows[0].textContent).toContain("0.85");
    expect(rows[0].textContent).toContain("10000");
    expect(byId("cache-summary")!.textContent).toContain("12 entries in 3 namespaces");
    expect(byId("ns-detail")).toBeNull();
  });

  it("selecting a namespace lists its entries, its histogram and inspects an entry", async () => {
    await render();
    await selectAlice();
    expect(callsOf("cache_entries")).toEqual([{ namespace: alice.id, offset: 0, limit: 26 }]);
    expect($(`[data-testid="ns-row"][data-ns="${alice.id}"]`)!.className).toContain("selected");
    const rows = $$('[data-testid="entries-table"] [data-testid="entry-row"]');
    expect(rows.map((r) => r.dataset.id)).toEqual(["101", "102", "103"]);
    expect(rows[0].textContent).toContain("What was our total revenue in 2023?");
    expect(rows[0].textContent).toContain("…"); // the long response is truncated in the list
    expect(rows[1].textContent).toContain("never"); // no expiry
    expect($$('[data-testid="hist-bin"]')).toHaveLength(20);
    expect(byId("entries-range")!.textContent).toBe("1–3 of 3");

    await click(rows[0]);
    expect(byId("entry-detail-id")!.textContent).toBe("101");
    expect(byId("entry-detail-response")!.textContent).toBe(longResponse);
  });

  it("deletes an entry only after confirmation, with its id, and reloads", async () => {
    const confirm = vi.fn((_message: string) => false);
    await render(confirm);
    await selectAlice();
    const del = () => $('[data-testid="entry-row"][data-id="102"] [data-testid="entry-delete"]');

    await click(del());
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(confirm.mock.calls[0][0]).toContain("How many orders shipped last week?");
    expect(callsOf("cache_delete_entry")).toEqual([]);
    expect(byId("entry-detail")).toBeNull(); // the delete click does not open the entry

    confirm.mockReturnValue(true);
    const listedBefore = callsOf("cache_entries").length;
    await click(del());
    expect(confirm).toHaveBeenCalledTimes(2);
    expect(callsOf("cache_delete_entry")).toEqual([{ id: "102" }]);
    expect(callsOf("cache_entries").length).toBeGreaterThan(listedBefore);
    expect(byId("entries-notice")!.textContent).toContain("Deleted entry 102");
  });

  it("searches the namespace in its own scope and shows the similarity", async () => {
    await render();
    await selectAlice();
    await type(byId("entry-search-text"), "revenue last year");
    await click(byId("entry-search"));
    expect(callsOf("cache_search")).toEqual([
      { scope: { tenant: "acme", user: "alice", item: null, conversation: [] }, text: "revenue last year", k: 10 },
    ]);
    expect(byId("entry-similarity")!.textContent).toBe("0.971");
  });

  it("previews settings changes, confirms, then saves them for the namespace", async () => {
    const confirm = vi.fn((_message: string) => false);
    await render(confirm);
    await selectAlice();
    expect(byId("settings-preview")).toBeNull();
    await type(byId("settings-similarity_threshold"), "0.9");
    await click(byId("settings-shadow_mode"));
    const preview = byId("settings-preview")!.textContent!;
    expect(preview).toContain("threshold: 0.85 → 0.9");
    expect(preview).toContain("shadow mode: off → on");

    await click(byId("settings-save"));
    expect(confirm.mock.calls[0][0]).toContain("0.85 → 0.9");
    expect(callsOf("cache_set_settings")).toEqual([]);

    confirm.mockReturnValue(true);
    await click(byId("settings-save"));
    expect(callsOf("cache_set_settings")).toEqual([
      { namespace: alice.id, settings: { ...settings, similarity_threshold: 0.9, shadow_mode: true } },
    ]);

    await type(byId("settings-max_entries"), "0");
    expect(byId("settings-invalid")).not.toBeNull();
    expect((byId("settings-save") as HTMLButtonElement).disabled).toBe(true);
  });

  it("edits the judge's min score and floor, validates them, and saves both", async () => {
    const confirm = vi.fn((_message: string) => true);
    await render(confirm);
    await selectAlice();
    const minScore = byId("settings-judge_min_score") as HTMLInputElement;
    const floor = byId("settings-judge_floor") as HTMLInputElement;
    expect(minScore.value).toBe("0.99");
    expect(floor.value).toBe("0.6");
    expect(byId("settings-editor")!.textContent).toContain("above 1 turns the judge off");
    expect(byId("settings-editor")!.textContent).toContain("lowest similarity the judge reads");

    // Out of range, then empty, are refused (and block saving); the good value clears the warning.
    const rejectsThenAccepts = async (input: HTMLInputElement, bad: string, message: string, good: string) => {
      await type(input, bad);
      expect(byId("settings-invalid")!.textContent).toContain(message);
      expect((byId("settings-save") as HTMLButtonElement).disabled).toBe(true);
      await type(input, "");
      expect(byId("settings-invalid")).not.toBeNull();
      await type(input, good);
      expect(byId("settings-invalid")).toBeNull();
    };
    await rejectsThenAccepts(minScore, "2.5", "minimum score must be a number between 0 and 1", "1.5");
    await rejectsThenAccepts(floor, "1.2", "floor must be a similarity between 0 and 1", "0.5"); // a similarity: 0–1 only

    const preview = byId("settings-preview")!.textContent!;
    expect(preview).toContain("judge min score: 0.99 → 1.5 (judge off)");
    expect(preview).toContain("judge floor: 0.6 → 0.5");
    await click(byId("settings-save"));
    expect(confirm.mock.calls[0][0]).toContain("judge min score: 0.99 → 1.5 (judge off)");
    expect(confirm.mock.calls[0][0]).toContain("judge floor: 0.6 → 0.5");
    expect(callsOf("cache_set_settings")).toEqual([
      { namespace: alice.id, settings: { ...settings, judge_min_score: 1.5, judge_floor: 0.5 } },
    ]);
    expect(byId("settings-saved")!.textContent).toBe("Saved 2 changes.");
    expect((byId("settings-judge_min_score") as HTMLInputElement).value).toBe("1.5");
    expect((byId("settings-judge_floor") as HTMLInputElement).value).toBe("0.5");

    await type(byId("defaults-judge_min_score"), "0.95");
    await type(byId("defaults-judge_floor"), "0.7");
    await click(byId("defaults-save"));
    expect(callsOf("cache_set_settings")[1]).toEqual({ namespace: null, settings: { ...settings, judge_min_score: 0.95, judge_floor: 0.7 } });
  });

  it("invalidates a user's cache after previewing and confirming", async () => {
    const confirm = vi.fn((_message: string) => true);
    await render(confirm);
    await selectAlice();
    const preview = byId("invalidate-user-preview")!.textContent!;
    expect(preview).toContain("user alice in tenant acme");
    expect(preview).toContain("5 entries");
    expect(preview).toContain("2 namespaces");
    expect(byId("invalidate-all-preview")!.textContent).toContain("12 entries");

    await click(byId("invalidate-user"));
    expect(confirm.mock.calls[0][0]).toContain("user alice");
    expect(callsOf("cache_invalidate")).toEqual([{ kind: "user", tenant: "acme", user: "alice" }]);
    expect(byId("invalidate-result")!.textContent).toContain("deleted 5 entries");

    confirm.mockReturnValue(false);
    await click(byId("invalidate-all"));
    expect(callsOf("cache_invalidate")).toHaveLength(1);
  });

  it("evaluates an uploaded file and shows per-category rows and the chart as an image", async () => {
    await render();
    const csv = "a,b,same_answer,category\nWhat was our total revenue in 2023?,total revenue for 2023,true,paraphrase\n";
    const input = byId("eval-file") as HTMLInputElement;
    const file = new File([csv], "pairs.csv", { type: "text/csv" });
    Object.defineProperty(input, "files", { value: [file], configurable: true });
    act(() => input.dispatchEvent(new Event("change", { bubbles: true })));
    await flush();
    expect((byId("eval-content") as HTMLTextAreaElement).value).toBe(csv);
    expect(byId("eval-file-name")!.textContent).toBe("pairs.csv");

    await click(byId("eval-run"));
    // Empty boxes: the values in force (no namespace selected: the defaults).
    expect(callsOf("cache_eval")).toEqual([
      { content: csv, threshold: 0.85, verify_candidates: true, judge_min_score: 0.99, judge_floor: 0.6 },
    ]);
    const cats = $$('[data-testid="eval-category"]');
    expect(cats.map((r) => r.dataset.category)).toEqual(["date_change", "paraphrase"]);
    expect(cats[0].textContent).toContain("16.7%"); // false hits
    expect(cats[0].textContent).toContain("3.0%–56.4%"); // its 95% interval
    expect(byId("eval-overall")!.textContent).toContain("88.9%"); // precision
    expect(byId("eval-suggested")!.textContent).toContain("0.90");
    const rules = $$('[data-testid="eval-rule"]').map((r) => r.textContent);
    expect(rules).toEqual(["numbers100no", "two_kinds001yes"]);

    const img = byId("eval-chart") as HTMLImageElement;
    expect(img.tagName).toBe("IMG");
    expect(img.getAttribute("src")!.startsWith("data:image/svg+xml;charset=utf-8,")).toBe(true);
    expect(decodeURIComponent(img.getAttribute("src")!.split(",").slice(1).join(","))).toBe(SVG);
    expect(container.querySelector("[data-testid=eval-result] svg")).toBeNull(); // never inlined

    // The judge's settings, and what it did at the threshold.
    expect(byId("eval-judge-settings")!.textContent).toBe("judge: score ≥ 0.99, reads down to 0.60");
    const summary = byId("eval-judge-summary")!.textContent!;
    expect(summary).toContain("At 0.85 the judge decided 3 pairs");
    expect(summary).toContain("between 0.60 and 0.85");
    expect(summary).toContain("served 2 of them with a score ≥ 0.99 (1 different-answer)");
    // Per pair (false hits, then missed): its score, and "served by the judge" where it vouched for
    // a pair with an objection or below the threshold.
    const judge = $$('[data-testid="eval-judge"]').map((c) => c.textContent);
    expect(judge).toEqual(["judge 0.970", "judge 0.995 — served by the judge", "", "judge 0.420 — below 0.99", "judge 0.999"]);
  });

  it("passes the judge's min score and floor to the evaluation: the namespace's, or typed ones in range", async () => {
    await render();
    await click($(`[data-testid="ns-row"][data-ns="${bob.id}"]`));
    await type(byId("eval-content"), "a,b,same_answer\nx,y,true\n");
    expect((byId("eval-judge-min-score") as HTMLInputElement).placeholder).toBe("0.97");
    expect((byId("eval-judge-floor") as HTMLInputElement).placeholder).toBe("0.7");
    await click(byId("eval-run")); // empty: bob's own settings

    await type(byId("eval-judge-min-score"), "3");
    expect((byId("eval-run") as HTMLButtonElement).disabled).toBe(true);
    await type(byId("eval-judge-min-score"), "1.5"); // turns the judge off: allowed
    await type(byId("eval-judge-floor"), "1.1");
    expect((byId("eval-run") as HTMLButtonElement).disabled).toBe(true);
    await type(byId("eval-judge-floor"), "0.5");
    await click(byId("eval-run"));
    const sent = callsOf("cache_eval").map((c) => c as CacheEvalRequest);
    expect(sent.map((c) => [c.judge_min_score, c.judge_floor])).toEqual([
      [0.97, 0.7],
      [1.5, 0.5],
    ]);
  });

  it("cleans up and warms the selected namespace, following the job", async () => {
    handlers.cache_cleanup = () => ({ expired_removed: 3, evicted_for_cap: 1 });
    handlers.cache_warm = () => ({ id: 7 });
    handlers.job_status = () => ({ id: 7, kind: "cache warm-up", total: 2, done: 2, state: "succeeded", message: null });
    await render();
    await click(byId("cache-cleanup"));
    expect(byId("cleanup-result")!.textContent).toContain("Removed 3 expired, 1 over the cap");
    await selectAlice();
    await type(byId("warm-pairs"), '{"query": "q1", "response": "r1"}\n{"query": "q2", "response": "r2"}');
    await click(byId("warm-start"));
    expect(callsOf("cache_warm")).toEqual([
      { scope: { tenant: "acme", user: "alice", item: null, conversation: [] }, pairs: [{ query: "q1", response: "r1" }, { query: "q2", response: "r2" }] },
    ]);
    expect(callsOf("job_status")).toEqual([{ id: 7 }]);
    expect(byId("warm-job")!.textContent).toContain("2/2 succeeded");
  });

  it("shows a call's error in the error box and keeps working", async () => {
    handlers.cache_stats = () => {
      throw new CallError({ code: "unreachable", message: "cannot reach Redis at redis://cache:6379" });
    };
    await render();
    expect(byId("error-box")!.textContent).toContain("cannot reach Redis");
    expect(byId("cache-stats")).toBeNull();

    // The rest of the page still works, and the next refresh clears the error.
    await type(byId("cache-query"), "revenue 2023");
    await click(byId("cache-lookup"));
    expect(byId("cache-lookup-result")!.textContent).toContain("MISS: below the threshold");
    handlers.cache_stats = () => stats;
    await click(byId("cache-refresh"));
    expect(byId("error-box")).toBeNull();
    expect($$('[data-testid="ns-row"]')).toHaveLength(3);

    // A failing delete shows its error next to the list, which stays.
    handlers.cache_delete_entry = () => {
      throw new CallError({ code: "read_only", message: "profile 'prod' is read-only" });
    };
    await selectAlice();
    await click($('[data-testid="entry-row"][data-id="101"] [data-testid="entry-delete"]'));
    expect(byId("entries-panel")!.querySelector('[data-testid="error-box"]')!.textContent).toContain("read-only");
    expect($$('[data-testid="entries-table"] [data-testid="entry-row"]')).toHaveLength(3);
  });
});

describe("lookup in a chat", () => {
  it("sends the earlier turns as messages and refuses lines without a role", async () => {
    await render();
    await type(byId("cache-turns"), "user: I'm on the Pro plan\nassistant: Noted.\nstill the assistant");
    await type(byId("cache-query"), "how much does it cost?");
    await click(byId("cache-lookup"));
    expect(callsOf("cache_lookup")[0]).toEqual({
      scope: {
        tenant: "default",
        user: "admin",
        item: null,
        conversation: [
          { role: "user", content: "I'm on the Pro plan" },
          { role: "assistant", content: "Noted.\nstill the assistant" },
        ],
      },
      query: "how much does it cost?",
    });
    await type(byId("cache-turns"), "hello there");
    expect(container.textContent).toContain('line 1 does not start with "user:"');
    expect((byId("cache-lookup") as HTMLButtonElement).disabled).toBe(true);
  });

  it("shows the turns an entry depends on", async () => {
    handlers.cache_entries = () => [
      entry("104", "how much does it cost?", "$20 a month.", { conversation: true, context: [{ role: "user", content: "I'm on the Pro plan" }] }),
    ];
    await render();
    await selectAlice();
    await click($('[data-testid="entry-row"][data-id="104"]'));
    expect(byId("entry-detail-context")!.textContent).toBe("user: I'm on the Pro plan");
    expect(byId("entry-detail-background")).toBeNull();
  });

  it("shows the earlier turns whose details a chat must share", async () => {
    handlers.cache_entries = () => [
      entry("105", "can I cap his line?", "Yes, in the app.", {
        conversation: true,
        context: [{ role: "user", content: "my son's line used a lot of data" }],
        background: [{ role: "user", content: "I'm on the Family 4 plan" }],
      }),
    ];
    await render();
    await selectAlice();
    await click($('[data-testid="entry-row"][data-id="105"]'));
    expect(byId("entry-detail-background")!.textContent).toBe("user: I'm on the Family 4 plan");
  });
});

describe("eval chart", () => {
  it("renders only an SVG document, and only as an image", () => {
    expect(svgImageSource("<script>alert(1)</script>")).toBeNull();
    expect(svgImageSource("")).toBeNull();
    const html = renderToStaticMarkup(<EvalResult report={{ ...evalReport, chart_svg: "<p>not a chart</p>" }} />);
    expect(html).not.toContain("<img");
    expect(html).toContain("No chart for this run.");
  });

  it("says when the judge was off, with no judge summary", () => {
    const off = {
      ...evalReport,
      judge_min_score: null,
      judge_floor: null,
      details: evalReport.details.map((d) => ({ ...d, judge: null, served: d.similarity >= 0.85 && d.objection === null })),
    };
    const html = renderToStaticMarkup(<EvalResult report={off} />);
    expect(html).toContain("candidate checks on, <span data-testid=\"eval-judge-settings\">judge off</span>");
    expect(html).not.toContain("eval-judge-summary");
    expect(html).not.toContain("served by the judge");
    expect(html).not.toContain("warning-box");
    const missing = renderToStaticMarkup(<EvalResult report={{ ...off, judge_problem: "model.safetensors is missing" }} />);
    expect(missing).toContain("warning-box");
    expect(missing).toContain("the checks decided alone: model.safetensors is missing");
  });
});
