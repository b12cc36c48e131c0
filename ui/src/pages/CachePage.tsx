import { useEffect, useState } from "react";
import type { CacheStats } from "../bindings/CacheStats";
import type { ApiError } from "../bindings/ApiError";
import type { Lookup } from "../bindings/Lookup";
import { call, CallError } from "../platform";
import { bytes, pct } from "../format";
import { ErrorBox } from "./Overview";

const asError = (e: unknown): ApiError => (e instanceof CallError ? e.error : { code: "internal", message: String(e) });

export function CachePage() {
  const [stats, setStats] = useState<CacheStats | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [user, setUser] = useState("admin");
  const [query, setQuery] = useState("");
  const [lookup, setLookup] = useState<Lookup | null>(null);
  const refresh = () => call("cache_stats", {}).then(setStats).catch((e) => setError(asError(e)));
  useEffect(() => {
    refresh();
  }, []);
  const scope = { tenant: "default", user, item: null, conversation: [] };
  return (
    <div>
      {error && <ErrorBox error={error} />}
      {stats && (
        <div className="card wide" data-testid="cache-stats">
          <h3>Semantic cache ({stats.backend}, {stats.embedding_model})</h3>
          <div>
            {stats.entries} entries, {bytes(stats.bytes)}, hit rate {pct(stats.hit_rate)}, {stats.evictions} evictions
          </div>
          <table>
            <thead>
              <tr>
                <th>namespace</th>
                <th>entries</th>
                <th>memory</th>
                <th>hit rate</th>
                <th>recent</th>
                <th>evictions</th>
                <th>threshold</th>
              </tr>
            </thead>
            <tbody>
              {stats.namespaces.map((n) => (
                <tr key={n.id}>
                  <td>{n.id}</td>
                  <td>{n.entries}</td>
                  <td>{bytes(n.bytes)}</td>
                  <td>{pct(n.hit_rate)}</td>
                  <td>{pct(n.recent_hit_rate)}</td>
                  <td>{n.evictions}</td>
                  <td>{n.settings.similarity_threshold}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="card wide">
        <h3>Try a lookup</h3>
        <input value={user} onChange={(e) => setUser(e.target.value)} placeholder="user" />
        <input data-testid="cache-query" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="query" size={60} />
        <button
          data-testid="cache-lookup"
          onClick={() =>
            call("cache_lookup", { scope, query })
              .then((l) => (setLookup(l), setError(null), refresh()))
              .catch((e) => setError(asError(e)))
          }
        >
          Look up
        </button>
        {lookup && (
          <div data-testid="cache-lookup-result">
            {lookup.outcome === "hit"
              ? `HIT (${lookup.similarity.toFixed(3)}) “${lookup.matched_query}”: ${lookup.response}`
              : `MISS: ${lookup.reason}`}
          </div>
        )}
      </div>
    </div>
  );
}
