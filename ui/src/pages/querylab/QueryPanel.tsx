import { useRef, useState } from "react";
import type { ApiError } from "../../bindings/ApiError";
import type { GenerationSettings } from "../../bindings/GenerationSettings";
import type { QueryAnswer } from "../../bindings/QueryAnswer";
import type { QueryRequest } from "../../bindings/QueryRequest";
import { callStreaming } from "../../platform";
import { ErrorBox } from "../Overview";
import { asError } from "../cache/util";
import { parseTurns } from "../cache/LookupCard";
import { Trace } from "./Trace";

/** Reads the generation fields; a problem names the first wrong one. */
function generation(maxTokens: string, temperature: string, seed: string): { settings?: GenerationSettings; problem: string | null } {
  const max_tokens = Number(maxTokens);
  if (!Number.isInteger(max_tokens) || max_tokens < 1 || max_tokens > 32768) return { problem: "Max tokens must be a whole number from 1 to 32768." };
  const t = Number(temperature);
  if (temperature.trim() === "" || !Number.isFinite(t) || t < 0 || t > 2) return { problem: "Temperature must be a number from 0 to 2." };
  const s = Number(seed);
  if (!Number.isInteger(s) || s < 0) return { problem: "Seed must be a whole number, 0 or more." };
  return { settings: { temperature: t, max_tokens, seed: s }, problem: null };
}

/**
 * Runs one query through the engine (session cache, semantic cache, model, update) and shows
 * the answer as it is written, then with its trace. One query at a time: the button is disabled
 * while one runs.
 */
export function QueryPanel({ onAnswered, busyElsewhere = false }: { onAnswered: () => void; busyElsewhere?: boolean }) {
  const [tenant, setTenant] = useState("default");
  const [user, setUser] = useState("admin");
  const [item, setItem] = useState("");
  const [turns, setTurns] = useState("");
  const [question, setQuestion] = useState("");
  const [maxTokens, setMaxTokens] = useState("256");
  const [temperature, setTemperature] = useState("0");
  const [seed, setSeed] = useState("42");
  const [bypass, setBypass] = useState(false);
  const [allowStale, setAllowStale] = useState(false);
  const [answer, setAnswer] = useState<QueryAnswer | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  /** The answer's text so far while a query runs. */
  const [streamed, setStreamed] = useState("");
  const running = useRef(false);

  const chat = parseTurns(turns);
  const gen = generation(maxTokens, temperature, seed);
  const problem = chat.problem ?? gen.problem ?? (user.trim() === "" ? "A user is needed (the cache is per user)." : null);
  const canRun = !busy && !busyElsewhere && problem === null && question.trim() !== "";

  const run = () => {
    if (running.current || !canRun) return;
    running.current = true;
    setBusy(true);
    const req: QueryRequest = {
      scope: { tenant: tenant.trim() || "default", user: user.trim(), item: item.trim() === "" ? null : item.trim(), conversation: chat.messages },
      query: question,
      settings: gen.settings,
      bypass_cache: bypass,
      allow_stale: allowStale,
    };
    setStreamed("");
    callStreaming("query", req, (piece) => setStreamed((text) => (piece.kind === "text" ? text + piece.text : "")))
      .then((a) => (setAnswer(a), setError(null)))
      .catch((e) => (setError(asError(e)), setAnswer(null)))
      .finally(() => {
        running.current = false;
        setBusy(false);
        setStreamed("");
        onAnswered();
      });
  };

  return (
    <section className="card wide" data-testid="ql-query-card">
      <h3>Run one query</h3>
      <div className="toolbar" style={{ flexWrap: "wrap" }}>
        <label>
          Tenant <input data-testid="ql-tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} size={10} />
        </label>
        <label>
          User <input data-testid="ql-user" value={user} onChange={(e) => setUser(e.target.value)} size={10} />
        </label>
        <label title="item-specific cache (e.g. a data source id); empty: the user's global cache">
          Item <input data-testid="ql-item" value={item} onChange={(e) => setItem(e.target.value)} placeholder="(none)" size={12} />
        </label>
      </div>
      <details>
        <summary>Earlier turns of the chat{chat.messages.length ? ` (${chat.messages.length})` : ""}</summary>
        <textarea
          data-testid="ql-turns"
          value={turns}
          onChange={(e) => setTurns(e.target.value)}
          placeholder={"The messages before the question, one a line:\nuser: I'm on the Pro plan\nassistant: Noted."}
          rows={4}
          style={{ width: "100%", boxSizing: "border-box", font: "12px/1.4 ui-monospace, monospace" }}
        />
        <p className="muted">The cache reads the turns the question depends on; the model gets them all.</p>
      </details>
      <div className="toolbar">
        <input
          data-testid="ql-question"
          value={question}
          onChange={(e) => setQuestion(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && run()}
          placeholder="Ask a question"
          style={{ flex: 1, maxWidth: 720 }}
        />
        <button data-testid="ql-run" onClick={run} disabled={!canRun}>
          {busy ? "Running…" : "Run"}
        </button>
      </div>
      <div className="toolbar" style={{ flexWrap: "wrap" }}>
        <label>
          Max tokens <input data-testid="ql-max-tokens" type="number" min={1} max={32768} value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} style={{ width: 70 }} />
        </label>
        <label>
          Temperature{" "}
          <input data-testid="ql-temperature" type="number" min={0} max={2} step={0.1} value={temperature} onChange={(e) => setTemperature(e.target.value)} style={{ width: 60 }} />
        </label>
        <label title="makes sampling repeatable">
          Seed <input data-testid="ql-seed" type="number" min={0} value={seed} onChange={(e) => setSeed(e.target.value)} style={{ width: 60 }} />
        </label>
        <label title="answer from the model only and store nothing">
          <input type="checkbox" data-testid="ql-bypass" checked={bypass} onChange={(e) => setBypass(e.target.checked)} /> Bypass caches
        </label>
        <label title="when the model fails, answer with the session cache's expired answer, marked stale">
          <input type="checkbox" data-testid="ql-allow-stale" checked={allowStale} onChange={(e) => setAllowStale(e.target.checked)} /> Allow stale
        </label>
      </div>
      {problem && <div className="error warning" data-testid="ql-form-problem">{problem}</div>}
      {busy && (
        <div className="muted" data-testid="ql-busy">
          Running… the local model takes a few seconds on its first answer.
        </div>
      )}
      {error && (
        <div data-testid="ql-error">
          <ErrorBox error={error} />
        </div>
      )}
      {busy && streamed !== "" ? (
        <div data-testid="ql-streaming-card">
          <pre data-testid="ql-streaming">{streamed}</pre>
        </div>
      ) : (
        answer && !error && <Trace a={answer} />
      )}
    </section>
  );
}
