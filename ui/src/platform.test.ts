import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// The Tauri side: `invoke` and `Channel` as the shell's IPC would drive them.
const tauri = vi.hoisted(() => ({ invoke: vi.fn() }));
vi.mock("@tauri-apps/api/core", () => ({
  invoke: tauri.invoke,
  Channel: class<T> {
    constructor(public onmessage: (m: T) => void) {}
  },
}));

import { callStreaming, CallError, SseParser, sseEvents, type SseEvent, type StreamPiece } from "./platform";
import type { QueryRequest } from "./bindings/QueryRequest";
import type { QueryStreamEvent } from "./bindings/QueryStreamEvent";
import { missFirst } from "./fixtures/querylab";

const req: QueryRequest = {
  scope: { tenant: "default", user: "alice", item: null, conversation: [] },
  query: "What is the capital of France?",
  bypass_cache: false,
  allow_stale: false,
};

/** A body that arrives in these byte pieces. */
function body(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === "string" ? enc.encode(c) : c);
      controller.close();
    },
  });
}

async function all(stream: ReadableStream<Uint8Array>): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of sseEvents(stream)) out.push(e);
  return out;
}

const sse = (events: QueryStreamEvent[]) => events.map((e) => `event: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`).join("");

describe("SSE parser", () => {
  it("reads events cut anywhere, with multi-line data, comments and every line ending", () => {
    const text = ": keep-alive\n\nevent: text\ndata: first line\ndata:second line\r\ndata:  two spaces\r\n\r\ndata: unnamed\r\rid: 7\nretry: 10\nfield without colon\ndata\n\n";
    const want: SseEvent[] = [
      { event: "text", data: "first line\nsecond line\n two spaces" },
      { event: "message", data: "unnamed" },
      { event: "message", data: "" },
    ];
    // Whole, then cut at every position, then one character at a time.
    const whole = new SseParser();
    expect([...whole.push(text), ...whole.end()]).toEqual(want);
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const got = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut)), ...p.end()];
      expect(got, `cut at ${cut}`).toEqual(want);
    }
    const p = new SseParser();
    const got = [...text].flatMap((c) => p.push(c));
    expect([...got, ...p.end()]).toEqual(want);
  });

  it("keeps an event until its blank line, and drops one the stream ends inside", () => {
    const p = new SseParser();
    expect(p.push("event: text\ndata: {\"kind\":")).toEqual([]);
    expect(p.push("\"text\"}\n")).toEqual([]);
    expect(p.push("\n")).toEqual([{ event: "text", data: '{"kind":"text"}' }]);
    expect(p.push("data: cut off")).toEqual([]);
    expect(p.end()).toEqual([]);
    // A CR held back as the possible half of a CRLF ends its line at the end of the stream.
    const q = new SseParser();
    expect(q.push("data: x\r\r")).toEqual([]);
    expect(q.end()).toEqual([{ event: "message", data: "x" }]);
  });

  it("decodes characters whose bytes are split between reads, and skips a byte-order mark", async () => {
    const bytes = new TextEncoder().encode("\uFEFFdata: L'Étoile — Paris 🗼\n\n");
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(await all(body(chunks))).toEqual([{ event: "message", data: "L'Étoile — Paris 🗼" }]);
  });
});

describe("callStreaming over HTTP (serve)", () => {
  afterEach(() => vi.unstubAllGlobals());
  beforeEach(() => sessionStorage.setItem("simba-tuner-token", "tok"));

  it("hands on the pieces as they come and settles with the answer", async () => {
    const stream = sse([
      { kind: "text", text: "L'Étoile: " },
      { kind: "text", text: "Pa" },
      { kind: "restart" },
      { kind: "text", text: "Paris\nin French" },
      { kind: "answer", answer: missFirst },
    ]);
    // Cut mid-event, mid-line and mid-character.
    const bytes = new TextEncoder().encode(stream);
    const cuts = [0, 7, 30, 31, 64, 65, 66, 120, bytes.length];
    const chunks = cuts.slice(1).map((end, i) => bytes.slice(cuts[i], end));
    const fetchMock = vi.fn(async (_url: string, _init: RequestInit) => new Response(body(chunks), { headers: { "content-type": "text/event-stream" } }));
    vi.stubGlobal("fetch", fetchMock);
    const pieces: StreamPiece[] = [];
    const answer = await callStreaming("query", req, (p) => pieces.push(p));
    expect(answer).toEqual(missFirst);
    expect(pieces).toEqual([{ kind: "text", text: "L'Étoile: " }, { kind: "text", text: "Pa" }, { kind: "restart" }, { kind: "text", text: "Paris\nin French" }]);
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe("/api/stream/query");
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer tok");
    expect(JSON.parse(init.body as string)).toEqual(req);
  });

  it("rejects with the core's error, before the stream and within it", async () => {
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify({ code: "read_only", message: "this Simba Tuner runs read-only" }), { status: 403, headers: { "content-type": "application/json" } }));
    const refused = await callStreaming("query", req, () => {}).catch((e) => e);
    expect(refused).toBeInstanceOf(CallError);
    expect((refused as CallError).error.code).toBe("read_only");

    const cut = sse([{ kind: "text", text: "Par" }, { kind: "error", error: { code: "unreachable", message: "the model stopped streaming before the end" } }]);
    vi.stubGlobal("fetch", async () => new Response(body([cut]), { headers: { "content-type": "text/event-stream" } }));
    const pieces: StreamPiece[] = [];
    const failed = await callStreaming("query", req, (p) => pieces.push(p)).catch((e) => e);
    expect((failed as CallError).error).toEqual({ code: "unreachable", message: "the model stopped streaming before the end" });
    expect(pieces).toEqual([{ kind: "text", text: "Par" }]);

    // A connection cut before the outcome is an error too, not an answer.
    vi.stubGlobal("fetch", async () => new Response(body([sse([{ kind: "text", text: "Par" }])]), { headers: { "content-type": "text/event-stream" } }));
    const lost = await callStreaming("query", req, () => {}).catch((e) => e);
    expect((lost as CallError).error.code).toBe("unreachable");
  });

  it("falls back to /api/call on a server without /api/stream", async () => {
    const fetchMock = vi.fn(async (url: string) =>
      url.startsWith("/api/stream/")
        ? new Response(null, { status: 405 })
        : new Response(JSON.stringify(missFirst), { headers: { "content-type": "application/json" } }),
    );
    vi.stubGlobal("fetch", fetchMock);
    const pieces: StreamPiece[] = [];
    expect(await callStreaming("query", req, (p) => pieces.push(p))).toEqual(missFirst);
    expect(fetchMock.mock.calls.map((c) => c[0])).toEqual(["/api/stream/query", "/api/call/query"]);
    expect(pieces).toEqual([]);
  });
});

describe("callStreaming in the desktop shell", () => {
  beforeEach(() => {
    (window as unknown as Record<string, unknown>).__TAURI_INTERNALS__ = {};
    tauri.invoke.mockReset();
  });
  afterEach(() => delete (window as unknown as Record<string, unknown>).__TAURI_INTERNALS__);

  it("passes a channel to call_stream and settles on the first outcome, channel or result", async () => {
    tauri.invoke.mockImplementation(async (cmd: string, payload: { command: string; args: unknown; onEvent: { onmessage: (e: QueryStreamEvent) => void } }) => {
      expect(cmd).toBe("call_stream");
      expect(payload.command).toBe("query");
      expect(payload.args).toEqual(req);
      const send = payload.onEvent.onmessage;
      send({ kind: "text", text: "Par" });
      send({ kind: "text", text: "is" });
      send({ kind: "answer", answer: missFirst });
      send({ kind: "text", text: "late" }); // after the outcome: dropped
      return missFirst;
    });
    const pieces: StreamPiece[] = [];
    expect(await callStreaming("query", req, (p) => pieces.push(p))).toEqual(missFirst);
    expect(pieces).toEqual([{ kind: "text", text: "Par" }, { kind: "text", text: "is" }]);

    // The result may come before the channel's last events.
    tauri.invoke.mockImplementation(async () => missFirst);
    expect(await callStreaming("query", req, () => {})).toEqual(missFirst);

    tauri.invoke.mockImplementation(async () => {
      throw { code: "read_only", message: "profile 'shared' is read-only" };
    });
    const refused = await callStreaming("query", req, () => {}).catch((e) => e);
    expect(refused).toBeInstanceOf(CallError);
    expect((refused as CallError).error.code).toBe("read_only");
  });

  it("falls back to call in a shell without call_stream", async () => {
    tauri.invoke.mockImplementation(async (cmd: string) => {
      if (cmd === "call_stream") throw "command call_stream not found";
      return missFirst;
    });
    const pieces: StreamPiece[] = [];
    expect(await callStreaming("query", req, (p) => pieces.push(p))).toEqual(missFirst);
    expect(tauri.invoke.mock.calls.map((c) => c[0])).toEqual(["call_stream", "call"]);
    expect(pieces).toEqual([]);
  });
});
