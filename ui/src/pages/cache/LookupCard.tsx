import { useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { Lookup } from "../../bindings/Lookup";
import type { Message } from "../../bindings/Message";
import type { NamespaceStats } from "../../bindings/NamespaceStats";
import { call } from "../../platform";
import { ErrorBox } from "../Overview";
import { asError, duration } from "./util";

/** Reads the chat before the query, one message a line as "user: …", "assistant: …" or
 * "system: …" (a line without a role continues the message before it). */
export function parseTurns(text: string): { messages: Message[]; problem: string | null } {
  const messages: Message[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    const m = /^\s*(user|assistant|system)\s*:\s?(.*)$/i.exec(line);
    if (m) messages.push({ role: m[1].toLowerCase() as Message["role"], content: m[2] });
    else if (messages.length) messages[messages.length - 1].content += "\n" + line;
    else return { messages, problem: `line ${i + 1} does not start with "user:", "assistant:" or "system:"` };
  }
  return { messages, problem: null };
}

/** Runs a real lookup (it counts in the statistics, like any other). */
export function LookupCard({ ns, onLooked }: { ns: NamespaceStats | null; onLooked: () => void }) {
  const [tenant, setTenant] = useState("default");
  const [user, setUser] = useState("admin");
  const [query, setQuery] = useState("");
  const [turns, setTurns] = useState("");
  const [lookup, setLookup] = useState<Lookup | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const chat = parseTurns(turns);
  const scope = { tenant, user, item: null, conversation: chat.messages };
  const run = () =>
    call("cache_lookup", { scope, query })
      .then((l) => (setLookup(l), setError(null), onLooked()))
      .catch((e) => setError(asError(e)));
  return (
    <div className="card wide">
      <h3>Try a lookup</h3>
      <div className="toolbar">
        <input data-testid="cache-tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} placeholder="tenant" size={10} />
        <input data-testid="cache-user" value={user} onChange={(e) => setUser(e.target.value)} placeholder="user" size={10} />
        <input
          data-testid="cache-query"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && query.trim() && run()}
          placeholder="query"
          size={60}
        />
        <button data-testid="cache-lookup" onClick={run} disabled={chat.problem !== null}>
          Look up
        </button>
        {ns && (
          <button
            data-testid="cache-lookup-use-ns"
            title="Use the selected namespace's tenant and user"
            onClick={() => (setTenant(ns.namespace.tenant), setUser(ns.namespace.user))}
          >
            Use selected namespace
          </button>
        )}
      </div>
      <details>
        <summary>Asked in a chat</summary>
        <textarea
          data-testid="cache-turns"
          value={turns}
          onChange={(e) => setTurns(e.target.value)}
          placeholder={"The messages before the query, one a line:\nuser: I'm on the Pro plan\nassistant: Noted."}
          rows={4}
          cols={80}
        />
        {chat.problem && <div className="error">{chat.problem}</div>}
        <p className="hint">The cache reads the turns the query depends on; a stand-alone question ignores the chat.</p>
      </details>
      {error && <ErrorBox error={error} />}
      {lookup && (
        <div data-testid="cache-lookup-result">
          {lookup.outcome === "hit"
            ? `HIT (${lookup.similarity.toFixed(3)}, ${duration(lookup.entry_age_ms)} old) “${lookup.matched_query}”: ${lookup.response}`
            : `MISS: ${lookup.reason}` +
              (lookup.best_similarity === null ? "" : ` (best candidate ${lookup.best_similarity.toFixed(3)})`) +
              (lookup.shadow_hit === null ? "" : `; shadow mode would have served: ${lookup.shadow_hit}`)}
        </div>
      )}
    </div>
  );
}
