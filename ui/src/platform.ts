// The only module that knows where the core lives: the Tauri shell (the commands `call` and
// `call_stream`) or `simba-tuner serve` (POST /api/call/<command>, and /api/stream/<command> for
// an answer as server-sent events, with the bearer token from the page URL).
import type { Commands, CommandName, StreamingCommandName } from "./bindings/commands";
import type { ApiError } from "./bindings/ApiError";
import type { QueryStreamEvent } from "./bindings/QueryStreamEvent";

export class CallError extends Error {
  constructor(public readonly error: ApiError) {
    super(error.message);
  }
}

const TOKEN_KEY = "simba-tuner-token";

export function takeToken(loc: Location = window.location, store: Storage = sessionStorage): string | null {
  const params = new URLSearchParams(loc.search);
  const fromUrl = params.get("token");
  if (fromUrl) {
    store.setItem(TOKEN_KEY, fromUrl);
    params.delete("token");
    const rest = params.toString();
    try {
      history.replaceState(null, "", loc.pathname + (rest ? `?${rest}` : "") + loc.hash);
    } catch {
      /* not in a browser page */
    }
    return fromUrl;
  }
  return store.getItem(TOKEN_KEY);
}

function inTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export async function call<K extends CommandName>(
  name: K,
  args: Commands[K]["request"],
): Promise<Commands[K]["response"]> {
  return send(name, args) as Promise<Commands[K]["response"]>;
}

/** The core does not know this command (an older core, or a branch without it). */
export function isUnknownCommand(e: unknown): boolean {
  const err = e instanceof CallError ? e.error : null;
  return !!err && err.code === "not_found" && /unknown command/i.test(err.message);
}

async function send(name: string, args: unknown): Promise<unknown> {
  if (inTauri()) {
    const { invoke } = await import("@tauri-apps/api/core");
    try {
      return await invoke("call", { command: name, args });
    } catch (e) {
      throw new CallError(e as ApiError);
    }
  }
  const token = takeToken();
  const res = await fetch(`/api/call/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token ?? ""}` },
    body: JSON.stringify(args ?? {}),
  });
  const body = await res.json().catch(() => ({ code: "internal", message: `HTTP ${res.status}` }));
  if (!res.ok) throw new CallError(body as ApiError);
  return body;
}

/** A piece of a streamed answer: text to add, or a restart (the text so far is void). */
export type StreamPiece = Extract<QueryStreamEvent, { kind: "text" | "restart" }>;

/**
 * Runs a command that streams its answer: `onEvent` gets its text as it is made; the promise
 * settles as `call`'s would, with the whole answer or a CallError. A core that cannot stream (an
 * older shell or server) answers through `call`, with no pieces.
 */
export async function callStreaming<K extends StreamingCommandName>(
  name: K,
  args: Commands[K]["request"],
  onEvent: (piece: StreamPiece) => void,
): Promise<Commands[K]["response"]> {
  const answer = inTauri() ? streamTauri(name, args, onEvent) : streamHttp(name, args, onEvent);
  return answer as Promise<Commands[K]["response"]>;
}

/** Tauri's answer when the shell has no such command (one built before `call_stream`). */
function isMissingTauriCommand(e: unknown): boolean {
  return typeof e === "string" && /command \S+ not found/i.test(e);
}

async function streamTauri(name: string, args: unknown, onEvent: (piece: StreamPiece) => void): Promise<unknown> {
  const { invoke, Channel } = await import("@tauri-apps/api/core");
  return new Promise((resolve, reject) => {
    // The outcome comes both as the channel's last event and as invoke's result, in either
    // order; the first settles, and text after it is dropped.
    let settled = false;
    const settle = (f: () => void) => {
      if (!settled) {
        settled = true;
        f();
      }
    };
    const channel = new Channel<QueryStreamEvent>((event) => {
      if (settled) return;
      if (event.kind === "answer") settle(() => resolve(event.answer));
      else if (event.kind === "error") settle(() => reject(new CallError(event.error)));
      else onEvent(event);
    });
    invoke("call_stream", { command: name, args, onEvent: channel }).then(
      (answer) => settle(() => resolve(answer)),
      (e) => {
        if (isMissingTauriCommand(e)) settle(() => send(name, args).then(resolve, reject));
        else settle(() => reject(new CallError(e as ApiError)));
      },
    );
  });
}

async function streamHttp(name: string, args: unknown, onEvent: (piece: StreamPiece) => void): Promise<unknown> {
  const token = takeToken();
  const res = await fetch(`/api/stream/${name}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream", Authorization: `Bearer ${token ?? ""}` },
    body: JSON.stringify(args ?? {}),
  });
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("text/event-stream") || !res.body) {
    // A server without the route: 405 from the UI's files, or 404 without them.
    if ((res.status === 404 || res.status === 405) && !type.includes("json")) return send(name, args);
    const body = await res.json().catch(() => ({ code: "internal", message: `HTTP ${res.status}` }));
    throw new CallError(body as ApiError);
  }
  for await (const sse of sseEvents(res.body)) {
    let event: QueryStreamEvent;
    try {
      event = JSON.parse(sse.data) as QueryStreamEvent;
    } catch {
      throw new CallError({ code: "internal", message: `the server sent an event that is not JSON: ${sse.data.slice(0, 200)}` });
    }
    if (event.kind === "answer") return event.answer;
    if (event.kind === "error") throw new CallError(event.error);
    onEvent(event);
  }
  throw new CallError({ code: "unreachable", message: "the answer's stream ended before the answer (the connection was cut)" });
}

/** One server-sent event: its name (`message` when unnamed) and its data lines joined by "\n". */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * The event-stream format (WHATWG HTML, "server-sent events"), fed in pieces however the bytes
 * were cut: lines end in CR, LF or CRLF; `data` lines join with "\n"; comments and fields other
 * than `event` and `data` are skipped; a blank line ends an event. An event not ended when the
 * stream ends is dropped, as a browser's EventSource drops it.
 */
export class SseParser {
  private buffer = "";
  private started = false;
  private name = "";
  private data: string[] = [];

  /** Reads `text` and returns the events it completed. */
  push(text: string): SseEvent[] {
    if (!this.started && text !== "") {
      this.started = true;
      if (text.startsWith("\uFEFF")) text = text.slice(1);
    }
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== "\n" && c !== "\r") continue;
      // A CR last in the buffer may be the first half of a CRLF: wait for the next piece.
      if (c === "\r" && i + 1 === this.buffer.length) break;
      this.line(this.buffer.slice(start, i), out);
      if (c === "\r" && this.buffer[i + 1] === "\n") i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** The stream ended: a CR held back by `push` ends its line; an unended event is dropped. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.buffer.endsWith("\r")) this.line(this.buffer.slice(0, -1), out);
    this.buffer = "";
    this.name = "";
    this.data = [];
    return out;
  }

  private line(line: string, out: SseEvent[]) {
    if (line === "") {
      if (this.data.length > 0) out.push({ event: this.name || "message", data: this.data.join("\n") });
      this.name = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.name = value;
  }
}

/** The events of an event-stream body, as they arrive. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      // `stream: true` keeps a character whose bytes were cut between reads for the next one.
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      yield* parser.push(text);
      if (done) {
        yield* parser.end();
        return;
      }
    }
  } finally {
    // Left early (the outcome came, or a bad event): the connection is not read further.
    await reader.cancel().catch(() => {});
  }
}
