// The only module that knows where the core lives: the Tauri shell (one command, `call`) or
// `simba-tuner serve` (POST /api/call/<command> with the bearer token from the page URL).
import type { Commands, CommandName } from "./bindings/commands";
import type { ApiError } from "./bindings/ApiError";

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
