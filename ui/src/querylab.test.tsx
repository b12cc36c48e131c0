import { beforeEach, describe, expect, it, vi } from "vitest";
import { act } from "react";

vi.mock("./platform", async (importOriginal) => {
  const real = await importOriginal<typeof import("./platform")>();
  return { ...real, call: vi.fn(), callStreaming: vi.fn() };
});

import { call, callStreaming, CallError, type StreamPiece } from "./platform";
import { QueryLabPage } from "./pages/QueryLabPage";
import { usd } from "./pages/querylab/util";
import { verdict } from "./pages/querylab/ReportView";
import { callsOf, click, dom, flush, last, pageHarness, type } from "./monitor-harness";
import {
  bypassed,
  cacheDefaults,
  logCsv,
  missFirst,
  refusedMiss,
  reportA,
  reportB,
  semanticHit,
  sessionHit,
  statsAfter,
  statsBefore,
  workAfter,
  workBefore,
} from "./fixtures/querylab";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const { $, $$, byId, text } = dom(document.body);

const page = pageHarness(() => ({
  query_stats: () => statsBefore,
  work_stats: () => workBefore,
  cache_stats: () => ({ defaults: cacheDefaults }),
  query: () => semanticHit,
  replay: () => [reportA],
}));
const { handlers } = page;
const render = () => page.render(<QueryLabPage />);

// A streamed query answers, unless a test streams pieces, as a core without streaming does: through
// `call` (so the handlers above answer it), with no pieces.
const streamMock = vi.mocked(callStreaming);
beforeEach(() => {
  streamMock.mockReset();
  streamMock.mockImplementation((name, args) => call(name, args));
});

/** A promise the test settles when it wants (a query or replay still running). */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

async function change(el: HTMLElement | null, value: string) {
  expect(el).not.toBeNull();
  act(() => {
    (el as HTMLSelectElement).value = value;
    el!.dispatchEvent(new Event("change", { bubbles: true }));
  });
  await flush();
}

async function upload(content: string, name = "queries.csv") {
  const input = byId("ql-replay-file") as HTMLInputElement;
  const file = new File([content], name, { type: "text/csv" });
  Object.defineProperty(input, "files", { value: [file], configurable: true });
  act(() => input.dispatchEvent(new Event("change", { bubbles: true })));
  await flush();
}

const disabled = (id: string) => (byId(id) as HTMLButtonElement).disabled;

describe("Query Lab: one query", () => {
  it("sends the form as a QueryRequest and shows a semantic hit's similarity and matched query", async () => {
    await render();
    expect(callsOf("query_stats")).toHaveLength(1);
    expect(text("ql-stat-queries")).toContain("3");
    expect(disabled("ql-run")).toBe(true); // no question yet

    await type(byId("ql-user"), "alice");
    await type(byId("ql-item"), "sales-db");
    await type(byId("ql-turns"), "user: I'm on the Pro plan\nassistant: Noted.");
    await type(byId("ql-question"), "What's the capital of France?");
    await type(byId("ql-max-tokens"), "40");
    await click(byId("ql-allow-stale"));
    handlers.query_stats = () => statsAfter;
    await click(byId("ql-run"));

    expect(callsOf("query")).toEqual([
      {
        scope: {
          tenant: "default",
          user: "alice",
          item: "sales-db",
          conversation: [
            { role: "user", content: "I'm on the Pro plan" },
            { role: "assistant", content: "Noted." },
          ],
        },
        query: "What's the capital of France?",
        settings: { temperature: 0, max_tokens: 40, seed: 42 },
        bypass_cache: false,
        allow_stale: true,
      },
    ]);
    expect(text("ql-outcome")).toBe("HIT");
    expect(text("ql-source")).toContain("semantic cache");
    expect(text("ql-similarity")).toBe("1.000");
    expect(text("ql-matched")).toBe("What is the capital of France?");
    expect(text("ql-namespace")).toBe("default/admin/*/sentence-transformers%2Fall-MiniLM-L6-v2/v1");
    expect(text("ql-lookup")).toContain("4 s old");
    expect(text("ql-answer")).toContain("Paris");
    expect(text("ql-cost")).toBe("8 prompt + 18 completion tokens (estimated), cost $0.00, saved $0.000012");
    expect(text("ql-cached")).toContain("yes");
    // The timing bar: a segment per step that took time, the figures in the legend.
    expect(byId("timing-seg-embed")).not.toBeNull();
    expect(byId("timing-seg-model")).toBeNull();
    expect(text("timing-embed")).toBe("embed 10.9 ms");
    expect(text("timing-lookup-other")).toBe("lookup, other 1,095 ms");
    expect(text("timing-total")).toBe("total 1,106 ms");
    // The figures are asked again after the query.
    expect(callsOf("query_stats")).toHaveLength(2);
    expect(text("ql-stat-queries")).toContain("4");
    expect(text("ql-stat-model")).toContain("3 calls");
  });

  it("shows a miss's refusal reason and the model's own tokens and cost", async () => {
    handlers.query = () => refusedMiss;
    await render();
    await type(byId("ql-question"), "What is the capital of Germany?");
    await click(byId("ql-run"));
    expect(text("ql-outcome")).toBe("MISS");
    expect(text("ql-source")).toContain("model");
    expect(text("ql-miss-reason")).toBe('closest match "What is the capital of France?" (0.663) refused: names differ (germany vs france)');
    expect(text("ql-lookup")).toContain("best candidate 0.663");
    expect(text("ql-model")).toContain("openai:gpt-4o-mini");
    expect(text("ql-cost")).toBe("37 prompt + 7 completion tokens, cost $0.00000975");
    expect(text("timing-model")).toBe("model 7,564 ms");
    const seg = byId("timing-seg-model")!;
    expect(parseFloat(seg.style.width)).toBeGreaterThan(95);
  });

  it("explains an empty namespace, a session hit and a bypass", async () => {
    handlers.query = () => missFirst;
    await render();
    await type(byId("ql-question"), "What is the capital of France?");
    await click(byId("ql-run"));
    expect(text("ql-miss-reason")).toBe("no entries in this namespace");
    expect(text("ql-cost")).toContain("cost $0.00");

    handlers.query = () => sessionHit;
    await click(byId("ql-run"));
    expect(text("ql-outcome")).toBe("HIT");
    expect(text("ql-source")).toContain("session cache");
    expect(text("ql-lookup")).toContain("the session cache answered");

    handlers.query = () => bypassed;
    await click(byId("ql-bypass"));
    await click(byId("ql-run"));
    expect(last(callsOf("query")).bypass_cache).toBe(true);
    expect(text("ql-cached")).toBe("not cached: the query asked to bypass the caches");
  });

  it("shows the core's error with its code and message", async () => {
    handlers.query = () => {
      throw new CallError({
        code: "missing_resource",
        message: "the local chat model is not at /data/models/SmolLM2-135M-Instruct (run `bash .ci/setup app`)",
      });
    };
    await render();
    await type(byId("ql-question"), "hello");
    await click(byId("ql-run"));
    expect(text("ql-error")).toContain("missing_resource");
    expect(text("ql-error")).toContain("the local chat model is not at");
    expect(byId("ql-result")).toBeNull();
    // Still counted in the figures' refresh, and the form is usable again.
    expect(disabled("ql-run")).toBe(false);
  });

  it("refuses a malformed conversation and bad generation settings before calling", async () => {
    await render();
    await type(byId("ql-question"), "hello");
    await type(byId("ql-turns"), "I'm on the Pro plan");
    expect(text("ql-form-problem")).toContain('does not start with "user:"');
    expect(disabled("ql-run")).toBe(true);
    await type(byId("ql-turns"), "");
    await type(byId("ql-temperature"), "3");
    expect(text("ql-form-problem")).toContain("Temperature");
    expect(disabled("ql-run")).toBe(true);
    expect(callsOf("query")).toEqual([]);
  });

  it("disables Run while a query runs and never sends it twice", async () => {
    const pending = deferred<typeof semanticHit>();
    handlers.query = () => pending.promise;
    await render();
    await type(byId("ql-question"), "What is the capital of France?");
    await click(byId("ql-run"));
    expect(disabled("ql-run")).toBe(true);
    expect(text("ql-run")).toBe("Running…");
    expect(byId("ql-busy")).not.toBeNull();
    await click(byId("ql-run"));
    act(() => byId("ql-question")!.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true })));
    await flush();
    expect(callsOf("query")).toHaveLength(1);
    await act(async () => pending.resolve(semanticHit));
    await flush();
    expect(disabled("ql-run")).toBe(false);
    expect(byId("ql-busy")).toBeNull();
    expect(text("ql-outcome")).toBe("HIT");
  });
});

describe("Query Lab: a streamed answer", () => {
  /** Lets the test hand out pieces, then the outcome, of the query the page starts. */
  function streamed() {
    let onPiece: (p: StreamPiece) => void = () => {};
    const outcome = deferred<typeof missFirst>();
    streamMock.mockImplementation((_name, _args, on) => {
      onPiece = on;
      return outcome.promise;
    });
    const piece = async (p: StreamPiece) => {
      act(() => onPiece(p));
      await flush();
    };
    return { piece, outcome };
  }

  it("shows the answer growing as it streams, a restart clearing it, then the whole trace", async () => {
    handlers.query = () => sessionHit;
    await render();
    // An earlier answer, then a new query that streams.
    await type(byId("ql-question"), "What is the capital of France?");
    await click(byId("ql-run"));
    expect(text("ql-outcome")).toBe("HIT");

    const { piece, outcome } = streamed();
    await type(byId("ql-max-tokens"), "48");
    await click(byId("ql-run"));
    const [name, args] = last(streamMock.mock.calls);
    expect(name).toBe("query");
    expect(args).toMatchObject({ query: "What is the capital of France?", settings: { max_tokens: 48 } });
    expect(text("ql-run")).toBe("Running…");
    await piece({ kind: "text", text: "L'Étoile: " });
    // The text replaces the earlier answer's trace while it streams.
    expect(text("ql-streaming")).toBe("L'Étoile: ");
    expect(byId("ql-result")).toBeNull();
    await piece({ kind: "text", text: "Pa" });
    expect(text("ql-streaming")).toBe("L'Étoile: Pa");
    await piece({ kind: "restart" });
    expect(byId("ql-streaming")).toBeNull();
    await piece({ kind: "text", text: "L'Étoile: Paris, la Ciampère de l'Amour" });
    await piece({ kind: "text", text: " (The City of Love) in French." });
    expect(text("ql-streaming")).toBe(missFirst.answer);
    expect(byId("ql-busy")).not.toBeNull();

    await act(async () => outcome.resolve(missFirst));
    await flush();
    expect(byId("ql-streaming")).toBeNull();
    expect(text("ql-answer")).toBe(missFirst.answer);
    expect(text("ql-outcome")).toBe("MISS");
    expect(text("ql-miss-reason")).toBe("no entries in this namespace");
    expect(disabled("ql-run")).toBe(false);
    expect(callsOf("query_stats")).toHaveLength(3);
  });

  it("drops the streamed text when the query fails after it, and shows the error", async () => {
    await render();
    const { piece, outcome } = streamed();
    await type(byId("ql-question"), "What is the capital of France?");
    await click(byId("ql-run"));
    await piece({ kind: "text", text: "L'Étoile" });
    expect(text("ql-streaming")).toBe("L'Étoile");
    await act(async () => outcome.reject(new CallError({ code: "unreachable", message: "the model stopped streaming before the end" })));
    await flush();
    expect(byId("ql-streaming")).toBeNull();
    expect(byId("ql-result")).toBeNull();
    expect(text("ql-error")).toContain("the model stopped streaming before the end");
    expect(disabled("ql-run")).toBe(false);
  });
});

describe("Query Lab: work queues", () => {
  it("shows each in-process queue's limits and figures, asked again after a query", async () => {
    await render();
    expect(callsOf("work_stats")).toHaveLength(1);
    const llm = () => Array.from(byId("ql-work-llm_queue")!.querySelectorAll("td")).map((td) => td.textContent);
    expect(llm()).toEqual(["llm_queue", "2 × 1", "0", "0", "0", "0", "0", "0", "0", "0", "0"]);
    expect(byId("ql-work-data_queue")).not.toBeNull();

    handlers.work_stats = () => workAfter;
    await type(byId("ql-question"), "What's the capital of France?");
    await click(byId("ql-run"));
    expect(callsOf("work_stats")).toHaveLength(2);
    expect(llm()).toEqual(["llm_queue", "2 × 1", "0", "0", "0", "0", "3", "0", "1", "0", "1"]);
    expect(byId("ql-work-vector_queue")!.className).toBe("warn");
  });

  it("shows the core's error when the queues cannot be read, and the rest of the page still works", async () => {
    handlers.work_stats = () => {
      throw new CallError({ code: "internal", message: "the queues are not running" });
    };
    await render();
    expect(text("ql-work")).toContain("the queues are not running");
    expect(text("ql-stat-queries")).toContain("3");
  });
});

describe("Query Lab: replay", () => {
  it("replays one log under two setups and shows both reports, the comparison and the chart", async () => {
    handlers.replay = () => [reportA, reportB];
    await render();
    expect(disabled("ql-replay-run")).toBe(true); // no file yet
    await upload(logCsv);
    expect(text("ql-replay-file-info")).toBe("queries.csv: 11 rows");
    await click(byId("ql-replay-compare"));
    // The setups start from the engine's defaults (cache_stats), B a step stricter.
    expect((byId("ql-setup-a-threshold") as HTMLInputElement).value).toBe("0.85");
    expect((byId("ql-setup-b-threshold") as HTMLInputElement).value).toBe("0.90");
    await type(byId("ql-setup-a-label"), "threshold 0.85");
    await click(byId("ql-setup-b-judge"));
    await type(byId("ql-setup-b-ttl"), "600");
    await change(byId("ql-replay-speed"), "recorded");
    await type(byId("ql-replay-factor"), "10");
    await change(byId("ql-replay-miss-answers"), "log");
    await click(byId("ql-replay-run"));

    const [req] = callsOf("replay");
    expect(req.log).toBe(logCsv);
    expect(req.jsonl).toBe(false); // from the .csv name
    expect(req.setups).toEqual([
      { label: "threshold 0.85", cache: cacheDefaults, speed: { recorded: { factor: 10 } }, miss_answers: "log" },
      {
        label: "threshold 0.90",
        cache: { ...cacheDefaults, similarity_threshold: 0.9, ttl_seconds: 600, judge_min_score: 2 },
        speed: { recorded: { factor: 10 } },
        miss_answers: "log",
      },
    ]);

    const reports = $$('[data-testid="ql-report"]');
    expect(reports.map((r) => r.dataset.label)).toEqual(["threshold 0.85", "threshold 0.90"]);
    const [a, b] = reports;
    expect(a.querySelector('[data-testid="ql-report-rows"]')!.textContent).toBe("9 rows read: 9 answered, 0 failed; 2 bad rows skipped");
    expect(a.querySelector('[data-testid="ql-report-hit-rate"]')!.textContent).toContain("44.4%");
    expect(a.querySelector('[data-testid="ql-report-hit-rate"]')!.textContent).toContain("1 session + 3 semantic hits, 5 misses");
    expect(a.querySelector('[data-testid="ql-report-false-hits"]')!.textContent).toContain("25.0%");
    expect(a.querySelector('[data-testid="ql-report-false-hits"]')!.textContent).toContain("1 of 4 hits with a known answer");
    const fh = a.querySelectorAll('[data-testid="ql-false-hit"]');
    expect(fh).toHaveLength(1);
    expect(fh[0].textContent).toContain("How many orders shipped this week?");
    expect(fh[0].textContent).toContain("311");
    expect(a.querySelector('[data-testid="latency-hits"]')!.textContent).toContain("12.4 ms");
    expect(a.querySelector('[data-testid="latency-misses"]')!.textContent).toContain("5,211 ms");
    expect(a.querySelector('[data-testid="ql-report-model"]')!.textContent).toContain("5");
    expect(a.querySelector('[data-testid="ql-report-speed"]')!.textContent).toContain("31.4 s");
    expect(a.querySelector('[data-testid="ql-report-speed"]')!.textContent).toContain("0.29/s");
    expect(b.querySelector('[data-testid="ql-report-false-hits"]')!.textContent).toContain("0.0%");
    expect(b.querySelector('[data-testid="ql-false-hit"]')).toBeNull();

    // The comparison: B − A per figure, better in green and worse in red.
    expect(byId("ql-comparison")).not.toBeNull();
    const row = (k: string) => $(`[data-testid="cmp-row"][data-figure="${k}"]`)!;
    const diff = (k: string) => row(k).querySelector<HTMLElement>('[data-testid="cmp-diff"]')!;
    expect(row("hit_rate").textContent).toContain("44.4%");
    expect(row("hit_rate").textContent).toContain("33.3%");
    expect(diff("hit_rate").textContent).toBe("-11.1 pp");
    expect(diff("hit_rate").dataset.verdict).toBe("worse");
    expect(diff("false_hit_rate").textContent).toBe("-25.0 pp");
    expect(diff("false_hit_rate").dataset.verdict).toBe("better");
    expect(diff("model_calls").textContent).toBe("+1");
    expect(diff("model_calls").dataset.verdict).toBe("worse");
    expect(diff("session_hits").textContent).toBe("same");
    expect(diff("p50_all").textContent).toBe("+2,531 ms");
    expect(diff("cost_usd").dataset.verdict).toBe("worse");

    // One chart, a line per report, and a legend naming both.
    const lines = $$('[data-testid="ql-chart-line"]');
    expect(lines.map((l) => l.getAttribute("data-label"))).toEqual(["threshold 0.85", "threshold 0.90"]);
    expect(lines[0].getAttribute("points")!.split(" ")).toHaveLength(5);
    expect($$('[data-testid="ql-chart-legend-item"]').map((l) => l.textContent)).toEqual([
      "threshold 0.85 (final 44.4%)",
      "threshold 0.90 (final 33.3%)",
    ]);
  });

  it("lists the bad rows of a log by line number", async () => {
    await render();
    await upload(logCsv);
    await click(byId("ql-replay-run"));
    expect(callsOf("replay")[0].setups).toHaveLength(1);
    expect(callsOf("replay")[0].setups[0].speed).toBe("max");
    expect(text("ql-bad-rows-lines")).toBe("4, 9");
    expect(text("ql-bad-rows")).toContain("2 bad rows skipped");
    const rows = $$('[data-testid="ql-bad-rows-row"]').map((r) => r.textContent);
    expect(rows).toEqual(["4the query is empty", '9timestamp "yesterday" is neither RFC 3339 nor epoch milliseconds']);
    // One report: no comparison, one line.
    expect(byId("ql-comparison")).toBeNull();
    expect($$('[data-testid="ql-chart-line"]')).toHaveLength(1);
  });

  it("locks the form while a replay runs: no double submit, no query meanwhile", async () => {
    const pending = deferred<(typeof reportA)[]>();
    handlers.replay = () => pending.promise;
    await render();
    await type(byId("ql-question"), "What is the capital of France?");
    await upload(logCsv);
    expect(disabled("ql-replay-run")).toBe(false);
    await click(byId("ql-replay-run"));
    expect(disabled("ql-replay-run")).toBe(true);
    expect(text("ql-replay-run")).toBe("Replaying…");
    expect(byId("ql-replay-progress")).not.toBeNull();
    expect(text("ql-replay-busy")).toContain("replaying 11 rows");
    expect(disabled("ql-run")).toBe(true);
    expect((byId("ql-replay-file") as HTMLInputElement).disabled).toBe(true);
    expect((byId("ql-replay-compare") as HTMLInputElement).disabled).toBe(true);
    await click(byId("ql-replay-run"));
    await click(byId("ql-run"));
    expect(callsOf("replay")).toHaveLength(1);
    expect(callsOf("query")).toHaveLength(0);

    await act(async () => pending.resolve([reportA]));
    await flush();
    expect(disabled("ql-replay-run")).toBe(false);
    expect(disabled("ql-run")).toBe(false);
    expect(byId("ql-replay-busy")).toBeNull();
    expect($$('[data-testid="ql-report"]')).toHaveLength(1);
  });

  it("shows a replay's error, and refuses an empty file or equal labels", async () => {
    handlers.replay = () => {
      throw new CallError({ code: "invalid_input", message: "the log has no readable row (4 bad rows)" });
    };
    await render();
    await upload("", "empty.csv");
    expect(text("ql-replay-file-error")).toBe("empty.csv is empty.");
    expect(disabled("ql-replay-run")).toBe(true);

    await upload(logCsv);
    await click(byId("ql-replay-compare"));
    await type(byId("ql-setup-b-label"), (byId("ql-setup-a-label") as HTMLInputElement).value);
    expect(text("ql-replay-problem")).toBe("The two setups need different labels.");
    expect(disabled("ql-replay-run")).toBe(true);
    await type(byId("ql-setup-b-label"), "strict");
    await type(byId("ql-setup-b-threshold"), "1.5");
    expect(text("ql-replay-problem")).toContain("Setup B: the similarity threshold must be between 0 and 1");
    await type(byId("ql-setup-b-threshold"), "0.95");
    await click(byId("ql-replay-run"));
    expect(text("ql-replay-error")).toContain("invalid_input");
    expect(text("ql-replay-error")).toContain("the log has no readable row");
    expect(byId("ql-replay-reports")).toBeNull();
  });
});

describe("Query Lab helpers", () => {
  it("formats dollars and verdicts", () => {
    expect(usd(0)).toBe("$0.00");
    expect(usd(12.345)).toBe("$12.35");
    expect(usd(0.0123)).toBe("$0.0123");
    expect(verdict("higher", 0.1)).toBe("better");
    expect(verdict("lower", 0.1)).toBe("worse");
    expect(verdict(null, 3)).toBe("neutral");
    expect(verdict("lower", 0)).toBe("same");
  });
});
